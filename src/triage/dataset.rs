//! Labelled inquiry files for training and evaluation: CSV (with a header row) or JSON Lines
//! (`.jsonl`/`.ndjson`), with the text and label columns named by the caller. Rows with an
//! empty label are skipped and counted; a missing column names the file and the columns
//! that exist.

use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub text: String,
    pub label: String,
}

#[derive(Debug, Default)]
pub struct Dataset {
    pub rows: Vec<Row>,
    /// Rows skipped because their label (or text) was empty.
    pub skipped: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("{path}: {message}")]
    Read { path: String, message: String },
    #[error("{path}: no column '{column}' (columns: {available})")]
    MissingColumn {
        path: String,
        column: String,
        available: String,
    },
}

impl Dataset {
    /// Adds a row, or counts it as skipped when its text or label is empty.
    pub fn push(&mut self, text: &str, label: &str) {
        let (text, label) = (text.trim(), label.trim());
        if text.is_empty() || label.is_empty() {
            self.skipped += 1;
        } else {
            self.rows.push(Row {
                text: text.to_string(),
                label: label.to_string(),
            });
        }
    }
}

pub fn load(path: &Path, text_column: &str, label_column: &str) -> Result<Dataset, DatasetError> {
    let display = path.display().to_string();
    let read = |message: String| DatasetError::Read {
        path: display.clone(),
        message,
    };
    let jsonl = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e, "jsonl" | "ndjson"));
    let mut data = Dataset::default();
    let mut push = |text: &str, label: &str| data.push(text, label);
    if jsonl {
        let content = std::fs::read_to_string(path).map_err(|e| read(e.to_string()))?;
        for (n, line) in content
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let v: serde_json::Value =
                serde_json::from_str(line).map_err(|e| read(format!("line {}: {e}", n + 1)))?;
            let field = |c: &str| match &v[c] {
                serde_json::Value::String(s) => Ok(s.clone()),
                serde_json::Value::Null => Err(DatasetError::MissingColumn {
                    path: display.clone(),
                    column: c.to_string(),
                    available: v
                        .as_object()
                        .map(|o| o.keys().cloned().collect::<Vec<_>>().join(", "))
                        .unwrap_or_default(),
                }),
                other => Ok(other.to_string()),
            };
            push(
                &field(text_column)?,
                &field(label_column).unwrap_or_default(),
            );
        }
    } else {
        let mut reader = csv::Reader::from_path(path).map_err(|e| read(e.to_string()))?;
        let headers = reader.headers().map_err(|e| read(e.to_string()))?.clone();
        let column = |c: &str| {
            headers
                .iter()
                .position(|h| h == c)
                .ok_or_else(|| DatasetError::MissingColumn {
                    path: display.clone(),
                    column: c.to_string(),
                    available: headers.iter().collect::<Vec<_>>().join(", "),
                })
        };
        let (t, l) = (column(text_column)?, column(label_column)?);
        for (n, record) in reader.records().enumerate() {
            let record = record.map_err(|e| read(format!("record {}: {e}", n + 1)))?;
            push(record.get(t).unwrap_or(""), record.get(l).unwrap_or(""));
        }
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_quoted_newlines_and_empty_labels() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.csv");
        std::fs::write(
            &p,
            "id,text,category\n1,\"Lampe\nkaputt\",Licht\n2,Sperrmüll,\n3,Loch,Straße\n",
        )
        .unwrap();
        let d = load(&p, "text", "category").unwrap();
        assert_eq!(d.rows.len(), 2);
        assert_eq!(d.skipped, 1);
        assert_eq!(
            d.rows[0],
            Row {
                text: "Lampe\nkaputt".into(),
                label: "Licht".into()
            }
        );
        let err = load(&p, "body", "category").unwrap_err().to_string();
        assert!(
            err.ends_with("no column 'body' (columns: id, text, category)"),
            "{err}"
        );
    }

    #[test]
    fn jsonl_rows() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.jsonl");
        std::fs::write(
            &p,
            "{\"t\": \"a\", \"l\": \"x\"}\n\n{\"t\": \"b\", \"l\": null}\n",
        )
        .unwrap();
        let d = load(&p, "t", "l").unwrap();
        assert_eq!((d.rows.len(), d.skipped), (1, 1));
        std::fs::write(&p, "{broken\n").unwrap();
        assert!(
            load(&p, "t", "l")
                .unwrap_err()
                .to_string()
                .contains("line 1")
        );
    }
}
