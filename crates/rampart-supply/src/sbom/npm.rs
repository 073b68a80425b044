//! `package-lock.json` and `npm-shrinkwrap.json`.
//!
//! Lockfile v2 and v3 list every installed folder in `packages`, keyed by its
//! path (`node_modules/a/node_modules/@s/b`); the `""` entry is the project
//! and entries outside any `node_modules` are its workspace packages, so
//! neither is a component and what they depend on is direct. v1 (npm 6)
//! nests `dependencies` instead; it is flattened to the same paths. Either
//! way a dependency is found the way Node finds it: in the depender's own
//! `node_modules`, then in each enclosing one up to the project's.
//!
//! v1 does not say which packages the project itself declared, so a v1
//! lockfile yields no direct dependencies.

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::{Component, Ecosystem, Hash, HashAlg, ParseError, Parsed, Purl, Scope, json_error};

#[derive(Deserialize)]
struct Lockfile {
    packages: Option<BTreeMap<String, Entry>>,
    dependencies: Option<BTreeMap<String, V1Entry>>,
}

/// A `packages` entry (v2, v3). Dependency ranges are not needed: the lockfile
/// already resolved them to folders.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Entry {
    name: Option<String>,
    version: Option<String>,
    /// For links, the path of the folder linked to.
    resolved: Option<String>,
    integrity: Option<String>,
    link: bool,
    dev: bool,
    optional: bool,
    dev_optional: bool,
    license: Option<serde_json::Value>,
    dependencies: BTreeMap<String, IgnoredAny>,
    dev_dependencies: BTreeMap<String, IgnoredAny>,
    optional_dependencies: BTreeMap<String, IgnoredAny>,
    peer_dependencies: BTreeMap<String, IgnoredAny>,
}

/// A v1 `dependencies` entry, nesting what is installed below it.
#[derive(Deserialize, Default)]
#[serde(default)]
struct V1Entry {
    version: Option<String>,
    integrity: Option<String>,
    dev: bool,
    optional: bool,
    requires: BTreeMap<String, IgnoredAny>,
    dependencies: BTreeMap<String, V1Entry>,
}

/// One folder of the install tree, whatever the lockfile version.
struct Folder {
    /// `None` for the project, its workspace packages and links.
    component: Option<Component>,
    /// Where a link points (a key of the same tree).
    link: Option<String>,
    /// Names it depends on, to be found from its path.
    depends_on: Vec<String>,
}

pub(crate) fn parse_lock(file: &str, text: &str) -> Result<Parsed, ParseError> {
    let lock: Lockfile =
        serde_json::from_str(text).map_err(|e| json_error("package-lock.json", &e))?;
    let mut tree: HashMap<String, Folder> = HashMap::new();
    if let Some(packages) = lock.packages {
        for (path, entry) in packages {
            let folder = folder(file, &path, entry)?;
            tree.insert(path, folder);
        }
    } else if let Some(dependencies) = lock.dependencies {
        flatten_v1(file, "", dependencies, &mut tree)?;
    } else {
        return Err(ParseError::new(
            "not a package-lock.json: it has neither \"packages\" nor \"dependencies\"",
        ));
    }

    let mut parsed = Parsed::default();
    let mut paths: Vec<&String> = tree.keys().collect();
    paths.sort();
    for path in paths {
        let folder = &tree[path];
        if folder.link.is_some() {
            continue;
        }
        for name in &folder.depends_on {
            let Some(to) = find(&tree, path, name) else {
                // Not installed: a peer or optional dependency left out, or
                // one for another platform.
                continue;
            };
            match &folder.component {
                Some(from) => parsed.edges.push((from.purl.clone(), to.purl.clone())),
                None => parsed.direct.push(to.purl.clone()),
            }
        }
    }
    parsed.components = tree.into_values().filter_map(|f| f.component).collect();
    parsed.sort();
    Ok(parsed)
}

