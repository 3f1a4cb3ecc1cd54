//! Session lifecycle through `SessionManager`, run on the memory store and on
//! Redis at 127.0.0.1:6379 with a pinned clock.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{Harness, principal};
use ddf_session::{
    InvalidReason, LimitPolicy, SessionConfig, SessionData, SessionError, SessionId, SessionStore,
};

const MINUTE: Duration = Duration::from_secs(60);

fn invalid_reason(result: Result<impl std::fmt::Debug, SessionError>) -> InvalidReason {
    let error = result.unwrap_err();
    assert_eq!(error.kind().as_str(), "session_invalid", "{error}");
    error.invalid_reason().unwrap()
}

/// Generates one test per store for each scenario function.
macro_rules! on_every_store {
    ($($scenario:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(super::Harness::memory()).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(super::Harness::redis()).await;
                }
            )*
        }
    };
}

on_every_store!(
    s01_unknown_id_rejected,
    s02_login_issues_new_id,
    s05_idle_expiry,
    s06_no_refresh_outside_threshold,
    s06_refresh_inside_threshold,
    s06_refresh_with_rotation,
    s07_concurrent_refresh_rotations,
    s08_absolute_cap,
    s09_eviction_order,
    s09_reject_policy,
    s10_logout,
    s10_logout_all,
    rotation_invalidates_old_id,
    rotation_with_new_roles,
    delete_user_removes_data,
    data_round_trip,
    development_preset_idle,
);

async fn s01_unknown_id_rejected(harness: Harness) {
    let manager = harness.manager(SessionConfig::production());
    let never_issued = SessionId::generate().unwrap().expose_cookie_value();
    assert_eq!(
        invalid_reason(manager.load(&never_issued).await),
        InvalidReason::Unknown
    );
    assert_eq!(
        invalid_reason(manager.load("short").await),
        InvalidReason::Malformed
    );
    harness.cleanup().await;
}

async fn s02_login_issues_new_id(harness: Harness) {
    let manager = harness.manager(SessionConfig::production());
    let planted = SessionId::generate().unwrap();
    let (first, _) = manager.create(principal("fixation")).await.unwrap();
    let (second, _) = manager.create(principal("fixation")).await.unwrap();
    assert_ne!(first, planted);
    assert_ne!(first, second);
    assert_eq!(
        invalid_reason(manager.load(&planted.expose_cookie_value()).await),
        InvalidReason::Unknown
    );
    harness.cleanup().await;
}

async fn s05_idle_expiry(harness: Harness) {
    let manager = harness.manager(SessionConfig::production());
    let (id, _) = manager.create(principal("idle")).await.unwrap();
    let cookie = id.expose_cookie_value();

    harness.clock.advance(Duration::from_secs(3601));
    assert_eq!(
        invalid_reason(manager.load(&cookie).await),
        InvalidReason::IdleExpired
    );
    // The expired session was deleted on the failed read.
    assert_eq!(
        invalid_reason(manager.load(&cookie).await),
        InvalidReason::Unknown
    );
    harness.cleanup().await;
}

async fn s06_no_refresh_outside_threshold(harness: Harness) {
    let manager = harness.manager(SessionConfig::production());
    let (id, created) = manager.create(principal("outside")).await.unwrap();

    harness.clock.advance(54 * MINUTE); // 6 minutes left
    let loaded = manager.load(&id.expose_cookie_value()).await.unwrap();
    assert!(!loaded.refreshed);
    assert!(!loaded.rotated);
    assert_eq!(loaded.id, id);
    assert_eq!(loaded.session, created);
    assert_eq!(loaded.expires_in, 6 * MINUTE);

    harness.clock.advance(MINUTE); // exactly 5 minutes left: not less
    let loaded = manager.load(&id.expose_cookie_value()).await.unwrap();
    assert!(!loaded.refreshed);
    harness.cleanup().await;
}

async fn s06_refresh_inside_threshold(harness: Harness) {
    let manager = harness.manager(SessionConfig::production());
    let (id, created) = manager.create(principal("inside")).await.unwrap();
    let cookie = id.expose_cookie_value();

    harness.clock.advance(56 * MINUTE); // 4 minutes left
    let loaded = manager.load(&cookie).await.unwrap();
    assert!(loaded.refreshed);
    assert!(!loaded.rotated);
    assert_eq!(loaded.id, id);
    assert_eq!(loaded.expires_in, Duration::from_secs(3600));
    assert_eq!(
        loaded.expires_at(),
        created.created() + 56 * MINUTE + Duration::from_secs(3600)
    );
    assert_eq!(loaded.session.last_seen(), created.created() + 56 * MINUTE);

    // The extension was stored: 1 h 46 min after creation the session lives.
    harness.clock.advance(50 * MINUTE);
    let again = manager.load(&cookie).await.unwrap();
    assert!(!again.refreshed);
    assert_eq!(again.expires_in, 10 * MINUTE);

    if let Some(redis) = &harness.redis {
        let mut connection = common::raw_connection(common::REDIS_URL).await;
        let pttl: i64 = ::redis::cmd("PTTL")
            .arg(redis.session_key(&id))
            .query_async(&mut connection)
            .await
            .unwrap();
        // Written at the refresh with a 60-minute TTL of real time.
        assert!(
            pttl > 59 * 60 * 1000 && pttl <= 60 * 60 * 1000,
            "PTTL {pttl}"
        );
    }
    harness.cleanup().await;
}

