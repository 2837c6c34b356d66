//! The two places terminal commands read from, behind one interface.

use crate::cli::{SourceArgs, default_data_dir};
use crate::ids::TraceId;
use crate::serve::{AppState, ui};
use crate::store::{ListQuery, Store, read};
use crate::view::{TraceSummary, TraceView};

use super::TermError;

pub(super) enum Source {
    Api {
        base: String,
        token: Option<String>,
        client: reqwest::Client,
    },
    Db(AppState),
}

fn http_err(url: &str, e: impl std::fmt::Display) -> TermError {
    TermError::Http {
        url: url.to_owned(),
        reason: e.to_string(),
    }
}

impl Source {
    pub(super) fn open(args: &SourceArgs) -> Result<Self, TermError> {
        if let Some(url) = &args.url {
            return Ok(Source::Api {
                base: url.trim_end_matches('/').to_owned(),
                token: args.token.clone(),
                client: reqwest::Client::new(),
            });
        }
        let dir = args.data_dir.clone().unwrap_or_else(default_data_dir);
        Ok(Source::Db(AppState::new(Store::open_read_only(&dir)?)))
    }

    /// GET `path`; `Ok(None)` on 404.
    async fn get(&self, path: &str) -> Result<Option<String>, TermError> {
        let Source::Api {
            base,
            token,
            client,
        } = self
        else {
            return Ok(None);
        };
        let url = format!("{base}{path}");
        let mut req = client.get(&url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.map_err(|e| http_err(&url, e))?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let status = resp.status();
        let body = resp.text().await.map_err(|e| http_err(&url, e))?;
        if !status.is_success() {
            return Err(http_err(&url, format!("{status}: {body}")));
        }
        Ok(Some(body))
    }

    fn decode<T: serde::de::DeserializeOwned>(path: &str, body: &str) -> Result<T, TermError> {
        serde_json::from_str(body).map_err(|e| http_err(path, format!("unexpected answer: {e}")))
    }

    pub(super) async fn list(&self, q: &ListQuery) -> Result<Vec<TraceSummary>, TermError> {
        match self {
            Source::Db(state) => {
                let rows = state.store.read(|c| read::list_traces(c, q))?;
                Ok(ui::summarize(state, rows)?)
            }
            Source::Api { .. } => {
                let query = serde_json::to_value(q).unwrap_or_default();
                let mut parts = Vec::new();
                if let Some(obj) = query.as_object() {
                    for (k, v) in obj {
                        let v = match v {
                            serde_json::Value::Null => continue,
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        parts.push(format!("{k}={}", encode(&v)));
                    }
                }
                let path = format!("/api/traces?{}", parts.join("&"));
                let body = self.get(&path).await?.unwrap_or_else(|| "[]".to_owned());
                Self::decode(&path, &body)
            }
        }
    }

    pub(super) async fn view(
        &self,
        id: TraceId,
        correct_skew: bool,
    ) -> Result<Option<TraceView>, TermError> {
        match self {
            Source::Db(state) => Ok(ui::load_view(state, id, correct_skew)?),
            Source::Api { .. } => {
                let path = format!(
                    "/api/traces/{id}{}",
                    if correct_skew { "?correct_skew=1" } else { "" }
                );
                match self.get(&path).await? {
                    Some(body) => Ok(Some(Self::decode(&path, &body)?)),
                    None => Ok(None),
                }
            }
        }
    }

    pub(super) async fn otlp(&self, id: TraceId) -> Result<Option<String>, TermError> {
        match self {
            Source::Db(state) => Ok(ui::otlp_lines(state, id)?),
            Source::Api { .. } => self.get(&format!("/api/traces/{id}/otlp")).await,
        }
    }

    pub(super) async fn all_ids(&self) -> Result<Vec<TraceId>, TermError> {
        match self {
            Source::Db(state) => Ok(state.store.read(read::all_trace_ids)?),
            Source::Api { .. } => {
                // Not the list endpoint: it is capped and leaves out the untraced logs.
                let path = "/api/trace-ids";
                let body = self.get(path).await?.ok_or_else(|| {
                    http_err(
                        path,
                        "this server has no trace-id endpoint (a weft older than this command?)",
                    )
                })?;
                body.lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| {
                        l.trim()
                            .parse()
                            .map_err(|_| http_err(path, format!("unexpected line {l:?}")))
                    })
                    .collect()
            }
        }
    }
}

/// Percent-encodes a query value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
