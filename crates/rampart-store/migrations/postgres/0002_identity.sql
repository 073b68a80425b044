-- Identity (the same shape as the SQLite schema): the account →
-- organization → project scopes, users and API tokens. Times are unix
-- milliseconds. Nothing secret is stored in plaintext: passwords as
-- Argon2id PHC strings, TOTP seeds sealed by the server, recovery codes and
-- tokens as hashes, all opaque to the store. Every lookup the server makes
-- is a primary key or an index below. Names use the "C" collation so lists
-- sort byte-wise, as SQLite sorts them.
CREATE TABLE accounts (
    identifier     TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name           TEXT   NOT NULL,
    created_at_ms  BIGINT NOT NULL
);

-- Identifiers are unique within their parent; deleting a parent deletes
-- what is inside it.
CREATE TABLE organizations (
    account        TEXT COLLATE "C" NOT NULL REFERENCES accounts (identifier) ON DELETE CASCADE,
    identifier     TEXT COLLATE "C" NOT NULL,
    name           TEXT   NOT NULL,
    description    TEXT   NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (account, identifier)
);

CREATE TABLE projects (
    account        TEXT COLLATE "C" NOT NULL,
    org            TEXT COLLATE "C" NOT NULL,
    identifier     TEXT COLLATE "C" NOT NULL,
    name           TEXT   NOT NULL,
    description    TEXT   NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (account, org, identifier),
    FOREIGN KEY (account, org) REFERENCES organizations (account, identifier) ON DELETE CASCADE
);

-- The caller normalises e-mail addresses (case) before storing or looking up.
CREATE TABLE users (
    id                   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    account              TEXT COLLATE "C" NOT NULL REFERENCES accounts (identifier) ON DELETE CASCADE,
    email                TEXT COLLATE "C" NOT NULL,
    display_name         TEXT    NOT NULL,
    password_hash        TEXT    NOT NULL,
    totp_secret_sealed   BYTEA,
    totp_last_step       BIGINT,
    recovery_codes       BYTEA,
    disabled             BOOLEAN NOT NULL,
    created_at_ms        BIGINT  NOT NULL,
    updated_at_ms        BIGINT  NOT NULL,
    UNIQUE (account, email)
);

-- token_id is the public part of a token: the O(1) lookup key. Only a keyed
-- hash of the whole token is kept. The owner is a user or a service account.
CREATE TABLE api_tokens (
    token_id               TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    account                TEXT COLLATE "C" NOT NULL REFERENCES accounts (identifier) ON DELETE CASCADE,
    scope_org              TEXT COLLATE "C",
    scope_project          TEXT COLLATE "C",
    owner_kind             TEXT   NOT NULL CHECK (owner_kind IN ('user', 'service_account')),
    owner_id               TEXT COLLATE "C" NOT NULL,
    name                   TEXT   NOT NULL,
    hash                   BYTEA  NOT NULL,
    created_at_ms          BIGINT NOT NULL,
    expires_at_ms          BIGINT,
    last_used_at_ms        BIGINT,
    revoked_at_ms          BIGINT,
    rotated_grace_end_ms   BIGINT,
    CHECK (scope_project IS NULL OR scope_org IS NOT NULL)
);

CREATE INDEX api_tokens_by_owner ON api_tokens (owner_kind, owner_id, created_at_ms);
