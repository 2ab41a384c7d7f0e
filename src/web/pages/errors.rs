//! The error page: what went wrong in plain language, and what to do next.

use askama::Template;
use axum::http::StatusCode;

use super::chrome::Chrome;

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub chrome: Chrome,
    pub status: u16,
    /// The page refuses a form without a valid CSRF token.
    pub csrf: bool,
}

impl ErrorPage {
    pub fn new(chrome: Chrome, status: StatusCode) -> Self {
        Self {
            chrome,
            status: status.as_u16(),
            csrf: false,
        }
    }
}
