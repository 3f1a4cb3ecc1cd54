//! `Authenticate` for [`ddf_apikey::ApiKeyVerifier`].

use ddf_apikey::{ApiKeyError, ApiKeyErrorKind, ApiKeyVerifier};

use crate::authenticate::{AuthFuture, AuthOutcome, Authenticate};
use crate::credential::Credential;
use crate::failure::AuthFailure;
use crate::reason::Reason;

/// Verifies the API-key header value; any other credential kind is
/// `internal_error`.
impl Authenticate for ApiKeyVerifier {
    fn authenticate<'a>(&'a self, credential: Credential<'a>) -> AuthFuture<'a> {
        Box::pin(async move {
            let Credential::ApiKey(value) = credential else {
                return Err(AuthFailure::new(Reason::InternalError));
            };
            self.verify(value)
                .await
                .map_err(|error| api_key_failure(&error))
        })
    }

    fn authenticate_now(
        &self,
        credential: Credential<'_>,
    ) -> Option<Result<AuthOutcome, AuthFailure>> {
        let Credential::ApiKey(value) = credential else {
            return Some(Err(AuthFailure::new(Reason::InternalError)));
        };
        let verified = self.verify_now(value)?;
        Some(
            verified
                .map(AuthOutcome::new)
                .map_err(|error| api_key_failure(&error)),
        )
    }
}

/// Returns the failure for an API-key error: `api_key_invalid` (401) for a
/// rejected key, `api_key_store_unavailable` (503, never counted as a failed
/// authentication) when the store did not respond, and `internal_error` for
/// the management errors that verification never returns.
pub fn api_key_failure(error: &ApiKeyError) -> AuthFailure {
    let reason = match error.kind() {
        ApiKeyErrorKind::Invalid => Reason::ApiKeyInvalid,
        ApiKeyErrorKind::StoreUnavailable => Reason::ApiKeyStoreUnavailable,
        _ => Reason::InternalError,
    };
    AuthFailure::new(reason)
}
