//! Command-line flags (clap) and dispatch. Every flag that has an environment variable
//! says so in `--help`; errors name the flag that fixes them.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::serve::{self, ServeConfig};
use crate::store::{ListQuery, Location, Retention};
use crate::term;

/// weft: a local OpenTelemetry receiver and trace viewer that shows the whole tree and says what is wrong.
#[derive(Debug, Parser)]
#[command(name = "weft", version, about, long_about = None)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Receive OTLP (gRPC 4317, HTTP 4318), store it, and serve the viewer (4319).
    Serve(ServeArgs),
    /// List recent traces.
    Traces(TracesArgs),
    /// Print one trace as a tree with health notes (or as OTLP/JSON).
    Trace(TraceArgs),
    /// Write one trace, or the whole store, as OTLP/JSON lines.
    Export(ExportArgs),
    /// Start the viewer and a few services on loopback, send requests, print the trees.
    Demo(crate::demo::DemoArgs),
    /// One of the demo's services (started by `weft demo`).
    #[command(hide = true)]
    DemoService(crate::demo::ServiceArgs),
}

/// Flags of `weft serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; anything but loopback requires --token.
    #[arg(long, default_value = "127.0.0.1", env = "WEFT_BIND")]
    pub bind: IpAddr,
    /// OTLP/gRPC port (0 = any free port).
    #[arg(long, default_value_t = 4317)]
    pub grpc_port: u16,
    /// OTLP/HTTP port (0 = any free port).
    #[arg(long, default_value_t = 4318)]
    pub http_port: u16,
    /// Web UI and JSON API port (0 = any free port).
    #[arg(long, default_value_t = 4319)]
    pub ui_port: u16,
    /// Directory of the SQLite database [default: $XDG_DATA_HOME/weft or ~/.local/share/weft].
    #[arg(long, env = "WEFT_DATA_DIR", conflicts_with = "memory")]
    pub data_dir: Option<PathBuf>,
    /// Keep nothing on disk.
    #[arg(long)]
    pub memory: bool,
    /// Shared secret for ingest (Bearer header) and UI (?token= once, then a cookie).
    #[arg(long, env = "WEFT_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Delete traces not updated for this long (e.g. 90m, 12h, 7d; 0 = keep forever).
    #[arg(long, default_value = "7d", value_parser = parse_duration)]
    pub retention_age: Duration,
    /// Keep the database under this many MiB by deleting the oldest traces (0 = no limit).
    #[arg(long, default_value_t = 1024)]
    pub retention_size_mb: u64,
    /// Largest OTLP request accepted, in MiB after gzip inflation.
    #[arg(long, default_value_t = 64)]
    pub max_body_mb: usize,
}

/// Where terminal commands read from.
#[derive(Debug, Args, Clone)]
pub struct SourceArgs {
    /// A running `weft serve` UI address (e.g. http://127.0.0.1:4319).
    #[arg(long, env = "WEFT_URL", conflicts_with = "data_dir")]
    pub url: Option<String>,
    /// Read the database directly [default: the serve default].
    #[arg(long, env = "WEFT_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Token for --url when the server requires one.
    #[arg(long, env = "WEFT_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

/// Flags of `weft traces`.
#[derive(Debug, Args)]
pub struct TracesArgs {
    /// Where to read.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Only traces touching this service.
    #[arg(long)]
    pub service: Option<String>,
    /// Only traces with a span whose name or message contains this.
    #[arg(long)]
    pub name: Option<String>,
    /// Only traces with a span attribute `key=value`.
    #[arg(long)]
    pub attr: Option<String>,
    /// `error` or `ok`.
    #[arg(long)]
    pub status: Option<String>,
    /// Minimum duration in milliseconds.
    #[arg(long)]
    pub min_duration_ms: Option<f64>,
    /// Free text (names, messages, attribute values) or a trace id.
    #[arg(short = 'q', long)]
    pub query: Option<String>,
    /// How many traces.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `weft trace`.
#[derive(Debug, Args)]
pub struct TraceArgs {
    /// The trace id (32 hex digits).
    pub trace_id: String,
    /// Where to read.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Print the trace as OTLP/JSON lines instead of a tree.
    #[arg(long)]
    pub json: bool,
    /// Shift skewed services by their estimated clock offset.
    #[arg(long)]
    pub correct_skew: bool,
}

/// Flags of `weft export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Only this trace (default: every trace in the store).
    #[arg(long)]
    pub trace: Option<String>,
    /// The file to write (OTLP/JSON lines).
    #[arg(long)]
    pub out: PathBuf,
    /// Where to read.
    #[command(flatten)]
    pub source: SourceArgs,
}

/// Parses `90s`, `30m`, `12h`, `7d` or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 90s, 30m, 12h or 7d"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("unknown unit {unit:?} in {s:?}: use s, m, h or d")),
    };
    Ok(Duration::from_secs(secs))
}

