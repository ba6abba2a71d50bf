//! Background work: contract terminations that fall due, jobs (row removal after a purge,
//! re-encryption after a key rotation) and retention sweeps.
//!
//! Every step is idempotent and its progress is stored, so work resumes after a crash or
//! restart at any point: a tenant is purged once per termination (its certificate says so),
//! removing rows that are already gone removes nothing, re-encrypting moves what is left.

use std::sync::Arc;
use std::time::{Duration, Instant};

use datapact_governance::{Job, JobId, JobKind, JobState, OrgId, OrgStatus, PurgePlan, Tenant, TenantId};
use datapact_store::StoredCertificate;

use crate::audit::Ev;
use crate::blocking::with_vault;
use crate::problem::ApiError;
use crate::state::{AppState, now};
use datapact_audit::{Action, Label, Resource};

/// Reason recorded in certificates of a termination.
pub const REASON_TERMINATION: &str = "contract_termination";
/// Reason recorded in certificates of a customer's purge request.
pub const REASON_REQUEST: &str = "customer_request";

/// Records a new job durably, then wakes the worker.
pub async fn enqueue(
    state: &AppState,
    kind: JobKind,
    tenant: TenantId,
    org: OrgId,
    total: u64,
) -> Result<Job, ApiError> {
    let job = new_job(kind, tenant, org, total, None);
    state.store.put_job(&job).await.map_err(ApiError::storage)?;
    if let Ok(mut jobs) = state.jobs.lock() {
        jobs.insert(job.id, job.clone());
    }
    state.wake.notify_one();
    Ok(job)
}

fn new_job(kind: JobKind, tenant: TenantId, org: OrgId, total: u64, purge: Option<PurgePlan>) -> Job {
    let t = now();
    Job {
        id: JobId::generate(),
        kind,
        tenant,
        org,
        state: JobState::Running,
        done: 0,
        total,
        error: None,
        created_at: t,
        updated_at: t,
        purge,
    }
}

async fn save_job(state: &AppState, job: &Job) {
    if let Err(e) = state.store.put_job(job).await {
        // Progress not stored is redone after a restart; every step is idempotent.
        tracing::warn!(job = %job.id, error = %e, "cannot store job progress");
    }
    if let Ok(mut jobs) = state.jobs.lock() {
        jobs.insert(job.id, job.clone());
    }
}

/// Purges a tenant: records the purge's intent durably (a row-removal job carrying its plan),
/// then destroys its keys, stores its one signed certificate and lets the job remove the rows.
/// A purge of the tenant for the same reason that is still under way is continued rather than
/// started again. `by` is who asked (a caller, or datapact for a termination that fell due).
///
/// Each step is idempotent and the plan says how far it got, so a crash anywhere resumes: the
/// worker completes uncertified purges (also at start-up), and a certificate is stored once.
pub async fn purge_tenant(
    state: &AppState,
    by: Ev,
    tenant: &Tenant,
    reason: &str,
) -> Result<(StoredCertificate, Job), ApiError> {
    // One purge of a tenant at a time across the deployment; a purge another node recorded
    // is continued, not started again.
    let _lease = purge_lease(state, tenant.id).await?;
    state.refresh_jobs().await?;
    let pending = state.jobs.lock().ok().and_then(|jobs| {
        jobs.values()
            .find(|j| {
                j.tenant == tenant.id
                    && j.state == JobState::Running
                    && j.purge.as_ref().is_some_and(|p| p.reason == reason && !p.certified)
            })
            .cloned()
    });
    let job = match pending {
        // An earlier request's purge, recorded and not yet certified: this request completes
        // it, and is on the record as its own entry first.
        Some(job) => {
            state
                .audit(by.clone().tenant(tenant).resource(Resource::Job(job.id)))
                .await?;
            job
        }
        None => {
            if let Some(done) = already_purged(state, tenant, reason).await? {
                // Nothing written since this tenant's last purge for the same reason (a
                // request repeated because its answer was lost, a second click): nothing to
                // destroy, and no second certificate; the request is on the record.
                state
                    .audit(by.clone().tenant(tenant).resource(Resource::Job(done.1.id)))
                    .await?;
                return Ok(done);
            }
            let (count, up_to) =
                with_vault(state, tenant, |v, t| Ok((v.count(t, None)?, v.max_key_version(t)?))).await?;
            let plan = PurgePlan {
                reason: reason.to_string(),
                certificate: format!("cert_{}", uuid::Uuid::now_v7().simple()),
                up_to_version: up_to,
                record_count: count,
                certified: false,
            };
            let job = new_job(JobKind::RemoveRows, tenant.id, tenant.org, count, Some(plan));
            // Logged, then stored, before any key is destroyed.
            state
                .audited(by.clone().tenant(tenant).resource(Resource::Job(job.id)), async {
                    state.store.put_job(&job).await.map_err(ApiError::storage)
                })
                .await?;
            if let Ok(mut jobs) = state.jobs.lock() {
                jobs.insert(job.id, job.clone());
            }
            job
        }
    };
    let done = complete_purge(state, by, tenant, job.id).await?;
    state.wake.notify_one();
    Ok(done)
}

