//! [`AuthLayer`]: reads the credential, authenticates it, and stores the
//! [`Principal`] in the request extensions.

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;

use ddf_rbac::Principal;
use futures_util::FutureExt;
use http::header::{AUTHORIZATION, COOKIE};
use http::{HeaderMap, HeaderName, Method, Request, Response, Uri};
use http_body_util::Full;
use tower_layer::Layer;
use tower_service::Service;

use crate::audit::{self, EventBudget, RequestFacts};
use crate::authenticate::Authenticate;
use crate::authorize::{Authorize, SharedAuthorizer};
use crate::body::ResponseBody;
use crate::brute_force::BruteForceGuard;
use crate::client::{ClientAddr, ClientAddrResolver, ClientKey};
use crate::credential::{CredentialConfig, CredentialExtractor, CredentialKind};
use crate::error::ConfigError;
use crate::failure::AuthFailure;
use crate::grpc::is_grpc_request;
use crate::reason::Reason;
use crate::responder::Responder;

/// Request headers that claim an identity. A client could send them to
/// impersonate someone behind a proxy that trusts them, so they are removed
/// before the inner service runs; the identity is only available as the
/// typed [`Principal`] extension.
const IDENTITY_HEADERS: [&str; 4] = [
    "x-user-id",
    "x-forwarded-user",
    "x-remote-user",
    "x-authenticated-user",
];
const IDENTITY_HEADER_PREFIX: &str = "x-auth-";

/// Returns whether the lowercase header `name` claims an identity and is
/// removed from authenticated requests.
pub(crate) fn is_identity_header(name: &str) -> bool {
    IDENTITY_HEADERS.contains(&name) || name.starts_with(IDENTITY_HEADER_PREFIX)
}

/// Authenticates every request with the authenticator configured for its
/// credential kind.
///
/// On success the [`Principal`] goes into the request extensions, together
/// with the resolved [`ClientAddr`] and the layer's [`Responder`]. On failure
/// the layer returns the rejection response and does not call the
/// inner service. Also:
///
/// - with [`optional`](AuthLayerBuilder::optional) set, a request without any
///   credential passes with no principal, but a bad credential still fails;
/// - a [`BruteForceGuard`] records credential failures and returns 429 to
///   blocked clients before any parsing;
/// - identity headers (`X-User-Id`, `X-Forwarded-User`, `X-Auth-*`, ...) and
///   any earlier `Principal` extension are removed;
/// - credential headers are marked sensitive, so later `http` debug output
///   and tower-http's trace layers print them redacted;
/// - a panicking authenticator produces a 500 `internal_error`.
///
/// ```
/// use ddf_rbac::{AuthMethod, Principal};
/// use ddf_tower::{authenticate_fn, AuthFailure, AuthLayer, Credential, Reason};
///
/// let layer = AuthLayer::builder()
///     .bearer(authenticate_fn(|credential: Credential<'_>| match credential {
///         Credential::Bearer("good-token") => Ok(Principal::new("user-1", AuthMethod::Jwt)),
///         _ => Err(AuthFailure::new(Reason::SignatureInvalid)),
///     }))
///     .build()
///     .unwrap();
/// # let _ = layer;
/// ```
#[derive(Clone)]
pub struct AuthLayer {
    config: Arc<Config>,
}

struct Config {
    extractor: CredentialExtractor,
    authenticators: [Option<Arc<dyn Authenticate>>; 3],
    optional: bool,
    responder: Responder,
    resolver: ClientAddrResolver,
    guard: Option<BruteForceGuard>,
    authorizer: Option<SharedAuthorizer>,
    cors_preflight_bypass: bool,
    budget: EventBudget,
}

impl fmt::Debug for AuthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = &self.config;
        f.debug_struct("AuthLayer")
            .field("sources", &config.extractor.sources())
            .field("optional", &config.optional)
            .field("responder", &config.responder)
            .field("guard", &config.guard)
            .finish_non_exhaustive()
    }
}

