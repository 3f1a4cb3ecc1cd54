//! The test suite every [`SessionStore`] must pass.
//!
//! Each function checks one promise of the trait and panics with a message
//! naming it when the store breaks it. Every function uses fresh random
//! subjects, so the suite can run against a shared backend and in parallel
//! with other tests. A store's own test file calls [`run_all`]:
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let store = ddf_session::MemoryStore::new();
//! ddf_session::conformance::run_all(&store).await;
//! # });
//! ```

use std::time::{Duration, SystemTime};

use ddf_rbac::{AuthMethod, Principal};

use crate::config::{LimitPolicy, SessionConfig};
use crate::id::SessionId;
use crate::session::Session;
use crate::store::{CreateOutcome, RotateOutcome, SessionStore, UserLimit};

const TTL: Duration = Duration::from_secs(600);
const EVICT: UserLimit = UserLimit {
    max_sessions: 5,
    policy: LimitPolicy::EvictOldest,
};

/// Runs every check of the suite in turn.
///
/// # Panics
///
/// When the store breaks a promise of [`SessionStore`].
pub async fn run_all(store: &dyn SessionStore) {
    create_then_load(store).await;
    create_never_overwrites(store).await;
    save_only_overwrites_existing(store).await;
    rotate_moves_session(store).await;
    concurrent_rotations_have_one_winner(store).await;
    limit_evicts_oldest(store).await;
    limit_rejects_newest(store).await;
    delete_removes_one(store).await;
    delete_user_removes_all(store).await;
}

fn subject() -> String {
    let id = SessionId::generate().expect("OS random number generator");
    format!("conformance-{}", &id.expose_cookie_value()[..16])
}

fn id() -> SessionId {
    SessionId::generate().expect("OS random number generator")
}

fn session_at(subject: &str, created: SystemTime) -> Session {
    Session::new(
        Principal::new(subject, AuthMethod::Jwt).with_roles(["user"]),
        created,
        &SessionConfig::production(),
    )
}

fn session(subject: &str) -> Session {
    session_at(subject, SystemTime::now())
}

/// Checks that a created session loads back equal and an unknown id loads
/// as `None`.
///
/// # Panics
///
/// When the store breaks the promise.
pub async fn create_then_load(store: &dyn SessionStore) {
    let subject = subject();
    let (id, session) = (id(), session(&subject));
    let outcome = store.create(&id, &session, TTL, EVICT).await.unwrap();
    assert_eq!(outcome, CreateOutcome::Created { evicted: 0 }, "create");
    assert_eq!(store.load(&id).await.unwrap(), Some(session), "load");
    assert_eq!(store.load(&self::id()).await.unwrap(), None, "unknown id");
    assert_eq!(store.count_user(&subject).await.unwrap(), 1, "count");
    store.delete_user(&subject).await.unwrap();
}

/// Checks that `create` under an existing id returns `IdTaken` and keeps the
/// original.
///
/// # Panics
///
/// When the store breaks the promise.
pub async fn create_never_overwrites(store: &dyn SessionStore) {
    let (victim, attacker) = (subject(), subject());
    let id = id();
    let original = session(&victim);
    store.create(&id, &original, TTL, EVICT).await.unwrap();
    let outcome = store
        .create(&id, &session(&attacker), TTL, EVICT)
        .await
        .unwrap();
    assert_eq!(outcome, CreateOutcome::IdTaken, "second create");
    assert_eq!(
        store.load(&id).await.unwrap(),
        Some(original),
        "original kept"
    );
    assert_eq!(
        store.count_user(&attacker).await.unwrap(),
        0,
        "no index entry"
    );
    store.delete_user(&victim).await.unwrap();
}

/// Checks that `save` replaces an existing session and never creates one.
///
/// # Panics
///
/// When the store breaks the promise.
pub async fn save_only_overwrites_existing(store: &dyn SessionStore) {
    let subject = subject();
    let id = id();
    let mut session = session(&subject);
    assert!(
        !store.save(&id, &session, TTL).await.unwrap(),
        "save of a missing id"
    );
    assert_eq!(store.load(&id).await.unwrap(), None, "nothing created");

    store.create(&id, &session, TTL, EVICT).await.unwrap();
    session.data_mut().insert("model", "m-large").unwrap();
    assert!(store.save(&id, &session, TTL).await.unwrap(), "save");
    assert_eq!(store.load(&id).await.unwrap(), Some(session), "saved");
    store.delete_user(&subject).await.unwrap();
}

/// Checks that `rotate` moves the session, removes the old id and updates
/// the index.
///
/// # Panics
///
/// When the store breaks the promise.
pub async fn rotate_moves_session(store: &dyn SessionStore) {
    let subject = subject();
    let (old, new) = (id(), id());
    let session = session(&subject);
    store.create(&old, &session, TTL, EVICT).await.unwrap();
    let outcome = store.rotate(&old, &new, &session, TTL).await.unwrap();
    assert_eq!(outcome, RotateOutcome::Rotated, "rotate");
    assert_eq!(store.load(&old).await.unwrap(), None, "old id gone");
    assert_eq!(
        store.load(&new).await.unwrap(),
        Some(session.clone()),
        "new id"
    );
    assert_eq!(store.count_user(&subject).await.unwrap(), 1, "count");

    let again = store.rotate(&old, &id(), &session, TTL).await.unwrap();
    assert_eq!(again, RotateOutcome::OldMissing, "replayed rotation");
    store.delete_user(&subject).await.unwrap();
}

