//! API keys and their tokens, as Harness groups them: personal access tokens
//! (a user's, at account scope, under `/api/me/api-keys`) and service
//! account tokens (at the service account's scope, under
//! `/api/service-accounts/{sa}/api-keys`). Create (the value is shown once),
//! list (metadata and last use), rotate (the old value stops at a time the
//! caller picks, default now), revoke (at once).
//!
//! Two rules close escalation paths: personal tokens are minted and rotated
//! only from a login session, so a stolen token cannot breed; and a service
//! account token can be minted only by a caller who holds every permission
//! it would carry, so managing a service account's keys is not a way to
//! become it.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rampart_auth::audit::AuditAction;
use rampart_auth::rbac::{Permission, PrincipalRef, Resource, ResourceType, Scope};
use rampart_auth::token;
use rampart_store::{AccessRepo, ApiKey, ApiToken, IdentityRepo, TokenOwner};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::rbac::{add_missing, includes_child_scopes, missing_within, role_permissions};
use super::{Body, Path, Query, no_content};
use crate::access::{parse_permissions, token_scope};
use crate::audit_log::Entry;
use crate::authn::Caller;
use crate::backend::Core;
use crate::error::ApiError;
use crate::http::AppState;
use crate::scope::{
    ScopeQuery, ScopeView, check_description, check_name, check_new_identifier, key_of, ms_of,
    now_ms, scope_of, time_of,
};

/// The longest a rotated-out token may keep working.
const MAX_GRACE: Duration = Duration::from_secs(30 * 24 * 60 * 60);

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(my_keys, my_new_key))
        .routes(routes!(my_key, my_key_delete))
        .routes(routes!(my_tokens, my_new_token))
        .routes(routes!(my_token_revoke))
        .routes(routes!(my_token_rotate))
        .routes(routes!(sa_keys, sa_new_key))
        .routes(routes!(sa_key, sa_key_delete))
        .routes(routes!(sa_tokens, sa_new_token))
        .routes(routes!(sa_token_revoke))
        .routes(routes!(sa_token_rotate))
}

/// Who owns a key, and where its tokens live.
struct KeyOwner {
    owner: TokenOwner,
    scope: Scope,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Change,
    /// Create a key or a token, or rotate: a new credential appears.
    Mint,
}

async fn mine(caller: &Caller, access: Access) -> Result<KeyOwner, ApiError> {
    let user_id = caller
        .user_id()
        .ok_or_else(|| ApiError::Forbidden("service accounts have no personal API keys".into()))?;
    if access == Access::Mint {
        caller.session()?;
    }
    // A token narrowed to, say, read-only permissions must not be able to
    // delete its owner's other credentials either.
    if access == Access::Change && caller.principal.allowed_permissions.is_some() {
        return Err(ApiError::Forbidden(
            "a narrowed token cannot change its owner's API keys or tokens: use a login session or an unnarrowed token".into(),
        ));
    }
    Ok(KeyOwner {
        owner: TokenOwner::User(user_id.to_owned()),
        scope: Scope::account(caller.account.as_str()),
    })
}

async fn service_account(
    core: &Core,
    caller: &Caller,
    query: &ScopeQuery,
    identifier: &str,
    access: Access,
) -> Result<KeyOwner, ApiError> {
    let scope = query.scope(&caller.account)?;
    let permission = match access {
        Access::Read => Permission::ServiceAccountView,
        Access::Change | Access::Mint => Permission::ServiceAccountManageApiKey,
    };
    let resource = Resource::new(
        ResourceType::ServiceAccount,
        scope.clone(),
        Some(identifier.to_owned()),
    );
    caller.authorize(core, permission, &resource).await?;
    let account = core
        .store
        .service_account_by_identifier(&key_of(&scope), identifier)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no service account `{}` at {scope}",
                crate::scope::shorten(identifier)
            ))
        })?;
    Ok(KeyOwner {
        owner: TokenOwner::ServiceAccount(account.id),
        scope,
    })
}

/// Who owns a key or token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct OwnerView {
    /// `user` or `service_account`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

