//! Cost of issuing a token per algorithm: the whole `TokenBuilder` path
//! (claims, JSON, base64url, signature) beside the bare signature over the
//! same signing input, and jsonwebtoken 12's `encode` on the same claims.

#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented public function"
)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use ddf_jwt::issue::{
    KeySchedule, Keyring, RotationSettings, SigningAlgorithm, SigningKey, TokenIssuer, TokenPolicy,
};
use jsonwebtoken::{EncodingKey, Header};

const NOW: u64 = 1_800_000_000;

/// Claims of a session-login token: roles, scope and a few strings, which
/// makes a payload of about 400 bytes.
fn extra_claims() -> serde_json::Value {
    serde_json::json!({
        "roles": ["user", "llm:invoke", "llm:embed", "billing:read"],
        "scope": "openid profile llm.invoke llm.embed",
        "preferred_username": "ada.lovelace",
        "email": "ada.lovelace@example.test",
        "tenant": "research-eu-west-1",
        "sid": "5f0c2d7e-9b4a-4f61-8c3e-2b7d9a1e4c55",
    })
}

fn issuer_for(alg: SigningAlgorithm) -> (TokenIssuer, String) {
    let clock = Arc::new(ddf_rbac::ManualClock::at_unix_seconds(NOW));
    let keyring = Arc::new(Keyring::new(RotationSettings::default(), clock));
    let key = SigningKey::generate(alg).expect("key generation");
    let pem = key
        .to_pkcs8_pem()
        .map(|pem| pem.to_string())
        .unwrap_or_default();
    keyring
        .insert("bench", key, KeySchedule::active_from(NOW))
        .expect("insert");
    let policy = TokenPolicy::new("https://llm.example.test").with_audience("inference");
    (TokenIssuer::new(keyring, policy).expect("issuer"), pem)
}

fn jsonwebtoken_key(alg: SigningAlgorithm, pem: &str, secret: &[u8]) -> EncodingKey {
    match alg {
        SigningAlgorithm::EdDSA => EncodingKey::from_ed_pem(pem.as_bytes()),
        SigningAlgorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()),
        SigningAlgorithm::RS256 | SigningAlgorithm::PS256 => {
            EncodingKey::from_rsa_pem(pem.as_bytes())
        }
        _ => EncodingKey::from_secret(secret),
    }
    .expect("jsonwebtoken key")
}

fn bench_sign(c: &mut Criterion) {
    let extra = extra_claims();
    let secret = [0x5a_u8; 32];
    for alg in SigningAlgorithm::ALL {
        let mut group = c.benchmark_group(format!("jwt_sign/{alg}"));
        let (issuer, pem) = if alg == SigningAlgorithm::HS256 {
            let clock = Arc::new(ddf_rbac::ManualClock::at_unix_seconds(NOW));
            let keyring = Arc::new(Keyring::new(RotationSettings::default(), clock));
            keyring
                .insert(
                    "bench",
                    SigningKey::from_hmac_secret(&secret).expect("secret"),
                    KeySchedule::active_from(NOW),
                )
                .expect("insert");
            let policy = TokenPolicy::new("https://llm.example.test").with_audience("inference");
            (
                TokenIssuer::new(keyring, policy).expect("issuer"),
                String::new(),
            )
        } else {
            issuer_for(alg)
        };

        let sample = issuer
            .token("user-0001")
            .claims(&extra)
            .expect("claims")
            .sign()
            .expect("sign");
        let (signing_input, _) = sample.as_str().rsplit_once('.').expect("compact JWS");
        let signing_input = signing_input.as_bytes().to_vec();
        let standalone = SigningKey::generate(alg).expect("key");

        group.bench_function("build_and_sign", |b| {
            b.iter(|| {
                issuer
                    .token(black_box("user-0001"))
                    .claims(&extra)
                    .expect("claims")
                    .sign()
                    .expect("sign")
            });
        });
        group.bench_function("signature_only", |b| {
            b.iter(|| standalone.sign(black_box(&signing_input)).expect("sign"));
        });

        let mut header = Header::new(alg.as_str().parse().expect("jsonwebtoken alg"));
        header.typ = Some("at+jwt".to_owned());
        header.kid = Some("bench".to_owned());
        let key = jsonwebtoken_key(alg, &pem, &secret);
        // The same claims set as the sample token, registered claims included.
        let claims: serde_json::Value = serde_json::from_slice(&base64_decode(
            sample.as_str().split('.').nth(1).expect("payload"),
        ))
        .expect("payload JSON");
        group.bench_function("jsonwebtoken_encode", |b| {
            b.iter(|| jsonwebtoken::encode(black_box(&header), &claims, &key).expect("encode"));
        });
        group.finish();
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .expect("base64url")
}

criterion_group!(benches, bench_sign);
criterion_main!(benches);
