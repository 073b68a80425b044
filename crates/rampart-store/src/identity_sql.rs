//! The identity SQL, written once for both databases: SQLite accepts the
//! `$N` placeholders PostgreSQL uses, and the schemas have the same columns.
//! [`identity_repo!`] implements [`IdentityRepo`](crate::IdentityRepo) for a
//! store type with a `pool` field and the transaction helpers described in
//! [`crate::write_sql`]; the row decoders are generic.

use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::StoreError;
use crate::identity::{Account, ApiToken, Organization, Project, TokenOwner, User};

pub(crate) const ORG_COLUMNS: &str = "account, identifier, name, description, created_at_ms";
pub(crate) const PROJECT_COLUMNS: &str =
    "account, org, identifier, name, description, created_at_ms";
pub(crate) const USER_COLUMNS: &str = "id, account, email, display_name, password_hash, \
     totp_secret_sealed, totp_last_step, recovery_codes, totp_pending_sealed, \
     must_change_password, login_state, disabled, created_at_ms, updated_at_ms";
pub(crate) const TOKEN_COLUMNS: &str = "token_id, account, scope_org, scope_project, owner_kind, \
     owner_id, api_key, name, description, permissions, hash, created_at_ms, expires_at_ms, \
     last_used_at_ms, revoked_at_ms, rotated_grace_end_ms";

/// Maps a failed insert: a duplicate key or a missing parent is a conflict.
pub(crate) fn insert_error(
    error: sqlx::Error,
    what: &str,
    other: fn(sqlx::Error) -> StoreError,
) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(format!("{what} already exists"))
        }
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::Conflict(
            format!("{what} cannot be created: its parent does not exist"),
        ),
        _ => other(error),
    }
}

pub(crate) fn account_of<'r, R>(row: &'r R) -> Result<Account, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(Account {
        identifier: row.try_get("identifier")?,
        name: row.try_get("name")?,
        created_at_ms: row.try_get("created_at_ms")?,
    })
}

pub(crate) fn org_of<'r, R>(row: &'r R) -> Result<Organization, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(Organization {
        account: row.try_get("account")?,
        identifier: row.try_get("identifier")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        created_at_ms: row.try_get("created_at_ms")?,
    })
}

pub(crate) fn project_of<'r, R>(row: &'r R) -> Result<Project, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(Project {
        account: row.try_get("account")?,
        org: row.try_get("org")?,
        identifier: row.try_get("identifier")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        created_at_ms: row.try_get("created_at_ms")?,
    })
}

pub(crate) fn user_of<'r, R>(row: &'r R) -> Result<User, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    bool: Decode<'r, R::Database> + Type<R::Database>,
    Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    Option<Vec<u8>>: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(User {
        id: row.try_get("id")?,
        account: row.try_get("account")?,
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        password_hash: row.try_get("password_hash")?,
        totp_secret_sealed: row.try_get("totp_secret_sealed")?,
        totp_last_step: row.try_get("totp_last_step")?,
        recovery_codes: row.try_get("recovery_codes")?,
        totp_pending_sealed: row.try_get("totp_pending_sealed")?,
        must_change_password: row.try_get("must_change_password")?,
        login_state: row.try_get("login_state")?,
        disabled: row.try_get("disabled")?,
        created_at_ms: row.try_get("created_at_ms")?,
        updated_at_ms: row.try_get("updated_at_ms")?,
    })
}

pub(crate) fn token_of<'r, R>(row: &'r R) -> Result<ApiToken, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
{
    let kind: String = row.try_get("owner_kind")?;
    Ok(ApiToken {
        token_id: row.try_get("token_id")?,
        account: row.try_get("account")?,
        org: row.try_get("scope_org")?,
        project: row.try_get("scope_project")?,
        owner: TokenOwner::from_parts(&kind, row.try_get("owner_id")?)?,
        api_key: row.try_get("api_key")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        permissions: row.try_get("permissions")?,
        hash: row.try_get("hash")?,
        created_at_ms: row.try_get("created_at_ms")?,
        expires_at_ms: row.try_get("expires_at_ms")?,
        last_used_at_ms: row.try_get("last_used_at_ms")?,
        revoked_at_ms: row.try_get("revoked_at_ms")?,
        rotated_grace_end_ms: row.try_get("rotated_grace_end_ms")?,
    })
}

