//! End-to-end: secrets from the local encrypted store reach steps, and no
//! value (or encoded form) reaches argv, the terminal, the JSON events, the
//! run record or the database in plaintext.

// Test helpers, like tests, may panic on unexpected errors.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{rampart, write_pipeline};

const TOKEN: &str = "tok-Plain-8472-value";
const API: &str = "api-Org-5531-value";
const ACCOUNT: &str = "acct-Acc-9917-value";
const KUBE: &str = "kube-File-3306-contents";

/// A temporary HOME (for the master key file) and state directory.
struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn state(&self) -> std::path::PathBuf {
        self.dir.path().join("state")
    }

    fn rampart(&self) -> std::process::Command {
        let mut command = rampart();
        command
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"));
        command
    }

    fn set(&self, args: &[&str], value: &str) {
        use std::io::Write;
        let mut child = self
            .rampart()
            .args(["secret", "set"])
            .args(args)
            .arg("--state-dir")
            .arg(self.state())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(value.as_bytes())
            .unwrap();
        let run = common::Run::from(child.wait_with_output().unwrap());
        assert_eq!(run.code, Some(0), "secret set {args:?}: {run}");
    }

    fn run(&self, file: &Path, extra: &[&str]) -> common::Run {
        self.rampart()
            .arg("run")
            .arg(file)
            .arg("--state-dir")
            .arg(self.state())
            .args(extra)
            .output()
            .unwrap()
            .into()
    }

    fn with_secrets(self) -> Env {
        self.set(&["token", "--org", "o", "--project", "p"], TOKEN);
        self.set(&["api", "--org", "o"], API);
        self.set(&["acct"], ACCOUNT);
        let kube = self.dir.path().join("kubeconfig");
        std::fs::write(&kube, KUBE).unwrap();
        self.set(
            &[
                "kube",
                "--org",
                "o",
                "--project",
                "p",
                "--type",
                "file",
                "--file",
                kube.to_str().unwrap(),
            ],
            "",
        );
        std::fs::remove_file(&kube).unwrap();
        self
    }
}

/// Every value in every form a leak could take.
fn forbidden() -> Vec<String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let mut forms = Vec::new();
    for value in [TOKEN, API, ACCOUNT, KUBE] {
        forms.push(value.to_string());
        forms.push(STANDARD.encode(value));
        forms.push(URL_SAFE_NO_PAD.encode(value));
        forms.push(value.bytes().map(|b| format!("{b:02x}")).collect());
    }
    forms
}

fn pipeline(dir: &Path) -> std::path::PathBuf {
    write_pipeline(
        dir,
        r#"pipeline:
  identifier: uses_secrets
  name: uses secrets
  orgIdentifier: o
  projectIdentifier: p
  variables:
    - name: account_password
      type: Secret
      value: <+secrets.getValue("account.acct")>
  stages:
    - stage:
        identifier: s
        name: S
        type: CI
        spec:
          execution:
            steps:
              - step:
                  identifier: use
                  name: use
                  type: Run
                  spec:
                    shell: Bash
                    envVariables:
                      TOKEN: <+secrets.getValue("token")>
                      KUBECONFIG: <+secrets.getValue("kube")>
                    command: |
                      echo "token $TOKEN"
                      echo "base64 $(printf %s "$TOKEN" | base64)"
                      echo "inline <+secrets.getValue("org.api")> and <+pipeline.variables.account_password>"
                      echo "file mode $(stat -c %a "$KUBECONFIG") contents $(cat "$KUBECONFIG")"
                      echo "$KUBECONFIG" > kube-path
                      DERIVED="$TOKEN-derived"
                    outputVariables:
                      - name: DERIVED
                        type: Secret
              - step:
                  identifier: after
                  name: after
                  type: Run
                  spec:
                    command: |
                      test ! -e "$(cat kube-path)" && echo "the file secret is gone"
                      test "<+steps.use.output.outputVariables.DERIVED>" = "$(printf %s-derived "$EXPECTED")" || echo "derived differs"
                    envVariables:
                      EXPECTED: <+secrets.getValue("token")>
"#,
    )
}

