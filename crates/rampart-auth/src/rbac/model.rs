//! Scopes, roles, resource groups, bindings, the decision function and the
//! cached [`Authorizer`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::permissions::{Permission, ResourceType};

/// The three levels of Harness's hierarchy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeLevel {
    Account,
    Organization,
    Project,
}

/// Where a resource, role, resource group or binding lives.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "level", rename_all = "snake_case")]
pub enum Scope {
    Account {
        account: String,
    },
    #[serde(rename = "organization")]
    Org {
        account: String,
        org: String,
    },
    Project {
        account: String,
        org: String,
        project: String,
    },
}

impl Scope {
    pub fn account(account: impl Into<String>) -> Self {
        Scope::Account {
            account: account.into(),
        }
    }

    pub fn org(account: impl Into<String>, org: impl Into<String>) -> Self {
        Scope::Org {
            account: account.into(),
            org: org.into(),
        }
    }

    pub fn project(
        account: impl Into<String>,
        org: impl Into<String>,
        project: impl Into<String>,
    ) -> Self {
        Scope::Project {
            account: account.into(),
            org: org.into(),
            project: project.into(),
        }
    }

    pub fn level(&self) -> ScopeLevel {
        match self {
            Scope::Account { .. } => ScopeLevel::Account,
            Scope::Org { .. } => ScopeLevel::Organization,
            Scope::Project { .. } => ScopeLevel::Project,
        }
    }

    pub fn account_id(&self) -> &str {
        match self {
            Scope::Account { account }
            | Scope::Org { account, .. }
            | Scope::Project { account, .. } => account,
        }
    }

    /// The enclosing scope; `None` for an account.
    pub fn parent(&self) -> Option<Scope> {
        match self {
            Scope::Account { .. } => None,
            Scope::Org { account, .. } => Some(Scope::account(account.clone())),
            Scope::Project { account, org, .. } => Some(Scope::org(account.clone(), org.clone())),
        }
    }

    /// Whether `other` is this scope or nested inside it.
    pub fn contains(&self, other: &Scope) -> bool {
        match (self, other) {
            (Scope::Account { account: a }, _) => a == other.account_id(),
            (
                Scope::Org { account: a, org: o },
                Scope::Org { account: b, org: p }
                | Scope::Project {
                    account: b, org: p, ..
                },
            ) => a == b && o == p,
            (Scope::Project { .. }, Scope::Project { .. }) => self == other,
            _ => false,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Account { account } => write!(f, "account {account}"),
            Scope::Org { account, org } => write!(f, "organization {account}/{org}"),
            Scope::Project {
                account,
                org,
                project,
            } => write!(f, "project {account}/{org}/{project}"),
        }
    }
}

/// The thing being acted on.
///
/// `scope` is where the resource lives. For the scope-typed resources
/// (account, organization, project) it is the scope itself and `id` is its
/// identifier: use [`Resource::of_scope`]. To check "create X", pass the type
/// and scope with no `id`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Resource {
    pub resource_type: ResourceType,
    pub scope: Scope,
    pub id: Option<String>,
}

impl Resource {
    pub fn new(resource_type: ResourceType, scope: Scope, id: Option<String>) -> Self {
        Resource {
            resource_type,
            scope,
            id,
        }
    }

    /// The account, organization or project `scope` as a resource.
    pub fn of_scope(scope: Scope) -> Self {
        let (resource_type, id) = match &scope {
            Scope::Account { account } => (ResourceType::Account, account.clone()),
            Scope::Org { org, .. } => (ResourceType::Organization, org.clone()),
            Scope::Project { project, .. } => (ResourceType::Project, project.clone()),
        };
        Resource {
            resource_type,
            scope,
            id: Some(id),
        }
    }

    /// The scope whose resource groups list this resource by name: a project
    /// is an item of its organization, as in Harness.
    fn owner_scope(&self) -> Scope {
        if self.resource_type.is_scope() {
            self.scope.parent().unwrap_or_else(|| self.scope.clone())
        } else {
            self.scope.clone()
        }
    }
}

/// Built-in roles, with Harness's identifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BuiltinRole {
    AccountAdmin,
    AccountViewer,
    OrganizationAdmin,
    OrganizationViewer,
    ProjectAdmin,
    ProjectViewer,
    PipelineExecutor,
}

