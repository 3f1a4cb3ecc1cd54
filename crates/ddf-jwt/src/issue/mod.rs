//! Issuing the service's own JWTs with rotating signing keys, and publishing
//! their public JWKS.
//!
//! - [`SigningKey`]: a private key bound to one algorithm (EdDSA, ES256,
//!   RS256, PS256, or HS256 for a locally shared secret), loaded from PKCS#8
//!   PEM or a JWK, from a file or an environment variable.
//! - [`Keyring`]: one active key, retiring keys that stay published until
//!   their tokens expire, and scheduled keys published before they sign.
//!   Its documentation has the table of key states.
//! - [`TokenIssuer`] and [`TokenBuilder`]: tokens with `iss`, `sub`, `aud`,
//!   `iat`, `nbf`, `exp`, a random `jti`, `typ: at+jwt` and the active `kid`.
//! - `router` (feature `publish`, on by default): an axum router serving
//!   the JWKS at `/.well-known/jwks.json` and an optional discovery document.
//!
//! Signing uses aws-lc-rs with keys parsed once at load time.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use ddf_jwt::issue::{KeySchedule, Keyring, RotationSettings, SigningAlgorithm, SigningKey, TokenIssuer, TokenPolicy};
//! use ddf_rbac::SystemClock;
//!
//! let keyring = Arc::new(Keyring::new(RotationSettings::default(), Arc::new(SystemClock)));
//! let now = ddf_rbac::Clock::unix_seconds(&SystemClock);
//! keyring.insert("2026-01", SigningKey::generate(SigningAlgorithm::EdDSA)?, KeySchedule::active_from(now))?;
//!
//! let issuer = TokenIssuer::new(Arc::clone(&keyring), TokenPolicy::new("https://llm.example.test").with_audience("inference"))?;
//! let token = issuer.token("gateway").sign()?;
//! assert_eq!(token.kid(), "2026-01");
//!
//! let jwks = keyring.public_jwks();
//! assert_eq!(jwks.keys[0].kty, "OKP");
//! assert_eq!(jwks.keys[0].use_, "sig");
//! # Ok::<(), ddf_jwt::issue::IssueError>(())
//! ```

mod builder;
mod error;
mod jwks;
mod key;
mod keyring;
mod pem;
#[cfg(feature = "publish")]
mod publish;

pub use builder::{
    DEFAULT_LIFETIME_SECS, DEFAULT_MAX_LIFETIME_SECS, IssuedToken, REGISTERED_CLAIMS, TokenBuilder,
    TokenIssuer, TokenPolicy, VERIFIER_LEEWAY_SECS,
};
pub use error::{IssueError, IssueErrorKind};
pub use jwks::{Jwks, PublicJwk};
pub use key::{MIN_HMAC_SECRET_LEN, SigningAlgorithm, SigningKey, UnknownAlgorithm};
pub use keyring::{
    DEFAULT_MAX_CACHE_AGE_SECS, DEFAULT_PREPUBLISH_SECS, DEFAULT_RETENTION_SECS,
    DEFAULT_ROTATION_PERIOD_SECS, KeyConfig, KeyInfo, KeySchedule, KeySource, KeyStatus, Keyring,
    KeyringConfig, RotationReport, RotationSettings,
};
#[cfg(feature = "publish")]
pub use publish::{DISCOVERY_PATH, DiscoveryConfig, JWKS_PATH, router};
