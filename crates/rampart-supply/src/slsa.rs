//! TODO(slsa): see the brief.
