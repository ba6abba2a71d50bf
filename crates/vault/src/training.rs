//! Training datasets' shards: the items a dataset holds of one tenant, sealed under that
//! tenant's data keys and stored in its region beside its records.
//!
//! A shard is part of the tenant's key hierarchy, not a copy beside it: destroying the
//! tenant's keys (a purge, a termination) makes every shard of it unreadable at once, a row
//! removal after a purge removes the shard's rows with the records', and a key version that
//! still seals an item is not retired after a rotation.

use datapact_governance::RecordId;
use time::OffsetDateTime;

use crate::region::RawItem;
use crate::{TenantRef, Vault, VaultError};

/// One item read back from a shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardItem {
    /// Its place in the shard (1, 2, ...).
    pub seq: u64,
    /// The record it was made from.
    pub record: String,
    /// The item as sealed (the builder's bytes).
    pub item: Vec<u8>,
}

/// A page of a shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShardPage {
    /// Items in order (empty: the shard has no more).
    Items(Vec<ShardItem>),
    /// The key that sealed the next item was destroyed: the tenant was purged or terminated,
    /// and its shard can never be read again.
    Shredded,
}

/// Associated data of an item: it opens only as this item of this shard of this dataset.
fn item_aad(dataset: &str, t: TenantRef<'_>, seq: u64, key_version: u32) -> Vec<u8> {
    format!("datapact.training-item/v1|{dataset}|{}|{seq}|{key_version}", t.id).into_bytes()
}

impl Vault {
    /// The tenant's newest live data key version, if it has one: a dataset build notes it
    /// before it reads, and seals what it read under no later version ([`Vault::put_items`]).
    pub fn newest_key(&self, t: TenantRef<'_>) -> Result<Option<u32>, VaultError> {
        Ok(self.live_versions(t)?.into_iter().max())
    }

    /// Seals `items` (record and item bytes) under the tenant's newest live data key no later
    /// than `up_to` (the newest when its build began) and stores them as items `first`,
    /// `first + 1`, ... of its shard of `dataset`, all or nothing. Never creates a key: when
    /// none of those versions is live any more (a purge destroyed them while the build read),
    /// [`VaultError::Shredded`], and nothing is written; data read before a purge is never
    /// sealed under a key made after it.
    pub fn put_items(
        &self,
        t: TenantRef<'_>,
        dataset: &str,
        first: u64,
        items: &[(RecordId, Vec<u8>)],
        up_to: u32,
    ) -> Result<(), VaultError> {
        if items.is_empty() {
            return Ok(());
        }
        let rs = self.region(t.region)?;
        let _fence = self.shred_fence.read().map_err(|_| VaultError::Poisoned)?;
        for _ in 0..4 {
            let Some(key_version) = self.live_versions(t)?.into_iter().filter(|v| *v <= up_to).max() else {
                return Err(VaultError::Shredded(t.id));
            };
            let Some(aead) = self.dek(t, key_version)? else {
                continue;
            };
            let mut rows = Vec::with_capacity(items.len());
            for (i, (record, item)) in items.iter().enumerate() {
                let seq = first + i as u64;
                rows.push(RawItem {
                    seq: i64::try_from(seq).map_err(|_| VaultError::Invalid {
                        field: "seq".into(),
                        message: "item number out of range".into(),
                    })?,
                    record_id: record.to_string(),
                    key_version: i64::from(key_version),
                    sealed: aead.seal(&item_aad(dataset, t, seq, key_version), item)?,
                });
            }
            if rs.insert_items(dataset, &t.id.to_string(), key_version, &rows)? {
                return Ok(());
            }
            self.forget(t.id, |v| v == key_version)?;
        }
        Err(VaultError::KeyStore(
            "the tenant's data keys keep changing; retry".into(),
        ))
    }

