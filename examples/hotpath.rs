//! Runs one hot path in a loop, for instruction counts under
//! `valgrind --tool=callgrind`, which do not depend on machine load.
//!
//! ```sh
//! cargo build --release --example hotpath
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/hotpath jwt-cold-hs256 10000
//! ```
//!
//! Run each case with two iteration counts; the difference of the totals
//! divided by the difference of the counts is the cost of one call without
//! the setup. With a third argument `min`, the program instead prints the
//! fastest of 200 timed rounds per call, a load-resistant wall-clock
//! figure. Cases: `jwt-floor-rs256`, `jwt-cold-rs256`, `jwt-floor-hs256`,
//! `jwt-cold-hs256`, `jwt-hit-rs256`, `apikey-floor-sha2`,
//! `apikey-floor-aws-lc`, `apikey-valid`, `apikey-unknown`.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use aws_lc_rs::signature::{self, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ddf_auth::apikey::{ApiKey, ApiKeyVerifier, KeyRecord, KeyStore, MemoryKeyStore};
use ddf_auth::jwt::{Algorithm, IssuerConfig, KeySet, StaticKeySource, Validator};
use ddf_auth::rbac::{Clock, ManualClock, SystemClock};
use serde_json::json;
use sha2::Digest as _;

const NOW: u64 = 1_750_000_000;
const ISSUER: &str = "https://sso.example.test/realms/demo";
const SECRET: [u8; 32] = [0x5a; 32];

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The Keycloak-sized token of `benches/jwt.rs`.
fn token(alg: &str, kid: &str, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let claims = json!({
        "exp": NOW + 300, "iat": NOW - 60, "auth_time": NOW - 65,
        "jti": "onrtac:3c1e2f44-7a0b-4c7e-9d2a-1f5e6b7c8d90",
        "iss": ISSUER, "aud": ["orders-api", "account"],
        "sub": "5b7c1d9e-2f3a-4b5c-8d6e-7f8091a2b3c4", "typ": "Bearer",
        "azp": "web-frontend", "sid": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "acr": "1",
        "allowed-origins": ["https://app.example.test"],
        "realm_access": {"roles": ["default-roles-demo", "offline_access", "uma_authorization", "orders-reader"]},
        "resource_access": {"orders-api": {"roles": ["orders:read", "orders:write"]}},
        "scope": "openid profile email", "email_verified": true,
        "preferred_username": "user-0001", "email": "user-0001@example.test"
    });
    let header = json!({"alg": alg, "typ": "JWT", "kid": kid}).to_string();
    let input = format!(
        "{}.{}",
        b64(header.as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = sign(input.as_bytes());
    format!("{input}.{}", b64(&signature))
}

fn validator(keys: KeySet, alg: Algorithm, cache: u64) -> Validator {
    Validator::builder()
        .issuer(
            IssuerConfig::new(ISSUER, StaticKeySource::new(keys))
                .audience("orders-api")
                .algorithms([alg]),
        )
        .clock(ManualClock::at_unix_seconds(NOW))
        .cache_capacity(cache)
        .build()
        .expect("valid configuration")
}

fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("in-memory verification waited"),
    }
}

fn rsa_case() -> (String, KeySet, signature::ParsedPublicKey) {
    let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let token = token("RS256", "rsa", |input| {
        let mut out = vec![0; rsa.public_modulus_len()];
        rsa.sign(&signature::RSA_PKCS1_SHA256, &rng, input, &mut out)
            .unwrap();
        out
    });
    let der = rsa.public_key().as_ref().to_vec();
    let pem = format!(
        "-----BEGIN RSA PUBLIC KEY-----\n{}\n-----END RSA PUBLIC KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(&der)
    );
    let keys = KeySet::builder()
        .public_key_pem(Some("rsa"), pem.as_bytes(), &[Algorithm::RS256])
        .unwrap()
        .build();
    let parsed =
        signature::ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &der).unwrap();
    (token, keys, parsed)
}

