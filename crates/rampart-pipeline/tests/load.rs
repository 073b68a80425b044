//! Loading: YAML → model, every accepted construct and every rejection.

mod common;

use std::time::Duration;

use common::*;
use rampart_pipeline::model::*;

// ---- accepted constructs -------------------------------------------------

#[test]
fn minimal_pipeline_loads_with_defaults() {
    let p = load_one(&steps(&run("hello", "echo hi")));
    assert_eq!(p.identifier, "p");
    assert_eq!(p.name, "p", "name defaults to the identifier");
    assert_eq!(p.loc, at(1, 1));
    let stage = first_stage(&p);
    assert_eq!(stage.identifier, "s");
    assert_eq!(stage.loc, at(4, 7));
    assert!(!stage.clone_codebase);
    let s = step(&p, 0);
    assert_eq!(s.identifier, "hello");
    assert_eq!(s.kind, StepKind::Run);
    assert_eq!(s.loc, at(10, 17));
    let cmd = s.spec.command.as_ref().unwrap();
    assert_eq!(cmd.raw, "echo hi");
    assert_eq!(cmd.loc, at(14, 30));
    assert!(cmd.template.is_some(), "templates are parsed at load");
    assert_eq!(s.spec.shell, Shell::Sh);
}

const FULL: &str = r#"version: 0
pipeline:
  identifier: full
  name: Full pipeline
  description: every construct
  tags: {team: ci}
  orgIdentifier: default
  projectIdentifier: proj
  allowStageExecutions: true
  timeout: 1h 30m
  properties:
    ci:
      codebase:
        connectorRef: account.github
        repoName: org/repo
        depth: 50
        prCloneStrategy: MergeCommit
        build:
          type: branch
          spec:
            branch: main
  variables:
    - name: greeting
      type: String
      value: hello
      description: what to say
    - name: count
      type: Number
      value: 3
      required: true
  stages:
    - stage:
        identifier: build
        name: Build
        type: CI
        timeout: 10m
        variables:
          - name: target
            type: String
            value: release
        when:
          pipelineStatus: Success
          condition: <+pipeline.variables.count> > 1
        failureStrategies:
          - onFailure:
              errors: [Timeout, Unknown]
              action:
                type: Retry
                spec:
                  retryCount: 2
                  retryIntervals: [1s, 5s]
                  onRetryFailure:
                    action:
                      type: Ignore
        strategy:
          matrix:
            os: [linux, mac]
            version: [1.10, 2]
            exclude:
              - os: mac
                version: 2
            maxConcurrency: 2
        spec:
          cloneCodebase: true
          sharedPaths: [/cache]
          platform: {os: Linux, arch: Amd64}
          runtime:
            type: Cloud
            spec: {}
          caching:
            enabled: false
          execution:
            steps:
              - step:
                  identifier: compile
                  name: Compile
                  type: Run
                  timeout: 90s
                  spec:
                    shell: Bash
                    image: rust:1
                    connectorRef: docker
                    command: |+
                      cargo build
                      echo done

                    envVariables:
                      B: "2"
                      A: 1
                      PORT: 8080
                    outputVariables:
                      - name: VERSION
                      - name: TOKEN
                        type: Secret
                        value: RAW_TOKEN
                    network: none
                    privileged: false
                    imagePullPolicy: IfNotPresent
                    resources:
                      limits: {memory: 1Gi, cpu: 1}
                    runAsUser: 1000
              - parallel:
                  - step:
                      identifier: svc
                      type: Background
                      spec:
                        image: redis:7
                        entrypoint: [redis-server, --port, "6380"]
                  - stepGroup:
                      identifier: checks
                      name: Checks
                      when:
                        stageStatus: All
                        condition: true
                      strategy:
                        parallelism: 3
                        maxConcurrency: 2
                      steps:
                        - step:
                            identifier: lint
                            type: Plugin
                            spec:
                              image: plugins/lint
                              settings:
                                level: strict
                                paths: [src, tests]
                                extra: {a: 1}
                        - stepGroup:
                            identifier: inner
                            steps:
                              - step:
                                  identifier: deep
                                  type: Run
                                  strategy:
                                    repeat:
                                      items: [a, b]
                                  spec:
                                    shell: Python
                                    command: print("<+repeat.item>")
                                  failureStrategies:
                                    - onFailure:
                                        errors: [AllErrors]
                                        action:
                                          type: MarkAsSuccess
    - parallel:
        - stage:
            identifier: left
            type: CI
            spec:
              execution:
                steps:
                  - step: {identifier: l, type: Run, spec: {command: "true"}}
        - stage:
            identifier: right
            type: CI
            strategy:
              repeat:
                times: 2
            spec:
              infrastructure:
                type: KubernetesDirect
                spec: {connectorRef: k8s, namespace: ci}
              execution:
                steps:
                  - step: {identifier: r, type: Run, spec: {command: "false", shell: Pwsh}}
"#;

