//! `AuthLayer`, `RequirePermissionLayer` and the extractors through real axum
//! routers: every status, header and body.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::extract::Request as AxumRequest;
use axum::routing::{get, post};
use axum::{Json, Router};
use common::*;
use ddf_rbac::{AuthMethod, Principal};
use ddf_tower::{
    AuthFailure, AuthFuture, AuthLayer, AuthOutcome, Authenticate, Authenticated, BruteForceConfig,
    BruteForceGuard, ConfigError, Credential, CredentialConfig, CredentialKind, OutcomeFuture,
    Reason, RenderedBody, Require, RequirePermissionLayer, Responder, ResponderConfig,
};
use http::{HeaderValue, StatusCode};
use tower::ServiceExt;

ddf_tower::permission!(ManageUsers = "admin:users");

fn layer() -> AuthLayer {
    AuthLayer::builder()
        .bearer(FixedAuthenticator)
        .authorizer(policy)
        .build()
        .unwrap()
}

fn all_sources_layer() -> AuthLayer {
    AuthLayer::builder()
        .bearer(FixedAuthenticator)
        .api_key(FixedAuthenticator)
        .session(FixedAuthenticator)
        .authorizer(policy)
        .build()
        .unwrap()
}

#[derive(serde::Deserialize)]
struct Query {
    #[expect(dead_code, reason = "only deserialized")]
    prompt: String,
}

async fn whoami(principal: Option<Authenticated>) -> String {
    principal.map_or_else(
        || "anonymous".to_owned(),
        |Authenticated(principal)| principal.subject().to_owned(),
    )
}

fn app(layer: AuthLayer) -> Router {
    Router::new()
        .route("/v1/models", get(whoami).options(|| async { "preflight" }))
        .route(
            "/v1/query",
            post(
                |Authenticated(principal): Authenticated, Json(_query): Json<Query>| async move {
                    principal.subject().to_owned()
                },
            )
            .route_layer(RequirePermissionLayer::new("llm:query", policy)),
        )
        .route(
            "/v1/admin",
            get(|principal: Require<ManageUsers>| async move { principal.subject().to_owned() }),
        )
        .route(
            "/v1/headers",
            get(|request: AxumRequest| async move {
                let headers = request.headers();
                let forged: Vec<&str> = ["x-user-id", "x-forwarded-user", "x-auth-roles"]
                    .into_iter()
                    .filter(|name| headers.contains_key(*name))
                    .collect();
                let sensitive = headers
                    .get("authorization")
                    .is_some_and(HeaderValue::is_sensitive);
                format!("forged={forged:?} sensitive={sensitive}")
            }),
        )
        .layer(layer)
}

async fn send(app: &Router, request: http::Request<Body>) -> Collected {
    collect(app.clone().oneshot(request).await.unwrap()).await
}

/// Returns `Bearer <token>` with a static lifetime, so header lists can mix
/// literals and built values.
fn bearer(token: &str) -> &'static str {
    Box::leak(format!("Bearer {token}").into_boxed_str())
}

const BEARER_CHALLENGE: &str = "Bearer realm=\"api\"";
const INVALID_REQUEST: &str = "Bearer realm=\"api\", error=\"invalid_request\"";
const INVALID_TOKEN: &str = "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"The access token is invalid.\"";

fn fixture_name(reason: Reason) -> &'static str {
    if reason == Reason::TokenExpired {
        "invalid_token_expired"
    } else {
        reason.error_code()
    }
}

#[test]
fn default_bodies_match_fixtures_for_every_reason() {
    let responder = Responder::default();
    for reason in Reason::ALL {
        let expected = fixture(&format!("bodies/{}.json", fixture_name(reason)));
        assert_eq!(reason.json_body(), expected, "{reason}");
        let response = responder.respond(&AuthFailure::new(reason), false);
        assert_eq!(response.status(), reason.status(), "{reason}");
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(response.headers()["cache-control"], "no-store");
    }
}

