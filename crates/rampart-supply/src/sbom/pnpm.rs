//! `pnpm-lock.yaml`, lockfile versions 5.x (pnpm 6, 7), 6.0 (pnpm 8) and
//! 9.0 (pnpm 9, 10).
//!
//! `packages` lists every package once per set of peer dependencies it was
//! resolved with; the key says which (`/name/1.0.0_peer@2.0.0` in 5.x,
//! `/name@1.0.0(peer@2.0.0)` in 6.0, `name@1.0.0(peer@2.0.0)` in 9.0, which
//! moves the dependency lists to `snapshots` and keeps only metadata in
//! `packages`). Every peer variant of a package is the same code, so they
//! are one component whose edges are the union of the variants'.
//!
//! `importers` are the project and its workspace packages (5.x and 6.0
//! lockfiles of a single project have their lists at the top level
//! instead): not components; what they depend on is direct. A dependency
//! written `link:PATH` is another workspace package, not a component.
//! Packages resolved from a local `directory` are code of this repository,
//! not components either. Tarball and git resolutions are components with
//! the name and version pnpm recorded.
//!
//! Scope is computed, the same way for every version (9.0 has no `dev`
//! flag): reachable from an importer's `dependencies` or
//! `optionalDependencies` is required (optional where pnpm marks the
//! package `optional`), reachable only from `devDependencies` is dev.
//! `resolution.integrity` is the npm tarball's SRI digest.

use std::collections::{BTreeMap, HashMap};

use saphyr::Yaml;

use super::npm::{component, integrity_hashes};
use super::yaml::{entries, get, get_text, load, text};
use super::{Hash, ParseError, Parsed, Purl, Scope, dev_only};

/// Which key syntax the lockfile uses.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    /// 5.x: `/name/version_peers`.
    V5,
    /// 6.0: `/name@version(peers)`.
    V6,
    /// 9.0: `name@version(peers)`, graph in `snapshots`.
    V9,
}

/// The dependency lists an importer or a package has.
const PROD_LISTS: &[&str] = &["dependencies", "optionalDependencies"];

/// One package@version, whatever its peer variants.
struct Package {
    name: String,
    version: String,
    hashes: Vec<Hash>,
    optional: bool,
    /// Resolved from a directory of this repository.
    local: bool,
    /// (dependency name, reference as the lockfile writes it).
    depends_on: Vec<(String, String)>,
}

