//! The little of YAML the YAML lockfiles (pnpm, Yarn berry) need: a
//! document as `saphyr` loads it, scalars as text, mappings as
//! (key, value) pairs.

use std::borrow::Cow;

use saphyr::{LoadableYamlNode as _, Scalar, Yaml};

use super::ParseError;

/// The first document of `text`; an empty file is an empty mapping.
/// saphyr refuses duplicate keys and bounds alias expansion.
pub(crate) fn load(text: &str) -> Result<Yaml<'_>, ParseError> {
    let mut documents = Yaml::load_from_str(text)
        .map_err(|e| ParseError::at(e.marker().line(), format!("not YAML: {}", e.info())))?;
    if documents.is_empty() {
        return Ok(Yaml::Mapping(Default::default()));
    }
    Ok(documents.swap_remove(0))
}

/// A scalar's text (`5.4` and `true` as written), `None` for collections
/// and null.
pub(crate) fn text<'a>(node: &'a Yaml<'_>) -> Option<Cow<'a, str>> {
    match node {
        Yaml::Value(Scalar::String(s)) => Some(Cow::Borrowed(s.as_ref())),
        Yaml::Value(Scalar::Integer(i)) => Some(Cow::Owned(i.to_string())),
        Yaml::Value(Scalar::FloatingPoint(f)) => Some(Cow::Owned(f.to_string())),
        Yaml::Value(Scalar::Boolean(b)) => Some(Cow::Owned(b.to_string())),
        Yaml::Representation(s, _, _) => Some(Cow::Borrowed(s.as_ref())),
        _ => None,
    }
}

/// The value at `key` of a mapping; `None` for a missing key, a null
/// value, or a node that is not a mapping.
pub(crate) fn get<'a, 'i>(node: &'a Yaml<'i>, key: &str) -> Option<&'a Yaml<'i>> {
    match node {
        Yaml::Mapping(map) => map
            .iter()
            .find(|(k, _)| text(k).as_deref() == Some(key))
            .map(|(_, v)| v)
            .filter(|v| !v.is_null()),
        _ => None,
    }
}

/// The text at `key`, if it is a scalar.
pub(crate) fn get_text<'a>(node: &'a Yaml<'_>, key: &str) -> Option<Cow<'a, str>> {
    get(node, key).and_then(text)
}

/// A mapping's entries with scalar keys; an error names `what` when the
/// node is there but is not a mapping.
pub(crate) fn entries<'a, 'i>(
    node: Option<&'a Yaml<'i>>,
    what: &str,
) -> Result<Vec<(Cow<'a, str>, &'a Yaml<'i>)>, ParseError> {
    match node {
        None => Ok(Vec::new()),
        Some(Yaml::Mapping(map)) => map
            .iter()
            .map(|(k, v)| {
                text(k)
                    .map(|k| (k, v))
                    .ok_or_else(|| ParseError::new(format!("{what} has a key that is not text")))
            })
            .collect(),
        Some(_) => Err(ParseError::new(format!("{what} is not a mapping"))),
    }
}
