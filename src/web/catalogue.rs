//! `/api/v1/admin/catalogue`: importing a catalogue (DLDB, XZuFi, LeiKa, TOML) as a new
//! version, exactly as `anliegen catalogue import` does, and listing the versions with
//! their import reports and changes. A new version is routed with from the next start of
//! the service. Uploads have the larger upload body limit.

use axum::{
    Json,
    extract::{Path, State},
    http::{Method, StatusCode},
    response::IntoResponse,
};
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, AppState, Route, extract::ApiJson};
use crate::catalogue::{
    self, Format, ImportError, ImportRequest, Input,
    versions::{self, Origin, VersionError},
};

pub fn routes(upload_limit: usize) -> Vec<Route> {
    vec![
        Route::admin(Method::POST, "/api/v1/admin/catalogue/import", import)
            .body_limit(upload_limit),
        Route::admin(Method::GET, "/api/v1/admin/catalogue/versions", list),
        Route::admin(
            Method::GET,
            "/api/v1/admin/catalogue/versions/{version}",
            show,
        ),
    ]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadFile {
    name: String,
    content: String,
}

impl From<UploadFile> for Input {
    fn from(f: UploadFile) -> Self {
        Input {
            name: f.name,
            text: f.content,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportBody {
    format: String,
    files: Vec<UploadFile>,
    #[serde(default)]
    locations: Option<UploadFile>,
    #[serde(default)]
    mapping: Option<UploadFile>,
    /// Only check and report; store no version.
    #[serde(default)]
    dry_run: bool,
}

fn version_error(e: VersionError) -> ApiError {
    match e {
        VersionError::Store(e) => e.into(),
        VersionError::Missing(_) | VersionError::None => ApiError::NotFound(e.to_string()),
        VersionError::Catalogue(_) => ApiError::Internal(e.to_string()),
    }
}

/// `201` with the report and the new version; `200` when nothing changed or on a dry run.
async fn import(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ImportBody>,
) -> Result<impl IntoResponse, ApiError> {
    let request = ImportRequest {
        format: format_of(&body.format)?,
        files: body.files.into_iter().map(Input::from).collect(),
        locations: body.locations.map(Input::from),
        mapping: body.mapping.map(Input::from),
    };
    let (status, answer) = import_catalogue(&state, request, body.dry_run).await?;
    Ok((status, Json(answer)))
}

/// The import format named `name`.
pub(super) fn format_of(name: &str) -> Result<Format, ApiError> {
    Format::parse(name).ok_or_else(|| {
        ApiError::InvalidField(format!(
            "format '{name}' is not one of dldb, xzufi, leika, toml"
        ))
    })
}

/// Imports a catalogue as a new version (or only checks it on a dry run), as
/// `anliegen catalogue import` does; the status and answer of the API (the API and the
/// admin page).
pub(super) async fn import_catalogue(
    state: &AppState,
    request: ImportRequest,
    dry_run: bool,
) -> Result<(StatusCode, serde_json::Value), ApiError> {
    // Parsing a large export takes a moment: off the async workers.
    let imported = tokio::task::spawn_blocking(move || catalogue::import(&request))
        .await
        .map_err(|e| ApiError::Internal(format!("import task: {e}")))?
        .map_err(|e| match e {
            ImportError::Malformed { .. } | ImportError::Request(_) | ImportError::Catalogue(_) => {
                ApiError::InvalidField(e.to_string())
            }
        })?;
    if dry_run {
        return Ok((
            StatusCode::OK,
            json!({"import": imported.report, "version": null}),
        ));
    }
    let versioned = versions::save(
        &state.store,
        &imported.catalogue,
        Some(&imported.report),
        Origin::Api,
    )
    .await
    .map_err(version_error)?;
    let status = match versioned.stored {
        crate::store::Stored::Created { .. } => StatusCode::CREATED,
        crate::store::Stored::Unchanged { .. } => StatusCode::OK,
    };
    Ok((
        status,
        json!({
            "import": imported.report,
            "version": versioned,
            "note": "the service routes with the latest version from its next start",
        }),
    ))
}

async fn list(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        json!({"versions": state.store.catalogue_versions().await?}),
    ))
}

async fn show(
    State(state): State<AppState>,
    Path(version): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let n: i64 = version
        .parse()
        .map_err(|_| ApiError::NotFound(format!("no catalogue version {version}")))?;
    let v = state
        .store
        .catalogue_version(Some(n))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no catalogue version {n}")))?;
    Ok(Json(json!({"version": v.version, "catalogue": v.content})))
}
