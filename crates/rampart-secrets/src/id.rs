//! Identifiers, scopes and references, with Harness's rules.

use std::fmt;

/// The longest identifier Harness accepts.
const MAX_LEN: usize = 128;

/// Words Harness refuses as identifiers because expressions give them a
/// meaning of their own.
const RESERVED: &[&str] = &[
    "or", "and", "eq", "ne", "lt", "gt", "le", "ge", "div", "mod", "not", "null", "true", "false",
    "new", "var", "return",
];

/// Why a string is not an identifier. The offending string itself is never
/// repeated (it may be a value pasted in the wrong place); only its length
/// or the character at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("it is empty; use 1 to 128 letters, digits or `_`, starting with a letter or `_`")]
    Empty,
    #[error("it is {0} characters long; Harness allows at most 128")]
    TooLong(usize),
    #[error("it starts with `{0}`; it must start with a letter or `_`")]
    BadStart(char),
    #[error("it contains `{ch}` at position {position}; only letters, digits and `_` are allowed")]
    BadChar { ch: char, position: usize },
    #[error("`{0}` is a reserved word in Harness expressions; choose another identifier")]
    Reserved(String),
}

/// A Harness identifier: `^[a-zA-Z_][0-9a-zA-Z_]{0,127}$` (the pattern of
/// Harness's pipeline schema), minus the words expressions reserve.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identifier(String);

impl Identifier {
    pub fn new(s: &str) -> Result<Self, IdError> {
        let mut chars = s.chars();
        let first = chars.next().ok_or(IdError::Empty)?;
        let len = s.chars().count();
        if len > MAX_LEN {
            return Err(IdError::TooLong(len));
        }
        if !(first.is_ascii_alphabetic() || first == '_') {
            return Err(IdError::BadStart(first));
        }
        if let Some((index, ch)) = chars
            .enumerate()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
        {
            return Err(IdError::BadChar {
                ch,
                position: index + 2,
            });
        }
        if RESERVED.contains(&s) {
            return Err(IdError::Reserved(s.to_string()));
        }
        Ok(Identifier(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why an org/project pair is not a scope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("invalid org identifier: {0}")]
    Org(IdError),
    #[error("invalid project identifier: {0}")]
    Project(IdError),
    #[error("a project scope needs its org too: pass the org identifier as well")]
    ProjectWithoutOrg,
}

/// Where a secret lives, as in Harness: the account, an org, or a project
/// of an org. A pipeline sees its own project's secrets, its org's
/// (`org.x`) and the account's (`account.x`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Account,
    Org {
        org: Identifier,
    },
    Project {
        org: Identifier,
        project: Identifier,
    },
}

impl Scope {
    /// No org: account; an org: that org; an org and a project: the project.
    pub fn new(org: Option<&str>, project: Option<&str>) -> Result<Self, ScopeError> {
        match (org, project) {
            (None, None) => Ok(Scope::Account),
            (None, Some(_)) => Err(ScopeError::ProjectWithoutOrg),
            (Some(org), None) => Ok(Scope::Org {
                org: Identifier::new(org).map_err(ScopeError::Org)?,
            }),
            (Some(org), Some(project)) => Ok(Scope::Project {
                org: Identifier::new(org).map_err(ScopeError::Org)?,
                project: Identifier::new(project).map_err(ScopeError::Project)?,
            }),
        }
    }

    pub fn org(&self) -> Option<&Identifier> {
        match self {
            Scope::Account => None,
            Scope::Org { org } | Scope::Project { org, .. } => Some(org),
        }
    }

    pub fn project(&self) -> Option<&Identifier> {
        match self {
            Scope::Project { project, .. } => Some(project),
            _ => None,
        }
    }
}

impl fmt::Display for Scope {
    /// `account`, `org O`, `project O/P`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Account => f.write_str("account"),
            Scope::Org { org } => write!(f, "org {org}"),
            Scope::Project { org, project } => write!(f, "project {org}/{project}"),
        }
    }
}