pub(crate) fn parse_lock(file: &str, text: &str) -> Result<Parsed, ParseError> {
    let root = load(text)?;
    let flavor = flavor(&root)?;
    let mut packages: BTreeMap<(String, String), Package> = BTreeMap::new();
    // A key without its peer suffix → (name, version).
    let mut index: HashMap<String, (String, String)> = HashMap::new();

    for (key, entry) in entries(get(&root, "packages"), "packages")? {
        let bare = strip_peers(flavor, &key);
        let (name, version) = match (get_text(entry, "name"), get_text(entry, "version")) {
            (Some(name), Some(version)) => (name.into_owned(), version.into_owned()),
            _ => split_key(flavor, bare)
                .ok_or_else(|| ParseError::new(format!("package key {key:?} has no version")))?,
        };
        index.insert(bare.to_string(), (name.clone(), version.clone()));
        let resolution = get(entry, "resolution");
        let hashes = match resolution.and_then(|r| get_text(r, "integrity")) {
            Some(sri) => {
                integrity_hashes(&sri).map_err(|e| ParseError::new(format!("{key}: {e}")))?
            }
            None => Vec::new(),
        };
        let local = resolution.and_then(|r| get_text(r, "type")).as_deref() == Some("directory");
        let package = packages
            .entry((name.clone(), version.clone()))
            .or_insert_with(|| Package {
                name,
                version,
                hashes: Vec::new(),
                optional: false,
                local,
                depends_on: Vec::new(),
            });
        for hash in hashes {
            if !package.hashes.contains(&hash) {
                package.hashes.push(hash);
            }
        }
        package.optional |= get_text(entry, "optional").as_deref() == Some("true");
        if flavor != Flavor::V9 {
            package
                .depends_on
                .extend(dependency_list(entry, PROD_LISTS, &key)?);
        }
    }
    if flavor == Flavor::V9 {
        for (key, snapshot) in entries(get(&root, "snapshots"), "snapshots")? {
            let found = index.get(strip_peers(flavor, &key)).ok_or_else(|| {
                ParseError::new(format!("snapshot {key:?} has no entry in packages"))
            })?;
            if let Some(package) = packages.get_mut(found) {
                package.optional |= get_text(snapshot, "optional").as_deref() == Some("true");
                package
                    .depends_on
                    .extend(dependency_list(snapshot, PROD_LISTS, &key)?);
            }
        }
    }

    let resolve = |name: &str, reference: &str| -> Option<&Package> {
        if reference.starts_with("link:") {
            return None;
        }
        let bare = strip_peers(flavor, reference);
        let key = match flavor {
            Flavor::V5 => format!("/{name}/{bare}"),
            Flavor::V6 => format!("/{name}@{bare}"),
            Flavor::V9 => format!("{name}@{bare}"),
        };
        // An alias (`npm:other@1`) or a tarball or git dependency names
        // its package's key itself.
        index
            .get(&key)
            .or_else(|| index.get(bare))
            .and_then(|found| packages.get(found))
            .filter(|package| !package.local)
    };

    let mut parsed = Parsed::default();
    let mut prod_roots = Vec::new();
    let mut dev_roots = Vec::new();
    for (path, importer) in importers(&root, flavor)? {
        for (name, reference) in dependency_list(importer, PROD_LISTS, &path)? {
            prod_roots.extend(resolve(&name, &reference));
        }
        for (name, reference) in dependency_list(importer, &["devDependencies"], &path)? {
            dev_roots.extend(resolve(&name, &reference));
        }
    }
    let purl = |p: &Package| {
        component(
            file,
            &p.name,
            &p.version,
            Vec::new(),
            Vec::new(),
            Scope::Required,
        )
        .purl
    };
    let prod_roots: Vec<Purl> = prod_roots.into_iter().map(purl).collect();
    let dev_roots: Vec<Purl> = dev_roots.into_iter().map(purl).collect();
    for package in packages.values().filter(|p| !p.local) {
        for (name, reference) in &package.depends_on {
            if let Some(to) = resolve(name, reference) {
                parsed.edges.push((purl(package), purl(to)));
            }
        }
    }
    let dev = dev_only(&parsed.edges, &prod_roots, &dev_roots);
    parsed.direct = prod_roots.into_iter().chain(dev_roots).collect();

    for package in packages.values().filter(|p| !p.local) {
        let mut found = component(
            file,
            &package.name,
            &package.version,
            package.hashes.clone(),
            Vec::new(),
            Scope::Required,
        );
        if dev.contains(&found.purl) {
            found.scope = Scope::Dev;
        } else if package.optional {
            found.scope = Scope::Optional;
        }
        parsed.components.push(found);
    }
    parsed.sort();
    Ok(parsed)
}

/// The key syntax, from `lockfileVersion`.
fn flavor(root: &Yaml<'_>) -> Result<Flavor, ParseError> {
    let version = get_text(root, "lockfileVersion")
        .ok_or_else(|| ParseError::new("not a pnpm-lock.yaml: it has no lockfileVersion"))?;
    match version.split('.').next() {
        Some("5") => Ok(Flavor::V5),
        Some("6") => Ok(Flavor::V6),
        Some("9") => Ok(Flavor::V9),
        _ => Err(ParseError::new(format!(
            "lockfileVersion {version} is not one Rampart reads (5.x, 6.0 and 9.0: pnpm 6 to 10)"
        ))),
    }
}

