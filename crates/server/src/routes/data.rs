//! Data requests and the key lifecycle: purge, contract termination, deletion certificates,
//! retention rules, data key rotation, background jobs, and the server's public key.

use std::sync::Arc;

use crate::extract::Path;
use axum::Json;
use axum::extract::State;
use base64::Engine;
use datapact_governance::{Job, JobKind, OrgStatus, RetentionRule, Role};
use serde_json::{Value, json};

use super::check::product;
use crate::audit::Ev;
use crate::blocking::with_vault;
use crate::extract::{Caller, JsonBody};
use crate::guard;
use crate::lifecycle::{self, REASON_REQUEST, enqueue};
use crate::problem::ApiError;
use crate::state::{AppState, now};
use crate::views::{OrgView, RetentionInput, TerminateInput};
use datapact_audit::{Action, Label, Resource};

fn parse_certificates(certs: &[datapact_store::StoredCertificate]) -> Vec<Value> {
    certs
        .iter()
        .filter_map(|c| serde_json::from_str(&c.json).ok())
        .collect()
}

/// Purges a tenant: destroys its data keys at once (crypto-shredding), answers with a signed
/// deletion certificate, and removes the rows in the background.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/purge", tag = "data requests", security(("bearer" = [])),
    params(("tenant" = String, Path)),
    responses((status = 200, description = "`{\"certificate\": {...}, \"job\": {...}}`"), (status = 403, body = crate::problem::Problem)))]
pub async fn purge(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(tenant_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (tenant, _) = guard::tenant(&st, &c, &tenant_id)?;
    guard::allow(&c, &[Role::OrgAdmin, Role::PlatformAdmin], "purge a tenant's data")?;
    let (cert, job) = lifecycle::purge_tenant(&st, Ev::by(&c, Action::Purge), &tenant, REASON_REQUEST).await?;
    let certificate: Value = serde_json::from_str(&cert.json).map_err(ApiError::internal)?;
    Ok(Json(json!({ "certificate": certificate, "job": job })))
}

/// Every deletion certificate issued for a tenant.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/certificates", tag = "data requests", security(("bearer" = [])),
    params(("tenant" = String, Path)), responses((status = 200, description = "array of certificates")))]
pub async fn certificates(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(tenant_id): Path<String>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let (tenant, _) = guard::tenant(&st, &c, &tenant_id)?;
    guard::allow(&c, guard::ORG_READERS, "read deletion certificates")?;
    let certs = st.store.certificates(tenant.id).await.map_err(ApiError::storage)?;
    st.audit(
        Ev::by(&c, Action::CertificateRead).tenant(&tenant).resources(
            certs
                .iter()
                .filter_map(|c| Label::new(&c.id).ok().map(Resource::Certificate)),
        ),
    )
    .await?;
    Ok(Json(parse_certificates(&certs)))
}

/// Terminates an organization's contract: `terminating` for the grace period (export still
/// works, processing beyond `service` stops), then every tenant is purged. `grace_days: 0`
/// purges at once.
#[utoipa::path(post, path = "/v1/orgs/{org}/terminate", tag = "data requests", security(("bearer" = [])),
    params(("org" = String, Path)), request_body = TerminateInput,
    responses((status = 200, description = "`{\"org\": {...}, \"certificates\": [...]}`"), (status = 409, body = crate::problem::Problem)))]
pub async fn terminate(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(org_id): Path<String>,
    JsonBody(body): JsonBody<TerminateInput>,
) -> Result<Json<Value>, ApiError> {
    let org = guard::org(&st, &c, &org_id)?;
    guard::allow(&c, &[Role::PlatformAdmin], "terminate contracts")?;
    let grace = body.grace_days.unwrap_or(st.config.lifecycle.termination_grace_days);
    if grace > 3650 {
        return Err(ApiError::invalid(
            "invalid_value",
            "grace_days",
            "`grace_days` is at most 3650",
        ));
    }
    // Stored before any purge, so a crash from here on resumes the termination; the step is
    // checked against the status as it is under the write lock.
    let due = now() + time::Duration::days(grace as i64);
    lifecycle::transition(
        &st,
        Ev::by(&c, Action::Termination),
        org.id,
        OrgStatus::Terminating,
        Some(due),
    )
    .await?;
    tracing::info!(org = %org.id, grace_days = grace, "contract termination started");
    let certificates = if grace == 0 {
        lifecycle::terminate_now(&st, Ev::by(&c, Action::Termination), org.id).await?
    } else {
        Vec::new()
    };
    st.wake.notify_one();
    let org = guard::org(&st, &c, &org_id)?;
    Ok(Json(
        json!({ "org": OrgView::of(&org, now()), "certificates": parse_certificates(&certificates) }),
    ))
}

/// A tenant's retention rules.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/retention", tag = "data requests", security(("bearer" = [])),
    params(("tenant" = String, Path)), responses((status = 200, body = RetentionInput)))]
pub async fn get_retention(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(tenant_id): Path<String>,
) -> Result<Json<RetentionInput>, ApiError> {
    let (tenant, _) = guard::tenant(&st, &c, &tenant_id)?;
    guard::allow(&c, guard::ORG_READERS, "read retention rules")?;
    Ok(Json(RetentionInput {
        rules: tenant.retention.clone(),
    }))
}

