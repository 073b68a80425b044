//! [`LocalExecutor`]: runs a step as a sandboxed child process on this machine.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Child;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::sandbox::{self, GroupSignal, Hook, Isolation};
use crate::script;
use crate::{
    ExecError, ExecFuture, Executor, ExitOutcome, Namespaces, Network, OutputChunk, OutputStream,
    StepExit, StepProcess,
};

/// How much of the output file is read back; more is an error, not a truncation.
const MAX_OUTPUT_FILE: u64 = 4 * 1024 * 1024;
/// Bytes per read from a step's stdout or stderr pipe.
const READ_CHUNK: usize = 32 * 1024;

/// Settings of a [`LocalExecutor`].
#[derive(Debug, Clone)]
pub struct LocalConfig {
    /// Directory under which each step gets its private directory (created
    /// 0700 if missing). Prefer a directory only rampart's user can enter,
    /// e.g. under the run's state directory.
    pub private_root: PathBuf,
    /// How long a stopped step (timeout, cancel) may take to exit after
    /// SIGTERM before its process group gets SIGKILL.
    pub kill_grace: Duration,
    /// How long output is still read after the step's process group was
    /// killed, for pipes held open by processes that left the group (only
    /// possible without a PID namespace). Time spent waiting for the output
    /// channel does not count, so no output that was written is lost to it.
    pub output_drain: Duration,
}

impl LocalConfig {
    /// Defaults: 10 s grace between SIGTERM and SIGKILL, 1 s output drain.
    pub fn new(private_root: impl Into<PathBuf>) -> Self {
        LocalConfig {
            private_root: private_root.into(),
            kill_grace: Duration::from_secs(10),
            output_drain: Duration::from_secs(1),
        }
    }
}

/// Runs steps as child processes of this process; see the crate docs for
/// the sandbox it builds.
pub struct LocalExecutor {
    config: LocalConfig,
    /// Why PID and mount namespaces cannot be created here, if they cannot.
    pid_mount_unavailable: Option<String>,
    /// Why network namespaces cannot be created here, if they cannot.
    network_unavailable: Option<String>,
    spawner: Spawner,
    /// Private directories made by `private_file` and not yet used by a run;
    /// `run` adopts only these, so a process description cannot point the
    /// executor at (and make it delete) any other directory.
    reserved: std::sync::Mutex<std::collections::HashSet<PathBuf>>,
}

impl LocalExecutor {
    /// Creates the private root and probes, once, which namespaces this
    /// kernel lets us create (by starting `/bin/sh -c :` inside them).
    pub fn new(config: LocalConfig) -> Result<LocalExecutor, ExecError> {
        let init_error = |message: String| ExecError::Setup {
            label: "(executor set-up)".to_string(),
            message,
        };
        let root = &config.private_root;
        if root.to_str().is_none() {
            return Err(init_error(format!(
                "the private directory root {} is not valid UTF-8; choose another state directory",
                root.display()
            )));
        }
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(root)
            .map_err(|e| {
                init_error(format!(
                    "cannot create the private directory root {}: {e}",
                    root.display()
                ))
            })?;
        let probe = |isolation| sandbox::probe(isolation).err().map(|e| e.to_string());
        let pid_mount_unavailable = probe(Isolation {
            pid_mount: true,
            network: false,
        });
        let network_unavailable = probe(Isolation {
            pid_mount: false,
            network: true,
        });
        let spawner = Spawner::start()
            .map_err(|e| init_error(format!("cannot start the process spawner thread: {e}")))?;
        Ok(LocalExecutor {
            config,
            pid_mount_unavailable,
            network_unavailable,
            spawner,
            reserved: std::sync::Mutex::default(),
        })
    }

    /// Whether steps can get new PID and mount namespaces here.
    pub fn namespaces_available(&self) -> bool {
        self.pid_mount_unavailable.is_none()
    }

    /// Why steps cannot get PID and mount namespaces here (so `Auto` steps
    /// run without them), for the caller to print; `None` when they can.
    pub fn namespaces_unavailable(&self) -> Option<&str> {
        self.pid_mount_unavailable.as_deref()
    }

    /// Why `Network::None` steps cannot run here; `None` when they can.
    pub fn network_isolation_unavailable(&self) -> Option<&str> {
        self.network_unavailable.as_deref()
    }

