//! Rampart's secret store.
//!
//! Envelope encryption over `rampart-store`: each secret version's value is
//! sealed with XChaCha20-Poly1305 (RustCrypto) under a fresh random 256-bit
//! data key; the data key is stored only wrapped by a key-encryption key
//! from a [`KeyProvider`]. The associated data binds both to the row's
//! account, scope, identifier, version and type, so bytes copied onto another
//! row, or into another account, fail to decrypt. Key ids are recorded per row, so rotation knows what wrapped
//! what. Scopes and identifiers follow Harness (account / org / project;
//! `^[a-zA-Z_][0-9a-zA-Z_]{0,127}$`).
//!
//! It deliberately does not deliver secrets to steps, mask them or decide
//! who may read them: the engine, `rampart-mask` and (later) the server's
//! authorization do. Values never leave this crate except through an
//! explicit [`SecretValue::expose`]; `Debug`/`Display` print `[redacted]`,
//! memory is wiped on drop, and error messages name secrets, never values.
//!
//! Entry points:
//! - [`LocalSecrets::open`]`(state_dir, &`[`KeySettings::from_env`]`(), mode)`:
//!   the state directory's store with the local master key
//!   (`RAMPART_MASTER_KEY`, else `~/.config/rampart/master.key`).
//! - [`SecretStore`]: `set`, `get`, `list`, `remove`, `rotate_key`, and
//!   `snapshot` for synchronous lookups during a run, within one account
//!   ([`SecretStore::for_account`]; "" for the local CLI's store).
//! - [`SecretRef::parse`]: `<+secrets.getValue(ID)>`'s ID for a pipeline's
//!   `orgIdentifier`/`projectIdentifier`.

#![forbid(unsafe_code)]

mod crypto;
mod id;
mod keys;
mod local;
mod store;
mod value;

pub use crypto::{CIPHER, DataKey, RandomError};
pub use id::{IdError, Identifier, RefError, Scope, ScopeError, SecretRef};
pub use keys::{KeyError, KeyProvider, MasterKey};
pub use local::{
    KeyMode, KeySettings, LocalKeys, LocalSecrets, MASTER_KEY_ENV, NEW_MASTER_KEY_ENV, Notice,
    Rotated,
};
pub use store::{
    DB_FILE, Error, MAX_VALUE_LEN, RotateOutcome, SealedBlob, Secret, SecretInfo, SecretSnapshot,
    SecretStore, SetOutcome,
};
pub use value::{NotUtf8, ReadError, SecretKind, SecretValue};
