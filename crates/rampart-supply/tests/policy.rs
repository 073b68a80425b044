//! Policy gates: Harness's documented SBOM deny/allow lists and SLSA
//! provenance rules (the files under tests/policies cite the pages they
//! reproduce), evaluated over SBOMs and Statements built here.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rampart_supply::policy::{EVAL_TIME_LIMIT, PolicyError, PolicySet, Violation};
use rampart_supply::sbom::{Component, Ecosystem, Purl, Sbom, Scope};
use serde_json::json;

fn policy_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/policies")
        .join(name)
}

fn load(name: &str) -> PolicySet {
    match PolicySet::load(&policy_path(name)) {
        Ok(set) => set,
        Err(e) => panic!("{name}: {e}"),
    }
}

fn component(ecosystem: Ecosystem, name: &str, version: &str, licenses: &[&str]) -> Component {
    Component {
        ecosystem,
        name: name.to_string(),
        group: None,
        version: version.to_string(),
        purl: Purl::new(ecosystem, None, name, version),
        hashes: Vec::new(),
        licenses: licenses.iter().map(|l| l.to_string()).collect(),
        scope: Scope::Required,
        supplier: None,
        source_file: "Cargo.lock".to_string(),
    }
}

fn sbom(components: Vec<Component>) -> Sbom {
    let mut components = components;
    components.sort_by(|a, b| a.purl.cmp(&b.purl));
    Sbom {
        subject_name: "app".to_string(),
        components,
        ..Sbom::default()
    }
}

fn violation(policy: &str, rule: &str, component: Option<&str>, message: &str) -> Violation {
    Violation {
        policy: policy.to_string(),
        rule: rule.to_string(),
        component: component.map(str::to_string),
        message: message.to_string(),
    }
}

fn sorted(mut v: Vec<Violation>) -> Vec<Violation> {
    v.sort();
    v
}

fn eval_sbom(set: &PolicySet, sbom: &Sbom) -> Vec<Violation> {
    match set.evaluate_sbom(sbom) {
        Ok(v) => sorted(v),
        Err(e) => panic!("evaluation failed: {e}"),
    }
}

#[test]
fn deny_list_passes_components_outside_every_rule() {
    let set = load("harness_deny_list.rego");
    let clean = sbom(vec![
        component(Ecosystem::Npm, "curl", "3.0.1", &["MIT"]),
        component(Ecosystem::Maven, "log4j-core", "3.0.0", &["Apache-2.0"]),
        component(Ecosystem::Npm, "busybot", "3.0.0", &["MIT"]),
        component(Ecosystem::Npm, "busybot", "5.0.0", &["MIT"]),
        component(Ecosystem::Npm, "wget", "1.21.4", &["GPL-3.0-or-later"]),
        component(Ecosystem::Cargo, "serde", "1.0.200", &["MIT OR Apache-2.0"]),
    ]);
    assert_eq!(eval_sbom(&set, &clean), Vec::new());
}

#[test]
fn deny_list_reports_each_rule_a_component_matches() {
    let set = load("harness_deny_list.rego");
    let bad = sbom(vec![
        component(Ecosystem::Npm, "curl", "3.0.0", &["MIT"]),
        component(Ecosystem::Npm, "curl", "2.9", &["MIT"]),
        component(Ecosystem::Maven, "log4j-core", "2.17.1", &["Apache-2.0"]),
        component(Ecosystem::Npm, "busybot", "4.2.0-rc.1", &["MIT"]),
        component(Ecosystem::Npm, "wget", "1.21.3", &["GPL-3.0-or-later"]),
        component(Ecosystem::PyPI, "bsdlib", "0.1", &["BSD-3-Clause"]),
    ]);
    let p = "harness_deny_list.rego";
    let curl = "denied: name == \"curl\", version <= \"3.0.0\"";
    let expected = sorted(vec![
        violation(p, "deny_list[0]", Some("pkg:npm/curl@3.0.0"), curl),
        violation(p, "deny_list[0]", Some("pkg:npm/curl@2.9"), curl),
        violation(
            p,
            "deny_list[1]",
            Some("pkg:maven/log4j-core@2.17.1"),
            "denied: name ~ \".*log4j.*\", version < \"3.0.0\"",
        ),
        violation(
            p,
            "deny_list[2]",
            Some("pkg:npm/busybot@4.2.0-rc.1"),
            "denied: name == \"busybot\", version >< \"3.0.0,5.0.0\"",
        ),
        violation(
            p,
            "deny_list[3]",
            Some("pkg:npm/wget@1.21.3"),
            "denied: name == \"wget\", version ! \"1.21.4\"",
        ),
        violation(
            p,
            "deny_list[4]",
            Some("pkg:pypi/bsdlib@0.1"),
            "denied: license == \"BSD-3-Clause\"",
        ),
    ]);
    let got = eval_sbom(&set, &bad);
    assert_eq!(got, expected);
    assert_eq!(
        got.iter()
            .find(|v| v.rule == "deny_list[4]")
            .map(ToString::to_string),
        Some(
            "harness_deny_list.rego: deny_list[4]: pkg:pypi/bsdlib@0.1: denied: license == \"BSD-3-Clause\""
                .to_string()
        )
    );
}

