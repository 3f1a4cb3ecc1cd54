//! One test per row of the token-parsing (P), signature/algorithm (A) and
//! claims (C) attack catalog, named after the row id. Rows covered
//! elsewhere: A13/A14 (Wycheproof JWK/JWS vectors in `wycheproof.rs`, A13
//! also here), P14 (property tests in `proptest.rs` and the fuzz targets).

mod common;

use std::net::TcpListener;
use std::sync::Arc;

use common::*;
use ddf_jwt::{
    Algorithm, ErrorKind, IssuerConfig, JwksOptions, KeySet, MalformedReason, Profile, SkipReason,
    StaticKeySource, UnverifiedToken, Validator,
};
use ddf_rbac::ManualClock;
use serde_json::{Value, json};

fn malformed_reason(validator: &Validator, token: &str) -> Option<MalformedReason> {
    validator
        .validate_sync(token)
        .unwrap_err()
        .malformed_reason()
}

fn valid_token() -> String {
    rsa().sign("RS256", &claims())
}

#[test]
fn baseline_token_is_accepted() {
    assert_eq!(outcome(&default_validator(), &valid_token()), "accepted");
}

#[test]
fn p01_wrong_segment_counts_rejected() {
    let validator = default_validator();
    let token = valid_token();
    let parts: Vec<&str> = token.split('.').collect();
    let cases = [
        String::new(),
        ".".to_owned(),
        "..".to_owned(),
        parts[0].to_owned(),
        format!("{}.{}", parts[0], parts[1]),
        format!("{token}."),
        format!("{token}.{}", parts[2]),
        format!("{token}.{}.{}", parts[1], parts[2]),
        format!(".{}.{}", parts[1], parts[2]),
        format!("{}..{}", parts[0], parts[2]),
    ];
    for case in cases {
        assert_eq!(
            malformed_reason(&validator, &case),
            Some(MalformedReason::Structure),
            "{case:?}"
        );
    }
}

#[test]
fn p02_dot_flood_rejected() {
    let validator = default_validator();
    let dots = ".".repeat(100_000);
    assert_eq!(
        malformed_reason(&validator, &dots),
        Some(MalformedReason::TooLarge)
    );
    let mebibyte = "a".repeat(1 << 20);
    assert_eq!(
        malformed_reason(&validator, &mebibyte),
        Some(MalformedReason::TooLarge)
    );
    let header_like = format!("Bearer {}", ".".repeat(64 * 1024));
    assert_eq!(
        malformed_reason(&validator, &header_like),
        Some(MalformedReason::TooLarge)
    );

    // With the cap raised, the dots still fail as structure, not by splitting
    // them all.
    let generous = Validator::builder()
        .issuer(issuer())
        .max_token_bytes(1 << 21)
        .build()
        .unwrap();
    assert_eq!(
        malformed_reason(&generous, &dots),
        Some(MalformedReason::Structure)
    );
}

#[test]
fn p02_cap_is_configurable_and_exact() {
    let token = valid_token();
    let exact = Validator::builder()
        .issuer(issuer())
        .clock(ManualClock::at_unix_seconds(NOW))
        .max_token_bytes(token.len())
        .build()
        .unwrap();
    assert_eq!(outcome(&exact, &token), "accepted");
    let smaller = Validator::builder()
        .issuer(issuer())
        .max_token_bytes(token.len() - 1)
        .build()
        .unwrap();
    assert_eq!(
        malformed_reason(&smaller, &token),
        Some(MalformedReason::TooLarge)
    );
}

#[test]
fn p03_non_url_alphabet_rejected() {
    let validator = default_validator();
    let token = valid_token();
    let first_dot = token.find('.').unwrap();
    for bad in ["+", "/", "=", " ", "\t", "?", "#", "é", "\n"] {
        for position in [3, first_dot + 4, token.len() - 2] {
            let mut case = token.clone();
            case.replace_range(position..=position, bad);
            assert_eq!(
                malformed_reason(&validator, &case),
                Some(MalformedReason::Base64),
                "{bad:?} at {position}"
            );
        }
    }
}

