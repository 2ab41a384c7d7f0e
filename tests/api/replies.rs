//! Suggested replies end to end: an English mail fetched from the real IMAP server gets an
//! English draft with the German copy, grounded in the catalogue with sources and gaps; an
//! invented fee is flagged; the clerk's reply reaches the real SMTP sink threaded onto the
//! citizen's mail; a similar later inquiry is offered the sent reply. Saved templates are
//! versioned and audited, and autonomy decides whether the draft goes out in one click.

use serde_json::{Value, json};

use crate::{
    helpers::spawn_app,
    mail::{eventually, mail_app},
    mailservers::{Dovecot, SmtpSink, body_text, header},
};

fn english_mail(id: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Jane Doe <jane@example.org>\r\nTo: buergerservice@kreis.example\r\n\
         Subject: Street lamp\r\nMessage-ID: <{id}>\r\nDate: Mon, 9 Mar 2026 10:00:00 +0100\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// The draft text with every line that still carries a gap marker removed.
fn without_gaps(text: &str) -> String {
    text.lines()
        .filter(|l| !l.contains("not in the catalogue") && !l.contains("nicht hinterlegt"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn an_english_mail_gets_an_english_draft_and_the_clerks_reply_is_threaded() {
    let dovecot = Dovecot::start();
    let sink = SmtpSink::start();
    let app = mail_app(Some(&dovecot), sink.port, true).await;
    dovecot.deliver(&english_mail(
        "lamp-1@example.org",
        "Hello, the street lamp in front of my house has been broken for a week. Please fix it.",
    ));
    let ack = eventually("the acknowledgement", 90, async || sink.messages().pop()).await;
    let subject = header(&ack, "Subject").unwrap();
    let case = regex::Regex::new(r"\[Anliegen (\d{4}-\d{6})\]")
        .unwrap()
        .captures(&subject)
        .unwrap()[1]
        .to_string();

    let (status, inquiry) = app.get(&format!("/api/v1/inquiries/{case}")).await;
    assert_eq!(status, 200);
    let draft = &inquiry["reply"];
    assert_eq!(draft["language"], "en", "{draft}");
    assert_eq!(draft["inquiry_language"], "en");
    assert_eq!(draft["intent"], "defect");
    assert_eq!(draft["service_id"], inquiry["decision"]["service"]["id"]);
    let text = draft["text"].as_str().unwrap();
    assert!(text.starts_with("Dear Sir or Madam,"), "{text}");
    assert!(text.contains(&case), "{text}");
    assert!(
        !text.contains("Jane") && !text.contains("my house"),
        "{text}"
    );
    let variants = draft["variants"].as_array().unwrap();
    let german = variants.iter().find(|v| v["language"] == "de").unwrap();
    assert!(
        german["text"]
            .as_str()
            .unwrap()
            .starts_with("Sehr geehrte Damen und Herren,")
    );
    assert!(variants.iter().any(|v| v["language"] == "de-x-ls"));
    for fact in draft["facts"].as_array().unwrap() {
        assert!(!fact["source"].as_str().unwrap().is_empty(), "{fact}");
    }
    for flag in draft["check"]["flags"].as_array().unwrap() {
        assert_eq!(
            flag["kind"], "gap",
            "only gaps are flagged in a fresh draft: {flag}"
        );
    }
    assert_eq!(draft["autonomy"], "suggest");

    // An invented fee is refused with its span.
    let reply = |body: Value| {
        let (client, base, case) = (app.client.clone(), app.base.clone(), case.clone());
        async move {
            let r = client
                .post(format!("{base}/api/v1/inquiries/{case}/reply"))
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let invented = format!("{}\n\nThe fee is 45 euros.", without_gaps(text));
    let (status, refused) = reply(json!({"text": invented})).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["code"], "reply_flagged");
    assert_eq!(refused["flags"][0]["kind"], "amount");
    assert_eq!(refused["flags"][0]["text"], "45 euros");
    // One click is for services with draft autonomy.
    let (status, _) = reply(json!({"draft": true})).await;
    assert_eq!(status, 409);
    assert_eq!(sink.messages().len(), 1, "nothing refused was sent");

    let (status, sent) = reply(json!({"text": without_gaps(text)})).await;
    assert_eq!(status, 202, "{sent}");
    assert_eq!(sent["state"], "queued");
    assert_eq!(sent["language"], "en");
    assert!(sent["check"]["ok"].as_bool().unwrap(), "{sent}");
    assert!(
        sent["german_copy"]
            .as_str()
            .unwrap()
            .starts_with("Sehr geehrte"),
        "the German copy goes to the file: {sent}"
    );
    let mail = eventually("the reply at the sink", 30, async || {
        let all = sink.messages();
        (all.len() == 2).then(|| all[1].clone())
    })
    .await;
    assert_eq!(
        header(&mail, "In-Reply-To").as_deref(),
        Some("<lamp-1@example.org>")
    );
    assert!(
        header(&mail, "References")
            .unwrap()
            .contains("<lamp-1@example.org>")
    );
    assert!(
        header(&mail, "Subject")
            .unwrap()
            .contains(&format!("[Anliegen {case}]"))
    );
    assert_eq!(
        header(&mail, "To")
            .as_deref()
            .map(|t| t.contains("jane@example.org")),
        Some(true)
    );
    let body = body_text(&mail);
    assert!(
        body.contains("Dear Sir or Madam,") && body.contains("Case number:"),
        "{body}"
    );

    // A similar inquiry for the same service is offered the reply just sent.
    dovecot.deliver(&english_mail(
        "lamp-2@example.org",
        "Hello, the street lamp outside my flat has been broken for days.",
    ));
    let next = eventually("the second case with its draft", 90, async || {
        let (_, list) = app.get("/api/v1/inquiries").await;
        let other = list["inquiries"]
            .as_array()?
            .iter()
            .find(|i| i["case_number"] != case.as_str() && i["status"] != "received")?
            .clone();
        let (_, full) = app
            .get(&format!(
                "/api/v1/inquiries/{}",
                other["case_number"].as_str()?
            ))
            .await;
        Some(full)
    })
    .await;
    if next["decision"]["service"]["id"] == inquiry["decision"]["service"]["id"] {
        let alternatives = next["reply"]["alternatives"].as_array().unwrap();
        assert_eq!(
            alternatives[0]["case_number"],
            case.as_str(),
            "{alternatives:?}"
        );
        assert!(alternatives[0]["similarity"].as_f64().unwrap() > 0.3);
    }
}

#[tokio::test]
async fn templates_are_versioned_and_autonomy_decides_the_one_click_reply() {
    let app = spawn_app().await;
    app.start_engine().await;
    let routed = app
        .route_inquiry(
            &json!({"text": "Die Straßenlaterne vor Hausnummer 7 ist seit Tagen kaputt"}),
        )
        .await;
    let case = routed["case_number"].as_str().unwrap().to_string();
    let service = routed["decision"]["service"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(routed["reply"]["language"], "de");
    assert_eq!(routed["reply"]["intent"], "defect");

    let path = format!("/api/v1/inquiries/{case}/reply/template");
    let text = format!("Guten Tag,\n\nIhre Meldung {case} ist bei uns eingegangen.");
    for version in [1, 2] {
        let (status, saved) = app
            .post_json(&path, &json!({"text": text, "language": "de"}))
            .await;
        assert_eq!(status, 201, "{saved}");
        assert_eq!(saved["version"], version);
        assert!(
            saved["text"].as_str().unwrap().contains("[Vorgangsnummer]"),
            "{saved}"
        );
    }
    let (_, shown) = app.get(&format!("/api/v1/inquiries/{case}")).await;
    let template = &shown["reply"]["templates"][0];
    assert_eq!(template["version"], 2);
    assert!(template["text"].as_str().unwrap().contains(&case));
    assert_eq!(template["check"]["ok"], true);
    let audit = app
        .state
        .store
        .audit_entries_for(std::slice::from_ref(&service))
        .await
        .unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "reply.template")
            .count(),
        2
    );

    let (status, _) = app
        .post_json(
            &format!("/api/v1/inquiries/{case}/reply"),
            &json!({"draft": true}),
        )
        .await;
    assert_eq!(status, 409, "suggest: the clerk sends the reviewed text");
    let admin = format!("/api/v1/admin/services/{service}/reply");
    let r = app
        .client
        .put(format!("{}{admin}", app.base))
        .json(&json!({"autonomy": "draft"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (_, setting) = app.get(&admin).await;
    assert_eq!(setting["autonomy"], "draft");
    assert_eq!(setting["templates"].as_array().unwrap().len(), 2);
    let r = app
        .client
        .put(format!("{}{admin}", app.base))
        .json(&json!({"autonomy": "sometimes"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let (_, shown) = app.get(&format!("/api/v1/inquiries/{case}")).await;
    assert_eq!(shown["reply"]["autonomy"], "draft");
    let complete = shown["reply"]["gaps"].as_array().unwrap().is_empty();
    let (status, sent) = app
        .post_json(
            &format!("/api/v1/inquiries/{case}/reply"),
            &json!({"draft": true}),
        )
        .await;
    if complete {
        assert_eq!(status, 202, "{sent}");
        assert_eq!(
            sent["state"], "recorded",
            "no address: kept for the status page"
        );
    } else {
        assert_eq!(status, 422, "a draft with gaps is flagged: {sent}");
        assert_eq!(sent["code"], "reply_flagged");
    }
    let audit = app.state.store.audit_entries_for(&[service]).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "reply.autonomy"));
}
