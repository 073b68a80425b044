//! Pipelines, secrets, runs and live logs over real HTTP, each flow on
//! SQLite and on PostgreSQL: apply a pipeline, set secrets, run it as a
//! Pipeline Executor, follow its live log, read its outputs; a Project
//! Viewer is refused; an executor without `core_secret_access` fails at
//! that step.

#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test.

mod common;

use std::time::Duration;

use common::*;

/// The project every flow uses.
const SCOPE: &str = "org=o1&project=p1";

const PIPELINE: &str = r#"
pipeline:
  identifier: build
  name: Build
  orgIdentifier: o1
  projectIdentifier: p1
  variables:
    - name: greeting
      type: String
      value: <+input>
  stages:
    - stage:
        identifier: main
        name: Main
        type: CI
        spec:
          execution:
            steps:
              - step:
                  identifier: hello
                  name: Hello
                  type: Run
                  spec:
                    shell: Sh
                    command: |
                      echo "say <+pipeline.variables.greeting>"
                      echo "token is <+secrets.getValue("api_token")>"
                      echo "org token is <+secrets.getValue("org.shared")>"
                      VERSION=1.2.3
                      TOKEN=<+secrets.getValue("api_token")>
                    outputVariables:
                      - name: VERSION
                      - name: TOKEN
                        type: Secret
              - step:
                  identifier: after
                  name: After
                  type: Run
                  spec:
                    shell: Sh
                    command: echo "version <+steps.hello.output.outputVariables.VERSION>"
"#;

/// An admin session with org `o1` and project `p1`.
async fn setup(server: &TestServer) -> Cred {
    let admin = server.admin_session().await;
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
    admin
}

async fn put(server: &TestServer, path: &str, cred: &Cred, body: Value) -> Reply {
    server.call(Method::PUT, path, cred, Some(body)).await
}

/// A user bound to `role` over the project's resources; returns their token.
async fn project_user(server: &TestServer, admin: &Cred, email: &str, role: &str) -> Cred {
    let id = server.create_user(admin, email).await;
    server
        .post(
            &format!("/api/role-bindings?{SCOPE}"),
            admin,
            json!({
                "principal": {"type": "user", "id": id},
                "role": role,
                "resource_group": "_all_project_level_resources",
            }),
        )
        .await
        .expect(201);
    if role == "_pipeline_executor" {
        // The pipeline also reads an org-level secret.
        server
            .post(
                "/api/role-bindings?org=o1",
                admin,
                json!({
                    "principal": {"type": "user", "id": id},
                    "role": role,
                    "resource_group": "_all_organization_level_resources",
                }),
            )
            .await
            .expect(201);
    }
    let (reply, session) = server.login(email, PASSWORD).await;
    reply.expect(200);
    let token = server.personal_token(&session.unwrap(), "k", None).await;
    Cred::Token(token)
}

mod suite {
    use super::*;

