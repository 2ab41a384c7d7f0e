//! The Zammad recipe: a routed inquiry becomes a ticket in the department's Zammad group
//! through Zammad's REST API — `POST {url}/api/v1/tickets` with `Authorization: Token
//! token=…` and the ticket with its first article:
//!
//! ```json
//! {"title": "…", "group": "Tiefbau", "customer": "buergeranliegen@…",
//!  "article": {"subject": "…", "body": "…", "type": "note", "internal": true,
//!              "content_type": "text/plain"}}
//! ```
//!
//! Zammad answers `201 Created` with the ticket (`id`, `number`); both are kept on the case.
//! With `personal_data = true` the article carries the citizen's text and place, and a
//! known sender becomes the customer (`customer_id: "guess:<address>"`, which Zammad
//! creates when missing); otherwise the configured `customer` and a summary without
//! anything personal.

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::{DeliveryError, json_answer, transport};
use crate::{
    config::WebhookSubscription,
    store::{StoredInquiry, webhooks::DecisionSummary},
};

/// What Zammad answered.
pub(super) struct OpenedTicket {
    pub id: String,
    pub number: Option<String>,
}

/// The ticket Zammad is asked to open.
pub(super) fn ticket(
    sub: &WebhookSubscription,
    inquiry: &StoredInquiry,
    decision: &DecisionSummary,
    link: &str,
) -> Value {
    let group = sub
        .groups
        .get(&decision.department_id)
        .cloned()
        .unwrap_or_else(|| decision.department_name.clone());
    let case = inquiry.case_number.to_string();
    let title = format!("Anliegen {case}: {}", decision.service_name);
    let mut body = format!(
        "Anliegen {case}\nLeistung: {} ({})\nZuständig: {}\nKonfidenz: {:.2}\nFall: {link}\n",
        decision.service_name, decision.service_id, decision.department_name, decision.confidence,
    );
    let sender = inquiry.sender.as_deref().filter(|_| sub.personal_data);
    if sub.personal_data {
        if let Some(place) = &inquiry.location {
            let point = match (place.lat, place.lon) {
                (Some(lat), Some(lon)) => format!("{lat:.6}, {lon:.6}"),
                _ => String::new(),
            };
            let address = place.address.clone().unwrap_or_default();
            body.push_str(&format!("Ort: {}\n", [address, point].join(" ").trim()));
        }
        body.push('\n');
        body.push_str(&inquiry.text);
    }
    let mut ticket = json!({
        "title": title,
        "group": group,
        "article": {
            "subject": title,
            "body": body,
            "type": "note",
            "internal": sub.internal,
            "content_type": "text/plain",
        },
    });
    match sender {
        Some(address) => ticket["customer_id"] = json!(format!("guess:{address}")),
        None => ticket["customer"] = json!(sub.customer),
    }
    ticket
}

pub(super) async fn open_ticket(
    client: &reqwest::Client,
    sub: &WebhookSubscription,
    token: &SecretString,
    inquiry: &StoredInquiry,
    decision: &DecisionSummary,
    link: &str,
) -> Result<OpenedTicket, DeliveryError> {
    let url = format!("{}/api/v1/tickets", sub.url.trim_end_matches('/'));
    let response = client
        .post(url)
        .header(
            "authorization",
            format!("Token token={}", token.expose_secret()),
        )
        .json(&ticket(sub, inquiry, decision, link))
        .send()
        .await
        .map_err(|e| transport(sub, e))?;
    let answer = json_answer(sub, response).await?;
    let id = match &answer["id"] {
        Value::Number(n) => n.to_string(),
        Value::String(s) if !s.is_empty() => s.clone(),
        _ => {
            return Err(DeliveryError::Answer(
                sub.name.clone(),
                "Zammad's answer has no ticket id".into(),
            ));
        }
    };
    let number = match &answer["number"] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    Ok(OpenedTicket { id, number })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        config::WebhookKind,
        domain::{Channel, InquiryStatus, Location, RouteStatus},
    };

    fn subscription(personal_data: bool) -> WebhookSubscription {
        WebhookSubscription {
            name: "zammad".into(),
            kind: WebhookKind::Zammad,
            url: "https://zammad.example".into(),
            events: Vec::new(),
            departments: Vec::new(),
            personal_data,
            secret_env: Some("UNUSED".into()),
            secret_file: None,
            groups: [("tiefbau".to_string(), "Straßen und Wege".to_string())].into(),
            customer: Some("anliegen@kreis.example".into()),
            internal: false,
        }
    }

    fn inquiry() -> StoredInquiry {
        StoredInquiry {
            id: 1,
            case_number: "2026-000042".parse().unwrap(),
            received_at: chrono::Utc::now(),
            channel: Channel::Api,
            sender: Some("erika@example.org".into()),
            text: "Schlagloch vor Hausnummer 3".into(),
            location: Some(Location {
                lat: Some(50.94),
                lon: Some(6.96),
                address: Some("Domkloster 4".into()),
            }),
            status: InquiryStatus::Routed,
            decision: None,
            updated_at: chrono::Utc::now(),
            contact_confirmed: true,
        }
    }

    fn decision() -> DecisionSummary {
        DecisionSummary {
            status: RouteStatus::Routed,
            service_id: "strassenschaden".into(),
            service_name: "Straßenschaden melden".into(),
            department_id: "tiefbau".into(),
            department_name: "Tiefbauamt".into(),
            confidence: 0.91,
            calibrated: true,
            router: "learned".into(),
        }
    }

    #[test]
    fn a_mapped_department_goes_to_its_group_and_consent_sends_text_and_customer() {
        let t = ticket(
            &subscription(true),
            &inquiry(),
            &decision(),
            "https://x/app/faelle/2026-000042",
        );
        assert_eq!(t["group"], "Straßen und Wege");
        assert_eq!(t["customer_id"], "guess:erika@example.org");
        assert!(t.get("customer").is_none());
        let body = t["article"]["body"].as_str().unwrap();
        assert!(body.contains("Schlagloch vor Hausnummer 3"), "{body}");
        assert!(
            body.contains("Domkloster 4") && body.contains("50.940000, 6.960000"),
            "{body}"
        );
        assert_eq!(t["article"]["internal"], false);
    }

    #[test]
    fn without_consent_nothing_personal_goes_out() {
        let mut d = decision();
        d.department_id = "ordnungsamt".into();
        d.department_name = "Ordnungsamt".into();
        let t = ticket(
            &subscription(false),
            &inquiry(),
            &d,
            "https://x/app/faelle/2026-000042",
        );
        assert_eq!(t["group"], "Ordnungsamt", "an unmapped department's name");
        assert_eq!(t["customer"], "anliegen@kreis.example");
        let raw = t.to_string();
        for personal in ["Schlagloch", "erika", "Domkloster", "50.94"] {
            assert!(!raw.contains(personal), "{personal} in {raw}");
        }
        assert!(raw.contains("https://x/app/faelle/2026-000042"));
    }
}
