//! The typed pipeline: the CI subset of Harness v0 YAML that Rampart runs.
//!
//! Every node keeps the [`Location`] of its YAML key so validation and run-time
//! errors can point at `file:line:col`. String fields that may hold `<+...>`
//! expressions are [`Text`]: the raw source, parsed into a [`Template`] by
//! validation and rendered by the engine.

use std::time::Duration;

use rampart_core::Location;

use crate::expr::Template;

/// A string field as written in YAML; may contain `<+...>` expressions.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    pub raw: String,
    pub loc: Location,
    /// Parsed form of `raw`. `None` only before validation has run.
    pub template: Option<Template>,
}

/// The whole pipeline (`pipeline:` in the YAML).
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    pub identifier: String,
    pub name: String,
    pub loc: Location,
    pub org_identifier: Option<String>,
    pub project_identifier: Option<String>,
    /// `properties.ci.codebase`.
    pub codebase: Option<Codebase>,
    pub variables: Vec<Variable>,
    pub stages: Vec<StageNode>,
    pub timeout: Option<Timeout>,
}

/// `properties.ci.codebase`: which repository the pipeline builds.
#[derive(Debug, Clone, PartialEq)]
pub struct Codebase {
    pub connector_ref: Option<Text>,
    pub repo_name: Option<Text>,
    pub build: Option<CodebaseBuild>,
    pub clone_depth: Option<u32>,
    pub loc: Location,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CodebaseBuild {
    Branch(Text),
    Tag(Text),
    PullRequest(Text),
    CommitSha(Text),
}

/// A pipeline or stage variable (`variables:`).
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    pub name: String,
    pub kind: VariableKind,
    pub value: Text,
    pub description: Option<String>,
    /// `required: true`: running without a value is an error.
    pub required: bool,
    pub loc: Location,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VariableKind {
    String,
    Number,
    Secret,
}

/// An entry of `stages:`: one stage, or a `parallel:` group of stages.
// Built once per load and matched everywhere; boxing buys nothing here.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum StageNode {
    Stage(Stage),
    Parallel { stages: Vec<Stage>, loc: Location },
}

/// A CI stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub identifier: String,
    pub name: String,
    pub description: Option<String>,
    pub loc: Location,
    pub when: Option<When>,
    pub failure_strategies: Vec<FailureStrategy>,
    pub variables: Vec<Variable>,
    pub strategy: Option<Strategy>,
    pub timeout: Option<Timeout>,
    pub clone_codebase: bool,
    /// `spec.sharedPaths`.
    pub shared_paths: Vec<Text>,
    /// `spec.execution.steps`.
    pub steps: Vec<StepNode>,
}

/// An entry of `steps:`: a step, a `parallel:` group, or a `stepGroup:`.
// Built once per load and matched everywhere; boxing buys nothing here.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum StepNode {
    Step(Step),
    Parallel { nodes: Vec<StepNode>, loc: Location },
    Group(StepGroup),
}

#[derive(Debug, Clone, PartialEq)]
pub struct StepGroup {
    pub identifier: String,
    pub name: String,
    pub loc: Location,
    pub when: Option<When>,
    pub failure_strategies: Vec<FailureStrategy>,
    pub strategy: Option<Strategy>,
    pub timeout: Option<Timeout>,
    pub steps: Vec<StepNode>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub identifier: String,
    pub name: String,
    pub loc: Location,
    pub kind: StepKind,
    pub when: Option<When>,
    pub failure_strategies: Vec<FailureStrategy>,
    pub strategy: Option<Strategy>,
    pub timeout: Option<Timeout>,
    pub spec: StepSpec,
    /// The spec of a supply-chain step; `None` for Run, Background and Plugin
    /// (whose `spec` is then the one read).
    pub supply: Option<SupplySpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    Run,
    Background,
    Plugin,
    /// `SscaOrchestration`: generate (or ingest) an SBOM.
    SbomOrchestration,
    /// `provenance`: SLSA provenance for an artifact.
    Provenance,
    /// `SscaArtifactSigning`.
    ArtifactSigning,
    /// `SlsaVerification`: check an artifact's provenance signature.
    SlsaVerification,
    /// `SscaArtifactVerification`: check an artifact's signature.
    ArtifactVerification,
    /// `SscaEnforcement`: a policy gate over an SBOM.
    SbomEnforcement,
}

