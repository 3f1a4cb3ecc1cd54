//! Shared setup: a pinned clock and a memory or Redis store under a unique
//! key prefix.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use ddf_rbac::{AuthMethod, ManualClock, Principal};
use ddf_session::{
    RedisStore, RedisStoreConfig, SessionConfig, SessionId, SessionKey, SessionKeys,
    SessionManager, SessionStore,
};

pub const REDIS_URL: &str = "redis://127.0.0.1:6379";
pub const T0: u64 = 1_700_000_000;

pub fn principal(subject: &str) -> Principal {
    Principal::new(subject, AuthMethod::Jwt).with_roles(["user"])
}

pub fn unique(label: &str) -> String {
    let id = SessionId::generate().unwrap().expose_cookie_value();
    format!("{label}-{}", &id[..12])
}

pub fn keys(key_id: &str, byte: u8) -> SessionKeys {
    SessionKeys::new(key_id, &SessionKey::from_bytes([byte; 32])).unwrap()
}

pub fn index_key() -> SessionKey {
    SessionKey::from_bytes([0x5a; 32])
}

/// A test's store, clock and (for Redis) key prefix.
pub struct Harness {
    pub clock: ManualClock,
    pub store: Arc<dyn SessionStore>,
    pub redis: Option<RedisStore>,
    pub prefix: String,
}

impl Harness {
    pub fn memory() -> Self {
        Self {
            clock: ManualClock::at_unix_seconds(T0),
            store: Arc::new(ddf_session::MemoryStore::new()),
            redis: None,
            prefix: String::new(),
        }
    }

    pub fn redis() -> Self {
        let prefix = unique("ddf-test");
        let store = redis_store(REDIS_URL, &prefix, keys("k1", 1));
        Self {
            clock: ManualClock::at_unix_seconds(T0),
            store: Arc::new(store.clone()),
            redis: Some(store),
            prefix,
        }
    }

    pub fn manager(&self, config: SessionConfig) -> SessionManager {
        SessionManager::new(
            config,
            Arc::clone(&self.store),
            Arc::new(self.clock.clone()),
        )
        .unwrap()
    }

    /// Deletes every Redis key under this test's prefix.
    pub async fn cleanup(self) {
        if self.redis.is_some() {
            delete_prefix(REDIS_URL, &self.prefix).await;
        }
    }
}

pub fn redis_store(url: &str, prefix: &str, keys: SessionKeys) -> RedisStore {
    let config = RedisStoreConfig::default().with_key_prefix(prefix);
    RedisStore::connect(url, &config, keys, &index_key()).unwrap()
}

pub async fn raw_connection(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

pub async fn delete_prefix(url: &str, prefix: &str) {
    let mut connection = raw_connection(url).await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{{{prefix}}}*"))
        .query_async(&mut connection)
        .await
        .unwrap();
    if !keys.is_empty() {
        let _: i64 = redis::cmd("DEL")
            .arg(&keys)
            .query_async(&mut connection)
            .await
            .unwrap();
    }
}
