//! Attestations: SLSA provenance signed into DSSE envelopes, verified by us
//! and by securesystemslib (an independent DSSE implementation, from PyPI),
//! and each kind of tampering refused with its own error.

// Test code may panic on unexpected errors.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rampart_supply::dsse::{self, Envelope};
use rampart_supply::intoto::{self, PAYLOAD_TYPE, SLSA_PROVENANCE_V1, Statement, Subject};
use rampart_supply::keys::{Algorithm, PublicKey, SigningKey};
use rampart_supply::slsa::{self, ProvenanceFacts, ResourceDescriptor, SourceFacts};
use rampart_supply::verify::{VerifyError, verify_artifact, verify_envelope};

const ARTIFACT: &[u8] = b"the artifact's bytes";

fn facts() -> ProvenanceFacts {
    ProvenanceFacts {
        builder_id: "https://rampart.dev/builders/test".to_string(),
        run_id: "run-42".to_string(),
        started_on: "2026-12-06T12:00:00Z".to_string(),
        finished_on: "2026-12-06T12:01:00Z".to_string(),
        pipeline: "build".to_string(),
        pipeline_file: Some(".harness/pipeline.yaml".to_string()),
        source: Some(SourceFacts {
            uri: "https://git.example.com/acme/app".to_string(),
            commit: Some("0123456789abcdef0123456789abcdef01234567".to_string()),
            git_ref: Some("refs/heads/main".to_string()),
        }),
        runtime_inputs: BTreeMap::from([("env".to_string(), "prod".to_string())]),
        trigger: "manual".to_string(),
        resolved_dependencies: vec![ResourceDescriptor {
            uri: "git+https://git.example.com/acme/app".to_string(),
            digest: BTreeMap::from([(
                "gitCommit".to_string(),
                "0123456789abcdef0123456789abcdef01234567".to_string(),
            )]),
            name: None,
        }],
    }
}

fn statement() -> Statement {
    slsa::provenance(
        vec![Subject::sha256("app.tar", &intoto::sha256_hex(ARTIFACT))],
        &facts(),
    )
}

fn signed(key: &SigningKey, statement: &Statement) -> Envelope {
    dsse::sign(PAYLOAD_TYPE, &statement.to_json(), key)
}

fn keys() -> Vec<SigningKey> {
    [Algorithm::EcdsaP256, Algorithm::Ed25519]
        .into_iter()
        .map(|a| SigningKey::generate(a).unwrap())
        .collect()
}

