//! The harness shared by the suites in `tests/`: each suite test runs once
//! on SQLite (a file in a temp dir) and once on PostgreSQL (a database of
//! its own, created for the test and dropped after it, so the tests can run
//! in parallel).
//!
//! PostgreSQL comes from `RAMPART_TEST_POSTGRES_URL`, an admin URL to a
//! server on loopback (`scripts/test.sh` starts a throwaway one). Without
//! it the PostgreSQL half fails in CI and is skipped, with a notice, on a
//! developer's machine.

use std::future::Future;
use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};

use rampart_store::Store;
use sqlx::Connection;

const POSTGRES_ENV: &str = "RAMPART_TEST_POSTGRES_URL";

/// Runs one test on a fresh SQLite store.
pub async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Store, String) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("rampart.db").display());
    let store = Store::connect(&url).await.unwrap();
    assert!(matches!(store, Store::Sqlite(_)));
    test(store.clone(), url).await;
    store.close().await;
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
            // Once per run, and past the test harness's output capture, so
            // the skip is seen even though the tests pass.
            static NOTICE: std::sync::Once = std::sync::Once::new();
            NOTICE.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "NOTICE: skipping the PostgreSQL half of rampart-store's tests: {how}"
                );
            });
            None
        }
    }
}

/// `admin` with its database replaced by `database`.
fn with_database(admin: &str, database: &str) -> String {
    let (head, query) = admin.split_once('?').map_or((admin, ""), |(h, q)| (h, q));
    let (scheme, rest) = head.split_once("://").unwrap();
    let host = rest.split('/').next().unwrap();
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    format!("{scheme}://{host}/{database}{query}")
}

/// Runs one test on a fresh PostgreSQL database, dropped afterwards even
/// when the test fails.
pub async fn on_postgres<F, Fut>(test: F)
where
    F: FnOnce(Store, String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let Some(admin_url) = postgres_admin_url() else {
        return;
    };
    let database = format!(
        "rampart_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {POSTGRES_ENV}: {e}"));
    // Two statements: a multi-statement query would be one transaction,
    // which CREATE and DROP DATABASE refuse.
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
    let store = Store::connect(&url).await.unwrap();
    assert!(matches!(store, Store::Postgres(_)));
    let outcome = tokio::spawn(test(store.clone(), url)).await;
    store.close().await;
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

/// Declares each test of the crate's `suite` module twice: `sqlite::NAME`
/// and `postgres::NAME`.
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
