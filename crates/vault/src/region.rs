//! What the vault needs of a region's storage, whatever holds it: SQLite files in a directory
//! (the embedded default, `SqliteRegion` in `store.rs`) or a PostgreSQL database shared by
//! every node of a deployment (`PgRegion` in `pg.rs`).
//!
//! The vault does the cryptography and the rules; a region stores rows. Every method names
//! the tenant, and no method reads or writes another tenant's rows.

use std::collections::HashMap;

use crate::VaultError;

/// A wrapped data key: which KEK wrapped it and the sealed bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// The KEK that wrapped it.
    pub kek_id: String,
    /// `nonce ‖ ciphertext ‖ tag` of the key.
    pub sealed: Vec<u8>,
}

/// A record's row as stored: the metadata columns and (when asked for) the ciphertext.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawRecord {
    pub id: String,
    pub tenant: String,
    pub product: String,
    pub data_kind: String,
    pub categories: String,
    pub metadata: Option<String>,
    pub content_type: String,
    pub encoding: String,
    pub size: i64,
    pub key_version: i64,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// Empty when the ciphertext was not read.
    pub sealed: Vec<u8>,
}

/// A training item's row: its place in its shard, the record it came from, the key version
/// that seals it and the sealed item.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawItem {
    pub seq: i64,
    pub record_id: String,
    pub key_version: i64,
    pub sealed: Vec<u8>,
}

/// A message's row in a Communications Mining dataset's index: which record holds it, its
/// place in upload order, its labels and the latest model's predictions. It holds no content
/// (the record does) and goes with its record, whatever removes the record.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RawMessage {
    pub seq: i64,
    pub dataset: String,
    pub key: String,
    pub record_id: String,
    pub kind: String,
    pub labeled: bool,
    /// Label ids as `,3,17,` (`,` when none).
    pub labels: String,
    pub labeled_by: Option<String>,
    pub labeled_at: Option<i64>,
    /// `id:probability` pairs joined by `,`.
    pub pred: Option<String>,
    pub pred_model: i64,
    pub top: f64,
    pub margin: f64,
    pub disagree: f64,
    pub review: i64,
    pub shuffle: i64,
    pub updated_at: i64,
}

/// Which index rows a query returns, in which order.
#[derive(Debug, Clone, Default)]
pub struct MessageQuery<'a> {
    pub kind: Option<&'a str>,
    pub labeled: Option<bool>,
    /// Rows with any of these label ids (no filter when empty).
    pub label_any: &'a [u32],
    pub review: Option<i64>,
    /// Rows predicted by this model version.
    pub pred_model: Option<i64>,
    pub max_top: Option<f64>,
    pub min_disagree: Option<f64>,
    pub after_seq: i64,
    pub order: MessageOrder,
    pub limit: usize,
}

/// Order of a message query.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MessageOrder {
    /// Upload order.
    #[default]
    Seq,
    /// Newest first.
    SeqDesc,
    /// Smallest margin first.
    Margin,
    /// Lowest top probability first.
    Top,
    /// Stable random.
    Shuffle,
    /// Most disagreement first.
    Disagree,
}

impl MessageOrder {
    pub(crate) fn sql(self) -> &'static str {
        match self {
            MessageOrder::Seq => "seq",
            MessageOrder::SeqDesc => "seq DESC",
            MessageOrder::Margin => "margin, seq",
            MessageOrder::Top => "top, seq",
            MessageOrder::Shuffle => "shuffle, seq",
            MessageOrder::Disagree => "disagree DESC, seq",
        }
    }
}

/// Changes to one index row; absent parts stay.
#[derive(Debug, Clone, Default)]
pub struct MessageChange {
    pub key: String,
    /// (labeled, labels, by, at).
    pub labels: Option<(bool, String, Option<String>, i64)>,
    /// (pred, model, top, margin).
    pub pred: Option<(String, i64, f64, f64)>,
    pub disagree: Option<f64>,
    pub review: Option<i64>,
    pub updated_at: i64,
}

/// Counts of one dataset's index: (design-time, run-time, labeled, pending review).
pub type MessageCounts = (u64, u64, u64, u64);

/// Re-seals one training item (its dataset, the stored row) under the active key.
pub(crate) type ItemReseal<'a> = dyn FnMut(&str, &RawItem) -> Result<Vec<u8>, VaultError> + 'a;

/// Which records a listing returns (times in microseconds since the epoch).
#[derive(Debug, Clone, Default)]
pub(crate) struct RecordFilter<'a> {
    pub product: Option<&'a str>,
    pub data_kind: Option<&'a str>,
    pub category: Option<&'a str>,
    pub created_after: Option<i64>,
    pub created_before: Option<i64>,
    pub after: Option<String>,
    pub limit: usize,
}

/// Which of a tenant's live key versions a destruction takes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum KeySelection<'a> {
    /// Every live version up to and including this one.
    UpTo(u32),
    /// These versions, those of them that encrypt no record once they are locked (a key
    /// retired after re-encryption; a write still under it keeps it).
    Unused(&'a [u32]),
}

