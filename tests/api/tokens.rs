//! Admins manage accounts and API tokens over the API; machine clients use a token as
//! `Authorization: Bearer` within its role and departments until it is revoked; single
//! sign-on headers count only from a trusted proxy.

use serde_json::{Value, json};

use crate::{
    access::{case_with, decision},
    helpers::{PASSWORD, TestApp, spawn_app, spawn_app_with},
};

async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_token_works_within_its_departments_until_revoked_and_is_shown_once() {
    let app = spawn_app().await;
    let url = |p: &str| format!("{}{p}", app.base);
    let (status, created) = send(app.client.post(url("/api/v1/admin/tokens")).json(&json!({
        "name": "Fachverfahren Straßen", "role": "clerk", "departments": ["tiefbau"]
    })))
    .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["token"].as_str().unwrap().to_string();
    assert!(secret.starts_with("anl_"), "{secret}");
    let (_, list) = send(app.client.get(url("/api/v1/admin/tokens"))).await;
    assert_eq!(list["tokens"][0]["name"], "Fachverfahren Straßen");
    assert!(
        !list.to_string().contains(&secret[4..]),
        "shown once: {list}"
    );

    let mine = case_with(&app, Some(decision("strassenschaden", "tiefbau", &[]))).await;
    let other = case_with(&app, Some(decision("sperrmuell", "abfallwirtschaft", &[]))).await;
    let machine = &app.anonymous;
    let get = |case: &str| {
        machine
            .get(url(&format!("/api/v1/inquiries/{case}")))
            .bearer_auth(&secret)
    };
    assert_eq!(send(get(&mine)).await.0, 200);
    assert_eq!(send(get(&other)).await.0, 404);
    let (status, _) = send(machine.get(url("/api/v1/admin/jobs")).bearer_auth(&secret)).await;
    assert_eq!(status, 403, "a clerk token is no admin");
    let review = machine
        .post(url(&format!("/api/v1/inquiries/{mine}/review")))
        .bearer_auth(&secret)
        .json(&json!({"action": "accept"}));
    assert_eq!(send(review).await.0, 200);
    let audit = app
        .state
        .store
        .audit_entries_for(std::slice::from_ref(&mine))
        .await
        .unwrap();
    let id = created["id"].as_i64().unwrap();
    assert_eq!(audit.last().unwrap().actor, format!("token:{id}"));

    let (status, revoked) = send(
        app.client
            .delete(url(&format!("/api/v1/admin/tokens/{id}"))),
    )
    .await;
    assert_eq!(status, 200);
    assert!(revoked["revoked_at"].is_string());
    let (status, body) = send(get(&mine)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("unauthorized")),
        "revoked at once"
    );
    let (status, _) = send(
        machine
            .get(url("/api/v1/auth/whoami"))
            .bearer_auth("anl_guessed"),
    )
    .await;
    assert_eq!(status, 401);
    let bad = json!({"name": "x", "role": "clerk", "departments": ["raumfahrt"]});
    let (status, body) = send(app.client.post(url("/api/v1/admin/tokens")).json(&bad)).await;
    assert_eq!(status, 422, "{body}");
}

#[tokio::test]
async fn admins_create_change_and_disable_accounts_but_never_the_last_admin() {
    let app = spawn_app().await;
    let url = |p: &str| format!("{}{p}", app.base);
    let new = json!({"name": "Mueller", "role": "clerk", "departments": ["tiefbau"], "password": PASSWORD});
    let (status, user) = send(app.client.post(url("/api/v1/admin/users")).json(&new)).await;
    assert_eq!(
        (status, user["name"].as_str()),
        (201, Some("mueller")),
        "{user}"
    );
    assert!(!user.to_string().contains("argon2"));
    let (status, _) = send(app.client.post(url("/api/v1/admin/users")).json(&new)).await;
    assert_eq!(status, 409, "the name is taken");
    for (body, what) in [
        (
            json!({"name": "a", "role": "clerk", "departments": ["tiefbau"], "password": "kurz"}),
            "short password",
        ),
        (
            json!({"name": "b", "role": "clerk", "departments": [], "password": PASSWORD}),
            "clerk without department",
        ),
        (
            json!({"name": "c d", "role": "admin", "password": PASSWORD}),
            "user name",
        ),
    ] {
        let (status, err) = send(app.client.post(url("/api/v1/admin/users")).json(&body)).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (422, Some("invalid_field")),
            "{what}: {err}"
        );
    }

    let clerk = app.login("mueller").await;
    let whoami = || clerk.get(url("/api/v1/auth/whoami"));
    let (_, me) = send(whoami()).await;
    assert_eq!(me["user"]["departments"], json!(["tiefbau"]));
    let (status, _) = send(clerk.get(url("/api/v1/admin/users"))).await;
    assert_eq!(status, 403);
    let more = json!({"departments": ["tiefbau", "umweltamt"]});
    let (status, _) = send(
        app.client
            .patch(url("/api/v1/admin/users/mueller"))
            .json(&more),
    )
    .await;
    assert_eq!(status, 200);
    let (_, me) = send(whoami()).await;
    assert_eq!(
        me["user"]["departments"],
        json!(["tiefbau", "umweltamt"]),
        "at once"
    );
    let disable = json!({"disabled": true});
    let (status, _) = send(
        app.client
            .patch(url("/api/v1/admin/users/mueller"))
            .json(&disable),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(send(whoami()).await.0, 401, "disabled at once");

    let (status, err) = send(
        app.client
            .patch(url("/api/v1/admin/users/admin"))
            .json(&disable),
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (409, Some("conflict")),
        "{err}"
    );
    let demote = json!({"role": "clerk", "departments": ["tiefbau"]});
    let (status, _) = send(
        app.client
            .patch(url("/api/v1/admin/users/admin"))
            .json(&demote),
    )
    .await;
    assert_eq!(status, 409);
    let (status, _) = send(
        app.client
            .patch(url("/api/v1/admin/users/niemand"))
            .json(&disable),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn single_sign_on_headers_count_only_from_a_trusted_proxy() {
    let sso = |proxies: &'static str| {
        move |c: &mut anliegen::config::Config| {
            c.auth.trusted_header = "X-Forwarded-User".into();
            c.auth.groups_header = "X-Forwarded-Groups".into();
            c.auth.trusted_proxies = vec![anliegen::config::ProxyNet(proxies.parse().unwrap())];
            c.auth.groups.insert(
                "amt-66".into(),
                anliegen::config::GroupGrant {
                    role: anliegen::domain::Role::Clerk,
                    departments: vec!["tiefbau".into()],
                },
            );
        }
    };
    let whoami = |app: &TestApp| {
        app.anonymous
            .get(format!("{}/api/v1/auth/whoami", app.base))
            .header("X-Forwarded-User", "schmidt")
            .header("X-Forwarded-Groups", "amt-66,kantine")
    };
    let behind_proxy = spawn_app_with(sso("127.0.0.1/32")).await;
    let (status, me) = send(whoami(&behind_proxy)).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        me["user"],
        json!({"name": "schmidt", "actor": "sso:schmidt", "role": "clerk", "departments": ["tiefbau"], "via": "sso"})
    );

    let direct = spawn_app_with(sso("10.0.0.0/8")).await;
    assert_eq!(
        send(whoami(&direct)).await.0,
        401,
        "a header anyone can send"
    );
}
