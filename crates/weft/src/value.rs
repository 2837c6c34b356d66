//! Attribute values: what `span!` fields and `Span::set_attribute` turn user data into.
//!
//! Scalars stay scalars (so backends can filter on them); integers beyond `i64` become
//! strings (OTLP has no wider integer); lists, maps and structs become compact JSON
//! strings, as the Logfire SDKs do, and remember their JSON kind so the exporter can
//! write `logfire.json_schema`.

use crate::record::Attribute;
use serde::Serialize;
use serde::ser::{self, Impossible};
use std::borrow::Cow;
use std::fmt;

/// The JSON kind of a value stored as JSON text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonKind {
    /// A JSON array.
    Array,
    /// A JSON object.
    Object,
    /// JSON `null` (from `None` or `()`).
    Null,
}

/// One attribute value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A boolean.
    Bool(bool),
    /// A signed integer that fits in 64 bits.
    I64(i64),
    /// A float.
    F64(f64),
    /// A string (also integers too wide for `i64`).
    Str(Cow<'static, str>),
    /// A list, map or null, as compact JSON text.
    Json(String, JsonKind),
}

impl Value {
    /// Converts any `Serialize` value: scalars natively, everything else as JSON.
    pub fn from_serialize<T: Serialize + ?Sized>(value: &T) -> Value {
        match value.serialize(ScalarSerializer::<Value>::new()) {
            Ok(v) => v,
            Err(NotScalar) => Value::from_json(value),
        }
    }

    /// A compound value as compact JSON text.
    fn from_json<T: Serialize + ?Sized>(value: &T) -> Value {
        match serde_json::to_string(value) {
            Ok(text) => {
                let kind = match text.as_bytes().first() {
                    Some(b'[') => JsonKind::Array,
                    Some(b'n') => JsonKind::Null,
                    _ => JsonKind::Object,
                };
                Value::Json(text, kind)
            }
            // A Serialize impl that fails (e.g. a map with non-string keys) still
            // leaves a trace of what happened instead of losing the attribute.
            Err(e) => Value::Str(Cow::Owned(format!("<unserializable: {e}>"))),
        }
    }

    /// The text a message template shows for this value.
    pub(crate) fn write_display(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = match self {
            Value::Bool(b) => write!(out, "{b}"),
            Value::I64(i) => write!(out, "{i}"),
            Value::F64(f) => write!(out, "{f}"),
            Value::Str(s) => {
                out.push_str(s);
                Ok(())
            }
            Value::Json(s, _) => {
                out.push_str(s);
                Ok(())
            }
        };
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.write_display(&mut s);
        f.write_str(&s)
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Value { Value::I64(i64::from(v)) }
        }
    )*};
}
from_int!(i8, i16, i32, i64, u8, u16, u32);

impl From<u64> for Value {
    fn from(v: u64) -> Value {
        i64::try_from(v).map_or_else(|_| Value::Str(Cow::Owned(v.to_string())), Value::I64)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::F64(v)
    }
}
impl From<&'static str> for Value {
    fn from(v: &'static str) -> Value {
        Value::Str(Cow::Borrowed(v))
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Str(Cow::Owned(v))
    }
}

/// A macro field: its key and value. Not a stable API.
#[doc(hidden)]
pub type Field = (Cow<'static, str>, FieldValue);

/// A field's value as a macro's span or log carries it to the export thread: a short
/// string is kept inline, so the thread that records it allocates nothing for it (the
/// export thread makes the [`Value`]). Not a stable API: use the macros.
#[doc(hidden)]
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue {
    /// Anything but a short string.
    Value(Value),
    /// A string of at most [`ShortText::CAPACITY`] bytes.
    Short(ShortText),
}

impl FieldValue {
    /// Converts any `Serialize` value, as [`Value::from_serialize`] does.
    #[inline]
    pub fn from_serialize<T: Serialize + ?Sized>(value: &T) -> FieldValue {
        match value.serialize(ScalarSerializer::<FieldValue>::new()) {
            Ok(v) => v,
            Err(NotScalar) => FieldValue::Value(Value::from_json(value)),
        }
    }

    /// The [`Value`] exporters see (the export thread makes it with reused memory:
    /// `export::reuse`; this is for the few other places).
    pub(crate) fn into_value(self) -> Value {
        match self {
            FieldValue::Value(v) => v,
            FieldValue::Short(s) => Value::Str(Cow::Owned(s.as_str().to_owned())),
        }
    }
}

impl From<Value> for FieldValue {
    fn from(v: Value) -> FieldValue {
        FieldValue::Value(v)
    }
}

/// A short string stored inline. Not a stable API.
#[doc(hidden)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ShortText {
    len: u8,
    bytes: [u8; ShortText::CAPACITY],
}

