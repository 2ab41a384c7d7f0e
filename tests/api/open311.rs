//! The Open311 GeoReport v2 server: the round trip a client makes (services → a request
//! without service_code → the request read back with its routed service and agency) in
//! JSON and in XML, the spec's error arrays, what anonymous readers see, the suggest
//! extension, and the Cologne feed as a format fixture.

use anliegen::web::open311::format::{Created, ServiceInfo, ServiceRequest, read_xml_list};
use serde_json::{Value, json};

use crate::helpers::{TestApp, shared, spawn_app};

/// Form fields of a POST.
type Form<'a> = [(&'a str, &'a str)];

const LAMP: &str = "Die Straßenlaterne vor Hausnummer 7 ist seit Tagen kaputt";

/// A new API token of `role` (and `departments`), as an admin creates it.
async fn token(app: &TestApp, role: &str, departments: &[&str]) -> String {
    let (status, created) = app
        .post_json(
            "/api/v1/admin/tokens",
            &json!({"name": format!("open311-{role}"), "role": role, "departments": departments}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    created["token"].as_str().unwrap().to_string()
}

async fn get_text(app: &TestApp, path: &str) -> (u16, String, String) {
    let r = app
        .anonymous
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (r.status().as_u16(), ct, r.text().await.unwrap())
}

async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let r = app
        .anonymous
        .post(format!("{}{path}", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(form).unwrap())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn a_client_lists_services_posts_without_service_code_and_reads_the_routed_request_back() {
    let app = spawn_app().await;
    let key = token(&app, "clerk", &["tiefbau"]).await;
    let services = app.state.ready().unwrap().catalogue.services.len();

    // JSON.
    let (status, ct, body) = get_text(&app, "/open311/v2/services.json").await;
    assert_eq!(status, 200, "{body}");
    assert!(ct.starts_with("application/json"), "{ct}");
    let listed: Vec<ServiceInfo> = serde_json::from_str(&body).unwrap();
    assert_eq!(listed.len(), services);
    let lamp = listed
        .iter()
        .find(|s| s.service_code == "strassenbeleuchtung-defekt")
        .unwrap();
    assert_eq!(lamp.group, "Kreisstraßen und Tiefbau");
    assert!(lamp.keywords.contains("Straßenlaterne"), "{lamp:?}");
    assert_eq!(lamp.kind, "realtime");

    let (status, body) = post_form(
        &app,
        "/open311/v2/requests.json",
        &[
            ("api_key", &key),
            ("jurisdiction_id", "landkreis-musterland.example"),
            ("description", LAMP),
            ("lat", "50.9384"),
            ("long", "6.8345"),
            ("email", "buerger@example.org"),
        ],
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let created: Vec<Created> = serde_json::from_str(&body).unwrap();
    assert_eq!(created.len(), 1);
    let created = &created[0];
    assert_eq!(
        created.service_code.as_deref(),
        Some("strassenbeleuchtung-defekt")
    );
    assert_eq!(
        created.agency_responsible.as_deref(),
        Some("Kreisstraßen und Tiefbau")
    );
    let id = &created.service_request_id;
    let stored = app.state.store.inquiry(&id.parse().unwrap()).await.unwrap();
    let stored = stored.unwrap();
    assert_eq!(stored.channel.as_str(), "open311");
    let place = stored.location.expect("the request's place is stored");
    assert_eq!((place.lat, place.lon), (Some(50.9384), Some(6.8345)));

    let r = app
        .anonymous
        .get(format!(
            "{}/open311/v2/requests/{id}.json?api_key={key}",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let read: Vec<ServiceRequest> = r.json().await.unwrap();
    assert_eq!(read.len(), 1);
    let read = &read[0];
    assert_eq!(&read.service_request_id, id);
    assert_eq!(read.status, "open");
    assert_eq!(
        read.service_code.as_deref(),
        Some("strassenbeleuchtung-defekt")
    );
    assert_eq!(
        read.agency_responsible.as_deref(),
        Some("Kreisstraßen und Tiefbau")
    );
    assert_eq!(read.description.as_deref(), Some(LAMP), "the clerk's key");
    assert_eq!((read.lat, read.long), (Some(50.9384), Some(6.8345)));
    assert!(read.requested_datetime.is_some() && read.updated_datetime.is_some());

    // XML: the same round trip.
    let (status, ct, body) = get_text(&app, "/open311/v2/services.xml").await;
    assert_eq!(status, 200, "{body}");
    assert!(ct.starts_with("text/xml"), "{ct}");
    assert!(body.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<services><service>"));
    let listed_xml: Vec<ServiceInfo> = read_xml_list(&body).unwrap();
    assert_eq!(listed_xml, listed, "XML and JSON carry the same services");

    let (status, body) = post_form(
        &app,
        "/open311/v2/requests.xml",
        &[
            ("api_key", &key),
            (
                "description",
                "Der Müll wurde diese Woche nicht abgeholt, die Tonne ist voll",
            ),
        ],
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert!(
        body.contains("<service_requests><request><service_request_id>"),
        "{body}"
    );
    let created: Vec<Created> = read_xml_list(&body).unwrap();
    let id = &created[0].service_request_id;
    let routed = created[0].service_code.clone().unwrap();
    let agency = created[0].agency_responsible.clone().unwrap();
    let (status, _, body) = get_text(&app, &format!("/open311/v2/requests/{id}.xml")).await;
    assert_eq!(status, 200, "{body}");
    let read: Vec<ServiceRequest> = read_xml_list(&body).unwrap();
    assert_eq!(read[0].service_code.as_deref(), Some(routed.as_str()));
    assert_eq!(read[0].agency_responsible.as_deref(), Some(agency.as_str()));
    assert_eq!(read[0].description, None, "anonymous readers see no text");
    assert!(!body.contains("Tonne"), "{body}");

    // The list with the spec's filters.
    let (_, _, body) = get_text(
        &app,
        "/open311/v2/requests.json?service_code=strassenbeleuchtung-defekt&status=open",
    )
    .await;
    let listed: Vec<ServiceRequest> = serde_json::from_str(&body).unwrap();
    assert_eq!(listed.len(), 1, "{body}");
    let (_, _, body) = get_text(&app, "/open311/v2/requests.json?status=closed").await;
    assert_eq!(body, "[]");
    let (_, _, body) = get_text(
        &app,
        &format!("/open311/v2/requests.xml?service_request_id={id}"),
    )
    .await;
    let listed: Vec<ServiceRequest> = read_xml_list(&body).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(&listed[0].service_request_id, id);
    let (_, _, body) = get_text(
        &app,
        "/open311/v2/requests.json?start_date=2001-01-01T00:00:00Z&end_date=2001-12-31T00:00:00Z",
    )
    .await;
    assert_eq!(body, "[]");

    let (status, _, body) =
        get_text(&app, "/open311/v2/services/strassenbeleuchtung-defekt.xml").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<service_definition><service_code>strassenbeleuchtung-defekt</service_code><attributes></attributes>"), "{body}");
    let (status, _, body) = get_text(&app, "/open311/v2/discovery.json").await;
    assert_eq!(status, 200, "{body}");
    let discovery: Value = serde_json::from_str(&body).unwrap();
    assert!(
        discovery["endpoints"][0]["url"]
            .as_str()
            .unwrap()
            .ends_with("/open311/v2"),
        "{discovery}"
    );
}

#[tokio::test]
async fn errors_are_the_specs_arrays_in_the_requested_format() {
    let app = spawn_app().await;
    let key = token(&app, "clerk", &["tiefbau"]).await;
    let cases: [(&str, &Form, u16, &str); 5] = [
        ("json", &[("description", LAMP)], 403, "api_key is required"),
        (
            "xml",
            &[("api_key", "anl_wrong"), ("description", LAMP)],
            403,
            "unknown or revoked",
        ),
        ("json", &[("api_key", &key)], 400, "description is required"),
        (
            "xml",
            &[
                ("api_key", &key),
                ("description", LAMP),
                ("jurisdiction_id", "koeln"),
            ],
            404,
            "jurisdiction_id 'koeln'",
        ),
        (
            "json",
            &[
                ("api_key", &key),
                ("description", LAMP),
                ("service_code", "nope"),
            ],
            404,
            "no service 'nope'",
        ),
    ];
    for (ext, form, code, says) in cases {
        let (status, body) = post_form(&app, &format!("/open311/v2/requests.{ext}"), form).await;
        assert_eq!(status, code, "{body}");
        assert!(body.contains(says), "{body}");
        if ext == "json" {
            let errors: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(errors[0]["code"], code, "{errors}");
        } else {
            assert!(
                body.contains(&format!("<errors><error><code>{code}</code><description>")),
                "{body}"
            );
        }
    }
    let (status, _, body) = get_text(&app, "/open311/v2/services/nope.xml").await;
    assert_eq!(status, 404);
    assert!(body.contains("<errors><error><code>404</code>"), "{body}");
    let (status, _, body) = get_text(&app, "/open311/v2/requests/2026-999999.json").await;
    assert_eq!(status, 404);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()[0]["code"],
        404
    );
    let (status, _, body) = get_text(&app, "/open311/v2/requests.json?start_date=gestern").await;
    assert_eq!(status, 400, "{body}");
    let (status, _, body) =
        get_text(&app, "/open311/v2/services/suggest.json?q=x&lat=91&long=0").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("lat must be"), "{body}");
}

#[tokio::test]
async fn suggest_ranks_services_with_confidence_and_evidence_and_stores_nothing() {
    let app = spawn_app().await;
    let r = app
        .anonymous
        .get(format!("{}/open311/v2/services/suggest.json", app.base))
        .query(&[("q", LAMP), ("lat", "47.66"), ("long", "9.17")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let answer: Value = r.json().await.unwrap();
    let first = &answer["suggestions"][0];
    assert_eq!(
        first["service_code"], "strassenbeleuchtung-defekt",
        "{answer}"
    );
    assert_eq!(first["group"], "Kreisstraßen und Tiefbau");
    let confidences: Vec<f64> = answer["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["confidence"].as_f64().unwrap())
        .collect();
    assert!(confidences.windows(2).all(|w| w[0] >= w[1]), "{answer}");
    assert!(answer["calibrated"].is_boolean());
    assert!(answer["evidence"][0]["text"].is_string(), "{answer}");
    let (_, inbox) = app.get("/api/v1/inquiries").await;
    assert_eq!(inbox["inquiries"], json!([]), "a suggestion stores nothing");
}

#[test]
fn the_cologne_feed_parses_and_round_trips_in_json_and_xml() {
    let Some(path) = shared("data/koeln/orig_codeforcologne_requests.json") else {
        assert!(
            std::env::var("CI").is_err(),
            "CI needs ../shared/data/koeln"
        );
        return;
    };
    let text = std::fs::read_to_string(path).unwrap();
    let feed: Vec<ServiceRequest> = serde_json::from_str(&text).unwrap();
    assert_eq!(feed.len(), 50);
    assert_eq!(feed[0].service_request_id, "A-1627");
    assert_eq!(feed[0].service_name.as_deref(), Some("Ampel defekt"));
    assert_eq!(feed[0].lat, Some(50.9384079215));
    assert!(
        feed.iter()
            .all(|r| r.status == "open" || r.status == "closed")
    );
    let json = serde_json::to_string(&feed).unwrap();
    assert_eq!(
        serde_json::from_str::<Vec<ServiceRequest>>(&json).unwrap(),
        feed
    );
    let xml = anliegen::web::open311::format::xml_list("service_requests", &feed);
    assert_eq!(read_xml_list::<ServiceRequest>(&xml).unwrap(), feed);
}
