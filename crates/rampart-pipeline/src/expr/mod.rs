//! Harness's `<+...>` expression language: tokens, AST, evaluator.
//!
//! A [`Template`] is a string field with embedded expressions
//! (`"echo <+pipeline.variables.x>"`); a [`Condition`] is a `when.condition`,
//! a JEXL-style expression whose primaries may be `<+...>` expressions
//! (`<+codebase.branch> == "main"`). Evaluation asks a [`Scope`] for paths and
//! secrets, so this module knows nothing about runs or stores. Parsing is
//! meant to happen once, at validation, where [`Template::references`] and
//! [`Condition::references`] let every path be checked before anything runs.
//!
//! # The language
//!
//! - Literals: strings in double or single quotes (escapes `\n \t \r \b \f
//!   \0 \\ \' \" \/ \<` and `\uXXXX`; any other backslash is kept as
//!   written, so `"\d"` is a backslash and a `d`), integers and decimals
//!   (`3`, `2.5`), `true`, `false`, `null`. A string literal that holds
//!   `<+...>` is interpolated, as Harness's textual substitution would have
//!   it: `secrets.getValue("<+pipeline.variables.id>")` and
//!   `"<+codebase.branch>" == "main"` work; `"\<+"` is a literal `<+`.
//! - Paths: `pipeline.variables.x`. A segment is `[A-Za-z_$][A-Za-z0-9_$]*`;
//!   `-` is not part of a name, so `a.b-c` is `a.b` minus `c`. `a["key"]` and
//!   `a[0]` are the same as `a.key` and `a.0`; `a[<+b>]` and `a.<+b>` compute
//!   the segment at run time. Paths are resolved through [`Scope::lookup`].
//! - `secrets.getValue(id)` reads a secret through [`Scope::secret`]; `id`
//!   is any expression, e.g. `secrets.getValue("db_" + <+matrix.env>)`.
//! - Methods on any value: `concat`, `contains`, `startsWith`, `endsWith`,
//!   `split` (yields a list), `length`, `size`, `toLowerCase`,
//!   `toUpperCase`, `trim`, `replace`, `substring`, `indexOf`,
//!   `lastIndexOf`, `equals`, `equalsIgnoreCase`, `isEmpty`, `toString`.
//!   They act like Java's `String` methods, on numbers and booleans as they
//!   print; `contains`, `length`/`size`, `isEmpty` also work on lists and
//!   objects. An unknown method or a wrong argument count is a parse error.
//! - Operators, loosest first, as in JEXL: `? :`; `||` `or`; `&&` `and`;
//!   `==` `!=` `eq` `ne`; `<` `<=` `>` `>=` `lt` `le` `gt` `ge`; `+` `-`;
//!   `*` `/` `%`; unary `!` `not` `-`; then `.name`, `[index]`,
//!   `.method(args)`; parentheses group. Word operators and `true`, `false`,
//!   `null` are reserved, except right after a `.` (`pipeline.variables.not`
//!   is a path).
//! - A `<+...>` may stand wherever a value may: `<+ <+a.b>.concat("x") >`,
//!   `<+secrets.getValue(<+pipeline.variables.id>)>`. Spaces inside the
//!   brackets are free: `<+ secrets.getValue("x") >`.
//!
//! # Where a `<+...>` ends (the `>` rule)
//!
//! As in Harness, inside a `<+` the first `>` outside a string literal closes
//! the innermost open `<+`, even inside parentheses. A greater-than comparison
//! inside brackets is therefore written with a word operator:
//! `<+<+pipeline.variables.n> gt 3>` (`ge` for `>=`). `<`, `<=`, `lt`, `le`
//! work anywhere, but `<+` always opens an expression, so write `a < +1`
//! with a space. Outside every `<+...>`, which only happens in a
//! [`Condition`], `>` and `>=` are ordinary comparisons:
//! `<+pipeline.variables.n> > 3`. Beware that in a template
//! `<+a > 3>` is the expression `a` followed by the text ` 3>`, exactly as
//! Harness reads it. Text outside `<+` is literal, `<`, `+` and `>` included.
//!
//! # Semantics
//!
//! - `+` joins text when either side is a string (`"v" + 1` is `"v1"`), and
//!   otherwise adds numbers. `-`, `*`, `/`, `%` and unary `-` take numbers or
//!   numeric strings. `/` on two whole numbers divides as integers, as JEXL
//!   does (`7 / 2` is `3`); dividing by zero is an error.
//! - `==` compares numbers numerically, a number with a numeric string
//!   numerically (Harness variables are strings, so `<+pipeline.variables.n>
//!   == 3` works), a boolean with a `"true"`/`"false"` string as booleans,
//!   and otherwise by kind and value. `equals()` is strict.
//! - `<` and friends compare numerically when both sides read as numbers
//!   (numeric strings included), lexicographically when both are strings,
//!   and are an error otherwise.
//! - `&&`, `||`, `!`, `? :` and a condition's result read booleans, the
//!   strings `"true"`/`"false"` (any case, trimmed), `null` (false) and numbers
//!   (non-zero is true); anything else is an error naming what was found.
//!   `&&` and `||` short-circuit.
//! - Rendering prints numbers the way Harness does (`3`, not `3.0`), strings
//!   raw, `null` as `null`, lists and objects as compact JSON.
//! - Error messages describe the values they found, but never one that a
//!   secret went into ([`Scope::is_secret`] marks secret paths).
//!
//! # What it deliberately does not do
//!
//! - Re-parse values. Harness substitutes a nested expression's value into
//!   the outer expression as text and parses the result again; here a nested
//!   expression yields a value, never code, so a variable holding `<+...>` or
//!   `" || true` cannot change what an expression does.
//! - Regular expressions (`=~`, `matches`, regex `split`/`replaceAll`: the
//!   `split` separator is literal), JEXL functions such as `empty(x)`,
//!   lambdas, assignment, `?.`, `??`, and Harness functors beyond
//!   `secrets.getValue`. String positions count Unicode characters, not
//!   Java's UTF-16 units.
//! - Accept unbounded input: sources over [`MAX_SOURCE_LEN`] bytes, nesting
//!   deeper than [`MAX_NESTING`] levels and paths longer than
//!   [`MAX_PATH_SEGMENTS`] are parse errors, and strings longer than
//!   [`MAX_STRING_LEN`] are evaluation errors, so no input can exhaust the
//!   stack or memory.

