//! Citizens see only their own case: the intake answer's secret opens the status (no text,
//! no evidence), a wrong secret and an unknown case look alike, clerks' answers appear
//! there, and public intake is rate limited per client. Plus the staff's inbox query,
//! scoped like single cases.

use anliegen::store::InquiryQuery;
use serde_json::{Value, json};

use crate::{
    access::{case_with, decision},
    helpers::{TestApp, spawn_app, spawn_app_with, spawn_app_without_engine},
};

async fn status(app: &TestApp, case: &str, token: &str) -> (u16, Value) {
    let r = app
        .anonymous
        .get(format!("{}/api/v1/status/{case}?token={token}", app.base))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn the_status_secret_opens_its_own_case_only_and_shows_no_internals() {
    let app = spawn_app().await;
    let text = "Die Straßenlaterne vor Hausnummer 7 ist seit Tagen kaputt";
    let (code, mine) = app
        .post_inquiry(&json!({"text": text, "sender": "erika@example.org"}))
        .await;
    assert_eq!(code, 201, "{mine}");
    let (_, other) = app
        .post_inquiry(&json!({"text": "Wann kommt der Sperrmüll?"}))
        .await;
    let case = mine["case_number"].as_str().unwrap();
    let token = mine["status_token"].as_str().unwrap();
    assert_eq!(token.len(), 64);
    assert_eq!(
        mine["status_url"],
        format!("http://127.0.0.1:8080/api/v1/status/{case}?token={token}")
    );

    let (code, seen) = status(&app, case, token).await;
    assert_eq!(code, 200, "{seen}");
    assert_eq!(seen["case_number"], case);
    assert_eq!(seen["department"]["id"], "tiefbau");
    assert_eq!(seen["replies"], json!([]));
    let shown = seen.to_string();
    for internal in [
        "Laterne",
        "erika",
        "evidence",
        "candidates",
        "confidence",
        "mailbox",
    ] {
        assert!(!shown.contains(internal), "{internal} in {shown}");
    }

    let not_found = json!({"code": "not_found", "message": "no case with this number and secret"});
    let other_case = other["case_number"].as_str().unwrap();
    let other_token = other["status_token"].as_str().unwrap();
    let year = &case[..4];
    for (c, t, what) in [
        (case, "0".repeat(64), "wrong secret"),
        (case, String::new(), "no secret"),
        (case, other_token.to_string(), "another case's secret"),
        (other_case, token.to_string(), "this secret on another case"),
        (&format!("{year}-999999"), token.to_string(), "unknown case"),
        ("not-a-case", token.to_string(), "malformed case"),
    ] {
        assert_eq!(
            status(&app, c, &t).await,
            (404, not_found.clone()),
            "{what}"
        );
    }

    // Interleaved, so load on the machine hits both alike.
    let (mut wrong, mut unknown) = (Vec::new(), Vec::new());
    for _ in 0..25 {
        let started = std::time::Instant::now();
        status(&app, case, &"0".repeat(64)).await;
        wrong.push(started.elapsed());
        let started = std::time::Instant::now();
        status(&app, &format!("{year}-999999"), &"0".repeat(64)).await;
        unknown.push(started.elapsed());
    }
    wrong.sort();
    unknown.sort();
    let ratio = wrong[12].as_secs_f64() / unknown[12].as_secs_f64();
    assert!(
        (0.33..3.0).contains(&ratio),
        "medians {:?} vs {:?}",
        wrong[12],
        unknown[12]
    );

    let reply = json!({"text": "Die Laterne wird am Montag repariert."});
    let r = app
        .client
        .post(format!("{}/api/v1/inquiries/{case}/reply", app.base))
        .json(&reply)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (body["mailed"].as_bool(), body["state"].as_str()),
        (Some(false), Some("recorded"))
    );
    let (_, seen) = status(&app, case, token).await;
    assert_eq!(
        seen["replies"][0]["text"],
        "Die Laterne wird am Montag repariert."
    );
    assert_eq!(
        seen["replies"][0]["mailed"], false,
        "the address is not confirmed"
    );
}

