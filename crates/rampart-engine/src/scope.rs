//! What `<+...>` expressions read during a run: the run's facts, variables,
//! step outputs, strategy values, codebase, trigger and secrets.
//!
//! [`RunData`] is shared by the whole run and filled as it goes (variables at
//! run and stage start, outputs as steps finish); a [`View`] is that data seen
//! from one node (its stage, step and strategy iterations) and implements
//! [`Scope`]. Paths follow the list the validator accepts; a declared name
//! whose value is not there yet (a step that has not run, or failed) reads as
//! `null`, an undeclared one as unknown.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use rampart_exec::Executor;
use rampart_mask::SecretSet;

use rampart_pipeline::expr::{Scope, Template, Value};
use rampart_pipeline::model::{Text, Variable, VariableKind};
use rampart_pipeline::{CODEBASE_KEYS, TRIGGER_KEYS};

use crate::plan::{Frame, IterationKind, Plan, PlanStage, StageEntry, StepEntry};
use crate::supply::{self, Attestations};
use crate::{SecretContent, SecretOutput, SecretSource};

/// Facts and values of the whole run.
pub(crate) struct RunData {
    pub pipeline_identifier: String,
    pub pipeline_name: String,
    pub sequence_id: u64,
    pub execution_id: String,
    /// Unix milliseconds.
    pub start_ts: u64,
    pub org: String,
    pub project: String,
    pub codebase: Mutex<BTreeMap<String, String>>,
    pub trigger: BTreeMap<String, String>,
    pub variables: Mutex<BTreeMap<String, Value>>,
    /// By stage id, for every stage of the plan.
    pub stages: Mutex<BTreeMap<String, StageRecord>>,
    pub secrets: Option<Arc<dyn SecretSource>>,
    pub masker: Arc<SecretSet>,
    /// Makes the private files File secrets are delivered in.
    pub executor: Arc<dyn Executor>,
    /// By step label (`stage/step`): the private directory made for the
    /// step's File secrets, until the step's process takes it.
    pub private_dirs: Mutex<BTreeMap<String, PathBuf>>,
    /// By step label: the secrets the step resolved, until it finishes.
    pub resolved_secrets: Mutex<BTreeMap<String, BTreeSet<String>>>,
    /// Values of Secret-typed outputs, for the report.
    pub secret_outputs: Mutex<Vec<SecretOutput>>,
    /// Attestations supply-chain steps made, for later verification steps.
    pub attestations: Arc<Attestations>,
}

/// What later nodes can read of a stage.
#[derive(Debug, Default)]
pub(crate) struct StageRecord {
    pub name: String,
    pub declared_variables: BTreeSet<String>,
    pub variables: BTreeMap<String, Value>,
    /// By step key (`GROUP.STEP`).
    pub steps: BTreeMap<String, StepRecord>,
}

#[derive(Debug, Default)]
pub(crate) struct StepRecord {
    pub declared: BTreeSet<String>,
    pub outputs: BTreeMap<String, String>,
}

/// Locks a mutex, carrying on after a panic elsewhere (the data stays usable).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One record per planned stage, with the names it declares.
pub(crate) fn stage_records(plan: &Plan<'_>) -> BTreeMap<String, StageRecord> {
    fn stage_entry(entry: &StageEntry<'_>, out: &mut BTreeMap<String, StageRecord>) {
        match entry {
            StageEntry::Stage(stage) => add_stage(stage, out),
            StageEntry::Parallel(entries) => entries.iter().for_each(|e| stage_entry(e, out)),
            StageEntry::Strategy { iterations, .. } => {
                iterations.iter().for_each(|s| add_stage(s, out))
            }
        }
    }
    fn add_stage(stage: &PlanStage<'_>, out: &mut BTreeMap<String, StageRecord>) {
        let mut record = StageRecord {
            name: stage.stage.name.clone(),
            declared_variables: stage
                .stage
                .variables
                .iter()
                .map(|v| v.name.clone())
                .collect(),
            ..StageRecord::default()
        };
        stage.steps.iter().for_each(|e| step_entry(e, &mut record));
        out.insert(stage.id.clone(), record);
    }
    fn step_entry(entry: &StepEntry<'_>, record: &mut StageRecord) {
        match entry {
            StepEntry::Step(step) => {
                let declared = step
                    .step
                    .spec
                    .output_variables
                    .iter()
                    .map(|o| o.name.clone())
                    .chain(
                        supply::output_names(step.step.kind)
                            .iter()
                            .map(|name| name.to_string()),
                    )
                    .collect();
                record.steps.insert(
                    step.key.clone(),
                    StepRecord {
                        declared,
                        outputs: BTreeMap::new(),
                    },
                );
            }
            StepEntry::Group(group) => group.children.iter().for_each(|e| step_entry(e, record)),
            StepEntry::Parallel(entries)
            | StepEntry::Strategy {
                iterations: entries,
                ..
            } => entries.iter().for_each(|e| step_entry(e, record)),
        }
    }
    let mut out = BTreeMap::new();
    plan.stages.iter().for_each(|e| stage_entry(e, &mut out));
    out
}

