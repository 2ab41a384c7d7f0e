//! Webhooks against a local receiver (an axum server in the test): HMAC-SHA256 signatures
//! over timestamp and body, payloads without personal data unless the subscription
//! consents, retries with backoff from the job queue (a receiver answering 500 twice gets
//! the event on the third attempt), and the Zammad recipe's exact request shape with the
//! ticket id kept on the case.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, Uri},
    response::IntoResponse,
};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use anliegen::{
    config::{Config, WebhookKind, WebhookSubscription},
    store::{Ending, JobState},
};

use crate::helpers::{TestApp, spawn_app_with};

const SECRET: &str = "ein geheimer Schlüssel für Signaturen";
const TEXT: &str =
    "Vor meinem Haus in der Lindenstraße 7 ist die Straßenlaterne seit einer Woche dunkel.";
const SENDER: &str = "erika.mustermann@example.org";

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Bytes,
    at: Instant,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map_or("", |v| v.to_str().unwrap_or(""))
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    /// Answers to give, in order; then `200 {}`.
    script: Arc<Mutex<VecDeque<(u16, Value)>>>,
}

async fn receive(
    State(r): State<Receiver>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    r.got.lock().unwrap().push(Received {
        path: uri.path().to_string(),
        headers,
        body,
        at: Instant::now(),
    });
    let (status, answer) = r
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or((200, json!({})));
    (StatusCode::from_u16(status).unwrap(), axum::Json(answer))
}

