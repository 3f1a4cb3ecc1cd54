//! The keyring: which key signs now, which keys are published, and when
//! each key moves on.

use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;
use ddf_rbac::Clock;
use serde::Deserialize;

use super::jwks::{Jwks, PublicJwk};
use super::{IssueError, SigningAlgorithm, SigningKey};

const DAY_SECS: u64 = 24 * 60 * 60;
/// Default rotation period: 180 days.
pub const DEFAULT_ROTATION_PERIOD_SECS: u64 = 180 * DAY_SECS;
/// Default pre-publication lead time: 1 day.
pub const DEFAULT_PREPUBLISH_SECS: u64 = DAY_SECS;
/// Default time a key stays published after it stops signing: 2 hours.
pub const DEFAULT_RETENTION_SECS: u64 = 2 * 60 * 60;
/// Default cap of the JWKS `Cache-Control: max-age`: 10 minutes.
pub const DEFAULT_MAX_CACHE_AGE_SECS: u64 = 600;
const MAX_KID_LEN: usize = 256;

/// Where a key's private material is read from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum KeySource {
    /// A file holding a PKCS#8 PEM block or a JWK.
    File(PathBuf),
    /// An environment variable holding a PKCS#8 PEM block or a JWK,
    /// typically filled by a secrets manager.
    Env(String),
}

/// One key of a [`KeyringConfig`]. Times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct KeyConfig {
    /// Key id, published in the JWKS and set as the `kid` header.
    pub kid: String,
    /// Algorithm the key signs with.
    pub alg: SigningAlgorithm,
    /// Where the private key is read from.
    pub source: KeySource,
    /// When the key was generated; rotation age counts from here.
    pub created_at: u64,
    /// When the key starts signing; defaults to `created_at`.
    #[serde(default)]
    pub activate_at: Option<u64>,
    /// When the key is first published; defaults to `activate_at - prepublish_secs`.
    #[serde(default)]
    pub publish_at: Option<u64>,
    /// When the key stops signing even without a successor.
    #[serde(default)]
    pub retire_at: Option<u64>,
}

/// Rotation timing shared by every key of a keyring. All values are seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RotationSettings {
    /// Age after which a key is reported as due for rotation (default 180 days).
    pub rotation_period_secs: u64,
    /// How long before activation a key is published by default (default 1 day).
    pub prepublish_secs: u64,
    /// How long a key stays published after it stops signing (default 2 hours).
    /// Must cover the longest token lifetime plus the verifiers' clock leeway,
    /// which [`TokenIssuer::new`](super::TokenIssuer::new) checks.
    pub retention_secs: u64,
    /// Upper bound of the JWKS `Cache-Control: max-age` (default 10 minutes).
    pub max_cache_age_secs: u64,
}

impl Default for RotationSettings {
    fn default() -> Self {
        Self {
            rotation_period_secs: DEFAULT_ROTATION_PERIOD_SECS,
            prepublish_secs: DEFAULT_PREPUBLISH_SECS,
            retention_secs: DEFAULT_RETENTION_SECS,
            max_cache_age_secs: DEFAULT_MAX_CACHE_AGE_SECS,
        }
    }
}

/// The serde form of a keyring, for example in TOML:
///
/// ```toml
/// [rotation]
/// prepublish_secs = 86400
///
/// [[keys]]
/// kid = "2026-01"
/// alg = "EdDSA"
/// source = { env = "JWT_SIGNING_KEY_2026_01" }
/// created_at = 1767225600
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct KeyringConfig {
    /// Keys in any order.
    pub keys: Vec<KeyConfig>,
    /// Rotation timing.
    #[serde(default)]
    pub rotation: RotationSettings,
}

/// When one key is published and signs. Times are Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeySchedule {
    /// When the key was generated.
    pub created_at: u64,
    /// When the key starts signing.
    pub activate_at: u64,
    /// When the key is first published, if not `activate_at - prepublish_secs`.
    pub publish_at: Option<u64>,
    /// When the key stops signing even without a successor.
    pub retire_at: Option<u64>,
}

impl KeySchedule {
    /// Returns a schedule for a key created and activated at `created_at`.
    pub const fn active_from(created_at: u64) -> Self {
        Self {
            created_at,
            activate_at: created_at,
            publish_at: None,
            retire_at: None,
        }
    }

