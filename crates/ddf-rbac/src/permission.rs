//! Permission names and wildcard patterns.
//!
//! Both share one grammar: 1 to [`MAX_SEGMENTS`] segments separated by `:`,
//! at most [`MAX_LEN`] bytes in all, each segment one or more of `a-z`,
//! `0-9`, `_`, `-` and `.`. A pattern may also use `*` as a whole segment.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{RbacError, SyntaxRule};

/// The maximum length of a permission or pattern, in bytes.
pub const MAX_LEN: usize = 128;

/// The maximum number of colon-separated segments in a permission or pattern.
pub const MAX_SEGMENTS: usize = 8;

// Segment boundaries are stored as `u8` offsets; both limits must fit.
const _: () = assert!(MAX_LEN <= u8::MAX as usize);
const _: () = assert!(MAX_SEGMENTS <= u8::MAX as usize);

/// The byte range of each segment in a validated name.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Segments {
    /// `(start, end)` byte offsets; only the first `count` entries are used.
    bounds: [(u8, u8); MAX_SEGMENTS],
    count: u8,
}

impl Segments {
    fn get<'a>(&self, text: &'a str, index: usize) -> &'a str {
        let (start, end) = self.bounds[index];
        &text[usize::from(start)..usize::from(end)]
    }

    fn len(&self) -> usize {
        usize::from(self.count)
    }
}

/// Appends `[start, end)` to `segments` as one segment after checking it.
fn close_segment(
    segments: &mut Segments,
    start: usize,
    end: usize,
    has_star: bool,
) -> Result<(), SyntaxRule> {
    let index = segments.len();
    if index == MAX_SEGMENTS {
        return Err(SyntaxRule::TooManySegments { max: MAX_SEGMENTS });
    }
    if start == end {
        return Err(SyntaxRule::EmptySegment { segment: index });
    }
    if has_star && end - start != 1 {
        return Err(SyntaxRule::PartialWildcard { segment: index });
    }
    // Both offsets are at most MAX_LEN, which fits in u8.
    segments.bounds[index] = (start as u8, end as u8);
    segments.count += 1;
    Ok(())
}

/// The grammar that [`scan`] applies.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Grammar {
    Permission,
    Pattern,
}

/// Validates `input` against the grammar and returns its segment boundaries.
///
/// Runs in time linear in `min(input.len(), MAX_LEN)`: the length is checked
/// before any byte is read.
fn scan(input: &str, grammar: Grammar) -> Result<Segments, SyntaxRule> {
    if input.is_empty() {
        return Err(SyntaxRule::Empty);
    }
    if input.len() > MAX_LEN {
        return Err(SyntaxRule::TooLong { max: MAX_LEN });
    }

    let mut segments = Segments {
        bounds: [(0, 0); MAX_SEGMENTS],
        count: 0,
    };
    let mut start = 0;
    let mut has_star = false;
    for (offset, character) in input.char_indices() {
        match character {
            ':' => {
                close_segment(&mut segments, start, offset, has_star)?;
                start = offset + 1;
                has_star = false;
            }
            'a'..='z' | '0'..='9' | '_' | '-' | '.' => {}
            '*' if grammar == Grammar::Pattern => has_star = true,
            '*' => return Err(SyntaxRule::WildcardInPermission { offset }),
            _ => return Err(SyntaxRule::InvalidCharacter { character, offset }),
        }
    }
    close_segment(&mut segments, start, input.len(), has_star)?;
    Ok(segments)
}

/// A validated permission name, such as `llm:query` or `llm:query:gpt-4o`.
///
/// # Grammar
///
/// - 1 to 8 segments separated by `:`, at most 128 bytes in all;
/// - each segment is one or more of the ASCII characters `a-z`, `0-9`, `_`,
///   `-` and `.`;
/// - nothing else: no upper case, no whitespace, no `*`, no non-ASCII
///   characters.
///
/// Input is never normalised. `LLM:query`, ` llm:query` and `llm：query`
/// (full-width colon) are errors, not aliases of `llm:query`, so the name a
/// policy grants is byte for byte the name a route requires.
///
/// ```
/// use ddf_rbac::{Permission, RbacErrorKind};
///
/// let permission: Permission = "llm:query:gpt-4o".parse()?;
/// assert_eq!(permission.segments().collect::<Vec<_>>(), ["llm", "query", "gpt-4o"]);
///
/// let error = Permission::parse("LLM:query").unwrap_err();
/// assert_eq!(error.kind(), RbacErrorKind::PermissionInvalid);
/// # Ok::<(), ddf_rbac::RbacError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Permission {
    text: Box<str>,
    segments: Segments,
}

