//! `anliegen eval --replay`: what a labelled history would have looked like in operation.
//! The rows are replayed in time order: after a training period (or from the catalogue
//! alone: a cold start), each period's inquiries (a week by default) are routed by the
//! current version, counted as auto-routed or reviewed and as right or wrong, and then
//! their true labels go in as clerk reviews and a new version is trained — through
//! [`train_version`] on a scratch store, the function a review's retraining calls in the
//! service. The figures per month are what a municipality would have experienced with
//! clerks correcting as they go.
//!
//! One difference to the service is deliberate: every version routes at once, where the
//! service keeps the catalogue scorer until `triage.min_labelled_examples` real labelled
//! inquiries exist and holds a version that would change many recent routes for an admin.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use chrono::{Datelike, Duration, NaiveDate};
use serde::Serialize;

use super::{
    TriageError,
    cache::embed_cached,
    classifier::{ClassifierParams, argmax},
    dataset::{self, Columns, Row},
    eval::{EvalError, Progress},
    training::{Activation, train_version},
};
use crate::{
    domain::{Catalogue, Department, Meta, Service},
    embed::Embedder,
    store::{NewExample, Store},
};

#[derive(Debug, Clone)]
pub struct ReplayRequest {
    /// Labelled files with a date column, replayed together in time order.
    pub data: Vec<PathBuf>,
    /// Text, label and date columns (the date is required), and the place's if any.
    pub columns: Columns,
    /// Rows before this day train the first version; `None`: a cold start from the
    /// catalogue alone.
    pub train_until: Option<NaiveDate>,
    /// Length of a replay period in days (7: a week).
    pub period_days: u32,
    pub params: ClassifierParams,
    /// Redact the texts first, as the service does.
    pub redact: bool,
    /// The catalogue whose services the labels name (by id or by name). `None`: each
    /// distinct label becomes a service named by it.
    pub catalogue: Option<Catalogue>,
    /// Where the scratch store lives while the replay runs (removed afterwards).
    pub scratch_dir: PathBuf,
}

#[derive(Debug, Clone, Serialize)]
pub struct Period {
    pub start: NaiveDate,
    /// The version that routed the period, its one threshold for all services (`None`:
    /// none meets the budget; routing uses the groups' thresholds), the groups with a
    /// threshold of their own, and the labelled inquiries it had learnt from.
    pub version: i64,
    pub threshold: Option<f32>,
    pub groups_routing: usize,
    pub labelled: usize,
    #[serde(flatten)]
    pub tally: Tally,
}

#[derive(Debug, Clone, Serialize)]
pub struct Month {
    /// `YYYY-MM`.
    pub month: String,
    #[serde(flatten)]
    pub tally: Tally,
    pub accuracy: f64,
    pub auto_share: f64,
    pub misroute_rate: f64,
}

#[derive(Debug, Serialize)]
pub struct ReplayResult {
    pub classes: usize,
    pub training_rows: usize,
    pub replayed_rows: usize,
    /// Rows without a label or text, without a date, or with a label the catalogue lacks.
    pub skipped: usize,
    pub undated: usize,
    pub unknown_labels: Vec<String>,
    /// The first and last day replayed (after the training period).
    pub first_day: Option<NaiveDate>,
    pub last_day: Option<NaiveDate>,
    pub period_days: u32,
    pub cold_start: bool,
    pub redacted: bool,
    pub max_misroute_rate: f32,
    pub trainings: usize,
    pub train_seconds: f32,
    pub periods: Vec<Period>,
    pub months: Vec<Month>,
    pub total: Month,
    /// The key figure of the JSON output: accuracy, auto-route share and misroute rate
    /// over the whole replay.
    pub accuracy: f64,
    pub auto_share: f64,
    pub misroute_rate: f64,
}