    /// Up to `limit` items of the tenant's shard of `dataset` after item `after`, decrypted.
    pub fn shard_items(
        &self,
        t: TenantRef<'_>,
        dataset: &str,
        after: u64,
        limit: usize,
    ) -> Result<ShardPage, VaultError> {
        let rows = self.region(t.region)?.items(
            dataset,
            &t.id.to_string(),
            i64::try_from(after).unwrap_or(i64::MAX),
            limit.clamp(1, 10_000),
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let Some((seq, item)) = self.open_item(t, dataset, &r)? else {
                return Ok(ShardPage::Shredded);
            };
            out.push(ShardItem {
                seq,
                record: r.record_id,
                item,
            });
        }
        Ok(ShardPage::Items(out))
    }

    /// Opens one stored item: its position and bytes, `None` when its key was destroyed.
    fn open_item(&self, t: TenantRef<'_>, dataset: &str, r: &RawItem) -> Result<Option<(u64, Vec<u8>)>, VaultError> {
        let seq = u64::try_from(r.seq).unwrap_or(0);
        let corrupt = |detail: String| VaultError::ItemCorrupt {
            dataset: dataset.to_string(),
            seq,
            detail,
        };
        let version = u32::try_from(r.key_version).map_err(|_| corrupt("bad key version".into()))?;
        let Some(aead) = self.dek(t, version)? else {
            return Ok(None);
        };
        let item = aead
            .open(&item_aad(dataset, t, seq, version), &r.sealed)
            .map_err(|e| corrupt(e.to_string()))?;
        Ok(Some((seq, item)))
    }

    /// Re-seals up to `batch` of the tenant's training items under the active key `active`
    /// (a key rotation's re-encryption); `None` when that key is no longer live.
    pub(crate) fn reencrypt_items(
        &self,
        t: TenantRef<'_>,
        rs: &dyn crate::region::RegionStorage,
        active_version: u32,
        active: &crate::crypto::Aead,
        live: &[u32],
        batch: usize,
    ) -> Result<Option<usize>, VaultError> {
        let mut reseal = |dataset: &str, item: &RawItem| -> Result<Vec<u8>, VaultError> {
            let Some((seq, plain)) = self.open_item(t, dataset, item)? else {
                return Err(VaultError::ItemCorrupt {
                    dataset: dataset.to_string(),
                    seq: u64::try_from(item.seq).unwrap_or(0),
                    detail: "its data key was destroyed".into(),
                });
            };
            active.seal(&item_aad(dataset, t, seq, active_version), &plain)
        };
        match rs.reencrypt_items(&t.id.to_string(), active_version, live, batch, &mut reseal)? {
            crate::region::UpdateOutcome::Done(_, n) => Ok(Some(n)),
            crate::region::UpdateOutcome::Missing => Ok(Some(0)),
            crate::region::UpdateOutcome::KeyGone => Ok(None),
        }
    }

    /// Whether an item of the tenant's shard of `dataset` is sealed under a key version that
    /// is no longer live (a purge while the shard was written): such a shard is dropped.
    pub fn shard_outlived_its_keys(&self, t: TenantRef<'_>, dataset: &str) -> Result<bool, VaultError> {
        let live = self.live_versions(t)?;
        let used = self.region(t.region)?.item_key_versions(dataset, &t.id.to_string())?;
        Ok(used.iter().any(|v| !live.contains(v)))
    }

    /// Removes the tenant's shard of `dataset`; how many items went.
    pub fn drop_shard(&self, t: TenantRef<'_>, dataset: &str) -> Result<usize, VaultError> {
        self.region(t.region)?.drop_items(dataset, &t.id.to_string())
    }

    /// Items of the tenant's shard of `dataset` whose record was deleted, or changed after
    /// `since`: a build that began at `since` and finds any is done again.
    pub fn stale_items(&self, t: TenantRef<'_>, dataset: &str, since: OffsetDateTime) -> Result<u64, VaultError> {
        self.region(t.region)?
            .stale_items(dataset, &t.id.to_string(), crate::micros(since))
    }

    /// Removes every item made from the tenant's record `record` (it was deleted or changed:
    /// the copy in a dataset goes with it); how many went.
    pub fn drop_record_items(&self, t: TenantRef<'_>, record: RecordId) -> Result<usize, VaultError> {
        self.region(t.region)?
            .remove_record_items(&t.id.to_string(), &record.to_string())
    }

