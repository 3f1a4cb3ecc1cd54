//! Keys parsed once into ready-to-verify form, and sets of them.
//!
//! A JWKS document is parsed tolerantly: an entry that is not a usable public
//! signature key is skipped and reported with a [`SkipReason`], never fatal
//! for the set. Each entry is parsed strictly: `use` must be absent or `sig`,
//! `key_ops` absent or containing `verify`, `alg` absent or a supported
//! algorithm of the key's type, no private members, RSA 2048-8192 bits with
//! an odd exponent of at most 32 bits, EC points on P-256 or P-384, Ed25519.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents};
use aws_lc_rs::{digest, hmac};
use serde::Deserialize;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::alg::{AlgSet, KeyFamily};
use crate::error::{JwtError, SkipReason};
use crate::{Algorithm, b64, json};

/// Smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted, in bits (the crypto backend's upper bound).
pub const MAX_RSA_BITS: usize = 8192;

/// How a JWKS document is loaded.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JwksOptions {
    /// Keys after this many entries are skipped ([`SkipReason::TooManyKeys`]).
    /// Default 64.
    pub max_keys: usize,
    /// Loads `oct` (HMAC) keys instead of skipping them, unless the document
    /// also holds public keys (then its `oct` entries are still skipped).
    ///
    /// **Warning:** enable this only for a JWKS file that you configured
    /// locally. A JWKS published by an identity provider is public, and an
    /// HMAC key taken from it lets anyone sign tokens. Default `false`.
    pub allow_symmetric_keys: bool,
}

impl Default for JwksOptions {
    fn default() -> Self {
        Self {
            max_keys: 64,
            allow_symmetric_keys: false,
        }
    }
}

/// A JWKS entry that was not loaded, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SkippedKey {
    /// Position of the entry in the document's `keys` array.
    pub index: usize,
    /// The entry's `kid`, if it had a string one (shortened to 64 characters).
    pub kid: Option<String>,
    /// Why it was skipped.
    pub reason: SkipReason,
}

/// An identifier of a key's public material, stable across reloads of the
/// same key, so a cache can tell whether the key that verified a token is
/// still in the current set.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyFingerprint([u8; 32]);

impl KeyFingerprint {
    /// Returns the SHA-256 digest behind the fingerprint.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Prints the first 8 bytes in hex: enough to tell keys apart in a log,
/// and for an HMAC key no more of a digest of the secret than that.
impl fmt::Display for KeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in &self.0[..8] {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for KeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyFingerprint({self})")
    }
}

/// The parsed key material, one backend key object per usable algorithm.
enum KeyMaterial {
    Public {
        by_alg: Vec<(Algorithm, ParsedPublicKey)>,
        /// Exact signature length for RSA keys (the modulus length in bytes).
        rsa_len: Option<usize>,
    },
    Hmac(Vec<(Algorithm, hmac::Key)>),
}

/// One key, parsed once and ready to verify signatures.
pub struct VerifyingKey {
    kid: Option<String>,
    family: KeyFamily,
    algorithms: AlgSet,
    material: KeyMaterial,
    fingerprint: KeyFingerprint,
    description: String,
}

impl VerifyingKey {
    /// Returns the key id, if the key has one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Returns the algorithms this key may verify.
    pub fn algorithms(&self) -> Vec<Algorithm> {
        self.algorithms.iter().collect()
    }

    /// Returns whether this key may verify `alg`.
    pub fn allows(&self, alg: Algorithm) -> bool {
        self.algorithms.contains(alg)
    }

