//! `rampart sbom`, `rampart keys` and `rampart verify`: the supply-chain
//! module from the command line. The same code runs the pipeline steps
//! (`SscaOrchestration`, `SlsaVerification`, ...) in the engine.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use rampart_secrets::{KeyMode, KeySettings, SecretKind, SecretValue};
use rampart_supply::document::DocumentInfo;
use rampart_supply::gate::{self, Artifact};
use rampart_supply::keys::{Algorithm, PublicKey, SigningKey};
use rampart_supply::policy::PolicySet;
use rampart_supply::{cyclonedx, intoto, sbom, spdx};

use crate::args::{
    EXIT_FAILED, EXIT_SUCCESS, KeyAlgorithmArg, KeysCommand, OutputFormat, SbomArgs, SbomFormatArg,
    VerifyArgs,
};
use crate::secret_cmd;

/// Attestations and SBOMs larger than this are refused rather than read.
const MAX_DOCUMENT_BYTES: u64 = 64 * 1024 * 1024;

pub fn sbom(args: &SbomArgs) -> anyhow::Result<ExitCode> {
    if !args.dir.is_dir() {
        bail!("{} is not a directory", args.dir.display());
    }
    let mut found = sbom::scan_dir(&args.dir)?;
    if let Some(name) = &args.name {
        found.subject_name = name.clone();
    }
    found.subject_version = args.subject_version.clone();
    if found.sources.is_empty() {
        eprintln!(
            "rampart: warning: no lockfile or manifest found under {}: the SBOM lists no components",
            args.dir.display()
        );
    }
    let info = document_info()?;
    let document = match args.format {
        SbomFormatArg::Cyclonedx => cyclonedx::write(&found, &info),
        SbomFormatArg::Spdx => spdx::write(&found, &info),
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, document.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!(
                "wrote {} components from {} files to {}",
                found.components.len(),
                found.sources.len(),
                path.display()
            );
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(document.as_bytes())
                .and_then(|()| stdout.write_all(b"\n"))
                .context("cannot write to stdout")?;
        }
    }
    Ok(ExitCode::from(EXIT_SUCCESS))
}

/// The creator and creation time every document records.
pub(crate) fn document_info() -> anyhow::Result<DocumentInfo> {
    let created = rampart_core::time::rfc3339_utc(rampart_core::time::now_unix_ms());
    DocumentInfo::new("rampart", env!("CARGO_PKG_VERSION"), created)
        .map_err(|e| anyhow::anyhow!("cannot draw a random document serial number: {e}"))
}

pub fn keys(command: KeysCommand) -> anyhow::Result<ExitCode> {
    let KeysCommand::Generate {
        id,
        algorithm,
        public_key,
        scope,
        state,
    } = command;
    let algorithm = match algorithm {
        KeyAlgorithmArg::EcdsaP256 => Algorithm::EcdsaP256,
        KeyAlgorithmArg::Ed25519 => Algorithm::Ed25519,
    };
    let secret = secret_cmd::reference(&id, &scope)?;
    let state = secret_cmd::state_dir(&state)?;
    let key = SigningKey::generate(algorithm)?;
    let public = key.public_key();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let secrets = secret_cmd::open(&state, &KeySettings::from_env(), KeyMode::Create).await?;
        let store = secrets.store();
        // A second `generate` must not silently replace a key whose public
        // half verifiers already trust.
        if store.get(&secret).await.is_ok() {
            store.close().await;
            bail!(
                "secret {secret} already exists; remove it first (`rampart secret rm {id}`) to \
                 replace that key"
            );
        }
        let pem = key.to_pem();
        let value = SecretValue::from(pem.as_bytes().to_vec());
        let stored = store.set(&secret, SecretKind::Text, &value).await;
        store.close().await;
        stored?;
        anyhow::Ok(())
    })?;
    let public_pem = public.to_pem();
    match &public_key {
        Some(path) => std::fs::write(path, public_pem.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{public_pem}"),
    }
    eprintln!(
        "generated {algorithm} key {}: the private key is secret {secret} (sign with \
         <+secrets.getValue(\"{}\")>){}",
        public.key_id(),
        secret.expression(),
        public_key
            .as_ref()
            .map(|p| format!(", the public key is in {}", p.display()))
            .unwrap_or_default()
    );
    Ok(ExitCode::from(EXIT_SUCCESS))
}

pub fn verify(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let key_pem = read_text(&args.key, "public key")?;
    let key = PublicKey::from_pem(&key_pem)
        .with_context(|| format!("{} is not a public key", args.key.display()))?;
    let envelope = read_bytes(&args.attestation, "attestation")?;
    let artifact = Artifact {
        name: file_name(&args.artifact),
        sha256: intoto::sha256_file(&args.artifact)
            .with_context(|| format!("cannot read the artifact {}", args.artifact.display()))?,
    };
    let policies = match &args.policy {
        Some(path) => Some(PolicySet::load(path)?),
        None => None,
    };
    let report = gate::check_attestation(&envelope, &key, &artifact, policies.as_ref());
    match args.output {
        OutputFormat::Text => println!("{report}"),
        OutputFormat::Json => {
            let checks: Vec<serde_json::Value> = report
                .checks
                .iter()
                .map(|check| {
                    serde_json::json!({
                        "check": check.name,
                        "passed": check.passed,
                        "detail": check.detail,
                    })
                })
                .collect();
            let json = serde_json::json!({
                "artifact": artifact.name,
                "sha256": artifact.sha256,
                "verified": report.passed(),
                "checks": checks,
            });
            println!("{json}");
        }
    }
    Ok(ExitCode::from(if report.passed() {
        EXIT_SUCCESS
    } else {
        EXIT_FAILED
    }))
}

/// The name an artifact has as a subject: its file name.
pub(crate) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn read_bytes(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("cannot read the {what} {}", path.display()))?
        .len();
    if size > MAX_DOCUMENT_BYTES {
        bail!(
            "the {what} {} is {size} bytes, over the {MAX_DOCUMENT_BYTES}-byte limit",
            path.display()
        );
    }
    std::fs::read(path).with_context(|| format!("cannot read the {what} {}", path.display()))
}

fn read_text(path: &Path, what: &str) -> anyhow::Result<String> {
    String::from_utf8(read_bytes(path, what)?)
        .map_err(|_| anyhow::anyhow!("the {what} {} is not UTF-8 text", path.display()))
}
