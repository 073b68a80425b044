//! Ruby gems, from Bundler's `Gemfile.lock`.
//!
//! The gems of the `GEM` and `GIT` sections are components, their indented
//! dependency lines the graph's edges. `PATH` gems are the project itself
//! (`gemspec` in the Gemfile) or code vendored beside it: not components,
//! but what they depend on is direct. `PLUGIN SOURCE` gems are Bundler
//! plugins, not the application's, and are skipped.
//!
//! A platform gem (`nokogiri (1.15.4-x86_64-linux)`) has the version before
//! the first `-`, as Bundler splits it; the variants for several platforms
//! are one component. `CHECKSUMS` (Bundler 2.5+) gives each variant's
//! `.gem` digest, so such a component may carry one SHA-256 per platform.
//! The lockfile does not record Gemfile groups, so every gem is required.

use std::collections::{BTreeMap, BTreeSet};

use super::{Component, Ecosystem, Hash, HashAlg, ParseError, Parsed, Purl, Scope};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    /// `GEM` or `GIT`: gems that are components.
    Gems,
    /// `PATH`: the project's own gems.
    Path,
    Plugins,
    Dependencies,
    Checksums,
    /// `PLATFORMS`, `RUBY VERSION`, `BUNDLED WITH` and any newer ones.
    Other,
}

/// A gem of a `specs:` list and the names it depends on.
struct Spec {
    name: String,
    version: String,
    depends_on: Vec<String>,
}

