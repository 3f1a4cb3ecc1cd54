//! Settings of a remote JWKS source, with secure defaults.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::JwtError;

/// Largest accepted [`RemoteJwksConfig::max_stale`]: 24 hours. Keys held
/// longer than that without a successful fetch are not trusted.
pub const MAX_STALE_LIMIT: Duration = Duration::from_secs(24 * 60 * 60);

/// Largest `Retry-After` honoured; a longer one is cut to this, so a
/// misbehaving server cannot stop refreshes for days.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(10 * 60);

/// Fetch and cache settings of a [`crate::RemoteJwks`].
///
/// In configuration files every duration is a number of seconds under a
/// name ending in `_seconds` (fractions allowed):
///
/// ```
/// let config: ddf_jwt::RemoteJwksConfig = serde_json::from_str(
///     r#"{"timeout_seconds": 2, "max_stale_seconds": 7200}"#,
/// ).unwrap();
/// assert_eq!(config.timeout.as_secs(), 2);
/// assert_eq!(config.max_keys, 64);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RemoteJwksConfig {
    /// Deadline for one fetch: connecting, headers and the whole body.
    /// Default 5 s.
    #[serde(rename = "timeout_seconds", deserialize_with = "seconds")]
    pub timeout: Duration,
    /// Deadline for opening the connection (TCP and TLS). Default 1 s.
    /// Applies to the built-in client only; a supplied client keeps its own.
    #[serde(rename = "connect_timeout_seconds", deserialize_with = "seconds")]
    pub connect_timeout: Duration,
    /// Largest accepted body in bytes, enforced while reading. Default 64 KiB.
    pub max_body_bytes: usize,
    /// Largest number of entries in `keys`; a longer document is rejected
    /// and the previous set kept. Default 64.
    pub max_keys: usize,
    /// How long a fetched set is fresh when the response has no
    /// `Cache-Control: max-age`. Default 10 minutes.
    #[serde(rename = "refresh_interval_seconds", deserialize_with = "seconds")]
    pub refresh_interval: Duration,
    /// Lower bound applied to `Cache-Control: max-age`. Default 1 minute.
    #[serde(rename = "min_refresh_interval_seconds", deserialize_with = "seconds")]
    pub min_refresh_interval: Duration,
    /// Upper bound applied to `Cache-Control: max-age`; it also bounds how
    /// long a key removed by the provider keeps verifying. Default 1 hour.
    #[serde(rename = "max_refresh_interval_seconds", deserialize_with = "seconds")]
    pub max_refresh_interval: Duration,
    /// The background refresh starts this long before the set stops being
    /// fresh (at most half its lifetime). Default 30 s.
    #[serde(rename = "refresh_ahead_seconds", deserialize_with = "seconds")]
    pub refresh_ahead: Duration,
    /// How long past its freshness a set is still used while fetches fail
    /// (last known good). Default 1 hour; at most [`MAX_STALE_LIMIT`].
    #[serde(rename = "max_stale_seconds", deserialize_with = "seconds")]
    pub max_stale: Duration,
    /// Minimum time between two fetches caused by tokens naming an unknown
    /// `kid`, however many such tokens arrive. Default 30 s.
    #[serde(rename = "unknown_kid_cooldown_seconds", deserialize_with = "seconds")]
    pub unknown_kid_cooldown: Duration,
    /// Entries in the negative cache of `kid`s that a fetch did not find.
    /// Default 128.
    pub negative_cache_capacity: u64,
    /// How long a `kid` stays in the negative cache. Default 5 minutes.
    #[serde(rename = "negative_cache_ttl_seconds", deserialize_with = "seconds")]
    pub negative_cache_ttl: Duration,
    /// First delay before retrying a failed fetch in the background; it
    /// doubles per failure, with jitter. Default 1 s.
    #[serde(rename = "retry_initial_backoff_seconds", deserialize_with = "seconds")]
    pub retry_initial_backoff: Duration,
    /// Largest retry delay. Default 2 minutes.
    #[serde(rename = "retry_max_backoff_seconds", deserialize_with = "seconds")]
    pub retry_max_backoff: Duration,
    /// Runs the background task that fetches at start, refreshes ahead of
    /// expiry and retries failures. Default `true`; without it only
    /// [`crate::RemoteJwks::refresh`] and unknown-`kid` tokens fetch.
    pub background_refresh: bool,
    /// Allows plain `http` to the loopback IP literals 127.0.0.0/8 and `::1`.
    ///
    /// **Warning:** for tests and local development only. Over plain http
    /// anyone on the path can substitute the keys. Host names such as
    /// `localhost` stay rejected. Default `false`.
    pub danger_allow_http_loopback: bool,
}

