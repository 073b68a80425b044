//! The local master key: `RAMPART_MASTER_KEY`, or a key file under the
//! user's config directory, and how `rotate-key` moves from one to another.
//!
//! Key files hold base64 of 32 random bytes and a newline (so
//! `RAMPART_MASTER_KEY="$(cat master.key)"` works), mode 0600, in a 0700
//! directory. Next to `master.key` there may be:
//! - `master.key.new`: the key an unfinished `rotate-key` is moving to.
//!   It is written before the re-wrap transaction and renamed over
//!   `master.key` after it commits; until then both keys are loaded, so a
//!   crash at any point loses nothing, and the next `rotate-key` reuses it.
//! - `master.key.old.<id>`: keys that `rotate-key` retired. One key file
//!   serves every state directory of the user; another state directory whose
//!   secrets the retired key still wraps keeps working, and `rotate-key`
//!   there re-wraps them under the current key. Delete a retired key once no
//!   store needs it.

use std::ffi::OsString;
use std::fmt;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::crypto::{self, DataKey};
use crate::keys::{KeyError, KeyProvider, MasterKey};
use crate::store::{Error, RotateOutcome, SecretStore};

/// The master key itself, base64 of 32 bytes; wins over the key file.
pub const MASTER_KEY_ENV: &str = "RAMPART_MASTER_KEY";
/// The key `rotate-key` moves to: required when the key comes from
/// `RAMPART_MASTER_KEY`, optional with a key file (else a new one is generated).
pub const NEW_MASTER_KEY_ENV: &str = "RAMPART_NEW_MASTER_KEY";

/// Where the local master key comes from, read from the environment once.
#[derive(Clone, Default)]
pub struct KeySettings {
    /// `RAMPART_MASTER_KEY`, when set and not empty.
    pub master_key: Option<Zeroizing<String>>,
    /// `RAMPART_NEW_MASTER_KEY`, when set and not empty.
    pub new_master_key: Option<Zeroizing<String>>,
    /// `$XDG_CONFIG_HOME/rampart/master.key`, else
    /// `$HOME/.config/rampart/master.key`; `None` with neither set.
    pub key_file: Option<PathBuf>,
}

impl fmt::Debug for KeySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |set: bool| if set { "[redacted]" } else { "unset" };
        f.debug_struct("KeySettings")
            .field("master_key", &shown(self.master_key.is_some()))
            .field("new_master_key", &shown(self.new_master_key.is_some()))
            .field("key_file", &self.key_file)
            .finish()
    }
}

impl KeySettings {
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var_os(name))
    }

    /// The settings given a variable lookup (tests pass their own).
    pub fn from_vars(var: impl Fn(&str) -> Option<OsString>) -> Self {
        let secret = |name: &str| {
            var(name)
                .map(|value| {
                    Zeroizing::new(
                        value
                            .into_string()
                            .unwrap_or_else(|value| value.to_string_lossy().into_owned()),
                    )
                })
                .filter(|value| !value.is_empty())
        };
        let config_dir = var("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|dir| dir.is_absolute())
            .or_else(|| {
                var("HOME")
                    .filter(|home| !home.is_empty())
                    .map(|home| PathBuf::from(home).join(".config"))
            });
        KeySettings {
            master_key: secret(MASTER_KEY_ENV),
            new_master_key: secret(NEW_MASTER_KEY_ENV),
            key_file: config_dir.map(|dir| dir.join("rampart").join("master.key")),
        }
    }
}

/// Whether opening may create a master key file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyMode {
    /// Create the key file if there is none and the store holds nothing
    /// it could have protected (`rampart secret set`).
    Create,
    /// Use what exists; without a key, reading a secret fails with a clear
    /// error, and listing and removing still work.
    Existing,
}

/// Something the user should hear about once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    CreatedKey(PathBuf),
    PendingRotation(PathBuf),
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notice::CreatedKey(path) => write!(
                f,
                "created a new master key at {} (mode 0600). Back it up somewhere safe: \
                 if it is lost, the secrets it protects are lost with it. \
                 ({MASTER_KEY_ENV}, base64 of 32 bytes, can hold a key instead of the file.)",
                path.display()
            ),
            Notice::PendingRotation(path) => write!(
                f,
                "an interrupted `rampart secret rotate-key` left {}; secrets stay readable, \
                 and running `rampart secret rotate-key` again finishes it",
                path.display()
            ),
        }
    }
}

