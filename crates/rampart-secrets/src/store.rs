//! The secret store facade: seal on `set`, open on `get`, re-wrap on rotation.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rampart_store::{
    NewSecretVersion, Rewrap, SecretName, SecretRepo, Store, StoreError, StoredVersion,
};

use crate::crypto::{self, CIPHER, DataKey, RandomError, SealError};
use crate::id::{Identifier, Scope, SecretRef};
use crate::keys::{KeyError, KeyProvider};
use crate::value::{SecretKind, SecretValue};

/// The database file inside a state directory.
pub const DB_FILE: &str = "rampart.db";

/// The largest value a secret may hold (a file secret such as a keystore
/// fits; a runaway `cat` into stdin does not).
pub const MAX_VALUE_LEN: usize = 4 * 1024 * 1024;

/// How often `set` retries when another writer took the same version number.
const SET_ATTEMPTS: u32 = 3;

/// What went wrong with a secret. Messages name secrets by scope and
/// identifier; they never contain a value or key material.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}", not_found(.secret, .account))]
    NotFound { secret: SecretRef, account: String },
    #[error("refusing to store an empty value for secret {0}")]
    EmptyValue(SecretRef),
    #[error("the value of secret {secret} is {len} bytes; the limit is {MAX_VALUE_LEN}")]
    TooLarge { secret: SecretRef, len: usize },
    #[error("cannot read secret {secret}: {source}")]
    Unwrap {
        secret: String,
        #[source]
        source: KeyError,
    },
    #[error("cannot store secret {secret}: {source}")]
    Wrap {
        secret: String,
        #[source]
        source: KeyError,
    },
    #[error(
        "cannot decrypt secret {secret}: its stored value was altered or belongs to another secret (nothing was decrypted)"
    )]
    Tampered { secret: String },
    #[error("secret {secret} is stored in a form this version of Rampart cannot read ({what})")]
    Unreadable { secret: String, what: String },
    #[error("cannot re-wrap the data key of secret {secret} under the new master key: {source}")]
    Rewrap {
        secret: String,
        #[source]
        source: KeyError,
    },
    #[error("secret {0} has reached the highest version number")]
    VersionOverflow(SecretRef),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Random(#[from] RandomError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The local store's hint names the CLI command that fills it; a server
/// account's store is filled through the server, so only the account is named.
fn not_found(secret: &SecretRef, account: &str) -> String {
    if account.is_empty() {
        format!(
            "no secret {secret} in this store; store it with `rampart secret set {}{}`",
            secret.id,
            flags(&secret.scope)
        )
    } else {
        format!("no secret {secret} in account {account}")
    }
}

/// `rampart secret set` flags for a scope, for hints.
fn flags(scope: &Scope) -> String {
    match scope {
        Scope::Account => String::new(),
        Scope::Org { org } => format!(" --org {org}"),
        Scope::Project { org, project } => format!(" --org {org} --project {project}"),
    }
}

/// A value sealed by [`SecretStore::seal_blob`]; holds no plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedBlob {
    pub key_id: String,
    pub wrapped_key: Vec<u8>,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

/// Version byte of [`SealedBlob::to_bytes`]'s format.
const BLOB_FORMAT: u8 = 1;

impl SealedBlob {
    /// One byte string for a database column: a format byte, then each
    /// field as a 4-byte big-endian length and its bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let fields: [&[u8]; 4] = [
            self.key_id.as_bytes(),
            &self.wrapped_key,
            &self.nonce,
            &self.ciphertext,
        ];
        let mut out = Vec::with_capacity(1 + fields.iter().map(|f| 4 + f.len()).sum::<usize>());
        out.push(BLOB_FORMAT);
        for field in fields {
            // Every field is far below 4 GiB (values are capped at MAX_VALUE_LEN).
            out.extend_from_slice(&u32::try_from(field.len()).unwrap_or(u32::MAX).to_be_bytes());
            out.extend_from_slice(field);
        }
        out
    }

    /// Reads what [`SealedBlob::to_bytes`] wrote; `None` if it is not that.
    pub fn from_bytes(bytes: &[u8]) -> Option<SealedBlob> {
        let (&format, mut rest) = bytes.split_first()?;
        if format != BLOB_FORMAT {
            return None;
        }
        let mut field = || -> Option<Vec<u8>> {
            let (len, tail) = rest.split_first_chunk::<4>()?;
            let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
            let (value, tail) = tail.split_at_checked(len)?;
            rest = tail;
            Some(value.to_vec())
        };
        let key_id = String::from_utf8(field()?).ok()?;
        let wrapped_key = field()?;
        let nonce = field()?;
        let ciphertext = field()?;
        rest.is_empty().then_some(SealedBlob {
            key_id,
            wrapped_key,
            nonce,
            ciphertext,
        })
    }
}

