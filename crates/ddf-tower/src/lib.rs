//! Tower layers and axum extractors that authenticate requests, check
//! permissions, rate-limit clients and write an audit trail.
//!
//! The pieces, outermost first:
//!
//! - [`RateLimitLayer`] before authentication: a cheap per-address limit
//!   that runs before any signature check.
//! - [`AuthLayer`]: reads exactly one credential (`Authorization: Bearer`,
//!   `X-API-Key` or the session cookie), hands it to the [`Authenticate`]
//!   implementation configured for its kind, and stores the resulting
//!   [`Principal`](ddf_rbac::Principal) in the request extensions.
//! - [`RateLimitLayer`] after authentication: a per-principal limit.
//! - [`RequirePermissionLayer`] on a route, or the [`Require`] extractor in a
//!   handler: checks a permission through an [`Authorize`] implementation.
//!
//! Every failure is an [`AuthFailure`] with a [`Reason`], answered by a
//! [`Responder`] with a fixed status, an RFC 6750 challenge and a fixed JSON
//! body (or a gRPC status for gRPC requests, see [`grpc`]). Decisions are
//! logged as structured events under the target [`audit::TARGET`].
//!
//! # Example
//!
//! ```
//! use axum::{routing::post, Router};
//! use ddf_rbac::{AuthMethod, Principal};
//! use ddf_tower::{
//!     authenticate_fn, AuthFailure, AuthLayer, Authenticated, Credential, Reason,
//!     RequirePermissionLayer,
//! };
//! use http::{Request, StatusCode};
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let auth = AuthLayer::builder()
//!     .bearer(authenticate_fn(|credential: Credential<'_>| match credential {
//!         Credential::Bearer("token-of-user-1") => {
//!             Ok(Principal::new("user-1", AuthMethod::Jwt).with_roles(["user"]))
//!         }
//!         _ => Err(AuthFailure::new(Reason::SignatureInvalid)),
//!     }))
//!     .build()
//!     .unwrap();
//! let can_query = |principal: &Principal, permission: &str| {
//!     permission == "llm:query" && principal.has_role("user")
//! };
//!
//! let app = Router::new()
//!     .route("/v1/query", post(|Authenticated(principal): Authenticated| async move {
//!         format!("hello {}", principal.subject())
//!     }))
//!     .route_layer(RequirePermissionLayer::new("llm:query", can_query))
//!     .layer(auth);
//!
//! let request = Request::post("/v1/query")
//!     .header("authorization", "Bearer token-of-user-1")
//!     .body(axum::body::Body::empty())
//!     .unwrap();
//! let response = app.clone().oneshot(request).await.unwrap();
//! assert_eq!(response.status(), StatusCode::OK);
//!
//! let request = Request::post("/v1/query")
//!     .header("authorization", "Bearer forged")
//!     .body(axum::body::Body::empty())
//!     .unwrap();
//! let response = app.oneshot(request).await.unwrap();
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! # }
//! ```
//!
//! # Features
//!
//! - `axum` (default): the [`Authenticated`] and [`Require`] extractors, and
//!   client addresses from axum's `ConnectInfo`.
//! - `redis`: [`RedisRateLimiter`], budgets shared by every replica.
//! - `metrics`: counters and histograms through the `metrics` facade.
//! - `actix`: the same authentication, permission checks and extractors as
//!   actix-web 4 middleware (see the `actix` module).
//! - `jwt`, `apikey`, `session`, `rbac` (default): the [`adapters`] that plug
//!   `ddf_jwt::Validator`, `ddf_apikey::ApiKeyVerifier`,
//!   `ddf_session::SessionManager` (or [`SessionAuthenticator`]) and
//!   `ddf_rbac::Policy` into the layers.

#[cfg(feature = "actix")]
pub mod actix;
pub mod adapters;
pub mod audit;
mod auth_layer;
mod authenticate;
mod authorize;
mod body;
mod brute_force;
mod client;
mod credential;
mod error;
#[cfg(any(feature = "axum", feature = "actix"))]
mod extract;
mod failure;
pub mod grpc;
mod layer_future;
mod metrics;
pub mod rate_limit;
mod reason;
mod responder;

#[cfg(feature = "session")]
pub use adapters::{SessionAuthenticator, SessionCookie, SessionCookieConfig};
pub use auth_layer::{
    AuthLayer, AuthLayerBuilder, AuthResponseFuture, AuthService, BoxResponseFuture,
};
pub use authenticate::{
    AuthFuture, AuthOutcome, Authenticate, AuthenticateFn, OutcomeFuture, authenticate_fn,
};
pub use authorize::{Authorize, RequirePermission, RequirePermissionLayer, ResponseFuture};
pub use body::ResponseBody;
pub use brute_force::{Alert, BruteForceConfig, BruteForceGuard, Dimension};
pub use client::{ClientAddr, ClientAddrResolver, PeerAddr};
pub use credential::{Credential, CredentialConfig, CredentialExtractor, CredentialKind};
pub use error::ConfigError;
#[cfg(any(feature = "axum", feature = "actix"))]
pub use extract::{Authenticated, PermissionName, Require};
pub use failure::AuthFailure;
pub use layer_future::LayerFuture;
#[cfg(feature = "redis")]
pub use rate_limit::RedisRateLimiter;
pub use rate_limit::{
    MemoryRateLimiter, RateDecision, RateFuture, RateLimitConfig, RateLimitFuture, RateLimitLayer,
    RateLimitService, RateLimiter,
};
pub use reason::{Reason, UnknownReason};
pub use responder::{
    JsonBody, Rejection, RenderRejection, RenderedBody, Responder, ResponderConfig,
};