/// The run seen from one node.
pub(crate) struct View<'a> {
    pub run: &'a RunData,
    /// The current stage: its id and YAML identifier.
    pub stage: Option<(&'a str, &'a str)>,
    pub frame: &'a Frame,
    /// The current step: its identifier and YAML name.
    pub step: Option<(&'a str, &'a str)>,
    /// The current step's unique key in its stage (`GROUP.STEP_0`).
    pub step_key: Option<&'a str>,
}

fn text(s: &str) -> Value {
    Value::String(s.to_string())
}

/// `secret-project_default_web_token`: a file name from a secret reference.
fn secret_file_name(reference: &str) -> String {
    let safe: String = reference
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("secret-{safe}")
}

impl View<'_> {
    /// `stage/step` of the current step, as its process is labelled.
    fn step_label(&self) -> Option<String> {
        Some(format!("{}/{}", self.stage?.0, self.step_key?))
    }

    fn pipeline(&self, path: &[&str]) -> Option<Value> {
        let run = self.run;
        Some(match path {
            ["identifier"] => text(&run.pipeline_identifier),
            ["name"] => text(&run.pipeline_name),
            ["sequenceId"] => Value::Number(run.sequence_id as f64),
            ["executionId"] => text(&run.execution_id),
            ["orgIdentifier"] => text(&run.org),
            ["projectIdentifier"] => text(&run.project),
            ["startTs"] => Value::Number(run.start_ts as f64),
            ["triggerType"] => text(
                run.trigger
                    .get("type")
                    .map(String::as_str)
                    .unwrap_or("MANUAL"),
            ),
            ["variables", name] => lock(&run.variables).get(*name)?.clone(),
            ["stages", stage, rest @ ..] => {
                let id = match self.stage {
                    // Inside a strategy iteration, the plain identifier means this iteration.
                    Some((id, identifier)) if identifier == *stage && id != *stage => id,
                    _ => stage,
                };
                return self.stage_path(id, rest);
            }
            _ => return None,
        })
    }

    fn stage_path(&self, id: &str, path: &[&str]) -> Option<Value> {
        if let ["spec", "execution", "steps", rest @ ..] = path {
            return self.step_output(id, rest);
        }
        let stages = lock(&self.run.stages);
        let record = stages.get(id)?;
        Some(match path {
            ["identifier"] => text(id),
            ["name"] => text(&record.name),
            ["variables", name] => match record.variables.get(*name) {
                Some(value) => value.clone(),
                None if record.declared_variables.contains(*name) => Value::Null,
                None => return None,
            },
            _ => return None,
        })
    }

    /// `STEP(.steps.STEP)*.output.outputVariables.X` in stage `stage_id`.
    fn step_output(&self, stage_id: &str, path: &[&str]) -> Option<Value> {
        let mut keys = vec![*path.first()?];
        let mut rest = &path[1..];
        while let ["steps", key, more @ ..] = rest {
            keys.push(key);
            rest = more;
        }
        let ["output", "outputVariables", name] = rest else {
            return None;
        };
        let stages = lock(&self.run.stages);
        let record = stages.get(stage_id)?;
        let current = self.stage.is_some_and(|(id, _)| id == stage_id);
        let step = self
            .step_keys(&keys, current)
            .into_iter()
            .find_map(|key| record.steps.get(&key))?;
        match step.outputs.get(*name) {
            Some(value) => Some(text(value)),
            None if step.declared.contains(*name) => Some(Value::Null),
            None => None,
        }
    }

    /// The step keys `keys` may mean, most literal first: as written; with
    /// the enclosing groups' identifiers replaced by the iterations this node
    /// runs in; relative to the enclosing groups, innermost first.
    fn step_keys(&self, keys: &[&str], current_stage: bool) -> Vec<String> {
        let mut out = vec![keys.join(".")];
        if !current_stage {
            return out;
        }
        let groups = &self.frame.groups;
        let mut aliased: Vec<&str> = keys.to_vec();
        for (i, group) in groups.iter().enumerate() {
            match aliased.get(i) {
                Some(key) if *key == group.identifier => {
                    aliased[i] = group.key.rsplit('.').next().unwrap_or(&group.key);
                }
                _ => break,
            }
        }
        out.push(aliased.join("."));
        for group in groups.iter().rev() {
            out.push(format!("{}.{}", group.key, keys.join(".")));
        }
        out
    }

    fn codebase(&self, path: &[&str]) -> Option<Value> {
        let key = path.join(".");
        if !CODEBASE_KEYS.contains(&key.as_str()) {
            return None;
        }
        let codebase = lock(&self.run.codebase);
        Some(match codebase.get(&key) {
            Some(value) => text(value),
            None if key == "shortCommitSha" => match codebase.get("commitSha") {
                Some(sha) => text(sha.get(..7).unwrap_or(sha)),
                None => Value::Null,
            },
            None => Value::Null,
        })
    }

    fn matrix(&self, axis: &str, fields: &[&str]) -> Option<Value> {
        let values = self
            .frame
            .iterations
            .iter()
            .rev()
            .find_map(|it| match &it.kind {
                IterationKind::Matrix(values) => Some(values),
                _ => None,
            })?;
        let mut value = values.iter().find(|(a, _)| a == axis)?.1.clone();
        for field in fields {
            value = match value {
                Value::Object(mut map) => map.remove(*field)?,
                _ => return None,
            };
        }
        Some(value)
    }
}

