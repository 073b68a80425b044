//! Service accounts: non-human principals at a scope (`?org=&project=`).
//! Permissions `core_serviceaccount_view`, `_edit`, `_delete`; their API
//! keys are in [`super::keys`]. A service account's `id` is what role
//! bindings name.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rampart_auth::audit::AuditAction;
use rampart_auth::rbac::{Permission, PrincipalRef, Resource, ResourceType, Scope};
use rampart_store::{AccessRepo, ServiceAccount};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::users::remove_bindings_of;
use super::{Body, Path, Query, no_content};
use crate::audit_log::Entry;
use crate::authn::Caller;
use crate::backend::Core;
use crate::error::ApiError;
use crate::http::AppState;
use crate::scope::{
    ScopeQuery, ScopeView, check_description, check_identifier, check_name, check_new_identifier,
    ensure_exists, key_of, new_id, now_ms,
};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_service_accounts, create_service_account))
        .routes(routes!(
            get_service_account,
            update_service_account,
            delete_service_account
        ))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct ServiceAccountView {
    /// The principal id role bindings name.
    pub id: String,
    pub identifier: String,
    pub name: String,
    pub email: String,
    pub description: String,
    pub scope: ScopeView,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

fn view(account: &ServiceAccount, scope: &Scope) -> ServiceAccountView {
    ServiceAccountView {
        id: account.id.clone(),
        identifier: account.identifier.clone(),
        name: account.name.clone(),
        email: account.email.clone(),
        description: account.description.clone(),
        scope: ScopeView::from(scope),
        created_at_ms: account.created_at_ms,
        updated_at_ms: account.updated_at_ms,
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewServiceAccount {
    pub identifier: String,
    pub name: String,
    /// A contact address; default `IDENTIFIER@service.rampart`.
    pub email: Option<String>,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServiceAccountPatch {
    pub name: Option<String>,
    pub email: Option<String>,
    pub description: Option<String>,
}

fn resource(scope: &Scope, id: Option<&str>) -> Resource {
    Resource::new(
        ResourceType::ServiceAccount,
        scope.clone(),
        id.map(str::to_owned),
    )
}

async fn audit(
    core: &Core,
    caller: &Caller,
    action: AuditAction,
    scope: &Scope,
    account: &ServiceAccount,
) -> Result<(), ApiError> {
    core.audit
        .record(
            Entry::new(&caller.account, caller.actor(), action, "SERVICE_ACCOUNT")
                .id(&account.identifier)
                .scope(scope)
                .ip(caller.ip)
                .details(serde_json::json!({"principal_id": account.id})),
        )
        .await
}

async fn checked(
    core: &Core,
    caller: &Caller,
    query: &ScopeQuery,
    identifier: &str,
    permission: Permission,
) -> Result<(Scope, ServiceAccount), ApiError> {
    check_identifier("service account", identifier)?;
    let scope = query.scope(&caller.account)?;
    caller
        .authorize(core, permission, &resource(&scope, Some(identifier)))
        .await?;
    let account = core
        .store
        .service_account_by_identifier(&key_of(&scope), identifier)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!("no service account `{identifier}` at {scope}"))
        })?;
    Ok((scope, account))
}

#[utoipa::path(get, path = "/api/service-accounts", tag = "service accounts", params(ScopeQuery),
    responses((status = 200, description = "Service accounts", body = [ServiceAccountView])))]
async fn list_service_accounts(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ScopeQuery>,
) -> Result<Json<Vec<ServiceAccountView>>, ApiError> {
    let core = &state.core;
    let scope = query.scope(&caller.account)?;
    let mut shown = Vec::new();
    for account in core.store.service_accounts(&key_of(&scope)).await? {
        if caller
            .allowed(
                core,
                Permission::ServiceAccountView,
                &resource(&scope, Some(&account.identifier)),
            )
            .await?
        {
            shown.push(view(&account, &scope));
        }
    }
    if shown.is_empty() {
        caller
            .authorize(
                core,
                Permission::ServiceAccountView,
                &resource(&scope, None),
            )
            .await?;
    }
    Ok(Json(shown))
}

#[utoipa::path(post, path = "/api/service-accounts", tag = "service accounts", params(ScopeQuery), request_body = NewServiceAccount,
    responses((status = 201, description = "Created", body = ServiceAccountView)))]
