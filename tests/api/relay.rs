//! No open relay, checked at a real SMTP sink: an address typed into the API gets one fixed
//! confirmation request — no acknowledgement with the department, nothing of the text, no
//! forward — and clerks' replies reach it only after its link was followed. A flood of
//! inquiries naming one address sends it few requests; `mail.ack_unconfirmed` is the
//! documented way around.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    helpers::TestApp,
    mail::{eventually, mail_app_with},
    mailservers::{SmtpSink, body_text, header},
};

const VICTIM: &str = "opfer@example.org";
const TEXT: &str =
    "Die Straßenlaterne vor Hausnummer 7 ist kaputt. KLICKEN SIE HIER: http://phish.example";

async fn relay_app(sink: &SmtpSink, adjust: impl FnOnce(&mut anliegen::config::Config)) -> TestApp {
    mail_app_with(None, sink.port, true, |c| {
        c.mail.forward_departments = vec!["tiefbau".into()];
        adjust(c);
    })
    .await
}

async fn reply(app: &TestApp, case: &str, text: &str) -> Value {
    let r = app
        .client
        .post(format!("{}/api/v1/inquiries/{case}/reply", app.base))
        .json(&json!({"text": text, "language": "de"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    r.json().await.unwrap()
}

/// The outbox has nothing left to send.
async fn outbox_settled(app: &TestApp) {
    eventually("the outbox to settle", 30, async || {
        let outbox = app.state.store.outbox().await.unwrap();
        outbox.iter().all(|o| o.state == "sent").then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_foreign_sender_gets_only_a_confirmation_request_and_replies_after_its_link() {
    let sink = SmtpSink::start();
    let app = relay_app(&sink, |c| c.mail.confirmations_per_address_per_day = 1).await;
    let (code, receipt) = app
        .post_inquiry(&json!({"text": TEXT, "sender": VICTIM}))
        .await;
    assert_eq!(code, 201, "{receipt}");
    assert_eq!(receipt["department"]["id"], "tiefbau");
    let case = receipt["case_number"].as_str().unwrap().to_string();

    let sent = eventually("the confirmation request", 30, async || {
        let sent = sink.messages();
        (!sent.is_empty()).then_some(sent)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let sent_now = sink.messages();
    assert_eq!(
        sent_now.len(),
        1,
        "no forward, no second mail: {sent_now:?}"
    );
    assert_eq!(header(&sent[0], "To").as_deref(), Some(VICTIM));
    let body = body_text(&sent[0]);
    assert!(body.contains(&case), "{body}");
    for echoed in ["Laterne", "phish", "KLICKEN", "Tiefbau", "Kreisstraßen"] {
        assert!(!body.contains(echoed), "{echoed} in the mail: {body}");
    }

    let early = reply(&app, &case, "Wir reparieren die Laterne.").await;
    assert_eq!(early["mailed"], false, "{early}");
    // Another inquiry naming the same address: it has had its request for today.
    let (code, _) = app
        .post_inquiry(&json!({"text": TEXT, "sender": VICTIM}))
        .await;
    assert_eq!(code, 201);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        sink.messages().len(),
        1,
        "nothing more before the confirmation"
    );

    let link = body
        .lines()
        .find(|l| l.contains("/confirm?token="))
        .unwrap_or_else(|| panic!("no link in {body}"))
        .trim();
    let path = &link[link.find("/api/").unwrap()..];
    let (code, wrong) = app
        .get(&format!(
            "{}0",
            path.trim_end_matches(char::is_alphanumeric)
        ))
        .await;
    assert_eq!(code, 404, "{wrong}");
    let r = app
        .anonymous
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let confirmed: Value = r.json().await.unwrap();
    assert_eq!(confirmed["contact_confirmed"], true);

    let late = reply(&app, &case, "Die Laterne ist repariert.").await;
    assert_eq!(late["mailed"], true, "{late}");
    outbox_settled(&app).await;
    let sent = sink.messages();
    assert_eq!(sent.len(), 2);
    let answer = sent
        .iter()
        .find(|m| body_text(m).contains("Die Laterne ist repariert."))
        .unwrap();
    assert_eq!(header(answer, "To").as_deref(), Some(VICTIM));
    let audit = app
        .state
        .store
        .audit_entries_for(std::slice::from_ref(&case))
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "contact.confirm" && e.actor == "citizen"),
        "{audit:?}"
    );
}

#[tokio::test]
async fn with_ack_unconfirmed_the_acknowledgement_goes_out_at_once_without_the_text() {
    let sink = SmtpSink::start();
    let app = relay_app(&sink, |c| c.mail.ack_unconfirmed = true).await;
    let (_, receipt) = app
        .post_inquiry(&json!({"text": TEXT, "sender": VICTIM}))
        .await;
    let case = receipt["case_number"].as_str().unwrap();
    let sent = eventually("the acknowledgement", 30, async || {
        let sent = sink.messages();
        (!sent.is_empty()).then_some(sent)
    })
    .await;
    let body = body_text(&sent[0]);
    assert!(
        body.contains(case) && body.contains("Kreisstraßen und Tiefbau"),
        "{body}"
    );
    assert!(
        !body.contains("phish") && !body.contains("Laterne"),
        "{body}"
    );
    let link = body
        .lines()
        .find(|l| l.contains("/api/v1/status/"))
        .unwrap()
        .trim();
    let path = &link[link.find("/api/").unwrap()..];
    let (code, seen) = app.get(path).await;
    assert_eq!(
        (code, seen["case_number"].as_str()),
        (200, Some(case)),
        "the mailed status link opens the case"
    );
}
