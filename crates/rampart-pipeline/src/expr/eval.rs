//! Evaluation: operators, methods, path lookup and secrets.
//!
//! Every intermediate value carries whether it came from a secret, so error
//! messages can describe what they found without ever quoting a secret.

use std::borrow::Cow;

use super::ast::{BinOp, Kind, Method, Node, PostOp, Segment, UnaryOp};
use super::value::{compare, describe, loose_eq};
use super::{MAX_STRING_LEN, Scope, Value};

/// Shown instead of anything derived from a secret.
const HIDDEN: &str = "<hidden>";

/// A value, and whether a secret went into it.
#[derive(Debug, Clone)]
pub(crate) struct Val {
    pub value: Value,
    pub secret: bool,
}

impl Val {
    fn new(value: Value, secret: bool) -> Self {
        Val { value, secret }
    }

    /// What error messages say about this value.
    pub fn describe(&self) -> String {
        if self.secret {
            "a value derived from a secret (hidden)".to_owned()
        } else {
            describe(&self.value)
        }
    }

    /// How `&&`, `||`, `!`, `? :` and conditions read this value.
    pub fn truth(&self, what: &str) -> Result<bool, String> {
        self.value.truthiness().ok_or_else(|| {
            format!(
                "{what} expects a boolean (or the string \"true\" or \"false\"), found {}",
                self.describe()
            )
        })
    }
}

/// Evaluates `node`; errors are plain messages the caller puts in context.
pub(crate) fn evaluate(node: &Node, scope: &dyn Scope) -> Result<Val, String> {
    Evaluator { scope }.eval(node)
}

struct Evaluator<'s> {
    scope: &'s dyn Scope,
}

impl Evaluator<'_> {
    fn eval(&self, node: &Node) -> Result<Val, String> {
        match &node.kind {
            Kind::Literal(v) => Ok(Val::new(v.clone(), false)),
            Kind::Path(segments) => self.path(segments),
            Kind::Secret(id) => self.secret(id),
            Kind::Postfix(base, ops) => {
                let mut cur = self.eval(base)?;
                for op in ops {
                    cur = self.post(cur, op)?;
                }
                Ok(cur)
            }
            Kind::Unary(op, operand) => {
                let v = self.eval(operand)?;
                let value = match op {
                    UnaryOp::Not => Value::Bool(!v.truth("`!`")?),
                    UnaryOp::Neg => match v.value.as_number() {
                        Some(n) => Value::Number(-n),
                        None => {
                            return Err(format!(
                                "unary `-` needs a number, found {}",
                                v.describe()
                            ));
                        }
                    },
                };
                Ok(Val::new(value, v.secret))
            }
            Kind::Chain(first, rest) => {
                let mut acc = self.eval(first)?;
                for (op, rhs) in rest {
                    acc = match op {
                        BinOp::And | BinOp::Or => {
                            let want = *op == BinOp::Or;
                            let what = format!("`{}`", op.symbol());
                            if acc.truth(&what)? == want {
                                Val::new(Value::Bool(want), acc.secret)
                            } else {
                                let r = self.eval(rhs)?;
                                Val::new(Value::Bool(r.truth(&what)?), acc.secret || r.secret)
                            }
                        }
                        _ => binary(*op, acc, self.eval(rhs)?)?,
                    };
                }
                Ok(acc)
            }
            Kind::Ternary(cond, then, other) => {
                if self.eval(cond)?.truth("the condition of `? :`")? {
                    self.eval(then)
                } else {
                    self.eval(other)
                }
            }
        }
    }

    /// Looks the whole path up; when the scope does not know it, looks up
    /// ever shorter prefixes and reads the rest as fields of the value found
    /// (so `matrix.cfg.os` works when the scope only knows `matrix.cfg`).
    fn path(&self, segments: &[Segment]) -> Result<Val, String> {
        let mut names = Vec::with_capacity(segments.len());
        let mut shown = Vec::with_capacity(segments.len());
        let mut secret = false;
        for segment in segments {
            match segment {
                Segment::Name(name) => {
                    names.push(name.clone());
                    shown.push(name.clone());
                }
                Segment::Computed(node) => {
                    let key = self.eval(node)?;
                    let text = key_text(&key)?;
                    shown.push(if key.secret {
                        HIDDEN.to_owned()
                    } else {
                        text.clone()
                    });
                    names.push(text);
                    secret |= key.secret;
                }
            }
        }
        let parts: Vec<&str> = names.iter().map(String::as_str).collect();
        for len in (1..=parts.len()).rev() {
            let prefix = &parts[..len];
            let Some(found) = self.scope.lookup(prefix) else {
                continue;
            };
            let mut cur = Val::new(found, secret || self.scope.is_secret(prefix));
            for (i, key) in parts.iter().enumerate().skip(len) {
                cur = field(&cur, key, &shown[i])
                    .map_err(|why| format!("`{}`: {why}", shown[..=i].join(".")))?;
            }
            return Ok(cur);
        }
        Err(format!(
            "unknown expression path `{}`: nothing in this run provides it; check the \
             spelling, and that the variable, step or output it names is declared",
            shown.join(".")
        ))
    }

    fn secret(&self, id: &Node) -> Result<Val, String> {
        let v = self.eval(id)?;
        let id = match &v.value {
            Value::String(s) => s.clone(),
            Value::Number(_) | Value::Bool(_) => v.value.to_string(),
            _ => {
                return Err(format!(
                    "`secrets.getValue` needs a secret id string, found {}",
                    v.describe()
                ));
            }
        };
        if id.trim().is_empty() {
            return Err("`secrets.getValue` got an empty secret id".to_owned());
        }
        let shown = if v.secret { HIDDEN } else { id.as_str() };
        match self.scope.secret(&id) {
            Ok(value) => Ok(Val::new(Value::String(value), true)),
            Err(why) => Err(format!("cannot read secret `{shown}`: {why}")),
        }
    }

    fn post(&self, cur: Val, op: &PostOp) -> Result<Val, String> {
        match op {
            PostOp::Member(name) => field(&cur, name, name),
            PostOp::Index(node) => {
                let key = self.eval(node)?;
                let text = key_text(&key)?;
                let shown = if key.secret { HIDDEN } else { text.as_str() };
                let mut out = field(&cur, &text, shown)?;
                out.secret |= key.secret;
                Ok(out)
            }
            PostOp::Call(method, args) => {
                let args = args
                    .iter()
                    .map(|a| self.eval(a))
                    .collect::<Result<Vec<_>, _>>()?;
                call(*method, cur, &args)
            }
        }
    }
}

