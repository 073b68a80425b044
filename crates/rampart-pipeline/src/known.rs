//! What Rampart accepts where: the keys of every object, the Harness features
//! it knows but does not support (with what to do instead), and Harness's
//! full list of step types so an unsupported type is told apart from a typo.
//!
//! Keys listed as supported include metadata keys that are accepted and have
//! no effect (names, tags, `platform`, `runtime`, `infrastructure`, ...).

/// The keys one kind of YAML object may have.
pub(crate) struct Keys {
    /// How messages name the object: `unknown key "x" in {what}`.
    pub what: &'static str,
    pub supported: &'static [&'static str],
    /// Harness keys Rampart knows and rejects, with the help to show.
    pub unsupported: &'static [(&'static str, &'static str)],
}

const NO_DELEGATES: &str =
    "Rampart runs steps on its own executor and has no delegates; remove delegateSelectors";
const NO_TEMPLATES: &str = "Harness templates are not supported yet; paste the template's content in place of the reference";
const NO_REPORTS: &str = "test reports are not collected yet; remove reports";
const NO_REGISTRY_REF: &str =
    "Harness Artifact Registry is not supported; name the full image (and connectorRef) instead";

pub(crate) const TOP_LEVEL: Keys = Keys {
    what: "the top level of the document",
    supported: &["pipeline", "version"],
    unsupported: &[],
};

pub(crate) const PIPELINE: Keys = Keys {
    what: "the pipeline",
    supported: &[
        "identifier",
        "name",
        "description",
        "tags",
        "accountIdentifier",
        "orgIdentifier",
        "projectIdentifier",
        "allowStageExecutions",
        "fixedInputsOnRerun",
        "properties",
        "variables",
        "timeout",
        "stages",
    ],
    unsupported: &[
        (
            "flowControl",
            "barriers and resource constraints are not supported yet; remove flowControl",
        ),
        (
            "notificationRules",
            "notifications are not supported yet; remove notificationRules",
        ),
        ("delegateSelectors", NO_DELEGATES),
        ("template", NO_TEMPLATES),
    ],
};

pub(crate) const PROPERTIES: Keys = Keys {
    what: "pipeline properties",
    supported: &["ci"],
    unsupported: &[],
};

pub(crate) const PROPERTIES_CI: Keys = Keys {
    what: "properties.ci",
    supported: &["codebase"],
    unsupported: &[],
};

pub(crate) const CODEBASE: Keys = Keys {
    what: "the codebase",
    supported: &[
        "connectorRef",
        "repoName",
        "build",
        "depth",
        "prCloneStrategy",
        "sslVerify",
        "lfs",
        "debug",
        "fetchTags",
        "sparseCheckout",
        "submoduleStrategy",
        "cloneDirectory",
        "preFetchCommand",
        "persistCredentials",
        "resources",
    ],
    unsupported: &[],
};

pub(crate) const CODEBASE_BUILD: Keys = Keys {
    what: "the codebase build",
    supported: &["type", "spec"],
    unsupported: &[],
};

pub(crate) const STAGE_ENTRY: Keys = Keys {
    what: "a stages entry",
    supported: &["stage", "parallel"],
    unsupported: &[("insert", NO_TEMPLATES)],
};

pub(crate) const STAGE: Keys = Keys {
    what: "a stage",
    supported: &[
        "identifier",
        "name",
        "description",
        "tags",
        "type",
        "spec",
        "when",
        "failureStrategies",
        "variables",
        "strategy",
        "timeout",
    ],
    unsupported: &[
        ("delegateSelectors", NO_DELEGATES),
        ("template", NO_TEMPLATES),
        (
            "runMode",
            "stage run modes are not supported; remove runMode",
        ),
        (
            "pipelineVariables",
            "pipelineVariables are not supported; declare the variables on the pipeline",
        ),
    ],
};

pub(crate) const CI_STAGE_SPEC: Keys = Keys {
    what: "a CI stage spec",
    supported: &[
        "cloneCodebase",
        "execution",
        "sharedPaths",
        "platform",
        "runtime",
        "infrastructure",
        "caching",
        "buildIntelligence",
    ],
    unsupported: &[
        (
            "serviceDependencies",
            "service dependencies are not supported yet; start the service in a Background step instead",
        ),
        (
            "slsa_provenance",
            "SLSA provenance from the stage spec is not supported yet; remove slsa_provenance",
        ),
    ],
};

