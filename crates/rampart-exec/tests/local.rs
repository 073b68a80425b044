//! Security and behaviour tests of the local executor with real processes.
//! Waits are bounded by generous deadlines; rendezvous files, not sleeps,
//! order the test and the step.

// Test helpers, like tests, may panic on unexpected errors.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::future::Future;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rampart_exec::{
    ExecError, Executor, ExitOutcome, Interpreter, LocalConfig, LocalExecutor, Namespaces, Network,
    OutputChunk, OutputStream, StepExit, StepProcess,
};
use tempfile::TempDir;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const BOTH_MODES: [Namespaces; 2] = [Namespaces::Off, Namespaces::Required];
const DEADLINE: Duration = Duration::from_secs(20);

struct Fixture {
    _tmp: TempDir,
    root: PathBuf,
    workspace: PathBuf,
    exec: LocalExecutor,
}

fn fixture() -> Fixture {
    fixture_with(|_| {})
}

fn fixture_with(adjust: impl FnOnce(&mut LocalConfig)) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("private");
    let workspace = tmp.path().join("workspace");
    std::fs::create_dir(&workspace).unwrap();
    let mut config = LocalConfig::new(&root);
    adjust(&mut config);
    let exec = LocalExecutor::new(config).unwrap();
    Fixture {
        _tmp: tmp,
        root,
        workspace,
        exec,
    }
}

impl Fixture {
    fn step(&self, interpreter: Interpreter, script: &str, namespaces: Namespaces) -> StepProcess {
        let mut env = BTreeMap::new();
        env.insert("PATH".to_string(), std::env::var("PATH").unwrap());
        StepProcess {
            label: "test/step".into(),
            interpreter,
            script: script.into(),
            env,
            workspace: self.workspace.clone(),
            timeout: Some(DEADLINE),
            network: Network::Host,
            namespaces,
            output_variables: Vec::new(),
            private_dir: None,
        }
    }

    fn sh(&self, script: &str, namespaces: Namespaces) -> StepProcess {
        self.step(Interpreter::Sh, script, namespaces)
    }

    fn private_entries(&self) -> Vec<PathBuf> {
        std::fs::read_dir(&self.root)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect()
    }
}

struct Ran {
    exit: StepExit,
    stdout: String,
    stderr: String,
}

async fn run(exec: &LocalExecutor, process: StepProcess) -> Ran {
    try_run(exec, process).await.unwrap()
}

async fn try_run(exec: &LocalExecutor, process: StepProcess) -> Result<Ran, ExecError> {
    run_with(exec, process, CancellationToken::new(), |_| {}, async {}).await
}

/// Runs `process` while `alongside` runs; `on_chunk` sees every chunk as it arrives.
async fn run_with(
    exec: &LocalExecutor,
    process: StepProcess,
    cancel: CancellationToken,
    mut on_chunk: impl FnMut(&OutputChunk),
    alongside: impl Future<Output = ()>,
) -> Result<Ran, ExecError> {
    let (tx, mut rx) = mpsc::channel(4);
    let collect = async move {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        while let Some(chunk) = rx.recv().await {
            on_chunk(&chunk);
            match chunk.stream {
                OutputStream::Stdout => out.extend_from_slice(&chunk.bytes),
                OutputStream::Stderr => err.extend_from_slice(&chunk.bytes),
            }
        }
        (out, err)
    };
    let (exit, (out, err), ()) = tokio::join!(exec.run(process, tx, cancel), collect, alongside);
    Ok(Ran {
        exit: exit?,
        stdout: String::from_utf8_lossy(&out).into_owned(),
        stderr: String::from_utf8_lossy(&err).into_owned(),
    })
}

/// Polls `cond` until it holds or the deadline passes.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let until = Instant::now() + DEADLINE;
    while !cond() {
        assert!(Instant::now() < until, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Host processes (pid, argv), zombies excluded.
fn host_processes() -> Vec<(u32, Vec<String>)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let state = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next());
        if matches!(state, Some('Z') | Some('X') | None) {
            continue;
        }
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let argv = cmdline
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        found.push((pid, argv));
    }
    found
}

fn running_with_arg(arg: &str) -> Vec<u32> {
    host_processes()
        .into_iter()
        .filter(|(_, argv)| argv.iter().any(|a| a == arg))
        .map(|(pid, _)| pid)
        .collect()
}

async fn assert_gone(arg: &str) {
    eventually(&format!("no process with argument {arg} left"), || {
        running_with_arg(arg).is_empty()
    })
    .await;
}

