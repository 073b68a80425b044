//! The engine end to end: YAML through `rampart_pipeline::load` and
//! `validate`, real processes through `LocalExecutor`.

// Test set-up failing is a test failure.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rampart_core::Status;
use rampart_engine::{Engine, Event, EventSink, LogStream, RunOptions, RunReport};
use rampart_exec::{LocalConfig, LocalExecutor, Namespaces, Network};
use rampart_pipeline::{Inputs, ValidPipeline, ValidateOptions};
use tokio_util::sync::CancellationToken;

#[derive(Default)]
struct Collector(Mutex<Vec<Event>>);

impl EventSink for Collector {
    fn emit(&self, event: &Event) {
        self.0.lock().unwrap().push(event.clone());
    }
}

impl Collector {
    /// Lines a step wrote to `stream` (stderr also holds the shell's `+ cmd` trace).
    fn logs(&self, stage: &str, step: &str, stream: LogStream) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                Event::Log {
                    stage: s,
                    step: t,
                    line,
                    stream: st,
                } if s == stage && t == step && *st == stream => Some(line.clone()),
                _ => None,
            })
            .collect()
    }
}

struct Local {
    _dir: tempfile::TempDir,
    workspace: PathBuf,
    engine: Engine,
    events: Arc<Collector>,
}

impl Local {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let workspace = dir.path().join("workspace");
        std::fs::create_dir(&workspace).unwrap();
        let mut config = LocalConfig::new(dir.path().join("private"));
        config.kill_grace = Duration::from_secs(2);
        let executor = LocalExecutor::new(config).unwrap();
        let events = Arc::new(Collector::default());
        Self {
            _dir: dir,
            workspace,
            engine: Engine {
                executor: Arc::new(executor),
                events: events.clone(),
                secrets: None,
                masker: std::sync::Arc::new(rampart_mask::SecretSet::new(
                    rampart_mask::MaskConfig::default(),
                )),
            },
            events,
        }
    }

    fn options(&self) -> RunOptions {
        RunOptions {
            sequence_id: 5,
            workspace: self.workspace.clone(),
            network: Network::Host,
            namespaces: Namespaces::Off,
            allow_host: false,
            codebase: BTreeMap::from([("branch".to_string(), "main".to_string())]),
            trigger: BTreeMap::from([("type".to_string(), "MANUAL".to_string())]),
            builder_id: "https://rampart.dev/builders/test".to_string(),
        }
    }

    async fn run(&self, yaml: &str) -> RunReport {
        self.run_with(yaml, CancellationToken::new()).await
    }

    async fn run_with(&self, yaml: &str, cancel: CancellationToken) -> RunReport {
        let pipeline = valid(yaml);
        self.engine.run(&pipeline, &self.options(), cancel).await
    }
}

fn valid(yaml: &str) -> ValidPipeline {
    let mut pipelines = rampart_pipeline::load("test.yaml", yaml, Some(&Inputs::default()))
        .unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(pipelines.len(), 1);
    rampart_pipeline::validate(
        "test.yaml",
        pipelines.remove(0),
        &ValidateOptions::default(),
    )
    .unwrap_or_else(|d| panic!("{d}"))
}

fn step<'r>(report: &'r RunReport, id: &str) -> &'r rampart_engine::StepReport {
    report
        .steps
        .iter()
        .find(|s| s.step == id)
        .unwrap_or_else(|| panic!("no step {id} in {:?}", report.steps))
}