/// Removes the scratch store when the replay ends, however it ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The catalogue the replay trains against and each row's service id: the given one
/// (labels are its ids or names), or one service per distinct label.
fn catalogue_for(
    rows: &[Row],
    given: Option<Catalogue>,
) -> Result<(Catalogue, BTreeMap<String, String>), EvalError> {
    let mut labels: Vec<&str> = rows.iter().map(|r| r.label.as_str()).collect();
    labels.sort_unstable();
    labels.dedup();
    if let Some(c) = given {
        let ids = labels
            .iter()
            .filter_map(|l| {
                let s = c.service(l).or_else(|| {
                    c.services
                        .iter()
                        .find(|s| s.name.trim().eq_ignore_ascii_case(l.trim()))
                })?;
                Some((l.to_string(), s.id.clone()))
            })
            .collect();
        return Ok((c, ids));
    }
    let services: Vec<Service> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| Service {
            id: format!("label-{i:04}"),
            name: l.to_string(),
            department: "replay".into(),
            description: l.to_string(),
            leika: None,
            leika_name: None,
            keywords: Vec::new(),
            examples: Vec::new(),
            offices: Vec::new(),
            facts: Default::default(),
            family: Some(crate::triage::classifier::family(l).to_string()),
            auto_route: true,
        })
        .collect();
    let ids = services
        .iter()
        .map(|s| (s.name.clone(), s.id.clone()))
        .collect();
    let department = Department {
        id: "replay".into(),
        name: "Replay".into(),
        mailbox: String::new(),
        description: String::new(),
        area: None,
    };
    let meta = Meta {
        name: "labels of the replayed files".into(),
        language: "de".into(),
        source: None,
    };
    let catalogue = Catalogue::from_parts(meta, vec![department], Vec::new(), services, "replay")
        .map_err(|e| EvalError::Empty(e.to_string()))?;
    Ok((catalogue, ids))
}

