//! Rampart's HTTP API server: identity and access (DESIGN.md §3, §4
//! invariants 3–6).
//!
//! Every request passes one gate ([`authn`]): client address (trusted
//! proxies), the account's IP allowlist, then an API token or a session
//! cookie (with its login stage and CSRF token); handlers authorize through
//! one function ([`authz`]) over an in-memory snapshot of the RBAC policy
//! that every write invalidates ([`access`]). Security-relevant actions are
//! appended to a hash-chained audit log ([`audit_log`]). The API itself is
//! in [`api`]: accounts, organizations, projects, users, 2FA, user groups,
//! service accounts, API keys and tokens, roles, resource groups, role
//! bindings, auth settings, IP allowlists, audit; and the CI: pipelines,
//! secrets, runs and their live masked logs. Runs execute on the embedded
//! runner pool ([`runner`]), which takes them from the database queue.
//!
//! The transport is the skeleton every endpoint plugs into: one JSON error
//! shape (`code`, `message`, `request_id`), `x-request-id` on every
//! response, a catch-panic layer, body limit, request timeout, one log line
//! per request (never a body or credential), health and readiness, an
//! OpenAPI 3 document generated from the routes, HTTPS with rustls,
//! graceful shutdown.
//!
//! Deliberately not here: SSO, a web UI, runner agents on other machines.
//!
//! Entry points: [`Backend::open`] (database, keys, access state) and
//! [`Backend::bootstrap`] (the first account and administrator), then
//! [`Server::bind`] and [`Server::run`]; [`ShutdownSignal`] for SIGTERM and
//! Ctrl-C; [`openapi`]; [`verify_audit`] for `rampart audit verify`.

#![forbid(unsafe_code)]

mod access;
mod api;
mod audit_log;
mod authn;
mod authz;
mod backend;
mod config;
mod error;
mod http;
mod keys;
mod policy;
mod runner;
mod scope;
mod serve;
mod settings;
#[cfg(test)]
mod tests;

pub use audit_log::ChainReport;
pub use backend::{
    Backend, BackendConfig, DB_FILE, INITIAL_PASSWORD_FILE, InitialAdmin, ROOT_ACCOUNT,
    verify_audit,
};
pub use config::{DatabaseUrl, ServerConfig, TlsFiles, prepare_data_dir};
pub use error::{ApiError, ErrorBody, ServerError};
pub use http::openapi;
pub use keys::{MASTER_KEY_FILE, PEPPER_ENV, PEPPER_FILE};
pub use rampart_auth::allowlist::{Cidr, TrustedProxies};
pub use rampart_exec::{Namespaces, Network};
pub use runner::RunnerSettings;
pub use serve::{Server, ShutdownSignal};
