//! `Authenticate` for [`ddf_jwt::Validator`].

use ddf_jwt::{ErrorKind, JwtError, UnverifiedToken, Validator};

use crate::authenticate::{AuthFuture, AuthOutcome, Authenticate};
use crate::credential::Credential;
use crate::failure::AuthFailure;
use crate::reason::Reason;

/// Verifies bearer tokens; any other credential kind is `internal_error`
/// (the layer never routes one here unless it is misconfigured).
impl Authenticate for Validator {
    fn authenticate<'a>(&'a self, credential: Credential<'a>) -> AuthFuture<'a> {
        Box::pin(async move {
            let Credential::Bearer(token) = credential else {
                return Err(AuthFailure::new(Reason::InternalError));
            };
            match self.validate(token).await {
                Ok(verified) => Ok(verified.principal().clone()),
                Err(error) => Err(jwt_failure(&error, token)),
            }
        })
    }

    fn authenticate_now(
        &self,
        credential: Credential<'_>,
    ) -> Option<Result<AuthOutcome, AuthFailure>> {
        let Credential::Bearer(token) = credential else {
            return Some(Err(AuthFailure::new(Reason::InternalError)));
        };
        Some(match self.validate_now(token)? {
            Ok(verified) => Ok(AuthOutcome::new(verified.principal().clone())),
            Err(error) => Err(jwt_failure(&error, token)),
        })
    }
}

/// Returns the [`Reason`] for a JWT error kind.
///
/// Kinds with a reason of the same code map to it. The others:
/// `claim_mismatch` is `claim_malformed` (a claim with a value that is not
/// allowed), `key_invalid` and `config_invalid` are `key_not_found` (no
/// usable key verified the token, so all three return 401 `invalid_token`), and
/// `jwks_invalid` is `jwks_unavailable` (503: the issuer published no usable
/// keys, which is the service's problem, not the client's).
pub fn jwt_reason(kind: ErrorKind) -> Reason {
    match kind {
        ErrorKind::ClaimMismatch => Reason::ClaimMalformed,
        ErrorKind::KeyInvalid | ErrorKind::ConfigInvalid => Reason::KeyNotFound,
        ErrorKind::JwksUnavailable | ErrorKind::JwksInvalid => Reason::JwksUnavailable,
        other => Reason::from_code(other.as_str()).unwrap_or(Reason::InternalError),
    }
}

/// Builds the failure for a rejected `token`: the reason from
/// [`jwt_reason`], plus the token's unverified `kid` and `iss` for the audit
/// trail when its header and payload parse. Neither is sent to the client.
pub fn jwt_failure(error: &JwtError, token: &str) -> AuthFailure {
    let mut failure = AuthFailure::new(jwt_reason(error.kind()));
    if error.kind() != ErrorKind::TokenMalformed
        && let Ok(unverified) = UnverifiedToken::parse(token)
    {
        if let Some(kid) = unverified.untrusted_kid() {
            failure = failure.with_kid(kid);
        }
        if let Some(issuer) = unverified.untrusted_issuer() {
            failure = failure.with_issuer(issuer);
        }
    }
    failure
}
