//! CLI commands for the audit log: verify it (from storage or over the API), query and
//! export entries, fetch checkpoints and proofs, and check proofs offline.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use clap::{Args, Subcommand, ValueEnum};
use datapact_audit::Checkpoint;
use datapact_audit::merkle::{Frontier, Hash, leaf_hash, verify_consistency, verify_inclusion};
use datapact_audit::verify::{checkpoint_signature_ok, verify_file};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use crate::client::{Client, seg};
use crate::{Remote, client, out, output, print};

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Recompute the log and check every checkpoint: from a data directory, or over the API.
    Verify(VerifyArgs),
    /// Entries, filtered (the server's default window, 60 days unless configured, unless --since says otherwise).
    Query(QueryArgs),
    /// Export entries of any time range as JSON lines or CSV (with a progress bar).
    Export(ExportArgs),
    /// Fetch the server's current signed checkpoint.
    Checkpoint {
        /// Save it here (JSON), to check proofs against it later.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Fetch an inclusion proof (--index) or a consistency proof (--from).
    Proof(ProofArgs),
    /// Check an inclusion or consistency proof offline against a saved checkpoint.
    #[command(name = "check-proof")]
    CheckProof(CheckProofArgs),
    /// Move old entries of a deployment's log on PostgreSQL into bundle files (proofs over them
    /// still verify: the tree's tiles stay in the database).
    Archive(ArchiveArgs),
}

#[derive(Args)]
pub struct ArchiveArgs {
    /// The environment variable holding the database's URL.
    #[arg(
        long,
        value_name = "VAR",
        conflicts_with = "database_url_file",
        required_unless_present = "database_url_file"
    )]
    database_url_env: Option<String>,
    /// As --database-url-env, with the URL in this file.
    #[arg(long, value_name = "FILE")]
    database_url_file: Option<PathBuf>,
    /// Where the bundle files go (move them to object storage afterwards, keep them for
    /// `audit verify --archive`).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Archive entries below this index (rounded down to whole bundles, and to the newest
    /// signed checkpoint). Default: everything a signed checkpoint covers.
    #[arg(long, value_name = "INDEX")]
    before: Option<u64>,
    /// Entries per bundle file (a multiple of 256).
    #[arg(long, default_value_t = datapact_audit::archive::DEFAULT_BUNDLE)]
    bundle: u64,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// Verify the log stored in this data directory (the operator's view; no server needed).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Verify the log in the PostgreSQL database whose URL is in this environment variable
    /// (a deployment of several nodes; no server needed).
    #[arg(long, value_name = "VAR", conflicts_with_all = ["data_dir", "database_url_file"])]
    database_url_env: Option<String>,
    /// As --database-url-env, with the URL in this file.
    #[arg(long, value_name = "FILE", conflicts_with = "data_dir")]
    database_url_file: Option<PathBuf>,
    /// The server's public key (base64) to pin. Default: the key in the data directory, or the
    /// one in --state, or the server's own.
    #[arg(long)]
    public_key: Option<String>,
    /// With --database-url-env/-file: the directory holding the bundle files of archived
    /// ranges, each checked (its SHA-256, every entry against its tile); without it, archived
    /// ranges are recomputed from their tiles.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["data_dir", "state"])]
    archive: Option<PathBuf>,
    /// Over the API: a file keeping the last verified checkpoint, so the next run also proves
    /// the log only grew since (created when missing).
    #[arg(long, conflicts_with_all = ["data_dir", "database_url_env", "database_url_file"])]
    state: Option<PathBuf>,
}

