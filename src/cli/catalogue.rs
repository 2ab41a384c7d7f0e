//! `anliegen catalogue …`: check a service catalogue file.

use std::path::PathBuf;

use clap::Subcommand;

use anliegen::{config::Config, domain::Catalogue};

#[derive(Subcommand)]
pub enum CatalogueAction {
    /// Check a catalogue file (default: the configured one) and print a summary.
    Check { path: Option<PathBuf> },
}

pub fn run(config: &Config, action: CatalogueAction) -> anyhow::Result<()> {
    match action {
        CatalogueAction::Check { path } => {
            let path = path.unwrap_or(config.catalogue.path.clone());
            let c = Catalogue::load(&path)?;
            let with_leika = c.services.iter().filter(|s| s.leika.is_some()).count();
            println!(
                "{}: {} — {} departments, {} services ({} with LeiKa key), fingerprint {}",
                path.display(),
                c.name,
                c.departments.len(),
                c.services.len(),
                with_leika,
                &c.fingerprint()[..12]
            );
        }
    }
    Ok(())
}
