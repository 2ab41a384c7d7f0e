//! The OpenAPI 3.1 document at `GET /api/openapi.json` (public: it describes the API and
//! holds no data). Paths and methods come from the route table itself — every JSON route
//! (`/api/…` and Open311's JSON documents) is in the document, and a route without a
//! description here fails the coverage test (`tests/api/openapi.rs`). Each operation names
//! its audience (security), request body or parameters, success schema and the error codes
//! it can answer with their statuses, which come from `ApiError` itself.

use std::sync::OnceLock;

use axum::{Json, http::Method};
use serde_json::{Map, Value, json};
use utoipa::{
    ToSchema,
    openapi::{
        ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Paths, RefOr, Schema,
        path::{HttpMethod, Operation},
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use super::{ApiError, Audience, Route};
use crate::config::Config;

pub fn routes() -> Vec<Route> {
    vec![Route::public(Method::GET, PATH, document)]
}

/// Where the document is served.
pub const PATH: &str = "/api/openapi.json";

async fn document(
    axum::extract::State(state): axum::extract::State<super::AppState>,
) -> Json<Value> {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    Json(
        DOCUMENT
            .get_or_init(|| serde_json::to_value(build(&state.config)).expect("serialises"))
            .clone(),
    )
}

/// Whether the route at `path` answers JSON: the API under `/api/` and Open311's JSON
/// documents (`{file}` routes answer `.json` and `.xml`).
pub fn is_json(path: &str) -> bool {
    path.starts_with("/api/")
        || (path.starts_with("/open311/") && (path.ends_with(".json") || path.ends_with("{file}")))
}

/// The document for the routes of `config`'s route table.
pub fn build(config: &Config) -> OpenApi {
    let mut paths = Paths::new();
    for route in super::route_table(config) {
        if !is_json(route.path) {
            continue;
        }
        let Some(op) = operation(&route) else {
            continue;
        };
        // `{file}` routes answer `.json` and `.xml` in one segment: documented as `.json`.
        let path = route.path.replace("{file}", "{id}.json");
        paths.add_path_operation(path, vec![http_method(&route.method)], op);
    }
    let components = ComponentsBuilder::new()
        .schemas_from_iter(schemas())
        .security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("anliegen_session"))),
        )
        .security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token (`POST /api/v1/admin/tokens`)"))
                    .build(),
            ),
        )
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("anliegen")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Triage and routing of citizens' inquiries. Errors are \
                     `{\"code\", \"message\"}`; Open311 answers its own error arrays.",
                ))
                .build(),
        )
        .paths(paths)
        .components(Some(components))
        .build()
}

fn http_method(method: &Method) -> HttpMethod {
    match *method {
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::PATCH => HttpMethod::Patch,
        Method::DELETE => HttpMethod::Delete,
        Method::HEAD => HttpMethod::Head,
        Method::OPTIONS => HttpMethod::Options,
        _ => HttpMethod::Get,
    }
}

/// What one route takes and answers.
struct Doc {
    summary: &'static str,
    /// Query parameters: name, schema, description.
    query: Vec<(&'static str, Value, &'static str)>,
    /// The JSON body; `None`: the route takes none.
    body: Option<Value>,
    /// Success status and schema (`Value::Null`: no body).
    ok: (u16, Value),
    /// Further success statuses answering the same schema.
    also: Vec<u16>,
    /// Error codes beyond those every route of its kind answers.
    errors: &'static [&'static str],
}

fn doc(summary: &'static str, ok: (u16, Value)) -> Doc {
    Doc {
        summary,
        query: Vec::new(),
        body: None,
        ok,
        also: Vec::new(),
        errors: &[],
    }
}

impl Doc {
    fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
    fn query(mut self, name: &'static str, schema: Value, description: &'static str) -> Self {
        self.query.push((name, schema, description));
        self
    }
    fn also(mut self, status: u16) -> Self {
        self.also.push(status);
        self
    }
    fn errors(mut self, errors: &'static [&'static str]) -> Self {
        self.errors = errors;
        self
    }
}

