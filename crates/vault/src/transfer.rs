//! Moving an embedded deployment's vault into PostgreSQL (`datapact migrate --from-sqlite`):
//! a region's records and wrapped keys (SQLite `vault.db` and `keys.db`) into the region's
//! database, and the sealed secrets (master check, keyrings, signing and correlation keys) into
//! the shared `datapact_secrets` table. Nothing is decrypted or re-encrypted: the bytes move as
//! they are, sealed by the same master secret, and are compared by digest afterwards.

use std::path::{Path, PathBuf};

use aws_lc_rs::digest;
use rusqlite::{Connection, OpenFlags};

use crate::VaultError;
use crate::pg::{PgRegion, PgSecrets, pg};

/// What moved for one region, counted (and digested) on both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionCopy {
    /// The region.
    pub region: String,
    /// Records in the source, and in the target after the copy.
    pub records: (u64, u64),
    /// Data key versions (live, destroyed) and closed tenants in the source, and in the target.
    pub keys: (u64, u64),
    /// Training dataset items (shards) in the source, and in the target after the copy.
    pub training_items: (u64, u64),
    /// Communications Mining's message index rows in the source, and in the target.
    pub mining_messages: (u64, u64),
    /// Whether a SHA-256 over every copied row, in id order, is the same on both sides.
    pub digests_match: bool,
}

/// The sealed files of a data directory, by their name in `datapact_secrets` (their path
/// below the data directory). Region directories may be configured elsewhere: `regions` gives
/// each region's directory.
fn secret_files(data_dir: &Path, regions: &[(String, PathBuf)]) -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = ["master.json", "signing-key.json", "correlation-key.json"]
        .iter()
        .map(|n| (n.to_string(), data_dir.join(n)))
        .collect();
    for (region, dir) in regions {
        out.push((format!("regions/{region}/keyring.json"), dir.join("keyring.json")));
    }
    out
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> VaultError + '_ {
    move |source| VaultError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn sqlite(path: &Path) -> impl Fn(rusqlite::Error) -> VaultError + '_ {
    move |e| {
        tracing::debug!(file = %path.display(), "reading the embedded vault failed");
        VaultError::Database(e)
    }
}

/// Whether the database at `url` holds no shared secret yet.
pub fn postgres_secrets_empty(url: &str) -> Result<bool, VaultError> {
    let db = PgSecrets::open(url)?;
    db.is_empty()
}

/// Whether region `region`'s database at `url` holds no record and no key yet.
pub fn postgres_region_empty(url: &str, region: &str) -> Result<bool, VaultError> {
    Ok(!PgRegion::open(url, region)?.has_data()?)
}

/// Copies the sealed secrets of the data directory into `datapact_secrets` at `url`; returns
/// the names copied. A name already there is refused (the target belongs to another
/// deployment), before anything is written.
pub fn copy_secrets_to_postgres(
    data_dir: &Path,
    regions: &[(String, PathBuf)],
    url: &str,
) -> Result<Vec<String>, VaultError> {
    let db = PgSecrets::open(url)?;
    let mut found = Vec::new();
    for (name, path) in secret_files(data_dir, regions) {
        if path.exists() {
            let body = std::fs::read_to_string(&path).map_err(io(&path))?;
            if db.read(&name)?.is_some() {
                return Err(VaultError::KeyStore(format!(
                    "the target database already holds the shared secret `{name}`: it belongs to another deployment"
                )));
            }
            found.push((name, body));
        }
    }
    let mut copied = Vec::new();
    for (name, body) in found {
        let stored = db.create(&name, &body)?;
        if stored != body {
            return Err(VaultError::KeyStore(format!(
                "the shared secret `{name}` was written by someone else during the migration"
            )));
        }
        copied.push(name);
    }
    Ok(copied)
}

/// Opens a region's SQLite file read-only, after letting the vault bring it up to date and
/// fold its write-ahead log (as a start of the server would).
fn open_source(dir: &Path, file: &str) -> Result<Connection, VaultError> {
    let path = dir.join(file);
    Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sqlite(&path))
}

/// Records copied per transaction.
const PAGE: i64 = 1_000;

