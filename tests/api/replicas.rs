//! Two `serve` replicas on one PostgreSQL database and one real Qdrant server, as the
//! README's "Scaling out" runs them: they share the catalogue collection, route the same
//! inquiry alike, and a model version trained on one is activated and used by the other.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with};

async fn replica(database: &str, qdrant: &str, prefix: &str) -> TestApp {
    let (database, qdrant, prefix) = (database.to_string(), qdrant.to_string(), prefix.to_string());
    let app = spawn_app_with(move |c| {
        c.database.url = database.into();
        c.index.backend = anliegen::config::IndexBackend::Qdrant;
        c.index.qdrant_url = qdrant;
        c.index.collection_prefix = prefix;
    })
    .await;
    app.start_engine().await;
    app
}

fn route_of(stored: &Value) -> (Value, Value, Value, Value) {
    let d = &stored["decision"];
    (
        d["service"]["id"].clone(),
        d["department"]["id"].clone(),
        d["router"].clone(),
        d["candidates"].clone(),
    )
}

#[tokio::test]
async fn two_replicas_share_postgres_and_qdrant_and_route_alike() {
    let Some(qdrant) = crate::qdrant::url() else {
        return;
    };
    let database = crate::pg::database().await;
    let prefix = format!("replicas_{}_", std::process::id());
    let a = replica(&database, &qdrant, &prefix).await;
    let b = replica(&database, &qdrant, &prefix).await;

    let text = "Die Straßenlaterne vor unserem Haus ist seit einer Woche kaputt, nachts ist es stockdunkel.";
    let on_a = a.route_inquiry(&json!({"text": text})).await;
    let on_b = b.route_inquiry(&json!({"text": text})).await;
    assert_eq!(route_of(&on_a), route_of(&on_b), "{on_a}\n{on_b}");
    // One case-number sequence for both.
    assert_ne!(on_a["case_number"], on_b["case_number"]);
    let case = on_a["case_number"].as_str().unwrap();
    let (status, seen) = b.get(&format!("/api/v1/inquiries/{case}")).await;
    assert_eq!(status, 200, "{seen}");

    // A version trained on A is in the shared database: both activate it and route with it.
    let (status, trained) = a.post_json("/api/v1/admin/models/train", &json!({})).await;
    assert_eq!(status, 200, "{trained}");
    let version = trained["version"].as_i64().unwrap();
    for replica in [&a, &b] {
        let (status, activated) = replica
            .post_json(
                &format!("/api/v1/admin/models/{version}/activate"),
                &json!({}),
            )
            .await;
        assert_eq!(status, 200, "{activated}");
    }
    let router = format!("learned-v{version}");
    let on_a = a.route_inquiry(&json!({"text": text})).await;
    let on_b = b.route_inquiry(&json!({"text": text})).await;
    assert_eq!(on_b["decision"]["router"], router.as_str(), "{on_b}");
    assert_eq!(route_of(&on_a), route_of(&on_b), "{on_a}\n{on_b}");
}
