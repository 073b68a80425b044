//! Hides secret values the engine learns (secret lookups, Secret-typed
//! variables and outputs) from the log lines, messages and outputs it emits.
//!
//! This is a line-level stand-in: it replaces exact occurrences of each value
//! (and of each line of a multi-line value) in text that is already split
//! into lines. The streaming masker with encoded forms (DESIGN.md §4.2) will
//! sit before this once it exists.

use std::borrow::Cow;
use std::sync::RwLock;

/// What a hidden value is shown as.
pub const MASK: &str = "**************";

#[derive(Debug, Default)]
pub struct Masker {
    /// Longest first, so a secret containing another is hidden whole.
    values: RwLock<Vec<String>>,
}

impl Masker {
    /// Hides `value` (and each of its lines) from now on.
    pub fn add(&self, value: &str) {
        let mut parts: Vec<&str> = value
            .split('\n')
            .map(|line| line.strip_suffix('\r').unwrap_or(line))
            .filter(|line| !line.trim().is_empty())
            .collect();
        if parts.is_empty() {
            return;
        }
        if value.contains('\n') {
            parts.push(value);
        }
        let mut values = self
            .values
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for part in parts {
            if !values.iter().any(|v| v == part) {
                values.push(part.to_string());
            }
        }
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }

    /// `text` with every known secret replaced by [`MASK`].
    pub fn mask<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let values = self
            .values
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut out = Cow::Borrowed(text);
        for value in values.iter() {
            if out.contains(value.as_str()) {
                out = Cow::Owned(out.replace(value.as_str(), MASK));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_every_occurrence_and_each_line_of_multiline_values() {
        let masker = Masker::default();
        assert_eq!(masker.mask("nothing yet"), "nothing yet");
        masker.add("s3cr3t");
        masker.add("line-one\r\nline-two\n");
        masker.add("");
        assert_eq!(
            masker.mask("a s3cr3t and s3cr3t"),
            format!("a {MASK} and {MASK}")
        );
        assert_eq!(masker.mask("x line-two y"), format!("x {MASK} y"));
        assert_eq!(masker.mask("line-one"), MASK);
        assert!(matches!(masker.mask("clean"), Cow::Borrowed(_)));
    }

    #[test]
    fn longer_values_are_hidden_whole() {
        let masker = Masker::default();
        masker.add("abc");
        masker.add("abcdef");
        assert_eq!(masker.mask("abcdef"), MASK);
    }
}
