//! JWT access-token validation for OAuth 2.0 / OpenID Connect issuers such as
//! Keycloak, Entra ID, Cognito and Auth0, with keys parsed once and held
//! ready to verify.
//!
//! - [`Validator`] checks, in this order: size cap and strict compact parse
//!   ([`UnverifiedToken`]), issuer selection, algorithm allow-list, key
//!   candidates, signature, then the claim rules of the issuer's
//!   [`IssuerConfig`]; it returns a [`VerifiedToken`] with a
//!   [`ddf_rbac::Principal`] mapped by the issuer's [`Profile`]. Verified
//!   results are cached until `exp` and dropped when their key leaves the set.
//! - [`KeySet`]: parsed keys from a JWKS document, PEM public keys or HMAC
//!   secrets; unsuitable JWKS entries are skipped and reported ([`SkippedKey`]).
//! - [`KeySource`]: where an issuer's current keys come from;
//!   [`StaticKeySource`] holds keys that never change; [`RemoteJwks`]
//!   (feature `remote`, on by default) fetches a JWKS over HTTPS, directly
//!   or through OIDC discovery ([`DiscoveryConfig`]), and keeps it fresh.
//! - [`JwtError`]: every failure, with a stable reason code from
//!   [`JwtError::kind`].
//! - [`issue`]: signing the service's own tokens with a rotating keyring,
//!   and serving its public JWKS (feature `publish`).
//!
//! Algorithms: RS256/384/512, PS256/384/512, ES256, ES384, EdDSA (Ed25519),
//! and HS256/384/512 with locally configured secrets only. `none` cannot be
//! enabled. Signatures are verified with aws-lc-rs `ParsedPublicKey`s built
//! once per key, never rebuilt per token.
//!
//! # Example
//!
//! ```
//! use ddf_jwt::{Algorithm, IssuerConfig, Profile, StaticKeySource, Validator};
//! use ddf_rbac::ManualClock;
//!
//! // A JWKS as published by the issuer; the encryption key is skipped.
//! let (keys, skipped) = StaticKeySource::from_jwks_json(r#"{"keys":[
//!     {"kty":"OKP","crv":"Ed25519","kid":"ed-1","use":"sig",
//!      "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
//!     {"kty":"RSA","use":"enc","kid":"enc-1","n":"AQAB","e":"AQAB"}
//! ]}"#)?;
//! assert_eq!(skipped.len(), 1);
//!
//! let validator = Validator::builder()
//!     .issuer(
//!         IssuerConfig::new("https://sso.example.test/realms/demo", keys)
//!             .audience("orders-api")
//!             .algorithms([Algorithm::EdDSA])
//!             .profile(Profile::Keycloak)
//!             .client_id("orders-api"),
//!     )
//!     .clock(ManualClock::at_unix_seconds(1_750_000_000))
//!     .build()?;
//!
//! // An unsecured token never validates, whatever it claims.
//! let unsecured = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.";
//! let error = validator.validate_sync(unsecured).unwrap_err();
//! assert_eq!(error.kind().as_str(), "alg_not_allowed");
//! # Ok::<(), ddf_jwt::JwtError>(())
//! ```

mod alg;
mod b64;
mod cache;
mod claims;
mod compact;
mod config;
#[cfg(feature = "remote")]
mod discovery;
mod error;
pub mod issue;
mod json;
mod keys;
mod profile;
#[cfg(feature = "remote")]
mod remote;
mod source;
mod validator;

pub use alg::Algorithm;
pub use compact::{
    DEFAULT_MAX_TOKEN_BYTES, UnverifiedToken, verify_compact_jws, verify_detached_for_testing,
};
pub use config::{
    ClaimCheckFn, DEFAULT_LEEWAY_SECONDS, IssuerConfig, IssuerSettings, MAX_LEEWAY_SECONDS,
    TENANT_PLACEHOLDER,
};
#[cfg(feature = "remote")]
pub use discovery::{DiscoveryConfig, ProviderMetadata, WELL_KNOWN_PATH};
pub use error::{ErrorKind, JwtError, MalformedReason, SkipReason};
pub use keys::{
    JwksOptions, KeyFingerprint, KeySet, KeySetBuilder, MAX_RSA_BITS, MIN_RSA_BITS, SkippedKey,
    VerifyingKey,
};
pub use profile::Profile;
#[cfg(feature = "remote")]
pub use remote::{
    FetchErrorKind, FetchOutcome, JwksStatus, MAX_STALE_LIMIT, RemoteJwks, RemoteJwksBuilder,
    RemoteJwksConfig,
};
pub use source::{KeySetFuture, KeySource, StaticKeySource};
pub use validator::{MAX_CANDIDATE_KEYS, Validator, ValidatorBuilder, VerifiedToken};
