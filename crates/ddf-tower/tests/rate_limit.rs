//! Rate limiting through real axum routers: keys, headers, ordering, memory.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use common::*;
use ddf_rbac::ManualClock;
use ddf_tower::{
    AuthFuture, AuthLayer, Authenticate, ClientAddrResolver, Credential, MemoryRateLimiter,
    RateLimitConfig, RateLimitLayer, RateLimiter, Reason,
};
use http::{Request, StatusCode};
use tower::ServiceExt;

fn limiter(burst: u32, clock: &ManualClock) -> MemoryRateLimiter {
    let config = RateLimitConfig::new(burst, Duration::from_secs(60));
    MemoryRateLimiter::with_clock(config, clock.clone()).unwrap()
}

fn from(peer: &str, mut request: Request<axum::body::Body>) -> Request<axum::body::Body> {
    let peer: SocketAddr = peer.parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    request
}

async fn send(app: &Router, request: Request<axum::body::Body>) -> Collected {
    collect(app.clone().oneshot(request).await.unwrap()).await
}

#[derive(Debug, Clone, Default)]
struct Counting(Arc<AtomicUsize>);

impl Authenticate for Counting {
    fn authenticate<'a>(&'a self, credential: Credential<'a>) -> AuthFuture<'a> {
        self.0.fetch_add(1, Ordering::SeqCst);
        FixedAuthenticator.authenticate(credential)
    }
}

#[tokio::test]
async fn r02_over_limit_gets_429_with_headers() {
    let clock = ManualClock::at_unix_seconds(1_700_000_000);
    let app = Router::new()
        .route("/v1/models", get(|| async { "models" }))
        .layer(RateLimitLayer::new(limiter(2, &clock)));

    let first = send(&app, from("192.0.2.1:1000", get_models(&[]))).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(
        first.header("ratelimit-policy"),
        Some("\"default\";q=2;w=60")
    );
    assert_eq!(first.header("ratelimit"), Some("\"default\";r=1;t=30"));
    let second = send(&app, from("192.0.2.1:1001", get_models(&[]))).await;
    assert_eq!(second.header("ratelimit"), Some("\"default\";r=0;t=60"));

    let third = send(&app, from("192.0.2.1:1002", get_models(&[]))).await;
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(third.reason, Some(Reason::RateLimited));
    assert_eq!(third.header("retry-after"), Some("30"));
    assert_eq!(
        third.header("ratelimit-policy"),
        Some("\"default\";q=2;w=60")
    );
    assert_eq!(third.header("ratelimit"), Some("\"default\";r=0;t=60"));
    assert_eq!(third.body_text(), fixture("bodies/rate_limited.json"));

    clock.advance(Duration::from_secs(30));
    let later = send(&app, from("192.0.2.1:1003", get_models(&[]))).await;
    assert_eq!(later.status, StatusCode::OK);
}

