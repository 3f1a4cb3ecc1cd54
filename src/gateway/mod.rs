//! The parts of the example gateways that do not depend on the web
//! framework: the configuration file and the assembled [`Stack`] of
//! validator, API-key verifier, session manager, policy, rate limiters and
//! brute-force guard. Enabled by the `gateway` feature.
//!
//! - [`GatewayConfig`]: one YAML file (read with `serde-saphyr`, safe Rust)
//!   with `${ENV}` substitution in string values, plus the `DDF_*`
//!   environment overrides listed in [`ENV_OVERRIDES`].
//! - [`Stack::build`]: builds everything. With no issuer configured it
//!   starts a [`DevIssuer`], a clearly labelled local development issuer on
//!   a loopback port, and issues a token and an API key per role. With
//!   `redis.url` set (or `DDF_REDIS_URL`), sessions, API keys and rate
//!   limits move to Redis.
//!
//! # Example
//!
//! ```
//! use ddf_auth::gateway::GatewayConfig;
//!
//! let yaml = "issuers:\n  - issuer: ${ISSUER}\n    audiences: [llm-gateway]\n";
//! let config = GatewayConfig::from_yaml_with_env(yaml, &|name| {
//!     (name == "ISSUER").then(|| "https://sso.example.test/realms/llm".to_owned())
//! })?;
//! assert_eq!(config.issuers[0].issuer, "https://sso.example.test/realms/llm");
//! assert!(!config.uses_dev_issuer());
//! # Ok::<(), ddf_auth::gateway::GatewayError>(())
//! ```

mod config;
mod dev;
mod error;
#[cfg(feature = "grpc")]
pub mod grpc;
mod stack;

pub use config::{
    DEFAULT_LISTEN, DevIssuerSection, ENV_OVERRIDES, GatewayConfig, IssuerEntry, RateLimitSection,
    RedisSection, SessionSection, substitute,
};
pub use dev::{DEV_ROLES, DevIssuer};
pub use error::GatewayError;
pub use stack::{DevCredential, Stack};
