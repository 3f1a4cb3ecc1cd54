//! Per-client rate limiting with `RateLimit` headers.
//!
//! [`RateLimitLayer`] keys each request on, in order of preference:
//!
//! 1. the API-key id of an API-key principal (`key:<id>`);
//! 2. the subject of any other principal (`sub:<method>:<subject>`);
//! 3. the client address (`ip:203.0.113.9`, IPv6 grouped by /64), from
//!    [`ClientAddr`], the peer address, or a trusted proxy header.
//!
//! Placed before [`AuthLayer`](crate::AuthLayer) it is a cheap pre-auth
//! limiter keyed on the address, which runs before any signature check or
//! key lookup. Placed after it, it limits each principal. Both placements
//! can be combined.
//!
//! Responses carry the `RateLimit-Policy` and `RateLimit` fields of the IETF
//! draft "`RateLimit` header fields for HTTP" (structured-field form, for
//! example `RateLimit-Policy: "default";q=100;w=60` and
//! `RateLimit: "default";r=42;t=35`). A rejected request gets 429 with
//! `Retry-After` and never reaches the inner service.

mod memory;
#[cfg(feature = "redis")]
mod redis;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use ddf_rbac::{AuthMethod, Principal};
use http::{HeaderName, HeaderValue, Request, Response};
use http_body_util::Full;
use serde::Deserialize;
use tower_layer::Layer;
use tower_service::Service;

pub use self::memory::MemoryRateLimiter;
#[cfg(feature = "redis")]
pub use self::redis::RedisRateLimiter;

use crate::audit::{self, EventBudget, RequestFacts};
use crate::body::ResponseBody;
use crate::client::{ClientAddr, ClientAddrResolver, ClientKey};
use crate::error::ConfigError;
use crate::failure::AuthFailure;
use crate::grpc::is_grpc_request;
use crate::layer_future::{ExtraHeaders, LayerFuture};
use crate::reason::Reason;
use crate::responder::Responder;

/// A rate-limit quota; deserializable from service configuration.
///
/// GCRA semantics: a client may send `burst` requests at once, and then one
/// more every `period_secs / burst` seconds.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RateLimitConfig {
    /// Requests allowed per period, and the largest burst.
    pub burst: u32,
    /// Length of the period, in seconds.
    pub period_secs: u64,
    /// Most client keys an in-memory limiter tracks; the least recently used
    /// are forgotten first, which gives them a fresh budget.
    pub max_keys: u64,
    /// Policy name in the `RateLimit` headers.
    pub policy_name: String,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            burst: 100,
            period_secs: 60,
            max_keys: 100_000,
            policy_name: "default".to_owned(),
        }
    }
}

impl RateLimitConfig {
    /// Creates a quota of `burst` requests per `period`.
    pub fn new(burst: u32, period: Duration) -> Self {
        Self {
            burst,
            period_secs: period.as_secs(),
            ..Self::default()
        }
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.burst == 0 {
            return Err(ConfigError::InvalidLimit {
                setting: "burst",
                requirement: "at least 1",
            });
        }
        if self.period_secs == 0 {
            return Err(ConfigError::InvalidLimit {
                setting: "period_secs",
                requirement: "at least 1",
            });
        }
        if self.max_keys == 0 {
            return Err(ConfigError::InvalidLimit {
                setting: "max_keys",
                requirement: "at least 1",
            });
        }
        let name = self.policy_name.as_bytes();
        if name.is_empty()
            || !name
                .iter()
                .all(|&byte| byte.is_ascii_alphanumeric() || b"-_.".contains(&byte))
        {
            return Err(ConfigError::InvalidLimit {
                setting: "policy_name",
                requirement: "letters, digits, '-', '_' and '.'",
            });
        }
        Ok(())
    }

    /// Time to earn back one request.
    pub(crate) fn interval(&self) -> Duration {
        Duration::from_secs(self.period_secs) / self.burst
    }
}

/// The outcome of one rate-limit check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateDecision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// Requests left in the current burst.
    pub remaining: u32,
    /// Time until the budget is full again.
    pub reset: Duration,
    /// For a rejected request, the time until one request is allowed.
    pub retry_after: Option<Duration>,
}

impl RateDecision {
    /// An allowed request.
    pub fn allow(remaining: u32, reset: Duration) -> Self {
        Self {
            allowed: true,
            remaining,
            reset,
            retry_after: None,
        }
    }

    /// A rejected request.
    pub fn deny(retry_after: Duration, reset: Duration) -> Self {
        Self {
            allowed: false,
            remaining: 0,
            reset,
            retry_after: Some(retry_after),
        }
    }
}

/// The future returned by [`RateLimiter::check`].
pub type RateFuture<'a> = Pin<Box<dyn Future<Output = RateDecision> + Send + 'a>>;