/// An operator, its operand, and versions with whether each is denied.
type OperatorCase<'a> = (&'a str, &'a str, &'a [(&'a str, bool)]);

#[test]
fn version_operators_follow_harness_table() {
    // One rule per operator of the page's "Version Operators" table.
    let cases: &[OperatorCase<'_>] = &[
        ("==", "1.2.3", &[("1.2.3", true), ("1.2.4", false)]),
        ("!=", "1.2.3", &[("1.2.3", false), ("1.2.4", true)]),
        (">", "1.2.3", &[("1.2.3", false), ("1.10.0", true)]),
        ("<", "1.2.3", &[("1.2.3", false), ("1.2", true)]),
        (">=", "1.2.3", &[("1.2.3", true), ("1.2.2", false)]),
        ("<=", "1.2.3", &[("1.2.3", true), ("1.2.3.1", false)]),
        (
            "><",
            "1.2,2.3.4",
            &[("1.2.0", false), ("2.0", true), ("2.3.4", false)],
        ),
        (">=<", "1.2,2.3.4", &[("1.2.0", true), ("2.3.4", false)]),
        ("><=", "1.2,2.3.4", &[("1.2.0", false), ("2.3.4", true)]),
        (
            ">=<=",
            "1.2,2.3.4",
            &[("1.2.0", true), ("2.3.4", true), ("2.3.5", false)],
        ),
        ("~", "^1\\.2\\.", &[("1.2.9", true), ("11.2.9", false)]),
    ];
    for (operator, value, versions) in cases {
        let rego = format!(
            "package sbom\ndeny_list := fill_default_deny_rules([{{\"name\": {{\"value\": \"lib\", \"operator\": \"==\"}}, \"version\": {{\"value\": {value:?}, \"operator\": {operator:?}}}}}])\n"
        );
        let set = match PolicySet::from_sources(vec![("ops.rego".to_string(), rego)]) {
            Ok(set) => set,
            Err(e) => panic!("{operator}: {e}"),
        };
        for (version, denied) in *versions {
            let got = eval_sbom(
                &set,
                &sbom(vec![component(Ecosystem::Npm, "lib", version, &[])]),
            );
            assert_eq!(
                !got.is_empty(),
                *denied,
                "{version} {operator} {value}: {got:?}"
            );
        }
    }
}

#[test]
fn allow_list_of_licenses_and_purls() {
    let set = load("harness_allow_list.rego");
    let p = "harness_allow_list.rego";
    let clean = sbom(vec![
        component(Ecosystem::Cargo, "serde", "1.0.200", &["MIT", "Apache-2.0"]),
        component(Ecosystem::Npm, "left-pad", "1.3.0", &["MIT"]),
    ]);
    assert_eq!(eval_sbom(&set, &clean), Vec::new());
    let bad = sbom(vec![
        component(
            Ecosystem::Cargo,
            "serde",
            "1.0.200",
            &["MIT", "GPL-3.0-only"],
        ),
        component(Ecosystem::Cargo, "nolicense", "0.1.0", &[]),
        component(Ecosystem::PyPI, "requests", "2.32.3", &["Apache-2.0"]),
    ]);
    let expected = sorted(vec![
        violation(
            p,
            "allow_list.licenses",
            Some("pkg:cargo/serde@1.0.200"),
            "license \"GPL-3.0-only\" is not in allow_list.licenses",
        ),
        violation(
            p,
            "allow_list.licenses",
            Some("pkg:cargo/nolicense@0.1.0"),
            "has no license, and allow_list.licenses admits only the licenses it lists",
        ),
        violation(
            p,
            "allow_list.purls",
            Some("pkg:pypi/requests@2.32.3"),
            "purl \"pkg:pypi/requests@2.32.3\" is not in allow_list.purls",
        ),
    ]);
    assert_eq!(eval_sbom(&set, &bad), expected);
}

#[test]
fn allow_list_of_suppliers_admits_a_listed_supplier_only() {
    let set = load("harness_allow_suppliers.rego");
    let mut listed = component(Ecosystem::Other, "openssl-libs", "3.0.7", &[]);
    listed.supplier = Some("Red Hat, Inc.".to_string());
    let mut other = component(Ecosystem::Other, "zlib", "1.2.13", &[]);
    other.supplier = Some("Some Vendor".to_string());
    let got = eval_sbom(&set, &sbom(vec![listed, other]));
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].component.as_deref(), Some("pkg:generic/zlib@1.2.13"));
    assert_eq!(got[0].rule, "allow_list.suppliers");
}

