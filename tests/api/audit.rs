//! The audit log's hash chain on both backends: intact after appends, and broken by a
//! modified entry, a deleted middle entry and a deleted last entry. Plus GDPR export,
//! erasure and retention, which are audited without the address in the log.

use chrono::{Duration, Utc};
use serde_json::json;

use anliegen::{
    domain::InquiryStatus,
    store::{AuditVerdict, Store, gdpr::subject_hash},
};

use crate::store::{decision, new, on_both_backends, raw};

on_both_backends!(
    audit_chain_detects_a_modified_and_a_deleted_middle_entry,
    gdpr_export_lists_everything_about_a_sender_and_erase_removes_it,
    retention_anonymises_then_deletes_closed_cases,
);

async fn append_five(store: &Store) {
    for i in 0..5 {
        store
            .append_audit(
                "clerk:42",
                "review.accept",
                &format!("inquiry:2026-00000{i}"),
                &json!({"score": 0.5 + f64::from(i) / 10.0}),
            )
            .await
            .unwrap();
    }
}

async fn execute(url: &str, sql: &str) {
    sqlx::query(sql).execute(&raw(url).await).await.unwrap();
}

async fn audit_chain_detects_a_modified_and_a_deleted_middle_entry(store: Store, url: String) {
    append_five(&store).await;
    assert_eq!(
        store.verify_audit().await.unwrap(),
        AuditVerdict::Intact { entries: 5 }
    );

    execute(
        &url,
        "UPDATE audit_log SET details = '{\"score\":0.99}' WHERE seq = 3",
    )
    .await;
    let AuditVerdict::Broken { seq, problem } = store.verify_audit().await.unwrap() else {
        panic!("a modified entry went unnoticed");
    };
    assert_eq!(seq, 3, "{problem}");
    assert!(problem.contains("modified"), "{problem}");

    execute(&url, "DELETE FROM audit_log WHERE seq = 3").await;
    let verdict = store.verify_audit().await.unwrap();
    assert!(
        matches!(&verdict, AuditVerdict::Broken { seq: 4, problem } if problem.contains("missing")),
        "{verdict:?}"
    );
}

on_both_backends!(audit_chain_detects_a_deleted_last_entry);

async fn audit_chain_detects_a_deleted_last_entry(store: Store, url: String) {
    append_five(&store).await;
    execute(&url, "DELETE FROM audit_log WHERE seq = 5").await;
    let verdict = store.verify_audit().await.unwrap();
    assert!(
        matches!(&verdict, AuditVerdict::Broken { seq: 5, problem } if problem.contains("deleted")),
        "{verdict:?}"
    );
}

/// Claims the inquiry's job and records an automatic decision, as the pipeline does.
pub(crate) async fn decide(store: &Store, inquiry: &anliegen::store::StoredInquiry) {
    let job = store
        .claim_job("w", std::time::Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.inquiry_id, Some(inquiry.id));
    store
        .finish_triage(&job, inquiry, &decision("strassenbeleuchtung-defekt"))
        .await
        .unwrap();
}

