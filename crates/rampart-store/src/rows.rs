//! Mapping between `secret_versions` rows and the repository's types, shared
//! by the SQLite and PostgreSQL implementations (same columns, same meaning).

use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::StoreError;
use crate::secrets::{SecretMeta, SecretName, StoredVersion, WrappedKey};

/// The columns of a stored version, in the order `stored_of` reads them.
pub(crate) const VERSION_COLUMNS: &str = "scope_account, scope_org, scope_project, identifier, \
     version, kind, cipher, key_id, wrapped_key, nonce, ciphertext, created_at_ms";

/// The stored form of an absent org or project.
pub(crate) fn column(part: Option<&String>) -> &str {
    part.map_or("", String::as_str)
}

pub(crate) fn optional(value: String) -> Option<String> {
    (!value.is_empty()).then_some(value)
}

pub(crate) fn version_of(value: i64) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("secret version {value}")))
}

pub(crate) fn name_of<'r, R>(row: &'r R) -> Result<SecretName, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(SecretName {
        account: row.try_get("scope_account")?,
        org: optional(row.try_get("scope_org")?),
        project: optional(row.try_get("scope_project")?),
        identifier: row.try_get("identifier")?,
    })
}

pub(crate) fn stored_of<'r, R>(row: &'r R) -> Result<StoredVersion, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(StoredVersion {
        name: name_of(row)?,
        version: version_of(row.try_get("version")?)?,
        kind: row.try_get("kind")?,
        cipher: row.try_get("cipher")?,
        key_id: row.try_get("key_id")?,
        wrapped_key: row.try_get("wrapped_key")?,
        nonce: row.try_get("nonce")?,
        ciphertext: row.try_get("ciphertext")?,
        created_at_ms: row.try_get("created_at_ms")?,
    })
}

/// A secret's metadata from a listing row (its latest version, and `versions`).
pub(crate) fn meta_of<'r, R>(row: &'r R) -> Result<SecretMeta, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(SecretMeta {
        name: name_of(row)?,
        kind: row.try_get("kind")?,
        latest_version: version_of(row.try_get("version")?)?,
        versions: version_of(row.try_get("versions")?)?,
        created_at_ms: row.try_get("created_at_ms")?,
        updated_at_ms: row.try_get("updated_at_ms")?,
    })
}

/// A wrapped data key, for rotation.
pub(crate) fn wrapped_of<'r, R>(row: &'r R) -> Result<WrappedKey, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(WrappedKey {
        name: name_of(row)?,
        version: version_of(row.try_get("version")?)?,
        kind: row.try_get("kind")?,
        key_id: row.try_get("key_id")?,
        wrapped_key: row.try_get("wrapped_key")?,
    })
}