    /// The namespaces for `process`, or why what it asked for is impossible.
    fn isolation_for(&self, process: &StepProcess) -> Result<Isolation, String> {
        let pid_mount = match (process.namespaces, &self.pid_mount_unavailable) {
            (Namespaces::Off, _) => false,
            (Namespaces::Auto, why) => why.is_none(),
            (Namespaces::Required, None) => true,
            (Namespaces::Required, Some(why)) => {
                return Err(format!(
                    "PID and mount namespaces are required but cannot be created here: {why}. \
                     Use `--sandbox off` (or `--sandbox auto`) to run steps without them"
                ));
            }
        };
        let network = match (process.network, &self.network_unavailable) {
            (Network::Host, _) => false,
            (Network::None, None) => true,
            (Network::None, Some(why)) => {
                return Err(format!(
                    "`network: none` needs a new network namespace, which cannot be created here: {why}. \
                     Set `network: host` on the step (or drop `--network none`) to give it the host's network"
                ));
            }
        };
        Ok(Isolation { pid_mount, network })
    }

    async fn run_step(
        &self,
        process: StepProcess,
        output: mpsc::Sender<OutputChunk>,
        cancel: CancellationToken,
    ) -> Result<StepExit, ExecError> {
        let started = Instant::now();
        let label = process.label.as_str();
        let setup = |message: String| ExecError::Setup {
            label: label.to_string(),
            message,
        };
        let io_error = |what: String, e: io::Error| ExecError::Io {
            label: label.to_string(),
            source: io::Error::new(e.kind(), format!("{what}: {e}")),
        };

        let isolation = self.isolation_for(&process).map_err(setup)?;
        let launcher = script::launcher(
            process.interpreter,
            process.env.get("PATH").map(String::as_str),
        )
        .map_err(setup)?;
        if let Some(bad) = process
            .output_variables
            .iter()
            .find(|name| !script::is_variable_name(name))
        {
            return Err(setup(format!(
                "output variable {bad:?} is not a valid variable name (letters, digits and `_`, not starting with a digit)"
            )));
        }
        if !process.workspace.is_dir() {
            return Err(setup(format!(
                "the workspace {} is not a directory",
                process.workspace.display()
            )));
        }
        if cancel.is_cancelled() {
            return Ok(StepExit {
                outcome: ExitOutcome::Cancelled,
                outputs: BTreeMap::new(),
                duration: started.elapsed(),
            });
        }

        let dir = match &process.private_dir {
            Some(path) => self.adopt(path).map_err(setup)?,
            None => PrivateDir::create(&self.config.private_root).map_err(|e| {
                io_error(
                    format!(
                        "creating a private directory under {}",
                        self.config.private_root.display()
                    ),
                    e,
                )
            })?,
        };
        let output_file = dir
            .write_new("output", b"")
            .map_err(|e| io_error("creating the output file".into(), e))?;
        let delimiter = format!(
            "RAMPART_EOF_{}",
            random_hex().map_err(|e| io_error("reading /dev/urandom".into(), e))?
        );
        let text = script::script_text(
            process.interpreter,
            &process.script,
            &process.output_variables,
            &output_file.to_string_lossy(),
            &delimiter,
        );
        let script_path = dir
            .write_new(launcher.script_name, text.as_bytes())
            .map_err(|e| io_error("writing the script file".into(), e))?;

        let hook =
            Hook::new(isolation).map_err(|e| io_error("preparing the sandbox (mmap)".into(), e))?;
        let mut command = std::process::Command::new(&launcher.program);
        command
            .args(&launcher.args)
            .arg(&script_path)
            .env_clear()
            .envs(&process.env)
            .env("DRONE_OUTPUT", &output_file)
            .env("HARNESS_OUTPUT_FILE", &output_file)
            .current_dir(&process.workspace)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        hook.install(&mut command);
        let mut command = tokio::process::Command::from(command);
        command.kill_on_drop(true);

        let mut child = self.spawner.spawn(command).await.map_err(|e| {
            let failure = hook.explain(e);
            let program = launcher.program.display();
            if failure.stage.is_sandbox() {
                setup(format!(
                    "cannot set up the step's sandbox: {failure}. {}",
                    opt_out_hint(isolation)
                ))
            } else {
                setup(format!(
                    "cannot start {program} in {}: {}",
                    process.workspace.display(),
                    failure.error
                ))
            }
        })?;
        let Some(pgid) = child.id() else {
            return Err(setup(
                "the step's process vanished right after it started".into(),
            ));
        };
        let mut group = GroupGuard { pgid, armed: true };

        let (drain_tx, drain_rx) = watch::channel(None);
        let drain = self.config.output_drain;
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let pumps = async {
            tokio::join!(
                pump(
                    stdout,
                    OutputStream::Stdout,
                    &output,
                    drain_rx.clone(),
                    drain
                ),
                pump(
                    stderr,
                    OutputStream::Stderr,
                    &output,
                    drain_rx.clone(),
                    drain
                ),
            )
        };
        let supervised = async {
            let outcome = supervise(
                &mut child,
                pgid,
                process.timeout,
                &cancel,
                self.config.kill_grace,
            )
            .await;
            // Whatever is left of the group (background jobs of a step run
            // without a PID namespace) goes with the step.
            let cleanup = sandbox::signal_group(pgid, GroupSignal::Kill);
            let _ = drain_tx.send(Some(Instant::now()));
            (outcome, cleanup)
        };
        let ((outcome, cleanup), _) = tokio::join!(supervised, pumps);
        let outcome = outcome.map_err(|e| io_error("waiting for the step's process".into(), e))?;
        cleanup.map_err(|e| {
            io_error(
                format!("killing the processes left in the step's process group {pgid}"),
                e,
            )
        })?;
        group.armed = false;

        let outputs = if outcome == ExitOutcome::Exited(0) {
            let mut outputs = read_outputs(&output_file)
                .map_err(|e| io_error(format!("reading {}", output_file.display()), e))?;
            for name in &process.output_variables {
                outputs.entry(name.clone()).or_default();
            }
            outputs
        } else {
            BTreeMap::new()
        };
        dir.remove()
            .map_err(|e| io_error("removing the step's private directory".into(), e))?;
        Ok(StepExit {
            outcome,
            outputs,
            duration: started.elapsed(),
        })
    }
}

