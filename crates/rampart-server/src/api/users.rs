//! Users of an account: list, create (with a one-time password shown
//! once), read, update, disable, delete, unlock, reset password, reset 2FA.
//! Permissions `core_user_view` and `core_user_manage` (account level).

use std::time::SystemTime;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rampart_auth::audit::AuditAction;
use rampart_auth::lockout::{Decision, KeyState};
use rampart_auth::password;
use rampart_auth::rbac::{Permission, PrincipalRef, Resource, ResourceType, Scope};
use rampart_store::{AccessRepo, IdentityRepo, ObjectKind, SessionRepo, User};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use zeroize::Zeroizing;

use super::{Body, Path, no_content};
use crate::audit_log::Entry;
use crate::authn::Caller;
use crate::backend::Core;
use crate::error::ApiError;
use crate::http::AppState;
use crate::policy::RoleBindingSpec;
use crate::scope::{check_name, ms_of, new_id, now_ms};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user, delete_user))
        .routes(routes!(unlock_user))
        .routes(routes!(reset_password))
        .routes(routes!(reset_two_factor))
}

/// A user, as the API shows one (never a hash or seed).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub(crate) struct UserView {
    pub id: String,
    pub account: String,
    pub email: String,
    pub name: String,
    pub disabled: bool,
    pub two_factor_enabled: bool,
    pub must_change_password: bool,
    /// Set while repeated login failures lock the user out.
    pub locked_until_ms: Option<i64>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        UserView {
            id: user.id.clone(),
            account: user.account.clone(),
            email: user.email.clone(),
            name: user.display_name.clone(),
            disabled: user.disabled,
            two_factor_enabled: user.totp_secret_sealed.is_some(),
            must_change_password: user.must_change_password,
            locked_until_ms: locked_until(user, SystemTime::now()),
            created_at_ms: user.created_at_ms,
            updated_at_ms: user.updated_at_ms,
        }
    }
}

/// When the user's login lock ends, if they are locked now.
pub(crate) fn locked_until(user: &User, now: SystemTime) -> Option<i64> {
    let state: KeyState = serde_json::from_str(user.login_state.as_deref()?).ok()?;
    match state.check(now) {
        Decision::Locked { until } => Some(ms_of(until)),
        Decision::Allowed => None,
    }
}

/// Lowercased and trimmed; a plausible address (one `@`, no spaces, at
/// most 254 characters).
pub(crate) fn normalize_email(email: &str) -> Result<String, ApiError> {
    let email = email.trim().to_lowercase();
    let plausible = email.len() <= 254
        && email.split('@').count() == 2
        && !email.starts_with('@')
        && !email.ends_with('@')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if plausible {
        Ok(email)
    } else {
        Err(ApiError::BadRequest(format!(
            "`{}` is not an e-mail address",
            crate::scope::shorten(&email)
        )))
    }
}

/// Argon2id with the server's parameters, off the async threads.
pub(crate) async fn hash_password(core: &Core, password: &str) -> Result<String, ApiError> {
    let params = core.hash_params;
    let password = Zeroizing::new(password.to_owned());
    tokio::task::spawn_blocking(move || password::hash(&password, &params))
        .await
        .map_err(|e| ApiError::internal("password hashing", e))?
        .map_err(|e| ApiError::BadRequest(e.to_string()))
}

fn user_resource(account: &str, id: Option<&str>) -> Resource {
    Resource::new(
        ResourceType::User,
        Scope::account(account),
        id.map(str::to_owned),
    )
}

/// The user `id` of the caller's account, or 404.
pub(crate) async fn user_in_account(
    core: &Core,
    caller: &Caller,
    id: &str,
) -> Result<User, ApiError> {
    core.store
        .user(id)
        .await?
        .filter(|u| u.account == caller.account)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no user `{}` in this account",
                crate::scope::shorten(id)
            ))
        })
}

/// The users of the caller's account they may see.
#[utoipa::path(get, path = "/api/users", tag = "users",
    responses((status = 200, description = "Users", body = [UserView])))]
async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<UserView>>, ApiError> {
    let core = &state.core;
    let mut shown = Vec::new();
    for user in core.store.users(&caller.account).await? {
        let resource = user_resource(&caller.account, Some(&user.id));
        if caller
            .allowed(core, Permission::UserView, &resource)
            .await?
        {
            shown.push(UserView::from(&user));
        }
    }
    if shown.is_empty() {
        // Nothing visible: say why rather than an empty list.
        caller
            .authorize(
                core,
                Permission::UserView,
                &user_resource(&caller.account, None),
            )
            .await?;
    }
    Ok(Json(shown))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewUser {
    pub email: String,
    pub name: String,
}

/// A new user and the one-time password to hand them (shown only here).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct CreatedUser {
    pub user: UserView,
    /// Shown once; the user must choose their own password at first login.
    pub one_time_password: String,
}

