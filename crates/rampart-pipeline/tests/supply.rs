//! Supply-chain steps (SBOM, provenance, signing, verification, policy), as
//! Harness's v0 schema and docs write them.

mod common;

use common::*;
use rampart_pipeline::ValidateOptions;
use rampart_pipeline::model::*;

const PIPELINE: &str = include_str!("fixtures/supply_chain.yaml");

fn supply(p: &Pipeline, i: usize) -> (&Step, &SupplySpec) {
    let s = step(p, i);
    (
        s,
        s.supply
            .as_ref()
            .expect("a supply-chain step has a supply spec"),
    )
}

fn raw(t: &Option<Text>) -> Option<&str> {
    t.as_ref().map(|t| t.raw.as_str())
}

fn local(spec: &SupplySpec) -> (&str, Option<&str>, Option<&str>) {
    match &spec.source {
        ArtifactSource::Local {
            workspace,
            artifact_name,
            version,
        } => (workspace.raw.as_str(), raw(artifact_name), raw(version)),
        other => panic!("expected a local source, got {other:?}"),
    }
}

#[test]
fn every_supply_step_type_loads_as_harness_writes_it() {
    let v = valid_with(
        PIPELINE,
        &ValidateOptions {
            secrets_available: true,
        },
    );
    let p = v.pipeline();

    let (s, gen_) = supply(p, 0);
    assert_eq!(s.kind, StepKind::SbomOrchestration);
    assert_eq!(s.spec, StepSpec::default(), "supply steps have no Run spec");
    assert_eq!(
        local(gen_),
        ("app", Some("myapp"), Some("<+pipeline.sequenceId>"))
    );
    assert_eq!(gen_.sbom_format, Some(SbomFormat::CycloneDxJson));
    assert_eq!(gen_.ingestion, None);
    let a = gen_.attestation.as_ref().unwrap();
    assert_eq!(a.private_key.raw, "cosign_private_key");
    assert_eq!(a.private_key.loc, at(34, 37));
    assert_eq!(
        raw(&a.password),
        Some("<+secrets.getValue(\"cosign_password\")>")
    );
    assert!(gen_.verify_key.is_none() && gen_.policy.is_none());

    let (s, ingest) = supply(p, 1);
    assert_eq!(s.kind, StepKind::SbomOrchestration);
    assert_eq!(raw(&ingest.ingestion), Some("sbom/bom.json"));
    assert_eq!(ingest.sbom_format, None);
    match &ingest.source {
        ArtifactSource::Repository {
            url,
            path,
            variant_type,
            variant,
            cloned_codebase,
        } => {
            assert_eq!(url.raw, "https://github.com/org/repo");
            assert_eq!(raw(path), None);
            assert_eq!(raw(variant_type), Some("branch"));
            assert_eq!(raw(variant), Some("main"));
            assert_eq!(raw(cloned_codebase), None);
        }
        other => panic!("expected a repository source, got {other:?}"),
    }

    let (s, prov) = supply(p, 2);
    assert_eq!(s.kind, StepKind::Provenance);
    assert_eq!(local(prov), ("dist", Some("myapp"), Some("1.0")));
    assert_eq!(
        raw(&prov.attestation.as_ref().unwrap().password),
        Some("cosign_password")
    );

    let (s, sign) = supply(p, 3);
    assert_eq!(s.kind, StepKind::ArtifactSigning);
    assert_eq!(local(sign), ("dist/myapp.tar.gz", None, None));
    assert_eq!(
        sign.attestation.as_ref().unwrap().private_key.raw,
        "cosign_private_key"
    );

    let (s, slsa) = supply(p, 4);
    assert_eq!(s.kind, StepKind::SlsaVerification);
    assert_eq!(local(slsa), ("dist", None, None));
    assert_eq!(
        slsa.verify_key.as_ref().unwrap().public_key.raw,
        "cosign_public_key"
    );
    assert!(slsa.attestation.is_none());

    let (s, verify) = supply(p, 5);
    assert_eq!(s.kind, StepKind::ArtifactVerification);
    assert_eq!(
        verify.verify_key.as_ref().unwrap().public_key.raw,
        "cosign_public_key"
    );

    let (s, enforce) = supply(p, 6);
    assert_eq!(s.kind, StepKind::SbomEnforcement);
    assert_eq!(local(enforce), ("app", None, None));
    assert_eq!(
        enforce.verify_key.as_ref().unwrap().public_key.raw,
        "cosign_public_key"
    );
    let policy = enforce.policy.as_ref().unwrap();
    assert_eq!(policy.file.raw, "policies/sbom.rego");
    assert_eq!(policy.file.loc, at(130, 33));
}

