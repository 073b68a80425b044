//! The embedded runner: a pool of run slots that takes queued runs from
//! the database (the durable job queue), executes each with
//! `rampart-engine` and the local sandboxed executor, and keeps its claim
//! alive with a lease.
//!
//! Restart safety: a run claimed by a server that died keeps `Running`
//! until its lease runs out; then the sweep ends it `Failed` with the
//! reason [`STOPPED_DURING_RUN`] (its log up to that point stays). On
//! SQLite only one server uses the database, so at start every run still
//! `Running` is such a run and is ended at once. Queued runs just wait in
//! the table and run after the restart.

mod hub;
mod job;
mod secrets;
mod sink;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rampart_auth::rbac::{Permission, Principal, Scope};
use rampart_exec::{Namespaces, Network};
use rampart_store::{RunRepo, RunRow, Store};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;

pub(crate) use hub::{Hub, Update};
use secrets::Executor;

use crate::backend::Core;
use crate::scope::now_ms;

/// The reason given to runs a server stopped (crash, kill or shutdown) while they ran.
pub(crate) const STOPPED_DURING_RUN: &str = "server stopped during run";
/// The reason given to runs stopped by an abort request.
pub(crate) const ABORTED_BY_REQUEST: &str = "aborted on request";

/// How long a claim holds without renewal.
const LEASE: Duration = Duration::from_secs(30);
/// How often claims are renewed and other servers' expired claims swept.
const RENEW_EVERY: Duration = Duration::from_secs(5);
/// How often the queue is polled for runs other replicas queued.
const POLL_EVERY: Duration = Duration::from_millis(500);

/// How the embedded runner executes steps.
#[derive(Debug, Clone)]
pub struct RunnerSettings {
    /// Runs executing at once; 0 disables the embedded runner (runs stay queued).
    pub slots: usize,
    /// Network for steps that do not set their own.
    pub network: Network,
    pub namespaces: Namespaces,
    /// Run steps that name an `image` on the host (there is no container runtime yet).
    pub allow_host: bool,
}

impl Default for RunnerSettings {
    fn default() -> Self {
        RunnerSettings {
            slots: 4,
            network: Network::Host,
            namespaces: Namespaces::Auto,
            allow_host: false,
        }
    }
}

/// What a run may be stopped by.
#[derive(Clone, Default)]
pub(crate) struct Stop {
    pub abort: CancellationToken,
    pub shutdown: CancellationToken,
}

/// What the API and the pool share about runs.
pub(crate) struct RunControl {
    pub hub: Hub,
    /// Identifies this process's claims (a fresh id per start).
    pub runner_id: String,
    pub settings: RunnerSettings,
    /// Fired when the server shuts down: live log streams end, runs stop.
    pub shutdown: CancellationToken,
    /// Woken when a run is queued here, so a free slot takes it at once.
    queued: Notify,
    /// The runs executing here, to abort them without waiting for a poll.
    active: Mutex<HashMap<String, CancellationToken>>,
}

impl RunControl {
    pub fn new(settings: RunnerSettings) -> Result<Self, crate::error::ApiError> {
        Ok(RunControl {
            hub: Hub::default(),
            runner_id: crate::scope::new_id("runner_")?,
            settings,
            shutdown: CancellationToken::new(),
            queued: Notify::new(),
            active: Mutex::default(),
        })
    }

    fn active(&self) -> std::sync::MutexGuard<'_, HashMap<String, CancellationToken>> {
        self.active
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A run was queued: wake a free slot.
    pub fn notify_queued(&self) {
        self.queued.notify_one();
    }

    /// Stops a run executing here; `false` if it is not executing here
    /// (its runner sees the database flag instead).
    pub fn abort_local(&self, run_id: &str) -> bool {
        match self.active().get(run_id) {
            Some(abort) => {
                abort.cancel();
                true
            }
            None => false,
        }
    }
}

/// How a run's executor limits are stored: a token's narrowing and scope.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct ExecutorLimits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<Permission>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
}

