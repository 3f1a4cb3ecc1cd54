//! The verified-token cache: a repeated token costs a digest and a lookup.

use std::time::Duration;

use aws_lc_rs::digest;
use moka::sync::Cache;

use crate::keys::KeyFingerprint;
use crate::validator::VerifiedToken;

#[derive(Clone)]
pub(crate) struct CacheEntry {
    pub(crate) token: VerifiedToken,
    pub(crate) issuer: usize,
    pub(crate) fingerprint: KeyFingerprint,
    /// Unix seconds after which the entry must not be served (`exp` plus
    /// leeway, or the `iat`-based maximum age).
    pub(crate) valid_until: f64,
    /// Time to live in the cache, set on insertion.
    pub(crate) ttl: Duration,
}

/// Per-entry time to live: until `valid_until` by the validator's clock,
/// bounded by the cache's maximum TTL. Hits also re-check `valid_until`
/// against the validator's clock, so an entry is never served late even
/// when that clock and moka's monotonic clock disagree (a test clock).
struct EntryExpiry;

impl moka::Expiry<[u8; 32], CacheEntry> for EntryExpiry {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        value: &CacheEntry,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

pub(crate) struct VerifiedCache {
    entries: Cache<[u8; 32], CacheEntry>,
    /// SHA-256 state after absorbing one block holding the policy digest.
    keyed: digest::Context,
    max_ttl: Duration,
}

impl VerifiedCache {
    pub(crate) fn new(capacity: u64, max_ttl: Duration, policy: &[u8; 32]) -> Self {
        let mut keyed = digest::Context::new(&digest::SHA256);
        let mut block = [0_u8; 64];
        block[..32].copy_from_slice(policy);
        keyed.update(&block);
        Self {
            entries: Cache::builder()
                .max_capacity(capacity)
                .expire_after(EntryExpiry)
                .build(),
            keyed,
            max_ttl,
        }
    }

    /// Returns SHA-256(policy block || token).
    pub(crate) fn key_for(&self, token: &str) -> [u8; 32] {
        let mut context = self.keyed.clone();
        context.update(token.as_bytes());
        let mut out = [0_u8; 32];
        out.copy_from_slice(context.finish().as_ref());
        out
    }

    /// Returns the cached token when it is still within its lifetime at
    /// `now` and `key_present` confirms the verifying key is still held.
    pub(crate) fn get(
        &self,
        key: &[u8; 32],
        now: f64,
        key_present: impl FnOnce(usize, &KeyFingerprint) -> bool,
    ) -> Option<VerifiedToken> {
        let entry = self.entries.get(key)?;
        if now >= entry.valid_until || !key_present(entry.issuer, &entry.fingerprint) {
            self.entries.invalidate(key);
            return None;
        }
        Some(entry.token)
    }

    /// Caches `entry` for the rest of its lifetime, at most the maximum TTL.
    pub(crate) fn insert(&self, key: [u8; 32], mut entry: CacheEntry, now: f64) {
        let remaining = entry.valid_until - now;
        if remaining.is_nan() || remaining <= 0.0 {
            return;
        }
        entry.ttl = if remaining >= self.max_ttl.as_secs_f64() {
            self.max_ttl
        } else {
            Duration::from_secs_f64(remaining)
        };
        self.entries.insert(key, entry);
    }
}
