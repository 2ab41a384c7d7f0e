//! Outbound webhooks. Every event of an inquiry (`store::webhooks::Event`) is queued as one
//! job of kind `webhook` per subscription that wants it; the pipeline's workers deliver it
//! here, and a failure goes back to the queue with exponential backoff like any job, until
//! `webhooks.max_attempts`, then `dead` for an admin to retry.
//!
//! A `generic` subscription gets the event as JSON, signed: `X-Anliegen-Signature:
//! sha256=<hex>` is HMAC-SHA256 with the subscription's secret over `<timestamp>.<body>`,
//! where `<timestamp>` is `X-Anliegen-Timestamp` (Unix seconds of this attempt), so a
//! receiver can refuse replays of old deliveries. A `zammad` subscription turns each routed
//! inquiry into a ticket (`zammad`). Text, sender and place go out only to subscriptions
//! with `personal_data = true`.

mod zammad;

use std::time::Duration;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::{
    config::{Config, WebhookKind, WebhookSubscription, WebhooksConfig},
    domain::RouteStatus,
    store::{
        Job, Store, StoreError, StoredInquiry,
        webhooks::{DecisionSummary, Event, EventPayload, Subscriber},
    },
};

/// Why a delivery failed; never personal data (it is stored as the job's last error).
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the job has no valid webhook payload: {0}")]
    Payload(String),
    #[error("the secret of webhook '{0}' cannot be read: {1}")]
    Secret(String, String),
    #[error("webhook '{0}': {1}")]
    Transport(String, String),
    #[error("webhook '{0}': the receiver answered HTTP {1}")]
    Refused(String, u16),
    #[error("webhook '{0}': unexpected answer: {1}")]
    Answer(String, String),
}

/// The subscriptions of `config` as the store queues their events.
pub fn subscribers(config: &WebhooksConfig) -> Vec<Subscriber> {
    let all = [
        Event::Received,
        Event::Routed,
        Event::Reviewed,
        Event::Replied,
        Event::Closed,
    ];
    config
        .subscriptions
        .iter()
        .map(|s| Subscriber {
            name: s.name.clone(),
            events: all.into_iter().filter(|e| s.wants(e.as_str())).collect(),
        })
        .collect()
}

/// Delivers webhook jobs; one per process, shared by the pipeline's workers.
pub struct Webhooks {
    config: WebhooksConfig,
    client: reqwest::Client,
    /// `server.public_url`, for the links to the case.
    public_url: String,
}

/// What one delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivered {
    Sent,
    /// Nothing to send: the subscription is gone, the case erased or outside its
    /// departments, or the ticket exists already.
    Skipped,
}

