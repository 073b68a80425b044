//! Scopes as the API names them (`?org=O&project=P` under the caller's
//! account), as RBAC models them ([`Scope`]) and as the store keys rows
//! ([`ScopeKey`]); identifiers and their rules; ids and time.

use rampart_auth::rbac::Scope;
use rampart_store::{IdentityRepo, ScopeKey, Store};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

/// Longest identifier (Harness's limit).
const MAX_IDENTIFIER: usize = 128;

/// Where a scoped resource lives, below the caller's account.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ScopeQuery {
    /// The organization; absent for the account itself.
    pub org: Option<String>,
    /// The project (needs `org`).
    pub project: Option<String>,
}

impl ScopeQuery {
    /// The scope in `account`; a project without an org is refused, and
    /// both must be well-formed identifiers.
    pub fn scope(&self, account: &str) -> Result<Scope, ApiError> {
        match (&self.org, &self.project) {
            (None, None) => Ok(Scope::account(account)),
            (Some(org), None) => {
                check_identifier("org", org)?;
                Ok(Scope::org(account, org.as_str()))
            }
            (Some(org), Some(project)) => {
                check_identifier("org", org)?;
                check_identifier("project", project)?;
                Ok(Scope::project(account, org.as_str(), project.as_str()))
            }
            (None, Some(_)) => Err(ApiError::BadRequest(
                "`project` needs `org`: name the project's organization too".into(),
            )),
        }
    }
}

/// A scope in responses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub(crate) struct ScopeView {
    pub account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
}

impl From<&Scope> for ScopeView {
    fn from(scope: &Scope) -> Self {
        let key = key_of(scope);
        ScopeView {
            account: key.account,
            org: key.org,
            project: key.project,
        }
    }
}

/// The store's key of an RBAC scope.
pub(crate) fn key_of(scope: &Scope) -> ScopeKey {
    match scope {
        Scope::Account { account } => ScopeKey::account(account),
        Scope::Org { account, org } => ScopeKey::org(account, org),
        Scope::Project {
            account,
            org,
            project,
        } => ScopeKey::project(account, org, project),
    }
}

/// The RBAC scope of a stored key; `None` for a project without an org
/// (which the store never writes).
pub(crate) fn scope_of(key: &ScopeKey) -> Option<Scope> {
    match (&key.org, &key.project) {
        (None, None) => Some(Scope::account(key.account.as_str())),
        (Some(org), None) => Some(Scope::org(key.account.as_str(), org.as_str())),
        (Some(org), Some(project)) => Some(Scope::project(
            key.account.as_str(),
            org.as_str(),
            project.as_str(),
        )),
        (None, Some(_)) => None,
    }
}

/// 404 unless the org or project of `scope` exists (an account scope is the
/// caller's own, which exists).
pub(crate) async fn ensure_exists(store: &Store, scope: &Scope) -> Result<(), ApiError> {
    match scope {
        Scope::Account { .. } => Ok(()),
        Scope::Org { account, org } => match store.organization(account, org).await? {
            Some(_) => Ok(()),
            None => Err(ApiError::NotFound(format!("no organization `{org}`"))),
        },
        Scope::Project {
            account,
            org,
            project,
        } => match store.project(account, org, project).await? {
            Some(_) => Ok(()),
            None => Err(ApiError::NotFound(format!(
                "no project `{project}` in organization `{org}`"
            ))),
        },
    }
}

/// `scope` and every organization and project inside it that exists now:
/// where a token of that scope, or a binding whose resource group
/// includes child scopes, reaches.
pub(crate) async fn scopes_within(store: &Store, scope: &Scope) -> Result<Vec<Scope>, ApiError> {
    let account = scope.account_id();
    let orgs = match scope {
        Scope::Account { .. } => store
            .organizations(account)
            .await?
            .into_iter()
            .map(|o| o.identifier)
            .collect(),
        Scope::Org { org, .. } => vec![org.clone()],
        Scope::Project { .. } => Vec::new(),
    };
    let mut scopes = vec![scope.clone()];
    for org in orgs {
        if scope.level() == rampart_auth::rbac::ScopeLevel::Account {
            scopes.push(Scope::org(account, org.as_str()));
        }
        for project in store.projects(account, &org).await? {
            scopes.push(Scope::project(
                account,
                org.as_str(),
                project.identifier.as_str(),
            ));
        }
    }
    Ok(scopes)
}

