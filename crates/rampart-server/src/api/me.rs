//! The caller's own user: who am I, choosing a password, and TOTP
//! (enrol with an `otpauth://` URI, confirm with a code to get recovery
//! codes, disable, new recovery codes). Everything that changes a
//! credential needs a login session, never just a token.

use std::time::SystemTime;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rampart_auth::audit::AuditAction;
use rampart_auth::session::Stage;
use rampart_auth::totp::{self, TotpSecret};
use rampart_store::{IdentityRepo, SessionRepo, User};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::login::{
    StageView, TOTP_SEALED, check_password, encode_recovery, locked, record_user_failure,
    totp_secret, verify_totp,
};
use super::users::{UserView, hash_password, locked_until};
use super::{Body, no_content};
use crate::audit_log::Entry;
use crate::authn::{Caller, Credential};
use crate::backend::{Core, retire_password_file};
use crate::error::ApiError;
use crate::http::AppState;
use crate::scope::now_ms;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(change_password))
        .routes(routes!(begin_totp))
        .routes(routes!(confirm_totp))
        .routes(routes!(disable_totp))
        .routes(routes!(new_recovery_codes))
}

/// Who the caller is and how they authenticated.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct Me {
    /// `user` or `service_account`.
    pub kind: String,
    pub id: String,
    pub account: String,
    /// `session` or `token`.
    pub authenticated_by: String,
    /// For sessions: `active`, or the login step still to do.
    pub stage: Option<String>,
    /// For users.
    pub user: Option<UserView>,
}

/// The caller.
#[utoipa::path(get, path = "/api/me", tag = "me",
    responses((status = 200, description = "The caller", body = Me)))]
async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<Me>, ApiError> {
    let user = match caller.user_id() {
        Some(id) => state.core.store.user(id).await?.map(|u| UserView::from(&u)),
        None => None,
    };
    let (authenticated_by, stage) = match &caller.credential {
        Credential::Session { stage, .. } => ("session", Some(stage.as_str().to_owned())),
        Credential::Token { .. } => ("token", None),
    };
    Ok(Json(Me {
        kind: crate::audit_log::name_of(&caller.principal.kind),
        id: caller.principal.id.clone(),
        account: caller.account.clone(),
        authenticated_by: authenticated_by.into(),
        stage,
        user,
    }))
}

/// The caller's user row (sessions only).
async fn session_user(core: &Core, caller: &Caller) -> Result<(String, User), ApiError> {
    let (id_hash, user_id) = caller.session()?;
    let user =
        core.store.user(user_id).await?.ok_or_else(|| {
            ApiError::Unauthenticated("your session has ended; log in again".into())
        })?;
    Ok((id_hash.to_owned(), user))
}

