//! CycloneDX 1.6 JSON: written from an [`Sbom`], and read back from ours or
//! from other tools' documents (Syft's `cyclonedx-json`, ...).
//!
//! Reading keeps what the model can hold and ignores the rest: unknown
//! fields are ignored; components without a `purl`, or whose purl type is
//! not one of [`crate::sbom::Ecosystem`]'s (`pkg:deb`, `pkg:github`, ...),
//! are left out, and so are dependency edges that name them. Hashes of
//! other algorithms (MD5, BLAKE3, ...) and licenses given only by URL are
//! dropped. A malformed purl, or a field of the wrong type, is an error.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::document::{
    At, DocumentInfo, FormatError, child_path, ecosystem_of, finish, is_compound_expression,
    is_spdx_expression, is_spdx_license_id, opt_array, opt_str, parse_purl, purl_namespace,
    req_str,
};
use crate::sbom::{Component, Ecosystem, Hash, HashAlg, Parsed, Purl, Sbom, Scope};

/// Where a component's lockfile is recorded, as a component property.
const SOURCE_FILE_PROPERTY: &str = "rampart:source_file";

/// The pretty-printed CycloneDX 1.6 document for `sbom`.
pub fn write(sbom: &Sbom, info: &DocumentInfo) -> String {
    let root_ref = root_ref(sbom);
    let mut root = json!({
        "type": "application",
        "bom-ref": root_ref,
        "name": sbom.subject_name,
    });
    if let Some(version) = &sbom.subject_version {
        root["version"] = json!(version);
    }
    let components: Vec<Value> = sbom.components.iter().map(component).collect();
    // Only what is known: a component absent from `dependencies` has
    // unknown dependencies, one listed with none has none.
    let mut dependencies = Vec::new();
    if !sbom.direct.is_empty() {
        dependencies.push(json!({
            "ref": root_ref,
            "dependsOn": sbom.direct.iter().map(Purl::as_str).collect::<Vec<_>>(),
        }));
    }
    for (from, to) in &sbom.dependencies {
        dependencies.push(json!({
            "ref": from.as_str(),
            "dependsOn": to.iter().map(Purl::as_str).collect::<Vec<_>>(),
        }));
    }
    let document = json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{}", info.uuid()),
        "version": 1,
        "metadata": {
            "timestamp": info.created,
            "tools": {
                "components": [{
                    "type": "application",
                    "name": info.tool_name,
                    "version": info.tool_version,
                }],
            },
            "component": root,
        },
        "components": components,
        "dependencies": dependencies,
    });
    format!("{document:#}")
}

/// The subject's `bom-ref`; components' refs are purls (`pkg:...`), so it
/// cannot collide with one.
fn root_ref(sbom: &Sbom) -> String {
    match &sbom.subject_version {
        Some(version) => format!("subject:{}@{version}", sbom.subject_name),
        None => format!("subject:{}", sbom.subject_name),
    }
}

fn component(c: &Component) -> Value {
    let mut out = json!({
        "type": "library",
        "bom-ref": c.bom_ref(),
        "name": c.name,
        "version": c.version,
        "purl": c.purl.as_str(),
        "scope": match c.scope {
            Scope::Required => "required",
            Scope::Optional => "optional",
            Scope::Dev => "excluded",
        },
    });
    if let Some(group) = &c.group {
        out["group"] = json!(group);
    }
    if let Some(supplier) = &c.supplier {
        out["supplier"] = json!({"name": supplier});
    }
    if !c.hashes.is_empty() {
        let hashes: Vec<Value> = c
            .hashes
            .iter()
            .map(|h| json!({"alg": alg_name(h.alg), "content": h.hex}))
            .collect();
        out["hashes"] = Value::Array(hashes);
    }
    if !c.licenses.is_empty() {
        out["licenses"] = licenses(&c.licenses);
    }
    if !c.source_file.is_empty() {
        out["properties"] = json!([{"name": SOURCE_FILE_PROPERTY, "value": c.source_file}]);
    }
    out
}

