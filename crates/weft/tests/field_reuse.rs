//! Field lists, strings and boxes are handed back by the export thread and filled again
//! by whichever thread records next (`pipeline/returned.rs`, `export/reuse.rs`): under
//! many threads and many batches, every exported span must still carry exactly its own
//! attributes, late ones included, and nothing another span left behind.
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use weft::Value;

#[test]
fn reused_lists_and_strings_never_mix_attributes_between_spans() {
    const THREADS: usize = 6;
    const SPANS: usize = 3_000;
    let (builder, memory) = weft::testing::builder();
    let weft = Arc::new(
        builder
            .env(vec![("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "64")])
            .max_queue_size(4 * SPANS)
            .pending_spans(false)
            .finish()
            .unwrap(),
    );
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let weft = weft.clone();
            std::thread::spawn(move || {
                weft.in_scope(|| {
                    for n in 0..SPANS {
                        // A short string (inline), a long one (owned), a number, and on
                        // every third span a late attribute and a level.
                        let short = format!("t{t}n{n}");
                        let long = format!("{short}-{}", "x".repeat(40 + n % 7));
                        let span = weft::span!("span {short}", short, long, n);
                        if n % 3 == 0 {
                            span.set_attribute("late", n * 10);
                            span.set_level(weft::Level::Warn);
                        }
                        drop(span);
                        if n % 5 == 0 {
                            weft::info!("log {short}", short);
                        }
                    }
                })
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(weft.force_flush());
    assert_eq!(weft.dropped_spans(), 0);
    let records = memory.spans();
    let text = |v: Option<&Value>| match v {
        Some(Value::Str(s)) => s.to_string(),
        other => panic!("not a string: {other:?}"),
    };
    let (mut spans, mut logs) = (0, 0);
    for r in &records {
        let short = text(r.attribute("short"));
        assert_eq!(
            r.message().split_once(' ').map(|(_, m)| m),
            Some(short.as_str())
        );
        if r.name.starts_with("log") {
            logs += 1;
            assert_eq!(r.attributes.len(), 1, "{r:?}");
            continue;
        }
        spans += 1;
        let n: i64 = match r.attribute("n") {
            Some(Value::I64(n)) => *n,
            other => panic!("no n: {other:?}"),
        };
        assert!(short.ends_with(&format!("n{n}")), "{short} {n}");
        let long = text(r.attribute("long"));
        assert_eq!(long, format!("{short}-{}", "x".repeat(40 + n as usize % 7)));
        let late = r.attribute("late");
        if n % 3 == 0 {
            assert_eq!(late, Some(&Value::I64(n * 10)));
            assert_eq!(r.level, Some(weft::Level::Warn));
            assert_eq!(r.attributes.len(), 4);
        } else {
            assert_eq!(late, None, "a late attribute of another span: {r:?}");
            assert_eq!(r.level, None, "another span's level: {r:?}");
            assert_eq!(r.attributes.len(), 3, "{r:?}");
        }
    }
    assert_eq!(spans, THREADS * SPANS);
    assert_eq!(logs, THREADS * SPANS / 5);
}