impl Scope for View<'_> {
    fn lookup(&self, path: &[&str]) -> Option<Value> {
        match path {
            ["pipeline", rest @ ..] => self.pipeline(rest),
            ["stage", rest @ ..] => self.stage_path(self.stage?.0, rest),
            ["steps", rest @ ..] | ["execution", "steps", rest @ ..] => {
                self.step_output(self.stage?.0, rest)
            }
            ["step", "identifier"] => Some(text(self.step?.0)),
            ["step", "name"] => Some(text(self.step?.1)),
            ["codebase", rest @ ..] => self.codebase(rest),
            ["trigger", key] if TRIGGER_KEYS.contains(key) => Some(
                self.run
                    .trigger
                    .get(*key)
                    .map(|v| text(v))
                    .unwrap_or(Value::Null),
            ),
            ["strategy", key] => {
                let it = self.frame.iterations.last()?;
                Some(match *key {
                    "iteration" => Value::Number(it.index as f64),
                    "iterations" => Value::Number(it.total as f64),
                    "identifierPostFix" => Value::String(it.postfix()),
                    _ => return None,
                })
            }
            ["matrix", axis, fields @ ..] => self.matrix(axis, fields),
            ["repeat", "item"] => {
                self.frame
                    .iterations
                    .iter()
                    .rev()
                    .find_map(|it| match &it.kind {
                        IterationKind::Item(item) => Some(item.clone()),
                        _ => None,
                    })
            }
            _ => None,
        }
    }

    /// A value holding a secret (a Secret variable or output, or text built
    /// from one) is described, not quoted, in evaluation errors.
    fn is_secret(&self, path: &[&str]) -> bool {
        self.lookup(path).is_some_and(|value| {
            let text = value_text(&value);
            self.run.masker.mask_str(&text) != text
        })
    }

    fn secret(&self, id: &str) -> Result<String, String> {
        let Some(source) = &self.run.secrets else {
            return Err(format!(
                "secret {id:?}: this run has no secret store; configure one to use secrets.getValue"
            ));
        };
        let resolved = source.get(id).map_err(|e| format!("secret {id:?}: {e}"))?;
        let label = self.step_label();
        if let Some(label) = &label {
            lock(&self.run.resolved_secrets)
                .entry(label.clone())
                .or_default()
                .insert(resolved.reference.clone());
        }
        match resolved.content {
            SecretContent::Text(value) => {
                self.run.masker.add(&value);
                Ok(value)
            }
            SecretContent::File(contents) => {
                // The file's text is masked like a text secret's.
                self.run.masker.add(&String::from_utf8_lossy(&contents));
                let Some(label) = label else {
                    return Err(format!(
                        "secret {id:?} is a file secret, which only a step can receive"
                    ));
                };
                let mut dirs = lock(&self.run.private_dirs);
                let mut dir = dirs.get(&label).cloned();
                let path = self
                    .run
                    .executor
                    .private_file(&mut dir, &secret_file_name(&resolved.reference), &contents)
                    .map_err(|e| format!("secret {id:?}: {e}"))?;
                if let Some(dir) = dir {
                    dirs.insert(label, dir);
                }
                Ok(path.display().to_string())
            }
        }
    }
}

