//! API-key attack and failure cases (K01-K12) that this crate handles, and
//! the rotation rules.
//!
//! Transport (keys in a query string, body or cookie) and header ambiguity
//! (two `X-API-Key` headers, key plus `Authorization`) are decided by the
//! HTTP layer before a value reaches this crate; K08's comma-joined value is
//! covered here because it reaches `ApiKey::parse`.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{DAY, NOW, header, memory_verifier, record};
use ddf_apikey::{
    ApiKey, ApiKeyError, ApiKeyErrorKind, ExpiryNotice, InvalidReason, KeyDigest, KeyRecord,
    KeyStore, RotationPolicy,
};

/// The external view of an error: what a client could ever learn.
fn external(error: &ApiKeyError) -> (ApiKeyErrorKind, String) {
    (error.kind(), error.to_string())
}

#[tokio::test]
async fn k01_format_variants_rejected_as_unknown() {
    let (store, verifier, _clock) = memory_verifier();
    let key = ApiKey::generate();
    store.insert(record("k01", "alice", &key)).await.unwrap();
    let text = key.expose_secret();

    let unknown = verifier
        .verify(header(&ApiKey::generate()))
        .await
        .unwrap_err();
    assert_eq!(unknown.reason(), Some(InvalidReason::Unknown));

    let mut with_nul = text.as_bytes().to_vec();
    with_nul[16] = 0;
    let mut mixed_case = text.as_bytes().to_vec();
    let letter = mixed_case.iter().position(u8::is_ascii_lowercase);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("31 chars", text.as_bytes()[..31].to_vec()),
        ("33 chars", format!("{text}0").into_bytes()),
        ("non-hex g", format!("{}g", &text[..31]).into_bytes()),
        ("leading space", format!(" {}", &text[..31]).into_bytes()),
        ("trailing space", format!("{text} ").into_bytes()),
        ("surrounded by spaces", format!(" {text} ").into_bytes()),
        ("0x prefix", format!("0x{}", &text[..30]).into_bytes()),
        ("0x prefix, 34 chars", format!("0x{text}").into_bytes()),
        ("embedded NUL", with_nul),
        ("all upper-case", text.to_uppercase().into_bytes()),
        ("empty", Vec::new()),
    ];
    // A key that is all digits has no letter to flip; the generator makes
    // that rare (0.625^32), and the upper-case case then covers nothing new.
    let cases = if let Some(position) = letter {
        mixed_case[position] = mixed_case[position].to_ascii_uppercase();
        let mut cases = cases;
        cases.push(("one upper-case letter", mixed_case));
        cases
    } else {
        cases
    };

    for (name, value) in cases {
        let error = verifier.verify(&value).await.unwrap_err();
        assert_eq!(external(&error), external(&unknown), "{name}");
        assert_eq!(error.reason(), Some(InvalidReason::Malformed), "{name}");
    }

    // The canonical spelling is accepted: lower-case only, no trimming.
    let principal = verifier.verify(text.as_bytes()).await.unwrap();
    assert_eq!(principal.key_id(), Some("k01"));
}

#[tokio::test]
async fn k02_store_dump_holds_only_digests() {
    let (store, verifier, _clock) = memory_verifier();
    let mut secrets = Vec::new();
    for n in 0..5 {
        let (key, _) = verifier
            .issue(&format!("k02-{n}"), "alice", ["user"])
            .await
            .unwrap();
        secrets.push(key.expose_secret().to_owned());
    }

    let records = store.list_by_owner("alice").await.unwrap();
    let dump = serde_json::to_string(&records).unwrap() + &format!("{records:?}");
    for (secret, record) in secrets.iter().zip(&records) {
        assert!(!dump.contains(secret.as_str()));
        assert!(dump.contains(&record.digest.to_hex()));
    }
}

#[test]
fn k03_generator_uses_128_random_bits() {
    const COUNT: usize = 10_000;
    let mut seen = std::collections::HashSet::new();
    let mut counts = [[0u32; 16]; 32];

    for _ in 0..COUNT {
        let key = ApiKey::generate();
        let text = key.expose_secret();
        assert_eq!(text.len(), 32);
        for (position, digit) in text.chars().enumerate() {
            let value = digit.to_digit(16).expect("hex digit") as usize;
            assert!(!digit.is_ascii_uppercase());
            counts[position][value] += 1;
        }
        assert!(seen.insert(text.to_owned()), "duplicate key");
    }

    // Each of the 32 digits must be uniform: expected 625 per value with a
    // standard deviation of about 24; 450..=800 is more than 7 deviations.
    for (position, row) in counts.iter().enumerate() {
        for (value, &count) in row.iter().enumerate() {
            assert!(
                (450..=800).contains(&count),
                "digit {position} takes value {value:x} {count} times"
            );
        }
    }
}

