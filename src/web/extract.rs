//! Extractors whose rejections follow the API error contract instead of axum's plain-text
//! defaults: `ApiJson` (body), `ApiPath` (URL segments), `ApiQuery` (query string).
//! axum's rejection enums are `#[non_exhaustive]`, so they are mapped by the status axum
//! chose; the catch-all arms below keep axum's own classification.

use axum::{
    extract::{
        FromRequest, FromRequestParts, Path, Query, Request, State, rejection::JsonRejection,
    },
    http::{StatusCode, header::CONTENT_LENGTH, request::Parts},
    middleware::Next,
    response::Response,
};
use serde::de::DeserializeOwned;

use super::{ApiError, AppState};

pub struct ApiJson<T>(pub T);

/// The body limit of a route that differs from `server.max_body_bytes` (admin uploads),
/// set as a request extension beside axum's `DefaultBodyLimit`, so a 413 names the limit
/// that applied.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let limit = req
            .extensions()
            .get::<BodyLimit>()
            .map_or(state.config.server.max_body_bytes, |l| l.0);
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(rejection) => Err(json_rejection(rejection, limit)),
        }
    }
}

/// Refuses a request whose declared `Content-Length` exceeds the route's limit before a
/// byte of the body is read (and before `Expect: 100-continue` is answered), so a client
/// announcing a gigabyte learns at once and holds nothing.
pub(super) async fn refuse_declared_oversize(
    State(limit): State<BodyLimit>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(n) if n > limit.0 as u64 => Err(ApiError::BodyTooLarge(limit.0)),
        _ => Ok(next.run(request).await),
    }
}

fn json_rejection(r: JsonRejection, limit: usize) -> ApiError {
    if let Some(timeout) = super::server::body_timeout(&r) {
        return ApiError::RequestTimeout(timeout.0);
    }
    match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::BodyTooLarge(limit),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
        StatusCode::UNPROCESSABLE_ENTITY => ApiError::InvalidField(r.body_text()),
        _ => ApiError::InvalidJson(r.body_text()),
    }
}

/// Path segments; one that does not parse names nothing that exists, so it is a 404.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(Self(v)),
            Err(r) if r.status().is_server_error() => Err(ApiError::Internal(r.body_text())),
            Err(r) => Err(ApiError::NotFound(r.body_text())),
        }
    }
}

/// Query parameters; an unknown or mistyped one is an invalid field.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(Self(v)),
            Err(r) => Err(ApiError::InvalidField(r.body_text())),
        }
    }
}