/// Checks that of two concurrent rotations of one id, exactly one wins.
///
/// # Panics
///
/// When the store breaks the promise.
pub async fn concurrent_rotations_have_one_winner(store: &dyn SessionStore) {
    let subject = subject();
    let (old, first, second) = (id(), id(), id());
    let session = session(&subject);
    store.create(&old, &session, TTL, EVICT).await.unwrap();
    let (a, b) = tokio::join!(
        store.rotate(&old, &first, &session, TTL),
        store.rotate(&old, &second, &session, TTL)
    );
    let outcomes = [a.unwrap(), b.unwrap()];
    let winners = outcomes
        .iter()
        .filter(|outcome| **outcome == RotateOutcome::Rotated)
        .count();
    assert_eq!(winners, 1, "exactly one rotation wins: {outcomes:?}");
    assert_eq!(
        store.count_user(&subject).await.unwrap(),
        1,
        "one session left"
    );
    store.delete_user(&subject).await.unwrap();
}

/// Checks that with `EvictOldest` the sixth session evicts the oldest one.
///
/// # Panics
///
/// When the store breaks the promise.
pub async fn limit_evicts_oldest(store: &dyn SessionStore) {
    let subject = subject();
    let start = SystemTime::now();
    let mut ids = Vec::new();
    for second in 0..6 {
        let id = id();
        let session = session_at(&subject, start + Duration::from_secs(second));
        let outcome = store.create(&id, &session, TTL, EVICT).await.unwrap();
        let expected = u32::from(second == 5);
        assert_eq!(
            outcome,
            CreateOutcome::Created { evicted: expected },
            "create {second}"
        );
        ids.push(id);
    }
    assert_eq!(store.load(&ids[0]).await.unwrap(), None, "oldest evicted");
    for id in &ids[1..] {
        assert!(store.load(id).await.unwrap().is_some(), "newer kept");
    }
    assert_eq!(store.count_user(&subject).await.unwrap(), 5, "count");
    store.delete_user(&subject).await.unwrap();
}

/// Checks that with `Reject` the sixth session is rejected and the first five
/// stay.
///
/// # Panics
///
/// When the store breaks the promise.
pub async fn limit_rejects_newest(store: &dyn SessionStore) {
    let subject = subject();
    let limit = UserLimit {
        max_sessions: 5,
        policy: LimitPolicy::Reject,
    };
    for _ in 0..5 {
        store
            .create(&id(), &session(&subject), TTL, limit)
            .await
            .unwrap();
    }
    let rejected = id();
    let error = store
        .create(&rejected, &session(&subject), TTL, limit)
        .await
        .unwrap_err();
    assert_eq!(
        error.kind().as_str(),
        "session_limit_reached",
        "sixth create"
    );
    assert_eq!(store.load(&rejected).await.unwrap(), None, "nothing stored");
    assert_eq!(store.count_user(&subject).await.unwrap(), 5, "count");
    store.delete_user(&subject).await.unwrap();
}

/// Checks that `delete` removes one session and leaves the user's others.
///
/// # Panics
///
/// When the store breaks the promise.
pub async fn delete_removes_one(store: &dyn SessionStore) {
    let subject = subject();
    let (first, second) = (id(), id());
    store
        .create(&first, &session(&subject), TTL, EVICT)
        .await
        .unwrap();
    store
        .create(&second, &session(&subject), TTL, EVICT)
        .await
        .unwrap();
    assert!(store.delete(&first, &subject).await.unwrap(), "delete");
    assert!(
        !store.delete(&first, &subject).await.unwrap(),
        "second delete"
    );
    assert_eq!(store.load(&first).await.unwrap(), None, "deleted");
    assert!(store.load(&second).await.unwrap().is_some(), "other kept");
    assert_eq!(store.count_user(&subject).await.unwrap(), 1, "count");
    store.delete_user(&subject).await.unwrap();
}

/// Checks that `delete_user` removes every session of one user and no other
/// user's.
///
/// # Panics
///
/// When the store breaks the promise.
pub async fn delete_user_removes_all(store: &dyn SessionStore) {
    let (subject, bystander) = (subject(), subject());
    let ids: Vec<SessionId> = (0..3).map(|_| id()).collect();
    for id in &ids {
        store
            .create(id, &session(&subject), TTL, EVICT)
            .await
            .unwrap();
    }
    let kept = id();
    store
        .create(&kept, &session(&bystander), TTL, EVICT)
        .await
        .unwrap();

    assert_eq!(store.delete_user(&subject).await.unwrap(), 3, "deleted");
    for id in &ids {
        assert_eq!(store.load(id).await.unwrap(), None, "session gone");
    }
    assert_eq!(store.count_user(&subject).await.unwrap(), 0, "count");
    assert!(store.load(&kept).await.unwrap().is_some(), "bystander kept");
    assert_eq!(
        store.delete_user(&bystander).await.unwrap(),
        1,
        "bystander cleanup"
    );
}
