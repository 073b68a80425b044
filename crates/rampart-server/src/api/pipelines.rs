//! Pipelines at project scope (`?org=&project=`, both required): Harness
//! v0 YAML, validated when saved (problems located by line and column),
//! with every saved version kept. Permissions `core_pipeline_view`,
//! `_edit`, `_delete`; running them is in [`super::runs`].

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rampart_auth::audit::AuditAction;
use rampart_auth::rbac::{Permission, Resource, ResourceType, Scope};
use rampart_pipeline::{Diagnostics, Inputs, ValidPipeline, ValidateOptions};
use rampart_store::{PipelineKey, PipelineRepo, PipelineRow, PipelineVersion, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Body, Path, Query, no_content};
use crate::audit_log::Entry;
use crate::authn::Caller;
use crate::backend::Core;
use crate::error::{ApiError, Problem};
use crate::http::AppState;
use crate::scope::{check_identifier, ensure_exists, now_ms};

/// The name problems are reported under.
const FILE: &str = "pipeline.yaml";

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_pipelines, create_pipeline))
        .routes(routes!(get_pipeline, put_pipeline, delete_pipeline))
        .routes(routes!(list_versions))
        .routes(routes!(get_version))
}

/// A project: the scope pipelines (and runs) live in.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ProjectQuery {
    /// The project's organization.
    pub org: String,
    /// The project.
    pub project: String,
}

impl ProjectQuery {
    pub fn scope(&self, account: &str) -> Result<Scope, ApiError> {
        check_identifier("org", &self.org)?;
        check_identifier("project", &self.project)?;
        Ok(Scope::project(
            account,
            self.org.as_str(),
            self.project.as_str(),
        ))
    }

