//! Operations in the admin console: the job queue and its dead jobs (retry), the outbox
//! and its dead mail (retry) — `/admin/auftraege` — and the audit chain's verification
//! and the GDPR requests for a case (export as JSON, erase after a confirmation step) —
//! `/admin/datenschutz`. Retrying a job is the API's function (`web::jobs`); mail retry,
//! verification, export and erasure are the store's and pipeline's functions the CLI uses.
//! Every change is audited.

use askama::Template;
use axum::{
    Form,
    extract::{Query, State},
    http::{HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use serde_json::json;

use super::chrome::{Chrome, render};
use crate::{
    domain::CaseNumber,
    pipeline::gdpr,
    store::{AuditVerdict, Job, JobState, OutboxEntry, StoredInquiry},
    web::{ApiError, AppState, auth::Caller, extract::ApiPath, jobs::retry_dead, routes::Route},
};

/// Most jobs the page lists per state.
const LISTED: i64 = 100;

pub fn routes() -> Vec<Route> {
    vec![
        Route::admin(Method::GET, "/admin/auftraege", jobs_page),
        Route::admin(Method::POST, "/admin/auftraege/{id}/wiederholen", retry_job),
        Route::admin(Method::POST, "/admin/post/{id}/wiederholen", retry_mail),
        Route::admin(Method::GET, "/admin/datenschutz", privacy_page),
        Route::admin(Method::POST, "/admin/datenschutz/export", export),
        Route::admin(Method::POST, "/admin/datenschutz/loeschen", erase),
    ]
}

#[derive(Deserialize, Default)]
struct Done {
    #[serde(default)]
    erledigt: String,
}

#[derive(Template)]
#[template(path = "admin_jobs.html")]
struct JobsPage {
    chrome: Chrome,
    dead: Vec<Job>,
    waiting: Vec<Job>,
    mail: Vec<OutboxEntry>,
    done: Option<String>,
}

async fn jobs_page(
    State(state): State<AppState>,
    chrome: Chrome,
    Query(q): Query<Done>,
) -> Result<Response, ApiError> {
    let lang = chrome.lang;
    let store = &state.store;
    let mut waiting = store.jobs(Some(JobState::Running), LISTED).await?;
    waiting.extend(store.jobs(Some(JobState::Queued), LISTED).await?);
    let mut mail = store.outbox().await?;
    // Dead mail first, then what is still on its way; sent mail is in the mail log.
    mail.retain(|m| m.state != "sent");
    mail.sort_by_key(|m| (m.state != "dead", m.id));
    let done = match q.erledigt.as_str() {
        "auftrag" => Some(lang.pick("Auftrag erneut eingeplant.", "Job queued again.")),
        "post" => Some(lang.pick(
            "Mail erneut zum Versand eingeplant.",
            "Mail queued for sending again.",
        )),
        _ => None,
    }
    .map(str::to_string);
    let page = JobsPage {
        chrome,
        dead: store.jobs(Some(JobState::Dead), LISTED).await?,
        waiting,
        mail,
        done,
    };
    Ok(render(StatusCode::OK, &page))
}

async fn retry_job(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    retry_dead(&state, &caller, id).await?;
    Ok(Redirect::to("/admin/auftraege?erledigt=auftrag").into_response())
}

async fn retry_mail(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    match state.store.retry_outbound(id).await? {
        None => Err(ApiError::NotFound(format!("no mail {id}"))),
        Some(false) => Err(ApiError::Conflict(format!(
            "mail {id} is not dead; only dead mail can be retried"
        ))),
        Some(true) => {
            state
                .store
                .append_audit(
                    &caller.actor,
                    "mail.retry",
                    &format!("outbox:{id}"),
                    &json!({}),
                )
                .await?;
            Ok(Redirect::to("/admin/auftraege?erledigt=post").into_response())
        }
    }
}

/// What a GDPR request about a case covers: the sender's every case when the case has an
/// address, else the case alone.
struct Scope {
    case: String,
    /// The sender's address (shown to the admin, who answers the request).
    sender: Option<String>,
    cases: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin_privacy.html")]
struct PrivacyPage {
    chrome: Chrome,
    /// The verification's result: intact, and the sentence to show.
    verdict: Option<(bool, String)>,
    case: String,
    scope: Option<Scope>,
    /// The erasure awaits its confirmation.
    confirm: bool,
    done: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
struct PrivacyQuery {
    #[serde(default)]
    pruefen: String,
    #[serde(default)]
    fall: String,
    #[serde(default)]
    geloescht: Option<usize>,
}

async fn scope_of(state: &AppState, case: &str) -> Result<Option<(CaseNumber, Scope)>, ApiError> {
    let Ok(number) = case.trim().parse::<CaseNumber>() else {
        return Ok(None);
    };
    let Some(inquiry): Option<StoredInquiry> = state.store.inquiry(&number).await? else {
        return Ok(None);
    };
    let sender = inquiry.sender.clone().filter(|s| !s.trim().is_empty());
    let cases = match &sender {
        Some(email) => state
            .store
            .subject_inquiries(email)
            .await?
            .cases
            .iter()
            .map(ToString::to_string)
            .collect(),
        None => vec![number.to_string()],
    };
    Ok(Some((
        number,
        Scope {
            case: number.to_string(),
            sender,
            cases,
        },
    )))
}

async fn privacy_page(
    State(state): State<AppState>,
    chrome: Chrome,
    Query(q): Query<PrivacyQuery>,
) -> Result<Response, ApiError> {
    let lang = chrome.lang;
    let verdict = if q.pruefen.is_empty() {
        None
    } else {
        Some(match state.store.verify_audit().await? {
            AuditVerdict::Intact { entries } => (
                true,
                format!(
                    "{} {entries} {}",
                    lang.pick(
                        "OK: das Protokoll ist unversehrt,",
                        "OK: the audit log is intact,"
                    ),
                    lang.pick("Einträge geprüft.", "entries checked."),
                ),
            ),
            AuditVerdict::Broken { seq, problem } => (
                false,
                format!(
                    "{} {seq}: {problem}",
                    lang.pick(
                        "Das Protokoll ist beschädigt bei Eintrag",
                        "The audit log is broken at entry"
                    )
                ),
            ),
        })
    };
    let (scope, error) = if q.fall.trim().is_empty() {
        (None, None)
    } else {
        match scope_of(&state, &q.fall).await? {
            Some((_, s)) => (Some(s), None),
            None => (
                None,
                Some(
                    lang.pick(
                        "Diesen Fall gibt es nicht (mehr). Bitte prüfen Sie die Fallnummer, etwa 2026-000123.",
                        "There is no such case (any more). Please check the case number, e.g. 2026-000123.",
                    )
                    .to_string(),
                ),
            ),
        }
    };
    let done = q.geloescht.map(|n| {
        format!(
            "{} {n} {}",
            lang.pick("Gelöscht:", "Erased:"),
            lang.pick(
                "Fälle mit allem, was daraus abgeleitet war.",
                "cases with everything derived from them."
            )
        )
    });
    let page = PrivacyPage {
        chrome,
        verdict,
        case: q.fall,
        scope,
        confirm: false,
        done,
        error,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
struct CaseForm {
    #[serde(default)]
    fall: String,
    /// Set by the confirmation step's form.
    #[serde(default)]
    bestaetigt: String,
}

/// Everything stored about the case's sender (or the case alone), as a JSON download.
async fn export(
    State(state): State<AppState>,
    Form(form): Form<CaseForm>,
) -> Result<Response, ApiError> {
    let (number, scope) = scope_of(&state, &form.fall)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no case {}", form.fall.trim())))?;
    let export = match &scope.sender {
        Some(email) => state.store.export_subject(email).await?,
        None => state.store.export_case(&number).await?,
    };
    let body = serde_json::to_vec_pretty(&export).map_err(|e| ApiError::Internal(e.to_string()))?;
    let disposition = format!("attachment; filename=\"auskunft-{number}.json\"");
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::try_from(disposition)
                    .map_err(|e| ApiError::Internal(e.to_string()))?,
            ),
        ],
        body,
    )
        .into_response())
}

/// The first post shows what would be erased and asks to confirm; the confirmed post
/// erases (vector points first, then the rows) and goes back to the page.
async fn erase(
    State(state): State<AppState>,
    chrome: Chrome,
    Form(form): Form<CaseForm>,
) -> Result<Response, ApiError> {
    let (number, scope) = scope_of(&state, &form.fall)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no case {}", form.fall.trim())))?;
    if form.bestaetigt != "ja" {
        let page = PrivacyPage {
            chrome,
            verdict: None,
            case: scope.case.clone(),
            scope: Some(scope),
            confirm: true,
            done: None,
            error: None,
        };
        return Ok(render(StatusCode::OK, &page));
    }
    let index = state.ready()?.router.index();
    let erased = match &scope.sender {
        Some(email) => gdpr::erase(&state.store, index, email).await,
        None => gdpr::erase_case(&state.store, index, &number).await,
    }
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Redirect::to(&format!(
        "/admin/datenschutz?geloescht={}",
        erased.ids.len()
    ))
    .into_response())
}
