//! The access SQL, written once for both databases (as in
//! [`crate::identity_sql`]). [`access_repo!`] implements
//! [`AccessRepo`](crate::AccessRepo) for a store type with a `pool` field and
//! the transaction helpers described in [`crate::write_sql`]; the row
//! decoders are generic.
//!
//! Scopes are stored as `account, scope_org, scope_project` with '' for an
//! absent org or project (see [`crate::rows::column`]).

use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::StoreError;
use crate::access::{AccessObject, ApiKey, Membership, ObjectKind, ScopeKey, ServiceAccount};
use crate::identity::TokenOwner;
use crate::rows::optional;

pub(crate) const OBJECT_COLUMNS: &str = "account, scope_org, scope_project, kind, identifier, \
     body, version, created_at_ms, updated_at_ms";
pub(crate) const MEMBERSHIP_COLUMNS: &str =
    "account, scope_org, scope_project, group_identifier, user_id";
pub(crate) const SERVICE_ACCOUNT_COLUMNS: &str = "id, account, scope_org, scope_project, \
     identifier, name, email, description, created_at_ms, updated_at_ms";
pub(crate) const API_KEY_COLUMNS: &str = "owner_kind, owner_id, identifier, account, scope_org, \
     scope_project, name, description, created_at_ms";

/// The key columns of one document, for `WHERE`: binds account, org,
/// project, kind and identifier.
pub(crate) const OBJECT_KEY: &str = "account = $1 AND scope_org = $2 AND scope_project = $3 \
     AND kind = $4 AND identifier = $5";

/// A scope as messages show it.
pub(crate) fn describe_scope(scope: &ScopeKey) -> String {
    match (&scope.org, &scope.project) {
        (None, None) => format!("account `{}`", scope.account),
        (Some(org), None) => format!("organization `{org}` of account `{}`", scope.account),
        (org, Some(project)) => format!(
            "project `{project}` in organization `{}` of account `{}`",
            org.as_deref().unwrap_or_default(),
            scope.account
        ),
    }
}

/// A document as messages show it.
pub(crate) fn describe_object(scope: &ScopeKey, kind: ObjectKind, identifier: &str) -> String {
    format!(
        "{} `{identifier}` at {}",
        kind.as_str(),
        describe_scope(scope)
    )
}

pub(crate) fn scope_of<'r, R>(row: &'r R) -> Result<ScopeKey, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(ScopeKey {
        account: row.try_get("account")?,
        org: optional(row.try_get("scope_org")?),
        project: optional(row.try_get("scope_project")?),
    })
}

pub(crate) fn object_of<'r, R>(row: &'r R) -> Result<AccessObject, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let kind: String = row.try_get("kind")?;
    Ok(AccessObject {
        scope: scope_of(row)?,
        kind: ObjectKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("access object kind `{kind}`")))?,
        identifier: row.try_get("identifier")?,
        body: row.try_get("body")?,
        version: row.try_get("version")?,
        created_at_ms: row.try_get("created_at_ms")?,
        updated_at_ms: row.try_get("updated_at_ms")?,
    })
}

pub(crate) fn membership_of<'r, R>(row: &'r R) -> Result<Membership, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(Membership {
        scope: scope_of(row)?,
        group: row.try_get("group_identifier")?,
        user_id: row.try_get("user_id")?,
    })
}

pub(crate) fn service_account_of<'r, R>(row: &'r R) -> Result<ServiceAccount, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(ServiceAccount {
        id: row.try_get("id")?,
        scope: scope_of(row)?,
        identifier: row.try_get("identifier")?,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        description: row.try_get("description")?,
        created_at_ms: row.try_get("created_at_ms")?,
        updated_at_ms: row.try_get("updated_at_ms")?,
    })
}

pub(crate) fn api_key_of<'r, R>(row: &'r R) -> Result<ApiKey, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let kind: String = row.try_get("owner_kind")?;
    Ok(ApiKey {
        owner: TokenOwner::from_parts(&kind, row.try_get("owner_id")?)?,
        identifier: row.try_get("identifier")?,
        scope: scope_of(row)?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        created_at_ms: row.try_get("created_at_ms")?,
    })
}

