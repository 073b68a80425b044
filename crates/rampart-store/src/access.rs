//! The access aggregate: the documents RBAC and account settings are made
//! of (roles, resource groups, role bindings, user groups, auth settings, IP
//! allowlists), user-group memberships, service accounts and API keys.
//!
//! Documents are JSON bodies the server encodes and decodes; the store keys
//! them by scope, kind and identifier, versions them for optimistic
//! concurrency, and never looks inside. Memberships, service accounts and API
//! keys are relational because other rows point at them.
//!
//! Every write here that changes something advances the security generation
//! in the same transaction
//! ([`AccessRepo::generation`]); on PostgreSQL the commit also notifies the
//! `rampart_security` channel, so other replicas drop their caches at once.

use std::future::Future;

use crate::StoreError;
use crate::identity::TokenOwner;

/// Where a row lives: an account, or an org in it, or a project in that org.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScopeKey {
    pub account: String,
    pub org: Option<String>,
    /// Only with an org.
    pub project: Option<String>,
}

impl ScopeKey {
    pub fn account(account: &str) -> Self {
        ScopeKey {
            account: account.to_owned(),
            org: None,
            project: None,
        }
    }

    pub fn org(account: &str, org: &str) -> Self {
        ScopeKey {
            org: Some(org.to_owned()),
            ..ScopeKey::account(account)
        }
    }

    pub fn project(account: &str, org: &str, project: &str) -> Self {
        ScopeKey {
            project: Some(project.to_owned()),
            ..ScopeKey::org(account, org)
        }
    }
}

/// The kinds of document in the access table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectKind {
    Role,
    ResourceGroup,
    RoleBinding,
    UserGroup,
    /// One per account (at account scope), identifier `auth`.
    AuthSettings,
    /// One per account (at account scope), identifier `ip`.
    IpAllowlist,
}

impl ObjectKind {
    pub const ALL: &'static [ObjectKind] = &[
        ObjectKind::Role,
        ObjectKind::ResourceGroup,
        ObjectKind::RoleBinding,
        ObjectKind::UserGroup,
        ObjectKind::AuthSettings,
        ObjectKind::IpAllowlist,
    ];

    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Role => "role",
            ObjectKind::ResourceGroup => "resource_group",
            ObjectKind::RoleBinding => "role_binding",
            ObjectKind::UserGroup => "user_group",
            ObjectKind::AuthSettings => "auth_settings",
            ObjectKind::IpAllowlist => "ip_allowlist",
        }
    }

    pub fn parse(stored: &str) -> Option<ObjectKind> {
        ObjectKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == stored)
    }
}

/// One stored document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessObject {
    pub scope: ScopeKey,
    pub kind: ObjectKind,
    pub identifier: String,
    /// JSON, encoded by the caller.
    pub body: String,
    /// 1 for a new document, one more on every update (set by the store;
    /// ignored in what [`AccessRepo::put_object`] is given).
    pub version: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// What [`AccessRepo::put_object`] expects to find, so concurrent edits are
/// not silently lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Create: no document with this key may exist.
    Absent,
    /// Update: the stored document must have this version.
    Version(i64),
    /// Create or replace whatever is there.
    Any,
}

/// A service account: a non-human principal at a scope. `id` is the
/// principal id bindings and tokens name (chosen by the caller, unique in
/// the installation); `identifier` is unique within the scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccount {
    pub id: String,
    pub scope: ScopeKey,
    pub identifier: String,
    pub name: String,
    pub email: String,
    pub description: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// An API key: a named group of tokens of one owner (a user's personal
/// access tokens at account scope, or a service account's at its scope).
/// `identifier` is unique per owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub owner: TokenOwner,
    pub identifier: String,
    pub scope: ScopeKey,
    pub name: String,
    pub description: String,
    pub created_at_ms: i64,
}

/// One user's membership of one user group.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Membership {
    /// The group's scope.
    pub scope: ScopeKey,
    pub group: String,
    pub user_id: String,
}

/// Where access documents, memberships, service accounts and API keys live.
/// Creating a row whose key exists, or whose parent (account, org, project,
/// group, user) does not, fails with [`StoreError::Conflict`]; so does a
/// failed [`Precondition`]. Methods that change one row return whether it
/// existed.
pub trait AccessRepo {
    /// Stores a document if `precondition` holds; returns its new version.
    fn put_object(
        &self,
        object: &AccessObject,
        precondition: Precondition,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;

    fn object(
        &self,
        scope: &ScopeKey,
        kind: ObjectKind,
        identifier: &str,
    ) -> impl Future<Output = Result<Option<AccessObject>, StoreError>> + Send;

    /// The documents of one kind at exactly `scope`, by identifier.
    fn objects(
        &self,
        scope: &ScopeKey,
        kind: ObjectKind,
    ) -> impl Future<Output = Result<Vec<AccessObject>, StoreError>> + Send;

    /// Every document of one kind in every account (the server's policy
    /// snapshot), ordered by account, org, project, identifier.
    fn all_objects(
        &self,
        kind: ObjectKind,
    ) -> impl Future<Output = Result<Vec<AccessObject>, StoreError>> + Send;

    /// Deletes a document; a user group takes its memberships with it.
    fn delete_object(
        &self,
        scope: &ScopeKey,
        kind: ObjectKind,
        identifier: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Adds a user to a user group (a document of kind `UserGroup`);
    /// `false` if they already were a member. The user must belong to the
    /// group's account.
    fn add_member(
        &self,
        membership: &Membership,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn remove_member(
        &self,
        membership: &Membership,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// A group's members' user ids, sorted.
    fn members(
        &self,
        scope: &ScopeKey,
        group: &str,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Every membership in the installation (the server's snapshot).
    fn all_memberships(&self) -> impl Future<Output = Result<Vec<Membership>, StoreError>> + Send;

    fn create_service_account(
        &self,
        account: &ServiceAccount,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn service_account(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<ServiceAccount>, StoreError>> + Send;

    fn service_account_by_identifier(
        &self,
        scope: &ScopeKey,
        identifier: &str,
    ) -> impl Future<Output = Result<Option<ServiceAccount>, StoreError>> + Send;

    /// The service accounts at exactly `scope`, by identifier.
    fn service_accounts(
        &self,
        scope: &ScopeKey,
    ) -> impl Future<Output = Result<Vec<ServiceAccount>, StoreError>> + Send;

    /// Changes name, email and description (matched by `id`).
    fn update_service_account(
        &self,
        account: &ServiceAccount,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes a service account with its API keys and tokens.
    fn delete_service_account(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn create_api_key(&self, key: &ApiKey) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn api_key(
        &self,
        owner: &TokenOwner,
        identifier: &str,
    ) -> impl Future<Output = Result<Option<ApiKey>, StoreError>> + Send;

    /// An owner's API keys, by identifier.
    fn api_keys_of(
        &self,
        owner: &TokenOwner,
    ) -> impl Future<Output = Result<Vec<ApiKey>, StoreError>> + Send;

    /// Deletes an API key with its tokens.
    fn delete_api_key(
        &self,
        owner: &TokenOwner,
        identifier: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The security generation: a counter every write to identities, tokens
    /// and access objects advances. Caches tagged with an older value are stale.
    fn generation(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;
}
