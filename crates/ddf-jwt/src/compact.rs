//! The compact JWS parser: one pass, strict, before any key is touched.
//!
//! Header and claims are read in a single pass each into the few typed
//! members the validator needs; the `serde_json` maps that the public
//! accessors return are built only when first asked for.

use std::fmt;
use std::sync::OnceLock;

use serde::de::MapAccess;
use serde_json::{Map, Value};

use crate::claims::Claims;
use crate::error::{JwtError, MalformedReason};
use crate::json::{Ctx, Field, FieldSeed, Members, Text};
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
    header: Header,
    claims: Claims,
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
        let claims = Claims::parse(jws.payload).map_err(JwtError::malformed)?;
        Ok(Self {
            signing_input: jws.signing_input,
            header: jws.header,
            claims,
            signature: jws.signature,
        })
    }

    /// Returns the header `alg` if it names a supported algorithm; `None`
    /// when it is missing, `none` or unknown. Unverified.
    pub fn untrusted_alg(&self) -> Option<Algorithm> {
        self.header.alg
    }

    /// Returns the header `kid`. Unverified: use it only to pick a key.
    pub fn untrusted_kid(&self) -> Option<&str> {
        self.header.kid()
    }

    /// Returns the decoded header. Unverified.
    pub fn untrusted_header(&self) -> &Map<String, Value> {
        self.header.map()
    }

    /// Returns the decoded claims. **Unverified**: anyone can write any
    /// claim into a token; read them for display or key selection only.
    pub fn untrusted_claims(&self) -> &Map<String, Value> {
        self.claims.map()
    }

    /// Returns `iss` when it is a string. Unverified.
    pub fn untrusted_issuer(&self) -> Option<&str> {
        self.claims.string("iss").flatten()
    }

    pub(crate) fn signing_input(&self) -> &[u8] {
        self.signing_input
    }

    pub(crate) fn signature(&self) -> &[u8] {
        &self.signature
    }

    pub(crate) fn header_typ(&self) -> Option<&str> {
        self.header.typ()
    }

    pub(crate) fn claims(&self) -> &Claims {
        &self.claims
    }

    pub(crate) fn into_parts(self) -> (Header, Claims) {
        (self.header, self.claims)
    }
}

impl fmt::Debug for UnverifiedToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnverifiedToken")
            .field("alg", &self.header.alg)
            .field("kid", &self.header.kid())
            .finish_non_exhaustive()
    }
}

/// A checked protected header: the members the validator reads, typed,
/// and the JSON text for [`Header::map`].
pub(crate) struct Header {
    doc: String,
    alg: Option<Algorithm>,
    kid: Option<Text>,
    typ: Option<Text>,
    map: OnceLock<Map<String, Value>>,
}

/// The header members read in the single parsing pass.
#[derive(Default)]
struct HeaderMembers {
    alg: Option<Field>,
    kid: Option<Field>,
    typ: Option<Field>,
    cty: Option<Field>,
    crit: bool,
    forbidden: bool,
}

impl<'de> Members<'de> for HeaderMembers {
    fn member<A: MapAccess<'de>>(
        &mut self,
        name: &str,
        ctx: Ctx<'_>,
        map: &mut A,
    ) -> Result<(), A::Error> {
        let slot = match name {
            "alg" => &mut self.alg,
            "kid" => &mut self.kid,
            "typ" => &mut self.typ,
            "cty" => &mut self.cty,
            _ => {
                if name == "crit" {
                    self.crit = true;
                } else if FORBIDDEN_HEADER_MEMBERS.contains(&name) {
                    self.forbidden = true;
                }
                return json::skip_value(ctx, map);
            }
        };
        *slot = Some(map.next_value_seed(FieldSeed(ctx))?);
        Ok(())
    }
}

