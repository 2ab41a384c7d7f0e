//! Discovery, the catalogue as Open311 services (group: the department; keywords: the
//! catalogue's), service definitions, and the `services/suggest` extension: ranked service
//! codes with their confidence and the catalogue evidence for a free text, so a client
//! need not ask citizens to pick a category. A suggestion stores nothing.

use axum::{
    extract::{FromRequestParts, Request},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;

use super::{
    BASE, Failure, Format, Params,
    format::{Discovery, Endpoint, ServiceDefinition, ServiceInfo},
    stem,
};
use crate::{
    domain::{
        Catalogue, EvidenceKind, InvalidLocation, Location, LocationInput, RouteStatus, Service,
    },
    privacy::redact::redact,
    web::{AppState, auth::ClientAddr},
};

/// Longest text a suggestion reads (the model reads no more of an inquiry either).
const MAX_SUGGEST_CHARS: usize = 2_000;

pub(super) async fn discovery(state: AppState, req: Request, format: Format) -> Response {
    let base = format!("{}{BASE}", state.config.server.public_url);
    let changeset = state
        .ready()
        .map(|r| r.catalogue.fingerprint().to_string())
        .unwrap_or_default();
    let doc = Discovery {
        changeset: changeset.clone(),
        contact: state.config.open311.contact.clone(),
        key_service: state.config.open311.key_service.clone(),
        endpoints: vec![Endpoint {
            specification: "http://wiki.open311.org/GeoReport_v2",
            url: base,
            changeset,
            kind: "production",
            formats: vec!["application/json", "text/xml"],
        }],
    };
    match Params::parse(req.uri().query().unwrap_or_default(), format) {
        Ok(_) => format.document("discovery", &doc),
        Err(e) => e.into_response(),
    }
}

/// The catalogue from the engine, or `503` while it loads.
fn catalogue(state: &AppState, format: Format) -> Result<&Catalogue, Failure> {
    state
        .ready()
        .map(|r| r.catalogue.as_ref())
        .map_err(|e| Failure::api(format, e))
}

fn info(catalogue: &Catalogue, s: &Service) -> ServiceInfo {
    ServiceInfo {
        service_code: s.id.clone(),
        service_name: s.name.clone(),
        description: s.description.clone(),
        metadata: false,
        kind: "realtime".into(),
        keywords: s.keywords.join(", "),
        group: catalogue
            .department(&s.department)
            .map_or_else(|| s.department.clone(), |d| d.name.clone()),
    }
}

pub(super) async fn list(state: AppState, req: Request, format: Format) -> Response {
    let run = || -> Result<Response, Failure> {
        let params = Params::parse(req.uri().query().unwrap_or_default(), format)?;
        params.check_jurisdiction(&state, format)?;
        let catalogue = catalogue(&state, format)?;
        let services: Vec<ServiceInfo> = catalogue
            .services
            .iter()
            .map(|s| info(catalogue, s))
            .collect();
        Ok(format.list(StatusCode::OK, "services", &services))
    };
    run().unwrap_or_else(IntoResponse::into_response)
}

pub(super) async fn definition(state: AppState, req: Request, format: Format) -> Response {
    let run = || -> Result<Response, Failure> {
        let params = Params::parse(req.uri().query().unwrap_or_default(), format)?;
        params.check_jurisdiction(&state, format)?;
        let code = stem(&req);
        let service = catalogue(&state, format)?
            .service(code)
            .ok_or_else(|| Failure::not_found(format, format!("no service '{code}'")))?;
        // Services have no attributes to fill in: the description is all anliegen needs.
        let definition = ServiceDefinition {
            service_code: service.id.clone(),
            attributes: Vec::new(),
        };
        Ok(format.document("service_definition", &definition))
    };
    run().unwrap_or_else(IntoResponse::into_response)
}

/// The answer of `services/suggest`.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Suggestions {
    /// `routed` when the best suggestion is sure enough to skip asking the citizen.
    status: RouteStatus,
    /// Whether `confidence` is a calibrated probability (a trained model) or a similarity
    /// score (before any training).
    calibrated: bool,
    suggestions: Vec<Suggestion>,
    evidence: Vec<EvidenceEntry>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Suggestion {
    service_code: String,
    service_name: String,
    group: String,
    confidence: f32,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct EvidenceEntry {
    service_code: String,
    kind: EvidenceKind,
    text: String,
    similarity: f32,
}

pub(super) async fn suggest(state: AppState, req: Request, format: Format) -> Response {
    let (mut parts, _) = req.into_parts();
    let Ok(ClientAddr(client)) = ClientAddr::from_request_parts(&mut parts, &state).await;
    let run = async {
        state
            .access
            .limits
            .suggest
            .check(&client)
            .map_err(|e| Failure::api(format, e))?;
        let params = Params::parse(parts.uri.query().unwrap_or_default(), format)?;
        params.check_jurisdiction(&state, format)?;
        let q = params
            .get("q")
            .ok_or_else(|| Failure::bad_request(format, "q (the citizen's text) is required"))?;
        let place = place(&params, format)?;
        let ready = state.ready().map_err(|e| Failure::api(format, e))?;
        let text: String = q.chars().take(MAX_SUGGEST_CHARS).collect();
        // Routed exactly as the pipeline routes an inquiry: the redacted text.
        let decision = ready
            .router
            .route_at(&redact(&text).text, place.and_then(|p| p.point()))
            .await
            .map_err(|e| Failure::api(format, e.into()))?;
        let group = |department: &str| {
            ready
                .catalogue
                .department(department)
                .map_or_else(|| department.to_string(), |d| d.name.clone())
        };
        let answer = Suggestions {
            status: decision.status,
            calibrated: decision.calibrated,
            suggestions: decision
                .candidates
                .iter()
                .map(|c| Suggestion {
                    service_code: c.service_id.clone(),
                    service_name: c.service_name.clone(),
                    group: group(&c.department_id),
                    confidence: c.score,
                })
                .collect(),
            evidence: decision
                .evidence
                .into_iter()
                .map(|e| EvidenceEntry {
                    service_code: e.service_id,
                    kind: e.kind,
                    text: e.text,
                    similarity: e.similarity,
                })
                .collect(),
        };
        Ok::<_, Failure>(format.document("suggestions", &answer))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// The place of a request: `lat`/`long` and `address_string` as the spec names them,
/// checked like every inquiry's place (both coordinates or neither, in range).
pub(super) fn place(params: &Params, format: Format) -> Result<Option<Location>, Failure> {
    let number = |name: &str| {
        params
            .get(name)
            .map(|v| {
                v.trim()
                    .parse::<f64>()
                    .map_err(|_| Failure::bad_request(format, format!("{name} must be a number")))
            })
            .transpose()
    };
    LocationInput {
        lat: number("lat")?,
        lon: number("long")?,
        address: params.get("address_string").map(str::to_string),
    }
    .parse()
    .map_err(|e| {
        // The spec calls the longitude `long`.
        let message = match e {
            InvalidLocation::HalfPoint => {
                "lat and long come together (one of them is missing)".to_string()
            }
            InvalidLocation::Longitude => "long must be a number from -180 to 180".to_string(),
            other => other
                .to_string()
                .trim_start_matches("location: ")
                .to_string(),
        };
        Failure::bad_request(format, message)
    })
}
