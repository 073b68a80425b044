//! CycloneDX and SPDX documents: round trips through our reader, validity
//! by the reference validators (tests/validate_sbom.py), reading other
//! tools' documents, and errors for bad ones.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use rampart_supply::document::{DocumentInfo, FormatError};
use rampart_supply::sbom::{
    Component, Ecosystem, Hash, HashAlg, Parsed, Purl, Sbom, Scope, merge, scan_dir,
};
use rampart_supply::{cyclonedx, spdx};
use serde_json::{Value, json};

fn component(
    ecosystem: Ecosystem,
    group: Option<&str>,
    name: &str,
    version: &str,
    hashes: Vec<Hash>,
    licenses: &[&str],
    (scope, source_file): (Scope, &str),
) -> Component {
    // npm scopes live in the name and the purl namespace; Maven groups in
    // the group field and the purl namespace.
    let (namespace, short) = match name.rsplit_once('/') {
        Some((scope, short)) if ecosystem == Ecosystem::Npm => (Some(scope), short),
        _ => (group, name),
    };
    Component {
        ecosystem,
        name: name.to_string(),
        group: group.map(str::to_string),
        version: version.to_string(),
        purl: Purl::new(ecosystem, namespace, short, version),
        hashes,
        licenses: licenses.iter().map(|l| l.to_string()).collect(),
        scope,
        supplier: None,
        source_file: source_file.to_string(),
    }
}

fn hash(alg: HashAlg, hex: &str) -> Hash {
    Hash {
        alg,
        hex: hex.to_string(),
    }
}

/// Every field and every kind of license: listed ids, compound
/// expressions, names that are not SPDX, several per component.
fn sample() -> Sbom {
    let sha256 = "0d6a2b4c2b1e5f1c6e2a9f1e8b7c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e";
    let mut components = vec![
        component(
            Ecosystem::Cargo,
            None,
            "serde",
            "1.0.210",
            vec![hash(HashAlg::Sha256, sha256)],
            &["MIT OR Apache-2.0"],
            (Scope::Required, "Cargo.lock"),
        ),
        component(
            Ecosystem::Cargo,
            None,
            "serde_derive",
            "1.0.210",
            vec![],
            &["Apache-2.0 WITH LLVM-exception"],
            (Scope::Required, "Cargo.lock"),
        ),
        component(
            Ecosystem::Npm,
            None,
            "@types/node",
            "20.1.0",
            vec![hash(HashAlg::Sha512, &"ab".repeat(64))],
            &["MIT", "The Foo License, v2"],
            (Scope::Dev, "web/package-lock.json"),
        ),
        component(
            Ecosystem::Maven,
            Some("org.apache.commons"),
            "commons-lang3",
            "3.14.0",
            vec![
                hash(HashAlg::Sha1, &"12".repeat(20)),
                hash(HashAlg::Sha384, &"34".repeat(48)),
            ],
            &["Apache License, Version 2.0", "MIT OR Apache-2.0"],
            (Scope::Optional, "pom.xml"),
        ),
        component(
            Ecosystem::PyPI,
            None,
            "django-rest-framework",
            "3.15.1",
            vec![],
            &["BSD-3-Clause"],
            (Scope::Required, "requirements.txt"),
        ),
        component(
            Ecosystem::Go,
            Some("github.com/pkg"),
            "errors",
            "v0.9.1",
            vec![],
            &[],
            (Scope::Required, "go.mod"),
        ),
        component(
            Ecosystem::Gem,
            None,
            "rake",
            "13.2.1",
            vec![],
            &["GPL-2.0+", "LicenseRef-ours"],
            (Scope::Dev, "Gemfile.lock"),
        ),
    ];
    // Go modules keep their path in the name; the group is Maven's alone.
    components[5].name = "github.com/pkg/errors".to_string();
    components[5].group = None;
    components[0].supplier = Some("The Serde Project".to_string());
    components.sort_by(|a, b| a.purl.cmp(&b.purl));
    let purl = |name: &str| {
        components
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.purl.clone())
            .unwrap_or_else(|| panic!("no component {name}"))
    };
    let mut dependencies = BTreeMap::new();
    dependencies.insert(purl("serde"), BTreeSet::from([purl("serde_derive")]));
    dependencies.insert(
        purl("commons-lang3"),
        BTreeSet::from([purl("serde"), purl("rake")]),
    );
    let direct = BTreeSet::from([purl("serde"), purl("@types/node"), purl("commons-lang3")]);
    let mut sources: Vec<String> = components.iter().map(|c| c.source_file.clone()).collect();
    sources.sort();
    sources.dedup();
    Sbom {
        subject_name: "shop web".to_string(),
        subject_version: Some("2.1.0".to_string()),
        components,
        dependencies,
        direct,
        sources,
    }
}

