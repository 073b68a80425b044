//! Secrets at account, org and project scope (`?org=&project=`), in the
//! account's encrypted store. Values go in and never come out: every
//! response carries metadata only. Permissions `core_secret_view`,
//! `_edit`, `_delete`; a run's use is checked with `core_secret_access`
//! when it resolves one (`crate::runner`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rampart_auth::audit::AuditAction;
use rampart_auth::rbac::{Permission, Resource, ResourceType, Scope};
use rampart_secrets::{
    Error as SecretError, Identifier, SecretInfo, SecretKind, SecretRef, SecretValue,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use zeroize::Zeroizing;

use super::{Body, Path, Query, no_content};
use crate::audit_log::Entry;
use crate::authn::Caller;
use crate::backend::Core;
use crate::error::ApiError;
use crate::http::AppState;
use crate::scope::{ScopeQuery, check_identifier, ensure_exists};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_secrets))
        .routes(routes!(get_secret, put_secret, delete_secret))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct SecretView {
    pub identifier: String,
    /// `text` or `file`.
    pub kind: String,
    /// The latest version (1 when created).
    pub version: u32,
    /// How many versions are kept.
    pub versions: u32,
    pub org: Option<String>,
    pub project: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

fn view(info: &SecretInfo) -> SecretView {
    SecretView {
        identifier: info.reference.id.as_str().to_owned(),
        kind: kind_name(info.kind).into(),
        version: info.version,
        versions: info.versions,
        org: info.reference.scope.org().map(|o| o.as_str().to_owned()),
        project: info
            .reference
            .scope
            .project()
            .map(|p| p.as_str().to_owned()),
        created_at_ms: info.created_at_ms,
        updated_at_ms: info.updated_at_ms,
    }
}

fn kind_name(kind: SecretKind) -> &'static str {
    match kind {
        SecretKind::Text => "text",
        SecretKind::File => "file",
    }
}

/// How the value in a request is written.
#[derive(Debug, Default, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Encoding {
    /// The value as text.
    #[default]
    Utf8,
    /// Base64 of the bytes (for file secrets that are not text).
    Base64,
}

#[derive(Debug, Default, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Kind {
    /// Replaces its `<+secrets.getValue>` expression.
    #[default]
    Text,
    /// Written to a 0600 file in the step's private directory; the expression gives its path.
    File,
}

/// A new value. Its `Debug` never shows the value.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SecretPut {
    /// The value: stored encrypted, never returned.
    pub value: String,
    #[serde(default)]
    pub kind: Kind,
    #[serde(default)]
    pub encoding: Encoding,
}

impl std::fmt::Debug for SecretPut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SecretPut({:?}, {:?}, [redacted])",
            self.kind, self.encoding
        )
    }
}

fn resource(scope: &Scope, identifier: Option<&str>) -> Resource {
    Resource::new(
        ResourceType::Secret,
        scope.clone(),
        identifier.map(str::to_owned),
    )
}

/// The secret store's scope of an RBAC scope (within its account).
fn secret_scope(scope: &Scope) -> Result<rampart_secrets::Scope, ApiError> {
    match scope {
        Scope::Account { .. } => Ok(rampart_secrets::Scope::Account),
        Scope::Org { org, .. } => rampart_secrets::Scope::new(Some(org), None),
        Scope::Project { org, project, .. } => {
            rampart_secrets::Scope::new(Some(org), Some(project))
        }
    }
    .map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// The store's name of a secret at an RBAC scope.
fn reference(scope: &Scope, identifier: &str) -> Result<SecretRef, ApiError> {
    let id = Identifier::new(identifier).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok(SecretRef::new(secret_scope(scope)?, id))
}

fn store_error(error: SecretError) -> ApiError {
    match error {
        SecretError::NotFound { secret, .. } => ApiError::NotFound(format!("no secret {secret}")),
        SecretError::EmptyValue(_) | SecretError::TooLarge { .. } => {
            ApiError::BadRequest(error.to_string())
        }
        SecretError::Store(store) => store.into(),
        other => ApiError::internal("secret store error", other),
    }
}

/// The secret's metadata, if it exists.
async fn info(
    core: &Core,
    account: &str,
    secret: &SecretRef,
) -> Result<Option<SecretInfo>, ApiError> {
    let all = core
        .keys
        .secrets(account)
        .list()
        .await
        .map_err(store_error)?;
    Ok(all.into_iter().find(|info| &info.reference == secret))
}

async fn audit(
    core: &Core,
    caller: &Caller,
    action: AuditAction,
    scope: &Scope,
    identifier: &str,
    version: Option<u32>,
) -> Result<(), ApiError> {
    core.audit
        .record(
            Entry::new(&caller.account, caller.actor(), action, "SECRET")
                .id(identifier)
                .scope(scope)
                .ip(caller.ip)
                .details(serde_json::json!({"version": version})),
        )
        .await
}

#[utoipa::path(get, path = "/api/secrets", tag = "secrets", params(ScopeQuery),
    responses((status = 200, description = "The secrets at this scope (metadata only)", body = [SecretView])))]
