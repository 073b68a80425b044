//! RBAC administration, Harness's model: the permission registry, roles
//! (built-in and custom), resource groups (built-in and custom) and role
//! bindings, each at a scope (`?org=&project=`).
//!
//! Where Harness lets an administrator of users or roles grant more than
//! they hold, Rampart does not: a binding can be created only by someone
//! who holds every permission its role grants at its scope (and in the
//! organizations and projects below, when its resource group includes
//! child scopes), and a role's
//! permissions can be extended only by someone who holds what is added.
//! The last Account Admin binding of an account cannot be removed.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rampart_auth::audit::AuditAction;
use rampart_auth::rbac::{
    BUILTIN_RESOURCE_GROUPS, BuiltinRole, PERMISSIONS, Permission, PrincipalRef, Resource,
    ResourceType, Scope, ScopeLevel,
};
use rampart_store::{AccessObject, AccessRepo, IdentityRepo, ObjectKind, Precondition};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Body, Path, Query, no_content};
use crate::audit_log::Entry;
use crate::authn::Caller;
use crate::backend::Core;
use crate::error::ApiError;
use crate::http::AppState;
use crate::policy::{PrincipalSpec, ResourceGroupSpec, RoleBindingSpec, RoleSpec, SelectorSpec};
use crate::scope::{
    ScopeQuery, ScopeView, check_identifier, check_new_identifier, ensure_exists, key_of, new_id,
    now_ms, scope_of, scopes_within,
};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_permissions))
        .routes(routes!(list_roles, create_role))
        .routes(routes!(get_role, update_role, delete_role))
        .routes(routes!(list_resource_groups, create_resource_group))
        .routes(routes!(
            get_resource_group,
            update_resource_group,
            delete_resource_group
        ))
        .routes(routes!(list_bindings, create_binding))
        .routes(routes!(get_binding, delete_binding))
}

async fn audit(
    core: &Core,
    caller: &Caller,
    action: AuditAction,
    kind: &'static str,
    scope: &Scope,
    id: &str,
    details: serde_json::Value,
) -> Result<(), ApiError> {
    core.audit
        .record(
            Entry::new(&caller.account, caller.actor(), action, kind)
                .id(id)
                .scope(scope)
                .ip(caller.ip)
                .details(details),
        )
        .await
}

fn encode<T: Serialize>(value: &T) -> Result<String, ApiError> {
    serde_json::to_string(value).map_err(|e| ApiError::internal("", e))
}

fn decode<T: serde::de::DeserializeOwned>(object: &AccessObject) -> Result<T, ApiError> {
    serde_json::from_str(&object.body)
        .map_err(|e| ApiError::internal("a stored access document", e))
}

fn conflict_as(message: String) -> impl FnOnce(rampart_store::StoreError) -> ApiError {
    move |error| match error {
        rampart_store::StoreError::Conflict(_) => ApiError::Conflict(message),
        other => other.into(),
    }
}

/// The permissions the caller lacks, of `permissions`, at `scope`.
async fn missing_at(
    core: &Core,
    caller: &Caller,
    permissions: impl IntoIterator<Item = Permission>,
    scope: &Scope,
) -> Result<Vec<&'static str>, ApiError> {
    let mut missing = Vec::new();
    for permission in permissions {
        if !permission.available_at(scope.level()) {
            continue;
        }
        let resource = Resource::new(permission.resource_type(), scope.clone(), None);
        if !caller.allowed(core, permission, &resource).await? {
            missing.push(permission.as_str());
        }
    }
    Ok(missing)
}

/// [`missing_at`] at `scope` and, when `children`, in every organization
/// and project inside it: a binding whose resource group includes child
/// scopes grants there too.
pub(crate) async fn missing_within(
    core: &Core,
    caller: &Caller,
    permissions: &BTreeSet<Permission>,
    scope: &Scope,
    children: bool,
) -> Result<Vec<&'static str>, ApiError> {
    let scopes = if children {
        scopes_within(&core.store, scope).await?
    } else {
        vec![scope.clone()]
    };
    let mut missing = Vec::new();
    for at in &scopes {
        add_missing(
            &mut missing,
            missing_at(core, caller, permissions.iter().copied(), at).await?,
        );
    }
    Ok(missing)
}

/// Adds the names in `more` that `missing` does not list yet, in order.
pub(crate) fn add_missing(missing: &mut Vec<&'static str>, more: Vec<&'static str>) {
    for name in more {
        if !missing.contains(&name) {
            missing.push(name);
        }
    }
}

