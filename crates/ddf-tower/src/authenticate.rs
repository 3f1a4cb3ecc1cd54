//! The trait that credential crates implement to plug into [`AuthLayer`](crate::AuthLayer).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ddf_rbac::Principal;
use http::HeaderMap;

use crate::credential::Credential;
use crate::failure::AuthFailure;

/// The future returned by [`Authenticate::authenticate`].
pub type AuthFuture<'a> = Pin<Box<dyn Future<Output = Result<Principal, AuthFailure>> + Send + 'a>>;

/// Verifies one credential and resolves it to a [`Principal`].
///
/// The trait is object safe, so [`AuthLayer`](crate::AuthLayer) stores one
/// `Arc<dyn Authenticate>` per credential kind. The future may borrow both
/// the authenticator and the credential, so a verifier does not need to copy
/// the token.
///
/// Contract for implementors:
///
/// - Return a [`Principal`] only for a fully verified credential; any doubt is
///   an [`AuthFailure`] (fail closed).
/// - Report infrastructure failures (unreachable JWKS endpoint, session store
///   down) with the 503 reasons, never as an invalid credential, so that
///   outages do not trip brute-force detection.
/// - Never put the credential in a log line or in the failure.
///
/// A panic inside the future becomes a 500 `internal_error` response, and the
/// inner service is not called.
///
/// ```
/// use ddf_rbac::{AuthMethod, Principal};
/// use ddf_tower::{Authenticate, AuthFailure, AuthFuture, Credential, Reason};
///
/// #[derive(Debug)]
/// struct FixedKey;
///
/// impl Authenticate for FixedKey {
///     fn authenticate<'a>(&'a self, credential: Credential<'a>) -> AuthFuture<'a> {
///         Box::pin(async move {
///             match credential {
///                 Credential::ApiKey(b"0123456789abcdef0123456789abcdef") => {
///                     Ok(Principal::new("svc", AuthMethod::ApiKey).with_key_id("k1"))
///                 }
///                 _ => Err(AuthFailure::new(Reason::ApiKeyInvalid)),
///             }
///         })
///     }
/// }
/// ```
pub trait Authenticate: Send + Sync + 'static {
    /// Verifies `credential`.
    fn authenticate<'a>(&'a self, credential: Credential<'a>) -> AuthFuture<'a>;

    /// Verifies `credential` and returns, besides the principal, headers to
    /// add to the response of a successful request.
    ///
    /// [`AuthLayer`](crate::AuthLayer) calls this method. The default calls
    /// [`authenticate`](Self::authenticate) and adds no headers; a session
    /// authenticator overrides it to send the cookie again after a refresh.
    fn authenticate_outcome<'a>(&'a self, credential: Credential<'a>) -> OutcomeFuture<'a> {
        OutcomeFuture::principal(self.authenticate(credential))
    }

    /// Verifies `credential` without waiting, when everything needed is in
    /// memory (a cached token, a key kept in memory).
    ///
    /// Returns `None` when the result needs I/O. [`AuthLayer`](crate::AuthLayer)
    /// then calls [`authenticate_outcome`](Self::authenticate_outcome) instead.
    ///
    /// The default returns `None`. An implementation must return the
    /// same result as `authenticate_outcome` and must have no effect when it
    /// returns `None`.
    fn authenticate_now(
        &self,
        credential: Credential<'_>,
    ) -> Option<Result<AuthOutcome, AuthFailure>> {
        let _ = credential;
        None
    }
}

impl<T: Authenticate + ?Sized> Authenticate for Arc<T> {
    fn authenticate<'a>(&'a self, credential: Credential<'a>) -> AuthFuture<'a> {
        (**self).authenticate(credential)
    }

    fn authenticate_outcome<'a>(&'a self, credential: Credential<'a>) -> OutcomeFuture<'a> {
        (**self).authenticate_outcome(credential)
    }

    fn authenticate_now(
        &self,
        credential: Credential<'_>,
    ) -> Option<Result<AuthOutcome, AuthFailure>> {
        (**self).authenticate_now(credential)
    }
}

impl<T: Authenticate + ?Sized> Authenticate for Box<T> {
    fn authenticate<'a>(&'a self, credential: Credential<'a>) -> AuthFuture<'a> {
        (**self).authenticate(credential)
    }

    fn authenticate_outcome<'a>(&'a self, credential: Credential<'a>) -> OutcomeFuture<'a> {
        (**self).authenticate_outcome(credential)
    }

    fn authenticate_now(
        &self,
        credential: Credential<'_>,
    ) -> Option<Result<AuthOutcome, AuthFailure>> {
        (**self).authenticate_now(credential)
    }
}

