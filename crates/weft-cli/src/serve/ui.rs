//! The UI port: the embedded pages and the JSON API they (and `weft traces --url`) read.
//!
//! - `GET /api/traces?service=&name=&attr=k=v&status=error|ok&min_duration_ms=&q=&limit=`
//! - `GET /api/traces/{trace_id}?correct_skew=1`: the tree with diagnoses
//! - `GET /api/traces/{trace_id}/otlp`: the trace as OTLP/JSON (one request per line)
//! - `GET /api/trace-ids`: every trace id in the store, one per line (for `weft export --url`;
//!   unlike the list it has no limit and includes the all-zero id of untraced logs)
//! - `GET /api/services`, `GET /api/health`
//! - `GET /api/events`: server-sent events, one `trace` event per changed trace summary

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::middleware;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::Stream;
use http::StatusCode;
use http::header::CONTENT_TYPE;
use serde::Deserialize;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use super::{AppState, auth};
use crate::diagnose::{self, Context};
use crate::ids::TraceId;
use crate::store::{ListQuery, StoreError, TraceSummaryRow, now_ns, read};
use crate::tree::Tree;
use crate::view::{TraceSummary, TraceView};
use crate::{otlp, web};

/// The UI router (`weft serve` binds it to 4319).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(web::index))
        .route("/trace/{id}", get(web::trace_page))
        .route("/assets/{file}", get(web::asset))
        .route("/api/health", get(health))
        .route("/api/services", get(services))
        .route("/api/traces", get(list))
        .route("/api/traces/{id}", get(trace))
        .route("/api/traces/{id}/otlp", get(trace_otlp))
        .route("/api/trace-ids", get(trace_ids))
        .route("/api/events", get(events))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .with_state(state)
}

/// An API failure: status plus a sentence.
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, axum::Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
}

fn parse_id(raw: &str) -> Result<TraceId, ApiError> {
    raw.parse().map_err(|e| {
        ApiError(
            StatusCode::BAD_REQUEST,
            format!("bad trace id {raw:?}: {e}"),
        )
    })
}

async fn health(State(state): State<AppState>) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "ok": true,
        "schema_version": crate::store::schema::SCHEMA_VERSION,
        "data": state.store.path().map(|p| p.display().to_string()),
    }))
}

async fn services(State(state): State<AppState>) -> Result<axum::Json<Vec<String>>, ApiError> {
    let store = state.store.clone();
    let list = blocking(move || {
        Ok(store.read(|c| {
            let mut stmt =
                c.prepare_cached("SELECT DISTINCT service FROM trace_services ORDER BY service")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })?)
    })
    .await?;
    Ok(axum::Json(list))
}

/// Adds health badges to summary rows, reusing cached badges while a trace is unchanged.
pub fn summarize(
    state: &AppState,
    rows: Vec<TraceSummaryRow>,
) -> Result<Vec<TraceSummary>, StoreError> {
    let cx = Context { now_ns: now_ns() };
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let cached = state.badge_cache.lock().ok().and_then(|c| {
            c.get(&row.trace_id)
                .filter(|(u, n, _)| *u == row.updated_ns && *n == row.span_count)
                .map(|e| e.2.clone())
        });
        let badges = match cached {
            Some(b) => b,
            None => {
                let spans = state.store.read(|c| read::trace_rows(c, row.trace_id))?;
                let tree = Tree::build(row.trace_id, spans);
                let badges = diagnose::badges(&diagnose::diagnose(&tree, &cx));
                if let Ok(mut c) = state.badge_cache.lock() {
                    if c.len() > 10_000 {
                        c.clear();
                    }
                    c.insert(
                        row.trace_id,
                        (row.updated_ns, row.span_count, badges.clone()),
                    );
                }
                badges
            }
        };
        out.push(TraceSummary::new(row, badges));
    }
    Ok(out)
}

