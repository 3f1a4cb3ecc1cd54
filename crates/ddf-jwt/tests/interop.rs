//! Tokens from an independent implementation (PyJWT with `cryptography`,
//! made by `tests/independent/gen_tokens.py`), the jsonwebtoken crypto
//! backend, and the verified-token cache.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::*;
use ddf_jwt::{Algorithm, ErrorKind, IssuerConfig, KeySet, StaticKeySource, Validator};
use ddf_rbac::ManualClock;
use serde_json::{Value, json};

fn independent() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/independent/tokens.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn independent_validator(fixture: &Value) -> Validator {
    let mut builder = KeySet::builder();
    for (kid, secret) in fixture["hmac_secrets"].as_object().unwrap() {
        let secret = base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            secret.as_str().unwrap(),
        )
        .unwrap();
        builder = builder.hmac_secret(Some(kid), &secret, &[]).unwrap();
    }
    let (builder, skipped) = builder
        .jwks_json(
            fixture["jwks"].to_string(),
            &ddf_jwt::JwksOptions::default(),
        )
        .unwrap();
    assert!(skipped.is_empty(), "{skipped:?}");
    Validator::builder()
        .issuer(
            IssuerConfig::new(
                fixture["issuer"].as_str().unwrap(),
                StaticKeySource::new(builder.build()),
            )
            .audience(fixture["audience"].as_str().unwrap())
            .algorithms(Algorithm::ALL),
        )
        .clock(ManualClock::at_unix_seconds(
            fixture["now"].as_u64().unwrap(),
        ))
        .build()
        .unwrap()
}

#[test]
fn independent_tokens_verify_for_every_algorithm() {
    let fixture = independent();
    let validator = independent_validator(&fixture);
    let mut verified_per_alg: BTreeMap<String, usize> = BTreeMap::new();
    for case in fixture["tokens"].as_array().unwrap() {
        let alg = case["alg"].as_str().unwrap();
        let token = case["token"].as_str().unwrap();
        let verified = validator
            .validate_sync(token)
            .unwrap_or_else(|error| panic!("{alg}: {error}"));
        assert_eq!(verified.alg().as_str(), alg);
        assert_eq!(
            verified.principal().subject(),
            format!("user-{}", alg.to_lowercase())
        );
        assert!(verified.principal().has_role("reader"));
        assert!(verified.principal().has_role("scope:orders:read"));
        *verified_per_alg.entry(alg.to_owned()).or_default() += 1;

        // One flipped payload bit breaks every signature.
        let (header, rest) = token.split_once('.').unwrap();
        let (payload, signature) = rest.split_once('.').unwrap();
        let mut tampered: Vec<u8> = payload.bytes().collect();
        tampered[10] = if tampered[10] == b'A' { b'B' } else { b'A' };
        let tampered = format!(
            "{header}.{}.{signature}",
            String::from_utf8(tampered).unwrap()
        );
        let error = validator.validate_sync(&tampered).unwrap_err();
        assert!(
            matches!(
                error.kind(),
                ErrorKind::SignatureInvalid | ErrorKind::TokenMalformed
            ),
            "{alg}: {error}"
        );
    }
    let expected: Vec<&str> = Algorithm::ALL.iter().map(|alg| alg.as_str()).collect();
    let mut algs: Vec<&str> = verified_per_alg.keys().map(String::as_str).collect();
    algs.sort_unstable();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort_unstable();
    assert_eq!(algs, expected_sorted);
}

/// jsonwebtoken 12 panics on first use when no crypto backend feature is
/// enabled; the workspace selects `aws_lc_rs`. This fails if a build ever
/// loses that selection.
#[test]
fn jsonwebtoken_backend_is_selected() {
    let key = jsonwebtoken::EncodingKey::from_secret(&HMAC_SECRET).unwrap();
    let token = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims(), &key).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_audience(&[AUDIENCE]);
    validation.validate_exp = false;
    let decoded = jsonwebtoken::decode::<Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_secret(&HMAC_SECRET).unwrap(),
        &validation,
    )
    .unwrap();
    assert_eq!(decoded.claims["sub"], "user-0001");

    // And our validator accepts what jsonwebtoken produced.
    let header = jsonwebtoken::Header {
        kid: Some("hs-1".into()),
        ..jsonwebtoken::Header::default()
    };
    let token = jsonwebtoken::encode(&header, &claims(), &key).unwrap();
    assert_eq!(outcome(&default_validator(), &token), "accepted");
}

fn cached_validator(source: std::sync::Arc<SwappableSource>, clock: ManualClock) -> Validator {
    Validator::builder()
        .issuer(
            IssuerConfig::with_shared_keys(ISSUER, source)
                .audience(AUDIENCE)
                .algorithms([Algorithm::EdDSA, Algorithm::RS256])
                .leeway_seconds(0),
        )
        .clock(clock)
        .cache_max_ttl(Duration::from_secs(3600))
        .build()
        .unwrap()
}

