//! Generating the instrumented function.
//!
//! The signature is kept as written; only the body changes. It first starts the span
//! (a `static` call site, the level pre-check, then the arguments as attributes), and
//! then runs the original body inside it in one of four shapes:
//!
//! | function | body becomes |
//! |---|---|
//! | sync | `let span = ….entered();` then the original statements |
//! | sync returning `…Result<…>` | the same, with the body in an immediately called `move` closure so a `return` or `?` still passes the `Err` check |
//! | `async fn` | the body in an `async move` block polled with the span current |
//! | `fn` whose body is `async {…}` or `Box::pin(async {…})` | that block polled with the span current, the span started at the call |
//!
//! Every path is absolute (`::weft`, `::core`, `::std`), so the expansion works under
//! `#![no_implicit_prelude]` and beside user items named `Result` or `Span`. The macro's
//! own locals are `mixed_site` identifiers: the user's body cannot see or shadow them.

use crate::args::{Args, ErrMode};
use crate::inspect::{self, AsyncBody};
use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{AttrStyle, Error, FnArg, Ident, ItemFn, ReturnType, Signature, Type};

const CONST_FN: &str = "#[weft::instrument] cannot be used on a `const fn`: \
                        a span starts at run time, and a `const fn` may run at compile time";

/// The instrumented function, or the first mistake found in `args` or the signature.
pub(crate) fn instrument(args: &Args, item: ItemFn) -> syn::Result<TokenStream> {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = item;
    if let Some(constness) = &sig.constness {
        return Err(Error::new_spanned(constness, CONST_FN));
    }
    let start = start_span(args, &sig, &fields(args, &sig)?);
    let body = if sig.asyncness.is_some() {
        async_fn(args, &sig, &block, &start)?
    } else if let Some(async_body) = inspect::async_body(&block) {
        async_block(args, &sig, &async_body, &start)?
    } else {
        sync_fn(args, &sig, &block, &start)?
    };
    // `#![…]` attributes belong inside the body; syn hands them over with the outer ones.
    let (inner, outer): (Vec<_>, Vec<_>) = attrs
        .iter()
        .partition(|a| matches!(a.style, AttrStyle::Inner(_)));
    Ok(quote! {
        #(#outer)*
        #vis #sig {
            #(#inner)*
            #body
        }
    })
}

