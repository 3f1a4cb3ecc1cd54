//! Side-by-side benchmarks of ddf-auth against its peer crates.
//!
//! This member stays out of the workspace's `default-members`, so the peers'
//! dependencies are compiled only by `cargo bench -p ddf-bench-peers`. The
//! library holds the inputs every benchmark shares: one key per algorithm,
//! one Keycloak-sized access token per algorithm signed with it, and the bare
//! aws-lc-rs signature check of those bytes (the floor).
//!
//! # Example
//!
//! ```
//! use ddf_bench_peers::{Fixtures, unix_now};
//!
//! let fixtures = Fixtures::generate(unix_now());
//! for case in &fixtures.cases {
//!     let (input, signature) = case.signing_input_and_signature();
//!     assert!(case.floor.verify(input.as_bytes(), &signature), "{}", case.alg);
//! }
//! ```

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, ParsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// The `iss` of every token.
pub const ISSUER: &str = "http://127.0.0.1/realms/bench";
/// The audience every validator requires; tokens carry it and `account`.
pub const AUDIENCE: &str = "orders-api";
/// The HMAC secret for HS256: 32 bytes, printable so that peers taking the
/// secret as `&str` (jwt-authorizer) get the same bytes.
pub const HMAC_SECRET: &[u8; 32] = b"ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ";
/// Seconds before `now` at which every token was issued.
pub const ISSUED_AGO: u64 = 60;
/// Seconds after `now` at which every token expires, long enough for a full
/// benchmark run, because several peers read the system clock.
pub const EXPIRES_IN: u64 = 4 * 3600;

/// Returns the current Unix time in seconds.
///
/// # Panics
///
/// Panics when the system clock is before 1970.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("system clock is after 1970")
        .as_secs()
}

/// Encodes bytes as unpadded base64url.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The JWS algorithms compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit key.
    Rs256,
    /// RSASSA-PSS with SHA-256, the same 2048-bit key.
    Ps256,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// Ed25519.
    EdDsa,
    /// HMAC with SHA-256.
    Hs256,
}

impl Alg {
    /// All algorithms in table order.
    pub const ALL: [Self; 5] = [
        Self::Rs256,
        Self::Ps256,
        Self::Es256,
        Self::EdDsa,
        Self::Hs256,
    ];

    /// Returns the JOSE `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Ps256 => "PS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
            Self::Hs256 => "HS256",
        }
    }

    /// Returns the `kid` of the key that signs tokens of this algorithm.
    pub fn kid(self) -> &'static str {
        match self {
            Self::Rs256 | Self::Ps256 => "rsa-1",
            Self::Es256 => "ec-1",
            Self::EdDsa => "ed-1",
            Self::Hs256 => "hs-1",
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The bare signature check of a token's bytes with a key parsed beforehand.
pub enum Floor {
    /// An aws-lc-rs public key, parsed once.
    Parsed(ParsedPublicKey),
    /// An aws-lc-rs HMAC key (boxed: it holds over a kilobyte of state).
    Hmac(Box<hmac::Key>),
}

impl Floor {
    /// Verifies `signature` over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::Parsed(key) => key.verify_sig(message, signature).is_ok(),
            Self::Hmac(key) => hmac::verify(key, message, signature).is_ok(),
        }
    }
}

impl fmt::Debug for Floor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Parsed(_) => "Floor::Parsed",
            Self::Hmac(_) => "Floor::Hmac",
        })
    }
}

/// Public key material in the raw forms the peers take.
#[derive(Debug, Clone)]
pub enum PublicKey {
    /// RSA modulus and exponent, big-endian without leading zeros.
    Rsa {
        /// Modulus.
        n: Vec<u8>,
        /// Public exponent.
        e: Vec<u8>,
    },
    /// An uncompressed SEC1 P-256 point (`04 || x || y`).
    P256(Vec<u8>),
    /// A 32-byte Ed25519 public key.
    Ed25519(Vec<u8>),
    /// The HMAC secret ([`HMAC_SECRET`]).
    Secret(Vec<u8>),
}

