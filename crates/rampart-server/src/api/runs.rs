//! Runs: execute a pipeline with runtime inputs (the caller is the run's
//! executor: there is no system principal a trigger could borrow), list
//! and read them with their stages, steps and String outputs, abort and
//! re-run them. A run is authorized as its pipeline: `core_pipeline_view`
//! to read it and its log, `_execute` to start or re-run, `_abort` to stop.
//! The logs themselves are in [`super::logs`].

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rampart_auth::audit::AuditAction;
use rampart_auth::rbac::{Permission, PrincipalKind, Resource, ResourceType, Scope};
use rampart_pipeline::Inputs;
use rampart_store::{PipelineRepo, QUEUED, RunFilter, RunNode, RunRepo, RunRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::pipelines::{ProjectQuery, checked, load_for_run};
use super::{Body, Path, Query};
use crate::audit_log::Entry;
use crate::authn::Caller;
use crate::backend::Core;
use crate::error::ApiError;
use crate::http::AppState;
use crate::runner::ExecutorLimits;
use crate::scope::{check_identifier, new_id, now_ms};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start_run))
        .routes(routes!(list_runs))
        .routes(routes!(get_run))
        .routes(routes!(abort_run))
        .routes(routes!(rerun))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct ExecutorView {
    /// `user` or `service_account`.
    pub kind: String,
    /// The principal id.
    pub id: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct RunView {
    pub id: String,
    pub org: String,
    pub project: String,
    pub pipeline: String,
    pub pipeline_version: i64,
    /// `<+pipeline.sequenceId>`: 1, 2, ... per pipeline.
    pub sequence_id: i64,
    /// `Queued`, `Running`, then `Success`, `Failed`, `IgnoreFailed`, `Aborted` or `Expired`.
    pub status: String,
    /// Who the run acts as.
    pub executor: ExecutorView,
    /// The runtime inputs as given.
    pub inputs: BTreeMap<String, String>,
    /// Why it ended as it did.
    pub message: Option<String>,
    pub rerun_of: Option<String>,
    pub queued_at_ms: i64,
    pub started_at_ms: Option<i64>,
    pub finished_at_ms: Option<i64>,
    pub duration_ms: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct StepView {
    /// The step's id (step groups joined by `.`, iterations suffixed `_0`, `_1`, ...).
    pub step: String,
    pub name: String,
    pub status: String,
    pub started_at_ms: Option<i64>,
    pub finished_at_ms: Option<i64>,
    pub duration_ms: Option<i64>,
    pub message: Option<String>,
    /// String outputs (Secret outputs are never returned).
    pub outputs: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct StageView {
    pub stage: String,
    pub name: String,
    pub status: String,
    pub started_at_ms: Option<i64>,
    pub finished_at_ms: Option<i64>,
    pub duration_ms: Option<i64>,
    pub message: Option<String>,
    pub steps: Vec<StepView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct RunDetail {
    #[serde(flatten)]
    pub run: RunView,
    /// In the order they started (or were decided on).
    pub stages: Vec<StageView>,
}

pub(crate) fn run_view(row: &RunRow) -> RunView {
    RunView {
        id: row.id.clone(),
        org: row.pipeline.org.clone(),
        project: row.pipeline.project.clone(),
        pipeline: row.pipeline.identifier.clone(),
        pipeline_version: row.pipeline_version,
        sequence_id: row.sequence_id,
        status: row.status.clone(),
        executor: ExecutorView {
            kind: row.executor_kind.clone(),
            id: row.executor_id.clone(),
        },
        inputs: serde_json::from_str(&row.inputs_json).unwrap_or_default(),
        message: row.message.clone(),
        rerun_of: row.rerun_of.clone(),
        queued_at_ms: row.queued_at_ms,
        started_at_ms: row.started_at_ms,
        finished_at_ms: row.finished_at_ms,
        duration_ms: row
            .started_at_ms
            .zip(row.finished_at_ms)
            .map(|(start, end)| end - start),
    }
}

fn stages_of(nodes: Vec<RunNode>) -> Vec<StageView> {
    let mut stages: Vec<StageView> = Vec::new();
    let mut steps: Vec<RunNode> = Vec::new();
    for node in nodes {
        if node.kind == "stage" {
            stages.push(StageView {
                stage: node.stage,
                name: node.name,
                status: node.status,
                started_at_ms: node.started_at_ms,
                finished_at_ms: node.finished_at_ms,
                duration_ms: node.duration_ms,
                message: node.message,
                steps: Vec::new(),
            });
        } else {
            steps.push(node);
        }
    }
    for node in steps {
        let step = StepView {
            step: node.step,
            name: node.name,
            status: node.status,
            started_at_ms: node.started_at_ms,
            finished_at_ms: node.finished_at_ms,
            duration_ms: node.duration_ms,
            message: node.message,
            outputs: serde_json::from_str(&node.outputs_json).unwrap_or_default(),
        };
        match stages.iter_mut().find(|stage| stage.stage == node.stage) {
            Some(stage) => stage.steps.push(step),
            None => stages.push(StageView {
                stage: node.stage.clone(),
                name: node.stage,
                status: step.status.clone(),
                started_at_ms: None,
                finished_at_ms: None,
                duration_ms: None,
                message: None,
                steps: vec![step],
            }),
        }
    }
    stages
}

/// A run's pipeline, as the resource its permissions are checked on.
pub(crate) fn resource_of(run: &RunRow) -> Resource {
    Resource::new(
        ResourceType::Pipeline,
        Scope::project(
            run.pipeline.account.as_str(),
            run.pipeline.org.as_str(),
            run.pipeline.project.as_str(),
        ),
        Some(run.pipeline.identifier.clone()),
    )
}

/// Reads a run of the caller's account (404 otherwise) and authorizes.
pub(crate) async fn checked_run(
    core: &Core,
    caller: &Caller,
    run_id: &str,
    permission: Permission,
) -> Result<RunRow, ApiError> {
    let missing = || ApiError::NotFound(format!("no run `{run_id}`"));
    if run_id.len() > 64
        || !run_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(ApiError::BadRequest(format!(
            "`{}` is not a run id (runs are named r_...)",
            crate::scope::shorten(run_id)
        )));
    }
    let run = core.store.run(run_id).await?.ok_or_else(missing)?;
    if run.pipeline.account != caller.account {
        return Err(missing());
    }
    caller
        .authorize(core, permission, &resource_of(&run))
        .await?;
    Ok(run)
}

async fn audit(
    core: &Core,
    caller: &Caller,
    action: AuditAction,
    run: &RunRow,
) -> Result<(), ApiError> {
    core.audit
        .record(
            Entry::new(&caller.account, caller.actor(), action, "PIPELINE")
                .id(&run.pipeline.identifier)
                .scope(&resource_of(run).scope)
                .ip(caller.ip)
                .details(serde_json::json!({
                    "run_id": run.id,
                    "pipeline_version": run.pipeline_version,
                    "rerun_of": run.rerun_of,
                })),
        )
        .await
}

/// Queues a run of `version` (YAML `yaml`) with `inputs`, as the caller.
async fn enqueue(
    core: &Core,
    caller: &Caller,
    key: rampart_store::PipelineKey,
    version: i64,
    yaml: &str,
    inputs: BTreeMap<String, String>,
    rerun_of: Option<String>,
) -> Result<RunRow, ApiError> {
    load_for_run(
        yaml,
        &Inputs {
            values: inputs.clone(),
        },
    )?;
    let principal = &caller.principal;
    let limits = ExecutorLimits {
        permissions: principal
            .allowed_permissions
            .as_ref()
            .map(|set| set.iter().copied().collect()),
        scope: principal.scope_limit.clone(),
    };
    let limited = limits.permissions.is_some() || limits.scope.is_some();
    let row = RunRow {
        id: new_id("r_")?,
        pipeline: key,
        pipeline_version: version,
        sequence_id: 0,
        status: QUEUED.into(),
        executor_kind: match principal.kind {
            PrincipalKind::User => "user",
            PrincipalKind::ServiceAccount => "service_account",
        }
        .into(),
        executor_id: principal.id.clone(),
        executor_limits_json: if limited {
            Some(
                serde_json::to_string(&limits)
                    .map_err(|e| ApiError::internal("cannot record a run's executor", e))?,
            )
        } else {
            None
        },
        inputs_json: serde_json::to_string(&inputs)
            .map_err(|e| ApiError::internal("cannot record a run's inputs", e))?,
        message: None,
        rerun_of,
        queued_at_ms: now_ms(),
        started_at_ms: None,
        finished_at_ms: None,
        abort_requested: false,
        runner: None,
        lease_until_ms: None,
        summary_json: None,
    };
    let stored = core.store.enqueue_run(&row).await?;
    core.runs.notify_queued();
    audit(core, caller, AuditAction::RunQueued, &stored).await?;
    Ok(stored)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewRun {
    /// Values for the pipeline's `<+input>` fields (as `rampart run --input k=v`).
    #[serde(default)]
    pub inputs: BTreeMap<String, String>,
}

#[utoipa::path(post, path = "/api/pipelines/{pipeline}/runs", tag = "runs", request_body = NewRun,
    params(ProjectQuery, ("pipeline" = String, Path, description = "The pipeline's identifier")),
    responses((status = 201, description = "Queued; the caller is its executor", body = RunView)))]
async fn start_run(
    State(state): State<AppState>,
    caller: Caller,
    Path(identifier): Path<String>,
    Query(query): Query<ProjectQuery>,
    Body(new): Body<NewRun>,
) -> Result<(StatusCode, Json<RunView>), ApiError> {
    let core = &state.core;
    let (_, pipeline) = checked(
        core,
        &caller,
        &query,
        &identifier,
        Permission::PipelineExecute,
    )
    .await?;
    let key = query.key(&caller.account, &identifier);
    let run = enqueue(
        core,
        &caller,
        key,
        pipeline.version,
        &pipeline.yaml,
        new.inputs,
        None,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(run_view(&run))))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct RunQuery {
    /// Only this organization's runs.
    pub org: Option<String>,
    /// Only this project's runs (needs `org`).
    pub project: Option<String>,
    /// Only this pipeline's runs (needs `org` and `project`).
    pub pipeline: Option<String>,
    /// Only runs with this status (`Queued`, `Running`, `Success`, ...).
    pub status: Option<String>,
    /// Paging: only runs queued before this run.
    pub before: Option<String>,
    /// At most this many (default 50, at most 1000).
    pub limit: Option<u32>,
}

const STATUSES: [&str; 8] = [
    "Queued",
    "Running",
    "Success",
    "Failed",
    "IgnoreFailed",
    "Aborted",
    "Expired",
    "Skipped",
];

#[utoipa::path(get, path = "/api/runs", tag = "runs", params(RunQuery),
    responses((status = 200, description = "Runs the caller may view, newest first", body = [RunView])))]
