//! The pages people work in, rendered on the server: the citizen's form and status, the
//! sign-in, the clerk's inbox and case page, the admin console. German first, English
//! switchable (`/sprache`), accessible (WCAG 2.1 AA: landmarks, skip link, labels tied to
//! their fields, visible focus, no information by colour alone), working without
//! JavaScript; the one script (`assets/app.js`) only enhances.
//!
//! How the pieces fit:
//! - **Templates** (`templates/*.html`, askama: checked at compile time, HTML-escaped by
//!   default) extend `base.html`, which draws the header, language switch, skip link and
//!   landmarks from the page's `chrome` field. Never use `|safe` on anything a citizen or a
//!   mail supplied.
//! - **[`Chrome`]** is an extractor: language, signed-in user, the page's CSRF token and
//!   its path. Every page struct has a `chrome: Chrome` field.
//! - **[`frame::frame`]** wraps every response of the router: security headers (a strict
//!   Content-Security-Policy without inline script or style, `nosniff`,
//!   `Referrer-Policy: no-referrer`, `frame-ancestors 'none'`), the CSRF seed cookie, and
//!   HTML pages for the errors the route trees answer (a `401` shows the sign-in form).
//! - **CSRF**: every route outside `/api/` and `/open311/` whose method is not GET/HEAD is guarded by
//!   [`frame::guard`] (added by the route table, see `Route::into_endpoint`): the form must
//!   carry `<input type="hidden" name="csrf" value="{{ chrome.csrf }}">` (urlencoded or
//!   multipart) and come from this origin, else `403`.
//!
//! Adding a page:
//! 1. a template `templates/NAME.html` starting `{% extends "base.html" %}` with blocks
//!    `title` and `main`; texts as `{{ chrome.lang.pick("Deutsch", "English") }}`;
//! 2. a struct deriving `Template` with `chrome: Chrome` and the page's data, and a handler
//!    taking `chrome: Chrome` (plus `Caller` on staff/admin routes) that answers
//!    `render(StatusCode::OK, &page)`; a form handler answers `Redirect::to(...)` (303)
//!    after it acted, so a reload does not post again;
//! 3. a row in the module's `routes()` — `Route::public`, `Route::staff` or
//!    `Route::admin` — collected by `web::route_table`, and a row in the route-table test
//!    (`tests/api/access.rs`);
//! 4. every `<form method="post">` carries the hidden `csrf` field; nothing else is needed
//!    for the protection.
//!
//! Errors in handlers are `ApiError`s like in the API; the frame shows them as pages.

pub mod admin;
pub mod admin_models;
pub mod admin_ops;
pub mod assets;
pub mod chrome;
pub mod citizen;
pub mod clerk;
pub mod csrf;
pub mod errors;
pub mod frame;
pub mod login;
pub mod quality;
pub mod quality_svg;

pub use chrome::{Chrome, Lang, render};

use super::routes::Route;

pub fn routes(config: &crate::config::Config) -> Vec<Route> {
    [
        assets::routes(),
        admin::routes(config.server.max_upload_bytes),
        admin_models::routes(),
        admin_ops::routes(),
        login::routes(),
        citizen::routes(config),
        clerk::routes(),
        quality::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
