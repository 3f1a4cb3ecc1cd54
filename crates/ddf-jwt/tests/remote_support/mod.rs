//! A scriptable identity provider on 127.0.0.1 for the remote JWKS tests,
//! plus Ed25519 signing keys and tokens.
//!
//! Each path has a default reply and a queue of one-off replies; every
//! request is counted. Replies can be delayed, trickled, endless, or carry
//! an `ETag` that turns a matching `If-None-Match` into 304.

#![allow(dead_code, unreachable_pub, missing_docs)]

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Request, Response, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ddf_jwt::{Algorithm, IssuerConfig, KeySource, RemoteJwks, RemoteJwksConfig, Validator};
use ddf_rbac::ManualClock;
use serde_json::{Value, json};

pub const ISSUER: &str = "https://sso.example.test/realms/demo";
pub const AUDIENCE: &str = "orders-api";
pub const NOW: u64 = 1_750_000_000;

/// What the body of a reply is.
#[derive(Clone, Debug)]
pub enum BodyKind {
    Bytes(Vec<u8>),
    /// One byte per interval, forever, without `Content-Length`.
    Trickle(Duration),
    /// 1 KiB chunks as fast as possible, forever, without `Content-Length`.
    Endless,
}

#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: BodyKind,
    pub delay: Duration,
    /// When set, sent as `ETag`; a request whose `If-None-Match` equals it
    /// gets 304 with the same headers and no body.
    pub etag: Option<String>,
}

impl Reply {
    pub fn json(body: impl Into<String>) -> Self {
        Self {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: BodyKind::Bytes(body.into().into_bytes()),
            delay: Duration::ZERO,
            etag: None,
        }
    }

    pub fn jwks(keys: &[&TestKey]) -> Self {
        Self::json(jwks_document(keys))
    }

    pub fn status(status: u16, body: &str) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "text/plain".into())],
            ..Self::json(body)
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub fn with_etag(mut self, etag: &str) -> Self {
        self.etag = Some(etag.into());
        self
    }

    pub fn with_body(mut self, body: BodyKind) -> Self {
        self.body = body;
        self
    }
}

#[derive(Default)]
struct Route {
    default: Option<Reply>,
    queue: VecDeque<Reply>,
    hits: usize,
    not_modified: usize,
}

#[derive(Default)]
struct State {
    routes: Mutex<HashMap<String, Route>>,
    total: AtomicUsize,
}

/// The fake identity provider.
pub struct Idp {
    pub addr: SocketAddr,
    state: Arc<State>,
    server: tokio::task::JoinHandle<()>,
}

impl Idp {
    /// Starts a server on 127.0.0.1 with a free port.
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0").await
    }

    /// Starts a server on `address` (for example `127.0.0.2:0`).
    pub async fn start_on(address: &str) -> Self {
        let listener = tokio::net::TcpListener::bind(address).await.unwrap();
        Self::serve(listener)
    }

    fn serve(listener: tokio::net::TcpListener) -> Self {
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        let shared = Arc::clone(&state);
        let app = axum::Router::new().fallback(move |request: Request<Body>| {
            let state = Arc::clone(&shared);
            async move { Ok::<_, Infallible>(respond(&state, request).await) }
        });
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            addr,
            state,
            server,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sets the reply for every request to `path` without a queued reply.
    pub fn set(&self, path: &str, reply: Reply) {
        let mut routes = self.state.routes.lock().unwrap();
        routes.entry(path.into()).or_default().default = Some(reply);
    }

    /// Queues a reply used once, before the default.
    pub fn push(&self, path: &str, reply: Reply) {
        let mut routes = self.state.routes.lock().unwrap();
        routes
            .entry(path.into())
            .or_default()
            .queue
            .push_back(reply);
    }

    /// Requests received on `path`.
    pub fn hits(&self, path: &str) -> usize {
        let routes = self.state.routes.lock().unwrap();
        routes.get(path).map_or(0, |route| route.hits)
    }

    /// 304 replies sent on `path`.
    pub fn not_modified(&self, path: &str) -> usize {
        let routes = self.state.routes.lock().unwrap();
        routes.get(path).map_or(0, |route| route.not_modified)
    }

    /// Requests received on any path.
    pub fn total_hits(&self) -> usize {
        self.state.total.load(Ordering::SeqCst)
    }

    /// Stops accepting connections: later requests get "connection refused".
    pub async fn stop(self) -> SocketAddr {
        self.server.abort();
        let _ = self.server.await;
        self.addr
    }
}

