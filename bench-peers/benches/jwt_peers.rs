//! JWT validation per algorithm, side by side on the same token bytes and the
//! same key. The floors are the bare signature check with aws-lc-rs and with
//! ring (jsonwebtoken 9's backend), and for Ed25519 also the aws-lc-rs
//! `UnparsedPublicKey` call that jsonwebtoken 12 makes. Measured against
//! them: ddf-jwt with the verified-token cache off and on, jsonwebtoken 12
//! `decode` with full validation, and jwt-simple 0.15 on its pure-Rust
//! backend.
//!
//! ```sh
//! cargo bench -p ddf-bench-peers --bench jwt_peers -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Tokens carry real timestamps (issued a minute ago, expiring in four hours)
//! because jsonwebtoken and jwt-simple read the system clock; every library
//! checks `exp`, `iss` and `aud`.

#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented public function"
)]

use std::collections::HashSet;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ddf_bench_peers::{AUDIENCE, Alg, Fixtures, ISSUER, PublicKey, TokenCase, unix_now};
use ddf_jwt::{Algorithm, IssuerConfig, KeySet, StaticKeySource, Validator};
use jwt_simple::prelude::{
    ECDSAP256PublicKeyLike as _, ES256PublicKey, Ed25519PublicKey, EdDSAPublicKeyLike as _,
    HS256Key, MACLike as _, NoCustomClaims, PS256PublicKey, RS256PublicKey, RSAPublicKeyLike as _,
    VerificationOptions,
};
use serde_json::Value;

fn ddf_algorithm(alg: Alg) -> Algorithm {
    match alg {
        Alg::Rs256 => Algorithm::RS256,
        Alg::Ps256 => Algorithm::PS256,
        Alg::Es256 => Algorithm::ES256,
        Alg::EdDsa => Algorithm::EdDSA,
        Alg::Hs256 => Algorithm::HS256,
    }
}

fn jsonwebtoken_algorithm(alg: Alg) -> jsonwebtoken::Algorithm {
    match alg {
        Alg::Rs256 => jsonwebtoken::Algorithm::RS256,
        Alg::Ps256 => jsonwebtoken::Algorithm::PS256,
        Alg::Es256 => jsonwebtoken::Algorithm::ES256,
        Alg::EdDsa => jsonwebtoken::Algorithm::EdDSA,
        Alg::Hs256 => jsonwebtoken::Algorithm::HS256,
    }
}

/// Builds a ddf-jwt validator on the system clock; `cache_capacity` 0
/// disables the verified-token cache.
fn ddf_validator(case: &TokenCase, cache_capacity: u64) -> Validator {
    let keys = match &case.key {
        PublicKey::Secret(secret) => KeySet::builder()
            .hmac_secret(Some(case.alg.kid()), secret, &[Algorithm::HS256])
            .expect("HMAC secret is long enough")
            .build(),
        _ => {
            KeySet::from_jwks_json(case.jwks_json())
                .expect("JWKS parses")
                .0
        }
    };
    Validator::builder()
        .issuer(
            IssuerConfig::new(ISSUER, StaticKeySource::new(keys))
                .audience(AUDIENCE)
                .algorithms([ddf_algorithm(case.alg)]),
        )
        .cache_capacity(cache_capacity)
        .build()
        .expect("validator configuration is valid")
}

/// jsonwebtoken 12's key and validation settings, both built once.
fn jsonwebtoken_setup(case: &TokenCase) -> (jsonwebtoken::DecodingKey, jsonwebtoken::Validation) {
    let key = match &case.key {
        PublicKey::Rsa { n, e } => jsonwebtoken::DecodingKey::from_rsa_raw_components(n, e),
        PublicKey::P256(point) => jsonwebtoken::DecodingKey::from_ec_components(
            &ddf_bench_peers::b64(&point[1..33]),
            &ddf_bench_peers::b64(&point[33..]),
        )
        .expect("EC components"),
        PublicKey::Ed25519(public) => {
            jsonwebtoken::DecodingKey::from_ed_components(&ddf_bench_peers::b64(public))
                .expect("Ed25519 component")
        }
        PublicKey::Secret(secret) => {
            jsonwebtoken::DecodingKey::from_secret(secret).expect("HMAC secret")
        }
    };
    // `Validation::new` requires and checks `exp` with 60 s leeway.
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken_algorithm(case.alg));
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.validate_nbf = true;
    (key, validation)
}

/// One jwt-simple verifier per algorithm; the verification options are
/// passed by value, so every call clones them, as a caller holding them
/// must.
enum JwtSimple {
    Rs256(RS256PublicKey),
    Ps256(PS256PublicKey),
    Es256(ES256PublicKey),
    EdDsa(Ed25519PublicKey),
    Hs256(HS256Key),
}

impl JwtSimple {
    fn new(case: &TokenCase) -> Self {
        match (&case.key, case.alg) {
            (PublicKey::Rsa { n, e }, Alg::Rs256) => {
                Self::Rs256(RS256PublicKey::from_components(n, e).expect("RSA components"))
            }
            (PublicKey::Rsa { n, e }, _) => {
                Self::Ps256(PS256PublicKey::from_components(n, e).expect("RSA components"))
            }
            (PublicKey::P256(point), _) => {
                Self::Es256(ES256PublicKey::from_bytes(point).expect("SEC1 point"))
            }
            (PublicKey::Ed25519(public), _) => {
                Self::EdDsa(Ed25519PublicKey::from_bytes(public).expect("Ed25519 key"))
            }
            (PublicKey::Secret(secret), _) => Self::Hs256(HS256Key::from_bytes(secret)),
        }
    }

