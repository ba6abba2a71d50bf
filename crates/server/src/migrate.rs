//! `datapact migrate --from-sqlite DIR --to postgres://...`: moves an embedded deployment
//! (SQLite files in a data directory) into PostgreSQL, so that nodes started with
//! `[storage] backend = "postgres"` carry on where it stopped: governance state, the sealed
//! secrets, each region's records and keys (into the region's own database when one is named),
//! and the audit log with its signed checkpoints. Nothing is decrypted; the source is only
//! read, and the server must be stopped (the data directory's lock is taken). Before anything
//! is written the source log is verified and every target is checked to be empty; afterwards
//! every part is read back and compared: row counts per table, record and key digests, and the
//! audit log's entries, checkpoints and root hash.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use datapact_audit::postgres::Imported;
use datapact_store::transfer::TableCount;
use datapact_vault::transfer::RegionCopy;

use crate::config::Config;

/// Why a migration stopped.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// A server is running on the data directory.
    #[error(
        "a datapact server is using {0} (its lock file datapact.lock is held); stop it first: the migration copies a deployment at rest"
    )]
    Locked(String),
    /// The directory holds no embedded deployment.
    #[error("{0}")]
    NotADeployment(String),
    /// A target database already holds something.
    #[error("{0}; migrate into empty databases (nothing was written)")]
    TargetNotEmpty(String),
    /// The source audit log does not verify.
    #[error("the embedded audit log {path} does not verify ({reason}); nothing was copied")]
    SourceLog {
        /// The log file.
        path: String,
        /// What failed.
        reason: String,
    },
    /// Copying failed part way.
    #[error(
        "{what}: {message}. The target is partly written: drop and recreate the target database(s), then run the migration again (the source is unchanged)"
    )]
    Copy {
        /// The part being copied.
        what: String,
        /// The error.
        message: String,
    },
    /// What was copied does not match the source.
    #[error(
        "verification failed: {0}. Drop and recreate the target database(s), then run the migration again (the source is unchanged)"
    )]
    Verify(String),
    /// The data directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

/// Where the deployment goes.
#[derive(Debug, Clone)]
pub struct Target {
    /// The main database (governance state, audit log, shared secrets; and each region's vault
    /// unless `regions` names another).
    pub url: String,
    /// A database of a region's own, by region.
    pub regions: BTreeMap<String, String>,
}

impl Target {
    fn region_url(&self, region: &str) -> &str {
        self.regions.get(region).map_or(self.url.as_str(), String::as_str)
    }
}

/// What a migration is doing, for a progress display.
#[derive(Debug, Clone)]
pub enum Progress {
    /// A step starts.
    Step(String),
    /// Records of a region copied so far.
    Records {
        /// The region.
        region: String,
        /// Copied so far.
        copied: u64,
    },
    /// Audit entries copied so far, of `total`.
    Entries {
        /// Copied so far.
        copied: u64,
        /// In the source log.
        total: u64,
    },
}

/// What moved, as checked after the copy.
#[derive(Debug, Clone)]
pub struct Report {
    /// Governance state, per table.
    pub tables: Vec<TableCount>,
    /// The sealed secrets moved to `datapact_secrets`.
    pub secrets: Vec<String>,
    /// Each region's records and keys.
    pub regions: Vec<RegionCopy>,
    /// The audit log.
    pub audit: Imported,
    /// The log's root hash (base64), recomputed from the source and then from the target.
    pub roots: (String, String),
    /// Signed checkpoints that verified, in the source and then in the target.
    pub checkpoints: (usize, usize),
}

fn copy_err(what: &str) -> impl Fn(&dyn std::fmt::Display) -> MigrateError + '_ {
    move |e| MigrateError::Copy {
        what: what.to_string(),
        message: e.to_string(),
    }
}

/// Each configured region and its directory.
fn region_dirs(data_dir: &Path, config: &Config) -> Vec<(String, PathBuf)> {
    config
        .regions
        .iter()
        .map(|r| {
            let dir = config
                .vault
                .region_paths
                .get(r)
                .cloned()
                .unwrap_or_else(|| data_dir.join("regions").join(r));
            (r.clone(), dir)
        })
        .collect()
}

async fn blocking<T: Send + 'static>(
    what: &str,
    f: impl FnOnce() -> Result<T, datapact_vault::VaultError> + Send + 'static,
) -> Result<T, MigrateError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(|e| copy_err(what)(&e)),
        Err(e) => Err(copy_err(what)(&e)),
    }
}

