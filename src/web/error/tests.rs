//! The error contract against its documentation: the README's table of codes and statuses
//! lists exactly the codes `ApiError` has, each with the status it answers with.

use std::collections::BTreeMap;

use super::*;

fn ordinal(e: &ApiError) -> usize {
    match e {
        ApiError::InvalidJson(_) => 0,
        ApiError::UnsupportedMediaType => 1,
        ApiError::BodyTooLarge(_) => 2,
        ApiError::InvalidField(_) => 3,
        ApiError::EmptyText => 4,
        ApiError::TextTooLong(_) => 5,
        ApiError::NotFound(_) => 6,
        ApiError::MethodNotAllowed => 7,
        ApiError::Conflict(_) => 8,
        ApiError::NotReady => 9,
        ApiError::Overloaded => 10,
        ApiError::Internal(_) => 11,
        ApiError::Unauthorized => 12,
        ApiError::Forbidden => 13,
        ApiError::LoginFailed => 14,
        ApiError::RateLimited(_) => 15,
        ApiError::ReplyFlagged(_) => 16,
        ApiError::RequestTimeout(_) => 17,
        ApiError::TooManyConnections => 18,
        ApiError::ServerFull => 19,
        ApiError::BacklogFull => 20,
        ApiError::IdempotencyKeyReused => 21,
    }
}

/// `code → status` from the README table whose header is `| code | status | when |`.
fn readme_table() -> BTreeMap<String, u16> {
    let readme = include_str!("../../../README.md");
    let mut lines = readme
        .lines()
        .skip_while(|l| !l.starts_with("| code | status | when |"))
        .skip(2);
    let mut table = BTreeMap::new();
    for line in lines.by_ref().take_while(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let code = cells[1].trim_matches('`').to_string();
        let status = cells[2]
            .parse()
            .expect("a status number in the README table");
        assert!(table.insert(code, status).is_none(), "listed twice: {line}");
    }
    table
}

#[test]
fn every_kind_is_listed_once() {
    let ordinals: Vec<usize> = ApiError::one_of_each().iter().map(ordinal).collect();
    assert_eq!(ordinals, (0..ordinals.len()).collect::<Vec<_>>());
}

#[test]
fn readme_table_matches_codes_and_statuses() {
    let code: BTreeMap<String, u16> = ApiError::one_of_each()
        .iter()
        .map(|e| (e.code().to_string(), e.status().as_u16()))
        .collect();
    assert_eq!(readme_table(), code, "README.md 'HTTP API' error table");
}

#[test]
fn internal_errors_do_not_leak_details() {
    let e = ApiError::Internal("disk /secret full".into());
    assert_eq!(e.to_string(), "internal error");
    assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[test]
fn a_full_model_queue_is_429_with_retry_after() {
    let e: ApiError = TriageError::Embed(EmbedError::Overloaded).into();
    assert_eq!(e.code(), "overloaded");
    let response = e.into_response();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()[RETRY_AFTER], "1");
}

#[test]
fn rate_limited_answers_429_with_its_own_retry_after() {
    let response = ApiError::RateLimited(7).into_response();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()[RETRY_AFTER], "7");
}

#[test]
fn lower_layers_map_to_internal_except_overload() {
    let cases: Vec<ApiError> = vec![
        TriageError::EmptyIndex.into(),
        TriageError::Model("bad bytes".into()).into(),
        TriageError::Embed(EmbedError::Stopped).into(),
        TriageError::Index(IndexError::NoCollection("catalogue".into())).into(),
        TriageError::Store(StoreError::Corrupt("row".into())).into(),
    ];
    for e in cases {
        assert_eq!(e.code(), "internal", "{e:?}");
    }
}

#[test]
fn a_model_that_does_not_fit_the_catalogue_is_a_conflict_that_says_why() {
    let e: ApiError =
        TriageError::ModelDoesNotFit("model version 3 was trained for …".into()).into();
    assert_eq!(e.code(), "conflict");
    assert!(e.to_string().contains("model version 3"));
}
