//! The clerk's pages: the inbox (`/app`) — the inquiries of the clerk's departments, riskiest
//! first (under review before routed, lowest confidence, then oldest), filtered and
//! searched, with the count per department — and the case page (`/app/faelle/{case}`)
//! with the message, the decision and its evidence, and the actions: accept, re-route to a
//! candidate in one click or to any service with a reason, reply. A clerk reaches only the
//! cases of their departments; anything else is the same 404 as an unknown case.

use std::collections::BTreeMap;

use askama::Template;
use axum::{
    Form,
    extract::{Query, State},
    http::{Method, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::chrome::{Chrome, Lang, render};
use crate::{
    domain::{
        CaseNumber, Decision, EvidenceKind, InquiryStatus, InquiryText, inquiry::InvalidText,
    },
    reply::{case as reply_case, grounding::FIELDS},
    store::{AuditEntry, CaseReply, Ending, InquiryQuery, StoredInquiry},
    triage::review::{Review, ReviewAction},
    web::{
        ApiError, AppState,
        auth::{Caller, Identity},
        extract::ApiPath,
        inquiries::{reply, review},
        routes::Route,
    },
};

pub fn routes() -> Vec<Route> {
    vec![
        Route::staff(Method::GET, "/app", inbox),
        Route::staff(Method::GET, "/app/faelle/{case}", case_page),
        Route::staff(Method::POST, "/app/faelle/{case}/annehmen", accept),
        Route::staff(Method::POST, "/app/faelle/{case}/umleiten", reroute),
        Route::staff(Method::POST, "/app/faelle/{case}/antwort", answer),
        Route::staff(Method::GET, "/app/faelle/{case}/anhaenge/{id}", attachment),
        Route::staff(Method::POST, "/app/faelle/{case}/spam", spam),
        Route::staff(Method::POST, "/app/faelle/{case}/zusammenfuehren", merge),
        Route::staff(Method::POST, "/app/faelle/{case}/schliessen", close),
    ]
}

/// Lines per inbox page.
const PAGE: usize = 25;
/// Inquiries the inbox sorts and filters at once.
const WINDOW: i64 = 500;

/// A confidence in words and numbers, as the pages show it ("sicher 94 %").
pub fn confidence_words(lang: Lang, confidence: f32) -> String {
    let words = match confidence {
        c if c >= 0.9 => lang.pick("sicher", "confident"),
        c if c >= 0.7 => lang.pick("ziemlich sicher", "fairly confident"),
        c if c >= 0.4 => lang.pick("unsicher", "unsure"),
        _ => lang.pick("sehr unsicher", "very unsure"),
    };
    format!("{words} {} %", (confidence * 100.0).round() as i64)
}

fn status_words(lang: Lang, status: InquiryStatus) -> &'static str {
    match status {
        InquiryStatus::Received => lang.pick("eingegangen", "received"),
        InquiryStatus::Routed => lang.pick("zugeordnet", "routed"),
        InquiryStatus::Review => lang.pick("zu prüfen", "to review"),
        InquiryStatus::Failed => lang.pick("fehlgeschlagen", "failed"),
        InquiryStatus::Spam => lang.pick("Spam", "spam"),
        InquiryStatus::NotInquiry => lang.pick("kein Anliegen", "not an inquiry"),
        InquiryStatus::Merged => lang.pick("zusammengeführt", "merged"),
        InquiryStatus::Closed => lang.pick("abgeschlossen", "closed"),
    }
}

/// An audit action of a case's history in words; unknown ones as they are.
fn action_words(lang: Lang, action: &str) -> String {
    match action {
        "review.accept" => lang.pick("Zuordnung angenommen", "routing accepted"),
        "review.reroute" => lang.pick("umgeleitet", "re-routed"),
        "case.spam" => lang.pick("als Spam markiert", "marked as spam"),
        "case.not_inquiry" => lang.pick("als kein Anliegen markiert", "marked as not an inquiry"),
        "case.merge" => lang.pick(
            "in einen anderen Fall zusammengeführt",
            "merged into another case",
        ),
        "case.merged_from" => lang.pick(
            "ein anderer Fall wurde hierher zusammengeführt",
            "another case was merged into this one",
        ),
        "case.close" => lang.pick("abgeschlossen", "closed"),
        other => other,
    }
    .to_string()
}

/// A history entry as the case page shows it.
struct HistoryLine {
    at: String,
    action: String,
    actor: String,
    /// The other case of a merge.
    other_case: Option<String>,
}

#[derive(Deserialize, Default)]
struct InboxFilter {
    #[serde(default)]
    status: String,
    #[serde(default)]
    abteilung: String,
    #[serde(default)]
    kanal: String,
    #[serde(default)]
    suche: String,
    #[serde(default)]
    seite: usize,
    #[serde(default)]
    erledigt: String,
    #[serde(default)]
    fall: String,
    seit: Option<i64>,
}

struct InboxLine {
    case_number: String,
    received: String,
    channel: &'static str,
    status: &'static str,
    review: bool,
    service: String,
    department: String,
    confidence: String,
    preview: String,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    chrome: Chrome,
    filter: InboxFilter,
    lines: Vec<InboxLine>,
    /// Department name and waiting count.
    counts: Vec<(String, String, usize)>,
    total: usize,
    page: usize,
    pages: usize,
    /// What the last action did, when the case left the clerk's reach.
    done: Option<String>,
}

impl InboxPage {
    fn link(&self, page: usize) -> String {
        let f = &self.filter;
        let q: Vec<(&str, String)> = vec![
            ("status", f.status.clone()),
            ("abteilung", f.abteilung.clone()),
            ("kanal", f.kanal.clone()),
            ("suche", f.suche.clone()),
            ("seite", page.to_string()),
        ];
        format!(
            "/app?{}",
            serde_urlencoded::to_string(q).unwrap_or_default()
        )
    }
}

/// Riskiest first: under review before routed, then the lowest confidence, then oldest.
fn risk_order(a: &StoredInquiry, b: &StoredInquiry) -> std::cmp::Ordering {
    let rank = |i: &StoredInquiry| match i.status {
        InquiryStatus::Review => 0,
        InquiryStatus::Failed => 1,
        InquiryStatus::Received => 2,
        InquiryStatus::Routed => 3,
        InquiryStatus::Spam
        | InquiryStatus::NotInquiry
        | InquiryStatus::Merged
        | InquiryStatus::Closed => 4,
    };
    let conf = |i: &StoredInquiry| i.decision.as_ref().map_or(0.0, |d| d.confidence);
    rank(a)
        .cmp(&rank(b))
        .then(conf(a).total_cmp(&conf(b)))
        .then(a.received_at.cmp(&b.received_at))
}

fn preview(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(140)
        .collect();
    if text.chars().count() > 140 {
        format!("{flat} …")
    } else {
        flat
    }
}

async fn inbox(
    State(state): State<AppState>,
    Caller(caller): Caller,
    chrome: Chrome,
    Query(filter): Query<InboxFilter>,
) -> Result<Response, ApiError> {
    let lang = chrome.lang;
    let query = InquiryQuery {
        reach: (!caller.is_admin()).then(|| caller.departments.clone()),
        department: None,
        status: None,
        before: None,
        limit: WINDOW,
        ..InquiryQuery::default()
    };
    let mut all = state.store.inquiries(&query).await?;
    let mut counts: BTreeMap<String, (String, usize)> = BTreeMap::new();
    for i in all.iter().filter(|i| !i.status.is_ended()) {
        if let Some(d) = &i.decision {
            counts
                .entry(d.department.id.clone())
                .or_insert((d.department.name.clone(), 0))
                .1 += 1;
        }
    }
    let needle = filter.suche.trim().to_lowercase();
    all.retain(|i| {
        let d = i.decision.as_ref();
        // Ended cases await nothing: only shown when asked for by their status.
        (if filter.status.is_empty() {
            !i.status.is_ended()
        } else {
            i.status.as_str() == filter.status
        }) && (filter.abteilung.is_empty()
            || d.is_some_and(|d| d.department.id == filter.abteilung))
            && (filter.kanal.is_empty() || i.channel.as_str() == filter.kanal)
            && (needle.is_empty()
                || i.case_number.to_string().contains(&needle)
                || i.text.to_lowercase().contains(&needle))
    });
    all.sort_by(risk_order);
    let total = all.len();
    let pages = total.div_ceil(PAGE).max(1);
    let page = filter.seite.min(pages - 1);
    let lines = all
        .iter()
        .skip(page * PAGE)
        .take(PAGE)
        .map(|i| {
            let d = i.decision.as_ref();
            InboxLine {
                case_number: i.case_number.to_string(),
                received: i.received_at.format("%d.%m.%Y %H:%M").to_string(),
                channel: i.channel.as_str(),
                status: status_words(lang, i.status),
                review: i.status == InquiryStatus::Review,
                service: d.map_or_else(String::new, |d| d.service.name.clone()),
                department: d.map_or_else(String::new, |d| d.department.name.clone()),
                confidence: d.map_or_else(String::new, |d| confidence_words(lang, d.confidence)),
                preview: preview(&i.text),
            }
        })
        .collect();
    let done = match filter.erledigt.as_str() {
        "umgeleitet" => Some(format!(
            "{} {} {} {}",
            lang.pick("Fall", "Case"),
            filter.fall,
            lang.pick(
                "ist umgeleitet und liegt jetzt bei der anderen Abteilung.",
                "is re-routed and now with the other department."
            ),
            learnt(&state, lang, filter.seit).await?
        )),
        _ => None,
    };
    let counts = counts
        .into_iter()
        .map(|(id, (name, n))| (id, name, n))
        .collect();
    let page = InboxPage {
        chrome,
        filter,
        lines,
        counts,
        total,
        page,
        pages,
        done,
    };
    Ok(render(StatusCode::OK, &page))
}

struct CandidateLine {
    service_id: String,
    service_name: String,
    department: String,
    score: String,
    current: bool,
    /// The first candidate other than the current service: the `u` shortcut's target.
    first: bool,
}

struct EvidenceLine {
    service: String,
    kind: &'static str,
    text: String,
    similarity: String,
}

struct ServiceOption {
    id: String,
    label: String,
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    chrome: Chrome,
    case_number: String,
    received: String,
    channel: &'static str,
    status: &'static str,
    sender: Option<String>,
    text: String,
    decision: Option<DecisionView>,
    candidates: Vec<CandidateLine>,
    evidence: Vec<EvidenceLine>,
    services: Vec<ServiceOption>,
    replies: Vec<CaseReply>,
    attachments: Vec<AttachmentLine>,
    history: Vec<HistoryLine>,
    /// The clerk ended the case (spam, not an inquiry, merged, closed).
    ended: bool,
    /// What the last action did.
    done: Option<String>,
    reply_error: Option<&'static str>,
    /// Why the merge was refused, and the case number typed.
    merge_error: Option<&'static str>,
    merge_target: String,
    /// The reply text: the suggested draft, or the clerk's text kept to be corrected.
    draft: String,
    /// Whether `draft` is the suggestion (not yet the clerk's own text).
    drafted: bool,
    /// The draft's facts with their catalogue source, and the facts the catalogue lacks.
    facts: Vec<FactLine>,
    gaps: Vec<String>,
    draft_note: Option<String>,
    /// What the checker found in the clerk's text: spans neither the catalogue nor the
    /// case supports.
    flags: Vec<FlagLine>,
}

struct AttachmentLine {
    id: i64,
    name: String,
    kind: &'static str,
    size: String,
}

struct FactLine {
    label: &'static str,
    value: String,
    source: String,
}

struct FlagLine {
    span: String,
    message: String,
}

/// The reply form as the clerk left it: their text, and what is wrong with it.
#[derive(Default)]
struct ReplyInput {
    text: String,
    error: Option<&'static str>,
    flags: Vec<FlagLine>,
}

struct DecisionView {
    service: String,
    department: String,
    confidence: String,
    calibrated: bool,
    reason: String,
    router: String,
}

#[derive(Deserialize, Default)]
struct CaseQuery {
    #[serde(default)]
    erledigt: String,
    /// When the review was made (unix milliseconds): what the model learnt since.
    seit: Option<i64>,
}

async fn case_page(
    State(state): State<AppState>,
    Caller(caller): Caller,
    chrome: Chrome,
    ApiPath(case): ApiPath<String>,
    Query(q): Query<CaseQuery>,
) -> Result<Response, ApiError> {
    let (_, inquiry) = state.inquiry_for(&caller, &case).await?;
    let lang = chrome.lang;
    let done = match q.erledigt.as_str() {
        "angenommen" => Some(format!(
            "{} {}",
            lang.pick("Zuordnung bestätigt.", "Routing confirmed."),
            learnt(&state, lang, q.seit).await?
        )),
        "umgeleitet" => Some(format!(
            "{} {}",
            lang.pick("Umgeleitet.", "Re-routed."),
            learnt(&state, lang, q.seit).await?
        )),
        "beantwortet" => Some(
            lang.pick(
                "Antwort gesendet. Die Bürgerin oder der Bürger sieht sie auf der Statusseite.",
                "Answer sent. The citizen sees it on the status page.",
            )
            .to_string(),
        ),
        "spam" => Some(
            lang.pick(
                "Als Spam markiert; der Fall ist aus der Arbeitsliste genommen.",
                "Marked as spam; the case left the inbox.",
            )
            .to_string(),
        ),
        "kein-anliegen" => Some(
            lang.pick(
                "Als kein Anliegen markiert; der Fall ist aus der Arbeitsliste genommen.",
                "Marked as not an inquiry; the case left the inbox.",
            )
            .to_string(),
        ),
        "zusammengefuehrt" => Some(
            lang.pick(
                "Zusammengeführt; bearbeitet wird im anderen Fall.",
                "Merged; the other case is where the work goes on.",
            )
            .to_string(),
        ),
        "geschlossen" => Some(
            lang.pick(
                "Abgeschlossen; der Fall ist aus der Arbeitsliste genommen.",
                "Closed; the case left the inbox.",
            )
            .to_string(),
        ),
        _ => None,
    };
    let page = case_view(&state, chrome, inquiry, done, ReplyInput::default()).await?;
    Ok(render(StatusCode::OK, &page))
}

async fn case_view(
    state: &AppState,
    chrome: Chrome,
    inquiry: StoredInquiry,
    done: Option<String>,
    input: ReplyInput,
) -> Result<CasePage, ApiError> {
    let lang = chrome.lang;
    let d: Option<&Decision> = inquiry.decision.as_ref();
    let catalogue = state.ready().ok().map(|r| r.catalogue.clone());
    let department_name = |id: &str| {
        catalogue
            .as_ref()
            .and_then(|c| c.department(id).map(|d| d.name.clone()))
            .unwrap_or_else(|| id.to_string())
    };
    let service_name = |id: &str| {
        catalogue
            .as_ref()
            .and_then(|c| c.service(id).map(|s| s.name.clone()))
            .unwrap_or_else(|| id.to_string())
    };
    let candidates = d.map_or_else(Vec::new, |d| {
        d.candidates
            .iter()
            .map(|c| CandidateLine {
                service_id: c.service_id.clone(),
                service_name: c.service_name.clone(),
                department: department_name(&c.department_id),
                score: format!("{} %", (c.score * 100.0).round() as i64),
                current: c.service_id == d.service.id,
                first: false,
            })
            .collect()
    });
    let mut candidates: Vec<CandidateLine> = candidates;
    if let Some(c) = candidates.iter_mut().find(|c| !c.current) {
        c.first = true;
    }
    let evidence = d.map_or_else(Vec::new, |d| {
        d.evidence
            .iter()
            .map(|e| EvidenceLine {
                service: service_name(&e.service_id),
                kind: match e.kind {
                    EvidenceKind::ServiceName => lang.pick("Leistungsname", "service name"),
                    EvidenceKind::Description => lang.pick("Beschreibung", "description"),
                    EvidenceKind::Keywords => lang.pick("Stichwörter", "keywords"),
                    EvidenceKind::Example => lang.pick("Beispielanliegen", "example inquiry"),
                },
                text: e.text.clone(),
                similarity: format!("{} %", (e.similarity * 100.0).round() as i64),
            })
            .collect()
    });
    let services = catalogue.as_ref().map_or_else(Vec::new, |c| {
        let mut s: Vec<ServiceOption> = c
            .services
            .iter()
            .map(|s| ServiceOption {
                id: s.id.clone(),
                label: format!("{} – {}", s.name, department_name(&s.department)),
            })
            .collect();
        s.sort_by(|a, b| a.label.cmp(&b.label));
        s
    });
    let suggested = reply::draft(state, &inquiry).await?;
    let drafted = input.text.is_empty() && suggested.is_some();
    let label = |field: &str| {
        FIELDS
            .iter()
            .find(|(f, ..)| *f == field)
            .map_or("", |(_, de, en)| lang.pick(de, en))
    };
    let (facts, gaps, draft_note) = suggested.as_ref().map_or_else(
        || (Vec::new(), Vec::new(), None),
        |s| {
            let facts = s
                .facts
                .iter()
                .map(|f| FactLine {
                    label: label(f.field),
                    value: f.value.clone(),
                    source: f.source.clone(),
                })
                .collect();
            let gaps = s.gaps.iter().map(|g| label(g.field).to_string()).collect();
            (facts, gaps, s.note.clone())
        },
    );
    let draft = match suggested {
        Some(s) if drafted => s.text,
        _ => input.text,
    };
    let replies = state.store.case_replies(inquiry.id).await?;
    let attachments = state
        .store
        .attachments(inquiry.id)
        .await?
        .into_iter()
        .map(|a| AttachmentLine {
            kind: if a.content_type == "application/pdf" {
                "PDF"
            } else {
                lang.pick("Foto", "photo")
            },
            size: size_words(a.size),
            id: a.id,
            name: a.name,
        })
        .collect();
    let history = state
        .store
        .audit_entries_for(&[inquiry.case_number.to_string()])
        .await?
        .into_iter()
        .map(|h: AuditEntry| HistoryLine {
            at: h.at.clone(),
            action: action_words(lang, &h.action),
            actor: h.actor.clone(),
            other_case: h.details["into"]
                .as_str()
                .or_else(|| {
                    h.details["from"]
                        .as_str()
                        .filter(|_| h.action == "case.merged_from")
                })
                .map(str::to_string),
        })
        .collect();
    Ok(CasePage {
        case_number: inquiry.case_number.to_string(),
        received: inquiry.received_at.format("%d.%m.%Y %H:%M").to_string(),
        channel: inquiry.channel.as_str(),
        status: status_words(lang, inquiry.status),
        sender: inquiry.sender.clone(),
        text: inquiry.text.clone(),
        decision: d.map(|d| DecisionView {
            service: d.service.name.clone(),
            department: d.department.name.clone(),
            confidence: confidence_words(lang, d.confidence),
            calibrated: d.calibrated,
            reason: d.reason.clone(),
            router: d.router.clone(),
        }),
        candidates,
        evidence,
        services,
        replies,
        attachments,
        history,
        ended: inquiry.status.is_ended(),
        done,
        reply_error: input.error,
        merge_error: None,
        merge_target: String::new(),
        draft,
        drafted,
        facts,
        gaps,
        draft_note,
        flags: input.flags,
        chrome,
    })
}

/// Where to go after a review: back to the case while the clerk still reaches it, else to
/// the inbox with a note.
fn after_review(caller: &Identity, decision: &Decision, case: &str, done: &str) -> Response {
    let since = chrono::Utc::now().timestamp_millis();
    if caller.may_access(Some(decision)) {
        Redirect::to(&format!("/app/faelle/{case}?erledigt={done}&seit={since}")).into_response()
    } else {
        Redirect::to(&format!("/app?erledigt={done}&fall={case}&seit={since}")).into_response()
    }
}

/// How long the page after a review waits for the retraining the review started.
const LEARN_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// The newest model version trained at or after `since` (unix milliseconds), waiting up to
/// [`LEARN_WAIT`] for the retraining a review schedules.
async fn trained_since(
    state: &AppState,
    since: i64,
) -> Result<Option<crate::store::ModelVersion>, ApiError> {
    let deadline = tokio::time::Instant::now() + LEARN_WAIT;
    loop {
        let newest = state
            .store
            .model_versions()
            .await?
            .into_iter()
            .rev()
            .find(|v| {
                chrono::DateTime::parse_from_rfc3339(&v.created_at)
                    .is_ok_and(|t| t.timestamp_millis() >= since)
            });
        if newest.is_some() || tokio::time::Instant::now() >= deadline {
            return Ok(newest);
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// What the model made of the clerk's word, in a sentence: the version trained since the
/// review with its time, and whether it routes yet (or why not), or that it is still
/// training.
async fn learnt(state: &AppState, lang: Lang, since: Option<i64>) -> Result<String, ApiError> {
    let Some(since) = since else {
        return Ok(lang
            .pick(
                "Das Modell lernt daraus: ein neues Training ist eingeplant.",
                "The model learns from it: a new training is scheduled.",
            )
            .to_string());
    };
    let Some(v) = trained_since(state, since).await? else {
        return Ok(lang
            .pick(
                "Das Modell lernt daraus: das Training läuft noch; die Seite „Modelle“ zeigt das Ergebnis.",
                "The model learns from it: the training is still running; the models page shows the result.",
            )
            .to_string());
    };
    let seconds = v.metrics["seconds"].as_f64().unwrap_or_default();
    let seconds = match lang {
        Lang::De => format!("{seconds:.1}").replace('.', ","),
        Lang::En => format!("{seconds:.1}"),
    };
    let version = v.version;
    Ok(if v.active {
        match lang {
            Lang::De => format!(
                "Das Modell lernt daraus: neues Modell v{version} in {seconds} s trainiert; es routet ab jetzt."
            ),
            Lang::En => format!(
                "The model learns from it: new model v{version} trained in {seconds} s; it routes from now on."
            ),
        }
    } else {
        let labelled = v.metrics["labelled"].as_u64().unwrap_or_default();
        let needed = v.metrics["min_labelled"].as_u64().unwrap_or_default();
        match lang {
            Lang::De => format!(
                "Das Modell lernt daraus: Modell v{version} in {seconds} s trainiert, routet aber erst ab {needed} geprüften Anliegen ({labelled} bisher); bis dahin entscheidet der Katalogvergleich."
            ),
            Lang::En => format!(
                "The model learns from it: model v{version} trained in {seconds} s, but it routes only from {needed} reviewed inquiries on ({labelled} so far); until then the catalogue comparison decides."
            ),
        }
    })
}

async fn accept(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(case): ApiPath<String>,
) -> Result<Response, ApiError> {
    let (case, inquiry) = state.inquiry_for(&caller, &case).await?;
    let body = Review::new(ReviewAction::Accept, None, None);
    let decision = review::apply(&state, &caller, &inquiry, &body).await?;
    Ok(after_review(
        &caller,
        &decision,
        &case.to_string(),
        "angenommen",
    ))
}

#[derive(Deserialize)]
struct Reroute {
    service: String,
    #[serde(default)]
    reason: String,
}

async fn reroute(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(case): ApiPath<String>,
    Form(form): Form<Reroute>,
) -> Result<Response, ApiError> {
    let (case, inquiry) = state.inquiry_for(&caller, &case).await?;
    let reason = Some(form.reason.trim().to_string()).filter(|r| !r.is_empty());
    let body = Review::new(ReviewAction::Reroute, Some(form.service), reason);
    let decision = review::apply(&state, &caller, &inquiry, &body).await?;
    Ok(after_review(
        &caller,
        &decision,
        &case.to_string(),
        "umgeleitet",
    ))
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    text: String,
    /// Present when the clerk confirms spans the checker flagged.
    #[serde(default)]
    confirm: Option<String>,
}

/// Sends the clerk's answer. The checker runs over it first: spans that neither the
/// catalogue nor the case supports come back marked, and go out only once confirmed.
async fn answer(
    State(state): State<AppState>,
    Caller(caller): Caller,
    chrome: Chrome,
    ApiPath(case): ApiPath<String>,
    Form(form): Form<Answer>,
) -> Result<Response, ApiError> {
    let (case, inquiry) = state.inquiry_for(&caller, &case).await?;
    let lang = chrome.lang;
    let text = match InquiryText::parse(&form.text, state.config.server.max_text_chars) {
        Ok(text) => text,
        Err(e) => {
            let error = match e {
                InvalidText::Empty => lang.pick(
                    "Bitte schreiben Sie eine Antwort.",
                    "Please write an answer.",
                ),
                InvalidText::TooLong { .. } => {
                    lang.pick("Die Antwort ist zu lang.", "The answer is too long.")
                }
            };
            let input = ReplyInput {
                text: form.text,
                error: Some(error),
                flags: Vec::new(),
            };
            let page = case_view(&state, chrome, inquiry, None, input).await?;
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    let draft = reply::draft(&state, &inquiry).await?;
    let flags = reply_case::check_reply(
        &inquiry,
        inquiry.decision.as_ref(),
        draft.as_ref(),
        text.as_str(),
    )
    .map(|c| c.flags)
    .unwrap_or_default();
    if !flags.is_empty() && form.confirm.is_none() {
        let input = ReplyInput {
            text: form.text,
            error: Some(lang.pick(
                "Die Antwort enthält Angaben, die weder im Katalog noch im Fall stehen. Bitte prüfen Sie die markierten Stellen und bestätigen Sie sie, oder ändern Sie den Text.",
                "The answer contains details found neither in the catalogue nor in the case. Please check the marked spans and confirm them, or change the text.",
            )),
            flags: flags
                .iter()
                .map(|f| FlagLine {
                    span: f.text.clone(),
                    message: f.message.clone(),
                })
                .collect(),
        };
        let page = case_view(&state, chrome, inquiry, None, input).await?;
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    reply::send(
        &state,
        &caller,
        &inquiry,
        draft.as_ref(),
        text.as_str(),
        flags.len(),
    )
    .await?;
    Ok(Redirect::to(&format!("/app/faelle/{case}?erledigt=beantwortet#antwort")).into_response())
}

#[derive(Deserialize)]
struct SpamForm {
    /// `spam` or `kein-anliegen`.
    #[serde(default)]
    art: String,
}

async fn spam(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(case): ApiPath<String>,
    Form(form): Form<SpamForm>,
) -> Result<Response, ApiError> {
    let (case, inquiry) = state.inquiry_for(&caller, &case).await?;
    let (ending, done) = match form.art.as_str() {
        "kein-anliegen" => (Ending::NotInquiry, "kein-anliegen"),
        _ => (Ending::Spam, "spam"),
    };
    state
        .store
        .end_case(&inquiry, &ending, &caller.actor)
        .await?;
    Ok(Redirect::to(&format!("/app/faelle/{case}?erledigt={done}")).into_response())
}

#[derive(Deserialize)]
struct MergeForm {
    #[serde(default)]
    ziel: String,
}

/// Merges the case into another the clerk reaches; an unknown case and one outside the
/// clerk's departments get the same answer, so case numbers cannot be probed.
async fn merge(
    State(state): State<AppState>,
    Caller(caller): Caller,
    chrome: Chrome,
    ApiPath(case): ApiPath<String>,
    Form(form): Form<MergeForm>,
) -> Result<Response, ApiError> {
    let (case, inquiry) = state.inquiry_for(&caller, &case).await?;
    let lang = chrome.lang;
    let wanted = form.ziel.trim();
    let target = match wanted.parse::<CaseNumber>() {
        Ok(n) if n == case => Err(lang.pick(
            "Ein Fall kann nicht in sich selbst zusammengeführt werden.",
            "A case cannot be merged into itself.",
        )),
        Ok(_) => match state.inquiry_for(&caller, wanted).await {
            Ok((_, t)) if t.status == InquiryStatus::Merged => Err(lang.pick(
                "Dieser Fall ist selbst schon zusammengeführt; nehmen Sie den Fall, in den er ging.",
                "That case is merged itself; take the case it went into.",
            )),
            Ok((n, _)) => Ok(n),
            Err(ApiError::NotFound(_)) => Err(lang.pick(
                "Diesen Fall gibt es nicht in Ihren Abteilungen. Bitte prüfen Sie die Fallnummer.",
                "There is no such case in your departments. Please check the case number.",
            )),
            Err(e) => return Err(e),
        },
        Err(_) => Err(lang.pick(
            "Bitte geben Sie eine Fallnummer wie 2026-000123 an.",
            "Please enter a case number such as 2026-000123.",
        )),
    };
    match target {
        Ok(into) => {
            state
                .store
                .end_case(&inquiry, &Ending::Merged { into }, &caller.actor)
                .await?;
            Ok(
                Redirect::to(&format!("/app/faelle/{case}?erledigt=zusammengefuehrt"))
                    .into_response(),
            )
        }
        Err(message) => {
            let mut page = case_view(&state, chrome, inquiry, None, ReplyInput::default()).await?;
            page.merge_error = Some(message);
            page.merge_target = wanted.chars().take(40).collect();
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

#[derive(Deserialize)]
struct CloseForm {
    #[serde(default)]
    grund: String,
}

async fn close(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(case): ApiPath<String>,
    Form(form): Form<CloseForm>,
) -> Result<Response, ApiError> {
    let (case, inquiry) = state.inquiry_for(&caller, &case).await?;
    let reason: String = form.grund.trim().chars().take(500).collect();
    let ending = Ending::Closed {
        reason: Some(reason).filter(|r| !r.is_empty()),
    };
    state
        .store
        .end_case(&inquiry, &ending, &caller.actor)
        .await?;
    Ok(Redirect::to(&format!("/app/faelle/{case}?erledigt=geschlossen")).into_response())
}

/// A file size as people read it: "820 KB", "3,4 MB".
fn size_words(bytes: i64) -> String {
    const MB: f64 = 1024.0 * 1024.0;
    let b = bytes as f64;
    if b < MB {
        format!("{} KB", (b / 1024.0).ceil() as i64)
    } else {
        format!("{:.1} MB", b / MB).replace('.', ",")
    }
}

/// One attachment of a case the clerk reaches, as a download (never shown inline, so a
/// file cannot act in the page's origin).
async fn attachment(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((case, id)): ApiPath<(String, i64)>,
) -> Result<Response, ApiError> {
    let (_, inquiry) = state.inquiry_for(&caller, &case).await?;
    let Some((info, data)) = state.store.attachment(inquiry.id, id).await? else {
        return Err(ApiError::NotFound("no such attachment".into()));
    };
    let encoded: String = info
        .name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let disposition = format!("attachment; filename=\"anhang-{id}\"; filename*=UTF-8''{encoded}");
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_str(&info.content_type).unwrap_or(
                    axum::http::HeaderValue::from_static("application/octet-stream"),
                ),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                axum::http::HeaderValue::from_str(&disposition)
                    .unwrap_or(axum::http::HeaderValue::from_static("attachment")),
            ),
        ],
        data,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(super::size_words(1), "1 KB");
        assert_eq!(super::size_words(820 * 1024), "820 KB");
        assert_eq!(super::size_words(3_565_158), "3,4 MB");
    }
}
