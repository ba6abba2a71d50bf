//! Durable storage of datapact's state.
//!
//! The [`Store`] trait is what the server writes through; it is backend-neutral: the embedded
//! SQLite backend ([`SqliteStore`]) and PostgreSQL ([`PostgresStore`]) store the same tables the
//! same way, and one test suite (`tests/backends.rs`) runs against both. Every write is durable when
//! its future resolves: the server applies a change to memory only after that.
#![forbid(unsafe_code)]

mod codec;
mod follow;
mod postgres;
mod sqlite;
pub mod transfer;

use async_trait::async_trait;
use datapact_governance::{
    AiSettings, ApiKey, Job, OptOut, Org, OrgId, RetentionRule, Snapshot, SupportGrant, Tenant, TenantId,
};
use time::OffsetDateTime;

pub use follow::{Follower, follow};
pub use postgres::{PostgresStore, RECONCILE_EVERY};
pub use sqlite::SqliteStore;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database reported an error.
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// PostgreSQL reported an error.
    #[error("database error: {}", postgres_detail(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// The database cannot be reached (no connection could be made or taken from the pool).
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The storage configuration cannot be used (a database URL that does not parse).
    #[error("storage configuration: {0}")]
    Config(String),
    /// Stored data could not be read back (a bug or outside tampering).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The database was written by a newer datapact.
    #[error(
        "the database schema is version {found}, newer than this datapact understands ({supported}); upgrade datapact"
    )]
    SchemaTooNew {
        /// Version found on disk.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// The storage directory could not be prepared.
    #[error("cannot prepare {path}: {source}")]
    Io {
        /// The path concerned.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A worker thread failed.
    #[error("storage worker failed: {0}")]
    Worker(String),
}

/// Which level a set of AI settings belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsScope {
    /// Organization level.
    Org(OrgId),
    /// Tenant level.
    Tenant(TenantId),
}

/// A signed deletion certificate as stored (the JSON is kept byte for byte, so it still verifies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCertificate {
    /// Certificate id.
    pub id: String,
    /// Tenant purged.
    pub tenant: TenantId,
    /// Its organization.
    pub org: OrgId,
    /// `customer_request` or `contract_termination`.
    pub reason: String,
    /// When it was issued.
    pub issued_at: OffsetDateTime,
    /// The certificate document.
    pub json: String,
}

/// LLM usage of one tenant, product and model on one day (UTC), as the AI trust layer counted it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UsageRow {
    /// The tenant.
    pub tenant: TenantId,
    /// The calling product.
    pub product: String,
    /// The model.
    pub model: String,
    /// The day (UTC).
    pub day: time::Date,
    /// Calls forwarded.
    pub requests: u64,
    /// Prompt tokens, as providers counted them.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// Both.
    pub total_tokens: u64,
}

/// What PostgreSQL said: a server error's own message and SQLSTATE (the error's Display alone
/// says only "db error"), else the client's description.
pub(crate) fn postgres_detail(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

/// A budget's use in one period, as [`Store::quota`] reads it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuotaState {
    /// Units spent (returned as used).
    pub spent: u64,
    /// Units taken and not yet returned.
    pub taken: u64,
}

/// A fact that makes data a training dataset holds unusable, stored when it happens: a record
/// the dataset holds deleted or changed, a tenant purged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainingEvent {
    /// The dataset.
    pub dataset: String,
    /// The tenant whose data it is.
    pub tenant: TenantId,
    /// The record (empty for an event about the whole tenant).
    pub record: String,
    /// Why (`record_deleted`, `record_modified`, `tenant_purged`).
    pub reason: String,
    /// When.
    pub at: OffsetDateTime,
}

/// The events of one dataset, tenant and reason, counted (one per record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainingEventCount {
    /// The dataset.
    pub dataset: String,
    /// The tenant.
    pub tenant: TenantId,
    /// Why.
    pub reason: String,
    /// How many records (events of a whole tenant count once).
    pub records: u64,
    /// The first of them.
    pub since: OffsetDateTime,
}

/// What a change to governance state was about: the entity to read again, whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    /// An organization (its terms, opt-outs or AI settings).
    Org,
    /// A tenant (its name, AI settings, support grants or retention rules).
    Tenant,
    /// An API key (created or revoked).
    Key,
}

/// One entry of the change feed that keeps several nodes' registries in step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Its position in the feed; committed in this order.
    pub seq: i64,
    /// What changed.
    pub entity: Entity,
    /// Its id.
    pub id: String,
}

