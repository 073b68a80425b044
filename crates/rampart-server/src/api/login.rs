//! Logging in and out: password, then the second factor when the user has
//! one; the session cookie (HttpOnly, Secure, SameSite=Strict) and its CSRF
//! token. Failures are rate limited per user (in the database, so every
//! replica and restart sees them) and per source address, answered the same
//! way whether or not the user exists, and audited as Harness audits
//! UNSUCCESSFUL_LOGIN.

use std::net::IpAddr;
use std::time::SystemTime;

use axum::Json;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use rampart_auth::allowlist::Surface;
use rampart_auth::audit::{Actor, AuditAction, Outcome};
use rampart_auth::lockout::{Decision, KeyState, LockKey, LockoutConfig};
use rampart_auth::password;
use rampart_auth::session::{SessionSecret, Stage};
use rampart_auth::token::StoredHash;
use rampart_auth::totp::{self, TotpSecret};
use rampart_store::{IdentityRepo, Session, SessionRepo, User};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use zeroize::Zeroizing;

use super::Body;
use super::users::{UserView, hash_password, normalize_email};
use crate::audit_log::Entry;
use crate::authn::{Caller, ClientIp, Credential, SESSION_COOKIE};
use crate::backend::{Core, ROOT_ACCOUNT};
use crate::error::ApiError;
use crate::http::AppState;
use crate::scope::{check_identifier, ms_of, now_ms};

/// The one message for every failed login: it must not tell which part was wrong.
const BAD_LOGIN: &str = "wrong e-mail address or password";
/// The context TOTP seeds are sealed under.
pub(crate) const TOTP_SEALED: &str = "totp seed";

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(second_factor))
        .routes(routes!(logout))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginRequest {
    /// The account to log in to; `default` when absent.
    pub account: Option<String>,
    pub email: String,
    pub password: String,
}

/// Where the login stands. The session cookie is set alongside.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct LoginResponse {
    /// `active`, or what must happen first: `second_factor`,
    /// `password_change`, `two_factor_enrolment`.
    pub stage: String,
    /// Send this in the `x-csrf-token` header with every write made with
    /// the session cookie.
    pub csrf_token: String,
    pub user: UserView,
    /// The session's absolute end.
    pub expires_at_ms: i64,
}

/// Logs in with e-mail address and password.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in (perhaps with a step still to do); the session cookie is set", body = LoginResponse,
            headers(("set-cookie" = String, description = "rampart_session: HttpOnly; Secure; SameSite=Strict"))),
    ))]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Body(request): Body<LoginRequest>,
) -> Result<Response, ApiError> {
    let core = &state.core;
    let account = request.account.unwrap_or_else(|| ROOT_ACCOUNT.to_owned());
    check_identifier("account", &account)?;
    let now = SystemTime::now();
    refuse_if_locked(core.throttle_check(&LockKey::Ip(ip), now))?;
    let snapshot = core.access.snapshot().await?;
    let account_exists = core.store.account(&account).await?.is_some();
    if account_exists && !snapshot.ip_allowed(&account, ip, Surface::Ui) {
        core.audit
            .blocked(&account, ip, Surface::Ui, "/api/auth/login")
            .await;
        return Err(ApiError::IpBlocked(ip.to_string()));
    }
    let settings = snapshot.settings(&account);
    let lockout = settings.user_lockout();
    let email = normalize_email(&request.email).unwrap_or_default();
    let user = match (account_exists, email.is_empty()) {
        (true, false) => core.store.user_by_email(&account, &email).await?,
        _ => None,
    };
    let Some(user) = user else {
        // No such user: the same work and the same answers as for a real one.
        let key = LockKey::user(&account, &email);
        refuse_if_locked(core.throttle_check(&key, now))?;
        let _ = check_password(&request.password, &core.decoy_hash).await;
        core.throttle_failure(key, &lockout, now);
        core.throttle_failure(LockKey::Ip(ip), &crate::settings::address_lockout(), now);
        if account_exists {
            let entry = Entry::new(
                &account,
                Actor::Anonymous {
                    claimed: Some(email.clone()),
                },
                AuditAction::LoginFailed,
                "USER",
            )
            .ip(ip)
            .outcome(Outcome::Failure)
            .details(serde_json::json!({"reason": "unknown user"}));
            core.audit.record(entry).await?;
        }
        return Err(ApiError::Unauthenticated(BAD_LOGIN.into()));
    };
    if let Some(until) = crate::api::users::locked_until(&user, now) {
        login_failed(core, &user, ip, "locked").await?;
        return Err(locked(until));
    }
    let matches = check_password(&request.password, &user.password_hash).await?;
    if !matches || user.disabled {
        core.throttle_failure(LockKey::Ip(ip), &crate::settings::address_lockout(), now);
        if user.disabled {
            login_failed(core, &user, ip, "disabled").await?;
        } else {
            record_user_failure(core, &user, &lockout, ip, "wrong password").await?;
        }
        return Err(ApiError::Unauthenticated(BAD_LOGIN.into()));
    }
    if password::needs_rehash(&user.password_hash, &core.hash_params).unwrap_or(false) {
        let rehashed = hash_password(core, &request.password).await?;
        core.store
            .set_password_hash(&user.id, &rehashed, user.must_change_password, now_ms())
            .await?;
    }
    let stage = if user.totp_secret_sealed.is_some() {
        Stage::SecondFactor
    } else {
        Stage::after_factors(user.must_change_password, settings.two_factor_enforced)
    };
    if stage != Stage::SecondFactor {
        // With a second factor pending the count stands until it is proven:
        // the password alone must not wipe out wrong codes.
        clear_failures(core, &user).await?;
        login_succeeded(core, &user, ip, "password").await?;
    }
    start_session(core, &user, stage, ip, settings.absolute()).await
}

