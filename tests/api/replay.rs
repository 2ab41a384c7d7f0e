//! `anliegen eval --replay`: a dated labelled file replayed week by week with retraining
//! after each week, from a cold start on the demo catalogue; the JSON's months add up to
//! the rows, every week but none is learnt before it is routed, and the plot is a
//! well-formed SVG document.

use serde_json::Value;

use crate::{
    cli::{anliegen, stderr},
    helpers::repo,
};

fn env(data: &std::path::Path) -> [(&'static str, String); 2] {
    [
        ("ANLIEGEN__DATA__DIR", data.display().to_string()),
        (
            "ANLIEGEN__DATABASE__URL",
            format!("sqlite://{}/a.db", data.display()),
        ),
    ]
}

#[test]
fn a_cold_start_replay_on_the_demo_catalogue_routes_each_week_with_what_came_before() {
    let data = tempfile::tempdir().unwrap();
    let fixture = repo().join("tests/fixtures/replay/demo.csv");
    let (svg, json) = (
        data.path().join("replay.svg"),
        data.path().join("replay.json"),
    );
    let (fixture, svg_arg, json_arg) = (
        fixture.display().to_string(),
        svg.display().to_string(),
        json.display().to_string(),
    );
    // `eval --replay --train FILE --label-column service` and more.
    let replay = |file: &str, more: &[&str]| {
        let mut args = vec![
            "eval",
            "--replay",
            "--train",
            file,
            "--label-column",
            "service",
        ];
        args.extend(more);
        anliegen(&args, &env(data.path()), None)
    };
    let out = replay(
        &fixture,
        &[
            "--service-catalogue",
            "--svg",
            &svg_arg,
            "--json",
            &json_arg,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // The table on stdout, the same result as JSON in the file.
    let table = String::from_utf8(out.stdout).unwrap();
    for line in ["cold start", "2026-01", "total", "auto-routed:"] {
        assert!(table.contains(line), "{line}: {table}");
    }
    let r: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(r["cold_start"], true);
    assert_eq!(r["replayed_rows"], 55);
    assert_eq!(r["classes"], 67, "the demo catalogue's services");
    let periods = r["periods"].as_array().unwrap();
    assert_eq!(
        periods.len(),
        8,
        "eight weeks from 5 January to 27 February"
    );
    assert_eq!(r["trainings"].as_u64().unwrap(), periods.len() as u64 + 1);
    // Each week is routed by a version that learnt every earlier week and nothing later.
    let mut learnt = 0;
    for p in periods {
        assert_eq!(p["labelled"].as_u64().unwrap(), learnt, "{p}");
        learnt += p["inquiries"].as_u64().unwrap();
        let (auto, reviewed) = (
            p["auto_routed"].as_u64().unwrap(),
            p["reviewed"].as_u64().unwrap(),
        );
        assert_eq!(auto + reviewed, p["inquiries"].as_u64().unwrap());
        assert!(p["auto_misrouted"].as_u64().unwrap() <= auto);
    }
    assert_eq!(learnt, 55);
    let months = r["months"].as_array().unwrap();
    let names: Vec<&str> = months
        .iter()
        .map(|m| m["month"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["2026-01", "2026-02"]);
    let sum: u64 = months
        .iter()
        .map(|m| m["inquiries"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, 55);
    assert_eq!(r["total"]["inquiries"], 55);
    let accuracy = r["accuracy"].as_f64().unwrap();
    assert!(
        accuracy > 0.6,
        "the demo catalogue knows these services: {accuracy}"
    );

    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(
        svg.starts_with("<?xml") && svg.contains("<polyline"),
        "{svg}"
    );
    assert!(svg.contains("2026-01") && svg.contains("misroute budget"));
    let mut reader = quick_xml::Reader::from_str(&svg);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("not well-formed: {e}"),
        }
    }

    // Clear refusals: no date column; labels the catalogue lacks are listed and skipped.
    let undated = replay(&fixture, &["--date-column", "when"]);
    assert!(!undated.status.success());
    assert!(
        stderr(&undated).contains("no column 'when'"),
        "{}",
        stderr(&undated)
    );
    let foreign = data.path().join("foreign.csv");
    std::fs::write(
        &foreign,
        "date,text,service\n2026-01-05,Laterne aus,strassenbeleuchtung-defekt\n2026-01-06,Etwas anderes,gibt-es-nicht\n",
    )
    .unwrap();
    let out = replay(
        foreign.to_str().unwrap(),
        &["--service-catalogue", "--format", "json"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["unknown_labels"], serde_json::json!(["gibt-es-nicht"]));
    assert_eq!(
        (r["replayed_rows"].as_u64(), r["skipped"].as_u64()),
        (Some(1), Some(1))
    );
}
