//! `when` and `failureStrategies`: whether a node runs, and what a failure becomes.

use std::time::Duration;

use rampart_core::Status;
use rampart_pipeline::model::{ErrorKind, FailureAction, FailureStrategy, StatusCondition};

/// The kind of failure, for matching `onFailure.errors`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailKind {
    /// The step's (or group's, stage's) timeout fired.
    Timeout,
    /// Anything else: a non-zero exit, a render error, a sandbox error.
    Other,
}

impl FailKind {
    /// The status a failure of this kind has when nothing handles it.
    pub fn status(self) -> Status {
        match self {
            FailKind::Timeout => Status::Expired,
            FailKind::Other => Status::Failed,
        }
    }
}

/// Whether `error` in an `onFailure.errors` list covers `kind`.
fn covers(error: ErrorKind, kind: FailKind) -> bool {
    match error {
        ErrorKind::AllErrors => true,
        ErrorKind::Timeout => kind == FailKind::Timeout,
        ErrorKind::Unknown => kind == FailKind::Other,
        _ => false,
    }
}

/// The action of the nearest strategy covering `kind`; `chain` lists the
/// strategies nearest first (the node's own, then its parents'). `None`
/// means the default, MarkAsFailure.
pub(crate) fn resolve<'a>(
    chain: &[&'a [FailureStrategy]],
    kind: FailKind,
) -> Option<&'a FailureAction> {
    chain.iter().find_map(|level| {
        level
            .iter()
            .find(|s| s.errors.iter().any(|&e| covers(e, kind)))
            .map(|s| &s.action)
    })
}

/// The wait before retry number `retry` (1-based): the matching interval,
/// the last one repeating, none when no intervals are given.
pub(crate) fn retry_interval(intervals: &[Duration], retry: u32) -> Duration {
    let index = (retry as usize).saturating_sub(1);
    intervals
        .get(index)
        .or(intervals.last())
        .copied()
        .unwrap_or(Duration::ZERO)
}

/// Why a node does not run under `pipelineStatus`/`stageStatus`, if it does
/// not: `field` is the key's name, `scope` what has (not) failed.
pub(crate) fn status_gate(
    field: &str,
    condition: StatusCondition,
    failed: bool,
    scope: &str,
) -> Option<String> {
    match (condition, failed) {
        (StatusCondition::Success, true) => Some(format!(
            "skipped: {field} Success but the {scope} has failed"
        )),
        (StatusCondition::Failure, false) => Some(format!(
            "skipped: {field} Failure but nothing in the {scope} has failed"
        )),
        _ => None,
    }
}

/// Whether a status makes its stage (or the pipeline) count as failed.
pub(crate) fn is_failure(status: Status) -> bool {
    matches!(status, Status::Failed | Status::Expired | Status::Aborted)
}

/// `250ms`, `10s`, `1m 30s`, `1h 5m`: durations in messages.
pub(crate) fn human(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return format!("{}ms", d.as_millis());
    }
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m, s) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m {s}s"),
        (h, 0, _) => format!("{h}h"),
        (h, m, _) => format!("{h}h {m}m"),
    }
}

#[cfg(test)]
mod tests {
    use rampart_core::Location;

    use super::*;

    fn strategy(errors: Vec<ErrorKind>, action: FailureAction) -> FailureStrategy {
        FailureStrategy {
            errors,
            action,
            loc: Location::default(),
        }
    }

    #[test]
    fn the_nearest_matching_strategy_wins() {
        let own = [strategy(vec![ErrorKind::Timeout], FailureAction::Ignore)];
        let group = [strategy(
            vec![ErrorKind::Unknown],
            FailureAction::MarkAsSuccess,
        )];
        let stage = [strategy(vec![ErrorKind::AllErrors], FailureAction::Abort)];
        let chain: Vec<&[FailureStrategy]> = vec![&own, &group, &stage];
        assert_eq!(
            resolve(&chain, FailKind::Timeout),
            Some(&FailureAction::Ignore)
        );
        assert_eq!(
            resolve(&chain, FailKind::Other),
            Some(&FailureAction::MarkAsSuccess)
        );
        assert_eq!(
            resolve(&chain[2..], FailKind::Timeout),
            Some(&FailureAction::Abort)
        );
        let unrelated = [strategy(
            vec![ErrorKind::Authentication],
            FailureAction::Ignore,
        )];
        assert_eq!(resolve(&[&unrelated[..]], FailKind::Other), None);
    }

    #[test]
    fn retry_intervals_repeat_the_last_one() {
        let s = Duration::from_secs;
        assert_eq!(retry_interval(&[s(1), s(5)], 1), s(1));
        assert_eq!(retry_interval(&[s(1), s(5)], 2), s(5));
        assert_eq!(retry_interval(&[s(1), s(5)], 7), s(5));
        assert_eq!(retry_interval(&[], 1), Duration::ZERO);
    }

    #[test]
    fn status_gates_explain_themselves() {
        assert_eq!(
            status_gate("stageStatus", StatusCondition::Success, true, "stage").as_deref(),
            Some("skipped: stageStatus Success but the stage has failed")
        );
        assert!(status_gate("stageStatus", StatusCondition::Success, false, "stage").is_none());
        assert!(status_gate("stageStatus", StatusCondition::Failure, false, "stage").is_some());
        assert!(status_gate("stageStatus", StatusCondition::All, true, "stage").is_none());
        assert!(status_gate("stageStatus", StatusCondition::All, false, "stage").is_none());
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human(Duration::from_millis(250)), "250ms");
        assert_eq!(human(Duration::from_secs(10)), "10s");
        assert_eq!(human(Duration::from_secs(90)), "1m 30s");
        assert_eq!(human(Duration::from_secs(600)), "10m");
        assert_eq!(human(Duration::from_secs(5400)), "1h 30m");
        assert_eq!(human(Duration::from_secs(3600)), "1h");
    }
}