    /// Returns the JWK key type: `RSA`, `EC`, `OKP` or `oct`.
    pub fn key_type(&self) -> &'static str {
        match self.family {
            KeyFamily::Rsa => "RSA",
            KeyFamily::P256 | KeyFamily::P384 => "EC",
            KeyFamily::Ed25519 => "OKP",
            KeyFamily::Hmac => "oct",
        }
    }

    /// Returns a short description such as `RSA 2048 bits` or `EC P-256`.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Returns the fingerprint of the key material.
    pub fn fingerprint(&self) -> KeyFingerprint {
        self.fingerprint
    }

    /// Verifies `signature` over `message` with `alg`; `false` when the key
    /// does not allow `alg` or the signature is invalid.
    pub(crate) fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        match &self.material {
            KeyMaterial::Public { by_alg, rsa_len } => {
                if rsa_len.is_some_and(|len| len != signature.len()) {
                    return false;
                }
                by_alg
                    .iter()
                    .find(|(allowed, _)| *allowed == alg)
                    .is_some_and(|(_, key)| key.verify_sig(message, signature).is_ok())
            }
            KeyMaterial::Hmac(by_alg) => by_alg
                .iter()
                .find(|(allowed, _)| *allowed == alg)
                .is_some_and(|(_, key)| hmac::verify(key, message, signature).is_ok()),
        }
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("key", &self.description)
            .field("algorithms", &self.algorithms)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);

/// A set of parsed keys, as loaded from one JWKS document or configuration.
///
/// A key set is immutable; a source that refreshes keys builds a new set and
/// swaps it in. Each set gets a process-unique [`generation`](Self::generation).
#[derive(Debug)]
pub struct KeySet {
    keys: Vec<Arc<VerifyingKey>>,
    skipped: Vec<SkippedKey>,
    generation: u64,
}

impl KeySet {
    /// Returns a set with no keys.
    pub fn empty() -> Self {
        Self::from_parts(Vec::new(), Vec::new())
    }

    /// Returns a builder for locally configured keys (PEM public keys, HMAC secrets).
    pub fn builder() -> KeySetBuilder {
        KeySetBuilder::default()
    }

    /// Parses a JWKS document (`{"keys": [...]}`) with default [`JwksOptions`].
    ///
    /// Returns the usable keys and the entries that were skipped, with reasons.
    ///
    /// # Errors
    ///
    /// [`JwtError::JwksInvalid`] when the document is not strict JSON or not
    /// an object whose `keys` member is an array. Broken entries are skipped,
    /// not errors.
    pub fn from_jwks_json(document: impl AsRef<[u8]>) -> Result<(Self, Vec<SkippedKey>), JwtError> {
        Self::from_jwks_json_with(document, &JwksOptions::default())
    }

    /// Parses a JWKS document with explicit options; see [`KeySet::from_jwks_json`].
    pub fn from_jwks_json_with(
        document: impl AsRef<[u8]>,
        options: &JwksOptions,
    ) -> Result<(Self, Vec<SkippedKey>), JwtError> {
        let members = json::parse_object(document.as_ref()).map_err(|reason| {
            JwtError::jwks_invalid(format!(
                "the document is not a strict JSON object ({reason})"
            ))
        })?;
        let Some(Value::Array(entries)) = members.get("keys") else {
            return Err(JwtError::jwks_invalid("the document has no `keys` array"));
        };

        // A document that mixes HMAC secrets with public keys is a public
        // key set that leaked a secret, or a confused configuration: its
        // `oct` entries are never loaded.
        let has_public_keys = entries
            .iter()
            .any(|entry| entry.get("kty").is_some_and(|kty| kty != "oct"));
        let options = &JwksOptions {
            allow_symmetric_keys: options.allow_symmetric_keys && !has_public_keys,
            ..options.clone()
        };

        let mut keys = Vec::new();
        let mut skipped = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            let kid = entry
                .get("kid")
                .and_then(Value::as_str)
                .map(crate::error::shorten);
            if index >= options.max_keys {
                skipped.push(SkippedKey {
                    index,
                    kid,
                    reason: SkipReason::TooManyKeys,
                });
                continue;
            }
            match parse_jwk(entry, options) {
                Ok(key) => keys.push(key),
                Err(reason) => skipped.push(SkippedKey { index, kid, reason }),
            }
        }

