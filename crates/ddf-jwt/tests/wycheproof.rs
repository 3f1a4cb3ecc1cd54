//! Wycheproof JOSE vectors (C2SP/wycheproof `testvectors_v1`, Apache-2.0,
//! copied with their licence into `tests/fixtures/wycheproof/`), run
//! through this crate's own JWK import and JWS verification.
//!
//! Vectors whose outcome differs from upstream, each for a stated reason,
//! are listed in [`DEVIATIONS`]; every other vector must match.

use std::collections::BTreeMap;
use std::path::Path;

use ddf_jwt::{Algorithm, JwksOptions, KeySet, verify_compact_jws};
use serde_json::Value;

/// (file, tcId, reason) of every vector whose outcome differs from upstream.
const DEVIATIONS: [(&str, u64, &str); 10] = [
    (
        "json_web_signature_test.json",
        372,
        "stricter: `?` in the header is not skipped by strict base64url",
    ),
    (
        "json_web_signature_test.json",
        373,
        "stricter: `?` in the payload is not skipped by strict base64url",
    ),
    (
        "json_web_signature_test.json",
        346,
        "stricter: PS384 token, JWK `alg` says PS256; a key verifies only its own alg",
    ),
    (
        "json_web_signature_test.json",
        350,
        "stricter: PS384 token, JWK `alg` says PS256; a key verifies only its own alg",
    ),
    (
        "json_web_signature_test.json",
        347,
        "unsupported: ES512 (P-521) is not offered",
    ),
    (
        "json_web_signature_test.json",
        351,
        "unsupported: ES512 (P-521) is not offered",
    ),
    (
        "json_web_signature_test.json",
        367,
        "vector data: this copy's token is byte-identical to valid tcId 357",
    ),
    (
        "json_web_signature_test.json",
        370,
        "vector data: this copy's token is byte-identical to valid tcId 357",
    ),
    (
        "json_web_key_test.json",
        4,
        "policy: up to 3 keys sharing a kid are each tried (a rotation mistake is not fatal)",
    ),
    (
        "json_web_key_test.json",
        7,
        "not implemented: ROCA-vulnerable moduli are not detected",
    ),
];

fn load(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/wycheproof")
        .join(name);
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Loads the group's verification key: the public JWK when given, else the
/// private one (symmetric groups), through the JWK importer. A JWK holding
/// private members is skipped by the importer, as it should be.
fn key_set(group: &Value) -> KeySet {
    let key = group
        .get("public")
        .or_else(|| group.get("private"))
        .unwrap();
    let document = if key.get("keys").is_some() {
        key.clone()
    } else {
        serde_json::json!({ "keys": [key] })
    };
    let options = JwksOptions {
        allow_symmetric_keys: true,
        ..JwksOptions::default()
    };
    KeySet::from_jwks_json_with(document.to_string(), &options)
        .map(|(keys, _)| keys)
        .unwrap_or_default()
}

/// Returns the header `alg` of a compact token, or the group comment.
fn label(jws: &str, group: &Value) -> String {
    jws.split('.')
        .next()
        .and_then(|header| {
            use base64::Engine as _;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(header)
                .ok()
        })
        .and_then(|header| serde_json::from_slice::<Value>(&header).ok())
        .and_then(|header| header["alg"].as_str().map(str::to_owned))
        .unwrap_or_else(|| group["comment"].as_str().unwrap_or("?").to_owned())
}

#[derive(Default, Debug)]
struct Tally {
    expected: u32,
    deviations: Vec<u64>,
    mismatches: Vec<u64>,
}

fn run(file: &str) -> BTreeMap<String, Tally> {
    let vectors = load(file);
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    for group in vectors["testGroups"].as_array().unwrap() {
        let keys = key_set(group);
        for test in group["tests"].as_array().unwrap() {
            let id = test["tcId"].as_u64().unwrap();
            let valid = test["result"] == "valid";
            let (accepted, name) = match &test["jws"] {
                Value::String(jws) => (
                    verify_compact_jws(jws, &keys, &Algorithm::ALL).is_ok(),
                    label(jws, group),
                ),
                // JSON (general or flattened) serialization is not accepted.
                _ => (false, "json-serialization".to_owned()),
            };
            let tally = tallies.entry(name).or_default();
            if accepted == valid {
                tally.expected += 1;
            } else if DEVIATIONS.iter().any(|(deviation_file, deviation_id, _)| {
                *deviation_file == file && *deviation_id == id
            }) {
                tally.deviations.push(id);
            } else {
                tally.mismatches.push(id);
            }
        }
    }
    tallies
}

fn report(file: &str, tallies: &BTreeMap<String, Tally>) -> (u32, Vec<u64>, Vec<u64>) {
    let mut expected = 0;
    let mut deviations = Vec::new();
    let mut mismatches = Vec::new();
    println!("{file}:");
    for (alg, tally) in tallies {
        println!(
            "  {alg:<20} {:>4} as expected, documented deviations {:?}, mismatches {:?}",
            tally.expected, tally.deviations, tally.mismatches
        );
        expected += tally.expected;
        deviations.extend(&tally.deviations);
        mismatches.extend(&tally.mismatches);
    }
    for (deviation_file, id, reason) in DEVIATIONS {
        if deviation_file == file && deviations.contains(&id) {
            println!("  tcId {id}: {reason}");
        }
    }
    deviations.sort_unstable();
    (expected, deviations, mismatches)
}

#[test]
fn a14_wycheproof_jws_vectors() {
    let tallies = run("json_web_signature_test.json");
    let (expected, deviations, mismatches) = report("json_web_signature_test.json", &tallies);
    assert!(mismatches.is_empty(), "mismatching tcIds: {mismatches:?}");
    assert_eq!(expected, 393);
    assert_eq!(deviations, [346, 347, 350, 351, 367, 370, 372, 373]);
}

#[test]
fn a13_wycheproof_jwk_vectors() {
    let tallies = run("json_web_key_test.json");
    let (expected, deviations, mismatches) = report("json_web_key_test.json", &tallies);
    assert!(mismatches.is_empty(), "mismatching tcIds: {mismatches:?}");
    assert_eq!(expected, 24);
    assert_eq!(deviations, [4, 7]);
}
