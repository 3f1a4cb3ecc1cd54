//! Strict JSON: duplicate members rejected at any depth, nesting bounded.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashSet;
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

/// A string of a parsed document: a byte range of the document when the
/// JSON text had no escapes (the common case, no copy), else its decoded copy.
#[derive(Debug, Clone)]
pub(crate) enum Text {
    Span(usize, usize),
    Owned(Box<str>),
}

impl Text {
    /// Returns the string; `doc` must be the document it was parsed from.
    pub(crate) fn get<'d>(&'d self, doc: &'d str) -> &'d str {
        match self {
            Self::Span(start, end) => doc.get(*start..*end).unwrap_or_default(),
            Self::Owned(text) => text,
        }
    }
}

/// A member value read as a scalar: a string, a number, or anything else
/// (kept only as "present, wrong type").
#[derive(Debug, Clone)]
pub(crate) enum Field {
    Str(Text),
    Num(f64),
    Other,
}

impl Field {
    pub(crate) fn as_text(&self) -> Option<&Text> {
        match self {
            Self::Str(text) => Some(text),
            _ => None,
        }
    }
}

/// A member value read as "a string or an array of strings".
#[derive(Debug, Clone)]
pub(crate) enum List {
    Str(Text),
    /// The array's items; `None` for an item that is not a string.
    Items(Vec<Option<Text>>),
    Other,
}

/// The parsing context: depth, the failure slot, and the document's
/// address range for turning borrowed strings into [`Text::Span`]s.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'f> {
    depth: usize,
    failure: &'f Cell<Option<MalformedReason>>,
    base: usize,
    len: usize,
}

impl Ctx<'_> {
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
            ..self
        })
    }

    /// A string borrowed from the document becomes a span of it.
    fn borrowed(self, text: &str) -> Text {
        let start = text.as_ptr().addr().wrapping_sub(self.base);
        if start <= self.len && text.len() <= self.len - start {
            Text::Span(start, start + text.len())
        } else {
            Text::Owned(text.into())
        }
    }

    fn finite<E: serde::de::Error>(self, value: f64) -> Result<f64, E> {
        if value.is_finite() {
            Ok(value)
        } else {
            Err(self.fail(MalformedReason::Json))
        }
    }
}

/// Member names seen in one object; duplicates are rejected. Small objects
/// are scanned linearly, larger ones hashed (seeded per process), so a token
/// with thousands of members cannot make the check quadratic.
struct Names<'de> {
    small: Vec<Cow<'de, str>>,
    large: Option<HashSet<Cow<'de, str>, foldhash::quality::RandomState>>,
}

impl<'de> Names<'de> {
    /// Up to this many names a linear scan beats hashing every name.
    const LINEAR: usize = 32;

    fn new() -> Self {
        Self {
            small: Vec::new(),
            large: None,
        }
    }

    /// Adds `name`; `false` when it was already there.
    #[expect(
        clippy::ptr_arg,
        reason = "cloning a borrowed `Cow` stores the name without copying it"
    )]
    fn insert(&mut self, name: &Cow<'de, str>) -> bool {
        if let Some(large) = &mut self.large {
            return large.insert(name.clone());
        }
        if self.small.iter().any(|seen| seen == name) {
            return false;
        }
        if self.small.len() == Self::LINEAR {
            let mut large = HashSet::with_capacity_and_hasher(
                2 * Self::LINEAR,
                foldhash::quality::RandomState::default(),
            );
            large.extend(self.small.drain(..));
            large.insert(name.clone());
            self.large = Some(large);
        } else {
            if self.small.is_empty() {
                self.small.reserve(Self::LINEAR / 2);
            }
            self.small.push(name.clone());
        }
        true
    }
}

/// Reads a member name, borrowed from the document when it has no escapes.
struct NameSeed;

impl<'de> DeserializeSeed<'de> for NameSeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for NameSeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(value))
    }
}

/// Checks a value by the same rules as [`StrictValue`] without building it.
#[derive(Clone, Copy)]
struct Skip<'f>(Ctx<'f>);