/// A rendezvous file the test creates to release a waiting step.
fn go_file(f: &Fixture, name: &str) -> PathBuf {
    f.workspace.join(name)
}

const WAIT_FOR_GO: &str = "until [ -e \"$GO\" ]; do sleep 0.01; done";

#[tokio::test]
async fn exit_codes_and_signals_are_mapped() {
    let f = fixture();
    for mode in BOTH_MODES {
        let ok = run(&f.exec, f.sh("true", mode)).await;
        assert_eq!(ok.exit.outcome, ExitOutcome::Exited(0), "{mode:?}");
        let three = run(&f.exec, f.sh("exit 3", mode)).await;
        assert_eq!(three.exit.outcome, ExitOutcome::Exited(3), "{mode:?}");
        let failed = run(&f.exec, f.sh("false\necho not reached", mode)).await;
        assert_eq!(
            failed.exit.outcome,
            ExitOutcome::Exited(1),
            "{mode:?}: set -e"
        );
        assert!(!failed.stdout.contains("not reached"));
        let killed = run(&f.exec, f.sh("kill -USR1 $$", mode)).await;
        assert_eq!(
            killed.exit.outcome,
            ExitOutcome::Signaled(libc::SIGUSR1),
            "{mode:?}"
        );
        let segv = run(&f.exec, f.sh("kill -SEGV $$", mode)).await;
        assert_eq!(
            segv.exit.outcome,
            ExitOutcome::Signaled(libc::SIGSEGV),
            "{mode:?}"
        );
    }
}

#[tokio::test]
async fn shell_steps_trace_commands_like_harness() {
    let f = fixture();
    let ran = run(&f.exec, f.sh("echo hello", Namespaces::Auto)).await;
    assert_eq!(ran.stdout, "hello\n");
    assert!(
        ran.stderr.contains("+ echo hello"),
        "stderr: {}",
        ran.stderr
    );
}

#[tokio::test]
async fn environment_is_cleared_and_holds_only_declared_and_executor_variables() {
    // Cargo sets this for the test process; the step must not inherit it.
    assert!(std::env::var("CARGO_MANIFEST_DIR").is_ok());
    let f = fixture();
    for mode in BOTH_MODES {
        let mut p = f.sh("env", mode);
        p.env.insert("DECLARED".into(), "yes".into());
        let ran = run(&f.exec, p).await;
        assert_eq!(ran.exit.outcome, ExitOutcome::Exited(0));
        let names: Vec<&str> = ran
            .stdout
            .lines()
            .filter_map(|l| l.split_once('=').map(|(k, _)| k))
            .collect();
        assert!(names.contains(&"DECLARED"), "{names:?}");
        assert!(names.contains(&"DRONE_OUTPUT"), "{names:?}");
        assert!(names.contains(&"HARNESS_OUTPUT_FILE"), "{names:?}");
        let allowed = [
            "PATH",
            "DECLARED",
            "DRONE_OUTPUT",
            "HARNESS_OUTPUT_FILE",
            "PWD",
            "OLDPWD",
            "SHLVL",
            "_",
        ];
        for name in names {
            assert!(
                allowed.contains(&name),
                "{mode:?}: unexpected variable {name}"
            );
        }
        assert!(!ran.stdout.contains("CARGO_MANIFEST_DIR"));
    }
}

#[tokio::test]
async fn script_never_appears_in_argv() {
    let f = fixture();
    for (i, mode) in BOTH_MODES.into_iter().enumerate() {
        let marker = format!("SECRET_MARKER_{}_{}", std::process::id(), i);
        let ready = f.workspace.join(format!("ready{i}"));
        let go = go_file(&f, &format!("go{i}"));
        let mut p = f.sh(
            &format!(
                "# {marker}\necho \"$$\" > \"$READY.tmp\" && mv \"$READY.tmp\" \"$READY\"\n{WAIT_FOR_GO}\necho {marker}"
            ),
            mode,
        );
        p.env.insert("READY".into(), ready.display().to_string());
        p.env.insert("GO".into(), go.display().to_string());
        let root = f.root.clone();
        let check = async {
            eventually("the step to be ready", || ready.exists()).await;
            let processes = host_processes();
            for (pid, argv) in &processes {
                assert!(
                    !argv.iter().any(|a| a.contains(&marker)),
                    "pid {pid} has the script in its argv: {argv:?}"
                );
            }
            let step: Vec<_> = processes
                .iter()
                .filter(|(_, argv)| argv.iter().any(|a| a.starts_with(root.to_str().unwrap())))
                .collect();
            assert!(
                !step.is_empty(),
                "{mode:?}: the step's process was not found"
            );
            for (_, argv) in &step {
                assert_eq!(argv.len(), 4, "{argv:?}");
                assert_eq!(&argv[..3], ["/bin/sh", "-e", "-x"]);
                assert!(argv[3].ends_with("/script.sh"), "{argv:?}");
            }
            if mode == Namespaces::Off {
                // Without a PID namespace `$$` is the host pid: read its cmdline directly.
                let pid = std::fs::read_to_string(&ready).unwrap().trim().to_string();
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
                let cmdline = String::from_utf8_lossy(&cmdline);
                assert!(cmdline.starts_with("/bin/sh\0-e\0-x\0"), "{cmdline:?}");
                assert!(!cmdline.contains(&marker));
            }
            std::fs::write(&go, "").unwrap();
        };
        let ran = run_with(&f.exec, p, CancellationToken::new(), |_| {}, check)
            .await
            .unwrap();
        assert_eq!(ran.exit.outcome, ExitOutcome::Exited(0));
        assert!(ran.stdout.contains(&marker));
    }
}

