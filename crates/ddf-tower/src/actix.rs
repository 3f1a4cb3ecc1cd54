//! actix-web 4 middleware and extractors over the same checks as the tower
//! layers (feature `actix`).
//!
//! actix-web services are not tower services, so this module adapts the
//! layers instead of reimplementing them:
//!
//! - [`AuthLayer`] implements actix's `Transform`: `App::wrap(auth_layer)`
//!   runs the credential extraction, the [`Authenticate`](crate::Authenticate)
//!   implementations, the brute-force guard, the audit events and the
//!   rejection rendering of the tower layer. On success the
//!   [`Principal`] goes into the actix request extensions.
//! - [`RequirePermissionLayer`] implements `Transform` too: wrap a resource
//!   with it to require a permission before the handler or any body
//!   extractor runs.
//! - [`Authenticated`](crate::Authenticated), `Option<Authenticated>` and
//!   [`Require`](crate::Require) are actix extractors as well, and
//!   [`Rejection`] is an actix `ResponseError`.
//!
//! Rejections have the same status, headers and JSON body as with axum.
//!
//! actix-web 4 uses the `http` 0.2 types. The middleware therefore copies
//! the method, path and headers of each request into an `http` 1 request
//! for the checks. The body is never read or copied.
//!
//! ```
//! use actix_web::{App, HttpResponse, test, web};
//! use ddf_rbac::{AuthMethod, Principal};
//! use ddf_tower::{
//!     AuthFailure, AuthLayer, Authenticated, Credential, Reason, RequirePermissionLayer,
//!     authenticate_fn,
//! };
//!
//! # actix_web::rt::System::new().block_on(async {
//! let auth = AuthLayer::builder()
//!     .bearer(authenticate_fn(|credential: Credential<'_>| match credential {
//!         Credential::Bearer("token-of-user-1") => {
//!             Ok(Principal::new("user-1", AuthMethod::Jwt).with_roles(["user"]))
//!         }
//!         _ => Err(AuthFailure::new(Reason::SignatureInvalid)),
//!     }))
//!     .build()
//!     .unwrap();
//! let can_query = |principal: &Principal, permission: &str| {
//!     permission == "llm:query" && principal.has_role("user")
//! };
//!
//! let app = test::init_service(
//!     App::new().wrap(auth).service(
//!         web::resource("/v1/query")
//!             .wrap(RequirePermissionLayer::new("llm:query", can_query))
//!             .route(web::post().to(|Authenticated(principal): Authenticated| async move {
//!                 HttpResponse::Ok().body(format!("hello {}", principal.subject()))
//!             })),
//!     ),
//! )
//! .await;
//!
//! let request = test::TestRequest::post()
//!     .uri("/v1/query")
//!     .insert_header(("authorization", "Bearer token-of-user-1"))
//!     .to_request();
//! let response = test::call_service(&app, request).await;
//! assert_eq!(response.status(), 200);
//!
//! let request = test::TestRequest::post()
//!     .uri("/v1/query")
//!     .insert_header(("authorization", "Bearer forged"))
//!     .to_request();
//! let response = test::call_service(&app, request).await;
//! assert_eq!(response.status(), 401);
//! # });
//! ```

use std::fmt;
use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use bytes::Bytes;
use ddf_rbac::Principal;
use futures_util::future::LocalBoxFuture;

use crate::audit::RequestFacts;
use crate::auth_layer::{Admission, AuthLayer};
use crate::authorize::{RequirePermissionLayer, SharedAuthorizer};
use crate::client::{ClientAddr, PeerAddr};
use crate::extract::{Authenticated, PermissionName, Require, require_permission};
use crate::failure::AuthFailure;
use crate::grpc::is_grpc_content_type;
use crate::reason::Reason;
use crate::responder::{Rejection, Responder};

impl<S, B> Transform<S, ServiceRequest> for AuthLayer
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = AuthMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(AuthMiddleware {
            service: Rc::new(service),
            layer: self.clone(),
        }))
    }
}

/// The actix service made by wrapping an app or scope with [`AuthLayer`].
pub struct AuthMiddleware<S> {
    service: Rc<S>,
    layer: AuthLayer,
}

