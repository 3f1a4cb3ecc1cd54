//! Private signing keys and their algorithms.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256,
    RSA_PSS_SHA256, RsaEncoding, RsaKeyPair,
};
use aws_lc_rs::{error::KeyRejected, hmac};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::IssueError;
use super::jwks::{PrivateJwk, PublicJwk};
use super::pem::{self, Pkcs8KeyType};

/// Minimum length of an HS256 secret: the SHA-256 output size (RFC 7518, section 3.2).
pub const MIN_HMAC_SECRET_LEN: usize = 32;

/// A JWS algorithm that a [`SigningKey`] can sign with.
///
/// `HS256` is only for a secret shared between components of one
/// deployment; its keys never appear in a published JWKS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SigningAlgorithm {
    /// Ed25519 signatures (RFC 8037).
    EdDSA,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, with a modulus of at least 2048 bits.
    RS256,
    /// RSASSA-PSS with SHA-256 and MGF1-SHA-256, with a modulus of at least 2048 bits.
    PS256,
    /// HMAC with SHA-256, with a secret of at least 32 bytes.
    HS256,
}

impl SigningAlgorithm {
    /// Every supported algorithm, asymmetric ones first.
    pub const ALL: [Self; 5] = [
        Self::EdDSA,
        Self::ES256,
        Self::RS256,
        Self::PS256,
        Self::HS256,
    ];

    /// Returns the JWS `alg` header value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::EdDSA => "EdDSA",
            Self::ES256 => "ES256",
            Self::RS256 => "RS256",
            Self::PS256 => "PS256",
            Self::HS256 => "HS256",
        }
    }

    /// Returns `true` for algorithms whose public key may be published.
    pub const fn is_asymmetric(self) -> bool {
        !matches!(self, Self::HS256)
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an unknown algorithm name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported signing algorithm: expected one of EdDSA, ES256, RS256, PS256, HS256")]
pub struct UnknownAlgorithm;

impl FromStr for SigningAlgorithm {
    type Err = UnknownAlgorithm;

    /// Parses the exact, case-sensitive JWS name.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|alg| alg.as_str() == name)
            .ok_or(UnknownAlgorithm)
    }
}

/// A private key bound to one signing algorithm.
///
/// The key material lives in aws-lc memory, which aws-lc clears when the key
/// is dropped (`OPENSSL_free` cleanses every allocation). Intermediate
/// buffers (PEM text, DER, JWK members) are zeroized by this crate. `Debug`
/// shows only the algorithm, and there is no `Display`:
///
/// ```
/// use ddf_jwt::issue::{SigningAlgorithm, SigningKey};
///
/// let key = SigningKey::generate(SigningAlgorithm::EdDSA).unwrap();
/// assert_eq!(format!("{key:?}"), "SigningKey { alg: EdDSA, .. }");
/// ```
pub struct SigningKey {
    alg: SigningAlgorithm,
    material: Material,
}

enum Material {
    Ed25519(Ed25519KeyPair),
    Ecdsa(EcdsaKeyPair),
    Rsa {
        pair: RsaKeyPair,
        padding: &'static dyn RsaEncoding,
    },
    // Boxed because an HMAC context is several times larger than the other keys.
    Hmac(Box<hmac::Key>),
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Loads a key for `alg` from text holding a PKCS#8 PEM block, or a JWK
    /// private key (JSON object), recognised by its first character.
    ///
    /// HS256 secrets are accepted only as a JWK of type `oct`.
    pub fn from_text(alg: SigningAlgorithm, text: &str) -> Result<Self, IssueError> {
        if text.trim_start().starts_with('{') {
            Self::from_jwk(alg, text)
        } else {
            Self::from_pkcs8_pem(alg, text)
        }
    }