    /// Sets when the key starts signing.
    #[must_use]
    pub const fn activate_at(mut self, at: u64) -> Self {
        self.activate_at = at;
        self
    }

    /// Sets when the key is first published.
    #[must_use]
    pub const fn publish_at(mut self, at: u64) -> Self {
        self.publish_at = Some(at);
        self
    }

    /// Sets when the key stops signing.
    #[must_use]
    pub const fn retire_at(mut self, at: u64) -> Self {
        self.retire_at = Some(at);
        self
    }
}

/// The state of a key at one instant; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyStatus {
    /// Loaded, not yet published.
    Pending,
    /// Published, not yet signing.
    Scheduled,
    /// Published and signing.
    Active,
    /// Published so its tokens verify, no longer signing.
    Retiring,
    /// Neither published nor signing.
    Expired,
}

impl KeyStatus {
    /// Returns `true` if the key belongs in the published JWKS.
    pub const fn is_published(self) -> bool {
        matches!(self, Self::Scheduled | Self::Active | Self::Retiring)
    }
}

/// A snapshot of one key's schedule and state, for reports and monitoring.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyInfo {
    /// Key id.
    pub kid: String,
    /// Signing algorithm.
    pub alg: SigningAlgorithm,
    /// State at the time of the snapshot.
    pub status: KeyStatus,
    /// Seconds since `created_at`.
    pub age_secs: u64,
    /// When the key is first published.
    pub published_from: u64,
    /// When the key starts signing.
    pub activate_at: u64,
    /// When the key stops signing, if known (its `retire_at` or the next key's activation).
    pub signing_ends_at: Option<u64>,
    /// When the key leaves the JWKS, if known.
    pub published_until: Option<u64>,
}

/// Keys that need attention from whoever rotates them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RotationReport {
    /// Active or scheduled keys older than the rotation period.
    pub overdue: Vec<KeyInfo>,
    /// The key that takes over next, if one is scheduled or pending.
    pub successor: Option<KeyInfo>,
}

impl RotationReport {
    /// Returns `true` if a key is overdue and no successor is scheduled, which
    /// means a new key should be generated and added now.
    pub fn needs_new_key(&self) -> bool {
        !self.overdue.is_empty() && self.successor.is_none()
    }
}

/// A key of the keyring with its precomputed public JWK.
#[derive(Debug)]
pub(crate) struct KeyEntry {
    pub(crate) kid: String,
    pub(crate) key: SigningKey,
    schedule: KeySchedule,
    public: Option<PublicJwk>,
}

/// Signing keys with their rotation schedule, shared between the token
/// issuer and the JWKS publisher.
///
/// A key goes through these states, each decided from the clock on every
/// call, so a keyring loaded once follows its schedule without reloads:
///
/// | state | published | signs | from | until |
/// |---|---|---|---|---|
/// | [`KeyStatus::Pending`] | no | no | load | `publish_at` |
/// | [`KeyStatus::Scheduled`] | yes | no | `publish_at` | `activate_at` |
/// | [`KeyStatus::Active`] | yes | yes | `activate_at` | `retire_at`, or the next key's `activate_at` |
/// | [`KeyStatus::Retiring`] | yes | no | end of signing | end of signing + `retention_secs` |
/// | [`KeyStatus::Expired`] | no | no | end of retention | forever |
///
/// `publish_at` defaults to `activate_at - prepublish_secs`. At most one key
/// is active: the one with the latest `activate_at` that has passed, unless
/// its `retire_at` has passed too, in which case nothing signs.
///
/// The key list is swapped atomically on [`insert`](Self::insert) and
/// [`remove`](Self::remove), so signing never waits on a lock.
#[derive(Debug)]
pub struct Keyring {
    clock: Arc<dyn Clock>,
    settings: RotationSettings,
    entries: ArcSwap<Vec<Arc<KeyEntry>>>,
}

/// The times derived for one key against the rest of the keyring.
struct Timeline {
    published_from: u64,
    signing_ends_at: Option<u64>,
    published_until: Option<u64>,
}