impl<S> fmt::Debug for AuthMiddleware<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthMiddleware")
            .field("layer", &self.layer)
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for AuthMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, mut request: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let layer = self.layer.clone();
        Box::pin(async move {
            let Some(mut checked) = to_http_request(&request) else {
                // actix accepted a method, path or header that `http` 1
                // rejects. Reject the request rather than check another one.
                let failure = AuthFailure::new(Reason::HeaderMalformed);
                let response = layer.responder().respond_bytes(&failure, false);
                return Ok(request
                    .into_response(to_actix_response(response))
                    .map_into_right_body());
            };

            let response_headers = match layer.admit(&mut checked).await {
                Admission::Pass(headers) => headers,
                Admission::Reject(response) => {
                    return Ok(request
                        .into_response(to_actix_response(response))
                        .map_into_right_body());
                }
            };

            copy_prepared_headers(checked.headers(), request.headers_mut());
            move_extensions(checked.extensions_mut(), &mut request.extensions_mut());

            let mut response = service.call(request).await?;
            let headers = response.headers_mut();
            for (name, value) in &response_headers {
                // Headers the handler set win, as in the tower layer: a
                // logout clears the cookie that a refresh would re-set.
                if headers.contains_key(name.as_str()) {
                    continue;
                }
                if let (Ok(name), Ok(value)) = (
                    HeaderName::from_bytes(name.as_str().as_bytes()),
                    HeaderValue::from_bytes(value.as_bytes()),
                ) {
                    headers.append(name, value);
                } else {
                    tracing::error!(
                        target: crate::audit::TARGET,
                        header = name.as_str(),
                        "response header of the authenticator is not valid for actix-web; dropped"
                    );
                }
            }
            Ok(response.map_into_left_body())
        })
    }
}

/// Copies the parts of an actix request that the checks read: method,
/// path and query, headers, and the peer or client address.
fn to_http_request(request: &ServiceRequest) -> Option<http::Request<()>> {
    let method = http::Method::from_bytes(request.method().as_str().as_bytes()).ok()?;
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |path_and_query| path_and_query.as_str());
    let uri = http::Uri::try_from(path).ok()?;

    let mut checked = http::Request::new(());
    *checked.method_mut() = method;
    *checked.uri_mut() = uri;
    let headers = checked.headers_mut();
    headers.reserve(request.headers().len());
    for (name, value) in request.headers() {
        let name = http::HeaderName::from_bytes(name.as_str().as_bytes()).ok()?;
        let value = http::HeaderValue::from_bytes(value.as_bytes()).ok()?;
        headers.append(name, value);
    }

    let extensions = checked.extensions_mut();
    if let Some(peer) = request.peer_addr() {
        extensions.insert(PeerAddr(peer));
    }
    if let Some(client) = request.extensions().get::<ClientAddr>() {
        extensions.insert(*client);
    }
    Some(checked)
}

/// Applies what the layer did to the copied headers to the actix request:
/// headers it removed (forged identity headers) are removed, and headers it
/// marked sensitive (credentials) are marked sensitive.
fn copy_prepared_headers(prepared: &http::HeaderMap, headers: &mut HeaderMap) {
    let names: Vec<HeaderName> = headers.keys().cloned().collect();
    for name in names {
        let Some(value) = prepared.get(name.as_str()) else {
            headers.remove(&name);
            continue;
        };
        if value.is_sensitive() {
            // `get_all` cannot mutate, so the values are collected and
            // inserted again with the flag set.
            let values: Vec<HeaderValue> = headers
                .get_all(&name)
                .cloned()
                .map(|mut value| {
                    value.set_sensitive(true);
                    value
                })
                .collect();
            headers.remove(&name);
            for value in values {
                headers.append(name.clone(), value);
            }
        }
    }
}

/// Moves the principal, client address, responder and authorizer that the
/// layer stored into the actix request extensions, replacing any principal
/// set before the layer ran.
fn move_extensions(checked: &mut http::Extensions, extensions: &mut actix_web::dev::Extensions) {
    extensions.remove::<Principal>();
    if let Some(principal) = checked.remove::<Principal>() {
        extensions.insert(principal);
    }
    if let Some(client) = checked.remove::<ClientAddr>() {
        extensions.insert(client);
    }
    if let Some(responder) = checked.remove::<Responder>() {
        extensions.insert(responder);
    }
    if let Some(authorizer) = checked.remove::<SharedAuthorizer>() {
        extensions.insert(authorizer);
    }
}

