//! The crate's error type, the syntax rules a permission or pattern can break,
//! and the problems that policy validation reports.

use std::fmt;

/// The error type of `ddf-rbac`.
///
/// Every variant names the input that failed (escaped and truncated, see
/// [`quote_input`]) and the rule it broke. Permission names and policies are
/// configuration, not credentials, so echoing them is safe.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RbacError {
    /// A permission name does not follow the grammar documented on
    /// [`Permission`](crate::Permission).
    #[error("invalid permission {input}: {rule}")]
    InvalidPermission {
        /// The rejected input, quoted, escaped and truncated.
        input: String,
        /// The rule the input broke.
        rule: SyntaxRule,
    },

    /// A pattern does not follow the grammar documented on
    /// [`Pattern`](crate::Pattern).
    #[error("invalid pattern {input}: {rule}")]
    InvalidPattern {
        /// The rejected input, quoted, escaped and truncated.
        input: String,
        /// The rule the input broke.
        rule: SyntaxRule,
    },

    /// A policy file is not well-formed YAML or TOML, or does not have the
    /// shape of a policy (unknown field, list where a map is expected).
    #[error("invalid {format} policy: {message}")]
    PolicySyntax {
        /// The format that was being read.
        format: PolicyFormat,
        /// The parser's description of the problem, with its position where
        /// the parser reports one.
        message: String,
    },

    /// A policy parsed, but validation found one or more problems. Every
    /// problem is listed, not only the first.
    #[error("invalid policy: {}", ProblemList(.problems))]
    InvalidPolicy {
        /// Every problem found, in the order of the roles in the policy.
        problems: Vec<PolicyProblem>,
    },
}

impl RbacError {
    /// Returns the kind of error, for metrics and for matching in tests.
    pub fn kind(&self) -> RbacErrorKind {
        match self {
            Self::InvalidPermission { .. } => RbacErrorKind::PermissionInvalid,
            Self::InvalidPattern { .. } => RbacErrorKind::PatternInvalid,
            Self::PolicySyntax { .. } => RbacErrorKind::PolicySyntax,
            Self::InvalidPolicy { .. } => RbacErrorKind::PolicyInvalid,
        }
    }

    /// Returns the validation problems of an [`RbacError::InvalidPolicy`],
    /// and an empty slice for every other variant.
    pub fn problems(&self) -> &[PolicyProblem] {
        match self {
            Self::InvalidPolicy { problems } => problems,
            _ => &[],
        }
    }

    pub(crate) fn invalid_permission(input: &str, rule: SyntaxRule) -> Self {
        Self::InvalidPermission {
            input: quote_input(input),
            rule,
        }
    }

    pub(crate) fn invalid_pattern(input: &str, rule: SyntaxRule) -> Self {
        Self::InvalidPattern {
            input: quote_input(input),
            rule,
        }
    }
}

/// The kind of an [`RbacError`], with a stable reason code.
///
/// These are configuration errors: they happen when a service starts or when
/// `ddf-auth policy check` runs, never while a request is being authorized.
/// A request that a policy does not allow gets the reason code
/// `permission_denied` from [`Decision::reason_code`](crate::Decision::reason_code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RbacErrorKind {
    /// A permission name broke the grammar.
    PermissionInvalid,
    /// A pattern broke the grammar.
    PatternInvalid,
    /// A policy file is not well-formed or does not have a policy's shape.
    PolicySyntax,
    /// A policy failed validation.
    PolicyInvalid,
}

impl RbacErrorKind {
    /// Returns the stable reason code used in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PermissionInvalid => "permission_invalid",
            Self::PatternInvalid => "pattern_invalid",
            Self::PolicySyntax => "policy_syntax_invalid",
            Self::PolicyInvalid => "policy_invalid",
        }
    }
}

impl fmt::Display for RbacErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The file format of a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PolicyFormat {
    /// YAML 1.2, read by a parser written in safe Rust.
    Yaml,
    /// TOML 1.0.
    Toml,
}

impl fmt::Display for PolicyFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Yaml => "YAML",
            Self::Toml => "TOML",
        })
    }
}

/// A grammar rule that a permission or pattern broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SyntaxRule {
    /// The input is empty.
    Empty,
    /// The input is longer than the maximum, in bytes.
    TooLong {
        /// The maximum length in bytes.
        max: usize,
    },
    /// The input has more colon-separated segments than the maximum.
    TooManySegments {
        /// The maximum number of segments.
        max: usize,
    },
    /// A segment is empty: the input starts or ends with `:`, or contains `::`.
    EmptySegment {
        /// The zero-based index of the empty segment.
        segment: usize,
    },
    /// A character outside the segment alphabet (`a-z`, `0-9`, `_`, `-`, `.`).
    InvalidCharacter {
        /// The character found.
        character: char,
        /// Its byte offset in the input.
        offset: usize,
    },
    /// A `*` in a permission name. Wildcards belong in patterns only.
    WildcardInPermission {
        /// The byte offset of the `*`.
        offset: usize,
    },
    /// A `*` that is not a whole segment, such as `ll*` or `*x`.
    PartialWildcard {
        /// The zero-based index of the segment.
        segment: usize,
    },
}

