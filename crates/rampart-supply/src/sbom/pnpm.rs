//! TODO: see the brief.

use super::{ParseError, Parsed};

pub(crate) fn parse_lock(_file: &str, _text: &str) -> Result<Parsed, ParseError> {
    Err(ParseError::new("not written yet"))
}
