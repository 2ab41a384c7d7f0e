//! `make bench`: the latency of a normal client while a slowloris attack runs. The server
//! (the real accept loop, router and SQLite store; no model needed: intake answers `202`)
//! runs in this process on 127.0.0.1; the attacker holds `SLOW` half-sent request heads from
//! `ADDRESSES` loopback addresses (under the per-address limit, so the header timeout is
//! what frees them), trickling a header line every second. A normal client meanwhile
//! times `GET /healthz` and `POST /api/v1/inquiries`. Prints numbers only.

use secrecy::ExposeSecret;
use std::time::{Duration, Instant};

use anliegen::{config::Config, store::Store, web};
use tokio::{io::AsyncWriteExt, net::TcpSocket};

const SLOW: usize = 2000;
const ADDRESSES: usize = 50;
const SAMPLES: usize = 300;

fn config(data: &std::path::Path) -> Config {
    let mut c = Config::defaults();
    c.data.dir = data.to_path_buf();
    c.database.url = format!("sqlite://{}/anliegen.db", data.display()).into();
    c.server.bind = "127.0.0.1:0".parse().unwrap();
    c.rate_limit.intake_per_minute = 1_000_000;
    c.server.header_timeout_seconds = 5;
    c
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Times `SAMPLES` requests of each kind, one after the other.
async fn measure(base: &str, label: &str) {
    let client = reqwest::Client::new();
    for (name, post) in [("GET /healthz", false), ("POST /api/v1/inquiries", true)] {
        let mut ms = Vec::with_capacity(SAMPLES);
        let mut failed = 0;
        for n in 0..SAMPLES {
            let started = Instant::now();
            let sent = if post {
                client
                    .post(format!("{base}/api/v1/inquiries"))
                    .json(&serde_json::json!({"text": format!("Laterne {n} ist kaputt")}))
                    .send()
                    .await
            } else {
                client.get(format!("{base}/healthz")).send().await
            };
            match sent {
                Ok(r) if r.status().is_success() => {
                    ms.push(started.elapsed().as_secs_f64() * 1000.0)
                }
                _ => failed += 1,
            }
        }
        ms.sort_by(f64::total_cmp);
        println!(
            "{label:<28} {name:<24} p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms  failed {failed}",
            percentile(&ms, 0.5),
            percentile(&ms, 0.99),
            ms.last().copied().unwrap_or_default(),
        );
    }
}

#[tokio::main]
async fn main() {
    let data = tempfile::tempdir().unwrap();
    let config = config(data.path());
    let store = Store::open(config.database.url.expose_secret())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind(config.server.bind)
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let state = web::AppState::new(config, store);
    let limits = web::server::Limits::from_config(&state.config);
    tokio::spawn(web::server::serve(
        listener,
        web::router(state),
        limits,
        std::future::pending(),
    ));

    measure(&base, "no attack").await;

    let started = Instant::now();
    let mut slow = Vec::with_capacity(SLOW);
    for n in 0..SLOW {
        let socket = TcpSocket::new_v4().unwrap();
        let source = format!(
            "127.0.{}.{}:0",
            10 + n % ADDRESSES / 250,
            1 + n % ADDRESSES % 250
        );
        socket.bind(source.parse().unwrap()).unwrap();
        let mut s = socket.connect(addr).await.unwrap();
        s.write_all(b"POST /api/v1/inquiries HTTP/1.1\r\nhost: bench\r\n")
            .await
            .unwrap();
        slow.push(s);
    }
    println!(
        "slowloris: {SLOW} half-sent heads from {ADDRESSES} addresses opened in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let attack = tokio::spawn(async move {
        let t = Instant::now();
        loop {
            let mut open = 0;
            for s in &mut slow {
                if s.write_all(b"x-slow: 1\r\n").await.is_ok() {
                    open += 1;
                }
            }
            if open == 0 {
                return t.elapsed();
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    measure(&base, "during slowloris").await;
    let cut = attack.await.unwrap();
    println!(
        "slowloris: every slow connection was closed by the server {:.1} s after the attack began (header timeout 5 s)",
        cut.as_secs_f64()
    );
    measure(&base, "after slowloris").await;
}