const RECORD_COLUMNS: &str = "id, tenant_id, product, data_kind, categories, metadata, content_type, encoding, size, key_version, sealed, version, created_at, updated_at";

/// One record row as both databases hold it.
type RecordRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    i64,
    i64,
    Vec<u8>,
    i64,
    i64,
    i64,
);

fn digest_record(ctx: &mut digest::Context, r: &RecordRow) {
    for s in [&r.0, &r.1, &r.2, &r.3, &r.4] {
        ctx.update(&(s.len() as u64).to_be_bytes());
        ctx.update(s.as_bytes());
    }
    match &r.5 {
        Some(m) => {
            ctx.update(&[1]);
            ctx.update(&(m.len() as u64).to_be_bytes());
            ctx.update(m.as_bytes());
        }
        None => ctx.update(&[0]),
    }
    for s in [&r.6, &r.7] {
        ctx.update(&(s.len() as u64).to_be_bytes());
        ctx.update(s.as_bytes());
    }
    ctx.update(&r.8.to_be_bytes());
    ctx.update(&r.9.to_be_bytes());
    ctx.update(&(r.10.len() as u64).to_be_bytes());
    ctx.update(&r.10);
    for v in [r.11, r.12, r.13] {
        ctx.update(&v.to_be_bytes());
    }
}

/// A key table's row, as text and integers in column order (digest and copy).
#[derive(Debug)]
enum KeyCell {
    Text(Option<String>),
    Int(i64),
    Bytes(Vec<u8>),
}

/// A key table's columns: name and kind (`t` text, `i` integer, `b` bytes).
type Columns = &'static [(&'static str, char)];

/// The key tables: name, columns, ordering.
const KEY_TABLES: &[(&str, Columns, &str)] = &[
    (
        "tenant_keys",
        &[
            ("tenant_id", 't'),
            ("version", 'i'),
            ("kek_id", 't'),
            ("wrapped", 'b'),
            ("created_at", 'i'),
        ],
        "tenant_id, version",
    ),
    (
        "destroyed_keys",
        &[
            ("tenant_id", 't'),
            ("version", 'i'),
            ("kek_id", 't'),
            ("destroyed_at", 'i'),
            ("purge", 't'),
        ],
        "tenant_id, version",
    ),
    ("closed_tenants", &[("tenant_id", 't'), ("closed_at", 'i')], "tenant_id"),
];

fn digest_key_row(ctx: &mut digest::Context, row: &[KeyCell]) {
    for cell in row {
        match cell {
            KeyCell::Text(None) => ctx.update(&[0]),
            KeyCell::Text(Some(s)) => {
                ctx.update(&[1]);
                ctx.update(&(s.len() as u64).to_be_bytes());
                ctx.update(s.as_bytes());
            }
            KeyCell::Int(v) => ctx.update(&v.to_be_bytes()),
            KeyCell::Bytes(b) => {
                ctx.update(&(b.len() as u64).to_be_bytes());
                ctx.update(b);
            }
        }
    }
}

