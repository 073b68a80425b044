//! SPDX 2.3 JSON: written from an [`Sbom`], and read back from ours or from
//! other tools' documents.
//!
//! Written documents pass `pyspdxtools` validation: every license we write
//! is a listed SPDX expression or a `LicenseRef-` declared in
//! `hasExtractedLicensingInfos` (names that are not expressions, such as
//! `The MIT License`, become those). Several licenses of one package are
//! written as `(A) AND (B)` and split back on reading. The subject is a
//! package the document `DESCRIBES`; the graph is `DEPENDS_ON` (subject to
//! direct dependencies, component to component); the scope is
//! `DEV_DEPENDENCY_OF` / `OPTIONAL_DEPENDENCY_OF` the subject, which only
//! sets the scope on reading (not an edge). SPDX has no Maven group field:
//! it is read back from the purl.
//!
//! Reading ignores unknown fields and relationships, and leaves out
//! packages without a `purl` external reference or whose purl type is not
//! one of [`crate::sbom::Ecosystem`]'s, with the relationships naming them.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::document::{
    At, DocumentInfo, FormatError, child_path, ecosystem_of, finish, is_spdx_expression, opt_array,
    opt_str, parse_purl, purl_namespace, req_str, sanitise_idstring,
};
use crate::sbom::{Component, Ecosystem, Hash, HashAlg, Parsed, Purl, Sbom, Scope};

const DOCUMENT_ID: &str = "SPDXRef-DOCUMENT";
/// The subject's package id; component ids all start `SPDXRef-Package-`.
const SUBJECT_ID: &str = "SPDXRef-Subject";
/// How a component's lockfile is recorded in `sourceInfo`.
const SOURCE_INFO_PREFIX: &str = "read from ";

/// The pretty-printed SPDX 2.3 document for `sbom`.
pub fn write(sbom: &Sbom, info: &DocumentInfo) -> String {
    let name = if sbom.subject_name.is_empty() {
        "unnamed"
    } else {
        &sbom.subject_name
    };
    let mut subject = json!({
        "SPDXID": SUBJECT_ID,
        "name": name,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "primaryPackagePurpose": "APPLICATION",
    });
    if let Some(version) = &sbom.subject_version {
        subject["versionInfo"] = json!(version);
    }

    let ids = package_ids(&sbom.components);
    let mut extracted = ExtractedLicenses::default();
    let mut packages = vec![subject];
    let mut relationships = vec![relationship(DOCUMENT_ID, "DESCRIBES", SUBJECT_ID)];
    for c in &sbom.components {
        let id = ids.get(&c.purl).map_or("", String::as_str);
        packages.push(package(c, id, &mut extracted));
        match c.scope {
            Scope::Required => {}
            Scope::Optional => {
                relationships.push(relationship(id, "OPTIONAL_DEPENDENCY_OF", SUBJECT_ID));
            }
            Scope::Dev => relationships.push(relationship(id, "DEV_DEPENDENCY_OF", SUBJECT_ID)),
        }
    }
    for purl in &sbom.direct {
        if let Some(to) = ids.get(purl) {
            relationships.push(relationship(SUBJECT_ID, "DEPENDS_ON", to));
        }
    }
    for (from, targets) in &sbom.dependencies {
        let Some(from) = ids.get(from) else { continue };
        for to in targets.iter().filter_map(|purl| ids.get(purl)) {
            relationships.push(relationship(from, "DEPENDS_ON", to));
        }
    }

    let mut document = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": DOCUMENT_ID,
        "name": name,
        "documentNamespace": format!(
            "https://rampart.invalid/spdx/{}-{}",
            sanitise_idstring(name),
            info.uuid()
        ),
        "creationInfo": {
            "created": info.created,
            "creators": [format!("Tool: {}-{}", info.tool_name, info.tool_version)],
        },
        "packages": packages,
        "relationships": relationships,
    });
    if !extracted.by_name.is_empty() {
        let infos: Vec<Value> = extracted
            .by_name
            .iter()
            .map(|(name, id)| json!({"licenseId": id, "name": name, "extractedText": name}))
            .collect();
        document["hasExtractedLicensingInfos"] = Value::Array(infos);
    }
    format!("{document:#}")
}

/// Unique package ids, readable: `SPDXRef-Package-cargo-serde-1.0.210`,
/// with `-2`, `-3`... where sanitising makes two purls alike.
fn package_ids(components: &[Component]) -> BTreeMap<Purl, String> {
    let mut taken = BTreeSet::new();
    let mut ids = BTreeMap::new();
    for c in components {
        let base = format!(
            "SPDXRef-Package-{}",
            sanitise_idstring(c.purl.as_str().trim_start_matches("pkg:"))
        );
        let mut id = base.clone();
        let mut n = 2;
        while !taken.insert(id.clone()) {
            id = format!("{base}-{n}");
            n += 1;
        }
        ids.insert(c.purl.clone(), id);
    }
    ids
}