    pub fn key(&self, account: &str, identifier: &str) -> PipelineKey {
        PipelineKey {
            account: account.to_owned(),
            org: self.org.clone(),
            project: self.project.clone(),
            identifier: identifier.to_owned(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct PipelineView {
    pub identifier: String,
    pub name: String,
    pub org: String,
    pub project: String,
    /// 1 when created; each saved change adds one.
    pub version: i64,
    /// The YAML as saved (left out of lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub yaml: Option<String>,
    /// Principal id of who saved the latest version.
    pub updated_by: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

fn view(row: PipelineRow, with_yaml: bool) -> PipelineView {
    PipelineView {
        identifier: row.identifier,
        name: row.name,
        org: row.org,
        project: row.project,
        version: row.version,
        yaml: with_yaml.then_some(row.yaml),
        updated_by: row.updated_by,
        created_at_ms: row.created_at_ms,
        updated_at_ms: row.updated_at_ms,
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct VersionView {
    pub version: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub yaml: Option<String>,
    pub updated_by: String,
    pub created_at_ms: i64,
}

fn version_view(row: PipelineVersion, with_yaml: bool) -> VersionView {
    VersionView {
        version: row.version,
        yaml: with_yaml.then_some(row.yaml),
        updated_by: row.updated_by,
        created_at_ms: row.created_at_ms,
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewPipeline {
    /// Harness v0 pipeline YAML (one `pipeline:` document).
    pub yaml: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PipelineUpdate {
    /// Harness v0 pipeline YAML; its `pipeline.identifier` must be the path's.
    pub yaml: String,
    /// Save only if the latest version is still this one (409 otherwise).
    pub expected_version: Option<i64>,
}

fn resource(scope: &Scope, identifier: Option<&str>) -> Resource {
    Resource::new(
        ResourceType::Pipeline,
        scope.clone(),
        identifier.map(str::to_owned),
    )
}

/// Diagnostics as the API reports them.
pub(crate) fn invalid(diagnostics: &Diagnostics) -> ApiError {
    ApiError::InvalidPipeline {
        message: diagnostics.to_string().trim_end().to_owned(),
        problems: diagnostics
            .items
            .iter()
            .map(|d| Problem {
                line: d.loc.line,
                col: d.loc.col,
                message: d.message.clone(),
                help: d.help.clone(),
            })
            .collect(),
    }
}

/// The one pipeline in `yaml`, loaded with `inputs` (`None`: runtime
/// inputs left open, as when saving) and validated.
fn load_one(yaml: &str, inputs: Option<&Inputs>) -> Result<ValidPipeline, ApiError> {
    let mut pipelines = rampart_pipeline::load(FILE, yaml, inputs).map_err(|d| invalid(&d))?;
    if pipelines.len() != 1 {
        return Err(ApiError::BadRequest(format!(
            "the YAML holds {} pipelines; save one pipeline per document",
            pipelines.len()
        )));
    }
    let pipeline = pipelines.remove(0);
    let options = ValidateOptions {
        secrets_available: true,
    };
    rampart_pipeline::validate(FILE, pipeline, &options).map_err(|d| invalid(&d))
}

/// A stored pipeline version, with a run's inputs, ready to execute.
pub(crate) fn load_for_run(yaml: &str, inputs: &Inputs) -> Result<ValidPipeline, ApiError> {
    load_one(yaml, Some(inputs))
}

/// Validates YAML saved at `scope`: its org and project, when it names
/// them, must be the scope's; returns its identifier and name.
fn check_yaml(yaml: &str, query: &ProjectQuery) -> Result<(String, String), ApiError> {
    let valid = load_one(yaml, None)?;
    let pipeline = valid.pipeline();
    for (what, named, scope) in [
        ("orgIdentifier", &pipeline.org_identifier, &query.org),
        (
            "projectIdentifier",
            &pipeline.project_identifier,
            &query.project,
        ),
    ] {
        if let Some(named) = named
            && named != scope
        {
            return Err(ApiError::BadRequest(format!(
                "the pipeline's {what} is `{named}`, but it is being saved in `{scope}`; make them match or leave {what} out"
            )));
        }
    }
    Ok((pipeline.identifier.clone(), pipeline.name.clone()))
}

async fn audit(
    core: &Core,
    caller: &Caller,
    action: AuditAction,
    scope: &Scope,
    identifier: &str,
    version: Option<i64>,
) -> Result<(), ApiError> {
    core.audit
        .record(
            Entry::new(&caller.account, caller.actor(), action, "PIPELINE")
                .id(identifier)
                .scope(scope)
                .ip(caller.ip)
                .details(serde_json::json!({"version": version})),
        )
        .await
}

/// Authorizes, then reads the pipeline (404 if there is none).
pub(crate) async fn checked(
    core: &Core,
    caller: &Caller,
    query: &ProjectQuery,
    identifier: &str,
    permission: Permission,
) -> Result<(Scope, PipelineRow), ApiError> {
    check_identifier("pipeline", identifier)?;
    let scope = query.scope(&caller.account)?;
    caller
        .authorize(core, permission, &resource(&scope, Some(identifier)))
        .await?;
    let row = core
        .store
        .pipeline(&query.key(&caller.account, identifier))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no pipeline `{identifier}` in {scope}")))?;
    Ok((scope, row))
}

#[utoipa::path(get, path = "/api/pipelines", tag = "pipelines", params(ProjectQuery),
    responses((status = 200, description = "The project's pipelines (without their YAML)", body = [PipelineView])))]
async fn list_pipelines(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ProjectQuery>,
) -> Result<Json<Vec<PipelineView>>, ApiError> {
    let core = &state.core;
    let scope = query.scope(&caller.account)?;
    let mut shown = Vec::new();
    let all = caller
        .allowed(core, Permission::PipelineView, &resource(&scope, None))
        .await?;
    for row in core
        .store
        .pipelines(&caller.account, &query.org, &query.project)
        .await?
    {
        if all
            || caller
                .allowed(
                    core,
                    Permission::PipelineView,
                    &resource(&scope, Some(&row.identifier)),
                )
                .await?
        {
            shown.push(view(row, false));
        }
    }
    if shown.is_empty() && !all {
        // Nothing visible: say so as a denial (audited) rather than an empty list.
        caller
            .authorize(core, Permission::PipelineView, &resource(&scope, None))
            .await?;
    }
    Ok(Json(shown))
}

async fn save(
    core: &Core,
    caller: &Caller,
    query: &ProjectQuery,
    yaml: String,
    expected: Option<Option<i64>>,
    path_identifier: Option<&str>,
) -> Result<(StatusCode, Json<PipelineView>), ApiError> {
    let scope = query.scope(&caller.account)?;
    if let Some(identifier) = path_identifier {
        check_identifier("pipeline", identifier)?;
    }
    let target = path_identifier.map(str::to_owned);
    caller
        .authorize(
            core,
            Permission::PipelineEdit,
            &resource(&scope, target.as_deref()),
        )
        .await?;
    let (identifier, name) = check_yaml(&yaml, query)?;
    if let Some(path) = path_identifier
        && path != identifier
    {
        return Err(ApiError::BadRequest(format!(
            "the YAML's pipeline.identifier is `{identifier}`, but the path names `{path}`"
        )));
    }
    if target.is_none() {
        caller
            .authorize(
                core,
                Permission::PipelineEdit,
                &resource(&scope, Some(&identifier)),
            )
            .await?;
    }
    ensure_exists(&core.store, &scope).await?;
    let key = query.key(&caller.account, &identifier);
    // `None`: apply (create, or update whatever version is current).
    let expected = match expected {
        Some(expected) => expected,
        None => core.store.pipeline(&key).await?.map(|row| row.version),
    };
    let now = now_ms();
    let row = PipelineRow {
        account: key.account.clone(),
        org: key.org.clone(),
        project: key.project.clone(),
        identifier: identifier.clone(),
        name,
        version: 0,
        yaml,
        updated_by: caller.principal.id.clone(),
        created_at_ms: now,
        updated_at_ms: now,
    };
    let saved = core
        .store
        .save_pipeline(&row, expected)
        .await
        .map_err(|error| match error {
            StoreError::Conflict(_) => ApiError::Conflict(match expected {
                None => format!("a pipeline `{identifier}` already exists in {scope}"),
                Some(version) => format!(
                    "pipeline `{identifier}` changed since version {version}; read it again and reapply your change"
                ),
            }),
            other => other.into(),
        })?;
    let (action, status) = if saved.version == 1 {
        (AuditAction::PipelineCreated, StatusCode::CREATED)
    } else {
        (AuditAction::PipelineUpdated, StatusCode::OK)
    };
    audit(
        core,
        caller,
        action,
        &scope,
        &identifier,
        Some(saved.version),
    )
    .await?;
    Ok((status, Json(view(saved, true))))
}

#[utoipa::path(post, path = "/api/pipelines", tag = "pipelines", params(ProjectQuery), request_body = NewPipeline,
    responses((status = 201, description = "Created", body = PipelineView)))]
async fn create_pipeline(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ProjectQuery>,
    Body(new): Body<NewPipeline>,
) -> Result<(StatusCode, Json<PipelineView>), ApiError> {
    save(&state.core, &caller, &query, new.yaml, Some(None), None).await
}

#[utoipa::path(put, path = "/api/pipelines/{pipeline}", tag = "pipelines", request_body = PipelineUpdate,
    params(ProjectQuery, ("pipeline" = String, Path, description = "The pipeline's identifier")),
    responses(
        (status = 200, description = "Updated: a new version", body = PipelineView),
        (status = 201, description = "Created", body = PipelineView)))]
async fn put_pipeline(
    State(state): State<AppState>,
    caller: Caller,
    Path(identifier): Path<String>,
    Query(query): Query<ProjectQuery>,
    Body(update): Body<PipelineUpdate>,
) -> Result<(StatusCode, Json<PipelineView>), ApiError> {
    let expected = update.expected_version.map(Some);
    save(
        &state.core,
        &caller,
        &query,
        update.yaml,
        expected,
        Some(&identifier),
    )
    .await
}

#[utoipa::path(get, path = "/api/pipelines/{pipeline}", tag = "pipelines",
    params(ProjectQuery, ("pipeline" = String, Path, description = "The pipeline's identifier")),
    responses((status = 200, description = "The pipeline with its YAML", body = PipelineView)))]
async fn get_pipeline(
    State(state): State<AppState>,
    caller: Caller,
    Path(identifier): Path<String>,
    Query(query): Query<ProjectQuery>,
) -> Result<Json<PipelineView>, ApiError> {
    let (_, row) = checked(
        &state.core,
        &caller,
        &query,
        &identifier,
        Permission::PipelineView,
    )
    .await?;
    Ok(Json(view(row, true)))
}

#[utoipa::path(delete, path = "/api/pipelines/{pipeline}", tag = "pipelines",
    params(ProjectQuery, ("pipeline" = String, Path, description = "The pipeline's identifier")),
    responses((status = 204, description = "Deleted with its history; its runs stay")))]
