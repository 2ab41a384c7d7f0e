//! `anliegen train` (import labelled inquiries, train a new model version) and `anliegen
//! eval` (train from scratch on files and report quality on a test file).

use std::{
    collections::{BTreeSet, HashMap},
    path::{Path, PathBuf},
};

use clap::Args;

use anliegen::{
    app,
    config::Config,
    domain::Catalogue,
    store::NewExample,
    triage::{self, classifier::ClassifierParams},
};

use super::{OutputFormat, Progress, exit::InputError, model::version_line, open_store};

#[derive(Args)]
pub struct TrainArgs {
    /// CSV with a header row, or JSON Lines.
    #[arg(long)]
    data: Option<PathBuf>,
    #[arg(long, default_value = "text")]
    text_column: String,
    #[arg(long, default_value = "service")]
    label_column: String,
    /// Column with each row's latitude (WGS 84); only a coarse cell of the place is kept.
    #[arg(long, requires = "lon_column")]
    lat_column: Option<String>,
    /// Column with each row's longitude.
    #[arg(long, requires = "lat_column")]
    lon_column: Option<String>,
}

#[derive(Args)]
pub struct EvalArgs {
    /// Training file (CSV with header, or JSON Lines); repeat for several.
    #[arg(long, required_unless_present = "catalogue")]
    pub(super) train: Vec<PathBuf>,
    /// Zero-shot: evaluate the untrained router on this catalogue instead of training.
    #[arg(long, conflicts_with = "train")]
    catalogue: Option<PathBuf>,
    /// Format of `--catalogue` (dldb, xzufi, leika, toml).
    #[arg(long, default_value = "toml", requires = "catalogue")]
    catalogue_format: String,
    /// DLDB locations file for `--catalogue`.
    #[arg(long, requires = "catalogue")]
    locations: Option<PathBuf>,
    /// Mapping file for `--catalogue`.
    #[arg(long, requires = "catalogue")]
    mapping: Option<PathBuf>,
    /// Test file in the same format.
    #[arg(long, required_unless_present = "replay")]
    pub(super) test: Option<PathBuf>,
    /// Replay the `--train` files in time order instead: route each period with the
    /// current version, then learn its labels as clerk reviews and retrain.
    #[arg(long, conflicts_with_all = ["catalogue", "test"])]
    pub(super) replay: bool,
    /// Date column (YYYY-MM-DD): `--replay` orders the rows by it (default `date`); a
    /// plain `eval` with it weighs recent training rows more when fitting the thresholds.
    #[arg(long)]
    pub(super) date_column: Option<String>,
    /// `--replay`: rows before this day (YYYY-MM-DD) train the first version; without it
    /// the replay starts cold, from the catalogue alone.
    #[arg(long, requires = "replay")]
    pub(super) train_until: Option<chrono::NaiveDate>,
    /// `--replay`: days per period (7: route a week, then retrain).
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=366))]
    pub(super) period_days: u32,
    /// `--replay`: the labels are services of the service's catalogue (ids or names), whose
    /// texts train too; without it each distinct label is a service.
    #[arg(long, requires = "replay")]
    pub(super) service_catalogue: bool,
    /// `--replay`: write accuracy, auto-route share and misroute rate per month as SVG.
    #[arg(long, requires = "replay")]
    pub(super) svg: Option<PathBuf>,
    /// `--replay`: also write the whole result as JSON to this file.
    #[arg(long, requires = "replay")]
    pub(super) json: Option<PathBuf>,
    #[arg(long, default_value = "text")]
    pub(super) text_column: String,
    #[arg(long, default_value = "category")]
    pub(super) label_column: String,
    /// Column with each row's latitude (WGS 84): places become a routing feature.
    #[arg(long, requires = "lon_column")]
    pub(super) lat_column: Option<String>,
    /// Column with each row's longitude.
    #[arg(long, requires = "lat_column")]
    pub(super) lon_column: Option<String>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub(super) format: OutputFormat,
    /// Use the texts as they are. By default they are redacted first, as the service
    /// does before it learns from or routes a text.
    #[arg(long)]
    pub(super) raw_text: bool,
}

pub async fn train(config: &Config, args: TrainArgs) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    let (_, catalogue) =
        anliegen::catalogue::versions::current(&store, &config.catalogue.path).await?;
    if let Some(path) = &args.data {
        let columns = triage::dataset::Columns {
            text: args.text_column.clone(),
            label: args.label_column.clone(),
            lat: args.lat_column.clone(),
            lon: args.lon_column.clone(),
            date: None,
        };
        import_examples(&store, &catalogue, path, &columns).await?;
    }
    let progress = Progress::new();
    let loading = progress.spinner("loading the model");
    let embedder = app::start_embedder(config).await?;
    progress.done(loading);
    let training = progress.spinner("training");
    let trained = triage::training::train_version(
        &catalogue,
        &embedder,
        &store,
        ClassifierParams::from(&config.triage),
        (&config.triage).into(),
    )
    .await?;
    progress.done(training);
    if let Some(c) = trained.held {
        eprintln!(
            "version {} stored inactive: it routes {} of the last {} decided inquiries differently ({:.0} %, triage.max_activation_change is {:.0} %); activate it with `anliegen model activate {}` after checking",
            trained.version,
            c.changed,
            c.compared,
            c.share * 100.0,
            config.triage.max_activation_change * 100.0,
            trained.version
        );
    } else if !trained.active {
        eprintln!(
            "version {} stored inactive: {} labelled inquiries, triage.min_labelled_examples is {}",
            trained.version, trained.labelled, config.triage.min_labelled_examples
        );
    }
    let versions = store.model_versions().await?;
    let v = versions
        .iter()
        .find(|v| v.version == trained.version)
        .expect("just saved");
    println!("{}", version_line(v));
    Ok(())
}

