//! The export thread: joins each span's start and end, emits pending-span records for
//! spans still open at a flush, batches, and calls the exporters.
//!
//! It is the only consumer of the queue, so all of its state is plain, unshared data.
//! Records arrive one thread's ring at a time (`pipeline::thread_buffer`): a span that
//! moved between threads can have its end arrive before its start, so an early end
//! waits for its start.
//! It marks itself suppressed, so nothing the exporters do (HTTP clients log through
//! `tracing`) is ever traced into itself.

use super::reuse::Reuse;
use super::{SpanExporter, SpanProcessor};
use crate::ids::pending_span_id;
use crate::pipeline::started::Started;
use crate::pipeline::thread_buffer::Sweeper;
use crate::record::{LateFields, SpanRecord, SpanType};
use crate::value::Value;
use crossbeam_channel::{Receiver, TryRecvError};
use opentelemetry::trace::{SpanContext, SpanId, TraceId};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A message from the application's threads.
#[derive(Debug)]
pub(crate) enum Msg {
    /// A sampled span started (carries its attributes as they were at start).
    Start(Started),
    /// That span ended, with what it gathered since (`None`: nothing, the usual case).
    End {
        /// As bytes, as in [`Started`].
        trace_id: [u8; 16],
        span_id: SpanId,
        end_ns: u64,
        late: Option<Box<LateFields>>,
    },
    /// A log (complete on arrival).
    Log(Started),
}

/// How a flush or shutdown request is answered.
#[derive(Debug)]
pub(crate) enum Reply {
    Sync(std::sync::mpsc::Sender<()>),
    Async(tokio::sync::oneshot::Sender<()>),
}

impl Reply {
    fn send(self) {
        // The requester may have given up waiting; that is not an error here.
        match self {
            Reply::Sync(tx) => drop(tx.send(())),
            Reply::Async(tx) => drop(tx.send(())),
        }
    }
}

/// A request that must see everything queued before it.
#[derive(Debug)]
pub(crate) enum Control {
    Flush(Reply),
    Shutdown(Reply),
}

/// The export thread's settings.
pub(crate) struct WorkerSettings {
    pub(crate) exporters: Vec<(String, Box<dyn SpanExporter>)>,
    pub(crate) processors: Vec<Box<dyn SpanProcessor>>,
    pub(crate) pending_spans: bool,
    pub(crate) max_batch: usize,
    pub(crate) interval: Duration,
    pub(crate) max_open_spans: usize,
    pub(crate) dropped: Arc<AtomicU64>,
}

struct Open {
    record: Box<SpanRecord>,
    pending_sent: bool,
}

/// The open-span map's key: span ids are random (or unique counters), so the span id
/// itself, mixed once, is a good hash; SipHash would cost more than the rest of the
/// map operation.
#[derive(Clone, Copy, PartialEq, Eq)]
struct OpenKey(TraceId, SpanId);

impl std::hash::Hash for OpenKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(u64::from_be_bytes(self.1.to_bytes()));
    }
}

/// A hasher for [`OpenKey`]: one multiply of the span id (Fibonacci hashing).
#[derive(Default)]
struct SpanIdHasher(u64);

impl std::hash::Hasher for SpanIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01B3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type SpanMap<T> = HashMap<OpenKey, T, std::hash::BuildHasherDefault<SpanIdHasher>>;

/// A span's end that arrived before its start (the span ended on another thread,
/// whose ring was drained first).
struct EarlyEnd {
    end_ns: u64,
    late: Option<Box<LateFields>>,
    /// Sweeps since it arrived. The sweep after its own takes every record made
    /// before it, so one still unmatched then lost its start (a full queue dropped it).
    sweeps: u8,
}

/// Messages a sweep must find for the export thread to poll rather than sleep until
/// woken: about 300 000 a second at [`POLL_INTERVAL`], a rate at which wake-ups would
/// cost the application's threads more than polling costs this one.
const POLL_AT: usize = 64;

/// How soon a polling export thread looks again: well under the time a thread's ring
/// takes to fill at full speed (2048 records, about 0.6 ms in the span benchmark).
const POLL_INTERVAL: Duration = Duration::from_micros(200);

/// Sweeps after which an early end is given up on.
const EARLY_END_SWEEPS: u8 = 2;

struct Worker {
    settings: WorkerSettings,
    sweeper: Sweeper,
    open: SpanMap<Open>,
    early_ends: SpanMap<EarlyEnd>,
    /// What a sweep took, reused between sweeps.
    swept: Vec<Msg>,
    /// Finished records waiting for the next export, reused between flushes.
    batch: Vec<SpanRecord>,
    /// Memory reused from one batch to the next.
    reuse: Reuse,
    failed: Vec<bool>,
}

