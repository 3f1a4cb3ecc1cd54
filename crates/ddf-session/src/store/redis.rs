//! Redis store: encrypted payloads, digested keys, an atomic per-user limit.

use std::fmt;
use std::future::Future;
use std::sync::LazyLock;
use std::time::Duration;

use hmac::{Hmac, Mac};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};
use serde::Deserialize;
use sha2::Sha256;

use super::{CreateOutcome, RotateOutcome, SessionStore, StoreFuture, UserLimit};
use crate::config::LimitPolicy;
use crate::crypto::{SessionKey, SessionKeys};
use crate::error::{InvalidReason, SessionError};
use crate::id::SessionId;
use crate::session::{Session, unix_millis};

/// Connection and layout settings of a [`RedisStore`].
///
/// The Redis URL is passed to [`RedisStore::connect`] separately, because it
/// may contain a password and this struct is printed by `Debug`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RedisStoreConfig {
    /// Prefix of every key; it becomes the Redis Cluster hash tag, so it must
    /// not contain `{` or `}`. Use one prefix per application.
    pub key_prefix: String,
    /// Time limit for each command, including the wait for a reconnect.
    #[serde(rename = "command_timeout_ms", with = "millis")]
    pub command_timeout: Duration,
    /// Time limit for opening a connection.
    #[serde(rename = "connect_timeout_ms", with = "millis")]
    pub connect_timeout: Duration,
}

impl Default for RedisStoreConfig {
    fn default() -> Self {
        Self {
            key_prefix: "ddf:session".to_owned(),
            command_timeout: Duration::from_millis(250),
            connect_timeout: Duration::from_millis(250),
        }
    }
}

impl RedisStoreConfig {
    /// Returns the default configuration with another key prefix.
    #[must_use]
    pub fn with_key_prefix(mut self, key_prefix: impl Into<String>) -> Self {
        self.key_prefix = key_prefix.into();
        self
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}

/// Creates a session unless its key exists, prunes index members whose
/// session expired, then applies the per-user limit, all in one script so
/// concurrent logins cannot exceed it.
///
/// KEYS: session key, user index. ARGV: payload, TTL ms, index member,
/// creation time ms, limit, policy, session key prefix, index TTL ms.
/// Returns -1 if the id is taken, -2 if the limit rejects, else the number of
/// evicted sessions.
const CREATE_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if redis.call('EXISTS', ARGV[7] .. member) == 0 then
    redis.call('ZREM', KEYS[2], member)
  end
end
local count = redis.call('ZCARD', KEYS[2])
local limit = tonumber(ARGV[5])
local evicted = 0
if count >= limit then
  if ARGV[6] == 'reject' then return -2 end
  for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, count - limit)) do
    redis.call('DEL', ARGV[7] .. member)
    redis.call('ZREM', KEYS[2], member)
    evicted = evicted + 1
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[8]) then
  redis.call('PEXPIRE', KEYS[2], ARGV[8])
end
return evicted
";

/// Moves a session to a new key if the old one still exists.
///
/// KEYS: old session key, new session key, user index. ARGV: payload, TTL ms,
/// old member, new member, creation time ms. Returns 1 when moved, 0 when
/// the old key is gone, -1 when the new key exists.
const ROTATE_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[4])
return 1
";

/// Deletes one session and its index member. KEYS: session key, user index.
/// ARGV: member. Returns the number of deleted session keys.
const DELETE_SCRIPT: &str = r"
local deleted = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return deleted
";

/// Deletes every session of a user and the index. KEYS: user index. ARGV:
/// session key prefix. Returns the number of deleted session keys.
const DELETE_USER_SCRIPT: &str = r"
local deleted = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  deleted = deleted + redis.call('DEL', ARGV[1] .. member)
end
redis.call('DEL', KEYS[1])
return deleted
";

/// Counts the index members whose session key still exists. KEYS: user
/// index. ARGV: session key prefix.
const COUNT_SCRIPT: &str = r"
local live = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  live = live + redis.call('EXISTS', ARGV[1] .. member)
end
return live
";

