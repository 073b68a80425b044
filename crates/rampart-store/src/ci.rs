//! The CI aggregates: pipelines (with their version history), runs (which
//! are also the durable job queue), each run's stage and step states, and
//! each step's masked log, stored in chunks.
//!
//! The store keeps statuses as the strings it is given, except that it
//! knows the two non-terminal ones ([`QUEUED`], [`RUNNING`]) because the
//! queue and the restart sweep select on them.

use std::future::Future;

use crate::StoreError;

/// A run waiting for a runner slot.
pub const QUEUED: &str = "Queued";
/// A run a runner has claimed and is executing.
pub const RUNNING: &str = "Running";

/// A project's pipeline, at its latest version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineRow {
    pub account: String,
    pub org: String,
    pub project: String,
    pub identifier: String,
    pub name: String,
    /// 1 for a new pipeline; each saved change adds one.
    pub version: i64,
    /// The Harness v0 YAML as the user wrote it.
    pub yaml: String,
    /// Principal id of who saved this version.
    pub updated_by: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// One saved version of a pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineVersion {
    pub version: i64,
    pub yaml: String,
    pub updated_by: String,
    pub created_at_ms: i64,
}

/// Names a pipeline within an account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PipelineKey {
    pub account: String,
    pub org: String,
    pub project: String,
    pub identifier: String,
}

/// One run. Created [`QUEUED`]; a runner's [`RunRepo::claim_run`] moves it
/// to [`RUNNING`]; [`RunRepo::finish_run`] to its final status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRow {
    /// `r_...`, unique across accounts.
    pub id: String,
    pub pipeline: PipelineKey,
    /// The pipeline version that runs (its YAML is in the history).
    pub pipeline_version: i64,
    /// Per pipeline, from 1: `<+pipeline.sequenceId>`. Assigned by the
    /// store at [`RunRepo::enqueue_run`] (the value passed in is ignored).
    pub sequence_id: i64,
    /// [`QUEUED`], [`RUNNING`], or a final status string.
    pub status: String,
    /// `user` or `service_account`.
    pub executor_kind: String,
    /// The executor's principal id; the run acts as them.
    pub executor_id: String,
    /// The limits of the token that started the run (its narrowed
    /// permissions and scope), as JSON the server writes and reads; `None`
    /// for a session or an unrestricted token. Stored as given (nullable TEXT).
    pub executor_limits_json: Option<String>,
    /// The runtime inputs as given, a JSON object of strings.
    pub inputs_json: String,
    /// Why it ended as it did (failed, aborted, stopped by a restart).
    pub message: Option<String>,
    /// The run this one re-runs, if any.
    pub rerun_of: Option<String>,
    pub queued_at_ms: i64,
    pub started_at_ms: Option<i64>,
    pub finished_at_ms: Option<i64>,
    /// Set by an abort request; the runner executing it stops it.
    pub abort_requested: bool,
    /// The runner that claimed it, and until when its claim holds unless renewed.
    pub runner: Option<String>,
    pub lease_until_ms: Option<i64>,
    /// The run's String outputs etc. as a JSON document, written at the end.
    pub summary_json: Option<String>,
}

/// Which runs to list; newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    pub org: Option<String>,
    pub project: Option<String>,
    pub pipeline: Option<String>,
    pub status: Option<String>,
    /// Only runs queued before this run id's queue position (paging).
    pub before: Option<String>,
    /// At most this many (the store caps it at 1000).
    pub limit: u32,
}

/// A stage or step of a run, as last reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunNode {
    pub run_id: String,
    /// `stage` or `step`.
    pub kind: String,
    pub stage: String,
    /// `""` for a stage.
    pub step: String,
    pub name: String,
    /// `Running` or a final status string.
    pub status: String,
    /// Order of first report within the run, from 0; kept on updates.
    pub position: i64,
    pub started_at_ms: Option<i64>,
    pub finished_at_ms: Option<i64>,
    pub duration_ms: Option<i64>,
    pub message: Option<String>,
    /// String outputs, a JSON object (Secret outputs never reach the store).
    pub outputs_json: String,
}

/// A batch of one step's log lines, already masked. `seq` orders chunks
/// within the run (assigned by the caller, strictly increasing per run);
/// `body` is the lines, each as one stream letter (`o` stdout, `e` stderr)
/// followed by the line and `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogChunk {
    pub run_id: String,
    pub seq: i64,
    pub stage: String,
    pub step: String,
    pub line_count: i64,
    pub body: String,
}

