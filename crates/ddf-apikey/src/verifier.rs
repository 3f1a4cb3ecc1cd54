//! Verification of presented keys, and the issue/rotate/revoke lifecycle.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ddf_rbac::{AuthMethod, Clock, Principal, SystemClock};
use serde::Deserialize;
use subtle::Choice;

use crate::error::{ApiKeyError, InvalidReason};
use crate::key::{ApiKey, KeyDigest};
use crate::memory::placeholder;
use crate::record::KeyRecord;
use crate::store::KeyStore;

const DAY: u64 = 24 * 60 * 60;

/// Limits on how long a key lives and how a replacement takes over.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RotationPolicy {
    /// Maximum age in seconds, counted from the record's `created` time,
    /// even when its `expires` is later. Default 30 days.
    pub max_age_secs: u64,
    /// How long the old key keeps working after [`ApiKeyVerifier::rotate`],
    /// in seconds. Default 7 days.
    pub overlap_secs: u64,
    /// A key used with less than this many seconds left raises an
    /// [`ExpiryNotice`]. Default 7 days.
    pub warn_before_secs: u64,
}

impl Default for RotationPolicy {
    fn default() -> Self {
        Self {
            max_age_secs: 30 * DAY,
            overlap_secs: 7 * DAY,
            warn_before_secs: 7 * DAY,
        }
    }
}

/// Raised when a key close to its expiry authenticates a request, so that
/// operators can ask the owner to rotate it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExpiryNotice {
    /// The key's public id.
    pub key_id: String,
    /// The key's owner.
    pub owner: String,
    /// When the key stops working, in Unix seconds.
    pub expires_at: u64,
    /// Seconds left until then.
    pub remaining_secs: u64,
}

/// A successful verification.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verified {
    /// Who the key belongs to, with method [`AuthMethod::ApiKey`].
    pub principal: Principal,
    /// Whether the key expires within [`RotationPolicy::warn_before_secs`].
    pub expires_soon: bool,
}

type NoticeCallback = Arc<dyn Fn(&ExpiryNotice) + Send + Sync>;

/// Checks presented keys against a [`KeyStore`] and manages their lifecycle.
///
/// # How a key is checked
///
/// 1. The header value must be 32 lower-case hex characters
///    ([`ApiKey::parse`]); anything else is rejected before hashing.
/// 2. SHA-256 of the key gives its [`KeyDigest`].
/// 3. The store finds the record by digest. The in-memory store always hands
///    back one stored record (another one on a miss) after scanning one
///    whole index bucket. The verifier then compares the whole digest in
///    constant time and evaluates `not_before`, `expires`, the maximum age
///    and `revoked_at` without branching. Unknown, revoked, expired and
///    not-yet-valid keys therefore run the same instructions and return the
///    same error; only the internal [`ApiKeyError::reason`] differs.
///
/// A store outage returns `api_key_store_unavailable`, never a principal.
#[derive(Clone)]
pub struct ApiKeyVerifier {
    store: Arc<dyn KeyStore>,
    clock: Arc<dyn Clock>,
    policy: RotationPolicy,
    on_expiry_soon: Option<NoticeCallback>,
    /// Key ids warned about recently; bounds the near-expiry log to one line
    /// per key and hour.
    warned: moka::sync::Cache<String, ()>,
}

impl fmt::Debug for ApiKeyVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyVerifier")
            .field("store", &self.store)
            .field("clock", &self.clock)
            .field("policy", &self.policy)
            .field("on_expiry_soon", &self.on_expiry_soon.is_some())
            .finish_non_exhaustive()
    }
}

