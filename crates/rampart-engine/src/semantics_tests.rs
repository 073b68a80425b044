//! The engine's run semantics, driven through the scripted fake executor.

use std::collections::BTreeMap;
use std::time::Duration;

use rampart_core::Status;
use rampart_exec::{Network, OutputStream};
use rampart_pipeline::model::{
    CodebaseBuild, ErrorKind, FailureAction, NetworkMode, OutputKind, StageNode, StatusCondition,
    StepKind, Strategy, VariableKind,
};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::Event;
use crate::testkit::*;
use rampart_mask::DEFAULT_MASK as MASK;

/// Events as short strings, to compare orders.
fn trace(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            Event::RunStarted { .. } => "run_started".to_string(),
            Event::StageStarted { stage, .. } => format!("stage_started {stage}"),
            Event::StepStarted { stage, step, .. } => format!("step_started {stage}/{step}"),
            Event::Log {
                stage, step, line, ..
            } => format!("log {stage}/{step} {line}"),
            Event::StepFinished {
                stage,
                step,
                status,
                ..
            } => format!("step_finished {stage}/{step} {status}"),
            Event::StageFinished { stage, status, .. } => {
                format!("stage_finished {stage} {status}")
            }
            Event::RunFinished { status, .. } => format!("run_finished {status}"),
        })
        .collect()
}

fn chunk(stream: OutputStream, s: &str) -> (OutputStream, Vec<u8>) {
    (stream, s.as_bytes().to_vec())
}

#[test]
fn the_run_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let h = Harness::new(FakeExecutor::default());
    let p = pipeline(vec![]);
    let future = h.run(&p);
    assert_send(&future);
}

#[tokio::test]
async fn steps_run_in_order_with_events_in_causal_order() {
    let fake = FakeExecutor::default().with(
        "build/a",
        Behaviour {
            chunks: vec![
                chunk(OutputStream::Stdout, "hel"),
                chunk(OutputStream::Stdout, "lo\nwor"),
                chunk(OutputStream::Stderr, "warn\r\n"),
                chunk(OutputStream::Stdout, "ld"),
            ],
            ..Behaviour::default()
        },
    );
    let h = Harness::new(fake);
    let report = h
        .run(&pipeline(vec![stage(
            "build",
            vec![run("a", "echo a"), run("b", "echo b")],
        )]))
        .await;
    assert_eq!(report.status, Status::Success);
    assert_eq!(h.executor.ran(), ["build/a", "build/b"]);
    assert_eq!(
        trace(&h.events.all()),
        [
            "run_started",
            "stage_started build",
            "step_started build/a",
            "log build/a hello",
            "log build/a warn",
            "log build/a world",
            "step_finished build/a Success",
            "step_started build/b",
            "step_finished build/b Success",
            "stage_finished build Success",
            "run_finished Success",
        ]
    );
    assert_eq!(report.steps.len(), 2);
    assert_eq!(report.steps[0].step, "a");
    assert_eq!(report.message, None);
    let a = h.executor.process("build/a");
    assert_eq!(a.script, "echo a");
    assert_eq!(a.label, "build/a");
}

#[tokio::test]
async fn a_failed_step_skips_later_steps_unless_their_when_allows_failure() {
    let mut on_failure = step("report", "echo report");
    on_failure.when = Some(when(StatusCondition::Failure, None));
    let mut always = step("cleanup", "echo cleanup");
    always.when = Some(when(StatusCondition::All, None));
    let h = Harness::new(FakeExecutor::default().with("build/a", exits(&[3])));
    let mut after_failure = stage("notify", vec![run("n", "echo n")]);
    after_failure.when = Some(when(StatusCondition::Failure, None));
    let report = h
        .run(&pipeline(vec![
            stage(
                "build",
                vec![
                    run("a", "false"),
                    run("b", "echo b"),
                    s(on_failure),
                    s(always),
                ],
            ),
            stage("deploy", vec![run("d", "echo d")]),
            after_failure,
        ]))
        .await;
    assert_eq!(report.status, Status::Failed);
    assert_eq!(report.message.as_deref(), Some("stage build failed"));
    assert_eq!(
        h.executor.ran(),
        ["build/a", "build/report", "build/cleanup", "notify/n"]
    );
    assert_eq!(h.events.status_of("build/a"), Status::Failed);
    assert_eq!(h.events.message_of("build/a"), "exit code 3");
    assert_eq!(h.events.status_of("build/b"), Status::Skipped);
    assert_eq!(
        h.events.message_of("build/b"),
        "skipped: stageStatus Success but the stage has failed"
    );
    assert_eq!(h.events.status_of("build/report"), Status::Success);
    assert_eq!(
        h.events.stage("build"),
        (Status::Failed, Some("step a failed".into()))
    );
    assert_eq!(
        h.events.stage("deploy"),
        (
            Status::Skipped,
            Some("skipped: pipelineStatus Success but the pipeline has failed".into())
        )
    );
    assert_eq!(h.events.stage("notify").0, Status::Success);
    // A skipped step gets a StepFinished but no StepStarted.
    assert!(!trace(&h.events.all()).contains(&"step_started build/b".to_string()));
    let b = report.steps.iter().find(|r| r.step == "b").unwrap();
    assert_eq!(b.status, Status::Skipped);
}

#[tokio::test]
async fn when_failure_steps_are_skipped_when_nothing_failed() {
    let mut on_failure = step("report", "echo report");
    on_failure.when = Some(when(StatusCondition::Failure, None));
    let h = Harness::new(FakeExecutor::default());
    let report = h
        .run(&pipeline(vec![stage(
            "build",
            vec![run("a", "true"), s(on_failure)],
        )]))
        .await;
    assert_eq!(report.status, Status::Success);
    assert_eq!(h.executor.ran(), ["build/a"]);
    assert_eq!(
        h.events.message_of("build/report"),
        "skipped: stageStatus Failure but nothing in the stage has failed"
    );
}

