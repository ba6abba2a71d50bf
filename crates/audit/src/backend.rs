//! One audit log, whichever storage holds it: the embedded SQLite log of one process
//! ([`SqliteAuditLog`]) or the PostgreSQL log that every node of a deployment appends to
//! ([`PgAuditLog`]). Reads are async on both: the SQLite log's run on the blocking pool.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::entry::{Entry, Event};
use crate::log::{AuditError, Checkpoint, CheckpointSigner, Query, SqliteAuditLog, StoredEntry};
use crate::merkle::Hash;
use crate::postgres::PgAuditLog;

/// An append in flight: resolves once the entry is durable.
pub type Appending = Pin<Box<dyn Future<Output = Result<Entry, AuditError>> + Send + 'static>>;

/// The audit log of a server.
pub enum AuditLog {
    /// Embedded: one process, a SQLite file.
    Sqlite(Arc<SqliteAuditLog>),
    /// Shared by every node, in PostgreSQL.
    Postgres(PgAuditLog),
}

async fn blocking<T: Send + 'static>(
    log: &Arc<SqliteAuditLog>,
    f: impl FnOnce(&SqliteAuditLog) -> Result<T, AuditError> + Send + 'static,
) -> Result<T, AuditError> {
    let log = Arc::clone(log);
    tokio::task::spawn_blocking(move || f(&log))
        .await
        .map_err(|e| AuditError::Corrupt(format!("a read of the log stopped: {e}")))?
}

impl AuditLog {
    /// Opens (or creates) the embedded log at `path`.
    pub fn sqlite(path: &std::path::Path, origin: &str, signer: Arc<dyn CheckpointSigner>) -> Result<Self, AuditError> {
        Ok(Self::Sqlite(Arc::new(SqliteAuditLog::open(path, origin, signer)?)))
    }

    /// Connects to the deployment's log in PostgreSQL.
    pub async fn postgres(url: &str, origin: &str, signer: Arc<dyn CheckpointSigner>) -> Result<Self, AuditError> {
        Ok(Self::Postgres(PgAuditLog::connect(url, origin, signer).await?))
    }

    /// The checkpoint origin line.
    pub fn origin(&self) -> &str {
        match self {
            Self::Sqlite(l) => l.origin(),
            Self::Postgres(l) => l.origin(),
        }
    }

    /// Sets the least time between two checkpoints signed on request.
    pub fn set_min_checkpoint_gap(&self, gap: std::time::Duration) {
        match self {
            Self::Sqlite(l) => l.set_min_checkpoint_gap(gap),
            Self::Postgres(l) => l.set_min_checkpoint_gap(gap),
        }
    }

    /// Appends an event; resolves once it is durable, with its position.
    pub async fn append(&self, event: Event) -> Result<Entry, AuditError> {
        self.submit(event).await
    }

    /// Queues an event now, before the returned future is first polled; the future resolves
    /// once the entry is durable.
    pub fn submit(&self, event: Event) -> Appending {
        match self {
            Self::Sqlite(l) => Box::pin(l.submit(event)),
            Self::Postgres(l) => Box::pin(l.submit(event)),
        }
    }

    /// Appends from a thread that is not async (a blocking-pool thread of the runtime, for
    /// the PostgreSQL log).
    pub fn append_blocking(&self, event: Event) -> Result<Entry, AuditError> {
        match self {
            Self::Sqlite(l) => l.append_blocking(event),
            Self::Postgres(l) => {
                let handle = tokio::runtime::Handle::try_current()
                    .map_err(|_| AuditError::Unavailable("no runtime to append from".into()))?;
                handle.block_on(l.append(event))
            }
        }
    }

    /// The number of entries in the log now.
    pub async fn size(&self) -> Result<u64, AuditError> {
        match self {
            Self::Sqlite(l) => Ok(l.size()),
            Self::Postgres(l) => l.size().await,
        }
    }

    /// The newest signed checkpoint, if any.
    pub async fn latest_checkpoint(&self) -> Result<Option<Checkpoint>, AuditError> {
        match self {
            Self::Sqlite(l) => Ok(l.latest_checkpoint()),
            Self::Postgres(l) => l.latest_checkpoint().await,
        }
    }

    /// A signed checkpoint of the log now (the newest, if recent or the log has not grown).
    pub async fn checkpoint(&self) -> Result<Checkpoint, AuditError> {
        match self {
            Self::Sqlite(l) => blocking(l, |l| l.checkpoint()).await,
            Self::Postgres(l) => l.checkpoint().await,
        }
    }

    /// Signed checkpoints after tree size `after`, oldest first.
    pub async fn checkpoints(&self, after: Option<u64>, limit: usize) -> Result<Vec<Checkpoint>, AuditError> {
        match self {
            Self::Sqlite(l) => blocking(l, move |l| l.checkpoints(after, limit)).await,
            Self::Postgres(l) => l.checkpoints(after, limit).await,
        }
    }

    /// The entry at `index`.
    pub async fn entry(&self, index: u64) -> Result<Option<StoredEntry>, AuditError> {
        match self {
            Self::Sqlite(l) => blocking(l, move |l| l.entry(index)).await,
            Self::Postgres(l) => l.entry(index).await,
        }
    }

    /// The inclusion proof of `index` in the tree of `tree_size` entries.
    pub async fn inclusion_proof(&self, index: u64, tree_size: u64) -> Result<Vec<Hash>, AuditError> {
        match self {
            Self::Sqlite(l) => blocking(l, move |l| l.inclusion_proof(index, tree_size)).await,
            Self::Postgres(l) => l.inclusion_proof(index, tree_size).await,
        }
    }

    /// The consistency proof between tree sizes `from` and `to`.
    pub async fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>, AuditError> {
        match self {
            Self::Sqlite(l) => blocking(l, move |l| l.consistency_proof(from, to)).await,
            Self::Postgres(l) => l.consistency_proof(from, to).await,
        }
    }

    /// The root hash of the tree of `size` entries.
    pub async fn root(&self, size: u64) -> Result<Hash, AuditError> {
        match self {
            Self::Sqlite(l) => blocking(l, move |l| l.root(size)).await,
            Self::Postgres(l) => l.root(size).await,
        }
    }

    /// Entries matching `q`, oldest first.
    pub async fn query(&self, q: Query) -> Result<Vec<StoredEntry>, AuditError> {
        match self {
            Self::Sqlite(l) => blocking(l, move |l| l.query(&q)).await,
            Self::Postgres(l) => l.query(&q).await,
        }
    }

    /// Stops the writer once what is queued is durable.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(l) => {
                let l = Arc::clone(l);
                let _ = tokio::task::spawn_blocking(move || l.close()).await;
            }
            Self::Postgres(l) => l.close().await,
        }
    }
}
