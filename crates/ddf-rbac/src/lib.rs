//! Role-based access control for LLM services, and the identity type that every
//! ddf-auth credential produces.
//!
//! - [`Principal`]: who made a request and how they authenticated. A JWT, an
//!   API key and a session all resolve to this one type.
//! - [`Clock`]: the source of the current time, so tests can pin it.
//!
//! This crate does no I/O and needs no async runtime.
//!
//! # Example
//!
//! ```
//! use ddf_rbac::{AuthMethod, Principal};
//!
//! let principal = Principal::new("user-0001", AuthMethod::Jwt)
//!     .with_issuer("https://idp.example.test/realms/llm")
//!     .with_roles(["user"]);
//! assert_eq!(principal.method(), AuthMethod::Jwt);
//! assert!(principal.has_role("user"));
//! ```

mod clock;
mod principal;

pub use clock::{Clock, ManualClock, SystemClock};
pub use principal::{AuthMethod, Principal};
