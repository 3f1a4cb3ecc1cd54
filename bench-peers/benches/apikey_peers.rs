//! API-key verification beside its floor, a bare SHA-256 of the 32-byte
//! header value (sha2, as ddf-apikey uses, and aws-lc-rs).
//!
//! ```sh
//! cargo bench -p ddf-bench-peers --bench apikey_peers -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! No peer crate verifies API keys; the floor is what any verifier that
//! stores digests must compute. Each iteration takes the next of 1,024
//! prepared header values, so the figures include the cache misses of a
//! store larger than the CPU cache.

#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented public function"
)]

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ddf_apikey::{ApiKey, ApiKeyVerifier, KeyRecord, KeyStore, MemoryKeyStore};
use ddf_rbac::{Clock, SystemClock};
use sha2::{Digest, Sha256};

const INPUTS: usize = 1024;

/// Polls a future that completes without waiting, as in-memory verification
/// does.
///
/// # Panics
///
/// Panics if the future is pending.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut context) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("in-memory verification waited"),
    }
}

/// Builds a verifier over `size` keys and returns it with up to `INPUTS` of
/// the keys as header values.
fn setup(size: usize) -> (ApiKeyVerifier, Vec<Vec<u8>>) {
    let now = SystemClock.unix_seconds();
    let mut valid = Vec::new();
    let records: Vec<KeyRecord> = (0..size)
        .map(|n| {
            let key = ApiKey::generate();
            if valid.len() < INPUTS {
                valid.push(key.expose_secret().as_bytes().to_vec());
            }
            KeyRecord::new(format!("key-{n}"), format!("owner-{n}"), key.digest(), now)
                .with_roles(["user"])
        })
        .collect();
    let store: Arc<dyn KeyStore> =
        Arc::new(MemoryKeyStore::from_records(records).expect("records are valid"));
    (ApiKeyVerifier::new(store), valid)
}

fn unknown_keys() -> Vec<Vec<u8>> {
    (0..INPUTS)
        .map(|_| ApiKey::generate().expose_secret().as_bytes().to_vec())
        .collect()
}

fn bench(c: &mut Criterion) {
    let unknown = unknown_keys();
    let mut group = c.benchmark_group("apikey");

    let mut n = 0;
    group.bench_function("floor_sha2_sha256_32_bytes", |b| {
        b.iter(|| {
            n = (n + 1) % INPUTS;
            Sha256::digest(black_box(&unknown[n][..]))
        });
    });
    let mut n = 0;
    group.bench_function("floor_aws_lc_sha256_32_bytes", |b| {
        b.iter(|| {
            n = (n + 1) % INPUTS;
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, black_box(&unknown[n][..]))
        });
    });

    for size in [10, 100_000] {
        let (verifier, valid) = setup(size);
        assert!(ready(verifier.verify(&valid[0])).is_ok());
        assert!(ready(verifier.verify(&unknown[0])).is_err());

        let mut n = 0;
        group.bench_function(BenchmarkId::new("ddf_apikey_valid", size), |b| {
            b.iter(|| {
                n = (n + 1) % valid.len();
                ready(verifier.verify(black_box(&valid[n]))).is_ok()
            });
        });

        let mut n = 0;
        group.bench_function(BenchmarkId::new("ddf_apikey_unknown", size), |b| {
            b.iter(|| {
                n = (n + 1) % INPUTS;
                ready(verifier.verify(black_box(&unknown[n]))).is_err()
            });
        });
    }

    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
