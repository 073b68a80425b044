//! Signing keys: ECDSA P-256 with SHA-256 (cosign's default) and Ed25519.
//!
//! Private keys travel as PKCS#8 PEM (`PRIVATE KEY`), held in zeroizing
//! memory; public keys as SubjectPublicKeyInfo PEM (`PUBLIC KEY`), the
//! format cosign writes as `cosign.pub`, securesystemslib reads, and
//! `openssl pkey -pubout` prints. P-256 signatures are ASN.1 DER, as cosign
//! and securesystemslib make them; Ed25519 signatures are the raw 64 bytes.
//!
//! A private key may also come encrypted under a password, as the keys a
//! Harness pipeline already uses do: encrypted PKCS#8 (`ENCRYPTED PRIVATE
//! KEY`, PBES2 as OpenSSL and Python's `cryptography` write it) or cosign's
//! own format (see [`cosign`]). Rampart's own keys need no password: the
//! secret store encrypts them at rest.

mod cosign;

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::Signer as _;
use p256::ecdsa::signature::Verifier as _;
use pkcs8::spki::{DecodePublicKey, EncodePublicKey};
use pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Which signature scheme a key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    EcdsaP256,
    Ed25519,
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Algorithm::EcdsaP256 => "ecdsa-p256",
            Algorithm::Ed25519 => "ed25519",
        })
    }
}

impl FromStr for Algorithm {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ecdsa-p256" | "ecdsa" | "p256" => Ok(Algorithm::EcdsaP256),
            "ed25519" => Ok(Algorithm::Ed25519),
            other => Err(KeyError::UnknownAlgorithm(other.to_string())),
        }
    }
}

/// Why a key could not be made, read, or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("unknown key algorithm {0:?}: use ecdsa-p256 or ed25519")]
    UnknownAlgorithm(String),
    #[error("cannot draw random bytes for a key: {0}")]
    Random(String),
    #[error("the private key is encrypted: give its password")]
    PasswordNeeded,
    /// Also what a key file altered after it was sealed gets: the two
    /// cannot be told apart.
    #[error("the password does not decrypt this private key (or the key file was altered)")]
    WrongPassword,
    #[error("not a cosign private key: {0}")]
    BadCosignKey(String),
    #[error(
        "not a private key PEM (PRIVATE KEY, ENCRYPTED PRIVATE KEY or cosign's ENCRYPTED \
         SIGSTORE PRIVATE KEY) of a P-256 or Ed25519 key"
    )]
    BadPrivateKey,
    #[error("not a public key PEM (-----BEGIN PUBLIC KEY-----) of a P-256 or Ed25519 key")]
    BadPublicKey,
    #[error("the signature does not verify with this key")]
    BadSignature,
}

enum SecretHalf {
    P256(p256::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

/// A private key. Both halves zeroize their scalars when dropped; its
/// `Debug` shows only the algorithm and the public key's id.
pub struct SigningKey(SecretHalf);

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SigningKey({}, {}, [redacted])",
            self.algorithm(),
            self.public_key().key_id()
        )
    }
}

impl SigningKey {
    /// A new key from the operating system's random source.
    pub fn generate(algorithm: Algorithm) -> Result<SigningKey, KeyError> {
        loop {
            let mut bytes = Zeroizing::new([0u8; 32]);
            getrandom::fill(bytes.as_mut()).map_err(|e| KeyError::Random(e.to_string()))?;
            let key = match algorithm {
                Algorithm::Ed25519 => {
                    SecretHalf::Ed25519(ed25519_dalek::SigningKey::from_bytes(&bytes))
                }
                // Zero or a value over the group order (odds about 2^-32)
                // is not a scalar: draw again.
                Algorithm::EcdsaP256 => match p256::ecdsa::SigningKey::from_slice(bytes.as_ref()) {
                    Ok(key) => SecretHalf::P256(key),
                    Err(_) => continue,
                },
            };
            return Ok(SigningKey(key));
        }
    }

    /// Reads an unencrypted PKCS#8 PEM private key of either algorithm.
    pub fn from_pem(pem: &str) -> Result<SigningKey, KeyError> {
        Self::read_pem(pem, None)
    }

