//! [`LayerFuture`]: the response future shared by [`AuthService`] and
//! [`RateLimitService`].
//!
//! [`AuthService`]: crate::AuthService
//! [`RateLimitService`]: crate::RateLimitService

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, Response};
use http_body_util::Full;

use crate::auth_layer::{BoxResponseFuture, add_missing_headers};
use crate::body::ResponseBody;
use crate::rate_limit::RateHeaders;

/// Headers a layer adds to the inner service's response.
pub(crate) enum ExtraHeaders {
    /// Nothing to add.
    None,
    /// Headers from authentication, added where the inner service set none.
    Missing(HeaderMap),
    /// The `RateLimit` headers, which replace any the inner service set.
    Rate(RateHeaders),
}

impl ExtraHeaders {
    fn add_to(self, headers: &mut HeaderMap) {
        match self {
            Self::None => {}
            Self::Missing(extra) => add_missing_headers(headers, &extra),
            Self::Rate(rate) => rate.apply(headers),
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`AuthService`](crate::AuthService) and
    /// [`RateLimitService`](crate::RateLimitService).
    ///
    /// It is the inner service's future when the layer decided without
    /// waiting, a ready rejection, or a boxed future around a check that
    /// waits (a JWKS fetch, a Redis lookup).
    pub struct LayerFuture<F, B, E> {
        #[pin]
        state: State<F, B, E>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProjection]
    enum State<F, B, E> {
        Inner { #[pin] future: F, headers: Option<ExtraHeaders> },
        Rejected { response: Option<Response<Full<Bytes>>> },
        Pending { future: BoxResponseFuture<B, E> },
    }
}

impl<F, B, E> LayerFuture<F, B, E> {
    /// Wraps the inner service's future; `headers` go onto its response.
    pub(crate) fn inner(future: F, headers: ExtraHeaders) -> Self {
        Self {
            state: State::Inner {
                future,
                headers: Some(headers),
            },
        }
    }

    /// Returns `response` on the first poll.
    pub(crate) fn rejected(response: Response<Full<Bytes>>) -> Self {
        Self {
            state: State::Rejected {
                response: Some(response),
            },
        }
    }

    /// Wraps a check that has to wait.
    pub(crate) fn pending(future: BoxResponseFuture<B, E>) -> Self {
        Self {
            state: State::Pending { future },
        }
    }
}

impl<F, B, E> fmt::Debug for LayerFuture<F, B, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LayerFuture")
    }
}

impl<F, B, E> Future for LayerFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProjection::Inner { future, headers } => future.poll(cx).map(|result| {
                result.map(|response| {
                    let mut response = response.map(ResponseBody::inner);
                    if let Some(headers) = headers.take() {
                        headers.add_to(response.headers_mut());
                    }
                    response
                })
            }),
            StateProjection::Rejected { response } => {
                // A future is not polled again after `Ready`. If it is, the
                // rejection has already been handed out.
                let response = response.take().unwrap_or_else(|| {
                    let mut empty = Response::new(Full::new(Bytes::new()));
                    *empty.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                    empty
                });
                Poll::Ready(Ok(response.map(ResponseBody::rejection)))
            }
            StateProjection::Pending { future } => future.as_mut().poll(cx),
        }
    }
}