/// Waits (bounded) until `path` exists.
async fn wait_for(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_pipeline_runs_with_outputs_variables_groups_and_matrix() {
    let local = Local::new();
    let report = local
        .run(
            r#"
pipeline:
  identifier: demo
  name: Demo
  variables:
    - name: greeting
      type: String
      value: hello
  stages:
    - stage:
        identifier: build
        name: Build
        type: CI
        variables:
          - name: target
            type: String
            value: <+pipeline.variables.greeting>-world
        spec:
          execution:
            steps:
              - step:
                  identifier: version
                  name: Version
                  type: Run
                  spec:
                    shell: Sh
                    command: |
                      printf 'partial'
                      echo >&2 "to stderr"
                      VERSION=1.<+pipeline.sequenceId>
                    outputVariables:
                      - name: VERSION
              - stepGroup:
                  identifier: checks
                  name: Checks
                  steps:
                    - step:
                        identifier: env
                        name: Env
                        type: Run
                        spec:
                          shell: Bash
                          envVariables:
                            V: <+steps.version.output.outputVariables.VERSION>
                          command: echo "$V $target $CI $HARNESS_STEP_ID $DRONE_BRANCH"
              - step:
                  identifier: matrix
                  name: Matrix
                  type: Run
                  strategy:
                    matrix:
                      n: [1, 2]
                  spec:
                    shell: Sh
                    command: echo "n=<+matrix.n> of <+strategy.iterations>"
    - stage:
        identifier: deploy
        name: Deploy
        type: CI
        spec:
          execution:
            steps:
              - step:
                  identifier: use
                  name: Use
                  type: Run
                  spec:
                    shell: Sh
                    command: echo "deploying <+pipeline.stages.build.spec.execution.steps.version.output.outputVariables.VERSION>"
"#,
        )
        .await;
    assert_eq!(report.status, Status::Success, "{report:#?}");
    assert_eq!(
        step(&report, "version")
            .outputs
            .get("VERSION")
            .map(String::as_str),
        Some("1.5")
    );
    assert_eq!(
        local.events.logs("build", "version", LogStream::Stdout),
        ["partial"]
    );
    let stderr = local.events.logs("build", "version", LogStream::Stderr);
    assert!(stderr.contains(&"to stderr".to_string()), "{stderr:?}");
    assert_eq!(
        local.events.logs("build", "checks.env", LogStream::Stdout),
        ["1.5 hello-world true checks.env main"]
    );
    assert_eq!(
        local.events.logs("build", "matrix_0", LogStream::Stdout),
        ["n=1 of 2"]
    );
    assert_eq!(
        local.events.logs("build", "matrix_1", LogStream::Stdout),
        ["n=2 of 2"]
    );
    assert_eq!(
        local.events.logs("deploy", "use", LogStream::Stdout),
        ["deploying 1.5"]
    );
}

#[tokio::test]
async fn failures_timeouts_and_strategies_with_real_processes() {
    let local = Local::new();
    let started = Instant::now();
    let report = local
        .run(
            r#"
pipeline:
  identifier: failing
  name: Failing
  stages:
    - stage:
        identifier: s
        name: S
        type: CI
        spec:
          execution:
            steps:
              - step:
                  identifier: flaky
                  name: Flaky
                  type: Run
                  spec:
                    shell: Sh
                    command: |
                      n=$(cat count 2>/dev/null || echo 0)
                      echo $((n + 1)) > count
                      [ "$n" -ge 1 ]
                  failureStrategies:
                    - onFailure:
                        errors: [AllErrors]
                        action:
                          type: Retry
                          spec:
                            retryCount: 2
                            retryIntervals: [1s]
                            onRetryFailure:
                              action:
                                type: MarkAsFailure
              - step:
                  identifier: slow
                  name: Slow
                  type: Run
                  timeout: 1s
                  spec:
                    shell: Sh
                    command: sleep 30
                  failureStrategies:
                    - onFailure:
                        errors: [Timeout]
                        action:
                          type: Ignore
              - step:
                  identifier: fails
                  name: Fails
                  type: Run
                  spec:
                    shell: Sh
                    command: exit 3
              - step:
                  identifier: skipped
                  name: Skipped
                  type: Run
                  spec:
                    shell: Sh
                    command: echo never
"#,
        )
        .await;
    assert_eq!(report.status, Status::Failed);
    assert_eq!(step(&report, "flaky").status, Status::Success);
    assert_eq!(
        step(&report, "flaky").message.as_deref(),
        Some("succeeded on attempt 2")
    );
    assert_eq!(step(&report, "slow").status, Status::IgnoreFailed);
    assert!(
        step(&report, "slow")
            .message
            .as_deref()
            .unwrap()
            .starts_with("timed out after 1s")
    );
    assert_eq!(step(&report, "fails").status, Status::Failed);
    assert_eq!(
        step(&report, "fails").message.as_deref(),
        Some("exit code 3")
    );
    assert_eq!(step(&report, "skipped").status, Status::Skipped);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the timeout cut the sleep short"
    );
}

#[tokio::test]
async fn parallel_steps_really_run_at_the_same_time() {
    // Each step waits for the other's file: they only both finish if concurrent.
    let local = Local::new();
    let report = local
        .run(
            r#"
pipeline:
  identifier: par
  name: Par
  stages:
    - stage:
        identifier: s
        name: S
        type: CI
        spec:
          execution:
            steps:
              - parallel:
                  - step:
                      identifier: a
                      name: A
                      type: Run
                      timeout: 20s
                      spec:
                        shell: Sh
                        command: touch a.ready; while [ ! -e b.ready ]; do sleep 0.02; done
                  - step:
                      identifier: b
                      name: B
                      type: Run
                      timeout: 20s
                      spec:
                        shell: Sh
                        command: touch b.ready; while [ ! -e a.ready ]; do sleep 0.02; done
"#,
        )
        .await;
    assert_eq!(report.status, Status::Success, "{report:#?}");
}