    /// Reads a private key PEM that may be encrypted under `password`:
    /// PKCS#8 plain or encrypted, or cosign's encrypted format. A plain key
    /// is read as it is, whatever the password.
    pub fn from_pem_with_password(pem: &str, password: &[u8]) -> Result<SigningKey, KeyError> {
        Self::read_pem(pem, Some(password))
    }

    fn read_pem(pem: &str, password: Option<&[u8]>) -> Result<SigningKey, KeyError> {
        let (label, contents) = pkcs8::der::pem::decode_vec(pem.trim().as_bytes())
            .map_err(|_| KeyError::BadPrivateKey)?;
        let contents = Zeroizing::new(contents);
        let der = match (label, password) {
            ("PRIVATE KEY", _) => contents,
            ("ENCRYPTED PRIVATE KEY", Some(password)) => {
                let info = pkcs8::EncryptedPrivateKeyInfoRef::try_from(contents.as_slice())
                    .map_err(|_| KeyError::BadPrivateKey)?;
                let document = info
                    .decrypt(password)
                    .map_err(|_| KeyError::WrongPassword)?;
                Zeroizing::new(document.as_bytes().to_vec())
            }
            (label, Some(password)) if cosign::LABELS.contains(&label) => {
                cosign::open(&contents, password)?
            }
            (label, None)
                if label == "ENCRYPTED PRIVATE KEY" || cosign::LABELS.contains(&label) =>
            {
                return Err(KeyError::PasswordNeeded);
            }
            _ => return Err(KeyError::BadPrivateKey),
        };
        Self::from_pkcs8_der(&der)
    }

    fn from_pkcs8_der(der: &[u8]) -> Result<SigningKey, KeyError> {
        if let Ok(key) = p256::ecdsa::SigningKey::from_pkcs8_der(der) {
            return Ok(SigningKey(SecretHalf::P256(key)));
        }
        ed25519_dalek::SigningKey::from_pkcs8_der(der)
            .map(|key| SigningKey(SecretHalf::Ed25519(key)))
            .map_err(|_| KeyError::BadPrivateKey)
    }

    /// The key as PKCS#8 PEM, for the secret store only.
    pub fn to_pem(&self) -> Zeroizing<String> {
        let encoded = match &self.0 {
            SecretHalf::P256(key) => key.to_pkcs8_pem(LineEnding::LF),
            SecretHalf::Ed25519(key) => key.to_pkcs8_pem(LineEnding::LF),
        };
        // Encoding a valid in-memory key cannot fail.
        encoded.unwrap_or_else(|_| Zeroizing::new(String::new()))
    }

    pub fn algorithm(&self) -> Algorithm {
        match self.0 {
            SecretHalf::P256(_) => Algorithm::EcdsaP256,
            SecretHalf::Ed25519(_) => Algorithm::Ed25519,
        }
    }

    pub fn public_key(&self) -> PublicKey {
        match &self.0 {
            SecretHalf::P256(key) => PublicKey::P256(*key.verifying_key()),
            SecretHalf::Ed25519(key) => PublicKey::Ed25519(key.verifying_key()),
        }
    }

    /// Signs `message`: ECDSA over its SHA-256 (DER-encoded), or Ed25519.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match &self.0 {
            SecretHalf::P256(key) => {
                let signature: p256::ecdsa::DerSignature = key.sign(message);
                signature.as_bytes().to_vec()
            }
            SecretHalf::Ed25519(key) => key.sign(message).to_bytes().to_vec(),
        }
    }
}

