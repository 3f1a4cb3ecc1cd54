//! Role policies: loading, validation and the compiled matcher.

mod compile;
mod spec;

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;
use std::sync::Arc;

pub use compile::{MAX_PATTERNS_PER_ROLE, MAX_ROLE_NAME_LEN, MAX_ROLES};
pub use spec::{PolicySpec, RoleSpec};

use crate::error::{PolicyFormat, RbacError, quote_input};
use crate::permission::{Pattern, Permission};
use crate::principal::Principal;

/// The maximum size of a policy document, in bytes (1 MiB).
pub const MAX_POLICY_BYTES: usize = 1 << 20;

/// The reference policy of an LLM service, in YAML. [`Policy::reference`]
/// compiles it.
pub const REFERENCE_POLICY_YAML: &str = r#"roles:
  admin:    { permissions: ["llm:*", "config:*", "users:*", "monitoring:*"] }
  user:     { permissions: ["llm:query", "llm:status", "monitoring:read"] }
  readonly: { permissions: ["llm:status", "monitoring:read"] }
"#;

/// A role's position in [`Inner::roles`].
type RoleIndex = u32;

/// Role names to positions. Lookups use a fast non-keyed hash: the keys come
/// from the trusted policy, and a lookup of an attacker-chosen name costs one
/// hash of at most [`MAX_ROLE_NAME_LEN`] bytes whatever its value.
type RoleMap = HashMap<Box<str>, RoleIndex, BuildHasherDefault<WordHasher>>;

/// A validated, compiled policy that decides whether a set of roles grants a
/// permission.
///
/// # Semantics
///
/// - **Deny by default.** A permission is allowed only when some role the
///   principal holds grants a matching pattern. Roles the policy does not
///   define grant nothing; [`Policy::unknown_roles`] lists them.
/// - **Deny wins.** A matching deny pattern in any role the principal holds,
///   declared there or inherited, overrides every grant, whatever the order
///   of roles and patterns.
/// - **Inheritance.** `inherits: [user]` gives a role every grant and every
///   deny of `user` and of `user`'s own parents. Inheritance is flattened
///   when the policy is compiled; cycles and unknown parents are errors.
/// - **Wildcards** follow [`Pattern`]. The global wildcard `*` may be granted
///   only when the policy sets `allow_superuser: true`.
/// - **Role names** are 1 to 64 bytes of ASCII letters, digits, `_`, `-`,
///   `.`, `:` and `/`, compared byte for byte.
///
/// # Cost
///
/// [`Policy::allows`] allocates nothing, takes no lock and uses no regular
/// expression. It hashes each role name once (names longer than 64 bytes are
/// skipped unhashed) and compares at most 8 segments per pattern, so its time
/// is linear in the number of the principal's roles and their patterns.
/// Cloning a `Policy` clones an [`Arc`]; a `Policy` is `Send + Sync`.
///
/// # Example
///
/// ```
/// use ddf_rbac::{Permission, Policy};
///
/// let policy = Policy::from_yaml_str(r#"
/// roles:
///   user:  { permissions: ["llm:query", "llm:status"] }
///   admin: { inherits: [user], permissions: ["config:*"], deny: ["config:secrets:*"] }
/// "#)?;
///
/// let query = Permission::parse("llm:query")?;
/// let secrets = Permission::parse("config:secrets:read")?;
/// assert!(policy.allows(&["admin"], &query));
/// assert!(!policy.allows(&["admin"], &secrets));
/// assert!(!policy.allows(&["guest"], &query));
/// # Ok::<(), ddf_rbac::RbacError>(())
/// ```
#[derive(Clone)]
pub struct Policy {
    inner: Arc<Inner>,
}

/// The compiled form shared by every clone of a [`Policy`].
struct Inner {
    index: RoleMap,
    roles: Vec<CompiledRole>,
    /// Every role's flattened patterns, each role's grants then its denies
    /// stored contiguously.
    rules: Vec<RuleEntry>,
    allow_superuser: bool,
}

