//! Audit events: one structured `tracing` event per decision.
//!
//! Every event has the target `ddf_auth::audit` (see [`TARGET`]) and these
//! fields, each present when it applies:
//!
//! | field | content |
//! |---|---|
//! | `event` | `authn_success`, `authn_fail`, `authz_fail`, `excess_rate_limit_exceeded`, `authn_login_fail_max` |
//! | `outcome` | `success`, `failure`, `denied`, `rate_limited`, `alert` |
//! | `reason` | the [`Reason`] code |
//! | `method` | how the caller authenticated or tried to: `jwt`, `api_key`, `session`, or the credential source `bearer`, `api_key`, `session_cookie` |
//! | `http_method` | the request method |
//! | `route` | axum's matched route, otherwise the request path |
//! | `client_addr` | the resolved client address |
//! | `subject`, `issuer` | of the verified principal |
//! | `kid` | the JWT key id (of the verified token, or claimed by a rejected one) |
//! | `key_id` | the public API-key id |
//! | `permission` | the permission a route requires |
//!
//! Values taken from the request are escaped and cut to 256 characters.
//! No event ever contains a token, an API key, a cookie or a session id:
//! the layers never hand the credential to this module.
//!
//! Failure events (`authn_fail`, `authz_fail`, `excess_rate_limit_exceeded`)
//! are capped per second, so a flood of bad requests cannot flood the logs.
//! The next event after a suppressed burst carries the number of dropped
//! events in `suppressed`. Metrics stay exact.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use ddf_rbac::{AuthMethod, Clock, Principal, SystemClock};
use http::Request;

use crate::credential::CredentialKind;
use crate::failure::AuthFailure;
use crate::reason::Reason;

/// The `tracing` target of every audit event.
pub const TARGET: &str = "ddf_auth::audit";

/// Longest logged value taken from a request or a token, in characters.
const MAX_FIELD_CHARS: usize = 256;

/// The request facts every audit event carries.
#[derive(Debug, Clone)]
pub(crate) struct RequestFacts {
    pub(crate) http_method: http::Method,
    pub(crate) route: String,
    pub(crate) client: Option<IpAddr>,
}

impl RequestFacts {
    /// Facts from a request of another framework; `route` is cleaned here.
    #[cfg(feature = "actix")]
    pub(crate) fn new(http_method: http::Method, route: &str, client: Option<IpAddr>) -> Self {
        Self {
            http_method,
            route: clean(route).into_owned(),
            client,
        }
    }

    pub(crate) fn of<B>(request: &Request<B>, client: Option<IpAddr>) -> Self {
        Self {
            http_method: request.method().clone(),
            route: route_of(request).into_owned(),
            client,
        }
    }

    #[cfg(feature = "axum")]
    pub(crate) fn of_parts(parts: &http::request::Parts, client: Option<IpAddr>) -> Self {
        let route = parts
            .extensions
            .get::<axum::extract::MatchedPath>()
            .map_or_else(|| clean(parts.uri.path()), |path| clean(path.as_str()))
            .into_owned();
        Self {
            http_method: parts.method.clone(),
            route,
            client,
        }
    }

    fn client_field(&self) -> Option<String> {
        self.client.map(|address| address.to_string())
    }
}

fn route_of<B>(request: &Request<B>) -> Cow<'_, str> {
    #[cfg(feature = "axum")]
    if let Some(path) = request.extensions().get::<axum::extract::MatchedPath>() {
        return clean(path.as_str());
    }
    clean(request.uri().path())
}

/// Escapes control characters and cuts `value` to [`MAX_FIELD_CHARS`].
pub(crate) fn clean(value: &str) -> Cow<'_, str> {
    let fits = value.len() <= MAX_FIELD_CHARS;
    if fits && !value.chars().any(char::is_control) {
        return Cow::Borrowed(value);
    }
    let mut cleaned = String::with_capacity(value.len().min(MAX_FIELD_CHARS + 16));
    for character in value.chars().take(MAX_FIELD_CHARS) {
        if character.is_control() {
            cleaned.extend(character.escape_default());
        } else {
            cleaned.push(character);
        }
    }
    Cow::Owned(cleaned)
}

/// The failure-event budget of the [`Require`](crate::Require) extractor,
/// shared by every route of the process.
#[cfg(any(feature = "axum", feature = "actix"))]
pub(crate) static EXTRACTOR_BUDGET: EventBudget = EventBudget::new(100);

/// Caps failure events per second; see the module documentation.
#[derive(Debug)]
pub(crate) struct EventBudget {
    per_second: u64,
    /// Bits 0..32: events in the current second; bits 32..64: the second.
    window: AtomicU64,
    suppressed: AtomicU64,
}