impl Permission {
    /// Parses and validates a permission name.
    ///
    /// # Errors
    ///
    /// [`RbacError::InvalidPermission`] naming the input and the first rule
    /// it breaks, reading left to right.
    pub fn parse(input: &str) -> Result<Self, RbacError> {
        match scan(input, Grammar::Permission) {
            Ok(segments) => Ok(Self {
                text: input.into(),
                segments,
            }),
            Err(rule) => Err(RbacError::invalid_permission(input, rule)),
        }
    }

    /// Returns the permission name.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Returns the segments, in order.
    pub fn segments(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.segments.len()).map(|index| self.segments.get(&self.text, index))
    }

    /// Returns the number of segments (1 to 8).
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    fn segment(&self, index: usize) -> &str {
        self.segments.get(&self.text, index)
    }
}

/// A permission pattern with wildcards, such as `llm:*` or `*:read`.
///
/// # Grammar and meaning
///
/// A pattern follows the [`Permission`] grammar, except that a segment may
/// also be `*`. A `*` must be the whole segment: `ll*`, `*x` and `l*m` are
/// errors, never globs over text.
///
/// - A literal segment matches the same segment, compared byte for byte.
/// - A `*` in the last position matches **one or more** trailing segments:
///   `llm:*` matches `llm:query` and `llm:query:gpt-4o`, but not `llm`.
/// - A `*` in any other position matches **exactly one** segment: `*:read`
///   matches `monitoring:read` but not `read` or `llm:query:read`, and
///   `llm:*:read` matches `llm:history:read` only with three segments.
/// - A pattern made only of `*` segments (`*`, `*:*`, ...) is the global
///   wildcard and matches every permission. A [`Policy`](crate::Policy)
///   accepts it in a grant only when the policy sets `allow_superuser`.
///
/// Matching compares whole segments, so `llm:*` never matches `llmx:query`
/// or `llm-admin:x`; and `llm::x` is not a valid permission at all.
///
/// ```
/// use ddf_rbac::{Pattern, Permission};
///
/// let pattern = Pattern::parse("llm:*")?;
/// assert!(pattern.matches(&Permission::parse("llm:query:gpt-4o")?));
/// assert!(!pattern.matches(&Permission::parse("llm")?));
/// assert!(!pattern.matches(&Permission::parse("llm-admin:x")?));
/// # Ok::<(), ddf_rbac::RbacError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Pattern {
    text: Box<str>,
    segments: Segments,
    shape: Shape,
}

/// The comparison that [`Pattern::matches`] uses, chosen once when the
/// pattern is parsed.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Shape {
    /// Every segment is `*`: matches everything.
    Global,
    /// No `*`: matches the identical name.
    Exact,
    /// Literal segments then a final `*` (`llm:*`): matches every name that
    /// starts with the text before the `*` (`llm:`). A valid name has a
    /// non-empty segment after each `:`, so this is one or more segments.
    Prefix,
    /// A `*` before the last segment (`*:read`): compared segment by segment.
    Segmented,
}

impl Pattern {
    /// Parses and validates a pattern.
    ///
    /// A global wildcard (`*`) parses; whether a policy may grant it is the
    /// policy's decision.
    ///
    /// # Errors
    ///
    /// [`RbacError::InvalidPattern`] naming the input and the first rule it
    /// breaks, reading left to right.
    pub fn parse(input: &str) -> Result<Self, RbacError> {
        let segments = scan(input, Grammar::Pattern)
            .map_err(|rule| RbacError::invalid_pattern(input, rule))?;
        let is_wildcard = |index: usize| segments.get(input, index) == "*";
        let last = segments.len() - 1;
        let shape = if (0..=last).all(is_wildcard) {
            Shape::Global
        } else if (0..last).any(is_wildcard) {
            Shape::Segmented
        } else if is_wildcard(last) {
            Shape::Prefix
        } else {
            Shape::Exact
        };
        Ok(Self {
            text: input.into(),
            segments,
            shape,
        })
    }

