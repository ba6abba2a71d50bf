//! The message index of Communications Mining datasets in a region's PostgreSQL database.

use tokio_postgres::GenericClient;

use crate::VaultError;
use crate::pg_error::pg;
use crate::region::{MessageChange, MessageCounts, MessageQuery, RawMessage};

/// The index's schema (a foreign key ties each row to its record, so every path that
/// removes a record removes its row).
pub(crate) const SCHEMA: &str = r#"
CREATE TABLE datapact_vault.mining_messages (
    seq BIGSERIAL PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    dataset_id TEXT NOT NULL,
    msg_key TEXT NOT NULL,
    record_id TEXT NOT NULL REFERENCES datapact_vault.records(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    labeled BOOLEAN NOT NULL DEFAULT false,
    labels TEXT NOT NULL DEFAULT ',',
    labeled_by TEXT,
    labeled_at BIGINT,
    pred TEXT,
    pred_model BIGINT NOT NULL DEFAULT 0,
    top DOUBLE PRECISION NOT NULL DEFAULT 0,
    margin DOUBLE PRECISION NOT NULL DEFAULT 1,
    disagree DOUBLE PRECISION NOT NULL DEFAULT 0,
    review BIGINT NOT NULL DEFAULT 0,
    shuffle BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, dataset_id, msg_key)
);
CREATE INDEX mining_messages_by_record ON datapact_vault.mining_messages (record_id);
CREATE INDEX mining_messages_by_kind ON datapact_vault.mining_messages (tenant_id, dataset_id, kind, labeled, seq);
"#;

const COLS: &str = "seq, dataset_id, msg_key, record_id, kind, labeled, labels, labeled_by, labeled_at, pred, pred_model, \
                    top, margin, disagree, review, shuffle, updated_at";

fn row(r: &tokio_postgres::Row) -> RawMessage {
    RawMessage {
        seq: r.get(0),
        dataset: r.get(1),
        key: r.get(2),
        record_id: r.get(3),
        kind: r.get(4),
        labeled: r.get(5),
        labels: r.get(6),
        labeled_by: r.get(7),
        labeled_at: r.get(8),
        pred: r.get(9),
        pred_model: r.get(10),
        top: r.get(11),
        margin: r.get(12),
        disagree: r.get(13),
        review: r.get(14),
        shuffle: r.get(15),
        updated_at: r.get(16),
    }
}

/// Inserts index rows inside the caller's transaction, after their records. Uploads to one
/// dataset are serialized (a transaction-scoped advisory lock), so sequence numbers commit in
/// order and a stream reading after a cursor never skips a row that commits later.
pub(crate) async fn insert(tx: &impl GenericClient, tenant: &str, msgs: &[RawMessage]) -> Result<(), VaultError> {
    let Some(first) = msgs.first() else {
        return Ok(());
    };
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 7))",
        &[&format!("mining\u{1f}{tenant}\u{1f}{}", first.dataset)],
    )
    .await
    .map_err(pg)?;
    // One statement for the batch: columns as arrays, unnested.
    let col = |f: fn(&RawMessage) -> String| msgs.iter().map(f).collect::<Vec<String>>();
    let datasets = col(|m| m.dataset.clone());
    let keys = col(|m| m.key.clone());
    let records = col(|m| m.record_id.clone());
    let kinds = col(|m| m.kind.clone());
    let labels = col(|m| m.labels.clone());
    let labeled: Vec<bool> = msgs.iter().map(|m| m.labeled).collect();
    let by: Vec<Option<String>> = msgs.iter().map(|m| m.labeled_by.clone()).collect();
    let at: Vec<Option<i64>> = msgs.iter().map(|m| m.labeled_at).collect();
    let shuffle: Vec<i64> = msgs.iter().map(|m| m.shuffle).collect();
    let updated: Vec<i64> = msgs.iter().map(|m| m.updated_at).collect();
    tx.execute(
        "INSERT INTO datapact_vault.mining_messages (tenant_id, dataset_id, msg_key, record_id, kind, labeled, labels,
         labeled_by, labeled_at, shuffle, updated_at)
         SELECT $1, u.d, u.k, u.r, u.kind, u.l, u.ls, u.b, u.a, u.sh, u.up
         FROM unnest($2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::BOOLEAN[], $7::TEXT[], $8::TEXT[],
         $9::BIGINT[], $10::BIGINT[], $11::BIGINT[]) WITH ORDINALITY AS u(d, k, r, kind, l, ls, b, a, sh, up, n) ORDER BY u.n",
        &[&tenant, &datasets, &keys, &records, &kinds, &labeled, &labels, &by, &at, &shuffle, &updated],
    )
    .await
    .map_err(|e| {
        if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
            VaultError::Duplicate("a message id".into())
        } else {
            pg(e)
        }
    })?;
    Ok(())
}

