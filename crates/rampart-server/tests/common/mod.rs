//! The harness shared by the server's suites in `tests/`: a real server on
//! an ephemeral loopback port over real HTTP, on SQLite (a temp data
//! directory) or PostgreSQL (a database of its own, created for the test
//! and dropped after it, so tests run in parallel).
//! PostgreSQL: see `rampart_testkit::postgres`.

#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test.
#![allow(dead_code)] // Each suite uses a different part of the harness.

use std::future::Future;
use std::path::PathBuf;

#[allow(unused_imports)] // Not every suite uses every helper.
pub use rampart_testkit::{Client, Cred, PASSWORD, Reply, session_cookie};
pub use reqwest::Method;
pub use serde_json::{Value, json};

use rampart_server::{Backend, BackendConfig, DatabaseUrl, Server, ServerConfig, TrustedProxies};
use sqlx::Connection;
use tokio::sync::oneshot;

/// Which database a test server uses.
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite,
    /// A fresh database at this URL.
    Postgres(String),
}

/// What a test server is started with, beyond the defaults.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub trusted_proxies: Option<TrustedProxies>,
}

/// A running server with its first administrator; it derefs to the
/// [`Client`] that calls it (`server.get(..)`, `server.admin_token()`, ...).
pub struct TestServer {
    client: Client,
    pub data_dir: PathBuf,
    pub db: Db,
    stop: Option<oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for TestServer {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
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
        let admin = backend
            .bootstrap("admin@example.com")
            .await
            .unwrap()
            .unwrap();
        let server = Server::bind(
            ServerConfig {
                listen: "127.0.0.1:0".parse().unwrap(),
                ..ServerConfig::default()
            },
            backend,
        )
        .await
        .unwrap();
        let client = Client::new(
            server.url().unwrap(),
            admin.email.clone(),
            admin.password.to_string(),
        );
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        client.wait_ready().await;
        TestServer {
            client,
            data_dir,
            db,
            stop: Some(stop),
            done: Some(done),
            _dir: dir,
        }
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

    /// Runs SQL on the server's database directly, as someone with access
    /// to the database (not the API) could.
    pub async fn sql(&self, statement: &str) {
        if let Err(error) = self.try_sql(statement).await {
            panic!("{statement}: {error}");
        }
    }

    /// [`TestServer::sql`], returning the database's refusal (a trigger's
    /// message, say) instead of panicking on it.
    pub async fn try_sql(&self, statement: &str) -> Result<(), sqlx::Error> {
        let statement = sqlx::AssertSqlSafe(statement.to_owned());
        match &self.db {
            Db::Sqlite => {
                let url = format!(
                    "sqlite://{}",
                    self.data_dir.join(rampart_server::DB_FILE).display()
                );
                let mut connection = sqlx::SqliteConnection::connect(&url).await?;
                let outcome = sqlx::raw_sql(statement).execute(&mut connection).await;
                connection.close().await?;
                outcome.map(drop)
            }
            Db::Postgres(url) => {
                let mut connection = sqlx::PgConnection::connect(url).await?;
                let outcome = sqlx::raw_sql(statement).execute(&mut connection).await;
                connection.close().await?;
                outcome.map(drop)
            }
        }
    }
}

/// Runs one test on a fresh SQLite server.
pub async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()>,
{
    test(Db::Sqlite).await;
}

/// Runs one test on a server over a fresh PostgreSQL database, dropped
/// afterwards even when the test fails.
pub async fn on_postgres<F, Fut>(test: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    rampart_testkit::postgres::with_fresh_database("rampart-server", |url| test(Db::Postgres(url)))
        .await;
}
