//! CLI commands for training-data governance: datasets (create with a build progress bar,
//! show, list, export with a progress bar and the digest of what was read), models, unlearning
//! debt and an organization's training usage.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use crate::client::seg;
use crate::{DataKindArg, Remote, client, enum_name, out, output, print};

#[derive(Copy, Clone, ValueEnum)]
#[value(rename_all = "snake_case")]
pub(crate) enum TrainingPurposeArg {
    VendorTraining,
    ThirdPartyFinetune,
}

#[derive(Copy, Clone, ValueEnum)]
#[value(rename_all = "snake_case")]
pub(crate) enum PiiArg {
    Mask,
    Drop,
    Off,
}

#[derive(Copy, Clone, ValueEnum)]
#[value(rename_all = "snake_case")]
pub(crate) enum StatusArg {
    Building,
    Ready,
    Failed,
}

#[derive(Subcommand)]
pub enum TrainingCmd {
    /// Training datasets: snapshots of eligible, minimized records.
    #[command(subcommand)]
    Dataset(DatasetCmd),
    /// Models trained on datasets, with their lineage.
    #[command(subcommand)]
    Model(ModelCmd),
    /// Every model that owes retraining, the most owed first.
    Debt,
    /// Every dataset and model that holds an organization's data.
    Usage {
        /// Organization id (org_…).
        #[arg(long)]
        org: String,
    },
}

