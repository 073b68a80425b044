//! Run orchestration: turns a validated pipeline into stage and step runs.
//!
//! [`Engine::run`] walks the stages in order (concurrently inside `parallel:`),
//! expands `strategy` blocks, evaluates `when`, renders `<+...>` expressions,
//! hands each step to an [`Executor`], applies
//! `failureStrategies` and timeouts, captures output variables, and reports
//! everything as [`Event`]s. It talks to the world only through traits it
//! owns ([`EventSink`], [`SecretSource`]) and the executor trait, so the CLI,
//! the server and tests wire in their own. It does no terminal formatting and
//! no printing of its own; its only file I/O is the supply-chain steps'
//! (reading the workspace, writing SBOMs and attestations into it), which it
//! runs itself so provenance records what the engine observed and signing
//! keys never reach a step's process.
//!
//! # How a run behaves (Harness's semantics)
//!
//! - **Order.** Stages run in order, `parallel:` stages at once; a stage's
//!   steps run in order, `parallel:` steps at once, a `stepGroup`'s steps in
//!   order. Strategy iterations (`matrix`, `parallelism`, `repeat`) all run
//!   at once unless `maxConcurrency` bounds them; the matrix is the cartesian
//!   product of its axes in file order minus the `exclude`d combinations.
//! - **`when`.** Decided when a node is about to start: `pipelineStatus` /
//!   `stageStatus` `Success` (the default) runs it only if nothing has failed
//!   so far in the pipeline / stage, `Failure` only if something has, `All`
//!   always; then `condition` must be true. An iteration queued behind
//!   `maxConcurrency` is therefore skipped if an earlier one failed.
//! - **Failures.** The nearest `failureStrategies` entry covering the error
//!   (the step's, then its groups', then its stage's; `Timeout` for timeouts,
//!   `Unknown` for anything else, `AllErrors` for both) decides: `Ignore` →
//!   `IgnoreFailed`, `MarkAsSuccess` → `Success`, `MarkAsFailure` (the default)
//!   → `Failed` (`Expired` for a timeout), `Abort` → the whole run stops
//!   (`Aborted`), `Retry` → re-run with the given waits, then `onRetryFailure`.
//!   A step group's or stage's own failure (its timeout, a `when.condition`
//!   that does not evaluate, a stage variable that does not render) goes
//!   through its own strategies and its parents'.
//! - **Timeouts.** A step's goes to the executor; a step group's, stage's and
//!   the pipeline's are enforced here by stopping what runs inside them.
//! - **Cancellation.** When the caller's token fires, running steps are
//!   stopped (`Aborted`), nothing new starts, and the run ends `Aborted`.
//!   [`Engine::run`] returns only after every process it started has ended.
//!
//! # Events
//!
//! Per step, in causal order: `StepStarted`, its `Log` lines, `StepFinished`.
//! A step that never starts (skipped by `when`, or not reached because the
//! run, its stage or group was stopped) gets only a `StepFinished` with
//! status `Skipped` and a message saying why; a stage likewise gets only a
//! `StageFinished`. A retried step gets a `StepStarted` per attempt, a `Log`
//! line (on stderr, prefixed `rampart:`) saying which attempt failed and when
//! the next starts, and one `StepFinished` at the end. A `Background` step
//! counts as `Success` once started and its `StepFinished` (saying how it
//! ended) comes when its stage ends and stops it; its output is logged live.
//! Secret values the engine learns (secret lookups, `Secret` variables and
//! outputs) are masked in every line, message and output it emits.
//!
//! # Each step's process
//!
//! The rendered `command` runs with a cleared environment holding `PATH`,
//! `HOME` and `LANG` from the host, `CI=true`, Harness's and Drone's build
//! variables (`HARNESS_*`, `DRONE_*`), the stage's variables, the step's
//! `envVariables`, and a plugin's `settings` as `PLUGIN_<KEY>`. A step naming
//! an `image` fails unless [`RunOptions::allow_host`] is set (there is no
//! container runtime yet); then it runs on the host, a plugin by its
//! `entrypoint`.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use rampart_core::Status;
use rampart_exec::{Executor, Namespaces, Network};
use rampart_mask::SecretSet;
use rampart_pipeline::ValidPipeline;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

mod cancel;
mod env;
mod failure;
mod join;
mod lines;
mod plan;
mod run;
mod scope;
#[cfg(test)]
mod semantics_tests;
mod steps;
mod supply;
#[cfg(test)]
mod testkit;

/// Which output stream a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogStream {
    Stdout,
    Stderr,
}

