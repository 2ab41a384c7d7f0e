//! Loading the layers: defaults, file and environment, errors naming their origin, secrets.

use std::path::PathBuf;

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn embedded_defaults_load() {
    let c = Config::defaults();
    assert_eq!(c.server.bind.port(), 8080);
    assert_eq!(c.model.format, ModelFormat::E5s1);
    assert_eq!(c.model.query_prefix, "query: ");
    assert_eq!(c.index.backend, IndexBackend::Embedded);
}

#[test]
fn index_backend_is_chosen_by_environment() {
    let c = Config::from_layers(
        None,
        env(&[
            ("ANLIEGEN__INDEX__BACKEND", "qdrant"),
            ("ANLIEGEN__INDEX__QDRANT_URL", "http://qdrant:6334"),
        ]),
    )
    .unwrap();
    assert_eq!(c.index.backend, IndexBackend::Qdrant);
    assert_eq!(c.index.qdrant_url, "http://qdrant:6334");
    let err = Config::from_layers(None, env(&[("ANLIEGEN__INDEX__BACKEND", "faiss")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("index.backend"), "{err}");
}

#[test]
fn file_overrides_single_key_and_keeps_the_rest() {
    let c = Config::from_layers(Some(("f.toml", "[server]\nbind = \"0.0.0.0:9000\"")), []).unwrap();
    assert_eq!(c.server.bind.port(), 9000);
    assert_eq!(c.server.max_body_bytes, 262144);
}

#[test]
fn environment_overrides_file() {
    let c = Config::from_layers(
        Some(("f.toml", "[triage]\ncandidates = 3")),
        env(&[
            ("ANLIEGEN__TRIAGE__CANDIDATES", "7"),
            ("ANLIEGEN__DATA__DIR", "/var/lib/anliegen"),
            ("OTHER", "x"),
        ]),
    )
    .unwrap();
    assert_eq!(c.triage.candidates, 7);
    assert_eq!(c.data.dir, PathBuf::from("/var/lib/anliegen"));
}

#[test]
fn unknown_key_is_an_error_naming_the_origin() {
    let err = Config::from_layers(Some(("site.toml", "[server]\nport = 1")), [])
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("site.toml:"), "{err}");
    assert!(err.contains("port"), "{err}");
}

#[test]
fn malformed_env_name_is_rejected() {
    let err = Config::from_layers(None, env(&[("ANLIEGEN__SERVER__", "1")])).unwrap_err();
    assert!(matches!(err, ConfigError::Env { .. }));
}

#[test]
fn wrongly_typed_env_value_is_blamed_on_the_variable() {
    let err = Config::from_layers(
        Some(("site.toml", "[server]\nmax_text_chars = 100")),
        env(&[("ANLIEGEN__SERVER__MAX_BODY_BYTES", "lots")]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with(
            "environment variable ANLIEGEN__SERVER__MAX_BODY_BYTES: server.max_body_bytes:"
        ),
        "{err}"
    );
    let err = Config::from_layers(
        Some(("site.toml", "[server]\nmax_body_bytes = \"lots\"")),
        [],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("site.toml: server.max_body_bytes:"),
        "{err}"
    );
}

#[test]
fn an_unknown_key_from_the_environment_is_blamed_on_it() {
    let err = Config::from_layers(
        Some(("site.toml", "[server]\nmax_text_chars = 100")),
        env(&[("ANLIEGEN__SERVER__PORT", "1")]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("environment variable ANLIEGEN__SERVER__PORT: server.port:"),
        "{err}"
    );
}

#[test]
fn no_secret_shows_in_debug_output() {
    use secrecy::ExposeSecret;
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, secret: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("{secret}\nsecond line\n")).unwrap();
        path.display().to_string()
    };
    let (imap, smtp, hook) = (
        file("imap", "imap-s3cr3t"),
        file("smtp", "smtp-s3cr3t"),
        file("hook", "hook-s3cr3t"),
    );
    let toml = format!(
        r#"
[mail]
enabled = true
[mail.smtp]
user = "anliegen"
password_file = "{smtp}"
[[mail.imap]]
name = "poststelle"
host = "imap.kreis.example"
port = 993
security = "tls"
user = "poststelle"
password_file = "{imap}"
[[webhooks.subscriptions]]
name = "leitstelle"
url = "https://leitstelle.example/hooks"
secret_file = "{hook}"
"#
    );
    let c = Config::from_layers(
        Some(("site.toml", &toml)),
        env(&[(
            "ANLIEGEN__DATABASE__URL",
            "postgres://anliegen:db-s3cr3t@db/anliegen",
        )]),
    )
    .unwrap();
    let secrets = [
        c.database.url.clone(),
        c.mail.imap[0].password().unwrap().unwrap(),
        c.mail.smtp.password().unwrap().unwrap(),
        c.webhooks.subscriptions[0].secret().unwrap(),
    ];
    let shown = format!("{c:?} {c:#?} {secrets:?}");
    assert!(!shown.contains("s3cr3t"), "{shown}");
    assert!(shown.contains("REDACTED"), "{shown}");
    let exposed: Vec<&str> = secrets.iter().map(|s| s.expose_secret()).collect();
    assert_eq!(
        exposed,
        [
            "postgres://anliegen:db-s3cr3t@db/anliegen",
            "imap-s3cr3t",
            "smtp-s3cr3t",
            "hook-s3cr3t"
        ]
    );
}

#[test]
fn plain_mail_is_refused_beyond_loopback() {
    let ok = Config::from_layers(
        None,
        env(&[
            ("ANLIEGEN__MAIL__SMTP__SECURITY", "plain"),
            ("ANLIEGEN__MAIL__SMTP__HOST", "127.0.0.1"),
        ]),
    );
    assert!(ok.is_ok());
    let err = Config::from_layers(
        None,
        env(&[
            ("ANLIEGEN__MAIL__SMTP__SECURITY", "plain"),
            ("ANLIEGEN__MAIL__SMTP__HOST", "mail.landkreis.de"),
        ]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("mail.smtp.security") && err.contains("mail.landkreis.de"),
        "{err}"
    );
}
