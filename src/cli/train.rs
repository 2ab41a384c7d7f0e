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

use super::{OutputFormat, model::version_line, open_store, progress_bar};

#[derive(Args)]
pub struct TrainArgs {
    /// CSV with a header row, or JSON Lines.
    #[arg(long)]
    data: Option<PathBuf>,
    #[arg(long, default_value = "text")]
    text_column: String,
    #[arg(long, default_value = "service")]
    label_column: String,
}

#[derive(Args)]
pub struct EvalArgs {
    /// Training file (CSV with header, or JSON Lines); repeat for several.
    #[arg(long, required = true)]
    train: Vec<PathBuf>,
    /// Test file in the same format.
    #[arg(long)]
    test: PathBuf,
    #[arg(long, default_value = "text")]
    text_column: String,
    #[arg(long, default_value = "category")]
    label_column: String,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
    /// Use the texts as they are. By default they are redacted first, as the service
    /// does before it learns from or routes a text.
    #[arg(long)]
    raw_text: bool,
}

pub async fn train(config: &Config, args: TrainArgs) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    let catalogue = Catalogue::load(&config.catalogue.path)?;
    if let Some(path) = &args.data {
        import_examples(
            &store,
            &catalogue,
            path,
            &args.text_column,
            &args.label_column,
        )
        .await?;
    }
    let embedder = app::start_embedder(config).await?;
    let trained = triage::training::train_version(
        &catalogue,
        &embedder,
        &store,
        ClassifierParams::from(&config.triage),
        config.triage.min_labelled_examples,
    )
    .await?;
    if !trained.active {
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
    text_column: &str,
    label_column: &str,
) -> anyhow::Result<()> {
    let d = triage::dataset::load(path, text_column, label_column)?;
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
            )),
            None => {
                unknown.insert(r.label.clone());
            }
        }
    }
    anyhow::ensure!(
        unknown.is_empty(),
        "{}: {} label(s) are neither service ids nor names of the catalogue: {}",
        path.display(),
        unknown.len(),
        unknown
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    let examples: Vec<NewExample> = rows
        .iter()
        .map(|(text, id)| NewExample {
            text,
            service_id: id,
            source: "import",
            inquiry_id: None,
            actor: None,
            reason: None,
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
    let request = triage::eval::EvalRequest {
        train: args.train,
        test: args.test,
        text_column: args.text_column,
        label_column: args.label_column,
        params: ClassifierParams::from(&config.triage),
        redact: !args.raw_text,
    };
    let store = open_store(config).await?;
    let embedder = app::start_embedder(config).await?;
    let result = triage::eval::evaluate(&request, &embedder, &store, &progress_bar).await?;
    match args.format {
        OutputFormat::Json => println!("{}", serde_json::to_string(&result)?),
        OutputFormat::Table => print!("{}", result.table()),
    }
    Ok(())
}
