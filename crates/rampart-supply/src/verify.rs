//! TODO(verify): see the brief.
