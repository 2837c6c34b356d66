//! weft's own trouble, said once and plainly on stderr, naming what to change.
//!
//! These go to stderr rather than through the pipeline because the pipeline is what is
//! in trouble. Each message has a dotted name (as OpenTelemetry's self-diagnostics do)
//! so it can be searched for.

/// The export queue is full: records are being dropped.
pub(crate) fn queue_full(dropped_so_far: u64) {
    eprintln!(
        "weft: weft.export.dropped: the export queue is full, so new spans are being dropped \
         (dropped so far: {dropped_so_far}). The backend is down or slower than the application. \
         Check the exporter target (OTEL_EXPORTER_OTLP_ENDPOINT; `weft serve` for the local \
         viewer), or raise configure().max_queue_size(..) / OTEL_BSP_MAX_QUEUE_SIZE. \
         This warning is printed once; Weft::dropped_spans() keeps the count."
    );
}

/// An export failed after its retries.
pub(crate) fn export_failed(target: &str, spans: usize, error: &dyn std::fmt::Display) {
    eprintln!(
        "weft: weft.export.failed: {spans} spans could not be sent to {target}: {error}. \
         Is the backend running? For the local viewer run `weft serve`; to send elsewhere set \
         OTEL_EXPORTER_OTLP_ENDPOINT or configure().otlp_endpoint(..). Further failures to \
         this target are counted silently."
    );
}

/// The `distributed_tracing` warning, on stderr as well as in the trace.
pub(crate) fn policy_warning(message: &str) {
    eprintln!("weft: {message}");
}
