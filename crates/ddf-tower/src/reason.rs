//! Stable reason codes for every rejection, and their fixed HTTP mapping.

use std::fmt;
use std::str::FromStr;

use http::StatusCode;

/// Why a request was rejected.
///
/// Each variant has a stable snake-case code ([`Reason::as_str`]) used in
/// logs, metrics and tests, and a fixed external response: status, challenge,
/// and a small JSON body. Several internal reasons share one external code so
/// that a client learns no more than it needs to retry or refresh.
///
/// Credential crates expose the same codes through their own error kinds;
/// [`Reason::from_code`] maps such a code to this enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Reason {
    /// No credential was sent, or only one in an unsupported scheme such as `Basic`.
    CredentialsMissing,
    /// Two credentials, duplicate credential headers, or a token in the query string.
    CredentialsAmbiguous,
    /// A credential header that breaks its grammar, or is longer than the configured cap.
    HeaderMalformed,
    /// A bearer token that is not a well-formed compact JWS.
    TokenMalformed,
    /// A JWS header that lists critical extensions this library does not implement.
    CritUnsupported,
    /// A JWS `alg` outside the configured allow-list.
    AlgNotAllowed,
    /// No key of the trusted key set matches the token's `kid` and `alg`.
    KeyNotFound,
    /// The token has no `kid` and more than one key could verify it.
    KeyAmbiguous,
    /// The signature does not verify.
    SignatureInvalid,
    /// A required claim is absent.
    ClaimMissing,
    /// A claim has the wrong JSON type or an invalid value.
    ClaimMalformed,
    /// The `iss` claim is not a configured issuer.
    IssuerMismatch,
    /// The `aud` claim does not contain the configured audience.
    AudienceMismatch,
    /// The token's `typ` is not the expected access-token type.
    TokenTypeMismatch,
    /// The `sub` claim is absent or empty.
    SubjectMissing,
    /// The `azp` claim names a client that is not allowed.
    AzpMismatch,
    /// The `nbf` claim lies in the future, beyond the leeway.
    TokenNotYetValid,
    /// The `iat` claim lies in the future, beyond the leeway.
    TokenIssuedInFuture,
    /// The `exp` claim has passed, beyond the leeway.
    TokenExpired,
    /// The API key is malformed, unknown, revoked, expired or its owner is disabled.
    ApiKeyInvalid,
    /// The session is unknown, expired, evicted, logged out or does not decrypt.
    SessionInvalid,
    /// The principal lacks the permission the route requires.
    PermissionDenied,
    /// The client exceeded its rate limit or is blocked after repeated failures.
    RateLimited,
    /// No usable key set: the issuer is unreachable and no cached set is fresh enough.
    JwksUnavailable,
    /// The session store is unreachable, timed out or read-only.
    SessionStoreUnavailable,
    /// The API-key store is unreachable or timed out.
    ApiKeyStoreUnavailable,
    /// A bug or a panic in an authenticator.
    InternalError,
}

impl Reason {
    /// Every reason, in declaration order.
    pub const ALL: [Self; 27] = [
        Self::CredentialsMissing,
        Self::CredentialsAmbiguous,
        Self::HeaderMalformed,
        Self::TokenMalformed,
        Self::CritUnsupported,
        Self::AlgNotAllowed,
        Self::KeyNotFound,
        Self::KeyAmbiguous,
        Self::SignatureInvalid,
        Self::ClaimMissing,
        Self::ClaimMalformed,
        Self::IssuerMismatch,
        Self::AudienceMismatch,
        Self::TokenTypeMismatch,
        Self::SubjectMissing,
        Self::AzpMismatch,
        Self::TokenNotYetValid,
        Self::TokenIssuedInFuture,
        Self::TokenExpired,
        Self::ApiKeyInvalid,
        Self::SessionInvalid,
        Self::PermissionDenied,
        Self::RateLimited,
        Self::JwksUnavailable,
        Self::SessionStoreUnavailable,
        Self::ApiKeyStoreUnavailable,
        Self::InternalError,
    ];