/// Whether the resource group `group` of a binding at `scope` includes child scopes.
pub(crate) async fn includes_child_scopes(
    core: &Core,
    scope: &Scope,
    group: &str,
) -> Result<bool, ApiError> {
    if group.starts_with('_') {
        return Ok(group == "_all_resources_including_child_scopes");
    }
    match core
        .store
        .object(&key_of(scope), ObjectKind::ResourceGroup, group)
        .await?
    {
        Some(object) => Ok(decode::<ResourceGroupSpec>(&object)?.include_child_scopes),
        None => Ok(false),
    }
}

// Permissions.

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct PermissionView {
    pub name: String,
    pub resource_type: String,
    /// `account`, `organization`, `project`: where a binding can grant it.
    pub levels: Vec<String>,
    pub description: String,
}

/// The permission registry (Harness's names).
#[utoipa::path(get, path = "/api/permissions", tag = "rbac",
    responses((status = 200, description = "Every permission", body = [PermissionView])))]
async fn list_permissions(_caller: Caller) -> Json<Vec<PermissionView>> {
    Json(
        PERMISSIONS
            .iter()
            .map(|p| PermissionView {
                name: p.name.into(),
                resource_type: crate::audit_log::name_of(&p.resource_type),
                levels: p.levels.iter().map(crate::audit_log::name_of).collect(),
                description: p.description.into(),
            })
            .collect(),
    )
}

// Roles.

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct RoleView {
    pub identifier: String,
    pub name: String,
    pub description: String,
    pub permissions: Vec<String>,
    pub built_in: bool,
    /// Where a custom role is defined (usable there and below); absent for built-ins.
    pub scope: Option<ScopeView>,
}

fn builtin_view(role: BuiltinRole) -> RoleView {
    RoleView {
        identifier: role.identifier().into(),
        name: role.name().into(),
        description: format!("Built-in role {}.", role.name()),
        permissions: role
            .permissions()
            .iter()
            .map(|p| p.as_str().to_owned())
            .collect(),
        built_in: true,
        scope: None,
    }
}

fn custom_view(scope: &Scope, object: &AccessObject) -> Result<RoleView, ApiError> {
    let spec: RoleSpec = decode(object)?;
    Ok(RoleView {
        identifier: object.identifier.clone(),
        name: spec.name,
        description: spec.description,
        permissions: spec.permissions,
        built_in: false,
        scope: Some(ScopeView::from(scope)),
    })
}

fn role_resource(scope: &Scope, id: Option<&str>) -> Resource {
    Resource::new(ResourceType::Role, scope.clone(), id.map(str::to_owned))
}

/// The custom role `id` usable at `scope` (defined there or above).
async fn find_custom_role(
    core: &Core,
    scope: &Scope,
    id: &str,
) -> Result<Option<(Scope, AccessObject)>, ApiError> {
    let mut at = Some(scope.clone());
    while let Some(s) = at {
        if let Some(object) = core.store.object(&key_of(&s), ObjectKind::Role, id).await? {
            return Ok(Some((s, object)));
        }
        at = s.parent();
    }
    Ok(None)
}

/// The roles usable at a scope: built-ins and custom roles defined there or above.
#[utoipa::path(get, path = "/api/roles", tag = "rbac", params(ScopeQuery),
    responses((status = 200, description = "Roles", body = [RoleView])))]
async fn list_roles(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ScopeQuery>,
) -> Result<Json<Vec<RoleView>>, ApiError> {
    let core = &state.core;
    let scope = query.scope(&caller.account)?;
    caller
        .authorize(core, Permission::RoleView, &role_resource(&scope, None))
        .await?;
    let mut roles: Vec<RoleView> = BuiltinRole::ALL.iter().copied().map(builtin_view).collect();
    let mut at = Some(scope);
    while let Some(s) = at {
        for object in core.store.objects(&key_of(&s), ObjectKind::Role).await? {
            roles.push(custom_view(&s, &object)?);
        }
        at = s.parent();
    }
    Ok(Json(roles))
}

/// A [`RoleSpec`] with its identifier. The fields are spelt out rather
/// than flattened: serde cannot refuse unknown fields through `flatten`, and
/// the document would describe an object no body can satisfy.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewRole {
    pub identifier: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Permission names from `GET /api/permissions`, e.g. `core_pipeline_view`.
    pub permissions: Vec<String>,
}

impl NewRole {
    fn into_parts(self) -> (String, RoleSpec) {
        let spec = RoleSpec {
            name: self.name,
            description: self.description,
            permissions: self.permissions,
        };
        (self.identifier, spec)
    }
}

#[utoipa::path(post, path = "/api/roles", tag = "rbac", params(ScopeQuery), request_body = NewRole,
    responses((status = 201, description = "Created", body = RoleView)))]
