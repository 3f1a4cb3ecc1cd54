//! Security-catalog rows of the HTTP layer not covered by the other test
//! files: credential transport, object ownership, session-cookie transport,
//! error-body hygiene, what counts as a failed authentication, and the audit
//! vocabulary. Each test is named after its row id.

mod common;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::routing::{get, post};
use common::*;
use ddf_tower::{
    AuthFailure, AuthLayer, Authenticated, BruteForceConfig, BruteForceGuard, Credential,
    CredentialConfig, MemoryRateLimiter, RateLimitConfig, RateLimitLayer, Reason,
    RequirePermissionLayer, authenticate_fn,
};
use http::StatusCode;
use tower::ServiceExt;

fn all_sources_layer() -> AuthLayer {
    AuthLayer::builder()
        .bearer(FixedAuthenticator)
        .api_key(FixedAuthenticator)
        .session(FixedAuthenticator)
        .authorizer(policy)
        .build()
        .unwrap()
}

async fn whoami(Authenticated(principal): Authenticated) -> String {
    principal.subject().to_owned()
}

fn app(layer: AuthLayer) -> Router {
    Router::new()
        .route("/v1/models", get(whoami).post(whoami))
        .route(
            "/v1/query",
            get(whoami).route_layer(RequirePermissionLayer::new("llm:query", policy)),
        )
        .layer(layer)
}

async fn send(app: &Router, request: http::Request<Body>) -> Collected {
    collect(app.clone().oneshot(request).await.unwrap()).await
}

fn owned(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

#[tokio::test]
async fn k07_api_key_outside_its_header_is_ignored() {
    let app = app(all_sources_layer());
    let placements = [
        request("GET", owned(format!("/v1/models?api_key={GOOD_KEY}")), &[]),
        request(
            "GET",
            owned(format!("/v1/models?x-api-key={GOOD_KEY}")),
            &[],
        ),
        request(
            "GET",
            owned(format!("/v1/models?X-API-Key={GOOD_KEY}")),
            &[],
        ),
        request(
            "GET",
            "/v1/models",
            &[("cookie", owned(format!("x-api-key={GOOD_KEY}")))],
        ),
        request(
            "GET",
            "/v1/models",
            &[("cookie", owned(format!("api_key={GOOD_KEY}")))],
        ),
        request(
            "GET",
            "/v1/models",
            &[("authorization", owned(format!("ApiKey {GOOD_KEY}")))],
        ),
        http::Request::builder()
            .method("POST")
            .uri("/v1/models")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "api_key={GOOD_KEY}&x-api-key={GOOD_KEY}"
            )))
            .unwrap(),
    ];
    for request in placements {
        let uri = request.uri().clone();
        let response = send(&app, request).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(response.reason, Some(Reason::CredentialsMissing), "{uri}");
        assert_eq!(response.body_text(), fixture("bodies/unauthorized.json"));
    }

    // The same key in its header authenticates, so the rejections above are
    // about placement only.
    let response = send(&app, get_models(&[("x-api-key", GOOD_KEY)])).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body_text(), "svc-indexer");
}

#[tokio::test]
async fn b09_handlers_get_identity_and_decide_ownership() {
    // RBAC grants do not state who owns an object: the layer hands the
    // verified (issuer, subject) and API-key id to the handler, and the
    // handler compares them with the owner of the requested object.
    let app = Router::new()
        .route(
            "/v1/conversations/{owner}",
            get(
                |Path(owner): Path<String>, Authenticated(principal): Authenticated| async move {
                    if principal.subject() == owner {
                        (
                            StatusCode::OK,
                            format!("{:?} {}", principal.issuer(), owner),
                        )
                    } else {
                        (StatusCode::NOT_FOUND, String::new())
                    }
                },
            )
            .route_layer(RequirePermissionLayer::new("llm:query", policy)),
        )
        .layer(all_sources_layer());

    let token = owned(format!("Bearer {GOOD_TOKEN}"));
    let own = send(
        &app,
        request(
            "GET",
            "/v1/conversations/user-0001",
            &[("authorization", token)],
        ),
    )
    .await;
    assert_eq!(own.status, StatusCode::OK);
    assert_eq!(
        own.body_text(),
        "Some(\"https://sso.example.test/realms/demo\") user-0001"
    );

    // user-0001 has `llm:*` through the `user` role, and still cannot
    // read user-0002's conversation.
    let other = send(
        &app,
        request(
            "GET",
            "/v1/conversations/user-0002",
            &[("authorization", token)],
        ),
    )
    .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    assert_eq!(other.body_text(), "");
}