struct CompiledRole {
    name: Box<str>,
    grants: Range<usize>,
    denies: Range<usize>,
}

struct RuleEntry {
    pattern: Pattern,
    /// The role that declared the pattern (itself or an ancestor).
    source: RoleIndex,
}

impl Policy {
    /// Validates and compiles a policy specification.
    ///
    /// # Errors
    ///
    /// [`RbacError::InvalidPolicy`] listing every problem found.
    pub fn from_spec(spec: &PolicySpec) -> Result<Self, RbacError> {
        compile::compile(spec).map(|inner| Self {
            inner: Arc::new(inner),
        })
    }

    /// Parses, validates and compiles a policy written in YAML.
    ///
    /// The YAML reader is written in safe Rust and rejects aliases, tags,
    /// several documents and nesting deeper than 32 levels.
    ///
    /// # Errors
    ///
    /// [`RbacError::PolicySyntax`] when the document is not well-formed or
    /// does not have a policy's shape, [`RbacError::InvalidPolicy`] when it
    /// fails validation.
    pub fn from_yaml_str(input: &str) -> Result<Self, RbacError> {
        Self::from_str_as(input, PolicyFormat::Yaml)
    }

    /// Parses, validates and compiles a policy written in TOML:
    ///
    /// ```toml
    /// [roles.user]
    /// permissions = ["llm:query", "llm:status"]
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`Policy::from_yaml_str`].
    pub fn from_toml_str(input: &str) -> Result<Self, RbacError> {
        Self::from_str_as(input, PolicyFormat::Toml)
    }

    /// Parses, validates and compiles a policy in the given format.
    ///
    /// # Errors
    ///
    /// As for [`Policy::from_yaml_str`].
    pub fn from_str_as(input: &str, format: PolicyFormat) -> Result<Self, RbacError> {
        Self::from_spec(&PolicySpec::from_str_as(input, format)?)
    }

    /// Returns the reference policy of an LLM service
    /// ([`REFERENCE_POLICY_YAML`]):
    ///
    /// | role | grants |
    /// |---|---|
    /// | `admin` | `llm:*`, `config:*`, `users:*`, `monitoring:*` |
    /// | `user` | `llm:query`, `llm:status`, `monitoring:read` |
    /// | `readonly` | `llm:status`, `monitoring:read` |
    ///
    /// # Panics
    ///
    /// Never: the constant is valid, which a unit test checks.
    pub fn reference() -> Self {
        Self::from_yaml_str(REFERENCE_POLICY_YAML).expect("the reference policy is valid")
    }

    /// Returns whether `roles` grant `permission`: some role grants a
    /// matching pattern and no role denies one.
    #[inline]
    pub fn allows<R: AsRef<str>>(&self, roles: &[R], permission: &Permission) -> bool {
        let mut granted = false;
        for role in roles {
            let Some(role) = self.role(role.as_ref()) else {
                continue;
            };
            if self.matching(role.denies.clone(), permission).is_some() {
                return false;
            }
            granted = granted || self.matching(role.grants.clone(), permission).is_some();
        }
        granted
    }

    /// Returns whether the principal's roles grant `permission`.
    pub fn allows_principal(&self, principal: &Principal, permission: &Permission) -> bool {
        self.allows(principal.roles(), permission)
    }

    /// Decides like [`Policy::allows`] and returns which role and pattern
    /// decided, for `ddf-auth policy explain` and for audit logs.
    ///
    /// When several patterns match, the first matching deny decides. Without
    /// one, the first matching grant decides. "First" follows the order of
    /// `roles`, then the role's own patterns before its inherited ones.
    pub fn decide<R: AsRef<str>>(&self, roles: &[R], permission: &Permission) -> Decision<'_> {
        let mut grant = None;
        for held in roles {
            let Some(role) = self.role(held.as_ref()) else {
                continue;
            };
            if let Some(rule) = self.matching(role.denies.clone(), permission) {
                return Decision::Deny(self.matched(role, rule));
            }
            if grant.is_none() {
                grant = self
                    .matching(role.grants.clone(), permission)
                    .map(|rule| self.matched(role, rule));
            }
        }
        grant.map_or(Decision::NoGrant, Decision::Allow)
    }

    /// Returns the roles in `roles` that this policy does not define. They
    /// grant nothing; a service may want to log them, since they often mean
    /// that the identity provider and the policy disagree on names.
    pub fn unknown_roles<'r, R: AsRef<str>>(
        &self,
        roles: &'r [R],
    ) -> impl Iterator<Item = &'r str> {
        roles
            .iter()
            .map(AsRef::as_ref)
            .filter(|role| self.role(role).is_none())
    }

    /// Returns whether the policy defines `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.role(role).is_some()
    }

    /// Returns the role names in the order the policy declares them.
    pub fn role_names(&self) -> impl ExactSizeIterator<Item = &str> {
        self.inner.roles.iter().map(|role| &*role.name)
    }

    /// Returns the number of roles.
    pub fn role_count(&self) -> usize {
        self.inner.roles.len()
    }

    /// Returns the grant patterns of `role`, own and inherited, or `None`
    /// when the policy does not define it.
    pub fn grants(&self, role: &str) -> Option<impl ExactSizeIterator<Item = &Pattern>> {
        let role = self.role(role)?;
        Some(
            self.inner.rules[role.grants.clone()]
                .iter()
                .map(|rule| &rule.pattern),
        )
    }

    /// Returns the deny patterns of `role`, own and inherited, or `None`
    /// when the policy does not define it.
    pub fn denies(&self, role: &str) -> Option<impl ExactSizeIterator<Item = &Pattern>> {
        let role = self.role(role)?;
        Some(
            self.inner.rules[role.denies.clone()]
                .iter()
                .map(|rule| &rule.pattern),
        )
    }

    /// Returns the number of patterns after inheritance is flattened, over
    /// all roles.
    pub fn pattern_count(&self) -> usize {
        self.inner.rules.len()
    }

    /// Returns whether the policy allows grants of the global wildcard `*`.
    pub fn allows_superuser(&self) -> bool {
        self.inner.allow_superuser
    }

    #[inline]
    fn role(&self, name: &str) -> Option<&CompiledRole> {
        if name.len() > MAX_ROLE_NAME_LEN {
            return None;
        }
        let &position = self.inner.index.get(name)?;
        self.inner.roles.get(position as usize)
    }

    #[inline]
    fn matching(&self, rules: Range<usize>, permission: &Permission) -> Option<&RuleEntry> {
        self.inner.rules[rules]
            .iter()
            .find(|rule| rule.pattern.matches(permission))
    }

    fn matched<'p>(&'p self, role: &'p CompiledRole, entry: &'p RuleEntry) -> MatchedRule<'p> {
        MatchedRule {
            role: &role.name,
            declared_in: &self.inner.roles[entry.source as usize].name,
            pattern: &entry.pattern,
        }
    }
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("roles", &self.role_count())
            .field("patterns", &self.pattern_count())
            .field("allow_superuser", &self.inner.allow_superuser)
            .finish()
    }
}