#[tokio::test]
async fn every_reason_through_the_layer() {
    let app = app(layer());
    for reason in Reason::ALL {
        if reason == Reason::CredentialsMissing {
            continue;
        }
        let token = format!("fail-{}", reason.as_str());
        let response = send(&app, get_models(&[("authorization", bearer(&token))])).await;
        assert_eq!(response.status, reason.status(), "{reason}");
        assert_eq!(response.reason, Some(reason));
        let expected = fixture(&format!("bodies/{}.json", fixture_name(reason)));
        assert_eq!(response.body_text(), expected, "{reason}");
        assert!(!response.body_text().contains(&token));

        let challenges = response.header_all("www-authenticate");
        let expected_challenges: Vec<String> = match reason.status().as_u16() {
            400 => vec![INVALID_REQUEST.to_owned()],
            401 if reason == Reason::ApiKeyInvalid => vec!["ApiKey realm=\"api\"".to_owned()],
            401 if reason == Reason::SessionInvalid => vec![BEARER_CHALLENGE.to_owned()],
            401 => vec![format!(
                "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"{}\"",
                reason.description()
            )],
            403 => vec!["Bearer realm=\"api\", error=\"insufficient_scope\"".to_owned()],
            _ => Vec::new(),
        };
        assert_eq!(challenges, expected_challenges, "{reason}");

        let retry_after = response.header("retry-after");
        match reason.status().as_u16() {
            429 => assert_eq!(retry_after, Some("1"), "{reason}"),
            503 => assert_eq!(retry_after, Some("5"), "{reason}"),
            _ => assert_eq!(retry_after, None, "{reason}"),
        }
    }
}

#[tokio::test]
async fn h01_missing_credentials_challenge_has_no_error() {
    let response = send(&app(layer()), get_models(&[])).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.reason, Some(Reason::CredentialsMissing));
    assert_eq!(response.header_all("www-authenticate"), [BEARER_CHALLENGE]);
    assert_eq!(response.body_text(), fixture("bodies/unauthorized.json"));

    let response = send(&app(all_sources_layer()), get_models(&[])).await;
    assert_eq!(
        response.header_all("www-authenticate"),
        [BEARER_CHALLENGE, "ApiKey realm=\"api\""]
    );
}

#[tokio::test]
async fn h02_invalid_and_expired_tokens() {
    let app = app(layer());
    let response = send(
        &app,
        get_models(&[("authorization", "Bearer forged.token.x")]),
    )
    .await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.reason, Some(Reason::SignatureInvalid));
    assert_eq!(response.header("www-authenticate"), Some(INVALID_TOKEN));
    assert_eq!(response.body_text(), fixture("bodies/invalid_token.json"));

    let response = send(
        &app,
        get_models(&[("authorization", "Bearer fail-token_expired")]),
    )
    .await;
    assert_eq!(
        response.header("www-authenticate"),
        Some(
            "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"The access token has expired.\""
        )
    );
    assert_eq!(
        response.body_text(),
        fixture("bodies/invalid_token_expired.json")
    );
}

#[tokio::test]
async fn h03_insufficient_permission_is_403() {
    let app = app(all_sources_layer());
    let request = request(
        "POST",
        "/v1/query",
        &[
            ("x-api-key", GOOD_KEY),
            ("content-type", "application/json"),
        ],
    );
    let response = send(&app, request).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(response.reason, Some(Reason::PermissionDenied));
    assert_eq!(
        response.header("www-authenticate"),
        Some("Bearer realm=\"api\", error=\"insufficient_scope\"")
    );
    assert_eq!(
        response.body_text(),
        fixture("bodies/insufficient_scope.json")
    );
}

#[tokio::test]
async fn h03_scope_attribute_only_when_configured() {
    let mut config = ResponderConfig::default();
    config.include_scope = true;
    let responder = Responder::new(&config).unwrap();
    let layer = AuthLayer::builder()
        .api_key(FixedAuthenticator)
        .responder(responder)
        .build()
        .unwrap();
    let request = request("POST", "/v1/query", &[("x-api-key", GOOD_KEY)]);
    let response = send(&app(layer), request).await;
    assert_eq!(
        response.header("www-authenticate"),
        Some("Bearer realm=\"api\", error=\"insufficient_scope\", scope=\"llm:query\"")
    );
}

