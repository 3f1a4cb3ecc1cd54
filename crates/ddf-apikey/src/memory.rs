//! The embedded key store: every record in memory, loaded from configuration.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;
use ddf_rbac::{AuthMethod, Clock, Principal, SystemClock};

use crate::config::{KeyEntry, KeySource};
use crate::error::ApiKeyError;
use crate::index::DigestIndex;
use crate::key::KeyDigest;
use crate::record::KeyRecord;
use crate::store::{KeyStore, StoreFuture};

/// A key store that keeps every record in memory.
///
/// Readers take a snapshot through [`ArcSwap`] and never wait: inserts,
/// revocations and reloads build a new snapshot and swap it in. A write costs
/// time proportional to the number of records, so this store suits keys from
/// configuration (up to some hundred thousand), not a high write rate.
///
/// Records come from a [`KeySource`] and from [`KeyStore::insert`].
/// [`KeyStore::reload`] reads the source again; records inserted at run time
/// survive it unless the source now has their id or digest, and revocations
/// made at run time stay in force (they are remembered by digest, so a
/// revoked key that reappears in the source stays revoked).
///
/// ```
/// use ddf_apikey::{config, KeyStore, MemoryKeyStore};
///
/// let entries = config::parse_env(
///     "indexer:5947d7c33d783f94b3b4c1a96ebc8991ed28f1b069b71e03376cba8caa98a720:readonly",
/// )
/// .unwrap();
/// let store = MemoryKeyStore::from_entries(entries).unwrap();
/// assert_eq!(store.len(), 1);
/// ```
#[derive(Debug)]
pub struct MemoryKeyStore {
    snapshot: ArcSwap<Snapshot>,
    state: Mutex<State>,
}

/// What readers see: the records and the index over their digests.
#[derive(Debug)]
struct Snapshot {
    /// Slot 0 is the placeholder that a miss in an empty store resolves to.
    records: Vec<KeyRecord>,
    /// The principal of each record, without expiry, at the same position.
    principals: Vec<Principal>,
    index: DigestIndex,
    by_id: HashMap<String, u32>,
}

#[derive(Debug)]
struct State {
    source: Option<KeySource>,
    clock: Arc<dyn Clock>,
    /// Records from the source, as last loaded.
    base: Vec<KeyEntry>,
    /// Records inserted at run time, by id.
    inserted: BTreeMap<String, KeyRecord>,
    /// Run-time revocations, by digest so they survive reloads.
    revoked: HashMap<KeyDigest, u64>,
    /// When each digest without a `created` time was first loaded.
    first_seen: HashMap<KeyDigest, u64>,
}

impl MemoryKeyStore {
    /// Creates an empty store.
    pub fn new() -> Self {
        let snapshot = Snapshot {
            records: vec![placeholder()],
            principals: vec![prepared_principal(&placeholder())],
            index: DigestIndex::empty(),
            by_id: HashMap::new(),
        };
        Self {
            snapshot: ArcSwap::from_pointee(snapshot),
            state: Mutex::new(State {
                source: None,
                clock: Arc::new(SystemClock),
                base: Vec::new(),
                inserted: BTreeMap::new(),
                revoked: HashMap::new(),
                first_seen: HashMap::new(),
            }),
        }
    }

    /// Creates a store from configuration entries, without a source to reload.
    ///
    /// # Errors
    ///
    /// Returns `config_invalid` for invalid names or duplicate ids or digests.
    pub fn from_entries(entries: Vec<KeyEntry>) -> Result<Self, ApiKeyError> {
        Self::from_parts(None, entries, Arc::new(SystemClock))
    }

    /// Creates a store from complete records, without a source to reload.
    ///
    /// # Errors
    ///
    /// Returns `config_invalid` for invalid names or duplicate ids or digests.
    pub fn from_records(records: Vec<KeyRecord>) -> Result<Self, ApiKeyError> {
        let entries = records.into_iter().map(entry_from_record).collect();
        Self::from_entries(entries)
    }

    /// Loads a store from `source`, which [`KeyStore::reload`] reads again.
    ///
    /// # Errors
    ///
    /// Returns `config_invalid` when the source cannot be read or
    /// contains invalid records.
    pub fn from_source(source: KeySource) -> Result<Self, ApiKeyError> {
        Self::from_source_with_clock(source, Arc::new(SystemClock))
    }

