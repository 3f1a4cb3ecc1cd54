//! Server-side sessions, encrypted at rest, in memory or Redis, with idle
//! timeouts, automatic refresh and a per-user concurrent-session limit.
//!
//! - [`SessionId`]: 256 random bits as 43 characters of base64url, parsed
//!   strictly so a malformed cookie never reaches a store, printed redacted.
//! - [`Session`]: the [`Principal`](ddf_rbac::Principal), a small
//!   [`SessionData`] map and four timestamps (created, last seen, idle expiry,
//!   absolute expiry).
//! - [`SessionConfig`]: presets [`production`](SessionConfig::production)
//!   (idle 1 h) and [`development`](SessionConfig::development) (idle 2 h),
//!   refresh threshold 5 min, absolute lifetime 12 h, 5 sessions per user.
//! - [`SessionManager`]: create, load (with refresh), rotate, log out, log
//!   out everywhere, delete a user's data.
//! - [`SessionStore`]: the storage contract, with [`MemoryStore`] (moka) and,
//!   with the default `redis` feature, `RedisStore` (AES-256-GCM payloads,
//!   digested keys, an atomic per-user limit). [`conformance`] contains the
//!   tests every store passes.
//!
//! # Lifetime rules
//!
//! A session expires at its idle expiry or its absolute expiry, whichever
//! comes first. Loading a session extends the idle expiry to `now + idle
//! timeout` only when less than the refresh threshold remains, so a busy
//! session costs at most one store write per window; the absolute expiry is
//! never extended. Both expiries live inside the stored (in Redis,
//! encrypted) session and are checked on every load, whatever the store's
//! TTL says.
//!
//! # Errors
//!
//! [`SessionError::kind`] gives the stable reason code: `session_invalid`
//! for every rejected session (the internal [`InvalidReason`] is kept for
//! audit logs) and `session_store_unavailable` when the store fails, which
//! never authenticates anyone.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use ddf_rbac::{AuthMethod, ManualClock, Principal};
//! use ddf_session::{MemoryStore, SessionConfig, SessionManager};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let clock = ManualClock::at_unix_seconds(1_700_000_000);
//! let manager = SessionManager::new(
//!     SessionConfig::production(),
//!     Arc::new(MemoryStore::new()),
//!     Arc::new(clock.clone()),
//! )?;
//!
//! // After the user authenticated: a new session under a new id.
//! let principal = Principal::new("user-0001", AuthMethod::Jwt).with_roles(["user"]);
//! let (id, _session) = manager.create(principal).await?;
//! let cookie = id.expose_cookie_value();
//!
//! // On a later request, 57 minutes on: less than 5 minutes remain, so the
//! // session is refreshed and the cookie must be sent again.
//! clock.advance(Duration::from_secs(57 * 60));
//! let loaded = manager.load(&cookie).await?;
//! assert_eq!(loaded.principal().subject(), "user-0001");
//! assert!(loaded.refreshed);
//! assert_eq!(loaded.expires_in, Duration::from_secs(3600));
//!
//! // After logout the cookie is dead.
//! manager.logout(&loaded.id).await?;
//! let error = manager.load(&cookie).await.unwrap_err();
//! assert_eq!(error.kind().as_str(), "session_invalid");
//! # Ok::<(), ddf_session::SessionError>(())
//! # }).unwrap();
//! ```
//!
//! # Features
//!
//! - `redis` (default): the Redis store. See its documentation for the key
//!   layout, the encryption format and Redis Cluster behaviour.

mod config;
pub mod conformance;
mod crypto;
mod error;
mod id;
mod manager;
mod session;
mod store;

pub use config::{LimitPolicy, SessionConfig};
pub use crypto::{MAX_SEALED_LEN, SessionKey, SessionKeys};
#[doc(hidden)]
pub use crypto::{decode_payload_for_fuzzing, decode_plaintext_for_fuzzing};
pub use error::{BoxError, InvalidReason, SessionError, SessionErrorKind};
pub use id::{SESSION_ID_BYTES, SESSION_ID_LEN, SessionId};
pub use manager::{LoadedSession, SessionManager};
pub use session::{
    MAX_DATA_ENTRIES, MAX_DATA_KEY_BYTES, MAX_DATA_TOTAL_BYTES, MAX_DATA_VALUE_BYTES, Session,
    SessionData,
};
pub use store::memory::{DEFAULT_MEMORY_CAPACITY, MemoryStore};
#[cfg(feature = "redis")]
pub use store::redis::{RedisStore, RedisStoreConfig};
pub use store::{CreateOutcome, RotateOutcome, SessionStore, StoreFuture, UserLimit};