/// Why `<+secrets.getValue(ID)>`'s ID does not name a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    #[error(
        "secret reference is not valid: the identifier{}: {source}",
        after(prefix)
    )]
    Identifier {
        prefix: &'static str,
        source: IdError,
    },
    #[error(
        "secret reference has more than one `.`: use `ID` (project scope), `org.ID` or `account.ID`"
    )]
    Shape,
    #[error(
        "`{reference}` names an org secret, but the pipeline has no orgIdentifier: set it, or use `account.{id}`"
    )]
    NeedsOrg { reference: String, id: String },
    #[error(
        "`{reference}` names a project secret, but the pipeline has no {missing}: set orgIdentifier and projectIdentifier, or use `org.{reference}` / `account.{reference}`"
    )]
    NeedsProject {
        reference: String,
        missing: &'static str,
    },
    #[error("the pipeline's scope is not valid: {0}")]
    PipelineScope(ScopeError),
}

fn after(prefix: &str) -> String {
    if prefix.is_empty() {
        String::new()
    } else {
        format!(" after `{prefix}`")
    }
}

/// One secret: its scope and identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretRef {
    pub scope: Scope,
    pub id: Identifier,
}

impl SecretRef {
    pub fn new(scope: Scope, id: Identifier) -> Self {
        SecretRef { scope, id }
    }

    /// Resolves an expression's id as Harness does: `x` is in the pipeline's
    /// project (`org`/`project` are its `orgIdentifier`/`projectIdentifier`),
    /// `org.x` in its org, `account.x` in the account.
    pub fn parse(id: &str, org: Option<&str>, project: Option<&str>) -> Result<Self, RefError> {
        let (prefix, rest) = match id.split_once('.') {
            Some(("account", rest)) => ("account.", rest),
            Some(("org", rest)) => ("org.", rest),
            Some(_) => return Err(RefError::Shape),
            None => ("", id),
        };
        if rest.contains('.') {
            return Err(RefError::Shape);
        }
        let identifier =
            Identifier::new(rest).map_err(|source| RefError::Identifier { prefix, source })?;
        let scope = match prefix {
            "account." => Scope::Account,
            "org." => {
                let org = org.ok_or_else(|| RefError::NeedsOrg {
                    reference: id.to_string(),
                    id: rest.to_string(),
                })?;
                Scope::new(Some(org), None).map_err(RefError::PipelineScope)?
            }
            _ => {
                let missing = match (org, project) {
                    (None, None) => Some("orgIdentifier or projectIdentifier"),
                    (None, Some(_)) => Some("orgIdentifier"),
                    (Some(_), None) => Some("projectIdentifier"),
                    (Some(_), Some(_)) => None,
                };
                if let Some(missing) = missing {
                    return Err(RefError::NeedsProject {
                        reference: id.to_string(),
                        missing,
                    });
                }
                Scope::new(org, project).map_err(RefError::PipelineScope)?
            }
        };
        Ok(SecretRef::new(scope, identifier))
    }

    /// How a pipeline of this secret's own project refers to it:
    /// `x`, `org.x` or `account.x`.
    pub fn expression(&self) -> String {
        match &self.scope {
            Scope::Account => format!("account.{}", self.id),
            Scope::Org { .. } => format!("org.{}", self.id),
            Scope::Project { .. } => self.id.to_string(),
        }
    }
}

