//! A stage's steps: groups, parallel steps and strategy iterations; each
//! step's `when`, attempts and retries, process, log lines and outputs; and
//! Background steps, which run alongside the rest of the stage.

use std::collections::BTreeMap;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rampart_core::Status;
use rampart_exec::{
    ExecError, Executor, ExitOutcome, Interpreter, Network, OutputChunk, OutputStream, StepExit,
    StepProcess,
};
use rampart_pipeline::model::{
    FailureAction, NetworkMode, OutputKind, Shell, StatusCondition, StepKind, SupplySpec,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::cancel::{CancelNode, Stop};
use crate::env::{self, StepFacts};
use crate::failure::{FailKind, human, is_failure, resolve, retry_interval, status_gate};
use crate::join::{BoxFuture, join_bounded};
use crate::lines::LineSplitter;
use crate::plan::{PlanGroup, PlanStage, PlanStep, StepEntry};
use crate::run::{Run, elapsed_ms};
use crate::scope::{lock, render, template};
use crate::supply;
use crate::{Event, EventSink, LogStream, SecretOutput, StepReport};
use rampart_mask::SecretSet;

/// How long to keep reading output after the executor has returned, in
/// case it let a reader outlive the process (normally the channel is closed).
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// Output chunks in flight between the executor and the engine.
const CHANNEL_CAPACITY: usize = 64;

/// A stage while it runs.
pub(crate) struct StageRun<'s> {
    pub plan: &'s PlanStage<'s>,
    pub node: Arc<CancelNode>,
    /// Whether a step has failed: `stageStatus` reads it.
    failed: AtomicBool,
    first_failure: Mutex<Option<String>>,
    background: Mutex<Vec<Background<'s>>>,
}

impl<'s> StageRun<'s> {
    pub fn new(plan: &'s PlanStage<'s>, node: Arc<CancelNode>) -> Self {
        Self {
            plan,
            node,
            failed: AtomicBool::new(false),
            first_failure: Mutex::new(None),
            background: Mutex::new(Vec::new()),
        }
    }

    /// Marks the stage failed; `what` names the node, e.g. `step build`.
    fn fail(&self, what: impl FnOnce() -> String) {
        self.failed.store(true, Ordering::SeqCst);
        lock(&self.first_failure).get_or_insert_with(what);
    }

    fn has_failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }

    /// The first node that failed the stage, e.g. `step build`.
    pub fn first_failure(&self) -> Option<String> {
        lock(&self.first_failure).clone()
    }
}

/// A Background step left running until its stage ends.
struct Background<'s> {
    step: &'s PlanStep<'s>,
    order: u64,
    started: Instant,
    token: CancellationToken,
    task: AbortOnDrop<Result<StepExit, ExecError>>,
}

/// A spawned task that is aborted (stopping its process) if the run is dropped.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How one attempt of a step ended.
enum Outcome {
    Success(BTreeMap<String, String>),
    Failed { kind: FailKind, message: String },
    Stopped(Stop),
}

/// How a step ended, for its `StepFinished`.
struct Finish {
    status: Status,
    message: Option<String>,
    outputs: BTreeMap<String, String>,
}

impl Finish {
    fn new(status: Status, message: impl Into<String>) -> Self {
        Self {
            status,
            message: Some(message.into()),
            outputs: BTreeMap::new(),
        }
    }
}

/// Where a step's log lines go; owned so a Background step's task can hold it.
#[derive(Clone)]
struct LogTarget {
    events: Arc<dyn EventSink>,
    masker: Arc<SecretSet>,
    stage: String,
    step: String,
}

impl LogTarget {
    /// `step stage/step`, naming the step in messages.
    fn label(&self) -> String {
        format!("step {}/{}", self.stage, self.step)
    }

    fn line(&self, stream: LogStream, line: String) {
        self.events.emit(&Event::Log {
            stage: self.stage.clone(),
            step: self.step.clone(),
            stream,
            line,
        });
    }
}