#[test]
fn p04_non_canonical_base64_rejected() {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let validator = default_validator();
    // "a" encodes as "YQ"; "YR" decodes to the same byte with a non-zero
    // unused bit.
    let header = b64(br#"{"alg":"HS256","kid":"hs-1"}"#);
    let payload = b64(claims().to_string().as_bytes());
    let signed = hs256().sign_raw(r#"{"alg":"HS256","kid":"hs-1"}"#, &claims().to_string());
    assert_eq!(outcome(&validator, &signed), "accepted");
    assert!(signed.starts_with(&format!("{header}.{payload}")));
    let signature = signed.rsplit('.').next().unwrap();
    // The 32-byte MAC encodes to 43 characters, leaving the 2 low bits of
    // the last character unused; setting the lowest one changes no data.
    let last = signature.chars().last().unwrap();
    let index = ALPHABET.find(last).unwrap();
    let flipped = ALPHABET.as_bytes()[index ^ 1] as char;
    let mut tweaked = signed.clone();
    tweaked.pop();
    tweaked.push(flipped);
    assert_eq!(
        validator.validate_sync(&tweaked).unwrap_err().kind(),
        ErrorKind::TokenMalformed
    );

    // A segment of length 1 (mod 4) is never valid base64url.
    let case = format!("{header}.{payload}A.{signature}");
    let reason = malformed_reason(&validator, &case);
    assert_eq!(reason, Some(MalformedReason::Base64));
}

#[test]
fn p05_json_serialization_rejected() {
    let validator = default_validator();
    let token = valid_token();
    let parts: Vec<&str> = token.split('.').collect();
    let flattened =
        json!({"protected": parts[0], "payload": parts[1], "signature": parts[2]}).to_string();
    assert_eq!(
        validator.validate_sync(&flattened).unwrap_err().kind(),
        ErrorKind::TokenMalformed
    );
    let general = json!({"payload": parts[1], "signatures": [{"protected": parts[0], "signature": parts[2]}]}).to_string();
    assert_eq!(
        validator.validate_sync(&general).unwrap_err().kind(),
        ErrorKind::TokenMalformed
    );
}

#[test]
fn p06_header_not_a_json_object_rejected() {
    let validator = default_validator();
    let payload = b64(claims().to_string().as_bytes());
    let headers: [&[u8]; 9] = [
        b"[]",
        b"\"RS256\"",
        b"1",
        b"null",
        b"{\"alg\":\"RS256\"",
        b"{\"alg\":\"RS256\"} {}",
        b"{\"alg\":\"RS256\xff\"}",
        b"\xff\xfe{\x00\"\x00a\x00\"\x00:\x001\x00}\x00",
        b"\xef\xbb\xbf{\"alg\":\"RS256\"}",
    ];
    for header in headers {
        let token = format!("{}.{payload}.c2ln", b64(header));
        assert_eq!(
            validator.validate_sync(&token).unwrap_err().kind(),
            ErrorKind::TokenMalformed,
            "{header:?}"
        );
    }
}

#[test]
fn p07_duplicate_members_rejected() {
    let validator = default_validator();
    let payload = claims().to_string();
    for header in [
        r#"{"alg":"RS256","alg":"none","kid":"rsa-1"}"#,
        r#"{"alg":"RS256","kid":"rsa-1","kid":"other"}"#,
    ] {
        let token = rsa().sign_raw(header, &payload);
        assert_eq!(
            malformed_reason(&validator, &token),
            Some(MalformedReason::DuplicateMember)
        );
    }
    let header = r#"{"alg":"RS256","kid":"rsa-1"}"#;
    for payload in [
        format!(
            r#"{{"sub":"a","sub":"b","iss":"{ISSUER}","aud":"{AUDIENCE}","exp":{}}}"#,
            NOW + 300
        ),
        format!(
            r#"{{"sub":"a","iss":"{ISSUER}","aud":"{AUDIENCE}","exp":{},"exp":1}}"#,
            NOW + 300
        ),
        format!(
            r#"{{"sub":"a","iss":"{ISSUER}","aud":"{AUDIENCE}","exp":{},"x":{{"y":1,"y":2}}}}"#,
            NOW + 300
        ),
    ] {
        let token = rsa().sign_raw(header, &payload);
        assert_eq!(
            malformed_reason(&validator, &token),
            Some(MalformedReason::DuplicateMember)
        );
    }
}

#[test]
fn p08_deep_nesting_and_large_payloads_are_bounded() {
    let validator = Validator::builder()
        .issuer(issuer())
        .clock(ManualClock::at_unix_seconds(NOW))
        .max_token_bytes(1 << 20)
        .build()
        .unwrap();
    let header = r#"{"alg":"RS256","kid":"rsa-1"}"#;

    let nested = format!(
        r#"{{"sub":"a","iss":"{ISSUER}","aud":"{AUDIENCE}","exp":{},"x":{}{}}}"#,
        NOW + 300,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let token = rsa().sign_raw(header, &nested);
    assert_eq!(
        malformed_reason(&validator, &token),
        Some(MalformedReason::NestingTooDeep)
    );

    let mut many = claims();
    for index in 0..20_000 {
        many[format!("c{index}")] = json!(0);
    }
    let token = rsa().sign_raw(header, &many.to_string());
    assert_eq!(outcome(&validator, &token), "accepted");

    assert_eq!(
        validator.validate_sync(&token).unwrap().claims().len(),
        20_006
    );

    let long = claims_with(&json!({"note": "x".repeat(12 * 1024)}));
    let token = rsa().sign_raw(header, &long.to_string());
    assert_eq!(outcome(&validator, &token), "accepted");
}

#[test]
fn p09_crit_rejected() {
    let validator = default_validator();
    for crit in [
        json!(["x-ext"]),
        json!([]),
        json!("x"),
        json!(["exp"]),
        json!(["b64"]),
    ] {
        let header = json!({"alg": "RS256", "kid": "rsa-1", "crit": crit}).to_string();
        let token = rsa().sign_raw(&header, &claims().to_string());
        assert_eq!(outcome(&validator, &token), "crit_unsupported", "{crit}");
    }
}

#[test]
fn p10_unencoded_payload_rejected() {
    let validator = default_validator();
    let header = r#"{"alg":"RS256","kid":"rsa-1","b64":false}"#;
    let token = rsa().sign_raw(header, &claims().to_string());
    assert_eq!(
        malformed_reason(&validator, &token),
        Some(MalformedReason::UnsupportedHeader)
    );
    let header = r#"{"alg":"RS256","kid":"rsa-1","b64":false,"crit":["b64"]}"#;
    let token = rsa().sign_raw(header, &claims().to_string());
    assert_eq!(outcome(&validator, &token), "crit_unsupported");
}

#[test]
fn p11_jwe_rejected() {
    let validator = default_validator();
    let five = format!("{}.a.b.c.d", b64(br#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#));
    assert_eq!(
        malformed_reason(&validator, &five),
        Some(MalformedReason::Structure)
    );
    let header = r#"{"alg":"RS256","kid":"rsa-1","enc":"A256GCM"}"#;
    let token = rsa().sign_raw(header, &claims().to_string());
    assert_eq!(
        malformed_reason(&validator, &token),
        Some(MalformedReason::UnsupportedHeader)
    );
}

#[test]
fn p12_zip_nested_and_pbes2_headers_rejected() {
    let validator = default_validator();
    for header in [
        r#"{"alg":"RS256","kid":"rsa-1","zip":"DEF"}"#,
        r#"{"alg":"RS256","kid":"rsa-1","cty":"JWT"}"#,
        r#"{"alg":"RS256","kid":"rsa-1","p2c":1000000}"#,
    ] {
        let token = rsa().sign_raw(header, &claims().to_string());
        assert_eq!(
            malformed_reason(&validator, &token),
            Some(MalformedReason::UnsupportedHeader),
            "{header}"
        );
    }
}

#[test]
fn p13_claims_not_an_object_rejected() {
    let validator = default_validator();
    let header = r#"{"alg":"RS256","kid":"rsa-1"}"#;
    for payload in ["null", "[]", "\"x\"", "123"] {
        let token = rsa().sign_raw(header, payload);
        assert_eq!(
            malformed_reason(&validator, &token),
            Some(MalformedReason::NotAnObject),
            "{payload}"
        );
    }
    let token = rsa().sign_raw(header, "");
    assert_eq!(
        malformed_reason(&validator, &token),
        Some(MalformedReason::Structure)
    );
}

#[test]
fn a01_alg_none_rejected_in_every_spelling() {
    let validator = default_validator();
    let payload = b64(claims().to_string().as_bytes());
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = b64(json!({"alg": alg, "kid": "rsa-1"}).to_string().as_bytes());
        for signature in ["", "c2lnbmF0dXJl"] {
            let token = format!("{header}.{payload}.{signature}");
            assert_eq!(
                outcome(&validator, &token),
                "alg_not_allowed",
                "{alg} {signature:?}"
            );
        }
        assert_eq!(Algorithm::from_name(alg), None);
        assert!(alg.parse::<Algorithm>().is_err());
    }
}

#[test]
fn a02_public_key_as_hmac_secret_rejected() {
    // The attacker MACs with the public key's bytes in several encodings.
    let rsa_jwk = rsa().jwk.to_string();
    let n = rsa().jwk["n"].as_str().unwrap().to_owned();
    let secrets: Vec<Vec<u8>> = vec![rsa_jwk.into_bytes(), n.into_bytes(), jwks().into_bytes()];
    let header = json!({"alg": "HS256", "kid": "rsa-1"}).to_string();
    let asymmetric_only = validator(
        IssuerConfig::new(ISSUER, StaticKeySource::from_jwks_json(jwks()).unwrap().0)
            .audience(AUDIENCE)
            .algorithms([Algorithm::RS256]),
    );
    // Even an issuer that allows HS256 has no HMAC key from a JWKS.
    let hs_allowed = validator(
        IssuerConfig::new(ISSUER, StaticKeySource::from_jwks_json(jwks()).unwrap().0)
            .audience(AUDIENCE)
            .algorithms([Algorithm::RS256, Algorithm::HS256]),
    );
    for secret in secrets {
        let input = format!(
            "{}.{}",
            b64(header.as_bytes()),
            b64(claims().to_string().as_bytes())
        );
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret);
        let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
        let token = format!("{input}.{}", b64(tag.as_ref()));
        assert_eq!(outcome(&asymmetric_only, &token), "alg_not_allowed");
        assert_eq!(outcome(&hs_allowed, &token), "key_not_found");
    }
}

#[test]
fn a03_alg_outside_allow_list_rejected() {
    let validator = validator(issuer().algorithms([Algorithm::RS256]));
    let claims = claims().to_string();
    for (header, expected) in [
        (r#"{"alg":"RS384","kid":"rsa-1"}"#, "alg_not_allowed"),
        (r#"{"alg":"PS256","kid":"rsa-1"}"#, "alg_not_allowed"),
        (r#"{"alg":"ES256K","kid":"rsa-1"}"#, "alg_not_allowed"),
        (r#"{"alg":"XYZ","kid":"rsa-1"}"#, "alg_not_allowed"),
        (r#"{"kid":"rsa-1"}"#, "alg_not_allowed"),
        (r#"{"alg":256,"kid":"rsa-1"}"#, "token_malformed"),
        (r#"{"alg":["RS256"],"kid":"rsa-1"}"#, "token_malformed"),
    ] {
        let token = rsa().sign_raw(header, &claims);
        assert_eq!(outcome(&validator, &token), expected, "{header}");
    }
}

#[test]
fn a03_empty_allow_list_is_a_configuration_error() {
    let result = Validator::builder().issuer(issuer().algorithms([])).build();
    assert_eq!(result.unwrap_err().kind(), ErrorKind::ConfigInvalid);
}

#[test]
fn a04_alg_and_key_type_must_agree() {
    let mut ec_jwk = es256().jwk.clone();
    ec_jwk["kid"] = json!("rsa-1");
    let mut rs_only = rsa().jwk.clone();
    rs_only["alg"] = json!("RS256");
    let set = |keys: Vec<Value>| {
        let (set, _) = KeySet::from_jwks_json(json!({ "keys": keys }).to_string()).unwrap();
        StaticKeySource::new(set)
    };
    let all = [
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::ES384,
    ];

    // ES256 token whose kid names an RSA key.
    let validator_a = validator(
        IssuerConfig::new(ISSUER, set(vec![rsa().jwk.clone()]))
            .audience(AUDIENCE)
            .algorithms(all),
    );
    let token = es256().sign_raw(r#"{"alg":"ES256","kid":"rsa-1"}"#, &claims().to_string());
    assert_eq!(outcome(&validator_a, &token), "key_not_found");

    // JWK alg RS256, token PS256.
    let validator_b = validator(
        IssuerConfig::new(ISSUER, set(vec![rs_only]))
            .audience(AUDIENCE)
            .algorithms(all),
    );
    let header = r#"{"alg":"PS256","kid":"rsa-1"}"#;
    let input = format!(
        "{}.{}",
        b64(header.as_bytes()),
        b64(claims().to_string().as_bytes())
    );
    let token = format!(
        "{input}.{}",
        b64(&rsa_sign_with(
            &aws_lc_rs::signature::RSA_PSS_SHA256,
            input.as_bytes()
        ))
    );
    assert_eq!(outcome(&validator_b, &token), "key_not_found");

    // A P-256 point declared as P-384 is rejected at import; ES256 then finds no key.
    let mut p384 = es256().jwk.clone();
    p384["crv"] = json!("P-384");
    let (empty, skipped) = KeySet::from_jwks_json(json!({ "keys": [p384] }).to_string()).unwrap();
    assert!(empty.is_empty());
    assert_eq!(skipped[0].reason, SkipReason::MalformedMember);

    // use: enc, and key_ops without verify.
    let mut enc = es256().jwk.clone();
    enc["use"] = json!("enc");
    let mut ops = es256().jwk.clone();
    ops["key_ops"] = json!(["encrypt"]);
    for (jwk, reason) in [
        (enc, SkipReason::EncryptionKey),
        (ops, SkipReason::NotForVerification),
    ] {
        let (keys, skipped) = KeySet::from_jwks_json(json!({ "keys": [jwk] }).to_string()).unwrap();
        assert!(keys.is_empty());
        assert_eq!(skipped[0].reason, reason);
        let validator = validator(
            IssuerConfig::new(ISSUER, StaticKeySource::new(keys))
                .audience(AUDIENCE)
                .algorithms(all),
        );
        assert_eq!(
            outcome(&validator, &es256().sign("ES256", &claims())),
            "key_not_found"
        );
    }
}

#[test]
fn a05_ecdsa_signature_encodings_rejected() {
    let validator = default_validator();
    let token = es256().sign("ES256", &claims());
    assert_eq!(outcome(&validator, &token), "accepted");
    let (input, signature) = token.rsplit_once('.').unwrap();
    let raw = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature)
        .unwrap();
    assert_eq!(raw.len(), 64);

    let n: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63,
        0x25, 0x51,
    ];
    let mut der = vec![0x30, 0x44, 0x02, 0x20];
    der.extend_from_slice(&raw[..32]);
    der.extend_from_slice(&[0x02, 0x20]);
    der.extend_from_slice(&raw[32..]);
    let mut with_zero = raw.clone();
    with_zero.push(0);
    let mut r_is_n = n.to_vec();
    r_is_n.extend_from_slice(&raw[32..]);
    let mut one_one = vec![0_u8; 64];
    one_one[31] = 1;
    one_one[63] = 1;
    let cases: Vec<Vec<u8>> = vec![
        der,
        raw[..63].to_vec(),
        with_zero,
        vec![0; 64],
        r_is_n,
        one_one,
    ];
    for case in cases {
        let token = format!("{input}.{}", b64(&case));
        assert_eq!(
            outcome(&validator, &token),
            "signature_invalid",
            "{} bytes",
            case.len()
        );
    }
}

#[test]
fn a06_rsa_signature_length_must_equal_modulus() {
    let validator = default_validator();
    let token = valid_token();
    let (input, signature) = token.rsplit_once('.').unwrap();
    let raw = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature)
        .unwrap();
    let mut longer = vec![0];
    longer.extend_from_slice(&raw);
    let mut flipped = raw.clone();
    flipped[100] ^= 1;
    for case in [raw[1..].to_vec(), longer, flipped, vec![0xff; 256]] {
        let token = format!("{input}.{}", b64(&case));
        assert_eq!(outcome(&validator, &token), "signature_invalid");
    }
}

#[test]
fn a07_pss_signature_checked_with_the_named_hash() {
    let validator =
        validator(issuer().algorithms([Algorithm::PS256, Algorithm::PS384, Algorithm::RS256]));
    let header = r#"{"alg":"PS384","kid":"rsa-1"}"#;
    let input = format!(
        "{}.{}",
        b64(header.as_bytes()),
        b64(claims().to_string().as_bytes())
    );
    // Signed with PSS-SHA256 but labelled PS384: MGF1 and hash differ.
    let signature = rsa_sign_with(&aws_lc_rs::signature::RSA_PSS_SHA256, input.as_bytes());
    let token = format!("{input}.{}", b64(&signature));
    // The kid names the first test key; this signature is from another key
    // pair, so use a key set holding that pair's public key instead.
    assert_eq!(outcome(&validator, &token), "signature_invalid");
}

#[test]
fn a08_eddsa_signature_lengths_rejected() {
    let validator = default_validator();
    let token = ed25519().sign("EdDSA", &claims());
    assert_eq!(outcome(&validator, &token), "accepted");
    let (input, signature) = token.rsplit_once('.').unwrap();
    let raw = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature)
        .unwrap();
    let mut padded = raw.clone();
    padded.push(0);
    let mut high_s = raw.clone();
    high_s[63] |= 0xe0;
    for case in [raw[..63].to_vec(), padded, high_s] {
        let token = format!("{input}.{}", b64(&case));
        assert_eq!(outcome(&validator, &token), "signature_invalid");
    }
    let mut short_key = ed25519().jwk.clone();
    short_key["x"] = json!(b64(&[1_u8; 31]));
    let (keys, skipped) =
        KeySet::from_jwks_json(json!({ "keys": [short_key] }).to_string()).unwrap();
    assert!(keys.is_empty());
    assert_eq!(skipped[0].reason, SkipReason::MalformedMember);
}

#[test]
fn a09_hmac_tags_and_secrets_checked() {
    let validator = default_validator();
    let token = hs256().sign("HS256", &claims());
    assert_eq!(outcome(&validator, &token), "accepted");
    let (input, signature) = token.rsplit_once('.').unwrap();
    let raw = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature)
        .unwrap();
    let mut long = raw.clone();
    long.push(0);
    for case in [raw[..16].to_vec(), long, Vec::new()] {
        let token = format!("{input}.{}", b64(&case));
        assert_eq!(outcome(&validator, &token), "signature_invalid");
    }
    for (secret, alg) in [
        (vec![1_u8; 31], Algorithm::HS256),
        (vec![1_u8; 47], Algorithm::HS384),
        (Vec::new(), Algorithm::HS256),
    ] {
        let error = KeySet::builder()
            .hmac_secret(None, &secret, &[alg])
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::KeyInvalid);
    }
    let error = KeySet::builder()
        .hmac_secret(None, &[1_u8; 32], &[Algorithm::RS256])
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::KeyInvalid);
}

#[test]
fn a10_header_supplied_keys_never_used_or_fetched() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let validator = default_validator();

    // A token signed by the attacker's own key, which it embeds or points at.
    let attacker = aws_lc_rs::signature::Ed25519KeyPair::generate().unwrap();
    let attacker_x = b64(aws_lc_rs::signature::KeyPair::public_key(&attacker).as_ref());
    let headers = [
        json!({"alg": "EdDSA", "kid": "ed-1", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": attacker_x}}),
        json!({"alg": "EdDSA", "kid": "attacker", "jku": url}),
        json!({"alg": "EdDSA", "kid": "attacker", "x5u": url}),
        json!({"alg": "EdDSA", "kid": "attacker", "x5c": ["MIIB"]}),
    ];
    for header in headers {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims().to_string().as_bytes())
        );
        let token = format!("{input}.{}", b64(attacker.sign(input.as_bytes()).as_ref()));
        let outcome = outcome(&validator, &token);
        assert!(
            outcome == "signature_invalid" || outcome == "key_not_found",
            "{header}: {outcome}"
        );
    }
    assert!(
        listener.accept().is_err(),
        "the validator connected to a header URL"
    );
}

#[test]
fn a11_kid_is_attacker_input() {
    let validator = default_validator();
    let long_kid = "k".repeat(10 * 1024);
    for kid in [
        "../../dev/null",
        "x' OR '1'='1",
        long_kid.as_str(),
        "a\u{0}b",
        "a\nb",
    ] {
        let header = json!({"alg": "RS256", "kid": kid}).to_string();
        let token = rsa().sign_raw(&header, &claims().to_string());
        let error = validator.validate_sync(&token).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::KeyNotFound);
        assert!(
            error.to_string().len() < 300,
            "kid is shortened in messages"
        );
    }
    for kid in [json!(1), json!({}), json!([]), json!(null)] {
        let header = json!({"alg": "RS256", "kid": kid}).to_string();
        let token = rsa().sign_raw(&header, &claims().to_string());
        assert_eq!(
            malformed_reason(&validator, &token),
            Some(MalformedReason::HeaderMemberType)
        );
    }

    // No kid while two keys allow the algorithm.
    let two = KeySet::builder()
        .hmac_secret(Some("a"), &[1; 32], &[Algorithm::HS256])
        .unwrap()
        .hmac_secret(Some("b"), &[2; 32], &[Algorithm::HS256])
        .unwrap()
        .build();
    let ambiguous = common::validator(
        IssuerConfig::new(ISSUER, StaticKeySource::new(two))
            .audience(AUDIENCE)
            .algorithms([Algorithm::HS256]),
    );
    let token = hs256().sign_raw(r#"{"alg":"HS256"}"#, &claims().to_string());
    assert_eq!(outcome(&ambiguous, &token), "key_ambiguous");
}

#[test]
fn a12_signature_checked_before_claims() {
    let validator = default_validator();
    let expired = rsa().sign("RS256", &claims_with(&json!({"exp": NOW - 3600})));
    let wrong_issuer = rsa().sign(
        "RS256",
        &claims_with(&json!({"iss": "https://evil.example.test"})),
    );
    for token in [expired, wrong_issuer] {
        let (input, _) = token.rsplit_once('.').unwrap();
        let forged = format!("{input}.{}", b64(&[7_u8; 256]));
        assert_eq!(outcome(&validator, &forged), "signature_invalid");
        assert_ne!(outcome(&validator, &token), "accepted");
    }
}

#[test]
fn a13_weak_or_hostile_keys_skipped() {
    let rsa_jwk =
        |n: Vec<u8>, e: &[u8]| json!({"kty": "RSA", "kid": "k", "n": b64(&n), "e": b64(e)});
    let mut n2048 = vec![0xc1_u8; 256];
    n2048[255] |= 1;
    let cases = [
        (rsa_jwk(vec![0xc1; 128], &[1, 0, 1]), SkipReason::WeakRsaKey),
        (rsa_jwk(vec![0xc1; 255], &[1, 0, 1]), SkipReason::WeakRsaKey),
        (
            rsa_jwk(vec![0xc1; 1025], &[1, 0, 1]),
            SkipReason::RsaKeyTooLarge,
        ),
        (rsa_jwk(n2048.clone(), &[1]), SkipReason::InvalidRsaExponent),
        (
            rsa_jwk(n2048.clone(), &[1, 0, 0]),
            SkipReason::InvalidRsaExponent,
        ),
        (
            rsa_jwk(n2048, &[1, 0, 0, 0, 1]),
            SkipReason::InvalidRsaExponent,
        ),
        (
            json!({"kty": "EC", "crv": "P-256", "x": b64(&[1; 32]), "y": b64(&[2; 32])}),
            SkipReason::InvalidKeyMaterial,
        ),
        (
            json!({"kty": "EC", "crv": "P-256", "x": b64(&[0; 32]), "y": b64(&[0; 32])}),
            SkipReason::InvalidKeyMaterial,
        ),
        (
            json!({"kty": "RSA", "n": rsa().jwk["n"], "e": "AQAB", "d": "AQAB"}),
            SkipReason::PrivateKeyMaterial,
        ),
        (
            json!({"kty": "oct", "k": b64(&[1; 32])}),
            SkipReason::SymmetricKeyNotAllowed,
        ),
    ];
    for (jwk, reason) in cases {
        let (keys, skipped) = KeySet::from_jwks_json(json!({ "keys": [jwk] }).to_string()).unwrap();
        assert!(keys.is_empty(), "{jwk}");
        assert_eq!(skipped[0].reason, reason, "{jwk}");
    }
}

#[test]
fn c01_missing_exp_rejected() {
    let validator = default_validator();
    let token = rsa().sign("RS256", &claims_with(&json!({"exp": null})));
    assert_eq!(outcome(&validator, &token), "claim_missing");
}

#[test]
fn c02_exp_boundary_with_leeway() {
    let validator = validator(issuer().leeway_seconds(60));
    let expired = rsa().sign("RS256", &claims_with(&json!({"exp": NOW - 60})));
    assert_eq!(outcome(&validator, &expired), "token_expired");
    let inside = rsa().sign("RS256", &claims_with(&json!({"exp": NOW - 59})));
    assert_eq!(outcome(&validator, &inside), "accepted");
}

#[test]
fn c02_leeway_above_maximum_is_a_configuration_error() {
    let result = Validator::builder()
        .issuer(issuer().leeway_seconds(301))
        .build();
    assert_eq!(result.unwrap_err().kind(), ErrorKind::ConfigInvalid);
}

#[test]
fn c03_nbf_boundary_with_leeway() {
    let validator = validator(issuer().leeway_seconds(60));
    let early = rsa().sign("RS256", &claims_with(&json!({"nbf": NOW + 61})));
    assert_eq!(outcome(&validator, &early), "token_not_yet_valid");
    let edge = rsa().sign("RS256", &claims_with(&json!({"nbf": NOW + 60})));
    assert_eq!(outcome(&validator, &edge), "accepted");
}

#[test]
fn c04_iat_in_future_rejected() {
    let validator = validator(issuer().leeway_seconds(60));
    let token = rsa().sign("RS256", &claims_with(&json!({"iat": NOW + 61})));
    assert_eq!(outcome(&validator, &token), "token_issued_in_future");
    let token = rsa().sign("RS256", &claims_with(&json!({"iat": NOW + 60})));
    assert_eq!(outcome(&validator, &token), "accepted");
}

#[test]
fn c05_wrongly_typed_claims_malformed_even_when_unchecked() {
    let lenient = validator(issuer().require_expiration(false));
    for name in ["exp", "nbf", "iat"] {
        for value in [
            json!("9999999999"),
            json!("never"),
            json!(true),
            json!(null),
            json!([]),
            json!({}),
        ] {
            let mut claims = claims();
            claims[name] = value.clone();
            let token = rsa().sign("RS256", &claims);
            assert_eq!(
                outcome(&lenient, &token),
                "claim_malformed",
                "{name}: {value}"
            );
        }
    }
    let validator = default_validator();
    for (changes, expected) in [
        (json!({"sub": 7}), "claim_malformed"),
        (json!({"sub": ["user-0001"]}), "claim_malformed"),
        (json!({"iss": 7}), "issuer_mismatch"),
        (json!({"aud": 7}), "claim_malformed"),
        (json!({"aud": {"x": AUDIENCE}}), "claim_malformed"),
        (json!({"aud": [[AUDIENCE]]}), "claim_malformed"),
    ] {
        let token = rsa().sign("RS256", &claims_with(&changes));
        assert_eq!(outcome(&validator, &token), expected, "{changes}");
    }
}

#[test]
fn c06_numeric_date_extremes_are_deterministic() {
    let validator = default_validator();
    for (exp, expected) in [
        (json!(1e308), "claim_malformed"),
        (json!(-1), "claim_malformed"),
        (json!(9_223_372_036_854_775_808_u64), "claim_malformed"),
        (json!(0), "token_expired"),
        (json!(1.5), "token_expired"),
        (json!(1e-7), "token_expired"),
        (json!(NOW as f64 + 0.5), "accepted"),
    ] {
        let token = rsa().sign("RS256", &claims_with(&json!({ "exp": exp })));
        assert_eq!(outcome(&validator, &token), expected, "exp {exp}");
    }
}

#[test]
fn c07_issuer_compared_exactly() {
    let validator = default_validator();
    for iss in [
        json!(format!("{ISSUER}b")),
        json!(format!("{ISSUER}/")),
        json!(ISSUER.replace("sso.example", "SSO.example")),
        json!("https"),
        json!([ISSUER]),
    ] {
        let token = rsa().sign("RS256", &claims_with(&json!({ "iss": iss })));
        assert_eq!(outcome(&validator, &token), "issuer_mismatch", "{iss}");
    }
    let token = rsa().sign("RS256", &claims_with(&json!({ "iss": null })));
    assert_eq!(outcome(&validator, &token), "claim_missing");
}

#[test]
fn c08_audience_rules() {
    let validator = validator(issuer().audience("api-x"));
    for (aud, expected) in [
        (json!("api-x"), "accepted"),
        (json!(["other", "api-x"]), "accepted"),
        (json!(null), "claim_missing"),
        (json!("api-x2"), "audience_mismatch"),
        (json!(["API-X"]), "audience_mismatch"),
        (json!([]), "audience_mismatch"),
        (json!([["api-x"]]), "claim_malformed"),
        (json!(7), "claim_malformed"),
    ] {
        let token = rsa().sign("RS256", &claims_with(&json!({ "aud": aud })));
        assert_eq!(outcome(&validator, &token), expected, "{aud}");
    }
}

#[test]
fn c09_token_kind_confusion_rejected() {
    let keycloak = validator(issuer().profile(Profile::Keycloak));
    for typ in ["ID", "Refresh", "Offline", "Logout"] {
        let token = rsa().sign("RS256", &claims_with(&json!({ "typ": typ })));
        assert_eq!(outcome(&keycloak, &token), "token_type_mismatch", "{typ}");
    }
    assert_eq!(outcome(&keycloak, &valid_token()), "accepted");

    let typed = validator(issuer().header_type("at+jwt").header_type("JWT"));
    for (typ, expected) in [
        ("logout+jwt", "token_type_mismatch"),
        ("application/at+jwt", "accepted"),
        ("AT+JWT", "accepted"),
    ] {
        let header = json!({"alg": "RS256", "kid": "rsa-1", "typ": typ}).to_string();
        let token = rsa().sign_raw(&header, &claims().to_string());
        assert_eq!(outcome(&typed, &token), expected, "{typ}");
    }
    let untyped = rsa().sign_raw(r#"{"alg":"RS256","kid":"rsa-1"}"#, &claims().to_string());
    assert_eq!(outcome(&typed, &untyped), "token_type_mismatch");
}

#[test]
fn c10_subject_required_and_used_as_principal() {
    let validator = default_validator();
    for (sub, expected) in [
        (json!(null), "subject_missing"),
        (json!(""), "subject_missing"),
        (json!(1), "claim_malformed"),
    ] {
        let token = rsa().sign("RS256", &claims_with(&json!({ "sub": sub })));
        assert_eq!(outcome(&validator, &token), expected, "{sub}");
    }
    let token = rsa().sign(
        "RS256",
        &claims_with(&json!({"preferred_username": "admin", "email": "admin@example.test"})),
    );
    let verified = validator.validate_sync(&token).unwrap();
    assert_eq!(verified.principal().subject(), "user-0001");
    assert_eq!(verified.principal().issuer(), Some(ISSUER));
}

#[test]
fn c11_authorized_party_checked() {
    let validator = validator(issuer().authorized_party("web-frontend"));
    let good = rsa().sign("RS256", &claims_with(&json!({"azp": "web-frontend"})));
    assert_eq!(outcome(&validator, &good), "accepted");
    for azp in [json!("other-client"), json!(null)] {
        let token = rsa().sign("RS256", &claims_with(&json!({ "azp": azp })));
        assert_eq!(outcome(&validator, &token), "azp_mismatch");
    }
}

#[test]
fn c12_keys_are_scoped_to_their_issuer() {
    // Issuer B publishes a different key under the same kid as issuer A.
    let other = aws_lc_rs::signature::Ed25519KeyPair::generate().unwrap();
    let other_x = b64(aws_lc_rs::signature::KeyPair::public_key(&other).as_ref());
    let b_keys = KeySet::from_jwks_json(
        json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "ed-1", "x": other_x}]})
            .to_string(),
    )
    .unwrap()
    .0;
    let b_source = SwappableSource::new(b_keys);
    let issuer_b = "https://other.example.test";
    let validator = Validator::builder()
        .issuer(issuer())
        .issuer(
            IssuerConfig::with_shared_keys(issuer_b, b_source.clone())
                .audience(AUDIENCE)
                .algorithms([Algorithm::EdDSA]),
        )
        .clock(ManualClock::at_unix_seconds(NOW))
        .build()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();

    // Signed by A's key, claiming B.
    let token = ed25519().sign("EdDSA", &claims_with(&json!({ "iss": issuer_b })));
    let error = runtime.block_on(validator.validate(&token)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::SignatureInvalid);

    // An unconfigured issuer is rejected without any key lookup or refresh.
    let token = ed25519().sign(
        "EdDSA",
        &claims_with(&json!({ "iss": "https://unknown.example.test" })),
    );
    let error = runtime.block_on(validator.validate(&token)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::IssuerMismatch);
    assert_eq!(*b_source.refreshes.lock().unwrap(), 0);

    // Each issuer accepts its own tokens.
    let token = ed25519().sign("EdDSA", &claims());
    assert!(runtime.block_on(validator.validate(&token)).is_ok());
}