/// The `spec:` of a supply-chain step, as Harness writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct SupplySpec {
    pub source: ArtifactSource,
    /// Orchestration `tool.spec.format`; Harness's default is SPDX JSON.
    pub sbom_format: Option<SbomFormat>,
    /// Orchestration `mode: ingestion`: the SBOM file (`ingestion.file`) to
    /// read instead of generating one.
    pub ingestion: Option<Text>,
    /// Signing key: `attestation` (orchestration, provenance) or `signing`
    /// (artifact signing), `type: cosign`.
    pub attestation: Option<Attestation>,
    /// `verifyAttestation` (enforcement), `verify_attestation` (SLSA
    /// verification) or `verifySign` (artifact verification).
    pub verify_key: Option<VerifyKey>,
    /// Enforcement `policy.store.spec.file`.
    pub policy: Option<PolicyRef>,
}

/// Every text field of a supply spec; one body for `&` and `&mut` (binding
/// modes follow the reference given).
macro_rules! supply_texts {
    ($spec:expr) => {{
        let SupplySpec {
            source,
            ingestion,
            attestation,
            verify_key,
            policy,
            ..
        } = $spec;
        let mut out = Vec::new();
        match source {
            ArtifactSource::Local {
                workspace,
                artifact_name,
                version,
            } => {
                out.push(workspace);
                out.extend(artifact_name.into_iter().chain(version));
            }
            ArtifactSource::Repository {
                url,
                path,
                variant_type,
                variant,
                cloned_codebase,
            } => {
                out.push(url);
                out.extend(
                    path.into_iter()
                        .chain(variant_type)
                        .chain(variant)
                        .chain(cloned_codebase),
                );
            }
        }
        out.extend(ingestion);
        if let Some(Attestation {
            private_key,
            password,
        }) = attestation
        {
            out.push(private_key);
            out.extend(password);
        }
        if let Some(VerifyKey { public_key }) = verify_key {
            out.push(public_key);
        }
        if let Some(PolicyRef { file }) = policy {
            out.push(file);
        }
        out
    }};
}

impl SupplySpec {
    /// Every text field, for expression checks.
    pub fn texts(&self) -> Vec<&Text> {
        supply_texts!(self)
    }

    /// Every text field, for filling runtime inputs.
    pub fn texts_mut(&mut self) -> Vec<&mut Text> {
        supply_texts!(self)
    }
}

/// What a supply-chain step reads: `source:`.
#[derive(Debug, Clone, PartialEq)]
pub enum ArtifactSource {
    /// `type: local`: files in the workspace.
    Local {
        /// A path relative to the workspace.
        workspace: Text,
        artifact_name: Option<Text>,
        version: Option<Text>,
    },
    /// `type: repository`: a Git repository.
    Repository {
        url: Text,
        path: Option<Text>,
        /// `branch`, `git_tag` or `commit`.
        variant_type: Option<Text>,
        variant: Option<Text>,
        cloned_codebase: Option<Text>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SbomFormat {
    SpdxJson,
    CycloneDxJson,
}

/// A cosign key pair's private half: `privateKey` and `password`, each a
/// secret id or a `<+secrets.getValue("id")>` expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Attestation {
    pub private_key: Text,
    pub password: Option<Text>,
}

/// A cosign public key: a secret or file id, or an expression.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyKey {
    pub public_key: Text,
}

/// A policy file (Harness stores it in its file store; Rampart reads it from
/// the path).
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyRef {
    pub file: Text,
}

