//! Turning an [`AuthFailure`] into the fixed external response.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, SET_COOKIE, WWW_AUTHENTICATE};
use http::{HeaderValue, Response};
use http_body_util::Full;
use serde::Deserialize;

use crate::error::ConfigError;
use crate::failure::AuthFailure;
use crate::reason::{Class, Reason};

/// A rendered rejection body and its media type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedBody {
    /// The `content-type` of `body`.
    pub content_type: HeaderValue,
    /// The body bytes.
    pub body: Bytes,
}

/// Renders the body of a rejection; the one place where a service changes
/// what its clients see on failure.
///
/// The status, `WWW-Authenticate`, `Retry-After` and cookie headers are set by
/// the [`Responder`] and cannot be changed here, so a custom body cannot drop
/// a challenge the HTTP specifications require. Bodies should stay fixed per
/// reason: include nothing taken from the request.
///
/// Closures `Fn(&AuthFailure) -> RenderedBody` implement the trait.
pub trait RenderRejection: Send + Sync + 'static {
    /// Renders the body for `failure`.
    fn render(&self, failure: &AuthFailure) -> RenderedBody;
}

impl<F> RenderRejection for F
where
    F: Fn(&AuthFailure) -> RenderedBody + Send + Sync + 'static,
{
    fn render(&self, failure: &AuthFailure) -> RenderedBody {
        self(failure)
    }
}

/// The default body: the fixed JSON document of [`Reason::json_body`].
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonBody;

impl RenderRejection for JsonBody {
    fn render(&self, failure: &AuthFailure) -> RenderedBody {
        RenderedBody {
            content_type: HeaderValue::from_static("application/json"),
            body: Bytes::from_static(failure.reason().json_body().as_bytes()),
        }
    }
}

/// Response settings; deserializable from service configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ResponderConfig {
    /// The `realm` of every challenge.
    pub realm: String,
    /// Adds `scope="<permission>"` to the 403 challenge. Off by default
    /// because it tells a caller which permission a route needs.
    pub include_scope: bool,
    /// `Retry-After` in seconds for 503 responses whose failure sets none.
    pub unavailable_retry_after_secs: u64,
    /// Answers gRPC requests with gRPC statuses instead of HTTP errors.
    pub grpc: bool,
}

impl Default for ResponderConfig {
    fn default() -> Self {
        Self {
            realm: "api".to_owned(),
            include_scope: false,
            unavailable_retry_after_secs: 5,
            grpc: true,
        }
    }
}

/// Builds the fixed rejection response for each [`Reason`]: status,
/// RFC 6750 challenge, `Retry-After`, and a body from a [`RenderRejection`].
///
/// Cloning is cheap; [`AuthLayer`](crate::AuthLayer) puts its responder into
/// the request extensions so that later layers and extractors answer the
/// same way.
///
/// ```
/// use ddf_tower::{AuthFailure, Reason, Responder};
///
/// let responder = Responder::default();
/// let response = responder.respond(&AuthFailure::new(Reason::TokenExpired), false);
/// assert_eq!(response.status(), 401);
/// assert_eq!(
///     response.headers()["www-authenticate"],
///     "Bearer realm=\"api\", error=\"invalid_token\", \
///      error_description=\"The access token has expired.\""
/// );
/// ```
#[derive(Clone)]
pub struct Responder {
    inner: Arc<Inner>,
}

#[expect(
    clippy::struct_excessive_bools,
    reason = "independent switches of the response format"
)]
struct Inner {
    realm: Box<str>,
    include_scope: bool,
    unavailable_retry_after: Duration,
    grpc: bool,
    bearer_challenge: bool,
    api_key_challenge: bool,
    clear_cookie: Option<HeaderValue>,
    renderer: Arc<dyn RenderRejection>,
}

impl Default for Responder {
    fn default() -> Self {
        Self::new(&ResponderConfig::default())
            .unwrap_or_else(|_| unreachable!("default realm is valid"))
    }
}

impl fmt::Debug for Responder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Responder")
            .field("realm", &self.inner.realm)
            .field("include_scope", &self.inner.include_scope)
            .field("grpc", &self.inner.grpc)
            .field("bearer_challenge", &self.inner.bearer_challenge)
            .field("api_key_challenge", &self.inner.api_key_challenge)
            .finish_non_exhaustive()
    }
}