fn relationship(from: &str, kind: &str, to: &str) -> Value {
    json!({"spdxElementId": from, "relationshipType": kind, "relatedSpdxElement": to})
}

/// License names that are not SPDX expressions, each with its unique
/// `LicenseRef-` id.
#[derive(Default)]
struct ExtractedLicenses {
    by_name: BTreeMap<String, String>,
    ids: BTreeSet<String>,
}

impl ExtractedLicenses {
    fn id_for(&mut self, name: &str) -> String {
        if let Some(id) = self.by_name.get(name) {
            return id.clone();
        }
        let base = format!("LicenseRef-{}", sanitise_idstring(name));
        let mut id = base.clone();
        let mut n = 2;
        while !self.ids.insert(id.clone()) {
            id = format!("{base}-{n}");
            n += 1;
        }
        self.by_name.insert(name.to_string(), id.clone());
        id
    }
}

fn package(c: &Component, id: &str, extracted: &mut ExtractedLicenses) -> Value {
    let mut out = json!({
        "SPDXID": id,
        "name": c.name,
        "versionInfo": c.version,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": declared(&c.licenses, extracted),
        "externalRefs": [{
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": c.purl.as_str(),
        }],
        "primaryPackagePurpose": "LIBRARY",
    });
    if let Some(supplier) = &c.supplier {
        out["supplier"] = json!(format!("Organization: {supplier}"));
    }
    if !c.hashes.is_empty() {
        let checksums: Vec<Value> = c
            .hashes
            .iter()
            .map(|h| json!({"algorithm": alg_name(h.alg), "checksumValue": h.hex}))
            .collect();
        out["checksums"] = Value::Array(checksums);
    }
    if !c.source_file.is_empty() {
        out["sourceInfo"] = json!(format!("{SOURCE_INFO_PREFIX}{}", c.source_file));
    }
    out
}

/// `licenseDeclared`: expressions as they are, other names as
/// `LicenseRef-`s, several joined as `(A) AND (B)`. Text already naming a
/// `LicenseRef-` is treated as a name: its reference is not declared here.
fn declared(licenses: &[String], extracted: &mut ExtractedLicenses) -> String {
    let operands: Vec<String> = licenses
        .iter()
        .map(|license| {
            if is_spdx_expression(license) && !license.contains("LicenseRef-") {
                license.clone()
            } else {
                extracted.id_for(license)
            }
        })
        .collect();
    match operands.as_slice() {
        [] => "NOASSERTION".to_string(),
        [only] => only.clone(),
        several => several
            .iter()
            .map(|op| format!("({op})"))
            .collect::<Vec<_>>()
            .join(" AND "),
    }
}

/// The licenses of a `licenseDeclared` expression: `(A) AND (B)` is split
/// back into its parts, a lone `LicenseRef-` becomes the name it stands for.
fn licenses_of(expression: &str, names: &BTreeMap<&str, &str>) -> Vec<String> {
    let expression = expression.trim();
    if matches!(expression, "" | "NOASSERTION" | "NONE") {
        return Vec::new();
    }
    let parts = split_parenthesised_and(expression).unwrap_or_else(|| vec![expression]);
    parts
        .into_iter()
        .map(|part| names.get(part).map_or(part, |name| name).to_string())
        .collect()
}

/// `(A) AND (B) AND ...` as `[A, B, ...]`; `None` for any other shape.
fn split_parenthesised_and(expression: &str) -> Option<Vec<&str>> {
    let mut parts = Vec::new();
    let mut rest = expression;
    loop {
        let inner_start = rest.strip_prefix('(')?;
        let mut depth = 1usize;
        let mut close = None;
        for (i, c) in inner_start.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let close = close?;
        parts.push(inner_start[..close].trim());
        rest = inner_start[close + 1..].trim_start();
        if rest.is_empty() {
            break;
        }
        rest = rest.strip_prefix("AND")?.trim_start();
    }
    (parts.len() >= 2).then_some(parts)
}

fn alg_name(alg: HashAlg) -> &'static str {
    match alg {
        HashAlg::Sha1 => "SHA1",
        HashAlg::Sha256 => "SHA256",
        HashAlg::Sha384 => "SHA384",
        HashAlg::Sha512 => "SHA512",
    }
}

