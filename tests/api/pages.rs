//! The pages' frame over HTTP: security headers, CSRF refusal, sign-in and sign-out by
//! form, HTML errors. The browser tests (`tests/browser`) drive the same pages in Chromium.

use reqwest::{Client, StatusCode, redirect::Policy};
use secrecy::ExposeSecret;

use crate::helpers::{PASSWORD, TestApp, spawn_app_without_engine};

/// A browser-like client: keeps cookies, does not follow redirects.
pub fn browser() -> Client {
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

pub async fn page(client: &Client, app: &TestApp, path: &str) -> (StatusCode, String) {
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

/// The path of a `303` answer.
pub fn location(r: &reqwest::Response) -> String {
    assert_eq!(r.status(), 303, "a redirect");
    r.headers()["location"].to_str().unwrap().to_string()
}

/// A browser signed in through the login form.
pub async fn signed_in(app: &TestApp, name: &str) -> Client {
    let client = browser();
    let (_, html) = page(&client, app, "/login").await;
    let r = client
        .post(format!("{}/login", app.base))
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("username", name),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "/app");
    client
}

/// The journey over HTTP without a browser (no JavaScript): the citizen's form → the
/// clerk of the right department → re-route to another department → that clerk answers →
/// the status page shows it; the first clerk can no longer open the case.
#[tokio::test]
async fn the_journey_from_the_form_to_the_answer_without_javascript() {
    let app = crate::helpers::spawn_app().await;
    app.add_user("tief", anliegen::domain::Role::Clerk, &["tiefbau"])
        .await;
    app.add_user(
        "abfall",
        anliegen::domain::Role::Clerk,
        &["abfallwirtschaft"],
    )
    .await;

    let citizen = browser();
    let (status, html) = page(&citizen, &app, "/").await;
    assert_eq!(status, 200);
    // Without consent the form comes back with the error tied to its field.
    let text = "Die Straßenlaterne vor Hausnummer 7 ist seit Tagen kaputt";
    let r = citizen
        .post(format!("{}/", app.base))
        .form(&[("csrf", csrf_of(&html).as_str()), ("text", text)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"consent-error\""), "{html}");
    assert!(html.contains(text), "the text is kept");
    let r = citizen
        .post(format!("{}/", app.base))
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("text", text),
            ("place", "Birkenweg 7"),
            ("consent", "ja"),
        ])
        .send()
        .await
        .unwrap();
    let status_path = location(&r);
    assert!(status_path.starts_with("/status/"), "{status_path}");
    let case = status_path["/status/".len().."/status/".len() + 11].to_string();
    let (status, html) = page(&citizen, &app, &status_path).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Vielen Dank") && html.contains(&case),
        "{html}"
    );
    assert!(html.contains("Kreisstraßen und Tiefbau"), "{html}");

    let tief = signed_in(&app, "tief").await;
    let (_, inbox) = page(&tief, &app, "/app").await;
    assert!(inbox.contains(&case), "{inbox}");
    let (status, case_html) = page(&tief, &app, &format!("/app/faelle/{case}")).await;
    assert_eq!(status, 200);
    assert!(case_html.contains("Birkenweg 7"));
    assert!(
        case_html.contains("sicher") && case_html.contains(" %"),
        "confidence in words and numbers"
    );
    let r = tief
        .post(format!("{}/app/faelle/{case}/umleiten", app.base))
        .form(&[
            ("csrf", csrf_of(&case_html).as_str()),
            ("service", "illegale-muellablagerung"),
            ("reason", "Müll, nicht Laterne"),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        location(&r).starts_with(&format!("/app?erledigt=umgeleitet&fall={case}&seit=")),
        "{}",
        location(&r)
    );
    let (_, inbox) = page(&tief, &app, &location(&r)).await;
    assert!(inbox.contains("Das Modell lernt daraus"), "{inbox}");
    let (status, _) = page(&tief, &app, &format!("/app/faelle/{case}")).await;
    assert_eq!(status, 404, "the first clerk can no longer open the case");

    let abfall = signed_in(&app, "abfall").await;
    let (_, inbox) = page(&abfall, &app, "/app").await;
    assert!(inbox.contains(&case), "{inbox}");
    let (_, case_html) = page(&abfall, &app, &format!("/app/faelle/{case}")).await;
    assert!(
        case_html.contains("umleiten") || case_html.contains("review"),
        "history"
    );
    let answer = "Vielen Dank, wir holen den Müll diese Woche ab.";
    let r = abfall
        .post(format!("{}/app/faelle/{case}/antwort", app.base))
        .form(&[("csrf", csrf_of(&case_html).as_str()), ("text", answer)])
        .send()
        .await
        .unwrap();
    let back = location(&r);
    let (_, case_html) = page(&abfall, &app, &back).await;
    assert!(case_html.contains(answer));

    let (_, html) = page(&citizen, &app, &status_path.replace("&neu=1", "")).await;
    assert!(html.contains(answer), "{html}");
    assert!(html.contains("Beantwortet"));
}

