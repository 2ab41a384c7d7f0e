//! The time the job queue decides by: when a job is due, when its lease runs out and when
//! a running step renews it. Production uses the system clock; a test hands the store a
//! [`ManualClock`] and advances it, so lease expiry is decided by the clock the test sets,
//! not by how long a loaded machine takes to wake a sleeping task. The time reaches the
//! database as a bound parameter, so SQLite and PostgreSQL decide alike.

use std::{fmt, future::Future, pin::Pin, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};

/// A source of the current time and of waits measured in it.
pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> DateTime<Utc>;

    /// Waits until this clock reads `at_ms` (milliseconds since the epoch) or later.
    fn sleep_until(&self, at_ms: i64) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;

    /// Milliseconds since the epoch, the unit of the queue's `run_at` and `locked_until`.
    fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }
}

/// The wall clock and tokio's timer.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(&self, at_ms: i64) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let wait = u64::try_from(at_ms.saturating_sub(self.now_ms())).unwrap_or(0);
        Box::pin(tokio::time::sleep(Duration::from_millis(wait)))
    }
}

/// A clock that stands still until [`ManualClock::advance`] moves it; sleeps end when it
/// has been moved far enough.
#[derive(Debug)]
pub struct ManualClock {
    /// Milliseconds since the epoch; waiters watch it.
    now_ms: tokio::sync::watch::Sender<i64>,
}

impl ManualClock {
    /// A clock standing at the current wall-clock time.
    pub fn starting_now() -> Arc<Self> {
        Arc::new(Self {
            now_ms: tokio::sync::watch::Sender::new(Utc::now().timestamp_millis()),
        })
    }

    /// Moves the clock forward by `by`, ending every sleep that is then over.
    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX / 2);
        self.now_ms.send_modify(|now| *now = now.saturating_add(by));
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(*self.now_ms.borrow()).unwrap_or_default()
    }

    fn now_ms(&self) -> i64 {
        *self.now_ms.borrow()
    }

    fn sleep_until(&self, at_ms: i64) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let mut watch = self.now_ms.subscribe();
        Box::pin(async move {
            // The sender lives as long as `self`, so the wait ends only by the clock moving.
            let _ = watch.wait_for(|now| *now >= at_ms).await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_sleep_ends_when_the_clock_has_moved_far_enough() {
        let clock = ManualClock::starting_now();
        let start = clock.now_ms();
        let sleeper = {
            let clock = clock.clone();
            tokio::spawn(async move { clock.sleep_until(start + 10_000).await })
        };
        clock.advance(Duration::from_secs(6));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.advance(Duration::from_secs(4));
        tokio::time::timeout(Duration::from_secs(5), sleeper)
            .await
            .expect("the sleep ends once ten seconds have passed")
            .unwrap();
        assert_eq!(clock.now_ms() - start, 10_000);
    }
}
