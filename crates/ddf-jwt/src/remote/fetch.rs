//! One bounded HTTP GET: URL policy, deadline, no redirects, body cap while
//! streaming, and the caching headers the key source needs.

use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use reqwest::header::{
    ACCEPT, CACHE_CONTROL, CONTENT_LENGTH, ETAG, HeaderMap, IF_NONE_MATCH, RETRY_AFTER, USER_AGENT,
};
use reqwest::{StatusCode, Url};

use crate::JwtError;
use crate::remote::RemoteJwksConfig;

/// The `User-Agent` sent with every request.
pub(crate) const USER_AGENT_VALUE: &str = concat!("ddf-auth/", env!("CARGO_PKG_VERSION"));

/// `Accept` for JWKS documents (RFC 7517 section 8.5 media type first).
pub(crate) const ACCEPT_JWKS: &str = "application/jwk-set+json, application/json;q=0.9";
/// `Accept` for OIDC discovery documents.
pub(crate) const ACCEPT_JSON: &str = "application/json";

/// Why a fetch failed; [`as_str`](Self::as_str) is a stable name for logs,
/// metrics and [`crate::JwksStatus`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FetchErrorKind {
    /// The connection could not be opened (refused, DNS, TLS handshake).
    Connect,
    /// The fetch did not finish within the configured total deadline.
    Timeout,
    /// The server returned a redirect, which is never followed.
    Redirect,
    /// The server returned a status other than 200 (or 304 to a conditional
    /// request).
    HttpStatus,
    /// The body is larger than the configured cap.
    BodyTooLarge,
    /// The body is not a JWKS (or discovery) JSON document.
    InvalidDocument,
    /// The JWKS lists more keys than the configured cap.
    TooManyKeys,
    /// The JWKS contains no usable signature key; the previous set is kept.
    NoUsableKeys,
    /// The server returned 304 although no key set is held for this URL.
    UnexpectedNotModified,
    /// The discovery document's `issuer` is not the configured issuer.
    IssuerMismatch,
    /// A URL (configured or from discovery) is not `https` (or an allowed
    /// loopback `http`) or carries credentials.
    InsecureUrl,
    /// Discovery named a `jwks_uri` on a different host than before.
    JwksUriChanged,
    /// Another transport failure (connection reset, malformed response).
    Transport,
}

impl FetchErrorKind {
    /// Returns the stable snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Timeout => "timeout",
            Self::Redirect => "redirect",
            Self::HttpStatus => "http_status",
            Self::BodyTooLarge => "body_too_large",
            Self::InvalidDocument => "invalid_document",
            Self::TooManyKeys => "too_many_keys",
            Self::NoUsableKeys => "no_usable_keys",
            Self::UnexpectedNotModified => "unexpected_not_modified",
            Self::IssuerMismatch => "issuer_mismatch",
            Self::InsecureUrl => "insecure_url",
            Self::JwksUriChanged => "jwks_uri_changed",
            Self::Transport => "transport",
        }
    }

    /// Returns whether a document is at fault (as opposed to the network or
    /// the server's status), which maps to `jwks_invalid`. An insecure URL
    /// counts: configured URLs are checked when the source is built, so at
    /// fetch time it can only come from a discovery document.
    pub(crate) fn is_document_error(self) -> bool {
        matches!(
            self,
            Self::InvalidDocument
                | Self::TooManyKeys
                | Self::NoUsableKeys
                | Self::IssuerMismatch
                | Self::InsecureUrl
                | Self::JwksUriChanged
        )
    }
}

impl fmt::Display for FetchErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed fetch: the kind, the HTTP status if one arrived, the server's
/// `Retry-After`, and a message for logs (never a token or key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FetchError {
    pub(crate) kind: FetchErrorKind,
    pub(crate) status: Option<u16>,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) message: String,
}

impl FetchError {
    pub(crate) fn new(kind: FetchErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            status: None,
            retry_after: None,
            message: message.into(),
        }
    }

    /// Converts to the crate error: document faults are `jwks_invalid`,
    /// everything else `jwks_unavailable`.
    pub(crate) fn to_jwt_error(&self) -> JwtError {
        let reason = format!("{} ({})", self.message, self.kind);
        if self.kind.is_document_error() {
            JwtError::jwks_invalid(reason)
        } else {
            JwtError::JwksUnavailable { reason }
        }
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.kind)
    }
}

/// A successful response.
#[derive(Debug)]
pub(crate) enum Fetched {
    /// 200 with the whole body.
    Body {
        body: Vec<u8>,
        etag: Option<String>,
        max_age: Option<Duration>,
    },
    /// 304 to a conditional request.
    NotModified {
        etag: Option<String>,
        max_age: Option<Duration>,
    },
}

