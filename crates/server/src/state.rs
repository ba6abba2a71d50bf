//! Shared server state: the in-memory registry, durable storage and configuration.

use std::future::Future;
use std::sync::Arc;

use axum::http::StatusCode;
use datapact_audit::{AuditLog, Entry, Outcome};
use datapact_governance::{ApiKey, Catalog, Job, JobId, KeyId, Registry, Role};
use datapact_store::{Store, StoreError};
use datapact_vault::{Vault, VaultError};

use crate::audit::Ev;
use crate::config::Config;
use crate::problem::ApiError;
use datapact_vault::api_key;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The audit log could not be opened.
    #[error("audit log: {0}")]
    Audit(#[from] datapact_audit::AuditError),
    /// The vault (keys, region storage) could not be opened.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// Stored state does not fit the configuration or catalog.
    #[error("stored state does not fit the configuration: {0}")]
    Load(#[from] datapact_governance::registry::LoadError),
    /// The AI trust layer cannot start: a provider's API key cannot be read, a recognizer
    /// file cannot be used, a client cannot be built.
    #[error(transparent)]
    Gateway(#[from] datapact_gateway::StartError),
    /// `[mining] embedder` names a model that cannot be loaded (the file and why).
    #[error("[mining] embedder: {0}")]
    Embedder(#[from] datapact_embedding::EmbeddingError),
    /// Another server holds the data directory.
    #[error(
        "another datapact server is using the data directory {0} (its lock file datapact.lock is held); stop it first"
    )]
    Locked(String),
    /// The `[storage]` database URLs cannot be read.
    #[error("storage: {0}")]
    StorageUrl(#[from] crate::config::UrlError),
    /// The data directory cannot be used.
    #[error("cannot use the data directory {path}: {error}")]
    DataDir {
        /// The directory.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// The bootstrap key from the environment is unusable.
    #[error("DATAPACT_ADMIN_KEY is too short: use at least {min} characters (e.g. `openssl rand -hex 32`)")]
    AdminKeyTooShort {
        /// Minimum length.
        min: usize,
    },
    /// A start-up task failed.
    #[error("start-up task failed: {0}")]
    Worker(String),
    /// The system random generator failed.
    #[error("cannot generate a key: {0}")]
    Random(String),
}

/// What happened to the first platform_admin key on start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootstrap {
    /// Keys already existed; nothing was created.
    Existing {
        /// `DATAPACT_ADMIN_KEY` was set but not registered, because keys exist.
        env_key_ignored: bool,
    },
    /// The key from `DATAPACT_ADMIN_KEY` was registered.
    FromEnv {
        /// Its id.
        id: KeyId,
    },
    /// A key was generated; its secret must be shown to the operator once.
    Generated {
        /// Its id.
        id: KeyId,
        /// The secret, shown only now.
        secret: String,
    },
}

/// A router state that reaches the platform's state (for extractors shared by every route).
pub trait HasApp {
    /// The platform's state.
    fn app(&self) -> &AppState;
}

impl HasApp for Arc<AppState> {
    fn app(&self) -> &AppState {
        self
    }
}

/// Everything handlers share.
pub struct AppState {
    /// In-memory state that decisions and reads use.
    pub registry: Arc<Registry>,
    /// Durable storage that every change goes through first.
    pub store: Arc<dyn Store>,
    /// Server configuration.
    pub config: Config,
    /// The customer data vault.
    pub vault: Arc<Vault>,
    /// The tamper-evident audit log every access and change is appended to first.
    pub audit_log: Arc<AuditLog>,
    /// Background jobs, by id; the durable copy is in `store`.
    pub jobs: std::sync::Mutex<std::collections::BTreeMap<JobId, Job>>,
    /// Wakes the background worker when new work arrives.
    pub wake: tokio::sync::Notify,
    /// Serializes read-modify-write changes so concurrent updates of one entity cannot lose one another.
    writes: tokio::sync::Mutex<()>,
    /// Serializes the steps of purges (a request and the worker resuming it never run one twice).
    pub purges: tokio::sync::Mutex<()>,
    /// The data directory's lock, held while this state lives, so no second server shares it.
    lock: std::sync::Mutex<Option<std::fs::File>>,
    /// This process's name in leases, `/readyz` and metrics.
    pub node: String,
    /// Communications Mining's models in memory.
    pub mining: crate::mining_cache::Models,
    /// The sentence-embedding model Communications Mining's classifier adds to its hashed
    /// features (`[mining] embedder`); `None`: hashed features alone.
    pub embedder: Option<Arc<dyn datapact_mining::embed::Embedder>>,
    /// This node's place in a deployment of several (PostgreSQL); `None` on SQLite.
    pub cluster: Option<Arc<crate::cluster::Cluster>>,
}

impl AppState {
    /// What the AI trust layer uses of this state (shared, not copied).
    pub fn platform(&self) -> datapact_gateway::Platform {
        datapact_gateway::Platform {
            registry: Arc::clone(&self.registry),
            store: Arc::clone(&self.store),
            vault: Arc::clone(&self.vault),
            audit_log: Arc::clone(&self.audit_log),
            stale: self.cluster.as_ref().map(crate::cluster::Cluster::staleness),
            clock: crate::clock::now,
        }
    }

    /// The stored form of an API key's secret (see [`Vault::key_hash`]).
    pub fn key_hash(&self, secret: &str) -> [u8; 32] {
        self.vault.api_key_hash(secret)
    }

    /// Loads stored state into memory, checked against the catalog and configuration.
    pub async fn open(
        store: Arc<dyn Store>,
        vault: Arc<Vault>,
        audit_log: Arc<AuditLog>,
        catalog: Catalog,
        config: Config,
    ) -> Result<Self, StartError> {
        // Keys stored as plain SHA-256 by an older datapact are keyed once, before loading.
        let rekeyed = store.key_hashes_keyed(&|h| vault.key_hash(&h)).await?;
        if rekeyed > 0 {
            tracing::info!(keys = rekeyed, "API key hashes are now keyed with the server's secret");
        }
        let snapshot = store.load().await?;
        let registry = Arc::new(Registry::load(Arc::new(catalog), config.regions.clone(), snapshot)?);
        let jobs = store.jobs().await?.into_iter().map(|j| (j.id, j)).collect();
        let embedder = match config.mining.embedder.clone() {
            Some(dir) => {
                let loaded = tokio::task::spawn_blocking(move || datapact_embedding::BertEmbedder::load(&dir))
                    .await
                    .map_err(|e| StartError::Embedder(datapact_embedding::EmbeddingError::Run(e.to_string())))??;
                Some(Arc::new(loaded) as Arc<dyn datapact_mining::embed::Embedder>)
            }
            None => None,
        };
        vault.set_key_observer(Arc::new(crate::audit::KeyAudit {
            log: Arc::downgrade(&audit_log),
            registry: Arc::downgrade(&registry),
        }));
        Ok(Self {
            registry,
            store,
            config,
            vault,
            audit_log,
            jobs: std::sync::Mutex::new(jobs),
            purges: tokio::sync::Mutex::new(()),
            wake: tokio::sync::Notify::new(),
            writes: tokio::sync::Mutex::new(()),
            lock: std::sync::Mutex::new(None),
            node: crate::cluster::node_name(),
            mining: Default::default(),
            embedder,
            cluster: None,
        })
    }

    /// Whether other nodes share this node's storage.
    pub fn shared(&self) -> bool {
        self.cluster.is_some()
    }

    /// On a shared database, reloads jobs from it (other nodes create and advance them); the
    /// stored copy wins.
    pub async fn refresh_jobs(&self) -> Result<(), ApiError> {
        if !self.shared() {
            return Ok(());
        }
        let stored = self.store.jobs().await.map_err(ApiError::storage)?;
        if let Ok(mut jobs) = self.jobs.lock() {
            for j in stored {
                jobs.insert(j.id, j);
            }
        }
        Ok(())
    }

    /// Creates the first platform_admin key when none exists.
    pub async fn bootstrap(&self, env_key: Option<&str>) -> Result<Bootstrap, StartError> {
        // Nodes starting together on an empty database: one creates the key, the others see it.
        let _lease = match &self.cluster {
            None => None,
            Some(cluster) => {
                let patience = std::time::Duration::from_secs(30);
                let lease = self
                    .lease("datapact.bootstrap", patience, patience)
                    .await
                    .map_err(|e| StartError::Worker(e.detail))?;
                cluster.caught_up(patience).await?;
                Some(lease)
            }
        };
        if self.registry.has_keys() {
            return Ok(Bootstrap::Existing {
                env_key_ignored: env_key.is_some_and(|k| !k.trim().is_empty()),
            });
        }
        let (secret, generated) = match env_key.map(str::trim).filter(|k| !k.is_empty()) {
            Some(k) if k.len() < api_key::MIN_KEY_LEN => {
                return Err(StartError::AdminKeyTooShort {
                    min: api_key::MIN_KEY_LEN,
                });
            }
            Some(k) => (k.to_string(), false),
            None => (
                api_key::generate_secret().map_err(|e| StartError::Random(e.to_string()))?,
                true,
            ),
        };
        let key = ApiKey {
            id: KeyId::generate(),
            hash: self.key_hash(&secret),
            role: Role::PlatformAdmin,
            org: None,
            tenant: None,
            product: None,
            label: Some("bootstrap".into()),
            created_by: None,
            created_at: now(),
            revoked_at: None,
        };
        let ev = crate::audit::Ev::system(datapact_audit::Action::ApiKeyCreate)
            .resource(datapact_audit::Resource::ApiKey(key.id));
        self.audit_log.append(ev.0).await?;
        self.store.put_key(&key).await?;
        let id = key.id;
        self.registry.put_key(key);
        Ok(if generated {
            Bootstrap::Generated { id, secret }
        } else {
            Bootstrap::FromEnv { id }
        })
    }

    /// Keeps the data directory's lock for as long as this state lives.
    pub fn hold_lock(&self, file: std::fs::File) {
        if let Ok(mut l) = self.lock.lock() {
            *l = Some(file);
        }
    }

    /// Takes the write lock: hold it across read, store and apply of one change. On a shared
    /// database it is the deployment's (a lease), and this node's registry has applied every
    /// change committed before it was taken, so what is read is current.
    pub async fn write_lock(&self) -> Result<WriteGuard<'_>, ApiError> {
        let local = self.writes.lock().await;
        let lease = match &self.cluster {
            None => None,
            Some(cluster) => {
                let lease = self
                    .lease("datapact.writes", WRITE_LEASE_TTL, WRITE_LEASE_PATIENCE)
                    .await?;
                if !cluster
                    .caught_up(WRITE_LEASE_PATIENCE)
                    .await
                    .map_err(ApiError::storage)?
                {
                    return Err(ApiError::storage("this node is behind the change feed"));
                }
                Some(lease)
            }
        };
        Ok(WriteGuard {
            _local: local,
            _lease: lease,
        })
    }

    /// Takes a deployment-wide lease for this node (see [`crate::cluster::lease`]); 503 if the
    /// database fails or another node keeps it longer than `patience`.
    pub async fn lease(
        &self,
        name: &str,
        ttl: std::time::Duration,
        patience: std::time::Duration,
    ) -> Result<crate::cluster::LeaseGuard, ApiError> {
        crate::cluster::lease(&self.store, name, &self.node, ttl, patience)
            .await
            .map_err(|e| match e {
                crate::cluster::LeaseError::Busy(_) => ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "another node is making a conflicting change; retry",
                ),
                crate::cluster::LeaseError::Store(e) => ApiError::storage(e),
            })
    }
}

