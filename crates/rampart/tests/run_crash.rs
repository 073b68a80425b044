//! The crash test: 20 runs of a long step on `rampart server` (its default
//! 4 runner slots, so 4 run and 16 wait), live viewers on the running
//! ones, then `kill -9` and a restart on the same data directory. Every
//! run ends in a final state with a reason; the runs that were executing
//! are failed "server stopped during run" with every log line a viewer was
//! sent still stored (and a viewer resuming after the last one it got
//! carries on from there); the queued runs run and succeed; no run
//! directory is left on disk.

#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::server::ServerProcess;
use rampart_testkit::{Client, Cred};
use serde_json::json;

const RUNS: usize = 20;
/// `rampart server`'s default `--runner-slots`.
const SLOTS: usize = 4;
/// Lines each viewer must have been sent before the kill.
const SEEN_BEFORE_KILL: usize = 10;
/// The step prints `tick 1` .. `tick 150`, one every 20 ms (about 3 s).
const PIPELINE: &str = r#"
pipeline:
  identifier: long
  name: Long
  stages:
    - stage:
        identifier: main
        name: Main
        type: CI
        spec:
          execution:
            steps:
              - step:
                  identifier: tick
                  name: Tick
                  type: Run
                  spec:
                    shell: Sh
                    command: |
                      i=1
                      while [ $i -le 150 ]; do echo "tick $i"; i=$((i+1)); sleep 0.02; done
"#;
const SCOPE: &str = "org=o1&project=p1";

/// What a viewer was sent: (event id, line) of each log event.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// Follows a run's live log until the connection ends.
fn view(api: &Client, cred: &Cred, run: &str) -> (Seen, tokio::task::JoinHandle<()>) {
    let seen: Seen = Arc::default();
    let (api, cred, run, into) = (api.clone(), cred.clone(), run.to_owned(), seen.clone());
    let viewer = tokio::spawn(async move {
        let mut events = api
            .events(&format!("/api/runs/{run}/logs/stream"), &cred, None)
            .await;
        while let Some(event) = events.next().await {
            if event.event == "log" && event.data["stream"] == "stdout" {
                let line = event.data["line"].as_str().unwrap().to_owned();
                into.lock().unwrap().push((event.id, line));
            }
        }
    });
    (seen, viewer)
}

async fn running(api: &Client, cred: &Cred) -> Vec<String> {
    let listed = api
        .get(&format!("/api/runs?{SCOPE}&status=Running"), cred)
        .await
        .expect(200);
    listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|run| run["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The stored log of the run's one step: its `tick` lines (the shell's
/// trace of each command, on stderr, is in the log too).
async fn stored_lines(api: &Client, cred: &Cred, run: &str) -> Vec<String> {
    let log = api
        .get(&format!("/api/runs/{run}/logs?step=main.tick"), cred)
        .await
        .expect(200);
    log.text
        .lines()
        .filter(|line| line.starts_with("tick "))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_ends_its_runs_keeps_their_logs_and_runs_the_queue_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = ServerProcess::start(&data).await;
    let api = server.client.clone();
    let admin = Cred::Token(api.admin_token().await);
    api.post(
        "/api/orgs",
        &admin,
        json!({"identifier": "o1", "name": "O1"}),
    )
    .await
    .expect(201);
    api.post(
        "/api/orgs/o1/projects",
        &admin,
        json!({"identifier": "p1", "name": "P1"}),
    )
    .await
    .expect(201);
    api.post(
        &format!("/api/pipelines?{SCOPE}"),
        &admin,
        json!({"yaml": PIPELINE}),
    )
    .await
    .expect(201);
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        let started = api
            .post(
                &format!("/api/pipelines/long/runs?{SCOPE}"),
                &admin,
                json!({}),
            )
            .await
            .expect(201);
        runs.push(started.body["id"].as_str().unwrap().to_owned());
    }

    // Viewers on the runs executing, until each has been sent some lines.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut executing = running(&api, &admin).await;
    while executing.len() < SLOTS {
        assert!(
            Instant::now() < deadline,
            "runs did not start: {executing:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        executing = running(&api, &admin).await;
    }
    let viewers: Vec<(String, Seen, tokio::task::JoinHandle<()>)> = executing
        .iter()
        .map(|run| {
            let (seen, viewer) = view(&api, &admin, run);
            (run.clone(), seen, viewer)
        })
        .collect();
    while viewers
        .iter()
        .any(|(_, seen, _)| seen.lock().unwrap().len() < SEEN_BEFORE_KILL)
    {
        assert!(Instant::now() < deadline, "the viewers were sent no lines");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let killed = server.kill();
    assert_eq!(killed.code, None, "killed by a signal: {}", killed.log);
    let mut acknowledged = Vec::new();
    for (run, seen, viewer) in viewers {
        viewer.await.unwrap();
        let seen = seen.lock().unwrap().clone();
        acknowledged.push((run, seen));
    }

    let server = ServerProcess::restart(&data, &api).await;
    let api = server.client.clone();
    let mut finished = Vec::new();
    for run in &runs {
        finished.push(api.finished_run(&admin, run).await);
    }
    for run in &finished {
        let id = run["id"].as_str().unwrap().to_owned();
        if executing.contains(&id) {
            assert_eq!(run["status"], "Failed", "{run}");
            assert_eq!(run["message"], "server stopped during run", "{run}");
            assert!(run["finished_at_ms"].is_i64(), "{run}");
        } else {
            assert_eq!(run["status"], "Success", "a queued run completes: {run}");
            let lines = stored_lines(&api, &admin, &id).await;
            assert_eq!(lines.len(), 150, "{id}: {lines:?}");
        }
    }

    for (run, seen) in &acknowledged {
        let stored = stored_lines(&api, &admin, run).await;
        let sent: Vec<&str> = seen.iter().map(|(_, line)| line.as_str()).collect();
        assert!(
            stored.len() >= sent.len() && stored[..sent.len()] == sent[..],
            "{run}: every line sent to a viewer is stored, in order; sent {sent:?}, stored {stored:?}"
        );
        let expected: Vec<String> = (1..=stored.len()).map(|i| format!("tick {i}")).collect();
        assert_eq!(stored, expected, "{run}: the log up to the kill, whole");
        // A viewer reconnecting after the last line it got gets the rest, then the end.
        let (last_id, _) = seen.last().unwrap();
        let resumed = api
            .events(
                &format!("/api/runs/{run}/logs/stream"),
                &admin,
                Some(last_id),
            )
            .await
            .all()
            .await;
        let rest: Vec<&str> = resumed
            .iter()
            .filter(|e| e.event == "log" && e.data["stream"] == "stdout")
            .map(|e| e.data["line"].as_str().unwrap())
            .collect();
        assert_eq!(rest, stored[sent.len()..], "{run}: the resumed stream");
        let end = resumed.last().unwrap();
        assert_eq!(end.event, "end", "{resumed:?}");
        assert_eq!(
            end.data,
            json!({"status": "Failed", "message": "server stopped during run"})
        );
    }

    let stopped = server.stop();
    assert_eq!(stopped.code, Some(0), "{}", stopped.log);
    assert!(
        stopped
            .log
            .contains("ended runs a stopped server left running"),
        "{}",
        stopped.log
    );
    assert!(!stopped.log.contains("panicked"), "{}", stopped.log);
    let left: Vec<_> = std::fs::read_dir(data.join("runs"))
        .map(|dir| dir.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "run directories left behind: {left:?}");
}