async fn create_role(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ScopeQuery>,
    Body(new): Body<NewRole>,
) -> Result<(StatusCode, Json<RoleView>), ApiError> {
    let (identifier, spec) = new.into_parts();
    let core = &state.core;
    let scope = query.scope(&caller.account)?;
    caller
        .authorize(core, Permission::RoleEdit, &role_resource(&scope, None))
        .await?;
    check_new_identifier("role", &identifier)?;
    spec.validate(&scope)?;
    ensure_exists(&core.store, &scope).await?;
    let now = now_ms();
    let object = AccessObject {
        scope: key_of(&scope),
        kind: ObjectKind::Role,
        identifier,
        body: encode(&spec)?,
        version: 0,
        created_at_ms: now,
        updated_at_ms: now,
    };
    core.store
        .put_object(&object, Precondition::Absent)
        .await
        .map_err(conflict_as(format!(
            "a role `{}` already exists at {scope}",
            object.identifier
        )))?;
    core.access.note_change().await?;
    audit(
        core,
        &caller,
        AuditAction::RoleCreated,
        "ROLE",
        &scope,
        &object.identifier,
        serde_json::json!({"permissions": spec.permissions}),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(custom_view(&scope, &object)?)))
}

#[utoipa::path(get, path = "/api/roles/{role}", tag = "rbac",
    params(ScopeQuery, ("role" = String, Path, description = "The role's identifier")),
    responses((status = 200, description = "The role", body = RoleView)))]
async fn get_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<ScopeQuery>,
) -> Result<Json<RoleView>, ApiError> {
    let core = &state.core;
    check_identifier("role", &id)?;
    let scope = query.scope(&caller.account)?;
    caller
        .authorize(
            core,
            Permission::RoleView,
            &role_resource(&scope, Some(&id)),
        )
        .await?;
    if let Some(builtin) = BuiltinRole::from_identifier(&id) {
        return Ok(Json(builtin_view(builtin)));
    }
    let (at, object) = find_custom_role(core, &scope, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no role `{id}` at {scope} or above")))?;
    Ok(Json(custom_view(&at, &object)?))
}

/// The custom role defined at exactly `scope`, for changing it.
async fn own_role(
    core: &Core,
    caller: &Caller,
    scope: &Scope,
    id: &str,
    permission: Permission,
) -> Result<AccessObject, ApiError> {
    check_identifier("role", id)?;
    caller
        .authorize(core, permission, &role_resource(scope, Some(id)))
        .await?;
    if BuiltinRole::from_identifier(id).is_some() {
        return Err(ApiError::Conflict(format!(
            "`{id}` is a built-in role and cannot be changed"
        )));
    }
    core.store
        .object(&key_of(scope), ObjectKind::Role, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no custom role `{id}` at {scope}")))
}

/// Replaces a custom role's name, description and permissions. Adding a
/// permission needs the caller to hold it here.
#[utoipa::path(put, path = "/api/roles/{role}", tag = "rbac", request_body = RoleSpec,
    params(ScopeQuery, ("role" = String, Path, description = "The role's identifier")),
    responses((status = 200, description = "Updated", body = RoleView)))]
async fn update_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<ScopeQuery>,
    Body(spec): Body<RoleSpec>,
) -> Result<Json<RoleView>, ApiError> {
    let core = &state.core;
    let scope = query.scope(&caller.account)?;
    let mut object = own_role(core, &caller, &scope, &id, Permission::RoleEdit).await?;
    let before: RoleSpec = decode(&object)?;
    let added: BTreeSet<Permission> = spec
        .parse_permissions(&scope)?
        .difference(&before.parse_permissions(&scope).unwrap_or_default())
        .copied()
        .collect();
    spec.validate(&scope)?;
    // Bindings at this scope or inside it may use the role, and gain what
    // it gains wherever they reach: the editor must hold it in all of them.
    let missing = missing_within(core, &caller, &added, &scope, true).await?;
    if !missing.is_empty() {
        return Err(ApiError::Forbidden(format!(
            "you cannot add permissions you do not hold at {scope} and everywhere inside it (where bindings may use this role): {}",
            missing.join(", ")
        )));
    }
    object.body = encode(&spec)?;
    object.updated_at_ms = now_ms();
    object.version = core
        .store
        .put_object(&object, Precondition::Version(object.version))
        .await?;
    core.access.note_change().await?;
    audit(
        core,
        &caller,
        AuditAction::RoleUpdated,
        "ROLE",
        &scope,
        &id,
        serde_json::json!({"permissions": spec.permissions}),
    )
    .await?;
    Ok(Json(custom_view(&scope, &object)?))
}

