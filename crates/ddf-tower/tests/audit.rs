//! Audit events asserted field by field, and the secret canaries.

mod common;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use common::*;
use ddf_rbac::{AuthMethod, Principal};
use ddf_tower::{
    AuthFailure, AuthLayer, BruteForceConfig, BruteForceGuard, Credential, MemoryRateLimiter,
    RateLimitConfig, RateLimitLayer, Reason, RequirePermissionLayer, authenticate_fn,
};
use http::Request;
use tower::ServiceExt;
use tracing::Level;

fn app(layer: AuthLayer) -> Router {
    Router::new()
        .route("/v1/models", get(|| async { "models" }))
        .route(
            "/v1/query",
            get(|| async { "answer" })
                .route_layer(RequirePermissionLayer::new("llm:query", policy)),
        )
        .layer(layer)
}

fn from_peer(mut request: Request<axum::body::Body>) -> Request<axum::body::Body> {
    let peer = SocketAddr::from(([203, 0, 113, 9], 50_000));
    request.extensions_mut().insert(ConnectInfo(peer));
    request
}

async fn send(app: &Router, request: Request<axum::body::Body>) -> Collected {
    collect(app.clone().oneshot(from_peer(request)).await.unwrap()).await
}

fn layer() -> AuthLayer {
    AuthLayer::builder()
        .bearer(FixedAuthenticator)
        .api_key(FixedAuthenticator)
        .build()
        .unwrap()
}

#[tokio::test]
async fn success_event_fields() {
    let capture = Capture::default();
    let _guard = capture.install();
    let response = send(
        &app(layer()),
        get_models(&[("authorization", "Bearer good.token.value")]),
    )
    .await;
    assert_eq!(response.status, 200);

    let events = capture.audit();
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.level, Level::INFO);
    assert_eq!(event.field("event"), Some("authn_success"));
    assert_eq!(event.field("outcome"), Some("success"));
    assert_eq!(event.field("method"), Some("jwt"));
    assert_eq!(event.field("http_method"), Some("GET"));
    assert_eq!(event.field("route"), Some("/v1/models"));
    assert_eq!(event.field("client_addr"), Some("203.0.113.9"));
    assert_eq!(event.field("subject"), Some("user-0001"));
    assert_eq!(
        event.field("issuer"),
        Some("https://sso.example.test/realms/demo")
    );
    assert_eq!(event.field("kid"), Some("kid-2026"));
    assert_eq!(event.field("key_id"), None);
    assert_eq!(event.field("reason"), None);
}

#[tokio::test]
async fn failure_event_fields() {
    let capture = Capture::default();
    let _guard = capture.install();
    let app = app(layer());
    send(
        &app,
        get_models(&[("authorization", "Bearer forged.token.x")]),
    )
    .await;
    send(
        &app,
        get_models(&[("x-api-key", "ffffffffffffffffffffffffffffffff")]),
    )
    .await;
    send(&app, get_models(&[])).await;
    send(
        &app,
        get_models(&[("authorization", "Bearer fail-jwks_unavailable")]),
    )
    .await;

    let events = capture.audit();
    assert_eq!(events.len(), 4);
    let token = &events[0];
    assert_eq!(token.level, Level::WARN);
    assert_eq!(token.field("event"), Some("authn_fail"));
    assert_eq!(token.field("outcome"), Some("failure"));
    assert_eq!(token.field("reason"), Some("signature_invalid"));
    assert_eq!(token.field("method"), Some("bearer"));
    assert_eq!(token.field("kid"), Some("kid-unknown"));
    assert_eq!(token.field("client_addr"), Some("203.0.113.9"));
    assert_eq!(token.field("route"), Some("/v1/models"));
    assert_eq!(token.field("subject"), None);

    let key = &events[1];
    assert_eq!(key.field("reason"), Some("api_key_invalid"));
    assert_eq!(key.field("method"), Some("api_key"));
    assert_eq!(key.field("key_id"), Some("key-guess"));

    let missing = &events[2];
    assert_eq!(missing.field("reason"), Some("credentials_missing"));
    assert_eq!(missing.field("method"), None);

    let outage = &events[3];
    assert_eq!(outage.level, Level::ERROR);
    assert_eq!(outage.field("reason"), Some("jwks_unavailable"));
}

#[tokio::test]
async fn authorization_failure_event_fields() {
    let capture = Capture::default();
    let _guard = capture.install();
    let response = send(
        &app(layer()),
        request("GET", "/v1/query", &[("x-api-key", GOOD_KEY)]),
    )
    .await;
    assert_eq!(response.status, 403);

    let events = capture.audit();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].field("event"), Some("authn_success"));
    assert_eq!(events[0].field("key_id"), Some("key-0001"));
    assert_eq!(events[0].field("kid"), None);
    let denied = &events[1];
    assert_eq!(denied.level, Level::WARN);
    assert_eq!(denied.field("event"), Some("authz_fail"));
    assert_eq!(denied.field("outcome"), Some("denied"));
    assert_eq!(denied.field("reason"), Some("permission_denied"));
    assert_eq!(denied.field("permission"), Some("llm:query"));
    assert_eq!(denied.field("subject"), Some("svc-indexer"));
    assert_eq!(denied.field("key_id"), Some("key-0001"));
    assert_eq!(denied.field("method"), Some("api_key"));
    assert_eq!(denied.field("route"), Some("/v1/query"));
    assert_eq!(denied.field("client_addr"), Some("203.0.113.9"));
}

