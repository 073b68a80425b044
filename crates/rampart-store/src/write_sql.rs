//! What the repositories' write transactions share, written once for both
//! databases: the security-generation statements, committing only what
//! changed, and the statements several repositories run inside their
//! transactions ([`write_helpers!`]: scope checks and the cascades that no
//! foreign key can express).
//!
//! Each backend provides two methods the macros call:
//! - `begin_write()`: a transaction that serialises with every other writer
//!   of the rows it touches (SQLite `BEGIN IMMEDIATE`; PostgreSQL with a
//!   bounded lock wait);
//! - `begin_security()`: `begin_write()` plus [`BUMP_GENERATION`] (and on
//!   PostgreSQL the `rampart_security` notification, delivered at commit).
//!
//! The bump comes first in its transaction. On PostgreSQL its row lock then
//! orders every security write after the previous one's commit, as SQLite's
//! write lock does, so the existence checks below cannot race a concurrent
//! delete; and no two security writes can deadlock.

use sqlx::{Database, Transaction};

use crate::StoreError;

/// Advances the security generation; the first statement of a security write.
pub(crate) const BUMP_GENERATION: &str =
    "UPDATE security_generation SET generation = generation + 1 WHERE id = 1 RETURNING generation";

/// Reads the security generation.
pub(crate) const GENERATION: &str = "SELECT generation FROM security_generation WHERE id = 1";

/// The error for a missing `security_generation` row (the migration creates it).
pub(crate) fn no_generation() -> StoreError {
    StoreError::Corrupt("the security_generation row is missing".into())
}

/// Commits `tx` if the write changed something and rolls it back otherwise,
/// so a write that found nothing to change does not advance the generation.
/// Returns `changed`.
pub(crate) async fn commit_if<DB: Database>(
    tx: Transaction<'static, DB>,
    changed: bool,
    other: fn(sqlx::Error) -> StoreError,
) -> Result<bool, StoreError> {
    if changed {
        tx.commit().await.map_err(other)?;
    } else {
        tx.rollback().await.map_err(other)?;
    }
    Ok(changed)
}

/// Whether a scope exists: the account, its org if given, and the org's
/// project if given (a project without an org never exists). Binds the
/// account, org and project with '' for an absent part.
pub(crate) const SCOPE_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM accounts WHERE identifier = $1) \
     AND ($2 = '' OR EXISTS (SELECT 1 FROM organizations WHERE account = $1 AND identifier = $2)) \
     AND ($3 = '' OR ($2 <> '' AND EXISTS (SELECT 1 FROM projects \
         WHERE account = $1 AND org = $2 AND identifier = $3)))";

/// The rows at an org's scope (project `$3` = '') or one project's scope,
/// for tables that store the scope as `account, scope_org, scope_project`
/// (with '' or, for tokens, NULL for an absent project: both match `$3 = ''`).
const AT_SCOPE: &str = "account = $1 AND scope_org = $2 AND ($3 = '' OR scope_project = $3)";

/// The statements that empty a scope, run before the org or project row is
/// deleted; each binds the account, org and project ('' for the whole org).
/// Tokens go first (those at the scope, and those of the keys and service
/// accounts about to go), then keys, service accounts and documents (whose
/// memberships follow by foreign key).
pub(crate) fn empty_scope_statements() -> [String; 4] {
    [
        format!(
            "DELETE FROM api_tokens WHERE {AT_SCOPE} \
             OR (owner_kind = 'service_account' \
                 AND owner_id IN (SELECT id FROM service_accounts WHERE {AT_SCOPE})) \
             OR (owner_kind, owner_id, api_key) IN \
                 (SELECT owner_kind, owner_id, identifier FROM api_keys WHERE {AT_SCOPE})"
        ),
        format!(
            "DELETE FROM api_keys WHERE {AT_SCOPE} \
             OR (owner_kind = 'service_account' \
                 AND owner_id IN (SELECT id FROM service_accounts WHERE {AT_SCOPE}))"
        ),
        format!("DELETE FROM service_accounts WHERE {AT_SCOPE}"),
        format!("DELETE FROM access_objects WHERE {AT_SCOPE}"),
    ]
}