impl ApiKeyVerifier {
    /// Creates a verifier with the system clock and the default [`RotationPolicy`].
    pub fn new(store: Arc<dyn KeyStore>) -> Self {
        Self {
            store,
            clock: Arc::new(SystemClock),
            policy: RotationPolicy::default(),
            on_expiry_soon: None,
            warned: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(60 * 60))
                .build(),
        }
    }

    /// Replaces the clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the rotation policy.
    #[must_use]
    pub fn with_policy(mut self, policy: RotationPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Calls `callback` every time a key within
    /// [`RotationPolicy::warn_before_secs`] of its expiry authenticates a
    /// request. A `tracing` warning is logged as well, at most once per key
    /// and hour.
    #[must_use]
    pub fn on_expiry_soon(
        mut self,
        callback: impl Fn(&ExpiryNotice) + Send + Sync + 'static,
    ) -> Self {
        self.on_expiry_soon = Some(Arc::new(callback));
        self
    }

    /// Returns the store.
    pub fn store(&self) -> &Arc<dyn KeyStore> {
        &self.store
    }

    /// Returns the rotation policy.
    pub fn policy(&self) -> &RotationPolicy {
        &self.policy
    }

    /// Verifies the value of an `X-API-Key` header and returns its principal:
    /// subject = owner, key id = record id, the record's roles, and the
    /// earliest of expiry, maximum age and scheduled revocation.
    ///
    /// # Errors
    ///
    /// - `api_key_invalid` for malformed, unknown, revoked, expired and
    ///   not-yet-valid keys (the reason is in [`ApiKeyError::reason`]);
    /// - `api_key_store_unavailable` when the store is unreachable, times
    ///   out or returns an unreadable record.
    pub async fn verify(&self, header_value: &[u8]) -> Result<Principal, ApiKeyError> {
        self.verify_detailed(header_value)
            .await
            .map(|verified| verified.principal)
    }

    /// Like [`verify`](Self::verify), and also reports whether the key
    /// expires soon.
    ///
    /// # Errors
    ///
    /// As for [`verify`](Self::verify).
    pub async fn verify_detailed(&self, header_value: &[u8]) -> Result<Verified, ApiKeyError> {
        let digest = ApiKey::parse(header_value)?.digest();
        let now = self.clock.unix_seconds();
        if let Some(outcome) = self.evaluate_in_memory(&digest, now) {
            return self.finish(outcome, now);
        }
        let found = self.store.find(&digest).await?;
        let record = found.as_deref().unwrap_or(&PLACEHOLDER);
        let outcome = evaluate(record, &digest, now, self.policy.max_age_secs)
            .map(|ends| principal_for(record, None, ends));
        self.finish(outcome, now)
    }

    /// Verifies like [`verify`](Self::verify) when the store keeps its
    /// records in memory. Returns `None`, with no other effect, when the
    /// store would need a network request (a Redis store).
    ///
    /// # Errors
    ///
    /// As for [`verify`](Self::verify), inside the `Some`.
    pub fn verify_now(&self, header_value: &[u8]) -> Option<Result<Principal, ApiKeyError>> {
        let digest = match ApiKey::parse(header_value) {
            Ok(key) => key.digest(),
            Err(error) => return Some(Err(error)),
        };
        let now = self.clock.unix_seconds();
        let outcome = self.evaluate_in_memory(&digest, now)?;
        Some(self.finish(outcome, now).map(|verified| verified.principal))
    }

    /// Evaluates the record of `digest` if the store keeps its records in
    /// memory; `None` otherwise.
    fn evaluate_in_memory(
        &self,
        digest: &KeyDigest,
        now: u64,
    ) -> Option<Result<(Principal, u64), InvalidReason>> {
        let max_age = self.policy.max_age_secs;
        let mut outcome = Err(InvalidReason::Unknown);
        let answered = self
            .store
            .find_in_memory_prepared(digest, &mut |record, prepared| {
                outcome = evaluate(record, digest, now, max_age)
                    .map(|ends| principal_for(record, prepared, ends));
            });
        answered.then_some(outcome)
    }

    /// Turns an evaluation into the result, raising the expiry notice of a
    /// key close to its end.
    fn finish(
        &self,
        outcome: Result<(Principal, u64), InvalidReason>,
        now: u64,
    ) -> Result<Verified, ApiKeyError> {
        let (principal, expires_at) = outcome.map_err(ApiKeyError::invalid)?;
        let remaining_secs = expires_at.saturating_sub(now);
        let expires_soon = remaining_secs <= self.policy.warn_before_secs;
        if expires_soon {
            self.raise_expiry_notice(&principal, expires_at, remaining_secs);
        }

        Ok(Verified {
            principal,
            expires_soon,
        })
    }

    fn raise_expiry_notice(&self, principal: &Principal, expires_at: u64, remaining_secs: u64) {
        let key_id = principal.key_id().unwrap_or_default();
        let first_in_window = self
            .warned
            .entry(key_id.to_owned())
            .or_insert(())
            .is_fresh();
        if first_in_window {
            tracing::warn!(
                api_key.id = %key_id,
                api_key.owner = %principal.subject(),
                api_key.expires_at = expires_at,
                api_key.remaining_secs = remaining_secs,
                "API key close to expiry used; ask its owner to rotate it"
            );
        }

        if let Some(callback) = &self.on_expiry_soon {
            callback(&ExpiryNotice {
                key_id: key_id.to_owned(),
                owner: principal.subject().to_owned(),
                expires_at,
                remaining_secs,
            });
        }
    }

    /// Generates a key for `owner`, stores its record and returns both. The
    /// record expires after [`RotationPolicy::max_age_secs`].
    ///
    /// The key is returned once; only its digest is stored.
    ///
    /// # Errors
    ///
    /// `config_invalid` for invalid names, `api_key_conflict` when the id is
    /// taken, `api_key_store_unavailable` when the store cannot be written.
    pub async fn issue<I, R>(
        &self,
        id: &str,
        owner: &str,
        roles: I,
    ) -> Result<(ApiKey, KeyRecord), ApiKeyError>
    where
        I: IntoIterator<Item = R>,
        R: Into<String>,
    {
        let (key, record) = new_record(id, owner, roles, self.clock.unix_seconds(), &self.policy);
        self.store.insert(record.clone()).await?;
        tracing::info!(api_key.id = %record.id, api_key.owner = %record.owner, "API key issued");
        Ok((key, record))
    }

    /// Issues a replacement for key `old_id` with the same owner, roles and
    /// description, and schedules the revocation of the old key after
    /// [`RotationPolicy::overlap_secs`], so both work during the overlap.
    ///
    /// # Errors
    ///
    /// `api_key_not_found` when `old_id` does not exist, and the errors of
    /// [`issue`](Self::issue).
    pub async fn rotate(
        &self,
        old_id: &str,
        new_id: &str,
    ) -> Result<(ApiKey, KeyRecord), ApiKeyError> {
        let old = self
            .store
            .get(old_id)
            .await?
            .ok_or_else(|| ApiKeyError::NotFound {
                id: old_id.to_owned(),
            })?;

        let now = self.clock.unix_seconds();
        let (key, mut record) = new_record(new_id, &old.owner, old.roles, now, &self.policy);
        record.description = old.description;
        self.store.insert(record.clone()).await?;

        let old_ends = now.saturating_add(self.policy.overlap_secs);
        self.store.revoke(old_id, old_ends).await?;
        tracing::info!(
            api_key.id = %record.id,
            api_key.replaces = %old_id,
            api_key.old_revoked_at = old_ends,
            "API key rotated"
        );
        Ok((key, record))
    }

    /// Revokes key `id` now. Returns whether it exists.
    ///
    /// # Errors
    ///
    /// `api_key_store_unavailable` when the store cannot be written.
    pub async fn revoke(&self, id: &str) -> Result<bool, ApiKeyError> {
        let found = self.store.revoke(id, self.clock.unix_seconds()).await?;
        tracing::info!(api_key.id = %id, found, "API key revoked");
        Ok(found)
    }

    /// Revokes every key of `owner` now. Returns how many there were.
    ///
    /// # Errors
    ///
    /// `api_key_store_unavailable` when the store cannot be written.
    pub async fn revoke_owner(&self, owner: &str) -> Result<usize, ApiKeyError> {
        let count = self
            .store
            .revoke_owner(owner, self.clock.unix_seconds())
            .await?;
        tracing::info!(api_key.owner = %owner, count, "all API keys of owner revoked");
        Ok(count)
    }
}

