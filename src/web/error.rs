//! The API's error contract: every error is `{"code", "message"}` with a stable,
//! machine-readable code and the matching HTTP status (the table in README.md, "HTTP API",
//! is checked against this file by a test). Every `match` here, including those over the
//! errors of the layers below, has no catch-all arm, so a new error kind does not compile
//! until its status is decided. 5xx bodies never carry internals; those are logged.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header::RETRY_AFTER},
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::{embed::EmbedError, index::IndexError, store::StoreError, triage::TriageError};

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
    /// Seconds until the client's next request is allowed.
    #[error("too many requests; try again in {0} s")]
    RateLimited(u32),
    /// A reply the checker flagged: values that are neither in the catalogue nor in the
    /// case, or gap markers; the body lists the spans.
    #[error("the reply states {} value(s) the catalogue and the case do not have; correct them or send with \"confirm\": true", .0.len())]
    ReplyFlagged(Vec<crate::reply::Flag>),
    /// The body did not arrive within `server.body_timeout_seconds` (the seconds).
    #[error("the request body did not arrive within {0} s")]
    RequestTimeout(u64),
    #[error("too many open connections from your address; close one and try again")]
    TooManyConnections,
    #[error("the server has too many open connections; try again shortly")]
    ServerFull,
    #[error("too many inquiries are waiting to be decided; try again later")]
    BacklogFull,
    #[error("this Idempotency-Key was used for a different request")]
    IdempotencyKeyReused,
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// One error of each kind. The `match` in the tests' `ordinal` has no catch-all arm,
    /// so a new kind does not compile until it has an ordinal; the test then fails until it
    /// is listed here.
    pub fn one_of_each() -> Vec<Self> {
        vec![
            Self::InvalidJson(String::new()),
            Self::UnsupportedMediaType,
            Self::BodyTooLarge(1),
            Self::InvalidField(String::new()),
            Self::EmptyText,
            Self::TextTooLong(String::new()),
            Self::NotFound(String::new()),
            Self::MethodNotAllowed,
            Self::Conflict(String::new()),
            Self::NotReady,
            Self::Overloaded,
            Self::Internal(String::new()),
            Self::Unauthorized,
            Self::Forbidden,
            Self::LoginFailed,
            Self::RateLimited(7),
            Self::ReplyFlagged(Vec::new()),
            Self::RequestTimeout(60),
            Self::TooManyConnections,
            Self::ServerFull,
            Self::BacklogFull,
            Self::IdempotencyKeyReused,
        ]
    }

    /// An error with `code` (the OpenAPI document lists each route's codes and statuses).
    pub fn example(code: &str) -> Option<Self> {
        Self::one_of_each().into_iter().find(|e| e.code() == code)
    }

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
            Self::ReplyFlagged(_) => "reply_flagged",
            Self::RequestTimeout(_) => "request_timeout",
            Self::TooManyConnections => "too_many_connections",
            Self::ServerFull => "server_full",
            Self::BacklogFull => "backlog_full",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidJson(_) => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::BodyTooLarge(_) | Self::TextTooLong(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::InvalidField(_)
            | Self::EmptyText
            | Self::ReplyFlagged(_)
            | Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::NotReady | Self::ServerFull | Self::BacklogFull => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            // As text-embeddings-inference does: a full queue asks the client to slow down.
            Self::Overloaded | Self::RateLimited(_) | Self::TooManyConnections => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::Unauthorized | Self::LoginFailed => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Seconds after which trying again may succeed (`Retry-After`), for errors that pass.
    pub fn retry_after(&self) -> Option<u32> {
        match self {
            Self::Overloaded | Self::TooManyConnections | Self::ServerFull => Some(1),
            // The backlog drains at the model's pace: tens of inquiries a second.
            Self::BacklogFull => Some(30),
            // Loading the model and indexing the catalogue take seconds.
            Self::NotReady => Some(5),
            Self::RateLimited(seconds) => Some(*seconds),
            Self::InvalidJson(_)
            | Self::UnsupportedMediaType
            | Self::BodyTooLarge(_)
            | Self::InvalidField(_)
            | Self::EmptyText
            | Self::TextTooLong(_)
            | Self::NotFound(_)
            | Self::MethodNotAllowed
            | Self::Conflict(_)
            | Self::Unauthorized
            | Self::Forbidden
            | Self::LoginFailed
            | Self::ReplyFlagged(_)
            | Self::RequestTimeout(_)
            | Self::IdempotencyKeyReused
            | Self::Internal(_) => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(detail) = &self {
            tracing::error!(error = %detail, "request failed");
        }
        let mut body = json!({"code": self.code(), "message": self.to_string()});
        if let Self::ReplyFlagged(flags) = &self {
            body["flags"] = json!(flags);
        }
        let body = Json(body);
        let mut response = (self.status(), body).into_response();
        if let Some(seconds) = self.retry_after() {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Database(_)
            | StoreError::Migrate(_)
            | StoreError::Location(..)
            | StoreError::Corrupt(_) => Self::Internal(e.to_string()),
            StoreError::Conflict(m) => Self::Conflict(m),
        }
    }
}

impl From<EmbedError> for ApiError {
    fn from(e: EmbedError) -> Self {
        match e {
            EmbedError::Overloaded => Self::Overloaded,
            EmbedError::Stopped | EmbedError::Tokenizer(_) | EmbedError::Inference(_) => {
                Self::Internal(e.to_string())
            }
        }
    }
}

impl From<IndexError> for ApiError {
    fn from(e: IndexError) -> Self {
        match e {
            IndexError::Io(_)
            | IndexError::NoCollection(_)
            | IndexError::Dimension { .. }
            | IndexError::Backend(_) => Self::Internal(e.to_string()),
        }
    }
}

impl From<TriageError> for ApiError {
    fn from(e: TriageError) -> Self {
        match e {
            TriageError::Embed(e) => e.into(),
            TriageError::Index(e) => e.into(),
            TriageError::Store(e) => e.into(),
            // A model version that cannot serve the catalogue: the message says why and what to do.
            TriageError::ModelDoesNotFit(problem) => Self::Conflict(problem),
            TriageError::EmptyIndex | TriageError::Model(_) => Self::Internal(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests;
