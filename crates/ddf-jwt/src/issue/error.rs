//! The error type of the issuing side.

use std::fmt;

/// An error raised while loading signing keys, scheduling them or signing a
/// token.
///
/// These errors describe the service's own configuration or a bug in the
/// caller, never a client's credential, so an HTTP layer maps them to a
/// generic 500. Messages name the key id, the algorithm or the claim involved,
/// and never contain key material, secrets or tokens.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The key file could not be read or the environment variable is not set.
    #[error("signing key {kid:?}: {what} is not available: {reason}")]
    KeySourceUnavailable {
        /// Key id from the configuration.
        kid: String,
        /// Which source failed, such as `file /run/keys/a.pem` or `environment variable JWT_KEY`.
        what: String,
        /// Why reading failed, without the content.
        reason: String,
    },

    /// The key text is not a well-formed PKCS#8 PEM, JWK or secret.
    #[error("signing key {kid:?} is malformed: {reason}")]
    KeyMalformed {
        /// Key id from the configuration (empty when loading a key directly).
        kid: String,
        /// What was wrong with the encoding.
        reason: &'static str,
    },

    /// The key is well formed but too weak to sign with.
    #[error("signing key {kid:?} is too weak: {reason}")]
    KeyTooWeak {
        /// Key id from the configuration.
        kid: String,
        /// Which minimum was not met.
        reason: &'static str,
    },

    /// The key's type does not fit the configured algorithm.
    #[error("signing key {kid:?} is {found}, which cannot sign {alg}")]
    KeyAlgorithmMismatch {
        /// Key id from the configuration.
        kid: String,
        /// Configured algorithm.
        alg: &'static str,
        /// Key type found in the key material.
        found: String,
    },

    /// The keyring configuration is inconsistent.
    #[error("invalid keyring configuration: {reason}")]
    ConfigInvalid {
        /// What is inconsistent, naming the key id where there is one.
        reason: String,
    },

    /// No key is active at the current time, so nothing can be signed.
    #[error(
        "no signing key is active now: add a key whose activate_at has passed and whose retire_at has not"
    )]
    NoActiveKey,

    /// A required claim has no value.
    #[error("cannot sign a token without the `{claim}` claim")]
    ClaimMissing {
        /// Name of the claim.
        claim: &'static str,
    },

    /// A claim has a value that cannot be signed, such as `exp` not after `iat`.
    #[error("invalid `{claim}` claim: {reason}")]
    ClaimInvalid {
        /// Name of the claim.
        claim: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// An extra claim uses the name of a claim the builder sets itself, or
    /// appears twice.
    #[error(
        "extra claim `{claim}` collides with a registered claim or appears twice: set registered claims through the TokenBuilder"
    )]
    ClaimConflict {
        /// Name of the colliding claim.
        claim: String,
    },

    /// The requested expiry is later than the configured maximum lifetime allows.
    #[error("token lifetime of {requested_secs} s exceeds the maximum of {max_secs} s")]
    LifetimeTooLong {
        /// Requested lifetime in seconds.
        requested_secs: u64,
        /// Configured maximum lifetime in seconds.
        max_secs: u64,
    },

    /// The cryptographic library failed to sign or to generate a key.
    #[error("the crypto backend failed to {operation}")]
    CryptoFailed {
        /// What was being done.
        operation: &'static str,
    },
}

/// The category of an [`IssueError`], with a stable code for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IssueErrorKind {
    /// See [`IssueError::KeySourceUnavailable`].
    KeySourceUnavailable,
    /// See [`IssueError::KeyMalformed`].
    KeyMalformed,
    /// See [`IssueError::KeyTooWeak`].
    KeyTooWeak,
    /// See [`IssueError::KeyAlgorithmMismatch`].
    KeyAlgorithmMismatch,
    /// See [`IssueError::ConfigInvalid`].
    ConfigInvalid,
    /// See [`IssueError::NoActiveKey`].
    NoActiveKey,
    /// See [`IssueError::ClaimMissing`].
    ClaimMissing,
    /// See [`IssueError::ClaimInvalid`].
    ClaimInvalid,
    /// See [`IssueError::ClaimConflict`].
    ClaimConflict,
    /// See [`IssueError::LifetimeTooLong`].
    LifetimeTooLong,
    /// See [`IssueError::CryptoFailed`].
    CryptoFailed,
}

impl IssueErrorKind {
    /// Returns the stable `snake_case` code of this kind.
    ///
    /// The codes are distinct from the validator's rejection reasons because
    /// an issuing failure is a server-side fault, not a rejected credential.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::KeySourceUnavailable => "signing_key_unavailable",
            Self::KeyMalformed => "signing_key_malformed",
            Self::KeyTooWeak => "signing_key_too_weak",
            Self::KeyAlgorithmMismatch => "signing_key_alg_mismatch",
            Self::ConfigInvalid => "keyring_config_invalid",
            Self::NoActiveKey => "signing_key_not_active",
            Self::ClaimMissing => "issue_claim_missing",
            Self::ClaimInvalid => "issue_claim_invalid",
            Self::ClaimConflict => "issue_claim_conflict",
            Self::LifetimeTooLong => "issue_lifetime_too_long",
            Self::CryptoFailed => "crypto_failed",
        }
    }
}

impl fmt::Display for IssueErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl IssueError {
    /// Returns the category of this error.
    pub const fn kind(&self) -> IssueErrorKind {
        match self {
            Self::KeySourceUnavailable { .. } => IssueErrorKind::KeySourceUnavailable,
            Self::KeyMalformed { .. } => IssueErrorKind::KeyMalformed,
            Self::KeyTooWeak { .. } => IssueErrorKind::KeyTooWeak,
            Self::KeyAlgorithmMismatch { .. } => IssueErrorKind::KeyAlgorithmMismatch,
            Self::ConfigInvalid { .. } => IssueErrorKind::ConfigInvalid,
            Self::NoActiveKey => IssueErrorKind::NoActiveKey,
            Self::ClaimMissing { .. } => IssueErrorKind::ClaimMissing,
            Self::ClaimInvalid { .. } => IssueErrorKind::ClaimInvalid,
            Self::ClaimConflict { .. } => IssueErrorKind::ClaimConflict,
            Self::LifetimeTooLong { .. } => IssueErrorKind::LifetimeTooLong,
            Self::CryptoFailed { .. } => IssueErrorKind::CryptoFailed,
        }
    }

    /// Sets the key id on key errors raised before the id was known.
    pub(crate) fn with_kid(mut self, id: &str) -> Self {
        match &mut self {
            Self::KeySourceUnavailable { kid, .. }
            | Self::KeyMalformed { kid, .. }
            | Self::KeyTooWeak { kid, .. }
            | Self::KeyAlgorithmMismatch { kid, .. } => {
                id.clone_into(kid);
            }
            _ => {}
        }
        self
    }
}
