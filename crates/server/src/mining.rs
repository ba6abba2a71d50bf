//! Communications Mining, the reference AI product, as a client of datapact's core.
//!
//! A dataset (its taxonomy, streams and model history) is a document in the store; each
//! message is a vault record of product `communications-mining` in its tenant's region, with
//! a row in the vault's message index (labels, predictions, upload order). A dataset's model
//! is trained in process on its labeled design-time messages only, sealed as items under the
//! tenant's data keys (so a purge shreds it with the data), and recorded in the
//! training-data ledger as a `customer_model` dataset (one item per message it learned from)
//! and a model with that lineage: deleting a message puts every model version trained on it
//! in unlearning debt. Every use is a purpose decision and an audit entry, made by the routes
//! in `routes::mining`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use datapact_audit::{Action, Label, Resource};
use datapact_governance::{ApiKey, DataKind, OrgId, RecordId, Tenant, TenantId};
use datapact_mining::MiningError;
use datapact_mining::classifier::{Model, TrainConfig};
use datapact_mining::embed::Embedder;
use datapact_mining::taxonomy::Taxonomy;
use datapact_mining::trainer::{Labeled, MAX_TRAIN_MESSAGES};
use datapact_mining::validation::Validation;
use datapact_pii::{Operator, Options, Pseudonymizer, anonymize};
use datapact_training::{Dataset, DatasetSpec, DatasetStatus, Model as LedgerModel, ShardLine, TrainingPurpose};
use datapact_vault::{Content, MessageQuery, StoredPrediction, TenantRef, Vault, VaultError, prediction_change};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::audit::Ev;
use crate::blocking::on_blocking_pool;
use crate::problem::ApiError;
use crate::state::{AppState, now};

/// The catalog product.
pub const PRODUCT: &str = "communications-mining";
/// Store document kinds.
const DOC_DATASET: &str = "mining_dataset";
const DOC_STREAM: &str = "mining_stream";
/// Longest message text (and subject), in bytes.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// Most messages per upload, texts per prediction.
pub const MAX_BATCH: usize = 1_000;
/// Labels listed in a prediction: at or above this probability.
pub const MIN_PROBABILITY: f32 = 0.05;
/// A model is stored in items of this size.
const MODEL_CHUNK: usize = 1 << 20;
/// Model versions kept readable (older ones are dropped; their lineage stays).
const KEEP_MODEL_VERSIONS: usize = 3;
/// Most design-time messages given predictions after a training (the newest).
pub const PREDICT_AFTER_TRAINING: usize = 200_000;
/// Messages sampled for the rating's coverage.
const COVERAGE_SAMPLE: usize = 2_000;

/// A dataset's trained model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelInfo {
    /// 1, 2, ...
    pub version: u32,
    /// When it was trained.
    #[serde(with = "time::serde::rfc3339")]
    pub trained_at: OffsetDateTime,
    /// The vault items holding it.
    pub shard: String,
    /// Its size, serialized.
    pub bytes: u64,
    /// Messages it learned from (all labeled ones, the held-out ones included).
    pub messages: usize,
    /// How good it is.
    pub validation: Validation,
    /// Its training set in the training-data ledger.
    pub ledger_dataset: String,
    /// Itself in the ledger.
    pub ledger_model: String,
    /// The sentence-embedding model it was trained with (`[mining] embedder`); it only
    /// predicts where that one runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedder: Option<String>,
    /// The training job that made it (a job run again finds it and does not train twice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
}

/// A Communications Mining dataset.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MiningDataset {
    /// `mds_…`.
    pub id: String,
    /// Whose messages.
    pub tenant: TenantId,
    /// Its organization.
    pub org: OrgId,
    /// A name for people.
    pub name: String,
    /// Whether generative AI features may send its messages to a third-party LLM.
    pub ai_features: bool,
    /// Its labels.
    pub taxonomy: Taxonomy,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The model that serves, if one was trained.
    pub model: Option<ModelInfo>,
    /// Earlier versions still readable (newest first), for `KEEP_MODEL_VERSIONS`.
    #[serde(default)]
    pub history: Vec<ModelInfo>,
    /// The next version's number.
    pub next_version: u32,
    /// When its tenant's data was purged (its messages and models went with the keys): it
    /// exists no more.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub purged_at: Option<OffsetDateTime>,
}

/// A stream: an automation's place in a dataset's run-time messages.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stream {
    /// The dataset.
    pub dataset: String,
    /// Its name.
    pub name: String,
    /// Label id → threshold.
    pub thresholds: BTreeMap<u32, f32>,
    /// The last message committed (its sequence number; 0: none).
    pub cursor: u64,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Its tenant was purged: it exists no more.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub purged: bool,
}