#[test]
fn provenance_has_the_slsa_v1_shape() {
    let statement = statement();
    let json: serde_json::Value = serde_json::from_slice(&statement.to_json()).unwrap();
    assert_eq!(json["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(json["predicateType"], SLSA_PROVENANCE_V1);
    let predicate = &json["predicate"];
    assert_eq!(predicate["buildDefinition"]["buildType"], slsa::BUILD_TYPE);
    let external = &predicate["buildDefinition"]["externalParameters"];
    assert_eq!(external["pipeline"], "build");
    assert_eq!(
        external["source"]["uri"],
        "https://git.example.com/acme/app"
    );
    assert_eq!(external["source"]["ref"], "refs/heads/main");
    assert_eq!(external["inputs"]["env"], "prod");
    assert_eq!(
        predicate["buildDefinition"]["resolvedDependencies"][0]["digest"]["gitCommit"],
        "0123456789abcdef0123456789abcdef01234567"
    );
    let run = &predicate["runDetails"];
    assert_eq!(run["builder"]["id"], "https://rampart.dev/builders/test");
    assert_eq!(run["metadata"]["invocationId"], "run-42");
    assert_eq!(run["metadata"]["startedOn"], "2026-12-06T12:00:00Z");
    assert_eq!(run["metadata"]["finishedOn"], "2026-12-06T12:01:00Z");
}

#[test]
fn signed_envelopes_verify_for_the_artifact() {
    for key in keys() {
        let envelope = Envelope::from_json(&signed(&key, &statement()).to_json()).unwrap();
        let digest = intoto::sha256_hex(ARTIFACT);
        let verified =
            verify_artifact(&envelope, &key.public_key(), Some("app.tar"), &digest).unwrap();
        assert_eq!(verified, statement());
    }
}

#[test]
fn a_changed_artifact_byte_is_not_a_subject() {
    for key in keys() {
        let envelope = signed(&key, &statement());
        let mut changed = ARTIFACT.to_vec();
        changed[0] ^= 1;
        let error = verify_artifact(
            &envelope,
            &key.public_key(),
            None,
            &intoto::sha256_hex(&changed),
        )
        .unwrap_err();
        assert!(
            matches!(error, VerifyError::DigestNotASubject { .. }),
            "{error}"
        );
        assert!(error.to_string().contains("is not a subject"), "{error}");
    }
}

#[test]
fn a_changed_statement_field_breaks_the_signature() {
    for key in keys() {
        let mut envelope = signed(&key, &statement());
        let payload = String::from_utf8(envelope.payload_bytes().unwrap()).unwrap();
        let edited = payload.replace("run-42", "run-43");
        assert_ne!(payload, edited);
        envelope.payload = STANDARD.encode(edited);
        let error = verify_envelope(&envelope, &key.public_key()).unwrap_err();
        assert!(
            matches!(error, VerifyError::SignatureInvalid { .. }),
            "{error}"
        );
    }
}

#[test]
fn a_signature_from_another_key_is_refused() {
    for key in keys() {
        let other = SigningKey::generate(key.algorithm()).unwrap();
        let envelope = signed(&other, &statement());
        let error = verify_envelope(&envelope, &key.public_key()).unwrap_err();
        assert!(
            matches!(error, VerifyError::SignatureInvalid { .. }),
            "{error}"
        );
        assert!(error.to_string().contains(&key.public_key().key_id()));
    }
}

#[test]
fn a_swapped_subject_is_refused() {
    for key in keys() {
        // The payload's subject digest replaced by another artifact's,
        // keeping the original signature: the signature no longer holds.
        let mut envelope = signed(&key, &statement());
        let evil = intoto::sha256_hex(b"another artifact");
        let payload = String::from_utf8(envelope.payload_bytes().unwrap()).unwrap();
        envelope.payload = STANDARD.encode(payload.replace(&intoto::sha256_hex(ARTIFACT), &evil));
        let error = verify_artifact(&envelope, &key.public_key(), None, &evil).unwrap_err();
        assert!(
            matches!(error, VerifyError::SignatureInvalid { .. }),
            "{error}"
        );
        // Re-signed with the attacker's key: still not ours.
        let mut swapped = statement();
        swapped.subject = vec![Subject::sha256("app.tar", &evil)];
        let attacker = SigningKey::generate(key.algorithm()).unwrap();
        let error = verify_artifact(&signed(&attacker, &swapped), &key.public_key(), None, &evil)
            .unwrap_err();
        assert!(
            matches!(error, VerifyError::SignatureInvalid { .. }),
            "{error}"
        );
    }
}

#[test]
fn wrong_payload_types_and_garbage_get_their_own_errors() {
    let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let envelope = dsse::sign("text/plain", &statement().to_json(), &key);
    let error = verify_envelope(&envelope, &key.public_key()).unwrap_err();
    assert!(
        matches!(error, VerifyError::WrongPayloadType { .. }),
        "{error}"
    );

    let mut unsigned = signed(&key, &statement());
    unsigned.signatures.clear();
    let error = verify_envelope(&unsigned, &key.public_key()).unwrap_err();
    assert!(matches!(error, VerifyError::NoSignatures), "{error}");

    let mut bad = signed(&key, &statement());
    bad.payload = "%%% not base64".to_string();
    let error = verify_envelope(&bad, &key.public_key()).unwrap_err();
    assert!(
        matches!(error, VerifyError::MalformedEnvelope(_)),
        "{error}"
    );

    let not_statement = dsse::sign(PAYLOAD_TYPE, b"{\"hello\": 1}", &key);
    let error = verify_envelope(&not_statement, &key.public_key()).unwrap_err();
    assert!(
        matches!(error, VerifyError::MalformedStatement(_)),
        "{error}"
    );

    assert!(Envelope::from_json(b"not json").is_err());
}

/// Runs the securesystemslib side; exit 2 (a missing package) fails the test.
fn python(args: &[&str]) -> std::process::Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dsse_interop.py");
    let output = Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 runs (scripts/test.sh installs it)");
    assert_ne!(
        output.status.code(),
        Some(2),
        "securesystemslib is missing: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
fn securesystemslib_verifies_our_envelopes() {
    let dir = tempfile::tempdir().unwrap();
    for key in keys() {
        let envelope = dir.path().join("envelope.json");
        let public = dir.path().join("public.pem");
        std::fs::write(&envelope, signed(&key, &statement()).to_json()).unwrap();
        std::fs::write(&public, key.public_key().to_pem()).unwrap();
        let output = python(&[
            "verify",
            envelope.to_str().unwrap(),
            public.to_str().unwrap(),
        ]);
        assert!(
            output.status.success(),
            "{}: {}",
            key.algorithm(),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            SLSA_PROVENANCE_V1
        );
        // And it refuses one signed by another key: the check can fail.
        let other = SigningKey::generate(key.algorithm()).unwrap();
        std::fs::write(&public, other.public_key().to_pem()).unwrap();
        let output = python(&[
            "verify",
            envelope.to_str().unwrap(),
            public.to_str().unwrap(),
        ]);
        assert_eq!(output.status.code(), Some(1), "{}", key.algorithm());
    }
}

#[test]
fn we_verify_envelopes_securesystemslib_signs() {
    for algorithm in ["ecdsa", "ed25519"] {
        let dir = tempfile::tempdir().unwrap();
        let output = python(&["sign", algorithm, dir.path().to_str().unwrap()]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let envelope =
            Envelope::from_json(&std::fs::read(dir.path().join("envelope.json")).unwrap()).unwrap();
        let pem = std::fs::read_to_string(dir.path().join("public.pem")).unwrap();
        let key = PublicKey::from_pem(&pem).unwrap();
        let statement =
            verify_artifact(&envelope, &key, Some("app.tar"), &"ab".repeat(32)).unwrap();
        assert_eq!(statement.predicate_type, SLSA_PROVENANCE_V1);
        let stranger = SigningKey::generate(key.algorithm()).unwrap().public_key();
        assert!(verify_envelope(&envelope, &stranger).is_err());
    }
}
