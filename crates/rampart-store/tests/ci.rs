//! One suite of `PipelineRepo` and `RunRepo` behaviour, run against both
//! databases (see `common` for how each test runs on SQLite and on
//! PostgreSQL).

// Test helpers outside #[test] functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

mod common;

rampart_testkit::on_both!(
    pipelines_save_update_conflict_and_history,
    pipelines_are_listed_and_deleted_without_their_runs,
    a_pipeline_needs_its_project,
    sequence_ids_count_per_pipeline,
    concurrent_enqueues_get_distinct_sequence_ids,
    claims_take_the_oldest_queued_run,
    concurrent_claimers_never_share_a_run,
    leases_renew_and_stale_runs_fail_with_their_nodes,
    finish_run_needs_the_claiming_runner,
    abort_by_state,
    nodes_upsert_keeps_position_and_start,
    logs_append_page_filter_and_last_seq,
    runs_filter_and_page,
    a_project_delete_removes_its_pipelines_and_keeps_runs,
    bad_input_is_an_answer_not_a_panic,
);

mod suite {
    use std::collections::HashSet;

    use rampart_store::{
        Account, IdentityRepo, LogChunk, Organization, PipelineKey, PipelineRepo, PipelineRow,
        Project, QUEUED, RUNNING, RunFilter, RunNode, RunRepo, RunRow, Store, StoreError,
    };

    fn is_conflict<T: std::fmt::Debug>(result: &Result<T, StoreError>) -> bool {
        matches!(result, Err(StoreError::Conflict(_)))
    }

    /// Account `acc` with org `o` and projects `p` and `q`.
    async fn scopes(store: &Store) {
        store
            .create_account(&Account {
                identifier: "acc".into(),
                name: "Acc".into(),
                created_at_ms: 1,
            })
            .await
            .unwrap();
        store
            .create_organization(&Organization {
                account: "acc".into(),
                identifier: "o".into(),
                name: "O".into(),
                description: String::new(),
                created_at_ms: 1,
            })
            .await
            .unwrap();
        for project in ["p", "q"] {
            store
                .create_project(&Project {
                    account: "acc".into(),
                    org: "o".into(),
                    identifier: project.into(),
                    name: project.to_uppercase(),
                    description: String::new(),
                    created_at_ms: 1,
                })
                .await
                .unwrap();
        }
    }

    fn key(project: &str, id: &str) -> PipelineKey {
        PipelineKey {
            account: "acc".into(),
            org: "o".into(),
            project: project.into(),
            identifier: id.into(),
        }
    }

    fn pipeline(project: &str, id: &str, yaml: &str, at: i64) -> PipelineRow {
        PipelineRow {
            account: "acc".into(),
            org: "o".into(),
            project: project.into(),
            identifier: id.into(),
            name: format!("Pipeline {id}"),
            version: 99,
            yaml: yaml.into(),
            updated_by: "u_ada".into(),
            created_at_ms: at,
            updated_at_ms: at,
        }
    }

