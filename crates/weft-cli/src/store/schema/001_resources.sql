-- One row per distinct resource (process). Spans point at it by id so a batch of
-- 10 000 spans from one process stores its resource attributes once.
CREATE TABLE resources (
    id          INTEGER PRIMARY KEY,
    fingerprint TEXT    NOT NULL UNIQUE, -- attributes JSON + schema URL
    service     TEXT    NOT NULL,
    attributes  TEXT    NOT NULL,        -- JSON object
    schema_url  TEXT    NOT NULL
);
