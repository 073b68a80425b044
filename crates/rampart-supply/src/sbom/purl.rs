//! Package URLs (purl spec): the identity of a component across tools.

use std::fmt;

use super::Ecosystem;

/// A canonical package URL, `pkg:TYPE/NAMESPACE/NAME@VERSION`. Built only by
/// [`Purl::new`] (which encodes and normalises) or [`Purl::parse`], so two
/// equal packages always have equal purls and ordering is stable.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Purl(String);

impl Purl {
    /// The purl of `name` at `version`; `namespace` is the npm scope (with
    /// its `@`), the Maven group or the Go module path before the last `/`.
    /// PyPI names are normalised as PEP 503 and the purl spec ask.
    pub fn new(ecosystem: Ecosystem, namespace: Option<&str>, name: &str, version: &str) -> Purl {
        let mut out = format!("pkg:{}/", ecosystem.purl_type());
        if let Some(namespace) = namespace.filter(|n| !n.is_empty()) {
            for segment in namespace.split('/').filter(|s| !s.is_empty()) {
                encode_into(&mut out, segment);
                out.push('/');
            }
        }
        match ecosystem {
            Ecosystem::PyPI => encode_into(&mut out, &normalise_pypi_name(name)),
            _ => encode_into(&mut out, name),
        }
        if !version.is_empty() {
            out.push('@');
            encode_into(&mut out, version);
        }
        Purl(out)
    }

    /// Accepts a purl another tool wrote, as long as it has the `pkg:TYPE/`
    /// shape; it is kept as written.
    pub fn parse(text: &str) -> Result<Purl, String> {
        let rest = text
            .strip_prefix("pkg:")
            .ok_or_else(|| format!("{text:?} is not a package URL: it must start with pkg:"))?;
        match rest.split_once('/') {
            Some((ty, name)) if !ty.is_empty() && !name.is_empty() => Ok(Purl(text.to_string())),
            _ => Err(format!(
                "{text:?} is not a package URL: it must be pkg:TYPE/NAME"
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The purl without `?qualifiers` and `#subpath`, for comparing with
    /// tools that add qualifiers of their own.
    pub fn without_qualifiers(&self) -> &str {
        let end = self.0.find(['?', '#']).unwrap_or(self.0.len());
        &self.0[..end]
    }
}

impl fmt::Display for Purl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// PEP 503: lowercase, runs of `-`, `_` and `.` become one `-`.
pub(crate) fn normalise_pypi_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_separator = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_separator {
                out.push('-');
            }
            in_separator = true;
        } else {
            out.extend(c.to_lowercase());
            in_separator = false;
        }
    }
    out
}

/// Percent-encodes everything but unreserved characters and `:`, as the
/// purl spec's reference implementations do.
fn encode_into(out: &mut String, text: &str) {
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b':') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npm_scope_is_encoded_as_the_spec_shows() {
        let purl = Purl::new(Ecosystem::Npm, Some("@types"), "node", "20.1.0");
        assert_eq!(purl.as_str(), "pkg:npm/%40types/node@20.1.0");
    }

    #[test]
    fn pypi_names_are_normalised() {
        let purl = Purl::new(Ecosystem::PyPI, None, "Django_REST.framework", "3.15.1");
        assert_eq!(purl.as_str(), "pkg:pypi/django-rest-framework@3.15.1");
    }

    #[test]
    fn maven_and_go_namespaces_become_path_segments() {
        assert_eq!(
            Purl::new(
                Ecosystem::Maven,
                Some("org.apache.commons"),
                "commons-lang3",
                "3.14.0"
            )
            .as_str(),
            "pkg:maven/org.apache.commons/commons-lang3@3.14.0"
        );
        assert_eq!(
            Purl::new(
                Ecosystem::Go,
                Some("github.com/BurntSushi"),
                "toml",
                "v1.3.2"
            )
            .as_str(),
            "pkg:golang/github.com/BurntSushi/toml@v1.3.2"
        );
    }

    #[test]
    fn reserved_characters_in_versions_are_encoded() {
        let purl = Purl::new(Ecosystem::Cargo, None, "x", "1.0.0+build/7");
        assert_eq!(purl.as_str(), "pkg:cargo/x@1.0.0%2Bbuild%2F7");
    }

    #[test]
    fn parse_keeps_foreign_purls_and_refuses_other_text() {
        let purl = Purl::parse("pkg:npm/left-pad@1.3.0?vcs_url=x#sub").expect("a purl");
        assert_eq!(purl.without_qualifiers(), "pkg:npm/left-pad@1.3.0");
        assert!(Purl::parse("npm/left-pad").is_err());
        assert!(Purl::parse("pkg:npm").is_err());
    }
}