#[tokio::test]
async fn h04_malformed_authorization_headers() {
    let app = app(layer());
    for value in [
        "Bearer",
        "Bearer ",
        "Bearer a b",
        "Bearer a@b",
        "Bearerabc",
        "bearer ==",
    ] {
        let response = send(&app, get_models(&[("authorization", value)])).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{value:?}");
        assert_eq!(response.reason, Some(Reason::HeaderMalformed), "{value:?}");
        assert_eq!(
            response.header("www-authenticate"),
            Some(INVALID_REQUEST),
            "{value:?}"
        );
        assert_eq!(response.body_text(), fixture("bodies/invalid_request.json"));
    }
    for value in ["Basic dXNlcjpwYXNz", "Token abc"] {
        let response = send(&app, get_models(&[("authorization", value)])).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{value:?}");
        assert_eq!(
            response.reason,
            Some(Reason::CredentialsMissing),
            "{value:?}"
        );
        assert_eq!(response.header_all("www-authenticate"), [BEARER_CHALLENGE]);
    }
}

#[tokio::test]
async fn h05_scheme_case_and_spacing_accepted() {
    let app = app(layer());
    for value in ["bearer ", "BEARER ", "Bearer   ", "bEaReR "] {
        let header = format!("{value}{GOOD_TOKEN}");
        let response = send(&app, get_models(&[("authorization", header.as_str())])).await;
        assert_eq!(response.status, StatusCode::OK, "{header:?}");
        assert_eq!(response.body_text(), "user-0001");
    }
}

#[tokio::test]
async fn authorization_header_corpus_cases() {
    let cases: serde_json::Value =
        serde_json::from_str(&fixture("authorization_header_cases.json")).unwrap();
    let tokens = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&tokens);
    let recorder = ddf_tower::authenticate_fn(move |credential: Credential<'_>| {
        if let Credential::Bearer(token) = credential {
            seen.lock().unwrap().push(token.to_owned());
        }
        Ok(Principal::new("corpus", AuthMethod::Jwt))
    });
    let app = app(AuthLayer::builder().bearer(recorder).build().unwrap());
    for case in cases["cases"].as_array().unwrap() {
        let id = case["id"].as_str().unwrap();
        let header = case["authorization_header"].as_str().unwrap();
        let response = send(&app, get_models(&[("authorization", header)])).await;
        let expected = match id {
            "B01" | "B02" => None,
            "B03" | "B06" => Some(Reason::HeaderMalformed),
            "B05" => Some(Reason::CredentialsMissing),
            other => panic!("unexpected case {other}"),
        };
        assert_eq!(case["expect"] == "accept", expected.is_none(), "{id}");
        assert_eq!(response.reason, expected, "{id}");
        if expected.is_none() {
            assert_eq!(response.status, StatusCode::OK, "{id}");
            let extracted = tokens.lock().unwrap().pop().unwrap();
            assert_eq!(extracted, case["extracted_token"].as_str().unwrap(), "{id}");
        }
    }
}

#[tokio::test]
async fn h06_duplicate_and_misplaced_credentials() {
    let app = app(all_sources_layer());
    let good = bearer(GOOD_TOKEN);
    let cases: Vec<(&str, http::Request<Body>)> = vec![
        (
            "two authorization headers",
            get_models(&[("authorization", good), ("authorization", good)]),
        ),
        (
            "header and query token",
            request(
                "GET",
                "/v1/models?access_token=abc",
                &[("authorization", good)],
            ),
        ),
        (
            "query token alone",
            request("GET", "/v1/models?access_token=abc", &[]),
        ),
        (
            "two api keys",
            get_models(&[("x-api-key", GOOD_KEY), ("x-api-key", GOOD_KEY)]),
        ),
        (
            "bearer and api key",
            get_models(&[("authorization", good), ("x-api-key", GOOD_KEY)]),
        ),
        (
            "api key and session",
            get_models(&[
                ("x-api-key", GOOD_KEY),
                ("cookie", "ddf_session=session-good-0001"),
            ]),
        ),
        (
            "two session cookies",
            get_models(&[("cookie", "ddf_session=a; ddf_session=b")]),
        ),
    ];
    for (name, request) in cases {
        let response = send(&app, request).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{name}");
        assert_eq!(
            response.reason,
            Some(Reason::CredentialsAmbiguous),
            "{name}"
        );
        assert_eq!(
            response.header("www-authenticate"),
            Some(INVALID_REQUEST),
            "{name}"
        );
    }
}