/// Runs one process, turning its output into `Log` events as it arrives.
async fn run_process(
    executor: &dyn Executor,
    process: StepProcess,
    cancel: CancellationToken,
    target: &LogTarget,
) -> Result<StepExit, ExecError> {
    let (tx, mut rx) = mpsc::channel::<OutputChunk>(CHANNEL_CAPACITY);
    // Each stream is masked as raw bytes, before it is split into lines, so
    // a secret split across writes (or lines of a multi-line one) is caught.
    let mut stdout = (target.masker.stream(), LineSplitter::default());
    let mut stderr = (target.masker.stream(), LineSplitter::default());
    let mut masked = Vec::new();
    let mut handle = |chunk: OutputChunk| {
        let ((masker, splitter), stream) = match chunk.stream {
            OutputStream::Stdout => (&mut stdout, LogStream::Stdout),
            OutputStream::Stderr => (&mut stderr, LogStream::Stderr),
        };
        masked.clear();
        masker.write(&chunk.bytes, &mut masked);
        splitter.push(&masked, |line| target.line(stream, line));
    };
    let mut exec = pin!(executor.run(process, tx, cancel));
    let mut open = true;
    let result = loop {
        if !open {
            break exec.as_mut().await;
        }
        tokio::select! {
            biased;
            chunk = rx.recv() => match chunk {
                Some(chunk) => handle(chunk),
                None => open = false,
            },
            result = exec.as_mut() => break result,
        }
    };
    let rest = async {
        while let Some(chunk) = rx.recv().await {
            handle(chunk);
        }
    };
    // The executor is done; a sender still open past the grace period is its bug.
    let _ = tokio::time::timeout(DRAIN_GRACE, rest).await;
    for ((masker, mut splitter), stream) in
        [(stdout, LogStream::Stdout), (stderr, LogStream::Stderr)]
    {
        let mut masker = masker;
        masked.clear();
        masker.finish(&mut masked);
        splitter.push(&masked, |line| target.line(stream, line));
        splitter.finish(|line| target.line(stream, line));
    }
    result
}

fn interpreter(shell: Shell) -> Interpreter {
    match shell {
        Shell::Sh => Interpreter::Sh,
        Shell::Bash => Interpreter::Bash,
        Shell::Python => Interpreter::Python,
        Shell::Powershell => Interpreter::Powershell,
        Shell::Pwsh => Interpreter::Pwsh,
    }
}

/// `'it'\''s'`: one word for `sh`.
fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

