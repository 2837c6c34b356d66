//! The guard `finish()` returns: flush, shutdown, and (for local instances) the scope
//! in which spans record into this instance.

use crate::config::Settings;
use crate::export::worker::{Control, Reply};
use crate::pipeline::{Pipeline, ScopedPipeline};
use opentelemetry::{Context, ContextGuard};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// A configured weft. Dropping it flushes what is queued and stops the export thread.
///
/// The global instance (from `configure().finish()`) records everything in the
/// process; a local one (`configure().local()`) only what runs inside
/// [`Weft::in_scope`] or [`Weft::set_default`], and wherever that context is carried.
#[derive(Debug)]
pub struct Weft {
    pipeline: Pipeline,
    global: bool,
    settings: Settings,
}

/// How long shutdown waits for the last export.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(15);

impl Weft {
    pub(crate) fn new(pipeline: Pipeline, global: bool, settings: Settings) -> Self {
        Weft {
            pipeline,
            global,
            settings,
        }
    }

    /// The settings in use.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether this is the process-wide instance.
    pub fn is_global(&self) -> bool {
        self.global
    }

    /// Exports everything recorded so far and waits for it (at most the export
    /// timeout plus a margin). Returns false if it did not finish in time. Blocks: from
    /// async code use [`Weft::force_flush_async`].
    pub fn force_flush(&self) -> bool {
        let (tx, rx) = std::sync::mpsc::channel();
        if !self.pipeline.control(Control::Flush(Reply::Sync(tx))) {
            return false;
        }
        rx.recv_timeout(self.settings.export_timeout + SHUTDOWN_WAIT)
            .is_ok()
    }

    /// [`Weft::force_flush`] for async code: awaits without blocking the runtime.
    pub async fn force_flush_async(&self) -> bool {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if !self.pipeline.control(Control::Flush(Reply::Async(tx))) {
            return false;
        }
        rx.await.is_ok()
    }

    /// Flushes and stops the export thread. Spans made afterwards are dropped (and
    /// counted). Called by `Drop`; calling it twice is harmless.
    pub fn shutdown(&self) {
        if self.pipeline.0.shut_down.swap(true, Ordering::SeqCst) {
            return;
        }
        let (tx, rx) = std::sync::mpsc::channel();
        if self.pipeline.control(Control::Shutdown(Reply::Sync(tx))) {
            let _ = rx.recv_timeout(self.settings.export_timeout + SHUTDOWN_WAIT);
        }
        let handle = self
            .pipeline
            .0
            .worker
            .lock()
            .ok()
            .and_then(|mut h| h.take());
        if let Some(handle) = handle {
            // The worker has answered (or timed out); joining a finished thread is quick.
            if handle.is_finished() {
                let _ = handle.join();
            }
        }
    }

    /// Records dropped because the export queue was full, export failed, or the
    /// instance was shut down.
    pub fn dropped_spans(&self) -> u64 {
        self.pipeline.dropped()
    }

    /// The current context with this instance as the one spans record into.
    pub fn context(&self) -> Context {
        Context::current().with_value(ScopedPipeline(self.pipeline.clone()))
    }

    /// Makes this instance the one spans record into on this thread until the guard
    /// drops (and wherever weft carries the context from here).
    pub fn set_default(&self) -> ContextGuard {
        self.context().attach()
    }

    /// Runs `f` with this instance current.
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        let _guard = self.set_default();
        f()
    }
}

impl Drop for Weft {
    fn drop(&mut self) {
        self.shutdown();
    }
}
