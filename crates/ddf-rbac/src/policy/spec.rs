//! The declarative form of a policy, as read from YAML or TOML.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// A policy as written: roles with their grant, deny and parent lists, not
/// yet validated.
///
/// [`Policy::from_spec`](crate::Policy::from_spec) validates and compiles it.
/// The file formats map onto it directly:
///
/// ```yaml
/// allow_superuser: false        # optional; default false
/// roles:
///   user:  { permissions: ["llm:query", "llm:status"] }
///   admin:
///     inherits: [user]
///     permissions: ["llm:*", "config:*"]
///     deny: ["config:secrets:*"]
/// ```
///
/// Unknown fields are errors, so a misspelt `permisions:` cannot silently
/// grant nothing. Role order is kept, and a role name that appears twice is
/// kept twice so that validation reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PolicySpec {
    /// Whether grants may use the global wildcard (`*`, `*:*`, ...), which
    /// matches every permission. Off by default.
    #[serde(default)]
    pub allow_superuser: bool,
    /// The roles, in the order they were written.
    #[serde(deserialize_with = "roles_in_order")]
    pub roles: Vec<RoleSpec>,
}

impl PolicySpec {
    /// Creates an empty policy specification with superusers disabled.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets whether grants may use the global wildcard `*`.
    ///
    /// # Warning
    ///
    /// A role that grants `*` may do everything, including actions added to
    /// the service later. Prefer one wildcard per area (`llm:*`, `config:*`).
    #[must_use]
    pub fn with_allow_superuser(mut self, allow: bool) -> Self {
        self.allow_superuser = allow;
        self
    }

    /// Appends a role.
    #[must_use]
    pub fn with_role(mut self, role: RoleSpec) -> Self {
        self.roles.push(role);
        self
    }
}

/// One role as written in a policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RoleSpec {
    /// The role name, compared byte for byte with the roles of a principal.
    pub name: String,
    /// Grant patterns.
    pub permissions: Vec<String>,
    /// Deny patterns. A deny in any role a principal holds, directly or
    /// through inheritance, overrides every grant.
    pub deny: Vec<String>,
    /// Parent roles whose grants and denies this role also carries.
    pub inherits: Vec<String>,
}

impl RoleSpec {
    /// Creates a role with no patterns and no parents.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// Appends grant patterns.
    #[must_use]
    pub fn grant<I, S>(mut self, patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.permissions
            .extend(patterns.into_iter().map(Into::into));
        self
    }

    /// Appends deny patterns.
    #[must_use]
    pub fn deny<I, S>(mut self, patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.deny.extend(patterns.into_iter().map(Into::into));
        self
    }

    /// Appends parent roles.
    #[must_use]
    pub fn inherit<I, S>(mut self, parents: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.inherits.extend(parents.into_iter().map(Into::into));
        self
    }
}

/// The body of a role in a file: everything but the name, which is the key.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    #[serde(default)]
    permissions: Vec<String>,
    #[serde(default)]
    deny: Vec<String>,
    #[serde(default)]
    inherits: Vec<String>,
}

/// Reads the `roles` map into a list, keeping the document order and any
/// repeated names.
fn roles_in_order<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<RoleSpec>, D::Error> {
    struct RolesVisitor;

    impl<'de> Visitor<'de> for RolesVisitor {
        type Value = Vec<RoleSpec>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map from role names to role definitions")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut roles = Vec::with_capacity(map.size_hint().unwrap_or(0).min(1024));
            while let Some((name, body)) = map.next_entry::<String, RoleBody>()? {
                roles.push(RoleSpec {
                    name,
                    permissions: body.permissions,
                    deny: body.deny,
                    inherits: body.inherits,
                });
            }
            Ok(roles)
        }
    }

    deserializer.deserialize_map(RolesVisitor)
}