    /// Returns the stable snake-case code, such as `token_expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CredentialsMissing => "credentials_missing",
            Self::CredentialsAmbiguous => "credentials_ambiguous",
            Self::HeaderMalformed => "header_malformed",
            Self::TokenMalformed => "token_malformed",
            Self::CritUnsupported => "crit_unsupported",
            Self::AlgNotAllowed => "alg_not_allowed",
            Self::KeyNotFound => "key_not_found",
            Self::KeyAmbiguous => "key_ambiguous",
            Self::SignatureInvalid => "signature_invalid",
            Self::ClaimMissing => "claim_missing",
            Self::ClaimMalformed => "claim_malformed",
            Self::IssuerMismatch => "issuer_mismatch",
            Self::AudienceMismatch => "audience_mismatch",
            Self::TokenTypeMismatch => "token_type_mismatch",
            Self::SubjectMissing => "subject_missing",
            Self::AzpMismatch => "azp_mismatch",
            Self::TokenNotYetValid => "token_not_yet_valid",
            Self::TokenIssuedInFuture => "token_issued_in_future",
            Self::TokenExpired => "token_expired",
            Self::ApiKeyInvalid => "api_key_invalid",
            Self::SessionInvalid => "session_invalid",
            Self::PermissionDenied => "permission_denied",
            Self::RateLimited => "rate_limited",
            Self::JwksUnavailable => "jwks_unavailable",
            Self::SessionStoreUnavailable => "session_store_unavailable",
            Self::ApiKeyStoreUnavailable => "api_key_store_unavailable",
            Self::InternalError => "internal_error",
        }
    }

    /// Returns the reason whose [`as_str`](Self::as_str) code is `code`.
    ///
    /// Credential crates report failures with the same codes, so their error
    /// kinds convert through this function without a dependency between the
    /// crates. An unknown code returns `None`; callers should then treat the
    /// failure as [`Reason::InternalError`] rather than guess.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|reason| reason.as_str() == code)
    }

    /// Returns the HTTP status of the external response.
    pub fn status(self) -> StatusCode {
        match self.class() {
            Class::Missing | Class::InvalidToken | Class::ApiKey | Class::Session => {
                StatusCode::UNAUTHORIZED
            }
            Class::InvalidRequest => StatusCode::BAD_REQUEST,
            Class::Forbidden => StatusCode::FORBIDDEN,
            Class::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Class::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Class::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Returns whether a failure with this reason counts toward the
    /// failed-authentication alert.
    ///
    /// Only credential errors count (the 400 and 401 classes, except a request
    /// that sent no credential at all). Denied permissions, rate limits,
    /// outages and internal errors never count, so an outage cannot raise a
    /// brute-force alert or block clients.
    pub fn counts_toward_alert(self) -> bool {
        matches!(
            self.class(),
            Class::InvalidRequest | Class::InvalidToken | Class::ApiKey | Class::Session
        )
    }

    /// Returns whether the reason reports an infrastructure outage (503).
    pub fn is_outage(self) -> bool {
        self.class() == Class::Unavailable
    }

    /// Returns whether the external response carries a `Retry-After` header.
    pub fn has_retry_after(self) -> bool {
        matches!(self.class(), Class::RateLimited | Class::Unavailable)
    }

    /// Returns the external code in the response body and, where RFC 6750
    /// defines one, in the `error` attribute of the challenge.
    ///
    /// Several reasons share one code: every JWT failure is `invalid_token`,
    /// and both outages are `temporarily_unavailable`.
    pub fn error_code(self) -> &'static str {
        match self.class() {
            Class::Missing => "unauthorized",
            Class::InvalidRequest => "invalid_request",
            Class::InvalidToken => "invalid_token",
            Class::ApiKey => "invalid_api_key",
            Class::Session => "invalid_session",
            Class::Forbidden => "insufficient_scope",
            Class::RateLimited => "rate_limited",
            Class::Unavailable => "temporarily_unavailable",
            Class::Internal => "internal_error",
        }
    }

    /// Returns the fixed client-facing description.
    ///
    /// Token failures use one of two texts: expired tokens get their own so
    /// that clients know to refresh, and every other token failure shares
    /// the generic one.
    pub fn description(self) -> &'static str {
        match self {
            Self::TokenExpired => EXPIRED_DESCRIPTION,
            _ => match self.class() {
                Class::Missing => "Authentication is required.",
                Class::InvalidRequest => "The request carries a malformed or ambiguous credential.",
                Class::InvalidToken => INVALID_TOKEN_DESCRIPTION,
                Class::ApiKey => "The API key is invalid.",
                Class::Session => "The session is invalid or has expired.",
                Class::Forbidden => "The credential does not grant access to this resource.",
                Class::RateLimited => "Too many requests. Retry later.",
                Class::Unavailable => "Authentication is temporarily unavailable. Retry later.",
                Class::Internal => "Internal error.",
            },
        }
    }

    /// Returns the default JSON body for this reason: a fixed document with
    /// the [`error_code`](Self::error_code) and the
    /// [`description`](Self::description), and nothing taken from the request.
    pub fn json_body(self) -> &'static str {
        macro_rules! body {
            ($code:literal, $description:expr) => {
                concat!(
                    "{\"error\":\"",
                    $code,
                    "\",\"error_description\":\"",
                    $description,
                    "\"}"
                )
            };
        }
        match self {
            Self::TokenExpired => body!("invalid_token", "The access token has expired."),
            _ => match self.class() {
                Class::Missing => body!("unauthorized", "Authentication is required."),
                Class::InvalidRequest => body!(
                    "invalid_request",
                    "The request carries a malformed or ambiguous credential."
                ),
                Class::InvalidToken => body!("invalid_token", "The access token is invalid."),
                Class::ApiKey => body!("invalid_api_key", "The API key is invalid."),
                Class::Session => {
                    body!("invalid_session", "The session is invalid or has expired.")
                }
                Class::Forbidden => body!(
                    "insufficient_scope",
                    "The credential does not grant access to this resource."
                ),
                Class::RateLimited => body!("rate_limited", "Too many requests. Retry later."),
                Class::Unavailable => body!(
                    "temporarily_unavailable",
                    "Authentication is temporarily unavailable. Retry later."
                ),
                Class::Internal => body!("internal_error", "Internal error."),
            },
        }
    }

    /// Returns the gRPC status code for this reason, as sent in `grpc-status`.
    pub fn grpc_code(self) -> u16 {
        match self.class() {
            // INVALID_ARGUMENT
            Class::InvalidRequest => 3,
            // PERMISSION_DENIED
            Class::Forbidden => 7,
            // RESOURCE_EXHAUSTED
            Class::RateLimited => 8,
            // INTERNAL
            Class::Internal => 13,
            // UNAVAILABLE
            Class::Unavailable => 14,
            // UNAUTHENTICATED
            Class::Missing | Class::InvalidToken | Class::ApiKey | Class::Session => 16,
        }
    }

    pub(crate) fn class(self) -> Class {
        match self {
            Self::CredentialsMissing => Class::Missing,
            Self::CredentialsAmbiguous | Self::HeaderMalformed => Class::InvalidRequest,
            Self::TokenMalformed
            | Self::CritUnsupported
            | Self::AlgNotAllowed
            | Self::KeyNotFound
            | Self::KeyAmbiguous
            | Self::SignatureInvalid
            | Self::ClaimMissing
            | Self::ClaimMalformed
            | Self::IssuerMismatch
            | Self::AudienceMismatch
            | Self::TokenTypeMismatch
            | Self::SubjectMissing
            | Self::AzpMismatch
            | Self::TokenNotYetValid
            | Self::TokenIssuedInFuture
            | Self::TokenExpired => Class::InvalidToken,
            Self::ApiKeyInvalid => Class::ApiKey,
            Self::SessionInvalid => Class::Session,
            Self::PermissionDenied => Class::Forbidden,
            Self::RateLimited => Class::RateLimited,
            Self::JwksUnavailable
            | Self::SessionStoreUnavailable
            | Self::ApiKeyStoreUnavailable => Class::Unavailable,
            Self::InternalError => Class::Internal,
        }
    }
}

pub(crate) const INVALID_TOKEN_DESCRIPTION: &str = "The access token is invalid.";
pub(crate) const EXPIRED_DESCRIPTION: &str = "The access token has expired.";

/// The external response classes; reasons in one class share status and code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Missing,
    InvalidRequest,
    InvalidToken,
    ApiKey,
    Session,
    Forbidden,
    RateLimited,
    Unavailable,
    Internal,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an unknown reason code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown reason code; expected one of the codes listed by `Reason::ALL`")]
pub struct UnknownReason(());

impl FromStr for Reason {
    type Err = UnknownReason;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Self::from_code(code).ok_or(UnknownReason(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for reason in Reason::ALL {
            assert_eq!(Reason::from_code(reason.as_str()), Some(reason));
            assert_eq!(reason.as_str().parse::<Reason>(), Ok(reason));
        }
        assert_eq!(Reason::from_code("Token_Expired"), None);
    }

    #[test]
    fn bodies_are_valid_json_with_the_error_code() {
        for reason in Reason::ALL {
            let body: serde_json::Value = serde_json::from_str(reason.json_body()).unwrap();
            assert_eq!(body["error"], reason.error_code());
            assert_eq!(body["error_description"], reason.description());
        }
    }
}