    pub async fn executor_runs_a_pipeline_with_secrets_and_follows_its_log(db: Db) {
        let server = TestServer::start(db).await;
        let admin = setup(&server).await;
        let secret = "s3cr3t-Value-9f8e7d";
        put(
            &server,
            &format!("/api/secrets/api_token?{SCOPE}"),
            &admin,
            json!({"value": secret}),
        )
        .await
        .expect(201);
        put(
            &server,
            "/api/secrets/shared?org=o1",
            &admin,
            json!({"value": "org-level-Shared-42"}),
        )
        .await
        .expect(201);
        // A second version, and metadata that never shows a value.
        let updated = put(
            &server,
            &format!("/api/secrets/api_token?{SCOPE}"),
            &admin,
            json!({"value": secret}),
        )
        .await
        .expect(200);
        assert_eq!(updated.body["version"], 2);
        assert!(!updated.text.contains(secret));
        let applied = put(
            &server,
            &format!("/api/pipelines/build?{SCOPE}"),
            &admin,
            json!({"yaml": PIPELINE}),
        )
        .await
        .expect(201);
        assert_eq!(applied.body["version"], 1);

        let executor =
            project_user(&server, &admin, "exec@example.com", "_pipeline_executor").await;
        let started = server
            .post(
                &format!("/api/pipelines/build/runs?{SCOPE}"),
                &executor,
                json!({"inputs": {"greeting": "hi"}}),
            )
            .await
            .expect(201);
        let run = started.body["id"].as_str().unwrap().to_owned();
        assert_eq!(started.body["executor"]["kind"], "user");
        let stream = format!("/api/runs/{run}/logs/stream");
        let events = server.events(&stream, &executor, None).await.all().await;
        let lines: Vec<&str> = events
            .iter()
            .filter(|e| e.event == "log" && e.data["stream"] == "stdout")
            .map(|e| e.data["line"].as_str().unwrap())
            .collect();
        assert_eq!(
            lines,
            [
                "say hi",
                "token is **************",
                "org token is **************",
                "version 1.2.3"
            ]
        );
        let end = events.last().unwrap();
        assert_eq!(end.event, "end");
        assert_eq!(end.data["status"], "Success");
        assert!(events.iter().any(|e| e.event == "status"
            && e.data["step"] == "hello"
            && e.data["status"] == "Success"));

        let detail = server.finished_run(&executor, &run).await;
        assert_eq!(detail["status"], "Success");
        assert_eq!(detail["sequence_id"], 1);
        let steps = &detail["stages"][0]["steps"];
        assert_eq!(steps[0]["step"], "hello");
        assert_eq!(steps[0]["outputs"], json!({"VERSION": "1.2.3"}));
        assert!(steps[0]["duration_ms"].as_i64().unwrap() >= 0);

        // A late viewer resuming after the first line gets the rest, nothing twice.
        let first_id = events
            .iter()
            .find(|e| e.event == "log" && e.data["line"] == "say hi")
            .unwrap()
            .id
            .clone();
        let resumed = server
            .events(&stream, &executor, Some(&first_id))
            .await
            .all()
            .await;
        let rest: Vec<&str> = resumed
            .iter()
            .filter(|e| e.event == "log" && e.data["stream"] == "stdout")
            .map(|e| e.data["line"].as_str().unwrap())
            .collect();
        assert_eq!(
            rest,
            [
                "token is **************",
                "org token is **************",
                "version 1.2.3"
            ]
        );

        // The text download, whole and for one step.
        let text = reqwest::Client::new()
            .get(format!(
                "{}/api/runs/{run}/logs?step=main.after",
                server.url
            ))
            .bearer_auth(match &executor {
                Cred::Token(t) => t.clone(),
                _ => unreachable!(),
            })
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        // stdout and stderr are read separately, so their order may vary.
        let mut got: Vec<&str> = text.lines().collect();
        got.sort_unstable();
        assert_eq!(got, ["+ echo version 1.2.3", "version 1.2.3"]);

        // Listing, re-running (a new sequence id, the same inputs).
        let listed = server
            .get(&format!("/api/runs?{SCOPE}&pipeline=build"), &executor)
            .await
            .expect(200);
        assert_eq!(listed.body.as_array().unwrap().len(), 1);
        let again = server
            .post(&format!("/api/runs/{run}/rerun"), &executor, json!({}))
            .await
            .expect(201);
        assert_eq!(again.body["rerun_of"], run.as_str());
        assert_eq!(again.body["inputs"], json!({"greeting": "hi"}));
        let again = server
            .finished_run(&executor, again.body["id"].as_str().unwrap())
            .await;
        assert_eq!(again["status"], "Success");
        assert_eq!(again["sequence_id"], 2);
        server.stop().await;
    }

