//! Hostile mail cannot hurt intake: a PDF Flate bomb, a DOCX zip bomb and a plain zip bomb
//! by mail, through `anliegen ingest` under an address-space cap and through the real
//! Dovecot poller — bounded memory, the outcome recorded with its reason, the next message
//! taken in. A message that crashes the parser is retried, then quarantined, visible to
//! admins (API and CLI), and intake goes on.

use std::{
    io::Write,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
};

use serde_json::{Value, json};

use crate::{
    bombs,
    helpers::spawn_app_with,
    mail::{eventually, mail_config},
    mail_limits::{ingest, mail, sqlite_url},
    mailservers::{Dovecot, SmtpSink},
    rss,
};

/// Address-space cap of the ingest process: a regression swaps nothing, it fails.
const CAP: u64 = 3 << 30;
const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

/// The test mails: three bombs and, after them, an ordinary letter with a readable PDF.
fn bomb_mails() -> Vec<(&'static str, Vec<u8>)> {
    let pdf_bomb = bombs::pdf_bomb(64 << 20);
    let docx_bomb = bombs::docx("x", 256 << 20);
    let zip_bomb = bombs::zip_bomb(256 << 20);
    let letter = bombs::pdf("Antrag auf Wohngeld fuer die Lindenstrasse 12", 0);
    vec![
        (
            "1-pdf-bomb.eml",
            bombs::mail(
                "pdf-bomb@example.org",
                Some("Antrag"),
                "Anbei mein Antrag als PDF.",
                &[("antrag.pdf", "application/pdf", &pdf_bomb)],
            ),
        ),
        (
            "2-docx-bomb.eml",
            bombs::mail(
                "docx-bomb@example.org",
                None,
                "",
                &[("antrag.docx", DOCX, &docx_bomb)],
            ),
        ),
        (
            "3-zip-bomb.eml",
            bombs::mail(
                "zip-bomb@example.org",
                Some("Unterlagen"),
                "Die Unterlagen als Archiv.",
                &[("unterlagen.zip", "application/zip", &zip_bomb)],
            ),
        ),
        (
            "4-letter.eml",
            bombs::mail(
                "letter@example.org",
                Some("Wohngeld"),
                "Guten Tag, anbei mein Antrag auf Wohngeld.",
                &[("wohngeld.pdf", "application/pdf", &letter)],
            ),
        ),
    ]
}

fn write_mails(dir: &Path, mails: &[(&str, Vec<u8>)]) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, raw) in mails {
        std::fs::write(dir.join(name), raw).unwrap();
    }
}

/// The inbound mail log as (outcome, reason) in order.
async fn outcomes(db: &str) -> Vec<(String, String)> {
    let store = anliegen::store::Store::open(db).await.unwrap();
    store
        .mail_log()
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.direction == "in")
        .map(|e| (e.outcome, e.reason.unwrap_or_default()))
        .collect()
}

fn assert_bomb_outcomes(log: &[(String, String)]) {
    let names: Vec<&str> = log.iter().map(|(o, _)| o.as_str()).collect();
    assert_eq!(
        names,
        ["inquiry", "too_large", "inquiry", "inquiry"],
        "{log:?}"
    );
    assert!(
        log[0]
            .1
            .contains("attachment antrag.pdf: its compressed content inflates to more than"),
        "{log:?}"
    );
    assert!(log[1].1.contains("antrag.docx"), "{log:?}");
}

#[tokio::test]
async fn bombs_by_ingest_are_recorded_in_bounded_memory_and_the_next_mail_is_taken_in() {
    let dir = tempfile::tempdir().unwrap();
    let mails = dir.path().join("mails");
    write_mails(&mails, &bomb_mails());
    let db = sqlite_url(dir.path());
    let out = ingest(&db, &mails, &[], Some(CAP), rss::no_input);
    let summary = out.json();
    eprintln!(
        "peak RSS of ingest with three bombs: {:.1} MiB",
        out.peak_rss_mib
    );
    assert_eq!(summary["messages"], 4, "{summary}");
    assert_eq!(summary["new_cases"], 3, "{summary}");
    assert_eq!(
        summary["outcomes"],
        json!({"inquiry": 3, "too_large": 1}),
        "{summary}"
    );
    assert!(
        out.peak_rss_mib < 400.0,
        "peak RSS {:.0} MiB",
        out.peak_rss_mib
    );
    assert_bomb_outcomes(&outcomes(&db).await);
    let store = anliegen::store::Store::open(&db).await.unwrap();
    let log = store.mail_log().await.unwrap();
    let case = log[3]
        .case_number
        .as_deref()
        .expect("the letter opened a case");
    let letter = store
        .inquiry(&case.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        letter.text.contains("anbei mein Antrag auf Wohngeld"),
        "{}",
        letter.text
    );
}

