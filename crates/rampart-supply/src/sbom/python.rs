//! Python lockfiles: pip requirements (`requirements*.txt`, as pip-compile
//! writes them with `--hash`), `Pipfile.lock`, `poetry.lock` and `uv.lock`.
//!
//! A Python release is many files (an sdist and a wheel per platform) and
//! the installer accepts any one whose digest the lock pins, so a component
//! carries every digest its lock lists, not one. Only exact pins are
//! components: a requirement such as `requests>=2` is not locked to a
//! release, so like Syft the requirements reader leaves it out, as it does
//! editable installs, local paths and direct URLs.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::purl::normalise_pypi_name;
use super::{
    Component, Ecosystem, Hash, HashAlg, ParseError, Parsed, Purl, Roots, Scope, dev_only,
    json_error, toml_error,
};

pub(crate) fn is_requirements_file(name: &str) -> bool {
    name.starts_with("requirements") && name.ends_with(".txt")
}

fn component(file: &str, name: &str, version: &str, hashes: Vec<Hash>, scope: Scope) -> Component {
    Component {
        ecosystem: Ecosystem::PyPI,
        name: name.to_string(),
        group: None,
        version: version.to_string(),
        purl: Purl::new(Ecosystem::PyPI, None, name, version),
        hashes,
        licenses: Vec::new(),
        scope,
        supplier: None,
        source_file: file.to_string(),
    }
}

/// A file digest as the Python tools write it, `ALGORITHM:HEX`. Algorithms
/// other than SHA-1 and SHA-2 (pip also allows MD5) are ignored.
fn file_hash(text: &str) -> Result<Option<Hash>, String> {
    let (alg, hex) = text
        .split_once(':')
        .ok_or_else(|| format!("hash {text:?} is not ALGORITHM:HEX"))?;
    let (alg, len) = match alg {
        "sha1" => (HashAlg::Sha1, 40),
        "sha256" => (HashAlg::Sha256, 64),
        "sha384" => (HashAlg::Sha384, 96),
        "sha512" => (HashAlg::Sha512, 128),
        _ => return Ok(None),
    };
    if hex.len() != len || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("hash {text:?} is not a {alg:?} digest in hex"));
    }
    Ok(Some(Hash {
        alg,
        hex: hex.to_ascii_lowercase(),
    }))
}

/// The digests of `texts`, each once, in the order given.
fn file_hashes<'a>(texts: impl IntoIterator<Item = &'a str>) -> Result<Vec<Hash>, String> {
    let mut hashes = Vec::new();
    for text in texts {
        if let Some(hash) = file_hash(text)?
            && !hashes.contains(&hash)
        {
            hashes.push(hash);
        }
    }
    Ok(hashes)
}

// ---------------------------------------------------------------------------
// requirements*.txt

/// pip's requirements format. pip-compile's `# via` comments under each
/// requirement name the packages that pulled it in, which gives the
/// dependency graph, and `# via -r requirements.in` (or a project's
/// `pyproject.toml`) marks a direct dependency.
pub(crate) fn parse_requirements(file: &str, text: &str) -> Result<Parsed, ParseError> {
    let mut components: BTreeMap<Purl, Component> = BTreeMap::new();
    // (package name that pulled it in, the requirement pulled in)
    let mut pulled_by: Vec<(String, Purl)> = Vec::new();
    let mut direct = Vec::new();
    let mut last: Option<Purl> = None;
    let mut in_via_list = false;

    for (line, logical) in logical_lines(text) {
        let trimmed = logical.trim();
        if let Some(comment) = trimmed.strip_prefix('#') {
            let entry = if let Some(rest) = comment.trim_start().strip_prefix("via") {
                let rest = rest.trim();
                in_via_list = rest.is_empty();
                rest
            } else if in_via_list && comment.starts_with(char::is_whitespace) {
                comment.trim()
            } else {
                in_via_list = false;
                ""
            };
            if let (false, Some(purl)) = (entry.is_empty(), &last) {
                match via_entry(entry) {
                    Via::Direct => direct.push(purl.clone()),
                    Via::Package(name) => pulled_by.push((name, purl.clone())),
                    Via::Other => {}
                }
            }
            continue;
        }
        in_via_list = false;
        let content = strip_inline_comment(trimmed);
        if content.is_empty() {
            continue;
        }
        last = None;
        if content.starts_with('-') || is_path_or_url(content) {
            // Options (-r, -c, -e, --index-url ...), editable installs,
            // local paths and URLs: nothing pinned to a registry release.
            continue;
        }
        let Some(pin) = requirement(content).map_err(|message| ParseError::at(line, message))?
        else {
            continue;
        };
        let hashes = file_hashes(pin.hashes.iter().copied())
            .map_err(|message| ParseError::at(line, format!("{}: {message}", pin.name)))?;
        let found = component(file, pin.name, pin.version, hashes, Scope::Required);
        last = Some(found.purl.clone());
        Component::add_to(found, &mut components);
    }

    let mut by_name: BTreeMap<String, Vec<&Purl>> = BTreeMap::new();
    for component in components.values() {
        by_name
            .entry(normalise_pypi_name(&component.name))
            .or_default()
            .push(&component.purl);
    }
    let mut parsed = Parsed {
        direct,
        ..Parsed::default()
    };
    for (name, to) in pulled_by {
        for from in by_name.get(&name).into_iter().flatten() {
            parsed.edges.push(((*from).clone(), to.clone()));
        }
    }
    parsed.components = components.into_values().collect();
    parsed.sort();
    Ok(parsed)
}