/// Something that happened during a run. Serialised as one JSON object per
/// line for `--output json`, tagged by `"event"`.
///
/// `stage` and `step` are stable ids: the YAML identifier, with step groups
/// joined by `.` and strategy iterations suffixed `_0`, `_1`, ... as Harness does.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    RunStarted {
        pipeline: String,
        sequence_id: u64,
    },
    StageStarted {
        stage: String,
        name: String,
    },
    StepStarted {
        stage: String,
        step: String,
        name: String,
    },
    /// One line of a step's output, without its line ending.
    Log {
        stage: String,
        step: String,
        stream: LogStream,
        line: String,
    },
    /// Also sent, without a `StepStarted`, for a step that never started.
    StepFinished {
        stage: String,
        step: String,
        status: Status,
        duration_ms: u64,
        /// Captured output variables (secret-typed ones masked).
        outputs: BTreeMap<String, String>,
        /// Why it failed or was skipped, for people.
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        /// The secrets the step resolved (references, never values), for audit.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        secrets: Vec<String>,
        /// Which of `outputs` are Secret-typed (shown only as the mask), so
        /// a store of outputs can leave them out.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        secret_outputs: Vec<String>,
    },
    /// Also sent, without a `StageStarted`, for a stage that never started
    /// (skipped by `when`, failed before its steps, or not reached).
    StageFinished {
        stage: String,
        status: Status,
        duration_ms: u64,
        /// Why it failed, expired or was skipped, for people.
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    RunFinished {
        status: Status,
        duration_ms: u64,
        /// Why the run failed before or outside its steps (e.g. a pipeline
        /// variable that did not render, the pipeline timeout), for people.
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
}

/// Receives events in the order they happen; must not block for long.
pub trait EventSink: Send + Sync {
    fn emit(&self, event: &Event);
}

/// Resolves `<+secrets.getValue(id)>` (the CLI wires the local encrypted store).
pub trait SecretSource: Send + Sync {
    /// `id` as written: `x` (project), `org.x` or `account.x`.
    fn get(&self, id: &str) -> Result<ResolvedSecret, String>;
}

/// A secret a [`SecretSource`] resolved.
#[derive(Clone)]
pub struct ResolvedSecret {
    /// What was resolved, scope and identifier (e.g. `project:default/web/token`),
    /// for the audit trail; never the value.
    pub reference: String,
    pub content: SecretContent,
}

/// How a step receives a secret: as text in place of the expression, or as
/// a 0600 file in its private directory, the expression giving the path.
#[derive(Clone)]
pub enum SecretContent {
    Text(String),
    File(Vec<u8>),
}

impl std::fmt::Debug for ResolvedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ResolvedSecret({}, [redacted])", self.reference)
    }
}

/// A Secret-typed output variable's value, kept for the caller to store
/// encrypted; events and reports only ever show it masked.
#[derive(Clone, PartialEq)]
pub struct SecretOutput {
    pub stage: String,
    pub step: String,
    pub name: String,
    pub value: String,
}

impl std::fmt::Debug for SecretOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SecretOutput({}/{}.{}, [redacted])",
            self.stage, self.step, self.name
        )
    }
}

/// Run-wide settings from the caller.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// `<+pipeline.sequenceId>`.
    pub sequence_id: u64,
    /// Directory steps run in (shared by all steps, like Harness's `/harness`).
    pub workspace: PathBuf,
    /// Network for steps that do not set their own.
    pub network: Network,
    pub namespaces: Namespaces,
    /// Run steps that name an `image` on the host, without a container runtime.
    pub allow_host: bool,
    /// `<+codebase.*>` values, e.g. `branch`, `commitSha`, `repoUrl`.
    pub codebase: BTreeMap<String, String>,
    /// `<+trigger.event>` etc.; a local run is a `manual` trigger.
    pub trigger: BTreeMap<String, String>,
    /// Who ran the build, as SLSA provenance's `builder.id` records it: a
    /// URI naming this Rampart installation and how it runs steps.
    pub builder_id: String,
}

/// One step's outcome, for the summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepReport {
    pub stage: String,
    pub step: String,
    pub name: String,
    pub status: Status,
    pub duration_ms: u64,
    pub outputs: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The secrets the step resolved (references, never values), for audit.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
}

/// The whole run's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    pub status: Status,
    pub duration_ms: u64,
    /// Every step that ran or was skipped, in the order it started (or was
    /// decided on); a retried step appears once, with its last attempt.
    pub steps: Vec<StepReport>,
    /// Same as [`Event::RunFinished`]'s message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Values of Secret-typed outputs, for the caller to store encrypted;
    /// never serialised.
    #[serde(skip)]
    pub secret_outputs: Vec<SecretOutput>,
}

/// Runs pipelines with the given executor, event sink and secret source.
pub struct Engine {
    pub executor: Arc<dyn Executor>,
    pub events: Arc<dyn EventSink>,
    pub secrets: Option<Arc<dyn SecretSource>>,
    /// The run's mask set: every secret the run resolves joins it before a
    /// step can print it, and every output stream passes through it before
    /// it becomes an event. The caller may register values of its own.
    pub masker: Arc<SecretSet>,
}

impl Engine {
    /// Runs the pipeline to the end, or until `cancel` fires (then running
    /// steps are stopped and the run ends `Aborted`).
    pub async fn run(
        &self,
        pipeline: &ValidPipeline,
        options: &RunOptions,
        cancel: CancellationToken,
    ) -> RunReport {
        run::execute(self, pipeline.pipeline(), options, cancel).await
    }
}
