//! Failed-authentication tracking: alerts and temporary blocks.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, UNIX_EPOCH};

use ddf_rbac::{Clock, SystemClock};
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::audit;
use crate::error::ConfigError;

/// Failure-tracking settings; deserializable from service configuration.
///
/// The defaults raise an alert when one client fails more than 10 times in
/// a sliding 300-second window, and do not block.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct BruteForceConfig {
    /// Failures allowed in one window; one more raises the alert.
    pub max_failures: u32,
    /// Length of the sliding window, in seconds.
    pub window_secs: u64,
    /// How long a client address that raised the alert gets 429 responses, in
    /// seconds; 0 disables blocking. Capped at one day, so a victim whose
    /// address an attacker shares is never locked out for good.
    pub block_secs: u64,
    /// Most tracked keys; the least recently used are forgotten first.
    pub max_tracked: u64,
}

impl Default for BruteForceConfig {
    fn default() -> Self {
        Self {
            max_failures: 10,
            window_secs: 300,
            block_secs: 0,
            max_tracked: 100_000,
        }
    }
}

/// Longest block a configuration may set.
const MAX_BLOCK: Duration = Duration::from_secs(24 * 60 * 60);

/// Which kind of key an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dimension {
    /// A client address (IPv6 grouped by /64).
    Client,
    /// One credential, named by its public id (an API-key id), whatever
    /// address the attempts came from.
    Credential,
}

impl Dimension {
    /// Returns the stable name used in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Credential => "credential",
        }
    }
}

/// A raised failed-authentication alert.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Alert {
    /// What `key` identifies.
    pub dimension: Dimension,
    /// The client key (`ip:203.0.113.9`, `ip:2001:db8::/64`) or credential
    /// key (`key:<public id>`).
    pub key: String,
    /// Failures inside the window when the alert was raised.
    pub failures_in_window: u32,
    /// Every failure recorded for the key while it was tracked.
    pub total_failures: u64,
    /// How long the client is blocked, when blocking is on.
    pub blocked_for: Option<Duration>,
}

#[derive(Debug, Default)]
struct Entry {
    /// Failure times in milliseconds, oldest first, at most `max_failures + 1`.
    recent: VecDeque<u64>,
    alert_quiet_until: u64,
    blocked_until: u64,
    total: u64,
}

/// Counts failed authentications per client and per credential id, raises
/// an alert once per window, and optionally blocks the client.
///
/// Only failures whose [`Reason::counts_toward_alert`](crate::Reason::counts_toward_alert)
/// is true are recorded, so outages, rate limits and denied permissions
/// never count. Memory is bounded by `max_tracked` entries of at most
/// `max_failures + 1` timestamps each.
///
/// Alerts go to the audit log (event `authn_login_fail_max`) and, when a
/// channel is attached, to a bounded queue that never blocks a request:
/// alerts that do not fit are dropped and counted.
///
/// ```
/// use std::time::Duration;
/// use ddf_rbac::ManualClock;
/// use ddf_tower::{BruteForceConfig, BruteForceGuard};
///
/// let clock = ManualClock::at_unix_seconds(1_700_000_000);
/// let guard = BruteForceGuard::new(&BruteForceConfig::default())
///     .unwrap()
///     .with_clock(clock.clone());
/// for _ in 0..10 {
///     assert!(guard.record_client_failure("ip:203.0.113.9").is_none());
///     clock.advance(Duration::from_secs(1));
/// }
/// let alert = guard.record_client_failure("ip:203.0.113.9").unwrap();
/// assert_eq!(alert.failures_in_window, 11);
/// ```
#[derive(Clone)]
pub struct BruteForceGuard {
    inner: Arc<Inner>,
}

struct Inner {
    max_failures: u32,
    window_millis: u64,
    block_millis: u64,
    clock: Arc<dyn Clock>,
    entries: moka::sync::Cache<String, Arc<Mutex<Entry>>>,
    alerts: Option<mpsc::Sender<Alert>>,
    dropped_alerts: AtomicU64,
    alerts_raised: AtomicU64,
}

