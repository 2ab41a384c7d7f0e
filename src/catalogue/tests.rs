//! Tests of the importers on small inputs and the XZuFi fixture, including malformed files
//! (an error naming the place, nothing imported) and property tests: random or damaged input
//! never panics.

use proptest::prelude::*;

use super::*;
use crate::catalogue::diff::CatalogueDiff;

const XZUFI: &str = include_str!("../../tests/fixtures/xzufi/musterland.xml");

fn input(name: &str, text: &str) -> Input {
    Input {
        name: name.into(),
        text: text.into(),
    }
}

const SERVICES: &str = r#"{"meta": {}, "data": [
  {"id": "100", "name": "Wohnsitzanmeldung", "description": "<p>Melden Sie Ihren <b>Wohnsitz</b> an.</p>",
   "meta": {"keywords": "Umzug, Anmelden, umzug"}, "leika": "99115005000000",
   "fees": "<p>gebührenfrei</p>", "forms": [{"name": "Formular", "link": "https://x.example/f.pdf", "description": false}],
   "links": [], "locations": [{"location": "1"}, {"location": "2"}], "authorities": [{"id": "1", "name": "Stadt Muster"}]},
  {"id": 200, "name": "Shortlane", "description": "", "locations": [{"location": "1"}]},
  {"id": "300", "name": "Melderegisterauskunft", "description": "Auskunft aus dem Melderegister", "locations": []}
]}"#;

const LOCATIONS: &str = r#"{"meta": {}, "data": [
  {"id": "1", "name": "Bürgerbüro Mitte (A-1)", "displayName": "Bürgerbüro Mitte", "organizationUnit": "Kreisverwaltungsreferat",
   "address": {"street": "Marktplatz", "house_number": "1", "postal_code": "12345", "city": "Muster"},
   "geo": {"lat": "48.1", "lon": "11.5"}, "contact": {"email": "mitte@x.example", "phone": "0123 45"},
   "services": [{"service": "100", "onlineprocessing": {"link": "https://x.example/termin"}}]},
  {"id": "2", "name": "Bürgerbüro Nord (A-2)", "displayName": "Bürgerbüro Nord", "services": []}
]}"#;

fn dldb(services: &str) -> Result<Imported, ImportError> {
    import(&ImportRequest {
        format: Format::Dldb,
        files: vec![input("services.json", services)],
        locations: Some(input("locations.json", LOCATIONS)),
        mapping: None,
    })
}

#[test]
fn dldb_services_locations_facts_and_skips() {
    let imported = dldb(SERVICES).unwrap();
    let c = &imported.catalogue;
    assert_eq!(c.name, "Stadt Muster");
    let s = c.service("100").unwrap();
    assert_eq!(s.department, "buergerbuero-mitte");
    assert_eq!(s.description, "Melden Sie Ihren Wohnsitz an.");
    assert_eq!(s.keywords, vec!["Umzug", "Anmelden"]);
    assert_eq!(s.offices, vec!["1", "2"]);
    let fees = s.facts.fees.as_ref().unwrap();
    assert_eq!(
        (fees.text.as_str(), fees.source.as_str()),
        ("gebührenfrei", "DLDB services[100].fees")
    );
    assert_eq!(s.facts.forms[0].url, "https://x.example/f.pdf");
    assert_eq!(
        s.facts.online_service.as_ref().unwrap().url,
        "https://x.example/termin"
    );
    let office = c.office("1").unwrap();
    assert_eq!(
        office.address.as_ref().unwrap().text,
        "Marktplatz 1, 12345 Muster"
    );
    assert_eq!(office.position.unwrap().lat, 48.1);
    assert_eq!(
        c.department("buergerbuero-mitte").unwrap().mailbox,
        "mitte@x.example"
    );
    // The branch offering the service stays as a department with its office.
    assert!(c.department("buergerbuero-nord").is_some());
    let reasons: Vec<String> = imported
        .report
        .skipped
        .iter()
        .map(|s| format!("{}: {}", s.entry, s.reason))
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].contains("id 200") && reasons[0].contains("description or keywords"));
    assert!(reasons[1].contains("id 300") && reasons[1].contains("no department"));
}

#[test]
fn dldb_mapping_assigns_what_the_locations_do_not() {
    let mapping = "[[departments]]\nid = \"melde\"\nname = \"Meldewesen\"\n[assign.services]\n\"300\" = \"melde\"\n";
    let imported = import(&ImportRequest {
        format: Format::Dldb,
        files: vec![input("services.json", SERVICES)],
        locations: Some(input("locations.json", LOCATIONS)),
        mapping: Some(input("map.toml", mapping)),
    })
    .unwrap();
    assert_eq!(
        imported.catalogue.service("300").unwrap().department,
        "melde"
    );
    let bad = mapping.replace("\"300\" = \"melde\"", "\"300\" = \"bauamt\"");
    let err = import(&ImportRequest {
        format: Format::Dldb,
        files: vec![input("services.json", SERVICES)],
        locations: Some(input("locations.json", LOCATIONS)),
        mapping: Some(input("map.toml", &bad)),
    })
    .unwrap_err()
    .to_string();
    assert_eq!(err, "map.toml: assign '300': unknown department 'bauamt'");
}

