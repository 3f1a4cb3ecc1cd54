//! Configuration errors, reported when a layer is built.

/// An invalid layer configuration. Returned by constructors and builders, so
/// a misconfigured service fails at startup rather than on a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The credential configuration enables no source.
    #[error(
        "no credential source is enabled; enable at least one of bearer, api_key, session_cookie"
    )]
    NoCredentialSource,
    /// A credential source is listed twice.
    #[error("credential source `{source_name}` is listed twice; list each source once")]
    DuplicateSource {
        /// The repeated source.
        source_name: &'static str,
    },
    /// A credential source is enabled but has no authenticator.
    #[error(
        "credential source `{source_name}` is enabled but has no authenticator; set one or remove the source"
    )]
    MissingAuthenticator {
        /// The source without an authenticator.
        source_name: &'static str,
    },
    /// The API-key header name is not a valid HTTP field name.
    #[error("API-key header name {name:?} is not a valid HTTP field name")]
    InvalidHeaderName {
        /// The rejected name.
        name: String,
    },
    /// The session cookie name is empty or contains characters outside the
    /// RFC 9110 token grammar.
    #[error("session cookie name {name:?} is invalid; use letters, digits and !#$%&'*+-.^_`|~")]
    InvalidCookieName {
        /// The rejected name.
        name: String,
    },
    /// A session cookie attribute (path or domain) contains characters that
    /// cannot appear in a `Set-Cookie` attribute value.
    #[error("session cookie {attribute} is invalid; use visible ASCII without ';' or spaces")]
    InvalidCookieAttribute {
        /// `path` or `domain`.
        attribute: &'static str,
    },
    /// The credential header cap is zero.
    #[error("max_header_bytes is 0; set a cap of at least the longest expected credential")]
    ZeroHeaderCap,
    /// The realm cannot be sent inside a quoted string.
    #[error(
        "realm {realm:?} is invalid; use visible ASCII and spaces without quotes or backslashes"
    )]
    InvalidRealm {
        /// The rejected realm.
        realm: String,
    },
    /// A trusted proxy entry is not an IP address or a CIDR block.
    #[error("trusted proxy {value:?} is not an IP address or CIDR block such as 10.0.0.0/8")]
    InvalidTrustedProxy {
        /// The rejected entry.
        value: String,
    },
    /// A rate-limit or failure-tracking setting is zero or out of range.
    #[error("{setting} is invalid: {requirement}")]
    InvalidLimit {
        /// The setting's name.
        setting: &'static str,
        /// What the setting requires.
        requirement: &'static str,
    },
}
