//! The audit log on PostgreSQL, appended by every node of a deployment as one RFC 6962 log.
//!
//! Sequencing: the tree's head (its size, its right edge and the time of its newest entry) is
//! one row, `audit_head`. A node appends a batch in one transaction that locks that row
//! (`SELECT … FOR UPDATE`), gives the batch the next indexes, inserts the entries and the
//! perfect subtree hashes they complete, moves the head and commits. The row lock makes the
//! batches of all nodes one sequence, without gaps; PostgreSQL releases it when the holder
//! commits, aborts or dies (its connection gone), so no node can stop the others for longer
//! than its transaction. Each node groups the appends that arrive while its previous batch
//! commits into the next one, so one lock and one commit cover many entries.
//!
//! What an acknowledged append guarantees: [`PgAuditLog::append`] resolves after the commit,
//! so the entry is in the tree at its index, durable as PostgreSQL's commits are (with
//! `synchronous_commit` on, its default, flushed to the WAL; with synchronous replicas, on
//! them too), and every checkpoint signed afterwards by any node covers it. An append whose
//! commit fails is refused; if the connection broke during `COMMIT` itself the entry may still
//! be in the log (logged and refused, never acknowledged and lost).
//!
//! Time: entries take the database's clock (`clock_timestamp()`), never at less than the
//! newest entry's time, so time grows with the index whatever the nodes' clocks say, and a
//! node whose clock is off cannot reorder or backdate entries or checkpoints.
//!
//! Proofs: the Merkle functions ask for perfect subtree hashes one at a time; which ones depends
//! only on the sizes and indexes, not on the hashes. So a proof is computed twice: once against
//! a recorder that notes the hashes asked for, which are then read in one query, and once
//! against them.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use time::OffsetDateTime;
use tokio_postgres::NoTls;
use tokio_postgres::types::ToSql;

use crate::entry::{Entry, Event};
use crate::log::{AuditError, Checkpoint, CheckpointSigner, MIN_CHECKPOINT_GAP, Query, StoredEntry, gap_ms, sign};
use crate::merkle::{self, Frontier, Hash, NodeSource};
use crate::tiles::{TILE_WIDTH, Tiles, slot, tile_of};

/// Schema versions, applied in order; the version reached is kept in `datapact_audit_schema`.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE audit_head (
    id SMALLINT PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL,
    frontier BYTEA NOT NULL,
    last_time BIGINT NOT NULL
);
INSERT INTO audit_head (id, size, frontier, last_time) VALUES (1, 0, '\x0000000000000000', 0);
CREATE TABLE audit_entries (
    idx BIGINT PRIMARY KEY,
    time BIGINT NOT NULL,
    org TEXT,
    tenant TEXT,
    product TEXT,
    action TEXT NOT NULL,
    purpose TEXT,
    outcome TEXT NOT NULL,
    leaf BYTEA NOT NULL
);
-- Time grows with the index: a BRIN index (one summary per block range) finds where a time
-- starts at a fraction of a B-tree's cost per append.
CREATE INDEX audit_entries_time ON audit_entries USING brin (time);
CREATE INDEX audit_entries_org ON audit_entries (org, idx) WHERE org IS NOT NULL;
CREATE INDEX audit_entries_tenant ON audit_entries (tenant, idx) WHERE tenant IS NOT NULL;
-- The tree as tiles (crate::tiles): full tiles of 256 hashes of tree level 8·level, written
-- once and never changed; the tiles still growing at the right edge are the parts each batch
-- added (read back concatenated), folded into one full tile row when it fills.
CREATE TABLE audit_tiles (
    level SMALLINT NOT NULL,
    idx BIGINT NOT NULL,
    hashes BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);
CREATE TABLE audit_tile_parts (
    level SMALLINT NOT NULL,
    idx BIGINT NOT NULL,
    start INTEGER NOT NULL,
    hashes BYTEA NOT NULL,
    PRIMARY KEY (level, idx, start)
);
CREATE TABLE audit_checkpoints (
    tree_size BIGINT PRIMARY KEY,
    signed_at BIGINT NOT NULL,
    checkpoint TEXT NOT NULL
);
CREATE TABLE audit_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#,
    r#"
-- Ranges whose entries left the database (crate::archive): to a bundle file (location, its
-- SHA-256), or dropped under a retention rule (location NULL). Their tiles stay.
CREATE TABLE audit_archived (
    start BIGINT PRIMARY KEY,
    end_idx BIGINT NOT NULL,
    location TEXT,
    sha256 TEXT,
    archived_at BIGINT NOT NULL
);
"#,
    r#"
-- One scope index entry per appended entry, not two: an entry of a tenant is found through
-- the tenant index only; the organization index keeps only an organization's own (tenant-less)
-- entries, and an organization's query goes through its tenants too (the server knows them).
-- The new index is built before the old one is dropped, so reads wait only at the very end.
CREATE INDEX audit_entries_org_level ON audit_entries (org, idx) WHERE org IS NOT NULL AND tenant IS NULL;
DROP INDEX audit_entries_org;
"#,
];

/// The advisory lock under which one node migrates while the others wait ("dpaudit1").
const MIGRATION_LOCK: i64 = 0x6470_6175_6469_7431;
/// The advisory lock under which one node at a time signs a checkpoint ("dpaudsgn").
const SIGNING_LOCK: i64 = 0x6470_6175_6473_676e;
/// Entries committed in one transaction at most.
const MAX_BATCH: usize = 8192;
/// How long a read (a query, a proof) may run before it is cancelled.
const READ_TIMEOUT: &str = "10s";

type Reply = tokio::sync::oneshot::Sender<Result<Entry, AuditError>>;

fn pg(e: tokio_postgres::Error) -> AuditError {
    // No server answer at all (refused, reset, closed) is an outage, not a fault of the log.
    if e.as_db_error().is_none() && (e.is_closed() || std::error::Error::source(&e).is_some()) {
        AuditError::Unavailable(e.to_string())
    } else {
        // A server error's own message says what went wrong; the error's Display only says
        // "db error".
        match e.as_db_error() {
            Some(db) => AuditError::Postgres(format!("{} ({})", db.message(), db.code().code())),
            None => AuditError::Postgres(e.to_string()),
        }
    }
}

fn pool_error(e: deadpool_postgres::PoolError) -> AuditError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => pg(e),
        other => AuditError::Unavailable(other.to_string()),
    }
}

fn stored(v: u64) -> Result<i64, AuditError> {
    i64::try_from(v).map_err(|_| AuditError::OutOfRange(format!("{v} is past the end of any log")))
}

fn unstored(v: i64) -> Result<u64, AuditError> {
    u64::try_from(v).map_err(|_| AuditError::Corrupt(format!("a stored index or size is negative ({v})")))
}

fn from_micros(us: i64) -> Result<OffsetDateTime, AuditError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000)
        .map_err(|_| AuditError::Corrupt(format!("a stored time is out of range ({us} µs)")))
}

fn micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

/// The database's clock, in microseconds since the epoch.
const DB_NOW: &str = "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint";

/// A pool of connections to the database at `url`.
fn connect_pool(url: &str) -> Result<Pool, AuditError> {
    let config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| AuditError::Config(format!("the database URL does not parse: {e}")))?;
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(8)
        .build()
        .map_err(|e| AuditError::Config(e.to_string()))
}

/// The audit log of a deployment whose nodes share one PostgreSQL database.
pub struct PgAuditLog {
    pool: Pool,
    origin: String,
    signer: Arc<dyn CheckpointSigner>,
    queue: Mutex<Option<tokio::sync::mpsc::UnboundedSender<(Event, Reply)>>>,
    writer: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The largest tree size this node has seen (its own commits, or read).
    size: Arc<AtomicU64>,
    /// The least time between two signed checkpoints, in milliseconds.
    min_gap_ms: AtomicU64,
}

