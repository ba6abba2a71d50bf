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
        node: None,
        lag: None,
        nodes: None,
    })
}

/// How many changes a node may be behind the feed and still be ready (the feed applies a
/// change within milliseconds; a backlog this long means the node cannot keep up).
const READY_LAG: i64 = 1000;

/// Readiness: storage answers; on a shared database, also this node's name and how many
/// committed changes it has not applied yet (`lag`).
#[utoipa::path(get, path = "/readyz", tag = "meta", responses((status = 200, body = Health), (status = 503, body = crate::problem::Problem)))]
pub async fn readyz(State(st): State<Arc<AppState>>) -> Result<Json<Health>, ApiError> {
    st.store.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", "storage does not answer")
    })?;
    let mut health = Health {
        status: "ready",
        backend: Some(st.store.backend()),
        node: None,
        lag: None,
        nodes: None,
    };
    if let Some(cluster) = &st.cluster {
        // A node far behind the change feed would decide on stale terms: not ready.
        let lag = cluster.lag().await.map_err(|e| {
            tracing::warn!(error = %e, "readiness check failed");
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", "storage does not answer")
        })?;
        health.node = Some(st.node.clone());
        health.lag = Some(lag);
        health.nodes = Some(cluster.nodes());
        crate::metrics::feed_lag(lag);
        if lag > READY_LAG {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                format!("this node is {lag} changes behind the deployment"),
            ));
        }
    }
    Ok(Json(health))
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
