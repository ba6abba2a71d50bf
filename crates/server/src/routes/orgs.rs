//! Organizations and their contractual terms.

use std::sync::Arc;

use crate::extract::Path;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use datapact_governance::{AiSettings, Org, OrgId, OrgStatus, Role};

use super::check::{page_bounds, region, text};
use crate::audit::Ev;
use crate::extract::{Caller, JsonBody, QueryParams};
use crate::guard;
use crate::problem::ApiError;
use crate::state::{AppState, now};
use crate::views::{CreateOrg, OrgView, Page, PageQuery, PatchOrg};
use datapact_audit::Action;

/// Creates an organization (vendor).
#[utoipa::path(post, path = "/v1/orgs", tag = "orgs", security(("bearer" = [])), request_body = CreateOrg,
    responses((status = 201, body = OrgView), (status = 403, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)))]
pub async fn create(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    JsonBody(body): JsonBody<CreateOrg>,
) -> Result<(StatusCode, [(header::HeaderName, String); 1], Json<OrgView>), ApiError> {
    guard::allow(&c, guard::VENDOR, "create organizations")?;
    let t = now();
    let org = Org {
        id: OrgId::generate(),
        name: text("name", &body.name, 200)?,
        plan: body.plan,
        region: region(&st, "region", &body.region)?,
        baa: body.baa,
        contract_forbids_training: body.contract_forbids_training,
        allow_cross_region_llm: body.allow_cross_region_llm,
        status: OrgStatus::Active,
        created_at: t,
        updated_at: t,
        termination_due_at: None,
        ai_limits: Default::default(),
        opt_outs: Vec::new(),
        ai: AiSettings::default(),
        tenants: Vec::new(),
    };
    let _w = st.write_lock().await?;
    st.audited(Ev::by(&c, Action::OrgCreate).org(org.id).region(&org.region), async {
        st.store.insert_org(&org).await.map_err(ApiError::storage)
    })
    .await?;
    tracing::info!(org = %org.id, plan = %org.plan, region = %org.region, by = %c.id, "organization created");
    let view = OrgView::of(&org, t);
    st.registry.put_org(org);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/v1/orgs/{}", view.id))],
        Json(view),
    ))
}

/// Lists the organizations the caller may see.
#[utoipa::path(get, path = "/v1/orgs", tag = "orgs", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Page<OrgView>)))]
pub async fn list(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Json<Page<OrgView>>, ApiError> {
    guard::allow(&c, guard::ORG_READERS, "list organizations")?;
    let limit = page_bounds(&q)?;
    let after: Option<OrgId> = match q.after.as_deref() {
        None => None,
        Some(a) => Some(
            a.parse()
                .map_err(|_| ApiError::invalid("invalid_query", "after", "`after` is not an organization id"))?,
        ),
    };
    let t = now();
    let mut items: Vec<OrgView> = st
        .registry
        .orgs()
        .iter()
        .filter(|o| c.sees_org(o.id) && c.tenant.is_none())
        .filter(|o| after.is_none_or(|a| o.id > a))
        .take(limit + 1)
        .map(|o| OrgView::of(o, t))
        .collect();
    let next = (items.len() > limit).then(|| {
        items.truncate(limit);
        items.last().map(|o| o.id.to_string()).unwrap_or_default()
    });
    Ok(Json(Page { items, next }))
}

/// An organization and its terms.
#[utoipa::path(get, path = "/v1/orgs/{org}", tag = "orgs", security(("bearer" = [])), params(("org" = String, Path)),
    responses((status = 200, body = OrgView), (status = 404, body = crate::problem::Problem)))]
pub async fn get(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(id): Path<String>,
) -> Result<Json<OrgView>, ApiError> {
    let org = guard::org(&st, &c, &id)?;
    guard::allow(&c, guard::ORG_READERS, "read organizations")?;
    Ok(Json(OrgView::of(&org, now())))
}

/// Changes an organization's terms. The vendor sets plan, BAA, contract and status; the
/// customer's administrator may rename it and give or withdraw cross-region LLM consent.
#[utoipa::path(patch, path = "/v1/orgs/{org}", tag = "orgs", security(("bearer" = [])), params(("org" = String, Path)),
    request_body = PatchOrg,
    responses((status = 200, body = OrgView), (status = 403, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem)))]
pub async fn patch(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PatchOrg>,
) -> Result<Json<OrgView>, ApiError> {
    guard::org(&st, &c, &id)?;
    guard::allow(
        &c,
        &[Role::PlatformAdmin, Role::Support, Role::OrgAdmin],
        "change organizations",
    )?;
    if c.role == Role::OrgAdmin {
        let vendor_fields = [
            ("plan", body.plan.is_some()),
            ("baa", body.baa.is_some()),
            ("contract_forbids_training", body.contract_forbids_training.is_some()),
            ("status", body.status.is_some()),
            ("ai_limits", body.ai_limits.is_some()),
        ];
        if let Some((field, _)) = vendor_fields.iter().find(|(_, set)| *set) {
            return Err(
                ApiError::forbidden(format!("`{field}` is part of the contract and is set by the vendor"))
                    .field(*field),
            );
        }
    }
    if body.status.is_some() && c.role != Role::PlatformAdmin {
        return Err(ApiError::forbidden("only platform_admin may change an organization's status").field("status"));
    }
    let name = body.name.as_deref().map(|n| text("name", n, 200)).transpose()?;
    if let Some(terms) = &body.ai_limits {
        super::check::limit_terms(&st, terms)?;
    }
    let _w = st.write_lock().await?;
    // Re-read under the write lock so a concurrent change is not overwritten.
    let current = guard::org(&st, &c, &id)?;
    if let Some(r) = &body.region
        && *r != current.region
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "region_immutable",
            format!(
                "an organization's region cannot change after creation (it is `{}`)",
                current.region
            ),
        )
        .field("region"));
    }
    let mut org = (*current).clone();
    if let Some(status) = body.status
        && status != org.status
    {
        // Termination purges data, so it has its own endpoint; PATCH can only cancel one.
        if status != OrgStatus::Active {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "use_terminate_endpoint",
                "to terminate a contract use POST /v1/orgs/{org}/terminate; PATCH can only cancel a termination",
            )
            .field("status"));
        }
        if !org.status.can_move_to(status) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "invalid_status_transition",
                format!("an organization cannot move from {} to {status}", org.status),
            )
            .field("status"));
        }
        org.status = status;
        org.termination_due_at = None;
    }
    if let Some(n) = name {
        org.name = n;
    }
    org.plan = body.plan.unwrap_or(org.plan);
    org.baa = body.baa.unwrap_or(org.baa);
    org.contract_forbids_training = body.contract_forbids_training.unwrap_or(org.contract_forbids_training);
    org.allow_cross_region_llm = body.allow_cross_region_llm.unwrap_or(org.allow_cross_region_llm);
    if let Some(terms) = body.ai_limits {
        org.ai_limits = terms;
    }
    let t = now();
    if org == *current {
        return Ok(Json(OrgView::of(&org, t)));
    }
    org.updated_at = t;
    st.audited(Ev::by(&c, Action::TermsChange).org(org.id), async {
        st.store.update_org(&org).await.map_err(ApiError::storage)
    })
    .await?;
    tracing::info!(org = %org.id, by = %c.id, "organization terms changed");
    let view = OrgView::of(&org, t);
    st.registry.put_org(org);
    Ok(Json(view))
}