#[tokio::test]
async fn h07_non_ascii_header_bytes_are_400() {
    let app = app(all_sources_layer());
    for (name, value) in [
        ("authorization", &b"Bearer abc\x80def"[..]),
        ("authorization", b"Bearer \xff\xfe"),
        ("x-api-key", b"0123456789abcdef\xe9123456789abcdef"),
    ] {
        let mut request = get_models(&[]);
        request
            .headers_mut()
            .insert(name, HeaderValue::from_bytes(value).unwrap());
        let response = send(&app, request).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{name}");
        assert_eq!(response.reason, Some(Reason::HeaderMalformed), "{name}");
    }
}

/// Counts calls, so tests can prove the authenticator was not reached.
#[derive(Debug, Clone, Default)]
struct Counting(Arc<AtomicUsize>);

impl Authenticate for Counting {
    fn authenticate<'a>(&'a self, credential: Credential<'a>) -> AuthFuture<'a> {
        self.0.fetch_add(1, Ordering::SeqCst);
        FixedAuthenticator.authenticate(credential)
    }
}

#[tokio::test]
async fn oversized_headers_rejected_before_parsing() {
    let calls = Counting::default();
    let mut config = CredentialConfig::default();
    config.max_header_bytes = 8 * 1024;
    let layer = AuthLayer::builder()
        .bearer(calls.clone())
        .api_key(calls.clone())
        .credentials(config)
        .build()
        .unwrap();
    let app = app(layer);
    let big_token = format!("Bearer {}", "a".repeat(8 * 1024));
    let big_key = "k".repeat(8 * 1024 + 1);
    for request in [
        get_models(&[("authorization", big_token.as_str())]),
        get_models(&[("x-api-key", big_key.as_str())]),
    ] {
        let response = send(&app, request).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST);
        assert_eq!(response.reason, Some(Reason::HeaderMalformed));
    }
    assert_eq!(calls.0.load(Ordering::SeqCst), 0);

    // One byte under the cap reaches the authenticator.
    let fits = format!("Bearer {}", "a".repeat(8 * 1024 - 7));
    let response = send(&app, get_models(&[("authorization", fits.as_str())])).await;
    assert_eq!(response.reason, Some(Reason::SignatureInvalid));
    assert_eq!(calls.0.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn h09_outages_are_503_and_never_count() {
    let mut config = BruteForceConfig::default();
    config.block_secs = 60;
    let guard = BruteForceGuard::new(&config).unwrap();
    let layer = AuthLayer::builder()
        .bearer(FixedAuthenticator)
        .brute_force(guard.clone())
        .build()
        .unwrap();
    let app = app(layer);
    for reason in [
        "jwks_unavailable",
        "session_store_unavailable",
        "internal_error",
    ] {
        for _ in 0..15 {
            let token = bearer(&format!("fail-{reason}"));
            let response = send(&app, get_models(&[("authorization", token)])).await;
            assert!(response.status.is_server_error(), "{reason}");
        }
    }
    assert_eq!(guard.alerts_raised(), 0);
    assert_eq!(guard.client_failures("ip:unknown"), 0);
    let response = send(&app, get_models(&[("authorization", bearer(GOOD_TOKEN))])).await;
    assert_eq!(response.status, StatusCode::OK);
}

#[tokio::test]
async fn h10_panicking_authenticator_gives_500() {
    let app = app(layer());
    let response = send(&app, get_models(&[("authorization", "Bearer panic")])).await;
    assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.reason, Some(Reason::InternalError));
    assert_eq!(response.body_text(), fixture("bodies/internal_error.json"));
    assert_eq!(response.header("www-authenticate"), None);

    let response = send(&app, get_models(&[("authorization", bearer(GOOD_TOKEN))])).await;
    assert_eq!(response.status, StatusCode::OK);
}

#[tokio::test]
async fn h11_identity_headers_are_stripped() {
    let app = app(layer());
    let request = request(
        "GET",
        "/v1/headers",
        &[
            ("authorization", bearer(GOOD_TOKEN)),
            ("x-user-id", "admin"),
            ("x-forwarded-user", "admin"),
            ("x-auth-roles", "admin"),
        ],
    );
    let response = send(&app, request).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body_text(), "forged=[] sensitive=true");
}

