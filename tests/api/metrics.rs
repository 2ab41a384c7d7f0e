//! `/metrics`: Prometheus text for admins (an admin token as bearer, as Prometheus scrapes)
//! and on `[metrics] bind`; requests move the counters by route template, never by the raw
//! path; the gauges read the real store; clerks and anonymous callers are refused.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_without_engine};

/// The value of the sample `name` whose labels include all of `labels`, summed over the
/// samples that match (a counter split by more labels than asked for).
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, "}"));
            (metric == name).then_some(())?;
            let found = labels
                .iter()
                .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
            found.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

async fn scrape_with(app: &TestApp, client: &reqwest::Client) -> (u16, String) {
    let r = client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn admin_token(app: &TestApp) -> String {
    let (status, created) = app
        .post_json(
            "/api/v1/admin/tokens",
            &json!({"name": "Prometheus", "role": "admin"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    created["token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_request_moves_the_counters_and_the_gauges_read_the_store() {
    let app = spawn_app().await;
    let token = admin_token(&app).await;
    let prometheus = reqwest::Client::new();
    let scrape = || async {
        let r = prometheus
            .get(format!("{}/metrics", app.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let content_type = r.headers()["content-type"].to_str().unwrap().to_string();
        assert!(
            content_type.starts_with("text/plain; version=0.0.4"),
            "{content_type}"
        );
        assert!(
            r.headers().contains_key("x-request-id"),
            "every answer names its request"
        );
        r.text().await.unwrap()
    };
    let before = scrape().await;
    let posted = |t: &str| {
        sample(
            t,
            "anliegen_http_requests_total",
            &[
                ("route", "/api/v1/inquiries"),
                ("method", "POST"),
                ("status", "201"),
            ],
        )
    };
    let read = |t: &str| {
        sample(
            t,
            "anliegen_http_requests_total",
            &[
                ("route", "/api/v1/inquiries/{case}"),
                ("method", "GET"),
                ("status", "200"),
            ],
        )
    };
    let stored: Value = app
        .route_inquiry(
            &json!({"text": "Die Straßenlaterne vor Hausnummer 12 ist seit Tagen dunkel."}),
        )
        .await;
    let case = stored["case_number"].as_str().unwrap();
    let after = scrape().await;

    assert!(
        posted(&after) >= posted(&before) + 1.0,
        "POST counted:\n{after}"
    );
    assert!(
        read(&after) >= read(&before) + 1.0,
        "GET counted by its template:\n{after}"
    );
    assert!(
        !after.contains(case),
        "no raw path (case number) in the metrics"
    );
    assert!(
        sample(
            &after,
            "anliegen_http_request_duration_seconds_count",
            &[("route", "/api/v1/inquiries")]
        ) >= 1.0,
        "a latency histogram per route"
    );
    assert!(
        after.contains("anliegen_http_request_duration_seconds_bucket{"),
        "histogram buckets"
    );
    assert!(
        sample(&after, "anliegen_embeddings_total", &[]) >= 1.0,
        "texts embedded"
    );
    assert!(
        sample(&after, "anliegen_embedding_batch_texts_count", &[]) >= 1.0,
        "batch sizes"
    );
    assert!(
        after.contains("anliegen_embedding_queue_depth"),
        "queue depth"
    );
    assert!(
        sample(&after, "anliegen_decisions_total", &[]) >= 1.0,
        "the pipeline's decision counted"
    );

    // Gauges are this store's counts at the scrape.
    let figures = app.state.store.figures().await.unwrap();
    for status in ["received", "routed", "review", "failed"] {
        let stored = figures
            .inquiries
            .iter()
            .find(|c| c.labels == [status])
            .map_or(0, |c| c.count);
        assert_eq!(
            sample(&after, "anliegen_inquiries", &[("status", status)]),
            stored as f64,
            "inquiries {status}"
        );
    }
    assert_eq!(
        sample(
            &after,
            "anliegen_jobs",
            &[("kind", "triage"), ("state", "done")]
        ),
        1.0,
        "the one triage job is done:\n{after}"
    );
    assert_eq!(
        sample(
            &after,
            "anliegen_jobs",
            &[("kind", "webhook"), ("state", "dead")]
        ),
        0.0
    );
    assert!(
        after.contains("anliegen_outbox{state=\"dead\"} 0"),
        "outbox by state"
    );
    let automatic = sample(&after, "anliegen_automatic_decisions", &[]);
    assert_eq!(automatic, 1.0, "one automatic decision");
    assert!(
        sample(&after, "anliegen_catalogue_version", &[]) >= 1.0,
        "catalogue version"
    );
    assert_eq!(
        sample(&after, "anliegen_model_version", &[]),
        0.0,
        "no trained model yet"
    );
    assert_eq!(sample(&after, "anliegen_ready", &[]), 1.0);
    assert!(
        after.contains("anliegen_embedding_model_info{model="),
        "{after}"
    );

    // A clerk re-routes an automatic decision: the live misroute gauge moves (when the
    // pipeline routed it on its own) and the review counter does.
    let service = stored["decision"]["service"]["id"].as_str().unwrap();
    let other = if service == "sperrmuell" {
        "strassenbeleuchtung-defekt"
    } else {
        "sperrmuell"
    };
    let (status, body) = app
        .post_json(
            &format!("/api/v1/inquiries/{case}/review"),
            &json!({"action": "reroute", "service": other}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let reviewed = scrape().await;
    assert!(
        sample(&reviewed, "anliegen_reviews_total", &[("changed", "true")]) >= 1.0,
        "{reviewed}"
    );
    let auto_routed = stored["decision"]["status"] == "routed";
    assert_eq!(
        sample(&reviewed, "anliegen_auto_routed_rerouted_inquiries", &[]),
        if auto_routed { 1.0 } else { 0.0 },
        "{reviewed}"
    );
}

#[tokio::test]
async fn clerks_and_anonymous_callers_are_refused() {
    let app = spawn_app_without_engine().await;
    let (status, _) = scrape_with(&app, &app.anonymous).await;
    assert_eq!(status, 401);
    let clerk = app.clerk("sachbearbeitung", &["tiefbau"]).await;
    let (status, _) = scrape_with(&app, &clerk).await;
    assert_eq!(status, 403);
    let (status, text) = scrape_with(&app, &app.client).await;
    assert_eq!(status, 200, "an admin's session may read it too");
    assert_eq!(
        sample(&text, "anliegen_ready", &[]),
        0.0,
        "the model is not loaded"
    );
}

#[tokio::test]
async fn a_metrics_listener_of_its_own_serves_without_credentials() {
    let app = spawn_app_without_engine().await;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let state = app.state.clone();
    tokio::spawn(async move {
        axum::serve(listener, anliegen::web::metrics::standalone(state))
            .await
            .unwrap()
    });
    let r = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let text = r.text().await.unwrap();
    assert!(text.contains("anliegen_jobs{"), "{text}");
    let r = reqwest::get(format!("http://{addr}/api/v1/admin/jobs"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404, "nothing else on that port");
}