impl From<&TokenOwner> for OwnerView {
    fn from(owner: &TokenOwner) -> Self {
        let kind = match owner {
            TokenOwner::User(_) => "user",
            TokenOwner::ServiceAccount(_) => "service_account",
        };
        OwnerView {
            kind: kind.into(),
            id: owner.id().to_owned(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct ApiKeyView {
    pub identifier: String,
    pub name: String,
    pub description: String,
    pub owner: OwnerView,
    pub scope: ScopeView,
    pub created_at_ms: i64,
}

impl ApiKeyView {
    fn of(key: &ApiKey) -> Result<Self, ApiError> {
        let scope =
            scope_of(&key.scope).ok_or_else(|| ApiError::internal("an API key", "bad scope"))?;
        Ok(ApiKeyView {
            identifier: key.identifier.clone(),
            name: key.name.clone(),
            description: key.description.clone(),
            owner: OwnerView::from(&key.owner),
            scope: ScopeView::from(&scope),
            created_at_ms: key.created_at_ms,
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewApiKey {
    pub identifier: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// A token's metadata (never its value).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct TokenView {
    /// The token's public id (the part after `rmp_` encodes it).
    pub id: String,
    pub api_key: String,
    pub name: String,
    pub description: String,
    /// A narrowing, if the token carries only some of its owner's permissions.
    pub permissions: Option<Vec<String>>,
    pub owner: OwnerView,
    pub scope: ScopeView,
    /// `active`, `expired`, `revoked` or `rotated`.
    pub status: String,
    pub created_at_ms: i64,
    pub expires_at_ms: Option<i64>,
    pub last_used_at_ms: Option<i64>,
    pub revoked_at_ms: Option<i64>,
    /// After a rotation: when this (old) value stops working.
    pub rotated_grace_end_ms: Option<i64>,
}

impl TokenView {
    fn of(row: &ApiToken) -> Result<Self, ApiError> {
        let validity = token::TokenValidity {
            expires_at: row.expires_at_ms.map(time_of),
            rotated_grace_end: row.rotated_grace_end_ms.map(time_of),
            revoked: row.revoked_at_ms.is_some(),
        };
        let status = match validity.check_at(SystemTime::now()) {
            Ok(()) if row.rotated_grace_end_ms.is_some() => "rotated",
            Ok(()) => "active",
            Err(token::TokenRejected::Revoked) => "revoked",
            Err(token::TokenRejected::Expired) => "expired",
            Err(token::TokenRejected::RotatedOut) => "rotated",
        };
        let permissions = match &row.permissions {
            None => None,
            Some(json) => Some(
                parse_permissions(json)?
                    .iter()
                    .map(|p| p.as_str().to_owned())
                    .collect(),
            ),
        };
        Ok(TokenView {
            id: row.token_id.clone(),
            api_key: row.api_key.clone(),
            name: row.name.clone(),
            description: row.description.clone(),
            permissions,
            owner: OwnerView::from(&row.owner),
            scope: ScopeView::from(&token_scope(row)),
            status: status.into(),
            created_at_ms: row.created_at_ms,
            expires_at_ms: row.expires_at_ms,
            last_used_at_ms: row.last_used_at_ms,
            revoked_at_ms: row.revoked_at_ms,
            rotated_grace_end_ms: row.rotated_grace_end_ms,
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewToken {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// When the token stops working (unix ms); required when the account
    /// sets a maximum token lifetime.
    pub expires_at_ms: Option<i64>,
    /// Narrow the token to these of its owner's permissions (it can never
    /// have more than its owner has at the moment of use).
    pub permissions: Option<Vec<String>>,
}

/// A new token: its value, shown only here, and its metadata.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct CreatedToken {
    /// The token (`rmp_...`). Store it now: it is never shown again.
    pub token: String,
    pub info: TokenView,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Rotation {
    /// When the old value stops working (unix ms, at most 30 days ahead);
    /// default: now.
    pub old_token_expires_at_ms: Option<i64>,
    /// The new token's expiry; default: the old token's lifetime, from now.
    pub expires_at_ms: Option<i64>,
}

async fn audit(
    core: &Core,
    caller: &Caller,
    owner: &KeyOwner,
    action: AuditAction,
    kind: &'static str,
    id: &str,
    details: serde_json::Value,
) -> Result<(), ApiError> {
    core.audit
        .record(
            Entry::new(&caller.account, caller.actor(), action, kind)
                .id(id)
                .scope(&owner.scope)
                .ip(caller.ip)
                .details(details),
        )
        .await
}

async fn list_keys(core: &Core, owner: &KeyOwner) -> Result<Vec<ApiKeyView>, ApiError> {
    core.store
        .api_keys_of(&owner.owner)
        .await?
        .iter()
        .map(ApiKeyView::of)
        .collect()
}

async fn new_key(
    core: &Core,
    caller: &Caller,
    owner: &KeyOwner,
    new: NewApiKey,
) -> Result<ApiKeyView, ApiError> {
    check_new_identifier("API key", &new.identifier)?;
    check_name("name", &new.name)?;
    check_description(&new.description)?;
    let key = ApiKey {
        owner: owner.owner.clone(),
        identifier: new.identifier,
        scope: key_of(&owner.scope),
        name: new.name,
        description: new.description,
        created_at_ms: now_ms(),
    };
    core.store.create_api_key(&key).await.map_err(|e| match e {
        rampart_store::StoreError::Conflict(_) => ApiError::Conflict(format!(
            "an API key `{}` already exists for this owner",
            key.identifier
        )),
        other => other.into(),
    })?;
    audit(
        core,
        caller,
        owner,
        AuditAction::ApiKeyCreated,
        "API_KEY",
        &key.identifier,
        serde_json::Value::Null,
    )
    .await?;
    ApiKeyView::of(&key)
}

async fn existing_key(core: &Core, owner: &KeyOwner, identifier: &str) -> Result<ApiKey, ApiError> {
    core.store
        .api_key(&owner.owner, identifier)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no API key `{}`",
                crate::scope::shorten(identifier)
            ))
        })
}

async fn delete_key(
    core: &Core,
    caller: &Caller,
    owner: &KeyOwner,
    identifier: &str,
) -> Result<(), ApiError> {
    existing_key(core, owner, identifier).await?;
    core.store.delete_api_key(&owner.owner, identifier).await?;
    core.access.note_change().await?;
    audit(
        core,
        caller,
        owner,
        AuditAction::ApiKeyDeleted,
        "API_KEY",
        identifier,
        serde_json::Value::Null,
    )
    .await
}

async fn list_tokens(core: &Core, owner: &KeyOwner, key: &str) -> Result<Vec<TokenView>, ApiError> {
    existing_key(core, owner, key).await?;
    core.store
        .tokens_of_key(&owner.owner, key)
        .await?
        .iter()
        .map(TokenView::of)
        .collect()
}

/// Refuses a service account token that would carry a permission its
/// minter lacks. Everything the token can do comes from its service
/// account's role bindings (at its scope or below), so the minter must
/// hold what each grants wherever it reaches, as creating it would need.
async fn check_minter(
    core: &Core,
    caller: &Caller,
    owner: &KeyOwner,
    narrowing: Option<&BTreeSet<Permission>>,
) -> Result<(), ApiError> {
    let TokenOwner::ServiceAccount(id) = &owner.owner else {
        return Ok(());
    };
    let snapshot = core.access.snapshot().await?;
    let account = PrincipalRef::ServiceAccount { id: id.clone() };
    let mut missing = Vec::new();
    for binding in snapshot.authorizer.policy().bindings() {
        if binding.principal != account {
            continue;
        }
        let granted: BTreeSet<Permission> =
            role_permissions(&snapshot.authorizer, &binding.role, &binding.scope)
                .into_iter()
                .filter(|p| narrowing.is_none_or(|n| n.contains(p)))
                .collect();
        let children = includes_child_scopes(core, &binding.scope, &binding.resource_group).await?;
        add_missing(
            &mut missing,
            missing_within(core, caller, &granted, &binding.scope, children).await?,
        );
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "this token would carry permissions you do not have where its service account is bound: {}; narrow it with `permissions` or ask an administrator",
            missing.join(", ")
        )))
    }
}

fn narrowing(requested: Option<&Vec<String>>) -> Result<Option<BTreeSet<Permission>>, ApiError> {
    requested
        .map(|names| {
            names
                .iter()
                .map(|n| {
                    n.parse::<Permission>()
                        .map_err(|e| ApiError::BadRequest(e.to_string()))
                })
                .collect()
        })
        .transpose()
}

/// The expiry to store for a new token: in the future and within the
/// account's maximum lifetime.
async fn expiry(
    core: &Core,
    account: &str,
    requested: Option<i64>,
) -> Result<Option<i64>, ApiError> {
    let settings = core.access.snapshot().await?.settings(account);
    let now = SystemTime::now();
    token::check_expiry(now, requested.map(time_of), settings.max_token_lifetime())
        .map(|at| at.map(ms_of))
        .map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// A new token row and its value.
fn mint(
    core: &Core,
    owner: &KeyOwner,
    key: &str,
    name: String,
    description: String,
    permissions: Option<&BTreeSet<Permission>>,
    expires_at_ms: Option<i64>,
) -> Result<(ApiToken, token::PlainToken), ApiError> {
    let generated = token::generate(core.keys.pepper()).map_err(|e| ApiError::internal("", e))?;
    let scope = key_of(&owner.scope);
    let permissions = permissions
        .map(|set| serde_json::to_string(&set.iter().map(|p| p.as_str()).collect::<Vec<_>>()))
        .transpose()
        .map_err(|e| ApiError::internal("", e))?;
    let row = ApiToken {
        token_id: generated.id.to_encoded(),
        account: scope.account,
        org: scope.org,
        project: scope.project,
        owner: owner.owner.clone(),
        api_key: key.to_owned(),
        name,
        description,
        permissions,
        hash: generated.hash.to_encoded().into_bytes(),
        created_at_ms: now_ms(),
        expires_at_ms,
        last_used_at_ms: None,
        revoked_at_ms: None,
        rotated_grace_end_ms: None,
    };
    Ok((row, generated.plain))
}

async fn new_token(
    core: &Core,
    caller: &Caller,
    owner: &KeyOwner,
    key: &str,
    new: NewToken,
) -> Result<CreatedToken, ApiError> {
    existing_key(core, owner, key).await?;
    check_name("name", &new.name)?;
    check_description(&new.description)?;
    let narrowed = narrowing(new.permissions.as_ref())?;
    check_minter(core, caller, owner, narrowed.as_ref()).await?;
    let expires = expiry(core, &caller.account, new.expires_at_ms).await?;
    let (row, plain) = mint(
        core,
        owner,
        key,
        new.name,
        new.description,
        narrowed.as_ref(),
        expires,
    )?;
    core.store.insert_token(&row).await?;
    core.access.note_change().await?;
    audit(
        core,
        caller,
        owner,
        AuditAction::TokenCreated,
        "TOKEN",
        &row.token_id,
        serde_json::json!({"api_key": key, "expires_at_ms": expires, "narrowed": narrowed.is_some()}),
    )
    .await?;
    Ok(CreatedToken {
        token: plain.expose().to_owned(),
        info: TokenView::of(&row)?,
    })
}

async fn existing_token(
    core: &Core,
    owner: &KeyOwner,
    key: &str,
    id: &str,
) -> Result<ApiToken, ApiError> {
    core.store
        .token(id)
        .await?
        .filter(|t| t.owner == owner.owner && t.api_key == key)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no token `{}` in API key `{key}`",
                crate::scope::shorten(id)
            ))
        })
}

async fn revoke_token(
    core: &Core,
    caller: &Caller,
    owner: &KeyOwner,
    key: &str,
    id: &str,
) -> Result<(), ApiError> {
    existing_token(core, owner, key, id).await?;
    core.store.revoke_token(id, now_ms()).await?;
    core.access.note_change().await?;
    audit(
        core,
        caller,
        owner,
        AuditAction::TokenRevoked,
        "TOKEN",
        id,
        serde_json::json!({"api_key": key}),
    )
    .await
}

async fn rotate_token(
    core: &Core,
    caller: &Caller,
    owner: &KeyOwner,
    key: &str,
    id: &str,
    rotation: Rotation,
) -> Result<CreatedToken, ApiError> {
    let old = existing_token(core, owner, key, id).await?;
    if old.revoked_at_ms.is_some() || old.rotated_grace_end_ms.is_some() {
        return Err(ApiError::Conflict(
            "this token was already revoked or rotated".into(),
        ));
    }
    let now = now_ms();
    if old.expires_at_ms.is_some_and(|end| end <= now) {
        return Err(ApiError::Conflict(
            "this token has expired, so it cannot be rotated: create a new token".into(),
        ));
    }
    let grace_end = rotation.old_token_expires_at_ms.unwrap_or(now).max(now);
    let longest = now.saturating_add(i64::try_from(MAX_GRACE.as_millis()).unwrap_or(i64::MAX));
    if grace_end > longest || old.expires_at_ms.is_some_and(|end| grace_end > end) {
        return Err(ApiError::BadRequest(
            "old_token_expires_at_ms must be at most 30 days ahead and not after the old token's own expiry".into(),
        ));
    }
    let requested = rotation.expires_at_ms.or_else(|| {
        old.expires_at_ms
            .map(|end| now.saturating_add(end.saturating_sub(old.created_at_ms)))
    });
    let expires = expiry(core, &caller.account, requested).await?;
    let narrowed = old
        .permissions
        .as_deref()
        .map(parse_permissions)
        .transpose()?;
    check_minter(core, caller, owner, narrowed.as_ref()).await?;
    let (row, plain) = mint(
        core,
        owner,
        key,
        old.name.clone(),
        old.description.clone(),
        narrowed.as_ref(),
        expires,
    )?;
    if !core.store.rotate_token(id, grace_end, &row).await? {
        return Err(ApiError::Conflict(
            "this token was revoked meanwhile".into(),
        ));
    }
    core.access.note_change().await?;
    audit(
        core,
        caller,
        owner,
        AuditAction::TokenRotated,
        "TOKEN",
        id,
        serde_json::json!({"api_key": key, "new_token": row.token_id, "old_token_expires_at_ms": grace_end}),
    )
    .await?;
    Ok(CreatedToken {
        token: plain.expose().to_owned(),
        info: TokenView::of(&row)?,
    })
}

// Personal access tokens: /api/me/api-keys.

/// The caller's personal API keys.
#[utoipa::path(get, path = "/api/me/api-keys", tag = "api keys",
    responses((status = 200, description = "API keys", body = [ApiKeyView])))]
