//! TODO(spdx): see the brief.