/// The bindings in the caller's account at `scope` or below that `uses`.
async fn bindings_using(
    core: &Core,
    scope: &Scope,
    uses: impl Fn(&RoleBindingSpec, &Scope) -> bool,
) -> Result<Vec<String>, ApiError> {
    let mut found = Vec::new();
    for object in core.store.all_objects(ObjectKind::RoleBinding).await? {
        let Some(at) = scope_of(&object.scope) else {
            continue;
        };
        if !scope.contains(&at) {
            continue;
        }
        if let Ok(spec) = decode::<RoleBindingSpec>(&object)
            && uses(&spec, &at)
        {
            found.push(format!("{} ({at})", object.identifier));
        }
    }
    Ok(found)
}

/// Deletes a custom role no binding uses.
#[utoipa::path(delete, path = "/api/roles/{role}", tag = "rbac",
    params(ScopeQuery, ("role" = String, Path, description = "The role's identifier")),
    responses((status = 204, description = "Deleted")))]
async fn delete_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<ScopeQuery>,
) -> Result<StatusCode, ApiError> {
    let core = &state.core;
    let scope = query.scope(&caller.account)?;
    own_role(core, &caller, &scope, &id, Permission::RoleDelete).await?;
    let users = bindings_using(core, &scope, |spec, _| spec.role == id).await?;
    if !users.is_empty() {
        return Err(ApiError::Conflict(format!(
            "role `{id}` is still used by role bindings {}; delete them first",
            users.join(", ")
        )));
    }
    core.store
        .delete_object(&key_of(&scope), ObjectKind::Role, &id)
        .await?;
    core.access.note_change().await?;
    audit(
        core,
        &caller,
        AuditAction::RoleDeleted,
        "ROLE",
        &scope,
        &id,
        serde_json::Value::Null,
    )
    .await?;
    Ok(no_content())
}

// Resource groups.

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct ResourceGroupView {
    pub identifier: String,
    pub name: String,
    pub description: String,
    pub include_child_scopes: bool,
    pub selectors: Vec<SelectorSpec>,
    pub built_in: bool,
    pub scope: ScopeView,
}

/// The built-in resource groups that resolve at `scope`.
fn builtin_groups(scope: &Scope) -> Vec<ResourceGroupView> {
    BUILTIN_RESOURCE_GROUPS
        .iter()
        .filter(|id| match **id {
            "_all_resources_including_child_scopes" => true,
            "_all_account_level_resources" => scope.level() == ScopeLevel::Account,
            "_all_organization_level_resources" => scope.level() == ScopeLevel::Organization,
            "_all_project_level_resources" => scope.level() == ScopeLevel::Project,
            _ => false,
        })
        .map(|id| ResourceGroupView {
            identifier: (*id).into(),
            name: id.trim_start_matches('_').replace('_', " "),
            description: "Built-in resource group.".into(),
            include_child_scopes: *id == "_all_resources_including_child_scopes",
            selectors: vec![SelectorSpec::All],
            built_in: true,
            scope: ScopeView::from(scope),
        })
        .collect()
}

fn group_view(scope: &Scope, object: &AccessObject) -> Result<ResourceGroupView, ApiError> {
    let spec: ResourceGroupSpec = decode(object)?;
    Ok(ResourceGroupView {
        identifier: object.identifier.clone(),
        name: spec.name,
        description: spec.description,
        include_child_scopes: spec.include_child_scopes,
        selectors: spec.selectors,
        built_in: false,
        scope: ScopeView::from(scope),
    })
}

fn group_resource(scope: &Scope, id: Option<&str>) -> Resource {
    Resource::new(
        ResourceType::ResourceGroup,
        scope.clone(),
        id.map(str::to_owned),
    )
}

#[utoipa::path(get, path = "/api/resource-groups", tag = "rbac", params(ScopeQuery),
    responses((status = 200, description = "Resource groups at the scope", body = [ResourceGroupView])))]
async fn list_resource_groups(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ScopeQuery>,
) -> Result<Json<Vec<ResourceGroupView>>, ApiError> {
    let core = &state.core;
    let scope = query.scope(&caller.account)?;
    caller
        .authorize(
            core,
            Permission::ResourceGroupView,
            &group_resource(&scope, None),
        )
        .await?;
    let mut groups = builtin_groups(&scope);
    for object in core
        .store
        .objects(&key_of(&scope), ObjectKind::ResourceGroup)
        .await?
    {
        groups.push(group_view(&scope, &object)?);
    }
    Ok(Json(groups))
}

/// A [`ResourceGroupSpec`] with its identifier (spelt out, as [`NewRole`]).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewResourceGroup {
    pub identifier: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub include_child_scopes: bool,
    pub selectors: Vec<SelectorSpec>,
}

