//! Any input, read as one or several header fields (one per line): decoding never
//! panics, and what it keeps formats to a header that parses back to the same entries.
//! Formatting may leave entries out when percent-encoding pushes the header past
//! 8192 bytes (a `!` read as is is written `%21`); then what it writes still reparses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_context::propagation::{decode_baggage, format_baggage, parse_baggage};

fn entries(baggage: &opentelemetry::baggage::Baggage) -> Vec<(String, String, String)> {
    let mut all: Vec<_> = baggage
        .iter()
        .map(|(k, (v, m))| (k.to_string(), v.to_string(), m.as_str().to_owned()))
        .collect();
    all.sort();
    all
}

fuzz_target!(|input: &str| {
    let baggage = decode_baggage(input.split('\n'), |_| {});
    let mut dropped = 0;
    let header = format_baggage(&baggage, |_| dropped += 1);
    let reparsed = parse_baggage(&header).unwrap_or_else(|err| panic!("{header:?}: {err}"));
    if dropped == 0 {
        assert_eq!(
            entries(&reparsed),
            entries(&baggage),
            "{input:?} -> {header:?}"
        );
    } else {
        let kept = entries(&baggage);
        assert!(
            entries(&reparsed).iter().all(|e| kept.contains(e)),
            "{input:?} -> {header:?}"
        );
    }
});
