//! End-to-end tests of `rampart run` on real processes.

mod common;

use std::time::{Duration, Instant};

use common::{events, examples_dir, one_stage, rampart, run_pipeline, write_pipeline};

#[test]
fn quickstart_runs_with_headers_outputs_summary_and_a_record() {
    let state = tempfile::tempdir().unwrap();
    let run = run_pipeline(&examples_dir().join("quickstart.yaml"), state.path(), &[]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(
        run.stdout.contains("--- build/compile (Compile) started"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("build/compile | hello from stage Build, run 1"),
        "{run}"
    );
    assert!(
        run.stdout.contains("build/report | version is 1.4.0"),
        "{run}"
    );
    assert!(
        run.stdout.contains("build/analyse | python sees CI = true"),
        "{run}"
    );
    assert!(run.stdout.contains("--- build/compile Success in"), "{run}");
    assert!(run.stdout.contains("VERSION=1.4.0"), "{run}");
    assert!(run.stdout.contains("Result: Success"), "{run}");

    let record = state.path().join("runs/1");
    for file in [
        "pipeline.yaml",
        "inputs.json",
        "events.jsonl",
        "summary.json",
        "logs/build/compile.log",
    ] {
        assert!(
            record.join(file).is_file(),
            "missing {file} in the record\n{run}"
        );
    }
    // The step log holds both streams, like the terminal: the output and `set -x` trace lines.
    let log = std::fs::read_to_string(record.join("logs/build/report.log")).unwrap();
    assert!(log.lines().any(|l| l == "version is 1.4.0"), "{log}");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(record.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["status"], "Success");
    assert_eq!(summary["steps"][0]["outputs"]["VERSION"], "1.4.0");
    assert!(
        !record.join("private").exists(),
        "the private directory must be removed after the run"
    );

    // A second run gets the next sequence number.
    let again = run_pipeline(&examples_dir().join("quickstart.yaml"), state.path(), &[]);
    assert!(again.stdout.contains("run 2"), "{again}");
}

#[test]
fn json_output_is_one_event_per_line_in_causal_order() {
    let state = tempfile::tempdir().unwrap();
    let run = run_pipeline(
        &examples_dir().join("quickstart.yaml"),
        state.path(),
        &["--output", "json"],
    );
    assert_eq!(run.code, Some(0), "{run}");
    let events = events(&run.stdout);
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"run_started"));
    assert_eq!(kinds.last(), Some(&"run_finished"));
    let position = |kind: &str, step: &str| {
        events
            .iter()
            .position(|e| e["event"] == kind && e["step"] == step)
            .unwrap_or_else(|| panic!("no {kind} for {step}"))
    };
    let log = events
        .iter()
        .position(|e| e["event"] == "log" && e["line"] == "version is 1.4.0")
        .unwrap();
    assert!(position("step_started", "report") < log && log < position("step_finished", "report"));
    assert!(position("step_finished", "compile") < position("step_started", "report"));
    let finished = &events[position("step_finished", "compile")];
    assert_eq!(finished["outputs"]["VERSION"], "1.4.0");
    assert_eq!(finished["status"], "Success");
    assert_eq!(events.last().unwrap()["status"], "Success");
}

#[test]
fn default_state_dir_is_next_to_the_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_pipeline(
        dir.path(),
        &one_stage(
            "              - step:\n                  identifier: hi\n                  name: Hi\n                  type: Run\n                  spec:\n                    command: echo hi\n",
        ),
    );
    let run = rampart().arg("run").arg(&file).output().unwrap();
    assert!(run.status.success(), "{}", common::Run::from(run));
    assert!(dir.path().join(".rampart/runs/1/events.jsonl").is_file());
}

