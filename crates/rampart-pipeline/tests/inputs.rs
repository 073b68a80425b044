//! Runtime inputs: placeholders, filling, checks, inputs files.

mod common;

use std::time::Duration;

use common::*;
use rampart_pipeline::Inputs;
use rampart_pipeline::model::*;

/// A pipeline with runtime inputs in a pipeline variable, a stage variable,
/// a step command, a timeout, a boolean and a codebase build.
const SRC: &str = r#"pipeline:
  identifier: p
  properties:
    ci:
      codebase:
        connectorRef: c
        build: <+input>
  variables:
    - name: branch
      type: String
      value: <+input>.default(main)
    - name: env
      type: String
      value: <+input>.allowedValues(dev,prod)
    - name: tag
      type: String
      value: <+input>.regex(v[0-9]+)
  stages:
    - stage:
        identifier: build
        type: CI
        variables:
          - name: level
            type: String
            value: <+input>
            default: info
          - name: depth
            type: Number
            value: <+input>
        spec:
          cloneCodebase: <+input>.default(false)
          execution:
            steps:
              - parallel:
                  - step:
                      identifier: compile
                      type: Run
                      timeout: <+input>
                      spec:
                        command: <+input>.executionInput()
"#;

const ALL: &[(&str, &str)] = &[
    ("env", "prod"),
    ("tag", "v12"),
    ("build.depth", "3"),
    (
        "pipeline.stages.build.spec.execution.steps.compile.timeout",
        "5m",
    ),
    (
        "pipeline.stages.build.spec.execution.steps.compile.spec.command",
        "make all",
    ),
];

fn with(extra: &[(&str, &str)], drop: &[&str]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = ALL
        .iter()
        .filter(|(k, _)| !drop.contains(k))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    pairs
}

fn load_pairs(
    pairs: &[(String, String)],
) -> Result<Vec<Pipeline>, Vec<rampart_pipeline::Diagnostic>> {
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    load_with(SRC, &refs)
}

#[test]
fn without_inputs_placeholders_stay_and_validate() {
    let v = valid(SRC);
    let p = v.pipeline();
    assert_eq!(p.variables[0].value.raw, "<+input>.default(main)");
    let stage = first_stage(p);
    assert!(
        !stage.clone_codebase,
        "a placeholder bool is false until filled"
    );
    let StepNode::Parallel { nodes, .. } = &stage.steps[0] else {
        panic!()
    };
    let StepNode::Step(compile) = &nodes[0] else {
        panic!()
    };
    assert!(
        compile.timeout.is_none(),
        "a placeholder timeout has no duration yet"
    );
    assert_eq!(
        compile.spec.command.as_ref().unwrap().raw,
        "<+input>.executionInput()"
    );
    assert!(p.codebase.as_ref().unwrap().build.is_none());
}

#[test]
fn inputs_fill_every_kind_of_field() {
    let p = load_pairs(&with(
        &[("pipeline.stages.build.spec.cloneCodebase", "true")],
        &[],
    ))
    .unwrap()
    .remove(0);
    let vars: Vec<(&str, &str)> = p
        .variables
        .iter()
        .map(|v| (v.name.as_str(), v.value.raw.as_str()))
        .collect();
    assert_eq!(
        vars,
        [("branch", "main"), ("env", "prod"), ("tag", "v12")],
        "branch takes its default"
    );
    let stage = first_stage(&p);
    assert_eq!(
        stage.variables[0].value.raw, "info",
        "a variable's default: fills its <+input>"
    );
    assert_eq!(stage.variables[1].value.raw, "3");
    assert!(stage.clone_codebase);
    let StepNode::Parallel { nodes, .. } = &stage.steps[0] else {
        panic!()
    };
    let StepNode::Step(compile) = &nodes[0] else {
        panic!()
    };
    assert_eq!(
        compile.timeout.as_ref().unwrap().duration,
        Duration::from_secs(300)
    );
    let cmd = compile.spec.command.as_ref().unwrap();
    assert_eq!(cmd.raw, "make all");
    assert_eq!(
        cmd.loc,
        at(40, 34),
        "a filled value keeps the field's location"
    );
    assert!(cmd.template.is_some());
}

