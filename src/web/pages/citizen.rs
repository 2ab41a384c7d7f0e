//! The citizen's pages: the form at `/` (works without JavaScript; with it, the three most
//! likely services are suggested while typing), the answer after sending, which is the
//! case's status page with a thank-you, and the status lookup by case number and secret.
//! Everything is in plain language; nothing internal (evidence, candidates) is shown.

use askama::Template;
use axum::{
    Form,
    extract::{FromRequest, Multipart, Query, Request, State},
    http::{Method, StatusCode, header::CONTENT_TYPE},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::chrome::{Chrome, render};
use crate::{
    config::Config,
    domain::{
        Attachment, Channel, InquiryStatus, InquiryText, InvalidAttachment, LocationInput, Sender,
        inquiry::InvalidText,
    },
    store::{CaseReply, SecretPurpose},
    web::{ApiError, AppState, auth::Limit, extract::ApiPath, inquiries, routes::Route, status},
};

pub fn routes(config: &Config) -> Vec<Route> {
    vec![
        Route::public(Method::GET, "/", form),
        Route::public(Method::POST, "/", submit)
            .limited(Limit::Intake)
            .body_limit(upload_limit(config)),
        Route::public(Method::GET, "/status", lookup),
        Route::public(Method::GET, "/status/{case}", case_status).limited(Limit::Status),
        Route::public(Method::GET, "/datenschutz", privacy),
    ]
}

/// What the citizen typed, kept when the form is shown again.
#[derive(Debug, Default, Deserialize)]
pub struct Concern {
    #[serde(default)]
    text: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    consent: Option<String>,
}

#[derive(Template)]
#[template(path = "citizen_form.html")]
pub struct FormPage {
    chrome: Chrome,
    concern: Concern,
    /// Problems with the text, the address and the consent, tied to their fields.
    text_error: Option<&'static str>,
    email_error: Option<&'static str>,
    consent_error: Option<&'static str>,
    files_error: Option<String>,
    max_chars: usize,
    max_uploads: usize,
    max_upload_mb: usize,
}

impl FormPage {
    fn new(config: &Config, chrome: Chrome, concern: Concern) -> Self {
        Self {
            chrome,
            concern,
            text_error: None,
            email_error: None,
            consent_error: None,
            files_error: None,
            max_chars: config.server.max_text_chars,
            max_uploads: config.pages.max_uploads,
            max_upload_mb: config.pages.max_upload_bytes / (1024 * 1024),
        }
    }

    fn has_errors(&self) -> bool {
        self.text_error.is_some()
            || self.email_error.is_some()
            || self.consent_error.is_some()
            || self.files_error.is_some()
    }
}

/// The largest form body: the text fields and every file at its largest.
pub fn upload_limit(config: &Config) -> usize {
    config.pages.max_uploads * config.pages.max_upload_bytes + 1024 * 1024
}

/// The form as sent: urlencoded without files, `multipart/form-data` with them (the
/// file fields are named `files`).
pub struct Submitted {
    concern: Concern,
    files: Vec<(String, Vec<u8>)>,
}

impl<S: Send + Sync> FromRequest<S> for Submitted {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let multipart = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        let unreadable =
            |e: String| ApiError::InvalidField(format!("the form could not be read: {e}"));
        if !multipart {
            let Form(concern) = Form::<Concern>::from_request(req, state)
                .await
                .map_err(|e| unreadable(e.body_text()))?;
            return Ok(Self {
                concern,
                files: Vec::new(),
            });
        }
        let mut form = Multipart::from_request(req, state)
            .await
            .map_err(|e| unreadable(e.body_text()))?;
        let mut concern = Concern::default();
        let mut files = Vec::new();
        let too_large = |e: axum::extract::multipart::MultipartError| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::BodyTooLarge(0)
            } else {
                unreadable(e.body_text())
            }
        };
        while let Some(field) = form.next_field().await.map_err(too_large)? {
            let name = field.name().unwrap_or_default().to_string();
            if name == "files" {
                let file = field.file_name().unwrap_or_default().to_string();
                files.push((file, field.bytes().await.map_err(too_large)?.to_vec()));
                continue;
            }
            let value = field.text().await.map_err(too_large)?;
            match name.as_str() {
                "text" => concern.text = value,
                "name" => concern.name = value,
                "email" => concern.email = value,
                "phone" => concern.phone = value,
                "place" => concern.place = value,
                "consent" => concern.consent = Some(value),
                _ => {}
            }
        }
        Ok(Self { concern, files })
    }
}