#[test]
fn every_supported_construct_loads() {
    let p = load_one(FULL);
    assert_eq!(p.name, "Full pipeline");
    assert_eq!(p.loc, at(2, 1));
    assert_eq!(p.org_identifier.as_deref(), Some("default"));
    assert_eq!(p.project_identifier.as_deref(), Some("proj"));
    assert_eq!(
        p.timeout.as_ref().unwrap().duration,
        Duration::from_secs(5400)
    );
    assert_eq!(p.timeout.as_ref().unwrap().raw, "1h 30m");
    let cb = p.codebase.as_ref().unwrap();
    assert_eq!(cb.connector_ref.as_ref().unwrap().raw, "account.github");
    assert_eq!(cb.repo_name.as_ref().unwrap().raw, "org/repo");
    assert_eq!(cb.clone_depth, Some(50));
    assert!(matches!(&cb.build, Some(CodebaseBuild::Branch(t)) if t.raw == "main"));

    assert_eq!(p.variables.len(), 2);
    assert_eq!(p.variables[0].name, "greeting");
    assert_eq!(p.variables[0].kind, VariableKind::String);
    assert_eq!(p.variables[0].description.as_deref(), Some("what to say"));
    assert_eq!(p.variables[1].kind, VariableKind::Number);
    assert_eq!(p.variables[1].value.raw, "3");
    assert!(p.variables[1].required);

    assert_eq!(p.stages.len(), 2);
    let StageNode::Stage(build) = &p.stages[0] else {
        panic!()
    };
    assert_eq!(build.name, "Build");
    assert_eq!(
        build.timeout.as_ref().unwrap().duration,
        Duration::from_secs(600)
    );
    assert_eq!(build.variables[0].name, "target");
    let when = build.when.as_ref().unwrap();
    assert_eq!(when.status, StatusCondition::Success);
    assert_eq!(
        when.condition.as_ref().unwrap().raw,
        "<+pipeline.variables.count> > 1"
    );
    let fs = &build.failure_strategies[0];
    assert_eq!(fs.errors, vec![ErrorKind::Timeout, ErrorKind::Unknown]);
    assert_eq!(
        fs.action,
        FailureAction::Retry {
            count: 2,
            intervals: vec![Duration::from_secs(1), Duration::from_secs(5)],
            on_retry_failure: Box::new(FailureAction::Ignore),
        }
    );
    let Some(Strategy::Matrix {
        axes,
        exclude,
        max_concurrency,
        ..
    }) = &build.strategy
    else {
        panic!("{:?}", build.strategy)
    };
    assert_eq!(
        axes[0],
        (
            "os".to_string(),
            vec![serde_json::json!("linux"), serde_json::json!("mac")]
        )
    );
    assert_eq!(
        axes[1],
        (
            "version".to_string(),
            vec![serde_json::json!("1.10"), serde_json::json!(2)]
        ),
        "1.10 keeps its text"
    );
    assert_eq!(
        exclude,
        &vec![vec![
            ("os".to_string(), serde_json::json!("mac")),
            ("version".to_string(), serde_json::json!(2))
        ]]
    );
    assert_eq!(*max_concurrency, Some(2));
    assert!(build.clone_codebase);
    assert_eq!(build.shared_paths[0].raw, "/cache");

    let StepNode::Step(compile) = &build.steps[0] else {
        panic!()
    };
    assert_eq!(compile.name, "Compile");
    assert_eq!(
        compile.timeout.as_ref().unwrap().duration,
        Duration::from_secs(90)
    );
    let spec = &compile.spec;
    assert_eq!(spec.shell, Shell::Bash);
    assert_eq!(spec.image.as_ref().unwrap().raw, "rust:1");
    assert_eq!(spec.connector_ref.as_ref().unwrap().raw, "docker");
    assert_eq!(
        spec.command.as_ref().unwrap().raw,
        "cargo build\necho done\n\n",
        "|+ keeps trailing lines"
    );
    let env: Vec<(&str, &str)> = spec
        .env_variables
        .iter()
        .map(|(k, v)| (k.as_str(), v.raw.as_str()))
        .collect();
    assert_eq!(
        env,
        [("B", "2"), ("A", "1"), ("PORT", "8080")],
        "file order, values as written"
    );
    assert_eq!(spec.output_variables[0].name, "VERSION");
    assert_eq!(spec.output_variables[0].value, "VERSION");
    assert_eq!(spec.output_variables[0].kind, OutputKind::String);
    assert_eq!(spec.output_variables[1].kind, OutputKind::Secret);
    assert_eq!(spec.output_variables[1].value, "RAW_TOKEN");
    assert_eq!(spec.network, Some(NetworkMode::None));

    let StepNode::Parallel { nodes, .. } = &build.steps[1] else {
        panic!()
    };
    let StepNode::Step(svc) = &nodes[0] else {
        panic!()
    };
    assert_eq!(svc.kind, StepKind::Background);
    let entry: Vec<&str> = svc.spec.entrypoint.iter().map(|t| t.raw.as_str()).collect();
    assert_eq!(entry, ["redis-server", "--port", "6380"]);
    let StepNode::Group(checks) = &nodes[1] else {
        panic!()
    };
    assert_eq!(checks.name, "Checks");
    let gw = checks.when.as_ref().unwrap();
    assert_eq!(gw.status, StatusCondition::All);
    assert_eq!(
        gw.condition.as_ref().unwrap().raw,
        "true",
        "a YAML bool condition becomes text"
    );
    assert!(matches!(
        checks.strategy,
        Some(Strategy::Parallelism {
            count: 3,
            max_concurrency: Some(2),
            ..
        })
    ));
    let StepNode::Step(lint) = &checks.steps[0] else {
        panic!()
    };
    assert_eq!(lint.kind, StepKind::Plugin);
    let settings: Vec<(&str, &str)> = lint
        .spec
        .settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.raw.as_str()))
        .collect();
    assert_eq!(
        settings,
        [
            ("level", "strict"),
            ("paths", "src,tests"),
            ("extra", r#"{"a":1}"#)
        ]
    );
    let StepNode::Group(inner) = &checks.steps[1] else {
        panic!()
    };
    assert_eq!(inner.name, "inner");
    let StepNode::Step(deep) = &inner.steps[0] else {
        panic!()
    };
    assert_eq!(deep.spec.shell, Shell::Python);
    assert!(
        matches!(&deep.strategy, Some(Strategy::Repeat { times: None, items: Some(items), .. }) if items.len() == 2)
    );
    assert_eq!(
        deep.failure_strategies[0].action,
        FailureAction::MarkAsSuccess
    );
    assert_eq!(
        deep.failure_strategies[0].errors,
        vec![ErrorKind::AllErrors]
    );

    let StageNode::Parallel { stages, loc } = &p.stages[1] else {
        panic!()
    };
    assert_eq!(*loc, at(145, 7));
    assert_eq!(stages[0].identifier, "left");
    assert!(matches!(
        stages[1].strategy,
        Some(Strategy::Repeat {
            times: Some(2),
            items: None,
            ..
        })
    ));
    let StepNode::Step(r) = &stages[1].steps[0] else {
        panic!()
    };
    assert_eq!(r.spec.shell, Shell::Pwsh);
    assert_eq!(r.spec.command.as_ref().unwrap().raw, "false");
}

#[test]
fn full_pipeline_validates() {
    valid(FULL);
}

#[test]
fn exported_account_identifier_is_accepted_as_metadata() {
    let src = HEAD.replacen(
        "  identifier: p\n",
        "  identifier: p\n  accountIdentifier: px7xd_BFRCi-pfWPYXVjvw\n",
        1,
    ) + &" ".repeat(14)
        + "- step: {identifier: a, type: Run, spec: {command: 'true'}}\n";
    valid(&src);
}

