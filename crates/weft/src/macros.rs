//! `span!` and the log macros. Each call site keeps its template, level and location in
//! a `static`, checks the process-wide level floor first (one load, one branch when
//! filtered out), and only then evaluates its fields.

/// Starts a span named by a message template; named fields fill the template and
/// become attributes.
///
/// ```
/// let user = "ada";
/// let span = weft::span!("Handling {user}", user, attempt = 1).entered();
/// let quiet = weft::span!(level: weft::Level::Debug, "cache lookup");
/// # drop((span, quiet));
/// ```
#[macro_export]
macro_rules! span {
    (level: $level:expr, $template:literal $(, $key:ident $(= $value:expr)?)* $(,)?) => {{
        static __WEFT_CALLSITE: $crate::__private::Callsite = $crate::__private::Callsite {
            template: $template,
            level: ::core::option::Option::Some($level),
            code: $crate::__private::code!(),
        };
        if $crate::__private::enabled($level) {
            $crate::__private::start_span(
                &__WEFT_CALLSITE,
                $crate::__private::fields!($($key $(= $value)?),*),
            )
        } else {
            $crate::Span::none()
        }
    }};
    ($template:literal $(, $key:ident $(= $value:expr)?)* $(,)?) => {{
        static __WEFT_CALLSITE: $crate::__private::Callsite = $crate::__private::Callsite {
            template: $template,
            level: ::core::option::Option::None,
            code: $crate::__private::code!(),
        };
        if $crate::__private::enabled($crate::Level::Info) {
            $crate::__private::start_span(
                &__WEFT_CALLSITE,
                $crate::__private::fields!($($key $(= $value)?),*),
            )
        } else {
            $crate::Span::none()
        }
    }};
}

/// Records a log at a level given as an expression: `log!(Level::Warn, "…", x)`.
///
/// ```
/// weft::log!(weft::Level::Notice, "cache warmed with {entries} entries", entries = 12);
/// ```
#[macro_export]
macro_rules! log {
    ($level:expr, $template:literal $(, $key:ident $(= $value:expr)?)* $(,)?) => {{
        static __WEFT_CALLSITE: $crate::__private::Callsite = $crate::__private::Callsite {
            template: $template,
            level: ::core::option::Option::Some($level),
            code: $crate::__private::code!(),
        };
        if $crate::__private::enabled($level) {
            $crate::__private::emit_log(
                &__WEFT_CALLSITE,
                $level,
                $crate::__private::fields!($($key $(= $value)?),*),
            );
        }
    }};
}

macro_rules! level_macro {
    ($(#[$doc:meta])* $name:ident, $level:ident, $d:tt) => {
        $(#[$doc])*
        #[macro_export]
        macro_rules! $name {
            ($d template:literal $d(, $d key:ident $d(= $d value:expr)?)* $d(,)?) => {
                $crate::log!($crate::Level::$level, $d template $d(, $d key $d(= $d value)?)*)
            };
        }
    };
}

level_macro!(
    /// A `trace`-level log (`logfire.level_num` 1).
    ///
    /// ```
    /// weft::trace!("polled {n} times", n = 3);
    /// ```
    trace, Trace, $
);
level_macro!(
    /// A `debug`-level log (5).
    ///
    /// ```
    /// weft::debug!("cache miss for {key}", key = "user:1");
    /// ```
    debug, Debug, $
);
level_macro!(
    /// An `info`-level log (9).
    ///
    /// ```
    /// let x = 2;
    /// weft::info!("Doubling {x}", x);
    /// ```
    info, Info, $
);
level_macro!(
    /// A `notice`-level log (10).
    ///
    /// ```
    /// weft::notice!("config reloaded");
    /// ```
    notice, Notice, $
);
level_macro!(
    /// A `warn`-level log (13).
    ///
    /// ```
    /// weft::warn!("retrying {attempt}", attempt = 2);
    /// ```
    warn, Warn, $
);
level_macro!(
    /// An `error`-level log (17); its status is error.
    ///
    /// ```
    /// weft::error!("payment declined for {order}", order = 42);
    /// ```
    error, Error, $
);
level_macro!(
    /// A `fatal`-level log (21); its status is error.
    ///
    /// ```
    /// weft::fatal!("cannot open the database");
    /// ```
    fatal, Fatal, $
);