    /// Loads a key from a file, in any format [`SigningKey::from_text`] accepts.
    pub fn from_file(alg: SigningAlgorithm, path: &Path) -> Result<Self, IssueError> {
        let text = std::fs::read_to_string(path)
            .map(Zeroizing::new)
            .map_err(|error| IssueError::KeySourceUnavailable {
                kid: String::new(),
                what: format!("file {}", path.display()),
                reason: error.kind().to_string(),
            })?;
        Self::from_text(alg, &text)
    }

    /// Loads a key from an environment variable, as filled by a secrets
    /// manager, in any format [`SigningKey::from_text`] accepts.
    ///
    /// NOTE: the process environment keeps its own copy of the value, which
    /// this crate cannot clear.
    pub fn from_env(alg: SigningAlgorithm, name: &str) -> Result<Self, IssueError> {
        let text = std::env::var(name).map(Zeroizing::new).map_err(|error| {
            IssueError::KeySourceUnavailable {
                kid: String::new(),
                what: format!("environment variable {name}"),
                reason: match error {
                    std::env::VarError::NotPresent => "it is not set".to_owned(),
                    std::env::VarError::NotUnicode(_) => "it is not valid UTF-8".to_owned(),
                },
            }
        })?;
        Self::from_text(alg, &text)
    }

    /// Loads an asymmetric key from a PKCS#8 `PRIVATE KEY` PEM block.
    pub fn from_pkcs8_pem(alg: SigningAlgorithm, pem: &str) -> Result<Self, IssueError> {
        if alg == SigningAlgorithm::HS256 {
            return Err(mismatch(alg, "a PEM private key".to_owned()));
        }
        let der = pem::decode_pkcs8_pem(pem)?;
        Self::from_pkcs8_der(alg, &der)
    }

    /// Loads an asymmetric key from PKCS#8 `PrivateKeyInfo` DER (v1 or v2).
    pub fn from_pkcs8_der(alg: SigningAlgorithm, der: &[u8]) -> Result<Self, IssueError> {
        let key_type = pem::pkcs8_key_type(der).ok_or(IssueError::KeyMalformed {
            kid: String::new(),
            reason: "the DER is not a PKCS#8 PrivateKeyInfo",
        })?;
        let fits = matches!(
            (alg, key_type),
            (SigningAlgorithm::EdDSA, Pkcs8KeyType::Ed25519)
                | (SigningAlgorithm::ES256, Pkcs8KeyType::EcP256)
                | (
                    SigningAlgorithm::RS256 | SigningAlgorithm::PS256,
                    Pkcs8KeyType::Rsa
                )
        );
        if !fits {
            return Err(mismatch(alg, key_type.describe().to_owned()));
        }

        let material = match alg {
            SigningAlgorithm::EdDSA => {
                Material::Ed25519(Ed25519KeyPair::from_pkcs8(der).map_err(rejected)?)
            }
            SigningAlgorithm::ES256 => Material::Ecdsa(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(rejected)?,
            ),
            SigningAlgorithm::RS256 | SigningAlgorithm::PS256 => Material::Rsa {
                pair: RsaKeyPair::from_pkcs8(der).map_err(rejected)?,
                padding: rsa_padding(alg),
            },
            SigningAlgorithm::HS256 => {
                return Err(mismatch(alg, key_type.describe().to_owned()));
            }
        };
        Ok(Self { alg, material })
    }