#[test]
fn scalars_where_strings_are_expected_keep_their_text() {
    let src = steps(
        "- step:\n    identifier: a\n    type: Run\n    spec:\n      command: true\n      envVariables:\n        V: 1.10\n        N: 010\n        Q: 'x: y'\n        E:\n",
    );
    let p = load_one(&src);
    let s = step(&p, 0);
    assert_eq!(s.spec.command.as_ref().unwrap().raw, "true");
    let env: Vec<(&str, &str)> = s
        .spec
        .env_variables
        .iter()
        .map(|(k, v)| (k.as_str(), v.raw.as_str()))
        .collect();
    assert_eq!(env, [("V", "1.10"), ("N", "010"), ("Q", "x: y"), ("E", "")]);
}

#[test]
fn yaml_oddities_load() {
    // Four-space indents, flow collections, comments, block scalars, anchors.
    let src = r#"# leading comment
pipeline:
    identifier: odd   # trailing comment
    stages:
        -   stage:
                identifier: s
                type: CI
                spec:
                    execution:
                        steps:
                            - step: &base {identifier: a, type: Run, spec: {command: "echo a"}}
                            - step:
                                identifier: b
                                type: Run
                                spec:
                                    command: >-
                                        echo folded
                                        line
                                    envVariables: {X: "1", Y: [no]}
"#;
    let errs = load_errors(src);
    // Y is a list: the only problem, located at the list.
    assert_eq!(errs.len(), 1);
    check(
        &errs[0],
        19,
        63,
        "\"envVariables.Y\" must be a single value, found a list",
        None,
    );

    let fixed = src.replace("Y: [no]", "Y: 'no'");
    let p = load_one(&fixed);
    let b = step(&p, 1);
    assert_eq!(b.spec.command.as_ref().unwrap().raw, "echo folded line");
    assert_eq!(b.spec.env_variables[1].1.raw, "no");
}

#[test]
fn aliases_are_resolved() {
    let src = steps(
        "- step:\n    identifier: a\n    type: Run\n    spec:\n      command: make\n      envVariables: &env\n        A: '1'\n- step:\n    identifier: b\n    type: Run\n    spec:\n      command: make\n      envVariables: *env\n",
    );
    let p = load_one(&src);
    assert_eq!(step(&p, 1).spec.env_variables[0].0, "A");
}

#[test]
fn version_key_is_accepted_and_other_top_level_keys_are_not() {
    load_one(&format!("version: 1\n{}", steps(&run("a", "x"))));
    let e = load_error(&format!("kind: pipeline\n{}", steps(&run("a", "x"))));
    check(
        &e,
        1,
        1,
        "unknown key \"kind\" at the top level of the document",
        Some("keys allowed here: pipeline, version"),
    );
}

#[test]
fn multiple_documents_are_multiple_pipelines() {
    let one = steps(&run("a", "x"));
    let two = one.replace("identifier: p", "identifier: q");
    let src = format!("---\n{one}---\n{two}...\n---\n");
    let ps = load_ok(&src);
    assert_eq!(
        ps.iter().map(|p| p.identifier.as_str()).collect::<Vec<_>>(),
        ["p", "q"]
    );
    assert_eq!(ps[1].loc, at(17, 1));
}

#[test]
fn errors_from_every_document_are_reported() {
    let one = steps(&run("a", "x")).replace("type: Run", "type: Nope");
    let src = format!("{one}---\n{one}");
    let errs = load_errors(&src);
    assert_eq!(errs.len(), 2);
    assert_eq!(errs[0].loc, at(12, 25));
    assert_eq!(errs[1].loc, at(27, 25));
}

#[test]
fn empty_file_has_no_pipeline() {
    let e = load_error("# nothing here\n");
    check(
        &e,
        1,
        1,
        "the file holds no pipeline",
        Some("a pipeline file starts with `pipeline:`"),
    );
}

#[test]
fn other_harness_documents_are_named() {
    let e = load_error("inputSet:\n  identifier: x\n  pipeline:\n    identifier: p\n");
    check(
        &e,
        1,
        1,
        "this document is a Harness input set, not a pipeline",
        Some("pass input sets to `rampart run` with --inputs-file"),
    );
    let e = load_error("template:\n  name: t\n  type: Step\n");
    check(
        &e,
        1,
        1,
        "this document is a Harness template, not a pipeline",
        None,
    );
    let e = load_error("trigger:\n  name: t\n");
    check(
        &e,
        1,
        1,
        "this document is a Harness trigger, not a pipeline",
        None,
    );
    let e = load_error("version: 1\nkind: pipeline\nspec:\n  stages: []\n");
    check(
        &e,
        2,
        1,
        "this document looks like Harness v1 YAML (kind:, spec:), which is not supported",
        None,
    );
    let e = load_error("name: x\n");
    check(
        &e,
        1,
        1,
        "this document has no `pipeline:` key",
        Some("a Harness v0 pipeline starts with `pipeline:`"),
    );
    let e = load_error("- a\n- b\n");
    check(
        &e,
        1,
        1,
        "a pipeline document must be a mapping with a `pipeline:` key, found a list",
        None,
    );
}

#[test]
fn v1_pipelines_get_one_error() {
    let e = load_error(
        "pipeline:\n  clone:\n    enabled: false\n  stages:\n    - id: a\n      steps:\n        - run: {script: make}\n",
    );
    check(
        &e,
        1,
        1,
        "this pipeline is written in Harness's v1 YAML, which is not supported",
        None,
    );
}

// ---- YAML-level errors ---------------------------------------------------

#[test]
fn yaml_syntax_errors_are_located() {
    let src = "pipeline:\n  identifier: p\n  stages: [\n";
    let e = load_error(src);
    assert!(e.message.starts_with("invalid YAML: "), "{}", e.message);
    assert_eq!(e.loc.line, 4);
    let e = load_error("pipeline:\n  identifier: p\n   stages: x\n");
    assert!(e.message.starts_with("invalid YAML: "), "{}", e.message);
    assert_eq!(e.loc.line, 3);
}

#[test]
fn tabs_in_indentation_are_explained() {
    let e = load_error("pipeline:\n\tidentifier: p\n");
    assert_eq!(e.loc.line, 2);
    assert_eq!(
        e.help.as_deref(),
        Some("YAML indentation must use spaces, not tabs")
    );
}

#[test]
fn duplicate_keys_are_errors_at_the_second_key() {
    let src = steps(
        "- step:\n    identifier: a\n    type: Run\n    spec:\n      command: one\n      command: two\n",
    );
    let e = load_error(&src);
    check(
        &e,
        15,
        21,
        "duplicate key \"command\"",
        Some("\"command\" is already set at 14:21; keep only one"),
    );
}