#[tokio::test]
async fn h11_earlier_principal_extension_is_replaced() {
    let app = app(layer().clone());
    let mut request = get_models(&[("authorization", "Bearer forged")]);
    request
        .extensions_mut()
        .insert(Principal::new("admin", AuthMethod::Jwt).with_roles(["admin"]));
    let response = send(&app, request).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn h12_unauthorized_post_never_reads_the_body() {
    let app = app(all_sources_layer());
    let invalid_json = || Body::from("{not json");

    let mut anonymous = request("POST", "/v1/query", &[("content-type", "application/json")]);
    *anonymous.body_mut() = invalid_json();
    assert_eq!(send(&app, anonymous).await.status, StatusCode::UNAUTHORIZED);

    let mut lacking = request(
        "POST",
        "/v1/query",
        &[
            ("content-type", "application/json"),
            ("x-api-key", GOOD_KEY),
        ],
    );
    *lacking.body_mut() = invalid_json();
    assert_eq!(send(&app, lacking).await.status, StatusCode::FORBIDDEN);

    // The same body with the permission reaches the JSON extractor.
    let mut allowed = request(
        "POST",
        "/v1/query",
        &[
            ("content-type", "application/json"),
            ("authorization", bearer(GOOD_TOKEN)),
        ],
    );
    *allowed.body_mut() = invalid_json();
    assert_eq!(send(&app, allowed).await.status, StatusCode::BAD_REQUEST);

    let mut valid = request(
        "POST",
        "/v1/query",
        &[
            ("content-type", "application/json"),
            ("authorization", bearer(GOOD_TOKEN)),
        ],
    );
    *valid.body_mut() = Body::from(r#"{"prompt":"hi"}"#);
    let response = send(&app, valid).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body_text(), "user-0001");
}

#[tokio::test]
async fn h13_cors_preflight_bypass_is_opt_in() {
    let preflight = || {
        request(
            "OPTIONS",
            "/v1/models",
            &[
                ("origin", "https://app.example.test"),
                ("access-control-request-method", "GET"),
            ],
        )
    };
    let response = send(&app(layer()), preflight()).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);

    let bypass = AuthLayer::builder()
        .bearer(FixedAuthenticator)
        .allow_cors_preflight(true)
        .build()
        .unwrap();
    let app = app(bypass);
    let response = send(&app, preflight()).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body_text(), "preflight");

    let plain = request(
        "OPTIONS",
        "/v1/models",
        &[("origin", "https://app.example.test")],
    );
    assert_eq!(send(&app, plain).await.status, StatusCode::UNAUTHORIZED);
    let get_with_origin = get_models(&[
        ("origin", "https://app.example.test"),
        ("access-control-request-method", "GET"),
    ]);
    assert_eq!(
        send(&app, get_with_origin).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn h14_credential_headers_are_marked_sensitive() {
    let response = send(
        &app(layer()),
        request(
            "GET",
            "/v1/headers",
            &[("authorization", bearer(GOOD_TOKEN))],
        ),
    )
    .await;
    assert_eq!(response.body_text(), "forged=[] sensitive=true");
}

#[tokio::test]
async fn optional_authentication() {
    let layer = AuthLayer::builder()
        .bearer(FixedAuthenticator)
        .optional(true)
        .build()
        .unwrap();
    let app = app(layer);
    let response = send(&app, get_models(&[])).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body_text(), "anonymous");

    let response = send(&app, get_models(&[("authorization", "Bearer forged")])).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.reason, Some(Reason::SignatureInvalid));

    let response = send(&app, get_models(&[("authorization", "Bearer")])).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);

    // Anonymous callers still meet the permission layer.
    let response = send(&app, request("POST", "/v1/query", &[])).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.reason, Some(Reason::CredentialsMissing));
}

#[tokio::test]
async fn api_key_and_session_principals() {
    let app = app(all_sources_layer());
    let response = send(&app, get_models(&[("x-api-key", GOOD_KEY)])).await;
    assert_eq!(response.body_text(), "svc-indexer");
    let cookie = format!("theme=dark; ddf_session={GOOD_SESSION}");
    let response = send(&app, get_models(&[("cookie", cookie.as_str())])).await;
    assert_eq!(response.body_text(), "user-0002");
}

