//! Helpers shared by the pipeline crate's integration tests.
#![allow(dead_code)]

use rampart_core::Location;
use rampart_pipeline::{Diagnostic, Inputs, ValidPipeline, ValidateOptions, load, model, validate};

/// Lines 1-9 of every [`steps`] pipeline; its steps start on line 10.
pub const HEAD: &str = "\
pipeline:
  identifier: p
  stages:
    - stage:
        identifier: s
        type: CI
        spec:
          execution:
            steps:
";

/// A one-stage pipeline whose `steps:` list is `body`, written as if it
/// started at column 1; it is indented to column 15, so `- step:` written at
/// column 1 of line 1 of `body` lands at 10:15.
pub fn steps(body: &str) -> String {
    let mut out = HEAD.to_string();
    for line in body.lines() {
        if line.is_empty() {
            out.push('\n');
        } else {
            out.push_str(&" ".repeat(14));
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// A Run step `id` with `command`, as a [`steps`] body.
pub fn run(id: &str, command: &str) -> String {
    format!("- step:\n    identifier: {id}\n    type: Run\n    spec:\n      command: {command}\n")
}

pub fn load_ok(src: &str) -> Vec<model::Pipeline> {
    match load("p.yaml", src, None) {
        Ok(p) => p,
        Err(d) => panic!("expected the pipeline to load, got:\n{d}"),
    }
}

pub fn load_one(src: &str) -> model::Pipeline {
    let mut all = load_ok(src);
    assert_eq!(all.len(), 1, "expected one pipeline");
    all.remove(0)
}

pub fn load_with(
    src: &str,
    pairs: &[(&str, &str)],
) -> Result<Vec<model::Pipeline>, Vec<Diagnostic>> {
    let inputs = Inputs {
        values: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    load("p.yaml", src, Some(&inputs)).map_err(|d| d.items)
}

pub fn load_errors(src: &str) -> Vec<Diagnostic> {
    match load("p.yaml", src, None) {
        Ok(_) => panic!("expected load to fail:\n{src}"),
        Err(d) => {
            assert_eq!(d.file, "p.yaml");
            d.items
        }
    }
}

/// The only diagnostic of a failed load.
pub fn load_error(src: &str) -> Diagnostic {
    let mut all = load_errors(src);
    assert_eq!(all.len(), 1, "expected one diagnostic, got {all:#?}");
    all.remove(0)
}

pub fn valid(src: &str) -> ValidPipeline {
    valid_with(src, &ValidateOptions::default())
}

pub fn valid_with(src: &str, options: &ValidateOptions) -> ValidPipeline {
    match validate("p.yaml", load_one(src), options) {
        Ok(v) => v,
        Err(d) => panic!("expected the pipeline to validate, got:\n{d}"),
    }
}

pub fn invalid(src: &str) -> Vec<Diagnostic> {
    invalid_with(src, &ValidateOptions::default())
}

pub fn invalid_with(src: &str, options: &ValidateOptions) -> Vec<Diagnostic> {
    match validate("p.yaml", load_one(src), options) {
        Ok(_) => panic!("expected validation to fail:\n{src}"),
        Err(d) => d.items,
    }
}

/// The only diagnostic of a failed validation.
pub fn invalid_one(src: &str) -> Diagnostic {
    let mut all = invalid(src);
    assert_eq!(all.len(), 1, "expected one diagnostic, got {all:#?}");
    all.remove(0)
}

pub fn at(line: u32, col: u32) -> Location {
    Location::new(line, col)
}

/// Asserts a diagnostic's location, message and help.
#[track_caller]
pub fn check(d: &Diagnostic, line: u32, col: u32, message: &str, help: Option<&str>) {
    assert_eq!(d.message, message, "message of {d:#?}");
    assert_eq!(d.loc, at(line, col), "location of {d:#?}");
    if let Some(help) = help {
        assert_eq!(d.help.as_deref(), Some(help), "help of {d:#?}");
    }
}

/// The steps of the first stage of a pipeline.
pub fn first_steps(p: &model::Pipeline) -> &[model::StepNode] {
    match &p.stages[0] {
        model::StageNode::Stage(s) => &s.steps,
        model::StageNode::Parallel { stages, .. } => &stages[0].steps,
    }
}

pub fn first_stage(p: &model::Pipeline) -> &model::Stage {
    match &p.stages[0] {
        model::StageNode::Stage(s) => s,
        model::StageNode::Parallel { stages, .. } => &stages[0],
    }
}

/// The `i`th entry of the first stage's steps, which must be a step.
pub fn step(p: &model::Pipeline, i: usize) -> &model::Step {
    match &first_steps(p)[i] {
        model::StepNode::Step(s) => s,
        other => panic!("expected a step, got {other:?}"),
    }
}
