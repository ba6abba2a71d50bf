//! The log: entries and perfect subtree hashes in SQLite, appended by one writer thread that
//! commits many concurrent appends in one durable transaction (group commit), and signed
//! checkpoints.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::entry::{Entry, Event};
use crate::merkle::{self, Frontier, Hash, NodeSource};

/// Why an audit operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The database failed.
    #[error("audit database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// The writer thread is gone.
    #[error("the audit writer has stopped")]
    WriterGone,
    /// Stored data is malformed.
    #[error("audit log is corrupt: {0}")]
    Corrupt(String),
    /// A request asked for something outside the tree.
    #[error("{0}")]
    OutOfRange(String),
    /// PostgreSQL answered with an error.
    #[error("audit database error: {0}")]
    Postgres(String),
    /// The database cannot be reached (refused, reset, closed): retry later.
    #[error("the audit database is unavailable: {0}")]
    Unavailable(String),
    /// The database connection string or pool configuration is wrong.
    #[error("audit database configuration: {0}")]
    Config(String),
    /// The database was migrated by a newer datapact.
    #[error("the audit log's database was written by a newer datapact (schema {found}; this one knows {known})")]
    SchemaTooNew {
        /// The schema version found.
        found: usize,
        /// The newest this binary knows.
        known: usize,
    },
}

/// Signs checkpoints (the server's Ed25519 key).
pub trait CheckpointSigner: Send + Sync {
    /// Signs a message.
    fn sign(&self, msg: &[u8]) -> [u8; 64];
    /// The Ed25519 public key.
    fn public_key(&self) -> [u8; 32];
    /// A short key identifier.
    fn key_id(&self) -> String;
}

/// An Ed25519 key held in memory signs checkpoints itself; its key id is datapact's usual
/// `ed25519:` and the first 8 bytes of the public key's SHA-256, in hex. (The server signs with
/// the vault's sealed key instead.)
impl CheckpointSigner for ed25519_dalek::SigningKey {
    fn sign(&self, msg: &[u8]) -> [u8; 64] {
        ed25519_dalek::Signer::sign(self, msg).to_bytes()
    }
    fn public_key(&self) -> [u8; 32] {
        self.verifying_key().to_bytes()
    }
    fn key_id(&self) -> String {
        use sha2::Digest;
        let h = sha2::Sha256::digest(self.verifying_key().as_bytes());
        let hex: String = h[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("ed25519:{hex}")
    }
}

/// A signed statement of the log's size and root at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Number of entries.
    pub tree_size: u64,
    /// RFC 6962 root hash, base64.
    pub root_hash: String,
    /// When it was signed (RFC 3339).
    pub timestamp: String,
    /// Ed25519 signature over [`Checkpoint::signed_bytes`], base64.
    pub signature: String,
    /// Signer key id.
    pub key_id: String,
    /// Signer public key, base64.
    pub public_key: String,
    /// The same checkpoint as a C2SP signed note.
    pub note: String,
}

impl Checkpoint {
    /// The bytes the `signature` covers: the body of the signed note.
    pub fn signed_bytes(origin: &str, tree_size: u64, root_b64: &str, timestamp: &str) -> Vec<u8> {
        format!("{origin}\n{tree_size}\n{root_b64}\ntime {timestamp}\n").into_bytes()
    }
}

/// The C2SP signed-note key hash for an Ed25519 key: first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key).
pub fn note_key_hash(name: &str, public_key: &[u8; 32]) -> [u8; 4] {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(name.as_bytes());
    h.update([0x0a, 0x01]);
    h.update(public_key);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// The storage layout's version, kept in `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS entries (
    idx INTEGER PRIMARY KEY,
    time INTEGER NOT NULL,
    org TEXT,
    tenant TEXT,
    product TEXT,
    action TEXT NOT NULL,
    purpose TEXT,
    outcome TEXT NOT NULL,
    leaf BLOB NOT NULL,
    hash BLOB NOT NULL
) STRICT;
-- Time grows with the index, so this index is appended to, never scattered.
CREATE INDEX IF NOT EXISTS entries_by_time ON entries(time);

