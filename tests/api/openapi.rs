//! The OpenAPI document at `/api/openapi.json` (public) covers every JSON route of the
//! router — `/api/…` and Open311's JSON documents — with its method, path parameters,
//! request schema, success schema, the error codes it answers and its audience. The test
//! walks the route table, so a route added without its description fails here. Real
//! answers of a running server — an inquiry created, read, reviewed and answered, the
//! catalogue as Open311 services, the model versions, errors — are checked against the
//! document's schemas, so a field the API sends but the document lacks (or the other way
//! round) fails too.

use axum::http::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_without_engine};

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
    // In depth: no object without its properties (except where the keys are free, which
    // says `additionalProperties`), and one error schema with every stable code.
    for (path, item) in doc["paths"].as_object().unwrap() {
        if path == "/api/openapi.json" {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            let mut schemas: Vec<&Value> = op["responses"]
                .as_object()
                .unwrap()
                .values()
                .filter_map(|r| schema_of(&r["content"]))
                .collect();
            schemas.extend(schema_of(&op["requestBody"]["content"]));
            for schema in schemas {
                shallow_objects(&doc, schema, &mut Vec::new(), &mut |at| {
                    problems.push(format!(
                        "{method} {path}: an object without properties at {at}"
                    ))
                });
            }
            for (status, r) in op["responses"].as_object().unwrap() {
                let error_ref = if path.starts_with("/open311/") {
                    &r["content"]["application/json"]["schema"]["items"]["$ref"]
                } else {
                    &r["content"]["application/json"]["schema"]["$ref"]
                };
                let expected = if path.starts_with("/open311/") {
                    "#/components/schemas/ErrorEntry"
                } else {
                    "#/components/schemas/Error"
                };
                if !status.starts_with('2') && error_ref != expected {
                    problems.push(format!("{method} {path} {status}: not the error schema"));
                }
            }
        }
    }
    let codes = &doc["components"]["schemas"]["Error"]["properties"]["code"]["enum"];
    for e in anliegen::web::ApiError::one_of_each() {
        assert!(
            codes.as_array().unwrap().iter().any(|c| c == e.code()),
            "{} is not in the Error schema's code enum",
            e.code()
        );
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

/// Calls `found` for every object schema reachable from `schema` (through references,
/// properties, items and combinators) that has neither `properties` nor
/// `additionalProperties`; `seen` holds the references already walked.
fn shallow_objects(
    doc: &Value,
    schema: &Value,
    seen: &mut Vec<String>,
    found: &mut dyn FnMut(String),
) {
    if let Some(r) = schema["$ref"].as_str() {
        if seen.iter().any(|s| s == r) {
            return;
        }
        seen.push(r.to_string());
        return shallow_objects(doc, resolve(doc, schema), seen, found);
    }
    let is_object = schema["type"] == "object"
        || schema["type"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t == "object"));
    if is_object
        && schema.get("properties").is_none()
        && schema.get("additionalProperties").is_none()
    {
        found(schema.to_string());
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        for member in schema[key].as_array().into_iter().flatten() {
            shallow_objects(doc, member, seen, found);
        }
    }
    for property in schema["properties"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.values())
    {
        shallow_objects(doc, property, seen, found);
    }
    if let Some(items) = schema.get("items") {
        shallow_objects(doc, items, seen, found);
    }
}

/// The schema `#/components/schemas/…` names.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("a local reference: {r}"));
            let target = &doc["components"]["schemas"][name];
            assert!(target.is_object(), "{r} is not in the document");
            resolve(doc, target)
        }
        None => schema,
    }
}

/// `allOf` as one object schema: the union of the members' properties and required names.
fn merged(doc: &Value, schema: &Value) -> Value {
    let schema = resolve(doc, schema);
    let Some(all) = schema["allOf"].as_array() else {
        return schema.clone();
    };
    let mut properties = serde_json::Map::new();
    let mut required = Vec::new();
    for member in all {
        let member = merged(doc, member);
        if let Some(p) = member["properties"].as_object() {
            properties.extend(p.clone());
        }
        required.extend(member["required"].as_array().cloned().unwrap_or_default());
    }
    json!({"type": "object", "properties": properties, "required": required})
}

