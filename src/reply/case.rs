//! A case's draft as staff see it: the suggested reply, the service's saved templates, the
//! most similar replies sent earlier for the same service, and the service's autonomy.
//! Also what sending keeps: the redacted reply for later alternatives and the German
//! copy for the file.

use serde::Serialize;

use super::{
    Autonomy, CaseData, Check, Draft, ReplyLanguage, check,
    similar::{Alternative, SentReply, most_similar},
    suggest_reply,
};
use crate::{
    config::ReplyConfig,
    domain::{Catalogue, Decision},
    store::{Store, StoreError, StoredInquiry},
};

/// How many earlier replies are compared with the inquiry.
const COMPARED: i64 = 200;

/// A saved template of the service, filled for this case and checked.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FilledTemplate {
    pub language: String,
    pub version: i64,
    pub text: String,
    pub check: Check,
    pub saved_by: String,
    pub saved_at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseDraft {
    #[serde(flatten)]
    pub draft: Draft,
    pub autonomy: Autonomy,
    /// The newest version of each saved template of the service.
    pub templates: Vec<FilledTemplate>,
    pub alternatives: Vec<Alternative>,
}

/// The service's autonomy: the admin's setting, else `reply.services`, else
/// `reply.autonomy`.
pub async fn autonomy(
    store: &Store,
    config: &ReplyConfig,
    service_id: &str,
) -> Result<Autonomy, StoreError> {
    Ok(match store.reply_autonomy(service_id).await? {
        Some(mode) => Autonomy::parse(&mode)
            .ok_or_else(|| StoreError::Corrupt(format!("reply autonomy '{mode}'")))?,
        None => config
            .services
            .get(service_id)
            .copied()
            .unwrap_or(config.autonomy),
    })
}

/// The day an inquiry came in as it may appear in a reply.
pub fn received(inquiry: &StoredInquiry) -> String {
    inquiry.received_at.format("%d.%m.%Y").to_string()
}

/// The draft for a stored, decided inquiry (`None` before the decision or when the
/// service left the catalogue).
pub async fn draft_for(
    store: &Store,
    catalogue: &Catalogue,
    inquiry: &StoredInquiry,
    decision: &Decision,
) -> Result<Option<Draft>, StoreError> {
    let language = store.language(inquiry.id).await?;
    let case = inquiry.case_number.to_string();
    let received = received(inquiry);
    let data = CaseData {
        case_number: &case,
        received: &received,
        text: &inquiry.text,
        language: language.as_deref(),
    };
    Ok(suggest_reply(&data, decision, catalogue))
}

/// The checker's verdict on `text` as a reply to this case: every number, amount, date,
/// time, phone number, address and link must be among the draft's facts or the case's own
/// data. `None` without a decision or a draft (nothing to check against).
pub fn check_reply(
    inquiry: &StoredInquiry,
    decision: Option<&Decision>,
    draft: Option<&Draft>,
    text: &str,
) -> Option<Check> {
    let allowed = allowed_for(inquiry, decision?, draft?);
    Some(check::check(text, &allowed))
}

/// What a reply to this case may state: the draft's facts and the case's own data.
fn allowed_for(inquiry: &StoredInquiry, decision: &Decision, draft: &Draft) -> super::Allowed {
    let case = inquiry.case_number.to_string();
    let received = received(inquiry);
    super::allowed(
        &CaseData {
            case_number: &case,
            received: &received,
            text: &inquiry.text,
            language: None,
        },
        decision,
        &draft.facts,
    )
}

/// The whole draft view of a case.
pub async fn case_draft(
    store: &Store,
    config: &ReplyConfig,
    catalogue: &Catalogue,
    inquiry: &StoredInquiry,
) -> Result<Option<CaseDraft>, StoreError> {
    let Some(decision) = &inquiry.decision else {
        return Ok(None);
    };
    let Some(draft) = draft_for(store, catalogue, inquiry, decision).await? else {
        return Ok(None);
    };
    let service = draft.service_id.clone();
    let case = inquiry.case_number.to_string();
    let allowed = allowed_for(inquiry, decision, &draft);
    let mut templates: Vec<FilledTemplate> = Vec::new();
    for t in store.reply_templates(&service).await? {
        if templates.iter().any(|x| x.language == t.language) {
            continue;
        }
        let text = t.text.replace(super::CASE_PLACEHOLDER, &case);
        templates.push(FilledTemplate {
            check: check::check(&text, &allowed),
            language: t.language,
            version: t.version,
            text,
            saved_by: t.actor,
            saved_at: t.created_at,
        });
    }
    let redacted = store
        .inquiry_redacted_text(inquiry.id)
        .await?
        .unwrap_or_default();
    let sent = store
        .sent_replies_for(&service, inquiry.id, COMPARED)
        .await?
        .into_iter()
        .map(|s| SentReply {
            case_number: s.case_number,
            inquiry: s.inquiry,
            reply: s.reply,
            language: s.language,
            sent_at: s.sent_at,
        })
        .collect();
    Ok(Some(CaseDraft {
        autonomy: autonomy(store, config, &service).await?,
        alternatives: most_similar(&redacted, sent, config.alternatives),
        templates,
        draft,
    }))
}

/// The German copy for the file of a reply sent in `language`: none for German, else the
/// German draft.
pub fn german_copy(draft: Option<&Draft>, language: ReplyLanguage) -> Option<String> {
    match language {
        ReplyLanguage::German | ReplyLanguage::Plain => None,
        ReplyLanguage::English => draft.map(|d| d.variant(ReplyLanguage::German).text.clone()),
    }
}