/// A store of per-key rate-limit budgets.
///
/// A limiter never fails open: when its backing store is unavailable it
/// falls back to a local budget, as [`RedisRateLimiter`] does.
pub trait RateLimiter: Send + Sync + 'static {
    /// Takes one request from `key`'s budget.
    fn check<'a>(&'a self, key: &'a str) -> RateFuture<'a>;

    /// Returns the quota, for the `RateLimit-Policy` header.
    fn quota(&self) -> &RateLimitConfig;

    /// Takes one request from `key`'s budget without waiting, for limiters
    /// whose budgets are in memory; `None` (the default) when the decision
    /// needs [`check`](Self::check). [`RateLimitLayer`] calls this first and
    /// skips boxing the request's future when it returns a decision.
    fn try_check_now(&self, key: &str) -> Option<RateDecision> {
        let _ = key;
        None
    }
}

impl<T: RateLimiter + ?Sized> RateLimiter for Arc<T> {
    fn check<'a>(&'a self, key: &'a str) -> RateFuture<'a> {
        (**self).check(key)
    }

    fn quota(&self) -> &RateLimitConfig {
        (**self).quota()
    }

    fn try_check_now(&self, key: &str) -> Option<RateDecision> {
        (**self).try_check_now(key)
    }
}

/// Rate-limits requests per client; see the [module documentation](self).
///
/// ```
/// use std::time::Duration;
/// use ddf_tower::{MemoryRateLimiter, RateLimitConfig, RateLimitLayer};
///
/// let limiter = MemoryRateLimiter::new(RateLimitConfig::new(100, Duration::from_secs(60))).unwrap();
/// let layer = RateLimitLayer::new(limiter);
/// # let _ = layer;
/// ```
#[derive(Clone)]
pub struct RateLimitLayer {
    inner: Arc<LayerConfig>,
}

struct LayerConfig {
    limiter: Arc<dyn RateLimiter>,
    resolver: ClientAddrResolver,
    policy: HeaderValue,
    headers: bool,
    budget: EventBudget,
}

impl fmt::Debug for RateLimitLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitLayer")
            .field("quota", self.inner.limiter.quota())
            .field("headers", &self.inner.headers)
            .finish_non_exhaustive()
    }
}

impl RateLimitLayer {
    /// Limits requests with `limiter`.
    pub fn new(limiter: impl RateLimiter) -> Self {
        let quota = limiter.quota();
        let policy = format!(
            "\"{}\";q={};w={}",
            quota.policy_name, quota.burst, quota.period_secs
        );
        Self {
            inner: Arc::new(LayerConfig {
                policy: HeaderValue::from_str(&policy)
                    .unwrap_or_else(|_| HeaderValue::from_static("\"default\"")),
                limiter: Arc::new(limiter),
                resolver: ClientAddrResolver::default(),
                headers: true,
                budget: EventBudget::default(),
            }),
        }
    }

    /// Resolves client addresses with `resolver` (trusted proxies).
    #[must_use]
    pub fn client_addr(self, resolver: ClientAddrResolver) -> Self {
        self.rebuild(|config| config.resolver = resolver)
    }

    /// Chooses whether allowed responses carry the `RateLimit` headers
    /// (default: yes). 429 responses always carry them.
    #[must_use]
    pub fn headers_on_success(self, enabled: bool) -> Self {
        self.rebuild(|config| config.headers = enabled)
    }

    fn rebuild(self, change: impl FnOnce(&mut LayerConfig)) -> Self {
        let current = &self.inner;
        let mut config = LayerConfig {
            limiter: Arc::clone(&current.limiter),
            resolver: current.resolver.clone(),
            policy: current.policy.clone(),
            headers: current.headers,
            budget: EventBudget::default(),
        };
        change(&mut config);
        Self {
            inner: Arc::new(config),
        }
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimitService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimitService {
            inner,
            config: Arc::clone(&self.inner),
        }
    }
}

/// The service made by [`RateLimitLayer`].
#[derive(Clone)]
pub struct RateLimitService<S> {
    inner: S,
    config: Arc<LayerConfig>,
}

