//! The outbox worker: claims one due mail at a time, sends it, marks it sent. Failures are
//! retried with exponential backoff; permanent ones and those past `max_attempts` end
//! `dead`. A mail is marked `sending` (with a lease) before the SMTP transaction, so after
//! a crash it is re-sent once the lease ends — at least once, with the same Message-ID.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use tokio::task::JoinHandle;

use super::Mailer;
use crate::{config::OutboxConfig, store::Store};

pub fn spawn_worker(config: OutboxConfig, store: Store, mailer: Arc<dyn Mailer>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let idle = Duration::from_secs(config.poll_seconds.max(1));
        loop {
            match deliver_next(&config, &store, mailer.as_ref()).await {
                Ok(true) => {}
                Ok(false) => tokio::time::sleep(idle).await,
                Err(e) => {
                    tracing::warn!(error = %e, "outbox: database error; retrying");
                    tokio::time::sleep(idle).await;
                }
            }
        }
    })
}

/// Sends the next due mail, if any; returns whether there was one.
pub async fn deliver_next(
    config: &OutboxConfig,
    store: &Store,
    mailer: &dyn Mailer,
) -> Result<bool, crate::store::StoreError> {
    let Some(queued) = store
        .claim_outbound(Duration::from_secs(config.lease_seconds))
        .await?
    else {
        return Ok(false);
    };
    let kind = queued.mail.kind.as_str();
    match mailer.send(&queued.mail).await {
        Ok(()) => {
            store.outbound_sent(&queued).await?;
            tracing::info!(
                outbox = queued.id,
                kind,
                attempts = queued.attempts,
                "mail sent"
            );
        }
        Err(failure) => {
            let retry = (!failure.permanent && queued.attempts < config.max_attempts)
                .then(|| Utc::now() + backoff(config, queued.attempts));
            tracing::warn!(outbox = queued.id, kind, attempts = queued.attempts,
                error = %failure.message, gave_up = retry.is_none(), "mail not sent");
            store
                .outbound_failed(queued.id, retry, &failure.message)
                .await?;
        }
    }
    Ok(true)
}

/// `retry_seconds · 2^(attempts-1)`, capped at `max_retry_seconds`.
fn backoff(config: &OutboxConfig, attempts: i64) -> chrono::Duration {
    let delay = crate::store::jobs::backoff(
        std::time::Duration::from_secs(config.retry_seconds),
        attempts,
        std::time::Duration::from_secs(config.max_retry_seconds),
    );
    chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let c = OutboxConfig {
            retry_seconds: 10,
            max_retry_seconds: 60,
            ..OutboxConfig::default()
        };
        let secs: Vec<i64> = (1..=5).map(|a| backoff(&c, a).num_seconds()).collect();
        assert_eq!(secs, [10, 20, 40, 60, 60]);
    }
}