#[test]
fn a_failing_step_fails_the_run_and_skips_later_steps() {
    let dir = tempfile::tempdir().unwrap();
    let steps = "              - step:\n                  identifier: bad\n                  name: Bad\n                  type: Run\n                  spec:\n                    command: exit 7\n              - step:\n                  identifier: later\n                  name: Later\n                  type: Run\n                  spec:\n                    command: echo should-not-run\n";
    let file = write_pipeline(dir.path(), &one_stage(steps));
    let run = run_pipeline(&file, &dir.path().join("state"), &[]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(!run.stdout.contains("| should-not-run"), "{run}");
    assert!(run.stdout.contains("s/bad Failed"), "{run}");
    assert!(run.stdout.contains("s/later Skipped"), "{run}");
    assert!(run.stdout.contains("Result: Failed"), "{run}");
}

/// Two parallel steps that each wait for the other's flag file: they can only
/// both succeed if they really run at the same time.
#[test]
fn parallel_steps_run_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let step = |me: &str, other: &str| {
        format!(
            "                  - step:\n                      identifier: {me}\n                      name: {me}\n                      type: Run\n                      spec:\n                        command: |\n                          touch {me}.flag\n                          i=0; while [ ! -e {other}.flag ]; do i=$((i+1)); [ $i -lt 2000 ] || exit 9; sleep 0.01; done\n"
        )
    };
    let steps = format!(
        "              - parallel:\n{}{}",
        step("left", "right"),
        step("right", "left")
    );
    let file = write_pipeline(dir.path(), &one_stage(&steps));
    let run = run_pipeline(&file, &dir.path().join("state"), &[]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(
        run.stdout.contains("s/left Success") && run.stdout.contains("s/right Success"),
        "{run}"
    );
}

#[test]
fn a_step_timeout_stops_the_step_and_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let steps = "              - step:\n                  identifier: slow\n                  name: Slow\n                  type: Run\n                  timeout: 1s\n                  spec:\n                    command: |\n                      sleep 4711 &\n                      sleep 4712\n";
    let file = write_pipeline(dir.path(), &one_stage(steps));
    let started = Instant::now();
    let run = run_pipeline(&file, &dir.path().join("state"), &[]);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stdout.contains("s/slow Expired"), "{run}");
    assert!(
        no_process_with_arg("4711") && no_process_with_arg("4712"),
        "a timed-out step left processes behind"
    );
}

#[test]
fn examples_run_successfully() {
    for (example, args) in [
        ("parallel.yaml", &[][..]),
        ("strategies.yaml", &[]),
        ("failure-strategies.yaml", &[]),
        ("inputs.yaml", &["--input", "environment=prod"]),
        ("background.yaml", &[]),
        ("network-none.yaml", &[]),
        ("multi-document.yaml", &["--pipeline", "second"]),
    ] {
        let state = tempfile::tempdir().unwrap();
        let run = run_pipeline(&examples_dir().join(example), state.path(), args);
        assert_eq!(run.code, Some(0), "{example}: {run}");
    }
}

#[test]
fn strategies_expand_with_exclusions_and_iteration_values() {
    let state = tempfile::tempdir().unwrap();
    let run = run_pipeline(&examples_dir().join("strategies.yaml"), state.path(), &[]);
    assert_eq!(run.code, Some(0), "{run}");
    for line in [
        "testing linux 1.0",
        "testing linux 2.0",
        "testing macos 2.0",
        "shard 1 of 3",
        "shard 3 of 3",
        "deploying to eu-west-1",
        "deploying to us-east-1",
    ] {
        assert!(run.stdout.contains(line), "missing {line:?}\n{run}");
    }
    assert!(
        !run.stdout.contains("testing macos 1.0"),
        "excluded combination ran\n{run}"
    );
}