    pub async fn a_viewer_may_read_but_not_run_edit_or_see_secrets(db: Db) {
        let server = TestServer::start(db).await;
        let admin = setup(&server).await;
        put(
            &server,
            &format!("/api/secrets/api_token?{SCOPE}"),
            &admin,
            json!({"value": "v1-secret-zz"}),
        )
        .await
        .expect(201);
        put(
            &server,
            "/api/secrets/shared?org=o1",
            &admin,
            json!({"value": "v2-secret-zz"}),
        )
        .await
        .expect(201);
        put(
            &server,
            &format!("/api/pipelines/build?{SCOPE}"),
            &admin,
            json!({"yaml": PIPELINE}),
        )
        .await
        .expect(201);
        let viewer = project_user(&server, &admin, "view@example.com", "_project_viewer").await;
        server
            .get(&format!("/api/pipelines/build?{SCOPE}"), &viewer)
            .await
            .expect(200);
        let refused = server
            .post(
                &format!("/api/pipelines/build/runs?{SCOPE}"),
                &viewer,
                json!({"inputs": {"greeting": "x"}}),
            )
            .await
            .expect(403);
        assert!(
            refused.text.contains("core_pipeline_execute"),
            "{}",
            refused.text
        );
        put(
            &server,
            &format!("/api/pipelines/build?{SCOPE}"),
            &viewer,
            json!({"yaml": PIPELINE}),
        )
        .await
        .expect(403);
        put(
            &server,
            &format!("/api/secrets/api_token?{SCOPE}"),
            &viewer,
            json!({"value": "x"}),
        )
        .await
        .expect(403);
        let listed = server
            .get(&format!("/api/secrets?{SCOPE}"), &viewer)
            .await
            .expect(200);
        assert_eq!(listed.body[0]["identifier"], "api_token");
        assert!(!listed.text.contains("v1-secret-zz"));
        assert_eq!(
            server.get("/api/runs", &viewer).await.expect(200).body,
            json!([])
        );
        server.stop().await;
    }

    pub async fn an_executor_without_secret_access_fails_at_that_step(db: Db) {
        let server = TestServer::start(db).await;
        let admin = setup(&server).await;
        put(
            &server,
            &format!("/api/secrets/api_token?{SCOPE}"),
            &admin,
            json!({"value": "tok-abc-123-xyz"}),
        )
        .await
        .expect(201);
        put(
            &server,
            "/api/secrets/shared?org=o1",
            &admin,
            json!({"value": "shared-abc-123"}),
        )
        .await
        .expect(201);
        put(
            &server,
            &format!("/api/pipelines/build?{SCOPE}"),
            &admin,
            json!({"yaml": PIPELINE}),
        )
        .await
        .expect(201);
        // A custom role: view and execute pipelines, but no secret access.
        server
            .post(
                &format!("/api/roles?{SCOPE}"),
                &admin,
                json!({"identifier": "runner_only", "name": "Runner only",
                       "permissions": ["core_pipeline_view", "core_pipeline_execute"]}),
            )
            .await
            .expect(201);
        let runner = project_user(&server, &admin, "runner@example.com", "runner_only").await;
        let run = server
            .post(
                &format!("/api/pipelines/build/runs?{SCOPE}"),
                &runner,
                json!({"inputs": {"greeting": "x"}}),
            )
            .await
            .expect(201);
        let run = run.body["id"].as_str().unwrap().to_owned();
        let detail = server.finished_run(&runner, &run).await;
        assert_eq!(detail["status"], "Failed", "{detail}");
        let hello = &detail["stages"][0]["steps"][0];
        assert_eq!(hello["status"], "Failed");
        let message = hello["message"].as_str().unwrap();
        assert!(
            message.contains("core_secret_access") && message.contains("api_token"),
            "{message}"
        );
        let audit = server
            .get("/api/audit?action=SECRET_ACCESS_DENIED", &admin)
            .await
            .expect(200);
        assert!(audit.text.contains(&run), "{}", audit.text);
        server.stop().await;
    }

