//! The authenticated identity shared by every credential type.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
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
///
/// Cloning is cheap: the identity (subject, issuer, key id, roles,
/// attributes) sits behind one reference count and only the expiry is
/// copied, so a store can prepare a principal once and hand out clones.
#[derive(Clone)]
pub struct Principal {
    identity: Arc<Identity>,
    expires_at: Option<u64>,
}

/// The parts of a principal that credentials of one holder share.
#[derive(Clone, PartialEq, Eq)]
struct Identity {
    subject: String,
    method: AuthMethod,
    issuer: Option<String>,
    key_id: Option<String>,
    roles: Vec<String>,
    attributes: BTreeMap<String, String>,
}

/// The serialized form, field for field as written.
#[derive(Serialize)]
struct PrincipalRef<'a> {
    subject: &'a str,
    method: AuthMethod,
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_id: Option<&'a str>,
    roles: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<u64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    attributes: &'a BTreeMap<String, String>,
}

/// The deserialized form; see [`PrincipalRef`].
#[derive(Deserialize)]
struct PrincipalOwned {
    subject: String,
    method: AuthMethod,
    #[serde(default)]
    issuer: Option<String>,
    #[serde(default)]
    key_id: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    expires_at: Option<u64>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

impl Serialize for Principal {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let identity = &*self.identity;
        PrincipalRef {
            subject: &identity.subject,
            method: identity.method,
            issuer: identity.issuer.as_deref(),
            key_id: identity.key_id.as_deref(),
            roles: &identity.roles,
            expires_at: self.expires_at,
            attributes: &identity.attributes,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Principal {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let owned = PrincipalOwned::deserialize(deserializer)?;
        Ok(Self {
            identity: Arc::new(Identity {
                subject: owned.subject,
                method: owned.method,
                issuer: owned.issuer,
                key_id: owned.key_id,
                roles: owned.roles,
                attributes: owned.attributes,
            }),
            expires_at: owned.expires_at,
        })
    }
}

impl PartialEq for Principal {
    fn eq(&self, other: &Self) -> bool {
        self.expires_at == other.expires_at
            && (Arc::ptr_eq(&self.identity, &other.identity) || self.identity == other.identity)
    }
}

impl Eq for Principal {}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let identity = &*self.identity;
        f.debug_struct("Principal")
            .field("subject", &identity.subject)
            .field("method", &identity.method)
            .field("issuer", &identity.issuer)
            .field("key_id", &identity.key_id)
            .field("roles", &identity.roles)
            .field("expires_at", &self.expires_at)
            .field("attributes", &identity.attributes)
            .finish()
    }
}

impl Principal {
    /// Creates a principal with no roles, no expiry and no attributes.
    #[must_use]
    pub fn new(subject: impl Into<String>, method: AuthMethod) -> Self {
        Self {
            identity: Arc::new(Identity {
                subject: subject.into(),
                method,
                issuer: None,
                key_id: None,
                roles: Vec::new(),
                attributes: BTreeMap::new(),
            }),
            expires_at: None,
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
        self.identity_mut().method = method;
        self
    }

    /// Returns the identity for changing; copies it first only when another
    /// clone shares it.
    fn identity_mut(&mut self) -> &mut Identity {
        Arc::make_mut(&mut self.identity)
    }

    /// Sets the issuer that vouched for the subject (the JWT `iss`).
    #[must_use]
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.identity_mut().issuer = Some(issuer.into());
        self
    }

    /// Sets the public identifier of the credential: an API-key id, or the
    /// `kid` of the key that verified a JWT.
    #[must_use]
    pub fn with_key_id(mut self, key_id: impl Into<String>) -> Self {
        self.identity_mut().key_id = Some(key_id.into());
        self
    }

    /// Replaces the roles. Duplicates are removed and the order is kept.
    #[must_use]
    pub fn with_roles<I, R>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = R>,
        R: Into<String>,
    {
        let held = &mut self.identity_mut().roles;
        held.clear();
        for role in roles {
            let role = role.into();
            if !held.contains(&role) {
                held.push(role);
            }
        }
        self
    }

    /// Sets when the credential expires, in seconds since the Unix epoch.
    /// Never copies the identity.
    #[must_use]
    pub fn with_expires_at(mut self, unix_seconds: u64) -> Self {
        self.expires_at = Some(unix_seconds);
        self
    }

    /// Adds a non-secret attribute, such as a tenant id or a client id.
    #[must_use]
    pub fn with_attribute(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.identity_mut()
            .attributes
            .insert(name.into(), value.into());
        self
    }

    /// Returns the subject: the user or service the credential belongs to.
    pub fn subject(&self) -> &str {
        &self.identity.subject
    }

    /// Returns how the principal authenticated.
    pub fn method(&self) -> AuthMethod {
        self.identity.method
    }

    /// Returns the issuer, for principals built from a JWT.
    pub fn issuer(&self) -> Option<&str> {
        self.identity.issuer.as_deref()
    }

    /// Returns the public credential identifier (API-key id or JWT `kid`).
    pub fn key_id(&self) -> Option<&str> {
        self.identity.key_id.as_deref()
    }

    /// Returns the roles, without duplicates, in the order they were given.
    pub fn roles(&self) -> &[String] {
        &self.identity.roles
    }

    /// Returns whether the principal holds `role`, compared exactly.
    pub fn has_role(&self, role: &str) -> bool {
        self.identity.roles.iter().any(|held| held == role)
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
        self.identity.attributes.get(name).map(String::as_str)
    }

    /// Returns all attributes, sorted by name.
    pub fn attributes(&self) -> &BTreeMap<String, String> {
        &self.identity.attributes
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