mod ast;
mod eval;
mod lexer;
mod parser;
mod value;

#[cfg(test)]
mod tests;

pub use value::Value;

use ast::Node;
use lexer::Mode;

/// The longest source [`Template::parse`] and [`Condition::parse`] accept.
pub const MAX_SOURCE_LEN: usize = 1 << 20;

/// How deeply parentheses, `<+...>`, arguments and operators may nest.
pub const MAX_NESTING: usize = parser::MAX_NESTING;

/// The most segments a path may have; real paths have a few dozen at most.
pub const MAX_PATH_SEGMENTS: usize = parser::MAX_PATH_SEGMENTS;

/// The longest string an expression may build or a template may render.
pub const MAX_STRING_LEN: usize = 16 << 20;

/// A string with embedded `<+...>` expressions.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    /// One `<+...>`; `start..end` is its byte span, brackets included.
    Expr {
        node: Node,
        start: usize,
        end: usize,
    },
}

/// A `when.condition` expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    source: String,
    node: Node,
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
    /// Whether the value at `path` is secret (a Secret-typed variable or
    /// output), so error messages never quote it. Values from
    /// [`Scope::secret`] are always treated as secret.
    fn is_secret(&self, _path: &[&str]) -> bool {
        false
    }
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

fn check_len(source: &str) -> Result<(), ExprError> {
    if source.len() > MAX_SOURCE_LEN {
        return Err(ExprError {
            message: format!(
                "expression source is {} bytes, more than the limit of {MAX_SOURCE_LEN}: \
                 move large content into a file",
                source.len()
            ),
            offset: MAX_SOURCE_LEN,
        });
    }
    Ok(())
}

/// Puts an evaluation failure in context: which expression, as written.
fn in_context(snippet: &str, message: String) -> EvalError {
    const MAX: usize = 100;
    let mut shown: String = snippet.trim().chars().take(MAX).collect();
    if shown.len() < snippet.trim().len() {
        shown.push('…');
    }
    EvalError {
        message: format!("`{shown}`: {message}"),
    }
}