impl PolicySpec {
    /// Parses a policy specification in the given format without validating
    /// its patterns or roles.
    ///
    /// # Errors
    ///
    /// [`RbacError::PolicySyntax`] when the input is larger than
    /// [`MAX_POLICY_BYTES`], is not well-formed, or does not have a policy's
    /// shape.
    pub fn from_str_as(input: &str, format: PolicyFormat) -> Result<Self, RbacError> {
        if input.len() > MAX_POLICY_BYTES {
            return Err(RbacError::PolicySyntax {
                format,
                message: format!(
                    "the document is {} bytes; the maximum is {MAX_POLICY_BYTES}",
                    input.len()
                ),
            });
        }
        let parsed = match format {
            PolicyFormat::Yaml => crate::yaml::from_str(input),
            PolicyFormat::Toml => toml::from_str(input).map_err(|error| error.to_string()),
        };
        parsed.map_err(|message| RbacError::PolicySyntax {
            format,
            message: message.trim_end().to_owned(),
        })
    }
}

/// The outcome of [`Policy::decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision<'p> {
    /// A role grants the permission and no role denies it.
    Allow(MatchedRule<'p>),
    /// A role denies the permission; a deny overrides every grant.
    Deny(MatchedRule<'p>),
    /// No role the principal holds grants the permission (deny by default).
    NoGrant,
}

impl Decision<'_> {
    /// Returns whether the permission is allowed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allow(_))
    }

    /// Returns the stable reason code of a denial, `permission_denied`, or
    /// `None` when the permission is allowed.
    pub fn reason_code(&self) -> Option<&'static str> {
        if self.is_allowed() {
            None
        } else {
            Some("permission_denied")
        }
    }

    /// Returns the rule that decided, if a pattern did.
    pub fn rule(&self) -> Option<&MatchedRule<'_>> {
        match self {
            Self::Allow(rule) | Self::Deny(rule) => Some(rule),
            Self::NoGrant => None,
        }
    }
}

