//! A whole axum request in-process (tower `oneshot`, no sockets), with the
//! same bearer token and key for every stack:
//!
//! - `bare`: axum 0.8, the handler alone, no authentication.
//! - `ddf_tower_cold` / `ddf_tower_cached`: axum 0.8 with ddf-tower's
//!   `AuthLayer` around a `ddf_jwt::Validator` (Keycloak profile), the
//!   verified-token cache off and on. This is the layer a service adds.
//! - `ddf_tower_full_cached`: the same, plus a per-principal
//!   `RateLimitLayer` whose budget never runs out and a
//!   `RequirePermissionLayer` checking `llm:query` against the reference
//!   policy: the stack of the example gateway. The peers have no equivalent
//!   of the last two layers.
//! - `ddf_tower_full_extractor_cached`: the same checks with the permission
//!   taken by the `Require<LlmQuery>` extractor (policy set with
//!   `AuthLayerBuilder::authorizer`) instead of a `route_layer`.
//! - `jwt_authorizer_0_15`: axum 0.7 with jwt-authorizer's layer (jsonwebtoken
//!   9 on ring), keys given as JWKS text (HS256: the shared secret).
//! - `axum_keycloak_auth_0_8`: axum 0.8 with `KeycloakAuthLayer` (jsonwebtoken
//!   9 on ring). It can only get keys by OIDC discovery, so the bench serves
//!   the discovery document and the JWKS itself on 127.0.0.1.
//!
//! ```sh
//! cargo bench -p ddf-bench-peers --bench request_peers -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Every protected handler reads the subject its layer stored, and every
//! iteration builds the same request and checks for status 200.

#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented public function"
)]

use std::hint::black_box;
use std::time::Duration;

use axum::extract::Request;
use axum::routing::get;
use axum::{Extension, Json, Router};
use axum_keycloak_auth::decode::KeycloakToken;
use axum_keycloak_auth::instance::{KeycloakAuthInstance, KeycloakConfig};
use axum_keycloak_auth::layer::KeycloakAuthLayer;
use axum_keycloak_auth::{PassthroughMode, Url};
use criterion::{Criterion, criterion_group, criterion_main};
use ddf_bench_peers::{AUDIENCE, Alg, Fixtures, ISSUER, PublicKey, TokenCase, unix_now};
use ddf_jwt::{Algorithm, IssuerConfig, KeySet, Profile, StaticKeySource, Validator};
use ddf_rbac::Policy;
use ddf_tower::{
    AuthLayer, Authenticated, MemoryRateLimiter, RateLimitConfig, RateLimitLayer, Require,
    RequirePermissionLayer,
};
use http::{StatusCode, header};
use jwt_authorizer::{AuthorizerBuilder, IntoLayer as _, JwtClaims, RegisteredClaims};
use serde_json::{Value, json};
use tokio::runtime::Runtime;
use tower::ServiceExt as _;

const PATH: &str = "/v1/models";

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("Tokio runtime")
}

fn ddf_algorithm(alg: Alg) -> Algorithm {
    match alg {
        Alg::Rs256 => Algorithm::RS256,
        Alg::Ps256 => Algorithm::PS256,
        Alg::Es256 => Algorithm::ES256,
        Alg::EdDsa => Algorithm::EdDSA,
        Alg::Hs256 => Algorithm::HS256,
    }
}

fn jsonwebtoken9_algorithm(alg: Alg) -> jsonwebtoken9::Algorithm {
    match alg {
        Alg::Rs256 => jsonwebtoken9::Algorithm::RS256,
        Alg::Ps256 => jsonwebtoken9::Algorithm::PS256,
        Alg::Es256 => jsonwebtoken9::Algorithm::ES256,
        Alg::EdDsa => jsonwebtoken9::Algorithm::EdDSA,
        Alg::Hs256 => jsonwebtoken9::Algorithm::HS256,
    }
}

// ---- bare handler and the ddf-tower stack (axum 0.8) ----

async fn bare_handler() -> &'static str {
    "ok"
}

async fn ddf_handler(Authenticated(principal): Authenticated) -> &'static str {
    black_box(principal.subject());
    "ok"
}

ddf_tower::permission!(LlmQuery = "llm:query");

async fn ddf_require_handler(principal: Require<LlmQuery>) -> &'static str {
    black_box(principal.subject());
    "ok"
}

/// The layers of the ddf-tower stack around the handler.
#[derive(Clone, Copy)]
enum DdfStack {
    /// `AuthLayer` only: what each peer's layer does.
    Auth,
    /// `AuthLayer`, `RateLimitLayer` and `RequirePermissionLayer`.
    Full,
    /// `AuthLayer` with the policy as its authorizer, `RateLimitLayer` and
    /// the `Require` extractor.
    FullExtractor,
}

