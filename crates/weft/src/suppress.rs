//! Threads whose work must never be traced: weft's own export thread. A span, log or
//! `tracing` event made there is dropped, so an exporter's HTTP client cannot trace
//! itself into an endless loop.

use std::cell::Cell;

thread_local! {
    static SUPPRESSED: Cell<bool> = const { Cell::new(false) };
}

pub(crate) fn suppress_this_thread() {
    SUPPRESSED.with(|s| s.set(true));
}

#[inline]
pub(crate) fn is_suppressed() -> bool {
    SUPPRESSED.with(Cell::get)
}
