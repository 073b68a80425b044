//! Harness v0 pipeline YAML: loading, the typed model, validation, expressions.
//!
//! Entry points: [`load`] parses a YAML file into [`model::Pipeline`]s with
//! every node's position kept; [`validate`] checks one against what Rampart
//! supports and returns a [`ValidPipeline`] or located [`Diagnostic`]s;
//! [`expr`] is the `<+...>` expression language. This crate runs nothing and
//! reads no files: callers hand it source text.

#![forbid(unsafe_code)]

pub mod expr;
pub mod model;

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
/// `<+input>` fields take their values (a missing required one is an error);
/// without, they stay as runtime-input placeholders (for `rampart validate`).
pub fn load(
    _file: &str,
    _source: &str,
    _inputs: Option<&Inputs>,
) -> Result<Vec<model::Pipeline>, Diagnostics> {
    todo!("pipeline helper")
}

/// Checks one loaded pipeline against what Rampart supports.
pub fn validate(
    _file: &str,
    _pipeline: model::Pipeline,
    _options: &ValidateOptions,
) -> Result<ValidPipeline, Diagnostics> {
    todo!("pipeline helper")
}
