//! Permission checks: the [`Authorize`] trait and [`RequirePermissionLayer`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use ddf_rbac::Principal;
use http::{Request, Response};
use http_body_util::Full;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::audit::{self, EventBudget, RequestFacts};
use crate::body::ResponseBody;
use crate::client::ClientAddr;
use crate::failure::AuthFailure;
use crate::grpc::is_grpc_request;
use crate::reason::Reason;
use crate::responder::Responder;

/// Decides whether a principal has a permission such as `llm:query`.
///
/// Implement it for a compiled RBAC policy; closures
/// `Fn(&Principal, &str) -> bool` implement it too. Implementations should
/// deny what they do not understand.
///
/// ```
/// use ddf_rbac::{AuthMethod, Principal};
/// use ddf_tower::Authorize;
///
/// let admins_only = |principal: &Principal, _permission: &str| principal.has_role("admin");
/// let user = Principal::new("u1", AuthMethod::Jwt).with_roles(["user"]);
/// assert!(!admins_only.allows(&user, "llm:query"));
/// ```
pub trait Authorize: Send + Sync + 'static {
    /// Returns whether `principal` has `permission`.
    fn allows(&self, principal: &Principal, permission: &str) -> bool;
}

impl<F> Authorize for F
where
    F: Fn(&Principal, &str) -> bool + Send + Sync + 'static,
{
    fn allows(&self, principal: &Principal, permission: &str) -> bool {
        self(principal, permission)
    }
}

impl<T: Authorize + ?Sized> Authorize for Arc<T> {
    fn allows(&self, principal: &Principal, permission: &str) -> bool {
        (**self).allows(principal, permission)
    }
}

/// The authorizer that [`AuthLayer`](crate::AuthLayer) places in the request
/// extensions for the [`Require`](crate::Require) extractor.
#[derive(Clone)]
#[cfg_attr(
    not(any(feature = "axum", feature = "actix")),
    expect(dead_code, reason = "read only by the extractors")
)]
pub(crate) struct SharedAuthorizer(pub(crate) Arc<dyn Authorize>);

/// Requires a permission on every request to the wrapped service.
///
/// Place it inside [`AuthLayer`](crate::AuthLayer), and in axum with
/// `Router::route_layer`, so it runs after routing and before any extractor
/// reads the body: an unauthorized caller gets 401 or 403, never a 422 from a
/// JSON extractor. Requests without a principal get 401
/// `credentials_missing`; principals without the permission get 403
/// `insufficient_scope` and an `authz_fail` audit event.
///
/// ```
/// use ddf_rbac::Principal;
/// use ddf_tower::RequirePermissionLayer;
///
/// let layer = RequirePermissionLayer::new("llm:query", |principal: &Principal, permission: &str| {
///     principal.has_role("user") && permission.starts_with("llm:")
/// });
/// # let _ = layer;
/// ```
#[derive(Clone)]
pub struct RequirePermissionLayer {
    // One allocation: axum clones the route's services on every request.
    inner: Arc<PermissionCheck>,
}

/// The permission, its authorizer and the denial-log budget of one layer.
struct PermissionCheck {
    permission: Box<str>,
    authorizer: Box<dyn Authorize>,
    budget: EventBudget,
}

impl fmt::Debug for RequirePermissionLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequirePermissionLayer")
            .field("permission", &self.inner.permission)
            .finish_non_exhaustive()
    }
}

impl RequirePermissionLayer {
    /// Requires `permission`, as decided by `authorizer`.
    pub fn new(permission: impl Into<Arc<str>>, authorizer: impl Authorize) -> Self {
        let permission: Arc<str> = permission.into();
        Self {
            inner: Arc::new(PermissionCheck {
                permission: Box::from(&*permission),
                authorizer: Box::new(authorizer),
                budget: EventBudget::default(),
            }),
        }
    }

    /// Returns the required permission.
    pub fn permission(&self) -> &str {
        &self.inner.permission
    }

    /// Checks `principal` for the permission. A denial is counted and
    /// logged as an `authz_fail` event with the facts that `facts` returns;
    /// a missing principal is `credentials_missing`.
    pub(crate) fn check(
        &self,
        principal: Option<&Principal>,
        facts: impl FnOnce() -> RequestFacts,
    ) -> Result<(), AuthFailure> {
        let Some(principal) = principal else {
            return Err(AuthFailure::new(Reason::CredentialsMissing));
        };
        let check = &*self.inner;
        let allowed = check.authorizer.allows(principal, &check.permission);
        crate::metrics::authorization(allowed);
        if allowed {
            return Ok(());
        }
        audit::authz_failure(&check.budget, &facts(), principal, &check.permission);
        Err(AuthFailure::new(Reason::PermissionDenied).with_permission(&*check.permission))
    }
}

impl<S> Layer<S> for RequirePermissionLayer {
    type Service = RequirePermission<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequirePermission {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service made by [`RequirePermissionLayer`].
#[derive(Clone)]
pub struct RequirePermission<S> {
    inner: S,
    layer: RequirePermissionLayer,
}

impl<S: fmt::Debug> fmt::Debug for RequirePermission<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequirePermission")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequirePermission<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let decision = self
            .layer
            .check(request.extensions().get::<Principal>(), || {
                let client = request
                    .extensions()
                    .get::<ClientAddr>()
                    .map(|client| client.0);
                RequestFacts::of(&request, client)
            });
        match decision {
            Ok(()) => ResponseFuture::inner(self.inner.call(request)),
            Err(failure) => {
                let responder = request
                    .extensions()
                    .get::<Responder>()
                    .cloned()
                    .unwrap_or_default();
                let response = responder.respond(&failure, is_grpc_request(request.headers()));
                ResponseFuture::rejected(response)
            }
        }
    }
}

pin_project! {
    /// The future of [`RequirePermission`]: the inner service's future, or a
    /// ready rejection.
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProjection]
    enum State<F> {
        Inner { #[pin] future: F },
        Rejected { response: Option<Response<Full<Bytes>>> },
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResponseFuture")
    }
}

impl<F> ResponseFuture<F> {
    fn inner(future: F) -> Self {
        Self {
            state: State::Inner { future },
        }
    }

    fn rejected(response: Response<Full<Bytes>>) -> Self {
        Self {
            state: State::Rejected {
                response: Some(response),
            },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProjection::Inner { future } => future
                .poll(cx)
                .map(|result| result.map(|response| response.map(ResponseBody::inner))),
            StateProjection::Rejected { response } => {
                let response = response
                    .take()
                    .map(|response| response.map(ResponseBody::rejection));
                // A future is not polled again after `Ready`; if it is, the
                // rejection has already been handed out.
                Poll::Ready(Ok(response.unwrap_or_else(|| {
                    let mut empty = Response::new(ResponseBody::rejection(Full::new(Bytes::new())));
                    *empty.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                    empty
                })))
            }
        }
    }
}