async fn my_keys(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ApiKeyView>>, ApiError> {
    let owner = mine(&caller, Access::Read).await?;
    Ok(Json(list_keys(&state.core, &owner).await?))
}

/// Creates a personal API key (login session only).
#[utoipa::path(post, path = "/api/me/api-keys", tag = "api keys", request_body = NewApiKey,
    responses((status = 201, description = "Created", body = ApiKeyView)))]
async fn my_new_key(
    State(state): State<AppState>,
    caller: Caller,
    Body(new): Body<NewApiKey>,
) -> Result<(StatusCode, Json<ApiKeyView>), ApiError> {
    let owner = mine(&caller, Access::Mint).await?;
    Ok((
        StatusCode::CREATED,
        Json(new_key(&state.core, &caller, &owner, new).await?),
    ))
}

#[utoipa::path(get, path = "/api/me/api-keys/{key}", tag = "api keys",
    params(("key" = String, Path, description = "The API key's identifier")),
    responses((status = 200, description = "The API key", body = ApiKeyView)))]
async fn my_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
) -> Result<Json<ApiKeyView>, ApiError> {
    let owner = mine(&caller, Access::Read).await?;
    Ok(Json(ApiKeyView::of(
        &existing_key(&state.core, &owner, &key).await?,
    )?))
}

