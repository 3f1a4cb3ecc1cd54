//! The adapters with the real credential crates: a `ddf_jwt::Validator` with
//! keys from a `ddf_jwt::issue` keyring, an `ApiKeyVerifier` over real
//! stores, a `SessionManager` over the memory store and Redis, and the
//! reference `Policy`, behind a real axum router.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, put};
use common::{Collected, collect, fixture, request};
use ddf_apikey::{ApiKeyVerifier, KeyStore, MemoryKeyStore, RedisKeyStore, RedisKeyStoreConfig};
use ddf_jwt::issue::{
    KeySchedule, Keyring, RotationSettings, SigningAlgorithm, SigningKey, TokenIssuer, TokenPolicy,
};
use ddf_jwt::{
    Algorithm, ErrorKind, IssuerConfig, JwtError, KeySet, KeySetFuture, KeySource, StaticKeySource,
    Validator,
};
use ddf_rbac::{AuthMethod, Clock, ManualClock, Policy, Principal};
use ddf_session::{
    MemoryStore, RedisStore, RedisStoreConfig, SessionConfig, SessionErrorKind, SessionId,
    SessionKey, SessionKeys, SessionManager,
};
use ddf_tower::adapters::{jwt_reason, session_reason};
use ddf_tower::{
    AuthLayer, Authenticated, Authorize, BruteForceConfig, BruteForceGuard, Reason,
    RequirePermissionLayer, SessionAuthenticator, SessionCookie, SessionCookieConfig,
};
use tower::ServiceExt;

const ISSUER: &str = "https://idp.adapters.test/realms/llm";
const AUDIENCE: &str = "llm-gateway";
const NOW: u64 = 1_800_000_000;

async fn whoami(Authenticated(principal): Authenticated) -> String {
    format!(
        "{} {} {}",
        principal.subject(),
        principal.method().as_str(),
        principal.roles().join(",")
    )
}

/// `/v1/query` needs `llm:query`, `/admin/config` needs `config:write`.
fn app(layer: AuthLayer) -> Router {
    let policy = Policy::reference();
    Router::new()
        .route(
            "/v1/query",
            get(whoami).route_layer(RequirePermissionLayer::new("llm:query", policy.clone())),
        )
        .route(
            "/admin/config",
            put(whoami).route_layer(RequirePermissionLayer::new("config:write", policy)),
        )
        .layer(layer)
}

async fn send(app: &Router, method: &str, uri: &str, headers: &[(&str, &str)]) -> Collected {
    let response = app
        .clone()
        .oneshot(request(method, uri, headers))
        .await
        .unwrap();
    collect(response).await
}

struct Idp {
    issuer: TokenIssuer,
    jwks: String,
}

fn new_idp(clock: &ManualClock, kid: &str) -> Idp {
    let keyring = Arc::new(Keyring::new(
        RotationSettings::default(),
        Arc::new(clock.clone()),
    ));
    keyring
        .insert(
            kid,
            SigningKey::generate(SigningAlgorithm::EdDSA).unwrap(),
            KeySchedule::active_from(NOW - 60),
        )
        .unwrap();
    let jwks = keyring.public_jwks().to_value().to_string();
    let issuer =
        TokenIssuer::new(keyring, TokenPolicy::new(ISSUER).with_audience(AUDIENCE)).unwrap();
    Idp { issuer, jwks }
}

fn token(idp: &Idp, subject: &str, roles: &[&str]) -> String {
    idp.issuer
        .token(subject)
        .claims(&serde_json::json!({ "roles": roles }))
        .unwrap()
        .sign()
        .unwrap()
        .into_string()
}

fn validator(jwks: &str, clock: &ManualClock) -> Validator {
    let (keys, _) = StaticKeySource::from_jwks_json(jwks).unwrap();
    Validator::builder()
        .issuer(
            IssuerConfig::new(ISSUER, keys)
                .audience(AUDIENCE)
                .algorithms([Algorithm::EdDSA]),
        )
        .clock(clock.clone())
        .build()
        .unwrap()
}