/// The newest certified purge of `tenant` for `reason` and its job, when the tenant has no
/// live key (nothing was written since that purge). A tenant that was never purged, or that
/// holds data again under a new key, has none.
async fn already_purged(
    state: &AppState,
    tenant: &Tenant,
    reason: &str,
) -> Result<Option<(StoredCertificate, Job)>, ApiError> {
    let live = with_vault(state, tenant, |v, t| v.key_versions(t)).await?;
    if !live.is_empty() {
        return Ok(None);
    }
    let certs = state.store.certificates(tenant.id).await.map_err(ApiError::storage)?;
    let Some(cert) = certs
        .into_iter()
        .filter(|c| c.reason == reason)
        .max_by_key(|c| c.issued_at)
    else {
        return Ok(None);
    };
    let job = state.jobs.lock().ok().and_then(|jobs| {
        jobs.values()
            .find(|j| {
                j.tenant == tenant.id
                    && j.purge
                        .as_ref()
                        .is_some_and(|p| p.certified && p.certificate == cert.id)
            })
            .cloned()
    });
    Ok(job.map(|j| (cert, j)))
}

/// The lease under which a tenant's purge runs on a shared database (none on SQLite, where
/// [`AppState::purges`] serializes them).
async fn purge_lease(state: &AppState, tenant: TenantId) -> Result<Option<crate::cluster::LeaseGuard>, ApiError> {
    if !state.shared() {
        return Ok(None);
    }
    state
        .lease(
            &format!("datapact.purge/{tenant}"),
            // Renewed while the purge runs: a dead node's frees within this.
            Duration::from_secs(10),
            Duration::from_secs(10),
        )
        .await
        .map(Some)
}