#[derive(Args, Clone, Default)]
pub struct Filters {
    /// Only this organization.
    #[arg(long)]
    org: Option<String>,
    /// Only this tenant.
    #[arg(long)]
    tenant: Option<String>,
    /// Only this product.
    #[arg(long)]
    product: Option<String>,
    /// Only this action: decision, availability, content_read, record_list, record_write,
    /// record_modify, record_delete, export, purge, rows_removed, retention_sweep, key_create,
    /// key_rotate, key_destroy, org_create, terms_change, termination, tenant_change,
    /// opt_out_record, opt_out_revoke, ai_settings_change, retention_change,
    /// support_grant_create, support_grant_revoke, api_key_create, api_key_revoke, llm_call,
    /// llm_forward, audit_read, key_list, certificate_read, reencrypt, training_dataset_create,
    /// training_dataset_build, training_export, training_data_used, model_register,
    /// training_read, mining_dataset_create, mining_dataset_change, mining_label, mining_train,
    /// mining_predict, mining_stream.
    #[arg(long)]
    action: Option<String>,
    /// Only this purpose, e.g. support_access.
    #[arg(long)]
    purpose: Option<String>,
    /// Only this outcome: allowed, denied or error.
    #[arg(long)]
    outcome: Option<String>,
    /// At or after this time (RFC 3339).
    #[arg(long)]
    since: Option<String>,
    /// Before this time (RFC 3339).
    #[arg(long)]
    until: Option<String>,
}

impl Filters {
    fn query(&self) -> Vec<(String, String)> {
        [
            ("org", &self.org),
            ("tenant", &self.tenant),
            ("product", &self.product),
            ("action", &self.action),
            ("purpose", &self.purpose),
            ("outcome", &self.outcome),
            ("since", &self.since),
            ("until", &self.until),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_string(), v.clone())))
        .collect()
    }
}

fn query_string(pairs: &[(String, String)]) -> String {
    let joined: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", seg(v))).collect();
    if joined.is_empty() {
        String::new()
    } else {
        format!("?{}", joined.join("&"))
    }
}

#[derive(Args)]
pub struct QueryArgs {
    #[command(flatten)]
    filters: Filters,
    /// Page size (1 to 1000).
    #[arg(long, default_value_t = 100)]
    limit: u32,
    /// Entries after this index (the `next` of the previous page).
    #[arg(long)]
    after: Option<u64>,
}

#[derive(Copy, Clone, ValueEnum)]
pub enum ExportFormat {
    /// One entry per line, as the API returns it.
    Jsonl,
    /// A spreadsheet-friendly table.
    Csv,
}

#[derive(Args)]
pub struct ExportArgs {
    #[command(flatten)]
    filters: Filters,
    /// Output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    format: ExportFormat,
    /// Output file; written whole or not at all.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
pub struct ProofArgs {
    /// Inclusion proof of the entry at this index.
    #[arg(long, conflicts_with = "from", required_unless_present = "from")]
    index: Option<u64>,
    /// Consistency proof from this tree size.
    #[arg(long)]
    from: Option<u64>,
    /// The tree size to prove against (default: the current checkpoint's).
    #[arg(long)]
    tree_size: Option<u64>,
    /// Save the proof here (JSON); with --index the entry is saved beside it (proof.json → proof.entry.json).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
pub struct CheckProofArgs {
    /// The signed checkpoint the proof is for (as `audit checkpoint --out` saves it).
    #[arg(long)]
    checkpoint: PathBuf,
    /// The server's public key (base64) to pin.
    #[arg(long)]
    public_key: Option<String>,
    /// An inclusion proof (`{"index", "tree_size", "hashes"}`); needs --entry.
    #[arg(
        long,
        conflicts_with = "consistency",
        required_unless_present = "consistency",
        requires = "entry"
    )]
    inclusion: Option<PathBuf>,
    /// The entry the inclusion proof is for (an entry as the API returns it, with `leaf`).
    #[arg(long)]
    entry: Option<PathBuf>,
    /// A consistency proof (`{"from", "to", "hashes"}`); needs --old-checkpoint.
    #[arg(long, requires = "old_checkpoint")]
    consistency: Option<PathBuf>,
    /// The older signed checkpoint the consistency proof starts from.
    #[arg(long)]
    old_checkpoint: Option<PathBuf>,
}

