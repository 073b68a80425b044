//! One claimed run, start to end: its pipeline version and inputs, the
//! engine with the local sandboxed executor, the run's secrets, its events
//! into the database and to live viewers, and its final state.

use std::collections::BTreeMap;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rampart_engine::{Engine, RunOptions};
use rampart_exec::{LocalConfig, LocalExecutor};
use rampart_mask::{MaskConfig, SecretSet};
use rampart_pipeline::{Inputs, ValidPipeline};
use rampart_store::{PipelineRepo, RunRepo, RunRow};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::hub::Update;
use super::secrets::RunSecrets;
use super::sink::{self, RunSink};
use super::{STOPPED_DURING_RUN, Stop, run_dir};
use crate::audit_log::Entry;
use crate::backend::Core;
use crate::scope::now_ms;

/// SLSA `builder.id` of runs on the server's embedded runner pool.
const EMBEDDED_BUILDER_ID: &str = "https://rampart.dev/builders/server-embedded/v1";

/// How often a run checks whether another replica asked to abort it.
const ABORT_POLL: Duration = Duration::from_secs(1);
/// How often the run's view of who may access which secret is refreshed.
const ACCESS_REFRESH: Duration = Duration::from_secs(1);

/// How a run ended.
struct Outcome {
    status: String,
    message: Option<String>,
}

/// Executes `run` (already claimed by this runner) to its end; `stop`
/// carries an abort or a shutdown of the server.
pub(crate) async fn execute(core: Arc<Core>, run: RunRow, stop: Stop) {
    let live = core.runs.hub.open(&run.id);
    let sink = RunSink::new(&run.id);
    let done = CancellationToken::new();
    let writer = tokio::spawn(sink::write(
        sink.clone(),
        core.store.clone(),
        live.clone(),
        done.clone(),
    ));
    let dir = run_dir(&core, &run.id);
    let outcome = match prepare(&core, &run).await {
        Ok(pipeline) => run_engine(&core, &run, &pipeline, &dir, sink, &stop).await,
        Err(message) => Outcome {
            status: "Failed".into(),
            message: Some(message),
        },
    };
    done.cancel();
    if let Err(error) = writer.await {
        tracing::error!(%error, run = run.id, "the run's log writer failed");
    }
    if let Err(error) = std::fs::remove_dir_all(&dir)
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(%error, dir = %dir.display(), "cannot remove a run's directory");
    }
    let finished = core
        .store
        .finish_run(
            &run.id,
            &core.runs.runner_id,
            &outcome.status,
            outcome.message.as_deref(),
            now_ms(),
            None,
        )
        .await;
    match finished {
        Ok(true) => {}
        Ok(false) => tracing::warn!(run = run.id, "the run was ended by someone else meanwhile"),
        Err(error) => tracing::error!(%error, run = run.id, "cannot store a run's end"),
    }
    let _ = live.send(Arc::new(Update::End {
        status: outcome.status,
        message: outcome.message,
    }));
    core.runs.hub.close(&run.id);
}

/// The run's pipeline version, with its inputs, validated.
async fn prepare(core: &Core, run: &RunRow) -> Result<ValidPipeline, String> {
    let version = core
        .store
        .pipeline_version(&run.pipeline, run.pipeline_version)
        .await
        .map_err(|error| format!("cannot read the pipeline: {error}"))?
        .ok_or_else(|| {
            format!(
                "version {} of pipeline {} no longer exists (the pipeline was deleted)",
                run.pipeline_version, run.pipeline.identifier
            )
        })?;
    let values: BTreeMap<String, String> = serde_json::from_str(&run.inputs_json)
        .map_err(|error| format!("the run's stored inputs are unreadable: {error}"))?;
    crate::api::pipelines::load_for_run(&version.yaml, &Inputs { values })
        .map_err(|problems| format!("the pipeline is not valid with these inputs:\n{problems}"))
}