impl Core {
    fn throttle_check(&self, key: &LockKey, now: SystemTime) -> Decision {
        self.throttle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .check(key, now)
    }

    /// Counts a failure for a key kept in memory: a source address, or an
    /// e-mail address no user has (under the account's user lockout, so it
    /// locks exactly as a real user would).
    fn throttle_failure(&self, key: LockKey, config: &LockoutConfig, now: SystemTime) {
        self.throttle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .record_failure_with(key, config, now);
    }
}

fn refuse_if_locked(decision: Decision) -> Result<(), ApiError> {
    match decision {
        Decision::Allowed => Ok(()),
        Decision::Locked { until } => Err(locked(ms_of(until))),
    }
}

pub(crate) fn locked(until_ms: i64) -> ApiError {
    let wait = u64::try_from((until_ms - now_ms()).max(1000) / 1000).unwrap_or(1);
    ApiError::TooManyAttempts {
        message: format!(
            "too many failed logins: try again in {wait} seconds, or ask an administrator to unlock the user"
        ),
        retry_after: wait,
    }
}

/// Argon2id verification off the async threads.
pub(crate) async fn check_password(typed: &str, phc: &str) -> Result<bool, ApiError> {
    let typed = Zeroizing::new(typed.to_owned());
    let phc = phc.to_owned();
    tokio::task::spawn_blocking(move || password::verify(&typed, &phc))
        .await
        .map_err(|e| ApiError::internal("password check", e))?
        .map_err(|e| ApiError::internal("a stored password hash", e))
}

async fn login_failed(core: &Core, user: &User, ip: IpAddr, reason: &str) -> Result<(), ApiError> {
    core.audit
        .record(
            Entry::new(
                &user.account,
                Actor::Anonymous {
                    claimed: Some(user.email.clone()),
                },
                AuditAction::LoginFailed,
                "USER",
            )
            .id(&user.id)
            .ip(ip)
            .outcome(Outcome::Failure)
            .details(serde_json::json!({"reason": reason})),
        )
        .await
}

async fn login_succeeded(
    core: &Core,
    user: &User,
    ip: IpAddr,
    factors: &str,
) -> Result<(), ApiError> {
    core.audit
        .record(
            Entry::new(
                &user.account,
                Actor::User {
                    id: user.id.clone(),
                },
                AuditAction::LoginSucceeded,
                "USER",
            )
            .id(&user.id)
            .ip(ip)
            .details(serde_json::json!({"factors": factors})),
        )
        .await
}

/// Counts a failed password or second factor against the user (compare and
/// swap, so concurrent failures on several replicas all count) and audits
/// it, and the lock if this failure caused one.
pub(crate) async fn record_user_failure(
    core: &Core,
    user: &User,
    config: &LockoutConfig,
    ip: IpAddr,
    reason: &str,
) -> Result<(), ApiError> {
    let mut stored = user.login_state.clone();
    let decision = loop {
        let state = stored
            .as_deref()
            .and_then(|s| serde_json::from_str::<KeyState>(s).ok());
        let (next, decision) = KeyState::after_failure(state, config, SystemTime::now());
        let encoded = serde_json::to_string(&next).map_err(|e| ApiError::internal("", e))?;
        if core
            .store
            .set_login_state(&user.id, stored.as_deref(), Some(&encoded))
            .await?
        {
            break decision;
        }
        stored = match core.store.user(&user.id).await? {
            Some(fresh) => fresh.login_state,
            None => return Ok(()),
        };
    };
    login_failed(core, user, ip, reason).await?;
    if let Decision::Locked { until } = decision {
        core.audit
            .record(
                Entry::new(
                    &user.account,
                    Actor::System,
                    AuditAction::AccountLockedOut,
                    "USER",
                )
                .id(&user.id)
                .ip(ip)
                .details(serde_json::json!({"locked_until_ms": ms_of(until)})),
            )
            .await?;
    }
    Ok(())
}