fn type_matches(name: &str, value: &Value) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        other => panic!("unknown type {other}"),
    }
}

/// The ways `value` (at `at`) breaks `schema`: `type` (one or a list), `enum`, `oneOf`,
/// `anyOf`, `allOf`, `required`, `properties` and `items`. Stricter than JSON Schema in one
/// way: an object's properties are closed unless `additionalProperties` says otherwise,
/// so every field the API sends is documented.
fn violations(doc: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    let schema = &merged(doc, schema);
    let mut out = Vec::new();
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array() {
            let fits = options
                .iter()
                .filter(|o| violations(doc, o, value, at).is_empty())
                .count();
            if fits == 0 {
                let why: Vec<String> = options
                    .iter()
                    .flat_map(|o| violations(doc, o, value, at))
                    .collect();
                out.push(format!("{at}: fits none of {key}: {}", why.join("; ")));
            }
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() && !types.iter().any(|t| type_matches(t, value)) {
        out.push(format!("{at}: {value} is not {}", types.join(" or ")));
        return out;
    }
    if let Some(values) = schema["enum"].as_array()
        && !values.contains(value)
    {
        out.push(format!("{at}: {value} is not one of {}", schema["enum"]));
    }
    if let Some(object) = value.as_object() {
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap();
            if !object.contains_key(name) {
                out.push(format!("{at}: required {name} is missing"));
            }
        }
        if let Some(properties) = schema["properties"].as_object() {
            let open = matches!(&schema["additionalProperties"], Value::Bool(true))
                || schema["additionalProperties"].is_object();
            for (name, field) in object {
                match properties.get(name) {
                    Some(s) => out.extend(violations(doc, s, field, &format!("{at}.{name}"))),
                    None if !open => out.push(format!("{at}.{name}: not in the schema")),
                    None => {}
                }
            }
        }
    }
    if let (Some(items), Some(list)) = (schema.get("items"), value.as_array()) {
        for (i, item) in list.iter().enumerate() {
            out.extend(violations(doc, items, item, &format!("{at}[{i}]")));
        }
    }
    out
}

/// The response schema the document gives for `method path` answering `status`.
fn response_schema<'a>(doc: &'a Value, method: &str, path: &str, status: u16) -> &'a Value {
    let op = &doc["paths"][path][method.to_lowercase()];
    assert!(op.is_object(), "{method} {path} is not in the document");
    let schema = &op["responses"][status.to_string()]["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path}: no schema for status {status}"
    );
    schema
}

/// Checks real answers against the document, collecting what does not match.
struct Conformance {
    doc: Value,
    checked: Vec<String>,
    problems: Vec<String>,
}

impl Conformance {
    async fn new(app: &TestApp) -> Self {
        let (status, doc) = app.get("/api/openapi.json").await;
        assert_eq!(status, 200);
        Self {
            doc,
            checked: Vec::new(),
            problems: Vec::new(),
        }
    }

