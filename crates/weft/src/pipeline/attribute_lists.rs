//! Field lists that go back from the export thread to the application's threads, empty,
//! to be filled again.
//!
//! A macro's span or log carries its fields to the export thread in a list allocated on
//! the thread that made it. Freed on the export thread, each list would go back to the
//! allocator of another thread, which then takes its lock on both sides for every span
//! (glibc's per-thread caches hold only a few blocks). So the export thread, once it has
//! moved the fields out, hands the empty list back, 64 at a time, and the next span
//! fills it. Short strings travel inline ([`FieldValue`](crate::value::FieldValue)), so
//! most fields allocate nothing on the recording thread. Bounded: lists longer than
//! [`MAX_KEPT_CAPACITY`] are freed, and no more than [`MAX_CHUNKS_WAITING`] chunks wait.

use crate::value::Field;
use crossbeam_channel::{Receiver, Sender};
use std::cell::RefCell;
use std::sync::LazyLock;

/// Lists handed back together: one channel operation per this many spans.
const CHUNK: usize = 64;

/// Chunks waiting to be taken; beyond this the export thread frees the lists itself.
const MAX_CHUNKS_WAITING: usize = 32;

/// Longer lists are not kept: few spans have so many attributes.
const MAX_KEPT_CAPACITY: usize = 16;

type Chunk = Vec<Vec<Field>>;

static RETURNED: LazyLock<(Sender<Chunk>, Receiver<Chunk>)> =
    LazyLock::new(|| crossbeam_channel::bounded(MAX_CHUNKS_WAITING));

thread_local! {
    /// This thread's returned lists, taken a chunk at a time.
    static SPARE: RefCell<Chunk> = const { RefCell::new(Vec::new()) };
}

/// A list holding `fields`: a returned one when there is one, else a new one.
#[inline]
pub(crate) fn list_of<const N: usize>(fields: [Field; N]) -> Vec<Field> {
    if N == 0 {
        return Vec::new();
    }
    let spare = SPARE
        .try_with(|spare| Some(take_spare(&mut *spare.try_borrow_mut().ok()?, &RETURNED.1)))
        .ok()
        .flatten()
        .flatten();
    let mut list = spare.unwrap_or_default();
    list.extend(fields);
    list
}

/// One of `spare`, refilled from `returned` when empty.
fn take_spare(spare: &mut Chunk, returned: &Receiver<Chunk>) -> Option<Vec<Field>> {
    if spare.is_empty() {
        *spare = returned.try_recv().ok()?;
    }
    spare.pop()
}

/// The export thread's side: collects finished lists and hands them back in chunks.
pub(crate) struct Returns {
    chunk: Chunk,
    to: Sender<Chunk>,
}

impl Default for Returns {
    fn default() -> Returns {
        Returns {
            chunk: Vec::new(),
            to: RETURNED.0.clone(),
        }
    }
}

impl Returns {
    /// Hands `list` back, emptied (or frees it, when it is long or enough are waiting).
    pub(crate) fn give(&mut self, mut list: Vec<Field>) {
        if list.capacity() == 0 || list.capacity() > MAX_KEPT_CAPACITY {
            return;
        }
        list.clear();
        if self.chunk.capacity() == 0 {
            self.chunk.reserve_exact(CHUNK);
        }
        self.chunk.push(list);
        if self.chunk.len() == CHUNK {
            // Full channel: the application's threads have enough; these are freed here.
            let _ = self.to.try_send(std::mem::take(&mut self.chunk));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{FieldValue, Value};
    use std::borrow::Cow;

    fn field(n: i64) -> Field {
        (Cow::Borrowed("n"), FieldValue::Value(Value::I64(n)))
    }

    #[test]
    fn lists_go_back_empty_a_chunk_at_a_time_and_long_ones_are_freed() {
        let (to, from) = crossbeam_channel::bounded(MAX_CHUNKS_WAITING);
        let mut returns = Returns {
            chunk: Vec::new(),
            to,
        };
        let mut given = Vec::new();
        for i in 0..CHUNK {
            let list = vec![field(i as i64), field(0)];
            given.push(list.as_ptr() as usize);
            returns.give(list);
            assert_eq!(
                from.len(),
                usize::from(i + 1 == CHUNK),
                "sent only when full"
            );
        }
        returns.give(Vec::with_capacity(MAX_KEPT_CAPACITY + 1));
        assert!(returns.chunk.is_empty(), "a long list is not kept");
        let mut spare = Vec::new();
        for _ in 0..CHUNK {
            let list = take_spare(&mut spare, &from).unwrap_or_default();
            assert!(
                list.is_empty() && list.capacity() >= 2,
                "an empty list, to fill"
            );
            assert!(
                given.contains(&(list.as_ptr() as usize)),
                "a given list comes back"
            );
        }
        assert!(
            take_spare(&mut spare, &from).is_none(),
            "no more than were given"
        );
    }

    #[test]
    fn a_list_holds_exactly_its_fields() {
        let mut returns = Returns::default();
        for _ in 0..CHUNK * 2 {
            returns.give(vec![field(9), field(9), field(9)]);
        }
        assert_eq!(list_of([field(1), field(2)]), vec![field(1), field(2)]);
        assert!(
            list_of::<0>([]).capacity() == 0,
            "no fields: nothing allocated"
        );
    }
}
