//! `datapact migrate --from-sqlite DIR --to postgres://...`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use clap::Args;
use datapact_server::Config;
use datapact_server::config::StorageBackend;
use datapact_server::migrate::{Progress, Target};
use indicatif::{ProgressBar, ProgressStyle};

/// Move an embedded deployment (SQLite in a data directory) to PostgreSQL, audit log included,
/// and verify the result.
#[derive(Args)]
pub struct MigrateArgs {
    /// The data directory of the embedded deployment (stop its server first).
    #[arg(long, value_name = "DIR")]
    from_sqlite: PathBuf,
    /// The main PostgreSQL database (postgres://user@host:port/db). It must be empty.
    #[arg(
        long,
        value_name = "URL",
        conflicts_with = "to_env",
        required_unless_present = "to_env"
    )]
    to: Option<String>,
    /// The environment variable holding that URL, instead of --to (keeps a password out of the
    /// process list).
    #[arg(long, value_name = "VAR")]
    to_env: Option<String>,
    /// The deployment's configuration: its regions, their directories, and the databases of
    /// regions that get their own ([storage.region_urls], read from the environment or files).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

pub async fn run(a: MigrateArgs) -> Result<ExitCode> {
    let config = match &a.config {
        Some(p) => Config::from_file(p).map_err(|e| anyhow!("invalid configuration: {e}"))?,
        None => Config::default(),
    };
    let (flag, url) = match (&a.to, &a.to_env) {
        (Some(u), _) => ("--to", u.trim().to_string()),
        (None, Some(var)) => (
            "--to-env",
            std::env::var(var)
                .map_err(|_| anyhow!("--to-env: the environment variable {var} is not set"))?
                .trim()
                .to_string(),
        ),
        (None, None) => return Err(anyhow!("--to or --to-env names the target database")),
    };
    if url.is_empty() {
        return Err(anyhow!("{flag}: the database URL is empty"));
    }
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://") || url.contains('=')) {
        return Err(anyhow!(
            "{flag}: expected a PostgreSQL URL (postgres://user@host:port/database)"
        ));
    }
    let regions = if config.storage.backend == StorageBackend::Postgres {
        config
            .storage
            .urls()
            .map_err(|e| {
                anyhow!(
                    "{}: {e}",
                    a.config.as_ref().map_or(String::new(), |p| p.display().to_string())
                )
            })?
            .map(|u| u.regions)
            .unwrap_or_default()
    } else {
        Default::default()
    };
    for r in regions.keys() {
        if !config.regions.contains(r) {
            return Err(anyhow!("storage.region_urls.{r}: `{r}` is not a configured region"));
        }
    }
    let target = Target { url, regions };

    let spinner = ProgressBar::new_spinner();
    spinner.set_style(
        ProgressStyle::with_template("{spinner} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let show = |p: Progress| match p {
        Progress::Step(s) => {
            spinner.println(format!("· {s}"));
            spinner.set_message(s);
        }
        Progress::Records { region, copied } => spinner.set_message(format!("region `{region}`: {copied} records")),
        Progress::Entries { copied, total } => spinner.set_message(format!("audit log: {copied} / {total} entries")),
    };
    let result = datapact_server::migrate::from_sqlite(&a.from_sqlite, &config, &target, &show).await;
    spinner.finish_and_clear();
    let report = result.map_err(|e| anyhow!("{e}"))?;

    let mut t = crate::output::table(&["part", "source", "PostgreSQL"]);
    for c in &report.tables {
        t.add_row(vec![
            format!("table {}", c.table),
            c.source.to_string(),
            c.target.to_string(),
        ]);
    }
    for r in &report.regions {
        t.add_row(vec![
            format!("region {} records", r.region),
            r.records.0.to_string(),
            r.records.1.to_string(),
        ]);
        t.add_row(vec![
            format!("region {} key rows", r.region),
            r.keys.0.to_string(),
            r.keys.1.to_string(),
        ]);
        t.add_row(vec![
            format!("region {} training items", r.region),
            r.training_items.0.to_string(),
            r.training_items.1.to_string(),
        ]);
        t.add_row(vec![
            format!("region {} message index rows", r.region),
            r.mining_messages.0.to_string(),
            r.mining_messages.1.to_string(),
        ]);
    }
    t.add_row(vec![
        "audit entries".into(),
        report.audit.entries.to_string(),
        report.audit.entries.to_string(),
    ]);
    t.add_row(vec![
        "audit checkpoints verified".into(),
        report.checkpoints.0.to_string(),
        report.checkpoints.1.to_string(),
    ]);
    t.add_row(vec![
        "audit root".into(),
        report.roots.0.clone(),
        report.roots.1.clone(),
    ]);
    println!("{t}");
    println!(
        "OK: migrated {} to PostgreSQL and verified it (row counts, record and key digests, audit root); {} sealed secret(s) moved to datapact_secrets.",
        a.from_sqlite.display(),
        report.secrets.len()
    );
    let key_file = a.from_sqlite.join("master.key");
    println!(
        "Next: start the nodes with [storage] backend = \"postgres\" and the same master secret{}.",
        if key_file.exists() {
            format!(
                " (this deployment uses the key file {}: give every node a copy, or point DATAPACT_MASTER_KEY_FILE at it)",
                key_file.display()
            )
        } else {
            " (DATAPACT_MASTER_PASSPHRASE)".to_string()
        }
    );
    Ok(ExitCode::SUCCESS)
}