/// A decrypted secret: the latest version of its value.
#[derive(Debug, Clone)]
pub struct Secret {
    pub reference: SecretRef,
    pub kind: SecretKind,
    pub version: u32,
    pub value: SecretValue,
}

/// A secret's metadata, for listing. Holds no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretInfo {
    pub reference: SecretRef,
    /// The kind of the latest version.
    pub kind: SecretKind,
    pub version: u32,
    /// How many versions are kept.
    pub versions: u32,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// What `set` stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetOutcome {
    /// The new version (1 for a new secret).
    pub version: u32,
}

/// What `rotate_key` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotateOutcome {
    /// How many data keys (one per stored version) were re-wrapped.
    pub rewrapped: usize,
    /// The key that wraps every data key now.
    pub key_id: String,
    /// The keys that wrapped them before.
    pub previous_key_ids: BTreeSet<String>,
}

/// Encrypted secrets in a database, opened with a key provider.
///
/// Envelope encryption: each version's value is sealed with XChaCha20-Poly1305
/// under its own random data key; the data key is stored wrapped by the
/// provider's key-encryption key. Both are bound (as associated data) to the
/// row's account, scope, identifier, version and kind, so bytes moved to
/// another row, or to another account, do not decrypt.
///
/// A store is bound to one account: `set`, `get`, `list`, `remove`,
/// `snapshot` and `is_empty` see only its secrets. `rotate_key` re-wraps
/// every account's, since one master key wraps them all.
pub struct SecretStore {
    db: Store,
    keys: Arc<dyn KeyProvider>,
    /// "" for the local CLI's store, which has no accounts.
    account: String,
}

impl SecretStore {
    /// Opens (creating if needed) `STATE_DIR/rampart.db`, in account "".
    pub async fn open(state_dir: &Path, keys: Arc<dyn KeyProvider>) -> Result<Self, Error> {
        let db = Store::open_sqlite(&state_dir.join(DB_FILE)).await?;
        Ok(SecretStore::with_database(db, keys))
    }

    /// A store on an already opened database (any URL [`Store::connect`]
    /// takes), in account "" (the local CLI's).
    pub fn with_database(db: Store, keys: Arc<dyn KeyProvider>) -> Self {
        SecretStore::for_account(db, keys, "")
    }

    /// A store on an already opened database holding one server account's
    /// secrets ("" is the local CLI's, as [`SecretStore::with_database`]).
    pub fn for_account(db: Store, keys: Arc<dyn KeyProvider>, account: &str) -> Self {
        SecretStore {
            db,
            keys,
            account: account.to_string(),
        }
    }

    /// The account this store's secrets belong to.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// Stores `value` as the next version of `secret`.
    pub async fn set(
        &self,
        secret: &SecretRef,
        kind: SecretKind,
        value: &SecretValue,
    ) -> Result<SetOutcome, Error> {
        if value.is_empty() {
            return Err(Error::EmptyValue(secret.clone()));
        }
        if value.len() > MAX_VALUE_LEN {
            return Err(Error::TooLarge {
                secret: secret.clone(),
                len: value.len(),
            });
        }
        let name = name_of(&self.account, secret);
        let mut attempt = 1;
        loop {
            let version = match self.db.latest(&name).await? {
                Some(latest) => latest
                    .version
                    .checked_add(1)
                    .ok_or_else(|| Error::VersionOverflow(secret.clone()))?,
                None => 1,
            };
            let row = self.seal(secret, &name, version, kind, value)?;
            match self.db.insert_version(&row).await {
                Ok(()) => return Ok(SetOutcome { version }),
                Err(StoreError::Conflict(_)) if attempt < SET_ATTEMPTS => attempt += 1,
                Err(error) => return Err(error.into()),
            }
        }
    }

