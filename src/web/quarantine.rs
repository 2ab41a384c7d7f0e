//! `/api/v1/admin/quarantine`: the mail messages the parser crashed on — quarantined ones
//! and those still retried — with counters, times and how the parser ended, never content
//! (`anliegen mail quarantine --export` writes a raw message for analysis).

use axum::{Json, extract::State, http::Method};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, AppState, Route, extract::ApiQuery};

/// Most messages listed at once.
const MAX_LISTED: i64 = 500;

pub fn routes() -> Vec<Route> {
    vec![Route::admin(Method::GET, "/api/v1/admin/quarantine", list)]
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<i64>,
}

async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = q.limit.unwrap_or(100).clamp(1, MAX_LISTED);
    let messages = state.store.quarantine(limit).await?;
    Ok(Json(json!({
        "quarantine_after": state.config.mail.parse.quarantine_after,
        "messages": messages,
    })))
}
