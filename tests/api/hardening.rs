//! Slow and numerous clients against the real server on real sockets: slowloris heads and
//! bodies are cut off after their timeouts while a normal client keeps being served, idle
//! keep-alive connections are closed, connections beyond the per-address and total limits
//! are refused with the JSON contract, and a declared oversize body is refused before it is
//! sent.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};

use crate::helpers::{TestApp, spawn_app_with};

fn addr(app: &TestApp) -> SocketAddr {
    app.base.trim_start_matches("http://").parse().unwrap()
}

/// A connection from `source` (any address of 127.0.0.0/8) to the server.
async fn connect_from(app: &TestApp, source: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(addr(app)).await.unwrap()
}

/// Everything the server sends until it closes the connection, or `None` if it is still
/// open after `within`.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut all = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok()
        .map(|()| String::from_utf8_lossy(&all).into_owned())
}

/// Status, lower-cased head and JSON body of a raw HTTP answer.
fn parse_answer(raw: &str) -> (u16, String, Value) {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (
        status,
        head.to_ascii_lowercase(),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

/// Many half-sent request heads, trickling a header line now and then, are all cut off
/// after `server.header_timeout_seconds`; meanwhile a normal client is served every time,
/// and afterwards every slow connection is gone.
#[tokio::test]
async fn slowloris_heads_are_cut_off_while_a_normal_client_is_served() {
    const SLOW: usize = 300;
    let app = spawn_app_with(|c| {
        c.server.header_timeout_seconds = 2;
        c.server.max_connections_per_client = 1000;
    })
    .await;
    let mut slow = Vec::new();
    for _ in 0..SLOW {
        let mut s = TcpStream::connect(addr(&app)).await.unwrap();
        s.write_all(b"POST /api/v1/inquiries HTTP/1.1\r\nhost: test\r\n")
            .await
            .unwrap();
        slow.push(s);
    }
    let trickle = tokio::spawn(async move {
        let started = Instant::now();
        let mut closed = 0;
        // Until the server closes them: a header line every 300 ms keeps each one busy.
        while closed < SLOW && started.elapsed() < Duration::from_secs(20) {
            closed = 0;
            for s in &mut slow {
                if s.write_all(b"x-slow: 1\r\n").await.is_err() {
                    closed += 1;
                }
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        (closed, started.elapsed())
    });
    let normal = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut served = 0;
    while !trickle.is_finished() {
        let r = normal
            .get(format!("{}/healthz", app.base))
            .send()
            .await
            .expect("the normal client is served during the attack");
        assert_eq!(r.status().as_u16(), 200);
        served += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (closed, took) = trickle.await.unwrap();
    assert_eq!(
        closed, SLOW,
        "every slow connection was closed by the server"
    );
    assert!(took < Duration::from_secs(20), "closed after {took:?}");
    assert!(served > 10, "the normal client was served {served} times");
    let (status, receipt) = app
        .post_inquiry(&serde_json::json!({"text": "Die Laterne ist kaputt"}))
        .await;
    assert!(status == 202 || status == 201, "{status} {receipt}");
}

/// A body that stops arriving is answered `408 request_timeout` after
/// `server.body_timeout_seconds` and its connection is closed; nothing is stored.
#[tokio::test]
async fn a_stalled_body_is_408_and_closed() {
    let app = spawn_app_with(|c| c.server.body_timeout_seconds = 2).await;
    let mut s = TcpStream::connect(addr(&app)).await.unwrap();
    s.write_all(
        b"POST /api/v1/inquiries HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n\
          content-length: 100\r\n\r\n{\"text\": \"Die La",
    )
    .await
    .unwrap();
    let raw = read_until_closed(&mut s, Duration::from_secs(10))
        .await
        .expect("the server answers and closes");
    let (status, _, body) = parse_answer(&raw);
    assert_eq!(status, 408, "{raw}");
    assert_eq!(body["code"], "request_timeout");
    assert_eq!(app.state.store.triage_backlog().await.unwrap(), 0);
}

/// A keep-alive connection is served, then closed after `server.idle_timeout_seconds`
/// without a request.
#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let app = spawn_app_with(|c| {
        c.server.idle_timeout_seconds = 2;
        c.server.header_timeout_seconds = 30;
    })
    .await;
    let mut s = TcpStream::connect(addr(&app)).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = s.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let started = Instant::now();
    assert!(
        read_until_closed(&mut s, Duration::from_secs(10))
            .await
            .is_some(),
        "the idle connection is closed"
    );
    assert!(started.elapsed() >= Duration::from_millis(1500));
}

/// Connections beyond `server.max_connections_per_client` from one address are answered
/// `429 too_many_connections` and closed; another address is still served, and a closed
/// connection frees its place.
#[tokio::test]
async fn too_many_connections_from_one_address_are_refused() {
    let app = spawn_app_with(|c| {
        c.server.max_connections_per_client = 5;
        c.server.header_timeout_seconds = 60;
    })
    .await;
    // An address of its own: the test app's clients keep connections from 127.0.0.1.
    let client = "127.0.0.4";
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(connect_from(&app, client).await);
    }
    let mut sixth = connect_from(&app, client).await;
    let _ = sixth
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: test\r\n\r\n")
        .await;
    let raw = read_until_closed(&mut sixth, Duration::from_secs(5))
        .await
        .expect("refused and closed at once");
    let (status, head, body) = parse_answer(&raw);
    assert_eq!(status, 429, "{raw}");
    assert!(head.contains("retry-after: 1"), "{head}");
    assert_eq!(body["code"], "too_many_connections");

    // Another client address is not affected.
    let mut other = connect_from(&app, "127.0.0.5").await;
    other
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let raw = read_until_closed(&mut other, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(parse_answer(&raw).0, 200, "{raw}");

    drop(held.pop());
    let mut served = false;
    for _ in 0..50 {
        let mut again = connect_from(&app, client).await;
        let _ = again
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n")
            .await;
        let raw = read_until_closed(&mut again, Duration::from_secs(5))
            .await
            .unwrap();
        if parse_answer(&raw).0 == 200 {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served, "a freed place is given to the next connection");
}

/// Beyond `server.max_connections` in total, every address is refused with
/// `503 server_full`.
#[tokio::test]
async fn connections_beyond_the_total_are_refused() {
    let app = spawn_app_with(|c| {
        c.server.max_connections = 3;
        c.server.header_timeout_seconds = 60;
    })
    .await;
    // The admin client of the test app may hold a pooled connection; fill up to the total.
    let mut held = Vec::new();
    let raw = loop {
        let mut s = connect_from(&app, "127.0.0.3").await;
        let _ = s
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: test\r\n\r\n")
            .await;
        let mut buf = [0u8; 2048];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .unwrap()
            .unwrap_or(0);
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if !text.starts_with("HTTP/1.1 200") {
            break text;
        }
        held.push(s);
        assert!(held.len() <= 3, "more than max_connections were served");
    };
    let (status, head, body) = parse_answer(&raw);
    assert_eq!(status, 503, "{raw}");
    assert!(head.contains("retry-after: 1"), "{head}");
    assert_eq!(body["code"], "server_full");
}

/// A request that declares a 1 GB body is answered 413 at once, without sending any of it
/// and without a `100 Continue`; nothing is stored.
#[tokio::test]
async fn a_declared_gigabyte_body_is_413_before_it_is_sent() {
    let app = spawn_app_with(|_| {}).await;
    for expect in ["", "expect: 100-continue\r\n"] {
        let mut s = TcpStream::connect(addr(&app)).await.unwrap();
        s.write_all(
            format!(
                "POST /api/v1/inquiries HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n\
                 content-length: 1073741824\r\n{expect}\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        let mut buf = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("answered at once, not after the body timeout")
            .unwrap();
        let raw = String::from_utf8_lossy(&buf[..n]).into_owned();
        let (status, _, body) = parse_answer(&raw);
        assert_eq!(status, 413, "{raw}");
        assert_eq!(body["code"], "body_too_large");
        assert!(body["message"].as_str().unwrap().contains("262144"));
    }
    assert_eq!(app.get("/healthz").await.0, 200);
    assert_eq!(app.state.store.triage_backlog().await.unwrap(), 0);
}