#[test]
fn c13_maximum_token_age() {
    let validator = validator(issuer().max_age_seconds(3600).leeway_seconds(0));
    let old = rsa().sign(
        "RS256",
        &claims_with(&json!({"iat": NOW - 3601, "exp": NOW + 3600})),
    );
    assert_eq!(outcome(&validator, &old), "token_expired");
    let fresh = rsa().sign(
        "RS256",
        &claims_with(&json!({"iat": NOW - 3599, "exp": NOW + 3600})),
    );
    assert_eq!(outcome(&validator, &fresh), "accepted");
    let no_iat = rsa().sign("RS256", &claims_with(&json!({"iat": null})));
    assert_eq!(outcome(&validator, &no_iat), "claim_missing");
}

#[test]
fn unverified_token_exposes_untrusted_parts_only() {
    let token = valid_token();
    let parsed = UnverifiedToken::parse(&token).unwrap();
    assert_eq!(parsed.untrusted_alg(), Some(Algorithm::RS256));
    assert_eq!(parsed.untrusted_kid(), Some("rsa-1"));
    assert_eq!(parsed.untrusted_issuer(), Some(ISSUER));
    assert_eq!(parsed.untrusted_claims()["sub"], "user-0001");
    assert!(!format!("{parsed:?}").contains("user-0001"));
}

