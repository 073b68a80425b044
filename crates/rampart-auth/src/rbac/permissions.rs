//! The permission registry: one static table that the API (validation,
//! listing) and the generated docs both read, so they cannot disagree.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::model::ScopeLevel;

/// The kinds of resource a permission applies to, named as Harness names
/// them in its resource-group API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ResourceType {
    Account,
    Organization,
    Project,
    Pipeline,
    Secret,
    Connector,
    User,
    UserGroup,
    #[serde(rename = "SERVICEACCOUNT")]
    ServiceAccount,
    Role,
    #[serde(rename = "RESOURCEGROUP")]
    ResourceGroup,
    #[serde(rename = "AUTHSETTING")]
    AuthSetting,
    Audit,
}

impl ResourceType {
    /// Every resource type, in a stable order.
    pub const ALL: &'static [ResourceType] = &[
        ResourceType::Account,
        ResourceType::Organization,
        ResourceType::Project,
        ResourceType::Pipeline,
        ResourceType::Secret,
        ResourceType::Connector,
        ResourceType::User,
        ResourceType::UserGroup,
        ResourceType::ServiceAccount,
        ResourceType::Role,
        ResourceType::ResourceGroup,
        ResourceType::AuthSetting,
        ResourceType::Audit,
    ];

    /// Whether a resource of this type *is* a scope (its [`super::Resource`]
    /// names the scope itself rather than something inside one).
    pub const fn is_scope(self) -> bool {
        matches!(
            self,
            ResourceType::Account | ResourceType::Organization | ResourceType::Project
        )
    }
}

/// One row of the registry.
#[derive(Debug, PartialEq, Eq)]
pub struct PermissionInfo {
    pub permission: Permission,
    /// Harness's identifier, e.g. `core_pipeline_execute`.
    pub name: &'static str,
    pub resource_type: ResourceType,
    /// The scope levels at which a role binding can grant this permission
    /// (Harness: account and organization permissions are not available in
    /// projects).
    pub levels: &'static [ScopeLevel],
    pub description: &'static str,
}

/// A permission name that is not in the registry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown permission `{0}`: permissions are Harness identifiers such as `core_pipeline_view`; \
     list them with the permissions endpoint"
)]
pub struct UnknownPermission(pub String);

macro_rules! registry {
    ($( $variant:ident => $name:literal, $rt:ident, [$($lvl:ident),*], $desc:literal; )*) => {
        /// A permission, as Harness names it. See [`PERMISSIONS`] for the table.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Permission {
            $( $variant, )*
        }

        /// The permission registry, in a stable order (grouped by resource type).
        pub static PERMISSIONS: &[PermissionInfo] = &[
            $( PermissionInfo {
                permission: Permission::$variant,
                name: $name,
                resource_type: ResourceType::$rt,
                levels: &[$(ScopeLevel::$lvl),*],
                description: $desc,
            }, )*
        ];

        impl Permission {
            /// This permission's row in [`PERMISSIONS`].
            pub fn info(self) -> &'static PermissionInfo {
                match self {
                    $( Permission::$variant => &PermissionInfo {
                        permission: Permission::$variant,
                        name: $name,
                        resource_type: ResourceType::$rt,
                        levels: &[$(ScopeLevel::$lvl),*],
                        description: $desc,
                    }, )*
                }
            }
        }

        impl FromStr for Permission {
            type Err = UnknownPermission;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $name => Ok(Permission::$variant), )*
                    other => Err(UnknownPermission(other.to_owned())),
                }
            }
        }
    };
}