/// Where pipelines live. Every method is atomic.
pub trait PipelineRepo {
    /// Saves a new version. `expected_version` `None` creates the pipeline
    /// ([`StoreError::Conflict`] if it exists); `Some(v)` updates it only if
    /// its latest version is still `v` (Conflict otherwise). The row's
    /// `version` is ignored; the stored row is returned, with its new
    /// version, and the version joins the history.
    fn save_pipeline(
        &self,
        row: &PipelineRow,
        expected_version: Option<i64>,
    ) -> impl Future<Output = Result<PipelineRow, StoreError>> + Send;

    fn pipeline(
        &self,
        key: &PipelineKey,
    ) -> impl Future<Output = Result<Option<PipelineRow>, StoreError>> + Send;

    /// A project's pipelines, by identifier.
    fn pipelines(
        &self,
        account: &str,
        org: &str,
        project: &str,
    ) -> impl Future<Output = Result<Vec<PipelineRow>, StoreError>> + Send;

    /// Every saved version, newest first.
    fn pipeline_versions(
        &self,
        key: &PipelineKey,
    ) -> impl Future<Output = Result<Vec<PipelineVersion>, StoreError>> + Send;

    fn pipeline_version(
        &self,
        key: &PipelineKey,
        version: i64,
    ) -> impl Future<Output = Result<Option<PipelineVersion>, StoreError>> + Send;

    /// Deletes the pipeline and its history (its runs and their logs stay).
    fn delete_pipeline(
        &self,
        key: &PipelineKey,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Where runs, their states and their logs live; the runs table is the job
/// queue. Every method is atomic.
pub trait RunRepo {
    /// Stores a new [`QUEUED`] run with the next sequence id of its
    /// pipeline; returns the stored row.
    fn enqueue_run(&self, run: &RunRow) -> impl Future<Output = Result<RunRow, StoreError>> + Send;

    /// Takes the oldest queued run for `runner`: sets it [`RUNNING`],
    /// `started_at_ms = now_ms`, `runner`, `lease_until_ms`. Two runners
    /// never get the same run (PostgreSQL: `FOR UPDATE SKIP LOCKED`).
    fn claim_run(
        &self,
        runner: &str,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> impl Future<Output = Result<Option<RunRow>, StoreError>> + Send;

    /// Extends the lease of every run `runner` is executing; returns how
    /// many it still holds.
    fn renew_leases(
        &self,
        runner: &str,
        lease_until_ms: i64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Ends a [`RUNNING`] run held by `runner`: final status, message,
    /// finish time, summary; clears the lease. `false` if the run is not
    /// running under `runner` (e.g. the sweep ended it).
    fn finish_run(
        &self,
        run_id: &str,
        runner: &str,
        status: &str,
        message: Option<&str>,
        finished_at_ms: i64,
        summary_json: Option<&str>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Ends every [`RUNNING`] run whose lease ends before `lease_before_ms`
    /// with `status` and `message` (a dead server's runs), and marks their
    /// nodes still `Running` the same way; returns the ids of the runs ended.
    fn fail_stale_runs(
        &self,
        lease_before_ms: i64,
        status: &str,
        message: &str,
        at_ms: i64,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Aborts a queued run at once (returns its new status), or flags a
    /// running one for its runner (`abort_requested`); `None` if the run
    /// does not exist. A finished run is returned as it is.
    fn request_abort(
        &self,
        run_id: &str,
        status_for_queued: &str,
        message: &str,
        at_ms: i64,
    ) -> impl Future<Output = Result<Option<RunRow>, StoreError>> + Send;

    fn run(&self, run_id: &str) -> impl Future<Output = Result<Option<RunRow>, StoreError>> + Send;

    /// Runs of an account matching `filter`, newest first.
    fn runs(
        &self,
        account: &str,
        filter: &RunFilter,
    ) -> impl Future<Output = Result<Vec<RunRow>, StoreError>> + Send;

    /// Inserts or updates a stage or step by (run, kind, stage, step),
    /// keeping the first `position` and any `started_at_ms` already stored.
    fn put_node(&self, node: &RunNode) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A run's stages and steps, by position.
    fn nodes(&self, run_id: &str) -> impl Future<Output = Result<Vec<RunNode>, StoreError>> + Send;

    /// Appends log chunks in one transaction.
    fn append_logs(
        &self,
        chunks: &[LogChunk],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A run's chunks with `seq > after_seq`, in order, at most `limit`;
    /// only one step's when `step` is `Some((stage, step))`.
    fn logs(
        &self,
        run_id: &str,
        after_seq: i64,
        step: Option<(&str, &str)>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<LogChunk>, StoreError>> + Send;

    /// The highest chunk `seq` stored for a run (0 if none).
    fn last_log_seq(&self, run_id: &str) -> impl Future<Output = Result<i64, StoreError>> + Send;
}
