//! The scopes: accounts, organizations, projects (Harness's hierarchy).
//!
//! Organizations and projects live in the caller's account. Accounts
//! themselves: anyone reads and (with `core_account_edit`) renames their own;
//! administrators of the installation's first account (`default`) list,
//! create and delete the others — a new account comes with its first
//! administrator, whose one-time password is in the creation response only.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rampart_auth::audit::AuditAction;
use rampart_auth::rbac::{Permission, Resource, ResourceType, Scope};
use rampart_store::{Account, IdentityRepo, Organization, Project};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::users::normalize_email;
use super::{Body, Path, no_content};
use crate::audit_log::Entry;
use crate::authn::Caller;
use crate::backend::{Core, ROOT_ACCOUNT, create_admin};
use crate::error::ApiError;
use crate::http::AppState;
use crate::scope::{check_description, check_identifier, check_name, check_new_identifier, now_ms};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_accounts, create_account))
        .routes(routes!(get_account, update_account, delete_account))
        .routes(routes!(list_orgs, create_org))
        .routes(routes!(get_org, update_org, delete_org))
        .routes(routes!(list_projects, create_project))
        .routes(routes!(get_project, update_project, delete_project))
}

/// A scope as the API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct ScopeEntity {
    pub identifier: String,
    pub name: String,
    pub description: String,
    pub created_at_ms: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewScope {
    pub identifier: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
}

impl NewScope {
    fn validate(&self, what: &str) -> Result<(), ApiError> {
        check_new_identifier(what, &self.identifier)?;
        check_name("name", &self.name)?;
        check_description(&self.description)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScopePatch {
    pub name: Option<String>,
    pub description: Option<String>,
}

impl ScopePatch {
    fn apply(self, name: &mut String, description: &mut String) -> Result<(), ApiError> {
        if let Some(new) = self.name {
            check_name("name", &new)?;
            *name = new;
        }
        if let Some(new) = self.description {
            check_description(&new)?;
            *description = new;
        }
        Ok(())
    }
}

fn conflict(what: String) -> impl FnOnce(rampart_store::StoreError) -> ApiError {
    move |error| match error {
        rampart_store::StoreError::Conflict(_) => {
            ApiError::Conflict(format!("{what} already exists"))
        }
        other => other.into(),
    }
}

async fn audit(
    core: &Core,
    caller: &Caller,
    action: AuditAction,
    kind: &'static str,
    id: &str,
    scope: &Scope,
) -> Result<(), ApiError> {
    core.audit
        .record(
            Entry::new(&caller.account, caller.actor(), action, kind)
                .id(id)
                .scope(scope)
                .ip(caller.ip),
        )
        .await
}

// Accounts.

fn account_entity(account: &Account) -> ScopeEntity {
    ScopeEntity {
        identifier: account.identifier.clone(),
        name: account.name.clone(),
        description: String::new(),
        created_at_ms: account.created_at_ms,
    }
}

/// Whether the caller administers the installation (edits the first account).
async fn installation_admin(core: &Core, caller: &Caller) -> Result<(), ApiError> {
    if caller.account != ROOT_ACCOUNT {
        return Err(ApiError::Forbidden(format!(
            "only administrators of the `{ROOT_ACCOUNT}` account manage other accounts"
        )));
    }
    caller
        .authorize(
            core,
            Permission::AccountEdit,
            &Resource::of_scope(Scope::account(ROOT_ACCOUNT)),
        )
        .await
}

/// The caller's account, and for installation administrators every account.
#[utoipa::path(get, path = "/api/accounts", tag = "scopes",
    responses((status = 200, description = "Accounts", body = [ScopeEntity])))]