#[test]
fn key_without_kid_serves_tokens_with_any_kid() {
    let pem_source = KeySet::builder()
        .hmac_secret(None, &HMAC_SECRET, &[Algorithm::HS256])
        .unwrap()
        .build();
    let validator = validator(
        IssuerConfig::new(ISSUER, StaticKeySource::new(pem_source))
            .audience(AUDIENCE)
            .algorithms([Algorithm::HS256]),
    );
    assert_eq!(
        outcome(&validator, &hs256().sign("HS256", &claims())),
        "accepted"
    );
}

#[test]
fn symmetric_jwks_keys_need_the_option() {
    let document =
        json!({"keys": [{"kty": "oct", "kid": "k", "k": b64(&HMAC_SECRET)}]}).to_string();
    let (keys, skipped) = KeySet::from_jwks_json(&document).unwrap();
    assert!(keys.is_empty());
    assert_eq!(skipped[0].reason, SkipReason::SymmetricKeyNotAllowed);
    let options = JwksOptions {
        allow_symmetric_keys: true,
        ..JwksOptions::default()
    };
    let (keys, _) = KeySet::from_jwks_json_with(&document, &options).unwrap();
    assert_eq!(keys.key_ids(), ["k"]);
    assert_eq!(keys.keys()[0].algorithms(), [Algorithm::HS256]);
}

