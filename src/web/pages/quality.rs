//! The quality page (`/admin/quality`): how well routing works, from two sources.
//! The active model version's cross-validation figures (reliability diagram, coverage vs
//! misroute rate with the chosen auto-routing threshold, per-service precision/recall, the
//! most confused pairs) and the clerks' real decisions since (auto-route rate and
//! clerk-found misroutes per week — the live misroute rate is the share of auto-routed
//! inquiries a clerk later re-routed — volume per department per week, the pairs clerks
//! corrected). Every plot is hand-written SVG with the same numbers in a table; without
//! data the page says so in words.

use std::collections::BTreeMap;

use askama::Template;
use axum::{
    extract::State,
    http::{Method, StatusCode},
    response::Response,
};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::Deserialize;

use super::{
    chrome::{Chrome, Lang, render},
    quality_svg::{Chart, Series, count_ticks, percent_ticks},
};
use crate::{
    domain::Catalogue,
    store::{ModelVersion, QualityRecord},
    triage::{
        calibration::{ReliabilityBin, RiskPoint},
        classifier::GroupThreshold,
        metrics::Report,
    },
    web::{ApiError, AppState, routes::Route},
};

/// Weeks of clerk decisions the page looks back on.
pub const WEEKS: i64 = 12;
/// The drift check: the most recent weeks it judges, and the fewest auto-routed inquiries
/// in them before a live misroute rate counts.
pub const DRIFT_WEEKS: usize = 4;
pub const DRIFT_MIN_AUTO_ROUTED: usize = 20;

pub fn routes() -> Vec<Route> {
    vec![Route::admin(Method::GET, "/admin/quality", quality)]
}

/// What a model version stores about itself (`triage::training`); the curves only exist
/// for versions trained since they were recorded.
#[derive(Deserialize, Default)]
struct Figures {
    cross_validation: Option<Report>,
    auto_threshold: Option<f32>,
    max_misroute_rate: Option<f32>,
    #[serde(default)]
    reliability: Vec<ReliabilityBin>,
    #[serde(default)]
    risk_curve: Vec<RiskPoint>,
    #[serde(default)]
    thresholds: Vec<GroupThreshold>,
}

/// The live misroute rate of the last [`DRIFT_WEEKS`] weeks above the budget: what has
/// changed since the thresholds were fitted no longer fits them.
#[derive(Debug, Clone, PartialEq)]
pub struct Drift {
    pub auto_routed: usize,
    pub misroutes: usize,
    pub rate: f64,
    pub budget: f64,
}

/// Drift, if the last weeks auto-routed enough inquiries to judge and clerks re-routed
/// more than `budget` of them.
pub fn drift(weeks: &[WeekRow], budget: f64) -> Option<Drift> {
    let recent = &weeks[weeks.len().saturating_sub(DRIFT_WEEKS)..];
    let auto_routed: usize = recent.iter().map(|w| w.auto_routed).sum();
    let misroutes: usize = recent.iter().map(|w| w.misroutes).sum();
    let rate = ratio(misroutes, auto_routed);
    (auto_routed >= DRIFT_MIN_AUTO_ROUTED && rate > budget).then_some(Drift {
        auto_routed,
        misroutes,
        rate,
        budget,
    })
}

/// A percentage as the pages write it ("94 %").
pub fn percent(x: f64) -> String {
    format!("{} %", (x * 100.0).round() as i64)
}

/// One week of clerk decisions.
#[derive(Debug, Clone, PartialEq)]
pub struct WeekRow {
    pub monday: NaiveDate,
    pub received: usize,
    pub auto_routed: usize,
    /// Auto-routed inquiries a clerk later re-routed.
    pub misroutes: usize,
}

impl WeekRow {
    pub fn auto_rate(&self) -> f64 {
        ratio(self.auto_routed, self.received)
    }