impl PgAuditLog {
    /// Connects to the database at `url`, brings the log's tables up to date (one node
    /// migrates, the others wait; a schema newer than this binary knows is refused) and starts
    /// this node's writer. Must be called within a Tokio runtime.
    pub async fn connect(url: &str, origin: &str, signer: Arc<dyn CheckpointSigner>) -> Result<Self, AuditError> {
        let pool = connect_pool(url)?;
        migrate(&pool).await?;
        let c = pool.get().await.map_err(pool_error)?;
        // The origin is part of every signed checkpoint: the first one a log was created with
        // stays, so checkpoints signed before a configuration change still verify.
        c.execute(
            "INSERT INTO audit_meta (key, value) VALUES ('origin', $1) ON CONFLICT (key) DO NOTHING",
            &[&origin],
        )
        .await
        .map_err(pg)?;
        let stored_origin: String = c
            .query_one("SELECT value FROM audit_meta WHERE key = 'origin'", &[])
            .await
            .map_err(pg)?
            .get(0);
        if stored_origin != origin {
            tracing::warn!(stored = %stored_origin, configured = %origin, "the audit log keeps the origin it was created with");
        }
        let size: i64 = c
            .query_one("SELECT size FROM audit_head WHERE id = 1", &[])
            .await
            .map_err(pg)?
            .get(0);
        drop(c);
        let size = Arc::new(AtomicU64::new(unstored(size)?));
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let writer = tokio::spawn(writer_loop(pool.clone(), rx, Arc::clone(&size)));
        Ok(Self {
            pool,
            origin: stored_origin,
            signer,
            queue: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            size,
            min_gap_ms: AtomicU64::new(gap_ms(MIN_CHECKPOINT_GAP)),
        })
    }

    /// The checkpoint origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Sets the least time between two checkpoints signed on request (default
    /// [`MIN_CHECKPOINT_GAP`]); every node of a deployment should use the same.
    pub fn set_min_checkpoint_gap(&self, gap: std::time::Duration) {
        self.min_gap_ms.store(gap_ms(gap), Ordering::Relaxed);
    }

    /// Appends an event; resolves once it is committed, with its position.
    pub async fn append(&self, event: Event) -> Result<Entry, AuditError> {
        self.submit(event).await
    }