-- Perfect subtree hashes of level 1 and up (leaf hashes are entries.hash).
CREATE TABLE IF NOT EXISTS nodes (
    id INTEGER PRIMARY KEY,
    hash BLOB NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS checkpoints (
    tree_size INTEGER PRIMARY KEY,
    checkpoint TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
"#;

/// Entries per index bucket (2^16). Index rows lead with the bucket, so a pass writes only
/// into the current bucket's pages, however many organizations and tenants it meets.
#[cfg(not(test))]
const BUCKET_BITS: u32 = 16;
/// Small buckets in unit tests, so that a few hundred entries span many.
#[cfg(test)]
const BUCKET_BITS: u32 = 4;

/// Who an entry concerns, indexed off the append path by the maintainer thread up to
/// `ix.meta.indexed_upto`; queries read the index below it and scan the short tail above it.
/// It lives in a database of its own, attached as `ix`, so its scattered writes never take
/// the log's write lock; it holds nothing that cannot be rebuilt from the entries.
const INDEX_SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS ix.org_index (
    bucket INTEGER NOT NULL,
    org TEXT NOT NULL,
    idx INTEGER NOT NULL,
    PRIMARY KEY (bucket, org, idx)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ix.tenant_index (
    bucket INTEGER NOT NULL,
    tenant TEXT NOT NULL,
    idx INTEGER NOT NULL,
    PRIMARY KEY (bucket, tenant, idx)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ix.meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
"#;

/// The index database beside a log: `audit.db` → `audit-index.db`.
pub fn index_path(log: &Path) -> PathBuf {
    let stem = log.file_stem().and_then(|s| s.to_str()).unwrap_or("audit");
    log.with_file_name(format!("{stem}-index.db"))
}

/// A connection to the log with its index database attached as `ix`.
fn open_with_index(path: &Path) -> Result<Connection, AuditError> {
    let c = open_conn(path)?;
    let ix = index_path(path);
    c.execute("ATTACH DATABASE ?1 AS ix", [ix.to_string_lossy()])?;
    c.pragma_update(Some("ix"), "journal_mode", "WAL")?;
    // Lost index writes are rebuilt from the entries: no fsync per pass is needed.
    c.pragma_update(Some("ix"), "synchronous", "NORMAL")?;
    c.execute_batch(INDEX_SCHEMA)?;
    Ok(c)
}

/// The origin line a log was created with, if the database records one.
pub fn stored_origin(conn: &Connection) -> Result<Option<String>, rusqlite::Error> {
    let has_meta: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta')",
        [],
        |r| r.get(0),
    )?;
    if !has_meta {
        return Ok(None);
    }
    conn.query_row("SELECT value FROM meta WHERE key = 'origin'", [], |r| r.get(0))
        .optional()
}

/// Node key: the last leaf the node covers, times 64, plus its level. Nodes complete in that
/// order as leaves are appended, so node rows are appended too (one B-tree edge per commit,
/// not one per level). Trees up to 2^56 entries.
pub(crate) fn node_id(level: u32, index: u64) -> i64 {
    let last_leaf = ((index + 1) << level) - 1;
    (last_leaf as i64) * 64 + level as i64
}

fn micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1000) as i64
}

fn open_conn(path: &Path) -> Result<Connection, AuditError> {
    let c = Connection::open(path)?;
    c.pragma_update(None, "journal_mode", "WAL")?;
    c.pragma_update(None, "synchronous", "FULL")?;
    c.busy_timeout(std::time::Duration::from_secs(10))?;
    // The right edge of the tree and the index pages being appended to stay cached.
    c.pragma_update(None, "cache_size", -65_536)?;
    // A WAL that grew while a long read held it back is cut back when it next starts over.
    c.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    Ok(c)
}

struct ConnNodes<'a>(&'a Connection);

impl NodeSource for ConnNodes<'_> {
    type Error = AuditError;
    fn perfect(&self, level: u32, index: u64) -> Result<Hash, AuditError> {
        let v: Option<Vec<u8>> = if level == 0 {
            let mut stmt = self.0.prepare_cached("SELECT hash FROM entries WHERE idx = ?1")?;
            stmt.query_row([index as i64], |r| r.get(0)).optional()?
        } else {
            let mut stmt = self.0.prepare_cached("SELECT hash FROM nodes WHERE id = ?1")?;
            stmt.query_row([node_id(level, index)], |r| r.get(0)).optional()?
        };
        v.and_then(|b| b.try_into().ok())
            .ok_or_else(|| AuditError::Corrupt(format!("missing tree node {level}/{index}")))
    }
}

type Reply = tokio::sync::oneshot::Sender<Result<Entry, AuditError>>;

/// The audit log.
pub struct SqliteAuditLog {
    path: PathBuf,
    origin: String,
    queue: Mutex<Option<mpsc::Sender<(Event, Reply)>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    size: Arc<AtomicU64>,
    reader: Mutex<Vec<Connection>>,
    signer: Arc<dyn CheckpointSigner>,
    latest: Mutex<Option<Checkpoint>>,
    /// When the newest checkpoint was signed here; held while one is signed, so two callers
    /// never sign at once and checkpoints are signed at most once per `min_gap`.
    signed_at: Mutex<Option<std::time::Instant>>,
    /// The least time between two signed checkpoints, in milliseconds.
    min_gap_ms: AtomicU64,
}

