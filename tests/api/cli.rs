//! The `anliegen` binary: embedding parity with the reference vectors, triage from the
//! command line, and one clear error line for a missing or corrupt model and a broken
//! catalogue.

use std::{
    io::Write,
    process::{Command, Output, Stdio},
};

use serde_json::Value;

use crate::helpers::{assert_eval_figures, model_dir, repo, shared};

pub fn anliegen(args: &[&str], env: &[(&str, String)], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_anliegen"));
    cmd.args(args)
        .current_dir(repo())
        .env("ANLIEGEN__MODEL__DIR", model_dir())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    dot / (na * nb)
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn embed_reproduces_reference_token_ids_and_vectors() {
    let Some(dir) = shared("reference/multilingual-e5-small") else {
        return;
    };
    let sentences = std::fs::read(dir.join("sentences.txt")).unwrap();
    let out = anliegen(&["embed", "--token-ids"], &[], Some(&sentences));
    assert!(out.status.success(), "{}", stderr(&out));
    let got: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let reference: Vec<Value> = std::fs::read_to_string(dir.join("vectors.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(got.len(), reference.len());
    assert!(reference.len() >= 28);
    for (g, r) in got.iter().zip(&reference) {
        assert_eq!(g["text"], r["text"]);
        assert_eq!(g["token_ids"], r["token_ids"], "token ids of {}", r["text"]);
        let c = cosine(&floats(&g["embedding"]), &floats(&r["embedding"]));
        assert!(c >= 0.999, "cosine {c} for {}", r["text"]);
        assert_eq!(g["embedding"].as_array().unwrap().len(), 384);
    }
}

#[test]
fn triage_command_prints_the_decision() {
    let data = tempfile::tempdir().unwrap();
    let env = [
        ("ANLIEGEN__DATA__DIR", data.path().display().to_string()),
        (
            "ANLIEGEN__DATABASE__URL",
            format!("sqlite://{}/a.db", data.path().display()),
        ),
    ];
    let out = anliegen(
        &[
            "triage",
            "Wie melde ich meinen Hund für die Hundesteuer an?",
        ],
        &env,
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["department"]["id"], "kreiskasse", "{d}");
    assert!(d["confidence"].as_f64().unwrap() > 0.0);
    assert_eq!(d["model"], "e5s1:1571fc9827503943");

    let out = anliegen(&["triage", "   "], &env, None);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("the inquiry text is empty"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn missing_model_is_one_line_naming_the_file_and_the_fix() {
    let out = anliegen(
        &["model", "info"],
        &[("ANLIEGEN__MODEL__DIR", "/nonexistent/e5".into())],
        None,
    );
    assert!(!out.status.success());
    assert_eq!(
        stderr(&out).trim(),
        "error: model file /nonexistent/e5/tokenizer.json is missing; run `make model` or `anliegen model fetch`"
    );
}

#[test]
fn corrupt_weights_are_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        model_dir().join("tokenizer.json"),
        dir.path().join("tokenizer.json"),
    )
    .unwrap();
    let weights = std::fs::read(model_dir().join("e5-small-q4.bin")).unwrap();
    std::fs::write(
        dir.path().join("e5-small-q4.bin"),
        &weights[..weights.len() / 2],
    )
    .unwrap();
    let out = anliegen(
        &["model", "info"],
        &[("ANLIEGEN__MODEL__DIR", dir.path().display().to_string())],
        None,
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("e5-small-q4.bin is corrupt"), "{err}");
    assert!(err.contains("anliegen model fetch"), "{err}");
}

#[test]
fn broken_catalogue_names_file_entry_and_problem() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalogue.toml");
    let demo = std::fs::read_to_string(repo().join("config/catalogue.toml")).unwrap();
    std::fs::write(
        &path,
        demo.replacen("department = \"tiefbau\"", "department = \"bauhof\"", 1),
    )
    .unwrap();
    let out = anliegen(&["catalogue", "check", path.to_str().unwrap()], &[], None);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{}: service '", path.display())),
        "{err}"
    );
    assert!(err.contains("unknown department 'bauhof'"), "{err}");

    let out = anliegen(&["catalogue", "check"], &[], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("67 services"));
}

#[test]
fn eval_command_reports_the_figures_as_json_and_as_a_table() {
    let data = tempfile::tempdir().unwrap();
    let env = [
        ("ANLIEGEN__DATA__DIR", data.path().display().to_string()),
        (
            "ANLIEGEN__DATABASE__URL",
            format!("sqlite://{}/a.db", data.path().display()),
        ),
    ];
    let topics = [
        ("licht", "Die Straßenlaterne {} ist dunkel"),
        ("muell", "Sperrmüll liegt illegal am Waldweg {}"),
        ("hund", "Frage zur Hundesteuer für Hund Nummer {}"),
    ];
    let mut train = String::from("id,text,category\n");
    let mut test = String::from("text,category\n");
    for i in 0..8 {
        for (label, text) in topics {
            train += &format!("{i},\"{}\",{label}\n", text.replace("{}", &i.to_string()));
        }
    }
    for (label, text) in topics {
        test += &format!("\"{}\",{label}\n", text.replace("{}", "neun"));
    }
    train += "99,\"ohne Kategorie\",\n";
    let (train_path, test_path) = (
        data.path().join("train.csv"),
        data.path().join("test.jsonl"),
    );
    std::fs::write(&train_path, train).unwrap();
    // The test file as JSON Lines: both formats are read.
    let jsonl: String = test
        .lines()
        .skip(1)
        .map(|l| {
            let (text, label) = l.rsplit_once(',').unwrap();
            format!(
                "{}\n",
                serde_json::json!({"text": text.trim_matches('"'), "category": label})
            )
        })
        .collect();
    std::fs::write(&test_path, jsonl).unwrap();
    let (train_arg, test_arg) = (
        train_path.display().to_string(),
        test_path.display().to_string(),
    );
    let args = [
        "eval", "--train", &train_arg, "--test", &test_arg, "--format", "json",
    ];

    let out = anliegen(&args, &env, None);
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eval_figures(&r);
    assert_eq!(
        (r["n_test"].as_u64(), r["n_train"].as_u64()),
        (Some(3), Some(24))
    );
    assert_eq!(r["skipped_train"], 1);
    assert_eq!(r["accuracy"], 1.0, "three plainly different topics: {r}");
    assert_eq!(r["redacted"], true);
    assert!(stderr(&out).contains("training"), "progress on stderr");

    let table = anliegen(&args[..5], &env, None);
    assert!(table.status.success(), "{}", stderr(&table));
    let table = String::from_utf8(table.stdout).unwrap();
    for line in [
        "accuracy",
        "macro-F1",
        "cross-validated on the training rows",
        "texts redacted first",
    ] {
        assert!(table.contains(line), "{line}: {table}");
    }

    let missing = anliegen(
        &[
            "eval",
            "--train",
            &train_arg,
            "--test",
            &test_arg,
            "--label-column",
            "dept",
        ],
        &env,
        None,
    );
    assert!(!missing.status.success());
    let err = stderr(&missing);
    assert!(
        err.contains("no column 'dept'") && err.contains("category"),
        "{err}"
    );
}
