//! Timeouts, refresh rule and per-user limit.

use std::time::Duration;

use serde::Deserialize;

use crate::error::SessionError;

/// What happens when a user who already holds the maximum number of sessions
/// signs in again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LimitPolicy {
    /// Delete the user's oldest sessions (by creation time) so the new one
    /// fits. The evicted sessions answer `session_invalid` from then on. This
    /// is the default: a user who lost a device can still sign in.
    #[default]
    EvictOldest,
    /// Refuse the new session with `session_limit_reached` and keep the
    /// existing ones.
    Reject,
}

/// Session lifetime rules.
///
/// Deserializes from seconds (`idle_timeout_secs = 3600`); missing fields take
/// the [`SessionConfig::production`] values.
///
/// ```
/// use std::time::Duration;
/// use ddf_session::{LimitPolicy, SessionConfig};
///
/// let config = SessionConfig::development();
/// assert_eq!(config.idle_timeout, Duration::from_secs(2 * 3600));
/// assert_eq!(config.refresh_threshold, Duration::from_secs(300));
/// assert_eq!(config.max_sessions_per_user, 5);
/// assert_eq!(config.limit_policy, LimitPolicy::EvictOldest);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Time without a refresh after which a session expires.
    #[serde(rename = "idle_timeout_secs", with = "seconds")]
    pub idle_timeout: Duration,
    /// A session is extended only when less than this remains before its idle
    /// expiry, so a busy session costs at most one store write per window.
    #[serde(rename = "refresh_threshold_secs", with = "seconds")]
    pub refresh_threshold: Duration,
    /// Maximum lifetime from creation; refresh never extends past it.
    #[serde(rename = "absolute_lifetime_secs", with = "seconds")]
    pub absolute_lifetime: Duration,
    /// Maximum number of live sessions per subject.
    pub max_sessions_per_user: u32,
    /// What to do when a new session would exceed `max_sessions_per_user`.
    pub limit_policy: LimitPolicy,
    /// Issue a new id on every refresh (the old id dies at once) instead of
    /// extending the session in place. Off by default: with it on, requests
    /// that a browser sends in parallel with the old cookie while a refresh
    /// happens fail with `session_invalid`.
    pub rotate_on_refresh: bool,
}

impl SessionConfig {
    /// Production preset: idle timeout 1 h, refresh threshold 5 min, absolute
    /// lifetime 12 h, 5 sessions per user, evict the oldest.
    #[must_use]
    pub fn production() -> Self {
        Self {
            idle_timeout: Duration::from_secs(3600),
            refresh_threshold: Duration::from_secs(300),
            absolute_lifetime: Duration::from_secs(12 * 3600),
            max_sessions_per_user: 5,
            limit_policy: LimitPolicy::EvictOldest,
            rotate_on_refresh: false,
        }
    }

    /// Development preset: as [`SessionConfig::production`] with a 2 h idle
    /// timeout.
    #[must_use]
    pub fn development() -> Self {
        Self {
            idle_timeout: Duration::from_secs(2 * 3600),
            ..Self::production()
        }
    }

    /// Checks that the values are consistent.
    ///
    /// # Errors
    ///
    /// [`SessionError::Config`] when the idle timeout is zero, the refresh
    /// threshold is not shorter than the idle timeout, the absolute lifetime is
    /// shorter than the idle timeout, or the per-user limit is zero.
    pub fn validate(&self) -> Result<(), SessionError> {
        if self.idle_timeout.is_zero() {
            return Err(SessionError::Config("idle_timeout must be positive"));
        }
        if self.refresh_threshold >= self.idle_timeout {
            return Err(SessionError::Config(
                "refresh_threshold must be shorter than idle_timeout",
            ));
        }
        if self.absolute_lifetime < self.idle_timeout {
            return Err(SessionError::Config(
                "absolute_lifetime must be at least idle_timeout",
            ));
        }
        if self.max_sessions_per_user == 0 {
            return Err(SessionError::Config(
                "max_sessions_per_user must be at least 1",
            ));
        }
        Ok(())
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self::production()
    }
}

mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_match_the_documented_values() {
        let production = SessionConfig::production();
        assert_eq!(production.idle_timeout, Duration::from_secs(3600));
        assert_eq!(production.refresh_threshold, Duration::from_secs(300));
        assert_eq!(production.absolute_lifetime, Duration::from_secs(43_200));
        assert_eq!(production.max_sessions_per_user, 5);
        assert_eq!(SessionConfig::default(), production);
        assert_eq!(
            SessionConfig::development().idle_timeout,
            Duration::from_secs(7200)
        );
        assert!(production.validate().is_ok());
        assert!(SessionConfig::development().validate().is_ok());
    }

    #[test]
    fn deserializes_seconds_with_secure_defaults() {
        let config: SessionConfig =
            serde_json::from_str(r#"{"idle_timeout_secs": 1800, "limit_policy": "reject"}"#)
                .unwrap();
        assert_eq!(config.idle_timeout, Duration::from_secs(1800));
        assert_eq!(config.limit_policy, LimitPolicy::Reject);
        assert_eq!(config.max_sessions_per_user, 5);
        assert!(serde_json::from_str::<SessionConfig>(r#"{"idle_timeout": 1}"#).is_err());
    }

    #[test]
    fn inconsistent_values_rejected() {
        let mut config = SessionConfig::production();
        config.refresh_threshold = config.idle_timeout;
        assert_eq!(
            config.validate().unwrap_err().kind().as_str(),
            "session_config_invalid"
        );
        let mut config = SessionConfig::production();
        config.max_sessions_per_user = 0;
        assert_eq!(
            config.validate().unwrap_err().kind().as_str(),
            "session_config_invalid"
        );
        let mut config = SessionConfig::production();
        config.absolute_lifetime = Duration::from_secs(60);
        assert_eq!(
            config.validate().unwrap_err().kind().as_str(),
            "session_config_invalid"
        );
    }
}