/// A message as stored in its record (the customer's content).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessageBody {
    /// The customer's id.
    pub id: String,
    /// The body.
    pub text: String,
    /// Subject line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Recipients.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<String>,
    /// When it was sent (as given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<String>,
    /// Thread (conversation) id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<String>,
}

impl MessageBody {
    /// What the model reads: subject and body.
    pub fn model_text(&self) -> String {
        match &self.subject {
            Some(s) if !s.is_empty() => format!("{s}\n{}", self.text),
            _ => self.text.clone(),
        }
    }

    /// The message with personal data replaced by typed placeholders (`<PERSON_1>`,
    /// `<EMAIL_ADDRESS_1>`), the same value with the same placeholder across its fields.
    pub fn masked(&self) -> MessageBody {
        let mut p = Pseudonymizer::new();
        let mut mask = |t: &str| -> String {
            let spans = crate::training::ANALYZER.analyze(t, &Options::default());
            anonymize(t, &spans, &Operator::Pseudonymize, &mut p).unwrap_or_else(|_| "<REDACTED>".to_string())
        };
        MessageBody {
            id: self.id.clone(),
            text: mask(&self.text),
            subject: self.subject.as_deref().map(&mut mask),
            from: self.from.as_deref().map(&mut mask),
            to: self.to.iter().map(|t| mask(t)).collect(),
            sent_at: self.sent_at.clone(),
            thread: self.thread.as_deref().map(&mut mask),
        }
    }
}

pub use crate::mining_cache::{Models, Prelabel};

fn corrupt(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(format!("stored {what} cannot be read: {e}"))
}

/// A dataset, if it exists.
pub async fn load(st: &AppState, id: &str) -> Result<Option<MiningDataset>, ApiError> {
    match st
        .store
        .training_doc(DOC_DATASET, id)
        .await
        .map_err(ApiError::storage)?
    {
        Some(doc) => serde_json::from_str::<MiningDataset>(&doc)
            .map(|d| d.purged_at.is_none().then_some(d))
            .map_err(|e| corrupt("dataset", e)),
        None => Ok(None),
    }
}

/// Stores a dataset.
pub async fn save(st: &AppState, d: &MiningDataset) -> Result<(), ApiError> {
    // A purged dataset stays purged: a change that read it before the purge (the callers hold
    // the write lock, and so does the purge's `tenant_gone`) does not bring it back.
    if let Some(old) = st
        .store
        .training_doc(DOC_DATASET, &d.id)
        .await
        .map_err(ApiError::storage)?
        && serde_json::from_str::<MiningDataset>(&old).is_ok_and(|x| x.purged_at.is_some())
    {
        return Err(ApiError::not_found("dataset", &d.id));
    }
    let doc = serde_json::to_string(d).map_err(ApiError::internal)?;
    st.store
        .put_training_doc(DOC_DATASET, &d.id, "active", &doc)
        .await
        .map_err(ApiError::storage)
}

/// Every dataset.
pub async fn all(st: &AppState) -> Result<Vec<MiningDataset>, ApiError> {
    let docs = st
        .store
        .training_docs(DOC_DATASET, Some("active"))
        .await
        .map_err(ApiError::storage)?;
    docs.iter()
        .map(|d| serde_json::from_str(d).map_err(|e| corrupt("dataset", e)))
        .collect()
}

fn stream_id(dataset: &str, name: &str) -> String {
    format!("{dataset}/{name}")
}

/// A dataset's stream, if it exists.
pub async fn load_stream(st: &AppState, dataset: &str, name: &str) -> Result<Option<Stream>, ApiError> {
    match st
        .store
        .training_doc(DOC_STREAM, &stream_id(dataset, name))
        .await
        .map_err(ApiError::storage)?
    {
        Some(doc) => serde_json::from_str::<Stream>(&doc)
            .map(|s| (!s.purged).then_some(s))
            .map_err(|e| corrupt("stream", e)),
        None => Ok(None),
    }
}

/// Stores a stream.
pub async fn save_stream(st: &AppState, s: &Stream) -> Result<(), ApiError> {
    if load(st, &s.dataset).await?.is_none() {
        return Err(ApiError::not_found("dataset", &s.dataset));
    }
    let doc = serde_json::to_string(s).map_err(ApiError::internal)?;
    st.store
        .put_training_doc(DOC_STREAM, &stream_id(&s.dataset, &s.name), "active", &doc)
        .await
        .map_err(ApiError::storage)
}