#[tokio::test]
async fn invalid_api_key_and_session_challenges() {
    let app = app(all_sources_layer());
    let response = send(
        &app,
        get_models(&[("x-api-key", "ffffffffffffffffffffffffffffffff")]),
    )
    .await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.header_all("www-authenticate"),
        ["ApiKey realm=\"api\""]
    );
    assert_eq!(response.body_text(), fixture("bodies/invalid_api_key.json"));

    let response = send(&app, get_models(&[("cookie", "ddf_session=stale")])).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.header_all("www-authenticate"),
        [BEARER_CHALLENGE, "ApiKey realm=\"api\""]
    );
    assert_eq!(
        response.header("set-cookie"),
        Some("ddf_session=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Strict")
    );
    assert_eq!(response.body_text(), fixture("bodies/invalid_session.json"));
}

#[tokio::test]
async fn require_extractor_checks_the_permission() {
    let app = app(all_sources_layer());
    let admin_cookie = format!("ddf_session={GOOD_SESSION}");
    let response = send(
        &app,
        request("GET", "/v1/admin", &[("cookie", admin_cookie.as_str())]),
    )
    .await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body_text(), "user-0002");

    let response = send(
        &app,
        request("GET", "/v1/admin", &[("authorization", bearer(GOOD_TOKEN))]),
    )
    .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(response.reason, Some(Reason::PermissionDenied));
    assert_eq!(
        response.body_text(),
        fixture("bodies/insufficient_scope.json")
    );
}

#[tokio::test]
async fn require_extractor_without_authorizer_fails_closed() {
    let layer = AuthLayer::builder()
        .bearer(FixedAuthenticator)
        .build()
        .unwrap();
    let response = send(
        &app(layer),
        request("GET", "/v1/admin", &[("authorization", bearer(GOOD_TOKEN))]),
    )
    .await;
    assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.reason, Some(Reason::InternalError));
}

#[tokio::test]
async fn extractors_without_the_layer() {
    let app =
        Router::new()
            .route(
                "/required",
                get(|Authenticated(principal): Authenticated| async move {
                    principal.subject().to_owned()
                }),
            )
            .route("/optional", get(whoami));
    let response = send(&app, request("GET", "/required", &[])).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.header_all("www-authenticate"), [BEARER_CHALLENGE]);
    assert_eq!(response.body_text(), fixture("bodies/unauthorized.json"));
    let response = send(&app, request("GET", "/optional", &[])).await;
    assert_eq!(response.body_text(), "anonymous");
}

#[tokio::test]
async fn blocked_client_gets_429_before_authentication() {
    let mut config = BruteForceConfig::default();
    config.block_secs = 120;
    let guard = BruteForceGuard::new(&config).unwrap();
    let calls = Counting::default();
    let layer = AuthLayer::builder()
        .bearer(calls.clone())
        .brute_force(guard.clone())
        .build()
        .unwrap();
    let app = app(layer);
    let peer = std::net::SocketAddr::from(([198, 51, 100, 20], 40_000));
    let with_peer = |token: &str| {
        let mut request = get_models(&[("authorization", bearer(token))]);
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        request
    };
    for _ in 0..11 {
        let response = send(&app, with_peer("forged")).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(guard.alerts_raised(), 1);
    assert_eq!(calls.0.load(Ordering::SeqCst), 11);

    let response = send(&app, with_peer(GOOD_TOKEN)).await;
    assert_eq!(response.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.reason, Some(Reason::RateLimited));
    assert_eq!(response.header("retry-after"), Some("120"));
    assert_eq!(response.body_text(), fixture("bodies/rate_limited.json"));
    assert_eq!(calls.0.load(Ordering::SeqCst), 11);

    // Another address is unaffected.
    let response = send(&app, get_models(&[("authorization", bearer(GOOD_TOKEN))])).await;
    assert_eq!(response.status, StatusCode::OK);
}

#[tokio::test]
async fn custom_renderer_keeps_status_and_challenge() {
    let responder = Responder::default().with_renderer(|failure: &AuthFailure| RenderedBody {
        content_type: HeaderValue::from_static("text/plain"),
        body: format!("denied: {}", failure.reason().error_code()).into(),
    });
    let layer = AuthLayer::builder()
        .bearer(FixedAuthenticator)
        .responder(responder)
        .build()
        .unwrap();
    let app = app(layer);
    let response = send(&app, get_models(&[("authorization", "Bearer forged")])).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.header("content-type"), Some("text/plain"));
    assert_eq!(response.header("www-authenticate"), Some(INVALID_TOKEN));
    assert_eq!(response.body_text(), "denied: invalid_token");

    // The permission layer renders with the same responder.
    let response = send(&app, request("POST", "/v1/query", &[])).await;
    assert_eq!(response.body_text(), "denied: unauthorized");
}