/// Where the current key came from.
#[derive(Debug, Clone)]
enum Origin {
    Env,
    File(PathBuf),
    /// No key: the file that would hold it, if there is a config directory.
    Missing(Option<PathBuf>),
}

/// The local key ring: the current master key (which wraps new data keys)
/// and the keys that may still unwrap old ones (a pending rotation's new
/// key, retired keys). With `RAMPART_MASTER_KEY` set, only it and
/// `RAMPART_NEW_MASTER_KEY` are used; the key file is ignored.
pub struct LocalKeys {
    origin: Origin,
    current: Option<MasterKey>,
    others: Vec<MasterKey>,
}

impl fmt::Debug for LocalKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKeys")
            .field("origin", &self.origin)
            .field("current", &self.current)
            .field("others", &self.others)
            .finish()
    }
}

impl LocalKeys {
    /// Loads the keys `settings` point at. [`KeyMode::Create`] here creates a
    /// missing key file unconditionally; [`LocalSecrets::open`] first checks
    /// the store has nothing the missing key would have protected.
    pub fn load(settings: &KeySettings, mode: KeyMode) -> Result<(Self, Vec<Notice>), KeyError> {
        if let Some(text) = &settings.master_key {
            let current = MasterKey::from_base64(text).ok_or_else(|| {
                KeyError::Invalid(format!(
                    "{MASTER_KEY_ENV} is not a master key: it must be base64 of exactly 32 bytes"
                ))
            })?;
            let others = match &settings.new_master_key {
                Some(text) => vec![parse_new_key(text)?],
                None => Vec::new(),
            };
            let keys = LocalKeys {
                origin: Origin::Env,
                current: Some(current),
                others,
            };
            return Ok((keys, Vec::new()));
        }
        let Some(path) = settings.key_file.clone() else {
            let keys = LocalKeys {
                origin: Origin::Missing(None),
                current: None,
                others: Vec::new(),
            };
            return Ok((keys, Vec::new()));
        };
        let mut notices = Vec::new();
        check_directory(&path)?;
        let mut current = read_key_file(&path)?;
        if current.is_none() && mode == KeyMode::Create {
            let key = MasterKey::generate()?;
            if write_key_file(&path, &key)? {
                notices.push(Notice::CreatedKey(path.clone()));
                current = Some(key);
            } else {
                // Another process created it first: use theirs.
                current = read_key_file(&path)?;
            }
        }
        let mut others = Vec::new();
        let pending = pending_path(&path);
        if let Some(key) = read_key_file(&pending)? {
            notices.push(Notice::PendingRotation(pending));
            others.push(key);
        }
        for retired in retired_paths(&path)? {
            others.extend(read_key_file(&retired)?);
        }
        let origin = match current {
            Some(_) => Origin::File(path),
            None => Origin::Missing(Some(path)),
        };
        Ok((
            LocalKeys {
                origin,
                current,
                others,
            },
            notices,
        ))
    }

    /// The id of the key that wraps new data keys, if there is one.
    pub fn current_id(&self) -> Option<&str> {
        self.current.as_ref().map(MasterKey::id)
    }

    /// Where the current key comes from, for messages.
    pub fn origin(&self) -> String {
        match &self.origin {
            Origin::Env => MASTER_KEY_ENV.to_string(),
            Origin::File(path) => format!("the key file {}", path.display()),
            Origin::Missing(_) => "no master key".to_string(),
        }
    }

    fn missing(&self) -> KeyError {
        KeyError::NoKey(match &self.origin {
            Origin::Missing(Some(path)) => format!(
                "no master key: {MASTER_KEY_ENV} is not set and the key file {} does not exist; \
                 restore the key file from your backup (mode 0600) or set {MASTER_KEY_ENV}",
                path.display()
            ),
            _ => format!(
                "no master key: {MASTER_KEY_ENV} is not set and neither XDG_CONFIG_HOME nor HOME \
                 is set to locate the key file; set {MASTER_KEY_ENV} (base64 of 32 bytes)"
            ),
        })
    }

    fn find(&self, key_id: &str) -> Option<&MasterKey> {
        self.current
            .iter()
            .chain(&self.others)
            .find(|key| key.id() == key_id)
    }
}

impl KeyProvider for LocalKeys {
    fn key_id(&self) -> String {
        self.current_id().unwrap_or("none").to_string()
    }

