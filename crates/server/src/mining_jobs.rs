//! Trainings that run as background jobs: a dataset whose training would not fit in a request
//! (more labeled messages than `[mining] sync_train_max`, or, with an embedder, more
//! design-time messages to predict), or a request with `Prefer: respond-async`, is answered
//! 202 with a job. A dataset has at most one job waiting or running: asking again answers the
//! same job. Jobs live in the shared store, so any node answers for them; the node holding the
//! `datapact.worker` lease runs them, one at a time, on a task of the worker's own set (the
//! loop goes on meanwhile).
//!
//! Each run of a job is owned by its (attempt, node): every later write of the run (its phase,
//! a retry, its end) happens under the write lock and only while the stored job is still that
//! run's, so a run that lost the job (its node lost the lease and another started it again)
//! changes nothing. A model a run trained carries the job's id, so a run that finds one (the
//! node stopped after storing the model, or the job's end could not be written) ends the job
//! from it instead of training again. A job found `running` that no task of this process runs
//! was left by a node that stopped: it runs again. Storage unavailable: the job waits with a
//! growing delay (not counted as an attempt, given up after `MAX_TRANSIENT`).

use std::sync::Arc;
use std::time::Duration;

use datapact_audit::{Action, Label, Resource};
use datapact_governance::{DataKind, KeyId, Purpose, TenantId};
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
/// Runs of one job that ended without an answer (its node stopped) before it is given up.
const MAX_ATTEMPTS: u32 = 3;
/// Times storage was unavailable before a job is given up (waits grow to a minute).
const MAX_TRANSIENT: u32 = 12;

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for the worker.
    Queued,
    /// Training.
    Running,
    /// Trained: its model serves (unless a newer one was trained meanwhile).
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

    fn open(self) -> bool {
        matches!(self, JobStatus::Queued | JobStatus::Running)
    }
}

/// Why a job failed: the code and detail the same training would have answered in its
/// request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JobError {
    /// Stable code (`too_few_labels`, `forbidden`, `not_found`, `key_revoked`, ...).
    pub code: String,
    /// What went wrong.
    pub detail: String,
}

/// A training job as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainJob {
    id: String,
    dataset: String,
    tenant: TenantId,
    requested_by: KeyId,
    status: JobStatus,
    #[serde(default)]
    phase: Option<String>,
    labeled_messages: u64,
    attempts: u32,
    #[serde(default)]
    transient: u32,
    #[serde(default)]
    node: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    started_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    finished_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    retry_at: Option<OffsetDateTime>,
    #[serde(default)]
    model_version: Option<u32>,
    #[serde(default)]
    validation: Option<Validation>,
    #[serde(default)]
    ledger_model: Option<String>,
    #[serde(default)]
    error: Option<JobError>,
}

/// A training job as its dataset's readers see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrainJobView {
    /// `mtj_...`.
    pub id: String,
    /// The dataset it trains.
    pub dataset: String,
    /// Where it is.
    pub status: JobStatus,
    /// What a running job does: `reading`, `training`, `storing`, `predicting`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Labeled messages when it was asked for.
    pub labeled_messages: u64,
    /// Runs started (a node that stopped part way makes another).
    pub attempts: u32,
    /// When it was asked for.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When its last run started.
    #[serde(with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub started_at: Option<OffsetDateTime>,
    /// When it ended.
    #[serde(with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<OffsetDateTime>,
    /// Storage was unavailable: it runs again after this.
    #[serde(with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<OffsetDateTime>,
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

impl TrainJob {
    /// What the dataset's readers see (not the tenant, the key or the node).
    pub fn view(&self) -> TrainJobView {
        TrainJobView {
            id: self.id.clone(),
            dataset: self.dataset.clone(),
            status: self.status,
            phase: self.phase.clone(),
            labeled_messages: self.labeled_messages,
            attempts: self.attempts,
            created_at: self.created_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
            retry_at: self.retry_at,
            model_version: self.model_version,
            validation: self.validation.clone(),
            ledger_model: self.ledger_model.clone(),
            error: self.error.clone(),
        }
    }

    /// Its dataset.
    pub fn dataset(&self) -> &str {
        &self.dataset
    }
}

