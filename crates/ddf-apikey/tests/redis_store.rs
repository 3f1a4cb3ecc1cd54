//! The Redis store against a real server: the shared Redis on
//! 127.0.0.1:6379 (each test under its own prefix, removed afterwards), and a
//! private `redis-server` for the outage tests.

#![cfg(feature = "redis")]

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{header, record};
use ddf_apikey::{
    ApiKey, ApiKeyErrorKind, ApiKeyVerifier, InvalidReason, KeyStore, MemoryKeyStore,
    RedisKeyStore, RedisKeyStoreConfig, conformance,
};
use ddf_rbac::ManualClock;

const SHARED_URL: &str = "redis://127.0.0.1:6379";

/// A prefix no other test or run uses.
fn unique_prefix(test: &str) -> String {
    let nonce = ApiKey::generate().digest().to_hex();
    format!("ddf-apikey-test:{test}:{}", &nonce[..12])
}

fn config(url: &str, prefix: &str) -> RedisKeyStoreConfig {
    RedisKeyStoreConfig {
        url: url.to_owned(),
        prefix: prefix.to_owned(),
        ..RedisKeyStoreConfig::default()
    }
}

/// Returns every key under `prefix` with its values, as text.
async fn dump(prefix: &str) -> Vec<(String, String)> {
    let client = redis::Client::open(SHARED_URL).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut connection)
        .await
        .unwrap();

    let mut entries = Vec::new();
    for key in keys {
        let kind: String = redis::cmd("TYPE")
            .arg(&key)
            .query_async(&mut connection)
            .await
            .unwrap();
        let value: Vec<String> = match kind.as_str() {
            "string" => vec![
                redis::cmd("GET")
                    .arg(&key)
                    .query_async(&mut connection)
                    .await
                    .unwrap(),
            ],
            "hash" => redis::cmd("HGETALL")
                .arg(&key)
                .query_async(&mut connection)
                .await
                .unwrap(),
            "set" => redis::cmd("SMEMBERS")
                .arg(&key)
                .query_async(&mut connection)
                .await
                .unwrap(),
            other => panic!("unexpected Redis type {other} at {key}"),
        };
        entries.push((key, value.join(" ")));
    }
    entries
}

