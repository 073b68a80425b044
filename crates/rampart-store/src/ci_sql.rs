//! The CI SQL, written once for both databases (as in
//! [`crate::identity_sql`]). [`ci_repo!`] implements
//! [`PipelineRepo`](crate::PipelineRepo) and [`RunRepo`](crate::RunRepo) for
//! a store type with a `pool` field and a `begin_write()` method (see
//! [`crate::write_sql`]). None of it advances the security generation:
//! pipelines and runs grant nothing.
//!
//! The only difference between the databases is how a claim skips runs
//! another claimer is taking: `FOR UPDATE SKIP LOCKED` on PostgreSQL; on
//! SQLite the claiming statement holds the database's write lock, so there
//! is nothing to skip.

use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::StoreError;
use crate::ci::{LogChunk, PipelineKey, PipelineRow, PipelineVersion, RunNode, RunRow};

pub(crate) const PIPELINE_COLUMNS: &str = "account, org, project, identifier, name, version, \
     yaml, updated_by, created_at_ms, updated_at_ms";
pub(crate) const PIPELINE_VERSION_COLUMNS: &str = "version, yaml, updated_by, created_at_ms";
pub(crate) const RUN_COLUMNS: &str = "id, account, org, project, pipeline, pipeline_version, \
     sequence_id, status, executor_kind, executor_id, executor_limits_json, inputs_json, \
     message, rerun_of, queued_at_ms, started_at_ms, finished_at_ms, abort_requested, runner, lease_until_ms, \
     summary_json";
pub(crate) const NODE_COLUMNS: &str = "run_id, kind, stage, step, name, status, position, \
     started_at_ms, finished_at_ms, duration_ms, message, outputs_json";
pub(crate) const LOG_COLUMNS: &str = "run_id, seq, stage, step, line_count, body";

/// The most runs one listing returns, and how many a limit of 0 means.
const RUN_LIMIT_MAX: u32 = 1000;
const RUN_LIMIT_DEFAULT: u32 = 50;
/// The most log chunks one read returns, and how many a limit of 0 means.
const LOG_LIMIT_MAX: u32 = 10_000;
const LOG_LIMIT_DEFAULT: u32 = 50;

fn clamp(limit: u32, default: u32, max: u32) -> i64 {
    i64::from(if limit == 0 { default } else { limit.min(max) })
}

pub(crate) fn run_limit(limit: u32) -> i64 {
    clamp(limit, RUN_LIMIT_DEFAULT, RUN_LIMIT_MAX)
}

pub(crate) fn log_limit(limit: u32) -> i64 {
    clamp(limit, LOG_LIMIT_DEFAULT, LOG_LIMIT_MAX)
}

/// A pipeline as messages name it.
pub(crate) fn describe(key: &PipelineKey) -> String {
    format!(
        "pipeline `{}` of project `{}/{}` in account `{}`",
        key.identifier, key.org, key.project, key.account
    )
}

pub(crate) fn pipeline_of<'r, R>(row: &'r R) -> Result<PipelineRow, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(PipelineRow {
        account: row.try_get("account")?,
        org: row.try_get("org")?,
        project: row.try_get("project")?,
        identifier: row.try_get("identifier")?,
        name: row.try_get("name")?,
        version: row.try_get("version")?,
        yaml: row.try_get("yaml")?,
        updated_by: row.try_get("updated_by")?,
        created_at_ms: row.try_get("created_at_ms")?,
        updated_at_ms: row.try_get("updated_at_ms")?,
    })
}

pub(crate) fn pipeline_version_of<'r, R>(row: &'r R) -> Result<PipelineVersion, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(PipelineVersion {
        version: row.try_get("version")?,
        yaml: row.try_get("yaml")?,
        updated_by: row.try_get("updated_by")?,
        created_at_ms: row.try_get("created_at_ms")?,
    })
}

