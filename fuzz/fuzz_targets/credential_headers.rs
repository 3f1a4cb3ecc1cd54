//! Fuzzes the credential extraction of ddf-tower: the `Authorization`,
//! `X-API-Key` and `Cookie` headers and the query string of a request.
//!
//! Input layout: the first byte picks the enabled sources (bit 0 bearer,
//! bit 1 API key, bit 2 session cookie; none set means all three). The rest
//! is split at `\n`. The first line is the query string; every further line
//! is one header, `name:value`, whose name is reduced to the three
//! credential headers so that the fuzzer spends its time on their values.
//!
//! Every input must end in `Ok(None)`, a credential that satisfies its
//! grammar, or a failure with one of the two extraction reasons.

#![no_main]

use ddf_tower::{Credential, CredentialExtractor, CredentialKind, Reason};
use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use libfuzzer_sys::fuzz_target;

const HEADER_NAMES: [&str; 3] = ["authorization", "x-api-key", "cookie"];

fn extractor(selector: u8) -> CredentialExtractor {
    let all = [
        CredentialKind::Bearer,
        CredentialKind::ApiKey,
        CredentialKind::SessionCookie,
    ];
    let mut sources: Vec<CredentialKind> = all
        .iter()
        .enumerate()
        .filter(|(bit, _)| selector & (1 << bit) != 0)
        .map(|(_, kind)| *kind)
        .collect();
    if sources.is_empty() {
        sources = all.to_vec();
    }
    CredentialExtractor::with_sources(&sources).expect("distinct sources compile")
}

fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-._~+/".contains(&byte))
}

fn is_cookie_octet(byte: u8) -> bool {
    matches!(byte, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let extractor = extractor(selector);

    let mut lines = rest.split(|&byte| byte == b'\n');
    let query = lines.next().unwrap_or_default();
    let uri = std::str::from_utf8(query)
        .ok()
        .and_then(|query| format!("/v1/chat?{query}").parse::<Uri>().ok())
        .unwrap_or_else(|| Uri::from_static("/v1/chat"));

    let mut headers = HeaderMap::new();
    for line in lines {
        let Some(colon) = line.iter().position(|&byte| byte == b':') else {
            continue;
        };
        let name = HEADER_NAMES[usize::from(line[..colon].first().copied().unwrap_or(0)) % 3];
        // Values that `http` refuses (CR, LF, NUL) never reach the layer.
        let Ok(value) = HeaderValue::from_bytes(&line[colon + 1..]) else {
            continue;
        };
        headers.append(HeaderName::from_static(name), value);
    }

    match extractor.extract(&headers, &uri) {
        Ok(None) => {}
        Ok(Some(Credential::Bearer(token))) => {
            assert!(extractor.sources().contains(&CredentialKind::Bearer));
            assert!(is_b64token(token), "bearer token outside b64token");
        }
        Ok(Some(Credential::ApiKey(key))) => {
            assert!(extractor.sources().contains(&CredentialKind::ApiKey));
            assert!(!key.is_empty());
            assert!(key.iter().all(|byte| (0x21..0x7F).contains(byte)));
        }
        Ok(Some(Credential::SessionCookie(value))) => {
            assert!(extractor.sources().contains(&CredentialKind::SessionCookie));
            assert!(!value.is_empty());
            assert!(value.bytes().all(is_cookie_octet));
        }
        Ok(Some(_)) => unreachable!("a credential kind the target does not know"),
        Err(failure) => assert!(matches!(
            failure.reason(),
            Reason::CredentialsAmbiguous | Reason::HeaderMalformed
        )),
    }
});