async fn remove_prefix(prefix: &str) {
    let client = redis::Client::open(SHARED_URL).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut connection)
        .await
        .unwrap();
    if !keys.is_empty() {
        let () = redis::cmd("DEL")
            .arg(keys)
            .query_async(&mut connection)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn conformance_redis_store() {
    let prefix = unique_prefix("conformance");
    let store = RedisKeyStore::connect(&config(SHARED_URL, &prefix)).unwrap();
    store.ping().await.unwrap();
    conformance::run(Arc::new(store)).await;
    remove_prefix(&prefix).await;
}

#[tokio::test]
async fn k02_redis_dump_holds_only_digests() {
    let prefix = unique_prefix("k02");
    let store = Arc::new(RedisKeyStore::connect(&config(SHARED_URL, &prefix)).unwrap());
    let verifier = ApiKeyVerifier::new(store);
    let (key, record) = verifier.issue("k02", "alice", ["user"]).await.unwrap();

    let entries = dump(&prefix).await;
    assert_eq!(entries.len(), 3, "{entries:?}");
    let text = format!("{entries:?}");
    assert!(!text.contains(key.expose_secret()));
    assert!(text.contains(&record.digest.to_hex()));

    remove_prefix(&prefix).await;
}

#[tokio::test]
async fn k09_revocation_visible_to_other_replica() {
    let prefix = unique_prefix("k09");
    let clock = Arc::new(ManualClock::at_unix_seconds(common::NOW));
    let replica = |clock: Arc<ManualClock>| {
        let store = Arc::new(RedisKeyStore::connect(&config(SHARED_URL, &prefix)).unwrap());
        ApiKeyVerifier::new(store).with_clock(clock)
    };
    let issuer = replica(Arc::clone(&clock));
    let other = replica(Arc::clone(&clock));

    // Issuance on one replica is seen by the other on its next request.
    let (key, _) = issuer.issue("k09", "alice", ["user"]).await.unwrap();
    assert_eq!(
        other.verify(header(&key)).await.unwrap().key_id(),
        Some("k09")
    );

    // So is revocation: there is no cache to wait for.
    assert!(issuer.revoke("k09").await.unwrap());
    let error = other.verify(header(&key)).await.unwrap_err();
    assert_eq!(error.reason(), Some(InvalidReason::Revoked));

    // And expiry, which depends only on the shared record and the clock.
    let (late, _) = issuer.issue("k09-late", "alice", ["user"]).await.unwrap();
    clock.advance(Duration::from_secs(31 * common::DAY));
    let error = other.verify(header(&late)).await.unwrap_err();
    assert_eq!(error.reason(), Some(InvalidReason::Expired));

    remove_prefix(&prefix).await;
}

/// A `redis-server` owned by one test, on a free loopback port.
struct PrivateRedis {
    port: u16,
    child: Child,
}

impl PrivateRedis {
    fn start(port: Option<u16>) -> Self {
        let port = port.unwrap_or_else(|| {
            TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        });
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (scripts/ensure-redis.sh)");
        let server = Self { port, child };
        server.wait_until_ready();
        server
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn wait_until_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let ready = redis::Client::open(self.url().as_str())
                .and_then(|client| client.get_connection())
                .and_then(|mut connection| redis::cmd("PING").query::<String>(&mut connection))
                .is_ok();
            if ready {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("private redis-server on port {} did not start", self.port);
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn stop(mut self) -> u16 {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.port
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Verifies until the result is not `api_key_store_unavailable`, for at most
/// ten seconds; returns the last result.
async fn verify_until_available(
    verifier: &ApiKeyVerifier,
    key: &ApiKey,
) -> Result<ddf_rbac::Principal, ddf_apikey::ApiKeyError> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let result = verifier.verify(header(key)).await;
        let unavailable =
            matches!(&result, Err(e) if e.kind() == ApiKeyErrorKind::StoreUnavailable);
        if !unavailable || Instant::now() > deadline {
            return result;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn k09_store_outage_fails_closed_and_recovers() {
    let server = PrivateRedis::start(None);
    let prefix = unique_prefix("outage");
    let store = Arc::new(RedisKeyStore::connect(&config(&server.url(), &prefix)).unwrap());
    let verifier =
        ApiKeyVerifier::new(store).with_clock(Arc::new(ManualClock::at_unix_seconds(common::NOW)));
    let key = ApiKey::generate();
    let stored = record("outage", "alice", &key);
    verifier.store().insert(stored.clone()).await.unwrap();
    assert_eq!(
        verifier.verify(header(&key)).await.unwrap().subject(),
        "alice"
    );

    // Refused connections: the key is not accepted, and the error is the
    // distinct 503 kind, not `api_key_invalid`.
    let port = server.stop();
    for _ in 0..3 {
        let error = verifier.verify(header(&key)).await.unwrap_err();
        assert_eq!(error.kind(), ApiKeyErrorKind::StoreUnavailable);
        assert_eq!(error.kind().as_str(), "api_key_store_unavailable");
        assert_eq!(error.reason(), None);
    }
    let error = verifier.revoke("outage").await.unwrap_err();
    assert_eq!(error.kind(), ApiKeyErrorKind::StoreUnavailable);

    // The server comes back empty (it has no persistence): the connection
    // recovers, and the key is unknown until it is stored again.
    let _server = PrivateRedis::start(Some(port));
    let result = verify_until_available(&verifier, &key).await;
    assert_eq!(result.unwrap_err().reason(), Some(InvalidReason::Unknown));
    verifier.store().insert(stored).await.unwrap();
    assert_eq!(
        verifier.verify(header(&key)).await.unwrap().subject(),
        "alice"
    );
}

#[tokio::test]
async fn k09_frozen_store_times_out_as_unavailable() {
    let server = PrivateRedis::start(None);
    let prefix = unique_prefix("frozen");
    let store = Arc::new(RedisKeyStore::connect(&config(&server.url(), &prefix)).unwrap());
    let key = ApiKey::generate();
    store.insert(record("frozen", "alice", &key)).await.unwrap();
    let verifier =
        ApiKeyVerifier::new(store).with_clock(Arc::new(ManualClock::at_unix_seconds(common::NOW)));
    assert!(verifier.verify(header(&key)).await.is_ok());

    // A stopped process keeps the socket open but never replies.
    server.signal("-STOP");
    let error = verifier.verify(header(&key)).await.unwrap_err();
    server.signal("-CONT");
    assert_eq!(error.kind(), ApiKeyErrorKind::StoreUnavailable);
    assert!(error.to_string().contains("timed out"), "{error}");

    let result = verify_until_available(&verifier, &key).await;
    assert_eq!(result.unwrap().subject(), "alice");
}

#[tokio::test]
async fn unreadable_record_fails_closed() {
    let prefix = unique_prefix("corrupt");
    let store = Arc::new(RedisKeyStore::connect(&config(SHARED_URL, &prefix)).unwrap());
    let key = ApiKey::generate();

    let client = redis::Client::open(SHARED_URL).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let () = redis::cmd("HSET")
        .arg(format!("{prefix}:key:{}", key.digest().to_hex()))
        .arg("record")
        .arg("{not json")
        .query_async(&mut connection)
        .await
        .unwrap();

    let verifier = ApiKeyVerifier::new(store);
    let error = verifier.verify(header(&key)).await.unwrap_err();
    assert_eq!(error.kind(), ApiKeyErrorKind::StoreUnavailable);
    remove_prefix(&prefix).await;
}

#[test]
fn invalid_url_and_empty_prefix_rejected() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = runtime.enter();
    let error = RedisKeyStore::connect(&config("not a url", "p")).unwrap_err();
    assert_eq!(error.kind().as_str(), "config_invalid");
    let error = RedisKeyStore::connect(&config(SHARED_URL, "")).unwrap_err();
    assert_eq!(error.kind().as_str(), "config_invalid");
}

#[tokio::test]
async fn verify_now_answers_only_from_memory() {
    let prefix = unique_prefix("verify-now");
    let redis = ApiKeyVerifier::new(Arc::new(
        RedisKeyStore::connect(&config(SHARED_URL, &prefix)).unwrap(),
    ));
    let (key, _) = redis.issue("vn-1", "alice", ["user"]).await.unwrap();
    // The Redis store needs a network request, so there is no result yet.
    assert!(redis.verify_now(header(&key)).is_none());
    // A malformed value needs no store at all.
    let malformed = redis.verify_now(b"not-a-key").unwrap().unwrap_err();
    assert_eq!(malformed.reason(), Some(InvalidReason::Malformed));

    let memory = ApiKeyVerifier::new(Arc::new(MemoryKeyStore::new()));
    let (key, _) = memory.issue("vn-2", "bob", ["user"]).await.unwrap();
    let principal = memory.verify_now(header(&key)).unwrap().unwrap();
    assert_eq!(principal.key_id(), Some("vn-2"));
    assert_eq!(principal.subject(), "bob");
    let unknown = memory
        .verify_now(b"0123456789abcdef0123456789abcdef")
        .unwrap()
        .unwrap_err();
    assert_eq!(unknown.reason(), Some(InvalidReason::Unknown));

    remove_prefix(&prefix).await;
}
