-- One row per secret version. Values are never stored in plaintext: each
-- row holds its value sealed under its own data key, and that data key
-- wrapped by a key-encryption key (recorded by id so rotation knows which).
-- An absent org or project is stored as '' so the primary key stays simple.
CREATE TABLE secret_versions (
    scope_org      TEXT    NOT NULL,
    scope_project  TEXT    NOT NULL,
    identifier     TEXT    NOT NULL,
    version        INTEGER NOT NULL CHECK (version >= 1),
    kind           TEXT    NOT NULL,
    cipher         TEXT    NOT NULL,
    key_id         TEXT    NOT NULL,
    wrapped_key    BLOB    NOT NULL,
    nonce          BLOB    NOT NULL,
    ciphertext     BLOB    NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (scope_org, scope_project, identifier, version),
    CHECK (scope_project = '' OR scope_org <> '')
) STRICT;
