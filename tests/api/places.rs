//! The place an inquiry is about: taken by the intake API beside the text, shown to staff,
//! stored on both backends like the sender — exported and erased with the case, cleared by
//! anonymisation.

use serde_json::json;

use anliegen::{
    domain::{Channel, Location},
    store::{NewInquiry, Store},
};

use crate::{
    audit::{backdate, decide, retain},
    helpers::spawn_app_without_engine,
    store::{on_both_backends, raw},
};

#[tokio::test]
async fn the_intake_api_keeps_the_place_beside_the_text() {
    let app = spawn_app_without_engine().await;
    let (status, receipt) = app
        .post_inquiry(&json!({
            "text": "Der Gehweg ist aufgerissen",
            "location": {"lat": 47.6603, "lon": 9.1758, "address": " Marktstätte 1, 78462 Konstanz "}
        }))
        .await;
    assert_eq!(status, 202, "{receipt}");
    assert!(
        receipt.get("location").is_none(),
        "the receipt repeats nothing"
    );
    let case = receipt["case_number"].as_str().unwrap();
    let (status, body) = app.get(&format!("/api/v1/inquiries/{case}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["location"],
        json!({"lat": 47.6603, "lon": 9.1758, "address": "Marktstätte 1, 78462 Konstanz"})
    );
    assert_eq!(
        body["text"], "Der Gehweg ist aufgerissen",
        "never inside the text"
    );

    let (_, receipt) = app
        .post_inquiry(&json!({"text": "Ampel aus", "location": {"address": "Laube / Bodanstraße"}}))
        .await;
    let case = receipt["case_number"].as_str().unwrap();
    let (_, body) = app.get(&format!("/api/v1/inquiries/{case}")).await;
    assert_eq!(body["location"], json!({"address": "Laube / Bodanstraße"}));

    let (_, receipt) = app.post_inquiry(&json!({"text": "ohne Ort"})).await;
    let case = receipt["case_number"].as_str().unwrap();
    let (_, body) = app.get(&format!("/api/v1/inquiries/{case}")).await;
    assert_eq!(body["location"], json!(null));
}

#[tokio::test]
async fn a_bad_place_is_refused_with_the_reason() {
    let app = spawn_app_without_engine().await;
    for (location, says) in [
        (json!({"lat": 47.66}), "lat and lon"),
        (json!({"lat": 95.0, "lon": 9.1}), "lat must be"),
        (json!({"lat": 47.6, "lon": -181}), "lon must be"),
        (json!({"lat": "47.6", "lon": 9.1}), ""),
        (json!({"address": "Weg 1\r\nX"}), "control character"),
        (json!({"latitude": 47.6}), "unknown field"),
        (json!([47.6, 9.1]), ""),
    ] {
        let (status, body) = app
            .post_inquiry(&json!({"text": "Laterne kaputt", "location": location}))
            .await;
        assert_eq!(status, 422, "{location}: {body}");
        assert_eq!(body["code"], "invalid_field", "{body}");
        assert!(body["message"].as_str().unwrap().contains(says), "{body}");
    }
    let (status, body) = app.get("/api/v1/inquiries").await;
    assert_eq!(status, 200);
    assert_eq!(
        body["inquiries"].as_array().map(Vec::len),
        Some(0),
        "{body}"
    );
}

on_both_backends!(a_place_is_stored_exported_erased_and_anonymised_like_the_sender);

async fn a_place_is_stored_exported_erased_and_anonymised_like_the_sender(
    store: Store,
    url: String,
) {
    let place = |address: &str| {
        Some(Location {
            lat: Some(47.6781),
            lon: Some(9.1734),
            address: Some(address.to_string()),
        })
    };
    let new = |sender: &str, address: &str| NewInquiry {
        channel: Channel::Api,
        sender: Some(sender.into()),
        text: "Bank im Park beschädigt".into(),
        location: place(address),
    };
    let exported = store
        .insert_inquiry(new("erika@example.org", "Seestraße 3"))
        .await
        .unwrap();
    let read = store.inquiry(&exported.case_number).await.unwrap().unwrap();
    assert_eq!(read.location, place("Seestraße 3"));

    let export = store.export_subject("erika@example.org").await.unwrap();
    let row = &export["tables"]["inquiries"][0];
    assert_eq!(row["location_address"], "Seestraße 3", "{export}");
    assert_eq!(row["location_lat"].as_f64(), Some(47.6781), "{export}");

    store.erase_subject("erika@example.org").await.unwrap();
    assert!(
        store
            .inquiry(&exported.case_number)
            .await
            .unwrap()
            .is_none()
    );
    let left: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM inquiries WHERE location_address IS NOT NULL OR location_lat IS NOT NULL",
    )
    .fetch_one(&raw(&url).await)
    .await
    .unwrap();
    assert_eq!(left, 0);

    let old = store
        .insert_inquiry(new("max@example.org", "Hafenstraße 9"))
        .await
        .unwrap();
    decide(&store, &old).await;
    backdate(&url, old.id, 200).await;
    let report = retain(&store).await;
    assert_eq!(report.anonymised.cases, vec![old.case_number]);
    let anonymised = store.inquiry(&old.case_number).await.unwrap().unwrap();
    assert_eq!(anonymised.location, None);
}