#[test]
fn allow_list_of_suppliers_fails_components_without_one() {
    let set = load("harness_allow_suppliers.rego");
    let got = eval_sbom(
        &set,
        &sbom(vec![component(
            Ecosystem::Cargo,
            "serde",
            "1.0.200",
            &["MIT"],
        )]),
    );
    assert_eq!(
        got,
        vec![violation(
            "harness_allow_suppliers.rego",
            "allow_list.suppliers",
            Some("pkg:cargo/serde@1.0.200"),
            "has no supplier, and allow_list.suppliers admits only the suppliers it lists",
        )]
    );
}

#[test]
fn policy_keeping_harness_script_defines_its_own_fill_helper() {
    // A file that keeps the enforcement part of Harness's sample defines
    // fill_default_deny_rules itself (null defaults for unset attributes);
    // Rampart must not define it again, and null conditions match anything.
    let rego = r#"package sbom
import future.keywords.if
deny_list := fill_default_deny_rules([{"name": {"value": "curl", "operator": "=="}}])
fill_default_deny_rules(obj) := list if {
	defaults := {"name": {"value": null, "operator": null}, "version": {"value": null, "operator": null}}
	list := [x | x := object.union(defaults, obj[_])]
}
"#;
    let set = match PolicySet::from_sources(vec![("full.rego".to_string(), rego.to_string())]) {
        Ok(set) => set,
        Err(e) => panic!("{e}"),
    };
    let got = eval_sbom(
        &set,
        &sbom(vec![component(Ecosystem::Npm, "curl", "8.0.0", &[])]),
    );
    assert_eq!(
        got,
        vec![violation(
            "full.rego",
            "deny_list[0]",
            Some("pkg:npm/curl@8.0.0"),
            "denied: name == \"curl\"",
        )]
    );
}

#[test]
fn plain_deny_rules_apply_to_sboms() {
    let rego = r#"package custom
import rego.v1
deny contains msg if {
	some c in input
	startswith(c.packageName, "evil-")
	msg := sprintf("%s is banned", [c.purl])
}
"#;
    let set = match PolicySet::from_sources(vec![("custom.rego".to_string(), rego.to_string())]) {
        Ok(set) => set,
        Err(e) => panic!("{e}"),
    };
    let got = eval_sbom(
        &set,
        &sbom(vec![
            component(Ecosystem::Npm, "evil-pkg", "1.0.0", &[]),
            component(Ecosystem::Npm, "good", "1.0.0", &[]),
        ]),
    );
    assert_eq!(
        got,
        vec![violation(
            "custom.rego",
            "deny",
            None,
            "pkg:npm/evil-pkg@1.0.0 is banned"
        )]
    );
    assert_eq!(
        got[0].to_string(),
        "custom.rego: deny: pkg:npm/evil-pkg@1.0.0 is banned"
    );
}

fn statement(repo: &str, branch: &str, trigger: &str, builder: &str) -> serde_json::Value {
    json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "app", "digest": {"sha256": "ab".repeat(32)}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": "https://rampart.example/pipeline@v1",
                "externalParameters": {
                    "codeMetadata": {"repositoryURL": repo, "branch": branch},
                    "trigger": trigger,
                },
            },
            "runDetails": {"builder": {"id": builder}},
        },
    })
}

