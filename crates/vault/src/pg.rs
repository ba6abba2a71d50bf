//! The vault on PostgreSQL: a region's records and wrapped keys in the region's database
//! (records in schema `datapact_vault`, keys apart in schema `datapact_keys`, so they can be
//! granted and dumped separately), and the sealed secrets every node shares in the main one.
//!
//! The vault's API is blocking (callers run it on a blocking pool). The connections belong to
//! a small runtime of the vault's own; each operation is driven from the calling thread with
//! [`tokio::runtime::Handle::block_on`], so a transaction can run the vault's cryptography
//! between two statements.
//!
//! Several nodes share these tables, so what one process could guard with a lock is guarded
//! in the database: a write holds its key version `FOR SHARE` until it commits, and a
//! destruction takes the versions `FOR UPDATE`, so a write is wholly before a purge (and
//! purged with it) or wholly after (under a new key); key creation is serialized per tenant by
//! an advisory lock; reads return a record only while its key version is live, so a key still
//! cached by another node is never used after its destruction commits.

use std::collections::HashMap;
use std::future::Future;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;
use tokio_postgres::types::ToSql;

use crate::VaultError;
use crate::mining_pg;
use crate::region::{
    KeySelection, LiveKey, MessageChange, MessageCounts, MessageQuery, RawItem, RawMessage, RawRecord, RecordFilter,
    RegionStorage, UpdateOutcome, WrappedKey,
};

/// Schema versions of a region database, applied in order under [`MIGRATION_LOCK`].
const MIGRATIONS: &[&str] = &[
    r#"
CREATE SCHEMA IF NOT EXISTS datapact_vault;
CREATE SCHEMA IF NOT EXISTS datapact_keys;
CREATE TABLE datapact_vault.records (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    product TEXT NOT NULL,
    data_kind TEXT NOT NULL,
    categories TEXT NOT NULL,
    metadata TEXT,
    content_type TEXT NOT NULL,
    encoding TEXT NOT NULL CHECK (encoding IN ('text', 'bytes')),
    size BIGINT NOT NULL,
    key_version BIGINT NOT NULL,
    sealed BYTEA NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX records_by_tenant ON datapact_vault.records (tenant_id, id);
CREATE INDEX records_by_tenant_created ON datapact_vault.records (tenant_id, created_at);
CREATE INDEX records_by_tenant_key ON datapact_vault.records (tenant_id, key_version);
CREATE TABLE datapact_keys.tenant_keys (
    tenant_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    kek_id TEXT NOT NULL,
    wrapped BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, version)
);
CREATE TABLE datapact_keys.destroyed_keys (
    tenant_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    kek_id TEXT NOT NULL,
    destroyed_at BIGINT NOT NULL,
    purge TEXT,
    PRIMARY KEY (tenant_id, version)
);
CREATE INDEX destroyed_keys_by_purge ON datapact_keys.destroyed_keys (tenant_id, purge);
CREATE TABLE datapact_keys.closed_tenants (
    tenant_id TEXT PRIMARY KEY,
    closed_at BIGINT NOT NULL
);
"#,
    // Training datasets' shards: one row per item, sealed under its tenant's data key.
    r#"
CREATE TABLE datapact_vault.training_items (
    dataset_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    record_id TEXT NOT NULL,
    key_version BIGINT NOT NULL,
    sealed BYTEA NOT NULL,
    PRIMARY KEY (dataset_id, tenant_id, seq)
);
CREATE INDEX training_items_by_record ON datapact_vault.training_items (tenant_id, record_id);
CREATE INDEX training_items_by_key ON datapact_vault.training_items (tenant_id, key_version);
"#,
    crate::mining_pg::SCHEMA,
];

/// The advisory lock region migrations run under ("dpvault" in ASCII).
const MIGRATION_LOCK: i64 = 0x0064_7076_6175_6c74;

/// Connections per database and node.
const POOL_SIZE: usize = 16;

pub(crate) use crate::pg_error::pg;

fn pool_error(e: deadpool_postgres::PoolError) -> VaultError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => match pg(e) {
            VaultError::Postgres(m) => VaultError::Unavailable(m),
            other => other,
        },
        other => VaultError::Unavailable(other.to_string()),
    }
}

/// A connection pool on the vault's own runtime.
pub(crate) struct Pg {
    rt: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
    pool: Pool,
    label: String,
}

