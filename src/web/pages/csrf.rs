//! Cross-site request forgery protection for every state-changing request of the pages
//! (any method but GET/HEAD outside `/api/`), enforced centrally by [`super::frame`]: a
//! handler cannot forget it.
//!
//! Each form carries a synchroniser token in the field `csrf`, derived one-way from a
//! secret only the browser holds in an `HttpOnly` cookie: the session cookie when signed in
//! (so the token is bound to the session and changes with each login), else a random
//! `anliegen_csrf` cookie (`SameSite=Strict`). Another origin can neither read the cookie
//! nor the token. Requests whose `Origin` is another origin or whose `Sec-Fetch-Site` is
//! `cross-site` are refused before the token is looked at. API routes are not covered:
//! they take JSON (which a cross-origin form cannot send without a CORS preflight that is
//! never granted) or a bearer token, which browsers do not attach by themselves.

use axum::{
    body::Body,
    extract::{FromRequest, Multipart, Request},
    http::{HeaderMap, HeaderValue, header},
};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{config::Config, store::secret::Secret, web::auth::session::cookie_name};

/// The cookie of a browser that is not signed in.
fn anon_cookie_name(config: &Config) -> &'static str {
    if config.server.is_https() {
        "__Host-anliegen_csrf"
    } else {
        "anliegen_csrf"
    }
}

/// The value of the cookie `name` the request carries.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, v)| *n == name && !v.is_empty())
        .map(|(_, v)| v)
}

/// The secret a request's tokens derive from, set as a request extension by the frame
/// (a browser's first request gets a fresh anonymous one with its `Set-Cookie`).
#[derive(Clone)]
pub struct Seed(String);

impl Seed {
    /// The seed of this request, and the `Set-Cookie` value when a new one was made.
    pub fn of(headers: &HeaderMap, config: &Config) -> (Self, Option<HeaderValue>) {
        if let Some(session) = cookie(headers, cookie_name(config)) {
            return (Self(format!("session:{session}")), None);
        }
        let name = anon_cookie_name(config);
        if let Some(anon) = cookie(headers, name) {
            return (Self(format!("anon:{anon}")), None);
        }
        let fresh = Secret::generate("");
        let secure = if config.server.is_https() {
            "; Secure"
        } else {
            ""
        };
        let set = HeaderValue::try_from(format!(
            "{name}={}; Path=/; HttpOnly; SameSite=Strict{secure}",
            fresh.as_str()
        ))
        .expect("hex and fixed attributes");
        (Self(format!("anon:{}", fresh.as_str())), Some(set))
    }

    /// The token the forms of this request carry.
    pub fn token(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"anliegen-csrf\0");
        h.update(self.0.as_bytes());
        hex::encode(h.finalize())
    }

    pub fn accepts(&self, presented: &str) -> bool {
        bool::from(self.token().as_bytes().ct_eq(presented.as_bytes()))
    }
}

/// Whether the request comes from a page of another origin, as the browser tells.
pub fn cross_origin(headers: &HeaderMap, config: &Config) -> bool {
    let site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if site == "cross-site" {
        return true;
    }
    // Without an origin to compare, the token decides. Browsers send `Origin: null` for
    // their own form posts under `Referrer-Policy: no-referrer` (as every page here has).
    let Some(origin) = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| *o != "null")
    else {
        return false;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let own = origin == config.server.public_url
        || origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority == host);
    !own
}

/// The `csrf` field of a form body (urlencoded or multipart), and the request rebuilt from
/// the buffered body for the handler. `None` when the body is not a form or over `limit`.
pub async fn presented(req: Request, limit: usize) -> (Option<String>, Option<Request>) {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return (None, None);
    };
    let kind = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let token = if kind.starts_with("application/x-www-form-urlencoded") {
        form_urlencoded_field(&bytes, "csrf")
    } else if kind.starts_with("multipart/form-data") {
        let copy = Request::from_parts(parts.clone(), Body::from(bytes.clone()));
        multipart_field(copy, "csrf").await
    } else {
        None
    };
    (token, Some(Request::from_parts(parts, Body::from(bytes))))
}

fn form_urlencoded_field(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

async fn multipart_field(req: Request, name: &str) -> Option<String> {
    let mut form = Multipart::from_request(req, &()).await.ok()?;
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some(name) {
            return field.text().await.ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn the_origin_and_the_fetch_site_tell_a_foreign_page() {
        let config = Config::defaults();
        let own = [("host", "127.0.0.1:8080")];
        for (extra, foreign) in [
            (None, false),
            (Some(("origin", "http://127.0.0.1:8080")), false),
            // A browser's own form post under `Referrer-Policy: no-referrer`.
            (Some(("origin", "null")), false),
            (Some(("origin", "http://evil.example")), true),
            (Some(("sec-fetch-site", "cross-site")), true),
            (Some(("sec-fetch-site", "same-origin")), false),
        ] {
            let mut pairs = own.to_vec();
            pairs.extend(extra);
            assert_eq!(
                cross_origin(&headers(&pairs), &config),
                foreign,
                "{extra:?}"
            );
        }
        let null_from_elsewhere = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "null"),
            ("sec-fetch-site", "cross-site"),
        ]);
        assert!(cross_origin(&null_from_elsewhere, &config));
    }
}