#[test]
fn run_steps_have_no_supply_spec() {
    let p = load_one(&steps(&run("hello", "echo hi")));
    assert_eq!(step(&p, 0).supply, None);
}

#[test]
fn orchestration_defaults_to_spdx_and_the_workspace_root() {
    let p = load_one(&steps(
        "- step:\n    identifier: sbom\n    type: SscaOrchestration\n    spec:\n      source:\n        type: local\n        spec:\n          artifact_name: app\n      tool:\n        type: Syft\n        spec:\n          format: spdx-json\n",
    ));
    let (_, spec) = supply(&p, 0);
    assert_eq!(spec.sbom_format, Some(SbomFormat::SpdxJson));
    assert_eq!(local(spec), (".", Some("app"), None));
}

/// A one-step pipeline of `ty` whose spec is `spec` (written at column 1;
/// its first line lands on line 14, column 21).
fn supply_step(ty: &str, spec: &str) -> String {
    let mut body = format!("- step:\n    identifier: x\n    type: {ty}\n    spec:\n");
    for line in spec.lines() {
        body.push_str("      ");
        body.push_str(line);
        body.push('\n');
    }
    steps(&body)
}

#[test]
fn registry_sources_are_rejected_at_the_type() {
    for ty in ["image", "docker", "ecr", "gcr", "acr", "gar", "har"] {
        let e = load_error(&supply_step(
            "SscaOrchestration",
            &format!(
                "source:\n  type: {ty}\n  spec:\n    connector: dockerhub\n    image: org/app:1\n"
            ),
        ));
        check(
            &e,
            15,
            29,
            &format!(
                "{ty} sources need a container registry client, which Rampart does not have yet; use a `local` source (a path in the workspace) or `repository`"
            ),
            None,
        );
    }
    // SLSA verification spells registry types with a capital.
    let e = load_error(&supply_step(
        "SlsaVerification",
        "source:\n  type: Docker\n  spec:\n    image_path: org/app\n",
    ));
    assert!(
        e.message
            .starts_with("Docker sources need a container registry client"),
        "{e:?}"
    );
}

#[test]
fn a_bad_sbom_format_is_located() {
    let e = load_error(&supply_step(
        "SscaOrchestration",
        "source:\n  type: local\n  spec:\n    workspace: app\ntool:\n  type: Syft\n  spec:\n    format: spdx\n",
    ));
    check(
        &e,
        21,
        33,
        "\"spdx\" is not a valid format",
        Some("format must be one of: spdx-json, cyclonedx-json"),
    );
}

#[test]
fn a_missing_key_is_located() {
    let e = load_error(&supply_step(
        "SscaArtifactSigning",
        "source:\n  type: local\n  spec:\n    workspace: dist\nsigning:\n  type: cosign\n  spec:\n    password: pw\n",
    ));
    check(
        &e,
        21,
        25,
        "key spec has no privateKey",
        Some("add privateKey: a secret holding the cosign private key"),
    );
    let e = load_error(&supply_step(
        "SscaEnforcement",
        "source:\n  type: local\n  spec:\n    workspace: dist\nverifyAttestation:\n  type: cosign\n  spec: {}\npolicy:\n  store:\n    type: Harness\n    spec:\n      file: p.rego\n",
    ));
    check(&e, 20, 29, "key spec has no publicKey", None);
}

