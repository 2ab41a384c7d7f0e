//! `spawn_app()`: a server on 127.0.0.1:0 with its own temporary data directory and an
//! admin account whose logged-in client is `TestApp::client`; `clerk()` adds clerks. The
//! model is loaded once per test binary and shared by every server (it runs on its own
//! thread).

use secrecy::ExposeSecret;
use std::{path::PathBuf, time::Duration};

use anliegen::{
    app::ModelSource,
    config::Config,
    domain::{Role, UserName},
    embed::Embedder,
    store::{NewUser, Store},
    web::{AppState, auth::password},
};
use serde_json::{Value, json};

/// Every test account's password.
pub const PASSWORD: &str = "richtig langes Passwort";

static EMBEDDER: tokio::sync::OnceCell<Embedder> = tokio::sync::OnceCell::const_new();

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn model_dir() -> PathBuf {
    repo().join("models/multilingual-e5-small")
}

/// `../shared` beside the checkout, when this machine has it. Missing is a failure under
/// `CI=true`; on a developer's machine the caller skips and this says why.
pub fn shared(path: &str) -> Option<PathBuf> {
    let p = repo().join("../shared").join(path);
    if p.exists() {
        Some(p)
    } else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "../shared/{path} is required under CI=true"
        );
        eprintln!("skipped: ../shared/{path} not found");
        None
    }
}

pub fn test_config(data: &std::path::Path) -> Config {
    let mut c = Config::defaults();
    c.data.dir = data.to_path_buf();
    c.database.url = format!("sqlite://{}/anliegen.db", data.display()).into();
    c.server.bind = "127.0.0.1:0".parse().unwrap();
    c.catalogue.path = repo().join("config/catalogue.toml");
    c.model.dir = model_dir();
    // The suites post far more from one address than a citizen would; the rate limits have
    // tests of their own.
    c.rate_limit.intake_per_minute = 1_000_000;
    c.rate_limit.status_per_minute = 1_000_000;
    c.rate_limit.suggest_per_minute = 1_000_000;
    c.rate_limit.login_per_client = 1_000_000;
    c.rate_limit.login_per_account = 1_000_000;
    // Dozens of suites share two cores: a decision can take far longer than a citizen would
    // wait. Tests that answer before the decision say so with a short wait of their own.
    c.pipeline.max_wait_ms = 120_000;
    c
}

pub async fn shared_embedder() -> Embedder {
    EMBEDDER
        .get_or_init(|| async {
            let config = test_config(std::path::Path::new("unused"));
            anliegen::app::start_embedder(&config)
                .await
                .expect("the model is missing or broken: run `make model` first")
        })
        .await
        .clone()
}

pub struct TestApp {
    pub base: String,
    /// Logged in as the admin `admin`.
    pub client: reqwest::Client,
    /// Without credentials, as citizens come.
    pub anonymous: reqwest::Client,
    pub state: AppState,
    _data: tempfile::TempDir,
}

impl TestApp {
    /// Creates an account in the store (as the tests' setup, audited as `test`).
    pub async fn add_user(&self, name: &str, role: Role, departments: &[&str]) {
        add_user(&self.state.store, name, role, departments).await;
    }

