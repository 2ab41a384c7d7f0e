//! The pages in a real browser (headless Chromium through chromedriver): the journey from
//! the citizen's form to the answer by mail, with JavaScript; the clerk's re-route by
//! keyboard alone; CSRF refusal of tampered forms and of a page from another origin;
//! hostile input rendered inert; axe-core (WCAG 2.1 A/AA) on every page kind, signed in and
//! out. `make screenshots` writes the pictures of the README from the journey.

mod driver;

use secrecy::ExposeSecret;
use std::time::Duration;

use anliegen::domain::Role;
use fantoccini::{
    actions::{InputSource, KeyAction, KeyActions},
    key::Key,
};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, spawn_app, spawn_app_with},
    mail::{eventually, mail_config},
    mailservers::{SmtpSink, body_text, header},
};
use driver::{Browser, browser};

/// Presses keys on whatever has the focus, as a person at the keyboard does.
async fn press(b: &Browser, keys: &[char]) {
    let mut actions = KeyActions::new("keyboard".into());
    for &k in keys {
        actions = actions
            .then(KeyAction::Down { value: k })
            .then(KeyAction::Up { value: k });
    }
    b.client.perform_actions(actions).await.unwrap();
}

/// The candidate button on the case page that re-routes to another department than the
/// current one, as `(css selector, service name)`.
async fn other_department_candidate(b: &Browser) -> Option<(String, String)> {
    let found = b
        .eval(
            "const current = [...document.querySelectorAll('dl.facts dt')]
                 .find(dt => dt.textContent.trim() === 'Abteilung').nextElementSibling.textContent.trim();
             const forms = [...document.querySelectorAll('form[action$=\"/umleiten\"].inline')];
             const i = forms.findIndex(f => !f.closest('li').querySelector('.hint').textContent.includes('(' + current + ','));
             if (i < 0) return null;
             forms[i].setAttribute('data-test', 'other');
             return forms[i].closest('li').querySelector('.wrap').textContent.trim();",
        )
        .await;
    found
        .as_str()
        .map(|name| ("form[data-test=other] button".to_string(), name.to_string()))
}

/// A browser, a ready server and one routed street-lamp report of the Tiefbau department
/// (its case number); `None` (skipped) without a browser.
async fn with_lamp_case() -> Option<(Browser, TestApp, String)> {
    let b = browser().await?;
    let app = spawn_app().await;
    let receipt = app
        .route_inquiry(
            &json!({"text": "Die Straßenlaterne vor Hausnummer 7 ist seit Tagen kaputt"}),
        )
        .await;
    assert_eq!(receipt["decision"]["department"]["id"], "tiefbau");
    let case = receipt["case_number"].as_str().unwrap().to_string();
    Some((b, app, case))
}

async fn case_json(app: &TestApp, case: &str) -> Value {
    app.get(&format!("/api/v1/inquiries/{case}")).await.1
}