    pub async fn invalid_pipelines_and_inputs_are_located(db: Db) {
        let server = TestServer::start(db).await;
        let admin = setup(&server).await;
        let bad = PIPELINE.replace("type: Run\n                  spec:\n                    shell: Sh\n                    command: echo \"version", "type: Runn\n                  spec:\n                    shell: Sh\n                    command: echo \"version");
        let refused = put(
            &server,
            &format!("/api/pipelines/build?{SCOPE}"),
            &admin,
            json!({"yaml": bad}),
        )
        .await
        .expect(400);
        assert_eq!(refused.body["code"], "invalid_pipeline");
        let problem = &refused.body["problems"][0];
        assert!(problem["line"].as_u64().unwrap() > 30, "{}", refused.text);
        assert!(
            problem["message"].as_str().unwrap().contains("Runn"),
            "{}",
            refused.text
        );
        put(
            &server,
            &format!("/api/pipelines/build?{SCOPE}"),
            &admin,
            json!({"yaml": PIPELINE}),
        )
        .await
        .expect(201);
        put(
            &server,
            &format!("/api/pipelines/other?{SCOPE}"),
            &admin,
            json!({"yaml": PIPELINE}),
        )
        .await
        .expect(400);
        // An input the pipeline does not have.
        let inputs = server
            .post(
                &format!("/api/pipelines/build/runs?{SCOPE}"),
                &admin,
                json!({"inputs": {"greeting": "x", "nope": "y"}}),
            )
            .await
            .expect(400);
        assert_eq!(inputs.body["code"], "invalid_pipeline");
        // Versions and conflicts.
        put(
            &server,
            &format!("/api/pipelines/build?{SCOPE}"),
            &admin,
            json!({"yaml": PIPELINE, "expected_version": 1}),
        )
        .await
        .expect(200);
        put(
            &server,
            &format!("/api/pipelines/build?{SCOPE}"),
            &admin,
            json!({"yaml": PIPELINE, "expected_version": 1}),
        )
        .await
        .expect(409);
        let versions = server
            .get(&format!("/api/pipelines/build/versions?{SCOPE}"), &admin)
            .await
            .expect(200);
        assert_eq!(versions.body.as_array().unwrap().len(), 2);
        server.get("/api/runs/r_nope", &admin).await.expect(404);
        server.get("/api/runs/..%2F..", &admin).await.expect(400);
        server.stop().await;
    }

    pub async fn abort_stops_a_running_run_and_a_queued_one(db: Db) {
        let server = TestServer::start(db).await;
        let admin = setup(&server).await;
        let slow = r#"
pipeline:
  identifier: slow
  name: Slow
  stages:
    - stage:
        identifier: s
        name: S
        type: CI
        spec:
          execution:
            steps:
              - step:
                  identifier: wait
                  name: Wait
                  type: Run
                  spec:
                    shell: Sh
                    command: echo started; sleep 60
"#;
        put(
            &server,
            &format!("/api/pipelines/slow?{SCOPE}"),
            &admin,
            json!({"yaml": slow}),
        )
        .await
        .expect(201);
        let token = Cred::Token(server.personal_token(&admin, "k", None).await);
        let run = server
            .post(
                &format!("/api/pipelines/slow/runs?{SCOPE}"),
                &token,
                json!({}),
            )
            .await
            .expect(201);
        let run = run.body["id"].as_str().unwrap().to_owned();
        for _ in 0..100 {
            let body = server.get(&format!("/api/runs/{run}"), &token).await.body;
            if body["status"] == "Running" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server
            .post(&format!("/api/runs/{run}/abort"), &token, json!({}))
            .await
            .expect(202);
        let detail = server.finished_run(&token, &run).await;
        assert_eq!(detail["status"], "Aborted", "{detail}");
        server.stop().await;
    }
}

rampart_testkit::on_both!(
    executor_runs_a_pipeline_with_secrets_and_follows_its_log,
    a_viewer_may_read_but_not_run_edit_or_see_secrets,
    an_executor_without_secret_access_fails_at_that_step,
    invalid_pipelines_and_inputs_are_located,
    abort_stops_a_running_run_and_a_queued_one,
);
