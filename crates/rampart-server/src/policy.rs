//! The access documents as the API takes them and the store keeps them
//! (custom roles, resource groups, role bindings, user groups), and their
//! translation into `rampart-auth`'s RBAC model.
//!
//! A spec is what a caller writes; identifier and scope come from the
//! request and the row, so a stored body never disagrees with its key.

use std::collections::BTreeSet;

use rampart_auth::rbac::{
    GroupRef, Permission, PrincipalRef, ResourceGroup, ResourceSelector, ResourceType, Role,
    RoleBinding, Scope,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::scope::{ScopeQuery, check_description, check_identifier, check_name};

/// A custom role: a named set of permissions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RoleSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Permission names from `GET /api/permissions`, e.g. `core_pipeline_view`.
    pub permissions: Vec<String>,
}

impl RoleSpec {
    /// The permissions, refusing unknown names and those a binding at
    /// `scope` could never grant.
    pub fn parse_permissions(&self, scope: &Scope) -> Result<BTreeSet<Permission>, ApiError> {
        self.permissions
            .iter()
            .map(|name| {
                let permission: Permission = name
                    .parse()
                    .map_err(|e: rampart_auth::rbac::UnknownPermission| {
                        ApiError::BadRequest(e.to_string())
                    })?;
                if !permission.available_at(scope.level()) {
                    return Err(ApiError::BadRequest(format!(
                        "`{permission}` cannot be granted at {scope}: it applies to higher scopes only"
                    )));
                }
                Ok(permission)
            })
            .collect()
    }

    pub fn validate(&self, scope: &Scope) -> Result<(), ApiError> {
        check_name("name", &self.name)?;
        check_description(&self.description)?;
        self.parse_permissions(scope).map(drop)
    }
}

/// What a resource group selects at its scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum SelectorSpec {
    /// Every resource of every type.
    All,
    /// Every resource of one type, e.g. `PIPELINE` or `SECRET`.
    AllOfType { resource_type: String },
    /// Named resources of one type at the group's own scope.
    Named {
        resource_type: String,
        identifiers: Vec<String>,
    },
}

fn resource_type(name: &str) -> Result<ResourceType, ApiError> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).map_err(|_| {
        let known: Vec<String> = ResourceType::ALL
            .iter()
            .filter_map(|t| serde_json::to_value(t).ok())
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        ApiError::BadRequest(format!(
            "unknown resource type `{}`: use one of {}",
            crate::scope::shorten(name),
            known.join(", ")
        ))
    })
}

/// A resource group: resources at its scope, optionally with child scopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResourceGroupSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub include_child_scopes: bool,
    pub selectors: Vec<SelectorSpec>,
}

impl ResourceGroupSpec {
    pub fn selectors(&self) -> Result<Vec<ResourceSelector>, ApiError> {
        self.selectors
            .iter()
            .map(|s| {
                Ok(match s {
                    SelectorSpec::All => ResourceSelector::All,
                    SelectorSpec::AllOfType { resource_type: t } => ResourceSelector::AllOfType {
                        resource_type: resource_type(t)?,
                    },
                    SelectorSpec::Named {
                        resource_type: t,
                        identifiers,
                    } => {
                        for id in identifiers {
                            check_identifier("resource identifier", id)?;
                        }
                        ResourceSelector::Named {
                            resource_type: resource_type(t)?,
                            ids: identifiers.iter().cloned().collect(),
                        }
                    }
                })
            })
            .collect()
    }

    pub fn validate(&self) -> Result<(), ApiError> {
        check_name("name", &self.name)?;
        check_description(&self.description)?;
        if self.selectors.is_empty() {
            return Err(ApiError::BadRequest(
                "a resource group needs at least one selector".into(),
            ));
        }
        self.selectors().map(drop)
    }

    pub fn to_rbac(&self, identifier: &str, scope: &Scope) -> Result<ResourceGroup, ApiError> {
        Ok(ResourceGroup {
            identifier: identifier.to_owned(),
            scope: scope.clone(),
            include_child_scopes: self.include_child_scopes,
            selectors: self.selectors()?,
        })
    }
}