/// The principal a run acts as.
pub(crate) fn executor_of(run: &RunRow) -> Result<Executor, String> {
    let mut principal = match run.executor_kind.as_str() {
        "user" => Principal::user(&run.executor_id),
        "service_account" => Principal::service_account(&run.executor_id),
        other => return Err(format!("the run's executor kind `{other}` is unknown")),
    };
    if let Some(limits) = &run.executor_limits_json {
        let limits: ExecutorLimits = serde_json::from_str(limits)
            .map_err(|error| format!("the run's executor limits are unreadable: {error}"))?;
        principal.allowed_permissions = limits.permissions.map(|p| p.into_iter().collect());
        principal.scope_limit = limits.scope;
    }
    Ok(Executor {
        principal,
        account: run.pipeline.account.clone(),
    })
}

/// Ends the runs a dead server left `Running`. On SQLite (one server per
/// database) that is every one at start; on PostgreSQL those whose lease ran out.
async fn sweep(store: &Store, at_start: bool) {
    let lease_before = match store {
        Store::Sqlite(_) if at_start => i64::MAX,
        _ => now_ms(),
    };
    match store
        .fail_stale_runs(lease_before, "Failed", STOPPED_DURING_RUN, now_ms())
        .await
    {
        Ok(ended) if !ended.is_empty() => {
            tracing::warn!(runs = ?ended, "ended runs a stopped server left running");
        }
        Ok(_) => {}
        Err(error) => tracing::error!(%error, "cannot end the runs a stopped server left running"),
    }
}

/// Where runs execute: `DIR/runs/RUN/{workspace,private}` under the data directory.
pub(crate) fn run_dir(core: &Core, run_id: &str) -> std::path::PathBuf {
    core.data_dir.join("runs").join(run_id)
}

/// Removes what runs of a server that was killed left on disk (workspaces,
/// and the private files their secrets were written to); at start, before
/// any run of this process, every run directory is such a leftover.
fn remove_leftover_run_dirs(core: &Core) {
    let runs = core.data_dir.join("runs");
    if let Err(error) = std::fs::remove_dir_all(&runs)
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::error!(%error, dir = %runs.display(), "cannot remove the run directories a stopped server left");
    }
}

/// Runs the pool until `shutdown` fires; then stops the runs executing
/// here (they end with [`STOPPED_DURING_RUN`]) and returns when they have.
pub(crate) async fn run_pool(core: Arc<Core>) {
    let shutdown = core.runs.shutdown.clone();
    let settings = core.runs.settings.clone();
    sweep(&core.store, true).await;
    remove_leftover_run_dirs(&core);
    if settings.slots == 0 {
        tracing::info!("the embedded runner is off: runs stay queued");
        return;
    }
    let slots = Arc::new(Semaphore::new(settings.slots));
    let mut running = tokio::task::JoinSet::new();
    let leases = tokio::spawn(keep_leases(core.clone()));
    loop {
        let permit = tokio::select! {
            () = shutdown.cancelled() => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let now = now_ms();
        let lease_until = now + i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX);
        match core
            .store
            .claim_run(&core.runs.runner_id, now, lease_until)
            .await
        {
            Ok(Some(run)) => {
                let stop = Stop {
                    abort: CancellationToken::new(),
                    shutdown: shutdown.clone(),
                };
                core.runs
                    .active()
                    .insert(run.id.clone(), stop.abort.clone());
                let core = core.clone();
                running.spawn(async move {
                    let run_id = run.id.clone();
                    job::execute(core.clone(), run, stop).await;
                    core.runs.active().remove(&run_id);
                    drop(permit);
                });
            }
            Ok(None) => {
                drop(permit);
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = core.runs.queued.notified() => {}
                    () = tokio::time::sleep(POLL_EVERY) => {}
                }
            }
            Err(error) => {
                drop(permit);
                tracing::error!(%error, "cannot take a run from the queue");
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(POLL_EVERY) => {}
                }
            }
        }
        while running.try_join_next().is_some() {}
    }
    while running.join_next().await.is_some() {}
    leases.abort();
}

/// Renews this runner's claims, and sweeps other servers' expired ones.
async fn keep_leases(core: Arc<Core>) {
    let mut every = tokio::time::interval(RENEW_EVERY);
    loop {
        every.tick().await;
        let until = now_ms() + i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX);
        if let Err(error) = core.store.renew_leases(&core.runs.runner_id, until).await {
            tracing::error!(%error, "cannot renew the claims of running runs");
        }
        sweep(&core.store, false).await;
    }
}
