//! `/api/v1/inquiries`: accept a citizen's inquiry (public: committed with its triage job
//! before the response, channel `api` by route), wait briefly for the pipeline's decision,
//! and look it up by case number (staff, within the caller's reach). The clerk's actions on
//! one inquiry live beside it: `review` and `reply`.

mod reply;
mod review;

use axum::{
    Json,
    extract::State,
    http::{Method, StatusCode},
    response::IntoResponse,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{
    ApiError, AppState, Route,
    auth::{Caller, Limit},
    extract::{ApiJson, ApiPath},
};
use crate::{
    domain::{
        CaseNumber, Channel, Decision, InquiryStatus, InquiryText, Sender, inquiry::InvalidText,
    },
    store::{NewInquiry, StoredInquiry},
};

pub fn routes() -> Vec<Route> {
    vec![
        Route::public(Method::POST, "/api/v1/inquiries", create).limited(Limit::Intake),
        Route::staff(Method::GET, "/api/v1/inquiries/{case}", show),
        Route::staff(
            Method::POST,
            "/api/v1/inquiries/{case}/review",
            review::review,
        ),
        Route::staff(Method::POST, "/api/v1/inquiries/{case}/reply", reply::reply),
    ]
}

/// Inquiry or reply text checked against `server.max_text_chars`.
fn parse_text(raw: &str, state: &AppState) -> Result<InquiryText, ApiError> {
    InquiryText::parse(raw, state.config.server.max_text_chars).map_err(|e| match e {
        InvalidText::Empty => ApiError::EmptyText,
        InvalidText::TooLong { .. } => ApiError::TextTooLong(e.to_string()),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateInquiry {
    text: String,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    sender: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateInquiry>,
) -> Result<impl IntoResponse, ApiError> {
    let text = parse_text(&body.text, &state)?;
    if body.channel.is_some() {
        // The channel says how an inquiry came in, which the endpoint knows; a body that
        // claims `email` must not earn the trust a received mail gets.
        return Err(ApiError::InvalidField(
            "channel is set by the endpoint (this one is api); leave it out".into(),
        ));
    }
    let channel = Channel::Api;
    let sender = match body.sender.as_deref().map(Sender::parse).transpose() {
        Ok(sender) => sender.flatten().map(Sender::into_string),
        Err(e) => return Err(ApiError::InvalidField(e.to_string())),
    };
    // Subscribed before the job exists, so a decision made at once is not missed.
    let finished = state.pipeline.subscribe();
    let inquiry = state
        .store
        .insert_inquiry(NewInquiry {
            channel,
            sender,
            text: text.into_string(),
        })
        .await?;
    if state.ready().is_err() {
        return Ok(accepted_for_later(inquiry));
    }
    state.pipeline.nudge();
    let inquiry = state
        .pipeline
        .await_decision(finished, &state.store, inquiry)
        .await?;
    if inquiry.status == InquiryStatus::Received {
        // Committed and queued; the workers decide it when they have capacity.
        return Ok(accepted_for_later(inquiry));
    }
    Ok((StatusCode::CREATED, Json(summary(&inquiry))).into_response())
}

fn accepted_for_later(inquiry: StoredInquiry) -> axum::response::Response {
    (StatusCode::ACCEPTED, Json(summary(&inquiry))).into_response()
}

/// What the sender learns: the case number, the state and the decision, not their own text.
#[derive(Serialize)]
struct Summary<'a> {
    case_number: CaseNumber,
    status: InquiryStatus,
    received_at: DateTime<Utc>,
    channel: Channel,
    decision: &'a Option<Decision>,
}

fn summary(i: &StoredInquiry) -> Summary<'_> {
    Summary {
        case_number: i.case_number,
        status: i.status,
        received_at: i.received_at,
        channel: i.channel,
        decision: &i.decision,
    }
}

/// The whole inquiry as staff see it. The API's own type, so a new column in the store does
/// not change the public contract.
#[derive(Serialize)]
struct InquiryView<'a> {
    case_number: CaseNumber,
    received_at: DateTime<Utc>,
    channel: Channel,
    sender: &'a Option<String>,
    text: &'a str,
    status: InquiryStatus,
    decision: &'a Option<Decision>,
}

impl<'a> From<&'a StoredInquiry> for InquiryView<'a> {
    fn from(i: &'a StoredInquiry) -> Self {
        Self {
            case_number: i.case_number,
            received_at: i.received_at,
            channel: i.channel,
            sender: &i.sender,
            text: &i.text,
            status: i.status,
            decision: &i.decision,
        }
    }
}

async fn show(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(case): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    let (_, inquiry) = state.inquiry_for(&caller, &case).await?;
    Ok(Json(InquiryView::from(&inquiry)).into_response())
}