/// Signs a checkpoint of `size` entries with root `root` at `timestamp`.
pub(crate) fn sign(
    signer: &dyn CheckpointSigner,
    origin: &str,
    size: u64,
    root: &Hash,
    timestamp: String,
) -> Checkpoint {
    let root_b64 = B64.encode(root);
    let body = Checkpoint::signed_bytes(origin, size, &root_b64, &timestamp);
    let sig = signer.sign(&body);
    let pk = signer.public_key();
    let mut key_sig = note_key_hash(origin, &pk).to_vec();
    key_sig.extend_from_slice(&sig);
    let note = format!(
        "{}\n\u{2014} {} {}\n",
        String::from_utf8_lossy(&body),
        origin,
        B64.encode(key_sig)
    );
    Checkpoint {
        tree_size: size,
        root_hash: root_b64,
        timestamp,
        signature: B64.encode(sig),
        key_id: signer.key_id(),
        public_key: B64.encode(pk),
        note,
    }
}

/// The least time between two checkpoints signed on request, unless set otherwise
/// ([`SqliteAuditLog::set_min_checkpoint_gap`]): however often they are asked for, the table of
/// checkpoints grows by at most one row per gap.
pub const MIN_CHECKPOINT_GAP: std::time::Duration = std::time::Duration::from_secs(1);

pub(crate) fn gap_ms(gap: std::time::Duration) -> u64 {
    u64::try_from(gap.as_millis()).unwrap_or(u64::MAX)
}

/// One page of entries.
#[derive(Debug, Clone, Serialize)]
pub struct StoredEntry {
    /// Position.
    pub index: u64,
    /// The exact leaf bytes, base64.
    pub leaf: String,
    /// The entry, parsed.
    pub entry: Entry,
}

/// Filters for [`SqliteAuditLog::query`].
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Only this organization.
    pub org: Option<String>,
    /// The organization's tenants (every one it has had), with `org` and no `tenant`: the
    /// PostgreSQL log finds an organization's entries through its tenants' index and an index of
    /// its own tenant-less entries. Without it an organization's query scans in index order.
    pub org_tenants: Option<Vec<String>>,
    /// Only this tenant.
    pub tenant: Option<String>,
    /// Only this product.
    pub product: Option<String>,
    /// Only this action (wire name).
    pub action: Option<String>,
    /// Only this purpose (wire name).
    pub purpose: Option<String>,
    /// Only this outcome (wire name).
    pub outcome: Option<String>,
    /// At or after.
    pub since: Option<OffsetDateTime>,
    /// Before.
    pub until: Option<OffsetDateTime>,
    /// Entries with an index above this.
    pub after: Option<u64>,
    /// Page size.
    pub limit: usize,
}

