//! Text limits and small faults of mail intake: a 25,000-character letter and a 1 MB
//! subject become cases with their whole text and are triaged; text made only of invisible
//! characters is empty for the API and for mail; a sender with a line break is refused by
//! the API and never stored from mail; `ingest -` reads no more than the size limit.

use std::{io::Write, path::Path, time::Duration};

use anliegen::store::Store;
use serde_json::{Value, json};

use crate::{
    helpers::{spawn_app_with, spawn_app_without_engine},
    rss,
};

/// `anliegen ingest PATH` on the database at `db` (a sqlite URL), with `env` and an
/// optional address-space cap, measured.
pub fn ingest(
    db: &str,
    path: &Path,
    env: &[(&str, &str)],
    cap: Option<u64>,
    feed: impl FnOnce(std::process::ChildStdin) + Send + 'static,
) -> rss::Measured {
    let mut env = env.to_vec();
    env.extend([("ANLIEGEN__DATABASE__URL", db), ("RUST_LOG", "warn")]);
    let args = ["ingest".as_ref(), path.as_os_str()];
    rss::run(env!("CARGO_BIN_EXE_anliegen"), &args, &env, cap, feed)
}

pub fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}/anliegen.db", dir.display())
}

pub fn mail(id: &str, subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Erika Muster <erika@example.org>\r\nTo: buergerservice@kreis.example\r\n\
         Subject: {subject}\r\nMessage-ID: <{id}>\r\nDate: Mon, 9 Mar 2026 10:00:00 +0100\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// Waits until the inquiry behind `case` is decided and returns its stored text.
async fn decided_text(store: &Store, case: &str) -> String {
    let case = case.parse().unwrap();
    for _ in 0..600 {
        let inquiry = store.inquiry(&case).await.unwrap().unwrap();
        if inquiry.decision.is_some() {
            return inquiry.text;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("case {case} was not decided within 120 s");
}

#[tokio::test]
async fn a_long_letter_and_a_huge_subject_become_cases_with_their_whole_text() {
    let dir = tempfile::tempdir().unwrap();
    let mails = dir.path().join("mails");
    std::fs::create_dir(&mails).unwrap();
    let sentence =
        "Die Straßenlaterne vor unserem Haus in der Lindenstraße 12 ist seit Wochen dunkel.";
    let mut letter = vec![sentence; 25_000 / sentence.chars().count() + 1].join("\r\n");
    letter.push_str("\r\nMit freundlichen Grüßen, Ende des Briefes");
    assert!(letter.chars().count() > 25_000);
    std::fs::write(
        mails.join("1-letter.eml"),
        mail("letter@example.org", "Laterne", &letter),
    )
    .unwrap();
    let subject = "Sperrmuell vor dem Haus Lindenstrasse 12 bitte abholen ".repeat(19_066);
    assert!(subject.len() > 1_000_000);
    std::fs::write(
        mails.join("2-subject.eml"),
        mail("subject@example.org", &subject, "Siehe Betreff."),
    )
    .unwrap();

    let db = sqlite_url(dir.path());
    let out = ingest(&db, &mails, &[], None, rss::no_input);
    let summary = out.json();
    assert_eq!(summary["new_cases"], 2, "{summary}");
    assert_eq!(summary["outcomes"], json!({"inquiry": 2}), "{summary}");

    let app = spawn_app_with(|c| c.database.url = db.clone().into()).await;
    app.start_engine().await;
    let log = app.state.store.mail_log().await.unwrap();
    let outcomes: Vec<_> = log.iter().map(|e| e.outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        ["inquiry", "inquiry"],
        "the log agrees with the summary"
    );
    let case = |i: usize| log[i].case_number.clone().expect("a case");

    let text = decided_text(&app.state.store, &case(0)).await;
    let body = letter.replace("\r\n", "\n");
    assert_eq!(
        text,
        format!("Laterne\n\n{body}"),
        "the whole letter is stored"
    );
    let text = decided_text(&app.state.store, &case(1)).await;
    assert_eq!(text, format!("{}\n\nSiehe Betreff.", subject.trim_end()));
}

#[tokio::test]
async fn text_of_invisible_characters_is_empty_for_the_api_and_for_mail() {
    let app = spawn_app_without_engine().await;
    let (status, body) = app
        .post_inquiry(&json!({"text": "\u{200B}\u{2060}\u{FEFF} \u{2800}\u{3164}"}))
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "empty_text");

    let raw = "From: a@example.org\nMessage-ID: <blank@example.org>\n\
        Content-Type: text/plain; charset=utf-8\n\n\u{200B}\u{3164}\u{2800}\u{200D}\n";
    let store = &app.state.store;
    anliegen::intake::commit_raw(store, raw.as_bytes(), &Default::default())
        .await
        .unwrap();
    let log = store.mail_log().await.unwrap();
    assert_eq!(log[0].outcome, "empty", "{log:?}");
    assert!(log[0].case_number.is_none());
}

#[tokio::test]
async fn a_sender_with_a_line_break_is_refused_by_the_api_and_never_stored_from_mail() {
    let app = spawn_app_without_engine().await;
    let (status, body) = app
        .post_inquiry(&json!({
            "text": "Die Laterne ist dunkel.",
            "sender": "erika@example.org\r\nBcc: alle@example.net",
        }))
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "invalid_field");
    assert!(body["message"].as_str().unwrap().contains("line break"));

    // A bare CR inside the address survives mail-parser; it must not reach the store.
    let raw = b"From: <erika\r@example.org>\r\nMessage-ID: <cr@example.org>\r\n\
        Subject: Laterne\r\n\r\nDie Laterne ist dunkel.\r\n";
    let store = &app.state.store;
    let committed = anliegen::intake::commit_raw(store, raw, &Default::default())
        .await
        .unwrap();
    let anliegen::store::Committed::NewCase(case) = committed else {
        panic!("{committed:?}")
    };
    let inquiry = store.inquiry(&case).await.unwrap().unwrap();
    assert_eq!(inquiry.sender, None);
    let log = store.mail_log().await.unwrap();
    let reason = log[0].reason.clone().unwrap_or_default();
    assert!(reason.contains("From address dropped"), "{reason}");
}

#[test]
fn ingest_from_standard_input_reads_no_more_than_the_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    const TOTAL: usize = 200 << 20;
    let out = ingest(
        &db,
        Path::new("-"),
        &[("ANLIEGEN__MAIL__MAX_MESSAGE_BYTES", "1000000")],
        None,
        |mut stdin| {
            let head = mail("big@example.org", "Bauantrag", "");
            let mut sent = head.len();
            let _ = stdin.write_all(&head);
            let chunk = vec![b'x'; 1 << 20];
            while sent < TOTAL {
                let n = chunk.len().min(TOTAL - sent);
                if stdin.write_all(&chunk[..n]).is_err() {
                    return;
                }
                sent += n;
            }
        },
    );
    let summary: Value = out.json();
    assert_eq!(summary["outcomes"], json!({"too_large": 1}), "{summary}");
    assert!(
        out.peak_rss_mib < 100.0,
        "ingest held {:.0} MiB for a {} MiB message",
        out.peak_rss_mib,
        TOTAL >> 20
    );
}