fn info() -> DocumentInfo {
    DocumentInfo::new("rampart", "0.7.0", "2026-01-31T12:00:00Z".to_string()).expect("randomness")
}

#[test]
fn cyclonedx_round_trip_keeps_everything() {
    let sbom = sample();
    let text = cyclonedx::write(&sbom, &info());
    let back = cyclonedx::read(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(back, sbom);
}

#[test]
fn spdx_round_trip_keeps_everything() {
    let sbom = sample();
    let text = spdx::write(&sbom, &info());
    let back = spdx::read(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(back, sbom);
}

#[test]
fn cyclonedx_document_shape() {
    let info = info();
    let doc: Value = serde_json::from_str(&cyclonedx::write(&sample(), &info)).expect("JSON");
    assert_eq!(doc["specVersion"], "1.6");
    assert_eq!(doc["serialNumber"], format!("urn:uuid:{}", info.uuid()));
    assert_eq!(doc["metadata"]["timestamp"], "2026-01-31T12:00:00Z");
    assert_eq!(doc["metadata"]["tools"]["components"][0]["name"], "rampart");
    let components = doc["components"].as_array().expect("components");
    let by_name = |name: &str| {
        components
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no {name}"))
    };
    assert_eq!(
        by_name("serde")["licenses"],
        json!([{"expression": "MIT OR Apache-2.0"}])
    );
    assert_eq!(
        by_name("@types/node")["licenses"],
        json!([{"license": {"id": "MIT"}}, {"license": {"name": "The Foo License, v2"}}])
    );
    assert_eq!(by_name("@types/node")["scope"], "excluded");
    assert_eq!(by_name("commons-lang3")["scope"], "optional");
    assert_eq!(by_name("commons-lang3")["group"], "org.apache.commons");
    assert_eq!(by_name("serde")["hashes"][0]["alg"], "SHA-256");
    let root_ref = &doc["metadata"]["component"]["bom-ref"];
    let root_deps = doc["dependencies"]
        .as_array()
        .expect("dependencies")
        .iter()
        .find(|d| &d["ref"] == root_ref)
        .expect("the subject's dependencies");
    assert_eq!(root_deps["dependsOn"].as_array().map(Vec::len), Some(3));
}

#[test]
fn spdx_document_shape() {
    let info = info();
    let doc: Value = serde_json::from_str(&spdx::write(&sample(), &info)).expect("JSON");
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    let namespace = doc["documentNamespace"].as_str().expect("namespace");
    assert!(namespace.ends_with(&info.uuid()), "{namespace}");
    assert_eq!(doc["creationInfo"]["creators"][0], "Tool: rampart-0.7.0");
    let packages = doc["packages"].as_array().expect("packages");
    let ids: BTreeSet<&str> = packages
        .iter()
        .filter_map(|p| p["SPDXID"].as_str())
        .collect();
    assert_eq!(ids.len(), packages.len(), "package ids are unique");
    let node = packages
        .iter()
        .find(|p| p["name"] == "@types/node")
        .expect("@types/node");
    assert_eq!(
        node["licenseDeclared"],
        "(MIT) AND (LicenseRef-The-Foo-License-v2)"
    );
    let extracted = doc["hasExtractedLicensingInfos"]
        .as_array()
        .expect("extracted");
    assert!(
        extracted
            .iter()
            .any(|e| e["licenseId"] == "LicenseRef-The-Foo-License-v2"
                && e["name"] == "The Foo License, v2")
    );
}

#[test]
fn two_documents_get_different_serials() {
    let sbom = sample();
    let a: Value = serde_json::from_str(&cyclonedx::write(&sbom, &info())).expect("JSON");
    let b: Value = serde_json::from_str(&cyclonedx::write(&sbom, &info())).expect("JSON");
    assert_ne!(a["serialNumber"], b["serialNumber"]);
}

/// Runs tests/validate_sbom.py on `text`; `Err` carries its reasons.
fn validate(kind: &str, text: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join(format!("{kind}.json"));
    std::fs::write(&file, text).expect("write the document");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/validate_sbom.py");
    let hint = "install with: PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install \
                'cyclonedx-python-lib[json-validation]' spdx-tools";
    let out = Command::new("python3")
        .arg(&script)
        .arg(kind)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}); python 3 is needed, then {hint}"));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    match out.status.code() {
        Some(0) => Ok(()),
        Some(1) => Err(stderr),
        _ => panic!("the validator could not run: {stderr}\n{hint}"),
    }
}