impl<'de> DeserializeSeed<'de> for Skip<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// Implements the visitor methods of a seed whose non-string values are
/// only checked: numbers, booleans and null map to `$other`, arrays and
/// objects are walked by [`Skip`] rules first.
macro_rules! checked_non_strings {
    ($other:expr) => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($other)
        }

        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($other)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            Skip(self.0).visit_seq(seq).map(|()| $other)
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            Skip(self.0).visit_map(map).map(|()| $other)
        }
    };
}

impl<'de> Visitor<'de> for Skip<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<(), E> {
        self.0.finite(value).map(|_| ())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = Skip(self.0.nested()?);
        while seq.next_element_seed(inner)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let inner = Skip(self.0.nested()?);
        let mut names = Names::new();
        while let Some(name) = map.next_key_seed(NameSeed)? {
            if !names.insert(&name) {
                return Err(self.0.fail(MalformedReason::DuplicateMember));
            }
            map.next_value_seed(inner)?;
        }
        Ok(())
    }
}

/// Reads a value as a [`Field`].
#[derive(Clone, Copy)]
pub(crate) struct FieldSeed<'f>(pub(crate) Ctx<'f>);

impl<'de> DeserializeSeed<'de> for FieldSeed<'_> {
    type Value = Field;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Field, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FieldSeed<'_> {
    type Value = Field;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_i64<E>(self, value: i64) -> Result<Field, E> {
        Ok(Field::Num(value as f64))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Field, E> {
        Ok(Field::Num(value as f64))
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<Field, E> {
        self.0.finite(value).map(Field::Num)
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Field, E> {
        Ok(Field::Str(self.0.borrowed(value)))
    }

    fn visit_str<E>(self, value: &str) -> Result<Field, E> {
        Ok(Field::Str(Text::Owned(value.into())))
    }

    checked_non_strings!(Field::Other);
}

/// Reads an array item: its text when it is a string.
#[derive(Clone, Copy)]
struct ItemSeed<'f>(Ctx<'f>);

impl<'de> DeserializeSeed<'de> for ItemSeed<'_> {
    type Value = Option<Text>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ItemSeed<'_> {
    type Value = Option<Text>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<Self::Value, E> {
        self.0.finite(value).map(|_| None)
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Some(self.0.borrowed(value)))
    }

    fn visit_str<E>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Some(Text::Owned(value.into())))
    }

    checked_non_strings!(None);
}

/// Reads a value as a [`List`].
#[derive(Clone, Copy)]
pub(crate) struct ListSeed<'f>(pub(crate) Ctx<'f>);

