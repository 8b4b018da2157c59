-- The run history, version 1. One schema for SQLite and PostgreSQL: only types and statements both accept
-- (TEXT, INTEGER, BIGINT, BYTEA; no engine-specific defaults). Timestamps are ISO 8601 text in UTC
-- (YYYY-MM-DDTHH:MM:SS.ffffff+00:00), so their text order is their time order in both engines.
-- A statement ends with ';' at the end of a line; there is no ';' inside one.

-- One row per audit run, written in the same transaction as its hosts and findings.
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    generated_at TEXT,
    recorded_at TEXT NOT NULL,
    operator TEXT NOT NULL,
    selection TEXT NOT NULL,
    zones TEXT NOT NULL,
    scope_key TEXT NOT NULL,
    origin_kind TEXT NOT NULL,
    collector TEXT,
    bundle_sha256 TEXT,
    bundle_sequence BIGINT,
    out_dir TEXT,
    exit_code INTEGER,
    hosts INTEGER NOT NULL,
    n_pass INTEGER NOT NULL,
    n_fail INTEGER NOT NULL,
    n_error INTEGER NOT NULL,
    n_not_applicable INTEGER NOT NULL,
    n_manual INTEGER NOT NULL,
    n_waived INTEGER NOT NULL,
    head BYTEA NOT NULL
);
CREATE INDEX runs_started ON runs (started_at, id);
CREATE INDEX runs_scope ON runs (scope_key, started_at);

-- The zones a run covered (its hosts' zones): `history --zone` filters on it.
CREATE TABLE run_zones (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    zone TEXT NOT NULL,
    PRIMARY KEY (run_id, zone)
);

-- The requirements a run evaluated, with their titles (diff prints them).
CREATE TABLE run_requirements (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    requirement TEXT NOT NULL,
    clause TEXT NOT NULL,
    title_ja TEXT NOT NULL,
    title_en TEXT NOT NULL,
    PRIMARY KEY (run_id, requirement)
);

-- One row per host of a run; entry: the host's report entry and its findings (zlib-compressed JSON).
CREATE TABLE run_hosts (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq_no INTEGER NOT NULL,
    host TEXT NOT NULL,
    status TEXT NOT NULL,
    error_kind TEXT,
    zone TEXT,
    system TEXT,
    device_class TEXT,
    platform TEXT,
    entry BYTEA NOT NULL,
    PRIMARY KEY (run_id, host)
);

-- One row per host x requirement of a run: what drift, trends and filters query.
CREATE TABLE findings (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    host TEXT NOT NULL,
    requirement TEXT NOT NULL,
    clause TEXT NOT NULL,
    status TEXT NOT NULL,
    evaluated_status TEXT NOT NULL,
    zone TEXT,
    system TEXT,
    device_class TEXT,
    PRIMARY KEY (run_id, host, requirement)
);
CREATE INDEX findings_status ON findings (run_id, status);
