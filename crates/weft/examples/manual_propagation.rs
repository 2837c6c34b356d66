//! Run with `cargo run -p weft --example manual_propagation`.
//!
//! The seed's manual propagation example: `get_context()` inside `parent` gives a W3C
//! carrier; `attach_context` in "another execution environment" makes what follows
//! its child. The exported tree shows the log under `parent`.

use weft::export::memory::MemoryExporter;

fn main() -> Result<(), weft::ConfigureError> {
    let memory = MemoryExporter::default();
    let weft = weft::configure()
        .service_name("manual-propagation")
        .exporter(memory.clone())
        .finish()?;

    let ctx = {
        let _parent = weft::span!("parent").entered();
        weft::get_context()
    };
    println!("{ctx}");

    // Attach the context in another execution environment: here another thread that
    // receives the carrier as JSON text, as a message queue or a file would carry it.
    let wire = serde_json::to_string(&ctx).unwrap_or_default();
    std::thread::spawn(move || {
        let carrier: weft::Carrier = serde_json::from_str(&wire).unwrap_or_default();
        let _attached = weft::attach_context(&carrier);
        weft::info!("child"); // This log is a child of the parent span.
    })
    .join()
    .ok();

    weft.force_flush();
    println!("\nexported tree:\n{}", memory.tree());
    Ok(())
}