/// Whether an API key's owner exists in an account: binds the owner id and
/// the account.
pub(crate) fn owner_exists_sql(owner: &TokenOwner) -> &'static str {
    match owner {
        TokenOwner::User(_) => "SELECT EXISTS (SELECT 1 FROM users WHERE id = $1 AND account = $2)",
        TokenOwner::ServiceAccount(_) => {
            "SELECT EXISTS (SELECT 1 FROM service_accounts WHERE id = $1 AND account = $2)"
        }
    }
}

/// Implements `AccessRepo` for `$store` (see the module docs); `$other`
/// maps errors that are not constraint violations.
macro_rules! access_repo {
    ($store:ty, $other:path) => {
        impl $crate::access::AccessRepo for $store {
            async fn put_object(
                &self,
                object: &$crate::access::AccessObject,
                precondition: $crate::access::Precondition,
            ) -> Result<i64, StoreError> {
                use $crate::access::Precondition;
                use $crate::rows::column;
                let what = || {
                    $crate::access_sql::describe_object(
                        &object.scope,
                        object.kind,
                        &object.identifier,
                    )
                };
                let mut tx = self.begin_security().await?;
                let name = format!("{} `{}`", object.kind.as_str(), object.identifier);
                Self::require_scope(&mut tx, &object.scope, &name).await?;
                let org = column(object.scope.org.as_ref());
                let project = column(object.scope.project.as_ref());
                let version: i64 = match precondition {
                    Precondition::Absent => {
                        let sql = sqlx::AssertSqlSafe(format!(
                            "INSERT INTO access_objects ({}) \
                             VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8) RETURNING version",
                            $crate::access_sql::OBJECT_COLUMNS
                        ));
                        sqlx::query_scalar(sql)
                            .bind(&object.scope.account)
                            .bind(org)
                            .bind(project)
                            .bind(object.kind.as_str())
                            .bind(&object.identifier)
                            .bind(&object.body)
                            .bind(object.created_at_ms)
                            .bind(object.updated_at_ms)
                            .fetch_one(&mut *tx)
                            .await
                            .map_err(|e| $crate::identity_sql::insert_error(e, &what(), $other))?
                    }
                    Precondition::Version(expected) => {
                        let sql = sqlx::AssertSqlSafe(format!(
                            "UPDATE access_objects SET body = $6, version = version + 1, \
                             updated_at_ms = $7 WHERE {} AND version = $8 RETURNING version",
                            $crate::access_sql::OBJECT_KEY
                        ));
                        sqlx::query_scalar(sql)
                            .bind(&object.scope.account)
                            .bind(org)
                            .bind(project)
                            .bind(object.kind.as_str())
                            .bind(&object.identifier)
                            .bind(&object.body)
                            .bind(object.updated_at_ms)
                            .bind(expected)
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err($other)?
                            .ok_or_else(|| {
                                StoreError::Conflict(format!(
                                    "{} is not at version {expected} (it was changed or deleted)",
                                    what()
                                ))
                            })?
                    }
                    Precondition::Any => {
                        let sql = sqlx::AssertSqlSafe(format!(
                            "INSERT INTO access_objects ({}) \
                             VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8) \
                             ON CONFLICT (account, scope_org, scope_project, kind, identifier) \
                             DO UPDATE SET body = excluded.body, \
                                 version = access_objects.version + 1, \
                                 updated_at_ms = excluded.updated_at_ms \
                             RETURNING version",
                            $crate::access_sql::OBJECT_COLUMNS
                        ));
                        sqlx::query_scalar(sql)
                            .bind(&object.scope.account)
                            .bind(org)
                            .bind(project)
                            .bind(object.kind.as_str())
                            .bind(&object.identifier)
                            .bind(&object.body)
                            .bind(object.created_at_ms)
                            .bind(object.updated_at_ms)
                            .fetch_one(&mut *tx)
                            .await
                            .map_err($other)?
                    }
                };
                tx.commit().await.map_err($other)?;
                Ok(version)
            }

            async fn object(
                &self,
                scope: &$crate::access::ScopeKey,
                kind: $crate::access::ObjectKind,
                identifier: &str,
            ) -> Result<Option<$crate::access::AccessObject>, StoreError> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM access_objects WHERE {}",
                    $crate::access_sql::OBJECT_COLUMNS,
                    $crate::access_sql::OBJECT_KEY
                ));
                let row = sqlx::query(sql)
                    .bind(&scope.account)
                    .bind($crate::rows::column(scope.org.as_ref()))
                    .bind($crate::rows::column(scope.project.as_ref()))
                    .bind(kind.as_str())
                    .bind(identifier)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($other)?;
                row.as_ref().map($crate::access_sql::object_of).transpose()
            }

            async fn objects(
                &self,
                scope: &$crate::access::ScopeKey,
                kind: $crate::access::ObjectKind,
            ) -> Result<Vec<$crate::access::AccessObject>, StoreError> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM access_objects WHERE account = $1 AND scope_org = $2 \
                     AND scope_project = $3 AND kind = $4 ORDER BY identifier",
                    $crate::access_sql::OBJECT_COLUMNS
                ));
                let rows = sqlx::query(sql)
                    .bind(&scope.account)
                    .bind($crate::rows::column(scope.org.as_ref()))
                    .bind($crate::rows::column(scope.project.as_ref()))
                    .bind(kind.as_str())
                    .fetch_all(&self.pool)
                    .await
                    .map_err($other)?;
                rows.iter().map($crate::access_sql::object_of).collect()
            }

            async fn all_objects(
                &self,
                kind: $crate::access::ObjectKind,
            ) -> Result<Vec<$crate::access::AccessObject>, StoreError> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM access_objects WHERE kind = $1 \
                     ORDER BY account, scope_org, scope_project, identifier",
                    $crate::access_sql::OBJECT_COLUMNS
                ));
                let rows = sqlx::query(sql)
                    .bind(kind.as_str())
                    .fetch_all(&self.pool)
                    .await
                    .map_err($other)?;
                rows.iter().map($crate::access_sql::object_of).collect()
            }

            async fn delete_object(
                &self,
                scope: &$crate::access::ScopeKey,
                kind: $crate::access::ObjectKind,
                identifier: &str,
            ) -> Result<bool, StoreError> {
                // A group's memberships follow by foreign key.
                let sql = sqlx::AssertSqlSafe(format!(
                    "DELETE FROM access_objects WHERE {}",
                    $crate::access_sql::OBJECT_KEY
                ));
                self.security_execute(
                    sqlx::query(sql)
                        .bind(&scope.account)
                        .bind($crate::rows::column(scope.org.as_ref()))
                        .bind($crate::rows::column(scope.project.as_ref()))
                        .bind(kind.as_str())
                        .bind(identifier),
                )
                .await
            }

            async fn add_member(
                &self,
                membership: &$crate::access::Membership,
            ) -> Result<bool, StoreError> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "INSERT INTO user_group_members ({}) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT DO NOTHING",
                    $crate::access_sql::MEMBERSHIP_COLUMNS
                ));
                let mut tx = self.begin_security().await?;
                let result = sqlx::query(sql)
                    .bind(&membership.scope.account)
                    .bind($crate::rows::column(membership.scope.org.as_ref()))
                    .bind($crate::rows::column(membership.scope.project.as_ref()))
                    .bind(&membership.group)
                    .bind(&membership.user_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| {
                        // The foreign keys name the group (a user-group
                        // document) and a user of the group's account.
                        $crate::identity_sql::insert_error(
                            e,
                            &format!(
                                "the membership of user `{}` in {}",
                                membership.user_id,
                                $crate::access_sql::describe_object(
                                    &membership.scope,
                                    $crate::access::ObjectKind::UserGroup,
                                    &membership.group
                                )
                            ),
                            $other,
                        )
                    })?;
                $crate::write_sql::commit_if(tx, result.rows_affected() > 0, $other).await
            }

            async fn remove_member(
                &self,
                membership: &$crate::access::Membership,
            ) -> Result<bool, StoreError> {
                self.security_execute(
                    sqlx::query(
                        "DELETE FROM user_group_members WHERE account = $1 AND scope_org = $2 \
                         AND scope_project = $3 AND group_identifier = $4 AND user_id = $5",
                    )
                    .bind(&membership.scope.account)
                    .bind($crate::rows::column(membership.scope.org.as_ref()))
                    .bind($crate::rows::column(membership.scope.project.as_ref()))
                    .bind(&membership.group)
                    .bind(&membership.user_id),
                )
                .await
            }

            async fn members(
                &self,
                scope: &$crate::access::ScopeKey,
                group: &str,
            ) -> Result<Vec<String>, StoreError> {
                sqlx::query_scalar(
                    "SELECT user_id FROM user_group_members WHERE account = $1 \
                     AND scope_org = $2 AND scope_project = $3 AND group_identifier = $4 \
                     ORDER BY user_id",
                )
                .bind(&scope.account)
                .bind($crate::rows::column(scope.org.as_ref()))
                .bind($crate::rows::column(scope.project.as_ref()))
                .bind(group)
                .fetch_all(&self.pool)
                .await
                .map_err($other)
            }

            async fn all_memberships(
                &self,
            ) -> Result<Vec<$crate::access::Membership>, StoreError> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {0} FROM user_group_members ORDER BY {0}",
                    $crate::access_sql::MEMBERSHIP_COLUMNS
                ));
                let rows = sqlx::query(sql)
                    .fetch_all(&self.pool)
                    .await
                    .map_err($other)?;
                rows.iter().map($crate::access_sql::membership_of).collect()
            }

            async fn create_service_account(
                &self,
                account: &$crate::access::ServiceAccount,
            ) -> Result<(), StoreError> {
                let name = format!("service account `{}`", account.identifier);
                let what = format!(
                    "a service account with id `{}` or identifier `{}` at {}",
                    account.id,
                    account.identifier,
                    $crate::access_sql::describe_scope(&account.scope)
                );
                let sql = sqlx::AssertSqlSafe(format!(
                    "INSERT INTO service_accounts ({}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    $crate::access_sql::SERVICE_ACCOUNT_COLUMNS
                ));
                let mut tx = self.begin_security().await?;
                Self::require_scope(&mut tx, &account.scope, &name).await?;
                sqlx::query(sql)
                    .bind(&account.id)
                    .bind(&account.scope.account)
                    .bind($crate::rows::column(account.scope.org.as_ref()))
                    .bind($crate::rows::column(account.scope.project.as_ref()))
                    .bind(&account.identifier)
                    .bind(&account.name)
                    .bind(&account.email)
                    .bind(&account.description)
                    .bind(account.created_at_ms)
                    .bind(account.updated_at_ms)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| $crate::identity_sql::insert_error(e, &what, $other))?;
                tx.commit().await.map_err($other)
            }

            async fn service_account(
                &self,
                id: &str,
            ) -> Result<Option<$crate::access::ServiceAccount>, StoreError> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM service_accounts WHERE id = $1",
                    $crate::access_sql::SERVICE_ACCOUNT_COLUMNS
                ));
                let row = sqlx::query(sql)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($other)?;
                row.as_ref()
                    .map($crate::access_sql::service_account_of)
                    .transpose()
            }

            async fn service_account_by_identifier(
                &self,
                scope: &$crate::access::ScopeKey,
                identifier: &str,
            ) -> Result<Option<$crate::access::ServiceAccount>, StoreError> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM service_accounts WHERE account = $1 AND scope_org = $2 \
                     AND scope_project = $3 AND identifier = $4",
                    $crate::access_sql::SERVICE_ACCOUNT_COLUMNS
                ));
                let row = sqlx::query(sql)
                    .bind(&scope.account)
                    .bind($crate::rows::column(scope.org.as_ref()))
                    .bind($crate::rows::column(scope.project.as_ref()))
                    .bind(identifier)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($other)?;
                row.as_ref()
                    .map($crate::access_sql::service_account_of)
                    .transpose()
            }

            async fn service_accounts(
                &self,
                scope: &$crate::access::ScopeKey,
            ) -> Result<Vec<$crate::access::ServiceAccount>, StoreError> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM service_accounts WHERE account = $1 AND scope_org = $2 \
                     AND scope_project = $3 ORDER BY identifier",
                    $crate::access_sql::SERVICE_ACCOUNT_COLUMNS
                ));
                let rows = sqlx::query(sql)
                    .bind(&scope.account)
                    .bind($crate::rows::column(scope.org.as_ref()))
                    .bind($crate::rows::column(scope.project.as_ref()))
                    .fetch_all(&self.pool)
                    .await
                    .map_err($other)?;
                rows.iter()
                    .map($crate::access_sql::service_account_of)
                    .collect()
            }

            async fn update_service_account(
                &self,
                account: &$crate::access::ServiceAccount,
            ) -> Result<bool, StoreError> {
                self.security_execute(
                    sqlx::query(
                        "UPDATE service_accounts SET name = $1, email = $2, description = $3, \
                         updated_at_ms = $4 WHERE id = $5",
                    )
                    .bind(&account.name)
                    .bind(&account.email)
                    .bind(&account.description)
                    .bind(account.updated_at_ms)
                    .bind(&account.id),
                )
                .await
            }

            async fn delete_service_account(&self, id: &str) -> Result<bool, StoreError> {
                let mut tx = self.begin_security().await?;
                Self::delete_credentials_of(
                    &mut tx,
                    &$crate::identity::TokenOwner::ServiceAccount(id.to_owned()),
                )
                .await?;
                let result = sqlx::query("DELETE FROM service_accounts WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err($other)?;
                $crate::write_sql::commit_if(tx, result.rows_affected() > 0, $other).await
            }

            async fn create_api_key(&self, key: &$crate::access::ApiKey) -> Result<(), StoreError> {
                let (kind, owner) = key.owner.parts();
                let what = format!("API key `{}` of {kind} `{owner}`", key.identifier);
                let mut tx = self.begin_security().await?;
                Self::require_scope(&mut tx, &key.scope, &what).await?;
                let owner_exists: bool =
                    sqlx::query_scalar($crate::access_sql::owner_exists_sql(&key.owner))
                        .bind(owner)
                        .bind(&key.scope.account)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err($other)?;
                if !owner_exists {
                    return Err(StoreError::Conflict(format!(
                        "{what} cannot be created: its owner does not exist in account `{}`",
                        key.scope.account
                    )));
                }
                let sql = sqlx::AssertSqlSafe(format!(
                    "INSERT INTO api_keys ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    $crate::access_sql::API_KEY_COLUMNS
                ));
                sqlx::query(sql)
                    .bind(kind)
                    .bind(owner)
                    .bind(&key.identifier)
                    .bind(&key.scope.account)
                    .bind($crate::rows::column(key.scope.org.as_ref()))
                    .bind($crate::rows::column(key.scope.project.as_ref()))
                    .bind(&key.name)
                    .bind(&key.description)
                    .bind(key.created_at_ms)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| $crate::identity_sql::insert_error(e, &what, $other))?;
                tx.commit().await.map_err($other)
            }

            async fn api_key(
                &self,
                owner: &$crate::identity::TokenOwner,
                identifier: &str,
            ) -> Result<Option<$crate::access::ApiKey>, StoreError> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM api_keys \
                     WHERE owner_kind = $1 AND owner_id = $2 AND identifier = $3",
                    $crate::access_sql::API_KEY_COLUMNS
                ));
                let (kind, id) = owner.parts();
                let row = sqlx::query(sql)
                    .bind(kind)
                    .bind(id)
                    .bind(identifier)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($other)?;
                row.as_ref().map($crate::access_sql::api_key_of).transpose()
            }

            async fn api_keys_of(
                &self,
                owner: &$crate::identity::TokenOwner,
            ) -> Result<Vec<$crate::access::ApiKey>, StoreError> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM api_keys WHERE owner_kind = $1 AND owner_id = $2 \
                     ORDER BY identifier",
                    $crate::access_sql::API_KEY_COLUMNS
                ));
                let (kind, id) = owner.parts();
                let rows = sqlx::query(sql)
                    .bind(kind)
                    .bind(id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err($other)?;
                rows.iter().map($crate::access_sql::api_key_of).collect()
            }

            async fn delete_api_key(
                &self,
                owner: &$crate::identity::TokenOwner,
                identifier: &str,
            ) -> Result<bool, StoreError> {
                let (kind, id) = owner.parts();
                let mut tx = self.begin_security().await?;
                sqlx::query(
                    "DELETE FROM api_tokens WHERE owner_kind = $1 AND owner_id = $2 AND api_key = $3",
                )
                .bind(kind)
                .bind(id)
                .bind(identifier)
                .execute(&mut *tx)
                .await
                .map_err($other)?;
                let key = sqlx::query(
                    "DELETE FROM api_keys WHERE owner_kind = $1 AND owner_id = $2 AND identifier = $3",
                )
                .bind(kind)
                .bind(id)
                .bind(identifier)
                .execute(&mut *tx)
                .await
                .map_err($other)?;
                $crate::write_sql::commit_if(tx, key.rows_affected() > 0, $other).await
            }

            async fn generation(&self) -> Result<i64, StoreError> {
                sqlx::query_scalar($crate::write_sql::GENERATION)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($other)?
                    .ok_or_else($crate::write_sql::no_generation)
            }
        }
    };
}

pub(crate) use access_repo;