pub(crate) const PLATFORM: Keys = Keys {
    what: "platform",
    supported: &["os", "arch"],
    unsupported: &[],
};

pub(crate) const RUNTIME: Keys = Keys {
    what: "runtime",
    supported: &["type", "spec"],
    unsupported: &[],
};

pub(crate) const INFRASTRUCTURE: Keys = Keys {
    what: "infrastructure",
    supported: &["type", "spec", "useFromStage"],
    unsupported: &[],
};

/// `spec.infrastructure.type` values accepted as metadata.
pub(crate) const INFRASTRUCTURE_TYPES: &[&str] = &["KubernetesDirect", "VM", "UseFromStage"];
/// `spec.runtime.type` values accepted as metadata.
pub(crate) const RUNTIME_TYPES: &[&str] = &["Cloud", "Docker"];

pub(crate) const TOGGLE: Keys = Keys {
    what: "a feature toggle",
    supported: &["enabled", "paths", "key", "override", "policy"],
    unsupported: &[],
};

pub(crate) const EXECUTION: Keys = Keys {
    what: "execution",
    supported: &["steps"],
    unsupported: &[(
        "rollbackSteps",
        "rollback steps are not supported in CI stages; remove rollbackSteps",
    )],
};

pub(crate) const STEP_ENTRY: Keys = Keys {
    what: "a steps entry",
    supported: &["step", "parallel", "stepGroup"],
    unsupported: &[("insert", NO_TEMPLATES)],
};

pub(crate) const STEP: Keys = Keys {
    what: "a step",
    supported: &[
        "identifier",
        "name",
        "description",
        "type",
        "spec",
        "when",
        "failureStrategies",
        "strategy",
        "timeout",
    ],
    unsupported: &[
        ("template", NO_TEMPLATES),
        (
            "enforce",
            "policy enforcement on steps is not supported yet; remove enforce",
        ),
        ("delegateSelectors", NO_DELEGATES),
    ],
};

pub(crate) const STEP_GROUP: Keys = Keys {
    what: "a step group",
    supported: &[
        "identifier",
        "name",
        "description",
        "steps",
        "when",
        "failureStrategies",
        "strategy",
        "timeout",
    ],
    unsupported: &[
        ("template", NO_TEMPLATES),
        ("delegateSelectors", NO_DELEGATES),
        (
            "stepGroupInfra",
            "containerized step groups are not supported; remove stepGroupInfra",
        ),
        (
            "sharedPaths",
            "step group sharedPaths are not supported; declare them on the stage spec",
        ),
        (
            "variables",
            "step group variables are not supported yet; use stage variables",
        ),
    ],
};

pub(crate) const RUN_SPEC: Keys = Keys {
    what: "a Run step spec",
    supported: &[
        "command",
        "shell",
        "image",
        "connectorRef",
        "envVariables",
        "outputVariables",
        "privileged",
        "imagePullPolicy",
        "resources",
        "runAsUser",
        "network",
    ],
    unsupported: &[
        ("reports", NO_REPORTS),
        ("registryRef", NO_REGISTRY_REF),
        (
            "outputAlias",
            "output aliases are not supported; read outputs through the step's outputVariables",
        ),
    ],
};

pub(crate) const BACKGROUND_SPEC: Keys = Keys {
    what: "a Background step spec",
    supported: &[
        "command",
        "shell",
        "image",
        "connectorRef",
        "entrypoint",
        "envVariables",
        "privileged",
        "imagePullPolicy",
        "resources",
        "runAsUser",
        "network",
    ],
    unsupported: &[
        ("reports", NO_REPORTS),
        ("registryRef", NO_REGISTRY_REF),
        (
            "portBindings",
            "port bindings are not supported; Background steps share the host's loopback",
        ),
    ],
};

pub(crate) const PLUGIN_SPEC: Keys = Keys {
    what: "a Plugin step spec",
    supported: &[
        "image",
        "uses",
        "connectorRef",
        "settings",
        "entrypoint",
        "envVariables",
        "privileged",
        "imagePullPolicy",
        "resources",
        "runAsUser",
        "network",
    ],
    unsupported: &[("reports", NO_REPORTS), ("registryRef", NO_REGISTRY_REF)],
};

pub(crate) const STAGE_WHEN: Keys = Keys {
    what: "a stage's when",
    supported: &["pipelineStatus", "condition"],
    unsupported: &[],
};