impl Responder {
    /// Creates a responder that sends JSON bodies and a `Bearer` challenge.
    pub fn new(config: &ResponderConfig) -> Result<Self, ConfigError> {
        if !is_quotable(&config.realm) {
            return Err(ConfigError::InvalidRealm {
                realm: config.realm.clone(),
            });
        }
        Ok(Self {
            inner: Arc::new(Inner {
                realm: config.realm.clone().into_boxed_str(),
                include_scope: config.include_scope,
                unavailable_retry_after: Duration::from_secs(config.unavailable_retry_after_secs),
                grpc: config.grpc,
                bearer_challenge: true,
                api_key_challenge: false,
                clear_cookie: None,
                renderer: Arc::new(JsonBody),
            }),
        })
    }

    /// Replaces the body renderer.
    #[must_use]
    pub fn with_renderer(self, renderer: impl RenderRejection) -> Self {
        self.modify(|inner| inner.renderer = Arc::new(renderer))
    }

    /// Chooses the challenges of a 401 that names no failed scheme:
    /// `Bearer realm=".."` and `ApiKey realm=".."`. With both off, `Bearer`
    /// is sent, because RFC 9110 requires a challenge on every 401.
    #[must_use]
    pub fn with_challenges(self, bearer: bool, api_key: bool) -> Self {
        self.modify(|inner| {
            inner.bearer_challenge = bearer || !api_key;
            inner.api_key_challenge = api_key;
        })
    }

    /// Clears the session cookie `name` on `session_invalid` responses, so a
    /// browser stops sending a dead session id.
    #[must_use]
    pub fn with_session_cookie(self, name: &str) -> Self {
        let value = format!("{name}=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Strict");
        let value = HeaderValue::from_str(&value).ok();
        self.modify(|inner| inner.clear_cookie = value)
    }

    fn modify(self, change: impl FnOnce(&mut Inner)) -> Self {
        let current = &self.inner;
        let mut inner = Inner {
            realm: current.realm.clone(),
            include_scope: current.include_scope,
            unavailable_retry_after: current.unavailable_retry_after,
            grpc: current.grpc,
            bearer_challenge: current.bearer_challenge,
            api_key_challenge: current.api_key_challenge,
            clear_cookie: current.clear_cookie.clone(),
            renderer: Arc::clone(&current.renderer),
        };
        change(&mut inner);
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Returns the realm.
    pub fn realm(&self) -> &str {
        &self.inner.realm
    }

    /// Builds the response for `failure`.
    ///
    /// `grpc_request` selects the gRPC form (see [`crate::grpc`]) when the
    /// responder has gRPC answers enabled. The [`Reason`] is also put into
    /// the response extensions, so outer layers and tests can read it
    /// without parsing the body.
    pub fn respond(&self, failure: &AuthFailure, grpc_request: bool) -> Response<Full<Bytes>> {
        self.respond_bytes(failure, grpc_request).map(Full::new)
    }

    /// Builds the response for `failure` with the body as plain bytes, for
    /// adapters to frameworks with their own body types.
    pub(crate) fn respond_bytes(
        &self,
        failure: &AuthFailure,
        grpc_request: bool,
    ) -> Response<Bytes> {
        let reason = failure.reason();
        let retry_after = self.retry_after(failure).map(HeaderValue::from);
        if grpc_request && self.inner.grpc {
            return crate::grpc::response(failure, retry_after);
        }

        let rendered = self.inner.renderer.render(failure);
        let mut response = Response::new(rendered.body);
        *response.status_mut() = reason.status();

        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, rendered.content_type);
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        for challenge in self.challenges(failure) {
            headers.append(WWW_AUTHENTICATE, challenge);
        }
        if let Some(retry_after) = retry_after {
            headers.insert(RETRY_AFTER, retry_after);
        }
        if reason == Reason::SessionInvalid
            && let Some(cookie) = &self.inner.clear_cookie
        {
            headers.insert(SET_COOKIE, cookie.clone());
        }
        response.extensions_mut().insert(reason);
        response
    }

    /// Returns the whole seconds of `Retry-After`, rounded up, at least 1.
    fn retry_after(&self, failure: &AuthFailure) -> Option<u64> {
        let reason = failure.reason();
        if !reason.has_retry_after() {
            return None;
        }
        let wait = failure.retry_after().unwrap_or(if reason.is_outage() {
            self.inner.unavailable_retry_after
        } else {
            Duration::from_secs(1)
        });
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Some(seconds.max(1))
    }

