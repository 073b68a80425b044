//! Everything the API stands on besides HTTP: the database, the keys, the
//! access cache, the audit writer, login throttling; and the first start,
//! which creates the `default` account and its administrator.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rampart_auth::allowlist::TrustedProxies;
use rampart_auth::audit::{Actor, AuditAction};
use rampart_auth::lockout::{LockKey, Lockout};
use rampart_auth::password::{self, HashParams};
use rampart_auth::rbac::{BuiltinRole, Scope};
use rampart_store::{
    AccessObject, AccessRepo, Account, IdentityRepo, ObjectKind, Precondition, SessionRepo, Store,
    StoreError, User,
};
use zeroize::Zeroizing;

use crate::access::AccessCache;
use crate::audit_log::{AuditLog, Entry};
use crate::config::DatabaseUrl;
use crate::error::ServerError;
use crate::keys::ServerKeys;
use crate::policy::{PrincipalSpec, RoleBindingSpec};
use crate::runner::{RunControl, RunnerSettings};
use crate::scope::{key_of, new_id, now_ms};
use crate::settings::address_lockout;

/// The account created at first start; its admins administer the installation.
pub const ROOT_ACCOUNT: &str = "default";
/// The first administrator's one-time password file, in the data directory.
pub const INITIAL_PASSWORD_FILE: &str = "initial-admin-password";
/// The SQLite file in the data directory when no database URL is given.
pub const DB_FILE: &str = "rampart.db";

/// How the backend is set up.
#[derive(Debug, Clone)]
pub struct BackendConfig {
    /// Holds the SQLite database (by default), the keys and the first
    /// administrator's password file; 0700.
    pub data_dir: PathBuf,
    /// `None`: `sqlite://DATA_DIR/rampart.db`.
    pub database: Option<DatabaseUrl>,
    /// The first administrator's e-mail address (login name).
    pub admin_email: String,
    /// The reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: TrustedProxies,
    /// Argon2id cost of new password hashes.
    pub hash_params: HashParams,
    /// The embedded runner.
    pub runner: RunnerSettings,
}

impl BackendConfig {
    /// The defaults for a data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        BackendConfig {
            data_dir: data_dir.into(),
            database: None,
            admin_email: "admin@localhost".into(),
            trusted_proxies: TrustedProxies::default(),
            hash_params: HashParams::default(),
            runner: RunnerSettings::default(),
        }
    }
}

/// The database a data directory and an optional URL name.
fn database_url(data_dir: &Path, database: Option<&DatabaseUrl>) -> String {
    match database {
        Some(url) => url.expose().to_owned(),
        None => format!("sqlite://{}", data_dir.join(DB_FILE).display()),
    }
}

/// Verifies every account's audit chain in an existing server database
/// (`rampart audit verify`); a missing SQLite file is an error, not a new
/// empty database.
pub async fn verify_audit(
    data_dir: &Path,
    database: Option<&DatabaseUrl>,
) -> Result<Vec<crate::audit_log::ChainReport>, ServerError> {
    if database.is_none() && !data_dir.join(DB_FILE).is_file() {
        return Err(ServerError::Bootstrap(format!(
            "no server database at {}: pass the server's --data-dir or --database-url",
            data_dir.join(DB_FILE).display()
        )));
    }
    let store = Store::connect(&database_url(data_dir, database)).await?;
    let reports = crate::audit_log::verify_all(&store).await?;
    store.close().await;
    Ok(reports)
}

/// What handlers share.
pub(crate) struct Core {
    pub store: Store,
    pub keys: ServerKeys,
    pub access: Arc<AccessCache>,
    pub audit: AuditLog,
    pub trusted_proxies: TrustedProxies,
    /// Failed logins per source address, and per e-mail address no user
    /// has (real users' state is in the database).
    pub throttle: Mutex<Lockout<LockKey>>,
    /// Verified against when no user matches, so timing does not tell.
    pub decoy_hash: String,
    pub hash_params: HashParams,
    pub data_dir: PathBuf,
    /// Runs: the embedded runner's state and live log fan-out.
    pub runs: RunControl,
}

/// The first administrator, as created at first start.
pub struct InitialAdmin {
    pub email: String,
    /// Shown once; also in [`InitialAdmin::file`] until they set their own.
    pub password: Zeroizing<String>,
    pub file: PathBuf,
}

/// The opened backend.
#[derive(Clone)]
pub struct Backend {
    pub(crate) core: Arc<Core>,
}

impl Backend {
    /// Opens the database (running migrations), loads or creates the keys
    /// and loads the access state.
    pub async fn open(config: BackendConfig) -> Result<Backend, ServerError> {
        crate::config::prepare_data_dir(&config.data_dir)?;
        let store =
            Store::connect(&database_url(&config.data_dir, config.database.as_ref())).await?;
        let keys = ServerKeys::load(&config.data_dir, &store)?;
        let access = AccessCache::load(store.clone())
            .await
            .map_err(|e| ServerError::Bootstrap(e.to_string()))?;
        let decoy_hash = password::hash("rampart decoy password", &config.hash_params)
            .map_err(|e| ServerError::Keys(e.to_string()))?;
        Ok(Backend {
            core: Arc::new(Core {
                audit: AuditLog::new(store.clone()),
                store,
                keys,
                access,
                trusted_proxies: config.trusted_proxies,
                throttle: Mutex::new(Lockout::new(address_lockout())),
                decoy_hash,
                hash_params: config.hash_params,
                data_dir: config.data_dir,
                runs: RunControl::new(config.runner)
                    .map_err(|e| ServerError::Bootstrap(e.to_string()))?,
            }),
        })
    }

