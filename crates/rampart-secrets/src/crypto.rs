//! The envelope: XChaCha20-Poly1305 from RustCrypto, random 192-bit nonces,
//! and associated data that binds each sealed value and wrapped key to its row.

use std::fmt;

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

/// The AEAD every value and every locally wrapped data key is sealed with,
/// recorded per row so the format can change without guessing.
pub const CIPHER: &str = "XChaCha20-Poly1305";

pub(crate) const KEY_LEN: usize = 32;
pub(crate) const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// The operating system's random number generator failed.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the operating system's random number generator failed: {0}")]
pub struct RandomError(getrandom::Error);

/// `N` random bytes from the operating system, wiped when dropped.
pub(crate) fn random<const N: usize>() -> Result<Zeroizing<[u8; N]>, RandomError> {
    let mut bytes = Zeroizing::new([0u8; N]);
    getrandom::fill(bytes.as_mut()).map_err(RandomError)?;
    Ok(bytes)
}

/// A 256-bit data key: fresh for each secret version, it seals that
/// version's value and is stored only wrapped by a key-encryption key.
pub struct DataKey(Zeroizing<[u8; KEY_LEN]>);

impl DataKey {
    pub fn generate() -> Result<Self, RandomError> {
        Ok(DataKey(random()?))
    }

    /// `None` unless `bytes` is exactly 32 bytes long.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        key.copy_from_slice(bytes.get(..KEY_LEN).filter(|_| bytes.len() == KEY_LEN)?);
        Some(DataKey(key))
    }

    pub fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey([redacted])")
    }
}

/// Authentication failed: wrong key, altered bytes, or bytes from another row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Inauthentic;

pub(crate) struct Sealed {
    pub nonce: [u8; NONCE_LEN],
    /// Ciphertext followed by the 16-byte tag.
    pub ciphertext: Vec<u8>,
}

fn cipher(key: &[u8; KEY_LEN]) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(&(*key).into())
}

/// Why sealing failed.
#[derive(Debug, Clone, Copy, thiserror::Error)]
pub enum SealError {
    #[error(transparent)]
    Random(#[from] RandomError),
    #[error("the value is too large for {CIPHER}")]
    TooLarge,
}

/// Seals `plaintext` under `key` with a random nonce. The copy encrypted in
/// place holds plaintext only until encryption, and is wiped on failure.
pub(crate) fn seal(key: &[u8; KEY_LEN], plaintext: &[u8], aad: &[u8]) -> Result<Sealed, SealError> {
    let nonce = random::<NONCE_LEN>()?;
    let mut buffer = Zeroizing::new(Vec::with_capacity(plaintext.len() + TAG_LEN));
    buffer.extend_from_slice(plaintext);
    cipher(key)
        .encrypt_in_place(&XNonce::from(*nonce), aad, &mut *buffer)
        .map_err(|_| SealError::TooLarge)?;
    Ok(Sealed {
        nonce: *nonce,
        ciphertext: std::mem::take(&mut *buffer),
    })
}

/// Opens what [`seal`] sealed; the plaintext is wiped when dropped.
pub(crate) fn open(
    key: &[u8; KEY_LEN],
    nonce: &[u8],
    ciphertext: &[u8],
    aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Inauthentic> {
    let nonce = XNonce::try_from(nonce).map_err(|_| Inauthentic)?;
    let mut buffer = Zeroizing::new(ciphertext.to_vec());
    cipher(key)
        .decrypt_in_place(&nonce, aad, &mut *buffer)
        .map_err(|_| Inauthentic)?;
    Ok(buffer)
}

/// Associated data: a purpose label and fields, each length-prefixed so
/// no two different field lists encode the same bytes.
pub(crate) fn associated_data(purpose: &str, fields: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for field in std::iter::once(purpose.as_bytes()).chain(fields.iter().copied()) {
        out.extend_from_slice(&(field.len() as u64).to_be_bytes());
        out.extend_from_slice(field);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_then_open_round_trips_and_binds_the_associated_data() {
        let key = random::<KEY_LEN>().unwrap();
        let sealed = seal(&key, b"value", b"row-1").unwrap();
        assert_eq!(sealed.ciphertext.len(), 5 + TAG_LEN);
        assert_ne!(&sealed.ciphertext[..5], b"value");
        let opened = open(&key, &sealed.nonce, &sealed.ciphertext, b"row-1").unwrap();
        assert_eq!(opened.as_slice(), b"value");

        assert_eq!(
            open(&key, &sealed.nonce, &sealed.ciphertext, b"row-2"),
            Err(Inauthentic)
        );
        let other = random::<KEY_LEN>().unwrap();
        assert_eq!(
            open(&other, &sealed.nonce, &sealed.ciphertext, b"row-1"),
            Err(Inauthentic)
        );
        let mut flipped = sealed.ciphertext.clone();
        flipped[0] ^= 1;
        assert_eq!(
            open(&key, &sealed.nonce, &flipped, b"row-1"),
            Err(Inauthentic)
        );
        assert_eq!(
            open(&key, &sealed.nonce[..5], &sealed.ciphertext, b"row-1"),
            Err(Inauthentic)
        );
        assert_eq!(open(&key, &sealed.nonce, &[], b"row-1"), Err(Inauthentic));
    }

    #[test]
    fn nonces_are_fresh_each_time() {
        let key = random::<KEY_LEN>().unwrap();
        let a = seal(&key, b"same", b"").unwrap();
        let b = seal(&key, b"same", b"").unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
    }

    #[test]
    fn associated_data_is_unambiguous() {
        assert_ne!(
            associated_data("p", &[b"ab", b"c"]),
            associated_data("p", &[b"a", b"bc"])
        );
        assert_ne!(associated_data("p", &[b""]), associated_data("p", &[]));
    }

    #[test]
    fn data_keys_need_exactly_32_bytes_and_hide_in_debug() {
        assert!(DataKey::from_bytes(&[7; 31]).is_none());
        assert!(DataKey::from_bytes(&[7; 33]).is_none());
        let key = DataKey::from_bytes(&[7; 32]).unwrap();
        assert_eq!(key.expose(), &[7; 32]);
        assert_eq!(format!("{key:?}"), "DataKey([redacted])");
    }
}
