//! The one error type of this crate and its stable reason codes.

use std::fmt;

use crate::Algorithm;

/// Why validation, key loading or configuration failed.
///
/// Messages name what failed and, where it helps, the configured value that
/// did not match; they never contain the token, a key, a secret or a claim
/// value taken from the token. Use [`JwtError::kind`] for decisions (HTTP
/// status, metrics) and the message for logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// The compact serialization, the base64url, the JSON or a header member
    /// is invalid; see the [`MalformedReason`].
    #[error("token is malformed: {reason}")]
    Malformed {
        /// The structural rule the token broke.
        reason: MalformedReason,
    },
    /// The header has a `crit` member; no JWS extension is supported.
    #[error("token header lists critical extensions; none are supported, so the token is rejected")]
    CritUnsupported,
    /// The header `alg` is missing, unknown, `none`, or not allowed for the issuer.
    #[error("token algorithm {} is not allowed for this issuer", AlgLabel(*.alg))]
    AlgNotAllowed {
        /// The algorithm if this crate supports it; `None` for a missing,
        /// unknown or `none` algorithm.
        alg: Option<Algorithm>,
    },
    /// No key of the issuer matches the token's `kid` and algorithm.
    #[error("no usable key matches kid {} and the token algorithm{}", KidLabel(.kid.as_deref()), SkipLabel(*.skipped))]
    KeyNotFound {
        /// The token's `kid`, shortened to 64 characters.
        kid: Option<String>,
        /// The reason a key with this `kid` was skipped when the key set was loaded.
        skipped: Option<SkipReason>,
    },
    /// Several keys match a token that carries no `kid` (or too many share one).
    #[error(
        "{candidates} keys match the token and its kid does not tell them apart; give every key a distinct kid"
    )]
    KeyAmbiguous {
        /// How many keys matched.
        candidates: usize,
    },
    /// The signature does not verify with any candidate key.
    #[error("signature is invalid")]
    SignatureInvalid,
    /// `exp` (plus leeway) is not after the current time.
    #[error("token expired at {exp} (Unix seconds); current time {now}, leeway {leeway} s")]
    Expired {
        /// The token's `exp`, rounded down.
        exp: i64,
        /// The validator's current time.
        now: u64,
        /// The configured leeway in seconds.
        leeway: u64,
    },
    /// `nbf` is later than the current time plus leeway.
    #[error("token is not valid before {nbf} (Unix seconds); current time {now}")]
    NotYetValid {
        /// The token's `nbf`, rounded down.
        nbf: i64,
        /// The validator's current time.
        now: u64,
    },
    /// `iat` is later than the current time plus leeway, or older than the
    /// configured maximum age.
    #[error("token issue time {iat} (Unix seconds) is in the future; current time {now}")]
    IssuedInFuture {
        /// The token's `iat`, rounded down.
        iat: i64,
        /// The validator's current time.
        now: u64,
    },
    /// `iss` is missing from the configured issuers, or not a string.
    #[error("token issuer is not a configured issuer")]
    IssuerMismatch,
    /// `aud` names none of the configured audiences (or no audience is
    /// configured but the token has one).
    #[error("token audience does not contain any configured audience")]
    AudienceMismatch,
    /// A required claim is absent.
    #[error("required claim `{claim}` is missing")]
    ClaimMissing {
        /// The claim name.
        claim: String,
    },
    /// A claim has the wrong JSON type or an out-of-range value.
    #[error("claim `{claim}` is malformed: expected {expected}")]
    ClaimMalformed {
        /// The claim name.
        claim: String,
        /// The value or type the claim must have.
        expected: &'static str,
    },
    /// A claim does not have the required value (required-claims list,
    /// Cognito `token_use`, custom checks).
    #[error("claim `{claim}` does not have the required value")]
    ClaimMismatch {
        /// The claim name, or the name of the custom check.
        claim: String,
    },
    /// The token is not an access token of the expected kind (`typ`).
    #[error("token type (`typ`) is not an accepted access-token type")]
    TokenTypeMismatch,
    /// `sub` is missing or empty.
    #[error("token has no subject (`sub` missing or empty)")]
    SubjectMissing,
    /// `azp` is missing or not the configured authorized party.
    #[error("authorized party (`azp`) is not the configured client")]
    AzpMismatch,
    /// No usable key set is available (fetch failure with nothing cached).
    #[error("no usable key set is available: {reason}")]
    JwksUnavailable {
        /// What failed.
        reason: String,
    },
    /// A document given as a JWKS is not `{"keys": [...]}`.
    #[error("JWKS document is invalid: {reason}")]
    JwksInvalid {
        /// The defect of the document.
        reason: String,
    },
    /// A locally configured key (PEM, secret) is unusable.
    #[error("key is invalid: {reason}")]
    KeyInvalid {
        /// The defect of the key, never the key itself.
        reason: String,
    },
    /// The validator configuration is invalid.
    #[error("validator configuration is invalid: {reason}")]
    ConfigInvalid {
        /// The invalid setting and how to fix it.
        reason: String,
    },
}