impl KeySelection<'_> {
    /// Whether `version` is selected.
    pub(crate) fn takes(&self, version: u32) -> bool {
        match self {
            KeySelection::UpTo(max) => version <= *max,
            KeySelection::Unused(vs) => vs.contains(&version),
        }
    }
}

/// A live data key: version, the KEK that wraps it, creation time (µs).
pub(crate) type LiveKey = (u32, String, i64);

/// One region's records and wrapped data keys.
pub(crate) trait RegionStorage: Send + Sync {
    /// The directory, for file-based regions.
    fn dir(&self) -> Option<&std::path::Path>;

    /// The wrapped data key `version` of `tenant`, if it is live.
    fn wrapped_key(&self, tenant: &str, version: u32) -> Result<Option<WrappedKey>, VaultError>;
    /// The tenant's live key versions, oldest first.
    fn live_keys(&self, tenant: &str) -> Result<Vec<LiveKey>, VaultError>;
    /// The highest version the tenant has had, live or destroyed; 0 if none.
    fn max_version(&self, tenant: &str) -> Result<u32, VaultError>;
    /// Creates the next version (never reusing a destroyed one) with the key `make` wraps for
    /// it, unless the tenant is closed ([`VaultError::Closed`] is the caller's to build, so
    /// this returns `Ok(None)`). One creation per tenant at a time, across every node.
    fn create_key(
        &self,
        tenant: &str,
        now: i64,
        make: &mut dyn FnMut(u32) -> Result<WrappedKey, VaultError>,
    ) -> Result<Option<u32>, VaultError>;
    /// Destroys the selected live versions, noting `purge`, and closes the tenant with
    /// `close`; returns the versions destroyed now with their KEKs. Returns once the wrapped
    /// keys are gone from storage (for SQLite: from the write-ahead log too). Waits for writes
    /// that hold one of the versions to commit, so each write is wholly before or after it.
    fn destroy_keys(
        &self,
        tenant: &str,
        which: KeySelection<'_>,
        purge: Option<&str>,
        close: bool,
        now: i64,
    ) -> Result<Vec<(u32, String)>, VaultError>;
    /// Versions destroyed (by `purge`, or by anything when `None`): version, KEK, when.
    fn destroyed_keys(&self, tenant: &str, purge: Option<&str>) -> Result<Vec<LiveKey>, VaultError>;

