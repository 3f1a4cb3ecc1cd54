//! Reading one credential from the request headers, strictly.
//!
//! The rules, checked in this order:
//!
//! - A query string with an `access_token` parameter is rejected
//!   (`credentials_ambiguous`): tokens in URLs end up in logs and caches, and
//!   this crate never reads them.
//! - Every credential header value longer than the configured cap is rejected
//!   (`header_malformed`) before any parsing.
//! - Two `Authorization` headers, two API-key headers, two session cookies, or
//!   credentials from two enabled sources are rejected
//!   (`credentials_ambiguous`). The request is never guessed at.
//! - `Authorization: Bearer` follows RFC 6750 section 2.1: the scheme is
//!   case-insensitive, one or more spaces follow it, and exactly one
//!   `b64token` follows them. Anything else after `Bearer` is
//!   `header_malformed`. Other schemes (`Basic`, `Token`) are ignored, so a
//!   request with only such a header is `credentials_missing`.
//! - Bytes outside visible ASCII (NUL, CR, LF, 0x80 to 0xFF) in a credential
//!   header are `header_malformed`.
//!
//! Bodies are never read: a credential in a form body is not found.

use std::fmt;

use http::header::{AUTHORIZATION, COOKIE};
use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use serde::Deserialize;

use crate::error::ConfigError;
use crate::failure::AuthFailure;
use crate::reason::Reason;

/// A credential taken from a request, borrowed from its headers.
///
/// `Debug` prints only the kind, never the value:
///
/// ```
/// use ddf_tower::Credential;
///
/// let credential = Credential::Bearer("eyJhbGciOiJSUzI1NiJ9.e30.c2ln");
/// assert_eq!(format!("{credential:?}"), "Bearer(<redacted>)");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credential<'a> {
    /// The token of `Authorization: Bearer`, already checked against the
    /// RFC 6750 `b64token` grammar.
    Bearer(&'a str),
    /// The raw value of the API-key header: visible ASCII, not yet checked
    /// against any key format.
    ApiKey(&'a [u8]),
    /// The value of the session cookie: cookie octets, quotes removed.
    SessionCookie(&'a str),
}

impl Credential<'_> {
    /// Returns which source the credential came from.
    pub fn kind(&self) -> CredentialKind {
        match self {
            Self::Bearer(_) => CredentialKind::Bearer,
            Self::ApiKey(_) => CredentialKind::ApiKey,
            Self::SessionCookie(_) => CredentialKind::SessionCookie,
        }
    }
}

impl fmt::Debug for Credential<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::Bearer(_) => "Bearer",
            Self::ApiKey(_) => "ApiKey",
            Self::SessionCookie(_) => "SessionCookie",
        };
        write!(f, "{name}(<redacted>)")
    }
}

/// A credential source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CredentialKind {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// The API-key header, `X-API-Key` by default.
    ApiKey,
    /// The session cookie.
    SessionCookie,
}

impl CredentialKind {
    /// Returns the stable name used in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bearer => "bearer",
            Self::ApiKey => "api_key",
            Self::SessionCookie => "session_cookie",
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Self::Bearer => 0,
            Self::ApiKey => 1,
            Self::SessionCookie => 2,
        }
    }
}

/// Credential sources, names and size cap, deserializable from service
/// configuration.
///
/// ```
/// use ddf_tower::CredentialConfig;
///
/// let config = CredentialConfig::default();
/// assert_eq!(config.api_key_header, "x-api-key");
/// assert_eq!(config.max_header_bytes, 8192);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct CredentialConfig {
    /// Enabled sources, in the order they are checked. `None` enables every
    /// source that has an authenticator, in the order bearer, API key,
    /// session cookie.
    pub sources: Option<Vec<CredentialKind>>,
    /// Name of the API-key header.
    pub api_key_header: String,
    /// Name of the session cookie.
    pub session_cookie: String,
    /// Longest accepted credential header value, in bytes. Longer values are
    /// rejected before any parsing or hashing.
    pub max_header_bytes: usize,
}