impl fmt::Debug for BruteForceGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BruteForceGuard")
            .field("max_failures", &self.inner.max_failures)
            .field("window_millis", &self.inner.window_millis)
            .field("block_millis", &self.inner.block_millis)
            .field("tracked", &self.inner.entries.entry_count())
            .finish_non_exhaustive()
    }
}

impl BruteForceGuard {
    /// Creates a guard that reads the system clock.
    pub fn new(config: &BruteForceConfig) -> Result<Self, ConfigError> {
        if config.max_failures == 0 || config.max_failures > 10_000 {
            return Err(ConfigError::InvalidLimit {
                setting: "max_failures",
                requirement: "between 1 and 10000",
            });
        }
        if config.window_secs == 0 {
            return Err(ConfigError::InvalidLimit {
                setting: "window_secs",
                requirement: "at least 1",
            });
        }
        if Duration::from_secs(config.block_secs) > MAX_BLOCK {
            return Err(ConfigError::InvalidLimit {
                setting: "block_secs",
                requirement: "at most 86400 (one day)",
            });
        }
        if config.max_tracked == 0 {
            return Err(ConfigError::InvalidLimit {
                setting: "max_tracked",
                requirement: "at least 1",
            });
        }
        let idle = Duration::from_secs(config.window_secs.max(config.block_secs));
        Ok(Self {
            inner: Arc::new(Inner {
                max_failures: config.max_failures,
                window_millis: config.window_secs * 1000,
                block_millis: config.block_secs * 1000,
                clock: Arc::new(SystemClock),
                entries: moka::sync::Cache::builder()
                    .max_capacity(config.max_tracked)
                    .time_to_idle(idle)
                    .build(),
                alerts: None,
                dropped_alerts: AtomicU64::new(0),
                alerts_raised: AtomicU64::new(0),
            }),
        })
    }

    /// Uses `clock` instead of the system clock. Call before sharing the guard.
    #[must_use]
    pub fn with_clock(self, clock: impl Clock) -> Self {
        self.rebuild(|inner| inner.clock = Arc::new(clock))
    }

    /// Sends every alert to a bounded channel of `capacity` as well, and
    /// returns its receiver. Alerts that find the channel full are dropped
    /// and counted by [`dropped_alerts`](Self::dropped_alerts).
    #[must_use]
    pub fn with_alert_channel(self, capacity: usize) -> (Self, mpsc::Receiver<Alert>) {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        (self.rebuild(|inner| inner.alerts = Some(sender)), receiver)
    }

    fn rebuild(self, change: impl FnOnce(&mut Inner)) -> Self {
        let current = &self.inner;
        let mut inner = Inner {
            max_failures: current.max_failures,
            window_millis: current.window_millis,
            block_millis: current.block_millis,
            clock: Arc::clone(&current.clock),
            entries: current.entries.clone(),
            alerts: current.alerts.clone(),
            dropped_alerts: AtomicU64::new(0),
            alerts_raised: AtomicU64::new(0),
        };
        change(&mut inner);
        Self {
            inner: Arc::new(inner),
        }
    }

    fn now_millis(&self) -> u64 {
        let elapsed = self
            .inner
            .clock
            .now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
    }

    /// Records a failure from a client key and returns the alert if this
    /// failure raised one.
    pub fn record_client_failure(&self, client_key: &str) -> Option<Alert> {
        self.record(Dimension::Client, client_key)
    }

    /// Records a failure against a credential's public id (for example an
    /// API-key id), whatever address it came from. Credential alerts never
    /// block: that would let an attacker lock out the credential's owner.
    pub fn record_credential_failure(&self, credential_id: &str) -> Option<Alert> {
        self.record(Dimension::Credential, &format!("key:{credential_id}"))
    }