/// Lines with their `\` continuations joined, each with the 1-based
/// number of its first physical line.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, physical) in text.lines().enumerate() {
        let (start, mut joined) = current.take().unwrap_or((index + 1, String::new()));
        let trimmed = physical.trim_end();
        match trimmed.strip_suffix('\\') {
            Some(continued) => {
                joined.push_str(continued);
                joined.push(' ');
                current = Some((start, joined));
            }
            None => {
                joined.push_str(trimmed);
                lines.push((start, joined));
            }
        }
    }
    lines.extend(current);
    lines
}

/// pip starts a comment at a `#` at the start or after whitespace.
fn strip_inline_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    let end = (0..bytes.len())
        .find(|&i| bytes[i] == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()))
        .unwrap_or(bytes.len());
    line[..end].trim_end()
}

fn is_path_or_url(line: &str) -> bool {
    line.starts_with('.') || line.starts_with('/') || line.contains("://")
}

enum Via {
    /// Pulled in by the project itself.
    Direct,
    /// Pulled in by this package (a normalised name).
    Package(String),
    /// A constraints file, or a form this reader does not know.
    Other,
}

fn via_entry(entry: &str) -> Via {
    if entry.starts_with("-r ") || entry.contains("(pyproject.toml)") || entry.contains("(setup.") {
        return Via::Direct;
    }
    if entry.starts_with('-') || entry.contains(char::is_whitespace) {
        return Via::Other;
    }
    Via::Package(normalise_pypi_name(entry))
}

/// An exactly pinned requirement: its name, version and `--hash` values.
struct Pin<'a> {
    name: &'a str,
    version: &'a str,
    hashes: Vec<&'a str>,
}

/// Reads `name[extras] ==version ; markers --hash=...`; `Ok(None)` for a
/// requirement that is not pinned to one release.
fn requirement(line: &str) -> Result<Option<Pin<'_>>, String> {
    let (spec, options) = match line.find(" --") {
        Some(at) => (&line[..at], &line[at..]),
        None => (line, ""),
    };
    let mut hashes = Vec::new();
    let mut tokens = options.split_whitespace();
    while let Some(token) = tokens.next() {
        if let Some(value) = token.strip_prefix("--hash=") {
            hashes.push(value);
        } else if token == "--hash" {
            hashes.push(
                tokens
                    .next()
                    .ok_or_else(|| "--hash needs a value".to_string())?,
            );
        }
    }
    let spec = spec.split(';').next().unwrap_or(spec).trim();
    let name = requirement_name(spec);
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(format!("{spec:?} is not a requirement (NAME==VERSION)"));
    }
    let mut rest = spec[name.len()..].trim_start();
    if let Some(extras) = rest.strip_prefix('[') {
        let close = extras
            .find(']')
            .ok_or_else(|| format!("{spec:?}: the extras' [ is not closed"))?;
        rest = extras[close + 1..].trim_start();
    }
    if rest.starts_with('@') {
        return Ok(None); // a direct URL reference
    }
    let version = match rest.strip_prefix("===").or_else(|| rest.strip_prefix("==")) {
        Some(version) => version.trim(),
        None => return Ok(None),
    };
    if version.is_empty() {
        return Err(format!("{spec:?}: == without a version"));
    }
    if version.contains([',', '*', ' ']) {
        return Ok(None); // a range or a wildcard, not one release
    }
    Ok(Some(Pin {
        name,
        version,
        hashes,
    }))
}

// ---------------------------------------------------------------------------
// Pipfile.lock

