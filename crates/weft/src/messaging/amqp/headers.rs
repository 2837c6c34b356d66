//! [`Carrier`] to and from AMQP header tables.
//!
//! weft writes each propagation header as an AMQP long string (`S`), as Python's
//! `py-amqp` (Celery, kombu) and the Java and .NET clients do for strings, and reads
//! long and short strings; any other value type is not a W3C header and is skipped.

use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use opentelemetry::propagation::Injector;
use weft_context::propagation::{Carrier, FIELDS};

/// A header table to inject into: `inject_into(&mut AmqpHeaders(&mut table))`.
/// Names are written lowercase; a name over 255 bytes (never a W3C one) is skipped.
#[derive(Debug)]
pub struct AmqpHeaders<'a>(pub &'a mut FieldTable);

impl Injector for AmqpHeaders<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let Ok(name) = ShortString::try_new(key.to_ascii_lowercase()) {
            self.0
                .insert(name, AMQPValue::LongString(LongString::from(value)));
        }
    }
}

/// The propagation headers (`traceparent`, `tracestate`, `baggage`) of a table,
/// whatever their case. Values that are not UTF-8 strings are left out, so an invalid
/// message extracts as if it carried no context.
pub fn carrier_from_headers(table: &FieldTable) -> Carrier {
    let mut carrier = Carrier::new();
    // In W3C order (`traceparent`, `tracestate`, `baggage`), whatever the table's.
    for field in FIELDS {
        let value = table.inner().get(field).or_else(|| {
            table
                .into_iter()
                .find(|(name, _)| name.as_str().eq_ignore_ascii_case(field))
                .map(|(_, value)| value)
        });
        if let Some(text) = value.and_then(string_value) {
            carrier.insert(field, text);
        }
    }
    carrier
}

/// A header table holding every entry of `carrier`, as long strings.
pub fn headers_from_carrier(carrier: &Carrier) -> FieldTable {
    let mut table = FieldTable::default();
    let mut headers = AmqpHeaders(&mut table);
    for (name, value) in carrier {
        headers.set(name, value.to_owned());
    }
    table
}

/// A string header value, if it is one.
pub(crate) fn string_value(value: &AMQPValue) -> Option<String> {
    match value {
        AMQPValue::LongString(s) => std::str::from_utf8(s.as_bytes()).ok().map(str::to_owned),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

/// A string header by exact name.
pub(crate) fn string_header(table: &FieldTable, name: &str) -> Option<String> {
    table.inner().get(name).and_then(string_value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_odd_values() {
        let mut carrier = Carrier::new();
        carrier.insert(
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        );
        carrier.insert("baggage", "k=v");
        let mut table = headers_from_carrier(&carrier);
        assert_eq!(carrier_from_headers(&table), carrier);
        table.insert("TraceState".into(), AMQPValue::ShortString("a=b".into()));
        table.insert("other".into(), AMQPValue::LongString("x".into()));
        assert_eq!(carrier_from_headers(&table).get("tracestate"), Some("a=b"));
        assert_eq!(carrier_from_headers(&table).len(), 3);
        table.insert("traceparent".into(), AMQPValue::LongLongInt(7));
        table.insert(
            "baggage".into(),
            AMQPValue::LongString(vec![0xff, 0xfe].into()),
        );
        assert_eq!(
            carrier_from_headers(&table).len(),
            1,
            "non-strings are skipped"
        );
    }
}
