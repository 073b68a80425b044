//! The gate before an artifact ships: one attestation checked end to end
//! (signature, subject, predicate, policies) into a [`GateReport`] that
//! says what passed and what failed. `rampart verify` prints it; the
//! verification and enforcement steps fail on it.

use std::fmt;

use crate::dsse::Envelope;
use crate::intoto::{CYCLONEDX_BOM, SLSA_PROVENANCE_V1, SPDX_DOCUMENT, Statement};
use crate::keys::PublicKey;
use crate::policy::PolicySet;
use crate::sbom::Sbom;
use crate::{cyclonedx, spdx, verify};

/// The artifact an attestation must name: its file name and sha256.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub name: String,
    pub sha256: String,
}

/// One check and its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub passed: bool,
    pub detail: String,
}

/// Every check run, in order; verification stops at the first failure of
/// the envelope itself, since nothing after it can be trusted.
#[derive(Debug, Clone, Default)]
pub struct GateReport {
    pub checks: Vec<Check>,
}

impl GateReport {
    pub fn passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|check| check.passed)
    }

    fn pass(&mut self, name: &'static str, detail: String) {
        self.checks.push(Check {
            name,
            passed: true,
            detail,
        });
    }

    fn fail(&mut self, name: &'static str, detail: String) {
        self.checks.push(Check {
            name,
            passed: false,
            detail,
        });
    }
}

impl fmt::Display for GateReport {
    /// One line per check, `PASS`/`FAIL`, then the verdict.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for check in &self.checks {
            let mark = if check.passed { "PASS" } else { "FAIL" };
            writeln!(f, "{mark} {}: {}", check.name, check.detail)?;
        }
        let failed = self.checks.iter().filter(|check| !check.passed).count();
        if failed == 0 {
            write!(f, "verified: all {} checks passed", self.checks.len())
        } else {
            write!(
                f,
                "NOT verified: {failed} of {} checks failed",
                self.checks.len()
            )
        }
    }
}

/// Checks `envelope_json` (a DSSE envelope) against the signer's key and
/// the artifact, then evaluates `policies` over what it attests: SBOM
/// policies over a CycloneDX or SPDX predicate, provenance policies over a
/// SLSA provenance statement.
pub fn check_attestation(
    envelope_json: &[u8],
    key: &PublicKey,
    artifact: &Artifact,
    policies: Option<&PolicySet>,
) -> GateReport {
    let mut report = GateReport::default();
    let envelope = match Envelope::from_json(envelope_json) {
        Ok(envelope) => envelope,
        Err(error) => {
            report.fail("envelope", error.to_string());
            return report;
        }
    };
    let statement = match verify::verify_envelope(&envelope, key) {
        Ok(statement) => statement,
        Err(error) => {
            report.fail("signature", error.to_string());
            return report;
        }
    };
    report.pass(
        "signature",
        format!("signed by key {} ({})", key.key_id(), key.algorithm()),
    );
    // Matched by digest alone: a subject's name depends on how its producer
    // pointed at the file (`dist/app.tar` or `app.tar`); the digest binds it.
    match verify::verify_artifact(&envelope, key, None, &artifact.sha256) {
        Ok(_) => report.pass(
            "subject",
            format!(
                "{} (sha256:{}) is a subject",
                artifact.name, artifact.sha256
            ),
        ),
        Err(error) => {
            report.fail("subject", error.to_string());
            return report;
        }
    }
    report.pass("predicate", statement.predicate_type.clone());
    if let Some(policies) = policies.filter(|p| !p.is_empty()) {
        evaluate(&mut report, &statement, policies);
    }
    report
}

/// Evaluates SBOM or provenance policies over a statement checked already.
pub fn evaluate(report: &mut GateReport, statement: &Statement, policies: &PolicySet) {
    let outcome = match statement.predicate_type.as_str() {
        SLSA_PROVENANCE_V1 => match serde_json::to_value(statement) {
            Ok(json) => policies
                .evaluate_provenance(&json)
                .map_err(|e| e.to_string()),
            Err(error) => Err(format!(
                "cannot hand the statement to the policies: {error}"
            )),
        },
        CYCLONEDX_BOM | SPDX_DOCUMENT => predicate_sbom(statement)
            .and_then(|sbom| policies.evaluate_sbom(&sbom).map_err(|e| e.to_string())),
        other => Err(format!(
            "no policies apply to predicate type {other}: Rampart evaluates SBOM \
             ({CYCLONEDX_BOM}, {SPDX_DOCUMENT}) and provenance ({SLSA_PROVENANCE_V1}) policies"
        )),
    };
    match outcome {
        Ok(violations) if violations.is_empty() => {
            report.pass("policy", "no violations".to_string());
        }
        Ok(violations) => {
            for violation in violations {
                report.fail("policy", violation.to_string());
            }
        }
        Err(error) => report.fail("policy", error),
    }
}

/// The SBOM a CycloneDX or SPDX predicate carries.
fn predicate_sbom(statement: &Statement) -> Result<Sbom, String> {
    let text = statement.predicate.to_string();
    let read = if statement.predicate_type == CYCLONEDX_BOM {
        cyclonedx::read(&text)
    } else {
        spdx::read(&text)
    };
    read.map_err(|e| format!("the attested SBOM cannot be read: {e}"))
}
