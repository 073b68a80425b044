//! End-to-end identity and access flows over real HTTP, on SQLite and on
//! PostgreSQL: login and one-time passwords, lockout, TOTP and its
//! enforcement, sessions and CSRF, API tokens, authorization at the moment
//! of use, narrowed tokens, IP allowlists behind proxies, the audit trail
//! and its tamper detection, and malformed input.

#![allow(clippy::unwrap_used)]

mod common;

mod suite {
    use std::collections::HashMap;
    use std::time::{SystemTime, UNIX_EPOCH};

    use rampart_server::{Cidr, INITIAL_PASSWORD_FILE, TrustedProxies};

    use crate::common::*;

    const MINUTE_MS: i64 = 60_000;
    const BAD_LOGIN: &str = "wrong e-mail address or password";

    fn now_ms() -> i64 {
        i64::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap()
    }

    fn now_secs() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    /// Asserts an error reply in the API's one shape (`code`, `message`,
    /// `request_id` matching `x-request-id`) and returns its message.
    #[track_caller]
    fn refused(reply: Reply, status: u16, code: &str) -> String {
        assert_eq!(reply.status.as_u16(), status, "{}", reply.text);
        let body = reply
            .body
            .as_object()
            .unwrap_or_else(|| panic!("not a JSON error: {}", reply.text));
        let mut keys: Vec<&str> = body.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["code", "message", "request_id"], "{}", reply.text);
        assert_eq!(body["code"], code, "{}", reply.text);
        let request_id = reply.headers["x-request-id"].to_str().unwrap();
        assert_eq!(body["request_id"], request_id, "{}", reply.text);
        body["message"].as_str().unwrap().to_owned()
    }

    async fn put(server: &TestServer, path: &str, cred: &Cred, body: Value) -> Reply {
        server.call(Method::PUT, path, cred, Some(body)).await
    }

    async fn patch(server: &TestServer, path: &str, cred: &Cred, body: Value) -> Reply {
        server.call(Method::PATCH, path, cred, Some(body)).await
    }

    async fn delete(server: &TestServer, path: &str, cred: &Cred) -> Reply {
        server.call(Method::DELETE, path, cred, None).await
    }

    /// A request whose body is sent byte for byte, with `content_type` if
    /// given and the API token `token` if given.
    async fn raw(
        server: &TestServer,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: &str,
    ) -> Reply {
        let mut request = reqwest::Client::new()
            .request(method, format!("{}{path}", server.url))
            .body(body.to_owned());
        if let Some(token) = token {
            request = request.header("x-api-key", token);
        }
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        Reply {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    /// The administrator's API token as a credential.
    async fn admin(server: &TestServer) -> Cred {
        Cred::Token(server.admin_token().await)
    }

    /// Logs in with [`PASSWORD`], asserting the stage the login lands in.
    async fn sign_in(server: &TestServer, email: &str, stage: &str) -> (Reply, Cred) {
        let (reply, session) = server.login(email, PASSWORD).await;
        let reply = reply.expect(200);
        assert_eq!(reply.body["stage"], stage, "{}", reply.text);
        (reply, session.unwrap())
    }

    /// The caller's principal id (`GET /api/me`).
    async fn my_id(server: &TestServer, cred: &Cred) -> String {
        let me = server.get("/api/me", cred).await.expect(200);
        me.body["id"].as_str().unwrap().to_owned()
    }

    /// Saves the account's auth settings (fields left out take their defaults).
    async fn set_auth_settings(server: &TestServer, admin: &Cred, settings: Value) {
        put(server, "/api/auth-settings", admin, settings)
            .await
            .expect(200);
    }

    /// Binds `role` over everything in the account to `principal`; returns
    /// the binding's identifier.
    async fn bind(server: &TestServer, admin: &Cred, principal: Value, role: &str) -> String {
        let binding = json!({
            "principal": principal,
            "role": role,
            "resource_group": "_all_resources_including_child_scopes",
        });
        let reply = server
            .post("/api/role-bindings", admin, binding)
            .await
            .expect(201);
        reply.body["identifier"].as_str().unwrap().to_owned()
    }

    /// The token value and id of a 201 from token creation or rotation.
    fn minted(reply: Reply) -> (String, String) {
        let reply = reply.expect(201);
        let token = reply.body["token"].as_str().unwrap().to_owned();
        let id = reply.body["info"]["id"].as_str().unwrap().to_owned();
        (token, id)
    }

    /// One page of `GET /api/audit?QUERY`.
    async fn audit(server: &TestServer, cred: &Cred, query: &str) -> Vec<Value> {
        let page = server
            .get(&format!("/api/audit?{query}"), cred)
            .await
            .expect(200);
        page.body["records"].as_array().unwrap().clone()
    }

    /// One field of each record.
    fn column(records: &[Value], field: &str) -> Vec<Value> {
        records.iter().map(|r| r[field].clone()).collect()
    }

    /// The `rampart_session` Set-Cookie header of a reply.
    fn set_cookie(reply: &Reply) -> String {
        reply
            .headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("rampart_session="))
            .unwrap_or_else(|| panic!("no session cookie: {:?}", reply.headers))
            .to_owned()
    }

    fn pyotp_code(secret: &str, at: u64) -> String {
        rampart_testkit::totp_codes_at(secret, &[at]).remove(0)
    }

    /// A well-formed code that no step near `at` accepts.
    fn wrong_code(secret: &str, at: u64) -> String {
        let valid = rampart_testkit::totp_codes_at(secret, &[at - 30, at, at + 30, at + 60]);
        ["000000", "123456", "999999"]
            .into_iter()
            .find(|c| !valid.iter().any(|v| v == c))
            .unwrap()
            .to_owned()
    }

    /// Starts TOTP enrolment; the enrolment (`secret`, `otpauth_uri`).
    async fn begin_totp(server: &TestServer, session: &Cred) -> Value {
        let reply = server
            .call(Method::POST, "/api/me/totp", session, None)
            .await
            .expect(200);
        reply.body
    }

    /// Confirms enrolment with the code of unix time `at` (which spends that
    /// step); returns the recovery codes.
    async fn confirm_totp(
        server: &TestServer,
        session: &Cred,
        secret: &str,
        at: u64,
    ) -> Vec<String> {
        let body = json!({"code": pyotp_code(secret, at)});
        let reply = server
            .post("/api/me/totp/confirm", session, body)
            .await
            .expect(200);
        assert_eq!(reply.body["stage"], "active", "{}", reply.text);
        reply.body["recovery_codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|code| code.as_str().unwrap().to_owned())
            .collect()
    }

    /// Enrols the session's user in TOTP now; the secret and the unix time
    /// whose step the confirmation spent.
    async fn enrol_totp(server: &TestServer, session: &Cred) -> (String, u64) {
        let enrolment = begin_totp(server, session).await;
        let secret = enrolment["secret"].as_str().unwrap().to_owned();
        let at = now_secs();
        confirm_totp(server, session, &secret, at).await;
        (secret, at)
    }

    async fn second_factor(server: &TestServer, session: &Cred, body: Value) -> Reply {
        server.post("/api/auth/mfa", session, body).await
    }

    /// Wrong passwords get the same answer as unknown users; the one-time
    /// admin password only reaches the password change, which enforces the
    /// policy and retires the initial password file.
    pub async fn one_time_password_and_password_policy(db: Db) {
        let server = TestServer::start(db).await;
        let password_file = server.data_dir.join(INITIAL_PASSWORD_FILE);
        assert!(password_file.exists());

        let (wrong, session) = server
            .login(&server.admin_email, "Not-The-Password-1")
            .await;
        assert!(session.is_none());
        let (unknown, _) = server
            .login("nobody@example.com", "Not-The-Password-1")
            .await;
        let elsewhere = json!({"account": "nowhere", "email": server.admin_email, "password": "x"});
        let elsewhere = server.post("/api/auth/login", &Cred::None, elsewhere).await;
        for reply in [wrong, unknown, elsewhere] {
            assert_eq!(refused(reply, 401, "unauthenticated"), BAD_LOGIN);
        }

        let one_time = server.admin_one_time_password.clone();
        let (login, session) = server.login(&server.admin_email, &one_time).await;
        let login = login.expect(200);
        assert_eq!(login.body["stage"], "password_change");
        assert_eq!(login.body["user"]["must_change_password"], true);
        let session = session.unwrap();
        for path in ["/api/users", "/api/me/api-keys", "/api/audit"] {
            let reply = server.get(path, &session).await;
            refused(reply, 403, "password_change_required");
        }
        let key = json!({"identifier": "k", "name": "k"});
        let reply = server.post("/api/me/api-keys", &session, key).await;
        refused(reply, 403, "password_change_required");
        let me = server.get("/api/me", &session).await.expect(200);
        assert_eq!(me.body["stage"], "password_change");

        let change =
            |current: &str, new: &str| json!({"current_password": current, "new_password": new});
        for (current, new, says) in [
            (
                one_time.as_str(),
                "Short-1",
                "password has 7 characters; use at least 12",
            ),
            (
                one_time.as_str(),
                "admin-Horse-Battery-9",
                "must not contain the username",
            ),
            (
                "Wrong-Current-Password-1",
                PASSWORD,
                "the current password is wrong",
            ),
            (
                one_time.as_str(),
                one_time.as_str(),
                "different from the current one",
            ),
        ] {
            let reply = put(&server, "/api/me/password", &session, change(current, new)).await;
            let message = refused(reply, 400, "bad_request");
            assert!(message.contains(says), "{message}");
        }
        assert!(
            password_file.exists(),
            "only a successful change retires it"
        );

        let changed = put(
            &server,
            "/api/me/password",
            &session,
            change(&one_time, PASSWORD),
        )
        .await
        .expect(200);
        assert_eq!(changed.body["stage"], "active");
        assert!(!password_file.exists());
        server.get("/api/users", &session).await.expect(200);
        let (old, _) = server.login(&server.admin_email, &one_time).await;
        assert_eq!(refused(old, 401, "unauthenticated"), BAD_LOGIN);
        sign_in(&server, &server.admin_email, "active").await;

        // A stricter policy applies to the next password anyone chooses.
        set_auth_settings(
            &server,
            &session,
            json!({"password_policy": {
                "min_length": 16, "require_uppercase": true, "require_lowercase": true,
                "require_digit": true, "require_special": true,
            }}),
        )
        .await;
        let created = server
            .post(
                "/api/users",
                &session,
                json!({"email": "new@example.com", "name": "New"}),
            )
            .await
            .expect(201);
        let one_time = created.body["one_time_password"].as_str().unwrap();
        let (_, newcomer) = server.login("new@example.com", one_time).await;
        let newcomer = newcomer.unwrap();
        let reply = put(
            &server,
            "/api/me/password",
            &newcomer,
            change(one_time, "onlylowercaseletters"),
        )
        .await;
        let message = refused(reply, 400, "bad_request");
        for says in ["policy", "uppercase", "digit", "not a letter or digit"] {
            assert!(message.contains(says), "{message}");
        }
        assert!(!message.contains("lowercase letter"), "{message}");
        put(
            &server,
            "/api/me/password",
            &newcomer,
            change(one_time, PASSWORD),
        )
        .await
        .expect(200);
        server.stop().await;
    }

    /// `max_failures` wrong passwords lock the user (then even the right
    /// password gets 429 with Retry-After), unknown users lock the same way,
    /// the failures and the lock are audited, and an admin unlock restores
    /// login.
    pub async fn lockout_and_unlock(db: Db) {
        let server = TestServer::start(db).await;
        let admin = admin(&server).await;
        set_auth_settings(
            &server,
            &admin,
            json!({"lockout": {"max_failures": 3, "lock_minutes": 2}}),
        )
        .await;
        let email = "locked@example.com";
        let user = server.create_user(&admin, email).await;
        for email in [email, "ghost@example.com"] {
            for _ in 0..3 {
                let (reply, _) = server.login(email, "Wrong-Password-123").await;
                assert_eq!(refused(reply, 401, "unauthenticated"), BAD_LOGIN);
            }
        }
        for (email, password) in [
            (email, PASSWORD),
            (email, "Wrong-Password-123"),
            ("ghost@example.com", PASSWORD),
        ] {
            let (reply, session) = server.login(email, password).await;
            assert!(session.is_none());
            let retry_after: u64 = reply.headers["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=120).contains(&retry_after), "{retry_after}");
            let message = refused(reply, 429, "too_many_attempts");
            assert!(message.contains("try again in"), "{message}");
        }
        let view = server
            .get(&format!("/api/users/{user}"), &admin)
            .await
            .expect(200);
        let locked_until = view.body["locked_until_ms"].as_i64().unwrap();
        assert!(locked_until > now_ms(), "{}", view.text);

        let failures = audit(
            &server,
            &admin,
            &format!("action=LOGIN_FAILED&resource_id={user}"),
        )
        .await;
        let reasons: Vec<Value> = failures
            .iter()
            .map(|r| r["details"]["reason"].clone())
            .collect();
        assert_eq!(
            reasons,
            [
                "locked",
                "locked",
                "wrong password",
                "wrong password",
                "wrong password"
            ]
        );
        for record in &failures {
            assert_eq!(record["actor"], "anonymous");
            assert_eq!(record["claimed"], email);
            assert_eq!(record["outcome"], "failure");
        }
        let locks = audit(&server, &admin, "action=ACCOUNT_LOCKED_OUT").await;
        assert_eq!(locks.len(), 1, "{locks:?}");
        assert_eq!(locks[0]["actor"], "system");
        assert_eq!(locks[0]["resource_id"], user.as_str());
        assert_eq!(locks[0]["details"]["locked_until_ms"], locked_until);

        let unlocked = server
            .post(&format!("/api/users/{user}/unlock"), &admin, json!({}))
            .await
            .expect(200);
        assert!(
            unlocked.body["locked_until_ms"].is_null(),
            "{}",
            unlocked.text
        );
        let unlocks = audit(&server, &admin, "action=ACCOUNT_UNLOCKED").await;
        assert_eq!(column(&unlocks, "resource_id"), [user.as_str()]);
        assert_eq!(
            unlocks[0]["actor"],
            format!("user:{}", my_id(&server, &admin).await)
        );
        sign_in(&server, email, "active").await;
        server.stop().await;
    }

    /// The password re-checks of a logged-in user (changing the password,
    /// turning TOTP off) count towards the lockout and, once it locks,
    /// refuse even the right password: a stolen session cannot guess the
    /// password there without limit.
    pub async fn password_rechecks_honour_the_lockout(db: Db) {
        let server = TestServer::start(db).await;
        let admin = admin(&server).await;
        set_auth_settings(&server, &admin, json!({"lockout": {"max_failures": 3}})).await;
        let change = |current: &str| json!({"current_password": current, "new_password": "Another-Horse-Battery-7"});
        let email = "rechecked@example.com";
        let user = server.create_user(&admin, email).await;
        let (_, session) = sign_in(&server, email, "active").await;
        for _ in 0..3 {
            let reply = put(
                &server,
                "/api/me/password",
                &session,
                change("Wrong-Password-123"),
            )
            .await;
            refused(reply, 400, "bad_request");
        }
        let reply = put(&server, "/api/me/password", &session, change(PASSWORD)).await;
        refused(reply, 429, "too_many_attempts");
        server
            .post(&format!("/api/users/{user}/unlock"), &admin, json!({}))
            .await
            .expect(200);
        put(&server, "/api/me/password", &session, change(PASSWORD))
            .await
            .expect(200);

        let email = "rechecked-totp@example.com";
        server.create_user(&admin, email).await;
        let (_, session) = sign_in(&server, email, "active").await;
        let (secret, t) = enrol_totp(&server, &session).await;
        let disable =
            |password: &str| json!({"password": password, "code": pyotp_code(&secret, t + 30)});
        for _ in 0..3 {
            let reply = server
                .post(
                    "/api/me/totp/disable",
                    &session,
                    disable("Wrong-Password-123"),
                )
                .await;
            refused(reply, 400, "bad_request");
        }
        let reply = server
            .post("/api/me/totp/disable", &session, disable(PASSWORD))
            .await;
        refused(reply, 429, "too_many_attempts");
        let me = server.get("/api/me", &session).await.expect(200);
        assert_eq!(me.body["user"]["two_factor_enabled"], true);
        server.stop().await;
    }

    /// Wrong second factors count towards the lockout across logins: the
    /// right password alone does not reset the count, or knowing it would
    /// allow guessing TOTP codes without limit.
    pub async fn second_factor_guesses_are_limited(db: Db) {
        let server = TestServer::start(db).await;
        let admin = admin(&server).await;
        set_auth_settings(&server, &admin, json!({"lockout": {"max_failures": 3}})).await;
        let email = "guessed@example.com";
        let user = server.create_user(&admin, email).await;
        let (_, session) = sign_in(&server, email, "active").await;
        let (secret, t) = enrol_totp(&server, &session).await;
        let wrong = json!({"code": wrong_code(&secret, t)});
        for guesses in [2, 1] {
            let (_, pending) = sign_in(&server, email, "second_factor").await;
            for _ in 0..guesses {
                let reply = second_factor(&server, &pending, wrong.clone()).await;
                refused(reply, 401, "unauthenticated");
            }
        }
        let (login, _) = server.login(email, PASSWORD).await;
        refused(login, 429, "too_many_attempts");
        let locks = audit(&server, &admin, "action=ACCOUNT_LOCKED_OUT").await;
        assert_eq!(column(&locks, "resource_id"), [user.as_str()]);
        server.stop().await;
    }

    /// TOTP enrolment (URI, pyotp-computed confirmation, recovery codes);
    /// the second factor gates a login, wrong and replayed codes are
    /// refused, a recovery code works once; disabling needs password and
    /// a fresh code.
    pub async fn totp_second_factor(db: Db) {
        let server = TestServer::start(db).await;
        let admin = admin(&server).await;
        let email = "totp@example.com";
        let user = server.create_user(&admin, email).await;
        let (_, session) = sign_in(&server, email, "active").await;

        let enrolment = begin_totp(&server, &session).await;
        let secret = enrolment["secret"].as_str().unwrap();
        let uri = enrolment["otpauth_uri"].as_str().unwrap();
        let (label, query) = uri.split_once('?').unwrap();
        assert_eq!(label, "otpauth://totp/Rampart:totp%40example.com");
        let params: HashMap<&str, &str> =
            query.split('&').filter_map(|p| p.split_once('=')).collect();
        let expected = HashMap::from([
            ("secret", secret),
            ("issuer", "Rampart"),
            ("algorithm", "SHA1"),
            ("digits", "6"),
            ("period", "30"),
        ]);
        assert_eq!(params, expected, "{uri}");

        let t = now_secs();
        let wrong = wrong_code(secret, t);
        let reply = server
            .post("/api/me/totp/confirm", &session, json!({"code": wrong}))
            .await;
        let message = refused(reply, 400, "bad_request");
        assert!(message.contains("enrolment stays pending"), "{message}");
        let me = server.get("/api/me", &session).await.expect(200);
        assert_eq!(me.body["user"]["two_factor_enabled"], false);
        let recovery = confirm_totp(&server, &session, secret, t).await;
        assert_eq!(recovery.len(), 10);
        for code in &recovery {
            let groups: Vec<&str> = code.split('-').collect();
            assert!(
                groups.len() == 4 && groups.iter().all(|g| g.len() == 4),
                "{code}"
            );
        }
        let me = server.get("/api/me", &session).await.expect(200);
        assert_eq!(me.body["user"]["two_factor_enabled"], true);
        let again = server
            .call(Method::POST, "/api/me/totp", &session, None)
            .await;
        refused(again, 409, "conflict");

        // The confirmation spent step t; the next step is the first one
        // left (accepted as one step of drift).
        let (_, pending) = sign_in(&server, email, "second_factor").await;
        let reply = server.get("/api/me/api-keys", &pending).await;
        refused(reply, 403, "second_factor_required");
        let me = server.get("/api/me", &pending).await.expect(200);
        assert_eq!(me.body["stage"], "second_factor");
        let reply = second_factor(&server, &pending, json!({"code": wrong})).await;
        refused(reply, 401, "unauthenticated");
        let reply = second_factor(&server, &pending, json!({"code": pyotp_code(secret, t)})).await;
        let message = refused(reply, 401, "unauthenticated");
        assert!(message.contains("already used"), "{message}");
        let both = json!({"code": pyotp_code(secret, t + 30), "recovery_code": recovery[0]});
        refused(
            second_factor(&server, &pending, both).await,
            400,
            "bad_request",
        );
        let next = pyotp_code(secret, t + 30);
        let done = second_factor(&server, &pending, json!({"code": next}))
            .await
            .expect(200);
        assert_eq!(done.body["stage"], "active");
        server.get("/api/me/api-keys", &pending).await.expect(200);

        let (_, replaying) = sign_in(&server, email, "second_factor").await;
        let reply = second_factor(&server, &replaying, json!({"code": next})).await;
        let message = refused(reply, 401, "unauthenticated");
        assert!(message.contains("already used"), "{message}");
        let used = json!({"recovery_code": recovery[0]});
        let done = second_factor(&server, &replaying, used.clone())
            .await
            .expect(200);
        assert_eq!(done.body["stage"], "active");
        let (_, third) = sign_in(&server, email, "second_factor").await;
        let message = refused(
            second_factor(&server, &third, used).await,
            401,
            "unauthenticated",
        );
        assert!(message.contains("already used"), "{message}");
        second_factor(&server, &third, json!({"recovery_code": recovery[1]}))
            .await
            .expect(200);
        let spent = audit(&server, &admin, "action=RECOVERY_CODE_USED").await;
        let remaining: Vec<Value> = spent
            .iter()
            .map(|r| r["details"]["remaining"].clone())
            .collect();
        assert_eq!(remaining, [8, 9]);
        let logins = audit(
            &server,
            &admin,
            &format!("action=LOGIN_SUCCEEDED&resource_id={user}"),
        )
        .await;
        let factors: Vec<Value> = logins
            .iter()
            .map(|r| r["details"]["factors"].clone())
            .collect();
        assert_eq!(
            factors,
            [
                "password+recovery_code",
                "password+recovery_code",
                "password+totp",
                "password",
                "password"
            ]
        );

        // An admin's 2FA reset (a lost device) ends the user's sessions.
        let (_, session) = sign_in(&server, email, "second_factor").await;
        second_factor(&server, &session, json!({"recovery_code": recovery[2]}))
            .await
            .expect(200);
        let reset = server
            .post(&format!("/api/users/{user}/reset-2fa"), &admin, json!({}))
            .await
            .expect(200);
        assert_eq!(reset.body["two_factor_enabled"], false);
        refused(
            server.get("/api/me", &session).await,
            401,
            "unauthenticated",
        );
        sign_in(&server, email, "active").await;

        // Disabling, by a second user whose next step is still unused.
        let email = "totp-off@example.com";
        let other = server.create_user(&admin, email).await;
        let (_, session) = sign_in(&server, email, "active").await;
        let (secret, t) = enrol_totp(&server, &session).await;
        let disable = |password: &str, code: String| json!({"password": password, "code": code});
        let next = pyotp_code(&secret, t + 30);
        let reply = server
            .post(
                "/api/me/totp/disable",
                &session,
                disable("Wrong-Password-123", next.clone()),
            )
            .await;
        assert_eq!(refused(reply, 400, "bad_request"), "the password is wrong");
        let reply = server
            .post(
                "/api/me/totp/disable",
                &session,
                disable(PASSWORD, wrong_code(&secret, t)),
            )
            .await;
        refused(reply, 401, "unauthenticated");
        server
            .post("/api/me/totp/disable", &session, disable(PASSWORD, next))
            .await
            .expect(204);
        let (login, _) = sign_in(&server, email, "active").await;
        assert_eq!(login.body["user"]["two_factor_enabled"], false);
        let disabled = audit(&server, &admin, "action=TWO_FACTOR_DISABLED").await;
        assert_eq!(
            column(&disabled, "resource_id"),
            [other.as_str(), user.as_str()]
        );
        assert_eq!(disabled[1]["details"]["reset_by_admin"], true);
        assert!(disabled[0]["details"]["reset_by_admin"].is_null());
        server.stop().await;
    }

    /// With 2FA enforced, a user without it lands in enrolment and reaches
    /// nothing but enrolment until confirmed; new users change their
    /// password first; TOTP cannot be turned off.
    pub async fn two_factor_enforcement(db: Db) {
        let server = TestServer::start(db).await;
        let admin = admin(&server).await;
        let email = "enrol@example.com";
        server.create_user(&admin, email).await;
        let saved = put(
            &server,
            "/api/auth-settings",
            &admin,
            json!({"two_factor_enforced": true}),
        )
        .await
        .expect(200);
        assert_eq!(saved.body["two_factor_enforced"], true);
        let changes = audit(&server, &admin, "action=TWO_FACTOR_ENFORCEMENT_CHANGED").await;
        assert_eq!(changes.len(), 1, "{changes:?}");

        let (_, session) = sign_in(&server, email, "two_factor_enrolment").await;
        let reply = server.get("/api/me/api-keys", &session).await;
        refused(reply, 403, "two_factor_enrolment_required");
        let change =
            json!({"current_password": PASSWORD, "new_password": "Another-Horse-Battery-7"});
        let reply = put(&server, "/api/me/password", &session, change).await;
        refused(reply, 403, "two_factor_enrolment_required");
        let me = server.get("/api/me", &session).await.expect(200);
        assert_eq!(me.body["stage"], "two_factor_enrolment");
        enrol_totp(&server, &session).await;
        server.get("/api/me/api-keys", &session).await.expect(200);
        let off = json!({"password": PASSWORD, "code": "000000"});
        let reply = server.post("/api/me/totp/disable", &session, off).await;
        let message = refused(reply, 409, "conflict");
        assert!(message.contains("enforces two-factor"), "{message}");
        sign_in(&server, email, "second_factor").await;

        let created = server
            .post(
                "/api/users",
                &admin,
                json!({"email": "late@example.com", "name": "Late"}),
            )
            .await
            .expect(201);
        let one_time = created.body["one_time_password"].as_str().unwrap();
        let (login, newcomer) = server.login("late@example.com", one_time).await;
        assert_eq!(login.expect(200).body["stage"], "password_change");
        let newcomer = newcomer.unwrap();
        let change = json!({"current_password": one_time, "new_password": PASSWORD});
        let changed = put(&server, "/api/me/password", &newcomer, change)
            .await
            .expect(200);
        assert_eq!(changed.body["stage"], "two_factor_enrolment");
        let reply = server.get("/api/me/api-keys", &newcomer).await;
        refused(reply, 403, "two_factor_enrolment_required");
        server.stop().await;
    }

    /// The session cookie's attributes; writes need this session's CSRF
    /// token (reads do not); logout ends the session and clears the cookie.
    pub async fn session_cookie_csrf_and_logout(db: Db) {
        let server = TestServer::start(db).await;
        let admin = admin(&server).await;
        let email = "browser@example.com";
        let user = server.create_user(&admin, email).await;
        // `sign_in` checks HttpOnly, Secure and SameSite=Strict.
        let (login, session) = sign_in(&server, email, "active").await;
        let cookie = set_cookie(&login);
        assert!(cookie.contains("; Path=/"), "{cookie}");
        assert!(cookie.contains("; Max-Age=604800"), "{cookie}");
        let Cred::Session { cookie, csrf } = session.clone() else {
            unreachable!()
        };
        let (_, other) = sign_in(&server, email, "active").await;
        let Cred::Session {
            csrf: other_csrf, ..
        } = other
        else {
            unreachable!()
        };
        assert_ne!(csrf, other_csrf);

        let key = json!({"identifier": "k1", "name": "k1"});
        for csrf in [None, other_csrf, Some("not-a-csrf-token".to_owned())] {
            let forged = Cred::Session {
                cookie: cookie.clone(),
                csrf,
            };
            let reply = server.post("/api/me/api-keys", &forged, key.clone()).await;
            let message = refused(reply, 403, "csrf");
            assert!(message.contains("x-csrf-token"), "{message}");
        }
        server
            .post("/api/me/api-keys", &session, key)
            .await
            .expect(201);
        let without = Cred::Session {
            cookie: cookie.clone(),
            csrf: None,
        };
        let keys = server.get("/api/me/api-keys", &without).await.expect(200);
        assert_eq!(column(keys.body.as_array().unwrap(), "identifier"), ["k1"]);
        let reply = server
            .call(Method::POST, "/api/auth/logout", &without, None)
            .await;
        refused(reply, 403, "csrf");

        let out = server
            .call(Method::POST, "/api/auth/logout", &session, None)
            .await
            .expect(204);
        assert!(session_cookie(&out).is_none(), "the cookie is cleared");
        assert!(set_cookie(&out).contains("Max-Age=0"));
        let message = refused(
            server.get("/api/me", &session).await,
            401,
            "unauthenticated",
        );
        assert!(message.contains("session has ended"), "{message}");
        let logouts = audit(&server, &admin, "action=LOGOUT").await;
        assert_eq!(column(&logouts, "resource_id"), [user.as_str()]);
        let garbage = Cred::Session {
            cookie: "rms_garbage".into(),
            csrf: None,
        };
        refused(
            server.get("/api/me", &garbage).await,
            401,
            "unauthenticated",
        );
        server.stop().await;
    }

    /// A session unused for the inactivity timeout, or past its absolute
    /// end, is refused and stays ended.
    pub async fn session_timeouts(db: Db) {
        let server = TestServer::start(db).await;
        let admin = admin(&server).await;
        set_auth_settings(
            &server,
            &admin,
            json!({"session_inactivity_minutes": 5, "session_absolute_minutes": 60}),
        )
        .await;
        let email = "idle@example.com";
        let user = server.create_user(&admin, email).await;
        let (login, session) = sign_in(&server, email, "active").await;
        let lifetime = login.body["expires_at_ms"].as_i64().unwrap() - now_ms();
        assert!(
            (59 * MINUTE_MS..=60 * MINUTE_MS).contains(&lifetime),
            "{lifetime}"
        );
        assert!(set_cookie(&login).contains("; Max-Age=3600"));
        let live = format!("WHERE user_id = '{user}' AND revoked_at_ms IS NULL");

        let idle = |minutes: i64| {
            format!(
                "UPDATE sessions SET last_seen_ms = {} {live}",
                now_ms() - minutes * MINUTE_MS
            )
        };
        server.sql(&idle(4)).await;
        server.get("/api/me", &session).await.expect(200);
        server.sql(&idle(6)).await;
        let message = refused(
            server.get("/api/me", &session).await,
            401,
            "unauthenticated",
        );
        assert!(message.contains("session has ended"), "{message}");
        server
            .sql(&format!(
                "UPDATE sessions SET last_seen_ms = {} WHERE user_id = '{user}'",
                now_ms()
            ))
            .await;
        refused(
            server.get("/api/me", &session).await,
            401,
            "unauthenticated",
        );

        let (_, session) = sign_in(&server, email, "active").await;
        server.get("/api/me", &session).await.expect(200);
        server
            .sql(&format!(
                "UPDATE sessions SET created_at_ms = created_at_ms - {back}, \
                 expires_at_ms = expires_at_ms - {back} {live}",
                back = 61 * MINUTE_MS
            ))
            .await;
        refused(
            server.get("/api/me", &session).await,
            401,
            "unauthenticated",
        );
        server.stop().await;
    }

    /// Changing one's password ends the user's other sessions (not the one
    /// used); an admin's password reset ends all of them.
    pub async fn password_changes_end_sessions(db: Db) {
        let server = TestServer::start(db).await;
        let admin = admin(&server).await;
        let email = "reset@example.com";
        let user = server.create_user(&admin, email).await;
        let (_, here) = sign_in(&server, email, "active").await;
        let (_, elsewhere) = sign_in(&server, email, "active").await;
        let change =
            json!({"current_password": PASSWORD, "new_password": "Another-Horse-Battery-7"});
        put(&server, "/api/me/password", &here, change)
            .await
            .expect(200);
        server.get("/api/me", &here).await.expect(200);
        refused(
            server.get("/api/me", &elsewhere).await,
            401,
            "unauthenticated",
        );

        let reset = server
            .post(
                &format!("/api/users/{user}/reset-password"),
                &admin,
                json!({}),
            )
            .await
            .expect(200);
        assert_eq!(reset.body["user"]["must_change_password"], true);
        refused(server.get("/api/me", &here).await, 401, "unauthenticated");
        let (old, _) = server.login(email, "Another-Horse-Battery-7").await;
        refused(old, 401, "unauthenticated");
        let one_time = reset.body["one_time_password"].as_str().unwrap();
        let (login, _) = server.login(email, one_time).await;
        assert_eq!(login.expect(200).body["stage"], "password_change");
        let changes = audit(
            &server,
            &admin,
            &format!("action=PASSWORD_CHANGED&resource_id={user}"),
        )
        .await;
        let by_admin: Vec<Value> = changes
            .iter()
            .map(|r| r["details"]["reset_by_admin"].clone())
            .collect();
        assert_eq!(by_admin, [json!(true), Value::Null, Value::Null]);
        server.stop().await;
    }

    /// A personal token is shown once, works in either header (not two
    /// different ones), fails when mistyped, rotates (at once or with a grace period), revokes at once
    /// and stops at its expiry.
    pub async fn personal_token_lifecycle(db: Db) {
        let server = TestServer::start(db).await;
        let session = server.admin_session().await;
        let created = server
            .request_token(&session, "ci", json!({"name": "ci"}))
            .await
            .expect(201);
        assert_eq!(created.body["info"]["status"], "active");
        assert!(created.body["info"]["expires_at_ms"].is_null());
        let (token, id) = minted(created);
        assert!(token.starts_with("rmp_") && token.len() == 68, "{token}");
        let secret_part = &token[4..];
        let tokens = server
            .get("/api/me/api-keys/ci/tokens", &session)
            .await
            .expect(200);
        assert_eq!(column(tokens.body.as_array().unwrap(), "id"), [id.as_str()]);
        for path in [
            "/api/me/api-keys/ci/tokens",
            "/api/me/api-keys/ci",
            "/api/me/api-keys",
            "/api/audit",
        ] {
            let reply = server.get(path, &session).await.expect(200);
            assert!(!reply.text.contains(secret_part), "{path} shows the token");
        }

        for cred in [Cred::Token(token.clone()), Cred::Bearer(token.clone())] {
            let me = server.get("/api/me", &cred).await.expect(200);
            assert_eq!(me.body["authenticated_by"], "token");
            assert_eq!(me.body["kind"], "user");
        }
        let mut typo = token.clone();
        let last = if typo.ends_with('A') { "B" } else { "A" };
        typo.replace_range(typo.len() - 1.., last);
        let message = refused(
            server.get("/api/me", &Cred::Token(typo)).await,
            401,
            "unauthenticated",
        );
        assert!(message.contains("checksum"), "{message}");
        // A token cannot entrench itself: credentials change by session only.
        let change =
            json!({"current_password": PASSWORD, "new_password": "Another-Horse-Battery-7"});
        let as_token = Cred::Token(token.clone());
        for reply in [
            put(&server, "/api/me/password", &as_token, change).await,
            server
                .call(Method::POST, "/api/me/totp", &as_token, None)
                .await,
            server
                .post(
                    "/api/me/api-keys/ci/tokens",
                    &as_token,
                    json!({"name": "bred"}),
                )
                .await,
        ] {
            let message = refused(reply, 403, "forbidden");
            assert!(message.contains("needs a login session"), "{message}");
        }

        // Rotation, by default: the old value stops at once.
        let rotate = |id: &str| format!("/api/me/api-keys/ci/tokens/{id}/rotate");
        let reply = server
            .post(&rotate(&id), &Cred::Token(token.clone()), json!({}))
            .await;
        refused(reply, 403, "forbidden");
        let (second, second_id) = minted(server.post(&rotate(&id), &session, json!({})).await);
        let message = refused(
            server.get("/api/me", &Cred::Token(token)).await,
            401,
            "unauthenticated",
        );
        assert!(message.contains("rotated"), "{message}");
        server
            .get("/api/me", &Cred::Token(second.clone()))
            .await
            .expect(200);
        refused(
            server.post(&rotate(&id), &session, json!({})).await,
            409,
            "conflict",
        );

        // With a grace period both values work until it ends.
        let too_far = json!({"old_token_expires_at_ms": now_ms() + 31 * 24 * 60 * MINUTE_MS});
        refused(
            server.post(&rotate(&second_id), &session, too_far).await,
            400,
            "bad_request",
        );
        let grace_end = now_ms() + 10 * MINUTE_MS;
        let graced = json!({"old_token_expires_at_ms": grace_end});
        let (third, third_id) = minted(server.post(&rotate(&second_id), &session, graced).await);
        server
            .get("/api/me", &Cred::Token(second.clone()))
            .await
            .expect(200);
        server
            .get("/api/me", &Cred::Token(third.clone()))
            .await
            .expect(200);
        let bearer = format!("Bearer {third}");
        let reply = server
            .call_with(
                Method::GET,
                "/api/me",
                &Cred::Token(second.clone()),
                None,
                &[("authorization", &bearer)],
            )
            .await;
        let message = refused(reply, 401, "unauthenticated");
        assert!(message.contains("different tokens"), "{message}");
        let tokens = server
            .get("/api/me/api-keys/ci/tokens", &session)
            .await
            .expect(200);
        let by_id: HashMap<&str, &Value> = tokens
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["id"].as_str().unwrap(), t))
            .collect();
        assert_eq!(by_id[id.as_str()]["status"], "rotated");
        assert_eq!(by_id[second_id.as_str()]["status"], "rotated");
        assert_eq!(by_id[second_id.as_str()]["rotated_grace_end_ms"], grace_end);
        assert_eq!(by_id[third_id.as_str()]["status"], "active");

        delete(
            &server,
            &format!("/api/me/api-keys/ci/tokens/{third_id}"),
            &session,
        )
        .await
        .expect(204);
        let message = refused(
            server.get("/api/me", &Cred::Token(third)).await,
            401,
            "unauthenticated",
        );
        assert!(message.contains("revoked"), "{message}");

        let past = json!({"name": "past", "expires_at_ms": now_ms() - 1000});
        let message = refused(
            server.request_token(&session, "ci", past).await,
            400,
            "bad_request",
        );
        assert!(message.contains("not in the future"), "{message}");
        let soon = json!({"name": "soon", "expires_at_ms": now_ms() + 60 * MINUTE_MS});
        let (expiring, expiring_id) = minted(server.request_token(&session, "ci", soon).await);
        server
            .sql(&format!(
                "UPDATE api_tokens SET expires_at_ms = {} WHERE token_id = '{expiring_id}'",
                now_ms() - 1000
            ))
            .await;
        let message = refused(
            server.get("/api/me", &Cred::Token(expiring)).await,
            401,
            "unauthenticated",
        );
        assert!(message.contains("expired"), "{message}");
        // An expired token is dead: it cannot be rotated into a live one.
        let rotate = format!("/api/me/api-keys/ci/tokens/{expiring_id}/rotate");
        let message = refused(
            server.post(&rotate, &session, json!({})).await,
            409,
            "conflict",
        );
        assert!(message.contains("expired"), "{message}");

        // Deleting the key ends its tokens, even one within its grace period.
        server
            .get("/api/me", &Cred::Token(second.clone()))
            .await
            .expect(200);
        delete(&server, "/api/me/api-keys/ci", &session)
            .await
            .expect(204);
        refused(
            server.get("/api/me", &Cred::Token(second)).await,
            401,
            "unauthenticated",
        );
        server.stop().await;
    }

    /// `max_token_lifetime_days` refuses tokens without an expiry or with a
    /// later one, at creation and at rotation.
    pub async fn token_lifetime_limit(db: Db) {
        let server = TestServer::start(db).await;
        let session = server.admin_session().await;
        let (forever, forever_id) = minted(
            server
                .request_token(&session, "k", json!({"name": "forever"}))
                .await,
        );
        set_auth_settings(&server, &session, json!({"max_token_lifetime_days": 1})).await;
        let day = 24 * 60 * MINUTE_MS;
        for request in [
            json!({"name": "unbounded"}),
            json!({"name": "two days", "expires_at_ms": now_ms() + 2 * day}),
        ] {
            let message = refused(
                server.request_token(&session, "k", request).await,
                400,
                "bad_request",
            );
            assert!(message.contains("at most 86400 seconds"), "{message}");
        }
        let half = json!({"name": "half a day", "expires_at_ms": now_ms() + day / 2});
        minted(server.request_token(&session, "k", half).await);

        let rotate = format!("/api/me/api-keys/k/tokens/{forever_id}/rotate");
        let reply = server.post(&rotate, &session, json!({})).await;
        refused(reply, 400, "bad_request");
        server
            .get("/api/me", &Cred::Token(forever))
            .await
            .expect(200);
        let bounded = json!({"expires_at_ms": now_ms() + 60 * MINUTE_MS});
        let (rotated, _) = minted(server.post(&rotate, &session, bounded).await);
        server
            .get("/api/me", &Cred::Token(rotated))
            .await
            .expect(200);
        server.stop().await;
    }

    /// A service account with a role binding gets a key and a token, which
    /// act as the service account with exactly its role; whoever mints one
    /// must hold what it would carry (or narrow it).
    pub async fn service_account_tokens(db: Db) {
        let server = TestServer::start(db).await;
        let admin = admin(&server).await;
        let account = server
            .post(
                "/api/service-accounts",
                &admin,
                json!({"identifier": "builder", "name": "Builder"}),
            )
            .await
            .expect(201);
        let sa = account.body["id"].as_str().unwrap().to_owned();
        bind(
            &server,
            &admin,
            json!({"type": "service_account", "id": sa}),
            "_account_viewer",
        )
        .await;
        server
            .post(
                "/api/service-accounts/builder/api-keys",
                &admin,
                json!({"identifier": "main", "name": "main"}),
            )
            .await
            .expect(201);
        let tokens = "/api/service-accounts/builder/api-keys/main/tokens";
        let (token, id) = minted(server.post(tokens, &admin, json!({"name": "ci"})).await);
        let cred = Cred::Token(token.clone());
        let me = server.get("/api/me", &cred).await.expect(200);
        assert_eq!(me.body["kind"], "service_account");
        assert_eq!(me.body["id"], sa.as_str());
        server.get("/api/users", &cred).await.expect(200);
        let user = json!({"email": "x@example.com", "name": "X"});
        refused(
            server.post("/api/users", &cred, user).await,
            403,
            "forbidden",
        );
        let denied = audit(&server, &admin, "action=ACCESS_DENIED").await;
        assert_eq!(column(&denied, "actor"), [format!("service_account:{sa}")]);
        assert_eq!(denied[0]["details"]["token_id"], id.as_str());
        let listed = server.get(tokens, &admin).await.expect(200);
        assert_eq!(column(listed.body.as_array().unwrap(), "id"), [id.as_str()]);
        assert!(!listed.text.contains(&token[4..]));

        delete(&server, &format!("{tokens}/{id}"), &admin)
            .await
            .expect(204);
        refused(server.get("/api/me", &cred).await, 401, "unauthenticated");

        // Managing the keys is not a way to become the service account: a
        // token may carry only what its minter holds.
        let role = json!({
            "identifier": "sa_keys",
            "name": "SA keys",
            "permissions": ["core_serviceaccount_view", "core_serviceaccount_manageapikey"],
        });
        server.post("/api/roles", &admin, role).await.expect(201);
        let keeper = server.create_user(&admin, "keeper@example.com").await;
        bind(
            &server,
            &admin,
            json!({"type": "user", "id": keeper}),
            "sa_keys",
        )
        .await;
        let (_, keeper) = sign_in(&server, "keeper@example.com", "active").await;
        let reply = server.post(tokens, &keeper, json!({"name": "mine"})).await;
        let message = refused(reply, 403, "forbidden");
        assert!(message.contains("core_user_view"), "{message}");
        let narrowed = json!({"name": "mine", "permissions": ["core_serviceaccount_view"]});
        let (token, _) = minted(server.post(tokens, &keeper, narrowed).await);
        let cred = Cred::Token(token);
        server.get("/api/service-accounts", &cred).await.expect(200);
        refused(server.get("/api/users", &cred).await, 403, "forbidden");
        server.stop().await;
    }

    /// Someone who may see no role bindings gets the same 403 whether the
    /// binding asked for exists or not; an administrator gets 404 for one
    /// that does not.
    pub async fn binding_existence_is_not_disclosed(db: Db) {
        let server = TestServer::start(db).await;
        let admin = admin(&server).await;
        server.create_user(&admin, "nobody@example.com").await;
        let (_, nobody) = sign_in(&server, "nobody@example.com", "active").await;
        let existing = "/api/role-bindings/initial_admin";
        let missing = "/api/role-bindings/no_such_binding";
        let seen = refused(server.get(existing, &nobody).await, 403, "forbidden");
        let unseen = refused(server.get(missing, &nobody).await, 403, "forbidden");
        assert_eq!(seen, unseen);
        server.get(existing, &admin).await.expect(200);
        refused(server.get(missing, &admin).await, 404, "not_found");
        server.stop().await;
    }

    /// Editing a custom role cannot grant, through bindings that use it in
    /// child scopes, what the editor does not hold there: an Organization
    /// Admin over the organization's own resources only may not add
    /// `core_pipeline_execute` to a role a project binding uses.
    pub async fn role_edits_reach_no_further_than_the_editor(db: Db) {
        let server = TestServer::start(db).await;
        let admin = admin(&server).await;
        server
            .post(
                "/api/orgs",
                &admin,
                json!({"identifier": "o1", "name": "O1"}),
            )
            .await
            .expect(201);
        server
            .post(
                "/api/orgs/o1/projects",
                &admin,
                json!({"identifier": "p1", "name": "P1"}),
            )
            .await
            .expect(201);
        let editor_id = server.create_user(&admin, "editor@example.com").await;
        let member_id = server.create_user(&admin, "member@example.com").await;
        server
            .post(
                "/api/role-bindings?org=o1",
                &admin,
                json!({
                    "principal": {"type": "user", "id": editor_id},
                    "role": "_organization_admin",
                    "resource_group": "_all_organization_level_resources",
                }),
            )
            .await
            .expect(201);
        server
            .post(
                "/api/roles?org=o1",
                &admin,
                json!({"identifier": "builder", "name": "Builder", "permissions": ["core_pipeline_view"]}),
            )
            .await
            .expect(201);
        server
            .post(
                "/api/role-bindings?org=o1&project=p1",
                &admin,
                json!({
                    "principal": {"type": "user", "id": member_id},
                    "role": "builder",
                    "resource_group": "_all_project_level_resources",
                }),
            )
            .await
            .expect(201);
        let (_, editor) = sign_in(&server, "editor@example.com", "active").await;
        let wider = json!({"name": "Builder", "permissions": ["core_pipeline_view", "core_pipeline_execute"]});
        let message = refused(
            put(&server, "/api/roles/builder?org=o1", &editor, wider.clone()).await,
            403,
            "forbidden",
        );
        assert!(message.contains("core_pipeline_execute"), "{message}");
        // The role is unchanged; the account's administrator may widen it.
        let role = server
            .get("/api/roles/builder?org=o1", &admin)
            .await
            .expect(200);
        assert_eq!(
            role.body["permissions"],
            json!(["core_pipeline_view"]),
            "{}",
            role.text
        );
        put(&server, "/api/roles/builder?org=o1", &admin, wider)
            .await
            .expect(200);
        server.stop().await;
    }

    /// A token carries its owner's permissions as they are at each request:
    /// removing a role binding or a group membership denies at once, a
    /// disabled owner's token stops (and works again once re-enabled), a
    /// deleted owner's is gone.
    pub async fn authorization_follows_the_owner(db: Db) {
        let server = TestServer::start(db).await;
        let admin = admin(&server).await;
        let email = "viewer@example.com";
        let user = server.create_user(&admin, email).await;
        let (_, session) = sign_in(&server, email, "active").await;
        let token = Cred::Token(server.personal_token(&session, "k", None).await);
        refused(server.get("/api/users", &token).await, 403, "forbidden");

        let binding = bind(
            &server,
            &admin,
            json!({"type": "user", "id": user}),
            "_account_viewer",
        )
        .await;
        let users = server.get("/api/users", &token).await.expect(200);
        assert!(column(users.body.as_array().unwrap(), "email").contains(&json!(email)));
        delete(&server, &format!("/api/role-bindings/{binding}"), &admin)
            .await
            .expect(204);
        refused(server.get("/api/users", &token).await, 403, "forbidden");

        server
            .post(
                "/api/user-groups",
                &admin,
                json!({"identifier": "viewers", "name": "Viewers"}),
            )
            .await
            .expect(201);
        bind(
            &server,
            &admin,
            json!({"type": "user_group", "identifier": "viewers"}),
            "_account_viewer",
        )
        .await;
        refused(server.get("/api/users", &token).await, 403, "forbidden");
        let join = json!({"user": user});
        let members = server
            .post("/api/user-groups/viewers/members", &admin, join.clone())
            .await
            .expect(200);
        assert_eq!(members.body, json!([user]));
        server.get("/api/users", &token).await.expect(200);
        delete(
            &server,
            &format!("/api/user-groups/viewers/members/{user}"),
            &admin,
        )
        .await
        .expect(204);
        refused(server.get("/api/users", &token).await, 403, "forbidden");

        server
            .post("/api/user-groups/viewers/members", &admin, join)
            .await
            .expect(200);
        server.get("/api/users", &token).await.expect(200);
        let path = format!("/api/users/{user}");
        patch(&server, &path, &admin, json!({"disabled": true}))
            .await
            .expect(200);
        let message = refused(
            server.get("/api/users", &token).await,
            401,
            "unauthenticated",
        );
        assert!(message.contains("owner is disabled"), "{message}");
        refused(
            server.get("/api/me", &session).await,
            401,
            "unauthenticated",
        );
        let (login, _) = server.login(email, PASSWORD).await;
        assert_eq!(refused(login, 401, "unauthenticated"), BAD_LOGIN);
        patch(&server, &path, &admin, json!({"disabled": false}))
            .await
            .expect(200);
        server.get("/api/users", &token).await.expect(200);
        refused(
            server.get("/api/me", &session).await,
            401,
            "unauthenticated",
        );
        delete(&server, &path, &admin).await.expect(204);
        let message = refused(server.get("/api/me", &token).await, 401, "unauthenticated");
        assert!(message.contains("the API token is not valid"), "{message}");
        server.stop().await;
    }

    /// A narrowed token has only the permissions it names (and the owner
    /// holds), also after rotation; naming one the owner lacks is accepted
    /// but grants nothing.
    pub async fn narrowed_tokens(db: Db) {
        let server = TestServer::start(db).await;
        let session = server.admin_session().await;
        let narrow = Cred::Token(
            server
                .personal_token(&session, "narrow", Some(&["core_audit_view"]))
                .await,
        );
        server.get("/api/audit", &narrow).await.expect(200);
        server.get("/api/audit/verify", &narrow).await.expect(200);
        let message = refused(server.get("/api/users", &narrow).await, 403, "forbidden");
        assert!(message.contains("core_user_view"), "{message}");
        let listed = server
            .get("/api/me/api-keys/narrow/tokens", &session)
            .await
            .expect(200);
        assert_eq!(listed.body[0]["permissions"], json!(["core_audit_view"]));
        let denied = audit(&server, &session, "action=ACCESS_DENIED").await;
        assert_eq!(denied[0]["details"]["token_id"], listed.body[0]["id"]);
        assert_eq!(denied[0]["details"]["permission"], "core_user_view");
        let rotate = format!(
            "/api/me/api-keys/narrow/tokens/{}/rotate",
            listed.body[0]["id"].as_str().unwrap()
        );
        let (rotated, _) = minted(server.post(&rotate, &session, json!({})).await);
        let rotated = Cred::Token(rotated);
        server.get("/api/audit", &rotated).await.expect(200);
        refused(server.get("/api/users", &rotated).await, 403, "forbidden");
        // Nor can a narrowed token delete its owner's credentials.
        let message = refused(
            delete(&server, "/api/me/api-keys/narrow", &rotated).await,
            403,
            "forbidden",
        );
        assert!(message.contains("narrowed token"), "{message}");
        server.get("/api/audit", &rotated).await.expect(200);

        let unknown = json!({"name": "x", "permissions": ["core_everything"]});
        refused(
            server.request_token(&session, "narrow", unknown).await,
            400,
            "bad_request",
        );

        let email = "viewer@example.com";
        let user = server.create_user(&session, email).await;
        bind(
            &server,
            &session,
            json!({"type": "user", "id": user}),
            "_account_viewer",
        )
        .await;
        let (_, viewer) = sign_in(&server, email, "active").await;
        let wider = json!({"name": "wider", "permissions": ["core_user_view", "core_user_manage"]});
        let (wide, _) = minted(server.request_token(&viewer, "wide", wider).await);
        let wide = Cred::Token(wide);
        server.get("/api/users", &wide).await.expect(200);
        let user = json!({"email": "x@example.com", "name": "X"});
        let message = refused(
            server.post("/api/users", &wide, user).await,
            403,
            "forbidden",
        );
        assert!(message.contains("core_user_manage"), "{message}");
        server.stop().await;
    }

    fn allowlist(entries: &[(&str, &str, &str)]) -> Value {
        let entries: Vec<Value> = entries
            .iter()
            .map(|(name, cidr, applies_to)| json!({"name": name, "cidr": cidr, "applies_to": applies_to}))
            .collect();
        json!({"enabled": true, "entries": entries})
    }

    /// The list the IP tests save: the API from loopback, everything from
    /// one office network.
    fn office_and_loopback_api() -> Value {
        allowlist(&[
            ("local", "127.0.0.1/32", "api"),
            ("office", "198.51.100.0/24", "both"),
        ])
    }

    /// An allowlist that would shut the caller out is refused with an
    /// explanation; a saved one answers address tests, closes the UI to
    /// loopback (an existing session too), and an X-Forwarded-For from an untrusted peer is ignored.
    pub async fn ip_allowlist_protects_its_editor(db: Db) {
        let server = TestServer::start(db).await;
        let session = server.admin_session().await;
        let admin = Cred::Token(server.personal_token(&session, "admin_key", None).await);
        let office_only = allowlist(&[("office", "198.51.100.0/24", "both")]);
        let reply = put(&server, "/api/ip-allowlist", &admin, office_only).await;
        let message = refused(reply, 409, "conflict");
        assert!(
            message.contains("would block your own address 127.0.0.1 from the API")
                && message.contains("127.0.0.1/32"),
            "{message}"
        );
        let saved = server.get("/api/ip-allowlist", &admin).await.expect(200);
        assert_eq!(saved.body, json!({"enabled": false, "entries": []}));

        put(
            &server,
            "/api/ip-allowlist",
            &admin,
            office_and_loopback_api(),
        )
        .await
        .expect(200);
        let saved = server.get("/api/ip-allowlist", &admin).await.expect(200);
        assert_eq!(saved.body, office_and_loopback_api());
        for (ip, surface, allowed, matched) in [
            ("198.51.100.9", "ui", true, json!("office")),
            ("127.0.0.1", "api", true, json!("local")),
            ("127.0.0.1", "ui", false, Value::Null),
            ("203.0.113.7", "api", false, Value::Null),
        ] {
            let answer = server
                .post(
                    "/api/ip-allowlist/test",
                    &admin,
                    json!({"ip": ip, "surface": surface}),
                )
                .await
                .expect(200);
            assert_eq!(
                answer.body,
                json!({"allowed": allowed, "matched_entry": matched}),
                "{ip} {surface}"
            );
        }

        let reply = server.get("/api/me", &session).await;
        let message = refused(reply, 401, "ip_blocked");
        assert!(message.contains("127.0.0.1"), "{message}");
        let (login, session) = server.login(&server.admin_email, PASSWORD).await;
        assert!(session.is_none());
        refused(login, 401, "ip_blocked");
        let blocked = audit(&server, &admin, "action=REQUEST_BLOCKED").await;
        assert_eq!(column(&blocked, "source_ip"), ["127.0.0.1"]);
        assert_eq!(blocked[0]["details"]["surface"], "ui");
        assert_eq!(blocked[0]["outcome"], "denied");

        let spoofed = [("x-forwarded-for", "198.51.100.9")];
        let sa = json!({"identifier": "spoofer", "name": "Spoofer"});
        server
            .call_with(
                Method::POST,
                "/api/service-accounts",
                &admin,
                Some(sa),
                &spoofed,
            )
            .await
            .expect(201);
        let created = audit(&server, &admin, "action=SERVICE_ACCOUNT_CREATED").await;
        assert_eq!(column(&created, "source_ip"), ["127.0.0.1"]);
        server.stop().await;
    }

    /// Behind a trusted proxy the client address comes from X-Forwarded-For
    /// (rightmost untrusted hop): it is what the allowlist checks and what
    /// the audit records, and blocked requests are audited (coalesced).
    pub async fn ip_allowlist_behind_a_trusted_proxy(db: Db) {
        let proxy: Cidr = "127.0.0.1/32".parse().unwrap();
        let options = Options {
            trusted_proxies: Some(TrustedProxies::new(vec![proxy])),
        };
        let server = TestServer::start_with(db, options).await;
        let admin = admin(&server).await;
        let from = |chain: &'static str| [("x-forwarded-for", chain)];
        let list = Some(office_and_loopback_api());
        server
            .call_with(
                Method::PUT,
                "/api/ip-allowlist",
                &admin,
                list,
                &from("198.51.100.20"),
            )
            .await
            .expect(200);
        let updates = audit(&server, &admin, "action=ALLOWLIST_UPDATED").await;
        assert_eq!(column(&updates, "source_ip"), ["198.51.100.20"]);

        for chain in ["203.0.113.7", "198.51.100.20, 203.0.113.7"] {
            let reply = server
                .call_with(Method::GET, "/api/me", &admin, None, &from(chain))
                .await;
            let message = refused(reply, 401, "ip_blocked");
            assert!(message.contains("203.0.113.7"), "{message}");
        }
        for chain in ["203.0.113.7, 198.51.100.20", "198.51.100.20, 127.0.0.1"] {
            server
                .call_with(Method::GET, "/api/me", &admin, None, &from(chain))
                .await
                .expect(200);
        }
        let reply = server
            .call_with(Method::GET, "/api/me", &admin, None, &from("not-an-ip"))
            .await;
        refused(reply, 400, "bad_request");

        // The UI is open to the office only, as seen through the proxy.
        let login = json!({"email": server.admin_email, "password": PASSWORD});
        for (chain, status) in [("198.51.100.20", 200), ("203.0.113.8", 401)] {
            let reply = server
                .call_with(
                    Method::POST,
                    "/api/auth/login",
                    &Cred::None,
                    Some(login.clone()),
                    &from(chain),
                )
                .await;
            assert_eq!(reply.status, status, "{chain}: {}", reply.text);
        }
        let logins = audit(&server, &admin, "action=LOGIN_SUCCEEDED&limit=1").await;
        assert_eq!(column(&logins, "source_ip"), ["198.51.100.20"]);

        let blocked = audit(&server, &admin, "action=REQUEST_BLOCKED").await;
        assert_eq!(
            column(&blocked, "source_ip"),
            ["203.0.113.8", "203.0.113.7"],
            "coalesced per minute"
        );
        assert_eq!(blocked[0]["details"]["surface"], "ui");
        let blocked = &blocked[1..];
        assert_eq!(blocked[0]["actor"], "anonymous");
        assert_eq!(blocked[0]["outcome"], "denied");
        assert_eq!(
            blocked[0]["details"],
            json!({"surface": "api", "path": "/api/me", "suppressed_since_last_event": 0})
        );
        server.stop().await;
    }

    /// Audit queries filter by action, actor, outcome, resource kind and id,
    /// return newest first, and page backwards with `before_seq`.
    pub async fn audit_query_filters_and_paging(db: Db) {
        let server = TestServer::start(db).await;
        let admin = admin(&server).await;
        let admin_id = my_id(&server, &admin).await;
        let email = "audited@example.com";
        let user = server.create_user(&admin, email).await;
        for _ in 0..3 {
            let (reply, _) = server.login(email, "Wrong-Password-123").await;
            refused(reply, 401, "unauthenticated");
        }
        let (_, session) = sign_in(&server, email, "active").await;
        refused(server.get("/api/users", &session).await, 403, "forbidden");

        let all = audit(&server, &admin, "limit=1000").await;
        let seqs: Vec<u64> = all.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
        let count = u64::try_from(seqs.len()).unwrap();
        assert_eq!(
            seqs,
            (1..=count).rev().collect::<Vec<_>>(),
            "newest first, no gaps"
        );

        let failed = audit(&server, &admin, "action=LOGIN_FAILED").await;
        assert_eq!(failed.len(), 3);
        for record in &failed {
            assert_eq!(record["action"], "LOGIN_FAILED");
            assert_eq!(record["resource_id"], user.as_str());
            assert_eq!(record["claimed"], email);
        }
        assert_eq!(audit(&server, &admin, "outcome=failure").await, failed);
        let denied = audit(&server, &admin, "outcome=denied").await;
        assert_eq!(column(&denied, "action"), ["ACCESS_DENIED"]);
        assert_eq!(denied[0]["actor"], format!("user:{user}"));
        let either = audit(&server, &admin, "action=LOGIN_FAILED,ACCESS_DENIED").await;
        assert_eq!(either.len(), 4);
        assert_eq!(either[0], denied[0], "the denial came last");

        let by_admin = audit(&server, &admin, &format!("actor=user:{admin_id}")).await;
        assert!(
            column(&by_admin, "actor")
                .iter()
                .all(|a| *a == format!("user:{admin_id}"))
        );
        assert!(
            by_admin
                .iter()
                .any(|r| r["action"] == "USER_CREATED" && r["resource_id"] == user.as_str())
        );
        let tokens = audit(&server, &admin, "resource_kind=TOKEN").await;
        assert_eq!(column(&tokens, "action"), ["TOKEN_CREATED"]);
        let newest_two = audit(
            &server,
            &admin,
            &format!("resource_id={user}&action=LOGIN_FAILED&limit=2"),
        )
        .await;
        assert_eq!(newest_two, failed[..2]);

        let mut paged = Vec::new();
        let mut query = "limit=2".to_owned();
        loop {
            let page = server
                .get(&format!("/api/audit?{query}"), &admin)
                .await
                .expect(200);
            let records = page.body["records"].as_array().unwrap();
            assert!(records.len() <= 2);
            paged.extend(records.iter().map(|r| r["seq"].as_u64().unwrap()));
            match page.body["next_before_seq"].as_i64() {
                Some(before) => query = format!("limit=2&before_seq={before}"),
                None => break,
            }
        }
        assert_eq!(paged, seqs);

        let page = server
            .get("/api/audit?action=LOGIN_FAILED&limit=2", &admin)
            .await
            .expect(200);
        let before = page.body["next_before_seq"].as_i64().unwrap();
        assert_eq!(before, failed[1]["seq"]);
        let rest = audit(
            &server,
            &admin,
            &format!("action=LOGIN_FAILED&limit=2&before_seq={before}"),
        )
        .await;
        assert_eq!(rest, failed[2..]);

        let split = failed[1]["time_ms"].as_i64().unwrap();
        let from = audit(&server, &admin, &format!("limit=1000&from_ms={split}")).await;
        let to = audit(&server, &admin, &format!("limit=1000&to_ms={split}")).await;
        assert!(from.iter().all(|r| r["time_ms"].as_i64().unwrap() >= split));
        assert!(to.iter().all(|r| r["time_ms"].as_i64().unwrap() < split));
        assert!(from.contains(&failed[1]) && !to.contains(&failed[1]));
        assert_eq!(from.len() + to.len(), all.len());

        for bad in ["limit=0", "limit=1001"] {
            let reply = server.get(&format!("/api/audit?{bad}"), &admin).await;
            refused(reply, 400, "bad_request");
        }
        refused(server.get("/api/audit", &session).await, 403, "forbidden");
        server.stop().await;
    }

    /// The append-only triggers refuse UPDATE and DELETE; with them dropped
    /// (as an attacker with database access would), verification names the
    /// modified record and the gap a deleted one leaves.
    pub async fn audit_chain_detects_tampering(db: Db) {
        let server = TestServer::start(db).await;
        let admin = admin(&server).await;
        server.create_user(&admin, "someone@example.com").await;
        let records = audit(&server, &admin, "limit=1000").await;
        let verify = || server.get("/api/audit/verify", &admin);
        let report = verify().await.expect(200);
        assert_eq!(
            report.body,
            json!({"ok": true, "records": records.len(), "problem": null})
        );

        let at = "WHERE account = 'default' AND seq = 2";
        let falsify = format!(
            "UPDATE audit_events SET record = replace(record, '\"outcome\":\"success\"', \
             '\"outcome\":\"failure\"') {at}"
        );
        let restore = format!(
            "UPDATE audit_events SET record = replace(record, '\"outcome\":\"failure\"', \
             '\"outcome\":\"success\"') {at}"
        );
        for statement in [falsify.clone(), format!("DELETE FROM audit_events {at}")] {
            let error = server.try_sql(&statement).await.unwrap_err().to_string();
            assert!(error.contains("append-only"), "{error}");
        }
        verify().await.expect(200);
        assert_eq!(verify().await.body["ok"], true);

        let drop_triggers = match server.db {
            Db::Sqlite => {
                "DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete;"
            }
            Db::Postgres(_) => "DROP TRIGGER audit_events_no_update_or_delete ON audit_events;",
        };
        server.sql(drop_triggers).await;
        server.sql(&falsify).await;
        let shown = audit(&server, &admin, "limit=1000").await;
        let second = shown.iter().find(|r| r["seq"] == 2).unwrap();
        assert_eq!(second["outcome"], "failure", "the tampering took effect");
        let report = verify().await.expect(200);
        assert_eq!(report.body["ok"], false);
        let problem = report.body["problem"].as_str().unwrap();
        assert!(
            problem.contains("seq 2") && problem.contains("modified"),
            "{problem}"
        );

        server.sql(&restore).await;
        assert_eq!(
            verify().await.body["ok"],
            true,
            "the chain is content-addressed"
        );
        server
            .sql("DELETE FROM audit_events WHERE account = 'default' AND seq = 3")
            .await;
        let report = verify().await.expect(200);
        assert_eq!(report.body["ok"], false);
        let problem = report.body["problem"].as_str().unwrap();
        assert!(problem.contains("has seq 4, expected 3"), "{problem}");
        server.stop().await;
    }

    /// Malformed JSON, unknown fields, wrong types, missing fields, a
    /// missing content type and out-of-range values are 400s in the error
    /// shape, never 500s.
    pub async fn bad_input_is_a_400(db: Db) {
        let server = TestServer::start(db).await;
        let token = server.admin_token().await;
        let admin = Cred::Token(token.clone());
        let json_type = Some("application/json");
        for (body, says) in [
            (
                "{not json",
                "the request body is not what this endpoint takes",
            ),
            (
                r#"{"email": "a@example.com", "password": "x", "remember_me": true}"#,
                "unknown field `remember_me`",
            ),
            (r#"{"email": 42, "password": "x"}"#, "invalid type"),
            (r#"{"email": "a@example.com"}"#, "missing field `password`"),
            (
                r#"["a@example.com", "x"]"#,
                "the request body is not what this endpoint takes",
            ),
        ] {
            let reply = raw(
                &server,
                Method::POST,
                "/api/auth/login",
                None,
                json_type,
                body,
            )
            .await;
            let message = refused(reply, 400, "bad_request");
            assert!(message.contains(says), "{body}: {message}");
        }
        let login = r#"{"email": "a@example.com", "password": "x"}"#;
        let reply = raw(&server, Method::POST, "/api/auth/login", None, None, login).await;
        let message = refused(reply, 400, "bad_request");
        assert!(message.contains("Content-Type"), "{message}");

        let token = Some(token.as_str());
        for (method, path, body, says) in [
            (
                Method::POST,
                "/api/users",
                r#"{"email": ["x"], "name": "X"}"#,
                "invalid type",
            ),
            (
                Method::PUT,
                "/api/auth-settings",
                r#"{"mfa": true}"#,
                "unknown field `mfa`",
            ),
            (
                Method::PUT,
                "/api/auth-settings",
                r#"{"lockout": {"max_failures": "five"}}"#,
                "invalid type",
            ),
            (
                Method::PUT,
                "/api/auth-settings",
                r#"{"lockout": {"max_failures": 1}}"#,
                "lockout.max_failures is 1; it must be between 3 and 100",
            ),
            (
                Method::PUT,
                "/api/ip-allowlist",
                r#"{"enabled": true, "entries": [{"name": "x", "cidr": "10.0.0.0/33", "applies_to": "api"}]}"#,
                "prefix length 33",
            ),
            (
                Method::PUT,
                "/api/ip-allowlist",
                r#"{"enabled": true, "entries": [{"name": "x", "cidr": "10.0.0.0/8", "applies_to": "everywhere"}]}"#,
                "unknown variant `everywhere`",
            ),
            (
                Method::POST,
                "/api/ip-allowlist/test",
                r#"{"ip": "999.1.1.1", "surface": "api"}"#,
                "invalid",
            ),
            (
                Method::POST,
                "/api/role-bindings",
                r#"{"principal": {"type": "robot", "id": "x"}, "role": "_account_viewer", "resource_group": "_all_account_level_resources"}"#,
                "robot",
            ),
        ] {
            let reply = raw(&server, method, path, token, json_type, body).await;
            let message = refused(reply, 400, "bad_request");
            assert!(message.contains(says), "{path} {body}: {message}");
        }
        for query in ["limit=abc", "colour=red"] {
            let reply = server.get(&format!("/api/audit?{query}"), &admin).await;
            let message = refused(reply, 400, "bad_request");
            assert!(message.contains("query parameters"), "{message}");
        }
        let settings = server.get("/api/auth-settings", &admin).await.expect(200);
        assert_eq!(
            settings.body["lockout"]["max_failures"], 5,
            "nothing was saved"
        );
        server.stop().await;
    }
}

rampart_testkit::on_both!(
    one_time_password_and_password_policy,
    lockout_and_unlock,
    password_rechecks_honour_the_lockout,
    second_factor_guesses_are_limited,
    totp_second_factor,
    two_factor_enforcement,
    session_cookie_csrf_and_logout,
    session_timeouts,
    password_changes_end_sessions,
    personal_token_lifecycle,
    token_lifetime_limit,
    service_account_tokens,
    authorization_follows_the_owner,
    role_edits_reach_no_further_than_the_editor,
    binding_existence_is_not_disclosed,
    narrowed_tokens,
    ip_allowlist_protects_its_editor,
    ip_allowlist_behind_a_trusted_proxy,
    audit_query_filters_and_paging,
    audit_chain_detects_tampering,
    bad_input_is_a_400,
);