#[test]
fn variables_may_be_given_by_full_path() {
    let pairs = with(
        &[
            ("pipeline.variables.env", "dev"),
            ("pipeline.stages.build.variables.depth", "4"),
        ],
        &["env", "build.depth"],
    );
    let p = load_pairs(&pairs).unwrap().remove(0);
    assert_eq!(p.variables[1].value.raw, "dev");
    assert_eq!(first_stage(&p).variables[1].value.raw, "4");
}

#[test]
fn a_missing_input_is_located_and_says_how_to_pass_it() {
    let errs = load_pairs(&with(&[], &["env"])).unwrap_err();
    assert_eq!(errs.len(), 1, "{errs:#?}");
    check(
        &errs[0],
        14,
        14,
        "runtime input \"env\" has no value",
        Some("pass --input env=VALUE, or give the field a .default(VALUE)"),
    );
    let errs = load_pairs(&with(
        &[],
        &["pipeline.stages.build.spec.execution.steps.compile.spec.command"],
    ))
    .unwrap_err();
    check(
        &errs[0],
        40,
        34,
        "runtime input \"pipeline.stages.build.spec.execution.steps.compile.spec.command\" has no value",
        None,
    );
    let errs = load_pairs(&with(&[], &["build.depth"])).unwrap_err();
    assert_eq!(
        errs[0].message,
        "runtime input \"build.depth\" has no value"
    );
}

#[test]
fn allowed_values_and_regex_are_enforced() {
    let errs = load_pairs(&with(&[("env", "staging")], &["env"])).unwrap_err();
    check(
        &errs[0],
        14,
        14,
        "runtime input \"env\" is \"staging\", which is not an allowed value",
        Some("allowed values: dev, prod"),
    );
    let errs = load_pairs(&with(&[("tag", "12")], &["tag"])).unwrap_err();
    check(
        &errs[0],
        17,
        14,
        "runtime input \"tag\" is \"12\", which does not match the regex v[0-9]+",
        None,
    );
}

#[test]
fn an_input_matching_no_field_is_an_error() {
    let errs = load_pairs(&with(&[("brnach", "dev")], &[])).unwrap_err();
    assert_eq!(errs.len(), 1);
    check(
        &errs[0],
        1,
        1,
        "input \"brnach\" matches no <+input> field",
        None,
    );
    let help = errs[0].help.as_deref().unwrap();
    assert!(
        help.starts_with("did you mean \"branch\"? runtime inputs of this file: "),
        "{help}"
    );
    assert!(help.contains("build.level"));

    let errs = load_with(&steps(&run("a", "x")), &[("x", "1")]).unwrap_err();
    assert_eq!(
        errs[0].help.as_deref(),
        Some("this file has no <+input> fields")
    );
}

#[test]
fn filled_values_are_checked_like_written_ones() {
    let errs = load_pairs(&with(
        &[(
            "pipeline.stages.build.spec.execution.steps.compile.timeout",
            "soon",
        )],
        &["pipeline.stages.build.spec.execution.steps.compile.timeout"],
    ))
    .unwrap_err();
    check(
        &errs[0],
        38,
        32,
        "timeout \"soon\" is not a valid duration: it must start with a number, found \"soon\"",
        None,
    );
    let errs = load_pairs(&with(
        &[("pipeline.stages.build.spec.cloneCodebase", "maybe")],
        &[],
    ))
    .unwrap_err();
    check(
        &errs[0],
        31,
        26,
        "\"cloneCodebase\" must be true or false, found \"maybe\"",
        None,
    );
}

#[test]
fn object_inputs_are_filled_from_keys_below_them() {
    let pairs = with(
        &[
            ("pipeline.properties.ci.codebase.build.type", "branch"),
            ("pipeline.properties.ci.codebase.build.spec.branch", "dev"),
        ],
        &[],
    );
    let p = load_pairs(&pairs).unwrap().remove(0);
    assert!(
        matches!(&p.codebase.as_ref().unwrap().build, Some(CodebaseBuild::Branch(t)) if t.raw == "dev")
    );
}

