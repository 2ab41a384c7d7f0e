//! The pages' static files, compiled into the binary and served from `/assets/{name}`:
//! one style sheet, one script (progressive enhancement only: every page works without
//! it), the icon. Nothing is loaded from elsewhere.

use axum::{
    http::{HeaderValue, Method, header},
    response::{IntoResponse, Response},
};

use crate::web::{ApiError, extract::ApiPath, routes::Route};

const FILES: &[(&str, &str, &[u8])] = &[
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/style.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/app.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../assets/favicon.svg"),
    ),
];

pub fn routes() -> Vec<Route> {
    vec![Route::public(Method::GET, "/assets/{name}", asset).uncounted()]
}

async fn asset(ApiPath(name): ApiPath<String>) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, kind, body)) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=3600"),
                ),
            ],
            *body,
        )
            .into_response(),
        None => ApiError::NotFound(format!("no asset {name}")).into_response(),
    }
}