/// How long the deployment's write lease lives without renewal (a dead holder's is taken over
/// after this), and how long a change waits for it.
const WRITE_LEASE_TTL: std::time::Duration = std::time::Duration::from_secs(10);
const WRITE_LEASE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

/// The write lock: this process's, and on a shared database the deployment's lease.
pub struct WriteGuard<'a> {
    // Fields drop in order: the lease is let go (its release sent) before the next local
    // writer can take the mutex and ask for it.
    _lease: Option<crate::cluster::LeaseGuard>,
    _local: tokio::sync::MutexGuard<'a, ()>,
}

pub use crate::clock::now;

/// Audit on the request path: the state's own appends.
pub(crate) fn audit_unavailable(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "audit append failed; the operation is refused");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "audit_unavailable",
        "the audit log cannot record this operation right now, so it was not performed; retry later",
    )
}

impl AppState {
    /// Appends an entry durably; the caller goes on only if it is stored.
    pub async fn audit(&self, ev: Ev) -> Result<Entry, ApiError> {
        self.audit_now(ev).await
    }

    /// Queues an entry at once; the returned future says whether it was stored (see
    /// [`datapact_audit::AuditLog::submit`]).
    pub fn audit_now(&self, ev: Ev) -> impl Future<Output = Result<Entry, ApiError>> + Send + 'static {
        let appended = self.audit_log.submit(ev.0);
        async move { appended.await.map_err(audit_unavailable) }
    }

    /// Appends the entry, then runs `op`; if `op` fails, a second entry records the failure
    /// (best effort: the first one already says the operation was attempted).
    pub async fn audited<T>(&self, ev: Ev, op: impl Future<Output = Result<T, ApiError>>) -> Result<T, ApiError> {
        self.audit(ev.clone()).await?;
        match op.await {
            Ok(v) => Ok(v),
            Err(e) => {
                let failed = ev.outcome(Outcome::Error);
                if let Err(ae) = self.audit_log.append(failed.0).await {
                    tracing::error!(error = %ae, "cannot record that an audited operation failed");
                }
                Err(e)
            }
        }
    }
}
