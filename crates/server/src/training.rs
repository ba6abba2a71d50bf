//! Training-data governance on the server: a dataset's build (a background job that survives
//! restarts and moves between nodes with the worker lease), read-time eligibility, unlearning
//! debt and what a purge does downstream.
//!
//! A build reads one tenant at a time in a fixed plan. Each tenant's shard is dropped and
//! written again from scratch, so a build interrupted anywhere resumes at the first tenant not
//! recorded as done: what a crashed run wrote for it is replaced, never doubled, and the
//! dataset says `ready` only once every tenant is done.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use datapact_audit::{Action, Label, Resource};
use datapact_governance::{DataKind, DecisionRequest, Org, Reason, RecordId, Tenant, TenantId};
use datapact_store::{TrainingEvent, TrainingEventCount};
use datapact_training::debt::{EventCount, REASON_RECORD_DELETED, REASON_RECORD_MODIFIED, REASON_TENANT_PURGED};
use datapact_training::{
    Builder, Candidate, Considered, Dataset, DatasetStatus, Debt, Model, Owed, ShardLine, Summary, ValidSpec,
    build::code_name, dataset_digest,
};
use datapact_vault::{Content, Downstream, ListFilter, TenantRef, Vault, VaultError};
use time::OffsetDateTime;

use crate::audit::Ev;
use crate::blocking::{blocking, vault_error};
use crate::problem::ApiError;
use crate::state::{AppState, now};

/// Document kinds in the store.
pub const DATASET: &str = "dataset";
/// Document kind of a model.
pub const MODEL: &str = "model";

/// The PII engine a build minimizes with (the built-in recognizers).
pub(crate) static ANALYZER: LazyLock<datapact_pii::Analyzer> = LazyLock::new(datapact_pii::Analyzer::new);

/// Items sealed and written per statement.
const WRITE_BATCH: usize = 512;
/// Records read and decrypted per page.
const READ_PAGE: usize = 1000;
/// Records offered to the builder at once (its PII scans run on two threads).
const SCAN_BATCH: usize = 256;
/// How often the worker lease is renewed while one tenant's build runs.
const LEASE_RENEWAL: Duration = Duration::from_secs(3);
/// How often a build's progress is stored, at most.
const SAVE_EVERY: Duration = Duration::from_secs(1);

/// Reads a dataset document.
pub async fn load_dataset(st: &AppState, id: &str) -> Result<Option<Dataset>, ApiError> {
    let Some(doc) = st.store.training_doc(DATASET, id).await.map_err(ApiError::storage)? else {
        return Ok(None);
    };
    serde_json::from_str(&doc).map(Some).map_err(ApiError::internal)
}

/// Every dataset.
pub async fn datasets(st: &AppState) -> Result<Vec<Dataset>, ApiError> {
    let docs = st.store.training_docs(DATASET, None).await.map_err(ApiError::storage)?;
    docs.iter()
        .map(|d| serde_json::from_str(d).map_err(ApiError::internal))
        .collect()
}

/// Every model.
pub async fn models(st: &AppState) -> Result<Vec<Model>, ApiError> {
    let docs = st.store.training_docs(MODEL, None).await.map_err(ApiError::storage)?;
    docs.iter()
        .map(|d| serde_json::from_str(d).map_err(ApiError::internal))
        .collect()
}

/// Stores a dataset document.
pub async fn save_dataset(st: &AppState, d: &Dataset) -> Result<(), ApiError> {
    let doc = serde_json::to_string(d).map_err(ApiError::internal)?;
    st.store
        .put_training_doc(DATASET, &d.id, d.status.as_str(), &doc)
        .await
        .map_err(ApiError::storage)
}

/// Stores a model document.
pub async fn save_model(st: &AppState, m: &Model) -> Result<(), ApiError> {
    let doc = serde_json::to_string(m).map_err(ApiError::internal)?;
    st.store
        .put_training_doc(MODEL, &m.id, "registered", &doc)
        .await
        .map_err(ApiError::storage)
}

