//! `rampart server` as a child process on an ephemeral loopback port: its
//! address and the administrator's one-time password read from stdout,
//! its log (stderr) collected, stopped with SIGTERM (or killed with
//! SIGKILL) and started again on the same data directory.

#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rampart_testkit::Client;

pub struct ServerProcess {
    child: Child,
    pub data_dir: PathBuf,
    pub client: Client,
    /// What the server printed to stdout at start.
    stdout: String,
    stdout_lines: BufReader<ChildStdout>,
    log: Arc<Mutex<String>>,
    log_reader: Option<JoinHandle<()>>,
}

/// A stopped server's exit code and output.
pub struct Stopped {
    pub code: Option<i32>,
    /// Its whole log (stderr).
    pub log: String,
    /// Its whole stdout.
    pub stdout: String,
}

impl ServerProcess {
    /// Starts `rampart server` on a new `data_dir` (first start: it creates
    /// the administrator) with `RAMPART_LOG=debug`, so the log is as
    /// talkative as an operator can make it.
    pub async fn start(data_dir: &Path) -> ServerProcess {
        Self::launch(data_dir, None).await
    }

    /// Starts it again on the data directory `before` was started on.
    pub async fn restart(data_dir: &Path, before: &Client) -> ServerProcess {
        Self::launch(data_dir, Some(before)).await
    }

    async fn launch(data_dir: &Path, before: Option<&Client>) -> ServerProcess {
        let mut child = super::rampart()
            .args(["server", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("RAMPART_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("rampart server starts");
        let mut stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let log_reader = {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut buffer = [0u8; 8192];
                while let Ok(read) = stderr.read(&mut buffer) {
                    if read == 0 {
                        break;
                    }
                    log.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buffer[..read]));
                }
            })
        };
        // The address; at first start two more lines: the password, the file.
        let mut lines = BufReader::new(child.stdout.take().unwrap());
        let mut stdout = String::new();
        let expected = if before.is_some() { 1 } else { 3 };
        for _ in 0..expected {
            lines.read_line(&mut stdout).unwrap();
        }
        let url = stdout
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("listening on "))
            .unwrap_or_else(|| panic!("unexpected output: {stdout:?}"))
            .to_owned();
        let client = match before {
            Some(before) => Client::new(
                url,
                before.admin_email.clone(),
                before.admin_one_time_password.clone(),
            ),
            None => {
                let password = stdout
                    .split_once("one-time password: ")
                    .and_then(|(_, rest)| rest.split_whitespace().next())
                    .unwrap_or_else(|| panic!("no one-time password in {stdout:?}"))
                    .to_owned();
                Client::new(url, "admin@localhost".into(), password)
            }
        };
        client.wait_ready().await;
        ServerProcess {
            child,
            data_dir: data_dir.to_path_buf(),
            client,
            stdout,
            stdout_lines: lines,
            log,
            log_reader: Some(log_reader),
        }
    }

    /// Stops the server with SIGTERM.
    pub fn stop(self) -> Stopped {
        self.signal("-TERM")
    }

    /// Kills the server with SIGKILL: no shutdown, as in a crash.
    pub fn kill(self) -> Stopped {
        self.signal("-KILL")
    }

    fn signal(mut self, signal: &str) -> Stopped {
        let sent = std::process::Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let status = self.child.wait().unwrap();
        if let Some(reader) = self.log_reader.take() {
            reader.join().unwrap();
        }
        self.stdout_lines.read_to_string(&mut self.stdout).unwrap();
        let log = self.log.lock().unwrap().clone();
        Stopped {
            code: status.code(),
            log,
            stdout: self.stdout,
        }
    }
}
