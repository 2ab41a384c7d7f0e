//! `spawn_app()`: a server on 127.0.0.1:0 with its own temporary data directory. The model
//! is loaded once per test binary and shared by every server (it runs on its own thread).

use std::{path::PathBuf, time::Duration};

use anliegen::{app::ModelSource, config::Config, embed::Embedder, store::Store, web::AppState};
use serde_json::Value;

static EMBEDDER: tokio::sync::OnceCell<Embedder> = tokio::sync::OnceCell::const_new();

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn model_dir() -> PathBuf {
    repo().join("models/multilingual-e5-small")
}

/// `../shared` beside the checkout, when this machine has it.
pub fn shared(path: &str) -> Option<PathBuf> {
    let p = repo().join("../shared").join(path);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipped: ../shared/{path} not found");
        None
    }
}

pub fn test_config(data: &std::path::Path) -> Config {
    let mut c = Config::defaults();
    c.data.dir = data.to_path_buf();
    c.database.url = format!("sqlite://{}/anliegen.db", data.display());
    c.server.bind = "127.0.0.1:0".parse().unwrap();
    c.catalogue.path = repo().join("config/catalogue.toml");
    c.model.dir = model_dir();
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
    pub client: reqwest::Client,
    pub state: AppState,
    _data: tempfile::TempDir,
}

impl TestApp {
    pub async fn post_inquiry(&self, body: &Value) -> (u16, Value) {
        let r = self
            .client
            .post(format!("{}/api/v1/inquiries", self.base))
            .json(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    pub async fn post_raw(&self, content_type: Option<&str>, body: Vec<u8>) -> (u16, Value) {
        let mut req = self
            .client
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
    let store = Store::open(&config.database.url).await.unwrap();
    let listener = tokio::net::TcpListener::bind(config.server.bind)
        .await
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(config, store);
    let app = anliegen::web::router(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    TestApp {
        base,
        client: reqwest::Client::new(),
        state,
        _data: data,
    }
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

/// A port on 127.0.0.1 that was free a moment ago, for servers the tests start.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