/// The spec a stored dataset was validated into.
pub fn valid_spec(d: &Dataset) -> ValidSpec {
    ValidSpec {
        asked: d.request.clone(),
        data_kinds: d.data_kinds.clone(),
    }
}

/// The decision point's answer for one tenant, data kind and dataset, now.
fn decide(st: &AppState, d: &Dataset, tenant: TenantId, kind: DataKind) -> (bool, Vec<Reason>) {
    let req = DecisionRequest {
        tenant,
        product: &d.request.product,
        purpose: d.request.purpose.purpose(),
        data_kind: Some(kind),
        region: Some(&d.request.region),
    };
    match st.registry.decide(&req, now()) {
        Ok(dec) if dec.allowed => (true, Vec::new()),
        Ok(dec) => (false, dec.reasons),
        // A tenant the registry no longer knows: nothing of it may be used.
        Err(_) => (false, Vec::new()),
    }
}

/// Why a tenant's part of a dataset may not be used now (reason codes; empty: it may).
pub fn withheld_now(st: &AppState, d: &Dataset, tenant: TenantId) -> Vec<String> {
    let mut why: Vec<String> = Vec::new();
    for kind in &d.data_kinds {
        let (allowed, reasons) = decide(st, d, tenant, *kind);
        if !allowed {
            if reasons.is_empty() {
                why.push("denied".into());
            }
            why.extend(reasons.iter().map(code_name));
        }
    }
    why.sort();
    why.dedup();
    why
}

/// The training events, by dataset and tenant.
pub async fn events(st: &AppState) -> Result<HashMap<(String, TenantId), Vec<EventCount>>, ApiError> {
    let rows: Vec<TrainingEventCount> = st.store.training_event_counts().await.map_err(ApiError::storage)?;
    let mut out: HashMap<(String, TenantId), Vec<EventCount>> = HashMap::new();
    for r in rows {
        out.entry((r.dataset, r.tenant))
            .or_default()
            .push((r.reason, r.records, r.since));
    }
    Ok(out)
}

/// Since when a tenant's data may not be used for `reason`: an opt-out's effective time, else
/// the organization's last change of terms or status.
fn since(org: Option<&Org>, reason: &str, product: &str) -> OffsetDateTime {
    let Some(org) = org else {
        return now();
    };
    if reason == "opted_out"
        && let Some(o) = org
            .opt_outs
            .iter()
            .filter(|o| o.revoked_at.is_none())
            .filter(|o| o.products.as_ref().is_none_or(|p| p.iter().any(|p| p == product)))
            .map(|o| o.effective_at)
            .min()
    {
        return o;
    }
    org.updated_at
}

/// What each dataset owes now, for the shards `keep` selects: the decision point asked once
/// per tenant and kind of question, however many datasets hold the tenant.
pub fn owed_by_dataset<'d>(
    st: &AppState,
    datasets: impl IntoIterator<Item = &'d Dataset>,
    events: &HashMap<(String, TenantId), Vec<EventCount>>,
    keep: impl Fn(&ShardLine) -> bool,
) -> HashMap<String, Owed> {
    let mut memo: HashMap<(TenantId, String), Vec<(String, OffsetDateTime)>> = HashMap::new();
    let mut out = HashMap::new();
    for d in datasets {
        if d.status != DatasetStatus::Ready {
            continue;
        }
        let question = format!(
            "{}|{:?}|{}|{:?}",
            d.request.product, d.request.purpose, d.request.region, d.data_kinds
        );
        let owed = Owed::of_dataset(
            d,
            &keep,
            |s: &ShardLine| {
                memo.entry((s.tenant, question.clone()))
                    .or_insert_with(|| {
                        let org = st.registry.org(s.org);
                        withheld_now(st, d, s.tenant)
                            .into_iter()
                            .map(|r| {
                                let at = since(org.as_deref(), &r, &d.request.product);
                                (r, at)
                            })
                            .collect()
                    })
                    .clone()
            },
            events,
        );
        out.insert(d.id.clone(), owed);
    }
    out
}

