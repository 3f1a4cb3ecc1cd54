//! Server-side sessions, encrypted at rest, in memory or Redis, with idle
//! timeouts, automatic refresh and a per-user concurrent-session limit.
//!
//! Not built yet: this crate will hold the session model, the `SessionStore`
//! trait and the memory and Redis stores.
