//! Any input, read as one or several header fields (one per line): the parser never
//! panics, and what it accepts formats to a header that parses back to the same list.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_context::propagation::{format_tracestate, parse_tracestate, parse_tracestate_values};

fuzz_target!(|input: &str| {
    if let Ok(state) = parse_tracestate_values(input.split('\n')) {
        let header = format_tracestate(&state);
        let reparsed = parse_tracestate(&header).unwrap_or_else(|err| panic!("{header:?}: {err}"));
        assert_eq!(reparsed, state, "{input:?} -> {header:?}");
    }
});