#[tokio::test]
async fn private_directory_is_0700_with_0600_files_and_removed_afterwards() {
    let f = fixture();
    for mode in BOTH_MODES {
        let script = "stat -c %a \"$(dirname \"$DRONE_OUTPUT\")\" \"$DRONE_OUTPUT\" \"$0\"";
        let ran = run(&f.exec, f.sh(script, mode)).await;
        assert_eq!(ran.exit.outcome, ExitOutcome::Exited(0), "{}", ran.stderr);
        assert_eq!(ran.stdout, "700\n600\n600\n");
        assert!(f.private_entries().is_empty(), "{:?}", f.private_entries());

        let failed = run(&f.exec, f.sh("exit 7", mode)).await;
        assert_eq!(failed.exit.outcome, ExitOutcome::Exited(7));
        assert!(f.private_entries().is_empty());
    }
    let root_mode = std::fs::metadata(&f.root).unwrap().permissions().mode() & 0o777;
    assert_eq!(root_mode, 0o700);

    // A spawn error after the directory was made (a NUL byte in the
    // environment) still removes it.
    let mut p = f.sh("true", Namespaces::Auto);
    p.env.insert("BAD".into(), "a\0b".into());
    let err = try_run(&f.exec, p).await.err().unwrap();
    assert!(matches!(err, ExecError::Setup { .. }), "{err}");
    assert!(f.private_entries().is_empty());
}

#[tokio::test]
async fn private_files_are_0600_in_the_steps_directory_and_removed_with_it() {
    let f = fixture();
    for mode in BOTH_MODES {
        let mut dir = None;
        let path = f
            .exec
            .private_file(&mut dir, "secret-key", b"file-secret-contents")
            .unwrap();
        let second = f.exec.private_file(&mut dir, "secret-other", b"x").unwrap();
        assert_eq!(path.parent(), second.parent(), "one directory per step");
        assert_eq!(dir.as_deref(), path.parent());
        let mut p = f.sh(
            &format!("stat -c %a \"{0}\" && cat \"{0}\"", path.display()),
            mode,
        );
        p.private_dir = dir.clone();
        let ran = run(&f.exec, p).await;
        assert_eq!(ran.exit.outcome, ExitOutcome::Exited(0), "{}", ran.stderr);
        assert_eq!(ran.stdout, "600\nfile-secret-contents");
        assert!(f.private_entries().is_empty(), "{:?}", f.private_entries());

        // A directory is adopted once: a second run naming it is refused.
        let mut again = f.sh("true", mode);
        again.private_dir = dir;
        let err = try_run(&f.exec, again).await.err().unwrap();
        assert!(
            err.to_string()
                .contains("not a private directory this executor made"),
            "{err}"
        );
    }
    // Nor can a process point the executor at any other directory.
    let mut foreign = f.sh("true", Namespaces::Off);
    foreign.private_dir = Some(f.workspace.clone());
    assert!(try_run(&f.exec, foreign).await.is_err());
    assert!(
        f.workspace.is_dir(),
        "a foreign directory must not be removed"
    );
    let mut dir = None;
    assert!(f.exec.private_file(&mut dir, "../escape", b"x").is_err());
    assert!(dir.is_none());
}

