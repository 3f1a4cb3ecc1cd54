//! ddf-jwt validation cost per algorithm, beside the bare signature check of
//! the same bytes with aws-lc-rs (the floor) and jsonwebtoken 12's `decode`
//! with full validation (the peer), plus a verified-token cache hit.
//!
//! Run: `cargo bench --bench jwt -- --warm-up-time 1 --measurement-time 3`

#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented public function"
)]

use std::hint::black_box;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, ParsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use ddf_jwt::{Algorithm, IssuerConfig, KeySet, StaticKeySource, Validator};
use ddf_rbac::ManualClock;
use serde_json::{Value, json};

const NOW: u64 = 1_750_000_000;
const ISSUER: &str = "https://sso.example.test/realms/demo";
const AUDIENCE: &str = "orders-api";
const SECRET: [u8; 32] = [0x5a; 32];

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A Keycloak-sized access-token payload (about 790 bytes of signing input).
fn claims() -> Value {
    json!({
        "exp": NOW + 300, "iat": NOW - 60, "auth_time": NOW - 65,
        "jti": "onrtac:3c1e2f44-7a0b-4c7e-9d2a-1f5e6b7c8d90",
        "iss": ISSUER, "aud": [AUDIENCE, "account"],
        "sub": "5b7c1d9e-2f3a-4b5c-8d6e-7f8091a2b3c4", "typ": "Bearer",
        "azp": "web-frontend", "sid": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "acr": "1",
        "allowed-origins": ["https://app.example.test"],
        "realm_access": {"roles": ["default-roles-demo", "offline_access", "uma_authorization", "orders-reader"]},
        "resource_access": {"orders-api": {"roles": ["orders:read", "orders:write"]}},
        "scope": "openid profile email", "email_verified": true,
        "preferred_username": "user-0001", "email": "user-0001@example.test"
    })
}

/// Verifies `signature` over `message` with the backend alone.
type FloorFn = Box<dyn Fn(&[u8], &[u8]) -> bool>;

/// One algorithm's token, the backend key for the floor, and the JWK.
struct Case {
    name: &'static str,
    alg: Algorithm,
    token: String,
    floor: FloorFn,
    jwk: Value,
    peer_key: jsonwebtoken::DecodingKey,
    peer_alg: jsonwebtoken::Algorithm,
}

fn sign_token(alg: &str, kid: &str, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let header = json!({"alg": alg, "typ": "JWT", "kid": kid}).to_string();
    let input = format!(
        "{}.{}",
        b64(header.as_bytes()),
        b64(claims().to_string().as_bytes())
    );
    let signature = sign(input.as_bytes());
    format!("{input}.{}", b64(&signature))
}

fn rsa_components(der: &[u8]) -> (Vec<u8>, Vec<u8>) {
    fn element(input: &[u8]) -> (&[u8], &[u8]) {
        let first = input[1];
        let (len, start) = if first < 0x80 {
            (usize::from(first), 2)
        } else {
            let count = usize::from(first & 0x7f);
            let len = input[2..2 + count]
                .iter()
                .fold(0_usize, |acc, byte| (acc << 8) | usize::from(*byte));
            (len, 2 + count)
        };
        (&input[start..start + len], &input[start + len..])
    }
    let (body, _) = element(der);
    let (n, rest) = element(body);
    let (e, _) = element(rest);
    let strip = |bytes: &[u8]| bytes[bytes.iter().position(|byte| *byte != 0).unwrap()..].to_vec();
    (strip(n), strip(e))
}