    /// Loads a key from a JWK private key (RFC 7517 and RFC 7518, section 6).
    ///
    /// The JWK's `kty` and `crv` must fit `alg`. When the JWK carries `alg`,
    /// `use` or `key_ops`, they must allow signing with `alg`.
    pub fn from_jwk(alg: SigningAlgorithm, json: &str) -> Result<Self, IssueError> {
        let jwk = PrivateJwk::parse(json)?;
        jwk.check_usage(alg)?;
        let material = match alg {
            SigningAlgorithm::EdDSA => {
                let (seed, public) = jwk.ed25519_parts()?;
                Material::Ed25519(
                    Ed25519KeyPair::from_seed_and_public_key(&seed, &public).map_err(rejected)?,
                )
            }
            SigningAlgorithm::ES256 => {
                let (scalar, point) = jwk.p256_parts()?;
                Material::Ecdsa(
                    EcdsaKeyPair::from_private_key_and_public_key(
                        &ECDSA_P256_SHA256_FIXED_SIGNING,
                        &scalar,
                        &point,
                    )
                    .map_err(rejected)?,
                )
            }
            SigningAlgorithm::RS256 | SigningAlgorithm::PS256 => {
                let components = jwk.rsa_parts()?;
                Material::Rsa {
                    pair: RsaKeyPair::from_components(&components.as_components())
                        .map_err(rejected)?,
                    padding: rsa_padding(alg),
                }
            }
            SigningAlgorithm::HS256 => {
                let secret = jwk.oct_secret()?;
                return Self::from_hmac_secret(&secret);
            }
        };
        Ok(Self { alg, material })
    }

    /// Creates an HS256 key from a shared secret of at least
    /// [`MIN_HMAC_SECRET_LEN`] bytes.
    pub fn from_hmac_secret(secret: &[u8]) -> Result<Self, IssueError> {
        if secret.len() < MIN_HMAC_SECRET_LEN {
            return Err(IssueError::KeyTooWeak {
                kid: String::new(),
                reason: "an HS256 secret must be at least 32 bytes long",
            });
        }
        Ok(Self {
            alg: SigningAlgorithm::HS256,
            material: Material::Hmac(Box::new(hmac::Key::new(hmac::HMAC_SHA256, secret))),
        })
    }

    /// Generates a new key for `alg`; RSA keys get a 2048-bit modulus.
    pub fn generate(alg: SigningAlgorithm) -> Result<Self, IssueError> {
        Self::generate_with_rsa_bits(alg, 2048)
    }

    /// Generates a new key for `alg`, with an RSA modulus of `rsa_bits`
    /// (2048, 3072 or 4096; ignored for other algorithms).
    pub fn generate_with_rsa_bits(
        alg: SigningAlgorithm,
        rsa_bits: u32,
    ) -> Result<Self, IssueError> {
        let failed = |_| IssueError::CryptoFailed {
            operation: "generate a key",
        };
        let material = match alg {
            SigningAlgorithm::EdDSA => {
                Material::Ed25519(Ed25519KeyPair::generate().map_err(failed)?)
            }
            SigningAlgorithm::ES256 => Material::Ecdsa(
                EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(failed)?,
            ),
            SigningAlgorithm::RS256 | SigningAlgorithm::PS256 => {
                let size = match rsa_bits {
                    2048 => KeySize::Rsa2048,
                    3072 => KeySize::Rsa3072,
                    4096 => KeySize::Rsa4096,
                    _ => {
                        return Err(IssueError::ConfigInvalid {
                            reason: format!(
                                "an RSA key size of {rsa_bits} bits is not supported: use 2048, 3072 or 4096"
                            ),
                        });
                    }
                };
                Material::Rsa {
                    pair: RsaKeyPair::generate(size).map_err(failed)?,
                    padding: rsa_padding(alg),
                }
            }
            SigningAlgorithm::HS256 => {
                let mut secret = Zeroizing::new([0u8; MIN_HMAC_SECRET_LEN]);
                aws_lc_rs::rand::fill(secret.as_mut()).map_err(failed)?;
                return Self::from_hmac_secret(secret.as_ref());
            }
        };
        Ok(Self { alg, material })
    }