impl<S: fmt::Debug> fmt::Debug for RateLimitService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// Returns the budget key of a request; see the module documentation.
fn rate_key(principal: Option<&Principal>, client: Option<std::net::IpAddr>) -> String {
    // Built by hand, not with `format!`: this runs on every request.
    let concat = |parts: &[&str]| {
        let mut key = String::with_capacity(parts.iter().map(|part| part.len()).sum());
        for part in parts {
            key.push_str(part);
        }
        key
    };
    match principal {
        Some(principal)
            if principal.method() == AuthMethod::ApiKey && principal.key_id().is_some() =>
        {
            concat(&["key:", principal.key_id().unwrap_or_default()])
        }
        Some(principal) => concat(&[
            "sub:",
            principal.method().as_str(),
            ":",
            principal.subject(),
        ]),
        None => ClientKey::from_addr(client).as_str().to_owned(),
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RateLimitService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    ReqBody: Send + 'static,
    ResBody: 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = RateLimitFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let config = Arc::clone(&self.config);
        let client = config
            .resolver
            .resolve(request.extensions(), request.headers());
        if let Some(address) = client {
            request.extensions_mut().insert(ClientAddr(address));
        }
        let key = rate_key(request.extensions().get::<Principal>(), client);

        // An in-memory limiter decides at once: then the instance that
        // `poll_ready` prepared handles the request, with no clone of it
        // and no boxed future.
        if let Some(decision) = config.limiter.try_check_now(&key) {
            if decision.allowed {
                let headers = if config.headers {
                    ExtraHeaders::Rate(rate_headers(
                        &config.policy,
                        config.limiter.quota(),
                        &decision,
                    ))
                } else {
                    ExtraHeaders::None
                };
                return LayerFuture::inner(self.inner.call(request), headers);
            }
            return LayerFuture::rejected(rejection(&config, &request, client, &decision));
        }

        // The clone is not ready; the instance that `poll_ready` prepared
        // handles this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        LayerFuture::pending(Box::pin(async move {
            let decision = config.limiter.check(&key).await;
            if decision.allowed {
                let mut response = inner.call(request).await?.map(ResponseBody::inner);
                if config.headers {
                    let headers = rate_headers(&config.policy, config.limiter.quota(), &decision);
                    headers.apply(response.headers_mut());
                }
                return Ok(response);
            }
            Ok(rejection(&config, &request, client, &decision).map(ResponseBody::rejection))
        }))
    }
}

/// Logs a request over its budget and builds the 429 response, with the
/// `RateLimit` headers and `Retry-After`.
fn rejection<B>(
    config: &LayerConfig,
    request: &Request<B>,
    client: Option<std::net::IpAddr>,
    decision: &RateDecision,
) -> Response<Full<Bytes>> {
    let facts = RequestFacts::of(request, client);
    audit::rate_limited(
        &config.budget,
        &facts,
        request.extensions().get::<Principal>(),
        "limit",
    );
    crate::metrics::rate_limited("limit");
    let failure = AuthFailure::new(Reason::RateLimited)
        .with_retry_after(decision.retry_after.unwrap_or(Duration::from_secs(1)));
    let responder = request
        .extensions()
        .get::<Responder>()
        .cloned()
        .unwrap_or_default();
    let mut response = responder.respond(&failure, is_grpc_request(request.headers()));
    rate_headers(&config.policy, config.limiter.quota(), decision).apply(response.headers_mut());
    response
}

/// The future of [`RateLimitService`].
pub type RateLimitFuture<F, B, E> = LayerFuture<F, B, E>;

/// The `RateLimit-Policy` and `RateLimit` values of one decision.
pub(crate) struct RateHeaders {
    policy: HeaderValue,
    state: Option<HeaderValue>,
}

impl RateHeaders {
    pub(crate) fn apply(self, headers: &mut http::HeaderMap) {
        headers.insert(RATELIMIT_POLICY.clone(), self.policy);
        if let Some(state) = self.state {
            headers.insert(RATELIMIT.clone(), state);
        }
    }
}

fn rate_headers(
    policy: &HeaderValue,
    quota: &RateLimitConfig,
    decision: &RateDecision,
) -> RateHeaders {
    let reset = decision.reset.as_secs() + u64::from(decision.reset.subsec_nanos() > 0);
    let mut numbers = itoa::Buffer::new();
    let mut state = String::with_capacity(quota.policy_name.len() + 32);
    state.push('"');
    state.push_str(&quota.policy_name);
    state.push_str("\";r=");
    state.push_str(numbers.format(decision.remaining));
    state.push_str(";t=");
    state.push_str(numbers.format(reset));
    RateHeaders {
        policy: policy.clone(),
        state: HeaderValue::from_maybe_shared(Bytes::from(state)).ok(),
    }
}

/// The header names of draft-ietf-httpapi-ratelimit-headers.
static RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
static RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_prefer_key_id_then_subject_then_address() {
        let key_principal = Principal::new("svc", AuthMethod::ApiKey).with_key_id("k1");
        let jwt_principal = Principal::new("user-1", AuthMethod::Jwt).with_key_id("kid-9");
        let address = Some("203.0.113.9".parse().unwrap());
        assert_eq!(rate_key(Some(&key_principal), address), "key:k1");
        assert_eq!(rate_key(Some(&jwt_principal), address), "sub:jwt:user-1");
        assert_eq!(rate_key(None, address), "ip:203.0.113.9");
    }

    #[test]
    fn invalid_quotas_are_rejected() {
        let zero = RateLimitConfig::new(0, Duration::from_secs(1));
        assert_eq!(
            zero.validate().unwrap_err(),
            ConfigError::InvalidLimit {
                setting: "burst",
                requirement: "at least 1"
            }
        );
        let bad_name = RateLimitConfig {
            policy_name: "a\"b".into(),
            ..RateLimitConfig::default()
        };
        assert!(matches!(
            bad_name.validate().unwrap_err(),
            ConfigError::InvalidLimit {
                setting: "policy_name",
                ..
            }
        ));
    }
}
