//! The HTTP routes and the OpenAPI document that describes them.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::problem::ApiError;
use crate::state::AppState;

pub mod audit;
pub mod check;
pub mod data;
pub mod decisions;
pub mod keys;
pub mod meta;
pub mod mining;
pub mod mining_model;
pub mod orgs;
pub mod records;
pub mod tenants;
pub mod terms;
pub mod training;
pub mod usage;

/// The body limit of message uploads and predictions: 1,000 messages of up to 64 KiB with
/// their fields, as JSON.
fn mining_upload_limit() -> usize {
    crate::mining::MAX_BATCH * (crate::mining::MAX_TEXT_BYTES + 16 * 1024) / 4 + 8 * 1024 * 1024
}

/// The whole API: these routes, and `gateway`'s (the AI trust layer's, with its own state).
pub fn router(state: Arc<AppState>, gateway: Router) -> Router {
    let max_body = state.config.max_body_bytes;
    // Record writes carry content: their own, larger limits (base64 grows bytes by a third).
    let single = (state.config.vault.max_content_bytes * 4 / 3 + 64 * 1024).max(max_body);
    Router::new()
        .route("/healthz", get(meta::healthz))
        .route("/readyz", get(meta::readyz))
        .route("/openapi.json", get(crate::openapi::serve))
        .route("/v1/me", get(meta::me))
        .route("/v1/catalog/products", get(meta::products))
        .route("/v1/orgs", post(orgs::create).get(orgs::list))
        .route("/v1/orgs/{org}", get(orgs::get).patch(orgs::patch))
        .route("/v1/orgs/{org}/tenants", post(tenants::create).get(tenants::list))
        .route(
            "/v1/orgs/{org}/opt-outs",
            post(terms::create_opt_out).get(terms::list_opt_outs),
        )
        .route("/v1/orgs/{org}/opt-outs/{id}", delete(terms::revoke_opt_out))
        .route(
            "/v1/orgs/{org}/ai-settings",
            get(terms::get_org_ai).put(terms::put_org_ai),
        )
        .route("/v1/tenants/{tenant}", get(tenants::get).patch(tenants::patch))
        .route(
            "/v1/tenants/{tenant}/ai-settings",
            get(terms::get_tenant_ai).put(terms::put_tenant_ai),
        )
        .route(
            "/v1/tenants/{tenant}/support-grants",
            post(terms::create_grant).get(terms::list_grants),
        )
        .route("/v1/tenants/{tenant}/support-grants/{id}", delete(terms::revoke_grant))
        .route("/v1/tenants/{tenant}/products", get(decisions::availability))
        .route("/v1/decisions", post(decisions::decide))
        .route("/metrics", get(meta::metrics))
        .route("/v1/keys", post(keys::create).get(keys::list))
        .route("/v1/keys/{id}", delete(keys::revoke))
        .route("/v1/orgs/{org}/terminate", post(data::terminate))
        .route("/v1/tenants/{tenant}/purge", post(data::purge))
        .route("/v1/tenants/{tenant}/certificates", get(data::certificates))
        .route(
            "/v1/tenants/{tenant}/retention",
            get(data::get_retention).put(data::put_retention),
        )
        .route("/v1/tenants/{tenant}/keys", get(data::list_keys))
        .route("/v1/tenants/{tenant}/keys/rotate", post(data::rotate))
        .route("/v1/jobs/{id}", get(data::job))
        .route("/v1/server/public-key", get(data::public_key))
        .route(
            "/v1/tenants/{tenant}/records/{id}",
            get(records::read)
                .delete(records::delete)
                .merge(axum::routing::patch(records::patch).layer(DefaultBodyLimit::max(single))),
        )
        .route(
            "/v1/tenants/{tenant}/records",
            get(records::list).merge(post(records::create).layer(DefaultBodyLimit::max(single))),
        )
        .route(
            "/v1/tenants/{tenant}/records/batch",
            post(records::create_batch).layer(DefaultBodyLimit::max(state.config.vault.max_batch_bytes)),
        )
        .route("/v1/tenants/{tenant}/export", get(records::export))
        .route(
            "/v1/training/datasets",
            post(training::create_dataset).get(training::list_datasets),
        )
        .route("/v1/training/datasets/{id}", get(training::get_dataset))
        .route("/v1/training/datasets/{id}/export", get(training::export_dataset))
        .route("/v1/training/models", post(training::register_model))
        .route("/v1/training/models/{id}", get(training::get_model))
        .route("/v1/training/debt", get(training::debt))
        .route("/v1/orgs/{org}/training-usage", get(training::org_usage))
        .route(
            "/v1/mining/datasets",
            post(mining::create_dataset).get(mining::list_datasets),
        )
        .route("/v1/mining/datasets/{id}", get(mining::get_dataset))
        .route(
            "/v1/mining/datasets/{id}/labels",
            axum::routing::put(mining::put_labels),
        )
        .route(
            "/v1/mining/datasets/{id}/messages",
            post(mining::upload)
                .get(mining::list_messages)
                .layer(DefaultBodyLimit::max(mining_upload_limit())),
        )
        .route(
            "/v1/mining/datasets/{id}/messages/{msg}",
            get(mining::get_message).delete(mining::delete_message),
        )
        .route(
            "/v1/mining/datasets/{id}/messages/{msg}/labels",
            axum::routing::put(mining::put_message_labels),
        )
        .route("/v1/mining/datasets/{id}/train", post(mining_model::train))
        .route(
            "/v1/mining/datasets/{id}/train/jobs/{job}",
            get(mining_model::train_job),
        )
        .route(
            "/v1/mining/datasets/{id}/predict",
            post(mining_model::predict).layer(DefaultBodyLimit::max(mining_upload_limit())),
        )
        .route("/v1/mining/datasets/{id}/validation", get(mining_model::validation))
        .route("/v1/mining/datasets/{id}/queues/{name}", get(mining_model::queue))
        .route(
            "/v1/mining/datasets/{id}/streams",
            post(mining_model::create_stream).get(mining_model::list_streams),
        )
        .route(
            "/v1/mining/datasets/{id}/streams/{stream}/fetch",
            get(mining_model::fetch),
        )
        .route(
            "/v1/mining/datasets/{id}/streams/{stream}/advance",
            post(mining_model::advance),
        )
        .route("/v1/mining/datasets/{id}/review", get(mining_model::review_queue))
        .route("/v1/mining/datasets/{id}/review/{msg}", post(mining_model::review))
        .route("/v1/mining/prelabeler", post(mining_model::train_prelabeler))
        .route("/v1/audit/checkpoint", get(audit::checkpoint))
        .route("/v1/audit/checkpoints", get(audit::checkpoints))
        .route("/v1/audit/proofs/inclusion", get(audit::inclusion))
        .route("/v1/audit/proofs/consistency", get(audit::consistency))
        .route("/v1/audit/entries", get(audit::entries))
        .route("/v1/audit/export", get(audit::export))
        .with_state(state)
        .merge(gateway)
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not accept that method",
            )
        })
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn(crate::audit::request_scope))
        .layer(CatchPanicLayer::custom(|_| {
            axum::response::IntoResponse::into_response(ApiError::internal("a handler panicked"))
        }))
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(axum::middleware::from_fn(crate::audit::own_request_id))
}
