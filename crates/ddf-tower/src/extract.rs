//! Extractors: [`Authenticated`], `Option<Authenticated>` and [`Require`],
//! for axum here and for actix-web in the `actix` module.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

#[cfg(feature = "axum")]
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
#[cfg(feature = "axum")]
use axum::response::{IntoResponse, Response};
use ddf_rbac::Principal;
#[cfg(feature = "axum")]
use http::request::Parts;

use crate::authorize::SharedAuthorizer;
#[cfg(feature = "axum")]
use crate::client::ClientAddr;
use crate::failure::AuthFailure;
#[cfg(feature = "axum")]
use crate::grpc::is_grpc_request;
use crate::reason::Reason;
#[cfg(feature = "axum")]
use crate::responder::{Rejection, Responder};

#[cfg(feature = "axum")]
fn rejection(parts: &Parts, failure: AuthFailure) -> Rejection {
    let responder = parts
        .extensions
        .get::<Responder>()
        .cloned()
        .unwrap_or_default();
    Rejection::new(failure, responder, is_grpc_request(&parts.headers))
}

#[cfg(feature = "axum")]
impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        self.into_http_response().map(axum::body::Body::new)
    }
}

/// The authenticated [`Principal`] of the request; 401 `credentials_missing`
/// when there is none.
///
/// Use `Option<Authenticated>` on routes with optional authentication: it is
/// `None` for anonymous requests.
///
/// ```
/// use ddf_tower::Authenticated;
///
/// async fn whoami(Authenticated(principal): Authenticated) -> String {
///     principal.subject().to_owned()
/// }
/// # let _ = whoami;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated(pub Principal);

impl Deref for Authenticated {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.0
    }
}

#[cfg(feature = "axum")]
impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Self)
            .ok_or_else(|| rejection(parts, AuthFailure::new(Reason::CredentialsMissing)))
    }
}

#[cfg(feature = "axum")]
impl<S: Send + Sync> OptionalFromRequestParts<S> for Authenticated {
    type Rejection = Rejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Principal>().cloned().map(Self))
    }
}

/// A permission named by a type, for the [`Require`] extractor. Define one
/// with [`permission!`](crate::permission).
pub trait PermissionName: Send + Sync + 'static {
    /// The permission, such as `llm:query`.
    const NAME: &'static str;
}

/// Defines a unit type that implements [`PermissionName`].
///
/// ```
/// ddf_tower::permission!(pub LlmQuery = "llm:query");
/// use ddf_tower::PermissionName;
/// assert_eq!(LlmQuery::NAME, "llm:query");
/// ```
#[macro_export]
macro_rules! permission {
    ($(#[$meta:meta])* $visibility:vis $name:ident = $permission:literal) => {
        $(#[$meta])*
        #[doc = concat!("The permission `", $permission, "`.")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $visibility struct $name;

        impl $crate::PermissionName for $name {
            const NAME: &'static str = $permission;
        }
    };
}

/// The principal of a request that holds the permission `P`.
///
/// Rejects with 401 when the request has no principal and 403
/// `insufficient_scope` when the principal lacks the permission. The
/// decision comes from the authorizer set with
/// [`AuthLayerBuilder::authorizer`](crate::AuthLayerBuilder::authorizer);
/// without one, every request is rejected with 500 `internal_error` (fail
/// closed). Prefer [`RequirePermissionLayer`](crate::RequirePermissionLayer)
/// where a whole route needs the permission, because extractors that read
/// the body may run first.
///
/// ```
/// use ddf_tower::Require;
///
/// ddf_tower::permission!(LlmQuery = "llm:query");
///
/// async fn query(principal: Require<LlmQuery>) -> String {
///     principal.subject().to_owned()
/// }
/// # let _ = query;
/// ```
pub struct Require<P> {
    principal: Principal,
    permission: PhantomData<fn() -> P>,
}

impl<P> Require<P> {
    /// Returns the principal.
    pub fn into_inner(self) -> Principal {
        self.principal
    }
}

impl<P> Deref for Require<P> {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.principal
    }
}

impl<P: PermissionName> fmt::Debug for Require<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Require")
            .field("permission", &P::NAME)
            .field("principal", &self.principal)
            .finish()
    }
}

impl<P> Require<P> {
    /// Wraps a principal that was checked for `P`.
    pub(crate) fn checked(principal: Principal) -> Self {
        Self {
            principal,
            permission: PhantomData,
        }
    }
}

/// The decision of every `Require` extractor: 401 without a principal, 500
/// without an authorizer (fail closed), 403 with an `authz_fail` event when
/// the principal lacks `permission`.
pub(crate) fn require_permission(
    principal: Option<&Principal>,
    authorizer: Option<&SharedAuthorizer>,
    permission: &'static str,
    facts: impl FnOnce() -> crate::audit::RequestFacts,
) -> Result<Principal, AuthFailure> {
    let Some(principal) = principal else {
        return Err(AuthFailure::new(Reason::CredentialsMissing));
    };
    let Some(SharedAuthorizer(authorizer)) = authorizer else {
        tracing::error!(
            target: crate::audit::TARGET,
            permission,
            "no authorizer configured for the Require extractor; set AuthLayerBuilder::authorizer"
        );
        return Err(AuthFailure::new(Reason::InternalError));
    };
    let allowed = authorizer.allows(principal, permission);
    crate::metrics::authorization(allowed);
    if !allowed {
        crate::audit::authz_failure(
            &crate::audit::EXTRACTOR_BUDGET,
            &facts(),
            principal,
            permission,
        );
        return Err(AuthFailure::new(Reason::PermissionDenied).with_permission(permission));
    }
    Ok(principal.clone())
}

#[cfg(feature = "axum")]
impl<S: Send + Sync, P: PermissionName> FromRequestParts<S> for Require<P> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let decision = require_permission(
            parts.extensions.get::<Principal>(),
            parts.extensions.get::<SharedAuthorizer>(),
            P::NAME,
            || {
                let client = parts.extensions.get::<ClientAddr>().map(|client| client.0);
                crate::audit::RequestFacts::of_parts(parts, client)
            },
        );
        decision
            .map(Self::checked)
            .map_err(|failure| rejection(parts, failure))
    }
}
