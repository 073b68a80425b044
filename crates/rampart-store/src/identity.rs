//! The identity aggregate: accounts, organizations, projects, users and API
//! tokens, as rows. Every secret here is opaque to the store: the caller
//! hands in an Argon2id PHC string, a sealed TOTP seed, hashed recovery codes
//! and a keyed token hash, never a plaintext.

use std::fmt;
use std::future::Future;

use crate::StoreError;

/// The top scope. `identifier` is the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub identifier: String,
    pub name: String,
    pub created_at_ms: i64,
}

/// A scope inside an account; `identifier` is unique within the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub account: String,
    pub identifier: String,
    pub name: String,
    pub description: String,
    pub created_at_ms: i64,
}

/// A scope inside an organization; `identifier` is unique within it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub account: String,
    pub org: String,
    pub identifier: String,
    pub name: String,
    pub description: String,
    pub created_at_ms: i64,
}

/// A user of one account. `email` is unique within the account and compared
/// byte-wise, so the caller normalises it first. `Debug` leaves the hashes
/// and the sealed seed out, so a logged row leaks nothing to crack.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    /// Chosen by the caller; the key of every other lookup.
    pub id: String,
    pub account: String,
    pub email: String,
    pub display_name: String,
    /// An Argon2id PHC string.
    pub password_hash: String,
    /// The TOTP seed, sealed by the server; `None` until enrolled.
    pub totp_secret_sealed: Option<Vec<u8>>,
    /// The last TOTP time step accepted, so a code is never accepted twice.
    pub totp_last_step: Option<i64>,
    /// The hashed one-time recovery codes, encoded by the caller.
    pub recovery_codes: Option<Vec<u8>>,
    /// A TOTP seed being enrolled (sealed), not yet confirmed with a code.
    pub totp_pending_sealed: Option<Vec<u8>>,
    /// Set for a one-time password: the user must choose a password before
    /// doing anything else.
    pub must_change_password: bool,
    /// The login throttling state (failures, lock), encoded by the caller;
    /// `None` when clean. Changed only by compare-and-swap
    /// ([`IdentityRepo::set_login_state`]), so replicas do not lose failures.
    pub login_state: Option<String>,
    pub disabled: bool,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// Who a token authorizes as.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TokenOwner {
    User(String),
    ServiceAccount(String),
}

impl TokenOwner {
    /// The owner's id.
    pub fn id(&self) -> &str {
        self.parts().1
    }

    /// The stored kind and id.
    pub(crate) fn parts(&self) -> (&'static str, &str) {
        match self {
            TokenOwner::User(id) => ("user", id),
            TokenOwner::ServiceAccount(id) => ("service_account", id),
        }
    }

    pub(crate) fn from_parts(kind: &str, id: String) -> Result<Self, StoreError> {
        match kind {
            "user" => Ok(TokenOwner::User(id)),
            "service_account" => Ok(TokenOwner::ServiceAccount(id)),
            other => Err(StoreError::Corrupt(format!(
                "API token owner kind `{other}`"
            ))),
        }
    }
}

/// An API token's row: its public id, what it is scoped to, its owner, and
/// a keyed hash of the whole token (never the token). `Debug` leaves the
/// hash out.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// The public part of the token, so lookup is O(1).
    pub token_id: String,
    pub account: String,
    /// No org: account scope; an org and no project: org scope; both: project.
    pub org: Option<String>,
    pub project: Option<String>,
    pub owner: TokenOwner,
    /// The API key (of the same owner) this token belongs to.
    pub api_key: String,
    pub name: String,
    pub description: String,
    /// A narrowing: a JSON array of permission names, encoded by the caller;
    /// `None` when the token carries all of its owner's permissions.
    pub permissions: Option<String>,
    pub hash: Vec<u8>,
    pub created_at_ms: i64,
    pub expires_at_ms: Option<i64>,
    pub last_used_at_ms: Option<i64>,
    pub revoked_at_ms: Option<i64>,
    /// After a rotation, when the old value stops working.
    pub rotated_grace_end_ms: Option<i64>,
}

