//! Components of a source tree, read from its lockfiles and manifests.
//!
//! [`scan_dir`] walks a directory, hands each file it recognises to that
//! ecosystem's parser, and merges what they found into one [`Sbom`]:
//! components deduplicated by purl, the dependency graph where a lockfile
//! records one. Parsers are pure (`&str` in, [`Parsed`] out) so they can be
//! fuzzed and tested without a file system.

mod cargo;
mod golang;
mod java;
mod npm;
mod pnpm;
mod purl;
mod python;
mod ruby;
mod yaml;
mod yarn;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

pub use purl::Purl;

/// What the parsers' unit tests compare: purls, edges and direct
/// dependencies as plain strings.
#[cfg(test)]
pub(crate) mod test_support {
    use super::{Parsed, Purl};

    pub(crate) fn purls(parsed: &Parsed) -> Vec<&str> {
        parsed.components.iter().map(|c| c.purl.as_str()).collect()
    }

    /// Sorted, whatever order the parser left them in.
    pub(crate) fn edges(parsed: &Parsed) -> Vec<(&str, &str)> {
        let mut edges: Vec<_> = parsed
            .edges
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        edges.sort();
        edges
    }

    pub(crate) fn direct(parsed: &Parsed) -> Vec<&str> {
        parsed.direct.iter().map(Purl::as_str).collect()
    }
}

/// Directories never descended into: VCS metadata and installed or built
/// trees, whose contents the lockfiles beside them already describe.
const SKIPPED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    "node_modules",
    "target",
    ".venv",
    "venv",
    "__pycache__",
];

/// Lockfiles larger than this are refused rather than read into memory.
pub const MAX_LOCKFILE_BYTES: u64 = 256 * 1024 * 1024;

/// The package ecosystem a component comes from; names its purl type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ecosystem {
    Cargo,
    Npm,
    PyPI,
    Go,
    Maven,
    Gem,
    /// A package type no lockfile parser here reads (`pkg:deb`, `pkg:apk`,
    /// `pkg:oci`, ...), from an SBOM Rampart ingested; its purl says which.
    /// Kept so that policies see every component the document lists.
    Other,
}

impl Ecosystem {
    /// The purl type (`pkg:TYPE/...`).
    pub fn purl_type(self) -> &'static str {
        match self {
            Ecosystem::Cargo => "cargo",
            Ecosystem::Npm => "npm",
            Ecosystem::PyPI => "pypi",
            Ecosystem::Go => "golang",
            Ecosystem::Maven => "maven",
            Ecosystem::Gem => "gem",
            // Never built by a parser; the purl spec's catch-all type.
            Ecosystem::Other => "generic",
        }
    }
}

/// Hash algorithms lockfiles record, named as CycloneDX and SPDX name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HashAlg {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

/// A digest of a component's distributed artifact (the crate, tarball,
/// wheel, jar), lowercase hex. Hashes of anything else (Go's `h1:` dirhash)
/// are not recorded as hashes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hash {
    pub alg: HashAlg,
    pub hex: String,
}

/// Whether a component ships with the software or only builds or tests it,
/// where the lockfile says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Scope {
    #[default]
    Required,
    Optional,
    Dev,
}

/// One package at one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub ecosystem: Ecosystem,
    /// The name as the ecosystem writes it (`@types/node`, `serde`,
    /// `github.com/pkg/errors`); Maven components carry the group in
    /// [`Component::group`] and the artifact id here.
    pub name: String,
    /// Maven `groupId`; `None` elsewhere.
    pub group: Option<String>,
    pub version: String,
    pub purl: Purl,
    pub hashes: Vec<Hash>,
    /// License expressions or names as the manifest states them.
    pub licenses: Vec<String>,
    pub scope: Scope,
    /// The organisation that supplies it, where a document states one:
    /// lockfiles do not, an ingested CycloneDX (`supplier`) or SPDX
    /// (`supplier`, else `originator`) SBOM may. Policies match on it.
    pub supplier: Option<String>,
    /// The lockfile it was read from, relative to the scanned directory,
    /// `/`-separated.
    pub source_file: String,
}

impl Component {
    /// The reference other parts of the document use for it.
    pub fn bom_ref(&self) -> String {
        self.purl.to_string()
    }

