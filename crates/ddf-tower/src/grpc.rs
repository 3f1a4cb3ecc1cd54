//! gRPC rendering of rejections.
//!
//! tonic servers are tower services, so the layers of this crate apply to
//! them unchanged. When a request's `content-type` is `application/grpc` (or
//! `application/grpc+proto` and the like), a rejection is sent as a gRPC
//! trailers-only response: HTTP 200, `content-type: application/grpc`, a
//! `grpc-status` and a fixed `grpc-message`, and no body. The status codes:
//!
//! | HTTP | gRPC |
//! |---|---|
//! | 400 | `INVALID_ARGUMENT` (3) |
//! | 401 | `UNAUTHENTICATED` (16) |
//! | 403 | `PERMISSION_DENIED` (7) |
//! | 429 | `RESOURCE_EXHAUSTED` (8) |
//! | 500 | `INTERNAL` (13) |
//! | 503 | `UNAVAILABLE` (14) |

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Response, StatusCode};

use crate::failure::AuthFailure;

/// Returns whether the request is a gRPC call, judged by its `content-type`.
pub fn is_grpc_request(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .is_some_and(|value| is_grpc_content_type(value.as_bytes()))
}

/// Returns whether a `content-type` value names gRPC: `application/grpc`,
/// optionally followed by `+format` or parameters, but not `grpc-web`.
pub(crate) fn is_grpc_content_type(value: &[u8]) -> bool {
    value.starts_with(b"application/grpc") && matches!(value.get(16), None | Some(b'+' | b';'))
}

/// Builds the trailers-only gRPC response for `failure`.
pub(crate) fn response(failure: &AuthFailure, retry_after: Option<HeaderValue>) -> Response<Bytes> {
    let reason = failure.reason();
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::OK;

    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    headers.insert("grpc-status", HeaderValue::from(reason.grpc_code()));
    // The descriptions are printable ASCII without `%`, which gRPC sends
    // as is in `grpc-message`.
    headers.insert(
        "grpc-message",
        HeaderValue::from_static(reason.description()),
    );
    if let Some(retry_after) = retry_after {
        headers.insert(http::header::RETRY_AFTER, retry_after);
    }
    response.extensions_mut().insert(reason);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_content_types() {
        let mut headers = HeaderMap::new();
        for (value, expected) in [
            ("application/grpc", true),
            ("application/grpc+proto", true),
            ("application/grpc;charset=utf-8", true),
            ("application/grpc-web", false),
            ("application/json", false),
        ] {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(value));
            assert_eq!(is_grpc_request(&headers), expected, "{value}");
        }
    }
}
