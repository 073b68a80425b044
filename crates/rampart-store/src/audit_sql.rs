//! The audit SQL, written once for both databases (as in
//! [`crate::identity_sql`]). [`audit_repo!`] implements
//! [`AuditRepo`](crate::AuditRepo) for a store type with a `pool` field and
//! a `begin_write()` method (see [`crate::write_sql`]).
//!
//! Appends to one account are serialised by the head row: it is created
//! (with count 0) if missing, then read under a lock that lasts until the
//! commit — `FOR UPDATE` on PostgreSQL; on SQLite `begin_write()` already
//! holds the database's write lock, and there is no row lock to add.

use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::StoreError;
use crate::audit::{Appended, AuditHead, AuditRow};

pub(crate) const AUDIT_COLUMNS: &str = "account, seq, time_ms, action, actor, resource_kind, \
     resource_id, outcome, source_ip, record";

pub(crate) fn audit_row_of<'r, R>(row: &'r R) -> Result<AuditRow, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(AuditRow {
        account: row.try_get("account")?,
        seq: row.try_get("seq")?,
        time_ms: row.try_get("time_ms")?,
        action: row.try_get("action")?,
        actor: row.try_get("actor")?,
        resource_kind: row.try_get("resource_kind")?,
        resource_id: row.try_get("resource_id")?,
        outcome: row.try_get("outcome")?,
        source_ip: row.try_get("source_ip")?,
        record: row.try_get("record")?,
    })
}

pub(crate) fn audit_head_of<'r, R>(row: &'r R) -> Result<AuditHead, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(AuditHead {
        count: row.try_get("count")?,
        last_hash: row.try_get("last_hash")?,
    })
}

/// Checks what an append's closure built against the chain it was handed:
/// the row must be the account's next record and the new head must count
/// it, or the chain would get a gap, a duplicate or a wrong count.
pub(crate) fn check_appended(
    account: &str,
    count: i64,
    (row, head): &Appended,
) -> Result<(), StoreError> {
    let next = count + 1;
    if row.account != account || row.seq != next || head.count != next {
        return Err(StoreError::Corrupt(format!(
            "the audit record built for account `{account}` (for account `{}`, seq {}, new \
             head count {}) does not continue its chain of {count} records",
            row.account, row.seq, head.count
        )));
    }
    Ok(())
}