/// What a model owes: the union of what its datasets owe.
pub fn model_debt(m: &Model, owed: &HashMap<String, Owed>) -> Debt {
    let mut total = Owed::default();
    for d in &m.datasets {
        if let Some(o) = owed.get(&d.id) {
            total.merge(o);
        }
    }
    total.debt()
}

/// One tenant's part of a build, run on a blocking thread: the shard dropped and written again.
/// Returns its summary and when the kept attempt began. `cancel` stops it between pages (the
/// node lost the worker lease: another node builds this tenant).
fn build_tenant(
    vault: &Vault,
    t: TenantRef<'_>,
    d: &Dataset,
    decisions: &[(DataKind, bool, Vec<Reason>)],
    cancel: &AtomicBool,
) -> Result<(Summary, OffsetDateTime), VaultError> {
    // A record deleted or changed while its tenant is being built may have been copied
    // before (its deletion found no copy to take): such a shard is built again.
    for _ in 0..3 {
        let started = now();
        // What is read now is sealed under no key newer than this (a key made after a purge
        // never seals data read before it).
        let up_to = vault.newest_key(t)?.unwrap_or(0);
        let summary = match write_shard(vault, t, d, decisions, up_to, cancel) {
            Ok(s) => s,
            // The tenant was purged while it was read: nothing of it enters.
            Err(VaultError::Shredded(_)) => {
                vault.drop_shard(t, &d.id)?;
                return Ok((Summary::default(), started));
            }
            Err(e) => return Err(e),
        };
        if vault.shard_outlived_its_keys(t, &d.id)? {
            vault.drop_shard(t, &d.id)?;
            return Ok((Summary::default(), started));
        }
        if vault.stale_items(t, &d.id, started)? == 0 {
            return Ok((summary, started));
        }
        tracing::info!(dataset = %d.id, "records changed during a tenant's build; building it again");
    }
    // Answered as storage being busy: the tenant is built again at a later tick.
    Err(VaultError::Unavailable(
        "the tenant's records keep changing during the build; retried later".into(),
    ))
}

/// The error a cancelled build step ends with (retried by whoever holds the lease).
fn lease_lost() -> VaultError {
    VaultError::Unavailable("this node no longer holds the worker lease".into())
}

/// Writes one tenant's shard from scratch.
fn write_shard(
    vault: &Vault,
    t: TenantRef<'_>,
    d: &Dataset,
    decisions: &[(DataKind, bool, Vec<Reason>)],
    up_to: u32,
    cancel: &AtomicBool,
) -> Result<Summary, VaultError> {
    vault.drop_shard(t, &d.id)?;
    // Items are sealed and written on a thread of their own while the next page is read,
    // decrypted and minimized: the two halves of the work overlap.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<(RecordId, Vec<u8>)>>(2);
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> Result<(), VaultError> {
            let mut next_seq = 1u64;
            for batch in rx {
                if cancel.load(Ordering::Relaxed) {
                    return Err(lease_lost());
                }
                vault.put_items(t, &d.id, next_seq, &batch, up_to)?;
                next_seq += batch.len() as u64;
            }
            Ok(())
        });
        let read = read_tenant(vault, t, d, decisions, tx, cancel);
        let wrote = writer
            .join()
            .unwrap_or_else(|_| Err(VaultError::KeyStore("the shard writer failed".into())));
        // The writer's own error says more than the reader's "the writer stopped".
        wrote.and(read)
    })
}

