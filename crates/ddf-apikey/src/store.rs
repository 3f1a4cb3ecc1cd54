//! The key-store contract that the verifier relies on.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use ddf_rbac::Principal;

use crate::error::ApiKeyError;
use crate::key::KeyDigest;
use crate::record::KeyRecord;

/// The future returned by [`KeyStore`] methods: boxed, so that the trait can
/// be used as `Arc<dyn KeyStore>`.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ApiKeyError>> + Send + 'a>>;

/// Where key records live.
///
/// Contract, checked by [`conformance::run`](crate::conformance::run) for
/// every implementation:
///
/// - `insert` fails with `api_key_conflict` when the id or the digest exists;
/// - `find` returns the record whose digest equals the argument, or `None`;
/// - `revoke` and `revoke_owner` set `revoked_at` to the earlier of its
///   current value and `at`; a revocation never moves later;
/// - every write is visible to the next `find` on any handle of the store;
/// - failures to reach the backing service return `api_key_store_unavailable`,
///   never a record and never `None`.
pub trait KeyStore: fmt::Debug + Send + Sync + 'static {
    /// Adds a record.
    fn insert(&self, record: KeyRecord) -> StoreFuture<'_, ()>;

    /// Returns the record whose digest equals `digest`.
    fn find(&self, digest: &KeyDigest) -> StoreFuture<'_, Option<Arc<KeyRecord>>>;

    /// Returns the record with this id.
    fn get(&self, id: &str) -> StoreFuture<'_, Option<KeyRecord>>;

    /// Revokes one key from `at` on. Returns whether the id exists.
    fn revoke(&self, id: &str, at: u64) -> StoreFuture<'_, bool>;

    /// Revokes every key of `owner` from `at` on (for example when a user
    /// exercises the right to erasure). Returns how many records the owner has.
    fn revoke_owner(&self, owner: &str, at: u64) -> StoreFuture<'_, usize>;

    /// Returns the records of `owner`, sorted by id.
    fn list_by_owner(&self, owner: &str) -> StoreFuture<'_, Vec<KeyRecord>>;

    /// Reloads the records from the store's source, if it has one.
    fn reload(&self) -> StoreFuture<'_, ()>;

    /// Looks `digest` up without awaiting, for stores that hold every record
    /// in memory, and passes a candidate record to `visit`.
    ///
    /// The candidate may belong to another digest: on a miss, in-memory
    /// stores pass some other stored record, so that a miss and a hit do the
    /// same work. The caller must therefore compare the digests with
    /// [`KeyDigest::ct_eq`]. Returns `false` without calling `visit` when the
    /// store needs I/O, which is what the default implementation does; the
    /// caller then uses [`find`](Self::find).
    fn find_in_memory(&self, digest: &KeyDigest, visit: &mut dyn FnMut(&KeyRecord)) -> bool {
        let _ = (digest, visit);
        false
    }

    /// Like [`find_in_memory`](Self::find_in_memory), and also passes the
    /// principal the store prepared for the candidate record: the owner as
    /// subject, the id as key id, the roles, no expiry. An accepted key then
    /// costs a reference-count increment instead of building a principal.
    ///
    /// The default passes `None`, and the verifier builds the principal
    /// from the record.
    fn find_in_memory_prepared(
        &self,
        digest: &KeyDigest,
        visit: &mut dyn FnMut(&KeyRecord, Option<&Principal>),
    ) -> bool {
        self.find_in_memory(digest, &mut |record| visit(record, None))
    }
}

impl<S: KeyStore + ?Sized> KeyStore for Arc<S> {
    fn insert(&self, record: KeyRecord) -> StoreFuture<'_, ()> {
        (**self).insert(record)
    }

    fn find(&self, digest: &KeyDigest) -> StoreFuture<'_, Option<Arc<KeyRecord>>> {
        (**self).find(digest)
    }

    fn get(&self, id: &str) -> StoreFuture<'_, Option<KeyRecord>> {
        (**self).get(id)
    }

    fn revoke(&self, id: &str, at: u64) -> StoreFuture<'_, bool> {
        (**self).revoke(id, at)
    }

    fn revoke_owner(&self, owner: &str, at: u64) -> StoreFuture<'_, usize> {
        (**self).revoke_owner(owner, at)
    }

    fn list_by_owner(&self, owner: &str) -> StoreFuture<'_, Vec<KeyRecord>> {
        (**self).list_by_owner(owner)
    }

    fn reload(&self) -> StoreFuture<'_, ()> {
        (**self).reload()
    }

    fn find_in_memory(&self, digest: &KeyDigest, visit: &mut dyn FnMut(&KeyRecord)) -> bool {
        (**self).find_in_memory(digest, visit)
    }

    fn find_in_memory_prepared(
        &self,
        digest: &KeyDigest,
        visit: &mut dyn FnMut(&KeyRecord, Option<&Principal>),
    ) -> bool {
        (**self).find_in_memory_prepared(digest, visit)
    }
}