impl SqliteAuditLog {
    /// Opens (creating) the log at `path` and starts its writer thread.
    pub fn open(path: &Path, origin: &str, signer: Arc<dyn CheckpointSigner>) -> Result<Self, AuditError> {
        let conn = open_conn(path)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(AuditError::Corrupt(format!(
                "{} was written by a newer datapact (schema {version}; this one knows {SCHEMA_VERSION})",
                path.display()
            )));
        }
        conn.execute_batch(SCHEMA)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        // The origin is part of every signed checkpoint: the first one a log was created with
        // stays, so checkpoints signed before a configuration change still verify.
        let origin = match stored_origin(&conn)? {
            Some(o) => {
                if o != origin {
                    tracing::warn!(stored = %o, configured = %origin, "the audit log keeps the origin it was created with");
                }
                o
            }
            None => {
                conn.execute("INSERT INTO meta (key, value) VALUES ('origin', ?1)", [origin])?;
                origin.to_string()
            }
        };
        let latest: Option<Checkpoint> = conn
            .query_row(
                "SELECT checkpoint FROM checkpoints ORDER BY tree_size DESC LIMIT 1",
                [],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .map(|j| serde_json::from_str(&j))
            .transpose()
            .map_err(|e| AuditError::Corrupt(format!("stored checkpoint does not parse: {e}")))?;
        let size: u64 = conn.query_row("SELECT COALESCE(MAX(idx) + 1, 0) FROM entries", [], |r| {
            r.get::<_, i64>(0)
        })? as u64;
        let frontier = Frontier::load(&ConnNodes(&conn), size)?;
        // The index database exists once this returns (not first when a thread gets to it),
        // so whoever opened the log can see, and secure, every file it uses.
        drop(open_with_index(path)?);
        let size_shared = Arc::new(AtomicU64::new(size));
        let (tx, rx) = mpsc::channel::<(Event, Reply)>();
        let sz = Arc::clone(&size_shared);
        // Dropped when the writer stops: tells the maintainer to finish.
        let (alive, writer_gone) = mpsc::sync_channel::<()>(1);
        let sz_maint = Arc::clone(&size_shared);
        let cp_path = path.to_path_buf();
        let backfilled = Arc::new(AtomicBool::new(false));
        let backfilled_maint = Arc::clone(&backfilled);
        let checkpoints = std::thread::Builder::new()
            .name("audit-maintainer".into())
            .spawn(move || maintainer(cp_path, writer_gone, sz_maint, backfilled_maint));
        let checkpoints = match checkpoints {
            Ok(h) => {
                // The writer leaves WAL checkpoints to that thread.
                conn.pragma_update(None, "wal_autocheckpoint", 0)?;
                Some(h)
            }
            Err(e) => {
                tracing::warn!(error = %e, "no audit maintainer thread; the writer checkpoints itself and queries scan");
                None
            }
        };
        let writer = std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || {
                writer_loop(conn, frontier, rx, sz, &backfilled);
                drop(alive);
                if let Some(h) = checkpoints {
                    let _ = h.join();
                }
            })
            .map_err(|e| AuditError::Corrupt(format!("cannot start the audit writer: {e}")))?;
        Ok(Self {
            path: path.to_path_buf(),
            origin,
            queue: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            size: size_shared,
            reader: Mutex::new(Vec::new()),
            signer,
            latest: Mutex::new(latest),
            signed_at: Mutex::new(None),
            min_gap_ms: AtomicU64::new(gap_ms(MIN_CHECKPOINT_GAP)),
        })
    }

    /// The checkpoint origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Sets the least time between two checkpoints signed on request (default
    /// [`MIN_CHECKPOINT_GAP`]).
    pub fn set_min_checkpoint_gap(&self, gap: std::time::Duration) {
        self.min_gap_ms.store(gap_ms(gap), Ordering::Relaxed);
    }

    /// Appends an event; resolves once it is durable, with its position.
    pub async fn append(&self, event: Event) -> Result<Entry, AuditError> {
        self.submit(event).await
    }

    /// Queues an event for the writer now, before the returned future is first polled, so
    /// the caller can do other work while it is committed; the future resolves once the entry
    /// is durable.
    pub fn submit(&self, event: Event) -> impl Future<Output = Result<Entry, AuditError>> + Send + 'static {
        let queued = self.enqueue(event);
        async move { queued?.await.map_err(|_| AuditError::WriterGone)? }
    }

    /// Appends from a thread that is not async.
    pub fn append_blocking(&self, event: Event) -> Result<Entry, AuditError> {
        self.enqueue(event)?
            .blocking_recv()
            .map_err(|_| AuditError::WriterGone)?
    }

    /// Hands `event` to the writer; the receiver gets its entry once it is durable.
    fn enqueue(&self, event: Event) -> Result<tokio::sync::oneshot::Receiver<Result<Entry, AuditError>>, AuditError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let q = self.queue.lock().map_err(|_| AuditError::WriterGone)?;
        q.as_ref()
            .ok_or(AuditError::WriterGone)?
            .send((event, tx))
            .map_err(|_| AuditError::WriterGone)?;
        Ok(rx)
    }

    /// Number of durable entries.
    pub fn size(&self) -> u64 {
        self.size.load(Ordering::SeqCst)
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T, AuditError>) -> Result<T, AuditError> {
        let conn = self.reader.lock().map_err(|_| AuditError::WriterGone)?.pop();
        let conn = match conn {
            Some(c) => c,
            None => open_with_index(&self.path)?,
        };
        let out = f(&conn);
        if let Ok(mut pool) = self.reader.lock()
            && pool.len() < 8
        {
            pool.push(conn);
        }
        out
    }

    /// The newest signed checkpoint, if any was signed.
    pub fn latest_checkpoint(&self) -> Option<Checkpoint> {
        self.latest.lock().ok().and_then(|l| l.clone())
    }

    /// A signed checkpoint of the current tree: the newest one if the tree has not grown since,
    /// else a new one, which is kept.
    ///
    /// A new one is signed at most once per gap ([`SqliteAuditLog::set_min_checkpoint_gap`]); asked for sooner, the
    /// newest is returned (a caller may see a checkpoint up to that gap behind the log).
    pub fn checkpoint(&self) -> Result<Checkpoint, AuditError> {
        let mut signed_at = self
            .signed_at
            .lock()
            .map_err(|_| AuditError::Corrupt("checkpoint lock poisoned".into()))?;
        let size = self.size();
        if let Some(cp) = self.latest_checkpoint()
            && (cp.tree_size == size
                || signed_at.is_some_and(|t| {
                    t.elapsed() < std::time::Duration::from_millis(self.min_gap_ms.load(Ordering::Relaxed))
                }))
        {
            return Ok(cp);
        }
        *signed_at = Some(std::time::Instant::now());
        let root = self.read(|c| merkle::root(&ConnNodes(c), size))?;
        let timestamp = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap_or_else(|_| OffsetDateTime::now_utc())
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let cp = sign(&*self.signer, &self.origin, size, &root, timestamp);
        let json = serde_json::to_string(&cp).map_err(|e| AuditError::Corrupt(e.to_string()))?;
        self.read(|c| {
            c.execute(
                "INSERT OR REPLACE INTO checkpoints (tree_size, checkpoint) VALUES (?1, ?2)",
                params![size as i64, json],
            )?;
            Ok(())
        })?;
        if let Ok(mut l) = self.latest.lock()
            && l.as_ref().is_none_or(|old| old.tree_size <= cp.tree_size)
        {
            *l = Some(cp.clone());
        }
        Ok(cp)
    }

    /// Stored checkpoints with a tree size above `after`, oldest first, at most `limit`.
    pub fn checkpoints(&self, after: Option<u64>, limit: usize) -> Result<Vec<Checkpoint>, AuditError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT checkpoint FROM checkpoints WHERE tree_size > ?1 ORDER BY tree_size LIMIT ?2",
            )?;
            let rows = stmt.query_map(
                params![after.map_or(-1, |a| a as i64), limit.clamp(1, 10_000) as i64],
                |r| r.get::<_, String>(0),
            )?;
            let mut out = Vec::new();
            for json in rows {
                out.push(
                    serde_json::from_str(&json?)
                        .map_err(|e| AuditError::Corrupt(format!("stored checkpoint does not parse: {e}")))?,
                );
            }
            Ok(out)
        })
    }

    /// One entry by position.
    pub fn entry(&self, index: u64) -> Result<Option<StoredEntry>, AuditError> {
        let mut page = self.query(&Query {
            after: index.checked_sub(1),
            limit: 1,
            ..Default::default()
        })?;
        Ok(page.pop().filter(|e| e.index == index))
    }

    /// The inclusion proof of entry `index` in the tree of `tree_size` entries.
    pub fn inclusion_proof(&self, index: u64, tree_size: u64) -> Result<Vec<Hash>, AuditError> {
        if tree_size > self.size() || index >= tree_size {
            return Err(AuditError::OutOfRange(format!(
                "index {index} is not in a tree of {tree_size} entries (the log has {})",
                self.size()
            )));
        }
        self.read(|c| merkle::inclusion_proof(&ConnNodes(c), index, tree_size))
    }

    /// The consistency proof between two tree sizes.
    pub fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>, AuditError> {
        if from > to || to > self.size() {
            return Err(AuditError::OutOfRange(format!(
                "need from ≤ to ≤ {} (got {from}, {to})",
                self.size()
            )));
        }
        self.read(|c| merkle::consistency_proof(&ConnNodes(c), from, to))
    }

    /// The root of the tree of `size` entries.
    pub fn root(&self, size: u64) -> Result<Hash, AuditError> {
        if size > self.size() {
            return Err(AuditError::OutOfRange(format!("the log has {} entries", self.size())));
        }
        self.read(|c| merkle::root(&ConnNodes(c), size))
    }

    /// Entries matching `q`, in index order.
    pub fn query(&self, q: &Query) -> Result<Vec<StoredEntry>, AuditError> {
        let limit = q.limit.clamp(1, 100_000);
        self.read(|c| {
            // One snapshot for the index watermark and both halves of the answer.
            let tx = c.unchecked_transaction()?;
            let upto = indexed_upto(&tx)?;
            // An index past what SQLite can hold cannot have entries after it.
            let Some(mut lower) = q.after.map_or(Some(0), |a| i64::try_from(a).ok()?.checked_add(1)) else {
                return Ok(Vec::new());
            };
            if let Some(t) = q.since {
                let first: Option<i64> =
                    tx.query_row("SELECT MIN(idx) FROM entries WHERE time >= ?1", [micros(t)], |r| {
                        r.get(0)
                    })?;
                match first {
                    Some(f) => lower = lower.max(f),
                    None => return Ok(Vec::new()),
                }
            }
            // The most selective scope goes through its index; the rest filter rows.
            let scope = match (&q.tenant, &q.org) {
                (Some(t), _) => Some(("ix.tenant_index", "tenant", t.as_str())),
                (None, Some(o)) => Some(("ix.org_index", "org", o.as_str())),
                (None, None) => None,
            };
            let mut filters = String::new();
            let mut args: Vec<rusqlite::types::Value> = Vec::new();
            for (col, v) in [
                ("org", &q.org),
                ("tenant", &q.tenant),
                ("product", &q.product),
                ("action", &q.action),
                ("purpose", &q.purpose),
                ("outcome", &q.outcome),
            ] {
                if let Some(v) = v
                    && scope.is_none_or(|(_, sc, _)| sc != col)
                {
                    args.push(v.clone().into());
                    filters.push_str(&format!(" AND e.{col} = ?{}", args.len() + 3));
                }
            }
            for (op, t) in [(">=", q.since), ("<", q.until)] {
                if let Some(t) = t {
                    args.push(micros(t).into());
                    filters.push_str(&format!(" AND e.time {op} ?{}", args.len() + 3));
                }
            }
            let run = |sql: &str, key: &str, from: i64, until: i64, n: usize| -> Result<Vec<StoredEntry>, AuditError> {
                let mut stmt = tx.prepare_cached(sql)?;
                let head: [rusqlite::types::Value; 3] = [key.to_string().into(), from.into(), until.into()];
                let n: rusqlite::types::Value = (n as i64).into();
                let all = head.iter().chain(args.iter()).chain(std::iter::once(&n));
                let mut rows = stmt.query(rusqlite::params_from_iter(all))?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    let idx = r.get::<_, i64>(0)? as u64;
                    let stored: Vec<u8> = r.get(1)?;
                    let leaf =
                        crate::codec::unpack(&stored).map_err(|e| AuditError::Corrupt(format!("entry {idx}: {e}")))?;
                    let entry: Entry = serde_json::from_slice(&leaf)
                        .map_err(|e| AuditError::Corrupt(format!("entry {idx} does not parse: {e}")))?;
                    out.push(StoredEntry {
                        index: idx,
                        leaf: B64.encode(&leaf),
                        entry,
                    });
                }
                Ok(out)
            };
            let lim = args.len() + 4;
            match scope {
                Some((table, col, key)) => {
                    // Bucket by bucket (each call stays inside one: from and until share it).
                    let sql = format!(
                        "SELECT e.idx, e.leaf FROM {table} s JOIN entries e ON e.idx = s.idx
                         WHERE s.bucket = (?2 >> {BUCKET_BITS}) AND s.{col} = ?1 AND s.idx >= ?2 AND s.idx < ?3{filters}
                         ORDER BY s.idx LIMIT ?{lim}"
                    );
                    let mut out = Vec::new();
                    let mut from = lower;
                    while from < upto && out.len() < limit {
                        let bucket_end = ((from >> BUCKET_BITS) + 1) << BUCKET_BITS;
                        let until = upto.min(bucket_end);
                        out.extend(run(&sql, key, from, until, limit - out.len())?);
                        from = until;
                    }
                    let left = limit - out.len();
                    if left > 0 {
                        out.extend(run(
                            &format!(
                                "SELECT e.idx, e.leaf FROM entries e
                                 WHERE e.{col} = ?1 AND e.idx >= ?2 AND e.idx < ?3{filters} ORDER BY e.idx LIMIT ?{lim}"
                            ),
                            key,
                            lower.max(upto),
                            i64::MAX,
                            left,
                        )?);
                    }
                    Ok(out)
                }
                None => run(
                    &format!(
                        "SELECT e.idx, e.leaf FROM entries e
                         WHERE ?1 = ?1 AND e.idx >= ?2 AND e.idx < ?3{filters} ORDER BY e.idx LIMIT ?{lim}"
                    ),
                    "",
                    lower,
                    i64::MAX,
                    limit,
                ),
            }
        })
    }

    /// Brings the organization and tenant indexes up to date now (the maintainer thread does
    /// it every quarter second; queries are correct either way).
    pub fn index_now(&self) -> Result<u64, AuditError> {
        let mut conn = open_with_index(&self.path)?;
        Ok(index_pending(&mut conn)?)
    }

    /// Stops the writer after it has committed everything queued.
    pub fn close(&self) {
        if let Ok(mut q) = self.queue.lock() {
            q.take();
        }
        if let Ok(mut w) = self.writer.lock()
            && let Some(h) = w.take()
        {
            let _ = h.join();
        }
    }
}

