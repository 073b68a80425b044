//! Account authentication settings and the IP allowlist, with a "test this
//! address" endpoint. Permissions `core_authsetting_view` / `_edit`. Saving
//! an allowlist that would shut out the caller's own address is refused
//! with an explanation.

use std::net::IpAddr;

use axum::Json;
use axum::extract::State;
use rampart_auth::allowlist::{self, Allowlist, AllowlistEntry, AppliesTo, Surface};
use rampart_auth::audit::AuditAction;
use rampart_auth::rbac::{Permission, Resource, ResourceType, Scope};
use rampart_store::{AccessObject, AccessRepo, ObjectKind, Precondition};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Body;
use crate::audit_log::Entry;
use crate::authn::{Caller, Credential};
use crate::backend::Core;
use crate::error::ApiError;
use crate::http::AppState;
use crate::scope::{check_identifier, key_of, now_ms};
use crate::settings::{AUTH_SETTINGS_ID, AuthSettings, IP_ALLOWLIST_ID};

/// Entries an allowlist may have at most.
const MAX_ENTRIES: usize = 1000;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(get_allowlist, put_allowlist))
        .routes(routes!(test_ip))
}

fn settings_resource(caller: &Caller) -> Resource {
    Resource::new(
        ResourceType::AuthSetting,
        Scope::account(caller.account.as_str()),
        None,
    )
}

async fn save(
    core: &Core,
    caller: &Caller,
    kind: ObjectKind,
    id: &str,
    body: String,
) -> Result<(), ApiError> {
    let now = now_ms();
    core.store
        .put_object(
            &AccessObject {
                scope: key_of(&Scope::account(caller.account.as_str())),
                kind,
                identifier: id.into(),
                body,
                version: 0,
                created_at_ms: now,
                updated_at_ms: now,
            },
            Precondition::Any,
        )
        .await?;
    core.access.note_change().await
}

/// The account's authentication settings.
#[utoipa::path(get, path = "/api/auth-settings", tag = "settings",
    responses((status = 200, description = "Settings", body = AuthSettings)))]
async fn get_settings(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<AuthSettings>, ApiError> {
    let core = &state.core;
    caller
        .authorize(
            core,
            Permission::AuthSettingView,
            &settings_resource(&caller),
        )
        .await?;
    Ok(Json(
        core.access.snapshot().await?.settings(&caller.account),
    ))
}

/// Replaces the account's authentication settings (missing fields take
/// their defaults).
#[utoipa::path(put, path = "/api/auth-settings", tag = "settings", request_body = AuthSettings,
    responses((status = 200, description = "Saved", body = AuthSettings)))]
async fn put_settings(
    State(state): State<AppState>,
    caller: Caller,
    Body(settings): Body<AuthSettings>,
) -> Result<Json<AuthSettings>, ApiError> {
    let core = &state.core;
    caller
        .authorize(
            core,
            Permission::AuthSettingEdit,
            &settings_resource(&caller),
        )
        .await?;
    settings.validate()?;
    let before = core.access.snapshot().await?.settings(&caller.account);
    let body = serde_json::to_string(&settings).map_err(|e| ApiError::internal("", e))?;
    save(
        core,
        &caller,
        ObjectKind::AuthSettings,
        AUTH_SETTINGS_ID,
        body,
    )
    .await?;
    let action = if before.two_factor_enforced != settings.two_factor_enforced {
        AuditAction::TwoFactorEnforcementChanged
    } else {
        AuditAction::AuthSettingsUpdated
    };
    core.audit
        .record(
            Entry::new(&caller.account, caller.actor(), action, "AUTH_SETTING")
                .id(AUTH_SETTINGS_ID)
                .ip(caller.ip)
                .details(serde_json::to_value(&settings).unwrap_or_default()),
        )
        .await?;
    Ok(Json(settings))
}

/// One allowlist entry as the API writes it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EntryView {
    /// An identifier naming the entry.
    pub name: String,
    /// An IPv4 or IPv6 address or CIDR block, e.g. `203.0.113.0/24`.
    pub cidr: String,
    /// `ui`, `api` or `both`.
    #[schema(value_type = String, example = "both")]
    pub applies_to: AppliesTo,
}

/// The account's IP allowlist. Disabled or without entries for a surface,
/// it lets every address reach that surface.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AllowlistView {
    pub enabled: bool,
    pub entries: Vec<EntryView>,
}