impl fmt::Display for SecretRef {
    /// `` `x` (project o/p) ``, for messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` ({})", self.id, self.scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_follow_harness_rules() {
        for ok in ["a", "_", "A_b9", "_9", &"x".repeat(128)] {
            assert_eq!(Identifier::new(ok).unwrap().as_str(), ok);
        }
        assert_eq!(Identifier::new(""), Err(IdError::Empty));
        assert_eq!(
            Identifier::new(&"x".repeat(129)),
            Err(IdError::TooLong(129))
        );
        assert_eq!(Identifier::new("9a"), Err(IdError::BadStart('9')));
        assert_eq!(Identifier::new("-a"), Err(IdError::BadStart('-')));
        assert_eq!(
            Identifier::new("my-token"),
            Err(IdError::BadChar {
                ch: '-',
                position: 3
            })
        );
        assert!(matches!(
            Identifier::new("a.b"),
            Err(IdError::BadChar { ch: '.', .. })
        ));
        assert!(matches!(Identifier::new("é"), Err(IdError::BadStart('é'))));
        assert_eq!(
            Identifier::new("null"),
            Err(IdError::Reserved("null".into()))
        );
        assert!(Identifier::new("nullable").is_ok());
    }

    #[test]
    fn id_errors_never_repeat_the_rejected_string() {
        let pasted = "s3cr3t-v@lue-1234";
        let message = Identifier::new(pasted).unwrap_err().to_string();
        assert!(!message.contains(pasted), "{message}");
        assert!(message.contains("position 7"), "{message}");
    }

    #[test]
    fn scopes_from_org_and_project() {
        assert_eq!(Scope::new(None, None), Ok(Scope::Account));
        let org = Scope::new(Some("o"), None).unwrap();
        assert_eq!(org.to_string(), "org o");
        let project = Scope::new(Some("o"), Some("p")).unwrap();
        assert_eq!(project.to_string(), "project o/p");
        assert_eq!(project.org().unwrap().as_str(), "o");
        assert_eq!(project.project().unwrap().as_str(), "p");
        assert_eq!(
            Scope::new(None, Some("p")),
            Err(ScopeError::ProjectWithoutOrg)
        );
        assert!(matches!(
            Scope::new(Some("o-1"), None),
            Err(ScopeError::Org(_))
        ));
        assert!(matches!(
            Scope::new(Some("o"), Some("1p")),
            Err(ScopeError::Project(_))
        ));
    }

    #[test]
    fn references_resolve_like_harness() {
        let project = SecretRef::parse("tok", Some("o"), Some("p")).unwrap();
        assert_eq!(project.scope, Scope::new(Some("o"), Some("p")).unwrap());
        assert_eq!(project.id.as_str(), "tok");
        assert_eq!(project.expression(), "tok");
        assert_eq!(project.to_string(), "`tok` (project o/p)");

        let org = SecretRef::parse("org.tok", Some("o"), Some("p")).unwrap();
        assert_eq!(org.scope, Scope::new(Some("o"), None).unwrap());
        assert_eq!(org.expression(), "org.tok");

        let account = SecretRef::parse("account.tok", None, None).unwrap();
        assert_eq!(account.scope, Scope::Account);
        assert_eq!(account.expression(), "account.tok");
    }

    #[test]
    fn bad_references_say_what_to_write() {
        let needs = SecretRef::parse("tok", None, None).unwrap_err();
        assert!(matches!(needs, RefError::NeedsProject { .. }));
        assert!(needs.to_string().contains("account.tok"), "{needs}");
        let needs_project = SecretRef::parse("tok", Some("o"), None).unwrap_err();
        assert!(needs_project.to_string().contains("no projectIdentifier"));
        let needs_org = SecretRef::parse("org.tok", None, Some("p")).unwrap_err();
        assert!(matches!(needs_org, RefError::NeedsOrg { .. }));

        for shape in ["project.tok", "a.b.c", "account.a.b"] {
            assert_eq!(
                SecretRef::parse(shape, Some("o"), Some("p")),
                Err(RefError::Shape)
            );
        }
        assert!(matches!(
            SecretRef::parse("org.", Some("o"), Some("p")),
            Err(RefError::Identifier {
                prefix: "org.",
                source: IdError::Empty
            })
        ));
        assert!(matches!(
            SecretRef::parse("tok", Some("bad-org"), Some("p")),
            Err(RefError::PipelineScope(ScopeError::Org(_)))
        ));
    }
}
