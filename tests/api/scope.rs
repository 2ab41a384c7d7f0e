//! A clerk's scope and the audit's truth: walking case numbers shows a clerk only the cases
//! of their departments, and a review is audited under the session's user whatever the
//! body claims.

use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::{
    access::{case_with, decision},
    helpers::{spawn_app_with, spawn_app_without_engine},
};
#[tokio::test]
async fn a_clerk_walking_case_numbers_sees_only_the_cases_of_their_departments() {
    let app = spawn_app_without_engine().await;
    let cases = [
        (
            Some(decision("strassenbeleuchtung-defekt", "tiefbau", &[])),
            true,
        ),
        (Some(decision("sperrmuell", "abfallwirtschaft", &[])), false),
        (None, false),
        // In review elsewhere, with a Tiefbau service among the candidates.
        (
            Some(decision(
                "sperrmuell",
                "abfallwirtschaft",
                &[("strassenschaden", "tiefbau")],
            )),
            true,
        ),
        (
            Some(decision(
                "hundesteuer",
                "kreiskasse",
                &[("sperrmuell", "abfallwirtschaft")],
            )),
            false,
        ),
        (Some(decision("strassenschaden", "tiefbau", &[])), true),
    ];
    let mut mine = Vec::new();
    for (d, in_reach) in cases {
        let case = case_with(&app, d).await;
        if in_reach {
            mine.push(case);
        }
    }
    let clerk = app.clerk("clerk-a", &["tiefbau"]).await;
    let year = &mine[0][..4];
    let mut seen = Vec::new();
    for n in 1..=12 {
        let case = format!("{year}-{n:06}");
        let r = clerk
            .get(format!("{}/api/v1/inquiries/{case}", app.base))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        match status {
            200 => seen.push(case),
            404 => assert_eq!(
                body,
                json!({"code": "not_found", "message": format!("no inquiry {case}")}),
                "a case out of reach looks like one that does not exist"
            ),
            other => panic!("{case}: {other} {body}"),
        }
    }
    assert_eq!(seen, mine);
    let (status, _) = app.get(&format!("/api/v1/inquiries/{year}-000002")).await;
    assert_eq!(status, 200, "an admin sees every case");
}

#[tokio::test]
async fn the_review_in_the_audit_log_names_the_session_user_whatever_the_body_claims() {
    let app = spawn_app_with(|_| {}).await;
    app.start_engine().await;
    let case = case_with(
        &app,
        Some(decision("strassenbeleuchtung-defekt", "tiefbau", &[])),
    )
    .await;
    let clerk = app.clerk("clerk-a", &["tiefbau"]).await;
    let r = clerk
        .post(format!("{}/api/v1/inquiries/{case}/review", app.base))
        .json(
            &json!({"action": "reroute", "service": "strassenschaden", "actor": "buergermeister"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let clerk_id = app
        .state
        .store
        .users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.name == "clerk-a")
        .unwrap()
        .id;
    let entries = app
        .state
        .store
        .audit_entries_for(std::slice::from_ref(&case))
        .await
        .unwrap();
    let review: Vec<_> = entries
        .iter()
        .filter(|e| e.action == "review.reroute")
        .collect();
    assert_eq!(review.len(), 1, "{entries:?}");
    assert_eq!(review[0].actor, format!("user:{clerk_id}"));
    assert!(!format!("{entries:?}").contains("buergermeister"));
    let stored = app.stored(&case).await;
    assert!(
        stored
            .decision
            .unwrap()
            .reason
            .contains(&format!("user:{clerk_id}"))
    );
}

/// Fifty reviews of one case once taught the model fifty times; a case teaches once, with
/// its latest review.
#[tokio::test]
async fn repeated_reviews_of_one_case_leave_one_training_example() {
    let app = spawn_app_with(|_| {}).await;
    app.start_engine().await;
    let case = case_with(
        &app,
        Some(decision("strassenbeleuchtung-defekt", "tiefbau", &[])),
    )
    .await;
    let clerk = app.clerk("clerk-a", &["tiefbau"]).await;
    for body in [
        json!({"action": "accept"}),
        json!({"action": "reroute", "service": "strassenschaden"}),
        json!({"action": "reroute", "service": "verkehrszeichen-beschaedigt"}),
    ] {
        let r = clerk
            .post(format!("{}/api/v1/inquiries/{case}/review", app.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{body}");
    }
    let db = crate::store::raw(app.state.config.database.url.expose_secret()).await;
    let labels: Vec<String> = sqlx::query_scalar(
        "SELECT t.service_id FROM training_examples t JOIN inquiries i ON i.id = t.inquiry_id
         WHERE i.case_number = $1",
    )
    .bind(&case)
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(labels, ["verkehrszeichen-beschaedigt"]);
}
