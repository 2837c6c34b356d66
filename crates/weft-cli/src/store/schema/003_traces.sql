-- One summary row per trace, upserted with each batch so the list never scans spans.
CREATE TABLE traces (
    trace_id     BLOB    PRIMARY KEY,
    start_ns     INTEGER NOT NULL,
    end_ns       INTEGER NOT NULL,
    span_count   INTEGER NOT NULL,
    error_count  INTEGER NOT NULL,
    root_name    TEXT    NOT NULL,
    root_service TEXT    NOT NULL,
    root_rank    INTEGER NOT NULL, -- 2 parentless span, 1 pending root, 0 other span, -1 log
    root_start   INTEGER NOT NULL,
    updated_ns   INTEGER NOT NULL  -- wall clock of the last batch that touched it
) WITHOUT ROWID;
CREATE INDEX traces_start ON traces (start_ns);
CREATE INDEX traces_updated ON traces (updated_ns);

CREATE TABLE trace_services (
    trace_id BLOB NOT NULL,
    service  TEXT NOT NULL,
    PRIMARY KEY (trace_id, service)
) WITHOUT ROWID;
