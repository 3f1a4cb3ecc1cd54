//! JWT access-token validation for OAuth 2.0 / OpenID Connect issuers such as
//! Keycloak, against static or remote JWKS, and issuing of the service's own
//! tokens.
//!
//! Not built yet: this crate will hold the strict compact-JWS parser, the
//! validator, and JWKS sources with OIDC discovery.
//!
//! - [`issue`]: signing the service's own tokens with a rotating keyring,
//!   and serving its public JWKS (feature `publish`).

pub mod issue;
