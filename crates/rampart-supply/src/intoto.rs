//! in-toto Statements v1: what an attestation says about which artifacts.
//! <https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md>

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::keys::hex;

pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The DSSE payload type of an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
pub const CYCLONEDX_BOM: &str = "https://cyclonedx.org/bom";
pub const SPDX_DOCUMENT: &str = "https://spdx.dev/Document";

/// An artifact the statement is about, by name and digests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub name: String,
    pub digest: BTreeMap<String, String>,
}

impl Subject {
    pub fn sha256(name: &str, hex: &str) -> Subject {
        Subject {
            name: name.to_string(),
            digest: BTreeMap::from([("sha256".to_string(), hex.to_string())]),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    #[serde(rename = "_type")]
    pub statement_type: String,
    pub subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    pub predicate: serde_json::Value,
}

/// A payload that is not an in-toto Statement v1.
#[derive(Debug, thiserror::Error)]
pub enum StatementError {
    #[error("the payload is not an in-toto statement: {0}")]
    Malformed(String),
    #[error("the statement's _type is {0:?}, not {STATEMENT_TYPE}")]
    WrongType(String),
    #[error("the statement has no subjects")]
    NoSubjects,
}

impl Statement {
    pub fn new(
        subject: Vec<Subject>,
        predicate_type: String,
        predicate: serde_json::Value,
    ) -> Self {
        Statement {
            statement_type: STATEMENT_TYPE.to_string(),
            subject,
            predicate_type,
            predicate,
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        // A statement of strings and JSON values always serialises.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_json(bytes: &[u8]) -> Result<Statement, StatementError> {
        let statement: Statement =
            serde_json::from_slice(bytes).map_err(|e| StatementError::Malformed(e.to_string()))?;
        if statement.statement_type != STATEMENT_TYPE {
            return Err(StatementError::WrongType(statement.statement_type));
        }
        if statement.subject.is_empty() {
            return Err(StatementError::NoSubjects);
        }
        Ok(statement)
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The sha256 of a file, read in blocks (artifacts can be large).
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex(&hasher.finalize()))
}
