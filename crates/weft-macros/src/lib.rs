//! `#[weft::instrument]`. Use it through the `weft` crate (feature `macros`, on by
//! default), never from this crate directly: the expansion names `::weft`.
//!
//! Parsing lives in `args`, the syntax questions (bindings, `Result`, async bodies) in
//! `inspect`, and code generation in `expand`.

mod args;
mod expand;
mod inspect;

use proc_macro::TokenStream;

/// Runs a function inside a span, as Logfire's `@logfire.instrument` does.
///
/// The span is named by a message template: the string given, or
/// `"Calling {module path}::{function}"` (Logfire's `Calling module.function`).
/// Arguments become attributes, so `{x}` in the template is filled with `x`'s value in
/// `logfire.msg`. `code.function` is the function's name and `code.lineno` the line of
/// the attribute.
///
/// ```
/// #[weft::instrument("Doubling {x}")]
/// fn double(x: i32) -> i32 {
///     x * 2
/// }
///
/// // name `Calling my_crate::checkout`; attributes `user` and `items`
/// #[weft::instrument]
/// fn checkout(user: &str, items: &[u32]) -> usize {
///     items.len()
/// }
/// # assert_eq!(double(2) + checkout("ada", &[1]) as i32, 5);
/// ```
///
/// # Arguments
///
/// | argument | effect |
/// |---|---|
/// | `"Doubling {x}"` | the message template (and span name) |
/// | `skip(a, b)` | do not record `a` and `b` |
/// | `skip_all` | record no argument |
/// | `level = "debug"` | the span's level (`trace` … `fatal`; also a constant such as `weft::Level::Debug`); without it the span has no level and is filtered as `info` |
/// | `err` | record `Err` even though the return type is an alias the macro cannot recognise |
/// | `skip_err` | never record `Err` |
///
/// # What is recorded
///
/// Every argument binding except `self` is recorded by reference (through
/// `serde::Serialize`) before the body runs, so it must implement `Serialize` or be
/// skipped; the compile error for a missing `Serialize` points at the argument.
/// Patterns record the names they bind (`(a, b): (i32, i32)` records `a` and `b`).
/// Arguments whose type contains `impl Trait` are never recorded.
///
/// ```
/// use std::collections::HashMap;
///
/// struct Cache(HashMap<String, String>);
///
/// impl Cache {
///     #[weft::instrument("Looking up {key}", skip(fallback), level = "debug")]
///     fn get(&self, key: &str, fallback: &dyn Fn() -> String) -> String {
///         self.0.get(key).cloned().unwrap_or_else(fallback)
///     }
/// }
/// # assert_eq!(Cache(HashMap::new()).get("k", &|| "v".into()), "v");
/// ```
///
/// # Errors
///
/// When the return type is spelled `…Result<…>` (`Result`, `io::Result`,
/// `anyhow::Result`…), a returned `Err` marks the span failed: status error, level
/// `error` and an `error` attribute holding the error's `Debug` text. That needs
/// `E: Debug`, which every error type has; `skip_err` turns it off. `return` and `?`
/// in the body work as usual.
///
/// ```
/// #[weft::instrument("Parsing {text}")]
/// fn parse(text: &str) -> Result<u16, std::num::ParseIntError> {
///     let n: u16 = text.trim().parse()?; // an Err here is recorded on the span
///     Ok(n * 2)
/// }
/// # assert!(parse("x").is_err());
/// ```
///
/// # Async
///
/// An `async fn` starts its span when first polled and keeps it current on every poll,
/// whichever thread polls it. A plain `fn` whose whole body is `async move { … }` (or
/// `Box::pin(async move { … })`, as `#[async_trait]` writes) starts its span when called
/// and returns the block running inside it.
///
/// ```
/// #[weft::instrument("Fetching {id}")]
/// async fn fetch(id: u64) -> Result<String, std::io::Error> {
///     Ok(format!("item {id}"))
/// }
/// ```
///
/// `const fn`s are rejected: a span starts at run time.
#[proc_macro_attribute]
pub fn instrument(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    let expanded = syn::parse::<args::Args>(attr)
        .and_then(|args| Ok((args, function(item.clone())?)))
        .and_then(|(args, function)| expand::instrument(&args, function));
    match expanded {
        Ok(tokens) => tokens.into(),
        // The function is kept as written beside the error, so its callers do not add
        // "cannot find function" errors of their own.
        Err(error) => {
            let mut tokens = error.to_compile_error();
            tokens.extend(item);
            tokens.into()
        }
    }
}

/// The annotated item as a function, or an error naming what it is instead.
fn function(item: proc_macro2::TokenStream) -> syn::Result<syn::ItemFn> {
    syn::parse2::<syn::ItemFn>(item.clone()).map_err(|error| match syn::parse2::<syn::Item>(item) {
        Ok(other) => syn::Error::new_spanned(
            other,
            "#[weft::instrument] can only be used on functions with a body",
        ),
        Err(_) => error,
    })
}