#[test]
fn k04_digest_compare_is_constant_time_primitive() {
    // `ApiKey` has no `==` (a compile_fail doctest on `ApiKey` proves it);
    // digests compare through `subtle`, over all 32 bytes.
    let base = ApiKey::generate().digest();
    assert!(bool::from(base.ct_eq(&base)));
    for position in 0..32 {
        for bit in 0..8 {
            let mut bytes = *base.as_bytes();
            bytes[position] ^= 1 << bit;
            let other = KeyDigest::from_bytes(bytes);
            assert!(!bool::from(base.ct_eq(&other)), "byte {position} bit {bit}");
            assert_ne!(base, other);
        }
    }
}

#[tokio::test]
async fn k06_rejections_are_identical() {
    let (store, verifier, _clock) = memory_verifier();
    let revoked = ApiKey::generate();
    let expired = ApiKey::generate();
    let early = ApiKey::generate();
    let aged = ApiKey::generate();
    store
        .insert(record("revoked", "a", &revoked))
        .await
        .unwrap();
    store.revoke("revoked", NOW - 1).await.unwrap();
    store
        .insert(record("expired", "a", &expired).with_expires(NOW))
        .await
        .unwrap();
    store
        .insert(record("early", "a", &early).with_not_before(NOW + 10))
        .await
        .unwrap();
    store
        .insert(KeyRecord::new("aged", "a", aged.digest(), NOW - 31 * DAY))
        .await
        .unwrap();

    let unknown = verifier
        .verify(header(&ApiKey::generate()))
        .await
        .unwrap_err();
    let cases = [
        (header(&revoked).to_vec(), InvalidReason::Revoked),
        (header(&expired).to_vec(), InvalidReason::Expired),
        (header(&aged).to_vec(), InvalidReason::Expired),
        (header(&early).to_vec(), InvalidReason::NotYetValid),
        (b"not-a-key".to_vec(), InvalidReason::Malformed),
    ];
    for (value, reason) in cases {
        let error = verifier.verify(&value).await.unwrap_err();
        assert_eq!(external(&error), external(&unknown), "{reason}");
        assert_eq!(error.reason(), Some(reason));
        assert!(!error.to_string().contains(reason.as_str()));
    }
    assert_eq!(unknown.kind().as_str(), "api_key_invalid");
}

#[test]
fn k08_comma_joined_value_rejected() {
    let a = ApiKey::generate();
    let b = ApiKey::generate();
    let joined = format!("{},{}", a.expose_secret(), b.expose_secret());
    let error = ApiKey::parse(joined.as_bytes()).unwrap_err();
    assert_eq!(error.reason(), Some(InvalidReason::Malformed));
}

#[tokio::test]
async fn k09_revocation_seen_on_next_request() {
    let (store, verifier, _clock) = memory_verifier();
    let key = ApiKey::generate();
    store.insert(record("k09", "alice", &key)).await.unwrap();
    assert!(verifier.verify(header(&key)).await.is_ok());

    assert!(verifier.revoke("k09").await.unwrap());
    let error = verifier.verify(header(&key)).await.unwrap_err();
    assert_eq!(error.reason(), Some(InvalidReason::Revoked));
}

#[test]
fn k10_oversized_header_rejected_before_hashing() {
    let huge = vec![b'a'; 64 * 1024];
    let error = ApiKey::parse(&huge).unwrap_err();
    assert_eq!(error.kind(), ApiKeyErrorKind::Invalid);
    assert_eq!(error.reason(), Some(InvalidReason::Malformed));
}

/// A `tracing` writer that appends to a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn k11_canary_key_never_logged() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (_store, verifier, clock) = memory_verifier();
    let verifier = verifier.with_policy(RotationPolicy {
        warn_before_secs: 30 * DAY,
        ..RotationPolicy::default()
    });
    let (canary, record) = verifier.issue("k11", "alice", ["user"]).await.unwrap();
    let mut printed = Vec::new();

    let principal = verifier.verify(header(&canary)).await.unwrap();
    printed.push(format!("{principal:?} {canary:?} {canary} {record:?}"));
    let (replacement, _) = verifier.rotate("k11", "k11-next").await.unwrap();
    printed.push(format!("{replacement:?}"));
    verifier.revoke_owner("alice").await.unwrap();
    clock.advance(std::time::Duration::from_secs(1));
    let error = verifier.verify(header(&canary)).await.unwrap_err();
    printed.push(format!("{error} {error:?} {:?}", error.reason()));
    let mut wrong = canary.expose_secret().to_owned();
    wrong.push(' ');
    let error = verifier.verify(wrong.as_bytes()).await.unwrap_err();
    printed.push(format!("{error} {error:?}"));

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("k11"), "the id is logged: {logs}");
    assert!(logs.contains("close to expiry"), "{logs}");
    for secret in [canary.expose_secret(), replacement.expose_secret()] {
        assert!(!logs.contains(secret));
        for text in &printed {
            assert!(!text.contains(secret));
        }
    }
}

