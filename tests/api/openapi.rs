//! The OpenAPI document at `/api/openapi.json` (public) covers every JSON route of the
//! router — `/api/…` and Open311's JSON documents — with its method, path parameters,
//! request schema, success schema, the error codes it answers and its audience. The test
//! walks the route table, so a route added without its description fails here.

use axum::http::Method;
use serde_json::Value;

use crate::helpers::spawn_app_without_engine;

/// Routes that change something without a request body.
const BODILESS: &[(&str, &str)] = &[
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/admin/jobs/{id}/retry"),
    ("POST", "/api/v1/admin/models/train"),
    ("POST", "/api/v1/admin/models/rollback"),
    ("POST", "/api/v1/admin/models/{version}/activate"),
];

fn schema_of(content: &Value) -> Option<&Value> {
    content
        .as_object()?
        .values()
        .find_map(|media| media.get("schema"))
}

#[tokio::test]
async fn every_json_route_is_documented_with_its_schemas_and_error_codes() {
    let app = spawn_app_without_engine().await;
    let r = app
        .anonymous
        .get(format!("{}/api/openapi.json", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "public");
    let doc: Value = r.json().await.unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    assert!(doc["components"]["schemas"]["Error"]["properties"]["code"].is_object());

    let mut problems = Vec::new();
    let mut checked = 0;
    for route in anliegen::web::route_table(&app.state.config) {
        if !anliegen::web::openapi::is_json(route.path) {
            continue;
        }
        checked += 1;
        let name = format!("{} {}", route.method, route.path);
        let path = route.path.replace("{file}", "{id}.json");
        let op = &doc["paths"][&path][route.method.as_str().to_lowercase()];
        if !op.is_object() {
            problems.push(format!("{name}: not in the document"));
            continue;
        }
        let responses = op["responses"].as_object().cloned().unwrap_or_default();
        let success = responses.iter().find(|(s, _)| s.starts_with('2'));
        match success {
            None => problems.push(format!("{name}: no success response")),
            Some((status, r)) if status != "204" && schema_of(&r["content"]).is_none() => {
                problems.push(format!("{name}: success {status} without a schema"))
            }
            Some(_) => {}
        }
        let errors: Vec<(&String, &Value)> = responses
            .iter()
            .filter(|(s, _)| s.starts_with('4') || s.starts_with('5'))
            .collect();
        if errors.is_empty() {
            problems.push(format!("{name}: no error responses"));
        }
        for (status, r) in &errors {
            let codes = r["x-error-codes"].as_array().map_or(0, Vec::len);
            if codes == 0 || schema_of(&r["content"]).is_none() {
                problems.push(format!("{name}: error {status} without codes or schema"));
            }
        }
        let codes: Vec<&str> = errors
            .iter()
            .flat_map(|(_, r)| r["x-error-codes"].as_array().into_iter().flatten())
            .filter_map(Value::as_str)
            .collect();
        let audience = format!("{:?}", route.audience);
        let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
        match audience.as_str() {
            "Public" if secured => problems.push(format!("{name}: public, yet secured")),
            "Staff" | "Admin" if !secured || !codes.contains(&"unauthorized") => {
                problems.push(format!("{name}: staff route without its security and 401"))
            }
            _ => {}
        }
        if audience == "Admin" && !codes.contains(&"forbidden") {
            problems.push(format!("{name}: admin route without 403 forbidden"));
        }
        let mutating = [Method::POST, Method::PUT, Method::PATCH].contains(&route.method);
        let bodiless = BODILESS.contains(&(route.method.as_str(), route.path));
        let body = schema_of(&op["requestBody"]["content"]);
        if mutating && !bodiless && body.is_none() {
            problems.push(format!("{name}: no request schema"));
        }
        if body.is_some() && !codes.contains(&"invalid_field") {
            problems.push(format!("{name}: takes a body but lists no invalid_field"));
        }
        for param in route
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        {
            let param = if param == "file" { "id" } else { param };
            let declared = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["name"] == param && p["in"] == "path");
            if !declared {
                problems.push(format!("{name}: path parameter {param} undeclared"));
            }
        }
    }
    assert!(checked >= 35, "the JSON routes were found: {checked}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The intake's own codes, with the statuses of the error contract.
    let intake = &doc["paths"]["/api/v1/inquiries"]["post"]["responses"];
    assert!(
        intake["422"]["x-error-codes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "empty_text")
    );
    assert!(
        intake["503"]["x-error-codes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "backlog_full")
    );
    assert!(
        intake["429"]["x-error-codes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "rate_limited")
    );
}
