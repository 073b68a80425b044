//! Persistence for Rampart.
//!
//! One repository trait per aggregate ([`SecretRepo`], [`IdentityRepo`]), implemented
//! for each database a [`Store`] can be opened on. The database is chosen by
//! URL: `sqlite://PATH` (embedded, the default) or `postgres://...` (for
//! several server replicas). Migrations are embedded in the binary and run
//! when a store is opened. Both implementations pass the same test suite
//! (`tests/repo.rs`, `tests/identity.rs`).
//!
//! This crate stores bytes and metadata; it deliberately knows nothing about
//! cryptography. Secret rows arrive here already sealed by `rampart-secrets`,
//! and the repository never sees a plaintext value or a key-encryption key.
//!
//! Entry points: [`Store::connect`] (by URL), [`Store::open_sqlite`] (by
//! path) or [`Store::open_postgres`], then the [`SecretRepo`] methods on the
//! returned [`Store`].

#![forbid(unsafe_code)]

mod identity;
mod identity_sql;
mod postgres;
mod rows;
mod secrets;
mod sqlite;

use std::path::{Path, PathBuf};

pub use identity::{Account, ApiToken, IdentityRepo, Organization, Project, TokenOwner, User};
pub use postgres::PgStore;
pub use secrets::{
    NewSecretVersion, Rewrap, SecretMeta, SecretName, SecretRepo, StoredVersion, WrappedKey,
};
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

    async fn latest_all(&self) -> Result<Vec<StoredVersion>, StoreError> {
        match self {
            Store::Sqlite(store) => store.latest_all().await,
            Store::Postgres(store) => store.latest_all().await,
        }
    }

    async fn list(&self) -> Result<Vec<SecretMeta>, StoreError> {
        match self {
            Store::Sqlite(store) => store.list().await,
            Store::Postgres(store) => store.list().await,
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

/// Forwards each listed `IdentityRepo` method to the database behind a [`Store`].
macro_rules! dispatch_identity {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $out:ty;)*) => {
        impl IdentityRepo for Store {
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

dispatch_identity! {
    create_account(account: &Account) -> ();
    account(identifier: &str) -> Option<Account>;
    create_organization(org: &Organization) -> ();
    organization(account: &str, identifier: &str) -> Option<Organization>;
    organizations(account: &str) -> Vec<Organization>;
    delete_organization(account: &str, identifier: &str) -> bool;
    create_project(project: &Project) -> ();
    project(account: &str, org: &str, identifier: &str) -> Option<Project>;
    projects(account: &str, org: &str) -> Vec<Project>;
    delete_project(account: &str, org: &str, identifier: &str) -> bool;
    create_user(user: &User) -> ();
    user(id: &str) -> Option<User>;
    user_by_email(account: &str, email: &str) -> Option<User>;
    set_password_hash(id: &str, password_hash: &str, at_ms: i64) -> bool;
    set_totp(id: &str, totp_secret_sealed: &[u8], recovery_codes: &[u8], at_ms: i64) -> bool;
    clear_totp(id: &str, at_ms: i64) -> bool;
    advance_totp_step(id: &str, step: i64) -> bool;
    insert_token(token: &ApiToken) -> ();
    token(token_id: &str) -> Option<ApiToken>;
    tokens_of(owner: &TokenOwner) -> Vec<ApiToken>;
    revoke_token(token_id: &str, at_ms: i64) -> bool;
    touch_token(token_id: &str, at_ms: i64) -> bool;
    set_token_grace_end(token_id: &str, grace_end_ms: i64) -> bool;
}
