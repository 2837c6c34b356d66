//! The one path every OTLP request takes into the store, whatever its transport: convert,
//! commit on a blocking thread, announce the changed traces, and only then answer.

use super::AppState;
use crate::otlp::convert::Converted;
use crate::otlp::rejection::{OtlpRejection, StoreFailed};

/// Rejected count and message for `partial_success`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accepted {
    /// Records refused (invalid ids).
    pub rejected: i64,
    /// Why ("" if none).
    pub message: String,
}

/// Stores a converted request; returns once it is committed.
pub async fn store(state: &AppState, converted: Converted) -> Result<Accepted, OtlpRejection> {
    let accepted = Accepted {
        rejected: converted.rejected,
        message: converted.message(),
    };
    if converted.batch.rows.is_empty() {
        return Ok(accepted);
    }
    let store = state.store.clone();
    let batch = converted.batch;
    let outcome = tokio::task::spawn_blocking(move || store.write(&batch))
        .await
        .map_err(|e| StoreFailed(e.to_string()))?
        .map_err(|e| StoreFailed(e.to_string()))?;
    if !outcome.traces.is_empty() {
        // No subscriber is fine: nobody has the UI open.
        let _ = state.changes.send(outcome.traces);
    }
    Ok(accepted)
}
