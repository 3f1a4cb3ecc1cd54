//! The in-memory store: conformance, loading from configuration, reloads.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{DAY, NOW, header};
use ddf_apikey::{
    ApiKey, ApiKeyVerifier, InvalidReason, KeyRecord, KeySource, KeyStore, MemoryKeyStore,
    conformance,
};
use ddf_rbac::ManualClock;

#[tokio::test]
async fn conformance_memory_store() {
    conformance::run(Arc::new(MemoryKeyStore::new())).await;
}

/// A file under the target directory, unique to this test.
fn temp_file(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    dir.join(format!("{}-{name}", std::process::id()))
}

fn yaml_entry(id: &str, owner: &str, key: &ApiKey) -> String {
    format!(
        "  - id: {id}\n    owner: {owner}\n    roles: [user]\n    digest: {}\n",
        key.digest().to_hex()
    )
}

#[tokio::test]
async fn reload_from_yaml_applies_changes_and_keeps_revocations() {
    let path = temp_file("keys.yaml");
    let first = ApiKey::generate();
    let second = ApiKey::generate();
    std::fs::write(
        &path,
        format!("keys:\n{}", yaml_entry("first", "alice", &first)),
    )
    .unwrap();

    let clock = ManualClock::at_unix_seconds(NOW);
    let store = Arc::new(
        MemoryKeyStore::from_source_with_clock(
            KeySource::File(path.clone()),
            Arc::new(clock.clone()),
        )
        .unwrap(),
    );
    let verifier = ApiKeyVerifier::new(Arc::clone(&store) as Arc<dyn KeyStore>)
        .with_clock(Arc::new(clock.clone()));
    assert_eq!(
        verifier.verify(header(&first)).await.unwrap().subject(),
        "alice"
    );
    assert!(verifier.revoke("first").await.unwrap());

    // The file gains a key and keeps the revoked one: the revocation holds.
    std::fs::write(
        &path,
        format!(
            "keys:\n{}{}",
            yaml_entry("first", "alice", &first),
            yaml_entry("second", "bob", &second)
        ),
    )
    .unwrap();
    clock.advance(Duration::from_secs(1));
    store.reload().await.unwrap();
    assert_eq!(store.len(), 2);
    assert_eq!(
        verifier.verify(header(&second)).await.unwrap().subject(),
        "bob"
    );
    let error = verifier.verify(header(&first)).await.unwrap_err();
    assert_eq!(error.reason(), Some(InvalidReason::Revoked));

    // A broken file keeps the current keys.
    std::fs::write(&path, "keys: [ {id: x").unwrap();
    let error = store.reload().await.unwrap_err();
    assert_eq!(error.kind().as_str(), "config_invalid");
    assert_eq!(
        verifier.verify(header(&second)).await.unwrap().subject(),
        "bob"
    );

    std::fs::remove_file(&path).unwrap();
}

#[tokio::test]
async fn reload_from_toml_removes_dropped_keys() {
    let path = temp_file("keys.toml");
    let key = ApiKey::generate();
    let entry = format!(
        "[[keys]]\nid = \"t1\"\nowner = \"alice\"\nroles = [\"user\"]\ndigest = \"{}\"\ncreated = {NOW}\n",
        key.digest().to_hex()
    );
    std::fs::write(&path, &entry).unwrap();

    let clock = ManualClock::at_unix_seconds(NOW);
    let store = Arc::new(MemoryKeyStore::from_source(KeySource::File(path.clone())).unwrap());
    let verifier =
        ApiKeyVerifier::new(Arc::clone(&store) as Arc<dyn KeyStore>).with_clock(Arc::new(clock));
    assert!(verifier.verify(header(&key)).await.is_ok());

    std::fs::write(&path, "keys = []\n").unwrap();
    store.reload().await.unwrap();
    let error = verifier.verify(header(&key)).await.unwrap_err();
    assert_eq!(error.reason(), Some(InvalidReason::Unknown));

    std::fs::remove_file(&path).unwrap();
}

#[tokio::test]
async fn entries_without_created_keep_first_load_time() {
    let key = ApiKey::generate();
    let path = temp_file("first-seen.yaml");
    let entry = format!("keys:\n  - id: e1\n    digest: {}\n", key.digest().to_hex());
    std::fs::write(&path, entry).unwrap();

    let clock = ManualClock::at_unix_seconds(NOW);
    let source = KeySource::File(path.clone());
    let store = MemoryKeyStore::from_source_with_clock(source, Arc::new(clock.clone())).unwrap();
    let loaded = store.get("e1").await.unwrap().unwrap();
    assert_eq!(loaded.owner, "e1", "the owner defaults to the id");
    assert_eq!(loaded.created, NOW);

    clock.advance(Duration::from_secs(10 * DAY));
    store.reload().await.unwrap();
    assert_eq!(store.get("e1").await.unwrap().unwrap().created, NOW);

    std::fs::remove_file(&path).unwrap();
}

#[tokio::test]
async fn inserted_keys_survive_reload_unless_shadowed() {
    let path = temp_file("shadow.yaml");
    std::fs::write(&path, "keys: []\n").unwrap();
    let store = MemoryKeyStore::from_source(KeySource::File(path.clone())).unwrap();

    let kept = ApiKey::generate();
    let shadowed = ApiKey::generate();
    store
        .insert(KeyRecord::new("kept", "alice", kept.digest(), NOW))
        .await
        .unwrap();
    store
        .insert(KeyRecord::new("dup", "alice", shadowed.digest(), NOW))
        .await
        .unwrap();

    let other = ApiKey::generate();
    std::fs::write(
        &path,
        format!("keys:\n{}", yaml_entry("dup", "bob", &other)),
    )
    .unwrap();
    store.reload().await.unwrap();

    assert_eq!(store.len(), 2);
    assert_eq!(store.get("kept").await.unwrap().unwrap().owner, "alice");
    assert_eq!(store.get("dup").await.unwrap().unwrap().owner, "bob");
    assert_eq!(store.find(&shadowed.digest()).await.unwrap(), None);

    std::fs::remove_file(&path).unwrap();
}