    fn wrap(&self, key: &DataKey, aad: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.current {
            Some(current) => current.wrap(key, aad),
            None => Err(self.missing()),
        }
    }

    fn unwrap(&self, key_id: &str, wrapped: &[u8], aad: &[u8]) -> Result<DataKey, KeyError> {
        if let Some(key) = self.find(key_id) {
            return key.unwrap_with(wrapped, aad);
        }
        let available = match (&self.origin, &self.current) {
            (Origin::Env, Some(current)) => format!(
                "{MASTER_KEY_ENV} holds `{}`; set it to the key that stored this secret \
                 (after a rotate-key, the new one), or unset it to use the key file",
                current.id()
            ),
            (Origin::File(path), Some(current)) => format!(
                "the key file {} holds `{}` (and no retired key matches); restore the key \
                 that stored this secret, or set {MASTER_KEY_ENV} to it",
                path.display(),
                current.id()
            ),
            _ => return Err(self.missing()),
        };
        Err(KeyError::UnknownKey {
            wanted: key_id.to_string(),
            available,
        })
    }
}

fn parse_new_key(text: &str) -> Result<MasterKey, KeyError> {
    MasterKey::from_base64(text).ok_or_else(|| {
        KeyError::Invalid(format!(
            "{NEW_MASTER_KEY_ENV} is not a master key: it must be base64 of exactly 32 bytes"
        ))
    })
}

fn pending_path(path: &Path) -> PathBuf {
    with_suffix(path, ".new")
}

fn retired_path(path: &Path, key: &MasterKey) -> PathBuf {
    let id = key.id().trim_start_matches("local:");
    with_suffix(path, &format!(".old.{id}"))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().map(OsString::from).unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

/// `master.key.old.*` next to `path`, in name order.
fn retired_paths(path: &Path) -> Result<Vec<PathBuf>, KeyError> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(Vec::new());
    };
    let prefix = format!("{}.old.", name.to_string_lossy());
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(KeyError::File {
                action: "list",
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| KeyError::File {
            action: "list",
            path: dir.to_path_buf(),
            source,
        })?;
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            found.push(entry.path());
        }
    }
    found.sort();
    Ok(found)
}

/// Refuses a key directory others can write to (they could swap the key).
fn check_directory(path: &Path) -> Result<(), KeyError> {
    let Some(dir) = path.parent() else {
        return Ok(());
    };
    match fs::metadata(dir) {
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o7777;
            if mode & 0o022 != 0 {
                return Err(KeyError::DirectoryPermissions {
                    path: dir.to_path_buf(),
                    mode,
                });
            }
            Ok(())
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(KeyError::File {
            action: "inspect",
            path: dir.to_path_buf(),
            source,
        }),
    }
}

/// The key in `path`, `None` if there is no such file. Refuses files group
/// or others can access.
fn read_key_file(path: &Path) -> Result<Option<MasterKey>, KeyError> {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(KeyError::File {
                action: "inspect",
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Permissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    let bytes = Zeroizing::new(fs::read(path).map_err(|source| KeyError::File {
        action: "read",
        path: path.to_path_buf(),
        source,
    })?);
    let key = MasterKey::from_bytes(&bytes).or_else(|| {
        std::str::from_utf8(&bytes)
            .ok()
            .and_then(MasterKey::from_base64)
    });
    key.map(Some).ok_or_else(|| {
        KeyError::Invalid(format!(
            "the master key file {} does not hold a key: it must be base64 of 32 bytes \
             (as Rampart writes it) or 32 raw bytes",
            path.display()
        ))
    })
}

/// Writes `key` to `path` (0600, directory 0700) unless the file exists;
/// returns whether it wrote. The key goes to a temporary file first and is
/// linked into place, so nobody ever reads a half-written key.
fn write_key_file(path: &Path, key: &MasterKey) -> Result<bool, KeyError> {
    let file_error = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| KeyError::File {
            action,
            path,
            source,
        }
    };
    let dir = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(file_error("create", dir))?;
    let suffix = crypto::random::<8>()?;
    let tmp = with_suffix(
        path,
        &format!(
            ".tmp-{}",
            suffix
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ),
    );
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(file_error("create", &tmp))?;
        let mut text = key.to_base64();
        text.push('\n');
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(file_error("write", &tmp))?;
        match fs::hard_link(&tmp, path) {
            Ok(()) => Ok(true),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(source) => Err(file_error("create", path)(source)),
        }
    })();
    // Best effort: a leftover temporary file holds a key nobody uses.
    let _ = fs::remove_file(&tmp);
    let written = result?;
    sync_dir(dir)?;
    Ok(written)
}

