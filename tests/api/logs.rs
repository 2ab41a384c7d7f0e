//! Personal data never reaches the logs, and the pipeline works on redacted text: the real
//! binary at log level debug receives inquiries full of addresses, phone numbers, IBANs
//! and names; its captured log contains none of them, nor any inquiry text.

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
    for (text, sender) in INQUIRIES {
        let r = client
            .post(format!("{}/api/v1/inquiries", server.base))
            .json(&json!({"text": text, "sender": sender}))
            .send()
            .await
            .unwrap();
        assert!([201, 202].contains(&r.status().as_u16()));
    }
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