#[tokio::test]
async fn rate_limit_and_alert_events() {
    let capture = Capture::default();
    let _guard = capture.install();
    let mut config = BruteForceConfig::default();
    config.block_secs = 30;
    let guard = BruteForceGuard::new(&config).unwrap();
    let layer = AuthLayer::builder()
        .bearer(FixedAuthenticator)
        .brute_force(guard)
        .build()
        .unwrap();
    let app = app(layer);
    for _ in 0..12 {
        send(&app, get_models(&[("authorization", "Bearer forged")])).await;
    }

    let events = capture.audit();
    let alerts: Vec<_> = events
        .iter()
        .filter(|event| event.field("event") == Some("authn_login_fail_max"))
        .collect();
    assert_eq!(alerts.len(), 1);
    let alert = alerts[0];
    assert_eq!(alert.level, Level::ERROR);
    assert_eq!(alert.field("outcome"), Some("alert"));
    assert_eq!(alert.field("dimension"), Some("client"));
    assert_eq!(alert.field("client"), Some("ip:203.0.113.9"));
    assert_eq!(alert.field("failures"), Some("11"));
    assert_eq!(alert.field("total_failures"), Some("11"));
    assert_eq!(alert.field("window_secs"), Some("300"));
    assert_eq!(alert.field("blocked_secs"), Some("30"));

    let blocked = events.last().unwrap();
    assert_eq!(blocked.field("event"), Some("excess_rate_limit_exceeded"));
    assert_eq!(blocked.field("outcome"), Some("rate_limited"));
    assert_eq!(blocked.field("reason"), Some("rate_limited"));
    assert_eq!(blocked.field("cause"), Some("blocked"));
    assert_eq!(blocked.field("client_addr"), Some("203.0.113.9"));
}

#[tokio::test]
async fn g04_untrusted_values_are_escaped_and_truncated() {
    let capture = Capture::default();
    let _guard = capture.install();
    let hostile = authenticate_fn(|_credential: Credential<'_>| {
        Err(AuthFailure::new(Reason::KeyNotFound)
            .with_kid(format!("a\r\nforged=1\u{1b}[31m{}", "k".repeat(10_000)))
            .with_issuer("https://evil.example.test/\n"))
    });
    let layer = AuthLayer::builder().bearer(hostile).build().unwrap();
    send(&app(layer), get_models(&[("authorization", "Bearer x")])).await;

    let events = capture.audit();
    let kid = events[0].field("kid").unwrap();
    assert!(kid.starts_with("a\\r\\nforged=1\\u{1b}[31m"), "{kid}");
    assert!(!kid.contains('\n'));
    assert!(!kid.contains('\u{1b}'));
    assert!(kid.chars().count() <= 256 + 16, "{}", kid.len());
    assert_eq!(
        events[0].field("issuer"),
        Some("https://evil.example.test/\\n")
    );
}

#[tokio::test]
async fn g05_unverified_subject_is_never_logged() {
    let capture = Capture::default();
    let _guard = capture.install();
    // The authenticator rejects a token whose payload claims `sub: admin`;
    // the failure carries no subject, so none can be logged.
    let layer = AuthLayer::builder()
        .bearer(FixedAuthenticator)
        .build()
        .unwrap();
    send(
        &app(layer),
        get_models(&[("authorization", "Bearer eyJzdWIiOiJhZG1pbiJ9.e30.c2ln")]),
    )
    .await;
    let event = &capture.audit()[0];
    assert_eq!(event.field("subject"), None);
    assert!(!event.fields.values().any(|value| value.contains("admin")));
}

#[tokio::test]
async fn g08_failure_events_are_capped_per_second() {
    let capture = Capture::default();
    let _guard = capture.install();
    let layer = AuthLayer::builder()
        .bearer(FixedAuthenticator)
        .max_failure_events_per_second(5)
        .build()
        .unwrap();
    let app = app(layer);
    for _ in 0..200 {
        send(&app, get_models(&[("authorization", "Bearer forged")])).await;
    }
    let logged = capture.audit().len();
    // 5 per wall-clock second; the loop may cross a few second boundaries.
    assert!((5..=25).contains(&logged), "{logged} events");
}

const CANARY_TOKEN: &str = "CANARYtokenQ7vW2xY9zA4bC6dE8fG0hJ";
const CANARY_KEY: &str = "c0ffee11c0ffee22c0ffee33c0ffee44";
const CANARY_SESSION: &str = "CANARYsessionK3mN5pR7sT9uV1wX3yZ";