fn ddf_router(case: &TokenCase, cache_capacity: u64, stack: DdfStack) -> Router {
    let keys = match &case.key {
        PublicKey::Secret(secret) => KeySet::builder()
            .hmac_secret(Some(case.alg.kid()), secret, &[Algorithm::HS256])
            .expect("HMAC secret is long enough")
            .build(),
        _ => {
            KeySet::from_jwks_json(case.jwks_json())
                .expect("JWKS parses")
                .0
        }
    };
    let validator = Validator::builder()
        .issuer(
            IssuerConfig::new(ISSUER, StaticKeySource::new(keys))
                .audience(AUDIENCE)
                .profile(Profile::Keycloak)
                .algorithms([ddf_algorithm(case.alg)]),
        )
        .cache_capacity(cache_capacity)
        .build()
        .expect("validator configuration is valid");
    let mut auth = AuthLayer::builder().bearer(validator);
    if matches!(stack, DdfStack::FullExtractor) {
        auth = auth.authorizer(Policy::reference());
    }
    let auth = auth.build().expect("one authenticator is configured");
    let quota = RateLimitConfig::new(1_000_000_000, Duration::from_secs(1));
    let limit = RateLimitLayer::new(MemoryRateLimiter::new(quota).expect("quota is valid"));
    match stack {
        DdfStack::Auth => Router::new().route(PATH, get(ddf_handler)).layer(auth),
        DdfStack::Full => {
            let route = get(ddf_handler).route_layer(RequirePermissionLayer::new(
                "llm:query",
                Policy::reference(),
            ));
            Router::new().route(PATH, route).layer(limit).layer(auth)
        }
        DdfStack::FullExtractor => Router::new()
            .route(PATH, get(ddf_require_handler))
            .layer(limit)
            .layer(auth),
    }
}

// ---- jwt-authorizer (axum 0.7) ----

async fn jwt_authorizer_handler(JwtClaims(claims): JwtClaims<RegisteredClaims>) -> &'static str {
    black_box(claims.sub);
    "ok"
}

async fn jwt_authorizer_router(case: &TokenCase) -> axum07::Router {
    let builder = match &case.key {
        PublicKey::Secret(secret) => AuthorizerBuilder::<RegisteredClaims>::from_secret(
            std::str::from_utf8(secret).expect("the bench secret is printable"),
        ),
        _ => AuthorizerBuilder::<RegisteredClaims>::from_jwks_text(&case.jwks_json()),
    };
    let authorizer = builder
        .validation(
            jwt_authorizer::Validation::new()
                .iss(&[ISSUER])
                .aud(&[AUDIENCE])
                .nbf(true)
                .algs(vec![jsonwebtoken9_algorithm(case.alg)]),
        )
        .build()
        .await
        .expect("jwt-authorizer builds");
    axum07::Router::new()
        .route(PATH, axum07::routing::get(jwt_authorizer_handler))
        .layer(authorizer.into_layer())
}

// ---- axum-keycloak-auth (axum 0.8), keys by discovery from 127.0.0.1 ----

async fn keycloak_handler(Extension(token): Extension<KeycloakToken<String>>) -> &'static str {
    black_box(token.subject);
    "ok"
}

/// Serves `/realms/{alg}/.well-known/openid-configuration` and
/// `/realms/{alg}/certs` for every case on 127.0.0.1 and returns the base URL.
async fn serve_discovery(fixtures: &Fixtures) -> Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let base = format!(
        "http://{}/",
        listener.local_addr().expect("listener has an address")
    );
    let mut app = Router::new();
    for case in &fixtures.cases {
        let realm = format!("{base}realms/{}", case.alg);
        let discovery = json!({
            "issuer": ISSUER,
            "authorization_endpoint": format!("{realm}/protocol/openid-connect/auth"),
            "token_endpoint": format!("{realm}/protocol/openid-connect/token"),
            "jwks_uri": format!("{realm}/certs"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [case.alg.as_str()],
        });
        let jwks: Value = json!({ "keys": [case.jwk] });
        app = app
            .route(
                &format!("/realms/{}/.well-known/openid-configuration", case.alg),
                get(move || async move { Json(discovery) }),
            )
            .route(
                &format!("/realms/{}/certs", case.alg),
                get(move || async move { Json(jwks) }),
            );
    }
    tokio::spawn(async move {
        axum::serve(listener, app)
            .await
            .expect("discovery server runs");
    });
    Url::parse(&base).expect("base URL parses")
}