#[derive(Subcommand)]
pub enum DatasetCmd {
    /// Ask for a dataset, then follow its build with a progress bar (`--no-wait`: return at once).
    Create(CreateArgs),
    /// A dataset's manifest.
    Show {
        /// Dataset id (ds_…).
        id: String,
    },
    /// Datasets you may see.
    List {
        /// Only this product's.
        #[arg(long)]
        product: Option<String>,
        /// Only this purpose's.
        #[arg(long, value_enum)]
        purpose: Option<TrainingPurposeArg>,
        /// Only datasets in this state.
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
    },
    /// Stream a ready dataset's items to a file (NDJSON) and print the digest of what was read.
    Export {
        /// Dataset id (ds_…).
        id: String,
        /// Where to write the items.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Args)]
pub struct CreateArgs {
    /// A name for people.
    #[arg(long)]
    name: String,
    #[command(flatten)]
    scope: Scope,
    /// A data kind (repeat); default: those the catalog lets the product train on.
    #[arg(long = "data-kind", value_enum)]
    data_kinds: Vec<DataKindArg>,
    /// A tenant (repeat); default for vendor training: every tenant of the region you may see.
    #[arg(long = "tenant")]
    tenants: Vec<String>,
    /// Only records with a category within this one (repeat).
    #[arg(long = "include")]
    include: Vec<String>,
    /// Leave out records with a category within this one (repeat).
    #[arg(long = "exclude")]
    exclude: Vec<String>,
    /// Personal data in the content: masked (default), records dropped, or kept (fine-tuning only).
    #[arg(long, value_enum, default_value = "mask")]
    pii: PiiArg,
    /// Keep identical contents (after minimization) every time they occur.
    #[arg(long)]
    no_dedup: bool,
    /// At most this many records of one tenant.
    #[arg(long)]
    max_records_per_tenant: Option<u64>,
    /// Return as soon as the dataset is asked for.
    #[arg(long)]
    no_wait: bool,
}

/// The product, purpose and region a dataset or model is of.
#[derive(Args)]
pub struct Scope {
    /// Product id from the catalog, e.g. communications-mining.
    #[arg(long)]
    product: String,
    /// What it is for.
    #[arg(long, value_enum)]
    purpose: TrainingPurposeArg,
    /// The region whose records it holds (and where it is stored).
    #[arg(long)]
    region: String,
}

#[derive(Subcommand)]
pub enum ModelCmd {
    /// Register a model trained on datasets.
    Register {
        /// Name.
        #[arg(long)]
        name: String,
        /// Version.
        #[arg(long)]
        version: String,
        #[command(flatten)]
        scope: Scope,
        /// A dataset it was trained on (repeat).
        #[arg(long = "dataset", required = true)]
        datasets: Vec<String>,
        /// The digest the training job computed for a dataset, `ds_…=HEX` (repeat).
        #[arg(long = "digest")]
        digests: Vec<String>,
    },
    /// A model, its lineage and what it owes.
    Show {
        /// Model id (mdl_…).
        id: String,
    },
}

fn manifest_text(v: &Value) -> String {
    let mut t = output::table(&["field", "value"]);
    let c = &v["counts"];
    let rows: Vec<(&str, String)> = vec![
        ("id", output::cell(v.get("id"))),
        ("name", output::cell(v.get("name"))),
        ("product", output::cell(v.get("product"))),
        ("purpose", output::cell(v.get("purpose"))),
        ("region", output::cell(v.get("region"))),
        ("status", output::cell(v.get("status"))),
        (
            "progress",
            format!(
                "{}/{} tenants",
                v["progress"]["tenants_done"], v["progress"]["tenants_total"]
            ),
        ),
        ("included", output::cell(c.get("included"))),
        ("excluded", compact(&c["excluded"])),
        ("deduplicated", output::cell(c.get("deduplicated"))),
        ("capped", output::cell(c.get("capped"))),
        ("pii_masked", compact(&c["pii_masked"])),
        ("shards", v["tenants"].as_array().map_or(0, Vec::len).to_string()),
        ("digest", output::cell(v.get("digest"))),
        ("built_at", output::cell(v.get("built_at"))),
    ];
    for (k, val) in rows {
        t.add_row(vec![k.to_string(), val]);
    }
    if let Some(cur) = v.get("current") {
        t.add_row(vec![
            "current".to_string(),
            format!("{} items; withheld {}", cur["items"], compact(&cur["withheld"])),
        ]);
    }
    if let Some(e) = v.get("error") {
        t.add_row(vec!["error".to_string(), output::cell(Some(e))]);
    }
    output::keep_ids_whole(&mut t);
    t.to_string()
}

/// `{"a": 1, "b": 2}` as `a 1, b 2` (`-` when empty).
fn compact(v: &Value) -> String {
    let parts: Vec<String> = v
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    if parts.is_empty() { "-".into() } else { parts.join(", ") }
}

fn debt_text(d: &Value) -> String {
    if d["owed"] != json!(true) {
        return "owes nothing".into();
    }
    output::rows(&d["items"], &["reason", "records", "tenants", "since"]).to_string()
}

fn model_text(v: &Value) -> String {
    let mut s = format!(
        "{} {}@{} ({} {} in {}): trained on {} record(s) of {} tenant(s)\n",
        output::cell(v.get("id")),
        output::cell(v.get("name")),
        output::cell(v.get("version")),
        output::cell(v.get("product")),
        output::cell(v.get("purpose")),
        output::cell(v.get("region")),
        v["lineage"]["records"],
        v["lineage"]["tenants"].as_array().map_or(0, Vec::len),
    );
    s.push_str(&output::rows(&v["datasets"], &["id", "name", "included", "built_at", "digest"]).to_string());
    s.push_str("\ndebt: ");
    s.push_str(&debt_text(&v["debt"]));
    s
}

pub async fn run(cmd: TrainingCmd, remote: &Remote) -> Result<ExitCode> {
    let c = client(remote)?;
    match cmd {
        TrainingCmd::Dataset(DatasetCmd::Create(a)) => create(a, remote).await,
        TrainingCmd::Dataset(DatasetCmd::Show { id }) => {
            let v = c.get(&format!("/v1/training/datasets/{}", seg(&id))).await?;
            print(remote, &v, manifest_text)
        }
        TrainingCmd::Dataset(DatasetCmd::List {
            product,
            purpose,
            status,
        }) => {
            let mut q: Vec<String> = Vec::new();
            if let Some(p) = product {
                q.push(format!("product={}", seg(&p)));
            }
            if let Some(p) = purpose {
                q.push(format!("purpose={}", enum_name(p)));
            }
            if let Some(s) = status {
                q.push(format!("status={}", enum_name(s)));
            }
            let path = if q.is_empty() {
                "/v1/training/datasets".to_string()
            } else {
                format!("/v1/training/datasets?{}", q.join("&"))
            };
            let v = c.get(&path).await?;
            let items = v["datasets"].clone();
            if remote.field().is_some() {
                return print(remote, &items, |_| String::new());
            }
            print(remote, &v, |v| {
                let rows: Vec<Value> = v["datasets"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|d| {
                        json!({"id": d["id"], "name": d["name"], "product": d["product"], "purpose": d["purpose"],
                            "region": d["region"], "status": d["status"], "included": d["counts"]["included"],
                            "built_at": d["built_at"]})
                    })
                    .collect();
                output::rows(
                    &Value::Array(rows),
                    &[
                        "id", "name", "product", "purpose", "region", "status", "included", "built_at",
                    ],
                )
                .to_string()
            })
        }
        TrainingCmd::Dataset(DatasetCmd::Export { id, out: file }) => export(&id, &file, remote).await,
        TrainingCmd::Model(ModelCmd::Register {
            name,
            version,
            scope,
            datasets,
            digests,
        }) => {
            let mut given: BTreeMap<String, String> = BTreeMap::new();
            for d in digests {
                let (k, v) = d
                    .split_once('=')
                    .ok_or_else(|| anyhow!("--digest {d}: write it as DATASET=HEX (ds_…=…)"))?;
                given.insert(k.to_string(), v.to_string());
            }
            let body = json!({"name": name, "version": version, "product": scope.product,
                "purpose": enum_name(scope.purpose), "region": scope.region, "datasets": datasets, "digests": given});
            let v = c.post("/v1/training/models", &body).await?;
            print(remote, &v, model_text)
        }
        TrainingCmd::Model(ModelCmd::Show { id }) => {
            let v = c.get(&format!("/v1/training/models/{}", seg(&id))).await?;
            print(remote, &v, model_text)
        }
        TrainingCmd::Debt => {
            let v = c.get("/v1/training/debt").await?;
            if remote.field().is_some() {
                return print(remote, &v["models"], |_| String::new());
            }
            print(remote, &v, |v| {
                let rows: Vec<Value> = v["models"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|m| {
                        let reasons: Vec<String> = m["debt"]["items"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|i| format!("{} {}", output::cell(i.get("reason")), i["records"]))
                            .collect();
                        json!({"id": m["id"], "model": format!("{}@{}", output::cell(m.get("name")), output::cell(m.get("version"))),
                            "product": m["product"], "owes": reasons.join(", ")})
                    })
                    .collect();
                if rows.is_empty() {
                    return "no model owes retraining".into();
                }
                output::rows(&Value::Array(rows), &["id", "model", "product", "owes"]).to_string()
            })
        }
        TrainingCmd::Usage { org } => {
            let v = c.get(&format!("/v1/orgs/{}/training-usage", seg(&org))).await?;
            print(remote, &v, |v| {
                let mut s = String::from("datasets:\n");
                s.push_str(
                    &output::rows(
                        &v["datasets"],
                        &[
                            "id", "name", "product", "purpose", "region", "records", "state", "built_at",
                        ],
                    )
                    .to_string(),
                );
                s.push_str("\nmodels:\n");
                s.push_str(
                    &output::rows(
                        &v["models"],
                        &["id", "name", "version", "product", "records", "state", "registered_at"],
                    )
                    .to_string(),
                );
                s
            })
        }
    }
}

async fn create(a: CreateArgs, remote: &Remote) -> Result<ExitCode> {
    let c = client(remote)?;
    let mut body = json!({
        "name": a.name, "product": a.scope.product, "purpose": enum_name(a.scope.purpose), "region": a.scope.region,
        "categories": {"include": a.include, "exclude": a.exclude},
        "minimization": {"pii": enum_name(a.pii), "dedup": !a.no_dedup},
    });
    if let Some(n) = a.max_records_per_tenant {
        body["minimization"]["max_records_per_tenant"] = json!(n);
    }
    if !a.data_kinds.is_empty() {
        body["data_kinds"] = json!(a.data_kinds.iter().map(|k| enum_name(*k)).collect::<Vec<_>>());
    }
    if !a.tenants.is_empty() {
        body["tenants"] = json!(a.tenants);
    }
    let mut v = c.post("/v1/training/datasets", &body).await?;
    if !a.no_wait {
        let id = v["id"].as_str().unwrap_or_default().to_string();
        let bar = ProgressBar::new(v["progress"]["tenants_total"].as_u64().unwrap_or(0));
        bar.set_style(
            ProgressStyle::with_template("{spinner} {bar:40} {pos}/{len} tenants built ({msg} records read)")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        while v["status"] == "building" {
            tokio::time::sleep(Duration::from_millis(200)).await;
            v = c.get(&format!("/v1/training/datasets/{}", seg(&id))).await?;
            bar.set_position(v["progress"]["tenants_done"].as_u64().unwrap_or(0));
            bar.set_message(v["progress"]["records_considered"].to_string());
        }
        bar.finish_and_clear();
        if v["status"] == "failed" {
            print(remote, &v, manifest_text)?;
            bail!("the build of {id} failed: {}", output::cell(v.get("error")));
        }
    }
    print(remote, &v, manifest_text)
}

async fn export(id: &str, file: &std::path::Path, remote: &Remote) -> Result<ExitCode> {
    let c = client(remote)?;
    let manifest = c.get(&format!("/v1/training/datasets/{}", seg(id))).await?;
    let resp = c
        .get_stream(&format!("/v1/training/datasets/{}/export", seg(id)))
        .await?;
    let total: u64 = resp
        .headers()
        .get("x-datapact-item-count")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let partial = file.with_extension("partial");
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bar:40} {pos}/{len} items ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let lines = crate::client::download(resp, &partial, &bar).await?;
    if lines < total {
        bail!(
            "the export is incomplete ({lines} of {total} items); {} kept for inspection",
            partial.display()
        );
    }
    // The digest of what was read, as a training job records it.
    let mut digest = datapact_training::ExportDigest::default();
    let reader = std::io::BufReader::new(
        std::fs::File::open(&partial).with_context(|| format!("cannot read {}", partial.display()))?,
    );
    for (n, line) in reader.split(b'\n').enumerate() {
        let mut line = line.with_context(|| format!("cannot read {}", partial.display()))?;
        line.push(b'\n');
        digest
            .line(&line)
            .map_err(|e| anyhow!("{}: line {}: {e}", partial.display(), n + 1))?;
    }
    let digest = digest.finish();
    std::fs::rename(&partial, file).with_context(|| format!("cannot move the export to {}", file.display()))?;
    let same = manifest["digest"].as_str() == Some(digest.as_str());
    if remote.json {
        out(&serde_json::to_string_pretty(
            &json!({"id": id, "items": lines, "out": file, "digest": digest, "matches_manifest": same}),
        )?);
    } else {
        out(&format!(
            "exported {lines} item{} to {}\ndigest {digest} ({})",
            if lines == 1 { "" } else { "s" },
            file.display(),
            if same {
                "the manifest's: everything the dataset holds"
            } else {
                "not the manifest's: items were withheld since the build, see `current`"
            }
        ));
    }
    Ok(ExitCode::SUCCESS)
}
