//! Time as a dependency, so that expiry rules can be tested with a pinned clock.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of wall-clock time.
///
/// Every ddf-auth component that checks an expiry takes a `Clock`, so tests can
/// use [`ManualClock`] instead of sleeping.
pub trait Clock: fmt::Debug + Send + Sync + 'static {
    /// Returns the current time.
    fn now(&self) -> SystemTime;

    /// Returns the current time as whole seconds since the Unix epoch
    /// (0 for times before it).
    fn unix_seconds(&self) -> u64 {
        self.now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs())
    }
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that stands still until a test moves it, with millisecond resolution.
///
/// Clones share the same time, so a test can keep one handle and give another
/// to the component under test.
///
/// ```
/// use std::time::Duration;
/// use ddf_rbac::{Clock, ManualClock};
///
/// let clock = ManualClock::at_unix_seconds(1_700_000_000);
/// let shared = clock.clone();
/// clock.advance(Duration::from_secs(90));
/// assert_eq!(shared.unix_seconds(), 1_700_000_090);
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    unix_millis: Arc<AtomicU64>,
}

impl ManualClock {
    /// Creates a clock that reads `seconds` after the Unix epoch.
    #[must_use]
    pub fn at_unix_seconds(seconds: u64) -> Self {
        Self {
            unix_millis: Arc::new(AtomicU64::new(seconds.saturating_mul(1000))),
        }
    }

    /// Sets the time to `seconds` after the Unix epoch.
    pub fn set_unix_seconds(&self, seconds: u64) {
        self.unix_millis
            .store(seconds.saturating_mul(1000), Ordering::SeqCst);
    }

    /// Moves the clock forward by `by`, rounded down to whole milliseconds.
    pub fn advance(&self, by: Duration) {
        let millis = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.unix_millis.fetch_add(millis, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.unix_millis.load(Ordering::SeqCst))
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> SystemTime {
        (**self).now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::at_unix_seconds(100);
        assert_eq!(clock.unix_seconds(), 100);
        clock.advance(Duration::from_millis(1500));
        assert_eq!(clock.unix_seconds(), 101);
        clock.set_unix_seconds(5);
        assert_eq!(clock.unix_seconds(), 5);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.unix_seconds() > 1_577_836_800);
    }
}