/// CycloneDX 1.6 allows either license entries or exactly one expression
/// per component: a lone compound expression is written as one, anything
/// else as entries (listed ids by `id`, other text, including compound
/// expressions among several licenses, by `name`).
fn licenses(licenses: &[String]) -> Value {
    if let [only] = licenses
        && is_compound_expression(only)
        && is_spdx_expression(only)
    {
        return json!([{"expression": only}]);
    }
    let entries: Vec<Value> = licenses
        .iter()
        .map(|license| {
            if is_spdx_license_id(license) {
                json!({"license": {"id": license}})
            } else {
                json!({"license": {"name": license}})
            }
        })
        .collect();
    Value::Array(entries)
}

fn alg_name(alg: HashAlg) -> &'static str {
    match alg {
        HashAlg::Sha1 => "SHA-1",
        HashAlg::Sha256 => "SHA-256",
        HashAlg::Sha384 => "SHA-384",
        HashAlg::Sha512 => "SHA-512",
    }
}

/// The SBOM a CycloneDX JSON document (any 1.x) describes.
pub fn read(text: &str) -> Result<Sbom, FormatError> {
    let document: Value = serde_json::from_str(text)?;
    let top = At {
        value: &document,
        path: "",
    }
    .object()
    .map_err(|_| FormatError::WrongFormat {
        format: "CycloneDX",
        reason: "the top level is not a JSON object".to_string(),
    })?;
    match opt_str(top, "", "bomFormat")? {
        Some("CycloneDX") => {}
        other => {
            return Err(FormatError::WrongFormat {
                format: "CycloneDX",
                reason: format!("bomFormat is {other:?}, not \"CycloneDX\""),
            });
        }
    }
    let (subject_name, subject_version, root_ref) = match top.get("metadata") {
        None | Some(Value::Null) => (String::new(), None, None),
        Some(metadata) => {
            let metadata = At {
                value: metadata,
                path: "metadata",
            }
            .object()?;
            match metadata.get("component") {
                None | Some(Value::Null) => (String::new(), None, None),
                Some(root) => {
                    let path = "metadata.component";
                    let root = At { value: root, path }.object()?;
                    (
                        opt_str(root, path, "name")?.unwrap_or_default().to_string(),
                        opt_str(root, path, "version")?.map(str::to_string),
                        opt_str(root, path, "bom-ref")?,
                    )
                }
            }
        }
    };

    let mut parsed = Parsed::default();
    let mut purl_by_ref: BTreeMap<&str, Purl> = BTreeMap::new();
    read_components(top, "", &mut parsed.components, &mut purl_by_ref)?;

    for (i, dependency) in opt_array(top, "", "dependencies")?.iter().enumerate() {
        let path = format!("dependencies[{i}]");
        let dependency = At {
            value: dependency,
            path: &path,
        }
        .object()?;
        let from = req_str(dependency, &path, "ref")?;
        let targets_path = child_path(&path, "dependsOn");
        for (j, target) in opt_array(dependency, &path, "dependsOn")?
            .iter()
            .enumerate()
        {
            let target_path = format!("{targets_path}[{j}]");
            let target = target.as_str().ok_or_else(|| {
                At {
                    value: target,
                    path: &target_path,
                }
                .wrong("a string")
            })?;
            let Some(to) = purl_by_ref.get(target) else {
                continue;
            };
            if Some(from) == root_ref {
                parsed.direct.push(to.clone());
            } else if let Some(from) = purl_by_ref.get(from) {
                parsed.edges.push((from.clone(), to.clone()));
            }
        }
    }
    Ok(finish(subject_name, subject_version, parsed))
}

/// The components under `parent` (the document, or a component that nests
/// others), depth first.
fn read_components<'a>(
    parent: &'a Map<String, Value>,
    parent_path: &str,
    out: &mut Vec<Component>,
    purl_by_ref: &mut BTreeMap<&'a str, Purl>,
) -> Result<(), FormatError> {
    let list_path = child_path(parent_path, "components");
    for (i, value) in opt_array(parent, parent_path, "components")?
        .iter()
        .enumerate()
    {
        let path = format!("{list_path}[{i}]");
        let object = At { value, path: &path }.object()?;
        if let Some(component) = read_component(object, &path)? {
            if let Some(bom_ref) = opt_str(object, &path, "bom-ref")? {
                purl_by_ref.insert(bom_ref, component.purl.clone());
            }
            out.push(component);
        }
        read_components(object, &path, out, purl_by_ref)?;
    }
    Ok(())
}