impl Default for CredentialConfig {
    fn default() -> Self {
        Self {
            sources: None,
            api_key_header: "x-api-key".to_owned(),
            session_cookie: "ddf_session".to_owned(),
            max_header_bytes: 8 * 1024,
        }
    }
}

/// The compiled form of [`CredentialConfig`]: finds at most one credential
/// in a request.
///
/// ```
/// use ddf_tower::{Credential, CredentialExtractor, CredentialKind, Reason};
/// use http::{HeaderMap, HeaderValue, Uri};
///
/// let extractor = CredentialExtractor::with_sources(&[CredentialKind::Bearer]).unwrap();
/// let mut headers = HeaderMap::new();
/// headers.insert("authorization", HeaderValue::from_static("bearer  abc.def.ghi"));
/// let uri = Uri::from_static("/v1/query");
/// assert_eq!(
///     extractor.extract(&headers, &uri).unwrap(),
///     Some(Credential::Bearer("abc.def.ghi"))
/// );
///
/// headers.insert("authorization", HeaderValue::from_static("Bearer a b"));
/// let failure = extractor.extract(&headers, &uri).unwrap_err();
/// assert_eq!(failure.reason(), Reason::HeaderMalformed);
/// ```
#[derive(Debug, Clone)]
pub struct CredentialExtractor {
    sources: Vec<CredentialKind>,
    api_key_header: HeaderName,
    session_cookie: Box<str>,
    max_header_bytes: usize,
}

impl CredentialExtractor {
    /// Compiles `config`; `default_sources` applies when the config lists none.
    pub fn new(
        config: &CredentialConfig,
        default_sources: &[CredentialKind],
    ) -> Result<Self, ConfigError> {
        let sources = config
            .sources
            .clone()
            .unwrap_or_else(|| default_sources.to_vec());
        if sources.is_empty() {
            return Err(ConfigError::NoCredentialSource);
        }
        for (position, source) in sources.iter().enumerate() {
            if sources[..position].contains(source) {
                return Err(ConfigError::DuplicateSource {
                    source_name: source.as_str(),
                });
            }
        }
        let api_key_header =
            HeaderName::from_bytes(config.api_key_header.as_bytes()).map_err(|_| {
                ConfigError::InvalidHeaderName {
                    name: config.api_key_header.clone(),
                }
            })?;
        if config.session_cookie.is_empty() || !config.session_cookie.bytes().all(is_token_byte) {
            return Err(ConfigError::InvalidCookieName {
                name: config.session_cookie.clone(),
            });
        }
        if config.max_header_bytes == 0 {
            return Err(ConfigError::ZeroHeaderCap);
        }
        Ok(Self {
            sources,
            api_key_header,
            session_cookie: config.session_cookie.clone().into_boxed_str(),
            max_header_bytes: config.max_header_bytes,
        })
    }

    /// Creates an extractor with the default configuration and `sources`.
    pub fn with_sources(sources: &[CredentialKind]) -> Result<Self, ConfigError> {
        Self::new(&CredentialConfig::default(), sources)
    }

    /// Returns the enabled sources in the order they are checked.
    pub fn sources(&self) -> &[CredentialKind] {
        &self.sources
    }

    /// Returns the session cookie name.
    pub fn session_cookie(&self) -> &str {
        &self.session_cookie
    }

    /// Returns the API-key header name.
    pub fn api_key_header(&self) -> &HeaderName {
        &self.api_key_header
    }