/// Harness's identifier rule: a letter or `_`, then letters, digits and
/// `_`, at most 128 characters.
pub(crate) fn check_identifier(what: &str, id: &str) -> Result<(), ApiError> {
    let mut chars = id.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if first_ok
        && id.len() <= MAX_IDENTIFIER
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "{what} `{}` is not an identifier: start with a letter or `_`, then letters, digits or `_`, at most {MAX_IDENTIFIER} characters",
            shorten(id)
        )))
    }
}

/// [`check_identifier`], and not `_`-prefixed: those names belong to
/// built-in roles and resource groups.
pub(crate) fn check_new_identifier(what: &str, id: &str) -> Result<(), ApiError> {
    check_identifier(what, id)?;
    if id.starts_with('_') {
        return Err(ApiError::BadRequest(format!(
            "{what} `{id}` starts with `_`, which is reserved for built-in names; choose another"
        )));
    }
    Ok(())
}

/// A display name: 1 to 128 characters, no control characters.
pub(crate) fn check_name(what: &str, name: &str) -> Result<(), ApiError> {
    let len = name.chars().count();
    if (1..=128).contains(&len) && !name.chars().any(char::is_control) && !name.trim().is_empty() {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "{what} must be 1 to 128 characters without control characters"
        )))
    }
}

/// A description: at most 1024 characters.
pub(crate) fn check_description(description: &str) -> Result<(), ApiError> {
    if description.chars().count() <= 1024 {
        Ok(())
    } else {
        Err(ApiError::BadRequest(
            "description is longer than 1024 characters".into(),
        ))
    }
}

/// At most 64 characters of user input, for messages.
pub(crate) fn shorten(text: &str) -> String {
    let mut out: String = text.chars().take(64).collect();
    if text.chars().count() > 64 {
        out.push('…');
    }
    out.escape_debug().to_string()
}

/// A new random id: `prefix` and 24 hex digits (96 bits).
pub(crate) fn new_id(prefix: &str) -> Result<String, ApiError> {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::internal("no randomness", e))?;
    let mut id = String::with_capacity(prefix.len() + 24);
    id.push_str(prefix);
    for b in bytes {
        id.push_str(&format!("{b:02x}"));
    }
    Ok(id)
}

/// Unix time in milliseconds.
pub(crate) fn now_ms() -> i64 {
    ms_of(std::time::SystemTime::now())
}

pub(crate) fn ms_of(at: std::time::SystemTime) -> i64 {
    at.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

pub(crate) fn time_of(ms: i64) -> std::time::SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_follow_harness() {
        for ok in ["a", "_x", "Org_1", &"a".repeat(128)] {
            check_identifier("org", ok).unwrap();
        }
        for bad in ["", "1a", "a-b", "a b", "é", &"a".repeat(129)] {
            assert!(check_identifier("org", bad).is_err(), "{bad}");
        }
        assert!(check_new_identifier("role", "_admin").is_err());
    }

    #[test]
    fn scope_queries_and_keys_round_trip() {
        let q = ScopeQuery {
            org: Some("o".into()),
            project: Some("p".into()),
        };
        let scope = q.scope("acc").unwrap();
        assert_eq!(scope, Scope::project("acc", "o", "p"));
        assert_eq!(scope_of(&key_of(&scope)), Some(scope));
        let orphan = ScopeQuery {
            org: None,
            project: Some("p".into()),
        };
        assert!(orphan.scope("acc").is_err());
        assert_eq!(
            ScopeQuery::default().scope("acc").unwrap(),
            Scope::account("acc")
        );
    }
}
