//! A key store in Redis, shared by every replica of a service.
//!
//! Layout under the configured prefix `P`:
//!
//! | key | type | value |
//! |---|---|---|
//! | `P:key:<digest hex>` | hash | `record` (JSON of [`KeyRecord`]), `revoked_at` (Unix seconds) |
//! | `P:id:<id>` | string | digest hex |
//! | `P:owner:<owner>` | set | ids |
//!
//! There is no local cache: every verification reads Redis, so an issued,
//! revoked or expired key is seen by every replica on its next request. The
//! bound is the command timeout (250 ms by default) plus Redis replication lag
//! if replicas read from Redis replicas. Writes run as Lua scripts that build
//! their keys from the prefix, so on Redis Cluster use a prefix with a hash
//! tag, such as `{ddf-apikey}`.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisResult, Script};
use serde::Deserialize;

use crate::error::ApiKeyError;
use crate::key::KeyDigest;
use crate::record::KeyRecord;
use crate::store::{KeyStore, StoreFuture};

/// Settings of a [`RedisKeyStore`].
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisKeyStoreConfig {
    /// Redis URL, e.g. `redis://127.0.0.1:6379` or `rediss://user:pass@host`.
    pub url: String,
    /// Prefix of every key the store writes.
    pub prefix: String,
    /// Time limit for opening a connection, in milliseconds. Default 250.
    pub connect_timeout_ms: u64,
    /// Time limit for each store operation, in milliseconds. Default 250.
    pub command_timeout_ms: u64,
}

impl Default for RedisKeyStoreConfig {
    fn default() -> Self {
        Self {
            url: "redis://127.0.0.1:6379".to_owned(),
            prefix: "ddf:apikey".to_owned(),
            connect_timeout_ms: 250,
            command_timeout_ms: 250,
        }
    }
}

impl fmt::Debug for RedisKeyStoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisKeyStoreConfig")
            .field("url", &redact_url(&self.url))
            .field("prefix", &self.prefix)
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field("command_timeout_ms", &self.command_timeout_ms)
            .finish()
    }
}

/// Hides the user-info part (`user:password@`) of a URL.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}<redacted>{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// A [`KeyStore`] in Redis. See the module documentation for the layout and
/// the visibility bound.
///
/// Every operation is limited by the command timeout; when Redis is
/// unreachable or slow, operations fail with `api_key_store_unavailable` and
/// verification authenticates no one. The connection is re-established in
/// the background once Redis is back.
#[derive(Clone)]
pub struct RedisKeyStore {
    connection: ConnectionManager,
    prefix: Arc<str>,
    url: String,
    timeout: Duration,
    scripts: Arc<Scripts>,
}

/// The Lua scripts, hashed once so that Redis runs them by SHA-1.
struct Scripts {
    insert: Script,
    revoke: Script,
    revoke_owner: Script,
}

impl fmt::Debug for RedisKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisKeyStore")
            .field("url", &redact_url(&self.url))
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

const INSERT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'record', ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[2], 'revoked_at', ARGV[3]) end
redis.call('SADD', KEYS[3], ARGV[4])
return 0
";

/// Lowers `revoked_at` of the ids given after ARGV[2]; returns how many exist.
const REVOKE: &str = r"
local count = 0
for i = 3, #ARGV do
  local digest = redis.call('GET', ARGV[1] .. ':id:' .. ARGV[i])
  if digest then
    count = count + 1
    local key = ARGV[1] .. ':key:' .. digest
    local current = redis.call('HGET', key, 'revoked_at')
    if (not current) or tonumber(current) > tonumber(ARGV[2]) then
      redis.call('HSET', key, 'revoked_at', ARGV[2])
    end
  end
end
return count
";

/// Revokes every id in the owner's set; returns how many exist.
const REVOKE_OWNER: &str = r"
local count = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local digest = redis.call('GET', ARGV[1] .. ':id:' .. id)
  if digest then
    count = count + 1
    local key = ARGV[1] .. ':key:' .. digest
    local current = redis.call('HGET', key, 'revoked_at')
    if (not current) or tonumber(current) > tonumber(ARGV[2]) then
      redis.call('HSET', key, 'revoked_at', ARGV[2])
    end
  end
end
return count
";