impl JwtError {
    /// Returns the kind, whose [`ErrorKind::as_str`] is the stable reason code.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Malformed { .. } => ErrorKind::TokenMalformed,
            Self::CritUnsupported => ErrorKind::CritUnsupported,
            Self::AlgNotAllowed { .. } => ErrorKind::AlgNotAllowed,
            Self::KeyNotFound { .. } => ErrorKind::KeyNotFound,
            Self::KeyAmbiguous { .. } => ErrorKind::KeyAmbiguous,
            Self::SignatureInvalid => ErrorKind::SignatureInvalid,
            Self::Expired { .. } => ErrorKind::TokenExpired,
            Self::NotYetValid { .. } => ErrorKind::TokenNotYetValid,
            Self::IssuedInFuture { .. } => ErrorKind::TokenIssuedInFuture,
            Self::IssuerMismatch => ErrorKind::IssuerMismatch,
            Self::AudienceMismatch => ErrorKind::AudienceMismatch,
            Self::ClaimMissing { .. } => ErrorKind::ClaimMissing,
            Self::ClaimMalformed { .. } => ErrorKind::ClaimMalformed,
            Self::ClaimMismatch { .. } => ErrorKind::ClaimMismatch,
            Self::TokenTypeMismatch => ErrorKind::TokenTypeMismatch,
            Self::SubjectMissing => ErrorKind::SubjectMissing,
            Self::AzpMismatch => ErrorKind::AzpMismatch,
            Self::JwksUnavailable { .. } => ErrorKind::JwksUnavailable,
            Self::JwksInvalid { .. } => ErrorKind::JwksInvalid,
            Self::KeyInvalid { .. } => ErrorKind::KeyInvalid,
            Self::ConfigInvalid { .. } => ErrorKind::ConfigInvalid,
        }
    }

    /// Returns the malformation detail for [`ErrorKind::TokenMalformed`] errors.
    pub fn malformed_reason(&self) -> Option<MalformedReason> {
        match self {
            Self::Malformed { reason } => Some(*reason),
            _ => None,
        }
    }

    pub(crate) fn malformed(reason: MalformedReason) -> Self {
        Self::Malformed { reason }
    }

    pub(crate) fn key_not_found(kid: Option<&str>, skipped: Option<SkipReason>) -> Self {
        Self::KeyNotFound {
            kid: kid.map(shorten),
            skipped,
        }
    }

    pub(crate) fn claim_missing(claim: &str) -> Self {
        Self::ClaimMissing {
            claim: shorten(claim),
        }
    }

    pub(crate) fn claim_malformed(claim: &str, expected: &'static str) -> Self {
        Self::ClaimMalformed {
            claim: shorten(claim),
            expected,
        }
    }

    pub(crate) fn claim_mismatch(claim: &str) -> Self {
        Self::ClaimMismatch {
            claim: shorten(claim),
        }
    }

    pub(crate) fn jwks_invalid(reason: impl Into<String>) -> Self {
        Self::JwksInvalid {
            reason: reason.into(),
        }
    }

    pub(crate) fn key_invalid(reason: impl Into<String>) -> Self {
        Self::KeyInvalid {
            reason: reason.into(),
        }
    }

    pub(crate) fn config(reason: impl Into<String>) -> Self {
        Self::ConfigInvalid {
            reason: reason.into(),
        }
    }
}

