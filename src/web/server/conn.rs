//! Where one connection stands, for its timeouts: reading a request head (from the
//! connection's start, or from the first byte of a later request), handling requests, or
//! idle between requests. `Watched` wraps the socket and reports received bytes; the
//! service marks requests in flight; `Activity::expired` resolves when the head or the idle
//! time has run out, and the accept loop then closes the connection. Bodies have their own
//! deadline (`body`), so a request in flight is never cut off here.

use std::{
    io,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    sync::Notify,
    time::Instant,
};

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Reading a request head since then.
    Head(Instant),
    /// Requests handled now.
    InFlight(usize),
    /// Nothing to do since then.
    Idle(Instant),
}

pub struct Activity {
    phase: Mutex<Phase>,
    changed: Notify,
}

impl Activity {
    /// A new connection: its first request head is awaited from now.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            phase: Mutex::new(Phase::Head(Instant::now())),
            changed: Notify::new(),
        })
    }

    fn set(&self, f: impl FnOnce(Phase) -> Phase) {
        let mut phase = self.phase.lock().expect("connection phase");
        *phase = f(*phase);
        drop(phase);
        self.changed.notify_one();
    }

    /// Bytes arrived: on an idle connection, a new request head begins.
    fn received(&self) {
        let idle = matches!(
            *self.phase.lock().expect("connection phase"),
            Phase::Idle(_)
        );
        if idle {
            self.set(|p| match p {
                Phase::Idle(_) => Phase::Head(Instant::now()),
                other => other,
            });
        }
    }

    /// A request's head is complete; it is handled until the guard is dropped.
    pub fn request(self: &Arc<Self>) -> InFlight {
        self.set(|p| match p {
            Phase::InFlight(n) => Phase::InFlight(n + 1),
            Phase::Head(_) | Phase::Idle(_) => Phase::InFlight(1),
        });
        InFlight(self.clone())
    }

    /// Resolves once the current head has taken longer than `head`, or the connection has
    /// been idle longer than `idle`.
    pub async fn expired(&self, head: Duration, idle: Duration) {
        loop {
            let notified = self.changed.notified();
            let deadline = match *self.phase.lock().expect("connection phase") {
                Phase::Head(since) => Some(since + head),
                Phase::Idle(since) => Some(since + idle),
                Phase::InFlight(_) => None,
            };
            match deadline {
                Some(at) if at <= Instant::now() => return,
                Some(at) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = notified => {}
                    }
                }
                None => notified.await,
            }
        }
    }
}

/// A request in flight; the connection is idle again when the last one ends.
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.set(|p| match p {
            Phase::InFlight(n) if n > 1 => Phase::InFlight(n - 1),
            _ => Phase::Idle(Instant::now()),
        });
    }
}

/// The client's socket, reporting received bytes to the connection's `Activity`.
pub struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S> Watched<S> {
    pub fn new(inner: S, activity: Arc<Activity>) -> Self {
        Self { inner, activity }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.received();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: Duration = Duration::from_secs(10);
    const IDLE: Duration = Duration::from_secs(60);

    #[tokio::test(start_paused = true)]
    async fn a_head_must_arrive_in_time() {
        let a = Activity::new();
        let start = Instant::now();
        a.expired(HEAD, IDLE).await;
        assert_eq!(start.elapsed(), HEAD);
    }

    #[tokio::test(start_paused = true)]
    async fn requests_in_flight_never_expire_and_idle_time_counts_after_them() {
        let a = Activity::new();
        let request = a.request();
        let waiting = tokio::spawn({
            let a = a.clone();
            async move { a.expired(HEAD, IDLE).await }
        });
        tokio::time::sleep(Duration::from_secs(600)).await;
        assert!(!waiting.is_finished());
        let done = Instant::now();
        drop(request);
        waiting.await.unwrap();
        assert_eq!(done.elapsed(), IDLE);
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_head_on_an_idle_connection_has_the_head_timeout() {
        let a = Activity::new();
        drop(a.request());
        let waiting = tokio::spawn({
            let a = a.clone();
            async move { a.expired(HEAD, IDLE).await }
        });
        tokio::time::sleep(Duration::from_secs(5)).await;
        let first_byte = Instant::now();
        a.received();
        waiting.await.unwrap();
        assert_eq!(first_byte.elapsed(), HEAD);
    }
}