impl Default for RemoteJwksConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(1),
            max_body_bytes: 64 * 1024,
            max_keys: 64,
            refresh_interval: Duration::from_secs(10 * 60),
            min_refresh_interval: Duration::from_secs(60),
            max_refresh_interval: Duration::from_secs(60 * 60),
            refresh_ahead: Duration::from_secs(30),
            max_stale: Duration::from_secs(60 * 60),
            unknown_kid_cooldown: Duration::from_secs(30),
            negative_cache_capacity: 128,
            negative_cache_ttl: Duration::from_secs(5 * 60),
            retry_initial_backoff: Duration::from_secs(1),
            retry_max_backoff: Duration::from_secs(2 * 60),
            background_refresh: true,
            danger_allow_http_loopback: false,
        }
    }
}

impl RemoteJwksConfig {
    /// Checks that the settings are consistent and within bounds.
    ///
    /// # Errors
    ///
    /// [`JwtError::ConfigInvalid`] naming the setting and its allowed range.
    pub fn validate(&self) -> Result<(), JwtError> {
        let check = |ok: bool, message: &str| {
            if ok {
                Ok(())
            } else {
                Err(JwtError::config(message.to_owned()))
            }
        };
        check(
            !self.timeout.is_zero() && self.timeout <= Duration::from_secs(60),
            "timeout must be between 1 ms and 60 s",
        )?;
        check(
            !self.connect_timeout.is_zero() && self.connect_timeout <= self.timeout,
            "connect_timeout must be positive and at most timeout",
        )?;
        check(
            (1..=16 * 1024 * 1024).contains(&self.max_body_bytes),
            "max_body_bytes must be between 1 and 16 MiB",
        )?;
        check(
            (1..=4096).contains(&self.max_keys),
            "max_keys must be between 1 and 4096",
        )?;
        check(
            self.min_refresh_interval >= Duration::from_secs(1),
            "min_refresh_interval must be at least 1 s",
        )?;
        check(
            self.min_refresh_interval <= self.refresh_interval
                && self.refresh_interval <= self.max_refresh_interval,
            "refresh_interval must lie between min_refresh_interval and max_refresh_interval",
        )?;
        check(
            self.max_stale <= MAX_STALE_LIMIT,
            "max_stale must be at most 24 hours",
        )?;
        check(
            self.unknown_kid_cooldown >= Duration::from_secs(1),
            "unknown_kid_cooldown must be at least 1 s, or tokens with random kids could trigger a fetch each",
        )?;
        check(
            (1..=1_000_000).contains(&self.negative_cache_capacity),
            "negative_cache_capacity must be between 1 and 1 000 000",
        )?;
        check(
            !self.retry_initial_backoff.is_zero()
                && self.retry_initial_backoff <= self.retry_max_backoff,
            "retry_initial_backoff must be positive and at most retry_max_backoff",
        )?;
        Ok(())
    }

    /// Returns how long a response stays fresh: its `max-age` within
    /// `[min_refresh_interval, max_refresh_interval]`, else `refresh_interval`.
    pub(crate) fn freshness(&self, max_age: Option<Duration>) -> Duration {
        max_age.map_or(self.refresh_interval, |age| {
            age.clamp(self.min_refresh_interval, self.max_refresh_interval)
        })
    }
}

fn seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let value = f64::deserialize(deserializer)?;
    Duration::try_from_secs_f64(value).map_err(serde::de::Error::custom)
}
