//! Catalogue import end to end: the real binary imports the Munich DLDB export and the
//! XZuFi fixture into a fresh database, the server routes with the imported version, a
//! malformed file imports nothing, and versions and their diff follow the changes.

use serde_json::{Value, json};

use crate::{
    cli::{anliegen, stderr},
    helpers::{repo, shared, spawn_app_with},
};

const XZUFI: &str = "tests/fixtures/xzufi/musterland.xml";

struct Db {
    dir: tempfile::TempDir,
}

impl Db {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn url(&self) -> String {
        format!("sqlite://{}/anliegen.db", self.dir.path().display())
    }

    /// Runs the binary against this database; returns success, stdout and stderr.
    fn run(&self, args: &[&str]) -> (bool, String, String) {
        let out = anliegen(args, &[("ANLIEGEN__DATABASE__URL", self.url())], None);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr(&out),
        )
    }

    fn import(&self, args: &[&str]) -> Value {
        let mut all = vec!["catalogue", "import", "--report", "json"];
        all.extend_from_slice(args);
        let (ok, out, err) = self.run(&all);
        assert!(ok, "{err}");
        serde_json::from_str(&out).unwrap()
    }

    /// A server on this database, ready.
    async fn serve(&self) -> crate::helpers::TestApp {
        let url = self.url();
        let app = spawn_app_with(|c| c.database.url = url.into()).await;
        app.start_engine().await;
        app
    }
}

async fn route(app: &crate::helpers::TestApp, text: &str) -> Value {
    app.route_inquiry(&json!({"text": text})).await["decision"].clone()
}

#[tokio::test]
async fn munich_dldb_import_is_stored_once_and_served() {
    let (Some(services), Some(locations)) = (
        shared("data/muenchen/services_de.json"),
        shared("data/muenchen/locations_de.json"),
    ) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "../shared/data/muenchen is missing"
        );
        return;
    };
    let (services, locations) = (
        services.display().to_string(),
        locations.display().to_string(),
    );
    let db = Db::new();
    let args = ["--format", "dldb", &services, "--locations", &locations];
    let first = db.import(&args);
    assert_eq!(first["version"]["status"], "created", "{first}");
    assert_eq!(first["version"]["version"], 1);
    let report = &first["import"];
    assert!(report["services"].as_u64().unwrap() >= 200, "{report}");
    let skipped = report["skipped"].as_array().unwrap();
    assert!(
        skipped
            .iter()
            .any(|s| s["entry"].as_str().unwrap().contains("id 1063505")
                && s["reason"].as_str().unwrap().contains("no department"))
    );
    // The same file again changes nothing.
    let again = db.import(&args);
    assert_eq!(again["version"]["status"], "unchanged", "{again}");

    let app = db.serve().await;
    let (_, ready) = app.get("/readyz").await;
    assert_eq!(ready["services"], report["services"]);
    let d = route(
        &app,
        "Ich habe meinen Reisepass verloren, was muss ich jetzt tun?",
    )
    .await;
    assert_eq!(d["service"]["id"], "1078273", "{d}");
    assert_eq!(d["department"]["id"], "buergerbuero-ruppertstrasse");
    assert_eq!(d["department"]["mailbox"], "buergerbuero.kvr@muenchen.de");
}