pub(crate) async fn one(
    c: &impl GenericClient,
    tenant: &str,
    dataset: &str,
    key: &str,
) -> Result<Option<RawMessage>, VaultError> {
    let r = c
        .query_opt(
            &format!(
                "SELECT {COLS} FROM datapact_vault.mining_messages WHERE tenant_id = $1 AND dataset_id = $2 AND msg_key = $3"
            ),
            &[&tenant, &dataset, &key],
        )
        .await
        .map_err(pg)?;
    Ok(r.as_ref().map(row))
}

pub(crate) async fn by_keys(
    c: &impl GenericClient,
    tenant: &str,
    dataset: &str,
    keys: &[String],
) -> Result<Vec<RawMessage>, VaultError> {
    let rows = c
        .query(
            &format!(
                "SELECT {COLS} FROM datapact_vault.mining_messages WHERE tenant_id = $1 AND dataset_id = $2 AND msg_key = ANY($3)"
            ),
            &[&tenant, &dataset, &keys],
        )
        .await
        .map_err(pg)?;
    Ok(rows.iter().map(row).collect())
}

pub(crate) async fn by_record(
    c: &impl GenericClient,
    tenant: &str,
    record: &str,
) -> Result<Option<RawMessage>, VaultError> {
    let r = c
        .query_opt(
            &format!("SELECT {COLS} FROM datapact_vault.mining_messages WHERE tenant_id = $1 AND record_id = $2"),
            &[&tenant, &record],
        )
        .await
        .map_err(pg)?;
    Ok(r.as_ref().map(row))
}

pub(crate) async fn query(
    c: &impl GenericClient,
    tenant: &str,
    dataset: &str,
    q: &MessageQuery<'_>,
) -> Result<Vec<RawMessage>, VaultError> {
    let label: Option<Vec<String>> =
        (!q.label_any.is_empty()).then(|| q.label_any.iter().map(|l| format!("%,{l},%")).collect());
    let rows = c
        .query(
            &format!(
                "SELECT {COLS} FROM datapact_vault.mining_messages WHERE tenant_id = $1 AND dataset_id = $2 AND seq > $3
                 AND ($4::TEXT IS NULL OR kind = $4) AND ($5::BOOLEAN IS NULL OR labeled = $5)
                 AND ($6::TEXT[] IS NULL OR labels LIKE ANY($6::TEXT[])) AND ($7::BIGINT IS NULL OR review = $7)
                 AND ($8::BIGINT IS NULL OR pred_model = $8) AND ($9::DOUBLE PRECISION IS NULL OR top < $9)
                 AND ($10::DOUBLE PRECISION IS NULL OR disagree > $10)
                 ORDER BY {} LIMIT $11",
                q.order.sql()
            ),
            &[
                &tenant,
                &dataset,
                &q.after_seq,
                &q.kind,
                &q.labeled,
                &label,
                &q.review,
                &q.pred_model,
                &q.max_top,
                &q.min_disagree,
                &(q.limit as i64),
            ],
        )
        .await
        .map_err(pg)?;
    Ok(rows.iter().map(row).collect())
}

