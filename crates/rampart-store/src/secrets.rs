//! The secret aggregate: sealed secret versions, as rows.

use std::future::Future;

use crate::StoreError;

/// Which secret a row belongs to: its account, its scope within the account
/// (no org: account; an org and no project: org; both: project) and its
/// identifier. Validation of the parts belongs to `rampart-secrets`; the
/// store keeps what it is given.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretName {
    /// The server account owning the secret; "" for the local CLI's store,
    /// which has no accounts.
    pub account: String,
    pub org: Option<String>,
    pub project: Option<String>,
    pub identifier: String,
}

/// A new sealed version to store. `version` is chosen by the caller (one
/// more than the latest) because the ciphertext is bound to it; storing a
/// version that already exists fails with [`StoreError::Conflict`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSecretVersion {
    pub name: SecretName,
    pub version: u32,
    /// `text` or `file`.
    pub kind: String,
    /// The AEAD that sealed `ciphertext`, so the format can change later.
    pub cipher: String,
    /// Which key-encryption key wrapped `wrapped_key`.
    pub key_id: String,
    pub wrapped_key: Vec<u8>,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
    pub created_at_ms: i64,
}

/// A stored version: the same fields as were put.
pub type StoredVersion = NewSecretVersion;

/// One secret's metadata (never its value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretMeta {
    pub name: SecretName,
    /// The kind of the latest version.
    pub kind: String,
    pub latest_version: u32,
    /// How many versions are kept.
    pub versions: u32,
    /// When the first kept version was stored.
    pub created_at_ms: i64,
    /// When the latest version was stored.
    pub updated_at_ms: i64,
}

/// One version's wrapped data key, with what identifies the row (the
/// wrapping is bound to it), for re-wrapping under a new key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    pub name: SecretName,
    pub version: u32,
    pub kind: String,
    pub key_id: String,
    pub wrapped_key: Vec<u8>,
}

/// Replace one version's wrapped data key, provided it is still the one
/// that was read (`old_wrapped_key`), so a concurrent change is detected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewrap {
    pub name: SecretName,
    pub version: u32,
    pub old_wrapped_key: Vec<u8>,
    pub new_key_id: String,
    pub new_wrapped_key: Vec<u8>,
}

/// Where sealed secret versions live. Implementations must keep every
/// method atomic: a failure leaves the rows as they were.
pub trait SecretRepo {
    /// Stores a new version; [`StoreError::Conflict`] if that version exists.
    fn insert_version(
        &self,
        row: &NewSecretVersion,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The highest version of a secret, if it has any.
    fn latest(
        &self,
        name: &SecretName,
    ) -> impl Future<Output = Result<Option<StoredVersion>, StoreError>> + Send;

    /// The highest version of every secret of one account, ordered by
    /// scope and identifier. Filtered here so no caller can forget to.
    fn latest_all(
        &self,
        account: &str,
    ) -> impl Future<Output = Result<Vec<StoredVersion>, StoreError>> + Send;

    /// Every secret's metadata in one account, ordered by scope and identifier.
    fn list(
        &self,
        account: &str,
    ) -> impl Future<Output = Result<Vec<SecretMeta>, StoreError>> + Send;

    /// Deletes every version of a secret; returns how many were deleted.
    fn delete(&self, name: &SecretName) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The wrapped data key of every version of every secret, in every
    /// account (one master key wraps them all).
    fn wrapped_keys(&self) -> impl Future<Output = Result<Vec<WrappedKey>, StoreError>> + Send;

    /// Replaces wrapped data keys in ONE transaction. `rewraps` must cover
    /// every stored version, each still holding its `old_wrapped_key`;
    /// otherwise nothing changes and the result is [`StoreError::Conflict`].
    fn replace_wrapped_keys(
        &self,
        rewraps: &[Rewrap],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
