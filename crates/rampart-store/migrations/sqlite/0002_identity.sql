-- Identity: the account → organization → project scopes, users and API
-- tokens. Times are unix milliseconds. Nothing secret is stored in
-- plaintext: passwords as Argon2id PHC strings, TOTP seeds sealed by the
-- server, recovery codes and tokens as hashes, all opaque to the store.
-- Every lookup the server makes is a primary key or an index below.
CREATE TABLE accounts (
    identifier     TEXT    NOT NULL PRIMARY KEY,
    name           TEXT    NOT NULL,
    created_at_ms  INTEGER NOT NULL
) STRICT;

-- Identifiers are unique within their parent; deleting a parent deletes
-- what is inside it.
CREATE TABLE organizations (
    account        TEXT    NOT NULL REFERENCES accounts (identifier) ON DELETE CASCADE,
    identifier     TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    description    TEXT    NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (account, identifier)
) STRICT;

CREATE TABLE projects (
    account        TEXT    NOT NULL,
    org            TEXT    NOT NULL,
    identifier     TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    description    TEXT    NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (account, org, identifier),
    FOREIGN KEY (account, org) REFERENCES organizations (account, identifier) ON DELETE CASCADE
) STRICT;

-- The caller normalises e-mail addresses (case) before storing or looking up.
CREATE TABLE users (
    id                   TEXT    NOT NULL PRIMARY KEY,
    account              TEXT    NOT NULL REFERENCES accounts (identifier) ON DELETE CASCADE,
    email                TEXT    NOT NULL,
    display_name         TEXT    NOT NULL,
    password_hash        TEXT    NOT NULL,
    totp_secret_sealed   BLOB,
    totp_last_step       INTEGER,
    recovery_codes       BLOB,
    disabled             INTEGER NOT NULL CHECK (disabled IN (0, 1)),
    created_at_ms        INTEGER NOT NULL,
    updated_at_ms        INTEGER NOT NULL,
    UNIQUE (account, email)
) STRICT;

-- token_id is the public part of a token: the O(1) lookup key. Only a keyed
-- hash of the whole token is kept. The owner is a user or a service account.
CREATE TABLE api_tokens (
    token_id               TEXT    NOT NULL PRIMARY KEY,
    account                TEXT    NOT NULL REFERENCES accounts (identifier) ON DELETE CASCADE,
    scope_org              TEXT,
    scope_project          TEXT,
    owner_kind             TEXT    NOT NULL CHECK (owner_kind IN ('user', 'service_account')),
    owner_id               TEXT    NOT NULL,
    name                   TEXT    NOT NULL,
    hash                   BLOB    NOT NULL,
    created_at_ms          INTEGER NOT NULL,
    expires_at_ms          INTEGER,
    last_used_at_ms        INTEGER,
    revoked_at_ms          INTEGER,
    rotated_grace_end_ms   INTEGER,
    CHECK (scope_project IS NULL OR scope_org IS NOT NULL)
) STRICT;

CREATE INDEX api_tokens_by_owner ON api_tokens (owner_kind, owner_id, created_at_ms);
