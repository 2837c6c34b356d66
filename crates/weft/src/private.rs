//! What the macros expand to. Not a stable API: use the macros.

use crate::level::Level;
use crate::pipeline::returned;
use crate::pipeline::started::Site;
use crate::span::{Span, StartArgs};
pub use crate::value::{Field, FieldValue, ShortText};
use serde::Serialize;

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
    () => { [] };
    ($($key:ident $(= $value:expr)?),+) => {
        [$(
            (
                ::std::borrow::Cow::Borrowed(::core::stringify!($key)),
                $crate::__private::to_field(&$crate::__private::field_value!($key $(= $value)?)),
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

/// Converts a macro field's value (short strings stay inline: see [`FieldValue`]).
#[inline]
pub fn to_field<T: Serialize + ?Sized>(value: &T) -> FieldValue {
    FieldValue::from_serialize(value)
}

/// Starts a span for a `span!` call site (or a `#[weft::instrument]` function, whose
/// call site names the function).
pub fn start_span<const N: usize>(callsite: &'static Callsite, attributes: [Field; N]) -> Span {
    Span::start(StartArgs {
        site: Site::Callsite(callsite),
        attributes: returned::list_of(attributes),
        links: Vec::new(),
        parent: None,
    })
}

/// Records a log for a log-macro call site.
pub fn emit_log<const N: usize>(callsite: &'static Callsite, level: Level, attributes: [Field; N]) {
    crate::log::emit(crate::log::LogArgs {
        site: Site::Callsite(callsite),
        level,
        attributes: returned::list_of(attributes),
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