#[test]
fn too_many_keys_are_skipped() {
    let keys: Vec<Value> = (0..70)
        .map(|index| {
            let mut jwk = ed25519().jwk.clone();
            jwk["kid"] = json!(format!("k{index}"));
            jwk
        })
        .collect();
    let (set, skipped) = KeySet::from_jwks_json(json!({ "keys": keys }).to_string()).unwrap();
    assert_eq!(set.len(), 64);
    assert_eq!(skipped.len(), 6);
    assert!(
        skipped
            .iter()
            .all(|key| key.reason == SkipReason::TooManyKeys)
    );
}

#[test]
fn jwks_document_shape_errors() {
    for document in [
        "[]",
        "{}",
        r#"{"keys":{}}"#,
        r#"{"keys":"x"}"#,
        "not json",
        r#"{"keys":[],"keys":[]}"#,
    ] {
        let error = KeySet::from_jwks_json(document).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::JwksInvalid, "{document}");
    }
}

#[test]
fn principal_carries_kid_expiry_and_profile_roles() {
    let validator = validator(issuer().profile(Profile::Keycloak).client_id(AUDIENCE));
    let token = rsa().sign("RS256", &claims_with(&json!({
        "realm_access": {"roles": ["user"]},
        "resource_access": {AUDIENCE: {"roles": ["admin"]}, "account": {"roles": ["admin", "manage-account"]}},
        "scope": "openid orders:read",
    })));
    let verified = validator.validate_sync(&token).unwrap();
    let principal = verified.principal();
    assert_eq!(principal.key_id(), Some("rsa-1"));
    assert_eq!(principal.expires_at(), Some(NOW + 300));
    assert_eq!(principal.method(), ddf_rbac::AuthMethod::Jwt);
    assert_eq!(
        principal.roles(),
        [
            "user",
            "orders-api/admin",
            "scope:openid",
            "scope:orders:read"
        ]
    );
    assert!(!principal.has_role("admin"));
    assert_eq!(verified.alg(), Algorithm::RS256);
    assert_eq!(verified.kid(), Some("rsa-1"));
}

