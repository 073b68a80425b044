//! Key-encryption keys: the [`KeyProvider`] trait and the local [`MasterKey`].

use std::fmt;
use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::crypto::{self, DataKey, KEY_LEN, NONCE_LEN, RandomError};

/// Wraps and unwraps data keys with a key-encryption key (KEK). The local
/// implementation holds the KEK in memory ([`MasterKey`], [`crate::LocalKeys`]);
/// a KMS or Vault Transit provider would send the data key to the service,
/// which is why the interface is "wrap these bytes", not "give me the key".
pub trait KeyProvider: Send + Sync {
    /// The key [`wrap`](Self::wrap) uses now. It is recorded with every
    /// wrapped data key, so rotation and error messages know which KEK
    /// wrapped what.
    fn key_id(&self) -> String;

    /// Wraps `key`, authenticating `aad` with it (the row it belongs to).
    fn wrap(&self, key: &DataKey, aad: &[u8]) -> Result<Vec<u8>, KeyError>;

    /// Unwraps what `wrap` produced under the key `key_id` (the id recorded
    /// with it). Providers holding several keys (a key ring, KMS key
    /// versions) choose by it; the others refuse ids they do not have.
    fn unwrap(&self, key_id: &str, wrapped: &[u8], aad: &[u8]) -> Result<DataKey, KeyError>;
}

/// What went wrong with a key-encryption key. Never holds key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("it was wrapped by master key `{wanted}`, but {available}")]
    UnknownKey { wanted: String, available: String },
    #[error(
        "master key `{key_id}` could not unwrap its data key: the stored key was altered or belongs to another secret (nothing was decrypted)"
    )]
    Inauthentic { key_id: String },
    #[error("{0}")]
    NoKey(String),
    #[error("{0}")]
    Invalid(String),
    #[error("cannot {action} {path}: {source}")]
    File {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "refusing to use the master key file {path}: its mode is {mode:04o}, so group or others can read or change it; run `chmod 600 {path}` (and consider the key compromised if others could read it)"
    )]
    Permissions { path: PathBuf, mode: u32 },
    #[error(
        "refusing to use the master key directory {path}: its mode is {mode:04o}, so group or others can replace the key; run `chmod 700 {path}`"
    )]
    DirectoryPermissions { path: PathBuf, mode: u32 },
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// A 256-bit key-encryption key held in memory (from a key file or
/// `RAMPART_MASTER_KEY`). Wrapped data keys are `nonce || ciphertext || tag`
/// under XChaCha20-Poly1305.
pub struct MasterKey {
    key: Zeroizing<[u8; KEY_LEN]>,
    id: String,
}

impl MasterKey {
    /// A new random key.
    pub fn generate() -> Result<Self, RandomError> {
        Ok(Self::from_array(crypto::random()?))
    }

    /// A key from exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        key.copy_from_slice(bytes.get(..KEY_LEN).filter(|_| bytes.len() == KEY_LEN)?);
        Some(Self::from_array(key))
    }

    /// A key from base64 (standard alphabet, padding optional; surrounding
    /// whitespace ignored) of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Option<Self> {
        let text = text.trim();
        let text = text.trim_end_matches('=');
        let bytes = Zeroizing::new(STANDARD_NO_PAD.decode(text).ok()?);
        Self::from_bytes(&bytes)
    }

    /// The key as base64 with padding, as key files and `RAMPART_MASTER_KEY` hold it.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(*self.key))
    }

    /// `local:` and 16 hex digits of a SHA-256 over the key (with a label,
    /// so the id is no other hash of the key). It names the key; it does not
    /// help guess it.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn from_array(key: Zeroizing<[u8; KEY_LEN]>) -> Self {
        let digest = Sha256::new()
            .chain_update(b"rampart master key id v1\0")
            .chain_update(*key)
            .finalize();
        let id = digest[..8].iter().fold(String::from("local:"), |mut s, b| {
            s.push_str(&format!("{b:02x}"));
            s
        });
        MasterKey { key, id }
    }

    /// Unwraps with this key, whatever id the row recorded.
    pub(crate) fn unwrap_with(&self, wrapped: &[u8], aad: &[u8]) -> Result<DataKey, KeyError> {
        let inauthentic = || KeyError::Inauthentic {
            key_id: self.id.clone(),
        };
        if wrapped.len() < NONCE_LEN {
            return Err(inauthentic());
        }
        let (nonce, sealed) = wrapped.split_at(NONCE_LEN);
        let bytes = crypto::open(&self.key, nonce, sealed, aad).map_err(|_| inauthentic())?;
        DataKey::from_bytes(&bytes).ok_or_else(inauthentic)
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({}, [redacted])", self.id)
    }
}

