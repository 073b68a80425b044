-- CI (the same shape as the SQLite schema): pipelines and their version
-- history, runs (also the job queue), each run's stage and step states and
-- its masked log in chunks. Times are unix milliseconds. Keys use the "C"
-- collation so lists sort byte-wise, as SQLite sorts them.

-- A project's pipelines at their latest version; deleting the project
-- deletes them.
CREATE TABLE pipelines (
    account        TEXT COLLATE "C" NOT NULL,
    org            TEXT COLLATE "C" NOT NULL,
    project        TEXT COLLATE "C" NOT NULL,
    identifier     TEXT COLLATE "C" NOT NULL,
    name           TEXT   NOT NULL,
    version        BIGINT NOT NULL CHECK (version >= 1),
    yaml           TEXT   NOT NULL,
    updated_by     TEXT   NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    updated_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (account, org, project, identifier),
    FOREIGN KEY (account, org, project) REFERENCES projects (account, org, identifier)
        ON DELETE CASCADE
);

-- Every saved version, including the latest; goes with its pipeline.
CREATE TABLE pipeline_versions (
    account        TEXT COLLATE "C" NOT NULL,
    org            TEXT COLLATE "C" NOT NULL,
    project        TEXT COLLATE "C" NOT NULL,
    pipeline       TEXT COLLATE "C" NOT NULL,
    version        BIGINT NOT NULL CHECK (version >= 1),
    yaml           TEXT   NOT NULL,
    updated_by     TEXT   NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (account, org, project, pipeline, version),
    FOREIGN KEY (account, org, project, pipeline)
        REFERENCES pipelines (account, org, project, identifier) ON DELETE CASCADE
);

-- The last sequence id handed out per pipeline. No foreign key: runs
-- outlive their pipeline, so a pipeline created again under the same
-- identifier continues the numbering instead of reusing the old runs' ids.
-- Its row lock also orders concurrent enqueues of one pipeline.
CREATE TABLE pipeline_sequences (
    account        TEXT COLLATE "C" NOT NULL,
    org            TEXT COLLATE "C" NOT NULL,
    project        TEXT COLLATE "C" NOT NULL,
    pipeline       TEXT COLLATE "C" NOT NULL,
    last_sequence  BIGINT NOT NULL,
    PRIMARY KEY (account, org, project, pipeline)
);

-- Runs stay when their pipeline or project goes (no foreign key). queue_pos
-- orders the queue and the listings: it grows with every enqueue, unlike
-- millisecond timestamps.
CREATE TABLE runs (
    id                TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    queue_pos         BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    account           TEXT COLLATE "C" NOT NULL,
    org               TEXT COLLATE "C" NOT NULL,
    project           TEXT COLLATE "C" NOT NULL,
    pipeline          TEXT COLLATE "C" NOT NULL,
    pipeline_version  BIGINT  NOT NULL,
    sequence_id       BIGINT  NOT NULL,
    status            TEXT COLLATE "C" NOT NULL,
    executor_kind     TEXT    NOT NULL,
    executor_id       TEXT    NOT NULL,
    executor_limits_json TEXT,
    inputs_json       TEXT    NOT NULL,
    message           TEXT,
    rerun_of          TEXT COLLATE "C",
    queued_at_ms      BIGINT  NOT NULL,
    started_at_ms     BIGINT,
    finished_at_ms    BIGINT,
    abort_requested   BOOLEAN NOT NULL,
    runner            TEXT COLLATE "C",
    lease_until_ms    BIGINT,
    summary_json      TEXT,
    UNIQUE (account, org, project, pipeline, sequence_id)
);

-- The queue (oldest Queued first) and the restart sweep (Running by lease).
CREATE INDEX runs_by_status ON runs (status, queue_pos);
-- Listings, newest first: an account's, and a project's or pipeline's.
CREATE INDEX runs_by_account ON runs (account, queue_pos);
CREATE INDEX runs_by_pipeline ON runs (account, org, project, pipeline, queue_pos);
-- Lease renewal.
CREATE INDEX runs_by_runner ON runs (runner, status);

CREATE TABLE run_nodes (
    run_id          TEXT COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    kind            TEXT COLLATE "C" NOT NULL CHECK (kind IN ('stage', 'step')),
    stage           TEXT COLLATE "C" NOT NULL,
    step            TEXT COLLATE "C" NOT NULL,
    name            TEXT   NOT NULL,
    status          TEXT   NOT NULL,
    position        BIGINT NOT NULL,
    started_at_ms   BIGINT,
    finished_at_ms  BIGINT,
    duration_ms     BIGINT,
    message         TEXT,
    outputs_json    TEXT   NOT NULL,
    PRIMARY KEY (run_id, kind, stage, step)
);

-- The body is bytes holding UTF-8 text: TEXT cannot hold the NUL a program
-- may print.
CREATE TABLE run_logs (
    run_id      TEXT COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL,
    stage       TEXT COLLATE "C" NOT NULL,
    step        TEXT COLLATE "C" NOT NULL,
    line_count  BIGINT NOT NULL,
    body        BYTEA  NOT NULL,
    PRIMARY KEY (run_id, seq)
);

-- One step's log.
CREATE INDEX run_logs_by_step ON run_logs (run_id, stage, step, seq);
