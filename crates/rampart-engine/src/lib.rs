//! Run orchestration: turns a validated pipeline into stage and step runs.
//!
//! [`Engine::run`] walks the stages in order (concurrently inside `parallel:`),
//! expands `strategy` blocks, evaluates `when`, renders `<+...>` expressions,
//! hands each step to an [`Executor`](rampart_exec::Executor), applies
//! `failureStrategies` and timeouts, captures output variables, and reports
//! everything as [`Event`]s. It talks to the world only through traits it
//! owns ([`EventSink`], [`SecretSource`]) and the executor trait, so the CLI,
//! the server and tests wire in their own. It does no terminal formatting and
//! no file I/O of its own.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rampart_core::Status;
use rampart_exec::{Executor, Namespaces, Network};
use rampart_pipeline::ValidPipeline;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

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
    },
    StageFinished {
        stage: String,
        status: Status,
        duration_ms: u64,
    },
    RunFinished {
        status: Status,
        duration_ms: u64,
    },
}

/// Receives events in the order they happen; must not block for long.
pub trait EventSink: Send + Sync {
    fn emit(&self, event: &Event);
}

/// Resolves `<+secrets.getValue(id)>`; the store arrives in a later issue.
pub trait SecretSource: Send + Sync {
    /// `id` as written: `x` (project), `org.x` or `account.x`.
    fn get(&self, id: &str) -> Result<String, String>;
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
}

/// The whole run's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    pub status: Status,
    pub duration_ms: u64,
    pub steps: Vec<StepReport>,
}

/// Runs pipelines with the given executor, event sink and secret source.
pub struct Engine {
    pub executor: Arc<dyn Executor>,
    pub events: Arc<dyn EventSink>,
    pub secrets: Option<Arc<dyn SecretSource>>,
}

impl Engine {
    /// Runs the pipeline to the end, or until `cancel` fires (then running
    /// steps are stopped and the run ends `Aborted`).
    pub async fn run(
        &self,
        _pipeline: &ValidPipeline,
        _options: &RunOptions,
        _cancel: CancellationToken,
    ) -> RunReport {
        let _ = Duration::ZERO;
        todo!("engine helper")
    }
}
