//! Each step's environment: the executor clears everything else, so this is
//! all a step sees besides the executor's own `DRONE_OUTPUT`-style variables.
//!
//! In order, later entries winning: `PATH`, `HOME`, `LANG` from the host (or
//! defaults); the CI variables Harness and Drone steps expect; the stage's
//! variables (Harness CI exports them to every step); the step's rendered
//! `envVariables`; a plugin's `settings` as `PLUGIN_<KEY>`.

use std::collections::BTreeMap;

use rampart_pipeline::expr::Value;

use crate::scope::{value_text, value_to_json};

/// Used when the host has no `PATH`.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The few host variables steps inherit, read once per run.
#[derive(Debug, Clone)]
pub(crate) struct HostEnv {
    path: String,
    home: String,
    lang: String,
}

impl HostEnv {
    pub fn from_process() -> Self {
        let var = |name: &str, default: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_string())
        };
        Self {
            path: var("PATH", DEFAULT_PATH),
            home: var("HOME", "/tmp"),
            lang: var("LANG", "C.UTF-8"),
        }
    }
}

/// Who and where the step is, for the CI variables.
pub(crate) struct StepFacts<'a> {
    pub pipeline: &'a str,
    pub sequence_id: u64,
    pub stage_id: &'a str,
    pub stage_name: &'a str,
    pub step_id: &'a str,
    pub step_name: &'a str,
    pub workspace: &'a str,
    pub codebase: &'a BTreeMap<String, String>,
}

/// The environment before the stage's and the step's own variables.
pub(crate) fn base(host: &HostEnv, facts: &StepFacts<'_>) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    let mut set = |k: &str, v: &str| {
        env.insert(k.to_string(), v.to_string());
    };
    set("PATH", &host.path);
    set("HOME", &host.home);
    set("LANG", &host.lang);
    set("CI", "true");
    let build = facts.sequence_id.to_string();
    set("HARNESS_PIPELINE_ID", facts.pipeline);
    set("HARNESS_STAGE_ID", facts.stage_id);
    set("HARNESS_STEP_ID", facts.step_id);
    set("HARNESS_BUILD_ID", &build);
    set("HARNESS_WORKSPACE", facts.workspace);
    set("DRONE_WORKSPACE", facts.workspace);
    set("DRONE_BUILD_NUMBER", &build);
    set("DRONE_STAGE_NAME", facts.stage_name);
    set("DRONE_STEP_NAME", facts.step_name);
    let codebase = |key: &str| facts.codebase.get(key).filter(|v| !v.is_empty());
    if let Some(branch) = codebase("branch") {
        set("DRONE_COMMIT_BRANCH", branch);
        set("DRONE_BRANCH", branch);
    }
    if let Some(sha) = codebase("commitSha") {
        set("DRONE_COMMIT_SHA", sha);
        set("DRONE_COMMIT", sha);
    }
    if let Some(tag) = codebase("tag") {
        set("DRONE_TAG", tag);
    }
    if let Some(url) = codebase("repoUrl") {
        set("DRONE_REMOTE_URL", url);
    }
    env
}

/// Adds the stage's variables by name.
pub(crate) fn add_stage_variables(
    env: &mut BTreeMap<String, String>,
    variables: &BTreeMap<String, Value>,
) {
    for (name, value) in variables {
        env.insert(name.clone(), value_text(value));
    }
}

/// `PLUGIN_<KEY>` for a plugin setting: the key upper-cased with anything
/// but letters and digits turned into `_` (`repo_name` and `repo-name` both
/// give `PLUGIN_REPO_NAME`, as Drone plugins expect).
pub(crate) fn plugin_variable(key: &str) -> String {
    let key: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("PLUGIN_{key}")
}

/// A plugin setting's value: strings as they are, anything else as JSON.
pub(crate) fn plugin_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => value_to_json(other).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> HostEnv {
        HostEnv {
            path: "/bin".into(),
            home: "/home/ci".into(),
            lang: "C.UTF-8".into(),
        }
    }

    #[test]
    fn base_has_host_and_ci_variables() {
        let codebase = BTreeMap::from([("branch".to_string(), "main".to_string())]);
        let env = base(
            &host(),
            &StepFacts {
                pipeline: "p",
                sequence_id: 7,
                stage_id: "build",
                stage_name: "Build",
                step_id: "grp.compile",
                step_name: "Compile",
                workspace: "/ws",
                codebase: &codebase,
            },
        );
        let get = |k: &str| env.get(k).map(String::as_str);
        assert_eq!(get("PATH"), Some("/bin"));
        assert_eq!(get("HOME"), Some("/home/ci"));
        assert_eq!(get("CI"), Some("true"));
        assert_eq!(get("HARNESS_BUILD_ID"), Some("7"));
        assert_eq!(get("DRONE_BUILD_NUMBER"), Some("7"));
        assert_eq!(get("HARNESS_STEP_ID"), Some("grp.compile"));
        assert_eq!(get("DRONE_WORKSPACE"), Some("/ws"));
        assert_eq!(get("HARNESS_WORKSPACE"), Some("/ws"));
        assert_eq!(get("DRONE_STAGE_NAME"), Some("Build"));
        assert_eq!(get("DRONE_STEP_NAME"), Some("Compile"));
        assert_eq!(get("DRONE_BRANCH"), Some("main"));
        assert_eq!(get("DRONE_COMMIT_BRANCH"), Some("main"));
        assert_eq!(get("DRONE_TAG"), None);
    }

    #[test]
    fn plugin_settings_become_plugin_variables() {
        assert_eq!(plugin_variable("repo_name"), "PLUGIN_REPO_NAME");
        assert_eq!(plugin_variable("build-args"), "PLUGIN_BUILD_ARGS");
        assert_eq!(plugin_variable("tags"), "PLUGIN_TAGS");
        assert_eq!(plugin_value(&Value::String("x".into())), "x");
        assert_eq!(
            plugin_value(&Value::List(vec![
                Value::String("a".into()),
                Value::Number(2.0)
            ])),
            r#"["a",2]"#
        );
        assert_eq!(plugin_value(&Value::Bool(true)), "true");
    }
}