impl<'de> DeserializeSeed<'de> for ListSeed<'_> {
    type Value = List;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<List, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_> {
    type Value = List;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_i64<E>(self, _: i64) -> Result<List, E> {
        Ok(List::Other)
    }

    fn visit_u64<E>(self, _: u64) -> Result<List, E> {
        Ok(List::Other)
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<List, E> {
        self.0.finite(value).map(|_| List::Other)
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<List, E> {
        Ok(List::Str(self.0.borrowed(value)))
    }

    fn visit_str<E>(self, value: &str) -> Result<List, E> {
        Ok(List::Str(Text::Owned(value.into())))
    }

    fn visit_bool<E>(self, _: bool) -> Result<List, E> {
        Ok(List::Other)
    }

    fn visit_unit<E>(self) -> Result<List, E> {
        Ok(List::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List, A::Error> {
        let inner = ItemSeed(self.0.nested()?);
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(inner)? {
            items.push(item);
        }
        Ok(List::Items(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<List, A::Error> {
        Skip(self.0).visit_map(map).map(|()| List::Other)
    }
}

/// The members of a top-level object that a caller wants typed; every
/// other member is checked and dropped.
pub(crate) trait Members<'de>: Default {
    /// Reads the value of member `name` from `map` (exactly one
    /// `next_value_seed` call). `ctx` is the depth of the member values.
    fn member<A: MapAccess<'de>>(
        &mut self,
        name: &str,
        ctx: Ctx<'_>,
        map: &mut A,
    ) -> Result<(), A::Error>;
}

/// Checks `map` by [`Skip`] rules and hands each member to `members`.
pub(crate) fn visit_members<'de, A: MapAccess<'de>>(
    ctx: Ctx<'_>,
    mut map: A,
    mut member: impl FnMut(&str, Ctx<'_>, &mut A) -> Result<(), A::Error>,
) -> Result<(), A::Error> {
    let inner = ctx.nested()?;
    let mut names = Names::new();
    while let Some(name) = map.next_key_seed(NameSeed)? {
        if !names.insert(&name) {
            return Err(ctx.fail(MalformedReason::DuplicateMember));
        }
        member(&name, inner, &mut map)?;
    }
    Ok(())
}

/// Skips the value of the current member by [`Skip`] rules.
pub(crate) fn skip_value<'de, A: MapAccess<'de>>(
    ctx: Ctx<'_>,
    map: &mut A,
) -> Result<(), A::Error> {
    map.next_value_seed(Skip(ctx))
}

/// Reads the current member's value as the `roles` of an object such as
/// Keycloak's `realm_access`: `None` when the value is not an object or has
/// no `roles`.
pub(crate) fn roles_of<'de, A: MapAccess<'de>>(
    ctx: Ctx<'_>,
    map: &mut A,
) -> Result<Option<List>, A::Error> {
    map.next_value_seed(RolesSeed(ctx))
}

#[derive(Clone, Copy)]
struct RolesSeed<'f>(Ctx<'f>);

impl<'de> DeserializeSeed<'de> for RolesSeed<'_> {
    type Value = Option<List>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RolesSeed<'_> {
    type Value = Option<List>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<Self::Value, E> {
        self.0.finite(value).map(|_| None)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Skip(self.0).visit_seq(seq).map(|()| None)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let mut roles = None;
        visit_members(self.0, map, |name, ctx, map| {
            if name == "roles" {
                roles = Some(map.next_value_seed(ListSeed(ctx))?);
                Ok(())
            } else {
                skip_value(ctx, map)
            }
        })?;
        Ok(roles)
    }
}

/// Reads the current member's value as an object of objects with `roles`
/// (Keycloak's `resource_access`): `(name, roles)` per member; empty when
/// the value is not an object.
pub(crate) fn roles_by_name<'de, A: MapAccess<'de>>(
    ctx: Ctx<'_>,
    map: &mut A,
) -> Result<Vec<(Text, Option<List>)>, A::Error> {
    map.next_value_seed(RolesByNameSeed(ctx))
}

#[derive(Clone, Copy)]
struct RolesByNameSeed<'f>(Ctx<'f>);

impl<'de> DeserializeSeed<'de> for RolesByNameSeed<'_> {
    type Value = Vec<(Text, Option<List>)>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RolesByNameSeed<'_> {
    type Value = Vec<(Text, Option<List>)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<Self::Value, E> {
        self.0.finite(value).map(|_| Vec::new())
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Skip(self.0).visit_seq(seq).map(|()| Vec::new())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::new();
        let outer = self.0;
        visit_members(outer, map, |name, ctx, map| {
            let roles = roles_of(ctx, map)?;
            // The name is borrowed from the document unless it had escapes.
            entries.push((outer.borrowed(name), roles));
            Ok(())
        })?;
        Ok(entries)
    }
}

/// Turns decoded JSON bytes into text. Invalid UTF-8 gets the reason the
/// value parser gives, which may name an earlier problem.
pub(crate) fn into_text(bytes: Vec<u8>) -> Result<String, MalformedReason> {
    String::from_utf8(bytes).map_err(|error| {
        parse_value(error.as_bytes())
            .err()
            .unwrap_or(MalformedReason::Json)
    })
}

/// Builds the map of a document that [`parse_members`] accepted, which
/// applies the same rules, so the fallback to an empty map is unreachable.
pub(crate) fn rebuild_object(doc: &str) -> Map<String, Value> {
    parse_object(doc.as_bytes()).unwrap_or_default()
}

/// The top level of a document read into `M`.
struct TopSeed<'f, M>(Ctx<'f>, std::marker::PhantomData<M>);

impl<'de, M: Members<'de>> DeserializeSeed<'de> for TopSeed<'_, M> {
    type Value = Option<M>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, M: Members<'de>> Visitor<'de> for TopSeed<'_, M> {
    type Value = Option<M>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<Self::Value, E> {
        self.0.finite(value).map(|_| None)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Skip(self.0).visit_seq(seq).map(|()| None)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let mut members = M::default();
        visit_members(self.0, map, |name, ctx, map| members.member(name, ctx, map))?;
        Ok(Some(members))
    }
}

/// Reads `doc` as one JSON object by the rules of [`parse_object`], handing
/// its members to `M` in a single pass without building a [`Map`]. Strings
/// in the result refer to `doc` ([`Text::get`]).
pub(crate) fn parse_members<'de, M: Members<'de>>(doc: &'de str) -> Result<M, MalformedReason> {
    let failure = Cell::new(None);
    let ctx = Ctx {
        depth: 0,
        failure: &failure,
        base: doc.as_ptr().addr(),
        len: doc.len(),
    };
    let mut deserializer = serde_json::Deserializer::from_str(doc);
    let members = TopSeed::<M>(ctx, std::marker::PhantomData)
        .deserialize(&mut deserializer)
        .map_err(|_| failure.get().unwrap_or(MalformedReason::Json))?;
    deserializer.end().map_err(|_| MalformedReason::Json)?;
    members.ok_or(MalformedReason::NotAnObject)
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

    /// Reads every member as a [`Field`], so the typed pass visits strings,
    /// numbers and nested values the way the validator's readers do.
    #[derive(Default)]
    struct AllFields(Vec<(String, Field)>);

    impl<'de> Members<'de> for AllFields {
        fn member<A: MapAccess<'de>>(
            &mut self,
            name: &str,
            ctx: Ctx<'_>,
            map: &mut A,
        ) -> Result<(), A::Error> {
            let field = map.next_value_seed(FieldSeed(ctx))?;
            self.0.push((name.to_owned(), field));
            Ok(())
        }
    }

    fn typed(doc: &str) -> Result<AllFields, MalformedReason> {
        parse_members(doc)
    }

    #[test]
    fn typed_pass_matches_map_on_samples() {
        for doc in [
            r#"{"a":"x","b":1,"c":[1,{"d":2}],"e":"\u0041","f":null}"#,
            r#"{"a":1,"a":2}"#,
            r#"{"a":{"b":1,"b":2}}"#,
            r#"{"a":"x","\u0061":"y"}"#,
            r#"[{"a":1,"a":2}]"#,
            r"[]",
            r"{} x",
            r#"{"a":1e400}"#,
        ] {
            let reference = parse_object(doc.as_bytes()).map(|_| ());
            assert_eq!(typed(doc).map(|_| ()), reference, "{doc}");
        }
        let fields = typed(r#"{"s":"a\"b","n":-2.5,"o":[1]}"#).unwrap().0;
        let doc = r#"{"s":"a\"b","n":-2.5,"o":[1]}"#;
        assert!(matches!(&fields[0].1, Field::Str(text) if text.get(doc) == "a\"b"));
        assert!(matches!(fields[1].1, Field::Num(n) if (n + 2.5).abs() < f64::EPSILON));
        assert!(matches!(fields[2].1, Field::Other));
    }

    proptest::proptest! {
        /// The single typed pass accepts and rejects exactly what the
        /// map-building parser does, with the same reason, and reads the
        /// same strings and numbers.
        #[test]
        fn typed_pass_agrees_with_map_parser(doc in r#"\{("[a-c\\u0-9]{0,3}":([0-9.eE+-]{1,4}|"[a-c\\u0-9"]{0,4}"|\[[0-9,\[\]{}"a:]{0,8}\]|\{[a-c"0-9:,{}]{0,10}\}|true|null),?){0,5}\}[ x]?"#) {
            let reference = parse_object(doc.as_bytes());
            let fields = typed(&doc);
            proptest::prop_assert_eq!(fields.as_ref().map(|_| ()).map_err(|e| *e), reference.as_ref().map(|_| ()).map_err(|e| *e));
            if let (Ok(fields), Ok(map)) = (fields, reference) {
                for (name, field) in &fields.0 {
                    let value = &map[name];
                    match field {
                        Field::Str(text) => proptest::prop_assert_eq!(Some(text.get(&doc)), value.as_str()),
                        Field::Num(n) => proptest::prop_assert_eq!(Some(*n), value.as_f64()),
                        Field::Other => proptest::prop_assert!(!value.is_string() && !value.is_number()),
                    }
                }
            }
        }
    }
}
