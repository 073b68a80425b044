//! Every example pipeline is valid against Harness's published v0 JSON schema,
//! so the examples are pipelines Harness itself would accept.

mod common;

use std::path::Path;

use saphyr::{LoadableYamlNode, Scalar, Yaml};
use serde_json::Value;

fn schema_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/harness-schema/pipeline.json")
}

fn to_json(node: &Yaml) -> Value {
    match node {
        Yaml::Value(scalar) => match scalar {
            Scalar::Null => Value::Null,
            Scalar::Boolean(b) => Value::Bool(*b),
            Scalar::Integer(i) => Value::from(*i),
            Scalar::FloatingPoint(f) => Value::from(f.into_inner()),
            Scalar::String(s) => Value::String(s.to_string()),
        },
        Yaml::Sequence(items) => Value::Array(items.iter().map(to_json).collect()),
        Yaml::Mapping(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = match to_json(k) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Yaml::Representation(text, _, _) => Value::String(text.to_string()),
        other => panic!("unexpected YAML node in an example: {other:?}"),
    }
}

/// Harness's published schema breaks JSON Schema's own rules in a few places
/// that a strict compiler rejects: keywords set to `null` (`"minLength": null`),
/// a property whose schema is written as a one-element list, a `$schema` string
/// listed among `properties`, and an empty `allOf`. This rewrites exactly those
/// to what they evidently mean (no constraint; any of the listed schemas; not a
/// property; no constraint) and touches nothing else.
fn repair_schema(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            map.retain(|key, value| match value {
                Value::Null => matches!(key.as_str(), "default" | "const" | "examples"),
                Value::Array(items) => {
                    !(items.is_empty() && matches!(key.as_str(), "allOf" | "anyOf" | "oneOf"))
                }
                _ => true,
            });
            if let Some(Value::Object(properties)) = map.get_mut("properties") {
                properties.retain(|_, property| {
                    property.is_object() || property.is_boolean() || property.is_array()
                });
                for property in properties.values_mut() {
                    if let Value::Array(alternatives) = property {
                        *property = serde_json::json!({ "anyOf": std::mem::take(alternatives) });
                    }
                }
            }
            map.values_mut().for_each(repair_schema);
        }
        Value::Array(items) => items.iter_mut().for_each(repair_schema),
        _ => {}
    }
}

#[test]
fn examples_match_the_harness_v0_schema() {
    let mut schema: Value = serde_json::from_slice(
        &std::fs::read(schema_path()).expect("shared/harness-schema is next to the project"),
    )
    .unwrap();
    repair_schema(&mut schema);
    let validator = jsonschema::validator_for(&schema).expect("the Harness schema compiles");
    let mut checked = 0;
    for entry in std::fs::read_dir(common::examples_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "yaml") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        for document in Yaml::load_from_str(&source).unwrap() {
            let mut json = to_json(&document);
            // `version:` marks the file format; the pipeline schema describes `pipeline:` only.
            if let Value::Object(map) = &mut json {
                map.remove("version");
            }
            let errors: Vec<String> = validator
                .iter_errors(&json)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(
                errors.is_empty(),
                "{} does not match the Harness schema:\n{}",
                path.display(),
                errors.join("\n")
            );
            checked += 1;
        }
    }
    assert!(checked >= 9, "only {checked} pipelines checked");
}