impl KeyProvider for MasterKey {
    fn key_id(&self) -> String {
        self.id.clone()
    }

    fn wrap(&self, key: &DataKey, aad: &[u8]) -> Result<Vec<u8>, KeyError> {
        let sealed = crypto::seal(&self.key, key.expose(), aad).map_err(|error| match error {
            crypto::SealError::Random(random) => KeyError::Random(random),
            crypto::SealError::TooLarge => KeyError::Invalid("a data key is 32 bytes".into()),
        })?;
        Ok([sealed.nonce.as_slice(), &sealed.ciphertext].concat())
    }

    fn unwrap(&self, key_id: &str, wrapped: &[u8], aad: &[u8]) -> Result<DataKey, KeyError> {
        if key_id != self.id {
            return Err(KeyError::UnknownKey {
                wanted: key_id.to_string(),
                available: format!("the master key in use is `{}`", self.id),
            });
        }
        self.unwrap_with(wrapped, aad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_unwrap_round_trips_under_the_same_key_and_row() {
        let kek = MasterKey::generate().unwrap();
        let dek = DataKey::generate().unwrap();
        let wrapped = kek.wrap(&dek, b"row").unwrap();
        assert_eq!(wrapped.len(), NONCE_LEN + KEY_LEN + 16);
        let back = kek.unwrap(kek.id(), &wrapped, b"row").unwrap();
        assert_eq!(back.expose(), dek.expose());

        assert!(matches!(
            kek.unwrap(kek.id(), &wrapped, b"other row"),
            Err(KeyError::Inauthentic { .. })
        ));
        let mut flipped = wrapped.clone();
        flipped[NONCE_LEN + 3] ^= 0x80;
        assert!(matches!(
            kek.unwrap(kek.id(), &flipped, b"row"),
            Err(KeyError::Inauthentic { .. })
        ));
        assert!(matches!(
            kek.unwrap(kek.id(), &wrapped[..10], b"row"),
            Err(KeyError::Inauthentic { .. })
        ));
    }

    #[test]
    fn another_key_refuses_by_id_and_by_authentication() {
        let kek = MasterKey::generate().unwrap();
        let other = MasterKey::generate().unwrap();
        assert_ne!(kek.id(), other.id());
        let wrapped = kek.wrap(&DataKey::generate().unwrap(), b"row").unwrap();
        let error = other.unwrap(kek.id(), &wrapped, b"row").unwrap_err();
        assert!(matches!(error, KeyError::UnknownKey { .. }));
        assert!(error.to_string().contains(kek.id()), "{error}");
        // Even when told its own id, the wrong key authenticates nothing.
        assert!(matches!(
            other.unwrap(other.id(), &wrapped, b"row"),
            Err(KeyError::Inauthentic { .. })
        ));
    }

    #[test]
    fn base64_form_round_trips_and_ids_are_stable() {
        let kek = MasterKey::generate().unwrap();
        let text = kek.to_base64();
        let back = MasterKey::from_base64(&format!("  {}\n", text.as_str())).unwrap();
        assert_eq!(back.id(), kek.id());
        let unpadded = MasterKey::from_base64(text.trim_end_matches('=')).unwrap();
        assert_eq!(unpadded.id(), kek.id());
        assert!(kek.id().starts_with("local:") && kek.id().len() == 22);
        assert!(MasterKey::from_base64("c2hvcnQ=").is_none());
        assert!(MasterKey::from_base64("not base64!").is_none());
        assert!(!format!("{kek:?}").contains(text.as_str()));
    }
}
