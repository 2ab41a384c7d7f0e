//! `/api/v1/admin/tokens`: API tokens for machine clients (a Fachverfahren, a ticket
//! system). An admin creates one with a role and departments and sees its secret once in
//! the answer; only its SHA-256 is stored. Revoking takes effect on the token's next
//! request. Both are audited with the admin as actor.

use axum::{
    Json,
    extract::State,
    http::{Method, StatusCode},
    response::IntoResponse,
};
use serde::Deserialize;
use serde_json::json;

use super::{
    ApiError, AppState, Route,
    auth::{Caller, Identity},
    extract::{ApiJson, ApiPath},
    users::check,
};
use crate::{
    domain::Role,
    store::{ApiToken, NewToken, secret::Secret},
};

/// Marks anliegen's tokens, so secret scanners and people recognise one.
const PREFIX: &str = "anl_";
const MAX_NAME: usize = 64;

pub fn routes() -> Vec<Route> {
    vec![
        Route::admin(Method::GET, "/api/v1/admin/tokens", list),
        Route::admin(Method::POST, "/api/v1/admin/tokens", create),
        Route::admin(Method::DELETE, "/api/v1/admin/tokens/{id}", revoke),
    ]
}

async fn list(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(json!({"tokens": state.store.tokens().await?})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTokenBody {
    name: String,
    role: Role,
    #[serde(default)]
    departments: Vec<String>,
}

async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<NewTokenBody>,
) -> Result<impl IntoResponse, ApiError> {
    let (token, secret) =
        create_token(&state, &caller, &body.name, body.role, &body.departments).await?;
    let mut answer = serde_json::to_value(&token).expect("a token serialises");
    answer["token"] = json!(secret);
    Ok((StatusCode::CREATED, Json(answer)))
}

/// Creates a token and returns it with its secret, which is shown this once; audited with
/// `caller` as actor (the API and the admin page).
pub(super) async fn create_token(
    state: &AppState,
    caller: &Identity,
    name: &str,
    role: Role,
    departments: &[String],
) -> Result<(ApiToken, String), ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(ApiError::InvalidField(format!(
            "a token's name has 1 to {MAX_NAME} printable characters"
        )));
    }
    check(state, role, departments)?;
    let secret = Secret::generate(PREFIX);
    let new = NewToken {
        name,
        role,
        departments,
        digest: &secret.digest(),
    };
    let token = state.store.create_token(&new, &caller.actor).await?;
    Ok((token, secret.as_str().to_string()))
}

async fn revoke(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<impl IntoResponse, ApiError> {
    let token = state
        .store
        .revoke_token(id, &caller.actor)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no token {id}")))?;
    Ok(Json(token))
}
