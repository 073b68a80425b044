//! The server client commands against the real binary's server: `rampart
//! login` (token on stdin, and password), `secret set --server` (value on
//! stdin), `pipeline apply` (server validation located in the file),
//! `pipeline run --follow` (the live, masked log and the run's exit code),
//! `runs list/get`, `logs`.

#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test.

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Output, Stdio};

use common::server::ServerProcess;
use rampart_testkit::{Cred, PASSWORD};
use serde_json::{Value, json};

const PIPELINE: &str = r#"pipeline:
  identifier: hello
  name: Hello
  variables:
    - name: who
      type: String
      value: <+input>
  stages:
    - stage:
        identifier: s
        name: S
        type: CI
        spec:
          execution:
            steps:
              - step:
                  identifier: greet
                  name: Greet
                  type: Run
                  spec:
                    shell: Sh
                    command: echo "hi <+secrets.getValue("tok")>"; echo "in <+pipeline.variables.who>"
"#;

/// Runs `rampart ARGS` with `stdin` and the login file `config`.
fn rampart(config: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = common::rampart()
        .args(args)
        .env("RAMPART_CLIENT_CONFIG", config)
        .env_remove("RAMPART_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_applies_runs_follows_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&dir.path().join("data")).await;
    let client = &server.client;
    let admin = client.admin_session().await;
    client
        .post(
            "/api/orgs",
            &admin,
            json!({"identifier": "o1", "name": "O1"}),
        )
        .await
        .expect(201);
    client
        .post(
            "/api/orgs/o1/projects",
            &admin,
            json!({"identifier": "p1", "name": "P1"}),
        )
        .await
        .expect(201);
    let token = client.personal_token(&admin, "cli", None).await;
    let config = dir.path().join("client.json");
    let url = client.url.clone();

    let login = rampart(
        &config,
        &["login", "--server", &url, "--token-stdin"],
        &format!("{token}\n"),
    );
    assert!(login.status.success(), "{}", text(&login.stderr));
    assert_eq!(
        std::fs::metadata(&config).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(!text(&login.stderr).contains(&token));

    let secret = "cli-secret-Value-31337";
    let set = rampart(
        &config,
        &[
            "secret",
            "set",
            "tok",
            "--org",
            "o1",
            "--project",
            "p1",
            "--server",
        ],
        &format!("{secret}\n"),
    );
    assert!(set.status.success(), "{}", text(&set.stderr));
    assert!(
        text(&set.stdout).contains("version 1"),
        "{}",
        text(&set.stdout)
    );

    let file = dir.path().join("hello.yaml");
    std::fs::write(&file, PIPELINE.replace("type: Run", "type: Runn")).unwrap();
    let bad = rampart(
        &config,
        &[
            "pipeline",
            "apply",
            "-f",
            file.to_str().unwrap(),
            "--org",
            "o1",
            "--project",
            "p1",
        ],
        "",
    );
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
    assert!(
        text(&bad.stderr).contains(&format!("{}:", file.display())),
        "{}",
        text(&bad.stderr)
    );
    assert!(text(&bad.stderr).contains("Runn"), "{}", text(&bad.stderr));

    std::fs::write(&file, PIPELINE).unwrap();
    let applied = rampart(
        &config,
        &[
            "pipeline",
            "apply",
            "-f",
            file.to_str().unwrap(),
            "--org",
            "o1",
            "--project",
            "p1",
        ],
        "",
    );
    assert!(applied.status.success(), "{}", text(&applied.stderr));
    assert_eq!(text(&applied.stdout), "pipeline hello created: version 1\n");

    let run = rampart(
        &config,
        &[
            "pipeline",
            "run",
            "hello",
            "--org",
            "o1",
            "--project",
            "p1",
            "--input",
            "who=me",
            "--follow",
        ],
        "",
    );
    let stdout = text(&run.stdout);
    assert!(run.status.success(), "{stdout}\n{}", text(&run.stderr));
    assert!(stdout.contains("[s/greet] hi **************\n"), "{stdout}");
    assert!(stdout.contains("[s/greet] in me\n"), "{stdout}");
    assert!(!stdout.contains(secret) && !text(&run.stderr).contains(secret));
    assert!(
        text(&run.stderr).contains("Success"),
        "{}",
        text(&run.stderr)
    );

    let listed = rampart(&config, &["runs", "list", "--output", "json"], "");
    let runs: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 1);
    assert_eq!(runs[0]["status"], "Success");
    let run_id = runs[0]["id"].as_str().unwrap();
    let table = text(&rampart(&config, &["runs", "list"], "").stdout);
    assert!(
        table.starts_with("RUN ") && table.contains(run_id) && table.contains("Success"),
        "{table}"
    );
    let got = text(&rampart(&config, &["runs", "get", run_id], "").stdout);
    assert!(got.contains("s/greet") && got.contains("Success"), "{got}");
    let log = rampart(&config, &["logs", run_id, "--step", "s.greet"], "");
    assert!(
        text(&log.stdout).contains("in me\n"),
        "{}",
        text(&log.stdout)
    );
    let followed = rampart(&config, &["logs", run_id, "--follow"], "");
    assert!(
        text(&followed.stdout).contains("[s/greet] in me"),
        "{}",
        text(&followed.stdout)
    );

    // A password login mints its own token; a wrong password is refused.
    client.create_user(&admin, "dev@example.com").await;
    let other = dir.path().join("dev.json");
    let wrong = rampart(
        &other,
        &["login", "--server", &url, "--email", "dev@example.com"],
        "nope\n",
    );
    assert!(!wrong.status.success());
    assert!(
        text(&wrong.stderr).contains("HTTP 401"),
        "{}",
        text(&wrong.stderr)
    );
    let login = rampart(
        &other,
        &["login", "--server", &url, "--email", "dev@example.com"],
        &format!("{PASSWORD}\n"),
    );
    assert!(login.status.success(), "{}", text(&login.stderr));
    let saved: Value = serde_json::from_slice(&std::fs::read(&other).unwrap()).unwrap();
    let minted = saved["token"].as_str().unwrap().to_owned();
    client
        .get("/api/me", &Cred::Token(minted))
        .await
        .expect(200);
    // The new user may see no runs.
    let none = rampart(&other, &["runs", "list", "--output", "json"], "");
    assert_eq!(
        serde_json::from_slice::<Value>(&none.stdout).unwrap(),
        json!([])
    );

    let logout = rampart(&config, &["logout"], "");
    assert!(logout.status.success());
    let after = rampart(&config, &["runs", "list"], "");
    assert!(
        text(&after.stderr).contains("rampart login"),
        "{}",
        text(&after.stderr)
    );
    server.stop();
}