/// A dataset's streams (read by their ids, `{dataset}/{name}`: only this dataset's).
pub async fn streams(st: &AppState, dataset: &str) -> Result<Vec<Stream>, ApiError> {
    let prefix = format!("{dataset}/");
    let mut after = prefix.clone();
    let mut out = Vec::new();
    loop {
        let docs = st
            .store
            .training_docs_page(DOC_STREAM, &after, 100)
            .await
            .map_err(ApiError::storage)?;
        if docs.is_empty() {
            return Ok(out);
        }
        for d in &docs {
            let s: Stream = serde_json::from_str(d).map_err(|e| corrupt("stream", e))?;
            let id = stream_id(&s.dataset, &s.name);
            if !id.starts_with(&prefix) {
                return Ok(out);
            }
            after = id;
            if !s.purged {
                out.push(s);
            }
        }
    }
}

/// The index key of a customer's message id: a keyed hash, so the index holds no id.
pub fn message_key(vault: &Vault, org: OrgId, dataset: &str, msg: &str) -> String {
    vault.correlate(&org.to_string(), &format!("mining\u{1f}{dataset}\u{1f}{msg}"))
}

/// A stable place in the shuffle queue, from the message's index key (a keyed hash: the order
/// reveals nothing about the id).
pub fn shuffle_of(key: &str) -> i64 {
    let h = Sha256::digest(format!("datapact.mining.shuffle|{key}").as_bytes());
    i64::from_le_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], 0])
}

/// The message a record holds, if it still holds one (it may have been changed through the
/// records API into something else).
fn body_of(content: &Content) -> Result<MessageBody, serde_json::Error> {
    let bytes = match content {
        Content::Text(s) => s.as_bytes(),
        Content::Bytes(b) => b.as_slice(),
    };
    serde_json::from_slice(bytes)
}

/// Reads a message's content from its record.
pub fn read_body(v: &Vault, t: TenantRef<'_>, record: RecordId) -> Result<MessageBody, VaultError> {
    // Not a message any more: the client's doing, not storage's.
    body_of(&v.get(t, record)?.content).map_err(|_| VaultError::Invalid {
        field: "message".into(),
        message: format!("record {record} that held this message no longer holds a message"),
    })
}

/// Reads the contents of several messages in one read; deleted ones are left out.
pub fn read_bodies(
    v: &Vault,
    t: TenantRef<'_>,
    records: &[RecordId],
) -> Result<HashMap<RecordId, MessageBody>, VaultError> {
    let mut out = HashMap::with_capacity(records.len());
    for chunk in records.chunks(1_000) {
        for r in v.get_many(t, chunk)? {
            match body_of(&r.content) {
                Ok(body) => {
                    out.insert(r.meta.id, body);
                }
                // Changed through the records API into something that is not a message: left
                // out (and said in the log, without its content) rather than failing the page.
                Err(e) => tracing::warn!(record = %r.meta.id, error = %e, "a message's record is not a message"),
            }
        }
    }
    Ok(out)
}

/// A prediction of a model trained without an embedder (the pre-labeler): label ids with
/// probabilities at or above [`MIN_PROBABILITY`], most probable first.
pub fn predict(model: &Model, text: &str) -> Vec<(u32, f32)> {
    prediction(0, model, model.ranked_with(text, None)).labels
}

/// Predictions of texts (what the queues store: labels, top and margin), with the
/// deployment's sentence-embedding model when the dataset's model was trained with one.
pub fn stored(
    version: u32,
    model: &Model,
    embedder: Option<&dyn Embedder>,
    texts: &[&str],
) -> Result<Vec<StoredPrediction>, MiningError> {
    Ok(model
        .ranked_many(texts, embedder)?
        .into_iter()
        .map(|r| prediction(version, model, r))
        .collect())
}

/// A model's failure to predict as an answer: a model that needs another embedder than the
/// deployment runs must be trained again (409); anything else is the server's fault.
pub fn predict_error(e: MiningError) -> ApiError {
    match e {
        MiningError::EmbedderMismatch(m) => ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "model_needs_embedder",
            format!("{m}: train the dataset's model again"),
        ),
        other => ApiError::internal(other),
    }
}

/// What is stored of one ranked prediction.
fn prediction(version: u32, model: &Model, ranked: Vec<(usize, f32)>) -> StoredPrediction {
    let probs: Vec<f32> = ranked.iter().map(|r| r.1).collect();
    let margin = datapact_mining::queues::margin(&probs);
    let top = probs.first().copied().unwrap_or(0.0);
    let ids = model.labels();
    let labels: Vec<(u32, f32)> = ranked
        .into_iter()
        .filter(|(_, p)| *p >= MIN_PROBABILITY)
        .filter_map(|(r, p)| ids.get(r).map(|l| (*l, p)))
        .collect();
    StoredPrediction {
        model: version,
        labels,
        top,
        margin,
    }
}

