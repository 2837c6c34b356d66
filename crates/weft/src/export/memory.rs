//! An exporter that keeps records in memory, for tests of instrumented code.
//!
//! It is a real exporter on the real export thread, not a stand-in for the pipeline:
//! what it holds is exactly what an OTLP exporter would have been handed.

use super::{ExportError, SpanExporter};
use crate::record::{SpanRecord, SpanType};
use std::sync::{Arc, Mutex, PoisonError};

/// Keeps every exported record; clone it to read them from the test.
///
/// ```
/// let memory = weft::export::memory::MemoryExporter::default();
/// let weft = weft::configure()
///     .local()
///     .console(false)
///     .no_default_exporter()
///     .exporter(memory.clone())
///     .finish()
///     .unwrap();
/// weft.in_scope(|| weft::info!("hello"));
/// weft.force_flush();
/// assert_eq!(memory.spans()[0].name, "hello");
/// ```
#[derive(Clone, Debug, Default)]
pub struct MemoryExporter {
    records: Arc<Mutex<Vec<SpanRecord>>>,
}

impl MemoryExporter {
    /// Every record exported so far, pending-span records included, in export order.
    pub fn records(&self) -> Vec<SpanRecord> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Finished spans and logs only (no pending-span records).
    pub fn spans(&self) -> Vec<SpanRecord> {
        let mut v = self.records();
        v.retain(|r| r.span_type != SpanType::PendingSpan);
        v
    }

    /// Forgets everything exported so far.
    pub fn clear(&self) {
        self.records.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

impl SpanExporter for MemoryExporter {
    fn export(&mut self, batch: &[SpanRecord]) -> Result<(), ExportError> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(batch);
        Ok(())
    }
}