/// Moves the embedded deployment in `data_dir` (configured by `config`: its regions and their
/// directories) into `target`. See the module documentation for what is checked.
pub async fn from_sqlite(
    data_dir: &Path,
    config: &Config,
    target: &Target,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Report, MigrateError> {
    let dir_err = |e: std::io::Error| MigrateError::Io {
        path: data_dir.display().to_string(),
        source: e,
    };
    let state_db = data_dir.join("datapact.db");
    let audit_db = data_dir.join("audit.db");
    for f in [&state_db, &audit_db] {
        if !f.exists() {
            return Err(MigrateError::NotADeployment(format!(
                "{} does not exist: {} is not the data directory of an embedded deployment",
                f.display(),
                data_dir.display()
            )));
        }
    }
    let lock = crate::lock_data_dir(data_dir)
        .map_err(dir_err)?
        .ok_or_else(|| MigrateError::Locked(data_dir.display().to_string()))?;

    progress(Progress::Step("verifying the embedded audit log".into()));
    let source_log = {
        let path = audit_db.clone();
        tokio::task::spawn_blocking(move || datapact_audit::verify::verify_file(&path, None, None))
            .await
            .map_err(|e| copy_err("audit log")(&e))?
            .map_err(|e| MigrateError::SourceLog {
                path: audit_db.display().to_string(),
                reason: e.to_string(),
            })?
    };

    progress(Progress::Step("checking that the target databases are empty".into()));
    let regions = region_dirs(data_dir, config);
    let not_empty = |what: String| MigrateError::TargetNotEmpty(what);
    if !datapact_store::transfer::postgres_is_empty(&target.url)
        .await
        .map_err(|e| copy_err("the main database")(&e))?
    {
        return Err(not_empty("the main database already holds governance state".into()));
    }
    if !datapact_audit::postgres::is_empty(&target.url)
        .await
        .map_err(|e| copy_err("the main database")(&e))?
    {
        return Err(not_empty("the main database already holds an audit log".into()));
    }
    let url = target.url.clone();
    if !blocking("the main database", move || {
        datapact_vault::transfer::postgres_secrets_empty(&url)
    })
    .await?
    {
        return Err(not_empty(
            "the main database already holds shared secrets (datapact_secrets)".into(),
        ));
    }
    for (region, _) in &regions {
        let (url, r) = (target.region_url(region).to_string(), region.clone());
        if !blocking(&format!("region `{region}`"), move || {
            datapact_vault::transfer::postgres_region_empty(&url, &r)
        })
        .await?
        {
            return Err(not_empty(format!(
                "the database of region `{region}` already holds records or keys"
            )));
        }
    }

    progress(Progress::Step("copying the sealed secrets".into()));
    let secrets = {
        let (dir, regs, url) = (data_dir.to_path_buf(), regions.clone(), target.url.clone());
        blocking("secrets", move || {
            datapact_vault::transfer::copy_secrets_to_postgres(&dir, &regs, &url)
        })
        .await?
    };

    progress(Progress::Step("copying governance state".into()));
    let tables = datapact_store::transfer::copy_sqlite_to_postgres(data_dir, &target.url)
        .await
        .map_err(|e| copy_err("governance state")(&e))?;

    let mut copies = Vec::new();
    for (region, dir) in &regions {
        progress(Progress::Step(format!("copying the vault of region `{region}`")));
        let (dir, r, url) = (dir.clone(), region.clone(), target.region_url(region).to_string());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
        let job = tokio::task::spawn_blocking(move || {
            datapact_vault::transfer::copy_region_to_postgres(&dir, &r, &url, &|n| {
                let _ = tx.send(n);
            })
        });
        while let Some(n) = rx.recv().await {
            progress(Progress::Records {
                region: region.clone(),
                copied: n,
            });
        }
        let copy = job
            .await
            .map_err(|e| copy_err(&format!("region `{region}`"))(&e))?
            .map_err(|e| copy_err(&format!("region `{region}`"))(&e))?;
        copies.push(copy);
    }

    progress(Progress::Step("copying the audit log".into()));
    let total = source_log.entries;
    let audit = datapact_audit::postgres::import_sqlite(&audit_db, &target.url, &|n| {
        progress(Progress::Entries { copied: n, total })
    })
    .await
    .map_err(|e| copy_err("audit log")(&e))?;

    progress(Progress::Step("verifying the copy".into()));
    for t in &tables {
        if t.source != t.target {
            return Err(MigrateError::Verify(format!(
                "table {}: {} rows in the source, {} in PostgreSQL",
                t.table, t.source, t.target
            )));
        }
    }
    for c in &copies {
        if c.records.0 != c.records.1
            || c.keys.0 != c.keys.1
            || c.training_items.0 != c.training_items.1
            || c.mining_messages.0 != c.mining_messages.1
            || !c.digests_match
        {
            return Err(MigrateError::Verify(format!(
                "region `{}`: records {} / {}, key rows {} / {}, training items {} / {}, message index rows {} / {}, digests {}",
                c.region,
                c.records.0,
                c.records.1,
                c.keys.0,
                c.keys.1,
                c.training_items.0,
                c.training_items.1,
                c.mining_messages.0,
                c.mining_messages.1,
                if c.digests_match { "equal" } else { "differ" }
            )));
        }
    }
    let target_log = datapact_audit::postgres::verify(&target.url, None, None)
        .await
        .map_err(|e| MigrateError::Verify(format!("the audit log in PostgreSQL: {e}")))?;
    if target_log.entries != source_log.entries
        || target_log.root != source_log.root
        || target_log.checkpoints != source_log.checkpoints
    {
        return Err(MigrateError::Verify(format!(
            "the audit log: {} entries, root {}, {} checkpoints in the source; {} entries, root {}, {} checkpoints in PostgreSQL",
            source_log.entries,
            source_log.root,
            source_log.checkpoints,
            target_log.entries,
            target_log.root,
            target_log.checkpoints
        )));
    }
    drop(lock);
    Ok(Report {
        tables,
        secrets,
        regions: copies,
        audit,
        roots: (source_log.root, target_log.root),
        checkpoints: (source_log.checkpoints, target_log.checkpoints),
    })
}