#[test]
fn malformed_dldb_names_the_entry() {
    let err = dldb(&SERVICES.replace("\"name\": \"Shortlane\"", "\"name\": 7"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("services.json: data[1].name: invalid type"),
        "{err}"
    );
    let err = dldb(&SERVICES.replace("\"id\": 200", "\"id\": \"100\""))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("data[1].id: duplicate service id '100'"),
        "{err}"
    );
    assert!(dldb("{\"data\": [").is_err());
}

#[test]
fn importing_twice_is_identical_and_a_change_shows_only_itself() {
    let a = dldb(SERVICES).unwrap().catalogue;
    let b = dldb(SERVICES).unwrap().catalogue;
    assert_eq!(a.fingerprint(), b.fingerprint());
    assert_eq!(a.to_toml(), b.to_toml());
    let changed = dldb(&SERVICES.replace("gebührenfrei", "10 Euro"))
        .unwrap()
        .catalogue;
    let d = CatalogueDiff::between(&a, &changed);
    assert_eq!(d.lines(), vec!["~ service 100: facts".to_string()]);
}

fn xzufi(text: &str) -> Result<Imported, ImportError> {
    import(&ImportRequest {
        format: Format::Xzufi,
        files: vec![input("musterland.xml", text)],
        locations: None,
        mapping: None,
    })
}

#[test]
fn xzufi_fixture_imports_services_units_and_facts() {
    let imported = xzufi(XZUFI).unwrap();
    let c = &imported.catalogue;
    assert_eq!(c.services.len(), 2);
    let s = c.service("l100042_fahrerlaubnis_umtausch").unwrap();
    assert_eq!(s.name, "Ausländischen Führerschein umschreiben lassen");
    assert_eq!(
        s.leika_name.as_deref(),
        Some("Fahrerlaubnis Umschreibung ausländische Fahrerlaubnis")
    );
    assert_eq!(s.leika.as_deref(), Some("99108047050000"));
    assert!(s.description.starts_with("Wenn Sie mit einem Führerschein"));
    assert!(
        s.description.contains("- Antrag stellen"),
        "{}",
        s.description
    );
    assert_eq!(
        s.keywords,
        vec!["Führerschein umtauschen", "Auslandsführerschein"]
    );
    assert_eq!(s.department, "oe_fahrerlaubnis");
    assert_eq!(
        s.facts.fees.as_ref().unwrap().text,
        "35,00 Euro zuzüglich Prüfungsgebühren"
    );
    assert_eq!(
        s.facts.fees.as_ref().unwrap().source,
        "XZuFi leistung[L100042_FAHRERLAUBNIS_UMTAUSCH].modulKosten"
    );
    assert!(
        s.facts
            .documents
            .as_ref()
            .unwrap()
            .text
            .contains("Sehtestbescheinigung")
    );
    assert_eq!(
        s.facts.deadlines.as_ref().unwrap().text,
        "Innerhalb von sechs Monaten nach Begründung des Wohnsitzes"
    );
    assert_eq!(
        s.facts.processing_time.as_ref().unwrap().text,
        "etwa vier Wochen"
    );
    assert_eq!(s.facts.forms[0].title, "Antrag auf Umschreibung");
    let unit = c.office("oe_fahrerlaubnis").unwrap();
    assert_eq!(
        unit.address.as_ref().unwrap().text,
        "Kreishausplatz 1, 12345 Musterstadt"
    );
    assert_eq!(
        unit.phone.as_ref().unwrap().text,
        "01234 5678-100",
        "not the fax"
    );
    assert_eq!(
        unit.opening_hours.as_ref().unwrap().text,
        "Mo–Fr 8–12 Uhr, Do 14–18 Uhr"
    );
    assert_eq!(
        c.department("oe_fahrerlaubnis").unwrap().mailbox,
        "fahrerlaubnis@landkreis-musterland.example"
    );
    assert_eq!(
        c.service("l100042_wohngeld").unwrap().department,
        "oe_soziales"
    );
    let skipped: Vec<&str> = imported
        .report
        .skipped
        .iter()
        .map(|s| s.reason.as_str())
        .collect();
    assert!(
        skipped
            .iter()
            .any(|r| r.contains("a description or keywords")),
        "{skipped:?}"
    );
    assert!(
        skipped
            .iter()
            .any(|r| r.contains("<onlinedienst> objects are not imported"))
    );
}

