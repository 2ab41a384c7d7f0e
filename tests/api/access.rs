//! Nobody gets in where they don't belong: the route table over every route of the router
//! with every kind of caller. Also the helpers that put cases with a chosen decision into a
//! test server.

use secrecy::ExposeSecret;
use std::collections::BTreeSet;

use anliegen::{
    domain::{Channel, Decision, Role},
    store::{NewInquiry, NewToken, secret::Secret},
    web::{Audience, route_table},
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, spawn_app_without_engine},
    store::raw,
};

/// A decision for `service` of `department`; in review with `candidates` (service,
/// department) besides.
pub fn decision(service: &str, department: &str, candidates: &[(&str, &str)]) -> Decision {
    let status = if candidates.is_empty() {
        "routed"
    } else {
        "review"
    };
    let candidates: Vec<Value> = std::iter::once((service, department))
        .chain(candidates.iter().copied())
        .map(|(s, d)| json!({"service_id": s, "service_name": s, "department_id": d, "score": 0.3}))
        .collect();
    serde_json::from_value(json!({
        "status": status,
        "service": {"id": service, "name": service},
        "department": {"id": department, "name": department, "mailbox": ""},
        "confidence": 0.3,
        "reason": "test",
        "candidates": candidates,
        "evidence": [],
        "router": "test-router",
        "model": "test-model"
    }))
    .unwrap()
}

/// A stored inquiry with `decision` (or undecided), returning its case number.
pub async fn case_with(app: &TestApp, decision: Option<Decision>) -> String {
    let store = &app.state.store;
    let inquiry = store
        .insert_inquiry(NewInquiry {
            channel: Channel::Api,
            sender: None,
            text: "Die Laterne ist kaputt".into(),
            location: None,
        })
        .await
        .unwrap();
    if let Some(d) = decision {
        store.record_decision(inquiry.id, &d).await.unwrap();
    }
    inquiry.case_number.to_string()
}

/// The callers every route is tried with, in the order of the expected statuses.
const CALLERS: [&str; 6] = [
    "anonymous",
    "clerk A",
    "clerk B",
    "admin",
    "expired",
    "revoked",
];

struct Row {
    method: Method,
    /// The route as the table names it.
    route: &'static str,
    /// The concrete request path.
    path: String,
    body: Option<Value>,
    /// Status per caller of [`CALLERS`].
    expect: [u16; 6],
}

fn row(
    method: Method,
    route: &'static str,
    path: &str,
    body: Option<Value>,
    expect: [u16; 6],
) -> Row {
    Row {
        method,
        route,
        path: path.to_string(),
        body,
        expect,
    }
}