    /// Finds the request's credential.
    ///
    /// Returns `Ok(None)` when no enabled source carries one, and a failure
    /// with [`Reason::CredentialsAmbiguous`] or [`Reason::HeaderMalformed`]
    /// when the request breaks a rule listed in the module documentation.
    pub fn extract<'r>(
        &self,
        headers: &'r HeaderMap,
        uri: &Uri,
    ) -> Result<Option<Credential<'r>>, AuthFailure> {
        if uri.query().is_some_and(query_has_access_token) {
            return Err(AuthFailure::new(Reason::CredentialsAmbiguous));
        }

        let mut found = None;
        for source in &self.sources {
            let credential = match source {
                CredentialKind::Bearer => self.bearer(headers)?,
                CredentialKind::ApiKey => self.api_key(headers)?,
                CredentialKind::SessionCookie => self.cookie(headers)?,
            };
            if credential.is_some() {
                if found.is_some() {
                    return Err(AuthFailure::new(Reason::CredentialsAmbiguous));
                }
                found = credential;
            }
        }
        Ok(found)
    }

    fn single<'r>(
        &self,
        headers: &'r HeaderMap,
        name: &HeaderName,
    ) -> Result<Option<&'r [u8]>, AuthFailure> {
        let mut values = headers.get_all(name).iter();
        let Some(value) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(AuthFailure::new(Reason::CredentialsAmbiguous));
        }
        self.check_length(value)?;
        let bytes = trim_ows(value.as_bytes());
        if !is_visible_ascii_or_space(bytes) {
            return Err(AuthFailure::new(Reason::HeaderMalformed));
        }
        Ok(Some(bytes))
    }

    fn check_length(&self, value: &HeaderValue) -> Result<(), AuthFailure> {
        if value.len() > self.max_header_bytes {
            Err(AuthFailure::new(Reason::HeaderMalformed))
        } else {
            Ok(())
        }
    }

    fn bearer<'r>(&self, headers: &'r HeaderMap) -> Result<Option<Credential<'r>>, AuthFailure> {
        let Some(value) = self.single(headers, &AUTHORIZATION)? else {
            return Ok(None);
        };
        parse_bearer(value).map(|token| token.map(Credential::Bearer))
    }

    fn api_key<'r>(&self, headers: &'r HeaderMap) -> Result<Option<Credential<'r>>, AuthFailure> {
        let Some(value) = self.single(headers, &self.api_key_header)? else {
            return Ok(None);
        };
        if value.is_empty() || value.contains(&b' ') {
            return Err(AuthFailure::new(Reason::HeaderMalformed));
        }
        Ok(Some(Credential::ApiKey(value)))
    }

    fn cookie<'r>(&self, headers: &'r HeaderMap) -> Result<Option<Credential<'r>>, AuthFailure> {
        // HTTP/2 clients may split cookies over several `Cookie` fields, so
        // every field is read and the named cookie must occur once overall.
        let mut found: Option<&'r [u8]> = None;
        for value in headers.get_all(COOKIE) {
            self.check_length(value)?;
            for pair in value.as_bytes().split(|&byte| byte == b';') {
                let pair = trim_ows(pair);
                let Some(equals) = pair.iter().position(|&byte| byte == b'=') else {
                    continue;
                };
                if &pair[..equals] != self.session_cookie.as_bytes() {
                    continue;
                }
                if found.is_some() {
                    return Err(AuthFailure::new(Reason::CredentialsAmbiguous));
                }
                found = Some(&pair[equals + 1..]);
            }
        }
        let Some(mut value) = found else {
            return Ok(None);
        };
        if value.len() >= 2 && value[0] == b'"' && value[value.len() - 1] == b'"' {
            value = &value[1..value.len() - 1];
        }
        if value.is_empty() {
            // A cleared cookie that the client kept: no credential.
            return Ok(None);
        }
        if !value.iter().all(|&byte| is_cookie_octet(byte)) {
            return Err(AuthFailure::new(Reason::HeaderMalformed));
        }
        Ok(std::str::from_utf8(value)
            .ok()
            .map(Credential::SessionCookie))
    }
}

