//! Redis-specific guarantees: encryption at rest, key layout, TTLs and the
//! per-user limit under concurrent logins. Uses Redis at 127.0.0.1:6379.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Harness, REDIS_URL, T0, keys, principal, raw_connection, redis_store};
use ddf_rbac::ManualClock;
use ddf_session::{
    InvalidReason, LimitPolicy, SessionConfig, SessionError, SessionId, SessionKey, SessionKeys,
    SessionManager,
};

async fn get_bytes(key: &str) -> Option<Vec<u8>> {
    let mut connection = raw_connection(REDIS_URL).await;
    redis::cmd("GET")
        .arg(key)
        .query_async(&mut connection)
        .await
        .unwrap()
}

async fn set_bytes(key: &str, value: &[u8]) {
    let mut connection = raw_connection(REDIS_URL).await;
    let _: () = redis::cmd("SET")
        .arg(key)
        .arg(value)
        .arg("KEEPTTL")
        .query_async(&mut connection)
        .await
        .unwrap();
}

async fn pttl(key: &str) -> i64 {
    let mut connection = raw_connection(REDIS_URL).await;
    redis::cmd("PTTL")
        .arg(key)
        .query_async(&mut connection)
        .await
        .unwrap()
}

fn reason(error: &SessionError) -> InvalidReason {
    assert_eq!(error.kind().as_str(), "session_invalid", "{error}");
    error.invalid_reason().unwrap()
}

#[tokio::test]
async fn s05_ttl_matches_idle_timeout() {
    let harness = Harness::redis();
    let redis = harness.redis.clone().unwrap();
    let manager = harness.manager(SessionConfig::production());
    let (id, _) = manager.create(principal("ttl")).await.unwrap();

    let session_ttl = pttl(&redis.session_key(&id)).await;
    assert!(
        session_ttl > 3_590_000 && session_ttl <= 3_600_000,
        "{session_ttl}"
    );
    let index_ttl = pttl(&redis.user_index_key("ttl")).await;
    assert!(
        index_ttl > 43_190_000 && index_ttl <= 43_200_000,
        "{index_ttl}"
    );
    harness.cleanup().await;
}

#[tokio::test]
async fn s05_expiry_checked_inside_payload_after_persist() {
    let harness = Harness::redis();
    let redis = harness.redis.clone().unwrap();
    let manager = harness.manager(SessionConfig::production());
    let (id, _) = manager.create(principal("persisted")).await.unwrap();

    let mut connection = raw_connection(REDIS_URL).await;
    let persisted: i64 = redis::cmd("PERSIST")
        .arg(redis.session_key(&id))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(persisted, 1);

    harness.clock.advance(Duration::from_secs(3601));
    let error = manager.load(&id.expose_cookie_value()).await.unwrap_err();
    assert_eq!(reason(&error), InvalidReason::IdleExpired);
    assert_eq!(get_bytes(&redis.session_key(&id)).await, None);
    harness.cleanup().await;
}

#[tokio::test]
async fn s09_twenty_concurrent_logins_keep_five() {
    let harness = Harness::redis();
    let manager = harness.manager(SessionConfig::production());

    let mut tasks = Vec::new();
    for _ in 0..20 {
        let manager = manager.clone();
        tasks.push(tokio::spawn(async move {
            manager.create(principal("crowd")).await
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap().unwrap().0);
    }

    let mut live = 0;
    for id in &ids {
        match manager.load(&id.expose_cookie_value()).await {
            Ok(_) => live += 1,
            Err(error) => assert_eq!(reason(&error), InvalidReason::Unknown),
        }
    }
    assert_eq!(live, 5);
    assert_eq!(manager.count_user("crowd").await.unwrap(), 5);
    let redis = harness.redis.clone().unwrap();
    let mut connection = raw_connection(REDIS_URL).await;
    let indexed: i64 = redis::cmd("ZCARD")
        .arg(redis.user_index_key("crowd"))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(indexed, 5);
    harness.cleanup().await;
}

#[tokio::test]
async fn s09_twenty_concurrent_logins_reject_fifteen() {
    let harness = Harness::redis();
    let mut config = SessionConfig::production();
    config.limit_policy = LimitPolicy::Reject;
    let manager = harness.manager(config);

    let mut tasks = Vec::new();
    for _ in 0..20 {
        let manager = manager.clone();
        tasks.push(tokio::spawn(async move {
            manager.create(principal("queue")).await
        }));
    }
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => created += 1,
            Err(error) => assert_eq!(error.kind().as_str(), "session_limit_reached"),
        }
    }
    assert_eq!(created, 5);
    assert_eq!(manager.count_user("queue").await.unwrap(), 5);
    harness.cleanup().await;
}