pub(crate) async fn change(
    tx: &impl GenericClient,
    tenant: &str,
    dataset: &str,
    changes: &[MessageChange],
) -> Result<usize, VaultError> {
    let mut found = 0;
    // Predictions with their disagreement and nothing else (a training's refresh): one
    // statement for all of them.
    let (bulk, each): (Vec<&MessageChange>, Vec<&MessageChange>) = changes
        .iter()
        .partition(|c| c.pred.is_some() && c.disagree.is_some() && c.labels.is_none() && c.review.is_none());
    if !bulk.is_empty() {
        let keys: Vec<&str> = bulk.iter().map(|c| c.key.as_str()).collect();
        let preds: Vec<&str> = bulk
            .iter()
            .filter_map(|c| c.pred.as_ref())
            .map(|p| p.0.as_str())
            .collect();
        let models: Vec<i64> = bulk.iter().filter_map(|c| c.pred.as_ref()).map(|p| p.1).collect();
        let tops: Vec<f64> = bulk.iter().filter_map(|c| c.pred.as_ref()).map(|p| p.2).collect();
        let margins: Vec<f64> = bulk.iter().filter_map(|c| c.pred.as_ref()).map(|p| p.3).collect();
        let dis: Vec<f64> = bulk.iter().filter_map(|c| c.disagree).collect();
        let n = tx
            .execute(
                "UPDATE datapact_vault.mining_messages m SET pred = u.p, pred_model = u.mo, top = u.t, margin = u.ma, disagree = u.d
                 FROM unnest($3::TEXT[], $4::TEXT[], $5::BIGINT[], $6::DOUBLE PRECISION[], $7::DOUBLE PRECISION[],
                 $8::DOUBLE PRECISION[]) AS u(k, p, mo, t, ma, d)
                 WHERE m.tenant_id = $1 AND m.dataset_id = $2 AND m.msg_key = u.k AND m.pred_model <= u.mo",
                &[&tenant, &dataset, &keys, &preds, &models, &tops, &margins, &dis],
            )
            .await
            .map_err(pg)?;
        found += n as usize;
    }
    for ch in each {
        let mut n = 0;
        if let Some((labeled, labels, by, at)) = &ch.labels {
            n = n.max(
                tx.execute(
                    "UPDATE datapact_vault.mining_messages SET labeled = $4, labels = $5, labeled_by = $6, labeled_at = $7,
                     updated_at = $8 WHERE tenant_id = $1 AND dataset_id = $2 AND msg_key = $3",
                    &[&tenant, &dataset, &ch.key, labeled, labels, by, at, &ch.updated_at],
                )
                .await
                .map_err(pg)?,
            );
        }
        if let Some((pred, model, top, margin)) = &ch.pred {
            n = n.max(
                tx.execute(
                    "UPDATE datapact_vault.mining_messages SET pred = $4, pred_model = $5, top = $6, margin = $7
                     WHERE tenant_id = $1 AND dataset_id = $2 AND msg_key = $3 AND pred_model <= $5",
                    &[&tenant, &dataset, &ch.key, pred, model, top, margin],
                )
                .await
                .map_err(pg)?,
            );
        }
        if let Some(d) = ch.disagree {
            n = n.max(
                tx.execute(
                    "UPDATE datapact_vault.mining_messages SET disagree = $4 WHERE tenant_id = $1 AND dataset_id = $2 AND msg_key = $3",
                    &[&tenant, &dataset, &ch.key, &d],
                )
                .await
                .map_err(pg)?,
            );
        }
        if let Some(r) = ch.review {
            n = n.max(
                tx.execute(
                    "UPDATE datapact_vault.mining_messages SET review = $4 WHERE tenant_id = $1 AND dataset_id = $2 AND msg_key = $3",
                    &[&tenant, &dataset, &ch.key, &r],
                )
                .await
                .map_err(pg)?,
            );
        }
        found += n as usize;
    }
    Ok(found)
}

pub(crate) async fn remove_labels(
    tx: &impl GenericClient,
    tenant: &str,
    dataset: &str,
    ids: &[(u32, Option<u32>)],
) -> Result<(), VaultError> {
    for (id, instead) in ids {
        let needle = format!(",{id},");
        let with = instead.map_or(",".to_string(), |a| format!(",{a},"));
        tx.execute(
            "UPDATE datapact_vault.mining_messages SET labels = REPLACE(labels, $3, $5) WHERE tenant_id = $1
             AND dataset_id = $2 AND labels LIKE $4",
            &[&tenant, &dataset, &needle, &format!("%{needle}%"), &with],
        )
        .await
        .map_err(pg)?;
    }
    Ok(())
}

pub(crate) async fn counts(c: &impl GenericClient, tenant: &str, dataset: &str) -> Result<MessageCounts, VaultError> {
    let r = c
        .query_one(
            "SELECT COUNT(*) FILTER (WHERE kind = 'design_time'), COUNT(*) FILTER (WHERE kind = 'run_time'),
             COUNT(*) FILTER (WHERE labeled), COUNT(*) FILTER (WHERE review = 1)
             FROM datapact_vault.mining_messages WHERE tenant_id = $1 AND dataset_id = $2",
            &[&tenant, &dataset],
        )
        .await
        .map_err(pg)?;
    let n = |i: usize| r.get::<_, i64>(i) as u64;
    Ok((n(0), n(1), n(2), n(3)))
}
