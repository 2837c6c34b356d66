//! The shared token (`--token` / `WEFT_TOKEN`), required when weft listens beyond loopback.
//! Clients send `Authorization: Bearer <token>`; a browser opens the UI once with
//! `?token=<token>`, which sets an HttpOnly cookie and redirects to the clean URL.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue, StatusCode};

use super::AppState;

const COOKIE_NAME: &str = "weft_token";

/// Compares without stopping at the first differing byte.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// True if the headers carry the token as a Bearer header or the UI cookie.
pub(super) fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| same(t.trim(), token));
    let cookie = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|c| {
            c.split(';')
                .filter_map(|kv| kv.trim().split_once('='))
                .any(|(k, v)| k == COOKIE_NAME && same(v, token))
        });
    bearer || cookie
}

/// The message a refused client sees.
pub(super) const UNAUTHORIZED: &str = "missing or wrong token: send `Authorization: Bearer <token>` with the value given to weft serve --token (or WEFT_TOKEN); in a browser open the UI once with ?token=<token>";

/// Middleware: lets the request through if no token is configured or it carries the right one.
pub(super) async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = state.token.clone() else {
        return next.run(request).await;
    };
    if authorized(request.headers(), &token) {
        return next.run(request).await;
    }
    // `?token=` from a browser: remember it in a cookie, then drop it from the address bar.
    let query = request.uri().query().unwrap_or("");
    let given = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "token")
        .map(|(_, v)| v);
    if let Some(given) = given.filter(|g| same(g, &token)) {
        let rest: Vec<&str> = query
            .split('&')
            .filter(|kv| !kv.starts_with("token="))
            .collect();
        let path = request.uri().path();
        let target = if rest.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{}", rest.join("&"))
        };
        let mut response = Redirect::to(&target).into_response();
        if let Ok(v) = HeaderValue::from_str(&format!(
            "{COOKIE_NAME}={given}; Path=/; HttpOnly; SameSite=Strict"
        )) {
            response.headers_mut().insert(SET_COOKIE, v);
        }
        return response;
    }
    (StatusCode::UNAUTHORIZED, UNAUTHORIZED).into_response()
}