/// The journey of the issue, in Chromium with JavaScript: the citizen types (and sees the
/// likely services), consents and sends; confirms the address from the mail; the clerk of
/// the routed department re-routes with one click to a candidate of another department and
/// can no longer open the case; that department's clerk edits the answer and sends it; the
/// SMTP sink receives it and the citizen's status page shows it.
#[tokio::test]
async fn the_journey_from_the_form_to_the_answer_by_mail() {
    let Some(citizen) = browser().await else {
        return;
    };
    let sink = SmtpSink::start();
    let app = spawn_app_with(|c| mail_config(c, None, sink.port)).await;
    app.start_engine().await;
    drop(
        anliegen::app::spawn_mail(&app.state.config, &app.state.store, &app.state.pipeline)
            .expect("mail starts"),
    );
    app.add_user("tief", Role::Clerk, &["tiefbau"]).await;
    app.add_user("abfall", Role::Clerk, &["abfallwirtschaft"])
        .await;
    app.add_user("ordnung", Role::Clerk, &["ordnungsamt"]).await;
    app.add_user("umwelt", Role::Clerk, &["umweltamt"]).await;

    citizen.goto(&app, "/").await;
    let text = "Am Birkenweg liegt seit einer Woche illegal abgeladener Sperrmüll neben der \
                kaputten Straßenlaterne, Kühlschrank und Matratzen auf dem Gehweg.";
    citizen.find("#text").await.send_keys(text).await.unwrap();
    // The suggestions appear while typing: the most likely services, at most three.
    let shown = citizen
        .until(
            "the suggestions",
            30,
            "const box = document.getElementById('suggestions');
             const n = box.querySelectorAll('li').length;
             return !box.hidden && n > 0 ? n : 0;",
        )
        .await;
    assert!((1..=3).contains(&shown.as_i64().unwrap()), "{shown}");
    citizen
        .find("#place")
        .await
        .send_keys("Birkenweg 4")
        .await
        .unwrap();
    citizen
        .find("#email")
        .await
        .send_keys("erika@example.org")
        .await
        .unwrap();
    citizen.find("#consent").await.click().await.unwrap();
    citizen.screenshot("buergerformular").await;
    citizen.click_and_wait("form button[type=submit]").await;
    let status_path = citizen.path().await;
    assert!(
        status_path.starts_with("/status/"),
        "{status_path}: {}",
        citizen.main_text().await
    );
    let case = status_path["/status/".len().."/status/".len() + 11].to_string();
    assert!(citizen.html().await.contains(&case));
    citizen.screenshot("eingangsbestaetigung").await;

    // The address is confirmed through the link of the one mail it got.
    let request = eventually("the confirmation request", 30, async || {
        sink.messages().into_iter().next()
    })
    .await;
    assert_eq!(header(&request, "To").as_deref(), Some("erika@example.org"));
    let body = body_text(&request);
    let link = body
        .lines()
        .find(|l| l.contains("/confirm?token="))
        .unwrap_or_else(|| panic!("no link in {body}"))
        .trim()
        .to_string();
    citizen
        .goto(&app, &link[link.find("/api/").unwrap()..])
        .await;
    assert!(citizen.html().await.contains("true"), "confirmed");

    // The clerk of the routed department finds it in the inbox.
    let first = case_json(&app, &case).await;
    let department = first["decision"]["department"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("decided: {first}"))
        .to_string();
    let clerk_of = |department: &str| match department {
        "tiefbau" => "tief",
        "abfallwirtschaft" => "abfall",
        "ordnungsamt" => "ordnung",
        "umweltamt" => "umwelt",
        other => panic!("no clerk for {other} in this test"),
    };
    let clerk = browser().await.unwrap();
    clerk.sign_in(&app, clerk_of(&department)).await;
    assert!(
        clerk.html().await.contains(&case),
        "the case is in the inbox"
    );
    clerk.screenshot("arbeitsliste").await;
    clerk
        .click_and_wait(&format!("a[href='/app/faelle/{case}']"))
        .await;
    clerk.screenshot("fall").await;
    let (button, service) = other_department_candidate(&clerk)
        .await
        .unwrap_or_else(|| panic!("a candidate of another department: {first}"));
    clerk.click_and_wait(&button).await;
    let learnt = clerk.text("[role=status]").await;
    assert!(
        learnt.contains("Das Modell lernt daraus") && learnt.contains(" s trainiert"),
        "the inbox says what the model learnt: {learnt}"
    );
    let moved = case_json(&app, &case).await;
    assert_eq!(moved["decision"]["service"]["name"], service.as_str());
    let second = moved["decision"]["department"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(second, department);
    clerk.goto(&app, &format!("/app/faelle/{case}")).await;
    assert!(
        clerk.text("h1").await.contains("nicht gefunden"),
        "the first clerk can no longer open the case"
    );

    // The other department's clerk edits the answer and sends it.
    let other = browser().await.unwrap();
    other.sign_in(&app, clerk_of(&second)).await;
    assert!(other.html().await.contains(&case));
    other.goto(&app, &format!("/app/faelle/{case}")).await;
    let answer = "Vielen Dank, wir holen den Sperrmüll am Donnerstag ab.";
    let field = other.find("#reply-text").await;
    field.clear().await.unwrap();
    field.send_keys(answer).await.unwrap();
    other
        .click_and_wait("form[action$='/antwort'] button[type=submit]")
        .await;
    assert!(other.html().await.contains(answer));

    let mailed = eventually("the answer at the SMTP sink", 30, async || {
        sink.messages()
            .into_iter()
            .find(|m| body_text(m).contains(answer))
    })
    .await;
    assert_eq!(header(&mailed, "To").as_deref(), Some("erika@example.org"));

    citizen
        .goto(&app, status_path.replace("&neu=1", "").as_str())
        .await;
    let status = citizen.html().await;
    assert!(status.contains(answer), "{status}");
    assert!(status.contains("Beantwortet"));
}

/// The clerk re-routes by keyboard alone: the shortcut focuses the service list, typing
/// picks a service, Tab reaches the reason and the button, Enter sends.
#[tokio::test]
async fn a_clerk_re_routes_by_keyboard_alone() {
    let Some((b, app, case)) = with_lamp_case().await else {
        return;
    };
    let case = case.as_str();
    app.add_user("tief", Role::Clerk, &["tiefbau"]).await;
    b.sign_in(&app, "tief").await;
    b.goto(&app, &format!("/app/faelle/{case}")).await;

    press(&b, &['l']).await;
    let focused = b.eval("return document.activeElement.id").await;
    assert_eq!(focused, "service", "the shortcut focuses the service list");
    // Typing on a focused list selects the first option starting with the letters.
    press(&b, &"Illegale".chars().collect::<Vec<_>>()).await;
    let chosen = b
        .eval("return document.getElementById('service').value")
        .await;
    assert_eq!(chosen, "illegale-muellablagerung");
    press(&b, &[Key::Tab.into()]).await;
    assert_eq!(b.eval("return document.activeElement.id").await, "reason");
    press(&b, &"Muell".chars().collect::<Vec<_>>()).await;
    press(&b, &[Key::Tab.into()]).await;
    let on_button = b
        .eval("const e = document.activeElement; return e.tagName === 'BUTTON' && e.form.action.endsWith('/umleiten') && getComputedStyle(e).outlineStyle !== 'none'")
        .await;
    assert_eq!(on_button, true, "the re-route button has a visible focus");
    let before = b.eval("return performance.timeOrigin").await;
    press(&b, &[Key::Enter.into()]).await;
    b.loaded_after(before).await;
    let moved = case_json(&app, case).await;
    assert_eq!(
        moved["decision"]["service"]["id"],
        "illegale-muellablagerung"
    );
}

/// Forms without their token, with a wrong one, or sent from a page of another origin are
/// refused, and nothing happens to the case.
#[tokio::test]
async fn tampered_and_foreign_forms_are_refused() {
    let Some((b, app, case)) = with_lamp_case().await else {
        return;
    };
    b.sign_in(&app, "admin").await;
    let accept = format!("form[action='/app/faelle/{case}/annehmen']");
    for tamper in [
        "f.querySelector('input[name=csrf]').remove()",
        "f.querySelector('input[name=csrf]').value = 'A'.repeat(43)",
    ] {
        b.goto(&app, &format!("/app/faelle/{case}")).await;
        b.eval(&format!(
            "const f = document.querySelector(\"{accept}\"); {tamper}; return true"
        ))
        .await;
        b.click_and_wait(&format!("{accept} button")).await;
        assert!(
            b.text("h1").await.contains("abgelaufen"),
            "{tamper}: {}",
            b.html().await
        );
    }

    // A page elsewhere posting into the case while the clerk is signed in.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let target = format!("{}/app/faelle/{case}/annehmen", app.base);
    let foreign = axum::Router::new().route(
        "/",
        axum::routing::get(move || async move {
            axum::response::Html(format!(
                "<!doctype html><title>Gewinnspiel</title><form method=post action='{target}'>\
                 <input type=hidden name=csrf value=x><button>Gewinn abholen</button></form>"
            ))
        }),
    );
    tokio::spawn(async move { axum::serve(listener, foreign).await });
    // Another port on the same host is the same site (the cookies go along) but another
    // origin: the token is missing and the origin is foreign. From `localhost` it is another
    // site, and the browser sends no cookie at all: sign in first.
    for (host, refused) in [("127.0.0.1", "abgelaufen"), ("localhost", "Anmeldung")] {
        b.client
            .goto(&format!("http://{host}:{port}/"))
            .await
            .unwrap();
        b.click_and_wait("button").await;
        let h1 = b.text("h1").await;
        assert!(h1.contains(refused), "from {host}: {h1}");
    }

    tokio::time::sleep(Duration::from_millis(300)).await;
    let history = app
        .state
        .store
        .audit_entries_for(std::slice::from_ref(&case))
        .await
        .unwrap();
    assert!(
        history.iter().all(|e| !e.action.contains("review")),
        "no review happened: {history:?}"
    );
}

/// Script, attribute injection, `javascript:` links, hostile HTML mail, right-to-left
/// overrides and a 20,000-character word render as text: no dialog opens, no element gains
/// an event handler, no link runs script.
#[tokio::test]
async fn hostile_input_renders_inert() {
    let Some(b) = browser().await else {
        return;
    };
    let app = spawn_app().await;
    let word = "W".repeat(19_000);
    let text = format!(
        "<script>alert(1)</script> \" onmouseover=\"alert(2)\" x=\" <a href=\"javascript:alert(3)\">klick</a> \
         <img src=x onerror=alert(4)> \u{202E}gnp.exe Laterne kaputt {word}"
    );
    b.goto(&app, "/").await;
    b.eval(&format!(
        "document.getElementById('text').value = {};
         document.getElementById('name').value = '\"><svg onload=alert(5)>';
         document.getElementById('place').value = 'javascript:alert(6)';
         document.getElementById('consent').checked = true; return true",
        serde_json::to_string(&text).unwrap()
    ))
    .await;
    b.click_and_wait("form button[type=submit]").await;
    let path = b.path().await;
    assert!(
        path.starts_with("/status/"),
        "{path}: {}",
        b.main_text().await
    );
    let case = path["/status/".len().."/status/".len() + 11].to_string();

    // A hostile HTML mail, taken in through `anliegen ingest` into the same database.
    let mail = "From: \"<script>alert(7)</script>\" <boese@example.org>\r\nTo: buergerservice@kreis.example\r\n\
                Subject: =?utf-8?q?Laterne_<img_src=3Dx_onerror=3Dalert(8)>?=\r\nMessage-ID: <hostile@example.org>\r\n\
                Date: Mon, 9 Mar 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
                <html><body onload=alert(9)><p>Laterne <b>kaputt</b><script>alert(10)</script>\
                <a href=\"javascript:alert(11)\">hier</a><iframe src=\"javascript:alert(12)\"></iframe>\
                <div style=\"background:url(javascript:alert(13))\">x</div><p unclosed <b>\r\n";
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("hostile.eml");
    std::fs::write(&maildir, mail).unwrap();
    let ran = crate::mail_limits::ingest(
        app.state.config.database.url.expose_secret(),
        &maildir,
        &[],
        None,
        |_| {},
    );
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let mailed = eventually("the mail's case", 30, async || {
        let (_, list) = app.get("/api/v1/inquiries").await;
        list["inquiries"]
            .as_array()?
            .iter()
            .find(|i| i["channel"] == "email")?["case_number"]
            .as_str()
            .map(str::to_string)
    })
    .await;

    b.sign_in(&app, "admin").await;
    for path in [
        "/app".to_string(),
        format!("/app/faelle/{case}"),
        format!("/app/faelle/{mailed}"),
    ] {
        b.goto(&app, &path).await;
        // Hover and click over everything the citizen wrote.
        b.eval("document.querySelectorAll('.text-block, td, dd').forEach(e => { e.dispatchEvent(new MouseEvent('mouseover', {bubbles: true})); }); return true").await;
        b.assert_no_dialog().await;
        let injected = b
            .eval(
                "return {
                   handlers: [...document.querySelectorAll('*')].filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length,
                   scripts: [...document.scripts].filter(s => !s.src).length,
                   js_links: document.querySelectorAll('[href^=\"javascript:\" i], [src^=\"javascript:\" i]').length,
                   foreign: document.querySelectorAll('main img, main svg:not([aria-hidden]), main iframe, main b').length,
                   wide: document.documentElement.scrollWidth > window.innerWidth + 1,
                 }",
            )
            .await;
        assert_eq!(
            injected,
            json!({"handlers": 0, "scripts": 0, "js_links": 0, "foreign": 0, "wide": false}),
            "{path}"
        );
    }
    // The text is there, as text.
    b.goto(&app, &format!("/app/faelle/{case}")).await;
    assert!(
        b.text(".text-block")
            .await
            .contains("<script>alert(1)</script>")
    );
}