pub(crate) const STEP_WHEN: Keys = Keys {
    what: "when",
    supported: &["stageStatus", "condition"],
    unsupported: &[],
};

pub(crate) const FAILURE_STRATEGY: Keys = Keys {
    what: "a failure strategy",
    supported: &["onFailure"],
    unsupported: &[],
};

pub(crate) const ON_FAILURE: Keys = Keys {
    what: "onFailure",
    supported: &["errors", "action"],
    unsupported: &[],
};

pub(crate) const ACTION: Keys = Keys {
    what: "a failure action",
    supported: &["type", "spec"],
    unsupported: &[],
};

pub(crate) const RETRY_SPEC: Keys = Keys {
    what: "a Retry spec",
    supported: &["retryCount", "retryIntervals", "onRetryFailure"],
    unsupported: &[(
        "condition",
        "conditional retries are not supported yet; remove condition",
    )],
};

pub(crate) const ON_RETRY_FAILURE: Keys = Keys {
    what: "onRetryFailure",
    supported: &["action"],
    unsupported: &[],
};

pub(crate) const STRATEGY: Keys = Keys {
    what: "a strategy",
    supported: &["matrix", "parallelism", "repeat", "maxConcurrency"],
    unsupported: &[
        (
            "when",
            "strategy conditions are not supported; put the condition in the node's when",
        ),
        (
            "onFailure",
            "strategy onFailure is not supported; use failureStrategies",
        ),
    ],
};

pub(crate) const REPEAT: Keys = Keys {
    what: "repeat",
    supported: &["times", "items", "maxConcurrency"],
    unsupported: &[
        (
            "start",
            "repeat start/end ranges are not supported; use times or items",
        ),
        (
            "end",
            "repeat start/end ranges are not supported; use times or items",
        ),
        (
            "unit",
            "repeat partitions are not supported; use times or items",
        ),
        (
            "partitionSize",
            "repeat partitions are not supported; use times or items",
        ),
    ],
};

pub(crate) const VARIABLE: Keys = Keys {
    what: "a variable",
    supported: &[
        "name",
        "type",
        "value",
        "description",
        "required",
        "default",
        "metadata",
    ],
    unsupported: &[],
};

pub(crate) const OUTPUT_VARIABLE: Keys = Keys {
    what: "an output variable",
    supported: &["name", "type", "value", "description"],
    unsupported: &[],
};

/// Keys of matrix that are not axes.
pub(crate) const MATRIX_SETTINGS: &[&str] = &["exclude", "maxConcurrency", "nodeName"];

pub(crate) const SUPPORTED_STEP_TYPES: &[&str] = &[
    "Run",
    "Background",
    "Plugin",
    "SscaOrchestration",
    "provenance",
    "SscaArtifactSigning",
    "SlsaVerification",
    "SscaArtifactVerification",
    "SscaEnforcement",
];

/// Keys every supply-chain step spec accepts as metadata (they configure
/// Harness's plugin container, which Rampart does not use).
const SUPPLY_COMMON: [&str; 5] = [
    "source",
    "resources",
    "overrideConnectorRef",
    "imageTag",
    "imagePullPolicy",
];

pub(crate) const ORCHESTRATION_SPEC: Keys = Keys {
    what: "an SscaOrchestration step spec",
    supported: &[
        SUPPLY_COMMON[0],
        SUPPLY_COMMON[1],
        SUPPLY_COMMON[2],
        SUPPLY_COMMON[3],
        SUPPLY_COMMON[4],
        "mode",
        "tool",
        "attestation",
        "ingestion",
    ],
    unsupported: &[(
        "sbom_drift",
        "SBOM drift needs Harness's SBOM store; remove sbom_drift",
    )],
};

pub(crate) const PROVENANCE_SPEC: Keys = Keys {
    what: "a provenance step spec",
    supported: &[
        SUPPLY_COMMON[0],
        SUPPLY_COMMON[1],
        SUPPLY_COMMON[2],
        SUPPLY_COMMON[3],
        SUPPLY_COMMON[4],
        "attestation",
    ],
    unsupported: &[],
};