#[tokio::test]
async fn conditions_skip_and_condition_errors_fail() {
    let mut skipped = step("skipped", "echo no");
    skipped.when = Some(when(
        StatusCondition::Success,
        Some("<+pipeline.sequenceId> == 7"),
    ));
    let mut runs = step("runs", "echo yes");
    runs.when = Some(when(
        StatusCondition::Success,
        Some(r#"<+pipeline.sequenceId> == 42 && <+codebase.branch> == "main""#),
    ));
    let mut broken = step("broken", "echo broken");
    broken.when = Some(when(
        StatusCondition::All,
        Some("<+stage.variables.missing> =="),
    ));
    let mut h = Harness::new(FakeExecutor::default());
    h.options.codebase.insert("branch".into(), "main".into());
    let report = h
        .run(&pipeline(vec![stage(
            "build",
            vec![s(skipped), s(runs), s(broken)],
        )]))
        .await;
    assert_eq!(h.executor.ran(), ["build/runs"]);
    assert_eq!(
        h.events.message_of("build/skipped"),
        "skipped: condition \"<+pipeline.sequenceId> == 7\" is false"
    );
    assert_eq!(h.events.status_of("build/broken"), Status::Failed);
    assert!(
        h.events
            .message_of("build/broken")
            .starts_with("when.condition")
    );
    assert_eq!(report.status, Status::Failed);
}

#[tokio::test]
async fn ignore_and_mark_as_success_keep_the_stage_going() {
    let mut ignored = step("ignored", "false");
    ignored.failure_strategies = vec![on_failure(
        vec![ErrorKind::AllErrors],
        FailureAction::Ignore,
    )];
    let mut marked = step("marked", "false");
    marked.failure_strategies = vec![on_failure(
        vec![ErrorKind::Unknown],
        FailureAction::MarkAsSuccess,
    )];
    let h = Harness::new(
        FakeExecutor::default()
            .with("build/ignored", exits(&[1]))
            .with("build/marked", exits(&[2])),
    );
    let report = h
        .run(&pipeline(vec![stage(
            "build",
            vec![s(ignored), s(marked), run("next", "true")],
        )]))
        .await;
    assert_eq!(report.status, Status::Success);
    assert_eq!(h.events.status_of("build/ignored"), Status::IgnoreFailed);
    assert_eq!(
        h.events.message_of("build/ignored"),
        "exit code 1 (ignored by a failure strategy)"
    );
    assert_eq!(h.events.status_of("build/marked"), Status::Success);
    assert_eq!(h.events.status_of("build/next"), Status::Success);
}

#[tokio::test]
async fn stage_failure_strategies_apply_to_its_steps_and_the_nearest_wins() {
    let mut own = step("own", "false");
    own.failure_strategies = vec![on_failure(vec![ErrorKind::Timeout], FailureAction::Ignore)];
    let mut grouped = group("g", vec![run("inner", "false")]);
    grouped.failure_strategies = vec![on_failure(
        vec![ErrorKind::AllErrors],
        FailureAction::MarkAsSuccess,
    )];
    let mut st = stage("build", vec![s(own), StepNode::Group(grouped)]);
    st.failure_strategies = vec![on_failure(
        vec![ErrorKind::AllErrors],
        FailureAction::Ignore,
    )];
    let h = Harness::new(
        FakeExecutor::default()
            .with("build/own", exits(&[1]))
            .with("build/g.inner", exits(&[1])),
    );
    let report = h.run(&pipeline(vec![st])).await;
    assert_eq!(report.status, Status::Success);
    // `own`'s Timeout strategy does not cover an exit code: the stage's Ignore does.
    assert_eq!(h.events.status_of("build/own"), Status::IgnoreFailed);
    // The group's strategy is nearer than the stage's.
    assert_eq!(h.events.status_of("build/g.inner"), Status::Success);
}

use rampart_pipeline::model::StepNode;

#[tokio::test(start_paused = true)]
async fn retry_reruns_with_intervals_and_says_which_attempt() {
    let mut flaky = step("flaky", "maybe");
    flaky.failure_strategies = vec![on_failure(
        vec![ErrorKind::AllErrors],
        retry(3, &[2, 5], FailureAction::MarkAsFailure),
    )];
    let h = Harness::new(FakeExecutor::default().with("build/flaky", exits(&[1, 1, 0])));
    let start = tokio::time::Instant::now();
    let report = h.run(&pipeline(vec![stage("build", vec![s(flaky)])])).await;
    assert_eq!(report.status, Status::Success);
    assert_eq!(h.executor.ran().len(), 3);
    assert!(
        start.elapsed() >= Duration::from_secs(7),
        "waited 2s then 5s"
    );
    assert_eq!(
        h.events.logs("build/flaky"),
        [
            "rampart: attempt 1 of 4 failed: exit code 1; retrying in 2s",
            "rampart: attempt 2 of 4 failed: exit code 1; retrying in 5s",
        ]
    );
    let t = trace(&h.events.all());
    assert_eq!(
        t.iter()
            .filter(|e| *e == "step_started build/flaky")
            .count(),
        3
    );
    assert_eq!(
        t.iter().filter(|e| e.starts_with("step_finished")).count(),
        1
    );
    assert_eq!(h.events.message_of("build/flaky"), "succeeded on attempt 3");
    assert_eq!(report.steps.len(), 1, "a retried step is reported once");
}

#[tokio::test(start_paused = true)]
async fn exhausted_retries_apply_on_retry_failure() {
    let mut flaky = step("flaky", "false");
    flaky.failure_strategies = vec![on_failure(
        vec![ErrorKind::Unknown],
        retry(2, &[1], FailureAction::Ignore),
    )];
    let h = Harness::new(FakeExecutor::default().with("build/flaky", exits(&[9])));
    let report = h
        .run(&pipeline(vec![stage(
            "build",
            vec![s(flaky), run("next", "true")],
        )]))
        .await;
    assert_eq!(
        h.executor.ran(),
        ["build/flaky", "build/flaky", "build/flaky", "build/next"]
    );
    assert_eq!(h.events.status_of("build/flaky"), Status::IgnoreFailed);
    assert_eq!(
        h.events.message_of("build/flaky"),
        "exit code 9 (after 3 attempts) (ignored by a failure strategy)"
    );
    assert_eq!(report.status, Status::Success);
}

#[tokio::test(start_paused = true)]
async fn abort_cancels_running_siblings_and_stops_everything() {
    let mut fails = step("fails", "false");
    fails.failure_strategies = vec![on_failure(vec![ErrorKind::AllErrors], FailureAction::Abort)];
    let h = Harness::new(
        FakeExecutor::default()
            .with(
                "build/fails",
                Behaviour {
                    exits: vec![1],
                    hold: Some(Duration::from_secs(1)),
                    ..Behaviour::default()
                },
            )
            .with(
                "build/slow",
                Behaviour {
                    forever: true,
                    ..Behaviour::default()
                },
            ),
    );
    let mut cleanup = step("cleanup", "true");
    cleanup.when = Some(when(StatusCondition::All, None));
    let report = h
        .run(&pipeline(vec![
            stage(
                "build",
                vec![parallel(vec![s(fails), run("slow", "sleep")]), s(cleanup)],
            ),
            stage("later", vec![run("x", "true")]),
        ]))
        .await;
    assert_eq!(report.status, Status::Aborted);
    assert_eq!(h.executor.ran(), ["build/fails", "build/slow"]);
    assert_eq!(h.events.status_of("build/fails"), Status::Aborted);
    assert_eq!(h.events.status_of("build/slow"), Status::Aborted);
    assert_eq!(
        h.events.message_of("build/slow"),
        "stopped: the failure strategy of step build/fails aborted the run (exit code 1)"
    );
    assert_eq!(h.events.status_of("build/cleanup"), Status::Skipped);
    assert!(
        h.events
            .message_of("build/cleanup")
            .starts_with("not started:")
    );
    assert_eq!(h.events.stage("build").0, Status::Aborted);
    assert_eq!(h.events.stage("later").0, Status::Skipped);
    assert!(report.message.unwrap().contains("exit code 1"));
}

#[tokio::test(start_paused = true)]
async fn cancelling_the_run_stops_running_steps_and_starts_nothing_new() {
    let h = Harness::new(FakeExecutor::default().with(
        "build/long",
        Behaviour {
            forever: true,
            ..Behaviour::default()
        },
    ));
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(3)).await;
        trigger.cancel();
    });
    let report = h
        .run_with(
            &pipeline(vec![
                stage(
                    "build",
                    vec![run("long", "sleep 1000"), run("after", "true")],
                ),
                stage("later", vec![run("x", "true")]),
            ]),
            cancel,
        )
        .await;
    assert_eq!(report.status, Status::Aborted);
    assert_eq!(report.message.as_deref(), Some("the run was cancelled"));
    assert_eq!(h.executor.ran(), ["build/long"]);
    assert_eq!(h.events.status_of("build/long"), Status::Aborted);
    assert_eq!(
        h.events.message_of("build/long"),
        "stopped: the run was cancelled"
    );
    assert_eq!(h.events.status_of("build/after"), Status::Skipped);
    assert_eq!(h.events.stage("later").0, Status::Skipped);
    let t = trace(&h.events.all());
    assert_eq!(t.last().map(String::as_str), Some("run_finished Aborted"));
}

