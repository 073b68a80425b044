//! TODO(keys): see the brief.