impl RedisKeyStore {
    /// Creates the store without waiting for Redis: the first operation
    /// connects, and fails with `api_key_store_unavailable` if it cannot.
    /// Call [`ping`](Self::ping) to check the connection at startup.
    ///
    /// Must be called inside a Tokio runtime.
    ///
    /// # Errors
    ///
    /// `config_invalid` when the URL does not parse or the prefix is empty.
    pub fn connect(config: &RedisKeyStoreConfig) -> Result<Self, ApiKeyError> {
        if config.prefix.is_empty() {
            return Err(ApiKeyError::config(
                "Redis key-store prefix must not be empty",
            ));
        }

        let client = redis::Client::open(config.url.as_str()).map_err(|error| {
            ApiKeyError::config(format!(
                "invalid Redis URL {}: {error}",
                redact_url(&config.url)
            ))
        })?;

        let timeout = Duration::from_millis(config.command_timeout_ms);
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(config.connect_timeout_ms)))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(1));
        let connection =
            ConnectionManager::new_lazy_with_config(client, manager_config).map_err(|error| {
                ApiKeyError::config(format!("cannot set up the Redis connection: {error}"))
            })?;

        Ok(Self {
            connection,
            prefix: Arc::from(config.prefix.as_str()),
            url: config.url.clone(),
            timeout,
            scripts: Arc::new(Scripts {
                insert: Script::new(INSERT),
                revoke: Script::new(REVOKE),
                revoke_owner: Script::new(REVOKE_OWNER),
            }),
        })
    }

    /// Returns the key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Checks that Redis answers.
    ///
    /// # Errors
    ///
    /// `api_key_store_unavailable` when it does not within the timeout.
    pub async fn ping(&self) -> Result<(), ApiKeyError> {
        let mut connection = self.connection.clone();
        self.run("PING", async move {
            redis::cmd("PING").query_async::<()>(&mut connection).await
        })
        .await
    }

    async fn run<T>(
        &self,
        operation: &'static str,
        command: impl Future<Output = RedisResult<T>>,
    ) -> Result<T, ApiKeyError> {
        match tokio::time::timeout(self.timeout, command).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) if error.is_timeout() => {
                Err(self.timed_out(operation, Some(Box::new(error))))
            }
            Ok(Err(error)) => Err(ApiKeyError::unavailable(
                format!("Redis {operation} failed"),
                Some(Box::new(error)),
            )),
            Err(_) => Err(self.timed_out(operation, None)),
        }
    }

    fn timed_out(
        &self,
        operation: &str,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> ApiKeyError {
        let millis = self.timeout.as_millis();
        ApiKeyError::unavailable(
            format!("Redis {operation} timed out after {millis} ms"),
            source,
        )
    }

    fn digest_key(&self, digest_hex: &str) -> String {
        format!("{}:key:{digest_hex}", self.prefix)
    }

    fn id_key(&self, id: &str) -> String {
        format!("{}:id:{id}", self.prefix)
    }

    fn owner_key(&self, owner: &str) -> String {
        format!("{}:owner:{owner}", self.prefix)
    }

    async fn load_by_digest_hex(&self, digest_hex: &str) -> Result<Option<KeyRecord>, ApiKeyError> {
        let mut connection = self.connection.clone();
        let key = self.digest_key(digest_hex);
        let (json, revoked_at): (Option<String>, Option<u64>) = self
            .run("HMGET", async move {
                redis::cmd("HMGET")
                    .arg(key)
                    .arg("record")
                    .arg("revoked_at")
                    .query_async(&mut connection)
                    .await
            })
            .await?;

        let Some(json) = json else {
            return Ok(None);
        };
        let mut record: KeyRecord = serde_json::from_str(&json).map_err(|error| {
            ApiKeyError::unavailable(
                "Redis holds an unreadable API-key record",
                Some(Box::new(error)),
            )
        })?;
        record.revoked_at = revoked_at;
        Ok(Some(record))
    }

    async fn insert_record(&self, mut record: KeyRecord) -> Result<(), ApiKeyError> {
        record.validate()?;
        let digest_hex = record.digest.to_hex();
        let revoked_at = record
            .revoked_at
            .take()
            .map(|at| at.to_string())
            .unwrap_or_default();
        let json = serde_json::to_string(&record).map_err(|error| {
            ApiKeyError::config(format!("cannot encode API-key record: {error}"))
        })?;

        let mut connection = self.connection.clone();
        let mut invocation = self.scripts.insert.prepare_invoke();
        invocation
            .key(self.id_key(&record.id))
            .key(self.digest_key(&digest_hex))
            .key(self.owner_key(&record.owner))
            .arg(&digest_hex)
            .arg(json)
            .arg(revoked_at)
            .arg(&record.id);
        let outcome: i64 = self
            .run("insert", async move {
                invocation.invoke_async(&mut connection).await
            })
            .await?;

        match outcome {
            0 => Ok(()),
            1 => Err(ApiKeyError::Conflict {
                field: "id",
                id: record.id,
            }),
            _ => Err(ApiKeyError::Conflict {
                field: "digest",
                id: record.id,
            }),
        }
    }

    async fn revoke_ids(&self, ids: &[&str], at: u64) -> Result<usize, ApiKeyError> {
        let mut connection = self.connection.clone();
        let mut invocation = self.scripts.revoke.prepare_invoke();
        invocation.arg(&*self.prefix).arg(at);
        for id in ids {
            invocation.arg(*id);
        }
        let count: usize = self
            .run("revoke", async move {
                invocation.invoke_async(&mut connection).await
            })
            .await?;
        Ok(count)
    }

    async fn revoke_all_of(&self, owner: &str, at: u64) -> Result<usize, ApiKeyError> {
        let mut connection = self.connection.clone();
        let mut invocation = self.scripts.revoke_owner.prepare_invoke();
        invocation
            .key(self.owner_key(owner))
            .arg(&*self.prefix)
            .arg(at);
        self.run("revoke owner", async move {
            invocation.invoke_async(&mut connection).await
        })
        .await
    }

    async fn get_record(&self, id: &str) -> Result<Option<KeyRecord>, ApiKeyError> {
        let mut connection = self.connection.clone();
        let key = self.id_key(id);
        let digest_hex: Option<String> = self
            .run("GET", async move {
                redis::cmd("GET")
                    .arg(key)
                    .query_async(&mut connection)
                    .await
            })
            .await?;
        match digest_hex {
            Some(digest_hex) => self.load_by_digest_hex(&digest_hex).await,
            None => Ok(None),
        }
    }

    async fn records_of(&self, owner: &str) -> Result<Vec<KeyRecord>, ApiKeyError> {
        let mut connection = self.connection.clone();
        let key = self.owner_key(owner);
        let mut ids: Vec<String> = self
            .run("SMEMBERS", async move {
                redis::cmd("SMEMBERS")
                    .arg(key)
                    .query_async(&mut connection)
                    .await
            })
            .await?;
        ids.sort();

        let mut records = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(record) = self.get_record(&id).await? {
                records.push(record);
            }
        }
        Ok(records)
    }
}

