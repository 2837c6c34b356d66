//! Records wait in a buffer per thread until it fills or the export thread sweeps it:
//! a span whose end arrives before its start is still exported whole, a quiet thread's
//! records go out at a flush, and several threads' records are handled in the order
//! they were made.
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::mpsc;
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, SystemTime};
use weft::export::{ExportError, SpanExporter, SpanRecord};

/// An hour between scheduled exports and batches of 64 (buffers hand off every 16
/// records): only a full batch or a flush exports.
fn env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("OTEL_BSP_SCHEDULE_DELAY", "3600000"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "64"),
    ]
}

#[test]
fn a_span_whose_end_is_handled_before_its_start_is_exported_whole() {
    use opentelemetry::trace::{Span as _, Tracer, TracerProvider as _};
    let (builder, memory) = weft::testing::builder();
    let weft = Arc::new(builder.env(env()).pending_spans(false).finish().unwrap());
    let tracer = weft::WeftTracerProvider::new().tracer("some-crate");
    let at = |s| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
    // Started on one thread, with a start time after the end time it is given on
    // another: the export thread, putting both threads' records in time order, sees
    // the end first.
    let (span_tx, span_rx) = mpsc::channel();
    let hold = Arc::new(Barrier::new(3));
    let starter = {
        let (weft, hold) = (weft.clone(), hold.clone());
        std::thread::spawn(move || {
            let span = weft.in_scope(|| {
                tracer
                    .span_builder("moved between threads")
                    .with_start_time(at(1_700_000_010))
                    .start(&tracer)
            });
            span_tx.send(span).unwrap();
            hold.wait();
        })
    };
    let mut span = span_rx.recv().unwrap();
    let ender = {
        let hold = hold.clone();
        std::thread::spawn(move || {
            span.end_with_timestamp(at(1_700_000_000));
            hold.wait();
        })
    };
    // Both threads hold their records (an hour's schedule, no full batch) until this
    // flush takes them together.
    std::thread::sleep(Duration::from_millis(100));
    assert!(weft.force_flush());
    let spans = memory.spans();
    assert_eq!(spans.len(), 1, "exported once, whole: {spans:?}");
    assert_eq!(spans[0].name, "moved between threads");
    assert_eq!(spans[0].start_ns, 1_700_000_010 * 1_000_000_000);
    assert_eq!(
        spans[0].end_ns, spans[0].start_ns,
        "an end before the start is clamped"
    );
    assert_eq!(
        weft.dropped_spans(),
        0,
        "the early end was not counted as lost"
    );
    hold.wait();
    starter.join().unwrap();
    ender.join().unwrap();
}

#[test]
fn a_quiet_thread_s_records_are_exported_at_a_flush_while_it_lives() {
    let (builder, memory) = weft::testing::builder();
    let weft = Arc::new(builder.env(env()).pending_spans(false).finish().unwrap());
    let made = Arc::new(Barrier::new(2));
    let checked = Arc::new(Barrier::new(2));
    let quiet = {
        let (weft, made, checked) = (weft.clone(), made.clone(), checked.clone());
        std::thread::spawn(move || {
            weft.in_scope(|| {
                for i in 0..3 {
                    let _s = weft::span!("quiet {i}", i).entered();
                }
            });
            made.wait();
            checked.wait();
        })
    };
    made.wait();
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        memory.records().is_empty(),
        "three records wait for a sweep"
    );
    assert!(weft.force_flush());
    assert_eq!(
        memory.spans().len(),
        3,
        "the flush swept the live thread's buffer"
    );
    checked.wait();
    quiet.join().unwrap();
}

/// Remembers the names of starting spans in the order the export thread sees them.
#[derive(Clone, Default)]
struct StartOrder(Arc<Mutex<Vec<String>>>);

impl SpanExporter for StartOrder {
    fn export(&mut self, _batch: &[SpanRecord]) -> Result<(), ExportError> {
        Ok(())
    }
    fn on_start(&mut self, record: &SpanRecord) {
        self.0.lock().unwrap().push(record.name.to_string());
    }
}

#[test]
fn records_of_several_threads_are_handled_in_the_order_they_were_made() {
    let order = StartOrder::default();
    let (builder, _memory) = weft::testing::builder();
    let weft = Arc::new(
        builder
            .env(env())
            .exporter(order.clone())
            .deterministic()
            .finish()
            .unwrap(),
    );
    // Two live threads take turns: first a, then b, then c on a's thread. Swept buffer
    // by buffer that would be a, c, b; the console would print a child before its
    // parent the same way.
    let (to_b, b_turn) = mpsc::channel::<()>();
    let (to_a, a_turn) = mpsc::channel::<()>();
    let (c_made, c_is_made) = mpsc::channel::<()>();
    // Both threads stay alive until the flush, so the sweep takes live buffers.
    let hold = Arc::new(Barrier::new(3));
    let a = {
        let (weft, hold) = (weft.clone(), hold.clone());
        std::thread::spawn(move || {
            weft.in_scope(|| drop(weft::span!("a")));
            to_b.send(()).unwrap();
            a_turn.recv().unwrap();
            weft.in_scope(|| drop(weft::span!("c")));
            c_made.send(()).unwrap();
            hold.wait();
        })
    };
    let b = {
        let (weft, hold) = (weft.clone(), hold.clone());
        std::thread::spawn(move || {
            b_turn.recv().unwrap();
            weft.in_scope(|| drop(weft::span!("b")));
            to_a.send(()).unwrap();
            hold.wait();
        })
    };
    c_is_made.recv().unwrap();
    assert!(weft.force_flush());
    assert_eq!(*order.0.lock().unwrap(), ["a", "b", "c"]);
    hold.wait();
    a.join().unwrap();
    b.join().unwrap();
}

#[test]
fn many_threads_handing_spans_to_each_other_lose_nothing() {
    // Eight threads start spans and hand each to the next thread, which ends it: ends
    // and starts of one span sit in different threads' queues and are taken in any
    // order. Queues large enough that nothing may be dropped for lack of room.
    const THREADS: usize = 8;
    const SPANS: usize = 2_000;
    let (builder, memory) = weft::testing::builder();
    let weft = Arc::new(
        builder
            .env(vec![("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "64")])
            .max_queue_size(4 * SPANS)
            .pending_spans(false)
            .finish()
            .unwrap(),
    );
    let (senders, receivers): (Vec<_>, Vec<_>) =
        (0..THREADS).map(|_| mpsc::channel::<weft::Span>()).unzip();
    let threads: Vec<_> = receivers
        .into_iter()
        .enumerate()
        .map(|(i, rx)| {
            let next = senders[(i + 1) % THREADS].clone();
            let weft = weft.clone();
            std::thread::spawn(move || {
                weft.in_scope(|| {
                    for n in 0..SPANS {
                        let span = weft::span!("handed {i} {n}", i, n);
                        next.send(span).unwrap();
                        // End what the previous thread handed over, as it comes.
                        while let Ok(theirs) = rx.try_recv() {
                            drop(theirs);
                        }
                    }
                });
                drop(next);
                rx
            })
        })
        .collect();
    drop(senders);
    let leftovers: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    for rx in leftovers {
        for span in rx.try_iter() {
            drop(span);
        }
    }
    assert!(weft.force_flush());
    let spans = memory.spans();
    assert_eq!(weft.dropped_spans(), 0);
    assert_eq!(
        spans.len(),
        THREADS * SPANS,
        "every span exported once, whole"
    );
    assert!(spans.iter().all(|s| s.end_ns >= s.start_ns));
}
