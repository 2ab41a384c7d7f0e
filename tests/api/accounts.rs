//! Accounts, sessions and API tokens in the store on both backends, and `anliegen user`
//! from the command line.

use std::time::Duration;

use anliegen::{
    domain::{Role, UserName},
    store::{NewToken, NewUser, SessionLimits, Store, StoreError, UserChange, secret::Secret},
};

use crate::{
    cli::{anliegen, stderr},
    store::on_both_backends,
};

on_both_backends!(
    accounts_are_created_once_changed_and_audited,
    sessions_expire_and_end_with_their_account,
    tokens_are_found_by_digest_until_revoked,
);

fn name(n: &str) -> UserName {
    UserName::parse(n).unwrap()
}

async fn add(store: &Store, n: &str, role: Role, departments: &[&str]) -> i64 {
    let departments: Vec<String> = departments.iter().map(|d| d.to_string()).collect();
    let new = NewUser {
        name: &name(n),
        role,
        departments: &departments,
        password_hash: "$argon2id$stub",
    };
    store.create_user(&new, "test").await.unwrap().id
}

async fn accounts_are_created_once_changed_and_audited(store: Store, _url: String) {
    assert_eq!(store.enabled_admins().await.unwrap(), 0);
    add(&store, "Admin", Role::Admin, &[]).await;
    let id = add(
        &store,
        "mueller",
        Role::Clerk,
        &["tiefbau", "abfallwirtschaft"],
    )
    .await;
    let again = NewUser {
        name: &name("MUELLER"),
        role: Role::Clerk,
        departments: &[],
        password_hash: "x",
    };
    assert!(matches!(
        store.create_user(&again, "test").await,
        Err(StoreError::Conflict(_))
    ));
    let (user, hash) = store
        .user_with_hash(&name("mueller"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hash, "$argon2id$stub");
    assert_eq!(user.departments, ["abfallwirtschaft", "tiefbau"]);
    assert_eq!(store.enabled_admins().await.unwrap(), 1);

    let change = UserChange {
        departments: Some(vec!["umweltamt".into()]),
        disabled: Some(true),
        ..Default::default()
    };
    let changed = store
        .change_user(&name("mueller"), &change, "user:1")
        .await
        .unwrap()
        .unwrap();
    assert!(changed.disabled);
    assert_eq!(changed.departments, ["umweltamt"]);
    assert_eq!(changed.role, Role::Clerk, "kept");
    assert!(
        store
            .change_user(&name("nobody"), &change, "user:1")
            .await
            .unwrap()
            .is_none()
    );
    let names: Vec<String> = store
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(names, ["admin", "mueller"]);

    let audit = store
        .audit_entries_for(&[format!("user:{id}")])
        .await
        .unwrap();
    let actions: Vec<(&str, &str)> = audit
        .iter()
        .map(|e| (e.actor.as_str(), e.action.as_str()))
        .collect();
    assert_eq!(
        actions,
        [("test", "user.create"), ("user:1", "user.update")]
    );
    assert!(
        !format!("{audit:?}").contains("argon2"),
        "no hashes in the audit log"
    );
}

async fn sessions_expire_and_end_with_their_account(store: Store, url: String) {
    let id = add(&store, "mueller", Role::Clerk, &["tiefbau"]).await;
    let limits = SessionLimits {
        idle: Duration::from_secs(60),
        absolute: Duration::from_secs(3600),
    };
    let (a, b) = (Secret::generate("").digest(), Secret::generate("").digest());
    store.open_session(&a, id, None, limits).await.unwrap();
    assert_eq!(
        store.session_user(&a, limits).await.unwrap().unwrap().name,
        "mueller"
    );
    // A login from the browser that held `a` replaces it.
    store.open_session(&b, id, Some(&a), limits).await.unwrap();
    assert!(store.session_user(&a, limits).await.unwrap().is_none());
    assert!(store.session_user(&b, limits).await.unwrap().is_some());

    let db = crate::store::raw(&url).await;
    sqlx::query("UPDATE sessions SET last_seen_at = last_seen_at - 61000")
        .execute(&db)
        .await
        .unwrap();
    assert!(
        store.session_user(&b, limits).await.unwrap().is_none(),
        "idle too long"
    );

    store.open_session(&a, id, None, limits).await.unwrap();
    let password = UserChange {
        password_hash: Some("$argon2id$new".into()),
        ..Default::default()
    };
    store
        .change_user(&name("mueller"), &password, "test")
        .await
        .unwrap();
    assert!(
        store.session_user(&a, limits).await.unwrap().is_none(),
        "a new password ends sessions"
    );
    store.open_session(&a, id, None, limits).await.unwrap();
    store.close_session(&a).await.unwrap();
    assert!(
        store.session_user(&a, limits).await.unwrap().is_none(),
        "logged out"
    );
}

async fn tokens_are_found_by_digest_until_revoked(store: Store, _url: String) {
    let secret = Secret::generate("anl_");
    let departments = vec!["tiefbau".to_string()];
    let new = NewToken {
        name: "fachverfahren",
        role: Role::Clerk,
        departments: &departments,
        digest: &secret.digest(),
    };
    let token = store.create_token(&new, "user:1").await.unwrap();
    let live = store.live_token(&secret.digest()).await.unwrap().unwrap();
    assert_eq!(
        (live.id, live.departments.clone(), live.role),
        (token.id, departments, Role::Clerk)
    );
    assert!(
        store
            .live_token(&Secret::generate("anl_").digest())
            .await
            .unwrap()
            .is_none()
    );
    let revoked = store
        .revoke_token(token.id, "user:1")
        .await
        .unwrap()
        .unwrap();
    assert!(revoked.revoked_at.is_some());
    assert!(store.live_token(&secret.digest()).await.unwrap().is_none());
    store.revoke_token(token.id, "user:1").await.unwrap();
    assert!(
        store
            .revoke_token(token.id + 100, "user:1")
            .await
            .unwrap()
            .is_none()
    );
    let audit = store.audit_entries_for(&[token.actor()]).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["token.create", "token.revoke"], "revoked once");
    assert_eq!(store.tokens().await.unwrap().len(), 1);
}

