//! The stored session: principal, application data and expiry times.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ddf_rbac::Principal;
use serde::{Deserialize, Serialize};

use crate::config::SessionConfig;
use crate::error::{InvalidReason, SessionError};

/// Maximum number of entries in [`SessionData`].
pub const MAX_DATA_ENTRIES: usize = 32;
/// Maximum length of one [`SessionData`] key, in bytes.
pub const MAX_DATA_KEY_BYTES: usize = 64;
/// Maximum length of one [`SessionData`] value, in bytes.
pub const MAX_DATA_VALUE_BYTES: usize = 1024;
/// Maximum total length of all keys and values in [`SessionData`], in bytes.
pub const MAX_DATA_TOTAL_BYTES: usize = 4096;

/// A small map of application data kept with a session (UI preferences, a
/// selected model). It is encrypted with the session in Redis; still, keep
/// tokens and other credentials out of it.
///
/// Size caps keep every session small: at most [`MAX_DATA_ENTRIES`] entries,
/// keys up to [`MAX_DATA_KEY_BYTES`], values up to [`MAX_DATA_VALUE_BYTES`]
/// and [`MAX_DATA_TOTAL_BYTES`] in all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionData(BTreeMap<String, String>);

impl SessionData {
    /// Creates an empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts or replaces an entry.
    ///
    /// # Errors
    ///
    /// [`SessionError::DataTooLarge`] when the entry would break a size cap;
    /// the map is unchanged then.
    pub fn insert(
        &mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<(), SessionError> {
        let key = key.into();
        let value = value.into();
        if key.len() > MAX_DATA_KEY_BYTES {
            return Err(SessionError::DataTooLarge {
                what: "key bytes",
                cap: MAX_DATA_KEY_BYTES,
            });
        }
        if value.len() > MAX_DATA_VALUE_BYTES {
            return Err(SessionError::DataTooLarge {
                what: "value bytes",
                cap: MAX_DATA_VALUE_BYTES,
            });
        }
        if !self.0.contains_key(&key) && self.0.len() >= MAX_DATA_ENTRIES {
            return Err(SessionError::DataTooLarge {
                what: "entries",
                cap: MAX_DATA_ENTRIES,
            });
        }
        let replaced = self.0.get(&key).map_or(0, |old| key.len() + old.len());
        if self.total_bytes() - replaced + key.len() + value.len() > MAX_DATA_TOTAL_BYTES {
            return Err(SessionError::DataTooLarge {
                what: "total bytes",
                cap: MAX_DATA_TOTAL_BYTES,
            });
        }
        self.0.insert(key, value);
        Ok(())
    }

    /// Returns the value stored under `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Removes an entry and returns its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.0.remove(key)
    }

    /// Returns the number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Returns whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates over the entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
    }

    fn total_bytes(&self) -> usize {
        self.0
            .iter()
            .map(|(key, value)| key.len() + value.len())
            .sum()
    }

    /// Checks the caps on a map that came from a store rather than from
    /// [`SessionData::insert`].
    pub(crate) fn within_caps(&self) -> bool {
        self.0.len() <= MAX_DATA_ENTRIES
            && self.total_bytes() <= MAX_DATA_TOTAL_BYTES
            && self.0.iter().all(|(key, value)| {
                key.len() <= MAX_DATA_KEY_BYTES && value.len() <= MAX_DATA_VALUE_BYTES
            })
    }
}

/// One session: who signed in, application data and the four timestamps that
/// decide its lifetime. Times are kept in milliseconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Session {
    principal: Principal,
    #[serde(default)]
    data: SessionData,
    created_ms: u64,
    last_seen_ms: u64,
    idle_expires_ms: u64,
    absolute_expires_ms: u64,
}

impl Session {
    /// Creates a session for `principal` starting at `now`, with expiry times
    /// from `config`.
    #[must_use]
    pub fn new(principal: Principal, now: SystemTime, config: &SessionConfig) -> Self {
        let now_ms = unix_millis(now);
        let absolute_expires_ms = now_ms.saturating_add(millis(config.absolute_lifetime));
        let idle_expires_ms = now_ms
            .saturating_add(millis(config.idle_timeout))
            .min(absolute_expires_ms);
        Self {
            principal,
            data: SessionData::new(),
            created_ms: now_ms,
            last_seen_ms: now_ms,
            idle_expires_ms,
            absolute_expires_ms,
        }
    }

    /// Returns the principal the session authenticates.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// Returns the application data.
    pub fn data(&self) -> &SessionData {
        &self.data
    }

    /// Returns the application data for changing; persist the change with
    /// [`SessionManager::set_data`](crate::SessionManager::set_data).
    pub fn data_mut(&mut self) -> &mut SessionData {
        &mut self.data
    }

    /// Returns when the session was created.
    pub fn created(&self) -> SystemTime {
        from_millis(self.created_ms)
    }

    /// Returns when the session was last written (created or refreshed).
    /// Reads between refreshes do not update it, so it lags the true last
    /// request by at most the idle timeout minus the refresh threshold.
    pub fn last_seen(&self) -> SystemTime {
        from_millis(self.last_seen_ms)
    }

    /// Returns when the session expires unless refreshed.
    pub fn idle_expires_at(&self) -> SystemTime {
        from_millis(self.idle_expires_ms)
    }

    /// Returns when the session expires regardless of activity.
    pub fn absolute_expires_at(&self) -> SystemTime {
        from_millis(self.absolute_expires_ms)
    }

