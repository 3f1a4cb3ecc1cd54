//! The storage contract and its implementations.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::config::LimitPolicy;
use crate::error::SessionError;
use crate::id::SessionId;
use crate::session::Session;

pub(crate) mod memory;
#[cfg(feature = "redis")]
pub(crate) mod redis;

/// The future every [`SessionStore`] method returns. Boxed so the trait is
/// object-safe and a manager can hold `Arc<dyn SessionStore>`.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, SessionError>> + Send + 'a>>;

/// The per-user limit a store enforces atomically when it creates a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserLimit {
    /// Maximum number of live sessions of one subject.
    pub max_sessions: u32,
    /// What to do when a new session would exceed it.
    pub policy: LimitPolicy,
}

/// The result of [`SessionStore::create`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CreateOutcome {
    /// The session was stored; `evicted` older sessions of the same user were
    /// deleted to respect the limit.
    Created {
        /// Number of sessions deleted.
        evicted: u32,
    },
    /// A session already exists under the id. Nothing was written; the caller
    /// retries with a fresh id.
    IdTaken,
}

/// The result of [`SessionStore::rotate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RotateOutcome {
    /// The session moved to the new id; the old id is gone.
    Rotated,
    /// No session exists under the old id (it expired, was logged out, or a
    /// concurrent rotation won). Nothing was written.
    OldMissing,
    /// A session already exists under the new id. Nothing was written.
    NewTaken,
}

/// Persistence for sessions. Policy (expiry checks, refresh, rotation
/// decisions) lives in [`SessionManager`](crate::SessionManager); a store
/// only has to keep these promises:
///
/// - `create` is create-if-absent: it never overwrites an existing session,
///   and it applies the [`UserLimit`] atomically with the insert, so that
///   concurrent logins of one user never leave more than `max_sessions`.
/// - `save` writes only over an existing session, so a refresh racing a
///   logout or an eviction cannot bring the session back.
/// - `rotate` moves a session to a new id atomically: of two concurrent
///   rotations of one id, exactly one returns [`RotateOutcome::Rotated`].
/// - `ttl` is how long the entry may live; stores drop it after that, but the
///   manager also checks the expiry inside the session on every load.
/// - A failure to reach the backend is [`SessionError::StoreUnavailable`];
///   a payload that cannot be decrypted is deleted and reported as
///   [`SessionError::Invalid`] with
///   [`InvalidReason::DecryptFailed`](crate::InvalidReason::DecryptFailed).
///
/// [`conformance`](crate::conformance) holds the tests every store must pass.
pub trait SessionStore: fmt::Debug + Send + Sync + 'static {
    /// Stores `session` under `id` unless the id is taken, applying `limit`
    /// to the session's subject.
    ///
    /// # Errors
    ///
    /// [`SessionError::LimitReached`] when the limit is reached and the policy
    /// is [`LimitPolicy::Reject`]; `StoreUnavailable` on backend failure.
    fn create<'a>(
        &'a self,
        id: &'a SessionId,
        session: &'a Session,
        ttl: Duration,
        limit: UserLimit,
    ) -> StoreFuture<'a, CreateOutcome>;

    /// Returns the session stored under `id`, or `None`.
    fn load<'a>(&'a self, id: &'a SessionId) -> StoreFuture<'a, Option<Session>>;

    /// Replaces the session under `id` if one exists; returns whether it did.
    fn save<'a>(
        &'a self,
        id: &'a SessionId,
        session: &'a Session,
        ttl: Duration,
    ) -> StoreFuture<'a, bool>;

    /// Moves the session from `old` to `new`, storing `session` there and
    /// keeping its place in the user's index.
    fn rotate<'a>(
        &'a self,
        old: &'a SessionId,
        new: &'a SessionId,
        session: &'a Session,
        ttl: Duration,
    ) -> StoreFuture<'a, RotateOutcome>;

    /// Deletes the session under `id`, owned by `subject`; returns whether it
    /// existed.
    fn delete<'a>(&'a self, id: &'a SessionId, subject: &'a str) -> StoreFuture<'a, bool>;

    /// Deletes every session of `subject` in one operation; returns how many
    /// existed.
    fn delete_user<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, usize>;

    /// Returns how many live sessions `subject` has.
    fn count_user<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, usize>;
}
