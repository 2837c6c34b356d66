//! Logfire-style console output on stderr: time, level, message, indented by nesting.
//!
//! Spans print when they start and logs when they are made, from the export thread,
//! so the application never waits on the terminal. Colour only when stderr is a
//! terminal. Levels other than info are tagged (`[warn] …`) so they stand out without
//! colour too.
//!
//! The time is UTC (`HH:MM:SS.mmm`), where the Logfire SDKs print local time: the
//! local offset needs the system's time-zone database, which weft does not read, and
//! UTC lines up with the timestamps the backends show.

use super::{ExportError, SpanExporter};
use crate::level::Level;
use crate::record::{SpanRecord, SpanType};
use opentelemetry::trace::SpanId;
use std::collections::HashMap;
use std::io::{IsTerminal, Write};

/// How many open spans the console remembers the nesting depth of. Entries leave when
/// the span's end is exported; spans that never end (leaked, or refused by a full
/// export queue) would otherwise stay for the life of the process. Past the bound the
/// map is cleared: the only cost is that spans open at that moment print their
/// children unindented.
const MAX_TRACKED_SPANS: usize = 10_000;

/// Prints spans and logs as they happen.
pub(crate) struct ConsoleExporter {
    min_level: Level,
    colour: bool,
    depth: HashMap<SpanId, usize>,
    out: Box<dyn Write + Send>,
}

impl ConsoleExporter {
    /// Prints on stderr, in colour if stderr is a terminal.
    pub(crate) fn new(min_level: Level) -> Self {
        let colour = std::io::stderr().is_terminal();
        ConsoleExporter::with_writer(min_level, Box::new(std::io::stderr()), colour)
    }

    /// Prints into `out` (tests pass a buffer).
    pub(crate) fn with_writer(min_level: Level, out: Box<dyn Write + Send>, colour: bool) -> Self {
        ConsoleExporter {
            min_level,
            colour,
            depth: HashMap::new(),
            out,
        }
    }

    fn line(&self, record: &SpanRecord, depth: usize) -> String {
        let secs = record.start_ns / 1_000_000_000;
        let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
        let ms = (record.start_ns / 1_000_000) % 1000;
        let level = record.level.unwrap_or(Level::Info);
        let tag = match level {
            Level::Info => String::new(),
            other => format!("[{other}] "),
        };
        let indent = "  ".repeat(depth);
        let msg = record.message();
        if self.colour {
            let colour = match level {
                Level::Trace | Level::Debug => "\x1b[2m",
                Level::Info | Level::Notice => "",
                Level::Warn => "\x1b[33m",
                Level::Error | Level::Fatal => "\x1b[31m",
            };
            format!(
                "\x1b[90m{h:02}:{m:02}:{s:02}.{ms:03}\x1b[0m {indent}{colour}{tag}{msg}\x1b[0m\n"
            )
        } else {
            format!("{h:02}:{m:02}:{s:02}.{ms:03} {indent}{tag}{msg}\n")
        }
    }
}

impl SpanExporter for ConsoleExporter {
    fn on_start(&mut self, record: &SpanRecord) {
        let depth = self.depth.get(&record.parent_span_id).map_or(0, |d| d + 1);
        if record.span_type == SpanType::Span {
            if self.depth.len() >= MAX_TRACKED_SPANS {
                self.depth.clear();
            }
            self.depth.insert(record.span_context.span_id(), depth);
        }
        if record.level.unwrap_or(Level::Info) < self.min_level {
            return;
        }
        // Nothing useful can be done if stderr is closed. One write per line, so lines
        // from other writers to stderr do not cut into it.
        let line = self.line(record, depth);
        let _ = self.out.write_all(line.as_bytes());
        let _ = self.out.flush();
    }

    fn export(&mut self, batch: &[SpanRecord]) -> Result<(), ExportError> {
        for r in batch.iter().filter(|r| r.span_type == SpanType::Span) {
            self.depth.remove(&r.span_context.span_id());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Status, ThreadInfo};
    use opentelemetry::trace::{SpanContext, SpanKind, TraceFlags, TraceId, TraceState};
    use std::borrow::Cow;
    use std::sync::{Arc, Mutex};

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Buffer {
        fn text(&self) -> String {
            let bytes = self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            String::from_utf8_lossy(&bytes).into_owned()
        }
    }

    fn record(
        id: u64,
        parent: u64,
        kind: SpanType,
        level: Option<Level>,
        msg: &'static str,
    ) -> SpanRecord {
        SpanRecord {
            span_context: SpanContext::new(
                TraceId::from(1_u128),
                SpanId::from(id),
                TraceFlags::SAMPLED,
                false,
                TraceState::NONE,
            ),
            parent_span_id: SpanId::from(parent),
            parent_is_remote: false,
            name: Cow::Borrowed(msg),
            template: None,
            kind: SpanKind::Internal,
            span_type: kind,
            level,
            // 13:45:07.089 UTC on some day.
            start_ns: (((13 * 60 + 45) * 60 + 7) * 1_000 + 89) * 1_000_000
                + 86_400 * 1_000_000_000 * 19_000,
            end_ns: 0,
            attributes: Vec::new(),
            events: Vec::new(),
            links: Vec::new(),
            status: Status::Unset,
            code: None,
            thread: ThreadInfo { id: 1, name: None },
            scope: Cow::Borrowed("weft"),
        }
    }

    fn console(colour: bool) -> (ConsoleExporter, Buffer) {
        let buffer = Buffer::default();
        (
            ConsoleExporter::with_writer(Level::Info, Box::new(buffer.clone()), colour),
            buffer,
        )
    }

    #[test]
    fn colour_only_when_asked_and_levels_tagged() {
        let (mut plain, plain_out) = console(false);
        let (mut coloured, coloured_out) = console(true);
        for c in [&mut plain, &mut coloured] {
            c.on_start(&record(1, 0, SpanType::Log, Some(Level::Warn), "careful"));
            c.on_start(&record(2, 0, SpanType::Log, Some(Level::Info), "fine"));
        }
        assert_eq!(
            plain_out.text(),
            "13:45:07.089 [warn] careful\n13:45:07.089 fine\n"
        );
        let coloured = coloured_out.text();
        assert!(
            coloured.contains("\x1b[33m[warn] careful\x1b[0m"),
            "{coloured:?}"
        );
        assert!(
            coloured.contains("\x1b[90m13:45:07.089\x1b[0m"),
            "{coloured:?}"
        );
    }

    #[test]
    fn the_depth_map_is_bounded_by_spans_that_never_end() {
        let (mut c, _out) = console(false);
        for id in 1..=(MAX_TRACKED_SPANS as u64 * 2) {
            // Each a root that is never exported as ended: a leak.
            c.on_start(&record(id, 0, SpanType::Span, Some(Level::Debug), "leak"));
        }
        assert!(c.depth.len() <= MAX_TRACKED_SPANS);
        // Nesting still works after a clear.
        let base = MAX_TRACKED_SPANS as u64 * 3;
        c.on_start(&record(base, 0, SpanType::Span, None, "outer"));
        c.on_start(&record(base + 1, base, SpanType::Span, None, "inner"));
        assert_eq!(c.depth.get(&SpanId::from(base + 1)), Some(&1));
        // An exported end forgets the span.
        let _ = c.export(&[record(base + 1, base, SpanType::Span, None, "inner")]);
        assert!(!c.depth.contains_key(&SpanId::from(base + 1)));
    }
}
