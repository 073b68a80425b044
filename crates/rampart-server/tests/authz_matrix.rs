//! The authorization matrix: every operation of the OpenAPI document, for
//! every built-in role and for the principals around them (no credential, a
//! user without bindings, a narrowed token, a session that has not passed
//! its second factor, another account's administrator), against a table of
//! expected outcomes written out here, on SQLite and PostgreSQL.
//!
//! The table is the specification: it is written from what each role is
//! for (Harness's built-in roles), not computed from the server's
//! permission registry or decision function. An operation in the document
//! without a row, or a row for an operation that no longer exists, fails
//! `every_operation_has_a_row` (and the matrix itself), so no endpoint
//! ships without deciding who may call it.
//!
//! Every request is real: path parameters name objects that exist, bodies
//! are valid, and each principal deletes a victim of its own, so an allowed
//! call answers 2xx and a denied one 403 (never a 404 or 409 that would
//! hide which it was). Every mismatch is reported at once.

#![allow(clippy::unwrap_used)] // A test: a failed unwrap is a failed setup.

mod common;

use std::collections::{BTreeMap, BTreeSet};

/// The principals, one column each, in this order:
///
/// - `an` no credential at all
/// - `AA` Account Admin (account, `_all_resources_including_child_scopes`), API token
/// - `AV` Account Viewer (same binding shape), API token
/// - `OA` Organization Admin of `o1` (`_all_resources_including_child_scopes` at `o1`), API token
/// - `OL` Organization Admin of `o1` over `_all_organization_level_resources`
///   only: the organization and what lives at it, not inside its projects
///   (the project objects themselves are the organization's), API token
/// - `OV` Organization Viewer of `o1` (`_all_resources_including_child_scopes`), API token
/// - `PA` Project Admin of `o1/p1` (`_all_project_level_resources`), API token
/// - `PV` Project Viewer of `o1/p1` (same), API token
/// - `PE` Pipeline Executor of `o1/p1` (same), API token
/// - `ST` a token of a service account of `o1/p1` bound as its Project
///   Admin: a project admin that is no user (no personal API keys, and no
///   binding outside `o1/p1`, so no victim project of its own to delete)
/// - `NB` a user with no role binding at all, API token
/// - `NT` the Account Admin's token narrowed to `core_audit_view`,
///   `core_user_view` and `core_organization_view`
/// - `SS` a login session (cookie and CSRF token) of another user with no
///   role binding: what a session alone may do (the caller's own things)
/// - `MF` a session of an Account Admin with TOTP that has passed the
///   password but not the second factor
/// - `XA` the Account Admin of another account (`acme`), API token: it
///   acts in its own account, where `o1`, `g1`, `sa1`, ... do not exist
pub const PRINCIPALS: usize = 15;

/// Where an operation is pointed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum At {
    /// No scope or target to choose.
    Nil,
    /// The account (`?` nothing): for `/api/accounts/{account}`, the
    /// principals' own account `default`.
    Acct,
    /// `?org=o1`; for `/api/orgs/{org}`, `o1` (for deletes: a fresh
    /// organization where the principal holds the same binding as at `o1`).
    O1,
    /// `?org=o1&project=p1`; for `/api/orgs/{org}/projects/{project}`,
    /// `o1/p1` (for deletes: a fresh project of `o1` where the principal
    /// holds the same binding as at `p1`).
    P1,
    /// Outside every org and project role's reach: `?org=o2&project=p2`,
    /// the organization `o2`, the project `o2/p2`, the account `acme` (for
    /// deletes: fresh ones there).
    Other,
}

use At::{Acct, Nil, O1, Other, P1};

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Nil => "-",
            Acct => "account",
            O1 => "o1",
            P1 => "o1/p1",
            Other => "other (o2/p2, o2, acme)",
        })
    }
}

/// What each outcome symbol means.
///
/// - `Y` allowed: 2xx
/// - `N` denied: 403 (no permission, a login step missing, or a session needed)
/// - `U` unauthenticated: 401
/// - `H` 404: the path names something that does not exist in the caller's
///   own account (only `XA`, whose account has no `o1`, `g1`, ...)
/// - `C` 409: allowed, but the state refuses (deleting the installation's
///   first account; a second factor when none is pending)
/// - `B` 400: allowed to ask, but the request cannot apply to this caller
///   (logging out a token, which has no session; binding a user of another
///   account)
pub const LEGEND: &str = "YNUHCB";