#[test]
fn duplicate_ids_in_configuration_rejected() {
    let a = ApiKey::generate();
    let b = ApiKey::generate();
    let text = format!("x:{}:;x:{}:", a.digest().to_hex(), b.digest().to_hex());
    let error =
        MemoryKeyStore::from_entries(ddf_apikey::config::parse_env(&text).unwrap()).unwrap_err();
    assert!(error.to_string().contains("appears twice"), "{error}");
}

#[test]
fn duplicate_digests_in_configuration_rejected() {
    let a = ApiKey::generate();
    let text = format!("x:{0}:;y:{0}:", a.digest().to_hex());
    let error =
        MemoryKeyStore::from_entries(ddf_apikey::config::parse_env(&text).unwrap()).unwrap_err();
    assert!(error.to_string().contains("same digest"), "{error}");
}

/// The variable the child process below reads its keys from.
const ENV_VAR: &str = "DDF_APIKEY_TEST_KEYS";

#[test]
fn env_source_loads_entries() {
    // Setting a variable in this process is `unsafe` in edition 2024, so a
    // child process runs the check with the variable in its environment.
    let key = ApiKey::generate();
    let other = ApiKey::generate();
    let value = format!(
        "svc-a:{}:user,admin;\nsvc-b:{}:",
        key.digest().to_hex(),
        other.digest().to_hex()
    );
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "env_source_child", "--ignored", "--nocapture"])
        .env(ENV_VAR, value)
        .env("DDF_APIKEY_TEST_KEY", key.expose_secret())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "child failed: {stdout}");
    assert!(stdout.contains("1 passed"), "{stdout}");
}

#[tokio::test]
#[ignore = "run by env_source_loads_entries in a child process"]
async fn env_source_child() {
    let store = Arc::new(MemoryKeyStore::from_source(KeySource::Env(ENV_VAR.into())).unwrap());
    assert_eq!(store.len(), 2);
    let key_text = std::env::var("DDF_APIKEY_TEST_KEY").unwrap();
    let verifier = ApiKeyVerifier::new(Arc::clone(&store) as Arc<dyn KeyStore>);
    let principal = verifier.verify(key_text.as_bytes()).await.unwrap();
    assert_eq!(principal.subject(), "svc-a");
    assert_eq!(principal.roles(), ["user", "admin"]);
    store.reload().await.unwrap();
    assert_eq!(store.len(), 2);
}

#[test]
fn missing_env_variable_is_config_error() {
    let error =
        MemoryKeyStore::from_source(KeySource::Env("DDF_APIKEY_TEST_UNSET_VARIABLE".into()))
            .unwrap_err();
    assert_eq!(error.kind().as_str(), "config_invalid");
    assert!(error.to_string().contains("DDF_APIKEY_TEST_UNSET_VARIABLE"));
}

#[test]
fn readers_keep_verifying_during_reloads() {
    let stable = ApiKey::generate();
    let path = temp_file("concurrent.yaml");
    let mut text = format!("keys:\n{}", yaml_entry("stable", "alice", &stable));
    for n in 0..2000 {
        text.push_str(&yaml_entry(
            &format!("filler-{n}"),
            "bulk",
            &ApiKey::generate(),
        ));
    }
    std::fs::write(&path, &text).unwrap();

    let store = Arc::new(MemoryKeyStore::from_source(KeySource::File(path.clone())).unwrap());
    let verifier = Arc::new(ApiKeyVerifier::new(Arc::clone(&store) as Arc<dyn KeyStore>));
    let stop = Arc::new(AtomicBool::new(false));

    let reader = {
        let verifier = Arc::clone(&verifier);
        let stop = Arc::clone(&stop);
        let secret = stable.expose_secret().to_owned();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            let mut checks = 0u64;
            while !stop.load(Ordering::Relaxed) || checks == 0 {
                let principal = runtime
                    .block_on(verifier.verify(secret.as_bytes()))
                    .unwrap();
                assert_eq!(principal.subject(), "alice");
                checks += 1;
            }
            checks
        })
    };

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for _ in 0..20 {
        runtime.block_on(store.reload()).unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let checks = reader.join().unwrap();
    assert!(checks > 0);

    std::fs::remove_file(&path).unwrap();
}

#[test]
fn lookup_visits_one_candidate_per_key() {
    let records: Vec<KeyRecord> = (0..10_000)
        .map(|n| KeyRecord::new(format!("k{n}"), "bulk", ApiKey::generate().digest(), NOW))
        .collect();
    let wanted = records[1234].digest;
    let store = MemoryKeyStore::from_records(records).unwrap();

    for digest in [wanted, ApiKey::generate().digest()] {
        let mut visits = 0;
        let mut matched = false;
        assert!(store.find_in_memory(&digest, &mut |record| {
            visits += 1;
            matched = bool::from(record.digest.ct_eq(&digest));
        }));
        assert_eq!(visits, 1);
        assert_eq!(matched, digest == wanted);
    }
}
