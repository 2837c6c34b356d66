//! Attribute lists that go back from the export thread to the application's threads,
//! to be filled again.
//!
//! A span's attributes are allocated on the thread that made it and finished with on
//! the export thread. Freed there, each list (and each string in it) would go back to
//! the allocator of another thread, which then takes its lock on both sides for every
//! span (glibc's per-thread caches hold only a few blocks). So the export thread hands
//! each list back, 64 at a time, still holding its attributes: the thread that fills
//! it again drops them first, freeing their strings where they were allocated.
//! Bounded: lists of more than [`MAX_KEPT_CAPACITY`] attributes are freed, so are the
//! attributes of a list holding more than [`MAX_KEPT_BYTES`] of text, and no more than
//! [`MAX_CHUNKS_WAITING`] chunks wait to be taken.

use crate::record::Attribute;
use crossbeam_channel::{Receiver, Sender};
use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::LazyLock;

/// Lists handed back together: one channel operation per this many spans.
const CHUNK: usize = 64;

/// Chunks waiting to be taken; beyond this the export thread frees the lists itself.
const MAX_CHUNKS_WAITING: usize = 32;

/// Longer lists are not kept: few spans have so many attributes.
const MAX_KEPT_CAPACITY: usize = 16;

/// A list holding more text than this is emptied before it goes back, so the lists
/// waiting hold little memory.
const MAX_KEPT_BYTES: usize = 1024;

type Chunk = Vec<Vec<Attribute>>;

static RETURNED: LazyLock<(Sender<Chunk>, Receiver<Chunk>)> =
    LazyLock::new(|| crossbeam_channel::bounded(MAX_CHUNKS_WAITING));

thread_local! {
    /// This thread's returned lists, taken a chunk at a time.
    static SPARE: RefCell<Chunk> = const { RefCell::new(Vec::new()) };
}

/// A list holding `attributes`: a returned one when there is one, else a new one.
#[inline]
pub(crate) fn list_of<const N: usize>(attributes: [Attribute; N]) -> Vec<Attribute> {
    if N == 0 {
        return Vec::new();
    }
    let spare = SPARE
        .try_with(|spare| Some(take_spare(&mut *spare.try_borrow_mut().ok()?, &RETURNED.1)))
        .ok()
        .flatten()
        .flatten();
    let mut list = spare.unwrap_or_default();
    list.clear();
    list.extend(attributes);
    list
}

/// One of `spare`, refilled from `returned` when empty.
fn take_spare(spare: &mut Chunk, returned: &Receiver<Chunk>) -> Option<Vec<Attribute>> {
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
    /// Hands `list` back (or frees it, when it is long or enough are waiting).
    pub(crate) fn give(&mut self, mut list: Vec<Attribute>) {
        if list.capacity() == 0 || list.capacity() > MAX_KEPT_CAPACITY {
            return;
        }
        if list
            .iter()
            .map(|(k, v)| owned_bytes(k) + v.owned_bytes())
            .sum::<usize>()
            > MAX_KEPT_BYTES
        {
            list.clear();
        }
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

/// Heap bytes a key holds.
#[expect(clippy::ptr_arg, reason = "whether the key is owned is the question")]
fn owned_bytes(key: &Cow<'static, str>) -> usize {
    match key {
        Cow::Borrowed(_) => 0,
        Cow::Owned(s) => s.capacity(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    fn attribute(n: i64) -> Attribute {
        (Cow::Borrowed("n"), Value::I64(n))
    }

    #[test]
    fn lists_go_back_a_chunk_at_a_time_and_long_ones_are_freed() {
        let (to, from) = crossbeam_channel::bounded(MAX_CHUNKS_WAITING);
        let mut returns = Returns {
            chunk: Vec::new(),
            to,
        };
        let mut given = Vec::new();
        for i in 0..CHUNK {
            let list = vec![attribute(i as i64), attribute(0)];
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
        let text = Value::Str(Cow::Owned("x".repeat(MAX_KEPT_BYTES + 1)));
        returns.give(vec![(Cow::Borrowed("big"), text)]);
        assert!(
            returns.chunk[0].is_empty(),
            "a list holding much text goes back empty"
        );
        returns.chunk.clear();
        let mut spare = Vec::new();
        for _ in 0..CHUNK {
            let list = take_spare(&mut spare, &from).unwrap_or_default();
            assert_eq!(
                list.len(),
                2,
                "attributes are dropped where the list is filled"
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
    fn a_list_holds_exactly_its_attributes() {
        let mut returns = Returns::default();
        for _ in 0..CHUNK * 2 {
            returns.give(vec![attribute(9), attribute(9), attribute(9)]);
        }
        assert_eq!(
            list_of([attribute(1), attribute(2)]),
            vec![attribute(1), attribute(2)]
        );
        assert!(
            list_of::<0>([]).capacity() == 0,
            "no attributes: nothing allocated"
        );
    }
}