async fn list_accounts(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ScopeEntity>>, ApiError> {
    let core = &state.core;
    let own = Resource::of_scope(Scope::account(caller.account.as_str()));
    caller
        .authorize(core, Permission::AccountView, &own)
        .await?;
    let all = caller.account == ROOT_ACCOUNT
        && caller.allowed(core, Permission::AccountEdit, &own).await?;
    let accounts = core.store.accounts().await?;
    Ok(Json(
        accounts
            .iter()
            .filter(|a| all || a.identifier == caller.account)
            .map(account_entity)
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewAccount {
    pub identifier: String,
    pub name: String,
    /// The new account's first administrator.
    pub admin_email: String,
}

/// A new account and its first administrator's one-time password (shown once).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct CreatedAccount {
    pub account: ScopeEntity,
    pub admin_user_id: String,
    pub admin_email: String,
    pub admin_one_time_password: String,
}

/// Creates an account with its first administrator (installation administrators only).
#[utoipa::path(post, path = "/api/accounts", tag = "scopes", request_body = NewAccount,
    responses((status = 201, description = "Created", body = CreatedAccount)))]
async fn create_account(
    State(state): State<AppState>,
    caller: Caller,
    Body(new): Body<NewAccount>,
) -> Result<(StatusCode, Json<CreatedAccount>), ApiError> {
    let core = &state.core;
    installation_admin(core, &caller).await?;
    check_new_identifier("account", &new.identifier)?;
    check_name("name", &new.name)?;
    let email = normalize_email(&new.admin_email)?;
    let account = Account {
        identifier: new.identifier,
        name: new.name,
        created_at_ms: now_ms(),
    };
    core.store
        .create_account(&account)
        .await
        .map_err(conflict(format!("account `{}`", account.identifier)))?;
    audit(
        core,
        &caller,
        AuditAction::AccountCreated,
        "ACCOUNT",
        &account.identifier,
        &Scope::account(caller.account.as_str()),
    )
    .await?;
    let (admin_user_id, password) = create_admin(core, &account.identifier, &email).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedAccount {
            account: account_entity(&account),
            admin_user_id,
            admin_email: email,
            admin_one_time_password: password.to_string(),
        }),
    ))
}

/// Reading another account needs installation administration.
async fn visible_account(
    core: &Core,
    caller: &Caller,
    id: &str,
    permission: Permission,
) -> Result<Account, ApiError> {
    check_identifier("account", id)?;
    if id == caller.account {
        caller
            .authorize(core, permission, &Resource::of_scope(Scope::account(id)))
            .await?;
    } else {
        installation_admin(core, caller).await?;
    }
    core.store
        .account(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no account `{id}`")))
}

#[utoipa::path(get, path = "/api/accounts/{account}", tag = "scopes",
    params(("account" = String, Path, description = "The account's identifier")),
    responses((status = 200, description = "The account", body = ScopeEntity)))]
async fn get_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ScopeEntity>, ApiError> {
    let account = visible_account(&state.core, &caller, &id, Permission::AccountView).await?;
    Ok(Json(account_entity(&account)))
}

#[utoipa::path(patch, path = "/api/accounts/{account}", tag = "scopes", request_body = ScopePatch,
    params(("account" = String, Path, description = "The account's identifier")),
    responses((status = 200, description = "Updated", body = ScopeEntity)))]
async fn update_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(patch): Body<ScopePatch>,
) -> Result<Json<ScopeEntity>, ApiError> {
    let core = &state.core;
    let mut account = visible_account(core, &caller, &id, Permission::AccountEdit).await?;
    if patch.description.is_some() {
        return Err(ApiError::BadRequest(
            "accounts have a name only, no description".into(),
        ));
    }
    let mut unused = String::new();
    patch.apply(&mut account.name, &mut unused)?;
    core.store.update_account(&account).await?;
    audit(
        core,
        &caller,
        AuditAction::AccountUpdated,
        "ACCOUNT",
        &id,
        &Scope::account(id.as_str()),
    )
    .await?;
    Ok(Json(account_entity(&account)))
}

/// Deletes an account and everything in it (installation administrators
/// only; never the first account). Its audit trail stays.
#[utoipa::path(delete, path = "/api/accounts/{account}", tag = "scopes",
    params(("account" = String, Path, description = "The account's identifier")),
    responses((status = 204, description = "Deleted")))]
async fn delete_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let core = &state.core;
    installation_admin(core, &caller).await?;
    if id == ROOT_ACCOUNT {
        return Err(ApiError::Conflict(format!(
            "the `{ROOT_ACCOUNT}` account administers the installation and cannot be deleted"
        )));
    }
    if !core.store.delete_account(&id).await? {
        return Err(ApiError::NotFound(format!(
            "no account `{}`",
            crate::scope::shorten(&id)
        )));
    }
    core.access.note_change().await?;
    audit(
        core,
        &caller,
        AuditAction::AccountDeleted,
        "ACCOUNT",
        &id,
        &Scope::account(caller.account.as_str()),
    )
    .await?;
    Ok(no_content())
}

// Organizations.

fn org_entity(org: &Organization) -> ScopeEntity {
    ScopeEntity {
        identifier: org.identifier.clone(),
        name: org.name.clone(),
        description: org.description.clone(),
        created_at_ms: org.created_at_ms,
    }
}

/// The organizations of the caller's account they may see.
#[utoipa::path(get, path = "/api/orgs", tag = "scopes",
    responses((status = 200, description = "Organizations", body = [ScopeEntity])))]