    fn challenges(&self, failure: &AuthFailure) -> Vec<HeaderValue> {
        let realm = &self.inner.realm;
        let bearer_with_error =
            |error: &str| format!("Bearer realm=\"{realm}\", error=\"{error}\"");
        let texts = match failure.reason().class() {
            Class::Missing | Class::Session => {
                let mut texts = Vec::with_capacity(2);
                if self.inner.bearer_challenge {
                    texts.push(format!("Bearer realm=\"{realm}\""));
                }
                if self.inner.api_key_challenge {
                    texts.push(format!("ApiKey realm=\"{realm}\""));
                }
                texts
            }
            Class::InvalidRequest => vec![bearer_with_error("invalid_request")],
            Class::InvalidToken => vec![format!(
                "{}, error_description=\"{}\"",
                bearer_with_error("invalid_token"),
                failure.reason().description()
            )],
            Class::ApiKey => vec![format!("ApiKey realm=\"{realm}\"")],
            Class::Forbidden => {
                let mut text = bearer_with_error("insufficient_scope");
                if let Some(scope) = failure.permission().filter(|_| self.inner.include_scope)
                    && is_quotable(scope)
                {
                    text = format!("{text}, scope=\"{scope}\"");
                }
                vec![text]
            }
            Class::RateLimited | Class::Unavailable | Class::Internal => Vec::new(),
        };
        texts
            .into_iter()
            .filter_map(|text| HeaderValue::from_str(&text).ok())
            .collect()
    }
}

/// Returns whether `value` can go inside a quoted string without escapes.
fn is_quotable(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|byte| (byte == b' ' || byte.is_ascii_graphic()) && byte != b'"' && byte != b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_realms_are_rejected() {
        for realm in ["", "a\"b", "a\\b", "a\nb"] {
            let config = ResponderConfig {
                realm: realm.to_owned(),
                ..ResponderConfig::default()
            };
            assert_eq!(
                Responder::new(&config).unwrap_err(),
                ConfigError::InvalidRealm {
                    realm: realm.to_owned()
                }
            );
        }
    }

    #[test]
    fn retry_after_rounds_up() {
        let responder = Responder::default();
        let failure =
            AuthFailure::new(Reason::RateLimited).with_retry_after(Duration::from_millis(1500));
        assert_eq!(responder.retry_after(&failure), Some(2));
        let failure = AuthFailure::new(Reason::RateLimited).with_retry_after(Duration::ZERO);
        assert_eq!(responder.retry_after(&failure), Some(1));
        let failure = AuthFailure::new(Reason::JwksUnavailable);
        assert_eq!(responder.retry_after(&failure), Some(5));
        let failure =
            AuthFailure::new(Reason::TokenExpired).with_retry_after(Duration::from_secs(9));
        assert_eq!(responder.retry_after(&failure), None);
    }
}

/// A failure bound to the responder that renders it: what the axum
/// extractors of this crate return as their rejection.
#[derive(Debug, Clone)]
pub struct Rejection {
    failure: AuthFailure,
    responder: Responder,
    grpc: bool,
}

impl Rejection {
    /// Binds `failure` to `responder`; `grpc` selects the gRPC form.
    pub fn new(failure: AuthFailure, responder: Responder, grpc: bool) -> Self {
        Self {
            failure,
            responder,
            grpc,
        }
    }

    /// Returns the failure.
    pub fn failure(&self) -> &AuthFailure {
        &self.failure
    }

    /// Returns the reason.
    pub fn reason(&self) -> Reason {
        self.failure.reason()
    }

    /// Returns the HTTP status of the response.
    pub fn status(&self) -> http::StatusCode {
        self.failure.reason().status()
    }

    /// Builds the response.
    pub fn into_http_response(self) -> Response<Full<Bytes>> {
        self.responder.respond(&self.failure, self.grpc)
    }

    /// Builds the response with the body as plain bytes.
    #[cfg_attr(
        not(feature = "actix"),
        expect(dead_code, reason = "used by the actix adapter")
    )]
    pub(crate) fn to_bytes_response(&self) -> Response<Bytes> {
        self.responder.respond_bytes(&self.failure, self.grpc)
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.failure, f)
    }
}

impl std::error::Error for Rejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.failure)
    }
}