pub async fn replay(
    req: &ReplayRequest,
    embedder: &Embedder,
    store: &Store,
    progress: Progress<'_>,
) -> Result<ReplayResult, EvalError> {
    if req.columns.date.is_none() {
        return Err(EvalError::Empty("the replay needs a date column".into()));
    }
    let mut rows = Vec::new();
    let mut skipped = 0;
    for path in &req.data {
        let d = dataset::load(path, &req.columns)?;
        skipped += d.skipped;
        rows.extend(d.rows);
    }
    let undated = rows.iter().filter(|r| r.date.is_none()).count();
    rows.retain(|r| r.date.is_some());
    // Stable: rows of one day keep their order in the files.
    rows.sort_by_key(|r| r.date);
    if req.redact {
        for r in &mut rows {
            r.text = crate::privacy::redact::redact(&r.text).text;
        }
    }
    let (catalogue, ids) = catalogue_for(&rows, req.catalogue.clone())?;
    let mut unknown_labels: Vec<String> = rows
        .iter()
        .filter(|r| !ids.contains_key(&r.label))
        .map(|r| r.label.clone())
        .collect();
    unknown_labels.sort();
    unknown_labels.dedup();
    let before = rows.len();
    rows.retain(|r| ids.contains_key(&r.label));
    skipped += before - rows.len() + undated;
    if rows.is_empty() {
        return Err(EvalError::Empty("no dated, labelled rows to replay".into()));
    }

    // Every text, the catalogue's too, once through the model (the service's cache), then
    // into the scratch store's cache, so the trainings below embed nothing.
    let mut texts: Vec<String> = rows.iter().map(|r| r.text.clone()).collect();
    texts.extend(
        super::catalogue_index::documents(&catalogue)
            .into_iter()
            .map(|d| d.text),
    );
    let vectors =
        embed_cached(embedder, store, &texts, &|d, t| progress("embedding", d, t)).await?;
    let scratch_path = req.scratch_dir.join(format!(
        "replay-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    let _scratch = Scratch(scratch_path.clone());
    let scratch = Store::open(&sqlite_url(&scratch_path.join("replay.db")))
        .await
        .map_err(TriageError::from)?;
    let model = embedder.info().id.clone();
    let entries: Vec<(String, Vec<f32>)> = texts
        .iter()
        .map(|t| super::cache::text_hash(t))
        .zip(vectors.iter().cloned())
        .collect();
    scratch
        .cache_embeddings(&model, &entries)
        .await
        .map_err(TriageError::from)?;

    let activation = Activation {
        min_labelled: 0,
        max_change: 1.0,
        keep_versions: 1,
    };
    let learn = async |from: usize, to: usize| -> Result<(), TriageError> {
        let examples: Vec<NewExample> = rows[from..to]
            .iter()
            .map(|r| NewExample {
                text: &r.text,
                service_id: &ids[&r.label],
                source: "review",
                inquiry_id: None,
                actor: Some("replay"),
                reason: None,
                place: r.place,
                at: r.labelled_at(),
            })
            .collect();
        scratch.add_training_examples(&examples).await?;
        Ok(())
    };

    let first_replayed = match req.train_until {
        Some(day) => rows.partition_point(|r| r.date < Some(day)),
        None => 0,
    };
    learn(0, first_replayed).await?;
    let mut trainings = 0;
    let mut train_seconds = 0.0;
    let mut trained = train_version(&catalogue, embedder, &scratch, req.params, activation).await?;
    trainings += 1;
    train_seconds += trained.seconds;

    let step = Duration::days(i64::from(req.period_days.max(1)));
    let mut periods = Vec::new();
    let mut months: BTreeMap<String, Tally> = BTreeMap::new();
    let mut at = first_replayed;
    let total_rows = rows.len() - first_replayed;
    let mut start = rows.get(at).and_then(|r| r.date);
    while let Some(period_start) = start {
        let end = period_start + step;
        let until = at + rows[at..].partition_point(|r| r.date < Some(end));
        let classifier = &trained.scorer.classifier;
        let threshold = classifier.auto_threshold;
        let groups_routing = classifier
            .thresholds
            .iter()
            .filter(|t| t.threshold.is_some())
            .count();
        let mut tally = Tally::default();
        for (r, v) in rows[at..until].iter().zip(&vectors[at..until]) {
            let p = classifier.predict(&r.text, v, r.place);
            let top = argmax(&p);
            let correct = classifier.labels.get(top) == ids.get(&r.label);
            let auto = classifier.auto_routes(&p);
            tally.add(correct, auto);
            let day = r.date.expect("dated rows only");
            months
                .entry(format!("{:04}-{:02}", day.year(), day.month()))
                .or_default()
                .add(correct, auto);
        }
        if tally.inquiries > 0 {
            periods.push(Period {
                start: period_start,
                version: trained.version,
                threshold,
                groups_routing,
                labelled: trained.labelled,
                tally,
            });
            learn(at, until).await?;
            trained = train_version(&catalogue, embedder, &scratch, req.params, activation).await?;
            trainings += 1;
            train_seconds += trained.seconds;
        }
        progress("replay", until - first_replayed, total_rows);
        at = until;
        start = (at < rows.len()).then_some(end);
    }
    drop(scratch);

    let month = |name: String, tally: Tally| Month {
        month: name,
        accuracy: tally.accuracy(),
        auto_share: tally.auto_share(),
        misroute_rate: tally.misroute_rate(),
        tally,
    };
    let mut total = Tally::default();
    for t in months.values() {
        total.merge(t);
    }
    let total = month("total".into(), total);
    Ok(ReplayResult {
        classes: catalogue.services.len(),
        training_rows: first_replayed,
        replayed_rows: total_rows,
        skipped,
        undated,
        unknown_labels,
        first_day: rows.get(first_replayed).and_then(|r| r.date),
        last_day: rows.last().and_then(|r| r.date),
        period_days: req.period_days,
        cold_start: req.train_until.is_none() || first_replayed == 0,
        redacted: req.redact,
        max_misroute_rate: req.params.max_misroute_rate,
        trainings,
        train_seconds,
        periods,
        months: months.into_iter().map(|(m, t)| month(m, t)).collect(),
        accuracy: total.accuracy,
        auto_share: total.auto_share,
        misroute_rate: total.misroute_rate,
        total,
    })
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

mod table;
mod tally;

pub use tally::Tally;
#[cfg(test)]
mod tests;
