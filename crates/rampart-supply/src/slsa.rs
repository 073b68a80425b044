//! SLSA v1.0 provenance predicates, built from facts the engine observed.
//! <https://slsa.dev/spec/v1.0/provenance>

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;

use crate::intoto::{SLSA_PROVENANCE_V1, Statement, Subject};

/// The build type of a Rampart pipeline run: the URI names the schema of
/// `externalParameters` and `internalParameters` below.
pub const BUILD_TYPE: &str = "https://rampart.dev/build-types/pipeline/v1";

/// Where the build's source came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFacts {
    pub uri: String,
    pub commit: Option<String>,
    /// `refs/heads/main`, `refs/tags/v1`.
    pub git_ref: Option<String>,
}

/// An input of the build, by URI and digests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceDescriptor {
    pub uri: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub digest: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// What the caller observed of the run; times are RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenanceFacts {
    pub builder_id: String,
    pub run_id: String,
    pub started_on: String,
    pub finished_on: String,
    /// The pipeline's identifier.
    pub pipeline: String,
    pub pipeline_file: Option<String>,
    pub source: Option<SourceFacts>,
    /// Runtime inputs and variables. The caller leaves out anything that
    /// holds a secret: the statement is public.
    pub runtime_inputs: BTreeMap<String, String>,
    /// How the run started: `manual`, `webhook:push`, ...
    pub trigger: String,
    pub resolved_dependencies: Vec<ResourceDescriptor>,
}

/// A provenance statement about `subjects`.
pub fn provenance(subjects: Vec<Subject>, facts: &ProvenanceFacts) -> Statement {
    let mut external = serde_json::Map::new();
    external.insert("pipeline".into(), json!(facts.pipeline));
    if let Some(file) = &facts.pipeline_file {
        external.insert("pipelineFile".into(), json!(file));
    }
    if let Some(source) = &facts.source {
        let mut value = serde_json::Map::new();
        value.insert("uri".into(), json!(source.uri));
        if let Some(git_ref) = &source.git_ref {
            value.insert("ref".into(), json!(git_ref));
        }
        external.insert("source".into(), value.into());
        // The same facts where Harness's provenance has them, so SLSA
        // policies written for Harness (`codeMetadata.repositoryURL`,
        // `codeMetadata.branch`) work unchanged.
        let mut code = serde_json::Map::new();
        code.insert("repositoryURL".into(), json!(source.uri));
        if let Some(branch) = source
            .git_ref
            .as_deref()
            .and_then(|r| r.strip_prefix("refs/heads/"))
        {
            code.insert("branch".into(), json!(branch));
        }
        if let Some(tag) = source
            .git_ref
            .as_deref()
            .and_then(|r| r.strip_prefix("refs/tags/"))
        {
            code.insert("tag".into(), json!(tag));
        }
        if let Some(commit) = &source.commit {
            code.insert("commitSha".into(), json!(commit));
        }
        external.insert("codeMetadata".into(), code.into());
    }
    // Harness's provenance keeps the trigger among the external parameters.
    external.insert("trigger".into(), json!(facts.trigger));
    external.insert("inputs".into(), json!(facts.runtime_inputs));
    let predicate = json!({
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": external,
            "resolvedDependencies": facts.resolved_dependencies,
        },
        "runDetails": {
            "builder": { "id": facts.builder_id },
            "metadata": {
                "invocationId": facts.run_id,
                "startedOn": facts.started_on,
                "finishedOn": facts.finished_on,
            },
        },
    });
    Statement::new(subjects, SLSA_PROVENANCE_V1.to_string(), predicate)
}
