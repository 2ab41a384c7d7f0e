//! A JSON body extractor whose rejections follow the API error contract instead of axum's
//! plain-text defaults.

use axum::{
    extract::{FromRequest, Request, rejection::JsonRejection},
    http::StatusCode,
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
            Err(rejection) => Err(map_rejection(rejection, limit)),
        }
    }
}

fn map_rejection(r: JsonRejection, limit: usize) -> ApiError {
    match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::BodyTooLarge(limit),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
        StatusCode::UNPROCESSABLE_ENTITY => ApiError::InvalidField(r.body_text()),
        _ => ApiError::InvalidJson(r.body_text()),
    }
}
