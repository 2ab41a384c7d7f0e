//! Labelled inquiry files for training and evaluation: CSV (with a header row) or JSON Lines
//! (`.jsonl`/`.ndjson`), with the text and label columns named by the caller. Rows with an
//! empty label are skipped and counted; a missing column names the file and the columns
//! that exist. Optional latitude and longitude columns give each row its place, an optional
//! date column its day (`YYYY-MM-DD`, a longer timestamp is cut to its day).

use std::path::Path;

use chrono::NaiveDate;

use crate::domain::GeoPoint;

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub text: String,
    pub label: String,
    /// The place the row is about, when the file has coordinates for it.
    pub place: Option<GeoPoint>,
    /// The day the inquiry came in, when the file has a date column and the cell a date.
    pub date: Option<NaiveDate>,
}

impl Row {
    /// The row's day as the moment its label was given (midnight UTC).
    pub fn labelled_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.date
            .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
    }
}

/// The columns to read: text and label, and optionally the place's latitude and longitude.
#[derive(Debug, Clone)]
pub struct Columns {
    pub text: String,
    pub label: String,
    pub lat: Option<String>,
    pub lon: Option<String>,
    pub date: Option<String>,
}

impl Columns {
    pub fn new(text: &str, label: &str) -> Self {
        Self {
            text: text.into(),
            label: label.into(),
            lat: None,
            lon: None,
            date: None,
        }
    }
}

/// The day of a date cell (`2021-03-04`, `2021-03-04T10:00:00Z`, `2021-03-04 10:00`).
fn day(cell: &str) -> Option<NaiveDate> {
    let cell = cell.trim();
    NaiveDate::parse_from_str(cell.get(..10)?, "%Y-%m-%d").ok()
}

/// A point from two cells; blank, unparsable or out-of-range coordinates are no place.
fn place(lat: &str, lon: &str) -> Option<GeoPoint> {
    let (lat, lon) = (
        lat.trim().parse::<f64>().ok()?,
        lon.trim().parse::<f64>().ok()?,
    );
    (lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0)
        .then_some(GeoPoint { lat, lon })
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
        self.push_at(text, label, None);
    }

    /// Like [`Dataset::push`], with the row's place.
    pub fn push_at(&mut self, text: &str, label: &str, place: Option<GeoPoint>) {
        self.push_dated(text, label, place, None);
    }

    /// Like [`Dataset::push_at`], with the row's day.
    pub fn push_dated(
        &mut self,
        text: &str,
        label: &str,
        place: Option<GeoPoint>,
        date: Option<NaiveDate>,
    ) {
        let (text, label) = (text.trim(), label.trim());
        if text.is_empty() || label.is_empty() {
            self.skipped += 1;
        } else {
            self.rows.push(Row {
                text: text.to_string(),
                label: label.to_string(),
                place,
                date,
            });
        }
    }
}

pub fn load(path: &Path, columns: &Columns) -> Result<Dataset, DatasetError> {
    let (text_column, label_column) = (columns.text.as_str(), columns.label.as_str());
    let place_columns = columns.lat.as_deref().zip(columns.lon.as_deref());
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
    let mut push = |text: &str, label: &str, at: Option<GeoPoint>, date: Option<NaiveDate>| {
        data.push_dated(text, label, at, date)
    };
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
            let at = match place_columns {
                Some((lat, lon)) => place(
                    &field(lat).unwrap_or_default(),
                    &field(lon).unwrap_or_default(),
                ),
                None => None,
            };
            let date = match &columns.date {
                Some(c) => day(&field(c)?),
                None => None,
            };
            push(
                &field(text_column)?,
                &field(label_column).unwrap_or_default(),
                at,
                date,
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
        let place_at = place_columns
            .map(|(lat, lon)| Ok::<_, DatasetError>((column(lat)?, column(lon)?)))
            .transpose()?;
        let date_at = columns.date.as_deref().map(column).transpose()?;
        for (n, record) in reader.records().enumerate() {
            let record = record.map_err(|e| read(format!("record {}: {e}", n + 1)))?;
            let cell = |i: usize| record.get(i).unwrap_or("");
            let at = place_at.and_then(|(lat, lon)| place(cell(lat), cell(lon)));
            push(cell(t), cell(l), at, date_at.and_then(|d| day(cell(d))));
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
        let d = load(&p, &Columns::new("text", "category")).unwrap();
        assert_eq!(d.rows.len(), 2);
        assert_eq!(d.skipped, 1);
        assert_eq!(
            d.rows[0],
            Row {
                text: "Lampe\nkaputt".into(),
                label: "Licht".into(),
                place: None,
                date: None,
            }
        );
        let err = load(&p, &Columns::new("body", "category"))
            .unwrap_err()
            .to_string();
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
        let d = load(&p, &Columns::new("t", "l")).unwrap();
        assert_eq!((d.rows.len(), d.skipped), (1, 1));
        std::fs::write(&p, "{broken\n").unwrap();
        assert!(
            load(&p, &Columns::new("t", "l"))
                .unwrap_err()
                .to_string()
                .contains("line 1")
        );
    }

    #[test]
    fn days_from_a_date_column() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.csv");
        std::fs::write(
            &p,
            "text,label,date\nLampe,Licht,2021-03-04\nLoch,Straße,2021-03-05T10:00:00Z\nBank,Park,gestern\n",
        )
        .unwrap();
        let columns = Columns {
            date: Some("date".into()),
            ..Columns::new("text", "label")
        };
        let days: Vec<_> = load(&p, &columns)
            .unwrap()
            .rows
            .into_iter()
            .map(|r| r.date.map(|d| d.to_string()))
            .collect();
        assert_eq!(
            days,
            [Some("2021-03-04".into()), Some("2021-03-05".into()), None]
        );
        let missing = Columns {
            date: Some("when".into()),
            ..Columns::new("text", "label")
        };
        assert!(
            load(&p, &missing)
                .unwrap_err()
                .to_string()
                .contains("no column 'when'")
        );
    }

    #[test]
    fn places_from_coordinate_columns() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.csv");
        std::fs::write(
            &p,
            "text,label,lat,lon\nLampe,Licht,47.68,9.16\nLoch,Straße,,\nBank,Park,95,9\n",
        )
        .unwrap();
        let columns = Columns {
            lat: Some("lat".into()),
            lon: Some("lon".into()),
            ..Columns::new("text", "label")
        };
        let d = load(&p, &columns).unwrap();
        assert_eq!(
            d.rows[0].place,
            Some(GeoPoint {
                lat: 47.68,
                lon: 9.16
            })
        );
        assert_eq!((d.rows[1].place, d.rows[2].place), (None, None));
        let missing = Columns {
            lat: Some("latitude".into()),
            ..columns.clone()
        };
        assert!(
            load(&p, &missing)
                .unwrap_err()
                .to_string()
                .contains("'latitude'")
        );
        let j = dir.path().join("d.jsonl");
        std::fs::write(
            &j,
            "{\"text\": \"a\", \"label\": \"x\", \"lat\": 47.5, \"lon\": 9.1}\n",
        )
        .unwrap();
        let d = load(&j, &columns).unwrap();
        assert_eq!(
            d.rows[0].place,
            Some(GeoPoint {
                lat: 47.5,
                lon: 9.1
            })
        );
    }
}
