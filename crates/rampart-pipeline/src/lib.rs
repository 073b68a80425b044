//! Harness v0 pipeline YAML: loading, the typed model, validation, expressions.
//!
//! Entry points: [`load`] parses a YAML file into [`model::Pipeline`]s with
//! every node's position kept; [`validate`] checks one against what Rampart
//! supports and returns a [`ValidPipeline`] or located [`Diagnostic`]s;
//! [`expr`] is the `<+...>` expression language; [`Inputs`] holds the values
//! of `<+input>` fields. This crate runs nothing and reads no files: callers
//! hand it source text.
//!
//! # What loads
//!
//! Each YAML document holding `pipeline:` (optionally beside `version:`) is
//! one pipeline; a file may hold several, separated by `---`. Documents that
//! are input sets, templates, triggers or Harness v1 YAML are rejected with
//! a message saying what they are. The CI subset of v0 is read: `CI` stages
//! (sequential and `parallel:`), `Run`, `Background` and `Plugin` steps,
//! the supply-chain steps `SscaOrchestration`, `provenance`,
//! `SscaArtifactSigning`, `SlsaVerification`, `SscaArtifactVerification` and
//! `SscaEnforcement` with `local` or `repository` sources and cosign key pairs,
//! step groups (nested), parallel steps, `when`, `failureStrategies`
//! (Ignore, Abort, MarkAsSuccess, MarkAsFailure, Retry), `timeout`,
//! `strategy` (`matrix`, `parallelism`, `repeat`), pipeline and stage
//! `variables`, `properties.ci.codebase`, `outputVariables`, and the
//! Rampart extension `network: none | host` on a step spec.
//!
//! Accepted as metadata and otherwise ignored, so real pipelines load:
//! `name`, `description`, `tags`, `orgIdentifier`, `projectIdentifier`,
//! `allowStageExecutions`, and a stage's `spec.platform`, `spec.runtime`
//! (`Cloud`, `Docker`) and `spec.infrastructure` (`KubernetesDirect`, `VM`,
//! `UseFromStage`): Rampart runs every step on its own executor, so where
//! Harness would have run it does not apply. Likewise a step's `privileged`,
//! `imagePullPolicy`, `resources` and `runAsUser`, the codebase's clone
//! options, and `caching`/`buildIntelligence` when they say `enabled: false`.
//!
//! Everything else is an error at the offending key or value: Harness
//! features Rampart does not support yet (other stage and step types,
//! templates, `serviceDependencies`, `delegateSelectors`, `flowControl`,
//! `notificationRules`, other failure actions, `reports`, ...) get a message
//! naming the feature and what to do instead; unknown keys get the list of
//! keys allowed there. Nothing is silently ignored, and no input panics.
//!
//! Scalars are kept as written (`1.10` stays `1.10`; `true` where a string
//! is expected is the string `"true"`), as Harness does for commands and
//! environment values. Every string field that may hold `<+...>` is a
//! [`model::Text`] whose template is parsed at load.
//!
//! # Validation
//!
//! [`validate`] checks what needs the whole pipeline: identifiers unique
//! (stages in the pipeline; steps and step groups in their stage), every
//! expression path one the engine can resolve at that point (declared
//! variables, existing stages and steps, declared output variables, the
//! enclosing `strategy`/`matrix`/`repeat`), `secrets.getValue` only when a
//! secret store is available, and Number variables holding numbers.
//!
//! # Runtime inputs
//!
//! A runtime input is a whole field written `<+input>`, optionally followed
//! by `.default(v)`, `.allowedValues(a,b)`, `.regex(r)` or
//! `.executionInput()`. Loading with [`Inputs`] fills every such field (or
//! fails, located, when one has no value or a value it does not allow, or
//! when an input matches no field); loading without keeps them as
//! placeholders, valid anywhere a scalar is, for `rampart validate`.

#![forbid(unsafe_code)]

mod convert;
mod duration;
pub mod expr;
mod inputs;
mod known;
pub mod model;
mod validate;
mod yaml;

pub use validate::{CODEBASE_KEYS, TRIGGER_KEYS};

use std::collections::BTreeMap;
use std::fmt;

use rampart_core::Location;

/// One located problem in a pipeline file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub loc: Location,
    /// What is wrong, naming the offending key or value.
    pub message: String,
    /// What is supported instead, or how to fix it.
    pub help: Option<String>,
}

/// All problems found in one file; displays as `file:line:col: message` lines.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Diagnostics {
    pub file: String,
    pub items: Vec<Diagnostic>,
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.items {
            writeln!(f, "{}:{}: error: {}", self.file, d.loc, d.message)?;
            if let Some(help) = &d.help {
                writeln!(f, "  help: {help}")?;
            }
        }
        Ok(())
    }
}

/// Values for `<+input>` fields, from `--input k=v` and `--inputs-file`.
///
/// A key names a field by its dotted path, list entries by identifier
/// (`pipeline.stages.build.spec.execution.steps.compile.spec.command`);
/// a pipeline variable also by its name alone (`branch`), a stage variable
/// as `STAGE.NAME`. A field that takes an object (`build: <+input>`) is
/// filled from the keys below its path (`....codebase.build.type=branch`).
/// [`Inputs::parse_file`] reads flat maps and Harness input sets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inputs {
    pub values: BTreeMap<String, String>,
}