registry! {
    PipelineView => "core_pipeline_view", Pipeline, [Account, Organization, Project], "View pipelines, their executions and logs.";
    PipelineCreate => "core_pipeline_create", Pipeline, [Account, Organization, Project], "Create pipelines.";
    PipelineEdit => "core_pipeline_edit", Pipeline, [Account, Organization, Project], "Edit pipelines and their triggers and input sets.";
    PipelineDelete => "core_pipeline_delete", Pipeline, [Account, Organization, Project], "Delete pipelines.";
    PipelineExecute => "core_pipeline_execute", Pipeline, [Account, Organization, Project], "Run and re-run pipelines; the run acts as whoever started it.";
    PipelineAbort => "core_pipeline_abort", Pipeline, [Account, Organization, Project], "Abort pipeline executions.";
    SecretView => "core_secret_view", Secret, [Account, Organization, Project], "View secret metadata (never values).";
    SecretEdit => "core_secret_edit", Secret, [Account, Organization, Project], "Create and edit secrets.";
    SecretDelete => "core_secret_delete", Secret, [Account, Organization, Project], "Delete secrets.";
    SecretAccess => "core_secret_access", Secret, [Account, Organization, Project], "Use a secret's value in a pipeline run.";
    ConnectorView => "core_connector_view", Connector, [Account, Organization, Project], "View connectors.";
    ConnectorEdit => "core_connector_edit", Connector, [Account, Organization, Project], "Create and edit connectors.";
    ConnectorDelete => "core_connector_delete", Connector, [Account, Organization, Project], "Delete connectors.";
    ConnectorAccess => "core_connector_access", Connector, [Account, Organization, Project], "Use a connector in a pipeline run.";
    ProjectView => "core_project_view", Project, [Account, Organization, Project], "View projects.";
    ProjectCreate => "core_project_create", Project, [Account, Organization], "Create projects.";
    ProjectEdit => "core_project_edit", Project, [Account, Organization, Project], "Edit projects.";
    ProjectDelete => "core_project_delete", Project, [Account, Organization, Project], "Delete projects.";
    OrganizationView => "core_organization_view", Organization, [Account, Organization], "View organizations.";
    OrganizationCreate => "core_organization_create", Organization, [Account], "Create organizations.";
    OrganizationEdit => "core_organization_edit", Organization, [Account, Organization], "Edit organizations.";
    OrganizationDelete => "core_organization_delete", Organization, [Account, Organization], "Delete organizations.";
    AccountView => "core_account_view", Account, [Account], "View the account.";
    AccountEdit => "core_account_edit", Account, [Account], "Edit the account.";
    UserView => "core_user_view", User, [Account, Organization, Project], "View users.";
    UserManage => "core_user_manage", User, [Account, Organization, Project], "Add, update and remove users and their role bindings.";
    UserGroupView => "core_usergroup_view", UserGroup, [Account, Organization, Project], "View user groups.";
    UserGroupManage => "core_usergroup_manage", UserGroup, [Account, Organization, Project], "Create, edit and delete user groups and their members.";
    ServiceAccountView => "core_serviceaccount_view", ServiceAccount, [Account, Organization, Project], "View service accounts.";
    ServiceAccountEdit => "core_serviceaccount_edit", ServiceAccount, [Account, Organization, Project], "Create and edit service accounts.";
    ServiceAccountDelete => "core_serviceaccount_delete", ServiceAccount, [Account, Organization, Project], "Delete service accounts.";
    ServiceAccountManageApiKey => "core_serviceaccount_manageapikey", ServiceAccount, [Account, Organization, Project], "Create, rotate and revoke service account API keys and tokens.";
    RoleView => "core_role_view", Role, [Account, Organization, Project], "View roles.";
    RoleEdit => "core_role_edit", Role, [Account, Organization, Project], "Create and edit roles.";
    RoleDelete => "core_role_delete", Role, [Account, Organization, Project], "Delete roles.";
    ResourceGroupView => "core_resourcegroup_view", ResourceGroup, [Account, Organization, Project], "View resource groups.";
    ResourceGroupEdit => "core_resourcegroup_edit", ResourceGroup, [Account, Organization, Project], "Create and edit resource groups.";
    ResourceGroupDelete => "core_resourcegroup_delete", ResourceGroup, [Account, Organization, Project], "Delete resource groups.";
    AuthSettingView => "core_authsetting_view", AuthSetting, [Account], "View authentication settings: login, 2FA enforcement, IP allowlists.";
    AuthSettingEdit => "core_authsetting_edit", AuthSetting, [Account], "Edit authentication settings: login, 2FA enforcement, IP allowlists.";
    AuditView => "core_audit_view", Audit, [Account, Organization, Project], "View and verify the audit trail.";
}

impl Permission {
    /// Every permission, in registry order.
    pub fn all() -> impl Iterator<Item = Permission> {
        PERMISSIONS.iter().map(|p| p.permission)
    }

    /// Harness's identifier.
    pub fn as_str(self) -> &'static str {
        self.info().name
    }

    pub fn resource_type(self) -> ResourceType {
        self.info().resource_type
    }

    /// Read-only permissions (the `_view` ones), which viewer roles hold.
    pub fn is_view(self) -> bool {
        self.as_str().ends_with("_view")
    }

    /// Whether a binding at `level` can grant this permission.
    pub fn available_at(self, level: ScopeLevel) -> bool {
        self.info().levels.contains(&level)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Permission {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Permission {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
