//! Ready-made [`Authenticate`](crate::Authenticate) and
//! [`Authorize`](crate::Authorize) implementations for the other ddf-auth
//! crates, so a service wires them into the layers without glue code.
//!
//! | credential crate | type | feature |
//! |---|---|---|
//! | `ddf-jwt` | [`ddf_jwt::Validator`] | `jwt` |
//! | `ddf-apikey` | [`ddf_apikey::ApiKeyVerifier`] | `apikey` |
//! | `ddf-session` | [`ddf_session::SessionManager`], [`SessionAuthenticator`] | `session` |
//! | `ddf-rbac` | [`ddf_rbac::Policy`] (as `Authorize`) | `rbac` |
//!
//! Every error kind of those crates maps to one [`Reason`](crate::Reason):
//! credential failures to the 401 reasons, store and key-set outages to the
//! 503 reasons (which never count toward brute-force detection), and
//! anything that should not happen on a request to `internal_error`.

#[cfg(feature = "apikey")]
mod apikey;
#[cfg(feature = "jwt")]
mod jwt;
#[cfg(feature = "rbac")]
mod rbac;
#[cfg(feature = "session")]
mod session;

#[cfg(feature = "apikey")]
pub use apikey::api_key_failure;
#[cfg(feature = "jwt")]
pub use jwt::{jwt_failure, jwt_reason};
#[cfg(feature = "session")]
pub use session::{SessionAuthenticator, SessionCookie, SessionCookieConfig, session_reason};
