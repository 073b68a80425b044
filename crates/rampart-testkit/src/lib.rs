//! Test support shared by Rampart's end-to-end suites, whether the server
//! runs in the test's process or as the `rampart server` binary: a client
//! for the API over real HTTP that knows the login steps (one-time
//! password, session cookie and CSRF token) and mints API tokens; TOTP
//! codes from `pyotp`; live-log event streams ([`sse`]); a throwaway
//! PostgreSQL database per test ([`postgres`]).

#![forbid(unsafe_code)]

pub mod postgres;
pub mod sse;

pub use reqwest::Method;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The password every test user is given (meets the default policy).
pub const PASSWORD: &str = "Correct-Horse-Battery-9";

/// How a request authenticates.
#[derive(Debug, Clone)]
pub enum Cred {
    None,
    /// An API token, in `x-api-key`.
    Token(String),
    /// An API token, in `Authorization: Bearer`.
    Bearer(String),
    /// A session cookie and its CSRF token (sent on writes when present).
    Session {
        cookie: String,
        csrf: Option<String>,
    },
}

/// A response: status, headers and the JSON body (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        self
    }
}

/// A client of one server, which knows its first administrator.
#[derive(Debug, Clone)]
pub struct Client {
    pub url: String,
    pub admin_email: String,
    /// The one-time password from the first start.
    pub admin_one_time_password: String,
    http: reqwest::Client,
}

impl Client {
    pub fn new(url: String, admin_email: String, admin_one_time_password: String) -> Client {
        Client {
            url,
            admin_email,
            admin_one_time_password,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("an HTTP client"),
        }
    }

