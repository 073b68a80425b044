//! Shared by the lockfile suites: the fixture directories and a canonical
//! text form of an SBOM to compare against.
#![allow(dead_code)] // Each suite uses a different part.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rampart_supply::sbom::Sbom;

/// Every directory under `tests/fixtures/`, sorted: each is one project's
/// vendored lockfiles.
pub fn fixture_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", root.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no fixtures under {}", root.display());
    dirs
}

/// One line per component (purl, scope, hashes, licenses, file), then one
/// per dependency edge and the direct dependencies: stable, diffable.
pub fn canonical(sbom: &Sbom) -> String {
    let mut out = String::new();
    for c in &sbom.components {
        let hashes: Vec<String> = c
            .hashes
            .iter()
            .map(|h| format!("{:?}:{}", h.alg, h.hex))
            .collect();
        writeln!(
            out,
            "component {} scope={:?} hashes=[{}] licenses=[{}] from={}",
            c.purl,
            c.scope,
            hashes.join(","),
            c.licenses.join(","),
            c.source_file
        )
        .expect("write to a string");
    }
    for (from, to) in &sbom.dependencies {
        for purl in to {
            writeln!(out, "edge {from} -> {purl}").expect("write to a string");
        }
    }
    for purl in &sbom.direct {
        writeln!(out, "direct {purl}").expect("write to a string");
    }
    out
}
