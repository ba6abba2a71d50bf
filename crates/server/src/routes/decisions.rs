//! The decision point over HTTP, and product availability per tenant.

use std::sync::Arc;

use crate::extract::Path;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use datapact_audit::{Action, Outcome};
use datapact_governance::{DecideError, Decision, DecisionRequest, ProductAvailability, Role};

use crate::audit::Ev;
use crate::extract::{Caller, JsonBody};
use crate::guard;
use crate::problem::ApiError;
use crate::state::{AppState, now};
use crate::views::DecideBody;

/// May this tenant's data be used by this product for this purpose? Answers with every reason.
#[utoipa::path(post, path = "/v1/decisions", tag = "decisions", security(("bearer" = [])), request_body = DecideBody,
    responses((status = 200, body = Decision), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)))]
pub async fn decide(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    JsonBody(body): JsonBody<DecideBody>,
) -> Result<Json<Decision>, ApiError> {
    let (tenant, _) = guard::tenant(&st, &c, &body.tenant).map_err(|e| e.field("tenant"))?;
    guard::allow(&c, guard::ANY, "ask for decisions")?;
    if c.role == Role::Service && !c.acts_for_product(&body.product) {
        return Err(ApiError::forbidden(format!(
            "this key acts for product `{}` and cannot ask about `{}`",
            c.product.as_deref().unwrap_or(""),
            body.product
        ))
        .field("product"));
    }
    let req = DecisionRequest {
        tenant: tenant.id,
        product: &body.product,
        purpose: body.purpose,
        data_kind: body.data_kind,
        region: body.region.as_deref(),
    };
    let decision = st.registry.decide(&req, now()).map_err(|e| match e {
        DecideError::TenantNotFound(_) => ApiError::not_found("tenant", &body.tenant).field("tenant"),
        DecideError::UnknownProduct(p) => {
            ApiError::invalid("unknown_product", "product", format!("unknown product `{p}`"))
        }
        DecideError::UnknownRegion(r) => ApiError::invalid(
            "unknown_region",
            "region",
            format!(
                "unknown region `{r}`; configured regions: {}",
                st.registry.regions().join(", ")
            ),
        ),
    })?;
    // The answer is given only once it is on the record.
    st.audit(
        Ev::by(&c, Action::Decision)
            .tenant(&tenant)
            .region(&decision.region)
            .product(&decision.product)
            .purpose(decision.purpose)
            .outcome(if decision.allowed {
                Outcome::Allowed
            } else {
                Outcome::Denied
            })
            .reasons(&decision.reasons),
    )
    .await?;
    Ok(Json(decision))
}

/// Whether each catalog product is available, degraded or unavailable for a tenant, and why.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/products", tag = "decisions", security(("bearer" = [])),
    params(("tenant" = String, Path)), responses((status = 200, body = [ProductAvailability])))]
pub async fn availability(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<ProductAvailability>>, ApiError> {
    let (tenant, _) = guard::tenant(&st, &c, &id)?;
    guard::allow(&c, guard::TENANT_READERS, "read product availability")?;
    let products = st
        .registry
        .availability(tenant.id, now())
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("tenant `{id}` not found")))?;
    st.audit(Ev::by(&c, Action::Availability).tenant(&tenant)).await?;
    Ok(Json(products))
}
