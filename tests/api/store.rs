//! The repository layer against both backends: every test here runs once on SQLite and once
//! on a real PostgreSQL server (`pg`). Case numbers, the inquiry record, the embedding cache,
//! the job queue (leases, backoff, dead letters, concurrent claims) and exactly-once
//! decisions.

use std::{collections::HashSet, sync::Arc, time::Duration};

use anliegen::{
    domain::{CaseNumber, Channel, Decision, InquiryStatus, Role, RouteStatus, UserName},
    store::{Clock, JobKind, JobState, ManualClock, NewInquiry, NewUser, Store, TriageOutcome},
};

/// A store on a fresh database of each backend, plus the URL for direct SQL.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    let (_dir, store, url) = crate::store::sqlite_store().await;
                    super::$name(store, url).await
                }

                #[tokio::test]
                async fn postgres() {
                    let (store, url) = crate::pg::store().await;
                    super::$name(store, url).await
                }
            }
        )*
    };
}
pub(crate) use on_both_backends;

pub async fn sqlite_store() -> (tempfile::TempDir, Store, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/db/anliegen.db", dir.path().display());
    let store = Store::open(&url).await.unwrap();
    (dir, store, url)
}

/// A separate connection pool for SQL the store does not offer (tampering, back-dating).
pub async fn raw(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(url).await.unwrap()
}

pub fn new(text: &str, sender: &str) -> NewInquiry {
    NewInquiry {
        channel: Channel::Api,
        sender: Some(sender.into()),
        text: text.into(),
        location: None,
    }
}

pub fn decision(service: &str) -> Decision {
    serde_json::from_value(serde_json::json!({
        "status": "routed",
        "service": {"id": service, "name": "Dienst"},
        "department": {"id": "tiefbau", "name": "Tiefbau", "mailbox": "tiefbau@example.org"},
        "confidence": 0.9,
        "reason": "test",
        "candidates": [],
        "evidence": [],
        "router": "test-router",
        "model": "test-model"
    }))
    .unwrap()
}

on_both_backends!(
    case_numbers_are_sequential_and_unique_under_concurrency,
    inquiry_round_trips_and_is_queued_for_triage_in_the_same_commit,
    embedding_cache_round_trips_by_model_and_hash,
    claimed_job_is_taken_again_only_after_its_lease_expires,
    a_slow_step_keeps_its_job_by_renewing_the_lease,
    failing_job_backs_off_then_dies_and_an_admin_can_retry_it,
    concurrent_workers_claim_each_job_exactly_once,
    a_job_run_twice_decides_its_inquiry_once,
    transactions_that_read_then_write_succeed_beside_other_writers,
);

async fn case_numbers_are_sequential_and_unique_under_concurrency(store: Store, _url: String) {
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let s = store.clone();
            tokio::spawn(async move { s.insert_inquiry(new(&format!("t{i}"), "a@x.org")).await })
        })
        .collect();
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.unwrap().unwrap().case_number.sequence);
    }
    seqs.sort();
    assert_eq!(seqs, (1..=20).collect::<Vec<u32>>());
}

async fn inquiry_round_trips_and_is_queued_for_triage_in_the_same_commit(store: Store, _u: String) {
    let stored = store
        .insert_inquiry(new("Laterne kaputt", "a@example.org"))
        .await
        .unwrap();
    let loaded = store.inquiry(&stored.case_number).await.unwrap().unwrap();
    assert_eq!(loaded.text, "Laterne kaputt");
    assert_eq!(loaded.sender.as_deref(), Some("a@example.org"));
    assert_eq!(loaded.status, InquiryStatus::Received);
    let queued = store.jobs(Some(JobState::Queued), 10).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].kind, JobKind::Triage);
    assert_eq!(queued[0].inquiry_id, Some(stored.id));
    let missing = CaseNumber {
        year: 1999,
        sequence: 1,
    };
    assert!(store.inquiry(&missing).await.unwrap().is_none());
}

