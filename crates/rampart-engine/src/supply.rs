//! The supply-chain steps (`SscaOrchestration`, `provenance`,
//! `SscaArtifactSigning`, `SlsaVerification`, `SscaArtifactVerification`,
//! `SscaEnforcement`), run by the engine itself rather than in a process:
//! provenance must record what the engine observed, not what a step claims,
//! and the signing key must never enter a step's environment.
//!
//! Each step reads files in the workspace (paths may not leave it), writes
//! what it produces under `.rampart/supply/STAGE/STEP/` there, and reports
//! the paths as output variables. Attestations made earlier in the run are
//! remembered by their subjects' digests, so a verification step finds the
//! one for its artifact.

use std::collections::BTreeMap;
use std::path::{Component as PathComponent, Path, PathBuf};
use std::sync::Mutex;

use rampart_pipeline::model::{ArtifactSource, SbomFormat, StepKind, SupplySpec, Text};
use rampart_supply::dsse;
use rampart_supply::gate::{self, Artifact};
use rampart_supply::intoto::{self, Statement, Subject};
use rampart_supply::keys::{PublicKey, SigningKey};
use rampart_supply::policy::PolicySet;
use rampart_supply::slsa::{self, ProvenanceFacts, ResourceDescriptor, SourceFacts};
use rampart_supply::{cyclonedx, sbom, spdx};
use serde_json::json;

use rampart_pipeline::expr::Scope as _;

use crate::LogStream;
use crate::scope::{View, lock, render, value_text};

/// Predicate type of the statement `SscaArtifactSigning` signs: the artifact
/// was signed by this builder in this run, and nothing more.
pub(crate) const SIGNED_ARTIFACT_PREDICATE: &str = "https://rampart.dev/attestations/signed/v1";

/// Where produced files go, relative to the workspace.
const OUTPUT_DIR: &str = ".rampart/supply";

/// What an attestation made in this run attests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attests {
    Sbom,
    Provenance,
    Signature,
}

/// An attestation written earlier in the run.
#[derive(Debug, Clone)]
pub(crate) struct Attestation {
    pub attests: Attests,
    /// sha256 hex of each subject.
    pub digests: Vec<String>,
    pub envelope: PathBuf,
}

/// The run's attestations, in the order they were made.
#[derive(Debug, Default)]
pub(crate) struct Attestations(Mutex<Vec<Attestation>>);

impl Attestations {
    fn add(&self, attestation: Attestation) {
        lock(&self.0).push(attestation);
    }

    /// The latest attestation of this kind with a subject of this digest.
    fn find(&self, attests: Attests, sha256: &str) -> Option<Attestation> {
        lock(&self.0)
            .iter()
            .rev()
            .find(|a| a.attests == attests && a.digests.iter().any(|d| d == sha256))
            .cloned()
    }
}

/// The output variables each supply step sets, so later steps may read
/// them as `<+steps.ID.output.outputVariables.NAME>`.
pub(crate) fn output_names(kind: StepKind) -> &'static [&'static str] {
    match kind {
        StepKind::SbomOrchestration => {
            &["SBOM_FILE", "SBOM_DIGEST", "COMPONENTS", "ATTESTATION_FILE"]
        }
        StepKind::Provenance => &["PROVENANCE_FILE"],
        StepKind::ArtifactSigning => &["SIGNATURE_FILE"],
        StepKind::SlsaVerification | StepKind::ArtifactVerification | StepKind::SbomEnforcement => {
            &["VERIFIED", "ATTESTATION_FILE"]
        }
        StepKind::Run | StepKind::Background | StepKind::Plugin => &[],
    }
}

/// The facts of the run provenance records, gathered by the engine.
pub(crate) struct RunFacts {
    pub builder_id: String,
    pub run_id: String,
    pub started_on: String,
    pub pipeline: String,
    pub codebase: BTreeMap<String, String>,
    pub trigger: BTreeMap<String, String>,
    /// Pipeline variables that hold no secret, rendered.
    pub inputs: BTreeMap<String, String>,
}