/// How much a prediction disagrees with labels (0: it agrees).
pub fn disagreement(p: &StoredPrediction, labels: &[u32], model: &Model) -> f32 {
    let rows: Vec<usize> = model
        .labels()
        .iter()
        .enumerate()
        .filter(|(_, l)| labels.contains(l))
        .map(|(i, _)| i)
        .collect();
    let probs: Vec<f32> = model
        .labels()
        .iter()
        .map(|l| p.labels.iter().find(|(x, _)| x == l).map_or(0.0, |(_, v)| *v))
        .collect();
    datapact_mining::queues::disagreement(&probs, &rows)
}

/// The model that serves a dataset, loaded once and kept in memory.
pub async fn model_of(st: &AppState, tenant: &Tenant, d: &MiningDataset) -> Result<Option<Arc<Model>>, ApiError> {
    let Some(info) = &d.model else {
        return Ok(None);
    };
    if let Some(m) = st.mining.get(&d.id, info.version) {
        return Ok(Some(m));
    }
    let shard = info.shard.clone();
    let bytes = crate::blocking::with_vault(st, tenant, move |v, t| {
        let mut out = Vec::new();
        let mut after = 0;
        loop {
            match v.shard_items(t, &shard, after, 64)? {
                datapact_vault::ShardPage::Shredded => return Err(VaultError::Shredded(t.id)),
                datapact_vault::ShardPage::Items(items) if items.is_empty() => break,
                datapact_vault::ShardPage::Items(items) => {
                    for i in items {
                        after = i.seq;
                        out.extend_from_slice(&i.item);
                    }
                }
            }
        }
        Ok(out)
    })
    .await?;
    let model = on_blocking_pool(move || Model::from_bytes(&bytes).map_err(|e| corrupt("model", e))).await??;
    let model = Arc::new(model);
    st.mining.put(&d.id, info.version, model.clone());
    Ok(Some(model))
}

/// What a training read: each labeled message (its index key, record, text, labels).
struct TrainingSet {
    labeled: Vec<Labeled>,
    records: Vec<RecordId>,
    coverage: Vec<String>,
    /// Of them, run-time messages a person reviewed.
    run_time: usize,
}

/// Reads the labeled design-time messages (the newest `MAX_TRAIN_MESSAGES`) and a sample
/// of design-time texts for coverage.
fn read_training_set(v: &Vault, t: TenantRef<'_>, d: &MiningDataset) -> Result<TrainingSet, VaultError> {
    // Labeled design-time messages, and run-time messages a person reviewed (the
    // human-in-the-loop validation that is part of the service); never others.
    let mut rows = Vec::new();
    for (kind, review) in [("design_time", None), ("run_time", Some(2))] {
        let mut after = 0i64;
        loop {
            let page = v.messages(
                t,
                &d.id,
                &MessageQuery {
                    kind: Some(kind),
                    labeled: Some(true),
                    review,
                    after_seq: after,
                    limit: 10_000,
                    ..MessageQuery::default()
                },
            )?;
            let Some(last) = page.last() else { break };
            after = last.seq as i64;
            rows.extend(page);
        }
    }
    rows.sort_by_key(|r| r.seq);
    let skip = rows.len().saturating_sub(MAX_TRAIN_MESSAGES);
    let mut set = TrainingSet {
        labeled: Vec::new(),
        records: Vec::new(),
        coverage: Vec::new(),
        run_time: 0,
    };
    let up = d.taxonomy.expander();
    let rows: Vec<_> = rows.into_iter().skip(skip).collect();
    let ids: Vec<RecordId> = rows.iter().map(|r| r.record).collect();
    let mut bodies = read_bodies(v, t, &ids)?;
    for r in rows {
        // Deleted meanwhile (its row goes with it): not trained on.
        let Some(body) = bodies.remove(&r.record) else { continue };
        // Labels with their ancestors, only those still in the taxonomy.
        let labels = up.expand(&r.labels);
        if r.kind == DataKind::RunTime {
            set.run_time += 1;
        }
        if set.coverage.len() < COVERAGE_SAMPLE / 2 {
            set.coverage.push(body.model_text());
        }
        set.labeled.push(Labeled {
            // The held-out split hashes the customer's own id: a message stays on its side
            // across retrains (and deployments).
            key: body.id.clone().into_bytes(),
            text: body.model_text(),
            labels,
        });
        set.records.push(r.record);
    }
    let unlabeled = v.messages(
        t,
        &d.id,
        &MessageQuery {
            kind: Some("design_time"),
            labeled: Some(false),
            order: datapact_vault::MessageOrder::Shuffle,
            limit: COVERAGE_SAMPLE / 2,
            ..MessageQuery::default()
        },
    )?;
    let ids: Vec<RecordId> = unlabeled.iter().map(|r| r.record).collect();
    for b in read_bodies(v, t, &ids)?.into_values() {
        set.coverage.push(b.model_text());
    }
    Ok(set)
}