impl Keyring {
    /// Creates an empty keyring.
    pub fn new(settings: RotationSettings, clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            settings,
            entries: ArcSwap::from_pointee(Vec::new()),
        }
    }

    /// Loads every key of `config` from its source.
    ///
    /// # Errors
    ///
    /// The first key that cannot be read or parsed, named by its kid, or a
    /// schedule conflict ([`IssueError::ConfigInvalid`]).
    pub fn from_config(config: &KeyringConfig, clock: Arc<dyn Clock>) -> Result<Self, IssueError> {
        let keyring = Self::new(config.rotation, clock);
        for key_config in &config.keys {
            let key = match &key_config.source {
                KeySource::File(path) => SigningKey::from_file(key_config.alg, path),
                KeySource::Env(name) => SigningKey::from_env(key_config.alg, name),
            }
            .map_err(|error| error.with_kid(&key_config.kid))?;

            let mut schedule = KeySchedule::active_from(key_config.created_at);
            schedule.activate_at = key_config.activate_at.unwrap_or(key_config.created_at);
            schedule.publish_at = key_config.publish_at;
            schedule.retire_at = key_config.retire_at;
            keyring.insert(&key_config.kid, key, schedule)?;
        }
        Ok(keyring)
    }

    /// Returns the rotation settings.
    pub fn settings(&self) -> &RotationSettings {
        &self.settings
    }

    /// Returns the clock that decides key states.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Adds a key under `kid`.
    ///
    /// # Errors
    ///
    /// [`IssueError::ConfigInvalid`] if `kid` is empty, too long or already
    /// present, if another key activates at the same second, or if the
    /// schedule publishes after activation or retires before activation.
    pub fn insert(
        &self,
        kid: &str,
        key: SigningKey,
        schedule: KeySchedule,
    ) -> Result<(), IssueError> {
        let invalid = |reason: String| IssueError::ConfigInvalid { reason };
        if kid.is_empty() || kid.len() > MAX_KID_LEN || kid.chars().any(char::is_control) {
            return Err(invalid(format!(
                "a key id must be 1 to {MAX_KID_LEN} bytes without control characters"
            )));
        }
        if schedule
            .publish_at
            .is_some_and(|at| at > schedule.activate_at)
        {
            return Err(invalid(format!(
                "key {kid:?} would sign before it is published: publish_at must not be after activate_at"
            )));
        }
        if schedule
            .retire_at
            .is_some_and(|at| at <= schedule.activate_at)
        {
            return Err(invalid(format!(
                "key {kid:?} retires before it activates: retire_at must be after activate_at"
            )));
        }

        let public = key.public_jwk(kid);
        let entry = Arc::new(KeyEntry {
            kid: kid.to_owned(),
            key,
            schedule,
            public,
        });

        let mut conflict = None;
        self.entries.rcu(|current| {
            conflict = current.iter().find_map(|other| {
                if other.kid == kid {
                    Some(format!("key id {kid:?} is already in the keyring"))
                } else if other.schedule.activate_at == schedule.activate_at {
                    Some(format!(
                        "keys {kid:?} and {:?} activate at the same second; give them distinct activate_at values",
                        other.kid
                    ))
                } else {
                    None
                }
            });
            let mut next = Vec::clone(current);
            if conflict.is_none() {
                next.push(Arc::clone(&entry));
                next.sort_by_key(|entry| std::cmp::Reverse(entry.schedule.activate_at));
            }
            next
        });
        conflict.map_or(Ok(()), |reason| Err(invalid(reason)))
    }

    /// Removes the key `kid` from signing and from the JWKS at once, as after
    /// a compromise. Returns `false` if no such key exists.
    ///
    /// Removing the active key makes the previous key active again unless
    /// its `retire_at` has passed, because that key is still published and
    /// trusted. Remove it too, or add a new key, to stop that.
    pub fn remove(&self, kid: &str) -> bool {
        let mut found = false;
        self.entries.rcu(|current| {
            found = current.iter().any(|entry| entry.kid == kid);
            current
                .iter()
                .filter(|entry| entry.kid != kid)
                .cloned()
                .collect::<Vec<_>>()
        });
        found
    }

    /// Returns the key that signs now.
    pub(crate) fn active_entry(&self) -> Result<Arc<KeyEntry>, IssueError> {
        let now = self.clock.unix_seconds();
        let entries = self.entries.load();
        // Entries are sorted by activation, newest first, so the first key
        // that has activated is the only candidate.
        let newest = entries
            .iter()
            .find(|entry| entry.schedule.activate_at <= now)
            .ok_or(IssueError::NoActiveKey)?;
        if newest.schedule.retire_at.is_some_and(|at| at <= now) {
            return Err(IssueError::NoActiveKey);
        }
        Ok(Arc::clone(newest))
    }

    /// Returns the kid and algorithm of the key that signs now.
    pub fn active_key(&self) -> Result<(String, SigningAlgorithm), IssueError> {
        let entry = self.active_entry()?;
        Ok((entry.kid.clone(), entry.key.algorithm()))
    }

    /// Returns the JWKS to publish now: asymmetric keys that are scheduled,
    /// active or retiring, newest activation first. HS256 keys never appear.
    pub fn public_jwks(&self) -> Jwks {
        let now = self.clock.unix_seconds();
        let entries = self.entries.load();
        let keys = entries
            .iter()
            .enumerate()
            .filter(|&(index, _)| self.status_at(&entries, index, now).is_published())
            .filter_map(|(_, entry)| entry.public.clone())
            .collect();
        Jwks { keys }
    }

    /// Returns the `max-age` in seconds for HTTP caches of the JWKS.
    ///
    /// The rule: a cache that fetched the JWKS just before a scheduled key
    /// appeared must refetch before that key signs. The value is half the
    /// pre-publication lead, so two caches in series (a CDN and the
    /// verifier) still see the key in time, capped at `max_cache_age_secs`
    /// so a removed key drops out of caches quickly.
    pub fn jwks_max_age_secs(&self) -> u64 {
        (self.settings.prepublish_secs / 2).min(self.settings.max_cache_age_secs)
    }

    /// Returns a snapshot of every key, newest activation first.
    pub fn keys(&self) -> Vec<KeyInfo> {
        let now = self.clock.unix_seconds();
        let entries = self.entries.load();
        (0..entries.len())
            .map(|index| self.info_at(&entries, index, now))
            .collect()
    }

    /// Returns the keys due for rotation and the scheduled successor.
    pub fn rotation_report(&self) -> RotationReport {
        let keys = self.keys();
        let period = self.settings.rotation_period_secs;
        let overdue = keys
            .iter()
            .filter(|info| matches!(info.status, KeyStatus::Active | KeyStatus::Scheduled))
            .filter(|info| info.age_secs >= period)
            .cloned()
            .collect();
        // Keys are newest first, so the last future key is the next to activate.
        let successor = keys
            .iter()
            .rev()
            .find(|info| matches!(info.status, KeyStatus::Pending | KeyStatus::Scheduled))
            .cloned();
        RotationReport { overdue, successor }
    }

    fn timeline(&self, entries: &[Arc<KeyEntry>], index: usize) -> Timeline {
        let schedule = &entries[index].schedule;
        // The next key to activate is the previous entry (newest first).
        let superseded_at = index
            .checked_sub(1)
            .map(|newer| entries[newer].schedule.activate_at);
        let signing_ends_at = match (schedule.retire_at, superseded_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Timeline {
            published_from: schedule.publish_at.unwrap_or_else(|| {
                schedule
                    .activate_at
                    .saturating_sub(self.settings.prepublish_secs)
            }),
            signing_ends_at,
            published_until: signing_ends_at
                .map(|end| end.saturating_add(self.settings.retention_secs)),
        }
    }

    fn status_at(&self, entries: &[Arc<KeyEntry>], index: usize, now: u64) -> KeyStatus {
        let timeline = self.timeline(entries, index);
        let activate_at = entries[index].schedule.activate_at;
        if now < timeline.published_from {
            KeyStatus::Pending
        } else if now < activate_at {
            KeyStatus::Scheduled
        } else if timeline.signing_ends_at.is_none_or(|end| now < end) {
            KeyStatus::Active
        } else if timeline.published_until.is_none_or(|end| now < end) {
            KeyStatus::Retiring
        } else {
            KeyStatus::Expired
        }
    }

    fn info_at(&self, entries: &[Arc<KeyEntry>], index: usize, now: u64) -> KeyInfo {
        let entry = &entries[index];
        let timeline = self.timeline(entries, index);
        KeyInfo {
            kid: entry.kid.clone(),
            alg: entry.key.algorithm(),
            status: self.status_at(entries, index, now),
            age_secs: now.saturating_sub(entry.schedule.created_at),
            published_from: timeline.published_from,
            activate_at: entry.schedule.activate_at,
            signing_ends_at: timeline.signing_ends_at,
            published_until: timeline.published_until,
        }
    }
}