    fn check(&mut self, method: &str, path: &str, (status, body): &(u16, Value)) {
        let schema = response_schema(&self.doc, method, path, *status).clone();
        let name = format!("{method} {path} {status}");
        self.problems
            .extend(violations(&self.doc, &schema, body, &name));
        self.checked.push(name);
    }
}

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let r = request.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn real_answers_match_their_schemas() {
    let app = spawn_app().await;
    let mut c = Conformance::new(&app).await;
    let base = &app.base;

    // The intake, as a citizen (the receipt) and as staff (with decision and draft).
    let text = json!({"text": "Die Straßenlaterne vor Hausnummer 7 ist seit Tagen kaputt",
                      "location": {"lat": 50.94, "lon": 6.96, "address": "Domkloster 4, Köln"}});
    let citizen = app.post_inquiry(&text).await;
    assert_eq!(citizen.0, 201, "{}", citizen.1);
    c.check("POST", "/api/v1/inquiries", &citizen);
    let staff = send(
        app.client
            .post(format!("{base}/api/v1/inquiries"))
            .json(&text),
    )
    .await;
    assert_eq!(staff.0, 201, "{}", staff.1);
    assert!(staff.1["decision"].is_object(), "{}", staff.1);
    c.check("POST", "/api/v1/inquiries", &staff);
    let case = staff.1["case_number"].as_str().unwrap().to_string();

    let shown = app.get(&format!("/api/v1/inquiries/{case}")).await;
    assert_eq!(shown.0, 200);
    assert!(shown.1["reply"]["facts"].is_array(), "{}", shown.1);
    c.check("GET", "/api/v1/inquiries/{case}", &shown);
    c.check(
        "GET",
        "/api/v1/inquiries",
        &app.get("/api/v1/inquiries").await,
    );

    let reviewed = app
        .post_json(
            &format!("/api/v1/inquiries/{case}/review"),
            &json!({"action": "accept"}),
        )
        .await;
    assert_eq!(reviewed.0, 200, "{}", reviewed.1);
    c.check("POST", "/api/v1/inquiries/{case}/review", &reviewed);
    let replied = app
        .post_json(
            &format!("/api/v1/inquiries/{case}/reply"),
            &json!({"text": "Guten Tag,\n\nwir kümmern uns darum.\n\nFreundliche Grüße"}),
        )
        .await;
    assert_eq!(replied.0, 202, "{}", replied.1);
    c.check("POST", "/api/v1/inquiries/{case}/reply", &replied);
    let template = app
        .post_json(
            &format!("/api/v1/inquiries/{case}/reply/template"),
            &json!({"text": format!("Guten Tag,\n\nIhre Meldung {case} ist eingegangen."),
                    "language": "de"}),
        )
        .await;
    assert_eq!(template.0, 201, "{}", template.1);
    c.check("POST", "/api/v1/inquiries/{case}/reply/template", &template);
    let shown = app.get(&format!("/api/v1/inquiries/{case}")).await;
    assert!(!shown.1["reply"]["templates"].as_array().unwrap().is_empty());
    c.check("GET", "/api/v1/inquiries/{case}", &shown);

    // What the citizen follows the case with.
    let token = citizen.1["status_token"].as_str().unwrap();
    let citizen_case = citizen.1["case_number"].as_str().unwrap();
    let status = send(
        app.anonymous
            .get(format!("{base}/api/v1/status/{citizen_case}"))
            .query(&[("token", token)]),
    )
    .await;
    assert_eq!(status.0, 200, "{}", status.1);
    c.check("GET", "/api/v1/status/{case}", &status);

    // The catalogue as Open311 services, the extension, the discovery.
    let services = app.get("/open311/v2/services.json").await;
    assert!(!services.1.as_array().unwrap().is_empty());
    c.check("GET", "/open311/v2/services.json", &services);
    let code = services.1[0]["service_code"].as_str().unwrap().to_string();
    c.check(
        "GET",
        "/open311/v2/services/{id}.json",
        &app.get(&format!("/open311/v2/services/{code}.json")).await,
    );
    c.check(
        "GET",
        "/open311/v2/services/suggest.json",
        &app.get("/open311/v2/services/suggest.json?q=Laterne%20kaputt")
            .await,
    );
    c.check(
        "GET",
        "/open311/v2/discovery.json",
        &app.get("/open311/v2/discovery.json").await,
    );

    // Administration.
    for path in [
        "/api/v1/admin/models",
        "/api/v1/admin/users",
        "/api/v1/admin/tokens",
        "/api/v1/admin/jobs",
        "/api/v1/admin/catalogue/versions",
        "/api/v1/admin/quarantine",
        "/api/v1/auth/whoami",
    ] {
        let answer = app.get(path).await;
        assert_eq!(answer.0, 200, "{path}: {}", answer.1);
        c.check("GET", path, &answer);
    }
    let service = staff.1["decision"]["service"]["id"].as_str().unwrap();
    c.check(
        "GET",
        "/api/v1/admin/services/{service}/reply",
        &app.get(&format!("/api/v1/admin/services/{service}/reply"))
            .await,
    );
    let token = app
        .post_json(
            "/api/v1/admin/tokens",
            &json!({"name": "schema", "role": "clerk",
                    "departments": [staff.1["decision"]["department"]["id"]]}),
        )
        .await;
    assert_eq!(token.0, 201, "{}", token.1);
    c.check("POST", "/api/v1/admin/tokens", &token);

    // Errors: every one is the one error schema with a code of its enum.
    let bad_json = app
        .post_raw(Some("application/json"), b"{\"text\": ".to_vec())
        .await;
    assert_eq!(bad_json.0, 400);
    c.check("POST", "/api/v1/inquiries", &bad_json);
    let unknown = app.get("/api/v1/inquiries/2099-999999").await;
    assert_eq!(unknown.0, 404);
    c.check("GET", "/api/v1/inquiries/{case}", &unknown);
    let empty = app.post_inquiry(&json!({"text": "   "})).await;
    assert_eq!(empty.0, 422);
    c.check("POST", "/api/v1/inquiries", &empty);
    let flagged = app
        .post_json(
            &format!("/api/v1/inquiries/{case}/reply"),
            &json!({"text": "Die Gebühr beträgt 999,99 Euro."}),
        )
        .await;
    assert_eq!(flagged.0, 422, "{}", flagged.1);
    assert_eq!(flagged.1["code"], "reply_flagged");
    c.check("POST", "/api/v1/inquiries/{case}/reply", &flagged);
    let anonymous = send(app.anonymous.get(format!("{base}/api/v1/admin/models"))).await;
    assert_eq!(anonymous.0, 401);
    c.check("GET", "/api/v1/admin/models", &anonymous);

    assert!(c.problems.is_empty(), "{}", c.problems.join("\n"));
    assert_eq!(c.checked.len(), 27, "{:?}", c.checked);
}