    fn run(id: &str, pipeline: &PipelineKey, version: i64, at: i64) -> RunRow {
        RunRow {
            id: id.into(),
            pipeline: pipeline.clone(),
            pipeline_version: version,
            sequence_id: 1234,
            status: "Success".into(),
            executor_kind: "user".into(),
            executor_id: "u_ada".into(),
            executor_limits_json: Some(r#"{"scope":null}"#.into()),
            inputs_json: r#"{"tag":"v1"}"#.into(),
            message: Some("ignored".into()),
            rerun_of: None,
            queued_at_ms: at,
            started_at_ms: Some(1),
            finished_at_ms: Some(2),
            abort_requested: true,
            runner: Some("someone".into()),
            lease_until_ms: Some(3),
            summary_json: Some("{}".into()),
        }
    }

    /// Pipeline `project/id` at version 1, and `count` runs of it named
    /// `{prefix}{n}`, queued in order.
    async fn queued(store: &Store, project: &str, id: &str, prefix: &str, count: usize) {
        let key = key(project, id);
        if store.pipeline(&key).await.unwrap().is_none() {
            store
                .save_pipeline(&pipeline(project, id, "v1", 10), None)
                .await
                .unwrap();
        }
        for n in 0..count {
            let at = 1000 + i64::try_from(n).unwrap();
            store
                .enqueue_run(&run(&format!("{prefix}{n}"), &key, 1, at))
                .await
                .unwrap();
        }
    }

    fn node(run_id: &str, kind: &str, stage: &str, step: &str, position: i64) -> RunNode {
        RunNode {
            run_id: run_id.into(),
            kind: kind.into(),
            stage: stage.into(),
            step: step.into(),
            name: format!("{stage}/{step}"),
            status: RUNNING.into(),
            position,
            started_at_ms: Some(100 + position),
            finished_at_ms: None,
            duration_ms: None,
            message: None,
            outputs_json: "{}".into(),
        }
    }

    fn chunk(run_id: &str, seq: i64, step: &str, body: &str) -> LogChunk {
        LogChunk {
            run_id: run_id.into(),
            seq,
            stage: "build".into(),
            step: step.into(),
            line_count: i64::try_from(body.matches('\n').count()).unwrap(),
            body: body.into(),
        }
    }

    fn ids(runs: &[RunRow]) -> Vec<&str> {
        runs.iter().map(|r| r.id.as_str()).collect()
    }

    pub async fn pipelines_save_update_conflict_and_history(store: Store, _url: String) {
        scopes(&store).await;
        let k = key("p", "build");
        assert_eq!(store.pipeline(&k).await.unwrap(), None);
        let created = store
            .save_pipeline(&pipeline("p", "build", "yaml 1", 10), None)
            .await
            .unwrap();
        assert_eq!(created.version, 1, "the row's version is ignored");
        assert_eq!(
            (created.created_at_ms, created.updated_at_ms),
            (10, 10),
            "{created:?}"
        );
        assert_eq!(store.pipeline(&k).await.unwrap(), Some(created.clone()));

        let again = store
            .save_pipeline(&pipeline("p", "build", "other", 11), None)
            .await;
        assert!(is_conflict(&again), "{again:?}");

        let mut change = pipeline("p", "build", "yaml 2", 20);
        change.name = "Renamed".into();
        change.updated_by = "u_bob".into();
        change.created_at_ms = 999;
        let updated = store.save_pipeline(&change, Some(1)).await.unwrap();
        assert_eq!(updated.version, 2);
        assert_eq!(updated.name, "Renamed");
        assert_eq!(updated.yaml, "yaml 2");
        assert_eq!(updated.updated_by, "u_bob");
        assert_eq!(
            (updated.created_at_ms, updated.updated_at_ms),
            (10, 20),
            "creation time is kept"
        );

        // A saver that read version 1 loses to the one that saved first.
        let stale = store
            .save_pipeline(&pipeline("p", "build", "yaml stale", 30), Some(1))
            .await;
        assert!(is_conflict(&stale), "{stale:?}");
        let missing = store
            .save_pipeline(&pipeline("p", "nope", "y", 30), Some(1))
            .await;
        assert!(is_conflict(&missing), "{missing:?}");
        assert_eq!(store.pipeline(&key("p", "nope")).await.unwrap(), None);
        assert_eq!(store.pipeline(&k).await.unwrap(), Some(updated.clone()));

        let third = store
            .save_pipeline(&pipeline("p", "build", "yaml 3", 40), Some(2))
            .await
            .unwrap();
        assert_eq!(third.version, 3);

        let history = store.pipeline_versions(&k).await.unwrap();
        let summary: Vec<_> = history
            .iter()
            .map(|v| {
                (
                    v.version,
                    v.yaml.as_str(),
                    v.updated_by.as_str(),
                    v.created_at_ms,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (3, "yaml 3", "u_ada", 40),
                (2, "yaml 2", "u_bob", 20),
                (1, "yaml 1", "u_ada", 10)
            ]
        );
        assert_eq!(
            store.pipeline_version(&k, 2).await.unwrap(),
            Some(history[1].clone())
        );
        assert_eq!(store.pipeline_version(&k, 4).await.unwrap(), None);
        assert_eq!(store.pipeline_version(&k, 0).await.unwrap(), None);
    }

    pub async fn pipelines_are_listed_and_deleted_without_their_runs(store: Store, _url: String) {
        scopes(&store).await;
        for id in ["zeta", "Beta", "alpha"] {
            store
                .save_pipeline(&pipeline("p", id, "y", 1), None)
                .await
                .unwrap();
        }
        store
            .save_pipeline(&pipeline("q", "other", "y", 1), None)
            .await
            .unwrap();
        let listed: Vec<_> = store
            .pipelines("acc", "o", "p")
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.identifier)
            .collect();
        assert_eq!(listed, ["Beta", "alpha", "zeta"], "byte-wise order");
        assert!(
            store
                .pipelines("acc", "o", "nope")
                .await
                .unwrap()
                .is_empty()
        );

        let k = key("p", "alpha");
        store
            .save_pipeline(&pipeline("p", "alpha", "y2", 2), Some(1))
            .await
            .unwrap();
        let first = store.enqueue_run(&run("r_1", &k, 2, 5)).await.unwrap();
        store
            .append_logs(&[chunk("r_1", 1, "s", "oline\n")])
            .await
            .unwrap();

        assert!(store.delete_pipeline(&k).await.unwrap());
        assert!(!store.delete_pipeline(&k).await.unwrap());
        assert_eq!(store.pipeline(&k).await.unwrap(), None);
        assert!(store.pipeline_versions(&k).await.unwrap().is_empty());
        assert_eq!(store.pipelines("acc", "o", "p").await.unwrap().len(), 2);
        // The run and its log stay.
        assert_eq!(store.run("r_1").await.unwrap(), Some(first));
        assert_eq!(store.last_log_seq("r_1").await.unwrap(), 1);

        // A pipeline created again under the same identifier continues the
        // numbering: the old run keeps its sequence id.
        store
            .save_pipeline(&pipeline("p", "alpha", "new", 3), None)
            .await
            .unwrap();
        let next = store.enqueue_run(&run("r_2", &k, 1, 6)).await.unwrap();
        assert_eq!(next.sequence_id, 2);
    }

    pub async fn a_pipeline_needs_its_project(store: Store, _url: String) {
        scopes(&store).await;
        let orphan = store
            .save_pipeline(&pipeline("missing", "build", "y", 1), None)
            .await;
        assert!(is_conflict(&orphan), "{orphan:?}");
        let mut other_account = pipeline("p", "build", "y", 1);
        other_account.account = "elsewhere".into();
        let orphan = store.save_pipeline(&other_account, None).await;
        assert!(is_conflict(&orphan), "{orphan:?}");
        assert!(
            store
                .pipelines("acc", "o", "missing")
                .await
                .unwrap()
                .is_empty()
        );
    }

    pub async fn sequence_ids_count_per_pipeline(store: Store, _url: String) {
        scopes(&store).await;
        queued(&store, "p", "a", "a", 0).await;
        queued(&store, "p", "b", "b", 0).await;
        // The same identifier in another project is another pipeline.
        queued(&store, "q", "a", "qa", 0).await;
        let mut seen = Vec::new();
        for (id, project, pipeline) in [
            ("r_1", "p", "a"),
            ("r_2", "p", "b"),
            ("r_3", "p", "a"),
            ("r_4", "q", "a"),
            ("r_5", "p", "a"),
        ] {
            let stored = store
                .enqueue_run(&run(id, &key(project, pipeline), 1, 7))
                .await
                .unwrap();
            seen.push((id, stored.sequence_id));
        }
        assert_eq!(
            seen,
            [("r_1", 1), ("r_2", 1), ("r_3", 2), ("r_4", 1), ("r_5", 3)]
        );

        // The store sets what a new run starts with, whatever it was given.
        let stored = store.run("r_3").await.unwrap().unwrap();
        let mut expected = run("r_3", &key("p", "a"), 1, 7);
        expected.sequence_id = 2;
        expected.status = QUEUED.into();
        expected.message = None;
        expected.started_at_ms = None;
        expected.finished_at_ms = None;
        expected.abort_requested = false;
        expected.runner = None;
        expected.lease_until_ms = None;
        expected.summary_json = None;
        assert_eq!(stored, expected);

        let duplicate = store.enqueue_run(&run("r_1", &key("p", "a"), 1, 8)).await;
        assert!(is_conflict(&duplicate), "{duplicate:?}");
        let no_version = store.enqueue_run(&run("r_6", &key("p", "a"), 2, 8)).await;
        assert!(is_conflict(&no_version), "{no_version:?}");
        let no_pipeline = store.enqueue_run(&run("r_7", &key("p", "zz"), 1, 8)).await;
        assert!(is_conflict(&no_pipeline), "{no_pipeline:?}");
        assert_eq!(store.run("r_6").await.unwrap(), None);
        // Failed enqueues used no number.
        let next = store
            .enqueue_run(&run("r_8", &key("p", "a"), 1, 9))
            .await
            .unwrap();
        assert_eq!(next.sequence_id, 4);
    }

    pub async fn concurrent_enqueues_get_distinct_sequence_ids(store: Store, _url: String) {
        scopes(&store).await;
        queued(&store, "p", "build", "x", 0).await;
        let mut tasks = Vec::new();
        for t in 0..8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut sequences = Vec::new();
                for n in 0..10 {
                    let stored = store
                        .enqueue_run(&run(&format!("r_{t}_{n}"), &key("p", "build"), 1, 1))
                        .await
                        .unwrap();
                    sequences.push(stored.sequence_id);
                }
                sequences
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        all.sort_unstable();
        assert_eq!(all, (1..=80).collect::<Vec<i64>>());
    }

    pub async fn claims_take_the_oldest_queued_run(store: Store, _url: String) {
        scopes(&store).await;
        assert_eq!(store.claim_run("w1", 5, 50).await.unwrap(), None);
        queued(&store, "p", "a", "r_a", 2).await;
        queued(&store, "q", "b", "r_b", 1).await;
        queued(&store, "p", "a", "r_c", 1).await;

        let first = store.claim_run("w1", 5000, 6000).await.unwrap().unwrap();
        assert_eq!(first.id, "r_a0");
        assert_eq!(first.status, RUNNING);
        assert_eq!(first.started_at_ms, Some(5000));
        assert_eq!(first.runner.as_deref(), Some("w1"));
        assert_eq!(first.lease_until_ms, Some(6000));
        assert_eq!(first.finished_at_ms, None);
        assert_eq!(store.run("r_a0").await.unwrap(), Some(first));

        let order: Vec<String> = [
            store.claim_run("w2", 1, 2).await.unwrap(),
            store.claim_run("w1", 1, 2).await.unwrap(),
            store.claim_run("w2", 1, 2).await.unwrap(),
        ]
        .into_iter()
        .map(|r| r.unwrap().id)
        .collect();
        assert_eq!(
            order,
            ["r_a1", "r_b0", "r_c0"],
            "enqueue order, across pipelines"
        );
        assert_eq!(store.claim_run("w1", 1, 2).await.unwrap(), None);
    }

    pub async fn concurrent_claimers_never_share_a_run(store: Store, _url: String) {
        scopes(&store).await;
        queued(&store, "p", "build", "r_", 50).await;
        let mut tasks = Vec::new();
        for t in 0..8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let runner = format!("w{t}");
                let mut claimed = Vec::new();
                while let Some(run) = store.claim_run(&runner, 10, 20).await.unwrap() {
                    assert_eq!(run.runner.as_deref(), Some(runner.as_str()));
                    claimed.push(run.id);
                }
                claimed
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        assert_eq!(all.len(), 50, "every run claimed once: {all:?}");
        let unique: HashSet<_> = all.iter().collect();
        assert_eq!(unique.len(), 50, "no run claimed twice");
        assert_eq!(store.claim_run("late", 10, 20).await.unwrap(), None);
        let running = store
            .runs(
                "acc",
                &RunFilter {
                    status: Some(RUNNING.into()),
                    limit: 1000,
                    ..RunFilter::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(running.len(), 50);
    }

    pub async fn leases_renew_and_stale_runs_fail_with_their_nodes(store: Store, _url: String) {
        scopes(&store).await;
        queued(&store, "p", "build", "r_", 4).await;
        for (runner, lease) in [("dead", 100), ("alive", 100), ("dead", 150)] {
            store.claim_run(runner, 50, lease).await.unwrap().unwrap();
        }
        // r_0 dead (lease 100), r_1 alive (renewed below), r_2 dead (150), r_3 queued.
        assert_eq!(store.renew_leases("alive", 500).await.unwrap(), 1);
        assert_eq!(store.renew_leases("nobody", 500).await.unwrap(), 0);
        assert_eq!(
            store.run("r_1").await.unwrap().unwrap().lease_until_ms,
            Some(500)
        );

        let mut done = node("r_0", "step", "build", "done", 1);
        done.status = "Success".into();
        done.finished_at_ms = Some(120);
        done.duration_ms = Some(19);
        let mut not_started = node("r_0", "step", "build", "next", 2);
        not_started.started_at_ms = None;
        for n in [
            node("r_0", "stage", "build", "", 0),
            done.clone(),
            not_started,
            node("r_1", "stage", "build", "", 0),
        ] {
            store.put_node(&n).await.unwrap();
        }

        let ended = store
            .fail_stale_runs(200, "Errored", "the server restarted", 300)
            .await
            .unwrap();
        assert_eq!(ended, ["r_0", "r_2"]);
        for id in ["r_0", "r_2"] {
            let run = store.run(id).await.unwrap().unwrap();
            assert_eq!(run.status, "Errored");
            assert_eq!(run.message.as_deref(), Some("the server restarted"));
            assert_eq!(run.finished_at_ms, Some(300));
            assert_eq!(run.lease_until_ms, None);
        }
        assert_eq!(store.run("r_1").await.unwrap().unwrap().status, RUNNING);
        assert_eq!(store.run("r_3").await.unwrap().unwrap().status, QUEUED);

        let nodes = store.nodes("r_0").await.unwrap();
        let summary: Vec<_> = nodes
            .iter()
            .map(|n| {
                (
                    n.step.as_str(),
                    n.status.as_str(),
                    n.message.as_deref(),
                    n.finished_at_ms,
                    n.duration_ms,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "",
                    "Errored",
                    Some("the server restarted"),
                    Some(300),
                    Some(200)
                ),
                ("done", "Success", None, Some(120), Some(19)),
                (
                    "next",
                    "Errored",
                    Some("the server restarted"),
                    Some(300),
                    None
                ),
            ]
        );
        assert_eq!(store.nodes("r_1").await.unwrap()[0].status, RUNNING);

        // The sweep's runner can no longer finish them; renewals skip them.
        assert!(
            !store
                .finish_run("r_0", "dead", "Success", None, 400, None)
                .await
                .unwrap()
        );
        assert_eq!(store.renew_leases("dead", 900).await.unwrap(), 0);
        assert!(
            store
                .fail_stale_runs(200, "Errored", "again", 301)
                .await
                .unwrap()
                .is_empty()
        );
    }

    pub async fn finish_run_needs_the_claiming_runner(store: Store, _url: String) {
        scopes(&store).await;
        queued(&store, "p", "build", "r_", 2).await;
        // A queued run cannot be finished.
        assert!(
            !store
                .finish_run("r_0", "w1", "Success", None, 9, None)
                .await
                .unwrap()
        );
        store.claim_run("w1", 10, 100).await.unwrap().unwrap();
        assert!(
            !store
                .finish_run("r_0", "w2", "Success", None, 20, None)
                .await
                .unwrap(),
            "another runner"
        );
        assert!(
            !store
                .finish_run("r_missing", "w1", "Success", None, 20, None)
                .await
                .unwrap()
        );
        assert_eq!(store.run("r_0").await.unwrap().unwrap().status, RUNNING);
        assert!(
            store
                .finish_run(
                    "r_0",
                    "w1",
                    "Failed",
                    Some("step build/test exited 1"),
                    30,
                    Some(r#"{"outputs":{}}"#)
                )
                .await
                .unwrap()
        );
        let finished = store.run("r_0").await.unwrap().unwrap();
        assert_eq!(finished.status, "Failed");
        assert_eq!(
            finished.message.as_deref(),
            Some("step build/test exited 1")
        );
        assert_eq!(
            (finished.started_at_ms, finished.finished_at_ms),
            (Some(10), Some(30))
        );
        assert_eq!(finished.summary_json.as_deref(), Some(r#"{"outputs":{}}"#));
        assert_eq!(finished.lease_until_ms, None, "the lease is cleared");
        assert_eq!(finished.runner.as_deref(), Some("w1"), "who ran it stays");
        // Only once.
        assert!(
            !store
                .finish_run("r_0", "w1", "Success", None, 40, None)
                .await
                .unwrap()
        );
        assert_eq!(store.run("r_0").await.unwrap().unwrap(), finished);
    }

    pub async fn abort_by_state(store: Store, _url: String) {
        scopes(&store).await;
        queued(&store, "p", "build", "r_", 3).await;
        assert_eq!(
            store
                .request_abort("r_missing", "Aborted", "by u_ada", 5)
                .await
                .unwrap(),
            None
        );

        // r_0 running, r_1 finished, r_2 queued.
        store.claim_run("w1", 10, 100).await.unwrap().unwrap();
        store.claim_run("w1", 10, 100).await.unwrap().unwrap();
        assert!(
            store
                .finish_run("r_1", "w1", "Success", None, 20, None)
                .await
                .unwrap()
        );

        let queued = store
            .request_abort("r_2", "Aborted", "aborted by u_ada", 30)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(queued.status, "Aborted");
        assert_eq!(queued.message.as_deref(), Some("aborted by u_ada"));
        assert_eq!(queued.finished_at_ms, Some(30));
        assert_eq!(queued.started_at_ms, None);
        assert_eq!(store.run("r_2").await.unwrap(), Some(queued.clone()));
        assert_eq!(
            store.claim_run("w1", 40, 100).await.unwrap(),
            None,
            "an aborted run leaves the queue"
        );

        let running = store
            .request_abort("r_0", "Aborted", "aborted by u_ada", 31)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(running.status, RUNNING, "its runner stops it");
        assert!(running.abort_requested);
        assert_eq!(running.finished_at_ms, None);
        assert_eq!(running.message, None);
        assert!(store.run("r_0").await.unwrap().unwrap().abort_requested);
        // Asking again changes nothing more.
        assert_eq!(
            store
                .request_abort("r_0", "Aborted", "again", 32)
                .await
                .unwrap(),
            Some(running)
        );

        let finished = store.run("r_1").await.unwrap().unwrap();
        assert_eq!(
            store
                .request_abort("r_1", "Aborted", "too late", 33)
                .await
                .unwrap(),
            Some(finished.clone())
        );
        assert_eq!(store.run("r_1").await.unwrap(), Some(finished));
        // An aborted queued run is finished: a second abort leaves it.
        assert_eq!(
            store
                .request_abort("r_2", "Other", "again", 34)
                .await
                .unwrap(),
            Some(queued)
        );
    }

    pub async fn nodes_upsert_keeps_position_and_start(store: Store, _url: String) {
        scopes(&store).await;
        queued(&store, "p", "build", "r_", 2).await;
        assert!(store.nodes("r_0").await.unwrap().is_empty());
        store
            .put_node(&node("r_0", "stage", "build", "", 0))
            .await
            .unwrap();
        store
            .put_node(&node("r_0", "step", "build", "compile", 1))
            .await
            .unwrap();
        store
            .put_node(&node("r_0", "step", "build", "test", 2))
            .await
            .unwrap();
        // A stage and a step may share a name; kind tells them apart.
        store
            .put_node(&node("r_0", "stage", "test", "", 3))
            .await
            .unwrap();

        let mut update = node("r_0", "step", "build", "compile", 7);
        update.name = "Compile it".into();
        update.status = "Success".into();
        update.started_at_ms = Some(999);
        update.finished_at_ms = Some(150);
        update.duration_ms = Some(49);
        update.message = Some("ok".into());
        update.outputs_json = r#"{"v":"1"}"#.into();
        store.put_node(&update).await.unwrap();

        // A node first reported without a start gets the later one.
        let mut late = node("r_0", "step", "build", "late", 4);
        late.started_at_ms = None;
        store.put_node(&late).await.unwrap();
        late.started_at_ms = Some(300);
        store.put_node(&late).await.unwrap();

        let nodes = store.nodes("r_0").await.unwrap();
        let order: Vec<_> = nodes
            .iter()
            .map(|n| {
                (
                    n.kind.as_str(),
                    n.stage.as_str(),
                    n.step.as_str(),
                    n.position,
                )
            })
            .collect();
        assert_eq!(
            order,
            [
                ("stage", "build", "", 0),
                ("step", "build", "compile", 1),
                ("step", "build", "test", 2),
                ("stage", "test", "", 3),
                ("step", "build", "late", 4),
            ]
        );
        let compile = &nodes[1];
        let mut expected = update.clone();
        expected.position = 1;
        expected.started_at_ms = Some(101);
        assert_eq!(compile, &expected, "the first position and start are kept");
        assert_eq!(nodes[4].started_at_ms, Some(300));
        assert!(store.nodes("r_1").await.unwrap().is_empty());

        let orphan = store
            .put_node(&node("r_missing", "step", "a", "b", 0))
            .await;
        assert!(is_conflict(&orphan), "{orphan:?}");
    }

    pub async fn logs_append_page_filter_and_last_seq(store: Store, _url: String) {
        scopes(&store).await;
        queued(&store, "p", "build", "r_", 2).await;
        assert_eq!(store.last_log_seq("r_0").await.unwrap(), 0);
        assert!(store.logs("r_0", 0, None, 10).await.unwrap().is_empty());
        store.append_logs(&[]).await.unwrap();

        // A big chunk, text with a NUL and non-ASCII, empty lines.
        let big: String = (0..20_000).map(|i| format!("oline {i}\n")).collect();
        let chunks = vec![
            chunk("r_0", 1, "compile", "ocompiling\newarning: \u{0} ünïcode\n"),
            chunk("r_0", 2, "test", "o\n"),
            chunk("r_0", 3, "compile", &big),
            chunk("r_1", 1, "compile", "oother run\n"),
        ];
        store.append_logs(&chunks).await.unwrap();
        store
            .append_logs(&[chunk("r_0", 5, "test", "odone\n")])
            .await
            .unwrap();
        assert_eq!(store.last_log_seq("r_0").await.unwrap(), 5);
        assert_eq!(store.last_log_seq("r_1").await.unwrap(), 1);

        let all = store.logs("r_0", 0, None, 100).await.unwrap();
        assert_eq!(all[..3], chunks[..3], "bodies round-trip byte for byte");
        assert_eq!(all[2].line_count, 20_000);
        assert_eq!(all.iter().map(|c| c.seq).collect::<Vec<_>>(), [1, 2, 3, 5]);

        let page: Vec<_> = store
            .logs("r_0", 1, None, 2)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.seq)
            .collect();
        assert_eq!(page, [2, 3]);
        let rest: Vec<_> = store
            .logs("r_0", 3, None, 2)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.seq)
            .collect();
        assert_eq!(rest, [5]);
        assert!(store.logs("r_0", 5, None, 2).await.unwrap().is_empty());

        let test: Vec<_> = store
            .logs("r_0", 0, Some(("build", "test")), 100)
            .await
            .unwrap()
            .into_iter()
            .map(|c| (c.seq, c.body))
            .collect();
        assert_eq!(test, [(2, "o\n".to_string()), (5, "odone\n".to_string())]);
        let compile_after_1: Vec<_> = store
            .logs("r_0", 1, Some(("build", "compile")), 100)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.seq)
            .collect();
        assert_eq!(compile_after_1, [3]);
        assert!(
            store
                .logs("r_0", 0, Some(("other", "test")), 100)
                .await
                .unwrap()
                .is_empty()
        );

        // A batch with a repeated seq is refused whole.
        let repeated = store
            .append_logs(&[
                chunk("r_0", 6, "test", "onew\n"),
                chunk("r_0", 3, "test", "odup\n"),
            ])
            .await;
        assert!(is_conflict(&repeated), "{repeated:?}");
        assert_eq!(store.last_log_seq("r_0").await.unwrap(), 5);
        let orphan = store
            .append_logs(&[chunk("r_missing", 1, "s", "o\n")])
            .await;
        assert!(is_conflict(&orphan), "{orphan:?}");
        assert_eq!(store.last_log_seq("r_missing").await.unwrap(), 0);
    }

    pub async fn runs_filter_and_page(store: Store, _url: String) {
        scopes(&store).await;
        // Queue order: a0 a1 b0 c0 a2 (c is in project q).
        queued(&store, "p", "a", "a", 2).await;
        queued(&store, "p", "b", "b", 1).await;
        queued(&store, "q", "c", "c", 1).await;
        queued(&store, "p", "a", "a2_", 1).await;
        store.claim_run("w", 1, 2).await.unwrap().unwrap(); // a0
        store.claim_run("w", 1, 2).await.unwrap().unwrap(); // a1
        assert!(
            store
                .finish_run("a1", "w", "Success", None, 3, None)
                .await
                .unwrap()
        );

        let list = |filter: RunFilter| {
            let store = store.clone();
            async move {
                store
                    .runs("acc", &filter)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.id.clone())
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            list(RunFilter::default()).await,
            ["a2_0", "c0", "b0", "a1", "a0"],
            "newest first; 0 means the default limit"
        );
        let project_p = RunFilter {
            org: Some("o".into()),
            project: Some("p".into()),
            ..RunFilter::default()
        };
        assert_eq!(list(project_p.clone()).await, ["a2_0", "b0", "a1", "a0"]);
        let pipeline_a = RunFilter {
            pipeline: Some("a".into()),
            ..project_p.clone()
        };
        assert_eq!(list(pipeline_a.clone()).await, ["a2_0", "a1", "a0"]);
        assert_eq!(
            list(RunFilter {
                status: Some(QUEUED.into()),
                ..RunFilter::default()
            })
            .await,
            ["a2_0", "c0", "b0"]
        );
        assert_eq!(
            list(RunFilter {
                status: Some("Success".into()),
                ..pipeline_a.clone()
            })
            .await,
            ["a1"]
        );
        assert!(
            list(RunFilter {
                org: Some("nope".into()),
                ..RunFilter::default()
            })
            .await
            .is_empty()
        );

        // Paging by the last id seen.
        let first = list(RunFilter {
            limit: 2,
            ..RunFilter::default()
        })
        .await;
        assert_eq!(first, ["a2_0", "c0"]);
        let second = list(RunFilter {
            limit: 2,
            before: Some(first[1].clone()),
            ..RunFilter::default()
        })
        .await;
        assert_eq!(second, ["b0", "a1"]);
        let last = list(RunFilter {
            limit: 2,
            before: Some(second[1].clone()),
            ..RunFilter::default()
        })
        .await;
        assert_eq!(last, ["a0"]);
        assert!(
            list(RunFilter {
                before: Some("a0".into()),
                ..RunFilter::default()
            })
            .await
            .is_empty()
        );
        assert_eq!(
            list(RunFilter {
                before: Some("a2_0".into()),
                ..pipeline_a
            })
            .await,
            ["a1", "a0"],
            "paging combines with the filter"
        );
        assert!(
            list(RunFilter {
                before: Some("r_unknown".into()),
                ..RunFilter::default()
            })
            .await
            .is_empty(),
            "an unknown cursor matches nothing"
        );
        // Another account sees none of them.
        assert!(
            store
                .runs("other", &RunFilter::default())
                .await
                .unwrap()
                .is_empty()
        );
        let full = store.runs("acc", &RunFilter::default()).await.unwrap();
        assert_eq!(ids(&full).len(), 5);
        assert_eq!(full[4], store.run("a0").await.unwrap().unwrap());
    }

    pub async fn a_project_delete_removes_its_pipelines_and_keeps_runs(store: Store, _url: String) {
        scopes(&store).await;
        queued(&store, "p", "a", "r_a", 1).await;
        queued(&store, "q", "b", "r_b", 1).await;
        assert!(store.delete_project("acc", "o", "p").await.unwrap());
        assert_eq!(store.pipeline(&key("p", "a")).await.unwrap(), None);
        assert!(
            store
                .pipeline_versions(&key("p", "a"))
                .await
                .unwrap()
                .is_empty()
        );
        assert!(store.pipelines("acc", "o", "p").await.unwrap().is_empty());
        assert!(store.pipeline(&key("q", "b")).await.unwrap().is_some());
        let kept = store.run("r_a0").await.unwrap().unwrap();
        assert_eq!(kept.pipeline, key("p", "a"));
        // The queue still hands it out: what to do with it is the server's call.
        assert_eq!(
            store.claim_run("w", 1, 2).await.unwrap().map(|r| r.id),
            Some("r_a0".into())
        );

        // The whole account, too.
        assert!(store.delete_account("acc").await.unwrap());
        assert_eq!(store.pipeline(&key("q", "b")).await.unwrap(), None);
        assert!(store.run("r_b0").await.unwrap().is_some());
    }

    pub async fn bad_input_is_an_answer_not_a_panic(store: Store, _url: String) {
        scopes(&store).await;
        queued(&store, "p", "build", "r_", 1).await;
        let weird = ["", "'; DROP TABLE runs; --", "ü/..", "%", "_"];
        for text in weird {
            assert_eq!(store.run(text).await.unwrap(), None);
            assert!(store.nodes(text).await.unwrap().is_empty());
            assert_eq!(store.last_log_seq(text).await.unwrap(), 0);
            assert!(
                store
                    .logs(text, i64::MIN, Some((text, text)), u32::MAX)
                    .await
                    .unwrap()
                    .is_empty()
            );
            assert_eq!(store.pipeline(&key(text, text)).await.unwrap(), None);
            assert!(store.pipelines(text, text, text).await.unwrap().is_empty());
            assert!(!store.delete_pipeline(&key(text, text)).await.unwrap());
            assert_eq!(store.renew_leases(text, 1).await.unwrap(), 0);
            assert!(
                !store
                    .finish_run(text, text, text, Some(text), 1, Some(text))
                    .await
                    .unwrap()
            );
            assert_eq!(
                store.request_abort(text, text, text, 1).await.unwrap(),
                None
            );
            let filter = RunFilter {
                org: Some(text.into()),
                project: Some(text.into()),
                pipeline: Some(text.into()),
                status: Some(text.into()),
                before: Some(text.into()),
                limit: u32::MAX,
            };
            assert!(store.runs(text, &filter).await.unwrap().is_empty());
        }
        // PostgreSQL refuses a NUL in text (SQLite stores it): an error either
        // way, never a panic or a match.
        for result in [
            store.run("\u{0}").await.map(|r| r.is_none()),
            store
                .pipeline(&key("\u{0}", "x"))
                .await
                .map(|p| p.is_none()),
            store
                .logs("r_0", 0, Some(("\u{0}", "")), 1)
                .await
                .map(|l| l.is_empty()),
        ] {
            assert!(
                matches!(result, Ok(true) | Err(StoreError::Database(_))),
                "{result:?}"
            );
        }
        // Extreme numbers.
        let k = key("p", "build");
        assert_eq!(store.pipeline_version(&k, i64::MIN).await.unwrap(), None);
        let stale = store
            .save_pipeline(&pipeline("p", "build", "y", 1), Some(i64::MAX))
            .await;
        assert!(is_conflict(&stale), "{stale:?}");
        let no_version = store.enqueue_run(&run("r_x", &k, i64::MAX, i64::MIN)).await;
        assert!(is_conflict(&no_version), "{no_version:?}");
        assert!(
            store
                .fail_stale_runs(i64::MIN, "", "", i64::MAX)
                .await
                .unwrap()
                .is_empty()
        );
        let listed = store
            .runs(
                "acc",
                &RunFilter {
                    limit: u32::MAX,
                    ..RunFilter::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(ids(&listed), ["r_0"]);
        // A node kind the schema does not know is refused, not stored.
        let bad_kind = store.put_node(&node("r_0", "job", "a", "b", 0)).await;
        assert!(bad_kind.is_err(), "{bad_kind:?}");
        assert!(store.nodes("r_0").await.unwrap().is_empty());
        // Limits are capped: 0 means a default page, not everything.
        let many: Vec<LogChunk> = (1..=60).map(|seq| chunk("r_0", seq, "s", "o\n")).collect();
        store.append_logs(&many).await.unwrap();
        assert_eq!(store.logs("r_0", 0, None, 0).await.unwrap().len(), 50);
        assert_eq!(
            store
                .logs("r_0", i64::MIN, None, u32::MAX)
                .await
                .unwrap()
                .len(),
            60
        );
    }
}