#[tokio::test]
async fn s16_session_id_read_only_from_configured_cookie() {
    let mut credentials = CredentialConfig::default();
    credentials.session_cookie = "__Host-ddf_session".to_owned();
    let layer = AuthLayer::builder()
        .session(FixedAuthenticator)
        .credentials(credentials)
        .build()
        .unwrap();
    let app = app(layer);

    let ignored = [
        request(
            "GET",
            owned(format!("/v1/models?ddf_session={GOOD_SESSION}")),
            &[],
        ),
        request(
            "GET",
            owned(format!("/v1/models?__Host-ddf_session={GOOD_SESSION}")),
            &[],
        ),
        request(
            "GET",
            owned(format!("/v1/models;jsessionid={GOOD_SESSION}")),
            &[],
        ),
        request(
            "GET",
            "/v1/models",
            &[("cookie", owned(format!("ddf_session={GOOD_SESSION}")))],
        ),
        request("GET", "/v1/models", &[("x-session-id", GOOD_SESSION)]),
        request(
            "GET",
            "/v1/models",
            &[("authorization", owned(format!("Bearer {GOOD_SESSION}")))],
        ),
    ];
    for request in ignored {
        let uri = request.uri().clone();
        let response = send(&app, request).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(response.reason, Some(Reason::CredentialsMissing), "{uri}");
    }

    let cookie = owned(format!("__Host-ddf_session={GOOD_SESSION}"));
    let response = send(&app, get_models(&[("cookie", cookie)])).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body_text(), "user-0002");

    // A dead session id is cleared with the attributes a `__Host-` cookie
    // needs: Secure, Path=/ and no Domain.
    let response = send(&app, get_models(&[("cookie", "__Host-ddf_session=stale")])).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.reason, Some(Reason::SessionInvalid));
    assert_eq!(
        response.header_all("set-cookie"),
        ["__Host-ddf_session=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Strict"]
    );
}

#[tokio::test]
async fn h08_error_bodies_never_echo_details() {
    const KID: &str = "kid-internal-7f3a";
    const ISSUER: &str = "https://idp.internal.example/realms/hidden";
    const KEY_ID: &str = "key-internal-0042";
    const TOKEN_PART: &str = "canaryTokenPart";

    // Each failure carries a kid, issuer and key id that must stay in the
    // logs; a panic carries a connection string.
    let authenticator = authenticate_fn(|credential: Credential<'_>| {
        let Credential::Bearer(token) = credential else {
            return Err(AuthFailure::new(Reason::InternalError));
        };
        assert!(
            !token.starts_with("panic"),
            "redis://user:hunter2@10.1.2.3:6379 refused; token {token}"
        );
        let code = token.trim_start_matches(TOKEN_PART).trim_start_matches('.');
        Err(AuthFailure::new(Reason::from_code(code).unwrap())
            .with_kid(KID)
            .with_issuer(ISSUER)
            .with_key_id(KEY_ID))
    });
    let layer = AuthLayer::builder()
        .bearer(authenticator)
        .authorizer(policy)
        .build()
        .unwrap();
    let app = app(layer);

    let mut checked = 0;
    for reason in Reason::ALL {
        if reason == Reason::CredentialsMissing {
            continue;
        }
        let header = owned(format!("Bearer {TOKEN_PART}.{}", reason.as_str()));
        let response = send(&app, get_models(&[("authorization", header)])).await;
        assert_eq!(response.reason, Some(reason));
        let fixture_name = if reason == Reason::TokenExpired {
            "invalid_token_expired"
        } else {
            reason.error_code()
        };
        let body = response.body_text();
        assert_eq!(
            body,
            fixture(&format!("bodies/{fixture_name}.json")),
            "{reason}"
        );
        let headers = format!("{:?}", response.headers);
        for secret in [KID, ISSUER, KEY_ID, TOKEN_PART, "hunter2", "realms"] {
            assert!(!body.contains(secret), "{reason} body has {secret}");
            assert!(!headers.contains(secret), "{reason} headers have {secret}");
        }
        checked += 1;
    }
    assert_eq!(checked, Reason::ALL.len() - 1);

    let header = owned(format!("Bearer panic{TOKEN_PART}"));
    let response = send(&app, get_models(&[("authorization", header)])).await;
    assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.body_text(), fixture("bodies/internal_error.json"));
    assert!(!response.body_text().contains("hunter2"));
    assert!(!response.body_text().contains("panicked"));
}

