//! Extractors whose rejections follow the API error contract instead of axum's plain-text
//! defaults: `ApiJson` (body), `ApiPath` (URL segments), `ApiQuery` (query string).
//! axum's rejection enums are `#[non_exhaustive]`, so they are mapped by the status axum
//! chose; the catch-all arms below keep axum's own classification.

use axum::{
    extract::{FromRequest, FromRequestParts, Path, Query, Request, rejection::JsonRejection},
    http::{StatusCode, request::Parts},
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

fn json_rejection(r: JsonRejection, limit: usize) -> ApiError {
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