#[test]
fn configuration_errors() {
    let mut config = CredentialConfig::default();
    config.sources = Some(vec![CredentialKind::Bearer, CredentialKind::ApiKey]);
    let error = AuthLayer::builder()
        .bearer(FixedAuthenticator)
        .credentials(config)
        .build()
        .unwrap_err();
    assert_eq!(
        error,
        ConfigError::MissingAuthenticator {
            source_name: "api_key"
        }
    );
    assert_eq!(
        error.to_string(),
        "credential source `api_key` is enabled but has no authenticator; set one or remove the source"
    );
    assert_eq!(
        AuthLayer::builder().build().unwrap_err(),
        ConfigError::NoCredentialSource
    );
}

#[test]
fn credential_config_deserializes() {
    let config: CredentialConfig = serde_json::from_str(
        r#"{"sources":["api_key","bearer"],"session_cookie":"sid","max_header_bytes":4096}"#,
    )
    .unwrap();
    assert_eq!(
        config.sources,
        Some(vec![CredentialKind::ApiKey, CredentialKind::Bearer])
    );
    assert_eq!(config.api_key_header, "x-api-key");
    assert_eq!(config.session_cookie, "sid");
    let unknown = serde_json::from_str::<CredentialConfig>(r#"{"cookie":"x"}"#);
    assert!(unknown.unwrap_err().to_string().contains("unknown field"));
}

/// Accepts `GOOD_TOKEN` and adds an `x-auth-path` response header.
///
/// With `wait` set it returns its result only asynchronously, after
/// yielding to the runtime once as a store lookup does. Without it,
/// `authenticate_now` returns the result.
struct HeaderAuthenticator {
    wait: bool,
}

fn header_outcome(
    credential: &Credential<'_>,
    path: &'static str,
) -> Result<AuthOutcome, AuthFailure> {
    if *credential != Credential::Bearer(GOOD_TOKEN) {
        return Err(AuthFailure::new(Reason::SignatureInvalid));
    }
    let mut headers = http::HeaderMap::new();
    headers.insert("x-auth-path", HeaderValue::from_static(path));
    Ok(
        AuthOutcome::new(Principal::new("user-0001", AuthMethod::Jwt))
            .with_response_headers(headers),
    )
}

impl Authenticate for HeaderAuthenticator {
    fn authenticate<'a>(&'a self, credential: Credential<'a>) -> AuthFuture<'a> {
        Box::pin(async move {
            Err(match credential {
                Credential::Bearer(_) => AuthFailure::new(Reason::InternalError),
                _ => AuthFailure::new(Reason::CredentialsMissing),
            })
        })
    }

    fn authenticate_outcome<'a>(&'a self, credential: Credential<'a>) -> OutcomeFuture<'a> {
        OutcomeFuture::outcome(async move {
            tokio::task::yield_now().await;
            header_outcome(&credential, "waited")
        })
    }

    fn authenticate_now(
        &self,
        credential: Credential<'_>,
    ) -> Option<Result<AuthOutcome, AuthFailure>> {
        (!self.wait).then(|| header_outcome(&credential, "at-once"))
    }
}

#[tokio::test]
async fn admission_at_once_and_after_waiting() {
    for (wait, path) in [(false, "at-once"), (true, "waited")] {
        let layer = AuthLayer::builder()
            .bearer(HeaderAuthenticator { wait })
            .build()
            .unwrap();
        let app = app(layer);

        let good = send(&app, get_models(&[("authorization", bearer(GOOD_TOKEN))])).await;
        assert_eq!(good.status, StatusCode::OK, "{path}");
        assert_eq!(good.body_text(), "user-0001", "{path}");
        assert_eq!(good.header("x-auth-path"), Some(path));

        let bad = send(&app, get_models(&[("authorization", bearer("other"))])).await;
        assert_eq!(bad.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(bad.reason, Some(Reason::SignatureInvalid), "{path}");
        assert_eq!(bad.header("x-auth-path"), None, "{path}");
    }
}
