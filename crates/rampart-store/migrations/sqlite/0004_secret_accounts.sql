-- Secrets belong to a server account: the same org, project and identifier
-- in two accounts are two secrets. Rows from before accounts (and the local
-- CLI's store, which has none) have ''. SQLite cannot change a primary key
-- in place, so the table is rebuilt with the same columns plus the account
-- (sqlx runs this file in one transaction).
CREATE TABLE secret_versions_new (
    scope_account  TEXT    NOT NULL DEFAULT '',
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
    PRIMARY KEY (scope_account, scope_org, scope_project, identifier, version),
    CHECK (scope_project = '' OR scope_org <> '')
) STRICT;

INSERT INTO secret_versions_new (scope_account, scope_org, scope_project, identifier, version,
    kind, cipher, key_id, wrapped_key, nonce, ciphertext, created_at_ms)
SELECT '', scope_org, scope_project, identifier, version,
    kind, cipher, key_id, wrapped_key, nonce, ciphertext, created_at_ms
FROM secret_versions;

DROP TABLE secret_versions;
ALTER TABLE secret_versions_new RENAME TO secret_versions;
