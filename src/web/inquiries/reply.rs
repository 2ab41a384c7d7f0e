//! `POST /api/v1/inquiries/{case}/reply`: queues a clerk's approved reply to the citizen,
//! threaded onto the case's latest mail; the outbox worker delivers it.

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use serde::Deserialize;
use serde_json::json;

use super::parse_text;
use crate::{
    config::MailLanguage,
    outbound::notify,
    web::{
        ApiError, AppState,
        auth::Caller,
        extract::{ApiJson, ApiPath},
    },
};

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
    // Unless the clerk chooses, the reply frame speaks the citizen's language as the
    // acknowledgement did.
    let language = body
        .language
        .unwrap_or_else(|| notify::ack_language(state.config.mail.ack_language, &inquiry.text));
    let queued = notify::queue_reply(
        &state.store,
        &state.config.mail,
        &inquiry,
        text.as_str(),
        language,
    )
    .await?
    .ok_or_else(|| {
        ApiError::InvalidField(format!("inquiry {case} has no mail address to reply to"))
    })?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"case_number": case, "message_id": queued.message_id, "state": "queued"})),
    ))
}
