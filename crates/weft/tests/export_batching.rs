//! The export thread sleeps between batches: records wait for the schedule delay, a
//! full batch, or a flush, never a wake-up per record; and the queue is bounded.
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use weft::export::memory::MemoryExporter;
use weft::export::{ExportError, SpanExporter, SpanRecord};

fn instance(env: &[(&str, &str)]) -> (weft::Weft, MemoryExporter) {
    let memory = MemoryExporter::default();
    let weft = weft::configure()
        .local()
        .console(false)
        .no_default_exporter()
        .pending_spans(false)
        .env(env.iter().copied())
        .exporter(memory.clone())
        .finish()
        .unwrap();
    (weft, memory)
}

fn wait_for(memory: &MemoryExporter, at_least: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(10);
    while memory.records().len() < at_least && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    memory.records().len()
}

#[test]
fn a_full_batch_is_exported_without_waiting_for_the_schedule() {
    // An hour between scheduled exports: only a full batch or a flush can export.
    let (weft, memory) = instance(&[
        ("OTEL_BSP_SCHEDULE_DELAY", "3600000"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "64"),
    ]);
    weft.in_scope(|| {
        for i in 0..10 {
            let _s = weft::span!("few {i}", i).entered();
        }
    });
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        memory.records().len(),
        0,
        "a few records wait for their batch"
    );

    weft.in_scope(|| {
        for i in 0..200 {
            let _s = weft::span!("many {i}", i).entered();
        }
    });
    let exported = wait_for(&memory, 192);
    assert!(
        exported >= 192,
        "three full batches of 64 went out unasked: {exported}"
    );
    assert!(weft.force_flush());
    assert_eq!(memory.records().len(), 210, "the flush delivers the rest");
}

#[test]
fn the_schedule_delay_exports_what_waits() {
    let (weft, memory) = instance(&[("OTEL_BSP_SCHEDULE_DELAY", "50")]);
    weft.in_scope(|| {
        let _s = weft::span!("one").entered();
    });
    assert_eq!(
        wait_for(&memory, 1),
        1,
        "exported by the schedule, no flush"
    );
}

/// An exporter stuck like a backend that does not answer, until released.
struct Stuck {
    released: Arc<AtomicBool>,
    delivered: Arc<AtomicUsize>,
}

impl SpanExporter for Stuck {
    fn export(&mut self, batch: &[SpanRecord]) -> Result<(), ExportError> {
        while !self.released.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
        }
        self.delivered.fetch_add(batch.len(), Ordering::SeqCst);
        Ok(())
    }
}

#[test]
fn a_stuck_backend_drops_and_counts_instead_of_blocking_or_growing() {
    let released = Arc::new(AtomicBool::new(false));
    let delivered = Arc::new(AtomicUsize::new(0));
    let weft = weft::configure()
        .local()
        .console(false)
        .no_default_exporter()
        .pending_spans(false)
        .env([
            ("OTEL_BSP_MAX_QUEUE_SIZE", "16"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "4"),
        ])
        .exporter(Stuck {
            released: released.clone(),
            delivered: delivered.clone(),
        })
        .finish()
        .unwrap();
    // If sending ever blocked on the backend, the loop below would hang: release the
    // exporter after a while so that regression fails the assertion instead.
    let watchdog = released.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(20));
        watchdog.store(true, Ordering::SeqCst);
    });
    let started = Instant::now();
    weft.in_scope(|| {
        for i in 0..5_000 {
            weft::info!("burst {i}", i);
        }
    });
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the caller never waits for the backend"
    );
    released.store(true, Ordering::SeqCst);
    assert!(weft.force_flush());
    let delivered = delivered.load(Ordering::SeqCst) as u64;
    // At most one batch in the stuck export, the queue, and the batch being filled.
    assert!(
        delivered <= 4 + 16 + 4,
        "memory stayed bounded: {delivered} delivered"
    );
    assert_eq!(
        delivered + weft.dropped_spans(),
        5_000,
        "every record is delivered or counted"
    );
}