impl Drop for Pg {
    fn drop(&mut self) {
        // Dropping a runtime may happen on an async thread (the server's state is dropped
        // there): shut it down without waiting.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl Pg {
    /// A pool for `url`; `label` names the database in messages (never the URL, which may
    /// hold a password).
    pub(crate) fn connect(url: &str, label: &str) -> Result<Self, VaultError> {
        let config: tokio_postgres::Config = url.parse().map_err(|e| VaultError::Invalid {
            field: "storage.url".into(),
            message: format!("the database URL of {label} does not parse: {e}"),
        })?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("datapact-vault-pg")
            .enable_all()
            .build()
            .map_err(|e| VaultError::Io {
                path: "vault runtime".into(),
                source: e,
            })?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = {
            let _guard = rt.enter();
            Pool::builder(manager)
                .max_size(POOL_SIZE)
                .runtime(deadpool_postgres::Runtime::Tokio1)
                .wait_timeout(Some(std::time::Duration::from_secs(10)))
                .create_timeout(Some(std::time::Duration::from_secs(5)))
                .build()
                .map_err(|e| VaultError::Unavailable(e.to_string()))?
        };
        let handle = rt.handle().clone();
        Ok(Self {
            rt: Some(rt),
            handle,
            pool,
            label: label.to_string(),
        })
    }

    /// Runs `f` to completion from this (blocking) thread.
    pub(crate) fn block<F: Future>(&self, f: F) -> F::Output {
        self.handle.block_on(f)
    }

    pub(crate) fn client(&self) -> Result<deadpool_postgres::Object, VaultError> {
        self.block(self.pool.get()).map_err(pool_error)
    }

    /// Applies the migrations in `migrations` under `lock`, recording the version in `table`;
    /// a newer schema is refused.
    fn migrate(&self, lock: i64, table: &str, migrations: &[&str]) -> Result<(), VaultError> {
        let mut c = self.client()?;
        let tx = self.block(c.transaction()).map_err(pg)?;
        self.block(tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock]))
            .map_err(pg)?;
        self.block(tx.batch_execute(&format!(
            "SET LOCAL client_min_messages = warning; CREATE TABLE IF NOT EXISTS {table} (version INTEGER NOT NULL)"
        )))
        .map_err(pg)?;
        let version: i64 = match self
            .block(tx.query_opt(&format!("SELECT version FROM {table}"), &[]))
            .map_err(pg)?
        {
            Some(row) => i64::from(row.get::<_, i32>(0)),
            None => {
                self.block(tx.execute(&format!("INSERT INTO {table} (version) VALUES (0)"), &[]))
                    .map_err(pg)?;
                0
            }
        };
        let supported = migrations.len() as i64;
        if version > supported {
            return Err(VaultError::KeyStore(format!(
                "{}: the vault's schema version is {version}, newer than this datapact supports ({supported}); run the newer datapact",
                self.label
            )));
        }
        for (i, sql) in migrations.iter().enumerate().skip(version as usize) {
            self.block(tx.batch_execute(sql)).map_err(pg)?;
            let v = i as i32 + 1;
            self.block(tx.execute(&format!("UPDATE {table} SET version = $1"), &[&v]))
                .map_err(pg)?;
        }
        self.block(tx.commit()).map_err(pg)
    }
}

/// One region's records and keys in PostgreSQL.
pub(crate) struct PgRegion {
    pub(crate) db: Pg,
}

impl PgRegion {
    /// Connects to the region's database and brings its schema up to date.
    pub(crate) fn open(url: &str, region: &str) -> Result<Self, VaultError> {
        let db = Pg::connect(url, &format!("the database of region `{region}`"))?;
        // Schemas first, so the version table can live in one.
        db.migrate(MIGRATION_LOCK, "public.datapact_vault_schema", MIGRATIONS)?;
        Ok(Self { db })
    }

    /// Whether this region's database already holds keys or records (so its keyring must
    /// exist).
    pub(crate) fn has_data(&self) -> Result<bool, VaultError> {
        let c = self.db.client()?;
        let row = self
            .db
            .block(c.query_one(
                "SELECT EXISTS (SELECT 1 FROM datapact_keys.tenant_keys) OR EXISTS (SELECT 1 FROM datapact_keys.destroyed_keys)
                 OR EXISTS (SELECT 1 FROM datapact_vault.records)",
                &[],
            ))
            .map_err(pg)?;
        Ok(row.get(0))
    }
}

const COLUMNS: &str = "id, tenant_id, product, data_kind, categories, metadata, content_type, encoding, size, key_version, version, created_at, updated_at";

/// A record is visible only while its key version is live.
const LIVE: &str =
    "EXISTS (SELECT 1 FROM datapact_keys.tenant_keys k WHERE k.tenant_id = r.tenant_id AND k.version = r.key_version)";

fn raw(r: &tokio_postgres::Row, content: bool) -> RawRecord {
    RawRecord {
        id: r.get(0),
        tenant: r.get(1),
        product: r.get(2),
        data_kind: r.get(3),
        categories: r.get(4),
        metadata: r.get(5),
        content_type: r.get(6),
        encoding: r.get(7),
        size: r.get(8),
        key_version: r.get(9),
        version: r.get(10),
        created_at: r.get(11),
        updated_at: r.get(12),
        sealed: if content { r.get(13) } else { Vec::new() },
    }
}

fn versions(v: &[u32]) -> Vec<i64> {
    v.iter().map(|x| i64::from(*x)).collect()
}

impl PgRegion {
    fn write_row(&self, tx: &deadpool_postgres::Transaction<'_>, m: &RawRecord) -> Result<(), VaultError> {
        self.db
            .block(tx.execute(
                "UPDATE datapact_vault.records SET categories = $3, metadata = $4, content_type = $5, encoding = $6, size = $7,
                 key_version = $8, sealed = $9, version = $10, updated_at = $11 WHERE id = $1 AND tenant_id = $2",
                &[
                    &m.id,
                    &m.tenant,
                    &m.categories,
                    &m.metadata,
                    &m.content_type,
                    &m.encoding,
                    &m.size,
                    &m.key_version,
                    &m.sealed,
                    &m.version,
                    &m.updated_at,
                ],
            ))
            .map_err(pg)?;
        Ok(())
    }

