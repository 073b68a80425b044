//! Validation: expression paths, identifiers, secrets, Number variables.

mod common;

use common::*;
use rampart_core::Location;
use rampart_pipeline::model::*;
use rampart_pipeline::{ValidateOptions, validate};

/// Every supported path, each used where it is valid.
const ALL_PATHS: &str = r#"pipeline:
  identifier: paths
  variables:
    - name: v
      type: String
      value: <+pipeline.identifier>-<+pipeline.name>-<+pipeline.sequenceId>
    - name: n
      type: Number
      value: 2
  stages:
    - stage:
        identifier: one
        type: CI
        variables:
          - name: sv
            type: String
            value: <+stage.identifier> <+stage.name> <+pipeline.variables.v>
        spec:
          sharedPaths: [<+stage.variables.sv>]
          execution:
            steps:
              - step:
                  identifier: produce
                  type: Run
                  spec:
                    command: echo <+step.identifier> <+step.name> <+pipeline.executionId> <+pipeline.startTs> <+pipeline.triggerType> <+pipeline.orgIdentifier> <+pipeline.projectIdentifier>
                    outputVariables:
                      - name: OUT
              - stepGroup:
                  identifier: grp
                  strategy:
                    matrix:
                      os: [linux, mac]
                      cfg: [{arch: x86}, {arch: arm}]
                  steps:
                    - step:
                        identifier: inner
                        type: Run
                        spec:
                          command: echo <+matrix.os> <+matrix.cfg.arch> <+strategy.iteration> <+strategy.iterations> <+strategy.identifierPostFix> <+steps.produce.output.outputVariables.OUT>
                          outputVariables:
                            - name: IN
                    - step:
                        identifier: sibling
                        type: Run
                        when:
                          stageStatus: Success
                          condition: <+steps.inner.output.outputVariables.IN> == "x" && <+codebase.branch> != "main"
                        spec:
                          command: echo <+steps.grp.steps.inner.output.outputVariables.IN>
              - step:
                  identifier: consume
                  type: Run
                  strategy:
                    repeat:
                      items: [a, b]
                  spec:
                    command: echo <+repeat.item> <+execution.steps.grp.steps.inner.output.outputVariables.IN> <+steps.grp_0.steps.inner.output.outputVariables.IN>
                    envVariables:
                      C: <+codebase.commitSha><+codebase.shortCommitSha><+codebase.build.type><+codebase.prNumber>
                      T: <+trigger.event><+trigger.type><+trigger.branch><+trigger.prNumber>
    - stage:
        identifier: two
        type: CI
        when:
          pipelineStatus: Success
          condition: <+pipeline.stages.one.spec.execution.steps.produce.output.outputVariables.OUT> != ""
        spec:
          execution:
            steps:
              - step:
                  identifier: late
                  type: Run
                  spec:
                    command: |
                      echo <+pipeline.stages.one.variables.sv> <+pipeline.stages.one.name> <+pipeline.stages.one.identifier>
                      echo <+pipeline.stages.one.spec.execution.steps.grp.steps.inner.output.outputVariables.IN>
                      echo <+pipeline.variables.n + 1> <+pipeline.variables.v.concat("x")>
"#;

#[test]
fn every_supported_path_validates() {
    let v = valid(ALL_PATHS);
    assert_eq!(v.pipeline().identifier, "paths");
}

#[test]
fn unknown_pipeline_variable_lists_the_declared_ones() {
    let src = steps(&run("a", "echo <+pipeline.variables.nope>")).replacen(
        "  stages:\n",
        "  variables:\n    - name: branch\n      type: String\n      value: main\n    - name: env\n      type: String\n      value: dev\n  stages:\n",
        1,
    );
    let d = invalid_one(&src);
    check(
        &d,
        21,
        37,
        "unknown expression path \"pipeline.variables.nope\"",
        Some("pipeline variables: branch, env"),
    );
}

