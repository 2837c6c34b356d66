//! Memory that goes back from the export thread to the application's threads, empty, to
//! be filled again: field lists, the boxed sites of spans not made by a macro, and the
//! boxed fields set on a span after its start.
//!
//! Each is allocated on the thread that records and finished with on the export
//! thread. Freed there, it would go back to the allocator of another thread, which
//! then takes that allocator's lock on both sides, for every span (glibc's per-thread
//! caches hold only a few blocks; `perf` showed the lock's futex wake-ups in the HTTP
//! server's path). So the export thread, once it has moved the contents out, hands
//! the empty allocation back, 64 at a time, and the next span takes it. Short strings
//! travel inline ([`FieldValue`](crate::value::FieldValue)), so most fields allocate
//! nothing at all on the recording thread. Bounded: lists longer than
//! [`MAX_KEPT_CAPACITY`] are freed, and no more than [`MAX_CHUNKS_WAITING`] chunks of
//! each kind wait to be taken.

use crate::pipeline::started::OwnedSite;
use crate::record::{Attribute, LateFields};
use crate::value::Field;
use crossbeam_channel::{Receiver, Sender};
use std::cell::RefCell;
use std::sync::LazyLock;
use std::thread::LocalKey;

/// Allocations handed back together: one channel operation per this many spans.
const CHUNK: usize = 64;

/// Chunks waiting to be taken; beyond this the export thread frees what it has.
const MAX_CHUNKS_WAITING: usize = 32;

/// Longer lists are not kept: few spans have so many attributes.
pub(crate) const MAX_KEPT_CAPACITY: usize = 16;

/// One kind of allocation on its way back.
pub(crate) struct Pool<T> {
    to: Sender<Vec<T>>,
    from: Receiver<Vec<T>>,
}

impl<T> Pool<T> {
    fn new() -> Pool<T> {
        let (to, from) = crossbeam_channel::bounded(MAX_CHUNKS_WAITING);
        Pool { to, from }
    }
}

pub(crate) static LISTS: LazyLock<Pool<Vec<Field>>> = LazyLock::new(Pool::new);
pub(crate) static SITES: LazyLock<Pool<Box<OwnedSite>>> = LazyLock::new(Pool::new);
pub(crate) static LATE: LazyLock<Pool<Box<LateFields>>> = LazyLock::new(Pool::new);

/// Boxes whose allocations are what is reused.
type Boxes<T> = Vec<Box<T>>;

thread_local! {
    /// This thread's share of each pool, taken a chunk at a time.
    static SPARE_LISTS: RefCell<Vec<Vec<Field>>> = const { RefCell::new(Vec::new()) };
    static SPARE_SITES: RefCell<Boxes<OwnedSite>> = const { RefCell::new(Vec::new()) };
    static SPARE_LATE: RefCell<Boxes<LateFields>> = const { RefCell::new(Vec::new()) };
}

/// A handed-back allocation of this kind, if there is one at hand.
#[inline]
fn take<T: 'static>(spare: &'static LocalKey<RefCell<Vec<T>>>, pool: &Pool<T>) -> Option<T> {
    spare
        .try_with(|spare| take_spare(&mut *spare.try_borrow_mut().ok()?, &pool.from))
        .ok()
        .flatten()
}

/// One of `spare`, refilled from `returned` when empty.
fn take_spare<T>(spare: &mut Vec<T>, returned: &Receiver<Vec<T>>) -> Option<T> {
    if spare.is_empty() {
        *spare = returned.try_recv().ok()?;
    }
    spare.pop()
}

/// A list holding `fields`: a returned one when there is one, else a new one.
#[inline]
pub(crate) fn list_of<const N: usize>(fields: [Field; N]) -> Vec<Field> {
    if N == 0 {
        return Vec::new();
    }
    let mut list = take(&SPARE_LISTS, &LISTS).unwrap_or_default();
    list.extend(fields);
    list
}

/// An empty field list to fill: a returned one when there is one, else one of `capacity`.
pub(crate) fn field_list(capacity: usize) -> Vec<Field> {
    let mut list = take(&SPARE_LISTS, &LISTS).unwrap_or_default();
    list.reserve(capacity);
    list
}

