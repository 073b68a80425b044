//! How run events look: text for people (step headers, prefixed log lines, a
//! summary), or one JSON object per line for tools.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rampart_core::Status;
use rampart_engine::{Event, EventSink, LogStream, RunReport};

/// Prints events for a person watching the run.
pub struct TextRenderer {
    out: Mutex<std::io::Stdout>,
    color: bool,
}

impl TextRenderer {
    pub fn new() -> Self {
        let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Self {
            out: Mutex::new(std::io::stdout()),
            color,
        }
    }

    fn paint(&self, status: Status) -> String {
        if !self.color {
            return status.to_string();
        }
        let code = match status {
            Status::Success => "32",
            Status::IgnoreFailed | Status::Skipped => "33",
            Status::Failed | Status::Aborted | Status::Expired => "31",
        };
        format!("\x1b[{code}m{status}\x1b[0m")
    }

    /// `Success in 12ms`, with `: why` when there is a message.
    fn outcome(&self, status: Status, duration_ms: u64, message: Option<&str>) -> String {
        let why = message.map(|m| format!(": {m}")).unwrap_or_default();
        format!(
            "{} in {}{why}",
            self.paint(status),
            human_duration(duration_ms)
        )
    }

    fn format(&self, event: &Event) -> String {
        match event {
            Event::RunStarted {
                pipeline,
                sequence_id,
            } => format!("Running pipeline {pipeline} (run #{sequence_id})\n"),
            Event::StageStarted { stage, name } => format!("=== stage {stage} ({name})\n"),
            Event::StepStarted { stage, step, name } => {
                format!("--- {stage}/{step} ({name}) started\n")
            }
            Event::Log {
                stage,
                step,
                stream,
                line,
            } => {
                let marker = match stream {
                    LogStream::Stdout => "|",
                    LogStream::Stderr => "!",
                };
                format!("{stage}/{step} {marker} {line}\n")
            }
            Event::StepFinished {
                stage,
                step,
                status,
                duration_ms,
                message,
                ..
            } => format!(
                "--- {stage}/{step} {}\n",
                self.outcome(*status, *duration_ms, message.as_deref())
            ),
            Event::StageFinished {
                stage,
                status,
                duration_ms,
                message,
            } => format!(
                "=== stage {stage} {}\n",
                self.outcome(*status, *duration_ms, message.as_deref())
            ),
            Event::RunFinished { .. } => String::new(),
        }
    }

    /// The end-of-run table: every step's status, duration and outputs, then the result.
    pub fn summary(&self, report: &RunReport) -> String {
        let mut rows = vec![[
            "STAGE".to_string(),
            "STEP".into(),
            "STATUS".into(),
            "DURATION".into(),
            "OUTPUTS".into(),
        ]];
        for step in &report.steps {
            let outputs = step
                .outputs
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ");
            rows.push([
                step.stage.clone(),
                step.step.clone(),
                step.status.to_string(),
                human_duration(step.duration_ms),
                outputs,
            ]);
        }
        let mut widths = [0usize; 4];
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row.iter()) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut text = String::from("\nSummary\n");
        for row in &rows {
            let mut line = String::from("  ");
            for (cell, width) in row.iter().zip(widths.iter()) {
                line.push_str(&format!("{cell:<width$}  "));
            }
            line.push_str(&row[4]);
            text.push_str(line.trim_end());
            text.push('\n');
        }
        text.push_str(&format!(
            "Result: {}\n",
            self.outcome(report.status, report.duration_ms, report.message.as_deref())
        ));
        text
    }

    pub fn print(&self, text: &str) {
        let mut out = self
            .out
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // A closed stdout (e.g. `| head`) must not stop the run; the record keeps everything.
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    }
}

impl EventSink for TextRenderer {
    fn emit(&self, event: &Event) {
        let text = self.format(event);
        if !text.is_empty() {
            self.print(&text);
        }
    }
}

/// Prints every event as one JSON object per line.
pub struct JsonRenderer {
    out: Mutex<std::io::Stdout>,
}

impl JsonRenderer {
    pub fn new() -> Self {
        Self {
            out: Mutex::new(std::io::stdout()),
        }
    }
}

impl EventSink for JsonRenderer {
    fn emit(&self, event: &Event) {
        let Ok(mut line) = json_line(event) else {
            return;
        };
        line.push('\n');
        let mut out = self
            .out
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let _ = out.write_all(line.as_bytes()).and_then(|()| out.flush());
    }
}

/// One event as a JSON object, stamped `ts_ms` with the wall-clock time it was
/// seen (Unix milliseconds), so tools can place log lines in time.
pub fn json_line(event: &Event) -> serde_json::Result<String> {
    let mut value = serde_json::to_value(event)?;
    if let serde_json::Value::Object(map) = &mut value {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let ts_ms = u64::try_from(now.as_millis()).unwrap_or(u64::MAX);
        map.insert("ts_ms".into(), ts_ms.into());
    }
    serde_json::to_string(&value)
}

/// `850ms`, `1.25s`, `2m 5s`.
pub fn human_duration(ms: u64) -> String {
    let duration = Duration::from_millis(ms);
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.2}s", duration.as_secs_f64())
    } else {
        let secs = duration.as_secs();
        format!("{}m {}s", secs / 60, secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rampart_engine::StepReport;

    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(12), "12ms");
        assert_eq!(human_duration(1250), "1.25s");
        assert_eq!(human_duration(125_000), "2m 5s");
    }

    #[test]
    fn summary_lists_each_step_with_outputs_and_result() {
        let renderer = TextRenderer {
            out: Mutex::new(std::io::stdout()),
            color: false,
        };
        let report = RunReport {
            status: Status::Failed,
            duration_ms: 1500,
            message: Some("stage build failed".into()),
            secret_outputs: Vec::new(),
            steps: vec![
                StepReport {
                    stage: "build".into(),
                    step: "compile".into(),
                    name: "Compile".into(),
                    status: Status::Success,
                    duration_ms: 20,
                    outputs: BTreeMap::from([("VERSION".to_string(), "1.2".to_string())]),
                    message: None,
                    secrets: Vec::new(),
                },
                StepReport {
                    stage: "build".into(),
                    step: "test".into(),
                    name: "Test".into(),
                    status: Status::Failed,
                    duration_ms: 1400,
                    outputs: BTreeMap::new(),
                    message: Some("exit code 1".into()),
                    secrets: Vec::new(),
                },
            ],
        };
        let text = renderer.summary(&report);
        assert!(
            text.contains("build  compile  Success  20ms      VERSION=1.2"),
            "{text}"
        );
        assert!(text.contains("build  test     Failed   1.40s"), "{text}");
        assert!(
            text.ends_with("Result: Failed in 1.50s: stage build failed\n"),
            "{text}"
        );
    }
}