#[tokio::test]
async fn xzufi_fixture_is_imported_served_versioned_and_diffed() {
    let db = Db::new();
    let fixture = repo().join(XZUFI).display().to_string();
    let first = db.import(&["--format", "xzufi", &fixture]);
    assert_eq!(first["import"]["services"], 2, "{first}");
    let reasons: Vec<&str> = first["import"]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("onlinedienst")),
        "{reasons:?}"
    );

    // A changed fee is a new version whose only change is that service's facts.
    let changed = db.dir.path().join("changed.xml");
    std::fs::write(
        &changed,
        std::fs::read_to_string(repo().join(XZUFI))
            .unwrap()
            .replace("35,00 Euro", "42,00 Euro"),
    )
    .unwrap();
    let second = db.import(&["--format", "xzufi", changed.to_str().unwrap()]);
    assert_eq!(second["version"]["version"], 2, "{second}");
    let (ok, diff, err) = db.run(&["catalogue", "diff", "1", "2"]);
    assert!(ok, "{err}");
    assert_eq!(
        diff.trim(),
        "~ service l100042_fahrerlaubnis_umtausch: facts"
    );
    let (_, versions, _) = db.run(&["catalogue", "versions"]);
    assert_eq!(versions.lines().count(), 2, "{versions}");

    let app = db.serve().await;
    let d = route(
        &app,
        "Ich wohne seit März hier und will meinen türkischen Führerschein umtauschen",
    )
    .await;
    assert_eq!(d["service"]["id"], "l100042_fahrerlaubnis_umtausch", "{d}");
    assert_eq!(
        d["department"]["mailbox"],
        "fahrerlaubnis@landkreis-musterland.example"
    );
}

#[tokio::test]
async fn malformed_files_are_refused_naming_the_place_and_import_nothing() {
    let db = Db::new();
    let xml = std::fs::read_to_string(repo().join(XZUFI)).unwrap();
    let cut = db.dir.path().join("cut.xml");
    std::fs::write(
        &cut,
        &xml[..xml.find("<xzufi:organisationseinheit>").unwrap()],
    )
    .unwrap();
    let (ok, _, err) = db.run(&[
        "catalogue",
        "import",
        "--format",
        "xzufi",
        cut.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("error: {}: byte ", cut.display())),
        "{err}"
    );
    assert!(err.contains("the file ends inside <schreibe>"), "{err}");

    let json = db.dir.path().join("services.json");
    std::fs::write(
        &json,
        r#"{"data": [{"id": "1", "name": ["not", "a", "name"]}]}"#,
    )
    .unwrap();
    let (ok, _, err) = db.run(&[
        "catalogue",
        "import",
        "--format",
        "dldb",
        json.to_str().unwrap(),
        "--locations",
        json.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(err.contains("data[0].name: invalid type"), "{err}");

    let (_, versions, _) = db.run(&["catalogue", "versions"]);
    assert_eq!(versions.trim(), "", "nothing was imported");
}

#[tokio::test]
async fn admins_import_through_the_api_with_the_same_report_and_errors() {
    let app = spawn_app_with(|_| {}).await;
    let xml = std::fs::read_to_string(repo().join(XZUFI)).unwrap();
    let body = |content: &str| json!({"format": "xzufi", "files": [{"name": "musterland.xml", "content": content}]});
    let (status, first) = app
        .post_json("/api/v1/admin/catalogue/import", &body(&xml))
        .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["import"]["services"], 2);
    assert_eq!(first["version"]["status"], "created");
    let (status, again) = app
        .post_json("/api/v1/admin/catalogue/import", &body(&xml))
        .await;
    assert_eq!(
        (status, again["version"]["status"].as_str()),
        (200, Some("unchanged"))
    );

    let cut = &xml[..xml.find("<xzufi:organisationseinheit>").unwrap()];
    let (status, err) = app
        .post_json("/api/v1/admin/catalogue/import", &body(cut))
        .await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["code"], "invalid_field");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .starts_with("musterland.xml: byte "),
        "{err}"
    );
    let (status, err) = app
        .post_json(
            "/api/v1/admin/catalogue/import",
            &json!({"format": "pdf", "files": []}),
        )
        .await;
    assert_eq!((status, err["code"].as_str()), (422, Some("invalid_field")));

    let (status, list) = app.get("/api/v1/admin/catalogue/versions").await;
    assert_eq!(status, 200);
    assert_eq!(list["versions"].as_array().unwrap().len(), 1, "{list}");
    let (status, one) = app.get("/api/v1/admin/catalogue/versions/1").await;
    assert_eq!(status, 200);
    assert!(
        one["catalogue"]
            .as_str()
            .unwrap()
            .contains("l100042_wohngeld")
    );
    assert_eq!(app.get("/api/v1/admin/catalogue/versions/9").await.0, 404);
}
