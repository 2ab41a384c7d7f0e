//! Evaluation harness for the redaction corpus: parses the hand-written
//! `input<TAB>expected` file and measures exact matches and per-kind recall.

use super::redact::{PiiKind, redact};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub input: String,
    pub expected: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindRecall {
    pub kind: PiiKind,
    pub expected: usize,
    pub found: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusReport {
    pub cases: usize,
    pub exact: usize,
    pub per_kind: Vec<KindRecall>,
    pub false_positives: usize,
}

/// Parses the corpus; blank lines and `#` comments are skipped. Errors name
/// the 1-based line so a broken fixture is easy to fix.
pub fn parse_corpus(tsv: &str) -> Result<Vec<Case>, String> {
    let mut cases = Vec::new();
    for (idx, line) in tsv.lines().enumerate() {
        let line_no = idx + 1;
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let mut cols = line.split('\t');
        let (Some(input), Some(expected), None) = (cols.next(), cols.next(), cols.next()) else {
            return Err(format!(
                "line {line_no}: expected exactly two tab-separated columns"
            ));
        };
        let input = unescape(input).map_err(|e| format!("line {line_no}: {e}"))?;
        let expected = unescape(expected).map_err(|e| format!("line {line_no}: {e}"))?;
        cases.push(Case { input, expected });
    }
    Ok(cases)
}

fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            other => {
                return Err(format!(
                    "unknown escape \\{}",
                    other.map_or(String::new(), String::from)
                ));
            }
        }
    }
    Ok(out)
}

/// Runs `redact` over every case. Placeholders are compared as per-line
/// multisets, so recall does not depend on the exact surrounding text.
pub fn evaluate(cases: &[Case]) -> CorpusReport {
    let kinds = PiiKind::all();
    let mut expected = vec![0; kinds.len()];
    let mut found = vec![0; kinds.len()];
    let mut exact = 0;
    let mut false_positives = 0;
    for case in cases {
        let actual = redact(&case.input).text;
        exact += usize::from(actual == case.expected);
        for (k, kind) in kinds.iter().enumerate() {
            let want = case.expected.matches(kind.placeholder()).count();
            let got = actual.matches(kind.placeholder()).count();
            expected[k] += want;
            found[k] += want.min(got);
            false_positives += got.saturating_sub(want);
        }
    }
    let per_kind = kinds
        .iter()
        .enumerate()
        .map(|(k, &kind)| KindRecall {
            kind,
            expected: expected[k],
            found: found[k],
        })
        .collect();
    CorpusReport {
        cases: cases.len(),
        exact,
        per_kind,
        false_positives,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Read at run time rather than with include_str!: a missing fixture then
    // fails this one test instead of the whole test build.
    const CORPUS_PATH: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/redaction/corpus.tsv"
    );

    #[test]
    fn parser_unescapes_and_reports_line_numbers() {
        let cases = parse_corpus("# header\na\\nb\tc\\td\\\\\n").unwrap();
        assert_eq!(cases[0].input, "a\nb");
        assert_eq!(cases[0].expected, "c\td\\");
        assert!(
            parse_corpus("ok\tok\nno tab here\n")
                .unwrap_err()
                .starts_with("line 2:")
        );
        assert!(
            parse_corpus("bad \\x\tok\n")
                .unwrap_err()
                .starts_with("line 1:")
        );
    }

    #[test]
    fn corpus_is_redacted_as_expected() {
        let tsv = std::fs::read_to_string(CORPUS_PATH).expect("redaction corpus fixture");
        let cases = parse_corpus(&tsv).unwrap();
        assert!(cases.len() >= 110, "corpus too small: {}", cases.len());
        let mismatches: Vec<String> = cases
            .iter()
            .filter_map(|c| {
                let got = redact(&c.input).text;
                (got != c.expected).then(|| {
                    format!(
                        "  input:    {}\n  expected: {}\n  got:      {got}",
                        c.input, c.expected
                    )
                })
            })
            .collect();
        let report = evaluate(&cases);
        for k in &report.per_kind {
            let recall = k.found as f64 / k.expected.max(1) as f64;
            eprintln!(
                "{:<14} {:>3}/{:<3} recall {recall:.3}",
                k.kind.as_str(),
                k.found,
                k.expected
            );
            assert!(
                k.expected >= 8,
                "{} covered only {} times",
                k.kind.as_str(),
                k.expected
            );
            assert!(recall >= 0.95, "{} recall {recall:.3}", k.kind.as_str());
        }
        eprintln!(
            "exact {}/{}, false positives {}",
            report.exact, report.cases, report.false_positives
        );
        assert!(
            mismatches.is_empty(),
            "{} mismatches:\n{}",
            mismatches.len(),
            mismatches.join("\n")
        );
        assert_eq!(report.false_positives, 0);
    }
}
