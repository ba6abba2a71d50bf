//! Health, the OpenAPI document, the catalog and the caller's own key.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use datapact_governance::Product;

use crate::extract::Caller;
use crate::guard;
use crate::problem::ApiError;
use crate::state::AppState;
use crate::views::{Health, KeyView};

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "meta", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok",
        backend: None,
    })
}

/// Readiness: storage answers.
#[utoipa::path(get, path = "/readyz", tag = "meta", responses((status = 200, body = Health), (status = 503, body = crate::problem::Problem)))]
pub async fn readyz(State(st): State<Arc<AppState>>) -> Result<Json<Health>, ApiError> {
    st.store.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", "storage does not answer")
    })?;
    Ok(Json(Health {
        status: "ready",
        backend: Some(st.store.backend()),
    }))
}

/// The caller's own key.
#[utoipa::path(get, path = "/v1/me", tag = "keys", security(("bearer" = [])), responses((status = 200, body = KeyView)))]
pub async fn me(Caller(c): Caller) -> Json<KeyView> {
    Json(KeyView::from(c.as_ref()))
}

/// Every product in the catalog with its declared data uses.
#[utoipa::path(get, path = "/v1/catalog/products", tag = "catalog", security(("bearer" = [])),
    responses((status = 200, body = [Product]), (status = 401, body = crate::problem::Problem)))]
pub async fn products(State(st): State<Arc<AppState>>, Caller(c): Caller) -> Result<Json<Vec<Product>>, ApiError> {
    guard::allow(&c, guard::ANY, "read the catalog")?;
    Ok(Json(st.registry.catalog().products().to_vec()))
}

/// Prometheus metrics of this process: counts and timings only, no tenant, no content.
pub async fn metrics() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::metrics::render(),
    )
}
