//! The PostgreSQL implementation: a connection pool, embedded migrations
//! (sqlx serialises concurrent migrators with an advisory lock, so several
//! server replicas may start at once), the same rows as the SQLite schema.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, Postgres, Transaction};

use crate::StoreError;
use crate::rows::{VERSION_COLUMNS, column, meta_of, stored_of, wrapped_of};
use crate::secrets::{
    NewSecretVersion, Rewrap, SecretMeta, SecretName, SecretRepo, StoredVersion, WrappedKey,
};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Connections per store; a server replica shares one store.
const MAX_CONNECTIONS: u32 = 16;

/// How long an operation waits for a free connection or a lock held by
/// another writer before failing (the SQLite store's busy timeout).
const WAIT: Duration = Duration::from_secs(10);

/// The channel every security write notifies at commit, with the new
/// generation as the payload.
const SECURITY_CHANNEL: &str = "rampart_security";

/// SQLSTATEs that mean "another transaction got in the way; run it again":
/// serialization_failure, deadlock_detected, lock_not_available.
const RETRYABLE: [&str; 3] = ["40001", "40P01", "55P03"];

/// A PostgreSQL database. Cloning shares the connection pool.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    /// The URL with any password replaced, for messages.
    url: String,
}

impl fmt::Debug for PgStore {
    // By hand: the pool's options hold the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to the database a `postgres://` URL names (which must
    /// exist) and runs the migrations.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let shown = redact(url);
        let connect_error = |source| StoreError::PostgresConnect {
            url: shown.clone(),
            source,
        };
        let options = PgConnectOptions::from_str(url).map_err(connect_error)?;
        // One direct connection first: a server that is down or refuses the
        // credentials is reported at once, not after the pool's retries.
        options
            .connect()
            .await
            .map_err(connect_error)?
            .close()
            .await
            .map_err(connect_error)?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(WAIT)
            .connect_with(options)
            .await
            .map_err(connect_error)?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|source| StoreError::PostgresMigrate {
                url: shown.clone(),
                source,
            })?;
        Ok(PgStore { pool, url: shown })
    }

    /// The database URL, password replaced by `***`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Subscribes to security-generation changes committed by any replica
    /// (see [`SecurityWatch`]). The watch has a connection of its own,
    /// outside the store's pool: it holds it for as long as it lives, so it
    /// neither takes one of the store's connections nor holds up
    /// [`PgStore::close`].
    pub async fn watch_security(&self) -> Result<SecurityWatch, StoreError> {
        let connect_error = |source| StoreError::PostgresConnect {
            url: self.url.clone(),
            source,
        };
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(WAIT)
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_with(PgConnectOptions::clone(&self.pool.connect_options()))
            .await
            .map_err(connect_error)?;
        let mut listener = PgListener::connect_with(&pool)
            .await
            .map_err(connect_error)?;
        listener.listen(SECURITY_CHANNEL).await.map_err(classify)?;
        Ok(SecurityWatch { listener })
    }

    /// A write transaction; waiting for another writer's locks is bounded
    /// (a timeout is a [`StoreError::Conflict`], to retry).
    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(classify)?;
        sqlx::query("SET LOCAL lock_timeout = '10s'")
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        Ok(tx)
    }

    /// A write transaction that has advanced the security generation and
    /// queued its notification (delivered at commit, dropped on rollback);
    /// see [`crate::write_sql`].
    async fn begin_security(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        let mut tx = self.begin_write().await?;
        let generation: i64 = sqlx::query_scalar(crate::write_sql::BUMP_GENERATION)
            .fetch_optional(&mut *tx)
            .await
            .map_err(classify)?
            .ok_or_else(crate::write_sql::no_generation)?;
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(SECURITY_CHANNEL)
            .bind(generation.to_string())
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        Ok(tx)
    }
}

/// A `LISTEN rampart_security` subscription: [`SecurityWatch::changed`]
/// yields the security generation each time a replica commits a security
/// write, so caches can be dropped at once instead of at the next poll.
///
/// A dropped connection is re-established by sqlx's [`PgListener`] (which
/// listens again), but notifications sent meanwhile are lost; `changed`
/// then reports the generation read afresh. While the server is unreachable
/// `changed` fails, and nothing is heard. So the caller should also poll
/// [`AccessRepo::generation`](crate::AccessRepo::generation) now and then,
/// and treat this watch as the fast path.
#[derive(Debug)]
pub struct SecurityWatch {
    listener: PgListener,
}

