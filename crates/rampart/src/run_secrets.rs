//! Secrets for `rampart run`: the state directory's encrypted store as the
//! engine's secret source, and the run's Secret outputs sealed into its record.

use std::path::{Path, PathBuf};

use anyhow::Context;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rampart_engine::{ResolvedSecret, SecretContent, SecretOutput, SecretSource};
use rampart_secrets::{
    DB_FILE, KeyMode, KeySettings, LocalSecrets, Scope, SecretKind, SecretRef, SecretSnapshot,
};
use serde::{Deserialize, Serialize};

/// The file in a run's record holding its sealed Secret outputs.
pub const SEALED_OUTPUTS_FILE: &str = "secret-outputs.json";

/// Resolves `<+secrets.getValue(id)>` for one pipeline's org and project.
pub struct StoreSource {
    /// `None` when the state directory holds no store yet.
    snapshot: Option<SecretSnapshot>,
    state_dir: PathBuf,
    org: Option<String>,
    project: Option<String>,
}

impl StoreSource {
    /// Reads the store of `state_dir` once, if there is one; values are
    /// decrypted only when a step asks for them.
    pub async fn open(
        state_dir: &Path,
        org: Option<String>,
        project: Option<String>,
    ) -> anyhow::Result<StoreSource> {
        let snapshot = if state_dir.join(DB_FILE).is_file() {
            let secrets =
                LocalSecrets::open(state_dir, &KeySettings::from_env(), KeyMode::Existing)
                    .await
                    .with_context(|| {
                        format!("cannot open the secret store in {}", state_dir.display())
                    })?;
            for notice in secrets.notices() {
                eprintln!("rampart: warning: {notice}");
            }
            Some(
                secrets
                    .store()
                    .snapshot()
                    .await
                    .context("cannot read the secret store")?,
            )
        } else {
            None
        };
        Ok(StoreSource {
            snapshot,
            state_dir: state_dir.to_path_buf(),
            org,
            project,
        })
    }
}

impl SecretSource for StoreSource {
    fn get(&self, id: &str) -> Result<ResolvedSecret, String> {
        let reference = SecretRef::parse(id, self.org.as_deref(), self.project.as_deref())
            .map_err(|e| e.to_string())?;
        let Some(snapshot) = &self.snapshot else {
            return Err(format!(
                "no secrets are stored in {} yet; store it with `rampart secret set {}`",
                self.state_dir.display(),
                set_arguments(&reference)
            ));
        };
        let secret = snapshot.get(&reference).map_err(|e| e.to_string())?;
        let content = match secret.kind {
            SecretKind::Text => SecretContent::Text(
                secret
                    .value
                    .expose_str()
                    .map_err(|_| {
                        format!("secret {reference} is not UTF-8 text; store it with --type file")
                    })?
                    .to_string(),
            ),
            SecretKind::File => SecretContent::File(secret.value.expose().to_vec()),
        };
        Ok(ResolvedSecret {
            reference: audit_name(&reference),
            content,
        })
    }
}

/// `project:default/web/token`, `org:default/token`, `account:token`.
fn audit_name(reference: &SecretRef) -> String {
    match &reference.scope {
        Scope::Account => format!("account:{}", reference.id),
        Scope::Org { org } => format!("org:{org}/{}", reference.id),
        Scope::Project { org, project } => format!("project:{org}/{project}/{}", reference.id),
    }
}

/// `ID --org O --project P`, as `rampart secret set` takes them.
fn set_arguments(reference: &SecretRef) -> String {
    match &reference.scope {
        Scope::Account => reference.id.to_string(),
        Scope::Org { org } => format!("{} --org {org}", reference.id),
        Scope::Project { org, project } => {
            format!("{} --org {org} --project {project}", reference.id)
        }
    }
}