/// Starts the export thread.
pub(crate) fn spawn(
    sweeper: Sweeper,
    control: Receiver<Control>,
    settings: WorkerSettings,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("weft-export".into())
        .spawn(move || {
            crate::suppress::suppress_this_thread();
            let failed = vec![false; settings.exporters.len()];
            let mut worker = Worker {
                settings,
                sweeper,
                open: SpanMap::default(),
                early_ends: SpanMap::default(),
                swept: Vec::new(),
                batch: Vec::new(),
                reuse: Reuse::default(),
                failed,
            };
            worker.run(&control);
        })
}

impl Worker {
    /// Sleeps until the schedule delay, a thread's wake-up (half a batch queued) or a
    /// control request, then takes what every thread has queued. Records are not
    /// received one by one from a blocking `recv`: that would make every send wake this
    /// thread.
    fn run(&mut self, control: &Receiver<Control>) {
        let mut next_flush = Instant::now() + self.settings.interval;
        loop {
            let taken = self.sweep(false);
            match control.try_recv() {
                Ok(Control::Flush(reply)) => {
                    self.sweep(false);
                    self.flush();
                    for (_, e) in &mut self.settings.exporters {
                        let _ = e.force_flush();
                    }
                    reply.send();
                    continue;
                }
                Ok(Control::Shutdown(reply)) => return self.finish(Some(reply)),
                Err(TryRecvError::Disconnected) => return self.finish(None),
                Err(TryRecvError::Empty) => {}
            }
            if self.sweeper.orphaned() {
                return self.finish(None);
            }
            let now = Instant::now();
            if now >= next_flush {
                self.flush();
                next_flush = now + self.settings.interval;
            }
            if !control.is_empty() {
                continue;
            }
            let until_flush = next_flush.saturating_duration_since(Instant::now());
            if taken >= POLL_AT {
                // Records are flowing: look again shortly rather than have every busy
                // thread pay a system call to wake this one.
                self.sweeper.set_polling(true);
                std::thread::park_timeout(until_flush.min(POLL_INTERVAL));
                continue;
            }
            self.sweeper.set_polling(false);
            // A thread that saw the flag still set did not wake this one: look once more.
            if !self.sweeper.any_queued() {
                std::thread::park_timeout(until_flush);
            }
        }
    }

    /// Handles everything queued now, exporting each full batch, and says how many
    /// messages that was. With `close`, the rings accept nothing more (shutdown).
    fn sweep(&mut self, close: bool) -> usize {
        let mut msgs = std::mem::take(&mut self.swept);
        let mut taken = 0;
        loop {
            let limit = self.settings.max_batch.max(1);
            let (sources, more) = self.sweeper.sweep(close, limit, &mut msgs);
            if sources > 1 {
                // Several threads' records: put them back in the order they were made,
                // so the console prints a parent before its children. Each thread's are
                // in order already, and the sort is stable.
                msgs.sort_by_key(Msg::time_ns);
            }
            taken += msgs.len();
            touch_field_lists(&msgs);
            for msg in msgs.drain(..) {
                self.handle_batched(msg);
            }
            if !more {
                break;
            }
        }
        self.swept = msgs;
        self.early_ends.retain(|_, early| {
            early.sweeps += 1;
            early.sweeps < EARLY_END_SWEEPS
        });
        taken
    }

    fn handle_batched(&mut self, msg: Msg) {
        self.handle(msg);
        if self.batch.len() >= self.settings.max_batch {
            self.flush();
        }
    }