    /// Like [`from_source`](Self::from_source), with the clock that stamps
    /// entries that have no `created` time.
    ///
    /// # Errors
    ///
    /// As for [`from_source`](Self::from_source).
    pub fn from_source_with_clock(
        source: KeySource,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ApiKeyError> {
        let entries = source.load()?;
        Self::from_parts(Some(source), entries, clock)
    }

    fn from_parts(
        source: Option<KeySource>,
        base: Vec<KeyEntry>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ApiKeyError> {
        Self::build(State {
            source,
            clock,
            base,
            inserted: BTreeMap::new(),
            revoked: HashMap::new(),
            first_seen: HashMap::new(),
        })
    }

    fn build(mut state: State) -> Result<Self, ApiKeyError> {
        let snapshot = state.snapshot()?;
        Ok(Self {
            snapshot: ArcSwap::from_pointee(snapshot),
            state: Mutex::new(state),
        })
    }

    /// Returns the number of records.
    pub fn len(&self) -> usize {
        self.snapshot.load().records.len() - 1
    }

    /// Returns whether the store holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Replaces the source-loaded records with `entries` (for callers that
    /// fetch configuration themselves), keeping run-time inserts and
    /// revocations as [`KeyStore::reload`] does.
    ///
    /// # Errors
    ///
    /// Returns `config_invalid` and keeps the current records when `entries`
    /// are invalid.
    pub fn replace_entries(&self, entries: Vec<KeyEntry>) -> Result<(), ApiKeyError> {
        let mut state = self.lock();
        let previous = std::mem::replace(&mut state.base, entries);
        if let Err(error) = self.publish(&mut state) {
            state.base = previous;
            return Err(error);
        }
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves `State` consistent: every
        // mutation is followed by a rebuild that either publishes or is undone.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn publish(&self, state: &mut State) -> Result<(), ApiKeyError> {
        let snapshot = state.snapshot()?;
        self.snapshot.store(Arc::new(snapshot));
        Ok(())
    }

    fn insert_now(&self, record: KeyRecord) -> Result<(), ApiKeyError> {
        record.validate()?;
        let mut state = self.lock();

        let current = self.snapshot.load();
        if current.by_id.contains_key(&record.id) {
            return Err(ApiKeyError::Conflict {
                field: "id",
                id: record.id,
            });
        }
        if current.exact(&record.digest).is_some() {
            return Err(ApiKeyError::Conflict {
                field: "digest",
                id: record.id,
            });
        }

        let id = record.id.clone();
        state.inserted.insert(id.clone(), record);
        if let Err(error) = self.publish(&mut state) {
            state.inserted.remove(&id);
            return Err(error);
        }
        Ok(())
    }

    fn revoke_now(&self, ids: &[String], at: u64) -> Result<(), ApiKeyError> {
        let mut state = self.lock();
        let current = self.snapshot.load();

        for id in ids {
            let Some(&slot) = current.by_id.get(id) else {
                continue;
            };
            let digest = current.records[slot as usize].digest;
            let entry = state.revoked.entry(digest).or_insert(at);
            *entry = (*entry).min(at);
            if let Some(record) = state.inserted.get_mut(id) {
                record.revoked_at = Some(record.revoked_at.map_or(at, |old| old.min(at)));
            }
        }

        self.publish(&mut state)
    }

    fn reload_now(&self) -> Result<(), ApiKeyError> {
        let mut state = self.lock();
        let Some(source) = state.source.clone() else {
            return Ok(());
        };

        let entries = source.load().inspect_err(|error| {
            tracing::warn!(error = %error, "API-key reload failed; keeping the current keys");
        })?;
        let previous = std::mem::replace(&mut state.base, entries);
        if let Err(error) = self.publish(&mut state) {
            tracing::warn!(error = %error, "API-key reload failed; keeping the current keys");
            state.base = previous;
            return Err(error);
        }

        tracing::info!(
            api_key.count = self.len(),
            "API keys reloaded from configuration"
        );
        Ok(())
    }
}

impl Default for MemoryKeyStore {
    fn default() -> Self {
        Self::new()
    }
}

impl State {
    /// Merges source records, run-time inserts and revocations into a snapshot.
    fn snapshot(&mut self) -> Result<Snapshot, ApiKeyError> {
        let now = self.clock.unix_seconds();
        let mut records = vec![placeholder()];
        let mut by_id = HashMap::new();

        let mut digests = HashSet::new();
        let mut seen = HashMap::new();
        for entry in &self.base {
            let created = entry
                .created
                .unwrap_or_else(|| *self.first_seen.get(&entry.digest).unwrap_or(&now));
            if entry.created.is_none() {
                seen.insert(entry.digest, created);
            }
            let record = record_from_entry(entry, created);
            record.validate()?;
            if by_id
                .insert(record.id.clone(), slot_number(records.len())?)
                .is_some()
            {
                return Err(ApiKeyError::config(format!(
                    "API-key id {:?} appears twice in the configuration",
                    record.id
                )));
            }
            digests.insert(record.digest);
            records.push(record);
        }
        self.first_seen = seen;

        let mut shadowed = Vec::new();
        for (id, record) in &self.inserted {
            if by_id.contains_key(id) || !digests.insert(record.digest) {
                tracing::warn!(
                    api_key.id = %id,
                    "run-time API key dropped: the configuration now has its id or digest"
                );
                shadowed.push(id.clone());
                continue;
            }
            by_id.insert(id.clone(), slot_number(records.len())?);
            records.push(record.clone());
        }
        for id in shadowed {
            self.inserted.remove(&id);
        }

        for record in &mut records[1..] {
            if let Some(&at) = self.revoked.get(&record.digest) {
                record.revoked_at = Some(record.revoked_at.map_or(at, |old| old.min(at)));
            }
        }

        let index = DigestIndex::build(records.iter().map(|record| (&record.id, &record.digest)))?;
        let principals = records.iter().map(prepared_principal).collect();
        Ok(Snapshot {
            records,
            principals,
            index,
            by_id,
        })
    }
}

impl Snapshot {
    fn exact(&self, digest: &KeyDigest) -> Option<&KeyRecord> {
        let record = &self.records[self.index.candidate(digest) as usize];
        bool::from(record.digest.ct_eq(digest)).then_some(record)
    }
}

/// The principal a record authenticates as, minus the expiry, which depends
/// on the verifier's maximum age.
fn prepared_principal(record: &KeyRecord) -> Principal {
    Principal::new(record.owner.clone(), AuthMethod::ApiKey)
        .with_key_id(record.id.clone())
        .with_roles(record.roles.iter().cloned())
}

fn slot_number(len: usize) -> Result<u32, ApiKeyError> {
    u32::try_from(len)
        .map_err(|_| ApiKeyError::config("too many API keys for one in-memory store (limit 2^32)"))
}

/// The record a miss resolves to. Its digest is all zeros, which no key
/// hashes to in practice (that would be a SHA-256 preimage).
pub(crate) const fn placeholder() -> KeyRecord {
    KeyRecord {
        id: String::new(),
        owner: String::new(),
        roles: Vec::new(),
        digest: KeyDigest::from_bytes([0; 32]),
        created: 0,
        not_before: None,
        expires: None,
        revoked_at: None,
        description: None,
        last_used: None,
    }
}

fn record_from_entry(entry: &KeyEntry, created: u64) -> KeyRecord {
    KeyRecord {
        id: entry.id.clone(),
        owner: entry.owner.clone().unwrap_or_else(|| entry.id.clone()),
        roles: entry.roles.clone(),
        digest: entry.digest,
        created,
        not_before: entry.not_before,
        expires: entry.expires,
        revoked_at: entry.revoked_at,
        description: entry.description.clone(),
        last_used: None,
    }
}

fn entry_from_record(record: KeyRecord) -> KeyEntry {
    KeyEntry {
        id: record.id,
        owner: Some(record.owner),
        roles: record.roles,
        digest: record.digest,
        created: Some(record.created),
        not_before: record.not_before,
        expires: record.expires,
        revoked_at: record.revoked_at,
        description: record.description,
    }
}

impl KeyStore for MemoryKeyStore {
    fn insert(&self, record: KeyRecord) -> StoreFuture<'_, ()> {
        Box::pin(std::future::ready(self.insert_now(record)))
    }

    fn find(&self, digest: &KeyDigest) -> StoreFuture<'_, Option<Arc<KeyRecord>>> {
        let found = self
            .snapshot
            .load()
            .exact(digest)
            .map(|record| Arc::new(record.clone()));
        Box::pin(std::future::ready(Ok(found)))
    }

