//! A server run's secrets: `<+secrets.getValue(id)>` resolves from the
//! run's account in the encrypted store, and only if the run's executor —
//! the user or service account that started it, as they are now — holds
//! `core_secret_access` on that secret. A refusal fails the step with a
//! message saying what is missing, and is audited.

use std::sync::{Arc, RwLock};

use rampart_auth::audit::{Actor, AuditAction, Outcome};
use rampart_auth::rbac::{Permission, Principal, PrincipalKind, Resource, ResourceType, Scope};
use rampart_engine::{ResolvedSecret, SecretContent, SecretSource};
use rampart_secrets::{Scope as SecretScope, SecretKind, SecretRef, SecretSnapshot};
use tokio::sync::mpsc;

use crate::access::Snapshot;
use crate::audit_log::Entry;

/// Who a run acts as, with the limits of the token that started it.
#[derive(Debug, Clone)]
pub(crate) struct Executor {
    pub principal: Principal,
    pub account: String,
}

impl Executor {
    /// The principal as the access snapshot sees it now (a user's current groups).
    fn now(&self, access: &Snapshot) -> Principal {
        let mut principal = match self.principal.kind {
            PrincipalKind::User => access.user_principal(&self.principal.id),
            PrincipalKind::ServiceAccount => Principal::service_account(&self.principal.id),
        };
        principal.allowed_permissions = self.principal.allowed_permissions.clone();
        principal.scope_limit = self.principal.scope_limit.clone();
        principal
    }

    pub fn actor(&self) -> Actor {
        match self.principal.kind {
            PrincipalKind::User => Actor::User {
                id: self.principal.id.clone(),
            },
            PrincipalKind::ServiceAccount => Actor::ServiceAccount {
                id: self.principal.id.clone(),
            },
        }
    }
}

/// The engine's secret source for one run.
pub(crate) struct RunSecrets {
    pub run_id: String,
    pub executor: Executor,
    pub org: String,
    pub project: String,
    /// The account's sealed secrets as the run started; opened on use.
    pub sealed: SecretSnapshot,
    /// The access state, kept fresh by the run while it executes.
    pub access: Arc<RwLock<Arc<Snapshot>>>,
    /// Refusals, for the audit log (written by the run's task).
    pub denials: mpsc::UnboundedSender<Entry>,
}

impl RunSecrets {
    fn resource(&self, reference: &SecretRef) -> Resource {
        let account = self.executor.account.as_str();
        let scope = match &reference.scope {
            SecretScope::Account => Scope::account(account),
            SecretScope::Org { org } => Scope::org(account, org.as_str()),
            SecretScope::Project { org, project } => {
                Scope::project(account, org.as_str(), project.as_str())
            }
        };
        Resource::new(
            ResourceType::Secret,
            scope,
            Some(reference.id.as_str().to_owned()),
        )
    }
}

impl SecretSource for RunSecrets {
    fn get(&self, id: &str) -> Result<ResolvedSecret, String> {
        let reference = SecretRef::parse(id, Some(&self.org), Some(&self.project))
            .map_err(|e| e.to_string())?;
        let resource = self.resource(&reference);
        let access = self
            .access
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let principal = self.executor.now(&access);
        if !access
            .authorizer
            .check(&principal, Permission::SecretAccess, &resource)
            .is_allowed()
        {
            let _ = self.denials.send(
                Entry::new(
                    &self.executor.account,
                    self.executor.actor(),
                    AuditAction::SecretAccessDenied,
                    "SECRET",
                )
                .id(reference.id.as_str())
                .scope(&resource.scope)
                .outcome(Outcome::Denied)
                .details(serde_json::json!({
                    "permission": Permission::SecretAccess.as_str(),
                    "run_id": self.run_id,
                })),
            );
            return Err(format!(
                "the run's executor ({} {}) does not have `{}` on secret `{}` in {}; ask an administrator for a role that grants it",
                match principal.kind {
                    PrincipalKind::User => "user",
                    PrincipalKind::ServiceAccount => "service account",
                },
                principal.id,
                Permission::SecretAccess,
                reference.id,
                resource.scope
            ));
        }
        let secret = self.sealed.get(&reference).map_err(|e| e.to_string())?;
        let content = match secret.kind {
            SecretKind::Text => SecretContent::Text(
                secret
                    .value
                    .expose_str()
                    .map_err(|_| {
                        format!("secret {reference} is not UTF-8 text; store it as a file secret")
                    })?
                    .to_string(),
            ),
            SecretKind::File => SecretContent::File(secret.value.expose().to_vec()),
        };
        Ok(ResolvedSecret {
            reference: format!("{}:{}", resource.scope, reference.id),
            content,
        })
    }
}