impl AuthLayer {
    /// Starts a configuration.
    pub fn builder() -> AuthLayerBuilder {
        AuthLayerBuilder::default()
    }

    /// Returns the responder that renders this layer's rejections.
    pub fn responder(&self) -> &Responder {
        &self.config.responder
    }

    /// Runs the layer's checks on `request` without an inner service, for
    /// adapters to servers that are not tower services.
    #[cfg_attr(
        not(feature = "actix"),
        expect(dead_code, reason = "used by the actix adapter")
    )]
    pub(crate) async fn admit<B>(&self, request: &mut Request<B>) -> Admission {
        self.config.admit(request).await
    }
}

/// Configures an [`AuthLayer`].
#[derive(Default)]
#[must_use]
pub struct AuthLayerBuilder {
    credentials: CredentialConfig,
    authenticators: [Option<Arc<dyn Authenticate>>; 3],
    optional: bool,
    responder: Option<Responder>,
    resolver: ClientAddrResolver,
    guard: Option<BruteForceGuard>,
    authorizer: Option<SharedAuthorizer>,
    cors_preflight_bypass: bool,
    max_failure_events_per_second: Option<u32>,
}

impl fmt::Debug for AuthLayerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayerBuilder")
            .field("credentials", &self.credentials)
            .field("optional", &self.optional)
            .finish_non_exhaustive()
    }
}

impl AuthLayerBuilder {
    /// Verifies `Authorization: Bearer` tokens with `authenticator`.
    pub fn bearer(mut self, authenticator: impl Authenticate) -> Self {
        self.authenticators[CredentialKind::Bearer.index()] = Some(Arc::new(authenticator));
        self
    }

    /// Verifies API keys with `authenticator`.
    pub fn api_key(mut self, authenticator: impl Authenticate) -> Self {
        self.authenticators[CredentialKind::ApiKey.index()] = Some(Arc::new(authenticator));
        self
    }

    /// Verifies session cookies with `authenticator`.
    pub fn session(mut self, authenticator: impl Authenticate) -> Self {
        self.authenticators[CredentialKind::SessionCookie.index()] = Some(Arc::new(authenticator));
        self
    }

    /// Sets where credentials are read from (sources, header and cookie
    /// names, header size cap).
    pub fn credentials(mut self, config: CredentialConfig) -> Self {
        self.credentials = config;
        self
    }

    /// Lets requests without any credential through, with no principal.
    /// A request with a bad credential is still rejected.
    pub fn optional(mut self, optional: bool) -> Self {
        self.optional = optional;
        self
    }

    /// Renders rejections with `responder` instead of the default JSON
    /// responder, whose challenges follow the enabled sources.
    pub fn responder(mut self, responder: Responder) -> Self {
        self.responder = Some(responder);
        self
    }

    /// Resolves client addresses with `resolver` (trusted proxies).
    pub fn client_addr(mut self, resolver: ClientAddrResolver) -> Self {
        self.resolver = resolver;
        self
    }

    /// Tracks failed authentications with `guard`, and returns 429 to the
    /// clients it blocks.
    pub fn brute_force(mut self, guard: BruteForceGuard) -> Self {
        self.guard = Some(guard);
        self
    }

    /// Makes `authorizer` available to the [`Require`](crate::Require)
    /// extractor.
    pub fn authorizer(mut self, authorizer: impl Authorize) -> Self {
        self.authorizer = Some(SharedAuthorizer(Arc::new(authorizer)));
        self
    }

    /// Lets CORS preflight requests (`OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`) through without a credential. Off by
    /// default; plain `OPTIONS` requests are always authenticated.
    pub fn allow_cors_preflight(mut self, allow: bool) -> Self {
        self.cors_preflight_bypass = allow;
        self
    }

    /// Caps `authn_fail` audit events per second (default 100); suppressed
    /// events are counted in the next event's `suppressed` field.
    pub fn max_failure_events_per_second(mut self, events: u32) -> Self {
        self.max_failure_events_per_second = Some(events);
        self
    }