    fn verify(&self, token: &str, options: &VerificationOptions) -> bool {
        let options = Some(options.clone());
        match self {
            Self::Rs256(key) => key.verify_token::<NoCustomClaims>(token, options).is_ok(),
            Self::Ps256(key) => key.verify_token::<NoCustomClaims>(token, options).is_ok(),
            Self::Es256(key) => key.verify_token::<NoCustomClaims>(token, options).is_ok(),
            Self::EdDsa(key) => key.verify_token::<NoCustomClaims>(token, options).is_ok(),
            Self::Hs256(key) => key.verify_token::<NoCustomClaims>(token, options).is_ok(),
        }
    }
}

/// Verifies the signature with ring as jsonwebtoken 9 drives it: the
/// public key is parsed (HMAC: the key schedule built) on every call,
/// because ring keeps no parsed public key for verification.
fn ring_verify(case: &TokenCase, message: &[u8], signature: &[u8]) -> bool {
    use ring::signature::{self, UnparsedPublicKey};
    match &case.key {
        PublicKey::Rsa { n, e } => {
            let params = if case.alg == Alg::Rs256 {
                &signature::RSA_PKCS1_2048_8192_SHA256
            } else {
                &signature::RSA_PSS_2048_8192_SHA256
            };
            signature::RsaPublicKeyComponents { n, e }
                .verify(params, message, signature)
                .is_ok()
        }
        PublicKey::P256(point) => {
            UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(message, signature)
                .is_ok()
        }
        PublicKey::Ed25519(public) => UnparsedPublicKey::new(&signature::ED25519, public)
            .verify(message, signature)
            .is_ok(),
        PublicKey::Secret(secret) => {
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
            ring::hmac::verify(&key, message, signature).is_ok()
        }
    }
}

fn jwt_simple_options() -> VerificationOptions {
    VerificationOptions {
        allowed_issuers: Some(HashSet::from([ISSUER.to_owned()])),
        allowed_audiences: Some(HashSet::from([AUDIENCE.to_owned()])),
        ..VerificationOptions::default()
    }
}

fn bench(c: &mut Criterion) {
    let fixtures = Fixtures::generate(unix_now());
    let simple_options = jwt_simple_options();

    for case in &fixtures.cases {
        let (input, signature) = case.signing_input_and_signature();
        let token = case.token.as_str();

        // Every path must accept the token before it is timed.
        assert!(case.floor.verify(input.as_bytes(), &signature));
        let cold = ddf_validator(case, 0);
        cold.validate_sync(token)
            .expect("ddf-jwt accepts the token");
        let cached = ddf_validator(case, 10_000);
        cached
            .validate_sync(token)
            .expect("ddf-jwt accepts the token");
        let (peer_key, validation) = jsonwebtoken_setup(case);
        jsonwebtoken::decode::<Value>(token, &peer_key, &validation)
            .expect("jsonwebtoken accepts the token");
        let simple = JwtSimple::new(case);
        assert!(
            simple.verify(token, &simple_options),
            "jwt-simple accepts the {} token",
            case.alg
        );

        let mut group = c.benchmark_group(format!("jwt/{}", case.alg));
        group.bench_function("floor_aws_lc", |b| {
            b.iter(|| {
                case.floor
                    .verify(black_box(input.as_bytes()), black_box(&signature))
            });
        });
        if let PublicKey::Ed25519(public) = &case.key {
            // jsonwebtoken 12 verifies Ed25519 through `UnparsedPublicKey`,
            // a different aws-lc call from the `ParsedPublicKey` floor.
            let unparsed = aws_lc_rs::signature::UnparsedPublicKey::new(
                &aws_lc_rs::signature::ED25519,
                public.clone(),
            );
            assert!(unparsed.verify(input.as_bytes(), &signature).is_ok());
            group.bench_function("floor_aws_lc_unparsed", |b| {
                b.iter(|| {
                    unparsed
                        .verify(black_box(input.as_bytes()), black_box(&signature))
                        .is_ok()
                });
            });
        }
        assert!(ring_verify(case, input.as_bytes(), &signature));
        group.bench_function("floor_ring", |b| {
            b.iter(|| ring_verify(case, black_box(input.as_bytes()), black_box(&signature)));
        });
        group.bench_function("ddf_jwt_cold", |b| {
            b.iter(|| cold.validate_sync(black_box(token)).is_ok());
        });
        group.bench_function("ddf_jwt_cached", |b| {
            b.iter(|| cached.validate_sync(black_box(token)).is_ok());
        });
        group.bench_function("jsonwebtoken_12", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<Value>(black_box(token), &peer_key, &validation).is_ok()
            });
        });
        group.bench_function("jwt_simple_0_15", |b| {
            b.iter(|| simple.verify(black_box(token), &simple_options));
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