#[tokio::test(start_paused = true)]
async fn a_step_timeout_expires_it_and_timeout_strategies_match() {
    let mut slow = step("slow", "sleep 100");
    slow.timeout = Some(timeout(5));
    let mut tolerated = step("tolerated", "sleep 100");
    tolerated.timeout = Some(timeout(5));
    tolerated.failure_strategies =
        vec![on_failure(vec![ErrorKind::Timeout], FailureAction::Ignore)];
    let h = Harness::new(
        FakeExecutor::default()
            .with("build/slow", held(100))
            .with("build/tolerated", held(100)),
    );
    let mut always = step("after", "true");
    always.when = Some(when(StatusCondition::All, None));
    let report = h
        .run(&pipeline(vec![stage(
            "build",
            vec![s(tolerated), s(slow), s(always)],
        )]))
        .await;
    assert_eq!(
        h.executor.process("build/slow").timeout,
        Some(Duration::from_secs(5))
    );
    assert_eq!(h.events.status_of("build/tolerated"), Status::IgnoreFailed);
    assert_eq!(h.events.status_of("build/slow"), Status::Expired);
    assert_eq!(h.events.message_of("build/slow"), "timed out after 5s");
    assert_eq!(h.events.status_of("build/after"), Status::Success);
    assert_eq!(report.status, Status::Failed);
}

#[tokio::test(start_paused = true)]
async fn a_step_group_timeout_stops_its_steps() {
    let mut g = group(
        "g",
        vec![
            run("quick", "true"),
            run("hangs", "sleep"),
            run("never", "true"),
        ],
    );
    g.timeout = Some(timeout(10));
    let h = Harness::new(FakeExecutor::default().with(
        "build/g.hangs",
        Behaviour {
            forever: true,
            ..Behaviour::default()
        },
    ));
    let start = tokio::time::Instant::now();
    let report = h
        .run(&pipeline(vec![stage(
            "build",
            vec![StepNode::Group(g), run("after", "true")],
        )]))
        .await;
    assert!(start.elapsed() >= Duration::from_secs(10));
    assert!(start.elapsed() < Duration::from_secs(11));
    assert_eq!(h.executor.ran(), ["build/g.quick", "build/g.hangs"]);
    assert_eq!(h.events.status_of("build/g.quick"), Status::Success);
    assert_eq!(h.events.status_of("build/g.hangs"), Status::Expired);
    assert_eq!(
        h.events.message_of("build/g.hangs"),
        "stopped: step group g timed out after 10s"
    );
    assert_eq!(h.events.status_of("build/g.never"), Status::Skipped);
    assert_eq!(h.events.status_of("build/after"), Status::Skipped);
    assert_eq!(report.status, Status::Failed);
}

#[tokio::test(start_paused = true)]
async fn an_ignored_group_timeout_lets_the_stage_carry_on() {
    let mut g = group("g", vec![run("hangs", "sleep")]);
    g.timeout = Some(timeout(10));
    g.failure_strategies = vec![on_failure(vec![ErrorKind::Timeout], FailureAction::Ignore)];
    let h = Harness::new(FakeExecutor::default().with(
        "build/g.hangs",
        Behaviour {
            forever: true,
            ..Behaviour::default()
        },
    ));
    let report = h
        .run(&pipeline(vec![stage(
            "build",
            vec![StepNode::Group(g), run("after", "true")],
        )]))
        .await;
    assert_eq!(h.events.status_of("build/after"), Status::Success);
    assert_eq!(report.status, Status::Success);
}

