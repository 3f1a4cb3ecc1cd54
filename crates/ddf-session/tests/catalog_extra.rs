//! Security-catalog rows for sessions not covered by the other test files:
//! data loss and read-only replicas, role changes during a session, and
//! Redis connection details in errors and logs. Each test is named after
//! its row id. Redis servers are private ones on free loopback ports.

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{T0, index_key, keys, principal};
use ddf_rbac::{AuthMethod, ManualClock, Principal};
use ddf_session::{
    InvalidReason, MemoryStore, RedisStore, RedisStoreConfig, SessionConfig, SessionError,
    SessionErrorKind, SessionManager,
};
use tokio::process::{Child, Command};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_redis(port: u16) -> Child {
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string()])
        .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("redis-server must be installed for this test");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(mut connection) = connection(port).await {
            let pong: Result<String, _> = redis::cmd("PING").query_async(&mut connection).await;
            if pong.is_ok() {
                return child;
            }
        }
        assert!(
            Instant::now() < deadline,
            "private redis-server did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn connection(port: u16) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
    redis::Client::open(format!("redis://127.0.0.1:{port}"))?
        .get_multiplexed_async_connection()
        .await
}

fn manager_for(url: &str) -> SessionManager {
    let config = RedisStoreConfig::default().with_key_prefix(common::unique("ddf-test"));
    let store = RedisStore::connect(url, &config, keys("k1", 1), &index_key()).unwrap();
    SessionManager::new(
        SessionConfig::production(),
        Arc::new(store),
        Arc::new(ManualClock::at_unix_seconds(T0)),
    )
    .unwrap()
}

fn kind<T: std::fmt::Debug>(result: Result<T, SessionError>) -> SessionErrorKind {
    result.unwrap_err().kind()
}

#[tokio::test]
async fn s15_data_loss_and_read_only_replica() {
    let primary_port = free_port();
    let mut primary = start_redis(primary_port).await;
    let manager = manager_for(&format!("redis://127.0.0.1:{primary_port}"));

    // Data loss (a restart without persistence, a failover to an empty
    // node, an eviction): the session is gone and reads as invalid.
    let (id, _) = manager.create(principal("lost")).await.unwrap();
    let cookie = id.expose_cookie_value();
    assert!(manager.load(&cookie).await.is_ok());
    let mut admin = connection(primary_port).await.unwrap();
    let _: String = redis::cmd("FLUSHALL")
        .query_async(&mut admin)
        .await
        .unwrap();
    let error = manager.load(&cookie).await.unwrap_err();
    assert_eq!(error.kind(), SessionErrorKind::SessionInvalid);
    assert_eq!(error.invalid_reason(), Some(InvalidReason::Unknown));

    // A read-only replica: writes fail as `session_store_unavailable`
    // (503), reads of unknown ids stay `session_invalid`, nothing panics.
    let replica_port = free_port();
    let mut replica = start_redis(replica_port).await;
    let mut replica_admin = connection(replica_port).await.unwrap();
    let _: String = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(primary_port)
        .query_async(&mut replica_admin)
        .await
        .unwrap();
    let on_replica = manager_for(&format!("redis://127.0.0.1:{replica_port}"));
    for _ in 0..3 {
        assert_eq!(
            kind(on_replica.create(principal("replica")).await),
            SessionErrorKind::SessionStoreUnavailable
        );
    }
    assert_eq!(
        kind(on_replica.load(&cookie).await),
        SessionErrorKind::SessionInvalid
    );
    assert_eq!(
        SessionErrorKind::SessionStoreUnavailable.as_str(),
        "session_store_unavailable"
    );

    replica.kill().await.unwrap();
    primary.kill().await.unwrap();
}

#[tokio::test]
async fn b10_role_change_rotates_the_session() {
    let clock = ManualClock::at_unix_seconds(T0);
    let manager = SessionManager::new(
        SessionConfig::production(),
        Arc::new(MemoryStore::new()),
        Arc::new(clock),
    )
    .unwrap();
    let admin = Principal::new("user-9", AuthMethod::Jwt).with_roles(["user", "admin"]);
    let (old_id, _) = manager.create(admin).await.unwrap();

    let demoted = Principal::new("user-9", AuthMethod::Jwt).with_roles(["user"]);
    let new_id = manager
        .rotate_with_principal(&old_id, demoted)
        .await
        .unwrap();
    assert_ne!(new_id, old_id);

    // The old id, which carried the admin role, is dead at once.
    let error = manager
        .load(&old_id.expose_cookie_value())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), SessionErrorKind::SessionInvalid);
    let loaded = manager.load(&new_id.expose_cookie_value()).await.unwrap();
    assert_eq!(loaded.principal().roles(), ["user"]);

    // A role change can never move a session to another subject.
    let other = Principal::new("user-10", AuthMethod::Jwt);
    assert!(manager.rotate_with_principal(&new_id, other).await.is_err());
}

/// Collects formatted `tracing` output of every level.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn g07_redis_credentials_never_in_errors_or_logs() {
    const PASSWORD: &str = "hunter2canary";
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // Nothing listens on this port: every command fails with a connection
    // error whose text a careless store would pass on with the URL.
    let url = format!("redis://ddf-user:{PASSWORD}@127.0.0.1:{}/0", free_port());
    let manager = manager_for(&url);
    let mut texts = vec![format!("{manager:?}")];
    for _ in 0..3 {
        let error = manager.create(principal("g07")).await.unwrap_err();
        assert_eq!(error.kind(), SessionErrorKind::SessionStoreUnavailable);
        texts.push(error.to_string());
        texts.push(format!("{error:?}"));
        let error = manager
            .load("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
            .await
            .unwrap_err();
        texts.push(error.to_string());
        texts.push(format!("{error:?}"));
    }
    let log_text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    texts.push(log_text);

    for text in &texts {
        assert!(!text.contains(PASSWORD), "{text}");
        assert!(!text.contains("ddf-user:"), "{text}");
    }
}
