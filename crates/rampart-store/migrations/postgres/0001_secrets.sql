-- One row per secret version (the same shape as the SQLite schema). Values
-- are never stored in plaintext: each row holds its value sealed under its
-- own data key, and that data key wrapped by a key-encryption key (recorded
-- by id so rotation knows which). An absent org or project is stored as ''
-- so the primary key stays simple. The names use the "C" collation so rows
-- sort byte-wise, exactly as SQLite sorts them, whatever the server locale.
CREATE TABLE secret_versions (
    scope_org      TEXT COLLATE "C" NOT NULL,
    scope_project  TEXT COLLATE "C" NOT NULL,
    identifier     TEXT COLLATE "C" NOT NULL,
    version        BIGINT NOT NULL CHECK (version >= 1),
    kind           TEXT   NOT NULL,
    cipher         TEXT   NOT NULL,
    key_id         TEXT   NOT NULL,
    wrapped_key    BYTEA  NOT NULL,
    nonce          BYTEA  NOT NULL,
    ciphertext     BYTEA  NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (scope_org, scope_project, identifier, version),
    CHECK (scope_project = '' OR scope_org <> '')
);