/// Copies region `region`'s records and keys from its directory `dir` into its (empty)
/// database at `url`, then reads both sides back in id order and compares counts and digests.
/// `progress` is told the records copied so far.
pub fn copy_region_to_postgres(
    dir: &Path,
    region: &str,
    url: &str,
    progress: &dyn Fn(u64),
) -> Result<RegionCopy, VaultError> {
    // Brings the files up to date and folds their logs, as a start of the server would.
    drop(crate::store::SqliteRegion::open(dir)?);
    let target = PgRegion::open(url, region)?;
    let db = &target.db;
    let mut c = db.client()?;

    // Keys first: a record is only visible while its key is live.
    let keys_path = dir.join("keys.db");
    let keys = open_source(dir, "keys.db")?;
    let vault_path = dir.join("vault.db");
    let records = open_source(dir, "vault.db")?;
    // This region's tenants: regions without a database of their own share one, so what is
    // read back is limited to them.
    let mut tenants: Vec<String> = Vec::new();
    for (conn, path, sql) in [
        (
            &keys,
            &keys_path,
            "SELECT tenant_id FROM tenant_keys UNION SELECT tenant_id FROM destroyed_keys UNION SELECT tenant_id FROM closed_tenants",
        ),
        (&records, &vault_path, "SELECT DISTINCT tenant_id FROM records"),
    ] {
        let mut stmt = conn.prepare(sql).map_err(sqlite(path))?;
        let found: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .map_err(sqlite(path))?
            .collect::<Result<_, _>>()
            .map_err(sqlite(path))?;
        tenants.extend(found);
    }
    tenants.sort();
    tenants.dedup();
    let (mut key_src, mut key_dst) = (
        digest::Context::new(&digest::SHA256),
        digest::Context::new(&digest::SHA256),
    );
    let mut key_rows = (0u64, 0u64);
    for (table, columns, order) in KEY_TABLES {
        let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
        let rows: Vec<Vec<KeyCell>> = {
            let mut stmt = keys
                .prepare(&format!("SELECT {} FROM {table} ORDER BY {order}", names.join(", ")))
                .map_err(sqlite(&keys_path))?;
            let mut out = Vec::new();
            let mut q = stmt.query([]).map_err(sqlite(&keys_path))?;
            while let Some(r) = q.next().map_err(sqlite(&keys_path))? {
                let mut row = Vec::with_capacity(columns.len());
                for (i, (_, kind)) in columns.iter().enumerate() {
                    row.push(match kind {
                        'i' => KeyCell::Int(r.get(i).map_err(sqlite(&keys_path))?),
                        'b' => KeyCell::Bytes(r.get(i).map_err(sqlite(&keys_path))?),
                        _ => KeyCell::Text(r.get(i).map_err(sqlite(&keys_path))?),
                    });
                }
                out.push(row);
            }
            out
        };
        let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
        let tx = db.block(c.transaction()).map_err(pg)?;
        let insert = db
            .block(tx.prepare(&format!(
                "INSERT INTO datapact_keys.{table} ({}) VALUES ({})",
                names.join(", "),
                placeholders.join(", ")
            )))
            .map_err(pg)?;
        for row in &rows {
            digest_key_row(&mut key_src, row);
            let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = row
                .iter()
                .map(|c| -> &(dyn tokio_postgres::types::ToSql + Sync) {
                    match c {
                        KeyCell::Text(v) => v,
                        KeyCell::Int(v) => v,
                        KeyCell::Bytes(v) => v,
                    }
                })
                .collect();
            db.block(tx.execute(&insert, &params)).map_err(pg)?;
        }
        db.block(tx.commit()).map_err(pg)?;
        key_rows.0 += rows.len() as u64;
        // Read back, in the same order (byte order of ids, as SQLite sorts).
        let order_c: String = order
            .split(", ")
            .map(|col| {
                if col == "tenant_id" {
                    "tenant_id COLLATE \"C\"".to_string()
                } else {
                    col.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let back = db
            .block(c.query(
                &format!(
                    "SELECT {} FROM datapact_keys.{table} WHERE tenant_id = ANY($1) ORDER BY {order_c}",
                    names.join(", ")
                ),
                &[&tenants],
            ))
            .map_err(pg)?;
        for r in &back {
            let row: Vec<KeyCell> = columns
                .iter()
                .enumerate()
                .map(|(i, (_, kind))| match kind {
                    'i' => KeyCell::Int(r.get(i)),
                    'b' => KeyCell::Bytes(r.get(i)),
                    _ => KeyCell::Text(r.get(i)),
                })
                .collect();
            digest_key_row(&mut key_dst, &row);
        }
        key_rows.1 += back.len() as u64;
    }

    // Records, a page at a time, in id order.
    let (mut rec_src, mut rec_dst) = (
        digest::Context::new(&digest::SHA256),
        digest::Context::new(&digest::SHA256),
    );
    let mut copied = 0u64;
    let mut after = String::new();
    let insert_sql = format!(
        "INSERT INTO datapact_vault.records ({RECORD_COLUMNS})
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                              $8::text[], $9::int8[], $10::int8[], $11::bytea[], $12::int8[], $13::int8[], $14::int8[])"
    );
    let mut stmt = records
        .prepare(&format!(
            "SELECT {RECORD_COLUMNS} FROM records WHERE id > ?1 ORDER BY id LIMIT ?2"
        ))
        .map_err(sqlite(&vault_path))?;
    loop {
        let page: Vec<RecordRow> = stmt
            .query_map(rusqlite::params![after, PAGE], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                    r.get(11)?,
                    r.get(12)?,
                    r.get(13)?,
                ))
            })
            .map_err(sqlite(&vault_path))?
            .collect::<Result<_, _>>()
            .map_err(sqlite(&vault_path))?;
        let Some(last) = page.last() else { break };
        after = last.0.clone();
        for r in &page {
            digest_record(&mut rec_src, r);
        }
        macro_rules! col {
            ($i:tt) => {
                page.iter().map(|r| r.$i.clone()).collect::<Vec<_>>()
            };
        }
        let (ids, tenants, products, kinds, cats, meta, ctypes, encs) =
            (col!(0), col!(1), col!(2), col!(3), col!(4), col!(5), col!(6), col!(7));
        let (sizes, kvs, sealed, versions, created, updated) =
            (col!(8), col!(9), col!(10), col!(11), col!(12), col!(13));
        let insert = db.block(c.prepare_cached(&insert_sql)).map_err(pg)?;
        db.block(c.execute(
            &insert,
            &[
                &ids, &tenants, &products, &kinds, &cats, &meta, &ctypes, &encs, &sizes, &kvs, &sealed, &versions,
                &created, &updated,
            ],
        ))
        .map_err(pg)?;
        copied += page.len() as u64;
        progress(copied);
    }
    let mut read_back = 0u64;
    let mut after = String::new();
    loop {
        let rows = db
            .block(c.query(
                &format!(
                    "SELECT {RECORD_COLUMNS} FROM datapact_vault.records WHERE id COLLATE \"C\" > $1 AND tenant_id = ANY($3)
                     ORDER BY id COLLATE \"C\" LIMIT $2"
                ),
                &[&after, &PAGE, &tenants],
            ))
            .map_err(pg)?;
        let Some(last) = rows.last() else { break };
        after = last.get(0);
        for r in &rows {
            let row: RecordRow = (
                r.get(0),
                r.get(1),
                r.get(2),
                r.get(3),
                r.get(4),
                r.get(5),
                r.get(6),
                r.get(7),
                r.get(8),
                r.get(9),
                r.get(10),
                r.get(11),
                r.get(12),
                r.get(13),
            );
            digest_record(&mut rec_dst, &row);
        }
        read_back += rows.len() as u64;
    }
    let training_items = copy_items(&records, &vault_path, db, &mut c, &tenants)?;
    let mining = copy_mining(&records, &vault_path, db, &mut c, &tenants)?;
    let digests_match = key_src.finish().as_ref() == key_dst.finish().as_ref()
        && rec_src.finish().as_ref() == rec_dst.finish().as_ref()
        && training_items.2
        && mining.2;
    Ok(RegionCopy {
        region: region.to_string(),
        records: (copied, read_back),
        keys: key_rows,
        training_items: (training_items.0, training_items.1),
        mining_messages: (mining.0, mining.1),
        digests_match,
    })
}