/// Stores the labelled rows of `path` as training examples (redacted). Labels are service
/// ids or names; if any is unknown, they are listed and nothing is imported.
async fn import_examples(
    store: &anliegen::store::Store,
    catalogue: &Catalogue,
    path: &Path,
    columns: &triage::dataset::Columns,
) -> anyhow::Result<()> {
    let d = triage::dataset::load(path, columns)?;
    let by_name: HashMap<String, &str> = catalogue
        .services
        .iter()
        .map(|s| (s.name.to_lowercase(), s.id.as_str()))
        .collect();
    let mut unknown = BTreeSet::new();
    let mut rows = Vec::new();
    for r in &d.rows {
        let id = catalogue
            .service(&r.label)
            .map(|s| s.id.as_str())
            .or_else(|| by_name.get(&r.label.to_lowercase()).copied());
        match id {
            Some(id) => rows.push((
                anliegen::privacy::redact::redact(&r.text).text,
                id.to_string(),
                r.place,
                r.labelled_at(),
            )),
            None => {
                unknown.insert(r.label.clone());
            }
        }
    }
    if !unknown.is_empty() {
        return Err(InputError(format!(
            "{}: {} label(s) are neither service ids nor names of the catalogue: {}",
            path.display(),
            unknown.len(),
            unknown
                .iter()
                .take(10)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .into());
    }
    let examples: Vec<NewExample> = rows
        .iter()
        .map(|(text, id, place, at)| NewExample {
            text,
            service_id: id,
            source: "import",
            inquiry_id: None,
            actor: None,
            reason: None,
            place: *place,
            at: *at,
        })
        .collect();
    store.add_training_examples(&examples).await?;
    eprintln!(
        "imported {} examples ({} rows without label skipped)",
        examples.len(),
        d.skipped
    );
    Ok(())
}

pub async fn eval(config: &Config, args: EvalArgs) -> anyhow::Result<()> {
    if args.replay {
        return super::replay::replay(config, args).await;
    }
    let test = args
        .test
        .clone()
        .ok_or_else(|| anyhow::anyhow!("--test is required"))?;
    if let Some(path) = &args.catalogue {
        return zero_shot(config, &args, path, &test).await;
    }
    let request = triage::eval::EvalRequest {
        train: args.train,
        test,
        columns: triage::dataset::Columns {
            text: args.text_column,
            label: args.label_column,
            lat: args.lat_column,
            lon: args.lon_column,
            date: args.date_column,
        },
        params: ClassifierParams::from(&config.triage),
        redact: !args.raw_text,
    };
    let store = open_store(config).await?;
    let progress = Progress::new();
    let loading = progress.spinner("loading the model");
    let embedder = app::start_embedder(config).await?;
    progress.done(loading);
    let result = triage::eval::evaluate(&request, &embedder, &store, &|s, d, t| {
        progress.update(s, d, t)
    })
    .await?;
    match args.format {
        OutputFormat::Json => println!("{}", serde_json::to_string(&result)?),
        OutputFormat::Table => print!("{}", result.table()),
    }
    Ok(())
}

/// `eval --catalogue`: the untrained router on the catalogue's own texts.
async fn zero_shot(
    config: &Config,
    args: &EvalArgs,
    path: &Path,
    test: &Path,
) -> anyhow::Result<()> {
    let format = anliegen::catalogue::Format::parse(&args.catalogue_format).ok_or_else(|| {
        anyhow::anyhow!(
            "--catalogue-format '{}' is not one of dldb, xzufi, leika, toml",
            args.catalogue_format
        )
    })?;
    let input = |p: &Path| -> anyhow::Result<anliegen::catalogue::Input> {
        Ok(anliegen::catalogue::Input {
            name: p.display().to_string(),
            text: std::fs::read_to_string(p)
                .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", p.display()))?,
        })
    };
    let catalogue = anliegen::catalogue::import(&anliegen::catalogue::ImportRequest {
        format,
        files: vec![input(path)?],
        locations: args.locations.as_deref().map(input).transpose()?,
        mapping: args.mapping.as_deref().map(input).transpose()?,
    })?
    .catalogue;
    let test = triage::dataset::load(
        test,
        &triage::dataset::Columns::new(&args.text_column, &args.label_column),
    )?;
    let store = open_store(config).await?;
    let progress = Progress::new();
    let loading = progress.spinner("loading the model");
    let embedder = app::start_embedder(config).await?;
    progress.done(loading);
    let params = triage::zero_shot::ZeroShotParams {
        neighbours: config.triage.neighbours,
        temperature: config.triage.temperature,
        candidates: config.triage.candidates,
        redact: !args.raw_text,
    };
    let result =
        triage::zero_shot::evaluate(&catalogue, test, params, &embedder, &store, &|s, d, t| {
            progress.update(s, d, t)
        })
        .await?;
    match args.format {
        OutputFormat::Json => println!("{}", serde_json::to_string(&result)?),
        OutputFormat::Table => print!("{}", result.table()),
    }
    Ok(())
}
