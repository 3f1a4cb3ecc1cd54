//! The Redis limiter against the real Redis on 127.0.0.1:6379, and its
//! fallback when Redis is down.

use std::net::TcpListener;
use std::process::Stdio;
use std::time::Duration;

use ddf_tower::{RateLimitConfig, RateLimiter, RedisRateLimiter};

const REDIS_URL: &str = "redis://127.0.0.1:6379";

/// Returns a key prefix that no other test run uses.
fn unique_prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("ddf-tower-test:{test}:{}:{nanos}:", std::process::id())
}

async fn delete_prefix(prefix: &str) {
    let client = redis::Client::open(REDIS_URL).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut connection)
        .await
        .unwrap();
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL")
            .arg(keys)
            .query_async(&mut connection)
            .await
            .unwrap();
    }
}

fn limiter(prefix: &str, url: &str, burst: u32) -> RedisRateLimiter {
    let client = redis::Client::open(url).unwrap();
    RedisRateLimiter::new(
        client,
        prefix,
        RateLimitConfig::new(burst, Duration::from_secs(60)),
    )
    .unwrap()
}

#[tokio::test]
async fn replicas_share_one_budget() {
    let prefix = unique_prefix("shared");
    let replica_a = limiter(&prefix, REDIS_URL, 3);
    let replica_b = limiter(&prefix, REDIS_URL, 3);

    let first = replica_a.check("ip:192.0.2.1").await;
    assert!(first.allowed);
    assert_eq!(first.remaining, 2);
    assert!(replica_b.check("ip:192.0.2.1").await.allowed);
    let third = replica_a.check("ip:192.0.2.1").await;
    assert!(third.allowed);
    assert_eq!(third.remaining, 0);

    let fourth = replica_b.check("ip:192.0.2.1").await;
    assert!(!fourth.allowed);
    let retry_after = fourth.retry_after.unwrap();
    assert!(
        retry_after > Duration::from_secs(15) && retry_after <= Duration::from_secs(20),
        "{retry_after:?}"
    );

    // Other keys have their own budget.
    assert!(replica_b.check("ip:192.0.2.2").await.allowed);
    assert_eq!(replica_a.fallback_checks() + replica_b.fallback_checks(), 0);

    // Keys expire on their own once the budget is full again.
    let client = redis::Client::open(REDIS_URL).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let ttl: i64 = redis::cmd("PTTL")
        .arg(format!("{prefix}ip:192.0.2.1"))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(ttl > 0, "{ttl}");
    assert!(ttl <= 60_001, "{ttl}");
    delete_prefix(&prefix).await;
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn r09_store_down_falls_back_to_local_limits() {
    // Nothing listens on this port.
    let url = format!("redis://127.0.0.1:{}", free_port());
    let limiter = limiter(&unique_prefix("down"), &url, 2).with_timeout(Duration::from_millis(100));
    assert!(limiter.check("ip:192.0.2.1").await.allowed);
    assert!(limiter.check("ip:192.0.2.1").await.allowed);
    let third = limiter.check("ip:192.0.2.1").await;
    assert!(!third.allowed, "never unlimited");
    assert_eq!(limiter.fallback_checks(), 3);
}

#[tokio::test]
async fn r09_store_killed_mid_run_falls_back() {
    let port = free_port();
    let mut server = tokio::process::Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("redis-server must be installed");
    let url = format!("redis://127.0.0.1:{port}");
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut ready = false;
    for _ in 0..50 {
        if client.get_multiplexed_async_connection().await.is_ok() {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "private redis-server did not start");

    let limiter =
        limiter(&unique_prefix("killed"), &url, 2).with_timeout(Duration::from_millis(200));
    assert!(limiter.check("ip:192.0.2.1").await.allowed);
    assert_eq!(limiter.fallback_checks(), 0);

    server.kill().await.unwrap();
    let _ = server.wait().await;

    assert!(limiter.check("ip:192.0.2.1").await.allowed);
    assert!(limiter.check("ip:192.0.2.1").await.allowed);
    assert!(!limiter.check("ip:192.0.2.1").await.allowed);
    assert_eq!(limiter.fallback_checks(), 3);
}
