//! The Open311 GeoReport v2 server under `/open311/v2/`: discovery, the catalogue as
//! services, service definitions, new requests (routed by anliegen when they carry no
//! `service_code`), the request list with the spec's filters and single requests — each in
//! JSON and XML — plus the `services/suggest` extension. Errors are the spec's error
//! arrays. `jurisdiction_id` must name this server's jurisdiction when given; `api_key` is
//! one of the API tokens (required to post; on reads it shows a clerk's or admin's own
//! cases with their description and place).

pub mod format;
mod requests;
pub(super) mod services;

use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};

use self::format::{ErrorEntry, xml_document, xml_list};
use super::{
    ApiError, AppState, Route,
    auth::{self, Identity},
};
use crate::store::secret;

/// The API's prefix; discovery names it.
pub const BASE: &str = "/open311/v2";

/// Most requests one list answers (the spec's suggestion).
const MAX_REQUESTS: i64 = 1000;

pub fn routes() -> Vec<Route> {
    let mut routes = Vec::new();
    for format in [Format::Json, Format::Xml] {
        let path =
            |stem: &str| -> &'static str { format!("{BASE}/{stem}.{}", format.extension()).leak() };
        routes.extend([
            route(Method::GET, path("discovery"), format, services::discovery).uncounted(),
            route(Method::GET, path("services"), format, services::list),
            route(
                Method::GET,
                path("services/suggest"),
                format,
                services::suggest,
            ),
            route(Method::POST, path("requests"), format, requests::create),
            route(Method::GET, path("requests"), format, requests::list),
        ]);
    }
    // `{code}.json`, `{id}.xml`: one path segment; the handlers split it.
    routes.extend([
        file_route("/open311/v2/services/{file}", services::definition),
        file_route("/open311/v2/requests/{file}", requests::show),
    ]);
    routes
}

/// A public route whose handler answers in `format`.
fn route<F, Fut>(method: Method, path: &'static str, format: Format, f: F) -> Route
where
    F: Fn(AppState, Request, Format) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    Route::public(
        method,
        path,
        move |State(state): State<AppState>, req: Request| f(state, req, format),
    )
}

/// A public GET route for `{stem}.json|xml` in its last path segment; an unknown
/// extension is `404`.
fn file_route<F, Fut>(path: &'static str, f: F) -> Route
where
    F: Fn(AppState, Request, Format) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    Route::public(
        Method::GET,
        path,
        move |State(state): State<AppState>, req: Request| {
            let f = f.clone();
            async move {
                match Format::split(last_segment(&req)) {
                    Some((_, format)) => f(state, req, format).await,
                    None => Failure::not_found(
                        Format::Json,
                        "no such document; end the path in .json or .xml",
                    )
                    .into_response(),
                }
            }
        },
    )
}

/// The last segment of the request path without its extension (`2026-000001`).
fn stem(req: &Request) -> &str {
    let file = last_segment(req);
    Format::split(file).map_or(file, |(stem, _)| stem)
}

fn last_segment(req: &Request) -> &str {
    req.uri().path().rsplit('/').next().unwrap_or_default()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    fn extension(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Xml => "xml",
        }
    }

    /// `"2026-000001.xml"` → (`"2026-000001"`, XML).
    fn split(file: &str) -> Option<(&str, Self)> {
        let (stem, ext) = file.rsplit_once('.')?;
        let format = match ext {
            "json" => Self::Json,
            "xml" => Self::Xml,
            _ => return None,
        };
        Some((stem, format))
    }

    /// A list document in this format.
    fn list<T: serde::Serialize>(self, status: StatusCode, root: &str, items: &[T]) -> Response {
        match self {
            Self::Json => (status, axum::Json(items)).into_response(),
            Self::Xml => xml(status, xml_list(root, items)),
        }
    }

    /// A single document in this format.
    fn document<T: serde::Serialize>(self, root: &str, doc: &T) -> Response {
        match self {
            Self::Json => axum::Json(doc).into_response(),
            Self::Xml => xml(StatusCode::OK, xml_document(root, doc)),
        }
    }
}

fn xml(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/xml; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

/// An error as the spec answers it: an array of `{code, description}` in the request's
/// format, with the code as HTTP status.
#[derive(Debug)]
pub struct Failure {
    format: Format,
    status: StatusCode,
    description: String,
    retry_after: Option<u32>,
}

impl Failure {
    fn new(format: Format, status: StatusCode, description: impl Into<String>) -> Self {
        Self {
            format,
            status,
            description: description.into(),
            retry_after: None,
        }
    }

    fn bad_request(format: Format, description: impl Into<String>) -> Self {
        Self::new(format, StatusCode::BAD_REQUEST, description)
    }

    fn not_found(format: Format, description: impl Into<String>) -> Self {
        Self::new(format, StatusCode::NOT_FOUND, description)
    }

    /// The API's error in this format; 5xx keep their details in the log.
    fn api(format: Format, e: ApiError) -> Self {
        let retry_after = e.retry_after();
        if let ApiError::Internal(detail) = &e {
            tracing::error!(error = %detail, "open311 request failed");
        }
        Self {
            format,
            status: e.status(),
            description: e.to_string(),
            retry_after,
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let errors = [ErrorEntry {
            code: self.status.as_u16(),
            description: self.description,
        }];
        let mut response = self.format.list(self.status, "errors", &errors);
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// The parameters of a request (query string or form body), as the spec names them.
/// Unknown parameters are ignored: clients send their own (`device_id`, attributes).
pub struct Params(Vec<(String, String)>);

impl Params {
    fn parse(raw: &str, format: Format) -> Result<Self, Failure> {
        serde_urlencoded::from_str(raw)
            .map(Self)
            .map_err(|e| Failure::bad_request(format, format!("malformed parameters: {e}")))
    }

    /// The last non-blank value of `name`.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
    }

    /// A checked `jurisdiction_id`: absent, or this server's.
    fn check_jurisdiction(&self, state: &AppState, format: Format) -> Result<(), Failure> {
        match self.get("jurisdiction_id") {
            Some(j) if j != state.config.open311.jurisdiction_id => Err(Failure::not_found(
                format,
                format!("jurisdiction_id '{j}' is not served here"),
            )),
            _ => Ok(()),
        }
    }

    /// Who calls: the `api_key` (an API token), else the request's own credentials
    /// (bearer token, session), else nobody. An unknown or revoked key is `403`.
    async fn caller(
        &self,
        state: &AppState,
        headers: &HeaderMap,
        extensions: &axum::http::Extensions,
        format: Format,
    ) -> Result<Option<Identity>, Failure> {
        if let Some(key) = self.get("api_key") {
            let token = state
                .store
                .live_token(&secret::digest(key))
                .await
                .map_err(|e| Failure::api(format, e.into()))?
                .ok_or_else(|| {
                    Failure::new(
                        format,
                        StatusCode::FORBIDDEN,
                        "api_key is unknown or revoked",
                    )
                })?;
            return Ok(Some(Identity::from_token(token)));
        }
        // Reads are public: credentials that do not hold only show less.
        Ok(auth::authenticate(state, headers, extensions)
            .await
            .ok()
            .flatten())
    }
}