impl LocalExecutor {
    /// Takes over a directory `private_file` made, once.
    fn adopt(&self, path: &Path) -> Result<PrivateDir, String> {
        let mut reserved = self.reserved.lock().unwrap_or_else(|p| p.into_inner());
        if !reserved.remove(path) {
            return Err(format!(
                "{} is not a private directory this executor made for a step",
                path.display()
            ));
        }
        Ok(PrivateDir {
            path: path.to_path_buf(),
            removed: false,
        })
    }
}

impl Executor for LocalExecutor {
    fn private_file(
        &self,
        private_dir: &mut Option<PathBuf>,
        name: &str,
        contents: &[u8],
    ) -> Result<PathBuf, ExecError> {
        let fail = |message: String| ExecError::Setup {
            label: "private file".to_string(),
            message,
        };
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Err(fail(format!("{name:?} is not a plain file name")));
        }
        let dir = match private_dir {
            Some(path) => PrivateDir {
                path: path.clone(),
                // Still reserved: removal is `run`'s (or the root's) job.
                removed: true,
            },
            None => {
                let mut dir = PrivateDir::create(&self.config.private_root)
                    .map_err(|e| fail(format!("cannot create a private directory: {e}")))?;
                dir.removed = true;
                self.reserved
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(dir.path.clone());
                *private_dir = Some(dir.path.clone());
                dir
            }
        };
        dir.write_new(name, contents)
            .map_err(|e| fail(format!("cannot write {name} in the private directory: {e}")))
    }

    fn run(
        &self,
        process: StepProcess,
        output: mpsc::Sender<OutputChunk>,
        cancel: CancellationToken,
    ) -> ExecFuture<'_> {
        Box::pin(self.run_step(process, output, cancel))
    }
}

fn opt_out_hint(isolation: Isolation) -> &'static str {
    match (isolation.pid_mount, isolation.network) {
        (true, true) => {
            "Use `--sandbox off` to run without PID/mount namespaces, or `network: host` to run without a network namespace"
        }
        (false, true) => "Set `network: host` on the step to run it without a network namespace",
        _ => "Use `--sandbox off` to run steps without PID and mount namespaces",
    }
}

/// Waits for the step to exit, or stops its group on timeout or cancel
/// (SIGTERM, then SIGKILL after `grace`).
async fn supervise(
    child: &mut Child,
    pgid: u32,
    timeout: Option<Duration>,
    cancel: &CancellationToken,
    grace: Duration,
) -> io::Result<ExitOutcome> {
    let deadline = async {
        match timeout {
            Some(timeout) => tokio::time::sleep(timeout).await,
            None => std::future::pending().await,
        }
    };
    let stopped = tokio::select! {
        status = child.wait() => return Ok(outcome_of(status?)),
        () = deadline => ExitOutcome::TimedOut,
        () = cancel.cancelled() => ExitOutcome::Cancelled,
    };
    sandbox::signal_group(pgid, GroupSignal::Terminate)?;
    if tokio::time::timeout(grace, child.wait()).await.is_err() {
        sandbox::signal_group(pgid, GroupSignal::Kill)?;
        child.wait().await?;
    }
    Ok(stopped)
}

