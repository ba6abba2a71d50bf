//! Tenants: isolated environments of an organization, each pinned to a region.

use std::sync::Arc;

use crate::extract::Path;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use datapact_audit::Action;
use datapact_governance::{AiSettings, OrgStatus, Role, Tenant, TenantId};

use super::check::{region, text};
use crate::audit::Ev;
use crate::extract::{Caller, JsonBody};
use crate::guard;
use crate::problem::ApiError;
use crate::state::{AppState, now};
use crate::views::{CreateTenant, PatchTenant, TenantView};

/// Creates a tenant in an organization (the customer's administrator).
#[utoipa::path(post, path = "/v1/orgs/{org}/tenants", tag = "tenants", security(("bearer" = [])),
    params(("org" = String, Path)), request_body = CreateTenant,
    responses((status = 201, body = TenantView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)))]
pub async fn create(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(org_id): Path<String>,
    JsonBody(body): JsonBody<CreateTenant>,
) -> Result<(StatusCode, [(header::HeaderName, String); 1], Json<TenantView>), ApiError> {
    let org = guard::org(&st, &c, &org_id)?;
    guard::allow(&c, guard::CUSTOMER_ADMIN, "create tenants")?;
    let name = text("name", &body.name, 200)?;
    let region = match &body.region {
        Some(r) => region(&st, "region", r)?,
        None => org.region.clone(),
    };
    let t = now();
    let tenant = Tenant {
        id: TenantId::generate(),
        org: org.id,
        name,
        region,
        created_at: t,
        ai: AiSettings::default(),
        grants: Vec::new(),
        retention: Vec::new(),
    };
    let _w = st.write_lock().await?;
    // Checked under the write lock, where a termination changes the status.
    let org = guard::org(&st, &c, &org_id)?;
    if org.status != OrgStatus::Active {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "org_not_active",
            format!("the organization is {}; no new tenants can be created", org.status),
        ));
    }
    st.audited(Ev::by(&c, Action::TenantChange).tenant(&tenant), async {
        st.store.insert_tenant(&tenant).await.map_err(ApiError::storage)
    })
    .await?;
    tracing::info!(tenant = %tenant.id, org = %org.id, region = %tenant.region, by = %c.id, "tenant created");
    let view = TenantView::of(&tenant, t);
    st.registry.put_tenant(tenant);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/v1/tenants/{}", view.id))],
        Json(view),
    ))
}

/// The tenants of an organization.
#[utoipa::path(get, path = "/v1/orgs/{org}/tenants", tag = "tenants", security(("bearer" = [])),
    params(("org" = String, Path)), responses((status = 200, body = [TenantView])))]
pub async fn list(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(org_id): Path<String>,
) -> Result<Json<Vec<TenantView>>, ApiError> {
    let org = guard::org(&st, &c, &org_id)?;
    guard::allow(&c, guard::ORG_READERS, "list tenants")?;
    let t = now();
    Ok(Json(
        org.tenants
            .iter()
            .filter_map(|id| st.registry.tenant(*id))
            .map(|x| TenantView::of(&x, t))
            .collect(),
    ))
}

/// A tenant.
#[utoipa::path(get, path = "/v1/tenants/{tenant}", tag = "tenants", security(("bearer" = [])),
    params(("tenant" = String, Path)), responses((status = 200, body = TenantView), (status = 404, body = crate::problem::Problem)))]
pub async fn get(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(id): Path<String>,
) -> Result<Json<TenantView>, ApiError> {
    let (tenant, _) = guard::tenant(&st, &c, &id)?;
    guard::allow(&c, guard::TENANT_READERS, "read tenants")?;
    Ok(Json(TenantView::of(&tenant, now())))
}

/// Renames a tenant; its region cannot change.
#[utoipa::path(patch, path = "/v1/tenants/{tenant}", tag = "tenants", security(("bearer" = [])),
    params(("tenant" = String, Path)), request_body = PatchTenant,
    responses((status = 200, body = TenantView), (status = 409, body = crate::problem::Problem)))]
pub async fn patch(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PatchTenant>,
) -> Result<Json<TenantView>, ApiError> {
    guard::tenant(&st, &c, &id)?;
    guard::allow(&c, &[Role::OrgAdmin], "change tenants")?;
    let name = body.name.as_deref().map(|n| text("name", n, 200)).transpose()?;
    let _w = st.write_lock().await?;
    let (current, _) = guard::tenant(&st, &c, &id)?;
    if let Some(r) = &body.region
        && *r != current.region
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "region_immutable",
            format!(
                "a tenant's region cannot change after creation (it is `{}`)",
                current.region
            ),
        )
        .field("region"));
    }
    let mut tenant = (*current).clone();
    if let Some(n) = name {
        tenant.name = n;
    }
    let t = now();
    if tenant != *current {
        st.audited(Ev::by(&c, Action::TenantChange).tenant(&tenant), async {
            st.store.update_tenant(&tenant).await.map_err(ApiError::storage)
        })
        .await?;
        st.registry.put_tenant(tenant.clone());
    }
    Ok(Json(TenantView::of(&tenant, t)))
}
