//! Shared helpers: fixed-outcome authenticators, a capturing tracing layer,
//! and request helpers.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use ddf_rbac::{AuthMethod, Principal};
use ddf_tower::{AuthFailure, AuthFuture, Authenticate, Credential, Reason};
use http::{Request, Response};
use http_body_util::BodyExt;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};

pub const GOOD_TOKEN: &str = "good.token.value";
pub const GOOD_KEY: &str = "0123456789abcdef0123456789abcdef";
pub const GOOD_SESSION: &str = "session-good-0001";

/// Accepts exactly one bearer token, API key and session id. Other values
/// fail with the reason named in the token (`fail-<reason code>`), or else
/// with the kind's usual invalid reason.
#[derive(Debug, Clone, Default)]
pub struct FixedAuthenticator;

impl Authenticate for FixedAuthenticator {
    fn authenticate<'a>(&'a self, credential: Credential<'a>) -> AuthFuture<'a> {
        Box::pin(async move {
            match credential {
                Credential::Bearer(GOOD_TOKEN) => Ok(Principal::new("user-0001", AuthMethod::Jwt)
                    .with_issuer("https://sso.example.test/realms/demo")
                    .with_key_id("kid-2026")
                    .with_roles(["user"])),
                Credential::Bearer("panic") => panic!("authenticator bug"),
                Credential::Bearer(token) => Err(token
                    .strip_prefix("fail-")
                    .and_then(Reason::from_code)
                    .map_or_else(
                        || AuthFailure::new(Reason::SignatureInvalid).with_kid("kid-unknown"),
                        AuthFailure::new,
                    )),
                Credential::ApiKey(key) if key == GOOD_KEY.as_bytes() => {
                    Ok(Principal::new("svc-indexer", AuthMethod::ApiKey)
                        .with_key_id("key-0001")
                        .with_roles(["service"]))
                }
                Credential::ApiKey(_) => {
                    Err(AuthFailure::new(Reason::ApiKeyInvalid).with_key_id("key-guess"))
                }
                Credential::SessionCookie(GOOD_SESSION) => {
                    Ok(Principal::new("user-0002", AuthMethod::Session).with_roles(["admin"]))
                }
                Credential::SessionCookie(_) => Err(AuthFailure::new(Reason::SessionInvalid)),
                _ => Err(AuthFailure::new(Reason::InternalError)),
            }
        })
    }
}

/// Grants `llm:*` permissions to `user` and everything to `admin`.
pub fn policy(principal: &Principal, permission: &str) -> bool {
    principal.has_role("admin")
        || (principal.has_role("user") && permission.starts_with("llm:"))
        || (principal.has_role("service") && permission == "llm:embed")
}

/// One captured event: target, level and every field as text.
#[derive(Debug, Clone)]
pub struct Captured {
    pub target: String,
    pub level: Level,
    pub fields: BTreeMap<String, String>,
}

impl Captured {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

#[derive(Clone, Default)]
pub struct Capture {
    events: Arc<Mutex<Vec<Captured>>>,
}

impl Capture {
    pub fn events(&self) -> Vec<Captured> {
        self.events.lock().unwrap().clone()
    }

    pub fn audit(&self) -> Vec<Captured> {
        self.events()
            .into_iter()
            .filter(|event| event.target == ddf_tower::audit::TARGET)
            .collect()
    }

    /// Captures every event at every level emitted on this thread until the
    /// guard drops.
    ///
    /// One global subscriber, set on the first call, forwards each event to
    /// the capture installed on the emitting thread. With scoped
    /// subscribers, tracing caches a callsite as disabled when another test
    /// registers it first without one. A global subscriber enables every
    /// callsite, so no capture can lose events that way. Capturing tests
    /// still run one at a time, so a test reading global counters sees only
    /// its own traffic.
    pub fn install(&self) -> CaptureGuard {
        static CAPTURE_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
        static GLOBAL: std::sync::Once = std::sync::Once::new();
        let serial = CAPTURE_LOCK
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        GLOBAL.call_once(|| {
            let subscriber = tracing_subscriber::registry().with(Forward);
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other global subscriber in the test binary");
            tracing::callsite::rebuild_interest_cache();
        });
        ACTIVE.with(|active| *active.borrow_mut() = Some(self.clone()));
        CaptureGuard { _serial: serial }
    }
}

thread_local! {
    /// The capture that receives this thread's events.
    static ACTIVE: std::cell::RefCell<Option<Capture>> = const { std::cell::RefCell::new(None) };
}

/// Keeps a [`Capture`] installed; the thread's capture is removed before
/// the next capturing test may start.
pub struct CaptureGuard {
    _serial: std::sync::MutexGuard<'static, ()>,
}

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        ACTIVE.with(|active| *active.borrow_mut() = None);
    }
}

/// The global layer: hands each event to the emitting thread's capture.
struct Forward;

impl<S: Subscriber> Layer<S> for Forward {
    fn on_event(&self, event: &Event<'_>, context: Context<'_, S>) {
        let capture = ACTIVE.with(|active| active.borrow().clone());
        if let Some(capture) = capture {
            capture.on_event(event, context);
        }
    }
}

struct FieldVisitor<'a>(&'a mut BTreeMap<String, String>);

impl Visit for FieldVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S: Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &Event<'_>, _context: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut FieldVisitor(&mut fields));
        self.events.lock().unwrap().push(Captured {
            target: event.metadata().target().to_owned(),
            level: *event.metadata().level(),
            fields,
        });
    }
}

/// Status, headers and body of a response, body collected.
pub struct Collected {
    pub status: http::StatusCode,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
    pub reason: Option<Reason>,
}

impl Collected {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }

    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .get_all(name)
            .iter()
            .map(|value| value.to_str().unwrap())
            .collect()
    }

    pub fn body_text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }
}

pub async fn collect<B>(response: Response<B>) -> Collected
where
    B: http_body::Body,
    B::Error: fmt::Debug,
{
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes().to_vec();
    Collected {
        status: parts.status,
        reason: parts.extensions.get::<Reason>().copied(),
        headers: parts.headers,
        body,
    }
}

pub fn request(method: &str, uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::empty()).unwrap()
}

pub fn get_models(headers: &[(&str, &str)]) -> Request<Body> {
    request("GET", "/v1/models", headers)
}

pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}
