//! Webhook events as jobs: an event of an inquiry is queued as one `webhook` job per
//! subscription that wants it — inside the transaction that made the event happen where
//! there is one, so an event is never lost nor sent for something that did not commit.
//! The job's payload names subscription and event and keeps the decision as it was then
//! (ids, names, confidence: no personal data). Tickets that receivers opened (Zammad) are
//! kept per case and subscription.

use std::sync::Arc;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};

use super::{Store, StoreError};
use crate::domain::{Decision, RouteStatus};

/// Something that happened to an inquiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    #[serde(rename = "inquiry.received")]
    Received,
    #[serde(rename = "inquiry.routed")]
    Routed,
    #[serde(rename = "inquiry.reviewed")]
    Reviewed,
    #[serde(rename = "inquiry.replied")]
    Replied,
    #[serde(rename = "inquiry.closed")]
    Closed,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "inquiry.received",
            Self::Routed => "inquiry.routed",
            Self::Reviewed => "inquiry.reviewed",
            Self::Replied => "inquiry.replied",
            Self::Closed => "inquiry.closed",
        }
    }
}

/// A subscription as the store sees it: its name and which events it takes.
#[derive(Debug, Clone)]
pub struct Subscriber {
    pub name: String,
    pub events: Vec<Event>,
}

/// The subscriptions of this process and the attempts their deliveries get.
#[derive(Debug, Clone, Default)]
pub(crate) struct Subscribers {
    pub list: Vec<Subscriber>,
    pub max_attempts: i64,
}

/// What a webhook job delivers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventPayload {
    pub subscription: String,
    pub event: Event,
    /// RFC 3339.
    pub occurred_at: String,
    /// The decision when the event happened (routed, reviewed); later events read the
    /// inquiry's current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<DecisionSummary>,
    /// How the case ended (`inquiry.closed`): `spam`, `not_inquiry`, `merged`, `closed` by
    /// a clerk, or `retention` (personal data removed after the retention period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ending: Option<String>,
    /// The case a merged case went into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
}

/// How a case ended, for its `inquiry.closed` event.
#[derive(Debug, Clone, Copy)]
pub struct Ended<'a> {
    pub ending: &'a str,
    pub merged_into: Option<&'a str>,
}

/// What receivers learn of a decision: ids, names and confidence — not its evidence, which
/// quotes texts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionSummary {
    /// `routed` (to the department) or `review` (a clerk decides first).
    pub status: RouteStatus,
    pub service_id: String,
    pub service_name: String,
    pub department_id: String,
    pub department_name: String,
    pub confidence: f32,
    /// Whether `confidence` is a calibrated probability.
    pub calibrated: bool,
    /// Who decided: a router's name, or `clerk`.
    pub router: String,
}

impl From<&Decision> for DecisionSummary {
    fn from(d: &Decision) -> Self {
        Self {
            status: d.status,
            service_id: d.service.id.clone(),
            service_name: d.service.name.clone(),
            department_id: d.department.id.clone(),
            department_name: d.department.name.clone(),
            confidence: d.confidence,
            calibrated: d.calibrated,
            router: d.router.clone(),
        }
    }
}

/// A ticket another system opened for a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Ticket {
    pub subscription: String,
    pub system: String,
    pub ticket_id: String,
    pub ticket_number: Option<String>,
    pub created_at: String,
}

impl Store {
    /// Queues the deliveries of future events to `subscribers`, each with `max_attempts`.
    pub fn with_webhooks(mut self, subscribers: Vec<Subscriber>, max_attempts: u32) -> Self {
        self.webhooks = Arc::new(Subscribers {
            list: subscribers,
            max_attempts: i64::from(max_attempts.max(1)),
        });
        self
    }

    /// Queues `event` of `inquiry_id` for every subscription that wants it, inside the
    /// caller's transaction.
    pub(crate) async fn enqueue_event_in(
        &self,
        conn: &mut AnyConnection,
        inquiry_id: i64,
        event: Event,
        decision: Option<&Decision>,
    ) -> Result<(), StoreError> {
        self.enqueue_in(conn, inquiry_id, event, decision, None)
            .await
    }

    /// Queues the `inquiry.closed` event of a case that ended as `ended`, inside the
    /// caller's transaction.
    pub(crate) async fn enqueue_closed_in(
        &self,
        conn: &mut AnyConnection,
        inquiry_id: i64,
        ended: Ended<'_>,
    ) -> Result<(), StoreError> {
        self.enqueue_in(conn, inquiry_id, Event::Closed, None, Some(ended))
            .await
    }

    async fn enqueue_in(
        &self,
        conn: &mut AnyConnection,
        inquiry_id: i64,
        event: Event,
        decision: Option<&Decision>,
        ended: Option<Ended<'_>>,
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        for sub in self
            .webhooks
            .list
            .iter()
            .filter(|s| s.events.contains(&event))
        {
            let payload = EventPayload {
                subscription: sub.name.clone(),
                event,
                occurred_at: now.to_rfc3339(),
                decision: decision.map(DecisionSummary::from),
                ending: ended.map(|e| e.ending.to_string()),
                merged_into: ended.and_then(|e| e.merged_into.map(str::to_string)),
            };
            sqlx::query(
                "INSERT INTO jobs (kind, inquiry_id, state, attempts, max_attempts, run_at,
                                   payload, created_at, updated_at)
                 VALUES ('webhook', $1, 'queued', 0, $2, $3, $4, $5, $5)",
            )
            .bind(inquiry_id)
            .bind(self.webhooks.max_attempts)
            .bind(self.clock.now_ms())
            .bind(serde_json::to_string(&payload).expect("payload serialises"))
            .bind(now.to_rfc3339())
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }

    /// Queues `event` of `inquiry_id` on its own connection.
    pub async fn enqueue_event(
        &self,
        inquiry_id: i64,
        event: Event,
        decision: Option<&Decision>,
    ) -> Result<(), StoreError> {
        if self.webhooks.list.is_empty() {
            return Ok(());
        }
        let mut conn = self.pool.acquire().await?;
        self.enqueue_event_in(&mut conn, inquiry_id, event, decision)
            .await
    }

    /// The ticket `subscription` opened for the inquiry, if any.
    pub async fn ticket(
        &self,
        inquiry_id: i64,
        subscription: &str,
    ) -> Result<Option<Ticket>, StoreError> {
        Ok(self
            .tickets(inquiry_id)
            .await?
            .into_iter()
            .find(|t| t.subscription == subscription))
    }

    /// The tickets other systems opened for the inquiry.
    pub async fn tickets(&self, inquiry_id: i64) -> Result<Vec<Ticket>, StoreError> {
        let rows = sqlx::query(
            "SELECT subscription, system, ticket_id, ticket_number, created_at
             FROM inquiry_tickets WHERE inquiry_id = $1 ORDER BY created_at",
        )
        .bind(inquiry_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Ticket {
                    subscription: r.try_get("subscription")?,
                    system: r.try_get("system")?,
                    ticket_id: r.try_get("ticket_id")?,
                    ticket_number: r.try_get("ticket_number")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Keeps the ticket a receiver opened for the inquiry (the first one per subscription).
    pub async fn save_ticket(
        &self,
        inquiry_id: i64,
        subscription: &str,
        system: &str,
        ticket_id: &str,
        ticket_number: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO inquiry_tickets (inquiry_id, subscription, system, ticket_id,
                                          ticket_number, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(inquiry_id)
        .bind(subscription)
        .bind(system)
        .bind(ticket_id)
        .bind(ticket_number)
        .bind(Utc::now().to_rfc3339())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