/// The identifiers of the macro's own locals.
fn local(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// One `(name, value)` attribute per argument binding that is recorded. Each is spanned
/// on the binding, so "`T: Serialize` is not satisfied" points at the argument to skip.
fn fields(args: &Args, sig: &Signature) -> syn::Result<Vec<TokenStream>> {
    let mut bound: Vec<(Ident, bool)> = Vec::new();
    for input in &sig.inputs {
        // `self` is never recorded: it is rarely `Serialize` and rarely useful on a span.
        let FnArg::Typed(arg) = input else { continue };
        let mut names = Vec::new();
        inspect::bindings(&arg.pat, &mut names);
        let recordable = !inspect::has_impl_trait(&arg.ty);
        bound.extend(names.into_iter().map(|name| (name, recordable)));
    }
    let is_skipped = |name: &Ident| args.skip.iter().any(|s| s.unraw() == name.unraw());
    if let Some(unknown) = args
        .skip
        .iter()
        .find(|s| *s != "self" && !bound.iter().any(|(n, _)| n.unraw() == s.unraw()))
    {
        let message = format!("`{}` is not an argument of `{}`", unknown, sig.ident);
        return Err(Error::new_spanned(unknown, message));
    }
    if args.skip_all {
        return Ok(Vec::new());
    }
    let recorded = bound
        .iter()
        .filter(|(name, recordable)| *recordable && !is_skipped(name));
    Ok(recorded
        .map(|(name, _)| {
            let key = name.unraw().to_string();
            quote_spanned! {name.span()=>
                (::std::borrow::Cow::Borrowed(#key), ::weft::__private::to_field(&#name))
            }
        })
        .collect())
}

/// An expression giving the function's `weft::Span`.
fn start_span(args: &Args, sig: &Signature, fields: &[TokenStream]) -> TokenStream {
    let function = sig.ident.unraw().to_string();
    let template = match &args.template {
        Some(template) => template.to_token_stream(),
        // Logfire's `Calling module.function`, in Rust's spelling.
        None => quote!(::core::concat!("Calling ", ::core::module_path!(), "::", #function)),
    };
    let (callsite_level, filter_level) = match &args.level {
        Some(level) => (quote!(::core::option::Option::Some(#level)), level.clone()),
        // No level on the span, but filtered as `info`, as `weft::span!` is.
        None => (
            quote!(::core::option::Option::None),
            quote!(::weft::Level::Info),
        ),
    };
    quote! {{
        static __WEFT_CALLSITE: ::weft::__private::Callsite = ::weft::__private::Callsite {
            template: #template,
            level: #callsite_level,
            code: ::weft::export::CodeLocation {
                function: ::core::option::Option::Some(#function),
                ..::weft::__private::code!()
            },
        };
        if ::weft::__private::enabled(#filter_level) {
            ::weft::__private::start_span(&__WEFT_CALLSITE, [#(#fields),*])
        } else {
            ::weft::Span::none()
        }
    }}
}

/// Whether an `Err` of a function (or future) producing `output` is recorded.
fn records_err(args: &Args, sig: &Signature, output: Option<&Type>) -> syn::Result<bool> {
    match (args.err, output) {
        (ErrMode::Never, _) => Ok(false),
        (ErrMode::Auto, output) => Ok(output.is_some_and(inspect::is_result)),
        (ErrMode::Always, Some(_)) => Ok(true),
        (ErrMode::Always, None) => Err(Error::new_spanned(
            &sig.ident,
            "`err` needs a function that returns a `Result`",
        )),
    }
}

fn return_type(sig: &Signature) -> Option<&Type> {
    match &sig.output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => Some(ty),
    }
}

/// Statements that mark the span failed when `output` holds an `Err`. The error is
/// located at `at` (the error type, else the return type), so a missing `E: Debug`
/// is reported there rather than on the attribute.
fn check_err(span: &Ident, output: &Ident, at: Span) -> TokenStream {
    let error = Ident::new("__weft_error", Span::mixed_site().located_at(at));
    quote! {
        if let ::core::result::Result::Err(#error) = &#output {
            ::weft::__private::record_err(&#span, #error);
        }
    }
}

/// Where an error's missing `Debug` is reported: see [`check_err`].
fn err_span(output: Option<&Type>) -> Span {
    match output {
        Some(ty) => inspect::error_type(ty).unwrap_or(ty).span(),
        None => Span::call_site(),
    }
}

fn sync_fn(
    args: &Args,
    sig: &Signature,
    block: &syn::Block,
    start: &TokenStream,
) -> syn::Result<TokenStream> {
    let span = local("__weft_span");
    let ret = return_type(sig);
    if !records_err(args, sig, ret)? {
        let stmts = &block.stmts;
        return Ok(quote! {
            let #span = #start.entered();
            #(#stmts)*
        });
    }
    let output = local("__weft_output");
    // The closure's return type is written out so that `?` knows its target and the
    // body's values coerce as they would in the function (say to `Box<dyn Error>`).
    // `impl Trait` cannot be written there; inference does the job then.
    let annotation = match ret {
        Some(ty) if !inspect::has_impl_trait(ty) => quote!(-> #ty),
        _ => TokenStream::new(),
    };
    let check = check_err(&span, &output, err_span(ret));
    Ok(quote! {
        let #span = #start.entered();
        #[allow(clippy::redundant_closure_call)]
        let #output = (move || #annotation #block)();
        #check
        #output
    })
}

fn async_fn(
    args: &Args,
    sig: &Signature,
    block: &syn::Block,
    start: &TokenStream,
) -> syn::Result<TokenStream> {
    let span = local("__weft_span");
    let future = local("__weft_future");
    let ret = return_type(sig);
    let stmts = &block.stmts;
    // An async block infers its output from its body alone, so `return Box::new(x)` would
    // not coerce to the declared `Box<dyn Trait>`. A never-taken `return` of the declared
    // type fixes the block's output first (as tracing-attributes does).
    let fake_return = match ret {
        Some(ty) if !inspect::has_impl_trait(ty) => {
            let fake = local("__weft_declared_output");
            quote! {
                #[allow(
                    unreachable_code,
                    clippy::diverging_sub_expression,
                    clippy::empty_loop,
                    clippy::let_unit_value,
                    clippy::needless_return
                )]
                if false {
                    let #fake: #ty = loop {};
                    return #fake;
                }
            }
        }
        _ => TokenStream::new(),
    };
    let polled = poll_in_span(
        &span,
        &future,
        records_err(args, sig, ret)?.then(|| err_span(ret)),
    );
    Ok(quote! {
        let #span = #start;
        let #future = async move {
            #fake_return
            #(#stmts)*
        };
        #polled
    })
}

fn async_block(
    args: &Args,
    sig: &Signature,
    body: &AsyncBody<'_>,
    start: &TokenStream,
) -> syn::Result<TokenStream> {
    let span = local("__weft_span");
    let future = local("__weft_future");
    let output = return_type(sig).and_then(inspect::future_output);
    let check_at = records_err(args, sig, output)?.then(|| err_span(output));
    let block = match body {
        AsyncBody::Bare(block) | AsyncBody::Boxed(_, block) => block,
    };
    let instrumented = match check_at {
        None => quote!(::weft::FutureExt::in_span(#block, #span)),
        Some(_) => {
            let polled = poll_in_span(&span, &future, check_at);
            quote! {
                async move {
                    let #future = #block;
                    #polled
                }
            }
        }
    };
    let instrumented = match body {
        AsyncBody::Bare(_) => instrumented,
        AsyncBody::Boxed(call, _) => {
            let func = &call.func;
            quote!(#func(#instrumented))
        }
    };
    Ok(quote! {
        let #span = #start;
        #instrumented
    })
}

/// Awaits `future` with `span` current on every poll. With `check_at`, the output is
/// checked for an `Err` while the span is still open; `weft::InSpan` would end the span
/// with the future, before the output can be looked at, so the polling is done here.
fn poll_in_span(span: &Ident, future: &Ident, check_at: Option<Span>) -> TokenStream {
    let Some(check_at) = check_at else {
        return quote!(::weft::FutureExt::in_span(#future, #span).await);
    };
    let output = local("__weft_output");
    let cx = local("__weft_cx");
    let entered = local("__weft_entered");
    let check = check_err(span, &output, check_at);
    quote! {
        let mut #future = ::core::pin::pin!(#future);
        let #output = ::core::future::poll_fn(|#cx| {
            let #entered = #span.enter();
            ::core::future::Future::poll(::core::pin::Pin::as_mut(&mut #future), #cx)
        })
        .await;
        #check
        #output
    }
}
