-- CI: pipelines and their version history, runs (also the job queue), each
-- run's stage and step states and its masked log in chunks (the same
-- columns as the PostgreSQL schema). Times are unix milliseconds.

-- A project's pipelines at their latest version; deleting the project
-- deletes them.
CREATE TABLE pipelines (
    account        TEXT    NOT NULL,
    org            TEXT    NOT NULL,
    project        TEXT    NOT NULL,
    identifier     TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    version        INTEGER NOT NULL CHECK (version >= 1),
    yaml           TEXT    NOT NULL,
    updated_by     TEXT    NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    updated_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (account, org, project, identifier),
    FOREIGN KEY (account, org, project) REFERENCES projects (account, org, identifier)
        ON DELETE CASCADE
) STRICT;

-- Every saved version, including the latest; goes with its pipeline.
CREATE TABLE pipeline_versions (
    account        TEXT    NOT NULL,
    org            TEXT    NOT NULL,
    project        TEXT    NOT NULL,
    pipeline       TEXT    NOT NULL,
    version        INTEGER NOT NULL CHECK (version >= 1),
    yaml           TEXT    NOT NULL,
    updated_by     TEXT    NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (account, org, project, pipeline, version),
    FOREIGN KEY (account, org, project, pipeline)
        REFERENCES pipelines (account, org, project, identifier) ON DELETE CASCADE
) STRICT;

-- The last sequence id handed out per pipeline. No foreign key: runs
-- outlive their pipeline, so a pipeline created again under the same
-- identifier continues the numbering instead of reusing the old runs' ids.
CREATE TABLE pipeline_sequences (
    account        TEXT    NOT NULL,
    org            TEXT    NOT NULL,
    project        TEXT    NOT NULL,
    pipeline       TEXT    NOT NULL,
    last_sequence  INTEGER NOT NULL,
    PRIMARY KEY (account, org, project, pipeline)
) STRICT;

-- Runs stay when their pipeline or project goes (no foreign key). queue_pos
-- orders the queue and the listings: it grows with every enqueue and is
-- never reused (AUTOINCREMENT), unlike millisecond timestamps.
CREATE TABLE runs (
    queue_pos         INTEGER PRIMARY KEY AUTOINCREMENT,
    id                TEXT    NOT NULL UNIQUE,
    account           TEXT    NOT NULL,
    org               TEXT    NOT NULL,
    project           TEXT    NOT NULL,
    pipeline          TEXT    NOT NULL,
    pipeline_version  INTEGER NOT NULL,
    sequence_id       INTEGER NOT NULL,
    status            TEXT    NOT NULL,
    executor_kind     TEXT    NOT NULL,
    executor_id       TEXT    NOT NULL,
    executor_limits_json TEXT,
    inputs_json       TEXT    NOT NULL,
    message           TEXT,
    rerun_of          TEXT,
    queued_at_ms      INTEGER NOT NULL,
    started_at_ms     INTEGER,
    finished_at_ms    INTEGER,
    abort_requested   INTEGER NOT NULL CHECK (abort_requested IN (0, 1)),
    runner            TEXT,
    lease_until_ms    INTEGER,
    summary_json      TEXT,
    UNIQUE (account, org, project, pipeline, sequence_id)
) STRICT;

-- The queue (oldest Queued first) and the restart sweep (Running by lease).
CREATE INDEX runs_by_status ON runs (status, queue_pos);
-- Listings, newest first: an account's, and a project's or pipeline's.
CREATE INDEX runs_by_account ON runs (account, queue_pos);
CREATE INDEX runs_by_pipeline ON runs (account, org, project, pipeline, queue_pos);
-- Lease renewal.
CREATE INDEX runs_by_runner ON runs (runner, status);

CREATE TABLE run_nodes (
    run_id          TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL CHECK (kind IN ('stage', 'step')),
    stage           TEXT    NOT NULL,
    step            TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    position        INTEGER NOT NULL,
    started_at_ms   INTEGER,
    finished_at_ms  INTEGER,
    duration_ms     INTEGER,
    message         TEXT,
    outputs_json    TEXT    NOT NULL,
    PRIMARY KEY (run_id, kind, stage, step)
) STRICT;

-- The body is bytes holding UTF-8 text (PostgreSQL's TEXT cannot hold the
-- NUL a program may print).
CREATE TABLE run_logs (
    run_id      TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    stage       TEXT    NOT NULL,
    step        TEXT    NOT NULL,
    line_count  INTEGER NOT NULL,
    body        BLOB    NOT NULL,
    PRIMARY KEY (run_id, seq)
) STRICT;

-- One step's log.
CREATE INDEX run_logs_by_step ON run_logs (run_id, stage, step, seq);
