//! TODO(policy): see the brief.
