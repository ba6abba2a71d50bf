//! Communications Mining's message index: for each message of a dataset, the record that
//! holds it (sealed like any record), its place in upload order, its labels and the latest
//! model's predictions. The index holds no content, and a row goes with its record whatever
//! removes the record (a deletion, a retention sweep, a purge): the storage ties them by a
//! foreign key. Keys are the caller's keyed hashes of the customer's message ids.

use datapact_governance::DataKind;
use time::OffsetDateTime;

use crate::region::{MessageChange, MessageCounts, MessageQuery, RawMessage};
use crate::{NewRecord, RecordId, RecordMeta, TenantRef, Vault, VaultError};

/// What a model predicted for a message, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPrediction {
    /// The model version.
    pub model: u32,
    /// Label ids with their probabilities (the ones worth keeping).
    pub labels: Vec<(u32, f32)>,
    /// Highest probability.
    pub top: f32,
    /// Margin between the two highest.
    pub margin: f32,
}

/// A message's index row.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageIndex {
    /// Place in upload order (a stream's cursor).
    pub seq: u64,
    /// The caller's key.
    pub key: String,
    /// The record holding the message.
    pub record: RecordId,
    /// Design-time or run-time.
    pub kind: DataKind,
    /// Whether a person labeled it (possibly with no label).
    pub labeled: bool,
    /// Its label ids.
    pub labels: Vec<u32>,
    /// Who labeled it.
    pub labeled_by: Option<String>,
    /// When.
    pub labeled_at: Option<OffsetDateTime>,
    /// The latest prediction.
    pub prediction: Option<StoredPrediction>,
    /// How much the model disagrees with its labels.
    pub disagree: f32,
    /// 0: not for review; 1: waiting; 2: reviewed.
    pub review: u8,
}

/// A message to store.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// The caller's key.
    pub key: String,
    /// The record.
    pub record: NewRecord,
    /// Labels and who set them, when it comes labeled.
    pub labels: Option<(Vec<u32>, Option<String>)>,
    /// Its place in the shuffle queue.
    pub shuffle: i64,
}

/// Label ids as stored (`,3,17,`).
pub fn encode_labels(ids: &[u32]) -> String {
    let mut s = String::from(",");
    for i in ids {
        s.push_str(&i.to_string());
        s.push(',');
    }
    s
}

fn decode_labels(s: &str) -> Vec<u32> {
    s.split(',').filter_map(|p| p.parse().ok()).collect()
}

