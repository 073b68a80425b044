//! The API's endpoints, one module per area. Each handler authenticates
//! through the [`Caller`](crate::authn::Caller) the gate put on the request
//! and authorizes through [`Caller::authorize`](crate::authn::Caller), the
//! one decision function.

pub(crate) mod accounts;
pub(crate) mod audit;
pub(crate) mod keys;
pub(crate) mod login;
pub(crate) mod logs;
pub(crate) mod me;
pub(crate) mod pipelines;
pub(crate) mod rbac;
pub(crate) mod runs;
pub(crate) mod secrets;
pub(crate) mod service_accounts;
pub(crate) mod settings;
pub(crate) mod user_groups;
pub(crate) mod users;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;
use crate::http::AppState;

/// Every endpoint of the API below `/api`, with its documentation.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(login::routes())
        .merge(me::routes())
        .merge(keys::routes())
        .merge(accounts::routes())
        .merge(users::routes())
        .merge(user_groups::routes())
        .merge(service_accounts::routes())
        .merge(rbac::routes())
        .merge(settings::routes())
        .merge(audit::routes())
        .merge(pipelines::routes())
        .merge(runs::routes())
        .merge(logs::routes())
        .merge(secrets::routes())
}

/// A JSON body whose rejections (wrong content type, malformed JSON,
/// unknown or missing fields) are 400s that say what is wrong.
pub(crate) struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(ApiError::BadRequest(format!(
                "the request body is not what this endpoint takes: {}",
                rejection.body_text()
            ))),
        }
    }
}

/// Query parameters whose rejections are 400s that say what is wrong.
pub(crate) struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(rejection) => Err(ApiError::BadRequest(format!(
                "the query parameters are not what this endpoint takes: {}",
                rejection.body_text()
            ))),
        }
    }
}

/// Path parameters whose rejections are 400s.
pub(crate) struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => Err(ApiError::BadRequest(format!(
                "the path is not what this endpoint takes: {}",
                rejection.body_text()
            ))),
        }
    }
}

/// 204 No Content.
pub(crate) fn no_content() -> axum::http::StatusCode {
    axum::http::StatusCode::NO_CONTENT
}
