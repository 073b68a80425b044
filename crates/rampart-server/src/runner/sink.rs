//! A run's events into the database, then to live viewers: stage and step
//! states as they change, and each step's (already masked) log lines in
//! chunks. `emit` only buffers, so the engine never waits on the database;
//! one writer task per run commits in order and publishes what it
//! committed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rampart_engine::{Event, EventSink, LogStream};
use rampart_store::{LogChunk, RUNNING, RunNode, RunRepo, Store};
use tokio::sync::{Notify, broadcast};

use super::hub::Update;
use crate::scope::now_ms;

/// A step's buffered lines are committed once they reach this size...
const CHUNK_BYTES: usize = 256 * 1024;
/// ...or this long after the last commit, whichever comes first.
const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// Chunks committed in one transaction at most.
const BATCH_CHUNKS: usize = 16;

/// What the writer commits next, in order.
enum Item {
    Logs {
        stage: String,
        step: String,
        lines: i64,
        body: String,
    },
    Node(RunNode),
}

#[derive(Default)]
struct Open {
    lines: i64,
    body: String,
}

#[derive(Default)]
struct Pending {
    /// Lines not yet handed to the writer, per (stage, step): a few steps
    /// at most, searched by borrowed names so a log line allocates no key.
    open: Vec<((String, String), Open)>,
    ready: Vec<Item>,
    /// First-report order of stages and steps, and step names.
    positions: HashMap<(bool, String, String), i64>,
    names: HashMap<(String, String), String>,
}

/// The engine's sink for one server run.
pub(crate) struct RunSink {
    run_id: String,
    pending: Mutex<Pending>,
    wake: Notify,
}

