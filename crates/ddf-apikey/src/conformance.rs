//! The test suite that every [`KeyStore`] implementation must pass.
//!
//! Call [`run`] from a test with a fresh, empty store; it panics with a
//! message naming the broken rule. It needs no particular async runtime.
//!
//! ```
//! # futures_lite_block_on(async {
//! use ddf_apikey::{conformance, MemoryKeyStore};
//!
//! conformance::run(std::sync::Arc::new(MemoryKeyStore::new())).await;
//! # });
//! # fn futures_lite_block_on<F: std::future::Future>(future: F) -> F::Output {
//! #     let mut future = std::pin::pin!(future);
//! #     let mut context = std::task::Context::from_waker(std::task::Waker::noop());
//! #     match future.as_mut().poll(&mut context) {
//! #         std::task::Poll::Ready(output) => output,
//! #         std::task::Poll::Pending => panic!("the memory store never waits"),
//! #     }
//! # }
//! ```

use std::sync::Arc;

use ddf_rbac::{AuthMethod, ManualClock};

use crate::error::{ApiKeyError, ApiKeyErrorKind, InvalidReason};
use crate::key::ApiKey;
use crate::record::KeyRecord;
use crate::store::KeyStore;
use crate::verifier::ApiKeyVerifier;

const NOW: u64 = 1_767_225_600;

fn record(id: &str, owner: &str, key: &ApiKey) -> KeyRecord {
    KeyRecord::new(id, owner, key.digest(), NOW - 60)
        .with_roles(["user", "llm-reader"])
        .with_expires(NOW + 3600)
        .with_description("conformance")
}

fn assert_conflict(result: Result<(), ApiKeyError>, field: &str) {
    match result {
        Err(ApiKeyError::Conflict { field: got, .. }) => {
            assert_eq!(got, field, "insert: conflict reported on the wrong field");
        }
        other => panic!("insert: expected a conflict on {field}, got {other:?}"),
    }
}

/// The records every step works with.
struct Fixture {
    keys: Vec<ApiKey>,
    a1: KeyRecord,
    a2: KeyRecord,
    b1: KeyRecord,
}

impl Fixture {
    fn new() -> Self {
        let keys: Vec<ApiKey> = (0..4).map(|_| ApiKey::generate()).collect();
        Self {
            a1: record("a1", "alice", &keys[0]),
            a2: record("a2", "alice", &keys[1]),
            b1: record("b1", "bob", &keys[2]),
            keys,
        }
    }

    /// A key that no record has.
    fn unknown(&self) -> &ApiKey {
        &self.keys[3]
    }
}

/// Runs every check against `store`, which must be empty.
///
/// # Panics
///
/// Panics when the store breaks the [`KeyStore`] contract.
pub async fn run(store: Arc<dyn KeyStore>) {
    let fixture = Fixture::new();
    insert_and_find(&*store, &fixture).await;
    conflicts_and_validation(&*store, &fixture).await;
    listing(&*store, &fixture).await;
    revocation(&*store, &fixture).await;
    reload(&*store, &fixture).await;
    verifier(store, &fixture).await;
}

async fn insert_and_find(store: &dyn KeyStore, fixture: &Fixture) {
    for record in [&fixture.a2, &fixture.a1, &fixture.b1] {
        store
            .insert(record.clone())
            .await
            .expect("insert a new record");
    }
    let found = store
        .find(&fixture.keys[0].digest())
        .await
        .expect("find a1");
    assert_eq!(found.as_deref(), Some(&fixture.a1), "find: a1 by digest");
    let missing = store
        .find(&fixture.unknown().digest())
        .await
        .expect("find unknown");
    assert_eq!(missing, None, "find: an unknown digest must give None");
    assert_eq!(
        store.get("b1").await.expect("get b1"),
        Some(fixture.b1.clone())
    );
    assert_eq!(store.get("zz").await.expect("get zz"), None);
}

