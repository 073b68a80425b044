//! `yarn.lock`: Yarn classic (v1, its own indented format) and Yarn berry
//! (2 to 4, YAML with `__metadata`).
//!
//! Each entry is keyed by the descriptors (`name@range`, comma-separated)
//! that resolved to it, and lists its dependencies as name → range, so a
//! dependency is found by the descriptor `name@range` it forms. Berry
//! writes ranges with their protocol (`npm:^1.0.0`); a range without one
//! is looked up with `npm:` too.
//!
//! Aliases (`string-width-cjs@npm:string-width@^4`) are the package they
//! alias. Berry's `patch:` entries (a package with Yarn's compatibility
//! patch, like `fsevents@patch:fsevents@npm%3A2.3.3#...`) are the same
//! package and version as the npm entry beside them: one component.
//! `workspace:` entries are the project and its workspace packages, and
//! `file:`, `link:` and `portal:` ones are directories of this repository:
//! none of them are components; what workspaces depend on is direct.
//!
//! Neither version says which dependencies are dev ones (berry merges a
//! workspace's `devDependencies` into its `dependencies`; v1 does not list
//! the project at all). When the `package.json` beside the lockfile is
//! given, its lists are the roots: reachable only from `devDependencies`
//! is dev, and its dependencies are the direct ones. Without it, everything
//! is required, and a v1 lockfile has no direct dependencies.
//!
//! Optional scope, as npm gives it: a package the roots reach only through
//! optional edges (`optionalDependencies`, or berry's `dependenciesMeta`
//! with `optional: true`) is optional. Which roots exist decides it too: a
//! v1 lockfile without its `package.json` has none, and all is required.
//!
//! Hashes: v1's `integrity` (SRI) and the SHA-1 in the `resolved` URL's
//! fragment are digests of the npm tarball. Berry's `checksum` is a digest
//! of Yarn's own cache zip, not of anything the registry serves, so it is
//! not recorded.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::npm::{component, integrity_hashes};
use super::yaml::{entries, get, get_text, load, text as yaml_text};
use super::{Component, Hash, HashAlg, ParseError, Parsed, Purl, Roots, Scope};

/// One lockfile entry, whichever version wrote it.
#[derive(Default)]
struct Entry {
    descriptors: Vec<String>,
    name: String,
    version: String,
    hashes: Vec<Hash>,
    /// A `workspace:` entry: the project or one of its packages.
    workspace: bool,
    /// A directory of this repository (`file:`, `link:`, `portal:`).
    local: bool,
    /// Berry's root workspace (`workspace:.`).
    root: bool,
    /// `dependencies` and `optionalDependencies`.
    depends_on: Vec<Dependency>,
}

/// One dependency of a lockfile entry, as the lockfile writes it.
struct Dependency {
    name: String,
    range: String,
    /// Installing may fail or be skipped without failing the install.
    optional: bool,
}

/// What the project's `package.json` declares.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Manifest {
    dependencies: BTreeMap<String, String>,
    dev_dependencies: BTreeMap<String, String>,
    optional_dependencies: BTreeMap<String, String>,
}

/// Reads a `yarn.lock` on its own.
pub(crate) fn parse_lock(file: &str, text: &str) -> Result<Parsed, ParseError> {
    parse_with_manifest(file, text, None)
}

/// Reads a `yarn.lock` with the text of the `package.json` beside it.
pub(crate) fn parse_with_manifest(
    file: &str,
    text: &str,
    manifest: Option<&str>,
) -> Result<Parsed, ParseError> {
    let entries = if text.lines().any(|line| line.starts_with("__metadata:")) {
        berry(text)?
    } else {
        classic(text)?
    };
    let manifest = manifest
        .map(|text| {
            serde_json::from_str::<Manifest>(text).map_err(|e| {
                ParseError::new(format!("the package.json beside it is not readable: {e}"))
            })
        })
        .transpose()?;
    Ok(build(file, &entries, manifest.as_ref()))
}