pub async fn run(cmd: AuditCmd, remote: &Remote) -> Result<ExitCode> {
    match cmd {
        AuditCmd::Verify(a) => verify(a, remote).await,
        AuditCmd::Archive(a) => archive(a).await,
        AuditCmd::Query(a) => query(a, remote).await,
        AuditCmd::Export(a) => export(a, remote).await,
        AuditCmd::Checkpoint { out } => {
            let v = client(remote)?.get("/v1/audit/checkpoint").await?;
            if let Some(path) = &out {
                write_json(path, &v)?;
            }
            print(remote, &v, |v| {
                format!(
                    "{}{}",
                    output::object(v),
                    out.as_ref()
                        .map(|p| format!("\nsaved to {}", p.display()))
                        .unwrap_or_default()
                )
            })
        }
        AuditCmd::Proof(a) => proof(a, remote).await,
        AuditCmd::CheckProof(a) => check_proof(a),
    }
}

/// Writes a checkpoint, proof or entry, private to its owner (entries name tenants and keys).
fn write_json(path: &Path, v: &Value) -> Result<()> {
    use std::io::Write;
    crate::client::private_file(path)
        .and_then(|mut f| f.write_all(&serde_json::to_vec_pretty(v)?))
        .with_context(|| format!("cannot write {}", path.display()))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| anyhow!("{}: not {what}: {e}", path.display()))
}

fn public_key(b64: &str, from: &str) -> Result<[u8; 32]> {
    B64.decode(b64.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| anyhow!("{from}: the public key is not 32 bytes of base64"))
}

fn hash(b64: &str, what: &str) -> Result<Hash> {
    B64.decode(b64)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| anyhow!("{what} is not a base64 SHA-256 hash"))
}

/// The origin a checkpoint was signed under: the first line of its signed note.
fn origin(cp: &Checkpoint) -> Result<&str> {
    cp.note
        .lines()
        .next()
        .filter(|l| !l.is_empty())
        .ok_or_else(|| anyhow!("checkpoint at tree size {} carries no signed note", cp.tree_size))
}

/// Checks a checkpoint's signature (against the pinned key, if any).
fn check_signature(cp: &Checkpoint, pinned: Option<&[u8; 32]>) -> Result<()> {
    let origin = origin(cp)?;
    checkpoint_signature_ok(cp, origin, pinned)
        .map_err(|reason| anyhow!("checkpoint at tree size {}: {reason}", cp.tree_size))
}

fn proof_hashes(v: &Value) -> Result<Vec<Hash>> {
    v.get("hashes")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("the proof has no `hashes` array"))?
        .iter()
        .enumerate()
        .map(|(i, h)| hash(h.as_str().unwrap_or(""), &format!("hashes[{i}]")))
        .collect()
}

fn field_u64(v: &Value, name: &str, file: &Path) -> Result<u64> {
    v.get(name)
        .and_then(Value::as_u64)
        .ok_or_else(|| anyhow!("{}: field `{name}` is missing or not a number", file.display()))
}

