//! What crosses from an application thread to the export thread when a span starts or
//! a log is made: a compact message, written straight into the thread's ring.
//!
//! Why not the finished [`SpanRecord`]: it is 350 bytes, six cache lines, and every line
//! the application thread writes and the export thread then reads is a transfer between
//! cores. A span made by a weft macro sends its ids, times, attributes and a pointer to
//! its call site's `static` (which holds the name, template, level and code location);
//! the export thread builds the record from that, in memory that stays on its own core.

use crate::export::reuse::Reuse;
use crate::level::Level;
use crate::pipeline::returned;
use crate::record::{CodeLocation, SpanLink, SpanRecord, SpanType, Status, ThreadInfo};
use crate::span::Callsite;
use crate::value::Field;
use opentelemetry::trace::{SpanContext, SpanId, SpanKind, TraceFlags, TraceId, TraceState};
use std::borrow::Cow;

/// The parts of a record fixed where it is made: a macro's call site, or the values
/// given by a `tracing` span, an OpenTelemetry tracer or an integration.
#[derive(Debug)]
pub(crate) enum Site {
    /// A weft macro's call site: the name and template are its template, the scope `weft`.
    Callsite(&'static Callsite),
    /// Anything else; boxed, so the common case stays small.
    Owned(Box<OwnedSite>),
}

/// A site's parts, given one by one.
#[derive(Debug)]
pub(crate) struct OwnedSite {
    pub(crate) name: Cow<'static, str>,
    pub(crate) template: Option<Cow<'static, str>>,
    pub(crate) level: Option<Level>,
    pub(crate) kind: SpanKind,
    pub(crate) code: Option<CodeLocation>,
    pub(crate) scope: Cow<'static, str>,
}

impl Site {
    /// A site with no template, no level and no code location (integrations, messaging).
    pub(crate) fn named(name: Cow<'static, str>, kind: SpanKind, scope: Cow<'static, str>) -> Site {
        Site::owned(OwnedSite {
            name,
            template: None,
            level: None,
            kind,
            code: None,
            scope,
        })
    }

    /// A site given part by part (in a box the export thread handed back, if any).
    pub(crate) fn owned(site: OwnedSite) -> Site {
        Site::Owned(returned::site_box(site))
    }

    /// The level given where the span was made, if any.
    pub(crate) fn level(&self) -> Option<Level> {
        match self {
            Site::Callsite(c) => c.level,
            Site::Owned(o) => o.level,
        }
    }
}

/// What a record needs only sometimes: kept out of line so the message stays small.
#[derive(Debug)]
pub(crate) struct Rare {
    pub(crate) trace_state: TraceState,
    pub(crate) links: Vec<SpanLink>,
}

/// A span's start or a log, as it crosses the ring.
#[derive(Debug)]
pub(crate) struct Started {
    /// As bytes: a `TraceId` is a `u128`, whose 16-byte alignment would pad the message.
    pub(crate) trace_id: [u8; 16],
    pub(crate) span_id: SpanId,
    /// `SpanId::INVALID` for a root.
    pub(crate) parent_span_id: SpanId,
    pub(crate) start_ns: u64,
    pub(crate) site: Site,
    /// The fields, as the macro or integration gave them.
    pub(crate) attributes: Vec<Field>,
    /// Trace state and links, when there are any.
    pub(crate) rare: Option<Box<Rare>>,
    /// The thread's number ([`ThreadInfo::current`]).
    pub(crate) thread: u64,
    pub(crate) flags: TraceFlags,
    pub(crate) parent_is_remote: bool,
    /// A log's level (`None` for spans: theirs is the site's, or set later).
    pub(crate) log_level: Option<Level>,
}

impl Started {
    /// Puts `trace_state` and `links` out of line, or nowhere when both are empty.
    #[inline]
    pub(crate) fn rare(trace_state: &TraceState, links: Vec<SpanLink>) -> Option<Box<Rare>> {
        if links.is_empty() && *trace_state == TraceState::NONE {
            return None;
        }
        Some(Box::new(Rare {
            trace_state: trace_state.clone(),
            links,
        }))
    }

    /// The record the exporters will see (built on the export thread, with memory it
    /// reuses).
    pub(crate) fn into_record(self, reuse: &mut Reuse) -> SpanRecord {
        let attributes = reuse.attributes_of(self.attributes);
        let (trace_state, links) = match self.rare {
            Some(rare) => (rare.trace_state, rare.links),
            None => (TraceState::NONE, Vec::new()),
        };
        let (name, template, site_level, kind, code, scope) = match self.site {
            Site::Callsite(c) => (
                Cow::Borrowed(c.template),
                Some(Cow::Borrowed(c.template)),
                c.level,
                SpanKind::Internal,
                Some(c.code),
                Cow::Borrowed("weft"),
            ),
            Site::Owned(mut o) => {
                let parts = (
                    std::mem::take(&mut o.name),
                    o.template.take(),
                    o.level,
                    o.kind.clone(),
                    o.code.take(),
                    std::mem::take(&mut o.scope),
                );
                reuse.sites.give(o);
                parts
            }
        };
        let (span_type, level, status) = match self.log_level {
            // Logfire marks `error` and `fatal` logs as failed.
            Some(level) if level >= Level::Error => {
                (SpanType::Log, Some(level), Status::Error(String::new()))
            }
            Some(level) => (SpanType::Log, Some(level), Status::Unset),
            None => (SpanType::Span, site_level, Status::Unset),
        };
        SpanRecord {
            span_context: SpanContext::new(
                TraceId::from_bytes(self.trace_id),
                self.span_id,
                self.flags,
                false,
                trace_state,
            ),
            parent_span_id: self.parent_span_id,
            parent_is_remote: self.parent_is_remote,
            name,
            template,
            kind,
            span_type,
            level,
            start_ns: self.start_ns,
            end_ns: self.start_ns,
            attributes,
            events: Vec::new(),
            links,
            status,
            code,
            thread: ThreadInfo {
                id: self.thread,
                name: None,
            },
            scope,
        }
    }
}
