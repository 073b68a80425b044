//! What the CycloneDX and SPDX writers and readers share: the facts about
//! the document itself, read errors, and SPDX license identifiers.

use serde_json::{Map, Value};

use crate::sbom::{self, Ecosystem, Parsed, Purl, Sbom};

/// Facts about the document, not the software: who wrote it, when, and the
/// serial that tells two documents about the same subject apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentInfo {
    pub tool_name: String,
    pub tool_version: String,
    /// RFC 3339 in UTC (`2026-01-31T12:00:00Z`); the caller formats it so
    /// this crate needs no clock.
    pub created: String,
    pub serial: [u8; 16],
}

impl DocumentInfo {
    /// A document with a fresh random serial.
    pub fn new(
        tool_name: &str,
        tool_version: &str,
        created: String,
    ) -> Result<DocumentInfo, getrandom::Error> {
        let mut serial = [0u8; 16];
        getrandom::fill(&mut serial)?;
        Ok(DocumentInfo {
            tool_name: tool_name.to_string(),
            tool_version: tool_version.to_string(),
            created,
            serial,
        })
    }

    /// The serial as an RFC 4122 version 4 UUID, lowercase.
    pub fn uuid(&self) -> String {
        let mut b = self.serial;
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let hex: String = b.iter().map(|byte| format!("{byte:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }
}

/// Why a document could not be read as an SBOM. Paths are JSON paths from
/// the document root (`components[3].purl`).
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("not JSON: {0}")]
    NotJson(#[from] serde_json::Error),
    #[error("not {format} JSON: {reason}")]
    WrongFormat {
        format: &'static str,
        reason: String,
    },
    #[error("missing field {path}")]
    MissingField { path: String },
    #[error("{path} must be {expected}")]
    WrongType {
        path: String,
        expected: &'static str,
    },
    #[error("bad purl at {path}: {message}")]
    BadPurl { path: String, message: String },
}

/// A JSON value and where it is in the document, so every read error can
/// say where.
#[derive(Clone, Copy)]
pub(crate) struct At<'a, 'p> {
    pub value: &'a Value,
    pub path: &'p str,
}

impl<'a> At<'a, '_> {
    pub fn object(self) -> Result<&'a Map<String, Value>, FormatError> {
        self.value
            .as_object()
            .ok_or_else(|| self.wrong("an object"))
    }

    pub fn wrong(self, expected: &'static str) -> FormatError {
        FormatError::WrongType {
            path: self.path.to_string(),
            expected,
        }
    }
}

/// Child paths: `field` under `parent`, or the document root's field.
pub(crate) fn child_path(parent: &str, field: &str) -> String {
    if parent.is_empty() {
        field.to_string()
    } else {
        format!("{parent}.{field}")
    }
}

/// An optional string field: absent or `null` is `None`, another type an
/// error.
pub(crate) fn opt_str<'a>(
    object: &'a Map<String, Value>,
    parent: &str,
    field: &str,
) -> Result<Option<&'a str>, FormatError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(FormatError::WrongType {
            path: child_path(parent, field),
            expected: "a string",
        }),
    }
}

/// A string field the format requires.
pub(crate) fn req_str<'a>(
    object: &'a Map<String, Value>,
    parent: &str,
    field: &str,
) -> Result<&'a str, FormatError> {
    opt_str(object, parent, field)?.ok_or_else(|| FormatError::MissingField {
        path: child_path(parent, field),
    })
}

/// An optional array field: absent or `null` is empty.
pub(crate) fn opt_array<'a>(
    object: &'a Map<String, Value>,
    parent: &str,
    field: &str,
) -> Result<&'a [Value], FormatError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(FormatError::WrongType {
            path: child_path(parent, field),
            expected: "an array",
        }),
    }
}

/// A purl as written at `path`.
pub(crate) fn parse_purl(text: &str, path: String) -> Result<Purl, FormatError> {
    Purl::parse(text).map_err(|message| FormatError::BadPurl { path, message })
}

