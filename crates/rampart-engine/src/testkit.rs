//! Test doubles and model builders for the engine's unit tests: a scripted
//! in-memory executor that records what it ran and how many ran at once, an
//! event collector, and small constructors for pipeline model values.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rampart_core::{Location, Status};
use rampart_exec::{
    ExecError, ExecFuture, Executor, ExitOutcome, Namespaces, Network, OutputChunk, OutputStream,
    StepExit, StepProcess,
};
use rampart_pipeline::expr::Template;
use rampart_pipeline::model::{
    ErrorKind, FailureAction, FailureStrategy, OutputKind, OutputVariable, Pipeline, Stage,
    StageNode, StatusCondition, Step, StepGroup, StepKind, StepNode, StepSpec, Strategy, Text,
    Timeout, Variable, VariableKind, When,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{
    Engine, Event, EventSink, ResolvedSecret, RunOptions, RunReport, SecretContent, SecretSource,
};

/// What the fake does for one step label (`stage/step`).
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// Exit code per attempt; the last repeats; none means 0.
    pub exits: Vec<i32>,
    pub outputs: BTreeMap<String, String>,
    pub chunks: Vec<(OutputStream, Vec<u8>)>,
    /// How long the process "runs" (honouring timeout and cancel).
    pub hold: Option<Duration>,
    /// Runs until cancelled (or its timeout).
    pub forever: bool,
    /// Fails to start with this message.
    pub setup_error: Option<String>,
}

#[derive(Default)]
pub struct FakeExecutor {
    behaviours: Mutex<BTreeMap<String, Behaviour>>,
    pub calls: Mutex<Vec<StepProcess>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    attempts: Mutex<BTreeMap<String, usize>>,
    /// Files handed to `private_file`, by the (made-up) path it returned.
    pub private_files: Mutex<BTreeMap<PathBuf, Vec<u8>>>,
}

impl FakeExecutor {
    pub fn with(self, label: &str, behaviour: Behaviour) -> Self {
        self.behaviours
            .lock()
            .unwrap()
            .insert(label.to_string(), behaviour);
        self
    }

    /// Labels of the processes started, in order.
    pub fn ran(&self) -> Vec<String> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .map(|p| p.label.clone())
            .collect()
    }

    pub fn process(&self, label: &str) -> StepProcess {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .find(|p| p.label == label)
            .cloned()
            .unwrap_or_else(|| panic!("{label} did not run; ran: {:?}", self.ran()))
    }

    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }
}

impl Executor for FakeExecutor {
    fn private_file(
        &self,
        private_dir: &mut Option<PathBuf>,
        name: &str,
        contents: &[u8],
    ) -> Result<PathBuf, ExecError> {
        let mut files = self.private_files.lock().unwrap();
        let dir = private_dir
            .get_or_insert_with(|| PathBuf::from(format!("/fake-private/{}", files.len())))
            .clone();
        let path = dir.join(name);
        files.insert(path.clone(), contents.to_vec());
        Ok(path)
    }

    fn run(
        &self,
        process: StepProcess,
        output: mpsc::Sender<OutputChunk>,
        cancel: CancellationToken,
    ) -> ExecFuture<'_> {
        Box::pin(async move {
            let behaviour = self
                .behaviours
                .lock()
                .unwrap()
                .get(&process.label)
                .cloned()
                .unwrap_or_default();
            let attempt = {
                let mut attempts = self.attempts.lock().unwrap();
                let n = attempts.entry(process.label.clone()).or_default();
                *n += 1;
                *n
            };
            self.calls.lock().unwrap().push(process.clone());
            if let Some(message) = behaviour.setup_error {
                return Err(ExecError::Setup {
                    label: process.label,
                    message,
                });
            }
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_in_flight.fetch_max(now, Ordering::SeqCst);
            for (stream, bytes) in behaviour.chunks {
                let _ = output.send(OutputChunk { stream, bytes }).await;
            }
            let started = tokio::time::Instant::now();
            let hold = if behaviour.forever {
                Duration::from_secs(365 * 24 * 3600)
            } else {
                behaviour.hold.unwrap_or(Duration::ZERO)
            };
            let timeout = process.timeout.unwrap_or(Duration::MAX);
            let outcome = tokio::select! {
                () = tokio::time::sleep(hold), if hold < timeout => {
                    let exits = &behaviour.exits;
                    let code = exits.get(attempt - 1).or(exits.last()).copied().unwrap_or(0);
                    ExitOutcome::Exited(code)
                }
                () = tokio::time::sleep(timeout), if timeout <= hold => ExitOutcome::TimedOut,
                () = cancel.cancelled() => ExitOutcome::Cancelled,
            };
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            let outputs = if outcome == ExitOutcome::Exited(0) {
                behaviour
                    .outputs
                    .into_iter()
                    .filter(|(k, _)| process.output_variables.contains(k))
                    .collect()
            } else {
                BTreeMap::new()
            };
            Ok(StepExit {
                outcome,
                outputs,
                duration: started.elapsed(),
            })
        })
    }
}