impl<'a> Run<'a> {
    pub(crate) fn step_entry<'s>(
        &'s self,
        entry: &'s StepEntry<'s>,
        stage: &'s StageRun<'s>,
        node: Arc<CancelNode>,
    ) -> BoxFuture<'s> {
        match entry {
            StepEntry::Step(step) => Box::pin(self.run_step(step, stage, node)),
            StepEntry::Group(group) => Box::pin(self.run_group(group, stage, node)),
            StepEntry::Parallel(entries) => Box::pin(join_bounded(
                entries
                    .iter()
                    .map(|e| self.step_entry(e, stage, node.clone()))
                    .collect(),
                usize::MAX,
            )),
            StepEntry::Strategy { iterations, limit } => Box::pin(join_bounded(
                iterations
                    .iter()
                    .map(|e| self.step_entry(e, stage, node.clone()))
                    .collect(),
                *limit,
            )),
        }
    }

    async fn run_group<'s>(
        &'s self,
        pg: &'s PlanGroup<'s>,
        stage: &'s StageRun<'s>,
        node: Arc<CancelNode>,
    ) {
        let group = pg.group;
        if node.is_stopped() {
            let message = format!("not started: {}", node.why().message());
            return self.report_subtree(&pg.children, stage, Status::Skipped, &message);
        }
        let when = group.when.as_ref();
        let gate = status_gate(
            "stageStatus",
            when.map_or(StatusCondition::Success, |w| w.status),
            stage.has_failed(),
            "stage",
        );
        if let Some(why) = gate {
            let message = format!("step group {}: {why}", pg.key);
            return self.report_subtree(&pg.children, stage, Status::Skipped, &message);
        }
        if let Some(condition) = when.and_then(|w| w.condition.as_ref()) {
            let view = self.view(Some(stage.plan), &pg.frame, None);
            match self.condition(condition, &view) {
                Ok(true) => {}
                Ok(false) => {
                    let message = format!(
                        "step group {}: skipped: condition {:?} is false",
                        pg.key, condition.raw
                    );
                    return self.report_subtree(&pg.children, stage, Status::Skipped, &message);
                }
                Err(e) => {
                    let message = format!("step group {}: {e}", pg.key);
                    let (status, message) = self.settle_own(
                        &pg.failure,
                        &format!("step group {}/{}", stage.plan.id, pg.key),
                        FailKind::Other,
                        message,
                    );
                    if is_failure(status) {
                        stage.fail(|| format!("step group {}", pg.key));
                    }
                    return self.report_subtree(&pg.children, stage, status, &message);
                }
            }
        }
        let group_node = node.child();
        let work = async {
            for entry in &pg.children {
                self.step_entry(entry, stage, group_node.clone()).await;
            }
        };
        let timed_out = crate::run::with_timeout(work, group.timeout.as_ref(), &group_node, |t| {
            format!("step group {} timed out after {}", pg.key, t.raw)
        })
        .await;
        if timed_out {
            let message = format!("step group {} timed out", pg.key);
            let (status, _) = self.settle_own(
                &pg.failure,
                &format!("step group {}/{}", stage.plan.id, pg.key),
                FailKind::Timeout,
                message,
            );
            if is_failure(status) {
                stage.fail(|| format!("step group {}", pg.key));
            }
        }
    }

    /// Reports every step under `entries` as not run, with `status` and why.
    fn report_subtree(
        &self,
        entries: &[StepEntry<'_>],
        stage: &StageRun<'_>,
        status: Status,
        message: &str,
    ) {
        for entry in entries {
            match entry {
                StepEntry::Step(step) => {
                    let order = self.next_order();
                    let finish = Finish::new(status, message);
                    self.finish_step(order, step, stage, 0, finish);
                }
                StepEntry::Group(group) => {
                    self.report_subtree(&group.children, stage, status, message)
                }
                StepEntry::Parallel(entries)
                | StepEntry::Strategy {
                    iterations: entries,
                    ..
                } => self.report_subtree(entries, stage, status, message),
            }
        }
    }

    async fn run_step<'s>(
        &'s self,
        ps: &'s PlanStep<'s>,
        stage: &'s StageRun<'s>,
        node: Arc<CancelNode>,
    ) {
        let order = self.next_order();
        let started = Instant::now();
        if node.is_stopped() {
            let message = format!("not started: {}", node.why().message());
            return self.finish_step(
                order,
                ps,
                stage,
                elapsed_ms(started),
                Finish::new(Status::Skipped, message),
            );
        }
        let when = ps.step.when.as_ref();
        let gate = status_gate(
            "stageStatus",
            when.map_or(StatusCondition::Success, |w| w.status),
            stage.has_failed(),
            "stage",
        );
        if let Some(message) = gate {
            return self.finish_step(
                order,
                ps,
                stage,
                elapsed_ms(started),
                Finish::new(Status::Skipped, message),
            );
        }
        if let Some(condition) = when.and_then(|w| w.condition.as_ref()) {
            let view = self.view(Some(stage.plan), &ps.frame, Some(ps));
            match self.condition(condition, &view) {
                Ok(true) => {}
                Ok(false) => {
                    let message = format!("skipped: condition {:?} is false", condition.raw);
                    return self.finish_step(
                        order,
                        ps,
                        stage,
                        elapsed_ms(started),
                        Finish::new(Status::Skipped, message),
                    );
                }
                Err(message) => {
                    let finish = self.settle_step_error(ps, stage, message);
                    return self.finish_step(order, ps, stage, elapsed_ms(started), finish);
                }
            }
        }
        if ps.step.kind == StepKind::Background {
            return self.start_background(order, ps, stage);
        }
        let finish = self.attempts(ps, stage, &node).await;
        self.finish_step(order, ps, stage, elapsed_ms(started), finish);
    }

    /// Runs a step until it succeeds, is stopped, or its failure strategy
    /// says what its failure becomes (retrying first if it says Retry).
    async fn attempts(
        &self,
        ps: &PlanStep<'_>,
        stage: &StageRun<'_>,
        node: &Arc<CancelNode>,
    ) -> Finish {
        let target = self.log_target(stage, ps);
        let mut attempt: u32 = 1;
        loop {
            self.emit(Event::StepStarted {
                stage: stage.plan.id.clone(),
                step: ps.key.clone(),
                name: ps.display_name.clone(),
            });
            let (kind, message) = match self.attempt(ps, stage, node, &target).await {
                Outcome::Success(outputs) => {
                    return Finish {
                        status: Status::Success,
                        message: (attempt > 1).then(|| format!("succeeded on attempt {attempt}")),
                        outputs,
                    };
                }
                Outcome::Stopped(stop) => {
                    return Finish::new(stop.status(), format!("stopped: {}", stop.message()));
                }
                Outcome::Failed { kind, message } => (kind, message),
            };
            let finish = match resolve(&ps.failure, kind) {
                Some(FailureAction::Retry {
                    count, intervals, ..
                }) if attempt <= *count => {
                    let wait = retry_interval(intervals, attempt);
                    target.line(
                        LogStream::Stderr,
                        format!(
                            "rampart: attempt {attempt} of {} failed: {message}; retrying in {}",
                            count + 1,
                            human(wait)
                        ),
                    );
                    let stopped = tokio::select! {
                        () = tokio::time::sleep(wait) => false,
                        () = node.token.cancelled() => true,
                    };
                    if stopped {
                        let stop = node.why();
                        return Finish::new(stop.status(), format!("stopped: {}", stop.message()));
                    }
                    attempt += 1;
                    continue;
                }
                Some(FailureAction::Retry {
                    on_retry_failure, ..
                }) => {
                    let message = format!("{message} (after {attempt} attempts)");
                    self.settle(on_retry_failure, &target.label(), kind, message)
                }
                Some(action) => self.settle(action, &target.label(), kind, message),
                None => (kind.status(), message),
            };
            if is_failure(finish.0) {
                stage.fail(|| format!("step {}", ps.key));
            }
            return Finish::new(finish.0, finish.1);
        }
    }

    async fn attempt(
        &self,
        ps: &PlanStep<'_>,
        stage: &StageRun<'_>,
        node: &Arc<CancelNode>,
        target: &LogTarget,
    ) -> Outcome {
        if let Some(spec) = &ps.step.supply {
            return self.supply_attempt(ps, spec, stage, node, target).await;
        }
        let process = match self.process(ps, stage) {
            Ok(process) => process,
            Err(message) => {
                return Outcome::Failed {
                    kind: FailKind::Other,
                    message,
                };
            }
        };
        let token = node.token.child_token();
        let result = run_process(&*self.engine.executor, process, token, target).await;
        self.outcome(ps, node, result)
    }

    /// A supply-chain step: run here, off the async threads, not in a process.
    async fn supply_attempt(
        &self,
        ps: &PlanStep<'_>,
        spec: &SupplySpec,
        stage: &StageRun<'_>,
        node: &Arc<CancelNode>,
        target: &LogTarget,
    ) -> Outcome {
        let failed = |message: String| Outcome::Failed {
            kind: FailKind::Other,
            message,
        };
        let view = self.view(Some(stage.plan), &ps.frame, Some(ps));
        let rendered = match supply::render_step(ps.step.kind, spec, &view, &stage.plan.id, &ps.key)
        {
            Ok(rendered) => rendered,
            Err(message) => return failed(message),
        };
        let facts = supply::RunFacts {
            builder_id: self.options.builder_id.clone(),
            run_id: self.data.execution_id.clone(),
            started_on: rampart_core::time::rfc3339_utc(
                i64::try_from(self.data.start_ts).unwrap_or(i64::MAX),
            ),
            pipeline: self.data.pipeline_identifier.clone(),
            codebase: lock(&self.data.codebase).clone(),
            trigger: self.data.trigger.clone(),
            inputs: supply::public_inputs(&view),
        };
        let workspace = self.options.workspace.clone();
        let attestations = self.data.attestations.clone();
        let work = tokio::task::spawn_blocking(move || {
            supply::run(&rendered, &workspace, &facts, &attestations)
        });
        let timeout = ps.step.timeout.as_ref();
        let limit = timeout.map_or(Duration::MAX, |t| t.duration);
        let outcome = tokio::select! {
            joined = tokio::time::timeout(limit, work) => match joined {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(_)) => return failed("the supply-chain step panicked".to_string()),
                Err(_) => {
                    return Outcome::Failed {
                        kind: FailKind::Timeout,
                        message: format!(
                            "timed out after {}",
                            timeout.map_or_else(String::new, |t| t.raw.clone())
                        ),
                    };
                }
            },
            () = node.token.cancelled() => return Outcome::Stopped(node.why()),
        };
        for (stream, line) in outcome.lines {
            target.line(stream, self.data.masker.mask_str(&line));
        }
        match outcome.result {
            Ok(outputs) => Outcome::Success(outputs),
            Err(message) => failed(message),
        }
    }

    fn outcome(
        &self,
        ps: &PlanStep<'_>,
        node: &CancelNode,
        result: Result<StepExit, ExecError>,
    ) -> Outcome {
        let exit = match result {
            Ok(exit) => exit,
            Err(e) => {
                return Outcome::Failed {
                    kind: FailKind::Other,
                    message: e.to_string(),
                };
            }
        };
        let failed = |message: String| Outcome::Failed {
            kind: FailKind::Other,
            message,
        };
        match exit.outcome {
            ExitOutcome::Exited(0) => {
                let mut outputs = BTreeMap::new();
                for declared in &ps.step.spec.output_variables {
                    if let Some(value) = exit.outputs.get(&declared.value) {
                        if declared.kind == OutputKind::Secret {
                            self.data.masker.add(value);
                        }
                        outputs.insert(declared.name.clone(), value.clone());
                    }
                }
                Outcome::Success(outputs)
            }
            ExitOutcome::Exited(code) => failed(format!("exit code {code}")),
            ExitOutcome::Signaled(signal) => failed(format!("killed by signal {signal}")),
            ExitOutcome::TimedOut => Outcome::Failed {
                kind: FailKind::Timeout,
                message: format!(
                    "timed out after {}",
                    ps.step
                        .timeout
                        .as_ref()
                        .map_or_else(|| human(exit.duration), |t| t.raw.clone())
                ),
            },
            ExitOutcome::Cancelled if node.is_stopped() => Outcome::Stopped(node.why()),
            ExitOutcome::Cancelled => {
                Outcome::Stopped(Stop::Aborted("the executor cancelled the step".to_string()))
            }
        }
    }

    /// A step that failed outside its process (a condition or expression
    /// error, an executor error): its failure strategy decides the status, and
    /// a failure fails the stage.
    fn settle_step_error(
        &self,
        ps: &PlanStep<'_>,
        stage: &StageRun<'_>,
        message: String,
    ) -> Finish {
        let (status, message) = self.settle_own(
            &ps.failure,
            &format!("step {}/{}", stage.plan.id, ps.key),
            FailKind::Other,
            message,
        );
        if is_failure(status) {
            stage.fail(|| format!("step {}", ps.key));
        }
        Finish::new(status, message)
    }

    /// Reports a step's end: stores its outputs for later expressions and
    /// emits `StepFinished` with secrets masked.
    fn finish_step(
        &self,
        order: u64,
        ps: &PlanStep<'_>,
        stage: &StageRun<'_>,
        duration_ms: u64,
        finish: Finish,
    ) {
        if !finish.outputs.is_empty() {
            let mut stages = lock(&self.data.stages);
            if let Some(record) = stages
                .get_mut(&stage.plan.id)
                .and_then(|r| r.steps.get_mut(&ps.key))
            {
                record.outputs.extend(finish.outputs.clone());
            }
        }
        let secret = |name: &str| {
            ps.step
                .spec
                .output_variables
                .iter()
                .any(|o| o.name == name && o.kind == OutputKind::Secret)
        };
        lock(&self.data.secret_outputs).extend(
            finish
                .outputs
                .iter()
                .filter(|(name, _)| secret(name))
                .map(|(name, value)| SecretOutput {
                    stage: stage.plan.id.clone(),
                    step: ps.key.clone(),
                    name: name.clone(),
                    value: value.clone(),
                }),
        );
        let outputs: BTreeMap<String, String> = finish
            .outputs
            .iter()
            .map(|(name, value)| {
                let shown = if secret(name) {
                    self.data.masker.config().mask.clone()
                } else {
                    self.mask(value)
                };
                (name.clone(), shown)
            })
            .collect();
        let message = finish.message.map(|m| self.mask(&m));
        let label = format!("{}/{}", stage.plan.id, ps.key);
        let secrets: Vec<String> = lock(&self.data.resolved_secrets)
            .remove(&label)
            .map(|set| set.into_iter().collect())
            .unwrap_or_default();
        // A render error after a File secret was written leaves its directory
        // unclaimed; the executor's private root goes with the run.
        lock(&self.data.private_dirs).remove(&label);
        self.emit(Event::StepFinished {
            stage: stage.plan.id.clone(),
            step: ps.key.clone(),
            status: finish.status,
            duration_ms,
            outputs: outputs.clone(),
            message: message.clone(),
            secrets: secrets.clone(),
            secret_outputs: outputs
                .keys()
                .filter(|name| secret(name))
                .cloned()
                .collect(),
        });
        self.add_report(
            order,
            StepReport {
                stage: stage.plan.id.clone(),
                step: ps.key.clone(),
                name: ps.display_name.clone(),
                status: finish.status,
                duration_ms,
                outputs,
                message,
                secrets,
            },
        );
    }

    fn log_target(&self, stage: &StageRun<'_>, ps: &PlanStep<'_>) -> LogTarget {
        LogTarget {
            events: self.engine.events.clone(),
            masker: self.data.masker.clone(),
            stage: stage.plan.id.clone(),
            step: ps.key.clone(),
        }
    }

    /// The process for a step: its rendered script, environment and settings.
    fn process(&self, ps: &PlanStep<'_>, stage: &StageRun<'_>) -> Result<StepProcess, String> {
        let step = ps.step;
        let spec = &step.spec;
        let view = self.view(Some(stage.plan), &ps.frame, Some(ps));
        if let Some(image) = spec.image.as_ref().or(spec.uses.as_ref())
            && !self.options.allow_host
        {
            let image = render(image, &view).unwrap_or_else(|_| image.raw.clone());
            return Err(format!(
                "the step runs in image {image:?}, but Rampart has no container runtime yet; \
                 pass --allow-host to run it on this machine instead"
            ));
        }
        let (script, interpreter) = match &spec.command {
            Some(command) => (
                render(command, &view).map_err(|e| format!("command: {e}"))?,
                interpreter(spec.shell),
            ),
            None if !spec.entrypoint.is_empty() => {
                let words = spec
                    .entrypoint
                    .iter()
                    .map(|word| render(word, &view).map(|w| shell_quote(&w)))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| format!("entrypoint: {e}"))?;
                (format!("exec {}", words.join(" ")), Interpreter::Sh)
            }
            None => {
                return Err(match step.kind {
                    StepKind::Plugin => "the plugin has no entrypoint to run on this machine, and \
                                         Rampart has no container runtime yet to run its image"
                        .to_string(),
                    _ => "the step has no command or entrypoint to run".to_string(),
                });
            }
        };
        let mut env = {
            let codebase = lock(&self.data.codebase);
            env::base(
                &self.host,
                &StepFacts {
                    pipeline: &self.data.pipeline_identifier,
                    sequence_id: self.data.sequence_id,
                    stage_id: &stage.plan.id,
                    stage_name: &stage.plan.stage.name,
                    step_id: &ps.key,
                    step_name: &step.name,
                    workspace: &self.workspace,
                    codebase: &codebase,
                },
            )
        };
        if let Some(record) = lock(&self.data.stages).get(&stage.plan.id) {
            env::add_stage_variables(&mut env, &record.variables);
        }
        for (name, value) in &spec.env_variables {
            let value = render(value, &view).map_err(|e| format!("envVariables.{name}: {e}"))?;
            env.insert(name.clone(), value);
        }
        for (key, value) in &spec.settings {
            let value = template(value)
                .and_then(|t| t.evaluate(&view).map_err(|e| e.to_string()))
                .map_err(|e| format!("settings.{key}: {e}"))?;
            env.insert(env::plugin_variable(key), env::plugin_value(&value));
        }
        let mut output_variables: Vec<String> = Vec::new();
        for declared in &spec.output_variables {
            if !output_variables.contains(&declared.value) {
                output_variables.push(declared.value.clone());
            }
        }
        let label = format!("{}/{}", stage.plan.id, ps.key);
        // File secrets rendered above were written into this directory.
        let private_dir = lock(&self.data.private_dirs).remove(&label);
        Ok(StepProcess {
            label,
            interpreter,
            script,
            env,
            workspace: self.options.workspace.clone(),
            timeout: step.timeout.as_ref().map(|t| t.duration),
            network: match spec.network {
                Some(NetworkMode::None) => Network::None,
                Some(NetworkMode::Host) => Network::Host,
                None => self.options.network,
            },
            namespaces: self.options.namespaces,
            output_variables,
            private_dir,
        })
    }

    /// Starts a Background step and leaves it running; its `StepFinished`
    /// comes when it ends or is stopped with its stage.
    fn start_background<'s>(&self, order: u64, ps: &'s PlanStep<'s>, stage: &StageRun<'s>) {
        let started = Instant::now();
        self.emit(Event::StepStarted {
            stage: stage.plan.id.clone(),
            step: ps.key.clone(),
            name: ps.display_name.clone(),
        });
        let process = match self.process(ps, stage) {
            Ok(process) => process,
            Err(message) => {
                let finish = self.settle_step_error(ps, stage, message);
                return self.finish_step(order, ps, stage, elapsed_ms(started), finish);
            }
        };
        // It lives until the stage ends, whatever group it was started in.
        let token = stage.node.token.child_token();
        let executor = self.engine.executor.clone();
        let target = self.log_target(stage, ps);
        let task_token = token.clone();
        let task =
            tokio::spawn(
                async move { run_process(&*executor, process, task_token, &target).await },
            );
        lock(&stage.background).push(Background {
            step: ps,
            order,
            started,
            token,
            task: AbortOnDrop(task),
        });
    }

    /// Stops the stage's Background steps and reports how each ended.
    pub(crate) async fn stop_background(&self, stage: &StageRun<'_>) {
        let running = std::mem::take(&mut *lock(&stage.background));
        for background in &running {
            background.token.cancel();
        }
        for mut background in running {
            let ps = background.step;
            let result = (&mut background.task.0).await;
            let ended = |how: String| Finish::new(Status::Success, how);
            // A process that ended on its own ran for its own duration.
            let duration_ms = match &result {
                Ok(Ok(exit)) if exit.outcome != ExitOutcome::Cancelled => {
                    exit.duration.as_millis() as u64
                }
                _ => elapsed_ms(background.started),
            };
            let finish = match result {
                Ok(Ok(exit)) => match exit.outcome {
                    ExitOutcome::Cancelled if stage.node.is_stopped() => {
                        let stop = stage.node.why();
                        Finish::new(stop.status(), format!("stopped: {}", stop.message()))
                    }
                    ExitOutcome::Cancelled => ended("stopped at the end of the stage".into()),
                    ExitOutcome::Exited(code) => ended(format!(
                        "exited with code {code} before the end of the stage"
                    )),
                    ExitOutcome::Signaled(signal) => ended(format!(
                        "killed by signal {signal} before the end of the stage"
                    )),
                    ExitOutcome::TimedOut => {
                        ended("stopped by its timeout before the end of the stage".into())
                    }
                },
                Ok(Err(e)) => self.settle_step_error(ps, stage, e.to_string()),
                Err(e) => {
                    stage.fail(|| format!("step {}", ps.key));
                    Finish::new(
                        Status::Failed,
                        format!("the task running the background step failed: {e}"),
                    )
                }
            };
            self.finish_step(background.order, ps, stage, duration_ms, finish);
        }
    }
}
