//! Errors: [`ServerError`] for starting the server, [`ApiError`] and its one JSON shape for HTTP.

use std::path::PathBuf;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// Why the server could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(
        "cannot listen on {addr}: {source} (is another process using it? pick another with --listen)"
    )]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot read the address the server is bound to: {0}")]
    LocalAddr(std::io::Error),
    #[error("cannot read the TLS certificate {path}: {reason} (check --tls-cert)")]
    TlsCert { path: PathBuf, reason: String },
    #[error("the TLS certificate file {path} holds no PEM certificate (check --tls-cert)")]
    TlsNoCert { path: PathBuf },
    #[error(
        "cannot read the TLS private key {path}: {reason} (check --tls-key: a PEM PKCS#8, PKCS#1 or SEC1 key)"
    )]
    TlsKey { path: PathBuf, reason: String },
    #[error(
        "the TLS certificate {cert} and key {key} do not fit together: {source} (give the key that belongs to the certificate)"
    )]
    TlsMismatch {
        cert: PathBuf,
        key: PathBuf,
        source: rustls::Error,
    },
    #[error(
        "cannot create the data directory {path}: {source} (check --data-dir and its parent's permissions)"
    )]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("unsupported database URL {shown}: use sqlite://PATH or postgres://USER@HOST/DB")]
    DatabaseUrl { shown: String },
    #[error("cannot listen for shutdown signals: {0}")]
    Signals(std::io::Error),
    #[error("cannot open the database: {0}")]
    Store(#[from] rampart_store::StoreError),
    #[error("cannot load the server's keys: {0}")]
    Keys(String),
    #[error("cannot set up the first account: {0}")]
    Bootstrap(String),
}

/// The body of every error response.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
#[schema(example = json!({"code": "not_found", "message": "no route for GET /nope", "request_id": "9f2c4e1a7b3d4c5e8f901a2b3c4d5e6f"}))]
pub struct ErrorBody {
    /// Stable, machine-readable: `not_found`, `method_not_allowed`, `payload_too_large`, ...
    pub code: String,
    /// What happened, for people.
    pub message: String,
    /// The request's `x-request-id`, to find it in the server's log.
    pub request_id: String,
    /// For `invalid_pipeline`: each problem with its line and column.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
}

/// One located problem in a pipeline's YAML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
pub struct Problem {
    pub line: u32,
    pub col: u32,
    pub message: String,
    /// What is supported instead, or how to fix it.
    pub help: Option<String>,
}

/// An HTTP error. Handlers return it; the request-id middleware renders it as an [`ErrorBody`].
/// Messages say what happened and what to do; they never hold a secret,
/// password or token.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed or breaks a rule.
    #[error("{0}")]
    BadRequest(String),
    /// 400 with code `invalid_pipeline`: the YAML does not validate; the
    /// message lists the problems as `file:line:col: message` lines.
    #[error("{message}")]
    InvalidPipeline {
        message: String,
        problems: Vec<Problem>,
    },
    /// 401: no credential, or one that does not work (deliberately vague).
    #[error("{0}")]
    Unauthenticated(String),
    /// 401 with code `ip_blocked`: the account's IP allowlist refuses the address.
    #[error("requests from {0} are not allowed by this account's IP allowlist")]
    IpBlocked(String),
    /// 403: authenticated, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// 403 with a login stage's code: the session must finish logging in first.
    #[error("{message}")]
    StageRequired { code: &'static str, message: String },
    #[error("{0}")]
    NotFound(String),
    /// 409: the resource exists, changed meanwhile, or is still in use.
    #[error("{0}")]
    Conflict(String),
    /// 429: too many attempts; retry after this many seconds.
    #[error("{message}")]
    TooManyAttempts { message: String, retry_after: u64 },
    #[error("the server is not ready: {0}")]
    NotReady(&'static str),
    /// 500: logged with details; the client sees only the request id.
    #[error("internal error; the server log has details under this request id")]
    Internal,
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::InvalidPipeline { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthenticated(_) | Self::IpBlocked(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::StageRequired { .. } => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::NotReady(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::InvalidPipeline { .. } => "invalid_pipeline",
            Self::Unauthenticated(_) => "unauthenticated",
            Self::IpBlocked(_) => "ip_blocked",
            Self::Forbidden(_) => "forbidden",
            Self::StageRequired { code, .. } => code,
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::TooManyAttempts { .. } => "too_many_attempts",
            Self::NotReady(_) => "not_ready",
            Self::Internal => "internal",
        }
    }

    /// Logs `error` (which may be long and technical) and returns the
    /// opaque 500 the client sees.
    pub(crate) fn internal(context: &str, error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "{context}");
        Self::Internal
    }
}

impl From<rampart_store::StoreError> for ApiError {
    fn from(error: rampart_store::StoreError) -> Self {
        match error {
            rampart_store::StoreError::Conflict(message) => Self::Conflict(message),
            other => Self::internal("database error", other),
        }
    }
}

/// Code and message of an error response, carried as a response extension until the
/// middleware that knows the request id writes the body.
#[derive(Debug, Clone)]
pub(crate) struct ErrorInfo {
    pub code: String,
    pub message: String,
    pub problems: Vec<Problem>,
}

impl ErrorInfo {
    /// The generic error for a status a layer or axum produced without an [`ApiError`].
    pub fn for_status(status: StatusCode) -> Self {
        let code = match status {
            StatusCode::BAD_REQUEST => "bad_request",
            StatusCode::UNAUTHORIZED => "unauthenticated",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
            StatusCode::REQUEST_TIMEOUT => "request_timeout",
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::UNPROCESSABLE_ENTITY => "unprocessable_entity",
            StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            s if s.is_server_error() => "internal",
            _ => "error",
        };
        let message = match status {
            StatusCode::METHOD_NOT_ALLOWED => {
                "this method is not allowed on this path (see the Allow header)".to_string()
            }
            StatusCode::REQUEST_TIMEOUT => "the request took too long and was stopped".to_string(),
            StatusCode::PAYLOAD_TOO_LARGE => {
                "the request body is larger than the server accepts".to_string()
            }
            s if s.is_server_error() => {
                "internal error; the server log has details under this request id".to_string()
            }
            s => s.canonical_reason().unwrap_or("error").to_lowercase(),
        };
        Self {
            code: code.to_string(),
            message,
            problems: Vec::new(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status().into_response();
        if let Self::TooManyAttempts { retry_after, .. } = &self
            && let Ok(value) = axum::http::HeaderValue::from_str(&retry_after.to_string())
        {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, value);
        }
        let problems = match &self {
            Self::InvalidPipeline { problems, .. } => problems.clone(),
            _ => Vec::new(),
        };
        response.extensions_mut().insert(ErrorInfo {
            code: self.code().to_string(),
            message: self.to_string(),
            problems,
        });
        response
    }
}
