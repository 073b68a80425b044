//! Harness's `<+...>` expression language: tokens, AST, evaluator.
//!
//! A [`Template`] is a string field with embedded expressions
//! (`"echo <+pipeline.variables.x>"`); a [`Condition`] is a `when.condition`,
//! a JEXL-style expression whose primaries may be `<+...>` expressions
//! (`<+codebase.branch> == "main"`). Evaluation asks a [`Scope`] for paths and
//! secrets, so this module knows nothing about runs or stores.

use std::collections::BTreeMap;
use std::fmt;

/// A value an expression produces or a scope supplies.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    List(Vec<Value>),
    Object(BTreeMap<String, Value>),
}

/// A string with embedded `<+...>` expressions.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    _todo: (),
}

/// A `when.condition` expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    _todo: (),
}

/// Something an expression reads, for validation to check before a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Reference {
    /// A dotted path such as `pipeline.variables.x`; `offset` is the byte
    /// offset of the path in the parsed source.
    Path {
        segments: Vec<String>,
        offset: usize,
    },
    /// `secrets.getValue(id)`; `id` is `None` when computed at run time.
    Secret { id: Option<String>, offset: usize },
}

/// What evaluation asks the outside world for.
pub trait Scope {
    /// The value at a dotted path, or `None` when the path is unknown.
    fn lookup(&self, path: &[&str]) -> Option<Value>;
    /// The value of secret `id` (`"x"`, `"org.x"`, `"account.x"`).
    fn secret(&self, id: &str) -> Result<String, String>;
}

/// A syntax error; `offset` is the byte offset in the parsed source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExprError {
    pub message: String,
    pub offset: usize,
}

/// An evaluation failure (unknown path, type error, secret lookup failure).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EvalError {
    pub message: String,
}

impl Template {
    pub fn parse(_source: &str) -> Result<Template, ExprError> {
        todo!("expression helper")
    }
    /// True when the template has no expressions.
    pub fn is_literal(&self) -> bool {
        todo!("expression helper")
    }
    /// Renders to a string; numbers print like Harness (`3`, not `3.0`).
    pub fn render(&self, _scope: &dyn Scope) -> Result<String, EvalError> {
        todo!("expression helper")
    }
    /// A template that is exactly one expression yields that expression's
    /// typed value; anything else renders to a string.
    pub fn evaluate(&self, _scope: &dyn Scope) -> Result<Value, EvalError> {
        todo!("expression helper")
    }
    pub fn references(&self) -> Vec<Reference> {
        todo!("expression helper")
    }
}

impl Condition {
    pub fn parse(_source: &str) -> Result<Condition, ExprError> {
        todo!("expression helper")
    }
    pub fn evaluate(&self, _scope: &dyn Scope) -> Result<bool, EvalError> {
        todo!("expression helper")
    }
    pub fn references(&self) -> Vec<Reference> {
        todo!("expression helper")
    }
}

impl fmt::Display for Value {
    fn fmt(&self, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
        todo!("expression helper")
    }
}
