//! No password, token, session, CSRF token, TOTP seed or recovery code
//! reaches `rampart server`'s log (at debug level), any response other than
//! the one that creates it, or the database files in plaintext; and no
//! value of a secret a run uses, in any encoding its step prints it in,
//! reaches an API response, the live or stored log stream, the server log
//! or any file under the data directory.

#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test.

mod common;

use common::server::ServerProcess;
use rampart_testkit::{Cred, Method, PASSWORD, base32_as_hex, session_cookie, totp_code};
use serde_json::json;

/// Every secret the scenario handles, with what it is (for failure messages).
#[derive(Default)]
struct Secrets(Vec<(&'static str, String)>);

impl Secrets {
    fn add(&mut self, what: &'static str, value: &str) {
        assert!(
            value.len() >= 6,
            "{what} is too short to search for: {value:?}"
        );
        self.0.push((what, value.to_owned()));
    }

    /// The secrets found in `haystack` (bytes, so binary files too).
    fn found_in(&self, haystack: &[u8]) -> Vec<&'static str> {
        self.0
            .iter()
            .filter(|(_, value)| {
                haystack
                    .windows(value.len())
                    .any(|window| window == value.as_bytes())
            })
            .map(|(what, _)| *what)
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_stay_out_of_logs_responses_and_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = ServerProcess::start(&data).await;
    let api = &server.client;
    let mut secrets = Secrets::default();
    // Creation responses, the only places a secret may appear.
    let mut reads = Vec::new();

    secrets.add(
        "the admin's one-time password",
        &api.admin_one_time_password,
    );
    secrets.add("the admin's password", PASSWORD);
    let admin = api.admin_session().await;
    assert!(
        !data.join("initial-admin-password").exists(),
        "the one-time password file goes with the one-time password"
    );

    // A user, created with a one-time password, who chooses their own.
    let created = api
        .post(
            "/api/users",
            &admin,
            json!({"email": "bob@example.com", "name": "Bob"}),
        )
        .await
        .expect(201);
    let bob_one_time = created.body["one_time_password"]
        .as_str()
        .unwrap()
        .to_owned();
    secrets.add("bob's one-time password", &bob_one_time);
    // The search finds what is there: the creation response shows it once.
    assert_eq!(
        secrets.found_in(created.text.as_bytes()),
        ["bob's one-time password"]
    );
    let bob_password = "His-Own-Secret-Passphrase-77";
    secrets.add("bob's password", bob_password);
    let (_, bob) = api.login("bob@example.com", &bob_one_time).await;
    let bob = bob.unwrap();
    let change = json!({"current_password": bob_one_time, "new_password": bob_password});
    api.call(Method::PUT, "/api/me/password", &bob, Some(change))
        .await
        .expect(200);

    // Failed logins: a wrong password, and one for nobody.
    let wrong = "Wrong-Guess-Password-1234";
    secrets.add("a wrong password", wrong);
    api.login("admin@localhost", wrong).await.0.expect(401);
    api.login("nobody@example.com", wrong).await.0.expect(401);

    // TOTP for the admin, confirmed with pyotp's code.
    let enrolment = api
        .call(Method::POST, "/api/me/totp", &admin, None)
        .await
        .expect(200);
    let seed = enrolment.body["secret"].as_str().unwrap().to_owned();
    secrets.add("the TOTP seed", &seed);
    secrets.add("the TOTP seed's bytes in hex", &base32_as_hex(&seed));
    let confirmed = api
        .post(
            "/api/me/totp/confirm",
            &admin,
            json!({"code": totp_code(&seed)}),
        )
        .await
        .expect(200);
    let recovery: Vec<String> =
        serde_json::from_value(confirmed.body["recovery_codes"].clone()).unwrap();
    assert!(!recovery.is_empty());
    for code in &recovery {
        secrets.add("a recovery code", code);
    }

    // A second login, through the second factor: its cookie and CSRF token.
    let (login, _) = api.login("admin@localhost", PASSWORD).await;
    let login = login.expect(200);
    assert_eq!(login.body["stage"], "second_factor");
    let cookie = session_cookie(&login).unwrap();
    let csrf = login.body["csrf_token"].as_str().unwrap().to_owned();
    secrets.add("a session cookie", &cookie);
    secrets.add("a CSRF token", &csrf);
    let session = Cred::Session {
        cookie,
        csrf: Some(csrf),
    };
    api.post(
        "/api/auth/mfa",
        &session,
        json!({"recovery_code": recovery[0]}),
    )
    .await
    .expect(200);

    // Tokens: personal, rotated, and a service account's.
    let personal = api.personal_token(&session, "ci", None).await;
    secrets.add("a personal access token", &personal);
    let token = Cred::Token(personal.clone());
    let listed = api
        .get("/api/me/api-keys/ci/tokens", &token)
        .await
        .expect(200);
    let token_id = listed.body[0]["id"].as_str().unwrap().to_owned();
    reads.push(listed);
    // Personal tokens are minted and rotated from a login session only.
    let rotated = api
        .post(
            &format!("/api/me/api-keys/ci/tokens/{token_id}/rotate"),
            &session,
            json!({}),
        )
        .await
        .expect(201);
    let rotated = rotated.body["token"].as_str().unwrap().to_owned();
    secrets.add("a rotated token", &rotated);
    let token = Cred::Token(rotated.clone());
    api.post(
        "/api/service-accounts",
        &token,
        json!({"identifier": "deployer", "name": "Deployer"}),
    )
    .await
    .expect(201);
    api.post(
        "/api/service-accounts/deployer/api-keys",
        &token,
        json!({"identifier": "deploy", "name": "deploy"}),
    )
    .await
    .expect(201);
    let sa_token = api
        .post(
            "/api/service-accounts/deployer/api-keys/deploy/tokens",
            &token,
            json!({"name": "t"}),
        )
        .await
        .expect(201);
    secrets.add(
        "a service account token",
        sa_token.body["token"].as_str().unwrap(),
    );

    // Bad credentials: the old token, a mistyped one.
    api.get("/api/me", &Cred::Token(personal.clone()))
        .await
        .expect(401);
    let mut mistyped = rotated.clone();
    let last = mistyped.pop().unwrap();
    mistyped.push(if last == 'a' { 'b' } else { 'a' });
    secrets.add("a mistyped token", &mistyped);
    api.get("/api/me", &Cred::Bearer(mistyped))
        .await
        .expect(401);

    // Everything a reader can see afterwards.
    for path in [
        "/api/me",
        "/api/users",
        "/api/me/api-keys",
        "/api/me/api-keys/ci/tokens",
        "/api/service-accounts",
        "/api/service-accounts/deployer/api-keys/deploy/tokens",
        "/api/auth-settings",
        "/api/audit?limit=500",
    ] {
        reads.push(api.get(path, &token).await.expect(200));
    }
    let audit = reads.last().unwrap();
    assert!(
        audit.body["records"].as_array().unwrap().len() > 15,
        "the scenario is audited: {}",
        audit.text
    );

    let stopped = server.stop();
    let log = &stopped.log;
    assert_eq!(stopped.code, Some(0), "{log}");
    assert!(log.contains("DEBUG"), "the log ran at debug level: {log}");
    assert!(log.lines().count() > 30, "{log}");

    let leaks = secrets.found_in(log.as_bytes());
    assert!(leaks.is_empty(), "the log holds {leaks:?}:\n{log}");
    for read in &reads {
        let leaks = secrets.found_in(read.text.as_bytes());
        assert!(
            leaks.is_empty(),
            "a response holds {leaks:?}: {}",
            read.text
        );
    }
    // Stdout announced the first password, and nothing since.
    assert_eq!(
        secrets.found_in(stopped.stdout.as_bytes()),
        ["the admin's one-time password"],
        "{}",
        stopped.stdout
    );
    let mut files = 0;
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let leaks = secrets.found_in(&bytes);
        assert!(leaks.is_empty(), "{} holds {leaks:?}", path.display());
        files += 1;
    }
    assert!(files >= 3, "the database, the master key and the pepper");
}

/// The values of a run's secrets, as stored through the API: (identifier
/// with its scope prefix, query of its scope, value, kind).
const RUN_SECRETS: [(&str, &str, &str, &str); 4] = [
    (
        "api_token",
        "?org=o1&project=p1",
        "Zq8-unlikely/Secret+Value=42",
        "text",
    ),
    (
        "org.shared",
        "?org=o1",
        "Org-Level_Secret.Value:99~x",
        "text",
    ),
    ("account.deploy", "", "acct-Secret-7Hw2kP9xLq#3", "text"),
    (
        "cert",
        "?org=o1&project=p1",
        "file-Secret-Contents-Q1w2E3r4",
        "file",
    ),
];

/// Prints every secret in many encodings, a byte at a time on both
/// streams, and passes one through a Secret output to a later step.
const LEAKY: &str = r#"
pipeline:
  identifier: leaky
  name: Leaky
  stages:
    - stage:
        identifier: main
        name: Main
        type: CI
        spec:
          execution:
            steps:
              - step:
                  identifier: leak
                  name: Leak
                  type: Run
                  spec:
                    shell: Bash
                    envVariables:
                      S1: <+secrets.getValue("api_token")>
                      S2: <+secrets.getValue("org.shared")>
                      S3: <+secrets.getValue("account.deploy")>
                      CERT: <+secrets.getValue("cert")>
                    command: |
                      echo "inline <+secrets.getValue("api_token")>"
                      python3 - <<'PY'
                      import base64, json, os, sys, time, urllib.parse
                      values = [os.environ["S1"], os.environ["S2"], os.environ["S3"], open(os.environ["CERT"]).read()]
                      for t in values:
                          forms = [t, base64.b64encode(t.encode()).decode(), base64.b64encode(("user:" + t).encode()).decode(),
                                   urllib.parse.quote(t, safe=""), t.encode().hex(), t.encode().hex().upper(), json.dumps({"v": t})]
                          for stream in (sys.stdout, sys.stderr):
                              for form in forms:
                                  for ch in "<" + form + ">\n":
                                      stream.write(ch)
                                      stream.flush()
                                  time.sleep(0.001)
                      PY
                      TOKEN="$S1"
                    outputVariables:
                      - name: TOKEN
                        type: Secret
              - step:
                  identifier: after
                  name: After
                  type: Run
                  spec:
                    shell: Sh
                    command: echo "<<+steps.leak.output.outputVariables.TOKEN>>"
"#;

/// The forms the pipeline prints a value in (as Python computes them).
fn encodings(value: &str) -> Vec<(&'static str, String)> {
    use base64::Engine;
    use std::fmt::Write;
    let b64 = base64::engine::general_purpose::STANDARD;
    let hex = value.bytes().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    });
    let url: String = value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    vec![
        ("raw", value.to_owned()),
        ("base64", b64.encode(value)),
        ("base64 of user:value", b64.encode(format!("user:{value}"))),
        ("url-encoded", url),
        ("upper-case hex", hex.to_uppercase()),
        ("hex", hex),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_secrets_stay_out_of_responses_streams_logs_and_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = ServerProcess::start(&data).await;
    let api = &server.client;
    let admin = Cred::Token(api.admin_token().await);
    api.post(
        "/api/orgs",
        &admin,
        json!({"identifier": "o1", "name": "O1"}),
    )
    .await
    .expect(201);
    api.post(
        "/api/orgs/o1/projects",
        &admin,
        json!({"identifier": "p1", "name": "P1"}),
    )
    .await
    .expect(201);
    let mut secrets = Secrets::default();
    let mut reads = Vec::new();
    for (name, scope, value, kind) in RUN_SECRETS {
        let id = name.rsplit('.').next().unwrap();
        for (form, text) in encodings(value) {
            secrets.add(form, &text);
        }
        let (value, encoding) = if kind == "file" {
            use base64::Engine;
            (
                base64::engine::general_purpose::STANDARD.encode(value),
                "base64",
            )
        } else {
            (value.to_owned(), "utf8")
        };
        let put = json!({"value": value, "kind": kind, "encoding": encoding});
        reads.push(
            api.call(
                Method::PUT,
                &format!("/api/secrets/{id}{scope}"),
                &admin,
                Some(put),
            )
            .await
            .expect(201),
        );
    }
    // The search finds what is there.
    let control: String = RUN_SECRETS
        .iter()
        .flat_map(|(_, _, value, _)| encodings(value))
        .map(|(_, text)| format!("<{text}>"))
        .collect();
    assert_eq!(
        secrets.found_in(control.as_bytes()).len(),
        secrets.0.len(),
        "the control holds every form"
    );

    let scope = "org=o1&project=p1";
    api.post(
        &format!("/api/pipelines?{scope}"),
        &admin,
        json!({"yaml": LEAKY}),
    )
    .await
    .expect(201);
    let started = api
        .post(
            &format!("/api/pipelines/leaky/runs?{scope}"),
            &admin,
            json!({}),
        )
        .await
        .expect(201);
    let run = started.body["id"].as_str().unwrap().to_owned();
    let stream = format!("/api/runs/{run}/logs/stream");
    // Live, from the start, while the step prints.
    let live = api.events(&stream, &admin, None).await.all().await;
    let live_text: String = live
        .iter()
        .map(|e| format!("{} {} {}\n", e.event, e.id, e.data))
        .collect();
    let detail = api.finished_run(&admin, &run).await;
    assert_eq!(detail["status"], "Success", "{detail}");

    for path in [
        format!("/api/runs/{run}"),
        format!("/api/runs?{scope}"),
        format!("/api/runs/{run}/logs"),
        format!("/api/runs/{run}/logs?step=main.leak"),
        // After the run: the stored backlog as a stream.
        stream.clone(),
        "/api/secrets".into(),
        "/api/secrets?org=o1".into(),
        format!("/api/secrets?{scope}"),
        format!("/api/secrets/cert?{scope}"),
        format!("/api/pipelines/leaky?{scope}"),
        "/api/audit?limit=500".into(),
    ] {
        reads.push(api.get(&path, &admin).await.expect(200));
    }
    // The step printed every form, masked: the `<` and `>` around each
    // survive (but around JSON, which keeps its quotes, and `user:...`,
    // whose first characters encode `user:` alone), on both streams; and
    // the later step's `<...>` around the Secret output.
    let log = api
        .get(&format!("/api/runs/{run}/logs"), &admin)
        .await
        .expect(200);
    let masked = log.text.matches("<**************>").count();
    assert!(
        masked > RUN_SECRETS.len() * 5 * 2,
        "{masked} masked forms in:\n{}",
        log.text
    );
    assert!(
        log.text.contains("[main.after] <**************>"),
        "{}",
        log.text
    );

    let stopped = server.stop();
    assert_eq!(stopped.code, Some(0), "{}", stopped.log);
    assert!(stopped.log.contains("DEBUG"), "{}", stopped.log);
    let leaks = secrets.found_in(stopped.log.as_bytes());
    assert!(
        leaks.is_empty(),
        "the server log holds {leaks:?}:\n{}",
        stopped.log
    );
    let leaks = secrets.found_in(live_text.as_bytes());
    assert!(
        leaks.is_empty(),
        "the live stream holds {leaks:?}:\n{live_text}"
    );
    for read in &reads {
        let leaks = secrets.found_in(read.text.as_bytes());
        assert!(
            leaks.is_empty(),
            "a response holds {leaks:?}: {}",
            read.text
        );
    }
    let mut files = 0;
    for path in common::files_under(&data) {
        let bytes = std::fs::read(&path).unwrap();
        let leaks = secrets.found_in(&bytes);
        assert!(leaks.is_empty(), "{} holds {leaks:?}", path.display());
        files += 1;
    }
    assert!(files >= 3, "the database, the master key and the pepper");
}
