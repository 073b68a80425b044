//! Schemathesis (an independent, property-based API tester from PyPI)
//! against `rampart server`'s own `/api/openapi.json`, authenticated as the
//! administrator: no request may get a server error, and every response
//! must match the document (status, content type, headers, body schema).
//! `scripts/test.sh` installs schemathesis.

#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test.

mod common;

use std::process::Command;

use common::server::ServerProcess;

/// Every check schemathesis has but one: `positive_data_acceptance`
/// expects any schema-valid value to be accepted, while identifiers follow
/// Harness's rules (a letter or `_` first) that the document states in
/// words, so `DELETE /api/roles/0` is a correct 400, not a failure.
const EXCLUDED_CHECKS: &str = "positive_data_acceptance";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_response_off_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&dir.path().join("data")).await;
    let token = server.client.admin_token().await;
    let report = dir.path().join("report");
    let output = Command::new("schemathesis")
        .arg("run")
        .arg(format!("{}/api/openapi.json", server.client.url))
        .args(["--header", &format!("x-api-key: {token}")])
        .args(["--checks", "all", "--exclude-checks", EXCLUDED_CHECKS])
        .args(["--max-examples", "30", "--seed", "1", "--no-shrink"])
        .arg("--report-dir")
        .arg(&report)
        // Its cache (.schemathesis/) goes in the temp dir, not the checkout.
        .current_dir(dir.path())
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run schemathesis ({e}): scripts/test.sh installs it with pip")
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stopped = server.stop();
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("passed"), "{stdout}");
    assert_eq!(stopped.code, Some(0), "{}", stopped.log);
    assert!(!stopped.log.contains("panicked"), "{}", stopped.log);
}