fn sync_dir(dir: &Path) -> Result<(), KeyError> {
    File::open(dir)
        .and_then(|dir| dir.sync_all())
        .map_err(|source| KeyError::File {
            action: "sync",
            path: dir.to_path_buf(),
            source,
        })
}

/// What `rotate-key` did, for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    pub outcome: RotateOutcome,
    /// Where the previous key file was kept, when the key came from a file.
    pub retired: Option<PathBuf>,
    /// Whether the key now comes from `RAMPART_NEW_MASTER_KEY` (so
    /// `RAMPART_MASTER_KEY` must be switched to it).
    pub switch_env: bool,
}

/// A state directory's secret store opened with the local master key:
/// what `rampart secret` and `rampart run` use.
pub struct LocalSecrets {
    store: SecretStore,
    keys: Arc<LocalKeys>,
    notices: Vec<Notice>,
}

impl LocalSecrets {
    /// Opens `STATE_DIR/rampart.db` with the key `settings` point at. With
    /// [`KeyMode::Create`], a missing key file is created, unless the store
    /// already holds secrets (a new key could not read them; the old key
    /// must be restored instead).
    pub async fn open(
        state_dir: &Path,
        settings: &KeySettings,
        mode: KeyMode,
    ) -> Result<Self, Error> {
        let (mut keys, mut notices) = LocalKeys::load(settings, KeyMode::Existing)?;
        if mode == KeyMode::Create && keys.current.is_none() {
            let probe = SecretStore::open(state_dir, Arc::new(LocalKeys::none())).await?;
            let empty = probe.is_empty().await?;
            probe.close().await;
            if !empty {
                return Err(Error::Key(keys.missing()));
            }
            (keys, notices) = LocalKeys::load(settings, KeyMode::Create)?;
        }
        let keys = Arc::new(keys);
        let store = SecretStore::open(state_dir, keys.clone()).await?;
        Ok(LocalSecrets {
            store,
            keys,
            notices,
        })
    }

    pub fn store(&self) -> &SecretStore {
        &self.store
    }

    pub fn keys(&self) -> &LocalKeys {
        &self.keys
    }

    /// What the user should be told once (a key was created, a rotation is pending).
    pub fn notices(&self) -> &[Notice] {
        &self.notices
    }

    /// Re-wraps every data key under a new master key, atomically.
    ///
    /// From `RAMPART_MASTER_KEY`: the new key is `RAMPART_NEW_MASTER_KEY`
    /// (required); afterwards `RAMPART_MASTER_KEY` must be set to it.
    /// From the key file: the new key is a pending `master.key.new` left by
    /// an interrupted rotation, else `RAMPART_NEW_MASTER_KEY`, else a new
    /// random key; it is written to `master.key.new`, the re-wrap commits,
    /// then the old key is kept as `master.key.old.<id>` and the new one
    /// renamed to `master.key`. A failure before the commit changes nothing
    /// in the database; after it, both keys are still loaded.
    pub async fn rotate_key(&mut self, settings: &KeySettings) -> Result<Rotated, Error> {
        match self.keys.origin.clone() {
            Origin::Missing(_) => Err(Error::Key(self.keys.missing())),
            Origin::Env => {
                let text = settings.new_master_key.as_ref().ok_or_else(|| {
                    KeyError::Invalid(format!(
                        "the master key comes from {MASTER_KEY_ENV}: set {NEW_MASTER_KEY_ENV} \
                         to the new key (base64 of 32 bytes, e.g. from `openssl rand -base64 32`) \
                         and run rotate-key again"
                    ))
                })?;
                let new_key = parse_new_key(text)?;
                if Some(new_key.id()) == self.keys.current_id() {
                    return Err(Error::Key(KeyError::Invalid(format!(
                        "{NEW_MASTER_KEY_ENV} holds the key already in use"
                    ))));
                }
                let keys = Arc::new(LocalKeys {
                    origin: Origin::Env,
                    current: Some(new_key),
                    others: Vec::new(),
                });
                let outcome = self.store.rotate_key(keys.clone()).await?;
                self.keys = keys;
                Ok(Rotated {
                    outcome,
                    retired: None,
                    switch_env: true,
                })
            }
            Origin::File(path) => {
                let new_key = self.prepare_new_key(&path, settings)?;
                let outcome = self
                    .store
                    .rotate_key(Arc::new(LocalKeys {
                        origin: Origin::File(path.clone()),
                        current: Some(new_key),
                        others: Vec::new(),
                    }))
                    .await?;
                let retired = self.promote(&path)?;
                // The ring as it now is on disk: the new key, every retired one.
                let (keys, _) = LocalKeys::load(settings, KeyMode::Existing)?;
                self.keys = Arc::new(keys);
                self.store.set_keys(self.keys.clone());
                Ok(Rotated {
                    outcome,
                    retired: Some(retired),
                    switch_env: false,
                })
            }
        }
    }