/// Refuses a password re-check while the user is locked out, as login
/// does: the failures count towards the lock, so a session must not be a
/// way to keep guessing the password.
fn refuse_if_locked(user: &User) -> Result<(), ApiError> {
    match locked_until(user, SystemTime::now()) {
        Some(until) => Err(locked(until)),
        None => Ok(()),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Choose a new password (also the step after logging in with a one-time
/// password). Every other session of the user ends.
#[utoipa::path(put, path = "/api/me/password", tag = "me", request_body = PasswordChange,
    responses((status = 200, description = "Changed; where the session stands now", body = StageView)))]
async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    Body(change): Body<PasswordChange>,
) -> Result<Json<StageView>, ApiError> {
    let core = &state.core;
    let (id_hash, user) = session_user(core, &caller).await?;
    let settings = core.access.snapshot().await?.settings(&user.account);
    refuse_if_locked(&user)?;
    if !check_password(&change.current_password, &user.password_hash).await? {
        record_user_failure(
            core,
            &user,
            &settings.user_lockout(),
            caller.ip,
            "wrong current password",
        )
        .await?;
        return Err(ApiError::BadRequest("the current password is wrong".into()));
    }
    if change.new_password == change.current_password {
        return Err(ApiError::BadRequest(
            "choose a password different from the current one".into(),
        ));
    }
    if let Err(violations) = settings
        .password_policy()
        .check(&change.new_password, &user.email)
    {
        let reasons: Vec<String> = violations.iter().map(ToString::to_string).collect();
        return Err(ApiError::BadRequest(format!(
            "the new password does not meet this account's policy: {}",
            reasons.join("; ")
        )));
    }
    let hash = hash_password(core, &change.new_password).await?;
    let now = now_ms();
    core.store
        .set_password_hash(&user.id, &hash, false, now)
        .await?;
    core.store
        .revoke_sessions_of(&user.id, Some(&id_hash), now)
        .await?;
    let stage = Stage::after_factors(
        false,
        settings.two_factor_enforced && user.totp_secret_sealed.is_none(),
    );
    core.store
        .set_session_stage(&id_hash, stage.as_str())
        .await?;
    core.access.note_change().await?;
    retire_password_file(&core.data_dir, &user.email);
    audit(
        core,
        &caller,
        &user,
        AuditAction::PasswordChanged,
        serde_json::Value::Null,
    )
    .await?;
    Ok(Json(StageView {
        stage: stage.as_str().into(),
    }))
}

async fn audit(
    core: &Core,
    caller: &Caller,
    user: &User,
    action: AuditAction,
    details: serde_json::Value,
) -> Result<(), ApiError> {
    core.audit
        .record(
            Entry::new(&user.account, caller.actor(), action, "USER")
                .id(&user.id)
                .ip(caller.ip)
                .details(details),
        )
        .await
}

/// A TOTP seed to enrol, shown once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct TotpEnrolment {
    /// Base32, for typing into an authenticator app.
    pub secret: String,
    /// The same as an `otpauth://totp/...` URI (for a QR code).
    pub otpauth_uri: String,
}

/// Starts TOTP enrolment: a new seed, pending until confirmed with a code.
#[utoipa::path(post, path = "/api/me/totp", tag = "me",
    responses((status = 200, description = "The seed to enrol (shown once)", body = TotpEnrolment)))]
