//! An envelope checked against a public key and an artifact digest.
//!
//! Order matters: nothing in the payload is believed before a signature by
//! the expected key verifies over exactly these bytes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::dsse::Envelope;
use crate::intoto::{PAYLOAD_TYPE, Statement};
use crate::keys::PublicKey;

/// Why an envelope does not verify, specifically enough to act on.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("malformed envelope: {0}")]
    MalformedEnvelope(String),
    #[error("the envelope carries {found:?}, not an in-toto statement ({PAYLOAD_TYPE})")]
    WrongPayloadType { found: String },
    #[error("the envelope has no signatures")]
    NoSignatures,
    #[error(
        "no signature verifies with key {key_id}: signed by another key, or the envelope was \
         changed after signing"
    )]
    SignatureInvalid { key_id: String },
    #[error("malformed statement: {0}")]
    MalformedStatement(String),
    #[error("sha256:{digest} is not a subject of the attestation (its subjects: {subjects})")]
    DigestNotASubject { digest: String, subjects: String },
    #[error("the attestation has no subject named {name:?} (its subjects: {subjects})")]
    NameNotASubject { name: String, subjects: String },
}

/// The statement of `envelope`, if a signature by `key` verifies over it.
pub fn verify_envelope(envelope: &Envelope, key: &PublicKey) -> Result<Statement, VerifyError> {
    let payload = envelope
        .payload_bytes()
        .map_err(|e| VerifyError::MalformedEnvelope(e.to_string()))?;
    if envelope.signatures.is_empty() {
        return Err(VerifyError::NoSignatures);
    }
    let message = crate::dsse::pae(&envelope.payload_type, &payload);
    let verified = envelope.signatures.iter().any(|signature| {
        STANDARD
            .decode(signature.sig.trim())
            .is_ok_and(|sig| key.verify(&message, &sig).is_ok())
    });
    if !verified {
        return Err(VerifyError::SignatureInvalid {
            key_id: key.key_id(),
        });
    }
    // Checked after the signature: the type is signed too (it is in the
    // PAE), so an unsigned envelope never gets this far.
    if envelope.payload_type != PAYLOAD_TYPE {
        return Err(VerifyError::WrongPayloadType {
            found: envelope.payload_type.clone(),
        });
    }
    Statement::from_json(&payload).map_err(|e| VerifyError::MalformedStatement(e.to_string()))
}

/// As [`verify_envelope`], and the artifact (by sha256, and by name when
/// given) is one of the statement's subjects.
pub fn verify_artifact(
    envelope: &Envelope,
    key: &PublicKey,
    artifact_name: Option<&str>,
    artifact_sha256: &str,
) -> Result<Statement, VerifyError> {
    let statement = verify_envelope(envelope, key)?;
    let listed = || {
        statement
            .subject
            .iter()
            .map(|s| {
                format!(
                    "{} sha256:{}",
                    s.name,
                    s.digest.get("sha256").map_or("-", String::as_str)
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let digest = artifact_sha256.to_ascii_lowercase();
    let matching: Vec<_> = statement
        .subject
        .iter()
        .filter(|s| {
            s.digest
                .get("sha256")
                .is_some_and(|d| d.eq_ignore_ascii_case(&digest))
        })
        .collect();
    if matching.is_empty() {
        return Err(VerifyError::DigestNotASubject {
            digest,
            subjects: listed(),
        });
    }
    if let Some(name) = artifact_name
        && !matching.iter().any(|s| s.name == name)
    {
        return Err(VerifyError::NameNotASubject {
            name: name.to_string(),
            subjects: listed(),
        });
    }
    Ok(statement)
}
