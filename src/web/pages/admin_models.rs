//! The model versions page (`/admin/modelle`): every version with its cross-validation
//! figures; train now (in the background — while it runs the page shows a status line and
//! reloads itself every few seconds through `<meta http-equiv="refresh">`, no script
//! needed), activate a version, roll back to the one before, compare two side by side.
//! Training, activation and rollback are the API's functions (`web::models`), audited
//! alike.

use askama::Template;
use axum::{
    extract::{Query, State},
    http::{Method, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use chrono::Utc;
use serde::Deserialize;

use super::{
    admin::refusal,
    chrome::{Chrome, render},
    quality::percent,
};
use crate::{
    store::ModelVersion,
    triage::metrics::Report,
    web::{
        ApiError, AppState,
        auth::Caller,
        extract::ApiPath,
        models::{activate_version, roll_back, train_now},
        routes::Route,
    },
};

/// Seconds between reloads of the page while a training runs.
pub const REFRESH_SECONDS: u32 = 3;

pub fn routes() -> Vec<Route> {
    vec![
        Route::admin(Method::GET, "/admin/modelle", models),
        Route::admin(Method::POST, "/admin/modelle/training", train),
        Route::admin(Method::POST, "/admin/modelle/zurueck", rollback),
        Route::admin(
            Method::POST,
            "/admin/modelle/{version}/aktivieren",
            activate,
        ),
    ]
}

/// The figures a version stores, as far as the page shows them.
#[derive(Deserialize, Default)]
struct Figures {
    cross_validation: Option<Report>,
    auto_threshold: Option<f32>,
}

struct VersionLine {
    version: i64,
    created_at: String,
    examples: i64,
    active: bool,
    accuracy: String,
    macro_f1: String,
    ece: String,
    threshold: String,
}

/// One row of the side-by-side comparison.
struct CompareRow {
    label: String,
    a: String,
    b: String,
}

struct Comparison {
    a: i64,
    b: i64,
    rows: Vec<CompareRow>,
    services: Vec<CompareRow>,
}

#[derive(Template)]
#[template(path = "admin_models.html")]
struct ModelsPage {
    chrome: Chrome,
    versions: Vec<VersionLine>,
    /// A training is running: the page reloads itself.
    running: bool,
    refresh: u32,
    /// The status line of the latest training.
    training: Option<String>,
    done: Option<String>,
    error: Option<String>,
    comparison: Option<Comparison>,
    pick_a: i64,
    pick_b: i64,
}

#[derive(Deserialize, Default)]
struct ModelsQuery {
    #[serde(default)]
    erledigt: String,
    #[serde(default)]
    a: Option<i64>,
    #[serde(default)]
    b: Option<i64>,
}

fn figures(v: &ModelVersion) -> Figures {
    serde_json::from_value(v.metrics.clone()).unwrap_or_default()
}

/// How a figure of a cross-validation report is shown.
type Figure = dyn Fn(&Report) -> String;

fn pct(x: f32) -> String {
    percent(f64::from(x))
}

fn two_places(x: f32) -> String {
    format!("{x:.2}")
}

fn compare(lang: super::Lang, a: &ModelVersion, b: &ModelVersion) -> Comparison {
    let (fa, fb) = (figures(a), figures(b));
    let cell = |f: &Figures, get: &dyn Fn(&Report) -> String| {
        f.cross_validation
            .as_ref()
            .map_or_else(|| "–".to_string(), get)
    };
    let mut rows = vec![
        CompareRow {
            label: lang.pick("Angelegt", "Created").into(),
            a: a.created_at.clone(),
            b: b.created_at.clone(),
        },
        CompareRow {
            label: lang.pick("Beispiele", "Examples").into(),
            a: a.examples.to_string(),
            b: b.examples.to_string(),
        },
        CompareRow {
            label: lang.pick("Aktiv", "Active").into(),
            a: lang
                .pick(
                    if a.active { "ja" } else { "nein" },
                    if a.active { "yes" } else { "no" },
                )
                .into(),
            b: lang
                .pick(
                    if b.active { "ja" } else { "nein" },
                    if b.active { "yes" } else { "no" },
                )
                .into(),
        },
    ];
    let metric_rows: [(&str, &str, &Figure); 7] = [
        ("Trefferquote", "Accuracy", &|r| pct(r.accuracy)),
        ("Makro-F1", "Macro F1", &|r| two_places(r.macro_f1)),
        ("Unter den ersten drei", "Top-3 accuracy", &|r| {
            pct(r.top3_accuracy)
        }),
        (
            "Kalibrierungsfehler (ECE)",
            "Calibration error (ECE)",
            &|r| format!("{:.3}", r.ece),
        ),
        (
            "Abdeckung bei 95 % Präzision",
            "Coverage at 95 % precision",
            &|r| pct(r.coverage_at_95_precision),
        ),
        ("Mittlere Kandidatenzahl", "Mean candidate set size", &|r| {
            two_places(r.mean_set_size)
        }),
        (
            "Richtige Leistung unter den Kandidaten",
            "Correct service among candidates",
            &|r| pct(r.set_coverage),
        ),
    ];
    for (de, en, get) in metric_rows {
        rows.push(CompareRow {
            label: lang.pick(de, en).into(),
            a: cell(&fa, get),
            b: cell(&fb, get),
        });
    }
    let threshold = |f: &Figures| {
        f.auto_threshold
            .map_or_else(|| lang.pick("keine", "none").to_string(), pct)
    };
    rows.push(CompareRow {
        label: lang
            .pick(
                "Schwelle für automatische Zuordnung",
                "Auto-routing threshold",
            )
            .into(),
        a: threshold(&fa),
        b: threshold(&fb),
    });
    let per_service = |f: &Figures, label: &str| {
        f.cross_validation
            .as_ref()
            .and_then(|r| r.per_class.iter().find(|c| c.label == label))
            .map_or_else(
                || "–".to_string(),
                |c| format!("{} / {}", pct(c.precision), pct(c.recall)),
            )
    };
    let mut labels: Vec<String> = [&fa, &fb]
        .iter()
        .filter_map(|f| f.cross_validation.as_ref())
        .flat_map(|r| r.per_class.iter().map(|c| c.label.clone()))
        .collect();
    labels.sort();
    labels.dedup();
    let services = labels
        .iter()
        .map(|l| CompareRow {
            label: l.clone(),
            a: per_service(&fa, l),
            b: per_service(&fb, l),
        })
        .collect();
    Comparison {
        a: a.version,
        b: b.version,
        rows,
        services,
    }
}

async fn models_view(
    state: &AppState,
    chrome: Chrome,
    q: &ModelsQuery,
    error: Option<String>,
) -> Result<ModelsPage, ApiError> {
    let lang = chrome.lang;
    let all = state.store.model_versions().await?;
    let run = state.store.latest_training_run().await?;
    let now = Utc::now();
    let running = run.as_ref().is_some_and(|r| r.running(now));
    let training = run.map(|r| {
        let started = r.started_at.format("%d.%m.%Y %H:%M:%S UTC");
        if r.running(now) {
            format!(
                "{} {started} ({} {} s) …",
                lang.pick("Ein Training läuft seit", "A training is running since"),
                lang.pick("seit", "for"),
                (now - r.started_at).num_seconds()
            )
        } else if let Some(v) = r.version {
            format!(
                "{} v{v} {} {:.1} s {} ({} {started}).",
                lang.pick("Letztes Training: Version", "Last training: version"),
                lang.pick("in", "in"),
                r.seconds.unwrap_or_default(),
                lang.pick("trainiert", "trained"),
                lang.pick("gestartet", "started"),
            )
        } else if let Some(e) = r.error {
            format!(
                "{} {e}",
                lang.pick("Letztes Training fehlgeschlagen:", "Last training failed:")
            )
        } else {
            lang.pick(
                "Das letzte Training wurde nicht beendet (der Dienst wurde neu gestartet).",
                "The last training did not finish (the service was restarted).",
            )
            .to_string()
        }
    });
    let done = match q.erledigt.as_str() {
        "gestartet" => Some(lang.pick(
            "Training gestartet. Diese Seite zeigt an, wann es fertig ist.",
            "Training started. This page shows when it has finished.",
        )),
        "aktiviert" => Some(lang.pick(
            "Version aktiviert: sie ordnet ab sofort zu.",
            "Version activated: it routes from now on.",
        )),
        "zurueck" => Some(lang.pick(
            "Zurückgerollt: die vorige Version ordnet wieder zu.",
            "Rolled back: the previous version routes again.",
        )),
        _ => None,
    }
    .map(str::to_string);
    let comparison = match (q.a, q.b) {
        (Some(a), Some(b)) => {
            let find = |n: i64| all.iter().find(|v| v.version == n);
            match (find(a), find(b)) {
                (Some(a), Some(b)) => Some(compare(lang, a, b)),
                _ => return Err(ApiError::NotFound("no such model version".into())),
            }
        }
        _ => None,
    };
    let latest = all.last().map_or(0, |v| v.version);
    let pick_a =
        q.a.unwrap_or_else(|| all.iter().find(|v| v.active).map_or(latest, |v| v.version));
    let pick_b = q.b.unwrap_or(latest);
    let versions = all
        .iter()
        .rev()
        .map(|v| {
            let f = figures(v);
            let cv = f.cross_validation.as_ref();
            VersionLine {
                version: v.version,
                created_at: v.created_at.clone(),
                examples: v.examples,
                active: v.active,
                accuracy: cv.map_or_else(String::new, |r| percent(f64::from(r.accuracy))),
                macro_f1: cv.map_or_else(String::new, |r| two_places(r.macro_f1)),
                ece: cv.map_or_else(String::new, |r| format!("{:.3}", r.ece)),
                threshold: f.auto_threshold.map_or_else(
                    || lang.pick("keine", "none").to_string(),
                    |t| percent(f64::from(t)),
                ),
            }
        })
        .collect();
    Ok(ModelsPage {
        chrome,
        versions,
        running,
        refresh: REFRESH_SECONDS,
        training,
        done,
        error,
        comparison,
        pick_a,
        pick_b,
    })
}

async fn models(
    State(state): State<AppState>,
    chrome: Chrome,
    Query(q): Query<ModelsQuery>,
) -> Result<Response, ApiError> {
    let page = models_view(&state, chrome, &q, None).await?;
    Ok(render(StatusCode::OK, &page))
}

/// Starts a training in the background and answers at once; the page follows it.
async fn train(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Response, ApiError> {
    state.ready()?;
    let Some(run) = state.store.start_training_run(&caller.actor).await? else {
        // One is running already: the page shows it.
        return Ok(Redirect::to("/admin/modelle").into_response());
    };
    tokio::spawn(async move {
        let outcome = train_now(&state, &caller)
            .await
            .map(|t| (t.version, f64::from(t.seconds)))
            .map_err(|e| e.to_string());
        if let Err(e) = state.store.finish_training_run(run, outcome).await {
            tracing::error!(error = %e, "the end of a training could not be recorded");
        }
    });
    Ok(Redirect::to("/admin/modelle?erledigt=gestartet").into_response())
}

async fn refused(state: &AppState, chrome: Chrome, e: ApiError) -> Result<Response, ApiError> {
    let message = refusal(e)?;
    let page = models_view(state, chrome, &ModelsQuery::default(), Some(message)).await?;
    Ok(render(StatusCode::CONFLICT, &page))
}

async fn activate(
    State(state): State<AppState>,
    Caller(caller): Caller,
    chrome: Chrome,
    ApiPath(version): ApiPath<i64>,
) -> Result<Response, ApiError> {
    match activate_version(&state, &caller, version).await {
        Ok(()) => Ok(Redirect::to("/admin/modelle?erledigt=aktiviert").into_response()),
        Err(e) => refused(&state, chrome, e).await,
    }
}

async fn rollback(
    State(state): State<AppState>,
    Caller(caller): Caller,
    chrome: Chrome,
) -> Result<Response, ApiError> {
    match roll_back(&state, &caller).await {
        Ok(_) => Ok(Redirect::to("/admin/modelle?erledigt=zurueck").into_response()),
        Err(e) => refused(&state, chrome, e).await,
    }
}
