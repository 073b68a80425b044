//! Values and the coercions between them: how numbers print, when a string
//! counts as a number or a boolean, and how two values compare.

use std::cmp::Ordering;
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

impl Value {
    /// The string inside a `String` value; `None` for every other kind,
    /// so callers that need text say what to do with non-strings.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The kind's name as error messages print it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Object(_) => "object",
        }
    }

    /// The number this value stands for: a number, or a string that reads as
    /// one (Harness variables are strings, so `"3"` compares like `3`).
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            Value::String(s) => parse_number(s),
            _ => None,
        }
    }

    /// How a `when.condition` reads this value: booleans as they are,
    /// `"true"`/`"false"` strings (any case, trimmed), null as false, a
    /// number as "non-zero". `None` for anything else.
    pub fn truthiness(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::String(s) => parse_bool(s),
            Value::Null => Some(false),
            Value::Number(n) => Some(*n != 0.0),
            Value::List(_) | Value::Object(_) => None,
        }
    }
}

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(items) => {
                Value::List(items.into_iter().map(Value::from).collect())
            }
            serde_json::Value::Object(map) => {
                Value::Object(map.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
            }
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<f64> for Value {
    fn from(n: f64) -> Self {
        Value::Number(n)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write_number(f, *n),
            Value::String(s) => f.write_str(s),
            Value::List(_) | Value::Object(_) => write_json(f, self),
        }
    }
}

/// Numbers print as Harness prints them: `3` rather than `3.0`, no exponent,
/// and Java's names for the non-finite values.
fn write_number(f: &mut impl fmt::Write, n: f64) -> fmt::Result {
    if n.is_nan() {
        f.write_str("NaN")
    } else if n.is_infinite() {
        f.write_str(if n > 0.0 { "Infinity" } else { "-Infinity" })
    } else if n == 0.0 {
        // Also folds `-0` into `0`.
        f.write_str("0")
    } else {
        // Rust's `Display` for `f64` already prints integral values without
        // a fraction and never uses an exponent.
        write!(f, "{n}")
    }
}

/// Compact JSON, with numbers printed like scalars and non-finite ones as `null`.
fn write_json(f: &mut impl fmt::Write, v: &Value) -> fmt::Result {
    match v {
        Value::Null => f.write_str("null"),
        Value::Bool(b) => write!(f, "{b}"),
        Value::Number(n) if !n.is_finite() => f.write_str("null"),
        Value::Number(n) => write_number(f, *n),
        Value::String(s) => write_json_string(f, s),
        Value::List(items) => {
            f.write_char('[')?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_char(',')?;
                }
                write_json(f, item)?;
            }
            f.write_char(']')
        }
        Value::Object(map) => {
            f.write_char('{')?;
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    f.write_char(',')?;
                }
                write_json_string(f, k)?;
                f.write_char(':')?;
                write_json(f, item)?;
            }
            f.write_char('}')
        }
    }
}

fn write_json_string(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if u32::from(c) < 0x20 => write!(f, "\\u{:04x}", u32::from(c))?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// Reads `s` (trimmed) as a decimal number: optional sign, digits with an
/// optional fraction, optional exponent. Rejects what `f64::from_str` would
/// also take but no pipeline author means as a number (`inf`, `NaN`, `""`).
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    let b = t.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let int_start = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let mut digits = i - int_start;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let frac_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == exp_start {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    t.parse().ok()
}

/// `"true"`/`"false"` in any case, surrounding whitespace ignored.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("true") {
        Some(true)
    } else if t.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// `==` as pipelines expect it: numbers numerically, a number and a numeric
/// string numerically, a boolean and a `"true"`/`"false"` string as booleans,
/// lists and objects element-wise; otherwise same kind and same value.
pub(crate) fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y,
        (Value::Number(x), Value::String(s)) | (Value::String(s), Value::Number(x)) => {
            parse_number(s).is_some_and(|y| y == *x)
        }
        (Value::Bool(x), Value::String(s)) | (Value::String(s), Value::Bool(x)) => {
            parse_bool(s) == Some(*x)
        }
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| loose_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((kx, vx), (ky, vy))| kx == ky && loose_eq(vx, vy))
        }
        _ => a == b,
    }
}

/// `<`, `>` and friends: numerically when both sides read as numbers
/// (numeric strings included), else lexicographically when both are strings.
/// `None` when the two cannot be ordered.
pub(crate) fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_number(), b.as_number()) {
        return x.partial_cmp(&y);
    }
    match (a, b) {
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Describes a value for an error message: its kind and a bounded excerpt.
/// Callers hide values derived from secrets before getting here.
pub(crate) fn describe(v: &Value) -> String {
    const MAX: usize = 60;
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("boolean `{b}`"),
        Value::Number(n) => format!("number `{}`", Value::Number(*n)),
        Value::String(s) => {
            let mut excerpt: String = s.chars().take(MAX).collect();
            if excerpt.len() < s.len() {
                excerpt.push('…');
            }
            format!("string {excerpt:?}")
        }
        Value::List(items) => format!(
            "a list of {} item{}",
            items.len(),
            if items.len() == 1 { "" } else { "s" }
        ),
        Value::Object(map) => {
            let keys: Vec<&str> = map.keys().take(8).map(String::as_str).collect();
            let more = if map.len() > keys.len() { ", …" } else { "" };
            format!("an object with keys [{}{more}]", keys.join(", "))
        }
    }
}