/// A supply step's result: its log lines and outputs, or why it failed.
pub(crate) struct SupplyOutcome {
    pub lines: Vec<(LogStream, String)>,
    pub result: Result<BTreeMap<String, String>, String>,
}

/// The step's texts, rendered before the blocking work starts (rendering
/// resolves and masks the secrets they name).
pub(crate) struct Rendered {
    kind: StepKind,
    label: (String, String),
    source: RenderedSource,
    format: SbomFormat,
    /// `mode: ingestion`: the SBOM file to read instead of generating one.
    ingestion: Option<String>,
    /// The private key: PEM, or the path of a File secret holding it.
    private_key: Option<String>,
    /// The private key's password (`attestation.spec.password`), for a key
    /// that is encrypted: cosign's or encrypted PKCS#8.
    password: Option<String>,
    /// The public key: PEM, or a path (a File secret's, or in the workspace).
    public_key: Option<String>,
    policy: Option<String>,
}

enum RenderedSource {
    Local {
        path: String,
        name: Option<String>,
        version: Option<String>,
    },
    Repository {
        url: String,
        path: String,
    },
}

fn render_opt(text: Option<&Text>, view: &View<'_>, field: &str) -> Result<Option<String>, String> {
    text.map(|t| render(t, view).map_err(|e| format!("{field}: {e}")))
        .transpose()
}

/// Renders the step's fields; `stage` and `step` name its output directory.
pub(crate) fn render_step(
    kind: StepKind,
    spec: &SupplySpec,
    view: &View<'_>,
    stage: &str,
    step: &str,
) -> Result<Rendered, String> {
    let source = match &spec.source {
        ArtifactSource::Local {
            workspace,
            artifact_name,
            version,
        } => RenderedSource::Local {
            path: render(workspace, view).map_err(|e| format!("source.spec.workspace: {e}"))?,
            name: render_opt(artifact_name.as_ref(), view, "source.spec.artifact_name")?,
            version: render_opt(version.as_ref(), view, "source.spec.version")?,
        },
        ArtifactSource::Repository {
            url,
            path,
            cloned_codebase,
            ..
        } => {
            let base = render_opt(
                cloned_codebase.as_ref(),
                view,
                "source.spec.cloned_codebase",
            )?;
            let path = render_opt(path.as_ref(), view, "source.spec.path")?;
            RenderedSource::Repository {
                url: render(url, view).map_err(|e| format!("source.spec.url: {e}"))?,
                path: [base, path]
                    .into_iter()
                    .flatten()
                    .filter(|p| !p.is_empty())
                    .collect::<Vec<_>>()
                    .join("/"),
            }
        }
    };
    let attestation = spec.attestation.as_ref();
    let private_key = attestation
        .map(|a| secret_ref(&a.private_key, view, "privateKey"))
        .transpose()?;
    let password = attestation
        .and_then(|a| a.password.as_ref())
        .map(|p| secret_ref(p, view, "password"))
        .transpose()?;
    let public_key = spec
        .verify_key
        .as_ref()
        .map(|k| public_key_ref(&k.public_key, view))
        .transpose()?;
    Ok(Rendered {
        kind,
        label: (stage.to_string(), step.to_string()),
        source,
        format: spec.sbom_format.unwrap_or(SbomFormat::SpdxJson),
        ingestion: render_opt(spec.ingestion.as_ref(), view, "ingestion.file")?,
        private_key,
        password,
        public_key,
        policy: render_opt(
            spec.policy.as_ref().map(|p| &p.file),
            view,
            "policy.store.spec.file",
        )?,
    })
}

