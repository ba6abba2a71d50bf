//! One region's storage: `vault.db` holds records (ciphertext and metadata), `keys.db` holds
//! the tenants' wrapped data keys. They are separate files so that backups of the data never
//! carry the keys that decrypt it: destroying a key makes every copy of its data unreadable.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use crate::mining_sqlite;
use crate::region::{
    KeySelection, LiveKey, MessageChange, MessageCounts, MessageQuery, RawItem, RawMessage, RawRecord, RecordFilter,
    RegionStorage, UpdateOutcome, WrappedKey,
};

use crate::VaultError;

const VAULT_SCHEMA: &[&str] = &[
    r#"
CREATE TABLE records (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    product TEXT NOT NULL,
    data_kind TEXT NOT NULL,
    categories TEXT NOT NULL,
    metadata TEXT,
    content_type TEXT NOT NULL,
    encoding TEXT NOT NULL CHECK (encoding IN ('text', 'bytes')),
    size INTEGER NOT NULL,
    key_version INTEGER NOT NULL,
    sealed BLOB NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX records_by_tenant ON records(tenant_id, id);
CREATE INDEX records_by_tenant_created ON records(tenant_id, created_at);
CREATE INDEX records_by_tenant_key ON records(tenant_id, key_version);
"#,
    // Training datasets' shards: one row per item, sealed under its tenant's data key.
    r#"
CREATE TABLE training_items (
    dataset_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    record_id TEXT NOT NULL,
    key_version INTEGER NOT NULL,
    sealed BLOB NOT NULL,
    PRIMARY KEY (dataset_id, tenant_id, seq)
) STRICT;
CREATE INDEX training_items_by_record ON training_items(tenant_id, record_id);
CREATE INDEX training_items_by_key ON training_items(tenant_id, key_version);
"#,
    crate::mining_sqlite::SCHEMA,
];

const KEYS_SCHEMA: &[&str] = &[
    r#"
CREATE TABLE tenant_keys (
    tenant_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    kek_id TEXT NOT NULL,
    wrapped BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, version)
) STRICT;
CREATE TABLE destroyed_keys (
    tenant_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    kek_id TEXT NOT NULL,
    destroyed_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, version)
) STRICT;
"#,
    r#"
ALTER TABLE destroyed_keys ADD COLUMN purge TEXT;
CREATE INDEX destroyed_keys_by_purge ON destroyed_keys(tenant_id, purge);
CREATE TABLE closed_tenants (
    tenant_id TEXT PRIMARY KEY,
    closed_at INTEGER NOT NULL
) STRICT;
"#,
];

/// How long a checkpoint that readers keep from completing is retried.
pub(crate) const CHECKPOINT_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

/// A SQLite database with one writer connection and a few readers (WAL lets them run together).
pub(crate) struct Db {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

fn open_conn(path: &Path) -> Result<Connection, VaultError> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Overwrite deleted content with zeros so removed rows and replaced ciphertext do not
    // linger in free pages.
    conn.pragma_update(None, "secure_delete", "ON")?;
    // Communications Mining's index rows go with their records (`ON DELETE CASCADE`).
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}

