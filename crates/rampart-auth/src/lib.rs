//! Identity and access primitives for the server (DESIGN.md §4, invariants 3–6).
//!
//! Pure logic with no I/O and no HTTP: the server and the store call into it.
//! Credentials: [`password`] (Argon2id and the password policy), [`totp`]
//! (RFC 6238 second factor and recovery codes), [`token`] (API token format,
//! keyed hashing, constant-time checks), [`session`] (session cookie secrets,
//! CSRF tokens, login stages), [`lockout`] (login rate limiting).
//! Authorization: [`rbac`] (Harness's permissions, roles, resource groups,
//! bindings and the one decision function), [`allowlist`] (IP allowlists and
//! trusted proxies). Accountability: [`audit`] (the hash-chained event log).

#![forbid(unsafe_code)]

pub mod allowlist;
pub mod audit;
pub mod lockout;
pub mod password;
pub mod rbac;
pub mod session;
pub mod token;
pub mod totp;
