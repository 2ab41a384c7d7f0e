//! `/api/v1/inquiries`: accept a citizen's inquiry (public: committed with its triage job
//! before the response, channel `api` by route), wait briefly for the pipeline's decision,
//! and look it up by case number (staff, within the caller's reach). The inbox query and
//! the clerk's actions on one inquiry live beside it: `inbox`, `review` and `reply`.

mod inbox;
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
    status::{PublicDepartment, department},
};
use crate::{
    domain::{
        CaseNumber, Channel, Decision, InquiryStatus, InquiryText, Sender, inquiry::InvalidText,
    },
    outbound::notify::status_url,
    store::{NewInquiry, SecretPurpose, StoredInquiry},
};

pub fn routes() -> Vec<Route> {
    vec![
        Route::public(Method::POST, "/api/v1/inquiries", create).limited(Limit::Intake),
        Route::staff(Method::GET, "/api/v1/inquiries", inbox::list),
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
pub(super) fn parse_text(raw: &str, state: &AppState) -> Result<InquiryText, ApiError> {
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
    let (inquiry, secret) = accept(
        &state,
        NewInquiry {
            channel,
            sender,
            text: text.into_string(),
        },
    )
    .await?;
    // Committed and queued either way; still `received`, the workers decide it when they
    // have capacity.
    let code = if inquiry.status == InquiryStatus::Received {
        StatusCode::ACCEPTED
    } else {
        StatusCode::CREATED
    };
    let case = inquiry.case_number.to_string();
    let receipt = Receipt {
        case_number: inquiry.case_number,
        status: inquiry.status,
        received_at: inquiry.received_at,
        channel: inquiry.channel,
        department: department(&inquiry),
        status_token: secret.as_str(),
        status_url: status_url(&state.config.server.public_url, &case, secret.as_str()),
    };
    Ok((code, Json(receipt)).into_response())
}

/// Commits a new inquiry with its triage job and the citizen's status secret, then waits
/// briefly for the decision (not at all while the model loads). Every intake route of the
/// API takes this path.
pub(super) async fn accept(
    state: &AppState,
    new: NewInquiry,
) -> Result<(StoredInquiry, crate::store::secret::Secret), ApiError> {
    // Subscribed before the job exists, so a decision made at once is not missed.
    let finished = state.pipeline.subscribe();
    let inquiry = state.store.insert_inquiry(new).await?;
    let secret = state
        .store
        .issue_case_secret(inquiry.id, SecretPurpose::Status)
        .await?;
    let inquiry = if state.ready().is_ok() {
        state.pipeline.nudge();
        state
            .pipeline
            .await_decision(finished, &state.store, inquiry)
            .await?
    } else {
        inquiry
    };
    Ok((inquiry, secret))
}

/// What the sender learns: the case number, where it stands and the secret to follow it —
/// not their own text, nor the router's candidates and evidence.
#[derive(Serialize)]
struct Receipt<'a> {
    case_number: CaseNumber,
    status: InquiryStatus,
    received_at: DateTime<Utc>,
    channel: Channel,
    department: Option<PublicDepartment<'a>>,
    /// Shown once: opens `status_url`.
    status_token: &'a str,
    status_url: String,
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
