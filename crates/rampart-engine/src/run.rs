//! One run: the pipeline's variables, then its stages in order, concurrently
//! inside `parallel:` and strategies, each stage's steps (see `steps`), the
//! timeouts the engine enforces, and the run's and stages' events.

use std::collections::BTreeMap;
use std::collections::hash_map::RandomState;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use rampart_core::Status;
use rampart_pipeline::expr::{Condition, Scope};
use rampart_pipeline::model::{
    CodebaseBuild, FailureStrategy, Pipeline, StatusCondition, Text, Timeout,
};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::cancel::{CancelNode, Stop};
use crate::env::HostEnv;
use crate::failure::{FailKind, is_failure, resolve, status_gate};
use crate::join::{BoxFuture, join_bounded};
use crate::plan::{self, Frame, PlanStage, PlanStep, StageEntry};
use crate::scope::{RunData, View, lock, render, stage_records, variable_value};
use crate::steps::StageRun;
use crate::{Engine, Event, RunOptions, RunReport, StepReport};

/// Everything one run shares.
pub(crate) struct Run<'a> {
    pub engine: &'a Engine,
    pub options: &'a RunOptions,
    pub data: RunData,
    pub host: HostEnv,
    pub workspace: String,
    pub root: Arc<CancelNode>,
    /// Whether a stage has failed: `pipelineStatus` reads it.
    failed: AtomicBool,
    first_failed_stage: Mutex<Option<String>>,
    /// Step reports with the order they started (or were decided) in.
    reports: Mutex<Vec<(u64, StepReport)>>,
    order: AtomicU64,
}

/// Runs a (validated) pipeline model; see [`Engine::run`].
pub(crate) async fn execute(
    engine: &Engine,
    model: &Pipeline,
    options: &RunOptions,
    cancel: CancellationToken,
) -> RunReport {
    let started = Instant::now();
    let plan = plan::build(model);
    let run = Run {
        engine,
        options,
        data: RunData {
            pipeline_identifier: model.identifier.clone(),
            pipeline_name: model.name.clone(),
            sequence_id: options.sequence_id,
            execution_id: execution_id(options.sequence_id),
            start_ts: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or_default(),
            org: model.org_identifier.clone().unwrap_or_default(),
            project: model.project_identifier.clone().unwrap_or_default(),
            codebase: Mutex::new(options.codebase.clone()),
            trigger: options.trigger.clone(),
            variables: Mutex::new(BTreeMap::new()),
            stages: Mutex::new(stage_records(&plan)),
            secrets: engine.secrets.clone(),
            masker: engine.masker.clone(),
            executor: engine.executor.clone(),
            private_dirs: Mutex::default(),
            resolved_secrets: Mutex::default(),
            secret_outputs: Mutex::default(),
            attestations: Arc::default(),
        },
        host: HostEnv::from_process(),
        workspace: options.workspace.display().to_string(),
        root: CancelNode::root(&cancel),
        failed: AtomicBool::new(false),
        first_failed_stage: Mutex::new(None),
        reports: Mutex::new(Vec::new()),
        order: AtomicU64::new(0),
    };
    run.emit(Event::RunStarted {
        pipeline: model.identifier.clone(),
        sequence_id: options.sequence_id,
    });
    let (status, message) = match run.prepare(model) {
        Err(message) => (Status::Failed, Some(message)),
        Ok(()) => run.run_stages(&plan, model.timeout.as_ref()).await,
    };
    let message = message.map(|m| run.mask(&m));
    let duration_ms = elapsed_ms(started);
    run.emit(Event::RunFinished {
        status,
        duration_ms,
        message: message.clone(),
    });
    let mut reports = std::mem::take(&mut *lock(&run.reports));
    reports.sort_by_key(|(order, _)| *order);
    RunReport {
        status,
        duration_ms,
        steps: reports.into_iter().map(|(_, report)| report).collect(),
        message,
        secret_outputs: std::mem::take(&mut *lock(&run.data.secret_outputs)),
    }
}

/// A unique id for `<+pipeline.executionId>`: 128 bits from the standard
/// library's per-process random hash keys, the clock and the sequence id.
fn execution_id(sequence_id: u64) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let half = |salt: u64| {
        let mut h = RandomState::new().build_hasher();
        h.write_u128(nanos);
        h.write_u64(sequence_id ^ salt);
        h.write_u32(std::process::id());
        h.finish()
    };
    format!("{:016x}{:016x}", half(1), half(2))
}

pub(crate) fn elapsed_ms(since: Instant) -> u64 {
    since.elapsed().as_millis() as u64
}

/// Runs `work`; if `timeout` passes first, stops `node` (so the work winds
/// down) with `reason` and still waits for the work to end. Returns whether
/// this timeout stopped it.
pub(crate) async fn with_timeout(
    work: impl Future<Output = ()>,
    timeout: Option<&Timeout>,
    node: &CancelNode,
    reason: impl FnOnce(&Timeout) -> String,
) -> bool {
    let Some(timeout) = timeout else {
        work.await;
        return false;
    };
    let mut work = pin!(work);
    tokio::select! {
        () = &mut work => false,
        () = tokio::time::sleep(timeout.duration) => {
            let stopped = node.stop(Stop::Expired(reason(timeout)));
            work.await;
            stopped
        }
    }
}

