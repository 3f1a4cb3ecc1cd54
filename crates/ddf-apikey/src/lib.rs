//! API keys for LLM services: 32-character hex keys sent in `X-API-Key`, stored
//! only as SHA-256 digests and verified in constant time, with rotation and
//! revocation.
//!
//! - [`ApiKey`]: the secret (redacted `Debug`/`Display`, no `==`, zeroed on
//!   drop), generated from 128 bits of the OS CSPRNG and parsed strictly.
//! - [`KeyRecord`], [`KeyDigest`]: what a store keeps about a key.
//! - [`KeyStore`]: the store contract, with [`MemoryKeyStore`] (configuration,
//!   reloadable without blocking readers) and, with the default `redis`
//!   feature, `RedisKeyStore` for several replicas.
//! - [`ApiKeyVerifier`]: turns a header value into a [`ddf_rbac::Principal`],
//!   and issues, rotates and revokes keys.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use ddf_apikey::{ApiKeyVerifier, KeyStore, MemoryKeyStore};
//! # fn block_on<F: std::future::Future>(future: F) -> F::Output {
//! #     let mut future = std::pin::pin!(future);
//! #     let mut context = std::task::Context::from_waker(std::task::Waker::noop());
//! #     match future.as_mut().poll(&mut context) {
//! #         std::task::Poll::Ready(output) => output,
//! #         std::task::Poll::Pending => unreachable!("the memory store never waits"),
//! #     }
//! # }
//! # block_on(async {
//!
//! let store: Arc<dyn KeyStore> = Arc::new(MemoryKeyStore::new());
//! let verifier = ApiKeyVerifier::new(store);
//!
//! // Issue a key: show `key` to its owner once; the store keeps its digest.
//! let (key, record) = verifier.issue("indexer-1", "svc-indexer", ["readonly"]).await?;
//! assert_eq!(record.owner, "svc-indexer");
//!
//! let principal = verifier.verify(key.expose_secret().as_bytes()).await?;
//! assert_eq!(principal.subject(), "svc-indexer");
//! assert_eq!(principal.key_id(), Some("indexer-1"));
//!
//! // Every rejection has the same kind and message; the reason is for audit.
//! verifier.revoke("indexer-1").await?;
//! let error = verifier.verify(key.expose_secret().as_bytes()).await.unwrap_err();
//! assert_eq!(error.kind().as_str(), "api_key_invalid");
//! assert_eq!(error.reason().map(|r| r.as_str()), Some("revoked"));
//! # Ok::<(), ddf_apikey::ApiKeyError>(())
//! # }).unwrap();
//! ```
//!
//! # Why the lookup leaks nothing useful
//!
//! The verifier never compares the presented key with a stored one. It
//! hashes the key with SHA-256 and looks the digest up. The stores index
//! records by the digest itself: the in-memory store by its first eight
//! bytes, Redis by its hex form. Timing can therefore reveal at most
//! something about the *digest* of the presented key and of stored digests
//! near it. A key that differs from a valid one in its last character has an
//! unrelated digest, so timing cannot guide a search character by character,
//! and knowing a stored digest exactly does not help either: finding a key
//! for it is a SHA-256 preimage search over 128 random bits.
//!
//! The final check compares all 32 digest bytes with [`subtle`], and the
//! in-memory path runs the same steps for a hit and a miss: it scans a whole
//! index bucket, resolves a miss to another stored record, and evaluates
//! revocation, expiry, maximum age and `not_before` without branching. So
//! unknown, revoked, expired and not-yet-valid keys fall into one timing
//! class; `docs/BENCHMARKS.md` records the measured Welch t statistics.
//! Two differences remain by design: a malformed value is rejected before
//! hashing (its shape is visible to the sender anyway), and a valid key takes
//! longer because a principal is built. Over Redis, a hit returns more bytes
//! than a miss; network jitter is far larger than that difference, but it is
//! not measured here.
//!
//! # Rotation
//!
//! Keys live at most [`RotationPolicy::max_age_secs`] (30 days) from their
//! `created` time. [`ApiKeyVerifier::rotate`] issues the replacement and
//! schedules the old key's revocation after the overlap (7 days), so a client
//! can switch without downtime. Using a key within
//! [`RotationPolicy::warn_before_secs`] of its end raises an [`ExpiryNotice`].

pub mod config;
pub mod conformance;
mod error;
mod index;
mod key;
mod memory;
mod record;
#[cfg(feature = "redis")]
mod redis_store;
mod store;
mod verifier;

pub use config::{KeyEntry, KeySource};
pub use error::{ApiKeyError, ApiKeyErrorKind, InvalidReason};
pub use key::{ApiKey, DIGEST_LEN, KEY_LEN, KeyDigest};
pub use memory::MemoryKeyStore;
pub use record::{KeyRecord, MAX_ID_LEN, MAX_NAME_LEN};
#[cfg(feature = "redis")]
pub use redis_store::{RedisKeyStore, RedisKeyStoreConfig};
pub use store::{KeyStore, StoreFuture};
pub use verifier::{ApiKeyVerifier, ExpiryNotice, RotationPolicy, Verified, new_record};