/// A field's template: the validated one, or parsed now for a pipeline that
/// skipped validation.
pub(crate) fn template(text: &Text) -> Result<Cow<'_, Template>, String> {
    match &text.template {
        Some(template) => Ok(Cow::Borrowed(template)),
        None => Template::parse(&text.raw)
            .map(Cow::Owned)
            .map_err(|e| format!("cannot parse {:?}: {e}", text.raw)),
    }
}

/// Renders a text field to a string.
pub(crate) fn render(text: &Text, scope: &dyn Scope) -> Result<String, String> {
    template(text)?.render(scope).map_err(|e| e.to_string())
}

/// A variable's value: a string; a number for `Number` (an error when the
/// text is not one); a secret's value for `Secret`, whose value is either an
/// expression such as `<+secrets.getValue("x")>` or a plain secret id.
pub(crate) fn variable_value(var: &Variable, scope: &View<'_>) -> Result<Value, String> {
    let template = template(&var.value)?;
    let rendered = template.render(scope).map_err(|e| e.to_string())?;
    match var.kind {
        VariableKind::String => Ok(Value::String(rendered)),
        VariableKind::Number => {
            let trimmed = rendered.trim();
            if trimmed.is_empty() {
                return Ok(Value::Null);
            }
            trimmed
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map(Value::Number)
                .ok_or_else(|| {
                    format!("{rendered:?} is not a number (the variable has type Number)")
                })
        }
        VariableKind::Secret => {
            let value = if template.is_literal() && !rendered.trim().is_empty() {
                scope.secret(rendered.trim())?
            } else {
                rendered
            };
            scope.run.masker.add(&value);
            Ok(Value::String(value))
        }
    }
}

/// The text a value becomes in an environment variable: strings as they
/// are, `null` as empty, anything else as the expression language prints it.
pub(crate) fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

pub(crate) fn json_to_value(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => n.as_f64().map(Value::Number).unwrap_or(Value::Null),
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(items) => Value::List(items.iter().map(json_to_value).collect()),
        serde_json::Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), json_to_value(v)))
                .collect(),
        ),
    }
}

