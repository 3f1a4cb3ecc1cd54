//! Per-request cost of sessions: load (with and without a refresh write) on
//! the memory store and on Redis over loopback, and the AES-256-GCM sealing
//! alone. The Redis benchmarks need Redis on 127.0.0.1:6379.

#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented public function"
)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ddf_rbac::{AuthMethod, ManualClock, Principal};
use ddf_session::{
    MemoryStore, RedisStore, RedisStoreConfig, Session, SessionConfig, SessionKey, SessionKeys,
    SessionManager, SessionStore,
};
use tokio::runtime::Runtime;

const REDIS_URL: &str = "redis://127.0.0.1:6379";
const BENCH_PREFIX: &str = "ddf-bench-session";

fn principal() -> Principal {
    Principal::new("bench-user-0001", AuthMethod::Jwt)
        .with_issuer("https://idp.example.test/realms/llm")
        .with_roles(["user", "llm-reader"])
}

fn keys() -> SessionKeys {
    SessionKeys::new("bench", &SessionKey::from_bytes([7; 32])).unwrap()
}

/// Returns a configuration under which every load after 1 ms refreshes,
/// because the refresh threshold is 1 ms shorter than the idle timeout.
fn refresh_every_load() -> SessionConfig {
    let mut config = SessionConfig::production();
    config.refresh_threshold = config.idle_timeout.saturating_sub(Duration::from_millis(1));
    config
}

fn redis_store() -> RedisStore {
    let config = RedisStoreConfig::default().with_key_prefix(BENCH_PREFIX);
    RedisStore::connect(REDIS_URL, &config, keys(), &SessionKey::from_bytes([9; 32])).unwrap()
}

fn bench_store(c: &mut Criterion, runtime: &Runtime, name: &str, store: &Arc<dyn SessionStore>) {
    let clock = ManualClock::at_unix_seconds(1_700_000_000);

    let manager = SessionManager::new(
        SessionConfig::production(),
        Arc::clone(store),
        Arc::new(clock.clone()),
    )
    .unwrap();
    let (id, _) = runtime.block_on(manager.create(principal())).unwrap();
    let cookie = id.expose_cookie_value();
    c.bench_function(&format!("session/load/{name}"), |b| {
        b.iter(|| {
            let loaded = runtime.block_on(manager.load(black_box(&cookie))).unwrap();
            assert!(!loaded.refreshed);
        });
    });

    let refreshing = SessionManager::new(
        refresh_every_load(),
        Arc::clone(store),
        Arc::new(clock.clone()),
    )
    .unwrap();
    let (id, _) = runtime.block_on(refreshing.create(principal())).unwrap();
    let cookie = id.expose_cookie_value();
    c.bench_function(&format!("session/load_refresh/{name}"), |b| {
        b.iter(|| {
            clock.advance(Duration::from_millis(2));
            let loaded = runtime
                .block_on(refreshing.load(black_box(&cookie)))
                .unwrap();
            assert!(loaded.refreshed);
        });
    });

    runtime
        .block_on(manager.delete_user(principal().subject()))
        .unwrap();
}

fn load(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let memory: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    bench_store(c, &runtime, "memory", &memory);
    let redis: Arc<dyn SessionStore> = Arc::new(runtime.block_on(async { redis_store() }));
    bench_store(c, &runtime, "redis", &redis);
}

fn encryption(c: &mut Criterion) {
    let keys = keys();
    let session = Session::new(
        principal(),
        std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        &SessionConfig::production(),
    );
    let storage_key =
        b"{ddf:session}:s:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let sealed = keys.seal(storage_key, &session).unwrap();

    c.bench_function("session/encryption/seal", |b| {
        b.iter(|| {
            keys.seal(black_box(storage_key), black_box(&session))
                .unwrap()
        });
    });
    c.bench_function("session/encryption/open", |b| {
        b.iter(|| {
            keys.open(black_box(storage_key), black_box(&sealed))
                .unwrap()
        });
    });
}

criterion_group!(benches, load, encryption);
criterion_main!(benches);