fn guard(max_failures: u32) -> BruteForceGuard {
    let mut config = BruteForceConfig::default();
    config.max_failures = max_failures;
    config.block_secs = 60;
    BruteForceGuard::new(&config).unwrap()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn jwt_validator_authenticates_and_policy_authorizes() {
    let clock = ManualClock::at_unix_seconds(NOW);
    let idp = new_idp(&clock, "adapters-1");
    let app = app(AuthLayer::builder()
        .bearer(validator(&idp.jwks, &clock))
        .build()
        .unwrap());
    let user = bearer(&token(&idp, "user-0001", &["user"]));
    let admin = bearer(&token(&idp, "admin-0001", &["admin"]));

    let response = send(&app, "GET", "/v1/query", &[("authorization", &user)]).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body_text(), "user-0001 jwt user");

    let response = send(&app, "PUT", "/admin/config", &[("authorization", &user)]).await;
    assert_eq!(response.status, 403);
    assert_eq!(response.reason, Some(Reason::PermissionDenied));
    assert_eq!(
        response.header("www-authenticate"),
        Some("Bearer realm=\"api\", error=\"insufficient_scope\"")
    );
    assert_eq!(
        response.body_text(),
        fixture("bodies/insufficient_scope.json")
    );

    let response = send(&app, "PUT", "/admin/config", &[("authorization", &admin)]).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body_text(), "admin-0001 jwt admin");
}

#[tokio::test]
async fn jwt_failures_map_to_invalid_token() {
    let clock = ManualClock::at_unix_seconds(NOW);
    let idp = new_idp(&clock, "adapters-1");
    let other = new_idp(&clock, "other-1");
    let app = app(AuthLayer::builder()
        .bearer(validator(&idp.jwks, &clock))
        .build()
        .unwrap());
    let wrong_audience = idp
        .issuer
        .token("user-0001")
        .audience("another-api")
        .sign()
        .unwrap()
        .into_string();
    let foreign_key = token(&other, "user-0001", &["admin"]);
    let good = token(&idp, "user-0001", &["user"]);
    let mut tampered = good.clone();
    // Change a character well inside the signature: the last one also
    // carries unused bits, and changing it could make the token malformed.
    let position = tampered.len() - 10;
    let replacement = if tampered.as_bytes()[position] == b'A' {
        "B"
    } else {
        "A"
    };
    tampered.replace_range(position..=position, replacement);

    let cases = [
        (wrong_audience, Reason::AudienceMismatch),
        (foreign_key, Reason::KeyNotFound),
        ("not-a-jwt".to_owned(), Reason::TokenMalformed),
        (tampered, Reason::SignatureInvalid),
    ];
    for (token, reason) in cases {
        let response = send(
            &app,
            "GET",
            "/v1/query",
            &[("authorization", &bearer(&token))],
        )
        .await;
        assert_eq!(response.status, 401, "{reason}");
        assert_eq!(response.reason, Some(reason));
        assert_eq!(
            response.header("www-authenticate"),
            Some(
                "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"The access token is invalid.\""
            )
        );
        assert_eq!(response.body_text(), fixture("bodies/invalid_token.json"));
    }

    // The same token, one hour later.
    let token = bearer(&good);
    clock.advance(Duration::from_secs(3600));
    let response = send(&app, "GET", "/v1/query", &[("authorization", &token)]).await;
    assert_eq!(response.status, 401);
    assert_eq!(response.reason, Some(Reason::TokenExpired));
    assert_eq!(
        response.body_text(),
        fixture("bodies/invalid_token_expired.json")
    );
}

/// A key source whose issuer is unreachable: every read fails.
#[derive(Debug)]
struct Unreachable;

impl KeySource for Unreachable {
    fn current(&self) -> Result<Arc<KeySet>, JwtError> {
        Err(JwtError::JwksUnavailable {
            reason: "connection refused".to_owned(),
        })
    }

    fn refresh_for_unknown_kid(&self, _kid: Option<&str>) -> KeySetFuture<'_> {
        Box::pin(async { self.current() })
    }
}

#[tokio::test]
async fn jwks_outage_is_503_and_never_blocks_the_client() {
    let clock = ManualClock::at_unix_seconds(NOW);
    let idp = new_idp(&clock, "adapters-1");
    let validator = Validator::builder()
        .issuer(
            IssuerConfig::new(ISSUER, Unreachable)
                .audience(AUDIENCE)
                .algorithms([Algorithm::EdDSA]),
        )
        .clock(clock.clone())
        .build()
        .unwrap();
    let guard = guard(2);
    let app = app(AuthLayer::builder()
        .bearer(validator)
        .brute_force(guard.clone())
        .build()
        .unwrap());
    let token = bearer(&token(&idp, "user-0001", &["user"]));
    for _ in 0..5 {
        let response = send(&app, "GET", "/v1/query", &[("authorization", &token)]).await;
        assert_eq!(response.status, 503);
        assert_eq!(response.reason, Some(Reason::JwksUnavailable));
        assert_eq!(response.header("retry-after"), Some("5"));
        assert_eq!(
            response.body_text(),
            fixture("bodies/temporarily_unavailable.json")
        );
    }
    assert_eq!(guard.alerts_raised(), 0);
}