async fn save(st: &AppState, j: &TrainJob) -> Result<(), ApiError> {
    let doc = serde_json::to_string(j).map_err(ApiError::internal)?;
    st.store
        .put_training_doc(DOC_JOB, &j.id, j.status.as_str(), &doc)
        .await
        .map_err(ApiError::storage)
}

/// One job, if it exists.
pub async fn load(st: &AppState, id: &str) -> Result<Option<TrainJob>, ApiError> {
    if !id.starts_with("mtj_") || id.len() > 64 {
        return Ok(None);
    }
    match st.store.training_doc(DOC_JOB, id).await.map_err(ApiError::storage)? {
        Some(doc) => Ok(Some(serde_json::from_str(&doc).map_err(ApiError::internal)?)),
        None => Ok(None),
    }
}

/// Jobs waiting or running, oldest first.
async fn open_jobs(st: &AppState) -> Result<Vec<TrainJob>, ApiError> {
    let mut out = Vec::new();
    for status in [JobStatus::Running, JobStatus::Queued] {
        for doc in st
            .store
            .training_docs(DOC_JOB, Some(status.as_str()))
            .await
            .map_err(ApiError::storage)?
        {
            match serde_json::from_str::<TrainJob>(&doc) {
                Ok(j) => out.push(j),
                Err(e) => tracing::warn!(error = %e, "a stored training job cannot be read; left alone"),
            }
        }
    }
    out.sort_by_key(|j| j.created_at);
    Ok(out)
}

/// The job waiting or running for `dataset`, if there is one.
pub async fn open_job(st: &AppState, dataset: &str) -> Result<Option<TrainJob>, ApiError> {
    Ok(open_jobs(st).await?.into_iter().find(|j| j.dataset == dataset))
}

/// Queues a training of `dataset` asked by `key` (who was allowed and audited), or answers
/// the job already waiting or running for it (`false`: not a new one).
pub async fn queue(
    st: &AppState,
    key: KeyId,
    tenant: TenantId,
    dataset: &str,
    labeled: u64,
) -> Result<(TrainJob, bool), ApiError> {
    let _w = st.write_lock().await?;
    if let Some(j) = open_jobs(st).await?.into_iter().find(|j| j.dataset == dataset) {
        return Ok((j, false));
    }
    let job = TrainJob {
        id: format!("mtj_{}", uuid::Uuid::now_v7().simple()),
        dataset: dataset.to_string(),
        tenant,
        requested_by: key,
        status: JobStatus::Queued,
        phase: None,
        labeled_messages: labeled,
        attempts: 0,
        transient: 0,
        node: None,
        created_at: now(),
        started_at: None,
        finished_at: None,
        retry_at: None,
        model_version: None,
        validation: None,
        ledger_model: None,
        error: None,
    };
    save(st, &job).await?;
    st.wake.notify_one();
    Ok((job, true))
}

/// Starts the oldest job that may run now (queued, or running but run by no task of this
/// process, its wait for storage over, its dataset not being trained in a request here),
/// while this node holds the worker lease: one at a time, on a task of `tasks` (the worker's).
pub async fn run_jobs(st: &Arc<AppState>, tasks: &mut tokio::task::JoinSet<()>) {
    if st.mining.job_running() {
        return;
    }
    let jobs = match open_jobs(st).await {
        Ok(j) => j,
        Err(e) => {
            tracing::warn!(detail = %e.detail, "cannot read training jobs; retried at the next tick");
            return;
        }
    };
    let at = now();
    let Some(job) = jobs
        .into_iter()
        .filter(|j| j.retry_at.is_none_or(|r| r <= at))
        .find(|j| !st.mining.is_training(&j.dataset))
    else {
        return;
    };
    let Some(slot) = st.mining.begin_job() else {
        return;
    };
    let st = Arc::clone(st);
    tasks.spawn(async move {
        let _slot = slot;
        let id = job.id.clone();
        if let Err(e) = run_one(&st, &id).await {
            // Its stored state says where it is; the next tick looks again.
            tracing::warn!(job = %id, detail = %e.detail, "a training job's state could not be written");
        }
    });
}

/// A run's identity: the job as it claimed it.
#[derive(Clone, Copy)]
struct Run<'a> {
    attempt: u32,
    node: &'a str,
}