/// One sealed Secret output as the run record keeps it (base64 fields).
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SealedOutput {
    pub stage: String,
    pub step: String,
    pub name: String,
    pub key_id: String,
    pub wrapped_key: String,
    pub nonce: String,
    pub ciphertext: String,
}

/// What binds a sealed output to its place: the run and the output's name.
fn context(sequence_id: u64, output: (&str, &str, &str)) -> [Vec<u8>; 2] {
    let (stage, step, name) = output;
    [
        format!("run {sequence_id}").into_bytes(),
        format!("{stage}/{step}.{name}").into_bytes(),
    ]
}

const WHAT: &str = "secret output";

/// Seals the run's Secret outputs with the store's envelope encryption
/// (creating the store and master key if this is the first secret kept here).
pub async fn seal_outputs(
    state_dir: &Path,
    sequence_id: u64,
    outputs: &[SecretOutput],
) -> anyhow::Result<Vec<SealedOutput>> {
    let secrets = LocalSecrets::open(state_dir, &KeySettings::from_env(), KeyMode::Create)
        .await
        .with_context(|| {
            format!(
                "cannot open the secret store in {} to seal the run's Secret outputs",
                state_dir.display()
            )
        })?;
    for notice in secrets.notices() {
        eprintln!("rampart: warning: {notice}");
    }
    seal_with(&secrets, sequence_id, outputs)
}

fn seal_with(
    secrets: &LocalSecrets,
    sequence_id: u64,
    outputs: &[SecretOutput],
) -> anyhow::Result<Vec<SealedOutput>> {
    outputs
        .iter()
        .map(|output| {
            let context = context(sequence_id, (&output.stage, &output.step, &output.name));
            let context: [&[u8]; 2] = [&context[0], &context[1]];
            let blob = secrets
                .store()
                .seal_blob(WHAT, &context, output.value.as_bytes())?;
            Ok(SealedOutput {
                stage: output.stage.clone(),
                step: output.step.clone(),
                name: output.name.clone(),
                key_id: blob.key_id,
                wrapped_key: STANDARD.encode(blob.wrapped_key),
                nonce: STANDARD.encode(blob.nonce),
                ciphertext: STANDARD.encode(blob.ciphertext),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    #[tokio::test]
    async fn sealed_outputs_open_only_for_their_run_and_name() {
        let dir = tempfile::tempdir().unwrap();
        // The key as if from RAMPART_MASTER_KEY, without touching the process environment.
        let key = rampart_secrets::MasterKey::generate().unwrap();
        let settings = KeySettings::from_vars(|name| {
            (name == rampart_secrets::MASTER_KEY_ENV).then(|| key.to_base64().as_str().into())
        });
        let outputs = [SecretOutput {
            stage: "build".into(),
            step: "login".into(),
            name: "TOKEN".into(),
            value: "tok-123456".into(),
        }];
        let secrets = LocalSecrets::open(dir.path(), &settings, KeyMode::Create)
            .await
            .unwrap();
        let sealed = seal_with(&secrets, 7, &outputs).unwrap();
        let json = serde_json::to_string(&sealed).unwrap();
        assert!(!json.contains("tok-123456"), "{json}");

        let blob = rampart_secrets::SealedBlob {
            key_id: sealed[0].key_id.clone(),
            wrapped_key: STANDARD.decode(&sealed[0].wrapped_key).unwrap(),
            nonce: STANDARD.decode(&sealed[0].nonce).unwrap(),
            ciphertext: STANDARD.decode(&sealed[0].ciphertext).unwrap(),
        };
        let open = |run: u64, name: &str| {
            let context = context(run, ("build", "login", name));
            secrets
                .store()
                .open_blob(WHAT, &[&context[0], &context[1]], &blob)
        };
        assert_eq!(open(7, "TOKEN").unwrap().expose(), b"tok-123456");
        assert!(open(8, "TOKEN").is_err(), "another run's record");
        assert!(open(7, "OTHER").is_err(), "another output's place");
    }
}