/// One training item's row: dataset, tenant, position, record, key version, ciphertext.
type ItemRow = (String, String, i64, String, i64, Vec<u8>);

fn digest_item(ctx: &mut digest::Context, r: &ItemRow) {
    for part in [r.0.as_bytes(), r.1.as_bytes(), r.3.as_bytes()] {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part);
    }
    ctx.update(&r.2.to_be_bytes());
    ctx.update(&r.4.to_be_bytes());
    ctx.update(&(r.5.len() as u64).to_be_bytes());
    ctx.update(&r.5);
}

/// Copies the region's training items (datasets' shards, sealed as they are), then reads them
/// back in the same order: (copied, read back, digests equal).
fn copy_items(
    src: &Connection,
    path: &Path,
    db: &crate::pg::Pg,
    c: &mut deadpool_postgres::Object,
    tenants: &[String],
) -> Result<(u64, u64, bool), VaultError> {
    let (mut d_src, mut d_dst) = (
        digest::Context::new(&digest::SHA256),
        digest::Context::new(&digest::SHA256),
    );
    let mut stmt = src
        .prepare(
            "SELECT dataset_id, tenant_id, seq, record_id, key_version, sealed FROM training_items
             WHERE (dataset_id, tenant_id, seq) > (?1, ?2, ?3) ORDER BY dataset_id, tenant_id, seq LIMIT ?4",
        )
        .map_err(sqlite(path))?;
    let mut after: (String, String, i64) = (String::new(), String::new(), 0);
    let mut copied = 0u64;
    loop {
        let page: Vec<ItemRow> = stmt
            .query_map(rusqlite::params![after.0, after.1, after.2, PAGE], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
            })
            .map_err(sqlite(path))?
            .collect::<Result<_, _>>()
            .map_err(sqlite(path))?;
        let Some(last) = page.last() else { break };
        after = (last.0.clone(), last.1.clone(), last.2);
        for r in &page {
            digest_item(&mut d_src, r);
        }
        let datasets: Vec<&str> = page.iter().map(|r| r.0.as_str()).collect();
        let tenant_ids: Vec<&str> = page.iter().map(|r| r.1.as_str()).collect();
        let seqs: Vec<i64> = page.iter().map(|r| r.2).collect();
        let records: Vec<&str> = page.iter().map(|r| r.3.as_str()).collect();
        let keys: Vec<i64> = page.iter().map(|r| r.4).collect();
        let sealed: Vec<&[u8]> = page.iter().map(|r| r.5.as_slice()).collect();
        db.block(c.execute(
            "INSERT INTO datapact_vault.training_items (dataset_id, tenant_id, seq, record_id, key_version, sealed)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::int8[], $4::text[], $5::int8[], $6::bytea[])",
            &[&datasets, &tenant_ids, &seqs, &records, &keys, &sealed],
        ))
        .map_err(pg)?;
        copied += page.len() as u64;
    }
    let mut read_back = 0u64;
    let mut after: (String, String, i64) = (String::new(), String::new(), 0);
    loop {
        let rows = db
            .block(c.query(
                "SELECT dataset_id, tenant_id, seq, record_id, key_version, sealed FROM datapact_vault.training_items
                 WHERE (dataset_id COLLATE \"C\", tenant_id COLLATE \"C\", seq) > ($1, $2, $3) AND tenant_id = ANY($5)
                 ORDER BY dataset_id COLLATE \"C\", tenant_id COLLATE \"C\", seq LIMIT $4",
                &[&after.0, &after.1, &after.2, &PAGE, &tenants],
            ))
            .map_err(pg)?;
        let Some(last) = rows.last() else { break };
        after = (last.get(0), last.get(1), last.get(2));
        for r in &rows {
            let row: ItemRow = (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5));
            digest_item(&mut d_dst, &row);
        }
        read_back += rows.len() as u64;
    }
    Ok((copied, read_back, d_src.finish().as_ref() == d_dst.finish().as_ref()))
}