/// axe-core finds no serious or critical WCAG 2.1 A/AA violation on any page kind, signed
/// out (form, its errors, answer, status, lookup, privacy, sign-in, errors) and signed in
/// (inbox, case, English), at 200 % zoom as well.
#[tokio::test]
async fn every_page_kind_passes_axe() {
    let Some((b, app, case)) = with_lamp_case().await else {
        return;
    };

    for path in ["/", "/login", "/datenschutz", "/status", "/nichts-hier"] {
        b.goto(&app, path).await;
        b.assert_accessible(path).await;
    }
    // The form with its errors tied to the fields.
    b.goto(&app, "/").await;
    b.click_and_wait("form button[type=submit]").await;
    assert!(
        b.html().await.contains("aria-invalid=\"true\""),
        "{}",
        b.main_text().await
    );
    b.assert_accessible("/ (errors)").await;
    // The answer and status pages.
    b.eval("document.getElementById('text').value = 'Der Gehweg am Markt ist aufgerissen'; document.getElementById('consent').checked = true; return true").await;
    b.click_and_wait("form button[type=submit]").await;
    b.assert_accessible("/status/… (answer)").await;
    b.sign_in(&app, "admin").await;
    for path in ["/app".to_string(), format!("/app/faelle/{case}")] {
        b.goto(&app, &path).await;
        b.assert_accessible(&path).await;
    }
    // At 200 % zoom the case page still fits the width (no horizontal scrolling).
    b.eval("document.body.style.zoom = '200%'; return true")
        .await;
    let wide = b
        .eval("return document.documentElement.scrollWidth > window.innerWidth + 1")
        .await;
    assert_eq!(wide, false, "the case page reflows at 200 %");
    b.goto(&app, "/sprache?lang=en&next=/app").await;
    assert!(b.html().await.contains("lang=\"en\""));
    b.assert_accessible("/app (English)").await;
}