/// Deletes a personal API key and its tokens.
#[utoipa::path(delete, path = "/api/me/api-keys/{key}", tag = "api keys",
    params(("key" = String, Path, description = "The API key's identifier")),
    responses((status = 204, description = "Deleted")))]
async fn my_key_delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
) -> Result<StatusCode, ApiError> {
    let owner = mine(&caller, Access::Change).await?;
    delete_key(&state.core, &caller, &owner, &key).await?;
    Ok(no_content())
}

#[utoipa::path(get, path = "/api/me/api-keys/{key}/tokens", tag = "api keys",
    params(("key" = String, Path, description = "The API key's identifier")),
    responses((status = 200, description = "Tokens (metadata only)", body = [TokenView])))]
async fn my_tokens(
    State(state): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
) -> Result<Json<Vec<TokenView>>, ApiError> {
    let owner = mine(&caller, Access::Read).await?;
    Ok(Json(list_tokens(&state.core, &owner, &key).await?))
}

/// Creates a personal access token (login session only); its value is in
/// this response only.
#[utoipa::path(post, path = "/api/me/api-keys/{key}/tokens", tag = "api keys", request_body = NewToken,
    params(("key" = String, Path, description = "The API key's identifier")),
    responses((status = 201, description = "Created", body = CreatedToken)))]
