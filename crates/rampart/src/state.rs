//! Where local state lives: an explicit `--state-dir`, else the nearest
//! `.rampart/` at or above the starting directory (so `rampart secret set` at
//! a repository's root and `rampart run .harness/pipeline.yaml` share one
//! store), else a new `.rampart/` in the starting directory.

use std::path::{Path, PathBuf};

/// The name of the state directory Rampart looks for and creates.
const STATE_DIR_NAME: &str = ".rampart";

pub fn resolve(explicit: Option<&Path>, start: &Path) -> PathBuf {
    if let Some(dir) = explicit {
        return dir.to_path_buf();
    }
    let absolute = start.canonicalize().unwrap_or_else(|_| start.to_path_buf());
    absolute
        .ancestors()
        .map(|dir| dir.join(STATE_DIR_NAME))
        .find(|candidate| candidate.is_dir())
        .unwrap_or_else(|| start.join(STATE_DIR_NAME))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_wins_then_the_nearest_existing_then_a_new_one_here() {
        let root = tempfile::tempdir().unwrap();
        let nested = root.path().join("repo/.harness");
        std::fs::create_dir_all(&nested).unwrap();
        assert_eq!(resolve(None, &nested), nested.join(".rampart"));

        std::fs::create_dir(root.path().join("repo/.rampart")).unwrap();
        let found = resolve(None, &nested);
        assert_eq!(
            found,
            root.path().join("repo/.rampart").canonicalize().unwrap()
        );

        let explicit = root.path().join("elsewhere");
        assert_eq!(resolve(Some(&explicit), &nested), explicit);
    }
}
