//! Rego policy gates, compatible with Harness SCS policies.
//!
//! Two kinds of policy run here, each `.rego` file in its own engine (all
//! Harness samples say `package sbom`, so files sharing a package must not
//! see each other's rules):
//!
//! - **SBOM policies** declare Harness's `deny_list` / `allow_list`
//!   (`deny_list := fill_default_deny_rules([...])`). The input is what
//!   Harness documents: an array of components `{uuid, packageName,
//!   packageVersion, packageLicense: [..], purl, packageOriginatorName}`
//!   (`uuid` is the purl; `packageOriginatorName` is the component's
//!   supplier, which only an ingested SBOM can state: lockfiles name none,
//!   so for their components it is absent and an allow list of suppliers
//!   fails them, as Harness documents for missing attributes). The
//!   file's own lists are evaluated, then judged by our implementation of
//!   Harness's enforcement logic (`harness_sbom.rego`). A file that omits
//!   Harness's "DO NOT CHANGE" script gets `fill_default_deny_rules` /
//!   `fill_default_allow_rules` supplied in its package; a file that keeps
//!   the script works too, since only its lists are read.
//! - **Plain OPA rules**: any `deny` set (`deny[msg] { .. }` or
//!   `deny contains msg if { .. }`) is reported, message by message, for
//!   SBOMs and for provenance. Provenance input is Harness's SLSA
//!   Verification shape, the in-toto Statement wrapped as
//!   `input[0].outcome.stepArtifacts.provenanceArtifacts[0]`, so Harness's
//!   documented policies over `...predicate.buildDefinition.externalParameters`
//!   run unchanged.
//!
//! Files are parsed as Rego v0 (Harness's dialect; `import rego.v1` opts a
//! file into v1 keywords), falling back to Rego v1. Evaluation of each query
//! is limited to [`EVAL_TIME_LIMIT`] by regorus's cooperative timer, which
//! one builtin call cannot outrun: the builtins that build arrays as large
//! as asked are replaced by bounded ones (`bounded`). regorus also caps a
//! policy file's size and line count (its defaults). Failures are
//! [`PolicyError`]s, never panics.
//!
//! Versions in deny rules are ordered by [`version::compare_versions`],
//! exposed to Rego as the `rampart_version_cmp` extension, rather than
//! `semver.compare`, which fails on versions that are not semver.

mod bounded;
mod version;

use std::fmt;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use regorus::utils::limits::ExecutionTimerConfig;
use regorus::{Engine, Value};
use serde_json::{Value as Json, json};

use crate::sbom::Sbom;

pub use bounded::MAX_RANGE_ELEMENTS;
pub use version::compare_versions;

/// The longest one policy query may run before it is abandoned.
pub const EVAL_TIME_LIMIT: Duration = Duration::from_secs(5);

/// Work units between clock reads of the evaluation timer.
const TIMER_CHECK_INTERVAL: NonZeroU32 = match NonZeroU32::new(64) {
    Some(n) => n,
    None => NonZeroU32::MIN,
};

const LIBRARY_PATH: &str = "rampart/harness_sbom.rego";
const LIBRARY: &str = include_str!("harness_sbom.rego");
const LIBRARY_RULE: &str = "data.rampart.harness_sbom.violations";

/// Attributes a deny rule may constrain, and the operators each accepts.
const STRING_OPERATORS: &[&str] = &["==", "!", "!=", "~"];
const VERSION_OPERATORS: &[&str] = &[
    "==", "!", "!=", "<", "<=", ">", ">=", "><", ">=<", "><=", ">=<=", "~",
];
const DENY_KEYS: &[&str] = &["name", "version", "license", "purl", "supplier"];
/// Allow-list groups and the key of each rule in them.
const ALLOW_GROUPS: &[(&str, &str)] = &[
    ("licenses", "license"),
    ("suppliers", "supplier"),
    ("purls", "purl"),
];