// Scripts are hashed once; `invoke_async` sends EVALSHA and falls back to EVAL
// after a Redis restart has flushed the script cache.
static CREATE: LazyLock<Script> = LazyLock::new(|| Script::new(CREATE_SCRIPT));
static ROTATE: LazyLock<Script> = LazyLock::new(|| Script::new(ROTATE_SCRIPT));
static DELETE: LazyLock<Script> = LazyLock::new(|| Script::new(DELETE_SCRIPT));
static DELETE_USER: LazyLock<Script> = LazyLock::new(|| Script::new(DELETE_USER_SCRIPT));
static COUNT: LazyLock<Script> = LazyLock::new(|| Script::new(COUNT_SCRIPT));

/// The production session store.
///
/// # Layout
///
/// With the default prefix `ddf:session`:
///
/// - `{ddf:session}:s:<hex SHA-256 of the session id>`: the sealed payload
///   (see [`SessionKeys`]), with a `PX` TTL equal to the session's remaining
///   idle time. The id itself is never stored, so a dump of Redis yields no
///   usable cookie.
/// - `{ddf:session}:u:<hex HMAC-SHA-256 of the subject>`: the user index, a
///   sorted set of session digests scored by creation time (milliseconds).
///   The HMAC key (`index_key`) keeps subjects such as e-mail addresses from
///   being recovered from a dump by guessing. It must stay the same for the
///   life of the data; it is not rotated with the encryption keys.
///
/// The associated data of each payload contains its Redis key and key id, so
/// a payload copied to another key fails to decrypt. Expiry is checked from
/// the decrypted payload on every load, so a lost TTL (`PERSIST`, a replica
/// that missed the expiry) does not extend a session.
///
/// # Atomicity
///
/// Create (with the limit), rotate, delete and delete-all-of-a-user each run
/// as one Lua script. Index members whose session key expired are pruned by
/// the create script before the limit is counted.
///
/// # Redis Cluster
///
/// All keys of one prefix carry the hash tag `{<prefix>}` and therefore map
/// to one hash slot. The scripts touch session keys that they derive from
/// index members. Redis Cluster allows that only within the slot of the keys
/// the script declares, and the shared tag guarantees it. The cost is that one
/// prefix lives on one shard: sessions are small (well under 1 KiB), so one
/// shard holds millions of them. To spread load, give independent
/// applications different prefixes.
///
/// # Failures
///
/// Every command has a deadline (`command_timeout`, default 250 ms). When
/// Redis is unreachable, slow or read-only, every operation returns
/// [`SessionError::StoreUnavailable`]; the connection manager reconnects in
/// the background, so the store recovers without a restart once Redis is
/// back. Sessions lost by a restart without persistence answer
/// `session_invalid`.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    keys: SessionKeys,
    index_mac: Hmac<Sha256>,
    tag: String,
    command_timeout: Duration,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("RedisStore")
            .field("tag", &self.tag)
            .field("keys", &self.keys)
            .field("command_timeout", &self.command_timeout)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Creates a store for the Redis server at `url` (`redis://host:port/db`
    /// or `rediss://` for TLS when the redis crate's TLS feature is on).
    ///
    /// The connection is opened lazily, so the service starts while Redis is
    /// down; session operations fail with `session_store_unavailable` until it
    /// is reachable.
    ///
    /// # Errors
    ///
    /// [`SessionError::Config`] for an invalid URL, key prefix or timeout, or
    /// when called outside a Tokio runtime. The URL is never included in the
    /// message because it may hold a password.
    pub fn connect(
        url: &str,
        config: &RedisStoreConfig,
        keys: SessionKeys,
        index_key: &SessionKey,
    ) -> Result<Self, SessionError> {
        if config.key_prefix.is_empty() || config.key_prefix.contains(['{', '}']) {
            return Err(SessionError::Config(
                "Redis key prefix must be non-empty and contain no braces",
            ));
        }
        if config.command_timeout.is_zero() || config.connect_timeout.is_zero() {
            return Err(SessionError::Config("Redis timeouts must be positive"));
        }
        // The connection manager spawns its reconnect task on the current
        // Tokio runtime and panics without one.
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(SessionError::Config(
                "RedisStore::connect must be called inside a Tokio runtime",
            ));
        }
        let client =
            redis::Client::open(url).map_err(|_| SessionError::Config("invalid Redis URL"))?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.connect_timeout))
            .set_response_timeout(Some(config.command_timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let connection = ConnectionManager::new_lazy_with_config(client, manager_config)
            .map_err(|_| SessionError::Config("invalid Redis connection settings"))?;
        let index_mac = Hmac::<Sha256>::new_from_slice(index_key.as_bytes())
            .map_err(|_| SessionError::Config("invalid index key"))?;

        Ok(Self {
            connection,
            keys,
            index_mac,
            tag: format!("{{{}}}", config.key_prefix),
            command_timeout: config.command_timeout,
        })
    }

    /// Returns the Redis key of the session `id`. Exposed so tests and
    /// operators can inspect an entry; it reveals nothing about the id.
    pub fn session_key(&self, id: &SessionId) -> String {
        format!("{}:s:{}", self.tag, hex::encode(id.digest()))
    }

    /// Returns the Redis key of the index of `subject`'s sessions.
    pub fn user_index_key(&self, subject: &str) -> String {
        let mut mac = self.index_mac.clone();
        mac.update(subject.as_bytes());
        format!(
            "{}:u:{}",
            self.tag,
            hex::encode(mac.finalize().into_bytes())
        )
    }

    fn session_key_prefix(&self) -> String {
        format!("{}:s:", self.tag)
    }

    /// Runs one Redis call under the command deadline, mapping every failure
    /// to `StoreUnavailable`.
    async fn run<T, F>(&self, operation: &'static str, call: F) -> Result<T, SessionError>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        match tokio::time::timeout(self.command_timeout, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                tracing::warn!(
                    event = "session_store_error",
                    operation,
                    error = %error,
                    "session store command failed"
                );
                Err(SessionError::unavailable(operation, error))
            }
            Err(elapsed) => {
                tracing::warn!(
                    event = "session_store_timeout",
                    operation,
                    "session store command timed out"
                );
                Err(SessionError::unavailable(operation, elapsed))
            }
        }
    }

    async fn create_impl(
        &self,
        id: &SessionId,
        session: &Session,
        ttl: Duration,
        limit: UserLimit,
    ) -> Result<CreateOutcome, SessionError> {
        let key = self.session_key(id);
        let payload = self.keys.seal(key.as_bytes(), session)?;
        let index_ttl = session
            .absolute_expires_ms()
            .saturating_sub(unix_millis(session.created()))
            .max(ttl_millis(ttl));
        let policy = match limit.policy {
            LimitPolicy::Reject => "reject",
            LimitPolicy::EvictOldest => "evict",
        };

        let mut connection = self.connection.clone();
        let mut invocation = CREATE.key(&key);
        invocation
            .key(self.user_index_key(session.principal().subject()))
            .arg(payload)
            .arg(ttl_millis(ttl))
            .arg(hex::encode(id.digest()))
            .arg(session.created_ms())
            .arg(limit.max_sessions)
            .arg(policy)
            .arg(self.session_key_prefix())
            .arg(index_ttl);
        let result: i64 = self
            .run("create", invocation.invoke_async(&mut connection))
            .await?;

        match result {
            -1 => Ok(CreateOutcome::IdTaken),
            -2 => Err(SessionError::LimitReached {
                limit: limit.max_sessions,
            }),
            evicted => Ok(CreateOutcome::Created {
                evicted: u32::try_from(evicted).unwrap_or(0),
            }),
        }
    }

    async fn load_impl(&self, id: &SessionId) -> Result<Option<Session>, SessionError> {
        let key = self.session_key(id);
        let mut connection = self.connection.clone();
        let payload: Option<Vec<u8>> = self.run("load", connection.get(&key)).await?;
        let Some(payload) = payload else {
            return Ok(None);
        };

        match self.keys.open(key.as_bytes(), &payload) {
            Ok(session) => Ok(Some(session)),
            Err(error) => {
                tracing::warn!(
                    event = "crypt_decrypt_fail",
                    reason = InvalidReason::DecryptFailed.as_str(),
                    "session payload failed to decrypt; deleting it"
                );
                // The entry is useless; removing it stops repeated failures.
                // A failure here changes nothing for the caller, who is
                // rejected either way.
                let _: Result<i64, _> = self.run("delete", connection.del(&key)).await;
                Err(error)
            }
        }
    }

    async fn save_impl(
        &self,
        id: &SessionId,
        session: &Session,
        ttl: Duration,
    ) -> Result<bool, SessionError> {
        let key = self.session_key(id);
        let payload = self.keys.seal(key.as_bytes(), session)?;
        let mut connection = self.connection.clone();
        let mut command = redis::cmd("SET");
        command
            .arg(&key)
            .arg(payload)
            .arg("XX")
            .arg("PX")
            .arg(ttl_millis(ttl));
        let written: Option<String> = self
            .run("save", command.query_async(&mut connection))
            .await?;
        Ok(written.is_some())
    }

    async fn rotate_impl(
        &self,
        old: &SessionId,
        new: &SessionId,
        session: &Session,
        ttl: Duration,
    ) -> Result<RotateOutcome, SessionError> {
        let new_key = self.session_key(new);
        let payload = self.keys.seal(new_key.as_bytes(), session)?;
        let mut connection = self.connection.clone();
        let mut invocation = ROTATE.key(self.session_key(old));
        invocation
            .key(&new_key)
            .key(self.user_index_key(session.principal().subject()))
            .arg(payload)
            .arg(ttl_millis(ttl))
            .arg(hex::encode(old.digest()))
            .arg(hex::encode(new.digest()))
            .arg(session.created_ms());
        let result: i64 = self
            .run("rotate", invocation.invoke_async(&mut connection))
            .await?;
        Ok(match result {
            1 => RotateOutcome::Rotated,
            -1 => RotateOutcome::NewTaken,
            _ => RotateOutcome::OldMissing,
        })
    }

    async fn delete_impl(&self, id: &SessionId, subject: &str) -> Result<bool, SessionError> {
        let mut connection = self.connection.clone();
        let mut invocation = DELETE.key(self.session_key(id));
        invocation
            .key(self.user_index_key(subject))
            .arg(hex::encode(id.digest()));
        let deleted: i64 = self
            .run("delete", invocation.invoke_async(&mut connection))
            .await?;
        Ok(deleted > 0)
    }

    async fn user_script(
        &self,
        operation: &'static str,
        script: &Script,
        subject: &str,
    ) -> Result<usize, SessionError> {
        let mut connection = self.connection.clone();
        let mut invocation = script.key(self.user_index_key(subject));
        invocation.arg(self.session_key_prefix());
        let count: i64 = self
            .run(operation, invocation.invoke_async(&mut connection))
            .await?;
        Ok(usize::try_from(count).unwrap_or(0))
    }
}