    fn record(&self, dimension: Dimension, key: &str) -> Option<Alert> {
        let now = self.now_millis();
        let entry = self
            .inner
            .entries
            .get_with_by_ref(key, || Arc::new(Mutex::new(Entry::default())));
        let mut entry = entry.lock().unwrap_or_else(PoisonError::into_inner);

        entry.total += 1;
        entry.recent.push_back(now);
        // The window is (now - window, now]: a failure exactly one window old
        // no longer counts.
        if let Some(window_start) = now.checked_sub(self.inner.window_millis) {
            while entry
                .recent
                .front()
                .is_some_and(|&time| time <= window_start)
            {
                entry.recent.pop_front();
            }
        }
        let limit = self.inner.max_failures as usize;
        while entry.recent.len() > limit + 1 {
            entry.recent.pop_front();
        }

        if entry.recent.len() <= limit || now < entry.alert_quiet_until {
            return None;
        }
        entry.alert_quiet_until = now + self.inner.window_millis;
        let blocked_for =
            (dimension == Dimension::Client && self.inner.block_millis > 0).then(|| {
                entry.blocked_until = now + self.inner.block_millis;
                Duration::from_millis(self.inner.block_millis)
            });
        let alert = Alert {
            dimension,
            key: key.to_owned(),
            failures_in_window: u32::try_from(entry.recent.len()).unwrap_or(u32::MAX),
            total_failures: entry.total,
            blocked_for,
        };
        drop(entry);

        self.inner.alerts_raised.fetch_add(1, Ordering::Relaxed);
        audit::alert(
            dimension.as_str(),
            key,
            alert.failures_in_window,
            alert.total_failures,
            self.inner.window_millis / 1000,
            blocked_for.map(|blocked| blocked.as_secs()),
        );
        crate::metrics::alert(dimension.as_str());
        if let Some(sender) = &self.inner.alerts
            && sender.try_send(alert.clone()).is_err()
        {
            self.inner.dropped_alerts.fetch_add(1, Ordering::Relaxed);
        }
        Some(alert)
    }

    /// Returns how much longer `client_key` is blocked, if it is.
    pub fn blocked_for(&self, client_key: &str) -> Option<Duration> {
        if self.inner.block_millis == 0 {
            return None;
        }
        let entry = self.inner.entries.get(client_key)?;
        let blocked_until = entry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .blocked_until;
        let now = self.now_millis();
        (blocked_until > now).then(|| Duration::from_millis(blocked_until - now))
    }

    /// Returns every failure recorded for `client_key` while it was tracked.
    pub fn client_failures(&self, client_key: &str) -> u64 {
        self.inner.entries.get(client_key).map_or(0, |entry| {
            entry.lock().unwrap_or_else(PoisonError::into_inner).total
        })
    }

    /// Returns the number of alerts raised.
    pub fn alerts_raised(&self) -> u64 {
        self.inner.alerts_raised.load(Ordering::Relaxed)
    }

