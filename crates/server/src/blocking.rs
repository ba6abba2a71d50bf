//! Blocking work off the async threads: SQLite and crypto run on the blocking pool, and the
//! vault's calls for one tenant go through [`with_vault`], which maps its errors to answers.

use std::sync::Arc;

use datapact_governance::Tenant;
use datapact_vault::{TenantRef, VaultError};

use crate::problem::ApiError;
use crate::state::AppState;

/// Runs blocking work (SQLite, crypto) off the async threads.
pub async fn on_blocking_pool<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(crate::audit::carry_request_id(f))
        .await
        .map_err(ApiError::internal)
}

/// Runs `f` with the vault on the blocking pool and maps its errors to API errors.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, VaultError> + Send + 'static,
) -> Result<T, ApiError> {
    on_blocking_pool(f).await?.map_err(vault_error)
}

/// Runs `f` on the blocking pool with the vault and the tenant as the vault sees it.
pub async fn with_vault<T: Send + 'static>(
    state: &AppState,
    tenant: &Tenant,
    f: impl FnOnce(&datapact_vault::Vault, TenantRef<'_>) -> Result<T, VaultError> + Send + 'static,
) -> Result<T, ApiError> {
    let vault = Arc::clone(&state.vault);
    let (id, region) = (tenant.id, tenant.region.clone());
    blocking(move || f(&vault, TenantRef { id, region: &region })).await
}

/// How a vault failure is answered.
pub fn vault_error(e: VaultError) -> ApiError {
    use axum::http::StatusCode;
    match e {
        VaultError::NotFound(id) => ApiError::not_found("record", &id),
        VaultError::TooLarge { field, size, limit } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "content_too_large",
            format!("content is {size} bytes; the limit is {limit}"),
        )
        .field(field),
        VaultError::Invalid { field, message } => ApiError::invalid("invalid_value", &field, message),
        // Only new messages' index rows are unique by the customer's id (an upload retries).
        VaultError::Duplicate(_) => ApiError::new(
            StatusCode::CONFLICT,
            "message_stored_meanwhile",
            "a message of this upload was stored by another upload meanwhile; nothing of it was stored; upload it again",
        ),
        VaultError::Corrupt { record, detail } => {
            tracing::error!(%record, %detail, "stored record failed authentication");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "record_corrupted",
                format!("record {record} is corrupted in storage and cannot be read; it was not returned"),
            )
        }
        VaultError::Database(e) => ApiError::storage(e),
        VaultError::Io { path, source } => ApiError::storage(format!("{path}: {source}")),
        e @ VaultError::CheckpointIncomplete(_) => ApiError::storage(e),
        e @ (VaultError::Postgres(_) | VaultError::Unavailable(_)) => ApiError::storage(e),
        VaultError::Closed(_) => ApiError::new(
            StatusCode::CONFLICT,
            "tenant_closed",
            "the tenant's contract was terminated and its data destroyed; nothing can be written to it",
        ),
        other => ApiError::internal(other),
    }
}

/// The vault's view of a tenant.
pub fn tref(t: &Tenant) -> TenantRef<'_> {
    TenantRef {
        id: t.id,
        region: &t.region,
    }
}