/// A field Harness fills with a secret's identifier (`privateKey:
/// cosign_key`, `password: cosign_password`), or an expression such as
/// `<+secrets.getValue("cosign_key")>`: either way the value comes from the
/// secret store, is masked, and is audited as resolved by this step.
fn secret_ref(text: &Text, view: &View<'_>, field: &str) -> Result<String, String> {
    if text.raw.contains("<+") {
        render(text, view).map_err(|e| format!("{field}: {e}"))
    } else {
        view.secret(text.raw.trim())
            .map_err(|e| format!("{field}: {e}"))
    }
}

/// A public key: a file in the workspace (a checked-in `cosign.pub`) when
/// one has that name, else like [`secret_ref`].
fn public_key_ref(text: &Text, view: &View<'_>) -> Result<String, String> {
    let raw = text.raw.trim();
    if !raw.contains("<+") && raw.contains(['/', '.']) {
        return Ok(raw.to_string());
    }
    secret_ref(text, view, "publicKey")
}

/// The pipeline variables provenance may record: those whose value holds
/// no secret (Secret variables, and text built from one, join the mask set,
/// so their text masks differently).
pub(crate) fn public_inputs(view: &View<'_>) -> BTreeMap<String, String> {
    lock(&view.run.variables)
        .iter()
        .map(|(name, value)| (name.clone(), value_text(value)))
        .filter(|(_, text)| view.run.masker.mask_str(text) == *text)
        .collect()
}

/// Runs a rendered supply step to the end (blocking: it reads and hashes files).
pub(crate) fn run(
    step: &Rendered,
    workspace: &Path,
    facts: &RunFacts,
    attestations: &Attestations,
) -> SupplyOutcome {
    let mut lines = Vec::new();
    let result = Work {
        step,
        workspace,
        facts,
        attestations,
        lines: &mut lines,
    }
    .run();
    SupplyOutcome { lines, result }
}

struct Work<'a> {
    step: &'a Rendered,
    workspace: &'a Path,
    facts: &'a RunFacts,
    attestations: &'a Attestations,
    lines: &'a mut Vec<(LogStream, String)>,
}

