//! The message index of Communications Mining datasets in a SQLite region (`vault.db`).

use rusqlite::{Connection, OptionalExtension, params};

use crate::VaultError;
use crate::region::{MessageChange, MessageCounts, MessageQuery, RawMessage};

/// The index's schema (a foreign key ties each row to its record, so every path that
/// removes a record removes its row: a deletion, a retention sweep, a purge).
pub(crate) const SCHEMA: &str = r#"
CREATE TABLE mining_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    dataset_id TEXT NOT NULL,
    msg_key TEXT NOT NULL,
    record_id TEXT NOT NULL REFERENCES records(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    labeled INTEGER NOT NULL DEFAULT 0,
    labels TEXT NOT NULL DEFAULT ',',
    labeled_by TEXT,
    labeled_at INTEGER,
    pred TEXT,
    pred_model INTEGER NOT NULL DEFAULT 0,
    top REAL NOT NULL DEFAULT 0,
    margin REAL NOT NULL DEFAULT 1,
    disagree REAL NOT NULL DEFAULT 0,
    review INTEGER NOT NULL DEFAULT 0,
    shuffle INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (tenant_id, dataset_id, msg_key)
) STRICT;
CREATE INDEX mining_messages_by_record ON mining_messages(record_id);
CREATE INDEX mining_messages_by_kind ON mining_messages(tenant_id, dataset_id, kind, labeled, seq);
"#;

const COLS: &str = "seq, dataset_id, msg_key, record_id, kind, labeled, labels, labeled_by, labeled_at, pred, pred_model, \
                    top, margin, disagree, review, shuffle, updated_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawMessage> {
    Ok(RawMessage {
        seq: r.get(0)?,
        dataset: r.get(1)?,
        key: r.get(2)?,
        record_id: r.get(3)?,
        kind: r.get(4)?,
        labeled: r.get::<_, i64>(5)? != 0,
        labels: r.get(6)?,
        labeled_by: r.get(7)?,
        labeled_at: r.get(8)?,
        pred: r.get(9)?,
        pred_model: r.get(10)?,
        top: r.get(11)?,
        margin: r.get(12)?,
        disagree: r.get(13)?,
        review: r.get(14)?,
        shuffle: r.get(15)?,
        updated_at: r.get(16)?,
    })
}

/// Inserts index rows (inside the caller's transaction, after their records).
pub(crate) fn insert(tx: &rusqlite::Transaction<'_>, tenant: &str, msgs: &[RawMessage]) -> Result<(), VaultError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO mining_messages (tenant_id, dataset_id, msg_key, record_id, kind, labeled, labels, labeled_by,
         labeled_at, shuffle, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for m in msgs {
        stmt.execute(params![
            tenant,
            m.dataset,
            m.key,
            m.record_id,
            m.kind,
            i64::from(m.labeled),
            m.labels,
            m.labeled_by,
            m.labeled_at,
            m.shuffle,
            m.updated_at
        ])
        .map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::ConstraintViolation) => VaultError::Duplicate(m.key.clone()),
            _ => VaultError::Database(e),
        })?;
    }
    Ok(())
}

pub(crate) fn one(c: &Connection, tenant: &str, dataset: &str, key: &str) -> Result<Option<RawMessage>, VaultError> {
    Ok(c.query_row(
        &format!("SELECT {COLS} FROM mining_messages WHERE tenant_id = ?1 AND dataset_id = ?2 AND msg_key = ?3"),
        params![tenant, dataset, key],
        row,
    )
    .optional()?)
}

pub(crate) fn by_keys(
    c: &Connection,
    tenant: &str,
    dataset: &str,
    keys: &[String],
) -> Result<Vec<RawMessage>, VaultError> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {COLS} FROM mining_messages WHERE tenant_id = ?1 AND dataset_id = ?2 AND msg_key = ?3"
    ))?;
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        if let Some(r) = stmt.query_row(params![tenant, dataset, k], row).optional()? {
            out.push(r);
        }
    }
    Ok(out)
}

pub(crate) fn by_record(c: &Connection, tenant: &str, record: &str) -> Result<Option<RawMessage>, VaultError> {
    Ok(c.query_row(
        &format!("SELECT {COLS} FROM mining_messages WHERE tenant_id = ?1 AND record_id = ?2"),
        params![tenant, record],
        row,
    )
    .optional()?)
}

