//! axum extractors: [`Authenticated`], `Option<Authenticated>` and [`Require`].

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use ddf_rbac::Principal;
use http::request::Parts;

use crate::authorize::SharedAuthorizer;
use crate::client::ClientAddr;
use crate::failure::AuthFailure;
use crate::grpc::is_grpc_request;
use crate::reason::Reason;
use crate::responder::{Rejection, Responder};

fn rejection(parts: &Parts, reason: Reason) -> Rejection {
    let responder = parts
        .extensions
        .get::<Responder>()
        .cloned()
        .unwrap_or_default();
    Rejection::new(
        AuthFailure::new(reason),
        responder,
        is_grpc_request(&parts.headers),
    )
}

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

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Self)
            .ok_or_else(|| rejection(parts, Reason::CredentialsMissing))
    }
}

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

impl<S: Send + Sync, P: PermissionName> FromRequestParts<S> for Require<P> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(principal) = parts.extensions.get::<Principal>() else {
            return Err(rejection(parts, Reason::CredentialsMissing));
        };
        let Some(SharedAuthorizer(authorizer)) = parts.extensions.get::<SharedAuthorizer>() else {
            tracing::error!(
                target: crate::audit::TARGET,
                permission = P::NAME,
                "no authorizer configured for the Require extractor; set AuthLayerBuilder::authorizer"
            );
            return Err(rejection(parts, Reason::InternalError));
        };
        let allowed = authorizer.allows(principal, P::NAME);
        crate::metrics::authorization(allowed);
        if !allowed {
            let client = parts.extensions.get::<ClientAddr>().map(|client| client.0);
            let facts = crate::audit::RequestFacts::of_parts(parts, client);
            crate::audit::authz_failure(
                &crate::audit::EXTRACTOR_BUDGET,
                &facts,
                principal,
                P::NAME,
            );
            let responder = parts
                .extensions
                .get::<Responder>()
                .cloned()
                .unwrap_or_default();
            let failure = AuthFailure::new(Reason::PermissionDenied).with_permission(P::NAME);
            return Err(Rejection::new(
                failure,
                responder,
                is_grpc_request(&parts.headers),
            ));
        }
        Ok(Self {
            principal: principal.clone(),
            permission: PhantomData,
        })
    }
}