impl SyntaxRule {
    /// Returns a stable snake-case name for the rule.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::TooLong { .. } => "too_long",
            Self::TooManySegments { .. } => "too_many_segments",
            Self::EmptySegment { .. } => "empty_segment",
            Self::InvalidCharacter { .. } => "invalid_character",
            Self::WildcardInPermission { .. } => "wildcard_in_permission",
            Self::PartialWildcard { .. } => "partial_wildcard",
        }
    }
}

impl fmt::Display for SyntaxRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Empty => f.write_str("it is empty"),
            Self::TooLong { max } => write!(f, "it is longer than {max} bytes"),
            Self::TooManySegments { max } => {
                write!(f, "it has more than {max} colon-separated segments")
            }
            Self::EmptySegment { segment } => write!(
                f,
                "segment {segment} is empty; remove the leading, trailing or doubled ':'"
            ),
            Self::InvalidCharacter { character, offset } => write!(
                f,
                "character {character:?} at byte {offset} is not allowed; segments use only a-z, 0-9, '_', '-' and '.'"
            ),
            Self::WildcardInPermission { offset } => write!(
                f,
                "'*' at byte {offset} is not allowed in a permission; wildcards belong in patterns"
            ),
            Self::PartialWildcard { segment } => write!(
                f,
                "segment {segment} mixes '*' with other characters; '*' must be a whole segment"
            ),
        }
    }
}

/// One problem found while validating a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyProblem {
    /// The role the problem belongs to, or `None` for a policy-wide problem.
    pub role: Option<String>,
    /// Where in the role the problem is.
    pub location: Location,
    /// What is wrong.
    pub kind: ProblemKind,
}

impl fmt::Display for PolicyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.role {
            Some(role) => write!(f, "role {}", quote_input(role))?,
            None => f.write_str("policy")?,
        }
        match self.location {
            Location::Role => {}
            Location::Permissions(index) => write!(f, ", permissions[{index}]")?,
            Location::Deny(index) => write!(f, ", deny[{index}]")?,
            Location::Inherits(index) => write!(f, ", inherits[{index}]")?,
        }
        write!(f, ": {}", self.kind)
    }
}

/// Where in a role a [`PolicyProblem`] is. Indexes are zero-based positions
/// in the role's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Location {
    /// The role as a whole (its name, its size, its place in a cycle).
    Role,
    /// An entry of the role's `permissions` (grant) list.
    Permissions(usize),
    /// An entry of the role's `deny` list.
    Deny(usize),
    /// An entry of the role's `inherits` list.
    Inherits(usize),
}

/// What is wrong in a [`PolicyProblem`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// A pattern broke the grammar.
    InvalidPattern {
        /// The rejected pattern, quoted, escaped and truncated.
        input: String,
        /// The rule it broke.
        rule: SyntaxRule,
    },
    /// A grant of `*` (or `*:*`, ...) while the policy does not set
    /// `allow_superuser: true`.
    SuperuserNotEnabled {
        /// The pattern, quoted.
        input: String,
    },
    /// A role name broke the role-name grammar documented on
    /// [`Policy`](crate::Policy).
    InvalidRoleName {
        /// What is wrong with the name.
        reason: &'static str,
    },
    /// A second role with the same name.
    DuplicateRole {
        /// The zero-based position of the first role with this name.
        first: usize,
    },
    /// `inherits` names a role that the policy does not define.
    UnknownParent {
        /// The parent name, quoted.
        parent: String,
    },
    /// Roles inherit from each other in a cycle. The list starts and ends
    /// with the same role, for example `["a", "b", "a"]`.
    InheritanceCycle {
        /// The role names along the cycle.
        cycle: Vec<String>,
    },
    /// A role has more patterns, grants and denies, its own and inherited
    /// together, than the maximum.
    TooManyPatterns {
        /// The maximum.
        max: usize,
    },
    /// The policy has more roles than the maximum.
    TooManyRoles {
        /// The number of roles.
        count: usize,
        /// The maximum.
        max: usize,
    },
}