#[derive(Deserialize)]
struct PipfileEntry {
    /// `==1.2.3`; absent for git, path and editable entries.
    version: Option<String>,
    #[serde(default)]
    hashes: Vec<String>,
    /// The commit a git entry is locked to.
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    git: Option<String>,
}

/// The Pipfile.lock category that ships (the Pipfile's `[packages]`).
const PIPENV_DEFAULT: &str = "default";

/// Pipenv's lock, with the text of the `Pipfile` beside it. Each top-level
/// key but `_meta` is a category: `default` holds what ships, every other
/// one (`develop`, custom categories) is dev scope, and a package in both
/// ships (each category is locked on its own, so one package may be locked
/// at two versions). It records no graph; the Pipfile says which packages the project
/// asks for. Entries without a version are local paths and editable
/// installs, unless they are git checkouts, whose commit stands as the
/// version.
pub(crate) fn parse_pipfile_with_manifest(
    file: &str,
    text: &str,
    manifest: Option<&str>,
) -> Result<Parsed, ParseError> {
    let lock: BTreeMap<String, serde_json::Value> =
        serde_json::from_str(text).map_err(|e| json_error("Pipfile.lock", &e))?;
    let manifest = manifest.map(Pipfile::read).transpose()?;
    let mut categories: Vec<(&String, &serde_json::Value)> =
        lock.iter().filter(|(key, _)| *key != "_meta").collect();
    categories.sort_by_key(|(category, _)| *category != PIPENV_DEFAULT);

    let mut parsed = Parsed::default();
    let mut by_name: BTreeMap<String, Vec<Purl>> = BTreeMap::new();
    for (category, entries) in categories {
        let entries = BTreeMap::<String, PipfileEntry>::deserialize(entries).map_err(|e| {
            ParseError::new(format!(
                "not a valid Pipfile.lock: category {category}: {e}"
            ))
        })?;
        let scope = if category == PIPENV_DEFAULT {
            Scope::Required
        } else {
            Scope::Dev
        };
        for (name, entry) in &entries {
            let version = match (&entry.version, &entry.git, &entry.git_ref) {
                (Some(version), _, _) => version.strip_prefix("==").unwrap_or(version),
                (None, Some(_), Some(commit)) => commit,
                _ => continue,
            };
            let hashes = file_hashes(entry.hashes.iter().map(String::as_str))
                .map_err(|message| ParseError::new(format!("{category}: {name}: {message}")))?;
            let found = component(file, name, version, hashes, scope);
            let locked = by_name.entry(normalise_pypi_name(name)).or_default();
            if !locked.contains(&found.purl) {
                locked.push(found.purl.clone());
                parsed.components.push(found);
            }
        }
    }
    if let Some(manifest) = manifest {
        parsed.direct = manifest
            .packages
            .iter()
            .filter_map(|name| by_name.get(&normalise_pypi_name(name)))
            .flatten()
            .cloned()
            .collect();
    }
    parsed.sort();
    Ok(parsed)
}

/// Reads a `Pipfile.lock` on its own.
pub(crate) fn parse_pipfile_lock(file: &str, text: &str) -> Result<Parsed, ParseError> {
    parse_pipfile_with_manifest(file, text, None)
}

/// The package names a `Pipfile` asks for, in every category.
struct Pipfile {
    packages: Vec<String>,
}

impl Pipfile {
    /// Tables of a Pipfile that are settings, not categories of packages.
    const SETTINGS: &'static [&'static str] = &["source", "requires", "scripts", "pipenv"];

    fn read(text: &str) -> Result<Pipfile, ParseError> {
        let doc: toml::Table = toml::from_str(text).map_err(|e| {
            let mut error = toml_error("Pipfile", text, &e);
            error.message = format!("the Pipfile beside it: {}", error.message);
            error
        })?;
        let packages = doc
            .iter()
            .filter(|(table, _)| !Self::SETTINGS.contains(&table.as_str()))
            .filter_map(|(_, value)| value.as_table())
            .flat_map(|category| category.keys().cloned())
            .collect();
        Ok(Pipfile { packages })
    }
}

// ---------------------------------------------------------------------------
// poetry.lock

#[derive(Deserialize)]
struct PoetryLock {
    #[serde(default)]
    package: Vec<PoetryPackage>,
    #[serde(default)]
    metadata: PoetryMetadata,
}

#[derive(Deserialize, Default)]
struct PoetryMetadata {
    /// Lock version 1: each package's files, by name.
    #[serde(default)]
    files: BTreeMap<String, Vec<PoetryFile>>,
}

