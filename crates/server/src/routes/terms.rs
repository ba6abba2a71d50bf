//! The terms a customer lives under: training opt-outs, AI trust-layer settings, support grants.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::extract::Path;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use datapact_audit::{Action, Resource};
use datapact_governance::settings::{SettingKey, effective};
use datapact_governance::{AiSettings, ApiKey, GrantId, OptOut, OptOutId, Org, SupportGrant, Tenant};
use datapact_store::SettingsScope;

use super::check::{product, text};
use crate::audit::Ev;
use crate::extract::{Caller, JsonBody};
use crate::guard;
use crate::problem::ApiError;
use crate::state::{AppState, now};
use crate::views::{
    AiSettingsView, CreateGrant, CreateOptOut, EffectiveLimits, EffectiveModels, EffectivePii, EffectiveToggles,
    GrantView, OptOutView,
};

/// Records a training opt-out from a support ticket (vendor).
#[utoipa::path(post, path = "/v1/orgs/{org}/opt-outs", tag = "terms", security(("bearer" = [])),
    params(("org" = String, Path)), request_body = CreateOptOut,
    responses((status = 201, body = OptOutView), (status = 403, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)))]
pub async fn create_opt_out(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(org_id): Path<String>,
    JsonBody(body): JsonBody<CreateOptOut>,
) -> Result<(StatusCode, Json<OptOutView>), ApiError> {
    guard::org(&st, &c, &org_id)?;
    guard::allow(&c, guard::VENDOR, "record opt-outs (they come from support tickets)")?;
    let ticket = text("ticket", &body.ticket, 200)?;
    let requested_by = text("requested_by", &body.requested_by, 320)?;
    let products = match body.products {
        None => None,
        Some(ps) if ps.is_empty() => {
            return Err(ApiError::invalid(
                "invalid_value",
                "products",
                "omit `products` to cover every product; an empty list covers none",
            ));
        }
        Some(ps) => {
            let mut checked = Vec::with_capacity(ps.len());
            for (i, p) in ps.iter().enumerate() {
                checked.push(product(&st, &format!("products[{i}]"), p)?);
            }
            checked.sort();
            checked.dedup();
            Some(checked)
        }
    };
    let t = now();
    let opt_out = OptOut {
        id: OptOutId::generate(),
        org: org_id
            .parse()
            .map_err(|_| ApiError::not_found("organization", &org_id))?,
        ticket,
        requested_by,
        products,
        effective_at: body
            .effective_at
            .map(|e| super::check::utc("effective_at", e))
            .transpose()?
            .unwrap_or(t),
        recorded_by: c.id,
        recorded_at: t,
        revoked_at: None,
        revoked_by: None,
    };
    let _w = st.write_lock().await?;
    let mut org = (*guard::org(&st, &c, &org_id)?).clone();
    // Who asked is personal data: the entry keeps a keyed hash that correlates, not the name.
    let who = st.vault.correlate(&org.id.to_string(), &opt_out.requested_by);
    st.audited(
        Ev::by(&c, Action::OptOutRecord)
            .org(org.id)
            .resource(Resource::OptOut(opt_out.id))
            .correlation(who),
        async { st.store.put_opt_out(&opt_out).await.map_err(ApiError::storage) },
    )
    .await?;
    tracing::info!(org = %org.id, opt_out = %opt_out.id, by = %c.id, "training opt-out recorded");
    let view = OptOutView::of(&opt_out, t);
    org.opt_outs.push(opt_out);
    st.registry.put_org(org);
    Ok((StatusCode::CREATED, Json(view)))
}

/// Every opt-out of an organization, revoked ones included.
#[utoipa::path(get, path = "/v1/orgs/{org}/opt-outs", tag = "terms", security(("bearer" = [])),
    params(("org" = String, Path)), responses((status = 200, body = [OptOutView])))]
pub async fn list_opt_outs(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(org_id): Path<String>,
) -> Result<Json<Vec<OptOutView>>, ApiError> {
    let org = guard::org(&st, &c, &org_id)?;
    guard::allow(&c, guard::ORG_READERS, "read opt-outs")?;
    let t = now();
    Ok(Json(org.opt_outs.iter().map(|o| OptOutView::of(o, t)).collect()))
}

