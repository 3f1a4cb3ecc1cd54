//! Role-based access control for LLM services, and the identity type that every
//! ddf-auth credential produces.
//!
//! - [`Permission`]: a validated, colon-separated permission name such as
//!   `llm:query`.
//! - [`Pattern`]: a permission with whole-segment wildcards, such as `llm:*`.
//! - [`Policy`]: roles with grant and deny patterns and inheritance, loaded
//!   from YAML or TOML, validated (every problem reported with its role and
//!   position) and compiled into an allocation-free matcher.
//! - [`Principal`]: who made a request and how they authenticated. A JWT, an
//!   API key and a session all resolve to this one type.
//! - [`Clock`]: the source of the current time, so tests can pin it.
//!
//! This crate does no I/O and needs no async runtime.
//!
//! # Example
//!
//! ```
//! use ddf_rbac::{AuthMethod, Decision, Permission, Policy, Principal};
//!
//! let policy = Policy::reference();
//! let principal = Principal::new("user-0001", AuthMethod::Jwt)
//!     .with_issuer("https://idp.example.test/realms/llm")
//!     .with_roles(["user"]);
//!
//! let query = Permission::parse("llm:query")?;
//! let write_config = Permission::parse("config:write")?;
//! assert!(policy.allows_principal(&principal, &query));
//! assert!(!policy.allows_principal(&principal, &write_config));
//!
//! // `decide` also says which role and pattern decided.
//! match policy.decide(&["admin"], &write_config) {
//!     Decision::Allow(rule) => assert_eq!(rule.pattern.as_str(), "config:*"),
//!     other => panic!("expected Allow, got {other:?}"),
//! }
//! # Ok::<(), ddf_rbac::RbacError>(())
//! ```

mod clock;
mod error;
mod permission;
mod policy;
mod principal;
mod yaml;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{
    Location, PolicyFormat, PolicyProblem, ProblemKind, RbacError, RbacErrorKind, SyntaxRule,
    quote_input,
};
pub use permission::{MAX_LEN, MAX_SEGMENTS, Pattern, Permission};
pub use policy::{
    Decision, MAX_PATTERNS_PER_ROLE, MAX_POLICY_BYTES, MAX_ROLE_NAME_LEN, MAX_ROLES, MatchedRule,
    Policy, PolicySpec, REFERENCE_POLICY_YAML, RoleSpec,
};
pub use principal::{AuthMethod, Principal};
