//! No password, token, session, CSRF token, TOTP seed or recovery code
//! reaches `rampart server`'s log (at debug level), any response other than
//! the one that creates it, or the database files in plaintext.

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
