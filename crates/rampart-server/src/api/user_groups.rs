//! User groups at any scope (`?org=&project=`), and their members.
//! Permissions `core_usergroup_view` and `core_usergroup_manage`. Changes
//! to membership take effect on the next request (they advance the
//! security generation).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rampart_auth::audit::AuditAction;
use rampart_auth::rbac::{GroupRef, Permission, PrincipalRef, Resource, ResourceType, Scope};
use rampart_store::{AccessObject, AccessRepo, Membership, ObjectKind, Precondition};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::users::{remove_bindings_of, user_in_account};
use super::{Body, Path, Query, no_content};
use crate::audit_log::Entry;
use crate::authn::Caller;
use crate::backend::Core;
use crate::error::ApiError;
use crate::http::AppState;
use crate::policy::UserGroupSpec;
use crate::scope::{
    ScopeQuery, ScopeView, check_identifier, check_new_identifier, ensure_exists, key_of, now_ms,
};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_groups, create_group))
        .routes(routes!(get_group, update_group, delete_group))
        .routes(routes!(list_members, add_member))
        .routes(routes!(remove_member))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct UserGroupView {
    pub identifier: String,
    pub name: String,
    pub description: String,
    pub scope: ScopeView,
    /// Member user ids.
    pub members: Vec<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewUserGroup {
    pub identifier: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserGroupPatch {
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewMember {
    /// The user's id.
    pub user: String,
}

fn resource(scope: &Scope, id: Option<&str>) -> Resource {
    Resource::new(
        ResourceType::UserGroup,
        scope.clone(),
        id.map(str::to_owned),
    )
}

async fn view(
    core: &Core,
    scope: &Scope,
    object: &AccessObject,
) -> Result<UserGroupView, ApiError> {
    let spec: UserGroupSpec = serde_json::from_str(&object.body)
        .map_err(|e| ApiError::internal("a stored user group", e))?;
    Ok(UserGroupView {
        identifier: object.identifier.clone(),
        name: spec.name,
        description: spec.description,
        scope: ScopeView::from(scope),
        members: core
            .store
            .members(&object.scope, &object.identifier)
            .await?,
        created_at_ms: object.created_at_ms,
        updated_at_ms: object.updated_at_ms,
    })
}

async fn audit(
    core: &Core,
    caller: &Caller,
    action: AuditAction,
    scope: &Scope,
    id: &str,
    details: serde_json::Value,
) -> Result<(), ApiError> {
    core.audit
        .record(
            Entry::new(&caller.account, caller.actor(), action, "USER_GROUP")
                .id(id)
                .scope(scope)
                .ip(caller.ip)
                .details(details),
        )
        .await
}

/// The group, after checking `permission` on it.
async fn checked(
    core: &Core,
    caller: &Caller,
    query: &ScopeQuery,
    id: &str,
    permission: Permission,
) -> Result<(Scope, AccessObject), ApiError> {
    check_identifier("user group", id)?;
    let scope = query.scope(&caller.account)?;
    caller
        .authorize(core, permission, &resource(&scope, Some(id)))
        .await?;
    let object = core
        .store
        .object(&key_of(&scope), ObjectKind::UserGroup, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no user group `{id}` at {scope}")))?;
    Ok((scope, object))
}

/// The user groups at a scope the caller may see.
#[utoipa::path(get, path = "/api/user-groups", tag = "user groups", params(ScopeQuery),
    responses((status = 200, description = "User groups", body = [UserGroupView])))]
async fn list_groups(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ScopeQuery>,
) -> Result<Json<Vec<UserGroupView>>, ApiError> {
    let core = &state.core;
    let scope = query.scope(&caller.account)?;
    let mut shown = Vec::new();
    for object in core
        .store
        .objects(&key_of(&scope), ObjectKind::UserGroup)
        .await?
    {
        if caller
            .allowed(
                core,
                Permission::UserGroupView,
                &resource(&scope, Some(&object.identifier)),
            )
            .await?
        {
            shown.push(view(core, &scope, &object).await?);
        }
    }
    if shown.is_empty() {
        caller
            .authorize(core, Permission::UserGroupView, &resource(&scope, None))
            .await?;
    }
    Ok(Json(shown))
}

#[utoipa::path(post, path = "/api/user-groups", tag = "user groups", params(ScopeQuery), request_body = NewUserGroup,
    responses((status = 201, description = "Created", body = UserGroupView)))]
async fn create_group(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ScopeQuery>,
    Body(new): Body<NewUserGroup>,
) -> Result<(StatusCode, Json<UserGroupView>), ApiError> {
    let core = &state.core;
    let scope = query.scope(&caller.account)?;
    caller
        .authorize(core, Permission::UserGroupManage, &resource(&scope, None))
        .await?;
    check_new_identifier("user group", &new.identifier)?;
    let spec = UserGroupSpec {
        name: new.name,
        description: new.description,
    };
    spec.validate()?;
    ensure_exists(&core.store, &scope).await?;
    let now = now_ms();
    let object = AccessObject {
        scope: key_of(&scope),
        kind: ObjectKind::UserGroup,
        identifier: new.identifier,
        body: serde_json::to_string(&spec).map_err(|e| ApiError::internal("", e))?,
        version: 0,
        created_at_ms: now,
        updated_at_ms: now,
    };
    core.store
        .put_object(&object, Precondition::Absent)
        .await
        .map_err(|e| match e {
            rampart_store::StoreError::Conflict(_) => ApiError::Conflict(format!(
                "a user group `{}` already exists at {scope}",
                object.identifier
            )),
            other => other.into(),
        })?;
    core.access.note_change().await?;
    audit(
        core,
        &caller,
        AuditAction::UserGroupCreated,
        &scope,
        &object.identifier,
        serde_json::Value::Null,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(view(core, &scope, &object).await?),
    ))
}