impl Drop for SqliteAuditLog {
    fn drop(&mut self) {
        self.close();
    }
}

/// Unindexed entries after which an index pass runs without waiting for its period.
const INDEX_TAIL_MAX: u64 = 20_000;

/// Up to which index the organization and tenant indexes are complete.
fn indexed_upto(c: &Connection) -> Result<i64, rusqlite::Error> {
    Ok(
        c.query_row("SELECT value FROM ix.meta WHERE key = 'indexed_upto'", [], |r| {
            r.get::<_, String>(0)
        })
        .optional()?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0),
    )
}

/// Adds the entries appended since the last pass to the organization and tenant indexes, in one
/// transaction: a pass touches each organization's index page once, however many entries it
/// indexes, which is what keeps those indexes off the append path.
pub(crate) fn index_pending(c: &mut Connection) -> Result<u64, rusqlite::Error> {
    // Deferred, and its first statement writes the index database: that takes its lock (waiting
    // for another pass if need be) without ever locking the log, which is only read.
    let tx = c.transaction()?;
    tx.execute(
        "INSERT OR IGNORE INTO ix.meta (key, value) VALUES ('indexed_upto', '0')",
        [],
    )?;
    let from = indexed_upto(&tx)?;
    let to: i64 = tx.query_row("SELECT COALESCE(MAX(idx) + 1, 0) FROM main.entries", [], |r| r.get(0))?;
    if to <= from {
        return Ok(0);
    }
    for col in ["org", "tenant"] {
        tx.execute(
            &format!(
                "INSERT OR IGNORE INTO ix.{col}_index (bucket, {col}, idx)
                 SELECT idx >> {BUCKET_BITS}, {col}, idx FROM main.entries WHERE idx >= ?1 AND idx < ?2 AND {col} IS NOT NULL"
            ),
            params![from, to],
        )?;
    }
    tx.execute(
        "INSERT OR REPLACE INTO ix.meta (key, value) VALUES ('indexed_upto', ?1)",
        [to.to_string()],
    )?;
    tx.commit()?;
    Ok((to - from) as u64)
}