/// Implements `IdentityRepo` for `$store` (see the module docs); `$other`
/// maps errors that are not constraint violations.
macro_rules! identity_repo {
    ($store:ty, $other:path) => {
        impl $crate::identity::IdentityRepo for $store {
            async fn create_account(
                &self,
                account: &$crate::identity::Account,
            ) -> Result<(), StoreError> {
                let mut tx = self.begin_security().await?;
                sqlx::query(
                    "INSERT INTO accounts (identifier, name, created_at_ms) VALUES ($1, $2, $3)",
                )
                .bind(&account.identifier)
                .bind(&account.name)
                .bind(account.created_at_ms)
                .execute(&mut *tx)
                .await
                .map_err(|e| {
                    $crate::identity_sql::insert_error(
                        e,
                        &format!("account `{}`", account.identifier),
                        $other,
                    )
                })?;
                tx.commit().await.map_err($other)
            }

            async fn account(
                &self,
                identifier: &str,
            ) -> Result<Option<$crate::identity::Account>, StoreError> {
                let row = sqlx::query(
                    "SELECT identifier, name, created_at_ms FROM accounts WHERE identifier = $1",
                )
                .bind(identifier)
                .fetch_optional(&self.pool)
                .await
                .map_err($other)?;
                row.as_ref()
                    .map($crate::identity_sql::account_of)
                    .transpose()
            }

            async fn create_organization(
                &self,
                org: &$crate::identity::Organization,
            ) -> Result<(), StoreError> {
                let mut tx = self.begin_security().await?;
                sqlx::query(
                    "INSERT INTO organizations (account, identifier, name, description, \
                     created_at_ms) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&org.account)
                .bind(&org.identifier)
                .bind(&org.name)
                .bind(&org.description)
                .bind(org.created_at_ms)
                .execute(&mut *tx)
                .await
                .map_err(|e| {
                    $crate::identity_sql::insert_error(
                        e,
                        &format!(
                            "organization `{}` in account `{}`",
                            org.identifier, org.account
                        ),
                        $other,
                    )
                })?;
                tx.commit().await.map_err($other)
            }

            async fn organization(
                &self,
                account: &str,
                identifier: &str,
            ) -> Result<Option<$crate::identity::Organization>, StoreError> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM organizations WHERE account = $1 AND identifier = $2",
                    $crate::identity_sql::ORG_COLUMNS
                ));
                let row = sqlx::query(sql)
                    .bind(account)
                    .bind(identifier)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($other)?;
                row.as_ref().map($crate::identity_sql::org_of).transpose()
            }

            async fn organizations(
                &self,
                account: &str,
            ) -> Result<Vec<$crate::identity::Organization>, StoreError> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM organizations WHERE account = $1 ORDER BY identifier",
                    $crate::identity_sql::ORG_COLUMNS
                ));
                let rows = sqlx::query(sql)
                    .bind(account)
                    .fetch_all(&self.pool)
                    .await
                    .map_err($other)?;
                rows.iter().map($crate::identity_sql::org_of).collect()
            }

            async fn delete_organization(
                &self,
                account: &str,
                identifier: &str,
            ) -> Result<bool, StoreError> {
                if identifier.is_empty() {
                    // "" is how an absent org is stored: `empty_scope` would
                    // empty the account's own scope.
                    return Ok(false);
                }
                let mut tx = self.begin_security().await?;
                Self::empty_scope(&mut tx, account, identifier, "").await?;
                // Its projects follow by foreign key.
                let result =
                    sqlx::query("DELETE FROM organizations WHERE account = $1 AND identifier = $2")
                        .bind(account)
                        .bind(identifier)
                        .execute(&mut *tx)
                        .await
                        .map_err($other)?;
                $crate::write_sql::commit_if(tx, result.rows_affected() > 0, $other).await
            }

            async fn update_organization(
                &self,
                org: &$crate::identity::Organization,
            ) -> Result<bool, StoreError> {
                self.security_execute(
                    sqlx::query(
                        "UPDATE organizations SET name = $1, description = $2 \
                         WHERE account = $3 AND identifier = $4",
                    )
                    .bind(&org.name)
                    .bind(&org.description)
                    .bind(&org.account)
                    .bind(&org.identifier),
                )
                .await
            }

            async fn create_project(
                &self,
                project: &$crate::identity::Project,
            ) -> Result<(), StoreError> {
                let mut tx = self.begin_security().await?;
                sqlx::query(
                    "INSERT INTO projects (account, org, identifier, name, description, \
                     created_at_ms) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&project.account)
                .bind(&project.org)
                .bind(&project.identifier)
                .bind(&project.name)
                .bind(&project.description)
                .bind(project.created_at_ms)
                .execute(&mut *tx)
                .await
                .map_err(|e| {
                    $crate::identity_sql::insert_error(
                        e,
                        &format!(
                            "project `{}` in organization `{}` of account `{}`",
                            project.identifier, project.org, project.account
                        ),
                        $other,
                    )
                })?;
                tx.commit().await.map_err($other)
            }

            async fn project(
                &self,
                account: &str,
                org: &str,
                identifier: &str,
            ) -> Result<Option<$crate::identity::Project>, StoreError> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM projects WHERE account = $1 AND org = $2 AND identifier = $3",
                    $crate::identity_sql::PROJECT_COLUMNS
                ));
                let row = sqlx::query(sql)
                    .bind(account)
                    .bind(org)
                    .bind(identifier)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($other)?;
                row.as_ref()
                    .map($crate::identity_sql::project_of)
                    .transpose()
            }

            async fn projects(
                &self,
                account: &str,
                org: &str,
            ) -> Result<Vec<$crate::identity::Project>, StoreError> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM projects WHERE account = $1 AND org = $2 ORDER BY identifier",
                    $crate::identity_sql::PROJECT_COLUMNS
                ));
                let rows = sqlx::query(sql)
                    .bind(account)
                    .bind(org)
                    .fetch_all(&self.pool)
                    .await
                    .map_err($other)?;
                rows.iter().map($crate::identity_sql::project_of).collect()
            }

            async fn delete_project(
                &self,
                account: &str,
                org: &str,
                identifier: &str,
            ) -> Result<bool, StoreError> {
                if org.is_empty() || identifier.is_empty() {
                    // "" is how an absent org or project is stored:
                    // `empty_scope` would empty a wider scope.
                    return Ok(false);
                }
                let mut tx = self.begin_security().await?;
                Self::empty_scope(&mut tx, account, org, identifier).await?;
                let result = sqlx::query(
                    "DELETE FROM projects WHERE account = $1 AND org = $2 AND identifier = $3",
                )
                .bind(account)
                .bind(org)
                .bind(identifier)
                .execute(&mut *tx)
                .await
                .map_err($other)?;
                $crate::write_sql::commit_if(tx, result.rows_affected() > 0, $other).await
            }

            async fn update_project(
                &self,
                project: &$crate::identity::Project,
            ) -> Result<bool, StoreError> {
                self.security_execute(
                    sqlx::query(
                        "UPDATE projects SET name = $1, description = $2 \
                         WHERE account = $3 AND org = $4 AND identifier = $5",
                    )
                    .bind(&project.name)
                    .bind(&project.description)
                    .bind(&project.account)
                    .bind(&project.org)
                    .bind(&project.identifier),
                )
                .await
            }

            async fn update_account(
                &self,
                account: &$crate::identity::Account,
            ) -> Result<bool, StoreError> {
                self.security_execute(
                    sqlx::query("UPDATE accounts SET name = $1 WHERE identifier = $2")
                        .bind(&account.name)
                        .bind(&account.identifier),
                )
                .await
            }

            async fn accounts(&self) -> Result<Vec<$crate::identity::Account>, StoreError> {
                let rows = sqlx::query(
                    "SELECT identifier, name, created_at_ms FROM accounts ORDER BY identifier",
                )
                .fetch_all(&self.pool)
                .await
                .map_err($other)?;
                rows.iter().map($crate::identity_sql::account_of).collect()
            }

            async fn delete_account(&self, identifier: &str) -> Result<bool, StoreError> {
                // Every row of the account names it by a cascading foreign
                // key (sessions and memberships through their user or
                // group); the audit tables have none, so they stay.
                self.security_execute(
                    sqlx::query("DELETE FROM accounts WHERE identifier = $1").bind(identifier),
                )
                .await
            }

            async fn create_user(&self, user: &$crate::identity::User) -> Result<(), StoreError> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "INSERT INTO users ({}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                    $crate::identity_sql::USER_COLUMNS
                ));
                let mut tx = self.begin_security().await?;
                sqlx::query(sql)
                    .bind(&user.id)
                    .bind(&user.account)
                    .bind(&user.email)
                    .bind(&user.display_name)
                    .bind(&user.password_hash)
                    .bind(&user.totp_secret_sealed)
                    .bind(user.totp_last_step)
                    .bind(&user.recovery_codes)
                    .bind(&user.totp_pending_sealed)
                    .bind(user.must_change_password)
                    .bind(&user.login_state)
                    .bind(user.disabled)
                    .bind(user.created_at_ms)
                    .bind(user.updated_at_ms)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| {
                        $crate::identity_sql::insert_error(
                            e,
                            &format!(
                                "a user with id `{}` or this e-mail address in account `{}`",
                                user.id, user.account
                            ),
                            $other,
                        )
                    })?;
                tx.commit().await.map_err($other)
            }

            async fn user(&self, id: &str) -> Result<Option<$crate::identity::User>, StoreError> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM users WHERE id = $1",
                    $crate::identity_sql::USER_COLUMNS
                ));
                let row = sqlx::query(sql)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($other)?;
                row.as_ref().map($crate::identity_sql::user_of).transpose()
            }

            async fn user_by_email(
                &self,
                account: &str,
                email: &str,
            ) -> Result<Option<$crate::identity::User>, StoreError> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM users WHERE account = $1 AND email = $2",
                    $crate::identity_sql::USER_COLUMNS
                ));
                let row = sqlx::query(sql)
                    .bind(account)
                    .bind(email)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($other)?;
                row.as_ref().map($crate::identity_sql::user_of).transpose()
            }

            async fn users(
                &self,
                account: &str,
            ) -> Result<Vec<$crate::identity::User>, StoreError> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM users WHERE account = $1 ORDER BY email",
                    $crate::identity_sql::USER_COLUMNS
                ));
                let rows = sqlx::query(sql)
                    .bind(account)
                    .fetch_all(&self.pool)
                    .await
                    .map_err($other)?;
                rows.iter().map($crate::identity_sql::user_of).collect()
            }

            async fn update_user_profile(
                &self,
                id: &str,
                display_name: &str,
                disabled: bool,
                at_ms: i64,
            ) -> Result<bool, StoreError> {
                self.security_execute(
                    sqlx::query(
                        "UPDATE users SET display_name = $1, disabled = $2, updated_at_ms = $3 \
                         WHERE id = $4",
                    )
                    .bind(display_name)
                    .bind(disabled)
                    .bind(at_ms)
                    .bind(id),
                )
                .await
            }

            async fn delete_user(&self, id: &str) -> Result<bool, StoreError> {
                let mut tx = self.begin_security().await?;
                Self::delete_credentials_of(
                    &mut tx,
                    &$crate::identity::TokenOwner::User(id.to_owned()),
                )
                .await?;
                // Sessions and memberships follow by foreign key.
                let result = sqlx::query("DELETE FROM users WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err($other)?;
                $crate::write_sql::commit_if(tx, result.rows_affected() > 0, $other).await
            }

            async fn set_password_hash(
                &self,
                id: &str,
                password_hash: &str,
                must_change_password: bool,
                at_ms: i64,
            ) -> Result<bool, StoreError> {
                self.security_execute(
                    sqlx::query(
                        "UPDATE users SET password_hash = $1, must_change_password = $2, \
                         updated_at_ms = $3 WHERE id = $4",
                    )
                    .bind(password_hash)
                    .bind(must_change_password)
                    .bind(at_ms)
                    .bind(id),
                )
                .await
            }

            async fn set_login_state(
                &self,
                id: &str,
                expected: Option<&str>,
                new: Option<&str>,
            ) -> Result<bool, StoreError> {
                // One statement: the comparison and the write are atomic.
                let result = sqlx::query(
                    "UPDATE users SET login_state = $1 \
                     WHERE id = $2 AND login_state IS NOT DISTINCT FROM $3",
                )
                .bind(new)
                .bind(id)
                .bind(expected)
                .execute(&self.pool)
                .await
                .map_err($other)?;
                Ok(result.rows_affected() > 0)
            }

            async fn set_totp_pending(
                &self,
                id: &str,
                sealed: Option<&[u8]>,
                at_ms: i64,
            ) -> Result<bool, StoreError> {
                // No bump: a pending seed authorizes nothing until `set_totp`.
                let result = sqlx::query(
                    "UPDATE users SET totp_pending_sealed = $1, updated_at_ms = $2 WHERE id = $3",
                )
                .bind(sealed)
                .bind(at_ms)
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err($other)?;
                Ok(result.rows_affected() > 0)
            }

            async fn set_recovery_codes(
                &self,
                id: &str,
                recovery_codes: &[u8],
                at_ms: i64,
            ) -> Result<bool, StoreError> {
                self.security_execute(
                    sqlx::query(
                        "UPDATE users SET recovery_codes = $1, updated_at_ms = $2 WHERE id = $3",
                    )
                    .bind(recovery_codes)
                    .bind(at_ms)
                    .bind(id),
                )
                .await
            }

            async fn set_totp(
                &self,
                id: &str,
                totp_secret_sealed: &[u8],
                recovery_codes: &[u8],
                at_ms: i64,
            ) -> Result<bool, StoreError> {
                self.security_execute(
                    sqlx::query(
                        "UPDATE users SET totp_secret_sealed = $1, recovery_codes = $2, \
                         totp_last_step = NULL, totp_pending_sealed = NULL, updated_at_ms = $3 \
                         WHERE id = $4",
                    )
                    .bind(totp_secret_sealed)
                    .bind(recovery_codes)
                    .bind(at_ms)
                    .bind(id),
                )
                .await
            }

            async fn clear_totp(&self, id: &str, at_ms: i64) -> Result<bool, StoreError> {
                self.security_execute(
                    sqlx::query(
                        "UPDATE users SET totp_secret_sealed = NULL, recovery_codes = NULL, \
                         totp_last_step = NULL, totp_pending_sealed = NULL, updated_at_ms = $1 \
                         WHERE id = $2",
                    )
                    .bind(at_ms)
                    .bind(id),
                )
                .await
            }

            async fn advance_totp_step(&self, id: &str, step: i64) -> Result<bool, StoreError> {
                let result = sqlx::query(
                    "UPDATE users SET totp_last_step = $1 \
                     WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
                )
                .bind(step)
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err($other)?;
                Ok(result.rows_affected() > 0)
            }

            async fn insert_token(
                &self,
                token: &$crate::identity::ApiToken,
            ) -> Result<(), StoreError> {
                let mut tx = self.begin_security().await?;
                Self::insert_token_row(&mut tx, token).await?;
                tx.commit().await.map_err($other)
            }

            async fn token(
                &self,
                token_id: &str,
            ) -> Result<Option<$crate::identity::ApiToken>, StoreError> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM api_tokens WHERE token_id = $1",
                    $crate::identity_sql::TOKEN_COLUMNS
                ));
                let row = sqlx::query(sql)
                    .bind(token_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($other)?;
                row.as_ref().map($crate::identity_sql::token_of).transpose()
            }

            async fn tokens_of(
                &self,
                owner: &$crate::identity::TokenOwner,
            ) -> Result<Vec<$crate::identity::ApiToken>, StoreError> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM api_tokens WHERE owner_kind = $1 AND owner_id = $2 \
                     ORDER BY created_at_ms, token_id",
                    $crate::identity_sql::TOKEN_COLUMNS
                ));
                let (kind, id) = owner.parts();
                let rows = sqlx::query(sql)
                    .bind(kind)
                    .bind(id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err($other)?;
                rows.iter().map($crate::identity_sql::token_of).collect()
            }

            async fn tokens_of_key(
                &self,
                owner: &$crate::identity::TokenOwner,
                api_key: &str,
            ) -> Result<Vec<$crate::identity::ApiToken>, StoreError> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM api_tokens \
                     WHERE owner_kind = $1 AND owner_id = $2 AND api_key = $3 \
                     ORDER BY created_at_ms, token_id",
                    $crate::identity_sql::TOKEN_COLUMNS
                ));
                let (kind, id) = owner.parts();
                let rows = sqlx::query(sql)
                    .bind(kind)
                    .bind(id)
                    .bind(api_key)
                    .fetch_all(&self.pool)
                    .await
                    .map_err($other)?;
                rows.iter().map($crate::identity_sql::token_of).collect()
            }

            async fn rotate_token(
                &self,
                old_token_id: &str,
                grace_end_ms: i64,
                new: &$crate::identity::ApiToken,
            ) -> Result<bool, StoreError> {
                let mut tx = self.begin_security().await?;
                let old = sqlx::query(
                    "UPDATE api_tokens SET rotated_grace_end_ms = $1 \
                     WHERE token_id = $2 AND revoked_at_ms IS NULL",
                )
                .bind(grace_end_ms)
                .bind(old_token_id)
                .execute(&mut *tx)
                .await
                .map_err($other)?;
                if old.rows_affected() == 0 {
                    return $crate::write_sql::commit_if(tx, false, $other).await;
                }
                Self::insert_token_row(&mut tx, new).await?;
                $crate::write_sql::commit_if(tx, true, $other).await
            }

            async fn revoke_token(&self, token_id: &str, at_ms: i64) -> Result<bool, StoreError> {
                self.security_execute(
                    sqlx::query(
                        "UPDATE api_tokens SET revoked_at_ms = COALESCE(revoked_at_ms, $1) \
                         WHERE token_id = $2",
                    )
                    .bind(at_ms)
                    .bind(token_id),
                )
                .await
            }

            async fn touch_token(&self, token_id: &str, at_ms: i64) -> Result<bool, StoreError> {
                let result = sqlx::query(
                    "UPDATE api_tokens SET last_used_at_ms = CASE \
                     WHEN last_used_at_ms IS NULL OR last_used_at_ms < $1 THEN $1 \
                     ELSE last_used_at_ms END WHERE token_id = $2",
                )
                .bind(at_ms)
                .bind(token_id)
                .execute(&self.pool)
                .await
                .map_err($other)?;
                Ok(result.rows_affected() > 0)
            }

            async fn set_token_grace_end(
                &self,
                token_id: &str,
                grace_end_ms: i64,
            ) -> Result<bool, StoreError> {
                self.security_execute(
                    sqlx::query(
                        "UPDATE api_tokens SET rotated_grace_end_ms = $1 WHERE token_id = $2",
                    )
                    .bind(grace_end_ms)
                    .bind(token_id),
                )
                .await
            }
        }
    };
}

pub(crate) use identity_repo;