async fn clear_failures(core: &Core, user: &User) -> Result<(), ApiError> {
    if user.login_state.is_some() {
        // A concurrent failure wins the race: the next failure counts from it.
        core.store
            .set_login_state(&user.id, user.login_state.as_deref(), None)
            .await?;
    }
    Ok(())
}

/// The `Set-Cookie` value of a session (or, with `None`, its removal).
fn session_cookie(value: Option<&str>, max_age_secs: u64) -> Result<HeaderValue, ApiError> {
    let cookie = match value {
        Some(value) => Zeroizing::new(format!(
            "{SESSION_COOKIE}={value}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={max_age_secs}"
        )),
        None => Zeroizing::new(format!(
            "{SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0"
        )),
    };
    HeaderValue::from_str(&cookie).map_err(|e| ApiError::internal("a cookie", e))
}

async fn start_session(
    core: &Core,
    user: &User,
    stage: Stage,
    ip: IpAddr,
    lifetime: std::time::Duration,
) -> Result<Response, ApiError> {
    let secret = SessionSecret::generate().map_err(|e| ApiError::internal("", e))?;
    let now = now_ms();
    let expires_at_ms = now.saturating_add(i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX));
    core.store
        .insert_session(&Session {
            id_hash: secret.id_hash(core.keys.pepper()),
            user_id: user.id.clone(),
            stage: stage.as_str().into(),
            created_at_ms: now,
            last_seen_ms: now,
            expires_at_ms,
            source_ip: Some(ip.to_string()),
            revoked_at_ms: None,
        })
        .await?;
    let body = LoginResponse {
        stage: stage.as_str().into(),
        csrf_token: secret.csrf_token(core.keys.pepper()),
        user: UserView::from(user),
        expires_at_ms,
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        SET_COOKIE,
        session_cookie(Some(&secret.cookie_value()), lifetime.as_secs())?,
    );
    Ok((headers, Json(body)).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SecondFactor {
    /// The 6-digit code the authenticator app shows.
    pub code: Option<String>,
    /// Or one of the one-time recovery codes.
    pub recovery_code: Option<String>,
}

/// Where the session stands after a step of login.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct StageView {
    pub stage: String,
}

/// Completes a login with the TOTP code or a recovery code.
#[utoipa::path(post, path = "/api/auth/mfa", tag = "auth", request_body = SecondFactor,
    responses((status = 200, description = "Second factor accepted", body = StageView)))]
async fn second_factor(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<SecondFactor>,
) -> Result<Json<StageView>, ApiError> {
    let core = &state.core;
    let Credential::Session {
        id_hash,
        stage,
        user_id,
    } = &caller.credential
    else {
        return Err(ApiError::Forbidden("log in with a password first".into()));
    };
    if *stage != Stage::SecondFactor {
        return Err(ApiError::Conflict(
            "no second factor is pending for this session".into(),
        ));
    }
    let user =
        core.store.user(user_id).await?.ok_or_else(|| {
            ApiError::Unauthenticated("your session has ended; log in again".into())
        })?;
    if let Some(until) = crate::api::users::locked_until(&user, SystemTime::now()) {
        return Err(locked(until));
    }
    let settings = core.access.snapshot().await?.settings(&user.account);
    let used = match (&request.code, &request.recovery_code) {
        (Some(code), None) => verify_totp(core, &user, code)
            .await
            .map(|()| "password+totp"),
        (None, Some(recovery)) => use_recovery_code(core, &user, recovery, caller.ip)
            .await
            .map(|()| "password+recovery_code"),
        _ => {
            return Err(ApiError::BadRequest(
                "send either `code` (from the authenticator app) or `recovery_code`".into(),
            ));
        }
    };
    let factors = match used {
        Ok(factors) => factors,
        Err(error @ ApiError::BadRequest(_)) => return Err(error),
        Err(error) => {
            record_user_failure(
                core,
                &user,
                &settings.user_lockout(),
                caller.ip,
                "wrong second factor",
            )
            .await?;
            return Err(error);
        }
    };
    clear_failures(core, &user).await?;
    let next = Stage::after_factors(user.must_change_password, false);
    core.store.set_session_stage(id_hash, next.as_str()).await?;
    login_succeeded(core, &user, caller.ip, factors).await?;
    Ok(Json(StageView {
        stage: next.as_str().into(),
    }))
}

