//! The codebase of a local run: `<+codebase.*>` values read from the git
//! checkout that holds the pipeline, and `cloneCodebase` as a copy of that
//! working tree (tracked and untracked, not ignored, files) into the run's
//! workspace, so steps see uncommitted edits but cannot change the checkout.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

/// The git checkout around a directory, if there is one.
pub struct Checkout {
    pub root: PathBuf,
}

impl Checkout {
    pub fn find(dir: &Path) -> Option<Checkout> {
        git(dir, &["rev-parse", "--show-toplevel"]).map(|root| Checkout {
            root: PathBuf::from(root),
        })
    }

    /// `codebase.*` values Harness would give a manual run of this commit.
    pub fn codebase_values(&self) -> BTreeMap<String, String> {
        let mut values = BTreeMap::new();
        let mut put = |key: &str, args: &[&str]| {
            if let Some(value) = git(&self.root, args) {
                values.insert(key.to_string(), value);
            }
        };
        put("commitSha", &["rev-parse", "HEAD"]);
        put("shortCommitSha", &["rev-parse", "--short=7", "HEAD"]);
        put("commitMessage", &["log", "-1", "--format=%s"]);
        put("gitUser", &["log", "-1", "--format=%an"]);
        put("gitUserEmail", &["log", "-1", "--format=%ae"]);
        put("gitUserId", &["log", "-1", "--format=%an"]);
        if let Some(branch) = git(&self.root, &["symbolic-ref", "--short", "-q", "HEAD"]) {
            values.insert("branch".into(), branch);
        }
        if let Some(url) = git(&self.root, &["config", "--get", "remote.origin.url"]) {
            values.insert("repoUrl".into(), without_credentials(&url));
        }
        values.insert(
            "build.type".into(),
            if values.contains_key("branch") {
                "branch"
            } else {
                "commitSha"
            }
            .into(),
        );
        values
    }

    /// Copies the working tree into `dest`, leaving out `exclude` (the state directory).
    /// Returns how many files were copied.
    pub fn copy_working_tree(&self, dest: &Path, exclude: &Path) -> anyhow::Result<usize> {
        let output = Command::new("git")
            .args([
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ])
            .current_dir(&self.root)
            .output()
            .context("cannot run git ls-files to copy the codebase")?;
        if !output.status.success() {
            anyhow::bail!(
                "git ls-files failed in {}: {}",
                self.root.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        let exclude = exclude
            .canonicalize()
            .unwrap_or_else(|_| exclude.to_path_buf());
        let mut copied = 0;
        for relative in output.stdout.split(|b| *b == 0).filter(|p| !p.is_empty()) {
            let relative = Path::new(
                std::str::from_utf8(relative)
                    .context("a file name in the checkout is not UTF-8")?,
            );
            let source = self.root.join(relative);
            if source.starts_with(&exclude) {
                continue;
            }
            let target = dest.join(relative);
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            let metadata = match fs::symlink_metadata(&source) {
                Ok(metadata) => metadata,
                // Listed by git but deleted in the working tree: the copy mirrors the tree.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot read {}", source.display()));
                }
            };
            if metadata.is_symlink() {
                let link = fs::read_link(&source)
                    .with_context(|| format!("cannot read link {}", source.display()))?;
                std::os::unix::fs::symlink(link, &target)
                    .with_context(|| format!("cannot create link {}", target.display()))?;
            } else if metadata.is_file() {
                fs::copy(&source, &target).with_context(|| {
                    format!("cannot copy {} to the workspace", source.display())
                })?;
            } else {
                continue;
            }
            copied += 1;
        }
        Ok(copied)
    }
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (output.status.success() && !text.is_empty()).then(|| text.to_string())
}

/// `https://user:token@host/repo` → `https://host/repo`: a remote URL may hold a
/// credential, which must not reach steps, logs or the record.
fn without_credentials(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
        if let Some((_, host)) = authority.rsplit_once('@') {
            let sep = if path.is_empty() && !rest.contains('/') {
                ""
            } else {
                "/"
            };
            return format!("{scheme}://{host}{sep}{path}");
        }
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_removed_from_remote_urls() {
        assert_eq!(
            without_credentials("https://u:t0ken@github.com/o/r.git"),
            "https://github.com/o/r.git"
        );
        assert_eq!(
            without_credentials("https://github.com/o/r.git"),
            "https://github.com/o/r.git"
        );
        assert_eq!(
            without_credentials("git@github.com:o/r.git"),
            "git@github.com:o/r.git"
        );
        assert_eq!(without_credentials("ssh://git@host"), "ssh://host");
    }

    #[test]
    fn working_tree_copy_includes_untracked_but_not_ignored_or_excluded_files() {
        let repo = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| {
            let status = Command::new("git")
                .args(args)
                .current_dir(repo.path())
                .output()
                .unwrap();
            assert!(
                status.status.success(),
                "git {args:?}: {}",
                String::from_utf8_lossy(&status.stderr)
            );
        };
        run(&["init", "-q", "-b", "main"]);
        fs::write(repo.path().join(".gitignore"), "ignored.txt\n").unwrap();
        fs::write(repo.path().join("tracked.txt"), "t").unwrap();
        run(&["add", "."]);
        run(&[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "-m",
            "first",
        ]);
        fs::write(repo.path().join("untracked.txt"), "u").unwrap();
        fs::write(repo.path().join("ignored.txt"), "i").unwrap();
        fs::create_dir_all(repo.path().join("state/runs")).unwrap();
        fs::write(repo.path().join("state/runs/x"), "s").unwrap();

        let checkout = Checkout::find(repo.path()).unwrap();
        let values = checkout.codebase_values();
        assert_eq!(values.get("branch").map(String::as_str), Some("main"));
        assert_eq!(
            values.get("commitMessage").map(String::as_str),
            Some("first")
        );
        assert_eq!(values.get("commitSha").map(String::len), Some(40));

        let dest = tempfile::tempdir().unwrap();
        checkout
            .copy_working_tree(dest.path(), &repo.path().join("state"))
            .unwrap();
        assert!(dest.path().join("tracked.txt").exists());
        assert!(dest.path().join("untracked.txt").exists());
        assert!(!dest.path().join("ignored.txt").exists());
        assert!(!dest.path().join("state").exists());
    }
}