/// Generates a key and the record for it, created at `now` and expiring after
/// the policy's maximum age.
pub fn new_record<I, R>(
    id: &str,
    owner: &str,
    roles: I,
    now: u64,
    policy: &RotationPolicy,
) -> (ApiKey, KeyRecord)
where
    I: IntoIterator<Item = R>,
    R: Into<String>,
{
    let key = ApiKey::generate();
    let record = KeyRecord::new(id, owner, key.digest(), now)
        .with_roles(roles)
        .with_expires(now.saturating_add(policy.max_age_secs));
    (key, record)
}

static PLACEHOLDER: KeyRecord = placeholder();

/// Reasons indexed by the code that [`evaluate`] computes.
const REASONS: [InvalidReason; 4] = [
    InvalidReason::Unknown,
    InvalidReason::NotYetValid,
    InvalidReason::Expired,
    InvalidReason::Revoked,
];

/// Returns all ones when `field` is present, else zero, without a branch.
fn presence_mask(field: Option<u64>) -> u64 {
    u64::from(field.is_some()).wrapping_neg()
}

/// Returns all ones when `a < b`, else zero: the borrow of a 128-bit
/// subtraction, so no comparison result ever reaches a branch.
fn lt_mask(a: u64, b: u64) -> u64 {
    (u128::from(a).wrapping_sub(u128::from(b)) >> 64) as u64
}