/// With the inflation caps lifted, the PDF bomb reaches pdf-extract: the parser's memory
/// limit stops it, the message is recorded `too_large`, and the run goes on.
#[tokio::test]
async fn the_parsers_memory_limit_stops_what_the_caps_let_through() {
    let dir = tempfile::tempdir().unwrap();
    let mails = dir.path().join("mails");
    let all = bomb_mails();
    write_mails(&mails, &[all[0].clone(), all[3].clone()]);
    let db = sqlite_url(dir.path());
    let env = [
        (
            "ANLIEGEN__MAIL__PARSE__MAX_ATTACHMENT_INFLATED_BYTES",
            "1000000000",
        ),
        ("ANLIEGEN__MAIL__PARSE__MAX_INFLATED_BYTES", "1000000000"),
        ("ANLIEGEN__MAIL__PARSE__MEMORY_MIB", "512"),
    ];
    let out = ingest(&db, &mails, &env, Some(CAP), rss::no_input);
    let summary = out.json();
    eprintln!("peak RSS with the caps lifted: {:.1} MiB", out.peak_rss_mib);
    assert_eq!(
        summary["outcomes"],
        json!({"too_large": 1, "inquiry": 1}),
        "{summary}"
    );
    assert!(
        out.peak_rss_mib < 600.0,
        "peak RSS {:.0} MiB",
        out.peak_rss_mib
    );
    let log = outcomes(&db).await;
    assert!(
        log[0]
            .1
            .contains("parsing needed more than 512 MiB of memory (mail.parse.memory_mib)"),
        "{log:?}"
    );
    assert_eq!(log[1].0, "inquiry");
}

/// The peak resident memory of this process's waited-for children (the parser processes).
fn children_peak_rss_mib() -> f64 {
    // SAFETY: getrusage writes into the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    usage.ru_maxrss as f64 / 1024.0
}

#[tokio::test]
async fn bombs_through_the_dovecot_poller_are_recorded_and_the_next_mail_is_taken_in() {
    let dovecot = Dovecot::start();
    let sink = SmtpSink::start();
    let app = spawn_app_with(|c| {
        mail_config(c, Some(&dovecot), sink.port);
        c.mail.parse.program = Some(env!("CARGO_BIN_EXE_anliegen").into());
    })
    .await;
    drop(
        anliegen::app::spawn_mail(&app.state.config, &app.state.store, &app.state.pipeline)
            .unwrap(),
    );
    for (_, raw) in bomb_mails() {
        dovecot.deliver(&raw);
    }
    eventually("every mail processed", 120, async || {
        (dovecot.count("Processed") == 4 && dovecot.count("INBOX") == 0).then_some(())
    })
    .await;
    let log: Vec<(String, String)> = app
        .state
        .store
        .mail_log()
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.direction == "in")
        .map(|e| (e.outcome, e.reason.unwrap_or_default()))
        .collect();
    assert_bomb_outcomes(&log);
    // The parser's memory limit is asserted by the ingest test under `prlimit`; here the
    // figure is only reported, since RUSAGE_CHILDREN also counts the servers other tests of
    // this binary start.
    let peak = children_peak_rss_mib();
    eprintln!("peak RSS of the test binary's children (parsers and others): {peak:.1} MiB");
}