impl EventBudget {
    pub(crate) const fn new(per_second: u32) -> Self {
        Self {
            per_second: per_second as u64,
            window: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Returns `Some(suppressed_since_last)` when an event may be written.
    fn admit(&self) -> Option<u64> {
        // Wall-clock time is enough here: a jump only starts a new window.
        self.admit_at(SystemClock.unix_seconds())
    }

    fn admit_at(&self, unix_seconds: u64) -> Option<u64> {
        let second = unix_seconds & u64::from(u32::MAX);
        let mut current = self.window.load(Ordering::Relaxed);
        loop {
            let (window_second, count) = (current >> 32, current & u64::from(u32::MAX));
            let next = if window_second == second {
                if count >= self.per_second {
                    self.suppressed.fetch_add(1, Ordering::Relaxed);
                    return None;
                }
                current + 1
            } else {
                (second << 32) | 1
            };
            match self.window.compare_exchange_weak(
                current,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(self.suppressed.swap(0, Ordering::Relaxed)),
                Err(actual) => current = actual,
            }
        }
    }
}

impl Default for EventBudget {
    fn default() -> Self {
        Self::new(100)
    }
}

fn principal_kid(principal: &Principal) -> Option<&str> {
    (principal.method() == AuthMethod::Jwt)
        .then(|| principal.key_id())
        .flatten()
}

fn principal_key_id(principal: &Principal) -> Option<&str> {
    (principal.method() == AuthMethod::ApiKey)
        .then(|| principal.key_id())
        .flatten()
}

/// Logs a successful authentication. This runs on every authenticated
/// request, so the fields are read from the request inside the macro, which
/// evaluates them only when a subscriber takes the event.
pub(crate) fn authn_success<B>(
    request: &Request<B>,
    client: Option<IpAddr>,
    principal: &Principal,
) {
    tracing::info!(
        target: TARGET,
        event = "authn_success",
        outcome = "success",
        method = principal.method().as_str(),
        http_method = request.method().as_str(),
        route = route_of(request).as_ref(),
        client_addr = client.map(|address| address.to_string()),
        subject = %clean(principal.subject()),
        issuer = principal.issuer().map(clean).as_deref(),
        kid = principal_kid(principal).map(clean).as_deref(),
        key_id = principal_key_id(principal).map(clean).as_deref(),
        "authentication succeeded"
    );
}

pub(crate) fn authn_failure(
    budget: &EventBudget,
    facts: &RequestFacts,
    source: Option<CredentialKind>,
    failure: &AuthFailure,
) {
    let Some(suppressed) = budget.admit() else {
        return;
    };
    let reason = failure.reason();
    macro_rules! emit {
        ($level:ident) => {
            tracing::$level!(
                target: TARGET,
                event = "authn_fail",
                outcome = "failure",
                reason = reason.as_str(),
                method = source.map(CredentialKind::as_str),
                http_method = facts.http_method.as_str(),
                route = facts.route.as_str(),
                client_addr = facts.client_field(),
                issuer = failure.issuer().map(clean).as_deref(),
                kid = failure.kid().map(clean).as_deref(),
                key_id = failure.key_id().map(clean).as_deref(),
                suppressed = (suppressed > 0).then_some(suppressed),
                "authentication failed"
            )
        };
    }
    if reason.is_outage() || reason == Reason::InternalError {
        emit!(error);
    } else {
        emit!(warn);
    }
}

pub(crate) fn authz_failure(
    budget: &EventBudget,
    facts: &RequestFacts,
    principal: &Principal,
    permission: &str,
) {
    let Some(suppressed) = budget.admit() else {
        return;
    };
    tracing::warn!(
        target: TARGET,
        event = "authz_fail",
        outcome = "denied",
        reason = Reason::PermissionDenied.as_str(),
        method = principal.method().as_str(),
        http_method = facts.http_method.as_str(),
        route = facts.route.as_str(),
        client_addr = facts.client_field(),
        subject = %clean(principal.subject()),
        issuer = principal.issuer().map(clean).as_deref(),
        kid = principal_kid(principal).map(clean).as_deref(),
        key_id = principal_key_id(principal).map(clean).as_deref(),
        permission = %clean(permission),
        suppressed = (suppressed > 0).then_some(suppressed),
        "authorization denied"
    );
}

pub(crate) fn rate_limited(
    budget: &EventBudget,
    facts: &RequestFacts,
    principal: Option<&Principal>,
    cause: &'static str,
) {
    let Some(suppressed) = budget.admit() else {
        return;
    };
    tracing::warn!(
        target: TARGET,
        event = "excess_rate_limit_exceeded",
        outcome = "rate_limited",
        reason = Reason::RateLimited.as_str(),
        cause,
        method = principal.map(|principal| principal.method().as_str()),
        http_method = facts.http_method.as_str(),
        route = facts.route.as_str(),
        client_addr = facts.client_field(),
        subject = principal.map(|principal| clean(principal.subject())).as_deref(),
        key_id = principal.and_then(principal_key_id).map(clean).as_deref(),
        suppressed = (suppressed > 0).then_some(suppressed),
        "request rate-limited"
    );
}

pub(crate) fn alert(
    dimension: &'static str,
    key: &str,
    failures_in_window: u32,
    total: u64,
    window_secs: u64,
    blocked_secs: Option<u64>,
) {
    tracing::error!(
        target: TARGET,
        event = "authn_login_fail_max",
        outcome = "alert",
        dimension,
        client = %clean(key),
        failures = failures_in_window,
        total_failures = total,
        window_secs,
        blocked_secs,
        "too many failed authentications"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_escapes_and_truncates() {
        assert_eq!(clean("plain"), "plain");
        assert_eq!(clean("a\r\nb\u{1b}[31m"), "a\\r\\nb\\u{1b}[31m");
        let long = "x".repeat(10_000);
        assert_eq!(clean(&long).chars().count(), 256);
    }

    #[test]
    fn budget_caps_events_per_second() {
        let budget = EventBudget::new(3);
        let admitted: Vec<_> = (0..5).map(|_| budget.admit_at(100)).collect();
        assert_eq!(admitted, [Some(0), Some(0), Some(0), None, None]);
        assert_eq!(budget.admit_at(101), Some(2));
        assert_eq!(budget.admit_at(101), Some(0));
    }
}