/// Keeps every event.
#[derive(Default)]
pub struct Collector {
    pub events: Mutex<Vec<Event>>,
}

impl EventSink for Collector {
    fn emit(&self, event: &Event) {
        self.events.lock().unwrap().push(event.clone());
    }
}

impl Collector {
    pub fn all(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }

    /// `(stage/step, status, message)` of each StepFinished, in order.
    pub fn finished(&self) -> Vec<(String, Status, Option<String>)> {
        self.all()
            .into_iter()
            .filter_map(|e| match e {
                Event::StepFinished {
                    stage,
                    step,
                    status,
                    message,
                    ..
                } => Some((format!("{stage}/{step}"), status, message)),
                _ => None,
            })
            .collect()
    }

    pub fn status_of(&self, label: &str) -> Status {
        self.finished()
            .into_iter()
            .rev()
            .find(|(l, _, _)| l == label)
            .map(|(_, s, _)| s)
            .unwrap_or_else(|| panic!("no StepFinished for {label}: {:?}", self.finished()))
    }

    pub fn message_of(&self, label: &str) -> String {
        self.finished()
            .into_iter()
            .rev()
            .find(|(l, _, _)| l == label)
            .and_then(|(_, _, m)| m)
            .unwrap_or_default()
    }

    /// Log lines of one step.
    pub fn logs(&self, label: &str) -> Vec<String> {
        self.all()
            .into_iter()
            .filter_map(|e| match e {
                Event::Log {
                    stage, step, line, ..
                } if format!("{stage}/{step}") == label => Some(line),
                _ => None,
            })
            .collect()
    }