    fn seal(
        &self,
        secret: &SecretRef,
        name: &SecretName,
        version: u32,
        kind: SecretKind,
        value: &SecretValue,
    ) -> Result<NewSecretVersion, Error> {
        let data_key = DataKey::generate()?;
        let sealed = crypto::seal(
            data_key.expose(),
            value.expose(),
            &value_aad(name, version, kind),
        )
        .map_err(|error| match error {
            SealError::Random(random) => Error::Random(random),
            SealError::TooLarge => Error::TooLarge {
                secret: secret.clone(),
                len: value.len(),
            },
        })?;
        let key_id = self.keys.key_id();
        let wrapped_key = self
            .keys
            .wrap(&data_key, &key_aad(name, version, kind))
            .map_err(|source| Error::Wrap {
                secret: secret.to_string(),
                source,
            })?;
        Ok(NewSecretVersion {
            name: name.clone(),
            version,
            kind: kind.as_str().to_string(),
            cipher: CIPHER.to_string(),
            key_id,
            wrapped_key,
            nonce: sealed.nonce.to_vec(),
            ciphertext: sealed.ciphertext,
            created_at_ms: now_ms(),
        })
    }

    /// Seals a value kept outside the secret table (a run's Secret outputs,
    /// in its record) with the same envelope as a secret version: a fresh
    /// data key, wrapped by the master key, both bound to `what` and
    /// `context`, so a blob copied to another place fails to open.
    pub fn seal_blob(
        &self,
        what: &str,
        context: &[&[u8]],
        plaintext: &[u8],
    ) -> Result<SealedBlob, Error> {
        let aad = crypto::associated_data(&format!("rampart blob: {what}"), context);
        let data_key = DataKey::generate()?;
        let sealed =
            crypto::seal(data_key.expose(), plaintext, &aad).map_err(|error| match error {
                SealError::Random(random) => Error::Random(random),
                SealError::TooLarge => Error::Unreadable {
                    secret: what.to_string(),
                    what: format!("a value of {} bytes", plaintext.len()),
                },
            })?;
        let wrapped_key = self
            .keys
            .wrap(&data_key, &aad)
            .map_err(|source| Error::Wrap {
                secret: what.to_string(),
                source,
            })?;
        Ok(SealedBlob {
            key_id: self.keys.key_id(),
            wrapped_key,
            nonce: sealed.nonce.to_vec(),
            ciphertext: sealed.ciphertext,
        })
    }

    /// Opens what [`seal_blob`](Self::seal_blob) sealed with the same `what` and `context`.
    pub fn open_blob(
        &self,
        what: &str,
        context: &[&[u8]],
        blob: &SealedBlob,
    ) -> Result<SecretValue, Error> {
        let aad = crypto::associated_data(&format!("rampart blob: {what}"), context);
        let data_key = self
            .keys
            .unwrap(&blob.key_id, &blob.wrapped_key, &aad)
            .map_err(|source| Error::Unwrap {
                secret: what.to_string(),
                source,
            })?;
        let plaintext = crypto::open(data_key.expose(), &blob.nonce, &blob.ciphertext, &aad)
            .map_err(|_| Error::Tampered {
                secret: what.to_string(),
            })?;
        Ok(SecretValue::from(plaintext))
    }

    /// The latest version of `secret`, decrypted.
    pub async fn get(&self, secret: &SecretRef) -> Result<Secret, Error> {
        let row = self
            .db
            .latest(&name_of(&self.account, secret))
            .await?
            .ok_or_else(|| self.not_found(secret))?;
        open_row(self.keys.as_ref(), secret.clone(), &row)
    }

    fn not_found(&self, secret: &SecretRef) -> Error {
        Error::NotFound {
            secret: secret.clone(),
            account: self.account.clone(),
        }
    }

    /// Every secret's metadata in this store's account: account scope
    /// first, then by org, project, identifier.
    pub async fn list(&self) -> Result<Vec<SecretInfo>, Error> {
        let metas = self.db.list(&self.account).await?;
        metas
            .into_iter()
            .map(|meta| {
                Ok(SecretInfo {
                    reference: ref_of(&meta.name)?,
                    kind: kind_of(&meta.name, &meta.kind)?,
                    version: meta.latest_version,
                    versions: meta.versions,
                    created_at_ms: meta.created_at_ms,
                    updated_at_ms: meta.updated_at_ms,
                })
            })
            .collect()
    }

    /// Deletes every version of `secret`; returns how many there were.
    pub async fn remove(&self, secret: &SecretRef) -> Result<u64, Error> {
        match self.db.delete(&name_of(&self.account, secret)).await? {
            0 => Err(self.not_found(secret)),
            removed => Ok(removed),
        }
    }

