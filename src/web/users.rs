//! `/api/v1/admin/users`: staff accounts for admins — list, create, change role,
//! departments, password or the disabled flag. Departments are checked against the
//! catalogue; the last enabled admin cannot be disabled or demoted, so the service always
//! has someone who can manage it. Every change is audited with the admin as actor.

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
    auth::{Caller, Identity, password},
    extract::{ApiJson, ApiPath},
};
use crate::{
    domain::{Role, UserName, check_grant},
    store::{NewUser, User, UserChange},
};

pub fn routes() -> Vec<Route> {
    vec![
        Route::admin(Method::GET, "/api/v1/admin/users", list),
        Route::admin(Method::POST, "/api/v1/admin/users", create),
        Route::admin(Method::PATCH, "/api/v1/admin/users/{name}", change),
    ]
}

async fn list(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(json!({"users": state.store.users().await?})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAccount {
    name: String,
    role: Role,
    #[serde(default)]
    departments: Vec<String>,
    password: String,
}

/// The PHC hash of a password that meets the rules, hashed on a blocking thread.
pub(super) async fn hash_password(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| match e {
            password::PasswordError::TooShort | password::PasswordError::TooLong => {
                ApiError::InvalidField(e.to_string())
            }
            password::PasswordError::Hash(m) => ApiError::Internal(m),
        })
}

/// Checks a role with its departments against the loaded catalogue.
pub(super) fn check(state: &AppState, role: Role, departments: &[String]) -> Result<(), ApiError> {
    check_grant(role, departments, &state.ready()?.catalogue)
        .map_err(|e| ApiError::InvalidField(e.to_string()))
}

fn user_name(raw: &str) -> Result<UserName, ApiError> {
    UserName::parse(raw).map_err(|e| ApiError::InvalidField(e.to_string()))
}

async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<NewAccount>,
) -> Result<impl IntoResponse, ApiError> {
    let user = create_account(
        &state,
        &caller,
        &body.name,
        body.role,
        &body.departments,
        body.password,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// Creates an account after checking its name, departments and password; audited with
/// `caller` as actor (the API and the admin page).
pub(super) async fn create_account(
    state: &AppState,
    caller: &Identity,
    name: &str,
    role: Role,
    departments: &[String],
    password: String,
) -> Result<User, ApiError> {
    let name = user_name(name)?;
    check(state, role, departments)?;
    let hash = hash_password(password).await?;
    let new = NewUser {
        name: &name,
        role,
        departments,
        password_hash: &hash,
    };
    Ok(state.store.create_user(&new, &caller.actor).await?)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct AccountChange {
    pub role: Option<Role>,
    pub departments: Option<Vec<String>>,
    pub disabled: Option<bool>,
    pub password: Option<String>,
}

async fn change(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<AccountChange>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(change_account(&state, &caller, &name, body).await?))
}

/// Changes an account; the last enabled admin stays one. Audited with `caller` as actor
/// (the API and the admin page).
pub(super) async fn change_account(
    state: &AppState,
    caller: &Identity,
    name: &str,
    body: AccountChange,
) -> Result<User, ApiError> {
    let name = user_name(name).map_err(|_| ApiError::NotFound(format!("no user {name}")))?;
    let current = state
        .store
        .user(&name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no user {name}")))?;
    let role = body.role.unwrap_or(current.role);
    let departments = body.departments.clone().unwrap_or(current.departments);
    check(state, role, &departments)?;
    let stays_admin = role == Role::Admin && !body.disabled.unwrap_or(current.disabled);
    let is_enabled_admin = current.role == Role::Admin && !current.disabled;
    if is_enabled_admin && !stays_admin && state.store.enabled_admins().await? <= 1 {
        return Err(ApiError::Conflict(format!(
            "{name} is the last enabled admin; make another admin first"
        )));
    }
    let password_hash = match body.password {
        Some(p) => Some(hash_password(p).await?),
        None => None,
    };
    let change = UserChange {
        role: body.role,
        departments: body.departments,
        disabled: body.disabled,
        password_hash,
    };
    state
        .store
        .change_user(&name, &change, &caller.actor)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no user {name}")))
}