async fn list_secrets(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ScopeQuery>,
) -> Result<Json<Vec<SecretView>>, ApiError> {
    let core = &state.core;
    let scope = query.scope(&caller.account)?;
    let all = caller
        .allowed(core, Permission::SecretView, &resource(&scope, None))
        .await?;
    let wanted = secret_scope(&scope)?;
    let mut shown = Vec::new();
    for info in core
        .keys
        .secrets(&caller.account)
        .list()
        .await
        .map_err(store_error)?
    {
        if info.reference.scope != wanted {
            continue;
        }
        let id = info.reference.id.as_str();
        if all
            || caller
                .allowed(core, Permission::SecretView, &resource(&scope, Some(id)))
                .await?
        {
            shown.push(view(&info));
        }
    }
    if shown.is_empty() && !all {
        caller
            .authorize(core, Permission::SecretView, &resource(&scope, None))
            .await?;
    }
    Ok(Json(shown))
}

#[utoipa::path(get, path = "/api/secrets/{secret}", tag = "secrets",
    params(ScopeQuery, ("secret" = String, Path, description = "The secret's identifier")),
    responses((status = 200, description = "The secret's metadata (never its value)", body = SecretView)))]
async fn get_secret(
    State(state): State<AppState>,
    caller: Caller,
    Path(identifier): Path<String>,
    Query(query): Query<ScopeQuery>,
) -> Result<Json<SecretView>, ApiError> {
    let core = &state.core;
    check_identifier("secret", &identifier)?;
    let scope = query.scope(&caller.account)?;
    caller
        .authorize(
            core,
            Permission::SecretView,
            &resource(&scope, Some(&identifier)),
        )
        .await?;
    let secret = reference(&scope, &identifier)?;
    let info = info(core, &caller.account, &secret)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no secret {secret}")))?;
    Ok(Json(view(&info)))
}

#[utoipa::path(put, path = "/api/secrets/{secret}", tag = "secrets", request_body = SecretPut,
    params(ScopeQuery, ("secret" = String, Path, description = "The secret's identifier")),
    responses(
        (status = 200, description = "Stored as a new version", body = SecretView),
        (status = 201, description = "Created", body = SecretView)))]
async fn put_secret(
    State(state): State<AppState>,
    caller: Caller,
    Path(identifier): Path<String>,
    Query(query): Query<ScopeQuery>,
    Body(put): Body<SecretPut>,
) -> Result<(StatusCode, Json<SecretView>), ApiError> {
    let core = &state.core;
    check_identifier("secret", &identifier)?;
    let scope = query.scope(&caller.account)?;
    caller
        .authorize(
            core,
            Permission::SecretEdit,
            &resource(&scope, Some(&identifier)),
        )
        .await?;
    ensure_exists(&core.store, &scope).await?;
    let secret = reference(&scope, &identifier)?;
    let value = match put.encoding {
        Encoding::Utf8 => SecretValue::from(put.value),
        Encoding::Base64 => {
            let encoded = Zeroizing::new(put.value);
            SecretValue::from(
                STANDARD
                    .decode(encoded.trim())
                    .map_err(|_| ApiError::BadRequest("`value` is not valid base64".into()))?,
            )
        }
    };
    let kind = match put.kind {
        Kind::Text => SecretKind::Text,
        Kind::File => SecretKind::File,
    };
    if kind == SecretKind::Text && value.expose_str().is_err() {
        return Err(ApiError::BadRequest(
            "a text secret must be UTF-8; store binary values with \"kind\": \"file\"".into(),
        ));
    }
    let outcome = core
        .keys
        .secrets(&caller.account)
        .set(&secret, kind, &value)
        .await
        .map_err(store_error)?;
    let (action, status) = if outcome.version == 1 {
        (AuditAction::SecretCreated, StatusCode::CREATED)
    } else {
        (AuditAction::SecretUpdated, StatusCode::OK)
    };
    audit(
        core,
        &caller,
        action,
        &scope,
        &identifier,
        Some(outcome.version),
    )
    .await?;
    let info = info(core, &caller.account, &secret)
        .await?
        .ok_or_else(|| ApiError::Conflict(format!("secret {secret} was deleted meanwhile")))?;
    Ok((status, Json(view(&info))))
}

#[utoipa::path(delete, path = "/api/secrets/{secret}", tag = "secrets",
    params(ScopeQuery, ("secret" = String, Path, description = "The secret's identifier")),
    responses((status = 204, description = "Deleted with every version")))]
async fn delete_secret(
    State(state): State<AppState>,
    caller: Caller,
    Path(identifier): Path<String>,
    Query(query): Query<ScopeQuery>,
) -> Result<StatusCode, ApiError> {
    let core = &state.core;
    check_identifier("secret", &identifier)?;
    let scope = query.scope(&caller.account)?;
    caller
        .authorize(
            core,
            Permission::SecretDelete,
            &resource(&scope, Some(&identifier)),
        )
        .await?;
    let secret = reference(&scope, &identifier)?;
    let removed = core
        .keys
        .secrets(&caller.account)
        .remove(&secret)
        .await
        .map_err(store_error)?;
    if removed == 0 {
        return Err(ApiError::NotFound(format!("no secret {secret}")));
    }
    audit(
        core,
        &caller,
        AuditAction::SecretDeleted,
        &scope,
        &identifier,
        None,
    )
    .await?;
    Ok(no_content())
}