#[test]
fn every_jwt_error_kind_has_a_reason() {
    let expected = [
        (ErrorKind::TokenMalformed, Reason::TokenMalformed),
        (ErrorKind::CritUnsupported, Reason::CritUnsupported),
        (ErrorKind::AlgNotAllowed, Reason::AlgNotAllowed),
        (ErrorKind::KeyNotFound, Reason::KeyNotFound),
        (ErrorKind::KeyAmbiguous, Reason::KeyAmbiguous),
        (ErrorKind::SignatureInvalid, Reason::SignatureInvalid),
        (ErrorKind::TokenExpired, Reason::TokenExpired),
        (ErrorKind::TokenNotYetValid, Reason::TokenNotYetValid),
        (ErrorKind::TokenIssuedInFuture, Reason::TokenIssuedInFuture),
        (ErrorKind::IssuerMismatch, Reason::IssuerMismatch),
        (ErrorKind::AudienceMismatch, Reason::AudienceMismatch),
        (ErrorKind::ClaimMissing, Reason::ClaimMissing),
        (ErrorKind::ClaimMalformed, Reason::ClaimMalformed),
        (ErrorKind::ClaimMismatch, Reason::ClaimMalformed),
        (ErrorKind::TokenTypeMismatch, Reason::TokenTypeMismatch),
        (ErrorKind::SubjectMissing, Reason::SubjectMissing),
        (ErrorKind::AzpMismatch, Reason::AzpMismatch),
        (ErrorKind::JwksUnavailable, Reason::JwksUnavailable),
        (ErrorKind::JwksInvalid, Reason::JwksUnavailable),
        (ErrorKind::KeyInvalid, Reason::KeyNotFound),
        (ErrorKind::ConfigInvalid, Reason::KeyNotFound),
    ];
    for (kind, reason) in expected {
        assert_eq!(jwt_reason(kind), reason, "{kind}");
        // Outages and token failures stay apart.
        assert_eq!(kind.is_unavailable(), reason.is_outage(), "{kind}");
    }
}

#[test]
fn session_error_kinds_have_reasons() {
    assert_eq!(
        session_reason(SessionErrorKind::SessionInvalid),
        Reason::SessionInvalid
    );
    assert_eq!(
        session_reason(SessionErrorKind::SessionStoreUnavailable),
        Reason::SessionStoreUnavailable
    );
    assert_eq!(
        session_reason(SessionErrorKind::SessionLimitReached),
        Reason::InternalError
    );
}

#[tokio::test]
async fn api_key_verifier_authenticates() {
    let store: Arc<dyn KeyStore> = Arc::new(MemoryKeyStore::new());
    let verifier = ApiKeyVerifier::new(store);
    let (key, _) = verifier
        .issue("indexer-1", "svc-indexer", ["user"])
        .await
        .unwrap();
    let (revoked, _) = verifier.issue("old-1", "svc-old", ["admin"]).await.unwrap();
    verifier.revoke("old-1").await.unwrap();
    let app = app(AuthLayer::builder().api_key(verifier).build().unwrap());

    let response = send(
        &app,
        "GET",
        "/v1/query",
        &[("x-api-key", key.expose_secret())],
    )
    .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body_text(), "svc-indexer api_key user");

    let response = send(
        &app,
        "PUT",
        "/admin/config",
        &[("x-api-key", key.expose_secret())],
    )
    .await;
    assert_eq!(response.status, 403);

    for value in [
        revoked.expose_secret(),
        "0123456789abcdef0123456789abcdef",
        "short",
    ] {
        let response = send(&app, "GET", "/v1/query", &[("x-api-key", value)]).await;
        assert_eq!(response.status, 401);
        assert_eq!(response.reason, Some(Reason::ApiKeyInvalid));
        assert_eq!(
            response.header("www-authenticate"),
            Some("ApiKey realm=\"api\"")
        );
        assert_eq!(response.body_text(), fixture("bodies/invalid_api_key.json"));
    }
}

