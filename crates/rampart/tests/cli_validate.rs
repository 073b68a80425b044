//! End-to-end tests of `rampart validate`.

mod common;

use common::{examples_dir, one_stage, rampart, write_pipeline};

#[test]
fn every_example_validates() {
    let mut files: Vec<_> = std::fs::read_dir(examples_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "examples are missing: {files:?}");
    let run: common::Run = rampart()
        .arg("validate")
        .args(&files)
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(
        run.stdout.matches(": ok: pipeline ").count(),
        files.len() + 1,
        "multi-document holds two\n{run}"
    );
}

#[test]
fn errors_are_located_and_exit_one() {
    let dir = tempfile::tempdir().unwrap();
    let steps = "              - step:\n                  identifier: a\n                  name: A\n                  type: Run\n                  spec:\n                    command: echo <+pipeline.variables.missing>\n";
    let file = write_pipeline(dir.path(), &one_stage(steps));
    let run: common::Run = rampart()
        .arg("validate")
        .arg(&file)
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, Some(1), "{run}");
    let first = run.stderr.lines().next().unwrap_or_default();
    let location = first.split(": error:").next().unwrap();
    let mut parts = location.rsplitn(3, ':');
    let col: u32 = parts
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("no column in {first:?}"));
    let line: u32 = parts
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("no line in {first:?}"));
    assert!(parts.next().unwrap().ends_with("pipeline.yaml"), "{first}");
    assert_eq!(line, 17, "{run}");
    assert!(col >= 21, "{run}");
    assert!(run.stderr.contains("pipeline.variables.missing"), "{run}");
}

#[test]
fn unsupported_features_are_named_not_generic_parse_errors() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "pipeline:\n  identifier: p\n  name: p\n  stages:\n    - stage:\n        identifier: deploy\n        name: Deploy\n        type: Deployment\n        spec: {}\n";
    let file = write_pipeline(dir.path(), yaml);
    let run: common::Run = rampart()
        .arg("validate")
        .arg(&file)
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stderr.contains("pipeline.yaml:8:"), "{run}");
    assert!(run.stderr.contains("Deployment"), "{run}");
    assert!(
        run.stderr.contains("CI"),
        "should say what is supported\n{run}"
    );
}

#[test]
fn yaml_syntax_errors_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_pipeline(dir.path(), "pipeline:\n  identifier: p\n  stages: [\n");
    let run: common::Run = rampart()
        .arg("validate")
        .arg(&file)
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stderr.contains("pipeline.yaml:"), "{run}");
    assert!(!run.stderr.contains("panicked"), "{run}");
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let run: common::Run = rampart()
        .arg("validate")
        .arg("/nonexistent/pipeline.yaml")
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, Some(2), "{run}");
    assert!(
        run.stderr
            .contains("cannot read pipeline file /nonexistent/pipeline.yaml"),
        "{run}"
    );
}