#[test]
fn written_documents_pass_the_reference_validators() {
    let sbom = sample();
    let cdx = cyclonedx::write(&sbom, &info());
    validate("cyclonedx", &cdx).unwrap_or_else(|e| panic!("invalid CycloneDX: {e}\n{cdx}"));
    let spdx_text = spdx::write(&sbom, &info());
    validate("spdx", &spdx_text).unwrap_or_else(|e| panic!("invalid SPDX: {e}\n{spdx_text}"));
}

/// Every vendored project's components in one document: what real
/// lockfiles give (Python releases with dozens of hashes, Maven groups,
/// npm scopes, pre-release versions) must validate too.
#[test]
fn the_fixtures_documents_pass_the_reference_validators() {
    let mut purls = BTreeSet::new();
    let scans: Vec<(String, Parsed)> = common::fixture_dirs()
        .into_iter()
        .map(|dir| {
            let sbom = scan_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            purls.extend(sbom.components.iter().map(|c| c.purl.clone()));
            let edges = sbom
                .dependencies
                .iter()
                .flat_map(|(from, to)| to.iter().map(move |to| (from.clone(), to.clone())))
                .collect();
            let parsed = Parsed {
                components: sbom.components,
                edges,
                direct: sbom.direct.into_iter().collect(),
            };
            (dir.display().to_string(), parsed)
        })
        .collect();
    let sbom = merge("fixtures".to_string(), scans);
    assert_eq!(sbom.components.len(), purls.len(), "one component per purl");
    let cdx = cyclonedx::write(&sbom, &info());
    validate("cyclonedx", &cdx).unwrap_or_else(|e| panic!("invalid CycloneDX: {e}"));
    let spdx_text = spdx::write(&sbom, &info());
    validate("spdx", &spdx_text).unwrap_or_else(|e| panic!("invalid SPDX: {e}"));
}

#[test]
fn an_empty_sbom_passes_the_reference_validators() {
    let sbom = Sbom {
        subject_name: String::new(),
        ..Sbom::default()
    };
    validate("cyclonedx", &cyclonedx::write(&sbom, &info())).expect("valid CycloneDX");
    validate("spdx", &spdx::write(&sbom, &info())).expect("valid SPDX");
}

#[test]
fn the_validators_reject_broken_documents() {
    let sbom = sample();
    let mut cdx: Value = serde_json::from_str(&cyclonedx::write(&sbom, &info())).expect("JSON");
    cdx["components"][0]["scope"] = json!("sometimes");
    let reasons = validate("cyclonedx", &cdx.to_string()).expect_err("a bad scope is refused");
    assert!(reasons.contains("sometimes"), "{reasons}");

    let mut doc: Value = serde_json::from_str(&spdx::write(&sbom, &info())).expect("JSON");
    doc["packages"][1]["licenseDeclared"] = json!("LicenseRef-undeclared");
    let reasons = validate("spdx", &doc.to_string()).expect_err("an undeclared ref is refused");
    assert!(reasons.contains("LicenseRef-undeclared"), "{reasons}");
}