/// A parser that crashes (SIGSEGV) on every message carrying `X-Crash-Test`, and runs the
/// real parser on the rest.
fn crashing_parser(dir: &Path) -> PathBuf {
    let script = dir.join("crashing-parser");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nPATH=/usr/bin:/bin\nmsg=$(mktemp)\ncat > \"$msg\"\n\
             if grep -q '^X-Crash-Test:' \"$msg\"; then rm -f \"$msg\"; kill -SEGV $$; fi\n\
             exec {} \"$@\" < \"$msg\"\n",
            env!("CARGO_BIN_EXE_anliegen")
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

fn crash_mail(id: &str) -> Vec<u8> {
    let mut raw = b"X-Crash-Test: yes\r\n".to_vec();
    raw.extend(mail(id, "Laterne", "Die Laterne vor Nummer 7 ist dunkel."));
    raw
}

#[tokio::test]
async fn a_message_that_crashes_the_parser_is_quarantined_after_its_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let parser = crashing_parser(dir.path());
    let mails = dir.path().join("mails");
    write_mails(
        &mails,
        &[
            ("1-crash.eml", crash_mail("crash@example.org")),
            (
                "2-fine.eml",
                mail("fine@example.org", "Sperrmuell", "Bitte abholen."),
            ),
        ],
    );
    let db = sqlite_url(dir.path());
    let env = [
        ("ANLIEGEN__MAIL__PARSE__PROGRAM", parser.to_str().unwrap()),
        ("ANLIEGEN__MAIL__PARSE__QUARANTINE_AFTER", "2"),
    ];
    let run = || ingest(&db, &mails, &env, None, rss::no_input);
    let summary_of =
        |out: &rss::Measured| -> Value { serde_json::from_slice(&out.stdout).unwrap() };

    // First run: the crash is counted, the next message is taken in, the exit says "later".
    let first = run();
    assert_eq!(first.status.code(), Some(75), "{}", first.stderr());
    let summary = summary_of(&first);
    assert_eq!(summary["new_cases"], 1, "{summary}");
    let crashes = summary["parser_crashes"].as_array().unwrap();
    assert_eq!(crashes.len(), 1, "{summary}");
    let crash = crashes[0].as_str().unwrap();
    assert!(
        crash.contains("1-crash.eml")
            && crash.contains("signal 11")
            && crash.contains("attempt 1 of 2"),
        "{crash}"
    );
    assert!(
        first.stderr().contains("quarantined after 2 crashes"),
        "{}",
        first.stderr()
    );

    // Second run: quarantined, recorded as unreadable, processed.
    let second = run();
    assert!(second.status.success(), "{}", second.stderr());
    let summary = summary_of(&second);
    assert_eq!(summary["quarantined"], 1, "{summary}");
    assert_eq!(summary["outcomes"], json!({"unreadable": 1}), "{summary}");
    assert_eq!(summary["duplicates"], 1, "{summary}");

    // Third run: nothing is parsed again.
    let summary = summary_of(&run());
    assert_eq!(summary["duplicates"], 2, "{summary}");
    assert!(summary["parser_crashes"].as_array().unwrap().is_empty());

    let log = outcomes(&db).await;
    let quarantined = log.iter().find(|(o, _)| o == "unreadable").unwrap();
    assert!(
        quarantined
            .1
            .contains("quarantined after 2 failed parses: the parser was killed by signal 11"),
        "{log:?}"
    );

    // Admins see it through the API (no content) and the CLI, and can export the raw bytes.
    let app = spawn_app_with(|c| {
        c.database.url = db.clone().into();
        c.mail.parse.quarantine_after = 2;
    })
    .await;
    let (status, body) = app.get("/api/v1/admin/quarantine").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["quarantine_after"], 2);
    let listed = &body["messages"][0];
    assert_eq!(listed["attempts"], 2, "{body}");
    assert_eq!(listed["source"], "ingest");
    assert_eq!(listed["message_id"], "crash@example.org");
    assert!(listed["quarantined_at"].is_string(), "{body}");
    assert!(!body.to_string().contains("Laterne"), "no content: {body}");

    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_anliegen"))
            .args(args)
            .env("ANLIEGEN__DATABASE__URL", &db)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = cli(&["mail", "quarantine", "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = listed[0]["id"].as_i64().unwrap().to_string();
    let file = dir.path().join("exported.eml");
    let out = cli(&[
        "mail",
        "quarantine",
        "--export",
        &id,
        file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(&file).unwrap(),
        crash_mail("crash@example.org")
    );
}

#[tokio::test]
async fn the_poller_goes_on_past_a_crashing_message_and_quarantines_it() {
    let dir = tempfile::tempdir().unwrap();
    let parser = crashing_parser(dir.path());
    let dovecot = Dovecot::start();
    let sink = SmtpSink::start();
    let app = spawn_app_with(|c| {
        mail_config(c, Some(&dovecot), sink.port);
        c.mail.parse.program = Some(parser.clone());
        c.mail.parse.quarantine_after = 3;
    })
    .await;
    dovecot.deliver(&crash_mail("poison@example.org"));
    dovecot.deliver(&mail("after@example.org", "Sperrmuell", "Bitte abholen."));
    drop(
        anliegen::app::spawn_mail(&app.state.config, &app.state.store, &app.state.pipeline)
            .unwrap(),
    );
    let store = &app.state.store;
    // The mail after the poison message is taken in while the poison one is retried.
    eventually("the next mail", 60, async || {
        let log = store.mail_log().await.unwrap();
        log.iter().any(|e| e.outcome == "inquiry").then_some(())
    })
    .await;
    eventually(
        "the poison message quarantined and marked",
        60,
        async || (dovecot.count("Processed") == 2 && dovecot.count("INBOX") == 0).then_some(()),
    )
    .await;
    let q = store.quarantine(10).await.unwrap();
    assert_eq!(q.len(), 1, "{q:?}");
    assert_eq!(q[0].attempts, 3);
    assert_eq!(q[0].source, "imap:test");
}

#[test]
fn ingest_from_standard_input_asks_the_mta_to_retry_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let parser = crashing_parser(dir.path());
    let db = sqlite_url(dir.path());
    let env = [("ANLIEGEN__MAIL__PARSE__PROGRAM", parser.to_str().unwrap())];
    let out = ingest(&db, Path::new("-"), &env, None, |mut stdin| {
        let _ = stdin.write_all(&crash_mail("stdin@example.org"));
    });
    assert_eq!(out.status.code(), Some(75), "{}", out.stderr());
}

crate::store::on_both_backends!(parser_crashes_are_counted_and_the_last_one_records_the_message);

/// The quarantine on both backends: crashes counted per message, the raw bytes kept, and
/// the crash that reaches the count records the message once as `unreadable`.
async fn parser_crashes_are_counted_and_the_last_one_records_the_message(
    store: anliegen::store::Store,
    _url: String,
) {
    use anliegen::store::{Committed, InboundMail, ParseFailure};
    let raw = crash_mail("pg@example.org");
    let mail = InboundMail {
        dedup_key: "mid:pg@example.org".into(),
        message_id: Some("pg@example.org".into()),
        in_reply_to: None,
        references: Vec::new(),
        subject: Some("Laterne".into()),
        from_address: Some("erika@example.org".into()),
        outcome: "unreadable".into(),
        reason: None,
        size: raw.len() as i64,
        attachments_json: "[]".into(),
        body_original: String::new(),
        body_clean: String::new(),
    };
    let failure = ParseFailure {
        mail: &mail,
        raw: &raw,
        source: "imap:test",
        error: "the parser was killed by signal 11",
    };
    for attempt in 1..=3 {
        let count = store.record_parse_failure(&failure, 3).await.unwrap();
        assert_eq!((count.attempts, count.quarantined), (attempt, attempt == 3));
    }
    let listed = store.quarantine(10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].attempts, 3);
    assert!(listed[0].quarantined_at.is_some());
    assert_eq!(
        store.quarantined_raw(listed[0].id).await.unwrap(),
        Some(raw)
    );
    assert_eq!(
        store.recorded("mid:pg@example.org").await.unwrap(),
        Some(None),
        "recorded, without a case"
    );
    let log = store.mail_log().await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].outcome, "unreadable");
    assert!(
        log[0]
            .reason
            .as_deref()
            .unwrap()
            .starts_with("quarantined after 3 failed parses")
    );
    let again = store
        .commit_inbound(&mail, anliegen::store::Target::RecordOnly)
        .await
        .unwrap();
    assert_eq!(again, Committed::Duplicate(None));

    // Erasing the sender's data removes the quarantined message with its raw bytes.
    store.erase_subject("Erika@Example.org").await.unwrap();
    assert!(store.quarantine(10).await.unwrap().is_empty());
    assert!(store.mail_log().await.unwrap().is_empty());
}