pub(crate) const SIGNING_SPEC: Keys = Keys {
    what: "an SscaArtifactSigning step spec",
    supported: &[
        SUPPLY_COMMON[0],
        SUPPLY_COMMON[1],
        SUPPLY_COMMON[2],
        SUPPLY_COMMON[3],
        SUPPLY_COMMON[4],
        "signing",
    ],
    unsupported: &[(
        "uploadSignature",
        "signatures are written beside the artifact; there is no registry to upload to; remove uploadSignature",
    )],
};

pub(crate) const SLSA_VERIFICATION_SPEC: Keys = Keys {
    what: "a SlsaVerification step spec",
    supported: &[
        SUPPLY_COMMON[0],
        SUPPLY_COMMON[1],
        SUPPLY_COMMON[2],
        SUPPLY_COMMON[3],
        SUPPLY_COMMON[4],
        "verify_attestation",
    ],
    unsupported: &[],
};

pub(crate) const ARTIFACT_VERIFICATION_SPEC: Keys = Keys {
    what: "an SscaArtifactVerification step spec",
    supported: &[
        SUPPLY_COMMON[0],
        SUPPLY_COMMON[1],
        SUPPLY_COMMON[2],
        SUPPLY_COMMON[3],
        SUPPLY_COMMON[4],
        "verifySign",
    ],
    unsupported: &[],
};

pub(crate) const ENFORCEMENT_SPEC: Keys = Keys {
    what: "an SscaEnforcement step spec",
    supported: &[
        SUPPLY_COMMON[0],
        SUPPLY_COMMON[1],
        SUPPLY_COMMON[2],
        SUPPLY_COMMON[3],
        SUPPLY_COMMON[4],
        "verifyAttestation",
        "policy",
    ],
    unsupported: &[],
};

pub(crate) const SUPPLY_SOURCE: Keys = Keys {
    what: "source",
    supported: &["type", "spec"],
    unsupported: &[],
};

pub(crate) const LOCAL_SOURCE: Keys = Keys {
    what: "a local source spec",
    // `type` (`manual` | `auto`) is how provenance and SLSA verification
    // name the artifact; accepted, the fields below say it either way.
    supported: &["workspace", "artifact_name", "version", "type"],
    unsupported: &[],
};

pub(crate) const REPOSITORY_SOURCE: Keys = Keys {
    what: "a repository source spec",
    supported: &["url", "path", "variant_type", "variant", "cloned_codebase"],
    unsupported: &[],
};

/// `attestation`, `signing`, `verifyAttestation`, ...: `type` and `spec`.
pub(crate) const KEY_CONFIG: Keys = Keys {
    what: "a signing or verification key",
    supported: &["type", "spec"],
    unsupported: &[],
};

pub(crate) const COSIGN_PRIVATE: Keys = Keys {
    what: "a cosign key spec",
    supported: &["privateKey", "password"],
    unsupported: &[],
};

pub(crate) const SBOM_TOOL: Keys = Keys {
    what: "tool",
    supported: &["type", "spec"],
    unsupported: &[],
};

pub(crate) const SBOM_TOOL_SPEC: Keys = Keys {
    what: "a tool spec",
    supported: &["format"],
    unsupported: &[],
};

pub(crate) const INGESTION: Keys = Keys {
    what: "ingestion",
    supported: &["file"],
    unsupported: &[],
};

pub(crate) const ENFORCEMENT_POLICY: Keys = Keys {
    what: "policy",
    supported: &["store"],
    unsupported: &[(
        "policySets",
        "Harness OPA policy sets live in Harness; put the policy in a file and use policy.store",
    )],
};

pub(crate) const POLICY_STORE: Keys = Keys {
    what: "a policy store",
    supported: &["type", "spec"],
    unsupported: &[],
};

pub(crate) const POLICY_FILE: Keys = Keys {
    what: "a policy store spec",
    supported: &["file"],
    unsupported: &[],
};
pub(crate) const SUPPORTED_STAGE_TYPES: &[&str] = &["CI"];

/// Harness stage types other than CI.
pub(crate) const HARNESS_STAGE_TYPES: &[&str] = &[
    "Deployment",
    "Approval",
    "Custom",
    "Pipeline",
    "FeatureFlag",
    "IACM",
    "SecurityTests",
    "IDP",
    "DRTest",
    "CompositeLoadTest",
    "Dynamic",
];

pub(crate) const SUPPORTED_FAILURE_ACTIONS: &[&str] =
    &["Ignore", "Abort", "MarkAsSuccess", "MarkAsFailure", "Retry"];