#[tokio::test]
async fn pid_namespace_shows_only_the_steps_processes() {
    let f = fixture();
    assert!(
        f.exec.namespaces_available(),
        "this test machine supports namespaces"
    );
    assert_eq!(f.exec.namespaces_unavailable(), None);
    let script = "echo \"self=$$\"\nls /proc | grep -E '^[0-9]+$' | tr '\\n' ' '";
    let ran = run(&f.exec, f.sh(script, Namespaces::Required)).await;
    assert_eq!(ran.exit.outcome, ExitOutcome::Exited(0), "{}", ran.stderr);
    let mut lines = ran.stdout.lines();
    assert_eq!(
        lines.next(),
        Some("self=2"),
        "the step is PID 2, under its init"
    );
    let pids: Vec<u32> = lines
        .next()
        .unwrap()
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    assert!(pids.contains(&1) && pids.contains(&2), "{pids:?}");
    assert!(pids.len() <= 6, "only the step's own processes: {pids:?}");
    assert!(pids.iter().all(|p| *p < 20), "{pids:?}");
}

#[tokio::test]
async fn network_none_has_only_loopback_and_cannot_reach_the_host() {
    let f = fixture();
    assert_eq!(f.exec.network_isolation_unavailable(), None);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = r#"
import os, socket
print("interfaces", sorted(n for _, n in socket.if_nameindex()))
try:
    socket.create_connection(("127.0.0.1", int(os.environ["HOST_PORT"])), timeout=5)
    print("host reachable")
except OSError as e:
    print("host unreachable", e.errno)
inner = socket.socket()
inner.bind(("127.0.0.1", 0))
inner.listen()
client = socket.create_connection(inner.getsockname(), timeout=5)
conn, _ = inner.accept()
client.sendall(b"ping")
print("loopback", conn.recv(4).decode())
"#;
    for mode in [Namespaces::Required, Namespaces::Off] {
        let mut p = f.step(Interpreter::Python, script, mode);
        p.network = Network::None;
        p.env.insert("HOST_PORT".into(), port.to_string());
        let ran = run(&f.exec, p).await;
        assert_eq!(ran.exit.outcome, ExitOutcome::Exited(0), "{}", ran.stderr);
        assert!(ran.stdout.contains("interfaces ['lo']"), "{}", ran.stdout);
        assert!(ran.stdout.contains("host unreachable"), "{}", ran.stdout);
        assert!(ran.stdout.contains("loopback ping"), "{}", ran.stdout);
        assert!(listener.accept().is_err(), "no connection reached the host");
    }
    // The same step with the host's network does reach the listener.
    let mut p = f.step(Interpreter::Python, script, Namespaces::Required);
    p.env.insert("HOST_PORT".into(), port.to_string());
    let ran = run(&f.exec, p).await;
    assert!(ran.stdout.contains("host reachable"), "{}", ran.stdout);
}

#[tokio::test]
async fn timeout_stops_the_whole_group_including_background_children() {
    let f = fixture_with(|c| c.kill_grace = Duration::from_secs(5));
    for (i, mode) in BOTH_MODES.into_iter().enumerate() {
        let bg = format!("98760{i}");
        let fg = format!("98761{i}");
        let mut p = f.sh(&format!("sleep {bg} &\nsleep {fg}"), mode);
        let timeout = Duration::from_millis(300);
        p.timeout = Some(timeout);
        let started = Instant::now();
        let ran = run(&f.exec, p).await;
        let took = started.elapsed();
        assert_eq!(ran.exit.outcome, ExitOutcome::TimedOut, "{mode:?}");
        assert!(took >= timeout, "{took:?}");
        // SIGTERM ends sh and sleep at once: no need to wait for the grace.
        assert!(
            took < timeout + Duration::from_secs(3),
            "{mode:?}: took {took:?}"
        );
        assert!(ran.exit.outputs.is_empty());
        assert_gone(&bg).await;
        assert_gone(&fg).await;
        assert!(f.private_entries().is_empty());
    }
}

#[tokio::test]
async fn a_step_ignoring_sigterm_is_killed_after_the_grace_period() {
    let grace = Duration::from_millis(500);
    let f = fixture_with(|c| c.kill_grace = grace);
    for (i, mode) in BOTH_MODES.into_iter().enumerate() {
        let arg = format!("98762{i}");
        let mut p = f.sh(&format!("trap '' TERM\nsleep {arg} &\nsleep {arg}"), mode);
        let timeout = Duration::from_millis(200);
        p.timeout = Some(timeout);
        let started = Instant::now();
        let ran = run(&f.exec, p).await;
        let took = started.elapsed();
        assert_eq!(ran.exit.outcome, ExitOutcome::TimedOut, "{mode:?}");
        assert!(
            took >= timeout + grace,
            "{mode:?}: SIGKILL only after the grace: {took:?}"
        );
        assert!(
            took < timeout + grace + Duration::from_secs(3),
            "{mode:?}: {took:?}"
        );
        assert_gone(&arg).await;
    }
}