async fn conflicts_and_validation(store: &dyn KeyStore, fixture: &Fixture) {
    let unknown = fixture.unknown();
    assert_conflict(store.insert(record("a1", "carol", unknown)).await, "id");
    let same_digest = record("c1", "carol", &fixture.keys[1]);
    assert_conflict(store.insert(same_digest).await, "digest");

    let invalid = record("bad id", "carol", unknown);
    let error = store
        .insert(invalid)
        .await
        .expect_err("insert an invalid id");
    assert_eq!(error.kind(), ApiKeyErrorKind::Config);
    assert_eq!(store.find(&unknown.digest()).await.expect("find"), None);
}

async fn listing(store: &dyn KeyStore, fixture: &Fixture) {
    let listed = store.list_by_owner("alice").await.expect("list alice");
    let expected = vec![fixture.a1.clone(), fixture.a2.clone()];
    assert_eq!(listed, expected, "list_by_owner: sorted by id");
    assert!(
        store
            .list_by_owner("nobody")
            .await
            .expect("list")
            .is_empty()
    );
}

async fn revocation(store: &dyn KeyStore, fixture: &Fixture) {
    // One key: the earliest time wins.
    assert!(store.revoke("a1", NOW + 100).await.expect("revoke a1"));
    assert!(
        store
            .revoke("a1", NOW + 500)
            .await
            .expect("revoke a1 later")
    );
    let a1 = store.get("a1").await.expect("get a1").expect("a1 exists");
    assert_eq!(a1.revoked_at, Some(NOW + 100), "revoke: never moves later");
    assert!(
        store
            .revoke("a1", NOW - 5)
            .await
            .expect("revoke a1 earlier")
    );
    let found = store
        .find(&fixture.keys[0].digest())
        .await
        .expect("find a1");
    assert_eq!(found.and_then(|r| r.revoked_at), Some(NOW - 5));
    assert!(!store.revoke("zz", NOW).await.expect("revoke unknown id"));

    // Every key of an owner, and only those.
    assert_eq!(
        store
            .revoke_owner("alice", NOW)
            .await
            .expect("revoke alice"),
        2
    );
    let alice = store.list_by_owner("alice").await.expect("list alice");
    let revoked: Vec<Option<u64>> = alice.iter().map(|r| r.revoked_at).collect();
    assert_eq!(revoked, [Some(NOW - 5), Some(NOW)]);
    assert_eq!(
        store.get("b1").await.expect("get b1"),
        Some(fixture.b1.clone())
    );
    assert_eq!(store.revoke_owner("nobody", NOW).await.expect("revoke"), 0);
}

async fn reload(store: &dyn KeyStore, fixture: &Fixture) {
    store.reload().await.expect("reload");
    let found = store
        .find(&fixture.keys[2].digest())
        .await
        .expect("find b1");
    assert_eq!(
        found.as_deref(),
        Some(&fixture.b1),
        "reload: b1 still present"
    );
}

async fn verifier(store: Arc<dyn KeyStore>, fixture: &Fixture) {
    let keys = &fixture.keys;
    let clock = ManualClock::at_unix_seconds(NOW);
    let verifier = ApiKeyVerifier::new(store).with_clock(Arc::new(clock.clone()));
    let principal = verifier
        .verify(keys[2].expose_secret().as_bytes())
        .await
        .expect("verify b1");
    assert_eq!(principal.subject(), "bob");
    assert_eq!(principal.key_id(), Some("b1"));
    assert_eq!(principal.method(), AuthMethod::ApiKey);
    assert_eq!(principal.roles(), ["user", "llm-reader"]);
    assert_eq!(principal.expires_at(), Some(NOW + 3600));

    for (key, reason) in [
        (&keys[0], InvalidReason::Revoked),
        (&keys[1], InvalidReason::Revoked),
        (fixture.unknown(), InvalidReason::Unknown),
    ] {
        let error = verifier
            .verify(key.expose_secret().as_bytes())
            .await
            .expect_err("a revoked or unknown key must be rejected");
        assert_eq!(error.kind(), ApiKeyErrorKind::Invalid);
        assert_eq!(error.reason(), Some(reason));
    }

    clock.set_unix_seconds(NOW + 3600);
    let error = verifier
        .verify(keys[2].expose_secret().as_bytes())
        .await
        .expect_err("an expired key must be rejected");
    assert_eq!(error.reason(), Some(InvalidReason::Expired));
}
