//! The real `anliegen` binary as a child process (`serve` or `worker`) configured through
//! `ANLIEGEN__…` variables, with its log captured to a file; killed with SIGKILL when dropped.
//! Plus the database facts the crash and log tests assert on.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::helpers::{free_port, model_dir, repo};

pub struct Anliegen {
    child: Child,
    pub base: String,
    pub log: PathBuf,
}

impl Anliegen {
    /// Starts `anliegen <command>` on `database` with `data` as its data directory.
    pub fn start(command: &str, data: &Path, database: &str, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let log = data.join(format!("{command}-{}.log", free_port()));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_anliegen"));
        cmd.arg(command)
            .current_dir(data)
            .env_remove("RUST_LOG")
            .env("ANLIEGEN__SERVER__BIND", format!("127.0.0.1:{port}"))
            .env("ANLIEGEN__DATA__DIR", data)
            .env("ANLIEGEN__DATABASE__URL", database)
            .env("ANLIEGEN__MODEL__DIR", model_dir())
            .env(
                "ANLIEGEN__CATALOGUE__PATH",
                repo().join("config/catalogue.toml"),
            )
            .env("ANLIEGEN__PIPELINE__LEASE_SECONDS", "3")
            .env("ANLIEGEN__PIPELINE__POLL_MS", "200")
            // Bursts from one address are the point of these tests.
            .env("ANLIEGEN__RATE_LIMIT__INTAKE_PER_MINUTE", "1000000")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        Self {
            child: cmd.spawn().unwrap(),
            base: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the workers run (the log says so; `worker` has no HTTP endpoint).
    pub async fn wait_until_working(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if self.log_text().contains("pipeline workers started") {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("anliegen exited with {status}:\n{}", self.log_text());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("anliegen did not start within 120 s:\n{}", self.log_text());
    }

    /// SIGKILL: no shutdown code runs, as in a power cut.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Anliegen {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Posts `texts` to `base` at once (at most 32 in flight); returns the acknowledged case
/// numbers. Every post must be acknowledged with 201 or 202.
pub async fn post_burst(base: &str, texts: Vec<(String, String)>) -> Vec<String> {
    let client = reqwest::Client::new();
    let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(32));
    let tasks: Vec<_> = texts
        .into_iter()
        .map(|(text, sender)| {
            let (client, limit, url) = (
                client.clone(),
                limit.clone(),
                format!("{base}/api/v1/inquiries"),
            );
            tokio::spawn(async move {
                let _permit = limit.acquire().await.unwrap();
                let r = client
                    .post(url)
                    .json(&json!({"text": text, "sender": sender}))
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                let body: Value = r.json().await.unwrap();
                assert!([201, 202].contains(&status), "{status} {body}");
                body["case_number"].as_str().unwrap().to_string()
            })
        })
        .collect();
    let mut cases = Vec::new();
    for t in tasks {
        cases.push(t.await.unwrap());
    }
    cases
}

pub async fn pool(url: &str) -> sqlx::AnyPool {
    crate::store::raw(url).await
}

/// Triage jobs per state.
pub async fn triage_jobs(db: &sqlx::AnyPool) -> HashMap<String, i64> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, COUNT(*) FROM jobs WHERE kind = 'triage' GROUP BY state")
            .fetch_all(db)
            .await
            .unwrap();
    rows.into_iter().collect()
}

/// Waits until `want` triage jobs are done, or panics after `limit`.
pub async fn wait_for_done(db: &sqlx::AnyPool, want: i64, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let jobs = triage_jobs(db).await;
        if jobs.get("done").copied().unwrap_or(0) >= want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not all jobs done after {limit:?}: {jobs:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