    /// Inserts records in `tx`, one statement for the batch.
    fn insert_records(&self, tx: &deadpool_postgres::Transaction<'_>, rows: &[RawRecord]) -> Result<(), VaultError> {
        // One statement for the whole batch: columns as arrays, unnested.
        let col = |f: fn(&RawRecord) -> String| rows.iter().map(f).collect::<Vec<String>>();
        let ids = col(|m| m.id.clone());
        let tenants = col(|m| m.tenant.clone());
        let products = col(|m| m.product.clone());
        let kinds = col(|m| m.data_kind.clone());
        let categories = col(|m| m.categories.clone());
        let metadata: Vec<Option<String>> = rows.iter().map(|m| m.metadata.clone()).collect();
        let content_types = col(|m| m.content_type.clone());
        let encodings = col(|m| m.encoding.clone());
        let num = |f: fn(&RawRecord) -> i64| rows.iter().map(f).collect::<Vec<i64>>();
        let sizes = num(|m| m.size);
        let key_versions = num(|m| m.key_version);
        let versions = num(|m| m.version);
        let created = num(|m| m.created_at);
        let updated = num(|m| m.updated_at);
        let sealed: Vec<&[u8]> = rows.iter().map(|m| m.sealed.as_slice()).collect();
        self.db
            .block(tx.execute(
                "INSERT INTO datapact_vault.records (id, tenant_id, product, data_kind, categories, metadata, content_type,
                 encoding, size, key_version, sealed, version, created_at, updated_at)
                 SELECT * FROM unnest($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[], $7::TEXT[],
                 $8::TEXT[], $9::BIGINT[], $10::BIGINT[], $11::BYTEA[], $12::BIGINT[], $13::BIGINT[], $14::BIGINT[])",
                &[
                    &ids,
                    &tenants,
                    &products,
                    &kinds,
                    &categories,
                    &metadata,
                    &content_types,
                    &encodings,
                    &sizes,
                    &key_versions,
                    &sealed,
                    &versions,
                    &created,
                    &updated,
                ],
            ))
            .map_err(pg)?;
        Ok(())
    }

    /// Holds `version` of `tenant` `FOR SHARE` in `tx`; false if it is not live.
    fn hold_key(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        tenant: &str,
        version: u32,
    ) -> Result<bool, VaultError> {
        let row = self
            .db
            .block(tx.query_opt(
                "SELECT 1 FROM datapact_keys.tenant_keys WHERE tenant_id = $1 AND version = $2 FOR SHARE",
                &[&tenant, &i64::from(version)],
            ))
            .map_err(pg)?;
        Ok(row.is_some())
    }

    fn query(&self, sql: &str, args: &[&(dyn ToSql + Sync)]) -> Result<Vec<tokio_postgres::Row>, VaultError> {
        let c = self.db.client()?;
        self.db.block(c.query(sql, args)).map_err(pg)
    }

    fn execute(&self, sql: &str, args: &[&(dyn ToSql + Sync)]) -> Result<u64, VaultError> {
        let c = self.db.client()?;
        self.db.block(c.execute(sql, args)).map_err(pg)
    }
}

impl RegionStorage for PgRegion {
    fn dir(&self) -> Option<&std::path::Path> {
        None
    }

    fn wrapped_key(&self, tenant: &str, version: u32) -> Result<Option<WrappedKey>, VaultError> {
        let rows = self.query(
            "SELECT kek_id, wrapped FROM datapact_keys.tenant_keys WHERE tenant_id = $1 AND version = $2",
            &[&tenant, &i64::from(version)],
        )?;
        Ok(rows.first().map(|r| WrappedKey {
            kek_id: r.get(0),
            sealed: r.get(1),
        }))
    }

