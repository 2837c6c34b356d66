//! `weft demo`: every scenario of the seeds at once, on loopback, into the viewer.
//!
//! It starts the viewer on its embedded store (or uses a running one), starts small
//! services as separate processes of this same binary (`weft demo-service <role>`),
//! sends a few requests, and prints the trees the viewer reconstructed:
//!
//! - **checkout**: demo client → gateway (HTTP) → a rayon fan-out of `Doubling {x}`
//!   spans and a `spawn_blocking` hop → inventory (HTTP, a tokio task, a log written
//!   by a worker thread inside an attached context) → a pricing worker run as a
//!   child process (context through `TRACEPARENT`).
//! - **a stranger's traceparent** sent to three public "edge" services, one per
//!   `distributed_tracing` setting: warn and allow join the stranger's trace (which
//!   the viewer flags as rooted outside), deny starts a new root and keeps a link.
//!   Only warn writes the "Found propagated trace context" warning (stderr and a log).
//! - **an unsampled request** (`traceparent` flags `00`): nothing under it is exported,
//!   checked once every service has flushed and exited.

mod driver;
mod process;
mod services;
mod viewer_api;

use clap::Args;
use std::process::ExitCode;

pub use services::{ServiceArgs, service_main};

/// Flags of `weft demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Exit after printing the trees instead of keeping the viewer up until Ctrl-C.
    #[arg(long)]
    pub exit: bool,
    /// Use a running `weft serve`: its OTLP/HTTP base URL (e.g. http://127.0.0.1:4318).
    #[arg(long, requires = "api_url")]
    pub otlp_url: Option<String>,
    /// Use a running `weft serve`: its UI/API base URL (e.g. http://127.0.0.1:4319).
    #[arg(long, requires = "otlp_url")]
    pub api_url: Option<String>,
    /// Keep the demo's viewer store in memory instead of the default data directory.
    #[arg(long)]
    pub memory: bool,
    /// Let the viewer pick free ports instead of 4317/4318/4319.
    #[arg(long)]
    pub any_ports: bool,
}

/// Runs `weft demo`.
pub fn main(args: &DemoArgs) -> ExitCode {
    match driver::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("weft demo: {e}");
            ExitCode::FAILURE
        }
    }
}