#[test]
fn cache_serves_repeat_tokens() {
    let source = SwappableSource::new(KeySet::from_jwks_json(jwks()).unwrap().0);
    let validator = cached_validator(source, ManualClock::at_unix_seconds(NOW));
    let token = ed25519().sign("EdDSA", &claims());
    let first = validator.validate_sync(&token).unwrap();
    let second = validator.validate_sync(&token).unwrap();
    assert_eq!(first.principal(), second.principal());
    assert_eq!(first.key_fingerprint(), second.key_fingerprint());
}

#[test]
fn cache_stops_serving_when_the_key_leaves_the_set() {
    let source = SwappableSource::new(KeySet::from_jwks_json(jwks()).unwrap().0);
    let validator = cached_validator(source.clone(), ManualClock::at_unix_seconds(NOW));
    let token = ed25519().sign("EdDSA", &claims());
    assert!(validator.validate_sync(&token).is_ok());

    // Same kid reloaded with the same material: still served.
    source.replace(KeySet::from_jwks_json(jwks()).unwrap().0);
    assert!(validator.validate_sync(&token).is_ok());

    // The Ed25519 key is removed: the cached result is dropped.
    source.replace(
        KeySet::from_jwks_json(json!({"keys": [rsa().jwk]}).to_string())
            .unwrap()
            .0,
    );
    assert_eq!(
        validator.validate_sync(&token).unwrap_err().kind(),
        ErrorKind::KeyNotFound
    );
}

#[test]
fn j18_cache_never_serves_past_expiry() {
    let source = SwappableSource::new(KeySet::from_jwks_json(jwks()).unwrap().0);
    let clock = ManualClock::at_unix_seconds(NOW);
    let validator = cached_validator(source, clock.clone());
    let token = ed25519().sign("EdDSA", &claims_with(&json!({"exp": NOW + 5})));
    assert!(validator.validate_sync(&token).is_ok());
    clock.advance(Duration::from_secs(5));
    assert_eq!(
        validator.validate_sync(&token).unwrap_err().kind(),
        ErrorKind::TokenExpired
    );
}

#[test]
fn j18_cache_is_keyed_by_policy() {
    // Two validators with different audiences share nothing; a token
    // accepted by one is still checked by the other.
    let source = SwappableSource::new(KeySet::from_jwks_json(jwks()).unwrap().0);
    let accepting = cached_validator(source.clone(), ManualClock::at_unix_seconds(NOW));
    let token = ed25519().sign("EdDSA", &claims());
    assert!(accepting.validate_sync(&token).is_ok());
    let other = Validator::builder()
        .issuer(
            IssuerConfig::with_shared_keys(ISSUER, source)
                .audience("other-api")
                .algorithms([Algorithm::EdDSA]),
        )
        .clock(ManualClock::at_unix_seconds(NOW))
        .build()
        .unwrap();
    assert_eq!(
        other.validate_sync(&token).unwrap_err().kind(),
        ErrorKind::AudienceMismatch
    );
}

#[test]
fn independent_pem_keys_verify_their_tokens() {
    let fixture = independent();
    for (alg, pem) in fixture["public_key_pems"].as_object().unwrap() {
        let source =
            StaticKeySource::from_pem(None, pem.as_str().unwrap().as_bytes(), &[]).unwrap();
        let validator = Validator::builder()
            .issuer(
                IssuerConfig::new(fixture["issuer"].as_str().unwrap(), source)
                    .audience(fixture["audience"].as_str().unwrap())
                    .algorithms(Algorithm::ASYMMETRIC),
            )
            .clock(ManualClock::at_unix_seconds(
                fixture["now"].as_u64().unwrap(),
            ))
            .build()
            .unwrap();
        let case = fixture["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .find(|case| case["alg"] == alg.as_str())
            .unwrap();
        let verified = validator.validate_sync(case["token"].as_str().unwrap());
        assert!(verified.is_ok(), "{alg}: {:?}", verified.err());
    }
}

#[test]
fn pem_public_keys_load() {
    let pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";
    let source = StaticKeySource::from_pem(Some("ed-pem"), pem.as_bytes(), &[]).unwrap();
    let keys = source.keys();
    assert_eq!(keys.key_ids(), ["ed-pem"]);
    assert_eq!(keys.keys()[0].algorithms(), [Algorithm::EdDSA]);
    let error = StaticKeySource::from_pem(None, b"not a pem", &[]).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::KeyInvalid);
    let error = StaticKeySource::from_pem(None, pem.as_bytes(), &[Algorithm::RS256]).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::KeyInvalid);
}