    /// Queues an event for this node's writer now, before the returned future is first
    /// polled; the future resolves once the entry is committed.
    pub fn submit(&self, event: Event) -> impl Future<Output = Result<Entry, AuditError>> + Send + 'static {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let queued = self.queue.lock().map_err(|_| AuditError::WriterGone).and_then(|q| {
            q.as_ref()
                .ok_or(AuditError::WriterGone)?
                .send((event, tx))
                .map_err(|_| AuditError::WriterGone)
        });
        async move {
            queued?;
            rx.await.map_err(|_| AuditError::WriterGone)?
        }
    }

    /// The number of entries this node knows of without asking the database: at least every
    /// entry it appended.
    pub fn known_size(&self) -> u64 {
        self.size.load(Ordering::SeqCst)
    }

    /// The number of entries in the log now, every node's included.
    pub async fn size(&self) -> Result<u64, AuditError> {
        let c = self.pool.get().await.map_err(pool_error)?;
        let size: i64 = c
            .query_one("SELECT size FROM audit_head WHERE id = 1", &[])
            .await
            .map_err(pg)?
            .get(0);
        let size = unstored(size)?;
        self.size.fetch_max(size, Ordering::SeqCst);
        Ok(size)
    }

    /// The newest signed checkpoint, if any node signed one.
    pub async fn latest_checkpoint(&self) -> Result<Option<Checkpoint>, AuditError> {
        let c = self.pool.get().await.map_err(pool_error)?;
        let row = c
            .query_opt(
                "SELECT checkpoint FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1",
                &[],
            )
            .await
            .map_err(pg)?;
        row.map(|r| parse_checkpoint(r.get(0))).transpose()
    }

    /// A signed checkpoint of the whole log now: the newest one if the log has not grown since
    /// it was signed or it was signed less than the gap ago (by the database's
    /// clock), else a new one, kept. One node signs at a time, so however many nodes are asked,
    /// the deployment signs at most about one checkpoint per gap.
    pub async fn checkpoint(&self) -> Result<Checkpoint, AuditError> {
        let mut c = self.pool.get().await.map_err(pool_error)?;
        let tx = c.transaction().await.map_err(pg)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SIGNING_LOCK])
            .await
            .map_err(pg)?;
        // The head as of now; its frontier gives the root without reading the tree.
        let head = tx
            .query_one(
                &format!("SELECT size, frontier, {DB_NOW} FROM audit_head WHERE id = 1"),
                &[],
            )
            .await
            .map_err(pg)?;
        let size = unstored(head.get(0))?;
        let frontier = Frontier::from_bytes(head.get(1))
            .filter(|f| f.size() == size)
            .ok_or_else(|| AuditError::Corrupt("the stored right edge of the tree does not match its size".into()))?;
        let now: i64 = head.get(2);
        let latest = tx
            .query_opt(
                "SELECT tree_size, signed_at, checkpoint FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1",
                &[],
            )
            .await
            .map_err(pg)?;
        if let Some(row) = latest {
            let (tree_size, signed_at): (i64, i64) = (row.get(0), row.get(1));
            let fresh =
                now.saturating_sub(signed_at) < i64::try_from(MIN_CHECKPOINT_GAP.as_micros()).unwrap_or(i64::MAX);
            if unstored(tree_size)? == size || fresh {
                return parse_checkpoint(row.get(2));
            }
        }
        let timestamp = from_micros(now)?
            .replace_nanosecond(0)
            .map_err(|e| AuditError::Corrupt(e.to_string()))?
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| AuditError::Corrupt(e.to_string()))?;
        let cp = sign(&*self.signer, &self.origin, size, &frontier.root(), timestamp);
        let json = serde_json::to_string(&cp).map_err(|e| AuditError::Corrupt(e.to_string()))?;
        tx.execute(
            "INSERT INTO audit_checkpoints (tree_size, signed_at, checkpoint) VALUES ($1, $2, $3)
             ON CONFLICT (tree_size) DO NOTHING",
            &[&stored(size)?, &now, &json],
        )
        .await
        .map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        self.size.fetch_max(size, Ordering::SeqCst);
        Ok(cp)
    }

    /// Stored checkpoints with a tree size above `after`, oldest first, at most `limit`.
    pub async fn checkpoints(&self, after: Option<u64>, limit: usize) -> Result<Vec<Checkpoint>, AuditError> {
        let after = match after {
            None => -1,
            Some(a) => match i64::try_from(a) {
                Ok(a) => a,
                Err(_) => return Ok(Vec::new()),
            },
        };
        let limit = i64::try_from(limit.clamp(1, 10_000)).unwrap_or(10_000);
        let c = self.pool.get().await.map_err(pool_error)?;
        let rows = c
            .query(
                "SELECT checkpoint FROM audit_checkpoints WHERE tree_size > $1 ORDER BY tree_size LIMIT $2",
                &[&after, &limit],
            )
            .await
            .map_err(pg)?;
        rows.iter().map(|r| parse_checkpoint(r.get(0))).collect()
    }

    /// One entry by position.
    pub async fn entry(&self, index: u64) -> Result<Option<StoredEntry>, AuditError> {
        let Ok(idx) = i64::try_from(index) else {
            return Ok(None);
        };
        let c = self.pool.get().await.map_err(pool_error)?;
        let row = c
            .query_opt("SELECT idx, leaf FROM audit_entries WHERE idx = $1", &[&idx])
            .await
            .map_err(pg)?;
        row.map(|r| stored_entry(r.get(0), r.get(1))).transpose()
    }

    /// The inclusion proof of entry `index` in the tree of `tree_size` entries.
    pub async fn inclusion_proof(&self, index: u64, tree_size: u64) -> Result<Vec<Hash>, AuditError> {
        let size = self.size().await?;
        if tree_size > size || index >= tree_size {
            return Err(AuditError::OutOfRange(format!(
                "index {index} is not in a tree of {tree_size} entries (the log has {size})"
            )));
        }
        let wanted = Recorder::default();
        let _ = merkle::inclusion_proof(&wanted, index, tree_size);
        let nodes = self.nodes(wanted).await?;
        merkle::inclusion_proof(&nodes, index, tree_size)
    }

    /// The consistency proof between two tree sizes.
    pub async fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>, AuditError> {
        let size = self.size().await?;
        if from > to || to > size {
            return Err(AuditError::OutOfRange(format!(
                "need from ≤ to ≤ {size} (got {from}, {to})"
            )));
        }
        let wanted = Recorder::default();
        let _ = merkle::consistency_proof(&wanted, from, to);
        let nodes = self.nodes(wanted).await?;
        merkle::consistency_proof(&nodes, from, to)
    }

    /// The root of the tree of `size` entries.
    pub async fn root(&self, size: u64) -> Result<Hash, AuditError> {
        let now = self.size().await?;
        if size > now {
            return Err(AuditError::OutOfRange(format!("the log has {now} entries")));
        }
        let wanted = Recorder::default();
        let _ = merkle::root(&wanted, size);
        let nodes = self.nodes(wanted).await?;
        merkle::root(&nodes, size)
    }

    /// Reads the tiles that hold the perfect subtree hashes a recorder noted, in one query.
    async fn nodes(&self, wanted: Recorder) -> Result<Tiles, AuditError> {
        let mut keys: Vec<(u32, u64)> = wanted.0.into_inner().into_iter().map(|(l, i)| tile_of(l, i)).collect();
        keys.sort_unstable();
        keys.dedup();
        let mut levels = Vec::with_capacity(keys.len());
        let mut indexes = Vec::with_capacity(keys.len());
        for (level, index) in &keys {
            levels.push(i16::try_from(*level).map_err(|_| AuditError::OutOfRange(format!("tree level {level}")))?);
            indexes.push(stored(*index)?);
        }
        let mut c = self.pool.get().await.map_err(pool_error)?;
        let tx = c.build_transaction().read_only(true).start().await.map_err(pg)?;
        tx.batch_execute(&format!("SET LOCAL statement_timeout = '{READ_TIMEOUT}'"))
            .await
            .map_err(pg)?;
        let rows = tx
            .query(
                "SELECT t.level, t.idx, t.hashes FROM audit_tiles t
                 JOIN UNNEST($1::int2[], $2::int8[]) AS w(level, idx) ON t.level = w.level AND t.idx = w.idx
                 UNION ALL
                 SELECT p.level, p.idx, string_agg(p.hashes, ''::bytea ORDER BY p.start) FROM audit_tile_parts p
                 JOIN UNNEST($1::int2[], $2::int8[]) AS w(level, idx) ON p.level = w.level AND p.idx = w.idx
                 GROUP BY p.level, p.idx",
                &[&levels, &indexes],
            )
            .await
            .map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        let mut tiles = Tiles::default();
        for r in rows {
            let level = u32::try_from(r.get::<_, i16>(0))
                .map_err(|_| AuditError::Corrupt("a tile level is negative".into()))?;
            tiles.0.insert((level, unstored(r.get(1))?), r.get::<_, Vec<u8>>(2));
        }
        Ok(tiles)
    }

    /// Entries matching `q`, in index order. Bounded: at most 100,000 entries, and cancelled
    /// after ten seconds.
    pub async fn query(&self, q: &Query) -> Result<Vec<StoredEntry>, AuditError> {
        let after = match q.after {
            None => -1,
            Some(a) => match i64::try_from(a) {
                Ok(a) => a,
                // Past what the log can hold: nothing comes after it.
                Err(_) => return Ok(Vec::new()),
            },
        };
        let limit = i64::try_from(q.limit.clamp(1, 100_000)).unwrap_or(100_000);
        let mut args: Vec<Box<dyn ToSql + Sync + Send>> = vec![Box::new(after)];
        // The filters other than the organization, as SQL on `audit_entries`.
        let mut filters = String::new();
        for (col, v) in [
            ("tenant", &q.tenant),
            ("product", &q.product),
            ("action", &q.action),
            ("purpose", &q.purpose),
            ("outcome", &q.outcome),
        ] {
            if let Some(v) = v {
                args.push(Box::new(v.clone()));
                filters.push_str(&format!(" AND {col} = ${}", args.len()));
            }
        }
        for (op, t) in [(">=", q.since), ("<", q.until)] {
            if let Some(t) = t {
                args.push(Box::new(micros(t)));
                filters.push_str(&format!(" AND time {op} ${}", args.len()));
            }
        }
        args.push(Box::new(limit));
        let lim = args.len();
        let sql = match (&q.org, &q.org_tenants) {
            (None, _) => {
                format!("SELECT idx, leaf FROM audit_entries WHERE idx > $1{filters} ORDER BY idx LIMIT ${lim}")
            }
            // An organization's, named with its tenants: its own entries and each of its
            // tenants', the first `limit` of each merged; the work is bounded by
            // (tenants + 1) × limit index entries.
            (Some(org), Some(tenants)) if q.tenant.is_none() => {
                args.push(Box::new(org.clone()));
                let o = args.len();
                args.push(Box::new(tenants.clone()));
                let ts = args.len();
                format!(
                    "SELECT e.idx, e.leaf FROM audit_entries e WHERE e.idx IN (
                       SELECT idx FROM (
                         (SELECT idx FROM audit_entries
                          WHERE org = ${o} AND tenant IS NULL AND idx > $1{filters} ORDER BY idx LIMIT ${lim})
                         UNION ALL
                         (SELECT t.idx FROM unnest(${ts}::text[]) AS s(tenant) CROSS JOIN LATERAL (
                            SELECT idx FROM audit_entries
                            WHERE tenant = s.tenant AND org = ${o} AND idx > $1{filters} ORDER BY idx LIMIT ${lim}) t)
                       ) u ORDER BY idx LIMIT ${lim})
                     ORDER BY e.idx"
                )
            }
            // A tenant's entries (its index, in order), or an organization's without its
            // tenants (in index order, filtered, bounded by the read timeout).
            (Some(org), _) => {
                args.push(Box::new(org.clone()));
                let o = args.len();
                format!(
                    "SELECT idx, leaf FROM audit_entries WHERE idx > $1{filters} AND org = ${o} ORDER BY idx LIMIT ${lim}"
                )
            }
        };
        let mut c = self.pool.get().await.map_err(pool_error)?;
        let tx = c.build_transaction().read_only(true).start().await.map_err(pg)?;
        tx.batch_execute(&format!("SET LOCAL statement_timeout = '{READ_TIMEOUT}'"))
            .await
            .map_err(pg)?;
        let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| &**a as &(dyn ToSql + Sync)).collect();
        let rows = tx.query(&sql, &params).await.map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        rows.iter().map(|r| stored_entry(r.get(0), r.get(1))).collect()
    }

    /// Where the entries at or after `cutoff_us` (microseconds since the epoch) begin: everything
    /// before it is older than the cutoff.
    pub async fn expired_before(&self, cutoff_us: i64) -> Result<u64, AuditError> {
        let c = self.pool.get().await.map_err(pool_error)?;
        // Time grows with the index: the first entry at or after the cutoff, found walking the
        // primary key from the oldest entry still in the database (what is walked is what
        // expires).
        let n: Option<i64> = c
            .query_one(
                "SELECT COALESCE((SELECT idx FROM audit_entries WHERE time >= $1 ORDER BY idx LIMIT 1),
                                 (SELECT size FROM audit_head WHERE id = 1))",
                &[&cutoff_us],
            )
            .await
            .map_err(pg)?
            .get(0);
        Ok(n.map_or(0, |n| n.max(0) as u64))
    }

    /// Drops, without a file, the whole bundles ([`crate::archive::DEFAULT_BUNDLE`] entries)
    /// older than `cutoff_us` and covered by a signed checkpoint (a retention rule), on this
    /// log's connections. Their tiles stay, so proofs over later entries still verify.
    pub async fn expire(&self, cutoff_us: i64) -> Result<Vec<crate::archive::Bundle>, AuditError> {
        let before = self.expired_before(cutoff_us).await?;
        archive_on(&self.pool, None, before, crate::archive::DEFAULT_BUNDLE).await
    }

    /// Stops this node's writer after it has committed everything queued.
    pub async fn close(&self) {
        if let Ok(mut q) = self.queue.lock() {
            q.take();
        }
        let writer = self.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(w) = writer {
            let _ = w.await;
        }
    }
}

