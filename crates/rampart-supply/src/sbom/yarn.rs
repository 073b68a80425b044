//! yarn.lock: not read yet. The scan refuses such a file rather than leave
//! its components out of the SBOM unnoticed (issue 7 lists what is missing).

use super::{ParseError, Parsed};

pub(crate) fn parse_lock(_file: &str, _text: &str) -> Result<Parsed, ParseError> {
    Err(ParseError::new(
        "Rampart cannot read this lockfile format yet, and an SBOM without its components would \
         be wrong; remove it from the scanned directory or scan a subdirectory",
    ))
}
