//! Session lifecycle: create, load with refresh, rotate, log out, delete.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ddf_rbac::{Clock, Principal};

use crate::config::SessionConfig;
use crate::error::{InvalidReason, SessionError};
use crate::id::SessionId;
use crate::session::{Session, SessionData};
use crate::store::{CreateOutcome, RotateOutcome, SessionStore, UserLimit};

/// How many fresh ids `create` and `rotate` try when the store reports the
/// id as taken. With 256-bit random ids a single collision already means the
/// random number generator is broken.
const ID_ATTEMPTS: usize = 3;

type IdGenerator = dyn Fn() -> Result<SessionId, SessionError> + Send + Sync;

/// Creates, loads, refreshes, rotates and deletes sessions on a store.
///
/// Cheap to clone: clones share one configuration, store and clock.
///
/// See the crate documentation for an example.
#[derive(Clone)]
pub struct SessionManager {
    inner: Arc<Inner>,
}

struct Inner {
    config: SessionConfig,
    store: Arc<dyn SessionStore>,
    clock: Arc<dyn Clock>,
    generate_id: Box<IdGenerator>,
}

impl fmt::Debug for SessionManager {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("SessionManager")
            .field("config", &self.inner.config)
            .field("store", &self.inner.store)
            .field("clock", &self.inner.clock)
            .finish_non_exhaustive()
    }
}

/// A session that passed every check on load.
#[derive(Debug, Clone)]
pub struct LoadedSession {
    /// The id to keep in the cookie. It differs from the presented one only
    /// when the session was refreshed with
    /// [`SessionConfig::rotate_on_refresh`] on.
    pub id: SessionId,
    /// The session after any refresh.
    pub session: Session,
    /// Whether this load extended the session; when true, send the cookie
    /// again with the new lifetime.
    pub refreshed: bool,
    /// Whether this load moved the session to a new id.
    pub rotated: bool,
    /// Time from this load until the session expires unless refreshed: the
    /// cookie's `Max-Age`.
    pub expires_in: Duration,
}

impl LoadedSession {
    /// Returns the authenticated principal.
    pub fn principal(&self) -> &Principal {
        self.session.principal()
    }

    /// Returns when the session expires unless refreshed.
    pub fn expires_at(&self) -> SystemTime {
        self.session.idle_expires_at()
    }
}