/// One algorithm's token and the key that verifies it.
#[derive(Debug)]
pub struct TokenCase {
    /// The algorithm.
    pub alg: Alg,
    /// The compact JWS.
    pub token: String,
    /// The verifying key in raw form.
    pub key: PublicKey,
    /// The verifying key as a JWK (with `kid`, without `alg`); an `oct` JWK
    /// for HS256.
    pub jwk: Value,
    /// The bare signature check.
    pub floor: Floor,
}

impl TokenCase {
    /// Splits the token into its signing input and decoded signature.
    ///
    /// # Panics
    ///
    /// Panics when the token is not a compact JWS, which [`Fixtures`] never
    /// produces.
    pub fn signing_input_and_signature(&self) -> (&str, Vec<u8>) {
        let (input, signature) = self
            .token
            .rsplit_once('.')
            .expect("a compact JWS has a signature part");
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .expect("the signature part is base64url");
        (input, signature)
    }

    /// Returns a JWKS document holding this case's key.
    pub fn jwks_json(&self) -> String {
        json!({ "keys": [self.jwk] }).to_string()
    }
}

/// Keys and tokens for every algorithm in [`Alg::ALL`].
#[derive(Debug)]
pub struct Fixtures {
    /// The Unix time the tokens were issued around.
    pub now: u64,
    /// One case per algorithm, in [`Alg::ALL`] order.
    pub cases: Vec<TokenCase>,
}

impl Fixtures {
    /// Generates fresh keys and signs one token per algorithm, issued
    /// [`ISSUED_AGO`] seconds before `now` and expiring [`EXPIRES_IN`]
    /// seconds after it.
    ///
    /// # Panics
    ///
    /// Panics when aws-lc-rs fails to generate a key or sign, which only an
    /// unusable random source causes.
    pub fn generate(now: u64) -> Self {
        let claims = claims(now);
        let cases = vec![
            rsa_cases(&claims),
            vec![ec_case(&claims), ed_case(&claims), hmac_case(&claims)],
        ]
        .into_iter()
        .flatten()
        .collect();
        Self { now, cases }
    }

    /// Returns the case for `alg`.
    ///
    /// # Panics
    ///
    /// Panics if `alg` has no case, which [`Fixtures::generate`] rules out.
    pub fn case(&self, alg: Alg) -> &TokenCase {
        self.cases
            .iter()
            .find(|case| case.alg == alg)
            .expect("every algorithm has a case")
    }
}

/// A Keycloak-sized access-token payload: about 790 bytes of signing input
/// with the header.
pub fn claims(now: u64) -> Value {
    json!({
        "exp": now + EXPIRES_IN, "iat": now - ISSUED_AGO, "auth_time": now - ISSUED_AGO - 5,
        "jti": "onrtac:3c1e2f44-7a0b-4c7e-9d2a-1f5e6b7c8d90",
        "iss": ISSUER, "aud": [AUDIENCE, "account"],
        "sub": "5b7c1d9e-2f3a-4b5c-8d6e-7f8091a2b3c4", "typ": "Bearer",
        "azp": "web-frontend", "sid": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "acr": "1",
        "allowed-origins": ["https://app.example.test"],
        "realm_access": {"roles": ["default-roles-bench", "offline_access", "uma_authorization", "user"]},
        "resource_access": {"orders-api": {"roles": ["orders:read", "orders:write"]}},
        "scope": "openid profile email", "email_verified": true,
        "preferred_username": "user-0001", "email": "user-0001@example.test"
    })
}