    /// Re-wraps every data key of every account (not only this store's)
    /// under `new_keys`, in one transaction: either
    /// every row moves to the new key or none does. Values are never
    /// decrypted; data keys are unwrapped in memory only. On success the
    /// store uses `new_keys` from then on.
    pub async fn rotate_key(
        &mut self,
        new_keys: Arc<dyn KeyProvider>,
    ) -> Result<RotateOutcome, Error> {
        let rows = self.db.wrapped_keys().await?;
        let key_id = new_keys.key_id();
        let mut previous_key_ids = BTreeSet::new();
        let mut rewraps = Vec::with_capacity(rows.len());
        for row in &rows {
            let kind = kind_of(&row.name, &row.kind)?;
            let aad = key_aad(&row.name, row.version, kind);
            let data_key = self
                .keys
                .unwrap(&row.key_id, &row.wrapped_key, &aad)
                .map_err(|source| Error::Unwrap {
                    secret: describe(&row.name),
                    source,
                })?;
            let new_wrapped_key =
                new_keys
                    .wrap(&data_key, &aad)
                    .map_err(|source| Error::Rewrap {
                        secret: describe(&row.name),
                        source,
                    })?;
            previous_key_ids.insert(row.key_id.clone());
            rewraps.push(Rewrap {
                name: row.name.clone(),
                version: row.version,
                old_wrapped_key: row.wrapped_key.clone(),
                new_key_id: key_id.clone(),
                new_wrapped_key,
            });
        }
        self.db.replace_wrapped_keys(&rewraps).await?;
        self.keys = new_keys;
        Ok(RotateOutcome {
            rewrapped: rewraps.len(),
            key_id,
            previous_key_ids,
        })
    }

    /// The latest version of every secret in this store's account, still
    /// sealed, for synchronous lookups during a run ([`SecretSnapshot::get`]
    /// decrypts on demand).
    pub async fn snapshot(&self) -> Result<SecretSnapshot, Error> {
        let rows = self.db.latest_all(&self.account).await?;
        Ok(SecretSnapshot {
            rows: rows
                .into_iter()
                .map(|row| (row.name.clone(), row))
                .collect(),
            keys: self.keys.clone(),
            account: self.account.clone(),
        })
    }

    /// Replaces the key provider (after the key files moved under it).
    pub(crate) fn set_keys(&mut self, keys: Arc<dyn KeyProvider>) {
        self.keys = keys;
    }

    /// Whether no secret is stored in this store's account.
    pub async fn is_empty(&self) -> Result<bool, Error> {
        Ok(self.db.list(&self.account).await?.is_empty())
    }

    /// Closes the database, so its files are complete on disk.
    pub async fn close(&self) {
        self.db.close().await;
    }
}

/// The latest sealed version of every secret, read once; `get` unwraps and
/// decrypts one on demand, without touching the database. Values stay
/// encrypted in memory until asked for.
pub struct SecretSnapshot {
    rows: HashMap<SecretName, StoredVersion>,
    keys: Arc<dyn KeyProvider>,
    account: String,
}

