//! The cost a warm `RemoteJwks` adds to validation, against the same token
//! and key held by a `StaticKeySource`: full validation with the verified
//! cache off, a verified-cache hit, and `KeySource::current` alone.
//!
//! The JWKS is served once by a plain HTTP responder on 127.0.0.1; after
//! the first fetch no request leaves the process.
//!
//! Run: `cargo bench --bench jwt_remote -- --warm-up-time 1 --measurement-time 3`

// `criterion_group!` defines an undocumented public function.
#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use ddf_jwt::{
    Algorithm, IssuerConfig, KeySource, RemoteJwks, RemoteJwksConfig, StaticKeySource, Validator,
};
use serde_json::json;

const ISSUER: &str = "https://sso.example.test/realms/demo";
const AUDIENCE: &str = "orders-api";

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Returns a signed ES256 token and the JWKS holding its key.
fn token_and_jwks() -> (String, String) {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    let point = pair.public_key().as_ref();
    let jwks = json!({"keys": [{
        "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": "bench-1",
        "x": b64(&point[1..33]), "y": b64(&point[33..65]),
    }]})
    .to_string();

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": "bench-1"}).to_string();
    let claims = json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "user-0001",
        "iat": now - 60, "exp": now + 86_400, "roles": ["orders:read"],
    })
    .to_string();
    let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
    let signature = pair.sign(&rng, input.as_bytes()).unwrap();
    (format!("{input}.{}", b64(signature.as_ref())), jwks)
}

/// Serves `body` to every request on 127.0.0.1 and returns the URL.
fn serve(body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/certs", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) <= 2 {
                    break;
                }
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

fn validator(keys: Arc<dyn KeySource>, cache: bool) -> Validator {
    Validator::builder()
        .issuer(
            IssuerConfig::with_shared_keys(ISSUER, keys)
                .audience(AUDIENCE)
                .algorithms([Algorithm::ES256]),
        )
        .cache_capacity(if cache { 10_000 } else { 0 })
        .build()
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let (token, jwks) = token_and_jwks();
    let (static_keys, _) = StaticKeySource::from_jwks_json(&jwks).unwrap();
    let static_keys: Arc<dyn KeySource> = Arc::new(static_keys);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let url = serve(jwks);
    let remote = runtime.block_on(async {
        let config = RemoteJwksConfig {
            danger_allow_http_loopback: true,
            ..RemoteJwksConfig::default()
        };
        let remote = RemoteJwks::builder(url).config(config).build().unwrap();
        remote.refresh().await.unwrap();
        remote
    });
    let remote: Arc<dyn KeySource> = Arc::new(remote);

    let mut group = c.benchmark_group("jwt_remote");
    for (name, keys) in [("static", &static_keys), ("remote_warm", &remote)] {
        let cold = validator(Arc::clone(keys), false);
        cold.validate_sync(&token).unwrap();
        group.bench_function(format!("validate_es256_no_cache/{name}"), |b| {
            b.iter(|| cold.validate_sync(black_box(&token)).unwrap());
        });

        let cached = validator(Arc::clone(keys), true);
        cached.validate_sync(&token).unwrap();
        group.bench_function(format!("validate_cache_hit/{name}"), |b| {
            b.iter(|| cached.validate_sync(black_box(&token)).unwrap());
        });

        group.bench_function(format!("key_source_current/{name}"), |b| {
            b.iter(|| black_box(keys.current().unwrap()));
        });
    }
    group.finish();
    drop(runtime);
}

criterion_group!(benches, bench);
criterion_main!(benches);