/// The attached files that pass the checks, or the first reason one does not.
fn checked_files(
    config: &Config,
    files: Vec<(String, Vec<u8>)>,
) -> Result<Vec<Attachment>, InvalidAttachment> {
    let mut kept = Vec::new();
    for (name, data) in files {
        if let Some(file) = Attachment::check(&name, data, config.pages.max_upload_bytes)? {
            kept.push(file);
        }
    }
    if kept.len() > config.pages.max_uploads {
        return Err(InvalidAttachment::TooMany {
            max: config.pages.max_uploads,
        });
    }
    Ok(kept)
}

async fn form(State(state): State<AppState>, chrome: Chrome) -> Response {
    render(
        StatusCode::OK,
        &FormPage::new(&state.config, chrome, Concern::default()),
    )
}

/// The text the clerk reads: the concern, and under it the optional details the citizen
/// gave, each on its own line.
fn composed(c: &Concern) -> String {
    let mut text = c.text.trim().to_string();
    for (label, value) in [("Ort", &c.place), ("Name", &c.name), ("Telefon", &c.phone)] {
        let value = value.trim();
        if !value.is_empty() {
            text.push_str(&format!("\n\n{label}: {value}"));
        }
    }
    text
}

async fn submit(
    State(state): State<AppState>,
    chrome: Chrome,
    Submitted { concern, files }: Submitted,
) -> Result<Response, ApiError> {
    let lang = chrome.lang;
    let max = state.config.server.max_text_chars;
    let text = InquiryText::parse(&composed(&concern), max);
    let text_error = match &text {
        Err(InvalidText::Empty) => Some(lang.pick(
            "Bitte beschreiben Sie Ihr Anliegen.",
            "Please describe your concern.",
        )),
        Err(InvalidText::TooLong { .. }) => Some(lang.pick(
            "Der Text ist zu lang. Bitte fassen Sie sich kürzer.",
            "The text is too long. Please keep it shorter.",
        )),
        Ok(_) => None,
    };
    let email = concern.email.trim();
    let sender = match Sender::parse(email) {
        Ok(s) if email.is_empty() || email.contains('@') => Ok(s),
        _ => Err(()),
    };
    let email_error = sender.is_err().then(|| {
        lang.pick(
            "Bitte geben Sie eine gültige E-Mail-Adresse an (name@beispiel.de) oder lassen Sie das Feld leer.",
            "Please enter a valid email address (name@example.org) or leave the field empty.",
        )
    });
    let consent_error = concern.consent.is_none().then(|| {
        lang.pick(
            "Bitte bestätigen Sie, dass Sie die Datenschutzhinweise gelesen haben.",
            "Please confirm that you have read the privacy notice.",
        )
    });
    let files = checked_files(&state.config, files);
    let files_error = files.as_ref().err().map(|e| match e {
        InvalidAttachment::Kind { name } => format!(
            "{name}: {}",
            lang.pick(
                "Bitte hängen Sie nur Fotos (JPEG, PNG, WebP, HEIC) oder PDF-Dateien an.",
                "Please attach only photos (JPEG, PNG, WebP, HEIC) or PDF files."
            )
        ),
        InvalidAttachment::TooLarge { name, max_bytes } => format!(
            "{name}: {} {} MB.",
            lang.pick("Die Datei ist größer als", "The file is larger than"),
            max_bytes / (1024 * 1024)
        ),
        InvalidAttachment::TooMany { max } => format!(
            "{} {max} {}",
            lang.pick("Bitte hängen Sie höchstens", "Please attach at most"),
            lang.pick("Dateien an.", "files.")
        ),
    });
    let (Ok(text), Ok(sender), None, Ok(files)) = (text, sender, consent_error, files) else {
        let mut page = FormPage::new(&state.config, chrome, concern);
        page.text_error = text_error;
        page.email_error = email_error;
        page.consent_error = consent_error;
        page.files_error = files_error;
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    let sender = sender.map(Sender::into_string);
    // The place as the citizen wrote it, kept like the sender (and erased with the case).
    let place = LocationInput {
        lat: None,
        lon: None,
        address: Some(concern.place.clone()).filter(|p| !p.trim().is_empty()),
    }
    .parse()
    .ok()
    .flatten();
    let (inquiry, secret) = inquiries::accept(&state, Channel::Web, sender, text, place).await?;
    state.store.add_attachments(inquiry.id, &files).await?;
    let to = format!(
        "/status/{}?token={}&neu=1",
        inquiry.case_number,
        secret.as_str()
    );
    Ok(Redirect::to(&to).into_response())
}

#[derive(Deserialize)]
struct Lookup {
    fall: Option<String>,
    token: Option<String>,
}

#[derive(Template)]
#[template(path = "status_lookup.html")]
struct LookupPage {
    chrome: Chrome,
    fall: String,
}

/// The lookup form; filled in, it goes to the case's status page.
async fn lookup(chrome: Chrome, Query(q): Query<Lookup>) -> Response {
    match (
        q.fall.as_deref().map(str::trim),
        q.token.as_deref().map(str::trim),
    ) {
        (Some(fall), Some(token)) if !fall.is_empty() && !token.is_empty() => {
            let fall: String = fall
                .chars()
                .filter(|c| c.is_ascii_digit() || *c == '-')
                .collect();
            let token: String = token.chars().filter(char::is_ascii_alphanumeric).collect();
            Redirect::to(&format!("/status/{fall}?token={token}")).into_response()
        }
        _ => render(
            StatusCode::OK,
            &LookupPage {
                chrome,
                fall: q.fall.unwrap_or_default(),
            },
        ),
    }
}

#[derive(Deserialize)]
struct StatusQuery {
    #[serde(default)]
    token: String,
    neu: Option<String>,
}

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage {
    chrome: Chrome,
    case_number: String,
    /// Just sent: the page thanks and explains what happens next.
    new: bool,
    stage: Stage,
    department: Option<String>,
    received: String,
    replies: Vec<CaseReply>,
}

/// Where the case stands, in the citizen's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Received,
    WithDepartment,
    Answered,
}