fn check_proof(a: CheckProofArgs) -> Result<ExitCode> {
    let cp: Checkpoint = read_json(&a.checkpoint, "a checkpoint")?;
    let pinned = a
        .public_key
        .as_deref()
        .map(|k| public_key(k, "--public-key"))
        .transpose()?;
    check_signature(&cp, pinned.as_ref()).with_context(|| a.checkpoint.display().to_string())?;
    if pinned.is_none() {
        // Without a pinned key, anyone who can write the checkpoint file can sign it.
        eprintln!(
            "WARNING: no --public-key given: the checkpoint was checked against the key it carries ({}), \
             which proves nothing unless you know that key is the server's (GET /v1/server/public-key)",
            cp.public_key
        );
    }
    let root = hash(&cp.root_hash, "the checkpoint's root_hash")?;
    if let (Some(proof_path), Some(entry_path)) = (&a.inclusion, &a.entry) {
        let proof: Value = read_json(proof_path, "a proof")?;
        let entry: Value = read_json(entry_path, "an entry")?;
        let index = field_u64(&proof, "index", proof_path)?;
        let size = field_u64(&proof, "tree_size", proof_path)?;
        if size != cp.tree_size {
            bail!(
                "{}: the proof is for tree size {size}, the checkpoint for {}",
                proof_path.display(),
                cp.tree_size
            );
        }
        if field_u64(&entry, "index", entry_path)? != index {
            bail!("{}: the entry is not the one at index {index}", entry_path.display());
        }
        let leaf = B64
            .decode(entry.get("leaf").and_then(Value::as_str).unwrap_or(""))
            .map_err(|_| anyhow!("{}: `leaf` is not base64", entry_path.display()))?;
        // The proof covers the leaf bytes; the readable entry beside them must say the same.
        let hashed: Value = serde_json::from_slice(&leaf)
            .map_err(|_| anyhow!("{}: `leaf` does not hold an audit entry", entry_path.display()))?;
        if entry.get("entry").is_some_and(|shown| *shown != hashed) {
            out(&format!(
                "FAILED: {}: the entry shown is not the entry whose bytes are hashed (`leaf`); it was altered",
                entry_path.display()
            ));
            return Ok(ExitCode::FAILURE);
        }
        if !verify_inclusion(&leaf_hash(&leaf), index, size, &proof_hashes(&proof)?, &root) {
            out(&format!(
                "FAILED: entry {index} is NOT in the log of {size} entries signed at {}",
                cp.timestamp
            ));
            return Ok(ExitCode::FAILURE);
        }
        out(&format!(
            "OK: entry {index} is in the log of {size} entries whose root {} was signed by {} at {}",
            cp.root_hash, cp.key_id, cp.timestamp
        ));
        return Ok(ExitCode::SUCCESS);
    }
    if let (Some(proof_path), Some(old_path)) = (&a.consistency, &a.old_checkpoint) {
        let old: Checkpoint = read_json(old_path, "a checkpoint")?;
        check_signature(&old, pinned.as_ref()).with_context(|| old_path.display().to_string())?;
        let proof: Value = read_json(proof_path, "a proof")?;
        let (from, to) = (
            field_u64(&proof, "from", proof_path)?,
            field_u64(&proof, "to", proof_path)?,
        );
        if from != old.tree_size || to != cp.tree_size {
            bail!(
                "{}: the proof is from {from} to {to}; the checkpoints are at {} and {}",
                proof_path.display(),
                old.tree_size,
                cp.tree_size
            );
        }
        let old_root = hash(&old.root_hash, "the old checkpoint's root_hash")?;
        if !verify_consistency(from, to, &old_root, &root, &proof_hashes(&proof)?) {
            out(&format!(
                "FAILED: the log of {to} entries does NOT extend the log of {from} entries: it was rewritten"
            ));
            return Ok(ExitCode::FAILURE);
        }
        out(&format!(
            "OK: the log of {to} entries (signed {}) extends the log of {from} entries (signed {}) without changing it",
            cp.timestamp, old.timestamp
        ));
        return Ok(ExitCode::SUCCESS);
    }
    bail!("give --inclusion with --entry, or --consistency with --old-checkpoint")
}

async fn proof(a: ProofArgs, remote: &Remote) -> Result<ExitCode> {
    let c = client(remote)?;
    let size = a.tree_size.map(|s| format!("{s}"));
    let v = if let Some(index) = a.index {
        let mut path = format!("/v1/audit/proofs/inclusion?index={index}");
        if let Some(s) = &size {
            path.push_str(&format!("&tree_size={s}"));
        }
        let proof = c.get(&path).await?;
        if let Some(p) = &a.out {
            let entry = fetch_entry(&c, index).await?;
            let entry_path = p.with_extension("entry.json");
            write_json(&entry_path, &entry)?;
            eprintln!("entry saved to {}", entry_path.display());
        }
        proof
    } else {
        let from = a.from.ok_or_else(|| anyhow!("give --index or --from"))?;
        let mut path = format!("/v1/audit/proofs/consistency?from={from}");
        if let Some(s) = &size {
            path.push_str(&format!("&to={s}"));
        }
        c.get(&path).await?
    };
    if let Some(p) = &a.out {
        write_json(p, &v)?;
        eprintln!("proof saved to {}", p.display());
    }
    print(remote, &v, |v| output::object(v).to_string())
}

