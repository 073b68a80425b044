//! Helpers shared by the end-to-end tests: run the built `rampart` binary.

#![allow(dead_code)]

pub mod server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// A `rampart` command with a clean environment apart from PATH and HOME, so
/// the developer's `RAMPART_*` variables cannot change what the test sees.
pub fn rampart() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rampart"));
    command.env_clear();
    for key in ["PATH", "HOME"] {
        if let Some(value) = std::env::var_os(key) {
            command.env(key, value);
        }
    }
    command
}

pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `rampart run FILE ARGS...` with the state directory under `state`.
pub fn run_pipeline(file: &Path, state: &Path, args: &[&str]) -> Run {
    rampart()
        .arg("run")
        .arg(file)
        .arg("--state-dir")
        .arg(state)
        .args(args)
        .output()
        .expect("rampart runs")
        .into()
}

/// Writes `yaml` to `dir/pipeline.yaml` and returns the path.
pub fn write_pipeline(dir: &Path, yaml: &str) -> PathBuf {
    let path = dir.join("pipeline.yaml");
    std::fs::write(&path, yaml).expect("write pipeline");
    path
}

/// A one-stage pipeline around the given `steps:` YAML (indented 12 spaces).
pub fn one_stage(steps: &str) -> String {
    format!(
        "pipeline:\n  identifier: t\n  name: t\n  stages:\n    - stage:\n        identifier: s\n        name: S\n        type: CI\n        spec:\n          execution:\n            steps:\n{steps}"
    )
}

/// The JSON events of a `--output json` run.
pub fn events(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect()
}

/// Every file below `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable directory") {
        let path = entry.expect("readable entry").path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Waits (up to 30 s) until a step has created `path`, its rendezvous signal.
pub fn wait_for_file(path: &Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !path.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "{} never appeared: the step did not start",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The command lines (NUL-separated argv) of every process on the machine.
pub fn process_cmdlines() -> Vec<Vec<u8>> {
    std::fs::read_dir("/proc")
        .expect("/proc is readable")
        .filter_map(Result::ok)
        .filter_map(|entry| std::fs::read(entry.path().join("cmdline")).ok())
        .collect()
}