#[test]
fn merge_keys_are_explained() {
    let src = steps(
        "- step:\n    <<: {type: Run}\n    identifier: a\n    type: Run\n    spec: {command: x}\n",
    );
    let e = load_error(&src);
    check(
        &e,
        11,
        19,
        "YAML merge keys (\"<<\") are not supported",
        None,
    );
}

// ---- unknown and unsupported keys ----------------------------------------

#[test]
fn unknown_step_key_lists_supported_keys() {
    let src = steps(
        "- step:\n    identifier: a\n    type: Run\n    timout: 10m\n    spec: {command: x}\n",
    );
    let e = load_error(&src);
    check(
        &e,
        13,
        19,
        "unknown key \"timout\" in a step",
        Some(
            "did you mean \"timeout\"? keys allowed here: identifier, name, description, type, spec, when, failureStrategies, strategy, timeout",
        ),
    );
}

#[test]
fn unknown_run_spec_key_lists_accepted_keys() {
    let src = steps(
        "- step:\n    identifier: a\n    type: Run\n    spec:\n      command: x\n      script: y\n",
    );
    let e = load_error(&src);
    check(
        &e,
        15,
        21,
        "unknown key \"script\" in a Run step spec",
        Some(
            "keys allowed here: command, shell, image, connectorRef, envVariables, outputVariables, privileged, imagePullPolicy, resources, runAsUser, network",
        ),
    );
}

#[test]
fn unsupported_step_types_are_named_with_the_supported_ones() {
    let src = steps(
        "- step:\n    identifier: a\n    type: BuildAndPushDockerRegistry\n    spec:\n      repo: x\n      tags: [latest]\n",
    );
    let e = load_error(&src);
    check(
        &e,
        12,
        25,
        "step type \"BuildAndPushDockerRegistry\" is not supported",
        Some(
            "supported step types: Run, Background, Plugin, SscaOrchestration, provenance, SscaArtifactSigning, SlsaVerification, SscaArtifactVerification, SscaEnforcement",
        ),
    );
    for ty in [
        "Action",
        "Bitrise",
        "RestoreCacheGCS",
        "SaveCacheS3",
        "GitClone",
        "RunTests",
        "Security",
        "ShellScript",
        "Http",
        "HarnessApproval",
    ] {
        let e = load_error(&steps(&format!(
            "- step:\n    identifier: a\n    type: {ty}\n"
        )));
        assert_eq!(e.message, format!("step type \"{ty}\" is not supported"));
    }
}

#[test]
fn unknown_step_types_get_a_suggestion() {
    let e = load_error(&steps(
        "- step:\n    identifier: a\n    type: run\n    spec: {command: x}\n",
    ));
    check(
        &e,
        12,
        25,
        "unknown step type \"run\"",
        Some(
            "did you mean \"Run\"? supported step types: Run, Background, Plugin, SscaOrchestration, provenance, SscaArtifactSigning, SlsaVerification, SscaArtifactVerification, SscaEnforcement",
        ),
    );
}

#[test]
fn non_ci_stages_are_rejected() {
    let src = "pipeline:\n  identifier: p\n  stages:\n    - stage:\n        identifier: d\n        type: Deployment\n        spec:\n          deploymentType: Kubernetes\n";
    let e = load_error(src);
    check(
        &e,
        6,
        15,
        "stage type \"Deployment\" is not supported",
        Some("supported stage types: CI"),
    );
    for ty in [
        "Approval",
        "Custom",
        "Pipeline",
        "FeatureFlag",
        "IACM",
        "SecurityTests",
    ] {
        let e = load_error(&src.replace("Deployment", ty));
        assert_eq!(e.message, format!("stage type \"{ty}\" is not supported"));
    }
    let e = load_error(&src.replace("Deployment", "Ci"));
    check(
        &e,
        6,
        15,
        "unknown stage type \"Ci\"",
        Some("did you mean \"CI\"? supported stage types: CI"),
    );
}

#[test]
fn templates_are_rejected_where_they_appear() {
    let e = load_error(&steps(
        "- step:\n    identifier: a\n    name: a\n    template:\n      templateRef: t\n      versionLabel: v1\n",
    ));
    check(
        &e,
        13,
        19,
        "step templates are not supported",
        Some("paste the template's step in place of the reference"),
    );
    let e = load_error(
        "pipeline:\n  identifier: p\n  stages:\n    - stage:\n        identifier: s\n        template:\n          templateRef: t\n",
    );
    check(&e, 6, 9, "stage templates are not supported", None);
    let e = load_error("pipeline:\n  identifier: p\n  template:\n    templateRef: t\n");
    check(&e, 3, 3, "pipeline templates are not supported", None);
    let e = load_error(&steps(
        "- stepGroup:\n    identifier: g\n    template:\n      templateRef: t\n",
    ));
    check(&e, 12, 19, "step group templates are not supported", None);
}

#[test]
fn unsupported_harness_keys_get_specific_messages() {
    let cases: &[(&str, &str, u32, u32, &str)] = &[
        (
            "  delegateSelectors: [d]\n",
            "",
            2,
            3,
            "\"delegateSelectors\" is not supported in the pipeline",
        ),
        (
            "  flowControl:\n    barriers: []\n",
            "",
            2,
            3,
            "\"flowControl\" is not supported in the pipeline",
        ),
        (
            "  notificationRules: []\n",
            "",
            2,
            3,
            "\"notificationRules\" is not supported in the pipeline",
        ),
    ];
    for (extra, _, line, col, message) in cases {
        let src = steps(&run("a", "x")).replacen("pipeline:\n", &format!("pipeline:\n{extra}"), 1);
        let e = load_error(&src);
        check(&e, *line, *col, message, None);
    }
    let src = steps(&run("a", "x")).replace(
        "          execution:\n",
        "          serviceDependencies: []\n          execution:\n",
    );
    let e = load_error(&src);
    check(
        &e,
        8,
        11,
        "\"serviceDependencies\" is not supported in a CI stage spec",
        Some(
            "service dependencies are not supported yet; start the service in a Background step instead",
        ),
    );
    let e = load_error(&steps(
        "- step:\n    identifier: a\n    type: Run\n    spec:\n      command: x\n      reports:\n        type: JUnit\n",
    ));
    check(
        &e,
        15,
        21,
        "\"reports\" is not supported in a Run step spec",
        Some("test reports are not collected yet; remove reports"),
    );
    let e = load_error(&steps(
        "- step:\n    identifier: a\n    type: Background\n    spec:\n      image: x\n      portBindings: {'80': '8080'}\n",
    ));
    check(
        &e,
        15,
        21,
        "\"portBindings\" is not supported in a Background step spec",
        None,
    );
}

