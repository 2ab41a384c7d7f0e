//! `anliegen eval --replay`: the labelled files replayed in time order with retraining
//! after every period (`triage::replay`), printed as a table or JSON and plotted per month
//! as SVG.

use anliegen::{
    app,
    config::Config,
    triage::{
        self,
        classifier::ClassifierParams,
        replay::{ReplayRequest, ReplayResult},
    },
    web::pages::quality_svg::{Chart, Series, percent_ticks},
};

use super::{OutputFormat, Progress, open_store, train::EvalArgs};

pub async fn replay(config: &Config, args: EvalArgs) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    let catalogue = if args.service_catalogue {
        Some(
            anliegen::catalogue::versions::current(&store, &config.catalogue.path)
                .await?
                .1,
        )
    } else {
        None
    };
    let request = ReplayRequest {
        data: args.train,
        columns: triage::dataset::Columns {
            text: args.text_column,
            label: args.label_column,
            lat: args.lat_column,
            lon: args.lon_column,
            date: Some(args.date_column.unwrap_or_else(|| "date".into())),
        },
        train_until: args.train_until,
        period_days: args.period_days,
        params: ClassifierParams::from(&config.triage),
        redact: !args.raw_text,
        catalogue,
        scratch_dir: config.data.dir.clone(),
    };
    let progress = Progress::new();
    let loading = progress.spinner("loading the model");
    let embedder = app::start_embedder(config).await?;
    progress.done(loading);
    let result = triage::replay::replay(&request, &embedder, &store, &|s, d, t| {
        progress.update(s, d, t)
    })
    .await?;
    let write = |path: &std::path::Path, text: String| {
        std::fs::write(path, text)
            .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", path.display()))
    };
    if let Some(path) = &args.svg {
        write(path, svg(&result))?;
    }
    if let Some(path) = &args.json {
        write(path, serde_json::to_string_pretty(&result)?)?;
    }
    match args.format {
        OutputFormat::Json => println!("{}", serde_json::to_string(&result)?),
        OutputFormat::Table => print!("{}", result.table()),
    }
    Ok(())
}

/// Accuracy, auto-route share and misroute rate per month, with the budget as a fourth
/// line, as a standalone SVG document.
pub fn svg(result: &ReplayResult) -> String {
    let months = &result.months;
    let line = |name: &str, f: &dyn Fn(&triage::replay::Month) -> Option<f64>| Series {
        name: name.to_string(),
        points: months
            .iter()
            .enumerate()
            .filter_map(|(i, m)| Some((i as f64, f(m)?)))
            .collect(),
    };
    let last = months.len().saturating_sub(1) as f64;
    let every = months.len().div_ceil(8).max(1);
    let chart = Chart {
        id: "replay",
        title: "Replay: accuracy, auto-routed share and misroute rate per month".into(),
        desc: format!(
            "{} inquiries replayed from {} to {} with retraining every {} days; {:.1} % routed right, {:.1} % auto-routed, of which {:.1} % misrouted.",
            result.replayed_rows,
            result.first_day.map(|d| d.to_string()).unwrap_or_default(),
            result.last_day.map(|d| d.to_string()).unwrap_or_default(),
            result.period_days,
            result.accuracy * 100.0,
            result.auto_share * 100.0,
            result.misroute_rate * 100.0
        ),
        x_label: "month".into(),
        y_label: "share".into(),
        x_range: (0.0, last.max(1.0)),
        y_range: (0.0, 1.0),
        x_ticks: months
            .iter()
            .enumerate()
            .filter(|(i, _)| i % every == 0)
            .map(|(i, m)| (i as f64, m.month.clone()))
            .collect(),
        y_ticks: percent_ticks(),
        series: vec![
            line("accuracy", &|m| Some(m.accuracy)),
            line("auto-routed share", &|m| Some(m.auto_share)),
            line("misroute rate of the auto-routed", &|m| {
                (m.tally.auto_routed > 0).then_some(m.misroute_rate)
            }),
            Series {
                name: format!(
                    "misroute budget ({:.0} %)",
                    result.max_misroute_rate * 100.0
                ),
                points: vec![
                    (0.0, f64::from(result.max_misroute_rate)),
                    (last.max(1.0), f64::from(result.max_misroute_rate)),
                ],
            },
        ],
        diagonal: None,
        marker: None,
    };
    chart.standalone()
}