        let set = Self::from_parts(keys, skipped.clone());
        Ok((set, skipped))
    }

    fn from_parts(keys: Vec<VerifyingKey>, skipped: Vec<SkippedKey>) -> Self {
        Self {
            keys: keys.into_iter().map(Arc::new).collect(),
            skipped,
            generation: NEXT_GENERATION.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Returns the key ids of the usable keys, in document order (keys
    /// without a `kid` are left out).
    pub fn key_ids(&self) -> Vec<&str> {
        self.keys.iter().filter_map(|key| key.kid()).collect()
    }

    /// Returns the usable keys.
    pub fn keys(&self) -> &[Arc<VerifyingKey>] {
        &self.keys
    }

    /// Returns the entries skipped when the set was loaded.
    pub fn skipped(&self) -> &[SkippedKey] {
        &self.skipped
    }

    /// Returns the number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Returns whether the set has no usable key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Returns the process-unique number of this set; a reloaded set has a
    /// new one even if it holds the same keys.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Returns whether a key with this fingerprint is in the set.
    pub fn contains(&self, fingerprint: &KeyFingerprint) -> bool {
        self.keys.iter().any(|key| key.fingerprint == *fingerprint)
    }

    /// Returns the keys that may verify a token with this `kid` and `alg`:
    /// keys whose kid equals the token's, plus keys without a kid, that allow
    /// `alg`. Without a token kid every key that allows `alg` is a candidate.
    pub(crate) fn candidates<'a>(
        &'a self,
        kid: Option<&'a str>,
        alg: Algorithm,
    ) -> impl Iterator<Item = &'a Arc<VerifyingKey>> + 'a {
        self.keys.iter().filter(move |key| {
            let kid_matches = match (kid, key.kid()) {
                (Some(wanted), Some(held)) => wanted == held,
                _ => true,
            };
            kid_matches && key.allows(alg)
        })
    }

    /// Returns why an entry with this kid was skipped at load, for error messages.
    pub(crate) fn skip_reason_for(&self, kid: Option<&str>) -> Option<SkipReason> {
        let kid = kid?;
        self.skipped
            .iter()
            .find(|skipped| skipped.kid.as_deref() == Some(kid))
            .map(|skipped| skipped.reason)
    }
}

impl Default for KeySet {
    fn default() -> Self {
        Self::empty()
    }
}

/// Builds a [`KeySet`] from locally configured keys.
///
/// ```
/// use ddf_jwt::{Algorithm, KeySet};
///
/// let keys = KeySet::builder()
///     .hmac_secret(Some("local-1"), &[7_u8; 32], &[Algorithm::HS256])?
///     .build();
/// assert_eq!(keys.key_ids(), ["local-1"]);
/// # Ok::<(), ddf_jwt::JwtError>(())
/// ```
#[derive(Debug, Default)]
pub struct KeySetBuilder {
    keys: Vec<VerifyingKey>,
}

impl KeySetBuilder {
    /// Adds a PEM public key (RSA `PUBLIC KEY` / SPKI, EC SPKI on P-256 or
    /// P-384, or Ed25519 SPKI). `algorithms` restricts what it may verify;
    /// empty means every algorithm of its type.
    ///
    /// # Errors
    ///
    /// [`JwtError::KeyInvalid`] when the PEM is not a supported public key,
    /// the RSA key is outside 2048-8192 bits, or an algorithm does not fit
    /// the key type.
    pub fn public_key_pem(
        mut self,
        kid: Option<&str>,
        pem: &[u8],
        algorithms: &[Algorithm],
    ) -> Result<Self, JwtError> {
        let key = parse_pem(kid, pem, algorithms)?;
        self.keys.push(key);
        Ok(self)
    }

    /// Adds an HMAC secret. `algorithms` empty means every HS algorithm whose
    /// hash output is no longer than the secret.
    ///
    /// # Errors
    ///
    /// [`JwtError::KeyInvalid`] when the secret is shorter than the hash
    /// output of a requested algorithm (32, 48 or 64 bytes), or an algorithm
    /// is not an HMAC.
    pub fn hmac_secret(
        mut self,
        kid: Option<&str>,
        secret: &[u8],
        algorithms: &[Algorithm],
    ) -> Result<Self, JwtError> {
        let requested = if algorithms.is_empty() {
            let fitting: Vec<Algorithm> = [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512]
                .into_iter()
                .filter(|alg| secret.len() >= alg.min_secret_len())
                .collect();
            if fitting.is_empty() {
                return Err(JwtError::key_invalid(format!(
                    "HMAC secret is {} bytes; HS256 needs at least 32",
                    secret.len()
                )));
            }
            fitting
        } else {
            algorithms.to_vec()
        };
        for alg in &requested {
            if !alg.is_symmetric() {
                return Err(JwtError::key_invalid(format!(
                    "{alg} is not an HMAC algorithm; an HMAC secret can only verify HS256, HS384 or HS512"
                )));
            }
            if secret.len() < alg.min_secret_len() {
                return Err(JwtError::key_invalid(format!(
                    "HMAC secret is {} bytes; {alg} needs at least {}",
                    secret.len(),
                    alg.min_secret_len()
                )));
            }
        }
        self.keys
            .push(hmac_key(kid, secret, AlgSet::from_slice(&requested)));
        Ok(self)
    }

    /// Adds every key of a JWKS document, like [`KeySet::from_jwks_json_with`],
    /// and returns the skipped entries beside the builder.
    pub fn jwks_json(
        mut self,
        document: impl AsRef<[u8]>,
        options: &JwksOptions,
    ) -> Result<(Self, Vec<SkippedKey>), JwtError> {
        let (set, skipped) = KeySet::from_jwks_json_with(document, options)?;
        for key in set.keys {
            // A freshly built set holds the only reference to each key.
            if let Ok(key) = Arc::try_unwrap(key) {
                self.keys.push(key);
            }
        }
        Ok((self, skipped))
    }

    /// Returns the finished set.
    pub fn build(self) -> KeySet {
        KeySet::from_parts(self.keys, Vec::new())
    }
}

fn parse_jwk(entry: &Value, options: &JwksOptions) -> Result<VerifyingKey, SkipReason> {
    let Value::Object(members) = entry else {
        return Err(SkipReason::NotAnObject);
    };

    let kid = optional_str(members, "kid")?;
    match optional_str(members, "use")? {
        None | Some("sig") => {}
        Some("enc") => return Err(SkipReason::EncryptionKey),
        Some(_) => return Err(SkipReason::NotForVerification),
    }
    if let Some(ops) = members.get("key_ops") {
        let Value::Array(ops) = ops else {
            return Err(SkipReason::MalformedMember);
        };
        if ops.iter().any(|op| !op.is_string()) {
            return Err(SkipReason::MalformedMember);
        }
        if !ops.iter().any(|op| op == "verify") {
            return Err(SkipReason::NotForVerification);
        }
    }
    let alg = optional_str(members, "alg")?;
    let kty = optional_str(members, "kty")?.ok_or(SkipReason::UnsupportedKeyType)?;

    match kty {
        "RSA" => {
            reject_private(members, &["d", "p", "q", "dp", "dq", "qi", "oth"])?;
            let algorithms = allowed_algorithms(alg, KeyFamily::Rsa)?;
            let n = required_b64(members, "n")?;
            let e = required_b64(members, "e")?;
            rsa_key(kid, &n, &e, algorithms)
        }
        "EC" => {
            reject_private(members, &["d"])?;
            let family = match optional_str(members, "crv")? {
                Some("P-256") => KeyFamily::P256,
                Some("P-384") => KeyFamily::P384,
                _ => return Err(SkipReason::UnsupportedCurve),
            };
            let algorithms = allowed_algorithms(alg, family)?;
            let x = required_b64(members, "x")?;
            let y = required_b64(members, "y")?;
            ec_key(kid, family, &x, &y, algorithms)
        }
        "OKP" => {
            reject_private(members, &["d"])?;
            if optional_str(members, "crv")? != Some("Ed25519") {
                return Err(SkipReason::UnsupportedCurve);
            }
            let algorithms = allowed_algorithms(alg, KeyFamily::Ed25519)?;
            let x = required_b64(members, "x")?;
            ed25519_key(kid, &x, algorithms)
        }
        "oct" => {
            if !options.allow_symmetric_keys {
                return Err(SkipReason::SymmetricKeyNotAllowed);
            }
            let secret = Zeroizing::new(required_b64(members, "k")?);
            let algorithms = hmac_algorithms(alg, secret.len())?;
            Ok(hmac_key(kid, &secret, algorithms))
        }
        _ => Err(SkipReason::UnsupportedKeyType),
    }
}

/// Returns the HMAC algorithms an `oct` key may verify: its JWK `alg`, or
/// every HS algorithm whose hash output is no longer than the secret.
fn hmac_algorithms(alg: Option<&str>, secret_len: usize) -> Result<AlgSet, SkipReason> {
    if let Some(name) = alg {
        let alg = Algorithm::from_name(name).ok_or(SkipReason::UnsupportedAlgorithm)?;
        if !alg.is_symmetric() {
            return Err(SkipReason::AlgorithmKeyMismatch);
        }
        if secret_len < alg.min_secret_len() {
            return Err(SkipReason::InvalidKeyMaterial);
        }
        return Ok(AlgSet::from_slice(&[alg]));
    }
    let fitting: Vec<Algorithm> = [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512]
        .into_iter()
        .filter(|alg| secret_len >= alg.min_secret_len())
        .collect();
    if fitting.is_empty() {
        return Err(SkipReason::InvalidKeyMaterial);
    }
    Ok(AlgSet::from_slice(&fitting))
}

fn optional_str<'a>(
    members: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, SkipReason> {
    match members.get(name) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(SkipReason::MalformedMember),
    }
}

