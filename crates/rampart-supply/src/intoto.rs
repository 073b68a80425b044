//! TODO(intoto): see the brief.
