//! JWT access-token validation for OAuth 2.0 / OpenID Connect issuers such as
//! Keycloak, against keys that are parsed once and held ready to verify.
//!
//! - [`KeySet`]: parsed keys from a JWKS document, PEM public keys or HMAC
//!   secrets; broken or unsuitable JWKS entries are skipped and reported.
//! - [`KeySource`]: where an issuer's current keys come from;
//!   [`StaticKeySource`] holds keys that never change.
//! - [`JwtError`]: every failure, with a stable reason code from
//!   [`JwtError::kind`].

mod alg;
mod b64;
mod cache;
mod claims;
mod compact;
mod config;
mod error;
mod json;
mod keys;
mod profile;
mod source;
mod validator;

pub use alg::Algorithm;
pub use compact::{DEFAULT_MAX_TOKEN_BYTES, UnverifiedToken, verify_compact_jws};
pub use config::{
    ClaimCheckFn, DEFAULT_LEEWAY_SECONDS, IssuerConfig, IssuerSettings, MAX_LEEWAY_SECONDS,
    TENANT_PLACEHOLDER,
};
pub use error::{ErrorKind, JwtError, MalformedReason, SkipReason};
pub use keys::{
    JwksOptions, KeyFingerprint, KeySet, KeySetBuilder, MAX_RSA_BITS, MIN_RSA_BITS, SkippedKey,
    VerifyingKey,
};
pub use profile::Profile;
pub use source::{KeySetFuture, KeySource, StaticKeySource};
pub use validator::{MAX_CANDIDATE_KEYS, Validator, ValidatorBuilder, VerifiedToken};