/// Emits the helper methods the repository macros call inside their
/// transactions, for `$store` on database `$db`; `$other` maps errors that
/// are not constraint violations.
macro_rules! write_helpers {
    ($store:ty, $db:ty, $other:path) => {
        impl $store {
            /// Runs one statement in a security transaction, committing it
            /// (and the generation's advance) only if it changed a row.
            async fn security_execute(
                &self,
                query: sqlx::query::Query<'_, $db, <$db as sqlx::Database>::Arguments>,
            ) -> Result<bool, StoreError> {
                let mut tx = self.begin_security().await?;
                let result = query.execute(&mut *tx).await.map_err($other)?;
                $crate::write_sql::commit_if(tx, result.rows_affected() > 0, $other).await
            }

            /// Whether `scope` exists (see `SCOPE_EXISTS`).
            async fn scope_exists(
                conn: &mut <$db as sqlx::Database>::Connection,
                scope: &$crate::access::ScopeKey,
            ) -> Result<bool, StoreError> {
                sqlx::query_scalar($crate::write_sql::SCOPE_EXISTS)
                    .bind(&scope.account)
                    .bind($crate::rows::column(scope.org.as_ref()))
                    .bind($crate::rows::column(scope.project.as_ref()))
                    .fetch_one(&mut *conn)
                    .await
                    .map_err($other)
            }

            /// Fails with a conflict unless `scope` exists; `what` names the
            /// row being stored there (without the scope, which the message
            /// adds).
            async fn require_scope(
                conn: &mut <$db as sqlx::Database>::Connection,
                scope: &$crate::access::ScopeKey,
                what: &str,
            ) -> Result<(), StoreError> {
                if Self::scope_exists(conn, scope).await? {
                    return Ok(());
                }
                Err(StoreError::Conflict(format!(
                    "cannot store {what}: {} does not exist",
                    $crate::access_sql::describe_scope(scope)
                )))
            }

            /// Deletes what lives at an org's scope (`project` = "") or a
            /// project's, except the org or project row itself.
            async fn empty_scope(
                conn: &mut <$db as sqlx::Database>::Connection,
                account: &str,
                org: &str,
                project: &str,
            ) -> Result<(), StoreError> {
                for sql in $crate::write_sql::empty_scope_statements() {
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(account)
                        .bind(org)
                        .bind(project)
                        .execute(&mut *conn)
                        .await
                        .map_err($other)?;
                }
                Ok(())
            }

            /// Deletes a principal's tokens and API keys.
            async fn delete_credentials_of(
                conn: &mut <$db as sqlx::Database>::Connection,
                owner: &$crate::identity::TokenOwner,
            ) -> Result<(), StoreError> {
                let (kind, id) = owner.parts();
                for sql in [
                    "DELETE FROM api_tokens WHERE owner_kind = $1 AND owner_id = $2",
                    "DELETE FROM api_keys WHERE owner_kind = $1 AND owner_id = $2",
                ] {
                    sqlx::query(sql)
                        .bind(kind)
                        .bind(id)
                        .execute(&mut *conn)
                        .await
                        .map_err($other)?;
                }
                Ok(())
            }

            /// Inserts a token row, after checking that its API key exists
            /// (for the same owner, in the same account), so a token never
            /// outlives a concurrently deleted key. A key of "" marks a
            /// token from before API keys, which has none.
            async fn insert_token_row(
                conn: &mut <$db as sqlx::Database>::Connection,
                token: &$crate::identity::ApiToken,
            ) -> Result<(), StoreError> {
                let (kind, owner) = token.owner.parts();
                if !token.api_key.is_empty() {
                    let key_exists: bool = sqlx::query_scalar(
                        "SELECT EXISTS (SELECT 1 FROM api_keys WHERE owner_kind = $1 \
                         AND owner_id = $2 AND identifier = $3 AND account = $4)",
                    )
                    .bind(kind)
                    .bind(owner)
                    .bind(&token.api_key)
                    .bind(&token.account)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err($other)?;
                    if !key_exists {
                        return Err(StoreError::Conflict(format!(
                            "API token `{}` cannot be created: its API key `{}` of {kind} `{owner}` \
                             in account `{}` does not exist",
                            token.token_id, token.api_key, token.account
                        )));
                    }
                }
                let sql = sqlx::AssertSqlSafe(format!(
                    "INSERT INTO api_tokens ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
                     $10, $11, $12, $13, $14, $15, $16)",
                    $crate::identity_sql::TOKEN_COLUMNS
                ));
                sqlx::query(sql)
                    .bind(&token.token_id)
                    .bind(&token.account)
                    .bind(&token.org)
                    .bind(&token.project)
                    .bind(kind)
                    .bind(owner)
                    .bind(&token.api_key)
                    .bind(&token.name)
                    .bind(&token.description)
                    .bind(&token.permissions)
                    .bind(&token.hash)
                    .bind(token.created_at_ms)
                    .bind(token.expires_at_ms)
                    .bind(token.last_used_at_ms)
                    .bind(token.revoked_at_ms)
                    .bind(token.rotated_grace_end_ms)
                    .execute(&mut *conn)
                    .await
                    .map(drop)
                    .map_err(|e| {
                        $crate::identity_sql::insert_error(
                            e,
                            &format!("API token `{}`", token.token_id),
                            $other,
                        )
                    })
            }
        }
    };
}

pub(crate) use write_helpers;
