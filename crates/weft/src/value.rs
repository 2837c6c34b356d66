//! Attribute values: what `span!` fields and `Span::set_attribute` turn user data into.
//!
//! Scalars stay scalars (so backends can filter on them); integers beyond `i64` become
//! strings (OTLP has no wider integer); lists, maps and structs become compact JSON
//! strings, as the Logfire SDKs do, and remember their JSON kind so the exporter can
//! write `logfire.json_schema`.

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
        match value.serialize(ScalarSerializer) {
            Ok(v) => v,
            Err(NotScalar) => match serde_json::to_string(value) {
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
            },
        }
    }

    /// Heap bytes the value holds.
    pub(crate) fn owned_bytes(&self) -> usize {
        match self {
            Value::Str(Cow::Owned(s)) | Value::Json(s, _) => s.capacity(),
            _ => 0,
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

/// Serializes scalars straight into a [`Value`], refusing compound values so they can
/// be written as JSON text in one pass.
struct ScalarSerializer;

fn wide<T: ToString>(v: &T) -> Value {
    Value::Str(Cow::Owned(v.to_string()))
}

impl ser::Serializer for ScalarSerializer {
    type Ok = Value;
    type Error = NotScalar;
    type SerializeSeq = Impossible<Value, NotScalar>;
    type SerializeTuple = Impossible<Value, NotScalar>;
    type SerializeTupleStruct = Impossible<Value, NotScalar>;
    type SerializeTupleVariant = Impossible<Value, NotScalar>;
    type SerializeMap = Impossible<Value, NotScalar>;
    type SerializeStruct = Impossible<Value, NotScalar>;
    type SerializeStructVariant = Impossible<Value, NotScalar>;

    fn serialize_bool(self, v: bool) -> Result<Value, NotScalar> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, NotScalar> {
        Ok(Value::I64(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, NotScalar> {
        Ok(Value::I64(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, NotScalar> {
        Ok(Value::I64(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, NotScalar> {
        Ok(Value::I64(v))
    }
    fn serialize_i128(self, v: i128) -> Result<Value, NotScalar> {
        Ok(i64::try_from(v).map_or_else(|_| wide(&v), Value::I64))
    }
    fn serialize_u8(self, v: u8) -> Result<Value, NotScalar> {
        Ok(Value::I64(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, NotScalar> {
        Ok(Value::I64(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, NotScalar> {
        Ok(Value::I64(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, NotScalar> {
        Ok(Value::from(v))
    }
    fn serialize_u128(self, v: u128) -> Result<Value, NotScalar> {
        Ok(i64::try_from(v).map_or_else(|_| wide(&v), Value::I64))
    }
    fn serialize_f32(self, v: f32) -> Result<Value, NotScalar> {
        Ok(Value::F64(v.into()))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, NotScalar> {
        Ok(Value::F64(v))
    }
    fn serialize_char(self, v: char) -> Result<Value, NotScalar> {
        Ok(Value::Str(Cow::Owned(v.to_string())))
    }
    fn serialize_str(self, v: &str) -> Result<Value, NotScalar> {
        Ok(Value::Str(Cow::Owned(v.to_owned())))
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<Value, NotScalar> {
        Err(NotScalar)
    }
    fn serialize_none(self) -> Result<Value, NotScalar> {
        Ok(Value::Json("null".to_owned(), JsonKind::Null))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, NotScalar> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, NotScalar> {
        Ok(Value::Json("null".to_owned(), JsonKind::Null))
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, NotScalar> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, NotScalar> {
        Ok(Value::Str(Cow::Borrowed(variant)))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Value, NotScalar> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<Value, NotScalar> {
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