async fn s06_refresh_with_rotation(harness: Harness) {
    let mut config = SessionConfig::production();
    config.rotate_on_refresh = true;
    let manager = harness.manager(config);
    let (id, _) = manager.create(principal("rotating")).await.unwrap();

    harness.clock.advance(54 * MINUTE);
    let unchanged = manager.load(&id.expose_cookie_value()).await.unwrap();
    assert_eq!(unchanged.id, id);
    assert!(!unchanged.rotated);

    harness.clock.advance(2 * MINUTE);
    let loaded = manager.load(&id.expose_cookie_value()).await.unwrap();
    assert!(loaded.refreshed);
    assert!(loaded.rotated);
    assert_ne!(loaded.id, id);
    assert_eq!(loaded.expires_in, Duration::from_secs(3600));
    assert_eq!(
        invalid_reason(manager.load(&id.expose_cookie_value()).await),
        InvalidReason::Unknown
    );
    assert!(manager.load(&loaded.id.expose_cookie_value()).await.is_ok());
    harness.cleanup().await;
}

async fn s07_concurrent_refresh_rotations(harness: Harness) {
    let mut config = SessionConfig::production();
    config.rotate_on_refresh = true;
    let manager = harness.manager(config);
    let (id, _) = manager.create(principal("race")).await.unwrap();
    let cookie = id.expose_cookie_value();
    harness.clock.advance(57 * MINUTE);

    let (first, second) = tokio::join!(manager.load(&cookie), manager.load(&cookie));
    let results = [first, second];
    let winners = results.iter().filter(|result| result.is_ok()).count();
    assert_eq!(winners, 1);
    for result in &results {
        if let Err(error) = result {
            assert_eq!(error.invalid_reason(), Some(InvalidReason::Unknown));
        }
    }
    assert_eq!(manager.count_user("race").await.unwrap(), 1);
    harness.cleanup().await;
}

async fn s08_absolute_cap(harness: Harness) {
    let manager = harness.manager(SessionConfig::production());
    let (id, created) = manager.create(principal("marathon")).await.unwrap();
    let cookie = id.expose_cookie_value();

    // A request every 57 minutes keeps refreshing the session up to 12 h.
    let mut elapsed = Duration::ZERO;
    while elapsed + 57 * MINUTE < Duration::from_secs(12 * 3600) {
        harness.clock.advance(57 * MINUTE);
        elapsed += 57 * MINUTE;
        let loaded = manager.load(&cookie).await.unwrap();
        assert!(loaded.session.idle_expires_at() <= created.absolute_expires_at());
    }
    harness
        .clock
        .advance(Duration::from_secs(12 * 3600).saturating_sub(elapsed));
    assert_eq!(
        invalid_reason(manager.load(&cookie).await),
        InvalidReason::AbsoluteExpired
    );
    harness.cleanup().await;
}

async fn s09_eviction_order(harness: Harness) {
    let manager = harness.manager(SessionConfig::production());
    let mut ids = Vec::new();
    for _ in 0..7 {
        let (id, _) = manager.create(principal("many-devices")).await.unwrap();
        ids.push(id);
        harness.clock.advance(Duration::from_secs(1));
    }
    for evicted in &ids[..2] {
        assert_eq!(
            invalid_reason(manager.load(&evicted.expose_cookie_value()).await),
            InvalidReason::Unknown
        );
    }
    for kept in &ids[2..] {
        assert!(manager.load(&kept.expose_cookie_value()).await.is_ok());
    }
    assert_eq!(manager.count_user("many-devices").await.unwrap(), 5);
    harness.cleanup().await;
}

async fn s09_reject_policy(harness: Harness) {
    let mut config = SessionConfig::production();
    config.limit_policy = LimitPolicy::Reject;
    let manager = harness.manager(config);
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(manager.create(principal("strict")).await.unwrap().0);
    }
    let error = manager.create(principal("strict")).await.unwrap_err();
    assert!(matches!(error, SessionError::LimitReached { limit: 5 }));
    assert_eq!(error.kind().as_str(), "session_limit_reached");
    for id in &ids {
        assert!(manager.load(&id.expose_cookie_value()).await.is_ok());
    }

    // Logging out one frees a slot.
    assert!(manager.logout(&ids[0]).await.unwrap());
    assert!(manager.create(principal("strict")).await.is_ok());
    harness.cleanup().await;
}

