//! `POST /api/v1/inquiries/{case}/reply`: a clerk's approved reply to the citizen. It is
//! kept for the citizen's status page and, when mail may go to the case's address (see
//! `outbound::notify::may_mail_contact`), queued threaded onto the case's latest mail; the
//! outbox worker delivers it.

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use serde::Deserialize;
use serde_json::json;

use super::parse_text;
use crate::{
    config::MailLanguage,
    domain::Outbound,
    outbound::notify,
    store::StoredInquiry,
    web::{
        ApiError, AppState,
        auth::{Caller, Identity},
        extract::{ApiJson, ApiPath},
    },
};

/// Keeps the reply for the status page, queues it as mail when mail may go to the case's
/// address, and audits it; answers the queued mail. The reply endpoint and the case page
/// share it.
pub(in crate::web) async fn send(
    state: &AppState,
    caller: &Identity,
    inquiry: &StoredInquiry,
    text: &str,
    language: Option<MailLanguage>,
) -> Result<Option<Outbound>, ApiError> {
    // Unless the clerk chooses, the reply frame speaks the citizen's language as the
    // acknowledgement did.
    let language = language
        .unwrap_or_else(|| notify::ack_language(state.config.mail.ack_language, &inquiry.text));
    let queued =
        notify::queue_reply(&state.store, &state.config.mail, inquiry, text, language).await?;
    let mailed = queued.is_some();
    state
        .store
        .record_reply(inquiry.id, text, &caller.actor, mailed)
        .await?;
    state
        .store
        .append_audit(
            &caller.actor,
            "reply",
            &inquiry.case_number.to_string(),
            &json!({"mailed": mailed}),
        )
        .await?;
    Ok(queued)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReplyBody {
    text: String,
    #[serde(default)]
    language: Option<MailLanguage>,
}

pub(super) async fn reply(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(case): ApiPath<String>,
    ApiJson(body): ApiJson<ReplyBody>,
) -> Result<impl IntoResponse, ApiError> {
    let text = parse_text(&body.text, &state)?;
    let (case, inquiry) = state.inquiry_for(&caller, &case).await?;
    let queued = send(&state, &caller, &inquiry, text.as_str(), body.language).await?;
    let mailed = queued.is_some();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "case_number": case,
            "mailed": mailed,
            "message_id": queued.map(|q| q.message_id),
            "state": if mailed { "queued" } else { "recorded" },
        })),
    ))
}