/// The expected outcome of every operation for every principal.
///
/// Scoped operations (`?org=&project=`) have one row per scope. Reading an
/// object needs its `_view` permission and changing it its `_edit`,
/// `_manage` or `_delete` one, at the object's scope: account roles reach
/// everything, organization roles `o1` and its projects, project roles
/// `o1/p1` only, and nobody's role reaches `o2/p2` but the account's.
#[rustfmt::skip]
pub const MATRIX: &[(&str, At, &str)] = &[
    //                                                               an AA AV OA OL OV PA PV PE ST NB NT SS MF XA
    // Public.
    ("GET /healthz",                                         Nil,   "Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y"),
    ("GET /readyz",                                          Nil,   "Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y"),
    ("GET /api/openapi.json",                                Nil,   "Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y"),
    ("POST /api/auth/login",                                 Nil,   "Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y"),

    // The caller's own login, user and keys. A session may change its own
    // credentials; a token may not (a stolen token cannot entrench
    // itself), and a session still owing its second factor reaches only
    // `/api/me`, the second factor and logout.
    ("POST /api/auth/mfa",                                   Nil,   "U  N  N  N  N  N  N  N  N  N  N  N  C  Y  N"),
    ("POST /api/auth/logout",                                Nil,   "U  B  B  B  B  B  B  B  B  B  B  B  Y  Y  B"),
    ("GET /api/me",                                          Nil,   "U  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y"),
    ("PUT /api/me/password",                                 Nil,   "U  N  N  N  N  N  N  N  N  N  N  N  Y  N  N"),
    ("POST /api/me/totp",                                    Nil,   "U  N  N  N  N  N  N  N  N  N  N  N  Y  N  N"),
    ("POST /api/me/totp/confirm",                            Nil,   "U  N  N  N  N  N  N  N  N  N  N  N  Y  N  N"),
    ("POST /api/me/totp/recovery-codes",                     Nil,   "U  N  N  N  N  N  N  N  N  N  N  N  Y  N  N"),
    ("POST /api/me/totp/disable",                            Nil,   "U  N  N  N  N  N  N  N  N  N  N  N  Y  N  N"),
    ("GET /api/me/api-keys",                                 Nil,   "U  Y  Y  Y  Y  Y  Y  Y  Y  N  Y  Y  Y  N  Y"),
    ("POST /api/me/api-keys",                                Nil,   "U  N  N  N  N  N  N  N  N  N  N  N  Y  N  N"),
    ("GET /api/me/api-keys/{key}",                           Nil,   "U  Y  Y  Y  Y  Y  Y  Y  Y  N  Y  Y  Y  N  Y"),
    ("DELETE /api/me/api-keys/{key}",                        Nil,   "U  Y  Y  Y  Y  Y  Y  Y  Y  N  Y  N  Y  N  Y"),
    ("GET /api/me/api-keys/{key}/tokens",                    Nil,   "U  Y  Y  Y  Y  Y  Y  Y  Y  N  Y  Y  Y  N  Y"),
    ("POST /api/me/api-keys/{key}/tokens",                   Nil,   "U  N  N  N  N  N  N  N  N  N  N  N  Y  N  N"),
    ("DELETE /api/me/api-keys/{key}/tokens/{token}",         Nil,   "U  Y  Y  Y  Y  Y  Y  Y  Y  N  Y  N  Y  N  Y"),
    ("POST /api/me/api-keys/{key}/tokens/{token}/rotate",    Nil,   "U  N  N  N  N  N  N  N  N  N  N  N  Y  N  N"),
    ("GET /api/permissions",                                 Nil,   "U  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  N  Y"),

    // Accounts: one's own with `core_account_view`/`_edit`; others only
    // for administrators of the installation's first account.
    ("GET /api/accounts",                                    Nil,   "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  Y"),
    ("POST /api/accounts",                                   Nil,   "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  N"),
    ("GET /api/accounts/{account}",                          Acct,  "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  N"),
    ("GET /api/accounts/{account}",                          Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  Y"),
    ("PATCH /api/accounts/{account}",                        Acct,  "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  N"),
    ("PATCH /api/accounts/{account}",                        Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  Y"),
    ("DELETE /api/accounts/{account}",                       Acct,  "U  C  N  N  N  N  N  N  N  N  N  N  N  N  N"),
    ("DELETE /api/accounts/{account}",                       Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  N"),

    // Organizations and projects. Lists filter rather than refuse (see
    // VISIBLE for what each principal sees in them).
    ("GET /api/orgs",                                        Nil,   "U  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  N  Y"),
    ("POST /api/orgs",                                       Nil,   "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  Y"),
    ("GET /api/orgs/{org}",                                  O1,    "U  Y  Y  Y  Y  Y  N  N  N  N  N  Y  N  N  H"),
    ("GET /api/orgs/{org}",                                  Other, "U  Y  Y  N  N  N  N  N  N  N  N  Y  N  N  H"),
    ("PATCH /api/orgs/{org}",                                O1,    "U  Y  N  Y  Y  N  N  N  N  N  N  N  N  N  H"),
    ("PATCH /api/orgs/{org}",                                Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("DELETE /api/orgs/{org}",                               O1,    "U  Y  N  Y  Y  N  N  N  N  N  N  N  N  N  H"),
    ("DELETE /api/orgs/{org}",                               Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("GET /api/orgs/{org}/projects",                         O1,    "U  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  N  Y"),
    ("GET /api/orgs/{org}/projects",                         Other, "U  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  N  Y"),
    ("POST /api/orgs/{org}/projects",                        O1,    "U  Y  N  Y  Y  N  N  N  N  N  N  N  N  N  H"),
    ("POST /api/orgs/{org}/projects",                        Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("GET /api/orgs/{org}/projects/{project}",               P1,    "U  Y  Y  Y  Y  Y  Y  Y  Y  Y  N  N  N  N  H"),
    ("GET /api/orgs/{org}/projects/{project}",               Other, "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("PATCH /api/orgs/{org}/projects/{project}",             P1,    "U  Y  N  Y  Y  N  Y  N  N  Y  N  N  N  N  H"),
    ("PATCH /api/orgs/{org}/projects/{project}",             Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("DELETE /api/orgs/{org}/projects/{project}",            P1,    "U  Y  N  Y  Y  N  Y  N  N  N  N  N  N  N  H"),
    ("DELETE /api/orgs/{org}/projects/{project}",            Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),

    // Users live in the account: organization and project roles do not
    // reach them.
    ("GET /api/users",                                       Nil,   "U  Y  Y  N  N  N  N  N  N  N  N  Y  N  N  Y"),
    ("POST /api/users",                                      Nil,   "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  Y"),
    ("GET /api/users/{user}",                                Nil,   "U  Y  Y  N  N  N  N  N  N  N  N  Y  N  N  H"),
    ("PATCH /api/users/{user}",                              Nil,   "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("DELETE /api/users/{user}",                             Nil,   "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("POST /api/users/{user}/unlock",                        Nil,   "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("POST /api/users/{user}/reset-password",                Nil,   "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("POST /api/users/{user}/reset-2fa",                     Nil,   "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),

    // User groups at a scope (`core_usergroup_view` / `_manage`).
    ("GET /api/user-groups",                                 Acct,  "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  Y"),
    ("GET /api/user-groups",                                 O1,    "U  Y  Y  Y  Y  Y  N  N  N  N  N  N  N  N  Y"),
    ("GET /api/user-groups",                                 P1,    "U  Y  Y  Y  N  Y  Y  Y  N  Y  N  N  N  N  Y"),
    ("GET /api/user-groups",                                 Other, "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  Y"),
    ("POST /api/user-groups",                                Acct,  "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  Y"),
    ("POST /api/user-groups",                                O1,    "U  Y  N  Y  Y  N  N  N  N  N  N  N  N  N  H"),
    ("POST /api/user-groups",                                P1,    "U  Y  N  Y  N  N  Y  N  N  Y  N  N  N  N  H"),
    ("POST /api/user-groups",                                Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("GET /api/user-groups/{group}",                         Acct,  "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("GET /api/user-groups/{group}",                         O1,    "U  Y  Y  Y  Y  Y  N  N  N  N  N  N  N  N  H"),
    ("GET /api/user-groups/{group}",                         P1,    "U  Y  Y  Y  N  Y  Y  Y  N  Y  N  N  N  N  H"),
    ("GET /api/user-groups/{group}",                         Other, "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("PATCH /api/user-groups/{group}",                       Acct,  "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("PATCH /api/user-groups/{group}",                       O1,    "U  Y  N  Y  Y  N  N  N  N  N  N  N  N  N  H"),
    ("PATCH /api/user-groups/{group}",                       P1,    "U  Y  N  Y  N  N  Y  N  N  Y  N  N  N  N  H"),
    ("PATCH /api/user-groups/{group}",                       Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("DELETE /api/user-groups/{group}",                      Acct,  "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("DELETE /api/user-groups/{group}",                      O1,    "U  Y  N  Y  Y  N  N  N  N  N  N  N  N  N  H"),
    ("DELETE /api/user-groups/{group}",                      P1,    "U  Y  N  Y  N  N  Y  N  N  Y  N  N  N  N  H"),
    ("DELETE /api/user-groups/{group}",                      Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("GET /api/user-groups/{group}/members",                 Acct,  "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("GET /api/user-groups/{group}/members",                 O1,    "U  Y  Y  Y  Y  Y  N  N  N  N  N  N  N  N  H"),
    ("GET /api/user-groups/{group}/members",                 P1,    "U  Y  Y  Y  N  Y  Y  Y  N  Y  N  N  N  N  H"),
    ("GET /api/user-groups/{group}/members",                 Other, "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("POST /api/user-groups/{group}/members",                Acct,  "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("POST /api/user-groups/{group}/members",                O1,    "U  Y  N  Y  Y  N  N  N  N  N  N  N  N  N  H"),
    ("POST /api/user-groups/{group}/members",                P1,    "U  Y  N  Y  N  N  Y  N  N  Y  N  N  N  N  H"),
    ("POST /api/user-groups/{group}/members",                Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("DELETE /api/user-groups/{group}/members/{user}",       Acct,  "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("DELETE /api/user-groups/{group}/members/{user}",       O1,    "U  Y  N  Y  Y  N  N  N  N  N  N  N  N  N  H"),
    ("DELETE /api/user-groups/{group}/members/{user}",       P1,    "U  Y  N  Y  N  N  Y  N  N  Y  N  N  N  N  H"),
    ("DELETE /api/user-groups/{group}/members/{user}",       Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),

    // Service accounts at a scope (`core_serviceaccount_view` / `_edit` / `_delete`).
    ("GET /api/service-accounts",                            Acct,  "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  Y"),
    ("GET /api/service-accounts",                            O1,    "U  Y  Y  Y  Y  Y  N  N  N  N  N  N  N  N  Y"),
    ("GET /api/service-accounts",                            P1,    "U  Y  Y  Y  N  Y  Y  Y  N  Y  N  N  N  N  Y"),
    ("GET /api/service-accounts",                            Other, "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  Y"),
    ("POST /api/service-accounts",                           Acct,  "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  Y"),
    ("POST /api/service-accounts",                           O1,    "U  Y  N  Y  Y  N  N  N  N  N  N  N  N  N  H"),
    ("POST /api/service-accounts",                           P1,    "U  Y  N  Y  N  N  Y  N  N  Y  N  N  N  N  H"),
    ("POST /api/service-accounts",                           Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("GET /api/service-accounts/{sa}",                       Acct,  "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("GET /api/service-accounts/{sa}",                       O1,    "U  Y  Y  Y  Y  Y  N  N  N  N  N  N  N  N  H"),
    ("GET /api/service-accounts/{sa}",                       P1,    "U  Y  Y  Y  N  Y  Y  Y  N  Y  N  N  N  N  H"),
    ("GET /api/service-accounts/{sa}",                       Other, "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("PATCH /api/service-accounts/{sa}",                     Acct,  "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("PATCH /api/service-accounts/{sa}",                     O1,    "U  Y  N  Y  Y  N  N  N  N  N  N  N  N  N  H"),
    ("PATCH /api/service-accounts/{sa}",                     P1,    "U  Y  N  Y  N  N  Y  N  N  Y  N  N  N  N  H"),
    ("PATCH /api/service-accounts/{sa}",                     Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("DELETE /api/service-accounts/{sa}",                    Acct,  "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("DELETE /api/service-accounts/{sa}",                    O1,    "U  Y  N  Y  Y  N  N  N  N  N  N  N  N  N  H"),
    ("DELETE /api/service-accounts/{sa}",                    P1,    "U  Y  N  Y  N  N  Y  N  N  Y  N  N  N  N  H"),
    ("DELETE /api/service-accounts/{sa}",                    Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),

    // Service account API keys and tokens (`core_serviceaccount_view` to
    // read, `core_serviceaccount_manageapikey` to change or mint).
    ("GET /api/service-accounts/{sa}/api-keys",                               Acct,  "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("GET /api/service-accounts/{sa}/api-keys",                               O1,    "U  Y  Y  Y  Y  Y  N  N  N  N  N  N  N  N  H"),
    ("GET /api/service-accounts/{sa}/api-keys",                               P1,    "U  Y  Y  Y  N  Y  Y  Y  N  Y  N  N  N  N  H"),
    ("GET /api/service-accounts/{sa}/api-keys",                               Other, "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("POST /api/service-accounts/{sa}/api-keys",                              Acct,  "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("POST /api/service-accounts/{sa}/api-keys",                              O1,    "U  Y  N  Y  Y  N  N  N  N  N  N  N  N  N  H"),
    ("POST /api/service-accounts/{sa}/api-keys",                              P1,    "U  Y  N  Y  N  N  Y  N  N  Y  N  N  N  N  H"),
    ("POST /api/service-accounts/{sa}/api-keys",                              Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("GET /api/service-accounts/{sa}/api-keys/{key}",                         Acct,  "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("GET /api/service-accounts/{sa}/api-keys/{key}",                         O1,    "U  Y  Y  Y  Y  Y  N  N  N  N  N  N  N  N  H"),
    ("GET /api/service-accounts/{sa}/api-keys/{key}",                         P1,    "U  Y  Y  Y  N  Y  Y  Y  N  Y  N  N  N  N  H"),
    ("GET /api/service-accounts/{sa}/api-keys/{key}",                         Other, "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("DELETE /api/service-accounts/{sa}/api-keys/{key}",                      Acct,  "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("DELETE /api/service-accounts/{sa}/api-keys/{key}",                      O1,    "U  Y  N  Y  Y  N  N  N  N  N  N  N  N  N  H"),
    ("DELETE /api/service-accounts/{sa}/api-keys/{key}",                      P1,    "U  Y  N  Y  N  N  Y  N  N  Y  N  N  N  N  H"),
    ("DELETE /api/service-accounts/{sa}/api-keys/{key}",                      Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("GET /api/service-accounts/{sa}/api-keys/{key}/tokens",                  Acct,  "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("GET /api/service-accounts/{sa}/api-keys/{key}/tokens",                  O1,    "U  Y  Y  Y  Y  Y  N  N  N  N  N  N  N  N  H"),
    ("GET /api/service-accounts/{sa}/api-keys/{key}/tokens",                  P1,    "U  Y  Y  Y  N  Y  Y  Y  N  Y  N  N  N  N  H"),
    ("GET /api/service-accounts/{sa}/api-keys/{key}/tokens",                  Other, "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("POST /api/service-accounts/{sa}/api-keys/{key}/tokens",                 Acct,  "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("POST /api/service-accounts/{sa}/api-keys/{key}/tokens",                 O1,    "U  Y  N  Y  Y  N  N  N  N  N  N  N  N  N  H"),
    ("POST /api/service-accounts/{sa}/api-keys/{key}/tokens",                 P1,    "U  Y  N  Y  N  N  Y  N  N  Y  N  N  N  N  H"),
    ("POST /api/service-accounts/{sa}/api-keys/{key}/tokens",                 Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("DELETE /api/service-accounts/{sa}/api-keys/{key}/tokens/{token}",       Acct,  "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("DELETE /api/service-accounts/{sa}/api-keys/{key}/tokens/{token}",       O1,    "U  Y  N  Y  Y  N  N  N  N  N  N  N  N  N  H"),
    ("DELETE /api/service-accounts/{sa}/api-keys/{key}/tokens/{token}",       P1,    "U  Y  N  Y  N  N  Y  N  N  Y  N  N  N  N  H"),
    ("DELETE /api/service-accounts/{sa}/api-keys/{key}/tokens/{token}",       Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("POST /api/service-accounts/{sa}/api-keys/{key}/tokens/{token}/rotate",  Acct,  "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("POST /api/service-accounts/{sa}/api-keys/{key}/tokens/{token}/rotate",  O1,    "U  Y  N  Y  Y  N  N  N  N  N  N  N  N  N  H"),
    ("POST /api/service-accounts/{sa}/api-keys/{key}/tokens/{token}/rotate",  P1,    "U  Y  N  Y  N  N  Y  N  N  Y  N  N  N  N  H"),
    ("POST /api/service-accounts/{sa}/api-keys/{key}/tokens/{token}/rotate",  Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),

    // Roles (`core_role_view` / `_edit` / `_delete`).
    ("GET /api/roles",                                       Acct,  "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  Y"),
    ("GET /api/roles",                                       O1,    "U  Y  Y  Y  Y  Y  N  N  N  N  N  N  N  N  Y"),
    ("GET /api/roles",                                       P1,    "U  Y  Y  Y  N  Y  Y  Y  N  Y  N  N  N  N  Y"),
    ("GET /api/roles",                                       Other, "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  Y"),
    ("POST /api/roles",                                      Acct,  "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  Y"),
    ("POST /api/roles",                                      O1,    "U  Y  N  Y  Y  N  N  N  N  N  N  N  N  N  H"),
    ("POST /api/roles",                                      P1,    "U  Y  N  Y  N  N  Y  N  N  Y  N  N  N  N  H"),
    ("POST /api/roles",                                      Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("GET /api/roles/{role}",                                Acct,  "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("GET /api/roles/{role}",                                O1,    "U  Y  Y  Y  Y  Y  N  N  N  N  N  N  N  N  H"),
    ("GET /api/roles/{role}",                                P1,    "U  Y  Y  Y  N  Y  Y  Y  N  Y  N  N  N  N  H"),
    ("GET /api/roles/{role}",                                Other, "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("PUT /api/roles/{role}",                                Acct,  "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("PUT /api/roles/{role}",                                O1,    "U  Y  N  Y  Y  N  N  N  N  N  N  N  N  N  H"),
    ("PUT /api/roles/{role}",                                P1,    "U  Y  N  Y  N  N  Y  N  N  Y  N  N  N  N  H"),
    ("PUT /api/roles/{role}",                                Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("DELETE /api/roles/{role}",                             Acct,  "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("DELETE /api/roles/{role}",                             O1,    "U  Y  N  Y  Y  N  N  N  N  N  N  N  N  N  H"),
    ("DELETE /api/roles/{role}",                             P1,    "U  Y  N  Y  N  N  Y  N  N  Y  N  N  N  N  H"),
    ("DELETE /api/roles/{role}",                             Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),

    // Resource groups (`core_resourcegroup_view` / `_edit` / `_delete`).
    // The PUT widens `rg1`, which `rb1` (a Project Viewer binding) uses,
    // to child scopes: that needs the Project Viewer's permissions in every
    // project below too, which `OL` lacks.
    ("GET /api/resource-groups",                             Acct,  "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  Y"),
    ("GET /api/resource-groups",                             O1,    "U  Y  Y  Y  Y  Y  N  N  N  N  N  N  N  N  Y"),
    ("GET /api/resource-groups",                             P1,    "U  Y  Y  Y  N  Y  Y  Y  N  Y  N  N  N  N  Y"),
    ("GET /api/resource-groups",                             Other, "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  Y"),
    ("POST /api/resource-groups",                            Acct,  "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  Y"),
    ("POST /api/resource-groups",                            O1,    "U  Y  N  Y  Y  N  N  N  N  N  N  N  N  N  H"),
    ("POST /api/resource-groups",                            P1,    "U  Y  N  Y  N  N  Y  N  N  Y  N  N  N  N  H"),
    ("POST /api/resource-groups",                            Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("GET /api/resource-groups/{group}",                     Acct,  "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("GET /api/resource-groups/{group}",                     O1,    "U  Y  Y  Y  Y  Y  N  N  N  N  N  N  N  N  H"),
    ("GET /api/resource-groups/{group}",                     P1,    "U  Y  Y  Y  N  Y  Y  Y  N  Y  N  N  N  N  H"),
    ("GET /api/resource-groups/{group}",                     Other, "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("PUT /api/resource-groups/{group}",                     Acct,  "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("PUT /api/resource-groups/{group}",                     O1,    "U  Y  N  Y  N  N  N  N  N  N  N  N  N  N  H"),
    ("PUT /api/resource-groups/{group}",                     P1,    "U  Y  N  Y  N  N  Y  N  N  Y  N  N  N  N  H"),
    ("PUT /api/resource-groups/{group}",                     Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("DELETE /api/resource-groups/{group}",                  Acct,  "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("DELETE /api/resource-groups/{group}",                  O1,    "U  Y  N  Y  Y  N  N  N  N  N  N  N  N  N  H"),
    ("DELETE /api/resource-groups/{group}",                  P1,    "U  Y  N  Y  N  N  Y  N  N  Y  N  N  N  N  H"),
    ("DELETE /api/resource-groups/{group}",                  Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),

    // Role bindings of users: `core_user_view` to see them and
    // `core_user_manage` to change them, at the binding's scope (so the
    // narrowed token, which keeps `core_user_view`, reads them). Creating
    // one also needs every permission of its role wherever its resource
    // group reaches: the POST binds a Project Viewer over
    // `_all_resources_including_child_scopes`, so at `o1` it needs them in
    // `o1`'s projects too, which `OL` lacks.
    ("GET /api/role-bindings",                               Acct,  "U  Y  Y  N  N  N  N  N  N  N  N  Y  N  N  Y"),
    ("GET /api/role-bindings",                               O1,    "U  Y  Y  Y  Y  Y  N  N  N  N  N  Y  N  N  Y"),
    ("GET /api/role-bindings",                               P1,    "U  Y  Y  Y  N  Y  Y  Y  N  Y  N  Y  N  N  Y"),
    ("GET /api/role-bindings",                               Other, "U  Y  Y  N  N  N  N  N  N  N  N  Y  N  N  Y"),
    ("POST /api/role-bindings",                              Acct,  "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  B"),
    ("POST /api/role-bindings",                              O1,    "U  Y  N  Y  N  N  N  N  N  N  N  N  N  N  H"),
    ("POST /api/role-bindings",                              P1,    "U  Y  N  Y  N  N  Y  N  N  Y  N  N  N  N  H"),
    ("POST /api/role-bindings",                              Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("GET /api/role-bindings/{binding}",                     Acct,  "U  Y  Y  N  N  N  N  N  N  N  N  Y  N  N  H"),
    ("GET /api/role-bindings/{binding}",                     O1,    "U  Y  Y  Y  Y  Y  N  N  N  N  N  Y  N  N  H"),
    ("GET /api/role-bindings/{binding}",                     P1,    "U  Y  Y  Y  N  Y  Y  Y  N  Y  N  Y  N  N  H"),
    ("GET /api/role-bindings/{binding}",                     Other, "U  Y  Y  N  N  N  N  N  N  N  N  Y  N  N  H"),
    ("DELETE /api/role-bindings/{binding}",                  Acct,  "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("DELETE /api/role-bindings/{binding}",                  O1,    "U  Y  N  Y  Y  N  N  N  N  N  N  N  N  N  H"),
    ("DELETE /api/role-bindings/{binding}",                  P1,    "U  Y  N  Y  N  N  Y  N  N  Y  N  N  N  N  H"),
    ("DELETE /api/role-bindings/{binding}",                  Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),

    // Pipelines live in projects (`?org=&project=` both required), so their
    // rows are for `o1/p1` and `o2/p2` only. `core_pipeline_view` to read,
    // `_edit` to save (create or a new version), `_delete`, `_execute` to
    // start a run; the Pipeline Executor may view and run, not edit.
    ("GET /api/pipelines",                                   P1,    "U  Y  Y  Y  N  Y  Y  Y  Y  Y  N  N  N  N  Y"),
    ("GET /api/pipelines",                                   Other, "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  Y"),
    ("POST /api/pipelines",                                  P1,    "U  Y  N  Y  N  N  Y  N  N  Y  N  N  N  N  H"),
    ("POST /api/pipelines",                                  Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("GET /api/pipelines/{pipeline}",                        P1,    "U  Y  Y  Y  N  Y  Y  Y  Y  Y  N  N  N  N  H"),
    ("GET /api/pipelines/{pipeline}",                        Other, "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("PUT /api/pipelines/{pipeline}",                        P1,    "U  Y  N  Y  N  N  Y  N  N  Y  N  N  N  N  H"),
    ("PUT /api/pipelines/{pipeline}",                        Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("DELETE /api/pipelines/{pipeline}",                     P1,    "U  Y  N  Y  N  N  Y  N  N  Y  N  N  N  N  H"),
    ("DELETE /api/pipelines/{pipeline}",                     Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("GET /api/pipelines/{pipeline}/versions",               P1,    "U  Y  Y  Y  N  Y  Y  Y  Y  Y  N  N  N  N  H"),
    ("GET /api/pipelines/{pipeline}/versions",               Other, "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("GET /api/pipelines/{pipeline}/versions/{version}",     P1,    "U  Y  Y  Y  N  Y  Y  Y  Y  Y  N  N  N  N  H"),
    ("GET /api/pipelines/{pipeline}/versions/{version}",     Other, "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("POST /api/pipelines/{pipeline}/runs",                  P1,    "U  Y  N  Y  N  N  Y  N  Y  Y  N  N  N  N  H"),
    ("POST /api/pipelines/{pipeline}/runs",                  Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),

    // Runs, by where their pipeline lives (`o1/p1`: a run there; other: a
    // run in `o2/p2`): `core_pipeline_view` to read one and its logs,
    // `_abort` to abort, `_execute` to re-run (as the caller). The list
    // filters; naming a project nobody let the caller see is refused.
    ("GET /api/runs",                                        Acct,  "U  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  N  Y"),
    ("GET /api/runs",                                        O1,    "U  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  N  Y"),
    ("GET /api/runs",                                        P1,    "U  Y  Y  Y  N  Y  Y  Y  Y  Y  N  N  N  N  Y"),
    ("GET /api/runs",                                        Other, "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  Y"),
    ("GET /api/runs/{run}",                                  P1,    "U  Y  Y  Y  N  Y  Y  Y  Y  Y  N  N  N  N  H"),
    ("GET /api/runs/{run}",                                  Other, "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("GET /api/runs/{run}/logs",                             P1,    "U  Y  Y  Y  N  Y  Y  Y  Y  Y  N  N  N  N  H"),
    ("GET /api/runs/{run}/logs",                             Other, "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("GET /api/runs/{run}/logs/stream",                      P1,    "U  Y  Y  Y  N  Y  Y  Y  Y  Y  N  N  N  N  H"),
    ("GET /api/runs/{run}/logs/stream",                      Other, "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("POST /api/runs/{run}/abort",                           P1,    "U  Y  N  Y  N  N  Y  N  Y  Y  N  N  N  N  H"),
    ("POST /api/runs/{run}/abort",                           Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("POST /api/runs/{run}/rerun",                           P1,    "U  Y  N  Y  N  N  Y  N  Y  Y  N  N  N  N  H"),
    ("POST /api/runs/{run}/rerun",                           Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),

    // Secrets at every scope (`core_secret_view` / `_edit` / `_delete`;
    // no call returns a value). The Pipeline Executor sees their metadata.
    ("GET /api/secrets",                                     Acct,  "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  Y"),
    ("GET /api/secrets",                                     O1,    "U  Y  Y  Y  Y  Y  N  N  N  N  N  N  N  N  Y"),
    ("GET /api/secrets",                                     P1,    "U  Y  Y  Y  N  Y  Y  Y  Y  Y  N  N  N  N  Y"),
    ("GET /api/secrets",                                     Other, "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  Y"),
    ("GET /api/secrets/{secret}",                            Acct,  "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("GET /api/secrets/{secret}",                            O1,    "U  Y  Y  Y  Y  Y  N  N  N  N  N  N  N  N  H"),
    ("GET /api/secrets/{secret}",                            P1,    "U  Y  Y  Y  N  Y  Y  Y  Y  Y  N  N  N  N  H"),
    ("GET /api/secrets/{secret}",                            Other, "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("PUT /api/secrets/{secret}",                            Acct,  "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  Y"),
    ("PUT /api/secrets/{secret}",                            O1,    "U  Y  N  Y  Y  N  N  N  N  N  N  N  N  N  H"),
    ("PUT /api/secrets/{secret}",                            P1,    "U  Y  N  Y  N  N  Y  N  N  Y  N  N  N  N  H"),
    ("PUT /api/secrets/{secret}",                            Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("DELETE /api/secrets/{secret}",                         Acct,  "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),
    ("DELETE /api/secrets/{secret}",                         O1,    "U  Y  N  Y  Y  N  N  N  N  N  N  N  N  N  H"),
    ("DELETE /api/secrets/{secret}",                         P1,    "U  Y  N  Y  N  N  Y  N  N  Y  N  N  N  N  H"),
    ("DELETE /api/secrets/{secret}",                         Other, "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  H"),

    // Account settings and the audit trail: account-level only, so no
    // organization or project role reaches them.
    ("GET /api/auth-settings",                               Nil,   "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  Y"),
    ("PUT /api/auth-settings",                               Nil,   "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  Y"),
    ("GET /api/ip-allowlist",                                Nil,   "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  Y"),
    ("PUT /api/ip-allowlist",                                Nil,   "U  Y  N  N  N  N  N  N  N  N  N  N  N  N  Y"),
    ("POST /api/ip-allowlist/test",                          Nil,   "U  Y  Y  N  N  N  N  N  N  N  N  N  N  N  Y"),
    ("GET /api/audit",                                       Nil,   "U  Y  Y  N  N  N  N  N  N  N  N  Y  N  N  Y"),
    ("GET /api/audit/verify",                                Nil,   "U  Y  Y  N  N  N  N  N  N  N  N  Y  N  N  Y"),
];

/// Lists that filter rather than refuse: which of the named fixtures each
/// principal finds in them, by `identifier` (runs: by `pipeline`),
/// space-separated; `-` not checked, because the list is refused or never
/// reached. Same columns as [`MATRIX`].
#[rustfmt::skip]
pub const VISIBLE: &[(&str, &[&str], [&str; PRINCIPALS])] = &[
    //                                                        an   AA       AV       OA    OL    OV    PA    PV    PE    ST    NB   NT       SS   MF   XA
    ("/api/orgs",                            &["o1", "o2"], ["-", "o1 o2", "o1 o2", "o1", "o1", "o1", "",   "",   "",   "",   "",  "o1 o2", "",  "-", ""]),
    ("/api/orgs/o1/projects",                &["p1"],       ["-", "p1",    "p1",    "p1", "p1", "p1", "p1", "p1", "p1", "p1", "",  "",      "",  "-", ""]),
    ("/api/orgs/o2/projects",                &["p2"],       ["-", "p2",    "p2",    "",   "",   "",   "",   "",   "",   "",   "",  "",      "",  "-", ""]),
    ("/api/role-bindings?org=o1&project=p1", &["rb1"],      ["-", "rb1",   "rb1",   "rb1","-",  "rb1","rb1","rb1","-",  "rb1","-", "rb1",   "-", "-", ""]),
    ("/api/user-groups?org=o1&project=p1",   &["g1"],       ["-", "g1",    "g1",    "g1", "-",  "g1", "g1", "g1", "-",  "g1", "-", "-",     "-", "-", ""]),
    ("/api/pipelines?org=o1&project=p1",     &["pl1"],      ["-", "pl1",   "pl1",   "pl1","-",  "pl1","pl1","pl1","pl1","pl1","-", "-",     "-", "-", ""]),
    ("/api/secrets?org=o1&project=p1",       &["s1"],       ["-", "s1",    "s1",    "s1", "-",  "s1", "s1", "s1", "s1", "s1", "-", "-",     "-", "-", ""]),
    // Runs, by their pipeline (`pl1` in o1/p1, `pl2` in o2/p2).
    ("/api/runs",                            &["pl1", "pl2"], ["-", "pl1 pl2", "pl1 pl2", "pl1", "", "pl1", "pl1", "pl1", "pl1", "pl1", "", "", "", "-", ""]),
    ("/api/runs?org=o1",                     &["pl1", "pl2"], ["-", "pl1",   "pl1",   "pl1", "",  "pl1","pl1","pl1","pl1","pl1", "",  "",      "",  "-", ""]),
];

/// Which scopes an operation is pointed at, by its query parameters.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scoping {
    /// No `?org=`: rows as the operation's targets need.
    None,
    /// `?org=&project=`, both optional: a row per scope.
    Any,
    /// `?org=&project=`, both required: rows for `o1/p1` and other.
    Project,
}

/// Every operation of the OpenAPI document (`METHOD PATH`), and which
/// scopes it takes.
fn documented_operations() -> BTreeMap<String, Scoping> {
    let doc = serde_json::to_value(rampart_server::openapi()).unwrap();
    let mut operations = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in [
            "get", "put", "post", "delete", "patch", "head", "options", "trace",
        ] {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let query = |name: &str| {
                [&item["parameters"], &operation["parameters"]]
                    .into_iter()
                    .filter_map(|p| p.as_array())
                    .flatten()
                    .find(|p| p["name"] == name && p["in"] == "query")
                    .cloned()
            };
            let scoping = match (query("org"), query("project")) {
                (None, _) => Scoping::None,
                (Some(_), Some(project)) if project["required"] == true => Scoping::Project,
                (Some(_), _) => Scoping::Any,
            };
            operations.insert(format!("{} {path}", method.to_uppercase()), scoping);
        }
    }
    operations
}

/// What is wrong with the table: operations without rows, rows without
/// operations, scoped operations missing a scope, malformed rows.
fn coverage_problems() -> Vec<String> {
    let documented = documented_operations();
    let mut problems = Vec::new();
    let mut rows: BTreeMap<&str, BTreeSet<At>> = BTreeMap::new();
    for (operation, at, expected) in MATRIX {
        let symbols: Vec<&str> = expected.split_whitespace().collect();
        if symbols.len() != PRINCIPALS
            || symbols.iter().any(|s| s.len() != 1 || !LEGEND.contains(*s))
        {
            problems.push(format!(
                "{operation} at {at}: `{expected}` is not {PRINCIPALS} symbols of {LEGEND}"
            ));
        }
        if !rows.entry(operation).or_default().insert(*at) {
            problems.push(format!("{operation} at {at}: two rows"));
        }
    }
    let every_scope: BTreeSet<At> = [Acct, O1, P1, Other].into();
    let projects: BTreeSet<At> = [P1, Other].into();
    for (operation, scoping) in &documented {
        match (rows.get(operation.as_str()), scoping) {
            (None, _) => problems.push(format!(
                "{operation} is in the OpenAPI document but has no row in MATRIX: decide who may call it and add its rows"
            )),
            (Some(ats), Scoping::Any) if *ats != every_scope => problems.push(format!(
                "{operation} takes ?org=&project= and needs one row per scope (account, o1, o1/p1, other), not {ats:?}"
            )),
            (Some(ats), Scoping::Project) if *ats != projects => problems.push(format!(
                "{operation} needs ?org=&project= and needs one row per project (o1/p1, other), not {ats:?}"
            )),
            _ => {}
        }
    }
    for operation in rows.keys() {
        if !documented.contains_key(*operation) {
            problems.push(format!(
                "{operation} has rows in MATRIX but is not in the OpenAPI document: remove them"
            ));
        }
    }
    problems
}

#[test]
fn every_operation_has_a_row() {
    let problems = coverage_problems();
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

mod suite {
    use std::collections::BTreeMap;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use rampart_auth::totp::TotpSecret;

    use super::{Acct, At, MATRIX, Nil, O1, Other, P1, PRINCIPALS, VISIBLE};
    use crate::common::*;

    /// The principals, in the table's column order.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
    enum Who {
        Anon,
        AccountAdmin,
        AccountViewer,
        OrgAdmin,
        OrgLevelAdmin,
        OrgViewer,
        ProjectAdmin,
        ProjectViewer,
        Executor,
        ServiceAccount,
        Unbound,
        Narrowed,
        Session,
        MfaPending,
        OtherAccount,
    }

    const WHO: [Who; PRINCIPALS] = [
        Who::Anon,
        Who::AccountAdmin,
        Who::AccountViewer,
        Who::OrgAdmin,
        Who::OrgLevelAdmin,
        Who::OrgViewer,
        Who::ProjectAdmin,
        Who::ProjectViewer,
        Who::Executor,
        Who::ServiceAccount,
        Who::Unbound,
        Who::Narrowed,
        Who::Session,
        Who::MfaPending,
        Who::OtherAccount,
    ];

    /// What the narrowed token keeps of its Account Admin owner's permissions.
    const NARROWED_TO: &[&str] = &[
        "core_audit_view",
        "core_user_view",
        "core_organization_view",
    ];

    #[derive(Clone, Copy)]
    enum Level {
        Account,
        Org,
        Project,
    }

    impl Who {
        /// The table's column heading, and a tag for identifiers.
        fn tag(self) -> &'static str {
            match self {
                Who::Anon => "an",
                Who::AccountAdmin => "aa",
                Who::AccountViewer => "av",
                Who::OrgAdmin => "oa",
                Who::OrgLevelAdmin => "ol",
                Who::OrgViewer => "ov",
                Who::ProjectAdmin => "pa",
                Who::ProjectViewer => "pv",
                Who::Executor => "pe",
                Who::ServiceAccount => "st",
                Who::Unbound => "nb",
                Who::Narrowed => "nt",
                Who::Session => "ss",
                Who::MfaPending => "mf",
                Who::OtherAccount => "xa",
            }
        }

        /// The built-in role the principal's user is bound to, where, and
        /// over which built-in resource group (Harness's defaults).
        fn binding(self) -> Option<(Level, &'static str, &'static str)> {
            const ALL: &str = "_all_resources_including_child_scopes";
            const ORG: &str = "_all_organization_level_resources";
            const PROJECT: &str = "_all_project_level_resources";
            match self {
                Who::AccountAdmin | Who::MfaPending => {
                    Some((Level::Account, "_account_admin", ALL))
                }
                Who::AccountViewer => Some((Level::Account, "_account_viewer", ALL)),
                Who::OrgAdmin => Some((Level::Org, "_organization_admin", ALL)),
                Who::OrgLevelAdmin => Some((Level::Org, "_organization_admin", ORG)),
                Who::OrgViewer => Some((Level::Org, "_organization_viewer", ALL)),
                Who::ProjectAdmin => Some((Level::Project, "_project_admin", PROJECT)),
                Who::ProjectViewer => Some((Level::Project, "_project_viewer", PROJECT)),
                Who::Executor => Some((Level::Project, "_pipeline_executor", PROJECT)),
                _ => None,
            }
        }
    }

    /// The query string of a scope.
    fn query(at: At) -> &'static str {
        match at {
            Nil | Acct => "",
            O1 => "?org=o1",
            P1 => "?org=o1&project=p1",
            Other => "?org=o2&project=p2",
        }
    }

    /// A principal: its credential and its own API key with victims to
    /// delete, revoke and rotate.
    struct Person {
        user_id: String,
        email: String,
        cred: Cred,
        key: String,
        victim_key: String,
        victim_token: String,
        rotate_token: String,
    }

    impl Person {
        fn nobody() -> Person {
            Person {
                user_id: "u_nobody".into(),
                email: "nobody@example.com".into(),
                cred: Cred::None,
                key: "pk".into(),
                victim_key: "vk".into(),
                victim_token: "tok_none".into(),
                rotate_token: "tok_none".into(),
            }
        }
    }

    /// One request of the matrix.
    struct Request {
        method: Method,
        path: String,
        cred: Cred,
        body: Option<Value>,
    }

    /// The fixtures every request points at.
    struct World<'a> {
        server: &'a TestServer,
        people: Vec<Person>,
        login_email: String,
        member_user: String,
        target_user: String,
        victim_users: BTreeMap<Who, String>,
        /// Per scope and principal: a service account token to revoke and one to rotate.
        sa_tokens: BTreeMap<(At, Who), (String, String)>,
        /// Per project (`P1`, `Other`): a finished run of its pipeline.
        runs: BTreeMap<At, String>,
        auth_settings: Value,
        /// The `SS` user's password (the matrix changes it) and TOTP.
        session_password: String,
        session_totp: Option<TotpSecret>,
        session_step: Option<u64>,
        /// Recovery codes of the `MF` user, for completing a login.
        mfa_recovery: Vec<String>,
    }

    /// A setup call that must succeed; its body.
    async fn must(
        server: &TestServer,
        method: Method,
        path: &str,
        cred: &Cred,
        body: Option<Value>,
    ) -> Value {
        let reply = server.call(method.clone(), path, cred, body).await;
        assert!(
            reply.status.is_success(),
            "setup: {method} {path} answered {}: {}",
            reply.status,
            reply.text
        );
        reply.body
    }

    fn session_of(reply: &Reply) -> Cred {
        Cred::Session {
            cookie: session_cookie(reply).expect("a session cookie"),
            csrf: reply.body["csrf_token"].as_str().map(str::to_owned),
        }
    }

    /// A TOTP code the server has not seen yet for this user: steps go up
    /// from the oldest the ±1 window accepts, never reused; near the end
    /// of a step it waits for the next one, so the code stays acceptable.
    async fn fresh_code(secret: &TotpSecret, last: &mut Option<u64>) -> String {
        loop {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let (step, into) = (now / 30, now % 30);
            let candidate = last.map_or(step - 1, |l| (l + 1).max(step - 1));
            if into < 27 && candidate <= step + 1 {
                *last = Some(candidate);
                return secret.code_at(candidate * 30);
            }
            tokio::time::sleep(Duration::from_secs(30 - into + 1)).await;
        }
    }

    /// A personal token under `key`, a victim key, and two victim tokens
    /// under `key`, for whoever `session` is.
    async fn keyring(
        server: &TestServer,
        session: &Cred,
        key: &str,
        victim_key: &str,
        narrowed: Option<&[&str]>,
    ) -> (String, String, String) {
        let token = server.personal_token(session, key, narrowed).await;
        must(
            server,
            Method::POST,
            "/api/me/api-keys",
            session,
            Some(json!({"identifier": victim_key, "name": victim_key})),
        )
        .await;
        let mut victims = Vec::new();
        for name in ["victim", "rotated"] {
            let created = must(
                server,
                Method::POST,
                &format!("/api/me/api-keys/{key}/tokens"),
                session,
                Some(json!({"name": name})),
            )
            .await;
            victims.push(created["info"]["id"].as_str().unwrap().to_owned());
        }
        let rotate = victims.pop().unwrap();
        (token, victims.pop().unwrap(), rotate)
    }

    async fn bind(server: &TestServer, admin: &Cred, query: &str, user: &str, who: Who) {
        let (_, role, group) = who.binding().unwrap();
        must(
            server,
            Method::POST,
            &format!("/api/role-bindings{query}"),
            admin,
            Some(json!({
                "principal": {"type": "user", "id": user},
                "role": role,
                "resource_group": group,
            })),
        )
        .await;
    }

    /// A user created by the administrator without logging in; their id.
    async fn bare_user(server: &TestServer, admin: &Cred, email: &str) -> String {
        let created = must(
            server,
            Method::POST,
            "/api/users",
            admin,
            Some(json!({"email": email, "name": email})),
        )
        .await;
        created["user"]["id"].as_str().unwrap().to_owned()
    }

    /// The pipeline of `o1/p1` (`pl1`) or `o2/p2` (`pl2`).
    fn pipeline_of(at: At) -> &'static str {
        if at == Other { "pl2" } else { "pl1" }
    }

    /// A pipeline that finishes at once.
    fn pipeline_yaml(identifier: &str) -> String {
        format!(
            "pipeline:\n  identifier: {identifier}\n  name: {identifier}\n  stages:\n    - stage:\n        identifier: main\n        name: main\n        type: CI\n        spec:\n          execution:\n            steps:\n              - step:\n                  identifier: hello\n                  name: hello\n                  type: Run\n                  spec:\n                    shell: Sh\n                    command: echo hello\n"
        )
    }

    impl<'a> World<'a> {
        async fn build(server: &'a TestServer) -> World<'a> {
            let admin = Cred::Token(server.admin_token().await);
            let post = |path: String, body: Value| {
                let admin = admin.clone();
                async move { must(server, Method::POST, &path, &admin, Some(body)).await }
            };
            for org in ["o1", "o2"] {
                post("/api/orgs".into(), json!({"identifier": org, "name": org})).await;
            }
            for (org, project) in [("o1", "p1"), ("o2", "p2")] {
                post(
                    format!("/api/orgs/{org}/projects"),
                    json!({"identifier": project, "name": project}),
                )
                .await;
            }
            let login_email = "login@example.com".to_owned();
            server.create_user(&admin, &login_email).await;
            let member_user = bare_user(server, &admin, "member@example.com").await;
            let target_user = bare_user(server, &admin, "target@example.com").await;

            // The principals.
            let mut people = Vec::new();
            let mut admin_session = None;
            let mut mfa_recovery = Vec::new();
            for who in WHO {
                let person = match who {
                    Who::Anon => Person::nobody(),
                    Who::Narrowed => {
                        let session: &Cred = admin_session.as_ref().unwrap();
                        let (token, victim_token, rotate_token) =
                            keyring(server, session, "nt_key", "vk_nt", Some(NARROWED_TO)).await;
                        Person {
                            user_id: "u_narrowed".into(),
                            email: "aa@example.com".into(),
                            cred: Cred::Token(token),
                            key: "nt_key".into(),
                            victim_key: "vk_nt".into(),
                            victim_token,
                            rotate_token,
                        }
                    }
                    Who::ServiceAccount => {
                        let p1 = query(P1);
                        let created = post(
                            format!("/api/service-accounts{p1}"),
                            json!({"identifier": "sa_st", "name": "sa_st"}),
                        )
                        .await;
                        let id = created["id"].as_str().unwrap().to_owned();
                        post(
                            format!("/api/role-bindings{p1}"),
                            json!({
                                "principal": {"type": "service_account", "id": id},
                                "role": "_project_admin",
                                "resource_group": "_all_project_level_resources",
                            }),
                        )
                        .await;
                        post(
                            format!("/api/service-accounts/sa_st/api-keys{p1}"),
                            json!({"identifier": "st_key", "name": "st_key"}),
                        )
                        .await;
                        let minted = post(
                            format!("/api/service-accounts/sa_st/api-keys/st_key/tokens{p1}"),
                            json!({"name": "st"}),
                        )
                        .await;
                        Person {
                            user_id: id,
                            cred: Cred::Token(minted["token"].as_str().unwrap().to_owned()),
                            ..Person::nobody()
                        }
                    }
                    Who::OtherAccount => {
                        let created = post(
                            "/api/accounts".into(),
                            json!({"identifier": "acme", "name": "Acme", "admin_email": "admin@acme.example"}),
                        )
                        .await;
                        let one_time = created["admin_one_time_password"].as_str().unwrap();
                        let reply = server
                            .post(
                                "/api/auth/login",
                                &Cred::None,
                                json!({"account": "acme", "email": "admin@acme.example", "password": one_time}),
                            )
                            .await
                            .expect(200);
                        let session = session_of(&reply);
                        must(
                            server,
                            Method::PUT,
                            "/api/me/password",
                            &session,
                            Some(json!({"current_password": one_time, "new_password": PASSWORD})),
                        )
                        .await;
                        let (token, victim_token, rotate_token) =
                            keyring(server, &session, "pk", "vk", None).await;
                        Person {
                            user_id: created["admin_user_id"].as_str().unwrap().to_owned(),
                            email: "admin@acme.example".into(),
                            cred: Cred::Token(token),
                            key: "pk".into(),
                            victim_key: "vk".into(),
                            victim_token,
                            rotate_token,
                        }
                    }
                    _ => {
                        let email = format!("{}@example.com", who.tag());
                        let id = server.create_user(&admin, &email).await;
                        if let Some((level, _, _)) = who.binding() {
                            let at = match level {
                                Level::Account => Acct,
                                Level::Org => O1,
                                Level::Project => P1,
                            };
                            bind(server, &admin, query(at), &id, who).await;
                        }
                        let (reply, session) = server.login(&email, PASSWORD).await;
                        reply.expect(200);
                        let session = session.unwrap();
                        let (token, victim_token, rotate_token) =
                            keyring(server, &session, "pk", "vk", None).await;
                        let cred = match who {
                            Who::Session => session.clone(),
                            Who::MfaPending => {
                                // Enrol TOTP, then log in with the password only.
                                let begun =
                                    must(server, Method::POST, "/api/me/totp", &session, None)
                                        .await;
                                let secret =
                                    TotpSecret::from_base32(begun["secret"].as_str().unwrap())
                                        .unwrap();
                                let code = fresh_code(&secret, &mut None).await;
                                let confirmed = must(
                                    server,
                                    Method::POST,
                                    "/api/me/totp/confirm",
                                    &session,
                                    Some(json!({"code": code})),
                                )
                                .await;
                                mfa_recovery = confirmed["recovery_codes"]
                                    .as_array()
                                    .unwrap()
                                    .iter()
                                    .map(|c| c.as_str().unwrap().to_owned())
                                    .collect();
                                let (reply, pending) = server.login(&email, PASSWORD).await;
                                let reply = reply.expect(200);
                                assert_eq!(reply.body["stage"], "second_factor", "{}", reply.text);
                                pending.unwrap()
                            }
                            _ => Cred::Token(token),
                        };
                        if who == Who::AccountAdmin {
                            admin_session = Some(session);
                        }
                        Person {
                            user_id: id,
                            email,
                            cred,
                            key: "pk".into(),
                            victim_key: "vk".into(),
                            victim_token,
                            rotate_token,
                        }
                    }
                };
                people.push(person);
            }

            // At every scope: one of each kind of object, and a victim of
            // each kind per principal.
            let member = json!({"user": member_user});
            let mut sa_tokens = BTreeMap::new();
            for at in [Acct, O1, P1, Other] {
                let q = query(at);
                for group in ["g1".to_owned()].into_iter().chain(
                    WHO.iter()
                        .flat_map(|w| [format!("vg_{}", w.tag()), format!("vm_{}", w.tag())]),
                ) {
                    post(
                        format!("/api/user-groups{q}"),
                        json!({"identifier": group, "name": group}),
                    )
                    .await;
                    if !group.starts_with("vg_") {
                        post(
                            format!("/api/user-groups/{group}/members{q}"),
                            member.clone(),
                        )
                        .await;
                    }
                }
                post(
                    format!("/api/service-accounts{q}"),
                    json!({"identifier": "sa1", "name": "sa1"}),
                )
                .await;
                post(
                    format!("/api/service-accounts/sa1/api-keys{q}"),
                    json!({"identifier": "k1", "name": "k1"}),
                )
                .await;
                post(
                    format!("/api/service-accounts/sa1/api-keys/k1/tokens{q}"),
                    json!({"name": "t1"}),
                )
                .await;
                for role in ["r1".to_owned()]
                    .into_iter()
                    .chain(WHO.iter().map(|w| format!("vr_{}", w.tag())))
                {
                    post(
                        format!("/api/roles{q}"),
                        json!({"identifier": role, "name": role, "permissions": ["core_pipeline_view"]}),
                    )
                    .await;
                }
                for group in ["rg1".to_owned()]
                    .into_iter()
                    .chain(WHO.iter().map(|w| format!("vrg_{}", w.tag())))
                {
                    post(
                        format!("/api/resource-groups{q}"),
                        json!({"identifier": group, "name": group, "selectors": [{"kind": "all"}]}),
                    )
                    .await;
                }
                // `rb1` uses `rg1`, so widening `rg1` widens a binding.
                for (binding, group) in
                    [("rb1".to_owned(), "rg1")]
                        .into_iter()
                        .chain(WHO.iter().map(|w| {
                            (
                                format!("vrb_{}", w.tag()),
                                "_all_resources_including_child_scopes",
                            )
                        }))
                {
                    post(
                        format!("/api/role-bindings{q}"),
                        json!({
                            "identifier": binding,
                            "principal": {"type": "user", "id": member_user},
                            "role": "_project_viewer",
                            "resource_group": group,
                        }),
                    )
                    .await;
                }
                for who in WHO {
                    let t = who.tag();
                    post(
                        format!("/api/service-accounts{q}"),
                        json!({"identifier": format!("vsa_{t}"), "name": t}),
                    )
                    .await;
                    post(
                        format!("/api/service-accounts/sa1/api-keys{q}"),
                        json!({"identifier": format!("vk_{t}"), "name": t}),
                    )
                    .await;
                    let mut ids = Vec::new();
                    for name in ["victim", "rotated"] {
                        let created = post(
                            format!("/api/service-accounts/sa1/api-keys/k1/tokens{q}"),
                            json!({"name": name}),
                        )
                        .await;
                        ids.push(created["info"]["id"].as_str().unwrap().to_owned());
                    }
                    sa_tokens.insert((at, who), (ids[0].clone(), ids[1].clone()));
                }
            }

            // Secrets at every scope; pipelines and a finished run in each project.
            for at in [Acct, O1, P1, Other] {
                let q = query(at);
                for secret in ["s1".to_owned()]
                    .into_iter()
                    .chain(WHO.iter().map(|w| format!("vs_{}", w.tag())))
                {
                    must(
                        server,
                        Method::PUT,
                        &format!("/api/secrets/{secret}{q}"),
                        &admin,
                        Some(json!({"value": format!("value of {secret}")})),
                    )
                    .await;
                }
            }
            let mut runs = BTreeMap::new();
            for at in [P1, Other] {
                let q = query(at);
                let pipeline = pipeline_of(at);
                for identifier in [pipeline.to_owned()]
                    .into_iter()
                    .chain(WHO.iter().map(|w| format!("vpl_{}", w.tag())))
                {
                    post(
                        format!("/api/pipelines{q}"),
                        json!({"yaml": pipeline_yaml(&identifier)}),
                    )
                    .await;
                }
                let run = post(format!("/api/pipelines/{pipeline}/runs{q}"), json!({})).await;
                let id = run["id"].as_str().unwrap().to_owned();
                let done = server.finished_run(&admin, &id).await;
                assert_eq!(done["status"], "Success", "setup run: {done}");
                runs.insert(at, id);
            }

            // Victims outside scopes: a user, an account, and organizations
            // and projects where the principal holds the binding it holds
            // at `o1` or `o1/p1` (so deleting "its own" is what is tried),
            // and others outside its reach.
            let mut victim_users = BTreeMap::new();
            for who in WHO {
                let t = who.tag();
                victim_users.insert(
                    who,
                    bare_user(server, &admin, &format!("victim-{t}@example.com")).await,
                );
                post(
                    "/api/accounts".into(),
                    json!({"identifier": format!("va_{t}"), "name": t, "admin_email": format!("admin@va-{t}.example")}),
                )
                .await;
                let own_org = format!("vo_{t}");
                let own_project = format!("vp_{t}");
                post(
                    "/api/orgs".into(),
                    json!({"identifier": own_org, "name": t}),
                )
                .await;
                post(
                    "/api/orgs".into(),
                    json!({"identifier": format!("vx_{t}"), "name": t}),
                )
                .await;
                post(
                    "/api/orgs/o1/projects".into(),
                    json!({"identifier": own_project, "name": t}),
                )
                .await;
                post(
                    "/api/orgs/o2/projects".into(),
                    json!({"identifier": format!("vq_{t}"), "name": t}),
                )
                .await;
                let Some((level, _, _)) = who.binding() else {
                    continue;
                };
                let user = &people[who as usize].user_id;
                match level {
                    Level::Account => {}
                    Level::Org => bind(server, &admin, &format!("?org={own_org}"), user, who).await,
                    Level::Project => {
                        post(
                            format!("/api/orgs/{own_org}/projects"),
                            json!({"identifier": "p1", "name": "p1"}),
                        )
                        .await;
                        bind(
                            server,
                            &admin,
                            &format!("?org={own_org}&project=p1"),
                            user,
                            who,
                        )
                        .await;
                        bind(
                            server,
                            &admin,
                            &format!("?org=o1&project={own_project}"),
                            user,
                            who,
                        )
                        .await;
                    }
                }
            }
            let auth_settings = must(server, Method::GET, "/api/auth-settings", &admin, None).await;

            World {
                server,
                people,
                login_email,
                member_user,
                target_user,
                victim_users,
                sa_tokens,
                runs,
                auth_settings,
                session_password: PASSWORD.to_owned(),
                session_totp: None,
                session_step: None,
                mfa_recovery,
            }
        }

        /// A new session of the `SS` user or a new pending one of the `MF`
        /// user (for what ends or completes a session).
        async fn fresh_session(&self, who: Who) -> Cred {
            let password = match who {
                Who::Session => self.session_password.clone(),
                _ => PASSWORD.to_owned(),
            };
            let (reply, session) = self
                .server
                .login(&self.people[who as usize].email, &password)
                .await;
            reply.expect(200);
            session.unwrap()
        }

        /// A TOTP code for the `SS` user (a wrong one before enrolment).
        async fn session_code(&mut self) -> String {
            match &self.session_totp {
                Some(secret) => fresh_code(secret, &mut self.session_step).await,
                None => "000000".into(),
            }
        }

        /// The request `who` makes for `operation` pointed at `at`.
        async fn request(&mut self, operation: &str, at: At, who: Who) -> Request {
            let t = who.tag();
            let q = query(at);
            let person = &self.people[who as usize];
            let mut cred = person.cred.clone();
            let (key, victim_key) = (person.key.clone(), person.victim_key.clone());
            let (victim_token, rotate_token) =
                (person.victim_token.clone(), person.rotate_token.clone());
            let own = who == Who::Session;
            let org = if at == Other { "o2" } else { "o1" };
            let project = if at == Other {
                "o2/projects/p2"
            } else {
                "o1/projects/p1"
            };
            let member = &self.member_user;
            let target = &self.target_user;
            let (method, path, body) = match operation {
                "GET /healthz" => (Method::GET, "/healthz".to_owned(), None),
                "GET /readyz" => (Method::GET, "/readyz".to_owned(), None),
                "GET /api/openapi.json" => (Method::GET, "/api/openapi.json".to_owned(), None),
                "POST /api/auth/login" => (
                    Method::POST,
                    "/api/auth/login".to_owned(),
                    Some(json!({"email": self.login_email, "password": PASSWORD})),
                ),
                "POST /api/auth/mfa" => {
                    let body = if who == Who::MfaPending {
                        cred = self.fresh_session(who).await;
                        json!({"recovery_code": self.mfa_recovery.pop().unwrap()})
                    } else {
                        json!({"code": "123456"})
                    };
                    (Method::POST, "/api/auth/mfa".to_owned(), Some(body))
                }
                "POST /api/auth/logout" => {
                    if matches!(who, Who::Session | Who::MfaPending) {
                        cred = self.fresh_session(who).await;
                    }
                    (Method::POST, "/api/auth/logout".to_owned(), None)
                }
                "GET /api/me" => (Method::GET, "/api/me".to_owned(), None),
                "PUT /api/me/password" => {
                    let current = if own {
                        self.session_password.clone()
                    } else {
                        PASSWORD.to_owned()
                    };
                    (
                        Method::PUT,
                        "/api/me/password".to_owned(),
                        Some(json!({"current_password": current, "new_password": NEW_PASSWORD})),
                    )
                }
                "POST /api/me/totp" => (Method::POST, "/api/me/totp".to_owned(), None),
                "POST /api/me/totp/confirm" | "POST /api/me/totp/recovery-codes" => {
                    let code = if own {
                        self.session_code().await
                    } else {
                        "000000".into()
                    };
                    let path = operation.trim_start_matches("POST ").to_owned();
                    (Method::POST, path, Some(json!({"code": code})))
                }
                "POST /api/me/totp/disable" => {
                    let (password, code) = if own {
                        (self.session_password.clone(), self.session_code().await)
                    } else {
                        (PASSWORD.to_owned(), "000000".into())
                    };
                    (
                        Method::POST,
                        "/api/me/totp/disable".to_owned(),
                        Some(json!({"password": password, "code": code})),
                    )
                }
                "GET /api/me/api-keys" => (Method::GET, "/api/me/api-keys".to_owned(), None),
                "POST /api/me/api-keys" => (
                    Method::POST,
                    "/api/me/api-keys".to_owned(),
                    Some(json!({"identifier": "new_key", "name": "new key"})),
                ),
                "GET /api/me/api-keys/{key}" => {
                    (Method::GET, format!("/api/me/api-keys/{key}"), None)
                }
                "DELETE /api/me/api-keys/{key}" => (
                    Method::DELETE,
                    format!("/api/me/api-keys/{victim_key}"),
                    None,
                ),
                "GET /api/me/api-keys/{key}/tokens" => {
                    (Method::GET, format!("/api/me/api-keys/{key}/tokens"), None)
                }
                "POST /api/me/api-keys/{key}/tokens" => (
                    Method::POST,
                    format!("/api/me/api-keys/{key}/tokens"),
                    Some(json!({"name": "new token"})),
                ),
                "DELETE /api/me/api-keys/{key}/tokens/{token}" => (
                    Method::DELETE,
                    format!("/api/me/api-keys/{key}/tokens/{victim_token}"),
                    None,
                ),
                "POST /api/me/api-keys/{key}/tokens/{token}/rotate" => (
                    Method::POST,
                    format!("/api/me/api-keys/{key}/tokens/{rotate_token}/rotate"),
                    Some(json!({})),
                ),
                "GET /api/permissions" => (Method::GET, "/api/permissions".to_owned(), None),

                "GET /api/accounts" => (Method::GET, "/api/accounts".to_owned(), None),
                "POST /api/accounts" => (
                    Method::POST,
                    "/api/accounts".to_owned(),
                    Some(json!({
                        "identifier": format!("na_{t}"),
                        "name": t,
                        "admin_email": format!("admin@na-{t}.example"),
                    })),
                ),
                "GET /api/accounts/{account}" | "PATCH /api/accounts/{account}" => {
                    let account = if at == Other { "acme" } else { "default" };
                    let (method, body) = if operation.starts_with("GET") {
                        (Method::GET, None)
                    } else {
                        (
                            Method::PATCH,
                            Some(json!({"name": format!("renamed by {t}")})),
                        )
                    };
                    (method, format!("/api/accounts/{account}"), body)
                }
                "DELETE /api/accounts/{account}" => {
                    let account = if at == Other {
                        format!("va_{t}")
                    } else {
                        "default".to_owned()
                    };
                    (Method::DELETE, format!("/api/accounts/{account}"), None)
                }

                "GET /api/orgs" => (Method::GET, "/api/orgs".to_owned(), None),
                "POST /api/orgs" => (
                    Method::POST,
                    "/api/orgs".to_owned(),
                    Some(json!({"identifier": format!("no_{t}"), "name": t})),
                ),
                "GET /api/orgs/{org}" => (Method::GET, format!("/api/orgs/{org}"), None),
                "PATCH /api/orgs/{org}" => (
                    Method::PATCH,
                    format!("/api/orgs/{org}"),
                    Some(json!({"description": format!("edited by {t}")})),
                ),
                "DELETE /api/orgs/{org}" => {
                    let victim = if at == Other { "vx" } else { "vo" };
                    (Method::DELETE, format!("/api/orgs/{victim}_{t}"), None)
                }
                "GET /api/orgs/{org}/projects" => {
                    (Method::GET, format!("/api/orgs/{org}/projects"), None)
                }
                "POST /api/orgs/{org}/projects" => (
                    Method::POST,
                    format!("/api/orgs/{org}/projects"),
                    Some(json!({"identifier": format!("np_{t}"), "name": t})),
                ),
                "GET /api/orgs/{org}/projects/{project}" => {
                    (Method::GET, format!("/api/orgs/{project}"), None)
                }
                "PATCH /api/orgs/{org}/projects/{project}" => (
                    Method::PATCH,
                    format!("/api/orgs/{project}"),
                    Some(json!({"description": format!("edited by {t}")})),
                ),
                "DELETE /api/orgs/{org}/projects/{project}" => {
                    let victim = if at == Other {
                        "o2/projects/vq"
                    } else {
                        "o1/projects/vp"
                    };
                    (Method::DELETE, format!("/api/orgs/{victim}_{t}"), None)
                }

                "GET /api/users" => (Method::GET, "/api/users".to_owned(), None),
                "POST /api/users" => (
                    Method::POST,
                    "/api/users".to_owned(),
                    Some(json!({"email": format!("new-{t}@example.com"), "name": t})),
                ),
                "GET /api/users/{user}" => (Method::GET, format!("/api/users/{target}"), None),
                "PATCH /api/users/{user}" => (
                    Method::PATCH,
                    format!("/api/users/{target}"),
                    Some(json!({"name": format!("renamed by {t}")})),
                ),
                "DELETE /api/users/{user}" => (
                    Method::DELETE,
                    format!("/api/users/{}", self.victim_users[&who]),
                    None,
                ),
                "POST /api/users/{user}/unlock" => {
                    (Method::POST, format!("/api/users/{target}/unlock"), None)
                }
                "POST /api/users/{user}/reset-password" => (
                    Method::POST,
                    format!("/api/users/{target}/reset-password"),
                    None,
                ),
                "POST /api/users/{user}/reset-2fa" => {
                    (Method::POST, format!("/api/users/{target}/reset-2fa"), None)
                }

                "GET /api/user-groups" => (Method::GET, format!("/api/user-groups{q}"), None),
                "POST /api/user-groups" => (
                    Method::POST,
                    format!("/api/user-groups{q}"),
                    Some(json!({"identifier": format!("ng_{t}"), "name": t})),
                ),
                "GET /api/user-groups/{group}" => {
                    (Method::GET, format!("/api/user-groups/g1{q}"), None)
                }
                "PATCH /api/user-groups/{group}" => (
                    Method::PATCH,
                    format!("/api/user-groups/g1{q}"),
                    Some(json!({"description": format!("edited by {t}")})),
                ),
                "DELETE /api/user-groups/{group}" => {
                    (Method::DELETE, format!("/api/user-groups/vg_{t}{q}"), None)
                }
                "GET /api/user-groups/{group}/members" => {
                    (Method::GET, format!("/api/user-groups/g1/members{q}"), None)
                }
                "POST /api/user-groups/{group}/members" => (
                    Method::POST,
                    format!("/api/user-groups/g1/members{q}"),
                    Some(json!({"user": member})),
                ),
                "DELETE /api/user-groups/{group}/members/{user}" => (
                    Method::DELETE,
                    format!("/api/user-groups/vm_{t}/members/{member}{q}"),
                    None,
                ),

                "GET /api/service-accounts" => {
                    (Method::GET, format!("/api/service-accounts{q}"), None)
                }
                "POST /api/service-accounts" => (
                    Method::POST,
                    format!("/api/service-accounts{q}"),
                    Some(json!({"identifier": format!("nsa_{t}"), "name": t})),
                ),
                "GET /api/service-accounts/{sa}" => {
                    (Method::GET, format!("/api/service-accounts/sa1{q}"), None)
                }
                "PATCH /api/service-accounts/{sa}" => (
                    Method::PATCH,
                    format!("/api/service-accounts/sa1{q}"),
                    Some(json!({"description": format!("edited by {t}")})),
                ),
                "DELETE /api/service-accounts/{sa}" => (
                    Method::DELETE,
                    format!("/api/service-accounts/vsa_{t}{q}"),
                    None,
                ),
                "GET /api/service-accounts/{sa}/api-keys" => (
                    Method::GET,
                    format!("/api/service-accounts/sa1/api-keys{q}"),
                    None,
                ),
                "POST /api/service-accounts/{sa}/api-keys" => (
                    Method::POST,
                    format!("/api/service-accounts/sa1/api-keys{q}"),
                    Some(json!({"identifier": format!("nk_{t}"), "name": t})),
                ),
                "GET /api/service-accounts/{sa}/api-keys/{key}" => (
                    Method::GET,
                    format!("/api/service-accounts/sa1/api-keys/k1{q}"),
                    None,
                ),
                "DELETE /api/service-accounts/{sa}/api-keys/{key}" => (
                    Method::DELETE,
                    format!("/api/service-accounts/sa1/api-keys/vk_{t}{q}"),
                    None,
                ),
                "GET /api/service-accounts/{sa}/api-keys/{key}/tokens" => (
                    Method::GET,
                    format!("/api/service-accounts/sa1/api-keys/k1/tokens{q}"),
                    None,
                ),
                "POST /api/service-accounts/{sa}/api-keys/{key}/tokens" => (
                    Method::POST,
                    format!("/api/service-accounts/sa1/api-keys/k1/tokens{q}"),
                    Some(json!({"name": format!("minted by {t}")})),
                ),
                "DELETE /api/service-accounts/{sa}/api-keys/{key}/tokens/{token}" => (
                    Method::DELETE,
                    format!(
                        "/api/service-accounts/sa1/api-keys/k1/tokens/{}{q}",
                        self.sa_tokens[&(at, who)].0
                    ),
                    None,
                ),
                "POST /api/service-accounts/{sa}/api-keys/{key}/tokens/{token}/rotate" => (
                    Method::POST,
                    format!(
                        "/api/service-accounts/sa1/api-keys/k1/tokens/{}/rotate{q}",
                        self.sa_tokens[&(at, who)].1
                    ),
                    Some(json!({})),
                ),

                "GET /api/roles" => (Method::GET, format!("/api/roles{q}"), None),
                "POST /api/roles" => (
                    Method::POST,
                    format!("/api/roles{q}"),
                    Some(json!({
                        "identifier": format!("nr_{t}"),
                        "name": t,
                        "permissions": ["core_pipeline_view"],
                    })),
                ),
                "GET /api/roles/{role}" => (Method::GET, format!("/api/roles/r1{q}"), None),
                "PUT /api/roles/{role}" => (
                    Method::PUT,
                    format!("/api/roles/r1{q}"),
                    Some(
                        json!({"name": format!("edited by {t}"), "permissions": ["core_pipeline_view"]}),
                    ),
                ),
                "DELETE /api/roles/{role}" => {
                    (Method::DELETE, format!("/api/roles/vr_{t}{q}"), None)
                }

                "GET /api/resource-groups" => {
                    (Method::GET, format!("/api/resource-groups{q}"), None)
                }
                "POST /api/resource-groups" => (
                    Method::POST,
                    format!("/api/resource-groups{q}"),
                    Some(json!({
                        "identifier": format!("nrg_{t}"),
                        "name": t,
                        "selectors": [{"kind": "all"}],
                    })),
                ),
                "GET /api/resource-groups/{group}" => {
                    (Method::GET, format!("/api/resource-groups/rg1{q}"), None)
                }
                "PUT /api/resource-groups/{group}" => (
                    Method::PUT,
                    format!("/api/resource-groups/rg1{q}"),
                    Some(json!({
                        "name": format!("edited by {t}"),
                        "include_child_scopes": true,
                        "selectors": [{"kind": "all"}],
                    })),
                ),
                "DELETE /api/resource-groups/{group}" => (
                    Method::DELETE,
                    format!("/api/resource-groups/vrg_{t}{q}"),
                    None,
                ),

                "GET /api/role-bindings" => (Method::GET, format!("/api/role-bindings{q}"), None),
                "POST /api/role-bindings" => (
                    Method::POST,
                    format!("/api/role-bindings{q}"),
                    Some(json!({
                        "identifier": format!("nrb_{t}"),
                        "principal": {"type": "user", "id": member},
                        "role": "_project_viewer",
                        "resource_group": "_all_resources_including_child_scopes",
                    })),
                ),
                "GET /api/role-bindings/{binding}" => {
                    (Method::GET, format!("/api/role-bindings/rb1{q}"), None)
                }
                "DELETE /api/role-bindings/{binding}" => (
                    Method::DELETE,
                    format!("/api/role-bindings/vrb_{t}{q}"),
                    None,
                ),

                "GET /api/pipelines" => (Method::GET, format!("/api/pipelines{q}"), None),
                "POST /api/pipelines" => (
                    Method::POST,
                    format!("/api/pipelines{q}"),
                    Some(json!({"yaml": pipeline_yaml(&format!("npl_{t}"))})),
                ),
                "GET /api/pipelines/{pipeline}" => (
                    Method::GET,
                    format!("/api/pipelines/{}{q}", pipeline_of(at)),
                    None,
                ),
                "PUT /api/pipelines/{pipeline}" => {
                    let pipeline = pipeline_of(at);
                    (
                        Method::PUT,
                        format!("/api/pipelines/{pipeline}{q}"),
                        Some(json!({"yaml": pipeline_yaml(pipeline)})),
                    )
                }
                "DELETE /api/pipelines/{pipeline}" => {
                    (Method::DELETE, format!("/api/pipelines/vpl_{t}{q}"), None)
                }
                "GET /api/pipelines/{pipeline}/versions" => (
                    Method::GET,
                    format!("/api/pipelines/{}/versions{q}", pipeline_of(at)),
                    None,
                ),
                "GET /api/pipelines/{pipeline}/versions/{version}" => (
                    Method::GET,
                    format!("/api/pipelines/{}/versions/1{q}", pipeline_of(at)),
                    None,
                ),
                "POST /api/pipelines/{pipeline}/runs" => (
                    Method::POST,
                    format!("/api/pipelines/{}/runs{q}", pipeline_of(at)),
                    Some(json!({})),
                ),

                "GET /api/runs" => (Method::GET, format!("/api/runs{q}"), None),
                "GET /api/runs/{run}"
                | "GET /api/runs/{run}/logs"
                | "GET /api/runs/{run}/logs/stream" => {
                    let tail = operation.trim_start_matches("GET /api/runs/{run}");
                    (
                        Method::GET,
                        format!("/api/runs/{}{tail}", self.runs[&at]),
                        None,
                    )
                }
                "POST /api/runs/{run}/abort" | "POST /api/runs/{run}/rerun" => {
                    let tail = operation.trim_start_matches("POST /api/runs/{run}");
                    (
                        Method::POST,
                        format!("/api/runs/{}{tail}", self.runs[&at]),
                        None,
                    )
                }

                "GET /api/secrets" => (Method::GET, format!("/api/secrets{q}"), None),
                "GET /api/secrets/{secret}" => (Method::GET, format!("/api/secrets/s1{q}"), None),
                "PUT /api/secrets/{secret}" => (
                    Method::PUT,
                    format!("/api/secrets/s1{q}"),
                    Some(json!({"value": format!("set by {t}")})),
                ),
                "DELETE /api/secrets/{secret}" => {
                    (Method::DELETE, format!("/api/secrets/vs_{t}{q}"), None)
                }

                "GET /api/auth-settings" => (Method::GET, "/api/auth-settings".to_owned(), None),
                "PUT /api/auth-settings" => (
                    Method::PUT,
                    "/api/auth-settings".to_owned(),
                    Some(self.auth_settings.clone()),
                ),
                "GET /api/ip-allowlist" => (Method::GET, "/api/ip-allowlist".to_owned(), None),
                "PUT /api/ip-allowlist" => (
                    Method::PUT,
                    "/api/ip-allowlist".to_owned(),
                    Some(json!({"enabled": false, "entries": []})),
                ),
                "POST /api/ip-allowlist/test" => (
                    Method::POST,
                    "/api/ip-allowlist/test".to_owned(),
                    Some(json!({"ip": "203.0.113.7", "surface": "api"})),
                ),
                "GET /api/audit" => (Method::GET, "/api/audit?limit=5".to_owned(), None),
                "GET /api/audit/verify" => (Method::GET, "/api/audit/verify".to_owned(), None),

                other => panic!(
                    "the matrix has a row for `{other}` but no request for it: add one to World::request"
                ),
            };
            Request {
                method,
                path,
                cred,
                body,
            }
        }

        /// Keeps track of what the `SS` user changed about itself.
        fn observe(&mut self, operation: &str, who: Who, reply: &Reply) {
            if who != Who::Session || !reply.status.is_success() {
                return;
            }
            match operation {
                "PUT /api/me/password" => self.session_password = NEW_PASSWORD.to_owned(),
                "POST /api/me/totp" => {
                    self.session_totp = reply.body["secret"]
                        .as_str()
                        .and_then(|s| TotpSecret::from_base32(s).ok());
                    self.session_step = None;
                }
                _ => {}
            }
        }
    }

    /// The `SS` user's password after the matrix changes it.
    const NEW_PASSWORD: &str = "Correct-Horse-Battery-10";

    fn class(status: u16) -> char {
        match status {
            200..=299 => 'Y',
            403 => 'N',
            401 => 'U',
            404 => 'H',
            409 => 'C',
            400 => 'B',
            _ => '?',
        }
    }

    fn shorten(text: &str) -> String {
        let mut out: String = text.chars().take(300).collect();
        if text.chars().count() > 300 {
            out.push('…');
        }
        out
    }

    /// Managing a service account's keys is not a way to become it: a
    /// token of an account-level service account that is Organization
    /// Admin of `o1` (so holds nothing at the account itself), or that
    /// manages one named user group, can be minted only by someone who
    /// holds that too. (Needs a custom role, so it is not a column of the
    /// matrix.)
    pub async fn service_account_tokens_carry_no_more_than_their_minter(db: Db) {
        let server = TestServer::start(db).await;
        let admin = Cred::Token(server.admin_token().await);
        let post = |path: &'static str, body: Value| {
            let admin = admin.clone();
            let server = &server;
            async move { must(server, Method::POST, path, &admin, Some(body)).await }
        };
        post("/api/orgs", json!({"identifier": "o1", "name": "o1"})).await;
        let deployer = post(
            "/api/service-accounts",
            json!({"identifier": "deployer", "name": "deployer"}),
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        post(
            "/api/role-bindings?org=o1",
            json!({
                "principal": {"type": "service_account", "id": deployer},
                "role": "_organization_admin",
                "resource_group": "_all_resources_including_child_scopes",
            }),
        )
        .await;
        post(
            "/api/service-accounts/deployer/api-keys",
            json!({"identifier": "k", "name": "k"}),
        )
        .await;
        post(
            "/api/roles",
            json!({
                "identifier": "key_keeper",
                "name": "Key keeper",
                "permissions": ["core_serviceaccount_view", "core_serviceaccount_manageapikey"],
            }),
        )
        .await;
        // A service account that manages the user group `admins` only.
        let grouper = post(
            "/api/service-accounts",
            json!({"identifier": "grouper", "name": "grouper"}),
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        post(
            "/api/roles",
            json!({"identifier": "group_manager", "name": "Group manager", "permissions": ["core_usergroup_manage"]}),
        )
        .await;
        post(
            "/api/resource-groups",
            json!({
                "identifier": "admins_only",
                "name": "admins only",
                "selectors": [{"kind": "named", "resource_type": "USER_GROUP", "identifiers": ["admins"]}],
            }),
        )
        .await;
        post(
            "/api/role-bindings",
            json!({
                "principal": {"type": "service_account", "id": grouper},
                "role": "group_manager",
                "resource_group": "admins_only",
            }),
        )
        .await;
        post(
            "/api/service-accounts/grouper/api-keys",
            json!({"identifier": "k", "name": "k"}),
        )
        .await;
        let keeper = server.create_user(&admin, "keeper@example.com").await;
        post(
            "/api/role-bindings",
            json!({
                "principal": {"type": "user", "id": keeper},
                "role": "key_keeper",
                "resource_group": "_all_account_level_resources",
            }),
        )
        .await;
        let (_, session) = server.login("keeper@example.com", PASSWORD).await;
        let keeper = Cred::Token(server.personal_token(&session.unwrap(), "pk", None).await);
        let tokens = "/api/service-accounts/deployer/api-keys/k/tokens";

        let refused = server.post(tokens, &keeper, json!({"name": "mine"})).await;
        assert_eq!(refused.status, 403, "{}", refused.text);
        assert!(
            refused.text.contains("core_organization_edit"),
            "{}",
            refused.text
        );
        // Narrowed to what the service account does not carry, it may.
        server
            .post(
                tokens,
                &keeper,
                json!({"name": "harmless", "permissions": ["core_account_view"]}),
            )
            .await
            .expect(201);
        let refused = server
            .post(
                "/api/service-accounts/grouper/api-keys/k/tokens",
                &keeper,
                json!({"name": "mine"}),
            )
            .await;
        assert_eq!(refused.status, 403, "{}", refused.text);
        assert!(
            refused.text.contains("core_usergroup_manage"),
            "{}",
            refused.text
        );
        // An Account Admin holds everything the service account carries.
        let minted = server
            .post(tokens, &admin, json!({"name": "deploy"}))
            .await
            .expect(201);
        let deploy = Cred::Token(minted.body["token"].as_str().unwrap().to_owned());
        server
            .call(
                Method::PATCH,
                "/api/orgs/o1",
                &deploy,
                Some(json!({"description": "what the keeper would have had"})),
            )
            .await
            .expect(200);
        server.stop().await;
    }

    pub async fn authorization_matrix(db: Db) {
        let problems = super::coverage_problems();
        assert!(problems.is_empty(), "\n{}", problems.join("\n"));
        let started = std::time::Instant::now();
        let server = TestServer::start(db).await;
        let mut world = World::build(&server).await;
        let setup = started.elapsed();
        let mut mismatches = Vec::new();
        let mut checks = 0;
        for (operation, at, expected) in MATRIX {
            let symbols: Vec<char> = expected
                .split_whitespace()
                .map(|s| s.chars().next().unwrap())
                .collect();
            for (who, want) in WHO.into_iter().zip(symbols) {
                let request = world.request(operation, *at, who).await;
                let reply = server
                    .call(
                        request.method.clone(),
                        &request.path,
                        &request.cred,
                        request.body,
                    )
                    .await;
                world.observe(operation, who, &reply);
                checks += 1;
                let got = class(reply.status.as_u16());
                if got != want {
                    mismatches.push(format!(
                        "{:>2} {operation} at {at}: expected {want}, got {} ({} {}): {}",
                        who.tag().to_uppercase(),
                        reply.status,
                        request.method,
                        request.path,
                        shorten(&reply.text)
                    ));
                }
            }
        }
        for (path, items, expected) in VISIBLE {
            for (who, want) in WHO.into_iter().zip(expected) {
                if *want == "-" {
                    continue;
                }
                checks += 1;
                let reply = server.get(path, &world.people[who as usize].cred).await;
                let seen: Vec<&str> = reply.body.as_array().map_or(Vec::new(), |list| {
                    items
                        .iter()
                        .copied()
                        .filter(|item| {
                            list.iter()
                                .any(|e| e["identifier"] == *item || e["pipeline"] == *item)
                        })
                        .collect()
                });
                let want: Vec<&str> = want.split_whitespace().collect();
                if reply.status != 200 || seen != want {
                    mismatches.push(format!(
                        "{:>2} GET {path}: expected to see {want:?} of {items:?}, got {} seeing {seen:?}: {}",
                        who.tag().to_uppercase(),
                        reply.status,
                        shorten(&reply.text)
                    ));
                }
            }
        }
        eprintln!(
            "authorization matrix: {checks} checks, {} mismatches (setup {setup:.1?}, total {:.1?})",
            mismatches.len(),
            started.elapsed()
        );
        server.stop().await;
        assert!(
            mismatches.is_empty(),
            "{} of {checks} authorization checks differ from the table (Y 2xx, N 403, U 401, H 404, C 409, B 400):\n{}",
            mismatches.len(),
            mismatches.join("\n")
        );
    }
}

rampart_testkit::on_both!(
    authorization_matrix,
    service_account_tokens_carry_no_more_than_their_minter
);
