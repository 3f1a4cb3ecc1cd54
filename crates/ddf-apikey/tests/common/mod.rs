//! Helpers shared by the integration tests.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use ddf_apikey::{ApiKey, ApiKeyVerifier, KeyRecord, KeyStore, MemoryKeyStore};
use ddf_rbac::ManualClock;

/// 2026-01-01T00:00:00Z, the clock's start in every test.
pub const NOW: u64 = 1_767_225_600;
pub const DAY: u64 = 24 * 60 * 60;

/// A memory store, a verifier over it with a manual clock at [`NOW`], and the clock.
pub fn memory_verifier() -> (Arc<MemoryKeyStore>, ApiKeyVerifier, ManualClock) {
    let store = Arc::new(MemoryKeyStore::new());
    let clock = ManualClock::at_unix_seconds(NOW);
    let verifier = ApiKeyVerifier::new(Arc::clone(&store) as Arc<dyn KeyStore>)
        .with_clock(Arc::new(clock.clone()));
    (store, verifier, clock)
}

/// A record for `key`, created a minute before [`NOW`], expiring a day after.
pub fn record(id: &str, owner: &str, key: &ApiKey) -> KeyRecord {
    KeyRecord::new(id, owner, key.digest(), NOW - 60)
        .with_roles(["user"])
        .with_expires(NOW + DAY)
}

/// The key's text as header bytes.
pub fn header(key: &ApiKey) -> &[u8] {
    key.expose_secret().as_bytes()
}
