//! Executors: run one step's script as a process and report how it ended.
//!
//! The engine hands an [`Executor`] a [`StepProcess`] (interpreter, script,
//! environment, workspace, timeout, sandbox settings) and receives the output
//! as [`OutputChunk`]s on a channel and a [`StepExit`] at the end. This crate
//! knows nothing of pipelines or expressions; container and Kubernetes
//! executors will sit beside the local one. Main entry points:
//! [`LocalExecutor::new`] and [`Executor::run`].
//!
//! # The local executor
//!
//! [`LocalExecutor`] runs each step on this machine (Linux only):
//!
//! - **Script, never argv.** The script is written (0600) into a private
//!   directory (0700, random name, under [`LocalConfig::private_root`]) and
//!   the command line is only the interpreter and the script's path:
//!   `/bin/sh -e -x script.sh`, `bash -e -x script.sh` (Harness runs
//!   `set -xe; <command>`, so traces and fail-fast match it), `python3 -u -c
//!   <fixed bootstrap> script.py` (runs the file in `__main__` with the
//!   working directory on `sys.path`, as Harness's `python3 -c` does),
//!   `pwsh -NoProfile -NonInteractive -File script.ps1` with
//!   `$ErrorActionPreference = 'Stop'` first. The directory is removed when
//!   the step ends, whatever the outcome.
//! - **Outputs.** `DRONE_OUTPUT` (and `HARNESS_OUTPUT_FILE`) name an output
//!   file in the private directory; `echo "KEY=value" >> $DRONE_OUTPUT` works
//!   as on Harness/Drone. For each declared output variable a trailer appended
//!   to the script writes the variable's final value as a `KEY<<DELIMITER`
//!   block with a random delimiter, so values may span lines. Sh/Bash steps
//!   set shell variables; Python steps set `os.environ["KEY"]`; PowerShell
//!   steps set `$Env:KEY` (as on Harness). The trailer runs only when the
//!   script reaches its end, so an explicit `exit`/`sys.exit()` skips it (as
//!   on Harness; writing to `$DRONE_OUTPUT` still works). A declared variable
//!   that is never set is returned as the empty string. Outputs are returned
//!   only for `Exited(0)`.
//! - **Environment.** Cleared, then exactly [`StepProcess::env`] plus
//!   `DRONE_OUTPUT` and `HARNESS_OUTPUT_FILE`; nothing of rampart's own
//!   environment leaks in (the engine must pass `PATH`, `HOME`, ...).
//! - **Process group and signals.** The step leads its own process group;
//!   stdin is `/dev/null`; stdout and stderr are separate pipes forwarded as
//!   they are read (the bounded channel gives backpressure). Timeout or
//!   cancel sends SIGTERM to the group, then SIGKILL after
//!   [`LocalConfig::kill_grace`]. When the step's main process ends, whatever
//!   is left of its group is killed. The step's main process has
//!   `PR_SET_PDEATHSIG(SIGKILL)`, so it dies with rampart; with a PID
//!   namespace that takes the whole step with it (without one, processes the
//!   step started are only killed at step end, while rampart lives). Steps
//!   are forked from one long-lived thread, because the death signal follows
//!   the forking *thread*.
//! - **Namespaces** (where the kernel allows; probed once in
//!   [`LocalExecutor::new`]): a new PID namespace (the step sees only its own
//!   processes in a fresh `/proc`; when the step's main process ends the
//!   kernel kills everything left in it, daemons included), a new mount
//!   namespace (private propagation, so the `/proc` mount stays inside), and
//!   for [`Network::None`] a new network namespace with only `lo`, brought
//!   up. Without root a user namespace maps the step to its own uid and gid.
//!   [`Namespaces::Auto`] runs without PID/mount namespaces when they are
//!   unavailable ([`LocalExecutor::namespaces_unavailable`] says why, for the
//!   caller to print); [`Namespaces::Required`] and [`Network::None`] fail
//!   the step with [`ExecError::Setup`] instead, naming the failed operation
//!   and its errno. All of this is done in-process between `fork` and `exec`
//!   (no helper binary); the `unsafe` code lives in one small module.
//!
//! What the sandbox does **not** do (yet): no seccomp filter, no Landlock
//! file-system rules (the step sees the whole file system with rampart's
//! user's rights, including other steps' private directories), no cgroups
//! (no CPU or memory limits; without a PID namespace a process that leaves
//! the step's process group, e.g. with `setsid`, survives the step), no
//! separate user for steps, no resource limits beyond the timeout. The
//! private directory root is not hidden from steps by the mount namespace.

#![deny(unsafe_code)]

mod local;
#[allow(unsafe_code)]
#[deny(clippy::undocumented_unsafe_blocks)]
mod sandbox;
mod script;

pub use local::{LocalConfig, LocalExecutor};

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
    /// The step's private directory when [`Executor::private_file`] made it
    /// ahead of the run (it holds secret files); `run` uses it instead of a
    /// fresh one and removes it at the end like any private directory.
    pub private_dir: Option<PathBuf>,
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

    /// Writes `contents` to a new 0600 file `name` in a step's private
    /// directory and returns its path, creating the directory (0700) on first
    /// use and recording it in `private_dir`, so the path can be handed to the
    /// step (a File secret) before the step runs. Directories made here but
    /// never given to `run` are left for the caller to remove with the
    /// executor's private root.
    fn private_file(
        &self,
        private_dir: &mut Option<PathBuf>,
        name: &str,
        contents: &[u8],
    ) -> Result<PathBuf, ExecError>;
}
