//! What every page shares: the language, the signed-in user, the CSRF token of its forms
//! and the path (for the language switch and the way back after signing in) — gathered
//! by the [`Chrome`] extractor — and [`render`], which turns a template into a response.

use askama::Template;
use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, StatusCode, request::Parts},
    response::{Html, IntoResponse, Response},
};

use super::csrf::{self, Seed};
use crate::{
    domain::Role,
    web::{AppState, auth},
};

/// The pages' languages: German first, English on request (the `anliegen_lang` cookie,
/// set by `/sprache`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    De,
    En,
}

pub const LANG_COOKIE: &str = "anliegen_lang";

impl Lang {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        match csrf::cookie(headers, LANG_COOKIE) {
            Some("en") => Self::En,
            _ => Self::De,
        }
    }

    /// The text in this language; templates call `chrome.lang.pick("…", "…")`.
    pub fn pick<'a>(&self, de: &'a str, en: &'a str) -> &'a str {
        match self {
            Self::De => de,
            Self::En => en,
        }
    }

    pub fn code(&self) -> &'static str {
        self.pick("de", "en")
    }

    /// The code of the language the switch offers.
    pub fn other(&self) -> &'static str {
        self.pick("en", "de")
    }

    /// The name of the language the switch offers, in that language.
    pub fn other_name(&self) -> &'static str {
        self.pick("English", "Deutsch")
    }
}

/// The signed-in person as the header shows them.
#[derive(Debug, Clone)]
pub struct UserBadge {
    pub name: String,
    pub admin: bool,
}

#[derive(Debug, Clone)]
pub struct Chrome {
    pub lang: Lang,
    pub user: Option<UserBadge>,
    /// The token every form of the page carries in its `csrf` field.
    pub csrf: String,
    /// The path and query of this page (a local path, for links back here).
    pub path: String,
}

impl Chrome {
    pub fn new(
        headers: &HeaderMap,
        seed: &Seed,
        user: Option<&auth::Identity>,
        path: String,
    ) -> Self {
        Self {
            lang: Lang::from_headers(headers),
            user: user.map(|u| UserBadge {
                name: u.name.clone(),
                admin: u.role == Role::Admin,
            }),
            csrf: seed.token(),
            path,
        }
    }
}

impl FromRequestParts<AppState> for Chrome {
    type Rejection = std::convert::Infallible;

    /// On staff and admin routes the caller is the tree's; on public ones a signed-in
    /// visitor is still recognised (for the header), and anyone else is a guest.
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let identity = match parts.extensions.get::<auth::Identity>() {
            Some(i) => Some(i.clone()),
            None => auth::authenticate(state, &parts.headers, &parts.extensions)
                .await
                .ok()
                .flatten(),
        };
        let seed = parts
            .extensions
            .get::<Seed>()
            .cloned()
            .unwrap_or_else(|| Seed::of(&parts.headers, &state.config).0);
        let path = parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_string(), |p| p.as_str().to_string());
        Ok(Self::new(&parts.headers, &seed, identity.as_ref(), path))
    }
}

/// A local path to go back to, or `fallback`: never another host (`//evil`, `/\evil`).
pub fn local_path(next: Option<&str>, fallback: &str) -> String {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.starts_with("/\\")
                && !p.chars().any(char::is_control) =>
        {
            p.to_string()
        }
        _ => fallback.to_string(),
    }
}

/// The page as a response with `status`; a template that fails to render is a logged 500.
pub fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "page template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(local_path(Some("/app?x=1"), "/app"), "/app?x=1");
        for hostile in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "/a\r\nSet-Cookie: x",
        ] {
            assert_eq!(local_path(Some(hostile), "/app"), "/app", "{hostile}");
        }
        assert_eq!(local_path(None, "/app"), "/app");
    }
}
