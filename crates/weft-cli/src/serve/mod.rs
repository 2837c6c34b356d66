//! `weft serve`: three listeners over one store.
//!
//! | listener  | default port | what                                         |
//! |-----------|--------------|----------------------------------------------|
//! | OTLP/gRPC | 4317         | `TraceService/Export`, `LogsService/Export`  |
//! | OTLP/HTTP | 4318         | `POST /v1/traces`, `POST /v1/logs`           |
//! | UI + API  | 4319         | pages, `/api/...`, `/api/events` (SSE)       |
//!
//! A request is acknowledged only after its transaction commits, so a graceful shutdown
//! (Ctrl-C, SIGTERM) loses nothing a client was told was stored.

mod auth;
pub mod ingest;
pub mod otlp_grpc;
pub mod otlp_http;
pub mod ui;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::diagnose::Badge;
use crate::ids::TraceId;
use crate::store::{Location, Retention, Store, StoreError};

/// Everything `weft serve` needs, as the flags give it.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address to bind all three listeners to.
    pub bind: IpAddr,
    /// OTLP/gRPC port (0 = any free port).
    pub grpc_port: u16,
    /// OTLP/HTTP port (0 = any free port).
    pub http_port: u16,
    /// UI and API port (0 = any free port).
    pub ui_port: u16,
    /// Where the store lives.
    pub location: Location,
    /// Shared secret for ingest and UI; required for a non-loopback bind.
    pub token: Option<String>,
    /// Retention limits.
    pub retention: Retention,
    /// Largest accepted request body, after gzip inflation.
    pub max_body_bytes: usize,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            bind: IpAddr::from([127, 0, 0, 1]),
            grpc_port: 4317,
            http_port: 4318,
            ui_port: 4319,
            location: Location::Memory,
            token: None,
            retention: Retention::default(),
            max_body_bytes: 64 << 20,
        }
    }
}

/// Why `weft serve` could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// Non-loopback bind without a token.
    #[error(
        "binding {0} exposes ingest and the UI beyond this machine: pass --token <secret> or set WEFT_TOKEN (or keep the default --bind 127.0.0.1)"
    )]
    TokenRequired(IpAddr),
    /// A port was taken or not allowed.
    #[error(
        "cannot listen on {addr} for {what}: {source} (choose another port with --{what}-port, or 0 for any free port)"
    )]
    Bind {
        /// Which listener.
        what: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The store did not open.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Health badges by trace, with the `updated_ns` and `span_count` they were computed at.
pub type BadgeCache = HashMap<TraceId, (i64, i64, Vec<Badge>)>;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Store,
    /// Trace ids changed by each committed batch (feeds the SSE stream).
    pub changes: broadcast::Sender<Vec<TraceId>>,
    /// Required token, if any.
    pub token: Option<Arc<str>>,
    /// Largest body accepted.
    pub max_body_bytes: usize,
    /// Health badges by trace, valid while `updated_ns` and `span_count` match.
    pub badge_cache: Arc<Mutex<BadgeCache>>,
    /// Set to `true` on shutdown; ends the endless SSE streams, which would otherwise keep
    /// a graceful shutdown waiting for ever on an open browser tab.
    pub stopping: Arc<watch::Sender<bool>>,
}

impl AppState {
    /// State over a store, without a token.
    pub fn new(store: Store) -> Self {
        AppState {
            store,
            changes: broadcast::channel(1024).0,
            token: None,
            max_body_bytes: 64 << 20,
            badge_cache: Arc::default(),
            stopping: Arc::new(watch::channel(false).0),
        }
    }
}

/// A running server.
pub struct Running {
    /// OTLP/gRPC address.
    pub grpc: SocketAddr,
    /// OTLP/HTTP address.
    pub http: SocketAddr,
    /// UI address.
    pub ui: SocketAddr,
    /// The shared state (tests read the store through it).
    pub state: AppState,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// The line printed on startup; tests parse it.
    pub fn banner(&self) -> String {
        let data = self
            .state
            .store
            .path()
            .map_or_else(|| ":memory:".to_owned(), |p| p.display().to_string());
        format!(
            "weft listening otlp_grpc={} otlp_http={} ui=http://{} data={data}",
            self.grpc, self.http, self.ui
        )
    }

    /// Stops accepting, lets in-flight requests finish (and commit), then returns.
    pub async fn shutdown(self) {
        self.state.stopping.send_replace(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

async fn bind(what: &'static str, ip: IpAddr, port: u16) -> Result<TcpListener, ServeError> {
    let addr = SocketAddr::new(ip, port);
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { what, addr, source })
}

fn local(
    what: &'static str,
    l: &TcpListener,
    fallback: SocketAddr,
) -> Result<SocketAddr, ServeError> {
    l.local_addr().map_err(|source| ServeError::Bind {
        what,
        addr: fallback,
        source,
    })
}

/// Opens the store, binds the three listeners and starts serving.
pub async fn start(config: ServeConfig) -> Result<Running, ServeError> {
    if !config.bind.is_loopback() && config.token.is_none() {
        return Err(ServeError::TokenRequired(config.bind));
    }
    let store = Store::open(&config.location)?;
    let mut state = AppState::new(store);
    state.token = config.token.as_deref().map(Arc::from);
    state.max_body_bytes = config.max_body_bytes;

    let grpc_l = bind("grpc", config.bind, config.grpc_port).await?;
    let http_l = bind("http", config.bind, config.http_port).await?;
    let ui_l = bind("ui", config.bind, config.ui_port).await?;
    let fallback = SocketAddr::new(config.bind, 0);
    let (grpc, http, ui) = (
        local("grpc", &grpc_l, fallback)?,
        local("http", &http_l, fallback)?,
        local("ui", &ui_l, fallback)?,
    );

    let stopped = state.stopping.subscribe();
    let mut tasks = Vec::new();
    for (listener, router) in [
        (grpc_l, otlp_grpc::router(state.clone())),
        (http_l, otlp_http::router(state.clone())),
        (ui_l, ui::router(state.clone())),
    ] {
        let mut stopped = stopped.clone();
        tasks.push(tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            if let Err(e) = axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await
            {
                eprintln!("weft: listener stopped: {e}");
            }
        }));
    }
    tasks.push(tokio::spawn(retention_loop(
        state.store.clone(),
        config.retention,
        stopped,
    )));
    Ok(Running {
        grpc,
        http,
        ui,
        state,
        tasks,
    })
}

async fn retention_loop(store: Store, retention: Retention, mut stopped: watch::Receiver<bool>) {
    if retention == Retention::default() {
        return;
    }
    loop {
        let s = store.clone();
        match tokio::task::spawn_blocking(move || s.enforce_retention(&retention)).await {
            Ok(Ok(d)) if !d.is_empty() => eprintln!(
                "weft: retention deleted {} trace(s) and {} log record(s) without a trace",
                d.traces, d.untraced_logs
            ),
            Ok(Err(e)) => eprintln!("weft: retention failed: {e}"),
            _ => {}
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(30)) => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are installed when this is called, not
/// when the future is first polled: call it before announcing that the server is up,
/// so a signal sent right after the announcement is never met by the default action
/// (which would kill the process without a clean shutdown).
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let int = signal(SignalKind::interrupt());
        let term = signal(SignalKind::terminate());
        async move {
            match (int, term) {
                (Ok(mut int), Ok(mut term)) => {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                }
                // No handler could be installed: Ctrl-C is still caught.
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