/// Checks that `url` may be fetched: `https`, or `http` to a loopback IP
/// literal when `allow_http_loopback` is set; no user name or password.
pub(crate) fn check_url(url: &str, allow_http_loopback: bool) -> Result<Url, FetchError> {
    let parsed = Url::parse(url).map_err(|error| {
        FetchError::new(
            FetchErrorKind::InsecureUrl,
            format!("{url:?} is not a valid absolute URL: {error}"),
        )
    })?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(FetchError::new(
            FetchErrorKind::InsecureUrl,
            "the URL carries a user name or password; pass credentials through a custom client instead",
        ));
    }
    let Some(host) = parsed.host_str() else {
        return Err(FetchError::new(
            FetchErrorKind::InsecureUrl,
            format!("{url:?} has no host"),
        ));
    };
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if allow_http_loopback && is_loopback_literal(host) => Ok(parsed),
        "http" => Err(FetchError::new(
            FetchErrorKind::InsecureUrl,
            format!(
                "{url:?} uses plain http; use https (plain http is allowed only for the loopback addresses 127.0.0.0/8 and ::1 with `danger_allow_http_loopback`)"
            ),
        )),
        scheme => Err(FetchError::new(
            FetchErrorKind::InsecureUrl,
            format!("{url:?} uses the scheme {scheme:?}; only https is supported"),
        )),
    }
}

/// Returns whether `host` (as `Url::host_str` prints it) is an IP literal in
/// 127.0.0.0/8 or `::1`. Names such as `localhost` are not accepted because
/// a resolver may map them anywhere.
fn is_loopback_literal(host: &str) -> bool {
    let bare = host
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Builds the client used when the caller supplies none.
pub(crate) fn default_client(config: &RemoteJwksConfig) -> Result<reqwest::Client, JwtError> {
    client_builder(config)
        .build()
        .map_err(|error| JwtError::config(format!("cannot build the HTTP client: {error}")))
}

/// Returns a client builder with the safe defaults: user agent, connect and
/// total timeouts, no redirects, https only unless loopback http is allowed.
pub(crate) fn client_builder(config: &RemoteJwksConfig) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(USER_AGENT_VALUE)
        .connect_timeout(config.connect_timeout)
        .timeout(config.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .https_only(!config.danger_allow_http_loopback)
}

/// Sends one GET and reads the body, all within `config.timeout`.
///
/// `etag` makes the request conditional (`If-None-Match`); only then is a
/// 304 a success.
pub(crate) async fn get(
    client: &reqwest::Client,
    config: &RemoteJwksConfig,
    url: &Url,
    accept: &str,
    etag: Option<&str>,
) -> Result<Fetched, FetchError> {
    let deadline = config.timeout;
    match tokio::time::timeout(deadline, get_inner(client, config, url, accept, etag)).await {
        Ok(result) => result,
        Err(_) => Err(FetchError::new(
            FetchErrorKind::Timeout,
            format!(
                "GET {url} did not finish within {} ms",
                deadline.as_millis()
            ),
        )),
    }
}

async fn get_inner(
    client: &reqwest::Client,
    config: &RemoteJwksConfig,
    url: &Url,
    accept: &str,
    etag: Option<&str>,
) -> Result<Fetched, FetchError> {
    let mut request = client
        .get(url.clone())
        .header(USER_AGENT, USER_AGENT_VALUE)
        .header(ACCEPT, accept)
        .timeout(config.timeout);
    if let Some(etag) = etag {
        request = request.header(IF_NONE_MATCH, etag);
    }
    let mut response = request
        .send()
        .await
        .map_err(|error| classify(url, &error))?;

    // A caller-supplied client may follow redirects; the final URL tells.
    if response.url() != url {
        return Err(FetchError::new(
            FetchErrorKind::Redirect,
            format!("GET {url} was redirected; configure the final URL instead"),
        ));
    }
    let status = response.status();
    let headers = response.headers();
    if status == StatusCode::NOT_MODIFIED {
        if etag.is_none() {
            let mut error = FetchError::new(
                FetchErrorKind::UnexpectedNotModified,
                format!("GET {url} returned 304 to an unconditional request"),
            );
            error.status = Some(304);
            return Err(error);
        }
        return Ok(Fetched::NotModified {
            etag: header_etag(headers),
            max_age: cache_max_age(headers),
        });
    }
    if status.is_redirection() {
        let mut error = FetchError::new(
            FetchErrorKind::Redirect,
            format!(
                "GET {url} returned {status} (a redirect); redirects are not followed, configure the final URL"
            ),
        );
        error.status = Some(status.as_u16());
        return Err(error);
    }
    if status != StatusCode::OK {
        let mut error = FetchError::new(
            FetchErrorKind::HttpStatus,
            format!("GET {url} returned {status}; expected 200"),
        );
        error.status = Some(status.as_u16());
        error.retry_after = retry_after(headers);
        return Err(error);
    }

    let etag_value = header_etag(headers);
    let max_age = cache_max_age(headers);
    let too_large = || {
        let mut error = FetchError::new(
            FetchErrorKind::BodyTooLarge,
            format!(
                "GET {url} returned a body larger than {} bytes",
                config.max_body_bytes
            ),
        );
        error.status = Some(200);
        error
    };
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > config.max_body_bytes as u64) {
        return Err(too_large());
    }

    // Read chunk by chunk so an unbounded body is cut at the cap, not
    // buffered first.
    let mut body = Vec::with_capacity(declared.map_or(8 * 1024, |length| length as usize));
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| classify(url, &error))?
    {
        if body.len() + chunk.len() > config.max_body_bytes {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched::Body {
        body,
        etag: etag_value,
        max_age,
    })
}