/// The named schemas: derived from the types the API serialises (`utoipa::ToSchema`), plus
/// the error contract, whose `code` enumerates every stable code of `ApiError`.
fn schemas() -> Vec<(String, RefOr<Schema>)> {
    use crate::{
        domain::{Decision, Location},
        reply::case::CaseDraft,
        store::{
            ApiToken, CaseReply, CatalogueVersion, QuarantinedMail, ReplyTemplate, User,
            webhooks::Ticket,
        },
        web::{
            auth::identity::IdentityView,
            jobs::JobView,
            models::VersionView,
            open311::{format, services::Suggestions},
        },
    };
    fn add<T: ToSchema>(list: &mut Vec<(String, RefOr<Schema>)>) {
        list.push((T::name().into_owned(), T::schema()));
        T::schemas(list);
    }
    let mut list = Vec::new();
    add::<Decision>(&mut list);
    add::<Location>(&mut list);
    add::<crate::domain::InquiryStatus>(&mut list);
    add::<crate::domain::Channel>(&mut list);
    add::<crate::domain::Autonomy>(&mut list);
    add::<CaseDraft>(&mut list);
    add::<Ticket>(&mut list);
    add::<User>(&mut list);
    add::<ApiToken>(&mut list);
    add::<IdentityView>(&mut list);
    add::<JobView>(&mut list);
    add::<VersionView>(&mut list);
    add::<CatalogueVersion>(&mut list);
    add::<ReplyTemplate>(&mut list);
    add::<CaseReply>(&mut list);
    add::<QuarantinedMail>(&mut list);
    add::<Suggestions>(&mut list);
    add::<format::ServiceInfo>(&mut list);
    add::<format::ServiceDefinition>(&mut list);
    add::<format::ServiceRequest>(&mut list);
    add::<format::Created>(&mut list);
    add::<format::Discovery>(&mut list);
    add::<format::ErrorEntry>(&mut list);
    let codes: Vec<&str> = ApiError::one_of_each().iter().map(ApiError::code).collect();
    let error = object(
        &[
            (
                "code",
                json!({"type": "string", "enum": codes,
                       "description": "Stable and machine-readable, e.g. `invalid_field`"}),
            ),
            (
                "message",
                json!({"type": "string", "description": "For people; never internals"}),
            ),
            (
                "flags",
                json!({"type": "array", "items": refer("Flag"),
                       "description": "`reply_flagged` only: the values the checker flagged"}),
            ),
        ],
        &["code", "message"],
    );
    list.push((
        "Error".to_string(),
        serde_json::from_value(error).expect("a valid schema"),
    ));
    list.sort_by(|a, b| a.0.cmp(&b.0));
    list.dedup_by(|a, b| a.0 == b.0);
    list
}

