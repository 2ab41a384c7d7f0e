//! Personal data never reaches the logs, and the pipeline works on redacted text: the real
//! binary at log level debug receives inquiries full of addresses, phone numbers, IBANs
//! and names, status lookups with their secrets and a login; its captured log contains
//! none of them, nor any inquiry text, secret or password.

use serde_json::json;

use crate::process::{Anliegen, pool, wait_for_done};

const INQUIRIES: &[(&str, &str)] = &[
    (
        "Sehr geehrte Damen und Herren, die Laterne vor Hauptstraße 12, 12345 Musterstadt ist \
         kaputt. Mit freundlichen Grüßen Erika Mustermann, Tel. 0171 2345678",
        "erika.mustermann@example.org",
    ),
    (
        "Bitte erstatten Sie die Gebühr auf mein Konto DE89 3704 0044 0532 0130 00. \
         Rückfragen an max.muster@web.de oder 030 12345678.",
        "max.muster@web.de",
    ),
    (
        "Ich, Jürgen Schäfer, wohne in der Lindenallee 7a und möchte mein Auto ummelden.",
        "j.schaefer@example.com",
    ),
];

const PERSONAL: &[&str] = &[
    "Hauptstraße 12",
    "Musterstadt",
    "Mustermann",
    "0171 2345678",
    "DE89 3704 0044 0532 0130 00",
    "DE89370400440532013000",
    "max.muster",
    "030 12345678",
    "Schäfer",
    "Lindenallee",
    "example.org",
    "example.com",
    "web.de",
];

/// Typed into the login as the password; never logged.
const PASSWORD: &str = "Geheimes Passwort 2026";

#[tokio::test]
async fn logs_at_debug_level_contain_no_message_text_or_personal_data() {
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/anliegen.db", data.path().display());
    let mut server = Anliegen::start(
        "serve",
        data.path(),
        &url,
        &[("ANLIEGEN__LOG__LEVEL", "debug")],
    );
    server.wait_until_working().await;
    let client = reqwest::Client::new();
    let mut secrets = vec![PASSWORD.to_string()];
    for (text, sender) in INQUIRIES {
        let r = client
            .post(format!("{}/api/v1/inquiries", server.base))
            .json(&json!({"text": text, "sender": sender}))
            .send()
            .await
            .unwrap();
        assert!([201, 202].contains(&r.status().as_u16()));
        let receipt: serde_json::Value = r.json().await.unwrap();
        let (case, token) = (&receipt["case_number"], &receipt["status_token"]);
        let status = format!(
            "{}/api/v1/status/{}?token={}",
            server.base,
            case.as_str().unwrap(),
            token.as_str().unwrap()
        );
        assert_eq!(
            client.get(status).send().await.unwrap().status().as_u16(),
            200
        );
        secrets.push(token.as_str().unwrap().to_string());
    }
    let login = json!({"username": "erika.mustermann", "password": PASSWORD});
    let r = client
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&login)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let db = pool(&url).await;
    wait_for_done(&db, 3, std::time::Duration::from_secs(60)).await;
    server.kill();

    let log = server.log_text();
    assert!(
        log.contains("inquiry routed"),
        "the log was captured:\n{log}"
    );
    assert!(log.contains("DEBUG"), "at debug level:\n{log}");
    for needle in PERSONAL
        .iter()
        .copied()
        .chain(INQUIRIES.iter().map(|(t, _)| *t))
        .chain(["Laterne", "Gebühr", "ummelden"])
        .chain(secrets.iter().map(String::as_str))
    {
        assert!(!log.contains(needle), "the log contains {needle:?}:\n{log}");
    }

    let redacted: Vec<String> = sqlx::query_scalar("SELECT redacted_text FROM inquiries")
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(redacted.len(), 3);
    for text in &redacted {
        for needle in [
            "Mustermann",
            "0171 2345678",
            "DE89",
            "max.muster",
            "Hauptstraße 12",
        ] {
            assert!(!text.contains(needle), "{needle:?} left in {text:?}");
        }
    }
}