impl BuiltinRole {
    pub const ALL: &'static [BuiltinRole] = &[
        BuiltinRole::AccountAdmin,
        BuiltinRole::AccountViewer,
        BuiltinRole::OrganizationAdmin,
        BuiltinRole::OrganizationViewer,
        BuiltinRole::ProjectAdmin,
        BuiltinRole::ProjectViewer,
        BuiltinRole::PipelineExecutor,
    ];

    /// Harness's identifier, e.g. `_account_admin`.
    pub fn identifier(self) -> &'static str {
        match self {
            BuiltinRole::AccountAdmin => "_account_admin",
            BuiltinRole::AccountViewer => "_account_viewer",
            BuiltinRole::OrganizationAdmin => "_organization_admin",
            BuiltinRole::OrganizationViewer => "_organization_viewer",
            BuiltinRole::ProjectAdmin => "_project_admin",
            BuiltinRole::ProjectViewer => "_project_viewer",
            BuiltinRole::PipelineExecutor => "_pipeline_executor",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            BuiltinRole::AccountAdmin => "Account Admin",
            BuiltinRole::AccountViewer => "Account Viewer",
            BuiltinRole::OrganizationAdmin => "Organization Admin",
            BuiltinRole::OrganizationViewer => "Organization Viewer",
            BuiltinRole::ProjectAdmin => "Project Admin",
            BuiltinRole::ProjectViewer => "Project Viewer",
            BuiltinRole::PipelineExecutor => "Pipeline Executor",
        }
    }

    pub fn from_identifier(id: &str) -> Option<BuiltinRole> {
        BuiltinRole::ALL
            .iter()
            .copied()
            .find(|r| r.identifier() == id)
    }

    /// Whether this role holds `p`. Admins hold every permission available
    /// at their level, viewers every `_view` one; the pipeline executor can
    /// view and run pipelines, view and use the secrets and connectors a
    /// run needs, and view the project.
    pub fn grants(self, p: Permission) -> bool {
        match self {
            BuiltinRole::AccountAdmin => true,
            BuiltinRole::AccountViewer => p.is_view(),
            BuiltinRole::OrganizationAdmin => p.available_at(ScopeLevel::Organization),
            BuiltinRole::OrganizationViewer => {
                p.is_view() && p.available_at(ScopeLevel::Organization)
            }
            BuiltinRole::ProjectAdmin => p.available_at(ScopeLevel::Project),
            BuiltinRole::ProjectViewer => p.is_view() && p.available_at(ScopeLevel::Project),
            BuiltinRole::PipelineExecutor => matches!(
                p,
                Permission::PipelineView
                    | Permission::PipelineExecute
                    | Permission::PipelineAbort
                    | Permission::SecretView
                    | Permission::SecretAccess
                    | Permission::ConnectorView
                    | Permission::ConnectorAccess
                    | Permission::ProjectView
            ),
        }
    }

    /// The role's permissions, in registry order.
    pub fn permissions(self) -> BTreeSet<Permission> {
        Permission::all().filter(|p| self.grants(*p)).collect()
    }
}

/// A custom role, defined at a scope and usable in bindings at that scope and
/// below.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub identifier: String,
    pub name: String,
    pub scope: Scope,
    pub permissions: BTreeSet<Permission>,
}

/// What a resource group selects at its scope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ResourceSelector {
    /// Every resource of every type.
    All,
    /// Every resource of one type.
    AllOfType { resource_type: ResourceType },
    /// Named resources of one type, at the group's own scope only.
    Named {
        resource_type: ResourceType,
        ids: BTreeSet<String>,
    },
}

/// Built-in resource groups (Harness's identifiers), resolved at the scope of
/// the binding that names them.
pub const BUILTIN_RESOURCE_GROUPS: &[&str] = &[
    "_all_resources_including_child_scopes",
    "_all_account_level_resources",
    "_all_organization_level_resources",
    "_all_project_level_resources",
];

/// A set of resources at a scope, optionally including its child scopes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceGroup {
    pub identifier: String,
    pub scope: Scope,
    pub include_child_scopes: bool,
    pub selectors: Vec<ResourceSelector>,
}

impl ResourceGroup {
    fn builtin(identifier: &str, scope: &Scope) -> Option<ResourceGroup> {
        let include_child_scopes = match (identifier, scope.level()) {
            ("_all_resources_including_child_scopes", _) => true,
            ("_all_account_level_resources", ScopeLevel::Account)
            | ("_all_organization_level_resources", ScopeLevel::Organization)
            | ("_all_project_level_resources", ScopeLevel::Project) => false,
            _ => return None,
        };
        Some(ResourceGroup {
            identifier: identifier.to_owned(),
            scope: scope.clone(),
            include_child_scopes,
            selectors: vec![ResourceSelector::All],
        })
    }