fn leaks(haystack: &str) -> Option<String> {
    for canary in [CANARY_TOKEN, CANARY_KEY, CANARY_SESSION] {
        for start in 0..=canary.len() - 16 {
            let piece = &canary[start..start + 16];
            if haystack.contains(piece) {
                return Some(piece.to_owned());
            }
        }
    }
    None
}

#[tokio::test]
async fn g01_canary_credentials_never_leak() {
    let capture = Capture::default();
    let _guard = capture.install();

    // Accepts two canaries and rejects everything else, cycling through
    // every reason code, so success and failure paths are both exercised.
    let authenticator = authenticate_fn(|credential: Credential<'_>| {
        let accept = matches!(
            credential,
            Credential::Bearer(CANARY_TOKEN) | Credential::SessionCookie(CANARY_SESSION)
        );
        if accept {
            return Ok(Principal::new("canary-user", AuthMethod::Session));
        }
        Err(AuthFailure::new(next_reason()))
    });

    let limiter =
        MemoryRateLimiter::new(RateLimitConfig::new(3, std::time::Duration::from_secs(60)))
            .unwrap();
    let mut guard_config = BruteForceConfig::default();
    guard_config.max_failures = 2;
    guard_config.block_secs = 10;
    let layer = AuthLayer::builder()
        .bearer(authenticator)
        .api_key(authenticator)
        .session(authenticator)
        .brute_force(BruteForceGuard::new(&guard_config).unwrap())
        .build()
        .unwrap();
    let app = Router::new()
        .route("/v1/models", get(|| async { "models" }))
        .route(
            "/v1/query",
            get(|| async { "answer" })
                .route_layer(RequirePermissionLayer::new("llm:query", policy)),
        )
        .layer(RateLimitLayer::new(limiter))
        .layer(layer);

    let bearer = format!("Bearer {CANARY_TOKEN}");
    let wrong_bearer = format!("Bearer {CANARY_TOKEN}x");
    let cookie = format!("ddf_session={CANARY_SESSION}");
    let wrong_cookie = format!("ddf_session={CANARY_SESSION}x");
    let query = format!("/v1/models?access_token={CANARY_TOKEN}");
    let oversized = format!("Bearer {CANARY_TOKEN}{}", "A".repeat(9000));
    let spaced = format!("Bearer {CANARY_TOKEN} {CANARY_TOKEN}");
    let requests = vec![
        request("GET", "/v1/models", &[("authorization", bearer.as_str())]),
        request("GET", "/v1/query", &[("authorization", bearer.as_str())]),
        request(
            "GET",
            "/v1/models",
            &[("authorization", wrong_bearer.as_str())],
        ),
        request("GET", "/v1/models", &[("x-api-key", CANARY_KEY)]),
        request("GET", "/v1/models", &[("cookie", cookie.as_str())]),
        request("GET", "/v1/models", &[("cookie", wrong_cookie.as_str())]),
        request("GET", query.as_str(), &[]),
        request(
            "GET",
            "/v1/models",
            &[("authorization", oversized.as_str())],
        ),
        request("GET", "/v1/models", &[("authorization", spaced.as_str())]),
        request(
            "GET",
            "/v1/models",
            &[
                ("authorization", bearer.as_str()),
                ("x-api-key", CANARY_KEY),
            ],
        ),
        request(
            "GET",
            "/v1/models",
            &[("authorization", wrong_bearer.as_str())],
        ),
        request(
            "GET",
            "/v1/models",
            &[("authorization", wrong_bearer.as_str())],
        ),
        request("GET", "/v1/models", &[("authorization", bearer.as_str())]),
    ];

    let mut scanned = 0;
    for request in requests {
        let response = send(&app, request).await;
        let mut text = String::from_utf8_lossy(&response.body).into_owned();
        for (name, value) in &response.headers {
            text.push_str(name.as_str());
            text.push_str(&String::from_utf8_lossy(value.as_bytes()));
        }
        assert_eq!(leaks(&text), None, "response {text}");
        scanned += 1;
    }

    let events = capture.events();
    assert!(events.len() >= scanned, "{} events", events.len());
    for event in &events {
        let text = format!("{event:?}");
        assert_eq!(leaks(&text), None, "event {text}");
    }
}

fn next_reason() -> Reason {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    Reason::ALL[NEXT.fetch_add(1, Ordering::Relaxed) % Reason::ALL.len()]
}

#[test]
fn g02_debug_output_is_redacted() {
    for credential in [
        Credential::Bearer(CANARY_TOKEN),
        Credential::ApiKey(CANARY_KEY.as_bytes()),
        Credential::SessionCookie(CANARY_SESSION),
    ] {
        let printed = format!("{credential:?} {credential:#?}");
        assert_eq!(leaks(&printed), None, "{printed}");
        assert!(printed.contains("<redacted>"));
    }
    let layer = AuthLayer::builder()
        .bearer(FixedAuthenticator)
        .build()
        .unwrap();
    let printed = format!("{layer:?}");
    assert!(printed.contains("AuthLayer"), "{printed}");
}