/// Adds a user with a one-time password. Roles come from role bindings.
#[utoipa::path(post, path = "/api/users", tag = "users", request_body = NewUser,
    responses((status = 201, description = "Created", body = CreatedUser)))]
async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    Body(new): Body<NewUser>,
) -> Result<(StatusCode, Json<CreatedUser>), ApiError> {
    let core = &state.core;
    caller
        .authorize(
            core,
            Permission::UserManage,
            &user_resource(&caller.account, None),
        )
        .await?;
    let email = normalize_email(&new.email)?;
    check_name("name", &new.name)?;
    let one_time = password::generate_one_time().map_err(|e| ApiError::internal("", e))?;
    let now = now_ms();
    let user = User {
        id: new_id("u_")?,
        account: caller.account.clone(),
        email,
        display_name: new.name,
        password_hash: hash_password(core, &one_time).await?,
        totp_secret_sealed: None,
        totp_last_step: None,
        recovery_codes: None,
        totp_pending_sealed: None,
        must_change_password: true,
        login_state: None,
        disabled: false,
        created_at_ms: now,
        updated_at_ms: now,
    };
    core.store.create_user(&user).await.map_err(|e| match e {
        rampart_store::StoreError::Conflict(_) => ApiError::Conflict(format!(
            "a user with e-mail address {} already exists",
            user.email
        )),
        other => other.into(),
    })?;
    core.access.note_change().await?;
    audit(
        core,
        &caller,
        AuditAction::UserCreated,
        &user.id,
        serde_json::json!({"email": user.email}),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedUser {
            user: UserView::from(&user),
            one_time_password: one_time.to_string(),
        }),
    ))
}

async fn audit(
    core: &Core,
    caller: &Caller,
    action: AuditAction,
    user_id: &str,
    details: serde_json::Value,
) -> Result<(), ApiError> {
    core.audit
        .record(
            Entry::new(&caller.account, caller.actor(), action, "USER")
                .id(user_id)
                .scope(&Scope::account(caller.account.as_str()))
                .ip(caller.ip)
                .details(details),
        )
        .await
}

#[utoipa::path(get, path = "/api/users/{user}", tag = "users",
    params(("user" = String, Path, description = "The user's id")),
    responses((status = 200, description = "The user", body = UserView)))]
async fn get_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    let core = &state.core;
    caller
        .authorize(
            core,
            Permission::UserView,
            &user_resource(&caller.account, Some(&id)),
        )
        .await?;
    Ok(Json(UserView::from(
        &user_in_account(core, &caller, &id).await?,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserPatch {
    pub name: Option<String>,
    /// A disabled user cannot log in, and their sessions and tokens stop working.
    pub disabled: Option<bool>,
}

#[utoipa::path(patch, path = "/api/users/{user}", tag = "users", request_body = UserPatch,
    params(("user" = String, Path, description = "The user's id")),
    responses((status = 200, description = "Updated", body = UserView)))]
async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(patch): Body<UserPatch>,
) -> Result<Json<UserView>, ApiError> {
    let core = &state.core;
    let user = manageable(core, &caller, &id).await?;
    if let Some(name) = &patch.name {
        check_name("name", name)?;
    }
    let disabled = patch.disabled.unwrap_or(user.disabled);
    if disabled && caller.user_id() == Some(id.as_str()) {
        return Err(ApiError::Conflict("you cannot disable yourself".into()));
    }
    let name = patch.name.unwrap_or_else(|| user.display_name.clone());
    let now = now_ms();
    core.store
        .update_user_profile(&id, &name, disabled, now)
        .await?;
    if disabled && !user.disabled {
        core.store.revoke_sessions_of(&id, None, now).await?;
    }
    core.access.note_change().await?;
    audit(
        core,
        &caller,
        AuditAction::UserUpdated,
        &id,
        serde_json::json!({"disabled": disabled}),
    )
    .await?;
    Ok(Json(UserView::from(
        &user_in_account(core, &caller, &id).await?,
    )))
}

async fn manageable(core: &Core, caller: &Caller, id: &str) -> Result<User, ApiError> {
    caller
        .authorize(
            core,
            Permission::UserManage,
            &user_resource(&caller.account, Some(id)),
        )
        .await?;
    user_in_account(core, caller, id).await
}

