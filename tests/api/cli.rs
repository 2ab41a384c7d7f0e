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

/// Exit codes (README, "Exit codes").
const USAGE: i32 = 2;
const CONFIG: i32 = 3;
const DATA: i32 = 4;
const UNAVAILABLE: i32 = 5;

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
    assert_eq!(
        out.status.code(),
        Some(UNAVAILABLE),
        "a dependency is unusable"
    );
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
    assert_eq!(out.status.code(), Some(DATA), "an input data error");
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

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The subcommands a `--help` text lists under "Commands:" (without `help`).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn every_subcommand_has_help_with_an_example() {
    let top = anliegen(&["--help"], &[], None);
    assert!(top.status.success(), "{}", stderr(&top));
    let top = stdout(&top);
    assert!(top.contains("Example"), "{top}");
    let mut pending: Vec<Vec<String>> = subcommands(&top).into_iter().map(|c| vec![c]).collect();
    assert!(pending.len() >= 14, "{top}");
    let mut seen = 0;
    let mut missing = Vec::new();
    while let Some(path) = pending.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let out = anliegen(&args, &[], None);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let help = stdout(&out);
        seen += 1;
        if !help.contains("Example") {
            missing.push(path.join(" "));
        }
        for sub in subcommands(&help) {
            let mut deeper = path.clone();
            deeper.push(sub);
            pending.push(deeper);
        }
    }
    assert!(seen >= 33, "every nested subcommand was visited: {seen}");
    assert!(missing.is_empty(), "without an example: {missing:?}");
}

#[test]
fn completions_name_every_subcommand_for_each_shell() {
    let top = stdout(&anliegen(&["--help"], &[], None));
    let commands = subcommands(&top);
    for shell in ["bash", "zsh", "fish"] {
        let out = anliegen(&["completions", shell], &[], None);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        assert!(script.len() > 1000, "{shell}: {script}");
        for command in &commands {
            assert!(script.contains(command.as_str()), "{shell} lacks {command}");
        }
        // Nested subcommands and options too.
        for word in ["set-password", "dry-run", "rollback"] {
            assert!(script.contains(word), "{shell} lacks {word}");
        }
    }
    let out = anliegen(&["completions", "tcsh"], &[], None);
    assert_eq!(out.status.code(), Some(USAGE), "{}", stderr(&out));
}

#[test]
fn a_bad_config_file_gives_the_config_exit_code_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("anliegen.toml");
    std::fs::write(&path, "[server\nbind = 7\n").unwrap();
    let config = path.display().to_string();
    let out = anliegen(&["--config", &config, "user", "list"], &[], None);
    assert_eq!(out.status.code(), Some(CONFIG), "{}", stderr(&out));
    assert!(stderr(&out).contains(&config), "{}", stderr(&out));

    let missing = dir.path().join("nowhere.toml").display().to_string();
    let out = anliegen(&["--config", &missing, "user", "list"], &[], None);
    assert_eq!(out.status.code(), Some(CONFIG), "{}", stderr(&out));
    assert!(stderr(&out).contains(&missing), "{}", stderr(&out));

    let out = anliegen(&["no-such-command"], &[], None);
    assert_eq!(out.status.code(), Some(USAGE), "{}", stderr(&out));
}

#[test]
fn a_broken_input_file_gives_the_data_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("ANLIEGEN__DATA__DIR", dir.path().display().to_string()),
        (
            "ANLIEGEN__DATABASE__URL",
            format!("sqlite://{}/a.db", dir.path().display()),
        ),
    ];
    let broken = dir.path().join("services.json");
    std::fs::write(&broken, "{\"data\": [ {\"id\": 1, ").unwrap();
    let file = broken.display().to_string();
    let out = anliegen(
        &[
            "catalogue",
            "import",
            "--format",
            "dldb",
            &file,
            "--dry-run",
        ],
        &env,
        None,
    );
    assert_eq!(out.status.code(), Some(DATA), "{}", stderr(&out));
    assert!(stderr(&out).contains(&file), "{}", stderr(&out));

    let data = dir.path().join("labelled.jsonl");
    std::fs::write(
        &data,
        "{\"text\": \"Laterne kaputt\", \"category\": \"strassen\"}\n{\"text\": \n",
    )
    .unwrap();
    let test = data.display().to_string();
    let out = anliegen(&["eval", "--train", &test, "--test", &test], &env, None);
    assert_eq!(out.status.code(), Some(DATA), "{}", stderr(&out));
    assert!(stderr(&out).contains(&test), "{}", stderr(&out));

    let missing = dir.path().join("missing.csv").display().to_string();
    let out = anliegen(
        &["eval", "--train", &missing, "--test", &missing],
        &env,
        None,
    );
    assert_eq!(out.status.code(), Some(DATA), "{}", stderr(&out));
}

/// README's exit-code table is the one the binary prints (`anliegen --help`).
#[test]
fn the_readme_documents_the_exit_codes_of_the_binary() {
    let help = stdout(&anliegen(&["--help"], &[], None));
    let table: Vec<(String, String)> = help
        .lines()
        .skip_while(|l| !l.starts_with("Exit codes:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| {
            let (code, meaning) = l.trim().split_once("  ").unwrap();
            (code.trim().to_string(), meaning.trim().to_string())
        })
        .collect();
    assert!(table.len() >= 6, "{help}");
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let documented: Vec<(String, String)> = readme
        .lines()
        .skip_while(|l| !l.contains("| Exit code |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            (cells[0].trim_matches('`').to_string(), cells[1].to_string())
        })
        .collect();
    assert_eq!(documented, table, "README.md, \"Exit codes\"");
}
