//! Password-protected private keys, the kind Harness pipelines hand their
//! signing steps: a real cosign key pair, and keys that Python's
//! `cryptography` (PKCS#8 PBES2) and PyNaCl (cosign's format) encrypted.

// Test helpers, like tests, may panic on unexpected errors.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use rampart_supply::keys::{KeyError, PublicKey, SigningKey};

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/keys")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_key_cosign_generated_reads_with_its_password() {
    let pem = fixture("cosign-travistest.key");
    let public = PublicKey::from_pem(&fixture("cosign-travistest.pub")).unwrap();
    let key = SigningKey::from_pem_with_password(&pem, b"C@S1GN#$&").unwrap();
    assert_eq!(key.public_key(), public, "the private half of cosign.pub");
    let signature = key.sign(b"payload");
    public.verify(b"payload", &signature).unwrap();

    assert!(matches!(
        SigningKey::from_pem_with_password(&pem, b"C@S1GN#$"),
        Err(KeyError::WrongPassword)
    ));
    assert!(matches!(
        SigningKey::from_pem(&pem),
        Err(KeyError::PasswordNeeded)
    ));
}

#[test]
fn a_cosign_key_with_a_changed_byte_is_refused() {
    let pem = fixture("cosign-travistest.key");
    // Flip one character of the base64 body (inside the ciphertext).
    let mut lines: Vec<String> = pem.lines().map(str::to_string).collect();
    let line = &mut lines[7];
    let flipped = if line.starts_with('A') { "B" } else { "A" };
    line.replace_range(0..1, flipped);
    let tampered = lines.join("\n");
    assert!(matches!(
        SigningKey::from_pem_with_password(&tampered, b"C@S1GN#$&"),
        Err(KeyError::WrongPassword | KeyError::BadCosignKey(_))
    ));
}

/// Has `dsse_interop.py` make a key pair; returns (private PEM, public PEM).
fn python_key(algorithm: &str, format: &str, password: &str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dsse_interop.py");
    let output = Command::new("python3")
        .arg(script)
        .args(["key", algorithm, format, password])
        .arg(dir.path())
        .output()
        .expect("python3 runs (scripts/test.sh installs it)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    (read("private.pem"), read("public.pem"))
}

#[test]
fn keys_python_encrypted_read_with_their_password_only() {
    for (algorithm, format) in [
        ("ecdsa", "pkcs8"),
        ("ed25519", "pkcs8"),
        ("ecdsa", "cosign"),
        ("ed25519", "cosign"),
    ] {
        let password = "correct horse battery stäple";
        let (private, public) = python_key(algorithm, format, password);
        let public = PublicKey::from_pem(&public).unwrap();
        let key = SigningKey::from_pem_with_password(&private, password.as_bytes())
            .unwrap_or_else(|e| panic!("{algorithm} {format}: {e}"));
        assert_eq!(key.public_key(), public, "{algorithm} {format}");
        assert!(
            matches!(
                SigningKey::from_pem_with_password(&private, b"wrong"),
                Err(KeyError::WrongPassword)
            ),
            "{algorithm} {format}"
        );
        assert!(
            matches!(
                SigningKey::from_pem(&private),
                Err(KeyError::PasswordNeeded)
            ),
            "{algorithm} {format}"
        );
    }
}

#[test]
fn a_plain_key_reads_whatever_the_password() {
    let key = SigningKey::generate(rampart_supply::keys::Algorithm::Ed25519).unwrap();
    let again = SigningKey::from_pem_with_password(&key.to_pem(), b"unused").unwrap();
    assert_eq!(again.public_key(), key.public_key());
}