#[test]
fn caching_and_build_intelligence_only_when_disabled() {
    let base = steps(&run("a", "x"));
    let off = base.replace("          execution:\n", "          caching:\n            enabled: false\n          buildIntelligence: {enabled: false}\n          execution:\n");
    load_one(&off);
    let on = base.replace(
        "          execution:\n",
        "          caching:\n            enabled: true\n          execution:\n",
    );
    let e = load_error(&on);
    check(
        &e,
        8,
        11,
        "caching is not supported yet",
        Some("set `caching: {enabled: false}` or remove caching"),
    );
    let on = base.replace(
        "          execution:\n",
        "          buildIntelligence: {}\n          execution:\n",
    );
    assert_eq!(
        load_error(&on).message,
        "build intelligence is not supported yet"
    );
}

#[test]
fn infrastructure_and_runtime_types_are_checked() {
    let base = steps(&run("a", "x"));
    for ty in ["KubernetesDirect", "VM", "UseFromStage"] {
        load_one(&base.replace("          execution:\n", &format!("          infrastructure:\n            type: {ty}\n            spec: {{anything: goes}}\n          execution:\n")));
    }
    load_one(&base.replace(
        "          execution:\n",
        "          infrastructure:\n            useFromStage: other\n          execution:\n",
    ));
    let e = load_error(&base.replace(
        "          execution:\n",
        "          infrastructure:\n            type: KubernetesHosted\n          execution:\n",
    ));
    check(
        &e,
        9,
        19,
        "infrastructure type \"KubernetesHosted\" is not supported",
        Some(
            "Rampart runs steps on its own executor; accepted (and ignored) infrastructure types: KubernetesDirect, VM, UseFromStage",
        ),
    );
    let e = load_error(&base.replace(
        "          execution:\n",
        "          runtime:\n            type: Local\n          execution:\n",
    ));
    check(&e, 9, 19, "runtime type \"Local\" is not supported", None);
    let e = load_error(&base.replace(
        "          execution:\n",
        "          platform:\n            os: Linux\n            cpu: 2\n          execution:\n",
    ));
    check(
        &e,
        10,
        13,
        "unknown key \"cpu\" in platform",
        Some("keys allowed here: os, arch"),
    );
}

#[test]
fn unsupported_failure_actions_are_named() {
    let src = steps(
        "- step:\n    identifier: a\n    type: Run\n    spec: {command: x}\n    failureStrategies:\n      - onFailure:\n          errors: [AllErrors]\n          action:\n            type: ManualIntervention\n            spec: {timeout: 1h}\n",
    );
    let e = load_error(&src);
    check(
        &e,
        18,
        33,
        "failure action \"ManualIntervention\" is not supported",
        Some("supported failure actions: Ignore, Abort, MarkAsSuccess, MarkAsFailure, Retry"),
    );
    for action in [
        "StageRollback",
        "PipelineRollback",
        "ProceedWithDefaultValues",
        "StepGroupRollback",
    ] {
        let e = load_error(&src.replace("ManualIntervention", action));
        assert_eq!(
            e.message,
            format!("failure action \"{action}\" is not supported")
        );
    }
    let e = load_error(&src.replace("ManualIntervention", "Retyr"));
    check(
        &e,
        18,
        33,
        "unknown failure action \"Retyr\"",
        Some(
            "did you mean \"Retry\"? supported failure actions: Ignore, Abort, MarkAsSuccess, MarkAsFailure, Retry",
        ),
    );
}

// ---- required fields and values -------------------------------------------

#[test]
fn steps_need_what_they_run() {
    let e = load_error(&steps(
        "- step:\n    identifier: a\n    type: Run\n    spec:\n      shell: Bash\n",
    ));
    check(
        &e,
        10,
        17,
        "Run step \"a\" has no command",
        Some("add spec.command"),
    );
    let e = load_error(&steps(
        "- step:\n    identifier: a\n    type: Background\n    spec:\n      shell: Bash\n",
    ));
    check(
        &e,
        10,
        17,
        "Background step \"a\" has nothing to run",
        Some("add spec.command, spec.entrypoint or spec.image"),
    );
    let e = load_error(&steps(
        "- step:\n    identifier: a\n    type: Plugin\n    spec:\n      settings: {a: b}\n",
    ));
    check(
        &e,
        10,
        17,
        "Plugin step \"a\" has no image",
        Some("add spec.image (or spec.uses)"),
    );
    let p = load_one(&steps(
        "- step:\n    identifier: a\n    type: Plugin\n    spec:\n      uses: some/plugin\n",
    ));
    assert_eq!(step(&p, 0).spec.uses.as_ref().unwrap().raw, "some/plugin");
    let e = load_error(&steps("- step:\n    identifier: a\n    type: Run\n"));
    check(&e, 10, 17, "Run step has no spec", Some("add spec.command"));
    let e = load_error(&steps(
        "- step:\n    identifier: a\n    spec: {command: x}\n",
    ));
    check(
        &e,
        10,
        17,
        "step has no type",
        Some(
            "add `type:`; supported step types: Run, Background, Plugin, SscaOrchestration, provenance, SscaArtifactSigning, SlsaVerification, SscaArtifactVerification, SscaEnforcement",
        ),
    );
}

#[test]
fn identifiers_follow_the_harness_rule() {
    let e = load_error(&steps(&run("my-step", "x")));
    check(
        &e,
        11,
        31,
        "identifier \"my-step\" is not valid",
        Some(
            "an identifier starts with a letter or _, followed by letters, digits, _ or $ (at most 128 characters)",
        ),
    );
    load_one(&steps(&run("_ok$1", "x")));
    let e = load_error(&steps("- step:\n    type: Run\n    spec: {command: x}\n"));
    check(&e, 10, 17, "step has no identifier", None);
    let errs = load_errors("pipeline:\n  identifier: 9p\n  stages: []\n");
    check(&errs[0], 2, 15, "identifier \"9p\" is not valid", None);
}