#[tokio::test(start_paused = true)]
async fn stage_and_pipeline_timeouts_expire_them() {
    let mut st = stage("build", vec![run("hangs", "sleep")]);
    st.timeout = Some(timeout(30));
    let h = Harness::new(FakeExecutor::default().with(
        "build/hangs",
        Behaviour {
            forever: true,
            ..Behaviour::default()
        },
    ));
    let report = h
        .run(&pipeline(vec![st, stage("next", vec![run("x", "true")])]))
        .await;
    assert_eq!(
        h.events.stage("build"),
        (Status::Expired, Some("timed out after 30s".into()))
    );
    assert_eq!(h.events.status_of("build/hangs"), Status::Expired);
    assert_eq!(h.events.stage("next").0, Status::Skipped);
    assert_eq!(report.status, Status::Failed);

    let h = Harness::new(FakeExecutor::default().with(
        "build/hangs",
        Behaviour {
            forever: true,
            ..Behaviour::default()
        },
    ));
    let mut p = pipeline(vec![stage("build", vec![run("hangs", "sleep")])]);
    p.timeout = Some(timeout(60));
    let start = tokio::time::Instant::now();
    let report = h.run(&p).await;
    assert_eq!(report.status, Status::Expired);
    assert_eq!(
        report.message.as_deref(),
        Some("the pipeline timed out after 60s")
    );
    assert!(start.elapsed() < Duration::from_secs(61));
    assert_eq!(h.events.status_of("build/hangs"), Status::Expired);
    assert_eq!(h.events.stage("build").0, Status::Expired);
}