impl From<&Allowlist> for AllowlistView {
    fn from(list: &Allowlist) -> Self {
        AllowlistView {
            enabled: list.enabled,
            entries: list
                .entries
                .iter()
                .map(|e| EntryView {
                    name: e.name.clone(),
                    cidr: e.cidr.to_string(),
                    applies_to: e.applies_to,
                })
                .collect(),
        }
    }
}

impl AllowlistView {
    fn parse(&self) -> Result<Allowlist, ApiError> {
        if self.entries.len() > MAX_ENTRIES {
            return Err(ApiError::BadRequest(format!(
                "an allowlist holds at most {MAX_ENTRIES} entries"
            )));
        }
        let entries = self
            .entries
            .iter()
            .map(|e| {
                check_identifier("entry name", &e.name)?;
                AllowlistEntry::parse(e.name.clone(), &e.cidr, e.applies_to)
                    .map_err(|error| ApiError::BadRequest(error.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Allowlist {
            enabled: self.enabled,
            entries,
        })
    }
}

#[utoipa::path(get, path = "/api/ip-allowlist", tag = "settings",
    responses((status = 200, description = "The allowlist", body = AllowlistView)))]
async fn get_allowlist(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<AllowlistView>, ApiError> {
    let core = &state.core;
    caller
        .authorize(
            core,
            Permission::AuthSettingView,
            &settings_resource(&caller),
        )
        .await?;
    let snapshot = core.access.snapshot().await?;
    Ok(Json(
        snapshot
            .allowlist(&caller.account)
            .map(AllowlistView::from)
            .unwrap_or(AllowlistView {
                enabled: false,
                entries: Vec::new(),
            }),
    ))
}

/// The surface the caller is on now: a session is the UI, a token the API.
fn surface_of(caller: &Caller) -> Surface {
    match caller.credential {
        Credential::Session { .. } => Surface::Ui,
        Credential::Token { .. } => Surface::Api,
    }
}

/// Replaces the allowlist; refused if it would block the caller's own
/// address on the surface they are using.
#[utoipa::path(put, path = "/api/ip-allowlist", tag = "settings", request_body = AllowlistView,
    responses((status = 200, description = "Saved", body = AllowlistView)))]
async fn put_allowlist(
    State(state): State<AppState>,
    caller: Caller,
    Body(view): Body<AllowlistView>,
) -> Result<Json<AllowlistView>, ApiError> {
    let core = &state.core;
    caller
        .authorize(
            core,
            Permission::AuthSettingEdit,
            &settings_resource(&caller),
        )
        .await?;
    let list = view.parse()?;
    if let Some(explanation) = allowlist::would_lock_out(&list, caller.ip, surface_of(&caller)) {
        return Err(ApiError::Conflict(explanation));
    }
    let body = serde_json::to_string(&list).map_err(|e| ApiError::internal("", e))?;
    save(
        core,
        &caller,
        ObjectKind::IpAllowlist,
        IP_ALLOWLIST_ID,
        body,
    )
    .await?;
    let saved = AllowlistView::from(&list);
    core.audit
        .record(
            Entry::new(
                &caller.account,
                caller.actor(),
                AuditAction::AllowlistUpdated,
                "IP_ALLOWLIST",
            )
            .id(IP_ALLOWLIST_ID)
            .ip(caller.ip)
            .details(serde_json::to_value(&saved).unwrap_or_default()),
        )
        .await?;
    Ok(Json(saved))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct IpTestRequest {
    #[schema(value_type = String, example = "203.0.113.7")]
    pub ip: IpAddr,
    /// `ui` or `api`.
    #[schema(value_type = String, example = "api")]
    pub surface: Surface,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct IpTestResult {
    pub allowed: bool,
    /// The entry that lets the address in, if one does.
    pub matched_entry: Option<String>,
}

/// Whether the saved allowlist lets an address reach a surface.
#[utoipa::path(post, path = "/api/ip-allowlist/test", tag = "settings", request_body = IpTestRequest,
    responses((status = 200, description = "The answer", body = IpTestResult)))]
async fn test_ip(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<IpTestRequest>,
) -> Result<Json<IpTestResult>, ApiError> {
    let core = &state.core;
    caller
        .authorize(
            core,
            Permission::AuthSettingView,
            &settings_resource(&caller),
        )
        .await?;
    let snapshot = core.access.snapshot().await?;
    let empty = Allowlist::default();
    let list = snapshot.allowlist(&caller.account).unwrap_or(&empty);
    let answer = list.test_ip(request.ip, request.surface);
    Ok(Json(IpTestResult {
        allowed: answer.allowed,
        matched_entry: answer.matched.map(|e| e.name.clone()),
    }))
}
