//! A GCRA limiter whose state lives in Redis, shared by every replica.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

use super::{MemoryRateLimiter, RateDecision, RateFuture, RateLimitConfig, RateLimiter};
use crate::error::ConfigError;

/// GCRA in one atomic step. The server's clock (`TIME`) is the only clock, so
/// replicas with skewed clocks share one consistent budget.
///
/// KEYS[1]: the budget key. ARGV[1]: emission interval in microseconds.
/// ARGV[2]: burst. Returns `{allowed, remaining, retry_after_us, reset_us}`.
const GCRA_SCRIPT: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tolerance = interval * burst
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then
  tat = now
end
local new_tat = tat + interval
local allow_at = new_tat - tolerance
if now < allow_at then
  return {0, 0, allow_at - now, tat - now}
end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
local remaining = math.floor((now + tolerance - new_tat) / interval)
return {1, remaining, 0, new_tat - now}
";

/// How long the limiter uses its local fallback after a Redis error before
/// it tries Redis again.
const RETRY_REDIS_AFTER: Duration = Duration::from_secs(5);

/// A GCRA rate limiter whose budgets live in Redis, so every replica of a
/// service draws from the same budget per client.
///
/// Each check is one `EVALSHA` of a Lua script. When Redis is unreachable,
/// slow (past the command timeout) or answers with an error, the check falls
/// back to a per-instance [`MemoryRateLimiter`] with the same quota: limits
/// then apply per replica instead of globally, but never disappear. After a
/// failure Redis is retried after 5 seconds.
pub struct RedisRateLimiter {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    prefix: String,
    timeout: Duration,
    config: RateLimitConfig,
    script: redis::Script,
    fallback: MemoryRateLimiter,
    started: Instant,
    /// Milliseconds after `started` before which Redis is not tried.
    redis_paused_until: AtomicU64,
    fallback_checks: AtomicU64,
}

impl fmt::Debug for RedisRateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The client's connection info may hold a password: left out.
        f.debug_struct("RedisRateLimiter")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl RedisRateLimiter {
    /// Creates a limiter that stores budgets under `prefix` in the Redis
    /// server of `client`. No connection is made until the first check.
    pub fn new(
        client: redis::Client,
        prefix: impl Into<String>,
        config: RateLimitConfig,
    ) -> Result<Self, ConfigError> {
        let fallback = MemoryRateLimiter::new(config.clone())?;
        Ok(Self {
            client,
            connection: OnceCell::new(),
            prefix: prefix.into(),
            timeout: Duration::from_millis(250),
            config,
            script: redis::Script::new(GCRA_SCRIPT),
            fallback,
            started: Instant::now(),
            redis_paused_until: AtomicU64::new(0),
            fallback_checks: AtomicU64::new(0),
        })
    }

    /// Sets the connect and command timeout (default 250 ms).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Returns how many checks used the local fallback.
    pub fn fallback_checks(&self) -> u64 {
        self.fallback_checks.load(Ordering::Relaxed)
    }

    fn elapsed_millis(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        let connection = self
            .connection
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout))
                    .set_number_of_retries(1);
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            })
            .await?;
        Ok(connection.clone())
    }

    async fn check_redis(&self, key: &str) -> redis::RedisResult<RateDecision> {
        let mut connection = self.connection().await?;
        let interval = u64::try_from(self.config.interval().as_micros()).unwrap_or(u64::MAX);
        let mut invocation = self.script.key(format!("{}{key}", self.prefix));
        invocation.arg(interval).arg(self.config.burst);
        let invocation = invocation.invoke_async::<(i64, i64, i64, i64)>(&mut connection);
        let (allowed, remaining, retry_after, reset) =
            tokio::time::timeout(self.timeout, invocation)
                .await
                .map_err(|_| {
                    redis::RedisError::from((redis::ErrorKind::Io, "rate-limit script timed out"))
                })??;
        let micros = |value: i64| Duration::from_micros(u64::try_from(value).unwrap_or(0));
        Ok(if allowed == 1 {
            RateDecision::allow(u32::try_from(remaining).unwrap_or(0), micros(reset))
        } else {
            RateDecision::deny(
                micros(retry_after).max(Duration::from_millis(1)),
                micros(reset),
            )
        })
    }

    async fn check_any(&self, key: &str) -> RateDecision {
        if self.elapsed_millis() >= self.redis_paused_until.load(Ordering::Relaxed) {
            match self.check_redis(key).await {
                Ok(decision) => return decision,
                Err(error) => {
                    let pause = u64::try_from(RETRY_REDIS_AFTER.as_millis()).unwrap_or(u64::MAX);
                    self.redis_paused_until.store(
                        self.elapsed_millis().saturating_add(pause),
                        Ordering::Relaxed,
                    );
                    // Only the error kind: Redis error text can quote the
                    // connection URL, which may carry a password.
                    tracing::warn!(
                        target: crate::audit::TARGET,
                        event = "rate_limit_store_unavailable",
                        error_kind = ?error.kind(),
                        retry_after_secs = RETRY_REDIS_AFTER.as_secs(),
                        "Redis rate-limit store failed; using the per-instance limiter"
                    );
                }
            }
        }
        self.fallback_checks.fetch_add(1, Ordering::Relaxed);
        self.fallback.check_now(key)
    }
}

impl RateLimiter for RedisRateLimiter {
    fn check<'a>(&'a self, key: &'a str) -> RateFuture<'a> {
        Box::pin(self.check_any(key))
    }

    fn quota(&self) -> &RateLimitConfig {
        &self.config
    }
}