/// Harness failure actions Rampart does not support.
pub(crate) const HARNESS_FAILURE_ACTIONS: &[&str] = &[
    "ManualIntervention",
    "StageRollback",
    "StepGroupRollback",
    "PipelineRollback",
    "ProceedWithDefaultValues",
    "RetryStepGroup",
];

/// Step types in Harness's v0 schema that Rampart does not support.
pub(crate) const HARNESS_STEP_TYPES: &[&str] = &[
    "AIExperiment",
    "AIVerifyNG",
    "AWSECR",
    "AWSSecurityHub",
    "Action",
    "Agent",
    "AiEval",
    "AiTestAutomation",
    "AiVerify",
    "AnalyzeDeploymentImpact",
    "Anchore",
    "AppResize",
    "AppRollback",
    "AquaSecurity",
    "AquaTrivy",
    "ArtifactoryUpload",
    "AsgBlueGreenDeploy",
    "AsgBlueGreenRollback",
    "AsgBlueGreenSwapService",
    "AsgCanaryDelete",
    "AsgCanaryDeploy",
    "AsgPhasedDeploy",
    "AsgRollback",
    "AsgRollingDeploy",
    "AsgRollingRollback",
    "AsgScale",
    "AsgSetup",
    "AsgShiftTraffic",
    "AsgSteadyState",
    "AwsCdkBootstrap",
    "AwsCdkDeploy",
    "AwsCdkDestroy",
    "AwsCdkDiff",
    "AwsCdkRollback",
    "AwsCdkSynth",
    "AwsLambdaCanaryDeploy",
    "AwsLambdaCanaryRollback",
    "AwsLambdaDeploy",
    "AwsLambdaRollback",
    "AwsLambdaTrafficShift",
    "AwsSamBuild",
    "AwsSamDeploy",
    "AwsSamRollback",
    "AzureARMRollback",
    "AzureContainerAppsDeploy",
    "AzureContainerAppsPrepareRollbackData",
    "AzureContainerAppsRollback",
    "AzureContainerAppsTrafficShift",
    "AzureCreateARMResource",
    "AzureCreateBPResource",
    "AzureFunctionDeploy",
    "AzureFunctionRollback",
    "AzureSlotDeployment",
    "AzureSwapSlot",
    "AzureTrafficShift",
    "AzureWebAppRollback",
    "BGAppSetup",
    "BambooBuild",
    "Bandit",
    "Barrier",
    "BasicAppSetup",
    "Bitrise",
    "BlackDuck",
    "Brakeman",
    "BuildAndPushACR",
    "BuildAndPushDockerRegistry",
    "BuildAndPushECR",
    "BuildAndPushGAR",
    "BuildAndPushGCR",
    "Burp",
    "CHANGE_TASK",
    "CanaryAppSetup",
    "CdSscaEnforcement",
    "CdSscaOrchestration",
    "ChangeAdvisor",
    "Chaos",
    "ChaosAction",
    "ChaosFault",
    "ChaosProbe",
    "Checkmarx",
    "CheckmarxOne",
    "Checkov",
    "Clair",
    "CloudFunctionRollback",
    "CloudFunctionTrafficShift",
    "CodeQL",
    "Command",
    "Container",
    "CookieCutter",
    "CortexCloud",
    "Coverity",
    "CreateCatalog",
    "CreateOrganization",
    "CreateProject",
    "CreateRepo",
    "CreateResource",
    "CreateStack",
    "CustomApproval",
    "CustomIngest",
    "DBSchemaApply",
    "DBSchemaRollback",
    "DBSchemaRollbackSQL",
    "DBSchemaUpdateSQL",
    "DBTestAndPreview",
    "DataTheorem",
    "DeleteStack",
    "DeployAttestation",
    "DeployAwsAgentCoreRevision",
    "DeployCloudFunction",
    "DeployCloudFunctionGenOne",
    "DeployCloudFunctionWithNoTraffic",
    "DeployGoogleAgentRuntimeRevision",
    "DirectPush",
    "DockerContentTrust",
    "DownloadAwsS3",
    "DownloadGcs",
    "DownloadHarnessStore",
    "DownloadManifests",
    "EcsBasicRollback",
    "EcsBlueGreenCreateService",
    "EcsBlueGreenRollback",
    "EcsBlueGreenSwapTargetGroups",
    "EcsBlueGreenTrafficShift",
    "EcsCanaryDelete",
    "EcsCanaryDeploy",
    "EcsRollingDeploy",
    "EcsRollingRollback",
    "EcsRunTask",
    "EcsScale",
    "EcsServiceSetup",
    "EcsUpgradeContainer",
    "ElastigroupBGStageSetup",
    "ElastigroupBlueGreenTrafficShift",
    "ElastigroupDeploy",
    "ElastigroupRollback",
    "ElastigroupSetup",
    "ElastigroupSwapRoute",
    "Email",
    "EnforceAttestation",
    "EventListener",
    "FetchInstanceScript",
    "FilesUpload",
    "FlagConfiguration",
    "FlywayCommand",
    "FmeFlagAddRemoveFlagsets",
    "FmeFlagAddRemoveIndividualTargets",
    "FmeFlagArchive",
    "FmeFlagCreate",
    "FmeFlagDefaultAllocation",
    "FmeFlagDefinitionInstructions",
    "FmeFlagDelete",
    "FmeFlagKill",
    "FmeFlagLimitExposure",
    "FmeFlagPatchDefinition",
    "FmeFlagReallocateTraffic",
    "FmeFlagRestore",
    "FmeFlagSetDynamicConfigurations",
    "FmeFlagSetImpressionTracking",
    "FmeFlagSetIndividualTargets",
    "FmeFlagSetTargetingRules",
    "FmeFlagSetTreatments",
    "FmeFlagUpdate",
    "FmeFlagsetCreate",
    "FmeFlagsetDelete",
    "FmeMetricCheck",
    "FmeSegmentAddRemoveTargets",
    "FmeSegmentCreate",
    "FmeSegmentDelete",
    "FmeSegmentSetTargetingRules",
    "FmeSegmentUpdate",
    "FortifyOnDemand",
    "Fossa",
    "GCEProvisionBackendService",
    "GCSUpload",
    "GitClone",
    "GitHubAdvancedSecurity",
    "GitOpsFetchLinkedApps",
    "GitOpsGetAppDetails",
    "GitOpsRollback",
    "GitOpsRollout",
    "GitOpsSync",
    "GitOpsUpdateReleaseRepo",
    "Gitleaks",
    "GoogleCloudRunDeploy",
    "GoogleCloudRunJob",
    "GoogleCloudRunPrepareRollbackData",
    "GoogleCloudRunRollback",
    "GoogleCloudRunTrafficShift",
    "GoogleMigBlueGreenDeploy",
    "GoogleMigBlueGreenRollback",
    "GoogleMigDeploy",
    "GoogleMigSteadyState",
    "GoogleMigTrafficShift",
    "Grype",
    "HarUpload",
    "HarnessApproval",
    "HarnessSAST",
    "HarnessSCA",
    "HelmBGDeploy",
    "HelmBlueGreenSwapStep",
    "HelmCanaryDelete",
    "HelmCanaryDeploy",
    "HelmDelete",
    "HelmDeploy",
    "HelmRollback",
    "HsaRepoScan",
    "Http",
    "IACMAnsiblePlugin",
    "IACMApproval",
    "IACMAwsCdkPlugin",
    "IACMBlastRadiusAgent",
    "IACMCheckov",
    "IACMModuleTestPlugin",
    "IACMOpenTofuPlugin",
    "IACMRemediationAgent",
    "IACMTFCompliance",
    "IACMTFLint",
    "IACMTFSec",
    "IACMTerraformPlugin",
    "IACMTerragruntPlugin",
    "IdpAction",
    "JenkinsBuild",
    "JfrogXray",
    "JiraApproval",
    "JiraCreate",
    "JiraUpdate",
    "K8sApply",
    "K8sBGSwapServices",
    "K8sBlueGreenDeploy",
    "K8sBlueGreenStageScaleDown",
    "K8sBlueGreenStageScaleUp",
    "K8sCanaryDelete",
    "K8sCanaryDeploy",
    "K8sDelete",
    "K8sDiff",
    "K8sDryRun",
    "K8sPatch",
    "K8sProgressiveCanaryRollback",
    "K8sRollingDeploy",
    "K8sRollingRollback",
    "K8sRollout",
    "K8sScale",
    "K8sTrafficRouting",
    "LiquibaseCommand",
    "LoadTest",
    "Mend",
    "MergePR",
    "Metasploit",
    "ModelScan",
    "MythosAgent",
    "Nessus",
    "NexusIQ",
    "Nikto",
    "Nmap",
    "OpenAi",
    "Openvas",
    "OsvScanner",
    "Owasp",
    "Policy",
    "PrismaCloud",
    "Prowler",
    "Qualys",
    "Queue",
    "RONotify",
    "Reapsaw",
    "RegisterCatalog",
    "RestoreCache",
    "RestoreCacheAzure",
    "RestoreCacheGCS",
    "RestoreCacheS3",
    "RevertPR",
    "RollbackAwsAgentCoreRevision",
    "RollbackCloudFunctionGenOne",
    "RollbackGoogleAgentRuntimeRevision",
    "RollbackStack",
    "RouteMapping",
    "RunTests",
    "S3Upload",
    "SalesforceApexTest",
    "SalesforceCreateScratchOrg",
    "SalesforceDeleteScratchOrg",
    "SalesforceDeploy",
    "SalesforceDownloadDeployables",
    "SalesforceDownloadOrg",
    "SalesforceEvaluateDiff",
    "SalesforceQuickDeploy",
    "SalesforceRollback",
    "SalesforceSourceBackup",
    "SalesforceValidate",
    "SaveCache",
    "SaveCacheAzure",
    "SaveCacheGCS",
    "SaveCacheS3",
    "Security",
    "Semgrep",
    "ServerlessAwsLambdaDeploy",
    "ServerlessAwsLambdaDeployV2",
    "ServerlessAwsLambdaPackageV2",
    "ServerlessAwsLambdaPrepareRollbackV2",
    "ServerlessAwsLambdaRollback",
    "ServerlessAwsLambdaRollbackV2",
    "ServiceNowApproval",
    "ServiceNowCreate",
    "ServiceNowImportSet",
    "ServiceNowUpdate",
    "ShellScript",
    "ShellScriptProvision",
    "ShiftAwsAgentCoreTraffic",
    "ShiftGoogleAgentRuntimeTraffic",
    "ShiftLeft",
    "SlackNotify",
    "Sniper",
    "Snyk",
    "Sonarqube",
    "SscaAibomOrchestration",
    "SscaCompliance",
    "SscaJunitAttestation",
    "SscaPrAttestation",
    "StandAloneTrafficShiftRollback",
    "SwapRollback",
    "SwapRoutes",
    "Sysdig",
    "TanzuCommand",
    "TasRollingDeploy",
    "TasRollingRollback",
    "Tenable",
    "TerraformApply",
    "TerraformCloudRollback",
    "TerraformCloudRun",
    "TerraformDestroy",
    "TerraformPlan",
    "TerraformRollback",
    "TerragruntApply",
    "TerragruntDestroy",
    "TerragruntPlan",
    "TerragruntRollback",
    "Test",
    "Traceable",
    "UpdateCatalogProperty",
    "UpdateGitOpsApp",
    "Veracode",
    "Verify",
    "Wait",
    "Wiz",
    "Zap",
];