    /// Returns the algorithm this key signs with.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.alg
    }

    /// Encodes the private key as a PKCS#8 v1 `PRIVATE KEY` PEM block.
    ///
    /// HS256 keys have no PEM form and return [`IssueError::KeyAlgorithmMismatch`].
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, IssueError> {
        let failed = |_| IssueError::CryptoFailed {
            operation: "encode the key as PKCS#8",
        };
        let pem = match &self.material {
            Material::Ed25519(pair) => {
                pem::encode_pkcs8_pem(pair.to_pkcs8v1().map_err(failed)?.as_ref())
            }
            Material::Ecdsa(pair) => {
                pem::encode_pkcs8_pem(pair.to_pkcs8v1().map_err(failed)?.as_ref())
            }
            Material::Rsa { pair, .. } => {
                let der = pair.as_der().map_err(failed)?;
                pem::encode_pkcs8_pem(der.as_ref())
            }
            Material::Hmac(_) => return Err(mismatch(self.alg, "an HS256 secret".to_owned())),
        };
        Ok(pem)
    }

    /// Returns the public JWK of this key under `kid`, or `None` for HS256,
    /// whose secret must never be published.
    pub fn public_jwk(&self, kid: &str) -> Option<PublicJwk> {
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        let jwk = match &self.material {
            Material::Ed25519(pair) => {
                PublicJwk::okp(kid, self.alg, "Ed25519", b64(pair.public_key().as_ref()))
            }
            Material::Ecdsa(pair) => {
                // Uncompressed SEC1 point: 0x04 || x (32 bytes) || y (32 bytes).
                let point = pair.public_key().as_ref();
                let (x, y) = point.get(1..)?.split_at(32);
                PublicJwk::ec(kid, self.alg, "P-256", b64(x), b64(y))
            }
            Material::Rsa { pair, .. } => {
                let public = pair.public_key();
                PublicJwk::rsa(
                    kid,
                    self.alg,
                    b64(public.modulus().big_endian_without_leading_zero()),
                    b64(public.exponent().big_endian_without_leading_zero()),
                )
            }
            Material::Hmac(_) => return None,
        };
        Some(jwk)
    }

    /// Signs `message` (the JWS signing input `header.payload`) and returns
    /// the raw signature: R || S for ES256, as JWS requires.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, IssueError> {
        let failed = |_| IssueError::CryptoFailed {
            operation: "sign a token",
        };
        match &self.material {
            Material::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
            Material::Ecdsa(pair) => {
                // aws-lc-rs ignores the RNG argument and uses its own DRBG.
                let signature = pair.sign(&SystemRandom::new(), message).map_err(failed)?;
                Ok(signature.as_ref().to_vec())
            }
            Material::Rsa { pair, padding } => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(*padding, &SystemRandom::new(), message, &mut signature)
                    .map_err(failed)?;
                Ok(signature)
            }
            Material::Hmac(key) => Ok(hmac::sign(key, message).as_ref().to_vec()),
        }
    }

    /// Returns the RSA modulus size in bits, or `None` for other key types.
    pub fn rsa_modulus_bits(&self) -> Option<usize> {
        match &self.material {
            Material::Rsa { pair, .. } => Some(pair.public_modulus_len() * 8),
            _ => None,
        }
    }
}

fn rsa_padding(alg: SigningAlgorithm) -> &'static dyn RsaEncoding {
    if alg == SigningAlgorithm::PS256 {
        &RSA_PSS_SHA256
    } else {
        &RSA_PKCS1_SHA256
    }
}

fn mismatch(alg: SigningAlgorithm, found: String) -> IssueError {
    IssueError::KeyAlgorithmMismatch {
        kid: String::new(),
        alg: alg.as_str(),
        found,
    }
}

/// Maps an aws-lc-rs rejection to an error kind without exposing key bytes.
pub(crate) fn rejected(error: KeyRejected) -> IssueError {
    match error.description_() {
        "TooSmall" => IssueError::KeyTooWeak {
            kid: String::new(),
            reason: "the RSA modulus is shorter than 2048 bits",
        },
        "TooLarge" => IssueError::KeyMalformed {
            kid: String::new(),
            reason: "the RSA modulus is longer than 8192 bits",
        },
        "InconsistentComponents" => IssueError::KeyMalformed {
            kid: String::new(),
            reason: "the private and public key components do not belong together",
        },
        _ => IssueError::KeyMalformed {
            kid: String::new(),
            reason: "the crypto backend rejected the key encoding",
        },
    }
}
