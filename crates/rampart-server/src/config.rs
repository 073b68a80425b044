//! What the server is told at start: where to listen, TLS files, limits, the data directory.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::ServerError;

/// Everything [`crate::Server::bind`] needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on; port 0 picks a free port (read it back with `Server::local_addr`).
    pub listen: SocketAddr,
    /// Serve HTTPS only, with this certificate chain and key, when set.
    pub tls: Option<TlsFiles>,
    /// Largest request body accepted, in bytes; larger ones get 413.
    pub body_limit: usize,
    /// Longest a request may take before it gets 408.
    pub request_timeout: Duration,
    /// How long in-flight requests may run on after shutdown starts before they are dropped.
    pub shutdown_grace: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            tls: None,
            body_limit: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// PEM files for HTTPS.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// The leaf certificate's private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// A validated database URL (`sqlite://` or `postgres://`). Its `Display` hides any password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Accepts `sqlite://...`, `postgres://...` and `postgresql://...`.
    pub fn parse(url: &str) -> Result<Self, ServerError> {
        let ok = ["sqlite://", "postgres://", "postgresql://"]
            .iter()
            .any(|scheme| url.starts_with(scheme) && url.len() > scheme.len());
        if ok {
            Ok(Self(url.to_string()))
        } else {
            Err(ServerError::DatabaseUrl {
                shown: Self(url.to_string()).to_string(),
            })
        }
    }

    /// The URL as given, password included: for the database driver only, never for logs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.split_once("://") {
            Some((scheme, rest)) => match rest.split_once('@') {
                Some((userinfo, host)) => {
                    let user = userinfo.split(':').next().unwrap_or_default();
                    write!(f, "{scheme}://{user}:***@{host}")
                }
                None => write!(f, "{scheme}://{rest}"),
            },
            None => f.write_str("(not a URL)"),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// Creates the data directory (and parents) and makes it 0700: it will hold the database and keys.
pub fn prepare_data_dir(path: &Path) -> Result<(), ServerError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let error = |source| ServerError::DataDir {
        path: path.to_path_buf(),
        source,
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(error)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).map_err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_are_checked_and_passwords_hidden() {
        let url = DatabaseUrl::parse("postgres://ci:hunter2@db:5432/rampart").unwrap();
        assert_eq!(url.to_string(), "postgres://ci:***@db:5432/rampart");
        assert!(!format!("{url:?}").contains("hunter2"));
        assert_eq!(url.expose(), "postgres://ci:hunter2@db:5432/rampart");
        assert!(DatabaseUrl::parse("sqlite:///var/lib/rampart/db").is_ok());
        let error = DatabaseUrl::parse("mysql://u:secretpw@h/db").unwrap_err();
        let message = error.to_string();
        assert!(message.contains("sqlite://"), "{message}");
        assert!(!message.contains("secretpw"), "{message}");
        assert!(DatabaseUrl::parse("postgres://").is_err());
    }

    #[test]
    fn data_dir_is_created_private() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        prepare_data_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        prepare_data_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "an existing directory is tightened");
    }
}