fn read_component(c: &Map<String, Value>, path: &str) -> Result<Option<Component>, FormatError> {
    let Some(purl_text) = opt_str(c, path, "purl")? else {
        return Ok(None);
    };
    let purl = parse_purl(purl_text, child_path(path, "purl"))?;
    let ecosystem = ecosystem_of(&purl);
    let mut name = req_str(c, path, "name")?.to_string();
    let mut group = opt_str(c, path, "group")?.map(str::to_string);
    match ecosystem {
        // The model keeps an npm scope in the name, as npm writes it.
        Ecosystem::Npm => {
            if let Some(scope) = group.take().filter(|g| !g.is_empty()) {
                name = format!("{scope}/{name}");
            }
        }
        Ecosystem::Maven => {
            if group.is_none() {
                group = purl_namespace(&purl);
            }
        }
        _ => group = None,
    }

    let mut hashes = Vec::new();
    let hashes_path = child_path(path, "hashes");
    for (i, hash) in opt_array(c, path, "hashes")?.iter().enumerate() {
        let hash_path = format!("{hashes_path}[{i}]");
        let hash = At {
            value: hash,
            path: &hash_path,
        }
        .object()?;
        let alg = match req_str(hash, &hash_path, "alg")? {
            "SHA-1" => HashAlg::Sha1,
            "SHA-256" => HashAlg::Sha256,
            "SHA-384" => HashAlg::Sha384,
            "SHA-512" => HashAlg::Sha512,
            _ => continue,
        };
        let hex = req_str(hash, &hash_path, "content")?.to_ascii_lowercase();
        hashes.push(Hash { alg, hex });
    }

    let mut licenses = Vec::new();
    let licenses_path = child_path(path, "licenses");
    for (i, entry) in opt_array(c, path, "licenses")?.iter().enumerate() {
        let entry_path = format!("{licenses_path}[{i}]");
        let entry = At {
            value: entry,
            path: &entry_path,
        }
        .object()?;
        if let Some(expression) = opt_str(entry, &entry_path, "expression")? {
            licenses.push(expression.to_string());
        } else if let Some(license) = entry.get("license") {
            let license_path = child_path(&entry_path, "license");
            let license = At {
                value: license,
                path: &license_path,
            }
            .object()?;
            let text = match opt_str(license, &license_path, "id")? {
                Some(id) => Some(id),
                None => opt_str(license, &license_path, "name")?,
            };
            if let Some(text) = text {
                licenses.push(text.to_string());
            }
        }
    }

    let scope = match opt_str(c, path, "scope")? {
        None | Some("required") => Scope::Required,
        Some("optional") => Scope::Optional,
        Some("excluded") => Scope::Dev,
        Some(_) => {
            return Err(FormatError::WrongType {
                path: child_path(path, "scope"),
                expected: "\"required\", \"optional\" or \"excluded\"",
            });
        }
    };

    let mut source_file = String::new();
    let properties_path = child_path(path, "properties");
    for (i, property) in opt_array(c, path, "properties")?.iter().enumerate() {
        let property_path = format!("{properties_path}[{i}]");
        let property = At {
            value: property,
            path: &property_path,
        }
        .object()?;
        if opt_str(property, &property_path, "name")? == Some(SOURCE_FILE_PROPERTY) {
            source_file = opt_str(property, &property_path, "value")?
                .unwrap_or_default()
                .to_string();
        }
    }

    let supplier = match c.get("supplier") {
        Some(supplier) => {
            let supplier_path = child_path(path, "supplier");
            let entity = At {
                value: supplier,
                path: &supplier_path,
            }
            .object()?;
            opt_str(entity, &supplier_path, "name")?
                .filter(|name| !name.trim().is_empty())
                .map(str::to_string)
        }
        None => None,
    };

    Ok(Some(Component {
        ecosystem,
        name,
        group,
        version: opt_str(c, path, "version")?.unwrap_or_default().to_string(),
        purl,
        hashes,
        licenses,
        scope,
        supplier,
        source_file,
    }))
}
