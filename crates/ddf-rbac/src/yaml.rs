//! A small YAML front end: the events of `saphyr-parser` (safe Rust) become a
//! tree, and the tree is read through serde.
//!
//! Policy files need only maps, lists and scalars, so the reader rejects what
//! they never need and what makes YAML risky to read: aliases (the "billion
//! laughs" expansion), explicit tags, several documents in one file and
//! nesting deeper than [`MAX_DEPTH`]. Keys repeated within one map are kept in
//! order, so that policy validation can report a duplicate role together with
//! every other problem.

use std::fmt;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde::de::{self, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;

/// The deepest nesting of maps and lists accepted. A policy needs 4.
const MAX_DEPTH: usize = 32;

/// One node of a parsed YAML document.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    /// A scalar, with whether it was written plain (unquoted), which decides
    /// whether `true` is a boolean or a string.
    Scalar {
        value: String,
        plain: bool,
    },
    Sequence(Vec<Node>),
    /// Entries in document order; a repeated key appears twice.
    Mapping(Vec<(String, Node)>),
}

/// A partially built collection on the parser's stack.
enum Frame {
    Sequence(Vec<Node>),
    /// The finished entries and the key waiting for its value.
    Mapping(Vec<(String, Node)>, Option<String>),
}

fn position(span: Span) -> String {
    format!("line {} column {}", span.start.line(), span.start.col() + 1)
}

/// Parses a single YAML document into a [`Node`] tree.
fn parse_document(input: &str) -> Result<Node, String> {
    let mut parser = Parser::new_from_str(input);
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    let mut documents = 0usize;

    while let Some(result) = parser.next_event() {
        let (event, span) = result.map_err(|error| error.to_string())?;
        let completed = match event {
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => None,
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(format!(
                        "a policy file holds one YAML document; a second one starts at {}",
                        position(span)
                    ));
                }
                None
            }
            Event::Alias(_) => {
                return Err(format!(
                    "YAML aliases are not supported in policy files (alias at {})",
                    position(span)
                ));
            }
            Event::Scalar(value, style, _anchor, tag) => {
                reject_tag(tag.is_some(), span)?;
                Some(Node::Scalar {
                    value: value.into_owned(),
                    plain: style == ScalarStyle::Plain,
                })
            }
            Event::SequenceStart(_anchor, tag) => {
                reject_tag(tag.is_some(), span)?;
                push_frame(&mut stack, Frame::Sequence(Vec::new()), span)?;
                None
            }
            Event::MappingStart(_anchor, tag) => {
                reject_tag(tag.is_some(), span)?;
                push_frame(&mut stack, Frame::Mapping(Vec::new(), None), span)?;
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Sequence(items)) => Some(Node::Sequence(items)),
                _ => return Err("unbalanced YAML sequence".to_owned()),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Mapping(entries, None)) => Some(Node::Mapping(entries)),
                _ => return Err("unbalanced YAML mapping".to_owned()),
            },
        };

        if let Some(node) = completed {
            attach(&mut stack, &mut root, node, span)?;
        }
    }

    root.ok_or_else(|| "the file holds no YAML document".to_owned())
}

fn reject_tag(has_tag: bool, span: Span) -> Result<(), String> {
    if has_tag {
        return Err(format!(
            "YAML tags are not supported in policy files (tag at {})",
            position(span)
        ));
    }
    Ok(())
}

fn push_frame(stack: &mut Vec<Frame>, frame: Frame, span: Span) -> Result<(), String> {
    if stack.len() >= MAX_DEPTH {
        return Err(format!(
            "YAML nesting deeper than {MAX_DEPTH} levels at {}",
            position(span)
        ));
    }
    stack.push(frame);
    Ok(())
}

/// Adds a finished node to the collection on top of the stack, or makes it
/// the document's root.
fn attach(
    stack: &mut [Frame],
    root: &mut Option<Node>,
    node: Node,
    span: Span,
) -> Result<(), String> {
    match stack.last_mut() {
        None => {
            *root = Some(node);
            Ok(())
        }
        Some(Frame::Sequence(items)) => {
            items.push(node);
            Ok(())
        }
        Some(Frame::Mapping(entries, pending_key)) => match pending_key.take() {
            Some(key) => {
                entries.push((key, node));
                Ok(())
            }
            None => match node {
                Node::Scalar { value, .. } => {
                    *pending_key = Some(value);
                    Ok(())
                }
                _ => Err(format!(
                    "a YAML map key must be a scalar, found a collection at {}",
                    position(span)
                )),
            },
        },
    }
}

/// The error type of the tree deserializer: a message and the path of the
/// node it is about, such as `roles.user.permissions[1]`.
#[derive(Debug)]
pub(crate) struct YamlError {
    message: String,
    /// Path parts from the innermost outwards, added as the error returns
    /// through each map and list.
    path: Vec<PathPart>,
}

#[derive(Debug)]
enum PathPart {
    Key(String),
    Index(usize),
}