    /// Returns the pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Returns whether the pattern is a global wildcard (`*`, `*:*`, ...)
    /// that matches every permission.
    pub fn is_global(&self) -> bool {
        self.shape == Shape::Global
    }

    /// Returns the number of segments (1 to 8).
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Returns whether the pattern matches `permission`.
    ///
    /// Allocates nothing and compares at most 8 segments.
    #[inline]
    pub fn matches(&self, permission: &Permission) -> bool {
        let name = permission.text.as_bytes();
        let pattern = self.text.as_bytes();
        match self.shape {
            Shape::Global => true,
            Shape::Exact => name == pattern,
            Shape::Prefix => name.starts_with(&pattern[..pattern.len() - 1]),
            Shape::Segmented => self.matches_segments(permission),
        }
    }

    /// Compares segment by segment: an inner `*` matches exactly one
    /// segment, a final `*` one or more.
    fn matches_segments(&self, permission: &Permission) -> bool {
        let pattern_len = self.segments.len();
        let permission_len = permission.segments.len();
        let trailing_wildcard = self.segments.get(&self.text, pattern_len - 1) == "*";
        let literal_len = if trailing_wildcard {
            if permission_len < pattern_len {
                return false;
            }
            pattern_len - 1
        } else {
            if permission_len != pattern_len {
                return false;
            }
            pattern_len
        };
        (0..literal_len).all(|index| {
            let expected = self.segments.get(&self.text, index);
            expected == "*" || expected == permission.segment(index)
        })
    }
}

macro_rules! impl_text_traits {
    ($type:ident, $what:literal) => {
        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.text)
            }
        }

        impl fmt::Debug for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($type), "({:?})"), &*self.text)
            }
        }

        impl FromStr for $type {
            type Err = RbacError;

            fn from_str(input: &str) -> Result<Self, Self::Err> {
                Self::parse(input)
            }
        }

        impl TryFrom<&str> for $type {
            type Error = RbacError;

            fn try_from(input: &str) -> Result<Self, Self::Error> {
                Self::parse(input)
            }
        }

        impl AsRef<str> for $type {
            fn as_ref(&self) -> &str {
                &self.text
            }
        }

        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.text)
            }
        }

        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct TextVisitor;

                impl serde::de::Visitor<'_> for TextVisitor {
                    type Value = $type;

                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($what)
                    }

                    fn visit_str<E: serde::de::Error>(self, input: &str) -> Result<$type, E> {
                        $type::parse(input).map_err(E::custom)
                    }
                }

                deserializer.deserialize_str(TextVisitor)
            }
        }
    };
}

impl_text_traits!(Permission, "a permission name such as \"llm:query\"");
impl_text_traits!(Pattern, "a permission pattern such as \"llm:*\"");

#[cfg(test)]
mod tests {
    use super::*;

    fn permission_rule(input: &str) -> SyntaxRule {
        match Permission::parse(input) {
            Err(RbacError::InvalidPermission { rule, .. }) => rule,
            other => panic!("expected InvalidPermission for {input:?}, got {other:?}"),
        }
    }

    fn pattern_rule(input: &str) -> SyntaxRule {
        match Pattern::parse(input) {
            Err(RbacError::InvalidPattern { rule, .. }) => rule,
            other => panic!("expected InvalidPattern for {input:?}, got {other:?}"),
        }
    }

    fn matches(pattern: &str, permission: &str) -> bool {
        Pattern::parse(pattern)
            .unwrap()
            .matches(&Permission::parse(permission).unwrap())
    }

    #[test]
    fn permission_accepts_grammar() {
        for input in [
            "llm",
            "llm:query",
            "llm:query:gpt-4o",
            "a.b_c-d:0",
            "x:y:z:a:b:c:d:e",
        ] {
            let permission = Permission::parse(input).unwrap();
            assert_eq!(permission.as_str(), input);
        }
        let permission = Permission::parse("llm:query:gpt-4o").unwrap();
        assert_eq!(permission.segment_count(), 3);
        assert_eq!(
            permission.segments().collect::<Vec<_>>(),
            ["llm", "query", "gpt-4o"]
        );
    }