async fn my_new_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
    Body(new): Body<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let owner = mine(&caller, Access::Mint).await?;
    Ok((
        StatusCode::CREATED,
        Json(new_token(&state.core, &caller, &owner, &key, new).await?),
    ))
}

/// Revokes a personal access token at once.
#[utoipa::path(delete, path = "/api/me/api-keys/{key}/tokens/{token}", tag = "api keys",
    params(("key" = String, Path, description = "The API key's identifier"), ("token" = String, Path, description = "The token's id")),
    responses((status = 204, description = "Revoked")))]
async fn my_token_revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path((key, token)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let owner = mine(&caller, Access::Change).await?;
    revoke_token(&state.core, &caller, &owner, &key, &token).await?;
    Ok(no_content())
}

/// Rotates a personal access token (login session only): a new value now,
/// the old one until `old_token_expires_at_ms` (default: now).
#[utoipa::path(post, path = "/api/me/api-keys/{key}/tokens/{token}/rotate", tag = "api keys", request_body = Rotation,
    params(("key" = String, Path, description = "The API key's identifier"), ("token" = String, Path, description = "The token's id")),
    responses((status = 201, description = "The new token", body = CreatedToken)))]
async fn my_token_rotate(
    State(state): State<AppState>,
    caller: Caller,
    Path((key, token)): Path<(String, String)>,
    Body(rotation): Body<Rotation>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let owner = mine(&caller, Access::Mint).await?;
    Ok((
        StatusCode::CREATED,
        Json(rotate_token(&state.core, &caller, &owner, &key, &token, rotation).await?),
    ))
}