/// The entry at `index`, as the API returns it (the caller must be able to see it).
async fn fetch_entry(c: &Client, index: u64) -> Result<Value> {
    let after = index.checked_sub(1).map(|a| format!("&after={a}")).unwrap_or_default();
    let page = c
        .get(&format!("/v1/audit/entries?limit=1&since=1970-01-01T00:00:00Z{after}"))
        .await?;
    page["items"]
        .as_array()
        .and_then(|items| items.first())
        .filter(|e| e["index"].as_u64() == Some(index))
        .cloned()
        .ok_or_else(|| anyhow!("entry {index} is not visible to this key"))
}

async fn query(a: QueryArgs, remote: &Remote) -> Result<ExitCode> {
    let mut q = a.filters.query();
    q.push(("limit".into(), a.limit.to_string()));
    if let Some(after) = a.after {
        q.push(("after".into(), after.to_string()));
    }
    let v = client(remote)?
        .get(&format!("/v1/audit/entries{}", query_string(&q)))
        .await?;
    print(remote, &v, |v| {
        let mut t = output::table(&[
            "index", "time", "action", "outcome", "tenant", "product", "purpose", "by", "note",
        ]);
        for item in v["items"].as_array().into_iter().flatten() {
            let e = &item["entry"];
            let by = match (e["actor"]["role"].as_str(), e["actor"]["key"].as_str()) {
                (Some(r), Some(k)) => format!("{r} {k}"),
                _ => "datapact".into(),
            };
            let note = item
                .get("support_access")
                .map(|s| format!("vendor support access, ticket {}", output::cell(s.get("ticket"))))
                .unwrap_or_else(|| {
                    e["reasons"]
                        .as_array()
                        .map(|r| r.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
                        .unwrap_or_default()
                });
            t.add_row(vec![
                output::cell(item.get("index")),
                output::cell(e.get("time")),
                output::cell(e.get("action")),
                output::cell(e.get("outcome")),
                output::cell(e.get("tenant")),
                output::cell(e.get("product")),
                output::cell(e.get("purpose")),
                by,
                note,
            ]);
        }
        let next = v
            .get("next")
            .and_then(Value::as_str)
            .map(|n| format!("\nmore: --after {n}"))
            .unwrap_or_default();
        output::keep_ids_whole(&mut t);
        format!("{t}{next}")
    })
}

async fn export(a: ExportArgs, remote: &Remote) -> Result<ExitCode> {
    let mut q = a.filters.query();
    q.push((
        "format".into(),
        match a.format {
            ExportFormat::Jsonl => "jsonl",
            ExportFormat::Csv => "csv",
        }
        .into(),
    ));
    let resp = client(remote)?
        .get_stream(&format!("/v1/audit/export{}", query_string(&q)))
        .await?;
    let partial = a.out.with_extension("partial");
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos} entries ({per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let lines = crate::client::download(resp, &partial, &bar).await?;
    std::fs::rename(&partial, &a.out).with_context(|| format!("cannot move the export to {}", a.out.display()))?;
    let entries = match a.format {
        ExportFormat::Jsonl => lines,
        ExportFormat::Csv => lines.saturating_sub(1),
    };
    eprintln!("exported {entries} audit entries to {}", a.out.display());
    Ok(ExitCode::SUCCESS)
}

async fn verify(a: VerifyArgs, remote: &Remote) -> Result<ExitCode> {
    if let Some(dir) = &a.data_dir {
        return verify_dir(dir, a.public_key.as_deref());
    }
    let url = database_url(a.database_url_env.as_deref(), a.database_url_file.as_deref())?;
    match url {
        Some(url) => verify_database(&url, a.public_key.as_deref(), a.archive.as_deref()).await,
        None => {
            if a.archive.is_some() {
                bail!("--archive goes with --database-url-env or --database-url-file");
            }
            verify_remote(&a, remote).await
        }
    }
}

/// The database URL from `--database-url-env` or `--database-url-file`, if either is given.
fn database_url(env: Option<&str>, file: Option<&Path>) -> Result<Option<String>> {
    let (flag, url) = match (env, file) {
        (Some(var), _) => (
            "--database-url-env",
            std::env::var(var)
                .with_context(|| format!("--database-url-env: the environment variable {var} is not set"))?,
        ),
        (None, Some(file)) => (
            "--database-url-file",
            std::fs::read_to_string(file)
                .with_context(|| format!("--database-url-file: cannot read {}", file.display()))?,
        ),
        (None, None) => return Ok(None),
    };
    let url = url.trim();
    if url.is_empty() {
        bail!("{flag}: the database URL is empty");
    }
    Ok(Some(url.to_string()))
}

async fn archive(a: ArchiveArgs) -> Result<ExitCode> {
    let url = database_url(a.database_url_env.as_deref(), a.database_url_file.as_deref())?
        .context("--database-url-env or --database-url-file names the database")?;
    let done = datapact_audit::postgres::archive(&url, Some(&a.out), a.before.unwrap_or(u64::MAX), a.bundle)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for b in &done {
        out(&format!(
            "archived [{}, {}) to {} (sha256 {})",
            b.start,
            b.end,
            a.out.join(b.file.as_deref().unwrap_or("")).display(),
            b.sha256.as_deref().unwrap_or("")
        ));
    }
    out(&format!(
        "{} bundle(s) archived; their tiles stay in the database, so proofs over them still verify",
        done.len()
    ));
    Ok(ExitCode::SUCCESS)
}

/// The log of a deployment on PostgreSQL, from the database alone. The default key to pin is
/// the deployment's own (the public half of the shared signing key).
async fn verify_database(url: &str, pin: Option<&str>, archive: Option<&Path>) -> Result<ExitCode> {
    let pinned = match pin {
        Some(k) => public_key(k, "--public-key")?,
        None => {
            let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .context("cannot connect to the database")?;
            let task = tokio::spawn(conn);
            let row = client
                .query_opt("SELECT body FROM datapact_secrets WHERE name = 'signing-key.json'", &[])
                .await
                .context("the database holds no datapact deployment (no datapact_secrets table); pass --public-key")?;
            drop(client);
            let _ = task.await;
            let body: String = row
                .map(|r| r.get(0))
                .context("the deployment has no signing key yet; pass --public-key")?;
            let v: Value = serde_json::from_str(&body).context("the stored signing key does not parse")?;
            public_key(v["public_key"].as_str().unwrap_or(""), "the deployment's signing key")?
        }
    };
    match datapact_audit::postgres::verify_with_archive(url, None, Some(&pinned), archive).await {
        Ok(r) => {
            let archived = match (r.archived, archive) {
                (0, _) => String::new(),
                (n, Some(_)) => format!(" ({n} archived, checked against their bundle files)"),
                (n, None) => format!(" ({n} archived, taken from their tiles; --archive DIR checks the files)"),
            };
            out(&format!(
                "OK: {} entries recomputed from the database{archived}; {} signed checkpoint(s) match; {} entries after the newest checkpoint; root {}",
                r.entries, r.checkpoints, r.unsigned_tail, r.root
            ));
            Ok(ExitCode::SUCCESS)
        }
        Err(f) => {
            out(&format!("FAILED: {f}"));
            Ok(ExitCode::FAILURE)
        }
    }
}

fn verify_dir(dir: &Path, pin: Option<&str>) -> Result<ExitCode> {
    let db = dir.join("audit.db");
    if !db.is_file() {
        bail!(
            "{} is not a datapact data directory: it has no audit.db (the directory `datapact serve --data-dir` uses)",
            dir.display()
        );
    }
    let pinned = match pin {
        Some(k) => public_key(k, "--public-key")?,
        None => {
            // The operator's default: the key the server signs with, from its own key file.
            let path = dir.join("signing-key.json");
            let v: Value = read_json(&path, "a datapact signing key file")?;
            public_key(v["public_key"].as_str().unwrap_or(""), &path.display().to_string())?
        }
    };
    match verify_file(&db, None, Some(&pinned)) {
        Ok(r) => {
            out(&format!(
                "OK: {} entries recomputed from {}; {} signed checkpoint(s) match; {} entries after the newest checkpoint; root {}",
                r.entries,
                db.display(),
                r.checkpoints,
                r.unsigned_tail,
                r.root
            ));
            Ok(ExitCode::SUCCESS)
        }
        Err(f) => {
            out(&format!("FAILED: {}: {f}", db.display()));
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Over the API. A key that sees the whole log recomputes the tree from every entry and
/// checks each signed checkpoint against it; a key scoped to one organization checks an
/// inclusion proof for each entry it can see. Both check a consistency proof between every
/// two successive checkpoints, and from the checkpoint kept in --state.
async fn verify_remote(a: &VerifyArgs, remote: &Remote) -> Result<ExitCode> {
    let c = client(remote)?;
    let me = c.get("/v1/me").await?;
    let global = me.get("org").is_none_or(Value::is_null) && me.get("tenant").is_none_or(Value::is_null);
    let saved: Option<Checkpoint> = match &a.state {
        Some(p) if p.exists() => Some(read_json(p, "a saved checkpoint")?),
        _ => None,
    };
    let pinned = match (&a.public_key, &saved) {
        (Some(k), _) => public_key(k, "--public-key")?,
        (None, Some(s)) => public_key(&s.public_key, "the saved checkpoint")?,
        (None, None) => {
            let v = c.get("/v1/server/public-key").await?;
            public_key(v["public_key"].as_str().unwrap_or(""), "the server")?
        }
    };
    let latest: Checkpoint = serde_json::from_value(c.get("/v1/audit/checkpoint").await?)?;
    let mut checkpoints: Vec<Checkpoint> = Vec::new();
    let mut after: Option<u64> = None;
    loop {
        let q = after.map(|a| format!("?after={a}")).unwrap_or_default();
        let page = c.get(&format!("/v1/audit/checkpoints{q}")).await?;
        for item in page["items"].as_array().into_iter().flatten() {
            checkpoints.push(serde_json::from_value(item.clone())?);
        }
        match page.get("next").and_then(Value::as_str) {
            Some(n) => after = Some(n.parse()?),
            None => break,
        }
    }
    checkpoints.retain(|cp| cp.tree_size <= latest.tree_size);
    if checkpoints.last().is_none_or(|cp| cp.tree_size != latest.tree_size) {
        checkpoints.push(latest.clone());
    }
    let failed = |msg: String| {
        out(&format!("FAILED: {msg}"));
        Ok(ExitCode::FAILURE)
    };
    for cp in &checkpoints {
        if let Err(e) = check_signature(cp, Some(&pinned)) {
            return failed(e.to_string());
        }
    }
    // Every consistency step between successive checkpoints, and from the saved one.
    let mut chain: Vec<&Checkpoint> = checkpoints.iter().filter(|cp| cp.tree_size > 0).collect();
    if let Some(s) = &saved {
        if s.tree_size > latest.tree_size {
            return failed(format!(
                "the saved checkpoint has {} entries, the log now only {}: entries were removed",
                s.tree_size, latest.tree_size
            ));
        }
        chain.push(s);
        chain.sort_by_key(|cp| cp.tree_size);
    }
    for pair in chain.windows(2) {
        let (old, new) = (pair[0], pair[1]);
        if old.tree_size == new.tree_size {
            if old.root_hash != new.root_hash {
                return failed(format!(
                    "two checkpoints of size {} disagree on the root",
                    old.tree_size
                ));
            }
            continue;
        }
        let p = c
            .get(&format!(
                "/v1/audit/proofs/consistency?from={}&to={}",
                old.tree_size, new.tree_size
            ))
            .await?;
        let ok = verify_consistency(
            old.tree_size,
            new.tree_size,
            &hash(&old.root_hash, "root_hash")?,
            &hash(&new.root_hash, "root_hash")?,
            &proof_hashes(&p)?,
        );
        if !ok {
            return failed(format!(
                "the log of {} entries does not extend the one of {}: it was rewritten",
                new.tree_size, old.tree_size
            ));
        }
    }
    let bar = ProgressBar::new(latest.tree_size);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bar:40} {pos}/{len} entries ({per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let root = hash(&latest.root_hash, "root_hash")?;
    let mut resp = c.get_stream("/v1/audit/export").await?;
    let mut frontier = Frontier::default();
    let mut pending = Vec::new();
    let mut seen = 0u64;
    let mut by_size: Vec<&Checkpoint> = checkpoints.iter().collect();
    by_size.reverse();
    'stream: while let Some(chunk) = resp.chunk().await.context("the audit export broke off")? {
        pending.extend_from_slice(&chunk);
        while let Some(pos) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=pos).collect();
            let v: Value = serde_json::from_slice(&line).context("the export sent a line that is not JSON")?;
            let index = v["index"]
                .as_u64()
                .ok_or_else(|| anyhow!("an exported entry has no index"))?;
            if index >= latest.tree_size {
                break 'stream;
            }
            let leaf = B64
                .decode(v["leaf"].as_str().unwrap_or(""))
                .map_err(|_| anyhow!("entry {index}: `leaf` is not base64"))?;
            let parsed: Value =
                serde_json::from_slice(&leaf).map_err(|_| anyhow!("entry {index}: its leaf is not JSON"))?;
            if parsed["index"].as_u64() != Some(index) {
                return failed(format!("entry {index}: its hashed bytes say index {}", parsed["index"]));
            }
            if parsed != v["entry"] {
                return failed(format!(
                    "entry {index}: the entry shown differs from the bytes that are hashed"
                ));
            }
            if global {
                if index != frontier.size() {
                    return failed(format!(
                        "entry {}: missing (the next entry served is {index})",
                        frontier.size()
                    ));
                }
                frontier.push(leaf_hash(&leaf));
                while let Some(cp) = by_size.last() {
                    if cp.tree_size > frontier.size() {
                        break;
                    }
                    if B64.encode(frontier.root()) != cp.root_hash {
                        return failed(format!(
                            "entries 0 to {} do not hash to the root signed at tree size {}: one of them was changed \
                             (run `audit verify --data-dir` on the server to name it)",
                            frontier.size() - 1,
                            cp.tree_size
                        ));
                    }
                    by_size.pop();
                }
            } else {
                let p = c
                    .get(&format!(
                        "/v1/audit/proofs/inclusion?index={index}&tree_size={}",
                        latest.tree_size
                    ))
                    .await?;
                if !verify_inclusion(&leaf_hash(&leaf), index, latest.tree_size, &proof_hashes(&p)?, &root) {
                    return failed(format!(
                        "entry {index} is not in the signed log of {} entries",
                        latest.tree_size
                    ));
                }
            }
            seen += 1;
            bar.set_position(index + 1);
        }
    }
    bar.finish_and_clear();
    if global && frontier.size() != latest.tree_size {
        return failed(format!(
            "the log served {} entries but its checkpoint signs {}",
            frontier.size(),
            latest.tree_size
        ));
    }
    if let Some(p) = &a.state {
        write_json(p, &serde_json::to_value(&latest)?)?;
    }
    let how = if global {
        format!("{seen} entries recomputed into the signed root")
    } else {
        format!("{seen} entries of this organization proven included")
    };
    out(&format!(
        "OK: {how}; {} checkpoint(s) signed by {} and consistent{}; tree size {}, root {}",
        checkpoints.len(),
        latest.key_id,
        if saved.is_some() { " with the saved one" } else { "" },
        latest.tree_size,
        latest.root_hash
    ));
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use clap::Args;

    #[test]
    fn action_help_names_every_action() {
        let cmd = super::Filters::augment_args(clap::Command::new("t"));
        let help = cmd
            .get_arguments()
            .find(|a| a.get_id() == "action")
            .and_then(|a| a.get_help())
            .map(|h| h.to_string())
            .unwrap_or_default();
        for a in datapact_audit::Action::ALL {
            assert!(help.contains(a.as_str()), "--action help lacks {}", a.as_str());
        }
    }
}