impl KeyStore for RedisKeyStore {
    fn insert(&self, record: KeyRecord) -> StoreFuture<'_, ()> {
        Box::pin(self.insert_record(record))
    }

    fn find(&self, digest: &KeyDigest) -> StoreFuture<'_, Option<Arc<KeyRecord>>> {
        let digest_hex = digest.to_hex();
        Box::pin(async move {
            let record = self.load_by_digest_hex(&digest_hex).await?;
            Ok(record.map(Arc::new))
        })
    }

    fn get(&self, id: &str) -> StoreFuture<'_, Option<KeyRecord>> {
        let id = id.to_owned();
        Box::pin(async move { self.get_record(&id).await })
    }

    fn revoke(&self, id: &str, at: u64) -> StoreFuture<'_, bool> {
        let id = id.to_owned();
        Box::pin(async move { Ok(self.revoke_ids(&[&id], at).await? > 0) })
    }

    fn revoke_owner(&self, owner: &str, at: u64) -> StoreFuture<'_, usize> {
        let owner = owner.to_owned();
        Box::pin(async move { self.revoke_all_of(&owner, at).await })
    }

    fn list_by_owner(&self, owner: &str) -> StoreFuture<'_, Vec<KeyRecord>> {
        let owner = owner.to_owned();
        Box::pin(async move { self.records_of(&owner).await })
    }

    /// Checks that Redis answers; the store keeps no local state to reload.
    fn reload(&self) -> StoreFuture<'_, ()> {
        Box::pin(self.ping())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_password_is_redacted() {
        assert_eq!(
            redact_url("redis://user:hunter2@127.0.0.1:6379/0"),
            "redis://<redacted>@127.0.0.1:6379/0"
        );
        assert_eq!(
            redact_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
        let config = RedisKeyStoreConfig {
            url: "redis://:hunter2@localhost".into(),
            ..RedisKeyStoreConfig::default()
        };
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
