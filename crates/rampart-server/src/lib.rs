//! Rampart's HTTP API server.
//!
//! For now: the skeleton every later endpoint plugs into — one JSON error shape
//! (`code`, `message`, `request_id`) for every failure, an `x-request-id` on
//! every response, a catch-panic layer, a request body limit, a request
//! timeout, one log line per request, health and readiness endpoints, an
//! OpenAPI 3 document generated from the routes themselves, HTTPS with rustls,
//! and graceful shutdown (readiness turns 503, no new connections, in-flight
//! requests finish within a grace period).
//!
//! Deliberately not here yet: persistence, authentication and authorization
//! (issue 5 adds them on top of [`router`]).
//!
//! Entry points: [`Server::bind`] then [`Server::run`]; [`ShutdownSignal`] for
//! SIGTERM/Ctrl-C; [`openapi`] for the API description; [`prepare_data_dir`]
//! and [`DatabaseUrl`] for the command line's settings.

#![forbid(unsafe_code)]

mod config;
mod error;
mod http;
mod serve;
#[cfg(test)]
mod tests;

pub use config::{DatabaseUrl, ServerConfig, TlsFiles, prepare_data_dir};
pub use error::{ApiError, ErrorBody, ServerError};
pub use http::{openapi, router};
pub use serve::{Server, ShutdownSignal};