fn eval_provenance(set: &PolicySet, statement: &serde_json::Value) -> Vec<Violation> {
    match set.evaluate_provenance(statement) {
        Ok(v) => sorted(v),
        Err(e) => panic!("evaluation failed: {e}"),
    }
}

const REPO: &str = "https://github.com/abc/abc-sample";
const BUILDER: &str = "https://rampart.example/builder@v1";

#[test]
fn provenance_repo_and_branch() {
    let set = load("slsa_repo_branch.rego");
    let p = "slsa_repo_branch.rego";
    assert_eq!(
        eval_provenance(&set, &statement(REPO, "main", "push", BUILDER)),
        Vec::new()
    );
    assert_eq!(
        eval_provenance(&set, &statement(REPO, "dev", "push", BUILDER)),
        vec![violation(
            p,
            "deny",
            None,
            "Branch verification failed in provenance"
        )]
    );
    assert_eq!(
        eval_provenance(
            &set,
            &statement("https://github.com/evil/fork", "dev", "push", BUILDER)
        ),
        sorted(vec![
            violation(p, "deny", None, "Branch verification failed in provenance"),
            violation(
                p,
                "deny",
                None,
                "Repository verification failed in Provenance"
            ),
        ])
    );
}

#[test]
fn provenance_trigger_and_builder_from_a_directory() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for name in ["slsa_trigger.rego", "slsa_builder.rego"] {
        std::fs::copy(policy_path(name), dir.path().join(name)).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(dir.path().join("README.md"), "not a policy").unwrap_or_else(|e| panic!("{e}"));
    let set = match PolicySet::load(dir.path()) {
        Ok(set) => set,
        Err(e) => panic!("{e}"),
    };
    assert!(!set.is_empty());
    assert_eq!(
        eval_provenance(&set, &statement(REPO, "main", "push", BUILDER)),
        Vec::new()
    );
    assert_eq!(
        eval_provenance(
            &set,
            &statement(REPO, "main", "manual", "https://evil.example/builder")
        ),
        vec![
            violation(
                "slsa_builder.rego",
                "deny",
                None,
                "builder https://evil.example/builder is not trusted"
            ),
            violation(
                "slsa_trigger.rego",
                "deny",
                None,
                "Invalid trigger type: only 'push' is allowed"
            ),
        ]
    );
}

