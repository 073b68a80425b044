//! The SQLite implementation: one file (mode 0600), WAL, embedded migrations.

use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

use crate::StoreError;
use crate::rows::{VERSION_COLUMNS, column, meta_of, stored_of, wrapped_of};
use crate::secrets::{
    NewSecretVersion, Rewrap, SecretMeta, SecretName, SecretRepo, StoredVersion, WrappedKey,
};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a writer waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A SQLite database file. Cloning shares the connection pool.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens the database at `path`, creating it (mode 0600, its directory
    /// 0700) if missing, and runs the migrations. An existing file readable
    /// by others is tightened to 0600; SQLite gives its `-wal` and `-shm`
    /// files the database file's mode.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        prepare_file(path).map_err(|source| StoreError::File {
            path: path.to_path_buf(),
            source,
        })?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(false)
            .journal_mode(SqliteJournalMode::Wal)
            // Full: a committed key rotation survives a power cut.
            .synchronous(SqliteSynchronous::Full)
            // Deleted rows (a removed secret's sealed value) are overwritten.
            .pragma("secure_delete", "ON")
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(SqliteStore {
            pool,
            path: path.to_path_buf(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes every connection (checkpointing the WAL into the file).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn prepare_file(path: &Path) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)?;
    }
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    let mode = file.metadata()?.permissions().mode();
    if mode & 0o077 != 0 {
        file.set_permissions(Permissions::from_mode(0o600))?;
    }
    Ok(())
}

impl SqliteStore {
    /// A write transaction. IMMEDIATE takes the database's write lock up
    /// front (waiting up to the busy timeout), so what the transaction reads
    /// cannot change before it commits.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// A write transaction that has advanced the security generation (see
    /// [`crate::write_sql`]). One process owns the file, so no one else
    /// needs telling.
    async fn begin_security(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query_scalar::<_, i64>(crate::write_sql::BUMP_GENERATION)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(crate::write_sql::no_generation)?;
        Ok(tx)
    }
}

crate::write_sql::write_helpers!(SqliteStore, Sqlite, StoreError::from);
crate::identity_sql::identity_repo!(SqliteStore, StoreError::from);
crate::access_sql::access_repo!(SqliteStore, StoreError::from);
crate::sessions_sql::session_repo!(SqliteStore, StoreError::from);
crate::audit_sql::audit_repo!(SqliteStore, Sqlite, StoreError::from, "");
crate::ci_sql::ci_repo!(SqliteStore, Sqlite, StoreError::from, "");