impl fmt::Display for Decision<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Allow(rule) => write!(f, "allowed: {rule} grants it"),
            Self::Deny(rule) => write!(f, "denied: {rule} denies it"),
            Self::NoGrant => f.write_str("denied: no role grants it (deny by default)"),
        }
    }
}

/// The role and pattern behind a [`Decision`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MatchedRule<'p> {
    /// The role the principal holds.
    pub role: &'p str,
    /// The role that declares the pattern: `role` itself or an ancestor.
    pub declared_in: &'p str,
    /// The pattern that matched.
    pub pattern: &'p Pattern,
}

impl fmt::Display for MatchedRule<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "role {} pattern {}",
            quote_input(self.role),
            quote_input(self.pattern.as_str())
        )?;
        if self.declared_in != self.role {
            write!(f, " (inherited from {})", quote_input(self.declared_in))?;
        }
        Ok(())
    }
}

/// A multiply-rotate hasher over 8-byte words (the scheme of `FxHasher` in
/// rustc-hash 1.x). Not resistant to chosen collisions, which is acceptable only
/// because every key in the table comes from the policy, not from requests.
#[derive(Default)]
struct WordHasher {
    hash: u64,
}

impl WordHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }
}

impl Hasher for WordHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in chunks.by_ref() {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            // The last byte records the length, so `a` and `a\0` differ.
            let mut word = [0; 8];
            word[..rest.len()].copy_from_slice(rest);
            word[7] = rest.len() as u8;
            self.add(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    #[inline]
    fn finish(&self) -> u64 {
        // hashbrown picks buckets from the low bits and tags from the top 7
        // bits; the rotation moves the best-mixed high bits into both.
        self.hash.rotate_left(26)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_policy_compiles() {
        let policy = Policy::reference();
        assert_eq!(
            policy.role_names().collect::<Vec<_>>(),
            ["admin", "user", "readonly"]
        );
        assert_eq!(policy.pattern_count(), 9);
        assert!(!policy.allows_superuser());
    }

    #[test]
    fn policy_is_send_sync_and_cheap_to_clone() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Policy>();
        let policy = Policy::reference();
        let clone = policy.clone();
        assert!(Arc::ptr_eq(&policy.inner, &clone.inner));
    }

    #[test]
    fn debug_summarises() {
        assert_eq!(
            format!("{:?}", Policy::reference()),
            "Policy { roles: 3, patterns: 9, allow_superuser: false }"
        );
    }

    #[test]
    fn word_hasher_distinguishes_lengths() {
        use std::hash::{BuildHasher, BuildHasherDefault};
        let build = BuildHasherDefault::<WordHasher>::default();
        assert_ne!(build.hash_one("a"), build.hash_one("a\0"));
        assert_ne!(build.hash_one("admin"), build.hash_one("user"));
    }
}