fn build(file: &str, entries: &[Entry], manifest: Option<&Manifest>) -> Parsed {
    let mut by_descriptor: HashMap<&str, &Entry> = HashMap::new();
    for entry in entries {
        for descriptor in &entry.descriptors {
            by_descriptor.insert(descriptor, entry);
        }
    }
    let resolve = |name: &str, range: &str| -> Option<Purl> {
        let entry = by_descriptor
            .get(format!("{name}@{range}").as_str())
            .or_else(|| by_descriptor.get(format!("{name}@npm:{range}").as_str()))?;
        (!entry.workspace && !entry.local).then(|| purl(file, entry))
    };

    let mut roots = Roots::default();
    for entry in entries.iter().filter(|e| e.workspace) {
        // The root workspace's lists are the manifest's, when it is known.
        if entry.root && manifest.is_some() {
            continue;
        }
        for dependency in &entry.depends_on {
            let kind = if dependency.optional {
                &mut roots.optional
            } else {
                &mut roots.required
            };
            kind.extend(resolve(&dependency.name, &dependency.range));
        }
    }
    if let Some(manifest) = manifest {
        let lists = [
            (&manifest.dependencies, &mut roots.required),
            (&manifest.optional_dependencies, &mut roots.optional),
            (&manifest.dev_dependencies, &mut roots.dev),
        ];
        for (list, kind) in lists {
            kind.extend(list.iter().filter_map(|(name, range)| resolve(name, range)));
        }
    }

    let mut parsed = Parsed::default();
    let mut required_edges = Vec::new();
    let mut components: BTreeMap<Purl, Component> = BTreeMap::new();
    for entry in entries.iter().filter(|e| !e.workspace && !e.local) {
        let found = component(
            file,
            &entry.name,
            &entry.version,
            entry.hashes.clone(),
            Vec::new(),
            Scope::Required,
        );
        for dependency in &entry.depends_on {
            if let Some(to) = resolve(&dependency.name, &dependency.range) {
                let edge = (found.purl.clone(), to);
                if !dependency.optional {
                    required_edges.push(edge.clone());
                }
                parsed.edges.push(edge);
            }
        }
        Component::add_to(found, &mut components);
    }
    parsed.components = components.into_values().collect();
    roots.assign_scopes(&mut parsed.components, &parsed.edges, &required_edges);
    parsed.direct = roots.into_direct();
    parsed.sort();
    parsed
}

fn purl(file: &str, entry: &Entry) -> Purl {
    component(
        file,
        &entry.name,
        &entry.version,
        Vec::new(),
        Vec::new(),
        Scope::Required,
    )
    .purl
}

/// `name` and `range` of a descriptor; a scope's `@` is the first
/// character, so the separator is the next one.
fn split_descriptor(descriptor: &str) -> Option<(&str, &str)> {
    let at = descriptor.get(1..)?.find('@')? + 1;
    Some((&descriptor[..at], &descriptor[at + 1..]))
}

/// The package an npm alias range (`npm:string-width@^4.2.0`) names.
fn alias_target(range: &str) -> Option<&str> {
    let target = range.strip_prefix("npm:")?;
    split_descriptor(target).map(|(name, _)| name)
}