async fn s10_logout(harness: Harness) {
    let manager = harness.manager(SessionConfig::production());
    let (id, _) = manager.create(principal("leaving")).await.unwrap();
    let (other, _) = manager.create(principal("leaving")).await.unwrap();
    assert!(manager.logout(&id).await.unwrap());
    assert!(!manager.logout(&id).await.unwrap());
    assert_eq!(
        invalid_reason(manager.load(&id.expose_cookie_value()).await),
        InvalidReason::Unknown
    );
    assert!(manager.load(&other.expose_cookie_value()).await.is_ok());
    harness.cleanup().await;
}

async fn s10_logout_all(harness: Harness) {
    let manager = harness.manager(SessionConfig::production());
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(manager.create(principal("revoked")).await.unwrap().0);
    }
    let (bystander, _) = manager.create(principal("bystander")).await.unwrap();

    assert_eq!(manager.logout_all("revoked").await.unwrap(), 3);
    for id in &ids {
        assert_eq!(
            invalid_reason(manager.load(&id.expose_cookie_value()).await),
            InvalidReason::Unknown
        );
    }
    assert!(manager.load(&bystander.expose_cookie_value()).await.is_ok());
    assert_eq!(manager.logout_all("revoked").await.unwrap(), 0);
    harness.cleanup().await;
}

async fn rotation_invalidates_old_id(harness: Harness) {
    let manager = harness.manager(SessionConfig::production());
    let (id, created) = manager.create(principal("rotated")).await.unwrap();
    harness.clock.advance(10 * MINUTE);

    let new_id = manager.rotate(&id).await.unwrap();
    assert_ne!(new_id, id);
    assert_eq!(
        invalid_reason(manager.load(&id.expose_cookie_value()).await),
        InvalidReason::Unknown
    );
    let loaded = manager.load(&new_id.expose_cookie_value()).await.unwrap();
    assert_eq!(loaded.session.created(), created.created());
    assert_eq!(
        loaded.session.absolute_expires_at(),
        created.absolute_expires_at()
    );
    assert_eq!(manager.count_user("rotated").await.unwrap(), 1);

    // The old id cannot be rotated again.
    assert_eq!(
        invalid_reason(manager.rotate(&id).await),
        InvalidReason::Unknown
    );
    harness.cleanup().await;
}

async fn rotation_with_new_roles(harness: Harness) {
    let manager = harness.manager(SessionConfig::production());
    let (id, _) = manager.create(principal("promoted")).await.unwrap();
    let admin = principal("promoted").with_roles(["user", "admin"]);
    let new_id = manager.rotate_with_principal(&id, admin).await.unwrap();
    let loaded = manager.load(&new_id.expose_cookie_value()).await.unwrap();
    assert!(loaded.principal().has_role("admin"));

    let error = manager
        .rotate_with_principal(&new_id, principal("someone-else"))
        .await
        .unwrap_err();
    assert_eq!(error.kind().as_str(), "session_config_invalid");
    harness.cleanup().await;
}

async fn delete_user_removes_data(harness: Harness) {
    let manager = harness.manager(SessionConfig::production());
    let (id, _) = manager.create(principal("forget-me")).await.unwrap();
    let mut data = SessionData::new();
    data.insert("email", "forget-me@example.test").unwrap();
    manager.set_data(&id, data).await.unwrap();

    assert_eq!(manager.delete_user("forget-me").await.unwrap(), 1);
    assert_eq!(harness.store.load(&id).await.unwrap(), None);
    assert_eq!(manager.count_user("forget-me").await.unwrap(), 0);

    if let Some(redis) = &harness.redis {
        let mut connection = common::raw_connection(common::REDIS_URL).await;
        let exists: i64 = ::redis::cmd("EXISTS")
            .arg(redis.session_key(&id))
            .arg(redis.user_index_key("forget-me"))
            .query_async(&mut connection)
            .await
            .unwrap();
        assert_eq!(exists, 0);
    }
    harness.cleanup().await;
}

async fn data_round_trip(harness: Harness) {
    let manager = harness.manager(SessionConfig::production());
    let (id, _) = manager.create(principal("data")).await.unwrap();
    let mut data = SessionData::new();
    data.insert("model", "llama-70b").unwrap();
    manager.set_data(&id, data).await.unwrap();
    let loaded = manager.load(&id.expose_cookie_value()).await.unwrap();
    assert_eq!(loaded.session.data().get("model"), Some("llama-70b"));

    manager.logout(&id).await.unwrap();
    assert_eq!(
        invalid_reason(manager.set_data(&id, SessionData::new()).await),
        InvalidReason::Unknown
    );
    harness.cleanup().await;
}