#[tokio::test]
async fn r05_only_credential_failures_count() {
    let mut config = BruteForceConfig::default();
    config.max_failures = 1000;
    let guard = BruteForceGuard::new(&config).unwrap();
    let layer = AuthLayer::builder()
        .bearer(FixedAuthenticator)
        .brute_force(guard.clone())
        .authorizer(policy)
        .build()
        .unwrap();
    let limiter = MemoryRateLimiter::new(RateLimitConfig::new(2, Duration::from_secs(60))).unwrap();
    let app = Router::new()
        .route("/v1/models", get(whoami))
        .route(
            "/v1/admin",
            get(whoami).route_layer(RequirePermissionLayer::new("admin:users", policy)),
        )
        .route(
            "/v1/limited",
            post(whoami).layer(RateLimitLayer::new(limiter)),
        )
        .layer(layer);
    let good = owned(format!("Bearer {GOOD_TOKEN}"));

    // 401 (bad signature) and 400 (malformed header, ambiguous credentials) count.
    for header in [
        "Bearer forged.token.x",
        "Bearer a b",
        "Bearer fail-token_expired",
    ] {
        let response = send(&app, get_models(&[("authorization", header)])).await;
        assert!(matches!(response.status.as_u16(), 400 | 401), "{header}");
    }
    let response = send(
        &app,
        request(
            "GET",
            "/v1/models?access_token=x",
            &[("authorization", good)],
        ),
    )
    .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(guard.client_failures("ip:unknown"), 4);

    // 403, 429 and infrastructure 5xx do not.
    for _ in 0..3 {
        let response = send(
            &app,
            request("GET", "/v1/admin", &[("authorization", good)]),
        )
        .await;
        assert_eq!(response.status, StatusCode::FORBIDDEN);
    }
    let mut rejected_by_limit = 0;
    for _ in 0..4 {
        let response = send(
            &app,
            request("POST", "/v1/limited", &[("authorization", good)]),
        )
        .await;
        if response.status == StatusCode::TOO_MANY_REQUESTS {
            rejected_by_limit += 1;
        }
    }
    assert_eq!(rejected_by_limit, 2);
    for reason in [
        "jwks_unavailable",
        "session_store_unavailable",
        "internal_error",
        "rate_limited",
    ] {
        let header = owned(format!("Bearer fail-{reason}"));
        let response = send(&app, get_models(&[("authorization", header)])).await;
        assert!(
            matches!(response.status.as_u16(), 429 | 500 | 503),
            "{reason}"
        );
    }
    assert_eq!(guard.client_failures("ip:unknown"), 4);
    assert_eq!(guard.alerts_raised(), 0);
}

