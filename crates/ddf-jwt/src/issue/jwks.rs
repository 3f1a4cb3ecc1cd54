//! Public JWKs for publication, and the private JWK import.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::{IssueError, SigningAlgorithm};

/// The public half of a signing key as a JWK (RFC 7517), ready to publish.
///
/// Only the members a verifier needs are present: `kty`, `use` (always
/// `sig`), `alg`, `kid` and the key type's public parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PublicJwk {
    /// Key type: `OKP`, `EC` or `RSA`.
    pub kty: String,
    /// Intended use: always `sig`.
    #[serde(rename = "use")]
    pub use_: String,
    /// The only algorithm this key signs with.
    pub alg: String,
    /// Key id, copied into the `kid` header of every token the key signs.
    pub kid: String,
    /// Curve (`Ed25519` or `P-256`) for OKP and EC keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// Ed25519 public key, or the EC x coordinate, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC y coordinate, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// RSA modulus, base64url, big-endian without leading zeros.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent, base64url, big-endian without leading zeros.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
}

impl PublicJwk {
    fn base(kty: &str, kid: &str, alg: SigningAlgorithm) -> Self {
        Self {
            kty: kty.to_owned(),
            use_: "sig".to_owned(),
            alg: alg.as_str().to_owned(),
            kid: kid.to_owned(),
            crv: None,
            x: None,
            y: None,
            n: None,
            e: None,
        }
    }

    pub(crate) fn okp(kid: &str, alg: SigningAlgorithm, crv: &str, x: String) -> Self {
        Self {
            crv: Some(crv.to_owned()),
            x: Some(x),
            ..Self::base("OKP", kid, alg)
        }
    }

    pub(crate) fn ec(kid: &str, alg: SigningAlgorithm, crv: &str, x: String, y: String) -> Self {
        Self {
            crv: Some(crv.to_owned()),
            x: Some(x),
            y: Some(y),
            ..Self::base("EC", kid, alg)
        }
    }

    pub(crate) fn rsa(kid: &str, alg: SigningAlgorithm, n: String, e: String) -> Self {
        Self {
            n: Some(n),
            e: Some(e),
            ..Self::base("RSA", kid, alg)
        }
    }
}

/// A JWK Set (RFC 7517, section 5): the document served at `jwks_uri`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Jwks {
    /// Published keys, the active one first.
    pub keys: Vec<PublicJwk>,
}

impl Jwks {
    /// Returns the key with this `kid`, if published.
    pub fn find(&self, kid: &str) -> Option<&PublicJwk> {
        self.keys.iter().find(|key| key.kid == kid)
    }

    /// Converts the set to a JSON value.
    pub fn to_value(&self) -> serde_json::Value {
        // Serializing plain strings into a JSON value cannot fail.
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// A JWK holding a private key, as read from a file or the environment.
///
/// Every member is cleared when the value is dropped.
#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
pub(crate) struct PrivateJwk {
    kty: String,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default, rename = "use")]
    use_: Option<String>,
    #[serde(default)]
    key_ops: Option<Vec<String>>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
    #[serde(default)]
    d: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default)]
    p: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    dp: Option<String>,
    #[serde(default)]
    dq: Option<String>,
    #[serde(default)]
    qi: Option<String>,
    #[serde(default)]
    #[zeroize(skip)]
    oth: Option<serde_json::Value>,
    #[serde(default)]
    k: Option<String>,
}

/// Decoded private key bytes, cleared on drop.
pub(crate) type SecretBytes = Zeroizing<Vec<u8>>;

/// Big-endian RSA private key components decoded from a JWK.
pub(crate) struct RsaParts {
    n: Vec<u8>,
    e: Vec<u8>,
    d: Zeroizing<Vec<u8>>,
    p: Zeroizing<Vec<u8>>,
    q: Zeroizing<Vec<u8>>,
    dp: Zeroizing<Vec<u8>>,
    dq: Zeroizing<Vec<u8>>,
    qi: Zeroizing<Vec<u8>>,
}

impl RsaParts {
    pub(crate) fn as_components(&self) -> aws_lc_rs::rsa::KeyPairComponents<&[u8], &[u8]> {
        aws_lc_rs::rsa::KeyPairComponents {
            public_key: aws_lc_rs::rsa::PublicKeyComponents {
                n: self.n.as_slice(),
                e: self.e.as_slice(),
            },
            d: self.d.as_slice(),
            p: self.p.as_slice(),
            q: self.q.as_slice(),
            dP: self.dp.as_slice(),
            dQ: self.dq.as_slice(),
            qInv: self.qi.as_slice(),
        }
    }
}

fn malformed(reason: &'static str) -> IssueError {
    IssueError::KeyMalformed {
        kid: String::new(),
        reason,
    }
}

fn decode_member(
    value: Option<&String>,
    missing: &'static str,
) -> Result<Zeroizing<Vec<u8>>, IssueError> {
    let text = value.ok_or_else(|| malformed(missing))?;
    URL_SAFE_NO_PAD
        .decode(text.as_bytes())
        .map(Zeroizing::new)
        .map_err(|_| malformed("a JWK member is not unpadded base64url"))
}

