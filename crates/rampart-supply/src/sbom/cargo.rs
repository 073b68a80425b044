//! `Cargo.lock`: every package fetched from a registry or a git repository is
//! a component; packages without a `source` are the project's own workspace
//! members and path crates, so what they depend on is a direct dependency.
//!
//! Dependencies are written `name`, `name version` or
//! `name version (source)`, Cargo adding the version and then the source only
//! when the shorter form would be ambiguous. Lockfile v1 keeps checksums in a
//! `[metadata]` table keyed `checksum name version (source)` instead of on
//! each package, and its oldest form puts the project in `[root]`.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use toml::Spanned;

use super::{
    Component, Ecosystem, Hash, HashAlg, ParseError, Parsed, Purl, Scope, line_of, toml_error,
};

#[derive(Deserialize)]
struct Lockfile {
    #[serde(default)]
    package: Vec<Package>,
    /// Old v1 only: the project, not listed among the packages.
    root: Option<Package>,
    /// v1 only; other keys may appear, only `checksum ...` ones matter.
    #[serde(default)]
    metadata: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    version: String,
    source: Option<String>,
    checksum: Option<Spanned<String>>,
    #[serde(default)]
    dependencies: Vec<Spanned<String>>,
}

pub(crate) fn parse_lock(file: &str, text: &str) -> Result<Parsed, ParseError> {
    let mut lock: Lockfile =
        toml::from_str(text).map_err(|e| toml_error("Cargo.lock", text, &e))?;

    lock.package.extend(lock.root.take());
    let v1_checksums: HashMap<&str, &str> = lock
        .metadata
        .iter()
        .filter_map(|(key, value)| Some((key.strip_prefix("checksum ")?, value.as_str()?)))
        .collect();

    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, package) in lock.package.iter().enumerate() {
        by_name.entry(&package.name).or_default().push(index);
    }
    let purls: Vec<Option<Purl>> = lock
        .package
        .iter()
        .map(|p| {
            p.source
                .as_ref()
                .map(|_| Purl::new(Ecosystem::Cargo, None, &p.name, &p.version))
        })
        .collect();

    let mut parsed = Parsed::default();
    for (package, purl) in lock.package.iter().zip(&purls) {
        for dependency in &package.dependencies {
            let target =
                resolve(&lock.package, &by_name, dependency.get_ref()).ok_or_else(|| {
                    ParseError::at(
                        line_of(text, dependency.span().start),
                        format!(
                            "{} {} depends on {:?}, which is not a package of this lockfile",
                            package.name,
                            package.version,
                            dependency.get_ref()
                        ),
                    )
                })?;
            let Some(to) = &purls[target] else {
                continue;
            };
            match purl {
                Some(from) => parsed.edges.push((from.clone(), to.clone())),
                None => parsed.direct.push(to.clone()),
            }
        }
        let (Some(purl), Some(source)) = (purl, &package.source) else {
            continue;
        };
        let checksum = match &package.checksum {
            Some(checksum) => Some((
                checksum.get_ref().as_str(),
                Some(line_of(text, checksum.span().start)),
            )),
            None => v1_checksums
                .get(format!("{} {} ({source})", package.name, package.version).as_str())
                .map(|hex| (*hex, None)),
        };
        let hashes = match checksum {
            Some(("<none>", _)) | None => Vec::new(),
            Some((hex, line)) => vec![sha256(hex).ok_or_else(|| {
                let message = format!(
                    "{} {}: checksum {hex:?} is not a SHA-256 in hex",
                    package.name, package.version
                );
                match line {
                    Some(line) => ParseError::at(line, message),
                    None => ParseError::new(message),
                }
            })?],
        };
        parsed.components.push(Component {
            ecosystem: Ecosystem::Cargo,
            name: package.name.clone(),
            group: None,
            version: package.version.clone(),
            purl: purl.clone(),
            hashes,
            licenses: Vec::new(),
            scope: Scope::Required,
            supplier: None,
            source_file: file.to_string(),
        });
    }
    parsed.direct.sort();
    parsed.direct.dedup();
    Ok(parsed)
}

