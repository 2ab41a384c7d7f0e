//! Fixture-driven tests: every message in `tests/fixtures/eml` is parsed and checked against
//! `expected.toml` (and every `.eml` there must be listed, so nothing goes untested), cut-off
//! copies of the fixtures must not panic, and — when the shared real-world corpus
//! `../shared/data/mail-corpus` exists — every message in it is parsed for robustness.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use serde::Deserialize;

use super::{
    INTERNAL_ERROR, Limits, Outcome, ParsedEmail, case_number_in_subject, parse, parse_unguarded,
};

const FIXTURE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/eml");
const CORPUS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/mail-corpus");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    fixture: Vec<Fixture>,
}

/// One `[[fixture]]` entry; every field except `file` and `outcome` is optional.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    file: String,
    outcome: String,
    subject: Option<String>,
    from_address: Option<String>,
    from_name: Option<String>,
    reply_to_address: Option<String>,
    message_id: Option<String>,
    in_reply_to: Option<Vec<String>>,
    date: Option<String>,
    language_hint: Option<String>,
    #[serde(default)]
    clean_contains: Vec<String>,
    #[serde(default)]
    clean_excludes: Vec<String>,
    attachments: Option<usize>,
    #[serde(default)]
    attachment_text_contains: Vec<String>,
    case_number: Option<String>,
    forwarded: Option<bool>,
    truncated: Option<bool>,
    reason_contains: Option<String>,
    // Per-fixture limit overrides, so that limits can be tested with small files.
    max_bytes: Option<usize>,
    max_parts: Option<usize>,
    max_attachment_chars: Option<usize>,
}

impl Fixture {
    fn limits(&self) -> Limits {
        let d = Limits::default();
        Limits {
            max_bytes: self.max_bytes.unwrap_or(d.max_bytes),
            max_parts: self.max_parts.unwrap_or(d.max_parts),
            max_attachment_chars: self.max_attachment_chars.unwrap_or(d.max_attachment_chars),
            ..d
        }
    }

    /// All mismatches between the parse result and this entry.
    fn check(&self, p: &ParsedEmail) -> Vec<String> {
        let mut errors = Vec::new();
        let mut expect = |ok: bool, what: String| {
            if !ok {
                errors.push(what);
            }
        };
        let outcome = serde_json::to_value(&p.outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string));
        expect(
            outcome.as_deref() == Some(self.outcome.as_str()),
            format!("outcome {outcome:?}, reason {:?}", p.reason),
        );
        let same = |want: &Option<String>, got: &Option<String>| want.is_none() || want == got;
        expect(
            same(&self.subject, &p.subject),
            format!("subject {:?}", p.subject),
        );
        expect(
            same(&self.from_address, &p.from_address),
            format!("from_address {:?}", p.from_address),
        );
        expect(
            same(&self.from_name, &p.from_name),
            format!("from_name {:?}", p.from_name),
        );
        expect(
            same(&self.reply_to_address, &p.reply_to_address),
            format!("reply_to {:?}", p.reply_to_address),
        );
        expect(
            same(&self.message_id, &p.message_id),
            format!("message_id {:?}", p.message_id),
        );
        expect(same(&self.date, &p.date), format!("date {:?}", p.date));
        expect(
            same(&self.language_hint, &p.language_hint),
            format!("language_hint {:?}", p.language_hint),
        );
        if let Some(want) = &self.in_reply_to {
            expect(
                want == &p.in_reply_to,
                format!("in_reply_to {:?}", p.in_reply_to),
            );
        }
        for s in &self.clean_contains {
            expect(
                p.body_clean.contains(s.as_str()),
                format!("body_clean lacks {s:?}:\n{}", p.body_clean),
            );
        }
        for s in &self.clean_excludes {
            expect(
                !p.body_clean.contains(s.as_str()),
                format!("body_clean has {s:?}:\n{}", p.body_clean),
            );
        }
        if let Some(n) = self.attachments {
            expect(
                p.attachments.len() == n,
                format!("attachments {:?}", p.attachments),
            );
        }
        for s in &self.attachment_text_contains {
            let found = p.attachments.iter().any(|a| {
                a.extracted_text
                    .as_deref()
                    .is_some_and(|t| t.contains(s.as_str()))
            });
            expect(
                found,
                format!("no attachment text contains {s:?}: {:?}", p.attachments),
            );
        }
        if let Some(want) = &self.case_number {
            let got = p.subject.as_deref().and_then(case_number_in_subject);
            expect(got.as_ref() == Some(want), format!("case number {got:?}"));
        }
        if let Some(want) = self.forwarded {
            expect(p.forwarded == want, format!("forwarded {}", p.forwarded));
        }
        if let Some(want) = self.truncated {
            expect(
                p.truncated == want,
                format!("truncated {}, reason {:?}", p.truncated, p.reason),
            );
        }
        if let Some(want) = &self.reason_contains {
            expect(
                p.reason
                    .as_deref()
                    .is_some_and(|r| r.contains(want.as_str())),
                format!("reason {:?}", p.reason),
            );
        }
        errors
    }
}