fn required_b64(members: &Map<String, Value>, name: &str) -> Result<Vec<u8>, SkipReason> {
    let text = optional_str(members, name)?.ok_or(SkipReason::MalformedMember)?;
    b64::decode(text.as_bytes()).ok_or(SkipReason::MalformedMember)
}

fn reject_private(members: &Map<String, Value>, names: &[&str]) -> Result<(), SkipReason> {
    if names.iter().any(|name| members.contains_key(*name)) {
        return Err(SkipReason::PrivateKeyMaterial);
    }
    Ok(())
}

/// Returns the algorithms a key of `family` may verify given its JWK `alg`.
fn allowed_algorithms(alg: Option<&str>, family: KeyFamily) -> Result<AlgSet, SkipReason> {
    match alg {
        None => Ok(AlgSet::family(family)),
        Some(name) => {
            let alg = Algorithm::from_name(name).ok_or(SkipReason::UnsupportedAlgorithm)?;
            if alg.family() != family {
                return Err(SkipReason::AlgorithmKeyMismatch);
            }
            Ok(AlgSet::from_slice(&[alg]))
        }
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|byte| *byte != 0)
        .unwrap_or(bytes.len());
    &bytes[start..]
}

fn fingerprint(kty: &str, parts: &[&[u8]]) -> KeyFingerprint {
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(b"ddf-jwt key fingerprint v1\0");
    context.update(kty.as_bytes());
    for part in parts {
        context.update(&(part.len() as u64).to_be_bytes());
        context.update(part);
    }
    let mut out = [0_u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    KeyFingerprint(out)
}

fn rsa_parameters(alg: Algorithm) -> &'static signature::RsaParameters {
    match alg {
        Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
        _ => &signature::RSA_PKCS1_2048_8192_SHA256,
    }
}

