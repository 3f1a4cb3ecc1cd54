//! The compact JWS parser: one pass, strict, before any key is touched.

use std::fmt;

use serde_json::{Map, Value};

use crate::error::{JwtError, MalformedReason};
use crate::{Algorithm, b64, json};

/// Default maximum token size in bytes (16 KiB).
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Header members that signed JWTs must not carry: RFC 7797 unencoded
/// payloads (`b64`), compression (`zip`) and JWE or key-derivation
/// parameters that only make sense for encrypted tokens.
const FORBIDDEN_HEADER_MEMBERS: [&str; 9] =
    ["b64", "zip", "enc", "epk", "apu", "apv", "iv", "tag", "p2c"];

/// A compact JWS whose structure, encoding and JSON are valid but whose
/// signature has not been checked.
///
/// Nothing read from it may be trusted: the accessors are named
/// `untrusted_*` for that reason. Only [`crate::Validator`] turns it into a
/// [`crate::VerifiedToken`].
pub struct UnverifiedToken<'a> {
    signing_input: &'a [u8],
    alg: Option<Algorithm>,
    kid: Option<String>,
    header: Map<String, Value>,
    claims: Map<String, Value>,
    signature: Vec<u8>,
}

impl<'a> UnverifiedToken<'a> {
    /// Parses `token` with the default 16 KiB size cap.
    ///
    /// # Errors
    ///
    /// [`JwtError::Malformed`] for a size, structure, base64url, JSON or
    /// header-member problem, [`JwtError::CritUnsupported`] when the header
    /// has `crit`.
    pub fn parse(token: &'a str) -> Result<Self, JwtError> {
        Self::parse_with_max(token, DEFAULT_MAX_TOKEN_BYTES)
    }

    /// Parses `token`, rejecting it before any splitting if it is longer than
    /// `max_bytes`.
    pub fn parse_with_max(token: &'a str, max_bytes: usize) -> Result<Self, JwtError> {
        let jws = CompactJws::parse(token, max_bytes, false)?;
        let claims = json::parse_object(&jws.payload).map_err(JwtError::malformed)?;
        Ok(Self {
            signing_input: jws.signing_input,
            alg: jws.alg,
            kid: jws.kid,
            header: jws.header,
            claims,
            signature: jws.signature,
        })
    }

    /// Returns the header `alg` if it names a supported algorithm; `None`
    /// when it is missing, `none` or unknown. Unverified.
    pub fn untrusted_alg(&self) -> Option<Algorithm> {
        self.alg
    }

    /// Returns the header `kid`. Unverified: use it only to pick a key.
    pub fn untrusted_kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Returns the decoded header. Unverified.
    pub fn untrusted_header(&self) -> &Map<String, Value> {
        &self.header
    }

    /// Returns the decoded claims. **Unverified**: anyone can write any
    /// claim into a token; read them for display or key selection only.
    pub fn untrusted_claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// Returns `iss` when it is a string. Unverified.
    pub fn untrusted_issuer(&self) -> Option<&str> {
        self.claims.get("iss").and_then(Value::as_str)
    }

    pub(crate) fn signing_input(&self) -> &[u8] {
        self.signing_input
    }

    pub(crate) fn signature(&self) -> &[u8] {
        &self.signature
    }

    pub(crate) fn into_parts(self) -> (Map<String, Value>, Map<String, Value>, Option<String>) {
        (self.header, self.claims, self.kid)
    }
}

impl fmt::Debug for UnverifiedToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnverifiedToken")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// A compact JWS with a checked header and a payload that need not be JSON.
pub(crate) struct CompactJws<'a> {
    pub(crate) signing_input: &'a [u8],
    pub(crate) alg: Option<Algorithm>,
    pub(crate) kid: Option<String>,
    pub(crate) header: Map<String, Value>,
    pub(crate) payload: Vec<u8>,
    pub(crate) signature: Vec<u8>,
}

impl<'a> CompactJws<'a> {
    /// Parses the compact form; an empty payload is allowed only when
    /// `allow_empty_payload` is set (a JWT payload is never empty).
    pub(crate) fn parse(
        token: &'a str,
        max_bytes: usize,
        allow_empty_payload: bool,
    ) -> Result<Self, JwtError> {
        let bytes = token.as_bytes();
        if bytes.len() > max_bytes {
            return Err(JwtError::malformed(MalformedReason::TooLarge));
        }

        let (header_b64, payload_b64, signature_b64) = split(bytes)?;
        if payload_b64.is_empty() && !allow_empty_payload {
            return Err(JwtError::malformed(MalformedReason::Structure));
        }
        let header_json =
            b64::decode(header_b64).ok_or(JwtError::malformed(MalformedReason::Base64))?;
        let header = json::parse_object(&header_json).map_err(JwtError::malformed)?;
        let (alg, kid) = check_header(&header)?;
        let payload =
            b64::decode(payload_b64).ok_or(JwtError::malformed(MalformedReason::Base64))?;
        let signature =
            b64::decode(signature_b64).ok_or(JwtError::malformed(MalformedReason::Base64))?;

        Ok(Self {
            signing_input: &bytes[..header_b64.len() + 1 + payload_b64.len()],
            alg,
            kid,
            header,
            payload,
            signature,
        })
    }
}