#[tokio::test]
async fn g03_logs_carry_key_ids_not_credentials() {
    let capture = Capture::default();
    let _guard = capture.install();
    let app = app(all_sources_layer());
    let wrong_key = "ffffffffffffffffffffffffffffffff";
    let session_cookie = owned(format!("ddf_session={GOOD_SESSION}"));
    let token = owned(format!("Bearer {GOOD_TOKEN}"));

    send(&app, get_models(&[("x-api-key", GOOD_KEY)])).await;
    send(&app, get_models(&[("x-api-key", wrong_key)])).await;
    send(&app, get_models(&[("authorization", token)])).await;
    send(&app, get_models(&[("cookie", session_cookie)])).await;

    let events = capture.audit();
    assert_eq!(events.len(), 4);
    // API-key events are correlated by the public key id, JWT events by kid.
    assert_eq!(events[0].field("key_id"), Some("key-0001"));
    assert_eq!(events[1].field("key_id"), Some("key-guess"));
    assert_eq!(events[2].field("kid"), Some("kid-2026"));
    assert_eq!(events[3].field("subject"), Some("user-0002"));
    for event in capture.events() {
        let text = format!("{:?}", event.fields);
        for secret in [GOOD_KEY, wrong_key, GOOD_TOKEN, GOOD_SESSION] {
            assert!(!text.contains(secret), "{text}");
        }
    }
}

#[tokio::test]
async fn g06_one_event_per_decision_with_vocabulary() {
    let capture = Capture::default();
    let _guard = capture.install();
    let mut config = BruteForceConfig::default();
    config.max_failures = 2;
    let layer = AuthLayer::builder()
        .bearer(FixedAuthenticator)
        .brute_force(BruteForceGuard::new(&config).unwrap())
        .authorizer(policy)
        .build()
        .unwrap();
    let limiter = MemoryRateLimiter::new(RateLimitConfig::new(1, Duration::from_secs(60))).unwrap();
    let app = Router::new()
        .route("/v1/models", get(whoami))
        .route(
            "/v1/admin",
            get(whoami).route_layer(RequirePermissionLayer::new("admin:users", policy)),
        )
        .route(
            "/v1/limited",
            get(whoami).layer(RateLimitLayer::new(limiter)),
        )
        .layer(layer);
    let good = owned(format!("Bearer {GOOD_TOKEN}"));

    let decisions: [(&str, &str, &[&str]); 5] = [
        ("/v1/models", good, &["authn_success"]),
        ("/v1/admin", good, &["authn_success", "authz_fail"]),
        ("/v1/limited", good, &["authn_success"]),
        (
            "/v1/limited",
            good,
            &["authn_success", "excess_rate_limit_exceeded"],
        ),
        ("/v1/models", "Bearer forged.token.x", &["authn_fail"]),
    ];
    for (uri, header, expected) in decisions {
        let before = capture.audit().len();
        send(&app, request("GET", uri, &[("authorization", header)])).await;
        let events: Vec<String> = capture.audit()[before..]
            .iter()
            .map(|event| event.field("event").unwrap_or_default().to_owned())
            .collect();
        assert_eq!(events, *expected, "{uri}");
    }

    // Failures past the threshold raise `authn_login_fail_max` once.
    for _ in 0..3 {
        send(
            &app,
            get_models(&[("authorization", "Bearer forged.token.x")]),
        )
        .await;
    }
    let alerts = capture
        .audit()
        .iter()
        .filter(|event| event.field("event") == Some("authn_login_fail_max"))
        .count();
    assert_eq!(alerts, 1);

    // Every event names its outcome and, for failed requests, the reason code.
    for event in capture.audit() {
        let name = event.field("event").unwrap();
        let outcome = event.field("outcome").unwrap();
        let expected_outcome = match name {
            "authn_success" => "success",
            "authn_fail" => "failure",
            "authz_fail" => "denied",
            "excess_rate_limit_exceeded" => "rate_limited",
            "authn_login_fail_max" => "alert",
            other => panic!("unexpected event {other}"),
        };
        assert_eq!(outcome, expected_outcome, "{name}");
        if matches!(
            name,
            "authn_fail" | "authz_fail" | "excess_rate_limit_exceeded"
        ) {
            assert!(
                event
                    .field("reason")
                    .is_some_and(|reason| Reason::from_code(reason).is_some()),
                "{name}"
            );
        }
        // Request events name the method and route. The client address is
        // absent here because the test router has no peer address.
        if name != "authn_login_fail_max" {
            assert_eq!(event.field("http_method"), Some("GET"), "{name}");
            assert!(event.field("route").is_some(), "{name}");
        }
    }
}