    /// Deletes ended sessions hourly (a day after they ended), until aborted.
    pub(crate) async fn sweep_sessions(self) {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every.tick().await;
            let before = now_ms() - 24 * 3600 * 1000;
            if let Err(error) = self.core.store.delete_ended_sessions(before).await {
                tracing::warn!(%error, "cannot delete ended sessions");
            }
        }
    }

    /// The database.
    pub fn store(&self) -> &Store {
        &self.core.store
    }

    /// At first start (no `default` account yet): creates it, an
    /// administrator with a one-time password (written 0600 to the data
    /// directory and returned, to be shown once) and their Account Admin
    /// binding. `None` when the account exists (or another replica created
    /// it at the same moment).
    pub async fn bootstrap(&self, admin_email: &str) -> Result<Option<InitialAdmin>, ServerError> {
        let core = &self.core;
        let failed = |e: StoreError| ServerError::Bootstrap(e.to_string());
        if core
            .store
            .account(ROOT_ACCOUNT)
            .await
            .map_err(failed)?
            .is_some()
        {
            return Ok(None);
        }
        let now = now_ms();
        let created = core
            .store
            .create_account(&Account {
                identifier: ROOT_ACCOUNT.into(),
                name: "Default".into(),
                created_at_ms: now,
            })
            .await;
        match created {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Ok(None),
            Err(error) => return Err(failed(error)),
        }
        let email = crate::api::users::normalize_email(admin_email)
            .map_err(|e| ServerError::Bootstrap(format!("--admin-email: {e}")))?;
        let user = create_admin(core, ROOT_ACCOUNT, &email)
            .await
            .map_err(|e| ServerError::Bootstrap(e.to_string()))?;
        let file = core.data_dir.join(INITIAL_PASSWORD_FILE);
        write_password_file(&file, &email, &user.1)
            .map_err(|e| ServerError::Bootstrap(format!("cannot write {}: {e}", file.display())))?;
        Ok(Some(InitialAdmin {
            email,
            password: user.1,
            file,
        }))
    }
}

/// Creates an account's first administrator: a user with a one-time
/// password, bound to Account Admin over everything in the account. Returns
/// the user id and the password (shown once).
pub(crate) async fn create_admin(
    core: &Core,
    account: &str,
    email: &str,
) -> Result<(String, Zeroizing<String>), crate::error::ApiError> {
    let one_time =
        password::generate_one_time().map_err(|e| crate::error::ApiError::internal("", e))?;
    let hash = crate::api::users::hash_password(core, &one_time).await?;
    let now = now_ms();
    let user_id = new_id("u_")?;
    core.store
        .create_user(&User {
            id: user_id.clone(),
            account: account.into(),
            email: email.into(),
            display_name: "Administrator".into(),
            password_hash: hash,
            totp_secret_sealed: None,
            totp_last_step: None,
            recovery_codes: None,
            totp_pending_sealed: None,
            must_change_password: true,
            login_state: None,
            disabled: false,
            created_at_ms: now,
            updated_at_ms: now,
        })
        .await?;
    let scope = Scope::account(account);
    let binding = RoleBindingSpec {
        principal: PrincipalSpec::User {
            id: user_id.clone(),
        },
        role: BuiltinRole::AccountAdmin.identifier().into(),
        resource_group: "_all_resources_including_child_scopes".into(),
    };
    let body =
        serde_json::to_string(&binding).map_err(|e| crate::error::ApiError::internal("", e))?;
    core.store
        .put_object(
            &AccessObject {
                scope: key_of(&scope),
                kind: ObjectKind::RoleBinding,
                identifier: "initial_admin".into(),
                body,
                version: 0,
                created_at_ms: now,
                updated_at_ms: now,
            },
            Precondition::Absent,
        )
        .await?;
    core.access.note_change().await?;
    for (action, kind, id) in [
        (AuditAction::UserCreated, "USER", user_id.clone()),
        (
            AuditAction::RoleBindingCreated,
            "ROLE_BINDING",
            "initial_admin".to_string(),
        ),
    ] {
        core.audit
            .record(
                Entry::new(account, Actor::System, action, kind)
                    .id(id)
                    .scope(&scope)
                    .details(serde_json::json!({"reason": "first administrator of the account"})),
            )
            .await?;
    }
    Ok((user_id, one_time))
}

fn write_password_file(path: &Path, email: &str, password: &str) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    let text = Zeroizing::new(format!(
        "# Rampart's first administrator. Log in and choose your own password;\n\
         # this file is removed when you do.\n\
         email: {email}\npassword: {password}\n"
    ));
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// Removes the first administrator's password file once `email` (the user
/// who just set their own password) is the one it names.
pub(crate) fn retire_password_file(data_dir: &Path, email: &str) {
    let path = data_dir.join(INITIAL_PASSWORD_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    let text = Zeroizing::new(text);
    let named = text
        .lines()
        .find_map(|line| line.strip_prefix("email: "))
        .is_some_and(|named| named.trim() == email);
    if named && let Err(error) = std::fs::remove_file(&path) {
        tracing::warn!(%error, path = %path.display(), "cannot remove the initial password file");
    }
}
