//! The supply-chain module: what a build is made of, how it was made, and
//! whether it may ship.
//!
//! - [`sbom`]: components from the lockfiles and manifests of a directory
//!   (Cargo, npm, yarn, pnpm, Python, Go, Maven, Gradle, Bundler), written
//!   as CycloneDX 1.6 ([`cyclonedx`]) or SPDX 2.3 ([`spdx`]) JSON and read
//!   back from either.
//! - [`document`]: what both formats share: the document's tool, time and
//!   serial ([`document::DocumentInfo`]) and read errors.
//! - [`intoto`] and [`slsa`]: in-toto Statements v1 and SLSA v1.0 provenance
//!   predicates, built from facts the caller observed.
//! - [`dsse`] and [`keys`]: DSSE envelopes signed with ECDSA P-256 or
//!   Ed25519; key generation and PEM encodings.
//! - [`verify`]: an envelope checked against a key and an artifact digest.
//! - [`gate`]: one attestation checked end to end (signature, subject,
//!   policies) into a report of what passed and what failed.
//! - [`policy`]: Rego policies (Harness's SBOM deny/allow lists, provenance
//!   rules) evaluated with an embedded engine.
//!
//! It deliberately does no I/O beyond reading the directory it is asked to
//! scan, keeps no keys (callers hold private keys in the secret store), and
//! talks to no registry: image sources are the caller's to refuse.

pub mod cyclonedx;
pub mod document;
pub mod dsse;
pub mod gate;
pub mod intoto;
pub mod keys;
pub mod policy;
pub mod sbom;
pub mod slsa;
pub mod spdx;
pub mod verify;