/// A `packages` entry as a folder; installed packages (under a
/// `node_modules`) with a version are components.
fn folder(file: &str, path: &str, entry: Entry) -> Result<Folder, ParseError> {
    let installed = path.starts_with("node_modules/") || path.contains("/node_modules/");
    let mut depends_on: Vec<String> = entry
        .dependencies
        .into_keys()
        .chain(entry.optional_dependencies.into_keys())
        .chain(entry.peer_dependencies.into_keys())
        .collect();
    if !installed {
        // The project and its workspace packages: their dev dependencies
        // are installed too.
        depends_on.extend(entry.dev_dependencies.into_keys());
    }
    if entry.link {
        return Ok(Folder {
            component: None,
            link: entry.resolved,
            depends_on,
        });
    }
    let component = match (&entry.version, installed) {
        (Some(version), true) => {
            let name = entry
                .name
                .as_deref()
                .unwrap_or_else(|| name_from_path(path));
            let scope = if entry.dev {
                Scope::Dev
            } else if entry.optional || entry.dev_optional {
                Scope::Optional
            } else {
                Scope::Required
            };
            let hashes = entry
                .integrity
                .as_deref()
                .map(integrity_hashes)
                .transpose()
                .map_err(|e| ParseError::new(format!("packages[{path:?}]: {e}")))?
                .unwrap_or_default();
            let licenses = entry
                .license
                .as_ref()
                .and_then(license)
                .into_iter()
                .collect();
            Some(component(file, name, version, hashes, licenses, scope))
        }
        _ => None,
    };
    Ok(Folder {
        component,
        link: None,
        depends_on,
    })
}

/// v1's nested `dependencies` as `packages`-style paths below `parent`.
fn flatten_v1(
    file: &str,
    parent: &str,
    dependencies: BTreeMap<String, V1Entry>,
    tree: &mut HashMap<String, Folder>,
) -> Result<(), ParseError> {
    for (key, entry) in dependencies {
        let path = if parent.is_empty() {
            format!("node_modules/{key}")
        } else {
            format!("{parent}/node_modules/{key}")
        };
        flatten_v1(file, &path, entry.dependencies, tree)?;
        let component = match entry.version.as_deref() {
            // Local folders are the project's own code, not packages.
            Some(version) if !version.starts_with("file:") => {
                // An alias (`"x": {"version": "npm:real@1.0.0"}`) installs
                // `real` under the name `x`.
                let (name, version) = version
                    .strip_prefix("npm:")
                    .and_then(|spec| spec.rsplit_once('@').filter(|(n, _)| !n.is_empty()))
                    .unwrap_or((&key, version));
                let scope = if entry.dev {
                    Scope::Dev
                } else if entry.optional {
                    Scope::Optional
                } else {
                    Scope::Required
                };
                let hashes = entry
                    .integrity
                    .as_deref()
                    .map(integrity_hashes)
                    .transpose()
                    .map_err(|e| ParseError::new(format!("dependencies {path:?}: {e}")))?
                    .unwrap_or_default();
                Some(component(file, name, version, hashes, Vec::new(), scope))
            }
            _ => None,
        };
        let folder = Folder {
            component,
            link: None,
            depends_on: entry.requires.into_keys().collect(),
        };
        tree.insert(path, folder);
    }
    Ok(())
}

/// An npm package as a component; pnpm and Yarn lockfiles name packages
/// the same way.
pub(crate) fn component(
    file: &str,
    name: &str,
    version: &str,
    hashes: Vec<Hash>,
    licenses: Vec<String>,
    scope: Scope,
) -> Component {
    let purl = match name.split_once('/') {
        Some((namespace, bare)) if namespace.starts_with('@') => {
            Purl::new(Ecosystem::Npm, Some(namespace), bare, version)
        }
        _ => Purl::new(Ecosystem::Npm, None, name, version),
    };
    Component {
        ecosystem: Ecosystem::Npm,
        name: name.to_string(),
        group: None,
        version: version.to_string(),
        purl,
        hashes,
        licenses,
        scope,
        supplier: None,
        source_file: file.to_string(),
    }
}

/// The package `name` as required from the folder at `from`: the nearest
/// `node_modules/name` in it or above it, links followed.
fn find<'t>(tree: &'t HashMap<String, Folder>, from: &str, name: &str) -> Option<&'t Component> {
    let mut base = from;
    loop {
        let candidate = if base.is_empty() {
            format!("node_modules/{name}")
        } else {
            format!("{base}/node_modules/{name}")
        };
        if let Some(folder) = tree.get(&candidate) {
            return match &folder.link {
                Some(target) => tree.get(target)?.component.as_ref(),
                None => folder.component.as_ref(),
            };
        }
        if base.is_empty() {
            return None;
        }
        base = base.rfind("/node_modules/").map_or("", |end| &base[..end]);
    }
}

