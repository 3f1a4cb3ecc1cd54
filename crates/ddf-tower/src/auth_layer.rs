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
use crate::authenticate::{AuthOutcome, Authenticate};
use crate::authorize::{Authorize, SharedAuthorizer};
use crate::body::ResponseBody;
use crate::brute_force::BruteForceGuard;
use crate::client::{ClientAddr, ClientAddrResolver, ClientKey};
use crate::credential::{Credential, CredentialConfig, CredentialExtractor, CredentialKind};
use crate::error::ConfigError;
use crate::failure::AuthFailure;
use crate::grpc::is_grpc_request;
use crate::layer_future::{ExtraHeaders, LayerFuture};
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

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // In-memory checks (a cached token, an API key held in memory) need
        // no waiting: then the instance that `poll_ready` prepared handles
        // the request at once, with no clone of it and no boxed future.
        if let Some(admission) = self.config.admit_now(&mut request) {
            return match admission {
                Admission::Pass(headers) => {
                    LayerFuture::inner(self.inner.call(request), ExtraHeaders::Missing(headers))
                }
                Admission::Reject(response) => LayerFuture::rejected(response.map(Full::new)),
            };
        }

        // The clone is not ready; the instance that `poll_ready` prepared
        // handles this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let config = Arc::clone(&self.config);
        LayerFuture::pending(Box::pin(async move {
            match config.admit(&mut request).await {
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

/// The future of [`AuthService`].
pub type AuthResponseFuture<F, B, E> = LayerFuture<F, B, E>;

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
        let admitting = match self.before_decision(request) {
            Ok(admitting) => admitting,
            Err(admission) => return admission,
        };
        let decision = self.decide(request.headers(), request.uri()).await;
        self.after_decision(request, admitting, decision)
    }

    /// Runs [`admit`](Self::admit) if no authenticator has to wait; `None`
    /// when one would, and then nothing has been decided or logged.
    fn admit_now<B>(&self, request: &mut Request<B>) -> Option<Admission> {
        let admitting = match self.before_decision(request) {
            Ok(admitting) => admitting,
            Err(admission) => return Some(admission),
        };
        let decision = self.decide_now(request.headers(), request.uri())?;
        Some(self.after_decision(request, admitting, decision))
    }

    /// Runs the steps before authentication: removes forged identity
    /// headers, resolves the client and stores the request extensions.
    /// `Err` contains the final admission of a CORS preflight or a blocked
    /// client. Running it twice on one request has the effect of running it
    /// once.
    #[expect(
        clippy::result_large_err,
        reason = "the `Err` is the request's final answer, returned once, never propagated"
    )]
    fn before_decision<B>(&self, request: &mut Request<B>) -> Result<Admitting, Admission> {
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
            return Err(Admission::Pass(HeaderMap::new()));
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
            return Err(Admission::Reject(
                self.responder.respond_bytes(&failure, grpc),
            ));
        }
        Ok(Admitting {
            started,
            client,
            client_key,
            grpc,
        })
    }

    /// Runs the steps after authentication: audit, metrics, the
    /// brute-force guard, and the principal stored for the inner service.
    fn after_decision<B>(
        &self,
        request: &mut Request<B>,
        admitting: Admitting,
        decision: Decision,
    ) -> Admission {
        let Admitting {
            started,
            client,
            client_key,
            grpc,
        } = admitting;
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

    /// Extracts the credential and picks its authenticator; `Err` contains
    /// the decision when there is nothing to authenticate.
    fn credential<'r>(
        &self,
        headers: &'r HeaderMap,
        uri: &Uri,
    ) -> Result<(Credential<'r>, &Arc<dyn Authenticate>), Decision> {
        let credential = match self.extractor.extract(headers, uri) {
            Err(failure) => return Err(Decision::Rejected(None, failure)),
            Ok(None) if self.optional => return Err(Decision::Anonymous),
            Ok(None) => {
                return Err(Decision::Rejected(
                    None,
                    AuthFailure::new(Reason::CredentialsMissing),
                ));
            }
            Ok(Some(credential)) => credential,
        };
        let kind = credential.kind();
        match &self.authenticators[kind.index()] {
            Some(authenticator) => Ok((credential, authenticator)),
            // `build` checked that every enabled source has an authenticator.
            None => Err(Decision::Rejected(
                Some(kind),
                AuthFailure::new(Reason::InternalError),
            )),
        }
    }

    async fn decide(&self, headers: &HeaderMap, uri: &Uri) -> Decision {
        let (credential, authenticator) = match self.credential(headers, uri) {
            Ok(found) => found,
            Err(decision) => return decision,
        };
        let kind = credential.kind();
        let verification = async move { authenticator.authenticate_outcome(credential).await };
        outcome_decision(kind, AssertUnwindSafe(verification).catch_unwind().await)
    }

    /// Decides like [`decide`](Self::decide) when the authenticator returns
    /// its result without waiting; `None` otherwise.
    fn decide_now(&self, headers: &HeaderMap, uri: &Uri) -> Option<Decision> {
        let (credential, authenticator) = match self.credential(headers, uri) {
            Ok(found) => found,
            Err(decision) => return Some(decision),
        };
        let kind = credential.kind();
        let verification = || authenticator.authenticate_now(credential);
        match std::panic::catch_unwind(AssertUnwindSafe(verification)) {
            Ok(None) => None,
            Ok(Some(result)) => Some(outcome_decision(kind, Ok(result))),
            Err(panic) => Some(outcome_decision(kind, Err(panic))),
        }
    }
}

/// Returns the decision for an authenticator's result, or for its panic.
fn outcome_decision(
    kind: CredentialKind,
    result: std::thread::Result<Result<AuthOutcome, AuthFailure>>,
) -> Decision {
    match result {
        Ok(Ok(outcome)) => Decision::Authenticated(outcome.principal, outcome.response_headers),
        Ok(Err(failure)) => Decision::Rejected(Some(kind), failure),
        Err(_panic) => {
            // The payload is dropped unread: a panic message could quote
            // the credential.
            Decision::Rejected(Some(kind), AuthFailure::new(Reason::InternalError))
        }
    }
}

/// The state that [`Config::admit`] keeps between the steps before and
/// after authentication.
struct Admitting {
    started: crate::metrics::Started,
    client: Option<std::net::IpAddr>,
    client_key: ClientKey,
    grpc: bool,
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