    /// Checks the configuration and builds the layer.
    ///
    /// # Errors
    ///
    /// - [`ConfigError::NoCredentialSource`] when no authenticator is set;
    /// - [`ConfigError::MissingAuthenticator`] when the credential config
    ///   enables a source that has no authenticator;
    /// - the errors of [`CredentialExtractor::new`].
    pub fn build(self) -> Result<AuthLayer, ConfigError> {
        let configured: Vec<CredentialKind> = [
            CredentialKind::Bearer,
            CredentialKind::ApiKey,
            CredentialKind::SessionCookie,
        ]
        .into_iter()
        .filter(|kind| self.authenticators[kind.index()].is_some())
        .collect();
        let extractor = CredentialExtractor::new(&self.credentials, &configured)?;
        for source in extractor.sources() {
            if self.authenticators[source.index()].is_none() {
                return Err(ConfigError::MissingAuthenticator {
                    source_name: source.as_str(),
                });
            }
        }

        let sources = extractor.sources();
        let responder = self.responder.unwrap_or_else(|| {
            let mut responder = Responder::default().with_challenges(
                sources.contains(&CredentialKind::Bearer),
                sources.contains(&CredentialKind::ApiKey),
            );
            if sources.contains(&CredentialKind::SessionCookie) {
                responder = responder.with_session_cookie(extractor.session_cookie());
            }
            responder
        });
        let budget = EventBudget::new(self.max_failure_events_per_second.unwrap_or(100));

        Ok(AuthLayer {
            config: Arc::new(Config {
                extractor,
                authenticators: self.authenticators,
                optional: self.optional,
                responder,
                resolver: self.resolver,
                guard: self.guard,
                authorizer: self.authorizer,
                cors_preflight_bypass: self.cors_preflight_bypass,
                budget,
            }),
        })
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

/// The service made by [`AuthLayer`].
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S: fmt::Debug> fmt::Debug for AuthService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// The future of [`AuthService`] and [`RateLimitService`](crate::RateLimitService).
pub type BoxResponseFuture<B, E> =
    Pin<Box<dyn Future<Output = Result<Response<ResponseBody<B>>, E>> + Send>>;

/// The admission of one request, boxed so that it owns the request.
type AdmissionFuture<B> = Pin<Box<dyn Future<Output = (Request<B>, Admission)> + Send>>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for AuthService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    ReqBody: Send + 'static,
    ResBody: 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = AuthResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let config = Arc::clone(&self.config);
        let mut admission: AdmissionFuture<ReqBody> = Box::pin(async move {
            let mut request = request;
            let admission = config.admit(&mut request).await;
            (request, admission)
        });
        // In-memory checks (a cached token, an API key held in memory)
        // finish in one poll. Then the instance that `poll_ready` prepared
        // handles the request at once, with no clone of it and no boxed
        // continuation. The no-op waker is harmless: a pending admission
        // is polled again, with the caller's waker, by `AuthResponseFuture`.
        let mut context = Context::from_waker(std::task::Waker::noop());
        match admission.as_mut().poll(&mut context) {
            Poll::Ready((request, Admission::Pass(headers))) => {
                AuthResponseFuture::inner(self.inner.call(request), headers)
            }
            Poll::Ready((_, Admission::Reject(response))) => AuthResponseFuture::rejected(response),
            Poll::Pending => {
                // The clone is not ready; the instance that `poll_ready`
                // prepared handles this request.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                AuthResponseFuture::pending(Box::pin(async move {
                    let (request, admission) = admission.await;
                    match admission {
                        Admission::Pass(headers) => {
                            let mut response = call_inner(&mut inner, request).await?;
                            add_missing_headers(response.headers_mut(), &headers);
                            Ok(response)
                        }
                        Admission::Reject(response) => {
                            Ok(response.map(|body| ResponseBody::rejection(Full::new(body))))
                        }
                    }
                }))
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`AuthService`]: the inner service's future when the
    /// request was admitted at once, a ready rejection, or a boxed
    /// admission that is still waiting (a JWKS fetch, a Redis lookup).
    pub struct AuthResponseFuture<F, B, E> {
        #[pin]
        state: AuthState<F, B, E>,
    }
}