/// The stable reason code of a [`JwtError`].
///
/// Every token rejection maps to HTTP 401 except [`ErrorKind::JwksUnavailable`]
/// and [`ErrorKind::JwksInvalid`], which mean the service has no usable keys
/// (503), and the configuration kinds, which never happen per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `token_malformed`
    TokenMalformed,
    /// `crit_unsupported`
    CritUnsupported,
    /// `alg_not_allowed`
    AlgNotAllowed,
    /// `key_not_found`
    KeyNotFound,
    /// `key_ambiguous`
    KeyAmbiguous,
    /// `signature_invalid`
    SignatureInvalid,
    /// `token_expired`
    TokenExpired,
    /// `token_not_yet_valid`
    TokenNotYetValid,
    /// `token_issued_in_future`
    TokenIssuedInFuture,
    /// `issuer_mismatch`
    IssuerMismatch,
    /// `audience_mismatch`
    AudienceMismatch,
    /// `claim_missing`
    ClaimMissing,
    /// `claim_malformed`
    ClaimMalformed,
    /// `claim_mismatch`
    ClaimMismatch,
    /// `token_type_mismatch`
    TokenTypeMismatch,
    /// `subject_missing`
    SubjectMissing,
    /// `azp_mismatch`
    AzpMismatch,
    /// `jwks_unavailable`
    JwksUnavailable,
    /// `jwks_invalid`
    JwksInvalid,
    /// `key_invalid`
    KeyInvalid,
    /// `config_invalid`
    ConfigInvalid,
}

impl ErrorKind {
    /// Returns the stable reason code used in logs, metrics and tests.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TokenMalformed => "token_malformed",
            Self::CritUnsupported => "crit_unsupported",
            Self::AlgNotAllowed => "alg_not_allowed",
            Self::KeyNotFound => "key_not_found",
            Self::KeyAmbiguous => "key_ambiguous",
            Self::SignatureInvalid => "signature_invalid",
            Self::TokenExpired => "token_expired",
            Self::TokenNotYetValid => "token_not_yet_valid",
            Self::TokenIssuedInFuture => "token_issued_in_future",
            Self::IssuerMismatch => "issuer_mismatch",
            Self::AudienceMismatch => "audience_mismatch",
            Self::ClaimMissing => "claim_missing",
            Self::ClaimMalformed => "claim_malformed",
            Self::ClaimMismatch => "claim_mismatch",
            Self::TokenTypeMismatch => "token_type_mismatch",
            Self::SubjectMissing => "subject_missing",
            Self::AzpMismatch => "azp_mismatch",
            Self::JwksUnavailable => "jwks_unavailable",
            Self::JwksInvalid => "jwks_invalid",
            Self::KeyInvalid => "key_invalid",
            Self::ConfigInvalid => "config_invalid",
        }
    }

    /// Returns whether the failure is the service's (no usable keys) rather
    /// than the token's, so it should return 503 and not count as a failed
    /// authentication.
    pub fn is_unavailable(self) -> bool {
        matches!(self, Self::JwksUnavailable | Self::JwksInvalid)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The rule a malformed token broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MalformedReason {
    /// Longer than the configured maximum size.
    TooLarge,
    /// Not exactly three non-empty-header, non-empty-payload segments.
    Structure,
    /// A segment is not canonical unpadded base64url.
    Base64,
    /// Header or payload is not valid UTF-8 JSON.
    Json,
    /// Header or payload is JSON but not an object.
    NotAnObject,
    /// A JSON object has the same member twice.
    DuplicateMember,
    /// JSON nesting is deeper than the supported maximum.
    NestingTooDeep,
    /// The header has a member that JWTs must not use (`b64`, `zip`, `enc`,
    /// `p2c`, ...).
    UnsupportedHeader,
    /// A header member has the wrong type (`kid` not a string, ...).
    HeaderMemberType,
}

impl fmt::Display for MalformedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TooLarge => "token is larger than the configured maximum size",
            Self::Structure => "a compact JWS has exactly three dot-separated segments",
            Self::Base64 => "a segment is not canonical unpadded base64url",
            Self::Json => "header or claims are not valid UTF-8 JSON",
            Self::NotAnObject => "header or claims are not a JSON object",
            Self::DuplicateMember => "a JSON object has a duplicate member",
            Self::NestingTooDeep => "JSON nesting exceeds the maximum depth",
            Self::UnsupportedHeader => {
                "header has a member JWTs must not use (b64, zip, enc, p2c or similar)"
            }
            Self::HeaderMemberType => "a header member has the wrong type",
        })
    }
}