/// Background upkeep on its own connection: indexes new entries by organization and tenant,
/// and copies the WAL back into the database (PASSIVE: never blocks the writer or readers),
/// so the writer's commits stay short.
fn maintainer(path: PathBuf, writer_gone: mpsc::Receiver<()>, size: Arc<AtomicU64>, backfilled: Arc<AtomicBool>) {
    let mut conn = match open_with_index(&path) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "audit maintainer cannot open the log; entries stay unindexed");
            return;
        }
    };
    let tick = std::time::Duration::from_millis(250);
    // An index pass writes one page per organization and tenant it meets, so passes are
    // spaced to meet each many times; queries scan the unindexed tail, kept short by the cap.
    let index_every = std::time::Duration::from_secs(2);
    let mut last_index = std::time::Instant::now();
    let mut indexed_to = 0u64;
    loop {
        let stop = matches!(
            writer_gone.recv_timeout(tick),
            Err(mpsc::RecvTimeoutError::Disconnected)
        );
        let tail = size.load(Ordering::SeqCst).saturating_sub(indexed_to);
        if stop || (tail > 0 && (last_index.elapsed() >= index_every || tail >= INDEX_TAIL_MAX)) {
            match index_pending(&mut conn) {
                Ok(_) => indexed_to += tail,
                Err(e) => tracing::warn!(error = %e, "audit indexing failed; it is retried"),
            }
            last_index = std::time::Instant::now();
        }
        match conn.query_row("PRAGMA main.wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            Ok(()) => backfilled.store(true, Ordering::Release),
            Err(e) => tracing::warn!(error = %e, "audit WAL checkpoint failed; it is retried"),
        }
        if stop {
            return;
        }
    }
}