fn cases() -> Vec<Case> {
    let rng = SystemRandom::new();
    let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let (n, e) = rsa_components(rsa.public_key().as_ref());
    let rsa_jwk = json!({"kty": "RSA", "kid": "rsa", "n": b64(&n), "e": b64(&e)});
    let rsa_sign = |encoding: &'static dyn signature::RsaEncoding| {
        let rsa = &rsa;
        let rng = &rng;
        move |input: &[u8]| {
            let mut out = vec![0; rsa.public_modulus_len()];
            rsa.sign(encoding, rng, input, &mut out).unwrap();
            out
        }
    };
    let rsa_parsed = |params: &'static signature::RsaParameters| {
        signature::RsaPublicKeyComponents {
            n: n.clone(),
            e: e.clone(),
        }
        .to_parsed_public_key(params)
        .unwrap()
    };

    let ec_pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let ec = EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        ec_pkcs8.as_ref(),
    )
    .unwrap();
    let point = ec.public_key().as_ref().to_vec();
    let ed = Ed25519KeyPair::generate().unwrap();
    let ed_public = ed.public_key().as_ref().to_vec();

    let parsed_floor = |key: ParsedPublicKey| -> FloorFn {
        Box::new(move |message, signature| key.verify_sig(message, signature).is_ok())
    };

    vec![
        Case {
            name: "RS256",
            alg: Algorithm::RS256,
            token: sign_token("RS256", "rsa", rsa_sign(&signature::RSA_PKCS1_SHA256)),
            floor: parsed_floor(rsa_parsed(&signature::RSA_PKCS1_2048_8192_SHA256)),
            jwk: rsa_jwk.clone(),
            peer_key: jsonwebtoken::DecodingKey::from_rsa_raw_components(&n, &e),
            peer_alg: jsonwebtoken::Algorithm::RS256,
        },
        Case {
            name: "PS256",
            alg: Algorithm::PS256,
            token: sign_token("PS256", "rsa", rsa_sign(&signature::RSA_PSS_SHA256)),
            floor: parsed_floor(rsa_parsed(&signature::RSA_PSS_2048_8192_SHA256)),
            jwk: rsa_jwk,
            peer_key: jsonwebtoken::DecodingKey::from_rsa_raw_components(&n, &e),
            peer_alg: jsonwebtoken::Algorithm::PS256,
        },
        Case {
            name: "ES256",
            alg: Algorithm::ES256,
            token: sign_token("ES256", "ec", |input| {
                ec.sign(&rng, input).unwrap().as_ref().to_vec()
            }),
            floor: parsed_floor(
                ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &point).unwrap(),
            ),
            jwk: json!({"kty": "EC", "crv": "P-256", "kid": "ec", "x": b64(&point[1..33]), "y": b64(&point[33..])}),
            peer_key: jsonwebtoken::DecodingKey::from_ec_components(
                &b64(&point[1..33]),
                &b64(&point[33..]),
            )
            .unwrap(),
            peer_alg: jsonwebtoken::Algorithm::ES256,
        },
        Case {
            name: "EdDSA",
            alg: Algorithm::EdDSA,
            token: sign_token("EdDSA", "ed", |input| ed.sign(input).as_ref().to_vec()),
            floor: parsed_floor(ParsedPublicKey::new(&signature::ED25519, &ed_public).unwrap()),
            jwk: json!({"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": b64(&ed_public)}),
            peer_key: jsonwebtoken::DecodingKey::from_ed_components(&b64(&ed_public)).unwrap(),
            peer_alg: jsonwebtoken::Algorithm::EdDSA,
        },
        Case {
            name: "HS256",
            alg: Algorithm::HS256,
            token: sign_token("HS256", "hs", |input| {
                let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &SECRET);
                aws_lc_rs::hmac::sign(&key, input).as_ref().to_vec()
            }),
            floor: {
                let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &SECRET);
                Box::new(move |message, tag| aws_lc_rs::hmac::verify(&key, message, tag).is_ok())
            },
            jwk: Value::Null,
            peer_key: jsonwebtoken::DecodingKey::from_secret(&SECRET).unwrap(),
            peer_alg: jsonwebtoken::Algorithm::HS256,
        },
    ]
}

fn validator_for(case: &Case, cache_capacity: u64) -> Validator {
    let keys = if case.alg == Algorithm::HS256 {
        KeySet::builder()
            .hmac_secret(Some("hs"), &SECRET, &[Algorithm::HS256])
            .unwrap()
            .build()
    } else {
        KeySet::from_jwks_json(json!({"keys": [case.jwk]}).to_string())
            .unwrap()
            .0
    };
    Validator::builder()
        .issuer(
            IssuerConfig::new(ISSUER, StaticKeySource::new(keys))
                .audience(AUDIENCE)
                .algorithms([case.alg]),
        )
        .clock(ManualClock::at_unix_seconds(NOW))
        .cache_capacity(cache_capacity)
        .build()
        .unwrap()
}

fn bench(c: &mut Criterion) {
    for case in cases() {
        let (input, signature) = case.token.rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        assert!((case.floor)(input.as_bytes(), &signature));

        let cold = validator_for(&case, 0);
        assert!(cold.validate_sync(&case.token).is_ok());

        let mut validation = jsonwebtoken::Validation::new(case.peer_alg);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.validate_nbf = true;
        // jsonwebtoken reads the system clock; these tokens expire at NOW + 300.
        validation.validate_exp = false;
        assert!(jsonwebtoken::decode::<Value>(&case.token, &case.peer_key, &validation).is_ok());

        let mut group = c.benchmark_group(format!("jwt/{}", case.name));
        group.bench_function("floor_aws_lc_verify", |b| {
            b.iter(|| (case.floor)(black_box(input.as_bytes()), black_box(&signature)));
        });
        group.bench_function("ddf_jwt_cold", |b| {
            b.iter(|| cold.validate_sync(black_box(&case.token)).unwrap());
        });
        group.bench_function("jsonwebtoken_decode", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<Value>(black_box(&case.token), &case.peer_key, &validation)
                    .unwrap()
            });
        });
        if case.alg == Algorithm::RS256 {
            let cached = validator_for(&case, 1000);
            cached.validate_sync(&case.token).unwrap();
            group.bench_function("ddf_jwt_cache_hit", |b| {
                b.iter(|| cached.validate_sync(black_box(&case.token)).unwrap());
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
