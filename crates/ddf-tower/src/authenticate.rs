//! The trait that credential crates implement to plug into [`AuthLayer`](crate::AuthLayer).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use ddf_rbac::Principal;

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
}

impl<T: Authenticate + ?Sized> Authenticate for Arc<T> {
    fn authenticate<'a>(&'a self, credential: Credential<'a>) -> AuthFuture<'a> {
        (**self).authenticate(credential)
    }
}

impl<T: Authenticate + ?Sized> Authenticate for Box<T> {
    fn authenticate<'a>(&'a self, credential: Credential<'a>) -> AuthFuture<'a> {
        (**self).authenticate(credential)
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
}