impl SecurityWatch {
    /// Waits for the next security write and returns the generation it
    /// committed; after a reconnection, the current generation (which may
    /// be one already seen). Generations only grow, so compare and keep the
    /// largest.
    pub async fn changed(&mut self) -> Result<i64, StoreError> {
        match self.listener.try_recv().await.map_err(classify)? {
            Some(notification) => notification.payload().parse().map_err(|_| {
                StoreError::Corrupt(format!(
                    "a notification on channel {SECURITY_CHANNEL} carries `{}`, not a generation",
                    notification.payload()
                ))
            }),
            None => sqlx::query_scalar(crate::write_sql::GENERATION)
                .fetch_optional(&mut self.listener)
                .await
                .map_err(classify)?
                .ok_or_else(crate::write_sql::no_generation),
        }
    }
}

/// `url` with the password (in the user info or a `password=` parameter)
/// replaced, so it can appear in messages and logs.
pub(crate) fn redact(url: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (url, None),
    };
    let mut shown = match head.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(end);
            match authority.rsplit_once('@') {
                Some((userinfo, host)) if userinfo.contains(':') => {
                    let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
                    format!("{scheme}://{user}:***@{host}{path}")
                }
                _ => head.to_string(),
            }
        }
        None => head.to_string(),
    };
    if let Some(query) = query {
        let params: Vec<&str> = query
            .split('&')
            .map(|param| {
                if param.to_ascii_lowercase().starts_with("password=") {
                    "password=***"
                } else {
                    param
                }
            })
            .collect();
        shown.push('?');
        shown.push_str(&params.join("&"));
    }
    shown
}

/// Turns "another transaction got in the way" into [`StoreError::Conflict`].
fn classify(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &error
        && db.code().is_some_and(|code| RETRYABLE.contains(&&*code))
    {
        return StoreError::Conflict(db.message().to_string());
    }
    error.into()
}

crate::write_sql::write_helpers!(PgStore, Postgres, classify);
crate::identity_sql::identity_repo!(PgStore, classify);
crate::access_sql::access_repo!(PgStore, classify);
crate::sessions_sql::session_repo!(PgStore, classify);
crate::audit_sql::audit_repo!(PgStore, Postgres, classify, " FOR UPDATE");
crate::ci_sql::ci_repo!(PgStore, Postgres, classify, " FOR UPDATE SKIP LOCKED");

impl SecretRepo for PgStore {
    async fn insert_version(&self, row: &NewSecretVersion) -> Result<(), StoreError> {
        let result = sqlx::query(
            "INSERT INTO secret_versions (scope_account, scope_org, scope_project, identifier, \
             version, kind, cipher, key_id, wrapped_key, nonce, ciphertext, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
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
            Err(error) => Err(classify(error)),
        }
    }

    async fn latest(&self, name: &SecretName) -> Result<Option<StoredVersion>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {VERSION_COLUMNS} FROM secret_versions \
             WHERE scope_account = $1 AND scope_org = $2 AND scope_project = $3 \
             AND identifier = $4 \
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
            "SELECT DISTINCT ON (scope_org, scope_project, identifier) {VERSION_COLUMNS} \
             FROM secret_versions WHERE scope_account = $1 \
             ORDER BY scope_org, scope_project, identifier, version DESC"
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
                   FROM secret_versions WHERE scope_account = $1 \
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
             WHERE scope_account = $1 AND scope_org = $2 AND scope_project = $3 \
             AND identifier = $4",
        )
        .bind(&name.account)
        .bind(column(name.org.as_ref()))
        .bind(column(name.project.as_ref()))
        .bind(&name.identifier)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
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
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET LOCAL lock_timeout = '10s'")
            .execute(&mut *tx)
            .await?;
        // EXCLUSIVE blocks every other writer (readers go on) until commit,
        // as SQLite's BEGIN IMMEDIATE does: no version is inserted, deleted
        // or re-wrapped between the updates and the completeness check.
        // Row locks (SELECT ... FOR UPDATE) could not stop an insert.
        sqlx::query("LOCK TABLE secret_versions IN EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        for rewrap in rewraps {
            let result = sqlx::query(
                "UPDATE secret_versions SET key_id = $1, wrapped_key = $2 \
                 WHERE scope_account = $3 AND scope_org = $4 AND scope_project = $5 \
                 AND identifier = $6 AND version = $7 AND wrapped_key = $8",
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
            .await
            .map_err(classify)?;
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
        tx.commit().await.map_err(classify)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_hides_passwords_and_keeps_the_rest() {
        assert_eq!(
            redact("postgres://rampart:s3cr:et@db.example:5432/rampart?sslmode=require"),
            "postgres://rampart:***@db.example:5432/rampart?sslmode=require"
        );
        assert_eq!(
            redact("postgresql://u@127.0.0.1/db?password=hunter2&application_name=x"),
            "postgresql://u@127.0.0.1/db?password=***&application_name=x"
        );
        assert_eq!(
            redact("postgres://127.0.0.1:5433/postgres"),
            "postgres://127.0.0.1:5433/postgres"
        );
    }
}