async fn list(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<axum::Json<Vec<TraceSummary>>, ApiError> {
    let list = blocking(move || {
        let rows = state.store.read(|c| read::list_traces(c, &query))?;
        Ok(summarize(&state, rows)?)
    })
    .await?;
    Ok(axum::Json(list))
}

#[derive(Debug, Deserialize)]
struct TraceParams {
    correct_skew: Option<String>,
}

/// Loads and diagnoses one trace; `None` if it has no records.
pub fn load_view(
    state: &AppState,
    id: TraceId,
    correct_skew: bool,
) -> Result<Option<TraceView>, StoreError> {
    let (rows, resources) = state.store.read(|c| {
        let rows = read::trace_rows(c, id)?;
        let resources = read::resources(c, rows.iter().map(|r| r.resource_id))?;
        Ok((rows, resources))
    })?;
    if rows.is_empty() {
        return Ok(None);
    }
    let tree = Tree::build(id, rows);
    Ok(Some(TraceView::build(
        tree,
        &resources,
        &Context { now_ns: now_ns() },
        correct_skew,
    )))
}

async fn trace(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(p): Query<TraceParams>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let correct = matches!(p.correct_skew.as_deref(), Some("1" | "true" | "yes"));
    let view = blocking(move || Ok(load_view(&state, id, correct)?)).await?;
    match view {
        // Serialised here so a 10 000-span trace goes out in one buffer.
        Some(v) => Ok((
            [(CONTENT_TYPE, "application/json")],
            serde_json::to_vec(&v).unwrap_or_default(),
        )
            .into_response()),
        None => Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("no trace {id} in this store"),
        )),
    }
}

/// A trace as OTLP/JSON lines: the spans request, then the logs request if there are logs.
pub fn otlp_lines(state: &AppState, id: TraceId) -> Result<Option<String>, StoreError> {
    let (rows, resources) = state.store.read(|c| {
        let rows = read::trace_rows(c, id)?;
        let resources = read::resources(c, rows.iter().map(|r| r.resource_id))?;
        Ok((rows, resources))
    })?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut out = String::new();
    let traces = otlp::encode::trace_request(&rows, &resources);
    if !traces.resource_spans.is_empty() {
        out.push_str(&serde_json::to_string(&traces).unwrap_or_default());
        out.push('\n');
    }
    if let Some(logs) = otlp::encode::logs_request(&rows, &resources) {
        out.push_str(&serde_json::to_string(&logs).unwrap_or_default());
        out.push('\n');
    }
    Ok(Some(out))
}

async fn trace_otlp(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    match blocking(move || Ok(otlp_lines(&state, id)?)).await? {
        Some(body) => Ok(([(CONTENT_TYPE, "application/x-ndjson")], body).into_response()),
        None => Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("no trace {id} in this store"),
        )),
    }
}

async fn trace_ids(State(state): State<AppState>) -> Result<Response, ApiError> {
    let ids = blocking(move || Ok(state.store.read(read::all_trace_ids)?)).await?;
    let mut body = String::with_capacity(ids.len() * 33);
    for id in ids {
        body.push_str(&id.to_string());
        body.push('\n');
    }
    Ok(([(CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response())
}

async fn events(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let changes = BroadcastStream::new(state.changes.subscribe());
    let mut stopping = state.stopping.subscribe();
    let stopped = async move {
        let _ = stopping.wait_for(|s| *s).await;
    };
    let stream = changes.then(move |msg| {
        let state = state.clone();
        async move {
            match msg {
                Ok(ids) => {
                    let summaries = tokio::task::spawn_blocking(move || {
                        let rows = state.store.read(|c| {
                            let mut rows = Vec::new();
                            for id in ids {
                                rows.extend(read::summary(c, id)?);
                            }
                            Ok(rows)
                        })?;
                        summarize(&state, rows)
                    })
                    .await;
                    match summaries {
                        Ok(Ok(s)) => Event::default()
                            .event("traces")
                            .json_data(&s)
                            .unwrap_or_default(),
                        _ => Event::default().event("reset").data("reload"),
                    }
                }
                // The browser fell behind: tell it to reload the list instead of missing rows.
                Err(BroadcastStreamRecvError::Lagged(_)) => {
                    Event::default().event("reset").data("reload")
                }
            }
        }
    });
    Sse::new(futures_util::StreamExt::take_until(stream, stopped).map(Ok))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