/// What the caller can provide at run time, which decides what validates.
#[derive(Debug, Clone, Default)]
pub struct ValidateOptions {
    /// Whether a secret store is wired in; without one, any
    /// `secrets.getValue` is a validation error.
    pub secrets_available: bool,
}

/// A pipeline that passed [`validate`]: every template parsed, every path known.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidPipeline(model::Pipeline);

impl ValidPipeline {
    pub fn pipeline(&self) -> &model::Pipeline {
        &self.0
    }
}

/// Parses every YAML document in `source` into a pipeline. With `inputs`,
/// `<+input>` fields take their values (a missing required one is an error,
/// as is an input that matches no field); without, they stay as
/// runtime-input placeholders (for `rampart validate`).
pub fn load(
    file: &str,
    source: &str,
    inputs: Option<&Inputs>,
) -> Result<Vec<model::Pipeline>, Diagnostics> {
    let located = |mut items: Vec<Diagnostic>| {
        items.sort_by_key(|d| d.loc);
        Diagnostics {
            file: file.to_string(),
            items,
        }
    };
    let docs = yaml::parse(source).map_err(located)?;
    let mut diags = Vec::new();
    let mut fill = inputs::Fill::default();
    let mut converter = convert::Converter {
        diags: Vec::new(),
        with_inputs: inputs.is_some(),
    };
    let mut pipelines = Vec::new();
    let mut first_pipeline = None;
    let mut documents = 0;
    for doc in docs.into_iter().flatten() {
        if doc.is_null() {
            continue;
        }
        documents += 1;
        let Some((mut node, key_loc)) = pipeline_node(doc, &mut diags) else {
            continue;
        };
        first_pipeline.get_or_insert(key_loc);
        inputs::fill(&mut node, inputs, &mut fill, &mut diags);
        if let Some(p) = converter.pipeline(&node, key_loc) {
            pipelines.push(p);
        }
    }
    diags.append(&mut converter.diags);
    if documents == 0 {
        diags.push(Diagnostic {
            loc: Location::new(1, 1),
            message: "the file holds no pipeline".to_string(),
            help: Some("a pipeline file starts with `pipeline:`".to_string()),
        });
    }
    if let Some(inputs) = inputs {
        let at = first_pipeline.unwrap_or(Location::new(1, 1));
        for key in inputs.values.keys() {
            if !fill.used.contains(key) {
                diags.push(inputs::unused_input(key, &fill.fields, at));
            }
        }
    }
    if diags.is_empty() {
        Ok(pipelines)
    } else {
        Err(located(diags))
    }
}

/// The `pipeline:` node of one document and where its key is, or a
/// diagnostic saying what the document is instead.
fn pipeline_node(doc: yaml::Node, diags: &mut Vec<Diagnostic>) -> Option<(yaml::Node, Location)> {
    let yaml::Value::Map(entries) = doc.value else {
        diags.push(Diagnostic {
            loc: doc.loc,
            message: format!(
                "a pipeline document must be a mapping with a `pipeline:` key, found {}",
                doc.kind()
            ),
            help: None,
        });
        return None;
    };
    let has = |k: &str| entries.iter().find(|e| e.key == k).map(|e| e.key_loc);
    if has("pipeline").is_none() {
        let what = [
            ("inputSet", "this document is a Harness input set, not a pipeline", "pass input sets to `rampart run` with --inputs-file"),
            ("overlayInputSet", "this document is a Harness overlay input set, not a pipeline", "pass the input sets' values to `rampart run` with --inputs-file"),
            ("template", "this document is a Harness template, not a pipeline", "templates are not supported yet; paste the template's content into the pipeline that uses it"),
            ("trigger", "this document is a Harness trigger, not a pipeline", "`rampart run` runs pipelines; run the pipeline the trigger points at"),
            ("kind", "this document looks like Harness v1 YAML (kind:, spec:), which is not supported", "Rampart reads Harness v0 pipelines, which start with `pipeline:`"),
        ]
        .into_iter()
        .find_map(|(key, message, help)| has(key).map(|loc| (loc, message, help)));
        let (loc, message, help) = what.unwrap_or((
            doc.loc,
            "this document has no `pipeline:` key",
            "a Harness v0 pipeline starts with `pipeline:`",
        ));
        diags.push(Diagnostic {
            loc,
            message: message.to_string(),
            help: Some(help.to_string()),
        });
        return None;
    }
    let mut found = None;
    for e in entries {
        if e.key == "pipeline" {
            found = Some((e.value, e.key_loc));
        } else if e.key != "version" {
            diags.push(Diagnostic {
                loc: e.key_loc,
                message: format!("unknown key \"{}\" at the top level of the document", e.key),
                help: Some(format!(
                    "keys allowed here: {}",
                    known::TOP_LEVEL.supported.join(", ")
                )),
            });
        }
    }
    found
}

/// Checks one loaded pipeline against what Rampart supports.
pub fn validate(
    file: &str,
    pipeline: model::Pipeline,
    options: &ValidateOptions,
) -> Result<ValidPipeline, Diagnostics> {
    let mut pipeline = pipeline;
    let mut items = validate::check(&mut pipeline, options);
    if items.is_empty() {
        Ok(ValidPipeline(pipeline))
    } else {
        items.sort_by_key(|d| d.loc);
        Err(Diagnostics {
            file: file.to_string(),
            items,
        })
    }
}