#[tokio::test]
async fn user_commands_create_list_disable_and_reset_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/anliegen.db", dir.path().display());
    let env = [("ANLIEGEN__DATABASE__URL", url.clone())];
    let run = |args: &[&str], stdin: &str| anliegen(args, &env, Some(stdin.as_bytes()));

    let out = run(
        &[
            "user",
            "add",
            "Mueller",
            "--role",
            "clerk",
            "--department",
            "tiefbau",
            "--password-stdin",
        ],
        "ein langes Passwort\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let refused = [
        (
            vec!["user", "add", "x", "--role", "clerk", "--password-stdin"],
            "at least one department",
        ),
        (
            vec![
                "user",
                "add",
                "x",
                "--role",
                "clerk",
                "--department",
                "raumfahrt",
                "--password-stdin",
            ],
            "'raumfahrt' is not in the catalogue",
        ),
        (
            vec![
                "user",
                "add",
                "x",
                "--role",
                "admin",
                "--department",
                "tiefbau",
                "--password-stdin",
            ],
            "give departments to clerks only",
        ),
        (
            vec![
                "user",
                "add",
                "mueller",
                "--role",
                "admin",
                "--password-stdin",
            ],
            "exists already",
        ),
        (
            vec!["user", "add", "a b", "--role", "admin", "--password-stdin"],
            "user name",
        ),
        (vec!["user", "disable", "niemand"], "no user 'niemand'"),
    ];
    for (args, message) in refused {
        let out = run(&args, "ein langes Passwort\n");
        assert!(!out.status.success(), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.starts_with("error: ") && err.contains(message),
            "{args:?}: {err}"
        );
    }
    let out = run(
        &[
            "user",
            "add",
            "chefin",
            "--role",
            "admin",
            "--password-stdin",
        ],
        "kurz\n",
    );
    assert!(
        stderr(&out).contains("at least 12 characters"),
        "{}",
        stderr(&out)
    );

    let out = run(
        &[
            "user",
            "add",
            "chefin",
            "--role",
            "admin",
            "--password-stdin",
        ],
        "noch ein langes Passwort\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(run(&["user", "disable", "mueller"], "").status.success());
    assert!(
        run(
            &["user", "set-password", "chefin", "--password-stdin"],
            "ein neues langes Passwort\n"
        )
        .status
        .success()
    );
    let out = run(&["user", "list", "--format", "json"], "");
    let users: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(users[0]["name"], "chefin");
    assert_eq!(users[1]["name"], "mueller");
    assert_eq!(users[1]["disabled"], true);
    assert_eq!(users[1]["departments"], serde_json::json!(["tiefbau"]));

    let store = Store::open(&url).await.unwrap();
    let (_, hash) = store
        .user_with_hash(&name("chefin"))
        .await
        .unwrap()
        .unwrap();
    assert!(anliegen::web::auth::password::verify(
        "ein neues langes Passwort",
        &hash
    ));
    let audit = store
        .audit_entries_for(&["user:2".to_string()])
        .await
        .unwrap();
    assert!(
        audit.iter().all(|e| e.actor == "cli") && audit.len() == 2,
        "{audit:?}"
    );
}

/// Started beyond loopback without an admin, the server says how to create one; with one,
/// it says nothing of the kind.
#[tokio::test]
async fn serving_beyond_loopback_without_an_admin_warns() {
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/anliegen.db", data.path().display());
    let port = crate::helpers::free_port().to_string();
    let bind = format!("0.0.0.0:{port}");
    let env = [("ANLIEGEN__SERVER__BIND", bind.as_str())];
    let mut server = crate::process::Anliegen::start("serve", data.path(), &url, &env);
    server.wait_until_working().await;
    server.kill();
    let log = server.log_text();
    assert!(
        log.contains("listening beyond loopback without any admin account")
            && log.contains("anliegen user add NAME --role admin"),
        "{log}"
    );

    let store = Store::open(&url).await.unwrap();
    add(&store, "chefin", Role::Admin, &[]).await;
    let mut server = crate::process::Anliegen::start("serve", data.path(), &url, &env);
    server.wait_until_working().await;
    server.kill();
    assert!(
        !server.log_text().contains("admin account"),
        "{}",
        server.log_text()
    );
}