impl ProblemKind {
    /// Returns a stable snake-case name for the problem.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::InvalidPattern { .. } => "invalid_pattern",
            Self::SuperuserNotEnabled { .. } => "superuser_not_enabled",
            Self::InvalidRoleName { .. } => "invalid_role_name",
            Self::DuplicateRole { .. } => "duplicate_role",
            Self::UnknownParent { .. } => "unknown_parent",
            Self::InheritanceCycle { .. } => "inheritance_cycle",
            Self::TooManyPatterns { .. } => "too_many_patterns",
            Self::TooManyRoles { .. } => "too_many_roles",
        }
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidPattern { input, rule } => write!(f, "invalid pattern {input}: {rule}"),
            Self::SuperuserNotEnabled { input } => write!(
                f,
                "pattern {input} grants every permission; set `allow_superuser: true` at the top of the policy if that is intended"
            ),
            Self::InvalidRoleName { reason } => write!(f, "invalid role name: {reason}"),
            Self::DuplicateRole { first } => {
                write!(f, "duplicate role name; role #{first} has the same name")
            }
            Self::UnknownParent { parent } => {
                write!(
                    f,
                    "inherits from {parent}, which the policy does not define"
                )
            }
            Self::InheritanceCycle { cycle } => {
                f.write_str("inheritance cycle: ")?;
                for (position, name) in cycle.iter().enumerate() {
                    if position > 0 {
                        f.write_str(" -> ")?;
                    }
                    f.write_str(&quote_input(name))?;
                }
                Ok(())
            }
            Self::TooManyPatterns { max } => write!(
                f,
                "more than {max} patterns including inherited ones; split the role or use wildcards"
            ),
            Self::TooManyRoles { count, max } => {
                write!(f, "{count} roles; the maximum is {max}")
            }
        }
    }
}

/// Formats a problem list as `N problem(s): first; second; ...`.
struct ProblemList<'a>(&'a [PolicyProblem]);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.0.len();
        write!(f, "{count} problem{}", if count == 1 { "" } else { "s" })?;
        for (position, problem) in self.0.iter().enumerate() {
            f.write_str(if position == 0 { ": " } else { "; " })?;
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// The number of characters of an input that error messages show.
const QUOTED_CHARS: usize = 64;

/// Quotes `input` for an error message: wrapped in double quotes, control and
/// non-ASCII characters escaped as Rust does (`\n`, `\u{ff1a}`), and cut after
/// 64 characters with `...` appended.
///
/// Only the first 64 characters are read, so quoting costs the same however
/// long the input is.
pub fn quote_input(input: &str) -> String {
    let mut quoted = String::with_capacity(QUOTED_CHARS + 8);
    quoted.push('"');
    let mut chars = input.chars();
    for character in chars.by_ref().take(QUOTED_CHARS) {
        if character.is_ascii_graphic() && character != '"' && character != '\\' || character == ' '
        {
            quoted.push(character);
        } else {
            quoted.extend(character.escape_default());
        }
    }
    quoted.push('"');
    if chars.next().is_some() {
        quoted.push_str("...");
    }
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_input_escapes_control_and_unicode() {
        assert_eq!(quote_input("llm:query"), "\"llm:query\"");
        assert_eq!(quote_input("a\nb"), "\"a\\nb\"");
        assert_eq!(quote_input("llm\u{ff1a}chat"), "\"llm\\u{ff1a}chat\"");
        assert_eq!(quote_input("a\0"), "\"a\\u{0}\"");
        assert_eq!(quote_input("say \"hi\""), "\"say \\\"hi\\\"\"");
    }

    #[test]
    fn quote_input_truncates_long_input() {
        let long = "a".repeat(1000);
        let quoted = quote_input(&long);
        assert_eq!(quoted, format!("\"{}\"...", "a".repeat(64)));
    }

    #[test]
    fn kind_codes_are_stable() {
        assert_eq!(
            RbacErrorKind::PermissionInvalid.as_str(),
            "permission_invalid"
        );
        assert_eq!(RbacErrorKind::PatternInvalid.as_str(), "pattern_invalid");
        assert_eq!(
            RbacErrorKind::PolicySyntax.as_str(),
            "policy_syntax_invalid"
        );
        assert_eq!(RbacErrorKind::PolicyInvalid.as_str(), "policy_invalid");
    }

    #[test]
    fn problem_display_names_role_and_position() {
        let problem = PolicyProblem {
            role: Some("admin".to_owned()),
            location: Location::Permissions(2),
            kind: ProblemKind::InvalidPattern {
                input: quote_input("ll*"),
                rule: SyntaxRule::PartialWildcard { segment: 0 },
            },
        };
        assert_eq!(
            problem.to_string(),
            "role \"admin\", permissions[2]: invalid pattern \"ll*\": segment 0 mixes '*' with other characters; '*' must be a whole segment"
        );
    }
}
