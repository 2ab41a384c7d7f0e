//! `/api/v1/admin/services/{service}/reply`: how far replies for a service go without a
//! clerk (`suggest`, `draft`, `auto`; README, "Suggested replies") and the templates clerks
//! saved for it (every version, newest first).

use axum::{Json, extract::State, http::Method, response::IntoResponse};
use serde::Deserialize;
use serde_json::json;

use super::{
    ApiError, AppState, Route,
    auth::Caller,
    extract::{ApiJson, ApiPath},
};
use crate::reply::{Autonomy, case};

pub fn routes() -> Vec<Route> {
    vec![
        Route::admin(Method::GET, "/api/v1/admin/services/{service}/reply", show),
        Route::admin(Method::PUT, "/api/v1/admin/services/{service}/reply", set),
    ]
}

fn known_service(state: &AppState, service: &str) -> Result<(), ApiError> {
    let ready = state.ready()?;
    match ready.catalogue.service(service) {
        Some(_) => Ok(()),
        None => Err(ApiError::NotFound(format!(
            "no service '{service}' in the catalogue"
        ))),
    }
}

async fn show(
    State(state): State<AppState>,
    ApiPath(service): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    known_service(&state, &service)?;
    let autonomy = case::autonomy(&state.store, &state.config.reply, &service).await?;
    let templates = state.store.reply_templates(&service).await?;
    Ok(Json(json!({
        "service": service,
        "autonomy": autonomy,
        "templates": templates,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetBody {
    autonomy: String,
}

async fn set(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(service): ApiPath<String>,
    ApiJson(body): ApiJson<SetBody>,
) -> Result<impl IntoResponse, ApiError> {
    let autonomy = Autonomy::parse(&body.autonomy).ok_or_else(|| {
        ApiError::InvalidField(format!(
            "autonomy '{}': use \"suggest\", \"draft\" or \"auto\"",
            body.autonomy
        ))
    })?;
    known_service(&state, &service)?;
    let before = case::autonomy(&state.store, &state.config.reply, &service).await?;
    state
        .store
        .set_reply_autonomy(&service, autonomy.as_str(), &caller.actor)
        .await?;
    state
        .store
        .append_audit(
            &caller.actor,
            "reply.autonomy",
            &service,
            &json!({"from": before, "to": autonomy}),
        )
        .await?;
    Ok(Json(json!({"service": service, "autonomy": autonomy})))
}