    fn finish(&mut self, reply: Option<Reply>) {
        self.sweep(true);
        self.flush();
        // Ends whose start never came: count them with the rest that was lost.
        let lost = self.early_ends.drain().count();
        self.settings
            .dropped
            .fetch_add(lost as u64, Ordering::Relaxed);
        for (_, e) in &mut self.settings.exporters {
            let _ = e.shutdown();
        }
        if let Some(reply) = reply {
            reply.send();
        }
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Start(start) => {
                // Boxed: the open-span map moves a pointer, not the record.
                let mut record = Box::new(start.into_record(&mut self.reuse));
                for p in &mut self.settings.processors {
                    p.on_start(&mut record);
                }
                // The console prints before the batch: it shows thread numbers only.
                for (_, e) in &mut self.settings.exporters {
                    e.on_start(&record);
                }
                let key = OpenKey(
                    record.span_context.trace_id(),
                    record.span_context.span_id(),
                );
                if let Some(early) = self.early_ends.remove(&key) {
                    return self.end(record, early.end_ns, early.late);
                }
                if self.open.len() >= self.settings.max_open_spans {
                    // Spans that never end (leaks) must not grow memory without bound.
                    self.settings.dropped.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                self.open.insert(
                    key,
                    Open {
                        record,
                        pending_sent: false,
                    },
                );
            }
            Msg::End {
                trace_id,
                span_id,
                end_ns,
                late,
            } => {
                let key = OpenKey(TraceId::from_bytes(trace_id), span_id);
                match self.open.remove(&key) {
                    Some(open) => self.end(open.record, end_ns, late),
                    None if self.early_ends.len() < self.settings.max_open_spans => {
                        let early = EarlyEnd {
                            end_ns,
                            late,
                            sweeps: 0,
                        };
                        self.early_ends.insert(key, early);
                    }
                    None => {
                        self.settings.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            Msg::Log(log) => {
                let mut record = log.into_record(&mut self.reuse);
                for p in &mut self.settings.processors {
                    p.on_start(&mut record);
                    p.on_end(&mut record);
                }
                for (_, e) in &mut self.settings.exporters {
                    e.on_start(&record);
                }
                self.batch.push(record);
            }
        }
    }

    /// Completes a span with its end and what it gathered, into the batch.
    fn end(&mut self, mut record: Box<SpanRecord>, end_ns: u64, late: Option<Box<LateFields>>) {
        record.end_ns = end_ns.max(record.start_ns);
        if let Some(late) = late {
            self.reuse.apply_late(late, &mut record);
        }
        for p in &mut self.settings.processors {
            p.on_end(&mut record);
        }
        self.batch.push(*record);
    }

    fn flush(&mut self) {
        if self.settings.pending_spans {
            let mut pending: Vec<SpanRecord> = self
                .open
                .values_mut()
                .filter(|o| !o.pending_sent)
                .map(|o| {
                    o.pending_sent = true;
                    pending_record(&o.record)
                })
                .collect();
            if !pending.is_empty() {
                // Pending records go first, as Logfire exports them, in start order.
                pending.sort_by_key(|r| r.start_ns);
                pending.append(&mut self.batch);
                std::mem::swap(&mut pending, &mut self.batch);
            }
        }
        if self.batch.is_empty() {
            return;
        }
        crate::record::ThreadInfo::name_all(&mut self.batch);
        for (i, (target, e)) in self.settings.exporters.iter_mut().enumerate() {
            if let Err(err) = e.export(&self.batch) {
                self.settings
                    .dropped
                    .fetch_add(self.batch.len() as u64, Ordering::Relaxed);
                if !self.failed[i] {
                    self.failed[i] = true;
                    crate::diagnostics::export_failed(target, self.batch.len(), &err);
                }
            }
        }
        for record in self.batch.drain(..) {
            self.reuse.recycle(record.attributes);
        }
    }
}

/// Reads one word of each field list `msgs` carry, all in one go. Each list was last
/// written on another core, so its first read misses the cache; read one by one while
/// records are built, the misses wait in turn (`perf`: half of the export thread's time in
/// building attributes went to that one load). Issued together, independent loads
/// overlap. A load, not a prefetch instruction: those are `unsafe`, which this crate
/// forbids.
fn touch_field_lists(msgs: &[Msg]) {
    let mut sum = 0usize;
    for msg in msgs {
        if let Msg::Start(start) | Msg::Log(start) = msg {
            if let (Some(first), Some(last)) = (start.attributes.first(), start.attributes.last()) {
                sum = sum.wrapping_add(first.0.len()).wrapping_add(last.0.len());
            }
        }
    }
    std::hint::black_box(sum);
}

impl Msg {
    /// When the message's event happened: a start's or log's start, an end's end.
    pub(crate) fn time_ns(&self) -> u64 {
        match self {
            Msg::Start(start) | Msg::Log(start) => start.start_ns,
            Msg::End { end_ns, .. } => *end_ns,
        }
    }
}

/// The record Logfire emits when a span starts: same trace, a fresh span id, the real
/// span as parent, and `logfire.pending_parent_id` naming the real span's parent.
fn pending_record(real: &SpanRecord) -> SpanRecord {
    let sc = &real.span_context;
    let mut p = real.clone();
    p.span_context = SpanContext::new(
        sc.trace_id(),
        pending_span_id(sc.span_id()),
        sc.trace_flags(),
        false,
        sc.trace_state().clone(),
    );
    p.parent_span_id = sc.span_id();
    p.parent_is_remote = false;
    p.span_type = SpanType::PendingSpan;
    p.end_ns = p.start_ns;
    p.attributes.push((
        "logfire.pending_parent_id".into(),
        Value::Str(real.parent_span_id.to_string().into()),
    ));
    p
}