#[test]
fn no_variables_at_all_is_said_so() {
    let d = invalid_one(&steps(&run("a", "echo <+pipeline.variables.x>")));
    check(
        &d,
        14,
        37,
        "unknown expression path \"pipeline.variables.x\"",
        Some("there are no pipeline variables"),
    );
}

#[test]
fn unknown_roots_and_keys_are_reported() {
    let d = invalid_one(&steps(&run("a", "echo <+env.HOME>")));
    check(&d, 14, 37, "unknown expression path \"env.HOME\"", None);
    assert!(
        d.help
            .as_deref()
            .unwrap()
            .starts_with("expressions start with pipeline, stage")
    );
    let d = invalid_one(&steps(&run("a", "echo <+pipeline.sequence>")));
    assert_eq!(d.message, "unknown expression path \"pipeline.sequence\"");
    assert!(d.help.as_deref().unwrap().contains("pipeline.sequenceId"));
    let d = invalid_one(&steps(&run("a", "echo <+codebase.banch>")));
    assert!(d.help.as_deref().unwrap().contains("codebase.branch"));
    let d = invalid_one(&steps(&run("a", "echo <+trigger.prLabels>")));
    assert_eq!(d.message, "unknown expression path \"trigger.prLabels\"");
}

#[test]
fn step_outputs_must_exist_and_be_declared() {
    let body = format!(
        "{}{}",
        "- step:\n    identifier: first\n    type: Run\n    spec:\n      command: echo\n      outputVariables:\n        - name: A\n        - name: B\n",
        run(
            "second",
            "echo <+steps.first.output.outputVariables.C> <+steps.nope.output.outputVariables.A>"
        )
    );
    let errs = invalid(&steps(&body));
    assert_eq!(errs.len(), 2);
    check(
        &errs[0],
        22,
        37,
        "unknown expression path \"steps.first.output.outputVariables.C\"",
        Some("output variables of step \"first\": A, B"),
    );
    check(
        &errs[1],
        22,
        77,
        "unknown expression path \"steps.nope.output.outputVariables.A\"",
        Some("steps here: first, second"),
    );
}

#[test]
fn steps_outside_a_stage_are_rejected() {
    let src = steps(&run("a", "x")).replacen(
        "  stages:\n",
        "  variables:\n    - name: x\n      type: String\n      value: <+steps.a.output.outputVariables.X><+stage.name>\n  stages:\n",
        1,
    );
    let errs = invalid(&src);
    assert_eq!(errs.len(), 2);
    check(
        &errs[0],
        6,
        16,
        "unknown expression path \"steps.a.output.outputVariables.X\"",
        None,
    );
    assert!(
        errs[0]
            .help
            .as_deref()
            .unwrap()
            .starts_with("steps.* can only be used inside a stage")
    );
    assert_eq!(errs[1].message, "unknown expression path \"stage.name\"");
}

#[test]
fn step_is_only_available_in_steps() {
    let src = steps(&run("a", "x")).replace("        type: CI\n", "        type: CI\n        variables:\n          - name: x\n            type: String\n            value: <+step.name>\n");
    let d = invalid_one(&src);
    check(
        &d,
        10,
        22,
        "unknown expression path \"step.name\"",
        Some("step.* can only be used inside a step"),
    );
}

#[test]
fn strategy_paths_need_a_strategy() {
    let d = invalid_one(&steps(&run("a", "echo <+strategy.iteration>")));
    check(
        &d,
        14,
        37,
        "unknown expression path \"strategy.iteration\"",
        Some("strategy.* can only be used in a node that has, or is inside, a strategy"),
    );
    let d = invalid_one(&steps(&run("a", "echo <+matrix.os>")));
    assert_eq!(
        d.help.as_deref(),
        Some("matrix.* can only be used in a node that has, or is inside, a matrix strategy")
    );
    let d = invalid_one(&steps(&run("a", "echo <+repeat.item>")));
    assert_eq!(
        d.help.as_deref(),
        Some(
            "repeat.item can only be used in a node that has, or is inside, a repeat strategy with items"
        )
    );
    // A repeat with times has iterations but no items.
    let src = steps(
        "- step:\n    identifier: a\n    type: Run\n    strategy:\n      repeat: {times: 2}\n    spec:\n      command: echo <+strategy.iteration> <+repeat.item>\n",
    );
    let d = invalid_one(&src);
    check(&d, 16, 59, "unknown expression path \"repeat.item\"", None);
}

