//! Per-request session cost: ddf-session's `SessionManager::load` beside
//! tower-sessions 0.14 driving its store the way its middleware does, on
//! memory stores and on Redis over loopback (127.0.0.1:6379).
//!
//! ```sh
//! cargo bench -p ddf-bench-peers --bench session_peers -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Rows per store:
//! - `load`: read and check a session that needs no write.
//! - `load_refresh`: read it and write it back with a new idle expiry. ddf
//!   runs under a configuration whose refresh threshold makes every load a
//!   refresh; tower-sessions saves the record, as its middleware does on
//!   every request with `always_save` (needed for a sliding expiry).
//!
//! Both sides store the same principal (subject, issuer, two roles). ddf
//! seals the session with AES-256-GCM in Redis; tower-sessions' Redis store
//! writes it unencrypted, encoded with rmp-serde.

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
    MemoryStore, RedisStore, RedisStoreConfig, SessionConfig, SessionKey, SessionKeys,
    SessionManager, SessionStore,
};
use serde::{Deserialize, Serialize};
use tokio::runtime::Runtime;
use tower_sessions::session::Id;
use tower_sessions::{Expiry, Session};
use tower_sessions_redis_store::fred::prelude::{Builder, ClientLike as _, Config};

const REDIS_URL: &str = "redis://127.0.0.1:6379";
const SUBJECT: &str = "bench-user-0001";
const ISSUER: &str = "https://idp.example.test/realms/llm";

fn principal() -> Principal {
    Principal::new(SUBJECT, AuthMethod::Jwt)
        .with_issuer(ISSUER)
        .with_roles(["user", "llm-reader"])
}

/// What the tower-sessions side stores under one key, the same facts as
/// ddf's `Principal`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredPrincipal {
    subject: String,
    issuer: String,
    auth_method: String,
    roles: Vec<String>,
}

fn stored_principal() -> StoredPrincipal {
    StoredPrincipal {
        subject: SUBJECT.to_owned(),
        issuer: ISSUER.to_owned(),
        auth_method: "jwt".to_owned(),
        roles: vec!["user".to_owned(), "llm-reader".to_owned()],
    }
}

fn keys() -> SessionKeys {
    SessionKeys::new("bench", &SessionKey::from_bytes([7; 32])).expect("session key is valid")
}

/// A configuration under which every load after 1 ms refreshes, because the
/// refresh threshold is 1 ms shorter than the idle timeout.
fn refresh_every_load() -> SessionConfig {
    let mut config = SessionConfig::production();
    config.refresh_threshold = config.idle_timeout.saturating_sub(Duration::from_millis(1));
    config
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("Tokio runtime")
}

fn bench_ddf(c: &mut Criterion, runtime: &Runtime, name: &str, store: &Arc<dyn SessionStore>) {
    let clock = ManualClock::at_unix_seconds(1_700_000_000);

    let manager = SessionManager::new(
        SessionConfig::production(),
        Arc::clone(store),
        Arc::new(clock.clone()),
    )
    .expect("session configuration is valid");
    let (id, _) = runtime
        .block_on(manager.create(principal()))
        .expect("session created");
    let cookie = id.expose_cookie_value();
    c.bench_function(&format!("session/{name}/load/ddf_session"), |b| {
        b.iter(|| {
            let loaded = runtime
                .block_on(manager.load(black_box(&cookie)))
                .expect("session loads");
            assert!(!loaded.refreshed);
        });
    });

    let refreshing = SessionManager::new(
        refresh_every_load(),
        Arc::clone(store),
        Arc::new(clock.clone()),
    )
    .expect("session configuration is valid");
    let (id, _) = runtime
        .block_on(refreshing.create(principal()))
        .expect("session created");
    let cookie = id.expose_cookie_value();
    c.bench_function(&format!("session/{name}/load_refresh/ddf_session"), |b| {
        b.iter(|| {
            clock.advance(Duration::from_millis(2));
            let loaded = runtime
                .block_on(refreshing.load(black_box(&cookie)))
                .expect("session loads");
            assert!(loaded.refreshed);
        });
    });

    runtime
        .block_on(manager.delete_user(SUBJECT))
        .expect("sessions deleted");
}

fn bench_tower_sessions<S>(c: &mut Criterion, runtime: &Runtime, name: &str, store: &Arc<S>)
where
    S: tower_sessions::SessionStore,
{
    let expiry = Some(Expiry::OnInactivity(time::Duration::hours(1)));

    // Create the session as a login handler would.
    let created = Session::new(None, Arc::clone(store), expiry);
    let id: Id = runtime.block_on(async {
        created
            .insert("principal", stored_principal())
            .await
            .expect("session insert");
        created.save().await.expect("session saved");
        created.id().expect("saved session has an id")
    });
    // The middleware parses the cookie value on every request.
    let cookie = id.to_string();

    c.bench_function(&format!("session/{name}/load/tower_sessions"), |b| {
        b.iter(|| {
            runtime.block_on(async {
                let id: Id = black_box(&cookie).parse().expect("session id parses");
                let session = Session::new(Some(id), Arc::clone(store), expiry);
                let principal: StoredPrincipal = session
                    .get("principal")
                    .await
                    .expect("store answers")
                    .expect("session exists");
                black_box(principal);
            });
        });
    });

    c.bench_function(
        &format!("session/{name}/load_refresh/tower_sessions"),
        |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let id: Id = black_box(&cookie).parse().expect("session id parses");
                    let session = Session::new(Some(id), Arc::clone(store), expiry);
                    let principal: StoredPrincipal = session
                        .get("principal")
                        .await
                        .expect("store answers")
                        .expect("session exists");
                    black_box(principal);
                    session.save().await.expect("session saved");
                });
            });
        },
    );

    runtime.block_on(async {
        store.delete(&id).await.expect("session deleted");
    });
}

fn memory(c: &mut Criterion) {
    let runtime = runtime();
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    bench_ddf(c, &runtime, "memory", &store);
    let store = Arc::new(tower_sessions_memory_store::MemoryStore::default());
    bench_tower_sessions(c, &runtime, "memory", &store);
}

fn redis(c: &mut Criterion) {
    let runtime = runtime();
    // A prefix of its own, so the run cannot touch other users' keys.
    let prefix = format!("ddf-bench-peers-{}", std::process::id());
    let store: Arc<dyn SessionStore> = Arc::new(runtime.block_on(async {
        RedisStore::connect(
            REDIS_URL,
            &RedisStoreConfig::default().with_key_prefix(prefix),
            keys(),
            &SessionKey::from_bytes([9; 32]),
        )
        .expect("Redis on 127.0.0.1:6379")
    }));
    bench_ddf(c, &runtime, "redis", &store);

    // tower-sessions' Redis store has no key prefix: its keys are the random
    // session ids, and the one session it creates is deleted at the end.
    let client = runtime.block_on(async {
        let config = Config::from_url(REDIS_URL).expect("Redis URL parses");
        let client = Builder::from_config(config)
            .build()
            .expect("fred client builds");
        client.init().await.expect("Redis on 127.0.0.1:6379");
        client
    });
    let store = Arc::new(tower_sessions_redis_store::RedisStore::new(client.clone()));
    bench_tower_sessions(c, &runtime, "redis", &store);
    runtime
        .block_on(client.quit())
        .expect("Redis connection closes");
}

criterion_group!(benches, memory, redis);
criterion_main!(benches);