#[utoipa::path(get, path = "/api/user-groups/{group}", tag = "user groups",
    params(ScopeQuery, ("group" = String, Path, description = "The user group's identifier")),
    responses((status = 200, description = "The user group", body = UserGroupView)))]
async fn get_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<ScopeQuery>,
) -> Result<Json<UserGroupView>, ApiError> {
    let core = &state.core;
    let (scope, object) = checked(core, &caller, &query, &id, Permission::UserGroupView).await?;
    Ok(Json(view(core, &scope, &object).await?))
}

#[utoipa::path(patch, path = "/api/user-groups/{group}", tag = "user groups", request_body = UserGroupPatch,
    params(ScopeQuery, ("group" = String, Path, description = "The user group's identifier")),
    responses((status = 200, description = "Updated", body = UserGroupView)))]
async fn update_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<ScopeQuery>,
    Body(patch): Body<UserGroupPatch>,
) -> Result<Json<UserGroupView>, ApiError> {
    let core = &state.core;
    let (scope, mut object) =
        checked(core, &caller, &query, &id, Permission::UserGroupManage).await?;
    let mut spec: UserGroupSpec = serde_json::from_str(&object.body)
        .map_err(|e| ApiError::internal("a stored user group", e))?;
    if let Some(name) = patch.name {
        spec.name = name;
    }
    if let Some(description) = patch.description {
        spec.description = description;
    }
    spec.validate()?;
    object.body = serde_json::to_string(&spec).map_err(|e| ApiError::internal("", e))?;
    object.updated_at_ms = now_ms();
    object.version = core
        .store
        .put_object(&object, Precondition::Version(object.version))
        .await?;
    core.access.note_change().await?;
    audit(
        core,
        &caller,
        AuditAction::UserGroupUpdated,
        &scope,
        &id,
        serde_json::Value::Null,
    )
    .await?;
    Ok(Json(view(core, &scope, &object).await?))
}

/// Deletes a user group, its memberships and the role bindings naming it.
#[utoipa::path(delete, path = "/api/user-groups/{group}", tag = "user groups",
    params(ScopeQuery, ("group" = String, Path, description = "The user group's identifier")),
    responses((status = 204, description = "Deleted")))]
async fn delete_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<ScopeQuery>,
) -> Result<StatusCode, ApiError> {
    let core = &state.core;
    let (scope, _) = checked(core, &caller, &query, &id, Permission::UserGroupManage).await?;
    let principal = PrincipalRef::UserGroup {
        group: GroupRef {
            scope: scope.clone(),
            id: id.clone(),
        },
    };
    remove_bindings_of(core, &caller.account, &principal).await?;
    core.store
        .delete_object(&key_of(&scope), ObjectKind::UserGroup, &id)
        .await?;
    core.access.note_change().await?;
    audit(
        core,
        &caller,
        AuditAction::UserGroupDeleted,
        &scope,
        &id,
        serde_json::Value::Null,
    )
    .await?;
    Ok(no_content())
}

#[utoipa::path(get, path = "/api/user-groups/{group}/members", tag = "user groups",
    params(ScopeQuery, ("group" = String, Path, description = "The user group's identifier")),
    responses((status = 200, description = "Member user ids", body = [String])))]
async fn list_members(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<ScopeQuery>,
) -> Result<Json<Vec<String>>, ApiError> {
    let core = &state.core;
    let (scope, _) = checked(core, &caller, &query, &id, Permission::UserGroupView).await?;
    Ok(Json(core.store.members(&key_of(&scope), &id).await?))
}

#[utoipa::path(post, path = "/api/user-groups/{group}/members", tag = "user groups", request_body = NewMember,
    params(ScopeQuery, ("group" = String, Path, description = "The user group's identifier")),
    responses((status = 200, description = "Member user ids now", body = [String])))]
async fn add_member(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<ScopeQuery>,
    Body(new): Body<NewMember>,
) -> Result<Json<Vec<String>>, ApiError> {
    let core = &state.core;
    let (scope, _) = checked(core, &caller, &query, &id, Permission::UserGroupManage).await?;
    user_in_account(core, &caller, &new.user).await?;
    let membership = Membership {
        scope: key_of(&scope),
        group: id.clone(),
        user_id: new.user.clone(),
    };
    if core.store.add_member(&membership).await? {
        core.access.note_change().await?;
        audit(
            core,
            &caller,
            AuditAction::UserGroupMembershipChanged,
            &scope,
            &id,
            serde_json::json!({"added": new.user}),
        )
        .await?;
    }
    Ok(Json(core.store.members(&key_of(&scope), &id).await?))
}

#[utoipa::path(delete, path = "/api/user-groups/{group}/members/{user}", tag = "user groups",
    params(ScopeQuery, ("group" = String, Path, description = "The user group's identifier"), ("user" = String, Path, description = "The member's user id")),
    responses((status = 204, description = "Removed")))]
async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, user)): Path<(String, String)>,
    Query(query): Query<ScopeQuery>,
) -> Result<StatusCode, ApiError> {
    let core = &state.core;
    let (scope, _) = checked(core, &caller, &query, &id, Permission::UserGroupManage).await?;
    let membership = Membership {
        scope: key_of(&scope),
        group: id.clone(),
        user_id: user.clone(),
    };
    if !core.store.remove_member(&membership).await? {
        return Err(ApiError::NotFound(format!(
            "`{}` is not a member of `{id}`",
            crate::scope::shorten(&user)
        )));
    }
    core.access.note_change().await?;
    audit(
        core,
        &caller,
        AuditAction::UserGroupMembershipChanged,
        &scope,
        &id,
        serde_json::json!({"removed": user}),
    )
    .await?;
    Ok(no_content())
}