/// An empty attribute list for an integration to fill: a returned one when there is one
/// (a field list and an attribute list have the same layout, so the allocation carries
/// over), else one of `capacity`.
#[cfg_attr(not(any(feature = "tower", feature = "reqwest")), allow(dead_code))]
pub(crate) fn attribute_list(capacity: usize) -> Vec<Attribute> {
    let mut list: Vec<Attribute> = field_list(0)
        .into_iter()
        .map(|_| unreachable_empty())
        .collect();
    list.reserve(capacity);
    list
}

/// Never called: a handed-back list is empty.
#[cfg_attr(not(any(feature = "tower", feature = "reqwest")), allow(dead_code))]
fn unreachable_empty() -> Attribute {
    (
        std::borrow::Cow::Borrowed(""),
        crate::value::Value::Bool(false),
    )
}

/// A box for a site: a returned one when there is one.
pub(crate) fn site_box(site: OwnedSite) -> Box<OwnedSite> {
    match take(&SPARE_SITES, &SITES) {
        Some(mut spare) => {
            *spare = site;
            spare
        }
        None => Box::new(site),
    }
}

/// An empty box for a span's late fields: a returned one when there is one.
pub(crate) fn late_box() -> Box<LateFields> {
    take(&SPARE_LATE, &LATE).unwrap_or_default()
}

/// The export thread's side: collects emptied allocations of one kind and hands them
/// back in chunks.
pub(crate) struct Returns<T: 'static> {
    chunk: Vec<T>,
    to: Sender<Vec<T>>,
}

impl<T> Returns<T> {
    pub(crate) fn to(pool: &Pool<T>) -> Returns<T> {
        Returns {
            chunk: Vec::new(),
            to: pool.to.clone(),
        }
    }

    /// Hands `item` back (or frees it here, when enough are waiting).
    pub(crate) fn give(&mut self, item: T) {
        if self.chunk.capacity() == 0 {
            self.chunk.reserve_exact(CHUNK);
        }
        self.chunk.push(item);
        if self.chunk.len() == CHUNK {
            // Full channel: the application's threads have enough; these are freed here.
            let _ = self.to.try_send(std::mem::take(&mut self.chunk));
        }
    }
}

impl Returns<Vec<Field>> {
    /// Hands `list` back, emptied, unless it is long.
    pub(crate) fn give_list(&mut self, mut list: Vec<Field>) {
        if (1..=MAX_KEPT_CAPACITY).contains(&list.capacity()) {
            list.clear();
            self.give(list);
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
        let pool = Pool::new();
        let mut returns = Returns::to(&pool);
        let mut given = Vec::new();
        for i in 0..CHUNK {
            let list = vec![field(i as i64), field(0)];
            given.push(list.as_ptr() as usize);
            returns.give_list(list);
            assert_eq!(
                pool.from.len(),
                usize::from(i + 1 == CHUNK),
                "sent only when full"
            );
        }
        returns.give_list(Vec::with_capacity(MAX_KEPT_CAPACITY + 1));
        assert!(returns.chunk.is_empty(), "a long list is not kept");
        let mut spare = Vec::new();
        for _ in 0..CHUNK {
            let list = take_spare(&mut spare, &pool.from).unwrap_or_default();
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
            take_spare(&mut spare, &pool.from).is_none(),
            "no more than were given"
        );
    }

    #[test]
    fn a_list_holds_exactly_its_fields_and_an_attribute_list_starts_empty() {
        let mut returns = Returns::to(&LISTS);
        for _ in 0..CHUNK * 2 {
            returns.give_list(vec![field(9), field(9), field(9)]);
        }
        assert_eq!(list_of([field(1), field(2)]), vec![field(1), field(2)]);
        assert!(
            list_of::<0>([]).capacity() == 0,
            "no fields: nothing allocated"
        );
        let attributes = attribute_list(4);
        assert!(attributes.is_empty() && attributes.capacity() >= 4);
    }
}