/// Destroys the keys of a recorded purge, stores its certificate and marks the plan certified;
/// does nothing but look the certificate up when that already happened.
async fn complete_purge(
    state: &AppState,
    by: Ev,
    tenant: &Tenant,
    job_id: JobId,
) -> Result<(StoredCertificate, Job), ApiError> {
    let _one = state.purges.lock().await;
    let mut job = state
        .jobs
        .lock()
        .ok()
        .and_then(|j| j.get(&job_id).cloned())
        .ok_or_else(|| ApiError::internal("purge job vanished"))?;
    let plan = job.purge.clone().ok_or_else(|| ApiError::internal("not a purge job"))?;
    if !plan.certified {
        let (id, org) = (job.id.to_string(), tenant.org);
        let close = plan.reason == REASON_TERMINATION;
        let (up_to, reason, cert_id, count) = (
            plan.up_to_version,
            plan.reason.clone(),
            plan.certificate.clone(),
            plan.record_count,
        );
        // The datasets holding the tenant's data owe it from now on (stored before its keys
        // go, idempotent), and its certificate lists them with the models trained on them.
        let training = crate::training::tenant_purged(state, tenant).await?;
        let cert = with_vault(state, tenant, move |v, t| {
            v.shred(t, &id, up_to, close, now())?;
            v.certify_purge(t, org, &id, &cert_id, &reason, count, training, now())
        })
        .await?;
        // Its Communications Mining datasets went with its keys; their documents go too.
        crate::mining::tenant_gone(state, tenant.id).await?;
        crate::mining_jobs::tenant_gone(state, tenant.id).await?;
        let destroyed = by
            .retag(Action::KeyDestroy)
            .tenant(tenant)
            .resource(Resource::Job(job.id))
            .resources(
                cert.statement
                    .key_versions_destroyed
                    .iter()
                    .map(|v| Resource::DataKey(*v)),
            )
            .resources(
                Label::new(&cert.statement.certificate_id)
                    .ok()
                    .map(Resource::Certificate),
            );
        if let Err(e) = state.audit(destroyed).await {
            // The purge entry before it already stands; the certificate itself proves the rest.
            tracing::error!(tenant = %tenant.id, code = e.code, "cannot log the destroyed keys of a purge");
        }
        let stored = StoredCertificate {
            id: cert.statement.certificate_id.clone(),
            tenant: tenant.id,
            org: tenant.org,
            reason: plan.reason.clone(),
            issued_at: cert.statement.issued_at,
            json: serde_json::to_string(&cert).map_err(ApiError::internal)?,
        };
        // Stored once by id: a second attempt after a crash keeps the first.
        state
            .store
            .insert_certificate(&stored)
            .await
            .map_err(ApiError::storage)?;
        job.purge = Some(PurgePlan {
            certified: true,
            ..plan.clone()
        });
        job.updated_at = now();
        state.store.put_job(&job).await.map_err(ApiError::storage)?;
        if let Ok(mut jobs) = state.jobs.lock() {
            jobs.insert(job.id, job.clone());
        }
        tracing::info!(tenant = %tenant.id, reason = %plan.reason, records = plan.record_count, "tenant purged: keys destroyed");
    }
    let cert = state
        .store
        .certificates(tenant.id)
        .await
        .map_err(ApiError::storage)?
        .into_iter()
        .find(|c| c.id == plan.certificate)
        .ok_or_else(|| ApiError::internal("a certified purge has no stored certificate"))?;
    Ok((cert, job))
}

/// Moves an organization through its contract's states, under the write lock, checking the
/// step against the current state (re-read there): the one place the status changes.
pub async fn transition(
    state: &AppState,
    ev: Ev,
    org_id: OrgId,
    to: OrgStatus,
    due: Option<time::OffsetDateTime>,
) -> Result<std::sync::Arc<datapact_governance::Org>, ApiError> {
    use axum::http::StatusCode;
    let _w = state.write_lock().await?;
    let current = state
        .registry
        .org(org_id)
        .ok_or_else(|| ApiError::not_found("organization", &org_id.to_string()))?;
    if current.status == to && to != OrgStatus::Terminating {
        return Ok(current);
    }
    if !current.status.can_move_to(to) {
        let code = if current.status == OrgStatus::Terminated {
            "already_terminated"
        } else {
            "invalid_status_transition"
        };
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            code,
            format!("an organization cannot move from {} to {to}", current.status),
        )
        .field("status"));
    }
    let mut o = (*current).clone();
    o.status = to;
    o.termination_due_at = due;
    o.updated_at = now();
    state
        .audited(ev.org(org_id), async {
            state.store.update_org(&o).await.map_err(ApiError::storage)
        })
        .await?;
    state.registry.put_org(o);
    state
        .registry
        .org(org_id)
        .ok_or_else(|| ApiError::internal("organization vanished"))
}

/// Terminates a terminating organization: it becomes `terminated` first (durably, so from
/// then on nothing is processed or written for it and a cancel can no longer win), then
/// every tenant is purged and closed. Idempotent: a terminated organization's tenants that
/// already carry a termination certificate are not purged again, so it resumes after a crash.
pub async fn terminate_now(state: &AppState, by: Ev, org_id: OrgId) -> Result<Vec<StoredCertificate>, ApiError> {
    let current = state
        .registry
        .org(org_id)
        .ok_or_else(|| ApiError::not_found("organization", &org_id.to_string()))?;
    let org = if current.status == OrgStatus::Terminated {
        current
    } else {
        // Fails when a cancel came first (active cannot move to terminated this way).
        if current.status != OrgStatus::Terminating {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "termination_cancelled",
                "the organization is no longer terminating",
            ));
        }
        transition(
            state,
            by.clone().retag(Action::Termination),
            org_id,
            OrgStatus::Terminated,
            None,
        )
        .await?
    };
    let mut certificates = Vec::new();
    for tid in &org.tenants {
        let Some(tenant) = state.registry.tenant(*tid) else {
            continue;
        };
        let existing = state.store.certificates(*tid).await.map_err(ApiError::storage)?;
        if let Some(c) = existing.into_iter().find(|c| c.reason == REASON_TERMINATION) {
            certificates.push(c);
            continue;
        }
        let (cert, _) = purge_tenant(state, by.clone().retag(Action::Purge), &tenant, REASON_TERMINATION).await?;
        certificates.push(cert);
    }
    tracing::info!(org = %org_id, tenants = certificates.len(), "contract terminated: every tenant purged");
    Ok(certificates)
}