/// A public key, to verify signatures with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    P256(p256::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl PublicKey {
    /// Reads a SubjectPublicKeyInfo PEM public key of either algorithm.
    pub fn from_pem(pem: &str) -> Result<PublicKey, KeyError> {
        let pem = pem.trim();
        if let Ok(key) = p256::ecdsa::VerifyingKey::from_public_key_pem(pem) {
            return Ok(PublicKey::P256(key));
        }
        ed25519_dalek::VerifyingKey::from_public_key_pem(pem)
            .map(PublicKey::Ed25519)
            .map_err(|_| KeyError::BadPublicKey)
    }

    pub fn to_pem(&self) -> String {
        let encoded = match self {
            PublicKey::P256(key) => key.to_public_key_pem(LineEnding::LF),
            PublicKey::Ed25519(key) => key.to_public_key_pem(LineEnding::LF),
        };
        encoded.unwrap_or_default()
    }

    fn spki_der(&self) -> Vec<u8> {
        let der = match self {
            PublicKey::P256(key) => key.to_public_key_der(),
            PublicKey::Ed25519(key) => key.to_public_key_der(),
        };
        der.map(|doc| doc.as_bytes().to_vec()).unwrap_or_default()
    }

    pub fn algorithm(&self) -> Algorithm {
        match self {
            PublicKey::P256(_) => Algorithm::EcdsaP256,
            PublicKey::Ed25519(_) => Algorithm::Ed25519,
        }
    }

    /// The key's id in envelopes: the hex SHA-256 of its SubjectPublicKeyInfo
    /// DER, so the same key has the same id whichever tool computes it.
    pub fn key_id(&self) -> String {
        hex(&Sha256::digest(self.spki_der()))
    }

    /// Checks `signature` over `message`. P-256 takes DER (cosign,
    /// securesystemslib) or the fixed 64-byte `r || s` form some signers
    /// write.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), KeyError> {
        match self {
            PublicKey::P256(key) => {
                let parsed = p256::ecdsa::Signature::from_der(signature)
                    .or_else(|_| p256::ecdsa::Signature::from_slice(signature))
                    .map_err(|_| KeyError::BadSignature)?;
                key.verify(message, &parsed)
                    .map_err(|_| KeyError::BadSignature)
            }
            PublicKey::Ed25519(key) => {
                let parsed = ed25519_dalek::Signature::from_slice(signature)
                    .map_err(|_| KeyError::BadSignature)?;
                key.verify_strict(message, &parsed)
                    .map_err(|_| KeyError::BadSignature)
            }
        }
    }
}

/// Lowercase hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_algorithms_round_trip_through_pem_and_sign() {
        for algorithm in [Algorithm::EcdsaP256, Algorithm::Ed25519] {
            let key = SigningKey::generate(algorithm).expect("a key");
            let again = SigningKey::from_pem(&key.to_pem()).expect("reads its own PEM");
            assert_eq!(again.public_key(), key.public_key());
            let public = PublicKey::from_pem(&key.public_key().to_pem()).expect("public PEM");
            assert_eq!(public.algorithm(), algorithm);
            let signature = key.sign(b"message");
            public.verify(b"message", &signature).expect("verifies");
            assert!(public.verify(b"massage", &signature).is_err());
            let other = SigningKey::generate(algorithm).expect("a key");
            assert!(other.public_key().verify(b"message", &signature).is_err());
        }
    }

    #[test]
    fn debug_never_shows_key_material() {
        let key = SigningKey::generate(Algorithm::Ed25519).expect("a key");
        let pem = key.to_pem();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let shown = format!("{key:?}");
        assert!(shown.contains("[redacted]"), "{shown}");
        assert!(!shown.contains(&body[..16]), "{shown}");
    }

    #[test]
    fn foreign_and_broken_keys_get_clear_errors() {
        let cosign = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nbm90IGpzb24=\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----";
        assert!(matches!(
            SigningKey::from_pem(cosign),
            Err(KeyError::PasswordNeeded)
        ));
        assert!(matches!(
            SigningKey::from_pem_with_password(cosign, b"pw"),
            Err(KeyError::BadCosignKey(_))
        ));
        assert!(matches!(
            SigningKey::from_pem("garbage"),
            Err(KeyError::BadPrivateKey)
        ));
        assert!(matches!(
            PublicKey::from_pem("garbage"),
            Err(KeyError::BadPublicKey)
        ));
        assert!(matches!(
            "rsa".parse::<Algorithm>(),
            Err(KeyError::UnknownAlgorithm(_))
        ));
    }
}