fn outcome_of(status: ExitStatus) -> ExitOutcome {
    match (status.code(), status.signal()) {
        (Some(code), _) => ExitOutcome::Exited(code),
        (None, Some(signal)) => ExitOutcome::Signaled(signal),
        // Neither exited nor signalled: only stop/continue reports, which a
        // reaped child cannot produce.
        (None, None) => ExitOutcome::Exited(-1),
    }
}

/// Forwards what the step writes to `stream` as chunks, as soon as it is
/// read. Stops at end of file, or once `drain` has been set (the group is
/// gone) and no data came for the drain time (not counting time spent
/// waiting for room in the channel). If the receiver is gone, keeps reading
/// and discards, so the step never blocks on a full pipe.
async fn pump<R: AsyncRead + Unpin>(
    reader: Option<R>,
    stream: OutputStream,
    output: &mpsc::Sender<OutputChunk>,
    mut drain: watch::Receiver<Option<Instant>>,
    drain_for: Duration,
) {
    let Some(mut reader) = reader else { return };
    let mut buf = vec![0u8; READ_CHUNK];
    let mut forward = true;
    let mut deadline: Option<Instant> = None;
    loop {
        if deadline.is_none() {
            deadline = drain.borrow().map(|at| at + drain_for);
        }
        let read = match deadline {
            Some(deadline) => tokio::select! {
                read = reader.read(&mut buf) => read,
                () = tokio::time::sleep_until(deadline) => return,
            },
            None => tokio::select! {
                read = reader.read(&mut buf) => read,
                changed = drain.changed() => {
                    if changed.is_err() {
                        deadline = Some(Instant::now() + drain_for);
                    }
                    continue;
                }
            },
        };
        let n = match read {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if forward {
            let waited_from = Instant::now();
            let chunk = OutputChunk {
                stream,
                bytes: buf[..n].to_vec(),
            };
            forward = output.send(chunk).await.is_ok();
            if let Some(deadline) = deadline.as_mut() {
                *deadline += waited_from.elapsed();
            }
        }
    }
}

fn read_outputs(path: &Path) -> io::Result<BTreeMap<String, String>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_OUTPUT_FILE + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_OUTPUT_FILE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the step wrote more than {MAX_OUTPUT_FILE} bytes of output variables"),
        ));
    }
    Ok(script::parse_outputs(&String::from_utf8_lossy(&bytes)))
}

/// 128 random bits as hex, for private directory names and delimiters.
fn random_hex() -> io::Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A step's private 0700 directory; removed on drop if not removed before.
struct PrivateDir {
    path: PathBuf,
    removed: bool,
}

impl PrivateDir {
    fn create(root: &Path) -> io::Result<PrivateDir> {
        let path = root.join(format!("step-{}", random_hex()?));
        std::fs::DirBuilder::new().mode(0o700).create(&path)?;
        let dir = PrivateDir {
            path,
            removed: false,
        };
        // The umask may have taken bits away; make it exactly 0700.
        std::fs::set_permissions(&dir.path, std::fs::Permissions::from_mode(0o700))?;
        Ok(dir)
    }

    /// Creates `name` (0600, never following or replacing an existing file).
    fn write_new(&self, name: &str, contents: &[u8]) -> io::Result<PathBuf> {
        let path = self.path.join(name);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?
            .write_all(contents)?;
        Ok(path)
    }