#[test]
fn missing_source_and_policy_are_located() {
    let errs = load_errors(&supply_step(
        "SscaEnforcement",
        "policy:\n  store:\n    type: Harness\n",
    ));
    assert_eq!(errs.len(), 2, "{errs:#?}");
    check(
        &errs[0],
        14,
        21,
        "an SscaEnforcement step spec has no source",
        None,
    );
    check(&errs[1], 16, 25, "policy store has no spec", None);
    let e = load_error(&supply_step(
        "SscaEnforcement",
        "source:\n  type: local\n  spec:\n    workspace: dist\n",
    ));
    check(
        &e,
        14,
        21,
        "an SscaEnforcement step spec has no policy",
        None,
    );
    let e = load_error(&steps("- step:\n    identifier: x\n    type: provenance\n"));
    check(&e, 10, 17, "step has no spec", Some("add spec.source"));
}

#[test]
fn unknown_fields_get_a_suggestion() {
    let e = load_error(&supply_step(
        "SscaOrchestration",
        "source:\n  type: local\n  spec:\n    workspace: app\n    artifactName: app\n",
    ));
    check(
        &e,
        18,
        25,
        "unknown key \"artifactName\" in a local source spec",
        Some(
            "did you mean \"artifact_name\"? keys allowed here: workspace, artifact_name, version, type",
        ),
    );
    let e = load_error(&supply_step(
        "SlsaVerification",
        "source:\n  type: Local\n  spec:\n    workspace: dist\nverifyAttestation:\n  type: cosign\n",
    ));
    assert_eq!(
        e.message,
        "unknown key \"verifyAttestation\" in a SlsaVerification step spec"
    );
    assert_eq!(e.loc, at(18, 21));
    assert!(
        e.help
            .as_deref()
            .is_some_and(|h| h.starts_with("did you mean \"verify_attestation\"?")),
        "{e:?}"
    );
}

#[test]
fn other_modes_and_keys_are_rejected() {
    let e = load_error(&supply_step(
        "SscaOrchestration",
        "mode: ingest\nsource:\n  type: local\n  spec:\n    workspace: app\n",
    ));
    check(&e, 14, 27, "\"ingest\" is not a valid mode", None);
    let e = load_error(&supply_step(
        "SscaOrchestration",
        "mode: ingestion\nsource:\n  type: local\n  spec:\n    workspace: app\n",
    ));
    check(&e, 14, 21, "mode ingestion needs ingestion.file", None);
    let e = load_error(&supply_step(
        "SscaOrchestration",
        "source:\n  type: local\n  spec:\n    workspace: app\ningestion:\n  file: bom.json\n",
    ));
    check(
        &e,
        18,
        21,
        "ingestion is only read with mode: ingestion",
        None,
    );
    let e = load_error(&supply_step(
        "provenance",
        "source:\n  type: local\n  spec:\n    workspace: app\nattestation:\n  type: keyless\n  spec:\n    oidcProvider: harness\n",
    ));
    check(
        &e,
        19,
        29,
        "keyless keys are not supported",
        Some("use type: cosign with a key pair"),
    );
    let e = load_error(&supply_step(
        "SscaEnforcement",
        "source:\n  type: local\n  spec:\n    workspace: app\npolicy:\n  policySets:\n    - sbom_rules\n",
    ));
    assert_eq!(e.message, "\"policySets\" is not supported in policy");
}

#[test]
fn supply_expressions_are_checked() {
    let errs = invalid(&supply_step(
        "SscaArtifactVerification",
        "source:\n  type: local\n  spec:\n    workspace: <+pipeline.variables.nope>\nverifySign:\n  type: cosign\n  spec:\n    public_key: k\n",
    ));
    assert_eq!(errs.len(), 1, "{errs:#?}");
    check(
        &errs[0],
        17,
        38,
        "unknown expression path \"pipeline.variables.nope\"",
        None,
    );
    // Key fields are expressions too: a secret needs a secret store.
    let e = invalid_one(PIPELINE);
    check(
        &e,
        35,
        37,
        "secrets.getValue(\"cosign_password\") needs a secret store",
        None,
    );
}