#[test]
fn profiles_map_provider_claims() {
    let cases = [
        (
            Profile::Generic,
            json!({"roles": ["r"], "permissions": ["p"], "scp": ["s"]}),
            vec!["r", "p", "scope:s"],
        ),
        (
            Profile::Entra,
            json!({"roles": ["Orders.Read"], "scp": "access_as_user", "tid": "t"}),
            vec!["Orders.Read", "scope:access_as_user"],
        ),
        (
            Profile::Auth0,
            json!({"permissions": ["orders:read"], "roles": ["ignored"]}),
            vec!["orders:read"],
        ),
    ];
    for (profile, changes, roles) in cases {
        let validator = validator(issuer().profile(profile));
        let token = rsa().sign("RS256", &claims_with(&changes));
        let verified = validator.validate_sync(&token).unwrap();
        assert_eq!(
            verified.principal().roles(),
            roles.as_slice(),
            "{profile:?}"
        );
    }

    let cognito = validator(
        IssuerConfig::new(ISSUER, source())
            .audience("client-1")
            .algorithms([Algorithm::RS256])
            .profile(Profile::Cognito),
    );
    let access = claims_with(
        &json!({"aud": null, "client_id": "client-1", "token_use": "access", "cognito:groups": ["admins"]}),
    );
    let verified = cognito
        .validate_sync(&rsa().sign("RS256", &access))
        .unwrap();
    assert_eq!(verified.principal().roles(), ["admins"]);
    assert_eq!(
        verified.principal().attribute("client_id"),
        Some("client-1")
    );
    let id_token = claims_with(&json!({"aud": "client-1", "token_use": "id"}));
    assert_eq!(
        outcome(&cognito, &rsa().sign("RS256", &id_token)),
        "claim_mismatch"
    );
    let other_client =
        claims_with(&json!({"aud": null, "client_id": "client-2", "token_use": "access"}));
    assert_eq!(
        outcome(&cognito, &rsa().sign("RS256", &other_client)),
        "audience_mismatch"
    );
}

