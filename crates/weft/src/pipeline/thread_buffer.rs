//! Per-thread rings between the application's threads and the export thread.
//!
//! A span start, a span end or a log goes into a ring that belongs to the thread that
//! made it: a single-producer, single-consumer queue ([`rtrb`]) whose push is plain
//! stores, with no atomic read-modify-write and no lock. Why not one queue shared by
//! every thread: each push would then be a locked instruction on cache lines that the
//! export thread is reading, and on a small machine that cost about as much as
//! building the span.
//!
//! The export thread drains every ring whenever it runs: when a thread has pushed
//! `wake_at` records since it last woke it, at its schedule delay, and at a flush. So a
//! quiet thread's records are not held back, and each thread's records reach it in the
//! order they were made. A ring starts small and doubles when it fills, up to
//! `max_queue_size` records; a full ring of that size drops the record and counts it. So
//! memory is bounded by `max_queue_size` records per recording thread, plus the smaller
//! rings it outgrew until the export thread has emptied them (under twice that in all),
//! and a thread that records little holds little.

use crate::export::worker::Msg;
use crossbeam_channel::{Receiver, Sender, TrySendError};
use rtrb::{Consumer, Producer, RingBuffer};
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};
use std::sync::{Arc, Mutex, PoisonError};

/// A new ring's size, in records (it doubles when it fills, up to the queue size).
const FIRST_RING_SIZE: usize = 256;

/// Every recording thread's ring for one pipeline, read end: shared by the application
/// side, which adds a thread's ring on its first record, and the export thread.
#[derive(Default)]
pub(crate) struct Registry {
    rings: Mutex<Vec<Consumer<Msg>>>,
    /// Set while the export thread is polling (records are flowing, it looks again
    /// shortly without being woken): threads then skip the wake-up, a system call.
    polling: AtomicBool,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Registry")
    }
}

/// What [`Buffers::push`] did with a message.
#[derive(Clone, Copy)]
pub(crate) enum Pushed {
    /// Queued.
    Kept,
    /// Queued, and this thread has queued enough since it last woke the export thread
    /// for a batch to be worth starting.
    Wake,
    /// Lost: the thread's ring was full (`full`: the export thread is behind; `wake`
    /// it if it is not polling) or the export thread has stopped.
    Dropped { full: bool, wake: bool },
}

/// The application side of one pipeline's rings.
#[derive(Debug)]
pub(crate) struct Buffers {
    /// Tells this pipeline's rings apart in a thread's list (pipelines come and go in
    /// tests; an address could be reused, a counter is not).
    id: u64,
    capacity: usize,
    wake_at: usize,
    registry: Arc<Registry>,
    /// For a thread whose locals are gone (it is exiting) or that re-entered: its
    /// records go one by one through a shared channel.
    lone: Sender<Msg>,
}

/// The export thread's side of the same rings.
pub(crate) struct Sweeper {
    registry: Arc<Registry>,
    lone: Receiver<Msg>,
}

/// Rings of `capacity` records, each waking the export thread every `wake_at` records.
pub(crate) fn buffers(capacity: usize, wake_at: usize) -> (Buffers, Sweeper) {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    let capacity = capacity.max(1);
    let (lone_tx, lone_rx) = crossbeam_channel::bounded(capacity);
    let registry = Arc::new(Registry::default());
    let buffers = Buffers {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        capacity,
        wake_at: wake_at.clamp(1, capacity),
        registry: registry.clone(),
        lone: lone_tx,
    };
    let sweeper = Sweeper {
        registry,
        lone: lone_rx,
    };
    (buffers, sweeper)
}

/// A thread's rings, one per pipeline it has recorded into (usually one).
#[derive(Default)]
struct Local(Vec<Entry>);

struct Entry {
    pipeline: u64,
    ring: Producer<Msg>,
    /// Records pushed since this thread last woke the export thread.
    since_wake: usize,
}