/// Trains a dataset's model: reads its labeled design-time messages (and reviewed run-time
/// ones), trains and validates, seals the model under the tenant's keys, records it in the
/// training-data ledger, and refreshes the queues' predictions; answers this training's model
/// (a newer one trained meanwhile keeps serving). The caller decided and audited the use.
/// `phase` follows it: `reading`, `training`, `storing`, `predicting`.
pub async fn train(
    st: &AppState,
    c: &ApiKey,
    tenant: &Tenant,
    d: MiningDataset,
    job: Option<&str>,
    phase: &tokio::sync::watch::Sender<&'static str>,
) -> Result<ModelInfo, ApiError> {
    // A version of its own (another node may train the same dataset at the same time: each
    // training gets its number and its own shard).
    let version = {
        let _w = st.write_lock().await?;
        let mut fresh = load(st, &d.id)
            .await?
            .ok_or_else(|| ApiError::not_found("dataset", &d.id))?;
        let v = fresh.next_version.max(1);
        fresh.next_version = v + 1;
        save(st, &fresh).await?;
        v
    };
    // The newest key before anything is read: what is read is sealed under no later key, so
    // a purge while this runs shreds the model too.
    let snapshot = d.clone();
    let (set, up_to) = crate::blocking::with_vault(st, tenant, move |v, t| {
        let up_to = v.newest_key(t)?.ok_or_else(|| VaultError::Invalid {
            field: "labels".into(),
            message: "the dataset has no messages to train on".into(),
        })?;
        Ok((read_training_set(v, t, &snapshot)?, up_to))
    })
    .await?;
    let tax = d.taxonomy.clone();
    let TrainingSet {
        labeled,
        records,
        coverage,
        run_time,
    } = set;
    let kinds = if run_time > 0 {
        vec![DataKind::DesignTime, DataKind::RunTime]
    } else {
        vec![DataKind::DesignTime]
    };
    let labels_of: Vec<BTreeSet<u32>> = labeled.iter().map(|l| l.labels.clone()).collect();
    let embedder = st.embedder.clone();
    phase.send_replace("training");
    let outcome = on_blocking_pool(move || {
        let cov: Vec<&str> = coverage.iter().map(String::as_str).collect();
        datapact_mining::trainer::train(&tax, &labeled, &cov, embedder.as_deref(), &TrainConfig::default())
    })
    .await?
    .map_err(|e| match e {
        MiningError::TooFewLabels(m) => ApiError::invalid("too_few_labels", "labels", m),
        MiningError::Invalid(m) => ApiError::invalid("invalid_value", "labels", m),
        other => predict_error(other),
    })?;
    phase.send_replace("storing");
    let bytes = outcome.model.to_bytes().map_err(ApiError::internal)?;
    let shard = format!("{}.model.{}", d.id, uuid::Uuid::now_v7().simple());
    let ledger_id = format!("ds_{}", uuid::Uuid::now_v7().simple());
    let n_bytes = bytes.len() as u64;
    // The model and its training set's lineage items, sealed under the tenant's keys.
    let (shard_w, ledger_w) = (shard.clone(), ledger_id.clone());
    let items: Vec<(RecordId, Vec<u8>)> = records
        .iter()
        .zip(&labels_of)
        .map(|(r, l)| {
            let ids: Vec<u32> = l.iter().copied().collect();
            (
                *r,
                serde_json::to_vec(&serde_json::json!({ "labels": ids })).unwrap_or_default(),
            )
        })
        .collect();
    let lineage_digest = {
        let mut h = Sha256::new();
        for (r, item) in &items {
            h.update(r.to_string().as_bytes());
            h.update(b":");
            h.update(item);
            h.update(b"\n");
        }
        hex::encode(h.finalize())
    };
    // The ledger: a customer_model dataset holding this tenant's messages, and the model.
    let at = now();
    let included = records.len() as u64;
    let shard_line = ShardLine {
        tenant: tenant.id,
        org: tenant.org,
        shard: format!("shard_{}", &lineage_digest[..16]),
        included,
        digest: lineage_digest.clone(),
    };
    let ledger = Dataset {
        id: ledger_id.clone(),
        request: DatasetSpec {
            name: format!("{} v{version} training set", d.name),
            product: PRODUCT.to_string(),
            purpose: TrainingPurpose::CustomerModel,
            region: tenant.region.clone(),
            data_kinds: Some(kinds.clone()),
            tenants: Some(vec![tenant.id]),
            categories: Default::default(),
            minimization: Default::default(),
        },
        data_kinds: kinds,
        status: DatasetStatus::Ready,
        plan: vec![tenant.id],
        done: 1,
        counts: datapact_training::Counts {
            candidates: included,
            included,
            ..Default::default()
        },
        digest: Some(datapact_training::dataset_digest([(
            shard_line.shard.as_str(),
            shard_line.digest.as_str(),
        )])),
        shards: vec![shard_line],
        created_by: Some(c.id.to_string()),
        created_at: at,
        built_at: Some(at),
        created_entry: None,
        built_entry: None,
        error: None,
        shard_secret: String::new(),
    };
    // Recorded before its items are written: a purge from here on finds it and lists it.
    crate::training::save_dataset(st, &ledger).await?;
    let ids: Vec<RecordId> = records.clone();
    let written = crate::blocking::with_vault(st, tenant, move |v, t| {
        let chunks: Vec<(RecordId, Vec<u8>)> = bytes
            .chunks(MODEL_CHUNK)
            .map(|c| (RecordId::generate(), c.to_vec()))
            .collect();
        // Keys destroyed since the read (a purge): nothing may be sealed; the dataset is gone.
        let gone_keys = |e: VaultError| match e {
            VaultError::Shredded(_) => VaultError::NotFound(String::new()),
            other => other,
        };
        v.put_items(t, &shard_w, 1, &chunks, up_to).map_err(gone_keys)?;
        for (i, batch) in items.chunks(1_000).enumerate() {
            v.put_items(t, &ledger_w, 1 + (i * 1_000) as u64, batch, up_to)
                .map_err(gone_keys)?;
        }
        // Messages deleted since they were read: their lineage items exist now, so the
        // deletion is owed like any later one.
        let mut present = std::collections::HashSet::with_capacity(ids.len());
        for chunk in ids.chunks(1_000) {
            for r in v.get_many(t, chunk)? {
                present.insert(r.meta.id);
            }
        }
        Ok(ids.into_iter().filter(|r| !present.contains(r)).collect::<Vec<_>>())
    })
    .await;
    let gone = match written {
        Ok(g) => g,
        Err(e) => {
            // Nothing half-written stays: the items go, the ledger's dataset says it failed.
            let (sh, lg) = (shard.clone(), ledger_id.clone());
            let _ = crate::blocking::with_vault(st, tenant, move |v, t| {
                v.drop_shard(t, &sh)?;
                v.drop_shard(t, &lg)
            })
            .await;
            let mut failed = ledger.clone();
            failed.status = DatasetStatus::Failed;
            failed.error = Some("the training that made it did not finish".into());
            crate::training::save_dataset(st, &failed).await?;
            // The tenant's keys went while it ran (a purge): the dataset went with them.
            return Err(if e.status == axum::http::StatusCode::NOT_FOUND {
                ApiError::not_found("dataset", &d.id)
            } else {
                e
            });
        }
    };
    for rid in gone {
        crate::training::record_changed(st, tenant, rid, true).await?;
    }
    let model_id = format!("mdl_{}", uuid::Uuid::now_v7().simple());
    let info = ModelInfo {
        version,
        trained_at: at,
        shard,
        bytes: n_bytes,
        messages: included as usize,
        validation: outcome.validation,
        ledger_dataset: ledger_id.clone(),
        ledger_model: model_id.clone(),
        embedder: outcome.model.embedder().map(str::to_string),
        job: job.map(str::to_string),
    };
    let model = Arc::new(outcome.model);
    // The dataset as stored now (labels may have changed meanwhile), with the new model.
    let w = st.write_lock().await?;
    let Some(mut fresh) = load(st, &d.id).await? else {
        // Purged while it trained: nothing of it stays.
        drop(w);
        drop_items(st, tenant, &info).await?;
        return Err(ApiError::not_found("dataset", &d.id));
    };
    // Another run of the same job stored its model first (a node that lost the worker lease
    // went on training): that one is the job's; this one is not kept.
    if let Some(first) = job.and_then(|j| {
        fresh
            .model
            .iter()
            .chain(&fresh.history)
            .find(|m| m.job.as_deref() == Some(j))
            .cloned()
    }) {
        drop(w);
        drop_items(st, tenant, &info).await?;
        let mut unused = ledger.clone();
        unused.status = DatasetStatus::Failed;
        unused.error = Some("another run of the same training job stored its model first".into());
        crate::training::save_dataset(st, &unused).await?;
        return Ok(first);
    }
    // Registered only once it is certain to be kept.
    let mut lm = LedgerModel {
        id: model_id.clone(),
        name: format!("{PRODUCT}/{}", d.id),
        version: format!("v{version}"),
        product: PRODUCT.to_string(),
        purpose: TrainingPurpose::CustomerModel,
        region: tenant.region.clone(),
        datasets: LedgerModel::lineage_of(&ledger).into_iter().collect(),
        registered_by: Some(c.id.to_string()),
        registered_at: at,
        registered_entry: None,
    };
    let ev = Ev::by(c, Action::ModelRegister)
        .tenant(tenant)
        .product(PRODUCT)
        .purpose(datapact_governance::Purpose::Service)
        .resources(Label::new(&model_id).ok().map(Resource::Model))
        .resources(Label::new(&ledger_id).ok().map(Resource::Dataset));
    lm.registered_entry = Some(st.audit(ev).await?.index);
    crate::training::save_model(st, &lm).await?;
    // A newer version trained meanwhile keeps serving; this one joins the history.
    let serves = fresh.model.as_ref().is_none_or(|m| m.version < version);
    let trained = info.clone();
    if serves {
        if let Some(prev) = fresh.model.take() {
            fresh.history.insert(0, prev);
        }
        fresh.model = Some(info);
    } else {
        fresh.history.push(info);
    }
    fresh.history.sort_by_key(|m| std::cmp::Reverse(m.version));
    let dropped: Vec<ModelInfo> = fresh
        .history
        .split_off(fresh.history.len().min(KEEP_MODEL_VERSIONS - 1));
    save(st, &fresh).await?;
    drop(w);
    let d = fresh;
    if serves {
        st.mining.put(&d.id, version, model.clone());
    }
    if !dropped.is_empty() {
        crate::blocking::with_vault(st, tenant, move |v, t| {
            for m in &dropped {
                v.drop_shard(t, &m.shard)?;
            }
            Ok(())
        })
        .await?;
    }
    if serves {
        phase.send_replace("predicting");
        refresh_predictions(st, tenant, &d, version, model).await?;
    }
    Ok(trained)
}