    fn get(&self, id: &str) -> StoreFuture<'_, Option<KeyRecord>> {
        let snapshot = self.snapshot.load();
        let found = snapshot
            .by_id
            .get(id)
            .map(|&slot| snapshot.records[slot as usize].clone());
        Box::pin(std::future::ready(Ok(found)))
    }

    fn revoke(&self, id: &str, at: u64) -> StoreFuture<'_, bool> {
        let exists = self.snapshot.load().by_id.contains_key(id);
        let result = self.revoke_now(&[id.to_owned()], at).map(|()| exists);
        Box::pin(std::future::ready(result))
    }

    fn revoke_owner(&self, owner: &str, at: u64) -> StoreFuture<'_, usize> {
        let ids: Vec<String> = self
            .snapshot
            .load()
            .records
            .iter()
            .skip(1)
            .filter(|record| record.owner == owner)
            .map(|record| record.id.clone())
            .collect();
        let result = self.revoke_now(&ids, at).map(|()| ids.len());
        Box::pin(std::future::ready(result))
    }

    fn list_by_owner(&self, owner: &str) -> StoreFuture<'_, Vec<KeyRecord>> {
        let mut records: Vec<KeyRecord> = self
            .snapshot
            .load()
            .records
            .iter()
            .skip(1)
            .filter(|record| record.owner == owner)
            .cloned()
            .collect();
        records.sort_by(|a, b| a.id.cmp(&b.id));
        Box::pin(std::future::ready(Ok(records)))
    }

    fn reload(&self) -> StoreFuture<'_, ()> {
        Box::pin(std::future::ready(self.reload_now()))
    }

    fn find_in_memory(&self, digest: &KeyDigest, visit: &mut dyn FnMut(&KeyRecord)) -> bool {
        let snapshot = self.snapshot.load();
        visit(&snapshot.records[snapshot.index.candidate(digest) as usize]);
        true
    }

    fn find_in_memory_prepared(
        &self,
        digest: &KeyDigest,
        visit: &mut dyn FnMut(&KeyRecord, Option<&Principal>),
    ) -> bool {
        let snapshot = self.snapshot.load();
        let slot = snapshot.index.candidate(digest) as usize;
        visit(&snapshot.records[slot], Some(&snapshot.principals[slot]));
        true
    }
}