impl NewResourceGroup {
    fn into_parts(self) -> (String, ResourceGroupSpec) {
        let spec = ResourceGroupSpec {
            name: self.name,
            description: self.description,
            include_child_scopes: self.include_child_scopes,
            selectors: self.selectors,
        };
        (self.identifier, spec)
    }
}

#[utoipa::path(post, path = "/api/resource-groups", tag = "rbac", params(ScopeQuery), request_body = NewResourceGroup,
    responses((status = 201, description = "Created", body = ResourceGroupView)))]
async fn create_resource_group(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ScopeQuery>,
    Body(new): Body<NewResourceGroup>,
) -> Result<(StatusCode, Json<ResourceGroupView>), ApiError> {
    let (identifier, spec) = new.into_parts();
    let core = &state.core;
    let scope = query.scope(&caller.account)?;
    caller
        .authorize(
            core,
            Permission::ResourceGroupEdit,
            &group_resource(&scope, None),
        )
        .await?;
    check_new_identifier("resource group", &identifier)?;
    spec.validate()?;
    ensure_exists(&core.store, &scope).await?;
    let now = now_ms();
    let object = AccessObject {
        scope: key_of(&scope),
        kind: ObjectKind::ResourceGroup,
        identifier,
        body: encode(&spec)?,
        version: 0,
        created_at_ms: now,
        updated_at_ms: now,
    };
    core.store
        .put_object(&object, Precondition::Absent)
        .await
        .map_err(conflict_as(format!(
            "a resource group `{}` already exists at {scope}",
            object.identifier
        )))?;
    core.access.note_change().await?;
    audit(
        core,
        &caller,
        AuditAction::ResourceGroupCreated,
        "RESOURCE_GROUP",
        &scope,
        &object.identifier,
        serde_json::Value::Null,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(group_view(&scope, &object)?)))
}

#[utoipa::path(get, path = "/api/resource-groups/{group}", tag = "rbac",
    params(ScopeQuery, ("group" = String, Path, description = "The resource group's identifier")),
    responses((status = 200, description = "The resource group", body = ResourceGroupView)))]
async fn get_resource_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<ScopeQuery>,
) -> Result<Json<ResourceGroupView>, ApiError> {
    let core = &state.core;
    check_identifier("resource group", &id)?;
    let scope = query.scope(&caller.account)?;
    caller
        .authorize(
            core,
            Permission::ResourceGroupView,
            &group_resource(&scope, Some(&id)),
        )
        .await?;
    if let Some(builtin) = builtin_groups(&scope)
        .into_iter()
        .find(|g| g.identifier == id)
    {
        return Ok(Json(builtin));
    }
    let object = core
        .store
        .object(&key_of(&scope), ObjectKind::ResourceGroup, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no resource group `{id}` at {scope}")))?;
    Ok(Json(group_view(&scope, &object)?))
}

async fn own_group(
    core: &Core,
    caller: &Caller,
    scope: &Scope,
    id: &str,
    permission: Permission,
) -> Result<AccessObject, ApiError> {
    check_identifier("resource group", id)?;
    caller
        .authorize(core, permission, &group_resource(scope, Some(id)))
        .await?;
    if id.starts_with('_') {
        return Err(ApiError::Conflict(format!(
            "`{id}` is a built-in resource group and cannot be changed"
        )));
    }
    core.store
        .object(&key_of(scope), ObjectKind::ResourceGroup, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no resource group `{id}` at {scope}")))
}

/// Replaces a custom resource group. Widening a group widens the bindings
/// that use it, so it needs the caller to hold, at this scope (and below
/// it, if the group includes child scopes), every permission those
/// bindings grant.
#[utoipa::path(put, path = "/api/resource-groups/{group}", tag = "rbac", request_body = ResourceGroupSpec,
    params(ScopeQuery, ("group" = String, Path, description = "The resource group's identifier")),
    responses((status = 200, description = "Updated", body = ResourceGroupView)))]
async fn update_resource_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<ScopeQuery>,
    Body(spec): Body<ResourceGroupSpec>,
) -> Result<Json<ResourceGroupView>, ApiError> {
    let core = &state.core;
    let scope = query.scope(&caller.account)?;
    let mut object = own_group(core, &caller, &scope, &id, Permission::ResourceGroupEdit).await?;
    spec.validate()?;
    let snapshot = core.access.snapshot().await?;
    let mut granted = BTreeSet::new();
    for binding in snapshot.authorizer.policy().bindings() {
        if binding.scope == scope && binding.resource_group == id {
            granted.extend(role_permissions(
                &snapshot.authorizer,
                &binding.role,
                &scope,
            ));
        }
    }
    let missing =
        missing_within(core, &caller, &granted, &scope, spec.include_child_scopes).await?;
    if !missing.is_empty() {
        return Err(ApiError::Forbidden(format!(
            "bindings using this group grant permissions you do not hold at {scope} or where the group reaches: {}",
            missing.join(", ")
        )));
    }
    object.body = encode(&spec)?;
    object.updated_at_ms = now_ms();
    object.version = core
        .store
        .put_object(&object, Precondition::Version(object.version))
        .await?;
    core.access.note_change().await?;
    audit(
        core,
        &caller,
        AuditAction::ResourceGroupUpdated,
        "RESOURCE_GROUP",
        &scope,
        &id,
        serde_json::Value::Null,
    )
    .await?;
    Ok(Json(group_view(&scope, &object)?))
}