/// Removes a model's items and its training set's lineage items from the vault (a model not
/// kept).
async fn drop_items(st: &AppState, tenant: &Tenant, info: &ModelInfo) -> Result<(), ApiError> {
    let (sh, lg) = (info.shard.clone(), info.ledger_dataset.clone());
    crate::blocking::with_vault(st, tenant, move |v, t| {
        v.drop_shard(t, &sh)?;
        v.drop_shard(t, &lg)
    })
    .await
    .map(|_| ())
}

/// Stores again the predictions of model `version` for the dataset's design-time messages,
/// if that model still serves it (a training job whose node stopped while storing them ends
/// with this).
pub async fn repredict(st: &AppState, dataset: &str, version: u32) -> Result<(), ApiError> {
    let Some(d) = load(st, dataset).await? else {
        return Ok(());
    };
    if d.model.as_ref().is_none_or(|m| m.version != version) || d.purged_at.is_some() {
        return Ok(());
    }
    let Some(tenant) = st.registry.tenant(d.tenant) else {
        return Ok(());
    };
    let Some(model) = model_of(st, &tenant, &d).await? else {
        return Ok(());
    };
    refresh_predictions(st, &tenant, &d, version, model).await
}

/// Stores the model's predictions of the dataset's design-time messages (the queues read
/// them), in upload order, up to `PREDICT_AFTER_TRAINING` of them.
async fn refresh_predictions(
    st: &AppState,
    tenant: &Tenant,
    d: &MiningDataset,
    version: u32,
    model: Arc<Model>,
) -> Result<(), ApiError> {
    let dataset = d.id.clone();
    let tax = d.taxonomy.clone();
    let embedder = st.embedder.clone();
    crate::blocking::with_vault(st, tenant, move |v, t| {
        let mut after = 0i64;
        let mut done = 0usize;
        loop {
            let page = v.messages(
                t,
                &dataset,
                &MessageQuery {
                    kind: Some("design_time"),
                    after_seq: after,
                    limit: 2_000,
                    ..MessageQuery::default()
                },
            )?;
            let Some(last) = page.last() else { break };
            after = last.seq as i64;
            let mut changes = Vec::with_capacity(page.len());
            let ids: Vec<RecordId> = page.iter().map(|r| r.record).collect();
            let bodies = read_bodies(v, t, &ids)?;
            let read: Vec<(&datapact_vault::MessageIndex, String)> = page
                .iter()
                .filter_map(|r| bodies.get(&r.record).map(|b| (r, b.model_text())))
                .collect();
            let texts: Vec<&str> = read.iter().map(|(_, t)| t.as_str()).collect();
            let predictions = match stored(version, &model, embedder.as_deref(), &texts) {
                Ok(p) => p,
                Err(e) => return Ok(Err(e)),
            };
            for ((r, _), p) in read.iter().zip(predictions) {
                let dis = if r.labeled {
                    let all: Vec<u32> = tax.expand(&r.labels).into_iter().collect();
                    disagreement(&p, &all, &model)
                } else {
                    0.0
                };
                changes.push(prediction_change(&r.key, &p, dis));
            }
            v.change_messages(t, &dataset, &changes)?;
            done += page.len();
            if done >= PREDICT_AFTER_TRAINING {
                break;
            }
        }
        Ok(Ok(()))
    })
    .await?
    .map_err(predict_error)
}

