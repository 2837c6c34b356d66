//! What the demo asks the viewer: one trace, a filtered list, or "wait until it is all here".

use crate::view::{TraceSummary, TraceView};
use std::time::{Duration, Instant};

/// One trace; `None` only when the viewer answers 404 (it has no record of it). Any
/// other status is an error, so a failing viewer never reads as "nothing exported".
pub(super) async fn fetch(api: &str, trace: &str) -> Result<Option<TraceView>, String> {
    let resp = reqwest::get(format!("{api}/api/traces/{trace}"))
        .await
        .map_err(|e| format!("viewer API: {e}"))?;
    let status = resp.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    let text = resp.text().await.map_err(|e| format!("viewer API: {e}"))?;
    if !status.is_success() {
        return Err(format!(
            "viewer API answered {status} for trace {trace}: {text}"
        ));
    }
    serde_json::from_str::<TraceView>(&text)
        .map(Some)
        .map_err(|e| format!("viewer API answered badly: {e}"))
}

/// Traces touching `service` with a span or log whose name contains `name`.
pub(super) async fn find(
    api: &str,
    service: &str,
    name: &str,
) -> Result<Vec<TraceSummary>, String> {
    let url = format!(
        "{api}/api/traces?service={}&name={}",
        encode(service),
        encode(name)
    );
    let resp = reqwest::get(url)
        .await
        .map_err(|e| format!("viewer API: {e}"))?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| format!("viewer API: {e}"))?;
    if !status.is_success() {
        return Err(format!(
            "viewer API answered {status} for the trace list: {text}"
        ));
    }
    serde_json::from_str(&text).map_err(|e| format!("viewer API answered badly: {e}"))
}

/// Polls the viewer until the trace has a finished span from every expected service.
/// The services have already flushed and exited when the demo calls this, so the wait
/// only covers the viewer's own commit; the deadline is there for a broken setup.
pub(super) async fn wait_for(
    api: &str,
    trace: &str,
    services: &[&str],
) -> Result<TraceView, String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let view = fetch(api, trace).await?;
        let complete = view.as_ref().is_some_and(|v| {
            services
                .iter()
                .all(|s| v.nodes.iter().any(|n| n.service == *s && !n.open))
        });
        // Past the deadline, show what did arrive: the tree itself says what is missing.
        if complete || Instant::now() > deadline {
            return view.ok_or_else(|| format!("the viewer never received trace {trace}"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Percent-encodes a query value (everything but unreserved characters).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
