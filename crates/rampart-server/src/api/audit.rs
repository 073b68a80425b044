//! The audit trail over the API: query with filters, page backwards from
//! the newest, and verify the hash chain. Permission `core_audit_view` on
//! the account.

use axum::Json;
use axum::extract::State;
use rampart_auth::audit::{Actor, Record};
use rampart_auth::rbac::{Permission, Resource, ResourceType, Scope};
use rampart_store::{AuditFilter, AuditRepo};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Query;
use crate::audit_log::{actor_key, name_of, verify_account};
use crate::authn::Caller;
use crate::error::ApiError;
use crate::http::AppState;
use crate::scope::ScopeView;

/// Records per page by default and at most.
const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(query_audit))
        .routes(routes!(verify_audit))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditQuery {
    /// Comma-separated actions, e.g. `LOGIN_FAILED,TOKEN_REVOKED`.
    pub action: Option<String>,
    /// `user:ID`, `service_account:ID`, `anonymous` or `system`.
    pub actor: Option<String>,
    /// `success`, `failure` or `denied`.
    pub outcome: Option<String>,
    /// e.g. `USER`, `TOKEN`, `ROLE_BINDING`.
    pub resource_kind: Option<String>,
    pub resource_id: Option<String>,
    /// Unix ms, inclusive.
    pub from_ms: Option<i64>,
    /// Unix ms, exclusive.
    pub to_ms: Option<i64>,
    /// Only records older than this seq (the previous page's `next_before_seq`).
    pub before_seq: Option<i64>,
    /// 1 to 1000 (default 100).
    pub limit: Option<u32>,
}

/// One audit record.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct AuditRecordView {
    pub seq: u64,
    pub time_ms: i64,
    /// `user:ID`, `service_account:ID`, `anonymous` or `system`.
    pub actor: String,
    /// For anonymous actors: the login name they tried, if any.
    pub claimed: Option<String>,
    pub action: String,
    pub resource_kind: String,
    pub resource_id: Option<String>,
    pub scope: Option<ScopeView>,
    pub source_ip: Option<String>,
    pub outcome: String,
    /// Action-specific facts (never a secret); `{}` when there are none.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

impl From<Record> for AuditRecordView {
    fn from(record: Record) -> Self {
        let event = record.event;
        let claimed = match &event.actor {
            Actor::Anonymous { claimed } => claimed.clone(),
            _ => None,
        };
        AuditRecordView {
            seq: event.seq,
            time_ms: event.time,
            actor: actor_key(&event.actor),
            claimed,
            action: name_of(&event.action),
            resource_kind: event.resource.kind,
            resource_id: event.resource.id,
            scope: event.scope.as_ref().map(ScopeView::from),
            source_ip: event.source_ip.map(|ip| ip.to_string()),
            outcome: name_of(&event.outcome),
            details: match event.details {
                serde_json::Value::Null => serde_json::json!({}),
                details => details,
            },
            prev_hash: record.prev_hash.to_string(),
            hash: record.hash.to_string(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct AuditPage {
    /// Newest first.
    pub records: Vec<AuditRecordView>,
    /// Pass as `before_seq` for the next (older) page; absent on the last.
    pub next_before_seq: Option<i64>,
}

async fn authorize(state: &AppState, caller: &Caller) -> Result<(), ApiError> {
    let resource = Resource::new(
        ResourceType::Audit,
        Scope::account(caller.account.as_str()),
        None,
    );
    caller
        .authorize(&state.core, Permission::AuditView, &resource)
        .await
}

/// The account's audit records matching the filters, newest first.
#[utoipa::path(get, path = "/api/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, description = "A page of records", body = AuditPage)))]
async fn query_audit(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    authorize(&state, &caller).await?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let filter = AuditFilter {
        actions: query
            .action
            .iter()
            .flat_map(|a| a.split(','))
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty())
            .collect(),
        actor: query.actor,
        resource_kind: query.resource_kind,
        resource_id: query.resource_id,
        outcome: query.outcome,
        from_ms: query.from_ms,
        to_ms: query.to_ms,
        before_seq: query.before_seq,
        limit,
    };
    let rows = state
        .core
        .store
        .audit_query(&caller.account, &filter)
        .await?;
    let full = rows.len() == usize::try_from(limit).unwrap_or(usize::MAX);
    let next_before_seq = if full {
        rows.last().map(|r| r.seq)
    } else {
        None
    };
    let records = rows
        .iter()
        .map(|row| {
            serde_json::from_str::<Record>(&row.record)
                .map(AuditRecordView::from)
                .map_err(|e| {
                    ApiError::internal("an unreadable audit record (run `rampart audit verify`)", e)
                })
        })
        .collect::<Result<_, _>>()?;
    Ok(Json(AuditPage {
        records,
        next_before_seq,
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct VerifyReport {
    /// True when every record is intact and the chain ends at its stored head.
    pub ok: bool,
    pub records: u64,
    /// What is wrong, naming the record.
    pub problem: Option<String>,
}

/// Recomputes the account's hash chain: detects modified, deleted,
/// inserted or reordered records and a truncated tail.
#[utoipa::path(get, path = "/api/audit/verify", tag = "audit",
    responses((status = 200, description = "The verdict", body = VerifyReport)))]
async fn verify_audit(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<VerifyReport>, ApiError> {
    authorize(&state, &caller).await?;
    let report = verify_account(&state.core.store, &caller.account).await?;
    Ok(Json(VerifyReport {
        ok: report.problem.is_none(),
        records: report.records,
        problem: report.problem,
    }))
}
