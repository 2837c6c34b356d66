//! Terminal commands: `weft traces`, `weft trace`, `weft export`. They read either a running
//! server's API (`--url`) or the database directly (`--data-dir`), and print the same views.

pub mod print;
mod source;

use std::io::Write;
use std::path::Path;

use crate::cli::SourceArgs;
use crate::ids::TraceId;
use crate::store::{ListQuery, StoreError};

pub use print::{print_trace, print_traces};
use source::Source;

/// Why a terminal command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TermError {
    /// Reading the database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The server did not answer.
    #[error("cannot reach {url}: {reason} (is `weft serve` running? check --url or WEFT_URL)")]
    Http {
        /// The address asked.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The trace id is malformed.
    #[error("{0:?} is not a trace id: give the 32 hex digits")]
    BadId(String),
    /// No such trace.
    #[error("no trace {0} in this store (list them with `weft traces`)")]
    NotFound(TraceId),
    /// Writing the output failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}

fn parse(id: &str) -> Result<TraceId, TermError> {
    id.trim()
        .parse()
        .map_err(|_| TermError::BadId(id.to_owned()))
}

/// `weft traces`.
pub async fn traces(source: &SourceArgs, query: &ListQuery, json: bool) -> Result<(), TermError> {
    let list = Source::open(source)?.list(query).await?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        );
    } else {
        print!("{}", print_traces(&list));
    }
    Ok(())
}

/// `weft trace <id>`.
pub async fn trace(
    source: &SourceArgs,
    id: &str,
    json: bool,
    correct_skew: bool,
) -> Result<(), TermError> {
    let id = parse(id)?;
    let src = Source::open(source)?;
    if json {
        print!("{}", src.otlp(id).await?.ok_or(TermError::NotFound(id))?);
    } else {
        let view = src
            .view(id, correct_skew)
            .await?
            .ok_or(TermError::NotFound(id))?;
        print!("{}", print_trace(&view));
    }
    Ok(())
}

/// `weft export`.
pub async fn export(source: &SourceArgs, id: Option<&str>, out: &Path) -> Result<(), TermError> {
    let src = Source::open(source)?;
    let ids = match id {
        Some(id) => vec![parse(id)?],
        None => src.all_ids().await?,
    };
    let write_err = |source| TermError::Write {
        path: out.display().to_string(),
        source,
    };
    let mut file = std::io::BufWriter::new(std::fs::File::create(out).map_err(write_err)?);
    let mut written = 0;
    for id in ids {
        match src.otlp(id).await? {
            Some(lines) => {
                file.write_all(lines.as_bytes()).map_err(write_err)?;
                written += 1;
            }
            None if id.is_zero() => {}
            None => return Err(TermError::NotFound(id)),
        }
    }
    file.flush().map_err(write_err)?;
    eprintln!("weft: wrote {written} trace(s) to {}", out.display());
    Ok(())
}