    /// Inserts records sealed under `key_version`, all or nothing. `Ok(false)` when that
    /// version is no longer live (another node destroyed it): nothing was written.
    fn insert(&self, tenant: &str, key_version: u32, rows: &[RawRecord]) -> Result<bool, VaultError>;
    /// One record, with its ciphertext if `content`.
    fn fetch(&self, tenant: &str, id: &str, content: bool) -> Result<Option<RawRecord>, VaultError>;
    /// Several records with their ciphertext (those that exist), in one read.
    fn fetch_many(&self, tenant: &str, ids: &[String]) -> Result<Vec<RawRecord>, VaultError>;
    /// Records under the `live` versions, filtered, by id.
    fn list(&self, tenant: &str, live: &[u32], f: &RecordFilter<'_>) -> Result<Vec<RawRecord>, VaultError>;
    /// How many records under the `live` versions (of one product).
    fn count(&self, tenant: &str, product: Option<&str>, live: &[u32]) -> Result<u64, VaultError>;
    /// Records and training items per key version (a version that seals either is in use).
    fn counts_by_key(&self, tenant: &str) -> Result<HashMap<u32, u64>, VaultError>;
    /// Rewrites one record in one transaction: `change` gets the stored row (with its
    /// ciphertext) and returns the new one, sealed under `key_version`. A version that is no
    /// longer live gives [`UpdateOutcome::KeyGone`] and writes nothing.
    fn update(
        &self,
        tenant: &str,
        id: &str,
        key_version: u32,
        change: &mut dyn FnMut(RawRecord) -> Result<RawRecord, VaultError>,
    ) -> Result<UpdateOutcome, VaultError>;
    /// Deletes one record; how many rows went (0 or 1).
    fn delete(&self, tenant: &str, id: &str) -> Result<usize, VaultError>;
    /// Up to `limit` records with ids after `after` (of one product, of one data kind), with
    /// their ciphertext.
    fn page(
        &self,
        tenant: &str,
        after: &str,
        product: Option<&str>,
        kind: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RawRecord>, VaultError>;
    /// Removes up to `batch` rows (records, then training items) sealed under `versions`; when
    /// none is left, makes sure nothing removed lingers (SQLite: the write-ahead log is truncated).
    fn remove_rows(&self, tenant: &str, versions: &[u32], batch: usize) -> Result<usize, VaultError>;
    /// Re-seals up to `batch` records under `live` versions other than `active` with
    /// `reseal`, in one transaction; returns how many.
    fn reencrypt(
        &self,
        tenant: &str,
        active: u32,
        live: &[u32],
        batch: usize,
        reseal: &mut dyn FnMut(RawRecord) -> Result<RawRecord, VaultError>,
    ) -> Result<UpdateOutcome, VaultError>;
    /// Records and training items under `live` versions other than `active`.
    fn remaining(&self, tenant: &str, active: u32, live: &[u32]) -> Result<u64, VaultError>;
    /// Re-seals up to `batch` training items under `live` versions other than `active`:
    /// `reseal` gets each item with its dataset and returns the new ciphertext (sealed under
    /// `active`); in one transaction; returns how many.
    fn reencrypt_items(
        &self,
        tenant: &str,
        active: u32,
        live: &[u32],
        batch: usize,
        reseal: &mut ItemReseal<'_>,
    ) -> Result<UpdateOutcome, VaultError>;
    /// Deletes records created before `cutoff` (of one product, one data kind), and the
    /// training items made from them, in one transaction; how many records went.
    fn sweep(&self, tenant: &str, cutoff: i64, product: Option<&str>, kind: Option<&str>) -> Result<usize, VaultError>;
    /// The (dataset, record) pairs of the training items [`RegionStorage::sweep`] with the same
    /// arguments would remove.
    fn swept_items(
        &self,
        tenant: &str,
        cutoff: i64,
        product: Option<&str>,
        kind: Option<&str>,
    ) -> Result<Vec<(String, String)>, VaultError>;
    /// A record's ciphertext, whoever owns it (tests that prove where bytes live).
    fn raw_sealed(&self, id: &str) -> Result<Option<Vec<u8>>, VaultError>;
    /// Makes deletions final on disk (SQLite: truncates the write-ahead logs).
    fn checkpoint(&self) -> Result<(), VaultError>;

    /// Inserts training items of `tenant`'s shard of `dataset` sealed under `key_version`, all
    /// or nothing; `Ok(false)` when that version is no longer live (nothing was written).
    fn insert_items(&self, dataset: &str, tenant: &str, key_version: u32, rows: &[RawItem])
    -> Result<bool, VaultError>;
    /// Up to `limit` items of `tenant`'s shard of `dataset` after `after`, in order.
    fn items(&self, dataset: &str, tenant: &str, after: i64, limit: usize) -> Result<Vec<RawItem>, VaultError>;
    /// Removes `tenant`'s shard of `dataset` (a build step done again, a dataset deleted).
    fn drop_items(&self, dataset: &str, tenant: &str) -> Result<usize, VaultError>;
    /// The datasets whose shard of `tenant` holds an item made from `record`.
    fn datasets_holding(&self, tenant: &str, record: &str) -> Result<Vec<String>, VaultError>;
    /// Items of `tenant`'s shard of `dataset` whose record is gone or was changed after
    /// `since` (µs): a copy that no longer matches its record.
    fn stale_items(&self, dataset: &str, tenant: &str, since: i64) -> Result<u64, VaultError>;
    /// The key versions that seal items of `tenant`'s shard of `dataset`.
    fn item_key_versions(&self, dataset: &str, tenant: &str) -> Result<Vec<u32>, VaultError>;
    /// Removes every item made from `tenant`'s `record`, in every dataset; how many went.
    fn remove_record_items(&self, tenant: &str, record: &str) -> Result<usize, VaultError>;

    // Communications Mining's message index (rows go with their records: a foreign key).
    /// Inserts records and their index rows in one transaction (false: the key was destroyed
    /// meanwhile, as `insert`).
    fn insert_messages(
        &self,
        tenant: &str,
        key_version: u32,
        rows: &[RawRecord],
        msgs: &[RawMessage],
    ) -> Result<bool, VaultError>;
    /// One dataset's index row for `key`.
    fn message(&self, tenant: &str, dataset: &str, key: &str) -> Result<Option<RawMessage>, VaultError>;
    /// One dataset's index rows for these keys (those that exist), in one read.
    fn messages_by_key(&self, tenant: &str, dataset: &str, keys: &[String]) -> Result<Vec<RawMessage>, VaultError>;
    /// The index row of the message a record holds, in whichever dataset.
    fn message_by_record(&self, tenant: &str, record: &str) -> Result<Option<RawMessage>, VaultError>;
    /// Index rows of one dataset.
    fn messages(&self, tenant: &str, dataset: &str, q: &MessageQuery<'_>) -> Result<Vec<RawMessage>, VaultError>;
    /// Applies changes to index rows, in one transaction; answers how many rows existed.
    fn change_messages(&self, tenant: &str, dataset: &str, changes: &[MessageChange]) -> Result<usize, VaultError>;
    /// Replaces label ids in every row of a dataset (the labels left the taxonomy): each by
    /// the label it gives way to, or by nothing.
    fn remove_message_labels(&self, tenant: &str, dataset: &str, ids: &[(u32, Option<u32>)]) -> Result<(), VaultError>;
    /// Counts of a dataset's rows.
    fn message_counts(&self, tenant: &str, dataset: &str) -> Result<MessageCounts, VaultError>;
}

/// What a rewrite did.
#[derive(Debug, Clone)]
pub(crate) enum UpdateOutcome {
    /// Done: the new row, or how many rows were rewritten.
    Done(Option<Box<RawRecord>>, usize),
    /// The record does not exist.
    Missing,
    /// The key version it was to be sealed under is no longer live: nothing was written.
    KeyGone,
}
