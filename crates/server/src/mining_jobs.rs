//! Trainings that run as background jobs: a dataset with more labeled messages than
//! `[mining] sync_train_max` (or a request with `Prefer: respond-async`) is answered 202 with
//! a job. Jobs live in the shared store, so any node answers for them; the node holding the
//! `datapact.worker` lease runs them, one at a time, on a task of their own beside the worker
//! loop. A job found `running` that is not running in this process was left by a node that
//! stopped (or by this one before a restart): it starts again from the messages, and a
//! training that was cut stored nothing. When two nodes both finish one (a lease lost part
//! way), the first answer stays the job's and the other model joins the dataset's history.

use std::sync::Arc;

use datapact_audit::Action;
use datapact_governance::{KeyId, TenantId};
use datapact_mining::validation::Validation;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::audit::Ev;
use crate::mining::{self as mn, PRODUCT};
use crate::problem::ApiError;
use crate::state::{AppState, now};

/// The store's kind of document for training jobs.
const DOC_JOB: &str = "mining_train_job";
/// Runs of one job before it is given up (each a node that stopped or a failure the store
/// answered with "try again").
const MAX_ATTEMPTS: u32 = 3;

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for the worker.
    Queued,
    /// Training.
    Running,
    /// Trained: the model serves (unless a newer one was trained meanwhile).
    Done,
    /// Gave up; `error` says why.
    Failed,
}

impl JobStatus {
    fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }
}

/// Why a job failed: the code and detail the same training would have answered in its
/// request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JobError {
    /// Stable code (`too_few_labels`, `model_needs_embedder`, `not_found`, `forbidden`, ...).
    pub code: String,
    /// What went wrong.
    pub detail: String,
}

/// A training job.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TrainJob {
    /// `mtj_...`.
    pub id: String,
    /// The dataset it trains.
    pub dataset: String,
    /// Its tenant.
    #[serde(skip_serializing)]
    #[schema(ignore)]
    pub tenant: Option<TenantId>,
    /// The key that asked (the job trains on its behalf).
    #[serde(skip_serializing)]
    #[schema(ignore)]
    pub requested_by: Option<KeyId>,
    /// Where it is.
    pub status: JobStatus,
    /// What a running job does: `reading`, `training`, `storing`, `predicting`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Labeled messages when it was asked for.
    pub labeled_messages: u64,
    /// Runs started (a node that stopped part way makes another).
    pub attempts: u32,
    /// The node running or that ran it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// When it was asked for.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When its last run started.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub started_at: Option<OffsetDateTime>,
    /// When it ended.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub finished_at: Option<OffsetDateTime>,
    /// The model it trained (done).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_version: Option<u32>,
    /// How good that model is (done).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation: Option<Validation>,
    /// The model's entry in the training-data ledger (done).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger_model: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<JobError>,
}

async fn save(st: &AppState, j: &TrainJob) -> Result<(), ApiError> {
    let doc = serde_json::to_string(j).map_err(ApiError::internal)?;
    // The tenant and key are kept in the stored form (they are left out of answers).
    let mut v: serde_json::Value = serde_json::from_str(&doc).map_err(ApiError::internal)?;
    v["tenant"] = serde_json::to_value(j.tenant).map_err(ApiError::internal)?;
    v["requested_by"] = serde_json::to_value(j.requested_by).map_err(ApiError::internal)?;
    st.store
        .put_training_doc(DOC_JOB, &j.id, j.status.as_str(), &v.to_string())
        .await
        .map_err(ApiError::storage)
}

fn parse(doc: &str) -> Result<TrainJob, ApiError> {
    #[derive(Deserialize)]
    struct Stored {
        tenant: Option<TenantId>,
        requested_by: Option<KeyId>,
    }
    let mut j: TrainJob = serde_json::from_str(doc).map_err(ApiError::internal)?;
    let s: Stored = serde_json::from_str(doc).map_err(ApiError::internal)?;
    j.tenant = s.tenant;
    j.requested_by = s.requested_by;
    Ok(j)
}

/// One job, if it exists.
pub async fn load(st: &AppState, id: &str) -> Result<Option<TrainJob>, ApiError> {
    if !id.starts_with("mtj_") || id.len() > 64 {
        return Ok(None);
    }
    match st.store.training_doc(DOC_JOB, id).await.map_err(ApiError::storage)? {
        Some(doc) => Ok(Some(parse(&doc)?)),
        None => Ok(None),
    }
}

/// Queues a training of `dataset` asked by `key` (who was allowed and audited).
pub async fn queue(
    st: &AppState,
    key: KeyId,
    tenant: TenantId,
    dataset: &str,
    labeled: u64,
) -> Result<TrainJob, ApiError> {
    let job = TrainJob {
        id: format!("mtj_{}", uuid::Uuid::now_v7().simple()),
        dataset: dataset.to_string(),
        tenant: Some(tenant),
        requested_by: Some(key),
        status: JobStatus::Queued,
        phase: None,
        labeled_messages: labeled,
        attempts: 0,
        node: None,
        created_at: now(),
        started_at: None,
        finished_at: None,
        model_version: None,
        validation: None,
        ledger_model: None,
        error: None,
    };
    save(st, &job).await?;
    st.wake.notify_one();
    Ok(job)
}

