//! K05: a dudect-style check that rejected keys fall into one timing class.
//!
//! Run it in release mode, on an otherwise idle machine:
//!
//! ```sh
//! cargo test --release -p ddf-apikey --test timing -- --ignored --nocapture
//! ```
//!
//! It times `ApiKeyVerifier::verify` on an in-memory store of 10,000 keys for
//! five input classes, interleaved in a random order. The classes are unknown
//! keys, revoked keys, expired keys, valid keys with the last hex digit
//! changed, and valid keys; each has 256 keys scattered through the store. For each pair of rejection classes it prints Welch's t
//! statistic, on all samples and on samples below the pooled 99th and 90th
//! percentiles (dudect's cropping, which removes interrupts and preemption).
//! dudect treats |t| above 10 as a leak; the test fails above that on the
//! cropped samples. The valid class is printed for reference only: an
//! accepted key builds a principal, so it is slower by design.

mod common;

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use common::{DAY, NOW};
use ddf_apikey::{ApiKey, ApiKeyVerifier, KeyRecord, KeyStore, MemoryKeyStore};
use ddf_rbac::ManualClock;

const SAMPLES_PER_CLASS: usize = 100_000;
const STORE_SIZE: usize = 10_000;
const CLASSES: [&str; 5] = ["unknown", "revoked", "expired", "last_nibble", "valid"];

/// Polls a future that must complete without waiting (the memory store never waits).
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut context) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the in-memory verification waited"),
    }
}

/// xorshift64*, enough to shuffle the schedule.
struct Shuffle(u64);

impl Shuffle {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn seeded_shuffle() -> Shuffle {
    let seed = ApiKey::generate().digest();
    Shuffle(u64::from_le_bytes(seed.as_bytes()[..8].try_into().unwrap()) | 1)
}

fn welch_t(a: &[f64], b: &[f64]) -> f64 {
    let stats = |x: &[f64]| {
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (mean, var, n)
    };
    let (mean_a, var_a, n_a) = stats(a);
    let (mean_b, var_b, n_b) = stats(b);
    (mean_a - mean_b) / (var_a / n_a + var_b / n_b).sqrt()
}

fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * fraction) as usize]
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    percentile(&sorted, 0.5)
}

/// Keys per class; each sample takes the next key of its class, so no class
/// is timed on one fixed memory location.
const POOL: usize = 256;

/// Builds the store's records and, for each of the five classes, `POOL` header values.
fn inputs() -> (Vec<KeyRecord>, [Vec<Vec<u8>>; 5]) {
    let mut records: Vec<KeyRecord> = Vec::with_capacity(STORE_SIZE);
    let mut pools: [Vec<Vec<u8>>; 5] = Default::default();

    for n in 0..POOL {
        let valid = ApiKey::generate();
        let revoked = ApiKey::generate();
        let expired = ApiKey::generate();
        records.push(
            KeyRecord::new(format!("v{n}"), "alice", valid.digest(), NOW).with_roles(["user"]),
        );
        let mut revoked_record = KeyRecord::new(format!("r{n}"), "alice", revoked.digest(), NOW);
        revoked_record.revoked_at = Some(NOW);
        records.push(revoked_record);
        records.push(KeyRecord::new(
            format!("e{n}"),
            "alice",
            expired.digest(),
            NOW - 40 * DAY,
        ));

        let mut last_nibble = valid.expose_secret().as_bytes().to_vec();
        last_nibble[31] = if last_nibble[31] == b'0' { b'1' } else { b'0' };
        pools[0].push(ApiKey::generate().expose_secret().as_bytes().to_vec());
        pools[1].push(revoked.expose_secret().as_bytes().to_vec());
        pools[2].push(expired.expose_secret().as_bytes().to_vec());
        pools[3].push(last_nibble);
        pools[4].push(valid.expose_secret().as_bytes().to_vec());
    }

    while records.len() < STORE_SIZE {
        let n = records.len();
        records.push(KeyRecord::new(
            format!("k{n}"),
            "bulk",
            ApiKey::generate().digest(),
            NOW,
        ));
    }

    // Scatter the timed records through the store, as they would be in
    // practice. Grouped together, they would share cache lines and pages
    // that the record a miss reads does not.
    let mut shuffle = seeded_shuffle();
    for i in (1..records.len()).rev() {
        let j = (shuffle.next() % (i as u64 + 1)) as usize;
        records.swap(i, j);
    }
    (records, pools)
}

#[test]
#[ignore = "statistical timing check; run in release mode, see the module docs"]
fn k05_rejection_classes_indistinguishable_in_time() {
    let (records, pools) = inputs();
    let store: Arc<dyn KeyStore> = Arc::new(MemoryKeyStore::from_records(records).unwrap());
    let verifier =
        ApiKeyVerifier::new(store).with_clock(Arc::new(ManualClock::at_unix_seconds(NOW + 1)));

    let mut schedule: Vec<usize> = (0..CLASSES.len())
        .flat_map(|class| std::iter::repeat_n(class, SAMPLES_PER_CLASS))
        .collect();
    let mut shuffle = seeded_shuffle();
    for i in (1..schedule.len()).rev() {
        let j = (shuffle.next() % (i as u64 + 1)) as usize;
        schedule.swap(i, j);
    }

    // Warm caches and branch predictors on every class first.
    for (n, &class) in schedule.iter().take(20_000).enumerate() {
        let _ = ready(verifier.verify(&pools[class][n % POOL]));
    }

    let mut timings: Vec<Vec<f64>> = vec![Vec::with_capacity(SAMPLES_PER_CLASS); CLASSES.len()];
    for (n, &class) in schedule.iter().enumerate() {
        let input = &pools[class][n % POOL];
        let start = Instant::now();
        let outcome = ready(verifier.verify(input));
        let elapsed = start.elapsed().as_nanos() as f64;
        assert_eq!(outcome.is_ok(), class == 4, "class {}", CLASSES[class]);
        timings[class].push(elapsed);
    }

    let mut pooled: Vec<f64> = timings.iter().flatten().copied().collect();
    pooled.sort_by(f64::total_cmp);
    let crops = [
        ("all", f64::INFINITY),
        ("p99", percentile(&pooled, 0.99)),
        ("p90", percentile(&pooled, 0.90)),
    ];

    for (class, samples) in CLASSES.iter().zip(&timings) {
        println!(
            "{class:>12}: median {:.0} ns over {} samples",
            median(samples),
            samples.len()
        );
    }

    let mut worst_cropped = 0.0f64;
    for (label, limit) in crops {
        let cropped: Vec<Vec<f64>> = timings
            .iter()
            .map(|samples| samples.iter().copied().filter(|&t| t <= limit).collect())
            .collect();
        for a in 0..CLASSES.len() {
            for b in a + 1..CLASSES.len() {
                let t = welch_t(&cropped[a], &cropped[b]);
                let reference = if b == 4 {
                    "  (valid: reference only)"
                } else {
                    ""
                };
                println!(
                    "{label:>4} {:>11} vs {:<11} |t| = {:>6.2}{reference}",
                    CLASSES[a],
                    CLASSES[b],
                    t.abs()
                );
                if b != 4 && label != "all" {
                    worst_cropped = worst_cropped.max(t.abs());
                }
            }
        }
    }

    println!("largest cropped |t| between rejection classes: {worst_cropped:.2}");
    assert!(
        worst_cropped < 10.0,
        "rejection classes are distinguishable: |t| = {worst_cropped:.2}"
    );
}