    /// Whether `resource` is in this group.
    pub fn matches(&self, resource: &Resource) -> bool {
        let owner = resource.owner_scope();
        // A scope-typed resource is also "at" its own scope: a project-level
        // group covers its project.
        let at_own_scope = self.scope == owner
            || (resource.resource_type.is_scope() && self.scope == resource.scope);
        let in_scope = at_own_scope || (self.include_child_scopes && self.scope.contains(&owner));
        if !in_scope {
            return false;
        }
        self.selectors.iter().any(|s| match s {
            ResourceSelector::All => true,
            ResourceSelector::AllOfType { resource_type } => {
                *resource_type == resource.resource_type
            }
            ResourceSelector::Named { resource_type, ids } => {
                at_own_scope
                    && *resource_type == resource.resource_type
                    && resource.id.as_ref().is_some_and(|id| ids.contains(id))
            }
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    User,
    ServiceAccount,
}

/// A user group, which lives at a scope.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GroupRef {
    pub scope: Scope,
    pub id: String,
}

/// Who a binding is for.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PrincipalRef {
    User { id: String },
    ServiceAccount { id: String },
    UserGroup { group: GroupRef },
}

/// An authenticated caller, as the server builds it for one request.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Principal {
    pub kind: PrincipalKind,
    pub id: String,
    /// The user groups this principal belongs to (at the moment of use).
    pub groups: BTreeSet<GroupRef>,
    /// A token's narrowing: when set, only these permissions can be allowed,
    /// and only if the bindings also allow them.
    pub allowed_permissions: Option<BTreeSet<Permission>>,
    /// A token's scope: when set, only resources at this scope or inside it
    /// can be allowed (a project's service-account token stays in its
    /// project, whatever its owner is bound to).
    pub scope_limit: Option<Scope>,
}

impl Principal {
    pub fn user(id: impl Into<String>) -> Self {
        Principal {
            kind: PrincipalKind::User,
            id: id.into(),
            groups: BTreeSet::new(),
            allowed_permissions: None,
            scope_limit: None,
        }
    }

    pub fn service_account(id: impl Into<String>) -> Self {
        Principal {
            kind: PrincipalKind::ServiceAccount,
            id: id.into(),
            ..Principal::user("")
        }
    }

    fn is(&self, r: &PrincipalRef) -> bool {
        match r {
            PrincipalRef::User { id } => self.kind == PrincipalKind::User && *id == self.id,
            PrincipalRef::ServiceAccount { id } => {
                self.kind == PrincipalKind::ServiceAccount && *id == self.id
            }
            PrincipalRef::UserGroup { group } => self.groups.contains(group),
        }
    }
}

/// (principal or user group, role, resource group) at a scope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleBinding {
    pub identifier: String,
    pub scope: Scope,
    pub principal: PrincipalRef,
    /// A built-in role identifier (`_project_admin`) or a custom role's.
    pub role: String,
    /// A built-in resource group identifier or a custom group at `scope`.
    pub resource_group: String,
}

/// Why a policy change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error(
        "identifier `{0}` is reserved: names starting with `_` belong to built-in roles and resource groups; choose another"
    )]
    Reserved(String),
    #[error(
        "role `{role}` is not defined at {scope} or above it: create the role first or use a built-in role"
    )]
    UnknownRole { role: String, scope: Scope },
    #[error(
        "resource group `{group}` is not defined at {scope}: create it at the binding's scope or use a built-in group"
    )]
    UnknownResourceGroup { group: String, scope: Scope },
    #[error(
        "a role binding `{identifier}` already exists at {scope}: remove it first or choose another identifier"
    )]
    DuplicateBinding { identifier: String, scope: Scope },
}

/// The whole authorization state: custom roles, resource groups, bindings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    roles: BTreeMap<(Scope, String), Role>,
    groups: BTreeMap<(Scope, String), ResourceGroup>,
    bindings: Vec<RoleBinding>,
}

impl Policy {
    pub fn new() -> Self {
        Policy::default()
    }

