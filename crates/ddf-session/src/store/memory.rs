//! In-process store on a bounded moka cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::sync::Cache;

use super::{CreateOutcome, RotateOutcome, SessionStore, StoreFuture, UserLimit};
use crate::config::LimitPolicy;
use crate::error::SessionError;
use crate::id::SessionId;
use crate::session::Session;

/// Default maximum number of sessions a [`MemoryStore`] holds.
pub const DEFAULT_MEMORY_CAPACITY: u64 = 100_000;

/// How many creates pass between sweeps of the per-user index for users
/// whose sessions have all expired.
const INDEX_SWEEP_INTERVAL: u64 = 1024;

/// A session store inside the process: the default for a single instance and
/// for tests. Sessions are lost on restart and not shared between replicas;
/// use the Redis store for those.
///
/// Payloads are kept as plain Rust values (the process memory is the trust
/// boundary). The cache is bounded: when it is full, moka evicts entries,
/// which then answer `session_invalid`.
#[derive(Debug, Clone)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    sessions: Cache<SessionId, Arc<Entry>>,
    /// Subject -> (creation time in Unix ms, id), guarded by one lock so the
    /// limit check and the insert are atomic.
    index: Mutex<Index>,
}

#[derive(Debug, Default)]
struct Index {
    users: HashMap<String, Vec<(u64, SessionId)>>,
    creates: u64,
}

#[derive(Debug)]
struct Entry {
    session: Session,
    ttl: Duration,
}

struct EntryExpiry;

impl Expiry<SessionId, Arc<Entry>> for EntryExpiry {
    fn expire_after_create(
        &self,
        _key: &SessionId,
        value: &Arc<Entry>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }

    fn expire_after_update(
        &self,
        _key: &SessionId,
        value: &Arc<Entry>,
        _updated_at: Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

impl MemoryStore {
    /// Creates a store that holds at most [`DEFAULT_MEMORY_CAPACITY`] sessions.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_MEMORY_CAPACITY)
    }

    /// Creates a store that holds at most `max_sessions` sessions.
    pub fn with_capacity(max_sessions: u64) -> Self {
        let sessions = Cache::builder()
            .max_capacity(max_sessions)
            .expire_after(EntryExpiry)
            .build();
        Self {
            inner: Arc::new(Inner {
                sessions,
                index: Mutex::new(Index::default()),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Index> {
        // A panic while holding the lock leaves the index at worst with stale
        // ids, which every operation prunes, so a poisoned lock is still usable.
        self.inner
            .index
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn is_live(&self, id: &SessionId) -> bool {
        self.inner.sessions.get(id).is_some()
    }

    fn insert(&self, id: &SessionId, session: &Session, ttl: Duration) {
        let entry = Arc::new(Entry {
            session: session.clone(),
            ttl,
        });
        self.inner.sessions.insert(id.clone(), entry);
    }

    fn create_locked(
        &self,
        id: &SessionId,
        session: &Session,
        ttl: Duration,
        limit: UserLimit,
    ) -> Result<CreateOutcome, SessionError> {
        let mut index = self.lock();
        if self.is_live(id) {
            return Ok(CreateOutcome::IdTaken);
        }

        index.creates += 1;
        if index.creates.is_multiple_of(INDEX_SWEEP_INTERVAL) {
            index.users.retain(|_, ids| {
                ids.retain(|(_, id)| self.is_live(id));
                !ids.is_empty()
            });
        }

        let subject = session.principal().subject();
        let ids = index.users.entry(subject.to_owned()).or_default();
        ids.retain(|(_, id)| self.is_live(id));
        let max = limit.max_sessions as usize;
        let mut evicted = 0_u32;
        if ids.len() >= max {
            if limit.policy == LimitPolicy::Reject {
                return Err(SessionError::LimitReached {
                    limit: limit.max_sessions,
                });
            }
            ids.sort_by_key(|(created, _)| *created);
            let excess = ids.len() + 1 - max;
            for (_, old) in ids.drain(..excess) {
                self.inner.sessions.invalidate(&old);
                evicted += 1;
            }
        }

        self.insert(id, session, ttl);
        ids.push((session.created_ms(), id.clone()));
        Ok(CreateOutcome::Created { evicted })
    }

    fn rotate_locked(
        &self,
        old: &SessionId,
        new: &SessionId,
        session: &Session,
        ttl: Duration,
    ) -> RotateOutcome {
        let mut index = self.lock();
        let Some(previous) = self.inner.sessions.get(old) else {
            return RotateOutcome::OldMissing;
        };
        if self.is_live(new) {
            return RotateOutcome::NewTaken;
        }
        self.inner.sessions.invalidate(old);
        self.insert(new, session, ttl);

        let ids = index
            .users
            .entry(previous.session.principal().subject().to_owned())
            .or_default();
        ids.retain(|(_, id)| id != old);
        ids.push((session.created_ms(), new.clone()));
        RotateOutcome::Rotated
    }

    fn delete_locked(&self, id: &SessionId, subject: &str) -> bool {
        let mut index = self.lock();
        let existed = self.inner.sessions.remove(id).is_some();
        if let Some(ids) = index.users.get_mut(subject) {
            ids.retain(|(_, indexed)| indexed != id);
            if ids.is_empty() {
                index.users.remove(subject);
            }
        }
        existed
    }

    fn delete_user_locked(&self, subject: &str) -> usize {
        let mut index = self.lock();
        let Some(ids) = index.users.remove(subject) else {
            return 0;
        };
        ids.iter()
            .filter(|(_, id)| self.inner.sessions.remove(id).is_some())
            .count()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl SessionStore for MemoryStore {
    fn create<'a>(
        &'a self,
        id: &'a SessionId,
        session: &'a Session,
        ttl: Duration,
        limit: UserLimit,
    ) -> StoreFuture<'a, CreateOutcome> {
        Box::pin(async move { self.create_locked(id, session, ttl, limit) })
    }

    fn load<'a>(&'a self, id: &'a SessionId) -> StoreFuture<'a, Option<Session>> {
        Box::pin(async move {
            Ok(self
                .inner
                .sessions
                .get(id)
                .map(|entry| entry.session.clone()))
        })
    }

    fn save<'a>(
        &'a self,
        id: &'a SessionId,
        session: &'a Session,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let _index = self.lock();
            if !self.is_live(id) {
                return Ok(false);
            }
            self.insert(id, session, ttl);
            Ok(true)
        })
    }

    fn rotate<'a>(
        &'a self,
        old: &'a SessionId,
        new: &'a SessionId,
        session: &'a Session,
        ttl: Duration,
    ) -> StoreFuture<'a, RotateOutcome> {
        Box::pin(async move { Ok(self.rotate_locked(old, new, session, ttl)) })
    }

    fn delete<'a>(&'a self, id: &'a SessionId, subject: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(async move { Ok(self.delete_locked(id, subject)) })
    }

    fn delete_user<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, usize> {
        Box::pin(async move { Ok(self.delete_user_locked(subject)) })
    }

    fn count_user<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, usize> {
        Box::pin(async move {
            let index = self.lock();
            Ok(index.users.get(subject).map_or(0, |ids| {
                ids.iter().filter(|(_, id)| self.is_live(id)).count()
            }))
        })
    }
}
