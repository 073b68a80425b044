//! Run logs: each step's lines as the runner stored them, masked before
//! they reached the database. Downloadable as text, or followed live over
//! Server-Sent Events from any point: a late viewer gets the backlog from
//! the database, then live lines — only lines already committed, so none a
//! viewer saw can be lost by a crash. Permission `core_pipeline_view`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use rampart_auth::rbac::Permission;
use rampart_store::{LogChunk, QUEUED, RUNNING, RunNode, RunRepo};
use serde::Deserialize;
use tokio::sync::{broadcast, mpsc};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::runs::checked_run;
use super::{Path, Query};
use crate::authn::Caller;
use crate::backend::Core;
use crate::error::ApiError;
use crate::http::AppState;
use crate::runner::Update;

/// Chunks read from the database per query.
const PAGE: u32 = 64;
/// How often a run executing elsewhere is polled for new lines.
const POLL_EVERY: Duration = Duration::from_millis(300);

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(download_log))
        .routes(routes!(stream_log))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LogQuery {
    /// Only this step's lines: `STAGE.STEP` (a step in a group: `STAGE.GROUP.STEP`).
    pub step: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct StreamQuery {
    /// Only this step's lines and states: `STAGE.STEP`.
    pub step: Option<String>,
    /// Start after this event id (`SEQ.N`, as sent); the `Last-Event-ID` header wins.
    pub after: Option<String>,
}

/// `STAGE.STEP` as (stage, step).
fn step_filter(step: Option<&str>) -> Result<Option<(String, String)>, ApiError> {
    let Some(step) = step else {
        return Ok(None);
    };
    match step.split_once('.') {
        Some((stage, step)) if !stage.is_empty() && !step.is_empty() => {
            Ok(Some((stage.to_owned(), step.to_owned())))
        }
        _ => Err(ApiError::BadRequest(format!(
            "`step` is STAGE.STEP (e.g. build.compile), not `{}`",
            crate::scope::shorten(step)
        ))),
    }
}

/// Where a viewer is: after line `line` (0-based) of chunk `seq`; `(0, -1)` is the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Position {
    seq: i64,
    line: i64,
}

impl Position {
    const START: Position = Position { seq: 0, line: -1 };

    fn parse(id: &str) -> Result<Position, ApiError> {
        let bad = || {
            ApiError::BadRequest(format!(
                "`{}` is not a log event id (they look like 12.3)",
                crate::scope::shorten(id)
            ))
        };
        let (seq, line) = id.split_once('.').ok_or_else(bad)?;
        let seq = seq.parse::<i64>().map_err(|_| bad())?;
        let line = line.parse::<i64>().map_err(|_| bad())?;
        if seq < 0 || line < 0 {
            return Err(bad());
        }
        Ok(Position { seq, line })
    }
}

/// The lines of a chunk body: (stream, line).
fn lines(body: &str) -> impl Iterator<Item = (&'static str, &str)> {
    body.split_terminator('\n')
        .map(|entry| match entry.split_at_checked(1) {
            Some(("e", line)) => ("stderr", line),
            Some((_, line)) => ("stdout", line),
            None => ("stdout", ""),
        })
}

#[utoipa::path(get, path = "/api/runs/{run}/logs", tag = "runs",
    params(LogQuery, ("run" = String, Path, description = "The run's id")),
    responses((status = 200, description = "The stored (masked) log as text: a step's lines, or every line prefixed `[STAGE.STEP] `", content_type = "text/plain")))]