impl YamlError {
    fn within(mut self, part: PathPart) -> Self {
        self.path.push(part);
        self
    }
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.path.is_empty() {
            for (position, part) in self.path.iter().rev().enumerate() {
                match part {
                    PathPart::Key(key) if position == 0 => f.write_str(key)?,
                    PathPart::Key(key) => write!(f, ".{key}")?,
                    PathPart::Index(index) => write!(f, "[{index}]")?,
                }
            }
            f.write_str(": ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for YamlError {}

impl de::Error for YamlError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Self {
            message: message.to_string(),
            path: Vec::new(),
        }
    }
}

/// Map access over a mapping node that adds the key to errors in its value.
struct EntriesAccess {
    entries: std::vec::IntoIter<(String, Node)>,
    pending: Option<(String, Node)>,
}

impl<'de> de::MapAccess<'de> for EntriesAccess {
    type Error = YamlError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, YamlError> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        let result = seed.deserialize(key.as_str().into_deserializer());
        self.pending = Some((key, value));
        result.map(Some)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, YamlError> {
        let (key, value) = self
            .pending
            .take()
            .ok_or_else(|| <YamlError as de::Error>::custom("value requested before key"))?;
        seed.deserialize(value)
            .map_err(|error| error.within(PathPart::Key(key)))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// Sequence access over a list node that adds the index to errors.
struct ItemsAccess {
    items: std::iter::Enumerate<std::vec::IntoIter<Node>>,
}

impl<'de> de::SeqAccess<'de> for ItemsAccess {
    type Error = YamlError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, YamlError> {
        let Some((index, item)) = self.items.next() else {
            return Ok(None);
        };
        seed.deserialize(item)
            .map(Some)
            .map_err(|error| error.within(PathPart::Index(index)))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// Parses `input` as one YAML document and deserializes it into `T`.
pub(crate) fn from_str<T: de::DeserializeOwned>(input: &str) -> Result<T, String> {
    let node = parse_document(input)?;
    T::deserialize(node).map_err(|error: YamlError| error.to_string())
}

impl IntoDeserializer<'_, YamlError> for Node {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> de::Deserializer<'de> for Node {
    type Error = YamlError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, YamlError> {
        match self {
            Self::Scalar { value, plain: true } => match value.as_str() {
                // The YAML 1.2 core schema's booleans and nulls. Numbers stay
                // strings: a policy has none, and a quoted string is what
                // every policy field expects.
                "true" | "True" | "TRUE" => visitor.visit_bool(true),
                "false" | "False" | "FALSE" => visitor.visit_bool(false),
                "" | "~" | "null" | "Null" | "NULL" => visitor.visit_unit(),
                _ => visitor.visit_string(value),
            },
            Self::Scalar {
                value,
                plain: false,
            } => visitor.visit_string(value),
            Self::Sequence(items) => visitor.visit_seq(ItemsAccess {
                items: items.into_iter().enumerate(),
            }),
            Self::Mapping(entries) => visitor.visit_map(EntriesAccess {
                entries: entries.into_iter(),
                pending: None,
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, YamlError> {
        match &self {
            Self::Scalar { value, plain: true }
                if matches!(value.as_str(), "" | "~" | "null" | "Null" | "NULL") =>
            {
                visitor.visit_none()
            }
            _ => visitor.visit_some(self),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(value: &str) -> Node {
        Node::Scalar {
            value: value.to_owned(),
            plain: true,
        }
    }

    #[test]
    fn builds_maps_and_lists_in_order() {
        let node = parse_document("b: [x, 'y']\na: {c: d}\n").unwrap();
        assert_eq!(
            node,
            Node::Mapping(vec![
                (
                    "b".to_owned(),
                    Node::Sequence(vec![
                        scalar("x"),
                        Node::Scalar {
                            value: "y".to_owned(),
                            plain: false
                        }
                    ])
                ),
                (
                    "a".to_owned(),
                    Node::Mapping(vec![("c".to_owned(), scalar("d"))])
                ),
            ])
        );
    }

    #[test]
    fn keeps_duplicate_keys() {
        let node = parse_document("a: 1\na: 2\n").unwrap();
        let Node::Mapping(entries) = node else {
            panic!("expected a mapping");
        };
        assert_eq!(entries.len(), 2);
    }

    #[test]
    fn rejects_aliases() {
        let error = parse_document("a: &x [1]\nb: *x\n").unwrap_err();
        assert_eq!(
            error,
            "YAML aliases are not supported in policy files (alias at line 2 column 4)"
        );
    }

    #[test]
    fn rejects_tags() {
        let error = parse_document("a: !!str x\n").unwrap_err();
        assert!(error.starts_with("YAML tags are not supported"), "{error}");
    }

    #[test]
    fn rejects_second_document() {
        let error = parse_document("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(
            error.starts_with("a policy file holds one YAML document"),
            "{error}"
        );
    }

    #[test]
    fn rejects_deep_nesting() {
        let input = format!("{}{}", "[".repeat(40), "]".repeat(40));
        let error = parse_document(&input).unwrap_err();
        assert!(
            error.starts_with("YAML nesting deeper than 32 levels"),
            "{error}"
        );
    }

    #[test]
    fn rejects_collection_keys() {
        let error = parse_document("? [a]\n: b\n").unwrap_err();
        assert!(
            error.starts_with("a YAML map key must be a scalar"),
            "{error}"
        );
    }

    #[test]
    fn reports_scanner_errors_with_position() {
        let error = parse_document("a: [b\n").unwrap_err();
        assert!(error.contains("line"), "{error}");
    }

    #[test]
    fn empty_input_has_no_document() {
        assert_eq!(
            parse_document("").unwrap_err(),
            "the file holds no YAML document"
        );
    }
}

#[cfg(test)]
mod path_tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only the errors are inspected")]
    struct Outer {
        items: Vec<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only the errors are inspected")]
    struct Inner {
        name: String,
    }

    #[test]
    fn errors_carry_the_path() {
        let error = super::from_str::<Outer>("items:\n  - name: a\n  - nam: b\n").unwrap_err();
        assert_eq!(error, "items[1]: unknown field `nam`, expected `name`");
        let error = super::from_str::<Outer>("items: x\n").unwrap_err();
        assert_eq!(
            error,
            "items: invalid type: string \"x\", expected a sequence"
        );
    }
}
