//! TODO(cyclonedx): see the brief.