/// Returns `if_set` where `mask` is all ones and `if_clear` where it is zero.
fn select(mask: u64, if_set: u64, if_clear: u64) -> u64 {
    (if_set & mask) | (if_clear & !mask)
}

/// Decides whether `record` accepts `digest` at `now`, without branching on
/// the record's contents or on which check failed.
///
/// The digests are compared with [`KeyDigest::ct_eq`]; the time checks are
/// computed as all-ones or all-zero masks with plain arithmetic, and only
/// the final decision passes through [`Choice`] (an optimisation barrier)
/// before the one branch, which separates an accepted key from every
/// rejection. Unknown, revoked, expired and not-yet-valid keys therefore run
/// the same instructions.
///
/// Returns the effective expiry, or the reason to reject.
fn evaluate(
    record: &KeyRecord,
    digest: &KeyDigest,
    now: u64,
    max_age: u64,
) -> Result<u64, InvalidReason> {
    let matched = u64::from(record.digest.ct_eq(digest).unwrap_u8()).wrapping_neg();

    let not_before = record.not_before.unwrap_or_default() & presence_mask(record.not_before);
    let aged_out = record.created.saturating_add(max_age);
    let expires = select(
        presence_mask(record.expires),
        record.expires.unwrap_or_default(),
        u64::MAX,
    );
    let ends_at = select(lt_mask(aged_out, expires), aged_out, expires);
    let revoked_at = select(
        presence_mask(record.revoked_at),
        record.revoked_at.unwrap_or_default(),
        u64::MAX,
    );

    let too_early = matched & lt_mask(now, not_before);
    let past_end = matched & !lt_mask(now, ends_at);
    let revoked = matched & !lt_mask(now, revoked_at);

    // Later selections win: revoked over expired over not yet valid.
    let mut code = 1 & too_early;
    code = select(past_end, 2, code);
    code = select(revoked, 3, code);
    let accepted = Choice::from((matched & !too_early & !past_end & !revoked & 1) as u8);

    if bool::from(accepted) {
        Ok(ends_at.min(revoked_at))
    } else {
        Err(REASONS[(code & 3) as usize])
    }
}

/// Returns the principal of an accepted `record`, expiring at `ends`: a
/// clone of the store's prepared principal when there is one.
fn principal_for(record: &KeyRecord, prepared: Option<&Principal>, ends: u64) -> (Principal, u64) {
    let principal = prepared.cloned().unwrap_or_else(|| {
        Principal::new(record.owner.clone(), AuthMethod::ApiKey)
            .with_key_id(record.id.clone())
            .with_roles(record.roles.iter().cloned())
    });
    (principal.with_expires_at(ends), ends)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn record_for(key: &ApiKey) -> KeyRecord {
        KeyRecord::new("k", "alice", key.digest(), NOW - 10).with_roles(["user"])
    }

    fn reason(record: &KeyRecord, key: &ApiKey) -> Option<InvalidReason> {
        evaluate(record, &key.digest(), NOW, 30 * DAY).err()
    }

    #[test]
    fn evaluate_accepts_live_record() {
        let key = ApiKey::generate();
        let record = record_for(&key);
        let ends = evaluate(&record, &key.digest(), NOW, 30 * DAY).unwrap();
        let (principal, _) = principal_for(&record, None, ends);
        assert_eq!(principal.subject(), "alice");
        assert_eq!(principal.key_id(), Some("k"));
        assert_eq!(ends, NOW - 10 + 30 * DAY);
    }

    #[test]
    fn evaluate_reasons_follow_priority() {
        let key = ApiKey::generate();
        let other = ApiKey::generate();
        assert_eq!(
            reason(&record_for(&key), &other),
            Some(InvalidReason::Unknown)
        );
        assert_eq!(
            reason(&record_for(&key).with_not_before(NOW + 1), &key),
            Some(InvalidReason::NotYetValid)
        );
        assert_eq!(
            reason(&record_for(&key).with_expires(NOW), &key),
            Some(InvalidReason::Expired)
        );
        let mut revoked = record_for(&key).with_expires(NOW);
        revoked.revoked_at = Some(NOW);
        assert_eq!(reason(&revoked, &key), Some(InvalidReason::Revoked));
        assert_eq!(reason(&PLACEHOLDER, &key), Some(InvalidReason::Unknown));
    }

    #[test]
    fn evaluate_applies_max_age() {
        let key = ApiKey::generate();
        let old = KeyRecord::new("k", "alice", key.digest(), NOW - 30 * DAY);
        assert_eq!(reason(&old, &key), Some(InvalidReason::Expired));
    }
}