impl Run<'_> {
    fn owns(&self, j: &TrainJob) -> bool {
        j.status == JobStatus::Running && j.attempts == self.attempt && j.node.as_deref() == Some(self.node)
    }
}

/// Changes the stored job with `f` under the write lock, only while the run still owns it.
async fn update_if_owned(
    st: &AppState,
    id: &str,
    run: Run<'_>,
    f: impl FnOnce(&mut TrainJob),
) -> Result<bool, ApiError> {
    let _w = st.write_lock().await?;
    let Some(mut j) = load(st, id).await? else {
        return Ok(false);
    };
    if !run.owns(&j) {
        return Ok(false);
    }
    f(&mut j);
    save(st, &j).await?;
    Ok(true)
}

/// Writes a run's end (or its return to the queue) as `update_if_owned`, trying again for a
/// while when storage is unavailable: a run's outcome is not given up for a moment's outage.
async fn settle(st: &AppState, id: &str, run: Run<'_>, f: impl Fn(&mut TrainJob)) -> Result<bool, ApiError> {
    let mut wait = Duration::from_millis(500);
    loop {
        match update_if_owned(st, id, run, &f).await {
            Err(e) if e.status == axum::http::StatusCode::SERVICE_UNAVAILABLE && wait < Duration::from_secs(30) => {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            other => return other,
        }
    }
}

/// Runs one job to its end (done or failed), or back to the queue when storage is
/// unavailable.
async fn run_one(st: &Arc<AppState>, id: &str) -> Result<(), ApiError> {
    // Claimed under the write lock, as stored now (another node may have ended it).
    let job = {
        let _w = st.write_lock().await?;
        let Some(mut j) = load(st, id).await? else {
            return Ok(());
        };
        if !j.status.open() {
            return Ok(());
        }
        // A run that stored the job's model and stopped before ending the job: it ends now,
        // and the queues get that model's predictions again (the run may have stopped while
        // storing them).
        if let Some(info) = trained_by(st, &j).await? {
            j.status = JobStatus::Done;
            j.finished_at = Some(now());
            j.phase = None;
            j.model_version = Some(info.version);
            j.validation = Some(info.validation);
            j.ledger_model = Some(info.ledger_model);
            save(st, &j).await?;
            drop(_w);
            if let Err(e) = mn::repredict(st, &j.dataset, info.version).await {
                tracing::warn!(job = %j.id, detail = %e.detail, "the queues' predictions were not refreshed");
            }
            return Ok(());
        }
        if j.attempts >= MAX_ATTEMPTS {
            j.status = JobStatus::Failed;
            j.finished_at = Some(now());
            j.phase = None;
            j.error = Some(JobError {
                code: "attempts".into(),
                detail: format!("the training was started {MAX_ATTEMPTS} times and never finished"),
            });
            save(st, &j).await?;
            return Ok(());
        }
        j.status = JobStatus::Running;
        j.attempts += 1;
        j.node = Some(st.node.clone());
        j.started_at = Some(now());
        j.phase = Some("reading".into());
        j.retry_at = None;
        save(st, &j).await?;
        j
    };
    let node = st.node.clone();
    let run = Run {
        attempt: job.attempts,
        node: &node,
    };
    tracing::info!(job = %job.id, dataset = %job.dataset, attempt = job.attempts, "training job started");
    let outcome = train(st, &job, run).await;
    match outcome {
        Ok(info) => {
            settle(st, id, run, |j| {
                j.status = JobStatus::Done;
                j.finished_at = Some(now());
                j.phase = None;
                j.model_version = Some(info.version);
                j.validation = Some(info.validation.clone());
                j.ledger_model = Some(info.ledger_model.clone());
            })
            .await?;
        }
        Err(e) if e.status == axum::http::StatusCode::SERVICE_UNAVAILABLE && job.transient < MAX_TRANSIENT => {
            let wait = Duration::from_secs(1u64 << job.transient.min(6));
            tracing::warn!(job = %job.id, wait_seconds = wait.as_secs(), "storage unavailable for a training job; it waits");
            settle(st, id, run, |j| {
                j.status = JobStatus::Queued;
                j.phase = None;
                j.attempts -= 1;
                j.transient += 1;
                j.retry_at = Some(now() + wait);
            })
            .await?;
        }
        Err(e) => {
            settle(st, id, run, |j| {
                j.status = JobStatus::Failed;
                j.finished_at = Some(now());
                j.phase = None;
                j.error = Some(JobError {
                    code: e.code.to_string(),
                    detail: e.detail.clone(),
                });
            })
            .await?;
        }
    }
    Ok(())
}

/// The model a run of this job stored, if one did (the dataset's serving one or in its
/// history).
async fn trained_by(st: &AppState, job: &TrainJob) -> Result<Option<mn::ModelInfo>, ApiError> {
    let Some(d) = mn::load(st, &job.dataset).await? else {
        return Ok(None);
    };
    Ok(d.model
        .iter()
        .chain(&d.history)
        .find(|m| m.job.as_deref() == Some(job.id.as_str()))
        .cloned())
}

/// Trains as the request would have: the key that asked, the dataset and tenant as they are
/// now, the service decisions taken again for both kinds it reads (a tenant terminated or
/// purged meanwhile, or a use no longer allowed, is refused), the run audited with its
/// outcome.
async fn train(st: &Arc<AppState>, job: &TrainJob, run: Run<'_>) -> Result<mn::ModelInfo, ApiError> {
    let gone = || ApiError::not_found("dataset", &job.dataset);
    let key = st
        .registry
        .key(job.requested_by)
        .filter(|k| k.revoked_at.is_none())
        .ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "key_revoked",
                "the key that asked for this training was revoked before it ran",
            )
        })?;
    let d = mn::load(st, &job.dataset).await?.ok_or_else(gone)?;
    if d.tenant != job.tenant || d.purged_at.is_some() {
        return Err(gone());
    }
    let tenant = st.registry.tenant(job.tenant).ok_or_else(gone)?;
    let ev = Ev::by(&key, Action::MiningTrain)
        .tenant(&tenant)
        .product(PRODUCT)
        .purpose(Purpose::Service)
        .resources(Label::new(&job.dataset).ok().map(Resource::Dataset));
    let mut reasons = crate::routes::mining::decide_service(st, &ev, &tenant, Some(DataKind::DesignTime)).await?;
    reasons.extend(crate::routes::mining::decide_service(st, &ev, &tenant, Some(DataKind::RunTime)).await?);
    // A training of the dataset in a request here: the job waits for it (as storage
    // unavailable: later, not counted as an attempt).
    let Some(_one) = st.mining.begin_training(&job.dataset) else {
        return Err(ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "training_in_progress",
            "the dataset is being trained in a request; the job runs after it",
        ));
    };
    let (phase, mut phases) = tokio::sync::watch::channel("reading");
    let work = st.audited(
        ev.reasons(&reasons),
        mn::train(st, &key, &tenant, d, Some(&job.id), &phase),
    );
    tokio::pin!(work);
    loop {
        tokio::select! {
            r = &mut work => return r,
            changed = phases.changed() => {
                if changed.is_err() {
                    continue;
                }
                let p = *phases.borrow_and_update();
                // Progress is shown on a best-effort basis; the outcome is always recorded.
                let _ = update_if_owned(st, &job.id, run, |j| j.phase = Some(p.to_string())).await;
            }
        }
    }
}

/// A purge or termination removed a tenant's data: its jobs keep no word of it (label names
/// in a validation, details naming labels) and never run.
pub async fn tenant_gone(st: &AppState, tenant: TenantId) -> Result<(), ApiError> {
    // Under the write lock: a run's later writes find the job no longer theirs.
    let _w = st.write_lock().await?;
    for doc in st.store.training_docs(DOC_JOB, None).await.map_err(ApiError::storage)? {
        let Ok(mut j) = serde_json::from_str::<TrainJob>(&doc) else {
            continue;
        };
        if j.tenant != tenant {
            continue;
        }
        j.validation = None;
        j.phase = None;
        if j.status.open() {
            j.status = JobStatus::Failed;
            j.finished_at = Some(now());
        }
        j.error = Some(JobError {
            code: "tenant_purged".into(),
            detail: "the tenant's data was destroyed".into(),
        });
        let doc = serde_json::to_string(&j).map_err(ApiError::internal)?;
        st.store
            .put_training_doc(DOC_JOB, &j.id, "purged", &doc)
            .await
            .map_err(ApiError::storage)?;
    }
    Ok(())
}
