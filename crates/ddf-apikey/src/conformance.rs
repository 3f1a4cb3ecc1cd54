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

/// Runs every check against `store`, which must be empty.
///
/// # Panics
///
/// Panics when the store breaks the [`KeyStore`] contract.
pub async fn run(store: Arc<dyn KeyStore>) {
    let keys: Vec<ApiKey> = (0..4).map(|_| ApiKey::generate()).collect();
    let a1 = record("a1", "alice", &keys[0]);
    let a2 = record("a2", "alice", &keys[1]);
    let b1 = record("b1", "bob", &keys[2]);
    let unknown = &keys[3];

    // Insert and find.
    for record in [&a2, &a1, &b1] {
        store
            .insert(record.clone())
            .await
            .expect("insert a new record");
    }
    let found = store.find(&keys[0].digest()).await.expect("find a1");
    assert_eq!(found.as_deref(), Some(&a1), "find: a1 by digest");
    let missing = store.find(&unknown.digest()).await.expect("find unknown");
    assert_eq!(missing, None, "find: an unknown digest must give None");
    assert_eq!(store.get("b1").await.expect("get b1"), Some(b1.clone()));
    assert_eq!(store.get("zz").await.expect("get zz"), None);

    // Conflicts and validation.
    let mut same_id = record("a1", "carol", unknown);
    same_id.description = None;
    assert_conflict(store.insert(same_id).await, "id");
    assert_conflict(
        store.insert(record("c1", "carol", &keys[1])).await,
        "digest",
    );
    let invalid = record("bad id", "carol", unknown);
    let error = store
        .insert(invalid)
        .await
        .expect_err("insert an invalid id");
    assert_eq!(error.kind(), ApiKeyErrorKind::Config);
    assert_eq!(store.find(&unknown.digest()).await.expect("find"), None);

    // Listing.
    let listed = store.list_by_owner("alice").await.expect("list alice");
    assert_eq!(
        listed,
        vec![a1.clone(), a2.clone()],
        "list_by_owner: sorted by id"
    );
    assert!(
        store
            .list_by_owner("nobody")
            .await
            .expect("list")
            .is_empty()
    );

    // Revoking one key: the earliest time wins.
    assert!(store.revoke("a1", NOW + 100).await.expect("revoke a1"));
    assert!(
        store
            .revoke("a1", NOW + 500)
            .await
            .expect("revoke a1 later")
    );
    let a1_now = store.get("a1").await.expect("get a1").expect("a1 exists");
    assert_eq!(
        a1_now.revoked_at,
        Some(NOW + 100),
        "revoke: never moves later"
    );
    assert!(
        store
            .revoke("a1", NOW - 5)
            .await
            .expect("revoke a1 earlier")
    );
    let found = store.find(&keys[0].digest()).await.expect("find a1");
    assert_eq!(found.and_then(|r| r.revoked_at), Some(NOW - 5));
    assert!(!store.revoke("zz", NOW).await.expect("revoke unknown id"));

    // Revoking every key of an owner.
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
    assert_eq!(store.get("b1").await.expect("get b1"), Some(b1.clone()));
    assert_eq!(store.revoke_owner("nobody", NOW).await.expect("revoke"), 0);

    // Reload keeps what the store holds.
    store.reload().await.expect("reload");
    let found = store.find(&keys[2].digest()).await.expect("find b1");
    assert_eq!(found.as_deref(), Some(&b1), "reload: b1 still present");

    // The verifier over this store.
    let clock = ManualClock::at_unix_seconds(NOW);
    let verifier = ApiKeyVerifier::new(Arc::clone(&store)).with_clock(Arc::new(clock.clone()));
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
        (unknown, InvalidReason::Unknown),
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