async fn embedding_cache_round_trips_by_model_and_hash(store: Store, _url: String) {
    let entries = [
        ("h1".to_string(), vec![0.5, -1.0]),
        ("h2".to_string(), vec![2.0, 0.0]),
    ];
    store.cache_embeddings("m1", &entries).await.unwrap();
    let got = store
        .cached_embeddings("m1", &["h1".into(), "h3".into()])
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got["h1"], vec![0.5, -1.0]);
    let other = store.cached_embeddings("m2", &["h1".into()]).await.unwrap();
    assert!(other.is_empty());
}

/// The store deciding leases and backoff by a clock the test advances.
fn on_manual_clock(store: Store) -> (Arc<ManualClock>, Store) {
    let clock = ManualClock::starting_now();
    let store = store.with_clock(clock.clone());
    (clock, store)
}

const MS: Duration = Duration::from_millis(1);

async fn claimed_job_is_taken_again_only_after_its_lease_expires(store: Store, _url: String) {
    let (clock, store) = on_manual_clock(store);
    store.insert_inquiry(new("a", "a@x.org")).await.unwrap();
    let lease = Duration::from_secs(60);
    let first = store.claim_job("w1", lease).await.unwrap().unwrap();
    assert_eq!((first.state, first.attempts), (JobState::Running, 1));
    assert!(store.claim_job("w2", lease).await.unwrap().is_none());
    clock.advance(lease);
    assert!(
        store.claim_job("w2", lease).await.unwrap().is_none(),
        "the lease holds to its last millisecond"
    );
    clock.advance(MS);
    let again = store.claim_job("w2", lease).await.unwrap().unwrap();
    assert_eq!((again.id, again.attempts), (first.id, 2));
    assert!(
        !store.complete_job(&first).await.unwrap(),
        "the dead worker's lease is gone"
    );
    assert!(store.complete_job(&again).await.unwrap());
    assert_eq!(store.jobs(Some(JobState::Done), 10).await.unwrap().len(), 1);
}

/// The lease of the running job `id` as stored.
async fn locked_until(store: &Store, id: i64) -> Option<i64> {
    let running = store.jobs(Some(JobState::Running), 100).await.unwrap();
    running.into_iter().find(|j| j.id == id)?.locked_until
}