/// Reads, decides and minimizes one tenant's records, sending the items to the shard writer.
fn read_tenant(
    vault: &Vault,
    t: TenantRef<'_>,
    d: &Dataset,
    decisions: &[(DataKind, bool, Vec<Reason>)],
    tx: std::sync::mpsc::SyncSender<Vec<(RecordId, Vec<u8>)>>,
    cancel: &AtomicBool,
) -> Result<Summary, VaultError> {
    let spec = valid_spec(d);
    let secret = d.shard_secret();
    let mut b = Builder::new(&spec, &ANALYZER, &secret);
    let mut pending: Vec<(RecordId, Vec<u8>)> = Vec::with_capacity(WRITE_BATCH);
    let write = |pending: &mut Vec<(RecordId, Vec<u8>)>, force: bool| -> Result<(), VaultError> {
        if pending.len() >= WRITE_BATCH || (force && !pending.is_empty()) {
            tx.send(std::mem::replace(pending, Vec::with_capacity(WRITE_BATCH)))
                .map_err(|_| VaultError::KeyStore("the shard writer stopped".into()))?;
        }
        Ok(())
    };
    let product = d.request.product.as_str();
    for (kind, allowed, reasons) in decisions {
        if *allowed && d.data_kinds.contains(kind) {
            // The content of records the dataset may hold, and only those, is decrypted.
            let mut batch: Vec<datapact_vault::Record> = Vec::with_capacity(SCAN_BATCH);
            let offer = |batch: &mut Vec<datapact_vault::Record>,
                         b: &mut Builder<'_>,
                         pending: &mut Vec<(RecordId, Vec<u8>)>|
             -> Result<(), VaultError> {
                let cands: Vec<(Candidate<'_>, bool, &[Reason])> = batch
                    .iter()
                    .map(|r| {
                        let content: &[u8] = match &r.content {
                            Content::Text(s) => s.as_bytes(),
                            Content::Bytes(v) => v,
                        };
                        (
                            Candidate {
                                id: r.meta.id,
                                tenant: t.id,
                                data_kind: r.meta.data_kind,
                                categories: &r.meta.categories,
                                content,
                            },
                            true,
                            &[][..],
                        )
                    })
                    .collect();
                for c in b.consider_all(&cands, 2) {
                    if let Considered::Included(item) = c {
                        pending.push((item.id, item.line()));
                    }
                }
                batch.clear();
                Ok(())
            };
            let mut failed: Option<VaultError> = None;
            vault.export_kind(t, Some(product), Some(*kind), READ_PAGE, |r| {
                if cancel.load(Ordering::Relaxed) {
                    failed = Some(lease_lost());
                    return Ok(false);
                }
                batch.push(r);
                if batch.len() >= SCAN_BATCH {
                    offer(&mut batch, &mut b, &mut pending)?;
                    if let Err(e) = write(&mut pending, false) {
                        failed = Some(e);
                        return Ok(false);
                    }
                }
                Ok(true)
            })?;
            if let Some(e) = failed {
                return Err(e);
            }
            offer(&mut batch, &mut b, &mut pending)?;
            write(&mut pending, false)?;
        } else {
            // Left out whole: counted from metadata, never decrypted.
            let mut after = None;
            loop {
                let page = vault.list(
                    t,
                    &ListFilter {
                        product: Some(product.to_string()),
                        data_kind: Some(*kind),
                        after,
                        limit: 1000,
                        ..Default::default()
                    },
                )?;
                let Some(last) = page.last() else { break };
                after = Some(last.id);
                for m in &page {
                    b.consider(
                        Candidate {
                            id: m.id,
                            tenant: t.id,
                            data_kind: m.data_kind,
                            categories: &m.categories,
                            content: b"",
                        },
                        *allowed,
                        reasons,
                    );
                }
            }
        }
    }
    write(&mut pending, true)?;
    Ok(b.summary())
}

/// Runs builds that are under way for up to `budget`; returns whether one is left unfinished.
pub async fn run_builds(st: &Arc<AppState>, budget: Duration) -> bool {
    let building = st
        .store
        .training_docs(DATASET, Some(DatasetStatus::Building.as_str()))
        .await
        .map_err(ApiError::storage)
        .and_then(|docs| {
            docs.iter()
                .map(|d| serde_json::from_str::<Dataset>(d).map_err(ApiError::internal))
                .collect::<Result<Vec<_>, _>>()
        });
    let all = match building {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(detail = %e.detail, "cannot read training datasets; retried at the next tick");
            return false;
        }
    };
    let start = Instant::now();
    let mut more = false;
    for d in all.into_iter().filter(|d| d.status == DatasetStatus::Building) {
        if start.elapsed() >= budget {
            return true;
        }
        more |= !advance(st, d, budget.saturating_sub(start.elapsed())).await;
    }
    more
}

