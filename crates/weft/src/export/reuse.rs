//! Memory the export thread reuses from one batch to the next: the attribute lists of
//! exported records and the strings made from short field values.
//!
//! Every record the export thread builds needs a list of attributes, and each short
//! string field (kept inline on its way here) becomes a `String`. Allocated and freed
//! per record, that is a few allocator calls per span, past what glibc's per-thread
//! cache holds for a batch of hundreds; this thread is then the one falling behind.
//! Kept here instead, emptied, within bounds: at most [`MAX_LISTS`] lists of up to
//! [`MAX_LIST_CAPACITY`] attributes and [`MAX_STRINGS`] strings of up to
//! [`MAX_STRING_CAPACITY`] bytes.

use crate::pipeline::returned::{LATE, LISTS, Returns, SITES};
use crate::pipeline::started::OwnedSite;
use crate::record::{Attribute, LateFields};
use crate::value::{Field, FieldValue, Value};
use std::borrow::Cow;

const MAX_LISTS: usize = 4096;
const MAX_LIST_CAPACITY: usize = 16;
const MAX_STRINGS: usize = 8192;
const MAX_STRING_CAPACITY: usize = 64;

/// The export thread's spare lists and strings, and what goes back to the
/// application's threads.
pub(crate) struct Reuse {
    lists: Vec<Vec<Attribute>>,
    strings: Vec<String>,
    field_lists: Returns<Vec<Field>>,
    pub(crate) sites: Returns<Box<OwnedSite>>,
    late: Returns<Box<LateFields>>,
}

impl Default for Reuse {
    fn default() -> Reuse {
        Reuse {
            lists: Vec::new(),
            strings: Vec::new(),
            field_lists: Returns::to(&LISTS),
            sites: Returns::to(&SITES),
            late: Returns::to(&LATE),
        }
    }
}

impl Reuse {
    /// The attributes exporters see, from a span's fields; the emptied field list goes
    /// back to be filled again.
    pub(crate) fn attributes_of(&mut self, mut fields: Vec<Field>) -> Vec<Attribute> {
        let mut out = self.lists.pop().unwrap_or_default();
        out.reserve(fields.len());
        for (key, value) in fields.drain(..) {
            let value = match value {
                FieldValue::Value(v) => v,
                FieldValue::Short(short) => {
                    let mut s = self.strings.pop().unwrap_or_default();
                    s.push_str(short.as_str());
                    Value::Str(Cow::Owned(s))
                }
            };
            out.push((key, value));
        }
        self.field_lists.give_list(fields);
        out
    }

    /// Applies a span's late fields to its record and hands their box back.
    pub(crate) fn apply_late(
        &mut self,
        mut late: Box<LateFields>,
        record: &mut crate::record::SpanRecord,
    ) {
        late.move_into(record);
        if late.fits_for_reuse() {
            self.late.give(late);
        }
    }

    /// Takes back an exported record's attributes.
    pub(crate) fn recycle(&mut self, mut attributes: Vec<Attribute>) {
        for (_, value) in attributes.drain(..) {
            if let Value::Str(Cow::Owned(mut s)) = value {
                if self.strings.len() < MAX_STRINGS && s.capacity() <= MAX_STRING_CAPACITY {
                    s.clear();
                    self.strings.push(s);
                }
            }
        }
        if self.lists.len() < MAX_LISTS && (1..=MAX_LIST_CAPACITY).contains(&attributes.capacity())
        {
            self.lists.push(attributes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::ShortText;

    #[test]
    fn attributes_come_out_equal_and_their_memory_is_reused_within_bounds() {
        let mut reuse = Reuse::default();
        let field = |v: &str| (Cow::Borrowed("k"), FieldValue::from_serialize(v));
        let first = reuse.attributes_of(vec![field("ada"), field("lovelace")]);
        assert_eq!(
            first,
            vec![
                (Cow::Borrowed("k"), Value::Str("ada".into())),
                (Cow::Borrowed("k"), Value::Str("lovelace".into())),
            ]
        );
        let list = first.as_ptr() as usize;
        reuse.recycle(first);
        assert_eq!((reuse.lists.len(), reuse.strings.len()), (1, 2));
        let again = reuse.attributes_of(vec![field("x")]);
        assert_eq!(again.as_ptr() as usize, list, "the list is reused");
        assert_eq!(again[0].1, Value::Str("x".into()));
        assert_eq!(reuse.strings.len(), 1, "a string is reused");

        let long = "y".repeat(MAX_STRING_CAPACITY + 1);
        assert!(long.len() > ShortText::CAPACITY);
        reuse.recycle(vec![(Cow::Borrowed("k"), Value::Str(long.into()))]);
        assert_eq!(reuse.strings.len(), 1, "long strings are freed");
        reuse.recycle(Vec::with_capacity(MAX_LIST_CAPACITY + 1));
        assert_eq!(reuse.lists.len(), 1, "long lists are freed");
        for _ in 0..MAX_LISTS + 10 {
            reuse.recycle(Vec::with_capacity(1));
        }
        assert_eq!(reuse.lists.len(), MAX_LISTS, "at most MAX_LISTS are kept");
    }
}
