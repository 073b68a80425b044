//! A PostgreSQL database of its own for one test, on the server named by
//! `RAMPART_TEST_POSTGRES_URL` (an admin URL on loopback; `scripts/test.sh`
//! starts a throwaway one), so tests run in parallel without sharing state.
//! Without the variable the PostgreSQL half fails in CI (`CI` set) and is
//! skipped, with a notice, on a developer's machine.

use std::future::Future;
use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;

pub const POSTGRES_ENV: &str = "RAMPART_TEST_POSTGRES_URL";

/// Runs `test` with the URL of a fresh database, dropped afterwards even
/// when the test fails (its panic is then resumed). `suite` names the tests
/// in the skip notice.
pub async fn with_fresh_database<F, Fut>(suite: &str, test: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let Some(admin_url) = admin_url(suite) else {
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
        run(&mut admin, sql).await;
    }
    let outcome = tokio::spawn(test(with_database(&admin_url, &database))).await;
    run(&mut admin, format!("DROP DATABASE {database} WITH (FORCE)")).await;
    admin.close().await.expect("the admin connection closes");
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

async fn run(admin: &mut sqlx::PgConnection, sql: String) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
        .execute(admin)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The admin URL, or `None` when a developer has no PostgreSQL (after a
/// notice). In CI a missing server is a failure, never a skip.
fn admin_url(suite: &str) -> Option<String> {
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
                    "NOTICE: skipping the PostgreSQL half of {suite}'s tests: {how}"
                );
            });
            None
        }
    }
}

/// `admin` with its database replaced by `database`.
fn with_database(admin: &str, database: &str) -> String {
    let (head, query) = admin.split_once('?').unwrap_or((admin, ""));
    let (scheme, rest) = head.split_once("://").unwrap_or(("postgres", head));
    let host = rest.split('/').next().unwrap_or(rest);
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    format!("{scheme}://{host}/{database}{query}")
}
