//! Persistence for Rampart.
//!
//! One repository trait per aggregate ([`SecretRepo`], [`IdentityRepo`],
//! [`AccessRepo`], [`SessionRepo`], [`AuditRepo`], [`PipelineRepo`],
//! [`RunRepo`]), implemented for each database a [`Store`] can be opened on.
//! The database is chosen by URL: `sqlite://PATH` (embedded, the default) or
//! `postgres://...` (for several server replicas). Migrations are embedded in
//! the binary and run when a store is opened. Both implementations pass the
//! same test suite (`tests/repo.rs`, `tests/identity.rs`, `tests/access.rs`,
//! `tests/ci.rs`).
//!
//! This crate stores bytes and metadata; it deliberately knows nothing about
//! cryptography. Secret rows arrive here already sealed by `rampart-secrets`,
//! and the repository never sees a plaintext value or a key-encryption key.
//!
//! Writes that change what a credential or principal may do advance a
//! security generation in the same transaction
//! ([`AccessRepo::generation`]), so server replicas know when their cached
//! decisions are stale; on PostgreSQL the commit also notifies them
//! ([`Store::watch_security`]). Deleting a scope or a principal removes
//! everything that hangs off it in one transaction. The audit log is
//! append-only (database triggers) and serialises appenders per account.
//!
//! Entry points: [`Store::connect`] (by URL), [`Store::open_sqlite`] (by
//! path) or [`Store::open_postgres`], then the repository traits' methods on
//! the returned [`Store`].

#![forbid(unsafe_code)]

mod access;
mod access_sql;
mod audit;
mod audit_sql;
mod ci;
mod ci_sql;
mod identity;
mod identity_sql;
mod postgres;
mod rows;
mod secrets;
mod sessions;
mod sessions_sql;
mod sqlite;
mod write_sql;

use std::path::{Path, PathBuf};

pub use access::{
    AccessObject, AccessRepo, ApiKey, Membership, ObjectKind, Precondition, ScopeKey,
    ServiceAccount,
};
pub use audit::{Appended, AuditFilter, AuditHead, AuditRepo, AuditRow};
pub use ci::{
    LogChunk, PipelineKey, PipelineRepo, PipelineRow, PipelineVersion, QUEUED, RUNNING, RunFilter,
    RunNode, RunRepo, RunRow,
};
pub use identity::{Account, ApiToken, IdentityRepo, Organization, Project, TokenOwner, User};
pub use postgres::{PgStore, SecurityWatch};
pub use secrets::{
    NewSecretVersion, Rewrap, SecretMeta, SecretName, SecretRepo, StoredVersion, WrappedKey,
};
pub use sessions::{Session, SessionRepo};
pub use sqlite::SqliteStore;

/// What went wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "unsupported database URL `{0}`: use sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE"
    )]
    UnsupportedUrl(String),
    #[error("cannot prepare the database file {path}: {source}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the database {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot bring the database {path} up to date (migrations failed): {source}")]
    Migrate {
        path: PathBuf,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// The URL is shown with its password replaced.
    #[error(
        "cannot connect to the PostgreSQL database {url}: {source}; check that the server is running and that the URL's host, port, user, password and database are right"
    )]
    PostgresConnect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot bring the PostgreSQL database {url} up to date (migrations failed): {source}")]
    PostgresMigrate {
        url: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// Someone else changed the same rows first; the caller may retry.
    #[error("the database changed while this operation ran ({0}); run it again")]
    Conflict(String),
    #[error("the database holds a value this version of Rampart cannot read: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// A store on one of the supported databases. Each aggregate's trait is
/// implemented here by dispatching to the database behind it, so callers
/// hold one concrete type whichever database the URL chose.
#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl Store {
    /// Opens (creating if needed) the database a URL names and runs the
    /// migrations. Supported: `sqlite://PATH` (also `sqlite:PATH`), and
    /// `postgres://` or `postgresql://` URLs naming an existing database.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Self::open_postgres(url).await;
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .filter(|path| !path.is_empty())
            .ok_or_else(|| StoreError::UnsupportedUrl(postgres::redact(url)))?;
        Self::open_sqlite(Path::new(path)).await
    }

    /// Opens (creating if needed, mode 0600) the SQLite database at `path`.
    pub async fn open_sqlite(path: &Path) -> Result<Self, StoreError> {
        Ok(Store::Sqlite(SqliteStore::open(path).await?))
    }

    /// Connects to the PostgreSQL database a `postgres://` URL names.
    pub async fn open_postgres(url: &str) -> Result<Self, StoreError> {
        Ok(Store::Postgres(PgStore::open(url).await?))
    }

    /// A subscription to security-generation changes made by other
    /// processes: on PostgreSQL, a `LISTEN rampart_security` connection;
    /// `None` on SQLite (one process owns the file; poll
    /// [`AccessRepo::generation`] to notice another process's writes).
    pub async fn watch_security(&self) -> Result<Option<SecurityWatch>, StoreError> {
        match self {
            Store::Sqlite(_) => Ok(None),
            Store::Postgres(store) => store.watch_security().await.map(Some),
        }
    }

    /// Closes every connection, so the database files are complete on disk.
    pub async fn close(&self) {
        match self {
            Store::Sqlite(store) => store.close().await,
            Store::Postgres(store) => store.close().await,
        }
    }
}

