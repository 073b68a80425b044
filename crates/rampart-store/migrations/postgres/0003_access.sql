-- Access control, sessions and the audit log (the same columns as the
-- SQLite schema). Times are unix milliseconds. As in secret_versions, an
-- absent org or project is stored as '' so primary keys stay simple; API
-- tokens (0002) keep NULL for it. Keys use the "C" collation so lists sort
-- byte-wise, as SQLite sorts them.

-- Users: a TOTP seed being enrolled (sealed), the one-time-password flag,
-- and the login throttling state (opaque, changed by compare-and-swap).
ALTER TABLE users ADD COLUMN totp_pending_sealed BYTEA;
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN login_state TEXT;

-- Tokens belong to an API key of their owner; rows from before keys have ''.
ALTER TABLE api_tokens ADD COLUMN api_key TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN permissions TEXT;
CREATE INDEX api_tokens_by_key ON api_tokens (owner_kind, owner_id, api_key, created_at_ms);
-- Deleting an org or project deletes the tokens scoped to it.
CREATE INDEX api_tokens_by_scope ON api_tokens (account, scope_org, scope_project);

-- The RBAC and settings documents: JSON bodies the store never reads,
-- versioned for optimistic concurrency.
CREATE TABLE access_objects (
    account        TEXT COLLATE "C" NOT NULL REFERENCES accounts (identifier) ON DELETE CASCADE,
    scope_org      TEXT COLLATE "C" NOT NULL,
    scope_project  TEXT COLLATE "C" NOT NULL,
    kind           TEXT COLLATE "C" NOT NULL,
    identifier     TEXT COLLATE "C" NOT NULL,
    body           TEXT   NOT NULL,
    version        BIGINT NOT NULL CHECK (version >= 1),
    created_at_ms  BIGINT NOT NULL,
    updated_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (account, scope_org, scope_project, kind, identifier),
    CHECK (scope_project = '' OR scope_org <> '')
);

-- The policy snapshot reads every document of one kind.
CREATE INDEX access_objects_by_kind
    ON access_objects (kind, account, scope_org, scope_project, identifier);

-- users (id, account) is unique because id is; the index lets a membership
-- name both, so a user joins only groups of their own account.
CREATE UNIQUE INDEX users_by_id_and_account ON users (id, account);

-- A membership points at its group's document (kind is fixed so the
-- composite key matches) and at a user of the same account; deleting either
-- deletes the membership.
CREATE TABLE user_group_members (
    account           TEXT COLLATE "C" NOT NULL,
    scope_org         TEXT COLLATE "C" NOT NULL,
    scope_project     TEXT COLLATE "C" NOT NULL,
    kind              TEXT COLLATE "C" NOT NULL DEFAULT 'user_group' CHECK (kind = 'user_group'),
    group_identifier  TEXT COLLATE "C" NOT NULL,
    user_id           TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (account, scope_org, scope_project, kind, group_identifier, user_id),
    FOREIGN KEY (account, scope_org, scope_project, kind, group_identifier)
        REFERENCES access_objects (account, scope_org, scope_project, kind, identifier)
        ON DELETE CASCADE,
    FOREIGN KEY (user_id, account) REFERENCES users (id, account) ON DELETE CASCADE
);

CREATE INDEX user_group_members_by_user ON user_group_members (user_id, account);

-- Non-human principals. id is what bindings and tokens name; identifier is
-- unique within the scope.
CREATE TABLE service_accounts (
    id             TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    account        TEXT COLLATE "C" NOT NULL REFERENCES accounts (identifier) ON DELETE CASCADE,
    scope_org      TEXT COLLATE "C" NOT NULL,
    scope_project  TEXT COLLATE "C" NOT NULL,
    identifier     TEXT COLLATE "C" NOT NULL,
    name           TEXT   NOT NULL,
    email          TEXT   NOT NULL,
    description    TEXT   NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    updated_at_ms  BIGINT NOT NULL,
    UNIQUE (account, scope_org, scope_project, identifier),
    CHECK (scope_project = '' OR scope_org <> '')
);

-- A named group of one owner's tokens. The owner is a user or a service
-- account (no foreign key can name either), so deletes cascade in code.
CREATE TABLE api_keys (
    owner_kind     TEXT COLLATE "C" NOT NULL CHECK (owner_kind IN ('user', 'service_account')),
    owner_id       TEXT COLLATE "C" NOT NULL,
    identifier     TEXT COLLATE "C" NOT NULL,
    account        TEXT COLLATE "C" NOT NULL REFERENCES accounts (identifier) ON DELETE CASCADE,
    scope_org      TEXT COLLATE "C" NOT NULL,
    scope_project  TEXT COLLATE "C" NOT NULL,
    name           TEXT   NOT NULL,
    description    TEXT   NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (owner_kind, owner_id, identifier),
    CHECK (scope_project = '' OR scope_org <> '')
);

CREATE INDEX api_keys_by_scope ON api_keys (account, scope_org, scope_project);

-- Browser sessions, keyed by a keyed hash of the session secret.
CREATE TABLE sessions (
    id_hash        TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    user_id        TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    stage          TEXT   NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    last_seen_ms   BIGINT NOT NULL,
    expires_at_ms  BIGINT NOT NULL,
    source_ip      TEXT,
    revoked_at_ms  BIGINT
);

CREATE INDEX sessions_by_user ON sessions (user_id);

-- One hash chain per account. No foreign key to accounts: the log outlives
-- a deleted account. The filter columns copy fields of `record`.
CREATE TABLE audit_events (
    account        TEXT COLLATE "C" NOT NULL,
    seq            BIGINT NOT NULL CHECK (seq >= 1),
    time_ms        BIGINT NOT NULL,
    action         TEXT COLLATE "C" NOT NULL,
    actor          TEXT COLLATE "C" NOT NULL,
    resource_kind  TEXT COLLATE "C" NOT NULL,
    resource_id    TEXT,
    outcome        TEXT COLLATE "C" NOT NULL,
    source_ip      TEXT,
    record         TEXT   NOT NULL,
    PRIMARY KEY (account, seq)
);

CREATE INDEX audit_events_by_time ON audit_events (account, time_ms);
CREATE INDEX audit_events_by_actor ON audit_events (account, actor, seq);
CREATE INDEX audit_events_by_action ON audit_events (account, action, seq);
CREATE INDEX audit_events_by_resource
    ON audit_events (account, resource_kind, resource_id, seq);

-- The end of each chain, kept apart from the events so a truncated log is
-- detectable. Updated by every append.
CREATE TABLE audit_heads (
    account    TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    count      BIGINT NOT NULL CHECK (count >= 0),
    last_hash  TEXT   NOT NULL
);

-- History is not rewritten by a bug or a stray statement (TRUNCATE skips
-- row triggers, so it has its own).
CREATE FUNCTION rampart_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP;
END;
$$;

CREATE TRIGGER audit_events_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION rampart_audit_append_only();

CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION rampart_audit_append_only();

-- A counter every security-relevant write advances in its transaction;
-- caches tagged with an older value are stale.
CREATE TABLE security_generation (
    id          BIGINT NOT NULL PRIMARY KEY CHECK (id = 1),
    generation  BIGINT NOT NULL CHECK (generation >= 0)
);

INSERT INTO security_generation (id, generation) VALUES (1, 0);
