//! Run with `cargo run -p weft --example hello` (start `weft serve` first to see it in
//! the viewer; without it the spans still print on the console).
//!
//! Nested spans, logs and attributes: the SDK's hello world.

use weft::export::memory::MemoryExporter;

fn main() -> Result<(), weft::ConfigureError> {
    let memory = MemoryExporter::default();
    let weft = weft::configure()
        .service_name("hello")
        .exporter(memory.clone())
        .finish()?;

    let user = "ada";
    {
        let request = weft::span!("Handling request for {user}", user).entered();
        weft::info!("looking up the cart of {user}", user);
        let total = {
            let _pricing = weft::span!("Pricing {items} items", items = 3).entered();
            let prices = [120, 250, 99];
            weft::debug!("prices {prices}", prices = &prices);
            prices.iter().sum::<i32>()
        };
        request.set_attribute("total_cents", total);
        if total > 400 {
            weft::warn!("large order: {total} cents", total);
        }
    }

    weft.force_flush();
    println!("\nexported tree:\n{}", memory.tree());
    Ok(())
}
