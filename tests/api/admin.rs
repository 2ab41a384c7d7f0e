//! Admin view of the pipeline: listing jobs by state without personal data, retrying dead
//! jobs, and the `anliegen audit verify` and `anliegen gdpr` commands of the real binary.

use std::process::Command;

use serde_json::json;

use crate::{helpers::spawn_app_without_engine, store::raw};

#[tokio::test]
async fn admins_list_jobs_without_personal_data_and_retry_dead_ones() {
    let app = spawn_app_without_engine().await;
    let (status, _) = app
        .post_inquiry(&json!({"text": "Laterne kaputt", "sender": "geheim@example.org"}))
        .await;
    assert_eq!(status, 202);
    let (status, body) = app.get("/api/v1/admin/jobs?state=queued").await;
    assert_eq!(status, 200, "{body}");
    let jobs = body["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 1, "{body}");
    assert_eq!(jobs[0]["kind"], "triage");
    assert!(!body.to_string().contains("Laterne") && !body.to_string().contains("geheim"));
    let id = jobs[0]["id"].as_i64().unwrap();

    let (status, body) = app.get("/api/v1/admin/jobs?state=lost").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_field"))
    );
    let retry = |id: i64| {
        let client = app.client.clone();
        let url = format!("{}/api/v1/admin/jobs/{id}/retry", app.base);
        async move {
            let r = client.post(url).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<serde_json::Value>().await.unwrap())
        }
    };
    assert_eq!(retry(id).await.1["code"], "conflict", "only dead jobs");
    assert_eq!(retry(id + 1000).await.0, 404);

    // Fail it on every attempt (no backoff) until it is dead.
    let store = &app.state.store;
    let lease = std::time::Duration::from_secs(60);
    while let Some(job) = store.claim_job("w", lease).await.unwrap() {
        store
            .fail_job(&job, "model thread stopped", std::time::Duration::ZERO)
            .await
            .unwrap();
    }
    let (_, body) = app.get("/api/v1/admin/jobs?state=dead").await;
    assert_eq!(body["jobs"][0]["last_error"], "model thread stopped");
    assert_eq!(retry(id).await, (200, json!({"id": id, "state": "queued"})));
    let (_, body) = app.get("/api/v1/admin/jobs?state=dead").await;
    assert!(body["jobs"].as_array().unwrap().is_empty());
}

fn anliegen(url: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_anliegen"))
        .args(args)
        .env("ANLIEGEN__DATABASE__URL", url)
        .env(
            "ANLIEGEN__DATA__DIR",
            std::env::temp_dir().join("anliegen-cli-unused"),
        )
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn gdpr_and_audit_commands_export_erase_and_detect_tampering() {
    let (_dir, store, url) = crate::store::sqlite_store().await;
    let email = "anna@example.org";
    store
        .insert_inquiry(crate::store::new("Mein Ausweis ist weg", email))
        .await
        .unwrap();

    let (ok, out, err) = anliegen(&url, &["gdpr", "export", "--email", email]);
    assert!(ok, "{err}");
    let export: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        export["tables"]["inquiries"][0]["text"],
        "Mein Ausweis ist weg"
    );

    let (ok, out, err) = anliegen(&url, &["gdpr", "erase", "--email", email]);
    assert!(ok && out.starts_with("erased 1 inquiries"), "{out}{err}");
    let (_, out, _) = anliegen(&url, &["gdpr", "export", "--email", email]);
    assert!(out.contains("\"inquiries\": []"), "{out}");

    let (ok, out, err) = anliegen(&url, &["audit", "verify"]);
    assert!(
        ok && out.contains("OK") && out.contains("3 entries"),
        "{out}{err}"
    );
    sqlx::query("UPDATE audit_log SET actor = 'someone else' WHERE seq = 2")
        .execute(&raw(&url).await)
        .await
        .unwrap();
    let (ok, _, err) = anliegen(&url, &["audit", "verify"]);
    assert!(!ok, "tampering must fail the command");
    assert!(err.contains("entry 2"), "{err}");
}
