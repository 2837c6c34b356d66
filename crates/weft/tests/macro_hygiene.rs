//! The macros' expansions name everything by absolute path, so they work in a module
//! without the prelude, beside user items named like the ones they use, and next to
//! user variables named like the macro's own locals.
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)]

use weft::export::memory::MemoryExporter;

#[test]
fn expansions_need_no_prelude() {
    let memory = MemoryExporter::default();
    let weft = weft::configure()
        .local()
        .console(false)
        .no_default_exporter()
        .env([("LOGFIRE_TOKEN", "")])
        .exporter(memory.clone())
        .finish()
        .unwrap();
    weft.in_scope(hygiene::run);
    assert!(weft.force_flush());
    let mut names: Vec<String> = memory.spans().iter().map(|r| r.message()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "Calling macro_hygiene::hygiene::later",
            "Doubling 1",
            "Failing 1",
            "hi 3",
            "notice span",
            "outer 3",
            "shadowed 7",
            "warned",
        ]
    );
}

mod hygiene {
    #![no_implicit_prelude]
    #![allow(dead_code, non_camel_case_types)]

    // Items named like what the expansions use: absolute paths never pick them up.
    mod weft {}
    mod std {}
    mod core {}
    struct Result;
    struct Option;
    struct Vec;
    struct Span;
    struct Callsite;
    struct Cow;
    struct Level;

    #[::weft::instrument("Doubling {x}")]
    pub fn double(x: i32) -> i32 {
        x * 2
    }

    #[::weft::instrument("Failing {n}", level = "debug", skip(label))]
    pub fn failing(n: u8, label: &str) -> ::core::result::Result<u8, ::std::string::String> {
        if n > 0 {
            return ::core::result::Result::Err(::std::string::ToString::to_string(label));
        }
        ::core::result::Result::Ok(n)
    }

    /// Arguments named like the macro's locals: its own are `mixed_site`, so they
    /// neither shadow these nor get shadowed by them.
    #[::weft::instrument("shadowed {__weft_span}")]
    pub fn shadowed(__weft_span: u8, __weft_output: u8) -> ::core::result::Result<u8, u8> {
        let __weft_error = __weft_span;
        ::core::result::Result::Ok(__weft_error + __weft_output)
    }

    #[::weft::instrument]
    pub async fn later(x: u8) -> u8 {
        x
    }

    pub fn run() {
        let x = 3;
        let outer = ::weft::span!("outer {x}", x).entered();
        ::weft::info!("hi {x}", x);
        ::weft::log!(::weft::Level::Warn, "warned");
        let _notice = ::weft::span!(level: ::weft::Level::Notice, "notice span", y = 1);
        ::core::assert_eq!(double(1), 2);
        ::core::assert!(failing(1, "bad").is_err());
        ::core::assert_eq!(shadowed(7, 1), ::core::result::Result::Ok(8));
        let rt = ::tokio::runtime::Builder::new_current_thread().build();
        ::core::assert_eq!(
            ::core::result::Result::map(rt, |rt| rt.block_on(later(4))).ok(),
            ::core::option::Option::Some(4)
        );
        ::core::mem::drop(outer);
    }
}
