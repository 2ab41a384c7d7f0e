//! Suggested replies end to end: an English mail fetched from the real IMAP server gets an
//! English draft with the German copy, grounded in the catalogue with sources and gaps; an
//! invented fee is flagged; the clerk's reply reaches the real SMTP sink threaded onto the
//! citizen's mail; a similar later inquiry is offered the sent reply. Saved templates are
//! versioned and audited, and autonomy decides whether the draft goes out in one click.

use serde_json::{Value, json};

use crate::{
    helpers::spawn_app,
    mail::{eventually, mail_app, mail_app_with},
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

fn mail_from_citizen(id: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Erika Muster <erika@example.org>\r\nTo: buergerservice@kreis.example\r\n\
         Subject: Abfuhr\r\nMessage-ID: <{id}>\r\nDate: Mon, 9 Mar 2026 10:00:00 +0100\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// The outbox kinds queued for one case.
async fn outbox_kinds(app: &crate::helpers::TestApp, case: &str) -> Vec<String> {
    let outbox = app.state.store.outbox().await.unwrap();
    outbox
        .into_iter()
        .filter(|o| o.case_number == case)
        .map(|o| o.kind)
        .collect()
}

#[tokio::test]
async fn auto_autonomy_sends_a_complete_draft_of_an_automatic_route_and_nothing_else() {
    let dovecot = Dovecot::start();
    let sink = SmtpSink::start();
    let app = mail_app_with(Some(&dovecot), sink.port, true, |c| {
        c.triage.min_labelled_examples = 0;
    })
    .await;
    let (status, trained) = app
        .post_json("/api/v1/admin/models/train", &json!({}))
        .await;
    assert_eq!(status, 200, "{trained}");

    // A complaint needs only a way to reach the office, which every department has (its
    // mailbox): its draft is complete. The first of these complaints that the trained model
    // routes automatically within the risk budget is the one mailed in; routes through the
    // API have no address to mail.
    let complaints = [
        "Ich beschwere mich: Die K8 nach Waldheim war heute früh spiegelglatt und wurde überhaupt nicht gestreut, ein Auto ist in den Graben gerutscht.",
        "Ich möchte mich beschweren: Auf der Weide am Ortsausgang stehen seit Wochen zwei abgemagerte Pferde ohne Wasser und Unterstand.",
        "Beschwerde: Auf dem Mühlbach schwimmt schon wieder ein schillernder Ölfilm und es riecht stark nach Diesel.",
        "Ich beschwere mich über die Nachbarn, die jedes Wochenende bis 3 Uhr nachts mit lauter Musik feiern.",
        "Ich möchte mich beschweren: Die Mülltonne wurde jetzt schon zum dritten Mal nicht geleert, obwohl sie rechtzeitig an der Straße stand.",
    ];
    let mut probes = Vec::new();
    for text in complaints {
        probes.push((text, app.route_inquiry(&json!({"text": text})).await));
    }
    let (complaint, probe) = probes
        .iter()
        .find(|(_, p)| p["decision"]["status"] == "routed")
        .unwrap_or_else(|| panic!("no complaint routed automatically: {probes:?}"));
    let decision = &probe["decision"];
    assert_eq!(decision["calibrated"], true, "{decision}");
    assert_eq!(probe["reply"]["intent"], "complaint");
    assert!(
        probe["reply"]["gaps"].as_array().unwrap().is_empty(),
        "{}",
        probe["reply"]
    );
    let service = decision["service"]["id"].as_str().unwrap().to_string();
    let r = app
        .client
        .put(format!(
            "{}/api/v1/admin/services/{service}/reply",
            app.base
        ))
        .json(&json!({"autonomy": "auto"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);

    dovecot.deliver(&mail_from_citizen("bin-1@example.org", complaint));
    let sent = eventually(
        "the acknowledgement and the automatic reply",
        90,
        async || {
            let all = sink.messages();
            (all.len() >= 2).then_some(all)
        },
    )
    .await;
    let reply = sent
        .iter()
        .find(|m| body_text(m).contains("Wir nehmen Ihre Beschwerde ernst"))
        .unwrap_or_else(|| panic!("no automatic reply among {sent:?}"));
    let subject = header(reply, "Subject").unwrap();
    let case = regex::Regex::new(r"\[Anliegen (\d{4}-\d{6})\]")
        .unwrap()
        .captures(&subject)
        .unwrap()[1]
        .to_string();
    assert_eq!(
        header(reply, "In-Reply-To").as_deref(),
        Some("<bin-1@example.org>")
    );
    assert!(header(reply, "To").unwrap().contains("erika@example.org"));
    let body = body_text(reply);
    assert!(body.contains(&case), "the case number: {body}");
    let (_, inquiry) = app.get(&format!("/api/v1/inquiries/{case}")).await;
    assert_eq!(inquiry["decision"]["service"]["id"], service.as_str());
    assert!(
        body.contains("E-Mail:") && body.contains("@"),
        "how to reach a person: {body}"
    );
    assert!(
        !body.contains(&complaint.chars().skip(20).take(40).collect::<String>()),
        "nothing quoted back: {body}"
    );
    let audit = app
        .state
        .store
        .audit_entries_for(std::slice::from_ref(&case))
        .await
        .unwrap();
    let entry = audit
        .iter()
        .find(|e| e.action == "reply")
        .expect("the reply is audited");
    assert_eq!(entry.actor, "anliegen");
    assert_eq!(entry.details["automatic"], true);

    // An information request whose draft has gaps (documents and fees are not in the demo
    // catalogue) waits for a clerk, whatever the route.
    let question = format!("Welche Unterlagen brauche ich und was kostet es? {complaint}")
        .replace("Ich beschwere mich", "Ich frage")
        .replace("Ich möchte mich beschweren", "Ich frage")
        .replace("Beschwerde", "Frage");
    dovecot.deliver(&mail_from_citizen("bin-2@example.org", &question));
    let other = eventually("the second case decided", 90, async || {
        let (_, list) = app.get("/api/v1/inquiries").await;
        list["inquiries"]
            .as_array()?
            .iter()
            .find(|i| {
                i["case_number"] != case.as_str()
                    && probes
                        .iter()
                        .all(|(_, p)| i["case_number"] != p["case_number"])
                    && i["status"] != "received"
            })
            .map(|i| i["case_number"].as_str().unwrap().to_string())
    })
    .await;
    let (_, second) = app.get(&format!("/api/v1/inquiries/{other}")).await;
    assert!(
        !second["reply"]["gaps"].as_array().unwrap().is_empty(),
        "{}",
        second["reply"]
    );
    // The decision and any automatic reply are written by the same job: once the case is
    // decided, an automatic reply would already be queued.
    let kinds = outbox_kinds(&app, &other).await;
    assert!(!kinds.iter().any(|k| k == "reply"), "{kinds:?}");
}