/// Builds tenants of `d` for up to `budget`; true when the build is finished (or failed).
async fn advance(st: &Arc<AppState>, mut d: Dataset, budget: Duration) -> bool {
    let start = Instant::now();
    let mut saved = Instant::now();
    while d.done < d.plan.len() {
        if start.elapsed() >= budget {
            break;
        }
        let tid = d.plan[d.done];
        // One tenant's build may take longer than the worker lease lasts: it is renewed while
        // the build runs, and a node that lost it stores nothing (another node redoes it).
        let (built, held) = {
            let cancel = Arc::new(AtomicBool::new(false));
            let work = build_one(st, &d, tid, Arc::clone(&cancel));
            tokio::pin!(work);
            let mut held = true;
            let built = loop {
                tokio::select! {
                    r = &mut work => break r,
                    _ = tokio::time::sleep(LEASE_RENEWAL) => {
                        held &= crate::worker::renew_lease(st).await;
                        // Lost: the blocking build stops at its next page or batch.
                        cancel.store(!held, Ordering::Relaxed);
                    }
                }
            };
            (built, held)
        };
        if !held || !crate::worker::renew_lease(st).await {
            tracing::warn!(dataset = %d.id, "lost the worker lease during a build; the node that took it over goes on");
            return true;
        }
        match built {
            Ok(Some((summary, org))) => {
                d.counts.merge(&summary.counts);
                if summary.counts.included > 0 {
                    let shard = summary.tenants.first().map(|l| l.shard.clone()).unwrap_or_default();
                    d.shards.push(ShardLine {
                        tenant: tid,
                        org,
                        shard,
                        included: summary.counts.included,
                        digest: summary.digest.clone(),
                    });
                }
            }
            Ok(None) => {}
            Err(e) if e.status == axum::http::StatusCode::SERVICE_UNAVAILABLE => {
                // Storage unavailable: the tenant is built again at the next tick.
                tracing::warn!(dataset = %d.id, detail = %e.detail, "a dataset build step failed; retried");
                return true;
            }
            Err(e) => {
                d.status = DatasetStatus::Failed;
                d.error = Some(format!("tenant {} of the plan: {}", d.done + 1, e.detail));
                tracing::error!(dataset = %d.id, detail = %e.detail, "a dataset build failed");
                let _ = save_dataset(st, &d).await;
                // Nothing of a failed build is served: its shards go (a failure here leaves
                // rows no export reads; they still go with their tenant's keys).
                for tid in d.plan.iter().take(d.done + 1) {
                    if let Some(t) = st.registry.tenant(*tid) {
                        let id = d.id.clone();
                        if let Err(e) = crate::blocking::with_vault(st, &t, move |v, t| v.drop_shard(t, &id)).await {
                            tracing::warn!(dataset = %d.id, detail = %e.detail, "cannot remove a failed build's shard");
                        }
                    }
                }
                return true;
            }
        }
        d.done += 1;
        if saved.elapsed() >= SAVE_EVERY && d.done < d.plan.len() {
            if let Err(e) = save_dataset(st, &d).await {
                tracing::warn!(dataset = %d.id, detail = %e.detail, "cannot store build progress; redone after a restart");
            }
            saved = Instant::now();
        }
    }
    if d.done < d.plan.len() {
        if let Err(e) = save_dataset(st, &d).await {
            tracing::warn!(dataset = %d.id, detail = %e.detail, "cannot store build progress; redone after a restart");
        }
        return false;
    }
    finish(st, d).await;
    true
}

