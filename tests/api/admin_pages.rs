//! The admin console and the quality page over HTTP, with browsers signed in through the
//! login form and the CSRF token read from each form: who may see them, and that every
//! action changes what it should — accounts, tokens, model versions, dead jobs and mail,
//! audit verification, GDPR export and erasure — with hostile values shown as text.

use secrecy::ExposeSecret;
use std::time::{Duration, Instant};

use anliegen::{
    domain::{Channel, Role},
    store::{JobState, NewInquiry},
};
use reqwest::Client;
use serde_json::Value;

use crate::{
    access::{case_with, decision},
    helpers::{PASSWORD, TestApp, spawn_app_without_engine},
    pages::{browser, csrf_of, location, page, signed_in},
    store::raw,
};

const ADMIN_PAGES: [&str; 7] = [
    "/admin",
    "/admin/konten",
    "/admin/katalog",
    "/admin/modelle",
    "/admin/auftraege",
    "/admin/datenschutz",
    "/admin/quality",
];

/// Posts a form with the page's CSRF token.
async fn post(
    client: &Client,
    app: &TestApp,
    form_page: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let (_, html) = page(client, app, form_page).await;
    let csrf = csrf_of(&html);
    let mut form: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    client
        .post(format!("{}{path}", app.base))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// Whether a login with `name` succeeds.
async fn can_sign_in(app: &TestApp, name: &str) -> bool {
    let r = app
        .anonymous
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&serde_json::json!({"username": name, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    r.status() == 200
}

#[tokio::test]
async fn admin_pages_are_refused_to_clerks_and_ask_strangers_to_sign_in() {
    let app = spawn_app_without_engine().await;
    app.start_engine().await;
    app.add_user("tief", Role::Clerk, &["tiefbau"]).await;
    let clerk = signed_in(&app, "tief").await;
    let admin = signed_in(&app, "admin").await;
    let stranger = browser();
    for path in ADMIN_PAGES {
        let (status, html) = page(&stranger, &app, path).await;
        assert_eq!(status, 401, "{path}");
        assert!(
            html.contains("name=\"password\""),
            "{path}: the sign-in form"
        );
        let (status, _) = page(&clerk, &app, path).await;
        assert_eq!(status, 403, "{path}");
        let (status, html) = page(&admin, &app, path).await;
        assert_eq!(status, 200, "{path}: {html}");
        assert!(
            html.contains("aria-current=\"page\""),
            "{path}: the admin navigation"
        );
    }
    // The header offers the console to admins only.
    assert!(
        page(&admin, &app, "/app")
            .await
            .1
            .contains("href=\"/admin\"")
    );
    assert!(
        !page(&clerk, &app, "/app")
            .await
            .1
            .contains("href=\"/admin\"")
    );
    // A form posted by a clerk is refused before it acts.
    let r = post(&clerk, &app, "/app", "/admin/konten", &[("name", "x")]).await;
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn an_account_created_in_the_console_signs_in_and_a_disabled_one_no_longer() {
    let app = spawn_app_without_engine().await;
    app.start_engine().await;
    let admin = signed_in(&app, "admin").await;
    // Refused input comes back on the form with the reason, nothing created.
    let r = post(
        &admin,
        &app,
        "/admin/konten",
        "/admin/konten",
        &[("name", "neu"), ("password", "kurz"), ("role", "clerk")],
    )
    .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("Konto nicht angelegt"), "{html}");
    assert!(!can_sign_in(&app, "neu").await);

    let r = post(
        &admin,
        &app,
        "/admin/konten",
        "/admin/konten",
        &[
            ("name", "neu"),
            ("password", PASSWORD),
            ("role", "clerk"),
            ("departments", "tiefbau"),
            ("departments", "abfallwirtschaft"),
        ],
    )
    .await;
    assert_eq!(location(&r), "/admin/konten?erledigt=angelegt");
    assert!(can_sign_in(&app, "neu").await);
    let user = app
        .state
        .store
        .users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.name == "neu")
        .unwrap();
    let mut departments = user.departments.clone();
    departments.sort();
    assert_eq!(departments, vec!["abfallwirtschaft", "tiefbau"]);

    let r = post(
        &admin,
        &app,
        "/admin/konten",
        "/admin/konten/neu",
        &[("action", "abteilungen"), ("departments", "tiefbau")],
    )
    .await;
    assert_eq!(location(&r), "/admin/konten?erledigt=geaendert");
    let r = post(
        &admin,
        &app,
        "/admin/konten",
        "/admin/konten/neu",
        &[("action", "sperren")],
    )
    .await;
    assert_eq!(location(&r), "/admin/konten?erledigt=geaendert");
    assert!(!can_sign_in(&app, "neu").await, "disabled");
    let user = app.state.store.users().await.unwrap();
    let user = user.iter().find(|u| u.name == "neu").unwrap();
    assert!(user.disabled);
    assert_eq!(user.departments, vec!["tiefbau"]);
    // The last admin cannot lock the console away.
    let r = post(
        &admin,
        &app,
        "/admin/konten",
        "/admin/konten/admin",
        &[("action", "sperren")],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("last enabled admin"));
    // Audited as the API's changes are.
    let db = raw(app.state.config.database.url.expose_secret()).await;
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE action LIKE 'user.%' ORDER BY seq")
            .fetch_all(&db)
            .await
            .unwrap();
    assert!(actions.len() >= 3, "{actions:?}");
}

#[tokio::test]
async fn a_token_is_shown_once_works_and_stops_when_revoked_and_hostile_names_stay_text() {
    let app = spawn_app_without_engine().await;
    app.start_engine().await;
    let admin = signed_in(&app, "admin").await;
    let hostile = "<script>alert(1)</script>\" onmouseover=\"alert(2)";
    let r = post(
        &admin,
        &app,
        "/admin/konten",
        "/admin/schluessel",
        &[
            ("name", hostile),
            ("role", "clerk"),
            ("departments", "tiefbau"),
        ],
    )
    .await;
    assert_eq!(r.status(), 201);
    let html = r.text().await.unwrap();
    assert!(!html.contains("<script>alert(1)"), "escaped");
    assert!(!html.contains("\" onmouseover=\"alert(2)"), "escaped");
    assert!(html.contains("&#60;script&#62;"), "{html}");
    let marker = "id=\"neuer-schluessel\">";
    let at = html.find(marker).expect("the secret") + marker.len();
    let secret = html[at..at + html[at..].find('<').unwrap()].to_string();
    assert!(secret.starts_with("anl_"), "{secret}");
    let whoami = |secret: String| {
        let client = app.anonymous.clone();
        let url = format!("{}/api/v1/auth/whoami", app.base);
        async move {
            client
                .get(url)
                .bearer_auth(secret)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(whoami(secret.clone()).await, 200, "the token works");
    // Shown once: the page does not show it again.
    let (_, html) = page(&admin, &app, "/admin/konten").await;
    assert!(!html.contains(&secret));

    let id = app.state.store.tokens().await.unwrap()[0].id;
    let r = post(
        &admin,
        &app,
        "/admin/konten",
        &format!("/admin/schluessel/{id}/widerrufen"),
        &[],
    )
    .await;
    assert_eq!(location(&r), "/admin/konten?erledigt=widerrufen");
    assert_eq!(whoami(secret).await, 401, "revoked");
}

/// Reloads the models page until no training runs (the page stops refreshing itself).
async fn training_finished(admin: &Client, app: &TestApp) -> String {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let (status, html) = page(admin, app, "/admin/modelle").await;
        assert_eq!(status, 200);
        if !html.contains("http-equiv=\"refresh\"") {
            return html;
        }
        assert!(
            html.contains("<progress"),
            "a running training shows its progress"
        );
        assert!(Instant::now() < deadline, "training did not finish");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn models_are_trained_activated_rolled_back_and_compared_and_the_quality_page_plots_them() {
    let app = spawn_app_without_engine().await;
    app.start_engine().await;
    let admin = signed_in(&app, "admin").await;
    // Without data the quality page says so in words, with no plot.
    let (status, html) = page(&admin, &app, "/admin/quality").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Noch keine Modellversion ist aktiv"),
        "{html}"
    );
    assert!(html.contains("keine Zahlen aus dem Betrieb"), "{html}");
    assert!(!html.contains("<svg xmlns"), "no empty plot");

    for expected in [1, 2] {
        let r = post(
            &admin,
            &app,
            "/admin/modelle",
            "/admin/modelle/training",
            &[],
        )
        .await;
        assert_eq!(location(&r), "/admin/modelle?erledigt=gestartet");
        let html = training_finished(&admin, &app).await;
        assert!(
            html.contains(&format!("Letztes Training: Version v{expected}")),
            "{html}"
        );
    }
    let versions = app.state.store.model_versions().await.unwrap();
    assert_eq!(versions.len(), 2);
    let r = post(
        &admin,
        &app,
        "/admin/modelle",
        "/admin/modelle/2/aktivieren",
        &[],
    )
    .await;
    assert_eq!(location(&r), "/admin/modelle?erledigt=aktiviert");
    assert_eq!(
        app.state.store.active_model_version().await.unwrap(),
        Some(2)
    );
    let r = post(
        &admin,
        &app,
        "/admin/modelle",
        "/admin/modelle/zurueck",
        &[],
    )
    .await;
    assert_eq!(location(&r), "/admin/modelle?erledigt=zurueck");
    assert_eq!(
        app.state.store.active_model_version().await.unwrap(),
        Some(1)
    );
    // Before version 1 there is nothing to roll back to: the page says why.
    let r = post(
        &admin,
        &app,
        "/admin/modelle",
        "/admin/modelle/zurueck",
        &[],
    )
    .await;
    assert_eq!(r.status(), 409);
    let (status, html) = page(&admin, &app, "/admin/modelle?a=1&b=2").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("<th scope=\"col\">v1</th><th scope=\"col\">v2</th>"),
        "{html}"
    );
    assert!(html.contains("Makro-F1"));
    let db = raw(app.state.config.database.url.expose_secret()).await;
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action IN ('model.train', 'model.activate', 'model.rollback')",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(audited, 4);

    // Reviewed inquiries: one auto-routed and re-routed by a clerk, one accepted.
    let routed = decision("strassenbeleuchtung-defekt", "tiefbau", &[]);
    let misrouted = case_with(&app, Some(routed.clone())).await;
    let accepted = case_with(&app, Some(routed)).await;
    let clerk = signed_in(&app, "admin").await;
    let r = post(
        &clerk,
        &app,
        &format!("/app/faelle/{misrouted}"),
        &format!("/app/faelle/{misrouted}/umleiten"),
        &[("service", "illegale-muellablagerung")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let r = post(
        &clerk,
        &app,
        &format!("/app/faelle/{accepted}"),
        &format!("/app/faelle/{accepted}/annehmen"),
        &[],
    )
    .await;
    assert_eq!(r.status(), 303);
    let (status, html) = page(&admin, &app, "/admin/quality").await;
    assert_eq!(status, 200);
    for title in [
        "Zuverlässigkeitsdiagramm",
        "Abdeckung und Fehlzuordnungsrate",
        "Automatisch zugeordnet und von Sachbearbeitung gefundene Fehlzuordnungen je Woche",
        "Aufkommen je Abteilung und Woche",
    ] {
        assert!(
            html.contains(&format!("-title\">{title}</title>")),
            "{title}: {html}"
        );
    }
    assert_eq!(html.matches("role=\"img\"").count(), 4);
    assert!(html.contains("gewählte Schwelle") || html.contains("Keine Schwelle gewählt"));
    // The week's row: 2 received, 2 auto-routed (100 %), 1 re-routed (50 %).
    assert!(
        html.contains("<td>2</td><td>2</td><td>100 %</td><td>1</td><td>50 %</td>"),
        "{html}"
    );
    assert!(html.contains("Präzision und Trefferquote je Leistung"));
    assert!(html.contains("Schwellen je Gruppe"), "{html}");
    assert!(
        !html.contains("Fehlzuordnungen über dem Budget"),
        "two auto-routed inquiries are too few to judge drift"
    );

    // Twenty more auto-routed inquiries and one more re-routed by a clerk: 2 of 22 (9 %)
    // in the last four weeks is above the 5 % budget, and the admin sees it.
    let routed = decision("strassenbeleuchtung-defekt", "tiefbau", &[]);
    let mut more = Vec::new();
    for _ in 0..20 {
        more.push(case_with(&app, Some(routed.clone())).await);
    }
    let (status, body) = app
        .post_json(
            &format!("/api/v1/inquiries/{}/review", more[0]),
            &serde_json::json!({"action": "reroute", "service": "illegale-muellablagerung"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, html) = page(&admin, &app, "/admin/quality").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Warnung: Fehlzuordnungen über dem Budget"),
        "{html}"
    );
    assert!(html.contains("2 von 22"), "{html}");
    let (status, html) = page(&admin, &app, "/admin").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("2 von 22 automatisch zugeordneten Anliegen umgeleitet (9.1 %, Budget 5 %)"),
        "{html}"
    );
}

#[tokio::test]
async fn dead_jobs_and_dead_mail_are_retried_from_the_console() {
    let app = spawn_app_without_engine().await;
    let admin = signed_in(&app, "admin").await;
    let (status, _) = app
        .post_inquiry(
            &serde_json::json!({"text": "Laterne kaputt", "sender": "geheim@example.org"}),
        )
        .await;
    assert_eq!(status, 202);
    let store = &app.state.store;
    let lease = Duration::from_secs(60);
    while let Some(job) = store.claim_job("w", lease).await.unwrap() {
        store
            .fail_job(&job, "model thread stopped", Duration::ZERO)
            .await
            .unwrap();
    }
    let dead = store.jobs(Some(JobState::Dead), 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    let (_, html) = page(&admin, &app, "/admin/auftraege").await;
    assert!(html.contains("model thread stopped"));
    assert!(
        !html.contains("geheim") && !html.contains("Laterne"),
        "no content"
    );
    let id = dead[0].id;
    let r = post(
        &admin,
        &app,
        "/admin/auftraege",
        &format!("/admin/auftraege/{id}/wiederholen"),
        &[],
    )
    .await;
    assert_eq!(location(&r), "/admin/auftraege?erledigt=auftrag");
    assert!(
        store
            .jobs(Some(JobState::Dead), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Not dead any more: refused.
    let r = post(
        &admin,
        &app,
        "/admin/auftraege",
        &format!("/admin/auftraege/{id}/wiederholen"),
        &[],
    )
    .await;
    assert_eq!(r.status(), 409);

    let db = raw(app.state.config.database.url.expose_secret()).await;
    let inquiry: i64 = sqlx::query_scalar("SELECT id FROM inquiries")
        .fetch_one(&db)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO outbox (inquiry_id, kind, to_address, subject, body, message_id, state,
             attempts, next_attempt_at, last_error, created_at)
         VALUES ($1, 'ack', 'geheim@example.org', 'Betreff', 'Text', '<m1@anliegen>', 'dead', 5,
             '2026-01-01T00:00:00+00:00', '550 mailbox unavailable', '2026-01-01T00:00:00+00:00')",
    )
    .bind(inquiry)
    .execute(&db)
    .await
    .unwrap();
    let (_, html) = page(&admin, &app, "/admin/auftraege").await;
    assert!(html.contains("nicht zustellbar") && html.contains("550 mailbox unavailable"));
    assert!(!html.contains("geheim@example.org"), "no addresses");
    let mail = store.outbox().await.unwrap()[0].id;
    let r = post(
        &admin,
        &app,
        "/admin/auftraege",
        &format!("/admin/post/{mail}/wiederholen"),
        &[],
    )
    .await;
    assert_eq!(location(&r), "/admin/auftraege?erledigt=post");
    let entry = &store.outbox().await.unwrap()[0];
    assert_eq!((entry.state.as_str(), entry.attempts), ("queued", 0));
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE action IN ('job.retry', 'mail.retry') ORDER BY seq",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(actions, vec!["job.retry", "mail.retry"]);
}

#[tokio::test]
async fn the_audit_chain_is_verified_and_a_case_is_exported_and_erased_after_confirmation() {
    let app = spawn_app_without_engine().await;
    app.start_engine().await;
    let admin = signed_in(&app, "admin").await;
    let (status, html) = page(&admin, &app, "/admin/datenschutz?pruefen=1").await;
    assert_eq!(status, 200);
    assert!(html.contains("OK: das Protokoll ist unversehrt"), "{html}");

    let store = &app.state.store;
    let secret_text = "Mein Nachbar <script>alert(1)</script> parkt falsch";
    let mut cases = Vec::new();
    for text in [secret_text, "Noch ein Anliegen derselben Person"] {
        let inquiry = store
            .insert_inquiry(NewInquiry {
                channel: Channel::Api,
                sender: Some("Person@Example.org".into()),
                text: text.into(),
                location: None,
            })
            .await
            .unwrap();
        cases.push(inquiry.case_number.to_string());
    }
    let other = case_with(&app, None).await;

    let (_, html) = page(&admin, &app, "/admin/datenschutz?fall=2099-999999").await;
    assert!(html.contains("id=\"fall-fehler\""), "{html}");
    let (_, html) = page(
        &admin,
        &app,
        &format!("/admin/datenschutz?fall={}", cases[0]),
    )
    .await;
    assert!(
        html.contains(&cases[1]),
        "every case of the sender is named"
    );

    let r = post(
        &admin,
        &app,
        "/admin/datenschutz",
        "/admin/datenschutz/export",
        &[("fall", &cases[0])],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let export: Value = r.json().await.unwrap();
    assert_eq!(export["tables"]["inquiries"].as_array().unwrap().len(), 2);
    assert!(export.to_string().contains("parkt falsch"));

    // The first post only asks.
    let r = post(
        &admin,
        &app,
        "/admin/datenschutz",
        "/admin/datenschutz/loeschen",
        &[("fall", &cases[0])],
    )
    .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Wirklich löschen?"), "{html}");
    assert!(
        store
            .inquiry(&cases[0].parse().unwrap())
            .await
            .unwrap()
            .is_some()
    );
    let r = post(
        &admin,
        &app,
        "/admin/datenschutz",
        "/admin/datenschutz/loeschen",
        &[("fall", &cases[0]), ("bestaetigt", "ja")],
    )
    .await;
    assert_eq!(location(&r), "/admin/datenschutz?geloescht=2");
    for case in &cases {
        assert!(
            store
                .inquiry(&case.parse().unwrap())
                .await
                .unwrap()
                .is_none()
        );
    }
    let db = raw(app.state.config.database.url.expose_secret()).await;
    let left: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM inquiries WHERE text LIKE '%parkt falsch%'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(left, 0, "the text is gone");
    // A case without an address is erased alone.
    let r = post(
        &admin,
        &app,
        "/admin/datenschutz",
        "/admin/datenschutz/loeschen",
        &[("fall", &other), ("bestaetigt", "ja")],
    )
    .await;
    assert_eq!(location(&r), "/admin/datenschutz?geloescht=1");
    let (_, html) = page(&admin, &app, "/admin/datenschutz?pruefen=1").await;
    assert!(
        html.contains("OK: das Protokoll ist unversehrt"),
        "still intact after erasure"
    );
}

#[tokio::test]
async fn the_catalogue_is_shown_searched_and_imported_through_the_api_s_import() {
    let app = spawn_app_without_engine().await;
    app.start_engine().await;
    let admin = signed_in(&app, "admin").await;
    let (status, html) = page(&admin, &app, "/admin/katalog?suche=laterne").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("config/catalogue.toml"),
        "says where editing happens"
    );
    assert!(html.contains("Kreisstraßen und Tiefbau"), "{html}");
    let (_, html) = page(&admin, &app, "/admin/katalog?suche=%3Cscript%3E").await;
    assert!(html.contains("value=\"&#60;script&#62;\""), "{html}");

    let (_, html) = page(&admin, &app, "/admin/katalog").await;
    let catalogue =
        std::fs::read_to_string(crate::helpers::repo().join("config/catalogue.toml")).unwrap();
    let csrf = csrf_of(&html);
    let r = upload(
        &admin,
        &app,
        &[("csrf", &csrf), ("format", "toml"), ("dry_run", "ja")],
        ("catalogue.toml", &catalogue),
    )
    .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Nur geprüft, nichts gespeichert."), "{html}");
    let csrf = csrf_of(&html);
    let r = upload(
        &admin,
        &app,
        &[("csrf", &csrf), ("format", "toml")],
        ("kaputt.toml", "kein [toml"),
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Import abgelehnt"));
}

/// Posts the catalogue import form as `multipart/form-data` with one file.
async fn upload(
    client: &Client,
    app: &TestApp,
    fields: &[(&str, &str)],
    file: (&str, &str),
) -> reqwest::Response {
    let boundary = "----anliegen-test-boundary";
    let mut body = String::new();
    for (name, value) in fields {
        body += &format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        );
    }
    body += &format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{}\"\r\nContent-Type: application/octet-stream\r\n\r\n{}\r\n--{boundary}--\r\n",
        file.0, file.1
    );
    client
        .post(format!("{}/admin/katalog/import", app.base))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}
