//! The failure type that authenticators return and layers render.

use std::time::Duration;

use crate::reason::Reason;

/// A rejected request: the [`Reason`], plus the non-secret details that the
/// audit trail and the response need.
///
/// Authenticators return it from [`Authenticate`](crate::Authenticate); the
/// layers turn it into a response with a [`Responder`](crate::Responder). The
/// identifiers it may carry (`kid`, issuer, API-key id) are attacker input
/// until verified: they are logged in escaped and truncated form and never
/// sent to the client.
///
/// ```
/// use ddf_tower::{AuthFailure, Reason};
///
/// let failure = AuthFailure::new(Reason::TokenExpired).with_kid("key-2026");
/// assert_eq!(failure.reason(), Reason::TokenExpired);
/// assert_eq!(failure.to_string(), "request rejected: token_expired");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("request rejected: {reason}")]
pub struct AuthFailure {
    reason: Reason,
    retry_after: Option<Duration>,
    permission: Option<Box<str>>,
    kid: Option<Box<str>>,
    issuer: Option<Box<str>>,
    key_id: Option<Box<str>>,
}

impl AuthFailure {
    /// Creates a failure with no details.
    #[must_use]
    pub fn new(reason: Reason) -> Self {
        Self {
            reason,
            retry_after: None,
            permission: None,
            kid: None,
            issuer: None,
            key_id: None,
        }
    }

    /// Creates a failure from a stable reason code reported by a credential
    /// crate; an unknown code becomes [`Reason::InternalError`] (fail closed).
    #[must_use]
    pub fn from_code(code: &str) -> Self {
        Self::new(Reason::from_code(code).unwrap_or(Reason::InternalError))
    }

    /// Sets how long the client should wait; sent as `Retry-After` on 429
    /// and 503 responses and ignored for other reasons.
    #[must_use]
    pub fn with_retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = Some(retry_after);
        self
    }

    /// Sets the permission that was required, for the audit event and, when
    /// the responder is configured to, the `scope` attribute of a 403.
    #[must_use]
    pub fn with_permission(mut self, permission: impl Into<Box<str>>) -> Self {
        self.permission = Some(permission.into());
        self
    }

    /// Sets the `kid` of the rejected token's header, for the audit trail.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<Box<str>>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Sets the issuer the rejected token claims, for the audit trail.
    #[must_use]
    pub fn with_issuer(mut self, issuer: impl Into<Box<str>>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Sets the public id of the rejected API key (never the key itself), for
    /// the audit trail and per-key failure tracking.
    #[must_use]
    pub fn with_key_id(mut self, key_id: impl Into<Box<str>>) -> Self {
        self.key_id = Some(key_id.into());
        self
    }

    /// Returns the reason.
    pub fn reason(&self) -> Reason {
        self.reason
    }

    /// Returns the reason; the name follows the crate-wide `kind()` convention.
    pub fn kind(&self) -> Reason {
        self.reason
    }

    /// Returns the requested wait before a retry, if one was set.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// Returns the permission that was required, for 403 failures.
    pub fn permission(&self) -> Option<&str> {
        self.permission.as_deref()
    }

    /// Returns the unverified `kid` of the rejected token.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Returns the unverified issuer of the rejected token.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// Returns the public id of the rejected API key.
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }
}

impl From<Reason> for AuthFailure {
    fn from(reason: Reason) -> Self {
        Self::new(reason)
    }
}