async fn begin_totp(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<TotpEnrolment>, ApiError> {
    let core = &state.core;
    let (_, user) = session_user(core, &caller).await?;
    if user.totp_secret_sealed.is_some() {
        return Err(ApiError::Conflict(
            "two-factor authentication is already enabled; disable it first to enrol a new device"
                .into(),
        ));
    }
    let secret = TotpSecret::generate().map_err(|e| ApiError::internal("", e))?;
    let sealed = core
        .keys
        .seal(TOTP_SEALED, &[user.id.as_bytes()], secret.expose())?;
    core.store
        .set_totp_pending(&user.id, Some(&sealed), now_ms())
        .await?;
    Ok(Json(TotpEnrolment {
        secret: secret.to_base32(),
        otpauth_uri: secret.otpauth_uri(&user.email),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TotpCode {
    /// The 6-digit code the authenticator app shows.
    pub code: String,
}

/// One-time recovery codes, shown once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct RecoveryCodesView {
    pub recovery_codes: Vec<String>,
    /// Where the session stands now.
    pub stage: String,
}

/// Confirms enrolment with a code from the app: TOTP is on, and here are
/// the recovery codes.
#[utoipa::path(post, path = "/api/me/totp/confirm", tag = "me", request_body = TotpCode,
    responses((status = 200, description = "Enabled; recovery codes (shown once)", body = RecoveryCodesView)))]
async fn confirm_totp(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<TotpCode>,
) -> Result<Json<RecoveryCodesView>, ApiError> {
    let core = &state.core;
    let (id_hash, user) = session_user(core, &caller).await?;
    let pending = user.totp_pending_sealed.as_deref().ok_or_else(|| {
        ApiError::Conflict("no enrolment is pending: start one at POST /api/me/totp".into())
    })?;
    let secret = totp_secret(core, &user, pending)?;
    let step = secret
        .verify(&request.code, SystemTime::now(), None)
        .map_err(|e| ApiError::BadRequest(format!("{e}; enrolment stays pending")))?;
    let codes = totp::generate_recovery_codes(totp::DEFAULT_RECOVERY_CODES, core.keys.pepper())
        .map_err(|e| ApiError::internal("", e))?;
    let now = now_ms();
    core.store
        .set_totp(&user.id, pending, &encode_recovery(&codes.hashes), now)
        .await?;
    // The confirming code is spent: it cannot also log in.
    core.store
        .advance_totp_step(&user.id, i64::try_from(step).unwrap_or(i64::MAX))
        .await?;
    let stage = match &caller.credential {
        Credential::Session {
            stage: Stage::Enrolment,
            ..
        } => Stage::Active,
        Credential::Session { stage, .. } => *stage,
        Credential::Token { .. } => Stage::Active,
    };
    core.store
        .set_session_stage(&id_hash, stage.as_str())
        .await?;
    core.access.note_change().await?;
    audit(
        core,
        &caller,
        &user,
        AuditAction::TwoFactorEnrolled,
        serde_json::Value::Null,
    )
    .await?;
    Ok(Json(RecoveryCodesView {
        recovery_codes: codes.codes.iter().map(|c| c.expose().to_owned()).collect(),
        stage: stage.as_str().into(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DisableTotp {
    pub password: String,
    pub code: String,
}

/// Turns TOTP off (not allowed where the account enforces 2FA).
#[utoipa::path(post, path = "/api/me/totp/disable", tag = "me", request_body = DisableTotp,
    responses((status = 204, description = "Disabled")))]
async fn disable_totp(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<DisableTotp>,
) -> Result<StatusCode, ApiError> {
    let core = &state.core;
    let (_, user) = session_user(core, &caller).await?;
    let settings = core.access.snapshot().await?.settings(&user.account);
    if settings.two_factor_enforced {
        return Err(ApiError::Conflict(
            "this account enforces two-factor authentication, so it cannot be turned off".into(),
        ));
    }
    refuse_if_locked(&user)?;
    if !check_password(&request.password, &user.password_hash).await? {
        record_user_failure(
            core,
            &user,
            &settings.user_lockout(),
            caller.ip,
            "wrong password",
        )
        .await?;
        return Err(ApiError::BadRequest("the password is wrong".into()));
    }
    verify_totp(core, &user, &request.code).await?;
    core.store.clear_totp(&user.id, now_ms()).await?;
    core.access.note_change().await?;
    audit(
        core,
        &caller,
        &user,
        AuditAction::TwoFactorDisabled,
        serde_json::Value::Null,
    )
    .await?;
    Ok(no_content())
}

/// Replaces the recovery codes (the old ones stop working).
#[utoipa::path(post, path = "/api/me/totp/recovery-codes", tag = "me", request_body = TotpCode,
    responses((status = 200, description = "New recovery codes (shown once)", body = RecoveryCodesView)))]
async fn new_recovery_codes(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<TotpCode>,
) -> Result<Json<RecoveryCodesView>, ApiError> {
    let core = &state.core;
    let (_, user) = session_user(core, &caller).await?;
    verify_totp(core, &user, &request.code).await?;
    let codes = totp::generate_recovery_codes(totp::DEFAULT_RECOVERY_CODES, core.keys.pepper())
        .map_err(|e| ApiError::internal("", e))?;
    core.store
        .set_recovery_codes(&user.id, &encode_recovery(&codes.hashes), now_ms())
        .await?;
    audit(
        core,
        &caller,
        &user,
        AuditAction::RecoveryCodesRegenerated,
        serde_json::Value::Null,
    )
    .await?;
    Ok(Json(RecoveryCodesView {
        recovery_codes: codes.codes.iter().map(|c| c.expose().to_owned()).collect(),
        stage: Stage::Active.as_str().into(),
    }))
}