pub(crate) fn run_of<'r, R>(row: &'r R) -> Result<RunRow, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    bool: Decode<'r, R::Database> + Type<R::Database>,
    Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(RunRow {
        id: row.try_get("id")?,
        pipeline: PipelineKey {
            account: row.try_get("account")?,
            org: row.try_get("org")?,
            project: row.try_get("project")?,
            identifier: row.try_get("pipeline")?,
        },
        pipeline_version: row.try_get("pipeline_version")?,
        sequence_id: row.try_get("sequence_id")?,
        status: row.try_get("status")?,
        executor_kind: row.try_get("executor_kind")?,
        executor_id: row.try_get("executor_id")?,
        executor_limits_json: row.try_get("executor_limits_json")?,
        inputs_json: row.try_get("inputs_json")?,
        message: row.try_get("message")?,
        rerun_of: row.try_get("rerun_of")?,
        queued_at_ms: row.try_get("queued_at_ms")?,
        started_at_ms: row.try_get("started_at_ms")?,
        finished_at_ms: row.try_get("finished_at_ms")?,
        abort_requested: row.try_get("abort_requested")?,
        runner: row.try_get("runner")?,
        lease_until_ms: row.try_get("lease_until_ms")?,
        summary_json: row.try_get("summary_json")?,
    })
}

pub(crate) fn node_of<'r, R>(row: &'r R) -> Result<RunNode, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(RunNode {
        run_id: row.try_get("run_id")?,
        kind: row.try_get("kind")?,
        stage: row.try_get("stage")?,
        step: row.try_get("step")?,
        name: row.try_get("name")?,
        status: row.try_get("status")?,
        position: row.try_get("position")?,
        started_at_ms: row.try_get("started_at_ms")?,
        finished_at_ms: row.try_get("finished_at_ms")?,
        duration_ms: row.try_get("duration_ms")?,
        message: row.try_get("message")?,
        outputs_json: row.try_get("outputs_json")?,
    })
}

pub(crate) fn log_chunk_of<'r, R>(row: &'r R) -> Result<LogChunk, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    let run_id: String = row.try_get("run_id")?;
    let seq: i64 = row.try_get("seq")?;
    // Stored as bytes (see the migration); the store only ever writes UTF-8.
    let body = String::from_utf8(row.try_get("body")?).map_err(|_| {
        StoreError::Corrupt(format!(
            "log chunk {seq} of run `{run_id}` is not UTF-8 text"
        ))
    })?;
    Ok(LogChunk {
        stage: row.try_get("stage")?,
        step: row.try_get("step")?,
        line_count: row.try_get("line_count")?,
        run_id,
        seq,
        body,
    })
}