impl Header {
    fn parse(json_bytes: Vec<u8>) -> Result<Self, JwtError> {
        let doc = json::into_text(json_bytes).map_err(JwtError::malformed)?;
        let members: HeaderMembers = json::parse_members(&doc).map_err(JwtError::malformed)?;
        let type_error = || JwtError::malformed(MalformedReason::HeaderMemberType);

        if members.crit {
            return Err(JwtError::CritUnsupported);
        }
        if members.forbidden {
            return Err(JwtError::malformed(MalformedReason::UnsupportedHeader));
        }
        // A nested JWT (`cty: JWT`) would need a second verification pass that
        // this crate does not do.
        if let Some(cty) = &members.cty {
            let cty = cty.as_text().ok_or_else(type_error)?;
            if cty.get(&doc).eq_ignore_ascii_case("JWT") {
                return Err(JwtError::malformed(MalformedReason::UnsupportedHeader));
            }
        }
        let typ = members
            .typ
            .map(|typ| typ.as_text().cloned().ok_or_else(type_error))
            .transpose()?;
        let alg = match &members.alg {
            None => None,
            Some(Field::Str(name)) => Algorithm::from_name(name.get(&doc)),
            Some(_) => return Err(type_error()),
        };
        let kid = members
            .kid
            .map(|kid| kid.as_text().cloned().ok_or_else(type_error))
            .transpose()?;
        Ok(Self {
            doc,
            alg,
            kid,
            typ,
            map: OnceLock::new(),
        })
    }

    pub(crate) fn alg(&self) -> Option<Algorithm> {
        self.alg
    }

    pub(crate) fn kid(&self) -> Option<&str> {
        self.kid.as_ref().map(|kid| kid.get(&self.doc))
    }

    pub(crate) fn typ(&self) -> Option<&str> {
        self.typ.as_ref().map(|typ| typ.get(&self.doc))
    }

    /// Returns the header as a JSON object, built on first use.
    pub(crate) fn map(&self) -> &Map<String, Value> {
        self.map.get_or_init(|| json::rebuild_object(&self.doc))
    }
}

/// A compact JWS with a checked header and a payload that need not be JSON.
pub(crate) struct CompactJws<'a> {
    pub(crate) signing_input: &'a [u8],
    pub(crate) header: Header,
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

        let (header_b64, payload_b64, signature_b64) = split(token)?;
        if payload_b64.is_empty() && !allow_empty_payload {
            return Err(JwtError::malformed(MalformedReason::Structure));
        }
        let header_json =
            b64::decode(header_b64).ok_or(JwtError::malformed(MalformedReason::Base64))?;
        let header = Header::parse(header_json)?;
        let payload =
            b64::decode(payload_b64).ok_or(JwtError::malformed(MalformedReason::Base64))?;
        let signature =
            b64::decode(signature_b64).ok_or(JwtError::malformed(MalformedReason::Base64))?;

        Ok(Self {
            signing_input: &bytes[..header_b64.len() + 1 + payload_b64.len()],
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
    let alg = jws
        .header
        .alg()
        .ok_or(JwtError::AlgNotAllowed { alg: None })?;
    if !algorithms.contains(&alg) {
        return Err(JwtError::AlgNotAllowed { alg: Some(alg) });
    }
    crate::validator::verify_with(
        keys,
        jws.header.kid(),
        alg,
        jws.signing_input,
        &jws.signature,
    )
    .unwrap_or_else(|| {
        Err(JwtError::key_not_found(
            jws.header.kid(),
            keys.skip_reason_for(jws.header.kid()),
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

fn split(token: &str) -> Result<Segments<'_>, JwtError> {
    // `str::find` with an ASCII byte uses the standard library's word-wise
    // memchr; a byte-by-byte scan was a visible share of parsing.
    let structure = JwtError::malformed(MalformedReason::Structure);
    let first = token.find('.').ok_or(structure.clone())?;
    let rest = &token[first + 1..];
    let second = rest.find('.').ok_or(structure.clone())?;
    let signature = &rest[second + 1..];
    if signature.contains('.') {
        return Err(structure);
    }
    let header = &token[..first];
    let payload = &rest[..second];
    if header.is_empty() {
        return Err(structure);
    }
    Ok((header.as_bytes(), payload.as_bytes(), signature.as_bytes()))
}