    #[test]
    fn permission_rejects_each_rule() {
        assert_eq!(permission_rule(""), SyntaxRule::Empty);
        assert_eq!(
            permission_rule(&"a".repeat(129)),
            SyntaxRule::TooLong { max: 128 }
        );
        assert_eq!(
            permission_rule("a:b:c:d:e:f:g:h:i"),
            SyntaxRule::TooManySegments { max: 8 }
        );
        assert_eq!(
            permission_rule(":llm"),
            SyntaxRule::EmptySegment { segment: 0 }
        );
        assert_eq!(
            permission_rule("llm:"),
            SyntaxRule::EmptySegment { segment: 1 }
        );
        assert_eq!(
            permission_rule("llm::x"),
            SyntaxRule::EmptySegment { segment: 1 }
        );
        assert_eq!(
            permission_rule("llm:Query"),
            SyntaxRule::InvalidCharacter {
                character: 'Q',
                offset: 4
            }
        );
        assert_eq!(
            permission_rule("llm:*"),
            SyntaxRule::WildcardInPermission { offset: 4 }
        );
    }

    #[test]
    fn permission_length_limit_is_inclusive() {
        let at_limit = format!("{}:{}", "a".repeat(63), "b".repeat(64));
        assert_eq!(at_limit.len(), 128);
        assert!(Permission::parse(&at_limit).is_ok());
    }

    #[test]
    fn pattern_rejects_partial_wildcards() {
        assert_eq!(
            pattern_rule("ll*"),
            SyntaxRule::PartialWildcard { segment: 0 }
        );
        assert_eq!(
            pattern_rule("llm:c*"),
            SyntaxRule::PartialWildcard { segment: 1 }
        );
        assert_eq!(
            pattern_rule("llm:**"),
            SyntaxRule::PartialWildcard { segment: 1 }
        );
        assert_eq!(
            pattern_rule("*x:y"),
            SyntaxRule::PartialWildcard { segment: 0 }
        );
    }

    #[test]
    fn pattern_flags_global_wildcards() {
        assert!(Pattern::parse("*").unwrap().is_global());
        assert!(Pattern::parse("*:*").unwrap().is_global());
        assert!(!Pattern::parse("*:read").unwrap().is_global());
        assert!(!Pattern::parse("llm:*").unwrap().is_global());
    }

    #[test]
    fn trailing_wildcard_matches_one_or_more_segments() {
        assert!(matches("llm:*", "llm:query"));
        assert!(matches("llm:*", "llm:query:gpt-4o"));
        assert!(!matches("llm:*", "llm"));
        assert!(!matches("llm:*", "llmx:query"));
        assert!(!matches("llm:*", "llm-admin:x"));
    }

    #[test]
    fn inner_wildcard_matches_exactly_one_segment() {
        assert!(matches("*:read", "monitoring:read"));
        assert!(!matches("*:read", "read"));
        assert!(!matches("*:read", "llm:query:read"));
        assert!(matches("llm:*:read", "llm:history:read"));
        assert!(!matches("llm:*:read", "llm:read"));
        assert!(!matches("llm:*:read", "llm:a:b:read"));
        assert!(matches("*:*:read", "a:b:read"));
    }

    #[test]
    fn literal_pattern_matches_exactly() {
        assert!(matches("llm:query", "llm:query"));
        assert!(!matches("llm:query", "llm:query:gpt-4o"));
        assert!(!matches("llm:query", "llm"));
        assert!(!matches("llm:query", "llm:querx"));
    }

    #[test]
    fn global_wildcard_matches_everything() {
        assert!(matches("*", "llm"));
        assert!(matches("*", "a:b:c:d:e:f:g:h"));
        assert!(matches("*:*", "llm"));
    }

    #[test]
    fn serde_parses_and_validates() {
        let permission: Permission = serde_json::from_str("\"llm:query\"").unwrap();
        assert_eq!(permission.as_str(), "llm:query");
        let error = serde_json::from_str::<Permission>("\"LLM\"").unwrap_err();
        assert!(error.to_string().contains("invalid permission \"LLM\""));
        assert_eq!(serde_json::to_string(&permission).unwrap(), "\"llm:query\"");
    }

    #[test]
    fn debug_shows_the_name() {
        let pattern = Pattern::parse("llm:*").unwrap();
        assert_eq!(format!("{pattern:?}"), "Pattern(\"llm:*\")");
    }
}
