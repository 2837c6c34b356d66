//! Compile-time behaviour of `#[weft::instrument]`: what must compile (`ui/pass`) and
//! the exact errors for what must not (`ui/fail/*.stderr`). Regenerate the goldens with
//! `TRYBUILD=overwrite cargo test -p weft --test instrument_ui` and review the diff:
//! they track rustc's wording, so a new toolchain may change them.
#![cfg(feature = "macros")]
#![allow(missing_docs)]

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