#[tokio::test]
async fn s11_flipped_byte_rejected_and_deleted() {
    let harness = Harness::redis();
    let redis = harness.redis.clone().unwrap();
    let manager = harness.manager(SessionConfig::production());
    let (id, _) = manager.create(principal("tampered")).await.unwrap();
    let key = redis.session_key(&id);

    let mut payload = get_bytes(&key).await.unwrap();
    let last = payload.len() - 20;
    payload[last] ^= 0x80;
    set_bytes(&key, &payload).await;

    let error = manager.load(&id.expose_cookie_value()).await.unwrap_err();
    assert_eq!(reason(&error), InvalidReason::DecryptFailed);
    assert_eq!(get_bytes(&key).await, None);
    let again = manager.load(&id.expose_cookie_value()).await.unwrap_err();
    assert_eq!(reason(&again), InvalidReason::Unknown);
    harness.cleanup().await;
}

#[tokio::test]
async fn s11_truncated_payload_rejected() {
    let harness = Harness::redis();
    let redis = harness.redis.clone().unwrap();
    let manager = harness.manager(SessionConfig::production());
    let (id, _) = manager.create(principal("truncated")).await.unwrap();
    let key = redis.session_key(&id);
    let payload = get_bytes(&key).await.unwrap();
    set_bytes(&key, &payload[..payload.len() / 2]).await;

    let error = manager.load(&id.expose_cookie_value()).await.unwrap_err();
    assert_eq!(reason(&error), InvalidReason::DecryptFailed);
    harness.cleanup().await;
}

#[tokio::test]
async fn s11_payload_moved_to_other_key_rejected() {
    let harness = Harness::redis();
    let redis = harness.redis.clone().unwrap();
    let manager = harness.manager(SessionConfig::production());
    let (admin, _) = manager
        .create(principal("admin").with_roles(["admin"]))
        .await
        .unwrap();
    let (attacker, _) = manager.create(principal("attacker")).await.unwrap();

    // Copy the admin's payload over the attacker's session.
    let admin_payload = get_bytes(&redis.session_key(&admin)).await.unwrap();
    set_bytes(&redis.session_key(&attacker), &admin_payload).await;

    let error = manager
        .load(&attacker.expose_cookie_value())
        .await
        .unwrap_err();
    assert_eq!(reason(&error), InvalidReason::DecryptFailed);
    assert!(manager.load(&admin.expose_cookie_value()).await.is_ok());
    harness.cleanup().await;
}

#[tokio::test]
async fn s11_rollback_cannot_extend_life() {
    let harness = Harness::redis();
    let redis = harness.redis.clone().unwrap();
    let manager = harness.manager(SessionConfig::production());
    let (id, _) = manager.create(principal("rollback")).await.unwrap();
    let key = redis.session_key(&id);
    let original = get_bytes(&key).await.unwrap();

    // A refresh writes a newer payload; writing the old one back must not
    // give more life than the old payload's own expiry.
    harness.clock.advance(Duration::from_secs(57 * 60));
    assert!(
        manager
            .load(&id.expose_cookie_value())
            .await
            .unwrap()
            .refreshed
    );
    set_bytes(&key, &original).await;
    harness.clock.advance(Duration::from_secs(4 * 60));

    let error = manager.load(&id.expose_cookie_value()).await.unwrap_err();
    assert_eq!(reason(&error), InvalidReason::IdleExpired);
    harness.cleanup().await;
}

#[tokio::test]
async fn s12_key_rotation_keeps_old_sessions() {
    let prefix = common::unique("ddf-test");
    let clock = ManualClock::at_unix_seconds(T0);
    let manager_with = |keys: SessionKeys| {
        SessionManager::new(
            SessionConfig::production(),
            Arc::new(redis_store(REDIS_URL, &prefix, keys)),
            Arc::new(clock.clone()),
        )
        .unwrap()
    };

    let old = manager_with(keys("2026-05", 1));
    let (old_id, _) = old.create(principal("rotating-keys")).await.unwrap();

    let rotated_keys = SessionKeys::new("2026-06", &SessionKey::from_bytes([2; 32]))
        .unwrap()
        .with_decrypt_only("2026-05", &SessionKey::from_bytes([1; 32]))
        .unwrap();
    let rotated = manager_with(rotated_keys);
    assert!(rotated.load(&old_id.expose_cookie_value()).await.is_ok());
    let (new_id, _) = rotated.create(principal("rotating-keys")).await.unwrap();

    let probe = redis_store(REDIS_URL, &prefix, keys("2026-06", 2));
    let new_payload = get_bytes(&probe.session_key(&new_id)).await.unwrap();
    assert_eq!(&new_payload[2..9], b"2026-06");

    // A refresh re-seals the old session with the current key.
    clock.advance(Duration::from_secs(57 * 60));
    assert!(
        rotated
            .load(&old_id.expose_cookie_value())
            .await
            .unwrap()
            .refreshed
    );
    let resealed = get_bytes(&probe.session_key(&old_id)).await.unwrap();
    assert_eq!(&resealed[2..9], b"2026-06");

    // Once the old key is dropped, payloads still sealed with it are invalid.
    let (stale_id, _) = old.create(principal("rotating-keys")).await.unwrap();
    let current_only = manager_with(keys("2026-06", 2));
    let error = current_only
        .load(&stale_id.expose_cookie_value())
        .await
        .unwrap_err();
    assert_eq!(reason(&error), InvalidReason::DecryptFailed);
    assert!(
        current_only
            .load(&new_id.expose_cookie_value())
            .await
            .is_ok()
    );
    common::delete_prefix(REDIS_URL, &prefix).await;
}