fn parse_checkpoint(json: &str) -> Result<Checkpoint, AuditError> {
    serde_json::from_str(json).map_err(|e| AuditError::Corrupt(format!("stored checkpoint does not parse: {e}")))
}

fn stored_entry(idx: i64, stored: &[u8]) -> Result<StoredEntry, AuditError> {
    let index = unstored(idx)?;
    let leaf = crate::codec::unpack(stored).map_err(|e| AuditError::Corrupt(format!("entry {index}: {e}")))?;
    let leaf = &*leaf;
    let entry: Entry =
        serde_json::from_slice(leaf).map_err(|e| AuditError::Corrupt(format!("entry {index} does not parse: {e}")))?;
    Ok(StoredEntry {
        index,
        leaf: B64.encode(leaf),
        entry,
    })
}

/// Notes which perfect subtree hashes a Merkle computation asks for.
#[derive(Default)]
struct Recorder(RefCell<Vec<(u32, u64)>>);

impl NodeSource for Recorder {
    type Error = std::convert::Infallible;
    fn perfect(&self, level: u32, index: u64) -> Result<Hash, Self::Error> {
        self.0.borrow_mut().push((level, index));
        Ok([0; 32])
    }
}

async fn migrate(pool: &Pool) -> Result<(), AuditError> {
    let mut c = pool.get().await.map_err(pool_error)?;
    let tx = c.transaction().await.map_err(pg)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(pg)?;
    // SET LOCAL: no NOTICE in the log when the table exists (every start but the first).
    tx.batch_execute("SET LOCAL client_min_messages = warning; CREATE TABLE IF NOT EXISTS datapact_audit_schema (version INTEGER NOT NULL)")
        .await
        .map_err(pg)?;
    let found: Option<i32> = tx
        .query_opt("SELECT version FROM datapact_audit_schema", &[])
        .await
        .map_err(pg)?
        .map(|r| r.get(0));
    let known = MIGRATIONS.len();
    let found = match found {
        Some(v) => usize::try_from(v).unwrap_or(usize::MAX),
        None => {
            tx.execute("INSERT INTO datapact_audit_schema (version) VALUES (0)", &[])
                .await
                .map_err(pg)?;
            0
        }
    };
    if found > known {
        return Err(AuditError::SchemaTooNew { found, known });
    }
    for (i, m) in MIGRATIONS.iter().enumerate().skip(found) {
        tx.batch_execute(m).await.map_err(pg)?;
        let v = i32::try_from(i + 1).unwrap_or(i32::MAX);
        tx.execute("UPDATE datapact_audit_schema SET version = $1", &[&v])
            .await
            .map_err(pg)?;
    }
    tx.commit().await.map_err(pg)?;
    Ok(())
}

/// What this node last knew of the log's head: after its own commit, the head as it left it.
#[derive(Clone)]
struct Head {
    frontier: Frontier,
    last_time: i64,
    /// The database's clock minus this machine's, in microseconds, as last measured.
    offset_us: i64,
    /// When (this machine's clock, microseconds) the offset was measured.
    measured_at: i64,
}

impl Head {
    /// Whether its clock offset is recent enough to number entries by.
    fn fresh(&self) -> bool {
        local_micros() - self.measured_at < OFFSET_FOR_US
    }
}

/// How long a measured clock offset is trusted before the head is read under its lock again
/// (which measures it afresh).
const OFFSET_FOR_US: i64 = 10_000_000;

fn local_micros() -> i64 {
    micros(OffsetDateTime::now_utc())
}

/// This node's writer: commits what is queued in batches, one at a time. While a batch is
/// written on the head this node knows, what arrives meanwhile is numbered on the head that
/// batch leaves, so the next batch is ready to go the moment the database answers (the
/// database work stays one batch at a time; the numbering, hashing and packing no longer
/// waits for it).
async fn writer_loop(pool: Pool, mut rx: tokio::sync::mpsc::UnboundedReceiver<(Event, Reply)>, size: Arc<AtomicU64>) {
    let mut w = Writer { head: None, size };
    // Received, not yet numbered, in arrival order.
    let mut waiting: Vec<(Event, Reply)> = Vec::new();
    // The next batch, numbered while the one before it was written.
    let mut ready: Option<Numbered> = None;
    let mut open = true;
    loop {
        let mut current = match ready.take() {
            Some(n) => n,
            None => {
                if waiting.is_empty() {
                    match rx.recv().await {
                        Some(item) => waiting.push(item),
                        None => return,
                    }
                }
                drain(&mut rx, &mut waiting, MAX_BATCH);
                let batch = std::mem::take(&mut waiting);
                match w.head.clone() {
                    // While this node was the last to append, it knows the head: one
                    // statement that checks the head is still where it left it.
                    Some(h) if h.fresh() => Numbered::on(h, batch),
                    // Otherwise (another node appended, or on the first batch) the head is
                    // read under its lock.
                    _ => {
                        let result = commit(&pool, &events_of(&batch)).await;
                        w.settle(batch, result);
                        continue;
                    }
                }
            }
        };
        let mut more = Vec::new();
        drain(&mut rx, &mut more, MAX_BATCH.saturating_sub(current.batch.len()));
        for item in more {
            current.push(item);
        }
        if current.broken {
            waiting.splice(0..0, current.batch);
            w.head = None;
            continue;
        }
        let mut next = Numbered::on(current.leaves(), Vec::new());
        let written = {
            let write = write_known(&pool, &mut current);
            tokio::pin!(write);
            loop {
                tokio::select! {
                    biased;
                    r = &mut write => break r,
                    item = rx.recv(), if open && next.batch.len() < MAX_BATCH => match item {
                        Some(item) => next.push(item),
                        None => open = false,
                    },
                }
            }
        };
        match written {
            Ok(Some(committed)) => {
                w.settle(current.batch, Ok(committed));
                if !next.batch.is_empty() && !next.broken && next.base.fresh() {
                    ready = Some(next);
                } else {
                    waiting.extend(next.batch);
                }
            }
            // Another node appended since: this batch takes the locked path, and what came
            // meanwhile is numbered again after it.
            Ok(None) => {
                let result = commit(&pool, &events_of(&current.batch)).await;
                w.settle(current.batch, result);
                waiting.extend(next.batch);
            }
            Err(e) => {
                w.settle(current.batch, Err(e));
                waiting.extend(next.batch);
            }
        }
    }
}

fn events_of(batch: &[(Event, Reply)]) -> Vec<&Event> {
    batch.iter().map(|(e, _)| e).collect()
}

/// Moves what is queued into `into`, up to `max` items.
fn drain(rx: &mut tokio::sync::mpsc::UnboundedReceiver<(Event, Reply)>, into: &mut Vec<(Event, Reply)>, max: usize) {
    while into.len() < max {
        match rx.try_recv() {
            Ok(item) => into.push(item),
            Err(_) => break,
        }
    }
}

/// What the writer knows between batches.
struct Writer {
    /// The head as this node's last commit left it (`None`: read it under its lock).
    head: Option<Head>,
    size: Arc<AtomicU64>,
}

impl Writer {
    /// Answers a batch's callers with its outcome and takes in the head it left.
    fn settle(&mut self, batch: Vec<(Event, Reply)>, result: Result<Committed, AuditError>) {
        match result {
            Ok(Committed { entries, head }) => {
                if let Some(last) = entries.last() {
                    self.size.fetch_max(last.index + 1, Ordering::SeqCst);
                }
                self.head = Some(head);
                for ((_, reply), entry) in batch.into_iter().zip(entries) {
                    let _ = reply.send(Ok(entry));
                }
            }
            Err(e) => {
                self.head = None;
                tracing::error!(error = %e, entries = batch.len(), "audit append failed; the operations are refused");
                let msg = e.to_string();
                let unavailable = matches!(e, AuditError::Unavailable(_));
                for (_, reply) in batch {
                    let _ = reply.send(Err(if unavailable {
                        AuditError::Unavailable(msg.clone())
                    } else {
                        AuditError::Corrupt(msg.clone())
                    }));
                }
            }
        }
    }
}

