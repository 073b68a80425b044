//! The harness shared by the suites in `tests/`: each suite test runs once
//! on SQLite (a file in a temp dir) and once on PostgreSQL (a database of
//! its own, created for the test and dropped after it, so the tests can run
//! in parallel).
//!
//! PostgreSQL: see `rampart_testkit::postgres`.

use std::future::Future;

use rampart_store::Store;

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

/// Runs one test on a fresh PostgreSQL database, dropped afterwards even
/// when the test fails.
pub async fn on_postgres<F, Fut>(test: F)
where
    F: FnOnce(Store, String) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    rampart_testkit::postgres::with_fresh_database("rampart-store", |url| async move {
        let store = Store::connect(&url).await.unwrap();
        assert!(matches!(store, Store::Postgres(_)));
        test(store.clone(), url).await;
        store.close().await;
    })
    .await;
}
