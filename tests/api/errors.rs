//! Bad requests get a clear JSON error with the right status, and none of them stores
//! anything or uses up a case number.

use serde_json::json;

use crate::helpers::spawn_app_without_engine;

/// What is wrong, content type, body, expected status and error code.
type BadRequest = (
    &'static str,
    Option<&'static str>,
    Vec<u8>,
    u16,
    &'static str,
);

#[tokio::test]
async fn invalid_requests_are_refused_with_code_and_status_and_store_nothing() {
    let app = spawn_app_without_engine().await;
    let long_text = "Laterne ".repeat(3000);
    let cases: Vec<BadRequest> = vec![
        (
            "empty text",
            Some("application/json"),
            br#"{"text": ""}"#.to_vec(),
            422,
            "empty_text",
        ),
        (
            "blank text",
            Some("application/json"),
            br#"{"text": " \n\t "}"#.to_vec(),
            422,
            "empty_text",
        ),
        (
            "missing text",
            Some("application/json"),
            br#"{"sender": "a@b.de"}"#.to_vec(),
            422,
            "invalid_field",
        ),
        (
            "text not a string",
            Some("application/json"),
            br#"{"text": 42}"#.to_vec(),
            422,
            "invalid_field",
        ),
        (
            "unknown field",
            Some("application/json"),
            br#"{"text": "x", "txt": "y"}"#.to_vec(),
            422,
            "invalid_field",
        ),
        (
            "unknown channel",
            Some("application/json"),
            br#"{"text": "x", "channel": "fax"}"#.to_vec(),
            422,
            "invalid_field",
        ),
        (
            "broken JSON",
            Some("application/json"),
            br#"{"text": "#.to_vec(),
            400,
            "invalid_json",
        ),
        (
            "not JSON at all",
            Some("application/json"),
            b"<html>".to_vec(),
            400,
            "invalid_json",
        ),
        (
            "no content type",
            None,
            br#"{"text": "x"}"#.to_vec(),
            415,
            "unsupported_media_type",
        ),
        (
            "form encoded",
            Some("application/x-www-form-urlencoded"),
            b"text=x".to_vec(),
            415,
            "unsupported_media_type",
        ),
        (
            "text too long",
            Some("application/json"),
            serde_json::to_vec(&json!({"text": long_text})).unwrap(),
            413,
            "text_too_long",
        ),
        (
            "body too large",
            Some("application/json"),
            serde_json::to_vec(&json!({"text": "x".repeat(300_000)})).unwrap(),
            413,
            "body_too_large",
        ),
    ];
    for (what, content_type, body, status, code) in cases {
        let (got, err) = app.post_raw(content_type, body).await;
        assert_eq!(
            (got, err["code"].as_str()),
            (status, Some(code)),
            "{what}: {err}"
        );
        assert!(
            !err["message"].as_str().unwrap().is_empty(),
            "{what}: message"
        );
    }

    let (status, body) = app.post_inquiry(&json!({"text": "Laterne kaputt"})).await;
    assert_eq!(status, 202);
    assert!(
        body["case_number"].as_str().unwrap().ends_with("-000001"),
        "rejected requests used no case number: {body}"
    );
}

#[tokio::test]
async fn lookups_of_unknown_things_are_404_json() {
    let app = spawn_app_without_engine().await;
    for path in [
        "/api/v1/inquiries/2026-999999",
        "/api/v1/inquiries/not-a-case",
        "/api/v2/nothing",
    ] {
        let (status, body) = app.get(path).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("not_found")),
            "{path}: {body}"
        );
    }
    let r = app
        .client
        .delete(format!("{}/api/v1/inquiries", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "method_not_allowed");
}

#[tokio::test]
async fn hostile_text_is_stored_verbatim_and_returned_as_json_data() {
    let app = spawn_app_without_engine().await;
    let text = "<script>alert(1)</script> \"quoted\" ' ; DROP TABLE inquiries; -- 😡";
    let (status, body) = app.post_inquiry(&json!({"text": text})).await;
    assert_eq!(status, 202);
    let (_, stored) = app
        .get(&format!(
            "/api/v1/inquiries/{}",
            body["case_number"].as_str().unwrap()
        ))
        .await;
    assert_eq!(stored["text"], text);
}