#[test]
fn matrix_axes_and_fields_are_checked() {
    let src = |cmd: &str| {
        steps(&format!(
            "- step:\n    identifier: a\n    type: Run\n    strategy:\n      matrix:\n        os: [linux]\n        cfg: [{{arch: x}}]\n    spec:\n      command: {cmd}\n"
        ))
    };
    valid(&src("<+matrix.os> <+matrix.cfg.arch>"));
    let d = invalid_one(&src("<+matrix.arch>"));
    check(
        &d,
        18,
        32,
        "unknown expression path \"matrix.arch\"",
        Some("axes of the nearest matrix: os, cfg"),
    );
    let d = invalid_one(&src("<+matrix.cfg.os>"));
    assert_eq!(
        d.help.as_deref(),
        Some("fields of these matrix values: arch")
    );
    let d = invalid_one(&src("<+matrix.os.name>"));
    assert_eq!(
        d.help.as_deref(),
        Some("this axis has no object values to read fields from")
    );
}

#[test]
fn nearest_matrix_decides_the_axes() {
    let src = steps(
        "- stepGroup:\n    identifier: g\n    strategy:\n      matrix: {outer: [a]}\n    steps:\n      - step:\n          identifier: s\n          type: Run\n          strategy:\n            matrix: {inner: [b]}\n          spec:\n            command: echo <+matrix.inner> <+matrix.outer>\n",
    );
    let d = invalid_one(&src);
    assert_eq!(d.message, "unknown expression path \"matrix.outer\"");
    assert_eq!(d.help.as_deref(), Some("axes of the nearest matrix: inner"));
}

#[test]
fn expanded_identifiers_need_a_strategy() {
    let body = format!(
        "{}{}",
        "- step:\n    identifier: p\n    type: Run\n    strategy: {parallelism: 2}\n    spec:\n      command: x\n      outputVariables: [{name: O}]\n",
        run(
            "q",
            "echo <+steps.p_1.output.outputVariables.O> <+steps.q_0.output.outputVariables.O>"
        )
    );
    let errs = invalid(&steps(&body));
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert_eq!(
        errs[0].message,
        "unknown expression path \"steps.q_0.output.outputVariables.O\""
    );
}

#[test]
fn group_steps_are_reached_through_the_group() {
    let body = format!(
        "{}{}",
        "- stepGroup:\n    identifier: g\n    steps:\n      - step:\n          identifier: s\n          type: Run\n          spec:\n            command: x\n            outputVariables: [{name: O}]\n",
        run(
            "after",
            "echo <+steps.g.steps.s.output.outputVariables.O> <+steps.s.output.outputVariables.O> <+steps.g.output.outputVariables.O>"
        )
    );
    let errs = invalid(&steps(&body));
    let messages: Vec<&str> = errs.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "unknown expression path \"steps.s.output.outputVariables.O\"",
            "unknown expression path \"steps.g.output.outputVariables.O\"",
        ]
    );
    assert_eq!(
        errs[0].help.as_deref(),
        Some("steps here: g.steps.STEP, after")
    );
    assert_eq!(
        errs[1].help.as_deref(),
        Some("\"g\" is a step group: continue with g.steps.STEP")
    );
}