fn rsa_key(
    kid: Option<&str>,
    n: &[u8],
    e: &[u8],
    algorithms: AlgSet,
) -> Result<VerifyingKey, SkipReason> {
    let n = strip_leading_zeros(n);
    let e = strip_leading_zeros(e);
    let bits = match n.first() {
        Some(first) => n.len() * 8 - first.leading_zeros() as usize,
        None => 0,
    };
    if bits < MIN_RSA_BITS {
        return Err(SkipReason::WeakRsaKey);
    }
    if bits > MAX_RSA_BITS {
        return Err(SkipReason::RsaKeyTooLarge);
    }
    // The exponent must be odd, at least 3 and at most 32 bits.
    let exponent_ok = !e.is_empty()
        && e.len() <= 4
        && e.last().is_some_and(|low| low & 1 == 1)
        && !(e.len() == 1 && e[0] < 3);
    if !exponent_ok {
        return Err(SkipReason::InvalidRsaExponent);
    }

    let components = RsaPublicKeyComponents { n, e };
    let mut by_alg = Vec::new();
    for alg in algorithms.iter() {
        let parsed = components
            .to_parsed_public_key(rsa_parameters(alg))
            .map_err(|_| SkipReason::InvalidKeyMaterial)?;
        by_alg.push((alg, parsed));
    }
    Ok(VerifyingKey {
        kid: kid.map(str::to_owned),
        family: KeyFamily::Rsa,
        algorithms,
        material: KeyMaterial::Public {
            by_alg,
            rsa_len: Some(n.len()),
        },
        fingerprint: fingerprint("RSA", &[n, e]),
        description: format!("RSA {bits} bits"),
    })
}