async fn respond(state: &State, request: Request<Body>) -> Response<Body> {
    state.total.fetch_add(1, Ordering::SeqCst);
    let path = request.uri().path().to_owned();
    let if_none_match = request
        .headers()
        .get("if-none-match")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let reply = {
        let mut routes = state.routes.lock().unwrap();
        let route = routes.entry(path).or_default();
        route.hits += 1;
        let reply = route.queue.pop_front().or_else(|| route.default.clone());
        if let Some(reply) = &reply
            && reply.etag.is_some()
            && reply.etag == if_none_match
        {
            route.not_modified += 1;
        }
        reply
    };
    let Some(reply) = reply else {
        return Response::builder()
            .status(404)
            .body(Body::from("not found"))
            .unwrap();
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }

    let not_modified = reply.etag.is_some() && reply.etag == if_none_match;
    let status = if not_modified {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::from_u16(reply.status).unwrap()
    };
    let mut builder = Response::builder().status(status);
    for (name, value) in &reply.headers {
        builder = builder.header(name.as_str(), HeaderValue::from_str(value).unwrap());
    }
    if let Some(etag) = &reply.etag {
        builder = builder.header("etag", etag.as_str());
    }
    if not_modified {
        return builder.body(Body::empty()).unwrap();
    }
    let body = match reply.body {
        BodyKind::Bytes(bytes) => Body::from(bytes),
        BodyKind::Trickle(interval) => {
            let stream = futures_util::stream::unfold((), move |()| async move {
                tokio::time::sleep(interval).await;
                Some((Ok::<_, Infallible>(Bytes::from_static(b" ")), ()))
            });
            Body::from_stream(stream)
        }
        BodyKind::Endless => {
            let stream = futures_util::stream::unfold((), |()| async {
                tokio::task::yield_now().await;
                Some((Ok::<_, Infallible>(Bytes::from(vec![b' '; 1024])), ()))
            });
            Body::from_stream(stream)
        }
    };
    builder.body(body).unwrap()
}

/// Returns a loopback address where nothing listens.
pub async fn closed_address() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}

/// An Ed25519 signing key with its `kid`.
pub struct TestKey {
    pub kid: String,
    pair: Ed25519KeyPair,
}

impl TestKey {
    pub fn new(kid: &str) -> Self {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        Self {
            kid: kid.into(),
            pair: Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap(),
        }
    }

    pub fn jwk(&self) -> Value {
        json!({
            "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA",
            "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(self.pair.public_key().as_ref()),
        })
    }

    /// Signs a valid access token for [`ISSUER`] and [`AUDIENCE`].
    pub fn token(&self, subject: &str) -> String {
        self.token_with_kid(&self.kid, subject)
    }

    /// Signs a token whose header names `kid` (which may not be this key's).
    pub fn token_with_kid(&self, kid: &str, subject: &str) -> String {
        let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": kid});
        let claims = json!({
            "iss": ISSUER, "aud": AUDIENCE, "sub": subject,
            "iat": NOW - 10, "exp": NOW + 3600,
        });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.pair.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }
}

pub fn jwks_document(keys: &[&TestKey]) -> String {
    json!({"keys": keys.iter().map(|key| key.jwk()).collect::<Vec<_>>()}).to_string()
}

/// Settings for tests: loopback http, short deadline, no background task
/// (so fetch counts are exact) unless a test turns it on.
pub fn test_config() -> RemoteJwksConfig {
    RemoteJwksConfig {
        timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(1),
        background_refresh: false,
        danger_allow_http_loopback: true,
        ..RemoteJwksConfig::default()
    }
}

pub fn clock() -> ManualClock {
    ManualClock::at_unix_seconds(NOW)
}

pub fn source(url: &str, clock: &ManualClock) -> RemoteJwks {
    source_with(url, clock, test_config())
}

pub fn source_with(url: &str, clock: &ManualClock, config: RemoteJwksConfig) -> RemoteJwks {
    RemoteJwks::builder(url)
        .config(config)
        .clock(clock.clone())
        .build()
        .unwrap()
}

pub fn validator(keys: impl KeySource, clock: &ManualClock) -> Validator {
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

/// Returns the reason code of a failed validation, or `"accepted"`.
pub async fn outcome(validator: &Validator, token: &str) -> &'static str {
    match validator.validate(token).await {
        Ok(_) => "accepted",
        Err(error) => error.kind().as_str(),
    }
}