#[utoipa::path(delete, path = "/api/resource-groups/{group}", tag = "rbac",
    params(ScopeQuery, ("group" = String, Path, description = "The resource group's identifier")),
    responses((status = 204, description = "Deleted")))]
async fn delete_resource_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<ScopeQuery>,
) -> Result<StatusCode, ApiError> {
    let core = &state.core;
    let scope = query.scope(&caller.account)?;
    own_group(core, &caller, &scope, &id, Permission::ResourceGroupDelete).await?;
    let users = bindings_using(core, &scope, |spec, at| {
        spec.resource_group == id && *at == scope
    })
    .await?;
    if !users.is_empty() {
        return Err(ApiError::Conflict(format!(
            "resource group `{id}` is still used by role bindings {}; delete them first",
            users.join(", ")
        )));
    }
    core.store
        .delete_object(&key_of(&scope), ObjectKind::ResourceGroup, &id)
        .await?;
    core.access.note_change().await?;
    audit(
        core,
        &caller,
        AuditAction::ResourceGroupDeleted,
        "RESOURCE_GROUP",
        &scope,
        &id,
        serde_json::Value::Null,
    )
    .await?;
    Ok(no_content())
}

// Role bindings.

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct RoleBindingView {
    pub identifier: String,
    pub scope: ScopeView,
    pub principal: PrincipalSpec,
    pub role: String,
    pub resource_group: String,
    pub created_at_ms: i64,
}

fn binding_view(scope: &Scope, object: &AccessObject) -> Result<RoleBindingView, ApiError> {
    let spec: RoleBindingSpec = decode(object)?;
    Ok(RoleBindingView {
        identifier: object.identifier.clone(),
        scope: ScopeView::from(scope),
        principal: spec.principal,
        role: spec.role,
        resource_group: spec.resource_group,
        created_at_ms: object.created_at_ms,
    })
}

/// The permissions that view and manage bindings of this principal's kind.
/// The view permissions of [`binding_permissions`], over every kind of principal.
const BINDING_VIEW_PERMISSIONS: [Permission; 3] = [
    Permission::UserView,
    Permission::UserGroupView,
    Permission::ServiceAccountView,
];

fn binding_permissions(principal: &PrincipalSpec) -> (Permission, Permission) {
    match principal {
        PrincipalSpec::User { .. } => (Permission::UserView, Permission::UserManage),
        PrincipalSpec::UserGroup { .. } => (Permission::UserGroupView, Permission::UserGroupManage),
        PrincipalSpec::ServiceAccount { .. } => (
            Permission::ServiceAccountView,
            Permission::ServiceAccountEdit,
        ),
    }
}

fn at_scope(permission: Permission, scope: &Scope) -> Resource {
    Resource::new(permission.resource_type(), scope.clone(), None)
}

/// The permissions a role grants through a binding at `scope`.
pub(crate) fn role_permissions(
    authorizer: &rampart_auth::rbac::Authorizer,
    role: &str,
    scope: &Scope,
) -> BTreeSet<Permission> {
    if let Some(builtin) = BuiltinRole::from_identifier(role) {
        return builtin.permissions();
    }
    let mut at = Some(scope.clone());
    while let Some(s) = at {
        if let Some(found) = authorizer
            .policy()
            .roles()
            .find(|r| r.identifier == role && r.scope == s)
        {
            return found.permissions.clone();
        }
        at = s.parent();
    }
    BTreeSet::new()
}

#[utoipa::path(get, path = "/api/role-bindings", tag = "rbac", params(ScopeQuery),
    responses((status = 200, description = "Role bindings at the scope the caller may see", body = [RoleBindingView])))]