/// Revokes an opt-out; the record stays, marked revoked.
#[utoipa::path(delete, path = "/v1/orgs/{org}/opt-outs/{id}", tag = "terms", security(("bearer" = [])),
    params(("org" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = OptOutView), (status = 409, body = crate::problem::Problem)))]
pub async fn revoke_opt_out(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path((org_id, id)): Path<(String, String)>,
) -> Result<Json<OptOutView>, ApiError> {
    guard::org(&st, &c, &org_id)?;
    guard::allow(&c, guard::VENDOR, "revoke opt-outs")?;
    let _w = st.write_lock().await?;
    let mut org = (*guard::org(&st, &c, &org_id)?).clone();
    let opt_id: Option<OptOutId> = id.parse().ok();
    let idx = org
        .opt_outs
        .iter()
        .position(|o| Some(o.id) == opt_id)
        .ok_or_else(|| ApiError::not_found("opt-out", &id))?;
    if org.opt_outs[idx].revoked_at.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_revoked",
            format!("opt-out {id} is already revoked"),
        ));
    }
    let t = now();
    org.opt_outs[idx].revoked_at = Some(t);
    org.opt_outs[idx].revoked_by = Some(c.id);
    st.audited(
        Ev::by(&c, Action::OptOutRevoke)
            .org(org.id)
            .resource(Resource::OptOut(org.opt_outs[idx].id)),
        async {
            st.store
                .put_opt_out(&org.opt_outs[idx])
                .await
                .map_err(ApiError::storage)
        },
    )
    .await?;
    tracing::info!(org = %org.id, opt_out = %id, by = %c.id, "training opt-out revoked");
    let view = OptOutView::of(&org.opt_outs[idx], t);
    st.registry.put_org(org);
    Ok(Json(view))
}

