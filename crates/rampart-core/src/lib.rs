//! Shared vocabulary of Rampart.
//!
//! Holds the few types that several crates must agree on: where something is
//! in a source file ([`Location`]) and how a run, stage or step ended
//! ([`Status`]). It deliberately holds no logic beyond formatting and
//! ordering; anything with behaviour belongs to the crate that owns it.

#![forbid(unsafe_code)]

use std::fmt;

pub mod time;

use serde::{Deserialize, Serialize};

/// A 1-based line and column in a source file, as editors show them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Location {
    pub line: u32,
    pub col: u32,
}

impl Location {
    pub const fn new(line: u32, col: u32) -> Self {
        Self { line, col }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// How a run, stage or step ended, with Harness's names so users recognise them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Status {
    /// Finished and succeeded (or a failure strategy marked it as success).
    Success,
    /// Failed; fails its parent unless a failure strategy says otherwise.
    Failed,
    /// Failed, but an `Ignore` failure strategy kept the parent going.
    IgnoreFailed,
    /// Not run because its `when` condition was false.
    Skipped,
    /// Stopped by the user (Ctrl-C) or by an `Abort` failure strategy.
    Aborted,
    /// Ran longer than its `timeout`.
    Expired,
}

impl Status {
    /// Whether this outcome lets the pipeline carry on as successful.
    pub const fn is_success(self) -> bool {
        matches!(
            self,
            Status::Success | Status::IgnoreFailed | Status::Skipped
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Status::Success => "Success",
            Status::Failed => "Failed",
            Status::IgnoreFailed => "IgnoreFailed",
            Status::Skipped => "Skipped",
            Status::Aborted => "Aborted",
            Status::Expired => "Expired",
        };
        f.write_str(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_displays_as_line_colon_col() {
        assert_eq!(Location::new(3, 14).to_string(), "3:14");
    }

    #[test]
    fn only_non_failures_count_as_success() {
        assert!(Status::Success.is_success());
        assert!(Status::IgnoreFailed.is_success());
        assert!(Status::Skipped.is_success());
        assert!(!Status::Failed.is_success());
        assert!(!Status::Aborted.is_success());
        assert!(!Status::Expired.is_success());
    }
}