#[test]
fn pipeline_needs_stages_and_stages_need_steps() {
    let e = load_error("pipeline:\n  identifier: p\n");
    check(&e, 1, 1, "the pipeline has no stages", None);
    let e = load_error("pipeline:\n  identifier: p\n  stages: []\n");
    check(&e, 3, 11, "the pipeline has no stages", None);
    let e = load_error(
        "pipeline:\n  identifier: p\n  stages:\n    - stage:\n        identifier: s\n        type: CI\n",
    );
    check(
        &e,
        4,
        7,
        "stage has no spec",
        Some("add spec.execution.steps"),
    );
    let e = load_error(
        "pipeline:\n  identifier: p\n  stages:\n    - stage:\n        identifier: s\n        type: CI\n        spec:\n          execution:\n            steps: []\n",
    );
    check(&e, 9, 20, "steps is empty", None);
}

#[test]
fn shell_and_network_values_are_checked() {
    let e = load_error(&steps(
        "- step:\n    identifier: a\n    type: Run\n    spec:\n      command: x\n      shell: bash\n",
    ));
    check(
        &e,
        15,
        28,
        "\"bash\" is not a valid shell",
        Some("did you mean \"Bash\"? shell must be one of: Sh, Bash, Python, Powershell, Pwsh"),
    );
    let e = load_error(&steps(
        "- step:\n    identifier: a\n    type: Run\n    spec:\n      command: x\n      network: bridge\n",
    ));
    check(
        &e,
        15,
        30,
        "\"bridge\" is not a valid network",
        Some("network must be one of: none, host"),
    );
    let p = load_one(&steps(
        "- step:\n    identifier: a\n    type: Run\n    spec:\n      command: x\n      network: host\n",
    ));
    assert_eq!(step(&p, 0).spec.network, Some(NetworkMode::Host));
}

#[test]
fn timeouts_parse_and_bad_ones_are_located() {
    let p = load_one(&steps(
        "- step:\n    identifier: a\n    type: Run\n    timeout: 2w 1d 1h 1m 1s 1ms\n    spec: {command: x}\n",
    ));
    let t = step(&p, 0).timeout.as_ref().unwrap();
    assert_eq!(
        t.duration,
        Duration::from_millis(((14 + 1) * 86_400 + 3600 + 61) * 1000 + 1)
    );
    assert_eq!(t.loc, at(13, 28));
    let e = load_error(&steps(
        "- step:\n    identifier: a\n    type: Run\n    timeout: 10x\n    spec: {command: x}\n",
    ));
    check(
        &e,
        13,
        28,
        "timeout \"10x\" is not a valid duration: \"x\" is not a unit",
        Some("write a duration like 90s, 10m, 1h 30m, 1d or 500ms (units: ms, s, m, h, d, w)"),
    );
    let e = load_error(&steps(
        "- step:\n    identifier: a\n    type: Run\n    timeout: 0s\n    spec: {command: x}\n",
    ));
    assert_eq!(e.message, "timeout \"0s\" must be longer than zero");
    let e = load_error(&steps(
        "- step:\n    identifier: a\n    type: Run\n    timeout: <+pipeline.variables.t>\n    spec: {command: x}\n",
    ));
    assert_eq!(
        e.message,
        "\"timeout\" must be a fixed duration; expressions are not supported here"
    );
}

#[test]
fn when_is_checked() {
    let stage_when = |body: &str| {
        steps(&run("a", "x")).replace(
            "        type: CI\n",
            &format!("        type: CI\n        when:\n{body}"),
        )
    };
    let e = load_error(&stage_when("          stageStatus: Success\n"));
    check(
        &e,
        8,
        11,
        "when has no pipelineStatus",
        Some("stages use pipelineStatus, not stageStatus"),
    );
    let e = load_error(&steps(
        "- step:\n    identifier: a\n    type: Run\n    when:\n      pipelineStatus: Success\n    spec: {command: x}\n",
    ));
    check(
        &e,
        14,
        21,
        "when has no stageStatus",
        Some("steps and step groups use stageStatus, not pipelineStatus"),
    );
    let e = load_error(&steps(
        "- step:\n    identifier: a\n    type: Run\n    when:\n      condition: <+codebase.branch> == \"main\"\n    spec: {command: x}\n",
    ));
    check(
        &e,
        14,
        21,
        "when has no stageStatus",
        Some("add stageStatus: Success, Failure or All"),
    );
    let e = load_error(&stage_when("          pipelineStatus: Sometimes\n"));
    check(
        &e,
        8,
        27,
        "\"Sometimes\" is not a valid pipelineStatus",
        Some("pipelineStatus must be one of: Success, Failure, All"),
    );
    let p = load_one(&stage_when(
        "          pipelineStatus: Failure\n          condition: false\n",
    ));
    let w = first_stage(&p).when.as_ref().unwrap();
    assert_eq!(w.status, StatusCondition::Failure);
    assert_eq!(w.condition.as_ref().unwrap().raw, "false");
}

#[test]
fn failure_strategies_are_checked() {
    let fs = |body: &str| {
        steps(&format!(
            "- step:\n    identifier: a\n    type: Run\n    spec: {{command: x}}\n    failureStrategies:\n      - onFailure:\n{body}"
        ))
    };
    let e = load_error(&fs(
        "          errors: [Everything]\n          action: {type: Ignore}\n",
    ));
    check(&e, 16, 34, "\"Everything\" is not a valid error type", None);
    let e = load_error(&fs(
        "          errors: []\n          action: {type: Ignore}\n",
    ));
    check(&e, 16, 25, "onFailure.errors is empty", None);
    let e = load_error(&fs("          errors: [AllErrors]\n"));
    check(&e, 16, 25, "onFailure has no action", None);
    let e = load_error(&fs(
        "          errors: [AllErrors]\n          action:\n            type: Retry\n            spec:\n              retryIntervals: [1s]\n",
    ));
    check(
        &e,
        20,
        29,
        "Retry has no retryCount",
        Some("add retryCount: 1 (or more)"),
    );
    let e = load_error(&fs(
        "          errors: [AllErrors]\n          action:\n            type: Retry\n            spec:\n              retryCount: 0\n",
    ));
    check(
        &e,
        20,
        41,
        "\"retryCount\" must be a whole number of at least 1, found \"0\"",
        None,
    );
    let e = load_error(&fs(
        "          errors: [AllErrors]\n          action:\n            type: Retry\n            spec:\n              retryCount: 1\n              onRetryFailure:\n                action: {type: Retry}\n",
    ));
    check(&e, 22, 46, "onRetryFailure cannot retry again", None);
    let e = load_error(&fs(
        "          errors: [AllErrors]\n          action:\n            type: Retry\n            spec:\n              retryCount: 1\n              retryIntervals: [soon]\n",
    ));
    check(
        &e,
        21,
        46,
        "retry interval \"soon\" is not a valid duration: it must start with a number, found \"soon\"",
        None,
    );
    let p = load_one(&fs(
        "          errors: [AllErrors]\n          action:\n            type: Retry\n            spec:\n              retryCount: 2\n",
    ));
    assert_eq!(
        step(&p, 0).failure_strategies[0].action,
        FailureAction::Retry {
            count: 2,
            intervals: vec![],
            on_retry_failure: Box::new(FailureAction::MarkAsFailure)
        },
        "onRetryFailure defaults to failing"
    );
}