/// A loopback port with nothing listening: bind, read the port, close.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn api_key_store_outage_is_503() {
    let config = RedisKeyStoreConfig {
        url: format!("redis://127.0.0.1:{}", closed_port()),
        prefix: "ddf-tower-test:apikey-outage".to_owned(),
        ..RedisKeyStoreConfig::default()
    };
    let store: Arc<dyn KeyStore> = Arc::new(RedisKeyStore::connect(&config).unwrap());
    let guard = guard(1);
    let app = app(AuthLayer::builder()
        .api_key(ApiKeyVerifier::new(store))
        .brute_force(guard.clone())
        .build()
        .unwrap());
    for _ in 0..3 {
        let response = send(
            &app,
            "GET",
            "/v1/query",
            &[("x-api-key", "0123456789abcdef0123456789abcdef")],
        )
        .await;
        assert_eq!(response.status, 503);
        assert_eq!(response.reason, Some(Reason::ApiKeyStoreUnavailable));
        assert_eq!(response.header("retry-after"), Some("5"));
        assert_eq!(
            response.body_text(),
            fixture("bodies/temporarily_unavailable.json")
        );
    }
    assert_eq!(guard.alerts_raised(), 0);
}

fn session_manager(
    store: Arc<dyn ddf_session::SessionStore>,
    clock: &ManualClock,
    rotate: bool,
) -> SessionManager {
    let mut config = SessionConfig::production();
    config.rotate_on_refresh = rotate;
    SessionManager::new(config, store, Arc::new(clock.clone())).unwrap()
}

fn cookie_value(set_cookie: &str) -> &str {
    let pair = set_cookie.split(';').next().unwrap();
    pair.strip_prefix("ddf_session=").unwrap()
}

#[tokio::test]
async fn session_manager_authenticates_and_refresh_resends_the_cookie() {
    let clock = ManualClock::at_unix_seconds(NOW);
    let manager = session_manager(Arc::new(MemoryStore::new()), &clock, false);
    let principal = Principal::new("user-0001", AuthMethod::Jwt).with_roles(["user"]);
    let (id, _) = manager.create(principal).await.unwrap();
    let cookie = format!("ddf_session={}", id.expose_cookie_value());
    let sessions = SessionAuthenticator::new(manager, &SessionCookieConfig::default()).unwrap();
    let app = app(AuthLayer::builder().session(sessions).build().unwrap());

    let response = send(&app, "GET", "/v1/query", &[("cookie", &cookie)]).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body_text(), "user-0001 session user");
    assert_eq!(response.header("set-cookie"), None);

    // 57 minutes on, less than the 5-minute refresh threshold remains.
    clock.advance(Duration::from_secs(57 * 60));
    let response = send(&app, "GET", "/v1/query", &[("cookie", &cookie)]).await;
    assert_eq!(response.status, 200);
    let set_cookie = response.header("set-cookie").unwrap();
    assert_eq!(
        set_cookie,
        format!("{cookie}; Max-Age=3600; Path=/; HttpOnly; Secure; SameSite=Strict")
    );

    // Denied requests still authenticate, but carry no refresh; and an
    // unknown session is 401 with the cookie cleared.
    let response = send(&app, "PUT", "/admin/config", &[("cookie", &cookie)]).await;
    assert_eq!(response.status, 403);
    let unknown = "ddf_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let response = send(&app, "GET", "/v1/query", &[("cookie", unknown)]).await;
    assert_eq!(response.status, 401);
    assert_eq!(response.reason, Some(Reason::SessionInvalid));
    assert_eq!(
        response.header("set-cookie"),
        Some("ddf_session=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Strict")
    );
    assert_eq!(response.body_text(), fixture("bodies/invalid_session.json"));
}

#[tokio::test]
async fn rotated_session_sends_the_new_id_and_kills_the_old() {
    let clock = ManualClock::at_unix_seconds(NOW);
    let manager = session_manager(Arc::new(MemoryStore::new()), &clock, true);
    let principal = Principal::new("admin-0001", AuthMethod::ApiKey).with_roles(["admin"]);
    let (id, _) = manager.create(principal).await.unwrap();
    let old = format!("ddf_session={}", id.expose_cookie_value());
    // The manager itself, with the default cookie settings.
    let app = app(AuthLayer::builder().session(manager).build().unwrap());

    clock.advance(Duration::from_secs(58 * 60));
    let response = send(&app, "PUT", "/admin/config", &[("cookie", &old)]).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body_text(), "admin-0001 session admin");
    let set_cookie = response.header("set-cookie").unwrap().to_owned();
    let new = format!("ddf_session={}", cookie_value(&set_cookie));
    assert_ne!(new, old);
    assert!(set_cookie.ends_with("; Max-Age=3600; Path=/; HttpOnly; Secure; SameSite=Strict"));

    let response = send(&app, "GET", "/v1/query", &[("cookie", &old)]).await;
    assert_eq!(response.status, 401);
    assert_eq!(response.reason, Some(Reason::SessionInvalid));
    let response = send(&app, "GET", "/v1/query", &[("cookie", &new)]).await;
    assert_eq!(response.status, 200);
}