#[test]
fn secrets_reach_steps_and_leak_nowhere() {
    let env = Env::new().with_secrets();
    let file = pipeline(env.dir.path());
    for output in ["text", "json"] {
        let run = env.run(&file, &["--output", output]);
        assert_eq!(run.code, Some(0), "{run}");
        assert!(run.stdout.contains("the file secret is gone"), "{run}");
        assert!(!run.stdout.contains("derived differs"), "{run}");
        assert!(
            run.stdout.contains("file mode 600 contents **************"),
            "{run}"
        );
        for form in forbidden() {
            assert!(
                !run.stdout.contains(&form) && !run.stderr.contains(&form),
                "{form} leaked in {output} output\n{run}"
            );
        }
    }
    let mut scanned = 0;
    for path in common::files_under(&env.state()) {
        let bytes = std::fs::read(&path).unwrap();
        for form in forbidden() {
            assert!(
                !bytes.windows(form.len()).any(|w| w == form.as_bytes()),
                "{form} found in {}",
                path.display()
            );
        }
        scanned += 1;
    }
    assert!(scanned > 10, "only {scanned} files scanned");
    assert!(env.state().join("rampart.db").is_file());

    // The record says which secrets each step resolved, by scope and name.
    let events = std::fs::read_to_string(env.state().join("runs/1/events.jsonl")).unwrap();
    let finished = events
        .lines()
        .find(|l| l.contains(r#""event":"step_finished""#) && l.contains(r#""step":"use""#))
        .unwrap();
    for reference in ["project:o/p/token", "project:o/p/kube", "org:o/api"] {
        assert!(
            finished.contains(reference),
            "{reference} missing: {finished}"
        );
    }
    let sealed = std::fs::read_to_string(env.state().join("runs/1/secret-outputs.json")).unwrap();
    assert!(
        sealed.contains(r#""name": "DERIVED""#) && sealed.contains("ciphertext"),
        "{sealed}"
    );
}

#[test]
fn a_running_step_has_no_secret_in_its_argv() {
    let env = Env::new().with_secrets();
    let release = env.dir.path().join("release");
    let started = env.dir.path().join("started");
    let file = write_pipeline(
        env.dir.path(),
        &format!(
            "pipeline:\n  identifier: argv\n  name: argv\n  orgIdentifier: o\n  projectIdentifier: p\n  stages:\n    - stage:\n        identifier: s\n        name: S\n        type: CI\n        spec:\n          execution:\n            steps:\n              - step:\n                  identifier: wait\n                  name: wait\n                  type: Run\n                  spec:\n                    envVariables:\n                      TOKEN: <+secrets.getValue(\"token\")>\n                    command: |\n                      echo \"<+secrets.getValue(\"org.api\")>\" > /dev/null\n                      touch {started}\n                      while [ ! -e {release} ]; do sleep 0.02; done\n",
            started = started.display(),
            release = release.display()
        ),
    );
    let child = env
        .rampart()
        .arg("run")
        .arg(&file)
        .arg("--state-dir")
        .arg(env.state())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    common::wait_for_file(&started);
    let cmdlines = common::process_cmdlines();
    for cmdline in &cmdlines {
        for value in [TOKEN, API] {
            assert!(
                !cmdline.windows(value.len()).any(|w| w == value.as_bytes()),
                "a process has a secret in argv: {}",
                String::from_utf8_lossy(cmdline)
            );
        }
    }
    assert!(cmdlines.len() > 3);
    std::fs::write(&release, "").unwrap();
    let run = common::Run::from(child.wait_with_output().unwrap());
    assert_eq!(run.code, Some(0), "{run}");
}

#[test]
fn a_missing_secret_fails_the_step_saying_how_to_store_it() {
    let env = Env::new();
    let file = write_pipeline(
        env.dir.path(),
        "pipeline:\n  identifier: m\n  name: m\n  orgIdentifier: o\n  projectIdentifier: p\n  stages:\n    - stage:\n        identifier: s\n        name: S\n        type: CI\n        spec:\n          execution:\n            steps:\n              - step:\n                  identifier: a\n                  name: a\n                  type: Run\n                  spec:\n                    command: echo <+secrets.getValue(\"deploy_key\")>\n",
    );
    let run = env.run(&file, &[]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stdout
            .contains("rampart secret set deploy_key --org o --project p"),
        "{run}"
    );
    env.set(
        &["other", "--org", "o", "--project", "p"],
        "some-other-value",
    );
    let run = env.run(&file, &[]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stdout.contains("deploy_key"), "{run}");
}