    pub fn misroute_rate(&self) -> f64 {
        ratio(self.misroutes, self.auto_routed)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn monday(at: DateTime<Utc>) -> NaiveDate {
    let day = at.date_naive();
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

/// The live figures: per week (oldest first, every week from the first record to `now`),
/// volume per department and week, and the services clerks corrected (from → to, count).
pub struct Live {
    pub weeks: Vec<WeekRow>,
    /// Department name → count per week (aligned with `weeks`).
    pub volume: BTreeMap<String, Vec<usize>>,
    pub corrected: Vec<(String, String, usize)>,
}

pub fn live(records: &[QualityRecord], now: DateTime<Utc>) -> Live {
    let last = monday(now);
    let first = records
        .iter()
        .map(|r| monday(r.received_at))
        .min()
        .unwrap_or(last);
    let mut weeks = Vec::new();
    let mut m = first;
    while m <= last {
        weeks.push(WeekRow {
            monday: m,
            received: 0,
            auto_routed: 0,
            misroutes: 0,
        });
        m += Duration::days(7);
    }
    let mut volume: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut corrected: BTreeMap<(String, String), usize> = BTreeMap::new();
    for r in records {
        let Some(i) = weeks.iter().position(|w| w.monday == monday(r.received_at)) else {
            continue;
        };
        let w = &mut weeks[i];
        w.received += 1;
        if r.auto_routed {
            w.auto_routed += 1;
            if r.rerouted_to.is_some() {
                w.misroutes += 1;
            }
        }
        if let Some((_, name)) = &r.department {
            volume
                .entry(name.clone())
                .or_insert_with(|| vec![0; weeks.len()])[i] += 1;
        }
        if let (Some(from), Some(to)) = (&r.first_service, &r.rerouted_to) {
            *corrected.entry((from.clone(), to.clone())).or_default() += 1;
        }
    }
    let mut corrected: Vec<(String, String, usize)> =
        corrected.into_iter().map(|((f, t), n)| (f, t, n)).collect();
    corrected.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    corrected.truncate(10);
    Live {
        weeks,
        volume,
        corrected,
    }
}

struct ModelView {
    version: i64,
    created_at: String,
    examples: i64,
    accuracy: String,
    ece: String,
    coverage_at_95: String,
    threshold: String,
    budget: String,
}

struct ClassLine {
    service: String,
    precision: String,
    recall: String,
    f1: String,
    support: usize,
}

struct PairLine {
    truth: String,
    predicted: String,
    count: usize,
}

struct BinLine {
    range: String,
    n: usize,
    confidence: String,
    accuracy: String,
}

struct RiskLine {
    threshold: String,
    coverage: String,
    misroute_rate: String,
    chosen: bool,
}

struct GroupLine {
    group: String,
    threshold: String,
    predictions: usize,
    pooled: bool,
}

pub struct DriftView {
    pub auto_routed: usize,
    pub misroutes: usize,
    pub rate: String,
    pub budget: String,
}

impl From<Drift> for DriftView {
    fn from(d: Drift) -> Self {
        Self {
            auto_routed: d.auto_routed,
            misroutes: d.misroutes,
            rate: format!("{:.1} %", d.rate * 100.0),
            budget: percent(d.budget),
        }
    }
}

struct WeekLine {
    week: String,
    received: usize,
    auto_routed: usize,
    auto_rate: String,
    misroutes: usize,
    misroute_rate: String,
}

#[derive(Template)]
#[template(path = "quality.html")]
struct QualityPage {
    chrome: Chrome,
    model: Option<ModelView>,
    reliability_svg: String,
    bins: Vec<BinLine>,
    risk_svg: String,
    risk: Vec<RiskLine>,
    classes: Vec<ClassLine>,
    confused: Vec<PairLine>,
    groups: Vec<GroupLine>,
    drift: Option<DriftView>,
    live_received: usize,
    weeks_svg: String,
    weeks: Vec<WeekLine>,
    volume_svg: String,
    week_labels: Vec<String>,
    volume: Vec<(String, Vec<usize>)>,
    corrected: Vec<PairLine>,
}

fn week_label(lang: Lang, monday: NaiveDate) -> String {
    format!("{} {}", lang.pick("KW", "wk"), monday.iso_week().week())
}

fn service_name(catalogue: Option<&Catalogue>, id: &str) -> String {
    catalogue
        .and_then(|c| c.service(id))
        .map_or_else(|| id.to_string(), |s| s.name.clone())
}

/// The misroute budget the active model version was fitted for, else the configured one.
fn budget_of(state: &AppState, figures: &Figures) -> f64 {
    f64::from(
        figures
            .max_misroute_rate
            .unwrap_or(state.config.triage.max_misroute_rate),
    )
}

async fn active_figures(state: &AppState) -> Result<(Option<ModelVersion>, Figures), ApiError> {
    let active: Option<ModelVersion> = state
        .store
        .model_versions()
        .await?
        .into_iter()
        .find(|v| v.active);
    let figures = active
        .as_ref()
        .and_then(|v| serde_json::from_value(v.metrics.clone()).ok())
        .unwrap_or_default();
    Ok((active, figures))
}

/// The drift warning as of now, for the pages that show it.
pub async fn current_drift(state: &AppState) -> Result<Option<Drift>, ApiError> {
    let (_, figures) = active_figures(state).await?;
    let now = Utc::now();
    let records = state
        .store
        .quality_records(now - Duration::weeks(DRIFT_WEEKS as i64))
        .await?;
    Ok(drift(
        &live(&records, now).weeks,
        budget_of(state, &figures),
    ))
}

async fn quality(State(state): State<AppState>, chrome: Chrome) -> Result<Response, ApiError> {
    let lang = chrome.lang;
    let catalogue = state.ready().ok().map(|r| r.catalogue.clone());
    let catalogue = catalogue.as_deref();
    let (active, figures) = active_figures(&state).await?;
    let model = active.as_ref().map(|v| {
        let cv = figures.cross_validation.as_ref();
        ModelView {
            version: v.version,
            created_at: v
                .created_at
                .chars()
                .take(16)
                .collect::<String>()
                .replace('T', " "),
            examples: v.examples,
            accuracy: cv.map_or_else(String::new, |c| percent(f64::from(c.accuracy))),
            ece: cv.map_or_else(String::new, |c| format!("{:.3}", c.ece)),
            coverage_at_95: cv.map_or_else(String::new, |c| {
                percent(f64::from(c.coverage_at_95_precision))
            }),
            threshold: figures.auto_threshold.map_or_else(
                || {
                    lang.pick(
                        "keine (nichts wird automatisch zugeordnet)",
                        "none (nothing is auto-routed)",
                    )
                    .to_string()
                },
                |t| percent(f64::from(t)),
            ),
            budget: figures
                .max_misroute_rate
                .map_or_else(String::new, |b| percent(f64::from(b))),
        }
    });

    let reliability_svg = if figures.reliability.is_empty() {
        String::new()
    } else {
        Chart {
            id: "zuverlaessigkeit",
            title: lang.pick("Zuverlässigkeitsdiagramm", "Reliability diagram").into(),
            desc: lang
                .pick(
                    "Angegebene Sicherheit gegen beobachtete Trefferquote je Sicherheitsstufe; die gepunktete Diagonale ist eine perfekte Kalibrierung. Die Zahlen stehen in der Tabelle darunter.",
                    "Stated confidence against observed accuracy per confidence bin; the dotted diagonal is perfect calibration. The numbers are in the table below.",
                )
                .into(),
            x_label: lang.pick("Angegebene Sicherheit", "Stated confidence").into(),
            y_label: lang.pick("Beobachtete Trefferquote", "Observed accuracy").into(),
            x_range: (0.0, 1.0),
            y_range: (0.0, 1.0),
            x_ticks: percent_ticks(),
            y_ticks: percent_ticks(),
            series: vec![Series {
                name: lang.pick("Modell (Kreuzvalidierung)", "Model (cross-validation)").into(),
                points: figures
                    .reliability
                    .iter()
                    .map(|b| (f64::from(b.confidence), f64::from(b.accuracy)))
                    .collect(),
            }],
            diagonal: Some(lang.pick("perfekte Kalibrierung", "perfect calibration").into()),
            marker: None,
        }
        .render()
    };
    let bins = figures
        .reliability
        .iter()
        .map(|b| BinLine {
            range: format!("{}–{}", percent(f64::from(b.lo)), percent(f64::from(b.hi))),
            n: b.n,
            confidence: percent(f64::from(b.confidence)),
            accuracy: percent(f64::from(b.accuracy)),
        })
        .collect();
    // The curve point the threshold picks: the widest coverage at or above it.
    let chosen = figures.auto_threshold.and_then(|t| {
        figures
            .risk_curve
            .iter()
            .filter(|p| p.threshold >= t)
            .max_by(|a, b| a.coverage.total_cmp(&b.coverage))
            .cloned()
    });
    let risk_svg = if figures.risk_curve.is_empty() {
        String::new()
    } else {
        let top = figures
            .risk_curve
            .iter()
            .map(|p| f64::from(p.misroute_rate))
            .fold(0.1_f64, f64::max)
            .min(1.0);
        let top = (top * 10.0).ceil() / 10.0;
        Chart {
            id: "abdeckung",
            title: lang
                .pick("Abdeckung und Fehlzuordnungsrate", "Coverage and misroute rate")
                .into(),
            desc: format!(
                "{} {}",
                lang.pick(
                    "Anteil automatisch zugeordneter Anliegen gegen den Anteil davon, der falsch zugeordnet wäre, je Schwelle.",
                    "Share of inquiries auto-routed against the share of them that would be misrouted, per threshold.",
                ),
                chosen.as_ref().map_or_else(
                    || lang.pick("Keine Schwelle gewählt.", "No threshold chosen.").to_string(),
                    |c| format!(
                        "{} {}: {} {}, {} {}.",
                        lang.pick("Gewählte Schwelle", "Chosen threshold"),
                        percent(f64::from(c.threshold)),
                        lang.pick("Abdeckung", "coverage"),
                        percent(f64::from(c.coverage)),
                        lang.pick("Fehlzuordnungsrate", "misroute rate"),
                        percent(f64::from(c.misroute_rate)),
                    )
                )
            ),
            x_label: lang.pick("Abdeckung (automatisch zugeordnet)", "Coverage (auto-routed)").into(),
            y_label: lang.pick("Fehlzuordnungsrate", "Misroute rate").into(),
            x_range: (0.0, 1.0),
            y_range: (0.0, top),
            x_ticks: percent_ticks(),
            y_ticks: (0..=4)
                .map(|i| {
                    let v = top * f64::from(i) / 4.0;
                    (v, percent(v))
                })
                .collect(),
            series: vec![Series {
                name: lang.pick("Modell (Kreuzvalidierung)", "Model (cross-validation)").into(),
                points: figures
                    .risk_curve
                    .iter()
                    .map(|p| (f64::from(p.coverage), f64::from(p.misroute_rate)))
                    .collect(),
            }],
            diagonal: None,
            marker: chosen.as_ref().map(|c| {
                (
                    f64::from(c.coverage),
                    format!(
                        "{} {}",
                        lang.pick("gewählte Schwelle", "chosen threshold"),
                        percent(f64::from(c.threshold))
                    ),
                )
            }),
        }
        .render()
    };
    let risk = figures
        .risk_curve
        .iter()
        .map(|p| RiskLine {
            threshold: percent(f64::from(p.threshold)),
            coverage: percent(f64::from(p.coverage)),
            misroute_rate: format!("{:.1} %", p.misroute_rate * 100.0),
            chosen: chosen.as_ref() == Some(p),
        })
        .collect();
    let cv = figures.cross_validation.as_ref();
    let classes = cv.map_or_else(Vec::new, |c| {
        let mut lines: Vec<ClassLine> = c
            .per_class
            .iter()
            .map(|c| ClassLine {
                service: service_name(catalogue, &c.label),
                precision: percent(f64::from(c.precision)),
                recall: percent(f64::from(c.recall)),
                f1: format!("{:.2}", c.f1),
                support: c.support,
            })
            .collect();
        lines.sort_by(|a, b| a.service.cmp(&b.service));
        lines
    });
    let confused = cv.map_or_else(Vec::new, |c| {
        c.confused
            .iter()
            .map(|p| PairLine {
                truth: service_name(catalogue, &p.truth),
                predicted: service_name(catalogue, &p.predicted),
                count: p.count,
            })
            .collect()
    });

    let now = Utc::now();
    let records = state
        .store
        .quality_records(now - Duration::weeks(WEEKS))
        .await?;
    let live = live(&records, now);
    let week_labels: Vec<String> = live
        .weeks
        .iter()
        .map(|w| week_label(lang, w.monday))
        .collect();
    let last = live.weeks.len().saturating_sub(1).max(1) as f64;
    let x_ticks: Vec<(f64, String)> = week_labels
        .iter()
        .enumerate()
        .map(|(i, l)| (i as f64, l.clone()))
        .collect();
    let (weeks_svg, volume_svg) = if records.is_empty() {
        (String::new(), String::new())
    } else {
        let weeks_chart = Chart {
            id: "wochen",
            title: lang
                .pick(
                    "Automatisch zugeordnet und von Sachbearbeitung gefundene Fehlzuordnungen je Woche",
                    "Auto-routed and clerk-found misroutes per week",
                )
                .into(),
            desc: lang
                .pick(
                    "Je Kalenderwoche: Anteil der eingegangenen Anliegen, die automatisch zugeordnet wurden, und Anteil davon, den die Sachbearbeitung später umgeleitet hat. Die Zahlen stehen in der Tabelle darunter.",
                    "Per calendar week: share of received inquiries that were auto-routed, and the share of those a clerk later re-routed. The numbers are in the table below.",
                )
                .into(),
            x_label: lang.pick("Kalenderwoche (Eingang)", "Calendar week (received)").into(),
            y_label: lang.pick("Anteil", "Share").into(),
            x_range: (0.0, last),
            y_range: (0.0, 1.0),
            x_ticks: x_ticks.clone(),
            y_ticks: percent_ticks(),
            series: vec![
                Series {
                    name: lang.pick("automatisch zugeordnet", "auto-routed").into(),
                    points: live
                        .weeks
                        .iter()
                        .enumerate()
                        .map(|(i, w)| (i as f64, w.auto_rate()))
                        .collect(),
                },
                Series {
                    name: lang
                        .pick(
                            "davon später umgeleitet (Fehlzuordnungsrate)",
                            "of those later re-routed (misroute rate)",
                        )
                        .into(),
                    points: live
                        .weeks
                        .iter()
                        .enumerate()
                        .map(|(i, w)| (i as f64, w.misroute_rate()))
                        .collect(),
                },
            ],
            diagonal: None,
            marker: None,
        };
        let max = live
            .volume
            .values()
            .flat_map(|v| v.iter().copied())
            .max()
            .unwrap_or(0) as f64;
        let y_ticks = count_ticks(max);
        let top = y_ticks.last().map_or(1.0, |t| t.0);
        let volume_chart = Chart {
            id: "aufkommen",
            title: lang
                .pick("Aufkommen je Abteilung und Woche", "Volume per department and week")
                .into(),
            desc: lang
                .pick(
                    "Eingegangene Anliegen je Kalenderwoche, eine Linie je Abteilung. Die Zahlen stehen in der Tabelle darunter.",
                    "Inquiries received per calendar week, one line per department. The numbers are in the table below.",
                )
                .into(),
            x_label: lang.pick("Kalenderwoche (Eingang)", "Calendar week (received)").into(),
            y_label: lang.pick("Anliegen", "Inquiries").into(),
            x_range: (0.0, last),
            y_range: (0.0, top),
            x_ticks,
            y_ticks,
            series: live
                .volume
                .iter()
                .map(|(name, counts)| Series {
                    name: name.clone(),
                    points: counts
                        .iter()
                        .enumerate()
                        .map(|(i, n)| (i as f64, *n as f64))
                        .collect(),
                })
                .collect(),
            diagonal: None,
            marker: None,
        };
        (weeks_chart.render(), volume_chart.render())
    };
    let weeks = live
        .weeks
        .iter()
        .zip(&week_labels)
        .map(|(w, label)| WeekLine {
            week: format!("{label} ({})", w.monday.format("%d.%m.%Y")),
            received: w.received,
            auto_routed: w.auto_routed,
            auto_rate: percent(w.auto_rate()),
            misroutes: w.misroutes,
            misroute_rate: if w.auto_routed == 0 {
                "–".into()
            } else {
                percent(w.misroute_rate())
            },
        })
        .collect();
    let corrected = live
        .corrected
        .iter()
        .map(|(f, t, n)| PairLine {
            truth: service_name(catalogue, t),
            predicted: service_name(catalogue, f),
            count: *n,
        })
        .collect();
    let drift = drift(&live.weeks, budget_of(&state, &figures)).map(DriftView::from);
    let none = lang.pick("keine", "none");
    let groups = figures
        .thresholds
        .iter()
        .map(|g| GroupLine {
            group: if g.group.is_empty() {
                lang.pick("alle Leistungen", "all services").into()
            } else {
                g.group.clone()
            },
            threshold: g
                .threshold
                .map_or_else(|| none.to_string(), |t| percent(f64::from(t))),
            predictions: g.predictions,
            pooled: g.pooled,
        })
        .collect();
    let page = QualityPage {
        chrome,
        model,
        reliability_svg,
        bins,
        risk_svg,
        risk,
        classes,
        confused,
        groups,
        drift,
        live_received: records.len(),
        weeks_svg,
        weeks,
        volume_svg,
        week_labels,
        volume: live.volume.into_iter().collect(),
        corrected,
    };
    Ok(render(StatusCode::OK, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(at: &str, dept: &str, auto: bool, rerouted: bool) -> QualityRecord {
        QualityRecord {
            received_at: DateTime::parse_from_rfc3339(at)
                .unwrap()
                .with_timezone(&Utc),
            department: Some((dept.into(), dept.into())),
            auto_routed: auto,
            first_service: Some("a".into()),
            rerouted_to: rerouted.then(|| "b".into()),
        }
    }

    #[test]
    fn weeks_count_auto_routes_and_the_misroutes_clerks_found() {
        let now = DateTime::parse_from_rfc3339("2026-12-03T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let records = [
            record("2026-11-24T08:00:00Z", "Tiefbau", true, false),
            record("2026-11-25T08:00:00Z", "Tiefbau", true, true),
            record("2026-11-26T08:00:00Z", "Abfall", false, false),
            record("2026-12-01T08:00:00Z", "Abfall", true, false),
        ];
        let live = live(&records, now);
        assert_eq!(live.weeks.len(), 2, "every week to now");
        let w = &live.weeks[0];
        assert_eq!((w.received, w.auto_routed, w.misroutes), (3, 2, 1));
        assert_eq!(w.misroute_rate(), 0.5);
        assert_eq!(live.volume["Tiefbau"], vec![2, 0]);
        assert_eq!(live.volume["Abfall"], vec![1, 1]);
        assert_eq!(live.corrected, vec![("a".into(), "b".into(), 1)]);
    }

    #[test]
    fn drift_is_judged_on_the_last_weeks_with_enough_auto_routes() {
        let week = |auto_routed, misroutes| WeekRow {
            monday: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
            received: auto_routed * 2,
            auto_routed,
            misroutes,
        };
        // Old weeks full of misroutes do not count; the last four do.
        let mut weeks = vec![week(50, 40), week(50, 40)];
        weeks.extend([week(10, 0), week(10, 1), week(10, 1), week(10, 1)]);
        let d = drift(&weeks, 0.05).expect("3 of 40 is above 5 %");
        assert_eq!((d.auto_routed, d.misroutes), (40, 3));
        assert!((d.rate - 0.075).abs() < 1e-9);
        assert_eq!(drift(&weeks, 0.08), None);
        // Too few auto-routes to judge: 2 of 12 is no evidence of drift yet.
        let few = vec![week(6, 1), week(6, 1)];
        assert_eq!(drift(&few, 0.05), None);
        assert_eq!(drift(&[], 0.05), None);
    }
}