/// Terminated organizations whose purges a crash interrupted before their intents were all
/// recorded: resumed once at start-up (later ones are resumed from their jobs).
async fn resume_terminations(state: &AppState) {
    for org in state.registry.orgs() {
        if org.status != OrgStatus::Terminated {
            continue;
        }
        let mut complete = true;
        for tid in &org.tenants {
            match state.store.certificates(*tid).await {
                Ok(certs) if certs.iter().any(|c| c.reason == REASON_TERMINATION) => {}
                _ => complete = false,
            }
        }
        if !complete && let Err(e) = terminate_now(state, Ev::system(Action::Termination), org.id).await {
            tracing::error!(org = %org.id, code = e.code, "resuming a termination failed; it will be retried at the next start");
        }
    }
}

async fn due_terminations(state: &AppState) {
    let t = now();
    let due: Vec<OrgId> = state
        .registry
        .orgs()
        .iter()
        .filter(|o| o.status == OrgStatus::Terminating && o.termination_due_at.is_some_and(|d| d <= t))
        .map(|o| o.id)
        .collect();
    for org in due {
        if let Err(e) = terminate_now(state, Ev::system(Action::Termination), org).await {
            tracing::error!(%org, code = e.code, detail = %e.detail, "termination failed; it will be retried");
        }
    }
}

/// Runs steps of one job for up to `budget`; returns whether it finished.
async fn advance(state: &AppState, mut job: Job, budget: Duration) -> bool {
    let Some(tenant) = state.registry.tenant(job.tenant) else {
        job.state = JobState::Failed;
        job.error = Some("tenant not found".into());
        save_job(state, &job).await;
        return true;
    };
    if job.purge.as_ref().is_some_and(|p| !p.certified) {
        // A purge interrupted before its certificate: finish it first (idempotent), unless
        // the node that is doing it still holds its lease.
        let _lease = match purge_lease(state, tenant.id).await {
            Ok(l) => l,
            Err(_) => return true,
        };
        match complete_purge(state, Ev::system(Action::Purge), &tenant, job.id).await {
            Ok((_, j)) => job = j,
            Err(e) => {
                // Left running: the next tick retries it (not at once, so no busy loop).
                tracing::error!(job = %job.id, code = e.code, "resuming a purge failed; it will be retried");
                return true;
            }
        }
    }
    let start = Instant::now();
    let batch = state.config.lifecycle.job_batch;
    let ev = Ev::system(Action::RowsRemoved)
        .tenant(&tenant)
        .resource(Resource::Job(job.id));
    while start.elapsed() < budget {
        let step = match job.kind {
            JobKind::RemoveRows => {
                // Logged before each batch: what is removed is on the record first.
                state
                    .audited(
                        ev.clone(),
                        with_vault(state, &tenant, move |v, t| {
                            let n = v.remove_rows(t, batch)?;
                            Ok((n as u64, n == 0))
                        }),
                    )
                    .await
            }
            JobKind::Reencrypt => {
                // Re-encryption decrypts content: each step is on the record first.
                let step = state
                    .audited(
                        ev.clone().retag(Action::Reencrypt),
                        with_vault(state, &tenant, move |v, t| {
                            let (moved, remaining) = v.reencrypt(t, batch, now())?;
                            Ok((moved as u64, remaining == 0))
                        }),
                    )
                    .await;
                match step {
                    Ok((moved, true)) => retire_old_keys(state, &tenant, &ev).await.map(|()| (moved, true)),
                    other => other,
                }
            }
        };
        job.updated_at = now();
        match step {
            Ok((n, finished)) => {
                job.done += n;
                job.total = job.total.max(job.done);
                if finished {
                    job.state = JobState::Done;
                    save_job(state, &job).await;
                    return true;
                }
            }
            Err(e) => {
                job.state = JobState::Failed;
                job.error = Some(e.detail);
                save_job(state, &job).await;
                return true;
            }
        }
    }
    save_job(state, &job).await;
    false
}