    /// Waits (up to two seconds) until `/readyz` answers 200.
    pub async fn wait_ready(&self) {
        for _ in 0..200 {
            let ready = self
                .http
                .get(format!("{}/readyz", self.url))
                .send()
                .await
                .is_ok_and(|response| response.status() == 200);
            if ready {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the server at {} did not become ready", self.url);
    }

    /// Waits until the run has a final status (two minutes at most, so a
    /// run queued behind others finishes too); returns the run.
    pub async fn finished_run(&self, cred: &Cred, run: &str) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        loop {
            let reply = self
                .get(&format!("/api/runs/{run}"), cred)
                .await
                .expect(200);
            let status = reply.body["status"].as_str().unwrap_or_default();
            if status != "Queued" && status != "Running" {
                return reply.body;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "run {run} did not finish: {}",
                reply.text
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// `request` with `cred` (the CSRF token only on writes).
    fn authorized(
        &self,
        request: reqwest::RequestBuilder,
        cred: &Cred,
        write: bool,
    ) -> reqwest::RequestBuilder {
        match cred {
            Cred::None => request,
            Cred::Token(token) => request.header("x-api-key", token),
            Cred::Bearer(token) => request.bearer_auth(token),
            Cred::Session { cookie, csrf } => {
                let request = request.header("cookie", format!("rampart_session={cookie}"));
                match csrf {
                    Some(csrf) if write => request.header("x-csrf-token", csrf),
                    _ => request,
                }
            }
        }
    }

    /// One request; `body` is sent as JSON.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        cred: &Cred,
        body: Option<Value>,
    ) -> Reply {
        self.call_with(method, path, cred, body, &[]).await
    }

    /// One request with extra headers.
    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        cred: &Cred,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let write = method != Method::GET && method != Method::HEAD;
        let request = self.http.request(method, format!("{}{path}", self.url));
        let mut request = self.authorized(request, cred, write);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a readable body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str, cred: &Cred) -> Reply {
        self.call(Method::GET, path, cred, None).await
    }

    pub async fn post(&self, path: &str, cred: &Cred, body: Value) -> Reply {
        self.call(Method::POST, path, cred, Some(body)).await
    }

    /// Logs in; the reply and, when one was set, the session.
    pub async fn login(&self, email: &str, password: &str) -> (Reply, Option<Cred>) {
        let reply = self
            .post(
                "/api/auth/login",
                &Cred::None,
                json!({"email": email, "password": password}),
            )
            .await;
        let session = session_cookie(&reply).map(|cookie| Cred::Session {
            cookie,
            csrf: reply.body["csrf_token"].as_str().map(str::to_owned),
        });
        (reply, session)
    }

    /// Replaces a one-time password with [`PASSWORD`], returning the (now active) session.
    async fn choose_password(&self, email: &str, one_time: &str) -> Cred {
        let (reply, session) = self.login(email, one_time).await;
        let reply = reply.expect(200);
        assert_eq!(reply.body["stage"], "password_change", "{}", reply.text);
        let session = session.expect("a session cookie");
        let body = json!({"current_password": one_time, "new_password": PASSWORD});
        self.call(Method::PUT, "/api/me/password", &session, Some(body))
            .await
            .expect(200);
        session
    }

    /// Logs the administrator in with the one-time password, sets
    /// [`PASSWORD`] and returns the (now active) session.
    pub async fn admin_session(&self) -> Cred {
        self.choose_password(&self.admin_email, &self.admin_one_time_password)
            .await
    }

    /// Creates the personal API key `key` unless it exists, then asks for a
    /// token under it with `request` (the reply, whatever it is).
    pub async fn request_token(&self, cred: &Cred, key: &str, request: Value) -> Reply {
        let created = self
            .post(
                "/api/me/api-keys",
                cred,
                json!({"identifier": key, "name": key}),
            )
            .await;
        assert!(
            created.status == 201 || created.status == 409,
            "{}",
            created.text
        );
        self.post(&format!("/api/me/api-keys/{key}/tokens"), cred, request)
            .await
    }

    /// A token under the personal API key `key` (created unless it exists)
    /// for whoever `cred` is; `narrowed` limits it to those permissions.
    pub async fn personal_token(
        &self,
        cred: &Cred,
        key: &str,
        narrowed: Option<&[&str]>,
    ) -> String {
        let mut request = json!({"name": format!("{key} token")});
        if let Some(permissions) = narrowed {
            request["permissions"] = json!(permissions);
        }
        let reply = self.request_token(cred, key, request).await.expect(201);
        reply.body["token"]
            .as_str()
            .expect("the token, shown once")
            .to_owned()
    }

    /// The administrator's API token (after [`Client::admin_session`]).
    pub async fn admin_token(&self) -> String {
        let session = self.admin_session().await;
        self.personal_token(&session, "admin_key", None).await
    }

    /// Creates a user (as the caller `admin`), who then replaces their
    /// one-time password with [`PASSWORD`]; returns their id.
    pub async fn create_user(&self, admin: &Cred, email: &str) -> String {
        let reply = self
            .post("/api/users", admin, json!({"email": email, "name": email}))
            .await
            .expect(201);
        let id = reply.body["user"]["id"]
            .as_str()
            .expect("a user id")
            .to_owned();
        let one_time = reply.body["one_time_password"]
            .as_str()
            .expect("a one-time password");
        self.choose_password(email, one_time).await;
        id
    }
}

/// The `rampart_session` value a reply set, checking the cookie's attributes.
pub fn session_cookie(reply: &Reply) -> Option<String> {
    reply
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|cookie| {
            let value = cookie.strip_prefix("rampart_session=")?;
            let (value, attributes) = value.split_once(';').unwrap_or((value, ""));
            for attribute in ["HttpOnly", "Secure", "SameSite=Strict"] {
                assert!(attributes.contains(attribute), "{cookie} lacks {attribute}");
            }
            (!value.is_empty()).then(|| value.to_owned())
        })
}

/// The current TOTP code for a base32 `secret`, computed by `pyotp` (an
/// independent implementation; `scripts/test.sh` installs it).
pub fn totp_code(secret: &str) -> String {
    python(&[
        "-c",
        "import pyotp, sys; print(pyotp.TOTP(sys.argv[1]).now())",
        secret,
    ])
}

/// The TOTP codes an authenticator app shows at these unix times, as
/// `pyotp` computes them.
pub fn totp_codes_at(secret: &str, times: &[u64]) -> Vec<String> {
    let times: Vec<String> = times.iter().map(u64::to_string).collect();
    let mut args = vec![
        "-c",
        "import pyotp, sys; totp = pyotp.TOTP(sys.argv[1]); \
         print(' '.join(totp.at(int(t)) for t in sys.argv[2:]))",
        secret,
    ];
    args.extend(times.iter().map(String::as_str));
    python(&args)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// The raw bytes of a base32 `secret`, in hex, decoded by Python's
/// standard library (to look for the seed itself, not only its encoding).
pub fn base32_as_hex(secret: &str) -> String {
    python(&[
        "-c",
        "import base64, sys; print(base64.b32decode(sys.argv[1]).hex())",
        secret,
    ])
}

fn python(args: &[&str]) -> String {
    let output = std::process::Command::new("python3")
        .args(args)
        .output()
        .expect("python3 runs (scripts/test.sh installs it)");
    assert!(
        output.status.success(),
        "python3 failed (is pyotp installed? scripts/test.sh installs it): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("UTF-8 output")
        .trim()
        .to_owned()
}

/// Declares each test of the calling crate's `suite` module twice,
/// `sqlite::NAME` and `postgres::NAME`, running it through the crate's
/// `common::on_sqlite` and `common::on_postgres`.
#[macro_export]
#[allow(clippy::crate_in_macro_def)] // `crate` is meant: the calling test crate.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::common::on_sqlite(crate::suite::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::common::on_postgres(crate::suite::$name).await;
                }
            )*
        }
    };
}
