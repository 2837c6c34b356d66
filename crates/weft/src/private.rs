//! What the macros expand to. Not a stable API: use the macros.

use crate::level::Level;
use crate::record::{Attribute, CodeLocation};
use crate::span::{Span, StartArgs};
use crate::value::Value;
use opentelemetry::trace::SpanKind;
use serde::Serialize;
use std::borrow::Cow;

pub use crate::span::Callsite;

/// The call site's location.
#[macro_export]
#[doc(hidden)]
macro_rules! __weft_code {
    () => {
        $crate::export::CodeLocation {
            filepath: ::core::file!(),
            lineno: ::core::line!(),
            function: ::core::option::Option::None,
            namespace: ::core::module_path!(),
        }
    };
}
pub use crate::__weft_code as code;

/// The attribute list of a macro call: `key = value` or a bare `key` meaning `key = key`.
#[macro_export]
#[doc(hidden)]
macro_rules! __weft_fields {
    () => { ::std::vec::Vec::new() };
    ($($key:ident $(= $value:expr)?),+) => {
        ::std::vec![$(
            (
                ::std::borrow::Cow::Borrowed(::core::stringify!($key)),
                $crate::__private::to_value(&$crate::__private::field_value!($key $(= $value)?)),
            )
        ),+]
    };
}
pub use crate::__weft_fields as fields;

/// `key = value` gives `value`; a bare `key` gives the variable `key`.
#[macro_export]
#[doc(hidden)]
macro_rules! __weft_field_value {
    ($key:ident = $value:expr) => {
        $value
    };
    ($key:ident) => {
        $key
    };
}
pub use crate::__weft_field_value as field_value;

/// The process-wide level floor check.
#[inline(always)]
pub fn enabled(level: Level) -> bool {
    crate::level::enabled(level)
}

/// Converts a field value.
#[inline]
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Value {
    Value::from_serialize(value)
}

/// Starts a span for a `span!` call site.
pub fn start_span(callsite: &'static Callsite, attributes: Vec<Attribute>) -> Span {
    start_span_in(callsite, attributes, None)
}

/// Starts a span for `#[weft::instrument]`, which knows the function's name.
pub fn start_fn_span(
    callsite: &'static Callsite,
    function: &'static str,
    attributes: Vec<Attribute>,
) -> Span {
    start_span_in(callsite, attributes, Some(function))
}

fn start_span_in(
    callsite: &'static Callsite,
    attributes: Vec<Attribute>,
    function: Option<&'static str>,
) -> Span {
    let code = CodeLocation {
        function: function.or(callsite.code.function),
        ..callsite.code
    };
    Span::start(StartArgs {
        name: Cow::Borrowed(callsite.template),
        template: Some(Cow::Borrowed(callsite.template)),
        level: callsite.level,
        kind: SpanKind::Internal,
        code: Some(code),
        attributes,
        links: Vec::new(),
        parent: None,
        scope: Cow::Borrowed("weft"),
    })
}

/// Records a log for a log-macro call site.
pub fn emit_log(callsite: &'static Callsite, level: Level, attributes: Vec<Attribute>) {
    crate::log::emit(crate::log::LogArgs {
        name: Cow::Borrowed(callsite.template),
        template: Some(Cow::Borrowed(callsite.template)),
        level,
        code: Some(callsite.code),
        attributes,
        scope: Cow::Borrowed("weft"),
        parent: None,
    });
}

/// Records a function's `Err` on its span (used by `#[weft::instrument]`).
pub fn record_err<E: std::fmt::Debug + ?Sized>(span: &Span, error: &E) {
    let text = format!("{error:?}");
    span.set_error(text.clone());
    span.set_level(Level::Error);
    span.set_attribute("error", text);
}