fn ttl_millis(ttl: Duration) -> u64 {
    // Redis rejects a zero TTL; one millisecond expires at once just the same.
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl SessionStore for RedisStore {
    fn create<'a>(
        &'a self,
        id: &'a SessionId,
        session: &'a Session,
        ttl: Duration,
        limit: UserLimit,
    ) -> StoreFuture<'a, CreateOutcome> {
        Box::pin(self.create_impl(id, session, ttl, limit))
    }

    fn load<'a>(&'a self, id: &'a SessionId) -> StoreFuture<'a, Option<Session>> {
        Box::pin(self.load_impl(id))
    }

    fn save<'a>(
        &'a self,
        id: &'a SessionId,
        session: &'a Session,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        Box::pin(self.save_impl(id, session, ttl))
    }

    fn rotate<'a>(
        &'a self,
        old: &'a SessionId,
        new: &'a SessionId,
        session: &'a Session,
        ttl: Duration,
    ) -> StoreFuture<'a, RotateOutcome> {
        Box::pin(self.rotate_impl(old, new, session, ttl))
    }

    fn delete<'a>(&'a self, id: &'a SessionId, subject: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(self.delete_impl(id, subject))
    }

    fn delete_user<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, usize> {
        Box::pin(self.user_script("delete_user", &DELETE_USER, subject))
    }

    fn count_user<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, usize> {
        Box::pin(self.user_script("count_user", &COUNT, subject))
    }
}
