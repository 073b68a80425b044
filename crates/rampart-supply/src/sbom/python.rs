//! TODO: see the brief.

use super::{ParseError, Parsed};

pub(crate) fn is_requirements_file(name: &str) -> bool {
    name.starts_with("requirements") && name.ends_with(".txt")
}

pub(crate) fn parse_requirements(_file: &str, _text: &str) -> Result<Parsed, ParseError> {
    Err(ParseError::new("not written yet"))
}

pub(crate) fn parse_poetry_lock(_file: &str, _text: &str) -> Result<Parsed, ParseError> {
    Err(ParseError::new("not written yet"))
}

pub(crate) fn parse_uv_lock(_file: &str, _text: &str) -> Result<Parsed, ParseError> {
    Err(ParseError::new("not written yet"))
}

pub(crate) fn parse_pipfile_lock(_file: &str, _text: &str) -> Result<Parsed, ParseError> {
    Err(ParseError::new("not written yet"))
}