/// The SBOM an SPDX 2.x JSON document describes.
pub fn read(text: &str) -> Result<Sbom, FormatError> {
    let document: Value = serde_json::from_str(text)?;
    let top = At {
        value: &document,
        path: "",
    }
    .object()
    .map_err(|_| FormatError::WrongFormat {
        format: "SPDX 2",
        reason: "the top level is not a JSON object".to_string(),
    })?;
    match opt_str(top, "", "spdxVersion")? {
        Some(version) if version.starts_with("SPDX-2.") => {}
        other => {
            return Err(FormatError::WrongFormat {
                format: "SPDX 2",
                reason: format!("spdxVersion is {other:?}, not \"SPDX-2.x\""),
            });
        }
    }

    let mut names = BTreeMap::new();
    for (i, info) in opt_array(top, "", "hasExtractedLicensingInfos")?
        .iter()
        .enumerate()
    {
        let path = format!("hasExtractedLicensingInfos[{i}]");
        let info = At {
            value: info,
            path: &path,
        }
        .object()?;
        let id = req_str(info, &path, "licenseId")?;
        let name = match opt_str(info, &path, "name")? {
            Some(name) => Some(name),
            None => opt_str(info, &path, "extractedText")?,
        };
        if let Some(name) = name {
            names.insert(id, name);
        }
    }

    let relationships = read_relationships(top)?;
    let described: Vec<&str> = relationships
        .iter()
        .filter(|r| r.from == DOCUMENT_ID && r.kind == "DESCRIBES")
        .map(|r| r.to)
        .collect();
    let legacy_described = opt_array(top, "", "documentDescribes")?;
    let root_id = match described.first() {
        Some(id) => Some(*id),
        None => legacy_described.first().and_then(Value::as_str),
    };

    let mut subject_name = String::new();
    let mut subject_version = None;
    let mut parsed = Parsed::default();
    let mut purl_by_id: BTreeMap<&str, Purl> = BTreeMap::new();
    for (i, package) in opt_array(top, "", "packages")?.iter().enumerate() {
        let path = format!("packages[{i}]");
        let package = At {
            value: package,
            path: &path,
        }
        .object()?;
        let id = req_str(package, &path, "SPDXID")?;
        if Some(id) == root_id {
            subject_name = req_str(package, &path, "name")?.to_string();
            subject_version = opt_str(package, &path, "versionInfo")?.map(str::to_string);
            continue;
        }
        if let Some(component) = read_package(package, &path, &names)? {
            purl_by_id.insert(id, component.purl.clone());
            parsed.components.push(component);
        }
    }

    let mut dev = BTreeSet::new();
    let mut optional = BTreeSet::new();
    for r in &relationships {
        let (from, to) = match r.kind {
            "DEPENDS_ON" => (r.from, r.to),
            "DEPENDENCY_OF" => (r.to, r.from),
            "DEV_DEPENDENCY_OF" => {
                dev.insert(r.from);
                continue;
            }
            "OPTIONAL_DEPENDENCY_OF" => {
                optional.insert(r.from);
                continue;
            }
            _ => continue,
        };
        let Some(to) = purl_by_id.get(to) else {
            continue;
        };
        if Some(from) == root_id {
            parsed.direct.push(to.clone());
        } else if let Some(from) = purl_by_id.get(from) {
            parsed.edges.push((from.clone(), to.clone()));
        }
    }
    let dev: BTreeSet<&Purl> = dev.iter().filter_map(|id| purl_by_id.get(id)).collect();
    let optional: BTreeSet<&Purl> = optional
        .iter()
        .filter_map(|id| purl_by_id.get(id))
        .collect();
    for c in &mut parsed.components {
        if dev.contains(&c.purl) {
            c.scope = Scope::Dev;
        } else if optional.contains(&c.purl) {
            c.scope = Scope::Optional;
        }
    }
    Ok(finish(subject_name, subject_version, parsed))
}

struct Relationship<'a> {
    from: &'a str,
    kind: &'a str,
    to: &'a str,
}

fn read_relationships(top: &Map<String, Value>) -> Result<Vec<Relationship<'_>>, FormatError> {
    let mut out = Vec::new();
    for (i, r) in opt_array(top, "", "relationships")?.iter().enumerate() {
        let path = format!("relationships[{i}]");
        let r = At {
            value: r,
            path: &path,
        }
        .object()?;
        out.push(Relationship {
            from: req_str(r, &path, "spdxElementId")?,
            kind: req_str(r, &path, "relationshipType")?,
            to: req_str(r, &path, "relatedSpdxElement")?,
        });
    }
    Ok(out)
}