#[test]
fn bad_rego_is_a_parse_error_naming_file_and_line() {
    let rego = "package sbom\n\ndeny_list := [\n  {\"name\": \n";
    match PolicySet::from_sources(vec![("broken.rego".to_string(), rego.to_string())]) {
        Err(PolicyError::Parse { file, message }) => {
            assert_eq!(file, "broken.rego");
            assert!(message.contains("broken.rego:"), "{message}");
            let line = message
                .split("broken.rego:")
                .nth(1)
                .and_then(|rest| rest.split(':').next())
                .and_then(|n| n.parse::<usize>().ok());
            assert!(matches!(line, Some(4 | 5)), "{message}");
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn unknown_operator_and_bad_regex_are_eval_errors() {
    let unknown =
        "package sbom\ndeny_list := [{\"version\": {\"value\": \"1\", \"operator\": \"=>\"}}]\n";
    let regex =
        "package sbom\ndeny_list := [{\"name\": {\"value\": \"(\", \"operator\": \"~\"}}]\n";
    let one = sbom(vec![component(Ecosystem::Npm, "x", "1.0.0", &[])]);
    for (name, rego, needle) in [("unknown.rego", unknown, "=>"), ("regex.rego", regex, "")] {
        let set = match PolicySet::from_sources(vec![(name.to_string(), rego.to_string())]) {
            Ok(set) => set,
            Err(e) => panic!("{e}"),
        };
        match set.evaluate_sbom(&one) {
            Err(PolicyError::Eval { policy, message }) => {
                assert_eq!(policy, name);
                assert!(message.contains(needle), "{message}");
            }
            other => panic!("{name}: expected an evaluation error, got {other:?}"),
        }
    }
}

#[test]
fn packages_of_an_ingested_image_sbom_are_gated_too() {
    // An SBOM Syft wrote for a container image: Debian packages, whose purl
    // type no lockfile parser here reads, are still components to police.
    let text = serde_json::json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "components": [
            {"type": "library", "name": "wget", "version": "1.21.3-1+b2",
             "purl": "pkg:deb/debian/wget@1.21.3-1%2Bb2?arch=amd64&distro=debian-12"}
        ]
    })
    .to_string();
    let sbom = rampart_supply::cyclonedx::read(&text).unwrap();
    let got = eval_sbom(&load("harness_deny_list.rego"), &sbom);
    assert_eq!(
        got,
        vec![violation(
            "harness_deny_list.rego",
            "deny_list[3]",
            Some("pkg:deb/debian/wget@1.21.3-1%2Bb2?arch=amd64&distro=debian-12"),
            "denied: name == \"wget\", version ! \"1.21.4\"",
        )]
    );
}

fn compile(name: &str, rego: &str) -> PolicySet {
    match PolicySet::from_sources(vec![(name.to_string(), rego.to_string())]) {
        Ok(set) => set,
        Err(e) => panic!("{name}: {e}"),
    }
}

fn eval_error(set: &PolicySet) -> String {
    let one = sbom(vec![component(Ecosystem::Npm, "x", "1.0.0", &[])]);
    match set.evaluate_sbom(&one) {
        Err(PolicyError::Eval { message, .. }) => message,
        other => panic!("expected an evaluation error, got {other:?}"),
    }
}

#[test]
fn ranges_are_the_arrays_opa_makes() {
    let rego = r#"package ranges
deny[msg] {
	numbers.range(1, 3) == [1, 2, 3]
	numbers.range(3, 1) == [3, 2, 1]
	numbers.range(-1, -1) == [-1]
	numbers.range_step(1, 10, 4) == [1, 5, 9]
	numbers.range_step(10, 1, 4) == [10, 6, 2]
	numbers.range_step(0, 8, 4) == [0, 4, 8]
	count(numbers.range(1, 1000000)) == 1000000
	msg := "ranges as OPA makes them"
}
"#;
    let set = compile("ranges.rego", rego);
    let got = eval_sbom(&set, &sbom(Vec::new()));
    assert_eq!(
        got,
        vec![violation(
            "ranges.rego",
            "deny",
            None,
            "ranges as OPA makes them"
        )]
    );
}

#[test]
fn ranges_too_large_to_build_in_the_time_limit_are_errors_not_hangs() {
    // regorus's own numbers.range builds this in one call, out of reach of
    // the evaluation timer; its numbers.range_step divides by a zero step.
    let huge = compile(
        "huge.rego",
        "package huge\ndeny[msg] { count(numbers.range(1, 1e8)) > 0; msg := \"built\" }\n",
    );
    let started = Instant::now();
    let message = eval_error(&huge);
    assert!(
        message.contains("numbers.range: 100000000 elements is over the limit of 1000000"),
        "{message}"
    );
    assert!(
        started.elapsed() < EVAL_TIME_LIMIT,
        "{:?}",
        started.elapsed()
    );

    let zero_step = compile(
        "zero.rego",
        "package zero\ndeny[msg] { count(numbers.range_step(1, 5, 0)) > 0; msg := \"built\" }\n",
    );
    assert!(
        eval_error(&zero_step).contains("step must be a positive integer"),
        "{}",
        eval_error(&zero_step)
    );
    let text = compile(
        "text.rego",
        "package text\ndeny[msg] { count(numbers.range(\"a\", 5)) > 0; msg := \"built\" }\n",
    );
    assert!(eval_error(&text).contains("operands must be numbers"));
}

#[test]
fn a_policy_that_runs_past_the_time_limit_is_stopped_with_an_error() {
    // 10^12 iterations, each within the timer's reach.
    let rego = "package slow\ndeny[msg] {\n\tcount([1 | numbers.range(1, 1000000)[_]; numbers.range(1, 1000000)[_]]) > 0\n\tmsg := \"finished\"\n}\n";
    let set = compile("slow.rego", rego);
    let started = Instant::now();
    let message = eval_error(&set);
    let elapsed = started.elapsed();
    assert!(message.to_lowercase().contains("time limit"), "{message}");
    assert!(
        elapsed >= EVAL_TIME_LIMIT && elapsed < EVAL_TIME_LIMIT * 3,
        "{elapsed:?}"
    );
}
