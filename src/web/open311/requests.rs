//! Service requests: `POST requests` takes a citizen's report (channel `open311`) through
//! the same intake as the JSON API and answers the case number as `service_request_id`
//! with the service and agency it was routed to; `GET requests` lists requests with the
//! spec's filters and `GET requests/{id}` shows one. The status, service, agency and
//! times are public; the description and place only reach a caller whose key (or session)
//! reaches the case's department.

use axum::{
    body::to_bytes,
    extract::{FromRequestParts, Request},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Duration, SecondsFormat, Utc};

use super::{
    Failure, Format, MAX_REQUESTS, Params,
    format::{Created, ServiceRequest},
    services::place,
    stem,
};
use crate::{
    domain::{CaseNumber, Catalogue, Channel, InquiryStatus, Sender},
    outbound::notify::status_url,
    store::{InquiryQuery, StoredInquiry},
    web::{
        AppState,
        auth::{ClientAddr, Identity},
        inquiries::{accept, parse_text},
    },
};

/// The spec's default window of `GET requests` without dates.
const DEFAULT_DAYS: i64 = 90;

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// The Open311 view of a stored inquiry; `detailed` adds description and place.
fn view(i: &StoredInquiry, catalogue: Option<&Catalogue>, detailed: bool) -> ServiceRequest {
    let d = i.decision.as_ref();
    // A place near a home is personal data: only in the detailed view.
    let place = i.location.as_ref().filter(|_| detailed);
    let agency = d.map(|d| d.department.name.clone());
    let notes = match i.status {
        InquiryStatus::Received => "Eingegangen; wird zugeordnet.".to_string(),
        InquiryStatus::Routed => format!(
            "Weitergeleitet an {}.",
            agency.as_deref().unwrap_or("die zuständige Stelle")
        ),
        InquiryStatus::Review => "Eingegangen; die Zuständigkeit wird geprüft.".to_string(),
        InquiryStatus::Failed => "Eingegangen; wird von Hand bearbeitet.".to_string(),
        InquiryStatus::Spam | InquiryStatus::NotInquiry => {
            "Abgeschlossen; kein Anliegen an die Verwaltung.".to_string()
        }
        InquiryStatus::Merged => {
            "Abgeschlossen; wird in einem anderen Fall bearbeitet.".to_string()
        }
        InquiryStatus::Closed => "Abgeschlossen.".to_string(),
    };
    let notice = d
        .and_then(|d| catalogue?.service(&d.service.id))
        .and_then(|s| s.facts.processing_time.as_ref())
        .map(|f| f.text.clone());
    ServiceRequest {
        service_request_id: i.case_number.to_string(),
        status: open_or_closed(i.status).to_string(),
        status_notes: Some(notes),
        service_name: d.map(|d| d.service.name.clone()),
        service_code: d.map(|d| d.service.id.clone()),
        description: detailed.then(|| i.text.clone()),
        agency_responsible: agency,
        service_notice: notice,
        requested_datetime: Some(time(i.received_at)),
        updated_datetime: Some(time(i.updated_at)),
        expected_datetime: None,
        address: place.and_then(|p| p.address.clone()),
        address_id: None,
        zipcode: None,
        lat: place.and_then(|p| p.lat),
        long: place.and_then(|p| p.lon),
        media_url: None,
    }
}

/// Open311 knows two states: a case a clerk ended is closed, every other is still handled.
fn open_or_closed(status: InquiryStatus) -> &'static str {
    match status {
        InquiryStatus::Received
        | InquiryStatus::Routed
        | InquiryStatus::Review
        | InquiryStatus::Failed => "open",
        InquiryStatus::Spam
        | InquiryStatus::NotInquiry
        | InquiryStatus::Merged
        | InquiryStatus::Closed => "closed",
    }
}

/// The inquiry statuses behind an Open311 status filter (`open`, `closed` or both).
fn statuses(filter: &str, format: Format) -> Result<Vec<InquiryStatus>, Failure> {
    let all = InquiryStatus::ALL;
    let mut out = Vec::new();
    for wanted in filter.split(',').map(str::trim) {
        if wanted != "open" && wanted != "closed" {
            return Err(Failure::bad_request(
                format,
                format!("status '{wanted}' is unknown; use open or closed"),
            ));
        }
        out.extend(all.iter().filter(|s| open_or_closed(**s) == wanted));
    }
    Ok(out)
}

fn date(params: &Params, name: &str, format: Format) -> Result<Option<DateTime<Utc>>, Failure> {
    params
        .get(name)
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    Failure::bad_request(
                        format,
                        format!("{name} '{v}' is not a w3 datetime like 2026-12-01T00:00:00Z"),
                    )
                })
        })
        .transpose()
}

fn detailed(caller: Option<&Identity>, i: &StoredInquiry) -> bool {
    caller.is_some_and(|c| c.may_access(i.decision.as_ref()))
}

/// A read's parameters (checked jurisdiction) and caller. Takes the request apart: its
/// body is not `Sync`, so only the head may be held across awaits.
async fn read(
    state: &AppState,
    req: Request,
    format: Format,
) -> Result<(Params, Option<Identity>), Failure> {
    let (parts, _) = req.into_parts();
    let params = Params::parse(parts.uri.query().unwrap_or_default(), format)?;
    params.check_jurisdiction(state, format)?;
    let caller = params
        .caller(state, &parts.headers, &parts.extensions, format)
        .await?;
    Ok((params, caller))
}