thread_local! {
    static LOCAL: RefCell<Local> = RefCell::new(Local::default());
}

impl Local {
    fn entry(&mut self, buffers: &Buffers) -> &mut Entry {
        if let Some(i) = self.0.iter().position(|e| e.pipeline == buffers.id) {
            return &mut self.0[i];
        }
        // Rings whose export thread has stopped hold nothing anyone will read.
        self.0.retain(|e| !e.ring.is_abandoned());
        self.0.push(Entry {
            pipeline: buffers.id,
            ring: buffers.new_ring(FIRST_RING_SIZE),
            since_wake: 0,
        });
        let last = self.0.len() - 1;
        &mut self.0[last]
    }
}

impl Buffers {
    /// A ring of `size` records (at most the queue size), registered with the export thread.
    fn new_ring(&self, size: usize) -> Producer<Msg> {
        let (ring, reader) = RingBuffer::new(size.min(self.capacity));
        self.registry
            .rings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(reader);
        ring
    }

    /// Queues a message.
    #[inline]
    pub(crate) fn push(&self, msg: Msg) -> Pushed {
        let mut msg = Some(msg);
        let pushed = LOCAL.try_with(|local| {
            // Not re-entered in practice (nothing here calls back into weft), but a
            // nested call must not panic: it takes the shared channel below.
            let mut local = local.try_borrow_mut().ok()?;
            let entry = local.entry(self);
            Some(self.push_to(entry, msg.take()?))
        });
        match (pushed, msg) {
            (Ok(Some(pushed)), _) => pushed,
            (_, Some(msg)) => match self.lone.try_send(msg) {
                Ok(()) => Pushed::Kept,
                Err(TrySendError::Full(_)) => Pushed::Dropped {
                    full: true,
                    wake: true,
                },
                Err(TrySendError::Disconnected(_)) => Pushed::Dropped {
                    full: false,
                    wake: false,
                },
            },
            (_, None) => Pushed::Dropped {
                full: false,
                wake: false,
            },
        }
    }

    #[inline]
    fn push_to(&self, entry: &mut Entry, msg: Msg) -> Pushed {
        if entry.ring.is_abandoned() {
            return Pushed::Dropped {
                full: false,
                wake: false,
            };
        }
        let msg = match entry.ring.push(msg) {
            Ok(()) => None,
            Err(rtrb::PushError::Full(msg)) => Some(msg),
        };
        if let Some(msg) = msg {
            let size = entry.ring.buffer().capacity();
            if size >= self.capacity {
                entry.since_wake = 0;
                return Pushed::Dropped {
                    full: true,
                    wake: !self.export_thread_polling(),
                };
            }
            // Outgrown: a ring twice the size takes over. The export thread empties the
            // old one, now abandoned, and then drops it; it puts the two rings' records
            // back in the order they were made.
            entry.ring = self.new_ring(size * 2);
            if entry.ring.push(msg).is_err() {
                return Pushed::Dropped {
                    full: false,
                    wake: false,
                };
            }
        }
        entry.since_wake += 1;
        if entry.since_wake < self.wake_at {
            return Pushed::Kept;
        }
        entry.since_wake = 0;
        if self.export_thread_polling() {
            Pushed::Kept
        } else {
            Pushed::Wake
        }
    }

    /// Whether the export thread will look at the rings soon without a wake-up. The
    /// fence orders this thread's push before the flag is read, against the export
    /// thread clearing the flag before it looks one last time: one of the two then
    /// sees the other (asked only every `wake_at` records, so its cost is shared).
    fn export_thread_polling(&self) -> bool {
        fence(Ordering::SeqCst);
        self.registry.polling.load(Ordering::Relaxed)
    }
}