/// The package a `dependencies` entry names: by name, then version, then
/// source, as far as the entry spells them out; `None` when it names no
/// package or more than one.
fn resolve(
    packages: &[Package],
    by_name: &HashMap<&str, Vec<usize>>,
    entry: &str,
) -> Option<usize> {
    let (name, rest) = entry.split_once(' ').unwrap_or((entry, ""));
    let (version, source) = match rest.split_once(" (") {
        Some((version, source)) => (Some(version), Some(source.strip_suffix(')')?)),
        None if rest.is_empty() => (None, None),
        None => (Some(rest), None),
    };
    let mut found = by_name.get(name)?.iter().copied().filter(|&index| {
        let package = &packages[index];
        version.is_none_or(|v| package.version == v)
            && source.is_none_or(|s| package.source.as_deref() == Some(s))
    });
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

fn sha256(hex: &str) -> Option<Hash> {
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| Hash {
        alg: HashAlg::Sha256,
        hex: hex.to_ascii_lowercase(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sbom::test_support::{edges, purls};

    const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";

    #[test]
    fn workspace_members_are_not_components_and_their_dependencies_are_direct() {
        let text = format!(
            r#"version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["lib", "serde"]

[[package]]
name = "lib"
version = "0.1.0"
dependencies = ["itoa"]

[[package]]
name = "serde"
version = "1.0.200"
source = "{CRATES_IO}"
checksum = "ddc6f9cc94d67c0e21aaf7eda3a010fd3af78ebf6e096aa6e2e13c79749cce4f"
dependencies = ["itoa"]

[[package]]
name = "itoa"
version = "1.0.11"
source = "{CRATES_IO}"
"#
        );
        let parsed = parse_lock("Cargo.lock", &text).expect("parses");
        assert_eq!(
            purls(&parsed),
            ["pkg:cargo/serde@1.0.200", "pkg:cargo/itoa@1.0.11"]
        );
        assert_eq!(
            parsed.components[0].hashes,
            [Hash {
                alg: HashAlg::Sha256,
                hex: "ddc6f9cc94d67c0e21aaf7eda3a010fd3af78ebf6e096aa6e2e13c79749cce4f".into()
            }]
        );
        assert!(parsed.components[1].hashes.is_empty());
        assert_eq!(
            edges(&parsed),
            [("pkg:cargo/serde@1.0.200", "pkg:cargo/itoa@1.0.11")]
        );
        let direct: Vec<&str> = parsed.direct.iter().map(Purl::as_str).collect();
        assert_eq!(direct, ["pkg:cargo/itoa@1.0.11", "pkg:cargo/serde@1.0.200"]);
    }

    #[test]
    fn versioned_and_sourced_entries_pick_the_right_one_of_several() {
        let text = format!(
            r#"
[[package]]
name = "a"
version = "1.0.0"
source = "{CRATES_IO}"
dependencies = ["b 0.1.0", "b 0.2.0 ({CRATES_IO})", "c 1.0.0 (git+https://example.com/c#abc)"]

[[package]]
name = "b"
version = "0.1.0"
source = "{CRATES_IO}"

[[package]]
name = "b"
version = "0.2.0"
source = "{CRATES_IO}"

[[package]]
name = "c"
version = "1.0.0"
source = "{CRATES_IO}"

[[package]]
name = "c"
version = "1.0.0"
source = "git+https://example.com/c#abc"
"#
        );
        let parsed = parse_lock("Cargo.lock", &text).expect("parses");
        assert_eq!(
            edges(&parsed),
            [
                ("pkg:cargo/a@1.0.0", "pkg:cargo/b@0.1.0"),
                ("pkg:cargo/a@1.0.0", "pkg:cargo/b@0.2.0"),
                ("pkg:cargo/a@1.0.0", "pkg:cargo/c@1.0.0"),
            ]
        );
    }

    #[test]
    fn ambiguous_or_dangling_dependencies_are_refused_with_their_line() {
        let text = format!(
            r#"[[package]]
name = "a"
version = "1.0.0"
source = "{CRATES_IO}"
dependencies = [
 "b",
]

[[package]]
name = "b"
version = "0.1.0"
source = "{CRATES_IO}"

[[package]]
name = "b"
version = "0.2.0"
source = "{CRATES_IO}"
"#
        );
        let error = parse_lock("Cargo.lock", &text).expect_err("b is ambiguous");
        assert_eq!(error.line, Some(6));
        assert!(error.message.contains("\"b\""), "{}", error.message);

        let dangling = text.replace(" \"b\",", " \"zzz 1.0.0\",");
        let error = parse_lock("Cargo.lock", &dangling).expect_err("zzz is missing");
        assert_eq!(error.line, Some(6));
    }

    #[test]
    fn v1_checksums_come_from_metadata() {
        let text = format!(
            r#"[root]
name = "app"
version = "0.1.0"
dependencies = [
 "libc 0.2.155 ({CRATES_IO})",
]

[[package]]
name = "libc"
version = "0.2.155"
source = "{CRATES_IO}"

[metadata]
"checksum libc 0.2.155 ({CRATES_IO})" = "97B3888A4AECF77E811145CADF6EEF5901F4782C53886191B2F693F24761847C"
"#
        );
        let parsed = parse_lock("Cargo.lock", &text).expect("parses");
        assert_eq!(purls(&parsed), ["pkg:cargo/libc@0.2.155"]);
        assert_eq!(
            parsed.components[0].hashes[0].hex,
            "97b3888a4aecf77e811145cadf6eef5901f4782c53886191b2f693f24761847c"
        );
        assert_eq!(parsed.direct, [parsed.components[0].purl.clone()]);
    }

    #[test]
    fn bad_input_is_an_error_with_a_line_not_a_panic() {
        let error = parse_lock("Cargo.lock", "version = 3\n\n[[package]\nname = 1\n")
            .expect_err("not TOML");
        assert_eq!(error.line, Some(3));

        let error = parse_lock("Cargo.lock", "[[package]]\nname = \"a\"\n")
            .expect_err("a package needs a version");
        assert!(error.message.contains("version"), "{}", error.message);

        let text = format!(
            "[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nsource = \"{CRATES_IO}\"\nchecksum = \"xyz\"\n"
        );
        let error = parse_lock("Cargo.lock", &text).expect_err("not a SHA-256");
        assert_eq!(error.line, Some(5));

        assert_eq!(
            parse_lock("Cargo.lock", "").expect("empty"),
            Parsed::default()
        );
    }
}
