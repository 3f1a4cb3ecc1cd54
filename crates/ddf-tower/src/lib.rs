//! Tower layers and axum extractors that authenticate requests with JWTs, API
//! keys or sessions, check permissions, rate-limit clients and write an audit
//! trail.
//!
//! Not built yet: this crate will hold the authentication, authorization and
//! rate-limit layers.
