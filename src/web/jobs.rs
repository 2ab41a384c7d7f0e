//! `/api/v1/admin/jobs`: the pipeline's queue as admins see it (ids, states, attempts and
//! error kinds, never personal data) and retrying dead jobs.

use axum::{Json, extract::State, http::Method};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{
    ApiError, AppState, Route,
    auth::{Caller, Identity},
    extract::{ApiPath, ApiQuery},
};
use crate::store::{Job, JobState};

/// Most jobs listed at once.
const MAX_LISTED: i64 = 500;

pub fn routes() -> Vec<Route> {
    vec![
        Route::admin(Method::GET, "/api/v1/admin/jobs", list),
        Route::admin(Method::POST, "/api/v1/admin/jobs/{id}/retry", retry),
    ]
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    state: Option<String>,
    limit: Option<i64>,
}

async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let filter = match q.state.as_deref() {
        None => None,
        Some(s) => Some(JobState::parse(s).ok_or_else(|| {
            ApiError::InvalidField(format!(
                "state '{s}' is unknown; use queued, running, done or dead"
            ))
        })?),
    };
    let limit = q.limit.unwrap_or(100).clamp(1, MAX_LISTED);
    let jobs: Vec<JobView> = state
        .store
        .jobs(filter, limit)
        .await?
        .iter()
        .map(JobView::from)
        .collect();
    Ok(Json(json!({ "jobs": jobs })))
}

/// A job as the API shows it: ids, counters and times, no personal data.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct JobView {
    id: i64,
    kind: &'static str,
    inquiry_id: Option<i64>,
    state: &'static str,
    attempts: i64,
    max_attempts: i64,
    /// Milliseconds since the epoch.
    run_at: i64,
    locked_until: Option<i64>,
    locked_by: Option<String>,
    last_error: Option<String>,
    created_at: String,
    updated_at: String,
}

impl From<&Job> for JobView {
    fn from(j: &Job) -> Self {
        Self {
            id: j.id,
            kind: j.kind.as_str(),
            inquiry_id: j.inquiry_id,
            state: j.state.as_str(),
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            run_at: j.run_at,
            locked_until: j.locked_until,
            locked_by: j.locked_by.clone(),
            last_error: j.last_error.clone(),
            created_at: j.created_at.clone(),
            updated_at: j.updated_at.clone(),
        }
    }
}

async fn retry(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::NotFound(format!("no job {id}")))?;
    retry_dead(&state, &caller, id).await?;
    Ok(Json(json!({"id": id, "state": "queued"})))
}

/// Queues the dead job `id` again and audits it (the API and the admin page).
pub(super) async fn retry_dead(
    state: &AppState,
    caller: &Identity,
    id: i64,
) -> Result<(), ApiError> {
    match state.store.retry_job(id).await? {
        None => Err(ApiError::NotFound(format!("no job {id}"))),
        Some(false) => Err(ApiError::Conflict(format!(
            "job {id} is not dead; only dead jobs can be retried"
        ))),
        Some(true) => {
            state
                .store
                .append_audit(&caller.actor, "job.retry", &format!("job:{id}"), &json!({}))
                .await?;
            state.pipeline.nudge();
            Ok(())
        }
    }
}