#[derive(Deserialize)]
struct PoetryPackage {
    name: String,
    version: String,
    /// Lock version 1: `main` or `dev`.
    category: Option<String>,
    /// Lock version 2.1: the dependency groups that need it.
    groups: Option<Vec<String>>,
    /// Needed only for an extra of the project.
    #[serde(default)]
    optional: bool,
    /// Lock version 2: its files.
    #[serde(default)]
    files: Vec<PoetryFile>,
    /// Name to constraint: a string, a table, or a list of tables.
    #[serde(default)]
    dependencies: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
struct PoetryFile {
    hash: String,
}

/// Reads a `poetry.lock` on its own.
pub(crate) fn parse_poetry_lock(file: &str, text: &str) -> Result<Parsed, ParseError> {
    parse_poetry_with_manifest(file, text, None)
}

/// Poetry's lock, versions 1.x and 2.x, with the text of the
/// `pyproject.toml` beside it. The lock does not say which packages the
/// project asks for; the manifest does, and where the lock marks no group
/// (lock 2.0 dropped lock 1's category and had no groups yet) a package
/// reached only from the manifest's dev groups is dev.
pub(crate) fn parse_poetry_with_manifest(
    file: &str,
    text: &str,
    manifest: Option<&str>,
) -> Result<Parsed, ParseError> {
    let lock: PoetryLock = toml::from_str(text).map_err(|e| toml_error("poetry.lock", text, &e))?;
    let manifest = manifest.map(PyProject::read).transpose()?;
    let files_by_name: BTreeMap<String, &Vec<PoetryFile>> = lock
        .metadata
        .files
        .iter()
        .map(|(name, files)| (normalise_pypi_name(name), files))
        .collect();
    let mut parsed = Parsed::default();
    let mut by_name: BTreeMap<String, Vec<Purl>> = BTreeMap::new();
    for package in &lock.package {
        let key = normalise_pypi_name(&package.name);
        let files = match files_by_name.get(&key) {
            Some(files) if package.files.is_empty() => files.as_slice(),
            _ => package.files.as_slice(),
        };
        let hashes = file_hashes(files.iter().map(|f| f.hash.as_str())).map_err(|message| {
            ParseError::new(format!("{} {}: {message}", package.name, package.version))
        })?;
        let found = component(
            file,
            &package.name,
            &package.version,
            hashes,
            poetry_scope(package),
        );
        by_name.entry(key).or_default().push(found.purl.clone());
        parsed.components.push(found);
    }
    let resolve = |name: &str| {
        by_name
            .get(&normalise_pypi_name(name))
            .into_iter()
            .flatten()
    };
    for (package, from) in lock.package.iter().zip(&parsed.components) {
        for name in package.dependencies.keys() {
            for to in resolve(name) {
                parsed.edges.push((from.purl.clone(), to.clone()));
            }
        }
    }
    if let Some(manifest) = manifest {
        let prod: Vec<Purl> = manifest
            .main
            .iter()
            .flat_map(|n| resolve(n))
            .cloned()
            .collect();
        let dev: Vec<Purl> = manifest
            .dev
            .iter()
            .flat_map(|n| resolve(n))
            .cloned()
            .collect();
        let dev_only_purls = dev_only(&parsed.edges, &prod, &dev);
        let unmarked: BTreeSet<&str> = lock
            .package
            .iter()
            .filter(|p| p.groups.is_none() && p.category.is_none())
            .map(|p| p.name.as_str())
            .collect();
        for component in &mut parsed.components {
            if unmarked.contains(component.name.as_str())
                && dev_only_purls.contains(&component.purl)
            {
                component.scope = Scope::Dev;
            }
        }
        parsed.direct = prod.into_iter().chain(dev).collect();
    }
    parsed.sort();
    Ok(parsed)
}

/// The dependency names a `pyproject.toml` declares, Poetry's tables and
/// PEP 621's and PEP 735's alike.
#[derive(Default)]
struct PyProject {
    main: Vec<String>,
    /// Dev dependencies and every other dependency group.
    dev: Vec<String>,
}

impl PyProject {
    fn read(text: &str) -> Result<PyProject, ParseError> {
        let doc: toml::Table = toml::from_str(text).map_err(|e| {
            let mut error = toml_error("pyproject.toml", text, &e);
            error.message = format!("the pyproject.toml beside it: {}", error.message);
            error
        })?;
        let poetry = doc.get("tool").and_then(|t| t.get("poetry"));
        let table_keys = |value: Option<&toml::Value>| -> Vec<String> {
            value
                .and_then(toml::Value::as_table)
                .map(|t| t.keys().filter(|k| *k != "python").cloned().collect())
                .unwrap_or_default()
        };
        let requirement_names = |value: Option<&toml::Value>| -> Vec<String> {
            value
                .and_then(toml::Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(toml::Value::as_str)
                .map(requirement_name)
                .filter(|name| !name.is_empty())
                .map(str::to_string)
                .collect()
        };
        let mut project = PyProject {
            main: table_keys(poetry.and_then(|p| p.get("dependencies"))),
            dev: table_keys(poetry.and_then(|p| p.get("dev-dependencies"))),
        };
        project.main.extend(requirement_names(
            doc.get("project").and_then(|p| p.get("dependencies")),
        ));
        let poetry_groups = poetry
            .and_then(|p| p.get("group"))
            .and_then(toml::Value::as_table);
        for group in poetry_groups.into_iter().flat_map(|g| g.values()) {
            project.dev.extend(table_keys(group.get("dependencies")));
        }
        let pep_735_groups = doc.get("dependency-groups").and_then(toml::Value::as_table);
        for group in pep_735_groups.into_iter().flat_map(|g| g.values()) {
            project.dev.extend(requirement_names(Some(group)));
        }
        Ok(project)
    }
}

/// The name at the start of a PEP 508 requirement (`requests[socks]>=2`).
fn requirement_name(requirement: &str) -> &str {
    let requirement = requirement.trim_start();
    let end = requirement
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(requirement.len());
    &requirement[..end]
}

fn poetry_scope(package: &PoetryPackage) -> Scope {
    let dev_only = match (&package.groups, &package.category) {
        (Some(groups), _) => !groups.is_empty() && !groups.iter().any(|g| g == "main"),
        (None, Some(category)) => category == "dev",
        (None, None) => false,
    };
    match (dev_only, package.optional) {
        (true, _) => Scope::Dev,
        (false, true) => Scope::Optional,
        (false, false) => Scope::Required,
    }
}

// ---------------------------------------------------------------------------
// uv.lock

#[derive(Deserialize)]
struct UvLock {
    #[serde(default)]
    package: Vec<UvPackage>,
}

#[derive(Deserialize)]
struct UvPackage {
    name: String,
    /// Absent for a workspace member whose version is dynamic.
    version: Option<String>,
    /// `{ registry = URL }`, `{ git = URL }`, `{ editable = PATH }`,
    /// `{ virtual = PATH }`, `{ path = ... }`, `{ directory = ... }`, `{ url = ... }`.
    #[serde(default)]
    source: BTreeMap<String, toml::Value>,
    #[serde(default)]
    dependencies: Vec<UvDependency>,
    #[serde(default, rename = "optional-dependencies")]
    optional_dependencies: BTreeMap<String, Vec<UvDependency>>,
    #[serde(default, rename = "dev-dependencies")]
    dev_dependencies: BTreeMap<String, Vec<UvDependency>>,
    sdist: Option<UvFile>,
    #[serde(default)]
    wheels: Vec<UvFile>,
}

#[derive(Deserialize)]
struct UvDependency {
    name: String,
    /// Written when the lock holds more than one version of the name.
    version: Option<String>,
}

#[derive(Deserialize)]
struct UvFile {
    hash: Option<String>,
}

impl UvPackage {
    /// Editable and virtual packages are the workspace's own members.
    fn is_member(&self) -> bool {
        self.source.contains_key("editable") || self.source.contains_key("virtual")
    }
}

/// uv's lock. The workspace members are the project: what they depend on
/// is direct, and a package reached only through their dev groups (or only
/// through their extras) is dev (or optional).
pub(crate) fn parse_uv_lock(file: &str, text: &str) -> Result<Parsed, ParseError> {
    let lock: UvLock = toml::from_str(text).map_err(|e| toml_error("uv.lock", text, &e))?;
    let mut purls: Vec<Option<Purl>> = Vec::with_capacity(lock.package.len());
    let mut by_name: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut parsed = Parsed::default();
    for (index, package) in lock.package.iter().enumerate() {
        by_name
            .entry(normalise_pypi_name(&package.name))
            .or_default()
            .push(index);
        if package.is_member() {
            purls.push(None);
            continue;
        }
        let version = package
            .version
            .as_deref()
            .ok_or_else(|| ParseError::new(format!("package {} has no version", package.name)))?;
        let hashes = file_hashes(
            package
                .sdist
                .iter()
                .chain(&package.wheels)
                .filter_map(|f| f.hash.as_deref()),
        )
        .map_err(|message| ParseError::new(format!("{} {version}: {message}", package.name)))?;
        let found = component(file, &package.name, version, hashes, Scope::Required);
        purls.push(Some(found.purl.clone()));
        parsed.components.push(found);
    }

    let targets = |dependency: &UvDependency| -> Vec<Purl> {
        by_name
            .get(&normalise_pypi_name(&dependency.name))
            .into_iter()
            .flatten()
            .filter(|&&index| {
                dependency.version.is_none()
                    || lock.package[index].version.as_deref() == dependency.version.as_deref()
            })
            .filter_map(|&index| purls[index].clone())
            .collect()
    };
    let mut roots = Roots::default();
    for (package, purl) in lock.package.iter().zip(&purls) {
        let optional = package.optional_dependencies.values().flatten();
        match purl {
            Some(from) => {
                for dependency in package.dependencies.iter().chain(optional) {
                    for to in targets(dependency) {
                        parsed.edges.push((from.clone(), to));
                    }
                }
            }
            None => {
                roots
                    .required
                    .extend(package.dependencies.iter().flat_map(&targets));
                roots.optional.extend(optional.flat_map(&targets));
                roots.dev.extend(
                    package
                        .dev_dependencies
                        .values()
                        .flatten()
                        .flat_map(&targets),
                );
            }
        }
    }
    // uv marks no edge optional: only the members' extras are optional.
    roots.assign_scopes(&mut parsed.components, &parsed.edges, &parsed.edges);
    parsed.direct = roots.into_direct();
    parsed.sort();
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sbom::test_support::{direct, edges};

    fn summary(parsed: &Parsed) -> Vec<String> {
        parsed
            .components
            .iter()
            .map(|c| format!("{} {:?} {}", c.purl, c.scope, c.hashes.len()))
            .collect()
    }

    const H1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const H2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    #[test]
    fn requirements_pins_hashes_and_the_via_graph() {
        let text = format!(
            "# a comment\n\
             --index-url https://pypi.org/simple\n\
             Flask[async]==3.0.0 ; python_version >= \"3.8\" \\\n    --hash={H1} \\\n    --hash={H2}\n    # via -r requirements.in\n\
             werkzeug==3.0.1 --hash={H1}  # trailing comment\n    # via\n    #   flask\n    #   -c constraints.txt\n\
             requests>=2\n\
             -e ./local\n\
             pkg @ https://example.com/pkg-1.0.tar.gz\n\
             ./wheels/thing-1.0-py3-none-any.whl\n\
             blinker===1.7.0 --hash=md5:abcd\n    # via flask\n"
        );
        let parsed = parse_requirements("requirements.txt", &text).unwrap();
        assert_eq!(
            summary(&parsed),
            [
                "pkg:pypi/blinker@1.7.0 Required 0",
                "pkg:pypi/flask@3.0.0 Required 2",
                "pkg:pypi/werkzeug@3.0.1 Required 1",
            ]
        );
        assert_eq!(
            edges(&parsed),
            [
                ("pkg:pypi/flask@3.0.0", "pkg:pypi/blinker@1.7.0"),
                ("pkg:pypi/flask@3.0.0", "pkg:pypi/werkzeug@3.0.1"),
            ]
        );
        assert_eq!(direct(&parsed), ["pkg:pypi/flask@3.0.0"]);
        assert_eq!(parsed.components[1].name, "Flask");
    }

    #[test]
    fn requirements_errors_name_their_line() {
        let bad_hash = parse_requirements("r.txt", "ok==1\nx==1 --hash=sha256:zz\n").unwrap_err();
        assert_eq!(bad_hash.line, Some(2));
        assert!(
            bad_hash.message.contains("not a Sha256 digest"),
            "{bad_hash}"
        );
        let not_a_requirement = parse_requirements("r.txt", "\n\n!!!\n").unwrap_err();
        assert_eq!(not_a_requirement.line, Some(3));
        assert!(parse_requirements("r.txt", "x[extra==1\n").is_err());
        assert!(parse_requirements("r.txt", "x==\n").is_err());
        assert!(parse_requirements("r.txt", "x==1 --hash\n").is_err());
    }

    #[test]
    fn pipfile_sections_give_scope_and_git_entries_their_commit() {
        let text = format!(
            r#"{{"_meta": {{}},
               "default": {{
                 "requests": {{"version": "==2.31.0", "hashes": ["{H1}", "{H2}"]}},
                 "mylib": {{"git": "https://github.com/x/mylib.git", "ref": "0123abcd"}},
                 "myself": {{"path": ".", "editable": true}}
               }},
               "develop": {{
                 "requests": {{"version": "==2.31.0", "hashes": ["{H1}"]}},
                 "pytest": {{"version": "==8.0.0", "hashes": []}}
               }},
               "docs": {{
                 "Sphinx": {{"version": "==7.2.6", "hashes": []}},
                 "requests": {{"version": "==2.32.0", "hashes": []}}
               }}}}"#
        );
        let parsed = parse_pipfile_lock("Pipfile.lock", &text).unwrap();
        assert_eq!(
            summary(&parsed),
            [
                "pkg:pypi/mylib@0123abcd Required 0",
                "pkg:pypi/pytest@8.0.0 Dev 0",
                "pkg:pypi/requests@2.31.0 Required 2",
                "pkg:pypi/requests@2.32.0 Dev 0",
                "pkg:pypi/sphinx@7.2.6 Dev 0",
            ]
        );
        assert!(parsed.direct.is_empty(), "only the Pipfile names them");