/// A reference to the named schema `name` (see [`schemas`]).
fn refer(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn string() -> Value {
    json!({"type": "string"})
}
fn date_time() -> Value {
    json!({"type": "string", "format": "date-time"})
}
fn integer() -> Value {
    json!({"type": "integer"})
}
fn number() -> Value {
    json!({"type": "number"})
}
fn boolean() -> Value {
    json!({"type": "boolean"})
}
fn array(items: Value) -> Value {
    json!({"type": "array", "items": items})
}
fn one_of(values: &[&str]) -> Value {
    json!({"type": "string", "enum": values})
}
fn nullable(schema: Value) -> Value {
    json!({"oneOf": [schema, {"type": "null"}]})
}
/// Any JSON object (settings or figures whose keys are not fixed).
fn map() -> Value {
    json!({"type": "object", "additionalProperties": true})
}

/// An object with exactly `props`; those named in `required` are always there.
fn object(props: &[(&str, Value)], required: &[&str]) -> Value {
    let properties: Map<String, Value> = props
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect();
    json!({"type": "object", "properties": properties, "required": required,
           "additionalProperties": false})
}

fn location_input() -> Value {
    object(
        &[("lat", number()), ("lon", number()), ("address", string())],
        &[],
    )
}

fn department() -> Value {
    object(&[("id", string()), ("name", string())], &["id", "name"])
}

/// What the intake answers: the receipt, and for a staff caller who may see the case the
/// decision and the draft.
fn receipt() -> Value {
    object(
        &[
            ("case_number", string()),
            ("status", refer("InquiryStatus")),
            ("received_at", date_time()),
            ("channel", refer("Channel")),
            ("department", nullable(department())),
            ("status_token", string()),
            ("status_url", string()),
            ("decision", nullable(refer("Decision"))),
            ("reply", nullable(refer("CaseDraft"))),
        ],
        &[
            "case_number",
            "status",
            "received_at",
            "channel",
            "department",
            "status_token",
            "status_url",
        ],
    )
}

/// The whole inquiry as staff see it.
fn inquiry() -> Value {
    object(
        &[
            ("case_number", string()),
            ("received_at", date_time()),
            ("channel", refer("Channel")),
            ("sender", nullable(string())),
            ("text", string()),
            ("location", nullable(refer("Location"))),
            ("status", refer("InquiryStatus")),
            ("decision", nullable(refer("Decision"))),
            ("reply", nullable(refer("CaseDraft"))),
            ("tickets", array(refer("Ticket"))),
        ],
        &[
            "case_number",
            "received_at",
            "channel",
            "sender",
            "text",
            "location",
            "status",
            "decision",
            "reply",
            "tickets",
        ],
    )
}

fn inbox_item() -> Value {
    object(
        &[
            ("case_number", string()),
            ("received_at", date_time()),
            ("channel", refer("Channel")),
            ("status", refer("InquiryStatus")),
            ("service", nullable(string())),
            ("department", nullable(string())),
            ("confidence", nullable(number())),
        ],
        &[
            "case_number",
            "received_at",
            "channel",
            "status",
            "service",
            "department",
            "confidence",
        ],
    )
}

fn list_of(key: &str, item: Value) -> Value {
    object(&[(key, array(item))], &[key])
}

fn role() -> Value {
    refer("Role")
}

fn upload_file() -> Value {
    object(
        &[("name", string()), ("content", string())],
        &["name", "content"],
    )
}

fn labelled() -> Value {
    array(object(
        &[("text", string()), ("label", string())],
        &["text"],
    ))
}

fn import_report() -> Value {
    object(
        &[
            ("format", string()),
            ("services", integer()),
            ("departments", integer()),
            ("offices", integer()),
            (
                "skipped",
                array(object(
                    &[("entry", string()), ("reason", string())],
                    &["entry", "reason"],
                )),
            ),
        ],
        &["format", "services", "departments", "offices", "skipped"],
    )
}

fn open311_list(item: &str) -> Value {
    array(refer(item))
}

/// The description of every JSON route, by method and path of the route table.
fn describe(method: &Method, path: &str) -> Option<Doc> {
    let m = method.as_str();
    let path = path.trim_end_matches(".json");
    let jurisdiction = ("jurisdiction_id", "this server's jurisdiction");
    Some(match (m, path) {
        ("GET", "/api/openapi") => doc(
            "This document",
            (
                200,
                json!({"type": "object", "required": ["openapi", "info", "paths"]}),
            ),
        ),
        ("POST", "/api/v1/auth/login") => doc(
            "Sign in; sets the session cookie",
            (200, object(&[("user", refer("IdentityView"))], &["user"])),
        )
        .body(object(
            &[("username", string()), ("password", string())],
            &["username", "password"],
        ))
        .errors(&["login_failed"]),
        ("POST", "/api/v1/auth/logout") => doc("End the session", (204, Value::Null)),
        ("GET", "/api/v1/auth/whoami") => doc(
            "The caller",
            (200, object(&[("user", refer("IdentityView"))], &["user"])),
        ),
        ("POST", "/api/v1/inquiries") => doc(
            "Submit an inquiry (201 decided, 202 queued)",
            (201, receipt()),
        )
        .also(202)
        .body(object(
            &[
                ("text", string()),
                ("sender", string()),
                ("location", location_input()),
            ],
            &["text"],
        ))
        .errors(&[
            "empty_text",
            "text_too_long",
            "backlog_full",
            "idempotency_key_reused",
            "request_timeout",
        ]),
        ("GET", "/api/v1/inquiries") => doc(
            "The inbox of the caller's departments",
            (200, list_of("inquiries", inbox_item())),
        )
        .query(
            "status",
            refer("InquiryStatus"),
            "only inquiries in this status",
        )
        .query("department", string(), "a department id")
        .query("before", string(), "a case number: the page after it")
        .query("limit", integer(), "at most this many"),
        ("GET", "/api/v1/inquiries/{case}") => doc(
            "An inquiry with its decision, draft and tickets",
            (200, inquiry()),
        ),
        ("POST", "/api/v1/inquiries/{case}/review") => doc(
            "Accept or re-route the decision",
            (
                200,
                object(
                    &[
                        ("case_number", string()),
                        ("status", one_of(&["routed"])),
                        ("decision", refer("Decision")),
                        ("retraining", one_of(&["scheduled"])),
                    ],
                    &["case_number", "status", "decision", "retraining"],
                ),
            ),
        )
        .body(object(
            &[
                ("action", one_of(&["accept", "reroute"])),
                ("service", string()),
                ("reason", string()),
                ("actor", string()),
            ],
            &["action"],
        ))
        .errors(&["conflict", "not_ready"]),
        ("POST", "/api/v1/inquiries/{case}/reply") => doc(
            "Send the reply to the citizen",
            (
                202,
                object(
                    &[
                        ("case_number", string()),
                        ("mailed", boolean()),
                        ("message_id", nullable(string())),
                        ("state", one_of(&["queued", "recorded"])),
                        ("language", refer("ReplyLanguage")),
                        ("german_copy", nullable(string())),
                        ("check", nullable(refer("Check"))),
                    ],
                    &[
                        "case_number",
                        "mailed",
                        "message_id",
                        "state",
                        "language",
                        "german_copy",
                        "check",
                    ],
                ),
            ),
        )
        .body(object(
            &[
                ("text", string()),
                ("language", refer("ReplyLanguage")),
                ("draft", boolean()),
                ("confirm", boolean()),
            ],
            &[],
        ))
        .errors(&["reply_flagged", "conflict", "not_ready"]),
        ("POST", "/api/v1/inquiries/{case}/reply/template") => doc(
            "Save the reply as the service's template",
            (201, refer("ReplyTemplate")),
        )
        .body(object(
            &[("text", string()), ("language", refer("ReplyLanguage"))],
            &["text", "language"],
        ))
        .errors(&["not_ready"]),
        ("GET", "/api/v1/status/{case}") => doc(
            "A case's status for the citizen (with its secret)",
            (
                200,
                object(
                    &[
                        ("case_number", string()),
                        ("status", refer("InquiryStatus")),
                        ("received_at", date_time()),
                        ("department", nullable(department())),
                        ("replies", array(refer("CaseReply"))),
                    ],
                    &[
                        "case_number",
                        "status",
                        "received_at",
                        "department",
                        "replies",
                    ],
                ),
            ),
        )
        .query("token", string(), "the case's status secret"),
        ("GET", "/api/v1/status/{case}/confirm") => doc(
            "Confirm the contact address",
            (
                200,
                object(
                    &[("case_number", string()), ("contact_confirmed", boolean())],
                    &["case_number", "contact_confirmed"],
                ),
            ),
        )
        .query("token", string(), "the confirmation secret"),
        ("GET", "/api/v1/admin/jobs") => doc(
            "The pipeline's jobs",
            (200, list_of("jobs", refer("JobView"))),
        )
        .query(
            "state",
            one_of(&["queued", "running", "done", "dead"]),
            "only jobs in this state",
        )
        .query("limit", integer(), "at most this many"),
        ("POST", "/api/v1/admin/jobs/{id}/retry") => doc(
            "Queue a dead job again",
            (
                200,
                object(
                    &[("id", integer()), ("state", one_of(&["queued"]))],
                    &["id", "state"],
                ),
            ),
        )
        .errors(&["conflict"]),
        ("GET", "/api/v1/admin/models") => doc(
            "Trained model versions",
            (200, list_of("versions", refer("VersionView"))),
        ),
        ("POST", "/api/v1/admin/models/train") => doc(
            "Train a model version now",
            (
                200,
                object(
                    &[
                        ("version", integer()),
                        ("seconds", number()),
                        ("labelled_examples", integer()),
                        ("active", boolean()),
                        ("held", nullable(map())),
                    ],
                    &["version", "seconds", "labelled_examples", "active"],
                ),
            ),
        )
        .errors(&["not_ready", "conflict"]),
        ("POST", "/api/v1/admin/models/rollback") => doc(
            "Activate the previous version",
            (
                200,
                object(
                    &[
                        ("version", integer()),
                        ("active", boolean()),
                        ("rolled_back_from", integer()),
                    ],
                    &["version", "active", "rolled_back_from"],
                ),
            ),
        )
        .errors(&["not_ready", "conflict"]),
        ("GET", "/api/v1/admin/models/{version}") => {
            doc("One model version", (200, refer("VersionView")))
        }
        ("POST", "/api/v1/admin/models/{version}/activate") => doc(
            "Activate a model version",
            (
                200,
                object(
                    &[("version", integer()), ("active", boolean())],
                    &["version", "active"],
                ),
            ),
        )
        .errors(&["not_ready", "conflict"]),
        ("POST", "/api/v1/admin/evaluations") => doc(
            "Evaluate routing on labelled texts: accuracy figures by measure",
            (200, map()),
        )
        .body(object(
            &[("train", labelled()), ("test", labelled())],
            &["test"],
        ))
        .errors(&["not_ready"]),
        ("POST", "/api/v1/admin/catalogue/import") => doc(
            "Import a catalogue (201 new version, 200 unchanged or dry run)",
            (
                201,
                object(
                    &[
                        ("import", import_report()),
                        (
                            "version",
                            nullable(json!({
                                "type": "object",
                                "properties": {
                                    "status": one_of(&["created", "unchanged"]),
                                    "version": integer(),
                                    "changes": nullable(map()),
                                },
                                "required": ["status", "version"],
                            })),
                        ),
                        ("note", string()),
                    ],
                    &["import", "version"],
                ),
            ),
        )
        .also(200)
        .body(object(
            &[
                ("format", string()),
                ("files", array(upload_file())),
                ("locations", upload_file()),
                ("mapping", upload_file()),
                ("dry_run", boolean()),
            ],
            &["format", "files"],
        )),
        ("GET", "/api/v1/admin/catalogue/versions") => doc(
            "Catalogue versions",
            (200, list_of("versions", refer("CatalogueVersion"))),
        ),
        ("GET", "/api/v1/admin/catalogue/versions/{version}") => doc(
            "One catalogue version",
            (
                200,
                object(
                    &[("version", integer()), ("catalogue", string())],
                    &["version", "catalogue"],
                ),
            ),
        ),
        ("GET", "/api/v1/admin/services/{service}/reply") => doc(
            "A service's reply autonomy and templates",
            (
                200,
                object(
                    &[
                        ("service", string()),
                        ("autonomy", refer("Autonomy")),
                        ("templates", array(refer("ReplyTemplate"))),
                    ],
                    &["service", "autonomy", "templates"],
                ),
            ),
        ),
        ("PUT", "/api/v1/admin/services/{service}/reply") => doc(
            "Set a service's reply autonomy",
            (
                200,
                object(
                    &[("service", string()), ("autonomy", refer("Autonomy"))],
                    &["service", "autonomy"],
                ),
            ),
        )
        .body(object(&[("autonomy", refer("Autonomy"))], &["autonomy"])),
        ("GET", "/api/v1/admin/users") => {
            doc("Staff accounts", (200, list_of("users", refer("User"))))
        }
        ("POST", "/api/v1/admin/users") => doc("Create an account", (201, refer("User")))
            .body(object(
                &[
                    ("name", string()),
                    ("role", role()),
                    ("departments", array(string())),
                    ("password", string()),
                ],
                &["name", "role", "password"],
            ))
            .errors(&["conflict"]),
        ("PATCH", "/api/v1/admin/users/{name}") => doc("Change an account", (200, refer("User")))
            .body(object(
                &[
                    ("role", role()),
                    ("departments", array(string())),
                    ("disabled", boolean()),
                    ("password", string()),
                ],
                &[],
            ))
            .errors(&["conflict"]),
        ("GET", "/api/v1/admin/tokens") => doc(
            "API tokens (never their secrets)",
            (200, list_of("tokens", refer("ApiToken"))),
        ),
        ("POST", "/api/v1/admin/tokens") => doc(
            "Create an API token; its secret is shown once",
            (
                201,
                json!({"allOf": [
                    refer("ApiToken"),
                    {"type": "object", "properties": {"token": string()}, "required": ["token"]},
                ]}),
            ),
        )
        .body(object(
            &[
                ("name", string()),
                ("role", role()),
                ("departments", array(string())),
            ],
            &["name", "role"],
        )),
        ("DELETE", "/api/v1/admin/tokens/{id}") => {
            doc("Revoke an API token", (200, refer("ApiToken")))
        }
        ("GET", "/api/v1/admin/quarantine") => doc(
            "Mail the parser could not take",
            (
                200,
                object(
                    &[
                        ("quarantine_after", integer()),
                        ("messages", array(refer("QuarantinedMail"))),
                    ],
                    &["quarantine_after", "messages"],
                ),
            ),
        )
        .query("limit", integer(), "at most this many"),
        ("GET", "/open311/v2/discovery") => doc("Open311 discovery", (200, refer("Discovery"))),
        ("GET", "/open311/v2/services") => doc(
            "Open311 services (the catalogue)",
            (200, open311_list("ServiceInfo")),
        )
        .query(jurisdiction.0, string(), jurisdiction.1),
        ("GET", "/open311/v2/services/suggest") => doc(
            "Extension: ranked service codes for a description",
            (200, refer("Suggestions")),
        )
        .query("q", string(), "the description")
        .query("lat", number(), "latitude (WGS 84)")
        .query("long", number(), "longitude (WGS 84)")
        .query(jurisdiction.0, string(), jurisdiction.1),
        ("GET", "/open311/v2/services/{file}") => doc(
            "An Open311 service definition",
            (200, refer("ServiceDefinition")),
        )
        .query(jurisdiction.0, string(), jurisdiction.1),
        ("POST", "/open311/v2/requests") => doc(
            "Post an Open311 service request (form-encoded)",
            (201, open311_list("Created")),
        )
        .body(object(
            &[
                ("api_key", string()),
                ("jurisdiction_id", string()),
                ("service_code", string()),
                ("description", string()),
                ("lat", number()),
                ("long", number()),
                ("address_string", string()),
                ("email", string()),
            ],
            &["api_key", "description"],
        )),
        ("GET", "/open311/v2/requests") => doc(
            "Open311 service requests",
            (200, open311_list("ServiceRequest")),
        )
        .query("api_key", string(), "an API token")
        .query("service_request_id", string(), "comma-separated ids")
        .query("service_code", string(), "comma-separated codes")
        .query("start_date", date_time(), "RFC 3339")
        .query("end_date", date_time(), "RFC 3339")
        .query("status", one_of(&["open", "closed"]), "open or closed"),
        ("GET", "/open311/v2/requests/{file}") => doc(
            "One Open311 service request",
            (200, open311_list("ServiceRequest")),
        )
        .query("api_key", string(), "an API token"),
        _ => return None,
    })
}

/// The operation of `route`, when it is described.
fn operation(route: &Route) -> Option<Operation> {
    let doc = describe(&route.method, route.path)?;
    let open311 = route.path.starts_with("/open311/");
    let mut parameters: Vec<Value> = route
        .path
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| {
            let name = if name == "file" { "id" } else { name };
            json!({"name": name, "in": "path", "required": true, "schema": string()})
        })
        .collect();
    parameters.extend(doc.query.iter().map(|(name, schema, description)| {
        json!({"name": name, "in": "query", "required": false, "schema": schema, "description": description})
    }));
    let mut responses = Map::new();
    let (status, schema) = &doc.ok;
    for status in std::iter::once(status).chain(&doc.also) {
        responses.insert(
            status.to_string(),
            if schema.is_null() {
                json!({"description": "done"})
            } else {
                json!({"description": "success", "content": {"application/json": {"schema": schema}}})
            },
        );
    }
    for (status, codes) in error_statuses(route, &doc) {
        let reference = if open311 { "ErrorEntry" } else { "Error" };
        let schema = if open311 {
            array(json!({"$ref": format!("#/components/schemas/{reference}")}))
        } else {
            json!({"$ref": format!("#/components/schemas/{reference}")})
        };
        responses.insert(
            status.to_string(),
            json!({
                "description": codes.join(", "),
                "content": {"application/json": {"schema": schema}},
                "x-error-codes": codes,
            }),
        );
    }
    let security = match route.audience {
        Audience::Public => json!([]),
        Audience::Staff | Audience::Admin => json!([{"session": []}, {"token": []}]),
    };
    let mut op = json!({
        "summary": doc.summary,
        "operationId": format!("{} {}", route.method, route.path),
        "tags": [match route.audience {
            Audience::Public if open311 => "open311",
            Audience::Public => "public",
            Audience::Staff => "staff",
            Audience::Admin => "admin",
        }],
        "parameters": parameters,
        "responses": responses,
        "security": security,
    });
    if let Some(body) = &doc.body {
        let media = if open311 {
            "application/x-www-form-urlencoded"
        } else {
            "application/json"
        };
        op["requestBody"] = json!({"required": true, "content": {media: {"schema": body}}});
    }
    Some(serde_json::from_value(op).expect("a valid OpenAPI operation"))
}