async fn download_log(
    State(state): State<AppState>,
    caller: Caller,
    Path(run_id): Path<String>,
    Query(query): Query<LogQuery>,
) -> Result<Response, ApiError> {
    let core = state.core.clone();
    let run = checked_run(&core, &caller, &run_id, Permission::PipelineView).await?;
    let filter = step_filter(query.step.as_deref())?;
    let pages = futures_util::stream::unfold(Some(0i64), move |after| {
        let core = core.clone();
        let run_id = run.id.clone();
        let filter = filter.clone();
        async move {
            let after = after?;
            let step = filter.as_ref().map(|(a, b)| (a.as_str(), b.as_str()));
            match core.store.logs(&run_id, after, step, PAGE).await {
                Ok(chunks) if chunks.is_empty() => None,
                Ok(chunks) => {
                    let next = chunks.last().map(|c| c.seq);
                    let text = render_text(&chunks, filter.is_none());
                    Some((Ok::<_, Infallible>(text), next))
                }
                Err(error) => {
                    tracing::error!(%error, run = run_id, "cannot read a run's log");
                    None
                }
            }
        }
    });
    let mut response = axum::body::Body::from_stream(pages).into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(response)
}

fn render_text(chunks: &[LogChunk], prefixed: bool) -> String {
    let mut text = String::new();
    for chunk in chunks {
        for (_, line) in lines(&chunk.body) {
            if prefixed {
                text.push('[');
                text.push_str(&chunk.stage);
                text.push('.');
                text.push_str(&chunk.step);
                text.push_str("] ");
            }
            text.push_str(line);
            text.push('\n');
        }
    }
    text
}

#[utoipa::path(get, path = "/api/runs/{run}/logs/stream", tag = "runs",
    params(StreamQuery, ("run" = String, Path, description = "The run's id")),
    responses((status = 200, description = "Server-Sent Events: `log` (id `SEQ.N`, data {stage, step, stream, line}), `status` (data {stage, step, status, message}), then `end` (data {status, message})", content_type = "text/event-stream")))]
