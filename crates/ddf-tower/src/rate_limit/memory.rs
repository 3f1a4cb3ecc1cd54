//! The in-memory GCRA limiter: governor's algorithm over a bounded moka map.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use ddf_rbac::{Clock, SystemClock};
use governor::Quota;
use governor::clock::Clock as GovernorClock;
use governor::middleware::StateInformationMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed, StateStore};

use super::{RateDecision, RateFuture, RateLimitConfig, RateLimiter};
use crate::error::ConfigError;

/// Adapts a [`ddf_rbac::Clock`] to governor's clock trait, so tests can drive
/// the limiter with [`ddf_rbac::ManualClock`].
#[derive(Clone)]
struct ClockAdapter(Arc<dyn Clock>);

impl GovernorClock for ClockAdapter {
    type Instant = Duration;

    fn now(&self) -> Duration {
        self.0.now().duration_since(UNIX_EPOCH).unwrap_or_default()
    }
}

/// Per-key GCRA states in a bounded cache.
///
/// An entry idle for a whole period holds no information (its budget is
/// full again), so the idle timeout loses nothing; the capacity bound only
/// resets the budgets of the least recently used keys.
struct BoundedStates {
    states: moka::sync::Cache<String, Arc<InMemoryState>>,
}

impl StateStore for BoundedStates {
    type Key = String;

    fn measure_and_replace<T, F, E>(&self, key: &String, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let state = self
            .states
            .get_with_by_ref(key, || Arc::new(InMemoryState::default()));
        state.measure_and_replace(&NotKeyed::NonKey, f)
    }
}

type Governor =
    governor::RateLimiter<String, BoundedStates, ClockAdapter, StateInformationMiddleware>;

/// An in-process GCRA rate limiter (the `governor` crate) whose per-key
/// state lives in a bounded cache of at most `max_keys` entries.
///
/// ```
/// use std::time::Duration;
/// use ddf_rbac::ManualClock;
/// use ddf_tower::{MemoryRateLimiter, RateLimitConfig, RateLimiter};
///
/// # tokio_test_block_on(async {
/// let clock = ManualClock::at_unix_seconds(1_700_000_000);
/// let quota = RateLimitConfig::new(2, Duration::from_secs(60));
/// let limiter = MemoryRateLimiter::with_clock(quota, clock.clone()).unwrap();
/// assert!(limiter.check("ip:192.0.2.1").await.allowed);
/// assert!(limiter.check("ip:192.0.2.1").await.allowed);
/// let third = limiter.check("ip:192.0.2.1").await;
/// assert!(!third.allowed);
/// assert_eq!(third.retry_after, Some(Duration::from_secs(30)));
/// clock.advance(Duration::from_secs(30));
/// assert!(limiter.check("ip:192.0.2.1").await.allowed);
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(future: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(future)
/// # }
/// ```
pub struct MemoryRateLimiter {
    config: RateLimitConfig,
    governor: Governor,
    clock: ClockAdapter,
    /// A handle on the cache inside `governor`, for eviction statistics.
    states: moka::sync::Cache<String, Arc<InMemoryState>>,
}

impl fmt::Debug for MemoryRateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryRateLimiter")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl MemoryRateLimiter {
    /// Creates a limiter on the system clock.
    pub fn new(config: RateLimitConfig) -> Result<Self, ConfigError> {
        Self::with_clock(config, SystemClock)
    }

    /// Creates a limiter on `clock`.
    pub fn with_clock(config: RateLimitConfig, clock: impl Clock) -> Result<Self, ConfigError> {
        config.validate()?;
        let burst = NonZeroU32::new(config.burst).ok_or(ConfigError::InvalidLimit {
            setting: "burst",
            requirement: "at least 1",
        })?;
        let quota = Quota::with_period(config.interval())
            .ok_or(ConfigError::InvalidLimit {
                setting: "period_secs",
                requirement: "long enough for one request per nanosecond",
            })?
            .allow_burst(burst);
        let states: moka::sync::Cache<String, Arc<InMemoryState>> = moka::sync::Cache::builder()
            .max_capacity(config.max_keys)
            .time_to_idle(Duration::from_secs(config.period_secs))
            .build();
        let clock = ClockAdapter(Arc::new(clock));
        let store = BoundedStates {
            states: states.clone(),
        };
        let governor: Governor = governor::RateLimiter::new(quota, store, clock.clone());
        Ok(Self {
            config,
            governor,
            clock,
            states,
        })
    }

    /// Takes one request from `key`'s budget, synchronously.
    pub fn check_now(&self, key: &str) -> RateDecision {
        let interval = self.config.interval();
        match self.governor.check_key(&key.to_owned()) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let reset = interval * (self.config.burst - remaining.min(self.config.burst));
                RateDecision::allow(remaining, reset)
            }
            Err(not_until) => {
                let retry_after = not_until.wait_time_from(self.clock.now());
                let reset = interval * self.config.burst;
                RateDecision::deny(retry_after, reset)
            }
        }
    }

    /// Returns the number of tracked keys (after pending evictions).
    pub fn tracked_keys(&self) -> u64 {
        self.states.run_pending_tasks();
        self.states.entry_count()
    }
}

impl RateLimiter for MemoryRateLimiter {
    fn check<'a>(&'a self, key: &'a str) -> RateFuture<'a> {
        Box::pin(std::future::ready(self.check_now(key)))
    }

    fn quota(&self) -> &RateLimitConfig {
        &self.config
    }

    fn try_check_now(&self, key: &str) -> Option<RateDecision> {
        Some(self.check_now(key))
    }
}