#[tokio::test]
async fn public_intake_is_rate_limited_per_client_with_retry_after() {
    let app = spawn_app_with(|c| {
        c.rate_limit.intake_per_minute = 2;
        c.rate_limit.status_per_minute = 3;
    })
    .await;
    for _ in 0..2 {
        assert_eq!(
            app.post_inquiry(&json!({"text": "Laterne kaputt"})).await.0,
            202
        );
    }
    let r = app
        .anonymous
        .post(format!("{}/api/v1/inquiries", app.base))
        .json(&json!({"text": "Laterne kaputt"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&wait), "{wait}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    let all = InquiryQuery {
        limit: 100,
        ..Default::default()
    };
    let stored = app.state.store.inquiries(&all).await.unwrap();
    assert_eq!(stored.len(), 2, "the refused inquiry was not stored");

    let codes: Vec<u16> =
        futures_util::future::join_all((0..4).map(|_| status(&app, "2026-000001", "x")))
            .await
            .into_iter()
            .map(|(c, _)| c)
            .collect();
    assert_eq!(codes.iter().filter(|c| **c == 429).count(), 1, "{codes:?}");
    assert_eq!(
        app.get("/healthz").await.0,
        200,
        "health checks are not limited"
    );
}

#[tokio::test]
async fn the_channel_comes_from_the_route_not_from_the_body() {
    let app = spawn_app_without_engine().await;
    let (code, body) = app
        .post_inquiry(
            &json!({"text": "Laterne", "channel": "email", "sender": "opfer@example.org"}),
        )
        .await;
    assert_eq!(
        (code, body["code"].as_str()),
        (422, Some("invalid_field")),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("channel is set by the endpoint")
    );
    let (code, body) = app
        .post_inquiry(&json!({"text": "Laterne", "sender": "opfer@example.org"}))
        .await;
    assert_eq!((code, body["channel"].as_str()), (202, Some("api")));
}

#[tokio::test]
async fn the_inbox_lists_only_what_the_clerk_reaches_newest_first_in_pages() {
    let app = spawn_app_without_engine().await;
    let mut mine = Vec::new();
    for d in [
        Some(decision("strassenschaden", "tiefbau", &[])),
        Some(decision("sperrmuell", "abfallwirtschaft", &[])),
        Some(decision(
            "sperrmuell",
            "abfallwirtschaft",
            &[("strassenschaden", "tiefbau")],
        )),
        None,
        Some(decision("strassenbeleuchtung-defekt", "tiefbau", &[])),
    ] {
        let reaches = d
            .as_ref()
            .is_some_and(|d| d.departments_in_reach().contains("tiefbau"));
        let case = case_with(&app, d).await;
        if reaches {
            mine.push(case);
        }
    }
    mine.reverse();
    let clerk = app.clerk("clerk-a", &["tiefbau"]).await;
    let list = |query: &str| {
        let request = clerk.get(format!("{}/api/v1/inquiries{query}", app.base));
        async move {
            let body: Value = request.send().await.unwrap().json().await.unwrap();
            body["inquiries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["case_number"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list("").await, mine);
    assert_eq!(list("?limit=2").await, mine[..2]);
    assert_eq!(
        list(&format!("?limit=2&before={}", mine[1])).await,
        mine[2..]
    );
    assert_eq!(list("?status=review").await, mine[1..2]);
    assert_eq!(
        list("?department=abfallwirtschaft").await,
        mine[1..2],
        "within reach only"
    );
    let (_, all) = app.get("/api/v1/inquiries").await;
    assert_eq!(
        all["inquiries"].as_array().unwrap().len(),
        5,
        "an admin lists every case"
    );
    let (code, err) = app.get("/api/v1/inquiries?status=lost").await;
    assert_eq!((code, err["code"].as_str()), (422, Some("invalid_field")));
}
