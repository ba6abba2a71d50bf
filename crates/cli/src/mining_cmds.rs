//! CLI commands for Communications Mining: datasets, uploads (JSONL, `.eml` files and mbox
//! archives, parsed with `mail-parser`, with a progress bar), labeling, training, validation,
//! predictions, queues, streams and review.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::Method;
use serde_json::{Value, json};

use crate::client::seg;
use crate::{DataKindArg, Remote, client, enum_name, output, print};

#[derive(Subcommand)]
pub enum MiningCmd {
    /// Datasets: a tenant's messages, their labels and model.
    #[command(subcommand)]
    Dataset(DatasetCmd),
    /// Upload messages: JSONL (one message object per line), `.eml` files, mbox archives.
    Upload(UploadArgs),
    /// Set a message's labels (none: reviewed, no label applies).
    Label {
        #[command(flatten)]
        ds: DatasetArg,
        /// The message's id.
        message: String,
        /// A label (repeat).
        #[arg(long = "label")]
        labels: Vec<String>,
        /// Who labeled it.
        #[arg(long)]
        by: Option<String>,
    },
    /// Train the dataset's model on its labeled design-time messages.
    Train {
        #[command(flatten)]
        ds: DatasetArg,
    },
    /// How good the model is: per label, overall, and the rating with what to do next.
    Validation {
        #[command(flatten)]
        ds: DatasetArg,
    },
    /// Predict labels of texts (arguments, or one per line of `--file`).
    Predict {
        #[command(flatten)]
        ds: DatasetArg,
        /// Texts.
        texts: Vec<String>,
        /// A file with one text per line.
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Messages to label next: teach, low_confidence, shuffle, check (or review).
    Queue {
        #[command(flatten)]
        ds: DatasetArg,
        /// The queue.
        name: String,
        /// How many.
        #[arg(long, default_value_t = 10)]
        limit: u32,
    },
    /// Confirm or correct a message's labels from the review queue.
    Review {
        #[command(flatten)]
        ds: DatasetArg,
        /// The message's id.
        message: String,
        /// A label (repeat; none: no label applies).
        #[arg(long = "label")]
        labels: Vec<String>,
        /// Who reviewed it.
        #[arg(long)]
        by: String,
    },
    /// Streams of run-time messages for automations.
    #[command(subcommand)]
    Stream(StreamCmd),
}

#[derive(Args)]
pub struct DatasetArg {
    /// Dataset id (mds_…).
    #[arg(long)]
    dataset: String,
}

#[derive(Subcommand)]
pub enum DatasetCmd {
    /// Create a dataset.
    Create {
        /// The tenant whose messages it holds.
        #[arg(long)]
        tenant: String,
        /// A name.
        #[arg(long)]
        name: String,
        /// A label (repeat); `Billing > Refund` is a child of `Billing`.
        #[arg(long = "label")]
        labels: Vec<String>,
        /// Never send its messages to a third-party LLM.
        #[arg(long)]
        no_ai_features: bool,
    },
    /// A dataset: labels with their messages, counts, model.
    Show {
        /// Dataset id (mds_…).
        id: String,
    },
    /// Datasets you may see.
    List {
        /// Only this tenant's.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Replace a dataset's labels (new ones added, missing ones removed, renames kept).
    Labels {
        /// Dataset id (mds_…).
        id: String,
        /// Every label from now on (repeat).
        #[arg(long = "label")]
        labels: Vec<String>,
        /// `OLD=NEW`: rename, keeping its messages (repeat).
        #[arg(long = "rename")]
        renames: Vec<String>,
    },
}

#[derive(Subcommand)]
pub enum StreamCmd {
    /// Create a stream with label thresholds.
    Create {
        #[command(flatten)]
        ds: DatasetArg,
        /// Its name.
        name: String,
        /// `LABEL=PROBABILITY` (repeat).
        #[arg(long = "threshold")]
        thresholds: Vec<String>,
    },
    /// The next run-time messages after the stream's cursor (it does not move).
    Fetch {
        #[command(flatten)]
        ds: DatasetArg,
        /// The stream.
        name: String,
        /// How many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Commit the stream's cursor: every message up to it is handled.
    Advance {
        #[command(flatten)]
        ds: DatasetArg,
        /// The stream.
        name: String,
        /// A cursor fetch printed.
        #[arg(long)]
        cursor: String,
    },
}

#[derive(Args)]
pub struct UploadArgs {
    #[command(flatten)]
    ds: DatasetArg,
    /// Files: `.jsonl` (message objects), `.eml` (one e-mail), `.mbox`/`.mbx` (an archive).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Data kind of e-mails (JSONL lines give their own, this by default).
    #[arg(long, value_enum, default_value = "design_time")]
    data_kind: DataKindArg,
    /// Messages per request (1 to 1000).
    #[arg(long, default_value_t = 500)]
    batch: usize,
}

/// One e-mail as a message object; `None` when it holds nothing a message needs.
fn email(bytes: &[u8], fallback_id: &str, kind: &str) -> Option<Value> {
    let m = mail_parser::MessageParser::default().parse(bytes)?;
    let text = m
        .body_text(0)
        .map(|t| t.into_owned())
        .or_else(|| m.body_html(0).map(|h| h.into_owned()))
        .unwrap_or_default();
    let subject = m.subject().map(str::to_string);
    let addr = |a: &mail_parser::Address<'_>| -> Vec<String> {
        a.iter().filter_map(|x| x.address().map(str::to_string)).collect()
    };
    let from = m.from().map(addr).and_then(|v| v.into_iter().next());
    if text.trim().is_empty() && subject.is_none() && from.is_none() {
        return None;
    }
    let to: Vec<String> = m.to().map(addr).unwrap_or_default();
    let id = m.message_id().map_or_else(|| fallback_id.to_string(), str::to_string);
    let thread = m
        .references()
        .as_text_list()
        .and_then(|r| r.first().map(|s| s.to_string()))
        .or_else(|| m.in_reply_to().as_text().map(str::to_string))
        .unwrap_or_else(|| id.clone());
    let mut v = json!({"id": id, "text": text, "data_kind": kind, "thread": thread});
    if let Some(s) = subject {
        v["subject"] = json!(s);
    }
    if let Some(f) = from {
        v["from"] = json!(f);
    }
    if !to.is_empty() {
        v["to"] = json!(to);
    }
    if let Some(d) = m.date() {
        v["sent_at"] = json!(d.to_rfc3339());
    }
    Some(v)
}

/// The messages of one file, each with where it came from (`file:line` or `file#index`).
fn messages_of(path: &Path, kind: &str) -> Result<Vec<(String, Value)>> {
    let name = path.display().to_string();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let bytes = std::fs::read(path).with_context(|| format!("{name}: cannot read"))?;
    match ext.as_str() {
        "jsonl" | "ndjson" => {
            let text = std::str::from_utf8(&bytes).map_err(|_| anyhow!("{name}: not UTF-8 text"))?;
            let mut out = Vec::new();
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let mut v: Value =
                    serde_json::from_str(line).map_err(|e| anyhow!("{name}:{}: not a JSON object: {e}", i + 1))?;
                if !v.is_object() {
                    bail!("{name}:{}: not a JSON object", i + 1);
                }
                if v.get("data_kind").is_none() {
                    v["data_kind"] = json!(kind);
                }
                out.push((format!("{name}:{}", i + 1), v));
            }
            Ok(out)
        }
        "eml" => {
            let id = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("message")
                .to_string();
            let v = email(&bytes, &id, kind)
                .ok_or_else(|| anyhow!("{name}: message 1: not an e-mail (no headers, no body)"))?;
            Ok(vec![(name, v)])
        }
        "mbox" | "mbx" => {
            let mut out = Vec::new();
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("mbox").to_string();
            for (i, m) in mail_parser::mailbox::mbox::MessageIterator::new(std::io::Cursor::new(&bytes)).enumerate() {
                let m = m.map_err(|_| anyhow!("{name}: message {}: cannot be read from the archive", i + 1))?;
                let v = email(m.contents(), &format!("{stem}-{}", i + 1), kind)
                    .ok_or_else(|| anyhow!("{name}: message {}: not an e-mail (no headers, no body)", i + 1))?;
                out.push((format!("{name}#{}", i + 1), v));
            }
            if out.is_empty() {
                bail!("{name}: no message in the archive (an mbox starts each message with a `From ` line)");
            }
            Ok(out)
        }
        other => bail!("{name}: unknown kind of file `.{other}`: give .jsonl, .eml, .mbox"),
    }
}

async fn upload(a: UploadArgs, remote: &Remote) -> Result<ExitCode> {
    if !(1..=1000).contains(&a.batch) {
        bail!("--batch: give 1 to 1000");
    }
    let kind = enum_name(a.data_kind);
    let mut all = Vec::new();
    for f in &a.files {
        all.extend(messages_of(f, &kind)?);
    }
    let c = client(remote)?;
    let bar = ProgressBar::new(all.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bar:40} {pos}/{len} messages ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (mut created, mut updated) = (0u64, 0u64);
    let mut failed: Vec<String> = Vec::new();
    for chunk in all.chunks(a.batch) {
        let msgs: Vec<&Value> = chunk.iter().map(|(_, v)| v).collect();
        let path = format!("/v1/mining/datasets/{}/messages", seg(&a.ds.dataset));
        match c.post(&path, &json!({"messages": msgs})).await {
            Ok(r) => {
                created += r["created"].as_u64().unwrap_or(0);
                updated += r["updated"].as_u64().unwrap_or(0);
                for f in r["failed"].as_array().into_iter().flatten() {
                    let i = f["index"].as_u64().unwrap_or(0) as usize;
                    let at = chunk.get(i).map_or("?", |x| x.0.as_str());
                    failed.push(format!(
                        "{at}: {} ({}): {}",
                        f["field"].as_str().unwrap_or(""),
                        f["code"].as_str().unwrap_or(""),
                        f["detail"].as_str().unwrap_or("")
                    ));
                }
            }
            Err(e) => {
                let from = chunk.first().map_or("?", |x| x.0.as_str());
                let to = chunk.last().map_or("?", |x| x.0.as_str());
                failed.push(format!("{from} .. {to}: not stored: {e:#}"));
            }
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    let v = json!({"created": created, "updated": updated, "failed": failed});
    print(remote, &v, |_| {
        let mut s = format!("{created} created, {updated} updated, {} not stored", failed.len());
        for f in &failed {
            s.push_str(&format!("\n  {f}"));
        }
        s
    })?;
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn dataset_text(v: &Value) -> String {
    let mut t = output::table(&["field", "value"]);
    let m = &v["messages"];
    for (k, val) in [
        ("id", output::cell(v.get("id"))),
        ("name", output::cell(v.get("name"))),
        ("tenant", output::cell(v.get("tenant"))),
        ("ai_features", output::cell(v.get("ai_features"))),
        (
            "messages",
            format!(
                "{} design-time, {} run-time, {} labeled, {} to review",
                m["design_time"], m["run_time"], m["labeled"], m["review"]
            ),
        ),
        (
            "model",
            match v.get("model") {
                Some(x) if !x.is_null() => format!(
                    "v{}: rating {}, accuracy {:.3}, macro F1 {:.3}, {} messages",
                    x["version"],
                    x["rating"],
                    x["accuracy"].as_f64().unwrap_or(0.0),
                    x["macro_f1"].as_f64().unwrap_or(0.0),
                    x["messages"]
                ),
                _ => "none".to_string(),
            },
        ),
    ] {
        t.add_row(vec![k.to_string(), val]);
    }
    let mut labels = output::table(&["label", "messages"]);
    for l in v["labels"].as_array().into_iter().flatten() {
        labels.add_row(vec![output::cell(l.get("name")), output::cell(l.get("messages"))]);
    }
    format!("{t}\n{labels}")
}

/// The rating line and what to do next.
fn rating_text(r: &Value) -> String {
    let mut s = format!(
        "rating {} ({}): balance {}, coverage {}, label health {}",
        r["score"],
        r["quality"].as_str().unwrap_or(""),
        r["factors"]["balance"],
        r["factors"]["coverage"],
        r["factors"]["label_health"],
    );
    for n in r["next"].as_array().into_iter().flatten() {
        s.push_str(&format!("\n- {}", n.as_str().unwrap_or("")));
    }
    s
}

fn validation_text(v: &Value) -> String {
    if v["held_out_messages"].as_u64() == Some(0) {
        return format!(
            "model v{}: trained on {} messages; none held out yet to measure it (about one labeled message in five is)\n{}",
            v["model_version"],
            v["train_messages"],
            rating_text(&v["rating"])
        );
    }
    let mut t = output::table(&["label", "precision", "recall", "avg precision", "held out", "trained"]);
    for l in v["labels"].as_array().into_iter().flatten() {
        let f = |k: &str| format!("{:.2}", l[k].as_f64().unwrap_or(0.0));
        t.add_row(vec![
            output::cell(l.get("name")),
            f("precision"),
            f("recall"),
            f("average_precision"),
            output::cell(l.get("count")),
            output::cell(l.get("train_count")),
        ]);
    }
    format!(
        "model v{}: accuracy {:.3}, macro F1 {:.3} on {} held-out messages ({} trained)\n{t}\n{}",
        v["model_version"],
        v["accuracy"].as_f64().unwrap_or(0.0),
        v["macro_f1"].as_f64().unwrap_or(0.0),
        v["held_out_messages"],
        v["train_messages"],
        rating_text(&v["rating"])
    )
}

fn top_labels(p: &Value) -> String {
    p["labels"]
        .as_array()
        .into_iter()
        .flatten()
        .take(3)
        .map(|l| {
            format!(
                "{} {:.2}",
                l["name"].as_str().unwrap_or(""),
                l["probability"].as_f64().unwrap_or(0.0)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn messages_text(v: &Value) -> String {
    let mut t = output::table(&["id", "labels", "prediction", "text"]);
    for m in v["messages"].as_array().into_iter().flatten() {
        let text: String = m["message"]["text"].as_str().unwrap_or("").chars().take(60).collect();
        t.add_row(vec![
            output::cell(m.get("id")),
            m["labels"]
                .as_array()
                .map(|l| l.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
                .unwrap_or_default(),
            top_labels(&m["prediction"]),
            text,
        ]);
    }
    t.to_string()
}

fn pairs(list: &[String], what: &str) -> Result<Vec<(String, String)>> {
    list.iter()
        .map(|p| {
            p.rsplit_once('=')
                .map(|(a, b)| (a.trim().to_string(), b.trim().to_string()))
                .ok_or_else(|| anyhow!("{what} {p:?}: give NAME=VALUE"))
        })
        .collect()
}

pub async fn run(cmd: MiningCmd, remote: &Remote) -> Result<ExitCode> {
    let c = client(remote)?;
    let ds_path = |d: &DatasetArg| format!("/v1/mining/datasets/{}", seg(&d.dataset));
    match cmd {
        MiningCmd::Dataset(DatasetCmd::Create {
            tenant,
            name,
            labels,
            no_ai_features,
        }) => {
            let v = c
                .post(
                    "/v1/mining/datasets",
                    &json!({"tenant": tenant, "name": name, "labels": labels, "ai_features": !no_ai_features}),
                )
                .await?;
            print(remote, &v, dataset_text)
        }
        MiningCmd::Dataset(DatasetCmd::Show { id }) => {
            let v = c.get(&format!("/v1/mining/datasets/{}", seg(&id))).await?;
            print(remote, &v, dataset_text)
        }
        MiningCmd::Dataset(DatasetCmd::List { tenant }) => {
            let path = match tenant {
                Some(t) => format!("/v1/mining/datasets?tenant={}", seg(&t)),
                None => "/v1/mining/datasets".into(),
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
                        json!({"id": d["id"], "name": d["name"], "tenant": d["tenant"],
                            "messages": d["messages"]["design_time"].as_u64().unwrap_or(0) + d["messages"]["run_time"].as_u64().unwrap_or(0),
                            "labeled": d["messages"]["labeled"], "model": d["model"]["version"]})
                    })
                    .collect();
                let mut t = output::rows(
                    &Value::Array(rows),
                    &["id", "name", "tenant", "messages", "labeled", "model"],
                );
                output::keep_ids_whole(&mut t);
                t.to_string()
            })
        }
        MiningCmd::Dataset(DatasetCmd::Labels { id, labels, renames }) => {
            let rename: serde_json::Map<String, Value> = pairs(&renames, "--rename")?
                .into_iter()
                .map(|(a, b)| (a, json!(b)))
                .collect();
            let v = c
                .call(
                    Method::PUT,
                    &format!("/v1/mining/datasets/{}/labels", seg(&id)),
                    Some(&json!({"labels": labels, "rename": rename})),
                )
                .await?;
            print(remote, &v, dataset_text)
        }
        MiningCmd::Upload(a) => upload(a, remote).await,
        MiningCmd::Label {
            ds,
            message,
            labels,
            by,
        } => {
            let mut body = json!({"labels": labels});
            if let Some(b) = by {
                body["by"] = json!(b);
            }
            let v = c
                .call(
                    Method::PUT,
                    &format!("{}/messages/{}/labels", ds_path(&ds), seg(&message)),
                    Some(&body),
                )
                .await?;
            print(remote, &v, |v| {
                format!(
                    "{}: {}",
                    v["id"].as_str().unwrap_or(""),
                    v["labels"]
                        .as_array()
                        .map(|l| l.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
                        .unwrap_or_default()
                )
            })
        }
        MiningCmd::Train { ds } => {
            let bar = ProgressBar::new_spinner();
            bar.set_message("training");
            bar.enable_steady_tick(std::time::Duration::from_millis(100));
            let mut v = c.post(&format!("{}/train", ds_path(&ds)), &json!({})).await;
            // A large training answers with a job (202): followed until it ends.
            while let Ok(job) = &v
                && job.get("model_version").is_none()
                && let Some(id) = job["id"].as_str().filter(|i| i.starts_with("mtj_"))
            {
                match job["status"].as_str() {
                    Some("done") => {
                        v = Ok(
                            json!({"model_version": job["model_version"], "validation": job["validation"],
                            "ledger_model": job["ledger_model"], "job": id}),
                        );
                    }
                    Some("failed") => {
                        bar.finish_and_clear();
                        bail!(
                            "training job {id} failed: {} ({})",
                            job["error"]["detail"].as_str().unwrap_or("no detail"),
                            job["error"]["code"].as_str().unwrap_or("unknown")
                        );
                    }
                    status => {
                        bar.set_message(format!(
                            "training job {id}: {} {} ({} labeled messages)",
                            status.unwrap_or("queued"),
                            job["phase"].as_str().unwrap_or(""),
                            job["labeled_messages"]
                        ));
                        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                        v = c.get(&format!("{}/train/jobs/{id}", ds_path(&ds))).await;
                    }
                }
            }
            bar.finish_and_clear();
            let v = v?;
            print(remote, &v, |v| {
                let mut val = v["validation"].clone();
                val["model_version"] = v["model_version"].clone();
                validation_text(&val)
            })
        }
        MiningCmd::Validation { ds } => {
            let v = c.get(&format!("{}/validation", ds_path(&ds))).await?;
            print(remote, &v, validation_text)
        }
        MiningCmd::Predict { ds, mut texts, file } => {
            if let Some(f) = file {
                let body = std::fs::read_to_string(&f).with_context(|| format!("{}: cannot read", f.display()))?;
                texts.extend(body.lines().filter(|l| !l.trim().is_empty()).map(str::to_string));
            }
            if texts.is_empty() {
                bail!("give texts, or --file with one text per line");
            }
            let mut all = Vec::new();
            let mut version = Value::Null;
            for chunk in texts.chunks(1000) {
                let v = c
                    .post(&format!("{}/predict", ds_path(&ds)), &json!({"texts": chunk}))
                    .await?;
                version = v["model_version"].clone();
                all.extend(v["predictions"].as_array().cloned().unwrap_or_default());
            }
            let v = json!({"model_version": version, "predictions": all});
            print(remote, &v, |v| {
                let mut t = output::table(&["text", "labels"]);
                for (text, p) in texts.iter().zip(v["predictions"].as_array().into_iter().flatten()) {
                    t.add_row(vec![text.chars().take(60).collect(), top_labels(p)]);
                }
                t.to_string()
            })
        }
        MiningCmd::Queue { ds, name, limit } => {
            let path = if name == "review" {
                format!("{}/review?limit={limit}", ds_path(&ds))
            } else {
                format!("{}/queues/{}?limit={limit}", ds_path(&ds), seg(&name))
            };
            let v = c.get(&path).await?;
            print(remote, &v, messages_text)
        }
        MiningCmd::Review {
            ds,
            message,
            labels,
            by,
        } => {
            let v = c
                .post(
                    &format!("{}/review/{}", ds_path(&ds), seg(&message)),
                    &json!({"labels": labels, "by": by}),
                )
                .await?;
            print(remote, &v, |v| {
                format!(
                    "{}: reviewed, {}",
                    v["id"].as_str().unwrap_or(""),
                    v["labels"]
                        .as_array()
                        .map(|l| l.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
                        .unwrap_or_default()
                )
            })
        }
        MiningCmd::Stream(StreamCmd::Create { ds, name, thresholds }) => {
            let mut th = serde_json::Map::new();
            for (l, p) in pairs(&thresholds, "--threshold")? {
                let p: f64 = p
                    .parse()
                    .map_err(|_| anyhow!("--threshold {l}={p}: give a probability of 0 to 1"))?;
                th.insert(l, json!(p));
            }
            let v = c
                .post(
                    &format!("{}/streams", ds_path(&ds)),
                    &json!({"name": name, "thresholds": th}),
                )
                .await?;
            print(remote, &v, |v| output::object(v).to_string())
        }
        MiningCmd::Stream(StreamCmd::Fetch { ds, name, limit }) => {
            let v = c
                .get(&format!("{}/streams/{}/fetch?limit={limit}", ds_path(&ds), seg(&name)))
                .await?;
            print(remote, &v, |v| {
                let mut t = output::table(&["id", "passed", "prediction", "cursor"]);
                for m in v["messages"].as_array().into_iter().flatten() {
                    t.add_row(vec![
                        output::cell(m.get("id")),
                        m["passed"]
                            .as_array()
                            .map(|l| l.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
                            .unwrap_or_default(),
                        top_labels(&m["prediction"]),
                        output::cell(m.get("cursor")),
                    ]);
                }
                format!(
                    "{t}\ncursor {} (more: {})",
                    v["cursor"].as_str().unwrap_or(""),
                    v["more"]
                )
            })
        }
        MiningCmd::Stream(StreamCmd::Advance { ds, name, cursor }) => {
            let v = c
                .post(
                    &format!("{}/streams/{}/advance", ds_path(&ds), seg(&name)),
                    &json!({"cursor": cursor}),
                )
                .await?;
            print(remote, &v, |v| {
                format!(
                    "{} at {}",
                    v["name"].as_str().unwrap_or(""),
                    v["cursor"].as_str().unwrap_or("")
                )
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_archives_become_messages_and_bad_ones_are_named() {
        let dir = tempfile::tempdir().expect("dir");
        let eml = dir.path().join("one.eml");
        std::fs::write(
            &eml,
            "Message-ID: <a1@example.com>\r\nFrom: Maria <maria@example.com>\r\nTo: support@example.com\r\nSubject: Refund\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\n\r\nPlease refund order 77.\r\n",
        )
        .expect("write");
        let m = messages_of(&eml, "design_time").expect("eml");
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].1["id"], "a1@example.com");
        assert_eq!(m[0].1["from"], "maria@example.com");
        assert_eq!(m[0].1["subject"], "Refund");
        assert!(m[0].1["text"].as_str().unwrap_or("").contains("refund order 77"));

        let mbox = dir.path().join("box.mbox");
        std::fs::write(
            &mbox,
            "From maria@example.com Tue Dec  1 10:00:00 2026\nFrom: maria@example.com\nSubject: A\n\nfirst\n\nFrom tom@example.com Tue Dec  1 11:00:00 2026\nFrom: tom@example.com\nSubject: B\nIn-Reply-To: <x@y>\n\nsecond\n",
        )
        .expect("write");
        let m = messages_of(&mbox, "run_time").expect("mbox");
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].0, format!("{}#2", mbox.display()));
        assert_eq!(m[1].1["data_kind"], "run_time");
        assert_eq!(m[1].1["thread"], "x@y");

        let empty = dir.path().join("empty.mbox");
        std::fs::write(&empty, "").expect("write");
        let e = messages_of(&empty, "design_time").unwrap_err().to_string();
        assert!(e.contains("empty.mbox") && e.contains("no message"), "{e}");

        let bad = dir.path().join("bad.eml");
        std::fs::write(&bad, "").expect("write");
        let e = messages_of(&bad, "design_time").unwrap_err().to_string();
        assert!(e.contains("bad.eml: message 1"), "{e}");

        let jsonl = dir.path().join("m.jsonl");
        std::fs::write(&jsonl, "{\"id\": \"1\", \"text\": \"hi\"}\nnot json\n").expect("write");
        let e = messages_of(&jsonl, "design_time").unwrap_err().to_string();
        assert!(e.contains("m.jsonl:2"), "{e}");

        let other = dir.path().join("x.txt");
        std::fs::write(&other, "x").expect("write");
        assert!(messages_of(&other, "design_time").is_err());
    }
}
