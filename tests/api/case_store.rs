//! What citizens hold and what clerks reach, in the store on both backends: case secrets,
//! the confirmation, replies, and the departments in reach kept with every decision for the
//! inbox queries.

use anliegen::{
    domain::InquiryStatus,
    store::{InquiryQuery, SecretPurpose, Store},
};

use crate::{
    access::decision,
    store::{new, on_both_backends},
};

on_both_backends!(
    case_secrets_open_their_own_case_for_their_purpose_only,
    the_reach_follows_every_decision_and_scopes_the_inbox,
);

async fn case_secrets_open_their_own_case_for_their_purpose_only(store: Store, _url: String) {
    let a = store
        .insert_inquiry(new("Laterne", "a@example.org"))
        .await
        .unwrap();
    let b = store
        .insert_inquiry(new("Sperrmüll", "b@example.org"))
        .await
        .unwrap();
    let status = store
        .issue_case_secret(a.id, SecretPurpose::Status)
        .await
        .unwrap();
    let again = store
        .issue_case_secret(a.id, SecretPurpose::Status)
        .await
        .unwrap();
    let confirm = store
        .issue_case_secret(a.id, SecretPurpose::Confirm)
        .await
        .unwrap();
    let open = |case, purpose, secret: &str| {
        let (store, secret) = (store.clone(), secret.to_string());
        async move {
            store
                .case_opened_by(&case, purpose, &secret)
                .await
                .unwrap()
                .map(|i| i.id)
        }
    };
    assert_eq!(
        open(a.case_number, SecretPurpose::Status, status.as_str()).await,
        Some(a.id)
    );
    assert_eq!(
        open(a.case_number, SecretPurpose::Status, again.as_str()).await,
        Some(a.id)
    );
    assert_eq!(
        open(a.case_number, SecretPurpose::Status, confirm.as_str()).await,
        None
    );
    assert_eq!(
        open(b.case_number, SecretPurpose::Status, status.as_str()).await,
        None
    );
    assert_eq!(
        open(a.case_number, SecretPurpose::Confirm, confirm.as_str()).await,
        Some(a.id)
    );

    assert!(
        !store
            .inquiry(&a.case_number)
            .await
            .unwrap()
            .unwrap()
            .contact_confirmed
    );
    store.confirm_contact(a.id).await.unwrap();
    assert!(
        store
            .inquiry(&a.case_number)
            .await
            .unwrap()
            .unwrap()
            .contact_confirmed
    );

    store
        .record_reply(a.id, "Wird repariert.", "user:1", true)
        .await
        .unwrap();
    let replies = store.case_replies(a.id).await.unwrap();
    assert_eq!((replies.len(), replies[0].mailed), (1, true));
    assert!(store.case_replies(b.id).await.unwrap().is_empty());
}

async fn the_reach_follows_every_decision_and_scopes_the_inbox(store: Store, _url: String) {
    let a = store
        .insert_inquiry(new("Laterne", "a@example.org"))
        .await
        .unwrap();
    let b = store
        .insert_inquiry(new("Sperrmüll", "b@example.org"))
        .await
        .unwrap();
    let review = decision(
        "sperrmuell",
        "abfallwirtschaft",
        &[("strassenschaden", "tiefbau")],
    );
    store.record_decision(a.id, &review).await.unwrap();
    store
        .record_decision(b.id, &decision("sperrmuell", "abfallwirtschaft", &[]))
        .await
        .unwrap();
    let cases = |q: InquiryQuery| {
        let store = store.clone();
        async move {
            let found = store
                .inquiries(&InquiryQuery { limit: 50, ..q })
                .await
                .unwrap();
            found.into_iter().map(|i| i.id).collect::<Vec<_>>()
        }
    };
    let reach = |d: &str| Some(vec![d.to_string()]);
    assert_eq!(
        cases(InquiryQuery {
            reach: reach("tiefbau"),
            ..Default::default()
        })
        .await,
        [a.id]
    );
    assert_eq!(
        cases(InquiryQuery {
            reach: reach("abfallwirtschaft"),
            ..Default::default()
        })
        .await,
        [b.id, a.id]
    );
    assert_eq!(
        cases(InquiryQuery {
            reach: Some(Vec::new()),
            ..Default::default()
        })
        .await,
        Vec::<i64>::new()
    );
    let in_review = InquiryQuery {
        status: Some(InquiryStatus::Review),
        ..Default::default()
    };
    assert_eq!(cases(in_review).await, [a.id]);

    // A clerk's decision moves the case out of Tiefbau's reach.
    store
        .record_decision(a.id, &decision("sperrmuell", "abfallwirtschaft", &[]))
        .await
        .unwrap();
    assert!(
        cases(InquiryQuery {
            reach: reach("tiefbau"),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    let before_b = InquiryQuery {
        before: Some(b.case_number),
        ..Default::default()
    };
    assert_eq!(cases(before_b).await, [a.id]);
}
