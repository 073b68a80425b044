//! End-to-end: `rampart secret set|list|rm|rotate-key` through the built
//! binary, with HOME and XDG_CONFIG_HOME in a temporary directory.

// Test helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use common::{Run, rampart};
use rampart_secrets::{KeyMode, KeySettings, LocalSecrets, MasterKey, SecretKind, SecretRef};

/// A home directory, a config directory and a state directory of their own.
struct Env {
    root: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("home")).unwrap();
        Env { root }
    }

    fn config(&self) -> PathBuf {
        self.root.path().join("config")
    }

    fn state(&self) -> PathBuf {
        self.root.path().join("state")
    }

    fn key_file(&self) -> PathBuf {
        self.config().join("rampart/master.key")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = rampart();
        command
            .env("HOME", self.root.path().join("home"))
            .env("XDG_CONFIG_HOME", self.config())
            .arg("secret")
            .args(args)
            .arg("--state-dir")
            .arg(self.state());
        command
    }

    /// Runs `rampart secret ARGS --state-dir STATE` with `stdin` piped in.
    fn run(&self, args: &[&str], stdin: &[u8]) -> Run {
        run_with_stdin(self.command(args), stdin)
    }

    /// The stored latest version, read with the library and the key file.
    fn stored(&self, id: &str, org: Option<&str>, project: Option<&str>) -> (SecretKind, Vec<u8>) {
        let settings = KeySettings {
            key_file: Some(self.key_file()),
            ..KeySettings::default()
        };
        let state = self.state();
        let secret = SecretRef::parse(id, org, project).unwrap();
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(async move {
                let secrets = LocalSecrets::open(&state, &settings, KeyMode::Existing)
                    .await
                    .unwrap();
                let got = secrets.store().get(&secret).await.unwrap();
                secrets.store().close().await;
                (got.kind, got.value.expose().to_vec())
            })
    }
}

fn run_with_stdin(mut command: Command, stdin: &[u8]) -> Run {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rampart starts");
    // rampart may refuse (a bad id, say) and exit before reading its input.
    if let Err(error) = child.stdin.take().unwrap().write_all(stdin) {
        assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe, "{error}");
    }
    child.wait_with_output().expect("rampart runs").into()
}