impl SecretSnapshot {
    pub fn get(&self, secret: &SecretRef) -> Result<Secret, Error> {
        let row = self
            .rows
            .get(&name_of(&self.account, secret))
            .ok_or_else(|| Error::NotFound {
                secret: secret.clone(),
                account: self.account.clone(),
            })?;
        open_row(self.keys.as_ref(), secret.clone(), row)
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

fn open_row(
    keys: &dyn KeyProvider,
    secret: SecretRef,
    row: &StoredVersion,
) -> Result<Secret, Error> {
    if row.cipher != CIPHER {
        return Err(Error::Unreadable {
            secret: secret.to_string(),
            what: format!("cipher `{}`", row.cipher),
        });
    }
    let kind = kind_of(&row.name, &row.kind)?;
    let data_key = keys
        .unwrap(
            &row.key_id,
            &row.wrapped_key,
            &key_aad(&row.name, row.version, kind),
        )
        .map_err(|source| Error::Unwrap {
            secret: secret.to_string(),
            source,
        })?;
    let plaintext = crypto::open(
        data_key.expose(),
        &row.nonce,
        &row.ciphertext,
        &value_aad(&row.name, row.version, kind),
    )
    .map_err(|_| Error::Tampered {
        secret: secret.to_string(),
    })?;
    Ok(Secret {
        reference: secret,
        kind,
        version: row.version,
        value: SecretValue::from(plaintext),
    })
}

fn name_of(account: &str, secret: &SecretRef) -> SecretName {
    SecretName {
        account: account.to_string(),
        org: secret.scope.org().map(|org| org.as_str().to_string()),
        project: secret
            .scope
            .project()
            .map(|project| project.as_str().to_string()),
        identifier: secret.id.as_str().to_string(),
    }
}

/// A stored name back as a reference; a row no valid reference names is unreadable.
fn ref_of(name: &SecretName) -> Result<SecretRef, Error> {
    let unreadable = |what: String| Error::Unreadable {
        secret: describe(name),
        what,
    };
    let scope = Scope::new(name.org.as_deref(), name.project.as_deref())
        .map_err(|error| unreadable(error.to_string()))?;
    let id = Identifier::new(&name.identifier)
        .map_err(|error| unreadable(format!("identifier: {error}")))?;
    Ok(SecretRef::new(scope, id))
}

fn kind_of(name: &SecretName, kind: &str) -> Result<SecretKind, Error> {
    SecretKind::parse(kind).ok_or_else(|| Error::Unreadable {
        secret: describe(name),
        what: format!("type `{kind}`"),
    })
}

/// A stored name for messages, valid or not.
fn describe(name: &SecretName) -> String {
    let scope = match (&name.org, &name.project) {
        (None, _) => format!("`{}` (account", name.identifier),
        (Some(org), None) => format!("`{}` (org {org}", name.identifier),
        (Some(org), Some(project)) => format!("`{}` (project {org}/{project}", name.identifier),
    };
    if name.account.is_empty() {
        format!("{scope})")
    } else {
        format!("{scope} in account {})", name.account)
    }
}

/// The associated-data fields of a row. The account comes last and only
/// when non-empty, so rows of the local store (account "") keep the bytes
/// they were sealed with before accounts existed; the length prefixes of
/// [`crypto::associated_data`] keep five fields and six apart.
fn row_fields<'a>(name: &'a SecretName, version: &'a [u8; 4], kind: SecretKind) -> Vec<&'a [u8]> {
    let mut fields: Vec<&[u8]> = vec![
        name.org.as_deref().unwrap_or_default().as_bytes(),
        name.project.as_deref().unwrap_or_default().as_bytes(),
        name.identifier.as_bytes(),
        version,
        kind.as_str().as_bytes(),
    ];
    if !name.account.is_empty() {
        fields.push(name.account.as_bytes());
    }
    fields
}

/// What a sealed value is bound to: its row's scope, identifier, version,
/// kind and account.
fn value_aad(name: &SecretName, version: u32, kind: SecretKind) -> Vec<u8> {
    let version = version.to_be_bytes();
    crypto::associated_data("rampart secret value v1", &row_fields(name, &version, kind))
}

/// What a wrapped data key is bound to: the same row, under another label.
fn key_aad(name: &SecretName, version: u32, kind: SecretKind) -> Vec<u8> {
    let version = version.to_be_bytes();
    crypto::associated_data("rampart data key v1", &row_fields(name, &version, kind))
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(account: &str) -> SecretName {
        SecretName {
            account: account.to_string(),
            org: Some("org1".into()),
            project: Some("proj1".into()),
            identifier: "token".into(),
        }
    }

    /// The associated data as it was built before accounts existed.
    fn before_accounts(label: &str, name: &SecretName, version: u32, kind: SecretKind) -> Vec<u8> {
        let org = name.org.clone().unwrap_or_default();
        let project = name.project.clone().unwrap_or_default();
        crypto::associated_data(
            label,
            &[
                org.as_bytes(),
                project.as_bytes(),
                name.identifier.as_bytes(),
                &version.to_be_bytes(),
                kind.as_str().as_bytes(),
            ],
        )
    }

    #[test]
    fn the_local_accounts_associated_data_is_unchanged_and_accounts_differ() {
        let local = name("");
        for kind in [SecretKind::Text, SecretKind::File] {
            assert_eq!(
                value_aad(&local, 3, kind),
                before_accounts("rampart secret value v1", &local, 3, kind)
            );
            assert_eq!(
                key_aad(&local, 3, kind),
                before_accounts("rampart data key v1", &local, 3, kind)
            );
        }
        let (a, b) = (name("acct_a"), name("acct_b"));
        let text = SecretKind::Text;
        assert_ne!(value_aad(&a, 1, text), value_aad(&local, 1, text));
        assert_ne!(value_aad(&a, 1, text), value_aad(&b, 1, text));
        assert_ne!(key_aad(&a, 1, text), key_aad(&local, 1, text));
        assert_ne!(key_aad(&a, 1, text), key_aad(&b, 1, text));
    }

    #[test]
    fn descriptions_name_the_account_when_there_is_one() {
        assert_eq!(describe(&name("")), "`token` (project org1/proj1)");
        assert_eq!(
            describe(&name("acct_a")),
            "`token` (project org1/proj1 in account acct_a)"
        );
    }
}