    /// Adds `found` to `components` by purl, or, when the package is
    /// already there, absorbs it into the one found before.
    pub(crate) fn add_to(found: Component, components: &mut BTreeMap<Purl, Component>) {
        match components.get_mut(&found.purl) {
            Some(existing) => existing.absorb(found),
            None => {
                components.insert(found.purl.clone(), found);
            }
        }
    }

    /// Takes in what `other`, the same package found again, adds: its
    /// hashes and licenses, the wider scope, a supplier if this has none.
    fn absorb(&mut self, other: Component) {
        for hash in other.hashes {
            if !self.hashes.contains(&hash) {
                self.hashes.push(hash);
            }
        }
        for license in other.licenses {
            if !self.licenses.contains(&license) {
                self.licenses.push(license);
            }
        }
        self.scope = self.scope.min(other.scope);
        if self.supplier.is_none() {
            self.supplier = other.supplier;
        }
    }
}

/// What one parser found in one file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub components: Vec<Component>,
    /// Edges `(from purl, to purl)` of the dependency graph, where the
    /// lockfile records one. The project itself is not a component: edges
    /// from it are not recorded here but its direct dependencies are in
    /// [`Parsed::direct`].
    pub edges: Vec<(Purl, Purl)>,
    /// The project's direct dependencies, where the lockfile says which.
    pub direct: Vec<Purl>,
}

impl Parsed {
    /// Components by purl, edges and direct dependencies sorted and
    /// deduplicated: the order every parser returns.
    pub(crate) fn sort(&mut self) {
        self.components.sort_by(|a, b| a.purl.cmp(&b.purl));
        self.direct.sort();
        self.direct.dedup();
        self.edges.sort();
        self.edges.dedup();
    }
}

/// The components of a source tree.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Sbom {
    /// What the SBOM describes: the directory's name, or an artifact name
    /// the caller gives.
    pub subject_name: String,
    pub subject_version: Option<String>,
    /// Sorted by purl, one per purl.
    pub components: Vec<Component>,
    /// Each component's direct dependencies, by purl (only components that
    /// have any).
    pub dependencies: BTreeMap<Purl, BTreeSet<Purl>>,
    /// The subject's direct dependencies, where lockfiles say which.
    pub direct: BTreeSet<Purl>,
    /// The files read, relative and `/`-separated, sorted.
    pub sources: Vec<String>,
}

/// Why a directory could not be turned into an SBOM.
#[derive(Debug, thiserror::Error)]
pub enum SbomError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: {error}")]
    Parse { file: String, error: ParseError },
    #[error("{} is {size} bytes, over the {MAX_LOCKFILE_BYTES}-byte limit for a lockfile", path.display())]
    TooLarge { path: PathBuf, size: u64 },
}

/// A lockfile or manifest that is not what its name says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line, where the parser knows it.
    pub line: Option<usize>,
    pub message: String,
}

impl ParseError {
    pub fn new(message: impl Into<String>) -> Self {
        ParseError {
            line: None,
            message: message.into(),
        }
    }