impl SecretRepo for Store {
    async fn insert_version(&self, row: &NewSecretVersion) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(store) => store.insert_version(row).await,
            Store::Postgres(store) => store.insert_version(row).await,
        }
    }

    async fn latest(&self, secret: &SecretName) -> Result<Option<StoredVersion>, StoreError> {
        match self {
            Store::Sqlite(store) => store.latest(secret).await,
            Store::Postgres(store) => store.latest(secret).await,
        }
    }

    async fn latest_all(&self, account: &str) -> Result<Vec<StoredVersion>, StoreError> {
        match self {
            Store::Sqlite(store) => store.latest_all(account).await,
            Store::Postgres(store) => store.latest_all(account).await,
        }
    }

    async fn list(&self, account: &str) -> Result<Vec<SecretMeta>, StoreError> {
        match self {
            Store::Sqlite(store) => store.list(account).await,
            Store::Postgres(store) => store.list(account).await,
        }
    }

    async fn delete(&self, secret: &SecretName) -> Result<u64, StoreError> {
        match self {
            Store::Sqlite(store) => store.delete(secret).await,
            Store::Postgres(store) => store.delete(secret).await,
        }
    }

    async fn wrapped_keys(&self) -> Result<Vec<WrappedKey>, StoreError> {
        match self {
            Store::Sqlite(store) => store.wrapped_keys().await,
            Store::Postgres(store) => store.wrapped_keys().await,
        }
    }

    async fn replace_wrapped_keys(&self, rewraps: &[Rewrap]) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(store) => store.replace_wrapped_keys(rewraps).await,
            Store::Postgres(store) => store.replace_wrapped_keys(rewraps).await,
        }
    }
}

/// Forwards each listed method of a repository trait to the database behind a [`Store`].
macro_rules! dispatch {
    ($trait:ident { $($name:ident($($arg:ident: $ty:ty),*) -> $out:ty;)* }) => {
        impl $trait for Store {
            $(
                async fn $name(&self, $($arg: $ty),*) -> Result<$out, StoreError> {
                    match self {
                        Store::Sqlite(store) => store.$name($($arg),*).await,
                        Store::Postgres(store) => store.$name($($arg),*).await,
                    }
                }
            )*
        }
    };
}

dispatch! { IdentityRepo {
    create_account(account: &Account) -> ();
    account(identifier: &str) -> Option<Account>;
    create_organization(org: &Organization) -> ();
    organization(account: &str, identifier: &str) -> Option<Organization>;
    organizations(account: &str) -> Vec<Organization>;
    delete_organization(account: &str, identifier: &str) -> bool;
    update_organization(org: &Organization) -> bool;
    create_project(project: &Project) -> ();
    project(account: &str, org: &str, identifier: &str) -> Option<Project>;
    projects(account: &str, org: &str) -> Vec<Project>;
    delete_project(account: &str, org: &str, identifier: &str) -> bool;
    update_project(project: &Project) -> bool;
    update_account(account: &Account) -> bool;
    accounts() -> Vec<Account>;
    delete_account(identifier: &str) -> bool;
    create_user(user: &User) -> ();
    user(id: &str) -> Option<User>;
    user_by_email(account: &str, email: &str) -> Option<User>;
    users(account: &str) -> Vec<User>;
    update_user_profile(id: &str, display_name: &str, disabled: bool, at_ms: i64) -> bool;
    delete_user(id: &str) -> bool;
    set_password_hash(id: &str, password_hash: &str, must_change_password: bool, at_ms: i64) -> bool;
    set_login_state(id: &str, expected: Option<&str>, new: Option<&str>) -> bool;
    set_totp_pending(id: &str, sealed: Option<&[u8]>, at_ms: i64) -> bool;
    set_recovery_codes(id: &str, recovery_codes: &[u8], at_ms: i64) -> bool;
    set_totp(id: &str, totp_secret_sealed: &[u8], recovery_codes: &[u8], at_ms: i64) -> bool;
    clear_totp(id: &str, at_ms: i64) -> bool;
    advance_totp_step(id: &str, step: i64) -> bool;
    insert_token(token: &ApiToken) -> ();
    token(token_id: &str) -> Option<ApiToken>;
    tokens_of(owner: &TokenOwner) -> Vec<ApiToken>;
    tokens_of_key(owner: &TokenOwner, api_key: &str) -> Vec<ApiToken>;
    rotate_token(old_token_id: &str, grace_end_ms: i64, new: &ApiToken) -> bool;
    revoke_token(token_id: &str, at_ms: i64) -> bool;
    touch_token(token_id: &str, at_ms: i64) -> bool;
    set_token_grace_end(token_id: &str, grace_end_ms: i64) -> bool;
}}