async fn gdpr_export_lists_everything_about_a_sender_and_erase_removes_it(
    store: Store,
    url: String,
) {
    let email = "Erika.Muster@example.org";
    let mine = store
        .insert_inquiry(new("Laterne vor Nr. 7 kaputt", email))
        .await
        .unwrap();
    decide(&store, &mine).await;
    let other = store
        .insert_inquiry(new("Sperrmüll", "someone@example.org"))
        .await
        .unwrap();
    store
        .cache_embeddings("m", &[(hash("Laterne vor Nr. 7 kaputt"), vec![1.0])])
        .await
        .unwrap();

    let export = store
        .export_subject(" erika.muster@EXAMPLE.org ")
        .await
        .unwrap();
    let tables = &export["tables"];
    assert_eq!(tables["inquiries"].as_array().unwrap().len(), 1, "{export}");
    assert_eq!(tables["inquiries"][0]["text"], "Laterne vor Nr. 7 kaputt");
    assert_eq!(tables["decisions"].as_array().unwrap().len(), 1);
    assert_eq!(tables["jobs"].as_array().unwrap().len(), 1);
    assert_eq!(tables["audit_log"][0]["action"], "decision.automatic");
    assert!(
        !export.to_string().contains("Sperrmüll"),
        "only this sender"
    );

    let erased = store.erase_subject(email).await.unwrap();
    assert_eq!(erased.cases, vec![mine.case_number]);
    assert!(store.inquiry(&mine.case_number).await.unwrap().is_none());
    assert!(store.inquiry(&other.case_number).await.unwrap().is_some());
    let raw = raw(&url).await;
    for (table, want) in [("decisions", 0), ("jobs", 1), ("embedding_cache", 0)] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&raw)
            .await
            .unwrap();
        assert_eq!(n, want, "{table}");
    }
    let log: Vec<String> = sqlx::query_scalar("SELECT subject || ' ' || details FROM audit_log")
        .fetch_all(&raw)
        .await
        .unwrap();
    let log = log.join("\n");
    assert!(log.contains(&subject_hash(email)), "{log}");
    assert!(
        !log.to_lowercase().contains("erika"),
        "no address in the audit log: {log}"
    );
    assert!(matches!(
        store.verify_audit().await.unwrap(),
        AuditVerdict::Intact { entries: 3 }
    ));
}

fn hash(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

async fn retention_anonymises_then_deletes_closed_cases(store: Store, url: String) {
    let mut cases = Vec::new();
    for (i, age_days) in [10, 200, 800].into_iter().enumerate() {
        let inquiry = store
            .insert_inquiry(new(&format!("Anliegen {i}"), "a@example.org"))
            .await
            .unwrap();
        decide(&store, &inquiry).await;
        backdate(&url, inquiry.id, age_days).await;
        cases.push(inquiry.case_number);
    }
    let open = store
        .insert_inquiry(new("noch offen", "b@example.org"))
        .await
        .unwrap();
    sqlx::query("UPDATE inquiries SET received_at = '2001-01-01T00:00:00+00:00' WHERE id = $1")
        .bind(open.id)
        .execute(&raw(&url).await)
        .await
        .unwrap();

    let report = retain(&store).await;
    assert_eq!(report.anonymised.cases, vec![cases[1]]);
    assert_eq!(report.deleted.cases, vec![cases[2]]);

    let fresh = store.inquiry(&cases[0]).await.unwrap().unwrap();
    assert_eq!(fresh.text, "Anliegen 0");
    let old = store.inquiry(&cases[1]).await.unwrap().unwrap();
    assert_eq!(
        (old.text.as_str(), old.sender.as_deref()),
        ("[anonymised]", None)
    );
    assert_eq!(old.status, InquiryStatus::Routed, "the decision stays");
    assert!(old.decision.is_some());
    assert!(store.inquiry(&cases[2]).await.unwrap().is_none());
    let still_open = store.inquiry(&open.case_number).await.unwrap().unwrap();
    assert_eq!(
        still_open.text, "noch offen",
        "open cases are never removed"
    );

    let again = retain(&store).await;
    assert!(again.anonymised.ids.is_empty() && again.deleted.ids.is_empty());
}

/// Moves an inquiry's receipt `days` into the past.
pub(crate) async fn backdate(url: &str, id: i64, days: i64) {
    sqlx::query("UPDATE inquiries SET received_at = $1 WHERE id = $2")
        .bind((Utc::now() - Duration::days(days)).to_rfc3339())
        .bind(id)
        .execute(&raw(url).await)
        .await
        .unwrap();
}

/// Retention as configured by default: closed cases anonymised after 180 days, deleted
/// after 730.
pub(crate) async fn retain(store: &Store) -> anliegen::store::gdpr::RetentionReport {
    let now = Utc::now();
    store
        .apply_retention(now - Duration::days(180), now - Duration::days(730))
        .await
        .unwrap()
}
