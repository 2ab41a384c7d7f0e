//! Signing in and out on the pages, and the language switch. The form posts to `/login`,
//! which shares the JSON login's throttling, audit and session handling
//! (`auth::session::sign_in`); a failure re-shows the form with one message for every
//! cause.

use askama::Template;
use axum::{
    Form,
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::chrome::{Chrome, LANG_COOKIE, local_path, render};
use crate::web::{
    ApiError, AppState,
    auth::{Caller, ClientAddr, session},
    routes::Route,
};

pub fn routes() -> Vec<Route> {
    vec![
        Route::public(Method::GET, "/login", show),
        Route::public(Method::POST, "/login", submit),
        Route::staff(Method::POST, "/logout", logout),
        Route::public(Method::GET, "/sprache", language).uncounted(),
    ]
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub chrome: Chrome,
    /// Where to go after signing in (a local path).
    pub next: String,
    pub error: Option<LoginError>,
    pub username: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginError {
    Wrong,
    /// Seconds until the next try.
    Throttled(u32),
}

impl LoginPage {
    pub fn new(chrome: Chrome, next: String, error: Option<LoginError>) -> Self {
        Self {
            chrome,
            next,
            error,
            username: String::new(),
        }
    }
}

#[derive(Deserialize)]
struct Next {
    next: Option<String>,
}

async fn show(chrome: Chrome, Query(q): Query<Next>) -> Response {
    let next = local_path(q.next.as_deref(), "/app");
    render(StatusCode::OK, &LoginPage::new(chrome, next, None))
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
    next: Option<String>,
}

async fn submit(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    chrome: Chrome,
    headers: HeaderMap,
    Form(form): Form<Credentials>,
) -> Result<Response, ApiError> {
    let next = local_path(form.next.as_deref(), "/app");
    let failed = |status, error| {
        let mut page = LoginPage::new(chrome.clone(), next.clone(), Some(error));
        page.username = form.username.clone();
        Ok(render(status, &page))
    };
    match session::sign_in(
        &state,
        client,
        &headers,
        &form.username,
        form.password.clone(),
    )
    .await
    {
        Ok((_, cookie)) => {
            Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response())
        }
        Err(ApiError::LoginFailed) => failed(StatusCode::UNAUTHORIZED, LoginError::Wrong),
        Err(ApiError::RateLimited(s)) => {
            let mut page = failed(StatusCode::TOO_MANY_REQUESTS, LoginError::Throttled(s))?;
            page.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
            Ok(page)
        }
        Err(e) => Err(e),
    }
}

async fn logout(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Response, ApiError> {
    let cookie = session::sign_out(&state, &caller).await?;
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/login")).into_response())
}

#[derive(Deserialize)]
struct Language {
    lang: String,
    next: Option<String>,
}

/// Remembers the chosen language for a year and goes back to the page.
async fn language(Query(q): Query<Language>) -> Response {
    let lang = if q.lang == "en" { "en" } else { "de" };
    let cookie = format!("{LANG_COOKIE}={lang}; Path=/; SameSite=Lax; Max-Age=31536000");
    let next = local_path(q.next.as_deref(), "/");
    (
        [(
            header::SET_COOKIE,
            HeaderValue::try_from(cookie).expect("fixed text"),
        )],
        Redirect::to(&next),
    )
        .into_response()
}