/// `$XDG_DATA_HOME/weft`, else `~/.local/share/weft`, else `./weft-data`.
pub fn default_data_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("weft");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h).join(".local/share/weft");
    }
    PathBuf::from("weft-data")
}

impl ServeArgs {
    /// The server configuration these flags describe.
    pub fn config(&self) -> ServeConfig {
        let location = if self.memory {
            Location::Memory
        } else {
            Location::Dir(self.data_dir.clone().unwrap_or_else(default_data_dir))
        };
        ServeConfig {
            bind: self.bind,
            grpc_port: self.grpc_port,
            http_port: self.http_port,
            ui_port: self.ui_port,
            location,
            token: self.token.clone().filter(|t| !t.is_empty()),
            retention: Retention {
                max_age: Some(self.retention_age).filter(|d| !d.is_zero()),
                max_bytes: (self.retention_size_mb > 0).then_some(self.retention_size_mb << 20),
            },
            max_body_bytes: self.max_body_mb << 20,
        }
    }
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let running = serve::start(args.config())
        .await
        .map_err(|e| e.to_string())?;
    // Handlers first: a test (or a script) may signal as soon as it reads the banner.
    let stop = serve::shutdown_signal();
    println!("{}", running.banner());
    stop.await;
    eprintln!("weft: shutting down (finishing requests in flight)");
    running.shutdown().await;
    Ok(())
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Traces(args) => {
            let query = ListQuery {
                service: args.service,
                name: args.name,
                attr: args.attr,
                status: args.status,
                min_duration_ms: args.min_duration_ms,
                q: args.query,
                limit: Some(args.limit),
            };
            term::traces(&args.source, &query, args.json)
                .await
                .map_err(|e| e.to_string())
        }
        Command::Trace(args) => {
            term::trace(&args.source, &args.trace_id, args.json, args.correct_skew)
                .await
                .map_err(|e| e.to_string())
        }
        Command::Export(args) => term::export(&args.source, args.trace.as_deref(), &args.out)
            .await
            .map_err(|e| e.to_string()),
        // `main` runs these before any runtime exists.
        Command::Demo(_) | Command::DemoService(_) => Err("the demo runs from main()".to_owned()),
    }
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo and its services run their own runtimes (and child processes).
    let cli = match cli.command {
        Command::Demo(args) => return crate::demo::main(&args),
        Command::DemoService(args) => return crate::demo::service_main(&args),
        command => Cli { command },
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("weft: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("weft: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[rustfmt::skip]
    const DURATIONS: &[(&str, Option<u64>, &str)] = &[
        ("90", Some(90), "plain seconds"),
        ("30m", Some(1800), "minutes"),
        ("7d", Some(604_800), "days"),
        ("0", Some(0), "zero disables"),
        ("7w", None, "unknown unit"),
        ("d", None, "no number"),
    ];

    #[test]
    fn durations_parse() {
        for (input, secs, reason) in DURATIONS {
            assert_eq!(
                parse_duration(input).ok().map(|d| d.as_secs()),
                *secs,
                "{reason}"
            );
        }
    }
}