#[test]
fn strategies_are_checked() {
    let strat = |body: &str| {
        steps(&format!(
            "- step:\n    identifier: a\n    type: Run\n    spec: {{command: x}}\n    strategy:\n{body}"
        ))
    };
    let e = load_error(&strat(
        "      matrix:\n        os: [a]\n        exclude:\n          - arch: x\n",
    ));
    check(
        &e,
        18,
        27,
        "exclude names axis \"arch\", which the matrix does not have",
        Some("matrix axes: os"),
    );
    let e = load_error(&strat("      parallelism: 2\n      repeat: {times: 2}\n"));
    check(
        &e,
        16,
        21,
        "strategy has more than one of matrix, parallelism and repeat",
        None,
    );
    let e = load_error(&strat("      maxConcurrency: 2\n"));
    check(
        &e,
        15,
        21,
        "strategy has none of matrix, parallelism or repeat",
        None,
    );
    let e = load_error(&strat("      parallelism: 0\n"));
    check(
        &e,
        15,
        34,
        "\"parallelism\" must be a whole number of at least 1, found \"0\"",
        None,
    );
    let e = load_error(&strat(
        "      matrix:\n        os: <+pipeline.variables.oses>\n",
    ));
    check(
        &e,
        16,
        27,
        "matrix axis \"os\" must be a list of values, found a scalar",
        Some("axes computed by an expression are not supported yet; list the values"),
    );
    let e = load_error(&strat(
        "      repeat:\n        items: <+pipeline.variables.list.split(\",\")>\n",
    ));
    check(
        &e,
        16,
        30,
        "repeat items computed by an expression are not supported yet",
        None,
    );
    let errs = load_errors(&strat("      repeat:\n        start: 0\n        end: 3\n"));
    let messages: Vec<&str> = errs.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "\"start\" is not supported in repeat",
            "\"end\" is not supported in repeat"
        ]
    );
    let e = load_error(&strat("      repeat: {}\n"));
    check(
        &e,
        15,
        21,
        "repeat has neither times nor items",
        Some("add times: N or items: [...]"),
    );
    let e = load_error(&strat("      matrix: {}\n"));
    check(&e, 15, 21, "matrix has no axes", None);
    let e = load_error(&strat("      matrix:\n        my-axis: [a]\n"));
    check(
        &e,
        16,
        23,
        "matrix axis name \"my-axis\" is not valid",
        None,
    );
    let p = load_one(&strat(
        "      matrix:\n        cfg:\n          - {name: a, n: 1}\n          - {name: b, n: 2}\n        nodeName: <+matrix.cfg.name>\n",
    ));
    let Some(Strategy::Matrix { axes, .. }) = &step(&p, 0).strategy else {
        panic!()
    };
    assert_eq!(axes[0].1[1], serde_json::json!({"name": "b", "n": 2}));
}

#[test]
fn variables_are_checked() {
    let vars = |body: &str| {
        steps(&run("a", "x")).replacen(
            "  stages:\n",
            &format!("  variables:\n{body}  stages:\n"),
            1,
        )
    };
    let e = load_error(&vars("    - name: a\n      value: x\n"));
    check(
        &e,
        4,
        7,
        "variable \"a\" has no type",
        Some("add `type:` String, Number or Secret"),
    );
    let e = load_error(&vars(
        "    - name: a\n      type: Boolean\n      value: x\n",
    ));
    check(&e, 5, 13, "\"Boolean\" is not a valid variable type", None);
    let e = load_error(&vars("    - name: a\n      type: String\n"));
    check(
        &e,
        4,
        7,
        "variable \"a\" has no value",
        Some("add `value:`; use `value: <+input>` to ask for it at run time"),
    );
    let e = load_error(&vars(
        "    - name: a\n      type: String\n      value: x\n    - name: a\n      type: String\n      value: y\n",
    ));
    check(
        &e,
        7,
        7,
        "duplicate variable \"a\"",
        Some("\"a\" is already declared at 4:7"),
    );
    let e = load_error(&vars(
        "    - name: 1a\n      type: String\n      value: x\n",
    ));
    check(&e, 4, 13, "variable name \"1a\" is not valid", None);
    let e = load_error(&vars(
        "    - name: a\n      type: String\n      value: x\n      secret: true\n",
    ));
    check(&e, 7, 7, "unknown key \"secret\" in a variable", None);
    let p = load_one(&vars(
        "    - name: a\n      type: String\n      value: \"\"\n    - name: b\n      type: Secret\n      value:\n",
    ));
    assert_eq!(p.variables[0].value.raw, "");
    assert_eq!(
        p.variables[1].value.raw, "",
        "an empty value is an empty string"
    );
}

#[test]
fn output_variables_are_checked() {
    let outs = |body: &str| {
        steps(&format!(
            "- step:\n    identifier: a\n    type: Run\n    spec:\n      command: x\n      outputVariables:\n{body}"
        ))
    };
    let e = load_error(&outs("        - name: N\n          type: Number\n"));
    check(
        &e,
        17,
        25,
        "output variables of type Number are not supported",
        None,
    );
    let e = load_error(&outs("        - name: bad-name\n"));
    check(
        &e,
        16,
        31,
        "output variable name \"bad-name\" is not valid",
        None,
    );
    let e = load_error(&outs("        - name: A\n        - name: A\n"));
    check(&e, 17, 25, "duplicate output variable \"A\"", None);
    let e = load_error(&outs("        - name: A\n          value: $A\n"));
    assert_eq!(
        e.message,
        "output variable \"A\" captures \"$A\", which is not a shell variable name"
    );
}