impl Sweeper {
    /// Takes up to `limit` messages queued in each thread's ring into `out`, each
    /// thread's in order. Returns how many threads they came from, and whether any ring
    /// had more (call again once `out` is handled: taking everything at once would let
    /// the rings refill behind a stuck export and memory grow past its bound). Rings of
    /// threads that have exited are dropped once emptied; with `close` (shutdown), all
    /// are, and later records are counted as dropped by their threads.
    pub(crate) fn sweep(&self, close: bool, limit: usize, out: &mut Vec<Msg>) -> (usize, bool) {
        let (mut sources, mut more) = (0, false);
        let mut rings = self
            .registry
            .rings
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        rings.retain_mut(|ring| {
            // Asked first: once the writer is gone, a drain to empty is the last.
            let gone = ring.is_abandoned();
            let before = out.len();
            while out.len() - before < limit {
                match ring.pop() {
                    Ok(msg) => out.push(msg),
                    Err(_) => break,
                }
            }
            sources += usize::from(out.len() > before);
            let empty = ring.is_empty();
            more |= !empty;
            !(empty && (gone || close))
        });
        drop(rings);
        let before = out.len();
        out.extend(self.lone.try_iter().take(limit));
        more |= !self.lone.is_empty();
        (sources + usize::from(out.len() > before), more)
    }

    /// Says whether the export thread is polling (see [`Registry::polling`]). Cleared
    /// with a full fence, so that a look at the rings after it sees any record whose
    /// thread saw the flag still set.
    pub(crate) fn set_polling(&self, polling: bool) {
        self.registry.polling.store(polling, Ordering::SeqCst);
    }

    /// Whether any ring or the shared channel holds a record.
    pub(crate) fn any_queued(&self) -> bool {
        let rings = self
            .registry
            .rings
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        rings.iter().any(|r| !r.is_empty()) || !self.lone.is_empty()
    }

    /// Whether the application side is gone (every handle to the pipeline dropped).
    pub(crate) fn orphaned(&self) -> bool {
        Arc::strong_count(&self.registry) == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::SpanId;

    fn end(n: u64) -> Msg {
        Msg::End {
            trace_id: [1; 16],
            span_id: SpanId::from(n + 1),
            end_ns: n,
            late: None,
        }
    }

    #[test]
    fn a_ring_starts_small_and_doubles_up_to_the_queue_size_keeping_order() {
        // A thread of its own: its ring list starts empty.
        std::thread::spawn(|| {
            let (buffers, sweeper) = buffers(1000, 1000);
            let (mut kept, mut dropped) = (0, 0);
            for n in 0..1800 {
                match buffers.push(end(n)) {
                    Pushed::Kept | Pushed::Wake => kept += 1,
                    Pushed::Dropped { full, .. } => {
                        assert!(full, "dropped only because the last ring is full");
                        dropped += 1;
                    }
                }
            }
            let sizes: Vec<usize> = sweeper
                .registry
                .rings
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .map(|r| r.buffer().capacity())
                .collect();
            assert_eq!(
                sizes,
                [256, 512, 1000],
                "doubling, capped at the queue size"
            );
            // Never swept meanwhile, so all rings are still full: the bound is the
            // queue size plus the smaller rings it outgrew (under twice the size).
            assert_eq!((kept, dropped), (1768, 32));
            let mut out = Vec::new();
            let (sources, more) = sweeper.sweep(false, usize::MAX, &mut out);
            assert_eq!((sources, more), (3, false));
            let times: Vec<u64> = out.iter().map(Msg::time_ns).collect();
            assert_eq!(times, (0..1768).collect::<Vec<_>>(), "oldest ring first");
            assert_eq!(
                sweeper
                    .registry
                    .rings
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .len(),
                1,
                "outgrown rings are dropped once emptied"
            );
        })
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e));
    }

    #[test]
    fn a_queued_record_takes_112_bytes_as_the_queue_size_docs_say() {
        assert!(
            std::mem::size_of::<Msg>() <= 112,
            "{}",
            std::mem::size_of::<Msg>()
        );
    }
}
