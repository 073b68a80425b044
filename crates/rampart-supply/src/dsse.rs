//! TODO(dsse): see the brief.