fn check_settings(st: &AppState, s: &AiSettings, tenant_level: bool) -> Result<(), ApiError> {
    if tenant_level && s.locked.is_some() {
        return Err(ApiError::invalid(
            "field_not_allowed",
            "locked",
            "`locked` is set at organization level only; it binds every tenant",
        ));
    }
    if let Some(text) = &s.policies {
        if tenant_level {
            return Err(ApiError::invalid(
                "field_not_allowed",
                "policies",
                "Cedar `policies` are set at organization level only; they bind every tenant",
            ));
        }
        datapact_governance::policy::compile(text)
            .map_err(|e| ApiError::invalid("invalid_policies", "policies", e.to_string()))?;
    }
    if let Some(sets) = &s.pii_recognizers {
        if tenant_level {
            return Err(ApiError::invalid(
                "field_not_allowed",
                "pii_recognizers",
                "`pii_recognizers` are set at organization level only; they apply to every tenant",
            ));
        }
        if sets.len() > 32 {
            return Err(ApiError::invalid(
                "too_many_entries",
                "pii_recognizers",
                "at most 32 sets",
            ));
        }
        for (i, name) in sets.iter().enumerate() {
            if !st.config.pii.recognizers.contains_key(name) {
                let known: Vec<&str> = st.config.pii.recognizers.keys().map(String::as_str).collect();
                return Err(ApiError::invalid(
                    "unknown_recognizer_set",
                    &format!("pii_recognizers[{i}]"),
                    format!(
                        "`{}` is not a recognizer set of this server (it has: {})",
                        name.chars().take(64).collect::<String>(),
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            }
        }
    }
    for p in s.products.keys() {
        product(st, &format!("products.{p}"), p)?;
    }
    let limits = std::iter::once(("limits".to_string(), &s.limits)).chain(
        s.products
            .iter()
            .map(|(p, t)| (format!("products.{p}.limits"), &t.limits)),
    );
    for (prefix, l) in limits {
        if let Some(l) = l {
            super::check::limits(&prefix, l)?;
        }
    }
    let levels = std::iter::once((String::new(), &s.models))
        .chain(s.products.iter().map(|(p, t)| (format!("products.{p}."), &t.models)));
    for (prefix, models) in levels {
        let Some(m) = models else { continue };
        let lists = m
            .allow
            .iter()
            .map(|a| ("allow", a))
            .chain(std::iter::once(("deny", &m.deny)));
        for (list, entries) in lists {
            for (i, e) in entries.iter().enumerate() {
                if let Err(why) = datapact_governance::ModelPolicy::check_entry(e) {
                    return Err(ApiError::invalid(
                        "invalid_model_entry",
                        &format!("{prefix}models.{list}[{i}]"),
                        format!("`{e}` {why}"),
                    ));
                }
            }
            if entries.len() > 1000 {
                return Err(ApiError::invalid(
                    "too_many_entries",
                    &format!("{prefix}models.{list}"),
                    "at most 1000 entries",
                ));
            }
        }
    }
    Ok(())
}

fn check_plan(org: &Org) -> Result<(), ApiError> {
    if org.plan.includes_genai() {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "plan_excludes_ai_settings",
            format!(
                "AI trust-layer settings are available on the advanced and enterprise plans; the organization is on {}",
                org.plan
            ),
        ))
    }
}

fn org_view(org: &Org) -> AiSettingsView {
    AiSettingsView {
        level: "org",
        org: org.id,
        tenant: None,
        configurable: org.plan.includes_genai(),
        settings: org.ai.clone(),
        effective: None,
    }
}

fn tenant_view(st: &AppState, org: &Org, tenant: &Tenant) -> AiSettingsView {
    let effective_map: BTreeMap<String, EffectiveToggles> = st
        .registry
        .catalog()
        .products()
        .iter()
        .map(|p| {
            let e = |k| effective(&org.ai, &tenant.ai, &p.id, k);
            let pii = datapact_governance::settings::effective_pii(&org.ai, &tenant.ai, &p.id);
            let models = datapact_governance::settings::effective_models(&org.ai, &tenant.ai, &p.id);
            let limits = datapact_governance::settings::effective_limits(
                &org.ai,
                &tenant.ai,
                &p.id,
                &org.ai_limits,
                datapact_gateway::limits::server_limits(&st.config.gateway.budgets, &p.id),
            );
            (
                p.id.clone(),
                EffectiveToggles {
                    genai_enabled: e(SettingKey::GenaiEnabled),
                    third_party_finetune_enabled: e(SettingKey::ThirdPartyFinetuneEnabled),
                    save_prompts: e(SettingKey::SavePrompts),
                    pii: EffectivePii {
                        value: pii.value,
                        source: pii.source,
                        locked: pii.locked,
                    },
                    models: EffectiveModels {
                        value: models.value,
                        source: models.source,
                        locked: models.locked,
                    },
                    limits: EffectiveLimits {
                        value: limits.value,
                        source: limits.source,
                        locked: limits.locked,
                    },
                },
            )
        })
        .collect();
    AiSettingsView {
        level: "tenant",
        org: org.id,
        tenant: Some(tenant.id),
        configurable: org.plan.includes_genai(),
        settings: tenant.ai.clone(),
        effective: Some(effective_map),
    }
}

/// The organization's AI trust-layer settings.
#[utoipa::path(get, path = "/v1/orgs/{org}/ai-settings", tag = "ai-settings", security(("bearer" = [])),
    params(("org" = String, Path)), responses((status = 200, body = AiSettingsView)))]
pub async fn get_org_ai(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(org_id): Path<String>,
) -> Result<Versioned<AiSettingsView>, ApiError> {
    let org = guard::org(&st, &c, &org_id)?;
    guard::allow(&c, guard::ORG_READERS, "read AI settings")?;
    Ok(Versioned(etag(&org.ai), Json(org_view(&org))))
}

/// A settings document's version: a strong `ETag` over what is stored at that level, so that a
/// read-change-write can say which version it changed (`If-Match`).
fn etag(s: &AiSettings) -> String {
    use sha2::Digest;
    let bytes = serde_json::to_vec(s).unwrap_or_default();
    format!("\"{}\"", hex::encode(&sha2::Sha256::digest(&bytes)[..16]))
}

/// Refuses a write whose `If-Match` names another version than the stored one.
fn check_if_match(headers: &HeaderMap, current: &AiSettings) -> Result<(), ApiError> {
    let Some(v) = headers.get(header::IF_MATCH) else {
        return Ok(());
    };
    let wanted = v.to_str().unwrap_or("");
    let now = etag(current);
    if wanted.trim() == "*" || wanted.split(',').any(|t| t.trim() == now) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::PRECONDITION_FAILED,
        "settings_changed",
        format!("the settings changed since they were read (If-Match {wanted}, now {now}); read them again"),
    )
    .field("If-Match"))
}

