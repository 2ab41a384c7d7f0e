//! Property tests of the catalogue parsers on hostile files: generated DLDB JSON, XZuFi XML
//! and LeiKa CSV — right-shaped, wrongly typed, deeply nested, cut off — never panic, and a
//! refusal names the file. `make test` runs the default 256 cases per property; `make fuzz`
//! runs many more (`PROPTEST_CASES`).

use anliegen::catalogue::{Format, ImportError, ImportRequest, Input, import};
use proptest::prelude::*;
use serde_json::{Value, json};

fn input(name: &str, text: String) -> Input {
    Input {
        name: name.into(),
        text,
    }
}

/// Runs an import; a refusal must name the file it is about (or be a request problem).
fn check(format: Format, file: &str, text: String, mapping: Option<&str>) {
    let request = ImportRequest {
        format,
        files: vec![input(file, text)],
        locations: None,
        mapping: mapping.map(|m| input("mapping.toml", m.into())),
    };
    match import(&request) {
        Ok(_) | Err(ImportError::Request(_)) | Err(ImportError::Catalogue(_)) => {}
        Err(e @ ImportError::Malformed { .. }) => {
            assert!(e.to_string().starts_with(file), "{e}");
        }
    }
}

fn json_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "\\PC{0,30}".prop_map(Value::from),
        Just(json!("<p>Gebühr: <b>10 €</b></p>")),
        Just(json!("99115005000000")),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_scalar().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("id".to_string()),
                    Just("name".to_string()),
                    Just("description".to_string()),
                    Just("leika".to_string()),
                    Just("meta".to_string()),
                    Just("keywords".to_string()),
                    Just("locations".to_string()),
                    Just("location".to_string()),
                    Just("fees".to_string()),
                    "[a-z]{1,8}",
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn dldb_file() -> impl Strategy<Value = String> {
    (prop::collection::vec(json_value(), 0..6), 0usize..4000).prop_map(|(services, cut)| {
        let text = json!({"meta": {}, "data": services}).to_string();
        // Sometimes cut off, always on a character boundary.
        let cut = text.floor_char_boundary(cut.max(1));
        if cut % 3 == 0 {
            text[..cut].to_string()
        } else {
            text
        }
    })
}

fn xml_element() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        "\\PC{0,20}".prop_map(|t| t.replace(['<', '&'], " ")),
        Just("&amp;&lt;&#x41;".to_string()),
        Just("<![CDATA[<b>x</b>]]>".to_string()),
    ];
    leaf.prop_recursive(6, 48, 5, |inner| {
        (
            prop_oneof![
                Just("leistung"),
                Just("id"),
                Just("bezeichnung"),
                Just("leistungsschluessel"),
                Just("modulText"),
                Just("inhalt"),
                Just("xzufi:leistung"),
                Just("x"),
            ],
            prop::collection::vec(inner, 0..5),
        )
            .prop_map(|(name, children)| format!("<{name}>{}</{name}>", children.concat()))
    })
}

fn xzufi_file() -> impl Strategy<Value = String> {
    (prop::collection::vec(xml_element(), 0..5), any::<bool>()).prop_map(|(items, ns)| {
        let open = if ns {
            "<xzufi:transfer.operation.leistung xmlns:xzufi=\"http://xoev.de/schemata/xzufi/2_2_0\">"
        } else {
            "<transfer>"
        };
        let close = if ns { "</xzufi:transfer.operation.leistung>" } else { "</transfer>" };
        format!("<?xml version=\"1.0\"?>{open}{}{close}", items.concat())
    })
}

fn csv_field() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("99012001000000".to_string()),
        Just("True".to_string()),
        Just("False".to_string()),
        Just("\"Bauen, Wohnen\"".to_string()),
        Just("\"a \"\"quoted\"\" name\"".to_string()),
        Just("\"line\nbreak\"".to_string()),
        "[0-9]{0,16}",
        "[ -~]{0,20}".prop_map(|s| s.replace(['"', ',', '\n'], " ")),
    ]
}

fn leika_file() -> impl Strategy<Value = String> {
    let row = prop::collection::vec(csv_field(), 0..11).prop_map(|f| f.join(","));
    (prop::collection::vec(row, 0..12), any::<bool>()).prop_map(|(rows, header)| {
        let mut text = String::new();
        if header {
            text.push_str("leika_key,leika_key_valid,leika_bezeichnung,leika_typ,ozg_id,ozg_leistung,lebenslage,themenfeld,rechtsgrundlagen\n");
        }
        text.push_str(&rows.join("\n"));
        text
    })
}

const MAPPING: &str =
    "[[departments]]\nid = \"bauamt\"\nname = \"Bauamt\"\n[assign.leika]\n\"99\" = \"bauamt\"\n";

proptest! {
    #[test]
    fn generated_dldb_json_never_panics(text in dldb_file()) {
        check(Format::Dldb, "services.json", text, None);
    }

    #[test]
    fn generated_xzufi_xml_never_panics(text in xzufi_file()) {
        check(Format::Xzufi, "leistungen.xml", text, None);
    }

    #[test]
    fn generated_leika_csv_never_panics(text in leika_file()) {
        check(Format::Leika, "leika.csv", text, Some(MAPPING));
    }

    #[test]
    fn any_text_in_any_format_never_panics(text in "\\PC{0,300}") {
        check(Format::Dldb, "services.json", text.clone(), None);
        check(Format::Xzufi, "leistungen.xml", text.clone(), None);
        check(Format::Leika, "leika.csv", text, Some(MAPPING));
    }
}