/// Starts the queued jobs, and the running ones no task of this process runs (left by a node
/// that stopped), while this node holds the worker lease: one at a time, each on a task of
/// `tasks` (the worker's) so the worker loop goes on meanwhile.
pub async fn run_jobs(st: &Arc<AppState>, tasks: &mut tokio::task::JoinSet<()>) {
    if st.mining.job_running() {
        return;
    }
    let mut waiting = Vec::new();
    for status in [JobStatus::Running, JobStatus::Queued] {
        match st.store.training_docs(DOC_JOB, Some(status.as_str())).await {
            Ok(docs) => waiting.extend(docs.iter().filter_map(|d| parse(d).ok())),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read training jobs; retried at the next tick");
                return;
            }
        }
    }
    waiting.sort_by_key(|j| j.created_at);
    let Some(job) = waiting.into_iter().next() else {
        return;
    };
    let Some(slot) = st.mining.begin_job() else {
        return;
    };
    let st = Arc::clone(st);
    tasks.spawn(async move {
        let _slot = slot;
        let id = job.id.clone();
        if let Err(e) = run_one(&st, job).await {
            tracing::warn!(job = %id, detail = %e.detail, "a training job could not be recorded; retried");
        }
        st.wake.notify_one();
    });
}

/// Runs one job to its end (done or failed), or leaves it queued when the store asks to try
/// again.
async fn run_one(st: &Arc<AppState>, mut job: TrainJob) -> Result<(), ApiError> {
    // As stored now: another node may have finished it since it was listed.
    match load(st, &job.id).await? {
        Some(j) if matches!(j.status, JobStatus::Queued | JobStatus::Running) => job = j,
        _ => return Ok(()),
    }
    if job.attempts >= MAX_ATTEMPTS {
        return finish(
            st,
            job,
            Err((
                "attempts",
                "the training was started three times and never finished".into(),
            )),
        )
        .await;
    }
    let Some(_one) = st.mining.begin_training(&job.dataset) else {
        // A training of the same dataset runs in a request here: after it.
        return Ok(());
    };
    job.status = JobStatus::Running;
    job.attempts += 1;
    job.node = Some(st.node.clone());
    job.started_at = Some(now());
    job.phase = Some("reading".into());
    save(st, &job).await?;
    tracing::info!(job = %job.id, dataset = %job.dataset, attempt = job.attempts, "training job started");
    let outcome = train(st, &job).await;
    match outcome {
        Ok(info) => {
            let mut done = job;
            done.model_version = Some(info.version);
            done.validation = Some(info.validation);
            done.ledger_model = Some(info.ledger_model);
            finish(st, done, Ok(())).await
        }
        // The store or vault is unavailable for now: the job waits for the next tick.
        Err(e) if e.status == axum::http::StatusCode::SERVICE_UNAVAILABLE && job.attempts < MAX_ATTEMPTS => {
            job.status = JobStatus::Queued;
            job.phase = None;
            save(st, &job).await
        }
        Err(e) => finish(st, job, Err((e.code, e.detail))).await,
    }
}

/// Trains as the request would have: the key that asked, the dataset and tenant as they are
/// now, the service decision taken again (a tenant terminated or purged meanwhile is refused).
async fn train(st: &Arc<AppState>, job: &TrainJob) -> Result<mn::ModelInfo, ApiError> {
    let gone = || ApiError::not_found("dataset", &job.dataset);
    let key = job
        .requested_by
        .and_then(|k| st.registry.key(k))
        .filter(|k| k.revoked_at.is_none())
        .ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "key_revoked",
                "the key that asked for this training was revoked before it ran",
            )
        })?;
    let d = mn::load(st, &job.dataset).await?.ok_or_else(gone)?;
    let tenant = job
        .tenant
        .filter(|t| *t == d.tenant)
        .and_then(|t| st.registry.tenant(t))
        .ok_or_else(gone)?;
    let ev = Ev::by(&key, Action::MiningTrain)
        .tenant(&tenant)
        .product(PRODUCT)
        .purpose(datapact_governance::Purpose::Service);
    crate::routes::mining::decide_service(st, &ev, &tenant, Some(datapact_governance::DataKind::DesignTime)).await?;
    let (phase, mut phases) = tokio::sync::watch::channel("reading");
    let work = mn::train(st, &key, &tenant, d, &phase);
    tokio::pin!(work);
    let mut shown = job.clone();
    loop {
        tokio::select! {
            r = &mut work => return r,
            changed = phases.changed() => {
                if changed.is_err() {
                    continue;
                }
                let p = *phases.borrow_and_update();
                shown.phase = Some(p.to_string());
                // Progress is shown on a best-effort basis; the outcome is always recorded.
                let _ = save(st, &shown).await;
            }
        }
    }
}

/// Records a job's end, unless another run recorded one first (its model then joins the
/// dataset's history without becoming this job's answer).
async fn finish(st: &AppState, mut job: TrainJob, outcome: Result<(), (&str, String)>) -> Result<(), ApiError> {
    let _w = st.write_lock().await?;
    if let Some(now_stored) = load(st, &job.id).await?
        && matches!(now_stored.status, JobStatus::Done | JobStatus::Failed)
    {
        return Ok(());
    }
    job.finished_at = Some(now());
    job.phase = None;
    match outcome {
        Ok(()) => job.status = JobStatus::Done,
        Err((code, detail)) => {
            job.status = JobStatus::Failed;
            job.error = Some(JobError {
                code: code.to_string(),
                detail,
            });
        }
    }
    tracing::info!(job = %job.id, status = job.status.as_str(), "training job ended");
    save(st, &job).await
}