// Service account tokens: /api/service-accounts/{sa}/api-keys.

#[utoipa::path(get, path = "/api/service-accounts/{sa}/api-keys", tag = "api keys",
    params(ScopeQuery, ("sa" = String, Path, description = "The service account's identifier")),
    responses((status = 200, description = "API keys", body = [ApiKeyView])))]
async fn sa_keys(
    State(state): State<AppState>,
    caller: Caller,
    Path(sa): Path<String>,
    Query(q): Query<ScopeQuery>,
) -> Result<Json<Vec<ApiKeyView>>, ApiError> {
    let owner = service_account(&state.core, &caller, &q, &sa, Access::Read).await?;
    Ok(Json(list_keys(&state.core, &owner).await?))
}

#[utoipa::path(post, path = "/api/service-accounts/{sa}/api-keys", tag = "api keys", request_body = NewApiKey,
    params(ScopeQuery, ("sa" = String, Path, description = "The service account's identifier")),
    responses((status = 201, description = "Created", body = ApiKeyView)))]
async fn sa_new_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(sa): Path<String>,
    Query(q): Query<ScopeQuery>,
    Body(new): Body<NewApiKey>,
) -> Result<(StatusCode, Json<ApiKeyView>), ApiError> {
    let owner = service_account(&state.core, &caller, &q, &sa, Access::Mint).await?;
    Ok((
        StatusCode::CREATED,
        Json(new_key(&state.core, &caller, &owner, new).await?),
    ))
}

#[utoipa::path(get, path = "/api/service-accounts/{sa}/api-keys/{key}", tag = "api keys",
    params(ScopeQuery, ("sa" = String, Path, description = "The service account's identifier"), ("key" = String, Path, description = "The API key's identifier")),
    responses((status = 200, description = "The API key", body = ApiKeyView)))]
