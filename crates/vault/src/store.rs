//! One region's storage: `vault.db` holds records (ciphertext and metadata), `keys.db` holds
//! the tenants' wrapped data keys. They are separate files so that backups of the data never
//! carry the keys that decrypt it: destroying a key makes every copy of its data unreadable.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::Connection;

use crate::VaultError;

const VAULT_SCHEMA: &[&str] = &[r#"
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
"#];

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
pub(crate) struct RegionStore {
    pub(crate) dir: PathBuf,
    pub(crate) data: Db,
    pub(crate) keys: Db,
}

impl RegionStore {
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
