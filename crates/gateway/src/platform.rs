//! What the gateway reaches of the platform it runs in.

use std::sync::Arc;

use datapact_audit::AuditLog;
use datapact_governance::Registry;
use datapact_store::Store;
use datapact_vault::Vault;

/// What the gateway uses of the platform it runs in: the server's registry of organizations,
/// tenants and keys, its store, its vault (key hashing, correlation, a tenant's own copy of
/// its calls) and its audit log. The server builds it from its own state; they share all four.
#[derive(Clone)]
pub struct Platform {
    /// Organizations, tenants, keys and terms, in memory.
    pub registry: Arc<Registry>,
    /// Durable state (usage counters).
    pub store: Arc<dyn Store>,
    /// The customer data vault.
    pub vault: Arc<Vault>,
    /// The tamper-evident audit log.
    pub audit_log: Arc<AuditLog>,
    /// On several nodes: whether this node is cut off from the deployment's changes (then
    /// calls are refused, 503 `stale_state`, rather than authorized on old state).
    pub stale: Option<Arc<dyn Fn() -> bool + Send + Sync>>,
    /// The deployment's clock (on several nodes, the database's): decisions, usage days and
    /// the records of calls are dated by it, never by this machine's alone.
    pub clock: fn() -> time::OffsetDateTime,
}