fn classify(url: &Url, error: &reqwest::Error) -> FetchError {
    let kind = if error.is_timeout() {
        FetchErrorKind::Timeout
    } else if error.is_connect() {
        FetchErrorKind::Connect
    } else if error.is_redirect() {
        FetchErrorKind::Redirect
    } else {
        FetchErrorKind::Transport
    };
    // The source chain says what went wrong at the socket or TLS level.
    let mut message = format!("GET {url} failed: {}", error_label(error));
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    FetchError::new(kind, message)
}

/// Returns a short label for a reqwest error; its `Display` repeats the URL.
fn error_label(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "reading the body failed"
    } else if error.is_request() {
        "sending the request failed"
    } else {
        "request failed"
    }
}

fn header_etag(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(ETAG)?.to_str().ok()?;
    // An entity tag is short; a huge one is ignored rather than echoed back.
    (value.len() <= 256).then(|| value.to_owned())
}

/// Returns `max-age` from `Cache-Control`, or `None` when absent. The
/// directives `no-cache` and `no-store` also yield `None`: the source still
/// caches, with its default refresh interval, because it cannot revalidate
/// on every token.
pub(crate) fn cache_max_age(headers: &HeaderMap) -> Option<Duration> {
    let mut max_age = None;
    for value in headers.get_all(CACHE_CONTROL) {
        let Ok(text) = value.to_str() else { continue };
        for directive in text.split(',') {
            let directive = directive.trim();
            let Some((name, argument)) = directive.split_once('=') else {
                continue;
            };
            if name.trim().eq_ignore_ascii_case("max-age") {
                let argument = argument.trim().trim_matches('"');
                if let Ok(seconds) = argument.parse::<u64>() {
                    max_age = Some(Duration::from_secs(seconds));
                }
            }
        }
    }
    max_age
}

/// Returns `Retry-After` as a delay: delta-seconds, or an IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`) relative to the system clock.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = parse_imf_fixdate(text)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)))
}

/// Parses `Sun, 06 Nov 1994 08:49:37 GMT` into Unix seconds.
fn parse_imf_fixdate(text: &str) -> Option<u64> {
    let rest = text.get(5..)?; // skip "Sun, "
    let mut parts = rest.split(' ');
    let day: u64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut clock = parts.next()?.split(':');
    let hour: u64 = clock.next()?.parse().ok()?;
    let minute: u64 = clock.next()?.parse().ok()?;
    let second: u64 = clock.next()?.parse().ok()?;
    if parts.next()? != "GMT" || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60
    {
        return None;
    }
    let days = days_from_civil(year, month, day as i64);
    let seconds = days * 86_400 + (hour * 3600 + minute * 60 + second) as i64;
    u64::try_from(seconds).ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Milliseconds elapsed since `started`, for log fields.
pub(crate) fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_literals() {
        assert!(is_loopback_literal("127.0.0.1"));
        assert!(is_loopback_literal("127.1.2.3"));
        assert!(is_loopback_literal("[::1]"));
        assert!(!is_loopback_literal("localhost"));
        assert!(!is_loopback_literal("10.0.0.1"));
        assert!(!is_loopback_literal("[::ffff:127.0.0.1]"));
    }

    #[test]
    fn url_policy() {
        assert!(check_url("https://idp.example.test/certs", false).is_ok());
        assert!(check_url("http://127.0.0.1:8080/certs", true).is_ok());
        assert!(check_url("http://[::1]:8080/certs", true).is_ok());
        for (url, allow) in [
            ("http://127.0.0.1:8080/certs", false),
            ("http://localhost:8080/certs", true),
            ("http://idp.example.test/certs", true),
            ("ftp://idp.example.test/certs", true),
            ("https://user:pass@idp.example.test/certs", false),
            ("not a url", false),
        ] {
            let error = check_url(url, allow).unwrap_err();
            assert_eq!(error.kind, FetchErrorKind::InsecureUrl, "{url}");
        }
    }

    #[test]
    fn cache_control_max_age() {
        let mut headers = HeaderMap::new();
        headers.insert(
            CACHE_CONTROL,
            "public, max-age=300, must-revalidate".parse().unwrap(),
        );
        assert_eq!(cache_max_age(&headers), Some(Duration::from_secs(300)));
        headers.insert(CACHE_CONTROL, "no-cache".parse().unwrap());
        assert_eq!(cache_max_age(&headers), None);
        headers.insert(CACHE_CONTROL, "MAX-AGE=\"60\"".parse().unwrap());
        assert_eq!(cache_max_age(&headers), Some(Duration::from_secs(60)));
    }

    #[test]
    fn imf_fixdate() {
        assert_eq!(
            parse_imf_fixdate("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(parse_imf_fixdate("Sun, 06 Foo 1994 08:49:37 GMT"), None);
        assert_eq!(parse_imf_fixdate("garbage"), None);
    }
}
