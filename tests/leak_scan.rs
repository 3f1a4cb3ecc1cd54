//! Secret-leak scan: canary credentials go through the real crates (ddf-jwt
//! validation, ddf-apikey verification, ddf-session on the Redis server at
//! 127.0.0.1:6379) behind the ddf-tower layer. Every `tracing` line at
//! TRACE level, every response body and every response header is scanned
//! for each canary and for every 16-character substring of one. The test
//! prints how many lines and bodies it scanned; the expected hit count is 0.

use std::fmt::Write as _;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ddf_auth::apikey::{ApiKey, ApiKeyVerifier, KeyRecord, KeyStore, MemoryKeyStore};
use ddf_auth::jwt::{Algorithm, IssuerConfig, KeySet, StaticKeySource, Validator};
use ddf_auth::session::{
    RedisStore, RedisStoreConfig, SessionConfig, SessionKey, SessionKeys, SessionManager,
};
use ddf_auth::tower::{AuthFailure, AuthFuture, AuthLayer, Authenticate, Credential, Reason};
use ddf_rbac::{AuthMethod, Principal};
use http_body_util::BodyExt;
use tower::ServiceExt;
use tracing_subscriber::util::SubscriberInitExt;

const ISSUER: &str = "https://sso.example.test/realms/leak-scan";
const AUDIENCE: &str = "leak-scan-api";
const REDIS_URL: &str = "redis://127.0.0.1:6379";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Random bytes from the OS, as lowercase hex.
fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0_u8; bytes];
    aws_lc_rs::rand::fill(&mut buffer).unwrap();
    buffer.iter().fold(String::new(), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}

fn hs256_token(secret: &[u8], claims: &serde_json::Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT","kid":"leak-hs"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let input = format!("{header}.{payload}");
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

/// The real authenticators behind one `Authenticate` implementation; each
/// crate's reason code becomes the layer's reason.
struct RealAuthenticators {
    validator: Validator,
    api_keys: ApiKeyVerifier,
    sessions: SessionManager,
}

fn failure(code: &str) -> AuthFailure {
    AuthFailure::from_code(code)
}

impl Authenticate for RealAuthenticators {
    fn authenticate<'a>(&'a self, credential: Credential<'a>) -> AuthFuture<'a> {
        Box::pin(async move {
            match credential {
                Credential::Bearer(token) => self
                    .validator
                    .validate(token)
                    .await
                    .map(|verified| verified.principal().clone())
                    .map_err(|error| failure(error.kind().as_str())),
                Credential::ApiKey(key) => self
                    .api_keys
                    .verify(key)
                    .await
                    .map_err(|error| failure(error.kind().as_str())),
                Credential::SessionCookie(cookie) => self
                    .sessions
                    .load(cookie)
                    .await
                    .map(|loaded| loaded.principal().clone())
                    .map_err(|error| failure(error.kind().as_str())),
                _ => Err(AuthFailure::new(Reason::InternalError)),
            }
        })
    }
}

#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Returns the first canary, or 16-character piece of one, found in `text`.
fn find_leak<'a>(text: &str, canaries: &'a [String]) -> Option<&'a str> {
    for canary in canaries {
        if text.contains(canary.as_str()) {
            return Some(canary);
        }
        let found = (0..canary.len().saturating_sub(15))
            .filter(|start| canary.is_char_boundary(*start) && canary.is_char_boundary(start + 16))
            .any(|start| text.contains(&canary[start..start + 16]));
        if found {
            return Some(canary);
        }
    }
    None
}

