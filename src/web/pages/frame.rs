//! The frame around every response: security headers on all of them, and for the pages
//! (everything outside `/api/` and the health checks) the CSRF seed cookie and HTML in
//! place of the API's JSON errors — a `401` shows the sign-in form, other errors a short
//! page in plain language. The CSRF check itself sits on each form route
//! ([`guard`]), inside the route trees, so a missing sign-in still answers `401` first.

use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::{
    chrome::{Chrome, render},
    csrf::{self, Seed},
    errors::ErrorPage,
    login::LoginPage,
};
use crate::web::{AppState, auth};

/// No inline script or style, nothing from elsewhere, no framing, forms post only here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// Whether a path belongs to the pages rather than the JSON API.
pub fn is_page(path: &str) -> bool {
    // Open311 is a machine interface: a post carries its `api_key`, never a cookie.
    !(path.starts_with("/api/")
        || path.starts_with("/open311/")
        || path == "/healthz"
        || path == "/readyz")
}

pub async fn frame(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if !is_page(&path) {
        let mut response = next.run(req).await;
        secure(response.headers_mut(), false);
        return response;
    }
    let (seed, new_cookie) = Seed::of(req.headers(), &state.config);
    req.extensions_mut().insert(seed.clone());
    let method = req.method().clone();
    let target = req
        .uri()
        .path_and_query()
        .map_or(path.clone(), |p| p.as_str().to_string());
    let headers = req.headers().clone();
    let extensions = req.extensions().clone();
    let response = next.run(req).await;
    let mut response = if is_json_error(&response) {
        let identity = auth::authenticate(&state, &headers, &extensions)
            .await
            .ok()
            .flatten();
        let chrome = Chrome::new(&headers, &seed, identity.as_ref(), target.clone());
        html_error(response, chrome, &method, &target)
    } else {
        response
    };
    if let Some(cookie) = new_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    secure(response.headers_mut(), true);
    response
}

fn is_json_error(response: &Response) -> bool {
    (response.status().is_client_error() || response.status().is_server_error())
        && response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"))
}

/// The page for an error the API layer answered; `Retry-After` and cookies stay.
fn html_error(response: Response, chrome: Chrome, method: &Method, target: &str) -> Response {
    let status = response.status();
    let mut page = if status == StatusCode::UNAUTHORIZED {
        let next = if *method == Method::GET {
            target.to_string()
        } else {
            "/app".to_string()
        };
        render(status, &LoginPage::new(chrome, next, None))
    } else {
        render(status, &ErrorPage::new(chrome, status))
    };
    for name in [header::RETRY_AFTER, header::SET_COOKIE] {
        for value in response.headers().get_all(&name) {
            page.headers_mut().append(name.clone(), value.clone());
        }
    }
    page
}

fn secure(headers: &mut HeaderMap, page: bool) {
    let fixed = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // The citizen's status link carries its secret in the query string.
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (
            header::HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            header::HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=(), interest-cohort=()",
        ),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    // Pages carry personal data; assets say their own caching.
    if page && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// The CSRF check of a form route: the request must come from this origin and carry the
/// token of its seed in the form field `csrf`; else `403` with a page saying so.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let config = &state.config;
    if csrf::cross_origin(req.headers(), config) {
        return refused(&req, config);
    }
    let Some(seed) = req.extensions().get::<Seed>().cloned() else {
        return refused(&req, config);
    };
    let limit = config
        .server
        .max_body_bytes
        .max(super::citizen::upload_limit(config));
    let (headers, path) = (req.headers().clone(), req.uri().path().to_string());
    let (token, rebuilt) = csrf::presented(req, limit).await;
    match (token, rebuilt) {
        (Some(token), Some(req)) if seed.accepts(&token) => next.run(req).await,
        (_, None) => StatusCode::PAYLOAD_TOO_LARGE.into_response(),
        _ => {
            tracing::info!(path, "form refused: missing or wrong CSRF token");
            forbidden(&headers, &seed, path)
        }
    }
}

fn refused(req: &Request, config: &crate::config::Config) -> Response {
    tracing::info!(
        path = req.uri().path(),
        "form refused: posted from another origin"
    );
    let seed = Seed::of(req.headers(), config).0;
    forbidden(req.headers(), &seed, req.uri().path().to_string())
}

fn forbidden(headers: &HeaderMap, seed: &Seed, path: String) -> Response {
    let chrome = Chrome::new(headers, seed, None, path);
    let mut page = ErrorPage::new(chrome, StatusCode::FORBIDDEN);
    page.csrf = true;
    render(StatusCode::FORBIDDEN, &page)
}