    /// Adds or replaces a custom role.
    pub fn upsert_role(&mut self, role: Role) -> Result<(), PolicyError> {
        if role.identifier.starts_with('_') {
            return Err(PolicyError::Reserved(role.identifier));
        }
        self.roles
            .insert((role.scope.clone(), role.identifier.clone()), role);
        Ok(())
    }

    /// Removes a custom role; bindings naming it stop granting anything.
    pub fn remove_role(&mut self, scope: &Scope, identifier: &str) -> Option<Role> {
        self.roles.remove(&(scope.clone(), identifier.to_owned()))
    }

    /// Adds or replaces a custom resource group.
    pub fn upsert_resource_group(&mut self, group: ResourceGroup) -> Result<(), PolicyError> {
        if group.identifier.starts_with('_') {
            return Err(PolicyError::Reserved(group.identifier));
        }
        self.groups
            .insert((group.scope.clone(), group.identifier.clone()), group);
        Ok(())
    }

    /// Removes a custom resource group; bindings naming it stop granting anything.
    pub fn remove_resource_group(
        &mut self,
        scope: &Scope,
        identifier: &str,
    ) -> Option<ResourceGroup> {
        self.groups.remove(&(scope.clone(), identifier.to_owned()))
    }

    /// Adds a binding whose role and resource group resolve at its scope.
    pub fn add_binding(&mut self, binding: RoleBinding) -> Result<(), PolicyError> {
        if self.role_grants(&binding, None).is_none() {
            return Err(PolicyError::UnknownRole {
                role: binding.role,
                scope: binding.scope,
            });
        }
        if self.resource_group(&binding).is_none() {
            return Err(PolicyError::UnknownResourceGroup {
                group: binding.resource_group,
                scope: binding.scope,
            });
        }
        if self
            .bindings
            .iter()
            .any(|b| b.scope == binding.scope && b.identifier == binding.identifier)
        {
            return Err(PolicyError::DuplicateBinding {
                identifier: binding.identifier,
                scope: binding.scope,
            });
        }
        self.bindings.push(binding);
        Ok(())
    }

    /// Removes a binding; returns it if it existed.
    pub fn remove_binding(&mut self, scope: &Scope, identifier: &str) -> Option<RoleBinding> {
        let at = self
            .bindings
            .iter()
            .position(|b| b.scope == *scope && b.identifier == identifier)?;
        Some(self.bindings.remove(at))
    }

    pub fn bindings(&self) -> &[RoleBinding] {
        &self.bindings
    }

    pub fn roles(&self) -> impl Iterator<Item = &Role> {
        self.roles.values()
    }

    pub fn resource_groups(&self) -> impl Iterator<Item = &ResourceGroup> {
        self.groups.values()
    }

    /// `Some(granted)` if the binding's role resolves; `granted` says whether
    /// it holds `permission` (when given).
    fn role_grants(&self, binding: &RoleBinding, permission: Option<Permission>) -> Option<bool> {
        if let Some(builtin) = BuiltinRole::from_identifier(&binding.role) {
            return Some(permission.is_none_or(|p| builtin.grants(p)));
        }
        let mut scope = Some(binding.scope.clone());
        while let Some(s) = scope {
            if let Some(role) = self.roles.get(&(s.clone(), binding.role.clone())) {
                return Some(permission.is_none_or(|p| role.permissions.contains(&p)));
            }
            scope = s.parent();
        }
        None
    }

    fn resource_group(&self, binding: &RoleBinding) -> Option<ResourceGroup> {
        ResourceGroup::builtin(&binding.resource_group, &binding.scope).or_else(|| {
            self.groups
                .get(&(binding.scope.clone(), binding.resource_group.clone()))
                .cloned()
        })
    }

    fn group_matches(&self, binding: &RoleBinding, resource: &Resource) -> bool {
        if let Some(builtin) = ResourceGroup::builtin(&binding.resource_group, &binding.scope) {
            return builtin.matches(resource);
        }
        self.groups
            .get(&(binding.scope.clone(), binding.resource_group.clone()))
            .is_some_and(|g| g.matches(resource))
    }
}

/// Why a request was denied.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DenyReason {
    /// The permission is about another type of resource.
    PermissionNotForResourceType,
    /// The caller's token is narrowed to a set without this permission.
    NarrowedByToken,
    /// The resource lies outside the caller's token's scope.
    OutsideTokenScope,
    /// No role binding grants the permission on the resource.
    NoMatchingBinding,
}