impl RunSink {
    pub fn new(run_id: &str) -> Arc<Self> {
        Arc::new(RunSink {
            run_id: run_id.to_owned(),
            pending: Mutex::default(),
            wake: Notify::new(),
        })
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Hands every buffered line and state change to the writer.
    fn take(&self) -> Vec<Item> {
        let mut pending = self.pending();
        let open = std::mem::take(&mut pending.open);
        let mut items = std::mem::take(&mut pending.ready);
        items.extend(open.into_iter().map(|((stage, step), open)| Item::Logs {
            stage,
            step,
            lines: open.lines,
            body: open.body,
        }));
        items
    }

    fn node(&self, pending: &mut Pending, stage: &str, step: Option<&str>) -> RunNode {
        let key = (
            step.is_some(),
            stage.to_owned(),
            step.unwrap_or("").to_owned(),
        );
        let next = i64::try_from(pending.positions.len()).unwrap_or(i64::MAX);
        let position = *pending.positions.entry(key).or_insert(next);
        let name = match step {
            Some(step) => pending
                .names
                .get(&(stage.to_owned(), step.to_owned()))
                .cloned()
                .unwrap_or_else(|| step.to_owned()),
            None => pending
                .names
                .get(&(stage.to_owned(), String::new()))
                .cloned()
                .unwrap_or_else(|| stage.to_owned()),
        };
        RunNode {
            run_id: self.run_id.clone(),
            kind: if step.is_some() { "step" } else { "stage" }.into(),
            stage: stage.to_owned(),
            step: step.unwrap_or("").to_owned(),
            name,
            status: RUNNING.into(),
            position,
            started_at_ms: None,
            finished_at_ms: None,
            duration_ms: None,
            message: None,
            outputs_json: "{}".into(),
        }
    }

    /// Moves a step's (or, with `step` `None`, a whole stage's) open lines
    /// ahead of the state change that follows them.
    fn close(pending: &mut Pending, stage: &str, step: Option<&str>) {
        let (closing, kept) = std::mem::take(&mut pending.open)
            .into_iter()
            .partition(|((s, t), _)| s == stage && step.is_none_or(|step| step == t));
        pending.open = kept;
        for ((stage, step), open) in closing {
            pending.ready.push(Item::Logs {
                stage,
                step,
                lines: open.lines,
                body: open.body,
            });
        }
    }
}

impl EventSink for RunSink {
    fn emit(&self, event: &Event) {
        let mut pending = self.pending();
        match event {
            Event::Log {
                stage,
                step,
                stream,
                line,
            } => {
                let index = match pending
                    .open
                    .iter()
                    .position(|((s, t), _)| s == stage && t == step)
                {
                    Some(index) => index,
                    None => {
                        pending
                            .open
                            .push(((stage.clone(), step.clone()), Open::default()));
                        pending.open.len() - 1
                    }
                };
                let open = &mut pending.open[index].1;
                open.body.push(match stream {
                    LogStream::Stdout => 'o',
                    LogStream::Stderr => 'e',
                });
                open.body.push_str(line);
                open.body.push('\n');
                open.lines += 1;
                if open.body.len() < CHUNK_BYTES {
                    return;
                }
                Self::close(&mut pending, stage, Some(step));
            }
            Event::StageStarted { stage, name } => {
                pending
                    .names
                    .insert((stage.clone(), String::new()), name.clone());
                let mut node = self.node(&mut pending, stage, None);
                node.started_at_ms = Some(now_ms());
                pending.ready.push(Item::Node(node));
            }
            Event::StepStarted { stage, step, name } => {
                pending
                    .names
                    .insert((stage.clone(), step.clone()), name.clone());
                let mut node = self.node(&mut pending, stage, Some(step));
                node.started_at_ms = Some(now_ms());
                pending.ready.push(Item::Node(node));
            }
            Event::StepFinished {
                stage,
                step,
                status,
                duration_ms,
                outputs,
                message,
                secret_outputs,
                ..
            } => {
                Self::close(&mut pending, stage, Some(step));
                let mut node = self.node(&mut pending, stage, Some(step));
                let shown: serde_json::Map<String, serde_json::Value> = outputs
                    .iter()
                    .filter(|(name, _)| !secret_outputs.contains(name))
                    .map(|(name, value)| (name.clone(), value.clone().into()))
                    .collect();
                node.status = status.to_string();
                node.finished_at_ms = Some(now_ms());
                node.duration_ms = i64::try_from(*duration_ms).ok();
                node.message = message.clone();
                node.outputs_json = serde_json::Value::Object(shown).to_string();
                pending.ready.push(Item::Node(node));
            }
            Event::StageFinished {
                stage,
                status,
                duration_ms,
                message,
            } => {
                Self::close(&mut pending, stage, None);
                let mut node = self.node(&mut pending, stage, None);
                node.status = status.to_string();
                node.finished_at_ms = Some(now_ms());
                node.duration_ms = i64::try_from(*duration_ms).ok();
                node.message = message.clone();
                pending.ready.push(Item::Node(node));
            }
            Event::RunStarted { .. } | Event::RunFinished { .. } => return,
        }
        drop(pending);
        self.wake.notify_one();
    }
}

/// Commits a run's events in order until `done` fires, then commits what is
/// left and returns. Each commit is published to `live` after it succeeds.
pub(crate) async fn write(
    sink: Arc<RunSink>,
    store: Store,
    live: broadcast::Sender<Arc<Update>>,
    done: tokio_util::sync::CancellationToken,
) {
    let mut seq = 0i64;
    loop {
        let finished = tokio::select! {
            () = done.cancelled() => true,
            () = sink.wake.notified() => false,
            () = tokio::time::sleep(FLUSH_EVERY) => false,
        };
        if !finished {
            // Gather a little more, so chunks fill up when output is heavy.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let items = sink.take();
        commit(&sink.run_id, &store, &live, items, &mut seq).await;
        if finished {
            return;
        }
    }
}

async fn commit(
    run_id: &str,
    store: &Store,
    live: &broadcast::Sender<Arc<Update>>,
    items: Vec<Item>,
    seq: &mut i64,
) {
    let mut chunks: Vec<LogChunk> = Vec::new();
    for item in items {
        match item {
            Item::Logs {
                stage,
                step,
                lines,
                body,
            } => {
                *seq += 1;
                chunks.push(LogChunk {
                    run_id: run_id.to_owned(),
                    seq: *seq,
                    stage,
                    step,
                    line_count: lines,
                    body,
                });
                if chunks.len() >= BATCH_CHUNKS {
                    commit_logs(store, live, std::mem::take(&mut chunks)).await;
                }
            }
            Item::Node(node) => {
                commit_logs(store, live, std::mem::take(&mut chunks)).await;
                match store.put_node(&node).await {
                    Ok(()) => {
                        let _ = live.send(Arc::new(Update::Node(node)));
                    }
                    Err(error) => {
                        tracing::error!(%error, run = run_id, "cannot store a step's state")
                    }
                }
            }
        }
    }
    commit_logs(store, live, chunks).await;
}

async fn commit_logs(store: &Store, live: &broadcast::Sender<Arc<Update>>, chunks: Vec<LogChunk>) {
    if chunks.is_empty() {
        return;
    }
    match store.append_logs(&chunks).await {
        Ok(()) => {
            for chunk in chunks {
                // No receiver is fine: nobody is watching live.
                let _ = live.send(Arc::new(Update::Logs(chunk)));
            }
        }
        Err(error) => tracing::error!(%error, "cannot store log lines; they are lost"),
    }
}
