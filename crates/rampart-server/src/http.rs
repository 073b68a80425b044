//! The router: endpoints, their OpenAPI description, and the layers every request passes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Serialize;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::backend::{Backend, Core};
use crate::config::ServerConfig;
use crate::error::{ApiError, ErrorBody, ErrorInfo};

/// The request id header: taken from the client when well-formed, else generated.
pub(crate) const REQUEST_ID: &str = "x-request-id";

/// What handlers share.
#[derive(Clone)]
pub(crate) struct AppState {
    /// True while the server accepts work; false while starting and once shutdown begins.
    pub ready: Arc<AtomicBool>,
    /// The OpenAPI document, rendered once.
    openapi: Arc<String>,
    pub core: Arc<Core>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Rampart API",
        description = "Rampart's HTTP API. Authenticate with an API token (`x-api-key` or `Authorization: Bearer`) or a session cookie from `POST /api/auth/login` (writes with the cookie need its `x-csrf-token`). Scoped resources take `?org=&project=` (absent: the account). Every error has the `ErrorBody` shape; every response has an `x-request-id` header."
    ),
    components(schemas(ErrorBody)),
    modifiers(&Security)
)]
struct ApiDoc;

/// The credentials the API takes, declared for every operation.
struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-api-key"))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::authn::SESSION_COOKIE,
            ))),
        );
    }
}

/// What the gate and the layers do to every operation, documented once for
/// all so the document matches: the credentials it takes (none on the
/// public routes), and the error statuses it may answer with, each with the
/// `ErrorBody` shape (gate, body limit, timeout, catch-panic).
fn document_gate(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::security::SecurityRequirement;
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let credentials: Vec<SecurityRequirement> = ["api_key", "bearer", "session"]
        .into_iter()
        .map(|scheme| SecurityRequirement::new(scheme, Vec::<String>::new()))
        .collect();
    let statuses = [
        ("400", "The request is malformed or breaks a rule"),
        (
            "401",
            "No valid credential, or the IP allowlist refuses the address",
        ),
        (
            "403",
            "Not allowed, or a login step (second factor, password change, 2FA enrolment, CSRF token) is missing",
        ),
        ("404", "No such resource"),
        ("408", "The request took too long"),
        ("409", "Conflicts with the current state"),
        ("413", "The body is too large"),
        ("429", "Too many failed attempts; see Retry-After"),
        (
            "500",
            "Internal error; the server log has details under the request id",
        ),
        ("503", "Starting or shutting down"),
    ];
    for (path, item) in doc.paths.paths.iter_mut() {
        let public = crate::authn::PUBLIC.contains(&path.as_str());
        for operation in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            operation.security = Some(if public {
                vec![SecurityRequirement::default()]
            } else {
                credentials.clone()
            });
            for (status, description) in statuses {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| {
                        ResponseBuilder::new()
                            .description(description)
                            .content(
                                "application/json",
                                ContentBuilder::new()
                                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                                    .build(),
                            )
                            .build()
                            .into()
                    });
            }
        }
    }
}

/// The endpoints with their documentation; one list, so the router and the document cannot drift.
fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(openapi_json))
        .merge(crate::api::routes())
}

/// The OpenAPI 3 document of the whole API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = documented().split_for_parts().1;
    document_gate(&mut doc);
    doc
}

/// The router with every layer, for `config`; `extra` adds routes outside
/// the gate (tests use it for slow and panicking handlers).
pub(crate) fn app(
    config: &ServerConfig,
    ready: Arc<AtomicBool>,
    backend: &Backend,
    extra: Router<AppState>,
) -> Router {
    let (routes, mut doc) = documented().split_for_parts();
    document_gate(&mut doc);
    let openapi = serde_json::to_string(&doc).unwrap_or_else(|error| {
        tracing::error!(%error, "cannot render the OpenAPI document");
        String::from("{}")
    });
    let state = AppState {
        ready,
        openapi: Arc::new(openapi),
        core: backend.core.clone(),
    };
    routes
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::authn::gate,
        ))
        .merge(extra)
        .fallback(not_found)
        .with_state(state)
        .layer(DefaultBodyLimit::max(config.body_limit))
        .layer(RequestBodyLimitLayer::new(config.body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        .layer(CatchPanicLayer::custom(|_panic| {
            tracing::error!("a handler panicked");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }))
        .layer(middleware::from_fn(request_id_and_errors))
}

#[derive(Serialize, ToSchema)]
struct Status {
    /// `ok` or `ready`.
    status: &'static str,
}

/// Liveness: the process is up and serving HTTP.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "The server is alive", body = Status, example = json!({"status": "ok"}))))]
async fn healthz() -> Json<Status> {
    Json(Status { status: "ok" })
}

/// Readiness: 200 while the server takes work, 503 while it starts or shuts down.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "Ready for requests", body = Status, example = json!({"status": "ready"})),
        (status = 503, description = "Starting or shutting down", body = ErrorBody)))]
async fn readyz(State(state): State<AppState>) -> Result<Json<Status>, ApiError> {
    if state.ready.load(Ordering::SeqCst) {
        Ok(Json(Status { status: "ready" }))
    } else {
        Err(ApiError::NotReady("starting or shutting down"))
    }
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3 document of this API", content_type = "application/json")))]
async fn openapi_json(State(state): State<AppState>) -> Response {
    (
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        state.openapi.as_str().to_owned(),
    )
        .into_response()
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no endpoint at {}", uri.path()))
}

/// Gives the request an id, logs one line for it, and renders every error as an [`ErrorBody`].
async fn request_id_and_errors(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|value| well_formed_request_id(value))
        .map_or_else(new_request_id, str::to_string);
    let method = request.method().clone();
    // The path only: query strings may carry tokens.
    let path = request.uri().path().to_string();
    if let Ok(value) = HeaderValue::from_str(&id) {
        request.headers_mut().insert(REQUEST_ID, value);
    }
    let mut response = next.run(request).await;
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        response = error_response(response, &id);
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    tracing::info!(
        %method,
        path,
        status = status.as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        request_id = id,
        "request"
    );
    response
}

fn error_response(response: Response, request_id: &str) -> Response {
    let (mut parts, _body) = response.into_parts();
    let info = parts
        .extensions
        .remove::<ErrorInfo>()
        .unwrap_or_else(|| ErrorInfo::for_status(parts.status));
    let body = ErrorBody {
        code: info.code,
        message: info.message,
        request_id: request_id.to_string(),
        problems: info.problems,
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    parts.headers.remove(CONTENT_LENGTH);
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(parts, Body::from(bytes))
}

/// Accepts ids a proxy or client may have set: 1 to 128 of `A-Z a-z 0-9 - _ . :`.
fn well_formed_request_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// 128 random bits as 32 hex digits.
fn new_request_id() -> String {
    let mut bytes = [0u8; 16];
    if let Err(error) = getrandom::fill(&mut bytes) {
        tracing::error!(%error, "no randomness for a request id");
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_checked_and_random() {
        assert!(well_formed_request_id("abc-123_x.y:z"));
        assert!(!well_formed_request_id(""));
        assert!(!well_formed_request_id("has space"));
        assert!(!well_formed_request_id("new\nline"));
        assert!(!well_formed_request_id(&"a".repeat(129)));
        let (a, b) = (new_request_id(), new_request_id());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
