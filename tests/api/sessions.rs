//! Sessions from the login to their end: the cookie's attributes, idle and absolute
//! timeouts, logout, a new session id at every login, disabled accounts refused at once,
//! throttled logins with one answer for every failure, unknown users as slow as known ones.

use std::time::{Duration, Instant};

use anliegen::{
    domain::{Role, UserName},
    store::UserChange,
};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, spawn_app_with, spawn_app_without_engine};

/// Logs in without a cookie store: the status, the `Set-Cookie` header and the body.
async fn login(app: &TestApp, name: &str, password: &str) -> (u16, Option<String>, Value) {
    let r = app
        .anonymous
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({"username": name, "password": password}))
        .send()
        .await
        .unwrap();
    let cookie = r
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_string());
    (r.status().as_u16(), cookie, r.json().await.unwrap())
}

/// `name=value` of a `Set-Cookie` header.
fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

async fn whoami(app: &TestApp, cookie: &str) -> u16 {
    app.anonymous
        .get(format!("{}/api/v1/auth/whoami", app.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn the_session_cookie_is_http_only_lax_and_secure_behind_https() {
    let app = spawn_app_without_engine().await;
    let (status, cookie, body) = login(&app, "admin", PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["role"], "admin");
    let cookie = cookie.unwrap();
    assert!(cookie.starts_with("anliegen_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");

    let app =
        spawn_app_with(|c| c.server.public_url = "https://anliegen.kreis.example".into()).await;
    let (_, cookie, _) = login(&app, "admin", PASSWORD).await;
    let cookie = cookie.unwrap();
    assert!(cookie.starts_with("__Host-anliegen_session="), "{cookie}");
    assert!(cookie.contains("; Secure"), "{cookie}");
}

#[tokio::test]
async fn logout_ends_the_session_and_a_new_login_replaces_the_old_id() {
    let app = spawn_app_without_engine().await;
    let (_, first, _) = login(&app, "admin", PASSWORD).await;
    let first = pair(&first.unwrap());
    assert_eq!(whoami(&app, &first).await, 200);

    // Logging in again from the same browser: the old id is worthless afterwards.
    let r = app
        .anonymous
        .post(format!("{}/api/v1/auth/login", app.base))
        .header("cookie", &first)
        .json(&json!({"username": "admin", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let second = pair(r.headers()["set-cookie"].to_str().unwrap());
    assert_ne!(first, second);
    assert_eq!(whoami(&app, &first).await, 401);
    assert_eq!(whoami(&app, &second).await, 200);

    let r = app
        .anonymous
        .post(format!("{}/api/v1/auth/logout", app.base))
        .header("cookie", &second)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(
        whoami(&app, &second).await,
        401,
        "the replayed cookie is dead"
    );
}

#[tokio::test]
async fn sessions_end_after_the_idle_and_the_absolute_timeout() {
    let app = spawn_app_with(|c| {
        c.auth.session_idle_seconds = 1;
        c.auth.session_absolute_seconds = 3;
    })
    .await;
    let (_, idle, _) = login(&app, "admin", PASSWORD).await;
    let idle = pair(&idle.unwrap());
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(whoami(&app, &idle).await, 401, "idle for longer than 1 s");

    let (_, busy, _) = login(&app, "admin", PASSWORD).await;
    let busy = pair(&busy.unwrap());
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(2700) {
        assert_eq!(whoami(&app, &busy).await, 200, "active within 3 s");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        whoami(&app, &busy).await,
        401,
        "older than 3 s, however active"
    );
}

#[tokio::test]
async fn a_disabled_account_is_refused_at_once_and_cannot_log_in() {
    let app = spawn_app_without_engine().await;
    let clerk = app.clerk("clerk-a", &["tiefbau"]).await;
    let me = clerk
        .get(format!("{}/api/v1/auth/whoami", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status().as_u16(), 200);
    let change = UserChange {
        disabled: Some(true),
        ..Default::default()
    };
    let name = UserName::parse("clerk-a").unwrap();
    app.state
        .store
        .change_user(&name, &change, "test")
        .await
        .unwrap();
    let me = clerk
        .get(format!("{}/api/v1/auth/whoami", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status().as_u16(), 401);
    let (status, cookie, body) = login(&app, "clerk-a", PASSWORD).await;
    assert_eq!((status, cookie), (401, None));
    assert_eq!(
        body,
        json!({"code": "login_failed", "message": "user or password wrong"})
    );
}

#[tokio::test]
async fn failed_logins_look_alike_take_alike_and_are_throttled_per_account_and_client() {
    let app = spawn_app_with(|c| {
        c.rate_limit.login_per_account = 3;
        // One of them is the admin client's login when the app starts.
        c.rate_limit.login_per_client = 9;
        c.rate_limit.login_window_seconds = 3600;
    })
    .await;
    app.add_user("clerk-a", Role::Clerk, &["tiefbau"]).await;
    let refused = json!({"code": "login_failed", "message": "user or password wrong"});
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let (status, _, body) = login(&app, "clerk-a", "falsch falsch falsch").await;
        known.push(started.elapsed());
        assert_eq!((status, &body), (401, &refused));
        let started = Instant::now();
        let (status, _, body) = login(&app, "niemand", "falsch falsch falsch").await;
        unknown.push(started.elapsed());
        assert_eq!((status, &body), (401, &refused));
    }
    known.sort();
    unknown.sort();
    assert!(
        unknown[1] * 2 > known[1],
        "an unknown user is checked against a hash too: {unknown:?} vs {known:?}"
    );

    // The account's allowance is used up: even the right password waits.
    let (status, cookie, body) = login(&app, "clerk-a", PASSWORD).await;
    assert_eq!(
        (status, cookie, body["code"].as_str()),
        (429, None, Some("rate_limited"))
    );
    // Another account from the same address still gets in, until the address's turn ends.
    assert_eq!(login(&app, "admin", PASSWORD).await.0, 200);
    let (status, _, _) = login(&app, "admin", PASSWORD).await;
    assert_eq!(status, 429, "9 attempts from one address");
    let r = app
        .anonymous
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({"username": "admin", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&wait), "{wait}");

    let failures = app
        .state
        .store
        .audit_entries_for(&["user:unknown".to_string()])
        .await
        .unwrap();
    assert_eq!(failures.len(), 3, "failed logins are audited");
    assert!(
        !format!("{failures:?}").contains("niemand"),
        "typed names are not kept"
    );
}
