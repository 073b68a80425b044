//! Executors: run one step's script as a process and report how it ended.
//!
//! The engine hands an [`Executor`] a [`StepProcess`] (interpreter, script,
//! environment, workspace, timeout, sandbox settings) and receives the output
//! as [`OutputChunk`]s on a channel and a [`StepExit`] at the end. The
//! [`LocalExecutor`] runs the step on this machine in its own process group,
//! with a cleared environment, a private 0700 directory and Linux namespaces.
//! This crate knows nothing of pipelines or expressions; container and
//! Kubernetes executors will sit beside the local one.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Which program interprets the step's script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interpreter {
    Sh,
    Bash,
    Python,
    Powershell,
    Pwsh,
}

/// Network access of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Network {
    #[default]
    Host,
    /// A new network namespace with only loopback; failing to create one fails the step.
    None,
}

/// Whether steps get new PID and mount namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Namespaces {
    /// Use them where the kernel allows; the executor reports when it cannot.
    #[default]
    Auto,
    /// Use them, and fail the step when they cannot be created.
    Required,
    /// Run without (the user opted out).
    Off,
}

/// Everything needed to run one step's process.
#[derive(Debug, Clone)]
pub struct StepProcess {
    /// Shown in errors, e.g. `build/compile`.
    pub label: String,
    pub interpreter: Interpreter,
    /// The script; written to a file in the step's private directory, never argv.
    pub script: String,
    /// The whole environment of the step (the executor adds only its own
    /// `HARNESS_*`/`DRONE_*` variables such as `DRONE_OUTPUT`).
    pub env: BTreeMap<String, String>,
    /// Working directory, shared by the steps of a run.
    pub workspace: PathBuf,
    pub timeout: Option<Duration>,
    pub network: Network,
    pub namespaces: Namespaces,
    /// Names of `outputVariables` to capture when the script ends.
    pub output_variables: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputStream {
    Stdout,
    Stderr,
}

/// Bytes the step wrote, in the order they were read from one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputChunk {
    pub stream: OutputStream,
    pub bytes: Vec<u8>,
}

/// How the step's process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitOutcome {
    Exited(i32),
    /// Killed by this signal (not by the executor).
    Signaled(i32),
    /// The timeout fired; the process group was stopped.
    TimedOut,
    /// The cancel token fired; the process group was stopped.
    Cancelled,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StepExit {
    pub outcome: ExitOutcome,
    /// Captured output variables; only on `Exited(0)`.
    pub outputs: BTreeMap<String, String>,
    pub duration: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("step {label}: {message}")]
    Setup { label: String, message: String },
    #[error("step {label}: {source}")]
    Io {
        label: String,
        #[source]
        source: std::io::Error,
    },
}

pub type ExecFuture<'a> = Pin<Box<dyn Future<Output = Result<StepExit, ExecError>> + Send + 'a>>;

/// Runs step processes. Output goes to `output` as it is read; when `cancel`
/// fires the executor stops the process group and returns `Cancelled`.
pub trait Executor: Send + Sync {
    fn run(
        &self,
        process: StepProcess,
        output: mpsc::Sender<OutputChunk>,
        cancel: CancellationToken,
    ) -> ExecFuture<'_>;
}