/// A batch numbered, item by item as it arrives, on a head this node expects: positions from
/// the head's size, times from the database's clock as this node estimates it (never before
/// the entry before).
struct Numbered {
    base: Head,
    batch: Vec<(Event, Reply)>,
    rows: Rows,
    entries: Vec<Entry>,
    frontier: Frontier,
    /// An entry could not be numbered: the batch takes the locked path instead.
    broken: bool,
}

impl Numbered {
    fn on(base: Head, batch: Vec<(Event, Reply)>) -> Self {
        let mut n = Numbered {
            frontier: base.frontier.clone(),
            rows: Rows {
                last_time: base.last_time,
                ..Rows::default()
            },
            base,
            batch: Vec::with_capacity(batch.len()),
            entries: Vec::with_capacity(batch.len()),
            broken: false,
        };
        for item in batch {
            n.push(item);
        }
        n
    }

    fn push(&mut self, item: (Event, Reply)) {
        if !self.broken {
            let now_us = (local_micros() + self.base.offset_us).max(self.rows.last_time);
            let numbered = from_micros(now_us).and_then(|time| {
                let entry = Entry {
                    index: self.frontier.size(),
                    time,
                    event: item.0.clone(),
                };
                self.rows.push(&mut self.frontier, &entry, &entry.leaf())?;
                Ok(entry)
            });
            match numbered {
                Ok(entry) => self.entries.push(entry),
                Err(_) => self.broken = true,
            }
        }
        self.batch.push(item);
    }

    /// The head this batch leaves once written.
    fn leaves(&self) -> Head {
        Head {
            frontier: self.frontier.clone(),
            last_time: self.rows.last_time,
            offset_us: self.base.offset_us,
            measured_at: self.base.measured_at,
        }
    }
}

/// A batch's writes in one statement: its entries, the hashes it adds to tiles (one part per
/// tile it touches), the new head.
const WRITE_BATCH: &str = "WITH entries AS (
    INSERT INTO audit_entries (idx, time, org, tenant, product, action, purpose, outcome, leaf)
    SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                         $8::text[], $9::bytea[])
), parts AS (
    INSERT INTO audit_tile_parts (level, idx, start, hashes)
    SELECT * FROM UNNEST($10::int2[], $11::int8[], $12::int4[], $13::bytea[])

)
UPDATE audit_head SET size = $14, frontier = $15, last_time = $16 WHERE id = 1";

/// A batch's writes when the node knows the head: the head moves only if it is still where
/// the node left it and the batch's time is not ahead of the database's clock by more than a
/// second, and the entries and tile parts are written only if it moved (they read the
/// update's result). One statement, committed on its own: all of it or nothing. Returns the
/// number of head rows moved (1, or 0 when the node's knowledge was stale).
const WRITE_KNOWN: &str = "WITH head AS (
    UPDATE audit_head SET size = $14, frontier = $15, last_time = $16
    WHERE id = 1 AND size = $17 AND last_time <= $16
      AND $16 <= (extract(epoch FROM clock_timestamp()) * 1000000)::bigint + 1000000
    RETURNING size
), entries AS (
    INSERT INTO audit_entries (idx, time, org, tenant, product, action, purpose, outcome, leaf)
    SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                         $8::text[], $9::bytea[])
    WHERE EXISTS (SELECT 1 FROM head)
), parts AS (
    INSERT INTO audit_tile_parts (level, idx, start, hashes)
    SELECT * FROM UNNEST($10::int2[], $11::int8[], $12::int4[], $13::bytea[])
    WHERE EXISTS (SELECT 1 FROM head)

)
SELECT count(*) FROM head";

/// Tiles that a batch filled: their parts become one full tile row.
const FOLD_TILES: &str = "WITH filled AS (
    DELETE FROM audit_tile_parts p USING UNNEST($1::int2[], $2::int8[]) AS w(level, idx)
    WHERE p.level = w.level AND p.idx = w.idx
    RETURNING p.level, p.idx, p.start, p.hashes
)
INSERT INTO audit_tiles (level, idx, hashes)
SELECT level, idx, string_agg(hashes, ''::bytea ORDER BY start) FROM filled GROUP BY level, idx";

/// The rows a batch writes: its entries (with their index columns) and the hashes it adds to
/// tiles.
#[derive(Default)]
struct Rows {
    idx: Vec<i64>,
    times: Vec<i64>,
    org: Vec<Option<String>>,
    tenant: Vec<Option<String>>,
    product: Vec<Option<String>>,
    action: Vec<String>,
    purpose: Vec<Option<String>>,
    outcome: Vec<String>,
    leaves: Vec<Vec<u8>>,
    /// What the batch appends to each tile, in tile order (tiles only grow at the right edge).
    appended: std::collections::BTreeMap<(u32, u64), (u64, Vec<u8>)>,
    last_time: i64,
}

impl Rows {
    /// Appends `entry`, whose exact leaf bytes are `leaf`, at the frontier's right edge.
    fn push(&mut self, frontier: &mut Frontier, entry: &Entry, leaf: &[u8]) -> Result<(), AuditError> {
        if entry.index != frontier.size() {
            return Err(AuditError::Corrupt(format!(
                "entry {} would be appended at position {}",
                entry.index,
                frontier.size()
            )));
        }
        let leaf_hash = merkle::leaf_hash(leaf);
        let time = micros(entry.time);
        self.idx.push(stored(entry.index)?);
        self.times.push(time);
        self.last_time = self.last_time.max(time);
        self.org.push(entry.event.org.map(|o| o.to_string()));
        self.tenant.push(entry.event.tenant.map(|t| t.to_string()));
        self.product
            .push(entry.event.product.as_ref().map(|p| p.as_str().to_string()));
        self.action.push(entry.event.action.as_str().to_string());
        self.purpose.push(entry.event.purpose.map(|p| p.as_str().to_string()));
        self.outcome.push(entry.event.outcome.as_str().to_string());
        self.leaves.push(crate::codec::pack(leaf));
        for (level, index, hash) in frontier.push(leaf_hash) {
            if let Some((tile_level, tile_index, position)) = slot(level, index) {
                self.appended
                    .entry((tile_level, tile_index))
                    .or_insert_with(|| (position, Vec::new()))
                    .1
                    .extend_from_slice(&hash);
            }
        }
        Ok(())
    }

    /// The tile parts as columns, and the tiles the batch filled.
    /// Takes the hashes out of the rows (they go to the statement once, uncopied).
    fn tile_columns(&mut self) -> Result<TileColumns, AuditError> {
        let mut t = TileColumns::default();
        for ((level, index), (start, hashes)) in std::mem::take(&mut self.appended) {
            let level = i16::try_from(level).map_err(|_| AuditError::Corrupt(format!("tree level {level}")))?;
            if start + (hashes.len() / 32) as u64 == TILE_WIDTH {
                t.full_levels.push(level);
                t.full_indexes.push(stored(index)?);
            }
            t.levels.push(level);
            t.indexes.push(stored(index)?);
            t.starts
                .push(i32::try_from(start).map_err(|_| AuditError::Corrupt("a tile position past 256".into()))?);
            t.hashes.push(hashes);
        }
        Ok(t)
    }

    /// Writes the rows and moves the head to `frontier`, in `tx`.
    async fn write(mut self, tx: &deadpool_postgres::Transaction<'_>, frontier: &Frontier) -> Result<(), AuditError> {
        let write = tx.prepare_cached(WRITE_BATCH).await.map_err(pg)?;
        let t = self.tile_columns()?;
        tx.execute(
            &write,
            &[
                &self.idx,
                &self.times,
                &self.org,
                &self.tenant,
                &self.product,
                &self.action,
                &self.purpose,
                &self.outcome,
                &self.leaves,
                &t.levels,
                &t.indexes,
                &t.starts,
                &t.hashes,
                &stored(frontier.size())?,
                &frontier.to_bytes(),
                &self.last_time,
            ],
        )
        .await
        .map_err(pg)?;
        if !t.full_levels.is_empty() {
            // Once per 256 entries at the bottom level, rarer above.
            let fold = tx.prepare_cached(FOLD_TILES).await.map_err(pg)?;
            tx.execute(&fold, &[&t.full_levels, &t.full_indexes])
                .await
                .map_err(pg)?;
        }
        Ok(())
    }
}