/// The validator itself: it must catch what the conformance test relies on it to catch.
#[test]
fn the_validator_catches_wrong_types_missing_and_undocumented_fields_and_enums() {
    let doc = json!({"components": {"schemas": {
        "Status": {"type": "string", "enum": ["routed", "review"]},
        "Thing": {"type": "object", "properties": {
            "status": {"$ref": "#/components/schemas/Status"},
            "score": {"type": "number"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "note": {"type": ["string", "null"]},
        }, "required": ["status", "score"]},
    }}});
    let schema = json!({"$ref": "#/components/schemas/Thing"});
    let ok = json!({"status": "routed", "score": 0.5, "tags": ["a"], "note": null});
    assert!(violations(&doc, &schema, &ok, "$").is_empty());
    let cases = [
        (json!({"status": "lost", "score": 0.5}), "not one of"),
        (json!({"status": "routed"}), "required score"),
        (
            json!({"status": "routed", "score": "high"}),
            "is not number",
        ),
        (
            json!({"status": "routed", "score": 1, "tags": [1]}),
            "$.tags[0]",
        ),
        (
            json!({"status": "routed", "score": 1, "extra": 1}),
            "$.extra: not in the schema",
        ),
    ];
    for (value, expected) in cases {
        let found = violations(&doc, &schema, &value, "$");
        assert!(
            found.iter().any(|p| p.contains(expected)),
            "{value}: {found:?}"
        );
    }
    let nullable = json!({"oneOf": [{"$ref": "#/components/schemas/Status"}, {"type": "null"}]});
    assert!(violations(&doc, &nullable, &Value::Null, "$").is_empty());
    assert!(!violations(&doc, &nullable, &json!("x"), "$").is_empty());
}
