//! The replay's counting and its catalogue of labels.
use super::*;

#[test]
fn tallies_count_auto_routes_reviews_and_their_errors() {
    let mut t = Tally::default();
    t.add(true, true);
    t.add(false, true);
    t.add(false, false);
    t.add(true, false);
    assert_eq!(
        t,
        Tally {
            inquiries: 4,
            correct: 2,
            auto_routed: 2,
            auto_misrouted: 1,
            reviewed: 2,
            review_corrected: 1,
        }
    );
    assert_eq!(
        (t.accuracy(), t.auto_share(), t.misroute_rate()),
        (0.5, 0.5, 0.5)
    );
    assert_eq!(Tally::default().misroute_rate(), 0.0);
}

#[test]
fn labels_become_services_or_are_found_in_the_catalogue() {
    let row = |label: &str| Row {
        text: "t".into(),
        label: label.into(),
        place: None,
        date: None,
    };
    let rows = [
        row("Licht > Laterne"),
        row("Straße"),
        row("Licht > Laterne"),
    ];
    let (c, ids) = catalogue_for(&rows, None).unwrap();
    assert_eq!(c.services.len(), 2);
    assert_eq!(c.service(&ids["Straße"]).unwrap().name, "Straße");
    let (_, ids) = catalogue_for(
        &[row("label-0001"), row("licht > laterne"), row("x")],
        Some(c),
    )
    .unwrap();
    assert_eq!(ids["label-0001"], "label-0001");
    assert_eq!(ids["licht > laterne"], "label-0000");
    assert!(!ids.contains_key("x"));
}