/// The `spec:` of a Run, Background or Plugin step.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StepSpec {
    pub command: Option<Text>,
    pub shell: Shell,
    /// A container image: runs in a container runtime, or on the host only
    /// with `--allow-host`.
    pub image: Option<Text>,
    pub connector_ref: Option<Text>,
    /// `envVariables`, in file order.
    pub env_variables: Vec<(String, Text)>,
    pub output_variables: Vec<OutputVariable>,
    /// Plugin `settings`, in file order; delivered as `PLUGIN_<KEY>` variables.
    pub settings: Vec<(String, Text)>,
    /// Rampart extension (`network: none | host`); `None` uses the run-wide setting.
    pub network: Option<NetworkMode>,
    /// `entrypoint` of a Background step or plugin.
    pub entrypoint: Vec<Text>,
    /// A Plugin step's `uses:` (a plugin named instead of an `image`).
    pub uses: Option<Text>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shell {
    #[default]
    Sh,
    Bash,
    Python,
    Powershell,
    Pwsh,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkMode {
    /// A new network namespace with only loopback.
    None,
    /// The host's network.
    Host,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutputVariable {
    /// The name later steps read it by (`output.outputVariables.NAME`).
    pub name: String,
    pub kind: OutputKind,
    /// The shell variable captured when the command ends: Harness's
    /// `value:`, which defaults to `name`.
    pub value: String,
    pub loc: Location,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    String,
    Secret,
}

/// `when:` on a stage, step group or step.
///
/// `condition` is a JEXL-style condition, not a template: evaluate it with
/// [`Condition::parse`](crate::expr::Condition::parse)`(&condition.raw)`,
/// which [`validate`](crate::validate) guarantees succeeds. A YAML boolean
/// (`condition: true`) arrives as the text `"true"`.
#[derive(Debug, Clone, PartialEq)]
pub struct When {
    /// `pipelineStatus` (stages) or `stageStatus` (steps, step groups).
    pub status: StatusCondition,
    pub condition: Option<Text>,
    pub loc: Location,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusCondition {
    Success,
    Failure,
    All,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FailureStrategy {
    /// Which errors this strategy handles; empty never happens after parsing.
    pub errors: Vec<ErrorKind>,
    pub action: FailureAction,
    pub loc: Location,
}

/// Harness's failure types (`onFailure.errors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    AllErrors,
    Unknown,
    Timeout,
    Authentication,
    Authorization,
    Connectivity,
    Verification,
    DelegateProvisioning,
    PolicyEvaluationFailure,
    InputTimeoutError,
    ApprovalRejection,
    DelegateRestart,
    UserMarkedFailure,
    InfrastructureFailure,
    PluginImageFailure,
    ResourceLimitsFailure,
    ConfigurationFailure,
    RetryableTransientFailure,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FailureAction {
    Ignore,
    Abort,
    MarkAsSuccess,
    MarkAsFailure,
    Retry {
        count: u32,
        /// Waits between tries; the last one repeats when there are fewer than `count`.
        intervals: Vec<Duration>,
        on_retry_failure: Box<FailureAction>,
    },
}

/// A `timeout:` value such as `90s`, `10m` or `1h 30m`.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeout {
    pub duration: Duration,
    pub raw: String,
    pub loc: Location,
}

/// `strategy:` on a stage, step group or step.
#[derive(Debug, Clone, PartialEq)]
pub enum Strategy {
    Matrix {
        /// Axes in file order; each value is a string, number, or object.
        axes: Vec<(String, Vec<serde_json::Value>)>,
        /// Combinations to leave out; each lists some axes' values.
        exclude: Vec<Vec<(String, serde_json::Value)>>,
        max_concurrency: Option<u32>,
        loc: Location,
    },
    Parallelism {
        count: u32,
        max_concurrency: Option<u32>,
        loc: Location,
    },
    Repeat {
        times: Option<u32>,
        items: Option<Vec<serde_json::Value>>,
        max_concurrency: Option<u32>,
        loc: Location,
    },
}