#[test]
fn other_stages_are_reached_by_full_path() {
    let src = format!(
        "{}    - stage:\n        identifier: t\n        type: CI\n        spec:\n          execution:\n            steps:\n              - step:\n                  identifier: b\n                  type: Run\n                  spec:\n                    command: echo <+pipeline.stages.s.spec.execution.steps.a.output.outputVariables.X> <+pipeline.stages.nope.name>\n",
        steps(
            "- step:\n    identifier: a\n    type: Run\n    spec:\n      command: x\n      outputVariables: [{name: X}]\n"
        )
    );
    let d = invalid_one(&src);
    check(
        &d,
        26,
        106,
        "unknown expression path \"pipeline.stages.nope.name\"",
        Some("stages: s, t"),
    );
}

#[test]
fn incomplete_paths_are_reported() {
    let d = invalid_one(&steps(&run("a", "echo <+pipeline.variables>")));
    check(
        &d,
        14,
        37,
        "expression path \"pipeline.variables\" is incomplete",
        None,
    );
}

#[test]
fn computed_segments_are_not_reported_as_incomplete() {
    let src = steps(&run(
        "a",
        "echo <+pipeline.variables[<+pipeline.variables.k>]>",
    ))
    .replacen(
        "  stages:\n",
        "  variables:\n    - name: k\n      type: String\n      value: k\n  stages:\n",
        1,
    );
    valid(&src);
}

#[test]
fn secrets_need_a_store() {
    let src = steps(&run("a", "echo <+secrets.getValue(\"token\")>"));
    let d = invalid_one(&src);
    check(
        &d,
        14,
        37,
        "secrets.getValue(\"token\") needs a secret store",
        Some(
            "this version of Rampart has no secret store yet (the local encrypted store, `rampart secret set`, is not available); pass the value as a runtime input instead",
        ),
    );
    valid_with(
        &src,
        &ValidateOptions {
            secrets_available: true,
        },
    );
    let d = invalid_one(&steps(&run(
        "a",
        "echo <+ secrets.getValue(\"db_\" + <+codebase.branch>) >",
    )));
    assert_eq!(d.message, "secrets.getValue(...) needs a secret store");
}

#[test]
fn secret_variables_need_a_store() {
    let src = steps(&run("a", "x")).replacen(
        "  stages:\n",
        "  variables:\n    - name: pw\n      type: Secret\n      value: db_password\n  stages:\n",
        1,
    );
    let d = invalid_one(&src);
    check(
        &d,
        4,
        7,
        "secret variable \"pw\" needs a secret store",
        None,
    );
    valid_with(
        &src,
        &ValidateOptions {
            secrets_available: true,
        },
    );
}

#[test]
fn number_variables_hold_numbers() {
    let src = steps(&run("a", "x")).replacen(
        "  stages:\n",
        "  variables:\n    - name: n\n      type: Number\n      value: three\n  stages:\n",
        1,
    );
    let d = invalid_one(&src);
    check(
        &d,
        6,
        14,
        "variable \"n\" is a Number but its value \"three\" is not a number",
        None,
    );
    valid(&src.replace("three", "2.5"));
    valid(&src.replace("three", "<+pipeline.sequenceId>"));
}

#[test]
fn duplicate_identifiers_are_reported() {
    let body = format!("{}{}", run("a", "x"), run("a", "y"));
    let d = invalid_one(&steps(&body));
    check(&d, 15, 17, "duplicate step identifier \"a\"", None);
    assert!(
        d.help
            .as_deref()
            .unwrap()
            .starts_with("a step or step group with this identifier is already defined at 10:17")
    );

    let nested = "- stepGroup:\n    identifier: g\n    steps:\n      - step: {identifier: g, type: Run, spec: {command: x}}\n";
    let d = invalid_one(&steps(nested));
    check(&d, 13, 23, "duplicate step identifier \"g\"", None);

    let stage = "    - stage:\n        identifier: s\n        type: CI\n        spec:\n          execution:\n            steps:\n              - step: {identifier: b, type: Run, spec: {command: x}}\n";
    let src = format!(
        "{}    - parallel:\n    {}",
        steps(&run("a", "x")),
        stage.replace('\n', "\n    ").trim_end()
    );
    let d = invalid_one(&format!("{src}\n"));
    check(&d, 16, 11, "duplicate stage identifier \"s\"", None);
}

