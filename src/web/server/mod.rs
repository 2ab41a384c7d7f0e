//! The HTTP server: the accept loop that hands each connection to hyper (HTTP/1.1; the
//! reverse proxy in front terminates TLS and HTTP/2) with the limits that keep slow and
//! numerous clients from holding the service (README, "Limits"):
//! - connections in total (`server.max_connections`) and per client address
//!   (`server.max_connections_per_client`, trusted proxies excepted): one more is answered at
//!   once with `503 server_full` / `429 too_many_connections` and closed;
//! - a request head must arrive within `server.header_timeout_seconds`, a keep-alive
//!   connection without a request is closed after `server.idle_timeout_seconds` (`conn`);
//! - a body must arrive within `server.body_timeout_seconds` (`body`).
//!
//! `axum::serve` has no header timeout, hence this loop. Ends on `shutdown`, letting open
//! requests finish for a grace period.

mod body;
mod clients;
mod conn;

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use axum::{Router, body::Body, extract::ConnectInfo, http::Request};
use hyper::body::Incoming;
use hyper_util::{
    rt::TokioIo,
    server::graceful::{GracefulShutdown, Watcher},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::Semaphore,
};
use tower::ServiceExt;

pub use body::{BodyTimeout, body_timeout};
pub use clients::Refusal;

use self::{
    body::DeadlineBody,
    clients::{Clients, Slot},
    conn::Activity,
};
use super::ApiError;
use crate::config::{AuthConfig, Config};

/// How long open requests may run on after shutdown was asked for.
const GRACE: Duration = Duration::from_secs(10);
/// Refusals being written at once; beyond, a refused connection is closed without an answer.
const MAX_REFUSALS: usize = 64;
/// How long a refusal waits to write its answer and for the client to close.
const REFUSAL_TIME: Duration = Duration::from_secs(2);

/// The connection limits and timeouts of `[server]`.
#[derive(Debug, Clone)]
pub struct Limits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub max_connections_per_client: usize,
    auth: AuthConfig,
}

impl Limits {
    pub fn from_config(config: &Config) -> Self {
        let s = &config.server;
        Self {
            header_timeout: Duration::from_secs(s.header_timeout_seconds.max(1)),
            body_timeout: Duration::from_secs(s.body_timeout_seconds.max(1)),
            idle_timeout: Duration::from_secs(s.idle_timeout_seconds.max(1)),
            max_connections: s.max_connections,
            max_connections_per_client: s.max_connections_per_client,
            auth: config.auth.clone(),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let limits = Arc::new(limits);
    let clients = Clients::new(limits.max_connections, limits.max_connections_per_client);
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors or a connection reset before it was taken:
                    // wait a moment instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let counted = !limits.auth.is_trusted_proxy(peer.ip());
        match clients.admit(peer.ip(), counted) {
            Ok(slot) => {
                let watcher = graceful.watcher();
                tokio::spawn(connection(
                    stream,
                    peer,
                    app.clone(),
                    limits.clone(),
                    watcher,
                    slot,
                ));
            }
            Err(refusal) => {
                tracing::debug!(?refusal, open = clients.open(), "connection refused");
                if let Ok(permit) = refusals.clone().try_acquire_owned() {
                    tokio::spawn(async move {
                        refuse(stream, refusal).await;
                        drop(permit);
                    });
                }
            }
        }
    }
    drop(listener);
    if tokio::time::timeout(GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still open after the grace period were cut off");
    }
}

/// One connection: its requests go to `app` with the peer address and a body deadline,
/// until the client closes, a request head or the idle time runs out, or the server shuts
/// down. Its `slot` is given back at the end.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: Arc<Limits>,
    watcher: Watcher,
    slot: Slot,
) {
    let activity = Activity::new();
    let io = TokioIo::new(conn::Watched::new(stream, activity.clone()));
    let body_timeout = limits.body_timeout;
    let requests = activity.clone();
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let in_flight = requests.request();
        let mut request = request.map(|b| Body::new(DeadlineBody::new(Body::new(b), body_timeout)));
        request.extensions_mut().insert(ConnectInfo(peer));
        let app = app.clone();
        async move {
            let response = app.oneshot(request).await;
            drop(in_flight);
            response
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::select! {
        ended = watcher.watch(conn) => if let Err(e) = ended {
            tracing::debug!(error = %e, "connection ended with an error");
        },
        () = activity.expired(limits.header_timeout, limits.idle_timeout) => {
            tracing::debug!("connection closed: request head or idle timeout");
        }
    }
    drop(slot);
}

/// Answers a connection beyond a limit with the error's JSON and closes it. The request
/// head is read first (clients treat an answer before their request as a broken
/// connection), and what follows is read and dropped after the answer, so the close does not
/// reset the connection before the client has read it. All of it within `REFUSAL_TIME`.
async fn refuse(mut stream: TcpStream, refusal: Refusal) {
    let error = match refusal {
        Refusal::PerClient => ApiError::TooManyConnections,
        Refusal::Total => ApiError::ServerFull,
    };
    let status = error.status();
    let body = serde_json::json!({"code": error.code(), "message": error.to_string()}).to_string();
    let retry = error
        .retry_after()
        .map(|s| format!("retry-after: {s}\r\n"))
        .unwrap_or_default();
    let answer = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{retry}connection: close\r\n\r\n{body}",
        status.as_u16(),
        status.canonical_reason().unwrap_or_default(),
        body.len(),
    );
    let _ = tokio::time::timeout(REFUSAL_TIME, async {
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
            match stream.read(&mut buf).await? {
                0 => break,
                n => head.extend_from_slice(&buf[..n]),
            }
        }
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await?;
        let mut drained = 0;
        while drained < 64 * 1024 {
            match stream.read(&mut buf).await? {
                0 => break,
                n => drained += n,
            }
        }
        Ok::<_, std::io::Error>(())
    })
    .await;
}
