//! `weft`, the local viewer: receives OTLP traces and logs from any language (gRPC on 4317,
//! HTTP on 4318), keeps them in SQLite, and shows each trace as a whole tree with a
//! waterfall across services on <http://127.0.0.1:4319>, saying what is wrong with it:
//! parents that never arrived (and why), traces rooted by a stranger's `traceparent`,
//! gaps left by sampling, clock skew, duplicate ids and cycles.
//!
//! The code follows the data: [`serve`] (OTLP receivers, UI/API) → [`otlp`] (decode,
//! convert) → [`store`] (SQLite) → [`tree`] → [`diagnose`] → [`view`] (API JSON) →
//! [`web`] (embedded pages) and [`term`] (terminal commands). See `docs/viewer.md`.

pub mod cli;
pub mod demo;
pub mod diagnose;
pub mod ids;
pub mod otlp;
pub mod serve;
pub mod store;
pub mod term;
pub mod tree;
pub mod view;
pub mod web;
