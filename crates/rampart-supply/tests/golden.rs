//! Golden tests: each vendored project under `tests/fixtures/` scans to
//! exactly its `expected.txt` (see `common::canonical`). After a deliberate
//! change, `UPDATE_GOLDEN=1 cargo test -p rampart-supply --test golden`
//! rewrites them; review the diff.

mod common;

use rampart_supply::sbom::scan_dir;

#[test]
fn every_fixture_scans_to_its_golden_file() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut mismatched = Vec::new();
    for dir in common::fixture_dirs() {
        let sbom = scan_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        assert!(
            !sbom.components.is_empty(),
            "{}: no components found",
            dir.display()
        );
        let actual = common::canonical(&sbom);
        let golden = dir.join("expected.txt");
        if update {
            std::fs::write(&golden, &actual).expect("write the golden file");
            continue;
        }
        let expected = std::fs::read_to_string(&golden)
            .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", golden.display()));
        if expected != actual {
            mismatched.push(dir.display().to_string());
        }
    }
    assert!(
        mismatched.is_empty(),
        "scans differ from expected.txt in: {mismatched:?}"
    );
}