#[test]
fn malformed_xzufi_names_the_element_and_imports_nothing() {
    let cut = &XZUFI[..XZUFI.find("<xzufi:organisationseinheit>").unwrap()];
    let err = xzufi(cut).unwrap_err().to_string();
    assert!(err.starts_with("musterland.xml: byte "), "{err}");
    assert!(err.contains("ends inside <schreibe>"), "{err}");
    let err = xzufi(&XZUFI.replace("2_2_0", "2_1_0"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not an XZuFi 2.2 document"), "{err}");
    let err = xzufi(&XZUFI.replacen(
        "<xzufi:id schemeAgencyID=\"L100042\">L100042_WOHNGELD</xzufi:id>",
        "",
        1,
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("<leistung> #2") && err.ends_with("no <id>"),
        "{err}"
    );
}

const LEIKA: &str = "leika_key,leika_key_valid,leika_bezeichnung,leika_typ,ozg_id,ozg_leistung,lebenslage,themenfeld,rechtsgrundlagen\n\
nicht im LeiKa,False,Prüfung,1,1,Zulassung,Anlagen,Umwelt,\n\
99012001000000,True,Abbruchgenehmigung,4,2,Abbruchgenehmigung,Bauen & Immobilien,Bauen & Wohnen,§ 1 BauO\n\
99114031000000,True,Altersrente,2/3,3,Rente,Rente,Arbeit & Ruhestand,\n\
99012001000000,True,Abbruchgenehmigung,4,2,Abbruch,Bauen,Bauen & Wohnen,\n";

#[test]
fn leika_needs_a_mapping_and_takes_valid_keys_once() {
    let request = |mapping: Option<&str>| ImportRequest {
        format: Format::Leika,
        files: vec![input("leika.csv", LEIKA)],
        locations: None,
        mapping: mapping.map(|m| input("map.toml", m)),
    };
    assert!(
        import(&request(None))
            .unwrap_err()
            .to_string()
            .contains("--mapping")
    );
    let mapping = "[[departments]]\nid = \"bauamt\"\nname = \"Bauamt\"\n[assign.leika]\n\"99012\" = \"bauamt\"\n";
    let imported = import(&request(Some(mapping))).unwrap();
    let s = imported.catalogue.service("99012001000000").unwrap();
    assert_eq!(s.department, "bauamt");
    assert_eq!(
        s.keywords,
        vec!["Abbruchgenehmigung", "Bauen & Immobilien", "Bauen & Wohnen"]
    );
    assert_eq!(s.facts.legal_basis.as_ref().unwrap().text, "§ 1 BauO");
    let reasons: Vec<&str> = imported
        .report
        .skipped
        .iter()
        .map(|s| s.reason.as_str())
        .collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons[0].contains("not a 14-digit LeiKa key"));
    assert!(reasons[1].contains("again; line 3 is kept"));
    assert!(reasons[2].contains("no department"));
    let by_topic = "[[departments]]\nid = \"rente\"\nname = \"Rente\"\n[assign.keywords]\n\"arbeit & ruhestand\" = \"rente\"\n";
    let imported = import(&request(Some(by_topic))).unwrap();
    assert_eq!(
        imported
            .catalogue
            .service("99114031000000")
            .unwrap()
            .department,
        "rente"
    );
    let err = import(&ImportRequest {
        files: vec![input("leika.csv", "name\nx\n")],
        ..request(Some(mapping))
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("leika.csv: header row: a LeiKa list needs the columns"),
        "{err}"
    );
}

fn any_format() -> impl Strategy<Value = Format> {
    prop_oneof![
        Just(Format::Dldb),
        Just(Format::Xzufi),
        Just(Format::Leika),
        Just(Format::Toml)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Random text in any format never panics; an error names the file.
    #[test]
    fn random_input_never_panics(format in any_format(), text in "\\PC{0,400}") {
        let request = ImportRequest {
            format,
            files: vec![input("random.in", &text)],
            locations: Some(input("locations.json", &text)),
            mapping: Some(input("map.toml", "")),
        };
        if let Err(e) = import(&request) {
            let message = e.to_string();
            prop_assert!(!message.is_empty());
        }
    }

    /// The XZuFi fixture cut anywhere or with a byte replaced never panics, and an error
    /// names the file.
    #[test]
    fn damaged_xzufi_never_panics(cut in 0..XZUFI.len(), at in 0..XZUFI.len(), c in "[<>&/\"a-z ]") {
        let mut damaged = XZUFI.as_bytes().to_vec();
        damaged[at] = c.as_bytes()[0];
        damaged.truncate(cut.max(1));
        let text = String::from_utf8_lossy(&damaged);
        if let Err(ImportError::Malformed { file, .. }) = xzufi(&text) {
            prop_assert_eq!(file, "musterland.xml");
        }
    }

    /// DLDB JSON cut anywhere never panics; an error names the file.
    #[test]
    fn damaged_dldb_never_panics(cut in 0..SERVICES.len()) {
        if let Err(e) = dldb(&SERVICES[..SERVICES.floor_char_boundary(cut)]) {
            prop_assert!(e.to_string().starts_with("services.json"));
        }
    }
}