fn sorted(mut refs: Vec<Reference>) -> Vec<Reference> {
    refs.sort_by_key(|r| match r {
        Reference::Path { offset, .. } | Reference::Secret { offset, .. } => *offset,
    });
    refs
}

impl Template {
    /// Parses literal text with embedded `<+...>` expressions.
    pub fn parse(source: &str) -> Result<Template, ExprError> {
        check_len(source)?;
        let mut parts = Vec::new();
        let mut text_start = 0;
        while let Some(found) = source.get(text_start..).and_then(|rest| rest.find("<+")) {
            let start = text_start + found;
            if start > text_start {
                parts.push(Part::Text(source[text_start..start].to_owned()));
            }
            let (tokens, end) = lexer::lex(source, start, Mode::Bracket)?;
            let node = parser::parse_bracket(source, &tokens)?;
            parts.push(Part::Expr { node, start, end });
            text_start = end;
        }
        if text_start < source.len() {
            parts.push(Part::Text(source[text_start..].to_owned()));
        }
        Ok(Template {
            source: source.to_owned(),
            parts,
        })
    }

    /// The text this template was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// True when the template has no expressions.
    pub fn is_literal(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Text(_)))
    }

    /// Renders to a string; numbers print like Harness (`3`, not `3.0`).
    pub fn render(&self, scope: &dyn Scope) -> Result<String, EvalError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Expr { node, start, end } => {
                    let value = self.eval_part(node, *start, *end, scope)?;
                    out.push_str(&value.to_string());
                    if out.len() > MAX_STRING_LEN {
                        let snippet = self.source.get(*start..*end).unwrap_or_default();
                        return Err(in_context(snippet, eval::too_long(out.len())));
                    }
                }
            }
        }
        Ok(out)
    }

    /// A template that is exactly one expression yields that expression's
    /// typed value; anything else renders to a string.
    pub fn evaluate(&self, scope: &dyn Scope) -> Result<Value, EvalError> {
        match self.parts.as_slice() {
            [Part::Expr { node, start, end }] => self.eval_part(node, *start, *end, scope),
            _ => self.render(scope).map(Value::String),
        }
    }

    /// Every path and `secrets.getValue` id the template reads, nested ones
    /// included, in source order.
    pub fn references(&self) -> Vec<Reference> {
        let mut refs = Vec::new();
        for part in &self.parts {
            if let Part::Expr { node, .. } = part {
                node.references(&mut refs);
            }
        }
        sorted(refs)
    }

    fn eval_part(
        &self,
        node: &Node,
        start: usize,
        end: usize,
        scope: &dyn Scope,
    ) -> Result<Value, EvalError> {
        eval::evaluate(node, scope)
            .map(|v| v.value)
            .map_err(|m| in_context(self.source.get(start..end).unwrap_or_default(), m))
    }
}

impl Condition {
    /// Parses a `when.condition`: an expression whose values may be
    /// `<+...>` expressions, and where `>` outside brackets compares.
    pub fn parse(source: &str) -> Result<Condition, ExprError> {
        check_len(source)?;
        let (tokens, _) = lexer::lex(source, 0, Mode::Condition)?;
        let node = parser::parse_condition(source, &tokens)?;
        Ok(Condition {
            source: source.to_owned(),
            node,
        })
    }

    /// The text this condition was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates to a boolean; a result that is not one (after reading
    /// `"true"`/`"false"` strings, null and numbers) is an error.
    pub fn evaluate(&self, scope: &dyn Scope) -> Result<bool, EvalError> {
        let value = eval::evaluate(&self.node, scope).map_err(|m| in_context(&self.source, m))?;
        value.value.truthiness().ok_or_else(|| {
            in_context(
                &self.source,
                format!(
                    "the condition did not evaluate to a boolean: got {}; compare it \
                     explicitly, e.g. `<+codebase.branch> == \"main\"`",
                    value.describe()
                ),
            )
        })
    }

    /// Every path and `secrets.getValue` id the condition reads, in source order.
    pub fn references(&self) -> Vec<Reference> {
        let mut refs = Vec::new();
        self.node.references(&mut refs);
        sorted(refs)
    }
}