#[tokio::test]
async fn background_steps_serve_later_steps_and_stop_with_the_stage() {
    let local = Local::new();
    let report = local
        .run(
            r#"
pipeline:
  identifier: bg
  name: Bg
  stages:
    - stage:
        identifier: s
        name: S
        type: CI
        spec:
          execution:
            steps:
              - step:
                  identifier: service
                  name: Service
                  type: Background
                  spec:
                    shell: Sh
                    command: |
                      echo up
                      touch service.ready
                      while true; do sleep 0.05; done
              - step:
                  identifier: client
                  name: Client
                  type: Run
                  timeout: 20s
                  spec:
                    shell: Sh
                    command: while [ ! -e service.ready ]; do sleep 0.02; done; echo saw it
"#,
        )
        .await;
    assert_eq!(report.status, Status::Success, "{report:#?}");
    let service = step(&report, "service");
    assert_eq!(service.status, Status::Success);
    assert_eq!(
        service.message.as_deref(),
        Some("stopped at the end of the stage")
    );
    assert_eq!(local.events.logs("s", "service", LogStream::Stdout), ["up"]);
    assert_eq!(
        local.events.logs("s", "client", LogStream::Stdout),
        ["saw it"]
    );
}

#[tokio::test]
async fn cancelling_stops_the_running_process_group() {
    let local = Local::new();
    let cancel = CancellationToken::new();
    let workspace = local.workspace.clone();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        wait_for(&workspace.join("started")).await;
        trigger.cancel();
    });
    let started = Instant::now();
    let report = local
        .run_with(
            r#"
pipeline:
  identifier: cancel
  name: Cancel
  stages:
    - stage:
        identifier: s
        name: S
        type: CI
        spec:
          execution:
            steps:
              - step:
                  identifier: long
                  name: Long
                  type: Run
                  spec:
                    shell: Sh
                    command: |
                      sleep 300 &
                      echo $! > sleeper.pid
                      touch started
                      wait
              - step:
                  identifier: after
                  name: After
                  type: Run
                  spec:
                    shell: Sh
                    command: echo never
"#,
            cancel,
        )
        .await;
    assert_eq!(report.status, Status::Aborted);
    assert_eq!(step(&report, "long").status, Status::Aborted);
    assert_eq!(step(&report, "after").status, Status::Skipped);
    assert!(started.elapsed() < Duration::from_secs(20));
    // The background `sleep` of the step went with its process group.
    let pid = std::fs::read_to_string(local.workspace.join("sleeper.pid")).unwrap();
    let stat = PathBuf::from(format!("/proc/{}/stat", pid.trim()));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let alive = std::fs::read_to_string(&stat)
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false);
        if !alive {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "sleep {} outlived the run",
            pid.trim()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn steps_with_an_image_need_allow_host() {
    let local = Local::new();
    let report = local
        .run(
            r#"
pipeline:
  identifier: img
  name: Img
  stages:
    - stage:
        identifier: s
        name: S
        type: CI
        spec:
          execution:
            steps:
              - step:
                  identifier: go
                  name: Go
                  type: Run
                  spec:
                    image: golang:1.22
                    shell: Sh
                    command: go version
"#,
        )
        .await;
    assert_eq!(report.status, Status::Failed);
    let message = step(&report, "go").message.clone().unwrap();
    assert!(message.contains("--allow-host"), "{message}");
}

#[tokio::test]
async fn when_conditions_and_stage_status_from_yaml() {
    let local = Local::new();
    let report = local
        .run(
            r#"
pipeline:
  identifier: conditions
  name: Conditions
  stages:
    - stage:
        identifier: s
        name: S
        type: CI
        spec:
          execution:
            steps:
              - step:
                  identifier: on_main
                  name: On main
                  type: Run
                  when:
                    stageStatus: Success
                    condition: <+codebase.branch> == "main"
                  spec:
                    shell: Sh
                    command: echo main
              - step:
                  identifier: on_dev
                  name: On dev
                  type: Run
                  when:
                    stageStatus: Success
                    condition: <+codebase.branch> == "dev"
                  spec:
                    shell: Sh
                    command: echo dev
              - step:
                  identifier: breaks
                  name: Breaks
                  type: Run
                  spec:
                    shell: Sh
                    command: exit 1
              - step:
                  identifier: on_failure
                  name: On failure
                  type: Run
                  when:
                    stageStatus: Failure
                  spec:
                    shell: Sh
                    command: echo recovering
"#,
        )
        .await;
    assert_eq!(report.status, Status::Failed);
    assert_eq!(step(&report, "on_main").status, Status::Success);
    assert_eq!(step(&report, "on_dev").status, Status::Skipped);
    assert_eq!(step(&report, "on_failure").status, Status::Success);
    assert_eq!(
        local.events.logs("s", "on_failure", LogStream::Stdout),
        ["recovering"]
    );
}