/// Builds the loop body of `case`; `None` for an unknown case.
fn step_for(case: &str) -> Option<Box<dyn FnMut()>> {
    let step: Box<dyn FnMut()> = match case {
        "jwt-floor-rs256" | "jwt-cold-rs256" | "jwt-hit-rs256" => {
            let (token, keys, parsed) = rsa_case();
            let (input, signature) = token.rsplit_once('.').unwrap();
            let input = input.to_owned();
            let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
            let validator = validator(
                keys,
                Algorithm::RS256,
                u64::from(case == "jwt-hit-rs256") * 1000,
            );
            validator.validate_sync(&token).unwrap();
            if case == "jwt-floor-rs256" {
                Box::new(move || {
                    assert!(
                        parsed
                            .verify_sig(black_box(input.as_bytes()), &signature)
                            .is_ok()
                    );
                })
            } else {
                Box::new(move || {
                    black_box(validator.validate_sync(black_box(&token)).unwrap());
                })
            }
        }
        "jwt-floor-hs256" | "jwt-cold-hs256" => {
            let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &SECRET);
            let token = token("HS256", "hs", |input| {
                aws_lc_rs::hmac::sign(&key, input).as_ref().to_vec()
            });
            let (input, tag) = token.rsplit_once('.').unwrap();
            let input = input.to_owned();
            let tag = URL_SAFE_NO_PAD.decode(tag).unwrap();
            let keys = KeySet::builder()
                .hmac_secret(Some("hs"), &SECRET, &[Algorithm::HS256])
                .unwrap()
                .build();
            let validator = validator(keys, Algorithm::HS256, 0);
            validator.validate_sync(&token).unwrap();
            if case == "jwt-floor-hs256" {
                Box::new(move || {
                    assert!(
                        aws_lc_rs::hmac::verify(&key, black_box(input.as_bytes()), &tag).is_ok()
                    );
                })
            } else {
                Box::new(move || {
                    black_box(validator.validate_sync(black_box(&token)).unwrap());
                })
            }
        }
        "apikey-floor-sha2" | "apikey-floor-aws-lc" | "apikey-valid" | "apikey-unknown" => {
            let now = SystemClock.unix_seconds();
            let valid = ApiKey::generate();
            let unknown = ApiKey::generate();
            let records: Vec<KeyRecord> = (0..10)
                .map(|n| {
                    let digest = if n == 0 {
                        valid.digest()
                    } else {
                        ApiKey::generate().digest()
                    };
                    KeyRecord::new(format!("key-{n}"), format!("owner-{n}"), digest, now)
                        .with_roles(["user"])
                })
                .collect();
            let store: Arc<dyn KeyStore> = Arc::new(MemoryKeyStore::from_records(records).unwrap());
            let verifier = ApiKeyVerifier::new(store);
            let valid = valid.expose_secret().as_bytes().to_vec();
            let unknown = unknown.expose_secret().as_bytes().to_vec();
            match case {
                "apikey-floor-sha2" => Box::new(move || {
                    black_box(sha2::Sha256::digest(black_box(&unknown[..])));
                }),
                "apikey-floor-aws-lc" => Box::new(move || {
                    black_box(aws_lc_rs::digest::digest(
                        &aws_lc_rs::digest::SHA256,
                        black_box(&unknown[..]),
                    ));
                }),
                "apikey-valid" => Box::new(move || {
                    black_box(ready(verifier.verify(black_box(&valid))).unwrap());
                }),
                _ => Box::new(move || {
                    black_box(ready(verifier.verify(black_box(&unknown))).unwrap_err());
                }),
            }
        }
        _ => return None,
    };
    Some(step)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().unwrap_or_default();
    let iterations: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let Some(mut step) = step_for(&case) else {
        eprintln!("unknown case {case:?}; see the file's doc comment for the list");
        std::process::exit(2);
    };

    // `min`: time 200 rounds of `iterations` calls and print the fastest
    // round per call. On a loaded machine the fastest round is the one
    // least disturbed by other processes.
    if args.next().as_deref() == Some("min") {
        let mut best = f64::INFINITY;
        for _ in 0..200 {
            let start = std::time::Instant::now();
            for _ in 0..iterations {
                step();
            }
            best = best.min(start.elapsed().as_secs_f64() / iterations as f64);
        }
        println!("{case} {:.1} ns", best * 1e9);
        return;
    }
    for _ in 0..iterations {
        step();
    }
}