/// Reads a `Gemfile.lock`.
pub(crate) fn parse_gemfile_lock(file: &str, text: &str) -> Result<Parsed, ParseError> {
    let mut section: Option<Section> = None;
    let mut in_specs = false;
    let mut gems: Vec<Spec> = Vec::new();
    let mut path_gems: Vec<Spec> = Vec::new();
    let mut declared: Vec<String> = Vec::new();
    // (name, version) -> sha256 digests.
    let mut checksums: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();

    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw.trim_end();
        if line.is_empty() {
            continue;
        }
        let indent = line.len() - line.trim_start_matches(' ').len();
        let content = &line[indent..];
        if indent == 0 {
            section = Some(match content {
                "GEM" | "GIT" => Section::Gems,
                "PATH" => Section::Path,
                "PLUGIN SOURCE" => Section::Plugins,
                "DEPENDENCIES" => Section::Dependencies,
                "CHECKSUMS" => Section::Checksums,
                _ if content.chars().all(|c| c.is_ascii_uppercase() || c == ' ') => Section::Other,
                _ => {
                    return Err(ParseError::at(
                        number,
                        format!("{content:?} is not a Gemfile.lock section"),
                    ));
                }
            });
            in_specs = false;
            continue;
        }
        let Some(current) = section else {
            return Err(ParseError::at(number, "indented line before any section"));
        };
        match current {
            Section::Gems | Section::Path | Section::Plugins => {
                let target = match current {
                    Section::Gems => Some(&mut gems),
                    Section::Path => Some(&mut path_gems),
                    _ => None,
                };
                match indent {
                    2 => in_specs = content == "specs:",
                    4 if in_specs => {
                        let (name, version) = name_and_version(content, number)?;
                        let version = version
                            .ok_or_else(|| ParseError::at(number, "a spec without its version"))?;
                        if let Some(target) = target {
                            target.push(Spec {
                                name: name.to_string(),
                                version: strip_platform(version).to_string(),
                                depends_on: Vec::new(),
                            });
                        }
                    }
                    6 if in_specs => {
                        let (name, _constraint) = name_and_version(content, number)?;
                        if let Some(target) = target {
                            let spec = target.last_mut().ok_or_else(|| {
                                ParseError::at(number, "a dependency before any spec")
                            })?;
                            spec.depends_on.push(name.to_string());
                        }
                    }
                    _ => return Err(ParseError::at(number, "unexpected indentation")),
                }
            }
            Section::Dependencies => {
                if indent != 2 {
                    return Err(ParseError::at(number, "unexpected indentation"));
                }
                // `!` (a gem from a GIT or PATH source) follows any constraint.
                let content = content.strip_suffix('!').unwrap_or(content);
                let (name, _constraint) = name_and_version(content, number)?;
                declared.push(name.to_string());
            }
            Section::Checksums => {
                if indent != 2 {
                    return Err(ParseError::at(number, "unexpected indentation"));
                }
                let (gem, sums) = match content.find(") ") {
                    Some(end) => (&content[..=end], content[end + 2..].trim()),
                    None => (content, ""),
                };
                let (name, version) = name_and_version(gem, number)?;
                let version = version
                    .ok_or_else(|| ParseError::at(number, "a checksum without its version"))?;
                let key = (name.to_string(), strip_platform(version).to_string());
                for sum in sums.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let (alg, hex) = sum
                        .split_once('=')
                        .ok_or_else(|| ParseError::at(number, format!("{sum:?} is not ALG=HEX")))?;
                    // Bundler writes only sha256; other algorithms are not ours to guess at.
                    if alg != "sha256" {
                        continue;
                    }
                    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(ParseError::at(number, format!("{hex:?} is not a SHA-256")));
                    }
                    let digests = checksums.entry(key.clone()).or_default();
                    let hex = hex.to_ascii_lowercase();
                    if !digests.contains(&hex) {
                        digests.push(hex);
                    }
                }
            }
            Section::Other => {}
        }
    }

    let purl_of: BTreeMap<&str, Purl> = gems
        .iter()
        .map(|g| (g.name.as_str(), gem_purl(&g.name, &g.version)))
        .collect();
    let project: BTreeSet<&str> = path_gems.iter().map(|g| g.name.as_str()).collect();

    let mut parsed = Parsed::default();
    let mut seen = BTreeSet::new();
    let mut edges = BTreeSet::new();
    for gem in &gems {
        let purl = gem_purl(&gem.name, &gem.version);
        for dependency in &gem.depends_on {
            if let Some(to) = purl_of.get(dependency.as_str()) {
                edges.insert((purl.clone(), to.clone()));
            }
        }
        if !seen.insert(purl.clone()) {
            continue;
        }
        let hashes = checksums
            .get(&(gem.name.clone(), gem.version.clone()))
            .map(|digests| {
                digests
                    .iter()
                    .map(|hex| Hash {
                        alg: HashAlg::Sha256,
                        hex: hex.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        parsed.components.push(Component {
            ecosystem: Ecosystem::Gem,
            name: gem.name.clone(),
            group: None,
            version: gem.version.clone(),
            purl,
            hashes,
            licenses: Vec::new(),
            scope: Scope::Required,
            supplier: None,
            source_file: file.to_string(),
        });
    }
    // Edges in file order would repeat for each platform variant; a set
    // keeps one of each.
    parsed.edges = edges.into_iter().collect();

    let mut direct = BTreeSet::new();
    let project_deps = path_gems.iter().flat_map(|g| g.depends_on.iter());
    for name in declared.iter().chain(project_deps) {
        if project.contains(name.as_str()) {
            continue;
        }
        if let Some(purl) = purl_of.get(name.as_str()) {
            direct.insert(purl.clone());
        }
    }
    parsed.direct = direct.into_iter().collect();
    Ok(parsed)
}

/// `name`, `name (version)` or `name (constraints)`: the name and what is
/// in the parentheses.
fn name_and_version(content: &str, line: usize) -> Result<(&str, Option<&str>), ParseError> {
    let (name, rest) = match content.split_once(' ') {
        Some((name, rest)) => (name, Some(rest)),
        None => (content, None),
    };
    if name.is_empty() || name.contains(['(', ')']) {
        return Err(ParseError::at(
            line,
            format!("{content:?} is not a gem name"),
        ));
    }
    let inner = match rest {
        None => None,
        Some(rest) => Some(
            rest.strip_prefix('(')
                .and_then(|r| r.strip_suffix(')'))
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| {
                    ParseError::at(line, format!("{content:?} is not `name (version)`"))
                })?,
        ),
    };
    Ok((name, inner))
}

/// The version of `1.15.4-x86_64-linux`, cut at the first `-` as Bundler's
/// own lockfile parser does.
fn strip_platform(version: &str) -> &str {
    version.split_once('-').map_or(version, |(v, _)| v)
}

fn gem_purl(name: &str, version: &str) -> Purl {
    Purl::new(Ecosystem::Gem, None, name, version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sbom::test_support::edges;

    const LOCK: &str = "\
PATH
  remote: .
  specs:
    mygem (0.3.0)
      zeitwerk (~> 2.6)

GIT
  remote: https://github.com/rails/rails.git
  revision: 0123abcd
  specs:
    activesupport (7.2.0.alpha)
      racc

GEM
  remote: https://rubygems.org/
  specs:
    nokogiri (1.15.4-arm64-darwin)
      racc (~> 1.4)
    nokogiri (1.15.4-x86_64-linux)
      racc (~> 1.4)
    racc (1.7.3)
    rake (13.1.0)
    zeitwerk (2.6.12)

PLATFORMS
  arm64-darwin
  x86_64-linux

DEPENDENCIES
  activesupport (~> 7.2.0.alpha)!
  mygem!
  nokogiri (>= 1.15, < 2)
  rake

CHECKSUMS
  mygem (0.3.0)
  nokogiri (1.15.4-arm64-darwin) sha256=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
  nokogiri (1.15.4-x86_64-linux) sha256=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
  rake (13.1.0) sha256=cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc

BUNDLED WITH
   2.5.3
";

    #[test]
    fn gems_edges_direct_and_checksums() {
        let parsed = parse_gemfile_lock("Gemfile.lock", LOCK).expect("parses");
        let found: Vec<&str> = parsed.components.iter().map(|c| c.purl.as_str()).collect();
        assert_eq!(
            found,
            [
                "pkg:gem/activesupport@7.2.0.alpha",
                "pkg:gem/nokogiri@1.15.4",
                "pkg:gem/racc@1.7.3",
                "pkg:gem/rake@13.1.0",
                "pkg:gem/zeitwerk@2.6.12",
            ]
        );
        assert_eq!(
            edges(&parsed),
            [
                ("pkg:gem/activesupport@7.2.0.alpha", "pkg:gem/racc@1.7.3"),
                ("pkg:gem/nokogiri@1.15.4", "pkg:gem/racc@1.7.3"),
            ]
        );
        let direct: Vec<&str> = parsed.direct.iter().map(Purl::as_str).collect();
        assert_eq!(
            direct,
            [
                "pkg:gem/activesupport@7.2.0.alpha",
                "pkg:gem/nokogiri@1.15.4",
                "pkg:gem/rake@13.1.0",
                "pkg:gem/zeitwerk@2.6.12",
            ]
        );
        let nokogiri = &parsed.components[1];
        let hexes: Vec<&str> = nokogiri.hashes.iter().map(|h| h.hex.as_str()).collect();
        assert_eq!(hexes, ["a".repeat(64), "b".repeat(64)]);
        assert!(parsed.components[0].hashes.is_empty());
    }

    #[test]
    fn malformed_lockfiles_are_errors_with_their_line() {
        let cases = [
            ("GEM\n  specs:\n    rake\n", 3),
            ("GEM\n  specs:\n    rake (13.0\n", 3),
            ("GEM\n  specs:\n      rake (>= 1)\n", 3),
            ("  rake\n", 1),
            ("GEM\n  specs:\n   rake (1.0)\n", 3),
            ("CHECKSUMS\n  rake (1.0) sha256=xyz\n", 2),
            ("gem 'rake'\n", 1),
        ];
        for (text, line) in cases {
            let error = parse_gemfile_lock("Gemfile.lock", text).unwrap_err();
            assert_eq!(error.line, Some(line), "{text:?}: {error}");
        }
    }
}
