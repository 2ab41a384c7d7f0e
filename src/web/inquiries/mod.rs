//! `/api/v1/inquiries`: accept a citizen's inquiry (public: committed with its triage job
//! before the response, channel `api` by route), wait briefly for the pipeline's decision,
//! and look it up by case number (staff, within the caller's reach). The inbox query and
//! the clerk's actions on one inquiry live beside it: `inbox`, `review` and `reply`.

mod inbox;
pub(in crate::web) mod reply;
pub(in crate::web) mod review;

use axum::{
    Json,
    extract::State,
    http::{Extensions, HeaderMap, HeaderName, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{
    ApiError, AppState, Route,
    auth::{Caller, Identity, Limit, authenticate},
    extract::{ApiJson, ApiPath},
    status::{PublicDepartment, department},
};
use crate::{
    domain::{
        CaseNumber, Channel, Decision, InquiryStatus, InquiryText, Location, LocationInput, Sender,
        inquiry::InvalidText,
    },
    outbound::notify::status_url,
    reply::case::{self, CaseDraft},
    store::{Idempotent, KeyedRequest, NewInquiry, SecretPurpose, StoredInquiry},
};

/// The request header that makes intake idempotent (IETF draft
/// `draft-ietf-httpapi-idempotency-key-header`).
const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// Set on the answer to a repeated request.
const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

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
        Route::staff(
            Method::POST,
            "/api/v1/inquiries/{case}/reply/template",
            reply::save_template,
        ),
    ]
}

/// Inquiry or reply text checked against `server.max_text_chars`.
pub(in crate::web) fn parse_text(raw: &str, state: &AppState) -> Result<InquiryText, ApiError> {
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
    /// `{"lat", "lon", "address"}`, each optional (lat and lon together). Taken as an object
    /// first: serde would read `[lat, lon]` as the struct too, and the order would be a guess.
    #[serde(default)]
    location: Option<serde_json::Map<String, serde_json::Value>>,
}

async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    ApiJson(body): ApiJson<CreateInquiry>,
) -> Result<impl IntoResponse, ApiError> {
    // The route is public; a staff caller (a Fachverfahren with its token) also gets the
    // decision and the suggested reply. Bad credentials make the caller anonymous here.
    let staff = authenticate(&state, &headers, &extensions)
        .await
        .ok()
        .flatten();
    let text = parse_text(&body.text, &state)?;
    if body.channel.is_some() {
        // The channel says how an inquiry came in, which the endpoint knows; a body that
        // claims `email` must not earn the trust a received mail gets.
        return Err(ApiError::InvalidField(
            "channel is set by the endpoint (this one is api); leave it out".into(),
        ));
    }
    let sender = match body.sender.as_deref().map(Sender::parse).transpose() {
        Ok(sender) => sender.flatten().map(Sender::into_string),
        Err(e) => return Err(ApiError::InvalidField(e.to_string())),
    };
    let location = match body.location {
        None => None,
        Some(object) => serde_json::from_value::<LocationInput>(object.into())
            .map_err(|e| ApiError::InvalidField(format!("location: {e}")))?
            .parse()
            .map_err(|e| ApiError::InvalidField(e.to_string()))?,
    };
    let new = NewInquiry {
        channel: Channel::Api,
        sender,
        text: text.into_string(),
        location,
    };
    let keyed = idempotency_key(&headers)?.map(|key| keyed_request(key, &new));
    if let Some(keyed) = &keyed
        && let Some(first) = state.store.idempotent_replay(keyed).await?
    {
        return answer(&state, first, staff.as_ref()).await;
    }
    // Nothing new is taken while the backlog is full; a replay above still answers.
    if state.pipeline.backlog_full(&state.store).await? {
        return Err(ApiError::BacklogFull);
    }
    // Subscribed before the job exists, so a decision made at once is not missed.
    let finished = state.pipeline.subscribe();
    let (inquiry, secret) = match &keyed {
        None => {
            let inquiry = state.store.insert_inquiry(new).await?;
            let secret = state
                .store
                .issue_case_secret(inquiry.id, SecretPurpose::Status)
                .await?;
            (inquiry, secret.as_str().to_string())
        }
        Some(keyed) => match state.store.insert_inquiry_once(new, keyed).await? {
            Idempotent::Created(inquiry, secret) => (inquiry, secret),
            other => return answer(&state, other, staff.as_ref()).await,
        },
    };
    let inquiry = decided(&state, finished, inquiry).await?;
    receipt(&state, &inquiry, &secret, staff.as_ref()).await
}

/// Commits a new inquiry with its triage job and the secret of its status page, then waits
/// briefly for the pipeline's decision (not while the model loads). The citizen's form
/// uses it; the JSON intake adds idempotency and the backlog check around the same steps.
pub(in crate::web) async fn accept(
    state: &AppState,
    channel: Channel,
    sender: Option<String>,
    text: InquiryText,
    location: Option<Location>,
) -> Result<(StoredInquiry, crate::store::secret::Secret), ApiError> {
    if state.pipeline.backlog_full(&state.store).await? {
        return Err(ApiError::BacklogFull);
    }
    let finished = state.pipeline.subscribe();
    let inquiry = state
        .store
        .insert_inquiry(NewInquiry {
            channel,
            sender,
            text: text.into_string(),
            location,
        })
        .await?;
    let secret = state
        .store
        .issue_case_secret(inquiry.id, SecretPurpose::Status)
        .await?;
    let inquiry = decided(state, finished, inquiry).await?;
    Ok((inquiry, secret))
}

