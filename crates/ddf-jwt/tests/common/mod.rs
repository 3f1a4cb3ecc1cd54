//! Test keys and a signer that signs any header and payload text, so tests
//! can build tokens a well-behaved library would refuse to produce.

#![allow(dead_code, reason = "each test file uses a different subset")]

use std::sync::{Arc, Mutex, OnceLock};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ddf_jwt::{
    Algorithm, IssuerConfig, JwtError, KeySet, KeySetFuture, KeySource, StaticKeySource, Validator,
};
use ddf_rbac::ManualClock;
use serde_json::{Value, json};

pub(crate) const NOW: u64 = 1_750_000_000;
pub(crate) const ISSUER: &str = "https://sso.example.test/realms/demo";
pub(crate) const AUDIENCE: &str = "orders-api";
pub(crate) const HMAC_SECRET: [u8; 32] = [0x5a; 32];

pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

type SignFn = Box<dyn Fn(&[u8]) -> Vec<u8> + Send + Sync>;

/// Signs `header.payload` (both given as JSON text, encoded as is).
pub(crate) struct Signer {
    pub(crate) kid: &'static str,
    pub(crate) jwk: Value,
    sign: SignFn,
}

impl Signer {
    pub(crate) fn sign_raw(&self, header: &str, payload: &str) -> String {
        let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
        let signature = (self.sign)(input.as_bytes());
        format!("{input}.{}", b64(&signature))
    }

    pub(crate) fn sign(&self, alg: &str, claims: &Value) -> String {
        let header = json!({ "alg": alg, "typ": "JWT", "kid": self.kid }).to_string();
        self.sign_raw(&header, &claims.to_string())
    }
}

fn rsa_components(public_der: &[u8]) -> (Vec<u8>, Vec<u8>) {
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
    let (body, _) = element(public_der);
    let (n, rest) = element(body);
    let (e, _) = element(rest);
    let strip = |bytes: &[u8]| {
        let start = bytes.iter().position(|byte| *byte != 0).unwrap();
        bytes[start..].to_vec()
    };
    (strip(n), strip(e))
}

/// An RSA 2048 key (generated once per test binary).
pub(crate) fn rsa() -> &'static Signer {
    static SIGNER: OnceLock<Signer> = OnceLock::new();
    SIGNER.get_or_init(|| {
        let pair =
            Arc::new(aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap());
        let (n, e) = rsa_components(pair.public_key().as_ref());
        Signer {
            kid: "rsa-1",
            jwk: json!({"kty": "RSA", "kid": "rsa-1", "use": "sig", "n": b64(&n), "e": b64(&e)}),
            sign: Box::new(move |input| {
                let mut out = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    input,
                    &mut out,
                )
                .unwrap();
                out
            }),
        }
    })
}

/// Signs with RSA using another padding/hash (for PS256 and RS384 tests).
pub(crate) fn rsa_sign_with(
    encoding: &'static dyn signature::RsaEncoding,
    input: &[u8],
) -> Vec<u8> {
    static PAIR: OnceLock<aws_lc_rs::rsa::KeyPair> = OnceLock::new();
    let _ = rsa();
    let pair = PAIR.get_or_init(|| {
        aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap()
    });
    let mut out = vec![0; pair.public_modulus_len()];
    pair.sign(encoding, &SystemRandom::new(), input, &mut out)
        .unwrap();
    out
}

pub(crate) fn es256() -> &'static Signer {
    static SIGNER: OnceLock<Signer> = OnceLock::new();
    SIGNER.get_or_init(|| {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let point = pair.public_key().as_ref().to_vec();
        Signer {
            kid: "ec-1",
            jwk: json!({"kty": "EC", "crv": "P-256", "kid": "ec-1", "x": b64(&point[1..33]), "y": b64(&point[33..])}),
            sign: Box::new(move |input| pair.sign(&SystemRandom::new(), input).unwrap().as_ref().to_vec()),
        }
    })
}

