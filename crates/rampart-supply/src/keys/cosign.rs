//! cosign's encrypted private keys (`cosign generate-key-pair`): a PEM block
//! `ENCRYPTED SIGSTORE PRIVATE KEY` (before cosign 1.x: `ENCRYPTED COSIGN
//! PRIVATE KEY`) holding JSON, as go-securesystemslib's `encrypted` package
//! writes it:
//!
//! ```json
//! {"kdf": {"name": "scrypt", "params": {"N": 32768, "r": 8, "p": 1}, "salt": "…"},
//!  "cipher": {"name": "nacl/secretbox", "nonce": "…"},
//!  "ciphertext": "…"}
//! ```
//!
//! The key is scrypt of the password, the box NaCl's XSalsa20-Poly1305,
//! and what it seals the PKCS#8 DER of the private key. A wrong password
//! fails the box's authentication, so it is told apart from a broken file.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use crypto_secretbox::aead::{Aead as _, KeyInit as _};
use crypto_secretbox::{Nonce, XSalsa20Poly1305};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::KeyError;

/// The PEM labels cosign has used for its encrypted keys.
pub(super) const LABELS: &[&str] = &[
    "ENCRYPTED SIGSTORE PRIVATE KEY",
    "ENCRYPTED COSIGN PRIVATE KEY",
];

/// scrypt may not ask for more memory than this (128 · r · N bytes):
/// cosign's keys need 32 or 64 MiB, and a file should not be able to make
/// the reader allocate gigabytes.
const MAX_SCRYPT_BYTES: u64 = 512 * 1024 * 1024;

#[derive(Deserialize)]
struct Sealed {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Deserialize)]
struct Kdf {
    name: String,
    params: ScryptParams,
    salt: String,
}

#[derive(Deserialize)]
struct ScryptParams {
    #[serde(rename = "N")]
    n: u64,
    r: u32,
    p: u32,
}

#[derive(Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

/// The PKCS#8 DER sealed in a cosign key's PEM body (`contents`: the bytes
/// the PEM block's base64 decodes to).
pub(super) fn open(contents: &[u8], password: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let bad = |why: &str| KeyError::BadCosignKey(why.to_string());
    let sealed: Sealed =
        serde_json::from_slice(contents).map_err(|e| bad(&format!("not its JSON: {e}")))?;
    if sealed.kdf.name != "scrypt" {
        return Err(bad(&format!(
            "key derivation {:?}, not scrypt",
            sealed.kdf.name
        )));
    }
    if sealed.cipher.name != "nacl/secretbox" {
        return Err(bad(&format!(
            "cipher {:?}, not nacl/secretbox",
            sealed.cipher.name
        )));
    }
    let ScryptParams { n, r, p } = sealed.kdf.params;
    if !n.is_power_of_two() || n < 2 {
        return Err(bad("scrypt's N is not a power of two"));
    }
    if u64::from(r).saturating_mul(n).saturating_mul(128) > MAX_SCRYPT_BYTES {
        return Err(bad("scrypt's parameters ask for more than 512 MiB"));
    }
    let log_n = u8::try_from(n.trailing_zeros()).map_err(|_| bad("scrypt's N is too large"))?;
    let params =
        scrypt::Params::new(log_n, r, p).map_err(|e| bad(&format!("scrypt parameters: {e}")))?;
    let decode = |field: &str, text: &str| {
        STANDARD
            .decode(text)
            .map_err(|_| bad(&format!("{field} is not base64")))
    };
    let salt = decode("the salt", &sealed.kdf.salt)?;
    let nonce = decode("the nonce", &sealed.cipher.nonce)?;
    let ciphertext = decode("the ciphertext", &sealed.ciphertext)?;
    let nonce: [u8; 24] = nonce
        .as_slice()
        .try_into()
        .map_err(|_| bad("the nonce is not 24 bytes"))?;
    let nonce = Nonce::from(nonce);

    let mut key = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(password, &salt, &params, key.as_mut())
        .map_err(|e| bad(&format!("scrypt: {e}")))?;
    let cipher = XSalsa20Poly1305::new(key.as_ref().into());
    cipher
        .decrypt(&nonce, ciphertext.as_slice())
        .map(Zeroizing::new)
        .map_err(|_| KeyError::WrongPassword)
}
