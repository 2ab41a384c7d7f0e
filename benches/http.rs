//! `make bench`: `POST /api/v1/inquiries` end to end against a spawned `anliegen serve`
//! (release binary, the configured model, SQLite in a temporary directory, 127.0.0.1) with
//! the intake rate limit raised so the service itself is measured. The request waits for
//! the pipeline's decision (embedding, search, scoring) up to `pipeline.max_wait_ms` and
//! answers `201` decided or `202` received. Measured:
//! - p50/p99 at a paced 10 requests/s (open loop: a request every 100 ms whatever the
//!   answers do);
//! - latency and throughput at 1, 10 and 32 concurrent clients (closed loop) for a bounded
//!   time each, with the shares of 201, 202, 429 and 503 and the requests that got no answer
//!   within the client timeout (none may hang);
//! - peak resident memory (VmHWM) of the server at rest and after the load.
//!
//! The texts are the Konstanz inquiries of `../shared/data/konstanz/dev.csv` (a fixed
//! German sentence when absent). Prints numbers only.

mod common;

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

const LEVEL_SECONDS: u64 = 15;
const PACED_RATE: u64 = 10;
const PACED_SECONDS: u64 = 20;
const CLIENT_TIMEOUT: Duration = Duration::from_secs(15);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn texts() -> Vec<String> {
    let path = repo().join("../shared/data/konstanz/dev.csv");
    if path.exists() {
        common::read_texts(&path)
    } else {
        vec!["Die Straßenlaterne vor Hausnummer 7 ist seit Tagen kaputt.".into()]
    }
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(data: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_anliegen"))
            .arg("serve")
            .current_dir(data)
            .env_remove("RUST_LOG")
            .env("ANLIEGEN__LOG__LEVEL", "warn")
            .env("ANLIEGEN__SERVER__BIND", format!("127.0.0.1:{port}"))
            .env("ANLIEGEN__DATA__DIR", data)
            .env(
                "ANLIEGEN__DATABASE__URL",
                format!("sqlite://{}/anliegen.db", data.display()),
            )
            .env(
                "ANLIEGEN__MODEL__DIR",
                repo().join("models/multilingual-e5-small"),
            )
            .env(
                "ANLIEGEN__CATALOGUE__PATH",
                repo().join("config/catalogue.toml"),
            )
            .env("ANLIEGEN__RATE_LIMIT__INTAKE_PER_MINUTE", "100000000")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(data.join("serve.log")).expect("log file"))
            .spawn()
            .expect("anliegen serve starts");
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// `VmRSS` and `VmHWM` (peak) in MiB.
    fn memory(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                .map_or(f64::NAN, |kb| kb / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Default)]
struct Tally {
    ok_ms: Vec<f64>,
    created: usize,
    accepted: usize,
    too_many: usize,
    unavailable: usize,
    other: usize,
    no_answer: usize,
}

impl Tally {
    fn total(&self) -> usize {
        self.created
            + self.accepted
            + self.too_many
            + self.unavailable
            + self.other
            + self.no_answer
    }

    fn merge(&mut self, o: Tally) {
        self.ok_ms.extend(o.ok_ms);
        self.created += o.created;
        self.accepted += o.accepted;
        self.too_many += o.too_many;
        self.unavailable += o.unavailable;
        self.other += o.other;
        self.no_answer += o.no_answer;
    }

    fn row(&mut self, label: &str, seconds: f64) -> String {
        self.ok_ms.sort_by(f64::total_cmp);
        let pct = |p: f64| {
            if self.ok_ms.is_empty() {
                f64::NAN
            } else {
                let rank = ((p / 100.0) * self.ok_ms.len() as f64).ceil() as usize;
                self.ok_ms[rank.clamp(1, self.ok_ms.len()) - 1]
            }
        };
        let total = self.total().max(1) as f64;
        let share = |n: usize| 100.0 * n as f64 / total;
        format!(
            "| {label} | {} | {:.1}/s | {:.0} ms | {:.0} ms | {:.0} % | {:.0} % | {:.1} % | {:.1} % | {} | {} |",
            self.total(),
            (self.created + self.accepted) as f64 / seconds,
            pct(50.0),
            pct(99.0),
            share(self.created),
            share(self.accepted),
            share(self.too_many),
            share(self.unavailable),
            self.other,
            self.no_answer,
        )
    }
}

async fn post(client: &reqwest::Client, base: &str, text: &str, tally: &mut Tally) {
    let started = Instant::now();
    let sent = client
        .post(format!("{base}/api/v1/inquiries"))
        .json(&serde_json::json!({ "text": text }))
        .send()
        .await;
    let response = match sent {
        Ok(r) => {
            let status = r.status();
            r.bytes().await.map(|_| status)
        }
        Err(e) => Err(e),
    };
    match response.map(|s| s.as_u16()) {
        Ok(201) => tally.created += 1,
        Ok(202) => tally.accepted += 1,
        Ok(429) => return tally.too_many += 1,
        Ok(503) => return tally.unavailable += 1,
        Ok(_) => return tally.other += 1,
        Err(_) => return tally.no_answer += 1,
    }
    tally.ok_ms.push(started.elapsed().as_secs_f64() * 1e3);
}

/// `clients` loops, each sending the next request when its answer is in, for `seconds`.
async fn closed_loop(
    base: &str,
    texts: &Arc<Vec<String>>,
    clients: usize,
    seconds: u64,
) -> (Tally, f64) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let base = base.to_string();
            let texts = texts.clone();
            tokio::spawn(async move {
                let client = client();
                let mut tally = Tally::default();
                let mut n = c * 7919;
                while Instant::now() < deadline {
                    post(&client, &base, &texts[n % texts.len()], &mut tally).await;
                    n += 1;
                }
                tally
            })
        })
        .collect();
    let mut tally = Tally::default();
    for t in tasks {
        tally.merge(t.await.expect("client task"));
    }
    (tally, started.elapsed().as_secs_f64())
}