pin_project_lite::pin_project! {
    #[project = AuthStateProjection]
    enum AuthState<F, B, E> {
        Inner { #[pin] future: F, headers: HeaderMap },
        Rejected { response: Option<Response<Bytes>> },
        Pending { future: BoxResponseFuture<B, E> },
    }
}

impl<F, B, E> AuthResponseFuture<F, B, E> {
    fn inner(future: F, headers: HeaderMap) -> Self {
        Self {
            state: AuthState::Inner { future, headers },
        }
    }

    fn rejected(response: Response<Bytes>) -> Self {
        Self {
            state: AuthState::Rejected {
                response: Some(response),
            },
        }
    }

    fn pending(future: BoxResponseFuture<B, E>) -> Self {
        Self {
            state: AuthState::Pending { future },
        }
    }
}

impl<F, B, E> fmt::Debug for AuthResponseFuture<F, B, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthResponseFuture")
    }
}

impl<F, B, E> Future for AuthResponseFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            AuthStateProjection::Inner { future, headers } => future.poll(cx).map(|result| {
                result.map(|response| {
                    let mut response = response.map(ResponseBody::inner);
                    add_missing_headers(response.headers_mut(), headers);
                    response
                })
            }),
            AuthStateProjection::Rejected { response } => {
                // A future is not polled again after `Ready`; if it is, the
                // rejection has already been handed out.
                let response = response.take().unwrap_or_else(|| {
                    let mut empty = Response::new(Bytes::new());
                    *empty.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                    empty
                });
                Poll::Ready(Ok(
                    response.map(|body| ResponseBody::rejection(Full::new(body)))
                ))
            }
            AuthStateProjection::Pending { future } => future.as_mut().poll(cx),
        }
    }
}

/// The result of authenticating one request.
enum Decision {
    Authenticated(Principal, HeaderMap),
    Anonymous,
    Rejected(Option<CredentialKind>, AuthFailure),
}

/// Appends each header of `extra` whose name `target` does not contain yet.
///
/// Headers the inner service set win: a handler that logs out clears the
/// session cookie, and a refresh found during authentication must not
/// re-set it.
pub(crate) fn add_missing_headers(target: &mut HeaderMap, extra: &HeaderMap) {
    for name in extra.keys() {
        if !target.contains_key(name) {
            for value in extra.get_all(name) {
                target.append(name, value.clone());
            }
        }
    }
}

/// The decision of [`AuthLayer`] for one request.
pub(crate) enum Admission {
    /// Call the inner service, then append these headers to its response.
    Pass(HeaderMap),
    /// Return this rejection and do not call the inner service.
    Reject(Response<Bytes>),
}