async fn case_status(
    State(state): State<AppState>,
    chrome: Chrome,
    ApiPath(case): ApiPath<String>,
    Query(q): Query<StatusQuery>,
) -> Result<Response, ApiError> {
    let inquiry = status::open(&state, &case, SecretPurpose::Status, &q.token).await?;
    let replies = state.store.case_replies(inquiry.id).await?;
    let stage = if !replies.is_empty() {
        Stage::Answered
    } else if matches!(
        inquiry.status,
        InquiryStatus::Routed
            | InquiryStatus::Review
            | InquiryStatus::Merged
            | InquiryStatus::Closed
    ) {
        Stage::WithDepartment
    } else {
        Stage::Received
    };
    let page = StatusPage {
        chrome,
        case_number: inquiry.case_number.to_string(),
        new: q.neu.is_some(),
        stage,
        department: inquiry.decision.as_ref().map(|d| d.department.name.clone()),
        received: inquiry.received_at.format("%d.%m.%Y %H:%M").to_string(),
        replies,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "privacy.html")]
struct PrivacyPage {
    chrome: Chrome,
    paragraphs: Vec<String>,
}

async fn privacy(State(state): State<AppState>, chrome: Chrome) -> Response {
    let paragraphs = state
        .config
        .pages
        .privacy_notice
        .split("\n\n")
        .map(str::to_string)
        .collect();
    render(StatusCode::OK, &PrivacyPage { chrome, paragraphs })
}
