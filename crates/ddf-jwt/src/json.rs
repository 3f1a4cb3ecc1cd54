//! Strict JSON: duplicate members rejected at any depth, nesting bounded.

use std::cell::Cell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::error::MalformedReason;

/// Maximum nesting of arrays and objects; the top-level object is depth 1.
pub(crate) const MAX_DEPTH: usize = 64;

/// Parses `bytes` as one JSON object with no duplicate member names at any
/// depth, nesting of at most [`MAX_DEPTH`], and nothing but whitespace after it.
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, MalformedReason> {
    match parse_value(bytes)? {
        Value::Object(map) => Ok(map),
        _ => Err(MalformedReason::NotAnObject),
    }
}

/// Parses any strict JSON value (see [`parse_object`]).
pub(crate) fn parse_value(bytes: &[u8]) -> Result<Value, MalformedReason> {
    let failure = Cell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let seed = StrictValue {
        depth: 0,
        failure: &failure,
    };
    let value = seed
        .deserialize(&mut deserializer)
        .map_err(|_| failure.get().unwrap_or(MalformedReason::Json))?;
    deserializer.end().map_err(|_| MalformedReason::Json)?;
    Ok(value)
}

/// A seed that builds a [`Value`] and records why it gave up, since serde
/// errors carry only text.
#[derive(Clone, Copy)]
struct StrictValue<'a> {
    depth: usize,
    failure: &'a Cell<Option<MalformedReason>>,
}

impl StrictValue<'_> {
    fn fail<E: serde::de::Error>(self, reason: MalformedReason) -> E {
        self.failure.set(Some(reason));
        E::custom(reason)
    }

    fn nested<E: serde::de::Error>(self) -> Result<Self, E> {
        if self.depth >= MAX_DEPTH {
            return Err(self.fail(MalformedReason::NestingTooDeep));
        }
        Ok(Self {
            depth: self.depth + 1,
            failure: self.failure,
        })
    }
}

impl<'de> DeserializeSeed<'de> for StrictValue<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<Value, E> {
        Number::from_f64(value)
            .map(Value::Number)
            .ok_or_else(|| self.fail(MalformedReason::Json))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.nested()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(inner)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let inner = self.nested()?;
        let mut members = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            // One map lookup per member: the vacant entry is filled in place.
            match members.entry(name) {
                serde_json::map::Entry::Occupied(_) => {
                    return Err(self.fail(MalformedReason::DuplicateMember));
                }
                serde_json::map::Entry::Vacant(slot) => {
                    slot.insert(map.next_value_seed(inner)?);
                }
            }
        }
        Ok(Value::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_member_at_depth_is_rejected() {
        let err = parse_object(br#"{"a":{"b":1,"b":2}}"#).unwrap_err();
        assert_eq!(err, MalformedReason::DuplicateMember);
    }

    #[test]
    fn depth_limit_counts_the_top_level_object() {
        let mut deep = String::from("{\"x\":");
        deep.push_str(&"[".repeat(MAX_DEPTH - 1));
        deep.push_str(&"]".repeat(MAX_DEPTH - 1));
        deep.push('}');
        assert!(parse_object(deep.as_bytes()).is_ok());

        let mut too_deep = String::from("{\"x\":");
        too_deep.push_str(&"[".repeat(MAX_DEPTH));
        too_deep.push_str(&"]".repeat(MAX_DEPTH));
        too_deep.push('}');
        assert_eq!(
            parse_object(too_deep.as_bytes()).unwrap_err(),
            MalformedReason::NestingTooDeep
        );
    }

    #[test]
    fn trailing_bytes_and_bom_are_rejected() {
        assert_eq!(parse_object(b"{} x").unwrap_err(), MalformedReason::Json);
        assert_eq!(
            parse_object(b"\xef\xbb\xbf{}").unwrap_err(),
            MalformedReason::Json
        );
        assert_eq!(
            parse_object(b"[]").unwrap_err(),
            MalformedReason::NotAnObject
        );
        assert_eq!(
            parse_object(b"null").unwrap_err(),
            MalformedReason::NotAnObject
        );
    }
}
