//! Role-based access control, modelled on Harness NextGen's (DESIGN.md §4,
//! invariant 3).
//!
//! Why: every HTTP handler asks one question — may this principal do this to
//! that resource? — and must get the same answer the same way. [`check`] is
//! that one decision function: additive (any matching binding allows), deny by
//! default, and a token's narrowing can only remove permissions.
//!
//! The model: scopes nest account → organization → project ([`Scope`]); the
//! permission registry ([`PERMISSIONS`]) names every permission as Harness
//! does; roles ([`BuiltinRole`], [`Role`]) bundle permissions; resource groups
//! ([`ResourceGroup`]) select resources at a scope; role bindings
//! ([`RoleBinding`]) give a principal or user group a role over a resource
//! group. [`Authorizer`] adds a bounded decision cache invalidated by a
//! generation number.
//!
//! What it does not do: persistence (the store keeps policies), identity
//! (callers build a [`Principal`] after authentication), and Harness's
//! attribute-based (ABAC) filters, deny rules or "split create/edit"
//! feature-flagged permissions. Triggers have no permissions of their own in
//! Harness: they are part of the pipeline resource (creating or editing a
//! trigger needs `core_pipeline_edit`), and so they are here.

mod model;
mod permissions;

#[cfg(test)]
mod tests;

pub use model::{
    Authorizer, BUILTIN_RESOURCE_GROUPS, BuiltinRole, Decision, DenyReason, GroupRef, Policy,
    PolicyError, Principal, PrincipalKind, PrincipalRef, Resource, ResourceGroup, ResourceSelector,
    Role, RoleBinding, Scope, ScopeLevel, check,
};
pub use permissions::{PERMISSIONS, Permission, PermissionInfo, ResourceType, UnknownPermission};