/// Hostile input in every field shown back renders as text: no element, attribute or link
/// comes from it.
#[tokio::test]
async fn hostile_input_is_shown_as_text() {
    let app = crate::helpers::spawn_app().await;
    let citizen = browser();
    let (_, html) = page(&citizen, &app, "/").await;
    let long_word = "A".repeat(20_000 - 200);
    let text = format!(
        "<script>alert(1)</script> \" onmouseover=\"alert(2)\" <a href=\"javascript:alert(3)\">x</a> \u{202E}gnp.exe {long_word}"
    );
    let r = citizen
        .post(format!("{}/", app.base))
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("text", text.as_str()),
            ("name", "\"><img src=x onerror=alert(4)>"),
            ("consent", "ja"),
        ])
        .send()
        .await
        .unwrap();
    let status_path = location(&r);
    let case = &status_path["/status/".len().."/status/".len() + 11];
    for html in [
        page(&app.client, &app, &format!("/app/faelle/{case}"))
            .await
            .1,
        page(&app.client, &app, "/app").await.1,
    ] {
        assert!(!html.contains("<script>alert"), "{}", &html[..2000]);
        assert!(!html.contains("<img src=x"));
        assert!(!html.contains("<a href=\"javascript:"));
        assert!(!html.contains("onmouseover=\"alert"));
    }
    let (_, html) = page(&app.client, &app, &format!("/app/faelle/{case}")).await;
    // askama escapes with numeric character references.
    assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
    assert!(html.contains("&#60;img src=x onerror=alert(4)&#62;"));
}