/// Why policies could not be loaded or evaluated.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file is not valid Rego; the message names `file:line:col`.
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    /// A policy failed while running, or produced values of the wrong shape.
    #[error("{policy}: {message}")]
    Eval { policy: String, message: String },
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// One thing a policy refused.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Violation {
    /// The policy file's name.
    pub policy: String,
    /// `deny_list[2]`, `allow_list.licenses` or `deny`.
    pub rule: String,
    /// The component's purl, for SBOM list rules.
    pub component: Option<String>,
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: ", self.policy, self.rule)?;
        if let Some(component) = &self.component {
            write!(f, "{component}: ")?;
        }
        // One line, whatever the policy's message holds.
        let mut lines = self.message.lines();
        f.write_str(lines.next().unwrap_or(""))?;
        for line in lines {
            write!(f, " {line}")?;
        }
        Ok(())
    }
}

/// One loaded policy file.
#[derive(Clone)]
struct Policy {
    name: String,
    /// `data.<package>`.
    package: String,
    engine: Engine,
    has_lists: bool,
    has_deny: bool,
}

/// The policies a gate applies, each file evaluated on its own.
#[derive(Clone)]
pub struct PolicySet {
    policies: Vec<Policy>,
    library: Engine,
}

impl fmt::Debug for PolicySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.policies.iter().map(|p| p.name.as_str()).collect();
        f.debug_struct("PolicySet")
            .field("policies", &names)
            .finish()
    }
}

/// An engine with the evaluation limits; `policy` labels its error.
fn new_engine(policy: &str) -> Result<Engine, PolicyError> {
    let mut engine = Engine::new();
    engine.set_execution_timer_config(ExecutionTimerConfig {
        limit: EVAL_TIME_LIMIT,
        check_interval: TIMER_CHECK_INTERVAL,
    });
    bounded::install(&mut engine).map_err(|e| eval_error(policy, e))?;
    Ok(engine)
}

fn eval_error(policy: &str, error: impl fmt::Display) -> PolicyError {
    PolicyError::Eval {
        policy: policy.to_string(),
        message: error.to_string().trim().to_string(),
    }
}

