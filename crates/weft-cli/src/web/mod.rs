//! The browser UI: plain HTML, CSS and JS embedded in the binary with `include_str!`, no
//! framework and no build step, so what is in `src/web/` is exactly what the browser gets.

use axum::extract::Path;
use axum::response::{Html, IntoResponse, Response};
use http::StatusCode;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};

/// The embedded files: (name, content type, content).
pub const ASSETS: &[(&str, &str, &str)] = &[
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("style.css"),
    ),
    (
        "common.js",
        "text/javascript; charset=utf-8",
        include_str!("common.js"),
    ),
    (
        "list.js",
        "text/javascript; charset=utf-8",
        include_str!("list.js"),
    ),
    (
        "trace.js",
        "text/javascript; charset=utf-8",
        include_str!("trace.js"),
    ),
];

/// `GET /`: the live trace list.
pub async fn index() -> Html<&'static str> {
    Html(include_str!("index.html"))
}

/// `GET /trace/{id}`: one trace (the page reads its id from the address).
pub async fn trace_page(Path(_id): Path<String>) -> Html<&'static str> {
    Html(include_str!("trace.html"))
}

/// `GET /assets/{file}`.
pub async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, ty, body)) => {
            ([(CONTENT_TYPE, *ty), (CACHE_CONTROL, "no-cache")], *body).into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}