/// The columns of a message index row the copy moves, in this order.
const MINING_COLS: &str = "seq, tenant_id, dataset_id, msg_key, record_id, kind, labeled, labels, labeled_by, labeled_at, \
                           pred, pred_model, top, margin, disagree, review, shuffle, updated_at";

/// One message index row as the copy moves it.
#[derive(Debug, Clone, PartialEq)]
struct MiningRow {
    seq: i64,
    text: [String; 5],
    labeled: bool,
    labels: String,
    labeled_by: Option<String>,
    labeled_at: Option<i64>,
    pred: Option<String>,
    nums: [i64; 4],
    floats: [f64; 3],
}

fn digest_mining(ctx: &mut digest::Context, r: &MiningRow) {
    ctx.update(&r.seq.to_be_bytes());
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "\u{0}".into());
    for part in r
        .text
        .iter()
        .cloned()
        .chain([r.labels.clone(), opt(&r.labeled_by), opt(&r.pred)])
    {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part.as_bytes());
    }
    ctx.update(&[u8::from(r.labeled)]);
    ctx.update(&r.labeled_at.unwrap_or(i64::MIN).to_be_bytes());
    for n in r.nums {
        ctx.update(&n.to_be_bytes());
    }
    for f in r.floats {
        ctx.update(&f.to_bits().to_be_bytes());
    }
}

