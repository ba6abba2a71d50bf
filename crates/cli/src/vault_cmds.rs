//! CLI commands for the data vault: records, export, purge, certificates, termination,
//! retention and data key rotation.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::Method;
use serde_json::{Value, json};

use crate::client::seg;
use crate::{DataKindArg, PurposeArg, Remote, client, enum_name, out, output, print};

#[derive(Subcommand)]
pub enum RecordCmd {
    /// Write a record (a product's service key).
    Put {
        /// Tenant id (ten_…).
        #[arg(long)]
        tenant: String,
        /// Product id from the catalog, e.g. ixp.
        #[arg(long)]
        product: String,
        /// Which kind of data.
        #[arg(long, value_enum)]
        data_kind: DataKindArg,
        /// Text content.
        #[arg(long, conflicts_with = "file")]
        content: Option<String>,
        /// Read the content from a file (sent as bytes; `--text` to send it as text).
        #[arg(long)]
        file: Option<PathBuf>,
        /// With --file: the file is UTF-8 text.
        #[arg(long, requires = "file")]
        text: bool,
        /// Media type, e.g. text/plain or application/json.
        #[arg(long)]
        content_type: Option<String>,
        /// A data category (repeat), e.g. user.contact.email.
        #[arg(long = "category")]
        categories: Vec<String>,
        /// Metadata as a JSON object.
        #[arg(long)]
        metadata: Option<String>,
    },
    /// Read a record's content for a purpose.
    Get {
        /// Tenant id (ten_…).
        #[arg(long)]
        tenant: String,
        /// Id of the item.
        id: String,
        /// What the data would be used for.
        #[arg(long, value_enum)]
        purpose: PurposeArg,
    },
    /// List records (metadata only).
    List {
        /// Tenant id (ten_…).
        #[arg(long)]
        tenant: String,
        /// Product id from the catalog, e.g. ixp.
        #[arg(long)]
        product: Option<String>,
        /// Only this data category or ones below it.
        #[arg(long)]
        category: Option<String>,
        /// Page size.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Delete a record.
    Delete {
        /// Tenant id (ten_…).
        #[arg(long)]
        tenant: String,
        /// Id of the item.
        id: String,
    },
}

#[derive(Args)]
pub struct ExportArgs {
    /// Tenant id (ten_…).
    #[arg(long)]
    tenant: String,
    /// Product id from the catalog, e.g. ixp.
    #[arg(long)]
    product: Option<String>,
    /// Output file (NDJSON); written whole or not at all.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
pub struct PurgeArgs {
    /// Tenant id (ten_…).
    #[arg(long)]
    tenant: String,
    /// Save the signed deletion certificate here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Purge without asking (needed when there is no terminal to ask on).
    #[arg(long, short = 'y')]
    yes: bool,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The certificate (JSON, as `purge --out` saves it or as the API returns it).
    file: PathBuf,
    /// The server's public key (base64) to pin, from `GET /v1/server/public-key`.
    #[arg(long)]
    public_key: Option<String>,
}

#[derive(Subcommand)]
pub enum DataKeyCmd {
    /// Start a new data key version and re-encrypt every record under it.
    Rotate {
        /// Tenant id (ten_…).
        #[arg(long)]
        tenant: String,
        /// Return once the job is started instead of following its progress.
        #[arg(long)]
        no_wait: bool,
    },
    /// List a tenant's data key versions.
    List {
        /// Tenant id (ten_…).
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Subcommand)]
pub enum RetentionCmd {
    /// Show a tenant's retention rules.
    Get {
        /// Tenant id (ten_…).
        #[arg(long)]
        tenant: String,
    },
    /// Replace a tenant's retention rules with a JSON list, e.g. '[{"product":"ixp","max_age_days":30}]'.
    Set {
        /// Tenant id (ten_…).
        #[arg(long)]
        tenant: String,
        rules: String,
    },
}

pub async fn record(cmd: RecordCmd, remote: &Remote) -> Result<ExitCode> {
    match cmd {
        RecordCmd::Put {
            tenant,
            product,
            data_kind,
            content,
            file,
            text,
            content_type,
            categories,
            metadata,
        } => {
            let mut body = json!({"product": product, "data_kind": enum_name(data_kind)});
            match (content, file) {
                (Some(c), _) => body["content"] = json!(c),
                (None, Some(f)) => {
                    let bytes = std::fs::read(&f).with_context(|| format!("cannot read {}", f.display()))?;
                    if text {
                        body["content"] = json!(String::from_utf8(bytes).map_err(|e| anyhow!(
                            "{}: not UTF-8 text (byte offset {}); drop --text to send bytes",
                            f.display(),
                            e.utf8_error().valid_up_to()
                        ))?);
                    } else {
                        body["content_base64"] = json!(base64::engine::general_purpose::STANDARD.encode(bytes));
                    }
                }
                (None, None) => bail!("give --content TEXT or --file PATH"),
            }
            if let Some(ct) = content_type {
                body["content_type"] = json!(ct);
            }
            if !categories.is_empty() {
                body["categories"] = json!(categories);
            }
            if let Some(m) = metadata {
                body["metadata"] =
                    serde_json::from_str(&m).map_err(|e| anyhow!("--metadata: column {}: {e}", e.column()))?;
            }
            let v = client(remote)?
                .post(&format!("/v1/tenants/{}/records", seg(&tenant)), &body)
                .await?;
            print(remote, &v, |v| output::object(v).to_string())
        }
        RecordCmd::Get { tenant, id, purpose } => {
            let v = client(remote)?
                .get(&format!(
                    "/v1/tenants/{}/records/{}?purpose={}",
                    seg(&tenant),
                    seg(&id),
                    enum_name(purpose)
                ))
                .await?;
            print(remote, &v, |v| output::object(v).to_string())
        }
        RecordCmd::List {
            tenant,
            product,
            category,
            limit,
        } => {
            let mut path = format!("/v1/tenants/{}/records?limit={limit}", seg(&tenant));
            if let Some(p) = product {
                path.push_str(&format!("&product={}", seg(&p)));
            }
            if let Some(c) = category {
                path.push_str(&format!("&category={}", seg(&c)));
            }
            let v = client(remote)?.get(&path).await?;
            print(remote, &v, |v| {
                output::rows(
                    &v["items"],
                    &[
                        "id",
                        "product",
                        "data_kind",
                        "categories",
                        "size",
                        "version",
                        "created_at",
                    ],
                )
                .to_string()
            })
        }
        RecordCmd::Delete { tenant, id } => {
            client(remote)?
                .call(
                    Method::DELETE,
                    &format!("/v1/tenants/{}/records/{}", seg(&tenant), seg(&id)),
                    None,
                )
                .await?;
            if !remote.json {
                out(&format!("deleted {id}"));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub async fn export(a: ExportArgs, remote: &Remote) -> Result<ExitCode> {
    let mut path = format!("/v1/tenants/{}/export", seg(&a.tenant));
    if let Some(p) = &a.product {
        path.push_str(&format!("?product={}", seg(p)));
    }
    let resp = client(remote)?.get_stream(&path).await?;
    let total: u64 = resp
        .headers()
        .get("x-datapact-record-count")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let partial = a.out.with_extension("partial");
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bar:40} {pos}/{len} records ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let lines = crate::client::download(resp, &partial, &bar).await?;
    if lines < total {
        bail!(
            "the export is incomplete ({lines} of {total} records); {} kept for inspection",
            partial.display()
        );
    }
    std::fs::rename(&partial, &a.out).with_context(|| format!("cannot move the export to {}", a.out.display()))?;
    eprintln!(
        "exported {lines} record{} to {}",
        if lines == 1 { "" } else { "s" },
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Asks on the terminal to type the tenant id before a purge; without a terminal, refuses.
fn confirm_purge(tenant: &str) -> Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "refusing to purge tenant {tenant} without confirmation: there is no terminal to ask on; pass --yes"
        );
    }
    eprint!(
        "This destroys every data key of tenant {tenant}: its records can never be read again.\n\
         Type the tenant id to confirm: "
    );
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == tenant)
}

pub async fn purge(a: PurgeArgs, remote: &Remote) -> Result<ExitCode> {
    if !a.yes && !confirm_purge(&a.tenant)? {
        eprintln!("not purged: the id typed was not {}", a.tenant);
        return Ok(ExitCode::FAILURE);
    }
    let v = client(remote)?
        .post(&format!("/v1/tenants/{}/purge", seg(&a.tenant)), &json!({}))
        .await?;
    let cert = &v["certificate"];
    if let Some(path) = &a.out {
        use std::io::Write;
        // Private to its owner, as every file the CLI writes: it names the tenant and organization.
        crate::client::private_file(path)
            .and_then(|mut f| f.write_all(&serde_json::to_vec_pretty(cert)?))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    print(remote, &v, |v| {
        let s = &v["certificate"]["statement"];
        format!(
            "Keys destroyed at {}: {} record(s) of tenant {} in {} can no longer be decrypted.\n\
             Rows are being removed by job {}.\nCertificate {} signed by {}{}",
            output::cell(s.get("keys_destroyed_at")),
            output::cell(s.get("record_count")),
            output::cell(s.get("tenant")),
            output::cell(s.get("region")),
            output::cell(v["job"].get("id")),
            output::cell(s.get("certificate_id")),
            output::cell(v["certificate"].get("key_id")),
            a.out
                .as_ref()
                .map(|p| format!("; saved to {}", p.display()))
                .unwrap_or_default(),
        )
    })
}

pub fn verify(a: VerifyArgs) -> Result<ExitCode> {
    let text = std::fs::read_to_string(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    // Accept the whole purge answer as well as the certificate alone.
    let cert_text = match serde_json::from_str::<Value>(&text) {
        Ok(v) if v.get("certificate").is_some() => v["certificate"].to_string(),
        Ok(_) => text,
        Err(e) => bail!(
            "{}: line {}, column {}: not JSON: {e}",
            a.file.display(),
            e.line(),
            e.column()
        ),
    };
    match datapact_vault::verify_certificate(&cert_text, a.public_key.as_deref()) {
        Ok(s) => {
            out(&format!(
                "VALID deletion certificate {}\n  tenant {} (organization {}) in region {}\n  reason: {}\n  \
                 data key versions destroyed: {:?}\n  records: {}\n  keys destroyed at: {}",
                s.certificate_id,
                s.tenant,
                s.org,
                s.region,
                s.reason,
                s.key_versions_destroyed,
                s.record_count,
                s.keys_destroyed_at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default()
            ));
            if a.public_key.is_none() {
                eprintln!(
                    "note: checked against the public key inside the certificate; pin the server's key with --public-key \
                     (GET /v1/server/public-key) to know who signed it"
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("INVALID: {}: {e}", a.file.display());
            Ok(ExitCode::FAILURE)
        }
    }
}

pub async fn terminate(org: String, grace_days: Option<u32>, remote: &Remote) -> Result<ExitCode> {
    let mut body = json!({});
    if let Some(g) = grace_days {
        body["grace_days"] = json!(g);
    }
    let v = client(remote)?
        .post(&format!("/v1/orgs/{}/terminate", seg(&org)), &body)
        .await?;
    print(remote, &v, |v| {
        let when = match v["org"]["termination_due_at"].as_str() {
            Some(due) => {
                format!("every tenant will be purged at {due} (cancel before then with `org update --status active`)")
            }
            None => format!(
                "{} tenant(s) purged now",
                v["certificates"].as_array().map(|a| a.len()).unwrap_or(0)
            ),
        };
        format!("{}\n{when}", output::object(&v["org"]))
    })
}

pub async fn data_keys(cmd: DataKeyCmd, remote: &Remote) -> Result<ExitCode> {
    match cmd {
        DataKeyCmd::List { tenant } => {
            let v = client(remote)?
                .get(&format!("/v1/tenants/{}/keys", seg(&tenant)))
                .await?;
            print(remote, &v, |v| {
                output::rows(v, &["version", "active", "records", "kek_id", "created_at"]).to_string()
            })
        }
        DataKeyCmd::Rotate { tenant, no_wait } => {
            let c = client(remote)?;
            let v = c
                .post(&format!("/v1/tenants/{}/keys/rotate", seg(&tenant)), &json!({}))
                .await?;
            let job_id = v["job"]["id"].as_str().unwrap_or_default().to_string();
            if no_wait || remote.json {
                return print(remote, &v, |v| output::object(v).to_string());
            }
            eprintln!(
                "data key version {} is active; re-encrypting existing records (job {job_id})",
                v["version"]
            );
            let total = v["job"]["total"].as_u64().unwrap_or(0);
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template("{spinner} {bar:40} {pos}/{len} records re-encrypted ({eta} left)")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            loop {
                let job = c.get(&format!("/v1/jobs/{}", seg(&job_id))).await?;
                bar.set_length(job["total"].as_u64().unwrap_or(total));
                bar.set_position(job["done"].as_u64().unwrap_or(0));
                match job["state"].as_str() {
                    Some("done") => {
                        bar.finish_and_clear();
                        eprintln!("done: {} records re-encrypted; old key versions destroyed", job["done"]);
                        return Ok(ExitCode::SUCCESS);
                    }
                    Some("failed") => {
                        bar.abandon();
                        bail!("re-encryption failed: {}", output::cell(job.get("error")));
                    }
                    _ => tokio::time::sleep(std::time::Duration::from_millis(300)).await,
                }
            }
        }
    }
}

pub async fn retention(cmd: RetentionCmd, remote: &Remote) -> Result<ExitCode> {
    match cmd {
        RetentionCmd::Get { tenant } => {
            let v = client(remote)?
                .get(&format!("/v1/tenants/{}/retention", seg(&tenant)))
                .await?;
            print(remote, &v, |v| {
                output::rows(&v["rules"], &["product", "data_kind", "max_age_days"]).to_string()
            })
        }
        RetentionCmd::Set { tenant, rules } => {
            let rules: Value =
                serde_json::from_str(&rules).map_err(|e| anyhow!("rules: column {}: {e}", e.column()))?;
            let v = client(remote)?
                .call(
                    Method::PUT,
                    &format!("/v1/tenants/{}/retention", seg(&tenant)),
                    Some(&json!({"rules": rules})),
                )
                .await?;
            print(remote, &v, |v| {
                output::rows(&v["rules"], &["product", "data_kind", "max_age_days"]).to_string()
            })
        }
    }
}