pub(crate) fn ed25519() -> &'static Signer {
    static SIGNER: OnceLock<Signer> = OnceLock::new();
    SIGNER.get_or_init(|| {
        let pair = Ed25519KeyPair::generate().unwrap();
        let public = pair.public_key().as_ref().to_vec();
        Signer {
            kid: "ed-1",
            jwk: json!({"kty": "OKP", "crv": "Ed25519", "kid": "ed-1", "x": b64(&public)}),
            sign: Box::new(move |input| pair.sign(input).as_ref().to_vec()),
        }
    })
}

pub(crate) fn hs256() -> &'static Signer {
    static SIGNER: OnceLock<Signer> = OnceLock::new();
    SIGNER.get_or_init(|| Signer {
        kid: "hs-1",
        jwk: Value::Null,
        sign: Box::new(|input| {
            let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &HMAC_SECRET);
            aws_lc_rs::hmac::sign(&key, input).as_ref().to_vec()
        }),
    })
}

/// The JWKS of the RSA, EC and Ed25519 test keys.
pub(crate) fn jwks() -> String {
    json!({"keys": [rsa().jwk, es256().jwk, ed25519().jwk]}).to_string()
}

/// Claims that pass every default rule at [`NOW`].
pub(crate) fn claims() -> Value {
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-0001",
        "iat": NOW - 10,
        "exp": NOW + 300,
        "typ": "Bearer",
    })
}

/// Claims with `changes` merged in (`null` removes a member).
pub(crate) fn claims_with(changes: &Value) -> Value {
    let mut claims = claims();
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

/// The issuer configuration every test starts from: asymmetric keys from
/// [`jwks`] plus the local HMAC secret, all algorithms the keys need.
pub(crate) fn issuer() -> IssuerConfig {
    IssuerConfig::new(ISSUER, source())
        .audience(AUDIENCE)
        .algorithms([
            Algorithm::RS256,
            Algorithm::ES256,
            Algorithm::EdDSA,
            Algorithm::HS256,
        ])
}

pub(crate) fn source() -> StaticKeySource {
    let (builder, _) = KeySet::builder()
        .hmac_secret(Some("hs-1"), &HMAC_SECRET, &[Algorithm::HS256])
        .unwrap()
        .jwks_json(jwks(), &ddf_jwt::JwksOptions::default())
        .unwrap();
    StaticKeySource::new(builder.build())
}

pub(crate) fn validator(issuer: IssuerConfig) -> Validator {
    Validator::builder()
        .issuer(issuer)
        .clock(ManualClock::at_unix_seconds(NOW))
        .cache_capacity(0)
        .build()
        .unwrap()
}

pub(crate) fn default_validator() -> Validator {
    validator(issuer())
}

/// Validates and returns the error kind code, or "accepted".
pub(crate) fn outcome(validator: &Validator, token: &str) -> String {
    match validator.validate_sync(token) {
        Ok(_) => "accepted".to_owned(),
        Err(error) => error.kind().as_str().to_owned(),
    }
}

/// A key source whose set can be replaced, counting refresh calls.
#[derive(Debug)]
pub(crate) struct SwappableSource {
    pub(crate) keys: Mutex<Arc<KeySet>>,
    pub(crate) refreshes: Mutex<u32>,
}

impl SwappableSource {
    pub(crate) fn new(keys: KeySet) -> Arc<Self> {
        Arc::new(Self {
            keys: Mutex::new(Arc::new(keys)),
            refreshes: Mutex::new(0),
        })
    }

    pub(crate) fn replace(&self, keys: KeySet) {
        *self.keys.lock().unwrap() = Arc::new(keys);
    }
}

impl KeySource for SwappableSource {
    fn current(&self) -> Result<Arc<KeySet>, JwtError> {
        Ok(Arc::clone(&self.keys.lock().unwrap()))
    }

    fn refresh_for_unknown_kid(&self, _kid: Option<&str>) -> KeySetFuture<'_> {
        *self.refreshes.lock().unwrap() += 1;
        let keys = self.current();
        Box::pin(async move { keys })
    }
}