#[tokio::test(start_paused = true)]
async fn parallel_steps_and_stages_run_at_once() {
    let fake = FakeExecutor::default()
        .with("build/a", held(1))
        .with("build/b", held(1))
        .with("build/c", held(1))
        .with("test/t", held(1));
    let h = Harness::new(fake);
    let mut p = pipeline(vec![]);
    p.stages = vec![StageNode::Parallel {
        stages: vec![
            stage(
                "build",
                vec![parallel(vec![run("a", "a"), run("b", "b"), run("c", "c")])],
            ),
            stage("test", vec![run("t", "t")]),
        ],
        loc: Default::default(),
    }];
    let start = tokio::time::Instant::now();
    let report = h.run(&p).await;
    assert_eq!(report.status, Status::Success);
    assert_eq!(h.executor.max_in_flight(), 4);
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn matrix_iterations_get_ids_values_and_bounded_concurrency() {
    let mut m = step(
        "test",
        "echo <+matrix.os> <+matrix.v> <+strategy.iteration>/<+strategy.iterations>",
    );
    m.strategy = Some(Strategy::Matrix {
        axes: vec![
            ("os".into(), vec![json!("linux"), json!("mac")]),
            ("v".into(), vec![json!(1), json!(2), json!(3)]),
        ],
        exclude: vec![vec![("os".into(), json!("mac")), ("v".into(), json!(3))]],
        max_concurrency: Some(2),
        loc: Default::default(),
    });
    let mut fake = FakeExecutor::default();
    for i in 0..5 {
        fake = fake.with(&format!("build/test_{i}"), held(1));
    }
    let h = Harness::new(fake);
    let report = h.run(&pipeline(vec![stage("build", vec![s(m)])])).await;
    assert_eq!(report.status, Status::Success);
    assert_eq!(h.executor.max_in_flight(), 2);
    assert_eq!(
        h.executor.ran(),
        [
            "build/test_0",
            "build/test_1",
            "build/test_2",
            "build/test_3",
            "build/test_4"
        ]
    );
    assert_eq!(
        h.executor.process("build/test_0").script,
        "echo linux 1 0/5"
    );
    assert_eq!(h.executor.process("build/test_4").script, "echo mac 2 4/5");
    assert_eq!(report.steps[4].name, "test (os=mac, v=2)");
}

#[tokio::test(start_paused = true)]
async fn parallelism_and_repeat_expand_and_run_concurrently_by_default() {
    let mut p = step(
        "shard",
        "run shard <+strategy.iteration> of <+strategy.iterations>",
    );
    p.strategy = Some(Strategy::Parallelism {
        count: 3,
        max_concurrency: None,
        loc: Default::default(),
    });
    let mut r = step("jdk", "build jdk <+repeat.item>");
    r.strategy = Some(Strategy::Repeat {
        times: None,
        items: Some(vec![json!("17"), json!("21")]),
        max_concurrency: None,
        loc: Default::default(),
    });
    let mut fake = FakeExecutor::default();
    for label in ["build/shard_0", "build/shard_1", "build/shard_2"] {
        fake = fake.with(label, held(1));
    }
    let h = Harness::new(fake);
    let report = h
        .run(&pipeline(vec![stage("build", vec![s(p), s(r)])]))
        .await;
    assert_eq!(report.status, Status::Success);
    assert_eq!(h.executor.max_in_flight(), 3);
    assert_eq!(
        h.executor.process("build/shard_2").script,
        "run shard 2 of 3"
    );
    assert_eq!(h.executor.process("build/jdk_1").script, "build jdk 21");
}

#[tokio::test(start_paused = true)]
async fn queued_iterations_are_skipped_after_a_failed_one() {
    let mut m = step("t", "t");
    m.strategy = Some(Strategy::Repeat {
        times: Some(3),
        items: None,
        max_concurrency: Some(1),
        loc: Default::default(),
    });
    let h = Harness::new(FakeExecutor::default().with("build/t_0", exits(&[1])));
    let report = h.run(&pipeline(vec![stage("build", vec![s(m)])])).await;
    assert_eq!(h.executor.ran(), ["build/t_0"]);
    assert_eq!(h.events.status_of("build/t_1"), Status::Skipped);
    assert_eq!(report.status, Status::Failed);
}

#[tokio::test]
async fn a_stage_matrix_expands_stages_and_steps_see_stage_values() {
    let mut st = stage(
        "build",
        vec![run("s", "echo <+matrix.os> <+stage.identifier>")],
    );
    st.strategy = Some(matrix(
        vec![("os", vec![json!("linux"), json!("mac")])],
        None,
    ));
    let h = Harness::new(FakeExecutor::default());
    let report = h.run(&pipeline(vec![st])).await;
    assert_eq!(report.status, Status::Success);
    assert_eq!(h.executor.process("build_0/s").script, "echo linux build_0");
    assert_eq!(h.executor.process("build_1/s").script, "echo mac build_1");
    assert_eq!(h.events.stage("build_1").0, Status::Success);
}

#[tokio::test]
async fn outputs_flow_to_later_steps_and_stages() {
    let mut producer = step("produce", "export VERSION=1.2");
    producer.spec.output_variables = vec![output("VERSION", OutputKind::String)];
    let mut g = group(
        "g",
        vec![{
            let mut inner = step("inner", "echo");
            inner.spec.output_variables = vec![output("DIGEST", OutputKind::String)];
            s(inner)
        }],
    );
    g.strategy = None;
    let h = Harness::new(
        FakeExecutor::default()
            .with(
                "build/produce",
                Behaviour {
                    outputs: BTreeMap::from([("VERSION".into(), "1.2".into())]),
                    ..Behaviour::default()
                },
            )
            .with(
                "build/g.inner",
                Behaviour {
                    outputs: BTreeMap::from([("DIGEST".into(), "sha256:abc".into())]),
                    ..Behaviour::default()
                },
            ),
    );
    let report = h
        .run(&pipeline(vec![
            stage(
                "build",
                vec![
                    s(producer),
                    StepNode::Group(g),
                    run(
                        "consume",
                        "echo <+steps.produce.output.outputVariables.VERSION> <+execution.steps.g.steps.inner.output.outputVariables.DIGEST>",
                    ),
                ],
            ),
            stage(
                "deploy",
                vec![run(
                    "d",
                    "deploy <+pipeline.stages.build.spec.execution.steps.produce.output.outputVariables.VERSION> <+pipeline.stages.build.spec.execution.steps.g.steps.inner.output.outputVariables.DIGEST>",
                )],
            ),
        ]))
        .await;
    assert_eq!(report.status, Status::Success);
    assert_eq!(
        h.executor.process("build/produce").output_variables,
        ["VERSION"]
    );
    assert_eq!(
        h.executor.process("build/consume").script,
        "echo 1.2 sha256:abc"
    );
    assert_eq!(
        h.executor.process("deploy/d").script,
        "deploy 1.2 sha256:abc"
    );
    assert_eq!(
        report.steps[0].outputs.get("VERSION").map(String::as_str),
        Some("1.2")
    );
    let finished_outputs = h.events.all().into_iter().find_map(|e| match e {
        Event::StepFinished { step, outputs, .. } if step == "produce" => Some(outputs),
        _ => None,
    });
    assert_eq!(
        finished_outputs.unwrap().get("VERSION").map(String::as_str),
        Some("1.2")
    );
}

#[tokio::test]
async fn outputs_are_captured_by_their_shell_variable_and_read_by_name() {
    let mut producer = step("p", "X=1");
    let mut declared = output("version", OutputKind::String);
    declared.value = "APP_VERSION".into();
    producer.spec.output_variables = vec![declared];
    let h = Harness::new(FakeExecutor::default().with(
        "build/p",
        Behaviour {
            outputs: BTreeMap::from([("APP_VERSION".into(), "3.1".into())]),
            ..Behaviour::default()
        },
    ));
    let report = h
        .run(&pipeline(vec![stage(
            "build",
            vec![
                s(producer),
                run("c", "echo <+steps.p.output.outputVariables.version>"),
            ],
        )]))
        .await;
    assert_eq!(
        h.executor.process("build/p").output_variables,
        ["APP_VERSION"]
    );
    assert_eq!(
        report.steps[0].outputs.get("version").map(String::as_str),
        Some("3.1")
    );
    assert_eq!(h.executor.process("build/c").script, "echo 3.1");
}

#[tokio::test]
async fn an_output_of_a_step_that_did_not_run_reads_as_null() {
    let mut producer = step("p", "false");
    producer.spec.output_variables = vec![output("V", OutputKind::String)];
    producer.failure_strategies = vec![on_failure(
        vec![ErrorKind::AllErrors],
        FailureAction::Ignore,
    )];
    let h = Harness::new(FakeExecutor::default().with("build/p", exits(&[1])));
    h.run(&pipeline(vec![stage(
        "build",
        vec![
            s(producer),
            run("c", "echo [<+steps.p.output.outputVariables.V>]"),
        ],
    )]))
    .await;
    assert_eq!(h.executor.process("build/c").script, "echo [null]");
}

#[tokio::test]
async fn secret_outputs_are_masked_but_usable() {
    let mut producer = step("login", "export TOKEN=...");
    producer.spec.output_variables = vec![output("TOKEN", OutputKind::Secret)];
    let h = Harness::new(
        FakeExecutor::default()
            .with(
                "build/login",
                Behaviour {
                    outputs: BTreeMap::from([("TOKEN".into(), "tok-123456".into())]),
                    ..Behaviour::default()
                },
            )
            .with(
                "build/use",
                Behaviour {
                    chunks: vec![chunk(OutputStream::Stdout, "using tok-123456 now\n")],
                    ..Behaviour::default()
                },
            ),
    );
    let report = h
        .run(&pipeline(vec![stage(
            "build",
            vec![
                s(producer),
                run("use", "curl -H <+steps.login.output.outputVariables.TOKEN>"),
            ],
        )]))
        .await;
    assert_eq!(h.executor.process("build/use").script, "curl -H tok-123456");
    assert_eq!(
        report.steps[0].outputs.get("TOKEN").map(String::as_str),
        Some(MASK)
    );
    assert_eq!(h.events.logs("build/use"), [format!("using {MASK} now")]);
    let json = serde_json::to_string(&h.events.all()).unwrap();
    assert!(!json.contains("tok-123456"), "{json}");
}

#[tokio::test]
async fn group_steps_have_dotted_ids_and_find_their_siblings() {
    let mut first = step("first", "true");
    first.spec.output_variables = vec![output("X", OutputKind::String)];
    let g = group(
        "g",
        vec![
            s(first),
            run(
                "second",
                "echo <+steps.first.output.outputVariables.X> <+step.identifier>",
            ),
        ],
    );
    let h = Harness::new(FakeExecutor::default().with(
        "build/g.first",
        Behaviour {
            outputs: BTreeMap::from([("X".into(), "x1".into())]),
            ..Behaviour::default()
        },
    ));
    let report = h
        .run(&pipeline(vec![stage("build", vec![StepNode::Group(g)])]))
        .await;
    assert_eq!(report.status, Status::Success);
    assert_eq!(
        h.executor.process("build/g.second").script,
        "echo x1 second"
    );
    assert_eq!(
        h.executor
            .process("build/g.second")
            .env
            .get("HARNESS_STEP_ID")
            .map(String::as_str),
        Some("g.second")
    );
}

#[tokio::test]
async fn a_skipped_group_reports_each_of_its_steps() {
    let mut g = group("g", vec![run("a", "true"), run("b", "true")]);
    g.when = Some(when(StatusCondition::Success, Some("false")));
    let h = Harness::new(FakeExecutor::default());
    let report = h
        .run(&pipeline(vec![stage("build", vec![StepNode::Group(g)])]))
        .await;
    assert!(h.executor.ran().is_empty());
    assert_eq!(report.status, Status::Success);
    assert_eq!(h.events.status_of("build/g.a"), Status::Skipped);
    assert_eq!(
        h.events.message_of("build/g.b"),
        "step group g: skipped: condition \"false\" is false"
    );
}

#[tokio::test]
async fn pipeline_and_stage_variables_render_in_order_with_types() {
    let mut p = pipeline(vec![{
        let mut st = stage(
            "build",
            vec![run(
                "s",
                "echo <+pipeline.variables.greeting> <+pipeline.variables.n + 1> <+stage.variables.target>",
            )],
        );
        st.variables = vec![variable(
            "target",
            VariableKind::String,
            "<+pipeline.variables.name>-x",
        )];
        st
    }]);
    p.variables = vec![
        variable("name", VariableKind::String, "world"),
        variable(
            "greeting",
            VariableKind::String,
            "hello <+pipeline.variables.name>",
        ),
        variable("n", VariableKind::Number, "41"),
    ];
    let h = Harness::new(FakeExecutor::default());
    let report = h.run(&p).await;
    assert_eq!(report.status, Status::Success, "{:?}", report.message);
    let process = h.executor.process("build/s");
    assert_eq!(process.script, "echo hello world 42 world-x");
    assert_eq!(
        process.env.get("target").map(String::as_str),
        Some("world-x")
    );
}

#[tokio::test]
async fn a_bad_number_variable_fails_the_run_before_any_stage() {
    let mut p = pipeline(vec![stage("build", vec![run("s", "true")])]);
    p.variables = vec![variable("n", VariableKind::Number, "abc")];
    let h = Harness::new(FakeExecutor::default());
    let report = h.run(&p).await;
    assert_eq!(report.status, Status::Failed);
    assert_eq!(
        report.message.as_deref(),
        Some("pipeline variable \"n\": \"abc\" is not a number (the variable has type Number)")
    );
    assert!(h.executor.ran().is_empty());
    assert_eq!(
        trace(&h.events.all()),
        ["run_started", "run_finished Failed"]
    );
}

#[tokio::test]
async fn a_bad_stage_variable_fails_the_stage() {
    let mut st = stage("build", vec![run("s", "true")]);
    st.variables = vec![variable("n", VariableKind::Number, "x1")];
    let h = Harness::new(FakeExecutor::default());
    let report = h.run(&pipeline(vec![st])).await;
    assert_eq!(report.status, Status::Failed);
    let (status, message) = h.events.stage("build");
    assert_eq!(status, Status::Failed);
    assert!(message.unwrap().starts_with("stage variable \"n\""));
    assert!(h.executor.ran().is_empty());
}

#[tokio::test]
async fn secrets_resolve_through_the_source_and_are_masked() {
    let mut p = pipeline(vec![stage(
        "build",
        vec![{
            let mut st = step(
                "s",
                "login <+secrets.getValue(\"token\")> <+pipeline.variables.pw>",
            );
            st.spec.env_variables = vec![("API".into(), text("<+secrets.getValue(\"org.api\")>"))];
            s(st)
        }],
    )]);
    p.variables = vec![variable("pw", VariableKind::Secret, "password")];
    let fake = FakeExecutor::default().with(
        "build/s",
        Behaviour {
            chunks: vec![chunk(
                OutputStream::Stdout,
                "token=t0ps3cret api=ap1key pw=hunter22\n",
            )],
            ..Behaviour::default()
        },
    );
    let h = Harness::new(fake).with_secrets(&[
        ("token", "t0ps3cret"),
        ("org.api", "ap1key"),
        ("password", "hunter22"),
    ]);
    let report = h.run(&p).await;
    assert_eq!(report.status, Status::Success, "{:?}", h.events.finished());
    let process = h.executor.process("build/s");
    assert_eq!(process.script, "login t0ps3cret hunter22");
    assert_eq!(process.env.get("API").map(String::as_str), Some("ap1key"));
    assert_eq!(
        h.events.logs("build/s"),
        [format!("token={MASK} api={MASK} pw={MASK}")]
    );
}

#[tokio::test]
async fn resolved_secrets_are_listed_per_step_without_values() {
    let p = pipeline(vec![stage(
        "build",
        vec![
            run(
                "uses",
                "login <+secrets.getValue(\"token\")> <+secrets.getValue(\"org.api\")>",
            ),
            run("plain", "echo hi"),
        ],
    )]);
    let h = Harness::new(FakeExecutor::default())
        .with_secrets(&[("token", "t0ps3cret"), ("org.api", "ap1key")]);
    let report = h.run(&p).await;
    assert_eq!(report.steps[0].secrets, ["test:org.api", "test:token"]);
    assert!(report.steps[1].secrets.is_empty());
    let json = serde_json::to_string(&h.events.all()).unwrap();
    assert!(
        json.contains(r#""secrets":["test:org.api","test:token"]"#),
        "{json}"
    );
    assert!(
        !json.contains("t0ps3cret") && !json.contains("ap1key"),
        "{json}"
    );
    let summary = serde_json::to_string(&report).unwrap();
    assert!(!summary.contains("t0ps3cret"), "{summary}");
}

#[tokio::test]
async fn file_secrets_arrive_as_private_files_whose_contents_are_masked() {
    let mut st = step("deploy", "cat \"$KUBECONFIG\"");
    st.spec.env_variables = vec![(
        "KUBECONFIG".into(),
        text("<+secrets.getValue(\"kubeconfig\")>"),
    )];
    let fake = FakeExecutor::default().with(
        "build/deploy",
        Behaviour {
            chunks: vec![chunk(
                OutputStream::Stdout,
                "server: https://k8s\ntoken: fil3-t0ken\n",
            )],
            ..Behaviour::default()
        },
    );
    let h = Harness::new(fake).with_file_secrets(
        &[],
        &[("kubeconfig", b"server: https://k8s\ntoken: fil3-t0ken\n")],
    );
    let report = h.run(&pipeline(vec![stage("build", vec![s(st)])])).await;
    assert_eq!(report.status, Status::Success, "{:?}", h.events.finished());
    let process = h.executor.process("build/deploy");
    let path = std::path::PathBuf::from(process.env.get("KUBECONFIG").unwrap());
    assert_eq!(
        process.private_dir.as_deref(),
        path.parent(),
        "the file lives in the step's private dir"
    );
    let files = h.executor.private_files.lock().unwrap();
    assert_eq!(
        files.get(&path).map(Vec::as_slice),
        Some(&b"server: https://k8s\ntoken: fil3-t0ken\n"[..])
    );
    // The whole multi-line value, newline included, is one masked range.
    assert_eq!(h.events.logs("build/deploy"), [MASK.to_string()]);
    let json = serde_json::to_string(&h.events.all()).unwrap();
    assert!(
        !json.contains("fil3-t0ken") && !json.contains("https://k8s"),
        "{json}"
    );
    assert_eq!(report.steps[0].secrets, ["test:kubeconfig"]);
}

#[tokio::test]
async fn secret_outputs_reach_the_report_for_encrypted_storage_only() {
    let mut producer = step("login", "export TOKEN=...");
    producer.spec.output_variables = vec![
        output("TOKEN", OutputKind::Secret),
        output("USER", OutputKind::String),
    ];
    let h = Harness::new(FakeExecutor::default().with(
        "build/login",
        Behaviour {
            outputs: BTreeMap::from([
                ("TOKEN".into(), "tok-123456".into()),
                ("USER".into(), "bot".into()),
            ]),
            ..Behaviour::default()
        },
    ));
    let report = h
        .run(&pipeline(vec![stage("build", vec![s(producer)])]))
        .await;
    assert_eq!(report.secret_outputs.len(), 1);
    let kept = &report.secret_outputs[0];
    assert_eq!(
        (
            kept.stage.as_str(),
            kept.step.as_str(),
            kept.name.as_str(),
            kept.value.as_str()
        ),
        ("build", "login", "TOKEN", "tok-123456")
    );
    assert!(!format!("{report:?}").contains("tok-123456"));
    assert!(
        !serde_json::to_string(&report)
            .unwrap()
            .contains("tok-123456")
    );
}

#[tokio::test]
async fn a_failed_secret_lookup_fails_the_step_with_a_message() {
    let h = Harness::new(FakeExecutor::default()).with_secrets(&[]);
    let report = h
        .run(&pipeline(vec![stage(
            "build",
            vec![run("s", "echo <+secrets.getValue(\"nope\")>")],
        )]))
        .await;
    assert_eq!(report.status, Status::Failed);
    assert!(h.executor.ran().is_empty());
    let message = h.events.message_of("build/s");
    assert!(message.starts_with("command:"), "{message}");
    assert!(message.contains("nope"), "{message}");

    let h = Harness::new(FakeExecutor::default());
    h.run(&pipeline(vec![stage(
        "build",
        vec![run("s", "echo <+secrets.getValue(\"x\")>")],
    )]))
    .await;
    assert!(h.events.message_of("build/s").contains("no secret store"));
}

#[tokio::test]
async fn each_step_gets_ci_variables_env_variables_and_network() {
    let mut st = step("s", "env");
    st.spec.env_variables = vec![
        ("GREETING".into(), text("hi <+pipeline.name>")),
        ("CI".into(), text("overridden")),
    ];
    st.spec.network = Some(NetworkMode::None);
    let mut h = Harness::new(FakeExecutor::default());
    h.options.codebase.insert("branch".into(), "main".into());
    let mut p = pipeline(vec![stage("build", vec![s(st), run("other", "true")])]);
    p.codebase = Some(rampart_pipeline::model::Codebase {
        connector_ref: None,
        repo_name: None,
        build: Some(CodebaseBuild::Tag(text("v1.0"))),
        clone_depth: None,
        loc: Default::default(),
    });
    h.run(&p).await;
    let process = h.executor.process("build/s");
    let env = |k: &str| process.env.get(k).cloned();
    assert_eq!(env("GREETING").as_deref(), Some("hi Pipe"));
    assert_eq!(env("CI").as_deref(), Some("overridden"));
    assert_eq!(env("HARNESS_PIPELINE_ID").as_deref(), Some("pipe"));
    assert_eq!(env("HARNESS_STAGE_ID").as_deref(), Some("build"));
    assert_eq!(env("HARNESS_BUILD_ID").as_deref(), Some("42"));
    assert_eq!(env("DRONE_WORKSPACE").as_deref(), Some("/workspace"));
    assert_eq!(env("DRONE_BRANCH").as_deref(), Some("main"));
    assert_eq!(
        env("DRONE_TAG").as_deref(),
        Some("v1.0"),
        "from the codebase build spec"
    );
    assert!(env("PATH").is_some() && env("HOME").is_some() && env("LANG").is_some());
    assert_eq!(process.network, Network::None);
    assert_eq!(process.workspace, std::path::PathBuf::from("/workspace"));
    assert_eq!(h.executor.process("build/other").network, Network::Host);
}

#[tokio::test]
async fn image_steps_need_allow_host() {
    let mut st = step("s", "make");
    st.spec.image = Some(text("golang:1.22"));
    let p = pipeline(vec![stage("build", vec![s(st)])]);
    let h = Harness::new(FakeExecutor::default());
    let report = h.run(&p).await;
    assert_eq!(report.status, Status::Failed);
    assert!(h.executor.ran().is_empty());
    let message = h.events.message_of("build/s");
    assert!(
        message.contains("golang:1.22") && message.contains("--allow-host"),
        "{message}"
    );

    let mut h = Harness::new(FakeExecutor::default());
    h.options.allow_host = true;
    assert_eq!(h.run(&p).await.status, Status::Success);
    assert_eq!(h.executor.ran(), ["build/s"]);
}

#[tokio::test]
async fn plugins_run_their_entrypoint_on_the_host_with_plugin_settings() {
    let mut plugin = step("publish", "");
    plugin.kind = StepKind::Plugin;
    plugin.spec.command = None;
    plugin.spec.image = Some(text("plugins/s3"));
    plugin.spec.entrypoint = vec![text("/bin/upload"), text("it's <+pipeline.identifier>")];
    plugin.spec.settings = vec![
        ("bucket".into(), text("my-bucket")),
        ("source-dir".into(), text("dist/<+pipeline.identifier>")),
    ];
    let mut bare = step("bare", "");
    bare.kind = StepKind::Plugin;
    bare.spec.command = None;
    bare.spec.image = Some(text("plugins/docker"));
    let mut h = Harness::new(FakeExecutor::default());
    h.options.allow_host = true;
    let report = h
        .run(&pipeline(vec![stage("build", vec![s(plugin), s(bare)])]))
        .await;
    let process = h.executor.process("build/publish");
    assert_eq!(process.script, r"exec '/bin/upload' 'it'\''s pipe'");
    assert_eq!(
        process.env.get("PLUGIN_BUCKET").map(String::as_str),
        Some("my-bucket")
    );
    assert_eq!(
        process.env.get("PLUGIN_SOURCE_DIR").map(String::as_str),
        Some("dist/pipe")
    );
    assert_eq!(h.events.status_of("build/bare"), Status::Failed);
    assert!(h.events.message_of("build/bare").contains("no entrypoint"));
    assert_eq!(report.status, Status::Failed);
}

#[tokio::test(start_paused = true)]
async fn background_steps_run_alongside_and_stop_with_their_stage() {
    let mut service = step("db", "postgres");
    service.kind = StepKind::Background;
    let h = Harness::new(
        FakeExecutor::default()
            .with(
                "build/db",
                Behaviour {
                    forever: true,
                    chunks: vec![chunk(OutputStream::Stdout, "ready\npartial")],
                    ..Behaviour::default()
                },
            )
            .with("build/test", held(5)),
    );
    let report = h
        .run(&pipeline(vec![
            stage("build", vec![s(service), run("test", "psql")]),
            stage("next", vec![run("n", "true")]),
        ]))
        .await;
    assert_eq!(report.status, Status::Success);
    assert_eq!(
        h.executor.max_in_flight(),
        2,
        "the service ran alongside the test"
    );
    assert_eq!(h.events.status_of("build/db"), Status::Success);
    assert_eq!(
        h.events.message_of("build/db"),
        "stopped at the end of the stage"
    );
    assert_eq!(h.events.logs("build/db"), ["ready", "partial"]);
    let t = trace(&h.events.all());
    let pos = |s: &str| {
        t.iter()
            .position(|e| e == s)
            .unwrap_or_else(|| panic!("{s} in {t:?}"))
    };
    assert!(pos("step_finished build/test Success") < pos("step_finished build/db Success"));
    assert!(pos("step_finished build/db Success") < pos("stage_finished build Success"));
    assert!(pos("log build/db partial") < pos("step_finished build/db Success"));
    assert_eq!(
        report
            .steps
            .iter()
            .map(|r| r.step.as_str())
            .collect::<Vec<_>>(),
        ["db", "test", "n"],
        "reports are in start order"
    );
}

#[tokio::test]
async fn executor_setup_errors_fail_the_step() {
    let h = Harness::new(FakeExecutor::default().with(
        "build/s",
        Behaviour {
            setup_error: Some("cannot create a network namespace".into()),
            ..Behaviour::default()
        },
    ));
    let report = h
        .run(&pipeline(vec![stage("build", vec![run("s", "true")])]))
        .await;
    assert_eq!(report.status, Status::Failed);
    assert_eq!(
        h.events.message_of("build/s"),
        "step build/s: cannot create a network namespace"
    );
}

#[tokio::test]
async fn pipeline_facts_are_in_scope() {
    let mut h = Harness::new(FakeExecutor::default());
    h.options.trigger.insert("event".into(), "manual".into());
    let report = h
        .run(&pipeline(vec![stage(
            "build",
            vec![run(
                "s",
                "<+pipeline.identifier> <+pipeline.name> <+pipeline.sequenceId> <+pipeline.triggerType> <+trigger.event> <+stage.name> <+step.name> [<+codebase.prNumber>]",
            )],
        )]))
        .await;
    assert_eq!(report.status, Status::Success, "{:?}", h.events.finished());
    assert_eq!(
        h.executor.process("build/s").script,
        "pipe Pipe 42 MANUAL manual build s [null]"
    );
}

#[tokio::test]
async fn group_strategies_expand_groups_and_nested_iterations_see_the_nearest() {
    let mut inner = step(
        "s",
        "echo <+matrix.os> <+strategy.iteration> <+repeat.item>",
    );
    inner.strategy = Some(Strategy::Repeat {
        times: None,
        items: Some(vec![json!("a"), json!("b")]),
        max_concurrency: Some(1),
        loc: Default::default(),
    });
    let mut g = group("g", vec![s(inner)]);
    g.strategy = Some(matrix(
        vec![("os", vec![json!("linux"), json!("mac")])],
        Some(1),
    ));
    let h = Harness::new(FakeExecutor::default());
    let report = h
        .run(&pipeline(vec![stage("build", vec![StepNode::Group(g)])]))
        .await;
    assert_eq!(report.status, Status::Success);
    assert_eq!(
        h.executor.ran(),
        [
            "build/g_0.s_0",
            "build/g_0.s_1",
            "build/g_1.s_0",
            "build/g_1.s_1"
        ]
    );
    assert_eq!(h.executor.process("build/g_0.s_1").script, "echo linux 1 b");
    assert_eq!(h.executor.process("build/g_1.s_0").script, "echo mac 0 a");
}

#[tokio::test]
async fn stage_when_conditions_see_stage_variables() {
    let mut st = stage("build", vec![run("s", "true")]);
    st.variables = vec![variable("enabled", VariableKind::String, "no")];
    st.when = Some(when(
        StatusCondition::Success,
        Some(r#"<+stage.variables.enabled> == "yes""#),
    ));
    let h = Harness::new(FakeExecutor::default());
    let report = h.run(&pipeline(vec![st])).await;
    assert_eq!(report.status, Status::Success);
    assert!(h.executor.ran().is_empty());
    assert_eq!(h.events.stage("build").0, Status::Skipped);
}

#[tokio::test(start_paused = true)]
async fn a_background_step_in_a_group_outlives_the_group() {
    let mut service = step("svc", "serve");
    service.kind = StepKind::Background;
    let mut g = group("g", vec![s(service)]);
    g.timeout = Some(timeout(1));
    let h = Harness::new(
        FakeExecutor::default()
            .with(
                "build/g.svc",
                Behaviour {
                    forever: true,
                    ..Behaviour::default()
                },
            )
            .with("build/after", held(5)),
    );
    let report = h
        .run(&pipeline(vec![stage(
            "build",
            vec![StepNode::Group(g), run("after", "use it")],
        )]))
        .await;
    assert_eq!(report.status, Status::Success);
    assert_eq!(h.executor.max_in_flight(), 2);
    assert_eq!(
        h.events.message_of("build/g.svc"),
        "stopped at the end of the stage"
    );
}
