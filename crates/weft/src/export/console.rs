//! Logfire-style console output on stderr: time, level, message, indented by nesting.
//!
//! Spans print when they start and logs when they are made, from the export thread,
//! so the application never waits on the terminal. Colour only when stderr is a
//! terminal.

use super::{ExportError, SpanExporter};
use crate::level::Level;
use crate::record::{SpanRecord, SpanType};
use opentelemetry::trace::SpanId;
use std::collections::HashMap;
use std::io::{IsTerminal, Write};

/// Prints spans and logs as they happen.
pub(crate) struct ConsoleExporter {
    min_level: Level,
    colour: bool,
    depth: HashMap<SpanId, usize>,
}

impl ConsoleExporter {
    pub(crate) fn new(min_level: Level) -> Self {
        ConsoleExporter {
            min_level,
            colour: std::io::stderr().is_terminal(),
            depth: HashMap::new(),
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
            self.depth.insert(record.span_context.span_id(), depth);
        }
        if record.level.unwrap_or(Level::Info) < self.min_level {
            return;
        }
        // Nothing useful can be done if stderr is closed.
        let _ = std::io::stderr()
            .lock()
            .write_all(self.line(record, depth).as_bytes());
    }

    fn export(&mut self, batch: &[SpanRecord]) -> Result<(), ExportError> {
        for r in batch.iter().filter(|r| r.span_type == SpanType::Span) {
            self.depth.remove(&r.span_context.span_id());
        }
        Ok(())
    }
}
