//! The request body's deadline: the whole body must arrive within `server.body_timeout_seconds`
//! of the request head. Reading past the deadline fails with [`BodyTimeout`], which the
//! extractors answer with `408 request_timeout`; the connection is then closed, because its
//! unread rest cannot be skipped.

use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use axum::body::{Body, Bytes};
use http_body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// The body did not arrive within its deadline.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0} s")]
pub struct BodyTimeout(pub u64);

pub struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<Sleep>>,
    timeout: Duration,
}

impl DeadlineBody {
    /// `inner`, which must be read completely within `timeout` from now.
    pub fn new(inner: Body, timeout: Duration) -> Self {
        Self {
            inner,
            deadline: Box::pin(tokio::time::sleep_until(Instant::now() + timeout)),
            timeout,
        }
    }
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new(BodyTimeout(
                self.timeout.as_secs(),
            ))))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The [`BodyTimeout`] that `error` is or was caused by.
pub fn body_timeout<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a BodyTimeout> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(timeout) = e.downcast_ref::<BodyTimeout>() {
            return Some(timeout);
        }
        next = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_body_that_stalls_fails_after_the_deadline_and_a_prompt_one_passes() {
        use futures_util::StreamExt;
        let first = Ok::<_, std::io::Error>(Bytes::from_static(b"{\"te"));
        let stalls = futures_util::stream::iter([first]).chain(futures_util::stream::pending());
        let slow = DeadlineBody::new(Body::from_stream(stalls), Duration::from_secs(30));
        let err = axum::body::to_bytes(Body::new(slow), 1024)
            .await
            .unwrap_err();
        assert_eq!(body_timeout(&err).map(|t| t.0), Some(30), "{err}");

        let prompt = DeadlineBody::new(Body::from("{}"), Duration::from_secs(30));
        let bytes = axum::body::to_bytes(Body::new(prompt), 1024).await.unwrap();
        assert_eq!(&bytes[..], b"{}");
    }
}