/// What `Debug` shows instead of a hash or sealed bytes.
const HIDDEN: &str = "<hidden>";

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("account", &self.account)
            .field("email", &self.email)
            .field("display_name", &self.display_name)
            .field("password_hash", &HIDDEN)
            .field("totp_enrolled", &self.totp_secret_sealed.is_some())
            .field("totp_last_step", &self.totp_last_step)
            .field("has_recovery_codes", &self.recovery_codes.is_some())
            .field("totp_pending", &self.totp_pending_sealed.is_some())
            .field("must_change_password", &self.must_change_password)
            .field("login_state", &self.login_state)
            .field("disabled", &self.disabled)
            .field("created_at_ms", &self.created_at_ms)
            .field("updated_at_ms", &self.updated_at_ms)
            .finish()
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiToken")
            .field("token_id", &self.token_id)
            .field("account", &self.account)
            .field("org", &self.org)
            .field("project", &self.project)
            .field("owner", &self.owner)
            .field("api_key", &self.api_key)
            .field("name", &self.name)
            .field("description", &self.description)
            .field("permissions", &self.permissions)
            .field("hash", &HIDDEN)
            .field("created_at_ms", &self.created_at_ms)
            .field("expires_at_ms", &self.expires_at_ms)
            .field("last_used_at_ms", &self.last_used_at_ms)
            .field("revoked_at_ms", &self.revoked_at_ms)
            .field("rotated_grace_end_ms", &self.rotated_grace_end_ms)
            .finish()
    }
}