/// One tenant of the plan: its summary and organization (`None`: it no longer exists).
async fn build_one(
    st: &Arc<AppState>,
    d: &Dataset,
    tid: TenantId,
    cancel: Arc<AtomicBool>,
) -> Result<Option<(Summary, datapact_governance::OrgId)>, ApiError> {
    let Some(tenant) = st.registry.tenant(tid) else {
        return Ok(None);
    };
    if tenant.region != d.request.region {
        // Another region's records are counted from that region's metadata, never read.
        let (vault, product, region) = (Arc::clone(&st.vault), d.request.product.clone(), tenant.region.clone());
        let n = blocking(move || {
            vault.count(
                TenantRef {
                    id: tid,
                    region: &region,
                },
                Some(&product),
            )
        })
        .await?;
        let mut s = Summary::default();
        s.counts.exclude(datapact_training::build::reasons::OTHER_REGION, n);
        return Ok(Some((s, tenant.org)));
    }
    let decisions: Vec<(DataKind, bool, Vec<Reason>)> = DataKind::ALL
        .into_iter()
        .map(|k| {
            let (allowed, reasons) = decide(st, d, tid, k);
            (k, allowed, reasons)
        })
        .collect();
    let (vault, d2, region) = (Arc::clone(&st.vault), d.clone(), tenant.region.clone());
    let (summary, started) = blocking(move || {
        build_tenant(
            &vault,
            TenantRef {
                id: tid,
                region: &region,
            },
            &d2,
            &decisions,
            &cancel,
        )
    })
    .await?;
    // Changes to its records before this shard was read are in the shard already: what they
    // owed this dataset no longer holds.
    st.store
        .drop_training_events(&d.id, tid, started)
        .await
        .map_err(ApiError::storage)?;
    Ok(Some((summary, tenant.org)))
}

/// Marks a build finished: its digest, its audit entry, then `ready`.
async fn finish(st: &Arc<AppState>, mut d: Dataset) {
    if !crate::worker::renew_lease(st).await {
        return;
    }
    d.digest = Some(dataset_digest(
        d.shards.iter().map(|s| (s.shard.as_str(), s.digest.as_str())),
    ));
    let mut ev = Ev::system(Action::TrainingDatasetBuild)
        .product(&d.request.product)
        .purpose(d.request.purpose.purpose())
        .region(&d.request.region)
        .resource(Resource::Count(d.counts.included));
    if let Ok(l) = Label::new(&d.id) {
        ev = ev.resource(Resource::Dataset(l));
    }
    match st.audit(ev).await {
        Ok(entry) => d.built_entry = Some(entry.index),
        Err(e) => {
            // Ready only once its entry is on the record: retried at the next tick.
            tracing::warn!(dataset = %d.id, detail = %e.detail, "cannot log a finished build; retried");
            let _ = save_dataset(st, &d).await;
            return;
        }
    }
    d.status = DatasetStatus::Ready;
    d.built_at = Some(now());
    if let Err(e) = save_dataset(st, &d).await {
        tracing::warn!(dataset = %d.id, detail = %e.detail, "cannot store a finished build; retried");
        return;
    }
    tracing::info!(dataset = %d.id, included = d.counts.included, shards = d.shards.len(), "training dataset built");
}