/// Parses an `Authorization` value that contains only visible ASCII and SP.
///
/// Returns `Ok(None)` for schemes other than `Bearer`.
fn parse_bearer(value: &[u8]) -> Result<Option<&str>, AuthFailure> {
    const SCHEME: &[u8] = b"bearer";

    let Some(space) = value.iter().position(|&byte| byte == b' ') else {
        // `Bearer` alone, or `Bearer` glued to a token with no separator: a
        // parser that strips the prefix would accept the latter.
        if value.len() >= SCHEME.len() && value[..SCHEME.len()].eq_ignore_ascii_case(SCHEME) {
            return Err(AuthFailure::new(Reason::HeaderMalformed));
        }
        return Ok(None);
    };
    if !value[..space].eq_ignore_ascii_case(SCHEME) {
        return Ok(None);
    }

    let token = trim_leading_spaces(&value[space..]);
    if !is_b64token(token) {
        return Err(AuthFailure::new(Reason::HeaderMalformed));
    }
    // `is_b64token` admits ASCII only, so the conversion cannot fail.
    Ok(std::str::from_utf8(token).ok())
}

/// Checks RFC 6750 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" /
/// "+" / "/" ) *"="`.
pub(crate) fn is_b64token(token: &[u8]) -> bool {
    let body_end = token
        .iter()
        .rposition(|&byte| byte != b'=')
        .map_or(0, |last| last + 1);
    // A fold without early exit over byte comparisons only (no table
    // lookup) is vectorized: a bearer token is about a kilobyte.
    body_end > 0
        && token[..body_end]
            .iter()
            .fold(true, |valid, &byte| valid & is_b64token_byte(byte))
}

/// Returns whether `byte` may appear before the `=` padding of a
/// `b64token`, with comparisons the compiler can vectorize.
#[inline]
#[expect(
    clippy::needless_bitwise_bool,
    reason = "lazy operators add branches, which stop the loop from vectorizing"
)]
fn is_b64token_byte(byte: u8) -> bool {
    // Setting bit 5 maps `A-Z` onto `a-z` and no other byte into `a-z`.
    let letter = (byte | 0x20).wrapping_sub(b'a') < 26;
    let digit = byte.wrapping_sub(b'0') < 10;
    // `+`, `-`, `.` and `/` are 0x2B and 0x2D to 0x2F.
    let punctuation = (byte.wrapping_sub(b'+') < 5) & (byte != b',');
    letter | digit | punctuation | (byte == b'_') | (byte == b'~')
}

/// Returns whether every byte is SP or visible ASCII (0x20 to 0x7E).
fn is_visible_ascii_or_space(bytes: &[u8]) -> bool {
    // Branch-free so the compiler can vectorize it.
    bytes.iter().fold(true, |valid, &byte| {
        valid & (byte.wrapping_sub(0x20) < 0x5F)
    })
}

fn trim_leading_spaces(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&byte| byte != b' ')
        .unwrap_or(bytes.len());
    &bytes[start..]
}