    /// Returns the number of alerts dropped because the channel was full.
    pub fn dropped_alerts(&self) -> u64 {
        self.inner.dropped_alerts.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use ddf_rbac::ManualClock;

    use super::*;

    const CLIENT: &str = "ip:203.0.113.9";

    fn guard(config: &BruteForceConfig) -> (BruteForceGuard, ManualClock) {
        let clock = ManualClock::at_unix_seconds(1_700_000_000);
        let guard = BruteForceGuard::new(config)
            .unwrap()
            .with_clock(clock.clone());
        (guard, clock)
    }

    #[test]
    fn r04_ten_failures_in_window_raise_nothing() {
        let (guard, clock) = guard(&BruteForceConfig::default());
        for _ in 0..10 {
            assert_eq!(guard.record_client_failure(CLIENT), None);
            clock.advance(Duration::from_secs(29));
        }
        assert_eq!(guard.alerts_raised(), 0);
    }

    #[test]
    fn r04_eleventh_failure_at_299s_raises_one_alert() {
        let (guard, clock) = guard(&BruteForceConfig::default());
        for _ in 0..10 {
            assert_eq!(guard.record_client_failure(CLIENT), None);
        }
        clock.advance(Duration::from_secs(299));
        let alert = guard.record_client_failure(CLIENT).unwrap();
        assert_eq!(alert.dimension, Dimension::Client);
        assert_eq!(alert.key, CLIENT);
        assert_eq!(alert.failures_in_window, 11);
        assert_eq!(alert.blocked_for, None);
        assert_eq!(guard.alerts_raised(), 1);
    }

    #[test]
    fn r04_eleven_failures_over_301s_raise_nothing() {
        let (guard, clock) = guard(&BruteForceConfig::default());
        for index in 0..11 {
            if index > 0 {
                clock.advance(Duration::from_millis(30_100));
            }
            assert_eq!(guard.record_client_failure(CLIENT), None, "failure {index}");
        }
        assert_eq!(guard.alerts_raised(), 0);
        assert_eq!(guard.client_failures(CLIENT), 11);
    }

    #[test]
    fn r04_thousand_failures_raise_one_alert_per_window() {
        let (guard, clock) = guard(&BruteForceConfig::default());
        let mut alerts = 0;
        for _ in 0..1000 {
            alerts += usize::from(guard.record_client_failure(CLIENT).is_some());
            clock.advance(Duration::from_millis(100));
        }
        // 1000 failures over 100 s: all in one window.
        assert_eq!(alerts, 1);
        assert_eq!(guard.client_failures(CLIENT), 1000);

        clock.advance(Duration::from_secs(300));
        for _ in 0..11 {
            alerts += usize::from(guard.record_client_failure(CLIENT).is_some());
        }
        assert_eq!(alerts, 2);
        assert_eq!(guard.client_failures(CLIENT), 1011);
        assert_eq!(guard.alerts_raised(), 2);
    }

    #[test]
    fn r06_credential_dimension_counts_across_addresses() {
        let (guard, _clock) = guard(&BruteForceConfig::default());
        let mut alert = None;
        for octet in 0..11 {
            assert_eq!(
                guard.record_client_failure(&format!("ip:198.51.100.{octet}")),
                None
            );
            alert = guard.record_credential_failure("key-7");
        }
        let alert = alert.unwrap();
        assert_eq!(alert.dimension, Dimension::Credential);
        assert_eq!(alert.key, "key:key-7");
        assert_eq!(alert.blocked_for, None);
    }

    #[test]
    fn r07_block_is_temporary_and_capped() {
        let config = BruteForceConfig {
            block_secs: 60,
            ..BruteForceConfig::default()
        };
        let (guard, clock) = guard(&config);
        for _ in 0..11 {
            guard.record_client_failure(CLIENT);
        }
        assert_eq!(guard.blocked_for(CLIENT), Some(Duration::from_secs(60)));
        clock.advance(Duration::from_secs(59));
        assert_eq!(guard.blocked_for(CLIENT), Some(Duration::from_secs(1)));
        clock.advance(Duration::from_secs(1));
        assert_eq!(guard.blocked_for(CLIENT), None);

        let too_long = BruteForceConfig {
            block_secs: 86_401,
            ..BruteForceConfig::default()
        };
        assert_eq!(
            BruteForceGuard::new(&too_long).unwrap_err(),
            ConfigError::InvalidLimit {
                setting: "block_secs",
                requirement: "at most 86400 (one day)"
            }
        );
    }

    #[test]
    fn r08_tracked_keys_are_bounded() {
        let config = BruteForceConfig {
            max_tracked: 1000,
            ..BruteForceConfig::default()
        };
        let (guard, _clock) = guard(&config);
        for index in 0..20_000u32 {
            guard.record_client_failure(&format!("ip:{index}"));
        }
        guard.inner.entries.run_pending_tasks();
        assert!(guard.inner.entries.entry_count() <= 1000);
    }

    #[test]
    fn r10_full_alert_channel_drops_and_counts() {
        let (guard, _clock) = guard(&BruteForceConfig::default());
        let (guard, mut receiver) = guard.with_alert_channel(1);
        for client in ["ip:192.0.2.1", "ip:192.0.2.2", "ip:192.0.2.3"] {
            for _ in 0..11 {
                guard.record_client_failure(client);
            }
        }
        assert_eq!(guard.alerts_raised(), 3);
        assert_eq!(guard.dropped_alerts(), 2);
        assert_eq!(receiver.try_recv().unwrap().key, "ip:192.0.2.1");
    }
}
