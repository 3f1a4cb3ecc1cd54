//! The crate's error type and its stable reason codes.

use std::fmt;

/// Everything that can go wrong in this crate.
///
/// `Display` never contains a key, a digest or the reason a key was rejected:
/// unknown, revoked, expired, not-yet-valid and malformed keys all print the
/// same message. Read the reason for audit logs with [`ApiKeyError::reason`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiKeyError {
    /// The presented key is not accepted; see [`ApiKeyError::reason`].
    #[error("invalid API key: send an active key of 32 lower-case hex characters in X-API-Key")]
    Invalid {
        /// Why the key was rejected; for audit and metrics only.
        reason: InvalidReason,
    },

    /// The key store did not respond (unreachable, timed out, unreadable
    /// record); nothing was authenticated.
    #[error("API-key store unavailable: {detail}; retry later")]
    StoreUnavailable {
        /// What failed, without any key material.
        detail: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// A record with the same id or digest already exists.
    #[error("API-key record conflict: a record with this {field} already exists (id {id:?})")]
    Conflict {
        /// `id` or `digest`.
        field: &'static str,
        /// The public id of the record that was being inserted.
        id: String,
    },

    /// No record has this id.
    #[error("API key {id:?} not found: check the id")]
    NotFound {
        /// The id that was looked up.
        id: String,
    },

    /// A key record or key-store configuration is invalid.
    #[error("invalid API-key configuration: {message}")]
    Config {
        /// What is wrong and where, without key material.
        message: String,
    },
}

impl ApiKeyError {
    pub(crate) fn invalid(reason: InvalidReason) -> Self {
        Self::Invalid { reason }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::Config {
            message: message.into(),
        }
    }

    #[cfg(feature = "redis")]
    pub(crate) fn unavailable(
        detail: impl Into<String>,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::StoreUnavailable {
            detail: detail.into(),
            source,
        }
    }

    /// Returns the stable kind, for HTTP mapping and metrics.
    pub fn kind(&self) -> ApiKeyErrorKind {
        match self {
            Self::Invalid { .. } => ApiKeyErrorKind::Invalid,
            Self::StoreUnavailable { .. } => ApiKeyErrorKind::StoreUnavailable,
            Self::Conflict { .. } => ApiKeyErrorKind::Conflict,
            Self::NotFound { .. } => ApiKeyErrorKind::NotFound,
            Self::Config { .. } => ApiKeyErrorKind::Config,
        }
    }

    /// Returns why a key was rejected, for audit logs and metrics; `None` for
    /// errors other than [`ApiKeyError::Invalid`].
    ///
    /// Never send the reason to the client: telling a revoked key from an
    /// unknown one helps an attacker who holds a leaked key.
    pub fn reason(&self) -> Option<InvalidReason> {
        match self {
            Self::Invalid { reason } => Some(*reason),
            _ => None,
        }
    }
}

/// The stable kind of an [`ApiKeyError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiKeyErrorKind {
    /// `api_key_invalid`: 401. Malformed, unknown, revoked, expired and
    /// not-yet-valid keys all map here.
    Invalid,
    /// `api_key_store_unavailable`: 503 with `Retry-After`; does not count
    /// toward the failed-authentication alert.
    StoreUnavailable,
    /// `api_key_conflict`: an insert clashed with an existing record.
    Conflict,
    /// `api_key_not_found`: a management call named an id that does not exist.
    NotFound,
    /// `config_invalid`: bad records or store settings.
    Config,
}

impl ApiKeyErrorKind {
    /// Returns the stable reason code used in logs, metrics and HTTP mapping.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invalid => "api_key_invalid",
            Self::StoreUnavailable => "api_key_store_unavailable",
            Self::Conflict => "api_key_conflict",
            Self::NotFound => "api_key_not_found",
            Self::Config => "config_invalid",
        }
    }
}

impl fmt::Display for ApiKeyErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a key was rejected. Internal: for audit and metrics, never for the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InvalidReason {
    /// Not 32 lower-case hex characters.
    Malformed,
    /// Well-formed, but no record has its digest.
    Unknown,
    /// The record was revoked.
    Revoked,
    /// The record's expiry, or its maximum age, has passed.
    Expired,
    /// The record's `not_before` time has not come yet.
    NotYetValid,
}

impl InvalidReason {
    /// Returns the stable name: `malformed`, `unknown`, `revoked`, `expired`
    /// or `not_yet_valid`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::Unknown => "unknown",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
        }
    }
}

impl fmt::Display for InvalidReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_display_is_identical_for_every_reason() {
        let reasons = [
            InvalidReason::Malformed,
            InvalidReason::Unknown,
            InvalidReason::Revoked,
            InvalidReason::Expired,
            InvalidReason::NotYetValid,
        ];
        let first = ApiKeyError::invalid(reasons[0]).to_string();
        for reason in reasons {
            let error = ApiKeyError::invalid(reason);
            assert_eq!(error.to_string(), first);
            assert_eq!(error.kind(), ApiKeyErrorKind::Invalid);
            assert_eq!(error.reason(), Some(reason));
            assert!(!error.to_string().contains(reason.as_str()));
        }
    }

    #[test]
    fn kind_codes_are_stable() {
        assert_eq!(ApiKeyErrorKind::Invalid.as_str(), "api_key_invalid");
        assert_eq!(
            ApiKeyErrorKind::StoreUnavailable.as_str(),
            "api_key_store_unavailable"
        );
        assert_eq!(ApiKeyErrorKind::Conflict.as_str(), "api_key_conflict");
        assert_eq!(ApiKeyErrorKind::Config.as_str(), "config_invalid");
        assert_eq!(ApiKeyError::config("x").reason(), None);
    }
}
