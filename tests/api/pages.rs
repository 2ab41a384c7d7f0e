//! The pages' frame over HTTP: security headers, CSRF refusal, sign-in and sign-out by
//! form, HTML errors. The browser tests (`tests/browser`) drive the same pages in Chromium.

use reqwest::{Client, StatusCode, redirect::Policy};

use crate::helpers::{PASSWORD, TestApp, spawn_app_without_engine};

/// A browser-like client: keeps cookies, does not follow redirects.
fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// The value of the hidden `csrf` field in a page.
pub fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a csrf field");
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

async fn page(client: &Client, app: &TestApp, path: &str) -> (StatusCode, String) {
    let r = client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

#[tokio::test]
async fn every_page_carries_the_security_headers() {
    let app = spawn_app_without_engine().await;
    for path in [
        "/login",
        "/nichts-hier",
        "/assets/style.css",
        "/api/v1/auth/whoami",
    ] {
        let r = app
            .anonymous
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
    }
    // An unknown page is an HTML page, not the API's JSON.
    let r = app
        .anonymous
        .get(format!("{}/nichts-hier", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(r.text().await.unwrap().contains("Seite nicht gefunden"));
}

#[tokio::test]
async fn a_form_without_or_with_a_wrong_token_or_from_another_origin_is_refused() {
    let app = spawn_app_without_engine().await;
    let client = browser();
    let (_, html) = page(&client, &app, "/login").await;
    let token = csrf_of(&html);
    let login = format!("{}/login", app.base);
    let form = |csrf: &str| {
        vec![
            ("csrf", csrf.to_string()),
            ("username", "admin".to_string()),
            ("password", PASSWORD.to_string()),
        ]
    };
    // Without a token, with a wrong one, and with the right one from another origin.
    let without = client
        .post(&login)
        .form(&form("")[1..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(without.status(), 403);
    assert!(
        without
            .text()
            .await
            .unwrap()
            .contains("Das Formular ist abgelaufen")
    );
    let wrong = client
        .post(&login)
        .form(&form(&"0".repeat(64)))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    let foreign = client
        .post(&login)
        .header("origin", "https://evil.example")
        .form(&form(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    let cross_site = client
        .post(&login)
        .header("sec-fetch-site", "cross-site")
        .form(&form(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    // Another browser's token does not fit this browser's cookie.
    let other = browser();
    let (_, other_html) = page(&other, &app, "/login").await;
    let stolen = client
        .post(&login)
        .form(&form(&csrf_of(&other_html)))
        .send()
        .await
        .unwrap();
    assert_eq!(stolen.status(), 403);
    // Nobody was signed in by any of them.
    let r = client
        .get(format!("{}/api/v1/auth/whoami", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // The page's own token, from the page's own origin: signed in, sent on.
    let ok = client
        .post(&login)
        .header("origin", &app.base)
        .form(&form(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 303);
    assert_eq!(ok.headers()["location"], "/app");
    let r = client
        .get(format!("{}/api/v1/auth/whoami", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Signed in, the token is bound to the session: the anonymous one no longer works.
    let logout = format!("{}/logout", app.base);
    let r = client
        .post(&logout)
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let (_, html) = page(&client, &app, "/login").await;
    let session_token = csrf_of(&html);
    assert_ne!(session_token, token);
    let r = client
        .post(&logout)
        .form(&[("csrf", session_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = client
        .get(format!("{}/api/v1/auth/whoami", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn a_wrong_password_shows_the_form_again_with_one_message() {
    let app = spawn_app_without_engine().await;
    let client = browser();
    let (_, html) = page(&client, &app, "/login?next=//evil.example").await;
    assert!(
        html.contains("name=\"next\" value=\"/app\""),
        "only local paths: {html}"
    );
    let r = client
        .post(format!("{}/login", app.base))
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("username", "admin\"><script>alert(1)</script>"),
            ("password", "falsch"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let html = r.text().await.unwrap();
    assert!(html.contains("Benutzername oder Passwort falsch."));
    assert!(html.contains("aria-invalid=\"true\""));
    assert!(
        !html.contains("<script>alert(1)"),
        "the typed name is escaped"
    );
}

#[tokio::test]
async fn the_language_switch_remembers_english() {
    let app = spawn_app_without_engine().await;
    let client = Client::builder().cookie_store(true).build().unwrap();
    let (_, html) = page(&client, &app, "/login").await;
    assert!(html.contains("<html lang=\"de\">"));
    let (_, html) = page(&client, &app, "/sprache?lang=en&next=/login").await;
    assert!(html.contains("<html lang=\"en\">"), "{html}");
    assert!(html.contains("Staff sign-in"));
}