async fn create_service_account(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ScopeQuery>,
    Body(new): Body<NewServiceAccount>,
) -> Result<(StatusCode, Json<ServiceAccountView>), ApiError> {
    let core = &state.core;
    let scope = query.scope(&caller.account)?;
    caller
        .authorize(
            core,
            Permission::ServiceAccountEdit,
            &resource(&scope, None),
        )
        .await?;
    check_new_identifier("service account", &new.identifier)?;
    check_name("name", &new.name)?;
    check_description(&new.description)?;
    let email = match new.email {
        Some(email) => super::users::normalize_email(&email)?,
        None => format!("{}@service.rampart", new.identifier.to_lowercase()),
    };
    ensure_exists(&core.store, &scope).await?;
    let now = now_ms();
    let account = ServiceAccount {
        id: new_id("sa_")?,
        scope: key_of(&scope),
        identifier: new.identifier,
        name: new.name,
        email,
        description: new.description,
        created_at_ms: now,
        updated_at_ms: now,
    };
    core.store
        .create_service_account(&account)
        .await
        .map_err(|e| match e {
            rampart_store::StoreError::Conflict(_) => ApiError::Conflict(format!(
                "a service account `{}` already exists at {scope}",
                account.identifier
            )),
            other => other.into(),
        })?;
    core.access.note_change().await?;
    audit(
        core,
        &caller,
        AuditAction::ServiceAccountCreated,
        &scope,
        &account,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view(&account, &scope))))
}

#[utoipa::path(get, path = "/api/service-accounts/{sa}", tag = "service accounts",
    params(ScopeQuery, ("sa" = String, Path, description = "The service account's identifier")),
    responses((status = 200, description = "The service account", body = ServiceAccountView)))]
async fn get_service_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(identifier): Path<String>,
    Query(query): Query<ScopeQuery>,
) -> Result<Json<ServiceAccountView>, ApiError> {
    let (scope, account) = checked(
        &state.core,
        &caller,
        &query,
        &identifier,
        Permission::ServiceAccountView,
    )
    .await?;
    Ok(Json(view(&account, &scope)))
}

#[utoipa::path(patch, path = "/api/service-accounts/{sa}", tag = "service accounts", request_body = ServiceAccountPatch,
    params(ScopeQuery, ("sa" = String, Path, description = "The service account's identifier")),
    responses((status = 200, description = "Updated", body = ServiceAccountView)))]
async fn update_service_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(identifier): Path<String>,
    Query(query): Query<ScopeQuery>,
    Body(patch): Body<ServiceAccountPatch>,
) -> Result<Json<ServiceAccountView>, ApiError> {
    let core = &state.core;
    let (scope, mut account) = checked(
        core,
        &caller,
        &query,
        &identifier,
        Permission::ServiceAccountEdit,
    )
    .await?;
    if let Some(name) = patch.name {
        check_name("name", &name)?;
        account.name = name;
    }
    if let Some(email) = patch.email {
        account.email = super::users::normalize_email(&email)?;
    }
    if let Some(description) = patch.description {
        check_description(&description)?;
        account.description = description;
    }
    account.updated_at_ms = now_ms();
    core.store.update_service_account(&account).await?;
    core.access.note_change().await?;
    audit(
        core,
        &caller,
        AuditAction::ServiceAccountUpdated,
        &scope,
        &account,
    )
    .await?;
    Ok(Json(view(&account, &scope)))
}

/// Deletes a service account with its API keys, tokens and role bindings.
#[utoipa::path(delete, path = "/api/service-accounts/{sa}", tag = "service accounts",
    params(ScopeQuery, ("sa" = String, Path, description = "The service account's identifier")),
    responses((status = 204, description = "Deleted")))]
async fn delete_service_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(identifier): Path<String>,
    Query(query): Query<ScopeQuery>,
) -> Result<StatusCode, ApiError> {
    let core = &state.core;
    let (scope, account) = checked(
        core,
        &caller,
        &query,
        &identifier,
        Permission::ServiceAccountDelete,
    )
    .await?;
    remove_bindings_of(
        core,
        &caller.account,
        &PrincipalRef::ServiceAccount {
            id: account.id.clone(),
        },
    )
    .await?;
    core.store.delete_service_account(&account.id).await?;
    core.access.note_change().await?;
    audit(
        core,
        &caller,
        AuditAction::ServiceAccountDeleted,
        &scope,
        &account,
    )
    .await?;
    Ok(no_content())
}