#[tokio::test]
#[expect(
    clippy::too_many_lines,
    reason = "one scenario: build the real stack, send every request, scan everything"
)]
async fn g01_canaries_through_every_crate_never_leak() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let _guard = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish()
        .set_default();

    // Secrets: an HMAC signing secret, an API key, a session encryption key.
    let hmac_secret = random_hex(32);
    let api_key = ApiKey::generate();
    let session_key_hex = random_hex(32);
    let mut session_key = [0_u8; 32];
    for (index, byte) in session_key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&session_key_hex[2 * index..2 * index + 2], 16).unwrap();
    }

    let keys = KeySet::builder()
        .hmac_secret(Some("leak-hs"), hmac_secret.as_bytes(), &[Algorithm::HS256])
        .unwrap()
        .build();
    let validator = Validator::builder()
        .issuer(
            IssuerConfig::new(ISSUER, StaticKeySource::new(keys))
                .audience(AUDIENCE)
                .algorithms([Algorithm::HS256]),
        )
        .build()
        .unwrap();

    let record =
        KeyRecord::new("leak-key-1", "leak-owner", api_key.digest(), now()).with_roles(["service"]);
    let store = MemoryKeyStore::from_records(vec![record]).unwrap();
    let api_keys = ApiKeyVerifier::new(Arc::new(store) as Arc<dyn KeyStore>);

    let prefix = format!("ddf-leak-{}", random_hex(6));
    let session_keys = SessionKeys::new("leak", &SessionKey::from_bytes(session_key)).unwrap();
    let redis_store = RedisStore::connect(
        REDIS_URL,
        &RedisStoreConfig::default().with_key_prefix(&prefix),
        session_keys,
        &SessionKey::from_bytes([0x5a; 32]),
    )
    .unwrap();
    let sessions = SessionManager::new(
        SessionConfig::production(),
        Arc::new(redis_store),
        Arc::new(ddf_rbac::SystemClock),
    )
    .unwrap();
    let (session_id, _) = sessions
        .create(Principal::new("leak-user", AuthMethod::Jwt).with_roles(["user"]))
        .await
        .unwrap();
    let cookie_value = session_id.expose_cookie_value();

    let claims = serde_json::json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "leak-user",
        "iat": now() - 5, "exp": now() + 300,
    });
    let token = hs256_token(hmac_secret.as_bytes(), &claims);
    let expired = hs256_token(
        hmac_secret.as_bytes(),
        &serde_json::json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "leak-user", "exp": now() - 3600}),
    );
    let forged = hs256_token(&[0x11; 32], &claims);
    let key_text = api_key.expose_secret().to_owned();
    let wrong_key = format!("{}0", &key_text[..31]);

    let authenticators = Arc::new(RealAuthenticators {
        validator,
        api_keys,
        sessions: sessions.clone(),
    });
    let layer = AuthLayer::builder()
        .bearer(Arc::clone(&authenticators))
        .api_key(Arc::clone(&authenticators))
        .session(Arc::clone(&authenticators))
        .build()
        .unwrap();
    let app = Router::new()
        .route("/v1/models", get(|| async { "models" }))
        .layer(layer);

    let bearer = |token: &str| ("authorization", format!("Bearer {token}"));
    let cookie = |value: &str| ("cookie", format!("ddf_session={value}"));
    let requests: Vec<Vec<(&str, String)>> = vec![
        vec![bearer(&token)],
        vec![bearer(&expired)],
        vec![bearer(&forged)],
        vec![bearer(&format!("{token}x"))],
        vec![bearer(&format!("{token} {token}"))],
        vec![("x-api-key", key_text.clone())],
        vec![("x-api-key", wrong_key.clone())],
        vec![("x-api-key", key_text.to_uppercase())],
        vec![cookie(&cookie_value)],
        vec![cookie(&format!("{cookie_value}x"))],
        vec![bearer(&token), ("x-api-key", key_text.clone())],
        vec![("x-api-key", key_text.clone()), cookie(&cookie_value)],
    ];

    let mut responses = Vec::new();
    let mut statuses = Vec::new();
    for headers in &requests {
        let mut builder = http::Request::builder().uri("/v1/models");
        for (name, value) in headers {
            builder = builder.header(*name, value.as_str());
        }
        let response = app
            .clone()
            .oneshot(builder.body(Body::empty()).unwrap())
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        let mut text = String::new();
        for (name, value) in response.headers() {
            let _ = writeln!(
                text,
                "{name}: {}",
                String::from_utf8_lossy(value.as_bytes())
            );
        }
        let body = response.into_body().collect().await.unwrap().to_bytes();
        text.push_str(&String::from_utf8_lossy(&body));
        responses.push(text);
    }
    let query = format!("/v1/models?access_token={token}");
    let response = app
        .clone()
        .oneshot(
            http::Request::builder()
                .uri(query)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    statuses.push(response.status().as_u16());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    responses.push(String::from_utf8_lossy(&body).into_owned());

    // The canaries authenticate where they should, so their paths did run.
    assert_eq!(
        statuses,
        [
            200, 401, 401, 401, 400, 200, 401, 401, 200, 401, 400, 400, 400
        ]
    );

    sessions.logout_all("leak-user").await.unwrap();

    let canaries = vec![
        token.clone(),
        expired,
        forged,
        key_text,
        wrong_key,
        cookie_value,
        hmac_secret,
        session_key_hex,
        // The signature part alone, in case something logs only that.
        token.rsplit('.').next().unwrap().to_owned(),
    ];
    let log_text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let lines = log_text.lines().count();
    for line in log_text.lines() {
        assert_eq!(find_leak(line, &canaries), None, "log line: {line}");
    }
    for response in &responses {
        assert_eq!(find_leak(response, &canaries), None, "response: {response}");
    }
    println!(
        "leak scan: {lines} log lines and {} responses (headers and bodies) scanned, 0 canary hits",
        responses.len()
    );
    assert!(lines >= requests.len(), "only {lines} log lines captured");
}