/// A path segment or index as text: strings as they are, numbers and
/// booleans as they print.
fn key_text(v: &Val) -> Result<String, String> {
    match &v.value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(_) | Value::Bool(_) => Ok(v.value.to_string()),
        _ => Err(format!(
            "a computed path segment or index must be a string or a number, found {}",
            v.describe()
        )),
    }
}

/// `value.key` / `value[key]`: a key of an object or a position in a list.
fn field(cur: &Val, key: &str, shown: &str) -> Result<Val, String> {
    let found = match &cur.value {
        Value::Object(map) => map
            .get(key)
            .cloned()
            .ok_or_else(|| format!("{} has no key `{shown}`", cur.describe()))?,
        Value::List(items) => key
            .parse::<usize>()
            .ok()
            .and_then(|i| items.get(i).cloned())
            .ok_or_else(|| {
                format!(
                    "index `{shown}` is not a position in {} (positions start at 0)",
                    cur.describe()
                )
            })?,
        _ => {
            return Err(format!(
                "{} has no fields, so `{shown}` cannot be read from it",
                cur.describe()
            ));
        }
    };
    Ok(Val::new(found, cur.secret))
}

fn binary(op: BinOp, a: Val, b: Val) -> Result<Val, String> {
    let secret = a.secret || b.secret;
    let value = match op {
        BinOp::Eq => Value::Bool(loose_eq(&a.value, &b.value)),
        BinOp::Ne => Value::Bool(!loose_eq(&a.value, &b.value)),
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            let Some(ord) = compare(&a.value, &b.value) else {
                return Err(format!(
                    "cannot compare {} with {} using `{}`: ordering needs two numbers \
                     (numeric strings count) or two strings",
                    a.describe(),
                    b.describe(),
                    op.symbol()
                ));
            };
            Value::Bool(match op {
                BinOp::Lt => ord.is_lt(),
                BinOp::Le => ord.is_le(),
                BinOp::Gt => ord.is_gt(),
                _ => ord.is_ge(),
            })
        }
        BinOp::Add => match (a.value, b.value) {
            // Appending in place keeps a long `"" + x + y + ...` chain linear.
            (Value::String(mut s), rhs) => {
                s.push_str(&rhs.to_string());
                bounded(s)?
            }
            (lhs, Value::String(s)) => bounded(format!("{lhs}{s}"))?,
            (Value::Number(x), Value::Number(y)) => Value::Number(x + y),
            (lhs, rhs) => {
                return Err(format!(
                    "cannot add {} and {}: `+` needs two numbers, or a string on either \
                     side to join text",
                    Val::new(lhs, a.secret).describe(),
                    Val::new(rhs, b.secret).describe()
                ));
            }
        },
        BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem => {
            let (Some(x), Some(y)) = (a.value.as_number(), b.value.as_number()) else {
                return Err(format!(
                    "`{}` needs two numbers (numeric strings count), found {} and {}",
                    op.symbol(),
                    a.describe(),
                    b.describe()
                ));
            };
            if matches!(op, BinOp::Div | BinOp::Rem) && y == 0.0 {
                return Err(format!(
                    "division by zero: the right-hand side of `{}` is 0",
                    op.symbol()
                ));
            }
            Value::Number(match op {
                BinOp::Sub => x - y,
                BinOp::Mul => x * y,
                // JEXL divides whole numbers as integers: `7 / 2` is `3`.
                BinOp::Div if x.fract() == 0.0 && y.fract() == 0.0 => (x / y).trunc(),
                BinOp::Div => x / y,
                _ => x % y,
            })
        }
        BinOp::And | BinOp::Or => {
            let what = format!("`{}`", op.symbol());
            let (p, q) = (a.truth(&what)?, b.truth(&what)?);
            Value::Bool(if op == BinOp::And { p && q } else { p || q })
        }
    };
    Ok(Val::new(value, secret))
}