/// The package name a path ends in (`@scope/name` included).
fn name_from_path(path: &str) -> &str {
    path.rfind("node_modules/")
        .map_or(path, |start| &path[start + "node_modules/".len()..])
}

/// A `license` field: an SPDX expression, or the old `{"type": ...}` form.
fn license(value: &serde_json::Value) -> Option<String> {
    let text = value.as_str().or_else(|| value["type"].as_str())?;
    (!text.trim().is_empty()).then(|| text.trim().to_string())
}

/// The digests of a Subresource Integrity string (`sha512-BASE64`, several
/// separated by spaces), as npm, Yarn and pnpm write them. Algorithms other
/// than SHA-1 and SHA-2 are ignored.
pub(crate) fn integrity_hashes(sri: &str) -> Result<Vec<Hash>, String> {
    let mut hashes = Vec::new();
    for token in sri.split_whitespace() {
        let Some((alg, digest)) = token.split_once('-') else {
            return Err(format!("integrity {token:?} is not ALGORITHM-BASE64"));
        };
        let (alg, len) = match alg {
            "sha1" => (HashAlg::Sha1, 20),
            "sha256" => (HashAlg::Sha256, 32),
            "sha384" => (HashAlg::Sha384, 48),
            "sha512" => (HashAlg::Sha512, 64),
            _ => continue,
        };
        // SRI allows `?options` after the digest.
        let digest = digest.split('?').next().unwrap_or(digest);
        let bytes = STANDARD
            .decode(digest)
            .ok()
            .filter(|bytes| bytes.len() == len)
            .ok_or_else(|| format!("integrity {token:?} does not hold a {alg:?} digest"))?;
        let hex = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let hash = Hash { alg, hex };
        if !hashes.contains(&hash) {
            hashes.push(hash);
        }
    }
    Ok(hashes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sbom::test_support::{direct, edges};

    fn summary(parsed: &Parsed) -> Vec<String> {
        parsed
            .components
            .iter()
            .map(|c| format!("{} {:?} [{}]", c.purl, c.scope, c.licenses.join(",")))
            .collect()
    }

    /// Two versions of `b`: one hoisted, one nested under `a`, which must
    /// resolve to its own; `c` is dev, `d` optional, `@s/e` scoped and
    /// aliased, `ws` a workspace package reached through a link.
    const V3: &str = r#"{
  "name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
  "packages": {
    "": {"name": "app", "version": "1.0.0", "workspaces": ["ws"],
         "dependencies": {"a": "^1", "b": "^2", "alias": "npm:@s/e@^3", "absent": "^1"},
         "devDependencies": {"c": "^1"}, "optionalDependencies": {"d": "^1"}},
    "ws": {"name": "ws", "version": "0.0.1", "dependencies": {"b": "^2"}},
    "node_modules/ws": {"resolved": "ws", "link": true},
    "node_modules/a": {"version": "1.0.0", "license": "MIT",
        "integrity": "sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk= sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==",
        "dependencies": {"b": "^1", "peer-missing": "*"}, "peerDependencies": {"peer-missing": "*"}},
    "node_modules/a/node_modules/b": {"version": "1.5.0", "license": {"type": "ISC"}},
    "node_modules/b": {"version": "2.0.0", "dependencies": {"ws": "*"}},
    "node_modules/c": {"version": "1.0.0", "dev": true, "dependencies": {"b": "^2"}},
    "node_modules/d": {"version": "1.0.0", "optional": true},
    "node_modules/alias": {"name": "@s/e", "version": "3.1.0", "devOptional": true},
    "node_modules/unversioned": {}
  }
}"#;

    #[test]
    fn v3_nested_versions_scopes_aliases_and_workspaces() {
        let parsed = parse_lock("package-lock.json", V3).expect("parses");
        assert_eq!(
            summary(&parsed),
            [
                "pkg:npm/%40s/e@3.1.0 Optional []",
                "pkg:npm/a@1.0.0 Required [MIT]",
                "pkg:npm/b@1.5.0 Required [ISC]",
                "pkg:npm/b@2.0.0 Required []",
                "pkg:npm/c@1.0.0 Dev []",
                "pkg:npm/d@1.0.0 Optional []",
            ]
        );
        assert_eq!(
            edges(&parsed),
            [
                ("pkg:npm/a@1.0.0", "pkg:npm/b@1.5.0"),
                ("pkg:npm/c@1.0.0", "pkg:npm/b@2.0.0"),
            ]
        );
        assert_eq!(
            direct(&parsed),
            [
                "pkg:npm/%40s/e@3.1.0",
                "pkg:npm/a@1.0.0",
                "pkg:npm/b@2.0.0",
                "pkg:npm/c@1.0.0",
                "pkg:npm/d@1.0.0",
            ]
        );
        let a = &parsed.components[1];
        assert_eq!(
            a.hashes,
            [
                Hash {
                    alg: HashAlg::Sha1,
                    hex: "da39a3ee5e6b4b0d3255bfef95601890afd80709".into()
                },
                Hash {
                    alg: HashAlg::Sha512,
                    hex: "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e".into()
                },
            ]
        );
    }

    #[test]
    fn v1_nested_dependencies_resolve_the_same_way() {
        let text = r#"{
  "name": "app", "version": "1.0.0", "lockfileVersion": 1, "requires": true,
  "dependencies": {
    "a": {"version": "1.0.0", "requires": {"b": "^1"},
          "dependencies": {"b": {"version": "1.5.0", "requires": {"@s/e": "^3"}}}},
    "b": {"version": "2.0.0", "dev": true},
    "@s/e": {"version": "3.0.0", "optional": true},
    "alias": {"version": "npm:@s/e@3.1.0"},
    "local": {"version": "file:../local"}
  }
}"#;
        let parsed = parse_lock("package-lock.json", text).expect("parses");
        assert_eq!(
            summary(&parsed),
            [
                "pkg:npm/%40s/e@3.0.0 Optional []",
                "pkg:npm/%40s/e@3.1.0 Required []",
                "pkg:npm/a@1.0.0 Required []",
                "pkg:npm/b@1.5.0 Required []",
                "pkg:npm/b@2.0.0 Dev []",
            ]
        );
        assert_eq!(
            edges(&parsed),
            [
                ("pkg:npm/a@1.0.0", "pkg:npm/b@1.5.0"),
                ("pkg:npm/b@1.5.0", "pkg:npm/%40s/e@3.0.0"),
            ]
        );
        assert!(parsed.direct.is_empty());
    }

    #[test]
    fn v2_prefers_packages_over_the_v1_section() {
        let text = r#"{"lockfileVersion": 2,
  "packages": {"": {"dependencies": {"x": "1"}}, "node_modules/x": {"version": "1.0.0"}},
  "dependencies": {"x": {"version": "9.9.9"}}}"#;
        let parsed = parse_lock("npm-shrinkwrap.json", text).expect("parses");
        assert_eq!(summary(&parsed), ["pkg:npm/x@1.0.0 Required []"]);
        assert_eq!(direct(&parsed), ["pkg:npm/x@1.0.0"]);
        assert_eq!(parsed.components[0].source_file, "npm-shrinkwrap.json");
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let error = parse_lock("package-lock.json", "{\n  \"packages\": {\n    \"\": [}\n}")
            .expect_err("not JSON");
        assert_eq!(error.line, Some(3));
        assert!(!error.message.contains("at line"), "{}", error.message);

        let error = parse_lock(
            "package-lock.json",
            "{\"packages\": {\"node_modules/a\": {\"version\": 1}}}",
        )
        .expect_err("a version is a string");
        assert_eq!(error.line, Some(1));

        assert!(parse_lock("package-lock.json", "[]").is_err());
        assert!(parse_lock("package-lock.json", "{}").is_err());
        assert!(parse_lock("package-lock.json", "").is_err());

        let text =
            r#"{"packages": {"node_modules/a": {"version": "1.0.0", "integrity": "sha512-!!"}}}"#;
        let error = parse_lock("package-lock.json", text).expect_err("bad digest");
        assert!(
            error.message.contains("node_modules/a"),
            "{}",
            error.message
        );

        let deep = format!(
            "{{\"dependencies\": {}{}}}",
            "{\"a\": {\"dependencies\": ".repeat(10_000),
            "}}".repeat(10_000)
        );
        assert!(parse_lock("package-lock.json", &deep).is_err());
    }

    #[test]
    fn integrity_ignores_unknown_algorithms_and_options() {
        let hashes =
            integrity_hashes("md5-xxxx sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=?foo")
                .expect("valid");
        assert_eq!(
            hashes,
            [Hash {
                alg: HashAlg::Sha256,
                hex: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into()
            }]
        );
        assert!(integrity_hashes("sha1-AAAA").is_err());
        assert!(integrity_hashes("nodash").is_err());
    }
}
