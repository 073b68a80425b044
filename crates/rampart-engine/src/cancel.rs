//! Stopping parts of a run, and remembering why.
//!
//! The run, each stage and each step group own a [`CancelNode`]; a step's
//! token is a child of the innermost one. Stopping a node (a timeout, an
//! `Abort` failure strategy) cancels everything under it; [`CancelNode::why`]
//! tells a stopped step whether it was aborted or ran out of time, and whose
//! doing that was, so its status and message say so.

use std::sync::{Arc, OnceLock};

use rampart_core::Status;
use tokio_util::sync::CancellationToken;

/// Why a node was stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The user cancelled the run, or an `Abort` failure strategy fired.
    Aborted(String),
    /// A stage, step group or pipeline timeout fired.
    Expired(String),
}

impl Stop {
    pub fn status(&self) -> Status {
        match self {
            Stop::Aborted(_) => Status::Aborted,
            Stop::Expired(_) => Status::Expired,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Stop::Aborted(m) | Stop::Expired(m) => m,
        }
    }
}

#[derive(Debug)]
pub(crate) struct CancelNode {
    pub token: CancellationToken,
    reason: OnceLock<Stop>,
    parent: Option<Arc<CancelNode>>,
}

impl CancelNode {
    /// The run's node: stopped by the caller's token too.
    pub fn root(external: &CancellationToken) -> Arc<Self> {
        Arc::new(Self {
            token: external.child_token(),
            reason: OnceLock::new(),
            parent: None,
        })
    }

    pub fn child(self: &Arc<Self>) -> Arc<Self> {
        Arc::new(Self {
            token: self.token.child_token(),
            reason: OnceLock::new(),
            parent: Some(self.clone()),
        })
    }

    /// Stops this node and everything under it. Returns false, recording
    /// nothing, when it was already stopped (from here or above): the first
    /// reason stands.
    pub fn stop(&self, reason: Stop) -> bool {
        if self.token.is_cancelled() {
            return false;
        }
        let recorded = self.reason.set(reason).is_ok();
        self.token.cancel();
        recorded
    }

    pub fn is_stopped(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Why this node is stopped: the nearest recorded reason, or the caller's
    /// cancellation when none was recorded.
    pub fn why(&self) -> Stop {
        let mut node = Some(self);
        while let Some(n) = node {
            if let Some(reason) = n.reason.get() {
                return reason.clone();
            }
            node = n.parent.as_deref();
        }
        Stop::Aborted("the run was cancelled".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_first_reason_wins() {
        let external = CancellationToken::new();
        let root = CancelNode::root(&external);
        let stage = root.child();
        let group = stage.child();
        assert!(!group.is_stopped());
        assert!(group.stop(Stop::Expired("group timed out".into())));
        assert!(group.is_stopped() && !stage.is_stopped());
        assert_eq!(group.why(), Stop::Expired("group timed out".into()));
        assert!(
            !group.stop(Stop::Aborted("later".into())),
            "first reason stands"
        );
        assert!(stage.stop(Stop::Aborted("abort".into())));
        assert_eq!(group.why().status(), Status::Expired);
    }

    #[test]
    fn the_callers_token_stops_everything_as_cancelled() {
        let external = CancellationToken::new();
        let root = CancelNode::root(&external);
        let step = root.child().child();
        external.cancel();
        assert!(step.is_stopped());
        assert!(!step.stop(Stop::Expired("too late".into())));
        assert_eq!(step.why(), Stop::Aborted("the run was cancelled".into()));
    }
}