/// Error statuses of a route with their codes: those of its kind (audience, body, path
/// parameters, limits) and its own.
fn error_statuses(route: &Route, doc: &Doc) -> Vec<(u16, Vec<&'static str>)> {
    let mut errors: Vec<ApiError> = vec![ApiError::Internal(String::new())];
    if route.path.contains('{') {
        errors.push(ApiError::NotFound(String::new()));
    }
    if doc.body.is_some() {
        errors.extend([
            ApiError::InvalidJson(String::new()),
            ApiError::UnsupportedMediaType,
            ApiError::BodyTooLarge(0),
            ApiError::InvalidField(String::new()),
        ]);
    }
    if !doc.query.is_empty() {
        errors.push(ApiError::InvalidField(String::new()));
    }
    match route.audience {
        Audience::Public => {}
        Audience::Staff => errors.push(ApiError::Unauthorized),
        Audience::Admin => errors.extend([ApiError::Unauthorized, ApiError::Forbidden]),
    }
    if route.limit.is_some() {
        errors.push(ApiError::RateLimited(0));
    }
    errors.extend([ApiError::Overloaded, ApiError::ServerFull]);
    for code in doc.errors {
        errors.push(ApiError::example(code).expect("a code of ApiError"));
    }
    let mut by_status: Vec<(u16, Vec<&'static str>)> = Vec::new();
    for e in errors {
        let status = e.status().as_u16();
        match by_status.iter_mut().find(|(s, _)| *s == status) {
            Some((_, codes)) if !codes.contains(&e.code()) => codes.push(e.code()),
            Some(_) => {}
            None => by_status.push((status, vec![e.code()])),
        }
    }
    by_status.sort_by_key(|(s, _)| *s);
    by_status
}