#[test]
fn required_variables_need_a_value_when_running() {
    let src = steps(&run("a", "x")).replacen("  stages:\n", "  variables:\n    - name: r\n      type: String\n      required: true\n      value: <+input>\n  stages:\n", 1);
    let errs = load_with(&src, &[("r", "")]).unwrap_err();
    check(
        &errs[0],
        7,
        14,
        "variable \"r\" is required but has no value",
        Some("pass --input r=VALUE"),
    );
    load_with(&src, &[("r", "x")]).unwrap();
    load_one(&src);
}

#[test]
fn malformed_placeholders_are_located() {
    let e = load_error(&steps(&run("a", "<+input>.allowedValues(a")));
    check(
        &e,
        14,
        30,
        "invalid runtime input \"<+input>.allowedValues(a\": .allowedValues( has no closing \")\"",
        Some(
            "write <+input> alone, optionally followed by .default(v), .allowedValues(a,b), .regex(r) or .executionInput()",
        ),
    );
}

#[test]
fn identifiers_cannot_be_inputs() {
    let e = load_error(
        &steps(&run("<+input>", "x")).replace("identifier: <+input>", "identifier: \"<+input>\""),
    );
    check(&e, 11, 32, "an identifier cannot be a runtime input", None);
}

#[test]
fn inputs_in_every_document_share_the_keys() {
    let one = steps(&run("a", "<+input>"));
    let two = one.replace("identifier: p", "identifier: q");
    let src = format!("{one}---\n{two}");
    let ps = rampart_pipeline::load(
        "p.yaml",
        &src,
        Some(&Inputs {
            values: [(
                "pipeline.stages.s.spec.execution.steps.a.spec.command".to_string(),
                "make".to_string(),
            )]
            .into(),
        }),
    )
    .unwrap();
    assert_eq!(step(&ps[1], 0).spec.command.as_ref().unwrap().raw, "make");
}

#[test]
fn an_input_set_file_drives_a_run() {
    let set = r#"inputSet:
  identifier: nightly
  name: Nightly
  orgIdentifier: default
  projectIdentifier: proj
  pipeline:
    identifier: p
    properties:
      ci:
        codebase:
          build:
            type: tag
            spec:
              tag: v1.2
    variables:
      - name: env
        type: String
        value: dev
      - name: tag
        type: String
        value: v7
    stages:
      - stage:
          identifier: build
          type: CI
          variables:
            - name: depth
              type: Number
              value: 1
          spec:
            execution:
              steps:
                - parallel:
                    - step:
                        identifier: compile
                        type: Run
                        timeout: 1m
                        spec:
                          command: cargo test
"#;
    let inputs = Inputs::parse_file("nightly.yaml", set).unwrap();
    let p = rampart_pipeline::load("p.yaml", SRC, Some(&inputs))
        .unwrap()
        .remove(0);
    assert!(
        matches!(&p.codebase.as_ref().unwrap().build, Some(CodebaseBuild::Tag(t)) if t.raw == "v1.2")
    );
    assert_eq!(p.variables[1].value.raw, "dev");
    let StepNode::Parallel { nodes, .. } = &first_stage(&p).steps[0] else {
        panic!()
    };
    let StepNode::Step(compile) = &nodes[0] else {
        panic!()
    };
    assert_eq!(compile.spec.command.as_ref().unwrap().raw, "cargo test");
}

#[test]
fn a_flat_inputs_file_drives_a_run() {
    let flat = "env: prod\ntag: v1\nbuild.depth: 2\npipeline.stages.build.spec.execution.steps.compile.timeout: 1h\npipeline.stages.build.spec.execution.steps.compile.spec.command: make\n";
    let inputs = Inputs::parse_file("in.yaml", flat).unwrap();
    let p = rampart_pipeline::load("p.yaml", SRC, Some(&inputs))
        .unwrap()
        .remove(0);
    assert_eq!(p.variables[1].value.raw, "prod");
}

#[test]
fn absurdly_deep_object_inputs_are_refused() {
    let key = format!(
        "pipeline.properties.ci.codebase.build{}",
        ".a".repeat(10_000)
    );
    let errs = load_pairs(&with(&[(key.as_str(), "x")], &[])).unwrap_err();
    assert!(
        errs[0].message.contains("nests more than 32 levels"),
        "{}",
        errs[0].message
    );
    assert_eq!(errs[0].loc, at(7, 16));
}