impl Db {
    fn open(path: PathBuf, schema: &[&str]) -> Result<Self, VaultError> {
        let mut writer = open_conn(&path)?;
        let version: i64 = writer.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let supported = schema.len() as i64;
        if version > supported {
            return Err(VaultError::KeyStore(format!(
                "{} has schema version {version}, newer than this datapact supports ({supported})",
                path.display()
            )));
        }
        for (i, sql) in schema.iter().enumerate().skip(version as usize) {
            let tx = writer.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
            tx.commit()?;
        }
        Ok(Self {
            path,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// Runs `f` on the writer connection.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T, VaultError>) -> Result<T, VaultError> {
        let mut c = self.writer.lock().map_err(|_| VaultError::Poisoned)?;
        f(&mut c)
    }

    /// Runs `f` on a reader connection, opening one if none is free.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T, VaultError>) -> Result<T, VaultError> {
        let conn = self.readers.lock().map_err(|_| VaultError::Poisoned)?.pop();
        let conn = match conn {
            Some(c) => c,
            None => open_conn(&self.path)?,
        };
        let out = f(&conn);
        if let Ok(mut pool) = self.readers.lock()
            && pool.len() < 8
        {
            pool.push(conn);
        }
        out
    }

    /// Moves the WAL into the database and truncates it, so no old page image stays on disk.
    ///
    /// SQLite reports a checkpoint it could not complete (a reader still uses an older
    /// snapshot) as `busy = 1` in its result row, not as an error; it is retried for up to
    /// [`CHECKPOINT_PATIENCE`], then reported as [`VaultError::CheckpointIncomplete`], because a
    /// caller that destroyed keys must not believe they are gone from the disk when they are not.
    pub(crate) fn checkpoint(&self) -> Result<(), VaultError> {
        let start = std::time::Instant::now();
        loop {
            let (busy, wal_frames, _moved): (i64, i64, i64) = self.write(|c| {
                Ok(c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?)
            })?;
            if busy == 0 && wal_frames <= 0 {
                return Ok(());
            }
            if start.elapsed() >= CHECKPOINT_PATIENCE {
                return Err(VaultError::CheckpointIncomplete(self.path.display().to_string()));
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

/// One region's record and key databases.
pub(crate) struct SqliteRegion {
    dir: PathBuf,
    data: Db,
    keys: Db,
}

impl SqliteRegion {
    /// Whether a region directory already holds data (so its keyring must exist).
    pub(crate) fn has_data(dir: &Path) -> bool {
        dir.join("vault.db").exists() || dir.join("keys.db").exists()
    }

    pub(crate) fn open(dir: &Path) -> Result<Self, VaultError> {
        std::fs::create_dir_all(dir).map_err(|e| VaultError::Io {
            path: dir.display().to_string(),
            source: e,
        })?;
        Ok(Self {
            dir: dir.to_path_buf(),
            data: Db::open(dir.join("vault.db"), VAULT_SCHEMA)?,
            keys: Db::open(dir.join("keys.db"), KEYS_SCHEMA)?,
        })
    }
}

/// `(1,2,3)`: integers for an SQL `IN` (never text from outside, so nothing to escape).
fn int_list(v: &[u32]) -> String {
    let items: Vec<String> = v.iter().map(u32::to_string).collect();
    format!("({})", items.join(","))
}

/// Columns every record query selects, in the order [`raw`] reads them.
const COLUMNS: &str = "id, tenant_id, product, data_kind, categories, metadata, content_type, encoding, size, key_version, version, created_at, updated_at";

fn raw(r: &rusqlite::Row<'_>, content: bool) -> rusqlite::Result<RawRecord> {
    Ok(RawRecord {
        id: r.get(0)?,
        tenant: r.get(1)?,
        product: r.get(2)?,
        data_kind: r.get(3)?,
        categories: r.get(4)?,
        metadata: r.get(5)?,
        content_type: r.get(6)?,
        encoding: r.get(7)?,
        size: r.get(8)?,
        key_version: r.get(9)?,
        version: r.get(10)?,
        created_at: r.get(11)?,
        updated_at: r.get(12)?,
        sealed: if content { r.get(13)? } else { Vec::new() },
    })
}

fn collect(
    stmt: &mut rusqlite::CachedStatement<'_>,
    args: impl rusqlite::Params,
    content: bool,
) -> Result<Vec<RawRecord>, VaultError> {
    let rows = stmt.query_map(args, |r| raw(r, content))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn insert_records(tx: &rusqlite::Transaction<'_>, rows: &[RawRecord]) -> Result<(), VaultError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO records (id, tenant_id, product, data_kind, categories, metadata, content_type, encoding, size,
         key_version, sealed, version, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?;
    for m in rows {
        stmt.execute(params![
            m.id,
            m.tenant,
            m.product,
            m.data_kind,
            m.categories,
            m.metadata,
            m.content_type,
            m.encoding,
            m.size,
            m.key_version,
            m.sealed,
            m.version,
            m.created_at,
            m.updated_at,
        ])?;
    }
    Ok(())
}

fn write_row(tx: &rusqlite::Transaction<'_>, m: &RawRecord) -> Result<(), VaultError> {
    tx.execute(
        "UPDATE records SET categories = ?3, metadata = ?4, content_type = ?5, encoding = ?6, size = ?7, key_version = ?8,
         sealed = ?9, version = ?10, updated_at = ?11 WHERE id = ?1 AND tenant_id = ?2",
        params![
            m.id,
            m.tenant,
            m.categories,
            m.metadata,
            m.content_type,
            m.encoding,
            m.size,
            m.key_version,
            m.sealed,
            m.version,
            m.updated_at,
        ],
    )?;
    Ok(())
}

impl RegionStorage for SqliteRegion {
    fn dir(&self) -> Option<&Path> {
        Some(&self.dir)
    }

    fn wrapped_key(&self, tenant: &str, version: u32) -> Result<Option<WrappedKey>, VaultError> {
        self.keys.read(|c| {
            Ok(c.query_row(
                "SELECT kek_id, wrapped FROM tenant_keys WHERE tenant_id = ?1 AND version = ?2",
                params![tenant, version],
                |r| {
                    Ok(WrappedKey {
                        kek_id: r.get(0)?,
                        sealed: r.get(1)?,
                    })
                },
            )
            .optional()?)
        })
    }

    fn live_keys(&self, tenant: &str) -> Result<Vec<LiveKey>, VaultError> {
        self.keys.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT version, kek_id, created_at FROM tenant_keys WHERE tenant_id = ?1 ORDER BY version",
            )?;
            let rows = stmt.query_map([tenant], |r| Ok((r.get::<_, i64>(0)? as u32, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn max_version(&self, tenant: &str) -> Result<u32, VaultError> {
        self.keys.read(|c| max_version(c, tenant))
    }

    fn create_key(
        &self,
        tenant: &str,
        now: i64,
        make: &mut dyn FnMut(u32) -> Result<WrappedKey, VaultError>,
    ) -> Result<Option<u32>, VaultError> {
        self.keys.write(|c| {
            let tx = c.transaction()?;
            let closed: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM closed_tenants WHERE tenant_id = ?1)",
                [tenant],
                |r| r.get(0),
            )?;
            if closed {
                return Ok(None);
            }
            let version = max_version(&tx, tenant)? + 1;
            let wrapped = make(version)?;
            tx.execute(
                "INSERT INTO tenant_keys (tenant_id, version, kek_id, wrapped, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![tenant, version, wrapped.kek_id, wrapped.sealed, now],
            )?;
            tx.commit()?;
            Ok(Some(version))
        })
    }

    fn destroy_keys(
        &self,
        tenant: &str,
        which: KeySelection<'_>,
        purge: Option<&str>,
        close: bool,
        now: i64,
    ) -> Result<Vec<(u32, String)>, VaultError> {
        let destroyed = self.keys.write(|c| {
            let tx = c.transaction()?;
            let rows: Vec<(u32, String)> = {
                let mut stmt =
                    tx.prepare("SELECT version, kek_id FROM tenant_keys WHERE tenant_id = ?1 ORDER BY version")?;
                let rows = stmt.query_map([tenant], |r| Ok((r.get::<_, i64>(0)? as u32, r.get(1)?)))?;
                let all: Vec<(u32, String)> = rows.collect::<Result<_, _>>()?;
                all.into_iter().filter(|(v, _)| which.takes(*v)).collect()
            };
            for (v, kek) in &rows {
                tx.execute(
                    "INSERT OR REPLACE INTO destroyed_keys (tenant_id, version, kek_id, destroyed_at, purge) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![tenant, v, kek, now, purge],
                )?;
                tx.execute(
                    "DELETE FROM tenant_keys WHERE tenant_id = ?1 AND version = ?2",
                    params![tenant, v],
                )?;
            }
            if close {
                tx.execute(
                    "INSERT OR IGNORE INTO closed_tenants (tenant_id, closed_at) VALUES (?1, ?2)",
                    params![tenant, now],
                )?;
            }
            tx.commit()?;
            Ok(rows)
        })?;
        // The wrapped keys must not survive in the WAL either.
        self.keys.checkpoint()?;
        Ok(destroyed)
    }

    fn destroyed_keys(&self, tenant: &str, purge: Option<&str>) -> Result<Vec<LiveKey>, VaultError> {
        self.keys.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT version, kek_id, destroyed_at FROM destroyed_keys
                 WHERE tenant_id = ?1 AND (?2 IS NULL OR purge = ?2) ORDER BY version",
            )?;
            let rows = stmt.query_map(params![tenant, purge], |r| {
                Ok((r.get::<_, i64>(0)? as u32, r.get(1)?, r.get(2)?))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn insert(&self, _tenant: &str, _key_version: u32, rows: &[RawRecord]) -> Result<bool, VaultError> {
        // One process owns these files, and the vault's fence keeps destruction out while
        // this runs: the version is live.
        self.data.write(|c| {
            let tx = c.transaction()?;
            insert_records(&tx, rows)?;
            tx.commit()?;
            Ok(true)
        })
    }

    fn fetch_many(&self, tenant: &str, ids: &[String]) -> Result<Vec<RawRecord>, VaultError> {
        self.data.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {COLUMNS}, sealed FROM records WHERE id = ?1 AND tenant_id = ?2"
            ))?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(r) = stmt.query_row(params![id, tenant], |r| raw(r, true)).optional()? {
                    out.push(r);
                }
            }
            Ok(out)
        })
    }

    fn fetch(&self, tenant: &str, id: &str, content: bool) -> Result<Option<RawRecord>, VaultError> {
        self.data.read(|c| {
            let cols = if content {
                format!("{COLUMNS}, sealed")
            } else {
                COLUMNS.to_string()
            };
            let mut stmt = c.prepare_cached(&format!("SELECT {cols} FROM records WHERE id = ?1 AND tenant_id = ?2"))?;
            Ok(stmt.query_row(params![id, tenant], |r| raw(r, content)).optional()?)
        })
    }

    fn list(&self, tenant: &str, live: &[u32], f: &RecordFilter<'_>) -> Result<Vec<RawRecord>, VaultError> {
        let mut sql = format!(
            "SELECT {COLUMNS} FROM records WHERE tenant_id = ?1 AND key_version IN {}",
            int_list(live)
        );
        let mut args: Vec<rusqlite::types::Value> = vec![tenant.to_string().into()];
        let mut push = |cond: &str, v: rusqlite::types::Value| {
            args.push(v);
            sql.push_str(&cond.replace('?', &format!("?{}", args.len())));
        };
        if let Some(p) = f.product {
            push(" AND product = ?", p.to_string().into());
        }
        if let Some(k) = f.data_kind {
            push(" AND data_kind = ?", k.to_string().into());
        }
        if let Some(cat) = f.category {
            push(
                " AND EXISTS (SELECT 1 FROM json_each(records.categories) j WHERE j.value = ? OR substr(j.value, 1, length(?) + 1) = ? || '.')",
                cat.to_string().into(),
            );
        }
        if let Some(a) = f.created_after {
            push(" AND created_at >= ?", a.into());
        }
        if let Some(b) = f.created_before {
            push(" AND created_at < ?", b.into());
        }
        if let Some(after) = &f.after {
            push(" AND id > ?", after.clone().into());
        }
        sql.push_str(&format!(" ORDER BY id LIMIT {}", f.limit.clamp(1, 10_000)));
        self.data.read(|c| {
            let mut stmt = c.prepare_cached(&sql)?;
            collect(&mut stmt, rusqlite::params_from_iter(args.iter()), false)
        })
    }

    fn count(&self, tenant: &str, product: Option<&str>, live: &[u32]) -> Result<u64, VaultError> {
        self.data.read(|c| {
            let n: i64 = c.query_row(
                &format!(
                    "SELECT COUNT(*) FROM records WHERE tenant_id = ?1 AND (?2 IS NULL OR product = ?2) AND key_version IN {}",
                    int_list(live)
                ),
                params![tenant, product],
                |r| r.get(0),
            )?;
            Ok(n as u64)
        })
    }

    fn counts_by_key(&self, tenant: &str) -> Result<HashMap<u32, u64>, VaultError> {
        self.data.read(|c| {
            let mut stmt = c.prepare(
                "SELECT key_version, SUM(n) FROM (
                   SELECT key_version, COUNT(*) AS n FROM records WHERE tenant_id = ?1 GROUP BY key_version
                   UNION ALL
                   SELECT key_version, COUNT(*) FROM training_items WHERE tenant_id = ?1 GROUP BY key_version
                 ) GROUP BY key_version",
            )?;
            let rows = stmt.query_map([tenant], |r| {
                Ok((r.get::<_, i64>(0)? as u32, r.get::<_, i64>(1)? as u64))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn update(
        &self,
        tenant: &str,
        id: &str,
        _key_version: u32,
        change: &mut dyn FnMut(RawRecord) -> Result<RawRecord, VaultError>,
    ) -> Result<UpdateOutcome, VaultError> {
        self.data.write(|c| {
            let tx = c.transaction()?;
            let stored = tx
                .prepare_cached(&format!(
                    "SELECT {COLUMNS}, sealed FROM records WHERE id = ?1 AND tenant_id = ?2"
                ))?
                .query_row(params![id, tenant], |r| raw(r, true))
                .optional()?;
            let Some(stored) = stored else {
                return Ok(UpdateOutcome::Missing);
            };
            let new = change(stored)?;
            write_row(&tx, &new)?;
            tx.commit()?;
            Ok(UpdateOutcome::Done(Some(Box::new(new)), 1))
        })
    }

    fn delete(&self, tenant: &str, id: &str) -> Result<usize, VaultError> {
        self.data.write(|c| {
            Ok(c.execute(
                "DELETE FROM records WHERE id = ?1 AND tenant_id = ?2",
                params![id, tenant],
            )?)
        })
    }

    fn page(
        &self,
        tenant: &str,
        after: &str,
        product: Option<&str>,
        kind: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RawRecord>, VaultError> {
        self.data.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {COLUMNS}, sealed FROM records WHERE tenant_id = ?1 AND id > ?2 AND (?3 IS NULL OR product = ?3)
                 AND (?5 IS NULL OR data_kind = ?5) ORDER BY id LIMIT ?4"
            ))?;
            collect(&mut stmt, params![tenant, after, product, limit as i64, kind], true)
        })
    }

    fn remove_rows(&self, tenant: &str, versions: &[u32], batch: usize) -> Result<usize, VaultError> {
        let n = self.data.write(|c| {
            let records = c.execute(
                &format!(
                    "DELETE FROM records WHERE rowid IN (SELECT rowid FROM records WHERE tenant_id = ?1 AND key_version IN {} LIMIT ?2)",
                    int_list(versions)
                ),
                params![tenant, batch as i64],
            )?;
            if records > 0 {
                return Ok(records);
            }
            Ok(c.execute(
                &format!(
                    "DELETE FROM training_items WHERE rowid IN (SELECT rowid FROM training_items WHERE tenant_id = ?1 AND key_version IN {} LIMIT ?2)",
                    int_list(versions)
                ),
                params![tenant, batch as i64],
            )?)
        })?;
        if n == 0 {
            self.data.checkpoint()?;
        }
        Ok(n)
    }

    fn reencrypt(
        &self,
        tenant: &str,
        active: u32,
        live: &[u32],
        batch: usize,
        reseal: &mut dyn FnMut(RawRecord) -> Result<RawRecord, VaultError>,
    ) -> Result<UpdateOutcome, VaultError> {
        self.data.write(|c| {
            let tx = c.transaction()?;
            let rows = {
                let mut stmt = tx.prepare_cached(&format!(
                    "SELECT {COLUMNS}, sealed FROM records WHERE tenant_id = ?1 AND key_version != ?2 AND key_version IN {} LIMIT ?3",
                    int_list(live)
                ))?;
                collect(&mut stmt, params![tenant, active, batch as i64], true)?
            };
            let moved = rows.len();
            for row in rows {
                write_row(&tx, &reseal(row)?)?;
            }
            tx.commit()?;
            Ok(UpdateOutcome::Done(None, moved))
        })
    }

    fn remaining(&self, tenant: &str, active: u32, live: &[u32]) -> Result<u64, VaultError> {
        self.data.read(|c| {
            let n: i64 = c.query_row(
                &format!(
                    "SELECT (SELECT COUNT(*) FROM records WHERE tenant_id = ?1 AND key_version != ?2 AND key_version IN {0})
                     + (SELECT COUNT(*) FROM training_items WHERE tenant_id = ?1 AND key_version != ?2 AND key_version IN {0})",
                    int_list(live)
                ),
                params![tenant, active],
                |r| r.get(0),
            )?;
            Ok(n as u64)
        })
    }

    fn reencrypt_items(
        &self,
        tenant: &str,
        active: u32,
        live: &[u32],
        batch: usize,
        reseal: &mut crate::region::ItemReseal<'_>,
    ) -> Result<UpdateOutcome, VaultError> {
        self.data.write(|c| {
            let tx = c.transaction()?;
            let rows: Vec<(String, RawItem)> = {
                let mut stmt = tx.prepare_cached(&format!(
                    "SELECT dataset_id, seq, record_id, key_version, sealed FROM training_items
                     WHERE tenant_id = ?1 AND key_version != ?2 AND key_version IN {} LIMIT ?3",
                    int_list(live)
                ))?;
                let rows = stmt.query_map(params![tenant, active, batch as i64], |r| {
                    Ok((
                        r.get(0)?,
                        RawItem {
                            seq: r.get(1)?,
                            record_id: r.get(2)?,
                            key_version: r.get(3)?,
                            sealed: r.get(4)?,
                        },
                    ))
                })?;
                rows.collect::<Result<_, _>>()?
            };
            let moved = rows.len();
            for (dataset, item) in &rows {
                let sealed = reseal(dataset, item)?;
                tx.execute(
                    "UPDATE training_items SET key_version = ?4, sealed = ?5 WHERE dataset_id = ?1 AND tenant_id = ?2 AND seq = ?3",
                    params![dataset, tenant, item.seq, active, sealed],
                )?;
            }
            tx.commit()?;
            Ok(UpdateOutcome::Done(None, moved))
        })
    }

    fn sweep(&self, tenant: &str, cutoff: i64, product: Option<&str>, kind: Option<&str>) -> Result<usize, VaultError> {
        self.data.write(|c| {
            let tx = c.transaction()?;
            tx.execute(
                "DELETE FROM training_items WHERE tenant_id = ?1 AND record_id IN (SELECT id FROM records
                 WHERE tenant_id = ?1 AND created_at < ?2 AND (?3 IS NULL OR product = ?3) AND (?4 IS NULL OR data_kind = ?4))",
                params![tenant, cutoff, product, kind],
            )?;
            let n = tx.execute(
                "DELETE FROM records WHERE tenant_id = ?1 AND created_at < ?2 AND (?3 IS NULL OR product = ?3)
                 AND (?4 IS NULL OR data_kind = ?4)",
                params![tenant, cutoff, product, kind],
            )?;
            tx.commit()?;
            Ok(n)
        })
    }

    fn swept_items(
        &self,
        tenant: &str,
        cutoff: i64,
        product: Option<&str>,
        kind: Option<&str>,
    ) -> Result<Vec<(String, String)>, VaultError> {
        self.data.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT DISTINCT i.dataset_id, i.record_id FROM training_items i JOIN records r
                 ON r.id = i.record_id AND r.tenant_id = i.tenant_id
                 WHERE i.tenant_id = ?1 AND r.created_at < ?2 AND (?3 IS NULL OR r.product = ?3)
                 AND (?4 IS NULL OR r.data_kind = ?4)",
            )?;
            let rows = stmt.query_map(params![tenant, cutoff, product, kind], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn raw_sealed(&self, id: &str) -> Result<Option<Vec<u8>>, VaultError> {
        self.data.read(|c| {
            Ok(c.query_row("SELECT sealed FROM records WHERE id = ?1", [id], |r| {
                r.get::<_, Vec<u8>>(0)
            })
            .optional()?)
        })
    }

    fn checkpoint(&self) -> Result<(), VaultError> {
        self.data.checkpoint()?;
        self.keys.checkpoint()
    }

    fn insert_items(
        &self,
        dataset: &str,
        tenant: &str,
        _key_version: u32,
        rows: &[RawItem],
    ) -> Result<bool, VaultError> {
        // As for records: one process owns these files and the vault's fence keeps
        // destruction out while this runs.
        self.data.write(|c| {
            let tx = c.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO training_items (dataset_id, tenant_id, seq, record_id, key_version, sealed)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                for r in rows {
                    stmt.execute(params![dataset, tenant, r.seq, r.record_id, r.key_version, r.sealed])?;
                }
            }
            tx.commit()?;
            Ok(true)
        })
    }

    fn items(&self, dataset: &str, tenant: &str, after: i64, limit: usize) -> Result<Vec<RawItem>, VaultError> {
        self.data.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT seq, record_id, key_version, sealed FROM training_items
                 WHERE dataset_id = ?1 AND tenant_id = ?2 AND seq > ?3 ORDER BY seq LIMIT ?4",
            )?;
            let rows = stmt.query_map(params![dataset, tenant, after, limit as i64], |r| {
                Ok(RawItem {
                    seq: r.get(0)?,
                    record_id: r.get(1)?,
                    key_version: r.get(2)?,
                    sealed: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn drop_items(&self, dataset: &str, tenant: &str) -> Result<usize, VaultError> {
        self.data.write(|c| {
            Ok(c.execute(
                "DELETE FROM training_items WHERE dataset_id = ?1 AND tenant_id = ?2",
                params![dataset, tenant],
            )?)
        })
    }

    fn item_key_versions(&self, dataset: &str, tenant: &str) -> Result<Vec<u32>, VaultError> {
        self.data.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT DISTINCT key_version FROM training_items WHERE dataset_id = ?1 AND tenant_id = ?2",
            )?;
            let rows = stmt.query_map(params![dataset, tenant], |r| Ok(r.get::<_, i64>(0)? as u32))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn stale_items(&self, dataset: &str, tenant: &str, since: i64) -> Result<u64, VaultError> {
        self.data.read(|c| {
            let n: i64 = c.query_row(
                "SELECT COUNT(*) FROM training_items i WHERE i.dataset_id = ?1 AND i.tenant_id = ?2
                 AND NOT EXISTS (SELECT 1 FROM records r WHERE r.id = i.record_id AND r.tenant_id = ?2 AND r.updated_at <= ?3)",
                params![dataset, tenant, since],
                |r| r.get(0),
            )?;
            Ok(n.max(0) as u64)
        })
    }

    fn remove_record_items(&self, tenant: &str, record: &str) -> Result<usize, VaultError> {
        self.data.write(|c| {
            Ok(c.execute(
                "DELETE FROM training_items WHERE tenant_id = ?1 AND record_id = ?2",
                params![tenant, record],
            )?)
        })
    }

    fn insert_messages(
        &self,
        tenant: &str,
        _key_version: u32,
        rows: &[RawRecord],
        msgs: &[RawMessage],
    ) -> Result<bool, VaultError> {
        self.data.write(|c| {
            let tx = c.transaction()?;
            insert_records(&tx, rows)?;
            mining_sqlite::insert(&tx, tenant, msgs)?;
            tx.commit()?;
            Ok(true)
        })
    }

    fn message(&self, tenant: &str, dataset: &str, key: &str) -> Result<Option<RawMessage>, VaultError> {
        self.data.read(|c| mining_sqlite::one(c, tenant, dataset, key))
    }

    fn messages(&self, tenant: &str, dataset: &str, q: &MessageQuery<'_>) -> Result<Vec<RawMessage>, VaultError> {
        self.data.read(|c| mining_sqlite::query(c, tenant, dataset, q))
    }

    fn messages_by_key(&self, tenant: &str, dataset: &str, keys: &[String]) -> Result<Vec<RawMessage>, VaultError> {
        self.data.read(|c| mining_sqlite::by_keys(c, tenant, dataset, keys))
    }

    fn message_by_record(&self, tenant: &str, record: &str) -> Result<Option<RawMessage>, VaultError> {
        self.data.read(|c| mining_sqlite::by_record(c, tenant, record))
    }

    fn change_messages(&self, tenant: &str, dataset: &str, changes: &[MessageChange]) -> Result<usize, VaultError> {
        self.data.write(|c| mining_sqlite::change(c, tenant, dataset, changes))
    }

    fn remove_message_labels(&self, tenant: &str, dataset: &str, ids: &[(u32, Option<u32>)]) -> Result<(), VaultError> {
        self.data
            .write(|c| mining_sqlite::remove_labels(c, tenant, dataset, ids))
    }

    fn message_counts(&self, tenant: &str, dataset: &str) -> Result<MessageCounts, VaultError> {
        self.data.read(|c| mining_sqlite::counts(c, tenant, dataset))
    }

    fn datasets_holding(&self, tenant: &str, record: &str) -> Result<Vec<String>, VaultError> {
        self.data.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT DISTINCT dataset_id FROM training_items WHERE tenant_id = ?1 AND record_id = ?2",
            )?;
            let rows = stmt.query_map(params![tenant, record], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }
}

fn max_version(c: &Connection, tenant: &str) -> Result<u32, VaultError> {
    let max: Option<i64> = c.query_row(
        "SELECT MAX(v) FROM (SELECT MAX(version) AS v FROM tenant_keys WHERE tenant_id = ?1
         UNION ALL SELECT MAX(version) FROM destroyed_keys WHERE tenant_id = ?1)",
        [tenant],
        |r| r.get(0),
    )?;
    Ok(max.unwrap_or(0) as u32)
}