/// A prediction as stored (`id:probability,...`).
pub fn encode_prediction(labels: &[(u32, f32)]) -> String {
    labels
        .iter()
        .map(|(i, p)| format!("{i}:{p:.4}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn decode_prediction(s: &str) -> Vec<(u32, f32)> {
    s.split(',')
        .filter_map(|p| {
            let (i, v) = p.split_once(':')?;
            Some((i.parse().ok()?, v.parse().ok()?))
        })
        .collect()
}

fn from_micros(us: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000).ok()
}

fn index(r: RawMessage) -> Result<MessageIndex, VaultError> {
    let kind = match r.kind.as_str() {
        "design_time" => DataKind::DesignTime,
        "run_time" => DataKind::RunTime,
        other => {
            return Err(VaultError::Corrupt {
                record: r.record_id,
                detail: format!("message index: unknown kind {other}"),
            });
        }
    };
    let record = r.record_id.parse().map_err(|_| VaultError::Corrupt {
        record: r.record_id.clone(),
        detail: "message index: bad record id".into(),
    })?;
    Ok(MessageIndex {
        seq: u64::try_from(r.seq).unwrap_or(0),
        key: r.key,
        record,
        kind,
        labeled: r.labeled,
        labels: decode_labels(&r.labels),
        labeled_by: r.labeled_by,
        labeled_at: r.labeled_at.and_then(from_micros),
        prediction: r.pred.map(|p| StoredPrediction {
            model: u32::try_from(r.pred_model).unwrap_or(0),
            labels: decode_prediction(&p),
            top: r.top as f32,
            margin: r.margin as f32,
        }),
        disagree: r.disagree as f32,
        review: u8::try_from(r.review).unwrap_or(0),
    })
}

impl Vault {
    /// Stores new messages of a dataset: their records (sealed, checked like any record) and
    /// their index rows, all or nothing.
    pub fn put_messages(
        &self,
        t: TenantRef<'_>,
        dataset: &str,
        msgs: Vec<NewMessage>,
        now: OffsetDateTime,
    ) -> Result<Vec<RecordMeta>, VaultError> {
        let ids: Vec<RecordId> = msgs.iter().map(|_| RecordId::generate()).collect();
        let at = crate::micros(now);
        let rows: Vec<RawMessage> = msgs
            .iter()
            .zip(&ids)
            .map(|(m, id)| RawMessage {
                dataset: dataset.to_string(),
                key: m.key.clone(),
                record_id: id.to_string(),
                kind: m.record.data_kind.as_str().to_string(),
                labeled: m.labels.is_some(),
                labels: encode_labels(m.labels.as_ref().map_or(&[][..], |l| &l.0)),
                labeled_by: m.labels.as_ref().and_then(|l| l.1.clone()),
                labeled_at: m.labels.as_ref().map(|_| at),
                shuffle: m.shuffle,
                updated_at: at,
                ..RawMessage::default()
            })
            .collect();
        let records = msgs.into_iter().map(|m| m.record).collect();
        let tenant = t.id.to_string();
        self.put_sealed(t, records, ids, now, |rs, version, raw| {
            rs.insert_messages(&tenant, version, raw, &rows)
        })
    }

    /// One message's index row.
    pub fn message(&self, t: TenantRef<'_>, dataset: &str, key: &str) -> Result<Option<MessageIndex>, VaultError> {
        self.region(t.region)?
            .message(&t.id.to_string(), dataset, key)?
            .map(index)
            .transpose()
    }

    /// One dataset's index rows for these keys, by key (keys without a row are absent).
    pub fn messages_by_key(
        &self,
        t: TenantRef<'_>,
        dataset: &str,
        keys: &[String],
    ) -> Result<std::collections::HashMap<String, MessageIndex>, VaultError> {
        let mut out = std::collections::HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(1_000) {
            for r in self
                .region(t.region)?
                .messages_by_key(&t.id.to_string(), dataset, chunk)?
            {
                let m = index(r)?;
                out.insert(m.key.clone(), m);
            }
        }
        Ok(out)
    }

    /// The index row and dataset of the message record `record` holds, if it holds one.
    pub fn message_of_record(
        &self,
        t: TenantRef<'_>,
        record: RecordId,
    ) -> Result<Option<(String, MessageIndex)>, VaultError> {
        match self
            .region(t.region)?
            .message_by_record(&t.id.to_string(), &record.to_string())?
        {
            Some(r) => {
                let ds = r.dataset.clone();
                Ok(Some((ds, index(r)?)))
            }
            None => Ok(None),
        }
    }

    /// Index rows of a dataset (`limit` at most 10,000).
    pub fn messages(
        &self,
        t: TenantRef<'_>,
        dataset: &str,
        q: &MessageQuery<'_>,
    ) -> Result<Vec<MessageIndex>, VaultError> {
        let mut q = q.clone();
        q.limit = q.limit.clamp(1, 10_000);
        self.region(t.region)?
            .messages(&t.id.to_string(), dataset, &q)?
            .into_iter()
            .map(index)
            .collect()
    }

    /// Changes index rows, in one transaction; answers how many existed.
    pub fn change_messages(
        &self,
        t: TenantRef<'_>,
        dataset: &str,
        changes: &[MessageChange],
    ) -> Result<usize, VaultError> {
        if changes.is_empty() {
            return Ok(0);
        }
        self.region(t.region)?
            .change_messages(&t.id.to_string(), dataset, changes)
    }

    /// Removes label ids from a dataset's messages.
    pub fn remove_message_labels(
        &self,
        t: TenantRef<'_>,
        dataset: &str,
        ids: &[(u32, Option<u32>)],
    ) -> Result<(), VaultError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.region(t.region)?
            .remove_message_labels(&t.id.to_string(), dataset, ids)
    }

    /// (design-time, run-time, labeled, waiting for review) messages of a dataset.
    pub fn message_counts(&self, t: TenantRef<'_>, dataset: &str) -> Result<MessageCounts, VaultError> {
        self.region(t.region)?.message_counts(&t.id.to_string(), dataset)
    }
}

/// A label change for `change_messages`: labeled (with these ids) or not, by whom, when.
pub fn label_change(key: &str, labels: Option<&[u32]>, by: Option<String>, now: OffsetDateTime) -> MessageChange {
    let at = crate::micros(now);
    MessageChange {
        key: key.to_string(),
        labels: Some((labels.is_some(), encode_labels(labels.unwrap_or(&[])), by, at)),
        updated_at: at,
        ..MessageChange::default()
    }
}