#[tokio::test]
async fn cancel_stops_the_whole_group() {
    let f = fixture();
    for (i, mode) in BOTH_MODES.into_iter().enumerate() {
        let arg = format!("98763{i}");
        let p = f.sh(&format!("sleep {arg} &\necho started\nwait"), mode);
        let cancel = CancellationToken::new();
        let trigger = cancel.clone();
        let started = Instant::now();
        let ran = run_with(
            &f.exec,
            p,
            cancel,
            move |chunk| {
                if chunk.bytes.windows(7).any(|w| w == b"started") {
                    trigger.cancel();
                }
            },
            async {},
        )
        .await
        .unwrap();
        assert_eq!(ran.exit.outcome, ExitOutcome::Cancelled, "{mode:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_gone(&arg).await;
        assert!(f.private_entries().is_empty());
    }
}

#[tokio::test]
async fn already_cancelled_steps_do_not_start() {
    let f = fixture();
    let marker = f.workspace.join("ran");
    let mut p = f.sh("touch \"$MARK\"", Namespaces::Auto);
    p.env.insert("MARK".into(), marker.display().to_string());
    let cancel = CancellationToken::new();
    cancel.cancel();
    let ran = run_with(&f.exec, p, cancel, |_| {}, async {})
        .await
        .unwrap();
    assert_eq!(ran.exit.outcome, ExitOutcome::Cancelled);
    assert!(!marker.exists());
}

#[tokio::test]
async fn background_processes_do_not_outlive_a_finished_step() {
    let f = fixture();
    for (i, mode) in BOTH_MODES.into_iter().enumerate() {
        let arg = format!("98764{i}");
        // The background sleep also holds stdout open: output reading must
        // still end promptly.
        let started = Instant::now();
        let ran = run(&f.exec, f.sh(&format!("sleep {arg} &\necho done"), mode)).await;
        assert_eq!(ran.exit.outcome, ExitOutcome::Exited(0));
        assert_eq!(ran.stdout, "done\n");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_gone(&arg).await;
    }
}

#[tokio::test]
async fn output_reading_is_bounded_when_an_escaped_process_holds_the_pipe() {
    let f = fixture_with(|c| c.output_drain = Duration::from_millis(200));
    let arg = "987650";
    // setsid takes the sleep out of the step's process group; without a PID
    // namespace nothing can find it, and it keeps stdout open.
    let p = f.sh(&format!("setsid sleep {arg} &\necho done"), Namespaces::Off);
    let started = Instant::now();
    let ran = run(&f.exec, p).await;
    assert_eq!(ran.exit.outcome, ExitOutcome::Exited(0));
    assert_eq!(ran.stdout, "done\n");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    for pid in running_with_arg(arg) {
        let _ = std::process::Command::new("kill")
            .arg(pid.to_string())
            .status();
    }
    // In a PID namespace the same escape does not survive the step.
    let p = f.sh(
        &format!("setsid sleep {arg} &\necho done"),
        Namespaces::Required,
    );
    let ran = run(&f.exec, p).await;
    assert_eq!(ran.exit.outcome, ExitOutcome::Exited(0));
    assert_gone(arg).await;
}

#[tokio::test]
async fn output_variables_are_captured_including_multi_line_values() {
    let f = fixture();
    for interpreter in [Interpreter::Sh, Interpreter::Bash] {
        for mode in BOTH_MODES {
            let script = "A=\"line1\nline2\"\nB='it'\"'\"'s <<EOF = x'\nT=\"trailing\n\"\n\
                          echo \"FROMFILE=written by the step\" >> \"$DRONE_OUTPUT\"\necho done";
            let mut p = f.step(interpreter, script, mode);
            p.output_variables = vec!["A".into(), "B".into(), "T".into(), "UNSET".into()];
            let ran = run(&f.exec, p).await;
            assert_eq!(ran.exit.outcome, ExitOutcome::Exited(0), "{}", ran.stderr);
            let out = &ran.exit.outputs;
            assert_eq!(out["A"], "line1\nline2");
            assert_eq!(out["B"], "it's <<EOF = x");
            assert_eq!(out["T"], "trailing\n");
            assert_eq!(out["UNSET"], "");
            assert_eq!(out["FROMFILE"], "written by the step");
            assert_eq!(out.len(), 5);
            // The trailer is not traced into the log.
            assert!(!ran.stderr.contains("RAMPART_EOF"), "{}", ran.stderr);
            assert!(!ran.stderr.contains("printf"), "{}", ran.stderr);
        }
    }
}

#[tokio::test]
async fn outputs_are_only_returned_on_success() {
    let f = fixture();
    let mut p = f.sh(
        "A=1\necho B=2 >> \"$DRONE_OUTPUT\"\nfalse",
        Namespaces::Auto,
    );
    p.output_variables = vec!["A".into()];
    let ran = run(&f.exec, p).await;
    assert_eq!(ran.exit.outcome, ExitOutcome::Exited(1));
    assert!(ran.exit.outputs.is_empty());
}

#[tokio::test]
async fn the_trailer_keeps_the_scripts_exit_status() {
    let f = fixture();
    let mut p = f.sh("set +e\nA=1\nfalse", Namespaces::Auto);
    p.output_variables = vec!["A".into()];
    let ran = run(&f.exec, p).await;
    assert_eq!(ran.exit.outcome, ExitOutcome::Exited(1));
}

#[tokio::test]
async fn output_chunks_arrive_while_the_step_runs() {
    let f = fixture();
    for (i, mode) in BOTH_MODES.into_iter().enumerate() {
        let go = go_file(&f, &format!("stream{i}"));
        let mut p = f.sh(&format!("echo first\n{WAIT_FOR_GO}\necho second"), mode);
        p.env.insert("GO".into(), go.display().to_string());
        let go_for_chunks = go.clone();
        // The step only goes on once the test has seen its first line, so
        // the run can only finish if that line was streamed.
        let ran = run_with(
            &f.exec,
            p,
            CancellationToken::new(),
            move |chunk| {
                if chunk.stream == OutputStream::Stdout && chunk.bytes.starts_with(b"first") {
                    std::fs::write(&go_for_chunks, "").unwrap();
                }
            },
            async {},
        )
        .await
        .unwrap();
        assert_eq!(ran.exit.outcome, ExitOutcome::Exited(0), "{mode:?}");
        assert_eq!(ran.stdout, "first\nsecond\n");
    }
}

#[tokio::test]
async fn stdin_is_empty() {
    let f = fixture();
    let ran = run(&f.exec, f.sh("wc -c", Namespaces::Auto)).await;
    assert_eq!(ran.stdout.trim(), "0");
}

#[tokio::test]
async fn python_steps_run_in_main_with_outputs_from_os_environ() {
    let f = fixture();
    std::fs::write(
        f.workspace.join("helper_mod.py"),
        "VALUE = 'from workspace'\n",
    )
    .unwrap();
    let script = "from __future__ import annotations\n\
                  import os, sys\n\
                  import helper_mod\n\
                  print(__name__, helper_mod.VALUE, os.path.basename(sys.argv[0]))\n\
                  os.environ['GREETING'] = 'hello\\nworld'\n\
                  sys.stderr.write('to stderr\\n')\n";
    for mode in BOTH_MODES {
        let mut p = f.step(Interpreter::Python, script, mode);
        p.output_variables = vec!["GREETING".into(), "NEVER".into()];
        let ran = run(&f.exec, p).await;
        assert_eq!(ran.exit.outcome, ExitOutcome::Exited(0), "{}", ran.stderr);
        assert_eq!(ran.stdout, "__main__ from workspace script.py\n");
        assert_eq!(ran.stderr, "to stderr\n");
        assert_eq!(ran.exit.outputs["GREETING"], "hello\nworld");
        assert_eq!(ran.exit.outputs["NEVER"], "");
    }
    let failing = f.step(
        Interpreter::Python,
        "x = 1\nraise SystemExit(4)",
        Namespaces::Auto,
    );
    assert_eq!(
        run(&f.exec, failing).await.exit.outcome,
        ExitOutcome::Exited(4)
    );
    let traceback = f.step(
        Interpreter::Python,
        "\n\nraise ValueError('boom')",
        Namespaces::Auto,
    );
    let ran = run(&f.exec, traceback).await;
    assert_eq!(ran.exit.outcome, ExitOutcome::Exited(1));
    assert!(ran.stderr.contains("script.py\", line 3"), "{}", ran.stderr);
}

#[tokio::test]
async fn missing_interpreters_are_clear_setup_errors() {
    let f = fixture();
    let pwsh_installed = std::env::var("PATH")
        .unwrap()
        .split(':')
        .any(|d| Path::new(d).join("pwsh").exists());
    if !pwsh_installed {
        let err = try_run(
            &f.exec,
            f.step(Interpreter::Pwsh, "Write-Output hi", Namespaces::Auto),
        )
        .await
        .err()
        .unwrap();
        let text = err.to_string();
        assert!(matches!(err, ExecError::Setup { .. }));
        assert!(
            text.contains("test/step") && text.contains("`pwsh`"),
            "{text}"
        );
        assert!(text.contains("install PowerShell"), "{text}");
    }
    let mut p = f.step(Interpreter::Python, "print(1)", Namespaces::Auto);
    p.env.insert("PATH".into(), "/nonexistent".into());
    let text = try_run(&f.exec, p).await.err().unwrap().to_string();
    assert!(
        text.contains("`python3` not found on PATH (/nonexistent)"),
        "{text}"
    );
    assert!(f.private_entries().is_empty());
}

#[tokio::test]
async fn invalid_output_variable_names_are_rejected_before_running() {
    let f = fixture();
    let mut p = f.sh("true", Namespaces::Auto);
    p.output_variables = vec!["A; rm -rf /".into()];
    let err = try_run(&f.exec, p).await.err().unwrap();
    assert!(
        err.to_string().contains("not a valid variable name"),
        "{err}"
    );
}

#[tokio::test]
async fn a_missing_workspace_is_a_setup_error() {
    let f = fixture();
    let mut p = f.sh("true", Namespaces::Auto);
    p.workspace = f.workspace.join("missing");
    let err = try_run(&f.exec, p).await.err().unwrap();
    assert!(err.to_string().contains("is not a directory"), "{err}");
}

#[tokio::test]
async fn many_steps_run_in_parallel() {
    let f = fixture();
    let runs = (0..8).map(|i| {
        let mut p = f.sh(&format!("echo {i}"), BOTH_MODES[i % 2]);
        p.network = if i % 3 == 0 {
            Network::None
        } else {
            Network::Host
        };
        run(&f.exec, p)
    });
    let all = futures_join_all(runs).await;
    for (i, ran) in all.iter().enumerate() {
        assert_eq!(ran.exit.outcome, ExitOutcome::Exited(0));
        assert_eq!(ran.stdout, format!("{i}\n"));
    }
    assert!(f.private_entries().is_empty());
}

/// Joins futures concurrently on this task, keeping their order.
async fn futures_join_all<F: Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for fut in futures {
        set.push(Box::pin(fut));
    }
    let mut outputs: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (fut, out) in set.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *out = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(|o| o.unwrap()).collect()
}

