//! The harness shared by the server's suites in `tests/`: a real server on
//! an ephemeral loopback port over real HTTP, on SQLite (a temp data
//! directory) or PostgreSQL (a database of its own, created for the test
//! and dropped after it, so tests run in parallel).
//!
//! PostgreSQL comes from `RAMPART_TEST_POSTGRES_URL`, an admin URL to a
//! server on loopback (`scripts/test.sh` starts a throwaway one). Without
//! it the PostgreSQL half fails in CI and is skipped, with a notice, on a
//! developer's machine.

#![allow(dead_code)] // Each suite uses a different part of the harness.

use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use rampart_server::{Backend, BackendConfig, DatabaseUrl, Server, ServerConfig, TrustedProxies};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;
use tokio::sync::oneshot;

const POSTGRES_ENV: &str = "RAMPART_TEST_POSTGRES_URL";

/// The password every test user is given (meets the default policy).
pub const PASSWORD: &str = "Correct-Horse-Battery-9";

/// Which database a test server uses.
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite,
    /// A fresh database at this URL.
    Postgres(String),
}

/// How a request authenticates.
#[derive(Debug, Clone)]
pub enum Cred {
    None,
    /// An API token, in `x-api-key`.
    Token(String),
    /// An API token, in `Authorization: Bearer`.
    Bearer(String),
    /// A session cookie and its CSRF token (sent on writes when present).
    Session { cookie: String, csrf: Option<String> },
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

/// What a test server is started with, beyond the defaults.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub trusted_proxies: Option<TrustedProxies>,
}

/// A running server with its first administrator.
pub struct TestServer {
    pub url: String,
    pub data_dir: PathBuf,
    pub db: Db,
    pub admin_email: String,
    /// The one-time password from the first start.
    pub admin_one_time_password: String,
    http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start(db: Db) -> TestServer {
        Self::start_with(db, Options::default()).await
    }