async fn list_orgs(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ScopeEntity>>, ApiError> {
    let core = &state.core;
    let mut shown = Vec::new();
    for org in core.store.organizations(&caller.account).await? {
        let resource =
            Resource::of_scope(Scope::org(caller.account.as_str(), org.identifier.as_str()));
        if caller
            .allowed(core, Permission::OrganizationView, &resource)
            .await?
        {
            shown.push(org_entity(&org));
        }
    }
    Ok(Json(shown))
}

#[utoipa::path(post, path = "/api/orgs", tag = "scopes", request_body = NewScope,
    responses((status = 201, description = "Created", body = ScopeEntity)))]
async fn create_org(
    State(state): State<AppState>,
    caller: Caller,
    Body(new): Body<NewScope>,
) -> Result<(StatusCode, Json<ScopeEntity>), ApiError> {
    let core = &state.core;
    new.validate("organization")?;
    let scope = Scope::org(caller.account.as_str(), new.identifier.as_str());
    caller
        .authorize(
            core,
            Permission::OrganizationCreate,
            &Resource::new(ResourceType::Organization, scope.clone(), None),
        )
        .await?;
    let org = Organization {
        account: caller.account.clone(),
        identifier: new.identifier,
        name: new.name,
        description: new.description,
        created_at_ms: now_ms(),
    };
    core.store
        .create_organization(&org)
        .await
        .map_err(conflict(format!("organization `{}`", org.identifier)))?;
    core.access.note_change().await?;
    audit(
        core,
        &caller,
        AuditAction::OrganizationCreated,
        "ORGANIZATION",
        &org.identifier,
        &scope,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(org_entity(&org))))
}

async fn org_checked(
    core: &Core,
    caller: &Caller,
    org: &str,
    permission: Permission,
) -> Result<Organization, ApiError> {
    check_identifier("org", org)?;
    let scope = Scope::org(caller.account.as_str(), org);
    caller
        .authorize(core, permission, &Resource::of_scope(scope))
        .await?;
    core.store
        .organization(&caller.account, org)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no organization `{org}`")))
}

#[utoipa::path(get, path = "/api/orgs/{org}", tag = "scopes",
    params(("org" = String, Path, description = "The organization's identifier")),
    responses((status = 200, description = "The organization", body = ScopeEntity)))]
async fn get_org(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
) -> Result<Json<ScopeEntity>, ApiError> {
    Ok(Json(org_entity(
        &org_checked(&state.core, &caller, &org, Permission::OrganizationView).await?,
    )))
}

#[utoipa::path(patch, path = "/api/orgs/{org}", tag = "scopes", request_body = ScopePatch,
    params(("org" = String, Path, description = "The organization's identifier")),
    responses((status = 200, description = "Updated", body = ScopeEntity)))]
async fn update_org(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    Body(patch): Body<ScopePatch>,
) -> Result<Json<ScopeEntity>, ApiError> {
    let core = &state.core;
    let mut found = org_checked(core, &caller, &org, Permission::OrganizationEdit).await?;
    patch.apply(&mut found.name, &mut found.description)?;
    core.store.update_organization(&found).await?;
    audit(
        core,
        &caller,
        AuditAction::OrganizationUpdated,
        "ORGANIZATION",
        &org,
        &Scope::org(caller.account.as_str(), org.as_str()),
    )
    .await?;
    Ok(Json(org_entity(&found)))
}

/// Deletes an organization with its projects and everything in them.
#[utoipa::path(delete, path = "/api/orgs/{org}", tag = "scopes",
    params(("org" = String, Path, description = "The organization's identifier")),
    responses((status = 204, description = "Deleted")))]
async fn delete_org(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
) -> Result<StatusCode, ApiError> {
    let core = &state.core;
    org_checked(core, &caller, &org, Permission::OrganizationDelete).await?;
    core.store
        .delete_organization(&caller.account, &org)
        .await?;
    core.access.note_change().await?;
    audit(
        core,
        &caller,
        AuditAction::OrganizationDeleted,
        "ORGANIZATION",
        &org,
        &Scope::org(caller.account.as_str(), org.as_str()),
    )
    .await?;
    Ok(no_content())
}

// Projects.

fn project_entity(project: &Project) -> ScopeEntity {
    ScopeEntity {
        identifier: project.identifier.clone(),
        name: project.name.clone(),
        description: project.description.clone(),
        created_at_ms: project.created_at_ms,
    }
}

/// The projects of an organization the caller may see.
#[utoipa::path(get, path = "/api/orgs/{org}/projects", tag = "scopes",
    params(("org" = String, Path, description = "The organization's identifier")),
    responses((status = 200, description = "Projects", body = [ScopeEntity])))]