/// A string result, refused when longer than [`MAX_STRING_LEN`] so that no
/// expression can exhaust memory (`replace` and `+` can multiply sizes).
fn bounded(s: String) -> Result<Value, String> {
    if s.len() > MAX_STRING_LEN {
        return Err(too_long(s.len()));
    }
    Ok(Value::String(s))
}

pub(crate) fn too_long(len: usize) -> String {
    format!(
        "the result would be {len} bytes, more than the limit of {MAX_STRING_LEN}: \
         pass large data through files instead"
    )
}

/// The receiver as text for string methods: strings, and numbers and
/// booleans as they print.
fn text(recv: &Val, method: Method) -> Result<Cow<'_, str>, String> {
    match &recv.value {
        Value::String(s) => Ok(Cow::Borrowed(s)),
        Value::Number(_) | Value::Bool(_) => Ok(Cow::Owned(recv.value.to_string())),
        _ => Err(format!(
            "`{}()` needs a string, found {}",
            method.name(),
            recv.describe()
        )),
    }
}

/// A whole-number argument (a position for `substring`).
fn position(arg: &Val, method: Method) -> Result<i64, String> {
    match arg.value.as_number() {
        // Saturating cast; anything this large is out of range anyway.
        Some(n) if n.fract() == 0.0 => Ok(n as i64),
        _ => Err(format!(
            "`{}()` needs whole-number positions, found {}",
            method.name(),
            arg.describe()
        )),
    }
}