#[test]
fn entra_v1_and_v2_issuers_are_distinct() {
    let tenant = "11111111-2222-4333-8444-555555555555";
    let v2 = format!("https://login.microsoftonline.com/{tenant}/v2.0");
    let v1 = format!("https://sts.windows.net/{tenant}/");
    let validator = Validator::builder()
        .issuer(
            IssuerConfig::new(v2.clone(), source())
                .audience(AUDIENCE)
                .profile(Profile::Entra),
        )
        .clock(ManualClock::at_unix_seconds(NOW))
        .build()
        .unwrap();
    let v1_token = rsa().sign("RS256", &claims_with(&json!({"iss": v1, "tid": tenant})));
    assert_eq!(outcome(&validator, &v1_token), "issuer_mismatch");
    let v2_token = rsa().sign("RS256", &claims_with(&json!({"iss": v2, "tid": tenant})));
    assert_eq!(outcome(&validator, &v2_token), "accepted");
}

#[test]
fn custom_checks_and_required_claims() {
    let validator = validator(
        issuer()
            .required_claim("jti")
            .required_claim_value("tenant", "acme")
            .check("tier-is-paid", |claims| {
                claims.get("tier").and_then(Value::as_str) == Some("paid")
            }),
    );
    let good = rsa().sign(
        "RS256",
        &claims_with(&json!({"jti": "1", "tenant": "acme", "tier": "paid"})),
    );
    assert_eq!(outcome(&validator, &good), "accepted");
    for (changes, expected, claim) in [
        (
            json!({"tenant": "acme", "tier": "paid"}),
            "claim_missing",
            "jti",
        ),
        (
            json!({"jti": "1", "tenant": "other", "tier": "paid"}),
            "claim_mismatch",
            "tenant",
        ),
        (
            json!({"jti": "1", "tenant": "acme", "tier": "free"}),
            "claim_mismatch",
            "tier-is-paid",
        ),
    ] {
        let error = validator
            .validate_sync(&rsa().sign("RS256", &claims_with(&changes)))
            .unwrap_err();
        assert_eq!(error.kind().as_str(), expected);
        assert!(error.to_string().contains(claim), "{error}");
    }
}