/// Implements `PipelineRepo` and `RunRepo` for `$store` on database `$db`
/// (see the module docs); `$other` maps errors that are not constraint
/// violations, and `$skip_locked` is what a claim's subquery adds to pass
/// over runs being claimed by others (`" FOR UPDATE SKIP LOCKED"`, or ""
/// where the statement already excludes other writers).
macro_rules! ci_repo {
    ($store:ty, $db:ty, $other:path, $skip_locked:literal) => {
        impl $crate::ci::PipelineRepo for $store {
            async fn save_pipeline(
                &self,
                row: &$crate::ci::PipelineRow,
                expected_version: Option<i64>,
            ) -> Result<$crate::ci::PipelineRow, StoreError> {
                let key = $crate::ci::PipelineKey {
                    account: row.account.clone(),
                    org: row.org.clone(),
                    project: row.project.clone(),
                    identifier: row.identifier.clone(),
                };
                let what = $crate::ci_sql::describe(&key);
                let mut tx = self.begin_write().await?;
                let stored = match expected_version {
                    None => {
                        let sql = sqlx::AssertSqlSafe(format!(
                            "INSERT INTO pipelines ({0}) \
                             VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $9) RETURNING {0}",
                            $crate::ci_sql::PIPELINE_COLUMNS
                        ));
                        sqlx::query(sql)
                            .bind(&row.account)
                            .bind(&row.org)
                            .bind(&row.project)
                            .bind(&row.identifier)
                            .bind(&row.name)
                            .bind(&row.yaml)
                            .bind(&row.updated_by)
                            .bind(row.created_at_ms)
                            .bind(row.updated_at_ms)
                            .fetch_one(&mut *tx)
                            .await
                            .map_err(|e| $crate::identity_sql::insert_error(e, &what, $other))?
                    }
                    Some(expected) => {
                        // The version check and the write are one statement,
                        // so two savers of version `expected` cannot both win.
                        let sql = sqlx::AssertSqlSafe(format!(
                            "UPDATE pipelines SET name = $1, version = version + 1, yaml = $2, \
                             updated_by = $3, updated_at_ms = $4 \
                             WHERE account = $5 AND org = $6 AND project = $7 \
                             AND identifier = $8 AND version = $9 RETURNING {}",
                            $crate::ci_sql::PIPELINE_COLUMNS
                        ));
                        sqlx::query(sql)
                            .bind(&row.name)
                            .bind(&row.yaml)
                            .bind(&row.updated_by)
                            .bind(row.updated_at_ms)
                            .bind(&row.account)
                            .bind(&row.org)
                            .bind(&row.project)
                            .bind(&row.identifier)
                            .bind(expected)
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err($other)?
                            .ok_or_else(|| {
                                StoreError::Conflict(format!(
                                    "{what} is not at version {expected}: it was changed or \
                                     deleted"
                                ))
                            })?
                    }
                };
                let stored = $crate::ci_sql::pipeline_of(&stored)?;
                sqlx::query(
                    "INSERT INTO pipeline_versions (account, org, project, pipeline, version, \
                     yaml, updated_by, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&stored.account)
                .bind(&stored.org)
                .bind(&stored.project)
                .bind(&stored.identifier)
                .bind(stored.version)
                .bind(&stored.yaml)
                .bind(&stored.updated_by)
                .bind(stored.updated_at_ms)
                .execute(&mut *tx)
                .await
                .map_err(|e| {
                    $crate::identity_sql::insert_error(
                        e,
                        &format!("version {} of {what}", stored.version),
                        $other,
                    )
                })?;
                tx.commit().await.map_err($other)?;
                Ok(stored)
            }

            async fn pipeline(
                &self,
                key: &$crate::ci::PipelineKey,
            ) -> Result<Option<$crate::ci::PipelineRow>, StoreError> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM pipelines \
                     WHERE account = $1 AND org = $2 AND project = $3 AND identifier = $4",
                    $crate::ci_sql::PIPELINE_COLUMNS
                ));
                let row = sqlx::query(sql)
                    .bind(&key.account)
                    .bind(&key.org)
                    .bind(&key.project)
                    .bind(&key.identifier)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($other)?;
                row.as_ref().map($crate::ci_sql::pipeline_of).transpose()
            }

            async fn pipelines(
                &self,
                account: &str,
                org: &str,
                project: &str,
            ) -> Result<Vec<$crate::ci::PipelineRow>, StoreError> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM pipelines WHERE account = $1 AND org = $2 AND project = $3 \
                     ORDER BY identifier",
                    $crate::ci_sql::PIPELINE_COLUMNS
                ));
                let rows = sqlx::query(sql)
                    .bind(account)
                    .bind(org)
                    .bind(project)
                    .fetch_all(&self.pool)
                    .await
                    .map_err($other)?;
                rows.iter().map($crate::ci_sql::pipeline_of).collect()
            }

            async fn pipeline_versions(
                &self,
                key: &$crate::ci::PipelineKey,
            ) -> Result<Vec<$crate::ci::PipelineVersion>, StoreError> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM pipeline_versions \
                     WHERE account = $1 AND org = $2 AND project = $3 AND pipeline = $4 \
                     ORDER BY version DESC",
                    $crate::ci_sql::PIPELINE_VERSION_COLUMNS
                ));
                let rows = sqlx::query(sql)
                    .bind(&key.account)
                    .bind(&key.org)
                    .bind(&key.project)
                    .bind(&key.identifier)
                    .fetch_all(&self.pool)
                    .await
                    .map_err($other)?;
                rows.iter()
                    .map($crate::ci_sql::pipeline_version_of)
                    .collect()
            }

            async fn pipeline_version(
                &self,
                key: &$crate::ci::PipelineKey,
                version: i64,
            ) -> Result<Option<$crate::ci::PipelineVersion>, StoreError> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM pipeline_versions \
                     WHERE account = $1 AND org = $2 AND project = $3 AND pipeline = $4 \
                     AND version = $5",
                    $crate::ci_sql::PIPELINE_VERSION_COLUMNS
                ));
                let row = sqlx::query(sql)
                    .bind(&key.account)
                    .bind(&key.org)
                    .bind(&key.project)
                    .bind(&key.identifier)
                    .bind(version)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($other)?;
                row.as_ref()
                    .map($crate::ci_sql::pipeline_version_of)
                    .transpose()
            }

            async fn delete_pipeline(
                &self,
                key: &$crate::ci::PipelineKey,
            ) -> Result<bool, StoreError> {
                // The history follows by foreign key; runs have none.
                let result = sqlx::query(
                    "DELETE FROM pipelines \
                     WHERE account = $1 AND org = $2 AND project = $3 AND identifier = $4",
                )
                .bind(&key.account)
                .bind(&key.org)
                .bind(&key.project)
                .bind(&key.identifier)
                .execute(&self.pool)
                .await
                .map_err($other)?;
                Ok(result.rows_affected() > 0)
            }
        }

        impl $crate::ci::RunRepo for $store {
            async fn enqueue_run(
                &self,
                run: &$crate::ci::RunRow,
            ) -> Result<$crate::ci::RunRow, StoreError> {
                let key = &run.pipeline;
                let mut tx = self.begin_write().await?;
                let version_exists: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM pipeline_versions WHERE account = $1 \
                     AND org = $2 AND project = $3 AND pipeline = $4 AND version = $5)",
                )
                .bind(&key.account)
                .bind(&key.org)
                .bind(&key.project)
                .bind(&key.identifier)
                .bind(run.pipeline_version)
                .fetch_one(&mut *tx)
                .await
                .map_err($other)?;
                if !version_exists {
                    return Err(StoreError::Conflict(format!(
                        "run `{}` cannot be queued: version {} of {} does not exist",
                        run.id,
                        run.pipeline_version,
                        $crate::ci_sql::describe(key)
                    )));
                }
                // On PostgreSQL the counter's row lock orders concurrent
                // enqueues of the pipeline until commit.
                let sequence_id: i64 = sqlx::query_scalar(
                    "INSERT INTO pipeline_sequences (account, org, project, pipeline, \
                     last_sequence) VALUES ($1, $2, $3, $4, 1) \
                     ON CONFLICT (account, org, project, pipeline) \
                     DO UPDATE SET last_sequence = pipeline_sequences.last_sequence + 1 \
                     RETURNING last_sequence",
                )
                .bind(&key.account)
                .bind(&key.org)
                .bind(&key.project)
                .bind(&key.identifier)
                .fetch_one(&mut *tx)
                .await
                .map_err($other)?;
                let sql = sqlx::AssertSqlSafe(format!(
                    "INSERT INTO runs (id, account, org, project, pipeline, pipeline_version, \
                     sequence_id, status, executor_kind, executor_id, inputs_json, rerun_of, \
                     queued_at_ms, executor_limits_json, abort_requested) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, FALSE) \
                     RETURNING {}",
                    $crate::ci_sql::RUN_COLUMNS
                ));
                let row = sqlx::query(sql)
                    .bind(&run.id)
                    .bind(&key.account)
                    .bind(&key.org)
                    .bind(&key.project)
                    .bind(&key.identifier)
                    .bind(run.pipeline_version)
                    .bind(sequence_id)
                    .bind($crate::ci::QUEUED)
                    .bind(&run.executor_kind)
                    .bind(&run.executor_id)
                    .bind(&run.inputs_json)
                    .bind(&run.rerun_of)
                    .bind(run.queued_at_ms)
                    .bind(&run.executor_limits_json)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| {
                        $crate::identity_sql::insert_error(e, &format!("run `{}`", run.id), $other)
                    })?;
                let stored = $crate::ci_sql::run_of(&row)?;
                tx.commit().await.map_err($other)?;
                Ok(stored)
            }

            async fn claim_run(
                &self,
                runner: &str,
                now_ms: i64,
                lease_until_ms: i64,
            ) -> Result<Option<$crate::ci::RunRow>, StoreError> {
                // One statement, atomic on its own: SQLite takes the write
                // lock before it reads, and on PostgreSQL the subquery locks
                // the run it picks, passing over those other claimers hold.
                let sql = sqlx::AssertSqlSafe(format!(
                    "UPDATE runs SET status = $1, started_at_ms = $2, runner = $3, \
                     lease_until_ms = $4 \
                     WHERE id = (SELECT id FROM runs WHERE status = $5 \
                         ORDER BY queue_pos LIMIT 1{}) \
                     RETURNING {}",
                    $skip_locked,
                    $crate::ci_sql::RUN_COLUMNS
                ));
                let row = sqlx::query(sql)
                    .bind($crate::ci::RUNNING)
                    .bind(now_ms)
                    .bind(runner)
                    .bind(lease_until_ms)
                    .bind($crate::ci::QUEUED)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($other)?;
                row.as_ref().map($crate::ci_sql::run_of).transpose()
            }

            async fn renew_leases(
                &self,
                runner: &str,
                lease_until_ms: i64,
            ) -> Result<u64, StoreError> {
                let result = sqlx::query(
                    "UPDATE runs SET lease_until_ms = $1 WHERE runner = $2 AND status = $3",
                )
                .bind(lease_until_ms)
                .bind(runner)
                .bind($crate::ci::RUNNING)
                .execute(&self.pool)
                .await
                .map_err($other)?;
                Ok(result.rows_affected())
            }

            async fn finish_run(
                &self,
                run_id: &str,
                runner: &str,
                status: &str,
                message: Option<&str>,
                finished_at_ms: i64,
                summary_json: Option<&str>,
            ) -> Result<bool, StoreError> {
                // `runner` stays, as a record of who ran it.
                let result = sqlx::query(
                    "UPDATE runs SET status = $1, message = $2, finished_at_ms = $3, \
                     summary_json = $4, lease_until_ms = NULL \
                     WHERE id = $5 AND status = $6 AND runner = $7",
                )
                .bind(status)
                .bind(message)
                .bind(finished_at_ms)
                .bind(summary_json)
                .bind(run_id)
                .bind($crate::ci::RUNNING)
                .bind(runner)
                .execute(&self.pool)
                .await
                .map_err($other)?;
                Ok(result.rows_affected() > 0)
            }

            async fn fail_stale_runs(
                &self,
                lease_before_ms: i64,
                status: &str,
                message: &str,
                at_ms: i64,
            ) -> Result<Vec<String>, StoreError> {
                let mut tx = self.begin_write().await?;
                // A running run without a lease (which no claim leaves) is
                // held by no one, so it is stale too.
                let ended = sqlx::query(
                    "UPDATE runs SET status = $1, message = $2, finished_at_ms = $3, \
                     lease_until_ms = NULL \
                     WHERE status = $4 AND (lease_until_ms IS NULL OR lease_until_ms < $5) \
                     RETURNING id, queue_pos",
                )
                .bind(status)
                .bind(message)
                .bind(at_ms)
                .bind($crate::ci::RUNNING)
                .bind(lease_before_ms)
                .fetch_all(&mut *tx)
                .await
                .map_err($other)?;
                let mut ended = ended
                    .iter()
                    .map(|row| {
                        use sqlx::Row as _;
                        Ok((
                            row.try_get::<i64, _>("queue_pos")?,
                            row.try_get::<String, _>("id")?,
                        ))
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()?;
                ended.sort_unstable();
                for (_, run_id) in &ended {
                    // The duration is NULL for a node that never started.
                    sqlx::query(
                        "UPDATE run_nodes SET status = $1, message = $2, finished_at_ms = $3, \
                         duration_ms = $3 - started_at_ms \
                         WHERE run_id = $4 AND status = $5",
                    )
                    .bind(status)
                    .bind(message)
                    .bind(at_ms)
                    .bind(run_id)
                    .bind($crate::ci::RUNNING)
                    .execute(&mut *tx)
                    .await
                    .map_err($other)?;
                }
                tx.commit().await.map_err($other)?;
                Ok(ended.into_iter().map(|(_, run_id)| run_id).collect())
            }

            async fn request_abort(
                &self,
                run_id: &str,
                status_for_queued: &str,
                message: &str,
                at_ms: i64,
            ) -> Result<Option<$crate::ci::RunRow>, StoreError> {
                // A run only moves forward (queued, running, finished), so
                // trying each state in that order sees every move a claim or
                // a finish makes in between.
                let queued = sqlx::AssertSqlSafe(format!(
                    "UPDATE runs SET status = $1, message = $2, finished_at_ms = $3 \
                     WHERE id = $4 AND status = $5 RETURNING {}",
                    $crate::ci_sql::RUN_COLUMNS
                ));
                let running = sqlx::AssertSqlSafe(format!(
                    "UPDATE runs SET abort_requested = TRUE WHERE id = $1 AND status = $2 \
                     RETURNING {}",
                    $crate::ci_sql::RUN_COLUMNS
                ));
                let any = sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM runs WHERE id = $1",
                    $crate::ci_sql::RUN_COLUMNS
                ));
                let mut tx = self.begin_write().await?;
                let mut row = sqlx::query(queued)
                    .bind(status_for_queued)
                    .bind(message)
                    .bind(at_ms)
                    .bind(run_id)
                    .bind($crate::ci::QUEUED)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err($other)?;
                if row.is_none() {
                    row = sqlx::query(running)
                        .bind(run_id)
                        .bind($crate::ci::RUNNING)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err($other)?;
                }
                if row.is_none() {
                    row = sqlx::query(any)
                        .bind(run_id)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err($other)?;
                }
                let run = row.as_ref().map($crate::ci_sql::run_of).transpose()?;
                tx.commit().await.map_err($other)?;
                Ok(run)
            }

            async fn run(&self, run_id: &str) -> Result<Option<$crate::ci::RunRow>, StoreError> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM runs WHERE id = $1",
                    $crate::ci_sql::RUN_COLUMNS
                ));
                let row = sqlx::query(sql)
                    .bind(run_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($other)?;
                row.as_ref().map($crate::ci_sql::run_of).transpose()
            }

            async fn runs(
                &self,
                account: &str,
                filter: &$crate::ci::RunFilter,
            ) -> Result<Vec<$crate::ci::RunRow>, StoreError> {
                // Only constant SQL is pushed; every value is a bound parameter.
                let mut query = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {} FROM runs WHERE account = ",
                    $crate::ci_sql::RUN_COLUMNS
                ));
                query.push_bind(account);
                for (column, value) in [
                    (" AND org = ", &filter.org),
                    (" AND project = ", &filter.project),
                    (" AND pipeline = ", &filter.pipeline),
                    (" AND status = ", &filter.status),
                ] {
                    if let Some(value) = value {
                        query.push(column).push_bind(value.as_str());
                    }
                }
                if let Some(before) = &filter.before {
                    // An unknown run id compares with NULL: nothing matches.
                    query
                        .push(" AND queue_pos < (SELECT queue_pos FROM runs WHERE id = ")
                        .push_bind(before.as_str())
                        .push(")");
                }
                query
                    .push(" ORDER BY queue_pos DESC LIMIT ")
                    .push_bind($crate::ci_sql::run_limit(filter.limit));
                let rows = query
                    .build()
                    .fetch_all(&self.pool)
                    .await
                    .map_err($other)?;
                rows.iter().map($crate::ci_sql::run_of).collect()
            }

            async fn put_node(&self, node: &$crate::ci::RunNode) -> Result<(), StoreError> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "INSERT INTO run_nodes ({}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                     ON CONFLICT (run_id, kind, stage, step) DO UPDATE SET \
                     name = excluded.name, status = excluded.status, \
                     started_at_ms = COALESCE(run_nodes.started_at_ms, excluded.started_at_ms), \
                     finished_at_ms = excluded.finished_at_ms, \
                     duration_ms = excluded.duration_ms, message = excluded.message, \
                     outputs_json = excluded.outputs_json",
                    $crate::ci_sql::NODE_COLUMNS
                ));
                sqlx::query(sql)
                    .bind(&node.run_id)
                    .bind(&node.kind)
                    .bind(&node.stage)
                    .bind(&node.step)
                    .bind(&node.name)
                    .bind(&node.status)
                    .bind(node.position)
                    .bind(node.started_at_ms)
                    .bind(node.finished_at_ms)
                    .bind(node.duration_ms)
                    .bind(&node.message)
                    .bind(&node.outputs_json)
                    .execute(&self.pool)
                    .await
                    .map(drop)
                    .map_err(|e| {
                        $crate::identity_sql::insert_error(
                            e,
                            &format!(
                                "{} `{}/{}` of run `{}`",
                                node.kind, node.stage, node.step, node.run_id
                            ),
                            $other,
                        )
                    })
            }

            async fn nodes(&self, run_id: &str) -> Result<Vec<$crate::ci::RunNode>, StoreError> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM run_nodes WHERE run_id = $1 \
                     ORDER BY position, kind, stage, step",
                    $crate::ci_sql::NODE_COLUMNS
                ));
                let rows = sqlx::query(sql)
                    .bind(run_id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err($other)?;
                rows.iter().map($crate::ci_sql::node_of).collect()
            }

            async fn append_logs(&self, chunks: &[$crate::ci::LogChunk]) -> Result<(), StoreError> {
                if chunks.is_empty() {
                    return Ok(());
                }
                let sql = sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO run_logs ({}) VALUES ($1, $2, $3, $4, $5, $6)",
                    $crate::ci_sql::LOG_COLUMNS
                )));
                let mut tx = self.begin_write().await?;
                // One prepared statement (sqlx caches it per connection),
                // one row per chunk: the work is per chunk, never per line.
                for chunk in chunks {
                    sqlx::query(sql.clone())
                        .bind(&chunk.run_id)
                        .bind(chunk.seq)
                        .bind(&chunk.stage)
                        .bind(&chunk.step)
                        .bind(chunk.line_count)
                        .bind(chunk.body.as_bytes())
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| {
                            $crate::identity_sql::insert_error(
                                e,
                                &format!("log chunk {} of run `{}`", chunk.seq, chunk.run_id),
                                $other,
                            )
                        })?;
                }
                tx.commit().await.map_err($other)
            }

            async fn logs(
                &self,
                run_id: &str,
                after_seq: i64,
                step: Option<(&str, &str)>,
                limit: u32,
            ) -> Result<Vec<$crate::ci::LogChunk>, StoreError> {
                let limit = $crate::ci_sql::log_limit(limit);
                let rows = match step {
                    None => {
                        let sql = sqlx::AssertSqlSafe(format!(
                            "SELECT {} FROM run_logs WHERE run_id = $1 AND seq > $2 \
                             ORDER BY seq LIMIT $3",
                            $crate::ci_sql::LOG_COLUMNS
                        ));
                        sqlx::query(sql)
                            .bind(run_id)
                            .bind(after_seq)
                            .bind(limit)
                            .fetch_all(&self.pool)
                            .await
                    }
                    Some((stage, step)) => {
                        let sql = sqlx::AssertSqlSafe(format!(
                            "SELECT {} FROM run_logs WHERE run_id = $1 AND stage = $2 \
                             AND step = $3 AND seq > $4 ORDER BY seq LIMIT $5",
                            $crate::ci_sql::LOG_COLUMNS
                        ));
                        sqlx::query(sql)
                            .bind(run_id)
                            .bind(stage)
                            .bind(step)
                            .bind(after_seq)
                            .bind(limit)
                            .fetch_all(&self.pool)
                            .await
                    }
                }
                .map_err($other)?;
                rows.iter().map($crate::ci_sql::log_chunk_of).collect()
            }

            async fn last_log_seq(&self, run_id: &str) -> Result<i64, StoreError> {
                sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM run_logs WHERE run_id = $1")
                    .bind(run_id)
                    .fetch_one(&self.pool)
                    .await
                    .map_err($other)
            }
        }
    };
}

pub(crate) use ci_repo;
