//! `make bench`: how long training a model version takes (cross-validation, calibration and
//! the final model) for 5,000 labelled inquiries on this machine. Texts are the real
//! Konstanz reports (repeated with a numbered suffix to reach 5,000); their embeddings are
//! random unit vectors, since training cost does not depend on the vector values and the
//! model would otherwise dominate the run.

use std::time::Instant;

use anliegen::triage::classifier::{Classifier, ClassifierParams, LabelSet, Labelled};

const EXAMPLES: usize = 5000;

fn main() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/konstanz/train.csv"
    );
    let Ok(mut reader) = csv::Reader::from_path(path) else {
        println!("skipped: ../shared/data/konstanz/train.csv not found");
        return;
    };
    let rows: Vec<(String, String)> = reader
        .records()
        .filter_map(Result::ok)
        .map(|r| (r[2].to_string(), r[3].to_string()))
        .collect();
    let mut labels: Vec<String> = rows.iter().map(|r| r.1.clone()).collect();
    labels.sort();
    labels.dedup();
    let mut state = 0x2545f4914f6cdd1du64;
    let mut random = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let examples: Vec<Labelled> = (0..EXAMPLES)
        .map(|i| {
            let (text, label) = &rows[i % rows.len()];
            let mut v: Vec<f32> = (0..384).map(|_| random()).collect();
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter_mut().for_each(|x| *x /= n);
            Labelled {
                text: format!("{text} ({})", i / rows.len()),
                embedding: v,
                label: labels.binary_search(label).unwrap(),
                place: None,
                age_days: Some((EXAMPLES - i) as f32 / 10.0),
            }
        })
        .collect();
    let params = ClassifierParams::default();
    let started = Instant::now();
    let c = Classifier::train(
        &examples,
        LabelSet::by_family(labels.clone()),
        params,
        &|_, _| {},
    );
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(c.examples(), EXAMPLES);
    println!(
        "training a model version: {EXAMPLES} examples, {} classes, {}-fold calibration + final model: {seconds:.2} s ({} threads; target < 5 s on 2 cores)",
        labels.len(),
        params.folds,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    );
}