/// Implements `AuditRepo` for `$store` on database `$db` (see the module
/// docs); `$other` maps errors that are not constraint violations, and
/// `$lock` is what locks the head row until commit (`" FOR UPDATE"`, or ""
/// where the transaction already excludes other writers).
macro_rules! audit_repo {
    ($store:ty, $db:ty, $other:path, $lock:literal) => {
        impl $crate::audit::AuditRepo for $store {
            async fn append_audit<F>(
                &self,
                account: &str,
                build: F,
            ) -> Result<$crate::audit::AuditRow, StoreError>
            where
                F: FnOnce(
                        Option<$crate::audit::AuditHead>,
                    ) -> Result<$crate::audit::Appended, String>
                    + Send,
            {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO audit_heads (account, count, last_hash) VALUES ($1, 0, '') \
                     ON CONFLICT (account) DO NOTHING",
                )
                .bind(account)
                .execute(&mut *tx)
                .await
                .map_err($other)?;
                let row = sqlx::query(concat!(
                    "SELECT count, last_hash FROM audit_heads WHERE account = $1",
                    $lock
                ))
                .bind(account)
                .fetch_one(&mut *tx)
                .await
                .map_err($other)?;
                let head = $crate::audit_sql::audit_head_of(&row)?;
                let count = head.count;
                let appended = build((count > 0).then_some(head)).map_err(StoreError::Corrupt)?;
                $crate::audit_sql::check_appended(account, count, &appended)?;
                let (record, new_head) = appended;
                let sql = sqlx::AssertSqlSafe(format!(
                    "INSERT INTO audit_events ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    $crate::audit_sql::AUDIT_COLUMNS
                ));
                sqlx::query(sql)
                    .bind(&record.account)
                    .bind(record.seq)
                    .bind(record.time_ms)
                    .bind(&record.action)
                    .bind(&record.actor)
                    .bind(&record.resource_kind)
                    .bind(&record.resource_id)
                    .bind(&record.outcome)
                    .bind(&record.source_ip)
                    .bind(&record.record)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| {
                        $crate::identity_sql::insert_error(
                            e,
                            &format!("audit record {} of account `{account}`", record.seq),
                            $other,
                        )
                    })?;
                sqlx::query("UPDATE audit_heads SET count = $1, last_hash = $2 WHERE account = $3")
                    .bind(new_head.count)
                    .bind(&new_head.last_hash)
                    .bind(account)
                    .execute(&mut *tx)
                    .await
                    .map_err($other)?;
                tx.commit().await.map_err($other)?;
                Ok(record)
            }

            async fn audit_head(
                &self,
                account: &str,
            ) -> Result<Option<$crate::audit::AuditHead>, StoreError> {
                let row = sqlx::query("SELECT count, last_hash FROM audit_heads WHERE account = $1")
                    .bind(account)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($other)?;
                row.as_ref()
                    .map($crate::audit_sql::audit_head_of)
                    .transpose()
            }

            async fn audit_query(
                &self,
                account: &str,
                filter: &$crate::audit::AuditFilter,
            ) -> Result<Vec<$crate::audit::AuditRow>, StoreError> {
                // Only constant SQL is pushed; every value is a bound parameter.
                let mut query = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {} FROM audit_events WHERE account = ",
                    $crate::audit_sql::AUDIT_COLUMNS
                ));
                query.push_bind(account);
                if !filter.actions.is_empty() {
                    query.push(" AND action IN (");
                    let mut actions = query.separated(", ");
                    for action in &filter.actions {
                        actions.push_bind(action.as_str());
                    }
                    query.push(")");
                }
                for (column, value) in [
                    (" AND actor = ", &filter.actor),
                    (" AND resource_kind = ", &filter.resource_kind),
                    (" AND resource_id = ", &filter.resource_id),
                    (" AND outcome = ", &filter.outcome),
                ] {
                    if let Some(value) = value {
                        query.push(column).push_bind(value.as_str());
                    }
                }
                for (column, value) in [
                    (" AND time_ms >= ", filter.from_ms),
                    (" AND time_ms < ", filter.to_ms),
                    (" AND seq < ", filter.before_seq),
                ] {
                    if let Some(value) = value {
                        query.push(column).push_bind(value);
                    }
                }
                query
                    .push(" ORDER BY seq DESC LIMIT ")
                    .push_bind(i64::from(filter.limit));
                let rows = query
                    .build()
                    .fetch_all(&self.pool)
                    .await
                    .map_err($other)?;
                rows.iter().map($crate::audit_sql::audit_row_of).collect()
            }

            async fn audit_range(
                &self,
                account: &str,
                after_seq: i64,
                limit: u32,
            ) -> Result<Vec<$crate::audit::AuditRow>, StoreError> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM audit_events WHERE account = $1 AND seq > $2 \
                     ORDER BY seq LIMIT $3",
                    $crate::audit_sql::AUDIT_COLUMNS
                ));
                let rows = sqlx::query(sql)
                    .bind(account)
                    .bind(after_seq)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err($other)?;
                rows.iter().map($crate::audit_sql::audit_row_of).collect()
            }

            async fn audit_accounts(&self) -> Result<Vec<String>, StoreError> {
                sqlx::query_scalar("SELECT account FROM audit_heads ORDER BY account")
                    .fetch_all(&self.pool)
                    .await
                    .map_err($other)
            }
        }
    };
}

pub(crate) use audit_repo;
