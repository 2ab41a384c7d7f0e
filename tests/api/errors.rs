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

/// Every extractor's rejection answers in the JSON contract, not axum's plain text.
#[tokio::test]
async fn malformed_paths_queries_and_bodies_answer_in_the_json_contract() {
    let app = spawn_app_without_engine().await;
    for (method, path, body, status, code) in [
        ("GET", "/api/v1/admin/models/abc", None, 404, "not_found"),
        (
            "POST",
            "/api/v1/admin/models/abc/activate",
            None,
            404,
            "not_found",
        ),
        (
            "GET",
            "/api/v1/admin/jobs?bogus=1",
            None,
            422,
            "invalid_field",
        ),
        (
            "GET",
            "/api/v1/admin/jobs?limit=many",
            None,
            422,
            "invalid_field",
        ),
        (
            "GET",
            "/api/v1/admin/jobs?state=lost",
            None,
            422,
            "invalid_field",
        ),
        (
            "POST",
            "/api/v1/inquiries",
            Some("[1, 2]"),
            422,
            "invalid_field",
        ),
        (
            "POST",
            "/api/v1/inquiries",
            Some("\"text\""),
            422,
            "invalid_field",
        ),
        (
            "POST",
            "/api/v1/inquiries/2026-000001/reply",
            Some("{}"),
            422,
            "invalid_field",
        ),
    ] {
        let mut req = app
            .client
            .request(method.parse().unwrap(), format!("{}{path}", app.base));
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body);
        }
        let r = req.send().await.unwrap();
        let got = r.status().as_u16();
        let text = r.text().await.unwrap();
        let err: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: not JSON: {text}"));
        assert_eq!(
            (got, err["code"].as_str()),
            (status, Some(code)),
            "{method} {path}: {err}"
        );
        assert!(!err["message"].as_str().unwrap().is_empty(), "{path}");
    }
}

#[tokio::test]
async fn readiness_before_the_model_is_loaded_says_when_to_come_back() {
    let app = spawn_app_without_engine().await;
    let r = app
        .client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    assert_eq!(r.headers()["retry-after"], "5");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "not_ready");
}

/// With every permit taken, one more API request is refused at once with 429 and
/// `Retry-After`, instead of queuing; health checks still answer.
#[tokio::test]
async fn requests_beyond_the_concurrency_limit_are_429_with_retry_after() {
    use tokio::io::AsyncWriteExt;

    let app = crate::helpers::spawn_app_with(|c| c.server.max_concurrent_requests = 1).await;
    let probe = || async {
        let r = app
            .client
            .get(format!("{}/api/v1/inquiries/2026-999999", app.base))
            .send()
            .await
            .unwrap();
        let retry = r.headers().get("retry-after").cloned();
        let status = r.status().as_u16();
        let body: serde_json::Value = r.json().await.unwrap();
        (status, retry, body)
    };
    assert_eq!(probe().await.0, 404, "a free permit serves the request");

    // A request whose body never finishes holds the only permit.
    let addr = app.base.trim_start_matches("http://");
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(
        b"POST /api/v1/inquiries HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n\
          content-length: 100\r\n\r\n{\"te",
    )
    .await
    .unwrap();
    let refused = wait_for_status(&probe, 429).await;
    assert_eq!(refused.1.unwrap(), "1");
    assert_eq!(refused.2["code"], "overloaded");
    assert_eq!(app.get("/healthz").await.0, 200);

    drop(slow);
    wait_for_status(&probe, 404).await;
}

/// Probes until the status is `want` (the server takes a moment to see a connection come
/// or go), at most five seconds.
async fn wait_for_status<F, Fut>(
    probe: &F,
    want: u16,
) -> (u16, Option<reqwest::header::HeaderValue>, serde_json::Value)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = (u16, Option<reqwest::header::HeaderValue>, serde_json::Value)>,
{
    for _ in 0..100 {
        let got = probe().await;
        if got.0 == want {
            return got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("status {want} not reached within 5 s");
}