#[tokio::test]
async fn s12_dump_has_no_ids_or_subjects() {
    let harness = Harness::redis();
    let manager = harness.manager(SessionConfig::production());
    let subject = "dump-victim@example.test";
    let (id, _) = manager.create(principal(subject)).await.unwrap();
    let cookie = id.expose_cookie_value();

    let mut connection = raw_connection(REDIS_URL).await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{{{}}}*", harness.prefix))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(keys.len(), 2);
    for key in &keys {
        assert!(!key.contains(&cookie));
        assert!(!key.contains("dump-victim"));
        let kind: String = redis::cmd("TYPE")
            .arg(key)
            .query_async(&mut connection)
            .await
            .unwrap();
        let dumped: Vec<u8> = if kind == "string" {
            get_bytes(key).await.unwrap()
        } else {
            let members: Vec<String> = redis::cmd("ZRANGE")
                .arg(key)
                .arg(0)
                .arg(-1)
                .query_async(&mut connection)
                .await
                .unwrap();
            members.concat().into_bytes()
        };
        for needle in [cookie.as_bytes(), b"dump-victim".as_slice(), &id.digest()] {
            assert!(!dumped.windows(needle.len()).any(|window| window == needle));
        }
    }
    harness.cleanup().await;
}

#[tokio::test]
async fn s13_unreachable_redis_fails_closed() {
    // Nothing listens on port 1 of the loopback interface.
    let store = redis_store(
        "redis://127.0.0.1:1",
        &common::unique("ddf-test"),
        keys("k1", 1),
    );
    let manager = SessionManager::new(
        SessionConfig::production(),
        Arc::new(store),
        Arc::new(ManualClock::at_unix_seconds(T0)),
    )
    .unwrap();

    let cookie = SessionId::generate().unwrap().expose_cookie_value();
    let error = manager.load(&cookie).await.unwrap_err();
    assert_eq!(error.kind().as_str(), "session_store_unavailable");
    let error = manager.create(principal("nobody")).await.unwrap_err();
    assert_eq!(error.kind().as_str(), "session_store_unavailable");
    let error = manager.logout_all("nobody").await.unwrap_err();
    assert_eq!(error.kind().as_str(), "session_store_unavailable");

    // A malformed id is rejected before any Redis call, so it is invalid,
    // not unavailable.
    let error = manager.load("not-an-id").await.unwrap_err();
    assert_eq!(reason(&error), InvalidReason::Malformed);
}

#[test]
fn connect_outside_runtime_is_an_error() {
    let error = ddf_session::RedisStore::connect(
        REDIS_URL,
        &ddf_session::RedisStoreConfig::default(),
        keys("k1", 1),
        &common::index_key(),
    )
    .unwrap_err();
    assert_eq!(error.kind().as_str(), "session_config_invalid");
}

#[tokio::test]
async fn invalid_settings_rejected() {
    for prefix in ["", "a{b", "c}"] {
        let config = ddf_session::RedisStoreConfig::default().with_key_prefix(prefix);
        let error = ddf_session::RedisStore::connect(
            REDIS_URL,
            &config,
            keys("k1", 1),
            &common::index_key(),
        )
        .unwrap_err();
        assert_eq!(error.kind().as_str(), "session_config_invalid");
    }
    let error = ddf_session::RedisStore::connect(
        "http://user:secret@127.0.0.1",
        &ddf_session::RedisStoreConfig::default(),
        keys("k1", 1),
        &common::index_key(),
    )
    .unwrap_err();
    assert_eq!(error.kind().as_str(), "session_config_invalid");
    assert!(!error.to_string().contains("secret"));
}