    pub fn stage(&self, id: &str) -> (Status, Option<String>) {
        self.all()
            .into_iter()
            .find_map(|e| match e {
                Event::StageFinished {
                    stage,
                    status,
                    message,
                    ..
                } if stage == id => Some((status, message)),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no StageFinished for {id}"))
    }
}

/// Secrets from a map; the reference recorded for audit is `test:ID`.
#[derive(Default)]
pub struct Secrets(pub BTreeMap<String, SecretContent>);

impl SecretSource for Secrets {
    fn get(&self, id: &str) -> Result<ResolvedSecret, String> {
        self.0
            .get(id)
            .cloned()
            .map(|content| ResolvedSecret {
                reference: format!("test:{id}"),
                content,
            })
            .ok_or_else(|| format!("no secret named {id:?}"))
    }
}

pub struct Harness {
    pub executor: Arc<FakeExecutor>,
    pub events: Arc<Collector>,
    pub engine: Engine,
    pub options: RunOptions,
}

impl Harness {
    pub fn new(executor: FakeExecutor) -> Self {
        let executor = Arc::new(executor);
        let events = Arc::new(Collector::default());
        Self {
            engine: Engine {
                executor: executor.clone(),
                events: events.clone(),
                secrets: None,
                masker: Arc::new(rampart_mask::SecretSet::new(
                    rampart_mask::MaskConfig::default(),
                )),
            },
            executor,
            events,
            options: options(),
        }
    }

    pub fn with_secrets(mut self, secrets: &[(&str, &str)]) -> Self {
        self.engine.secrets = Some(Arc::new(Secrets(
            secrets
                .iter()
                .map(|(k, v)| (k.to_string(), SecretContent::Text(v.to_string())))
                .collect(),
        )));
        self
    }

    /// Text secrets, plus File secrets given as `(id, contents)`.
    pub fn with_file_secrets(mut self, text: &[(&str, &str)], files: &[(&str, &[u8])]) -> Self {
        let mut secrets: BTreeMap<String, SecretContent> = text
            .iter()
            .map(|(k, v)| (k.to_string(), SecretContent::Text(v.to_string())))
            .collect();
        secrets.extend(
            files
                .iter()
                .map(|(k, v)| (k.to_string(), SecretContent::File(v.to_vec()))),
        );
        self.engine.secrets = Some(Arc::new(Secrets(secrets)));
        self
    }

    pub async fn run(&self, pipeline: &Pipeline) -> RunReport {
        self.run_with(pipeline, CancellationToken::new()).await
    }

    pub async fn run_with(&self, pipeline: &Pipeline, cancel: CancellationToken) -> RunReport {
        crate::run::execute(&self.engine, pipeline, &self.options, cancel).await
    }
}

pub fn options() -> RunOptions {
    RunOptions {
        sequence_id: 42,
        workspace: PathBuf::from("/workspace"),
        network: Network::Host,
        namespaces: Namespaces::Off,
        allow_host: false,
        codebase: BTreeMap::new(),
        trigger: BTreeMap::from([("type".to_string(), "MANUAL".to_string())]),
        builder_id: "https://rampart.dev/builders/test".to_string(),
    }
}

pub fn text(s: &str) -> Text {
    Text {
        raw: s.to_string(),
        loc: Location::default(),
        template: Some(Template::parse(s).unwrap()),
    }
}

pub fn timeout(secs: u64) -> Timeout {
    Timeout {
        duration: Duration::from_secs(secs),
        raw: format!("{secs}s"),
        loc: Location::default(),
    }
}

pub fn when(status: StatusCondition, condition: Option<&str>) -> When {
    When {
        status,
        condition: condition.map(|c| Text {
            raw: c.to_string(),
            loc: Location::default(),
            template: None,
        }),
        loc: Location::default(),
    }
}

pub fn on_failure(errors: Vec<ErrorKind>, action: FailureAction) -> FailureStrategy {
    FailureStrategy {
        errors,
        action,
        loc: Location::default(),
    }
}

pub fn retry(count: u32, intervals: &[u64], then: FailureAction) -> FailureAction {
    FailureAction::Retry {
        count,
        intervals: intervals.iter().map(|s| Duration::from_secs(*s)).collect(),
        on_retry_failure: Box::new(then),
    }
}

pub fn variable(name: &str, kind: VariableKind, value: &str) -> Variable {
    Variable {
        name: name.to_string(),
        kind,
        value: text(value),
        description: None,
        required: false,
        loc: Location::default(),
    }
}

pub fn step(id: &str, command: &str) -> Step {
    Step {
        identifier: id.to_string(),
        name: id.to_string(),
        loc: Location::default(),
        kind: StepKind::Run,
        when: None,
        failure_strategies: Vec::new(),
        strategy: None,
        timeout: None,
        spec: StepSpec {
            command: Some(text(command)),
            ..StepSpec::default()
        },
        supply: None,
    }
}

pub fn output(name: &str, kind: OutputKind) -> OutputVariable {
    OutputVariable {
        name: name.to_string(),
        kind,
        value: name.to_string(),
        loc: Location::default(),
    }
}

pub fn s(step: Step) -> StepNode {
    StepNode::Step(step)
}

pub fn run(id: &str, command: &str) -> StepNode {
    s(step(id, command))
}

pub fn parallel(nodes: Vec<StepNode>) -> StepNode {
    StepNode::Parallel {
        nodes,
        loc: Location::default(),
    }
}

pub fn group(id: &str, steps: Vec<StepNode>) -> StepGroup {
    StepGroup {
        identifier: id.to_string(),
        name: id.to_string(),
        loc: Location::default(),
        when: None,
        failure_strategies: Vec::new(),
        strategy: None,
        timeout: None,
        steps,
    }
}

pub fn stage(id: &str, steps: Vec<StepNode>) -> Stage {
    Stage {
        identifier: id.to_string(),
        name: id.to_string(),
        description: None,
        loc: Location::default(),
        when: None,
        failure_strategies: Vec::new(),
        variables: Vec::new(),
        strategy: None,
        timeout: None,
        clone_codebase: false,
        shared_paths: Vec::new(),
        steps,
    }
}

pub fn pipeline(stages: Vec<Stage>) -> Pipeline {
    Pipeline {
        identifier: "pipe".to_string(),
        name: "Pipe".to_string(),
        loc: Location::default(),
        org_identifier: None,
        project_identifier: None,
        codebase: None,
        variables: Vec::new(),
        stages: stages.into_iter().map(StageNode::Stage).collect(),
        timeout: None,
    }
}

pub fn matrix(axes: Vec<(&str, Vec<serde_json::Value>)>, max_concurrency: Option<u32>) -> Strategy {
    Strategy::Matrix {
        axes: axes.into_iter().map(|(a, v)| (a.to_string(), v)).collect(),
        exclude: Vec::new(),
        max_concurrency,
        loc: Location::default(),
    }
}

pub fn held(secs: u64) -> Behaviour {
    Behaviour {
        hold: Some(Duration::from_secs(secs)),
        ..Behaviour::default()
    }
}

pub fn exits(codes: &[i32]) -> Behaviour {
    Behaviour {
        exits: codes.to_vec(),
        ..Behaviour::default()
    }
}