/// Verifies a compact JWS whose payload need not be a JWT claims set, and
/// returns the payload.
///
/// The header rules, key selection and signature checks are the
/// validator's; no claim is read. Use [`crate::Validator`] for JWTs.
///
/// # Errors
///
/// As for the validator: `token_malformed`, `crit_unsupported`,
/// `alg_not_allowed`, `key_not_found`, `key_ambiguous`, `signature_invalid`.
pub fn verify_compact_jws(
    token: &str,
    keys: &crate::KeySet,
    algorithms: &[Algorithm],
) -> Result<Vec<u8>, JwtError> {
    let jws = CompactJws::parse(token, DEFAULT_MAX_TOKEN_BYTES, true)?;
    let alg = jws.alg.ok_or(JwtError::AlgNotAllowed { alg: None })?;
    if !algorithms.contains(&alg) {
        return Err(JwtError::AlgNotAllowed { alg: Some(alg) });
    }
    crate::validator::verify_with(
        keys,
        jws.kid.as_deref(),
        alg,
        jws.signing_input,
        &jws.signature,
    )
    .unwrap_or_else(|| {
        Err(JwtError::key_not_found(
            jws.kid.as_deref(),
            keys.skip_reason_for(jws.kid.as_deref()),
        ))
    })?;
    Ok(jws.payload)
}

/// Verifies a detached signature over `message` with the candidate keys of
/// `keys` for `alg`, exactly as the validator does after parsing a token.
///
/// Test vectors for the signature primitives (Wycheproof) carry arbitrary
/// messages, not JWS signing inputs, so they cannot go through
/// [`verify_compact_jws`]. Not part of the supported API.
#[doc(hidden)]
pub fn verify_detached_for_testing(
    keys: &crate::KeySet,
    alg: Algorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), JwtError> {
    crate::validator::verify_with(keys, None, alg, message, signature)
        .unwrap_or_else(|| Err(JwtError::key_not_found(None, None)))
        .map(|_| ())
}

/// Splits at the two dots without allocating; a third dot anywhere is a
/// structure error. The header must be non-empty; the signature may be
/// empty here and then fails verification.
/// The base64url header, payload and signature segments.
type Segments<'a> = (&'a [u8], &'a [u8], &'a [u8]);

fn split(bytes: &[u8]) -> Result<Segments<'_>, JwtError> {
    let structure = JwtError::malformed(MalformedReason::Structure);
    let first = bytes
        .iter()
        .position(|byte| *byte == b'.')
        .ok_or(structure.clone())?;
    let rest = &bytes[first + 1..];
    let second = rest
        .iter()
        .position(|byte| *byte == b'.')
        .ok_or(structure.clone())?;
    let signature = &rest[second + 1..];
    if signature.contains(&b'.') {
        return Err(structure);
    }
    let header = &bytes[..first];
    let payload = &rest[..second];
    if header.is_empty() {
        return Err(structure);
    }
    Ok((header, payload, signature))
}

fn check_header(
    header: &Map<String, Value>,
) -> Result<(Option<Algorithm>, Option<String>), JwtError> {
    if header.contains_key("crit") {
        return Err(JwtError::CritUnsupported);
    }
    if FORBIDDEN_HEADER_MEMBERS
        .iter()
        .any(|name| header.contains_key(*name))
    {
        return Err(JwtError::malformed(MalformedReason::UnsupportedHeader));
    }
    // A nested JWT (`cty: JWT`) would need a second verification pass that
    // this crate does not do.
    if let Some(cty) = header.get("cty") {
        let Value::String(cty) = cty else {
            return Err(JwtError::malformed(MalformedReason::HeaderMemberType));
        };
        if cty.eq_ignore_ascii_case("JWT") {
            return Err(JwtError::malformed(MalformedReason::UnsupportedHeader));
        }
    }
    if header.get("typ").is_some_and(|typ| !typ.is_string()) {
        return Err(JwtError::malformed(MalformedReason::HeaderMemberType));
    }

    let alg = match header.get("alg") {
        None => None,
        Some(Value::String(name)) => Algorithm::from_name(name),
        Some(_) => return Err(JwtError::malformed(MalformedReason::HeaderMemberType)),
    };
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(JwtError::malformed(MalformedReason::HeaderMemberType)),
    };
    Ok((alg, kid))
}