impl Work<'_> {
    fn say(&mut self, line: String) {
        self.lines.push((LogStream::Stdout, line));
    }

    fn run(mut self) -> Result<BTreeMap<String, String>, String> {
        match self.step.kind {
            StepKind::SbomOrchestration => self.orchestrate(),
            StepKind::Provenance => self.provenance(),
            StepKind::ArtifactSigning => self.sign_artifact(),
            StepKind::SlsaVerification => self.verify(Attests::Provenance, "SLSA provenance"),
            StepKind::ArtifactVerification => self.verify(Attests::Signature, "signature"),
            StepKind::SbomEnforcement => self.enforce(),
            StepKind::Run | StepKind::Background | StepKind::Plugin => {
                Err("not a supply-chain step".to_string())
            }
        }
    }

    /// `SscaOrchestration`: the SBOM of the source directory, attested when
    /// a key is given; the attestation's subjects are the lockfiles it was
    /// read from, so `rampart verify Cargo.lock --attestation ...` checks it.
    fn orchestrate(&mut self) -> Result<BTreeMap<String, String>, String> {
        if let Some(file) = self.step.ingestion.clone() {
            return self.ingest(&file);
        }
        let (dir, name, version) = self.source_dir()?;
        let mut found = sbom::scan_dir(&dir).map_err(|e| e.to_string())?;
        if let Some(name) = name {
            found.subject_name = name;
        }
        found.subject_version = version;
        let info = rampart_supply::document::DocumentInfo::new(
            "rampart",
            env!("CARGO_PKG_VERSION"),
            now_rfc3339(),
        )
        .map_err(|e| format!("cannot draw a document serial number: {e}"))?;
        let (document, file, predicate_type) = match self.step.format {
            SbomFormat::CycloneDxJson => (
                cyclonedx::write(&found, &info),
                "sbom.cdx.json",
                intoto::CYCLONEDX_BOM,
            ),
            SbomFormat::SpdxJson => (
                spdx::write(&found, &info),
                "sbom.spdx.json",
                intoto::SPDX_DOCUMENT,
            ),
        };
        let out = self.output_dir()?;
        let sbom_path = write(&out.join(file), document.as_bytes())?;
        self.say(format!(
            "SBOM of {}: {} components from {} files ({}), written to {}",
            self.relative(&dir),
            found.components.len(),
            found.sources.len(),
            found.sources.join(", "),
            self.relative(&sbom_path)
        ));
        let mut outputs = BTreeMap::from([
            ("SBOM_FILE".to_string(), sbom_path.display().to_string()),
            (
                "SBOM_DIGEST".to_string(),
                intoto::sha256_hex(document.as_bytes()),
            ),
            ("COMPONENTS".to_string(), found.components.len().to_string()),
        ]);
        if self.step.private_key.is_some() {
            let mut subjects = Vec::new();
            for source in &found.sources {
                let digest = hash_file(&dir.join(source))?;
                subjects.push(Subject::sha256(source, &digest));
            }
            let predicate: serde_json::Value = serde_json::from_str(&document)
                .map_err(|e| format!("the SBOM written is not JSON: {e}"))?;
            let statement = Statement::new(subjects, predicate_type.to_string(), predicate);
            let envelope = self.attest(&statement, Attests::Sbom, &out, "sbom.intoto.json")?;
            outputs.insert("ATTESTATION_FILE".to_string(), envelope);
        }
        Ok(outputs)
    }

    /// `mode: ingestion`: an SBOM another tool wrote, checked to be CycloneDX
    /// or SPDX JSON and attested as it is when a key is given; the
    /// attestation's subject is the SBOM file.
    fn ingest(&mut self, file: &str) -> Result<BTreeMap<String, String>, String> {
        let path = self.inside_workspace(file)?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read the SBOM {}: {e}", self.relative(&path)))?;
        let (found, predicate_type) = if text.contains("\"spdxVersion\"") {
            (spdx::read(&text), intoto::SPDX_DOCUMENT)
        } else {
            (cyclonedx::read(&text), intoto::CYCLONEDX_BOM)
        };
        let found = found.map_err(|e| format!("{}: {e}", self.relative(&path)))?;
        self.say(format!(
            "ingested SBOM {}: {} components",
            self.relative(&path),
            found.components.len()
        ));
        let mut outputs = BTreeMap::from([
            ("SBOM_FILE".to_string(), path.display().to_string()),
            (
                "SBOM_DIGEST".to_string(),
                intoto::sha256_hex(text.as_bytes()),
            ),
            ("COMPONENTS".to_string(), found.components.len().to_string()),
        ]);
        if self.step.private_key.is_some() {
            let predicate: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| format!("{}: not JSON: {e}", self.relative(&path)))?;
            let subject = Subject::sha256(&file_name(&path), &intoto::sha256_hex(text.as_bytes()));
            let statement = Statement::new(vec![subject], predicate_type.to_string(), predicate);
            let out = self.output_dir()?;
            let envelope = self.attest(&statement, Attests::Sbom, &out, "sbom.intoto.json")?;
            outputs.insert("ATTESTATION_FILE".to_string(), envelope);
        }
        Ok(outputs)
    }

    /// `provenance`: SLSA v1 provenance for the artifact files, from the
    /// run's own facts.
    fn provenance(&mut self) -> Result<BTreeMap<String, String>, String> {
        let subjects = self.artifact_subjects()?;
        let facts = &self.facts;
        let codebase = |key: &str| facts.codebase.get(key).filter(|v| !v.is_empty()).cloned();
        let source = codebase("repoUrl").map(|uri| SourceFacts {
            uri,
            commit: codebase("commitSha"),
            git_ref: codebase("branch")
                .map(|b| format!("refs/heads/{b}"))
                .or_else(|| codebase("tag").map(|t| format!("refs/tags/{t}"))),
        });
        let resolved_dependencies = source
            .as_ref()
            .map(|s| {
                vec![ResourceDescriptor {
                    uri: format!("git+{}", s.uri),
                    digest: s
                        .commit
                        .iter()
                        .map(|c| ("gitCommit".to_string(), c.clone()))
                        .collect(),
                    name: None,
                }]
            })
            .unwrap_or_default();
        let trigger = facts
            .trigger
            .get("type")
            .or_else(|| facts.trigger.get("event"))
            .cloned()
            .unwrap_or_else(|| "manual".to_string());
        let statement = slsa::provenance(
            subjects,
            &ProvenanceFacts {
                builder_id: facts.builder_id.clone(),
                run_id: facts.run_id.clone(),
                started_on: facts.started_on.clone(),
                finished_on: now_rfc3339(),
                pipeline: facts.pipeline.clone(),
                pipeline_file: None,
                source,
                runtime_inputs: facts.inputs.clone(),
                trigger,
                resolved_dependencies,
            },
        );
        let out = self.output_dir()?;
        let envelope = self.attest(
            &statement,
            Attests::Provenance,
            &out,
            "provenance.intoto.json",
        )?;
        Ok(BTreeMap::from([("PROVENANCE_FILE".to_string(), envelope)]))
    }

    /// `SscaArtifactSigning`: a signed statement naming the artifact files.
    fn sign_artifact(&mut self) -> Result<BTreeMap<String, String>, String> {
        let subjects = self.artifact_subjects()?;
        let predicate = json!({
            "builder": { "id": self.facts.builder_id },
            "runId": self.facts.run_id,
            "pipeline": self.facts.pipeline,
        });
        let statement = Statement::new(subjects, SIGNED_ARTIFACT_PREDICATE.to_string(), predicate);
        let out = self.output_dir()?;
        let envelope = self.attest(
            &statement,
            Attests::Signature,
            &out,
            "signature.intoto.json",
        )?;
        Ok(BTreeMap::from([("SIGNATURE_FILE".to_string(), envelope)]))
    }

    /// `SlsaVerification` / `SscaArtifactVerification`: the attestation made
    /// for the artifact earlier in the run, checked with the public key and
    /// the policies.
    fn verify(&mut self, attests: Attests, what: &str) -> Result<BTreeMap<String, String>, String> {
        let subjects = self.artifact_subjects()?;
        let mut outputs = BTreeMap::new();
        for subject in subjects {
            let sha256 = subject.digest.get("sha256").cloned().unwrap_or_default();
            let Some(found) = self.attestations.find(attests, &sha256) else {
                return Err(format!(
                    "no {what} attestation for {} (sha256:{sha256}) was made earlier in this run",
                    subject.name
                ));
            };
            let artifact = Artifact {
                name: subject.name,
                sha256,
            };
            outputs = self.check(&found.envelope, &artifact)?;
        }
        Ok(outputs)
    }

    /// `SscaEnforcement`: the SBOM attestation of the source, verified, and
    /// its SBOM evaluated against the policies.
    fn enforce(&mut self) -> Result<BTreeMap<String, String>, String> {
        if self.step.policy.is_none() {
            return Err("an enforcement step needs policy.store.spec.file".to_string());
        }
        let (dir, _, _) = self.source_dir()?;
        // The SBOM attestation's subjects are the lockfiles of its source:
        // find the one made for this directory's first lockfile.
        let found = sbom::scan_dir(&dir).map_err(|e| e.to_string())?;
        let Some(first) = found.sources.first() else {
            return Err(format!(
                "{} has no lockfile or manifest, so there is no SBOM to enforce policies on",
                self.relative(&dir)
            ));
        };
        let lockfile = dir.join(first);
        let artifact = Artifact {
            name: first.clone(),
            sha256: hash_file(&lockfile)?,
        };
        let Some(attestation) = self.attestations.find(Attests::Sbom, &artifact.sha256) else {
            return Err(format!(
                "no signed SBOM of {} was made earlier in this run (an SscaOrchestration step \
                 with an attestation key makes one)",
                self.relative(&dir)
            ));
        };
        self.check(&attestation.envelope, &artifact)
    }

    /// Runs the gate, logs each check, and fails unless all passed.
    fn check(
        &mut self,
        envelope: &Path,
        artifact: &Artifact,
    ) -> Result<BTreeMap<String, String>, String> {
        let key = self.public_key()?;
        let policies = match &self.step.policy {
            Some(file) => {
                Some(PolicySet::load(&self.inside_workspace(file)?).map_err(|e| e.to_string())?)
            }
            None => None,
        };
        let bytes = std::fs::read(envelope)
            .map_err(|e| format!("cannot read {}: {e}", self.relative(envelope)))?;
        let report = gate::check_attestation(&bytes, &key, artifact, policies.as_ref());
        self.say(format!(
            "verifying {} against {}",
            artifact.name,
            self.relative(envelope)
        ));
        for line in report.to_string().lines() {
            self.say(line.to_string());
        }
        let failed = report.checks.iter().filter(|c| !c.passed).count();
        if failed > 0 {
            return Err(format!(
                "verification failed: {failed} of {} checks failed (see the log)",
                report.checks.len()
            ));
        }
        Ok(BTreeMap::from([
            ("VERIFIED".to_string(), "true".to_string()),
            (
                "ATTESTATION_FILE".to_string(),
                envelope.display().to_string(),
            ),
        ]))
    }

    /// Signs a statement with the step's key, writes the envelope, and
    /// remembers it for later verification steps; returns its path.
    fn attest(
        &mut self,
        statement: &Statement,
        attests: Attests,
        out: &Path,
        file: &str,
    ) -> Result<String, String> {
        let key = self.signing_key()?;
        let envelope = dsse::sign(intoto::PAYLOAD_TYPE, &statement.to_json(), &key);
        let path = write(&out.join(file), &envelope.to_json())?;
        let public = key.public_key();
        self.say(format!(
            "signed {} ({} subjects) with {} key {}: {}",
            statement.predicate_type,
            statement.subject.len(),
            public.algorithm(),
            public.key_id(),
            self.relative(&path)
        ));
        self.attestations.add(Attestation {
            attests,
            digests: statement
                .subject
                .iter()
                .filter_map(|s| s.digest.get("sha256").cloned())
                .collect(),
            envelope: path.clone(),
        });
        Ok(path.display().to_string())
    }

    fn signing_key(&self) -> Result<SigningKey, String> {
        let Some(value) = &self.step.private_key else {
            return Err("the step needs an attestation key (attestation.spec.privateKey)".into());
        };
        let pem = self.key_text(value, "privateKey")?;
        match &self.step.password {
            Some(password) => SigningKey::from_pem_with_password(&pem, password.as_bytes()),
            None => SigningKey::from_pem(&pem),
        }
        .map_err(|e| format!("privateKey: {e}"))
    }

    fn public_key(&self) -> Result<PublicKey, String> {
        let Some(value) = &self.step.public_key else {
            return Err("the step needs the signer's public key (publicKey)".to_string());
        };
        PublicKey::from_pem(&self.key_text(value, "publicKey")?)
            .map_err(|e| format!("publicKey: {e}"))
    }

    /// A key given inline as PEM, or as a file: a File secret's path, or a
    /// path in the workspace.
    fn key_text(&self, value: &str, field: &str) -> Result<String, String> {
        if value.trim_start().starts_with("-----BEGIN") {
            return Ok(value.to_string());
        }
        let path = Path::new(value);
        let path = if path.is_absolute() && path.is_file() {
            path.to_path_buf()
        } else {
            self.inside_workspace(value)?
        };
        std::fs::read_to_string(&path)
            .map_err(|e| format!("{field}: neither a PEM key nor a readable key file ({e})"))
    }

    fn source_dir(&self) -> Result<(PathBuf, Option<String>, Option<String>), String> {
        let (path, name, version) = match &self.step.source {
            RenderedSource::Local {
                path,
                name,
                version,
            } => (path.as_str(), name.clone(), version.clone()),
            RenderedSource::Repository { url, path } => (path.as_str(), Some(url.clone()), None),
        };
        let dir = self.inside_workspace(path)?;
        if !dir.is_dir() {
            return Err(format!(
                "source {} is not a directory in the workspace",
                self.relative(&dir)
            ));
        }
        Ok((dir, name, version))
    }

    fn artifact_path(&self) -> Result<PathBuf, String> {
        match &self.step.source {
            RenderedSource::Local { path, .. } => self.inside_workspace(path),
            RenderedSource::Repository { .. } => Err(
                "provenance, signing and verification take a `local` source: the artifact's \
                 path in the workspace"
                    .to_string(),
            ),
        }
    }

    /// The artifact file, or every file under the artifact directory, as
    /// subjects named by their workspace-relative paths.
    fn artifact_subjects(&self) -> Result<Vec<Subject>, String> {
        let path = self.artifact_path()?;
        let mut files = Vec::new();
        if path.is_dir() {
            collect_files(&path, &mut files)?;
            files.sort();
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(format!(
                "artifact {} does not exist in the workspace",
                self.relative(&path)
            ));
        }
        if files.is_empty() {
            return Err(format!(
                "artifact directory {} holds no files",
                self.relative(&path)
            ));
        }
        files
            .iter()
            .map(|file| {
                let name = if path.is_dir() {
                    self.relative(file)
                } else {
                    file_name(file)
                };
                Ok(Subject::sha256(&name, &hash_file(file)?))
            })
            .collect()
    }

    /// `relative` resolved in the workspace; `..` that climbs out of it and
    /// absolute paths elsewhere are refused, as are symlinks leading out.
    fn inside_workspace(&self, relative: &str) -> Result<PathBuf, String> {
        let given = Path::new(relative);
        let joined = if given.is_absolute() {
            given.to_path_buf()
        } else {
            self.workspace.join(given)
        };
        let mut normal = PathBuf::new();
        for part in joined.components() {
            match part {
                PathComponent::ParentDir => {
                    normal.pop();
                }
                PathComponent::CurDir => {}
                other => normal.push(other.as_os_str()),
            }
        }
        let root = self
            .workspace
            .canonicalize()
            .map_err(|e| format!("cannot resolve the workspace: {e}"))?;
        let resolved = normal.canonicalize().unwrap_or(normal);
        if !resolved.starts_with(&root) {
            return Err(format!(
                "{relative:?} is outside the workspace: supply-chain steps read only the workspace"
            ));
        }
        Ok(resolved)
    }

    fn output_dir(&self) -> Result<PathBuf, String> {
        let (stage, step) = &self.step.label;
        let dir = self.workspace.join(OUTPUT_DIR).join(stage).join(step);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(dir)
    }

    fn relative(&self, path: &Path) -> String {
        let root = self.workspace.canonicalize().unwrap_or_default();
        path.strip_prefix(&root)
            .or_else(|_| path.strip_prefix(self.workspace))
            .map(|p| {
                if p.as_os_str().is_empty() {
                    ".".to_string()
                } else {
                    p.display().to_string()
                }
            })
            .unwrap_or_else(|_| path.display().to_string())
    }
}

fn now_rfc3339() -> String {
    rampart_core::time::rfc3339_utc(rampart_core::time::now_unix_ms())
}

fn hash_file(path: &Path) -> Result<String, String> {
    intoto::sha256_file(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn write(path: &Path, bytes: &[u8]) -> Result<PathBuf, String> {
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path.to_path_buf())
}

/// Regular files under `dir`, not following symlinks, skipping Rampart's
/// own output directory.
fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        let kind = entry
            .file_type()
            .map_err(|e| format!("cannot read {}: {e}", entry.path().display()))?;
        if kind.is_dir() && entry.file_name() != ".rampart" {
            collect_files(&entry.path(), out)?;
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
    Ok(())
}