fn assert_no_value(run: &Run, values: &[&str]) {
    for value in values {
        assert!(
            !run.stdout.contains(value) && !run.stderr.contains(value),
            "a value leaked into the output:\n{run}"
        );
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

const PROJECT: [&str; 4] = ["--org", "acme", "--project", "web"];

#[test]
fn set_from_stdin_creates_the_key_once_and_list_shows_no_value() {
    let env = Env::new();
    let value = "s3cret-Value-from-stdin";
    let first = env.run(
        &[&["set", "deploy_token"], &PROJECT[..]].concat(),
        format!("{value}\n").as_bytes(),
    );
    assert_eq!(first.code, Some(0), "{first}");
    assert!(first.stdout.contains("version 1"), "{first}");
    assert!(
        first
            .stdout
            .contains(r#"<+secrets.getValue("deploy_token")>"#),
        "{first}"
    );
    assert!(first.stderr.contains("created a new master key"), "{first}");
    assert!(first.stderr.contains("Back it up"), "{first}");
    assert_eq!(mode(&env.key_file()), 0o600);
    assert_eq!(mode(&env.config().join("rampart")), 0o700);
    assert_eq!(mode(&env.state().join("rampart.db")), 0o600);
    assert_no_value(&first, &[value]);

    let second = env.run(
        &[&["set", "deploy_token"], &PROJECT[..]].concat(),
        b"second-value\n",
    );
    assert_eq!(second.code, Some(0), "{second}");
    assert!(second.stdout.contains("version 2"), "{second}");
    assert!(
        !second.stderr.contains("created a new master key"),
        "warned once: {second}"
    );
    assert_eq!(
        env.stored("deploy_token", Some("acme"), Some("web")),
        (SecretKind::Text, b"second-value".to_vec())
    );

    let account = env.run(&["set", "registry"], b"account-level-value");
    assert_eq!(account.code, Some(0), "{account}");

    let list = env.run(&["list"], b"");
    assert_eq!(list.code, Some(0), "{list}");
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{list}");
    assert!(
        lines[0].starts_with("SCOPE") && lines[0].contains("UPDATED"),
        "{list}"
    );
    let words: Vec<Vec<&str>> = lines[1..]
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        words[0][..4],
        ["account", "registry", "text", "1"],
        "{list}"
    );
    assert_eq!(
        words[1][..5],
        ["project", "acme/web", "deploy_token", "text", "2"],
        "{list}"
    );
    assert_no_value(&list, &[value, "second-value", "account-level-value"]);

    let narrowed = env.run(&[&["list"], &PROJECT[..]].concat(), b"");
    assert_eq!(narrowed.stdout.lines().count(), 2, "{narrowed}");
}

#[test]
fn set_from_a_file_keeps_its_bytes_and_stdin_loses_one_newline() {
    let env = Env::new();
    let file = env.root.path().join("kubeconfig");
    std::fs::write(&file, b"apiVersion: v1\nclusters: []\n\n").unwrap();
    let from_file = env.run(
        &[
            "set",
            "kubeconfig",
            "--org",
            "acme",
            "--type",
            "file",
            "--file",
            file.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(from_file.code, Some(0), "{from_file}");
    assert_eq!(
        env.stored("org.kubeconfig", Some("acme"), None),
        (
            SecretKind::File,
            b"apiVersion: v1\nclusters: []\n\n".to_vec()
        )
    );

    let two_newlines = env.run(&["set", "multi"], b"line one\nline two\n\n");
    assert_eq!(two_newlines.code, Some(0), "{two_newlines}");
    assert_eq!(
        env.stored("account.multi", None, None).1,
        b"line one\nline two\n"
    );

    let file_kind = env.run(&["set", "blob", "--type", "file"], b"binary\n");
    assert_eq!(file_kind.code, Some(0), "{file_kind}");
    assert_eq!(
        env.stored("account.blob", None, None).1,
        b"binary\n",
        "file values keep their bytes"
    );

    let help = rampart()
        .args(["secret", "set", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("ONE trailing newline"), "{help}");
}

#[test]
fn empty_short_and_misplaced_values() {
    let env = Env::new();
    for empty in [&b""[..], b"\n"] {
        let run = env.run(&["set", "empty"], empty);
        assert_eq!(run.code, Some(2), "{run}");
        assert!(
            run.stderr.contains("refusing to store an empty value"),
            "{run}"
        );
    }

    let short = env.run(&["set", "pin"], b"x9Q\n");
    assert_eq!(short.code, Some(0), "{short}");
    assert!(short.stderr.contains("too short to mask safely"), "{short}");
    assert_no_value(&short, &["x9Q"]);

    let argv = env.run(&["set", "token", "hunter2-in-argv"], b"");
    assert_eq!(argv.code, Some(2), "{argv}");
    assert!(
        argv.stderr.contains("never taken from the command line"),
        "{argv}"
    );
    assert_no_value(&argv, &["hunter2-in-argv"]);
}

#[test]
fn bad_identifiers_and_scopes_are_clear_errors() {
    let env = Env::new();
    let dash = env.run(&["set", "my-token"], b"value-value");
    assert_eq!(dash.code, Some(2), "{dash}");
    assert!(dash.stderr.contains("invalid secret identifier"), "{dash}");
    assert!(dash.stderr.contains("`-` at position 3"), "{dash}");

    let digit = env.run(&["set", "token", "--org", "9acme"], b"value-value");
    assert_eq!(digit.code, Some(2), "{digit}");
    assert!(digit.stderr.contains("invalid org identifier"), "{digit}");

    let long = "a".repeat(129);
    let too_long = env.run(&["set", &long], b"value-value");
    assert!(too_long.stderr.contains("at most 128"), "{too_long}");

    let orphan = env.run(&["set", "token", "--project", "web"], b"value-value");
    assert_eq!(orphan.code, Some(2), "{orphan}");
    assert!(orphan.stderr.contains("--org"), "{orphan}");
    assert!(
        !env.state().join("rampart.db").exists(),
        "nothing was stored"
    );
}

#[test]
fn rm_deletes_every_version() {
    let env = Env::new();
    env.run(&["set", "a", "--org", "acme"], b"value-1");
    env.run(&["set", "a", "--org", "acme"], b"value-2");
    env.run(&["set", "b"], b"value-3");

    let rm = env.run(&["rm", "a", "--org", "acme"], b"");
    assert_eq!(rm.code, Some(0), "{rm}");
    assert!(rm.stdout.contains("2 versions"), "{rm}");
    let list = env.run(&["list"], b"");
    assert!(!list.stdout.contains(" a "), "{list}");
    assert!(list.stdout.contains("b"), "{list}");

    let again = env.run(&["rm", "a", "--org", "acme"], b"");
    assert_eq!(again.code, Some(2), "{again}");
    assert!(again.stderr.contains("no secret `a` (org acme)"), "{again}");
}

#[test]
fn list_and_rm_without_a_store_create_nothing() {
    let env = Env::new();
    let list = env.run(&["list"], b"");
    assert_eq!(list.code, Some(0), "{list}");
    assert!(list.stderr.contains("no secrets"), "{list}");
    let rm = env.run(&["rm", "a"], b"");
    assert_eq!(rm.code, Some(2), "{rm}");
    assert!(!env.state().exists());
    assert!(!env.key_file().exists());
}

#[test]
fn the_state_directory_is_discovered_like_rampart_run_does() {
    let env = Env::new();
    let repo = env.root.path().join("repo");
    std::fs::create_dir_all(repo.join(".rampart")).unwrap();
    std::fs::create_dir_all(repo.join("sub/dir")).unwrap();
    let mut set = rampart();
    set.env("XDG_CONFIG_HOME", env.config())
        .args(["secret", "set", "found"])
        .current_dir(repo.join("sub/dir"));
    let run = run_with_stdin(set, b"value-value");
    assert_eq!(run.code, Some(0), "{run}");
    assert!(repo.join(".rampart/rampart.db").exists());
}

#[test]
fn rotate_key_rewraps_and_the_old_key_stops_working() {
    let env = Env::new();
    env.run(&[&["set", "a"], &PROJECT[..]].concat(), b"value-a");
    env.run(&["set", "b", "--type", "file"], b"value-b");
    let old = std::fs::read_to_string(env.key_file()).unwrap();

    let rotate = env.run(&["rotate-key"], b"");
    assert_eq!(rotate.code, Some(0), "{rotate}");
    assert!(rotate.stdout.contains("re-wrapped 2 data keys"), "{rotate}");
    assert!(rotate.stdout.contains("master.key.old."), "{rotate}");
    let new = std::fs::read_to_string(env.key_file()).unwrap();
    assert_ne!(old, new);
    assert_eq!(mode(&env.key_file()), 0o600);
    assert_eq!(env.stored("a", Some("acme"), Some("web")).1, b"value-a");
    assert_eq!(
        env.stored("account.b", None, None),
        (SecretKind::File, b"value-b".to_vec())
    );

    // With only the old key, rotate-key (which unwraps every data key) fails
    // with a message naming both keys, and changes nothing.
    let old_id = MasterKey::from_base64(&old).unwrap().id().to_string();
    let new_id = MasterKey::from_base64(&new).unwrap().id().to_string();
    let mut stale = env.command(&["rotate-key"]);
    stale.env("RAMPART_MASTER_KEY", old.trim()).env(
        "RAMPART_NEW_MASTER_KEY",
        MasterKey::generate().unwrap().to_base64().as_str(),
    );
    let stale = run_with_stdin(stale, b"");
    assert_eq!(stale.code, Some(2), "{stale}");
    assert!(
        stale.stderr.contains("the master key was not rotated"),
        "{stale}"
    );
    assert!(
        stale.stderr.contains(&new_id) && stale.stderr.contains(&old_id),
        "{stale}"
    );
    assert!(stale.stderr.contains("RAMPART_MASTER_KEY holds"), "{stale}");
    assert_no_value(&stale, &["value-a", "value-b", old.trim(), new.trim()]);
    assert_eq!(env.stored("a", Some("acme"), Some("web")).1, b"value-a");
}

#[test]
fn a_missing_or_loose_key_file_is_a_clear_error() {
    let env = Env::new();
    env.run(&["set", "a"], b"value-a");

    std::fs::set_permissions(env.key_file(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let loose = env.run(&["set", "b"], b"value-b");
    assert_eq!(loose.code, Some(2), "{loose}");
    assert!(loose.stderr.contains("chmod 600"), "{loose}");

    std::fs::remove_file(env.key_file()).unwrap();
    let missing = env.run(&["set", "b"], b"value-b");
    assert_eq!(missing.code, Some(2), "{missing}");
    assert!(missing.stderr.contains("no master key"), "{missing}");
    assert!(missing.stderr.contains("restore the key file"), "{missing}");
    assert!(
        !env.key_file().exists(),
        "a new key never silently replaces a lost one"
    );
    let list = env.run(&["list"], b"");
    assert_eq!(list.code, Some(0), "listing needs no key: {list}");
}

#[test]
fn no_value_or_encoding_of_one_reaches_the_state_directory() {
    let env = Env::new();
    let values = ["Zq8-unlikely/Secret+Value=42", "multi\nline\nsecret-value"];
    for (i, value) in values.iter().enumerate() {
        let run = env.run(&["set", &format!("s{i}")], value.as_bytes());
        assert_eq!(run.code, Some(0), "{run}");
        assert_no_value(&run, &[value]);
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut scanned = 0;
    for entry in std::fs::read_dir(env.state()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        scanned += 1;
        for value in values {
            let hex: String = value.bytes().map(|b| format!("{b:02x}")).collect();
            let encoded = b64.encode(value);
            for form in [value, encoded.trim_end_matches('='), hex.as_str()] {
                assert!(!bytes.windows(form.len()).any(|w| w == form.as_bytes()));
            }
        }
    }
    assert!(scanned >= 1);
}