    fn live_keys(&self, tenant: &str) -> Result<Vec<LiveKey>, VaultError> {
        let rows = self.query(
            "SELECT version, kek_id, created_at FROM datapact_keys.tenant_keys WHERE tenant_id = $1 ORDER BY version",
            &[&tenant],
        )?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<_, i64>(0) as u32, r.get(1), r.get(2)))
            .collect())
    }

    fn max_version(&self, tenant: &str) -> Result<u32, VaultError> {
        let rows = self.query(
            "SELECT GREATEST((SELECT MAX(version) FROM datapact_keys.tenant_keys WHERE tenant_id = $1),
                             (SELECT MAX(version) FROM datapact_keys.destroyed_keys WHERE tenant_id = $1))",
            &[&tenant],
        )?;
        Ok(rows.first().and_then(|r| r.get::<_, Option<i64>>(0)).unwrap_or(0) as u32)
    }

    fn create_key(
        &self,
        tenant: &str,
        now: i64,
        make: &mut dyn FnMut(u32) -> Result<WrappedKey, VaultError>,
    ) -> Result<Option<u32>, VaultError> {
        let mut c = self.db.client()?;
        let tx = self.db.block(c.transaction()).map_err(pg)?;
        self.db
            .block(tx.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended('datapact.tenant-keys|' || $1, 0))",
                &[&tenant],
            ))
            .map_err(pg)?;
        let closed = self
            .db
            .block(tx.query_opt(
                "SELECT 1 FROM datapact_keys.closed_tenants WHERE tenant_id = $1",
                &[&tenant],
            ))
            .map_err(pg)?;
        if closed.is_some() {
            return Ok(None);
        }
        let max: Option<i64> = self
            .db
            .block(tx.query_one(
                "SELECT GREATEST((SELECT MAX(version) FROM datapact_keys.tenant_keys WHERE tenant_id = $1),
                                 (SELECT MAX(version) FROM datapact_keys.destroyed_keys WHERE tenant_id = $1))",
                &[&tenant],
            ))
            .map_err(pg)?
            .get(0);
        let version = max.unwrap_or(0) as u32 + 1;
        let wrapped = make(version)?;
        self.db
            .block(tx.execute(
                "INSERT INTO datapact_keys.tenant_keys (tenant_id, version, kek_id, wrapped, created_at) VALUES ($1, $2, $3, $4, $5)",
                &[&tenant, &i64::from(version), &wrapped.kek_id, &wrapped.sealed, &now],
            ))
            .map_err(pg)?;
        self.db.block(tx.commit()).map_err(pg)?;
        Ok(Some(version))
    }

    fn destroy_keys(
        &self,
        tenant: &str,
        which: KeySelection<'_>,
        purge: Option<&str>,
        close: bool,
        now: i64,
    ) -> Result<Vec<(u32, String)>, VaultError> {
        let mut c = self.db.client()?;
        let tx = self.db.block(c.transaction()).map_err(pg)?;
        // FOR UPDATE waits for every write that holds one of these versions FOR SHARE.
        let rows = self
            .db
            .block(tx.query(
                "SELECT version, kek_id FROM datapact_keys.tenant_keys WHERE tenant_id = $1 ORDER BY version FOR UPDATE",
                &[&tenant],
            ))
            .map_err(pg)?;
        let mut taken: Vec<(u32, String)> = rows
            .iter()
            .map(|r| (r.get::<_, i64>(0) as u32, r.get::<_, String>(1)))
            .filter(|(v, _)| which.takes(*v))
            .collect();
        if let KeySelection::Unused(_) = which {
            // Writes under these versions have committed (their FOR SHARE is released):
            // a version that now encrypts a record stays.
            let asked: Vec<i64> = taken.iter().map(|(v, _)| i64::from(*v)).collect();
            let used: Vec<i64> = self
                .db
                .block(tx.query(
                    "SELECT DISTINCT key_version FROM datapact_vault.records WHERE tenant_id = $1 AND key_version = ANY($2)
                     UNION SELECT DISTINCT key_version FROM datapact_vault.training_items WHERE tenant_id = $1 AND key_version = ANY($2)",
                    &[&tenant, &asked],
                ))
                .map_err(pg)?
                .iter()
                .map(|r| r.get(0))
                .collect();
            taken.retain(|(v, _)| !used.contains(&i64::from(*v)));
        }
        for (v, kek) in &taken {
            let v = i64::from(*v);
            self.db
                .block(tx.execute(
                    "INSERT INTO datapact_keys.destroyed_keys (tenant_id, version, kek_id, destroyed_at, purge)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (tenant_id, version) DO UPDATE SET kek_id = $3, destroyed_at = $4, purge = $5",
                    &[&tenant, &v, kek, &now, &purge],
                ))
                .map_err(pg)?;
            self.db
                .block(tx.execute(
                    "DELETE FROM datapact_keys.tenant_keys WHERE tenant_id = $1 AND version = $2",
                    &[&tenant, &v],
                ))
                .map_err(pg)?;
        }
        if close {
            self.db
                .block(tx.execute(
                    "INSERT INTO datapact_keys.closed_tenants (tenant_id, closed_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    &[&tenant, &now],
                ))
                .map_err(pg)?;
        }
        self.db.block(tx.commit()).map_err(pg)?;
        Ok(taken)
    }

    fn destroyed_keys(&self, tenant: &str, purge: Option<&str>) -> Result<Vec<LiveKey>, VaultError> {
        let rows = self.query(
            "SELECT version, kek_id, destroyed_at FROM datapact_keys.destroyed_keys
             WHERE tenant_id = $1 AND ($2::TEXT IS NULL OR purge = $2) ORDER BY version",
            &[&tenant, &purge],
        )?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<_, i64>(0) as u32, r.get(1), r.get(2)))
            .collect())
    }

    fn insert(&self, tenant: &str, key_version: u32, rows: &[RawRecord]) -> Result<bool, VaultError> {
        let mut c = self.db.client()?;
        let tx = self.db.block(c.transaction()).map_err(pg)?;
        if !self.hold_key(&tx, tenant, key_version)? {
            return Ok(false);
        }
        self.insert_records(&tx, rows)?;
        self.db.block(tx.commit()).map_err(pg)?;
        Ok(true)
    }

    fn fetch_many(&self, tenant: &str, ids: &[String]) -> Result<Vec<RawRecord>, VaultError> {
        let rows = self.query(
            &format!(
                "SELECT {COLUMNS}, sealed FROM datapact_vault.records r WHERE id = ANY($1) AND tenant_id = $2 AND {LIVE}"
            ),
            &[&ids, &tenant],
        )?;
        Ok(rows.iter().map(|r| raw(r, true)).collect())
    }

    fn fetch(&self, tenant: &str, id: &str, content: bool) -> Result<Option<RawRecord>, VaultError> {
        let cols = if content {
            format!("{COLUMNS}, sealed")
        } else {
            COLUMNS.to_string()
        };
        let rows = self.query(
            &format!("SELECT {cols} FROM datapact_vault.records r WHERE id = $1 AND tenant_id = $2 AND {LIVE}"),
            &[&id, &tenant],
        )?;
        Ok(rows.first().map(|r| raw(r, content)))
    }

    fn list(&self, tenant: &str, live: &[u32], f: &RecordFilter<'_>) -> Result<Vec<RawRecord>, VaultError> {
        let live = versions(live);
        let limit = f.limit.clamp(1, 10_000) as i64;
        let rows = self.query(
            &format!(
                "SELECT {COLUMNS} FROM datapact_vault.records r WHERE tenant_id = $1 AND key_version = ANY($2)
                 AND ($3::TEXT IS NULL OR product = $3) AND ($4::TEXT IS NULL OR data_kind = $4)
                 AND ($5::TEXT IS NULL OR EXISTS (SELECT 1 FROM jsonb_array_elements_text(r.categories::jsonb) j(c)
                      WHERE j.c = $5 OR left(j.c, length($5) + 1) = $5 || '.'))
                 AND ($6::BIGINT IS NULL OR created_at >= $6) AND ($7::BIGINT IS NULL OR created_at < $7)
                 AND ($8::TEXT IS NULL OR id > $8) AND {LIVE}
                 ORDER BY id LIMIT $9"
            ),
            &[
                &tenant,
                &live,
                &f.product,
                &f.data_kind,
                &f.category,
                &f.created_after,
                &f.created_before,
                &f.after,
                &limit,
            ],
        )?;
        Ok(rows.iter().map(|r| raw(r, false)).collect())
    }

    fn count(&self, tenant: &str, product: Option<&str>, live: &[u32]) -> Result<u64, VaultError> {
        let rows = self.query(
            "SELECT COUNT(*) FROM datapact_vault.records WHERE tenant_id = $1 AND ($2::TEXT IS NULL OR product = $2)
             AND key_version = ANY($3)",
            &[&tenant, &product, &versions(live)],
        )?;
        Ok(rows.first().map_or(0, |r| r.get::<_, i64>(0)) as u64)
    }

    fn counts_by_key(&self, tenant: &str) -> Result<HashMap<u32, u64>, VaultError> {
        let rows = self.query(
            "SELECT key_version, SUM(n)::BIGINT FROM (
               SELECT key_version, COUNT(*) AS n FROM datapact_vault.records WHERE tenant_id = $1 GROUP BY key_version
               UNION ALL
               SELECT key_version, COUNT(*) FROM datapact_vault.training_items WHERE tenant_id = $1 GROUP BY key_version
             ) AS counts GROUP BY key_version",
            &[&tenant],
        )?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<_, i64>(0) as u32, r.get::<_, i64>(1) as u64))
            .collect())
    }

    fn update(
        &self,
        tenant: &str,
        id: &str,
        key_version: u32,
        change: &mut dyn FnMut(RawRecord) -> Result<RawRecord, VaultError>,
    ) -> Result<UpdateOutcome, VaultError> {
        let mut c = self.db.client()?;
        let tx = self.db.block(c.transaction()).map_err(pg)?;
        if !self.hold_key(&tx, tenant, key_version)? {
            return Ok(UpdateOutcome::KeyGone);
        }
        let row = self
            .db
            .block(tx.query_opt(
                &format!(
                    "SELECT {COLUMNS}, sealed FROM datapact_vault.records r WHERE id = $1 AND tenant_id = $2 AND {LIVE} FOR UPDATE"
                ),
                &[&id, &tenant],
            ))
            .map_err(pg)?;
        let Some(row) = row else {
            return Ok(UpdateOutcome::Missing);
        };
        let new = change(raw(&row, true))?;
        self.write_row(&tx, &new)?;
        self.db.block(tx.commit()).map_err(pg)?;
        Ok(UpdateOutcome::Done(Some(Box::new(new)), 1))
    }

    fn delete(&self, tenant: &str, id: &str) -> Result<usize, VaultError> {
        Ok(self.execute(
            "DELETE FROM datapact_vault.records WHERE id = $1 AND tenant_id = $2",
            &[&id, &tenant],
        )? as usize)
    }

    fn page(
        &self,
        tenant: &str,
        after: &str,
        product: Option<&str>,
        kind: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RawRecord>, VaultError> {
        let rows = self.query(
            &format!(
                "SELECT {COLUMNS}, sealed FROM datapact_vault.records r WHERE tenant_id = $1 AND id > $2
                 AND ($3::TEXT IS NULL OR product = $3) AND ($5::TEXT IS NULL OR data_kind = $5) AND {LIVE}
                 ORDER BY id LIMIT $4"
            ),
            &[&tenant, &after, &product, &(limit as i64), &kind],
        )?;
        Ok(rows.iter().map(|r| raw(r, true)).collect())
    }

    fn remove_rows(&self, tenant: &str, versions_: &[u32], batch: usize) -> Result<usize, VaultError> {
        let records = self.execute(
            "DELETE FROM datapact_vault.records WHERE id IN (SELECT id FROM datapact_vault.records
             WHERE tenant_id = $1 AND key_version = ANY($2) LIMIT $3)",
            &[&tenant, &versions(versions_), &(batch as i64)],
        )? as usize;
        if records > 0 {
            return Ok(records);
        }
        Ok(self.execute(
            "DELETE FROM datapact_vault.training_items WHERE (dataset_id, tenant_id, seq) IN (
               SELECT dataset_id, tenant_id, seq FROM datapact_vault.training_items
               WHERE tenant_id = $1 AND key_version = ANY($2) LIMIT $3)",
            &[&tenant, &versions(versions_), &(batch as i64)],
        )? as usize)
    }

    fn reencrypt(
        &self,
        tenant: &str,
        active: u32,
        live: &[u32],
        batch: usize,
        reseal: &mut dyn FnMut(RawRecord) -> Result<RawRecord, VaultError>,
    ) -> Result<UpdateOutcome, VaultError> {
        let mut c = self.db.client()?;
        let tx = self.db.block(c.transaction()).map_err(pg)?;
        if !self.hold_key(&tx, tenant, active)? {
            return Ok(UpdateOutcome::KeyGone);
        }
        let rows = self
            .db
            .block(tx.query(
                &format!(
                    "SELECT {COLUMNS}, sealed FROM datapact_vault.records r WHERE tenant_id = $1 AND key_version != $2
                     AND key_version = ANY($3) AND {LIVE} LIMIT $4 FOR UPDATE SKIP LOCKED"
                ),
                &[&tenant, &i64::from(active), &versions(live), &(batch as i64)],
            ))
            .map_err(pg)?;
        let moved = rows.len();
        for row in &rows {
            let new = reseal(raw(row, true))?;
            self.write_row(&tx, &new)?;
        }
        self.db.block(tx.commit()).map_err(pg)?;
        Ok(UpdateOutcome::Done(None, moved))
    }

    fn remaining(&self, tenant: &str, active: u32, live: &[u32]) -> Result<u64, VaultError> {
        let rows = self.query(
            "SELECT (SELECT COUNT(*) FROM datapact_vault.records WHERE tenant_id = $1 AND key_version != $2 AND key_version = ANY($3))
             + (SELECT COUNT(*) FROM datapact_vault.training_items WHERE tenant_id = $1 AND key_version != $2 AND key_version = ANY($3))",
            &[&tenant, &i64::from(active), &versions(live)],
        )?;
        Ok(rows.first().map_or(0, |r| r.get::<_, i64>(0)) as u64)
    }

    fn reencrypt_items(
        &self,
        tenant: &str,
        active: u32,
        live: &[u32],
        batch: usize,
        reseal: &mut crate::region::ItemReseal<'_>,
    ) -> Result<UpdateOutcome, VaultError> {
        let mut c = self.db.client()?;
        let tx = self.db.block(c.transaction()).map_err(pg)?;
        if !self.hold_key(&tx, tenant, active)? {
            return Ok(UpdateOutcome::KeyGone);
        }
        let rows = self
            .db
            .block(tx.query(
                "SELECT dataset_id, seq, record_id, key_version, sealed FROM datapact_vault.training_items
                 WHERE tenant_id = $1 AND key_version != $2 AND key_version = ANY($3) LIMIT $4 FOR UPDATE SKIP LOCKED",
                &[&tenant, &i64::from(active), &versions(live), &(batch as i64)],
            ))
            .map_err(pg)?;
        let moved = rows.len();
        for row in &rows {
            let dataset: String = row.get(0);
            let item = RawItem {
                seq: row.get(1),
                record_id: row.get(2),
                key_version: row.get(3),
                sealed: row.get(4),
            };
            let sealed = reseal(&dataset, &item)?;
            self.db
                .block(tx.execute(
                    "UPDATE datapact_vault.training_items SET key_version = $4, sealed = $5
                     WHERE dataset_id = $1 AND tenant_id = $2 AND seq = $3",
                    &[&dataset, &tenant, &item.seq, &i64::from(active), &sealed],
                ))
                .map_err(pg)?;
        }
        self.db.block(tx.commit()).map_err(pg)?;
        Ok(UpdateOutcome::Done(None, moved))
    }

    fn sweep(&self, tenant: &str, cutoff: i64, product: Option<&str>, kind: Option<&str>) -> Result<usize, VaultError> {
        // One statement: the records and the training items made from them go together.
        let rows = self.query(
            "WITH gone AS (DELETE FROM datapact_vault.records WHERE tenant_id = $1 AND created_at < $2
               AND ($3::TEXT IS NULL OR product = $3) AND ($4::TEXT IS NULL OR data_kind = $4) RETURNING id),
             items AS (DELETE FROM datapact_vault.training_items WHERE tenant_id = $1
               AND record_id IN (SELECT id FROM gone) RETURNING 1)
             SELECT (SELECT COUNT(*) FROM gone), (SELECT COUNT(*) FROM items)",
            &[&tenant, &cutoff, &product, &kind],
        )?;
        Ok(rows.first().map_or(0, |r| r.get::<_, i64>(0)) as usize)
    }

    fn swept_items(
        &self,
        tenant: &str,
        cutoff: i64,
        product: Option<&str>,
        kind: Option<&str>,
    ) -> Result<Vec<(String, String)>, VaultError> {
        let rows = self.query(
            "SELECT DISTINCT i.dataset_id, i.record_id FROM datapact_vault.training_items i
             JOIN datapact_vault.records r ON r.id = i.record_id AND r.tenant_id = i.tenant_id
             WHERE i.tenant_id = $1 AND r.created_at < $2 AND ($3::TEXT IS NULL OR r.product = $3)
             AND ($4::TEXT IS NULL OR r.data_kind = $4)",
            &[&tenant, &cutoff, &product, &kind],
        )?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn raw_sealed(&self, id: &str) -> Result<Option<Vec<u8>>, VaultError> {
        let rows = self.query("SELECT sealed FROM datapact_vault.records WHERE id = $1", &[&id])?;
        Ok(rows.first().map(|r| r.get(0)))
    }

    fn checkpoint(&self) -> Result<(), VaultError> {
        Ok(())
    }

    fn insert_items(
        &self,
        dataset: &str,
        tenant: &str,
        key_version: u32,
        rows: &[RawItem],
    ) -> Result<bool, VaultError> {
        let mut c = self.db.client()?;
        let tx = self.db.block(c.transaction()).map_err(pg)?;
        if !self.hold_key(&tx, tenant, key_version)? {
            return Ok(false);
        }
        let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
        let records: Vec<&str> = rows.iter().map(|r| r.record_id.as_str()).collect();
        let keys: Vec<i64> = rows.iter().map(|r| r.key_version).collect();
        let sealed: Vec<&[u8]> = rows.iter().map(|r| r.sealed.as_slice()).collect();
        self.db
            .block(tx.execute(
                "INSERT INTO datapact_vault.training_items (dataset_id, tenant_id, seq, record_id, key_version, sealed)
                 SELECT $1, $2, * FROM unnest($3::BIGINT[], $4::TEXT[], $5::BIGINT[], $6::BYTEA[])",
                &[&dataset, &tenant, &seqs, &records, &keys, &sealed],
            ))
            .map_err(pg)?;
        self.db.block(tx.commit()).map_err(pg)?;
        Ok(true)
    }

    fn items(&self, dataset: &str, tenant: &str, after: i64, limit: usize) -> Result<Vec<RawItem>, VaultError> {
        let rows = self.query(
            "SELECT seq, record_id, key_version, sealed FROM datapact_vault.training_items
             WHERE dataset_id = $1 AND tenant_id = $2 AND seq > $3 ORDER BY seq LIMIT $4",
            &[&dataset, &tenant, &after, &(limit as i64)],
        )?;
        Ok(rows
            .iter()
            .map(|r| RawItem {
                seq: r.get(0),
                record_id: r.get(1),
                key_version: r.get(2),
                sealed: r.get(3),
            })
            .collect())
    }

    fn drop_items(&self, dataset: &str, tenant: &str) -> Result<usize, VaultError> {
        Ok(self.execute(
            "DELETE FROM datapact_vault.training_items WHERE dataset_id = $1 AND tenant_id = $2",
            &[&dataset, &tenant],
        )? as usize)
    }

    fn item_key_versions(&self, dataset: &str, tenant: &str) -> Result<Vec<u32>, VaultError> {
        let rows = self.query(
            "SELECT DISTINCT key_version FROM datapact_vault.training_items WHERE dataset_id = $1 AND tenant_id = $2",
            &[&dataset, &tenant],
        )?;
        Ok(rows.iter().map(|r| r.get::<_, i64>(0) as u32).collect())
    }

    fn stale_items(&self, dataset: &str, tenant: &str, since: i64) -> Result<u64, VaultError> {
        let rows = self.query(
            "SELECT COUNT(*) FROM datapact_vault.training_items i WHERE i.dataset_id = $1 AND i.tenant_id = $2
             AND NOT EXISTS (SELECT 1 FROM datapact_vault.records r WHERE r.id = i.record_id AND r.tenant_id = $2
             AND r.updated_at <= $3)",
            &[&dataset, &tenant, &since],
        )?;
        Ok(rows.first().map_or(0, |r| r.get::<_, i64>(0)).max(0) as u64)
    }

    fn remove_record_items(&self, tenant: &str, record: &str) -> Result<usize, VaultError> {
        Ok(self.execute(
            "DELETE FROM datapact_vault.training_items WHERE tenant_id = $1 AND record_id = $2",
            &[&tenant, &record],
        )? as usize)
    }

    fn insert_messages(
        &self,
        tenant: &str,
        key_version: u32,
        rows: &[RawRecord],
        msgs: &[RawMessage],
    ) -> Result<bool, VaultError> {
        let mut c = self.db.client()?;
        let tx = self.db.block(c.transaction()).map_err(pg)?;
        if !self.hold_key(&tx, tenant, key_version)? {
            return Ok(false);
        }
        self.insert_records(&tx, rows)?;
        self.db.block(mining_pg::insert(&*tx, tenant, msgs))?;
        self.db.block(tx.commit()).map_err(pg)?;
        Ok(true)
    }

    fn message(&self, tenant: &str, dataset: &str, key: &str) -> Result<Option<RawMessage>, VaultError> {
        let c = self.db.client()?;
        self.db.block(mining_pg::one(&**c, tenant, dataset, key))
    }

    fn messages(&self, tenant: &str, dataset: &str, q: &MessageQuery<'_>) -> Result<Vec<RawMessage>, VaultError> {
        let c = self.db.client()?;
        self.db.block(mining_pg::query(&**c, tenant, dataset, q))
    }

    fn messages_by_key(&self, tenant: &str, dataset: &str, keys: &[String]) -> Result<Vec<RawMessage>, VaultError> {
        let c = self.db.client()?;
        self.db.block(mining_pg::by_keys(&**c, tenant, dataset, keys))
    }

    fn message_by_record(&self, tenant: &str, record: &str) -> Result<Option<RawMessage>, VaultError> {
        let c = self.db.client()?;
        self.db.block(mining_pg::by_record(&**c, tenant, record))
    }

    fn change_messages(&self, tenant: &str, dataset: &str, changes: &[MessageChange]) -> Result<usize, VaultError> {
        let mut c = self.db.client()?;
        let tx = self.db.block(c.transaction()).map_err(pg)?;
        let n = self.db.block(mining_pg::change(&*tx, tenant, dataset, changes))?;
        self.db.block(tx.commit()).map_err(pg)?;
        Ok(n)
    }

    fn remove_message_labels(&self, tenant: &str, dataset: &str, ids: &[(u32, Option<u32>)]) -> Result<(), VaultError> {
        let mut c = self.db.client()?;
        let tx = self.db.block(c.transaction()).map_err(pg)?;
        self.db.block(mining_pg::remove_labels(&*tx, tenant, dataset, ids))?;
        self.db.block(tx.commit()).map_err(pg)
    }

    fn message_counts(&self, tenant: &str, dataset: &str) -> Result<MessageCounts, VaultError> {
        let c = self.db.client()?;
        self.db.block(mining_pg::counts(&**c, tenant, dataset))
    }

    fn datasets_holding(&self, tenant: &str, record: &str) -> Result<Vec<String>, VaultError> {
        let rows = self.query(
            "SELECT DISTINCT dataset_id FROM datapact_vault.training_items WHERE tenant_id = $1 AND record_id = $2",
            &[&tenant, &record],
        )?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}

/// The sealed secrets every node shares (master key check, region keyrings, signing key,
/// correlation key), one row each, in the main database.
pub(crate) struct PgSecrets {
    db: Pg,
}

const SECRETS_LOCK: i64 = 0x0064_7073_6563_7274;
const SECRETS_MIGRATIONS: &[&str] = &[
    "CREATE TABLE datapact_secrets (name TEXT PRIMARY KEY, body TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now())",
];

impl PgSecrets {
    pub(crate) fn open(url: &str) -> Result<Self, VaultError> {
        let db = Pg::connect(url, "the main database")?;
        db.migrate(SECRETS_LOCK, "datapact_secrets_schema", SECRETS_MIGRATIONS)?;
        Ok(Self { db })
    }

    /// Whether no secret is stored.
    pub(crate) fn is_empty(&self) -> Result<bool, VaultError> {
        let c = self.db.client()?;
        let row = self
            .db
            .block(c.query_one("SELECT NOT EXISTS (SELECT 1 FROM datapact_secrets)", &[]))
            .map_err(pg)?;
        Ok(row.get(0))
    }

    /// The stored body under `name`.
    pub(crate) fn read(&self, name: &str) -> Result<Option<String>, VaultError> {
        let c = self.db.client()?;
        let row = self
            .db
            .block(c.query_opt("SELECT body FROM datapact_secrets WHERE name = $1", &[&name]))
            .map_err(pg)?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Stores `body` under `name` unless a body is there already; returns the stored one (a
    /// node that lost a race to create it gets the winner's).
    pub(crate) fn create(&self, name: &str, body: &str) -> Result<String, VaultError> {
        let c = self.db.client()?;
        self.db
            .block(c.execute(
                "INSERT INTO datapact_secrets (name, body) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                &[&name, &body],
            ))
            .map_err(pg)?;
        self.read(name)?
            .ok_or_else(|| VaultError::KeyStore(format!("the shared secret `{name}` vanished while it was created")))
    }
}
