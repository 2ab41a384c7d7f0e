//! Login, logout and whoami (`/api/v1/auth/*`) and the session cookie: `HttpOnly`,
//! `SameSite=Lax`, and with an https `server.public_url` `Secure` under the `__Host-` name
//! prefix. A login is throttled per client address and per account, always checks a
//! password hash (a dummy one for unknown accounts), answers every failure alike, opens a
//! new session (the one presented before ends) and is audited, failed or not.

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use std::net::IpAddr;

use serde::Deserialize;
use serde_json::json;

use super::{Caller, ClientAddr, Identity, Via, password, session_limits};
use crate::{
    config::Config,
    domain::UserName,
    store::secret::{self, Secret},
    web::{ApiError, AppState, extract::ApiJson, routes::Route},
};

pub fn routes() -> Vec<Route> {
    vec![
        Route::public(Method::POST, "/api/v1/auth/login", login),
        Route::staff(Method::POST, "/api/v1/auth/logout", logout),
        Route::staff(Method::GET, "/api/v1/auth/whoami", whoami),
    ]
}

pub fn cookie_name(config: &Config) -> &'static str {
    // The `__Host-` prefix makes browsers insist on Secure, Path=/ and no Domain.
    if config.server.is_https() {
        "__Host-anliegen_session"
    } else {
        "anliegen_session"
    }
}

fn set_cookie(config: &Config, value: &str, max_age: u64) -> HeaderValue {
    let secure = if config.server.is_https() {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::try_from(format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        cookie_name(config)
    ))
    .expect("hex and fixed attributes")
}

/// The digest of the session id the request's cookie carries.
pub(super) fn presented(headers: &HeaderMap, config: &Config) -> Option<String> {
    let name = cookie_name(config);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, v)| *n == name && !v.is_empty())
        .map(|(_, v)| secret::digest(v))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    username: String,
    password: String,
}

async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Login>,
) -> Result<Response, ApiError> {
    let (identity, cookie) =
        sign_in(&state, client, &headers, &body.username, body.password).await?;
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(json!({"user": identity.view()})),
    )
        .into_response())
}

/// Checks a login (throttled, audited, every failure alike) and opens a new session; the
/// session the request presented ends. Answers the identity and the `Set-Cookie` value. The
/// JSON login and the login page share it.
pub async fn sign_in(
    state: &AppState,
    client: IpAddr,
    headers: &HeaderMap,
    username: &str,
    password: String,
) -> Result<(Identity, HeaderValue), ApiError> {
    let limits = &state.access.limits;
    limits.login_per_client.check(&client)?;
    let name = UserName::parse(username).ok();
    // An unparsable name still counts against an account key, so it cannot be used to
    // try passwords without limit.
    let account_key = name.as_ref().map_or_else(
        || username.chars().take(64).collect::<String>().to_lowercase(),
        |n| n.to_string(),
    );
    limits.login_per_account.check(&account_key)?;
    let found = match &name {
        Some(n) => state.store.user_with_hash(n).await?,
        None => None,
    };
    let hash = found
        .as_ref()
        .map_or_else(|| password::dummy_hash().to_string(), |(_, h)| h.clone());
    let matches = state.access.verify_password(password, hash).await;
    let details = json!({"client": client.to_string()});
    let user = match found {
        Some((user, _)) if matches && !user.disabled => user,
        Some((user, _)) => {
            let reason = if matches { "disabled" } else { "password" };
            let details = json!({"client": client.to_string(), "reason": reason});
            let subject = user.actor();
            state
                .store
                .append_audit("anonymous", "login.failed", &subject, &details)
                .await?;
            return Err(ApiError::LoginFailed);
        }
        None => {
            // The typed name is not recorded: people type their password there by mistake.
            state
                .store
                .append_audit("anonymous", "login.failed", "user:unknown", &details)
                .await?;
            return Err(ApiError::LoginFailed);
        }
    };
    let session = Secret::generate("");
    let limits = session_limits(&state.config);
    state
        .store
        .open_session(
            &session.digest(),
            user.id,
            presented(headers, &state.config).as_deref(),
            limits,
        )
        .await?;
    state
        .store
        .append_audit(&user.actor(), "login", &user.actor(), &details)
        .await?;
    let identity = Identity::from_session(user, session.digest());
    let cookie = set_cookie(&state.config, session.as_str(), limits.absolute.as_secs());
    Ok((identity, cookie))
}

/// Ends the session a request presented (audited) and answers the `Set-Cookie` value that
/// clears the cookie. The JSON logout and the logout button share it.
pub async fn sign_out(state: &AppState, caller: &Identity) -> Result<HeaderValue, ApiError> {
    if let Via::Session(digest) = &caller.via {
        state.store.close_session(digest).await?;
        state
            .store
            .append_audit(&caller.actor, "logout", &caller.actor, &json!({}))
            .await?;
    }
    Ok(set_cookie(&state.config, "", 0))
}

/// Ends the caller's session; the cookie is cleared in any case.
async fn logout(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<impl IntoResponse, ApiError> {
    let cookie = sign_out(&state, &caller).await?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]))
}

async fn whoami(Caller(caller): Caller) -> impl IntoResponse {
    Json(json!({"user": caller.view()}))
}