/// Reads Yarn classic's format.
fn classic(text: &str) -> Result<Vec<Entry>, ParseError> {
    let mut entries: Vec<Entry> = Vec::new();
    // Which indented block the current line belongs to.
    let mut block: Option<String> = None;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw.trim_end();
        let content = line.trim_start();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = line.len() - content.len();
        match indent {
            0 => {
                let header = content
                    .strip_suffix(':')
                    .ok_or_else(|| ParseError::at(number, "an entry's descriptors end with ':'"))?;
                let descriptors: Vec<String> = header
                    .split(", ")
                    .map(|d| unquote(d.trim()).to_string())
                    .collect();
                let first = descriptors.first().map(String::as_str).unwrap_or_default();
                let (name, range) = split_descriptor(first).ok_or_else(|| {
                    ParseError::at(number, format!("{first:?} is not NAME@RANGE"))
                })?;
                let local = ["file:", "link:", "portal:"]
                    .iter()
                    .any(|p| range.starts_with(p));
                entries.push(Entry {
                    name: alias_target(range).unwrap_or(name).to_string(),
                    local,
                    descriptors,
                    ..Entry::default()
                });
                block = None;
            }
            2 => {
                let entry = entries
                    .last_mut()
                    .ok_or_else(|| ParseError::at(number, "a field before any entry"))?;
                if let Some(name) = content.strip_suffix(':') {
                    block = Some(name.to_string());
                    continue;
                }
                block = None;
                let (key, value) = key_value(content)
                    .ok_or_else(|| ParseError::at(number, "a field without its value"))?;
                match key {
                    "version" => entry.version = value.to_string(),
                    "integrity" => {
                        for hash in
                            integrity_hashes(value).map_err(|e| ParseError::at(number, e))?
                        {
                            add_hash(&mut entry.hashes, hash);
                        }
                    }
                    "resolved" => {
                        if let Some(hash) = resolved_sha1(value) {
                            add_hash(&mut entry.hashes, hash);
                        }
                    }
                    _ => {}
                }
            }
            4 => {
                let entry = entries
                    .last_mut()
                    .ok_or_else(|| ParseError::at(number, "a dependency before any entry"))?;
                let (name, range) = key_value(content)
                    .ok_or_else(|| ParseError::at(number, "a dependency without its range"))?;
                let optional = match block.as_deref() {
                    Some("dependencies") => false,
                    Some("optionalDependencies") => true,
                    _ => continue,
                };
                entry.depends_on.push(Dependency {
                    name: name.to_string(),
                    range: range.to_string(),
                    optional,
                });
            }
            _ => return Err(ParseError::at(number, "unexpected indentation")),
        }
    }
    if let Some(entry) = entries.iter().find(|e| e.version.is_empty() && !e.local) {
        return Err(ParseError::new(format!(
            "the entry {:?} has no version",
            entry.descriptors.join(", ")
        )));
    }
    Ok(entries)
}

/// `key value` or `"key" "value"`, either side quoted or not.
fn key_value(content: &str) -> Option<(&str, &str)> {
    let (key, rest) = if let Some(quoted) = content.strip_prefix('"') {
        let end = quoted.find('"')?;
        (&quoted[..end], &quoted[end + 1..])
    } else {
        content.split_at(content.find(' ')?)
    };
    let value = unquote(rest.trim());
    (!value.is_empty()).then_some((key, value))
}

fn unquote(text: &str) -> &str {
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text)
}

/// The SHA-1 npm's registry puts after `#` in a tarball URL.
fn resolved_sha1(url: &str) -> Option<Hash> {
    let (_, fragment) = url.rsplit_once('#')?;
    (fragment.len() == 40 && fragment.bytes().all(|b| b.is_ascii_hexdigit())).then(|| Hash {
        alg: HashAlg::Sha1,
        hex: fragment.to_ascii_lowercase(),
    })
}

fn add_hash(hashes: &mut Vec<Hash>, hash: Hash) {
    if !hashes.contains(&hash) {
        hashes.push(hash);
    }
}

