//! Learning from clerks: a re-route through the API becomes training data, a retrained
//! version routes a similar inquiry to the corrected service, and rolling back to the
//! previous version brings its behaviour back.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_eval_figures, repo, spawn_app, spawn_app_with};

/// A ready server whose trained versions activate even with few labelled inquiries.
async fn learning_app() -> TestApp {
    let app = spawn_app_with(|c| c.triage.min_labelled_examples = 0).await;
    app.start_engine().await;
    app
}

async fn route(app: &TestApp, text: &str) -> Value {
    app.route_inquiry(&json!({"text": text})).await
}

fn service(body: &Value) -> String {
    body["decision"]["service"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_clerk_correction_teaches_the_model_and_rollback_restores_the_old_behaviour() {
    let app = learning_app().await;
    let (status, v1) = app
        .post_json("/api/v1/admin/models/train", &json!({}))
        .await;
    assert_eq!(status, 200, "{v1}");
    let v1 = v1["version"].as_i64().unwrap();

    let text = "Auf dem Radweg neben der Kreisstraße liegen seit Tagen Glasscherben, ich habe mir den Reifen kaputt gefahren";
    let similar = "Glasscherben auf dem Radweg an der Kreisstraße, schon seit ein paar Tagen";
    let first = route(&app, text).await;
    assert_eq!(first["decision"]["router"], format!("learned-v{v1}"));
    assert_eq!(first["decision"]["calibrated"], true);
    let before = service(&route(&app, similar).await);

    // The clerk decides this belongs to a service the model did not pick.
    let original = service(&first);
    let target = [
        "illegale-muellablagerung",
        "strassenschaden",
        "winterdienst",
    ]
    .into_iter()
    .find(|s| *s != original && *s != before)
    .unwrap();
    let case = first["case_number"].as_str().unwrap();
    let (status, reviewed) = app
        .post_json(
            &format!("/api/v1/inquiries/{case}/review"),
            &json!({"action": "reroute", "service": target, "reason": "Scherben auf Radwegen räumt die Abfallwirtschaft", "actor": "clerk-7"}),
        )
        .await;
    assert_eq!(status, 200, "{reviewed}");
    assert_eq!(service(&reviewed), target);
    let (_, stored) = app.get(&format!("/api/v1/inquiries/{case}")).await;
    assert_eq!(stored["decision"]["router"], "clerk");
    assert_eq!(stored["decision"]["service"]["id"], target);

    // The review schedules a retraining in the background.
    let mut versions = 0;
    for _ in 0..60 {
        let (_, list) = app.get("/api/v1/admin/models").await;
        versions = list["versions"].as_array().unwrap().len();
        if versions >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert!(versions >= 2, "no version trained after the review");

    let (status, v2) = app
        .post_json("/api/v1/admin/models/train", &json!({}))
        .await;
    assert_eq!(status, 200, "{v2}");
    let v2 = v2["version"].as_i64().unwrap();
    assert!(v2 > v1);
    let after = route(&app, similar).await;
    assert_eq!(
        service(&after),
        target,
        "similar inquiry after the correction: {after}"
    );
    assert_eq!(after["decision"]["router"], format!("learned-v{v2}"));

    // Roll back: the earlier version answers as before.
    let (status, body) = app
        .post_json(&format!("/api/v1/admin/models/{v1}/activate"), &json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let again = route(&app, similar).await;
    assert_eq!(service(&again), before);
    assert_eq!(service(&route(&app, text).await), original);

    let (_, versions) = app.get("/api/v1/admin/models").await;
    let versions = versions["versions"].as_array().unwrap();
    assert!(versions.len() >= 2);
    let active: Vec<i64> = versions
        .iter()
        .filter(|v| v["active"] == true)
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(active, vec![v1]);
    assert!(
        versions[0]["metrics"]["cross_validation"]["accuracy"]
            .as_f64()
            .unwrap()
            > 0.3
    );
}

#[tokio::test]
async fn review_rejects_unknown_services_and_unknown_cases() {
    let app = spawn_app().await;
    let body = route(&app, "Wann wird der Sperrmüll abgeholt?").await;
    let case = body["case_number"].as_str().unwrap();
    let (status, err) = app
        .post_json(
            &format!("/api/v1/inquiries/{case}/review"),
            &json!({"action": "reroute", "service": "mondlandung"}),
        )
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (422, Some("invalid_field")),
        "{err}"
    );
    let (status, err) = app
        .post_json(
            &format!("/api/v1/inquiries/{case}/review"),
            &json!({"action": "reroute"}),
        )
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (422, Some("invalid_field")),
        "{err}"
    );
    let (status, _) = app
        .post_json(
            "/api/v1/inquiries/2026-999999/review",
            &json!({"action": "accept"}),
        )
        .await;
    assert_eq!(status, 404);
    let (status, err) = app
        .post_json("/api/v1/admin/models/rollback", &json!({}))
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (409, Some("conflict")),
        "{err}"
    );
}

#[tokio::test]
async fn a_running_server_follows_a_version_activated_elsewhere() {
    let app = learning_app().await;
    let (_, v1) = app
        .post_json("/api/v1/admin/models/train", &json!({}))
        .await;
    let (_, v2) = app
        .post_json("/api/v1/admin/models/train", &json!({}))
        .await;
    let (v1, v2) = (
        v1["version"].as_i64().unwrap(),
        v2["version"].as_i64().unwrap(),
    );
    let text = "Der Gully vor Hausnummer 12 ist verstopft";
    assert_eq!(
        route(&app, text).await["decision"]["router"],
        format!("learned-v{v2}")
    );

    // As `anliegen model activate` or another replica would: straight in the database.
    assert!(app.state.store.activate_model(v1).await.unwrap());
    for _ in 0..40 {
        if route(&app, text).await["decision"]["router"] == format!("learned-v{v1}") {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    panic!("the server did not switch to version {v1}");
}

#[tokio::test]
async fn without_enough_labelled_inquiries_a_trained_version_waits_inactive() {
    let app = spawn_app().await;
    let (status, body) = app
        .post_json("/api/v1/admin/models/train", &json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["active"].as_bool(), body["labelled_examples"].as_i64()),
        (Some(false), Some(0))
    );
    let decided = route(&app, "Wann wird der Sperrmüll abgeholt?").await;
    assert_eq!(decided["decision"]["router"], "catalogue-similarity-v2");
    let version = body["version"].as_i64().unwrap();
    let (status, _) = app
        .post_json(
            &format!("/api/v1/admin/models/{version}/activate"),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let decided = route(&app, "Wann wird der Sperrmüll abgeholt?").await;
    assert_eq!(decided["decision"]["router"], format!("learned-v{version}"));
}

#[tokio::test]
async fn admins_evaluate_uploaded_labelled_rows_without_touching_the_active_version() {
    let app = learning_app().await;
    let themes = [
        (
            "licht",
            [
                "Die Straßenlaterne vor Hausnummer 4 ist seit Tagen dunkel",
                "Laterne defekt, der Weg ist nachts stockfinster",
                "Straßenbeleuchtung in der Bahnhofstraße ausgefallen",
                "Lampe am Fußweg flackert ständig",
                "Die Beleuchtung im Park geht nicht mehr an",
                "Laterne Nr. 12 brennt nicht",
            ],
        ),
        (
            "muell",
            [
                "Jemand hat Sperrmüll am Waldrand abgeladen",
                "Illegal entsorgte Autoreifen neben dem Parkplatz",
                "Müllsäcke liegen seit einer Woche an der Bushaltestelle",
                "Wilde Müllkippe hinter dem Sportplatz",
                "Bauschutt wurde am Feldweg abgekippt",
                "Alte Matratzen und Müll im Gebüsch",
            ],
        ),
        (
            "hund",
            [
                "Wie hoch ist die Hundesteuer für einen zweiten Hund?",
                "Ich möchte meinen Hund zur Hundesteuer anmelden",
                "Abmeldung der Hundesteuer, unser Hund ist verstorben",
                "Brauche ich eine neue Hundesteuermarke?",
                "Hundesteuerbescheid ist falsch berechnet",
                "Hund aus dem Tierheim anmelden, was kostet die Steuer",
            ],
        ),
    ];
    let mut train = Vec::new();
    let mut test = Vec::new();
    for (label, texts) in &themes {
        for (i, text) in texts.iter().enumerate() {
            let row = json!({"text": text, "label": label});
            if i < 4 {
                train.push(row)
            } else {
                test.push(row)
            }
        }
    }
    train.push(json!({"text": "Ohne Zuordnung", "label": ""}));
    test.push(json!({"text": "Auch ohne"}));
    let (_, before) = app.get("/api/v1/admin/models").await;

    let (status, r) = app
        .post_json(
            "/api/v1/admin/evaluations",
            &json!({"train": train, "test": test}),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["n_train"], 12);
    assert_eq!(r["n_test"], 6);
    assert_eq!(
        (r["skipped_train"].as_u64(), r["skipped_test"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(r["classes"], 3);
    // Three clearly different topics: the real model separates them.
    assert!(r["accuracy"].as_f64().unwrap() >= 5.0 / 6.0, "{r}");
    assert_eval_figures(&r);
    assert!(r["cross_validation"]["accuracy"].is_number(), "{r}");
    assert_eq!(r["per_class"].as_array().unwrap().len(), 3);
    let (_, after) = app.get("/api/v1/admin/models").await;
    assert_eq!(before, after, "an evaluation stores no version");

    let (status, e) = app
        .post_json(
            "/api/v1/admin/evaluations",
            &json!({"train": [], "test": test}),
        )
        .await;
    assert_eq!(status, 422, "{e}");
    assert_eq!(e["code"], "invalid_field");
    let (status, e) = app
        .post_json(
            "/api/v1/admin/evaluations",
            &json!({"train": train, "tests": test}),
        )
        .await;
    assert!(status == 400 || status == 422, "{status} {e}");
}

#[tokio::test]
async fn evaluation_uploads_have_their_own_body_limit() {
    let app = spawn_app_with(|c| {
        c.server.max_body_bytes = 1_000;
        c.server.max_upload_bytes = 4_000;
    })
    .await;
    let rows = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| json!({"text": format!("Laterne {i} ist dunkel"), "label": "licht"}))
            .collect()
    };
    // Above the general limit but within the upload limit: the body is read (the engine
    // is not started, so the answer is 503, not 413).
    let (status, e) = app
        .post_json(
            "/api/v1/admin/evaluations",
            &json!({"train": rows(40), "test": rows(1)}),
        )
        .await;
    assert_eq!(status, 503, "{e}");
    let (status, e) = app
        .post_json(
            "/api/v1/admin/evaluations",
            &json!({"train": rows(200), "test": rows(1)}),
        )
        .await;
    assert_eq!(status, 413, "{e}");
    assert!(e["message"].as_str().unwrap().contains("4000 bytes"), "{e}");
    // Other endpoints keep the general limit.
    let (status, e) = app.post_inquiry(&json!({"text": "x".repeat(2_000)})).await;
    assert_eq!(status, 413, "{e}");
    assert!(e["message"].as_str().unwrap().contains("1000 bytes"), "{e}");
}

/// A version that would route many recent inquiries differently does not activate itself:
/// it waits for an admin, who sees the share; an admin activates it. Old versions beyond
/// `triage.keep_versions` are deleted, never the active one or its rollback target.
#[tokio::test]
async fn a_version_that_changes_many_routes_waits_for_an_admin_and_old_versions_go() {
    let app = spawn_app_with(|c| {
        c.triage.min_labelled_examples = 0;
        c.triage.keep_versions = 1;
    })
    .await;
    app.start_engine().await;
    let train = async || {
        let (status, body) = app
            .post_json("/api/v1/admin/models/train", &json!({}))
            .await;
        assert_eq!(status, 200, "{body}");
        body
    };
    let v1 = train().await;
    assert_eq!(v1["active"], true, "{v1}");
    // 25 street-lamp reports the office decided as day-care places: any model trained on
    // the catalogue routes them elsewhere.
    for _ in 0..25 {
        let case = crate::access::case_with(
            &app,
            Some(crate::access::decision("kita-platz", "jugendamt", &[])),
        )
        .await;
        let inquiry = app.stored(&case).await;
        app.state
            .store
            .set_redacted_text(inquiry.id, "Die Laterne ist kaputt")
            .await
            .unwrap();
    }
    let v2 = train().await;
    assert_eq!(v2["active"], false, "{v2}");
    assert_eq!(v2["held"]["compared"], 25, "{v2}");
    assert!(v2["held"]["share"].as_f64().unwrap() > 0.9, "{v2}");
    let active = app.state.store.active_model_version().await.unwrap();
    assert_eq!(active, v1["version"].as_i64());
    let (status, _) = app
        .post_json(
            &format!("/api/v1/admin/models/{}/activate", v2["version"]),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200);

    // Two more held versions: v1 (the rollback target of the active v2) stays, v3 goes.
    let v3 = train().await;
    let v4 = train().await;
    assert_eq!(v4["active"], false, "{v4}");
    let kept: Vec<i64> = app
        .state
        .store
        .model_versions()
        .await
        .unwrap()
        .iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(
        kept,
        vec![1, 2, v4["version"].as_i64().unwrap()],
        "active v2, its previous v1 and the newest; v3 ({}) deleted",
        v3["version"]
    );
}

#[tokio::test]
async fn a_service_the_catalogue_keeps_from_auto_routing_always_goes_to_a_clerk() {
    // The catalogue's own example of the service: the untrained scorer routes it at once.
    let text = "Die Straßenlaterne vor dem Haus Birkenweg 4 ist seit einer Woche aus, abends ist es stockdunkel.";
    let app = spawn_app().await;
    let first = route(&app, text).await;
    assert_eq!(first["decision"]["status"], "routed", "{first}");
    assert_eq!(service(&first), "strassenbeleuchtung-defekt");

    // The same catalogue with auto-routing switched off for that service.
    let catalogue = std::fs::read_to_string(repo().join("config/catalogue.toml")).unwrap();
    let line = "id = \"strassenbeleuchtung-defekt\"\n";
    assert_eq!(catalogue.matches(line).count(), 1);
    let edited = catalogue.replacen(line, &format!("{line}auto_route = false\n"), 1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalogue.toml");
    std::fs::write(&path, edited).unwrap();
    let app = spawn_app_with(|c| c.catalogue.path = path.clone()).await;
    app.start_engine().await;
    let second = route(&app, text).await;
    assert_eq!(second["decision"]["status"], "review", "{second}");
    assert_eq!(service(&second), "strassenbeleuchtung-defekt");
    let reason = second["decision"]["reason"].as_str().unwrap();
    assert!(reason.contains("auto_route = false"), "{reason}");
    // Other services still route on their own.
    let other = route(
        &app,
        "Sperrmüll abholen lassen: ein altes Sofa und zwei Schränke",
    )
    .await;
    assert_ne!(service(&other), "strassenbeleuchtung-defekt");
}