        let pipfile = r#"
[[source]]
url = "https://pypi.org/simple"
name = "pypi"

[packages]
requests = "*"
mylib = {git = "https://github.com/x/mylib.git"}

[dev-packages]
PyTest = "*"

[docs]
sphinx = "*"

[requires]
python_version = "3.12"
"#;
        let parsed = parse_pipfile_with_manifest("Pipfile.lock", &text, Some(pipfile)).unwrap();
        assert_eq!(
            direct(&parsed),
            [
                "pkg:pypi/mylib@0123abcd",
                "pkg:pypi/pytest@8.0.0",
                "pkg:pypi/requests@2.31.0",
                "pkg:pypi/requests@2.32.0",
                "pkg:pypi/sphinx@7.2.6",
            ]
        );
        let bad =
            parse_pipfile_with_manifest("Pipfile.lock", &text, Some("[packages\n")).unwrap_err();
        assert!(bad.message.starts_with("the Pipfile beside it: "), "{bad}");
        let bad = parse_pipfile_lock("Pipfile.lock", r#"{"default": []}"#).unwrap_err();
        assert!(bad.message.contains("category default"), "{bad}");
        assert!(parse_pipfile_lock("Pipfile.lock", "{\"default\": [}").is_err());
        let bad = parse_pipfile_lock(
            "Pipfile.lock",
            r#"{"default": {"x": {"version": "==1", "hashes": ["sha256:00"]}}}"#,
        )
        .unwrap_err();
        assert!(bad.message.starts_with("default: x: "), "{bad}");
    }