async fn list_runs(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<RunQuery>,
) -> Result<Json<Vec<RunView>>, ApiError> {
    let core = &state.core;
    for (what, value) in [
        ("org", &query.org),
        ("project", &query.project),
        ("pipeline", &query.pipeline),
    ] {
        if let Some(value) = value {
            check_identifier(what, value)?;
        }
    }
    if query.project.is_some() && query.org.is_none()
        || query.pipeline.is_some() && query.project.is_none()
    {
        return Err(ApiError::BadRequest(
            "`project` needs `org`, and `pipeline` needs `org` and `project`".into(),
        ));
    }
    if let Some(status) = &query.status
        && !STATUSES.contains(&status.as_str())
    {
        return Err(ApiError::BadRequest(format!(
            "unknown status `{}`; one of: {}",
            crate::scope::shorten(status),
            STATUSES.join(", ")
        )));
    }
    let limit = query.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest("`limit` must be 1 to 1000".into()));
    }
    // A named project (or pipeline) is a question about it: with nothing
    // visible and no view permission over it, the answer is a denial
    // (audited), as for the project's pipeline list.
    let named = match (&query.org, &query.project) {
        (Some(org), Some(project)) => Some(Resource::new(
            ResourceType::Pipeline,
            Scope::project(caller.account.as_str(), org.as_str(), project.as_str()),
            query.pipeline.clone(),
        )),
        _ => None,
    };
    let filter = RunFilter {
        org: query.org,
        project: query.project,
        pipeline: query.pipeline,
        status: query.status,
        before: query.before,
        limit,
    };
    let mut shown = Vec::new();
    for run in core.store.runs(&caller.account, &filter).await? {
        if caller
            .allowed(core, Permission::PipelineView, &resource_of(&run))
            .await?
        {
            shown.push(run_view(&run));
        }
    }
    if let Some(resource) = named
        && shown.is_empty()
    {
        caller
            .authorize(core, Permission::PipelineView, &resource)
            .await?;
    }
    Ok(Json(shown))
}