/// The reason a key of a JWKS document or a configured key was not loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SkipReason {
    /// The entry is not a JSON object.
    NotAnObject,
    /// `use` is `enc`: an encryption key.
    EncryptionKey,
    /// `use` is neither `sig` nor `enc`, or `key_ops` lacks `verify`.
    NotForVerification,
    /// `kty` is missing or not RSA, EC or OKP.
    UnsupportedKeyType,
    /// `crv` is not P-256, P-384 or Ed25519.
    UnsupportedCurve,
    /// `alg` is not a supported signature algorithm.
    UnsupportedAlgorithm,
    /// `alg` does not fit the key type or curve.
    AlgorithmKeyMismatch,
    /// The entry carries private key material.
    PrivateKeyMaterial,
    /// RSA modulus shorter than 2048 bits.
    WeakRsaKey,
    /// RSA modulus longer than 8192 bits.
    RsaKeyTooLarge,
    /// RSA public exponent is even, 1, or longer than 32 bits.
    InvalidRsaExponent,
    /// A symmetric (`oct`) key in a JWKS that may only hold public keys.
    SymmetricKeyNotAllowed,
    /// A member is missing, has the wrong type, or is not canonical base64url.
    MalformedMember,
    /// The key material was rejected by the crypto backend (point not on
    /// the curve, wrong length, ...).
    InvalidKeyMaterial,
    /// The document has more keys than the configured maximum.
    TooManyKeys,
}

impl SkipReason {
    /// Returns a stable snake-case name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotAnObject => "not_an_object",
            Self::EncryptionKey => "encryption_key",
            Self::NotForVerification => "not_for_verification",
            Self::UnsupportedKeyType => "unsupported_key_type",
            Self::UnsupportedCurve => "unsupported_curve",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::AlgorithmKeyMismatch => "algorithm_key_mismatch",
            Self::PrivateKeyMaterial => "private_key_material",
            Self::WeakRsaKey => "weak_rsa_key",
            Self::RsaKeyTooLarge => "rsa_key_too_large",
            Self::InvalidRsaExponent => "invalid_rsa_exponent",
            Self::SymmetricKeyNotAllowed => "symmetric_key_not_allowed",
            Self::MalformedMember => "malformed_member",
            Self::InvalidKeyMaterial => "invalid_key_material",
            Self::TooManyKeys => "too_many_keys",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Shortens attacker-supplied text (a `kid`, a claim name) before it goes
/// into an error, so a 10 KiB `kid` cannot flood a log line.
pub(crate) fn shorten(text: &str) -> String {
    const MAX_CHARS: usize = 64;
    let mut out: String = text.chars().take(MAX_CHARS).collect();
    if text.chars().nth(MAX_CHARS).is_some() {
        out.push('…');
    }
    out
}

struct AlgLabel(Option<Algorithm>);

impl fmt::Display for AlgLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(alg) => f.write_str(alg.as_str()),
            None => f.write_str("(missing, none or unrecognized)"),
        }
    }
}

struct KidLabel<'a>(Option<&'a str>);

impl fmt::Display for KidLabel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(kid) => write!(f, "{kid:?}"),
            None => f.write_str("(none)"),
        }
    }
}

struct SkipLabel(Option<SkipReason>);

impl fmt::Display for SkipLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(reason) => write!(f, " (a key with this kid was skipped at load: {reason})"),
            None => Ok(()),
        }
    }
}