    /// Checks both expiry times against `now`. A session is expired from the
    /// expiry instant on.
    ///
    /// # Errors
    ///
    /// [`SessionError::Invalid`] with [`InvalidReason::AbsoluteExpired`] or
    /// [`InvalidReason::IdleExpired`].
    pub fn check_expiry(&self, now: SystemTime) -> Result<(), SessionError> {
        let now_ms = unix_millis(now);
        if now_ms >= self.absolute_expires_ms {
            return Err(SessionError::invalid(InvalidReason::AbsoluteExpired));
        }
        if now_ms >= self.idle_expires_ms {
            return Err(SessionError::invalid(InvalidReason::IdleExpired));
        }
        Ok(())
    }

    /// Returns the time left until the session expires, or zero.
    pub fn remaining(&self, now: SystemTime) -> Duration {
        Duration::from_millis(self.idle_expires_ms.saturating_sub(unix_millis(now)))
    }

    /// Returns whether a refresh at `now` would extend the session: less than
    /// the refresh threshold remains and the absolute expiry still leaves room.
    pub fn needs_refresh(&self, now: SystemTime, config: &SessionConfig) -> bool {
        self.remaining(now) < config.refresh_threshold
            && self.idle_expires_ms < self.absolute_expires_ms
    }

    /// Extends the idle expiry to `now + idle_timeout`, capped at the absolute
    /// expiry, and records `now` as last seen.
    pub fn refresh(&mut self, now: SystemTime, config: &SessionConfig) {
        let now_ms = unix_millis(now);
        self.last_seen_ms = now_ms;
        self.idle_expires_ms = now_ms
            .saturating_add(millis(config.idle_timeout))
            .min(self.absolute_expires_ms)
            .max(self.idle_expires_ms);
    }

    pub(crate) fn set_principal(&mut self, principal: Principal) {
        self.principal = principal;
    }

    pub(crate) fn set_data(&mut self, data: SessionData) {
        self.data = data;
    }

    /// Returns the creation time in Unix milliseconds (the eviction order).
    pub(crate) fn created_ms(&self) -> u64 {
        self.created_ms
    }

    /// Returns the absolute expiry in Unix milliseconds.
    #[cfg(feature = "redis")]
    pub(crate) fn absolute_expires_ms(&self) -> u64 {
        self.absolute_expires_ms
    }

    /// Checks invariants of a session decoded from a store.
    pub(crate) fn is_consistent(&self) -> bool {
        self.created_ms <= self.last_seen_ms
            && self.idle_expires_ms <= self.absolute_expires_ms
            && self.data.within_caps()
    }
}

pub(crate) fn unix_millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, millis)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn from_millis(unix_ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(unix_ms)
}

#[cfg(test)]
mod tests {
    use ddf_rbac::AuthMethod;

    use super::*;

    const T0: u64 = 1_700_000_000;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(T0 + seconds)
    }

    fn session() -> Session {
        Session::new(
            Principal::new("user-1", AuthMethod::Jwt),
            at(0),
            &SessionConfig::production(),
        )
    }

    #[test]
    fn s05_expired_from_idle_instant() {
        let session = session();
        assert!(session.check_expiry(at(3599)).is_ok());
        assert_eq!(
            session.check_expiry(at(3600)).unwrap_err().invalid_reason(),
            Some(InvalidReason::IdleExpired)
        );
        assert_eq!(
            session.check_expiry(at(3601)).unwrap_err().invalid_reason(),
            Some(InvalidReason::IdleExpired)
        );
    }

    #[test]
    fn s06_refresh_only_below_threshold() {
        let config = SessionConfig::production();
        let session = session();
        assert!(!session.needs_refresh(at(3600 - 360), &config));
        assert!(!session.needs_refresh(at(3600 - 300), &config));
        assert!(session.needs_refresh(at(3600 - 240), &config));
    }

    #[test]
    fn s08_refresh_never_passes_absolute_expiry() {
        let config = SessionConfig::production();
        let mut session = session();
        let mut now = 0;
        while session.needs_refresh(at(now + 3360), &config) {
            now += 3360;
            session.refresh(at(now), &config);
        }
        assert_eq!(session.idle_expires_at(), at(12 * 3600));
        assert_eq!(session.absolute_expires_at(), at(12 * 3600));
        assert_eq!(
            session
                .check_expiry(at(12 * 3600))
                .unwrap_err()
                .invalid_reason(),
            Some(InvalidReason::AbsoluteExpired)
        );
    }

    #[test]
    fn data_caps_enforced() {
        let mut data = SessionData::new();
        assert_eq!(
            data.insert("k".repeat(65), "v")
                .unwrap_err()
                .kind()
                .as_str(),
            "session_data_too_large"
        );
        assert_eq!(
            data.insert("k", "v".repeat(1025))
                .unwrap_err()
                .kind()
                .as_str(),
            "session_data_too_large"
        );
        for index in 0..MAX_DATA_ENTRIES {
            data.insert(format!("key-{index}"), "v").unwrap();
        }
        assert!(matches!(
            data.insert("one-more", "v"),
            Err(SessionError::DataTooLarge {
                what: "entries",
                ..
            })
        ));
        data.insert("key-0", "replaced").unwrap();
        assert_eq!(data.get("key-0"), Some("replaced"));

        let mut big = SessionData::new();
        for index in 0..4 {
            big.insert(format!("k{index}"), "v".repeat(1000)).unwrap();
        }
        assert!(matches!(
            big.insert("k4", "v".repeat(1000)),
            Err(SessionError::DataTooLarge {
                what: "total bytes",
                ..
            })
        ));
    }
}