pub(crate) fn value_to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => {
            serde_json::Value::from(*n as i64)
        }
        Value::Number(n) => serde_json::Number::from_f64(*n)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::List(items) => serde_json::Value::Array(items.iter().map(value_to_json).collect()),
        Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), value_to_json(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::plan::{GroupRef, Iteration};

    fn run_data() -> RunData {
        let mut build = StageRecord {
            name: "Build".into(),
            declared_variables: BTreeSet::from(["target".to_string(), "later".to_string()]),
            variables: BTreeMap::from([("target".to_string(), text("linux"))]),
            steps: BTreeMap::new(),
        };
        build.steps.insert(
            "g_1.a".into(),
            StepRecord {
                declared: BTreeSet::from(["X".to_string(), "Y".to_string()]),
                outputs: BTreeMap::from([("X".to_string(), "x-value".to_string())]),
            },
        );
        RunData {
            pipeline_identifier: "p".into(),
            pipeline_name: "P".into(),
            sequence_id: 3,
            execution_id: "abc".into(),
            start_ts: 1000,
            org: String::new(),
            project: String::new(),
            codebase: Mutex::new(BTreeMap::from([(
                "commitSha".to_string(),
                "0123456789abcdef".to_string(),
            )])),
            trigger: BTreeMap::new(),
            variables: Mutex::new(BTreeMap::from([("n".to_string(), Value::Number(2.0))])),
            stages: Mutex::new(BTreeMap::from([("build_0".to_string(), build)])),
            secrets: None,
            masker: Arc::new(SecretSet::new(rampart_mask::MaskConfig::default())),
            executor: Arc::new(crate::testkit::FakeExecutor::default()),
            private_dirs: Mutex::default(),
            resolved_secrets: Mutex::default(),
            secret_outputs: Mutex::default(),
            attestations: Arc::default(),
        }
    }

    fn in_group_iteration() -> Frame {
        Frame {
            iterations: vec![
                Arc::new(Iteration {
                    index: 0,
                    total: 2,
                    kind: IterationKind::Matrix(vec![(
                        "cfg".into(),
                        Value::Object(BTreeMap::from([("os".to_string(), text("linux"))])),
                    )]),
                }),
                Arc::new(Iteration {
                    index: 1,
                    total: 3,
                    kind: IterationKind::Item(text("17")),
                }),
            ],
            groups: vec![GroupRef {
                identifier: "g".into(),
                key: "g_1".into(),
            }],
        }
    }

    fn get(view: &View<'_>, path: &str) -> Option<Value> {
        let segments: Vec<&str> = path.split('.').collect();
        view.lookup(&segments)
    }

    #[test]
    fn step_outputs_resolve_as_written_by_iteration_alias_and_relative_to_the_group() {
        let run = run_data();
        let frame = in_group_iteration();
        let view = View {
            run: &run,
            stage: Some(("build_0", "build")),
            frame: &frame,
            step: Some(("b", "B")),
            step_key: None,
        };
        let x = Some(text("x-value"));
        assert_eq!(get(&view, "steps.g_1.steps.a.output.outputVariables.X"), x);
        assert_eq!(get(&view, "steps.g.steps.a.output.outputVariables.X"), x);
        assert_eq!(get(&view, "steps.a.output.outputVariables.X"), x);
        assert_eq!(get(&view, "execution.steps.a.output.outputVariables.X"), x);
        assert_eq!(
            get(
                &view,
                "pipeline.stages.build.spec.execution.steps.g.steps.a.output.outputVariables.X"
            ),
            x
        );
        assert_eq!(
            get(&view, "steps.a.output.outputVariables.Y"),
            Some(Value::Null)
        );
        assert_eq!(get(&view, "steps.a.output.outputVariables.Z"), None);
        assert_eq!(get(&view, "steps.nope.output.outputVariables.X"), None);
        assert_eq!(get(&view, "steps.a.output.outputVariables"), None);
    }

    #[test]
    fn values_holding_a_secret_are_marked_secret_for_error_messages() {
        let run = run_data();
        run.masker.add("x-value");
        let frame = in_group_iteration();
        let view = View {
            run: &run,
            stage: Some(("build_0", "build")),
            frame: &frame,
            step: Some(("b", "B")),
            step_key: None,
        };
        assert!(view.is_secret(&["steps", "a", "output", "outputVariables", "X"]));
        assert!(!view.is_secret(&["pipeline", "variables", "n"]));
        assert!(!view.is_secret(&["steps", "nope", "output", "outputVariables", "X"]));
        let condition =
            rampart_pipeline::expr::Condition::parse("<+steps.a.output.outputVariables.X> gt 3")
                .unwrap();
        let error = condition.evaluate(&view).unwrap_err().to_string();
        assert!(!error.contains("x-value"), "{error}");
    }

    #[test]
    fn stage_values_and_the_iterations_plain_identifier() {
        let run = run_data();
        let frame = in_group_iteration();
        let view = View {
            run: &run,
            stage: Some(("build_0", "build")),
            frame: &frame,
            step: None,
            step_key: None,
        };
        assert_eq!(get(&view, "stage.identifier"), Some(text("build_0")));
        assert_eq!(get(&view, "stage.name"), Some(text("Build")));
        assert_eq!(get(&view, "stage.variables.target"), Some(text("linux")));
        assert_eq!(get(&view, "stage.variables.later"), Some(Value::Null));
        assert_eq!(get(&view, "stage.variables.nope"), None);
        assert_eq!(
            get(&view, "pipeline.stages.build.variables.target"),
            Some(text("linux"))
        );
        assert_eq!(
            get(&view, "pipeline.stages.build_0.name"),
            Some(text("Build"))
        );
        assert_eq!(get(&view, "pipeline.variables.n"), Some(Value::Number(2.0)));
        assert_eq!(get(&view, "step.identifier"), None, "no current step");
    }

    #[test]
    fn strategy_matrix_and_repeat_values_come_from_the_nearest_iteration() {
        let run = run_data();
        let frame = in_group_iteration();
        let view = View {
            run: &run,
            stage: Some(("build_0", "build")),
            frame: &frame,
            step: None,
            step_key: None,
        };
        assert_eq!(get(&view, "strategy.iteration"), Some(Value::Number(1.0)));
        assert_eq!(get(&view, "strategy.iterations"), Some(Value::Number(3.0)));
        assert_eq!(get(&view, "strategy.identifierPostFix"), Some(text("_1")));
        assert_eq!(get(&view, "repeat.item"), Some(text("17")));
        assert_eq!(get(&view, "matrix.cfg.os"), Some(text("linux")));
        assert_eq!(get(&view, "matrix.cfg.arch"), None);
        assert_eq!(get(&view, "matrix.other"), None);
        let outside = Frame::default();
        let view = View {
            run: &run,
            stage: None,
            frame: &outside,
            step: None,
            step_key: None,
        };
        assert_eq!(get(&view, "strategy.iteration"), None);
        assert_eq!(get(&view, "stage.identifier"), None);
    }

    #[test]
    fn codebase_and_trigger_know_their_keys() {
        let run = run_data();
        let frame = Frame::default();
        let view = View {
            run: &run,
            stage: None,
            frame: &frame,
            step: None,
            step_key: None,
        };
        assert_eq!(get(&view, "codebase.shortCommitSha"), Some(text("0123456")));
        assert_eq!(get(&view, "codebase.branch"), Some(Value::Null));
        assert_eq!(get(&view, "codebase.build.type"), Some(Value::Null));
        assert_eq!(get(&view, "codebase.nope"), None);
        assert_eq!(get(&view, "trigger.event"), Some(Value::Null));
        assert_eq!(get(&view, "trigger.nope"), None);
        assert_eq!(get(&view, "pipeline.triggerType"), Some(text("MANUAL")));
        assert_eq!(get(&view, "pipeline.sequenceId"), Some(Value::Number(3.0)));
        assert_eq!(get(&view, "pipeline.startTs"), Some(Value::Number(1000.0)));
        assert!(view.secret("x").unwrap_err().contains("no secret store"));
    }

    #[test]
    fn json_values_convert_both_ways() {
        let json = serde_json::json!({"a": [1, 2.5, "x", true, null]});
        assert_eq!(value_to_json(&json_to_value(&json)), json);
        assert_eq!(value_text(&Value::Null), "");
        assert_eq!(value_text(&text("s")), "s");
    }
}
