//! `rampart audit verify` on a real server's database: intact after real
//! traffic, then each kind of tampering someone with write access to the
//! database file could do is detected, with exit code 1.

#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test.

mod common;

use common::server::ServerProcess;
use rampart_testkit::Cred;
use sqlx::Connection;

fn verify(data: &std::path::Path) -> common::Run {
    common::rampart()
        .args(["audit", "verify", "--data-dir"])
        .arg(data)
        .output()
        .unwrap()
        .into()
}

/// Runs `statements` on the server's SQLite file, as an attacker with the
/// file would: the append-only triggers are dropped first.
async fn tamper(data: &std::path::Path, statements: &str) {
    let url = format!("sqlite://{}", data.join("rampart.db").display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let sql = format!(
        "DROP TRIGGER IF EXISTS audit_events_no_update; \
         DROP TRIGGER IF EXISTS audit_events_no_delete; {statements}"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();
}

/// A server database with some history, copied so each tampering starts
/// from the same intact log.
async fn history(dir: &std::path::Path) -> std::path::PathBuf {
    let data = dir.join("data");
    let server = ServerProcess::start(&data).await;
    let admin = server.client.admin_session().await;
    let (wrong, _) = server
        .client
        .login("admin@localhost", "not-the-password")
        .await;
    assert_eq!(wrong.status, 401);
    let token = server.client.personal_token(&admin, "k", None).await;
    server
        .client
        .get("/api/audit", &Cred::Token(token))
        .await
        .expect(200);
    let stopped = server.stop();
    assert_eq!(stopped.code, Some(0), "{}", stopped.log);
    data
}

fn copy_of(data: &std::path::Path, name: &str) -> std::path::PathBuf {
    let copy = data.with_file_name(name);
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(data).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
    }
    copy
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_passes_an_intact_log_and_detects_each_kind_of_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let data = history(dir.path()).await;
    let intact = verify(&data);
    assert_eq!(intact.code, Some(0), "{intact}");
    assert!(intact.stdout.contains("ok       default: "), "{intact}");
    assert!(intact.stdout.contains("chain intact"), "{intact}");

    // A failed login rewritten as a success; an event's indexed column
    // changed; an event deleted; the tail cut, with and without the head.
    let cases = [
        (
            "modified",
            "UPDATE audit_events SET record = replace(record, '\"failure\"', '\"success\"'), \
             outcome = 'success' WHERE action = 'LOGIN_FAILED'",
            "stored hash does not match its contents",
        ),
        (
            "filter column changed",
            "UPDATE audit_events SET actor = 'user:someone_else' WHERE seq = 2",
            "seq 2: its actor column(s) disagree",
        ),
        (
            "deleted",
            "DELETE FROM audit_events WHERE seq = 3",
            "has seq 4, expected 3: an event was deleted",
        ),
        (
            "tail cut off",
            "DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events)",
            "records were truncated",
        ),
        (
            "tail cut off and the head rewound",
            "DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events); \
             UPDATE audit_heads SET count = count - 1",
            "the tail was rewritten",
        ),
    ];
    for (index, (what, sql, expected)) in cases.iter().enumerate() {
        let copy = copy_of(&data, &format!("tampered-{index}"));
        tamper(&copy, sql).await;
        let run = verify(&copy);
        assert_eq!(run.code, Some(1), "{what}: {run}");
        assert!(run.stdout.contains("TAMPERED default: "), "{what}: {run}");
        assert!(run.stdout.contains(expected), "{what}: {run}");
    }

    // Nothing to verify is an error, not a new empty database.
    let missing = verify(&dir.path().join("nowhere"));
    assert_eq!(missing.code, Some(2), "{missing}");
    assert!(missing.stderr.contains("no server database"), "{missing}");
    assert!(!dir.path().join("nowhere/rampart.db").exists());
}