#[test]
fn codebase_build_forms() {
    let cb = |build: &str| {
        format!(
            "pipeline:\n  identifier: p\n  properties:\n    ci:\n      codebase:\n        connectorRef: c\n        build:\n{build}  stages:\n    - stage:\n        identifier: s\n        type: CI\n        spec:\n          execution:\n            steps:\n              - step: {{identifier: a, type: Run, spec: {{command: x}}}}\n"
        )
    };
    let p = load_one(&cb(
        "          type: tag\n          spec:\n            tag: v1\n",
    ));
    assert!(
        matches!(&p.codebase.as_ref().unwrap().build, Some(CodebaseBuild::Tag(t)) if t.raw == "v1")
    );
    let p = load_one(&cb(
        "          type: PR\n          spec:\n            number: 12\n",
    ));
    assert!(
        matches!(&p.codebase.as_ref().unwrap().build, Some(CodebaseBuild::PullRequest(t)) if t.raw == "12")
    );
    let p = load_one(&cb(
        "          type: commitSha\n          spec: {commitSha: abc}\n",
    ));
    assert!(
        matches!(&p.codebase.as_ref().unwrap().build, Some(CodebaseBuild::CommitSha(t)) if t.raw == "abc")
    );
    let e = load_error(&cb(
        "          type: branch\n          spec:\n            tag: v1\n",
    ));
    check(
        &e,
        10,
        13,
        "unknown key \"tag\" in a branch build spec",
        Some("a branch build spec has one key: branch"),
    );
    let e = load_error(&cb(
        "          type: Branch\n          spec: {branch: main}\n",
    ));
    assert_eq!(e.message, "\"Branch\" is not a valid codebase build type");
    let p = load_one(&cb("          <+input>\n").replace(
        "        build:\n          <+input>\n",
        "        build: <+input>\n",
    ));
    assert!(p.codebase.as_ref().unwrap().build.is_none());
}

#[test]
fn expression_syntax_errors_point_into_the_field() {
    let e = load_error(&steps(&run("a", "echo <+pipeline.variables.x")));
    assert!(
        e.message.starts_with("invalid expression in \"command\": "),
        "{}",
        e.message
    );
    assert_eq!(e.loc.line, 14);
    assert!(e.loc.col >= 24, "{:?}", e.loc);
    // Inside a literal block, the line of the error is the line in the file.
    let e = load_error(&steps(
        "- step:\n    identifier: a\n    type: Run\n    spec:\n      command: |\n        echo ok\n        echo <+pipeline.variables.x\n",
    ));
    assert_eq!(e.loc.line, 16);
    assert!(e.loc.col >= 23, "{:?}", e.loc);
}

#[test]
fn wrong_shapes_are_reported_not_crashed_on() {
    let e = load_error(&steps("- step: just a string\n"));
    check(&e, 10, 23, "a step must be a mapping, found a scalar", None);
    let e = load_error("pipeline:\n  identifier: p\n  stages:\n    stage: {}\n");
    check(&e, 4, 5, "\"stages\" must be a list, found a mapping", None);
    let e = load_error(&steps(
        "- step:\n    identifier: a\n    type: Run\n    spec:\n      command: [a, b]\n",
    ));
    check(
        &e,
        14,
        30,
        "\"command\" must be a single value, found a list",
        None,
    );
    let e = load_error(&steps(
        "- step:\n    identifier: [a]\n    type: Run\n    spec: {command: x}\n",
    ));
    check(
        &e,
        11,
        31,
        "\"identifier\" must be a single value, found a list",
        None,
    );
    let e = load_error(&steps("- {}\n"));
    check(&e, 10, 17, "empty steps entry", None);
    let e = load_error(&steps(
        "- step: {identifier: a, type: Run, spec: {command: x}}\n  parallel: []\n",
    ));
    check(
        &e,
        11,
        17,
        "a steps entry holds one of step, parallel or stepGroup",
        None,
    );
}

#[test]
fn every_problem_is_reported_in_one_pass() {
    let src = steps(
        "- step:\n    identifier: a-b\n    type: Run\n    bogus: 1\n    spec:\n      shell: zsh\n- step:\n    identifier: c\n    type: Deploy\n",
    );
    let errs = load_errors(&src);
    let messages: Vec<&str> = errs.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "Run step \"a-b\" has no command",
            "identifier \"a-b\" is not valid",
            "unknown key \"bogus\" in a step",
            "\"zsh\" is not a valid shell",
            "unknown step type \"Deploy\"",
        ],
        "sorted by position"
    );
}

#[test]
fn empty_values_are_reported_not_dropped() {
    let e = load_error(&steps("- step:\n"));
    check(
        &e,
        10,
        17,
        "step is empty",
        Some("add identifier, type and spec"),
    );
    let e = load_error(&steps(
        "- step:\n    identifier: a\n    type:\n    spec: {command: x}\n",
    ));
    check(&e, 12, 23, "\"type\" is empty", None);
    let e = load_error(&steps(
        "- step:\n    identifier:\n    type: Run\n    spec: {command: x}\n",
    ));
    check(&e, 11, 29, "\"identifier\" is empty", None);
    let e = load_error(&steps(
        "- step:\n    identifier: a\n    type: Run\n    spec:\n      command:\n",
    ));
    check(&e, 10, 17, "Run step \"a\" has no command", None);
    let e = load_error("pipeline:\n  identifier: p\n  stages:\n    - stage:\n");
    check(&e, 4, 7, "stage is empty", None);
    let e = load_error(&steps(
        "- step:\n    identifier: a\n    type: Run\n    spec: {command: x}\n    strategy:\n      parallelism:\n",
    ));
    check(&e, 15, 32, "\"parallelism\" is empty", None);
    let e = load_error(&steps(
        "- step:\n    identifier: a\n    type: Run\n    spec: {command: x}\n    when:\n      stageStatus:\n",
    ));
    check(&e, 15, 32, "\"stageStatus\" is empty", None);
}

#[test]
fn an_empty_timeout_means_none() {
    let p = load_one(&steps(
        "- step:\n    identifier: a\n    type: Run\n    timeout: \"\"\n    spec: {command: x}\n",
    ));
    assert!(step(&p, 0).timeout.is_none());
}

#[test]
fn a_runtime_input_spec_keeps_its_step() {
    let p = load_one(&steps(
        "- step:\n    identifier: a\n    type: Run\n    spec: <+input>\n",
    ));
    assert_eq!(step(&p, 0).identifier, "a");
}