async fn keycloak_router(server: &Url, case: &TokenCase) -> Router {
    let instance = KeycloakAuthInstance::new(
        KeycloakConfig::builder()
            .server(server.clone())
            .realm(case.alg.as_str().to_owned())
            .retry((1, 1))
            .build(),
    );
    // Discovery runs in a spawned task; wait for it, at most 5 seconds.
    let mut waited = 0;
    while !instance.is_operational().await {
        assert!(
            waited < 500,
            "axum-keycloak-auth did not discover the {} keys",
            case.alg
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        waited += 1;
    }
    Router::new().route(PATH, get(keycloak_handler)).layer(
        KeycloakAuthLayer::<String>::builder()
            .instance(instance)
            .passthrough_mode(PassthroughMode::Block)
            .persist_raw_claims(false)
            .expected_audiences(vec![AUDIENCE.to_owned()])
            .build(),
    )
}

// ---- driving the routers ----

fn request08(bearer: &str) -> Request {
    http::Request::builder()
        .uri(PATH)
        .header(header::AUTHORIZATION, bearer)
        .body(axum::body::Body::empty())
        .expect("request builds")
}

fn request07(bearer: &str) -> http::Request<axum07::body::Body> {
    http::Request::builder()
        .uri(PATH)
        .header(header::AUTHORIZATION, bearer)
        .body(axum07::body::Body::empty())
        .expect("request builds")
}

fn call08(runtime: &Runtime, router: &Router, bearer: &str) -> StatusCode {
    runtime
        .block_on(router.clone().oneshot(request08(bearer)))
        .expect("axum routers are infallible")
        .status()
}

fn call07(runtime: &Runtime, router: &axum07::Router, bearer: &str) -> StatusCode {
    runtime
        .block_on(router.clone().oneshot(request07(bearer)))
        .expect("axum routers are infallible")
        .status()
}

fn bench(c: &mut Criterion) {
    let runtime = runtime();
    let fixtures = Fixtures::generate(unix_now());
    let server = runtime.block_on(serve_discovery(&fixtures));

    let bare = Router::new().route(PATH, get(bare_handler));
    let bearer = format!("Bearer {}", fixtures.case(Alg::Rs256).token);
    assert_eq!(call08(&runtime, &bare, &bearer), StatusCode::OK);
    c.bench_function("request/bare", |b| {
        b.iter(|| call08(&runtime, &bare, black_box(&bearer)));
    });

    for case in &fixtures.cases {
        let bearer = format!("Bearer {}", case.token);
        let cold = ddf_router(case, 0, DdfStack::Auth);
        let cached = ddf_router(case, 10_000, DdfStack::Auth);
        let full = ddf_router(case, 10_000, DdfStack::Full);
        let extractor = ddf_router(case, 10_000, DdfStack::FullExtractor);
        let authorizer = runtime.block_on(jwt_authorizer_router(case));
        let keycloak = runtime.block_on(keycloak_router(&server, case));
        assert_eq!(call08(&runtime, &cold, &bearer), StatusCode::OK);
        assert_eq!(call08(&runtime, &cached, &bearer), StatusCode::OK);
        assert_eq!(call08(&runtime, &full, &bearer), StatusCode::OK);
        assert_eq!(call08(&runtime, &extractor, &bearer), StatusCode::OK);
        assert_eq!(call07(&runtime, &authorizer, &bearer), StatusCode::OK);
        assert_eq!(call08(&runtime, &keycloak, &bearer), StatusCode::OK);
        // A wrong signature must be rejected by every stack.
        let tampered = format!("{}AAAA", &bearer[..bearer.len() - 4]);
        assert_eq!(call08(&runtime, &cold, &tampered), StatusCode::UNAUTHORIZED);
        assert_eq!(
            call07(&runtime, &authorizer, &tampered),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            call08(&runtime, &keycloak, &tampered),
            StatusCode::UNAUTHORIZED
        );

        let mut group = c.benchmark_group(format!("request/{}", case.alg));
        group.bench_function("ddf_tower_cold", |b| {
            b.iter(|| call08(&runtime, &cold, black_box(&bearer)));
        });
        group.bench_function("ddf_tower_cached", |b| {
            b.iter(|| call08(&runtime, &cached, black_box(&bearer)));
        });
        group.bench_function("ddf_tower_full_cached", |b| {
            b.iter(|| call08(&runtime, &full, black_box(&bearer)));
        });
        group.bench_function("ddf_tower_full_extractor_cached", |b| {
            b.iter(|| call08(&runtime, &extractor, black_box(&bearer)));
        });
        group.bench_function("jwt_authorizer_0_15", |b| {
            b.iter(|| call07(&runtime, &authorizer, black_box(&bearer)));
        });
        group.bench_function("axum_keycloak_auth_0_8", |b| {
            b.iter(|| call08(&runtime, &keycloak, black_box(&bearer)));
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