impl ShortText {
    /// The longest string kept inline, in bytes: what fits beside the tag in the
    /// space a [`Value`] takes.
    pub const CAPACITY: usize = 22;

    fn new(s: &str) -> Option<ShortText> {
        let len = u8::try_from(s.len())
            .ok()
            .filter(|&n| usize::from(n) <= Self::CAPACITY)?;
        let mut bytes = [0; Self::CAPACITY];
        bytes[..s.len()].copy_from_slice(s.as_bytes());
        Some(ShortText { len, bytes })
    }

    pub(crate) fn as_str(&self) -> &str {
        // Always whole: the bytes were copied from a `str`.
        let bytes = self.bytes.get(..usize::from(self.len)).unwrap_or_default();
        std::str::from_utf8(bytes).unwrap_or_default()
    }
}

impl fmt::Debug for ShortText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Public attributes as fields, in the same allocation. A short owned string becomes
/// inline text, its `String` freed here, on the thread that allocated it.
pub(crate) fn fields_of(attributes: Vec<Attribute>) -> Vec<Field> {
    attributes
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                Value::Str(Cow::Owned(s)) => FieldValue::from_string(s),
                v => FieldValue::Value(v),
            };
            (k, v)
        })
        .collect()
}

/// The value was not a scalar; the caller falls back to JSON.
#[derive(Debug)]
struct NotScalar;

impl fmt::Display for NotScalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a scalar")
    }
}
impl std::error::Error for NotScalar {}
impl ser::Error for NotScalar {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        NotScalar
    }
}

/// What [`ScalarSerializer`] makes: a [`Value`], or a macro field's value.
trait Scalar: From<Value> {
    /// A string of the serialized value (which cannot be kept: it is borrowed).
    fn from_str(v: &str) -> Self;
}

impl Scalar for Value {
    fn from_str(v: &str) -> Value {
        Value::Str(Cow::Owned(v.to_owned()))
    }
}

impl Scalar for FieldValue {
    #[inline]
    fn from_str(v: &str) -> FieldValue {
        FieldValue::from_str(v)
    }
}

impl FieldValue {
    /// An owned string: inline when short (freeing it here), else kept as it is.
    pub(crate) fn from_string(s: String) -> FieldValue {
        match ShortText::new(&s) {
            Some(short) => FieldValue::Short(short),
            None => FieldValue::Value(Value::Str(Cow::Owned(s))),
        }
    }

    /// A string: inline when short, else owned.
    #[inline]
    pub(crate) fn from_str(v: &str) -> FieldValue {
        match ShortText::new(v) {
            Some(short) => FieldValue::Short(short),
            None => FieldValue::Value(Value::from_str(v)),
        }
    }
}

/// Serializes scalars straight into a [`Value`] (or a [`FieldValue`]), refusing
/// compound values so they can be written as JSON text in one pass.
struct ScalarSerializer<O>(std::marker::PhantomData<O>);

impl<O> ScalarSerializer<O> {
    fn new() -> Self {
        ScalarSerializer(std::marker::PhantomData)
    }
}

fn wide<T: ToString>(v: &T) -> Value {
    Value::Str(Cow::Owned(v.to_string()))
}