/// (path, node holding the dependency lists) of the project and its
/// workspace packages.
fn importers<'a, 'i>(
    root: &'a Yaml<'i>,
    flavor: Flavor,
) -> Result<Vec<(String, &'a Yaml<'i>)>, ParseError> {
    match get(root, "importers") {
        Some(importers) => Ok(entries(Some(importers), "importers")?
            .into_iter()
            .map(|(path, node)| (path.into_owned(), node))
            .collect()),
        None if flavor == Flavor::V9 => Err(ParseError::new(
            "a 9.0 pnpm-lock.yaml without importers: the project's dependencies are unknown",
        )),
        None => Ok(vec![(".".to_string(), root)]),
    }
}

/// The (name, reference) pairs of `lists` in `node`. References are
/// strings (`1.2.3`, `link:../x`) or, in importers from 6.0 on, mappings
/// with `specifier` and `version`.
fn dependency_list(
    node: &Yaml<'_>,
    lists: &[&str],
    owner: &str,
) -> Result<Vec<(String, String)>, ParseError> {
    let mut out = Vec::new();
    for list in lists {
        for (name, value) in entries(get(node, list), &format!("{owner}: {list}"))? {
            let reference = text(value)
                .or_else(|| get_text(value, "version"))
                .ok_or_else(|| {
                    ParseError::new(format!("{owner}: {list}: {name} has no version"))
                })?;
            out.push((name.into_owned(), reference.into_owned()));
        }
    }
    Ok(out)
}

/// A key or reference without the peer-dependency suffix.
fn strip_peers(flavor: Flavor, key: &str) -> &str {
    match flavor {
        // The suffix follows the version, the last `/` segment; peers in
        // it are written `@scope+name@1.0.0`, without a `/`.
        Flavor::V5 => {
            let segment_start = key.rfind('/').map_or(0, |i| i + 1);
            match key[segment_start..].find('_') {
                Some(i) => &key[..segment_start + i],
                None => key,
            }
        }
        Flavor::V6 | Flavor::V9 => key.split('(').next().unwrap_or(key),
    }
}