#[test]
fn failure_strategies_retry_ignore_and_mark_as_success() {
    let state = tempfile::tempdir().unwrap();
    let run = run_pipeline(
        &examples_dir().join("failure-strategies.yaml"),
        state.path(),
        &["--output", "json"],
    );
    assert_eq!(run.code, Some(0), "{run}");
    let events = events(&run.stdout);
    let status = |step: &str| {
        events
            .iter()
            .rev()
            .find(|e| e["event"] == "step_finished" && e["step"] == step)
            .map(|e| e["status"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("no step_finished for {step}"))
    };
    let attempts = events
        .iter()
        .filter(|e| e["event"] == "step_started" && e["step"] == "flaky")
        .count();
    assert_eq!(attempts, 3, "flaky must run three times");
    assert_eq!(status("flaky"), "Success");
    assert_eq!(status("optional"), "IgnoreFailed");
    assert_eq!(status("slow"), "Success");
    assert_eq!(status("deploy"), "Skipped");
    assert_eq!(status("always"), "Success");
}

#[test]
fn runtime_inputs_are_applied_and_checked() {
    let file = examples_dir().join("inputs.yaml");
    let state = tempfile::tempdir().unwrap();
    let run = run_pipeline(&file, state.path(), &["--input", "environment=prod"]);
    assert!(run.stdout.contains("branch=main environment=prod"), "{run}");

    let inputs_file = state.path().join("inputs.yaml");
    std::fs::write(&inputs_file, "environment: dev\nbranch: feature\n").unwrap();
    let run = run_pipeline(
        &file,
        state.path(),
        &[
            "--inputs-file",
            inputs_file.to_str().unwrap(),
            "--input",
            "environment=staging",
        ],
    );
    assert!(
        run.stdout.contains("branch=feature environment=staging"),
        "{run}"
    );

    let missing = run_pipeline(&file, state.path(), &[]);
    assert_eq!(missing.code, Some(2), "{missing}");
    assert!(
        missing.stderr.contains("inputs.yaml:") && missing.stderr.contains("environment"),
        "{missing}"
    );

    let not_allowed = run_pipeline(&file, state.path(), &["--input", "environment=moon"]);
    assert_eq!(not_allowed.code, Some(2), "{not_allowed}");
    assert!(not_allowed.stderr.contains("moon"), "{not_allowed}");
}

#[test]
fn a_step_with_an_image_needs_a_runtime_or_allow_host() {
    let dir = tempfile::tempdir().unwrap();
    let steps = "              - step:\n                  identifier: in_image\n                  name: In image\n                  type: Run\n                  spec:\n                    image: alpine:3.20\n                    command: echo ran-on-host\n";
    let file = write_pipeline(dir.path(), &one_stage(steps));
    let refused = run_pipeline(&file, &dir.path().join("state"), &[]);
    assert_eq!(refused.code, Some(1), "{refused}");
    assert!(refused.stdout.contains("--allow-host"), "{refused}");
    let allowed = run_pipeline(&file, &dir.path().join("state"), &["--allow-host"]);
    assert_eq!(allowed.code, Some(0), "{allowed}");
    assert!(allowed.stdout.contains("| ran-on-host"), "{allowed}");
}

#[test]
fn network_none_run_wide_leaves_only_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let steps = "              - step:\n                  identifier: net\n                  name: Net\n                  type: Run\n                  spec:\n                    command: cat /proc/net/dev\n";
    let file = write_pipeline(dir.path(), &one_stage(steps));
    let run = run_pipeline(&file, &dir.path().join("state"), &["--network", "none"]);
    assert_eq!(run.code, Some(0), "{run}");
    let interfaces: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("s/net | "))
        .filter_map(|l| l.split_once(':').map(|(name, _)| name.trim()))
        .collect();
    assert_eq!(interfaces, ["lo"], "{run}");
}