/// A successful authentication: the principal, and headers for the response.
///
/// ```
/// use ddf_rbac::{AuthMethod, Principal};
/// use ddf_tower::AuthOutcome;
///
/// let outcome = AuthOutcome::new(Principal::new("user-1", AuthMethod::Session));
/// assert!(outcome.response_headers.is_empty());
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AuthOutcome {
    /// The authenticated principal.
    pub principal: Principal,
    /// Headers added to the inner service's response, such as a
    /// `Set-Cookie` that extends a session. A header the inner service set
    /// itself is left alone; rejections never carry these headers.
    pub response_headers: HeaderMap,
}

impl AuthOutcome {
    /// Creates an outcome with no response headers.
    pub fn new(principal: Principal) -> Self {
        Self {
            principal,
            response_headers: HeaderMap::new(),
        }
    }

    /// Sets the headers appended to the response.
    #[must_use]
    pub fn with_response_headers(mut self, headers: HeaderMap) -> Self {
        self.response_headers = headers;
        self
    }
}

impl From<Principal> for AuthOutcome {
    fn from(principal: Principal) -> Self {
        Self::new(principal)
    }
}

type BoxedOutcome<'a> = Pin<Box<dyn Future<Output = Result<AuthOutcome, AuthFailure>> + Send + 'a>>;

/// The future returned by [`Authenticate::authenticate_outcome`].
///
/// It wraps either an [`AuthFuture`] (no response headers) or a boxed
/// future of an [`AuthOutcome`], so the default path allocates nothing more
/// than [`Authenticate::authenticate`] does.
pub struct OutcomeFuture<'a>(OutcomeState<'a>);

enum OutcomeState<'a> {
    Principal(AuthFuture<'a>),
    Outcome(BoxedOutcome<'a>),
}

impl<'a> OutcomeFuture<'a> {
    /// Wraps a future that resolves to a principal only.
    pub fn principal(future: AuthFuture<'a>) -> Self {
        Self(OutcomeState::Principal(future))
    }

    /// Wraps a future that resolves to a full [`AuthOutcome`].
    pub fn outcome(
        future: impl Future<Output = Result<AuthOutcome, AuthFailure>> + Send + 'a,
    ) -> Self {
        Self(OutcomeState::Outcome(Box::pin(future)))
    }
}

impl fmt::Debug for OutcomeFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OutcomeFuture")
    }
}

impl Future for OutcomeFuture<'_> {
    type Output = Result<AuthOutcome, AuthFailure>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Both variants hold `Pin<Box<..>>`, which is `Unpin`.
        match &mut self.get_mut().0 {
            OutcomeState::Principal(future) => future
                .as_mut()
                .poll(cx)
                .map(|result| result.map(AuthOutcome::new)),
            OutcomeState::Outcome(future) => future.as_mut().poll(cx),
        }
    }
}

/// An [`Authenticate`] made from a synchronous closure; see
/// [`authenticate_fn`].
#[derive(Clone, Copy)]
pub struct AuthenticateFn<F>(F);

impl<F> std::fmt::Debug for AuthenticateFn<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthenticateFn")
    }
}

/// Wraps a synchronous verification closure as an [`Authenticate`].
///
/// Useful for verifiers that do no I/O on the request path, and in tests.
///
/// ```
/// use ddf_rbac::{AuthMethod, Principal};
/// use ddf_tower::{authenticate_fn, AuthFailure, Credential, Reason};
///
/// let authenticator = authenticate_fn(|credential: Credential<'_>| match credential {
///     Credential::Bearer("good") => Ok(Principal::new("user-1", AuthMethod::Jwt)),
///     _ => Err(AuthFailure::new(Reason::SignatureInvalid)),
/// });
/// # let _ = authenticator;
/// ```
pub fn authenticate_fn<F>(verify: F) -> AuthenticateFn<F>
where
    F: Fn(Credential<'_>) -> Result<Principal, AuthFailure> + Send + Sync + 'static,
{
    AuthenticateFn(verify)
}

impl<F> Authenticate for AuthenticateFn<F>
where
    F: Fn(Credential<'_>) -> Result<Principal, AuthFailure> + Send + Sync + 'static,
{
    fn authenticate<'a>(&'a self, credential: Credential<'a>) -> AuthFuture<'a> {
        let outcome = (self.0)(credential);
        Box::pin(std::future::ready(outcome))
    }

    fn authenticate_now(
        &self,
        credential: Credential<'_>,
    ) -> Option<Result<AuthOutcome, AuthFailure>> {
        Some((self.0)(credential).map(AuthOutcome::new))
    }
}