async fn stream_log(
    State(state): State<AppState>,
    caller: Caller,
    Path(run_id): Path<String>,
    Query(query): Query<StreamQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let core = state.core.clone();
    let run = checked_run(&core, &caller, &run_id, Permission::PipelineView).await?;
    let filter = step_filter(query.step.as_deref())?;
    let last_event = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let from = match last_event.or(query.after) {
        Some(id) => Position::parse(&id)?,
        None => Position::START,
    };
    let (events, receiver) = mpsc::channel::<SseEvent>(256);
    tokio::spawn(async move {
        let mut viewer = Viewer {
            core: core.clone(),
            run_id: run.id.clone(),
            filter,
            at: from,
            events,
            states: HashMap::new(),
        };
        tokio::select! {
            () = viewer.follow() => {}
            () = core.runs.shutdown.cancelled() => {}
        }
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver
            .recv()
            .await
            .map(|event| (Ok::<_, Infallible>(event), receiver))
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

/// The viewer went away.
struct Gone;

/// One viewer's stream.
struct Viewer {
    core: Arc<Core>,
    run_id: String,
    filter: Option<(String, String)>,
    at: Position,
    events: mpsc::Sender<SseEvent>,
    /// The last state sent per (stage, step), so each change is sent once.
    states: HashMap<(String, String), String>,
}

impl Viewer {
    async fn follow(&mut self) {
        let _ = self.run().await;
    }

    async fn run(&mut self) -> Result<(), Gone> {
        loop {
            // Subscribe before reading the database, so nothing committed
            // in between is missed (duplicates are skipped by position).
            let live = self.core.runs.hub.subscribe(&self.run_id);
            self.backlog().await?;
            self.states().await?;
            match live {
                Some(live) => return self.live(live).await,
                None => {
                    if let Some(end) = self.ended().await? {
                        self.backlog().await?;
                        return self.end(end).await;
                    }
                    tokio::time::sleep(POLL_EVERY).await;
                }
            }
        }
    }

    async fn live(&mut self, mut live: broadcast::Receiver<Arc<Update>>) -> Result<(), Gone> {
        loop {
            match live.recv().await {
                Ok(update) => match update.as_ref() {
                    Update::Logs(chunk) => self.chunk(chunk).await?,
                    Update::Node(node) => self.node(node).await?,
                    Update::End { status, message } => {
                        return self.end((status.clone(), message.clone())).await;
                    }
                },
                Err(broadcast::error::RecvError::Lagged(_)) => self.backlog().await?,
                Err(broadcast::error::RecvError::Closed) => {
                    self.backlog().await?;
                    let end = self.ended().await?;
                    return match end {
                        Some(end) => self.end(end).await,
                        None => Ok(()),
                    };
                }
            }
        }
    }

    async fn send(&self, event: SseEvent) -> Result<(), Gone> {
        self.events.send(event).await.map_err(|_| Gone)
    }

    fn wanted(&self, stage: &str, step: &str) -> bool {
        self.filter
            .as_ref()
            .is_none_or(|(s, t)| s == stage && (step.is_empty() || t == step))
    }

    /// Sends the stored lines after the viewer's position.
    async fn backlog(&mut self) -> Result<(), Gone> {
        loop {
            let step = self.filter.as_ref().map(|(a, b)| (a.as_str(), b.as_str()));
            let after = if self.at.line >= 0 {
                self.at.seq - 1
            } else {
                self.at.seq
            };
            let chunks = match self
                .core
                .store
                .logs(&self.run_id, after.max(0), step, PAGE)
                .await
            {
                Ok(chunks) => chunks,
                Err(error) => {
                    tracing::error!(%error, run = self.run_id, "cannot read a run's log");
                    return Err(Gone);
                }
            };
            let full = chunks.len() == PAGE as usize;
            let before = self.at;
            for chunk in &chunks {
                self.chunk(chunk).await?;
            }
            if !full || self.at == before {
                return Ok(());
            }
        }
    }

    async fn chunk(&mut self, chunk: &LogChunk) -> Result<(), Gone> {
        if chunk.seq < self.at.seq || !self.wanted(&chunk.stage, &chunk.step) {
            return Ok(());
        }
        let skip = if chunk.seq == self.at.seq {
            self.at.line + 1
        } else {
            0
        };
        for (index, (stream, line)) in (0i64..).zip(lines(&chunk.body)) {
            if index >= skip {
                let data = serde_json::json!({
                    "stage": chunk.stage,
                    "step": chunk.step,
                    "stream": stream,
                    "line": line,
                });
                self.send(
                    SseEvent::default()
                        .event("log")
                        .id(format!("{}.{index}", chunk.seq))
                        .data(data.to_string()),
                )
                .await?;
                self.at = Position {
                    seq: chunk.seq,
                    line: index,
                };
            }
        }
        Ok(())
    }

    /// Sends the stored state of every stage and step that changed since last sent.
    async fn states(&mut self) -> Result<(), Gone> {
        match self.core.store.nodes(&self.run_id).await {
            Ok(nodes) => {
                for node in nodes {
                    self.node(&node).await?;
                }
                Ok(())
            }
            Err(error) => {
                tracing::error!(%error, run = self.run_id, "cannot read a run's steps");
                Err(Gone)
            }
        }
    }

    async fn node(&mut self, node: &RunNode) -> Result<(), Gone> {
        if !self.wanted(&node.stage, &node.step) {
            return Ok(());
        }
        let key = (node.stage.clone(), node.step.clone());
        if self.states.get(&key) == Some(&node.status) {
            return Ok(());
        }
        self.states.insert(key, node.status.clone());
        let data = serde_json::json!({
            "stage": node.stage,
            "step": (!node.step.is_empty()).then_some(&node.step),
            "status": node.status,
            "message": node.message,
        });
        self.send(SseEvent::default().event("status").data(data.to_string()))
            .await
    }

    /// The run's final status and message, once it has one.
    async fn ended(&self) -> Result<Option<(String, Option<String>)>, Gone> {
        match self.core.store.run(&self.run_id).await {
            Ok(Some(run)) if run.status != QUEUED && run.status != RUNNING => {
                Ok(Some((run.status, run.message)))
            }
            Ok(_) => Ok(None),
            Err(error) => {
                tracing::error!(%error, run = self.run_id, "cannot read a run");
                Err(Gone)
            }
        }
    }

    async fn end(&mut self, (status, message): (String, Option<String>)) -> Result<(), Gone> {
        self.states().await?;
        let data = serde_json::json!({"status": status, "message": message});
        self.send(SseEvent::default().event("end").data(data.to_string()))
            .await
    }
}
