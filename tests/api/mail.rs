//! Email end to end against real servers: Dovecot as the county's mailbox, aiosmtpd as the
//! relay. A citizen's mail is fetched, triaged and acknowledged; the reply threads onto
//! the case; auto-replies and bounces are recorded, not triaged; the outbox survives a
//! relay outage; ingest and a killed server neither lose nor duplicate anything.

use std::time::Duration;

use anliegen::{
    config::{Config, ImapConfig, MailSecurity},
    store::MailLogEntry,
};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, repo, spawn_app_with},
    mailservers::{Dovecot, SmtpSink, USER, body_text, header},
};

const PROCESSED: &str = "Processed";

pub fn mail_config(c: &mut Config, imap: Option<&Dovecot>, smtp_port: u16) {
    c.mail.enabled = true;
    c.mail.imap = imap
        .map(|d| ImapConfig {
            name: "test".into(),
            host: "127.0.0.1".into(),
            port: d.port,
            security: MailSecurity::Plain,
            user: USER.into(),
            password_env: None,
            password_file: Some(d.password_file()),
            folder: "INBOX".into(),
            processed_folder: Some(PROCESSED.into()),
            processed_flag: "$Anliegen".into(),
            poll_seconds: 2,
        })
        .into_iter()
        .collect();
    c.mail.smtp.host = "127.0.0.1".into();
    c.mail.smtp.port = smtp_port;
    c.mail.smtp.security = MailSecurity::Plain;
    c.mail.smtp.from_address = "anliegen@kreis.example".into();
    c.mail.outbox.retry_seconds = 1;
    c.mail.outbox.max_retry_seconds = 1;
    c.mail.outbox.poll_seconds = 1;
}

pub async fn mail_app(imap: Option<&Dovecot>, smtp_port: u16, engine: bool) -> TestApp {
    mail_app_with(imap, smtp_port, engine, |_| {}).await
}

/// [`mail_app`] with further settings.
pub async fn mail_app_with(
    imap: Option<&Dovecot>,
    smtp_port: u16,
    engine: bool,
    adjust: impl FnOnce(&mut Config),
) -> TestApp {
    let app = spawn_app_with(|c| {
        mail_config(c, imap, smtp_port);
        adjust(c);
    })
    .await;
    if engine {
        app.start_engine().await;
    }
    // The tasks live as long as the test's runtime.
    drop(
        anliegen::app::spawn_mail(&app.state.config, &app.state.store, &app.state.pipeline)
            .expect("mail starts"),
    );
    app
}

fn citizen_mail(id: &str, subject: &str, body: &str, in_reply_to: Option<&str>) -> Vec<u8> {
    mail_from(
        "Erika Muster <erika@example.org>",
        id,
        subject,
        body,
        in_reply_to,
    )
}