/// Reads a berry lockfile.
fn berry(text: &str) -> Result<Vec<Entry>, ParseError> {
    let root = load(text)?;
    let mut out = Vec::new();
    for (key, node) in entries(Some(&root), "the lockfile")? {
        if key == "__metadata" {
            continue;
        }
        let resolution = get_text(node, "resolution")
            .ok_or_else(|| ParseError::new(format!("{key}: no resolution")))?;
        let (name, reference) = split_descriptor(&resolution).ok_or_else(|| {
            ParseError::new(format!(
                "{key}: resolution {resolution:?} is not NAME@REFERENCE"
            ))
        })?;
        let version = get_text(node, "version")
            .ok_or_else(|| ParseError::new(format!("{key}: no version")))?;
        let meta = format!("{key}: dependenciesMeta");
        let optional_by_meta: Vec<String> = entries(get(node, "dependenciesMeta"), &meta)?
            .into_iter()
            .filter(|(_, flags)| get_text(flags, "optional").as_deref() == Some("true"))
            .map(|(ident, _)| ident.into_owned())
            .collect();
        let mut depends_on = Vec::new();
        for list in ["dependencies", "optionalDependencies"] {
            for (dependency, range) in entries(get(node, list), &format!("{key}: {list}"))? {
                let range = yaml_text(range).ok_or_else(|| {
                    ParseError::new(format!("{key}: {list}: {dependency} has no range"))
                })?;
                let optional = list == "optionalDependencies"
                    || optional_by_meta.iter().any(|ident| *ident == dependency);
                depends_on.push(Dependency {
                    name: dependency.into_owned(),
                    range: range.into_owned(),
                    optional,
                });
            }
        }
        out.push(Entry {
            descriptors: key.split(", ").map(str::to_string).collect(),
            name: name.to_string(),
            version: version.into_owned(),
            hashes: Vec::new(),
            workspace: reference.starts_with("workspace:"),
            local: ["file:", "link:", "portal:"]
                .iter()
                .any(|p| reference.starts_with(p)),
            root: reference == "workspace:.",
            depends_on,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(parsed: &Parsed) -> Vec<(String, Scope, usize)> {
        parsed
            .components
            .iter()
            .map(|c| (c.purl.to_string(), c.scope, c.hashes.len()))
            .collect()
    }

    const CLASSIC: &str = r#"# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


"@babel/code-frame@^7.0.0", "@babel/code-frame@^7.10.4":
  version "7.29.17"
  resolved "https://registry.yarnpkg.com/@babel/code-frame/-/code-frame-7.29.17.tgz#3a627119ecce63a24a9c2aca5eec7255365bbfed"
  integrity sha512-IdlVpcDeoDATtN2cfmnVk0A4XJKhu7SlpGuSaiOFdko09YC1MD07WokWUSEdw5R2o4o8VObX2LzViQW6VXnzkA==
  dependencies:
    js-tokens "^4.0.0"

js-tokens@^4.0.0:
  version "4.0.0"
  resolved "https://registry.yarnpkg.com/js-tokens/-/js-tokens-4.0.0.tgz#19203fb59991df98e3a287050d4647cdeaf32499"

"string-width-cjs@npm:string-width@^4.2.0":
  version "4.2.3"
  resolved "https://registry.yarnpkg.com/string-width/-/string-width-4.2.3.tgz#269c7117d27b05ad2e536830a8ec895ef9c6d010"
  optionalDependencies:
    js-tokens "^4.0.0"

"local@file:../local":
  version "1.0.0"
"#;

    #[test]
    fn classic_entries_aliases_hashes_and_the_manifest() {
        let parsed = parse_lock("yarn.lock", CLASSIC).expect("parses");
        assert_eq!(
            summary(&parsed),
            [
                (
                    "pkg:npm/%40babel/code-frame@7.29.17".to_string(),
                    Scope::Required,
                    2
                ),
                ("pkg:npm/js-tokens@4.0.0".to_string(), Scope::Required, 1),
                ("pkg:npm/string-width@4.2.3".to_string(), Scope::Required, 1),
            ]
        );
        assert!(parsed.direct.is_empty(), "v1 alone does not say");
        assert_eq!(parsed.edges.len(), 2);

        let manifest = r#"{"dependencies": {"string-width-cjs": "npm:string-width@^4.2.0"},
                           "devDependencies": {"@babel/code-frame": "^7.10.4"}}"#;
        let parsed = parse_with_manifest("yarn.lock", CLASSIC, Some(manifest)).expect("parses");
        let scopes: Vec<Scope> = parsed.components.iter().map(|c| c.scope).collect();
        // js-tokens is string-width's optional dependency too: not dev-only
        // but optional, as npm marks it (`devOptional`).
        assert_eq!(scopes, [Scope::Dev, Scope::Optional, Scope::Required]);
        assert_eq!(parsed.direct.len(), 2);
    }

    #[test]
    fn berry_workspaces_patches_and_no_checksum_hashes() {
        let berry = r#"# This file is generated by running "yarn install" inside your project.

__metadata:
  version: 8
  cacheKey: 10c0

"app@workspace:.":
  version: 0.0.0-use.local
  resolution: "app@workspace:."
  dependencies:
    fsevents: "npm:~2.3.2"
    lib: "workspace:packages/lib"
  dependenciesMeta:
    fsevents:
      optional: true
  languageName: unknown
  linkType: soft

"lib@workspace:packages/lib":
  version: 0.0.0-use.local
  resolution: "lib@workspace:packages/lib"
  dependencies:
    ms: "npm:^2.1.3"
  languageName: unknown
  linkType: soft

"fsevents@npm:~2.3.2":
  version: 2.3.3
  resolution: "fsevents@npm:2.3.3"
  checksum: 10c0/a1f0c44595123ed717febbc478aa952e47adfc28e2092be66b8ab1635147254ca6cfe1df792a8997f22716d4cbafc73309899ff7bfac2ac3ad8cf2e4ecc3ec60
  languageName: node
  linkType: hard

"fsevents@patch:fsevents@npm%3A~2.3.2#optional!builtin<compat/fsevents>":
  version: 2.3.3
  resolution: "fsevents@patch:fsevents@npm%3A2.3.3#optional!builtin<compat/fsevents>::version=2.3.3&hash=df0bf1"
  dependencies:
    ms: "npm:^2.1.3"
  languageName: node
  linkType: hard

"ms@npm:^2.1.3":
  version: 2.1.3
  resolution: "ms@npm:2.1.3"
  languageName: node
  linkType: hard
"#;
        let parsed = parse_lock("yarn.lock", berry).expect("parses");
        assert_eq!(
            summary(&parsed),
            [
                ("pkg:npm/fsevents@2.3.3".to_string(), Scope::Optional, 0),
                ("pkg:npm/ms@2.1.3".to_string(), Scope::Required, 0),
            ]
        );
        let direct: Vec<&str> = parsed.direct.iter().map(Purl::as_str).collect();
        assert_eq!(direct, ["pkg:npm/fsevents@2.3.3", "pkg:npm/ms@2.1.3"]);
        assert_eq!(
            parsed.edges.len(),
            1,
            "the patch's edge, on the one component"
        );

        let manifest = r#"{"devDependencies": {"fsevents": "~2.3.2"}}"#;
        let parsed = parse_with_manifest("yarn.lock", berry, Some(manifest)).expect("parses");
        let scopes: Vec<Scope> = parsed.components.iter().map(|c| c.scope).collect();
        // ms is also the lib workspace's: not dev-only.
        assert_eq!(scopes, [Scope::Dev, Scope::Required]);

        // The manifest's plain dependency outranks the lockfile's meta.
        let manifest = r#"{"dependencies": {"fsevents": "~2.3.2"}}"#;
        let parsed = parse_with_manifest("yarn.lock", berry, Some(manifest)).expect("parses");
        let scopes: Vec<Scope> = parsed.components.iter().map(|c| c.scope).collect();
        assert_eq!(scopes, [Scope::Required, Scope::Required]);
    }

    #[test]
    fn bad_input_is_an_error_with_its_line() {
        let message = |text: &str| parse_lock("yarn.lock", text).expect_err(text).to_string();
        assert_eq!(
            message("a@1\n"),
            "line 1: an entry's descriptors end with ':'"
        );
        assert_eq!(
            message("  version \"1\"\n"),
            "line 1: a field before any entry"
        );
        assert_eq!(
            message("nope:\n  version \"1\"\n"),
            "line 1: \"nope\" is not NAME@RANGE"
        );
        assert_eq!(
            message("a@1:\n   version \"1\"\n"),
            "line 2: unexpected indentation"
        );
        assert_eq!(
            message("a@1:\n  version\n"),
            "line 2: a field without its value"
        );
        assert!(message("a@1:\n  resolved \"x\"\n").contains("no version"));
        assert!(message("a@1:\n  version \"1\"\n  integrity sha512-!!\n").starts_with("line 3:"));
        assert!(
            message("__metadata:\n  version: 8\nx@npm:1:\n  version: 1\n")
                .contains("no resolution")
        );
        assert!(message("__metadata: [\n").starts_with("line "));
        assert!(
            message("__metadata:\n  version: 8\nx@npm:1:\n  version: 1\n  resolution: x@npm:1\n  dependenciesMeta: [1]\n")
                .contains("dependenciesMeta is not a mapping")
        );
        let manifest = parse_with_manifest("yarn.lock", "a@1:\n  version \"1\"\n", Some("[1"));
        assert!(
            manifest
                .expect_err("bad json")
                .to_string()
                .contains("package.json")
        );
    }
}