/// Predictions for messages just stored (when a model exists), so the queues hold them.
pub async fn predict_new(
    st: &AppState,
    tenant: &Tenant,
    d: &MiningDataset,
    msgs: Vec<(String, String, Vec<u32>, bool)>,
) -> Result<(), ApiError> {
    let (Some(info), false) = (&d.model, msgs.is_empty()) else {
        return Ok(());
    };
    let Some(model) = model_of(st, tenant, d).await? else {
        return Ok(());
    };
    let version = info.version;
    let dataset = d.id.clone();
    let embedder = st.embedder.clone();
    let texts: Vec<String> = msgs.iter().map(|m| m.1.clone()).collect();
    let predictions = on_blocking_pool(move || {
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        stored(version, &model, embedder.as_deref(), &texts).map(|p| (p, model))
    })
    .await?;
    let (predictions, model) = match predictions {
        Ok(p) => p,
        // The model needs an embedder the deployment no longer runs: the messages are stored;
        // they get predictions once the model is trained again.
        Err(MiningError::EmbedderMismatch(_)) => return Ok(()),
        Err(e) => return Err(predict_error(e)),
    };
    crate::blocking::with_vault(st, tenant, move |v, t| {
        let changes: Vec<_> = msgs
            .iter()
            .zip(predictions)
            .map(|((key, _, labels, labeled), p)| {
                let dis = if *labeled {
                    disagreement(&p, labels, &model)
                } else {
                    0.0
                };
                prediction_change(key, &p, dis)
            })
            .collect();
        v.change_messages(t, &dataset, &changes).map(|_| ())
    })
    .await
}