#[tokio::test]
async fn every_route_answers_each_kind_of_caller_as_its_tree_demands() {
    let app = spawn_app_without_engine().await;
    app.start_engine().await;
    let clerk_a = app.clerk("clerk-a", &["tiefbau"]).await;
    let clerk_b = app.clerk("clerk-b", &["abfallwirtschaft"]).await;
    let expired = app.clerk("clerk-expired", &["tiefbau"]).await;
    let db = raw(app.state.config.database.url.expose_secret()).await;
    sqlx::query(
        "UPDATE sessions SET created_at = 0 WHERE user_id = (SELECT id FROM users WHERE name = 'clerk-expired')",
    )
    .execute(&db)
    .await
    .unwrap();
    let revoked = Secret::generate("anl_");
    let token = app
        .state
        .store
        .create_token(
            &NewToken {
                name: "fachverfahren",
                role: Role::Admin,
                departments: &[],
                digest: &revoked.digest(),
            },
            "test",
        )
        .await
        .unwrap();
    app.state
        .store
        .revoke_token(token.id, "test")
        .await
        .unwrap();

    let case = case_with(
        &app,
        Some(decision("strassenbeleuchtung-defekt", "tiefbau", &[])),
    )
    .await;
    let inquiry = format!("/api/v1/inquiries/{case}");
    let stored = app.stored(&case).await;
    let pdf = anliegen::domain::Attachment::check("Brief.pdf", b"%PDF-1.4\n".to_vec(), 1024)
        .unwrap()
        .unwrap();
    app.state
        .store
        .add_attachments(stored.id, &[pdf])
        .await
        .unwrap();
    let attachment = app.state.store.attachments(stored.id).await.unwrap()[0].id;
    let review = json!({"action": "accept"});
    let reply = json!({"text": "Wir kümmern uns darum."});
    let eval = json!({"train": [], "test": []});
    let text = json!({"text": "Die Straßenlaterne vor Hausnummer 7 ist kaputt"});
    let wrong = json!({"username": "admin", "password": "falsch falsch falsch"});
    let account = json!({"name": "neu", "role": "clerk", "departments": ["tiefbau"], "password": crate::helpers::PASSWORD});
    let new_token = json!({"name": "ticketsystem", "role": "clerk", "departments": ["tiefbau"]});
    use Method as M;
    let rows = vec![
        row(M::GET, "/healthz", "/healthz", None, [200; 6]),
        row(M::GET, "/readyz", "/readyz", None, [200; 6]),
        row(
            M::POST,
            "/api/v1/inquiries",
            "/api/v1/inquiries",
            Some(text),
            [201; 6],
        ),
        row(
            M::POST,
            "/api/v1/auth/login",
            "/api/v1/auth/login",
            Some(wrong),
            [401; 6],
        ),
        row(
            M::GET,
            "/api/v1/auth/whoami",
            "/api/v1/auth/whoami",
            None,
            [401, 200, 200, 200, 401, 401],
        ),
        row(
            M::GET,
            "/api/v1/inquiries/{case}",
            &inquiry,
            None,
            [401, 200, 404, 200, 401, 401],
        ),
        row(
            M::POST,
            "/api/v1/inquiries/{case}/review",
            &format!("{inquiry}/review"),
            Some(review),
            [401, 200, 404, 200, 401, 401],
        ),
        // The case has no address: the reply is kept for the status page only.
        row(
            M::POST,
            "/api/v1/inquiries/{case}/reply",
            &format!("{inquiry}/reply"),
            Some(reply),
            [401, 202, 404, 202, 401, 401],
        ),
        row(
            M::POST,
            "/api/v1/inquiries/{case}/reply/template",
            &format!("{inquiry}/reply/template"),
            Some(json!({"text": "Wir kümmern uns darum.", "language": "de"})),
            [401, 201, 404, 201, 401, 401],
        ),
        row(
            M::GET,
            "/api/v1/admin/services/{service}/reply",
            "/api/v1/admin/services/strassenbeleuchtung-defekt/reply",
            None,
            [401, 403, 403, 200, 401, 401],
        ),
        row(
            M::PUT,
            "/api/v1/admin/services/{service}/reply",
            "/api/v1/admin/services/strassenbeleuchtung-defekt/reply",
            Some(json!({"autonomy": "suggest"})),
            [401, 403, 403, 200, 401, 401],
        ),
        row(
            M::GET,
            "/api/v1/inquiries",
            "/api/v1/inquiries?status=routed",
            None,
            [401, 200, 200, 200, 401, 401],
        ),
        // Without the case's secret the status answers like an unknown case.
        row(
            M::GET,
            "/api/v1/status/{case}",
            &format!("/api/v1/status/{case}?token=guessed"),
            None,
            [404; 6],
        ),
        row(
            M::GET,
            "/api/v1/status/{case}/confirm",
            &format!("/api/v1/status/{case}/confirm?token=guessed"),
            None,
            [404; 6],
        ),
        row(
            M::GET,
            "/api/v1/admin/jobs",
            "/api/v1/admin/jobs",
            None,
            [401, 403, 403, 200, 401, 401],
        ),
        row(
            M::GET,
            "/metrics",
            "/metrics",
            None,
            [401, 403, 403, 200, 401, 401],
        ),
        row(
            M::GET,
            "/api/openapi.json",
            "/api/openapi.json",
            None,
            [200; 6],
        ),
        row(
            M::GET,
            "/api/v1/admin/quarantine",
            "/api/v1/admin/quarantine",
            None,
            [401, 403, 403, 200, 401, 401],
        ),
        row(
            M::POST,
            "/api/v1/admin/jobs/{id}/retry",
            "/api/v1/admin/jobs/999999/retry",
            None,
            [401, 403, 403, 404, 401, 401],
        ),
        row(
            M::GET,
            "/api/v1/admin/models",
            "/api/v1/admin/models",
            None,
            [401, 403, 403, 200, 401, 401],
        ),
        row(
            M::POST,
            "/api/v1/admin/models/train",
            "/api/v1/admin/models/train",
            None,
            [401, 403, 403, 200, 401, 401],
        ),
        row(
            M::POST,
            "/api/v1/admin/models/rollback",
            "/api/v1/admin/models/rollback",
            None,
            [401, 403, 403, 409, 401, 401],
        ),
        row(
            M::GET,
            "/api/v1/admin/models/{version}",
            "/api/v1/admin/models/999",
            None,
            [401, 403, 403, 404, 401, 401],
        ),
        row(
            M::POST,
            "/api/v1/admin/models/{version}/activate",
            "/api/v1/admin/models/999/activate",
            None,
            [401, 403, 403, 404, 401, 401],
        ),
        row(
            M::POST,
            "/api/v1/admin/evaluations",
            "/api/v1/admin/evaluations",
            Some(eval),
            [401, 403, 403, 422, 401, 401],
        ),
        row(
            M::GET,
            "/api/v1/admin/users",
            "/api/v1/admin/users",
            None,
            [401, 403, 403, 200, 401, 401],
        ),
        row(
            M::POST,
            "/api/v1/admin/users",
            "/api/v1/admin/users",
            Some(account),
            [401, 403, 403, 201, 401, 401],
        ),
        row(
            M::PATCH,
            "/api/v1/admin/users/{name}",
            "/api/v1/admin/users/niemand",
            Some(json!({"disabled": true})),
            [401, 403, 403, 404, 401, 401],
        ),
        row(
            M::GET,
            "/api/v1/admin/tokens",
            "/api/v1/admin/tokens",
            None,
            [401, 403, 403, 200, 401, 401],
        ),
        row(
            M::POST,
            "/api/v1/admin/tokens",
            "/api/v1/admin/tokens",
            Some(new_token),
            [401, 403, 403, 201, 401, 401],
        ),
        row(
            M::DELETE,
            "/api/v1/admin/tokens/{id}",
            "/api/v1/admin/tokens/999999",
            None,
            [401, 403, 403, 404, 401, 401],
        ),
        row(
            M::POST,
            "/api/v1/admin/catalogue/import",
            "/api/v1/admin/catalogue/import",
            None,
            [401, 403, 403, 415, 401, 401],
        ),
        row(
            M::GET,
            "/api/v1/admin/catalogue/versions",
            "/api/v1/admin/catalogue/versions",
            None,
            [401, 403, 403, 200, 401, 401],
        ),
        row(
            M::GET,
            "/api/v1/admin/catalogue/versions/{version}",
            "/api/v1/admin/catalogue/versions/999",
            None,
            [401, 403, 403, 404, 401, 401],
        ),
        row(
            M::GET,
            "/assets/{name}",
            "/assets/style.css",
            None,
            [200; 6],
        ),
        row(M::GET, "/login", "/login", None, [200; 6]),
        // Pages: a form without its CSRF token is refused whoever sends it.
        row(M::POST, "/login", "/login", None, [403; 6]),
        row(
            M::POST,
            "/logout",
            "/logout",
            None,
            [401, 403, 403, 403, 401, 401],
        ),
        row(
            M::GET,
            "/sprache",
            "/sprache?lang=de&next=/login",
            None,
            [200; 6],
        ),
        row(M::GET, "/", "/", None, [200; 6]),
        row(M::POST, "/", "/", None, [403; 6]),
        row(M::GET, "/status", "/status", None, [200; 6]),
        row(
            M::GET,
            "/status/{case}",
            &format!("/status/{case}?token=guessed"),
            None,
            [404; 6],
        ),
        row(M::GET, "/datenschutz", "/datenschutz", None, [200; 6]),
        row(M::GET, "/app", "/app", None, [401, 200, 200, 200, 401, 401]),
        row(
            M::GET,
            "/app/faelle/{case}",
            &format!("/app/faelle/{case}"),
            None,
            [401, 200, 404, 200, 401, 401],
        ),
        row(
            M::GET,
            "/app/faelle/{case}/anhaenge/{id}",
            &format!("/app/faelle/{case}/anhaenge/{attachment}"),
            None,
            [401, 200, 404, 200, 401, 401],
        ),
        row(
            M::POST,
            "/app/faelle/{case}/annehmen",
            &format!("/app/faelle/{case}/annehmen"),
            None,
            [401, 403, 403, 403, 401, 401],
        ),
        row(
            M::POST,
            "/app/faelle/{case}/umleiten",
            &format!("/app/faelle/{case}/umleiten"),
            None,
            [401, 403, 403, 403, 401, 401],
        ),
        row(
            M::POST,
            "/app/faelle/{case}/antwort",
            &format!("/app/faelle/{case}/antwort"),
            None,
            [401, 403, 403, 403, 401, 401],
        ),
        row(
            M::POST,
            "/app/faelle/{case}/spam",
            &format!("/app/faelle/{case}/spam"),
            None,
            [401, 403, 403, 403, 401, 401],
        ),
        row(
            M::POST,
            "/app/faelle/{case}/zusammenfuehren",
            &format!("/app/faelle/{case}/zusammenfuehren"),
            None,
            [401, 403, 403, 403, 401, 401],
        ),
        row(
            M::POST,
            "/app/faelle/{case}/schliessen",
            &format!("/app/faelle/{case}/schliessen"),
            None,
            [401, 403, 403, 403, 401, 401],
        ),
        row(
            M::GET,
            "/admin",
            "/admin",
            None,
            [401, 403, 403, 200, 401, 401],
        ),
        row(
            M::GET,
            "/admin/konten",
            "/admin/konten",
            None,
            [401, 403, 403, 200, 401, 401],
        ),
        row(
            M::GET,
            "/admin/katalog",
            "/admin/katalog",
            None,
            [401, 403, 403, 200, 401, 401],
        ),
        row(
            M::GET,
            "/admin/modelle",
            "/admin/modelle",
            None,
            [401, 403, 403, 200, 401, 401],
        ),
        row(
            M::GET,
            "/admin/auftraege",
            "/admin/auftraege",
            None,
            [401, 403, 403, 200, 401, 401],
        ),
        row(
            M::GET,
            "/admin/datenschutz",
            "/admin/datenschutz",
            None,
            [401, 403, 403, 200, 401, 401],
        ),
        row(
            M::GET,
            "/admin/quality",
            "/admin/quality",
            None,
            [401, 403, 403, 200, 401, 401],
        ),
        // Admin forms: refused to clerks; an admin's post without a CSRF token is refused.
        row(
            M::POST,
            "/admin/konten",
            "/admin/konten",
            None,
            [401, 403, 403, 403, 401, 401],
        ),
        row(
            M::POST,
            "/admin/konten/{name}",
            "/admin/konten/niemand",
            None,
            [401, 403, 403, 403, 401, 401],
        ),
        row(
            M::POST,
            "/admin/schluessel",
            "/admin/schluessel",
            None,
            [401, 403, 403, 403, 401, 401],
        ),
        row(
            M::POST,
            "/admin/schluessel/{id}/widerrufen",
            "/admin/schluessel/999/widerrufen",
            None,
            [401, 403, 403, 403, 401, 401],
        ),
        row(
            M::POST,
            "/admin/katalog/import",
            "/admin/katalog/import",
            None,
            [401, 403, 403, 403, 401, 401],
        ),
        row(
            M::POST,
            "/admin/modelle/training",
            "/admin/modelle/training",
            None,
            [401, 403, 403, 403, 401, 401],
        ),
        row(
            M::POST,
            "/admin/modelle/zurueck",
            "/admin/modelle/zurueck",
            None,
            [401, 403, 403, 403, 401, 401],
        ),
        row(
            M::POST,
            "/admin/modelle/{version}/aktivieren",
            "/admin/modelle/999/aktivieren",
            None,
            [401, 403, 403, 403, 401, 401],
        ),
        row(
            M::POST,
            "/admin/auftraege/{id}/wiederholen",
            "/admin/auftraege/999/wiederholen",
            None,
            [401, 403, 403, 403, 401, 401],
        ),
        row(
            M::POST,
            "/admin/post/{id}/wiederholen",
            "/admin/post/999/wiederholen",
            None,
            [401, 403, 403, 403, 401, 401],
        ),
        row(
            M::POST,
            "/admin/datenschutz/export",
            "/admin/datenschutz/export",
            None,
            [401, 403, 403, 403, 401, 401],
        ),
        row(
            M::POST,
            "/admin/datenschutz/loeschen",
            "/admin/datenschutz/loeschen",
            None,
            [401, 403, 403, 403, 401, 401],
        ),
        // Open311: public, the api_key rule is the spec's (tests in `open311`).
        row(
            M::GET,
            "/open311/v2/discovery.json",
            "/open311/v2/discovery.json",
            None,
            [200; 6],
        ),
        row(
            M::GET,
            "/open311/v2/services.json",
            "/open311/v2/services.json",
            None,
            [200; 6],
        ),
        row(
            M::GET,
            "/open311/v2/services/suggest.json",
            "/open311/v2/services/suggest.json",
            None,
            [400; 6],
        ),
        row(
            M::POST,
            "/open311/v2/requests.json",
            "/open311/v2/requests.json",
            None,
            [403; 6],
        ),
        row(
            M::GET,
            "/open311/v2/requests.json",
            "/open311/v2/requests.json",
            None,
            [200; 6],
        ),
        row(
            M::GET,
            "/open311/v2/discovery.xml",
            "/open311/v2/discovery.xml",
            None,
            [200; 6],
        ),
        row(
            M::GET,
            "/open311/v2/services.xml",
            "/open311/v2/services.xml",
            None,
            [200; 6],
        ),
        row(
            M::GET,
            "/open311/v2/services/suggest.xml",
            "/open311/v2/services/suggest.xml",
            None,
            [400; 6],
        ),
        row(
            M::POST,
            "/open311/v2/requests.xml",
            "/open311/v2/requests.xml",
            None,
            [403; 6],
        ),
        row(
            M::GET,
            "/open311/v2/requests.xml",
            "/open311/v2/requests.xml",
            None,
            [200; 6],
        ),
        row(
            M::GET,
            "/open311/v2/services/{file}",
            "/open311/v2/services/strassenschaden.json",
            None,
            [200; 6],
        ),
        row(
            M::GET,
            "/open311/v2/requests/{file}",
            "/open311/v2/requests/2099-000001.xml",
            None,
            [404; 6],
        ),
        // Last: it ends the sessions it is sent with.
        row(
            M::POST,
            "/api/v1/auth/logout",
            "/api/v1/auth/logout",
            None,
            [401, 204, 204, 204, 401, 401],
        ),
    ];

    let routes: BTreeSet<(String, &str)> = route_table(&app.state.config)
        .iter()
        .map(|r| (r.method.to_string(), r.path))
        .collect();
    let tested: BTreeSet<(String, &str)> = rows
        .iter()
        .map(|r| (r.method.to_string(), r.route))
        .collect();
    assert_eq!(
        routes, tested,
        "every route of the router has a row here, and no other"
    );
    for r in route_table(&app.state.config) {
        let row = rows
            .iter()
            .find(|x| x.route == r.path && x.method == r.method)
            .unwrap();
        // Credentials change nothing on a public route; elsewhere they are everything.
        let credentials_ignored = row.expect.iter().all(|s| *s == row.expect[0]);
        let needs_credentials =
            [0, 4, 5].iter().all(|i| row.expect[*i] == 401) && row.expect[3] != 401;
        let public = r.audience == Audience::Public;
        assert!(
            if public {
                credentials_ignored
            } else {
                needs_credentials
            },
            "{} {}",
            r.method,
            r.path
        );
    }

    let clients = [
        &app.anonymous,
        &clerk_a,
        &clerk_b,
        &app.client,
        &expired,
        &app.anonymous,
    ];
    let mut wrong_statuses = Vec::new();
    for row in &rows {
        for (i, client) in clients.iter().enumerate() {
            let mut req = client.request(row.method.clone(), format!("{}{}", app.base, row.path));
            if CALLERS[i] == "revoked" {
                req = req.bearer_auth(revoked.as_str());
            }
            if let Some(body) = &row.body {
                req = req.json(body);
            }
            let response = req.send().await.unwrap();
            let status = response.status().as_u16();
            if status != row.expect[i] {
                let body = response.text().await.unwrap_or_default();
                wrong_statuses.push(format!(
                    "{} {} as {}: {status} (expected {}) {body}",
                    row.method, row.path, CALLERS[i], row.expect[i]
                ));
            }
        }
    }
    assert!(wrong_statuses.is_empty(), "\n{}", wrong_statuses.join("\n"));
}