impl PolicySet {
    /// Loads a `.rego` file, or every `.rego` file directly in a directory
    /// (sorted by name).
    pub fn load(path: &Path) -> Result<PolicySet, PolicyError> {
        let io = |source| PolicyError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut files = Vec::new();
        if std::fs::metadata(path).map_err(io)?.is_dir() {
            for entry in std::fs::read_dir(path).map_err(io)? {
                let entry = entry.map_err(io)?;
                let file = entry.path();
                let is_file = entry.file_type().map_err(io)?.is_file();
                if is_file && file.extension().is_some_and(|e| e == "rego") {
                    files.push(file);
                }
            }
            files.sort();
        } else {
            files.push(path.to_path_buf());
        }
        let mut sources = Vec::with_capacity(files.len());
        for file in files {
            let text = std::fs::read_to_string(&file).map_err(|source| PolicyError::Io {
                path: file.clone(),
                source,
            })?;
            let name = file.file_name().map_or_else(
                || file.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            sources.push((name, text));
        }
        PolicySet::from_sources(sources)
    }

    /// Compiles `(name, rego)` pairs; `name` labels errors and violations.
    pub fn from_sources(sources: Vec<(String, String)>) -> Result<PolicySet, PolicyError> {
        let mut library = new_engine(LIBRARY_PATH)?;
        library
            .add_extension(
                "rampart_version_cmp".to_string(),
                2,
                Box::new(|args: Vec<Value>| {
                    let [a, b] = args.as_slice() else {
                        return Ok(Value::Undefined);
                    };
                    let order = compare_versions(a.as_string()?, b.as_string()?);
                    Ok(Value::from(order as i64))
                }),
            )
            .and_then(|()| library.add_policy(LIBRARY_PATH.to_string(), LIBRARY.to_string()))
            .map_err(|e| eval_error(LIBRARY_PATH, e))?;
        let policies = sources
            .into_iter()
            .map(|(name, rego)| compile(name, rego))
            .collect::<Result<_, _>>()?;
        Ok(PolicySet { policies, library })
    }

    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// Applies the policies' deny/allow lists and `deny` rules to an SBOM.
    pub fn evaluate_sbom(&self, sbom: &Sbom) -> Result<Vec<Violation>, PolicyError> {
        let components = harness_components(sbom);
        let input = Value::from(components.clone());
        let mut out = Vec::new();
        for policy in &self.policies {
            if !policy.has_lists && !policy.has_deny {
                continue;
            }
            let mut engine = policy.engine.clone();
            engine.set_input(input.clone());
            if policy.has_lists {
                out.extend(self.list_violations(policy, &mut engine, &components)?);
            }
            if policy.has_deny {
                out.extend(deny_violations(policy, &mut engine)?);
            }
        }
        Ok(out)
    }

    /// Applies the policies' `deny` rules to an in-toto Statement carrying
    /// SLSA provenance, given as Harness's SLSA Verification step gives it.
    pub fn evaluate_provenance(&self, statement: &Json) -> Result<Vec<Violation>, PolicyError> {
        let input = Value::from(json!([
            {"outcome": {"stepArtifacts": {"provenanceArtifacts": [statement]}}}
        ]));
        let mut out = Vec::new();
        for policy in self.policies.iter().filter(|p| p.has_deny) {
            let mut engine = policy.engine.clone();
            engine.set_input(input.clone());
            out.extend(deny_violations(policy, &mut engine)?);
        }
        Ok(out)
    }

    fn list_violations(
        &self,
        policy: &Policy,
        engine: &mut Engine,
        components: &Json,
    ) -> Result<Vec<Violation>, PolicyError> {
        let deny_list = match eval_json(policy, engine, "deny_list")? {
            Json::Null => Json::Array(Vec::new()),
            list => list,
        };
        let allow_list = match eval_json(policy, engine, "allow_list")? {
            Json::Null => json!({}),
            list => list,
        };
        let deny_rules = check_deny_list(&deny_list).map_err(|m| eval_error(&policy.name, m))?;
        check_allow_list(&allow_list).map_err(|m| eval_error(&policy.name, m))?;
        let mut library = self.library.clone();
        library.set_input(Value::from(json!({
            "components": components,
            "deny_list": deny_list,
            "allow_list": allow_list,
        })));
        let found = library
            .eval_rule(LIBRARY_RULE.to_string())
            .map_err(|e| eval_error(&policy.name, e))?;
        let found = to_json(&found);
        let mut out = Vec::new();
        for hit in found.as_array().into_iter().flatten() {
            let text = |key: &str| hit.get(key).and_then(Json::as_str);
            let rule = text("rule").unwrap_or_default().to_string();
            let message = if let Some(index) = hit.get("index").and_then(Json::as_u64) {
                let index = usize::try_from(index).unwrap_or(usize::MAX);
                let conditions = deny_rules
                    .get(index)
                    .map(String::as_str)
                    .unwrap_or_default();
                format!("denied: {conditions}")
            } else if let Some(missing) = text("missing") {
                format!("has no {missing}, and {rule} admits only the {missing}s it lists")
            } else {
                let (group, key) = ALLOW_GROUPS
                    .iter()
                    .find(|(group, _)| rule.ends_with(group))
                    .copied()
                    .unwrap_or(("", "value"));
                let value = text("value").unwrap_or_default();
                format!("{key} {value:?} is not in allow_list.{group}")
            };
            out.push(Violation {
                policy: policy.name.clone(),
                rule,
                component: text("component").map(str::to_string),
                message,
            });
        }
        Ok(out)
    }
}

/// Parses one file (Rego v0, then v1) and supplies Harness's fill helpers
/// in its package when it does not define them.
fn compile(name: String, rego: String) -> Result<Policy, PolicyError> {
    let mut engine = new_engine(&name)?;
    engine.set_rego_v0(true);
    let package = match engine.add_policy(name.clone(), rego.clone()) {
        Ok(package) => package,
        Err(v0_error) => {
            engine = new_engine(&name)?;
            engine
                .add_policy(name.clone(), rego)
                .map_err(|_| PolicyError::Parse {
                    file: name.clone(),
                    message: v0_error.to_string().trim().to_string(),
                })?
        }
    };
    let declares = |engine: &Engine, rule: &str| {
        engine
            .has_declared_rule_rooted_at(&name, rule)
            .map_err(|e| eval_error(&name, e))
    };
    let has_lists = declares(&engine, "deny_list")? || declares(&engine, "allow_list")?;
    let has_deny = declares(&engine, "deny")?;
    if has_lists {
        let mut prelude = String::new();
        if !declares(&engine, "fill_default_deny_rules")? {
            prelude.push_str("fill_default_deny_rules(rules) := rules\n");
        }
        if !declares(&engine, "fill_default_allow_rules")? {
            prelude.push_str("fill_default_allow_rules(rules) := rules\n");
        }
        if !prelude.is_empty() {
            let header = package_header(&engine, &name)?;
            engine
                .add_policy(
                    format!("{name} (rampart prelude)"),
                    format!("{header}\n{prelude}"),
                )
                .map_err(|e| eval_error(&name, e))?;
        }
    }
    Ok(Policy {
        name,
        package,
        engine,
        has_lists,
        has_deny,
    })
}

/// `package a.b["c.d"]` for the package of the module loaded from `name`.
fn package_header(engine: &Engine, name: &str) -> Result<String, PolicyError> {
    let packages = engine
        .get_policy_package_components()
        .map_err(|e| eval_error(name, e))?;
    let components = packages
        .iter()
        .find(|p| p.source_file == name)
        .map(|p| p.components.as_slice())
        .unwrap_or_default();
    let mut header = String::from("package ");
    for (i, component) in components.iter().enumerate() {
        let identifier = component
            .chars()
            .enumerate()
            .all(|(j, c)| c == '_' || c.is_ascii_alphabetic() || (j > 0 && c.is_ascii_digit()));
        if identifier && !component.is_empty() {
            if i > 0 {
                header.push('.');
            }
            header.push_str(component);
        } else {
            header.push('[');
            header.push_str(&Json::from(component.as_str()).to_string());
            header.push(']');
        }
    }
    Ok(header)
}

fn to_json(value: &Value) -> Json {
    match value {
        Value::Undefined => Json::Null,
        value => serde_json::to_value(value).unwrap_or(Json::Null),
    }
}

/// A rule of the policy's package as JSON; `Null` when undefined or when
/// the package has no such rule (a query, unlike `eval_rule`, allows that:
/// a deny-list policy need not define `allow_list`).
fn eval_json(policy: &Policy, engine: &mut Engine, rule: &str) -> Result<Json, PolicyError> {
    let results = engine
        .eval_query(format!("{}.{rule}", policy.package), false)
        .map_err(|e| eval_error(&policy.name, e))?;
    let value = results
        .result
        .first()
        .and_then(|r| r.expressions.first())
        .map(|e| to_json(&e.value))
        .unwrap_or(Json::Null);
    Ok(value)
}

/// Each message of the package's `deny` set.
fn deny_violations(policy: &Policy, engine: &mut Engine) -> Result<Vec<Violation>, PolicyError> {
    let messages = match eval_json(policy, engine, "deny")? {
        Json::Null => Vec::new(),
        Json::Array(messages) => messages,
        other => {
            return Err(eval_error(
                &policy.name,
                format!("deny must be a set of messages, not {other}"),
            ));
        }
    };
    Ok(messages
        .into_iter()
        .map(|message| Violation {
            policy: policy.name.clone(),
            rule: "deny".to_string(),
            component: None,
            message: match message {
                Json::String(text) => text,
                Json::Object(ref fields) => match fields.get("msg") {
                    Some(Json::String(text)) => text.clone(),
                    _ => message.to_string(),
                },
                other => other.to_string(),
            },
        })
        .collect())
}

/// The SBOM as Harness's policy input: one object per component.
fn harness_components(sbom: &Sbom) -> Json {
    Json::Array(
        sbom.components
            .iter()
            .map(|c| {
                let mut component = json!({
                    "uuid": c.purl.as_str(),
                    "packageName": c.name,
                    "packageVersion": c.version,
                    "packageLicense": c.licenses,
                    "purl": c.purl.as_str(),
                });
                if let Some(supplier) = &c.supplier {
                    component["packageOriginatorName"] = json!(supplier);
                }
                component
            })
            .collect(),
    )
}

/// Checks one `{"value": .., "operator": ..}` condition; `None` when it sets
/// no value, else its description (`version <= "3.0.0"`).
fn check_condition(
    key: &str,
    condition: &Json,
    operators: &[&str],
) -> Result<Option<String>, String> {
    let fields = condition
        .as_object()
        .ok_or_else(|| format!("{key} must be an object with value and operator"))?;
    if let Some(extra) = fields.keys().find(|k| *k != "value" && *k != "operator") {
        return Err(format!("{key} has an unknown field {extra:?}"));
    }
    let operator = match fields.get("operator") {
        None | Some(Json::Null) => None,
        Some(Json::String(op)) if operators.contains(&op.as_str()) => Some(op.as_str()),
        Some(op) => {
            return Err(format!(
                "{key} has operator {op}, not one of {}",
                operators.join(" ")
            ));
        }
    };
    match fields.get("value") {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(value)) => {
            if operator.is_some_and(|op| op.len() >= 3 || op == "><")
                && value.split(',').count() != 2
            {
                return Err(format!("{key} range {value:?} must be \"LOW,HIGH\""));
            }
            Ok(Some(format!(
                "{key} {} {value:?}",
                operator.unwrap_or("==")
            )))
        }
        Some(other) => Err(format!("{key} value {other} must be a string")),
    }
}