    #[test]
    fn poetry_lock_2_groups_files_and_edges() {
        let text = format!(
            r#"[[package]]
name = "Flask"
version = "3.0.0"
optional = false
groups = ["main"]
files = [
    {{file = "flask-3.0.0-py3-none-any.whl", hash = "{H1}"}},
    {{file = "flask-3.0.0.tar.gz", hash = "{H2}"}},
]

[package.dependencies]
werkzeug = ">=3.0.0"
blinker = {{version = ">=1.6.2", markers = "python_version >= \"3.8\""}}

[[package]]
name = "werkzeug"
version = "3.0.1"
optional = false
groups = ["main", "dev"]
files = []

[[package]]
name = "blinker"
version = "1.7.0"
optional = true
groups = ["main"]
files = []

[[package]]
name = "pytest"
version = "8.0.0"
optional = false
groups = ["dev"]
files = []

[package.dependencies]
missing-from-the-lock = "*"

[metadata]
lock-version = "2.1"
"#
        );
        let parsed = parse_poetry_lock("poetry.lock", &text).unwrap();
        assert_eq!(
            summary(&parsed),
            [
                "pkg:pypi/blinker@1.7.0 Optional 0",
                "pkg:pypi/flask@3.0.0 Required 2",
                "pkg:pypi/pytest@8.0.0 Dev 0",
                "pkg:pypi/werkzeug@3.0.1 Required 0",
            ]
        );
        assert_eq!(
            edges(&parsed),
            [
                ("pkg:pypi/flask@3.0.0", "pkg:pypi/blinker@1.7.0"),
                ("pkg:pypi/flask@3.0.0", "pkg:pypi/werkzeug@3.0.1"),
            ]
        );
        let error = parse_poetry_lock("poetry.lock", "[[package]]\nname = \"x\"\n").unwrap_err();
        assert!(error.message.contains("version"), "{error}");
    }