fn ec_key(
    kid: Option<&str>,
    family: KeyFamily,
    x: &[u8],
    y: &[u8],
    algorithms: AlgSet,
) -> Result<VerifyingKey, SkipReason> {
    let (len, curve) = match family {
        KeyFamily::P256 => (32, "P-256"),
        _ => (48, "P-384"),
    };
    if x.len() != len || y.len() != len {
        return Err(SkipReason::MalformedMember);
    }
    let mut point = Vec::with_capacity(1 + 2 * len);
    point.push(0x04);
    point.extend_from_slice(x);
    point.extend_from_slice(y);
    ec_point_key(kid, family, &point, algorithms).map(|key| VerifyingKey {
        description: format!("EC {curve}"),
        ..key
    })
}

fn ec_point_key(
    kid: Option<&str>,
    family: KeyFamily,
    point: &[u8],
    algorithms: AlgSet,
) -> Result<VerifyingKey, SkipReason> {
    let (algorithm, curve): (&'static dyn signature::VerificationAlgorithm, &str) = match family {
        KeyFamily::P256 => (&signature::ECDSA_P256_SHA256_FIXED, "P-256"),
        _ => (&signature::ECDSA_P384_SHA384_FIXED, "P-384"),
    };
    let parsed =
        ParsedPublicKey::new(algorithm, point).map_err(|_| SkipReason::InvalidKeyMaterial)?;
    let alg = if family == KeyFamily::P256 {
        Algorithm::ES256
    } else {
        Algorithm::ES384
    };
    Ok(VerifyingKey {
        kid: kid.map(str::to_owned),
        family,
        algorithms,
        material: KeyMaterial::Public {
            by_alg: vec![(alg, parsed)],
            rsa_len: None,
        },
        fingerprint: fingerprint("EC", &[curve.as_bytes(), point]),
        description: format!("EC {curve}"),
    })
}

fn ed25519_key(
    kid: Option<&str>,
    x: &[u8],
    algorithms: AlgSet,
) -> Result<VerifyingKey, SkipReason> {
    if x.len() != 32 {
        return Err(SkipReason::MalformedMember);
    }
    let parsed =
        ParsedPublicKey::new(&signature::ED25519, x).map_err(|_| SkipReason::InvalidKeyMaterial)?;
    Ok(VerifyingKey {
        kid: kid.map(str::to_owned),
        family: KeyFamily::Ed25519,
        algorithms,
        material: KeyMaterial::Public {
            by_alg: vec![(Algorithm::EdDSA, parsed)],
            rsa_len: None,
        },
        fingerprint: fingerprint("OKP", &[b"Ed25519", x]),
        description: "OKP Ed25519".to_owned(),
    })
}