/// Commits queued appends in batches: one transaction, one fsync, many entries.
///
/// Under steady appends the maintainer's checkpoints never catch up with the writer, and
/// SQLite only rewinds the WAL when every frame in it is back in the database: the WAL would
/// grow without end, and every commit would grow the file, so each fsync would also write
/// the file system's metadata (about ten times slower here). So after each of the
/// maintainer's checkpoints the writer backfills the few frames it added meanwhile itself,
/// between two commits, and its next commit starts the WAL over.
fn writer_loop(
    mut conn: Connection,
    mut frontier: Frontier,
    rx: mpsc::Receiver<(Event, Reply)>,
    size: Arc<AtomicU64>,
    backfilled: &AtomicBool,
) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < 8192 {
            match rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        let before = frontier.clone();
        let result = commit(&mut conn, &mut frontier, &batch);
        match result {
            Ok(entries) => {
                size.store(frontier.size(), Ordering::SeqCst);
                for ((_, reply), entry) in batch.into_iter().zip(entries) {
                    let _ = reply.send(Ok(entry));
                }
                if backfilled.swap(false, Ordering::Acquire) {
                    // Busy (a reader or the maintainer in the way) is fine: next time.
                    let _ = conn.query_row("PRAGMA main.wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, entries = batch.len(), "audit append failed; the operations are refused");
                frontier = before;
                let msg = e.to_string();
                for (_, reply) in batch {
                    let _ = reply.send(Err(AuditError::Corrupt(msg.clone())));
                }
            }
        }
    }
}

fn commit(conn: &mut Connection, frontier: &mut Frontier, batch: &[(Event, Reply)]) -> Result<Vec<Entry>, AuditError> {
    let tx = conn.transaction()?;
    let mut entries = Vec::with_capacity(batch.len());
    {
        let mut ins = tx.prepare_cached(
            "INSERT INTO entries (idx, time, org, tenant, product, action, purpose, outcome, leaf, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?;
        let mut node = tx.prepare_cached("INSERT OR REPLACE INTO nodes (id, hash) VALUES (?1, ?2)")?;
        let now = OffsetDateTime::now_utc();
        for (event, _) in batch {
            let entry = Entry {
                index: frontier.size(),
                time: now,
                event: event.clone(),
            };
            let leaf = entry.leaf();
            let leaf_hash = merkle::leaf_hash(&leaf);
            ins.execute(params![
                entry.index as i64,
                micros(now),
                entry.event.org.map(|o| o.to_string()),
                entry.event.tenant.map(|t| t.to_string()),
                entry.event.product.as_ref().map(|p| p.as_str().to_string()),
                entry.event.action.as_str(),
                entry.event.purpose.map(|p| p.as_str()),
                entry.event.outcome.as_str(),
                crate::codec::pack(&leaf),
                leaf_hash.as_slice(),
            ])?;
            for (level, index, hash) in frontier.push(leaf_hash) {
                if level > 0 {
                    node.execute(params![node_id(level, index), hash.as_slice()])?;
                }
            }
            entries.push(entry);
        }
    }
    tx.commit()?;
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{Action, Actor, Outcome};
    use datapact_governance::{OrgId, TenantId};

    struct Key;
    impl CheckpointSigner for Key {
        fn sign(&self, _: &[u8]) -> [u8; 64] {
            [0; 64]
        }
        fn public_key(&self) -> [u8; 32] {
            [0; 32]
        }
        fn key_id(&self) -> String {
            "k".into()
        }
    }

    /// Steady appends do not grow the WAL without end: it starts over after the
    /// maintainer's checkpoints, so it ends far smaller than one page per commit (each commit
    /// writes at least two: the entry's and the time index's).
    #[test]
    fn the_wal_starts_over_under_steady_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let log = SqliteAuditLog::open(&path, "o", Arc::new(Key)).unwrap();
        let started = std::time::Instant::now();
        let mut commits = 0u64;
        // Several maintainer ticks (250 ms each), one entry per commit.
        while started.elapsed() < std::time::Duration::from_millis(1500) || commits < 200 {
            log.append_blocking(Event::new(Actor::system(), Action::Decision, Outcome::Allowed))
                .unwrap();
            commits += 1;
        }
        let wal = std::fs::metadata(dir.path().join("a.db-wal")).unwrap().len();
        assert!(
            wal < commits * 4096,
            "the WAL is {wal} bytes after {commits} commits: it never started over"
        );
    }

    /// Scoped queries page the same way across index buckets, whether the index has caught up
    /// or not, and agree with filtering every entry by hand.
    #[test]
    fn scoped_pages_cross_buckets_and_the_unindexed_tail() {
        let dir = tempfile::tempdir().unwrap();
        let log = SqliteAuditLog::open(&dir.path().join("a.db"), "o", Arc::new(Key)).unwrap();
        let orgs = [OrgId::generate(), OrgId::generate(), OrgId::generate()];
        let tenants = [TenantId::generate(), TenantId::generate()];
        for i in 0..300usize {
            let mut e = Event::new(Actor::system(), Action::Decision, Outcome::Allowed);
            // Uneven spread, with long gaps for some organizations.
            e.org = Some(
                orgs[if i % 7 == 0 {
                    0
                } else if i < 150 {
                    1
                } else {
                    2
                }],
            );
            e.tenant = (i % 3 == 0).then_some(tenants[i % 2]);
            log.append_blocking(e).unwrap();
        }
        let pages = |org: Option<OrgId>, tenant: Option<TenantId>| {
            let mut out = Vec::new();
            let mut after = None;
            loop {
                let page = log
                    .query(&Query {
                        org: org.map(|o| o.to_string()),
                        tenant: tenant.map(|t| t.to_string()),
                        after,
                        limit: 7,
                        ..Default::default()
                    })
                    .unwrap();
                let Some(last) = page.last() else { return out };
                after = Some(last.index);
                out.extend(page.iter().map(|e| e.index));
            }
        };
        let all = log
            .query(&Query {
                limit: 1000,
                ..Default::default()
            })
            .unwrap();
        let expect = |org: Option<OrgId>, tenant: Option<TenantId>| -> Vec<u64> {
            all.iter()
                .filter(|e| org.is_none_or(|o| e.entry.event.org == Some(o)))
                .filter(|e| tenant.is_none_or(|t| e.entry.event.tenant == Some(t)))
                .map(|e| e.index)
                .collect()
        };
        let cases = [
            (Some(orgs[0]), None),
            (Some(orgs[1]), None),
            (Some(orgs[2]), None),
            (None, Some(tenants[0])),
            (Some(orgs[0]), Some(tenants[1])),
        ];
        for (o, t) in cases {
            assert_eq!(pages(o, t), expect(o, t), "before indexing");
        }
        let conn = open_with_index(&log.path).unwrap();
        // Index part of the way, as a pass caught mid-stream would.
        conn.execute(
            "INSERT OR REPLACE INTO ix.meta (key, value) VALUES ('indexed_upto', '0')",
            [],
        )
        .unwrap();
        log.index_now().unwrap();
        for (o, t) in cases {
            assert_eq!(pages(o, t), expect(o, t), "after indexing");
        }
        conn.execute(
            "INSERT OR REPLACE INTO ix.meta (key, value) VALUES ('indexed_upto', '137')",
            [],
        )
        .unwrap();
        for (o, t) in cases {
            assert_eq!(pages(o, t), expect(o, t), "with the watermark inside a bucket");
        }
    }
}