async fn run_engine(
    core: &Arc<Core>,
    run: &RunRow,
    pipeline: &ValidPipeline,
    dir: &Path,
    sink: Arc<RunSink>,
    stop: &Stop,
) -> Outcome {
    let failed = |message: String| Outcome {
        status: "Failed".into(),
        message: Some(message),
    };
    let (workspace, private) = match create_dirs(dir) {
        Ok(dirs) => dirs,
        Err(error) => return failed(format!("cannot create the run's directories: {error}")),
    };
    let settings = &core.runs.settings;
    let executor = match LocalExecutor::new(LocalConfig::new(private)) {
        Ok(executor) => executor,
        Err(error) => return failed(format!("cannot set up the local executor: {error}")),
    };
    let access = match core.access.snapshot().await {
        Ok(snapshot) => Arc::new(RwLock::new(snapshot)),
        Err(_) => return failed("cannot read the access policy".into()),
    };
    let sealed = match core.keys.secrets(&run.pipeline.account).snapshot().await {
        Ok(sealed) => sealed,
        Err(error) => return failed(format!("cannot read the secret store: {error}")),
    };
    let executor_identity = match super::executor_of(run) {
        Ok(executor) => executor,
        Err(message) => return failed(message),
    };
    let (denials, mut denied) = mpsc::unbounded_channel::<Entry>();
    let secrets = RunSecrets {
        run_id: run.id.clone(),
        executor: executor_identity,
        org: run.pipeline.org.clone(),
        project: run.pipeline.project.clone(),
        sealed,
        access: access.clone(),
        denials,
    };
    let engine = Engine {
        executor: Arc::new(executor),
        events: sink,
        secrets: Some(Arc::new(secrets)),
        masker: Arc::new(SecretSet::new(MaskConfig::default())),
    };
    let options = RunOptions {
        sequence_id: u64::try_from(run.sequence_id).unwrap_or_default(),
        workspace,
        network: settings.network,
        namespaces: settings.namespaces,
        allow_host: settings.allow_host,
        codebase: BTreeMap::new(),
        trigger: [
            ("type".to_string(), "MANUAL".to_string()),
            ("event".to_string(), "manual".to_string()),
        ]
        .into(),
        builder_id: EMBEDDED_BUILDER_ID.to_string(),
    };
    let cancel = CancellationToken::new();
    let watch = tokio::spawn(watch_run(
        core.clone(),
        run.id.clone(),
        access,
        stop.clone(),
        cancel.clone(),
    ));
    let auditor = {
        let core = core.clone();
        tokio::spawn(async move {
            while let Some(entry) = denied.recv().await {
                if core.audit.record(entry).await.is_err() {
                    tracing::error!("cannot audit a refused secret access");
                }
            }
        })
    };
    let report = engine.run(pipeline, &options, cancel).await;
    watch.abort();
    drop(engine);
    let _ = auditor.await;
    if stop.shutdown.is_cancelled() {
        return failed(STOPPED_DURING_RUN.into());
    }
    let message = match (&report.message, stop.abort.is_cancelled()) {
        (_, true) => Some(super::ABORTED_BY_REQUEST.to_owned()),
        (Some(message), false) => Some(message.clone()),
        (None, false) => first_failure(&report),
    };
    Outcome {
        status: report.status.to_string(),
        message,
    }
}

/// The first failed step's message, as the run's reason.
fn first_failure(report: &rampart_engine::RunReport) -> Option<String> {
    report
        .steps
        .iter()
        .find(|step| !step.status.is_success())
        .map(|step| match &step.message {
            Some(message) => format!("step {}/{}: {message}", step.stage, step.step),
            None => format!("step {}/{} {}", step.stage, step.step, step.status),
        })
}

/// Until aborted: cancels the engine on an abort (local or flagged in the
/// database by another replica) or a shutdown, and refreshes the access view.
async fn watch_run(
    core: Arc<Core>,
    run_id: String,
    access: Arc<RwLock<Arc<crate::access::Snapshot>>>,
    stop: Stop,
    cancel: CancellationToken,
) {
    let mut poll = tokio::time::interval(ABORT_POLL.min(ACCESS_REFRESH));
    loop {
        tokio::select! {
            () = stop.abort.cancelled() => break,
            () = stop.shutdown.cancelled() => break,
            _ = poll.tick() => {
                if let Ok(snapshot) = core.access.snapshot().await {
                    *access.write().unwrap_or_else(std::sync::PoisonError::into_inner) = snapshot;
                }
                if let Ok(Some(row)) = core.store.run(&run_id).await
                    && row.abort_requested
                {
                    stop.abort.cancel();
                    break;
                }
            }
        }
    }
    cancel.cancel();
}

/// `DIR/workspace` and `DIR/private`, 0700.
fn create_dirs(dir: &Path) -> std::io::Result<(PathBuf, PathBuf)> {
    let mut builder = std::fs::DirBuilder::new();
    builder.mode(0o700).recursive(true);
    let workspace = dir.join("workspace");
    let private = dir.join("private");
    builder.create(&workspace)?;
    builder.create(&private)?;
    Ok((workspace.canonicalize()?, private))
}