/// Checks the shape of a deny list and describes each rule.
fn check_deny_list(list: &Json) -> Result<Vec<String>, String> {
    let rules = list
        .as_array()
        .ok_or_else(|| format!("deny_list must be an array of rules, not {list}"))?;
    let mut described = Vec::with_capacity(rules.len());
    for (i, rule) in rules.iter().enumerate() {
        let fields = rule
            .as_object()
            .ok_or_else(|| format!("deny_list[{i}] must be an object"))?;
        let mut conditions = Vec::new();
        for (key, condition) in fields {
            if !DENY_KEYS.contains(&key.as_str()) {
                return Err(format!(
                    "deny_list[{i}]: unsupported attribute {key:?} (supported: {})",
                    DENY_KEYS.join(", ")
                ));
            }
            let operators = if key == "version" {
                VERSION_OPERATORS
            } else {
                STRING_OPERATORS
            };
            let described = check_condition(key, condition, operators)
                .map_err(|m| format!("deny_list[{i}].{m}"))?;
            conditions.extend(described);
        }
        described.push(if conditions.is_empty() {
            "every component (the rule sets no condition)".to_string()
        } else {
            conditions.join(", ")
        });
    }
    Ok(described)
}

/// Checks the shape of an allow list.
fn check_allow_list(list: &Json) -> Result<(), String> {
    let groups = list
        .as_object()
        .ok_or_else(|| format!("allow_list must be an object, not {list}"))?;
    for (group, rules) in groups {
        let Some((_, key)) = ALLOW_GROUPS.iter().find(|(g, _)| g == group) else {
            return Err(format!(
                "allow_list: unsupported group {group:?} (supported: licenses, suppliers, purls)"
            ));
        };
        let rules = rules
            .as_array()
            .ok_or_else(|| format!("allow_list.{group} must be an array"))?;
        for (i, rule) in rules.iter().enumerate() {
            let condition = rule
                .as_object()
                .filter(|fields| fields.len() == 1)
                .and_then(|fields| fields.get(*key))
                .ok_or_else(|| format!("allow_list.{group}[{i}] must be {{\"{key}\": {{..}}}}"))?;
            check_condition(key, condition, STRING_OPERATORS)
                .map_err(|m| format!("allow_list.{group}[{i}].{m}"))?;
        }
    }
    Ok(())
}
