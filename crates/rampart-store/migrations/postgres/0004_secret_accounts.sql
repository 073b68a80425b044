-- Secrets belong to a server account: the same org, project and identifier
-- in two accounts are two secrets. Rows from before accounts (and the local
-- CLI's store, which has none) have ''. "C" collation, as the other name
-- columns, so rows sort exactly as SQLite sorts them.
ALTER TABLE secret_versions
    ADD COLUMN scope_account TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE secret_versions DROP CONSTRAINT secret_versions_pkey;
ALTER TABLE secret_versions
    ADD PRIMARY KEY (scope_account, scope_org, scope_project, identifier, version);
