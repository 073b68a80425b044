//! What authentication and authorization read on every request, kept in
//! memory so the hot path never waits for the database: the RBAC policy
//! (every role, resource group and binding), user-group membership, each
//! account's settings and IP allowlist, and the API tokens seen recently.
//!
//! Why it stays correct: every write to any of it advances the store's
//! security generation in the same transaction. A [`Snapshot`] is tagged
//! with the generation it was loaded at and cached tokens with the snapshot
//! they were resolved in; once a newer generation is known the next request
//! loads a new snapshot, and every older token entry is ignored. A replica
//! learns of its own writes at once ([`AccessCache::note_change`]), of other
//! replicas' through PostgreSQL's `LISTEN`, and of anything else (another
//! process on the SQLite file, a dropped listener) by polling every second.
//!
//! Token "last used" times are kept here and written in batches, so an
//! authenticated GET costs no database write.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rampart_auth::allowlist::{Allowlist, Surface};
use rampart_auth::rbac::{Authorizer, GroupRef, Permission, Policy, Principal, Scope};
use rampart_auth::token::{StoredHash, TokenId, TokenValidity};
use rampart_store::{
    AccessObject, AccessRepo, ApiToken, IdentityRepo, ObjectKind, Store, TokenOwner,
};

use crate::error::ApiError;
use crate::policy::{ResourceGroupSpec, RoleBindingSpec, RoleSpec, role_of};
use crate::scope::{scope_of, time_of};
use crate::settings::AuthSettings;

/// Decisions cached per snapshot.
const DECISION_CACHE: usize = 100_000;
/// Tokens cached at most; the cache is emptied when full.
const TOKEN_CACHE: usize = 100_000;
/// How often the generation is polled.
const POLL_EVERY: Duration = Duration::from_secs(1);
/// How often token last-used times are written.
const FLUSH_EVERY: Duration = Duration::from_secs(5);

/// The access state at one security generation.
pub(crate) struct Snapshot {
    pub generation: i64,
    pub authorizer: Authorizer,
    /// User id → the groups they belong to.
    groups_of: HashMap<String, BTreeSet<GroupRef>>,
    settings: HashMap<String, AuthSettings>,
    allowlists: HashMap<String, Allowlist>,
}

impl Snapshot {
    /// An account's settings (the defaults when it has saved none).
    pub fn settings(&self, account: &str) -> AuthSettings {
        self.settings.get(account).cloned().unwrap_or_default()
    }

    /// An account's allowlist (empty, so allowing everything, when none).
    pub fn allowlist(&self, account: &str) -> Option<&Allowlist> {
        self.allowlists.get(account)
    }

    /// Whether `ip` may reach `surface` of `account`.
    pub fn ip_allowed(&self, account: &str, ip: IpAddr, surface: Surface) -> bool {
        self.allowlist(account)
            .is_none_or(|list| list.allows(ip, surface))
    }

    /// A user as a principal, with their groups.
    pub fn user_principal(&self, user_id: &str) -> Principal {
        let mut principal = Principal::user(user_id);
        if let Some(groups) = self.groups_of.get(user_id) {
            principal.groups = groups.clone();
        }
        principal
    }
}

/// A token as authentication needs it, resolved against one snapshot.
pub(crate) struct CachedToken {
    pub generation: i64,
    pub row: ApiToken,
    pub hash: StoredHash,
    pub validity: TokenValidity,
    /// Who the token acts as (narrowed and scoped as the token says).
    pub principal: Arc<Principal>,
    /// Why the owner cannot act now (disabled user, deleted owner), if so.
    pub owner_refusal: Option<&'static str>,
}

/// The cache; one per server process.
pub(crate) struct AccessCache {
    store: Store,
    /// The newest generation this process knows exists.
    known: AtomicI64,
    current: RwLock<Arc<Snapshot>>,
    reload: tokio::sync::Mutex<()>,
    tokens: RwLock<HashMap<TokenId, Arc<CachedToken>>>,
    last_used: Mutex<HashMap<String, i64>>,
}

