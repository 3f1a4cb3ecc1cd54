//! Catalog rows about the content of a JWKS document (J09 secret material,
//! J10 unusable entries, J11 duplicate key ids). Fetching and caching rows
//! are tested in `remote_*.rs`.

mod common;

use common::*;
use ddf_jwt::{Algorithm, ErrorKind, IssuerConfig, KeySet, SkipReason, StaticKeySource, Validator};
use ddf_rbac::ManualClock;
use serde_json::{Value, json};

fn skipped_reasons(document: &Value) -> Vec<(Option<String>, SkipReason)> {
    let (_, skipped) = KeySet::from_jwks_json(document.to_string()).unwrap();
    skipped
        .into_iter()
        .map(|entry| (entry.kid, entry.reason))
        .collect()
}

fn validator_for(document: &Value) -> Validator {
    let (source, _) = StaticKeySource::from_jwks_json(document.to_string()).unwrap();
    Validator::builder()
        .issuer(
            IssuerConfig::new(ISSUER, source)
                .audience(AUDIENCE)
                .algorithms([Algorithm::RS256, Algorithm::EdDSA, Algorithm::HS256]),
        )
        .clock(ManualClock::at_unix_seconds(NOW))
        .cache_capacity(0)
        .build()
        .unwrap()
}

#[test]
fn j09_private_and_symmetric_entries_never_usable() {
    let mut private_rsa = rsa().jwk.clone();
    private_rsa["kid"] = json!("rsa-private");
    private_rsa["d"] = json!("AQAB");
    private_rsa["p"] = json!("AQAB");
    private_rsa["q"] = json!("AQAB");
    let oct = json!({"kty": "oct", "kid": "hs-1", "k": b64(&HMAC_SECRET), "alg": "HS256"});
    let document = json!({"keys": [private_rsa, oct, ed25519().jwk]});

    let (set, skipped) = KeySet::from_jwks_json(document.to_string()).unwrap();
    assert_eq!(set.key_ids(), [ed25519().kid]);
    assert_eq!(skipped.len(), 2);
    assert_eq!(skipped[0].kid.as_deref(), Some("rsa-private"));
    assert_eq!(skipped[0].reason, SkipReason::PrivateKeyMaterial);
    assert_eq!(skipped[1].kid.as_deref(), Some("hs-1"));
    assert_eq!(skipped[1].reason, SkipReason::SymmetricKeyNotAllowed);

    // A token signed with the published HMAC secret finds no key.
    let validator = validator_for(&document);
    let forged = hs256().sign("HS256", &claims());
    assert_eq!(
        validator.validate_sync(&forged).unwrap_err().kind(),
        ErrorKind::KeyNotFound
    );
}

#[test]
fn j10_unusable_entries_skipped_individually() {
    let mut encryption = rsa().jwk.clone();
    encryption["kid"] = json!("rsa-enc");
    encryption["use"] = json!("enc");
    let mut sign_only_ops = rsa().jwk.clone();
    sign_only_ops["kid"] = json!("rsa-sign-ops");
    sign_only_ops["key_ops"] = json!(["sign"]);
    let mut broken_modulus = rsa().jwk.clone();
    broken_modulus["kid"] = json!("rsa-broken");
    broken_modulus["n"] = json!("not base64url!");
    let document = json!({"keys": [
        {"kty": "XYZ", "kid": "unknown-kty"},
        {"kty": "EC", "crv": "P-999", "kid": "unknown-crv", "x": "AA", "y": "AA"},
        encryption,
        sign_only_ops,
        broken_modulus,
        rsa().jwk,
    ]});

    let reasons = skipped_reasons(&document);
    let expected = [
        ("unknown-kty", SkipReason::UnsupportedKeyType),
        ("unknown-crv", SkipReason::UnsupportedCurve),
        ("rsa-enc", SkipReason::EncryptionKey),
        ("rsa-sign-ops", SkipReason::NotForVerification),
    ];
    for (kid, reason) in expected {
        assert!(
            reasons.contains(&(Some(kid.to_owned()), reason)),
            "{kid}: {reasons:?}"
        );
    }
    let broken = reasons
        .iter()
        .find(|(kid, _)| kid.as_deref() == Some("rsa-broken"))
        .expect("the malformed modulus is reported");
    assert!(
        matches!(
            broken.1,
            SkipReason::MalformedMember | SkipReason::InvalidKeyMaterial
        ),
        "{broken:?}"
    );
    assert_eq!(reasons.len(), 5);

    // The remaining key still verifies its tokens.
    let validator = validator_for(&document);
    let token = rsa().sign("RS256", &claims());
    assert_eq!(outcome(&validator, &token), "accepted");
}

#[test]
fn j11_duplicate_kid_tries_each_candidate() {
    // Policy: up to MAX_CANDIDATE_KEYS keys sharing the token's kid are each
    // tried, because providers keep the old and new key under one kid during
    // a rotation; only the key whose signature verifies is accepted.
    let mut impostor = ed25519().jwk.clone();
    impostor["kid"] = json!(rsa().kid);
    let document = json!({"keys": [impostor, rsa().jwk]});
    let validator = validator_for(&document);

    let token = rsa().sign("RS256", &claims());
    assert_eq!(outcome(&validator, &token), "accepted");

    let mut tampered = token.clone();
    // Change a character well inside the signature: the last one also
    // carries unused bits, and changing it could make the token malformed.
    let position = tampered.len() - 10;
    let replacement = if tampered.as_bytes()[position] == b'A' {
        "B"
    } else {
        "A"
    };
    tampered.replace_range(position..=position, replacement);
    assert_eq!(outcome(&validator, &tampered), "signature_invalid");
}

#[test]
fn j11_token_without_kid_and_several_keys_is_ambiguous() {
    let document = json!({"keys": [rsa().jwk, ed25519().jwk]});
    let validator = validator_for(&document);
    let header = json!({"alg": "RS256", "typ": "JWT"}).to_string();
    let token = rsa().sign_raw(&header, &claims().to_string());
    let mut second_rsa = rsa().jwk.clone();
    second_rsa["kid"] = json!("rsa-2");
    let two_rsa = validator_for(&json!({"keys": [rsa().jwk, second_rsa]}));
    assert_eq!(outcome(&validator, &token), "accepted");
    assert_eq!(outcome(&two_rsa, &token), "key_ambiguous");
}