/// A batch's tile parts, as statement parameters.
#[derive(Default)]
struct TileColumns {
    levels: Vec<i16>,
    indexes: Vec<i64>,
    starts: Vec<i32>,
    hashes: Vec<Vec<u8>>,
    full_levels: Vec<i16>,
    full_indexes: Vec<i64>,
}

/// Numbers `events` from the frontier's size at time `now_us` (microseconds) and lays out
/// their rows, moving the frontier past them.
fn number(events: &[&Event], frontier: &mut Frontier, now_us: i64) -> Result<(Rows, Vec<Entry>), AuditError> {
    let now = from_micros(now_us)?;
    let mut rows = Rows {
        last_time: now_us,
        ..Rows::default()
    };
    let mut entries = Vec::with_capacity(events.len());
    for event in events {
        let entry = Entry {
            index: frontier.size(),
            time: now,
            event: (*event).clone(),
        };
        let leaf = entry.leaf();
        rows.push(frontier, &entry, &leaf)?;
        entries.push(entry);
    }
    Ok((rows, entries))
}

/// A batch numbered on the head this node knows (its own last commit), in one statement: no lock to
/// take first, no transaction to open. `Ok(None)` when another node appended since (nothing
/// was written; the caller takes the locked path).
async fn write_known(pool: &Pool, n: &mut Numbered) -> Result<Option<Committed>, AuditError> {
    let expected = stored(n.base.frontier.size())?;
    let (frontier, now_us) = (n.frontier.clone(), n.rows.last_time);
    let rows = &mut n.rows;
    let t = rows.tile_columns()?;
    let c = pool.get().await.map_err(pool_error)?;
    let write = c.prepare_cached(WRITE_KNOWN).await.map_err(pg)?;
    let moved = c
        .query_one(
            &write,
            &[
                &rows.idx,
                &rows.times,
                &rows.org,
                &rows.tenant,
                &rows.product,
                &rows.action,
                &rows.purpose,
                &rows.outcome,
                &rows.leaves,
                &t.levels,
                &t.indexes,
                &t.starts,
                &t.hashes,
                &stored(frontier.size())?,
                &frontier.to_bytes(),
                &now_us,
                &expected,
            ],
        )
        .await;
    let moved: i64 = match moved {
        Ok(row) => row.get(0),
        // Entries at these positions already: another node appended since.
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => return Ok(None),
        Err(e) => return Err(pg(e)),
    };
    if moved != 1 {
        return Ok(None);
    }
    if !t.full_levels.is_empty() {
        // Committed already; folding is idempotent, and a tile left in parts still reads.
        let fold = c.prepare_cached(FOLD_TILES).await.map_err(pg)?;
        if let Err(e) = c.execute(&fold, &[&t.full_levels, &t.full_indexes]).await {
            tracing::warn!(error = %e, "cannot fold filled tiles; they stay in parts");
        }
    }
    Ok(Some(Committed {
        entries: std::mem::take(&mut n.entries),
        head: n.leaves(),
    }))
}

/// A committed batch: its entries and the head after it.
struct Committed {
    entries: Vec<Entry>,
    head: Head,
}

/// One batch: lock the head, number the entries, insert them and the subtree hashes they
/// complete, move the head, commit.
async fn commit(pool: &Pool, events: &[&Event]) -> Result<Committed, AuditError> {
    let mut c = pool.get().await.map_err(pool_error)?;
    let tx = c.transaction().await.map_err(pg)?;
    let asked = local_micros();
    // Prepared once per connection: the lock is held for three round trips (this read, the
    // write, the commit), not for a parse of each statement too.
    let lock = tx
        .prepare_cached(&format!(
            "SELECT size, frontier, last_time, {DB_NOW} FROM audit_head WHERE id = 1 FOR UPDATE"
        ))
        .await
        .map_err(pg)?;
    let head = tx.query_one(&lock, &[]).await.map_err(pg)?;
    let answered = local_micros();
    let size = unstored(head.get(0))?;
    let mut frontier = Frontier::from_bytes(head.get(1))
        .filter(|f| f.size() == size)
        .ok_or_else(|| AuditError::Corrupt("the stored right edge of the tree does not match its size".into()))?;
    let now_us = head.get::<_, i64>(3).max(head.get(2));
    let (rows, entries) = number(events, &mut frontier, now_us)?;
    rows.write(&tx, &frontier).await?;
    tx.commit().await.map_err(pg)?;
    let db_now: i64 = head.get(3);
    let offset_us = db_now - (asked + (answered - asked) / 2);
    Ok(Committed {
        entries,
        head: Head {
            frontier,
            last_time: now_us,
            offset_us,
            measured_at: answered,
        },
    })
}

/// What [`import_sqlite`] moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// Entries copied.
    pub entries: u64,
    /// Signed checkpoints copied.
    pub checkpoints: u64,
    /// The log's origin line.
    pub origin: String,
}

/// Whether the database at `url` holds no audit entry and no checkpoint (a log not yet
/// created counts as empty; nothing is created).
pub async fn is_empty(url: &str) -> Result<bool, AuditError> {
    let pool = connect_pool(url)?;
    let c = pool.get().await.map_err(pool_error)?;
    let exists: bool = c
        .query_one("SELECT to_regclass('audit_head') IS NOT NULL", &[])
        .await
        .map_err(pg)?
        .get(0);
    if !exists {
        return Ok(true);
    }
    let row = c
        .query_one(
            "SELECT (SELECT size FROM audit_head WHERE id = 1) = 0 AND NOT EXISTS (SELECT 1 FROM audit_checkpoints)",
            &[],
        )
        .await
        .map_err(pg)?;
    Ok(row.get::<_, Option<bool>>(0).unwrap_or(true))
}

/// Entries copied per transaction by [`import_sqlite`].
const IMPORT_PAGE: i64 = 4_096;

