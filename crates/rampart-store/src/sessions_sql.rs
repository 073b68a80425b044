//! The session SQL, written once for both databases (as in
//! [`crate::identity_sql`]). Every method is one statement, so none needs a
//! transaction; none advances the security generation (a session is looked
//! up on every request, never cached).

use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::StoreError;
use crate::sessions::Session;

pub(crate) const SESSION_COLUMNS: &str = "id_hash, user_id, stage, created_at_ms, last_seen_ms, \
     expires_at_ms, source_ip, revoked_at_ms";

pub(crate) fn session_of<'r, R>(row: &'r R) -> Result<Session, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(Session {
        id_hash: row.try_get("id_hash")?,
        user_id: row.try_get("user_id")?,
        stage: row.try_get("stage")?,
        created_at_ms: row.try_get("created_at_ms")?,
        last_seen_ms: row.try_get("last_seen_ms")?,
        expires_at_ms: row.try_get("expires_at_ms")?,
        source_ip: row.try_get("source_ip")?,
        revoked_at_ms: row.try_get("revoked_at_ms")?,
    })
}

/// Implements `SessionRepo` for `$store` (which has a `pool` field);
/// `$other` maps errors that are not constraint violations.
macro_rules! session_repo {
    ($store:ty, $other:path) => {
        impl $crate::sessions::SessionRepo for $store {
            async fn insert_session(
                &self,
                session: &$crate::sessions::Session,
            ) -> Result<(), StoreError> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "INSERT INTO sessions ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    $crate::sessions_sql::SESSION_COLUMNS
                ));
                sqlx::query(sql)
                    .bind(&session.id_hash)
                    .bind(&session.user_id)
                    .bind(&session.stage)
                    .bind(session.created_at_ms)
                    .bind(session.last_seen_ms)
                    .bind(session.expires_at_ms)
                    .bind(&session.source_ip)
                    .bind(session.revoked_at_ms)
                    .execute(&self.pool)
                    .await
                    .map(drop)
                    .map_err(|e| {
                        $crate::identity_sql::insert_error(
                            e,
                            &format!("a session of user `{}`", session.user_id),
                            $other,
                        )
                    })
            }

            async fn session(
                &self,
                id_hash: &str,
            ) -> Result<Option<$crate::sessions::Session>, StoreError> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM sessions WHERE id_hash = $1",
                    $crate::sessions_sql::SESSION_COLUMNS
                ));
                let row = sqlx::query(sql)
                    .bind(id_hash)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($other)?;
                row.as_ref()
                    .map($crate::sessions_sql::session_of)
                    .transpose()
            }

            async fn touch_session(&self, id_hash: &str, at_ms: i64) -> Result<bool, StoreError> {
                let result = sqlx::query(
                    "UPDATE sessions SET last_seen_ms = CASE \
                     WHEN last_seen_ms < $1 THEN $1 ELSE last_seen_ms END WHERE id_hash = $2",
                )
                .bind(at_ms)
                .bind(id_hash)
                .execute(&self.pool)
                .await
                .map_err($other)?;
                Ok(result.rows_affected() > 0)
            }

            async fn set_session_stage(
                &self,
                id_hash: &str,
                stage: &str,
            ) -> Result<bool, StoreError> {
                let result = sqlx::query(
                    "UPDATE sessions SET stage = $1 WHERE id_hash = $2 AND revoked_at_ms IS NULL",
                )
                .bind(stage)
                .bind(id_hash)
                .execute(&self.pool)
                .await
                .map_err($other)?;
                Ok(result.rows_affected() > 0)
            }

            async fn revoke_session(&self, id_hash: &str, at_ms: i64) -> Result<bool, StoreError> {
                let result = sqlx::query(
                    "UPDATE sessions SET revoked_at_ms = COALESCE(revoked_at_ms, $1) \
                     WHERE id_hash = $2",
                )
                .bind(at_ms)
                .bind(id_hash)
                .execute(&self.pool)
                .await
                .map_err($other)?;
                Ok(result.rows_affected() > 0)
            }

            async fn revoke_sessions_of(
                &self,
                user_id: &str,
                keep: Option<&str>,
                at_ms: i64,
            ) -> Result<u64, StoreError> {
                // Live: neither revoked nor past its end.
                let result = sqlx::query(
                    "UPDATE sessions SET revoked_at_ms = $1 WHERE user_id = $2 \
                     AND revoked_at_ms IS NULL AND expires_at_ms > $1 \
                     AND id_hash IS DISTINCT FROM $3",
                )
                .bind(at_ms)
                .bind(user_id)
                .bind(keep)
                .execute(&self.pool)
                .await
                .map_err($other)?;
                Ok(result.rows_affected())
            }

            async fn delete_ended_sessions(&self, before_ms: i64) -> Result<u64, StoreError> {
                let result = sqlx::query(
                    "DELETE FROM sessions WHERE expires_at_ms < $1 OR revoked_at_ms < $1",
                )
                .bind(before_ms)
                .execute(&self.pool)
                .await
                .map_err($other)?;
                Ok(result.rows_affected())
            }
        }
    };
}

pub(crate) use session_repo;
