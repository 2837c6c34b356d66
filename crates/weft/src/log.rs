//! Logs, Logfire-style: a zero-duration span with `logfire.span_type = "log"` under the
//! current span, so a log sits in the trace tree exactly where it happened.

use crate::level::Level;
use crate::pipeline::Pipeline;
use crate::pipeline::started::{Site, Started};
use crate::record::ThreadInfo;
use crate::span::RANDOM_TRACE_ID_FLAG;
use crate::value::Field;
use opentelemetry::Context;
use opentelemetry::trace::{SpanContext, SpanKind, TraceContextExt, TraceFlags, TraceState};
use std::borrow::Cow;

/// What a log is made of.
pub(crate) struct LogArgs {
    /// Name, template, code location and scope (the level is `level`).
    pub(crate) site: Site,
    pub(crate) level: Level,
    pub(crate) attributes: Vec<Field>,
    /// `None`: under the current span.
    pub(crate) parent: Option<SpanContext>,
}

/// Records a log under the current span (or `args.parent`).
pub(crate) fn emit(args: LogArgs) {
    if crate::suppress::is_suppressed() {
        return;
    }
    let (current, pipeline) =
        Context::map_current(|cx| (cx.span().span_context().clone(), Pipeline::for_context(cx)));
    let parent = args.parent.unwrap_or(current);
    let Some(pipeline) = pipeline else { return };
    let parent = match (&pipeline.0.default_parent, parent.is_valid()) {
        (Some(from_env), false) => from_env.clone(),
        _ => parent,
    };
    if args.level < pipeline.0.min_level {
        return;
    }
    let parent_valid = parent.is_valid();
    // A new trace's id embeds its start time: one clock reading serves both.
    let root_now = (!parent_valid && pipeline.0.ids.is_random()).then(|| pipeline.now_ns());
    let (trace_id, span_id) = pipeline.new_ids(parent_valid.then(|| parent.trace_id()), root_now);
    // Logs under an unsampled span are not exported either.
    if !pipeline.0.sampler.records || !pipeline.0.sampler.should_sample(&parent, trace_id) {
        return;
    }
    let (flags, state) = if parent_valid {
        (parent.trace_flags(), parent.trace_state().clone())
    } else if pipeline.0.ids.is_random() {
        (TraceFlags::new(RANDOM_TRACE_ID_FLAG), TraceState::NONE)
    } else {
        (TraceFlags::default(), TraceState::NONE)
    };
    let now = root_now.unwrap_or_else(|| pipeline.now_ns());
    pipeline.send_log(Started {
        trace_id: trace_id.to_bytes(),
        span_id,
        parent_span_id: parent.span_id(),
        start_ns: now,
        site: args.site,
        attributes: args.attributes,
        rare: Started::rare(&state, Vec::new()),
        thread: ThreadInfo::current().id,
        flags: flags.with_sampled(true),
        parent_is_remote: parent_valid && parent.is_remote(),
        log_level: Some(args.level),
    })
}

/// Emits weft's own warning (e.g. the `distributed_tracing` one) as a Logfire warn log
/// under the current span. The text is the name and the message, not a template, so
/// braces in it are not placeholders.
pub(crate) fn internal_warning(message: &str) {
    emit(LogArgs {
        site: Site::named(
            Cow::Owned(message.to_owned()),
            SpanKind::Internal,
            Cow::Borrowed("weft"),
        ),
        level: Level::Warn,
        attributes: Vec::new(),
        parent: None,
    });
}
