//! Authentication and authorization for services that serve LLM models.
//!
//! `ddf-auth` re-exports the member crates of the workspace, each behind a
//! feature of the same name (all on by default):
//!
//! | module | crate | what it does |
//! |---|---|---|
//! | [`rbac`] | `ddf-rbac` | permissions, wildcard patterns, role policies, [`Principal`] |
//! | [`apikey`] | `ddf-apikey` | API keys stored as SHA-256 digests, verified in constant time |
//! | [`jwt`] | `ddf-jwt` | JWT validation against JWKS, OIDC discovery, token issuing |
//! | [`session`] | `ddf-session` | encrypted sessions in memory or Redis |
//! | [`tower`] | `ddf-tower` | tower layers and axum extractors that tie the above together |
//!
//! The `gateway` feature (off by default) adds [`gateway`]: the
//! configuration file and stack assembly shared by the example gateways.
//!
//! # Example
//!
//! ```
//! use ddf_auth::rbac::{AuthMethod, Principal};
//!
//! let principal = Principal::new("user-0001", AuthMethod::ApiKey).with_roles(["user"]);
//! assert_eq!(principal.subject(), "user-0001");
//! assert_eq!(principal.roles(), ["user"]);
//! ```

pub use ddf_rbac as rbac;
pub use ddf_rbac::Principal;

#[cfg(feature = "apikey")]
pub use ddf_apikey as apikey;
#[cfg(feature = "gateway")]
pub mod gateway;
#[cfg(feature = "jwt")]
pub use ddf_jwt as jwt;
#[cfg(feature = "session")]
pub use ddf_session as session;
#[cfg(feature = "tower")]
pub use ddf_tower as tower;
