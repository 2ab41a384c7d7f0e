//! The API's error contract: every error is `{"code", "message"}` with a stable,
//! machine-readable code and the matching HTTP status. The status `match` has no catch-all
//! arm, so a new error kind does not compile until its status is decided. 5xx bodies never
//! carry internals; those are logged.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::{embed::EmbedError, store::StoreError, triage::TriageError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    InvalidJson(String),
    #[error("send the body as JSON with content-type: application/json")]
    UnsupportedMediaType,
    #[error("the request body exceeds {0} bytes")]
    BodyTooLarge(usize),
    #[error("{0}")]
    InvalidField(String),
    #[error("the inquiry text is empty")]
    EmptyText,
    #[error("{0}")]
    TextTooLong(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed for this endpoint")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    #[error("the model is still loading; try again shortly")]
    NotReady,
    #[error("the service is busy; try again shortly")]
    Overloaded,
    #[error("sign in, or send an API token as Authorization: Bearer")]
    Unauthorized,
    #[error("this needs the admin role")]
    Forbidden,
    /// The one answer to every failed login, whatever was wrong.
    #[error("user or password wrong")]
    LoginFailed,
    /// Seconds until the next request is allowed.
    #[error("too many requests; try again in {0} s")]
    RateLimited(u64),
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidJson(_) => "invalid_json",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::BodyTooLarge(_) => "body_too_large",
            Self::InvalidField(_) => "invalid_field",
            Self::EmptyText => "empty_text",
            Self::TextTooLong(_) => "text_too_long",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict(_) => "conflict",
            Self::NotReady => "not_ready",
            Self::Overloaded => "overloaded",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::LoginFailed => "login_failed",
            Self::RateLimited(_) => "rate_limited",
            Self::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidJson(_) => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::BodyTooLarge(_) | Self::TextTooLong(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::InvalidField(_) | Self::EmptyText => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::NotReady | Self::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unauthorized | Self::LoginFailed => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(detail) = &self {
            tracing::error!(error = %detail, "request failed");
        }
        let body = Json(json!({"code": self.code(), "message": self.to_string()}));
        let mut response = (self.status(), body).into_response();
        if let Self::RateLimited(seconds) = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => Self::Conflict(m),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<TriageError> for ApiError {
    fn from(e: TriageError) -> Self {
        match e {
            TriageError::Embed(EmbedError::Overloaded) => Self::Overloaded,
            other => Self::Internal(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_do_not_leak_details() {
        let e = ApiError::Internal("disk /secret full".into());
        assert_eq!(e.to_string(), "internal error");
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn rate_limited_answers_429_with_retry_after() {
        let r = ApiError::RateLimited(7).into_response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "7");
    }

    #[test]
    fn overload_maps_to_503() {
        let e: ApiError = TriageError::Embed(EmbedError::Overloaded).into();
        assert_eq!(e.code(), "overloaded");
        assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