impl Webhooks {
    pub fn new(config: &Config) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.webhooks.timeout_seconds.max(1)))
            .user_agent(concat!("anliegen/", env!("CARGO_PKG_VERSION")))
            // A receiver's redirect is not followed: the signature names one URL.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("the HTTP client builds");
        Self {
            config: config.webhooks.clone(),
            client,
            public_url: config.server.public_url.trim_end_matches('/').to_string(),
        }
    }

    /// The delay before the next attempt of a delivery that failed `attempts` times.
    pub fn backoff(&self, attempts: i64) -> Duration {
        crate::store::jobs::backoff(
            Duration::from_millis(self.config.backoff_base_ms),
            attempts,
            Duration::from_secs(self.config.max_backoff_seconds),
        )
    }

    /// Delivers the event of `job` to its subscription.
    pub async fn deliver(&self, store: &Store, job: &Job) -> Result<Delivered, DeliveryError> {
        let payload: EventPayload = job
            .payload
            .as_deref()
            .ok_or_else(|| DeliveryError::Payload("missing".into()))
            .and_then(|p| {
                serde_json::from_str(p).map_err(|e| DeliveryError::Payload(e.to_string()))
            })?;
        let outcome = self.attempt(store, job, &payload).await;
        let label = match &outcome {
            Ok(Delivered::Sent) => "sent",
            Ok(Delivered::Skipped) => "skipped",
            Err(_) => "failed",
        };
        metrics::counter!(
            "anliegen_webhook_deliveries_total",
            "subscription" => payload.subscription.clone(),
            "event" => payload.event.as_str(),
            "outcome" => label,
        )
        .increment(1);
        outcome
    }

    async fn attempt(
        &self,
        store: &Store,
        job: &Job,
        payload: &EventPayload,
    ) -> Result<Delivered, DeliveryError> {
        let Some(sub) = self
            .config
            .subscriptions
            .iter()
            .find(|s| s.name == payload.subscription)
        else {
            tracing::info!(job = job.id, subscription = %payload.subscription, "webhook subscription no longer configured; skipped");
            return Ok(Delivered::Skipped);
        };
        let inquiry = match job.inquiry_id {
            Some(id) => store.inquiry_by_id(id).await?,
            None => None,
        };
        let Some(inquiry) = inquiry else {
            return Ok(Delivered::Skipped);
        };
        let decision = payload
            .decision
            .clone()
            .or_else(|| inquiry.decision.as_ref().map(DecisionSummary::from));
        let department = decision.as_ref().map(|d| d.department_id.as_str());
        if !sub.departments.is_empty()
            && !department.is_some_and(|d| sub.departments.iter().any(|x| x == d))
        {
            return Ok(Delivered::Skipped);
        }
        let secret = sub
            .secret()
            .map_err(|e| DeliveryError::Secret(sub.name.clone(), e.to_string()))?;
        match sub.kind {
            WebhookKind::Generic => {
                let body = self.event_body(job, payload, sub, &inquiry, decision.as_ref());
                self.post_signed(sub, &secret, payload.event, job.id, &body)
                    .await?;
                tracing::info!(job = job.id, subscription = %sub.name, event = payload.event.as_str(), "webhook delivered");
                Ok(Delivered::Sent)
            }
            WebhookKind::Zammad => {
                let Some(decision) = decision.filter(|d| d.status == RouteStatus::Routed) else {
                    // A ticket once a department is certain: routed, or decided by a clerk.
                    return Ok(Delivered::Skipped);
                };
                if store.ticket(inquiry.id, &sub.name).await?.is_some() {
                    return Ok(Delivered::Skipped);
                }
                let link = self.link(&inquiry);
                let ticket =
                    zammad::open_ticket(&self.client, sub, &secret, &inquiry, &decision, &link)
                        .await?;
                store
                    .save_ticket(
                        inquiry.id,
                        &sub.name,
                        "zammad",
                        &ticket.id,
                        ticket.number.as_deref(),
                    )
                    .await?;
                tracing::info!(job = job.id, subscription = %sub.name, ticket = %ticket.id, "zammad ticket opened");
                Ok(Delivered::Sent)
            }
        }
    }

    /// The staff page of the case.
    fn link(&self, inquiry: &StoredInquiry) -> String {
        format!("{}/app/faelle/{}", self.public_url, inquiry.case_number)
    }

    /// The JSON a generic subscription receives.
    fn event_body(
        &self,
        job: &Job,
        payload: &EventPayload,
        sub: &WebhookSubscription,
        inquiry: &StoredInquiry,
        decision: Option<&DecisionSummary>,
    ) -> Vec<u8> {
        let mut case = json!({
            "case_number": inquiry.case_number.to_string(),
            "status": inquiry.status.as_str(),
            "channel": inquiry.channel.as_str(),
            "received_at": inquiry.received_at.to_rfc3339(),
            "link": self.link(inquiry),
            "decision": decision,
        });
        if sub.personal_data {
            case["text"] = json!(inquiry.text);
            case["sender"] = json!(inquiry.sender);
            case["location"] = json!(inquiry.location);
        }
        if let Some(ending) = &payload.ending {
            case["ending"] = json!(ending);
        }
        if let Some(into) = &payload.merged_into {
            case["merged_into"] = json!(into);
        }
        let body = json!({
            "id": format!("delivery-{}", job.id),
            "event": payload.event.as_str(),
            "occurred_at": payload.occurred_at,
            "inquiry": case,
        });
        serde_json::to_vec(&body).expect("JSON serialises")
    }

    async fn post_signed(
        &self,
        sub: &WebhookSubscription,
        secret: &SecretString,
        event: Event,
        delivery: i64,
        body: &[u8],
    ) -> Result<(), DeliveryError> {
        let timestamp = chrono::Utc::now().timestamp().to_string();
        let response = self
            .client
            .post(&sub.url)
            .header("content-type", "application/json")
            .header("x-anliegen-event", event.as_str())
            .header("x-anliegen-delivery", format!("delivery-{delivery}"))
            .header("x-anliegen-timestamp", &timestamp)
            .header(
                "x-anliegen-signature",
                signature(secret.expose_secret(), &timestamp, body),
            )
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| transport(sub, e))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(DeliveryError::Refused(sub.name.clone(), status.as_u16()))
        }
    }
}

/// `sha256=<hex>`: HMAC-SHA256 with `secret` over `<timestamp>.<body>`.
pub fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A transport failure without the request (its URL may carry a token in a query).
fn transport(sub: &WebhookSubscription, e: reqwest::Error) -> DeliveryError {
    let kind = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "cannot connect".to_string()
    } else {
        e.without_url().to_string()
    };
    DeliveryError::Transport(sub.name.clone(), kind)
}

/// The parsed JSON answer of a receiver, or why it is not one.
async fn json_answer(
    sub: &WebhookSubscription,
    response: reqwest::Response,
) -> Result<Value, DeliveryError> {
    let status = response.status();
    if !status.is_success() {
        return Err(DeliveryError::Refused(sub.name.clone(), status.as_u16()));
    }
    response
        .json()
        .await
        .map_err(|e| DeliveryError::Answer(sub.name.clone(), e.without_url().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_timestamp_and_body() {
        // Computed independently: printf '1700000000.{}' | openssl dgst -sha256 -hmac geheim
        let sig = signature("geheim", "1700000000", b"{}");
        assert_eq!(
            sig,
            "sha256=75e8aa01e776401a6bfda6664664c1271ca25506052e3b8c43308bdf92f3c8d5"
        );
        assert_ne!(
            sig,
            signature("geheim", "1700000001", b"{}"),
            "the timestamp counts"
        );
        assert_ne!(
            sig,
            signature("geheim", "1700000000", b"{ }"),
            "the body counts"
        );
        assert_ne!(
            sig,
            signature("anders", "1700000000", b"{}"),
            "the key counts"
        );
    }
}