/// Who a role binding is for. Users and service accounts by their `id`; a
/// user group by identifier and scope (default: the binding's account).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum PrincipalSpec {
    User {
        id: String,
    },
    ServiceAccount {
        id: String,
    },
    UserGroup {
        identifier: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        org: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        project: Option<String>,
    },
}

impl PrincipalSpec {
    pub fn to_rbac(&self, account: &str) -> Result<PrincipalRef, ApiError> {
        Ok(match self {
            PrincipalSpec::User { id } => PrincipalRef::User { id: id.clone() },
            PrincipalSpec::ServiceAccount { id } => PrincipalRef::ServiceAccount { id: id.clone() },
            PrincipalSpec::UserGroup {
                identifier,
                org,
                project,
            } => {
                check_identifier("user group", identifier)?;
                let scope = ScopeQuery {
                    org: org.clone(),
                    project: project.clone(),
                }
                .scope(account)?;
                PrincipalRef::UserGroup {
                    group: GroupRef {
                        scope,
                        id: identifier.clone(),
                    },
                }
            }
        })
    }
}

/// A role binding's stored body: (principal, role, resource group).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RoleBindingSpec {
    pub principal: PrincipalSpec,
    /// A built-in role (`_project_admin`, ...) or a custom role at this scope or above.
    pub role: String,
    /// A built-in resource group (`_all_project_level_resources`, ...) or a custom one at this scope.
    pub resource_group: String,
}

impl RoleBindingSpec {
    pub fn to_rbac(&self, identifier: &str, scope: &Scope) -> Result<RoleBinding, ApiError> {
        Ok(RoleBinding {
            identifier: identifier.to_owned(),
            scope: scope.clone(),
            principal: self.principal.to_rbac(scope.account_id())?,
            role: self.role.clone(),
            resource_group: self.resource_group.clone(),
        })
    }
}

/// A user group's stored body (its members are rows of their own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserGroupSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

impl UserGroupSpec {
    pub fn validate(&self) -> Result<(), ApiError> {
        check_name("name", &self.name)?;
        check_description(&self.description)
    }
}

/// A custom role from its stored parts (unknown permission names, from a
/// newer version, are dropped).
pub(crate) fn role_of(identifier: &str, scope: &Scope, spec: &RoleSpec) -> Role {
    Role {
        identifier: identifier.to_owned(),
        name: spec.name.clone(),
        scope: scope.clone(),
        permissions: spec
            .permissions
            .iter()
            .filter_map(|name| name.parse().ok())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_refuse_unknown_and_out_of_scope_permissions() {
        let project = Scope::project("a", "o", "p");
        let mut spec = RoleSpec {
            name: "Deployer".into(),
            description: String::new(),
            permissions: vec!["core_pipeline_execute".into()],
        };
        spec.validate(&project).unwrap();
        spec.permissions.push("core_pipeline_fly".into());
        assert!(spec.validate(&project).is_err());
        spec.permissions = vec!["core_organization_create".into()];
        let message = spec.validate(&project).unwrap_err().to_string();
        assert!(message.contains("cannot be granted"), "{message}");
        spec.validate(&Scope::account("a")).unwrap();
    }

    #[test]
    fn resource_groups_parse_harness_type_names() {
        let spec: ResourceGroupSpec = serde_json::from_value(serde_json::json!({
            "name": "Prod pipelines",
            "selectors": [
                {"kind": "named", "resource_type": "PIPELINE", "identifiers": ["deploy"]},
                {"kind": "all_of_type", "resource_type": "SERVICEACCOUNT"}
            ]
        }))
        .unwrap();
        let group = spec.to_rbac("prod", &Scope::account("a")).unwrap();
        assert_eq!(group.selectors.len(), 2);
        let bad = ResourceGroupSpec {
            selectors: vec![SelectorSpec::AllOfType {
                resource_type: "ROCKET".into(),
            }],
            ..spec
        };
        let message = bad.validate().unwrap_err().to_string();
        assert!(message.contains("PIPELINE"), "{message}");
    }
}