/// Without root the executor adds a user namespace that maps the step to its
/// own uid. CI runs as root, so the test re-runs itself as `nobody`.
#[tokio::test]
async fn unprivileged_steps_get_a_user_namespace_with_their_own_uid() {
    use std::os::unix::fs::MetadataExt;
    let euid = std::fs::metadata("/proc/self").unwrap().uid();
    if euid != 0 {
        let f = fixture();
        assert!(
            f.exec.namespaces_available(),
            "{:?}",
            f.exec.namespaces_unavailable()
        );
        let mut p = f.sh(
            "id -u\necho \"$$\"\ncat /proc/self/uid_map",
            Namespaces::Required,
        );
        p.network = Network::None;
        let ran = run(&f.exec, p).await;
        assert_eq!(ran.exit.outcome, ExitOutcome::Exited(0), "{}", ran.stderr);
        let lines: Vec<&str> = ran.stdout.lines().collect();
        assert_eq!(lines[0], euid.to_string());
        assert_eq!(lines[1], "2");
        let map: Vec<&str> = lines[2].split_whitespace().collect();
        assert_eq!(map, [euid.to_string(), euid.to_string(), "1".to_string()]);
        return;
    }
    // As root: run this very test again as nobody, from a copy of the test
    // binary that nobody can read.
    let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("setpriv (util-linux) is needed to test unprivileged steps");
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = dir.path().join("test-binary");
    std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = std::process::Command::new(setpriv)
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "env",
            "-i",
        ])
        .arg("PATH=/usr/local/bin:/usr/bin:/bin")
        .arg("TMPDIR=/tmp")
        .arg(&exe)
        .args([
            "--exact",
            "unprivileged_steps_get_a_user_namespace_with_their_own_uid",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Per-step cost of the spawn path, printed for BENCHMARKS.md (run with
/// `cargo test --release -p rampart-exec --test local per_step -- --nocapture`).
#[tokio::test]
async fn per_step_overhead_is_small() {
    let f = fixture();
    const STEPS: u32 = 50;
    for (name, mode, network) in [
        ("no namespaces", Namespaces::Off, Network::Host),
        ("pid+mount namespaces", Namespaces::Required, Network::Host),
        (
            "pid+mount+network namespaces",
            Namespaces::Required,
            Network::None,
        ),
    ] {
        let started = Instant::now();
        for _ in 0..STEPS {
            let mut p = f.sh("true", mode);
            p.network = network;
            assert_eq!(run(&f.exec, p).await.exit.outcome, ExitOutcome::Exited(0));
        }
        let per_step = started.elapsed() / STEPS;
        println!("per-step wall time ({name}): {per_step:?}");
        // A loose bound that catches a pathological regression, not a benchmark.
        assert!(
            per_step < Duration::from_millis(100),
            "{name}: {per_step:?}"
        );
    }
}

#[tokio::test]
async fn dropping_the_run_future_stops_the_step() {
    let f = fixture();
    for (i, mode) in BOTH_MODES.into_iter().enumerate() {
        let arg = format!("98765{}", i + 1);
        let p = f.sh(&format!("sleep {arg} &\necho started\nwait"), mode);
        let (tx, mut rx) = mpsc::channel(4);
        let run = f.exec.run(p, tx, CancellationToken::new());
        let started = async {
            while let Some(chunk) = rx.recv().await {
                if chunk.stream == OutputStream::Stdout && chunk.bytes.starts_with(b"started") {
                    return;
                }
            }
            panic!("the step ended its output without printing `started`");
        };
        tokio::select! {
            _ = run => panic!("the step should still be running"),
            () = started => {}
        }
        // `run` was dropped by the select above.
        assert_gone(&arg).await;
        eventually("the private directory to be removed", || {
            f.private_entries().is_empty()
        })
        .await;
    }
}

#[tokio::test]
async fn a_dropped_output_receiver_does_not_block_the_step() {
    let f = fixture();
    let (tx, rx) = mpsc::channel(1);
    drop(rx);
    let p = f.sh("head -c 1000000 /dev/zero", Namespaces::Auto);
    let exit = f.exec.run(p, tx, CancellationToken::new()).await.unwrap();
    assert_eq!(exit.outcome, ExitOutcome::Exited(0));
}

/// Steps die with rampart (PR_SET_PDEATHSIG): a child copy of this test
/// starts steps and exits abruptly; nothing of them may survive. With a PID
/// namespace that includes the step's own children; without one, the step's
/// main process.
#[tokio::test]
async fn steps_die_when_rampart_dies() {
    let args = ["987670", "987671"];
    if let Ok(dir) = std::env::var("RAMPART_EXEC_TEST_DIE_DIR") {
        let dir = PathBuf::from(dir);
        let exec = LocalExecutor::new(LocalConfig::new(dir.join("private"))).unwrap();
        let mut steps = Vec::new();
        for (i, (mode, script)) in [
            (
                Namespaces::Off,
                format!("touch ready0\nexec sleep {}", args[0]),
            ),
            (
                Namespaces::Required,
                format!("touch ready1\nsleep {}", args[1]),
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let mut env = BTreeMap::new();
            env.insert("PATH".to_string(), std::env::var("PATH").unwrap());
            let p = StepProcess {
                label: format!("die/{i}"),
                interpreter: Interpreter::Sh,
                script,
                env,
                workspace: dir.clone(),
                timeout: None,
                network: Network::Host,
                namespaces: mode,
                output_variables: Vec::new(),
                private_dir: None,
            };
            let (tx, rx) = mpsc::channel(16);
            steps.push((exec.run(p, tx, CancellationToken::new()), rx));
        }
        let (running, _receivers): (Vec<_>, Vec<_>) = steps.into_iter().unzip();
        let ready = async {
            eventually("both steps to start", || {
                dir.join("ready0").exists() && dir.join("ready1").exists()
            })
            .await;
            eventually("both sleeps to run", || {
                args.iter().all(|a| !running_with_arg(a).is_empty())
            })
            .await;
            // Die without running any destructor or guard.
            std::process::exit(0);
        };
        tokio::join!(ready, futures_join_all(running.into_iter()));
        unreachable!("the child exits once the steps run");
    }
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "steps_die_when_rampart_dies", "--nocapture"])
        .env("RAMPART_EXEC_TEST_DIE_DIR", dir.path())
        .status()
        .unwrap();
    assert!(status.success(), "{status}");
    assert!(dir.path().join("ready0").exists() && dir.path().join("ready1").exists());
    for arg in args {
        assert_gone(arg).await;
    }
}
