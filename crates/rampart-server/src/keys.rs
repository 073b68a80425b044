//! The server's two keys, both kept outside the database so a dump of it
//! alone reveals no credential:
//!
//! - the pepper: the HMAC key of every stored credential hash (API tokens,
//!   session ids, recovery codes). `RAMPART_TOKEN_PEPPER` (base64 of at least
//!   32 bytes) or the file `token-pepper.key` in the data directory, created
//!   0600 at first start;
//! - the master key that seals TOTP seeds (envelope encryption by
//!   `rampart-secrets`): `RAMPART_MASTER_KEY` or `master.key` in the data
//!   directory.
//!
//! Replicas sharing one PostgreSQL database must share both (set the two
//! variables on every replica).

use std::fs::OpenOptions;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rampart_auth::token::Pepper;
use rampart_secrets::{
    KeyMode, KeyProvider, KeySettings, LocalKeys, SealedBlob, SecretStore, SecretValue,
};
use rampart_store::Store;
use zeroize::Zeroizing;

use crate::error::{ApiError, ServerError};

/// The pepper itself, base64; wins over the pepper file.
pub const PEPPER_ENV: &str = "RAMPART_TOKEN_PEPPER";
/// The pepper file's name in the data directory.
pub const PEPPER_FILE: &str = "token-pepper.key";
/// The master key file's name in the data directory.
pub const MASTER_KEY_FILE: &str = "master.key";

/// The pepper, the sealer of TOTP seeds, and the key of the accounts' secrets.
pub struct ServerKeys {
    pepper: Pepper,
    sealer: SecretStore,
    master: Arc<dyn KeyProvider>,
    store: Store,
}

impl ServerKeys {
    /// Loads (creating at first start) the keys for a data directory.
    pub(crate) fn load(data_dir: &Path, store: &Store) -> Result<Self, ServerError> {
        let pepper = load_pepper(data_dir, std::env::var(PEPPER_ENV).ok())?;
        let settings = KeySettings {
            master_key: std::env::var(rampart_secrets::MASTER_KEY_ENV)
                .ok()
                .filter(|key| !key.is_empty())
                .map(Zeroizing::new),
            new_master_key: None,
            key_file: Some(data_dir.join(MASTER_KEY_FILE)),
        };
        let (keys, notices) = LocalKeys::load(&settings, KeyMode::Create)
            .map_err(|error| ServerError::Keys(error.to_string()))?;
        for notice in notices {
            tracing::warn!("{notice}");
        }
        let master: Arc<dyn KeyProvider> = Arc::new(keys);
        Ok(ServerKeys {
            pepper,
            sealer: SecretStore::with_database(store.clone(), master.clone()),
            master,
            store: store.clone(),
        })
    }

    /// An account's encrypted secrets.
    pub(crate) fn secrets(&self, account: &str) -> SecretStore {
        SecretStore::for_account(self.store.clone(), self.master.clone(), account)
    }

    /// The key of stored credential hashes.
    pub fn pepper(&self) -> &Pepper {
        &self.pepper
    }

    /// Seals `plaintext` for the database, bound to `what` and `context`
    /// (so it opens only for the same row).
    pub(crate) fn seal(
        &self,
        what: &str,
        context: &[&[u8]],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, ApiError> {
        self.sealer
            .seal_blob(what, context, plaintext)
            .map(|blob| blob.to_bytes())
            .map_err(|error| ApiError::internal("cannot seal a value", error))
    }

    /// Opens what [`ServerKeys::seal`] sealed with the same `what` and `context`.
    pub(crate) fn open(
        &self,
        what: &str,
        context: &[&[u8]],
        sealed: &[u8],
    ) -> Result<SecretValue, ApiError> {
        let blob = SealedBlob::from_bytes(sealed)
            .ok_or_else(|| ApiError::internal("cannot open a sealed value", "not a sealed blob"))?;
        self.sealer
            .open_blob(what, context, &blob)
            .map_err(|error| ApiError::internal("cannot open a sealed value", error))
    }
}

fn load_pepper(data_dir: &Path, from_env: Option<String>) -> Result<Pepper, ServerError> {
    let invalid = |what: String| ServerError::Keys(what);
    if let Some(text) = from_env.filter(|text| !text.is_empty()) {
        let bytes = Zeroizing::new(STANDARD.decode(text.trim()).map_err(|_| {
            invalid(format!(
                "{PEPPER_ENV} is not base64 (it must hold at least 32 random bytes)"
            ))
        })?);
        return Pepper::new(&bytes).map_err(|e| invalid(format!("{PEPPER_ENV}: {e}")));
    }
    let path = data_dir.join(PEPPER_FILE);
    let file_error = |action: &str, e: std::io::Error| {
        invalid(format!(
            "cannot {action} the pepper file {}: {e}",
            path.display()
        ))
    };
    match OpenOptions::new().read(true).open(&path) {
        Ok(mut file) => {
            let mode = file
                .metadata()
                .map_err(|e| file_error("inspect", e))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(invalid(format!(
                    "refusing the pepper file {}: its mode is {:04o}, so others can read it; run `chmod 600 {}`",
                    path.display(),
                    mode & 0o7777,
                    path.display()
                )));
            }
            let mut text = Zeroizing::new(String::new());
            file.read_to_string(&mut text)
                .map_err(|e| file_error("read", e))?;
            let bytes = Zeroizing::new(STANDARD.decode(text.trim()).map_err(|_| {
                invalid(format!(
                    "the pepper file {} is not base64; restore it from a backup",
                    path.display()
                ))
            })?);
            Pepper::new(&bytes).map_err(|e| invalid(format!("{}: {e}", path.display())))
        }
        Err(error) if error.kind() == ErrorKind::NotFound => {
            let pepper = Pepper::generate().map_err(|e| invalid(e.to_string()))?;
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| file_error("create", e))?;
            let text = Zeroizing::new(format!("{}\n", STANDARD.encode(pepper.expose())));
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| file_error("write", e))?;
            Ok(pepper)
        }
        Err(error) => Err(file_error("open", error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pepper_file_is_created_private_reused_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_pepper(dir.path(), None).unwrap();
        let path = dir.path().join(PEPPER_FILE);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = load_pepper(dir.path(), None).unwrap();
        assert_eq!(first.expose(), again.expose());

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let loose = load_pepper(dir.path(), None).unwrap_err().to_string();
        assert!(loose.contains("chmod 600"), "{loose}");

        let from_env = load_pepper(dir.path(), Some(STANDARD.encode([9u8; 32]))).unwrap();
        assert_eq!(from_env.expose(), [9u8; 32]);
        let short = load_pepper(dir.path(), Some(STANDARD.encode([9u8; 8])));
        assert!(short.is_err());
        let garbage = load_pepper(dir.path(), Some("not base64!".into()));
        assert!(garbage.unwrap_err().to_string().contains(PEPPER_ENV));
    }
}
