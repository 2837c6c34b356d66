//! The pipeline: the state every span and log consults when it starts, and the bounded
//! queue that hands records to the export thread.
//!
//! The caller's side never blocks and never allocates for the queue: `try_send` into a
//! fixed-size channel, and when it is full the record is dropped and counted (a
//! warning says so once). The export thread (`export::worker`) does everything else;
//! it sleeps between batches, and a sender wakes it only when half a batch is queued.

use crate::clock::Clock;
use crate::export::worker::{Control, Msg};
use crate::ids::IdSource;
use crate::level::Level;
use crate::record::{LateFields, SpanRecord};
use crate::sampler::Sampler;
use crossbeam_channel::{Receiver, Sender, TrySendError};
use opentelemetry::Context;
use opentelemetry::trace::{SpanId, TraceId};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{JoinHandle, Thread};

/// Shared state of one configured weft instance.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) ids: IdSource,
    pub(crate) clock: Clock,
    pub(crate) sampler: Sampler,
    pub(crate) min_level: Level,
    pub(crate) tx: Sender<Msg>,
    /// Boxes the export thread hands back after export, still holding their last
    /// record. Reusing one drops that record here, on an application thread: memory is
    /// then freed where it is allocated again, instead of every record being allocated
    /// on one thread and freed on the export thread, which makes both contend for the
    /// allocator's lock.
    pub(crate) recycled: Receiver<Box<SpanRecord>>,
    pub(crate) control: Sender<Control>,
    pub(crate) dropped: Arc<AtomicU64>,
    pub(crate) warned_full: AtomicBool,
    pub(crate) worker: Mutex<Option<JoinHandle<()>>>,
    /// The export thread, unparked when it has work: a full batch, or a control request.
    pub(crate) worker_thread: Thread,
    /// Queue length at which a sender wakes the export thread. Below it the thread
    /// sleeps until its schedule delay: waking it for every record would cost the
    /// caller a futex wake and, on a small machine, a context switch per span.
    pub(crate) wake_at: usize,
    pub(crate) shut_down: AtomicBool,
    /// The parent of root spans: the context a parent process passed in `TRACEPARENT`.
    pub(crate) default_parent: Option<opentelemetry::trace::SpanContext>,
}

/// A handle to the shared state; cloning it is one atomic increment.
#[derive(Clone, Debug)]
pub(crate) struct Pipeline(pub(crate) Arc<Shared>);

/// The pipeline installed by `configure().finish()`.
static GLOBAL: OnceLock<Pipeline> = OnceLock::new();

/// A pipeline made current for a scope (a non-global instance): stored in the
/// OpenTelemetry `Context`, so it travels wherever weft carries context.
#[derive(Clone, Debug)]
pub(crate) struct ScopedPipeline(pub(crate) Pipeline);

impl Pipeline {
    pub(crate) fn install_global(self) -> Result<(), Pipeline> {
        GLOBAL.set(self)
    }

    pub(crate) fn global() -> Option<&'static Pipeline> {
        GLOBAL.get()
    }

    /// The pipeline for code running in `cx`: a scoped one if set, else the global one.
    #[inline]
    pub(crate) fn for_context(cx: &Context) -> Option<Pipeline> {
        match cx.get::<ScopedPipeline>() {
            Some(p) => Some(p.0.clone()),
            None => GLOBAL.get().cloned(),
        }
    }

    pub(crate) fn new_ids(&self, parent_trace: Option<TraceId>) -> (TraceId, SpanId) {
        let trace_id = match parent_trace {
            Some(t) => t,
            None => self.0.ids.new_trace_id(),
        };
        (trace_id, self.0.ids.new_span_id())
    }

    pub(crate) fn now_ns(&self) -> u64 {
        self.0.clock.now_ns()
    }

    pub(crate) fn send_start(&self, record: SpanRecord) {
        self.send(Msg::Start(self.boxed(record)));
    }

    /// `record` in a recycled box if one is waiting (dropping the record it held), else
    /// in a new one.
    #[inline]
    fn boxed(&self, record: SpanRecord) -> Box<SpanRecord> {
        match self.0.recycled.try_recv() {
            Ok(mut spare) => {
                *spare = record;
                spare
            }
            Err(_) => Box::new(record),
        }
    }

    pub(crate) fn send_end(
        &self,
        trace_id: TraceId,
        span_id: SpanId,
        end_ns: u64,
        late: Option<Box<LateFields>>,
    ) {
        self.send(Msg::End {
            trace_id,
            span_id,
            end_ns,
            late,
        });
    }

    pub(crate) fn send_log(&self, record: SpanRecord) {
        self.send(Msg::Log(self.boxed(record)));
    }

    fn send(&self, msg: Msg) {
        match self.0.tx.try_send(msg) {
            Ok(()) => {
                if self.0.tx.len() >= self.0.wake_at {
                    self.0.worker_thread.unpark();
                }
            }
            Err(TrySendError::Full(_)) => {
                let n = self.0.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if !self.0.warned_full.swap(true, Ordering::Relaxed) {
                    crate::diagnostics::queue_full(n);
                }
            }
            Err(TrySendError::Disconnected(_)) => {
                self.0.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Sends a flush or shutdown request and wakes the export thread for it. False if
    /// the export thread is gone.
    pub(crate) fn control(&self, request: Control) -> bool {
        let sent = self.0.control.send(request).is_ok();
        self.0.worker_thread.unpark();
        sent
    }

    /// Records dropped because the queue was full or the pipeline was shut down.
    pub(crate) fn dropped(&self) -> u64 {
        self.0.dropped.load(Ordering::Relaxed)
    }
}