dispatch! { AccessRepo {
    put_object(object: &AccessObject, precondition: Precondition) -> i64;
    object(scope: &ScopeKey, kind: ObjectKind, identifier: &str) -> Option<AccessObject>;
    objects(scope: &ScopeKey, kind: ObjectKind) -> Vec<AccessObject>;
    all_objects(kind: ObjectKind) -> Vec<AccessObject>;
    delete_object(scope: &ScopeKey, kind: ObjectKind, identifier: &str) -> bool;
    add_member(membership: &Membership) -> bool;
    remove_member(membership: &Membership) -> bool;
    members(scope: &ScopeKey, group: &str) -> Vec<String>;
    all_memberships() -> Vec<Membership>;
    create_service_account(account: &ServiceAccount) -> ();
    service_account(id: &str) -> Option<ServiceAccount>;
    service_account_by_identifier(scope: &ScopeKey, identifier: &str) -> Option<ServiceAccount>;
    service_accounts(scope: &ScopeKey) -> Vec<ServiceAccount>;
    update_service_account(account: &ServiceAccount) -> bool;
    delete_service_account(id: &str) -> bool;
    create_api_key(key: &ApiKey) -> ();
    api_key(owner: &TokenOwner, identifier: &str) -> Option<ApiKey>;
    api_keys_of(owner: &TokenOwner) -> Vec<ApiKey>;
    delete_api_key(owner: &TokenOwner, identifier: &str) -> bool;
    generation() -> i64;
}}

dispatch! { PipelineRepo {
    save_pipeline(row: &PipelineRow, expected_version: Option<i64>) -> PipelineRow;
    pipeline(key: &PipelineKey) -> Option<PipelineRow>;
    pipelines(account: &str, org: &str, project: &str) -> Vec<PipelineRow>;
    pipeline_versions(key: &PipelineKey) -> Vec<PipelineVersion>;
    pipeline_version(key: &PipelineKey, version: i64) -> Option<PipelineVersion>;
    delete_pipeline(key: &PipelineKey) -> bool;
}}

dispatch! { RunRepo {
    enqueue_run(run: &RunRow) -> RunRow;
    claim_run(runner: &str, now_ms: i64, lease_until_ms: i64) -> Option<RunRow>;
    renew_leases(runner: &str, lease_until_ms: i64) -> u64;
    finish_run(
        run_id: &str,
        runner: &str,
        status: &str,
        message: Option<&str>,
        finished_at_ms: i64,
        summary_json: Option<&str>
    ) -> bool;
    fail_stale_runs(lease_before_ms: i64, status: &str, message: &str, at_ms: i64) -> Vec<String>;
    request_abort(run_id: &str, status_for_queued: &str, message: &str, at_ms: i64) -> Option<RunRow>;
    run(run_id: &str) -> Option<RunRow>;
    runs(account: &str, filter: &RunFilter) -> Vec<RunRow>;
    put_node(node: &RunNode) -> ();
    nodes(run_id: &str) -> Vec<RunNode>;
    append_logs(chunks: &[LogChunk]) -> ();
    logs(run_id: &str, after_seq: i64, step: Option<(&str, &str)>, limit: u32) -> Vec<LogChunk>;
    last_log_seq(run_id: &str) -> i64;
}}

dispatch! { SessionRepo {
    insert_session(session: &Session) -> ();
    session(id_hash: &str) -> Option<Session>;
    touch_session(id_hash: &str, at_ms: i64) -> bool;
    set_session_stage(id_hash: &str, stage: &str) -> bool;
    revoke_session(id_hash: &str, at_ms: i64) -> bool;
    revoke_sessions_of(user_id: &str, keep: Option<&str>, at_ms: i64) -> u64;
    delete_ended_sessions(before_ms: i64) -> u64;
}}

impl AuditRepo for Store {
    async fn append_audit<F>(&self, account: &str, build: F) -> Result<AuditRow, StoreError>
    where
        F: FnOnce(Option<AuditHead>) -> Result<Appended, String> + Send,
    {
        match self {
            Store::Sqlite(store) => store.append_audit(account, build).await,
            Store::Postgres(store) => store.append_audit(account, build).await,
        }
    }

    async fn audit_head(&self, account: &str) -> Result<Option<AuditHead>, StoreError> {
        match self {
            Store::Sqlite(store) => store.audit_head(account).await,
            Store::Postgres(store) => store.audit_head(account).await,
        }
    }

    async fn audit_query(
        &self,
        account: &str,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditRow>, StoreError> {
        match self {
            Store::Sqlite(store) => store.audit_query(account, filter).await,
            Store::Postgres(store) => store.audit_query(account, filter).await,
        }
    }

    async fn audit_range(
        &self,
        account: &str,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<AuditRow>, StoreError> {
        match self {
            Store::Sqlite(store) => store.audit_range(account, after_seq, limit).await,
            Store::Postgres(store) => store.audit_range(account, after_seq, limit).await,
        }
    }

    async fn audit_accounts(&self) -> Result<Vec<String>, StoreError> {
        match self {
            Store::Sqlite(store) => store.audit_accounts().await,
            Store::Postgres(store) => store.audit_accounts().await,
        }
    }
}