async fn sa_key(
    State(state): State<AppState>,
    caller: Caller,
    Path((sa, key)): Path<(String, String)>,
    Query(q): Query<ScopeQuery>,
) -> Result<Json<ApiKeyView>, ApiError> {
    let owner = service_account(&state.core, &caller, &q, &sa, Access::Read).await?;
    Ok(Json(ApiKeyView::of(
        &existing_key(&state.core, &owner, &key).await?,
    )?))
}

#[utoipa::path(delete, path = "/api/service-accounts/{sa}/api-keys/{key}", tag = "api keys",
    params(ScopeQuery, ("sa" = String, Path, description = "The service account's identifier"), ("key" = String, Path, description = "The API key's identifier")),
    responses((status = 204, description = "Deleted")))]
async fn sa_key_delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((sa, key)): Path<(String, String)>,
    Query(q): Query<ScopeQuery>,
) -> Result<StatusCode, ApiError> {
    let owner = service_account(&state.core, &caller, &q, &sa, Access::Change).await?;
    delete_key(&state.core, &caller, &owner, &key).await?;
    Ok(no_content())
}

#[utoipa::path(get, path = "/api/service-accounts/{sa}/api-keys/{key}/tokens", tag = "api keys",
    params(ScopeQuery, ("sa" = String, Path, description = "The service account's identifier"), ("key" = String, Path, description = "The API key's identifier")),
    responses((status = 200, description = "Tokens (metadata only)", body = [TokenView])))]
async fn sa_tokens(
    State(state): State<AppState>,
    caller: Caller,
    Path((sa, key)): Path<(String, String)>,
    Query(q): Query<ScopeQuery>,
) -> Result<Json<Vec<TokenView>>, ApiError> {
    let owner = service_account(&state.core, &caller, &q, &sa, Access::Read).await?;
    Ok(Json(list_tokens(&state.core, &owner, &key).await?))
}

#[utoipa::path(post, path = "/api/service-accounts/{sa}/api-keys/{key}/tokens", tag = "api keys", request_body = NewToken,
    params(ScopeQuery, ("sa" = String, Path, description = "The service account's identifier"), ("key" = String, Path, description = "The API key's identifier")),
    responses((status = 201, description = "Created", body = CreatedToken)))]
async fn sa_new_token(
    State(state): State<AppState>,
    caller: Caller,
    Path((sa, key)): Path<(String, String)>,
    Query(q): Query<ScopeQuery>,
    Body(new): Body<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let owner = service_account(&state.core, &caller, &q, &sa, Access::Mint).await?;
    Ok((
        StatusCode::CREATED,
        Json(new_token(&state.core, &caller, &owner, &key, new).await?),
    ))
}

#[utoipa::path(delete, path = "/api/service-accounts/{sa}/api-keys/{key}/tokens/{token}", tag = "api keys",
    params(ScopeQuery, ("sa" = String, Path, description = "The service account's identifier"), ("key" = String, Path, description = "The API key's identifier"), ("token" = String, Path, description = "The token's id")),
    responses((status = 204, description = "Revoked")))]
async fn sa_token_revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path((sa, key, token)): Path<(String, String, String)>,
    Query(q): Query<ScopeQuery>,
) -> Result<StatusCode, ApiError> {
    let owner = service_account(&state.core, &caller, &q, &sa, Access::Change).await?;
    revoke_token(&state.core, &caller, &owner, &key, &token).await?;
    Ok(no_content())
}

#[utoipa::path(post, path = "/api/service-accounts/{sa}/api-keys/{key}/tokens/{token}/rotate", tag = "api keys", request_body = Rotation,
    params(ScopeQuery, ("sa" = String, Path, description = "The service account's identifier"), ("key" = String, Path, description = "The API key's identifier"), ("token" = String, Path, description = "The token's id")),
    responses((status = 201, description = "The new token", body = CreatedToken)))]
async fn sa_token_rotate(
    State(state): State<AppState>,
    caller: Caller,
    Path((sa, key, token)): Path<(String, String, String)>,
    Query(q): Query<ScopeQuery>,
    Body(rotation): Body<Rotation>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let owner = service_account(&state.core, &caller, &q, &sa, Access::Mint).await?;
    Ok((
        StatusCode::CREATED,
        Json(rotate_token(&state.core, &caller, &owner, &key, &token, rotation).await?),
    ))
}
