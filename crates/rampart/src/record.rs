//! The local run record: `STATE/runs/N/` holds the pipeline as run, the inputs,
//! every event (`events.jsonl`), each step's log (`logs/STAGE/STEP.log`) and the
//! summary (`summary.json`).

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use rampart_engine::{Event, EventSink, RunReport};

use crate::render::json_line;

/// One run's directory, allocated with the next free sequence number.
pub struct RunRecord {
    dir: PathBuf,
    sequence_id: u64,
}

impl RunRecord {
    /// Allocates `STATE/runs/N` with N one more than the highest recorded run.
    /// `create_dir` fails if N exists, so concurrent runs never share a number.
    pub fn create(state_dir: &Path) -> anyhow::Result<RunRecord> {
        let runs = state_dir.join("runs");
        fs::create_dir_all(&runs)
            .with_context(|| format!("cannot create state directory {}", runs.display()))?;
        let mut next = highest_run(&runs)? + 1;
        loop {
            let dir = runs.join(next.to_string());
            match fs::create_dir(&dir) {
                Ok(()) => {
                    return Ok(RunRecord {
                        dir,
                        sequence_id: next,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => next += 1,
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("cannot create run directory {}", dir.display()));
                }
            }
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn sequence_id(&self) -> u64 {
        self.sequence_id
    }

    pub fn write_file(&self, name: &str, contents: &[u8]) -> anyhow::Result<()> {
        let path = self.dir.join(name);
        fs::write(&path, contents).with_context(|| format!("cannot write {}", path.display()))
    }

    pub fn write_summary(&self, report: &RunReport) -> anyhow::Result<()> {
        let json = serde_json::to_vec_pretty(report).context("cannot serialise the run summary")?;
        self.write_file("summary.json", &json)
    }
}

fn highest_run(runs: &Path) -> anyhow::Result<u64> {
    let entries = fs::read_dir(runs).with_context(|| format!("cannot list {}", runs.display()))?;
    Ok(entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            entry
                .file_name()
                .to_str()
                .and_then(|name| name.parse::<u64>().ok())
        })
        .max()
        .unwrap_or(0))
}

/// Writes events and step logs into a [`RunRecord`]'s directory as they happen.
pub struct Recorder {
    events: Mutex<BufWriter<File>>,
    logs_dir: PathBuf,
    logs: Mutex<HashMap<(String, String), BufWriter<File>>>,
    first_error: Mutex<Option<String>>,
}

impl Recorder {
    pub fn new(record: &RunRecord) -> anyhow::Result<Recorder> {
        let path = record.dir().join("events.jsonl");
        let events =
            File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Recorder {
            events: Mutex::new(BufWriter::new(events)),
            logs_dir: record.dir().join("logs"),
            logs: Mutex::new(HashMap::new()),
            first_error: Mutex::new(None),
        })
    }

    /// The first write failure, if any: the record is then incomplete.
    pub fn error(&self) -> Option<String> {
        lock(&self.first_error).clone()
    }

    fn note_error(&self, error: std::io::Error, what: &str) {
        let mut first = lock(&self.first_error);
        if first.is_none() {
            *first = Some(format!("cannot write {what}: {error}"));
        }
    }

    fn append_log(&self, stage: &str, step: &str, line: &str) -> std::io::Result<()> {
        let mut logs = lock(&self.logs);
        let key = (stage.to_string(), step.to_string());
        if !logs.contains_key(&key) {
            let dir = self.logs_dir.join(stage);
            fs::create_dir_all(&dir)?;
            let file = File::create(dir.join(format!("{step}.log")))?;
            logs.insert(key.clone(), BufWriter::new(file));
        }
        match logs.get_mut(&key) {
            Some(log) => writeln!(log, "{line}"),
            None => Ok(()),
        }
    }

    fn close_log(&self, stage: &str, step: &str) -> std::io::Result<()> {
        match lock(&self.logs).remove(&(stage.to_string(), step.to_string())) {
            Some(mut log) => log.flush(),
            None => Ok(()),
        }
    }

    fn append_event(&self, event: &Event) -> std::io::Result<()> {
        let json = json_line(event).map_err(std::io::Error::other)?;
        let mut events = lock(&self.events);
        writeln!(events, "{json}")?;
        // Flush at step and run boundaries so an interrupted run keeps what happened.
        if !matches!(event, Event::Log { .. }) {
            events.flush()?;
        }
        Ok(())
    }
}

impl EventSink for Recorder {
    fn emit(&self, event: &Event) {
        if let Err(e) = self.append_event(event) {
            self.note_error(e, "events.jsonl");
        }
        let logged = match event {
            Event::Log {
                stage, step, line, ..
            } => self.append_log(stage, step, line),
            Event::StepFinished { stage, step, .. } => self.close_log(stage, step),
            _ => Ok(()),
        };
        if let Err(e) = logged {
            self.note_error(e, "a step log");
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use rampart_core::Status;
    use rampart_engine::LogStream;

    use super::*;

    #[test]
    fn sequence_numbers_increase_and_skip_taken_ones() {
        let state = tempfile::tempdir().unwrap();
        assert_eq!(RunRecord::create(state.path()).unwrap().sequence_id(), 1);
        fs::create_dir(state.path().join("runs/7")).unwrap();
        assert_eq!(RunRecord::create(state.path()).unwrap().sequence_id(), 8);
    }

    #[test]
    fn recorder_writes_events_and_per_step_logs() {
        let state = tempfile::tempdir().unwrap();
        let record = RunRecord::create(state.path()).unwrap();
        let recorder = Recorder::new(&record).unwrap();
        let log = |line: &str| Event::Log {
            stage: "build".into(),
            step: "compile".into(),
            stream: LogStream::Stdout,
            line: line.into(),
        };
        recorder.emit(&log("one"));
        recorder.emit(&log("two"));
        recorder.emit(&Event::StepFinished {
            stage: "build".into(),
            step: "compile".into(),
            status: Status::Success,
            duration_ms: 1,
            outputs: Default::default(),
            message: None,
            secrets: Vec::new(),
            secret_outputs: Vec::new(),
        });
        assert_eq!(recorder.error(), None);
        let text = fs::read_to_string(record.dir().join("logs/build/compile.log")).unwrap();
        assert_eq!(text, "one\ntwo\n");
        let events = fs::read_to_string(record.dir().join("events.jsonl")).unwrap();
        assert_eq!(events.lines().count(), 3);
        assert!(
            events
                .lines()
                .last()
                .unwrap()
                .contains(r#""event":"step_finished""#)
        );
    }
}
