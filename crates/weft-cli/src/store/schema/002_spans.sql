-- Spans, Logfire pending spans and OTLP log records, one row each.
-- resource_id and parent_span_id are deliberately not foreign keys: signals arrive out
-- of order, and a parent that never arrives is exactly what the viewer must show.
CREATE TABLE spans (
    id                 INTEGER PRIMARY KEY,
    trace_id           BLOB    NOT NULL,
    span_id            BLOB    NOT NULL,
    parent_span_id     BLOB,
    signal             INTEGER NOT NULL, -- 0 span, 1 log record
    name               TEXT    NOT NULL,
    msg                TEXT,
    span_type          TEXT,
    level_num          INTEGER,
    pending_parent_id  BLOB,
    kind               INTEGER NOT NULL,
    start_ns           INTEGER NOT NULL,
    end_ns             INTEGER NOT NULL,
    status_code        INTEGER NOT NULL,
    status_message     TEXT    NOT NULL,
    flags              INTEGER NOT NULL,
    trace_state        TEXT    NOT NULL,
    service            TEXT    NOT NULL,
    resource_id        INTEGER NOT NULL,
    scope_name         TEXT    NOT NULL,
    scope_version      TEXT    NOT NULL,
    attributes         TEXT    NOT NULL, -- JSON object
    events             TEXT    NOT NULL, -- JSON array
    links              TEXT    NOT NULL, -- JSON array
    dropped_attributes INTEGER NOT NULL,
    dropped_events     INTEGER NOT NULL,
    dropped_links      INTEGER NOT NULL,
    severity_text      TEXT    NOT NULL  -- a log record's severity text ('' for spans)
);
-- Also makes a retried export idempotent: the same record sent twice is stored once,
-- while two different spans sharing an id (a bug the viewer diagnoses) are both kept.
CREATE UNIQUE INDEX spans_identity ON spans (trace_id, span_id, signal, start_ns, name);
