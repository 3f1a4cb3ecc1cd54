//! The verified-token cache: a repeated token costs one hash of its bytes,
//! one lookup and one comparison of the stored token with the presented one.
//!
//! Entries are keyed by the whole compact token. The map's hash (foldhash,
//! randomly seeded per process) only picks the bucket; a hit requires the
//! stored token to equal the presented one byte for byte, so no crafted
//! collision can make one token's result serve another. A digest as the key
//! would need a collision-resistant hash over about a kilobyte per lookup,
//! which costs more than the rest of the hit. The cache belongs to one
//! validator, whose settings never change, so the key needs no policy part.

use std::time::Duration;

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

impl moka::Expiry<Box<str>, CacheEntry> for EntryExpiry {
    fn expire_after_create(
        &self,
        _key: &Box<str>,
        value: &CacheEntry,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

pub(crate) struct VerifiedCache {
    entries: Cache<Box<str>, CacheEntry, foldhash::quality::RandomState>,
    max_ttl: Duration,
}

impl VerifiedCache {
    pub(crate) fn new(capacity: u64, max_ttl: Duration) -> Self {
        Self {
            entries: Cache::builder()
                .max_capacity(capacity)
                .expire_after(EntryExpiry)
                .build_with_hasher(foldhash::quality::RandomState::default()),
            max_ttl,
        }
    }

    /// Returns the cached token when it is still within its lifetime at
    /// `now` and `key_present` confirms the verifying key is still held.
    pub(crate) fn get(
        &self,
        token: &str,
        now: f64,
        key_present: impl FnOnce(usize, &KeyFingerprint) -> bool,
    ) -> Option<VerifiedToken> {
        let entry = self.entries.get(token)?;
        if now >= entry.valid_until || !key_present(entry.issuer, &entry.fingerprint) {
            self.entries.invalidate(token);
            return None;
        }
        Some(entry.token)
    }

    /// Caches `entry` for the rest of its lifetime, at most the maximum TTL.
    pub(crate) fn insert(&self, token: &str, mut entry: CacheEntry, now: f64) {
        let remaining = entry.valid_until - now;
        if remaining.is_nan() || remaining <= 0.0 {
            return;
        }
        entry.ttl = if remaining >= self.max_ttl.as_secs_f64() {
            self.max_ttl
        } else {
            Duration::from_secs_f64(remaining)
        };
        self.entries.insert(token.into(), entry);
    }
}