    /// Step 1 of a file rotation: the key in `master.key.new` (created if absent).
    fn prepare_new_key(&self, path: &Path, settings: &KeySettings) -> Result<MasterKey, Error> {
        let pending = pending_path(path);
        if let Some(key) = read_key_file(&pending)? {
            return Ok(key);
        }
        let key = match &settings.new_master_key {
            Some(text) => parse_new_key(text)?,
            None => MasterKey::generate()?,
        };
        if Some(key.id()) == self.keys.current_id() {
            return Err(Error::Key(KeyError::Invalid(format!(
                "{NEW_MASTER_KEY_ENV} holds the key already in use"
            ))));
        }
        if !write_key_file(&pending, &key)? {
            // Someone wrote one meanwhile: use that, never overwrite a key.
            return read_key_file(&pending)?
                .ok_or_else(|| Error::Key(KeyError::NoKey(pending.display().to_string())));
        }
        Ok(key)
    }

    /// Step 3, after the re-wrap committed: keep the old key as
    /// `master.key.old.<id>`, then rename `master.key.new` over `master.key`.
    /// `master.key` exists at every instant.
    fn promote(&self, path: &Path) -> Result<PathBuf, Error> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let old = read_key_file(path)?.ok_or_else(|| Error::Key(self.keys.missing()))?;
        let retired = retired_path(path, &old);
        match fs::hard_link(path, &retired) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(source) => {
                return Err(Error::Key(KeyError::File {
                    action: "keep the old key as",
                    path: retired,
                    source,
                }));
            }
        }
        let pending = pending_path(path);
        fs::rename(&pending, path).map_err(|source| KeyError::File {
            action: "move the new key into place from",
            path: pending,
            source,
        })?;
        sync_dir(dir)?;
        Ok(retired)
    }
}