#[utoipa::path(get, path = "/api/runs/{run}", tag = "runs",
    params(("run" = String, Path, description = "The run's id")),
    responses((status = 200, description = "The run with its stages and steps", body = RunDetail)))]
async fn get_run(
    State(state): State<AppState>,
    caller: Caller,
    Path(run_id): Path<String>,
) -> Result<Json<RunDetail>, ApiError> {
    let core = &state.core;
    let run = checked_run(core, &caller, &run_id, Permission::PipelineView).await?;
    let nodes = core.store.nodes(&run.id).await?;
    Ok(Json(RunDetail {
        run: run_view(&run),
        stages: stages_of(nodes),
    }))
}

#[utoipa::path(post, path = "/api/runs/{run}/abort", tag = "runs",
    params(("run" = String, Path, description = "The run's id")),
    responses((status = 202, description = "A queued run is aborted at once; a running one stops shortly", body = RunView)))]
async fn abort_run(
    State(state): State<AppState>,
    caller: Caller,
    Path(run_id): Path<String>,
) -> Result<(StatusCode, Json<RunView>), ApiError> {
    let core = &state.core;
    let run = checked_run(core, &caller, &run_id, Permission::PipelineAbort).await?;
    let message = format!("aborted by {}", caller.principal.id);
    let run = core
        .store
        .request_abort(&run.id, "Aborted", &message, now_ms())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no run `{run_id}`")))?;
    if run.abort_requested {
        core.runs.abort_local(&run.id);
    }
    audit(core, &caller, AuditAction::RunAborted, &run).await?;
    Ok((StatusCode::ACCEPTED, Json(run_view(&run))))
}

#[utoipa::path(post, path = "/api/runs/{run}/rerun", tag = "runs",
    params(("run" = String, Path, description = "The run's id")),
    responses((status = 201, description = "A new run of the same pipeline version and inputs, with the caller as executor", body = RunView)))]
async fn rerun(
    State(state): State<AppState>,
    caller: Caller,
    Path(run_id): Path<String>,
) -> Result<(StatusCode, Json<RunView>), ApiError> {
    let core = &state.core;
    let old = checked_run(core, &caller, &run_id, Permission::PipelineExecute).await?;
    let version = core
        .store
        .pipeline_version(&old.pipeline, old.pipeline_version)
        .await?
        .ok_or_else(|| {
            ApiError::Conflict(format!(
                "version {} of pipeline `{}` no longer exists (the pipeline was deleted); run the pipeline afresh",
                old.pipeline_version, old.pipeline.identifier
            ))
        })?;
    let inputs = serde_json::from_str(&old.inputs_json).unwrap_or_default();
    let run = enqueue(
        core,
        &caller,
        old.pipeline.clone(),
        version.version,
        &version.yaml,
        inputs,
        Some(old.id.clone()),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(run_view(&run))))
}