fn call(method: Method, recv: Val, args: &[Val]) -> Result<Val, String> {
    if recv.value == Value::Null {
        return Err(format!("cannot call `{}()` on null", method.name()));
    }
    let secret = recv.secret || args.iter().any(|a| a.secret);
    // Arity was checked when parsing; a missing argument reads as null.
    let arg = |i: usize| args.get(i).map_or(Value::Null, |a| a.value.clone());
    let arg_text = |i: usize| arg(i).to_string();
    let value = match method {
        Method::Concat => {
            let mut s = match recv.value {
                Value::String(s) => s,
                _ => text(&recv, method)?.into_owned(),
            };
            for a in args {
                s.push_str(&a.value.to_string());
            }
            bounded(s)?
        }
        Method::Contains => Value::Bool(match &recv.value {
            Value::List(items) => items.iter().any(|item| loose_eq(item, &arg(0))),
            Value::Object(map) => map.contains_key(&arg_text(0)),
            _ => text(&recv, method)?.contains(&arg_text(0)),
        }),
        Method::StartsWith => Value::Bool(text(&recv, method)?.starts_with(&arg_text(0))),
        Method::EndsWith => Value::Bool(text(&recv, method)?.ends_with(&arg_text(0))),
        Method::Split => Value::List(
            java_split(&text(&recv, method)?, &arg_text(0))
                .into_iter()
                .map(Value::String)
                .collect(),
        ),
        Method::Length | Method::Size => Value::Number(match &recv.value {
            Value::List(items) => items.len() as f64,
            Value::Object(map) => map.len() as f64,
            _ => text(&recv, method)?.chars().count() as f64,
        }),
        Method::ToLowerCase => bounded(text(&recv, method)?.to_lowercase())?,
        Method::ToUpperCase => bounded(text(&recv, method)?.to_uppercase())?,
        Method::Trim => Value::String(text(&recv, method)?.trim().to_owned()),
        Method::Replace => {
            let s = text(&recv, method)?;
            let (from, to) = (arg_text(0), arg_text(1));
            // Check before building: each match can grow the string.
            let matches = if from.is_empty() {
                s.chars().count() + 1
            } else {
                s.matches(from.as_str()).count()
            };
            let len = matches
                .saturating_mul(to.len())
                .saturating_add(s.len())
                .saturating_sub(matches.saturating_mul(from.len()));
            if len > MAX_STRING_LEN {
                return Err(too_long(len));
            }
            Value::String(s.replace(from.as_str(), &to))
        }
        Method::Substring => {
            let chars: Vec<char> = text(&recv, method)?.chars().collect();
            let len = i64::try_from(chars.len()).unwrap_or(i64::MAX);
            let begin = match args.first() {
                Some(a) => position(a, method)?,
                None => 0,
            };
            let end = match args.get(1) {
                Some(a) => position(a, method)?,
                None => len,
            };
            match (usize::try_from(begin), usize::try_from(end)) {
                (Ok(b), Ok(e)) if b <= e && e <= chars.len() => {
                    Value::String(chars[b..e].iter().collect())
                }
                _ => {
                    return Err(format!(
                        "`substring({begin}, {end})` is out of range for a string of {len} \
                         characters: positions must satisfy 0 <= begin <= end <= length"
                    ));
                }
            }
        }
        Method::IndexOf | Method::LastIndexOf => {
            let s = text(&recv, method)?;
            let needle = arg_text(0);
            let found = if method == Method::IndexOf {
                s.find(&needle)
            } else {
                s.rfind(&needle)
            };
            // Positions count characters, not bytes.
            Value::Number(found.map_or(-1.0, |byte| s[..byte].chars().count() as f64))
        }
        Method::Equals => Value::Bool(recv.value == arg(0)),
        Method::EqualsIgnoreCase => {
            Value::Bool(text(&recv, method)?.to_lowercase() == arg_text(0).to_lowercase())
        }
        Method::IsEmpty => Value::Bool(match &recv.value {
            Value::String(s) => s.is_empty(),
            Value::List(items) => items.is_empty(),
            Value::Object(map) => map.is_empty(),
            _ => false,
        }),
        Method::ToString => Value::String(recv.value.to_string()),
    };
    Ok(Val::new(value, secret))
}

/// Java's `String.split` without regular expressions: the separator is
/// literal (a regex-escaped single character such as `\.` or `\|` means that
/// character), an empty separator splits into characters, and trailing empty
/// pieces are dropped, except that splitting `""` gives `[""]`.
fn java_split(s: &str, sep: &str) -> Vec<String> {
    if s.is_empty() {
        return vec![String::new()];
    }
    let sep = match sep.strip_prefix('\\') {
        Some(rest) if rest.len() == 1 && rest.bytes().all(|b| b.is_ascii_punctuation()) => rest,
        _ => sep,
    };
    let mut parts: Vec<String> = if sep.is_empty() {
        s.chars().map(String::from).collect()
    } else {
        s.split(sep).map(str::to_owned).collect()
    };
    while parts.last().is_some_and(String::is_empty) {
        parts.pop();
    }
    parts
}