/// The user's TOTP seed, opened.
pub(crate) fn totp_secret(core: &Core, user: &User, sealed: &[u8]) -> Result<TotpSecret, ApiError> {
    let seed = core.keys.open(TOTP_SEALED, &[user.id.as_bytes()], sealed)?;
    TotpSecret::from_bytes(seed.expose()).map_err(|e| ApiError::internal("a stored TOTP seed", e))
}

/// Checks a TOTP code of an enrolled user and consumes its time step, so
/// it is never accepted twice (RFC 6238 §5.2), even by another replica.
pub(crate) async fn verify_totp(core: &Core, user: &User, code: &str) -> Result<(), ApiError> {
    let sealed = user
        .totp_secret_sealed
        .as_deref()
        .ok_or_else(|| ApiError::Conflict("two-factor authentication is not enabled".into()))?;
    let secret = totp_secret(core, user, sealed)?;
    let last = user.totp_last_step.and_then(|s| u64::try_from(s).ok());
    let step = secret
        .verify(code, SystemTime::now(), last)
        .map_err(|e| match e {
            totp::TotpError::MalformedCode => ApiError::BadRequest(e.to_string()),
            other => ApiError::Unauthenticated(other.to_string()),
        })?;
    let step = i64::try_from(step).map_err(|e| ApiError::internal("", e))?;
    if !core.store.advance_totp_step(&user.id, step).await? {
        return Err(ApiError::Unauthenticated(
            totp::TotpError::Replayed.to_string(),
        ));
    }
    Ok(())
}

/// The stored form of recovery-code hashes.
pub(crate) fn encode_recovery(hashes: &[StoredHash]) -> Vec<u8> {
    let encoded: Vec<String> = hashes.iter().map(StoredHash::to_encoded).collect();
    serde_json::to_vec(&encoded).unwrap_or_default()
}

fn decode_recovery(bytes: &[u8]) -> Result<Vec<StoredHash>, ApiError> {
    let encoded: Vec<String> = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::internal("stored recovery codes", e))?;
    encoded
        .iter()
        .map(|h| {
            StoredHash::from_encoded(h).map_err(|e| ApiError::internal("stored recovery codes", e))
        })
        .collect()
}

async fn use_recovery_code(
    core: &Core,
    user: &User,
    typed: &str,
    ip: IpAddr,
) -> Result<(), ApiError> {
    let wrong =
        || ApiError::Unauthenticated("the recovery code is wrong or was already used".into());
    let stored = user.recovery_codes.as_deref().ok_or_else(wrong)?;
    let mut hashes = decode_recovery(stored)?;
    if !totp::consume_recovery_code(typed, &mut hashes, core.keys.pepper()) {
        return Err(wrong());
    }
    core.store
        .set_recovery_codes(&user.id, &encode_recovery(&hashes), now_ms())
        .await?;
    core.audit
        .record(
            Entry::new(
                &user.account,
                Actor::User {
                    id: user.id.clone(),
                },
                AuditAction::RecoveryCodeUsed,
                "USER",
            )
            .id(&user.id)
            .ip(ip)
            .details(serde_json::json!({"remaining": hashes.len()})),
        )
        .await
}

/// Ends this session (its cookie is cleared too).
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth",
    responses((status = 204, description = "Logged out; the cookie is cleared")))]
async fn logout(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let core = &state.core;
    let Credential::Session {
        id_hash, user_id, ..
    } = &caller.credential
    else {
        return Err(ApiError::BadRequest(
            "an API token has no session to end: revoke the token instead".into(),
        ));
    };
    core.store.revoke_session(id_hash, now_ms()).await?;
    core.audit
        .record(
            Entry::new(&caller.account, caller.actor(), AuditAction::Logout, "USER")
                .id(user_id)
                .ip(caller.ip),
        )
        .await?;
    let mut headers = HeaderMap::new();
    headers.insert(SET_COOKIE, session_cookie(None, 0)?);
    Ok((axum::http::StatusCode::NO_CONTENT, headers).into_response())
}