impl<'a> Run<'a> {
    pub fn emit(&self, event: Event) {
        self.engine.events.emit(&event);
    }

    pub fn mask(&self, text: &str) -> String {
        self.data.masker.mask_str(text)
    }

    pub fn next_order(&self) -> u64 {
        self.order.fetch_add(1, Ordering::Relaxed)
    }

    pub fn add_report(&self, order: u64, report: StepReport) {
        lock(&self.reports).push((order, report));
    }

    /// The run seen from a node of stage `stage` (or from outside any stage).
    pub fn view<'v>(
        &'v self,
        stage: Option<&'v PlanStage<'_>>,
        frame: &'v Frame,
        step: Option<&'v PlanStep<'_>>,
    ) -> View<'v> {
        View {
            run: &self.data,
            stage: stage.map(|s| (s.id.as_str(), s.stage.identifier.as_str())),
            frame,
            step: step.map(|s| (s.identifier.as_str(), s.step.name.as_str())),
            step_key: step.map(|s| s.key.as_str()),
        }
    }

    /// Renders the pipeline's variables in order (each may use earlier ones)
    /// and fills `<+codebase.*>` gaps from `properties.ci.codebase.build`.
    fn prepare(&self, model: &Pipeline) -> Result<(), String> {
        let frame = Frame::default();
        // The build spec may use variables and variables may use the
        // codebase: try it first, and again after the variables if it failed.
        let early = self.fill_codebase(model, &frame);
        for var in &model.variables {
            let value = variable_value(var, &self.view(None, &frame, None))
                .map_err(|e| format!("pipeline variable {:?}: {e}", var.name))?;
            lock(&self.data.variables).insert(var.name.clone(), value);
        }
        if early.is_err() {
            self.fill_codebase(model, &frame)?;
        }
        Ok(())
    }

    fn fill_codebase(&self, model: &Pipeline, frame: &Frame) -> Result<(), String> {
        let Some(build) = model.codebase.as_ref().and_then(|c| c.build.as_ref()) else {
            return Ok(());
        };
        let (key, kind, text): (&str, &str, &Text) = match build {
            CodebaseBuild::Branch(t) => ("branch", "branch", t),
            CodebaseBuild::Tag(t) => ("tag", "tag", t),
            CodebaseBuild::PullRequest(t) => ("prNumber", "PR", t),
            CodebaseBuild::CommitSha(t) => ("commitSha", "commitSha", t),
        };
        let value = render(text, &self.view(None, frame, None))
            .map_err(|e| format!("properties.ci.codebase.build: {e}"))?;
        // What the caller knows (the checkout being built) wins.
        let mut codebase = lock(&self.data.codebase);
        if !value.is_empty() {
            codebase.entry(key.to_string()).or_insert(value);
        }
        codebase
            .entry("build.type".to_string())
            .or_insert_with(|| kind.to_string());
        Ok(())
    }

    /// Runs the stages; returns the run's status and why it is not Success.
    async fn run_stages(
        &self,
        plan: &plan::Plan<'_>,
        timeout: Option<&Timeout>,
    ) -> (Status, Option<String>) {
        let work = async {
            for entry in &plan.stages {
                self.stage_entry(entry).await;
            }
        };
        let timed_out = with_timeout(work, timeout, &self.root, |t| {
            format!("the pipeline timed out after {}", t.raw)
        })
        .await;
        if timed_out || self.root.is_stopped() {
            let stop = self.root.why();
            return (stop.status(), Some(stop.message().to_string()));
        }
        if self.failed.load(Ordering::SeqCst) {
            let stage = lock(&self.first_failed_stage).clone().unwrap_or_default();
            return (Status::Failed, Some(format!("stage {stage} failed")));
        }
        (Status::Success, None)
    }

    fn stage_entry<'s>(&'s self, entry: &'s StageEntry<'s>) -> BoxFuture<'s> {
        match entry {
            StageEntry::Stage(stage) => Box::pin(self.run_stage(stage)),
            StageEntry::Parallel(entries) => Box::pin(join_bounded(
                entries.iter().map(|e| self.stage_entry(e)).collect(),
                usize::MAX,
            )),
            StageEntry::Strategy { iterations, limit } => Box::pin(join_bounded(
                iterations
                    .iter()
                    .map(|s| Box::pin(self.run_stage(s)) as BoxFuture<'s>)
                    .collect(),
                *limit,
            )),
        }
    }

    async fn run_stage(&self, ps: &PlanStage<'_>) {
        let started = Instant::now();
        let stage = ps.stage;
        if self.root.is_stopped() {
            let message = format!("not started: {}", self.root.why().message());
            return self.stage_finished(ps, Status::Skipped, started, Some(message));
        }
        let when = stage.when.as_ref();
        let gate = status_gate(
            "pipelineStatus",
            when.map_or(StatusCondition::Success, |w| w.status),
            self.failed.load(Ordering::SeqCst),
            "pipeline",
        );
        if let Some(message) = gate {
            return self.stage_finished(ps, Status::Skipped, started, Some(message));
        }
        let strategies: [&[FailureStrategy]; 1] = [&stage.failure_strategies];
        let node = format!("stage {}", ps.id);
        for var in &stage.variables {
            match variable_value(var, &self.view(Some(ps), &ps.frame, None)) {
                Ok(value) => {
                    if let Some(record) = lock(&self.data.stages).get_mut(&ps.id) {
                        record.variables.insert(var.name.clone(), value);
                    }
                }
                Err(e) => {
                    let message = format!("stage variable {:?}: {e}", var.name);
                    let (status, message) =
                        self.settle_own(&strategies, &node, FailKind::Other, message);
                    return self.stage_finished(ps, status, started, Some(message));
                }
            }
        }
        if let Some(condition) = when.and_then(|w| w.condition.as_ref()) {
            match self.condition(condition, &self.view(Some(ps), &ps.frame, None)) {
                Ok(true) => {}
                Ok(false) => {
                    let message = format!("skipped: condition {:?} is false", condition.raw);
                    return self.stage_finished(ps, Status::Skipped, started, Some(message));
                }
                Err(message) => {
                    let (status, message) =
                        self.settle_own(&strategies, &node, FailKind::Other, message);
                    return self.stage_finished(ps, status, started, Some(message));
                }
            }
        }
        self.emit(Event::StageStarted {
            stage: ps.id.clone(),
            name: ps.name.clone(),
        });
        let stage_run = StageRun::new(ps, self.root.child());
        let work = async {
            for entry in &ps.steps {
                self.step_entry(entry, &stage_run, stage_run.node.clone())
                    .await;
            }
        };
        let timed_out = with_timeout(work, stage.timeout.as_ref(), &stage_run.node, |t| {
            format!("stage {} timed out after {}", ps.id, t.raw)
        })
        .await;
        self.stop_background(&stage_run).await;
        let (status, message) = if timed_out {
            let message = format!(
                "timed out after {}",
                stage.timeout.as_ref().map_or("", |t| t.raw.as_str())
            );
            self.settle_own(&strategies, &node, FailKind::Timeout, message)
        } else if stage_run.node.is_stopped() {
            let stop = stage_run.node.why();
            (stop.status(), stop.message().to_string())
        } else if let Some(what) = stage_run.first_failure() {
            (Status::Failed, format!("{what} failed"))
        } else {
            (Status::Success, String::new())
        };
        let message = (!message.is_empty()).then_some(message);
        self.stage_finished(ps, status, started, message);
    }

    fn stage_finished(
        &self,
        ps: &PlanStage<'_>,
        status: Status,
        started: Instant,
        message: Option<String>,
    ) {
        if is_failure(status) {
            self.failed.store(true, Ordering::SeqCst);
            lock(&self.first_failed_stage).get_or_insert_with(|| ps.id.clone());
        }
        self.emit(Event::StageFinished {
            stage: ps.id.clone(),
            status,
            duration_ms: elapsed_ms(started),
            message: message.map(|m| self.mask(&m)),
        });
    }

    /// Evaluates a `when.condition`.
    pub fn condition(&self, condition: &Text, scope: &dyn Scope) -> Result<bool, String> {
        Condition::parse(&condition.raw)
            .map_err(|e| format!("when.condition {:?}: {e}", condition.raw))?
            .evaluate(scope)
            .map_err(|e| format!("when.condition {:?}: {e}", condition.raw))
    }

    /// What a failure of a node itself (not of a step inside it) becomes
    /// under the strategies in `chain`; a Retry there cannot re-run the node,
    /// so its `onRetryFailure` applies.
    pub fn settle_own(
        &self,
        chain: &[&[FailureStrategy]],
        node: &str,
        kind: FailKind,
        message: String,
    ) -> (Status, String) {
        match resolve(chain, kind) {
            Some(rampart_pipeline::model::FailureAction::Retry {
                on_retry_failure, ..
            }) => self.settle(on_retry_failure, node, kind, message),
            Some(action) => self.settle(action, node, kind, message),
            None => (kind.status(), message),
        }
    }

    /// Applies a failure strategy's action to a failure of `node` (e.g.
    /// `step build/test`).
    pub fn settle(
        &self,
        action: &rampart_pipeline::model::FailureAction,
        node: &str,
        kind: FailKind,
        message: String,
    ) -> (Status, String) {
        use rampart_pipeline::model::FailureAction;
        match action {
            FailureAction::Ignore => (
                Status::IgnoreFailed,
                format!("{message} (ignored by a failure strategy)"),
            ),
            FailureAction::MarkAsSuccess => (
                Status::Success,
                format!("{message} (marked as success by a failure strategy)"),
            ),
            FailureAction::Abort => {
                self.root.stop(Stop::Aborted(format!(
                    "the failure strategy of {node} aborted the run ({message})"
                )));
                (
                    Status::Aborted,
                    format!("{message}; the failure strategy aborted the run"),
                )
            }
            FailureAction::MarkAsFailure | FailureAction::Retry { .. } => (kind.status(), message),
        }
    }
}