/// Where identity rows live. Creating a row whose key exists (or whose
/// parent does not) fails with [`StoreError::Conflict`]. Methods that change
/// one row return whether that row existed.
///
/// Every method that changes what a credential or principal may do (all
/// writes here except [`IdentityRepo::touch_token`] and the login-state,
/// pending-seed and TOTP-step bookkeeping) also advances the security
/// generation in the same transaction (see [`crate::AccessRepo::generation`]),
/// so every server replica drops its cached decisions. A write that finds
/// nothing to change (returns `false`) leaves it alone.
pub trait IdentityRepo {
    fn create_account(
        &self,
        account: &Account,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn account(
        &self,
        identifier: &str,
    ) -> impl Future<Output = Result<Option<Account>, StoreError>> + Send;

    fn create_organization(
        &self,
        org: &Organization,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn organization(
        &self,
        account: &str,
        identifier: &str,
    ) -> impl Future<Output = Result<Option<Organization>, StoreError>> + Send;

    /// An account's organizations, by identifier.
    fn organizations(
        &self,
        account: &str,
    ) -> impl Future<Output = Result<Vec<Organization>, StoreError>> + Send;

    /// Deletes an organization and everything in it: its projects, and the
    /// access objects, user-group memberships, service accounts, API keys
    /// and tokens at its scope or its projects' scopes.
    fn delete_organization(
        &self,
        account: &str,
        identifier: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Changes an organization's name and description.
    fn update_organization(
        &self,
        org: &Organization,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn create_project(
        &self,
        project: &Project,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn project(
        &self,
        account: &str,
        org: &str,
        identifier: &str,
    ) -> impl Future<Output = Result<Option<Project>, StoreError>> + Send;

    /// An organization's projects, by identifier.
    fn projects(
        &self,
        account: &str,
        org: &str,
    ) -> impl Future<Output = Result<Vec<Project>, StoreError>> + Send;

    /// Deletes a project and everything at its scope (as
    /// [`IdentityRepo::delete_organization`] does for an org).
    fn delete_project(
        &self,
        account: &str,
        org: &str,
        identifier: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Changes a project's name and description.
    fn update_project(
        &self,
        project: &Project,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Changes an account's name.
    fn update_account(
        &self,
        account: &Account,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Every account, by identifier.
    fn accounts(&self) -> impl Future<Output = Result<Vec<Account>, StoreError>> + Send;

    /// Deletes an account and everything in it (orgs, projects, users,
    /// tokens, sessions, access objects, service accounts, API keys); its
    /// audit events and head stay.
    fn delete_account(
        &self,
        identifier: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn create_user(&self, user: &User) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn user(&self, id: &str) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    fn user_by_email(
        &self,
        account: &str,
        email: &str,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// An account's users, by e-mail address.
    fn users(&self, account: &str) -> impl Future<Output = Result<Vec<User>, StoreError>> + Send;

    /// Changes display name and disabled flag.
    fn update_user_profile(
        &self,
        id: &str,
        display_name: &str,
        disabled: bool,
        at_ms: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes a user with their sessions, group memberships, API keys and
    /// tokens.
    fn delete_user(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Replaces the password hash and sets `must_change_password` (true for
    /// a one-time password an admin handed out, false when the user chose it).
    fn set_password_hash(
        &self,
        id: &str,
        password_hash: &str,
        must_change_password: bool,
        at_ms: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Compare-and-swap of the login throttling state: writes `new` only if
    /// the stored state is still `expected` (both `None`-aware); `false`
    /// means someone else changed it first (read again and retry) or no user.
    /// Does not advance the security generation.
    fn set_login_state(
        &self,
        id: &str,
        expected: Option<&str>,
        new: Option<&str>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Stores (or with `None` clears) a TOTP seed being enrolled.
    fn set_totp_pending(
        &self,
        id: &str,
        sealed: Option<&[u8]>,
        at_ms: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Replaces the hashed recovery codes (one was used, or new ones made).
    fn set_recovery_codes(
        &self,
        id: &str,
        recovery_codes: &[u8],
        at_ms: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Enrols TOTP: the sealed seed and the hashed recovery codes, with no
    /// step accepted yet; clears any pending seed.
    fn set_totp(
        &self,
        id: &str,
        totp_secret_sealed: &[u8],
        recovery_codes: &[u8],
        at_ms: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Removes the TOTP seed, its last step and the recovery codes.
    fn clear_totp(
        &self,
        id: &str,
        at_ms: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records `step` as accepted if it is later than the last accepted one,
    /// atomically; `false` means a replayed (or older) code, or no user.
    fn advance_totp_step(
        &self,
        id: &str,
        step: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Also fails with [`StoreError::Conflict`] if `token.api_key` names no
    /// API key of the token's owner in its account, so a token cannot
    /// outlive a concurrently deleted key ("" is a token from before API
    /// keys, which has none).
    fn insert_token(&self, token: &ApiToken)
    -> impl Future<Output = Result<(), StoreError>> + Send;

    fn token(
        &self,
        token_id: &str,
    ) -> impl Future<Output = Result<Option<ApiToken>, StoreError>> + Send;

    /// An owner's tokens, oldest first.
    fn tokens_of(
        &self,
        owner: &TokenOwner,
    ) -> impl Future<Output = Result<Vec<ApiToken>, StoreError>> + Send;

    /// The tokens of one of an owner's API keys, oldest first.
    fn tokens_of_key(
        &self,
        owner: &TokenOwner,
        api_key: &str,
    ) -> impl Future<Output = Result<Vec<ApiToken>, StoreError>> + Send;

    /// Rotation in one transaction: the old token stops working at
    /// `grace_end_ms` and `new` is inserted. `false` (and nothing changed)
    /// when the old token does not exist or is revoked.
    fn rotate_token(
        &self,
        old_token_id: &str,
        grace_end_ms: i64,
        new: &ApiToken,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Revokes a token at once; revoking again keeps the first time.
    fn revoke_token(
        &self,
        token_id: &str,
        at_ms: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records a use; the last-used time never moves backwards.
    fn touch_token(
        &self,
        token_id: &str,
        at_ms: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Sets when a rotated-away token stops working.
    fn set_token_grace_end(
        &self,
        token_id: &str,
        grace_end_ms: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