#[test]
fn steps_see_a_private_pid_namespace_and_a_cleared_environment() {
    let dir = tempfile::tempdir().unwrap();
    let steps = "              - step:\n                  identifier: probe\n                  name: Probe\n                  type: Run\n                  spec:\n                    command: |\n                      echo \"pids=$(ls /proc | grep -c '^[0-9]')\"\n                      echo \"leak=${LEAKY_HOST_VAR:-none}\"\n";
    let file = write_pipeline(dir.path(), &one_stage(steps));
    let run: common::Run = rampart()
        .env("LEAKY_HOST_VAR", "visible")
        .arg("run")
        .arg(&file)
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, Some(0), "{run}");
    assert!(run.stdout.contains("leak=none"), "{run}");
    let pids: usize = run
        .stdout
        .split("pids=")
        .nth(1)
        .and_then(|r| r.lines().next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        pids < 10,
        "the step saw {pids} processes: not in its own PID namespace\n{run}"
    );
}

#[test]
fn ctrl_c_cancels_the_run_and_leaves_nothing_running() {
    let dir = tempfile::tempdir().unwrap();
    let started = dir.path().join("started");
    let steps = format!(
        "              - step:\n                  identifier: long\n                  name: Long\n                  type: Run\n                  spec:\n                    command: |\n                      touch {}\n                      sleep 4713\n",
        started.display()
    );
    let file = write_pipeline(dir.path(), &one_stage(&steps));
    let child = rampart()
        .arg("run")
        .arg(&file)
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    common::wait_for_file(&started);
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let output = child.wait_with_output().unwrap();
    let run = common::Run::from(output);
    assert_eq!(run.code, Some(130), "{run}");
    assert!(run.stdout.contains("s/long Aborted"), "{run}");
    assert!(run.stdout.contains("Result: Aborted"), "{run}");
    assert!(
        no_process_with_arg("4713"),
        "a cancelled step left processes behind"
    );
    let summary = std::fs::read_to_string(dir.path().join("state/runs/1/summary.json")).unwrap();
    assert!(summary.contains("\"Aborted\""), "{summary}");
}

#[test]
fn invalid_pipelines_are_rejected_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let steps = "              - step:\n                  identifier: push\n                  name: Push\n                  type: BuildAndPushDockerRegistry\n                  spec:\n                    repo: x\n";
    let file = write_pipeline(dir.path(), &one_stage(steps));
    let run = run_pipeline(&file, &dir.path().join("state"), &[]);
    assert_eq!(run.code, Some(2), "{run}");
    assert!(run.stderr.contains("pipeline.yaml:"), "{run}");
    assert!(run.stderr.contains("BuildAndPushDockerRegistry"), "{run}");
    assert!(
        !dir.path().join("state/runs").exists(),
        "an invalid pipeline must not create a run record"
    );
}

#[test]
fn several_pipelines_in_a_file_need_a_choice() {
    let state = tempfile::tempdir().unwrap();
    let run = run_pipeline(
        &examples_dir().join("multi-document.yaml"),
        state.path(),
        &[],
    );
    assert_eq!(run.code, Some(2), "{run}");
    assert!(
        run.stderr.contains("--pipeline")
            && run.stderr.contains("first")
            && run.stderr.contains("second"),
        "{run}"
    );
}

/// Whether no process on the machine has `arg` as an argument (`sleep 4711`).
fn no_process_with_arg(arg: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let found = common::process_cmdlines().iter().any(|cmdline| {
            cmdline
                .split(|b| *b == 0)
                .any(|part| part == arg.as_bytes())
        });
        if !found {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn json_events_carry_their_time() {
    let state = tempfile::tempdir().unwrap();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let run = run_pipeline(
        &examples_dir().join("quickstart.yaml"),
        state.path(),
        &["--output", "json"],
    );
    let events = events(&run.stdout);
    let times: Vec<u64> = events
        .iter()
        .map(|e| e["ts_ms"].as_u64().expect("ts_ms on every event"))
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "times go backwards: {times:?}"
    );
    assert!(times[0] >= before, "{times:?}");
    let recorded = std::fs::read_to_string(state.path().join("runs/1/events.jsonl")).unwrap();
    assert!(
        recorded.lines().all(|l| l.contains("\"ts_ms\":")),
        "{recorded}"
    );
}
