//! Redis going away and coming back, on a private `redis-server` bound to a
//! free loopback port, so the shared server is never disturbed.

mod common;

use std::net::TcpListener;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{T0, keys, principal, redis_store};
use ddf_rbac::ManualClock;
use ddf_session::{InvalidReason, SessionConfig, SessionError, SessionManager};
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
        .args(["--enable-debug-command", "local"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("redis-server must be installed for the outage tests");
    let url = format!("redis://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let client = redis::Client::open(url.as_str()).unwrap();
        if let Ok(mut connection) = client.get_multiplexed_async_connection().await {
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

fn manager(port: u16) -> SessionManager {
    let store = redis_store(
        &format!("redis://127.0.0.1:{port}"),
        &common::unique("ddf-test"),
        keys("k1", 1),
    );
    SessionManager::new(
        SessionConfig::production(),
        Arc::new(store),
        Arc::new(ManualClock::at_unix_seconds(T0)),
    )
    .unwrap()
}

fn assert_unavailable<T: std::fmt::Debug>(result: Result<T, SessionError>) {
    let error = result.unwrap_err();
    assert_eq!(
        error.kind().as_str(),
        "session_store_unavailable",
        "{error}"
    );
}

/// Retries `load` until Redis responds again and returns the first result
/// that is not `session_store_unavailable`.
async fn load_after_recovery(
    manager: &SessionManager,
    cookie: &str,
) -> Result<ddf_session::LoadedSession, SessionError> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let result = manager.load(cookie).await;
        match &result {
            Err(error) if error.kind().as_str() == "session_store_unavailable" => {
                assert!(Instant::now() < deadline, "store did not recover");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            _ => return result,
        }
    }
}

#[tokio::test]
async fn s13_s15_redis_down_and_back() {
    let port = free_port();
    let mut server = start_redis(port).await;
    let manager = manager(port);
    let (id, _) = manager.create(principal("outage")).await.unwrap();
    let cookie = id.expose_cookie_value();
    assert!(manager.load(&cookie).await.is_ok());

    server.kill().await.unwrap();
    assert_unavailable(manager.load(&cookie).await);
    assert_unavailable(manager.load(&cookie).await);
    assert_unavailable(manager.create(principal("outage")).await);
    assert_unavailable(manager.rotate(&id).await);
    assert_unavailable(manager.logout(&id).await);
    assert_unavailable(manager.logout_all("outage").await);
    assert_unavailable(manager.delete_user("outage").await);

    // Restarted without persistence: the store reconnects by itself, and the
    // lost session is invalid, not an error.
    let mut server = start_redis(port).await;
    let error = load_after_recovery(&manager, &cookie).await.unwrap_err();
    assert_eq!(error.invalid_reason(), Some(InvalidReason::Unknown));

    let (fresh, _) = manager.create(principal("outage")).await.unwrap();
    assert!(manager.load(&fresh.expose_cookie_value()).await.is_ok());
    server.kill().await.unwrap();
}

#[tokio::test]
async fn s14_frozen_redis_times_out_then_recovers() {
    let port = free_port();
    let mut server = start_redis(port).await;
    let manager = manager(port);
    let (id, _) = manager.create(principal("frozen")).await.unwrap();
    let cookie = id.expose_cookie_value();

    // DEBUG SLEEP blocks the whole server, like a stalled process.
    let url = format!("redis://127.0.0.1:{port}");
    let mut admin = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let sleeper = tokio::spawn(async move {
        let _: Result<String, _> = redis::cmd("DEBUG")
            .arg("SLEEP")
            .arg(2)
            .query_async(&mut admin)
            .await;
    });
    tokio::time::sleep(Duration::from_millis(200)).await;

    assert_unavailable(manager.load(&cookie).await);
    sleeper.await.unwrap();

    let loaded = load_after_recovery(&manager, &cookie).await.unwrap();
    assert_eq!(loaded.principal().subject(), "frozen");
    server.kill().await.unwrap();
}