/// Recovers a guard from a poisoned lock: everything here is derived data
/// that the next reload replaces.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl AccessCache {
    /// Loads the first snapshot.
    pub async fn load(store: Store) -> Result<Arc<AccessCache>, ApiError> {
        let first = build(&store).await?;
        Ok(Arc::new(AccessCache {
            known: AtomicI64::new(first.generation),
            current: RwLock::new(Arc::new(first)),
            reload: tokio::sync::Mutex::new(()),
            tokens: RwLock::new(HashMap::new()),
            last_used: Mutex::new(HashMap::new()),
            store,
        }))
    }

    /// The current snapshot, reloading it first if a newer generation is known.
    pub async fn snapshot(&self) -> Result<Arc<Snapshot>, ApiError> {
        let snapshot = read(&self.current).clone();
        if snapshot.generation >= self.known.load(Ordering::Acquire) {
            return Ok(snapshot);
        }
        let _one_loader = self.reload.lock().await;
        let snapshot = read(&self.current).clone();
        if snapshot.generation >= self.known.load(Ordering::Acquire) {
            return Ok(snapshot);
        }
        let fresh = Arc::new(build(&self.store).await?);
        self.known.fetch_max(fresh.generation, Ordering::AcqRel);
        *write(&self.current) = fresh.clone();
        Ok(fresh)
    }

    /// Records that a newer generation exists.
    pub fn observe(&self, generation: i64) {
        self.known.fetch_max(generation, Ordering::AcqRel);
    }

    /// After this process changed access state: learn the new generation, so
    /// the very next request sees the change.
    pub async fn note_change(&self) -> Result<(), ApiError> {
        let generation = self.store.generation().await?;
        self.observe(generation);
        Ok(())
    }

    /// A token by id, resolved against the current snapshot; `None` if no
    /// such token exists.
    pub async fn token(
        &self,
        id: &TokenId,
        snapshot: &Snapshot,
    ) -> Result<Option<Arc<CachedToken>>, ApiError> {
        if let Some(hit) = read(&self.tokens).get(id)
            && hit.generation == snapshot.generation
        {
            return Ok(Some(hit.clone()));
        }
        let Some(row) = self.store.token(&id.to_encoded()).await? else {
            return Ok(None);
        };
        let resolved = Arc::new(self.resolve(row, snapshot).await?);
        let mut tokens = write(&self.tokens);
        if tokens.len() >= TOKEN_CACHE {
            tokens.clear();
        }
        tokens.insert(*id, resolved.clone());
        Ok(Some(resolved))
    }

    async fn resolve(&self, row: ApiToken, snapshot: &Snapshot) -> Result<CachedToken, ApiError> {
        let hash = StoredHash::from_encoded(std::str::from_utf8(&row.hash).unwrap_or_default())
            .map_err(|e| ApiError::internal("a stored token hash is unreadable", e))?;
        let (mut principal, owner_refusal) = match &row.owner {
            TokenOwner::User(id) => match self.store.user(id).await? {
                Some(user) if user.disabled => (Principal::user(id), Some("its owner is disabled")),
                Some(_) => (snapshot.user_principal(id), None),
                None => (Principal::user(id), Some("its owner no longer exists")),
            },
            TokenOwner::ServiceAccount(id) => match self.store.service_account(id).await? {
                Some(_) => (Principal::service_account(id), None),
                None => (
                    Principal::service_account(id),
                    Some("its service account no longer exists"),
                ),
            },
        };
        principal.allowed_permissions = match &row.permissions {
            None => None,
            Some(json) => Some(parse_permissions(json)?),
        };
        principal.scope_limit = Some(token_scope(&row));
        Ok(CachedToken {
            generation: snapshot.generation,
            hash,
            validity: TokenValidity {
                expires_at: row.expires_at_ms.map(time_of),
                rotated_grace_end: row.rotated_grace_end_ms.map(time_of),
                revoked: row.revoked_at_ms.is_some(),
            },
            principal: Arc::new(principal),
            owner_refusal,
            row,
        })
    }

    /// Notes a token's use; written by [`AccessCache::flush_last_used`].
    pub fn record_use(&self, token_id: &str, at_ms: i64) {
        let mut used = self
            .last_used
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match used.get_mut(token_id) {
            Some(last) => *last = (*last).max(at_ms),
            None => {
                used.insert(token_id.to_owned(), at_ms);
            }
        }
    }

    /// Writes the noted uses.
    pub async fn flush_last_used(&self) {
        let batch = std::mem::take(
            &mut *self
                .last_used
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for (token_id, at_ms) in batch {
            if let Err(error) = self.store.touch_token(&token_id, at_ms).await {
                tracing::warn!(%error, token_id, "cannot record a token's last use");
            }
        }
    }

    /// Runs until the process ends: polls the generation, listens for other
    /// replicas' changes (PostgreSQL), flushes token uses.
    pub async fn maintain(self: Arc<Self>) {
        // The listener logs why, if it ever gives up; polling carries on regardless.
        let cache = self.clone();
        tokio::spawn(async move { cache.listen().await });
        let mut poll = tokio::time::interval(POLL_EVERY);
        let mut flush = tokio::time::interval(FLUSH_EVERY);
        loop {
            tokio::select! {
                _ = poll.tick() => match self.store.generation().await {
                    Ok(generation) => self.observe(generation),
                    Err(error) => tracing::warn!(%error, "cannot read the security generation"),
                },
                _ = flush.tick() => self.flush_last_used().await,
            }
        }
    }

    async fn listen(&self) {
        let mut watch = match self.store.watch_security().await {
            Ok(Some(watch)) => watch,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for security changes; polling only");
                return;
            }
        };
        loop {
            match watch.changed().await {
                Ok(generation) => self.observe(generation),
                Err(error) => {
                    tracing::warn!(%error, "security-change listener failed; retrying");
                    tokio::time::sleep(POLL_EVERY).await;
                }
            }
        }
    }
}