impl<O: Scalar> ser::Serializer for ScalarSerializer<O> {
    type Ok = O;
    type Error = NotScalar;
    type SerializeSeq = Impossible<O, NotScalar>;
    type SerializeTuple = Impossible<O, NotScalar>;
    type SerializeTupleStruct = Impossible<O, NotScalar>;
    type SerializeTupleVariant = Impossible<O, NotScalar>;
    type SerializeMap = Impossible<O, NotScalar>;
    type SerializeStruct = Impossible<O, NotScalar>;
    type SerializeStructVariant = Impossible<O, NotScalar>;

    fn serialize_bool(self, v: bool) -> Result<O, NotScalar> {
        Ok(Value::Bool(v).into())
    }
    fn serialize_i8(self, v: i8) -> Result<O, NotScalar> {
        Ok(Value::I64(v.into()).into())
    }
    fn serialize_i16(self, v: i16) -> Result<O, NotScalar> {
        Ok(Value::I64(v.into()).into())
    }
    fn serialize_i32(self, v: i32) -> Result<O, NotScalar> {
        Ok(Value::I64(v.into()).into())
    }
    fn serialize_i64(self, v: i64) -> Result<O, NotScalar> {
        Ok(Value::I64(v).into())
    }
    fn serialize_i128(self, v: i128) -> Result<O, NotScalar> {
        Ok(i64::try_from(v)
            .map_or_else(|_| wide(&v), Value::I64)
            .into())
    }
    fn serialize_u8(self, v: u8) -> Result<O, NotScalar> {
        Ok(Value::I64(v.into()).into())
    }
    fn serialize_u16(self, v: u16) -> Result<O, NotScalar> {
        Ok(Value::I64(v.into()).into())
    }
    fn serialize_u32(self, v: u32) -> Result<O, NotScalar> {
        Ok(Value::I64(v.into()).into())
    }
    fn serialize_u64(self, v: u64) -> Result<O, NotScalar> {
        Ok(Value::from(v).into())
    }
    fn serialize_u128(self, v: u128) -> Result<O, NotScalar> {
        Ok(i64::try_from(v)
            .map_or_else(|_| wide(&v), Value::I64)
            .into())
    }
    fn serialize_f32(self, v: f32) -> Result<O, NotScalar> {
        Ok(Value::F64(v.into()).into())
    }
    fn serialize_f64(self, v: f64) -> Result<O, NotScalar> {
        Ok(Value::F64(v).into())
    }
    fn serialize_char(self, v: char) -> Result<O, NotScalar> {
        Ok(Value::Str(Cow::Owned(v.to_string())).into())
    }
    fn serialize_str(self, v: &str) -> Result<O, NotScalar> {
        Ok(O::from_str(v))
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<O, NotScalar> {
        Err(NotScalar)
    }
    fn serialize_none(self) -> Result<O, NotScalar> {
        Ok(Value::Json("null".to_owned(), JsonKind::Null).into())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<O, NotScalar> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<O, NotScalar> {
        Ok(Value::Json("null".to_owned(), JsonKind::Null).into())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<O, NotScalar> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<O, NotScalar> {
        Ok(Value::Str(Cow::Borrowed(variant)).into())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<O, NotScalar> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<O, NotScalar> {
        Err(NotScalar)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, NotScalar> {
        Err(NotScalar)
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, NotScalar> {
        Err(NotScalar)
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, NotScalar> {
        Err(NotScalar)
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, NotScalar> {
        Err(NotScalar)
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, NotScalar> {
        Err(NotScalar)
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, NotScalar> {
        Err(NotScalar)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, NotScalar> {
        Err(NotScalar)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn attributes_become_fields_in_place_with_short_owned_strings_inline() {
        let long = "z".repeat(ShortText::CAPACITY + 1);
        let attributes: Vec<Attribute> = vec![
            (
                Cow::Borrowed("a"),
                Value::Str(Cow::Owned("short".to_owned())),
            ),
            (Cow::Borrowed("b"), Value::Str(Cow::Owned(long.clone()))),
            (Cow::Borrowed("c"), Value::I64(1)),
        ];
        let buffer = attributes.as_ptr() as usize;
        let fields = fields_of(attributes);
        assert_eq!(fields.as_ptr() as usize, buffer, "the same allocation");
        assert!(matches!(fields[0].1, FieldValue::Short(_)));
        let values: Vec<Value> = fields.into_iter().map(|(_, v)| v.into_value()).collect();
        assert_eq!(
            values,
            [
                Value::Str("short".into()),
                Value::Str(long.into()),
                Value::I64(1)
            ]
        );
    }

    #[test]
    fn a_field_keeps_short_strings_inline_and_gives_the_same_value() {
        let long = "x".repeat(ShortText::CAPACITY + 1);
        let edge = "é".repeat(ShortText::CAPACITY / 2);
        assert!(matches!(
            FieldValue::from_serialize("ada"),
            FieldValue::Short(_)
        ));
        assert!(matches!(
            FieldValue::from_serialize(edge.as_str()),
            FieldValue::Short(_)
        ));
        assert!(matches!(
            FieldValue::from_serialize(long.as_str()),
            FieldValue::Value(_)
        ));
        assert!(std::mem::size_of::<FieldValue>() <= std::mem::size_of::<Value>() + 8);
        let samples: Vec<Box<dyn Fn() -> (Value, FieldValue)>> = vec![
            Box::new(|| (Value::from_serialize(""), FieldValue::from_serialize(""))),
            Box::new(|| {
                (
                    Value::from_serialize("ada"),
                    FieldValue::from_serialize("ada"),
                )
            }),
            Box::new(move || {
                (
                    Value::from_serialize(&edge),
                    FieldValue::from_serialize(&edge),
                )
            }),
            Box::new(move || {
                (
                    Value::from_serialize(&long),
                    FieldValue::from_serialize(&long),
                )
            }),
            Box::new(|| (Value::from_serialize(&3), FieldValue::from_serialize(&3))),
            Box::new(|| {
                (
                    Value::from_serialize(&Some("a")),
                    FieldValue::from_serialize(&Some("a")),
                )
            }),
            Box::new(|| {
                (
                    Value::from_serialize(&[1, 2]),
                    FieldValue::from_serialize(&[1, 2]),
                )
            }),
            Box::new(|| {
                (
                    Value::from_serialize(&'c'),
                    FieldValue::from_serialize(&'c'),
                )
            }),
        ];
        for sample in samples {
            let (value, field) = sample();
            assert_eq!(field.into_value(), value);
        }
    }

    #[rustfmt::skip]
    #[test]
    fn values_follow_logfire_rules() {
        let map: BTreeMap<&str, i32> = [("a", 1)].into_iter().collect();
        let rows: Vec<(Value, Value, &str)> = vec![
            (Value::from_serialize(&3_i32), Value::I64(3), "small ints stay ints"),
            (Value::from_serialize(&u64::MAX), Value::Str("18446744073709551615".into()), "u64 beyond i64 becomes a string"),
            (Value::from_serialize(&(i128::MAX)), Value::Str(i128::MAX.to_string().into()), "i128 beyond i64 becomes a string"),
            (Value::from_serialize(&1.5_f64), Value::F64(1.5), "floats stay floats"),
            (Value::from_serialize("x"), Value::Str("x".into()), "strings stay strings"),
            (Value::from_serialize(&vec![0, 2, 4]), Value::Json("[0,2,4]".into(), JsonKind::Array), "lists are compact JSON"),
            (Value::from_serialize(&map), Value::Json("{\"a\":1}".into(), JsonKind::Object), "maps are compact JSON"),
            (Value::from_serialize(&(1, "a")), Value::Json("[1,\"a\"]".into(), JsonKind::Array), "tuples are arrays"),
            (Value::from_serialize(&Option::<i32>::None), Value::Json("null".into(), JsonKind::Null), "None is null"),
            (Value::from_serialize(&Some(true)), Value::Bool(true), "Some(x) is x"),
        ];
        for (got, want, why) in rows {
            assert_eq!(got, want, "{why}");
        }
    }
}