/// (name, version) from a key without its peer suffix.
fn split_key(flavor: Flavor, bare: &str) -> Option<(String, String)> {
    let key = bare.strip_prefix('/').unwrap_or(bare);
    let (name, version) = match flavor {
        Flavor::V5 => key.rsplit_once('/')?,
        // The `@` after the name: a scope's `@` is the first character.
        Flavor::V6 | Flavor::V9 => {
            let at = key.get(1..)?.find('@')? + 1;
            (&key[..at], &key[at + 1..])
        }
    };
    (!name.is_empty() && !version.is_empty()).then(|| (name.to_string(), version.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sbom::test_support::edges;

    fn purls(parsed: &Parsed) -> Vec<(String, Scope)> {
        parsed
            .components
            .iter()
            .map(|c| (c.purl.to_string(), c.scope))
            .collect()
    }

    const V9_WORKSPACE: &str = r#"lockfileVersion: '9.0'

importers:

  .:
    dependencies:
      react-dom:
        specifier: ^18.2.0
        version: 18.2.0(react@18.2.0)
      shared:
        specifier: workspace:*
        version: link:packages/shared
    devDependencies:
      '@types/node':
        specifier: ^20
        version: 20.1.0

  packages/shared:
    dependencies:
      react:
        specifier: ^18.2.0
        version: 18.2.0
      string-width-cjs:
        specifier: npm:string-width@^4.2.0
        version: string-width@4.2.3

packages:

  '@types/node@20.1.0':
    resolution: {integrity: sha512-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==}

  loose-envify@1.4.0:
    resolution: {integrity: sha512-lyuxPGr/Wfhrlem2CL/UcnUc1zcqKAImBDzukY7Y5F/yQiNdko6+fRLevlw1HgMySw7f611UIY408EtxRSoK3Q==}

  react-dom@18.2.0:
    resolution: {integrity: sha512-6IMTriUmvsjHUjNtEDudZfuDQUoWXVxKHhlEGSk81n4YFS+r/Kl99wXiwlVXtPBtJenozv2P+hxDsw9eA7Xo6g==}
    peerDependencies:
      react: ^18.2.0

  react@18.2.0:
    resolution: {integrity: sha512-/3IjMdb2L9QbBdWiW5e3P2/npwMBaU9mHCSCUzNln0ZCYbcfTsGbTJrU/kGemdH2IWmB2ioZ+zkxtmq6g09fGQ==}

  string-width@4.2.3:
    resolution: {integrity: sha512-wKyQRQpjJ0sIp62ErSZdGsjMJWsap5oRNihHhu6G7JVO/9jIB6UyevL+tXuOqrng8j/cxKTWyWUwvSTriiZz/g==}

snapshots:

  '@types/node@20.1.0': {}

  loose-envify@1.4.0: {}

  react-dom@18.2.0(react@18.2.0):
    dependencies:
      loose-envify: 1.4.0
      react: 18.2.0

  react-dom@18.2.0(react@18.3.0):
    dependencies:
      react: 18.3.0

  react@18.2.0:
    dependencies:
      loose-envify: 1.4.0

  string-width@4.2.3: {}
"#;

    #[test]
    fn v9_workspaces_aliases_links_and_peer_variants() {
        let parsed = parse_lock("pnpm-lock.yaml", V9_WORKSPACE).expect("parses");
        assert_eq!(
            purls(&parsed),
            [
                ("pkg:npm/%40types/node@20.1.0".to_string(), Scope::Dev),
                ("pkg:npm/loose-envify@1.4.0".to_string(), Scope::Required),
                ("pkg:npm/react-dom@18.2.0".to_string(), Scope::Required),
                ("pkg:npm/react@18.2.0".to_string(), Scope::Required),
                ("pkg:npm/string-width@4.2.3".to_string(), Scope::Required),
            ]
        );
        let dom = &parsed.components[2];
        assert_eq!(dom.hashes.len(), 1);
        assert_eq!(dom.hashes[0].alg, super::super::HashAlg::Sha512);
        assert!(
            dom.hashes[0].hex.starts_with("e88313ae"),
            "{}",
            dom.hashes[0].hex
        );
        let direct: Vec<&str> = parsed.direct.iter().map(Purl::as_str).collect();
        assert_eq!(
            direct,
            [
                "pkg:npm/%40types/node@20.1.0",
                "pkg:npm/react-dom@18.2.0",
                "pkg:npm/react@18.2.0",
                "pkg:npm/string-width@4.2.3",
            ]
        );
        // Both peer variants' edges; react@18.3.0 is not in the lockfile.
        assert_eq!(
            edges(&parsed),
            [
                ("pkg:npm/react-dom@18.2.0", "pkg:npm/loose-envify@1.4.0"),
                ("pkg:npm/react-dom@18.2.0", "pkg:npm/react@18.2.0"),
                ("pkg:npm/react@18.2.0", "pkg:npm/loose-envify@1.4.0"),
            ]
        );
    }

    #[test]
    fn v5_and_v6_single_projects_with_peer_suffixes() {
        let v5 = r#"lockfileVersion: 5.4

specifiers:
  '@babel/core': ^7.0.0
  '@babel/plugin': ^7.0.0

dependencies:
  '@babel/plugin': 7.1.0_@babel+core@7.2.0

devDependencies:
  '@babel/core': 7.2.0

packages:

  /@babel/core/7.2.0:
    resolution: {integrity: sha1-2jmqCiuWNmfbuQ2fV9yRSgXcaGo=}
    dev: true

  /@babel/plugin/7.1.0_@babel+core@7.2.0:
    resolution: {integrity: sha1-2jmqCiuWNmfbuQ2fV9yRSgXcaGo=}
    peerDependencies:
      '@babel/core': ^7.0.0
    dependencies:
      left_pad: 1.0.0
    dev: false

  /left_pad/1.0.0:
    resolution: {tarball: https://example.invalid/left_pad-1.0.0.tgz}
    optional: true
    dev: false
"#;
        let parsed = parse_lock("pnpm-lock.yaml", v5).expect("parses v5");
        assert_eq!(
            purls(&parsed),
            [
                ("pkg:npm/%40babel/core@7.2.0".to_string(), Scope::Dev),
                ("pkg:npm/%40babel/plugin@7.1.0".to_string(), Scope::Required),
                ("pkg:npm/left_pad@1.0.0".to_string(), Scope::Optional),
            ]
        );
        assert_eq!(parsed.edges.len(), 1);
        assert_eq!(parsed.direct.len(), 2);

        let v6 = r#"lockfileVersion: '6.0'

dependencies:
  debug:
    specifier: ^4
    version: 4.3.4(supports-color@8.1.1)
  local-lib:
    specifier: file:../lib
    version: file:../lib

packages:

  /debug@4.3.4(supports-color@8.1.1):
    resolution: {integrity: sha512-PRWFHuSU3eDtQJPvnNY7Jcket1j0t5OuOsFzPPzsekD52Zl8qUfFIPEiswXqIvHWGVHOgX+7G/vCNNhehwxfkQ==}
    dependencies:
      ms: 2.1.2
      supports-color: 8.1.1

  /ms@2.1.2:
    resolution: {integrity: sha512-sGkPx+VjMtmA6MX27oA4FBFELFCZZ4S4XqeGOXCv68tT+jb3vk/RyaKWP0PTKyWtmLSM0b+adUTEvbs1PEaH2w==}

  /supports-color@8.1.1:
    resolution: {integrity: sha512-MpUEN2OodtUzxvKQl72cUF7RQ5EiHsGvSsVG0ia9c5RbWGL2CI4C7EpPS8UTBIplnlzZiNuV56w+FuNxy3ty2Q==}

  file:../lib:
    resolution: {directory: ../lib, type: directory}
    name: local-lib
    version: 0.0.0
"#;
        let parsed = parse_lock("pnpm-lock.yaml", v6).expect("parses v6");
        assert_eq!(
            purls(&parsed),
            [
                ("pkg:npm/debug@4.3.4".to_string(), Scope::Required),
                ("pkg:npm/ms@2.1.2".to_string(), Scope::Required),
                ("pkg:npm/supports-color@8.1.1".to_string(), Scope::Required),
            ]
        );
        assert_eq!(parsed.edges.len(), 2);
        let direct: Vec<&str> = parsed.direct.iter().map(Purl::as_str).collect();
        assert_eq!(direct, ["pkg:npm/debug@4.3.4"]);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let message = |text: &str| {
            parse_lock("pnpm-lock.yaml", text)
                .expect_err(text)
                .to_string()
        };
        assert!(message("lockfileVersion: '3.0'\n").contains("not one Rampart reads"));
        assert!(message("packages: {}\n").contains("no lockfileVersion"));
        assert!(message("lockfileVersion: '9.0'\npackages: {}\n").contains("without importers"));
        assert!(message("lockfileVersion: '6.0'\npackages: [1]\n").contains("not a mapping"));
        assert!(
            message("lockfileVersion: '6.0'\npackages:\n  /x:\n    resolution: {}\n")
                .contains("no version")
        );
        assert!(
            message("lockfileVersion: '9.0'\nimporters: {}\nsnapshots:\n  a@1.0.0: {}\n")
                .contains("no entry in packages")
        );
        assert!(message(
            "lockfileVersion: '6.0'\npackages:\n  /a@1.0.0:\n    resolution: {integrity: sha512-x}\n"
        )
        .contains("/a@1.0.0"));
        assert!(message("lockfileVersion: [\n").starts_with("line "));
        assert!(message("lockfileVersion: '6.0'\ndependencies:\n  a: {}\n").contains("no version"));
    }
}
