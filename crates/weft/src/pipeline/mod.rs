//! The pipeline: the state every span and log consults when it starts, and the bounded
//! queue that hands records to the export thread.
//!
//! The caller's side never blocks: a record goes into its thread's fixed-size ring
//! ([`thread_buffer`]); when that is full the record is dropped and counted (a warning
//! says so once). The export thread (`export::worker`) does everything else; it sleeps
//! between batches, and a thread wakes it only when it has queued half a batch.

pub(crate) mod returned;
pub(crate) mod started;
pub(crate) mod thread_buffer;

use crate::clock::Clock;
use crate::export::worker::{Control, Msg};
use crate::ids::IdSource;
use crate::level::Level;
use crate::record::LateFields;
use crate::sampler::Sampler;
use crossbeam_channel::Sender;
use opentelemetry::Context;
use opentelemetry::trace::{SpanId, TraceId};
use started::Started;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{JoinHandle, Thread};
use thread_buffer::{Buffers, Pushed};

/// Shared state of one configured weft instance.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) ids: IdSource,
    pub(crate) clock: Clock,
    pub(crate) sampler: Sampler,
    pub(crate) min_level: Level,
    /// Where records go: each thread's ring to the export thread.
    pub(crate) buffers: Buffers,
    pub(crate) control: Sender<Control>,
    pub(crate) dropped: Arc<AtomicU64>,
    pub(crate) warned_full: AtomicBool,
    pub(crate) worker: Mutex<Option<JoinHandle<()>>>,
    /// The export thread, unparked when it has work: half a batch, or a control
    /// request. Below that it sleeps until its schedule delay: waking it for every
    /// record would cost the caller a futex wake and, on a small machine, a context
    /// switch per span.
    pub(crate) worker_thread: Thread,
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

/// A pipeline as a span holds it: the global one by reference, so the common case
/// takes and drops no reference count (an atomic read-modify-write each) per span.
#[derive(Clone, Debug)]
pub(crate) enum PipelineRef {
    Global(&'static Pipeline),
    Scoped(Pipeline),
}

impl std::ops::Deref for PipelineRef {
    type Target = Pipeline;
    #[inline]
    fn deref(&self) -> &Pipeline {
        match self {
            PipelineRef::Global(p) => p,
            PipelineRef::Scoped(p) => p,
        }
    }
}

impl Pipeline {
    pub(crate) fn install_global(self) -> Result<(), Pipeline> {
        GLOBAL.set(self)
    }

    pub(crate) fn global() -> Option<&'static Pipeline> {
        GLOBAL.get()
    }

    /// The pipeline for code running in `cx`: a scoped one if set, else the global one.
    #[inline]
    pub(crate) fn for_context(cx: &Context) -> Option<PipelineRef> {
        match cx.get::<ScopedPipeline>() {
            Some(p) => Some(PipelineRef::Scoped(p.0.clone())),
            None => GLOBAL.get().map(PipelineRef::Global),
        }
    }

    /// Ids for a new span: in the parent's trace, else in a new trace that starts at
    /// `root_start_ns` when the caller has read the clock for it (trace ids embed the
    /// time), else now.
    pub(crate) fn new_ids(
        &self,
        parent_trace: Option<TraceId>,
        root_start_ns: Option<u64>,
    ) -> (TraceId, SpanId) {
        let trace_id = match (parent_trace, root_start_ns) {
            (Some(t), _) => t,
            (None, Some(ns)) => self.0.ids.new_trace_id_at(ns / 1_000_000),
            (None, None) => self.0.ids.new_trace_id(),
        };
        (trace_id, self.0.ids.new_span_id())
    }

    pub(crate) fn now_ns(&self) -> u64 {
        self.0.clock.now_ns()
    }

    /// Queues a span's start.
    #[inline]
    pub(crate) fn send_start(&self, start: Started) {
        if self.accepting() {
            self.settle(self.0.buffers.push(Msg::Start(start)));
        }
    }

    pub(crate) fn send_end(
        &self,
        trace_id: TraceId,
        span_id: SpanId,
        end_ns: u64,
        late: Option<Box<LateFields>>,
    ) {
        if self.accepting() {
            self.settle(self.0.buffers.push(Msg::End {
                trace_id: trace_id.to_bytes(),
                span_id,
                end_ns,
                late,
            }));
        }
    }

    /// Queues a log.
    #[inline]
    pub(crate) fn send_log(&self, log: Started) {
        if self.accepting() {
            self.settle(self.0.buffers.push(Msg::Log(log)));
        }
    }

    /// False, counting the record as dropped, once the instance is shut down.
    #[inline]
    fn accepting(&self) -> bool {
        if self.0.shut_down.load(Ordering::Relaxed) {
            self.0.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        true
    }

    #[inline]
    fn settle(&self, pushed: Pushed) {
        match pushed {
            Pushed::Kept => {}
            Pushed::Wake => self.0.worker_thread.unpark(),
            Pushed::Dropped { full, wake } => {
                let n = self.0.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if wake {
                    self.0.worker_thread.unpark();
                }
                if full && !self.0.warned_full.swap(true, Ordering::Relaxed) {
                    crate::diagnostics::queue_full(n);
                }
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
