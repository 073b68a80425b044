//! End-to-end: secrets a step prints never reach the terminal, the JSON
//! events or the recorded logs, in any encoding, however the bytes are split.

mod common;

use common::{rampart, write_pipeline};

/// The secret, and the forms a step prints it in.
const SECRET: &str = "Zq8-unlikely/Secret+Value=42";

fn forms() -> Vec<(&'static str, String)> {
    use std::fmt::Write;
    let hex = SECRET.bytes().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    });
    vec![
        ("raw", SECRET.to_string()),
        (
            "base64",
            "WnE4LXVubGlrZWx5L1NlY3JldCtWYWx1ZT00Mg==".to_string(),
        ),
        (
            "base64 of user:secret",
            "dXNlcjpacTgtdW5saWtlbHkvU2VjcmV0K1ZhbHVlPTQy".to_string(),
        ),
        (
            "url-encoded",
            "Zq8-unlikely%2FSecret%2BValue%3D42".to_string(),
        ),
        ("hex", hex),
    ]
}

/// Step `gen` reads the secret from a file (never printing it) and declares it
/// a Secret output; step `leak` prints it every way it can, byte by byte with
/// pauses, on both streams, and through `set -x` echoes its own command.
fn pipeline(secret_file: &std::path::Path) -> String {
    format!(
        r#"pipeline:
  identifier: leaky
  name: leaky
  stages:
    - stage:
        identifier: s
        name: S
        type: CI
        spec:
          execution:
            steps:
              - step:
                  identifier: gen
                  name: gen
                  type: Run
                  spec:
                    shell: Python
                    command: |
                      import os
                      os.environ["TOKEN"] = open("{file}").read()
                    outputVariables:
                      - name: TOKEN
                        type: Secret
              - step:
                  identifier: leak
                  name: leak
                  type: Run
                  spec:
                    shell: Bash
                    envVariables:
                      TOKEN: <+steps.gen.output.outputVariables.TOKEN>
                    command: |
                      echo "inline <+steps.gen.output.outputVariables.TOKEN>"
                      python3 - <<'PY'
                      import base64, json, os, sys, time, urllib.parse
                      t = os.environ["TOKEN"]
                      forms = [t, base64.b64encode(t.encode()).decode(), base64.b64encode(("user:" + t).encode()).decode(),
                               urllib.parse.quote(t, safe=""), t.encode().hex(), json.dumps({{"token": t}})]
                      for stream in (sys.stdout, sys.stderr):
                          for form in forms:
                              for ch in "<" + form + ">\n":
                                  stream.write(ch)
                                  stream.flush()
                                  time.sleep(0.002)
                      PY
"#,
        file = secret_file.display()
    )
}

#[test]
fn printed_secrets_are_masked_on_every_path() {
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("secret.txt");
    std::fs::write(&secret_file, SECRET).unwrap();
    let file = write_pipeline(dir.path(), &pipeline(&secret_file));
    let state = dir.path().join("state");

    for output in ["text", "json"] {
        let run: common::Run = rampart()
            .arg("run")
            .arg(&file)
            .arg("--state-dir")
            .arg(&state)
            .args(["--output", output])
            .output()
            .unwrap()
            .into();
        assert_eq!(run.code, Some(0), "{run}");
        assert!(
            run.stdout.contains("**************"),
            "nothing was masked?\n{run}"
        );
        for (name, form) in forms() {
            assert!(
                !run.stdout.contains(&form),
                "{name} form leaked to {output} stdout\n{run}"
            );
            assert!(
                !run.stderr.contains(&form),
                "{name} form leaked to stderr\n{run}"
            );
        }
    }
    // Everything under the state directory: events, logs, summary, pipeline copy.
    for entry in common::files_under(&state) {
        let bytes = std::fs::read(&entry).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for (name, form) in forms() {
            assert!(
                !text.contains(&form),
                "{name} form leaked into {}",
                entry.display()
            );
        }
    }
}

#[test]
fn rampart_mask_scrubs_a_log_and_warns_about_short_secrets() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets.txt");
    std::fs::write(&secrets, format!("{SECRET}\nab\n")).unwrap();
    let mut child = rampart()
        .arg("mask")
        .arg("--secrets-file")
        .arg(&secrets)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = String::from("build ok\n");
    for (name, form) in forms() {
        log.push_str(&format!("{name}: [{form}]\n"));
    }
    log.push_str("the short one, ab, stays\n");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(log.as_bytes())
        .unwrap();
    let run = common::Run::from(child.wait_with_output().unwrap());
    assert_eq!(run.code, Some(0), "{run}");
    for (name, form) in forms() {
        assert!(!run.stdout.contains(&form), "{name} form leaked\n{run}");
    }
    assert!(
        run.stdout.starts_with("build ok\nraw: [**************]\n"),
        "{run}"
    );
    assert!(run.stdout.ends_with("the short one, ab, stays\n"), "{run}");
    assert!(
        run.stderr.contains("secret #2") && run.stderr.contains("not masked"),
        "{run}"
    );
    assert!(!run.stderr.contains(SECRET), "{run}");
}