pub(crate) fn query(
    c: &Connection,
    tenant: &str,
    dataset: &str,
    q: &MessageQuery<'_>,
) -> Result<Vec<RawMessage>, VaultError> {
    let label = (!q.label_any.is_empty()).then(|| {
        let pats: Vec<String> = q.label_any.iter().map(|l| format!("%,{l},%")).collect();
        serde_json::to_string(&pats).unwrap_or_default()
    });
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {COLS} FROM mining_messages WHERE tenant_id = ?1 AND dataset_id = ?2 AND seq > ?3
         AND (?4 IS NULL OR kind = ?4) AND (?5 IS NULL OR labeled = ?5) AND (?6 IS NULL OR EXISTS (SELECT 1 FROM json_each(?6) j WHERE labels LIKE j.value))
         AND (?7 IS NULL OR review = ?7) AND (?8 IS NULL OR pred_model = ?8) AND (?9 IS NULL OR top < ?9)
         AND (?10 IS NULL OR disagree > ?10)
         ORDER BY {} LIMIT ?11",
        q.order.sql()
    ))?;
    let rows = stmt.query_map(
        params![
            tenant,
            dataset,
            q.after_seq,
            q.kind,
            q.labeled.map(i64::from),
            label,
            q.review,
            q.pred_model,
            q.max_top,
            q.min_disagree,
            q.limit as i64
        ],
        row,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn change(
    c: &mut Connection,
    tenant: &str,
    dataset: &str,
    changes: &[MessageChange],
) -> Result<usize, VaultError> {
    let tx = c.transaction()?;
    let mut found = 0;
    for ch in changes {
        let mut n = 0;
        if let Some((labeled, labels, by, at)) = &ch.labels {
            n = n.max(tx.execute(
                "UPDATE mining_messages SET labeled = ?4, labels = ?5, labeled_by = ?6, labeled_at = ?7, updated_at = ?8
                 WHERE tenant_id = ?1 AND dataset_id = ?2 AND msg_key = ?3",
                params![tenant, dataset, ch.key, i64::from(*labeled), labels, by, at, ch.updated_at],
            )?);
        }
        if let Some((pred, model, top, margin)) = &ch.pred {
            n = n.max(tx.execute(
                "UPDATE mining_messages SET pred = ?4, pred_model = ?5, top = ?6, margin = ?7
                 WHERE tenant_id = ?1 AND dataset_id = ?2 AND msg_key = ?3 AND pred_model <= ?5",
                params![tenant, dataset, ch.key, pred, model, top, margin],
            )?);
        }
        if let Some(d) = ch.disagree {
            n = n.max(tx.execute(
                "UPDATE mining_messages SET disagree = ?4 WHERE tenant_id = ?1 AND dataset_id = ?2 AND msg_key = ?3",
                params![tenant, dataset, ch.key, d],
            )?);
        }
        if let Some(r) = ch.review {
            n = n.max(tx.execute(
                "UPDATE mining_messages SET review = ?4 WHERE tenant_id = ?1 AND dataset_id = ?2 AND msg_key = ?3",
                params![tenant, dataset, ch.key, r],
            )?);
        }
        found += n;
    }
    tx.commit()?;
    Ok(found)
}

pub(crate) fn remove_labels(
    c: &mut Connection,
    tenant: &str,
    dataset: &str,
    ids: &[(u32, Option<u32>)],
) -> Result<(), VaultError> {
    let tx = c.transaction()?;
    for (id, instead) in ids {
        let needle = format!(",{id},");
        let with = instead.map_or(",".to_string(), |a| format!(",{a},"));
        tx.execute(
            "UPDATE mining_messages SET labels = REPLACE(labels, ?3, ?5) WHERE tenant_id = ?1 AND dataset_id = ?2
             AND labels LIKE ?4",
            params![tenant, dataset, needle, format!("%{needle}%"), with],
        )?;
    }
    tx.commit()?;
    Ok(())
}

pub(crate) fn counts(c: &Connection, tenant: &str, dataset: &str) -> Result<MessageCounts, VaultError> {
    Ok(c.query_row(
        "SELECT COALESCE(SUM(kind = 'design_time'), 0), COALESCE(SUM(kind = 'run_time'), 0), COALESCE(SUM(labeled), 0),
         COALESCE(SUM(review = 1), 0) FROM mining_messages WHERE tenant_id = ?1 AND dataset_id = ?2",
        params![tenant, dataset],
        |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, i64>(2)? as u64,
                r.get::<_, i64>(3)? as u64,
            ))
        },
    )?)
}