/// Deletes the user with their sessions, memberships, API keys, tokens and
/// role bindings.
#[utoipa::path(delete, path = "/api/users/{user}", tag = "users",
    params(("user" = String, Path, description = "The user's id")),
    responses((status = 204, description = "Deleted")))]
async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let core = &state.core;
    manageable(core, &caller, &id).await?;
    if caller.user_id() == Some(id.as_str()) {
        return Err(ApiError::Conflict("you cannot delete yourself".into()));
    }
    remove_bindings_of(
        core,
        &caller.account,
        &PrincipalRef::User { id: id.clone() },
    )
    .await?;
    core.store.delete_user(&id).await?;
    core.access.note_change().await?;
    audit(
        core,
        &caller,
        AuditAction::UserDeleted,
        &id,
        serde_json::Value::Null,
    )
    .await?;
    Ok(no_content())
}

/// Deletes every role binding in `account` naming `principal`, so a later
/// principal with the same id could never inherit them.
pub(crate) async fn remove_bindings_of(
    core: &Core,
    account: &str,
    principal: &PrincipalRef,
) -> Result<(), ApiError> {
    for object in core.store.all_objects(ObjectKind::RoleBinding).await? {
        if object.scope.account != account {
            continue;
        }
        let names = serde_json::from_str::<RoleBindingSpec>(&object.body)
            .ok()
            .and_then(|spec| spec.principal.to_rbac(account).ok())
            .is_some_and(|named| named == *principal);
        if names {
            core.store
                .delete_object(&object.scope, ObjectKind::RoleBinding, &object.identifier)
                .await?;
        }
    }
    Ok(())
}

/// Ends a login lock before its time.
#[utoipa::path(post, path = "/api/users/{user}/unlock", tag = "users",
    params(("user" = String, Path, description = "The user's id")),
    responses((status = 200, description = "Unlocked", body = UserView)))]
async fn unlock_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    let core = &state.core;
    let user = manageable(core, &caller, &id).await?;
    if !core
        .store
        .set_login_state(&id, user.login_state.as_deref(), None)
        .await?
    {
        return Err(ApiError::Conflict(
            "the user's login state changed meanwhile; try again".into(),
        ));
    }
    audit(
        core,
        &caller,
        AuditAction::AccountUnlocked,
        &id,
        serde_json::Value::Null,
    )
    .await?;
    Ok(Json(UserView::from(
        &user_in_account(core, &caller, &id).await?,
    )))
}

/// A new one-time password for a user who lost theirs; their sessions end.
#[utoipa::path(post, path = "/api/users/{user}/reset-password", tag = "users",
    params(("user" = String, Path, description = "The user's id")),
    responses((status = 200, description = "The new one-time password (shown once)", body = CreatedUser)))]
async fn reset_password(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CreatedUser>, ApiError> {
    let core = &state.core;
    manageable(core, &caller, &id).await?;
    let one_time = password::generate_one_time().map_err(|e| ApiError::internal("", e))?;
    let hash = hash_password(core, &one_time).await?;
    let now = now_ms();
    core.store.set_password_hash(&id, &hash, true, now).await?;
    core.store.revoke_sessions_of(&id, None, now).await?;
    core.access.note_change().await?;
    audit(
        core,
        &caller,
        AuditAction::PasswordChanged,
        &id,
        serde_json::json!({"reset_by_admin": true}),
    )
    .await?;
    Ok(Json(CreatedUser {
        user: UserView::from(&user_in_account(core, &caller, &id).await?),
        one_time_password: one_time.to_string(),
    }))
}

/// Removes a user's TOTP (a lost device); their sessions end. If the account
/// enforces 2FA they must enrol again at their next login.
#[utoipa::path(post, path = "/api/users/{user}/reset-2fa", tag = "users",
    params(("user" = String, Path, description = "The user's id")),
    responses((status = 200, description = "2FA removed", body = UserView)))]
async fn reset_two_factor(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    let core = &state.core;
    manageable(core, &caller, &id).await?;
    let now = now_ms();
    core.store.clear_totp(&id, now).await?;
    core.store.revoke_sessions_of(&id, None, now).await?;
    core.access.note_change().await?;
    audit(
        core,
        &caller,
        AuditAction::TwoFactorDisabled,
        &id,
        serde_json::json!({"reset_by_admin": true}),
    )
    .await?;
    Ok(Json(UserView::from(
        &user_in_account(core, &caller, &id).await?,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_addresses_are_normalised_and_checked() {
        assert_eq!(
            normalize_email(" Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        for bad in ["", "ada", "@x", "x@", "a@b@c", "a b@c", "a\n@b"] {
            assert!(normalize_email(bad).is_err(), "{bad:?}");
        }
    }
}
