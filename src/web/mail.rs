//! Mail in the running service: starting the IMAP pollers and the outbox worker, and
//! `POST /api/v1/inquiries/{case}/reply`, which queues a clerk's approved reply to the
//! citizen, threaded onto the case's latest mail.

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
    routing::post,
};
use serde::Deserialize;
use serde_json::json;
use tokio::task::JoinHandle;

use super::{ApiError, AppState, json::ApiJson};
use crate::{
    config::MailLanguage,
    domain::{CaseNumber, InquiryText, inquiry::InvalidText},
    intake::{IntakeError, imap},
    outbound::{Mailer, OutboundError, SmtpMailer, notify, worker},
};

#[derive(Debug, thiserror::Error)]
pub enum MailStartError {
    #[error(transparent)]
    Intake(#[from] IntakeError),
    #[error(transparent)]
    Outbound(#[from] OutboundError),
}

/// Starts the IMAP pollers and the outbox worker when `mail.enabled`; nothing otherwise.
pub fn spawn_mail(state: &AppState) -> Result<Vec<JoinHandle<()>>, MailStartError> {
    let mail = &state.config.mail;
    if !mail.enabled {
        return Ok(Vec::new());
    }
    let mailer: Arc<dyn Mailer> = Arc::new(SmtpMailer::new(&mail.smtp)?);
    let mut tasks = imap::spawn_pollers(&state.config, &state.store, &state.pipeline)?;
    tasks.push(worker::spawn_worker(
        mail.outbox.clone(),
        state.store.clone(),
        mailer,
    ));
    Ok(tasks)
}

pub fn router() -> Router<AppState> {
    Router::new().route("/inquiries/{case}/reply", post(reply))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyBody {
    text: String,
    #[serde(default)]
    language: Option<MailLanguage>,
}

async fn reply(
    State(state): State<AppState>,
    Path(case): Path<String>,
    ApiJson(body): ApiJson<ReplyBody>,
) -> Result<impl IntoResponse, ApiError> {
    let case: CaseNumber = case
        .parse()
        .map_err(|e: crate::domain::case::InvalidCaseNumber| ApiError::NotFound(e.to_string()))?;
    let text =
        InquiryText::parse(&body.text, state.config.server.max_text_chars).map_err(
            |e| match e {
                InvalidText::Empty => ApiError::EmptyText,
                InvalidText::TooLong { .. } => ApiError::TextTooLong(e.to_string()),
            },
        )?;
    let inquiry = state
        .store
        .inquiry(&case)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no inquiry {case}")))?;
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