/// A prediction change for `change_messages`.
pub fn prediction_change(key: &str, p: &StoredPrediction, disagree: f32) -> MessageChange {
    MessageChange {
        key: key.to_string(),
        pred: Some((
            encode_prediction(&p.labels),
            i64::from(p.model),
            f64::from(p.top),
            f64::from(p.margin),
        )),
        disagree: Some(f64::from(disagree)),
        ..MessageChange::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Content, MasterSecret, VaultOptions, VaultStorage};
    use datapact_governance::TenantId;

    fn msg(key: &str, kind: DataKind, labels: Option<Vec<u32>>) -> NewMessage {
        NewMessage {
            key: key.into(),
            record: NewRecord {
                product: "communications-mining".into(),
                data_kind: kind,
                content: Content::Text(format!("{{\"text\":\"hello {key}\"}}")),
                content_type: Some("application/json".into()),
                categories: vec![],
                metadata: None,
            },
            labels: labels.map(|l| (l, Some("ana".into()))),
            shuffle: key.len() as i64,
        }
    }

    #[test]
    fn index_rows_follow_their_records() {
        let dir = tempfile::tempdir().expect("dir");
        let (v, _) = Vault::open(VaultOptions {
            data_dir: dir.path().to_path_buf(),
            regions: vec![("eu".into(), None)],
            master: MasterSecret::KeyFile(dir.path().join("master.key")),
            max_content_bytes: 1 << 20,
            storage: VaultStorage::Files,
        })
        .expect("vault");
        let t = TenantRef {
            id: TenantId::generate(),
            region: "eu",
        };
        let other = TenantRef {
            id: TenantId::generate(),
            region: "eu",
        };
        let now = OffsetDateTime::now_utc();
        let metas = v
            .put_messages(
                t,
                "ds1",
                vec![
                    msg("a", DataKind::DesignTime, Some(vec![1, 2])),
                    msg("b", DataKind::DesignTime, None),
                    msg("c", DataKind::RunTime, None),
                ],
                now,
            )
            .expect("put");
        assert_eq!(metas.len(), 3);
        let a = v.message(t, "ds1", "a").expect("read").expect("row");
        assert_eq!(a.labels, vec![1, 2]);
        assert_eq!(a.record, metas[0].id);
        assert!(
            v.message(other, "ds1", "a").expect("read").is_none(),
            "another tenant sees nothing"
        );
        assert!(v.message(t, "ds2", "a").expect("read").is_none());
        assert_eq!(v.message_counts(t, "ds1").expect("counts"), (2, 1, 1, 0));
        // Label filter, run-time after a cursor.
        let q = MessageQuery {
            label_any: &[2],
            limit: 10,
            ..MessageQuery::default()
        };
        assert_eq!(v.messages(t, "ds1", &q).expect("q").len(), 1);
        let q = MessageQuery {
            kind: Some("run_time"),
            after_seq: a.seq as i64,
            limit: 10,
            ..MessageQuery::default()
        };
        assert_eq!(v.messages(t, "ds1", &q).expect("q")[0].key, "c");
        // Changes.
        let p = StoredPrediction {
            model: 1,
            labels: vec![(1, 0.9)],
            top: 0.9,
            margin: 0.8,
        };
        let n = v
            .change_messages(
                t,
                "ds1",
                &[
                    label_change("b", Some(&[2]), None, now),
                    prediction_change("b", &p, 0.1),
                ],
            )
            .expect("change");
        assert_eq!(n, 2);
        let b = v.message(t, "ds1", "b").expect("read").expect("row");
        assert_eq!((b.labels.clone(), b.prediction.clone()), (vec![2], Some(p)));
        v.remove_message_labels(t, "ds1", &[(2, None)]).expect("remove");
        assert!(v.message(t, "ds1", "b").expect("read").expect("row").labels.is_empty());
        assert_eq!(v.message(t, "ds1", "a").expect("read").expect("row").labels, vec![1]);
        // Deleting the record removes its row.
        v.delete(t, metas[0].id).expect("delete");
        assert!(v.message(t, "ds1", "a").expect("read").is_none());
        // A retention sweep too.
        v.sweep(
            t,
            &[datapact_governance::RetentionRule {
                product: None,
                data_kind: None,
                max_age_days: 1,
            }],
            now + time::Duration::days(2),
        )
        .expect("sweep");
        assert_eq!(v.message_counts(t, "ds1").expect("counts"), (0, 0, 0, 0));
    }

    #[test]
    fn encodings_round_trip() {
        assert_eq!(decode_labels(&encode_labels(&[3, 17])), vec![3, 17]);
        assert_eq!(encode_labels(&[]), ",");
        assert!(decode_labels(",").is_empty());
        let p = decode_prediction(&encode_prediction(&[(1, 0.5), (2, 0.25)]));
        assert_eq!(p, vec![(1, 0.5), (2, 0.25)]);
        assert!(decode_prediction("x:y,1").is_empty());
    }
}
