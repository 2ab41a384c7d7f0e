//! Crash safety with the real binary: a burst of 200 inquiries, `kill -9` while the queue is
//! being worked off, a restart (SQLite) or a surviving second process (PostgreSQL) — and
//! afterwards every acknowledged inquiry exists exactly once, decided exactly once, with
//! nothing left in the queue and an intact audit chain.

use std::{collections::HashSet, time::Duration};

use anliegen::store::{AuditVerdict, Store};

use crate::process::{Anliegen, pool, post_burst, triage_jobs, wait_for_done};

const BURST: i64 = 200;

fn burst() -> Vec<(String, String)> {
    const TOPICS: [&str; 5] = [
        "Die Straßenlaterne vor meinem Haus ist seit einer Woche aus",
        "Ich möchte mein Auto ummelden, ich bin umgezogen",
        "Mein Personalausweis ist abgelaufen, wie beantrage ich einen neuen?",
        "Wann wird der Sperrmüll in unserer Straße abgeholt?",
        "In der Bahnhofstraße ist ein riesiges Schlagloch",
    ];
    (0..BURST)
        .map(|i| {
            let topic = TOPICS[usize::try_from(i).unwrap() % TOPICS.len()];
            (
                format!("{topic} (Nr. {i})"),
                format!("buerger{i}@example.org"),
            )
        })
        .collect()
}

/// Waits until some but not all triage jobs are done: the moment to pull the plug.
async fn wait_until_midway(db: &sqlx::AnyPool) {
    for _ in 0..600 {
        let done = triage_jobs(db).await.get("done").copied().unwrap_or(0);
        if done >= 10 {
            assert!(done < BURST, "the burst was processed before the kill");
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no job was processed within 30 s");
}

/// Everything the crash must not have broken.
async fn assert_processed_exactly_once(url: &str, acknowledged: &[String]) {
    let db = pool(url).await;
    let cases: Vec<String> = sqlx::query_scalar("SELECT case_number FROM inquiries")
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(cases.len() as i64, BURST, "inquiries stored");
    let stored: HashSet<&String> = cases.iter().collect();
    let acked: HashSet<&String> = acknowledged.iter().collect();
    assert_eq!(stored.len() as i64, BURST, "case numbers unique");
    assert_eq!(stored, acked, "exactly the acknowledged inquiries exist");

    let undecided: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM inquiries
         WHERE status NOT IN ('routed', 'review') OR decision IS NULL OR redacted_text IS NULL",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(undecided, 0, "every inquiry decided");
    let twice: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT inquiry_id FROM decisions GROUP BY inquiry_id
                               HAVING COUNT(*) <> 1) AS d",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(twice, 0, "each inquiry decided exactly once");
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(DISTINCT subject) FROM audit_log WHERE action = 'decision.automatic'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    let audit_rows: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'decision.automatic'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(
        (audited, audit_rows),
        (BURST, BURST),
        "one audit entry per decision"
    );

    let jobs = triage_jobs(&db).await;
    assert_eq!(jobs.get("done").copied(), Some(BURST), "{jobs:?}");
    assert_eq!(jobs.len(), 1, "nothing queued, running or dead: {jobs:?}");
    let retried: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'triage' AND attempts > 1")
            .fetch_one(&db)
            .await
            .unwrap();
    eprintln!("jobs run more than once after the kill: {retried}");

    let store = Store::open(url).await.unwrap();
    assert!(matches!(
        store.verify_audit().await.unwrap(),
        AuditVerdict::Intact { .. }
    ));
}

#[tokio::test]
async fn sqlite_server_killed_mid_burst_loses_and_duplicates_nothing_after_restart() {
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/anliegen.db", data.path().display());
    // Answer at once: the burst is acknowledged quickly and the queue stays full.
    let env = [("ANLIEGEN__PIPELINE__MAX_WAIT_MS", "0")];
    let mut first = Anliegen::start("serve", data.path(), &url, &env);
    first.wait_until_working().await;
    let acknowledged = post_burst(&first.base, burst()).await;
    let db = pool(&url).await;
    wait_until_midway(&db).await;
    first.kill();

    let mut second = Anliegen::start("serve", data.path(), &url, &env);
    second.wait_until_working().await;
    wait_for_done(&db, BURST, Duration::from_secs(120)).await;
    second.kill();
    assert_processed_exactly_once(&url, &acknowledged).await;
}

#[tokio::test]
async fn postgres_worker_killed_mid_burst_leaves_its_jobs_to_the_other_process() {
    let url = crate::pg::database().await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Two processes on two cores: one compute thread each.
    let env = [
        ("ANLIEGEN__PIPELINE__MAX_WAIT_MS", "0"),
        ("ANLIEGEN__MODEL__THREADS", "1"),
    ];
    let mut server = Anliegen::start("serve", dir_a.path(), &url, &env);
    let mut worker = Anliegen::start("worker", dir_b.path(), &url, &env);
    server.wait_until_working().await;
    worker.wait_until_working().await;
    let acknowledged = post_burst(&server.base, burst()).await;
    let db = pool(&url).await;
    wait_until_midway(&db).await;
    let by_worker: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE locked_by LIKE $1")
        .bind(format!("pid{}-%", worker.pid()))
        .fetch_one(&db)
        .await
        .unwrap();
    worker.kill();
    assert!(
        by_worker > 0,
        "both processes took jobs from the shared queue"
    );

    wait_for_done(&db, BURST, Duration::from_secs(120)).await;
    server.kill();
    assert_processed_exactly_once(&url, &acknowledged).await;
}