async fn development_preset_idle(harness: Harness) {
    let manager = harness.manager(SessionConfig::development());
    let (id, _) = manager.create(principal("developer")).await.unwrap();
    harness.clock.advance(90 * MINUTE);
    assert!(manager.load(&id.expose_cookie_value()).await.is_ok());
    harness.clock.advance(30 * MINUTE);
    assert_eq!(
        invalid_reason(manager.load(&id.expose_cookie_value()).await),
        InvalidReason::IdleExpired
    );
    harness.cleanup().await;
}

/// A store that counts calls, to show malformed ids never reach one.
#[derive(Debug, Default)]
struct CountingStore {
    inner: ddf_session::MemoryStore,
    loads: AtomicUsize,
}

impl SessionStore for CountingStore {
    fn create<'a>(
        &'a self,
        id: &'a SessionId,
        session: &'a ddf_session::Session,
        ttl: Duration,
        limit: ddf_session::UserLimit,
    ) -> ddf_session::StoreFuture<'a, ddf_session::CreateOutcome> {
        self.inner.create(id, session, ttl, limit)
    }
    fn load<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> ddf_session::StoreFuture<'a, Option<ddf_session::Session>> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.load(id)
    }
    fn save<'a>(
        &'a self,
        id: &'a SessionId,
        session: &'a ddf_session::Session,
        ttl: Duration,
    ) -> ddf_session::StoreFuture<'a, bool> {
        self.inner.save(id, session, ttl)
    }
    fn rotate<'a>(
        &'a self,
        old: &'a SessionId,
        new: &'a SessionId,
        session: &'a ddf_session::Session,
        ttl: Duration,
    ) -> ddf_session::StoreFuture<'a, ddf_session::RotateOutcome> {
        self.inner.rotate(old, new, session, ttl)
    }
    fn delete<'a>(
        &'a self,
        id: &'a SessionId,
        subject: &'a str,
    ) -> ddf_session::StoreFuture<'a, bool> {
        self.inner.delete(id, subject)
    }
    fn delete_user<'a>(&'a self, subject: &'a str) -> ddf_session::StoreFuture<'a, usize> {
        self.inner.delete_user(subject)
    }
    fn count_user<'a>(&'a self, subject: &'a str) -> ddf_session::StoreFuture<'a, usize> {
        self.inner.count_user(subject)
    }
}

#[tokio::test]
async fn s03_malformed_ids_never_reach_store() {
    let store = Arc::new(CountingStore::default());
    let manager = ddf_session::SessionManager::new(
        SessionConfig::production(),
        store.clone(),
        Arc::new(ddf_rbac::ManualClock::at_unix_seconds(common::T0)),
    )
    .unwrap();
    let valid = SessionId::generate().unwrap().expose_cookie_value();
    let malformed = [
        String::new(),
        "x".repeat(42),
        "x".repeat(44),
        format!("{}=", &valid[..42]),
        format!("{}+", &valid[..42]),
        format!("{} ", &valid[..42]),
        "../../../../etc/passwd".to_owned(),
        "A".repeat(100_000),
    ];
    for cookie in &malformed {
        assert_eq!(
            invalid_reason(manager.load(cookie).await),
            InvalidReason::Malformed
        );
    }
    assert_eq!(store.loads.load(Ordering::SeqCst), 0);

    manager.load(&valid).await.unwrap_err();
    assert_eq!(store.loads.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn s04_id_collision_retries_without_overwrite() {
    let harness = Harness::memory();
    let fixed = SessionId::from_bytes([3; 32]);
    let manager = harness.manager(SessionConfig::production());
    let (id, victim) = manager
        .clone()
        .with_id_generator_for_tests({
            let fixed = fixed.clone();
            move || Ok(fixed.clone())
        })
        .create(principal("victim"))
        .await
        .unwrap();
    assert_eq!(id, fixed);

    // A generator that first returns the taken id, then a fresh one.
    let calls = Arc::new(AtomicUsize::new(0));
    let colliding = manager.clone().with_id_generator_for_tests({
        let calls = Arc::clone(&calls);
        move || {
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                Ok(SessionId::from_bytes([3; 32]))
            } else {
                SessionId::generate()
            }
        }
    });
    let (new_id, _) = colliding.create(principal("attacker")).await.unwrap();
    assert_ne!(new_id, fixed);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let loaded = manager.load(&fixed.expose_cookie_value()).await.unwrap();
    assert_eq!(loaded.session, victim);

    // A generator stuck on one id gives up with an internal error.
    let stuck = manager
        .clone()
        .with_id_generator_for_tests(move || Ok(SessionId::from_bytes([3; 32])));
    let error = stuck.create(principal("attacker")).await.unwrap_err();
    assert_eq!(error.kind().as_str(), "internal_error");
}
