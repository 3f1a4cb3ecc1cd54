//! The authenticated identity shared by every credential type.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// How a [`Principal`] proved its identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuthMethod {
    /// A JWT access token verified against the issuer's keys.
    Jwt,
    /// An API key from the `X-API-Key` header.
    ApiKey,
    /// A server-side session, looked up by its cookie.
    Session,
}

impl AuthMethod {
    /// Returns the stable lower-case name used in logs and metrics
    /// (`jwt`, `api_key`, `session`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jwt => "jwt",
            Self::ApiKey => "api_key",
            Self::Session => "session",
        }
    }
}

/// An authenticated caller: subject, how it authenticated, its roles and when
/// its credential stops being valid.
///
/// A principal carries identifiers only (subject, issuer, API-key id), never
/// the credential itself, so its `Debug` output and its serialized form are
/// safe to log and to store.
///
/// ```
/// use ddf_rbac::{AuthMethod, Principal};
///
/// let principal = Principal::new("svc-indexer", AuthMethod::ApiKey)
///     .with_key_id("key-2026-12")
///     .with_roles(["readonly"]);
/// let printed = format!("{principal:?}");
/// assert!(printed.contains("key-2026-12"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    subject: String,
    method: AuthMethod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key_id: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<u64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    attributes: BTreeMap<String, String>,
}

impl Principal {
    /// Creates a principal with no roles, no expiry and no attributes.
    #[must_use]
    pub fn new(subject: impl Into<String>, method: AuthMethod) -> Self {
        Self {
            subject: subject.into(),
            method,
            issuer: None,
            key_id: None,
            roles: Vec::new(),
            expires_at: None,
            attributes: BTreeMap::new(),
        }
    }

    /// Replaces how the principal authenticated, keeping every other field.
    ///
    /// A session stores the principal of the credential it was created with;
    /// on later requests the principal is the same, but it authenticated with
    /// the session cookie.
    ///
    /// ```
    /// use ddf_rbac::{AuthMethod, Principal};
    ///
    /// let principal = Principal::new("user-1", AuthMethod::Jwt).with_roles(["user"]);
    /// let from_session = principal.with_method(AuthMethod::Session);
    /// assert_eq!(from_session.method(), AuthMethod::Session);
    /// assert!(from_session.has_role("user"));
    /// ```
    #[must_use]
    pub fn with_method(mut self, method: AuthMethod) -> Self {
        self.method = method;
        self
    }

    /// Sets the issuer that vouched for the subject (the JWT `iss`).
    #[must_use]
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Sets the public identifier of the credential: an API-key id, or the
    /// `kid` of the key that verified a JWT.
    #[must_use]
    pub fn with_key_id(mut self, key_id: impl Into<String>) -> Self {
        self.key_id = Some(key_id.into());
        self
    }

    /// Replaces the roles. Duplicates are removed and the order is kept.
    #[must_use]
    pub fn with_roles<I, R>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = R>,
        R: Into<String>,
    {
        self.roles.clear();
        for role in roles {
            let role = role.into();
            if !self.roles.contains(&role) {
                self.roles.push(role);
            }
        }
        self
    }

    /// Sets when the credential expires, in seconds since the Unix epoch.
    #[must_use]
    pub fn with_expires_at(mut self, unix_seconds: u64) -> Self {
        self.expires_at = Some(unix_seconds);
        self
    }

    /// Adds a non-secret attribute, such as a tenant id or a client id.
    #[must_use]
    pub fn with_attribute(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(name.into(), value.into());
        self
    }

    /// Returns the subject: the user or service the credential belongs to.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// Returns how the principal authenticated.
    pub fn method(&self) -> AuthMethod {
        self.method
    }

    /// Returns the issuer, for principals built from a JWT.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// Returns the public credential identifier (API-key id or JWT `kid`).
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    /// Returns the roles, without duplicates, in the order they were given.
    pub fn roles(&self) -> &[String] {
        &self.roles
    }

    /// Returns whether the principal holds `role`, compared exactly.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|held| held == role)
    }

    /// Returns the expiry in seconds since the Unix epoch, if the credential has one.
    pub fn expires_at(&self) -> Option<u64> {
        self.expires_at
    }

    /// Returns the expiry as a [`SystemTime`], if the credential has one.
    pub fn expires_at_time(&self) -> Option<SystemTime> {
        self.expires_at
            .map(|seconds| UNIX_EPOCH + Duration::from_secs(seconds))
    }

    /// Returns the attribute called `name`.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(String::as_str)
    }

    /// Returns all attributes, sorted by name.
    pub fn attributes(&self) -> &BTreeMap<String, String> {
        &self.attributes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_deduplicated_in_order() {
        let principal =
            Principal::new("u", AuthMethod::Session).with_roles(["user", "admin", "user"]);
        assert_eq!(principal.roles(), ["user", "admin"]);
    }

    #[test]
    fn serde_round_trip_keeps_every_field() {
        let principal = Principal::new("user-0001", AuthMethod::Jwt)
            .with_issuer("https://idp.example.test")
            .with_key_id("kid-1")
            .with_roles(["user"])
            .with_expires_at(1_800_000_000)
            .with_attribute("tenant", "acme");
        let json = serde_json::to_string(&principal).unwrap();
        let back: Principal = serde_json::from_str(&json).unwrap();
        assert_eq!(back, principal);
        assert_eq!(back.attribute("tenant"), Some("acme"));
        assert_eq!(
            back.expires_at_time(),
            Some(UNIX_EPOCH + Duration::from_secs(1_800_000_000))
        );
    }

    #[test]
    fn method_names_are_stable() {
        assert_eq!(AuthMethod::Jwt.as_str(), "jwt");
        assert_eq!(AuthMethod::ApiKey.as_str(), "api_key");
        assert_eq!(AuthMethod::Session.as_str(), "session");
        assert_eq!(
            serde_json::to_string(&AuthMethod::ApiKey).unwrap(),
            "\"api_key\""
        );
    }
}