#[test]
fn same_step_identifier_in_two_stages_is_fine() {
    let src = format!(
        "{}    - stage:\n        identifier: t\n        type: CI\n        spec:\n          execution:\n            steps:\n              - step: {{identifier: a, type: Run, spec: {{command: x}}}}\n",
        steps(&run("a", "x"))
    );
    valid(&src);
}

#[test]
fn conditions_are_parsed_and_checked() {
    let src = steps(
        "- step:\n    identifier: a\n    type: Run\n    when:\n      stageStatus: Success\n      condition: <+codebase.branch> == \"main\" && <+pipeline.variables.x> == 1\n    spec: {command: x}\n",
    );
    let d = invalid_one(&src);
    check(
        &d,
        15,
        66,
        "unknown expression path \"pipeline.variables.x\"",
        None,
    );
    let src = steps(
        "- step:\n    identifier: a\n    type: Run\n    when:\n      stageStatus: Success\n      condition: <+codebase.branch> == == 1\n    spec: {command: x}\n",
    );
    let d = invalid_one(&src);
    assert!(
        d.message.starts_with("invalid condition: "),
        "{}",
        d.message
    );
    assert_eq!(d.loc.line, 15);
    assert!(d.loc.col > 32, "{:?}", d.loc);
}

#[test]
fn embedded_runtime_inputs_are_rejected() {
    let d = invalid_one(&steps(&run("a", "echo <+input>")));
    check(
        &d,
        14,
        37,
        "<+input> must be the whole value of a field",
        None,
    );
}

#[test]
fn every_problem_is_reported() {
    let d = invalid(&steps(&run(
        "a",
        "echo <+a.b> <+c.d> <+secrets.getValue(\"x\")>",
    )));
    assert_eq!(d.len(), 3);
    assert!(d.windows(2).all(|w| w[0].loc <= w[1].loc));
}

#[test]
fn hand_built_pipelines_get_their_templates_parsed() {
    let mut p = load_one(&steps(&run("a", "echo <+pipeline.identifier>")));
    let StageNode::Stage(stage) = &mut p.stages[0] else {
        panic!()
    };
    let StepNode::Step(s) = &mut stage.steps[0] else {
        panic!()
    };
    s.spec.command = Some(Text {
        raw: "echo <+pipeline.name>".to_string(),
        loc: Location::new(1, 1),
        template: None,
    });
    let v = validate("p.yaml", p, &ValidateOptions::default()).unwrap();
    assert!(
        step(v.pipeline(), 0)
            .spec
            .command
            .as_ref()
            .unwrap()
            .template
            .is_some()
    );

    let mut p = load_one(&steps(&run("a", "x")));
    let StageNode::Stage(stage) = &mut p.stages[0] else {
        panic!()
    };
    let StepNode::Step(s) = &mut stage.steps[0] else {
        panic!()
    };
    s.spec.command = Some(Text {
        raw: "echo <+pipeline.name".to_string(),
        loc: Location::new(7, 3),
        template: None,
    });
    let d = validate("p.yaml", p, &ValidateOptions::default()).unwrap_err();
    assert_eq!(d.items.len(), 1);
    assert!(d.items[0].message.starts_with("invalid expression: "));
    assert_eq!(d.items[0].loc.line, 7);
}

#[test]
fn diagnostics_display_as_file_line_col() {
    let d = validate(
        "ci.yaml",
        load_one(&steps(&run("a", "echo <+nope.x>"))),
        &ValidateOptions::default(),
    )
    .unwrap_err();
    let shown = d.to_string();
    assert!(
        shown.starts_with("ci.yaml:14:37: error: unknown expression path \"nope.x\"\n  help: "),
        "{shown}"
    );
}
