//! Admission control and idempotent intake against the real server and the real model:
//! the backlog cap (`pipeline.max_queued`) during the model-loading window and under a
//! flood, the concurrency bound, and `Idempotency-Key` — sequential and concurrent retries
//! give one case, on SQLite through the API and on both backends in the store.

use std::{collections::HashSet, time::Duration};

use anliegen::store::{Idempotent, KeyedRequest, Store};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with};

/// Status, `Retry-After` and body of one anonymous intake request.
async fn post(app: &TestApp, text: &str, key: Option<&str>) -> (u16, Option<String>, Value) {
    let mut req = app
        .anonymous
        .post(format!("{}/api/v1/inquiries", app.base))
        .json(&json!({"text": text}));
    if let Some(key) = key {
        req = req.header("idempotency-key", key);
    }
    let r = req.send().await.unwrap();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (r.status().as_u16(), retry, r.json().await.unwrap())
}

/// Waits until every case is decided (at most two minutes) and returns their statuses.
async fn wait_decided(app: &TestApp, cases: &[String]) -> Vec<String> {
    for _ in 0..1200 {
        let mut statuses = Vec::new();
        for case in cases {
            let (code, stored) = app.get(&format!("/api/v1/inquiries/{case}")).await;
            assert_eq!(code, 200, "{stored}");
            statuses.push(stored["status"].as_str().unwrap().to_string());
        }
        if statuses.iter().all(|s| s != "received") {
            return statuses;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not every accepted inquiry was decided within two minutes");
}

/// All inquiries in the store, as the admin's inbox lists them.
async fn inbox_cases(app: &TestApp) -> Vec<String> {
    let (code, list) = app.get("/api/v1/inquiries?limit=200").await;
    assert_eq!(code, 200, "{list}");
    list["inquiries"]
        .as_array()
        .unwrap_or_else(|| panic!("an inbox list: {list}"))
        .iter()
        .map(|i| i["case_number"].as_str().unwrap().to_string())
        .collect()
}

/// While the model loads, intake takes `pipeline.max_queued` inquiries and then answers
/// `503 backlog_full` with `Retry-After`, storing nothing; once the model runs, every taken
/// inquiry is decided and intake takes new ones again.
#[tokio::test]
async fn the_backlog_is_capped_while_the_model_loads_and_drains_afterwards() {
    let app = spawn_app_with(|c| c.pipeline.max_queued = 5).await;
    let mut cases = Vec::new();
    for n in 0..5 {
        let (code, _, receipt) = post(&app, &format!("Laterne {n} ist kaputt"), None).await;
        assert_eq!(code, 202, "{receipt}");
        cases.push(receipt["case_number"].as_str().unwrap().to_string());
    }
    let (code, retry, body) = post(&app, "Noch eine kaputte Laterne", None).await;
    assert_eq!(code, 503, "{body}");
    assert_eq!(body["code"], "backlog_full");
    assert_eq!(retry.as_deref(), Some("30"));
    assert_eq!(app.state.store.triage_backlog().await.unwrap(), 5);
    assert!(
        app.state
            .pipeline
            .backlog_full(&app.state.store)
            .await
            .unwrap()
    );

    app.start_engine().await;
    let statuses = wait_decided(&app, &cases).await;
    assert!(statuses.iter().all(|s| s == "routed" || s == "review"));
    assert!(
        !app.state
            .pipeline
            .backlog_full(&app.state.store)
            .await
            .unwrap()
    );
    let (code, _, receipt) = post(&app, "Die Laterne vor Nummer 9 ist aus", None).await;
    assert!(code == 201 || code == 202, "{receipt}");
    assert_eq!(inbox_cases(&app).await.len(), 6);
}

/// A flood of concurrent intake beyond the concurrency bound and the backlog cap: every
/// refusal is `429 overloaded` or `503 backlog_full` with `Retry-After` and the JSON body;
/// every accepted inquiry exists once and is decided.
#[tokio::test]
async fn a_flood_is_refused_in_the_contract_and_every_accepted_inquiry_is_decided_once() {
    let app = spawn_app_with(|c| {
        c.server.max_concurrent_requests = 4;
        // The connection limits have tests of their own (`hardening`).
        c.server.max_connections_per_client = 1000;
        c.pipeline.max_queued = 8;
        c.pipeline.max_wait_ms = 200;
    })
    .await;
    app.start_engine().await;
    let app = std::sync::Arc::new(app);
    let tasks: Vec<_> = (0..64)
        .map(|n| {
            let app = app.clone();
            tokio::spawn(async move {
                post(&app, &format!("Mülltonne {n} wurde nicht geleert"), None).await
            })
        })
        .collect();
    let mut accepted = Vec::new();
    let mut refused = 0;
    for task in tasks {
        let (code, retry, body) = task.await.unwrap();
        match code {
            201 | 202 => accepted.push(body["case_number"].as_str().unwrap().to_string()),
            429 => {
                assert_eq!(body["code"], "overloaded", "{body}");
                assert_eq!(retry.as_deref(), Some("1"));
                refused += 1;
            }
            503 => {
                assert_eq!(body["code"], "backlog_full", "{body}");
                assert_eq!(retry.as_deref(), Some("30"));
                refused += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(
        refused > 0,
        "64 concurrent requests over a bound of 4 were all taken"
    );
    assert!(!accepted.is_empty());
    let unique: HashSet<_> = accepted.iter().collect();
    assert_eq!(unique.len(), accepted.len(), "case numbers are unique");
    let statuses = wait_decided(&app, &accepted).await;
    assert!(statuses.iter().all(|s| s == "routed" || s == "review"));
    let mut stored = inbox_cases(&app).await;
    stored.sort();
    accepted.sort();
    assert_eq!(
        stored, accepted,
        "exactly the accepted inquiries are stored"
    );
}

/// A retry with the same `Idempotency-Key` gets the first case with its status secret
/// (`Idempotent-Replayed: true`), concurrent twins get one case, another text under the
/// same key is `422 idempotency_key_reused`, and a malformed key is refused.
#[tokio::test]
async fn an_idempotent_retry_gives_the_same_case() {
    let app = spawn_app_with(|c| c.pipeline.max_wait_ms = 200).await;
    let key = "5f0c8a5e-6a4b-4c1e-9d0b-2f3e4d5c6b7a";
    let (code, _, first) = post(&app, "Die Ampel an der Kreuzung ist aus", Some(key)).await;
    assert_eq!(code, 202, "{first}");
    let r = app
        .anonymous
        .post(format!("{}/api/v1/inquiries", app.base))
        .header("idempotency-key", format!("\"{key}\""))
        .json(&json!({"text": "Die Ampel an der Kreuzung ist aus"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    assert_eq!(r.headers()["idempotent-replayed"], "true");
    let again: Value = r.json().await.unwrap();
    assert_eq!(again["case_number"], first["case_number"]);
    assert_eq!(again["status_token"], first["status_token"]);
    assert_eq!(again["status_url"], first["status_url"]);
    // The secret still opens the citizen's status.
    let status = app
        .anonymous
        .get(
            first["status_url"]
                .as_str()
                .unwrap()
                .replace(&app.state.config.server.public_url, &app.base),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(status.status().as_u16(), 200);

    let (code, _, body) = post(&app, "Etwas ganz anderes", Some(key)).await;
    assert_eq!(code, 422, "{body}");
    assert_eq!(body["code"], "idempotency_key_reused");

    let twin = "a7d1e0c2-twin";
    let (a, b) = tokio::join!(
        post(&app, "Schlagloch in der Hauptstraße", Some(twin)),
        post(&app, "Schlagloch in der Hauptstraße", Some(twin)),
    );
    assert_eq!(a.0, 202, "{}", a.2);
    assert_eq!(b.0, 202, "{}", b.2);
    assert_eq!(a.2["case_number"], b.2["case_number"]);
    assert_eq!(a.2["status_token"], b.2["status_token"]);

    for bad in ["", "mit leerzeichen", &"x".repeat(256)] {
        let (code, _, body) = post(&app, "Text", Some(bad)).await;
        assert_eq!(code, 422, "{bad:?}: {body}");
        assert_eq!(body["code"], "invalid_field");
    }
    assert_eq!(inbox_cases(&app).await.len(), 2);
}

crate::store::on_both_backends!(concurrent_requests_with_one_key_commit_one_inquiry);

/// Eight concurrent inserts under one key: one creates, the others find its case with the
/// same secret; one inquiry and one triage job are stored.
async fn concurrent_requests_with_one_key_commit_one_inquiry(store: Store, _url: String) {
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let keyed = KeyedRequest::new("one-key", b"the same request");
                let new = crate::store::new("Die Brücke ist gesperrt", "a@example.org");
                store.insert_inquiry_once(new, &keyed).await.unwrap()
            })
        })
        .collect();
    let (mut created, mut ids, mut secrets) = (0, HashSet::new(), HashSet::new());
    for task in tasks {
        match task.await.unwrap() {
            Idempotent::Created(i, s) => {
                created += 1;
                ids.insert(i.id);
                secrets.insert(s);
            }
            Idempotent::Replayed(i, s) => {
                ids.insert(i.id);
                secrets.insert(s);
            }
            Idempotent::Reused => panic!("the same request is not a reuse"),
        }
    }
    assert_eq!((created, ids.len(), secrets.len()), (1, 1, 1));
    assert_eq!(store.triage_backlog().await.unwrap(), 1);
    let other = KeyedRequest::new("one-key", b"another request");
    assert!(matches!(
        store.idempotent_replay(&other).await.unwrap(),
        Some(Idempotent::Reused)
    ));
}