/// Replaces a tenant's retention rules; a sweeper deletes records older than they allow.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/retention", tag = "data requests", security(("bearer" = [])),
    params(("tenant" = String, Path)), request_body = RetentionInput,
    responses((status = 200, body = RetentionInput), (status = 422, body = crate::problem::Problem)))]
pub async fn put_retention(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(tenant_id): Path<String>,
    JsonBody(body): JsonBody<RetentionInput>,
) -> Result<Json<RetentionInput>, ApiError> {
    let (target, _) = guard::tenant(&st, &c, &tenant_id)?;
    guard::allow(&c, &[Role::OrgAdmin, Role::PlatformAdmin], "change retention rules")?;
    if body.rules.len() > 100 {
        return Err(ApiError::invalid("invalid_value", "rules", "at most 100 rules"));
    }
    for (i, r) in body.rules.iter().enumerate() {
        if let Some(p) = &r.product {
            product(&st, &format!("rules[{i}].product"), p)?;
        }
        if r.max_age_days == 0 || r.max_age_days > 36_500 {
            return Err(ApiError::invalid(
                "invalid_value",
                &format!("rules[{i}].max_age_days"),
                "between 1 and 36500 days",
            ));
        }
    }
    let _w = st.write_lock().await?;
    let (current, _) = guard::tenant(&st, &c, &tenant_id)?;
    let mut tenant = (*current).clone();
    let rules: Vec<RetentionRule> = body.rules;
    st.audited(Ev::by(&c, Action::RetentionChange).tenant(&target), async {
        st.store
            .put_retention(tenant.id, &rules)
            .await
            .map_err(ApiError::storage)
    })
    .await?;
    tenant.retention = rules.clone();
    st.registry.put_tenant(tenant);
    Ok(Json(RetentionInput { rules }))
}

/// A tenant's data key versions and how many records each encrypts.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/keys", tag = "keys", security(("bearer" = [])),
    params(("tenant" = String, Path)), responses((status = 200, description = "array of key versions")))]
pub async fn list_keys(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(tenant_id): Path<String>,
) -> Result<Json<Vec<datapact_vault::KeyVersion>>, ApiError> {
    let (tenant, _) = guard::tenant(&st, &c, &tenant_id)?;
    guard::allow(&c, guard::ORG_READERS, "read key versions")?;
    let versions = with_vault(&st, &tenant, |v, t| v.key_versions(t)).await?;
    st.audit(
        Ev::by(&c, Action::KeyList)
            .tenant(&tenant)
            .resources(versions.iter().map(|k| Resource::DataKey(k.version))),
    )
    .await?;
    Ok(Json(versions))
}

/// Starts a new data key version and a job that re-encrypts every record under it.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/keys/rotate", tag = "keys", security(("bearer" = [])),
    params(("tenant" = String, Path)),
    responses((status = 200, description = "`{\"version\": N, \"job\": {...}}`")))]
pub async fn rotate(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(tenant_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (tenant, _) = guard::tenant(&st, &c, &tenant_id)?;
    guard::allow(&c, &[Role::OrgAdmin, Role::PlatformAdmin], "rotate data keys")?;
    let (version, total) = st
        .audited(
            Ev::by(&c, Action::KeyRotate).tenant(&tenant),
            with_vault(&st, &tenant, |v, t| Ok((v.rotate(t, now())?, v.count(t, None)?))),
        )
        .await?;
    tracing::info!(tenant = %tenant.id, version, by = %c.id, "data key rotated");
    let job = enqueue(&st, JobKind::Reencrypt, tenant.id, tenant.org, total).await?;
    Ok(Json(json!({ "version": version, "job": job })))
}

/// A background job's progress.
#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "keys", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Job), (status = 404, body = crate::problem::Problem)))]
pub async fn job(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(id): Path<String>,
) -> Result<Json<Job>, ApiError> {
    let jid = lifecycle::job_id(&id)?;
    // Another node may be running it: on a shared database its stored progress is read.
    st.refresh_jobs().await?;
    let job = st
        .jobs
        .lock()
        .ok()
        .and_then(|j| j.get(&jid).cloned())
        .ok_or_else(|| ApiError::not_found("job", &id))?;
    // A job is visible to whoever may see its tenant.
    guard::tenant(&st, &c, &job.tenant.to_string()).map_err(|_| ApiError::not_found("job", &id))?;
    guard::allow(&c, guard::ORG_READERS, "read jobs")?;
    Ok(Json(job))
}

/// The server's Ed25519 public key, to pin when verifying certificates offline.
#[utoipa::path(get, path = "/v1/server/public-key", tag = "data requests",
    responses((status = 200, description = "`{\"key_id\", \"public_key\", \"algorithm\"}`")))]
pub async fn public_key(State(st): State<Arc<AppState>>) -> Json<Value> {
    let signer = st.vault.signer();
    Json(json!({
        "algorithm": "ed25519",
        "key_id": signer.key_id(),
        "public_key": base64::engine::general_purpose::STANDARD.encode(signer.public_key()),
    }))
}