    #[test]
    fn poetry_lock_2_0_takes_direct_and_dev_from_the_pyproject() {
        let lock = r#"
[[package]]
name = "requests"
version = "2.31.0"
optional = false
files = []

[package.dependencies]
idna = ">=2.5"

[[package]]
name = "idna"
version = "3.6"
optional = false
files = []

[[package]]
name = "pytest"
version = "8.0.0"
optional = false
files = []

[package.dependencies]
idna = "*"

[[package]]
name = "pluggy"
version = "1.4.0"
optional = false
files = []

[metadata]
lock-version = "2.0"
"#;
        let pyproject = r#"
[tool.poetry.dependencies]
python = "^3.9"
Requests = "^2.31"

[tool.poetry.group.test.dependencies]
pytest = "^8"

[dependency-groups]
lint = ["pluggy>=1"]
"#;
        let parsed = parse_poetry_with_manifest("poetry.lock", lock, Some(pyproject)).unwrap();
        assert_eq!(
            summary(&parsed),
            [
                "pkg:pypi/idna@3.6 Required 0",
                "pkg:pypi/pluggy@1.4.0 Dev 0",
                "pkg:pypi/pytest@8.0.0 Dev 0",
                "pkg:pypi/requests@2.31.0 Required 0",
            ]
        );
        assert_eq!(
            direct(&parsed),
            [
                "pkg:pypi/pluggy@1.4.0",
                "pkg:pypi/pytest@8.0.0",
                "pkg:pypi/requests@2.31.0"
            ]
        );
        // Without the manifest nothing says what is dev or direct.
        let alone = parse_poetry_lock("poetry.lock", lock).unwrap();
        assert!(alone.direct.is_empty());
        assert!(alone.components.iter().all(|c| c.scope == Scope::Required));
        let error =
            parse_poetry_with_manifest("poetry.lock", lock, Some("[tool.poetry\n")).unwrap_err();
        assert!(
            error.message.starts_with("the pyproject.toml beside it"),
            "{error}"
        );
    }

