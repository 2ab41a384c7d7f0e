//! The admin console (`/admin`): an overview, accounts and API tokens, the catalogue.
//! Models (`admin_models`), jobs, mail, audit and GDPR (`admin_ops`) have pages of their
//! own. Every change is a POST form with the CSRF token and goes through the same
//! function as the JSON API (`web::users`, `web::tokens`, `web::catalogue`), so it is
//! checked and audited alike; a refused change shows the form again with the reason.

use askama::Template;
use axum::{
    Form,
    extract::{Multipart, Query, State},
    http::{Method, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::chrome::{Chrome, render};
use crate::{
    catalogue::{ImportRequest, Input},
    domain::Role,
    store::{ApiToken, JobState, User},
    web::{
        ApiError, AppState,
        auth::Caller,
        catalogue::{format_of, import_catalogue},
        extract::ApiPath,
        routes::Route,
        tokens::create_token,
        users::{AccountChange, change_account, create_account},
    },
};

pub fn routes(upload_limit: usize) -> Vec<Route> {
    vec![
        Route::admin(Method::GET, "/admin", overview),
        Route::admin(Method::GET, "/admin/konten", accounts),
        Route::admin(Method::POST, "/admin/konten", new_account),
        Route::admin(Method::POST, "/admin/konten/{name}", change),
        Route::admin(Method::POST, "/admin/schluessel", new_token),
        Route::admin(Method::POST, "/admin/schluessel/{id}/widerrufen", revoke),
        Route::admin(Method::GET, "/admin/katalog", catalogue_page),
        Route::admin(Method::POST, "/admin/katalog/import", import).body_limit(upload_limit),
    ]
}

/// A refusal the form shows beside itself (bad input, a conflict); anything else is the
/// error page.
pub fn refusal(e: ApiError) -> Result<String, ApiError> {
    match e {
        ApiError::InvalidField(m) | ApiError::Conflict(m) | ApiError::NotFound(m) => Ok(m),
        other => Err(other),
    }
}

/// The values of a form field given several times (checkboxes).
fn all_of(form: &[(String, String)], name: &str) -> Vec<String> {
    form.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

fn one_of<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

#[derive(Template)]
#[template(path = "admin_overview.html")]
struct OverviewPage {
    chrome: Chrome,
    users: usize,
    tokens: usize,
    departments: usize,
    services: usize,
    model: Option<i64>,
    queued: usize,
    dead_jobs: usize,
    dead_mail: usize,
    /// The live misroute rate when it is above the budget.
    drift: Option<super::quality::DriftView>,
}

async fn overview(State(state): State<AppState>, chrome: Chrome) -> Result<Response, ApiError> {
    let store = &state.store;
    let catalogue = state.ready().ok().map(|r| r.catalogue.clone());
    let page = OverviewPage {
        chrome,
        users: store.users().await?.len(),
        tokens: store
            .tokens()
            .await?
            .iter()
            .filter(|t| t.revoked_at.is_none())
            .count(),
        departments: catalogue.as_ref().map_or(0, |c| c.departments.len()),
        services: catalogue.as_ref().map_or(0, |c| c.services.len()),
        model: store.active_model_version().await?,
        queued: store.jobs(Some(JobState::Queued), 500).await?.len(),
        dead_jobs: store.jobs(Some(JobState::Dead), 500).await?.len(),
        dead_mail: store
            .outbox()
            .await?
            .iter()
            .filter(|m| m.state == "dead")
            .count(),
        drift: super::quality::current_drift(&state)
            .await?
            .map(super::quality::DriftView::from),
    };
    Ok(render(StatusCode::OK, &page))
}

struct DepartmentChoice {
    id: String,
    name: String,
}

#[derive(Template)]
#[template(path = "admin_accounts.html")]
struct AccountsPage {
    chrome: Chrome,
    users: Vec<User>,
    tokens: Vec<ApiToken>,
    departments: Vec<DepartmentChoice>,
    done: Option<String>,
    error: Option<String>,
    /// A new token's secret, shown this once.
    secret: Option<(String, String)>,
    /// The new account's name, kept when it has to be corrected.
    draft_name: String,
}

impl AccountsPage {
    fn department_name(&self, id: &str) -> String {
        self.departments
            .iter()
            .find(|d| d.id == id)
            .map_or_else(|| id.to_string(), |d| d.name.clone())
    }

    fn departments_of(&self, ids: &[String]) -> String {
        ids.iter()
            .map(|d| self.department_name(d))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[derive(Deserialize, Default)]
struct Done {
    #[serde(default)]
    erledigt: String,
}

async fn accounts_view(
    state: &AppState,
    chrome: Chrome,
    done: Option<String>,
    error: Option<String>,
) -> Result<AccountsPage, ApiError> {
    let departments = state
        .ready()
        .ok()
        .map(|r| {
            r.catalogue
                .departments
                .iter()
                .map(|d| DepartmentChoice {
                    id: d.id.clone(),
                    name: d.name.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(AccountsPage {
        chrome,
        users: state.store.users().await?,
        tokens: state.store.tokens().await?,
        departments,
        done,
        error,
        secret: None,
        draft_name: String::new(),
    })
}

async fn accounts(
    State(state): State<AppState>,
    chrome: Chrome,
    Query(q): Query<Done>,
) -> Result<Response, ApiError> {
    let lang = chrome.lang;
    let done = match q.erledigt.as_str() {
        "angelegt" => Some(lang.pick("Konto angelegt.", "Account created.")),
        "geaendert" => Some(lang.pick("Konto geändert.", "Account changed.")),
        "widerrufen" => Some(lang.pick(
            "Schlüssel widerrufen: er gilt ab seiner nächsten Anfrage nicht mehr.",
            "Token revoked: it stops working with its next request.",
        )),
        _ => None,
    }
    .map(str::to_string);
    let page = accounts_view(&state, chrome, done, None).await?;
    Ok(render(StatusCode::OK, &page))
}

fn role_of(form: &[(String, String)]) -> Result<Role, ApiError> {
    Role::parse(one_of(form, "role"))
        .ok_or_else(|| ApiError::InvalidField("choose the role admin or clerk".into()))
}

async fn new_account(
    State(state): State<AppState>,
    Caller(caller): Caller,
    chrome: Chrome,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let name = one_of(&form, "name").trim().to_string();
    let created = match role_of(&form) {
        Ok(role) => {
            create_account(
                &state,
                &caller,
                &name,
                role,
                &all_of(&form, "departments"),
                one_of(&form, "password").to_string(),
            )
            .await
        }
        Err(e) => Err(e),
    };
    match created {
        Ok(_) => Ok(Redirect::to("/admin/konten?erledigt=angelegt").into_response()),
        Err(e) => {
            let message = format!(
                "{} {}",
                chrome
                    .lang
                    .pick("Konto nicht angelegt:", "Account not created:"),
                refusal(e)?
            );
            let mut page = accounts_view(&state, chrome, None, Some(message)).await?;
            page.draft_name = name;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

async fn change(
    State(state): State<AppState>,
    Caller(caller): Caller,
    chrome: Chrome,
    ApiPath(name): ApiPath<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let mut body = AccountChange::default();
    match one_of(&form, "action") {
        "sperren" => body.disabled = Some(true),
        "entsperren" => body.disabled = Some(false),
        _ => body.departments = Some(all_of(&form, "departments")),
    }
    match change_account(&state, &caller, &name, body).await {
        Ok(_) => Ok(Redirect::to("/admin/konten?erledigt=geaendert").into_response()),
        Err(e) => {
            let message = format!(
                "{} {}",
                chrome
                    .lang
                    .pick("Konto nicht geändert:", "Account not changed:"),
                refusal(e)?
            );
            let page = accounts_view(&state, chrome, None, Some(message)).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

/// Answers with the page itself (not a redirect): the secret is shown this once.
async fn new_token(
    State(state): State<AppState>,
    Caller(caller): Caller,
    chrome: Chrome,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let created = match role_of(&form) {
        Ok(role) => {
            create_token(
                &state,
                &caller,
                one_of(&form, "name"),
                role,
                &all_of(&form, "departments"),
            )
            .await
        }
        Err(e) => Err(e),
    };
    let lang = chrome.lang;
    match created {
        Ok((token, secret)) => {
            let mut page = accounts_view(&state, chrome, None, None).await?;
            page.secret = Some((token.name, secret));
            Ok(render(StatusCode::CREATED, &page))
        }
        Err(e) => {
            let message = format!(
                "{} {}",
                lang.pick("Schlüssel nicht angelegt:", "Token not created:"),
                refusal(e)?
            );
            let page = accounts_view(&state, chrome, None, Some(message)).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

async fn revoke(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    state
        .store
        .revoke_token(id, &caller.actor)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no token {id}")))?;
    Ok(Redirect::to("/admin/konten?erledigt=widerrufen").into_response())
}

struct ServiceLine {
    id: String,
    name: String,
    department: String,
    keywords: String,
    leika: String,
}

#[derive(Template)]
#[template(path = "admin_catalogue.html")]
struct CataloguePage {
    chrome: Chrome,
    name: String,
    departments: Vec<(String, String, usize)>,
    services: Vec<ServiceLine>,
    total: usize,
    search: String,
    versions: Vec<crate::store::CatalogueVersion>,
    /// What the last import did, or why it failed.
    done: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
struct CatalogueQuery {
    #[serde(default)]
    suche: String,
}

async fn catalogue_view(
    state: &AppState,
    chrome: Chrome,
    search: String,
) -> Result<CataloguePage, ApiError> {
    let catalogue = state.ready()?.catalogue.clone();
    let needle = search.trim().to_lowercase();
    let department_name = |id: &str| {
        catalogue
            .department(id)
            .map_or_else(|| id.to_string(), |d| d.name.clone())
    };
    let services: Vec<ServiceLine> = catalogue
        .services
        .iter()
        .filter(|s| {
            needle.is_empty()
                || s.name.to_lowercase().contains(&needle)
                || s.id.to_lowercase().contains(&needle)
                || s.keywords
                    .iter()
                    .any(|k| k.to_lowercase().contains(&needle))
                || department_name(&s.department)
                    .to_lowercase()
                    .contains(&needle)
        })
        .map(|s| ServiceLine {
            id: s.id.clone(),
            name: s.name.clone(),
            department: department_name(&s.department),
            keywords: s.keywords.join(", "),
            leika: s.leika.clone().unwrap_or_default(),
        })
        .collect();
    let departments = catalogue
        .departments
        .iter()
        .map(|d| {
            let n = catalogue
                .services
                .iter()
                .filter(|s| s.department == d.id)
                .count();
            (d.id.clone(), d.name.clone(), n)
        })
        .collect();
    let mut versions = state.store.catalogue_versions().await?;
    versions.reverse();
    Ok(CataloguePage {
        chrome,
        name: catalogue.name.clone(),
        departments,
        total: catalogue.services.len(),
        services,
        search,
        versions,
        done: None,
        error: None,
    })
}

async fn catalogue_page(
    State(state): State<AppState>,
    chrome: Chrome,
    Query(q): Query<CatalogueQuery>,
) -> Result<Response, ApiError> {
    let page = catalogue_view(&state, chrome, q.suche).await?;
    Ok(render(StatusCode::OK, &page))
}

/// The upload form's fields: the format, the catalogue files, DLDB's locations and the
/// mapping file, and whether only to check.
async fn import_request(mut form: Multipart) -> Result<(ImportRequest, bool), ApiError> {
    let bad = |e: axum::extract::multipart::MultipartError| ApiError::InvalidField(e.body_text());
    let (mut format, mut files, mut locations, mut mapping, mut dry_run) =
        (String::new(), Vec::new(), None, None, false);
    while let Some(field) = form.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_string();
        let file_name = field.file_name().unwrap_or("upload").to_string();
        match name.as_str() {
            "format" => format = field.text().await.map_err(bad)?,
            "dry_run" => dry_run = !field.text().await.map_err(bad)?.is_empty(),
            "files" | "locations" | "mapping" => {
                let bytes = field.bytes().await.map_err(bad)?;
                if bytes.is_empty() {
                    continue;
                }
                let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
                    ApiError::InvalidField(format!("{file_name} is not UTF-8 text"))
                })?;
                let input = Input {
                    name: file_name,
                    text,
                };
                match name.as_str() {
                    "files" => files.push(input),
                    "locations" => locations = Some(input),
                    _ => mapping = Some(input),
                }
            }
            _ => {}
        }
    }
    if files.is_empty() {
        return Err(ApiError::InvalidField(
            "choose at least one catalogue file".into(),
        ));
    }
    Ok((
        ImportRequest {
            format: format_of(&format)?,
            files,
            locations,
            mapping,
        },
        dry_run,
    ))
}

async fn import(
    State(state): State<AppState>,
    chrome: Chrome,
    form: Multipart,
) -> Result<Response, ApiError> {
    let lang = chrome.lang;
    let outcome = match import_request(form).await {
        Ok((request, dry_run)) => import_catalogue(&state, request, dry_run).await,
        Err(e) => Err(e),
    };
    let mut page = catalogue_view(&state, chrome, String::new()).await?;
    match outcome {
        Ok((status, answer)) => {
            let report = &answer["import"];
            let counts = format!(
                "{} {}, {} {}, {} {}",
                report["services"],
                lang.pick("Leistungen", "services"),
                report["departments"],
                lang.pick("Abteilungen", "departments"),
                report["skipped"].as_array().map_or(0, Vec::len),
                lang.pick("übersprungen", "skipped"),
            );
            let what = if answer["version"].is_null() {
                lang.pick(
                    "Nur geprüft, nichts gespeichert.",
                    "Checked only, nothing stored.",
                )
            } else if status == StatusCode::CREATED {
                lang.pick(
                    "Als neue Katalogversion gespeichert; der Dienst ordnet ab seinem nächsten Start danach zu.",
                    "Stored as a new catalogue version; the service routes with it from its next start.",
                )
            } else {
                lang.pick(
                    "Unverändert: diese Fassung ist schon gespeichert.",
                    "Unchanged: this version is already stored.",
                )
            };
            page.done = Some(format!("{counts}. {what}"));
            Ok(render(StatusCode::OK, &page))
        }
        Err(e) => {
            page.error = Some(format!(
                "{} {}",
                lang.pick("Import abgelehnt:", "Import refused:"),
                refusal(e)?
            ));
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}