/// Destroys the data key versions no record uses any more, once re-encryption has finished.
async fn retire_old_keys(state: &AppState, tenant: &Tenant, ev: &Ev) -> Result<(), ApiError> {
    let unused = with_vault(state, tenant, |v, t| {
        Ok(v.key_versions(t)?
            .into_iter()
            .filter(|k| k.records == 0 && !k.active)
            .map(|k| k.version)
            .collect::<Vec<u32>>())
    })
    .await?;
    if unused.is_empty() {
        return Ok(());
    }
    let destroy = ev
        .clone()
        .retag(Action::KeyDestroy)
        .resources(unused.iter().map(|v| Resource::DataKey(*v)));
    let retired = state
        .audited(
            destroy,
            with_vault(state, tenant, |v, t| v.retire_unused_keys(t, now())),
        )
        .await?;
    tracing::info!(tenant = %tenant.id, ?retired, "re-encryption finished; old data keys destroyed");
    Ok(())
}

async fn run_jobs(state: &AppState) -> bool {
    let running: Vec<Job> = match state.jobs.lock() {
        Ok(j) => j.values().filter(|j| j.state == JobState::Running).cloned().collect(),
        Err(_) => return false,
    };
    let mut more = false;
    for job in running {
        more |= !advance(state, job, Duration::from_millis(250)).await;
    }
    more
}

async fn sweep(state: &AppState) {
    for org in state.registry.orgs() {
        for tid in &org.tenants {
            let Some(tenant) = state.registry.tenant(*tid) else {
                continue;
            };
            if tenant.retention.is_empty() {
                continue;
            }
            let (id, rules) = (tenant.id, tenant.retention.clone());
            // Copies in training datasets go with the records: their datasets owe them, stored
            // first (a failure leaves the records for the next sweep).
            let at = now();
            let r2 = rules.clone();
            let held = match with_vault(state, &tenant, move |v, t| v.sweep_items(t, &r2, at)).await {
                Ok(h) => h,
                Err(e) => {
                    tracing::error!(tenant = %id, detail = %e.detail, "retention sweep failed");
                    continue;
                }
            };
            if let Err(e) = crate::training::records_swept(state, &tenant, held).await {
                tracing::error!(tenant = %id, detail = %e.detail, "retention sweep failed; retried at the next sweep");
                continue;
            }
            let ev = Ev::system(Action::RetentionSweep).tenant(&tenant);
            match state
                .audited(ev, with_vault(state, &tenant, move |v, t| v.sweep(t, &rules, at)))
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(tenant = %id, deleted = n, "retention sweep deleted expired records"),
                Err(e) => tracing::error!(tenant = %id, detail = %e.detail, "retention sweep failed"),
            }
        }
    }
}

/// Drops whole bundles of the audit log older than `[audit] retain_days` (PostgreSQL only;
/// unset keeps everything). Their tiles stay, so proofs over later entries still verify.
async fn expire_audit(state: &AppState) {
    let Some(days) = state.config.audit.retain_days else {
        return;
    };
    let datapact_audit::AuditLog::Postgres(log) = &*state.audit_log else {
        return;
    };
    let cutoff = now() - time::Duration::days(i64::from(days));
    let cutoff_us = i64::try_from(cutoff.unix_timestamp_nanos() / 1000).unwrap_or(0);
    let result = log.expire(cutoff_us).await;
    match result {
        Ok(done) if done.is_empty() => {}
        Ok(done) => tracing::info!(
            bundles = done.len(),
            entries = done.iter().map(|b| b.end - b.start).sum::<u64>(),
            days,
            "dropped audit entries past their retention; their tiles stay"
        ),
        Err(e) => tracing::warn!(error = %e, "the audit log's retention sweep failed; retried at the next sweep"),
    }
}