fn hmac_key(kid: Option<&str>, secret: &[u8], algorithms: AlgSet) -> VerifyingKey {
    let by_alg = algorithms
        .iter()
        .map(|alg| {
            let hash = match alg {
                Algorithm::HS384 => hmac::HMAC_SHA384,
                Algorithm::HS512 => hmac::HMAC_SHA512,
                _ => hmac::HMAC_SHA256,
            };
            (alg, hmac::Key::new(hash, secret))
        })
        .collect();
    VerifyingKey {
        kid: kid.map(str::to_owned),
        family: KeyFamily::Hmac,
        algorithms,
        material: KeyMaterial::Hmac(by_alg),
        fingerprint: fingerprint("oct", &[secret]),
        description: format!("oct {} bytes", secret.len()),
    }
}

/// Checks requested algorithms against a key family; empty means the whole family.
fn algorithms_for(family: KeyFamily, requested: &[Algorithm]) -> Result<AlgSet, JwtError> {
    if requested.is_empty() {
        return Ok(AlgSet::family(family));
    }
    if let Some(wrong) = requested.iter().find(|alg| alg.family() != family) {
        return Err(JwtError::key_invalid(format!(
            "{wrong} does not fit this key type"
        )));
    }
    Ok(AlgSet::from_slice(requested))
}

fn parse_pem(
    kid: Option<&str>,
    pem: &[u8],
    algorithms: &[Algorithm],
) -> Result<VerifyingKey, JwtError> {
    use jsonwebtoken::{DecodingKey, DecodingKeyKind};

    fn der_of(key: &DecodingKey) -> Option<&[u8]> {
        match key.kind() {
            DecodingKeyKind::SecretOrDer(der) => Some(der),
            DecodingKeyKind::RsaModulusExponent { .. } => None,
        }
    }

    if let Some(der) = DecodingKey::from_rsa_pem(pem)
        .ok()
        .as_ref()
        .and_then(der_of)
    {
        let algorithms = algorithms_for(KeyFamily::Rsa, algorithms)?;
        let public = aws_lc_rs::rsa::PublicKey::from_der(der)
            .map_err(|_| JwtError::key_invalid("the RSA public key in the PEM is invalid"))?;
        let (n, e) = split_rsa_public_key_der(der)
            .ok_or_else(|| JwtError::key_invalid("the RSA public key in the PEM is invalid"))?;
        debug_assert_eq!(strip_leading_zeros(n).len(), public.modulus_len());
        return rsa_key(kid, n, e, algorithms).map_err(|reason| {
            JwtError::key_invalid(format!("the RSA public key was rejected: {reason}"))
        });
    }
    if let Some(point) = DecodingKey::from_ec_pem(pem).ok().as_ref().and_then(der_of) {
        let family = match point.len() {
            65 => KeyFamily::P256,
            97 => KeyFamily::P384,
            _ => {
                return Err(JwtError::key_invalid(
                    "the EC public key is not on P-256 or P-384",
                ));
            }
        };
        let algorithms = algorithms_for(family, algorithms)?;
        return ec_point_key(kid, family, point, algorithms).map_err(|reason| {
            JwtError::key_invalid(format!("the EC public key was rejected: {reason}"))
        });
    }
    if let Some(x) = DecodingKey::from_ed_pem(pem).ok().as_ref().and_then(der_of) {
        let algorithms = algorithms_for(KeyFamily::Ed25519, algorithms)?;
        return ed25519_key(kid, x, algorithms).map_err(|reason| {
            JwtError::key_invalid(format!("the Ed25519 public key was rejected: {reason}"))
        });
    }
    Err(JwtError::key_invalid(
        "the PEM is not an RSA, EC (P-256, P-384) or Ed25519 public key",
    ))
}

/// Splits a DER `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
fn split_rsa_public_key_der(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (tag, body, rest) = der_element(der)?;
    if tag != 0x30 || !rest.is_empty() {
        return None;
    }
    let (tag_n, n, rest) = der_element(body)?;
    let (tag_e, e, rest) = der_element(rest)?;
    (tag_n == 0x02 && tag_e == 0x02 && rest.is_empty()).then_some((n, e))
}

/// Reads one DER element: returns (tag, contents, remaining input).
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0_usize, |acc, byte| (acc << 8) | usize::from(*byte));
        (len, &rest[count..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}