/// Copies the embedded log at `path` (SQLite, only read) into the empty log of the database
/// at `url`: every entry with its exact leaf bytes at its own position, the tree rebuilt as
/// tiles from them, every signed checkpoint as it was signed, the origin. `progress` is told
/// the number of entries copied so far. A target that already holds entries or checkpoints is
/// refused before anything is written; a copy that fails part way leaves a partial log that a
/// second run refuses (drop the database and run again).
pub async fn import_sqlite(path: &std::path::Path, url: &str, progress: &dyn Fn(u64)) -> Result<Imported, AuditError> {
    let src = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| AuditError::Config(format!("{}: {e}", path.display())))?;
    let sq = |e: rusqlite::Error| AuditError::Corrupt(format!("{}: {e}", path.display()));
    let origin = crate::log::stored_origin(&src)
        .map_err(sq)?
        .ok_or_else(|| AuditError::Config(format!("{} holds no audit log origin", path.display())))?;
    let pool = connect_pool(url)?;
    migrate(&pool).await?;
    let mut c = pool.get().await.map_err(pool_error)?;
    {
        let row = c
            .query_one(
                "SELECT (SELECT size FROM audit_head WHERE id = 1), (SELECT count(*) FROM audit_checkpoints)",
                &[],
            )
            .await
            .map_err(pg)?;
        let (size, checkpoints): (i64, i64) = (row.get(0), row.get(1));
        if size != 0 || checkpoints != 0 {
            return Err(AuditError::Config(format!(
                "the target database already holds an audit log ({size} entries, {checkpoints} checkpoints); migrate into an empty database"
            )));
        }
    }
    c.execute(
        "INSERT INTO audit_meta (key, value) VALUES ('origin', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        &[&origin],
    )
    .await
    .map_err(pg)?;
    let mut frontier = Frontier::default();
    let mut stmt = src
        .prepare("SELECT idx, leaf FROM entries WHERE idx >= ?1 ORDER BY idx LIMIT ?2")
        .map_err(sq)?;
    loop {
        let start = stored(frontier.size())?;
        let page: Vec<(i64, Vec<u8>)> = stmt
            .query_map(rusqlite::params![start, IMPORT_PAGE], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(sq)?
            .collect::<Result<_, _>>()
            .map_err(sq)?;
        if page.is_empty() {
            break;
        }
        let mut rows = Rows::default();
        for (idx, kept) in page {
            let leaf = crate::codec::unpack(&kept)
                .map_err(|e| AuditError::Corrupt(format!("entry {idx}: {e}")))?
                .into_owned();
            if idx != stored(frontier.size())? {
                return Err(AuditError::Corrupt(format!(
                    "{}: entry {} is missing (the next stored is {idx}); verify the log",
                    path.display(),
                    frontier.size()
                )));
            }
            let entry: Entry = serde_json::from_slice(&leaf)
                .map_err(|e| AuditError::Corrupt(format!("entry {idx} does not parse: {e}")))?;
            rows.push(&mut frontier, &entry, &leaf)?;
        }
        let tx = c.transaction().await.map_err(pg)?;
        rows.write(&tx, &frontier).await?;
        tx.commit().await.map_err(pg)?;
        progress(frontier.size());
    }
    let mut checkpoints = 0u64;
    let mut stmt = src
        .prepare("SELECT tree_size, checkpoint FROM checkpoints ORDER BY tree_size")
        .map_err(sq)?;
    let stored_checkpoints: Vec<(i64, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(sq)?
        .collect::<Result<_, _>>()
        .map_err(sq)?;
    for (tree_size, text) in stored_checkpoints {
        let cp = parse_checkpoint(&text)?;
        let signed = OffsetDateTime::parse(&cp.timestamp, &time::format_description::well_known::Rfc3339)
            .map_err(|e| AuditError::Corrupt(format!("checkpoint {tree_size}: timestamp: {e}")))?;
        c.execute(
            "INSERT INTO audit_checkpoints (tree_size, signed_at, checkpoint) VALUES ($1, $2, $3)",
            &[&tree_size, &micros(signed), &text],
        )
        .await
        .map_err(pg)?;
        checkpoints += 1;
    }
    Ok(Imported {
        entries: frontier.size(),
        checkpoints,
        origin,
    })
}

/// The leaf hashes of `[start, end)` as the level-0 tiles hold them (32 bytes each).
async fn leaf_hashes(c: &tokio_postgres::Client, start: u64, end: u64) -> Result<Vec<u8>, tokio_postgres::Error> {
    let (first, last) = ((start / TILE_WIDTH) as i64, (end.saturating_sub(1) / TILE_WIDTH) as i64);
    let rows = c
        .query(
            "SELECT idx, hashes FROM audit_tiles WHERE level = 0 AND idx BETWEEN $1 AND $2
             UNION ALL
             SELECT idx, string_agg(hashes, ''::bytea ORDER BY start) FROM audit_tile_parts
             WHERE level = 0 AND idx BETWEEN $1 AND $2 GROUP BY idx
             ORDER BY idx",
            &[&first, &last],
        )
        .await?;
    let mut all = Vec::with_capacity(((end - start) * 32) as usize);
    for r in rows {
        all.extend_from_slice(r.get::<_, &[u8]>(1));
    }
    let from = ((start % TILE_WIDTH) * 32) as usize;
    let to = from + ((end - start) * 32) as usize;
    Ok(all.get(from..to).map(<[u8]>::to_vec).unwrap_or_default())
}

/// The archived prefix of the log: its ranges, oldest first.
async fn archived_ranges(c: &tokio_postgres::Client) -> Result<Vec<crate::archive::Bundle>, tokio_postgres::Error> {
    let exists: bool = c
        .query_one("SELECT to_regclass('audit_archived') IS NOT NULL", &[])
        .await?
        .get(0);
    if !exists {
        // A log from before archival existed: nothing archived.
        return Ok(Vec::new());
    }
    Ok(c.query(
        "SELECT start, end_idx, location, sha256 FROM audit_archived ORDER BY start",
        &[],
    )
    .await?
    .iter()
    .map(|r| crate::archive::Bundle {
        start: r.get::<_, i64>(0) as u64,
        end: r.get::<_, i64>(1) as u64,
        file: r.get(2),
        sha256: r.get(3),
    })
    .collect())
}

/// Moves the entries of the log at `url` below `before` (rounded down to whole bundles of
/// `bundle` entries, and to the newest signed checkpoint: only what a signature covers leaves)
/// out of the database: into bundle files in `out`, or, with `out` `None` (a retention rule),
/// nowhere. Each bundle's entries are checked against their tiles first, its file written and
/// flushed, and then, in one transaction, its range recorded and its entries deleted. Tiles
/// stay, so proofs over archived ranges still verify. Returns the bundles archived now.
pub async fn archive(
    url: &str,
    out: Option<&std::path::Path>,
    before: u64,
    bundle: u64,
) -> Result<Vec<crate::archive::Bundle>, AuditError> {
    let pool = connect_pool(url)?;
    migrate(&pool).await?;
    archive_on(&pool, out, before, bundle).await
}

/// [`archive`] on a pool whose schema is up to date.
async fn archive_on(
    pool: &Pool,
    out: Option<&std::path::Path>,
    before: u64,
    bundle: u64,
) -> Result<Vec<crate::archive::Bundle>, AuditError> {
    use crate::archive::{Bundle, check_leaves, encode, file_name, sha256_hex, whole_tiles, write_durably};
    if !whole_tiles(bundle) {
        return Err(AuditError::Config(format!(
            "a bundle is a whole number of tiles: a multiple of {TILE_WIDTH} entries, not {bundle}"
        )));
    }
    let mut c = pool.get().await.map_err(pool_error)?;
    let signed: i64 = c
        .query_one("SELECT COALESCE(max(tree_size), 0) FROM audit_checkpoints", &[])
        .await
        .map_err(pg)?
        .get(0);
    let limit = before.min(signed as u64) / bundle * bundle;
    let archived_end: i64 = c
        .query_one("SELECT COALESCE(max(end_idx), 0) FROM audit_archived", &[])
        .await
        .map_err(pg)?
        .get(0);
    let mut start = unstored(archived_end)?;
    let mut done = Vec::new();
    while start + bundle <= limit {
        let end = start + bundle;
        let rows = c
            .query(
                "SELECT idx, leaf FROM audit_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
                &[&stored(start)?, &stored(end)?],
            )
            .await
            .map_err(pg)?;
        let mut leaves = Vec::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            if r.get::<_, i64>(0) != stored(start + i as u64)? {
                return Err(AuditError::Corrupt(format!("entry {} is missing", start + i as u64)));
            }
            // Bundles hold the canonical leaves, as the tree hashed them.
            let leaf = crate::codec::unpack(r.get(1))
                .map_err(|e| AuditError::Corrupt(format!("entry {}: {e}", start + i as u64)))?
                .into_owned();
            leaves.push(leaf);
        }
        let hashes = leaf_hashes(&c, start, end).await.map_err(pg)?;
        check_leaves(start, &leaves, &hashes)
            .map_err(|reason| AuditError::Corrupt(format!("archiving [{start}, {end}): {reason}")))?;
        let (file, sha) = match out {
            Some(dir) => {
                let bytes = encode(&leaves)?;
                let name = file_name(start, end);
                write_durably(dir, &name, &bytes)?;
                (Some(name), Some(sha256_hex(&bytes)))
            }
            None => (None, None),
        };
        let tx = c.transaction().await.map_err(pg)?;
        tx.execute(
            "INSERT INTO audit_archived (start, end_idx, location, sha256, archived_at)
             VALUES ($1, $2, $3, $4, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint)",
            &[&stored(start)?, &stored(end)?, &file, &sha],
        )
        .await
        .map_err(pg)?;
        tx.execute(
            "DELETE FROM audit_entries WHERE idx >= $1 AND idx < $2",
            &[&stored(start)?, &stored(end)?],
        )
        .await
        .map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        done.push(Bundle {
            start,
            end,
            file,
            sha256: sha,
        });
        start = end;
    }
    Ok(done)
}