/// Applies every retention rule now (also run periodically).
pub async fn sweep_now(state: &AppState) {
    sweep(state).await;
}

/// Signs a checkpoint when the log has grown since the last one, so verifiers always find a
/// recent signed tree head.
async fn sign_checkpoint(state: &Arc<AppState>) {
    let log = &state.audit_log;
    if let (Ok(Some(latest)), Ok(size)) = (log.latest_checkpoint().await, log.size().await)
        && latest.tree_size == size
    {
        return;
    }
    match log.checkpoint().await {
        Ok(cp) => tracing::debug!(tree_size = cp.tree_size, "audit checkpoint signed"),
        Err(e) => tracing::error!(error = %e, "cannot sign an audit checkpoint"),
    }
}

/// Gives the worker lease up (a stopping node), so another node takes over at once.
pub async fn stand_down(state: &AppState) {
    if state.shared()
        && let Err(e) = state
            .store
            .release("datapact.worker", &crate::worker::holder(state))
            .await
    {
        tracing::warn!(error = %e, "cannot release the worker lease; it expires by itself");
    }
}

/// The background worker; runs until the server stops.
pub async fn run(state: Arc<AppState>) {
    let tick = Duration::from_millis(state.config.lifecycle.tick_millis);
    let sweep_every = Duration::from_secs(state.config.lifecycle.sweep_interval_seconds);
    let checkpoint_every = Duration::from_secs(state.config.audit.checkpoint_interval_seconds);
    let mut last_sweep = Instant::now();
    let mut last_checkpoint = Instant::now();
    let key_idle = Duration::from_secs(state.config.vault.key_idle_seconds);
    let evict_every = (key_idle / 2).clamp(Duration::from_secs(1), Duration::from_secs(60));
    let mut last_eviction = Instant::now();
    let mut resumed = false;
    // Training jobs run beside this loop; they stop with it (the set aborts them when the
    // server stops), as they would with the process.
    let mut training_jobs = tokio::task::JoinSet::new();
    loop {
        while let Some(done) = training_jobs.try_join_next() {
            if let Err(e) = done
                && e.is_panic()
            {
                tracing::error!("a training job's task panicked; the job runs again");
            }
        }
        // Every node, worker or not: unwrapped keys stay in memory only while they are used.
        if last_eviction.elapsed() >= evict_every {
            match state.vault.evict_idle_keys(key_idle) {
                Ok(0) => {}
                Ok(n) => tracing::debug!(keys = n, "forgot idle data keys"),
                Err(e) => tracing::warn!(error = %e, "cannot forget idle data keys"),
            }
            last_eviction = Instant::now();
        }
        if !crate::worker::holds_lease(&state, tick).await {
            // Another node does the deployment's background work; this one stands by. A
            // training job under way stops here: the node holding the lease runs it again.
            training_jobs.abort_all();
            resumed = false;
            tokio::time::sleep(tick).await;
            continue;
        }
        if !resumed {
            resume_terminations(&state).await;
            resumed = true;
        }
        if let Err(e) = state.refresh_jobs().await {
            tracing::warn!(detail = %e.detail, "cannot reload jobs; retried at the next tick");
        }
        if last_checkpoint.elapsed() >= checkpoint_every {
            sign_checkpoint(&state).await;
            last_checkpoint = Instant::now();
        }
        due_terminations(&state).await;
        let mut more = run_jobs(&state).await;
        more |= crate::training::run_builds(&state, Duration::from_millis(500)).await;
        crate::mining_jobs::run_jobs(&state, &mut training_jobs).await;
        if last_sweep.elapsed() >= sweep_every {
            sweep(&state).await;
            expire_audit(&state).await;
            last_sweep = Instant::now();
        }
        if !more {
            tokio::select! {
                _ = state.wake.notified() => {}
                _ = tokio::time::sleep(tick) => {}
            }
        } else {
            tokio::task::yield_now().await;
        }
    }
}

/// Parses an id or answers 404.
pub fn job_id(s: &str) -> Result<JobId, ApiError> {
    s.parse().map_err(|_| ApiError::not_found("job", s))
}