fn mail_from(
    from: &str,
    id: &str,
    subject: &str,
    body: &str,
    in_reply_to: Option<&str>,
) -> Vec<u8> {
    let reply = in_reply_to
        .map(|r| format!("In-Reply-To: <{r}>\r\nReferences: <{r}>\r\n"))
        .unwrap_or_default();
    format!(
        "From: {from}\r\nTo: buergerservice@kreis.example\r\n\
         Subject: {subject}\r\nMessage-ID: <{id}>\r\n{reply}Date: Mon, 9 Mar 2026 10:00:00 +0100\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

pub async fn eventually<T>(what: &str, secs: u64, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..secs * 5 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("timed out after {secs} s waiting for {what}");
}

fn inbound(log: &[MailLogEntry]) -> Vec<&MailLogEntry> {
    log.iter().filter(|e| e.direction == "in").collect()
}

#[tokio::test]
async fn citizen_mail_is_acknowledged_and_the_reply_threads_onto_the_case() {
    let dovecot = Dovecot::start();
    let sink = SmtpSink::start();
    let app = mail_app(Some(&dovecot), sink.port, true).await;
    dovecot.deliver(&citizen_mail(
        "first@example.org",
        "Strassenlaterne defekt",
        "Guten Tag, die Strassenlaterne vor Hausnummer 12 in der Lindenstrasse ist seit einer Woche dunkel.",
        None,
    ));
    let ack = eventually("the acknowledgement", 90, async || sink.messages().pop()).await;
    let subject = header(&ack, "Subject").unwrap();
    let case = regex::Regex::new(r"\[Anliegen (\d{4}-\d{6})\]")
        .unwrap()
        .captures(&subject)
        .unwrap_or_else(|| panic!("no case number in subject {subject}"))[1]
        .to_string();
    assert_eq!(
        header(&ack, "Auto-Submitted").as_deref(),
        Some("auto-replied")
    );
    assert_eq!(
        header(&ack, "In-Reply-To").as_deref(),
        Some("<first@example.org>")
    );
    assert_eq!(dovecot.count("INBOX"), 0, "processed mail left the INBOX");
    assert_eq!(dovecot.count(PROCESSED), 1);
    let (status, inquiry) = app.get(&format!("/api/v1/inquiries/{case}")).await;
    assert_eq!(status, 200);
    assert_eq!(inquiry["channel"], "email");

    let ack_id = header(&ack, "Message-ID").unwrap();
    let ack_id = ack_id.trim_matches(['<', '>']);
    dovecot.deliver(&citizen_mail(
        "second@example.org",
        &format!("AW: [Anliegen {case}] Strassenlaterne defekt"),
        "Nachtrag: es ist die Laterne links vom Eingang.",
        Some(ack_id),
    ));
    let log = eventually("the reply to be recorded", 30, async || {
        let log = app.state.store.mail_log().await.unwrap();
        (inbound(&log).len() == 2).then_some(log)
    })
    .await;
    let inbound = inbound(&log);
    assert!(
        inbound
            .iter()
            .all(|e| e.case_number.as_deref() == Some(case.as_str())),
        "{inbound:?}"
    );
    assert_eq!(inbound[1].outcome, "reply");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        sink.messages().len(),
        1,
        "a reply is not acknowledged again"
    );
    // The move follows the commit; under load it can lag the database by a moment.
    eventually("the reply marked processed", 20, async || {
        (dovecot.count(PROCESSED) == 2).then_some(())
    })
    .await;
}

#[tokio::test]
async fn auto_replies_and_bounces_are_recorded_not_triaged() {
    let dovecot = Dovecot::start();
    let sink = SmtpSink::start();
    let app = mail_app(Some(&dovecot), sink.port, true).await;
    for name in ["ooo_auto_submitted.eml", "bounce_dsn_report.eml"] {
        dovecot.deliver(&std::fs::read(repo().join("tests/fixtures/eml").join(name)).unwrap());
    }
    let log = eventually("both mails recorded", 30, async || {
        let log = app.state.store.mail_log().await.unwrap();
        (log.len() == 2).then_some(log)
    })
    .await;
    let outcomes: Vec<_> = log.iter().map(|e| e.outcome.as_str()).collect();
    assert_eq!(outcomes, ["auto_reply", "bounce"]);
    assert!(
        log.iter()
            .all(|e| e.case_number.is_none() && e.reason.is_some())
    );
    eventually("both marked processed", 10, async || {
        (dovecot.count(PROCESSED) == 2).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        sink.messages().is_empty(),
        "no acknowledgement for machines"
    );
    assert!(app.state.store.outbox().await.unwrap().is_empty());
}

#[tokio::test]
async fn clerk_reply_waits_in_the_outbox_while_the_relay_is_down_and_is_sent_once() {
    let mut sink = SmtpSink::stopped(crate::helpers::free_port());
    let app = mail_app(None, sink.port, false).await;
    let raw = citizen_mail(
        "q@example.org",
        "Frage zum Wohngeld",
        "Wie beantrage ich Wohngeld?",
        None,
    );
    let committed = anliegen::intake::commit_raw(&app.state.store, &raw, &Default::default())
        .await
        .unwrap();
    let anliegen::store::Committed::NewCase(case) = committed else {
        panic!("{committed:?}")
    };
    let r = app
        .client
        .post(format!("{}/api/v1/inquiries/{case}/reply", app.base))
        .json(&json!({"text": "Den Antrag finden Sie online.", "language": "de"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let body: Value = r.json().await.unwrap();
    let message_id = body["message_id"].as_str().unwrap().to_string();
    eventually("two failed attempts", 30, async || {
        let outbox = app.state.store.outbox().await.unwrap();
        (outbox[0].attempts >= 2 && outbox[0].state == "queued").then_some(())
    })
    .await;
    let error = app.state.store.outbox().await.unwrap()[0]
        .last_error
        .clone()
        .unwrap();
    assert!(
        !error.contains("example.org"),
        "no addresses in errors: {error}"
    );
    sink.run();
    eventually("delivery", 30, async || {
        let outbox = app.state.store.outbox().await.unwrap();
        (outbox[0].state == "sent").then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let sent = sink.messages();
    assert_eq!(sent.len(), 1, "delivered exactly once");
    assert_eq!(
        header(&sent[0], "Message-ID"),
        Some(format!("<{message_id}>"))
    );
    assert_eq!(
        header(&sent[0], "In-Reply-To").as_deref(),
        Some("<q@example.org>")
    );
    assert!(
        header(&sent[0], "Auto-Submitted").is_none(),
        "a clerk's reply is not automatic"
    );
    let (status, _) = app.get("/api/v1/inquiries/2026-999999").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn ingesting_the_fixture_corpus_twice_creates_nothing_the_second_time() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("Maildir");
    std::fs::create_dir_all(maildir.join("cur")).unwrap();
    std::fs::create_dir_all(maildir.join("new")).unwrap();
    let corpus = repo().join("tests/fixtures/eml");
    let mut count = 0;
    for entry in std::fs::read_dir(&corpus).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "eml") {
            std::fs::copy(&p, maildir.join("cur").join(p.file_name().unwrap())).unwrap();
            count += 1;
        }
    }
    assert!(count >= 30);
    let run = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_anliegen"))
            .args(["ingest"])
            .arg(&maildir)
            .env(
                "ANLIEGEN__DATABASE__URL",
                format!("sqlite://{}/a.db", dir.path().display()),
            )
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let first = run();
    assert_eq!(first["messages"], count);
    assert!(first["new_cases"].as_u64().unwrap() >= 30, "{first}");
    assert_eq!(
        first["outcomes"]["auto_reply"].as_u64().unwrap()
            + first["outcomes"]["bounce"].as_u64().unwrap(),
        8
    );
    let second = run();
    assert_eq!(second["new_cases"], 0, "{second}");
    assert_eq!(second["duplicates"], count);
}

#[tokio::test]
async fn killing_the_server_between_fetch_and_commit_loses_and_duplicates_nothing() {
    let dovecot = Dovecot::start();
    let sink = SmtpSink::start();
    let data = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/anliegen.db", data.path().display());
    let conf = data.path().join("anliegen.toml");
    std::fs::write(
        &conf,
        format!(
            "[mail]\nenabled = true\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\n\
             from_address = \"anliegen@kreis.example\"\n[[mail.imap]]\nname = \"test\"\nhost = \"127.0.0.1\"\n\
             port = {}\nsecurity = \"plain\"\nuser = \"{USER}\"\npassword_file = \"{}\"\n\
             processed_folder = \"{PROCESSED}\"\npoll_seconds = 1\n",
            sink.port,
            dovecot.port,
            dovecot.password_file().display()
        ),
    )
    .unwrap();
    const MAILS: usize = 6;
    for i in 0..MAILS {
        dovecot.deliver(&citizen_mail(
            &format!("crash{i}@example.org"),
            &format!("Anliegen Nummer {i}"),
            "Bitte holen Sie den Sperrmuell vor unserem Haus ab.",
            None,
        ));
    }
    let store = anliegen::store::Store::open(&db).await.unwrap();
    let start = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_anliegen"))
            .arg("--config")
            .arg(&conf)
            .arg("serve")
            .env("ANLIEGEN__DATABASE__URL", &db)
            .env("ANLIEGEN__DATA__DIR", data.path())
            .env("ANLIEGEN__SERVER__BIND", "127.0.0.1:0")
            .env("ANLIEGEN__MODEL__DIR", crate::helpers::model_dir())
            .env(
                "ANLIEGEN__CATALOGUE__PATH",
                repo().join("config/catalogue.toml"),
            )
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    // Kill -9 twice, each time as soon as one more mail is committed than before.
    let mut seen = 0;
    for _ in 0..2 {
        let mut server = start();
        seen = eventually("a commit", 60, async || {
            let n = inbound(&store.mail_log().await.unwrap()).len();
            (n > seen || n == MAILS).then_some(n)
        })
        .await;
        server.kill().unwrap();
        server.wait().unwrap();
    }
    let mut server = start();
    eventually("every mail processed", 60, async || {
        (dovecot.count(PROCESSED) == MAILS && dovecot.count("INBOX") == 0).then_some(())
    })
    .await;
    server.kill().unwrap();
    server.wait().unwrap();
    let log = store.mail_log().await.unwrap();
    let inbound = inbound(&log);
    assert_eq!(inbound.len(), MAILS, "each mail recorded exactly once");
    let mut cases: Vec<_> = inbound.iter().map(|e| e.case_number.clone()).collect();
    cases.sort();
    cases.dedup();
    assert_eq!(cases.len(), MAILS, "one inquiry per mail: {cases:?}");
}

#[tokio::test]
async fn a_case_number_in_the_subject_attaches_only_mail_from_the_case_sender() {
    let sink = SmtpSink::stopped(crate::helpers::free_port());
    let app = mail_app(None, sink.port, false).await;
    let store = &app.state.store;
    let commit = async |raw: Vec<u8>| {
        anliegen::intake::commit_raw(store, &raw, &Default::default())
            .await
            .unwrap()
    };
    let anliegen::store::Committed::NewCase(case) = commit(citizen_mail(
        "c1@example.org",
        "Wohngeld",
        "Wie beantrage ich Wohngeld?",
        None,
    ))
    .await
    else {
        panic!("no case")
    };
    // Someone else quoting the (guessable) case number opens a case of their own.
    let other = commit(mail_from(
        "Mallory <mallory@example.net>",
        "c2@example.net",
        &format!("AW: [Anliegen {case}] Wohngeld"),
        "Bitte schicken Sie mir die Unterlagen dieses Falls.",
        None,
    ))
    .await;
    assert!(
        matches!(&other, anliegen::store::Committed::NewCase(c) if *c != case),
        "{other:?}"
    );
    // The citizen herself, with a differently cased address, threads onto her case.
    let own = commit(mail_from(
        "Erika Muster <Erika@Example.org>",
        "c3@example.org",
        &format!("AW: [Anliegen {case}] Wohngeld"),
        "Nachtrag: ich wohne zur Miete.",
        None,
    ))
    .await;
    assert!(
        matches!(&own, anliegen::store::Committed::Attached(c) if *c == case),
        "{own:?}"
    );
    let log = store.mail_log().await.unwrap();
    let inbound = inbound(&log);
    assert_eq!(inbound.len(), 3);
    assert_eq!(inbound[2].outcome, "reply");
    assert_eq!(
        inbound[2].case_number.as_deref(),
        Some(case.to_string().as_str())
    );
    assert_eq!(inbound[1].outcome, "inquiry");
}

#[tokio::test]
async fn the_acknowledgement_speaks_english_to_english_mail_and_german_otherwise() {
    let sink = SmtpSink::start();
    let app = mail_app(None, sink.port, true).await;
    for (id, subject, body) in [
        (
            "en@example.org",
            "Broken street lamp",
            "Hello, the street lamp in front of my house has been broken for a week. Please fix it.",
        ),
        (
            "de@example.org",
            "Laterne",
            "Die Straßenlaterne vor meinem Haus ist seit einer Woche dunkel.",
        ),
    ] {
        anliegen::intake::commit_raw(
            &app.state.store,
            &citizen_mail(id, subject, body, None),
            &Default::default(),
        )
        .await
        .unwrap();
    }
    let sent = eventually("both acknowledgements", 60, async || {
        let sent = sink.messages();
        (sent.len() == 2).then_some(sent)
    })
    .await;
    let text_of = |reply_to: &str| {
        let raw = sent
            .iter()
            .find(|m| header(m, "In-Reply-To").as_deref() == Some(reply_to))
            .unwrap_or_else(|| panic!("no acknowledgement for {reply_to}"));
        body_text(raw)
    };
    let en = text_of("<en@example.org>");
    assert!(en.contains("thank you for your message"), "{en}");
    let de = text_of("<de@example.org>");
    assert!(de.contains("vielen Dank für Ihre Nachricht"), "{de}");
}

/// While the triage backlog is full the poller leaves mail on the server, and fetches it
/// once the backlog drains: nothing lost, nothing taken in beyond the cap.
#[tokio::test]
async fn a_full_backlog_leaves_mail_on_the_server_until_it_drains() {
    let dovecot = Dovecot::start();
    let sink = SmtpSink::start();
    let app = spawn_app_with(|c| {
        mail_config(c, Some(&dovecot), sink.port);
        c.pipeline.max_queued = 2;
    })
    .await;
    for i in 0..5 {
        dovecot.deliver(&citizen_mail(
            &format!("backlog-{i}@example.org"),
            "Strassenlaterne defekt",
            &format!("Die Laterne Nummer {i} am Birkenweg ist kaputt."),
            None,
        ));
    }
    // The model is not loaded yet, so nothing drains: two are taken in, three stay.
    drop(
        anliegen::app::spawn_mail(&app.state.config, &app.state.store, &app.state.pipeline)
            .expect("mail starts"),
    );
    eventually("two mails taken in", 30, async || {
        (dovecot.count(PROCESSED) == 2).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        dovecot.count(PROCESSED),
        2,
        "no more while the backlog is full"
    );
    assert_eq!(dovecot.count("INBOX"), 3, "the rest waits on the server");

    app.start_engine().await;
    eventually(
        "every mail taken in once the backlog drains",
        90,
        async || (dovecot.count(PROCESSED) == 5 && dovecot.count("INBOX") == 0).then_some(()),
    )
    .await;
    let (_, list) = app.get("/api/v1/inquiries").await;
    assert_eq!(list["inquiries"].as_array().unwrap().len(), 5, "{list}");
}