/// Up to one "did you mean" suggestion: the closest candidate within a
/// small edit distance, or one that differs only in case.
pub(crate) fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    if let Some(c) = candidates.iter().find(|c| c.to_ascii_lowercase() == lower) {
        return Some(c);
    }
    let limit = if word.len() <= 4 { 1 } else { 2 };
    candidates
        .iter()
        .map(|c| (edit_distance(&lower, &c.to_ascii_lowercase()), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_catch_typos_and_case() {
        assert_eq!(suggest("comand", RUN_SPEC.supported), Some("command"));
        assert_eq!(suggest("run", SUPPORTED_STEP_TYPES), Some("Run"));
        assert_eq!(
            suggest("envVariable", RUN_SPEC.supported),
            Some("envVariables")
        );
        assert_eq!(suggest("xyz", RUN_SPEC.supported), None);
    }

    #[test]
    fn step_type_table_comes_from_the_schema() {
        assert!(HARNESS_STEP_TYPES.contains(&"BuildAndPushDockerRegistry"));
        assert!(HARNESS_STEP_TYPES.contains(&"ShellScript"));
        assert!(HARNESS_STEP_TYPES.contains(&"HarnessApproval"));
        assert!(!HARNESS_STEP_TYPES.contains(&"Run"));
        assert!(HARNESS_STEP_TYPES.len() > 300);
    }
}