#[tokio::test]
async fn k12_key_without_roles_gives_empty_principal_roles() {
    let (store, verifier, _clock) = memory_verifier();
    let key = ApiKey::generate();
    store
        .insert(record("k12", "svc", &key).with_roles(Vec::<String>::new()))
        .await
        .unwrap();
    let principal = verifier.verify(header(&key)).await.unwrap();
    assert!(principal.roles().is_empty());
    assert_eq!(principal.subject(), "svc");
}

#[tokio::test]
async fn rotation_overlap_keeps_both_keys_then_old_ends() {
    let (_store, verifier, clock) = memory_verifier();
    let policy = verifier.policy().clone();
    let (old, _) = verifier.issue("r-old", "alice", ["user"]).await.unwrap();

    clock.advance(std::time::Duration::from_secs(20 * DAY));
    let (new, new_record) = verifier.rotate("r-old", "r-new").await.unwrap();
    assert_eq!(new_record.owner, "alice");
    assert_eq!(new_record.roles, ["user"]);
    assert_eq!(
        new_record.expires,
        Some(NOW + 20 * DAY + policy.max_age_secs)
    );

    let during = verifier.verify(header(&old)).await.unwrap();
    assert_eq!(
        during.expires_at(),
        Some(NOW + 20 * DAY + policy.overlap_secs)
    );
    assert!(verifier.verify(header(&new)).await.is_ok());

    clock.advance(std::time::Duration::from_secs(policy.overlap_secs));
    let error = verifier.verify(header(&old)).await.unwrap_err();
    assert_eq!(error.reason(), Some(InvalidReason::Revoked));
    assert_eq!(
        verifier.verify(header(&new)).await.unwrap().key_id(),
        Some("r-new")
    );
}

#[tokio::test]
async fn rotate_unknown_id_is_not_found() {
    let (_store, verifier, _clock) = memory_verifier();
    let error = verifier.rotate("missing", "next").await.unwrap_err();
    assert_eq!(error.kind().as_str(), "api_key_not_found");
}

#[tokio::test]
async fn max_age_ends_keys_without_expiry() {
    let (store, verifier, clock) = memory_verifier();
    let key = ApiKey::generate();
    store
        .insert(KeyRecord::new("m", "alice", key.digest(), NOW))
        .await
        .unwrap();

    let principal = verifier.verify(header(&key)).await.unwrap();
    assert_eq!(principal.expires_at(), Some(NOW + 30 * DAY));

    clock.set_unix_seconds(NOW + 30 * DAY);
    let error = verifier.verify(header(&key)).await.unwrap_err();
    assert_eq!(error.reason(), Some(InvalidReason::Expired));
}

#[tokio::test]
async fn key_near_expiry_raises_notice() {
    let (_store, verifier, clock) = memory_verifier();
    let notices = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&notices);
    let verifier = verifier.on_expiry_soon(move |notice| sink.lock().unwrap().push(notice.clone()));
    let (key, _) = verifier.issue("n", "alice", ["user"]).await.unwrap();

    let fresh = verifier.verify_detailed(header(&key)).await.unwrap();
    assert!(!fresh.expires_soon);
    assert!(notices.lock().unwrap().is_empty());

    clock.advance(std::time::Duration::from_secs(25 * DAY));
    let late = verifier.verify_detailed(header(&key)).await.unwrap();
    assert!(late.expires_soon);
    let notices = notices.lock().unwrap();
    assert_eq!(notices.len(), 1);
    let ExpiryNotice {
        key_id,
        owner,
        expires_at,
        remaining_secs,
        ..
    } = notices[0].clone();
    assert_eq!(key_id, "n");
    assert_eq!(owner, "alice");
    assert_eq!(expires_at, NOW + 30 * DAY);
    assert_eq!(remaining_secs, 5 * DAY);
}

#[tokio::test]
async fn revoke_owner_ends_every_key_of_owner() {
    let (_store, verifier, _clock) = memory_verifier();
    let (a, _) = verifier.issue("a1", "alice", ["user"]).await.unwrap();
    let (b, _) = verifier.issue("a2", "alice", ["user"]).await.unwrap();
    let (c, _) = verifier.issue("b1", "bob", ["user"]).await.unwrap();

    assert_eq!(verifier.revoke_owner("alice").await.unwrap(), 2);
    for key in [&a, &b] {
        let error = verifier.verify(header(key)).await.unwrap_err();
        assert_eq!(error.reason(), Some(InvalidReason::Revoked));
    }
    assert_eq!(verifier.verify(header(&c)).await.unwrap().subject(), "bob");
}
