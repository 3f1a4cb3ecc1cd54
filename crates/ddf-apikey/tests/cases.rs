//! Cases collected from public bug reports about API-key checks
//! (`fixtures/apikey_cases.json`), one test each, and property tests of the
//! header parser.

mod common;

use std::collections::BTreeSet;

use common::{NOW, header, memory_verifier, record};
use ddf_apikey::{ApiKey, InvalidReason, KeyRecord, KeyStore, MemoryKeyStore};
use proptest::prelude::*;
use serde_json::Value;

const CASES: &str = include_str!("fixtures/apikey_cases.json");

/// The case ids that have a test below.
const TESTED: [&str; 3] = ["AK01", "AK02", "AK03"];

fn case(id: &str) -> Value {
    let cases: Vec<Value> = serde_json::from_str(CASES).unwrap();
    cases
        .into_iter()
        .find(|case| case["id"] == id)
        .unwrap_or_else(|| panic!("case {id} missing from the fixture"))
}

#[test]
fn every_fixture_case_has_a_test() {
    let cases: Vec<Value> = serde_json::from_str(CASES).unwrap();
    let ids: BTreeSet<&str> = cases
        .iter()
        .map(|case| case["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, TESTED.into_iter().collect());
}

/// AK01: the stored value and the presented key are compared as fixed-length
/// digests with a constant-time equality, so a key matching a stored one in
/// its first 31 characters fares no better than a random one.
#[tokio::test]
async fn ak01_compare_is_fixed_length_digest() {
    assert_eq!(case("AK01")["kind"], "property");
    let (store, verifier, _clock) = memory_verifier();
    let key = ApiKey::generate();
    store.insert(record("ak01", "alice", &key)).await.unwrap();

    let text = key.expose_secret();
    let last = if text.ends_with('0') { '1' } else { '0' };
    let first = if text.starts_with('0') { '1' } else { '0' };
    let near_end = format!("{}{last}", &text[..31]);
    let near_start = format!("{first}{}", &text[1..]);
    for value in [near_end, near_start] {
        let error = verifier.verify(value.as_bytes()).await.unwrap_err();
        assert_eq!(error.reason(), Some(InvalidReason::Unknown));
    }

    // Different keys give unrelated digests: a one-character change flips
    // about half of the 256 digest bits.
    let a = ApiKey::parse(b"00000000000000000000000000000000")
        .unwrap()
        .digest();
    let b = ApiKey::parse(b"00000000000000000000000000000001")
        .unwrap()
        .digest();
    let differing: u32 = a
        .as_bytes()
        .iter()
        .zip(b.as_bytes())
        .map(|(x, y)| (x ^ y).count_ones())
        .sum();
    assert!(differing > 64, "{differing} bits differ");
}

/// AK02: a lookup finds one candidate by digest and checks only that one;
/// no per-key work runs over the whole store.
#[test]
fn ak02_lookup_checks_one_candidate() {
    assert_eq!(case("AK02")["kind"], "property");
    let wanted = ApiKey::generate();
    let mut records: Vec<KeyRecord> = (0..50_000)
        .map(|n| KeyRecord::new(format!("k{n}"), "bulk", ApiKey::generate().digest(), NOW))
        .collect();
    records.push(KeyRecord::new("wanted", "alice", wanted.digest(), NOW));
    let store = MemoryKeyStore::from_records(records).unwrap();

    for digest in [wanted.digest(), ApiKey::generate().digest()] {
        let mut visited = Vec::new();
        assert!(store.find_in_memory(&digest, &mut |record| visited.push(record.id.clone())));
        assert_eq!(visited.len(), 1);
    }
}

/// AK03: a credential with a stray trailing newline is malformed; the
/// crate never trims a secret.
#[tokio::test]
async fn ak03_trailing_newline_rejected() {
    let case = case("AK03");
    assert_eq!(case["expect"], "reject");
    let (_name, value) = case["header"].as_str().unwrap().split_once(": ").unwrap();
    assert!(value.ends_with('\n'));

    let (store, verifier, _clock) = memory_verifier();
    let key = ApiKey::generate();
    let stored_id = case["stored_key_id"].as_str().unwrap();
    store
        .insert(record(stored_id, "alice", &key))
        .await
        .unwrap();

    // The fixture's own value (another product's key format), and a valid
    // key of ours with the same stray newline.
    let with_newline = format!("{}\n", key.expose_secret());
    for value in [value.as_bytes(), with_newline.as_bytes()] {
        let error = verifier.verify(value).await.unwrap_err();
        assert_eq!(error.kind().as_str(), "api_key_invalid");
        assert_eq!(error.reason(), Some(InvalidReason::Malformed));
    }
    assert_eq!(
        verifier.verify(header(&key)).await.unwrap().key_id(),
        Some(stored_id)
    );
}

proptest! {
    #[test]
    fn parse_accepts_exactly_lower_hex_of_length_32(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        let expected = bytes.len() == 32
            && bytes.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b));
        match ApiKey::parse(&bytes) {
            Ok(key) => {
                prop_assert!(expected);
                prop_assert_eq!(key.expose_secret().as_bytes(), &bytes[..]);
            }
            Err(error) => {
                prop_assert!(!expected);
                prop_assert_eq!(error.reason(), Some(InvalidReason::Malformed));
            }
        }
    }

    #[test]
    fn parse_accepts_every_lower_hex_key(text in "[0-9a-f]{32}") {
        let key = ApiKey::parse(text.as_bytes()).unwrap();
        prop_assert_eq!(key.expose_secret(), text.as_str());
    }

    #[test]
    fn parse_rejects_any_upper_case_letter(text in "[0-9a-f]{31}", letter in "[A-F]", at in 0usize..32) {
        let mut value = text.clone();
        value.insert_str(at.min(value.len()), &letter);
        prop_assert_eq!(ApiKey::parse(value.as_bytes()).unwrap_err().reason(), Some(InvalidReason::Malformed));
    }
}
