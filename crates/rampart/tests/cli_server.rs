//! `rampart server` end to end: start on an ephemeral port, query it, stop it with SIGTERM.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

#[test]
fn server_serves_health_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = common::rampart()
        .args(["server", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut next_line = || {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        line
    };
    let line = next_line();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_string();

    // First start: the administrator's one-time password, printed once and
    // kept in a 0600 file until they choose their own.
    let announcement = next_line();
    let password = announcement
        .trim()
        .rsplit_once("one-time password: ")
        .unwrap_or_else(|| panic!("no one-time password announced: {announcement:?}"))
        .1
        .to_string();
    assert!(announcement.contains("admin@localhost"), "{announcement}");
    let password_file = data.join("initial-admin-password");
    assert!(next_line().contains(&password_file.display().to_string()));
    assert!(
        std::fs::read_to_string(&password_file)
            .unwrap()
            .contains(&password)
    );

    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&data).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);

    let mut tcp = TcpStream::connect(&addr).unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut reply = String::new();
    tcp.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.to_lowercase().contains("x-request-id: "), "{reply}");
    assert!(reply.ends_with(r#"{"status":"ok"}"#), "{reply}");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    assert!(
        stderr.contains("/healthz"),
        "one log line per request: {stderr}"
    );
    assert!(
        !stderr.contains(&password),
        "the one-time password stays out of the log: {stderr}"
    );
    assert!(
        TcpStream::connect(&addr).is_err(),
        "nothing listens after exit"
    );
}

#[test]
fn server_reports_an_unreachable_database_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let output = common::rampart()
        .args(["server", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        // Port 9 (discard) on loopback: nothing answers PostgreSQL there.
        .args([
            "--database-url",
            "postgres://ci:hunter2@127.0.0.1:9/rampart",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("postgres://ci:***@127.0.0.1:9/rampart"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("hunter2"),
        "the password never reaches the log: {stderr}"
    );
    assert_eq!(
        stderr.matches("cannot connect").count(),
        1,
        "each cause is said once: {stderr}"
    );
}

#[test]
fn server_rejects_a_bad_database_url() {
    let dir = tempfile::tempdir().unwrap();
    let output = common::rampart()
        .args([
            "server",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            "mysql://x/y",
            "--data-dir",
        ])
        .arg(dir.path().join("d"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unsupported database URL"), "{stderr}");

    // RAMPART_* variables are read, and flags win over them.
    let from_env = common::rampart()
        .args(["server", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("e"))
        .env("RAMPART_DATABASE_URL", "mysql://x/y")
        .output()
        .unwrap();
    assert_eq!(from_env.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&from_env.stderr).contains("unsupported database URL"));
    let flag_wins = common::rampart()
        .args(["server", "--listen", "not-an-address", "--data-dir"])
        .arg(dir.path().join("f"))
        .env("RAMPART_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    assert_eq!(flag_wins.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&flag_wins.stderr).contains("not-an-address"));
}
