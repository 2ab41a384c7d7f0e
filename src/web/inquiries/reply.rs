//! `POST /api/v1/inquiries/{case}/reply`: a clerk's approved reply to the citizen — the
//! edited draft, or with `"draft": true` the suggested draft unchanged (one click, for
//! services with `draft` or `auto` autonomy). The checker runs over the text first: a
//! number, amount, date, time, phone number, email address or link that is neither in the
//! catalogue facts nor in the case, or a gap marker left in, answers `422 reply_flagged`
//! with the spans unless the clerk confirms. The reply is kept for the citizen's status
//! page and, when mail may go to the case's address, queued threaded onto the case's
//! latest mail. `POST /api/v1/inquiries/{case}/reply/template` saves an edited reply as the
//! service's template (a new version each time, audited).

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use serde::Deserialize;
use serde_json::json;

use super::parse_text;
use crate::{
    outbound::notify::{self, ReplyToSend},
    privacy::redact::redact,
    reply::{Autonomy, CASE_PLACEHOLDER, ReplyLanguage, case},
    web::{
        ApiError, AppState,
        auth::Caller,
        extract::{ApiJson, ApiPath},
    },
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReplyBody {
    #[serde(default)]
    text: Option<String>,
    /// `de`, `en` or `de-x-ls`; the draft's language when left out.
    #[serde(default)]
    language: Option<String>,
    /// Send the suggested draft unchanged.
    #[serde(default)]
    draft: bool,
    /// Send although the checker flagged something (the clerk vouches for it).
    #[serde(default)]
    confirm: bool,
}

fn language(raw: Option<&str>) -> Result<Option<ReplyLanguage>, ApiError> {
    raw.map(|l| {
        ReplyLanguage::parse(l).ok_or_else(|| {
            ApiError::InvalidField(format!("language '{l}': use \"de\", \"en\" or \"de-x-ls\""))
        })
    })
    .transpose()
}

pub(super) async fn reply(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(case_number): ApiPath<String>,
    ApiJson(body): ApiJson<ReplyBody>,
) -> Result<impl IntoResponse, ApiError> {
    let chosen = language(body.language.as_deref())?;
    if body.draft == body.text.is_some() {
        return Err(ApiError::InvalidField(
            "send either \"text\" or \"draft\": true".into(),
        ));
    }
    let (case_number, inquiry) = state.inquiry_for(&caller, &case_number).await?;
    let draft = draft(&state, &inquiry).await?;
    let (text, language) = match (body.draft, body.text.as_deref()) {
        (true, Some(_)) => {
            return Err(ApiError::InvalidField(
                "send either \"text\" or \"draft\": true, not both".into(),
            ));
        }
        (true, None) => {
            let Some(draft) = &draft else {
                return Err(ApiError::Conflict("the case has no draft yet".into()));
            };
            let autonomy =
                case::autonomy(&state.store, &state.config.reply, &draft.service_id).await?;
            if autonomy == Autonomy::Suggest {
                return Err(ApiError::Conflict(
                    "the service's replies are suggestions (autonomy \"suggest\"): send the reviewed text".into(),
                ));
            }
            let language = chosen.unwrap_or(draft.language);
            (draft.variant(language).text.clone(), language)
        }
        (false, Some(raw)) => (
            parse_text(raw, &state)?.into_string(),
            chosen
                .or(draft.as_ref().map(|d| d.language))
                .unwrap_or(ReplyLanguage::German),
        ),
        (false, None) => {
            return Err(ApiError::InvalidField(
                "missing field `text` (or \"draft\": true)".into(),
            ));
        }
    };
    let check = case::check_reply(&inquiry, inquiry.decision.as_ref(), draft.as_ref(), &text);
    let flags = check.as_ref().map(|c| c.flags.clone()).unwrap_or_default();
    if !flags.is_empty() && !body.confirm {
        return Err(ApiError::ReplyFlagged(flags));
    }
    let german_copy = case::german_copy(draft.as_ref(), language);
    let queued = notify::send_reply(
        &state.store,
        &state.config.mail,
        &inquiry,
        &ReplyToSend {
            text: &text,
            language,
            german_copy: german_copy.as_deref(),
            actor: &caller.actor,
            audit: json!({"flags_confirmed": flags.len(), "from_draft": body.draft}),
        },
    )
    .await?;
    let mailed = queued.is_some();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "case_number": case_number,
            "mailed": mailed,
            "message_id": queued.map(|q| q.message_id),
            "state": if mailed { "queued" } else { "recorded" },
            "language": language,
            "german_copy": german_copy,
            "check": check,
        })),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TemplateBody {
    text: String,
    language: String,
}

/// Saves an edited reply as the template of the case's service: personal data redacted,
/// the case number replaced by a placeholder, a new version each time.
pub(super) async fn save_template(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(case_number): ApiPath<String>,
    ApiJson(body): ApiJson<TemplateBody>,
) -> Result<impl IntoResponse, ApiError> {
    let language = language(Some(&body.language))?.expect("given");
    let text = parse_text(&body.text, &state)?;
    let (case_number, inquiry) = state.inquiry_for(&caller, &case_number).await?;
    let Some(decision) = &inquiry.decision else {
        return Err(ApiError::Conflict("the case is not decided yet".into()));
    };
    let generic = redact(text.as_str())
        .text
        .replace(&case_number.to_string(), CASE_PLACEHOLDER);
    let saved = state
        .store
        .save_reply_template(
            &decision.service.id,
            language.as_str(),
            &generic,
            &caller.actor,
        )
        .await?;
    state
        .store
        .append_audit(
            &caller.actor,
            "reply.template",
            &decision.service.id,
            &json!({"language": saved.language, "version": saved.version, "case": case_number.to_string()}),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

/// The case's suggested draft: `None` before the decision or while the model loads.
pub(in crate::web) async fn draft(
    state: &AppState,
    inquiry: &crate::store::StoredInquiry,
) -> Result<Option<crate::reply::Draft>, ApiError> {
    Ok(match (&inquiry.decision, state.ready()) {
        (Some(decision), Ok(ready)) => {
            case::draft_for(&state.store, &ready.catalogue, inquiry, decision).await?
        }
        _ => None,
    })
}

/// Sends a clerk's reply from the case page: in the language of the case's draft (German
/// without one), kept for the status page, queued as mail when mail may go to the case's
/// address, and audited with the number of checker flags the clerk confirmed.
pub(in crate::web) async fn send(
    state: &AppState,
    caller: &crate::web::auth::Identity,
    inquiry: &crate::store::StoredInquiry,
    draft: Option<&crate::reply::Draft>,
    text: &str,
    flags_confirmed: usize,
) -> Result<Option<crate::domain::Outbound>, ApiError> {
    let language = draft.map_or(ReplyLanguage::German, |d| d.language);
    let german_copy = case::german_copy(draft, language);
    Ok(notify::send_reply(
        &state.store,
        &state.config.mail,
        inquiry,
        &ReplyToSend {
            text,
            language,
            german_copy: german_copy.as_deref(),
            actor: &caller.actor,
            audit: json!({"from_page": true, "flags_confirmed": flags_confirmed}),
        },
    )
    .await?)
}