impl Config {
    /// Runs every check of the layer on `request`: removes forged identity
    /// headers, resolves the client, authenticates the credential, and on
    /// success stores the [`Principal`], [`ClientAddr`], [`Responder`] and
    /// authorizer in the request extensions.
    async fn admit<B>(&self, request: &mut Request<B>) -> Admission {
        let started = crate::metrics::start();
        self.prepare(request);
        let client = self
            .resolver
            .resolve(request.extensions(), request.headers());
        if let Some(address) = client {
            request.extensions_mut().insert(ClientAddr(address));
        }
        request.extensions_mut().insert(self.responder.clone());
        if let Some(authorizer) = &self.authorizer {
            request.extensions_mut().insert(authorizer.clone());
        }

        if self.cors_preflight_bypass && is_cors_preflight(request) {
            return Admission::Pass(HeaderMap::new());
        }

        let client_key = ClientKey::from_addr(client);
        let grpc = is_grpc_request(request.headers());
        if let Some(guard) = &self.guard
            && let Some(remaining) = guard.blocked_for(client_key.as_str())
        {
            let facts = RequestFacts::of(request, client);
            audit::rate_limited(&self.budget, &facts, None, "blocked");
            crate::metrics::rate_limited("blocked");
            let failure = AuthFailure::new(Reason::RateLimited).with_retry_after(remaining);
            return Admission::Reject(self.responder.respond_bytes(&failure, grpc));
        }

        let decision = self.decide(request.headers(), request.uri()).await;
        match decision {
            Decision::Authenticated(principal, response_headers) => {
                audit::authn_success(request, client, &principal);
                crate::metrics::authentication("success", None, started);
                request.extensions_mut().insert(principal);
                Admission::Pass(response_headers)
            }
            Decision::Anonymous => {
                crate::metrics::authentication("anonymous", None, started);
                Admission::Pass(HeaderMap::new())
            }
            Decision::Rejected(source, failure) => {
                let facts = RequestFacts::of(request, client);
                audit::authn_failure(&self.budget, &facts, source, &failure);
                crate::metrics::authentication("failure", Some(failure.reason()), started);
                if let Some(guard) = &self.guard
                    && failure.reason().counts_toward_alert()
                {
                    guard.record_client_failure(client_key.as_str());
                    if let Some(key_id) = failure.key_id() {
                        guard.record_credential_failure(key_id);
                    }
                }
                Admission::Reject(self.responder.respond_bytes(&failure, grpc))
            }
        }
    }

    /// Removes identity claims the client could forge and marks credential
    /// headers sensitive.
    fn prepare<B>(&self, request: &mut Request<B>) {
        request.extensions_mut().remove::<Principal>();

        let headers = request.headers_mut();
        let forged: Vec<HeaderName> = headers
            .keys()
            .filter(|name| is_identity_header(name.as_str()))
            .cloned()
            .collect();
        for name in forged {
            headers.remove(name);
        }

        let api_key_header = self.extractor.api_key_header().clone();
        for name in [AUTHORIZATION, COOKIE, api_key_header] {
            if let http::header::Entry::Occupied(mut entry) = headers.entry(name) {
                for value in entry.iter_mut() {
                    value.set_sensitive(true);
                }
            }
        }
    }

    async fn decide(&self, headers: &HeaderMap, uri: &Uri) -> Decision {
        let credential = match self.extractor.extract(headers, uri) {
            Err(failure) => return Decision::Rejected(None, failure),
            Ok(None) if self.optional => return Decision::Anonymous,
            Ok(None) => {
                return Decision::Rejected(None, AuthFailure::new(Reason::CredentialsMissing));
            }
            Ok(Some(credential)) => credential,
        };

        let kind = credential.kind();
        let Some(authenticator) = &self.authenticators[kind.index()] else {
            // `build` checked that every enabled source has an authenticator.
            return Decision::Rejected(Some(kind), AuthFailure::new(Reason::InternalError));
        };
        let verification = async move { authenticator.authenticate_outcome(credential).await };
        match AssertUnwindSafe(verification).catch_unwind().await {
            Ok(Ok(outcome)) => Decision::Authenticated(outcome.principal, outcome.response_headers),
            Ok(Err(failure)) => Decision::Rejected(Some(kind), failure),
            Err(_panic) => {
                // The payload is dropped unread: a panic message could quote
                // the credential.
                Decision::Rejected(Some(kind), AuthFailure::new(Reason::InternalError))
            }
        }
    }
}

async fn call_inner<S, ReqBody, ResBody>(
    inner: &mut S,
    request: Request<ReqBody>,
) -> Result<Response<ResponseBody<ResBody>>, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    let response = inner.call(request).await?;
    Ok(response.map(ResponseBody::inner))
}

fn is_cors_preflight<B>(request: &Request<B>) -> bool {
    request.method() == Method::OPTIONS
        && request.headers().contains_key(http::header::ORIGIN)
        && request
            .headers()
            .contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD)
}