    fn remove(mut self) -> io::Result<()> {
        self.removed = true;
        std::fs::remove_dir_all(&self.path)
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        if !self.removed {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Kills the step's process group if `run` is left early (error, or the
/// future dropped), so nothing outlives the step.
struct GroupGuard {
    pgid: u32,
    armed: bool,
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if self.armed {
            let _ = sandbox::signal_group(self.pgid, GroupSignal::Kill);
        }
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// A long-lived thread that forks every step. `PR_SET_PDEATHSIG` fires when
/// the *thread* that forked a process exits, so forking from Tokio threads
/// (some of which come and go) could kill steps at random; this thread lives
/// as long as the executor, which outlives every step it runs.
struct Spawner {
    jobs: std::sync::mpsc::Sender<Job>,
}

impl Spawner {
    fn start() -> io::Result<Spawner> {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("rampart-exec-spawner".into())
            .spawn(move || {
                while let Ok(job) = queue.recv() {
                    job();
                }
            })?;
        Ok(Spawner { jobs })
    }

    async fn spawn(&self, mut command: tokio::process::Command) -> io::Result<Child> {
        let stopped = || io::Error::other("the executor's spawner thread has stopped");
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| io::Error::other(format!("steps must run inside a Tokio runtime: {e}")))?;
        let (reply, child) = oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _entered = runtime.enter();
                let _ = reply.send(command.spawn());
            }))
            .map_err(|_| stopped())?;
        child.await.map_err(|_| stopped())?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(namespaces: Namespaces, network: Network) -> StepProcess {
        StepProcess {
            label: "s/t".into(),
            interpreter: crate::Interpreter::Sh,
            script: "true".into(),
            env: BTreeMap::new(),
            workspace: PathBuf::from("/"),
            timeout: None,
            network,
            namespaces,
            output_variables: Vec::new(),
            private_dir: None,
        }
    }

    /// An executor on a kernel that refuses every namespace.
    fn without_namespaces(root: &Path) -> LocalExecutor {
        let mut exec = LocalExecutor::new(LocalConfig::new(root)).unwrap();
        exec.pid_mount_unavailable =
            Some("creating the namespaces (unshare) failed: Operation not permitted".into());
        exec.network_unavailable =
            Some("creating the namespaces (unshare) failed: Operation not permitted".into());
        exec
    }

    #[test]
    fn auto_falls_back_and_says_why() {
        let tmp = tempfile::tempdir().unwrap();
        let exec = without_namespaces(tmp.path());
        assert!(!exec.namespaces_available());
        assert!(exec.namespaces_unavailable().unwrap().contains("unshare"));
        let isolation = exec
            .isolation_for(&process(Namespaces::Auto, Network::Host))
            .unwrap();
        assert_eq!(isolation, Isolation::NONE);
    }

    #[test]
    fn required_namespaces_fail_with_the_reason_and_the_opt_out() {
        let tmp = tempfile::tempdir().unwrap();
        let exec = without_namespaces(tmp.path());
        let err = exec
            .isolation_for(&process(Namespaces::Required, Network::Host))
            .unwrap_err();
        assert!(
            err.contains("PID and mount namespaces are required"),
            "{err}"
        );
        assert!(err.contains("Operation not permitted"), "{err}");
        assert!(err.contains("--sandbox off"), "{err}");
    }

    #[test]
    fn network_none_never_runs_with_the_hosts_network() {
        let tmp = tempfile::tempdir().unwrap();
        let exec = without_namespaces(tmp.path());
        for namespaces in [Namespaces::Auto, Namespaces::Off, Namespaces::Required] {
            let Err(err) = exec.isolation_for(&process(namespaces, Network::None)) else {
                panic!("{namespaces:?} with network none must fail");
            };
            if namespaces != Namespaces::Required {
                assert!(
                    err.contains("`network: none` needs a new network namespace"),
                    "{err}"
                );
                assert!(err.contains("network: host"), "{err}");
            }
        }
    }

    #[test]
    fn isolation_follows_the_request_where_namespaces_work() {
        let tmp = tempfile::tempdir().unwrap();
        let mut exec = LocalExecutor::new(LocalConfig::new(tmp.path())).unwrap();
        exec.pid_mount_unavailable = None;
        exec.network_unavailable = None;
        let get = |n, net| exec.isolation_for(&process(n, net)).unwrap();
        assert_eq!(get(Namespaces::Off, Network::Host), Isolation::NONE);
        assert_eq!(
            get(Namespaces::Off, Network::None),
            Isolation {
                pid_mount: false,
                network: true
            }
        );
        assert_eq!(
            get(Namespaces::Auto, Network::Host),
            Isolation {
                pid_mount: true,
                network: false
            }
        );
        assert_eq!(
            get(Namespaces::Required, Network::None),
            Isolation {
                pid_mount: true,
                network: true
            }
        );
    }

    #[test]
    fn exit_statuses_map_to_outcomes() {
        assert_eq!(
            outcome_of(ExitStatus::from_raw(3 << 8)),
            ExitOutcome::Exited(3)
        );
        assert_eq!(
            outcome_of(ExitStatus::from_raw(9)),
            ExitOutcome::Signaled(9)
        );
    }
}