/// Strips optional whitespace (SP and HTAB) around a field value, as RFC
/// 9110 section 5.5 lets a recipient do.
fn trim_ows(bytes: &[u8]) -> &[u8] {
    let is_ows = |byte: &u8| *byte == b' ' || *byte == b'\t';
    let start = bytes.iter().position(|b| !is_ows(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |last| last + 1);
    &bytes[start..end]
}

/// RFC 6265 `cookie-octet`.
fn is_cookie_octet(byte: u8) -> bool {
    matches!(byte, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

/// RFC 9110 `tchar`, the characters of a cookie name.
pub(crate) fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// Returns whether a query string has an `access_token` parameter, also in
/// percent-encoded spelling.
fn query_has_access_token(query: &str) -> bool {
    const NAME: &[u8] = b"access_token";

    query.split('&').any(|parameter| {
        let name = parameter.split('=').next().unwrap_or_default().as_bytes();
        if !name.contains(&b'%') {
            return name == NAME;
        }
        percent_decode_equals(name, NAME)
    })
}

fn percent_decode_equals(encoded: &[u8], expected: &[u8]) -> bool {
    let mut decoded = Vec::with_capacity(encoded.len());
    let mut index = 0;
    while index < encoded.len() {
        let byte = encoded[index];
        if byte == b'%' && index + 2 < encoded.len() {
            let hex = std::str::from_utf8(&encoded[index + 1..index + 3]).ok();
            if let Some(value) = hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                decoded.push(value);
                index += 3;
                continue;
            }
        }
        decoded.push(byte);
        index += 1;
    }
    decoded == expected
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b64token_bytes_are_exactly_those_of_rfc_6750() {
        let allowed: Vec<u8> = (0..=u8::MAX)
            .filter(|&byte| is_b64token_byte(byte))
            .collect();
        let expected: Vec<u8> = (0..=u8::MAX)
            .filter(|byte| byte.is_ascii_alphanumeric() || b"-._~+/".contains(byte))
            .collect();
        assert_eq!(allowed, expected);
        assert_eq!(allowed.len(), 68);
    }

    fn extract_with(
        sources: &[CredentialKind],
        headers: &[(&str, &[u8])],
        uri: &str,
    ) -> Result<Option<String>, Reason> {
        let extractor = CredentialExtractor::with_sources(sources).unwrap();
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        let uri: Uri = uri.parse().unwrap();
        extractor
            .extract(&map, &uri)
            .map(|found| {
                found.map(|credential| match credential {
                    Credential::Bearer(token) => format!("bearer:{token}"),
                    Credential::ApiKey(key) => format!("key:{}", String::from_utf8_lossy(key)),
                    Credential::SessionCookie(id) => format!("cookie:{id}"),
                })
            })
            .map_err(|failure| failure.reason())
    }

    const ALL: &[CredentialKind] = &[
        CredentialKind::Bearer,
        CredentialKind::ApiKey,
        CredentialKind::SessionCookie,
    ];

    fn bearer(value: &str) -> Result<Option<String>, Reason> {
        extract_with(ALL, &[("authorization", value.as_bytes())], "/")
    }

    #[test]
    fn bearer_scheme_spacing_and_case() {
        assert_eq!(bearer("Bearer abc"), Ok(Some("bearer:abc".into())));
        assert_eq!(bearer("bearer abc"), Ok(Some("bearer:abc".into())));
        assert_eq!(bearer("BEARER abc"), Ok(Some("bearer:abc".into())));
        assert_eq!(bearer("Bearer   abc"), Ok(Some("bearer:abc".into())));
        assert_eq!(
            bearer("Bearer a+/b~_-.c=="),
            Ok(Some("bearer:a+/b~_-.c==".into()))
        );
    }

    #[test]
    fn bearer_grammar_violations() {
        assert_eq!(bearer("Bearer"), Err(Reason::HeaderMalformed));
        assert_eq!(bearer("Bearer "), Err(Reason::HeaderMalformed));
        assert_eq!(bearer("Bearer a b"), Err(Reason::HeaderMalformed));
        assert_eq!(bearer("Bearerabc"), Err(Reason::HeaderMalformed));
        assert_eq!(bearer("Bearer ="), Err(Reason::HeaderMalformed));
        assert_eq!(bearer("Bearer a=b"), Err(Reason::HeaderMalformed));
        assert_eq!(bearer("Bearer a,b"), Err(Reason::HeaderMalformed));
        assert_eq!(bearer("Bearer\tabc"), Err(Reason::HeaderMalformed));
    }

    #[test]
    fn other_schemes_are_absent() {
        assert_eq!(bearer("Basic dXNlcjpwYXNz"), Ok(None));
        assert_eq!(bearer("Token abc"), Ok(None));
        assert_eq!(bearer("Negotiate"), Ok(None));
    }

    #[test]
    fn non_visible_bytes_are_malformed() {
        for value in [&b"Bearer ab\x80c"[..], b"Bearer \xffabc", b"Basic \x80"] {
            assert_eq!(
                extract_with(ALL, &[("authorization", value)], "/"),
                Err(Reason::HeaderMalformed)
            );
        }
    }

    #[test]
    fn query_token_is_rejected() {
        for uri in [
            "/?access_token=x",
            "/?a=1&access_token",
            "/?access%5Ftoken=x",
            "/?%61ccess_token=y",
        ] {
            assert_eq!(
                extract_with(ALL, &[], uri),
                Err(Reason::CredentialsAmbiguous),
                "{uri}"
            );
        }
        assert_eq!(
            extract_with(ALL, &[], "/?access_tokens=x&token=y"),
            Ok(None)
        );
        assert_eq!(extract_with(ALL, &[], "/?x=%"), Ok(None));
    }

    #[test]
    fn cookies_across_fields() {
        let one = extract_with(ALL, &[("cookie", b"a=1; ddf_session=s1; b=2")], "/");
        assert_eq!(one, Ok(Some("cookie:s1".into())));
        let quoted = extract_with(ALL, &[("cookie", b"ddf_session=\"s1\"")], "/");
        assert_eq!(quoted, Ok(Some("cookie:s1".into())));
        let split = extract_with(
            ALL,
            &[("cookie", b"ddf_session=s1"), ("cookie", b"ddf_session=s2")],
            "/",
        );
        assert_eq!(split, Err(Reason::CredentialsAmbiguous));
        let empty = extract_with(ALL, &[("cookie", b"ddf_session=")], "/");
        assert_eq!(empty, Ok(None));
        let bad = extract_with(ALL, &[("cookie", b"ddf_session=a,b")], "/");
        assert_eq!(bad, Err(Reason::HeaderMalformed));
        let other = extract_with(ALL, &[("cookie", b"ddf_sessionx=1; xddf_session=2")], "/");
        assert_eq!(other, Ok(None));
    }

    #[test]
    fn disabled_sources_are_ignored() {
        let found = extract_with(
            &[CredentialKind::Bearer],
            &[("authorization", b"Bearer t"), ("x-api-key", b"k")],
            "/",
        );
        assert_eq!(found, Ok(Some("bearer:t".into())));
    }

    #[test]
    fn config_errors() {
        assert_eq!(
            CredentialExtractor::with_sources(&[]).unwrap_err(),
            ConfigError::NoCredentialSource
        );
        let twice = [CredentialKind::Bearer, CredentialKind::Bearer];
        assert_eq!(
            CredentialExtractor::with_sources(&twice).unwrap_err(),
            ConfigError::DuplicateSource {
                source_name: "bearer"
            }
        );
        let config = CredentialConfig {
            session_cookie: "a b".into(),
            ..CredentialConfig::default()
        };
        assert_eq!(
            CredentialExtractor::new(&config, ALL).unwrap_err(),
            ConfigError::InvalidCookieName { name: "a b".into() }
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_authorization_never_panics(value in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            if let Ok(value) = HeaderValue::from_bytes(&value) {
                let extractor = CredentialExtractor::with_sources(ALL).unwrap();
                let mut headers = HeaderMap::new();
                headers.insert(AUTHORIZATION, value);
                let uri = Uri::from_static("/");
                if let Ok(Some(Credential::Bearer(token))) = extractor.extract(&headers, &uri) {
                    proptest::prop_assert!(is_b64token(token.as_bytes()));
                }
            }
        }

        #[test]
        fn valid_bearer_tokens_round_trip(token in "[A-Za-z0-9._~+/-]{1,40}={0,2}", spaces in 1usize..4) {
            let value = format!("Bearer{}{token}", " ".repeat(spaces));
            let extractor = CredentialExtractor::with_sources(ALL).unwrap();
            let mut headers = HeaderMap::new();
            headers.insert(AUTHORIZATION, HeaderValue::from_str(&value).unwrap());
            let uri = Uri::from_static("/");
            proptest::prop_assert_eq!(
                extractor.extract(&headers, &uri).unwrap(),
                Some(Credential::Bearer(&token))
            );
        }
    }
}