/// A purge or termination removed a tenant's data: its datasets go (their messages, models
/// and lineage items went with its keys and rows), and their streams with them.
pub async fn tenant_gone(st: &AppState, tenant: TenantId) -> Result<(), ApiError> {
    // Under the write lock: a change of one of its datasets racing the purge either lands
    // before (and is replaced by the stub) or finds it purged.
    let _w = st.write_lock().await?;
    for mut d in all(st).await? {
        if d.tenant != tenant {
            continue;
        }
        st.mining.forget(&d.id);
        // What stays is a stub: the customer's words (its name, labels, the validation's
        // label names) go with the data.
        d.purged_at = Some(now());
        d.name = String::new();
        d.taxonomy = Taxonomy::default();
        d.model = None;
        d.history.clear();
        let doc = serde_json::to_string(&d).map_err(ApiError::internal)?;
        st.store
            .put_training_doc(DOC_DATASET, &d.id, "purged", &doc)
            .await
            .map_err(ApiError::storage)?;
        for mut s in streams(st, &d.id).await? {
            s.thresholds.clear();
            s.purged = true;
            let doc = serde_json::to_string(&s).map_err(ApiError::internal)?;
            st.store
                .put_training_doc(DOC_STREAM, &stream_id(&s.dataset, &s.name), "purged", &doc)
                .await
                .map_err(ApiError::storage)?;
        }
    }
    Ok(())
}

/// Label counts (parents included) over a dataset's labeled messages of every kind, read in
/// pages of label ids, up to `max_rows` messages; and whether every one was read.
pub fn labeled_counts(
    v: &Vault,
    t: TenantRef<'_>,
    dataset: &str,
    tax: &Taxonomy,
    max_rows: usize,
) -> Result<(HashMap<u32, u64>, bool), VaultError> {
    let mut per = HashMap::new();
    let mut after = 0i64;
    let mut read = 0usize;
    while read < max_rows {
        let page = v.messages(
            t,
            dataset,
            &MessageQuery {
                labeled: Some(true),
                after_seq: after,
                limit: 10_000,
                ..MessageQuery::default()
            },
        )?;
        let Some(last) = page.last() else {
            return Ok((per, true));
        };
        after = last.seq as i64;
        read += page.len();
        for (l, n) in label_counts(tax, &page) {
            *per.entry(l).or_insert(0u64) += n;
        }
    }
    Ok((per, false))
}

/// Label counts of a dataset's messages, by label id (labeled messages only; for the view).
pub fn label_counts(tax: &Taxonomy, rows: &[datapact_vault::MessageIndex]) -> HashMap<u32, u64> {
    let mut out = HashMap::new();
    let up = tax.expander();
    for r in rows {
        for l in up.expand(&r.labels) {
            *out.entry(l).or_insert(0) += 1;
        }
    }
    out
}