async fn list_bindings(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ScopeQuery>,
) -> Result<Json<Vec<RoleBindingView>>, ApiError> {
    let core = &state.core;
    let scope = query.scope(&caller.account)?;
    let mut shown = Vec::new();
    for object in core
        .store
        .objects(&key_of(&scope), ObjectKind::RoleBinding)
        .await?
    {
        let view = binding_view(&scope, &object)?;
        let (permission, _) = binding_permissions(&view.principal);
        if caller
            .allowed(core, permission, &at_scope(permission, &scope))
            .await?
        {
            shown.push(view);
        }
    }
    if shown.is_empty() {
        caller
            .authorize(
                core,
                Permission::UserView,
                &at_scope(Permission::UserView, &scope),
            )
            .await?;
    }
    Ok(Json(shown))
}

/// A [`RoleBindingSpec`] with its identifier (spelt out, as [`NewRole`]).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewRoleBinding {
    /// Default: a generated one.
    pub identifier: Option<String>,
    pub principal: PrincipalSpec,
    /// A built-in role (`_project_admin`, ...) or a custom role at this scope or above.
    pub role: String,
    /// A built-in resource group (`_all_project_level_resources`, ...) or a custom one at this scope.
    pub resource_group: String,
}

impl NewRoleBinding {
    fn into_parts(self) -> (Option<String>, RoleBindingSpec) {
        let spec = RoleBindingSpec {
            principal: self.principal,
            role: self.role,
            resource_group: self.resource_group,
        };
        (self.identifier, spec)
    }
}

/// Checks that the principal a binding names exists in the caller's account
/// and may be bound at `scope` (a service account or group only at its own
/// scope or below it).
async fn check_principal(
    core: &Core,
    caller: &Caller,
    principal: &PrincipalSpec,
    scope: &Scope,
) -> Result<(), ApiError> {
    match principal.to_rbac(&caller.account)? {
        PrincipalRef::User { id } => {
            let user = core.store.user(&id).await?;
            if user.is_none_or(|u| u.account != caller.account) {
                return Err(ApiError::BadRequest(format!(
                    "no user `{}` in this account",
                    crate::scope::shorten(&id)
                )));
            }
        }
        PrincipalRef::ServiceAccount { id } => {
            let account = core.store.service_account(&id).await?;
            let home = account.as_ref().and_then(|a| scope_of(&a.scope));
            match home {
                Some(home) if home.account_id() == caller.account && home.contains(scope) => {}
                Some(home) if home.account_id() == caller.account => {
                    return Err(ApiError::BadRequest(format!(
                        "service account `{id}` lives at {home} and can be bound only there or below"
                    )));
                }
                _ => {
                    return Err(ApiError::BadRequest(format!(
                        "no service account `{}` in this account",
                        crate::scope::shorten(&id)
                    )));
                }
            }
        }
        PrincipalRef::UserGroup { group } => {
            let exists = core
                .store
                .object(&key_of(&group.scope), ObjectKind::UserGroup, &group.id)
                .await?
                .is_some();
            if !exists {
                return Err(ApiError::BadRequest(format!(
                    "no user group `{}` at {}",
                    group.id, group.scope
                )));
            }
            if !group.scope.contains(scope) {
                return Err(ApiError::BadRequest(format!(
                    "user group `{}` lives at {} and can be bound only there or below",
                    group.id, group.scope
                )));
            }
        }
    }
    Ok(())
}

/// Binds a role over a resource group to a principal at a scope. The caller
/// must be able to manage principals of that kind here and must hold every
/// permission the role grants here.
#[utoipa::path(post, path = "/api/role-bindings", tag = "rbac", params(ScopeQuery), request_body = NewRoleBinding,
    responses((status = 201, description = "Created", body = RoleBindingView)))]
async fn create_binding(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ScopeQuery>,
    Body(new): Body<NewRoleBinding>,
) -> Result<(StatusCode, Json<RoleBindingView>), ApiError> {
    let (identifier, spec) = new.into_parts();
    let core = &state.core;
    let scope = query.scope(&caller.account)?;
    let (_, manage) = binding_permissions(&spec.principal);
    caller
        .authorize(core, manage, &at_scope(manage, &scope))
        .await?;
    let identifier = match identifier {
        Some(id) => {
            check_new_identifier("role binding", &id)?;
            id
        }
        None => new_id("rb_")?,
    };
    ensure_exists(&core.store, &scope).await?;
    check_principal(core, &caller, &spec.principal, &scope).await?;
    let snapshot = core.access.snapshot().await?;
    let mut trial = snapshot.authorizer.policy().clone();
    trial
        .add_binding(spec.to_rbac(&identifier, &scope)?)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let granted = role_permissions(&snapshot.authorizer, &spec.role, &scope);
    let children = includes_child_scopes(core, &scope, &spec.resource_group).await?;
    let missing = missing_within(core, &caller, &granted, &scope, children).await?;
    if !missing.is_empty() {
        return Err(ApiError::Forbidden(format!(
            "you cannot grant `{}` at {scope}: it includes permissions you do not hold here or where its resource group reaches: {}",
            spec.role,
            missing.join(", ")
        )));
    }
    let now = now_ms();
    let object = AccessObject {
        scope: key_of(&scope),
        kind: ObjectKind::RoleBinding,
        identifier,
        body: encode(&spec)?,
        version: 0,
        created_at_ms: now,
        updated_at_ms: now,
    };
    core.store
        .put_object(&object, Precondition::Absent)
        .await
        .map_err(conflict_as(format!(
            "a role binding `{}` already exists at {scope}",
            object.identifier
        )))?;
    core.access.note_change().await?;
    audit(
        core,
        &caller,
        AuditAction::RoleBindingCreated,
        "ROLE_BINDING",
        &scope,
        &object.identifier,
        serde_json::json!({"principal": spec.principal, "role": spec.role, "resource_group": spec.resource_group}),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(binding_view(&scope, &object)?)))
}

