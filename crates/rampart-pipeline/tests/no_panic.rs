//! No input makes loading or validation panic: arbitrary text, YAML-ish
//! text, and mutated copies of a valid pipeline.

use proptest::prelude::*;
use rampart_pipeline::{Inputs, ValidateOptions, load, validate};

const SEED: &str = r#"version: 0
pipeline:
  identifier: seed
  properties:
    ci:
      codebase:
        connectorRef: c
        build: <+input>
  variables:
    - name: branch
      type: String
      value: <+input>.default(main).allowedValues(main,dev)
    - name: n
      type: Number
      value: 3
  stages:
    - stage:
        identifier: build
        type: CI
        when: {pipelineStatus: Success, condition: <+pipeline.variables.n> > 1}
        strategy:
          matrix:
            os: [linux, {name: mac}]
            exclude: [{os: linux}]
        failureStrategies:
          - onFailure:
              errors: [AllErrors]
              action: {type: Retry, spec: {retryCount: 2, retryIntervals: [1s], onRetryFailure: {action: {type: Abort}}}}
        spec:
          cloneCodebase: true
          execution:
            steps:
              - step: &s
                  identifier: a
                  type: Run
                  timeout: 1h 30m
                  spec:
                    shell: Bash
                    command: |+
                      echo <+matrix.os> <+secrets.getValue("x")>
                    envVariables: {A: 1, B: <+steps.a.output.outputVariables.O>}
                    outputVariables: [{name: O}]
              - parallel:
                  - stepGroup:
                      identifier: g
                      strategy: {repeat: {items: [x, y], maxConcurrency: 1}}
                      steps:
                        - step: {identifier: b, type: Plugin, spec: {image: i, settings: {k: [1, 2]}}}
                  - step: {identifier: c, type: Background, spec: {image: redis, entrypoint: [x]}}
    - parallel:
        - stage:
            identifier: other
            type: CI
            spec:
              execution:
                steps:
                  - step: {identifier: d, type: Run, spec: {command: "<+input>"}}
"#;

/// Fragments that poke at YAML and pipeline edge cases when spliced in.
const SNIPPETS: &[&str] = &[
    "\n",
    ":",
    "- ",
    "  ",
    "\t",
    "[",
    "]",
    "{",
    "}",
    "'",
    "\"",
    "#",
    "&a ",
    "*a",
    "*s",
    "!!str ",
    "|",
    ">-",
    "---\n",
    "...\n",
    "<+",
    ">",
    "<+input>",
    "<+input>.default(",
    ".regex((",
    "<+pipeline.variables.",
    "<<: *s\n",
    "? ",
    "~",
    "null",
    "\\",
    "\u{feff}",
    "é",
    "step:",
    "parallel:",
    "stepGroup:",
    "type: Deployment",
    "type: Retry",
    "timeout: 0s",
    "strategy: {}",
];

fn exercise(src: &str) {
    let inputs = Inputs {
        values: [
            ("branch".to_string(), "dev".to_string()),
            (
                "pipeline.stages.other.spec.execution.steps.d.spec.command".to_string(),
                "make".to_string(),
            ),
            (
                "pipeline.properties.ci.codebase.build.type".to_string(),
                "branch".to_string(),
            ),
        ]
        .into(),
    };
    for inputs in [None, Some(&inputs)] {
        if let Ok(pipelines) = load("f.yaml", src, inputs) {
            for p in pipelines {
                for secrets_available in [false, true] {
                    let _ = validate("f.yaml", p.clone(), &ValidateOptions { secrets_available });
                }
            }
        }
    }
    let _ = Inputs::parse_file("i.yaml", src);
}

#[derive(Debug, Clone)]
enum Edit {
    Delete { at: usize, len: usize },
    Insert { at: usize, snippet: usize },
    Replace { at: usize, with: char },
    DuplicateLine { line: usize },
    SwapLines { a: usize, b: usize },
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(at, len)| Edit::Delete { at, len }),
        (any::<usize>(), 0..SNIPPETS.len()).prop_map(|(at, snippet)| Edit::Insert { at, snippet }),
        (any::<usize>(), any::<char>()).prop_map(|(at, with)| Edit::Replace { at, with }),
        any::<usize>().prop_map(|line| Edit::DuplicateLine { line }),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines { a, b }),
    ]
}

fn apply(src: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = src.chars().collect();
    for e in edits {
        let n = chars.len().max(1);
        match e {
            Edit::Delete { at, len } => {
                let start = at % n;
                let end = (start + len).min(chars.len());
                if start < end {
                    chars.drain(start..end);
                }
            }
            Edit::Insert { at, snippet } => {
                let at = (at % (chars.len() + 1)).min(chars.len());
                let piece: Vec<char> = SNIPPETS[*snippet].chars().collect();
                chars.splice(at..at, piece);
            }
            Edit::Replace { at, with } => {
                if !chars.is_empty() {
                    let i = at % chars.len();
                    chars[i] = *with;
                }
            }
            Edit::DuplicateLine { line } | Edit::SwapLines { a: line, .. } => {
                let text: String = chars.iter().collect();
                let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
                let i = line % lines.len();
                match e {
                    Edit::SwapLines { b, .. } => {
                        let j = b % lines.len();
                        lines.swap(i, j);
                    }
                    _ => {
                        let copy = lines[i].clone();
                        lines.insert(i, copy);
                    }
                }
                chars = lines.join("\n").chars().collect();
            }
        }
    }
    chars.into_iter().collect()
}

#[test]
fn the_seed_pipeline_is_valid() {
    let pipelines = load("f.yaml", SEED, None).unwrap();
    assert_eq!(pipelines.len(), 1);
    validate(
        "f.yaml",
        pipelines[0].clone(),
        &ValidateOptions {
            secrets_available: true,
        },
    )
    .unwrap();
}

proptest! {
    // 512 cases by default; PROPTEST_CASES raises it for a longer hunt.
    #![proptest_config(ProptestConfig { cases: ProptestConfig::default().cases.max(512), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(src in any::<String>()) {
        exercise(&src);
    }

    #[test]
    fn yaml_like_text_never_panics(src in "[ \n\t:\\-\\[\\]{}'\"#&*!|>a-z0-9<+.,?~@%`]{0,300}") {
        exercise(&src);
    }

    #[test]
    fn mutated_pipelines_never_panic(edits in proptest::collection::vec(edit(), 1..6)) {
        exercise(&apply(SEED, &edits));
    }
}
