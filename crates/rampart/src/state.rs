//! Where local state lives: an explicit `--state-dir`, else the nearest
//! `.rampart/` at or above the starting directory, up to the root of the git
//! checkout it is in (so `rampart secret set` at
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
    for dir in absolute.ancestors() {
        let candidate = dir.join(STATE_DIR_NAME);
        if candidate.is_dir() {
            return candidate;
        }
        // Like git, stop at the repository's root: a `.rampart/` above the
        // checkout (in a home directory, say) belongs to something else.
        if dir.join(".git").exists() {
            break;
        }
    }
    start.join(STATE_DIR_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_wins_then_the_nearest_existing_then_a_new_one_here() {
        let root = tempfile::tempdir().unwrap();
        // The walk stops at this checkout, whatever lies above the temp dir.
        std::fs::create_dir(root.path().join(".git")).unwrap();
        let nested = root.path().join("repo/.harness");
        std::fs::create_dir_all(&nested).unwrap();
        assert_eq!(resolve(None, &nested), nested.join(".rampart"));

        std::fs::create_dir(root.path().join("repo/.rampart")).unwrap();
        let found = resolve(None, &nested);
        assert_eq!(
            found,
            root.path().join("repo/.rampart").canonicalize().unwrap()
        );

        // Discovery stops at a checkout's root: a `.rampart/` above it is not used.
        let above = tempfile::tempdir().unwrap();
        std::fs::create_dir(above.path().join(".rampart")).unwrap();
        let checkout = above.path().join("checkout/.harness");
        std::fs::create_dir_all(&checkout).unwrap();
        std::fs::create_dir(above.path().join("checkout/.git")).unwrap();
        assert_eq!(resolve(None, &checkout), checkout.join(".rampart"));

        let explicit = root.path().join("elsewhere");
        assert_eq!(resolve(Some(&explicit), &nested), explicit);
    }
}
