//! Bounded request handling: at most `server.max_concurrent_requests` API requests are in
//! flight at once; one more is answered at once with `429 overloaded` and `Retry-After`
//! instead of waiting in an unbounded queue. Health checks are not counted.

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
use tokio::sync::Semaphore;

use super::ApiError;

/// Runs the request while holding one of the permits, or refuses it when none is free.
pub(super) async fn admit(
    State(permits): State<Arc<Semaphore>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let _permit = permits.try_acquire().map_err(|_| ApiError::Overloaded)?;
    Ok(next.run(request).await)
}
