//! The crate's error type and its stable reason codes.

use std::error::Error as StdError;

/// A boxed source error, kept for audit logs and never shown to clients.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// The reason a session was rejected.
///
/// Clients see one code, `session_invalid`, for every variant, so an attacker
/// cannot tell an unknown id from an expired one. The reason exists for audit
/// logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InvalidReason {
    /// The cookie value is not a well-formed session id (wrong length or
    /// alphabet); no store was asked.
    Malformed,
    /// No session is stored under the id: never issued, logged out, evicted,
    /// rotated away, or dropped by the store.
    Unknown,
    /// The idle timeout passed without a refresh.
    IdleExpired,
    /// The absolute lifetime passed; the user must sign in again.
    AbsoluteExpired,
    /// The stored payload failed authenticated decryption or decoding: it was
    /// tampered with, moved to another key, or sealed with a key that is no
    /// longer configured.
    DecryptFailed,
}

impl InvalidReason {
    /// Returns a stable lower-case name for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::Unknown => "unknown",
            Self::IdleExpired => "idle_expired",
            Self::AbsoluteExpired => "absolute_expired",
            Self::DecryptFailed => "decrypt_failed",
        }
    }
}

/// The stable, client-facing category of a [`SessionError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SessionErrorKind {
    /// The presented session cannot be used (HTTP 401, cookie cleared).
    SessionInvalid,
    /// The session store is unreachable, timed out or read-only (HTTP 503).
    SessionStoreUnavailable,
    /// A new session was refused because the user already has the maximum
    /// number and the policy is [`LimitPolicy::Reject`](crate::LimitPolicy::Reject).
    SessionLimitReached,
    /// Application data exceeds the configured size caps.
    SessionDataTooLarge,
    /// The configuration or an encryption key is invalid.
    SessionConfigInvalid,
    /// A bug or an operating-system failure, such as the random number
    /// generator being unavailable (HTTP 500).
    InternalError,
}

impl SessionErrorKind {
    /// Returns the stable reason code (`session_invalid`,
    /// `session_store_unavailable`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SessionInvalid => "session_invalid",
            Self::SessionStoreUnavailable => "session_store_unavailable",
            Self::SessionLimitReached => "session_limit_reached",
            Self::SessionDataTooLarge => "session_data_too_large",
            Self::SessionConfigInvalid => "session_config_invalid",
            Self::InternalError => "internal_error",
        }
    }
}

/// Every failure of this crate. Messages never contain a session id, a
/// payload or key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The session cannot be used; see [`InvalidReason`].
    #[error("session invalid ({}): sign in again", reason.as_str())]
    Invalid {
        /// The internal reason, for audit logs.
        reason: InvalidReason,
    },
    /// The store did not respond in time or returned an error. Nothing is
    /// authenticated while it lasts.
    #[error("session store unavailable during {operation}: retry later")]
    StoreUnavailable {
        /// The store operation that failed (`load`, `create`, ...).
        operation: &'static str,
        /// The underlying client error or timeout.
        #[source]
        source: BoxError,
    },
    /// The user already has `limit` sessions and the policy rejects more.
    #[error("session limit of {limit} reached for this user: sign out elsewhere first")]
    LimitReached {
        /// The configured maximum number of sessions per user.
        limit: u32,
    },
    /// The application data map exceeds a size cap.
    #[error("session data too large: {what} exceeds the cap of {cap}")]
    DataTooLarge {
        /// The exceeded cap (`entries`, `key bytes`, `value bytes`, `total bytes`).
        what: &'static str,
        /// The cap.
        cap: usize,
    },
    /// A configuration value or an encryption key is invalid.
    #[error("invalid session configuration: {0}")]
    Config(&'static str),
    /// An operating-system or internal failure.
    #[error("internal session error: {0}")]
    Internal(&'static str),
}

impl SessionError {
    /// Returns the stable category used for the HTTP response and metrics.
    pub fn kind(&self) -> SessionErrorKind {
        match self {
            Self::Invalid { .. } => SessionErrorKind::SessionInvalid,
            Self::StoreUnavailable { .. } => SessionErrorKind::SessionStoreUnavailable,
            Self::LimitReached { .. } => SessionErrorKind::SessionLimitReached,
            Self::DataTooLarge { .. } => SessionErrorKind::SessionDataTooLarge,
            Self::Config(_) => SessionErrorKind::SessionConfigInvalid,
            Self::Internal(_) => SessionErrorKind::InternalError,
        }
    }

    /// Returns the internal reason when the error is `session_invalid`.
    pub fn invalid_reason(&self) -> Option<InvalidReason> {
        match self {
            Self::Invalid { reason } => Some(*reason),
            _ => None,
        }
    }

    /// Builds a `session_invalid` error, for store implementations.
    pub fn invalid(reason: InvalidReason) -> Self {
        Self::Invalid { reason }
    }

    /// Builds a `session_store_unavailable` error, for store implementations.
    /// `source` must not contain session ids or payloads.
    pub fn unavailable(operation: &'static str, source: impl Into<BoxError>) -> Self {
        Self::StoreUnavailable {
            operation,
            source: source.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_are_stable() {
        assert_eq!(
            SessionError::invalid(InvalidReason::Unknown)
                .kind()
                .as_str(),
            "session_invalid"
        );
        assert_eq!(
            SessionError::unavailable("load", "timed out")
                .kind()
                .as_str(),
            "session_store_unavailable"
        );
        assert_eq!(
            SessionError::LimitReached { limit: 5 }.kind().as_str(),
            "session_limit_reached"
        );
    }

    #[test]
    fn every_invalid_reason_maps_to_one_external_code() {
        for reason in [
            InvalidReason::Malformed,
            InvalidReason::Unknown,
            InvalidReason::IdleExpired,
            InvalidReason::AbsoluteExpired,
            InvalidReason::DecryptFailed,
        ] {
            let error = SessionError::invalid(reason);
            assert_eq!(error.kind(), SessionErrorKind::SessionInvalid);
            assert_eq!(error.invalid_reason(), Some(reason));
        }
    }
}