/// A JSON answer with its `ETag`.
pub struct Versioned<T>(String, Json<T>);

impl<T: serde::Serialize> IntoResponse for Versioned<T> {
    fn into_response(self) -> Response {
        let mut r = self.1.into_response();
        if let Ok(v) = HeaderValue::from_str(&self.0) {
            r.headers_mut().insert(header::ETAG, v);
        }
        r
    }
}

/// Replaces the organization's AI trust-layer settings (advanced and enterprise plans).
#[utoipa::path(put, path = "/v1/orgs/{org}/ai-settings", tag = "ai-settings", security(("bearer" = [])),
    params(("org" = String, Path)), request_body = AiSettings,
    responses((status = 200, body = AiSettingsView), (status = 403, body = crate::problem::Problem)))]
pub async fn put_org_ai(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(org_id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<AiSettings>,
) -> Result<Versioned<AiSettingsView>, ApiError> {
    guard::org(&st, &c, &org_id)?;
    guard::allow(&c, guard::AI_SETTINGS_WRITERS, "change AI settings")?;
    check_settings(&st, &body, false)?;
    let _w = st.write_lock().await?;
    let mut org = (*guard::org(&st, &c, &org_id)?).clone();
    check_plan(&org)?;
    check_if_match(&headers, &org.ai)?;
    st.audited(Ev::by(&c, Action::AiSettingsChange).org(org.id), async {
        st.store
            .put_ai_settings(SettingsScope::Org(org.id), &body)
            .await
            .map_err(ApiError::storage)
    })
    .await?;
    tracing::info!(org = %org.id, by = %c.id, "organization AI settings changed");
    org.ai = body;
    let view = org_view(&org);
    let tag = etag(&org.ai);
    st.registry.put_org(org);
    Ok(Versioned(tag, Json(view)))
}

/// The tenant's AI trust-layer settings and the values in force for each product.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/ai-settings", tag = "ai-settings", security(("bearer" = [])),
    params(("tenant" = String, Path)), responses((status = 200, body = AiSettingsView)))]
pub async fn get_tenant_ai(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(id): Path<String>,
) -> Result<Versioned<AiSettingsView>, ApiError> {
    let (tenant, org) = guard::tenant(&st, &c, &id)?;
    guard::allow(&c, guard::ORG_READERS, "read AI settings")?;
    Ok(Versioned(etag(&tenant.ai), Json(tenant_view(&st, &org, &tenant))))
}

/// Replaces the tenant's AI trust-layer settings (advanced and enterprise plans).
#[utoipa::path(put, path = "/v1/tenants/{tenant}/ai-settings", tag = "ai-settings", security(("bearer" = [])),
    params(("tenant" = String, Path)), request_body = AiSettings,
    responses((status = 200, body = AiSettingsView), (status = 403, body = crate::problem::Problem)))]
pub async fn put_tenant_ai(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<AiSettings>,
) -> Result<Versioned<AiSettingsView>, ApiError> {
    guard::tenant(&st, &c, &id)?;
    guard::allow(&c, guard::AI_SETTINGS_WRITERS, "change AI settings")?;
    check_settings(&st, &body, true)?;
    let _w = st.write_lock().await?;
    let (current, org) = guard::tenant(&st, &c, &id)?;
    check_plan(&org)?;
    check_if_match(&headers, &current.ai)?;
    let mut tenant = (*current).clone();
    st.audited(Ev::by(&c, Action::AiSettingsChange).tenant(&tenant), async {
        st.store
            .put_ai_settings(SettingsScope::Tenant(tenant.id), &body)
            .await
            .map_err(ApiError::storage)
    })
    .await?;
    tracing::info!(tenant = %tenant.id, by = %c.id, "tenant AI settings changed");
    tenant.ai = body;
    let view = tenant_view(&st, &org, &tenant);
    let tag = etag(&tenant.ai);
    st.registry.put_tenant(tenant);
    Ok(Versioned(tag, Json(view)))
}