fn read_package(
    p: &Map<String, Value>,
    path: &str,
    license_names: &BTreeMap<&str, &str>,
) -> Result<Option<Component>, FormatError> {
    let mut purl = None;
    let refs_path = child_path(path, "externalRefs");
    for (i, reference) in opt_array(p, path, "externalRefs")?.iter().enumerate() {
        let ref_path = format!("{refs_path}[{i}]");
        let reference = At {
            value: reference,
            path: &ref_path,
        }
        .object()?;
        if opt_str(reference, &ref_path, "referenceType")? == Some("purl") {
            let locator = req_str(reference, &ref_path, "referenceLocator")?;
            purl = Some(parse_purl(
                locator,
                child_path(&ref_path, "referenceLocator"),
            )?);
            break;
        }
    }
    let Some(purl) = purl else { return Ok(None) };
    let ecosystem = ecosystem_of(&purl);

    let mut hashes = Vec::new();
    let checksums_path = child_path(path, "checksums");
    for (i, checksum) in opt_array(p, path, "checksums")?.iter().enumerate() {
        let checksum_path = format!("{checksums_path}[{i}]");
        let checksum = At {
            value: checksum,
            path: &checksum_path,
        }
        .object()?;
        let alg = match req_str(checksum, &checksum_path, "algorithm")? {
            "SHA1" => HashAlg::Sha1,
            "SHA256" => HashAlg::Sha256,
            "SHA384" => HashAlg::Sha384,
            "SHA512" => HashAlg::Sha512,
            _ => continue,
        };
        let hex = req_str(checksum, &checksum_path, "checksumValue")?.to_ascii_lowercase();
        hashes.push(Hash { alg, hex });
    }

    let licenses = opt_str(p, path, "licenseDeclared")?
        .map(|expression| licenses_of(expression, license_names))
        .unwrap_or_default();
    let source_file = opt_str(p, path, "sourceInfo")?
        .and_then(|info| info.strip_prefix(SOURCE_INFO_PREFIX))
        .unwrap_or_default()
        .to_string();
    let supplier = match opt_str(p, path, "supplier")? {
        Some(supplier) => Some(supplier),
        None => opt_str(p, path, "originator")?,
    }
    .and_then(actor_name);
    Ok(Some(Component {
        ecosystem,
        name: req_str(p, path, "name")?.to_string(),
        group: match ecosystem {
            Ecosystem::Maven => purl_namespace(&purl),
            _ => None,
        },
        version: opt_str(p, path, "versionInfo")?
            .unwrap_or_default()
            .to_string(),
        purl,
        hashes,
        licenses,
        scope: Scope::Required,
        supplier,
        source_file,
    }))
}

/// The name in an SPDX actor (`Organization: NAME (EMAIL)`, `Person: ...`,
/// `Tool: ...`); `None` for `NOASSERTION` or an empty one.
fn actor_name(actor: &str) -> Option<String> {
    let actor = actor.trim();
    let name = ["Organization:", "Person:", "Tool:"]
        .iter()
        .find_map(|kind| actor.strip_prefix(kind))
        .unwrap_or(actor);
    // The email, if any, is in parentheses at the end.
    let name = match name.rfind(" (") {
        Some(at) if name.ends_with(')') => &name[..at],
        _ => name,
    }
    .trim();
    (!name.is_empty() && name != "NOASSERTION").then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_give_their_name() {
        assert_eq!(
            actor_name("Organization: Red Hat, Inc. (secalert@redhat.com)").as_deref(),
            Some("Red Hat, Inc.")
        );
        assert_eq!(actor_name("Person: Jane Doe").as_deref(), Some("Jane Doe"));
        assert_eq!(actor_name("Debian").as_deref(), Some("Debian"));
        assert_eq!(actor_name("NOASSERTION"), None);
        assert_eq!(actor_name("Organization: "), None);
    }

    #[test]
    fn parenthesised_conjunctions_split_and_others_do_not() {
        assert_eq!(
            split_parenthesised_and("(MIT OR Apache-2.0) AND (LicenseRef-x)"),
            Some(vec!["MIT OR Apache-2.0", "LicenseRef-x"])
        );
        assert_eq!(split_parenthesised_and("MIT AND Apache-2.0"), None);
        assert_eq!(split_parenthesised_and("(MIT OR Apache-2.0)"), None);
        assert_eq!(split_parenthesised_and("(MIT) OR (Apache-2.0)"), None);
        assert_eq!(split_parenthesised_and("(MIT) AND (Apache-2.0"), None);
    }

    #[test]
    fn names_get_unique_license_refs() {
        let mut extracted = ExtractedLicenses::default();
        let licenses = vec![
            "MIT".to_string(),
            "Foo Bar".to_string(),
            "Foo/Bar".to_string(),
        ];
        assert_eq!(
            declared(&licenses, &mut extracted),
            "(MIT) AND (LicenseRef-Foo-Bar) AND (LicenseRef-Foo-Bar-2)"
        );
        assert_eq!(declared(&[], &mut extracted), "NOASSERTION");
    }
}