impl SessionManager {
    /// Creates a manager.
    ///
    /// # Errors
    ///
    /// [`SessionError::Config`] when `config` fails
    /// [`SessionConfig::validate`].
    pub fn new(
        config: SessionConfig,
        store: Arc<dyn SessionStore>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, SessionError> {
        config.validate()?;
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                store,
                clock,
                generate_id: Box::new(SessionId::generate),
            }),
        })
    }

    /// Replaces the id generator. Only for tests that need a predictable or
    /// colliding id; a weak generator makes sessions guessable.
    #[doc(hidden)]
    #[must_use]
    pub fn with_id_generator_for_tests(
        self,
        generate: impl Fn() -> Result<SessionId, SessionError> + Send + Sync + 'static,
    ) -> Self {
        let inner = &self.inner;
        Self {
            inner: Arc::new(Inner {
                config: inner.config.clone(),
                store: Arc::clone(&inner.store),
                clock: Arc::clone(&inner.clock),
                generate_id: Box::new(generate),
            }),
        }
    }

    /// Returns the configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.inner.config
    }

    /// Returns the store.
    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.inner.store
    }

    /// Creates a session for a principal who just authenticated, under a new
    /// id. Never reuse an id the client presented: issuing a fresh one on
    /// every authentication is what defeats session fixation.
    ///
    /// When the user already has the maximum number of sessions, the
    /// oldest are evicted (an `excess_sessions_exceeded` event is logged) or,
    /// with [`LimitPolicy::Reject`](crate::LimitPolicy::Reject), the new one
    /// is refused.
    ///
    /// # Errors
    ///
    /// - [`SessionError::LimitReached`] under the reject policy;
    /// - [`SessionError::StoreUnavailable`] when the store fails;
    /// - [`SessionError::Internal`] when no free id was found.
    pub async fn create(&self, principal: Principal) -> Result<(SessionId, Session), SessionError> {
        let config = &self.inner.config;
        let now = self.inner.clock.now();
        let session = Session::new(principal, now, config);
        let ttl = session.remaining(now);
        let limit = UserLimit {
            max_sessions: config.max_sessions_per_user,
            policy: config.limit_policy,
        };

        for _ in 0..ID_ATTEMPTS {
            let id = (self.inner.generate_id)()?;
            match self.inner.store.create(&id, &session, ttl, limit).await? {
                CreateOutcome::Created { evicted } => {
                    if evicted > 0 {
                        tracing::info!(
                            event = "excess_sessions_exceeded",
                            subject = session.principal().subject(),
                            evicted,
                            limit = config.max_sessions_per_user,
                            "evicted the oldest sessions of a user at the session limit"
                        );
                    }
                    tracing::debug!(
                        event = "session_created",
                        subject = session.principal().subject()
                    );
                    return Ok((id, session));
                }
                CreateOutcome::IdTaken => {
                    tracing::error!(
                        event = "session_id_collision",
                        "a new session id already exists; the random number generator may be broken"
                    );
                }
            }
        }
        Err(SessionError::Internal(
            "no unused session id found; check the random number generator",
        ))
    }

    /// Loads the session named by a cookie value and checks it. When less
    /// than the refresh threshold remains, the session is extended (and,
    /// with `rotate_on_refresh`, moved to a new id) before it is returned.
    ///
    /// # Errors
    ///
    /// - [`SessionError::Invalid`] for a malformed id (no store call), an
    ///   unknown, expired, evicted or logged-out session, or a payload that
    ///   failed to decrypt;
    /// - [`SessionError::StoreUnavailable`] when the store fails. Nothing is
    ///   authenticated then.
    pub async fn load(&self, cookie_value: &str) -> Result<LoadedSession, SessionError> {
        let id = SessionId::parse(cookie_value).inspect_err(log_rejection)?;
        self.load_id(id).await.inspect_err(log_rejection)
    }

    async fn load_id(&self, id: SessionId) -> Result<LoadedSession, SessionError> {
        let config = &self.inner.config;
        let mut session = self.load_live(&id).await?;
        let now = self.inner.clock.now();

        if !session.needs_refresh(now, config) {
            return Ok(LoadedSession {
                expires_in: session.remaining(now),
                id,
                session,
                refreshed: false,
                rotated: false,
            });
        }

        session.refresh(now, config);
        let ttl = session.remaining(now);
        if config.rotate_on_refresh {
            let new_id = self.rotate_to_new_id(&id, &session, ttl).await?;
            return Ok(LoadedSession {
                id: new_id,
                session,
                refreshed: true,
                rotated: true,
                expires_in: ttl,
            });
        }
        if !self.inner.store.save(&id, &session, ttl).await? {
            // Logged out or evicted between the read and the write.
            return Err(SessionError::invalid(InvalidReason::Unknown));
        }
        Ok(LoadedSession {
            id,
            session,
            refreshed: true,
            rotated: false,
            expires_in: ttl,
        })
    }

    /// Loads a session and checks its expiry; an expired session is deleted.
    async fn load_live(&self, id: &SessionId) -> Result<Session, SessionError> {
        let Some(session) = self.inner.store.load(id).await? else {
            return Err(SessionError::invalid(InvalidReason::Unknown));
        };
        if let Err(error) = session.check_expiry(self.inner.clock.now()) {
            // Best effort: the store's TTL removes it anyway.
            let subject = session.principal().subject();
            let _ = self.inner.store.delete(id, subject).await;
            return Err(error);
        }
        Ok(session)
    }

    async fn rotate_to_new_id(
        &self,
        old: &SessionId,
        session: &Session,
        ttl: Duration,
    ) -> Result<SessionId, SessionError> {
        for _ in 0..ID_ATTEMPTS {
            let new = (self.inner.generate_id)()?;
            match self.inner.store.rotate(old, &new, session, ttl).await? {
                RotateOutcome::Rotated => return Ok(new),
                RotateOutcome::OldMissing => {
                    return Err(SessionError::invalid(InvalidReason::Unknown));
                }
                RotateOutcome::NewTaken => {
                    tracing::error!(
                        event = "session_id_collision",
                        "a new session id already exists; the random number generator may be broken"
                    );
                }
            }
        }
        Err(SessionError::Internal(
            "no unused session id found; check the random number generator",
        ))
    }

    /// Moves a live session to a new id and returns it. From then on the old id
    /// is rejected with `session_invalid`. Call this on every privilege change
    /// that keeps the session, such as a step-up authentication.
    ///
    /// # Errors
    ///
    /// As [`SessionManager::load`], minus the malformed case.
    pub async fn rotate(&self, id: &SessionId) -> Result<SessionId, SessionError> {
        self.rotate_inner(id, None).await
    }

    /// Moves a live session to a new id and replaces its principal, for a
    /// role change. The session keeps its creation time and absolute expiry.
    ///
    /// # Errors
    ///
    /// As [`SessionManager::rotate`].
    pub async fn rotate_with_principal(
        &self,
        id: &SessionId,
        principal: Principal,
    ) -> Result<SessionId, SessionError> {
        self.rotate_inner(id, Some(principal)).await
    }

    async fn rotate_inner(
        &self,
        id: &SessionId,
        principal: Option<Principal>,
    ) -> Result<SessionId, SessionError> {
        let mut session = self.load_live(id).await?;
        let now = self.inner.clock.now();
        if let Some(principal) = principal {
            if principal.subject() != session.principal().subject() {
                return Err(SessionError::Config(
                    "rotate_with_principal cannot change the subject; create a new session",
                ));
            }
            session.set_principal(principal);
        }
        session.refresh(now, &self.inner.config);
        let ttl = session.remaining(now);
        let new_id = self.rotate_to_new_id(id, &session, ttl).await?;
        tracing::info!(
            event = "session_renewed",
            subject = session.principal().subject()
        );
        Ok(new_id)
    }

    /// Replaces the application data of a live session.
    ///
    /// # Errors
    ///
    /// As [`SessionManager::rotate`].
    pub async fn set_data(&self, id: &SessionId, data: SessionData) -> Result<(), SessionError> {
        let mut session = self.load_live(id).await?;
        let ttl = session.remaining(self.inner.clock.now());
        session.set_data(data);
        if self.inner.store.save(id, &session, ttl).await? {
            Ok(())
        } else {
            Err(SessionError::invalid(InvalidReason::Unknown))
        }
    }

    /// Deletes one session (logout). Returns whether a session existed.
    ///
    /// # Errors
    ///
    /// [`SessionError::StoreUnavailable`] when the store fails.
    pub async fn logout(&self, id: &SessionId) -> Result<bool, SessionError> {
        let session = match self.inner.store.load(id).await {
            Ok(Some(session)) => session,
            Ok(None) => return Ok(false),
            // The store already deleted an undecryptable entry.
            Err(error) if error.invalid_reason().is_some() => return Ok(false),
            Err(error) => return Err(error),
        };
        let subject = session.principal().subject();
        let existed = self.inner.store.delete(id, subject).await?;
        tracing::info!(event = "session_logout", subject);
        Ok(existed)
    }

    /// Deletes every session of `subject` (logout everywhere, admin revoke,
    /// account disabled). Returns how many were deleted.
    ///
    /// # Errors
    ///
    /// [`SessionError::StoreUnavailable`] when the store fails.
    pub async fn logout_all(&self, subject: &str) -> Result<usize, SessionError> {
        let deleted = self.inner.store.delete_user(subject).await?;
        tracing::info!(event = "session_logout_all", subject, deleted);
        Ok(deleted)
    }

    /// Deletes everything this crate stores about `subject`: every session
    /// with its application data and the user's index. Data that the
    /// application keeps elsewhere is its own responsibility.
    ///
    /// # Errors
    ///
    /// [`SessionError::StoreUnavailable`] when the store fails.
    pub async fn delete_user(&self, subject: &str) -> Result<usize, SessionError> {
        let deleted = self.inner.store.delete_user(subject).await?;
        tracing::info!(event = "session_user_data_deleted", subject, deleted);
        Ok(deleted)
    }

    /// Returns how many live sessions `subject` holds.
    ///
    /// # Errors
    ///
    /// [`SessionError::StoreUnavailable`] when the store fails.
    pub async fn count_user(&self, subject: &str) -> Result<usize, SessionError> {
        self.inner.store.count_user(subject).await
    }
}

fn log_rejection(error: &SessionError) {
    match error {
        SessionError::Invalid { reason } => {
            tracing::info!(
                event = "session_rejected",
                reason = reason.as_str(),
                "session rejected"
            );
        }
        SessionError::StoreUnavailable { operation, .. } => {
            tracing::warn!(
                event = "session_store_unavailable",
                operation,
                "session store unavailable"
            );
        }
        _ => {}
    }
}
