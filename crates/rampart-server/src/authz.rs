//! The one authorization function every handler calls (DESIGN.md §4
//! invariant 3): `rampart_auth::rbac::check`, through the cached
//! [`Authorizer`](rampart_auth::rbac::Authorizer) of the current access
//! snapshot, for the caller's principal as it is at this moment. Denials
//! are audited. A principal never reaches another account's resources.

use rampart_auth::audit::{AuditAction, Outcome};
use rampart_auth::rbac::{Permission, Resource, ResourceType};

use crate::audit_log::Entry;
use crate::authn::Caller;
use crate::backend::Core;
use crate::error::ApiError;

impl Caller {
    /// Whether the caller may use `permission` on `resource` (no audit: for
    /// filtering lists).
    pub(crate) async fn allowed(
        &self,
        core: &Core,
        permission: Permission,
        resource: &Resource,
    ) -> Result<bool, ApiError> {
        if resource.scope.account_id() != self.account {
            return Ok(false);
        }
        let snapshot = core.access.snapshot().await?;
        Ok(snapshot
            .authorizer
            .check(&self.principal, permission, resource)
            .is_allowed())
    }

    /// Succeeds if the caller may use `permission` on `resource`; otherwise
    /// records the denial and returns 403.
    pub(crate) async fn authorize(
        &self,
        core: &Core,
        permission: Permission,
        resource: &Resource,
    ) -> Result<(), ApiError> {
        if self.allowed(core, permission, resource).await? {
            return Ok(());
        }
        let what = describe(resource);
        core.audit
            .record(
                Entry::new(
                    &self.account,
                    self.actor(),
                    AuditAction::AccessDenied,
                    resource_kind(resource.resource_type),
                )
                .scope(&resource.scope)
                .ip(self.ip)
                .outcome(Outcome::Denied)
                .details(serde_json::json!({
                    "permission": permission.as_str(),
                    "resource_id": resource.id,
                    "token_id": self.token_id(),
                })),
            )
            .await?;
        Err(ApiError::Forbidden(format!(
            "you do not have `{permission}` on {what}; ask an administrator for a role that grants it"
        )))
    }
}

/// The audit resource kind of a resource type.
pub(crate) fn resource_kind(resource_type: ResourceType) -> &'static str {
    match resource_type {
        ResourceType::Account => "ACCOUNT",
        ResourceType::Organization => "ORGANIZATION",
        ResourceType::Project => "PROJECT",
        ResourceType::Pipeline => "PIPELINE",
        ResourceType::Secret => "SECRET",
        ResourceType::Connector => "CONNECTOR",
        ResourceType::User => "USER",
        ResourceType::UserGroup => "USER_GROUP",
        ResourceType::ServiceAccount => "SERVICE_ACCOUNT",
        ResourceType::Role => "ROLE",
        ResourceType::ResourceGroup => "RESOURCE_GROUP",
        ResourceType::AuthSetting => "AUTH_SETTING",
        ResourceType::Audit => "AUDIT",
    }
}

fn describe(resource: &Resource) -> String {
    let kind = resource_kind(resource.resource_type)
        .to_lowercase()
        .replace('_', " ");
    match &resource.id {
        Some(id) if !resource.resource_type.is_scope() => {
            format!("{kind} `{id}` in {}", resource.scope)
        }
        Some(_) => resource.scope.to_string(),
        None => format!("{kind}s in {}", resource.scope),
    }
}