fn load_expected() -> Expected {
    let path = Path::new(FIXTURE_DIR).join("expected.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read_fixture(file: &str) -> Vec<u8> {
    let path = Path::new(FIXTURE_DIR).join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Invariants every parse result must satisfy, whatever the input.
fn assert_explained(p: &ParsedEmail, what: &str) {
    match p.outcome {
        Outcome::Inquiry => assert!(
            !p.body_clean.trim().is_empty(),
            "{what}: inquiry without text"
        ),
        _ => assert!(
            p.reason.as_deref().is_some_and(|r| !r.is_empty()),
            "{what}: {:?} without reason",
            p.outcome
        ),
    }
    assert_ne!(
        p.reason.as_deref(),
        Some(INTERNAL_ERROR),
        "{what}: the parser panicked"
    );
}

#[test]
fn every_fixture_file_is_listed() {
    let expected = load_expected();
    let listed: Vec<&str> = expected.fixture.iter().map(|f| f.file.as_str()).collect();
    let listed_set: BTreeSet<&str> = listed.iter().copied().collect();
    assert_eq!(
        listed.len(),
        listed_set.len(),
        "a fixture is listed twice in expected.toml"
    );
    let on_disk: BTreeSet<String> = std::fs::read_dir(FIXTURE_DIR)
        .expect("fixture directory")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".eml"))
        .collect();
    let on_disk: BTreeSet<&str> = on_disk.iter().map(String::as_str).collect();
    assert_eq!(
        on_disk, listed_set,
        "expected.toml and the .eml files differ"
    );
    assert!(listed.len() >= 32, "only {} fixtures", listed.len());
}

#[test]
fn fixtures_match_expectations() {
    let mut failures = Vec::new();
    for fixture in load_expected().fixture {
        assert!(
            fixture.outcome != "inquiry" || !fixture.clean_contains.is_empty(),
            "{}: an inquiry fixture needs clean_contains",
            fixture.file
        );
        let parsed = parse_unguarded(&read_fixture(&fixture.file), &fixture.limits());
        assert_explained(&parsed, &fixture.file);
        failures.extend(
            fixture
                .check(&parsed)
                .into_iter()
                .map(|e| format!("{}: {e}", fixture.file)),
        );
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn cut_off_fixtures_never_panic() {
    let limits = Limits {
        max_parts: 10,
        max_attachment_chars: 2_000,
        ..Limits::default()
    };
    for fixture in load_expected().fixture {
        let raw = read_fixture(&fixture.file);
        for k in 1..12 {
            let cut = &raw[..raw.len() * k / 12];
            assert_explained(
                &parse_unguarded(cut, &limits),
                &format!("{} cut at {}", fixture.file, cut.len()),
            );
        }
    }
}

fn collect_eml(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_eml(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("eml"))
        {
            out.push(path);
        }
    }
}

#[test]
fn shared_mail_corpus() {
    let dir = Path::new(CORPUS_DIR);
    if !dir.is_dir() {
        crate::skip_missing_input("../shared/data/mail-corpus not found");
        return;
    }
    let mut files = Vec::new();
    collect_eml(dir, &mut files);
    files.sort();
    assert!(!files.is_empty(), "mail-corpus has no .eml files");
    // Parse on a worker thread so that a hang fails the test with the file's name instead
    // of stalling the whole run.
    let (tx, rx) = mpsc::channel();
    let worker_files = files.clone();
    std::thread::spawn(move || {
        for path in worker_files {
            let raw = std::fs::read(&path).unwrap_or_default();
            let result = std::panic::catch_unwind(|| parse(&raw, &Limits::default()));
            if tx.send((path, result)).is_err() {
                return;
            }
        }
    });
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    for expected_path in &files {
        let (path, result) = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("{}: parse did not finish", expected_path.display()));
        let parsed = result.unwrap_or_else(|_| panic!("{}: parse panicked", path.display()));
        assert_explained(&parsed, &path.display().to_string());
        let outcome = serde_json::to_value(&parsed.outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string));
        *tally.entry(outcome.unwrap_or_default()).or_default() += 1;
    }
    let summary: Vec<String> = tally.iter().map(|(k, v)| format!("{k}={v}")).collect();
    eprintln!(
        "mail-corpus: {} messages: {}",
        files.len(),
        summary.join(", ")
    );
}