    pub async fn start_with(db: Db, options: Options) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        let config = BackendConfig {
            database: match &db {
                Db::Sqlite => None,
                Db::Postgres(url) => Some(DatabaseUrl::parse(url).unwrap()),
            },
            trusted_proxies: options.trusted_proxies.unwrap_or_default(),
            // Cheap hashes: the tests log in often; the cost is a setting.
            hash_params: rampart_auth::password::HashParams {
                m_cost_kib: 64,
                t_cost: 1,
                p_cost: 1,
            },
            ..BackendConfig::new(&data_dir)
        };
        let backend = Backend::open(config).await.unwrap();
        let admin = backend.bootstrap("admin@example.com").await.unwrap().unwrap();
        let server = Server::bind(
            ServerConfig {
                listen: "127.0.0.1:0".parse().unwrap(),
                ..ServerConfig::default()
            },
            backend,
        )
        .await
        .unwrap();
        let url = server.url().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        let test = TestServer {
            url,
            data_dir,
            db,
            admin_email: admin.email.clone(),
            admin_one_time_password: admin.password.to_string(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            stop: Some(stop),
            done: Some(done),
            _dir: dir,
        };
        // Ready once serving.
        for _ in 0..200 {
            if test.call(Method::GET, "/readyz", &Cred::None, None).await.status == 200 {
                return test;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the server did not become ready");
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(done) = self.done.take() {
            done.await.unwrap();
        }
    }

    /// One request; `body` is sent as JSON.
    pub async fn call(&self, method: Method, path: &str, cred: &Cred, body: Option<Value>) -> Reply {
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
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        request = match cred {
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
        };
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
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

    /// Logs the administrator in with the one-time password, sets
    /// [`PASSWORD`] and returns the (now active) session.
    pub async fn admin_session(&self) -> Cred {
        let (reply, session) = self
            .login(&self.admin_email, &self.admin_one_time_password)
            .await;
        let reply = reply.expect(200);
        assert_eq!(reply.body["stage"], "password_change");
        let session = session.unwrap();
        self.call(
            Method::PUT,
            "/api/me/password",
            &session,
            Some(json!({"current_password": self.admin_one_time_password, "new_password": PASSWORD})),
        )
        .await
        .expect(200);
        session
    }

    /// Creates an API key and a token under it for whoever `cred` is;
    /// `narrowed` limits the token to those permissions.
    pub async fn personal_token(&self, cred: &Cred, key: &str, narrowed: Option<&[&str]>) -> String {
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
        let mut body = json!({"name": format!("{key} token")});
        if let Some(permissions) = narrowed {
            body["permissions"] = json!(permissions);
        }
        let reply = self
            .post(&format!("/api/me/api-keys/{key}/tokens"), cred, body)
            .await
            .expect(201);
        reply.body["token"].as_str().unwrap().to_owned()
    }

    /// The administrator's API token (after [`TestServer::admin_session`]).
    pub async fn admin_token(&self) -> String {
        let session = self.admin_session().await;
        self.personal_token(&session, "admin_key", None).await
    }

    /// Creates a user with [`PASSWORD`] (as the caller `admin`) and returns their id.
    pub async fn create_user(&self, admin: &Cred, email: &str) -> String {
        let reply = self
            .post("/api/users", admin, json!({"email": email, "name": email}))
            .await
            .expect(201);
        let id = reply.body["user"]["id"].as_str().unwrap().to_owned();
        let one_time = reply.body["one_time_password"].as_str().unwrap().to_owned();
        let (login, session) = self.login(email, &one_time).await;
        login.expect(200);
        self.call(
            Method::PUT,
            "/api/me/password",
            &session.unwrap(),
            Some(json!({"current_password": one_time, "new_password": PASSWORD})),
        )
        .await
        .expect(200);
        id
    }

    /// Runs SQL on the server's database directly, as someone with access
    /// to the database (not the API) could.
    pub async fn sql(&self, statement: &str) {
        let statement = sqlx::AssertSqlSafe(statement.to_owned());
        match &self.db {
            Db::Sqlite => {
                let url = format!("sqlite://{}", self.data_dir.join(rampart_server::DB_FILE).display());
                let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
                sqlx::raw_sql(statement).execute(&mut connection).await.unwrap();
                connection.close().await.unwrap();
            }
            Db::Postgres(url) => {
                let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::raw_sql(statement).execute(&mut connection).await.unwrap();
                connection.close().await.unwrap();
            }
        }
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

/// Runs one test on a fresh SQLite server.
pub async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()>,
{
    test(Db::Sqlite).await;
}

/// The admin URL, or `None` when a developer has no PostgreSQL (after a
/// notice). In CI (`CI` set) a missing server is a failure, never a skip.
fn postgres_admin_url() -> Option<String> {
    match std::env::var(POSTGRES_ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            let how = format!(
                "{POSTGRES_ENV} is not set: run scripts/test.sh (it starts a throwaway PostgreSQL \
                 on loopback), or point {POSTGRES_ENV} at an admin URL such as \
                 postgres://postgres@127.0.0.1:5432/postgres"
            );
            let in_ci = std::env::var("CI").is_ok_and(|ci| !ci.is_empty() && ci != "false");
            assert!(!in_ci, "CI is set, so PostgreSQL is required: {how}");
            static NOTICE: std::sync::Once = std::sync::Once::new();
            NOTICE.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "NOTICE: skipping the PostgreSQL half of rampart-server's tests: {how}"
                );
            });
            None
        }
    }
}

/// `admin` with its database replaced by `database`.
fn with_database(admin: &str, database: &str) -> String {
    let (head, query) = admin.split_once('?').unwrap_or((admin, ""));
    let (scheme, rest) = head.split_once("://").unwrap();
    let host = rest.split('/').next().unwrap();
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    format!("{scheme}://{host}/{database}{query}")
}

/// Runs one test on a server over a fresh PostgreSQL database, dropped
/// afterwards even when the test fails.
pub async fn on_postgres<F, Fut>(test: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let Some(admin_url) = postgres_admin_url() else {
        return;
    };
    let database = format!(
        "rampart_server_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {POSTGRES_ENV}: {e}"));
    for sql in [
        format!("DROP DATABASE IF EXISTS {database}"),
        format!("CREATE DATABASE {database}"),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut admin)
            .await
            .unwrap();
    }
    let url = with_database(&admin_url, &database);
    let outcome = tokio::spawn(test(Db::Postgres(url))).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {database} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    admin.close().await.unwrap();
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

/// Declares each test of the suite's `suite` module twice: `sqlite::NAME`
/// and `postgres::NAME`.
#[macro_export]
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::common::on_sqlite($crate::suite::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::common::on_postgres($crate::suite::$name).await;
                }
            )*
        }
    };
}