fn grant_caller(st: &AppState, c: &ApiKey, id: &str) -> Result<Arc<Tenant>, ApiError> {
    let (tenant, _) = guard::tenant(st, c, id)?;
    guard::allow(
        c,
        guard::CUSTOMER_ADMIN,
        "give or revoke support access (only the customer can)",
    )?;
    Ok(tenant)
}

/// Grants vendor support time-limited access to a tenant (the customer only).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/support-grants", tag = "terms", security(("bearer" = [])),
    params(("tenant" = String, Path)), request_body = CreateGrant,
    responses((status = 201, body = GrantView), (status = 403, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)))]
pub async fn create_grant(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CreateGrant>,
) -> Result<(StatusCode, Json<GrantView>), ApiError> {
    grant_caller(&st, &c, &id)?;
    let ticket = text("ticket", &body.ticket, 200)?;
    let t = now();
    let expires_at = super::check::utc("expires_at", body.expires_at)?;
    if expires_at <= t {
        return Err(ApiError::invalid(
            "invalid_expiry",
            "expires_at",
            "`expires_at` must be in the future",
        ));
    }
    if expires_at > t + SupportGrant::MAX_DURATION {
        return Err(ApiError::invalid(
            "invalid_expiry",
            "expires_at",
            "a support grant may run at most 7 days",
        ));
    }
    let _w = st.write_lock().await?;
    let mut tenant = (*grant_caller(&st, &c, &id)?).clone();
    let grant = SupportGrant {
        id: GrantId::generate(),
        tenant: tenant.id,
        ticket,
        expires_at,
        created_by: c.id,
        created_at: t,
        revoked_at: None,
        revoked_by: None,
    };
    st.audited(
        Ev::by(&c, Action::SupportGrantCreate)
            .tenant(&tenant)
            .resource(Resource::Grant(grant.id)),
        async { st.store.put_grant(&grant).await.map_err(ApiError::storage) },
    )
    .await?;
    tracing::info!(tenant = %tenant.id, grant = %grant.id, by = %c.id, "support access granted");
    let view = GrantView::of(&grant, t);
    tenant.grants.push(grant);
    st.registry.put_tenant(tenant);
    Ok((StatusCode::CREATED, Json(view)))
}

/// Every support grant of a tenant, expired and revoked ones included.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/support-grants", tag = "terms", security(("bearer" = [])),
    params(("tenant" = String, Path)), responses((status = 200, body = [GrantView])))]
pub async fn list_grants(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<GrantView>>, ApiError> {
    let (tenant, _) = guard::tenant(&st, &c, &id)?;
    guard::allow(&c, guard::ORG_READERS, "read support grants")?;
    let t = now();
    Ok(Json(tenant.grants.iter().map(|g| GrantView::of(g, t)).collect()))
}

/// Revokes a support grant at once (the customer only).
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/support-grants/{id}", tag = "terms", security(("bearer" = [])),
    params(("tenant" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = GrantView), (status = 409, body = crate::problem::Problem)))]
pub async fn revoke_grant(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path((tenant_id, id)): Path<(String, String)>,
) -> Result<Json<GrantView>, ApiError> {
    grant_caller(&st, &c, &tenant_id)?;
    let _w = st.write_lock().await?;
    let mut tenant = (*grant_caller(&st, &c, &tenant_id)?).clone();
    let gid: Option<GrantId> = id.parse().ok();
    let idx = tenant
        .grants
        .iter()
        .position(|g| Some(g.id) == gid)
        .ok_or_else(|| ApiError::not_found("support grant", &id))?;
    if tenant.grants[idx].revoked_at.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_revoked",
            format!("support grant {id} is already revoked"),
        ));
    }
    let t = now();
    tenant.grants[idx].revoked_at = Some(t);
    tenant.grants[idx].revoked_by = Some(c.id);
    st.audited(
        Ev::by(&c, Action::SupportGrantRevoke)
            .tenant(&tenant)
            .resource(Resource::Grant(tenant.grants[idx].id)),
        async { st.store.put_grant(&tenant.grants[idx]).await.map_err(ApiError::storage) },
    )
    .await?;
    tracing::info!(tenant = %tenant.id, grant = %id, by = %c.id, "support access revoked");
    let view = GrantView::of(&tenant.grants[idx], t);
    st.registry.put_tenant(tenant);
    Ok(Json(view))
}
