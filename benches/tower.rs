//! One in-process request (no sockets) through the ddf-tower stack, against
//! the same axum handler with no layers.
//!
//! The stack: `AuthLayer` with an authenticator that returns a prepared
//! principal (so the figure is the layers' own cost, without JWT
//! verification), a per-principal `RateLimitLayer` whose budget never runs
//! out, and `RequirePermissionLayer` on the route.

#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::hint::black_box;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use ddf_rbac::{AuthMethod, Principal};
use ddf_tower::{
    AuthFailure, AuthLayer, Credential, MemoryRateLimiter, RateLimitConfig, RateLimitLayer, Reason,
    RequirePermissionLayer, authenticate_fn,
};
use http::Request;
use http_body_util::BodyExt;
use tower::ServiceExt;

/// Builds a token of realistic length (a Keycloak access token is 800 to 1500
/// bytes); the trivial authenticator compares it and never decodes it.
fn token() -> String {
    format!(
        "eyJhbGciOiJSUzI1NiJ9.{}.{}",
        "e".repeat(700),
        "s".repeat(342)
    )
}

fn bare_app() -> Router {
    Router::new().route("/v1/query", get(|| async { "answer" }))
}

/// The layers around the handler.
#[derive(Clone, Copy)]
struct Stack {
    rate_limit: bool,
    permission: bool,
}

fn full_app(token: &'static str) -> Router {
    layered_app(
        token,
        Stack {
            rate_limit: true,
            permission: true,
        },
    )
}

fn layered_app(token: &'static str, stack: Stack) -> Router {
    let principal = Principal::new("user-0001", AuthMethod::Jwt)
        .with_issuer("https://sso.example.test/realms/demo")
        .with_key_id("kid-2026")
        .with_roles(["user"]);
    let authenticator = authenticate_fn(move |credential: Credential<'_>| match credential {
        Credential::Bearer(presented) if presented == token => Ok(principal.clone()),
        _ => Err(AuthFailure::new(Reason::SignatureInvalid)),
    });
    let auth = AuthLayer::builder().bearer(authenticator).build().unwrap();
    let quota = RateLimitConfig::new(1_000_000_000, Duration::from_secs(1));
    let limit = RateLimitLayer::new(MemoryRateLimiter::new(quota).unwrap());
    let can_query = |principal: &Principal, permission: &str| {
        principal.has_role("user") && permission == "llm:query"
    };

    let mut route = get(|| async { "answer" });
    if stack.permission {
        route = route.route_layer(RequirePermissionLayer::new("llm:query", can_query));
    }
    let mut app = Router::new().route("/v1/query", route);
    if stack.rate_limit {
        app = app.layer(limit);
    }
    app.layer(auth)
}

fn request(authorization: &str) -> Request<Body> {
    Request::get("/v1/query")
        .header("authorization", authorization)
        .header("user-agent", "bench/1.0")
        .body(Body::empty())
        .unwrap()
}

fn bench_stack(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let token: &'static str = Box::leak(token().into_boxed_str());
    let authorization = format!("Bearer {token}");

    let bare = bare_app();
    let full = full_app(token);
    let auth_only = layered_app(
        token,
        Stack {
            rate_limit: false,
            permission: false,
        },
    );
    let auth_permission = layered_app(
        token,
        Stack {
            rate_limit: false,
            permission: true,
        },
    );
    // Tracing is off in the benchmark process (no subscriber), as in a
    // service that filters out INFO audit events.
    let run = |app: &Router| {
        let app = app.clone();
        let request = request(&authorization);
        runtime.block_on(async move {
            let response = app.oneshot(request).await.unwrap();
            assert_eq!(response.status(), 200);
            black_box(response.into_body().collect().await.unwrap());
        });
    };

    let mut group = c.benchmark_group("tower");
    group.bench_function("bare_handler", |b| b.iter(|| run(&bare)));
    group.bench_function("auth", |b| b.iter(|| run(&auth_only)));
    group.bench_function("auth_permission", |b| b.iter(|| run(&auth_permission)));
    group.bench_function("auth_rate_limit_permission", |b| b.iter(|| run(&full)));
    group.finish();
}

criterion_group!(benches, bench_stack);
criterion_main!(benches);