/// Copies the region's message index rows (after their records), keeps their sequence numbers
/// (a stream's cursor), moves PostgreSQL's sequence past them, then reads them back:
/// (copied, read back, digests equal).
fn copy_mining(
    src: &Connection,
    path: &Path,
    db: &crate::pg::Pg,
    c: &mut deadpool_postgres::Object,
    tenants: &[String],
) -> Result<(u64, u64, bool), VaultError> {
    let (mut d_src, mut d_dst) = (
        digest::Context::new(&digest::SHA256),
        digest::Context::new(&digest::SHA256),
    );
    let mut stmt = src
        .prepare(&format!(
            "SELECT {MINING_COLS} FROM mining_messages WHERE seq > ?1 ORDER BY seq LIMIT ?2"
        ))
        .map_err(sqlite(path))?;
    let mut after = 0i64;
    let mut copied = 0u64;
    loop {
        let page: Vec<MiningRow> = stmt
            .query_map(rusqlite::params![after, PAGE], |r| {
                Ok(MiningRow {
                    seq: r.get(0)?,
                    text: [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?],
                    labeled: r.get::<_, i64>(6)? != 0,
                    labels: r.get(7)?,
                    labeled_by: r.get(8)?,
                    labeled_at: r.get(9)?,
                    pred: r.get(10)?,
                    nums: [r.get(11)?, r.get(15)?, r.get(16)?, r.get(17)?],
                    floats: [r.get(12)?, r.get(13)?, r.get(14)?],
                })
            })
            .map_err(sqlite(path))?
            .collect::<Result<_, _>>()
            .map_err(sqlite(path))?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for r in &page {
            digest_mining(&mut d_src, r);
            db.block(c.execute(
                &format!(
                    "INSERT INTO datapact_vault.mining_messages ({MINING_COLS})
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
                ),
                &[
                    &r.seq,
                    &r.text[0],
                    &r.text[1],
                    &r.text[2],
                    &r.text[3],
                    &r.text[4],
                    &r.labeled,
                    &r.labels,
                    &r.labeled_by,
                    &r.labeled_at,
                    &r.pred,
                    &r.nums[0],
                    &r.floats[0],
                    &r.floats[1],
                    &r.floats[2],
                    &r.nums[1],
                    &r.nums[2],
                    &r.nums[3],
                ],
            ))
            .map_err(pg)?;
        }
        copied += page.len() as u64;
    }
    db.block(c.execute(
        "SELECT setval(pg_get_serial_sequence('datapact_vault.mining_messages', 'seq'),
                GREATEST((SELECT COALESCE(MAX(seq), 0) FROM datapact_vault.mining_messages), 1))",
        &[],
    ))
    .map_err(pg)?;
    let mut read_back = 0u64;
    let mut after = 0i64;
    loop {
        let rows = db
            .block(c.query(
                &format!(
                    "SELECT {MINING_COLS} FROM datapact_vault.mining_messages WHERE seq > $1 AND tenant_id = ANY($3)
                     ORDER BY seq LIMIT $2"
                ),
                &[&after, &PAGE, &tenants],
            ))
            .map_err(pg)?;
        let Some(last) = rows.last() else { break };
        after = last.get(0);
        for r in &rows {
            let row = MiningRow {
                seq: r.get(0),
                text: [r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)],
                labeled: r.get(6),
                labels: r.get(7),
                labeled_by: r.get(8),
                labeled_at: r.get(9),
                pred: r.get(10),
                nums: [r.get(11), r.get(15), r.get(16), r.get(17)],
                floats: [r.get(12), r.get(13), r.get(14)],
            };
            digest_mining(&mut d_dst, &row);
        }
        read_back += rows.len() as u64;
    }
    Ok((copied, read_back, d_src.finish().as_ref() == d_dst.finish().as_ref()))
}
