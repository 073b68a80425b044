//! `rampart run`: load, validate, record and run a pipeline on this machine.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use rampart_engine::{Engine, Event, EventSink, RunOptions};
use rampart_exec::{LocalConfig, LocalExecutor, Namespaces};
use rampart_mask::{MaskConfig, SecretSet};
use rampart_pipeline::{Inputs, ValidPipeline, model};
use tokio_util::sync::CancellationToken;

use crate::args::{EXIT_CANCELLED, EXIT_FAILED, EXIT_SUCCESS, EXIT_USAGE, OutputFormat, RunArgs};

/// SLSA `builder.id` of `rampart run`: the steps ran on the caller's own
/// machine, a trust boundary a provenance policy should tell from a server.
const LOCAL_BUILDER_ID: &str = "https://rampart.dev/builders/cli/v1";
use crate::codebase::Checkout;
use crate::record::{Recorder, RunRecord};
use crate::render::{JsonRenderer, TextRenderer};
use crate::run_secrets::{SEALED_OUTPUTS_FILE, StoreSource, seal_outputs};

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let file = args.file.display().to_string();
    let source = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read pipeline file {file}"))?;
    let inputs = collect_inputs(&args)?;
    let pipeline = match load_valid(&file, &source, &inputs, args.pipeline.as_deref())? {
        Ok(pipeline) => pipeline,
        Err(report) => {
            eprint!("{report}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };

    let pipeline_dir = match args.file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let state_dir = crate::state::resolve(args.state_dir.as_deref(), &pipeline_dir);
    let record = RunRecord::create(&state_dir)?;
    record.write_file("pipeline.yaml", source.as_bytes())?;
    record.write_file("inputs.json", &serde_json::to_vec_pretty(&inputs.values)?)?;

    let checkout = Checkout::find(&pipeline_dir);
    let workspace = prepare_workspace(
        &args,
        &record,
        pipeline.pipeline(),
        checkout.as_ref(),
        &state_dir,
    )?;
    let private_root = record.dir().join("private");
    create_private_dir(&private_root)?;

    let namespaces: Namespaces = args.sandbox.into();
    let executor = LocalExecutor::new(LocalConfig::new(private_root.clone()))
        .context("cannot set up the local executor")?;
    if let (Namespaces::Auto, Some(why)) = (namespaces, executor.namespaces_unavailable()) {
        eprintln!(
            "rampart: warning: steps run without PID and mount namespaces: {why} (use --sandbox required to fail instead)"
        );
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let model = pipeline.pipeline();
    let secrets = runtime.block_on(StoreSource::open(
        &state_dir,
        model.org_identifier.clone(),
        model.project_identifier.clone(),
    ))?;

    let recorder = Arc::new(Recorder::new(&record)?);
    let text = (args.output == OutputFormat::Text).then(|| Arc::new(TextRenderer::new()));
    let display: Arc<dyn EventSink> = match &text {
        Some(text) => text.clone(),
        None => Arc::new(JsonRenderer::new()),
    };
    let engine = Engine {
        executor: Arc::new(executor),
        events: Arc::new(Fanout(vec![recorder.clone(), display])),
        secrets: Some(Arc::new(secrets)),
        masker: Arc::new(SecretSet::new(MaskConfig::default())),
    };
    let options = RunOptions {
        sequence_id: record.sequence_id(),
        workspace,
        network: args.network.into(),
        namespaces,
        allow_host: args.allow_host,
        codebase: checkout
            .as_ref()
            .map(Checkout::codebase_values)
            .unwrap_or_default(),
        trigger: [
            ("type".to_string(), "MANUAL".to_string()),
            ("event".to_string(), "manual".to_string()),
        ]
        .into(),
        builder_id: LOCAL_BUILDER_ID.to_string(),
    };

    let cancel = CancellationToken::new();
    let report = runtime.block_on(async {
        let watcher = tokio::spawn(cancel_on_signal(cancel.clone()));
        let report = engine.run(&pipeline, &options, cancel.clone()).await;
        watcher.abort();
        report
    });

    record.write_summary(&report)?;
    if !report.secret_outputs.is_empty() {
        // Kept only sealed; a failure to seal loses them rather than writing plaintext.
        match runtime.block_on(seal_outputs(
            &state_dir,
            record.sequence_id(),
            &report.secret_outputs,
        )) {
            Ok(sealed) => {
                record.write_file(SEALED_OUTPUTS_FILE, &serde_json::to_vec_pretty(&sealed)?)?
            }
            Err(error) => {
                eprintln!(
                    "rampart: warning: the run's Secret outputs were not kept: {}",
                    crate::describe(&error)
                )
            }
        }
    }
    // Steps remove their own private directories; this removes the (now empty) root.
    let _ = std::fs::remove_dir_all(&private_root);
    if let Some(text) = &text {
        text.print(&text.summary(&report));
        text.print(&format!(
            "Run #{} recorded in {}\n",
            record.sequence_id(),
            record.dir().display()
        ));
    }
    if let Some(error) = recorder.error() {
        eprintln!(
            "rampart: warning: the run record in {} is incomplete: {error}",
            record.dir().display()
        );
    }
    Ok(ExitCode::from(match report.status {
        status if status.is_success() => EXIT_SUCCESS,
        _ if cancel.is_cancelled() => EXIT_CANCELLED,
        _ => EXIT_FAILED,
    }))
}

/// `--inputs-file` first, then each `--input`, which wins.
fn collect_inputs(args: &RunArgs) -> anyhow::Result<Inputs> {
    let mut inputs = match &args.inputs_file {
        Some(path) => {
            let name = path.display().to_string();
            let source = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read inputs file {name}"))?;
            Inputs::parse_file(&name, &source)
                .map_err(|d| anyhow::anyhow!("invalid inputs file:\n{d}"))?
        }
        None => Inputs::default(),
    };
    inputs.values.extend(args.inputs.iter().cloned());
    Ok(inputs)
}

/// The one pipeline to run, validated; `Err` holds the located problems to print.
fn load_valid(
    file: &str,
    source: &str,
    inputs: &Inputs,
    wanted: Option<&str>,
) -> anyhow::Result<Result<ValidPipeline, String>> {
    let pipelines = match rampart_pipeline::load(file, source, Some(inputs)) {
        Ok(pipelines) => pipelines,
        Err(diagnostics) => return Ok(Err(diagnostics.to_string())),
    };
    let ids: Vec<String> = pipelines.iter().map(|p| p.identifier.clone()).collect();
    let pipeline = match wanted {
        Some(id) => pipelines
            .into_iter()
            .find(|p| p.identifier == id)
            .with_context(|| {
                format!("{file} has no pipeline {id:?}; it has: {}", ids.join(", "))
            })?,
        None if pipelines.len() == 1 => pipelines.into_iter().next().context("no pipeline")?,
        None if pipelines.is_empty() => anyhow::bail!("{file} holds no pipeline"),
        None => anyhow::bail!(
            "{file} holds {} pipelines ({}); choose one with --pipeline",
            ids.len(),
            ids.join(", ")
        ),
    };
    Ok(
        rampart_pipeline::validate(file, pipeline, &crate::validate::options())
            .map_err(|d| d.to_string()),
    )
}

/// `--workspace DIR` as given, or a fresh `runs/N/workspace`, holding a copy of
/// the checkout when a stage asks for `cloneCodebase`.
fn prepare_workspace(
    args: &RunArgs,
    record: &RunRecord,
    pipeline: &model::Pipeline,
    checkout: Option<&Checkout>,
    state_dir: &Path,
) -> anyhow::Result<PathBuf> {
    if let Some(dir) = &args.workspace {
        return dir
            .canonicalize()
            .with_context(|| format!("workspace {} does not exist", dir.display()));
    }
    let workspace = record.dir().join("workspace");
    std::fs::create_dir_all(&workspace)
        .with_context(|| format!("cannot create {}", workspace.display()))?;
    if clones_codebase(pipeline) {
        match checkout {
            Some(checkout) => {
                checkout.copy_working_tree(&workspace, state_dir)?;
            }
            None => eprintln!(
                "rampart: note: cloneCodebase is set but {} is not inside a git checkout; the workspace starts empty",
                args.file.display()
            ),
        }
    }
    workspace
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", workspace.display()))
}

fn clones_codebase(pipeline: &model::Pipeline) -> bool {
    pipeline.stages.iter().any(|node| match node {
        model::StageNode::Stage(stage) => stage.clone_codebase,
        model::StageNode::Parallel { stages, .. } => stages.iter().any(|s| s.clone_codebase),
    })
}

fn create_private_dir(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(path)
        .with_context(|| format!("cannot create the private directory {}", path.display()))
}

/// Ctrl-C or SIGTERM cancels the run; the engine then stops every running step.
async fn cancel_on_signal(cancel: CancellationToken) {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let terminated = async {
        match terminate.as_mut() {
            Some(signal) => {
                signal.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminated => {}
    }
    eprintln!("rampart: cancelling the run: stopping running steps");
    cancel.cancel();
}

/// Sends every event to each sink in turn.
struct Fanout(Vec<Arc<dyn EventSink>>);

impl EventSink for Fanout {
    fn emit(&self, event: &Event) {
        for sink in &self.0 {
            sink.emit(event);
        }
    }
}