    #[test]
    fn uv_members_are_the_project_and_groups_give_scope() {
        let text = format!(
            r#"version = 1

[[package]]
name = "app"
source = {{ editable = "." }}
dependencies = [{{ name = "httpx" }}]

[package.optional-dependencies]
cli = [{{ name = "rich" }}]

[package.dev-dependencies]
dev = [{{ name = "pytest" }}]

[[package]]
name = "httpx"
version = "0.27.0"
source = {{ registry = "https://pypi.org/simple" }}
dependencies = [{{ name = "idna" }}, {{ name = "sniffio", version = "1.3.1" }}]
sdist = {{ url = "https://x/httpx.tar.gz", hash = "{H1}" }}
wheels = [{{ url = "https://x/httpx.whl", hash = "{H2}" }}]

[[package]]
name = "idna"
version = "3.7"
source = {{ registry = "https://pypi.org/simple" }}

[[package]]
name = "sniffio"
version = "1.3.0"
source = {{ registry = "https://pypi.org/simple" }}

[[package]]
name = "sniffio"
version = "1.3.1"
source = {{ registry = "https://pypi.org/simple" }}

[[package]]
name = "rich"
version = "13.7.1"
source = {{ registry = "https://pypi.org/simple" }}

[[package]]
name = "pytest"
version = "8.0.0"
source = {{ registry = "https://pypi.org/simple" }}
dependencies = [{{ name = "idna" }}]
"#
        );
        let parsed = parse_uv_lock("uv.lock", &text).unwrap();
        assert_eq!(
            summary(&parsed),
            [
                "pkg:pypi/httpx@0.27.0 Required 2",
                "pkg:pypi/idna@3.7 Required 0",
                "pkg:pypi/pytest@8.0.0 Dev 0",
                "pkg:pypi/rich@13.7.1 Optional 0",
                "pkg:pypi/sniffio@1.3.0 Required 0",
                "pkg:pypi/sniffio@1.3.1 Required 0",
            ]
        );
        assert_eq!(
            edges(&parsed),
            [
                ("pkg:pypi/httpx@0.27.0", "pkg:pypi/idna@3.7"),
                ("pkg:pypi/httpx@0.27.0", "pkg:pypi/sniffio@1.3.1"),
                ("pkg:pypi/pytest@8.0.0", "pkg:pypi/idna@3.7"),
            ]
        );
        assert_eq!(
            direct(&parsed),
            [
                "pkg:pypi/httpx@0.27.0",
                "pkg:pypi/pytest@8.0.0",
                "pkg:pypi/rich@13.7.1"
            ]
        );
        let error = parse_uv_lock(
            "uv.lock",
            "[[package]]\nname = \"x\"\nsource = { registry = \"r\" }\n",
        )
        .unwrap_err();
        assert!(error.message.contains("no version"), "{error}");
        assert_eq!(
            parse_uv_lock("uv.lock", "version = 1\n[[package]\n")
                .unwrap_err()
                .line,
            Some(2)
        );
    }
}
