//! Helpers for tests of instrumented code: a private weft instance whose records can be
//! read back whole.

use crate::export::memory::MemoryExporter;
use crate::{ConfigBuilder, ConfigureError, Weft};

/// A local (non-global) instance with ids 1, 2, 3…, a clock that ticks one second per
/// reading, no console, no OTLP exporter and no environment: what it records goes only
/// to the returned [`MemoryExporter`]. Run the code under test inside
/// [`Weft::in_scope`] (or carry [`Weft::context`] into servers and tasks).
///
/// ```
/// let (weft, memory) = weft::testing::deterministic().unwrap();
/// weft.in_scope(|| {
///     let _s = weft::span!("Doubling {x}", x = 2).entered();
/// });
/// weft.force_flush();
/// assert_eq!(memory.spans()[0].message(), "Doubling 2");
/// assert_eq!(memory.spans()[0].span_context.span_id().to_string(), "0000000000000001");
/// ```
pub fn deterministic() -> Result<(Weft, MemoryExporter), ConfigureError> {
    let (builder, memory) = builder();
    Ok((builder.deterministic().finish()?, memory))
}

/// The builder [`deterministic`] starts from, before its ids and clock: a local
/// instance with no console, no OTLP exporter and no environment, recording into the
/// returned [`MemoryExporter`]. Add the options a test needs, then `finish()`.
///
/// ```
/// let (builder, memory) = weft::testing::builder();
/// let weft = builder.sampling_ratio(0.0).finish().unwrap();
/// weft.in_scope(|| drop(weft::span!("not sampled").entered()));
/// weft.force_flush();
/// assert!(memory.records().is_empty());
/// ```
pub fn builder() -> (ConfigBuilder, MemoryExporter) {
    let memory = MemoryExporter::default();
    let builder = crate::configure()
        .local()
        .console(false)
        .no_default_exporter()
        .env(std::iter::empty::<(String, String)>())
        .exporter(memory.clone());
    (builder, memory)
}