/// The inquiry once the pipeline has decided it, waiting briefly; while the model loads it
/// is answered as it stands (`received`), to be decided in the background.
async fn decided(
    state: &AppState,
    finished: tokio::sync::broadcast::Receiver<i64>,
    inquiry: StoredInquiry,
) -> Result<StoredInquiry, ApiError> {
    if state.ready().is_err() {
        return Ok(inquiry);
    }
    state.pipeline.nudge();
    Ok(state
        .pipeline
        .await_decision(finished, &state.store, inquiry)
        .await?)
}

/// The optional `Idempotency-Key` header (as a structured-field string or bare): 1 to 255
/// visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let key = value.to_str().ok().map(|v| {
        let v = v.trim();
        v.strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(v)
    });
    match key {
        Some(k) if (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(k))
        }
        _ => Err(ApiError::InvalidField(
            "Idempotency-Key must be 1 to 255 visible ASCII characters, e.g. a UUID".into(),
        )),
    }
}

/// The key with what identifies the request: its text and sender.
fn keyed_request(key: &str, new: &NewInquiry) -> KeyedRequest {
    let request = serde_json::to_vec(&(&new.text, &new.sender)).unwrap_or_default();
    KeyedRequest::new(key, &request)
}

/// The answer to a request whose key was seen before: the first request's case as it
/// stands now (marked `Idempotent-Replayed: true`), or the refusal of a reused key.
async fn answer(
    state: &AppState,
    found: Idempotent,
    staff: Option<&Identity>,
) -> Result<Response, ApiError> {
    match found {
        Idempotent::Created(inquiry, secret) => receipt(state, &inquiry, &secret, staff).await,
        Idempotent::Replayed(inquiry, secret) => {
            let mut response = receipt(state, &inquiry, &secret, staff).await?;
            response
                .headers_mut()
                .insert(REPLAYED, HeaderValue::from_static("true"));
            Ok(response)
        }
        Idempotent::Reused => Err(ApiError::IdempotencyKeyReused),
    }
}

/// `201` with the receipt of a decided inquiry; `202` while it is still `received` —
/// committed and queued either way, the workers decide it when they have capacity.
async fn receipt(
    state: &AppState,
    inquiry: &StoredInquiry,
    secret: &str,
    staff: Option<&Identity>,
) -> Result<Response, ApiError> {
    let code = if inquiry.status == InquiryStatus::Received {
        StatusCode::ACCEPTED
    } else {
        StatusCode::CREATED
    };
    let case = inquiry.case_number.to_string();
    let staff_view = match staff.filter(|s| s.may_access(inquiry.decision.as_ref())) {
        Some(_) => Some(StaffView {
            reply: reply_view(state, inquiry).await?,
            decision: inquiry.decision.clone(),
        }),
        None => None,
    };
    let receipt = Receipt {
        case_number: inquiry.case_number,
        status: inquiry.status,
        received_at: inquiry.received_at,
        channel: inquiry.channel,
        department: department(inquiry),
        status_token: secret,
        status_url: status_url(&state.config.server.public_url, &case, secret),
        staff: staff_view,
    };
    Ok((code, Json(receipt)).into_response())
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
    /// Only for a staff caller who may see the case.
    #[serde(flatten)]
    staff: Option<StaffView>,
}

/// What a staff caller of the intake learns beyond the receipt.
#[derive(Serialize)]
struct StaffView {
    decision: Option<Decision>,
    reply: Option<CaseDraft>,
}

/// The case's draft once the engine runs and the case is decided.
async fn reply_view(
    state: &AppState,
    inquiry: &StoredInquiry,
) -> Result<Option<CaseDraft>, ApiError> {
    let Ok(ready) = state.ready() else {
        return Ok(None);
    };
    Ok(case::case_draft(&state.store, &state.config.reply, &ready.catalogue, inquiry).await?)
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
    /// The place the inquiry is about (`{"lat", "lon", "address"}`, parts omitted when not
    /// given); `null` when none was given.
    location: &'a Option<Location>,
    status: InquiryStatus,
    decision: &'a Option<Decision>,
    /// The suggested reply (README, "Suggested replies"); absent before the decision.
    reply: Option<CaseDraft>,
}

impl<'a> InquiryView<'a> {
    fn new(i: &'a StoredInquiry, reply: Option<CaseDraft>) -> Self {
        Self {
            case_number: i.case_number,
            received_at: i.received_at,
            channel: i.channel,
            sender: &i.sender,
            text: &i.text,
            location: &i.location,
            status: i.status,
            decision: &i.decision,
            reply,
        }
    }
}

async fn show(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(case): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    let (_, inquiry) = state.inquiry_for(&caller, &case).await?;
    let reply = reply_view(&state, &inquiry).await?;
    let mut view = serde_json::to_value(InquiryView::new(&inquiry, reply))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    // Tickets other systems opened for the case (the Zammad recipe, README "Webhooks").
    view["tickets"] = serde_json::to_value(state.store.tickets(inquiry.id).await?)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Json(view).into_response())
}