    pub fn at(line: usize, message: impl Into<String>) -> Self {
        ParseError {
            line: Some(line),
            message: message.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ParseError {}

/// The 1-based line of a byte offset.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A TOML lockfile that does not parse, as "not a valid `format`", at the
/// line the parser stopped.
pub(crate) fn toml_error(format: &str, text: &str, e: &toml::de::Error) -> ParseError {
    let message = format!("not a valid {format}: {}", e.message().trim_end());
    match e.span() {
        Some(span) => ParseError::at(line_of(text, span.start), message),
        None => ParseError::new(message),
    }
}

/// A JSON lockfile that does not parse: serde_json's message without its
/// trailing position, which goes in the error's line instead.
pub(crate) fn json_error(format: &str, e: &serde_json::Error) -> ParseError {
    let full = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    let message = full.strip_suffix(&position).unwrap_or(&full);
    let message = format!("not a valid {format}: {message}");
    if e.line() == 0 {
        ParseError::new(message)
    } else {
        ParseError::at(e.line(), format!("column {}: {message}", e.column()))
    }
}

/// A parser for one kind of file: its relative path (for
/// [`Component::source_file`]) and its text.
type Parser = fn(&str, &str) -> Result<Parsed, ParseError>;

/// The parser for a file, by its name; `None` for files no ecosystem claims.
fn parser_for(file_name: &str) -> Option<Parser> {
    let parser: Parser = match file_name {
        "Cargo.lock" => cargo::parse_lock,
        "package-lock.json" | "npm-shrinkwrap.json" => npm::parse_lock,
        "yarn.lock" => yarn::parse_lock,
        "pnpm-lock.yaml" => pnpm::parse_lock,
        "poetry.lock" => python::parse_poetry_lock,
        "uv.lock" => python::parse_uv_lock,
        "Pipfile.lock" => python::parse_pipfile_lock,
        "go.mod" => golang::parse_go_mod,
        "pom.xml" => java::parse_pom,
        "gradle.lockfile" => java::parse_gradle_lockfile,
        "Gemfile.lock" => ruby::parse_gemfile_lock,
        name if python::is_requirements_file(name) => python::parse_requirements,
        _ => return None,
    };
    Some(parser)
}

/// A parser for a lockfile that needs the manifest beside it, given that
/// manifest's text when there is one.
type ManifestParser = fn(&str, &str, Option<&str>) -> Result<Parsed, ParseError>;

/// The manifest a lockfile is read with, by the lockfile's name: Yarn's,
/// Poetry's and Pipenv's lockfiles do not say which dependencies are
/// direct (or, for some versions, dev); their `package.json`,
/// `pyproject.toml` and `Pipfile` do.
fn manifest_for(file_name: &str) -> Option<(&'static str, ManifestParser)> {
    match file_name {
        "yarn.lock" => Some(("package.json", yarn::parse_with_manifest)),
        "poetry.lock" => Some(("pyproject.toml", python::parse_poetry_with_manifest)),
        "Pipfile.lock" => Some(("Pipfile", python::parse_pipfile_with_manifest)),
        _ => None,
    }
}

/// Parses one file's text with the parser its name selects, as
/// [`scan_dir`] would; `None` for a name no ecosystem claims. `path` is
/// the relative path recorded as each component's source file.
pub fn parse_file(path: &str, text: &str) -> Option<Result<Parsed, ParseError>> {
    let name = path.rsplit('/').next().unwrap_or(path);
    parser_for(name).map(|parser| parser(path, text))
}

/// Reads every lockfile and manifest under `dir` (not following symlinks,
/// skipping [`SKIPPED_DIRS`]) into one SBOM named after the directory.
pub fn scan_dir(dir: &Path) -> Result<Sbom, SbomError> {
    let mut files = Vec::new();
    collect_files(dir, dir, &mut files)?;
    files.sort();
    let mut parsed = Vec::with_capacity(files.len());
    for (relative, path, parser) in files {
        let size = std::fs::metadata(&path)
            .map_err(|source| SbomError::Io {
                path: path.clone(),
                source,
            })?
            .len();
        if size > MAX_LOCKFILE_BYTES {
            return Err(SbomError::TooLarge { path, size });
        }
        let text = std::fs::read_to_string(&path).map_err(|source| SbomError::Io {
            path: path.clone(),
            source,
        })?;
        let file_name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let found = match manifest_for(file_name) {
            Some((manifest_name, parse)) => {
                let manifest = read_companion(&path, manifest_name)?;
                parse(&relative, &text, manifest.as_deref())
            }
            None => parser(&relative, &text),
        }
        .map_err(|error| SbomError::Parse {
            file: relative.clone(),
            error,
        })?;
        parsed.push((relative, found));
    }
    let name = dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "source".to_string());
    Ok(merge(name, parsed))
}

/// The text of `name` beside `lockfile`, if there is one.
fn read_companion(lockfile: &Path, name: &str) -> Result<Option<String>, SbomError> {
    let path = lockfile.with_file_name(name);
    if !path.is_file() {
        return Ok(None);
    }
    std::fs::read_to_string(&path)
        .map(Some)
        .map_err(|source| SbomError::Io { path, source })
}

fn collect_files(
    root: &Path,
    dir: &Path,
    out: &mut Vec<(String, PathBuf, Parser)>,
) -> Result<(), SbomError> {
    let entries = std::fs::read_dir(dir).map_err(|source| SbomError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| SbomError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|source| SbomError::Io {
            path: path.clone(),
            source,
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if kind.is_dir() {
            if !SKIPPED_DIRS.contains(&name.as_str()) {
                collect_files(root, &path, out)?;
            }
        } else if kind.is_file()
            && let Some(parser) = parser_for(&name)
        {
            let relative = path.strip_prefix(root).unwrap_or(&path);
            let relative = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            out.push((relative, path, parser));
        }
    }
    Ok(())
}

/// Merges per-file results: one component per purl (the first file's, with
/// hashes and licenses of later files added), edges unioned.
pub fn merge(subject_name: String, parsed: Vec<(String, Parsed)>) -> Sbom {
    let mut by_purl: BTreeMap<Purl, Component> = BTreeMap::new();
    let mut dependencies: BTreeMap<Purl, BTreeSet<Purl>> = BTreeMap::new();
    let mut direct = BTreeSet::new();
    let mut sources = Vec::new();
    for (file, found) in parsed {
        sources.push(file);
        for component in found.components {
            Component::add_to(component, &mut by_purl);
        }
        for (from, to) in found.edges {
            dependencies.entry(from).or_default().insert(to);
        }
        direct.extend(found.direct);
    }
    // Edges may only name components that exist, or the documents would
    // carry dangling references.
    dependencies.retain(|from, to| {
        to.retain(|purl| by_purl.contains_key(purl));
        by_purl.contains_key(from) && !to.is_empty()
    });
    direct.retain(|purl| by_purl.contains_key(purl));
    sources.sort();
    Sbom {
        subject_name,
        subject_version: None,
        components: by_purl.into_values().collect(),
        dependencies,
        direct,
        sources,
    }
}

/// The components reachable from `dev_roots` but not from `prod_roots`
/// along `edges`: dev-only, for lockfiles that do not mark it themselves.
pub(crate) fn dev_only(
    edges: &[(Purl, Purl)],
    prod_roots: &[Purl],
    dev_roots: &[Purl],
) -> BTreeSet<Purl> {
    let prod = reachable_from(edges, prod_roots);
    reachable_from(edges, dev_roots)
        .into_iter()
        .filter(|purl| !prod.contains(purl))
        .collect()
}

/// A project's own dependencies, by kind, for lockfiles that mark no
/// scope: the manifest's or the workspace members' lists.
#[derive(Default)]
pub(crate) struct Roots {
    pub required: Vec<Purl>,
    pub optional: Vec<Purl>,
    pub dev: Vec<Purl>,
}

impl Roots {
    /// Scopes by reachability, as npm marks them: required when the
    /// required roots reach a component along `required_edges`, optional
    /// when the roots that ship reach it only otherwise (`edges` holds
    /// every edge), dev when only the dev roots reach it. Components no
    /// root reaches keep their scope.
    pub(crate) fn assign_scopes(
        &self,
        components: &mut [Component],
        edges: &[(Purl, Purl)],
        required_edges: &[(Purl, Purl)],
    ) {
        let shipped_roots: Vec<Purl> = self
            .required
            .iter()
            .chain(&self.optional)
            .cloned()
            .collect();
        let required = reachable_from(required_edges, &self.required);
        let shipped = reachable_from(edges, &shipped_roots);
        let dev = reachable_from(edges, &self.dev);
        for component in components {
            if required.contains(&component.purl) {
                component.scope = Scope::Required;
            } else if shipped.contains(&component.purl) {
                component.scope = Scope::Optional;
            } else if dev.contains(&component.purl) {
                component.scope = Scope::Dev;
            }
        }
    }

    /// Every root: the direct dependencies.
    pub(crate) fn into_direct(self) -> Vec<Purl> {
        let Roots {
            required,
            optional,
            dev,
        } = self;
        required.into_iter().chain(optional).chain(dev).collect()
    }
}

/// The components reachable from `roots` along `edges`, the roots included.
pub(crate) fn reachable_from(edges: &[(Purl, Purl)], roots: &[Purl]) -> BTreeSet<Purl> {
    let mut children: BTreeMap<&Purl, Vec<&Purl>> = BTreeMap::new();
    for (from, to) in edges {
        children.entry(from).or_default().push(to);
    }
    let mut seen = BTreeSet::new();
    let mut stack: Vec<&Purl> = roots.iter().collect();
    while let Some(purl) = stack.pop() {
        if seen.insert(purl) {
            stack.extend(children.get(purl).into_iter().flatten().copied());
        }
    }
    seen.into_iter().cloned().collect()
}
