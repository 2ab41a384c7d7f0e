//! Posting inquiries and reading them back: routing, evidence, persistence, readiness.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{spawn_app, spawn_app_without_engine};

fn is_case_number(v: &Value) -> bool {
    let s = v.as_str().unwrap_or("");
    s.len() == 11
        && s.as_bytes()[4] == b'-'
        && s.bytes()
            .enumerate()
            .all(|(i, b)| i == 4 || b.is_ascii_digit())
}

#[tokio::test]
async fn street_lamp_report_reaches_street_lighting_with_evidence_and_is_stored() {
    let app = spawn_app().await;
    let text = "Die Straßenlaterne vor Hausnummer 7 ist seit Tagen kaputt";
    let (status, receipt) = app
        .post_inquiry(&json!({"text": text, "sender": "b@example.org"}))
        .await;
    assert_eq!(status, 201, "{receipt}");
    assert!(is_case_number(&receipt["case_number"]), "{receipt}");
    assert_eq!(receipt["department"]["id"], "tiefbau");
    for internal in ["decision", "text", "sender"] {
        assert!(receipt.get(internal).is_none(), "{internal} in {receipt}");
    }
    let case = receipt["case_number"].as_str().unwrap();
    let (status, body) = app.get(&format!("/api/v1/inquiries/{case}")).await;
    assert_eq!(status, 200);
    let d = &body["decision"];
    assert_eq!(d["department"]["id"], "tiefbau");
    assert_eq!(d["service"]["id"], "strassenbeleuchtung-defekt");
    assert!(["routed", "review"].contains(&d["status"].as_str().unwrap()));
    assert_eq!(body["status"], d["status"]);
    assert_eq!(receipt["status"], d["status"]);

    let candidates = d["candidates"].as_array().unwrap();
    assert!((1..=5).contains(&candidates.len()));
    assert_eq!(candidates[0]["service_id"], "strassenbeleuchtung-defekt");
    let scores: Vec<f64> = candidates
        .iter()
        .map(|c| c["score"].as_f64().unwrap())
        .collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "candidates sorted: {scores:?}"
    );
    let evidence = d["evidence"].as_array().unwrap();
    assert!(
        evidence
            .iter()
            .any(|e| e["service_id"] == "strassenbeleuchtung-defekt"
                && e["similarity"].as_f64().unwrap() > 0.8),
        "evidence from the chosen service: {evidence:?}"
    );

    assert_eq!(body["text"], text);
    assert_eq!(body["sender"], "b@example.org");
    assert_eq!(body["channel"], "api");
}

/// Citizens write in German, German without umlauts, English, Ukrainian and Turkish; every
/// one of these must reach the department responsible in the demo catalogue.
const MULTILINGUAL: &[(&str, &str)] = &[
    (
        "tiefbau",
        "Die Straßenlaterne vor meinem Haus ist seit einer Woche aus",
    ),
    (
        "tiefbau",
        "Die Strassenlaterne vor meinem Haus ist seit einer Woche aus",
    ),
    (
        "tiefbau",
        "In der Bahnhofstrasse ist ein riesiges Schlagloch, mein Reifen ist kaputt",
    ),
    (
        "tiefbau",
        "Der Gully vor Hausnummer 12 ist verstopft und bei Regen steht alles unter Wasser",
    ),
    (
        "zulassungsstelle",
        "Ich moechte mein Auto ummelden, ich bin umgezogen",
    ),
    (
        "zulassungsstelle",
        "I want to register my car, I just moved here from Poland",
    ),
    (
        "buergerbuero",
        "Mein Personalausweis ist abgelaufen, wie beantrage ich einen neuen?",
    ),
    (
        "buergerbuero",
        "My ID card has expired, how do I apply for a new one?",
    ),
    (
        "buergerbuero",
        "Kimlik kartımın süresi doldu, yenisini nasıl başvurabilirim?",
    ),
    (
        "buergerbuero",
        "Термін дії мого посвідчення особи закінчився, як подати заяву на нове?",
    ),
    (
        "buergerbuero",
        "Koennen Sie mir bitte eine Meldebescheinigung zuschicken?",
    ),
    (
        "auslaenderbehoerde",
        "My residence permit expires next month, how do I renew it?",
    ),
    (
        "auslaenderbehoerde",
        "Я з України, мені потрібен дозвіл на проживання в Німеччині",
    ),
    (
        "auslaenderbehoerde",
        "Oturma iznimin süresi doluyor, nasıl uzatabilirim?",
    ),
    ("jugendamt", "Çocuğum için kreşte yer arıyorum"),
    (
        "jugendamt",
        "We are looking for a daycare place for our two-year-old daughter",
    ),
    ("jugendamt", "Шукаю місце в дитячому садку для моєї доньки"),
    (
        "abfallwirtschaft",
        "Im Wald hat jemand alte Reifen abgeladen",
    ),
    (
        "abfallwirtschaft",
        "Unsere Muelltonne wurde diese Woche nicht geleert",
    ),
    (
        "veterinaeramt",
        "Mein Nachbar hält Hühner und es stinkt fürchterlich, darf der das?",
    ),
    ("kreiskasse", "Wer ist für die Hundesteuer zuständig?"),
    (
        "wohngeldstelle",
        "Kira yardımı (Wohngeld) için nereye başvurmalıyım?",
    ),
    (
        "strassenverkehr",
        "I have a foreign driving licence and want to exchange it for a German one",
    ),
    (
        "ordnungsamt",
        "Die Nachbarn machen jede Nacht laute Partys bis 3 Uhr",
    ),
    (
        "umweltamt",
        "Im Bach treibt ein Ölfilm, es riecht nach Diesel",
    ),
];

#[tokio::test]
async fn multilingual_inquiries_reach_the_responsible_department() {
    let app = spawn_app().await;
    let mut wrong = Vec::new();
    for (department, text) in MULTILINGUAL {
        let (status, body) = app.post_inquiry(&json!({"text": text})).await;
        assert_eq!(status, 201, "{body}");
        let got = body["department"]["id"].as_str().unwrap().to_string();
        if got != *department {
            wrong.push(format!("{text:?}: expected {department}, got {got}"));
        }
    }
    assert!(wrong.is_empty(), "misrouted:\n{}", wrong.join("\n"));
}

#[tokio::test]
async fn inquiry_accepted_while_the_model_loads_is_decided_once_ready() {
    let app = spawn_app_without_engine().await;
    let (status, body) = app.get("/readyz").await;
    assert_eq!((status, body["code"].as_str()), (503, Some("not_ready")));
    assert_eq!(app.get("/healthz").await, (200, json!({"status": "ok"})));

    let (status, body) = app
        .post_inquiry(&json!({"text": "Wann wird der Sperrmüll abgeholt?"}))
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["status"], "received");
    assert!(body["department"].is_null());
    let case = body["case_number"].as_str().unwrap().to_string();

    app.start_engine().await;
    for _ in 0..300 {
        let (_, stored) = app.get(&format!("/api/v1/inquiries/{case}")).await;
        if stored["status"] != "received" {
            assert_eq!(stored["decision"]["department"]["id"], "abfallwirtschaft");
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("waiting inquiry {case} was never decided");
}