/// Converts a rejection built with the `http` 1 types.
fn to_actix_response(response: http::Response<Bytes>) -> HttpResponse<BoxBody> {
    let (parts, body) = response.into_parts();
    let status =
        StatusCode::from_u16(parts.status.as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut converted = HttpResponse::with_body(status, body);
    let headers = converted.headers_mut();
    for (name, value) in &parts.headers {
        // The responder builds only standard names and visible-ASCII values.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            headers.append(name, value);
        }
    }
    if let Some(reason) = parts.extensions.get::<Reason>() {
        converted.extensions_mut().insert(*reason);
    }
    converted.map_into_boxed_body()
}

fn is_grpc(request: &HttpRequest) -> bool {
    request
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|value| is_grpc_content_type(value.as_bytes()))
}

fn responder_of(extensions: &actix_web::dev::Extensions) -> Responder {
    extensions.get::<Responder>().cloned().unwrap_or_default()
}

/// Builds the audit facts of an actix request, with the matched route
/// pattern when routing has run and the path otherwise.
fn facts_of(request: &HttpRequest, client: Option<&ClientAddr>) -> RequestFacts {
    // actix-web parsed the method with the same grammar as `http` 1, so the
    // conversion does not fail.
    let method = http::Method::from_bytes(request.method().as_str().as_bytes()).unwrap_or_default();
    let pattern = request.match_pattern();
    let route = pattern.as_deref().unwrap_or_else(|| request.path());
    RequestFacts::new(method, route, client.map(|client| client.0))
}

impl<S, B> Transform<S, ServiceRequest> for RequirePermissionLayer
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = RequirePermissionMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequirePermissionMiddleware {
            service: Rc::new(service),
            layer: self.clone(),
        }))
    }
}

/// The actix service made by wrapping a resource or scope with
/// [`RequirePermissionLayer`].
pub struct RequirePermissionMiddleware<S> {
    service: Rc<S>,
    layer: RequirePermissionLayer,
}

impl<S> fmt::Debug for RequirePermissionMiddleware<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequirePermissionMiddleware")
            .field("layer", &self.layer)
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for RequirePermissionMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let rejection = {
            let extensions = request.extensions();
            self.layer
                .check(extensions.get::<Principal>(), || {
                    facts_of(request.request(), extensions.get::<ClientAddr>())
                })
                .err()
                .map(|failure| {
                    Rejection::new(
                        failure,
                        responder_of(&extensions),
                        is_grpc(request.request()),
                    )
                })
        };
        if let Some(rejection) = rejection {
            let response = to_actix_response(rejection.to_bytes_response());
            return Box::pin(ready(Ok(request
                .into_response(response)
                .map_into_right_body())));
        }
        let service = Rc::clone(&self.service);
        Box::pin(async move {
            let response = service.call(request).await?;
            Ok(response.map_into_left_body())
        })
    }
}

impl ResponseError for Rejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status().as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        to_actix_response(self.to_bytes_response())
    }
}

/// Rejects with 401 `credentials_missing` when the request has no
/// principal. `Option<Authenticated>` is `None` instead.
impl FromRequest for Authenticated {
    type Error = Rejection;
    type Future = Ready<Result<Self, Rejection>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let extensions = request.extensions();
        let principal = extensions.get::<Principal>().cloned();
        ready(principal.map(Self).ok_or_else(|| {
            Rejection::new(
                AuthFailure::new(Reason::CredentialsMissing),
                responder_of(&extensions),
                is_grpc(request),
            )
        }))
    }
}

/// Checks `P` with the authorizer set by
/// [`AuthLayerBuilder::authorizer`](crate::AuthLayerBuilder::authorizer),
/// exactly as the axum extractor does.
impl<P: PermissionName> FromRequest for Require<P> {
    type Error = Rejection;
    type Future = Ready<Result<Self, Rejection>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let extensions = request.extensions();
        let decision = require_permission(
            extensions.get::<Principal>(),
            extensions.get::<SharedAuthorizer>(),
            P::NAME,
            || facts_of(request, extensions.get::<ClientAddr>()),
        );
        ready(decision.map(Self::checked).map_err(|failure| {
            Rejection::new(failure, responder_of(&extensions), is_grpc(request))
        }))
    }
}