/// A record was deleted or changed: the datasets holding an item of it owe it (stored first),
/// then the items go.
pub async fn record_changed(st: &AppState, tenant: &Tenant, record: RecordId, deleted: bool) -> Result<(), ApiError> {
    let holding = crate::blocking::with_vault(st, tenant, move |v, t| v.datasets_holding(t, record)).await?;
    if holding.is_empty() {
        return Ok(());
    }
    let reason = if deleted {
        REASON_RECORD_DELETED
    } else {
        REASON_RECORD_MODIFIED
    };
    let at = now();
    let events: Vec<TrainingEvent> = holding
        .into_iter()
        .map(|dataset| TrainingEvent {
            dataset,
            tenant: tenant.id,
            record: record.to_string(),
            reason: reason.to_string(),
            at,
        })
        .collect();
    st.store.add_training_events(&events).await.map_err(ApiError::storage)?;
    crate::blocking::with_vault(st, tenant, move |v, t| v.drop_record_items(t, record)).await?;
    Ok(())
}

/// A retention sweep is about to delete records that datasets hold items of: the datasets
/// owe them (stored before the sweep removes records and items together).
pub async fn records_swept(st: &AppState, tenant: &Tenant, held: Vec<(String, String)>) -> Result<(), ApiError> {
    if held.is_empty() {
        return Ok(());
    }
    let at = now();
    let events: Vec<TrainingEvent> = held
        .into_iter()
        .map(|(dataset, record)| TrainingEvent {
            dataset,
            tenant: tenant.id,
            record,
            reason: REASON_RECORD_DELETED.to_string(),
            at,
        })
        .collect();
    st.store.add_training_events(&events).await.map_err(ApiError::storage)
}

/// A tenant is being purged: every dataset holding its data owes it (stored before its keys
/// go), and what the certificate lists downstream.
pub async fn tenant_purged(st: &AppState, tenant: &Tenant) -> Result<Vec<Downstream>, ApiError> {
    let all = datasets(st).await?;
    let at = now();
    let mut out = Vec::new();
    let mut events = Vec::new();
    let mut held: HashMap<String, u64> = HashMap::new();
    for d in &all {
        let n = d.included_of(tenant.id);
        // A dataset being built that plans this tenant may hold (or be writing) its items:
        // it owes the purge too, and the certificate names it.
        let building = d.status == DatasetStatus::Building && d.plan.contains(&tenant.id);
        if n == 0 && !building {
            continue;
        }
        held.insert(d.id.clone(), n);
        events.push(TrainingEvent {
            dataset: d.id.clone(),
            tenant: tenant.id,
            record: String::new(),
            reason: REASON_TENANT_PURGED.to_string(),
            at,
        });
        out.push(Downstream {
            kind: "dataset".into(),
            id: d.id.clone(),
            name: d.request.name.clone(),
            state: "shredded".into(),
            records: n,
        });
    }
    if held.is_empty() {
        return Ok(out);
    }
    st.store.add_training_events(&events).await.map_err(ApiError::storage)?;
    for m in models(st).await? {
        let records: u64 = m.datasets.iter().filter_map(|d| held.get(&d.id)).sum();
        if records > 0 {
            out.push(Downstream {
                kind: "model".into(),
                id: m.id.clone(),
                name: format!("{}@{}", m.name, m.version),
                // A customer's own model is sealed under its keys: it went with them.
                state: if m.purpose == datapact_training::TrainingPurpose::CustomerModel {
                    "shredded".into()
                } else {
                    "owes_retraining".into()
                },
                records,
            });
        }
    }
    Ok(out)
}

/// How a shard failure is told: the dataset and the shard, never the tenant.
pub fn shard_error(dataset: &str, shard: &str, e: VaultError) -> ApiError {
    match e {
        VaultError::ItemCorrupt { seq, detail, .. } => {
            tracing::error!(%dataset, %shard, seq, %detail, "a training item failed authentication");
            ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "shard_corrupted",
                format!("item {seq} of shard {shard} of dataset {dataset} is corrupted in storage and cannot be read"),
            )
        }
        other => vault_error(other),
    }
}