/// The outcome of [`check`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Allowed by the binding `binding` at `scope` (the first one found).
    Allowed {
        scope: Scope,
        binding: String,
    },
    Denied {
        reason: DenyReason,
    },
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed { .. })
    }
}

/// The one decision function: may `principal` use `permission` on `resource`?
///
/// Additive and deny by default: allowed when any binding for the principal
/// (directly or through a user group) has a role holding the permission and a
/// resource group containing the resource — and, for a narrowed token, the
/// permission is in the token's set, and for a scoped token, the resource is
/// in its scope.
pub fn check(
    policy: &Policy,
    principal: &Principal,
    permission: Permission,
    resource: &Resource,
) -> Decision {
    if permission.resource_type() != resource.resource_type {
        return Decision::Denied {
            reason: DenyReason::PermissionNotForResourceType,
        };
    }
    if let Some(allowed) = &principal.allowed_permissions
        && !allowed.contains(&permission)
    {
        return Decision::Denied {
            reason: DenyReason::NarrowedByToken,
        };
    }
    if let Some(limit) = &principal.scope_limit
        && !limit.contains(&resource.scope)
    {
        return Decision::Denied {
            reason: DenyReason::OutsideTokenScope,
        };
    }
    for binding in &policy.bindings {
        if principal.is(&binding.principal)
            && permission.available_at(binding.scope.level())
            && policy.role_grants(binding, Some(permission)) == Some(true)
            && policy.group_matches(binding, resource)
        {
            return Decision::Allowed {
                scope: binding.scope.clone(),
                binding: binding.identifier.clone(),
            };
        }
    }
    Decision::Denied {
        reason: DenyReason::NoMatchingBinding,
    }
}

type CacheKey = (Principal, Permission, Resource);

/// [`check`] with a bounded decision cache.
///
/// Every cached decision is tagged with the generation it was computed at;
/// the store bumps the generation on any change to bindings, roles, resource
/// groups or membership, and the server passes it in with
/// [`Authorizer::observe_generation`] (or calls [`Authorizer::invalidate`]),
/// so a removed binding takes effect on the next check. When the cache is
/// full it is emptied rather than letting memory grow.
#[derive(Debug)]
pub struct Authorizer {
    policy: Policy,
    cache: Mutex<HashMap<CacheKey, Decision>>,
    generation: u64,
    capacity: usize,
}

impl Authorizer {
    pub fn new(policy: Policy, generation: u64, capacity: usize) -> Self {
        Authorizer {
            policy,
            cache: Mutex::new(HashMap::new()),
            generation,
            capacity,
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Changes the policy and invalidates every cached decision.
    pub fn update<R>(&mut self, change: impl FnOnce(&mut Policy) -> R) -> R {
        let result = change(&mut self.policy);
        self.invalidate();
        result
    }

    /// Replaces the policy with one loaded at `generation`.
    pub fn replace(&mut self, policy: Policy, generation: u64) {
        self.policy = policy;
        self.generation = generation;
        self.clear();
    }

    /// Bumps the generation and drops every cached decision.
    pub fn invalidate(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        self.clear();
    }

    /// Drops the cache if the store's generation differs from ours.
    pub fn observe_generation(&mut self, generation: u64) {
        if generation != self.generation {
            self.generation = generation;
            self.clear();
        }
    }

    fn clear(&mut self) {
        match self.cache.get_mut() {
            Ok(cache) => cache.clear(),
            Err(poisoned) => poisoned.into_inner().clear(),
        }
    }

    /// Number of cached decisions.
    pub fn cached(&self) -> usize {
        self.lock().len()
    }

    /// The cache holds only derived data, so a panic elsewhere while it was
    /// locked leaves nothing to protect: recover the guard.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CacheKey, Decision>> {
        match self.cache.lock() {
            Ok(cache) => cache,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// [`check`] against the current policy, cached.
    pub fn check(
        &self,
        principal: &Principal,
        permission: Permission,
        resource: &Resource,
    ) -> Decision {
        let key = (principal.clone(), permission, resource.clone());
        if let Some(hit) = self.lock().get(&key) {
            return hit.clone();
        }
        // Computed without holding the lock, so checks run in parallel.
        let decision = check(&self.policy, principal, permission, resource);
        if self.capacity > 0 {
            let mut cache = self.lock();
            if cache.len() >= self.capacity {
                cache.clear();
            }
            cache.insert(key, decision.clone());
        }
        decision
    }
}
