//! What several benches share: the texts of a labelled CSV file.

use std::path::Path;

/// The `text` column of a CSV file (the Konstanz inquiries of `../shared/data/konstanz/`).
pub fn read_texts(path: &Path) -> Vec<String> {
    let mut reader = csv::Reader::from_path(path).expect("readable CSV");
    let column = reader
        .headers()
        .expect("CSV header")
        .iter()
        .position(|h| h == "text")
        .expect("a `text` column");
    reader
        .records()
        .map(|r| r.expect("CSV record")[column].to_string())
        .collect()
}