async fn binding_object(core: &Core, scope: &Scope, id: &str) -> Result<AccessObject, ApiError> {
    check_identifier("role binding", id)?;
    core.store
        .object(&key_of(scope), ObjectKind::RoleBinding, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no role binding `{id}` at {scope}")))
}

#[utoipa::path(get, path = "/api/role-bindings/{binding}", tag = "rbac",
    params(ScopeQuery, ("binding" = String, Path, description = "The role binding's identifier")),
    responses((status = 200, description = "The role binding", body = RoleBindingView)))]
async fn get_binding(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<ScopeQuery>,
) -> Result<Json<RoleBindingView>, ApiError> {
    let core = &state.core;
    let scope = query.scope(&caller.account)?;
    let object = match binding_object(core, &scope, &id).await {
        Ok(object) => object,
        Err(missing @ ApiError::NotFound(_)) => {
            // Only those who may see some bindings here learn which exist.
            let mut sees_some = false;
            for permission in BINDING_VIEW_PERMISSIONS {
                sees_some |= caller
                    .allowed(core, permission, &at_scope(permission, &scope))
                    .await?;
            }
            if !sees_some {
                let permission = Permission::UserView;
                caller
                    .authorize(core, permission, &at_scope(permission, &scope))
                    .await?;
            }
            return Err(missing);
        }
        Err(other) => return Err(other),
    };
    let view = binding_view(&scope, &object)?;
    let (permission, _) = binding_permissions(&view.principal);
    caller
        .authorize(core, permission, &at_scope(permission, &scope))
        .await?;
    Ok(Json(view))
}

/// Whether deleting the binding `id` at `scope` would leave its account
/// without an Account Admin over everything.
fn last_account_admin(policy: &rampart_auth::rbac::Policy, scope: &Scope, id: &str) -> bool {
    let is_admin = |b: &rampart_auth::rbac::RoleBinding| {
        b.scope.level() == ScopeLevel::Account
            && b.role == BuiltinRole::AccountAdmin.identifier()
            && b.resource_group == "_all_resources_including_child_scopes"
            && !matches!(b.principal, PrincipalRef::ServiceAccount { .. })
    };
    let account_admins: Vec<_> = policy
        .bindings()
        .iter()
        .filter(|b| b.scope.account_id() == scope.account_id() && is_admin(b))
        .collect();
    account_admins.len() == 1
        && account_admins[0].scope == *scope
        && account_admins[0].identifier == id
}

#[utoipa::path(delete, path = "/api/role-bindings/{binding}", tag = "rbac",
    params(ScopeQuery, ("binding" = String, Path, description = "The role binding's identifier")),
    responses((status = 204, description = "Deleted")))]
async fn delete_binding(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<ScopeQuery>,
) -> Result<StatusCode, ApiError> {
    let core = &state.core;
    let scope = query.scope(&caller.account)?;
    let object = binding_object(core, &scope, &id).await?;
    let spec: RoleBindingSpec = decode(&object)?;
    let (_, manage) = binding_permissions(&spec.principal);
    caller
        .authorize(core, manage, &at_scope(manage, &scope))
        .await?;
    let snapshot = core.access.snapshot().await?;
    if last_account_admin(snapshot.authorizer.policy(), &scope, &id) {
        return Err(ApiError::Conflict(
            "this is the account's last Account Admin binding; bind another administrator first"
                .into(),
        ));
    }
    core.store
        .delete_object(&key_of(&scope), ObjectKind::RoleBinding, &id)
        .await?;
    core.access.note_change().await?;
    audit(
        core,
        &caller,
        AuditAction::RoleBindingDeleted,
        "ROLE_BINDING",
        &scope,
        &id,
        serde_json::json!({"principal": spec.principal, "role": spec.role}),
    )
    .await?;
    Ok(no_content())
}
