//! Any input: `parse_traceparent` never panics, and what it accepts formats to a
//! version-00 header that parses back to the same span context.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_context::propagation::{format_traceparent, parse_traceparent};

fuzz_target!(|input: &str| {
    if let Ok(parsed) = parse_traceparent(input) {
        let header = format_traceparent(&parsed);
        assert_eq!(header.len(), 55);
        assert_eq!(
            parse_traceparent(&header).as_ref(),
            Ok(&parsed),
            "{input:?} -> {header:?}"
        );
    }
});