/// Photos and PDFs come with the form (multipart): checked by their first bytes and size,
/// listed on the case page and downloadable by staff who reach the case only — as a
/// download, never inline — and erased with the case's sender.
#[tokio::test]
async fn uploads_are_checked_kept_with_the_case_and_shown_to_staff_only() {
    use reqwest::multipart::{Form, Part};
    let app = crate::helpers::spawn_app().await;
    app.add_user(
        "abfall",
        anliegen::domain::Role::Clerk,
        &["abfallwirtschaft"],
    )
    .await;
    let citizen = browser();
    let (_, html) = page(&citizen, &app, "/").await;
    assert!(html.contains("enctype=\"multipart/form-data\""));
    let jpeg = [b"\xFF\xD8\xFF\xE0\0\x10JFIF".as_slice(), &[7u8; 4000]].concat();
    let pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".to_vec();
    let form = |csrf: &str, files: Vec<(&str, Vec<u8>)>| {
        let mut form = Form::new()
            .text("csrf", csrf.to_string())
            .text(
                "text",
                "Die Straßenlaterne vor Hausnummer 7 ist seit Tagen kaputt",
            )
            .text("email", "erika@example.org")
            .text("consent", "ja");
        for (name, data) in files {
            form = form.part("files", Part::bytes(data).file_name(name.to_string()));
        }
        form
    };

    // A script named like a photo, and one file too many: the form comes back, nothing kept.
    for (files, says) in [
        (
            vec![("foto.jpg", b"<script>alert(1)</script>".to_vec())],
            "nur Fotos",
        ),
        (
            vec![
                ("1.jpg", jpeg.clone()),
                ("2.jpg", jpeg.clone()),
                ("3.jpg", jpeg.clone()),
                ("4.pdf", pdf.clone()),
            ],
            "höchstens 3",
        ),
    ] {
        let r = citizen
            .post(format!("{}/", app.base))
            .multipart(form(&csrf_of(&html), files))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let back = r.text().await.unwrap();
        assert!(
            back.contains("id=\"files-error\"") && back.contains(says),
            "{back}"
        );
        assert!(back.contains("Hausnummer 7"), "the text is kept");
    }
    let (_, listed) = app.get("/api/v1/inquiries").await;
    assert_eq!(listed["inquiries"], serde_json::json!([]), "nothing stored");

    let r = citizen
        .post(format!("{}/", app.base))
        .multipart(form(
            &csrf_of(&html),
            vec![
                ("C:\\Bilder\\Laterne.jpg", jpeg.clone()),
                ("Brief.pdf", pdf.clone()),
            ],
        ))
        .send()
        .await
        .unwrap();
    let status_path = location(&r);
    let case = &status_path["/status/".len().."/status/".len() + 11];
    let (_, status_html) = page(&citizen, &app, &status_path).await;
    assert!(
        !status_html.contains("Laterne.jpg"),
        "not on the citizen's page"
    );

    let (status, case_html) = page(&app.client, &app, &format!("/app/faelle/{case}")).await;
    assert_eq!(status, 200);
    assert!(case_html.contains("Laterne.jpg") && case_html.contains("Brief.pdf"));
    let link = |n: usize| {
        let at = case_html
            .match_indices(&format!("/app/faelle/{case}/anhaenge/"))
            .nth(n)
            .unwrap()
            .0;
        case_html[at..at + case_html[at..].find('"').unwrap()].to_string()
    };
    let r = app
        .client
        .get(format!("{}{}", app.base, link(0)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let disposition = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(disposition.contains("UTF-8''Laterne.jpg"), "{disposition}");
    assert_eq!(r.bytes().await.unwrap().as_ref(), jpeg.as_slice());

    // Not for citizens, nor for a clerk of another department.
    let r = app
        .anonymous
        .get(format!("{}{}", app.base, link(1)))
        .send()
        .await
        .unwrap();
    assert!(matches!(r.status().as_u16(), 303 | 401), "{}", r.status());
    let abfall = signed_in(&app, "abfall").await;
    let (status, _) = page(&abfall, &app, &link(1)).await;
    assert_eq!(status, 404);

    // Erased with the sender.
    let inquiry = app.stored(case).await;
    assert_eq!(
        app.state.store.attachments(inquiry.id).await.unwrap().len(),
        2
    );
    app.state
        .store
        .erase_subject("erika@example.org")
        .await
        .unwrap();
    assert!(
        app.state
            .store
            .attachments(inquiry.id)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A clerk's case actions beyond routing: spam, merge (only into a case they reach), close;
/// each changes the status, leaves the inbox and appears in the case's history.
#[tokio::test]
async fn spam_merge_and_close_end_cases_and_show_in_the_history() {
    use crate::access::{case_with, decision};
    use anliegen::domain::InquiryStatus;

    let app = spawn_app_without_engine().await;
    app.add_user("tief", anliegen::domain::Role::Clerk, &["tiefbau"])
        .await;
    let lamp = || decision("strassenbeleuchtung-defekt", "tiefbau", &[]);
    let spam = case_with(&app, Some(lamp())).await;
    let duplicate = case_with(&app, Some(lamp())).await;
    let kept = case_with(&app, Some(lamp())).await;
    let elsewhere = case_with(
        &app,
        Some(decision(
            "illegale-muellablagerung",
            "abfallwirtschaft",
            &[],
        )),
    )
    .await;
    let status = |case: String| {
        let store = app.state.store.clone();
        async move {
            store
                .inquiry(&case.parse().unwrap())
                .await
                .unwrap()
                .unwrap()
                .status
        }
    };
    let tief = signed_in(&app, "tief").await;
    let act = |case: &str, action: &str, fields: Vec<(&'static str, String)>| {
        let (client, base) = (tief.clone(), app.base.clone());
        let (case, action) = (case.to_string(), action.to_string());
        async move {
            let (_, html) = {
                let r = client
                    .get(format!("{base}/app/faelle/{case}"))
                    .send()
                    .await
                    .unwrap();
                (r.status(), r.text().await.unwrap())
            };
            let mut form = vec![("csrf", csrf_of(&html))];
            form.extend(fields);
            client
                .post(format!("{base}/app/faelle/{case}/{action}"))
                .form(&form)
                .send()
                .await
                .unwrap()
        }
    };

    let (_, html) = page(&tief, &app, &format!("/app/faelle/{spam}")).await;
    assert!(html.contains("data-shortcut=\"a\"") && html.contains("Tastenkürzel"));
    let r = act(&spam, "spam", vec![("art", "spam".into())]).await;
    assert_eq!(location(&r), format!("/app/faelle/{spam}?erledigt=spam"));
    assert_eq!(status(spam.clone()).await, InquiryStatus::Spam);
    let (_, html) = page(&tief, &app, &location(&r)).await;
    assert!(html.contains("als Spam markiert"), "history: {html}");
    let (_, inbox) = page(&tief, &app, "/app").await;
    assert!(!inbox.contains(&spam) && inbox.contains(&kept), "{inbox}");
    let (_, inbox) = page(&tief, &app, "/app?status=spam").await;
    assert!(inbox.contains(&spam), "ended cases on request");

    // Another department's case is out of reach: the same answer as an unknown one.
    for target in [elsewhere.clone(), "2099-999999".to_string()] {
        let r = act(&duplicate, "zusammenfuehren", vec![("ziel", target)]).await;
        assert_eq!(r.status(), 422);
        let html = r.text().await.unwrap();
        assert!(
            html.contains("Diesen Fall gibt es nicht in Ihren Abteilungen"),
            "{html}"
        );
    }
    let r = act(
        &duplicate,
        "zusammenfuehren",
        vec![("ziel", "<script>alert(1)</script>\" onmouseover=\"x".into())],
    )
    .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(!html.contains("<script>alert(1)") && !html.contains("\" onmouseover=\"x"));
    assert!(html.contains("aria-invalid=\"true\""));
    assert_eq!(status(duplicate.clone()).await, InquiryStatus::Routed);

    let r = act(&duplicate, "zusammenfuehren", vec![("ziel", kept.clone())]).await;
    assert_eq!(
        location(&r),
        format!("/app/faelle/{duplicate}?erledigt=zusammengefuehrt")
    );
    assert_eq!(status(duplicate.clone()).await, InquiryStatus::Merged);
    let (_, html) = page(&tief, &app, &format!("/app/faelle/{duplicate}")).await;
    assert!(
        html.contains(&format!("href=\"/app/faelle/{kept}\"")),
        "{html}"
    );
    let (_, html) = page(&tief, &app, &format!("/app/faelle/{kept}")).await;
    assert!(
        html.contains(&format!("href=\"/app/faelle/{duplicate}\"")),
        "{html}"
    );

    let r = act(
        &kept,
        "schliessen",
        vec![("grund", "\" onmouseover=\"alert(1)".into())],
    )
    .await;
    assert_eq!(
        location(&r),
        format!("/app/faelle/{kept}?erledigt=geschlossen")
    );
    assert_eq!(status(kept.clone()).await, InquiryStatus::Closed);
    let (_, html) = page(&tief, &app, &format!("/app/faelle/{kept}")).await;
    assert!(html.contains("abgeschlossen"));
    let db = crate::store::raw(app.state.config.database.url.expose_secret()).await;
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE action LIKE 'case.%' ORDER BY seq")
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(
        actions,
        vec!["case.spam", "case.merge", "case.merged_from", "case.close"]
    );
    // The other department's case was never touched.
    assert_eq!(status(elsewhere).await, InquiryStatus::Routed);
}