/// One request every 1/rate seconds, each on its own task, for `seconds`.
async fn paced(base: &str, texts: &Arc<Vec<String>>, rate: u64, seconds: u64) -> (Tally, f64) {
    let client = client();
    let started = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_millis(1000 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::new();
    for n in 0..(rate * seconds) as usize {
        ticker.tick().await;
        let (client, base, text) = (
            client.clone(),
            base.to_string(),
            texts[n % texts.len()].clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            post(&client, &base, &text, &mut tally).await;
            tally
        }));
    }
    let mut tally = Tally::default();
    for t in tasks {
        tally.merge(t.await.expect("request task"));
    }
    (tally, started.elapsed().as_secs_f64())
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(CLIENT_TIMEOUT)
        .build()
        .expect("HTTP client")
}

/// Waits for `/readyz` (the model is loaded).
async fn wait_ready(server: &mut Server) {
    let client = client();
    let deadline = Instant::now() + Duration::from_secs(180);
    while Instant::now() < deadline {
        if let Ok(r) = client.get(format!("{}/readyz", server.base)).send().await
            && r.status().is_success()
        {
            return;
        }
        if let Some(status) = server.child.try_wait().expect("child status") {
            panic!("anliegen serve exited with {status}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("anliegen serve was not ready within 180 s");
}

#[tokio::main]
async fn main() {
    if !repo()
        .join("models/multilingual-e5-small/e5-small-q4.bin")
        .exists()
    {
        println!("skipped: the model is missing (make model)");
        return;
    }
    let data = tempfile::tempdir().expect("temporary directory");
    let mut server = Server::start(data.path());
    wait_ready(&mut server).await;
    let texts = Arc::new(texts());
    // Warm-up: the first forwards, the database's first pages.
    closed_loop(&server.base, &texts, 1, 2).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (rss_rest, hwm_rest) = server.memory();

    println!(
        "HTTP POST /api/v1/inquiries against anliegen serve on 127.0.0.1 (client timeout {} s; \
         latency over answered 201/202)",
        CLIENT_TIMEOUT.as_secs()
    );
    println!(
        "| load | requests | answered/s | p50 | p99 | 201 decided | 202 received | 429 | 503 | other | no answer |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let (mut tally, seconds) = paced(&server.base, &texts, PACED_RATE, PACED_SECONDS).await;
    println!(
        "{}",
        tally.row(&format!("paced {PACED_RATE}/s, {PACED_SECONDS} s"), seconds)
    );
    for clients in [1, 10, 32] {
        // Let the backlog of the level before drain.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let (mut tally, seconds) = closed_loop(&server.base, &texts, clients, LEVEL_SECONDS).await;
        println!(
            "{}",
            tally.row(&format!("{clients} clients, {LEVEL_SECONDS} s"), seconds)
        );
    }
    let (rss_load, hwm_load) = server.memory();
    println!(
        "anliegen serve memory: at rest {rss_rest:.0} MiB resident (peak so far {hwm_rest:.0} MiB, \
         the model load included); after the load {rss_load:.0} MiB resident, peak {hwm_load:.0} MiB"
    );
}