fn redis_store(url: &str, prefix: &str) -> RedisStore {
    let key = SessionKey::generate().unwrap();
    let keys = SessionKeys::new("k1", &key).unwrap();
    let index = SessionKey::generate().unwrap();
    RedisStore::connect(
        url,
        &RedisStoreConfig::default().with_key_prefix(prefix),
        keys,
        &index,
    )
    .unwrap()
}

#[tokio::test]
async fn redis_session_store_end_to_end() {
    let clock = ManualClock::at_unix_seconds(ddf_rbac::SystemClock.unix_seconds());
    let prefix = format!("ddf-tower-test:{}:{}", std::process::id(), NOW);
    let manager = session_manager(
        Arc::new(redis_store("redis://127.0.0.1:6379", &prefix)),
        &clock,
        false,
    );
    let principal = Principal::new("user-redis", AuthMethod::Jwt).with_roles(["readonly"]);
    let (id, _) = manager.create(principal).await.unwrap();
    let cookie = format!("ddf_session={}", id.expose_cookie_value());
    let app = app(AuthLayer::builder()
        .session(manager.clone())
        .build()
        .unwrap());

    let response = send(&app, "GET", "/v1/query", &[("cookie", &cookie)]).await;
    assert_eq!(response.status, 403, "readonly lacks llm:query");
    assert_eq!(response.reason, Some(Reason::PermissionDenied));

    assert_eq!(manager.delete_user("user-redis").await.unwrap(), 1);
    let response = send(&app, "GET", "/v1/query", &[("cookie", &cookie)]).await;
    assert_eq!(response.status, 401);
    assert_eq!(response.reason, Some(Reason::SessionInvalid));
}

#[tokio::test]
async fn redis_session_store_outage_is_503() {
    let clock = ManualClock::at_unix_seconds(NOW);
    let url = format!("redis://127.0.0.1:{}", closed_port());
    let manager = session_manager(
        Arc::new(redis_store(&url, "ddf-tower-test:outage")),
        &clock,
        false,
    );
    let app = app(AuthLayer::builder().session(manager).build().unwrap());
    let cookie = "ddf_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let response = send(&app, "GET", "/v1/query", &[("cookie", cookie)]).await;
    assert_eq!(response.status, 503);
    assert_eq!(response.reason, Some(Reason::SessionStoreUnavailable));
    assert_eq!(response.header("retry-after"), Some("5"));
    assert_eq!(response.header("set-cookie"), None);
}

#[test]
fn policy_denies_invalid_permissions() {
    let policy = Policy::reference();
    let admin = Principal::new("a", AuthMethod::Jwt).with_roles(["admin"]);
    assert!(Authorize::allows(&policy, &admin, "config:write"));
    assert!(!Authorize::allows(&policy, &admin, "config::write"));
    assert!(!Authorize::allows(&policy, &admin, ""));
    assert!(!Authorize::allows(&policy, &admin, "llm:*"));
    let nobody = Principal::new("n", AuthMethod::Jwt);
    assert!(!Authorize::allows(&policy, &nobody, "llm:query"));
}

#[test]
fn cookie_max_age_rounds_up_to_whole_seconds() {
    let cookie = SessionCookie::new(&SessionCookieConfig::default()).unwrap();
    let id = SessionId::generate().unwrap();
    let attributes = |value: http::HeaderValue| {
        let text = value.to_str().unwrap().to_owned();
        text.split_once(';').unwrap().1.to_owned()
    };

    // Read a moment after creation, a one-hour session has 3599.9 s left.
    let just_created = attributes(cookie.set(&id, Duration::from_millis(3_599_900)));
    assert!(just_created.starts_with(" Max-Age=3600;"), "{just_created}");
    let whole = attributes(cookie.set(&id, Duration::from_secs(3600)));
    assert!(whole.starts_with(" Max-Age=3600;"), "{whole}");
    let last_moment = attributes(cookie.set(&id, Duration::from_millis(1)));
    assert!(last_moment.starts_with(" Max-Age=1;"), "{last_moment}");
}