pub(super) async fn list(state: AppState, req: Request, format: Format) -> Response {
    let run = async {
        let (params, caller) = read(&state, req, format).await?;
        let mut query = InquiryQuery {
            limit: MAX_REQUESTS,
            ..InquiryQuery::default()
        };
        if let Some(ids) = params.get("service_request_id") {
            // The spec: with ids, every other filter is ignored. Unknown ids list nothing.
            query.cases = ids
                .split(',')
                .filter_map(|id| id.trim().parse::<CaseNumber>().ok())
                .collect();
            if query.cases.is_empty() {
                return Ok(format.list::<ServiceRequest>(StatusCode::OK, "service_requests", &[]));
            }
        } else {
            query.service = params.get("service_code").map(str::to_string);
            if let Some(s) = params.get("status") {
                query.statuses = statuses(s, format)?;
                if query.statuses.is_empty() {
                    // No status matches the filter.
                    return Ok(format.list::<ServiceRequest>(
                        StatusCode::OK,
                        "service_requests",
                        &[],
                    ));
                }
            }
            let (start, end) = (
                date(&params, "start_date", format)?,
                date(&params, "end_date", format)?,
            );
            query.received_until = end;
            query.received_from =
                start.or_else(|| Some(end.unwrap_or_else(Utc::now) - Duration::days(DEFAULT_DAYS)));
        }
        let inquiries = state
            .store
            .inquiries(&query)
            .await
            .map_err(|e| Failure::api(format, e.into()))?;
        let catalogue = state.ready().ok().map(|r| r.catalogue.as_ref());
        let items: Vec<ServiceRequest> = inquiries
            .iter()
            .map(|i| view(i, catalogue, detailed(caller.as_ref(), i)))
            .collect();
        Ok::<_, Failure>(format.list(StatusCode::OK, "service_requests", &items))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

pub(super) async fn show(state: AppState, req: Request, format: Format) -> Response {
    let id = stem(&req).to_string();
    let run = async {
        let (_, caller) = read(&state, req, format).await?;
        let missing = || Failure::not_found(format, format!("no service request '{id}'"));
        let case: CaseNumber = id.parse().map_err(|_| missing())?;
        let inquiry = state
            .store
            .inquiry(&case)
            .await
            .map_err(|e| Failure::api(format, e.into()))?
            .ok_or_else(missing)?;
        let catalogue = state.ready().ok().map(|r| r.catalogue.as_ref());
        let item = view(&inquiry, catalogue, detailed(caller.as_ref(), &inquiry));
        Ok::<_, Failure>(format.list(StatusCode::OK, "service_requests", &[item]))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

pub(super) async fn create(state: AppState, req: Request, format: Format) -> Response {
    let (mut parts, body) = req.into_parts();
    let Ok(ClientAddr(client)) = ClientAddr::from_request_parts(&mut parts, &state).await;
    let run = async {
        state
            .access
            .limits
            .intake
            .check(&client)
            .map_err(|e| Failure::api(format, e))?;
        let bytes = to_bytes(body, state.config.server.max_body_bytes)
            .await
            .map_err(|_| {
                Failure::new(
                    format,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "the request body exceeds {} bytes",
                        state.config.server.max_body_bytes
                    ),
                )
            })?;
        // The spec posts form fields; parameters in the query string count as well.
        let mut params = Params::parse(parts.uri.query().unwrap_or_default(), format)?;
        params
            .0
            .extend(Params::parse(&String::from_utf8_lossy(&bytes), format)?.0);
        params.check_jurisdiction(&state, format)?;
        if params.get("api_key").is_none() {
            return Err(Failure::new(
                format,
                StatusCode::FORBIDDEN,
                "api_key is required to post a service request",
            ));
        }
        params
            .caller(&state, &parts.headers, &parts.extensions, format)
            .await?;
        let description = params.get("description").ok_or_else(|| {
            Failure::bad_request(format, "description is required: what is the problem?")
        })?;
        let text = parse_text(description, &state).map_err(|e| Failure::api(format, e))?;
        if let Some(code) = params.get("service_code") {
            // Checked, so a client learns of a stale catalogue; the route itself is decided
            // from the description like every inquiry's (README, "Open311").
            let known = state.ready().map(|r| r.catalogue.service(code).is_some());
            if matches!(known, Ok(false)) {
                return Err(Failure::not_found(format, format!("no service '{code}'")));
            }
        }
        let location = place(&params, format)?;
        let sender = params
            .get("email")
            .map(Sender::parse)
            .transpose()
            .map_err(|e| Failure::bad_request(format, e.to_string()))?
            .flatten()
            .map(Sender::into_string);
        let (inquiry, secret) = accept(&state, Channel::Open311, sender, text, location)
            .await
            .map_err(|e| Failure::api(format, e))?;
        let d = inquiry.decision.as_ref();
        let case = inquiry.case_number.to_string();
        let created = Created {
            service_request_id: case.clone(),
            service_notice: None,
            account_id: None,
            service_code: d.map(|d| d.service.id.clone()),
            service_name: d.map(|d| d.service.name.clone()),
            agency_responsible: d.map(|d| d.department.name.clone()),
            status_url: Some(status_url(
                &state.config.server.public_url,
                &case,
                secret.as_str(),
            )),
        };
        Ok::<_, Failure>(format.list(StatusCode::CREATED, "service_requests", &[created]))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}