fn sign_token(alg: Alg, claims: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let header = json!({"alg": alg.as_str(), "typ": "JWT", "kid": alg.kid()}).to_string();
    let input = format!(
        "{}.{}",
        b64(header.as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = sign(input.as_bytes());
    format!("{input}.{}", b64(&signature))
}

/// Reads the modulus and exponent from a DER `RSAPublicKey`.
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
    fn strip_zeros(bytes: &[u8]) -> Vec<u8> {
        let first = bytes.iter().position(|byte| *byte != 0).unwrap_or(0);
        bytes[first..].to_vec()
    }
    let (body, _) = element(der);
    let (n, rest) = element(body);
    let (e, _) = element(rest);
    (strip_zeros(n), strip_zeros(e))
}

fn rsa_cases(claims: &Value) -> Vec<TokenCase> {
    let rng = SystemRandom::new();
    let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key generation");
    let (n, e) = rsa_components(pair.public_key().as_ref());
    let jwk =
        json!({"kty": "RSA", "kid": Alg::Rs256.kid(), "use": "sig", "n": b64(&n), "e": b64(&e)});

    let case = |alg: Alg,
                encoding: &'static dyn signature::RsaEncoding,
                params: &'static signature::RsaParameters| {
        let token = sign_token(alg, claims, |input| {
            let mut out = vec![0; pair.public_modulus_len()];
            pair.sign(encoding, &rng, input, &mut out)
                .expect("RSA signing");
            out
        });
        let parsed = signature::RsaPublicKeyComponents {
            n: n.clone(),
            e: e.clone(),
        }
        .to_parsed_public_key(params)
        .expect("RSA public key");
        TokenCase {
            alg,
            token,
            key: PublicKey::Rsa {
                n: n.clone(),
                e: e.clone(),
            },
            jwk: jwk.clone(),
            floor: Floor::Parsed(parsed),
        }
    };
    vec![
        case(
            Alg::Rs256,
            &signature::RSA_PKCS1_SHA256,
            &signature::RSA_PKCS1_2048_8192_SHA256,
        ),
        case(
            Alg::Ps256,
            &signature::RSA_PSS_SHA256,
            &signature::RSA_PSS_2048_8192_SHA256,
        ),
    ]
}

fn ec_case(claims: &Value) -> TokenCase {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .expect("P-256 key generation");
    let pair =
        EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
            .expect("P-256 key parse");
    let point = pair.public_key().as_ref().to_vec();
    let token = sign_token(Alg::Es256, claims, |input| {
        pair.sign(&rng, input)
            .expect("ECDSA signing")
            .as_ref()
            .to_vec()
    });
    let parsed = ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &point)
        .expect("P-256 public key");
    TokenCase {
        alg: Alg::Es256,
        token,
        jwk: json!({"kty": "EC", "crv": "P-256", "kid": Alg::Es256.kid(), "use": "sig",
                    "x": b64(&point[1..33]), "y": b64(&point[33..])}),
        key: PublicKey::P256(point),
        floor: Floor::Parsed(parsed),
    }
}

fn ed_case(claims: &Value) -> TokenCase {
    let pair = Ed25519KeyPair::generate().expect("Ed25519 key generation");
    let public = pair.public_key().as_ref().to_vec();
    let token = sign_token(Alg::EdDsa, claims, |input| {
        pair.sign(input).as_ref().to_vec()
    });
    let parsed = ParsedPublicKey::new(&signature::ED25519, &public).expect("Ed25519 public key");
    TokenCase {
        alg: Alg::EdDsa,
        token,
        jwk: json!({"kty": "OKP", "crv": "Ed25519", "kid": Alg::EdDsa.kid(), "use": "sig",
                    "x": b64(&public)}),
        key: PublicKey::Ed25519(public),
        floor: Floor::Parsed(parsed),
    }
}

fn hmac_case(claims: &Value) -> TokenCase {
    let key = hmac::Key::new(hmac::HMAC_SHA256, HMAC_SECRET);
    let token = sign_token(Alg::Hs256, claims, |input| {
        hmac::sign(&key, input).as_ref().to_vec()
    });
    TokenCase {
        alg: Alg::Hs256,
        token,
        jwk: json!({"kty": "oct", "kid": Alg::Hs256.kid(), "k": b64(HMAC_SECRET)}),
        key: PublicKey::Secret(HMAC_SECRET.to_vec()),
        floor: Floor::Hmac(Box::new(key)),
    }
}
