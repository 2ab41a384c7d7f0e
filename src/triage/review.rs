//! A clerk's decision on an inquiry: accept the routed service or re-route it to another.
//! The clerk's word becomes the inquiry's current decision (kept in the history beside the
//! model's), a labelled training example (redacted text) and an audit entry.

use serde::Deserialize;

use crate::{
    domain::{Candidate, Catalogue, Decision, RouteStatus},
    privacy::redact::redact,
    store::{NewExample, Store, StoreError, StoredInquiry},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewAction {
    Accept,
    Reroute,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Review {
    pub action: ReviewAction,
    /// The service to route to (required for `reroute`).
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    /// Accepted for clients written when the caller named themselves here, and ignored:
    /// the audit log names the authenticated caller.
    #[serde(default, rename = "actor")]
    _claimed_actor: Option<serde::de::IgnoredAny>,
}

impl Review {
    pub fn new(action: ReviewAction, service: Option<String>, reason: Option<String>) -> Self {
        Self {
            action,
            service,
            reason,
            _claimed_actor: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("the inquiry has no decision yet; wait until it is routed")]
    NotDecided,
    #[error("a re-route needs the target service")]
    MissingService,
    #[error("service '{0}' is not in the catalogue")]
    UnknownService(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Applies the review of the authenticated `actor` (its audit name, e.g. `user:12`) and
/// returns the clerk's decision.
pub async fn apply(
    store: &Store,
    catalogue: &Catalogue,
    inquiry: &StoredInquiry,
    review: &Review,
    actor: &str,
) -> Result<Decision, ReviewError> {
    let previous = inquiry.decision.as_ref().ok_or(ReviewError::NotDecided)?;
    let service_id = match review.action {
        ReviewAction::Accept => previous.service.id.clone(),
        ReviewAction::Reroute => review.service.clone().ok_or(ReviewError::MissingService)?,
    };
    let service = catalogue
        .service(&service_id)
        .ok_or_else(|| ReviewError::UnknownService(service_id.chars().take(64).collect()))?;
    let place = inquiry.location.as_ref().and_then(|l| l.point());
    let department = catalogue
        .department(super::places::responsible_department(
            catalogue, service, place,
        ))
        .expect("validated catalogue: every service and office has its department");
    let decision = Decision {
        status: RouteStatus::Routed,
        service: service.into(),
        department: department.into(),
        confidence: 1.0,
        calibrated: false,
        reason: match review.action {
            ReviewAction::Accept => format!("accepted by {actor}"),
            ReviewAction::Reroute => format!("re-routed by {actor} from {}", previous.service.id),
        },
        candidates: vec![Candidate {
            service_id: service.id.clone(),
            service_name: service.name.clone(),
            department_id: department.id.clone(),
            score: 1.0,
        }],
        evidence: previous.evidence.clone(),
        router: "clerk".into(),
        model: previous.model.clone(),
    };
    store.record_decision(inquiry.id, &decision).await?;
    store
        .add_training_examples(&[NewExample {
            text: &redact(&inquiry.text).text,
            service_id: &service.id,
            source: "review",
            inquiry_id: Some(inquiry.id),
            actor: Some(actor),
            reason: review.reason.as_deref(),
            place,
            at: None,
        }])
        .await?;
    let action = match review.action {
        ReviewAction::Accept => "review.accept",
        ReviewAction::Reroute => "review.reroute",
    };
    // What was reviewed: an automatic route, an automatic referral to review, or an earlier
    // clerk's decision; `changed` counts the re-routes (the live misroute rate).
    let reviewed = match (previous.router.as_str(), previous.status) {
        ("clerk", _) => "clerk",
        (_, RouteStatus::Routed) => "routed",
        (_, RouteStatus::Review) => "review",
    };
    let changed = if previous.service.id == service.id {
        "false"
    } else {
        "true"
    };
    metrics::counter!("anliegen_reviews_total", "reviewed" => reviewed, "changed" => changed)
        .increment(1);
    store
        .append_audit(
            actor,
            action,
            &inquiry.case_number.to_string(),
            &serde_json::json!({
                "from": previous.service.id,
                "to": service.id,
                "router": previous.router,
                "confidence": previous.confidence,
            }),
        )
        .await?;
    Ok(decision)
}