impl SecretRepo for SqliteStore {
    async fn insert_version(&self, row: &NewSecretVersion) -> Result<(), StoreError> {
        let result = sqlx::query(
            "INSERT INTO secret_versions (scope_account, scope_org, scope_project, identifier, \
             version, kind, cipher, key_id, wrapped_key, nonce, ciphertext, created_at_ms) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&row.name.account)
        .bind(column(row.name.org.as_ref()))
        .bind(column(row.name.project.as_ref()))
        .bind(&row.name.identifier)
        .bind(i64::from(row.version))
        .bind(&row.kind)
        .bind(&row.cipher)
        .bind(&row.key_id)
        .bind(&row.wrapped_key)
        .bind(&row.nonce)
        .bind(&row.ciphertext)
        .bind(row.created_at_ms)
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
                Err(StoreError::Conflict(format!(
                    "version {} of secret `{}` was stored by someone else",
                    row.version, row.name.identifier
                )))
            }
            Err(error) => Err(error.into()),
        }
    }

    async fn latest(&self, name: &SecretName) -> Result<Option<StoredVersion>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {VERSION_COLUMNS} FROM secret_versions \
             WHERE scope_account = ? AND scope_org = ? AND scope_project = ? AND identifier = ? \
             ORDER BY version DESC LIMIT 1"
        ));
        let row = sqlx::query(sql)
            .bind(&name.account)
            .bind(column(name.org.as_ref()))
            .bind(column(name.project.as_ref()))
            .bind(&name.identifier)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(stored_of).transpose()
    }

    async fn latest_all(&self, account: &str) -> Result<Vec<StoredVersion>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {VERSION_COLUMNS} FROM secret_versions AS v \
             WHERE scope_account = ? AND version = (SELECT MAX(version) FROM secret_versions AS w \
                 WHERE w.scope_account = v.scope_account AND w.scope_org = v.scope_org \
                 AND w.scope_project = v.scope_project AND w.identifier = v.identifier) \
             ORDER BY scope_org, scope_project, identifier"
        ));
        let rows = sqlx::query(sql).bind(account).fetch_all(&self.pool).await?;
        rows.iter().map(stored_of).collect()
    }

    async fn list(&self, account: &str) -> Result<Vec<SecretMeta>, StoreError> {
        let rows = sqlx::query(
            "SELECT v.scope_account, v.scope_org, v.scope_project, v.identifier, v.kind, \
                 v.version, agg.versions, agg.created_at_ms, v.created_at_ms AS updated_at_ms \
             FROM secret_versions AS v \
             JOIN (SELECT scope_account, scope_org, scope_project, identifier, \
                       MAX(version) AS latest, COUNT(*) AS versions, \
                       MIN(created_at_ms) AS created_at_ms \
                   FROM secret_versions WHERE scope_account = ? \
                   GROUP BY scope_account, scope_org, scope_project, identifier) AS agg \
             ON v.scope_account = agg.scope_account AND v.scope_org = agg.scope_org \
                 AND v.scope_project = agg.scope_project \
                 AND v.identifier = agg.identifier AND v.version = agg.latest \
             ORDER BY v.scope_org, v.scope_project, v.identifier",
        )
        .bind(account)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(meta_of).collect()
    }

    async fn delete(&self, name: &SecretName) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "DELETE FROM secret_versions \
             WHERE scope_account = ? AND scope_org = ? AND scope_project = ? AND identifier = ?",
        )
        .bind(&name.account)
        .bind(column(name.org.as_ref()))
        .bind(column(name.project.as_ref()))
        .bind(&name.identifier)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    async fn wrapped_keys(&self) -> Result<Vec<WrappedKey>, StoreError> {
        let rows = sqlx::query(
            "SELECT scope_account, scope_org, scope_project, identifier, version, kind, key_id, \
                 wrapped_key \
             FROM secret_versions \
             ORDER BY scope_account, scope_org, scope_project, identifier, version",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(wrapped_of).collect()
    }

    async fn replace_wrapped_keys(&self, rewraps: &[Rewrap]) -> Result<(), StoreError> {
        // IMMEDIATE takes the write lock up front, so no writer slips in
        // between the updates and the completeness check below.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for rewrap in rewraps {
            let result = sqlx::query(
                "UPDATE secret_versions SET key_id = ?, wrapped_key = ? \
                 WHERE scope_account = ? AND scope_org = ? AND scope_project = ? \
                 AND identifier = ? AND version = ? AND wrapped_key = ?",
            )
            .bind(&rewrap.new_key_id)
            .bind(&rewrap.new_wrapped_key)
            .bind(&rewrap.name.account)
            .bind(column(rewrap.name.org.as_ref()))
            .bind(column(rewrap.name.project.as_ref()))
            .bind(&rewrap.name.identifier)
            .bind(i64::from(rewrap.version))
            .bind(&rewrap.old_wrapped_key)
            .execute(&mut *tx)
            .await?;
            if result.rows_affected() != 1 {
                // Dropping `tx` rolls every earlier update back.
                return Err(StoreError::Conflict(format!(
                    "version {} of secret `{}` was changed or removed during the re-wrap",
                    rewrap.version, rewrap.name.identifier
                )));
            }
        }
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM secret_versions")
            .fetch_one(&mut *tx)
            .await?;
        if usize::try_from(total).ok() != Some(rewraps.len()) {
            return Err(StoreError::Conflict(format!(
                "{total} secret versions are stored but {} were re-wrapped",
                rewraps.len()
            )));
        }
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(org: Option<&str>, project: Option<&str>, id: &str) -> SecretName {
        SecretName {
            account: String::new(),
            org: org.map(str::to_string),
            project: project.map(str::to_string),
            identifier: id.to_string(),
        }
    }

    fn version(name: &SecretName, version: u32, at: i64) -> NewSecretVersion {
        NewSecretVersion {
            name: name.clone(),
            version,
            kind: "text".into(),
            cipher: "test".into(),
            key_id: "k1".into(),
            wrapped_key: format!("wrapped-{}-{version}", name.identifier).into_bytes(),
            nonce: vec![1; 24],
            ciphertext: vec![2; 40],
            created_at_ms: at,
        }
    }

    async fn open() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("state/rampart.db"))
            .await
            .unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn creates_the_file_0600_in_a_0700_directory_and_reopens() {
        let (dir, store) = open().await;
        let db = dir.path().join("state/rampart.db");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&dir.path().join("state")), 0o700);
        let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(journal, "wal");
        store
            .insert_version(&version(&name(None, None, "a"), 1, 5))
            .await
            .unwrap();
        store.close().await;

        // Reopening runs the (already applied) migrations again and keeps rows.
        let again = SqliteStore::open(&db).await.unwrap();
        assert_eq!(again.list("").await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn an_existing_loose_file_is_tightened() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("rampart.db");
        std::fs::write(&db, b"").unwrap();
        std::fs::set_permissions(&db, Permissions::from_mode(0o644)).unwrap();
        SqliteStore::open(&db).await.unwrap();
        let mode = std::fs::metadata(&db).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[tokio::test]
    async fn versions_latest_list_and_delete() {
        let (_dir, store) = open().await;
        let a = name(Some("o"), Some("p"), "a");
        let b = name(None, None, "b");
        store.insert_version(&version(&a, 1, 10)).await.unwrap();
        store.insert_version(&version(&a, 2, 20)).await.unwrap();
        store.insert_version(&version(&b, 1, 15)).await.unwrap();

        let conflict = store.insert_version(&version(&a, 2, 30)).await;
        assert!(
            matches!(conflict, Err(StoreError::Conflict(_))),
            "{conflict:?}"
        );

        let latest = store.latest(&a).await.unwrap().unwrap();
        assert_eq!((latest.version, latest.created_at_ms), (2, 20));
        assert_eq!(latest.wrapped_key, b"wrapped-a-2");
        assert!(
            store
                .latest(&name(Some("o"), None, "a"))
                .await
                .unwrap()
                .is_none()
        );

        let all = store.latest_all("").await.unwrap();
        let summary: Vec<_> = all
            .iter()
            .map(|v| (v.name.identifier.as_str(), v.version))
            .collect();
        assert_eq!(summary, [("b", 1), ("a", 2)], "account scope sorts first");

        let list = store.list("").await.unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].name, a);
        assert_eq!(
            (
                list[1].latest_version,
                list[1].versions,
                list[1].created_at_ms,
                list[1].updated_at_ms
            ),
            (2, 2, 10, 20)
        );

        assert_eq!(store.delete(&a).await.unwrap(), 2);
        assert_eq!(store.delete(&a).await.unwrap(), 0);
        assert_eq!(store.list("").await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn rewrap_replaces_all_or_nothing() {
        let (_dir, store) = open().await;
        let a = name(None, None, "a");
        let b = name(Some("o"), None, "b");
        store.insert_version(&version(&a, 1, 1)).await.unwrap();
        store.insert_version(&version(&b, 1, 1)).await.unwrap();
        let keys = store.wrapped_keys().await.unwrap();
        assert_eq!(keys.len(), 2);
        let rewraps: Vec<Rewrap> = keys
            .iter()
            .map(|k| Rewrap {
                name: k.name.clone(),
                version: k.version,
                old_wrapped_key: k.wrapped_key.clone(),
                new_key_id: "k2".into(),
                new_wrapped_key: [b"new-".as_slice(), &k.wrapped_key].concat(),
            })
            .collect();

        // The second update's expected old value is stale: the first must roll back.
        let mut stale = rewraps.clone();
        stale[1].old_wrapped_key = b"not what is stored".to_vec();
        let failed = store.replace_wrapped_keys(&stale).await;
        assert!(matches!(failed, Err(StoreError::Conflict(_))), "{failed:?}");
        assert_eq!(store.wrapped_keys().await.unwrap(), keys, "nothing changed");

        // Leaving a row out is refused too.
        let partial = store.replace_wrapped_keys(&rewraps[..1]).await;
        assert!(
            matches!(partial, Err(StoreError::Conflict(_))),
            "{partial:?}"
        );
        assert_eq!(store.wrapped_keys().await.unwrap(), keys, "nothing changed");

        store.replace_wrapped_keys(&rewraps).await.unwrap();
        let after = store.wrapped_keys().await.unwrap();
        assert!(
            after
                .iter()
                .all(|k| k.key_id == "k2" && k.wrapped_key.starts_with(b"new-"))
        );
    }

    #[tokio::test]
    async fn connect_chooses_the_database_by_url() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("x.db").display());
        assert!(matches!(
            crate::Store::connect(&url).await,
            Ok(crate::Store::Sqlite(_))
        ));
        let error = crate::Store::connect("mysql://root:hunter2@localhost/rampart")
            .await
            .unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("use sqlite://PATH or postgres://"),
            "{message}"
        );
        assert!(!message.contains("hunter2"), "{message}");
        assert!(crate::Store::connect("sqlite://").await.is_err());
    }
}