async fn delete_pipeline(
    State(state): State<AppState>,
    caller: Caller,
    Path(identifier): Path<String>,
    Query(query): Query<ProjectQuery>,
) -> Result<StatusCode, ApiError> {
    let core = &state.core;
    let (scope, _) = checked(
        core,
        &caller,
        &query,
        &identifier,
        Permission::PipelineDelete,
    )
    .await?;
    if !core
        .store
        .delete_pipeline(&query.key(&caller.account, &identifier))
        .await?
    {
        return Err(ApiError::NotFound(format!(
            "no pipeline `{identifier}` in {scope}"
        )));
    }
    audit(
        core,
        &caller,
        AuditAction::PipelineDeleted,
        &scope,
        &identifier,
        None,
    )
    .await?;
    Ok(no_content())
}

#[utoipa::path(get, path = "/api/pipelines/{pipeline}/versions", tag = "pipelines",
    params(ProjectQuery, ("pipeline" = String, Path, description = "The pipeline's identifier")),
    responses((status = 200, description = "Every saved version, newest first (without YAML)", body = [VersionView])))]
async fn list_versions(
    State(state): State<AppState>,
    caller: Caller,
    Path(identifier): Path<String>,
    Query(query): Query<ProjectQuery>,
) -> Result<Json<Vec<VersionView>>, ApiError> {
    let core = &state.core;
    checked(core, &caller, &query, &identifier, Permission::PipelineView).await?;
    let versions = core
        .store
        .pipeline_versions(&query.key(&caller.account, &identifier))
        .await?;
    Ok(Json(
        versions
            .into_iter()
            .map(|row| version_view(row, false))
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/pipelines/{pipeline}/versions/{version}", tag = "pipelines",
    params(ProjectQuery,
        ("pipeline" = String, Path, description = "The pipeline's identifier"),
        ("version" = i64, Path, description = "The version number")),
    responses((status = 200, description = "That version with its YAML", body = VersionView)))]
async fn get_version(
    State(state): State<AppState>,
    caller: Caller,
    Path((identifier, version)): Path<(String, i64)>,
    Query(query): Query<ProjectQuery>,
) -> Result<Json<VersionView>, ApiError> {
    let core = &state.core;
    let (scope, _) = checked(core, &caller, &query, &identifier, Permission::PipelineView).await?;
    let row = core
        .store
        .pipeline_version(&query.key(&caller.account, &identifier), version)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "pipeline `{identifier}` in {scope} has no version {version}"
            ))
        })?;
    Ok(Json(version_view(row, true)))
}