/// Durable storage of organizations, tenants, terms and keys.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Short name of the backend, for logs and `/readyz`.
    fn backend(&self) -> &'static str;
    /// Loads everything, for building the in-memory registry at start.
    async fn load(&self) -> Result<Snapshot, StoreError>;
    /// Inserts a new organization (terms only; opt-outs and settings are stored separately).
    async fn insert_org(&self, org: &Org) -> Result<(), StoreError>;
    /// Replaces an organization's terms and status.
    async fn update_org(&self, org: &Org) -> Result<(), StoreError>;
    /// Inserts a new tenant.
    async fn insert_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;
    /// Replaces a tenant's name (its region never changes).
    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;
    /// Inserts or updates (revocation) an opt-out.
    async fn put_opt_out(&self, opt_out: &OptOut) -> Result<(), StoreError>;
    /// Replaces the AI settings of one level.
    async fn put_ai_settings(&self, scope: SettingsScope, settings: &AiSettings) -> Result<(), StoreError>;
    /// Inserts or updates (revocation) a support grant.
    async fn put_grant(&self, grant: &SupportGrant) -> Result<(), StoreError>;
    /// Inserts or updates (revocation) an API key.
    async fn put_key(&self, key: &ApiKey) -> Result<(), StoreError>;
    /// Replaces a tenant's retention rules.
    async fn put_retention(&self, tenant: TenantId, rules: &[RetentionRule]) -> Result<(), StoreError>;
    /// Keeps a deletion certificate (idempotent by certificate id).
    async fn insert_certificate(&self, cert: &StoredCertificate) -> Result<(), StoreError>;
    /// A tenant's deletion certificates, oldest first.
    async fn certificates(&self, tenant: TenantId) -> Result<Vec<StoredCertificate>, StoreError>;
    /// Inserts or updates a background job.
    async fn put_job(&self, job: &Job) -> Result<(), StoreError>;
    /// Every job, oldest first.
    async fn jobs(&self) -> Result<Vec<Job>, StoreError>;
    /// Checks that the backend answers, for readiness probes.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Takes or renews the lease `name` (a job, a periodic task) for `holder` (a node) until
    /// `ttl` from now by the database's clock, never a node's. True when `holder` holds it
    /// now: it was free, had expired, or was already its own. Work that must run once across
    /// the deployment runs only while its lease is held and renewed; a holder that dies stops
    /// renewing, and another takes the lease over once it expires.
    async fn lease(&self, name: &str, holder: &str, ttl: std::time::Duration) -> Result<bool, StoreError>;
    /// How many leases whose name starts with `prefix` are held now (unexpired): with one
    /// lease per node, the live nodes. Leases of that prefix expired for more than an hour are
    /// removed on the way, so names of nodes long gone do not pile up.
    async fn live_leases(&self, prefix: &str) -> Result<u64, StoreError>;
    /// Gives the lease up, if `holder` holds it (its work is done; another may take it at once).
    async fn release(&self, name: &str, holder: &str) -> Result<(), StoreError>;
    /// Takes up to `want` units of the budget `limit` of `scope` in `period` (a token budget of
    /// a tenant's product for a day, say) and returns how many it got: `want`, less when less
    /// is left, 0 when nothing is. Atomic against every other taker on the same database, so
    /// the units granted and not yet returned, plus those spent, never exceed `limit`.
    async fn take_quota(&self, scope: &str, period: &str, want: u64, limit: u64) -> Result<u64, StoreError>;
    /// Gives back units taken with [`Store::take_quota`]: `used` of the `taken` are spent, the
    /// rest are free for any taker again.
    async fn return_quota(&self, scope: &str, period: &str, taken: u64, used: u64) -> Result<(), StoreError>;
    /// Units of `scope` in `period` spent and out on loan now.
    async fn quota(&self, scope: &str, period: &str) -> Result<QuotaState, StoreError>;
    /// Once per database, in one transaction: replaces every API key's stored hash `h` with
    /// `keyed(h)` and records that it did (keys stored before keyed hashes existed held a
    /// plain SHA-256). Returns how many keys it rewrote (0 when already done).
    async fn key_hashes_keyed(&self, keyed: &(dyn Fn([u8; 32]) -> [u8; 32] + Send + Sync)) -> Result<u64, StoreError>;
    /// Adds usage counts to the stored ones (rows with the same tenant, product, model and day
    /// are summed).
    async fn add_usage(&self, rows: &[UsageRow]) -> Result<(), StoreError>;
    /// A tenant's usage from `from` to `to` (inclusive days), by day, product and model.
    async fn usage(&self, tenant: TenantId, from: time::Date, to: time::Date) -> Result<Vec<UsageRow>, StoreError>;
    /// Inserts or replaces a training document of `kind` (`dataset`, `model`): JSON the
    /// server reads back whole, with a `status` it can be found by (a dataset's `building`).
    async fn put_training_doc(&self, kind: &str, id: &str, status: &str, doc: &str) -> Result<(), StoreError>;
    /// One training document, if it exists.
    async fn training_doc(&self, kind: &str, id: &str) -> Result<Option<String>, StoreError>;
    /// Every training document of `kind` (of one status), by id.
    async fn training_docs(&self, kind: &str, status: Option<&str>) -> Result<Vec<String>, StoreError>;
    /// Up to `limit` training documents of `kind` with ids after `after`, by id.
    async fn training_docs_page(&self, kind: &str, after: &str, limit: usize) -> Result<Vec<String>, StoreError>;
    /// Stores training events (one per dataset, record and reason: a repeat is ignored).
    async fn add_training_events(&self, events: &[TrainingEvent]) -> Result<(), StoreError>;
    /// Removes the training events of one dataset and tenant from before `before` (its shard
    /// was written again since, and holds what they were about as it is now).
    async fn drop_training_events(
        &self,
        dataset: &str,
        tenant: TenantId,
        before: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Every training event, counted by dataset, tenant and reason.
    async fn training_event_counts(&self) -> Result<Vec<TrainingEventCount>, StoreError>;
}