impl Receiver {
    async fn start() -> (Self, String) {
        let r = Receiver::default();
        let app = Router::new().fallback(receive).with_state(r.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (r, base)
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until `done` holds for what was received (two minutes: a loaded machine).
    async fn wait_for(&self, what: &str, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        for _ in 0..1200 {
            let got = self.got();
            if done(&got) {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the receiver did not get {what}: {:#?}", self.got());
    }
}

fn subscription(name: &str, url: &str, secret: &std::path::Path) -> WebhookSubscription {
    WebhookSubscription {
        name: name.into(),
        kind: WebhookKind::Generic,
        url: url.into(),
        events: Vec::new(),
        departments: Vec::new(),
        personal_data: false,
        secret_env: None,
        secret_file: Some(secret.to_path_buf()),
        groups: Default::default(),
        customer: None,
        internal: true,
    }
}

/// A server with the webhook subscriptions `adjust` sets, quick retries, and the model.
async fn app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let app = spawn_app_with(|c| {
        c.webhooks.backoff_base_ms = 300;
        c.pipeline.poll_ms = 50;
        adjust(c);
    })
    .await;
    app.start_engine().await;
    app
}

/// A clerk (the admin) accepts the case's decision.
async fn accept(app: &TestApp, case: &str) {
    let (status, body) = app
        .post_json(
            &format!("/api/v1/inquiries/{case}/review"),
            &json!({"action": "accept"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

fn secret_file() -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), format!("{SECRET}\n")).unwrap();
    file
}

/// Checks the signature headers as a receiver should: HMAC-SHA256 over
/// `<timestamp>.<body>`, and a timestamp within five minutes.
fn assert_signed(r: &Received) {
    let timestamp = r.header("x-anliegen-timestamp");
    let age = chrono::Utc::now().timestamp() - timestamp.parse::<i64>().expect("Unix seconds");
    assert!(
        (-300..=300).contains(&age),
        "a fresh timestamp: {timestamp}"
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(&r.body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(r.header("x-anliegen-signature"), expected, "signature");
    assert_eq!(r.header("content-type"), "application/json");
    assert!(r.header("x-anliegen-delivery").starts_with("delivery-"));
}

#[tokio::test]
async fn signed_events_carry_the_case_and_personal_data_only_with_consent() {
    let (receiver, base) = Receiver::start().await;
    let secret = secret_file();
    let app = app_with(|c| {
        let mut consents = subscription("mit-einwilligung", &format!("{base}/mit"), secret.path());
        consents.personal_data = true;
        consents.events = vec!["inquiry.received".into(), "inquiry.routed".into()];
        c.webhooks.subscriptions = vec![
            subscription("ohne-einwilligung", &format!("{base}/ohne"), secret.path()),
            consents,
        ];
    })
    .await;
    let stored = app
        .route_inquiry(&json!({"text": TEXT, "sender": SENDER}))
        .await;
    let case = stored["case_number"].as_str().unwrap().to_string();
    let event_of = |r: &Received| r.header("x-anliegen-event").to_string();
    let got = receiver
        .wait_for("received and routed at both", |got| got.len() >= 4)
        .await;

    for r in &got {
        assert_signed(r);
        let body = r.json();
        assert_eq!(body["event"], event_of(r));
        assert_eq!(body["inquiry"]["case_number"], case.as_str());
        assert_eq!(
            body["inquiry"]["link"],
            format!(
                "{}/app/faelle/{case}",
                app.state.config.server.public_url.trim_end_matches('/')
            )
        );
        let raw = String::from_utf8_lossy(&r.body);
        if r.path == "/ohne" {
            assert!(
                !raw.contains("Lindenstraße") && !raw.contains("Laterne"),
                "no text: {raw}"
            );
            assert!(
                !raw.contains("erika") && !raw.contains("example.org"),
                "no sender: {raw}"
            );
        } else {
            assert_eq!(r.path, "/mit");
            assert_eq!(body["inquiry"]["text"], TEXT);
            assert_eq!(body["inquiry"]["sender"], SENDER);
        }
    }
    for path in ["/ohne", "/mit"] {
        let routed = got
            .iter()
            .find(|r| r.path == path && event_of(r) == "inquiry.routed")
            .unwrap_or_else(|| panic!("inquiry.routed at {path}"));
        let decision = &routed.json()["inquiry"]["decision"];
        assert_eq!(decision["service_id"], stored["decision"]["service"]["id"]);
        assert_eq!(
            decision["department_id"],
            stored["decision"]["department"]["id"]
        );
        assert_eq!(
            decision["department_name"],
            stored["decision"]["department"]["name"]
        );
        let confidence = decision["confidence"].as_f64().unwrap();
        assert!((confidence - stored["decision"]["confidence"].as_f64().unwrap()).abs() < 1e-6);
        assert!(
            got.iter()
                .any(|r| r.path == path && event_of(r) == "inquiry.received"),
            "inquiry.received at {path}"
        );
    }

    // A clerk's review is an event of its own; the consenting subscription did not ask for it.
    accept(&app, &case).await;
    let got = receiver
        .wait_for("inquiry.reviewed", |got| {
            got.iter().any(|r| event_of(r) == "inquiry.reviewed")
        })
        .await;
    let reviewed: Vec<_> = got
        .iter()
        .filter(|r| event_of(r) == "inquiry.reviewed")
        .collect();
    assert_eq!(reviewed.len(), 1);
    assert_eq!(reviewed[0].path, "/ohne");
    assert_eq!(reviewed[0].json()["inquiry"]["decision"]["router"], "clerk");

    // A clerk ends the case: inquiry.closed says how, not the clerk's reason.
    let inquiry = app.stored(&case).await;
    let ending = Ending::Closed {
        reason: Some("Laterne am Dienstag repariert".into()),
    };
    app.state
        .store
        .end_case(&inquiry, &ending, "test")
        .await
        .unwrap();
    let got = receiver
        .wait_for("inquiry.closed", |got| {
            got.iter().any(|r| event_of(r) == "inquiry.closed")
        })
        .await;
    let closed = got
        .iter()
        .find(|r| event_of(r) == "inquiry.closed")
        .unwrap();
    assert_signed(closed);
    assert_eq!(closed.path, "/ohne");
    let body = closed.json();
    assert_eq!(body["inquiry"]["ending"], "closed");
    assert_eq!(body["inquiry"]["status"], "closed");
    assert!(
        !String::from_utf8_lossy(&closed.body).contains("Dienstag"),
        "no reason"
    );
}

#[tokio::test]
async fn a_receiver_that_fails_twice_gets_the_event_on_the_third_attempt() {
    let (receiver, base) = Receiver::start().await;
    receiver
        .script
        .lock()
        .unwrap()
        .extend([(500, json!({})), (500, json!({}))]);
    let secret = secret_file();
    let app = app_with(|c| {
        let mut sub = subscription("leitstelle", &format!("{base}/hook"), secret.path());
        sub.events = vec!["inquiry.routed".into()];
        c.webhooks.subscriptions = vec![sub];
    })
    .await;
    app.route_inquiry(&json!({"text": TEXT})).await;
    let got = receiver
        .wait_for("three attempts", |got| got.len() >= 3)
        .await;
    assert_eq!(got.len(), 3, "{got:#?}");
    let delivery = got[0].header("x-anliegen-delivery");
    assert!(
        got.iter()
            .all(|r| r.header("x-anliegen-delivery") == delivery),
        "one delivery, retried"
    );
    assert!(
        got.iter().all(|r| r.body == got[0].body),
        "the same event each time"
    );
    got.iter().for_each(assert_signed);
    // Backoff: 300 ms before the second attempt, 600 ms before the third.
    assert!(
        got[1].at - got[0].at >= Duration::from_millis(300),
        "{:?}",
        got[1].at - got[0].at
    );
    assert!(
        got[2].at - got[1].at >= Duration::from_millis(600),
        "{:?}",
        got[2].at - got[1].at
    );

    let mut job = None;
    for _ in 0..100 {
        let jobs = app.state.store.jobs(None, 50).await.unwrap();
        job = jobs.into_iter().find(|j| j.kind.as_str() == "webhook");
        if job.as_ref().is_some_and(|j| j.state == JobState::Done) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let job = job.expect("the webhook job");
    assert_eq!(job.state, JobState::Done);
    assert_eq!(job.attempts, 3);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        receiver.got().len(),
        3,
        "delivered once it succeeded, not again"
    );
}

#[tokio::test]
async fn the_zammad_recipe_opens_a_ticket_in_the_departments_group() {
    let (zammad, base) = Receiver::start().await;
    zammad.script.lock().unwrap().push_back((
        201,
        json!({"id": 4711, "number": "31004711", "title": "…", "group_id": 3}),
    ));
    let token = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(token.path(), "zammad-api-token-123\n").unwrap();
    let app = app_with(|c| {
        c.webhooks.subscriptions = vec![WebhookSubscription {
            kind: WebhookKind::Zammad,
            customer: Some("buergeranliegen@landkreis.example".into()),
            internal: true,
            ..subscription("zammad", &base, token.path())
        }];
    })
    .await;
    let stored = app
        .route_inquiry(&json!({"text": TEXT, "sender": SENDER}))
        .await;
    let case = stored["case_number"].as_str().unwrap().to_string();
    if stored["decision"]["status"] != "routed" {
        // A ticket once a department is certain: a clerk decides this one.
        accept(&app, &case).await;
    }
    let got = zammad.wait_for("the ticket", |got| !got.is_empty()).await;
    let r = &got[0];
    assert_eq!(r.path, "/api/v1/tickets");
    assert_eq!(
        r.header("authorization"),
        "Token token=zammad-api-token-123"
    );
    assert!(r.header("content-type").starts_with("application/json"));
    let ticket = r.json();
    let service = stored["decision"]["service"]["name"].as_str().unwrap();
    let department = stored["decision"]["department"]["name"].as_str().unwrap();
    let title = format!("Anliegen {case}: {service}");
    let mut keys: Vec<&str> = ticket
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["article", "customer", "group", "title"], "{ticket}");
    assert_eq!(ticket["title"], title.as_str());
    assert_eq!(
        ticket["group"], department,
        "the department's group (its name, unmapped)"
    );
    assert_eq!(ticket["customer"], "buergeranliegen@landkreis.example");
    let article = &ticket["article"];
    let mut keys: Vec<&str> = article
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["body", "content_type", "internal", "subject", "type"],
        "{article}"
    );
    assert_eq!(article["subject"], title.as_str());
    assert_eq!(article["type"], "note");
    assert_eq!(article["internal"], true);
    assert_eq!(article["content_type"], "text/plain");
    let body = article["body"].as_str().unwrap();
    assert!(
        body.contains(&format!("/app/faelle/{case}")),
        "a link to the case: {body}"
    );
    let raw = String::from_utf8_lossy(&r.body);
    assert!(
        !raw.contains("Lindenstraße") && !raw.contains("erika"),
        "nothing personal: {raw}"
    );

    // The ticket id is kept on the case, and a later review opens no second ticket.
    let inquiry = app.stored(&case).await;
    let mut tickets = Vec::new();
    for _ in 0..100 {
        tickets = app.state.store.tickets(inquiry.id).await.unwrap();
        if !tickets.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0].ticket_id, "4711");
    assert_eq!(tickets[0].ticket_number.as_deref(), Some("31004711"));
    assert_eq!(tickets[0].system, "zammad");
    let (_, shown) = app.get(&format!("/api/v1/inquiries/{case}")).await;
    assert_eq!(
        shown["tickets"][0]["ticket_id"], "4711",
        "staff see the ticket: {shown}"
    );
    assert_eq!(shown["tickets"][0]["subscription"], "zammad");
    accept(&app, &case).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(zammad.got().len(), 1, "one ticket per case");
}