/// The admin console and the quality page (with a trained model and clerk reviews behind
/// it) pass axe-core too; the quality page's plots are images with a text alternative.
#[tokio::test]
async fn the_admin_console_and_the_quality_page_pass_axe() {
    let Some((b, app, case)) = with_lamp_case().await else {
        return;
    };
    let other = app
        .route_inquiry(&json!({"text": "Seit drei Wochen wurde unsere Biotonne nicht geleert"}))
        .await;
    let (code, trained) = app
        .post_json("/api/v1/admin/models/train", &json!({}))
        .await;
    assert_eq!(code, 200, "{trained}");
    for (case, body) in [
        (
            case.as_str(),
            json!({"action": "reroute", "service": "illegale-muellablagerung", "reason": "Müll"}),
        ),
        (
            other["case_number"].as_str().unwrap(),
            json!({"action": "accept"}),
        ),
    ] {
        let (code, reviewed) = app
            .post_json(&format!("/api/v1/inquiries/{case}/review"), &body)
            .await;
        assert_eq!(code, 200, "{reviewed}");
    }
    b.sign_in(&app, "admin").await;
    for path in [
        "/admin",
        "/admin/konten",
        "/admin/katalog",
        "/admin/modelle",
        "/admin/auftraege",
        "/admin/datenschutz",
        "/admin/quality",
    ] {
        b.goto(&app, path).await;
        assert!(!b.text("h1").await.is_empty(), "{path}");
        b.assert_accessible(path).await;
    }
    let plots = b
        .eval("return [...document.querySelectorAll('svg[role=img]')].filter(s => s.querySelector('title')).length")
        .await;
    assert!(plots.as_i64().unwrap() >= 2, "plots with titles: {plots}");
    b.screenshot("qualitaet").await;
}