/// The ecosystem a purl names: one this crate models, else
/// [`Ecosystem::Other`] (`pkg:deb`, `pkg:github`, ...).
pub(crate) fn ecosystem_of(purl: &Purl) -> Ecosystem {
    let ty = purl
        .as_str()
        .strip_prefix("pkg:")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default();
    [
        Ecosystem::Cargo,
        Ecosystem::Npm,
        Ecosystem::PyPI,
        Ecosystem::Go,
        Ecosystem::Maven,
        Ecosystem::Gem,
    ]
    .into_iter()
    .find(|e| e.purl_type().eq_ignore_ascii_case(ty))
    .unwrap_or(Ecosystem::Other)
}

/// The decoded namespace of a purl (`pkg:maven/org.example/x@1` gives
/// `org.example`), for formats that do not carry the Maven group.
pub(crate) fn purl_namespace(purl: &Purl) -> Option<String> {
    let rest = purl.without_qualifiers().strip_prefix("pkg:")?;
    let path = rest.split_once('/')?.1;
    let path = path.split('@').next()?;
    let (namespace, _name) = path.rsplit_once('/')?;
    Some(percent_decode(namespace))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match decoded {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The SBOM a reader found, deduplicated and pruned as [`sbom::merge`]
/// does for lockfiles; its sources are the files components name.
pub(crate) fn finish(
    subject_name: String,
    subject_version: Option<String>,
    parsed: Parsed,
) -> Sbom {
    let mut sources: Vec<String> = parsed
        .components
        .iter()
        .map(|c| c.source_file.clone())
        .filter(|file| !file.is_empty())
        .collect();
    sources.sort();
    sources.dedup();
    let mut out = sbom::merge(subject_name, vec![(String::new(), parsed)]);
    out.subject_version = subject_version;
    out.sources = sources;
    out
}

/// SPDX license identifiers (license list 3.28, as the CycloneDX 1.6
/// schema enumerates them), restricted to those the `license-expression`
/// library that `pyspdxtools` validates with also knows, so both formats'
/// validators accept every id we write.
const SPDX_LICENSES: &str = include_str!("spdx_licenses.txt");
/// SPDX license exception identifiers, for `WITH`; same sources.
const SPDX_EXCEPTIONS: &str = include_str!("spdx_exceptions.txt");

/// Whether `id` is an SPDX license identifier, exactly as the list spells
/// it.
pub(crate) fn is_spdx_license_id(id: &str) -> bool {
    SPDX_LICENSES.lines().any(|line| line == id)
}

fn is_spdx_exception_id(id: &str) -> bool {
    SPDX_EXCEPTIONS.lines().any(|line| line == id)
}

/// Whether `text` is a valid SPDX license expression using only listed
/// identifiers (with an optional `+`) and `LicenseRef-` references:
/// `MIT`, `MIT OR Apache-2.0`, `(A AND B) OR C WITH E`.
pub(crate) fn is_spdx_expression(text: &str) -> bool {
    let tokens = tokenize(text);
    let mut pos = 0;
    !tokens.is_empty() && parse_or(&tokens, &mut pos) && pos == tokens.len()
}

/// Whether `text` combines licenses (as opposed to naming one).
pub(crate) fn is_compound_expression(text: &str) -> bool {
    tokenize(text)
        .iter()
        .any(|t| matches!(*t, "AND" | "OR" | "WITH"))
}

fn tokenize(text: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        if c == '(' || c == ')' || c.is_whitespace() {
            if let Some(s) = start.take() {
                tokens.push(&text[s..i]);
            }
            if !c.is_whitespace() {
                tokens.push(&text[i..i + 1]);
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        tokens.push(&text[s..]);
    }
    tokens
}

fn parse_or(tokens: &[&str], pos: &mut usize) -> bool {
    if !parse_and(tokens, pos) {
        return false;
    }
    while tokens.get(*pos) == Some(&"OR") {
        *pos += 1;
        if !parse_and(tokens, pos) {
            return false;
        }
    }
    true
}

fn parse_and(tokens: &[&str], pos: &mut usize) -> bool {
    if !parse_with(tokens, pos) {
        return false;
    }
    while tokens.get(*pos) == Some(&"AND") {
        *pos += 1;
        if !parse_with(tokens, pos) {
            return false;
        }
    }
    true
}

fn parse_with(tokens: &[&str], pos: &mut usize) -> bool {
    match tokens.get(*pos) {
        Some(&"(") => {
            *pos += 1;
            if !parse_or(tokens, pos) || tokens.get(*pos) != Some(&")") {
                return false;
            }
            *pos += 1;
            true
        }
        Some(id) if is_license_token(id) => {
            *pos += 1;
            if tokens.get(*pos) == Some(&"WITH") {
                *pos += 1;
                match tokens.get(*pos) {
                    Some(exception) if is_spdx_exception_id(exception) => *pos += 1,
                    _ => return false,
                }
            }
            true
        }
        _ => false,
    }
}

fn is_license_token(token: &str) -> bool {
    if let Some(reference) = token.strip_prefix("LicenseRef-") {
        return is_idstring(reference);
    }
    is_spdx_license_id(token) || token.strip_suffix('+').is_some_and(is_spdx_license_id)
}

/// The SPDX `idstring` alphabet: letters, digits, `.` and `-`.
pub(crate) fn is_idstring(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

/// `text` in the `idstring` alphabet: other characters become `-`, runs
/// collapse, and an empty result is `unnamed`.
pub(crate) fn sanitise_idstring(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_matches('-');
    if trimmed.is_empty() {
        "unnamed".to_string()
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_is_version_4_with_the_rfc_variant() {
        let info = DocumentInfo {
            tool_name: "t".into(),
            tool_version: "1".into(),
            created: "2026-01-01T00:00:00Z".into(),
            serial: [0xff; 16],
        };
        assert_eq!(info.uuid(), "ffffffff-ffff-4fff-bfff-ffffffffffff");
        let zero = DocumentInfo {
            serial: [0; 16],
            ..info
        };
        assert_eq!(zero.uuid(), "00000000-0000-4000-8000-000000000000");
    }

    #[test]
    fn new_documents_get_different_serials() {
        let a = DocumentInfo::new("t", "1", String::new()).expect("randomness");
        let b = DocumentInfo::new("t", "1", String::new()).expect("randomness");
        assert_ne!(a.serial, b.serial);
    }

    #[test]
    fn expressions_are_checked_against_the_license_list() {
        for valid in [
            "MIT",
            "MIT OR Apache-2.0",
            "Apache-2.0 WITH LLVM-exception",
            "(MIT AND BSD-3-Clause) OR GPL-2.0+",
            "LicenseRef-my.license",
        ] {
            assert!(is_spdx_expression(valid), "{valid}");
        }
        for invalid in [
            "",
            "MIT OR",
            "MIT/Apache-2.0",
            "The MIT License",
            "(MIT",
            "MIT WITH Apache-2.0",
            "mit",
            "LicenseRef-a b",
        ] {
            assert!(!is_spdx_expression(invalid), "{invalid}");
        }
        assert!(is_compound_expression("MIT OR Apache-2.0"));
        assert!(!is_compound_expression("MIT"));
    }

    #[test]
    fn purl_namespaces_are_decoded() {
        let purl = Purl::new(Ecosystem::Npm, Some("@types"), "node", "20.1.0");
        assert_eq!(purl_namespace(&purl).as_deref(), Some("@types"));
        let purl = Purl::new(Ecosystem::Cargo, None, "serde", "1.0.0");
        assert_eq!(purl_namespace(&purl), None);
        assert_eq!(ecosystem_of(&purl), Ecosystem::Cargo);
        let deb = Purl::parse("pkg:deb/debian/libc6@2.36").expect("a purl");
        assert_eq!(ecosystem_of(&deb), Ecosystem::Other);
    }

    #[test]
    fn idstrings_are_sanitised() {
        assert_eq!(
            sanitise_idstring("The MIT License (v2)"),
            "The-MIT-License-v2"
        );
        assert_eq!(sanitise_idstring("@@"), "unnamed");
        assert!(is_idstring(&sanitise_idstring("ünïcode/∞")));
    }
}