async fn a_slow_step_keeps_its_job_by_renewing_the_lease(store: Store, _url: String) {
    let (clock, store) = on_manual_clock(store);
    store.insert_inquiry(new("a", "a@x.org")).await.unwrap();
    let lease = Duration::from_secs(60);
    let job = store.claim_job("w1", lease).await.unwrap().unwrap();
    let step = async {
        // Twice the lease later, the job still belongs to its living worker: each third of
        // the lease it was renewed from that moment on.
        for _ in 0..6 {
            clock.advance(lease / 3);
            let renewed = clock.now_ms() + 60_000;
            tokio::time::timeout(Duration::from_secs(30), async {
                while locked_until(&store, job.id).await != Some(renewed) {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
            .await
            .expect("the lease is renewed a third of the lease after the last renewal");
        }
        store.claim_job("w2", lease).await.unwrap()
    };
    let taken = store.holding_lease(&job, lease, step).await;
    assert!(taken.is_none(), "{taken:?}");
    assert!(store.complete_job(&job).await.unwrap(), "still the holder");

    // Without renewal the lease runs out and the job can be taken over; the old holder
    // then cannot renew it.
    store.insert_inquiry(new("b", "b@x.org")).await.unwrap();
    let job = store.claim_job("w1", lease).await.unwrap().unwrap();
    clock.advance(lease + MS);
    let other = store.claim_job("w2", lease).await.unwrap().unwrap();
    assert_eq!(other.id, job.id);
    assert!(!store.renew_job(&job, lease).await.unwrap());
    assert!(store.renew_job(&other, lease).await.unwrap());
}

async fn failing_job_backs_off_then_dies_and_an_admin_can_retry_it(store: Store, _u: String) {
    let (clock, store) = on_manual_clock(store.with_max_attempts(2));
    store.insert_inquiry(new("a", "a@x.org")).await.unwrap();
    let lease = Duration::from_secs(30);
    let job = store.claim_job("w", lease).await.unwrap().unwrap();
    let state = store
        .fail_job(&job, "model overloaded", Duration::from_millis(600))
        .await
        .unwrap();
    assert_eq!(state, JobState::Queued);
    clock.advance(Duration::from_millis(599));
    assert!(
        store.claim_job("w", lease).await.unwrap().is_none(),
        "backing off"
    );
    clock.advance(MS);
    let job = store.claim_job("w", lease).await.unwrap().unwrap();
    assert_eq!(job.attempts, 2);
    let state = store
        .fail_job(&job, "model overloaded", Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(state, JobState::Dead);
    assert!(store.claim_job("w", lease).await.unwrap().is_none());
    let dead = store.jobs(Some(JobState::Dead), 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].last_error.as_deref(), Some("model overloaded"));

    assert_eq!(store.retry_job(dead[0].id).await.unwrap(), Some(true));
    assert_eq!(store.retry_job(dead[0].id).await.unwrap(), Some(false));
    assert_eq!(store.retry_job(999_999).await.unwrap(), None);
    let job = store.claim_job("w", lease).await.unwrap().unwrap();
    assert_eq!(job.attempts, 1, "a retried job starts with fresh attempts");
}

async fn concurrent_workers_claim_each_job_exactly_once(store: Store, _url: String) {
    for i in 0..40 {
        store
            .insert_inquiry(new(&format!("t{i}"), "a@x.org"))
            .await
            .unwrap();
    }
    let workers: Vec<_> = (0..6)
        .map(|w| {
            let s = store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                while let Some(job) = s
                    .claim_job(&format!("w{w}"), Duration::from_secs(60))
                    .await
                    .unwrap()
                {
                    mine.push(job.id);
                    assert!(s.complete_job(&job).await.unwrap());
                }
                mine
            })
        })
        .collect();
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!((all.len(), unique.len()), (40, 40));
}

async fn a_job_run_twice_decides_its_inquiry_once(store: Store, url: String) {
    let (clock, store) = on_manual_clock(store);
    let inquiry = store.insert_inquiry(new("a", "a@x.org")).await.unwrap();
    let lease = Duration::from_secs(60);
    let first = store.claim_job("w1", lease).await.unwrap().unwrap();
    clock.advance(lease + MS);
    let second = store.claim_job("w2", lease * 100).await.unwrap().unwrap();
    // The first worker's lease expired before it finished: nothing of its work is kept.
    let late = store
        .finish_triage(&first, &inquiry, &decision("a"))
        .await
        .unwrap();
    assert_eq!(late, TriageOutcome::LostLease);
    let ok = store
        .finish_triage(&second, &inquiry, &decision("b"))
        .await
        .unwrap();
    assert_eq!(ok, TriageOutcome::Decided(InquiryStatus::Routed));
    let stored = store.inquiry(&inquiry.case_number).await.unwrap().unwrap();
    assert_eq!(stored.decision.unwrap().service.id, "b");
    assert_eq!(stored.status, InquiryStatus::from(RouteStatus::Routed));
    let raw = raw(&url).await;
    let decisions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM decisions")
        .fetch_one(&raw)
        .await
        .unwrap();
    let audited: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'decision.automatic'")
            .fetch_one(&raw)
            .await
            .unwrap();
    assert_eq!((decisions, audited), (1, 1));
}

/// A transaction that reads before it writes (creating an account checks the name first)
/// must not fail because another connection committed between its read and its write
/// (SQLite's `SQLITE_BUSY_SNAPSHOT`): it waits for the writer instead.
async fn transactions_that_read_then_write_succeed_beside_other_writers(store: Store, _u: String) {
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..60 {
                store
                    .insert_inquiry(new(&format!("w{i}"), "a@x.org"))
                    .await
                    .unwrap();
            }
        })
    };
    let creators: Vec<_> = (0..6)
        .map(|c| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..10 {
                    let name = UserName::parse(&format!("clerk-{c}-{i}")).unwrap();
                    let new = NewUser {
                        name: &name,
                        role: Role::Clerk,
                        departments: &["tiefbau".to_string()],
                        password_hash: "$argon2id$stub",
                    };
                    store.create_user(&new, "test").await.unwrap();
                }
            })
        })
        .collect();
    writer.await.unwrap();
    for c in creators {
        c.await.unwrap();
    }
    assert_eq!(store.users().await.unwrap().len(), 60);
}