async fn list_projects(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
) -> Result<Json<Vec<ScopeEntity>>, ApiError> {
    let core = &state.core;
    check_identifier("org", &org)?;
    let mut shown = Vec::new();
    for project in core.store.projects(&caller.account, &org).await? {
        let scope = Scope::project(
            caller.account.as_str(),
            org.as_str(),
            project.identifier.as_str(),
        );
        if caller
            .allowed(core, Permission::ProjectView, &Resource::of_scope(scope))
            .await?
        {
            shown.push(project_entity(&project));
        }
    }
    Ok(Json(shown))
}

#[utoipa::path(post, path = "/api/orgs/{org}/projects", tag = "scopes", request_body = NewScope,
    params(("org" = String, Path, description = "The organization's identifier")),
    responses((status = 201, description = "Created", body = ScopeEntity)))]
async fn create_project(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    Body(new): Body<NewScope>,
) -> Result<(StatusCode, Json<ScopeEntity>), ApiError> {
    let core = &state.core;
    check_identifier("org", &org)?;
    new.validate("project")?;
    let scope = Scope::project(
        caller.account.as_str(),
        org.as_str(),
        new.identifier.as_str(),
    );
    caller
        .authorize(
            core,
            Permission::ProjectCreate,
            &Resource::new(ResourceType::Project, scope.clone(), None),
        )
        .await?;
    if core
        .store
        .organization(&caller.account, &org)
        .await?
        .is_none()
    {
        return Err(ApiError::NotFound(format!("no organization `{org}`")));
    }
    let project = Project {
        account: caller.account.clone(),
        org,
        identifier: new.identifier,
        name: new.name,
        description: new.description,
        created_at_ms: now_ms(),
    };
    core.store
        .create_project(&project)
        .await
        .map_err(conflict(format!("project `{}`", project.identifier)))?;
    core.access.note_change().await?;
    audit(
        core,
        &caller,
        AuditAction::ProjectCreated,
        "PROJECT",
        &project.identifier,
        &scope,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(project_entity(&project))))
}

async fn project_checked(
    core: &Core,
    caller: &Caller,
    org: &str,
    project: &str,
    permission: Permission,
) -> Result<Project, ApiError> {
    check_identifier("org", org)?;
    check_identifier("project", project)?;
    let scope = Scope::project(caller.account.as_str(), org, project);
    caller
        .authorize(core, permission, &Resource::of_scope(scope))
        .await?;
    core.store
        .project(&caller.account, org, project)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!("no project `{project}` in organization `{org}`"))
        })
}

#[utoipa::path(get, path = "/api/orgs/{org}/projects/{project}", tag = "scopes",
    params(("org" = String, Path, description = "The organization's identifier"), ("project" = String, Path, description = "The project's identifier")),
    responses((status = 200, description = "The project", body = ScopeEntity)))]
async fn get_project(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, project)): Path<(String, String)>,
) -> Result<Json<ScopeEntity>, ApiError> {
    Ok(Json(project_entity(
        &project_checked(
            &state.core,
            &caller,
            &org,
            &project,
            Permission::ProjectView,
        )
        .await?,
    )))
}

#[utoipa::path(patch, path = "/api/orgs/{org}/projects/{project}", tag = "scopes", request_body = ScopePatch,
    params(("org" = String, Path, description = "The organization's identifier"), ("project" = String, Path, description = "The project's identifier")),
    responses((status = 200, description = "Updated", body = ScopeEntity)))]
async fn update_project(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, project)): Path<(String, String)>,
    Body(patch): Body<ScopePatch>,
) -> Result<Json<ScopeEntity>, ApiError> {
    let core = &state.core;
    let mut found = project_checked(core, &caller, &org, &project, Permission::ProjectEdit).await?;
    patch.apply(&mut found.name, &mut found.description)?;
    core.store.update_project(&found).await?;
    let scope = Scope::project(caller.account.as_str(), org.as_str(), project.as_str());
    audit(
        core,
        &caller,
        AuditAction::ProjectUpdated,
        "PROJECT",
        &project,
        &scope,
    )
    .await?;
    Ok(Json(project_entity(&found)))
}

/// Deletes a project and everything in it.
#[utoipa::path(delete, path = "/api/orgs/{org}/projects/{project}", tag = "scopes",
    params(("org" = String, Path, description = "The organization's identifier"), ("project" = String, Path, description = "The project's identifier")),
    responses((status = 204, description = "Deleted")))]
async fn delete_project(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, project)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let core = &state.core;
    project_checked(core, &caller, &org, &project, Permission::ProjectDelete).await?;
    core.store
        .delete_project(&caller.account, &org, &project)
        .await?;
    core.access.note_change().await?;
    let scope = Scope::project(caller.account.as_str(), org.as_str(), project.as_str());
    audit(
        core,
        &caller,
        AuditAction::ProjectDeleted,
        "PROJECT",
        &project,
        &scope,
    )
    .await?;
    Ok(no_content())
}
