//! Helpers shared by the `issue_*` integration tests.

#![allow(
    dead_code,
    reason = "each test binary uses a different subset of the helpers"
)]

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use ddf_jwt::issue::{KeySchedule, Keyring, RotationSettings, SigningAlgorithm, SigningKey};
use ddf_rbac::ManualClock;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

pub(crate) const ISSUER: &str = "https://llm.example.test";
pub(crate) const AUDIENCE: &str = "inference";
pub(crate) const ASYMMETRIC: [SigningAlgorithm; 4] = [
    SigningAlgorithm::EdDSA,
    SigningAlgorithm::ES256,
    SigningAlgorithm::RS256,
    SigningAlgorithm::PS256,
];

/// Returns the path of a file under `tests/fixtures/issue/`.
pub(crate) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/issue")
        .join(name)
}

/// Reads a fixture file as text.
pub(crate) fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).expect("fixture is readable")
}

/// A directory under the system temp dir, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(label: &str) -> Self {
        let mut random = [0u8; 8];
        aws_lc_rs::rand::fill(&mut random).expect("random bytes");
        let name = format!(
            "ddf-jwt-{label}-{}-{}",
            std::process::id(),
            u64::from_le_bytes(random)
        );
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path).expect("temp dir is creatable");
        Self(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Returns the current system time in Unix seconds.
pub(crate) fn system_now() -> u64 {
    ddf_rbac::Clock::unix_seconds(&ddf_rbac::SystemClock)
}

/// Returns a keyring on a manual clock set to the system time, holding one
/// freshly generated active key per algorithm given, with kids `key-<alg>`.
pub(crate) fn keyring_with(algs: &[SigningAlgorithm]) -> (Arc<Keyring>, ManualClock) {
    let now = system_now();
    let clock = ManualClock::at_unix_seconds(now);
    let keyring = Arc::new(Keyring::new(
        RotationSettings::default(),
        Arc::new(clock.clone()),
    ));
    for (offset, alg) in algs.iter().enumerate() {
        let key = SigningKey::generate(*alg).expect("key generation");
        let schedule = KeySchedule::active_from(now - 10 + offset as u64);
        keyring
            .insert(&format!("key-{alg}"), key, schedule)
            .expect("insert key");
    }
    (keyring, clock)
}

/// Serves `router` on a free port of 127.0.0.1 and returns its base URL.
#[cfg(feature = "publish")]
pub(crate) async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        axum::serve(listener, router).await.expect("server runs");
    });
    format!("http://{address}")
}

/// Fetches the JWKS from a publisher and returns it with its `Cache-Control`.
pub(crate) async fn fetch_jwks(base: &str) -> (JwkSet, String) {
    let response = reqwest::get(format!("{base}/.well-known/jwks.json"))
        .await
        .expect("JWKS request");
    assert_eq!(response.status(), 200);
    let cache_control = response
        .headers()
        .get("cache-control")
        .expect("Cache-Control header")
        .to_str()
        .expect("ASCII header")
        .to_owned();
    let jwks = response.json::<JwkSet>().await.expect("JWKS JSON");
    (jwks, cache_control)
}

/// The registered claims a test checks, plus one extra claim.
#[derive(Debug, Deserialize, PartialEq, Eq)]
pub(crate) struct Claims {
    pub(crate) iss: String,
    pub(crate) sub: String,
    pub(crate) aud: String,
    pub(crate) exp: u64,
    pub(crate) nbf: u64,
    pub(crate) iat: u64,
    pub(crate) jti: String,
    #[serde(default)]
    pub(crate) roles: Vec<String>,
}

/// Why [`verify`] rejected a token.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// The token's kid is not in the JWKS.
    KeyNotFound,
    /// `exp` has passed at `now`.
    Expired,
    /// jsonwebtoken rejected the token, with its error kind in `Debug` form.
    Invalid(String),
}

fn invalid(error: &jsonwebtoken::errors::Error) -> Rejection {
    Rejection::Invalid(format!("{:?}", error.kind()))
}

/// Verifies `token` with jsonwebtoken against a key of the published `jwks`,
/// checking `exp` against `now` instead of the system clock.
pub(crate) fn verify(token: &str, jwks: &JwkSet, now: u64) -> Result<Claims, Rejection> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| invalid(&e))?;
    let kid = header.kid.as_deref().ok_or(Rejection::KeyNotFound)?;
    let jwk = jwks.find(kid).ok_or(Rejection::KeyNotFound)?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| invalid(&e))?;

    let alg = Algorithm::from_str(
        jwk.common
            .key_algorithm
            .expect("JWK alg")
            .to_string()
            .as_str(),
    )
    .expect("known alg");
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    // The manual clock decides expiry, so the test can move time.
    validation.validate_exp = false;
    let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| invalid(&e))?;
    assert_eq!(data.header.typ.as_deref(), Some("at+jwt"));
    if data.claims.exp <= now {
        return Err(Rejection::Expired);
    }
    Ok(data.claims)
}