#[tokio::test]
async fn r03_pre_auth_limit_runs_before_the_authenticator() {
    let clock = ManualClock::at_unix_seconds(1_700_000_000);
    let calls = Counting::default();
    let auth = AuthLayer::builder().bearer(calls.clone()).build().unwrap();
    let app = Router::new()
        .route("/v1/models", get(|| async { "models" }))
        .layer(auth)
        .layer(RateLimitLayer::new(limiter(3, &clock)));
    for index in 0..10 {
        let request = from(
            "192.0.2.7:1",
            get_models(&[("authorization", "Bearer junk")]),
        );
        let response = send(&app, request).await;
        let expected = if index < 3 {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(response.status, expected, "request {index}");
    }
    assert_eq!(calls.0.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn per_principal_budgets_after_authentication() {
    let clock = ManualClock::at_unix_seconds(1_700_000_000);
    let auth = AuthLayer::builder()
        .bearer(FixedAuthenticator)
        .api_key(FixedAuthenticator)
        .build()
        .unwrap();
    let app = Router::new()
        .route("/v1/models", get(|| async { "models" }))
        .layer(RateLimitLayer::new(limiter(1, &clock)))
        .layer(auth);
    let bearer = format!("Bearer {GOOD_TOKEN}");
    // Same address, different principals: separate budgets.
    let user = send(
        &app,
        from("192.0.2.9:1", get_models(&[("authorization", &bearer)])),
    )
    .await;
    let service = send(
        &app,
        from("192.0.2.9:1", get_models(&[("x-api-key", GOOD_KEY)])),
    )
    .await;
    assert_eq!(user.status, StatusCode::OK);
    assert_eq!(service.status, StatusCode::OK);
    // Same principal, different address: one budget.
    let again = send(
        &app,
        from("198.51.100.1:1", get_models(&[("authorization", &bearer)])),
    )
    .await;
    assert_eq!(again.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn r01_forwarded_for_only_from_trusted_proxies() {
    let clock = ManualClock::at_unix_seconds(1_700_000_000);
    let untrusted = Router::new()
        .route("/v1/models", get(|| async { "models" }))
        .layer(RateLimitLayer::new(limiter(1, &clock)));
    let spoofed = |client: &str| {
        from(
            "203.0.113.50:1",
            request("GET", "/v1/models", &[("x-forwarded-for", client)]),
        )
    };
    assert_eq!(
        send(&untrusted, spoofed("1.1.1.1")).await.status,
        StatusCode::OK
    );
    // A different spoofed address does not buy a fresh budget.
    assert_eq!(
        send(&untrusted, spoofed("2.2.2.2")).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );

    let resolver = ClientAddrResolver::default()
        .trust_proxies(["10.0.0.0/8"])
        .unwrap();
    let trusted = Router::new()
        .route("/v1/models", get(|| async { "models" }))
        .layer(RateLimitLayer::new(limiter(1, &clock)).client_addr(resolver));
    let proxied = |client: &str| {
        from(
            "10.0.0.5:1",
            request("GET", "/v1/models", &[("x-forwarded-for", client)]),
        )
    };
    assert_eq!(
        send(&trusted, proxied("198.51.100.1")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        send(&trusted, proxied("198.51.100.2")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        send(&trusted, proxied("198.51.100.1")).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn r01_ipv6_rotation_shares_budget() {
    let clock = ManualClock::at_unix_seconds(1_700_000_000);
    let app = Router::new()
        .route("/v1/models", get(|| async { "models" }))
        .layer(RateLimitLayer::new(limiter(2, &clock)));
    for (index, peer) in [
        "[2001:db8:1:2::1]:1",
        "[2001:db8:1:2::ffff]:1",
        "[2001:db8:1:2:abcd::9]:1",
    ]
    .into_iter()
    .enumerate()
    {
        let response = send(&app, from(peer, get_models(&[]))).await;
        let expected = if index < 2 {
            StatusCode::OK
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(response.status, expected, "{peer}");
    }
    let other = send(&app, from("[2001:db8:1:3::1]:1", get_models(&[]))).await;
    assert_eq!(other.status, StatusCode::OK);
}

#[tokio::test]
async fn r08_limiter_memory_is_bounded() {
    let clock = ManualClock::at_unix_seconds(1_700_000_000);
    let mut config = RateLimitConfig::new(5, Duration::from_secs(60));
    config.max_keys = 1_000;
    let limiter = MemoryRateLimiter::with_clock(config, clock).unwrap();
    for index in 0..50_000u32 {
        let key = format!("ip:2001:db8:{:x}:{:x}::/64", index >> 16, index & 0xffff);
        assert!(limiter.check(&key).await.allowed);
    }
    assert!(
        limiter.tracked_keys() <= 1_000,
        "{}",
        limiter.tracked_keys()
    );
}

#[tokio::test]
async fn grpc_requests_get_grpc_statuses() {
    let clock = ManualClock::at_unix_seconds(1_700_000_000);
    let auth = AuthLayer::builder()
        .bearer(FixedAuthenticator)
        .authorizer(policy)
        .build()
        .unwrap();
    let app = Router::new()
        .route(
            "/llm.Inference/Query",
            axum::routing::post(|| async { "ok" }).route_layer(
                ddf_tower::RequirePermissionLayer::new("admin:users", policy),
            ),
        )
        .layer(RateLimitLayer::new(limiter(3, &clock)))
        .layer(auth);
    let grpc = |authorization: Option<&str>| {
        let mut headers = vec![("content-type", "application/grpc")];
        if let Some(value) = authorization {
            headers.push(("authorization", value));
        }
        from(
            "192.0.2.44:1",
            request("POST", "/llm.Inference/Query", &headers),
        )
    };
    let good = format!("Bearer {GOOD_TOKEN}");
    let cases = [
        (grpc(None), "16", "Authentication is required."),
        (
            grpc(Some("Bearer forged")),
            "16",
            "The access token is invalid.",
        ),
        (
            grpc(Some("Bearer")),
            "3",
            "The request carries a malformed or ambiguous credential.",
        ),
        (
            grpc(Some(&good)),
            "7",
            "The credential does not grant access to this resource.",
        ),
        (
            grpc(Some("Bearer fail-jwks_unavailable")),
            "14",
            "Authentication is temporarily unavailable. Retry later.",
        ),
    ];
    for (request, status, message) in cases {
        let response = send(&app, request).await;
        assert_eq!(response.status, StatusCode::OK, "{status}");
        assert_eq!(response.header("content-type"), Some("application/grpc"));
        assert_eq!(response.header("grpc-status"), Some(status));
        assert_eq!(response.header("grpc-message"), Some(message));
        assert!(response.body.is_empty());
    }
    // The limiter sits after authentication, so only the authenticated
    // principal spent its budget of 3: one request above, two more here.
    for _ in 0..2 {
        let response = send(&app, grpc(Some(&good))).await;
        assert_eq!(response.header("grpc-status"), Some("7"));
    }
    let response = send(&app, grpc(Some(&good))).await;
    assert_eq!(response.header("grpc-status"), Some("8"));
    assert!(response.header("retry-after").is_some());
}