/// Entries read and checked together when verifying.
const VERIFY_PAGE: i64 = 16_384;

/// Verifies the log in the PostgreSQL database at `url`, offline (no datapact server needed):
/// every entry parses, holds its own position and agrees with its index columns and with the
/// leaf hash its tile holds; the tree is recomputed from the entries, and every signed
/// checkpoint's signature and root are checked against it. Checkpoints are checked against
/// `origin`, or the origin the log records when `None`.
pub async fn verify(
    url: &str,
    origin: Option<&str>,
    pinned: Option<&[u8; 32]>,
) -> Result<crate::verify::Report, crate::verify::Failure> {
    verify_with_archive(url, origin, pinned, None).await
}

/// [`verify`], with the archived ranges' bundle files read from `archive` (each file's SHA-256,
/// and every entry in it against the leaf hash its tile holds). Without `archive`, archived
/// ranges are taken from their tiles.
pub async fn verify_with_archive(
    url: &str,
    origin: Option<&str>,
    pinned: Option<&[u8; 32]>,
    archive: Option<&std::path::Path>,
) -> Result<crate::verify::Report, crate::verify::Failure> {
    use crate::verify::{Failure, Report, check_entry, checkpoint_signature_ok};
    let unreadable = |e: tokio_postgres::Error| Failure::Unreadable(e.to_string());
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(unreadable)?;
    let task = tokio::spawn(conn);
    let stored_origin: Option<String> = client
        .query_opt("SELECT value FROM audit_meta WHERE key = 'origin'", &[])
        .await
        .map_err(unreadable)?
        .map(|r| r.get(0));
    let origin = match (origin, stored_origin) {
        (Some(o), _) => o.to_string(),
        (None, Some(o)) => o,
        (None, None) => return Err(Failure::Unreadable("the database holds no datapact audit log".into())),
    };
    let mut checkpoints = Vec::new();
    for r in client
        .query(
            "SELECT tree_size, checkpoint FROM audit_checkpoints ORDER BY tree_size DESC",
            &[],
        )
        .await
        .map_err(unreadable)?
    {
        let size = r.get::<_, i64>(0) as u64;
        let cp: Checkpoint = serde_json::from_str(r.get(1)).map_err(|e| Failure::Checkpoint {
            tree_size: size,
            reason: format!("does not parse: {e}"),
        })?;
        if cp.tree_size != size {
            return Err(Failure::Checkpoint {
                tree_size: size,
                reason: "stored under another size".into(),
            });
        }
        checkpoint_signature_ok(&cp, &origin, pinned).map_err(|reason| Failure::Checkpoint {
            tree_size: size,
            reason,
        })?;
        checkpoints.push(cp);
    }
    // Newest first: the next one to match is the last.
    let newest = checkpoints.first().map_or(0, |c| c.tree_size);
    let mut frontier = Frontier::default();
    let mut matched = 0usize;
    let mut check = |frontier: &Frontier, checkpoints: &mut Vec<Checkpoint>| {
        crate::verify::match_checkpoints(frontier, checkpoints, &mut matched)
    };
    check(&frontier, &mut checkpoints)?;
    let mut next: i64 = 0;
    // The archived prefix: leaf hashes from the tiles, and from the bundle files when given.
    let archived = archived_ranges(&client).await.map_err(unreadable)?;
    for b in &archived {
        if b.start != next as u64 {
            return Err(Failure::Entry {
                index: next as u64,
                reason: format!("the archived ranges leave a gap before {}", b.start),
            });
        }
        let hashes = leaf_hashes(&client, b.start, b.end).await.map_err(unreadable)?;
        if hashes.len() as u64 != (b.end - b.start) * 32 {
            return Err(Failure::Entry {
                index: b.start,
                reason: "an archived range's tiles are missing".into(),
            });
        }
        if let (Some(dir), Some(file)) = (archive, &b.file) {
            let bytes = std::fs::read(dir.join(file)).map_err(|e| Failure::Unreadable(format!("{file}: {e}")))?;
            let bad = |reason: String| Failure::Entry {
                index: b.start,
                reason: format!("archived in {file}: {reason}"),
            };
            if b.sha256.as_deref() != Some(crate::archive::sha256_hex(&bytes).as_str()) {
                return Err(bad("its SHA-256 is not the one recorded when it was archived".into()));
            }
            let leaves = crate::archive::decode(&bytes, b.end - b.start).map_err(bad)?;
            crate::archive::check_leaves(b.start, &leaves, &hashes).map_err(bad)?;
        }
        for h in hashes.chunks_exact(32) {
            let mut hash = [0u8; 32];
            hash.copy_from_slice(h);
            frontier.push(hash);
            check(&frontier, &mut checkpoints)?;
        }
        next = b.end as i64;
    }
    loop {
        let rows = client
            .query(
                "SELECT idx, org, tenant, product, action, purpose, outcome, leaf FROM audit_entries
                 WHERE idx >= $1 ORDER BY idx LIMIT $2",
                &[&next, &VERIFY_PAGE],
            )
            .await
            .map_err(unreadable)?;
        if rows.is_empty() {
            break;
        }
        // The level-0 tiles of this page: the leaf hashes the stored tree holds.
        let first_tile = next / TILE_WIDTH as i64;
        let last_tile = rows
            .last()
            .map_or(first_tile, |r| r.get::<_, i64>(0) / TILE_WIDTH as i64);
        let mut tiles: std::collections::HashMap<i64, Vec<u8>> = std::collections::HashMap::new();
        for r in client
            .query(
                "SELECT idx, hashes FROM audit_tiles WHERE level = 0 AND idx BETWEEN $1 AND $2
                 UNION ALL
                 SELECT idx, string_agg(hashes, ''::bytea ORDER BY start) FROM audit_tile_parts
                 WHERE level = 0 AND idx BETWEEN $1 AND $2 GROUP BY idx",
                &[&first_tile, &last_tile],
            )
            .await
            .map_err(unreadable)?
        {
            tiles.insert(r.get(0), r.get(1));
        }
        for r in &rows {
            let idx: i64 = r.get(0);
            if idx != next {
                return Err(Failure::Entry {
                    index: next as u64,
                    reason: "is missing (the next stored entry has a later position)".into(),
                });
            }
            let col = |i: usize| r.get::<_, Option<&str>>(i).map(str::as_bytes);
            let tile = tiles.get(&(idx / TILE_WIDTH as i64));
            let at = (idx % TILE_WIDTH as i64) as usize * 32;
            let stored = tile
                .and_then(|t| t.get(at..at + 32))
                .and_then(|b| <[u8; 32]>::try_from(b).ok());
            let leaf: &[u8] = r.get(7);
            let hash = check_entry(
                idx as u64,
                [col(1), col(2), col(3), col(4), col(5), col(6)],
                leaf,
                stored,
            )?;
            frontier.push(hash);
            check(&frontier, &mut checkpoints)?;
            next += 1;
        }
    }
    let head: i64 = client
        .query_one("SELECT size FROM audit_head WHERE id = 1", &[])
        .await
        .map_err(unreadable)?
        .get(0);
    drop(client);
    let _ = task.await;
    if head as u64 != frontier.size() {
        return Err(Failure::Entry {
            index: frontier.size(),
            reason: format!(
                "the log's head says {head} entries but {} are stored (entries were removed)",
                frontier.size()
            ),
        });
    }
    if let Some(cp) = checkpoints.last() {
        return Err(Failure::Checkpoint {
            tree_size: cp.tree_size,
            reason: format!("signs {} entries but the log holds {}", cp.tree_size, frontier.size()),
        });
    }
    Ok(Report {
        entries: frontier.size(),
        checkpoints: matched,
        unsigned_tail: frontier.size().saturating_sub(newest),
        root: B64.encode(frontier.root()),
        archived: archived.iter().map(|b| b.end - b.start).sum(),
    })
}