    /// A client with a session of `name` (password [`PASSWORD`]).
    pub async fn login(&self, name: &str) -> reqwest::Client {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let r = client
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({"username": name, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "login of {name}");
        client
    }

    /// A new clerk of `departments`, logged in.
    pub async fn clerk(&self, name: &str, departments: &[&str]) -> reqwest::Client {
        self.add_user(name, Role::Clerk, departments).await;
        self.login(name).await
    }

    /// Posts a new inquiry without credentials.
    /// The stored inquiry of `case`, which must exist.
    pub async fn stored(&self, case: &str) -> anliegen::store::StoredInquiry {
        self.state
            .store
            .inquiry(&case.parse().unwrap())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no case {case}"))
    }

    pub async fn post_inquiry(&self, body: &Value) -> (u16, Value) {
        let r = self
            .anonymous
            .post(format!("{}/api/v1/inquiries", self.base))
            .json(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// Posts a new inquiry that must be decided at once and returns it as staff see it,
    /// with the whole decision.
    pub async fn route_inquiry(&self, body: &Value) -> Value {
        let (status, receipt) = self.post_inquiry(body).await;
        assert_eq!(status, 201, "{receipt}");
        let case = receipt["case_number"].as_str().unwrap();
        let (status, stored) = self.get(&format!("/api/v1/inquiries/{case}")).await;
        assert_eq!(status, 200, "{stored}");
        stored
    }

    pub async fn post_raw(&self, content_type: Option<&str>, body: Vec<u8>) -> (u16, Value) {
        let mut req = self
            .anonymous
            .post(format!("{}/api/v1/inquiries", self.base))
            .body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let r = req.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// Starts the engine with the shared model and waits until the server is ready.
    pub async fn start_engine(&self) {
        // The task runs for the server's lifetime; only a failed start would end it.
        drop(anliegen::app::spawn_engine(
            self.state.clone(),
            ModelSource::Shared(shared_embedder().await),
        ));
        // Generous: the crash tests load the model in separate processes at the same time.
        for _ in 0..1800 {
            if self.get("/readyz").await.0 == 200 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("server did not become ready within 180 s");
    }
}

/// A server that accepts requests but has no model yet (`/readyz` answers 503).
pub async fn spawn_app_without_engine() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like [`spawn_app_without_engine`], with the test config adjusted by `adjust`.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let data = tempfile::tempdir().unwrap();
    let mut config = test_config(data.path());
    adjust(&mut config);
    let store = Store::open(config.database.url.expose_secret())
        .await
        .unwrap();
    // A second replica on a shared database finds the admin already there.
    let admin = UserName::parse("admin").unwrap();
    if store.user(&admin).await.unwrap().is_none() {
        add_user(&store, "admin", Role::Admin, &[]).await;
    }
    let listener = tokio::net::TcpListener::bind(config.server.bind)
        .await
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(config, store);
    let limits = anliegen::web::server::Limits::from_config(&state.config);
    let app = anliegen::web::router(state.clone());
    tokio::spawn(anliegen::web::server::serve(
        listener,
        app,
        limits,
        std::future::pending(),
    ));
    let mut app = TestApp {
        base,
        client: reqwest::Client::new(),
        anonymous: reqwest::Client::new(),
        state,
        _data: data,
    };
    app.client = app.login("admin").await;
    app
}

async fn add_user(store: &Store, name: &str, role: Role, departments: &[&str]) {
    let departments: Vec<String> = departments.iter().map(|d| d.to_string()).collect();
    let name = UserName::parse(name).unwrap();
    let hash = password::hash(PASSWORD).unwrap();
    let new = NewUser {
        name: &name,
        role,
        departments: &departments,
        password_hash: &hash,
    };
    store.create_user(&new, "test").await.unwrap();
}

/// A ready server.
pub async fn spawn_app() -> TestApp {
    let app = spawn_app_without_engine().await;
    app.start_engine().await;
    app
}

/// The figures every evaluation report carries (`anliegen eval`, the admin API), each a
/// share between 0 and 1.
pub fn assert_eval_figures(r: &serde_json::Value) {
    for key in [
        "accuracy",
        "macro_f1",
        "top3_accuracy",
        "ece",
        "coverage_at_95_precision",
    ] {
        let x = r[key].as_f64().unwrap_or(-1.0);
        assert!((0.0..=1.0).contains(&x), "{key}: {r}");
    }
}

/// A port on 127.0.0.1 that was free a moment ago, for another process that must be told
/// its port (Qdrant, Dovecot, the SMTP sink, chromedriver, the `anliegen` binary). Another
/// process may take it before that one binds it: their starters retry on a bind failure.
/// A server the test runs itself binds port 0 and is handed the listener instead.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