#[test]
fn validator_configuration_errors() {
    let empty = Validator::builder().build();
    assert_eq!(empty.unwrap_err().kind(), ErrorKind::ConfigInvalid);
    let twice = Validator::builder()
        .issuer(issuer())
        .issuer(issuer())
        .build();
    assert_eq!(twice.unwrap_err().kind(), ErrorKind::ConfigInvalid);
    let template = Validator::builder()
        .issuer(IssuerConfig::new(
            "https://login.microsoftonline.com/{tenantid}/v2.0",
            source(),
        ))
        .build();
    assert_eq!(template.unwrap_err().kind(), ErrorKind::ConfigInvalid);
}

#[test]
fn unknown_kid_refreshes_once_then_reports_key_not_found() {
    let keys = KeySet::from_jwks_json(json!({"keys": [rsa().jwk]}).to_string())
        .unwrap()
        .0;
    let source = SwappableSource::new(keys);
    let validator = Validator::builder()
        .issuer(
            IssuerConfig::with_shared_keys(ISSUER, source.clone())
                .audience(AUDIENCE)
                .algorithms([Algorithm::EdDSA, Algorithm::RS256]),
        )
        .clock(ManualClock::at_unix_seconds(NOW))
        .build()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let token = ed25519().sign("EdDSA", &claims());
    let error = runtime.block_on(validator.validate(&token)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::KeyNotFound);
    assert_eq!(*source.refreshes.lock().unwrap(), 1);

    // The key appears (rotation): the next validation finds it.
    source.replace(KeySet::from_jwks_json(jwks()).unwrap().0);
    assert!(runtime.block_on(validator.validate(&token)).is_ok());
    // validate_sync never refreshes.
    let unknown = rsa().sign_raw(r#"{"alg":"RS256","kid":"nope"}"#, &claims().to_string());
    assert_eq!(
        validator.validate_sync(&unknown).unwrap_err().kind(),
        ErrorKind::KeyNotFound
    );
    assert_eq!(*source.refreshes.lock().unwrap(), 1);
}

#[test]
fn source_unavailable_maps_to_jwks_unavailable() {
    #[derive(Debug)]
    struct Down;
    impl ddf_jwt::KeySource for Down {
        fn current(&self) -> Result<Arc<KeySet>, ddf_jwt::JwtError> {
            Err(ddf_jwt::JwtError::JwksUnavailable {
                reason: "no fetch succeeded yet".into(),
            })
        }
        fn refresh_for_unknown_kid(&self, _kid: Option<&str>) -> ddf_jwt::KeySetFuture<'_> {
            Box::pin(async {
                Err(ddf_jwt::JwtError::JwksUnavailable {
                    reason: "down".into(),
                })
            })
        }
    }
    let validator = validator(IssuerConfig::new(ISSUER, Down).audience(AUDIENCE));
    let error = validator.validate_sync(&valid_token()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::JwksUnavailable);
    assert!(error.kind().is_unavailable());
}