impl LocalKeys {
    /// No keys at all: enough to list or check a store.
    fn none() -> Self {
        LocalKeys {
            origin: Origin::Missing(None),
            current: None,
            others: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SecretKind, SecretRef, SecretValue};

    fn settings(config: &Path) -> KeySettings {
        KeySettings {
            key_file: Some(config.join("rampart/master.key")),
            ..KeySettings::default()
        }
    }

    fn with_env(settings: &KeySettings, key: &MasterKey) -> KeySettings {
        KeySettings {
            master_key: Some(key.to_base64()),
            ..settings.clone()
        }
    }

    fn secret(id: &str) -> SecretRef {
        SecretRef::parse(id, Some("o"), Some("p")).unwrap()
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn set_mode(path: &Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    async fn set(secrets: &LocalSecrets, id: &str, value: &str) {
        secrets
            .store()
            .set(
                &secret(id),
                SecretKind::Text,
                &SecretValue::from(value.to_string()),
            )
            .await
            .unwrap();
    }

    async fn read(secrets: &LocalSecrets, id: &str) -> Result<String, Error> {
        let got = secrets.store().get(&secret(id)).await?;
        Ok(got.value.expose_str().unwrap().to_string())
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn the_key_file_lives_under_xdg_config_home_else_home() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        let xdg = KeySettings::from_vars(vars(&[("XDG_CONFIG_HOME", "/x"), ("HOME", "/h")]));
        assert_eq!(xdg.key_file, Some(PathBuf::from("/x/rampart/master.key")));
        let relative = KeySettings::from_vars(vars(&[("XDG_CONFIG_HOME", "x"), ("HOME", "/h")]));
        assert_eq!(
            relative.key_file,
            Some(PathBuf::from("/h/.config/rampart/master.key"))
        );
        let none = KeySettings::from_vars(vars(&[("RAMPART_MASTER_KEY", "")]));
        assert_eq!(none.key_file, None);
        assert!(
            none.master_key.is_none(),
            "an empty variable counts as unset"
        );
        let env = KeySettings::from_vars(vars(&[("RAMPART_MASTER_KEY", "abc")]));
        assert_eq!(env.master_key.as_deref().map(String::as_str), Some("abc"));
        assert!(!format!("{env:?}").contains("abc"));
    }

    #[tokio::test]
    async fn set_creates_the_key_file_once_0600_in_a_0700_directory() {
        let home = tempfile::tempdir().unwrap();
        let state = home.path().join("state");
        let settings = settings(home.path());
        let key_file = home.path().join("rampart/master.key");

        let first = LocalSecrets::open(&state, &settings, KeyMode::Create)
            .await
            .unwrap();
        assert_eq!(first.notices(), [Notice::CreatedKey(key_file.clone())]);
        assert!(first.notices()[0].to_string().contains("Back it up"));
        assert_eq!(mode(&key_file), 0o600);
        assert_eq!(mode(key_file.parent().unwrap()), 0o700);
        let text = fs::read_to_string(&key_file).unwrap();
        assert!(text.ends_with('\n'));
        let key = MasterKey::from_base64(&text).unwrap();
        assert_eq!(first.keys().current_id(), Some(key.id()));
        assert_eq!(
            names(key_file.parent().unwrap()),
            ["master.key"],
            "no temporary file left"
        );
        set(&first, "a", "value-a").await;

        let again = LocalSecrets::open(&state, &settings, KeyMode::Create)
            .await
            .unwrap();
        assert!(again.notices().is_empty(), "the warning is shown once");
        assert_eq!(read(&again, "a").await.unwrap(), "value-a");
    }

    #[tokio::test]
    async fn key_files_or_directories_others_can_reach_are_refused() {
        let home = tempfile::tempdir().unwrap();
        let state = home.path().join("state");
        let settings = settings(home.path());
        let key_file = home.path().join("rampart/master.key");
        LocalSecrets::open(&state, &settings, KeyMode::Create)
            .await
            .unwrap();

        for loose in [0o644, 0o640, 0o604, 0o660] {
            set_mode(&key_file, loose);
            let error = LocalSecrets::open(&state, &settings, KeyMode::Existing)
                .await
                .err()
                .unwrap();
            assert!(
                matches!(error, Error::Key(KeyError::Permissions { .. })),
                "{error:?}"
            );
            assert!(error.to_string().contains("chmod 600"), "{error}");
        }
        set_mode(&key_file, 0o400);
        LocalSecrets::open(&state, &settings, KeyMode::Existing)
            .await
            .unwrap();

        set_mode(key_file.parent().unwrap(), 0o777);
        let error = LocalSecrets::open(&state, &settings, KeyMode::Existing)
            .await
            .err()
            .unwrap();
        assert!(error.to_string().contains("chmod 700"), "{error}");
        set_mode(key_file.parent().unwrap(), 0o700);
    }

    #[tokio::test]
    async fn the_environment_key_wins_and_bad_ones_are_not_echoed() {
        let home = tempfile::tempdir().unwrap();
        let state = home.path().join("state");
        let env_key = MasterKey::generate().unwrap();
        let settings = with_env(&settings(home.path()), &env_key);
        let secrets = LocalSecrets::open(&state, &settings, KeyMode::Create)
            .await
            .unwrap();
        assert_eq!(secrets.keys().current_id(), Some(env_key.id()));
        assert_eq!(secrets.keys().origin(), MASTER_KEY_ENV);
        assert!(
            !home.path().join("rampart").exists(),
            "no key file with the variable set"
        );

        let bad = KeySettings {
            master_key: Some(Zeroizing::new("hunter2hunter2".to_string())),
            ..settings.clone()
        };
        let error = LocalSecrets::open(&state, &bad, KeyMode::Existing)
            .await
            .err()
            .unwrap();
        assert!(
            error.to_string().contains("base64 of exactly 32 bytes"),
            "{error}"
        );
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }

    #[tokio::test]
    async fn a_missing_key_file_is_a_clear_error_and_never_silently_replaced() {
        let home = tempfile::tempdir().unwrap();
        let state = home.path().join("state");
        let settings = settings(home.path());
        let key_file = home.path().join("rampart/master.key");
        let secrets = LocalSecrets::open(&state, &settings, KeyMode::Create)
            .await
            .unwrap();
        set(&secrets, "a", "value-a").await;
        secrets.store().close().await;
        fs::remove_file(&key_file).unwrap();

        let secrets = LocalSecrets::open(&state, &settings, KeyMode::Existing)
            .await
            .unwrap();
        assert_eq!(
            secrets.store().list().await.unwrap().len(),
            1,
            "listing needs no key"
        );
        let error = read(&secrets, "a").await.unwrap_err();
        let message = error.to_string();
        assert!(message.contains("no master key"), "{message}");
        assert!(
            message.contains(&key_file.display().to_string()),
            "{message}"
        );
        assert!(!message.contains("value-a"));

        // `set` would create a key, but not while secrets need the lost one.
        let error = LocalSecrets::open(&state, &settings, KeyMode::Create)
            .await
            .err()
            .unwrap();
        assert!(
            error.to_string().contains("restore the key file"),
            "{error}"
        );
        assert!(!key_file.exists());
    }

    #[tokio::test]
    async fn file_rotation_moves_every_key_and_keeps_the_old_one_aside() {
        let home = tempfile::tempdir().unwrap();
        let state = home.path().join("state");
        let settings = settings(home.path());
        let key_file = home.path().join("rampart/master.key");
        let mut secrets = LocalSecrets::open(&state, &settings, KeyMode::Create)
            .await
            .unwrap();
        set(&secrets, "a", "value-a").await;
        set(&secrets, "b", "value-b").await;
        let old = MasterKey::from_base64(&fs::read_to_string(&key_file).unwrap()).unwrap();

        let rotated = secrets.rotate_key(&settings).await.unwrap();
        assert_eq!(rotated.outcome.rewrapped, 2);
        let new = MasterKey::from_base64(&fs::read_to_string(&key_file).unwrap()).unwrap();
        assert_eq!(rotated.outcome.key_id, new.id());
        assert_ne!(new.id(), old.id());
        let retired = rotated.retired.unwrap();
        assert_eq!(
            MasterKey::from_base64(&fs::read_to_string(&retired).unwrap())
                .unwrap()
                .id(),
            old.id()
        );
        assert_eq!(mode(&key_file), 0o600);
        assert_eq!(mode(&retired), 0o600);
        assert!(!pending_path(&key_file).exists());
        assert_eq!(read(&secrets, "a").await.unwrap(), "value-a");
        set(&secrets, "c", "value-c").await;
        secrets.store().close().await;

        let reopened = LocalSecrets::open(&state, &settings, KeyMode::Existing)
            .await
            .unwrap();
        assert_eq!(read(&reopened, "c").await.unwrap(), "value-c");
        assert_eq!(read(&reopened, "b").await.unwrap(), "value-b");

        // The old key on its own no longer opens anything.
        let old_only = LocalSecrets::open(&state, &with_env(&settings, &old), KeyMode::Existing)
            .await
            .unwrap();
        let error = read(&old_only, "a").await.unwrap_err();
        assert!(matches!(
            error,
            Error::Unwrap {
                source: KeyError::UnknownKey { .. },
                ..
            }
        ));
        assert!(error.to_string().contains(new.id()), "{error}");
    }

    #[tokio::test]
    async fn a_rotation_interrupted_before_its_commit_changes_nothing() {
        let home = tempfile::tempdir().unwrap();
        let state = home.path().join("state");
        let settings = settings(home.path());
        let key_file = home.path().join("rampart/master.key");
        let secrets = LocalSecrets::open(&state, &settings, KeyMode::Create)
            .await
            .unwrap();
        set(&secrets, "a", "value-a").await;
        let old_id = secrets.keys().current_id().unwrap().to_string();

        // Crash right after writing master.key.new.
        let pending = secrets.prepare_new_key(&key_file, &settings).unwrap();
        let pending_id = pending.id().to_string();
        drop(secrets);

        let mut secrets = LocalSecrets::open(&state, &settings, KeyMode::Existing)
            .await
            .unwrap();
        assert_eq!(
            secrets.notices(),
            [Notice::PendingRotation(pending_path(&key_file))]
        );
        assert_eq!(secrets.keys().current_id(), Some(old_id.as_str()));
        assert_eq!(read(&secrets, "a").await.unwrap(), "value-a");

        // Running rotate-key again finishes with the pending key.
        let rotated = secrets.rotate_key(&settings).await.unwrap();
        assert_eq!(rotated.outcome.key_id, pending_id);
        assert!(!pending_path(&key_file).exists());
        assert_eq!(read(&secrets, "a").await.unwrap(), "value-a");
    }

    #[tokio::test]
    async fn a_rotation_interrupted_after_its_commit_loses_nothing() {
        let home = tempfile::tempdir().unwrap();
        let state = home.path().join("state");
        let settings = settings(home.path());
        let key_file = home.path().join("rampart/master.key");
        let mut secrets = LocalSecrets::open(&state, &settings, KeyMode::Create)
            .await
            .unwrap();
        set(&secrets, "a", "value-a").await;

        // Crash after the re-wrap committed, before master.key.new was renamed.
        let pending = secrets.prepare_new_key(&key_file, &settings).unwrap();
        let pending_id = pending.id().to_string();
        secrets.store.rotate_key(Arc::new(pending)).await.unwrap();
        secrets.store().close().await;
        drop(secrets);

        let mut secrets = LocalSecrets::open(&state, &settings, KeyMode::Existing)
            .await
            .unwrap();
        assert_eq!(
            read(&secrets, "a").await.unwrap(),
            "value-a",
            "the pending key is loaded"
        );
        set(&secrets, "b", "value-b").await;

        let rotated = secrets.rotate_key(&settings).await.unwrap();
        assert_eq!(rotated.outcome.key_id, pending_id);
        assert_eq!(rotated.outcome.rewrapped, 2);
        assert_eq!(secrets.keys().current_id(), Some(pending_id.as_str()));
        assert_eq!(read(&secrets, "a").await.unwrap(), "value-a");
        assert_eq!(read(&secrets, "b").await.unwrap(), "value-b");
    }

    #[tokio::test]
    async fn another_state_directory_sharing_the_key_survives_a_rotation() {
        let home = tempfile::tempdir().unwrap();
        let settings = settings(home.path());
        let mut one = LocalSecrets::open(&home.path().join("one"), &settings, KeyMode::Create)
            .await
            .unwrap();
        let two = LocalSecrets::open(&home.path().join("two"), &settings, KeyMode::Create)
            .await
            .unwrap();
        set(&one, "a", "value-1").await;
        set(&two, "a", "value-2").await;
        one.rotate_key(&settings).await.unwrap();

        let two = LocalSecrets::open(&home.path().join("two"), &settings, KeyMode::Existing)
            .await
            .unwrap();
        assert_eq!(
            read(&two, "a").await.unwrap(),
            "value-2",
            "the retired key is kept"
        );
    }

    #[tokio::test]
    async fn environment_rotation_needs_the_new_key_in_the_environment() {
        let home = tempfile::tempdir().unwrap();
        let state = home.path().join("state");
        let old = MasterKey::generate().unwrap();
        let new = MasterKey::generate().unwrap();
        let settings = with_env(&settings(home.path()), &old);
        let mut secrets = LocalSecrets::open(&state, &settings, KeyMode::Create)
            .await
            .unwrap();
        set(&secrets, "a", "value-a").await;

        let error = secrets.rotate_key(&settings).await.unwrap_err();
        assert!(error.to_string().contains(NEW_MASTER_KEY_ENV), "{error}");
        assert_eq!(read(&secrets, "a").await.unwrap(), "value-a");

        let both = KeySettings {
            new_master_key: Some(new.to_base64()),
            ..settings.clone()
        };
        let rotated = secrets.rotate_key(&both).await.unwrap();
        assert!(rotated.switch_env && rotated.retired.is_none());
        assert_eq!(rotated.outcome.key_id, new.id());
        assert_eq!(read(&secrets, "a").await.unwrap(), "value-a");
        secrets.store().close().await;

        let stale = LocalSecrets::open(&state, &settings, KeyMode::Existing)
            .await
            .unwrap();
        let error = read(&stale, "a").await.unwrap_err();
        assert!(error.to_string().contains(MASTER_KEY_ENV), "{error}");
        let switched = LocalSecrets::open(&state, &with_env(&settings, &new), KeyMode::Existing)
            .await
            .unwrap();
        assert_eq!(read(&switched, "a").await.unwrap(), "value-a");
    }
}