/// The scope a token is confined to.
pub(crate) fn token_scope(row: &ApiToken) -> Scope {
    match (&row.org, &row.project) {
        (Some(org), Some(project)) => {
            Scope::project(row.account.as_str(), org.as_str(), project.as_str())
        }
        (Some(org), None) => Scope::org(row.account.as_str(), org.as_str()),
        _ => Scope::account(row.account.as_str()),
    }
}

/// A token's stored narrowing.
pub(crate) fn parse_permissions(json: &str) -> Result<BTreeSet<Permission>, ApiError> {
    let names: Vec<String> = serde_json::from_str(json)
        .map_err(|e| ApiError::internal("a stored token narrowing is unreadable", e))?;
    // A name this version does not know grants nothing, so it is dropped.
    Ok(names.iter().filter_map(|n| n.parse().ok()).collect())
}

fn decode<T: serde::de::DeserializeOwned>(object: &AccessObject) -> Option<(Scope, T)> {
    let scope = scope_of(&object.scope)?;
    match serde_json::from_str(&object.body) {
        Ok(body) => Some((scope, body)),
        Err(error) => {
            tracing::error!(
                %error,
                kind = object.kind.as_str(),
                identifier = object.identifier,
                "an access document is unreadable; it is ignored"
            );
            None
        }
    }
}

/// Loads a snapshot at the store's current generation (read first, so a
/// write racing the load leaves the snapshot older than what is known).
async fn build(store: &Store) -> Result<Snapshot, ApiError> {
    let generation = store.generation().await?;
    let mut policy = Policy::new();
    for object in store.all_objects(ObjectKind::Role).await? {
        if let Some((scope, spec)) = decode::<RoleSpec>(&object) {
            let role = role_of(&object.identifier, &scope, &spec);
            if let Err(error) = policy.upsert_role(role) {
                tracing::error!(%error, "a stored role is ignored");
            }
        }
    }
    for object in store.all_objects(ObjectKind::ResourceGroup).await? {
        if let Some((scope, spec)) = decode::<ResourceGroupSpec>(&object) {
            let loaded = spec
                .to_rbac(&object.identifier, &scope)
                .map_err(|e| e.to_string())
                .and_then(|group| {
                    policy
                        .upsert_resource_group(group)
                        .map_err(|e| e.to_string())
                });
            if let Err(error) = loaded {
                tracing::error!(%error, "a stored resource group is ignored");
            }
        }
    }
    for object in store.all_objects(ObjectKind::RoleBinding).await? {
        if let Some((scope, spec)) = decode::<RoleBindingSpec>(&object) {
            let loaded = spec
                .to_rbac(&object.identifier, &scope)
                .map_err(|e| e.to_string())
                .and_then(|binding| policy.add_binding(binding).map_err(|e| e.to_string()));
            if let Err(error) = loaded {
                // A binding whose role or group went away grants nothing.
                tracing::debug!(%error, "a stored role binding grants nothing");
            }
        }
    }
    let mut groups_of: HashMap<String, BTreeSet<GroupRef>> = HashMap::new();
    for membership in store.all_memberships().await? {
        if let Some(scope) = scope_of(&membership.scope) {
            groups_of
                .entry(membership.user_id)
                .or_default()
                .insert(GroupRef {
                    scope,
                    id: membership.group,
                });
        }
    }
    let mut settings = HashMap::new();
    for object in store.all_objects(ObjectKind::AuthSettings).await? {
        if let Some((_, body)) = decode::<AuthSettings>(&object) {
            settings.insert(object.scope.account.clone(), body);
        }
    }
    let mut allowlists = HashMap::new();
    for object in store.all_objects(ObjectKind::IpAllowlist).await? {
        if let Some((_, body)) = decode::<Allowlist>(&object) {
            allowlists.insert(object.scope.account.clone(), body);
        }
    }
    Ok(Snapshot {
        generation,
        authorizer: Authorizer::new(
            policy,
            u64::try_from(generation).unwrap_or(0),
            DECISION_CACHE,
        ),
        groups_of,
        settings,
        allowlists,
    })
}