impl PrivateJwk {
    pub(crate) fn parse(json: &str) -> Result<Self, IssueError> {
        // serde_json's own error text can quote the input, so it is dropped.
        serde_json::from_str(json).map_err(|_| malformed("the text is not a JWK JSON object"))
    }

    /// Checks `kty`, `crv`, `alg`, `use` and `key_ops` against `alg`.
    pub(crate) fn check_usage(&self, alg: SigningAlgorithm) -> Result<(), IssueError> {
        let found = match (self.kty.as_str(), self.crv.as_deref()) {
            ("OKP", Some("Ed25519")) => SigningAlgorithm::EdDSA,
            ("EC", Some("P-256")) => SigningAlgorithm::ES256,
            ("RSA", _) => SigningAlgorithm::RS256,
            ("oct", _) => SigningAlgorithm::HS256,
            ("OKP" | "EC", _) => return Err(mismatch(alg, "a JWK on an unsupported curve")),
            _ => return Err(mismatch(alg, "a JWK of an unsupported key type")),
        };
        let fits =
            found == alg || (found == SigningAlgorithm::RS256 && alg == SigningAlgorithm::PS256);
        if !fits {
            let description = match found {
                SigningAlgorithm::EdDSA => "an Ed25519 JWK",
                SigningAlgorithm::ES256 => "an EC P-256 JWK",
                SigningAlgorithm::HS256 => "a symmetric (oct) JWK",
                _ => "an RSA JWK",
            };
            return Err(mismatch(alg, description));
        }

        if let Some(declared) = self.alg.as_deref()
            && declared != alg.as_str()
        {
            return Err(IssueError::KeyAlgorithmMismatch {
                kid: String::new(),
                alg: alg.as_str(),
                found: format!("a JWK restricted to alg {declared}"),
            });
        }
        if self.use_.as_deref().is_some_and(|use_| use_ != "sig") {
            return Err(mismatch(alg, "a JWK whose `use` is not `sig`"));
        }
        if let Some(ops) = &self.key_ops
            && !ops.iter().any(|op| op == "sign")
        {
            return Err(mismatch(alg, "a JWK whose `key_ops` lack `sign`"));
        }
        Ok(())
    }

    pub(crate) fn ed25519_parts(&self) -> Result<(SecretBytes, SecretBytes), IssueError> {
        let seed = decode_member(self.d.as_ref(), "the Ed25519 JWK has no private member `d`")?;
        let public = decode_member(self.x.as_ref(), "the Ed25519 JWK has no member `x`")?;
        if seed.len() != 32 || public.len() != 32 {
            return Err(malformed(
                "Ed25519 JWK members `d` and `x` must be 32 bytes each",
            ));
        }
        Ok((seed, public))
    }

    pub(crate) fn p256_parts(&self) -> Result<(Zeroizing<Vec<u8>>, Vec<u8>), IssueError> {
        let scalar = decode_member(self.d.as_ref(), "the EC JWK has no private member `d`")?;
        let x = decode_member(self.x.as_ref(), "the EC JWK has no member `x`")?;
        let y = decode_member(self.y.as_ref(), "the EC JWK has no member `y`")?;
        // RFC 7518, section 6.2.1: each coordinate has the full field length.
        if scalar.len() != 32 || x.len() != 32 || y.len() != 32 {
            return Err(malformed(
                "P-256 JWK members `d`, `x` and `y` must be 32 bytes each",
            ));
        }
        let mut point = Vec::with_capacity(65);
        point.push(0x04);
        point.extend_from_slice(&x);
        point.extend_from_slice(&y);
        Ok((scalar, point))
    }

    pub(crate) fn rsa_parts(&self) -> Result<RsaParts, IssueError> {
        if self.oth.is_some() {
            return Err(malformed("multi-prime RSA JWKs (`oth`) are not supported"));
        }
        let missing = "the RSA JWK lacks one of `n`, `e`, `d`, `p`, `q`, `dp`, `dq`, `qi`";
        let n = decode_member(self.n.as_ref(), missing)?;
        let e = decode_member(self.e.as_ref(), missing)?;
        if n.first() == Some(&0) || e.first() == Some(&0) {
            return Err(malformed(
                "RSA JWK members `n` and `e` must not have leading zero bytes",
            ));
        }
        Ok(RsaParts {
            n: n.to_vec(),
            e: e.to_vec(),
            d: decode_member(self.d.as_ref(), missing)?,
            p: decode_member(self.p.as_ref(), missing)?,
            q: decode_member(self.q.as_ref(), missing)?,
            dp: decode_member(self.dp.as_ref(), missing)?,
            dq: decode_member(self.dq.as_ref(), missing)?,
            qi: decode_member(self.qi.as_ref(), missing)?,
        })
    }

    pub(crate) fn oct_secret(&self) -> Result<Zeroizing<Vec<u8>>, IssueError> {
        decode_member(self.k.as_ref(), "the oct JWK has no member `k`")
    }
}

fn mismatch(alg: SigningAlgorithm, found: &str) -> IssueError {
    IssueError::KeyAlgorithmMismatch {
        kid: String::new(),
        alg: alg.as_str(),
        found: found.to_owned(),
    }
}