    /// The datasets that hold an item made from the tenant's record `record`.
    pub fn datasets_holding(&self, t: TenantRef<'_>, record: RecordId) -> Result<Vec<String>, VaultError> {
        self.region(t.region)?
            .datasets_holding(&t.id.to_string(), &record.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MasterSecret, VaultOptions, VaultStorage};
    use datapact_governance::TenantId;

    fn vault(dir: &std::path::Path) -> Vault {
        let (v, _) = Vault::open(VaultOptions {
            data_dir: dir.to_path_buf(),
            regions: vec![("eu".into(), None)],
            master: MasterSecret::KeyFile(dir.join("master.key")),
            max_content_bytes: 1 << 20,
            storage: VaultStorage::Files,
        })
        .expect("vault");
        v
    }

    #[test]
    fn a_shard_reads_back_in_order_and_is_shredded_with_its_tenant() {
        let dir = tempfile::tempdir().expect("dir");
        let v = vault(dir.path());
        let t = TenantRef {
            id: TenantId::generate(),
            region: "eu",
        };
        let now = OffsetDateTime::now_utc();
        let items: Vec<(RecordId, Vec<u8>)> = (0..5)
            .map(|i| (RecordId::generate(), format!("item {i}").into_bytes()))
            .collect();
        // No key yet: nothing can be sealed (a build only writes what it read under a key).
        assert!(matches!(
            v.put_items(t, "ds_1", 1, &items, u32::MAX),
            Err(VaultError::Shredded(_))
        ));
        v.put(
            t,
            vec![crate::NewRecord {
                product: "p".into(),
                data_kind: datapact_governance::DataKind::DesignTime,
                content: crate::Content::Text("x".into()),
                content_type: None,
                categories: vec![],
                metadata: None,
            }],
            now,
        )
        .expect("record");
        let newest = v.newest_key(t).expect("key").expect("a key");
        v.put_items(t, "ds_1", 1, &items, newest).expect("put");
        assert!(!v.shard_outlived_its_keys(t, "ds_1").expect("check"));
        let ShardPage::Items(page) = v.shard_items(t, "ds_1", 0, 3).expect("read") else {
            panic!("shredded")
        };
        assert_eq!(page.iter().map(|i| i.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(page[0].item, b"item 0");
        assert_eq!(
            v.datasets_holding(t, items[4].0).expect("holding"),
            vec!["ds_1".to_string()]
        );
        // Another dataset's name does not open these items.
        assert_eq!(v.shard_items(t, "ds_2", 0, 10).expect("read"), ShardPage::Items(vec![]));
        // The key is in use: it is not retired while the shard holds items; a rotation's
        // re-encryption moves them to the new key, which then lets the old one go.
        let keys = v.key_versions(t).expect("keys");
        assert_eq!(keys[0].records, 6);
        v.rotate(t, now).expect("rotate");
        assert_eq!(v.retire_unused_keys(t, now).expect("retire"), Vec::<u32>::new());
        let (moved, remaining) = v.reencrypt(t, 100, now).expect("reencrypt");
        assert_eq!((moved, remaining), (6, 0));
        assert_eq!(v.retire_unused_keys(t, now).expect("retire"), vec![1]);
        let ShardPage::Items(page) = v.shard_items(t, "ds_1", 0, 10).expect("read") else {
            panic!("shredded")
        };
        assert_eq!(page.len(), 5);
        assert_eq!(page[4].item, b"item 4");
        v.destroy_keys(t, now).expect("destroy");
        assert_eq!(v.shard_items(t, "ds_1", 0, 10).expect("read"), ShardPage::Shredded);
        assert!(v.shard_outlived_its_keys(t, "ds_1").expect("check"));
        // Written after the purge under a version from before it: refused, never re-keyed.
        assert!(matches!(
            v.put_items(t, "ds_1", 6, &items, newest + 1),
            Err(VaultError::Shredded(_))
        ));
        // The purge's row removal takes the shard too.
        let mut removed = 0;
        loop {
            let n = v.remove_rows(t, 100).expect("remove");
            if n == 0 {
                break;
            }
            removed += n;
        }
        assert_eq!(removed, 6);
        assert_eq!(v.shard_items(t, "ds_1", 0, 10).expect("read"), ShardPage::Items(vec![]));
    }
}