#[test]
fn foreign_cyclonedx_is_read_leniently() {
    // The shape Syft writes: bom-refs that are not purls, npm scopes in
    // `group`, fields we do not model, packages we cannot.
    let text = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "metadata": {"component": {"bom-ref": "root-1", "type": "file", "name": "/src"}},
        "components": [
            {"bom-ref": "a1", "type": "library", "group": "@types", "name": "node",
             "version": "20.1.0", "purl": "pkg:npm/%40types/node@20.1.0",
             "cpe": "cpe:2.3:a:*:node:20.1.0:*:*:*:*:*:*:*",
             "licenses": [{"license": {"url": "https://example.invalid/l"}}],
             "hashes": [{"alg": "MD5", "content": "00"}, {"alg": "SHA-256", "content": "AB"}]},
            {"bom-ref": "a2", "type": "library", "name": "libc6", "version": "2.36",
             "purl": "pkg:deb/debian/libc6@2.36", "supplier": {"name": "Debian"}},
            {"bom-ref": "a3", "type": "file", "name": "/etc/passwd"},
            {"bom-ref": "a4", "type": "library", "name": "left-pad", "version": "1.3.0",
             "purl": "pkg:npm/left-pad@1.3.0", "scope": "excluded"}
        ],
        "dependencies": [
            {"ref": "root-1", "dependsOn": ["a1", "a2"]},
            {"ref": "a1", "dependsOn": ["a4", "a3"]},
            {"ref": "a2", "dependsOn": ["a1"]}
        ]
    })
    .to_string();
    let mut sbom = cyclonedx::read(&text).expect("a readable document");
    assert_eq!(sbom.subject_name, "/src");
    let names: Vec<&str> = sbom.components.iter().map(|c| c.name.as_str()).collect();
    // Packages of types we do not parse stay: a policy must see them.
    assert_eq!(names, ["libc6", "@types/node", "left-pad"]);
    assert_eq!(sbom.components[0].ecosystem, Ecosystem::Other);
    assert_eq!(
        sbom.components[0].purl.as_str(),
        "pkg:deb/debian/libc6@2.36"
    );
    let libc = sbom.components.remove(0);
    assert_eq!(libc.supplier.as_deref(), Some("Debian"));
    let node = &sbom.components[0];
    assert_eq!(node.supplier, None);
    assert_eq!(node.group, None);
    assert_eq!(node.hashes, [hash(HashAlg::Sha256, "ab")]);
    assert!(node.licenses.is_empty());
    assert_eq!(sbom.components[1].scope, Scope::Dev);
    assert_eq!(
        sbom.direct,
        BTreeSet::from([node.purl.clone(), libc.purl.clone()])
    );
    assert_eq!(
        sbom.dependencies,
        BTreeMap::from([
            (
                node.purl.clone(),
                BTreeSet::from([sbom.components[1].purl.clone()])
            ),
            (libc.purl.clone(), BTreeSet::from([node.purl.clone()])),
        ])
    );
}

fn error_of(result: Result<Sbom, FormatError>) -> String {
    match result {
        Ok(sbom) => panic!("read a bad document: {sbom:?}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn bad_documents_get_clear_errors() {
    assert!(error_of(cyclonedx::read("{not json")).starts_with("not JSON"));
    assert!(error_of(spdx::read("")).starts_with("not JSON"));
    assert_eq!(
        error_of(cyclonedx::read(r#"{"spdxVersion":"SPDX-2.3"}"#)),
        "not CycloneDX JSON: bomFormat is None, not \"CycloneDX\""
    );
    assert_eq!(
        error_of(spdx::read(r#"{"bomFormat":"CycloneDX"}"#)),
        "not SPDX 2 JSON: spdxVersion is None, not \"SPDX-2.x\""
    );
    assert_eq!(
        error_of(cyclonedx::read("[1]")),
        "not CycloneDX JSON: the top level is not a JSON object"
    );
    let cdx = |components: Value| {
        json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": components})
            .to_string()
    };
    assert_eq!(
        error_of(cyclonedx::read(&cdx(json!([
            {"purl": "pkg:cargo/a@1", "name": "a"},
            {"purl": "pkg:cargo/b@1"}
        ])))),
        "missing field components[1].name"
    );
    let bad_purl = error_of(cyclonedx::read(&cdx(
        json!([{"purl": "cargo/a@1", "name": "a"}]),
    )));
    assert!(
        bad_purl.starts_with("bad purl at components[0].purl:"),
        "{bad_purl}"
    );
    assert_eq!(
        error_of(cyclonedx::read(&cdx(
            json!([{"purl": "pkg:cargo/a@1", "name": 7}])
        ))),
        "components[0].name must be a string"
    );
    assert_eq!(
        error_of(cyclonedx::read(&cdx(json!({"a": 1})))),
        "components must be an array"
    );
    assert_eq!(
        error_of(spdx::read(
            &json!({
                "spdxVersion": "SPDX-2.3",
                "packages": [{"SPDXID": "SPDXRef-a", "name": "a", "externalRefs": [
                    {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                     "referenceLocator": "npm:a"}]}]
            })
            .to_string()
        ))
        .split(':')
        .next(),
        Some("bad purl at packages[0].externalRefs[0].referenceLocator")
    );
    assert_eq!(
        error_of(spdx::read(
            &json!({"spdxVersion": "SPDX-2.3", "relationships": [{"spdxElementId": "x"}]})
                .to_string()
        )),
        "missing field relationships[0].relationshipType"
    );
}
