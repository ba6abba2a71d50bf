//! The customer data vault: records encrypted under per-tenant data keys, stored only in the
//! tenant's region, with export, modification, deletion, key rotation, retention and purge by
//! crypto-shredding with a signed deletion certificate.
//!
//! Every method is blocking (SQLite and AES run on the calling thread); async callers run them
//! on a blocking pool.
#![forbid(unsafe_code)]

pub mod api_key;
pub mod certificate;
pub mod crypto;
pub mod keys;
mod mining;
mod mining_pg;
mod mining_sqlite;
mod pg;
mod pg_error;
mod region;
mod store;
mod training;
pub mod transfer;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use base64::Engine;
pub use datapact_governance::RetentionRule;
use datapact_governance::{DataKind, RecordId, TenantId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use certificate::{CertificateStatement, DeletionCertificate, Downstream, VerifyError, verify_certificate};
use crypto::{Aead, SecretKey};
use keys::SealedFiles;
pub use keys::{KeyProvider, LocalKeyring, MasterKey, MasterOutcome, MasterSecret, Signer};
pub use mining::{MessageIndex, NewMessage, StoredPrediction, encode_labels, label_change, prediction_change};
use region::{KeySelection, RawRecord, RecordFilter, RegionStorage, UpdateOutcome};
pub use region::{MessageChange, MessageCounts, MessageOrder, MessageQuery};
use store::SqliteRegion;
pub use training::{ShardItem, ShardPage};

/// Why a vault operation failed.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// Encryption or decryption failed.
    #[error("cryptographic failure: {0}")]
    Crypto(String),
    /// A key file is malformed or does not fit.
    #[error("key store: {0}")]
    KeyStore(String),
    /// A master secret or keyring needed for existing data is missing.
    #[error("{0}")]
    MasterMissing(String),
    /// The master secret is wrong.
    #[error("{0}")]
    MasterWrong(String),
    /// No such record for this tenant.
    #[error("record {0} not found")]
    NotFound(String),
    /// Content larger than allowed.
    #[error("{field}: content is {size} bytes, larger than the limit of {limit}")]
    TooLarge {
        /// The field (e.g. `records[3].content`).
        field: String,
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A value is not acceptable.
    #[error("{field}: {message}")]
    Invalid {
        /// The field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A stored record cannot be decrypted or parsed: altered on disk, or a bug.
    #[error("record {record} is corrupted and cannot be read: {detail}")]
    Corrupt {
        /// The record.
        record: String,
        /// What failed.
        detail: String,
    },
    /// A training item cannot be decrypted: altered on disk, or a bug.
    #[error("item {seq} of dataset {dataset} is corrupted and cannot be read: {detail}")]
    ItemCorrupt {
        /// The dataset.
        dataset: String,
        /// The item's place in its shard.
        seq: u64,
        /// What failed.
        detail: String,
    },
    /// The tenant's data keys were destroyed while its data was being copied into a training
    /// dataset (a purge): nothing of it may be written there.
    #[error("the data keys of tenant {0} were destroyed during the operation")]
    Shredded(TenantId),
    /// The region is not configured.
    #[error("region `{0}` is not configured")]
    UnknownRegion(String),
    /// A lock was poisoned by a panic elsewhere.
    #[error("internal lock poisoned")]
    Poisoned,
    /// A WAL checkpoint could not complete (readers held old snapshots): what was deleted may
    /// still be in the WAL file, so the operation that needed it gone is not finished.
    #[error("{0}: the write-ahead log could not be truncated (readers still hold it); retry")]
    CheckpointIncomplete(String),
    /// The tenant was closed by a contract termination: no data key is ever created for it again.
    #[error("tenant {0} is closed: its contract was terminated and its data destroyed")]
    Closed(TenantId),
    /// The key observer refused a key operation (its audit entry could not be stored).
    #[error("key operation refused: {0}")]
    Refused(String),
    /// PostgreSQL answered with an error.
    #[error("database error: {0}")]
    Postgres(String),
    /// A message id of a dataset was stored by another upload since this one looked (two
    /// uploads of the same new id at once): nothing was stored; looked at again, it is an
    /// update.
    #[error("message {0} was stored meanwhile")]
    Duplicate(String),
    /// The database cannot be reached (or the connection broke): nothing was done, retry.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
}

/// Told before a data key is created, from the thread that creates it. An error refuses the
/// creation: this is how the server makes key creation wait on its audit entry.
pub trait KeyObserver: Send + Sync {
    /// Data key `version` of `tenant` is about to be created in `region`.
    fn creating(&self, tenant: TenantId, region: &str, version: u32) -> Result<(), String>;
}

/// Record content: text (UTF-8) or bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// UTF-8 text (including JSON documents).
    Text(String),
    /// Arbitrary bytes.
    Bytes(Vec<u8>),
}

impl Content {
    fn as_bytes(&self) -> &[u8] {
        match self {
            Content::Text(s) => s.as_bytes(),
            Content::Bytes(b) => b,
        }
    }
    fn encoding(&self) -> &'static str {
        match self {
            Content::Text(_) => "text",
            Content::Bytes(_) => "bytes",
        }
    }
}

/// A record to write.
#[derive(Debug, Clone)]
pub struct NewRecord {
    /// Product the data belongs to.
    pub product: String,
    /// Design-time or run-time data.
    pub data_kind: DataKind,
    /// The content.
    pub content: Content,
    /// Media type; `text/plain` or `application/octet-stream` by default.
    pub content_type: Option<String>,
    /// Dotted data categories (`user.contact.email`).
    pub categories: Vec<String>,
    /// Small JSON object without customer content.
    pub metadata: Option<serde_json::Value>,
}

/// Changes to a record; absent fields stay.
#[derive(Debug, Clone, Default)]
pub struct RecordPatch {
    /// New content (new ciphertext; the old one is destroyed).
    pub content: Option<Content>,
    /// New media type.
    pub content_type: Option<String>,
    /// New categories.
    pub categories: Option<Vec<String>>,
    /// New metadata.
    pub metadata: Option<serde_json::Value>,
}

/// Everything about a record except its content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordMeta {
    /// Identifier.
    pub id: RecordId,
    /// Owning tenant.
    pub tenant: TenantId,
    /// Product.
    pub product: String,
    /// Data kind.
    pub data_kind: DataKind,
    /// Data categories.
    pub categories: Vec<String>,
    /// Metadata.
    pub metadata: Option<serde_json::Value>,
    /// Media type.
    pub content_type: String,
    /// `text` or `bytes`.
    pub encoding: String,
    /// Plaintext size in bytes.
    pub size: usize,
    /// Data key version that encrypts it.
    pub key_version: u32,
    /// Record version, incremented on every change.
    pub version: u64,
    /// Region where it is stored.
    pub region: String,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A record with its decrypted content.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Metadata.
    pub meta: RecordMeta,
    /// Content.
    pub content: Content,
}

/// Which records to list.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only this product.
    pub product: Option<String>,
    /// Only this data kind.
    pub data_kind: Option<DataKind>,
    /// Only records with this category or one below it (`user.contact` matches `user.contact.email`).
    pub category: Option<String>,
    /// Created at or after.
    pub created_after: Option<OffsetDateTime>,
    /// Created before.
    pub created_before: Option<OffsetDateTime>,
    /// Records after this id (pagination).
    pub after: Option<RecordId>,
    /// Page size.
    pub limit: usize,
}

/// A tenant's data key version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyVersion {
    /// Version number.
    pub version: u32,
    /// KEK that wraps it.
    pub kek_id: String,
    /// Whether new writes use it.
    pub active: bool,
    /// Records and training items (datasets' shards) still sealed under it.
    pub records: u64,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// What destroying a tenant's keys did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestroyedKeys {
    /// Versions destroyed now.
    pub versions: Vec<u32>,
    /// KEKs those versions were wrapped under.
    pub kek_ids: Vec<String>,
    /// When.
    pub at: OffsetDateTime,
}

/// Settings of a vault.
#[derive(Debug, Clone)]
pub struct VaultOptions {
    /// Data directory (master metadata, signing key; region directories by default).
    pub data_dir: PathBuf,
    /// Each configured region and, optionally, a directory elsewhere for its storage.
    pub regions: Vec<(String, Option<PathBuf>)>,
    /// Where the master key comes from.
    pub master: MasterSecret,
    /// Largest record content accepted, in bytes.
    pub max_content_bytes: usize,
    /// Where records, keys and the sealed secrets live.
    pub storage: VaultStorage,
}

/// Where the vault keeps what it stores.
#[derive(Debug, Clone, Default)]
pub enum VaultStorage {
    /// SQLite files: each region's `vault.db` and `keys.db` in its directory, the sealed
    /// secrets in the data directory (the embedded default).
    #[default]
    Files,
    /// PostgreSQL, shared by every node of a deployment: the sealed secrets in the main
    /// database, each region's records and keys in its own (the main one unless named).
    Postgres {
        /// The main database.
        url: String,
        /// Each region's database, by region.
        region_urls: HashMap<String, String>,
    },
}

/// Unwrapped data keys, with a generation per tenant that every key destruction advances: a
/// key read from `keys.db` before a destruction is not put back into the cache after it.
struct KeyCache {
    keys: HashMap<(TenantId, u32), CachedKey>,
    generation: HashMap<TenantId, u64>,
    /// What the last-use times count from.
    born: std::time::Instant,
}

/// An unwrapped data key and when it was last used (seconds since the cache was made).
struct CachedKey {
    aead: Arc<Aead>,
    used: std::sync::atomic::AtomicU64,
}

impl KeyCache {
    fn new() -> Self {
        Self {
            keys: HashMap::new(),
            generation: HashMap::new(),
            born: std::time::Instant::now(),
        }
    }

    /// Seconds since the cache was made: a coarse clock for last use.
    fn tick(&self) -> u64 {
        self.born.elapsed().as_secs()
    }

    /// Forgets keys not used for `idle` or more; returns how many.
    fn evict_idle(&mut self, idle: std::time::Duration) -> usize {
        let now = self.tick();
        let before = self.keys.len();
        self.keys
            .retain(|_, k| now.saturating_sub(k.used.load(std::sync::atomic::Ordering::Relaxed)) < idle.as_secs());
        before - self.keys.len()
    }

    fn generation(&self, tenant: TenantId) -> u64 {
        self.generation.get(&tenant).copied().unwrap_or(0)
    }

    /// Forgets `tenant`'s keys (those `drop` selects) and advances its generation.
    fn destroyed(&mut self, tenant: TenantId, drop: impl Fn(u32) -> bool) {
        self.keys.retain(|(t, v), _| *t != tenant || !drop(*v));
        *self.generation.entry(tenant).or_insert(0) += 1;
    }
}

/// The vault.
pub struct Vault {
    regions: HashMap<String, Box<dyn RegionStorage>>,
    /// Whether other processes write the regions too (PostgreSQL): a node's idea of a
    /// tenant's active key is then read from the database, not kept.
    shared: bool,
    provider: Arc<dyn KeyProvider>,
    signer: Signer,
    deks: RwLock<KeyCache>,
    active: RwLock<HashMap<TenantId, u32>>,
    key_lock: Mutex<()>,
    /// Held shared by every write that seals content (from taking the data key to the commit),
    /// and exclusively by [`Vault::destroy_keys`]: a write is either wholly before a purge (and
    /// purged with it) or wholly after (under a new key, and kept).
    shred_fence: RwLock<()>,
    max_content_bytes: usize,
    observer: RwLock<Option<Arc<dyn KeyObserver>>>,
    correlation: SecretKey,
    /// Derived once from the correlation key: the key API key hashes are computed under
    /// (every request authenticates with it).
    key_hash_key: aws_lc_rs::hmac::Key,
}

fn micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1000) as i64
}

fn from_micros(us: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(us as i128 * 1000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn dek_context(tenant: TenantId, version: u32, region: &str) -> Vec<u8> {
    format!("datapact.dek/v1|{tenant}|{version}|{region}").into_bytes()
}

fn record_aad(tenant: TenantId, id: RecordId, version: u64, key_version: u32) -> Vec<u8> {
    format!("datapact.record/v1|{tenant}|{id}|{version}|{key_version}").into_bytes()
}

const MAX_CATEGORIES: usize = 32;
const MAX_METADATA_BYTES: usize = 4096;

/// Marks a `metadata` column that holds the record's metadata and content type sealed under its
/// data key (rows written before this hold them in clear, and are sealed when next rewritten).
const SEALED_META: &str = "sealed:v1:";

/// A record's row: its metadata, with the sealed part still sealed.
struct StoredMeta {
    meta: RecordMeta,
    sealed: Option<String>,
}

/// What is sealed of a record's metadata.
#[derive(Serialize, Deserialize)]
struct SealedMeta {
    #[serde(rename = "m")]
    metadata: Option<serde_json::Value>,
    #[serde(rename = "t")]
    content_type: String,
}

fn meta_aad(tenant: TenantId, id: RecordId, version: u64, key_version: u32) -> Vec<u8> {
    let mut aad = record_aad(tenant, id, version, key_version);
    aad.extend_from_slice(b"|metadata");
    aad
}

/// The `metadata` column of a record: its metadata and content type sealed under `aead`.
fn seal_meta(aead: &Aead, t: TenantRef<'_>, m: &RecordMeta) -> Result<String, VaultError> {
    let plain = serde_json::to_vec(&SealedMeta {
        metadata: m.metadata.clone(),
        content_type: m.content_type.clone(),
    })
    .map_err(|e| VaultError::Crypto(e.to_string()))?;
    let sealed = aead.seal(&meta_aad(t.id, m.id, m.version, m.key_version), &plain)?;
    Ok(format!("{SEALED_META}{}", b64(&sealed)))
}

fn stored_meta(r: RawRecord, region: &str) -> Result<(StoredMeta, Vec<u8>), VaultError> {
    let corrupt = |detail: String| VaultError::Corrupt {
        record: r.id.clone(),
        detail,
    };
    let (metadata, sealed) = match r.metadata {
        Some(c) if c.starts_with(SEALED_META) => (None, Some(c)),
        other => (other, None),
    };
    let meta = RecordMeta {
        id: r.id.parse().map_err(|e| corrupt(format!("{e}")))?,
        tenant: r.tenant.parse().map_err(|e| corrupt(format!("{e}")))?,
        product: r.product,
        data_kind: match r.data_kind.as_str() {
            "design_time" => DataKind::DesignTime,
            "run_time" => DataKind::RunTime,
            other => return Err(corrupt(format!("unknown data kind `{other}`"))),
        },
        categories: serde_json::from_str(&r.categories).map_err(|e| corrupt(format!("categories: {e}")))?,
        metadata: metadata
            .map(|m| serde_json::from_str(&m))
            .transpose()
            .map_err(|e| corrupt(format!("metadata: {e}")))?,
        content_type: r.content_type,
        encoding: r.encoding,
        size: r.size as usize,
        key_version: r.key_version as u32,
        version: r.version as u64,
        region: region.to_string(),
        created_at: from_micros(r.created_at),
        updated_at: from_micros(r.updated_at),
    };
    Ok((StoredMeta { meta, sealed }, r.sealed))
}

/// A record's row: its metadata (with what is secret of it sealed in `sealed_meta`) and
/// its ciphertext.
fn raw_record(m: &RecordMeta, sealed: Vec<u8>, sealed_meta: String) -> RawRecord {
    RawRecord {
        id: m.id.to_string(),
        tenant: m.tenant.to_string(),
        product: m.product.clone(),
        data_kind: m.data_kind.as_str().to_string(),
        categories: serde_json::to_string(&m.categories).unwrap_or_else(|_| "[]".into()),
        metadata: Some(sealed_meta),
        content_type: String::new(),
        encoding: m.encoding.clone(),
        size: m.size as i64,
        key_version: i64::from(m.key_version),
        version: m.version as i64,
        created_at: micros(m.created_at),
        updated_at: micros(m.updated_at),
        sealed,
    }
}

/// A tenant as the vault sees it: its id and the region its data lives in.
#[derive(Debug, Clone, Copy)]
pub struct TenantRef<'a> {
    /// Tenant id.
    pub id: TenantId,
    /// The tenant's region.
    pub region: &'a str,
}

impl Vault {
    /// Opens the master key, the regions' keyrings and storage, and the signing key.
    pub fn open(opts: VaultOptions) -> Result<(Self, MasterOutcome), VaultError> {
        let dirs: Vec<(String, PathBuf)> = opts
            .regions
            .iter()
            .map(|(r, p)| {
                (
                    r.clone(),
                    p.clone().unwrap_or_else(|| opts.data_dir.join("regions").join(r)),
                )
            })
            .collect();
        let shared_secrets = match &opts.storage {
            VaultStorage::Files => None,
            VaultStorage::Postgres { url, .. } => Some(pg::PgSecrets::open(url)?),
        };
        let files = match &shared_secrets {
            None => SealedFiles::Dir,
            Some(db) => SealedFiles::Shared(db),
        };
        let mut regions: HashMap<String, Box<dyn RegionStorage>> = HashMap::new();
        let mut ring_regions: Vec<(String, PathBuf, bool)> = Vec::new();
        for (r, d) in &dirs {
            let (storage, has_data): (Box<dyn RegionStorage>, bool) = match &opts.storage {
                VaultStorage::Files => {
                    let has_data = SqliteRegion::has_data(d);
                    (Box::new(SqliteRegion::open(d)?), has_data)
                }
                VaultStorage::Postgres { url, region_urls } => {
                    let region = pg::PgRegion::open(region_urls.get(r).unwrap_or(url), r)?;
                    let has_data = region.has_data()?;
                    (Box::new(region), has_data)
                }
            };
            ring_regions.push((r.clone(), d.clone(), has_data));
            regions.insert(r.clone(), storage);
        }
        let signing = opts.data_dir.join("signing-key.json");
        let mut sealed_elsewhere = files.exists(&signing, "signing-key.json")?;
        for (r, d, has_data) in &ring_regions {
            sealed_elsewhere |=
                *has_data || files.exists(&d.join("keyring.json"), &format!("regions/{r}/keyring.json"))?;
        }
        let (master, outcome) = MasterKey::open(&opts.data_dir, &opts.master, sealed_elsewhere, &files)?;
        let provider = Arc::new(LocalKeyring::open(&master, &ring_regions, &files)?);
        let signer = Signer::open(&master, &opts.data_dir, &files)?;
        let correlation = keys::open_sealed_secret(
            &master,
            &opts.data_dir.join("correlation-key.json"),
            "correlation-key.json",
            "correlation",
            &files,
        )?;
        let key_hash_key = {
            use aws_lc_rs::hmac;
            let root = hmac::Key::new(hmac::HMAC_SHA256, correlation.expose());
            let derived = hmac::sign(&root, b"datapact.api-key-hash/v1");
            hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref())
        };
        Ok((
            Self {
                regions,
                shared: shared_secrets.is_some(),
                provider,
                signer,
                deks: RwLock::new(KeyCache::new()),
                active: RwLock::new(HashMap::new()),
                key_lock: Mutex::new(()),
                shred_fence: RwLock::new(()),
                max_content_bytes: opts.max_content_bytes,
                observer: RwLock::new(None),
                correlation,
                key_hash_key,
            },
            outcome,
        ))
    }

    /// Forgets every unwrapped data key not used for `idle` (the next use unwraps it again
    /// from the region's key store); returns how many. Run periodically, so a tenant's keys are
    /// in a node's memory only while the node works for that tenant: after a purge through
    /// another node, or once a tenant goes quiet, nothing of them stays here for long.
    pub fn evict_idle_keys(&self, idle: std::time::Duration) -> Result<usize, VaultError> {
        Ok(self.deks.write().map_err(|_| VaultError::Poisoned)?.evict_idle(idle))
    }

    /// How many unwrapped data keys this process holds now.
    pub fn cached_keys(&self) -> usize {
        self.deks.read().map(|c| c.keys.len()).unwrap_or(0)
    }

    /// Sets the observer told before every data key creation.
    pub fn set_key_observer(&self, observer: Arc<dyn KeyObserver>) {
        if let Ok(mut o) = self.observer.write() {
            *o = Some(observer);
        }
    }

    /// A keyed hash of `value` for organization `org`: HMAC-SHA-256 under a key derived for
    /// that organization from the deployment's correlation key. Equal values of one
    /// organization correlate; nothing links them across organizations or reveals the value.
    pub fn correlate(&self, org: &str, value: &str) -> String {
        use aws_lc_rs::hmac;
        let root = hmac::Key::new(hmac::HMAC_SHA256, self.correlation.expose());
        let org_key = hmac::sign(&root, format!("datapact.correlation/v1|{org}").as_bytes());
        let key = hmac::Key::new(hmac::HMAC_SHA256, org_key.as_ref());
        let tag = hmac::sign(&key, value.as_bytes());
        format!("hmac-sha256:{}", b64(tag.as_ref()))
    }

    /// The stored form of an API key: HMAC-SHA-256 of the secret's SHA-256 under a key derived
    /// from the deployment's sealed correlation key. Lookups stay one hash-map probe, and a
    /// copy of the database alone does not let anyone test guesses of a key offline (a
    /// human-chosen `DATAPACT_ADMIN_KEY` included): that takes the master secret too.
    pub fn key_hash(&self, secret_sha256: &[u8; 32]) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(aws_lc_rs::hmac::sign(&self.key_hash_key, secret_sha256).as_ref());
        out
    }

    /// The stored form of an API key's secret: [`Vault::key_hash`] of its SHA-256.
    pub fn api_key_hash(&self, secret: &str) -> [u8; 32] {
        self.key_hash(&api_key::hash_secret(secret))
    }

    /// The server's signing key.
    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// The largest content accepted.
    pub fn max_content_bytes(&self) -> usize {
        self.max_content_bytes
    }

    /// The directory a region's storage lives in (`None` on PostgreSQL).
    pub fn region_dir(&self, region: &str) -> Option<&std::path::Path> {
        self.regions.get(region).and_then(|r| r.dir())
    }

    fn region(&self, region: &str) -> Result<&dyn RegionStorage, VaultError> {
        self.regions
            .get(region)
            .map(|r| r.as_ref())
            .ok_or_else(|| VaultError::UnknownRegion(region.to_string()))
    }

    /// The data key for `version`, unwrapped once and then cached; `None` if destroyed.
    fn dek(&self, t: TenantRef<'_>, version: u32) -> Result<Option<Arc<Aead>>, VaultError> {
        // A destruction between reading the wrapped key and caching it is seen by the
        // generation; the read is then done again, and finds the key gone.
        for _ in 0..4 {
            let generation = {
                let cache = self.deks.read().map_err(|_| VaultError::Poisoned)?;
                if let Some(k) = cache.keys.get(&(t.id, version)) {
                    k.used.store(cache.tick(), std::sync::atomic::Ordering::Relaxed);
                    return Ok(Some(Arc::clone(&k.aead)));
                }
                cache.generation(t.id)
            };
            let Some(aead) = self.load_dek(t, version)? else {
                return Ok(None);
            };
            #[cfg(test)]
            tests::AFTER_LOAD.with(|h| h.borrow_mut().take().map(|f| f()));
            let mut cache = self.deks.write().map_err(|_| VaultError::Poisoned)?;
            if cache.generation(t.id) == generation {
                let used = std::sync::atomic::AtomicU64::new(cache.tick());
                cache.keys.insert(
                    (t.id, version),
                    CachedKey {
                        aead: Arc::clone(&aead),
                        used,
                    },
                );
                return Ok(Some(aead));
            }
        }
        Err(VaultError::KeyStore(
            "the tenant's data keys keep changing; retry".into(),
        ))
    }

    /// Reads and unwraps data key `version` from the region's key store.
    fn load_dek(&self, t: TenantRef<'_>, version: u32) -> Result<Option<Arc<Aead>>, VaultError> {
        let Some(wrapped) = self.region(t.region)?.wrapped_key(&t.id.to_string(), version)? else {
            return Ok(None);
        };
        let key = self
            .provider
            .unwrap(t.region, &dek_context(t.id, version, t.region), &wrapped)?;
        Ok(Some(Arc::new(Aead::new(&key)?)))
    }

    /// The tenant's live (not destroyed) data key versions. Keys this node still holds in
    /// memory for versions that are gone (destroyed by another node) are forgotten.
    fn live_versions(&self, t: TenantRef<'_>) -> Result<Vec<u32>, VaultError> {
        let live: Vec<u32> = self
            .region(t.region)?
            .live_keys(&t.id.to_string())?
            .into_iter()
            .map(|(v, _, _)| v)
            .collect();
        if self.shared {
            let stale = {
                let cache = self.deks.read().map_err(|_| VaultError::Poisoned)?;
                cache.keys.keys().any(|(tid, v)| *tid == t.id && !live.contains(v))
            };
            if stale {
                self.forget(t.id, |v| !live.contains(&v))?;
            }
        }
        Ok(live)
    }

    /// Forgets `tenant`'s cached keys that `drop` selects (and its active version, if selected).
    fn forget(&self, tenant: TenantId, drop: impl Fn(u32) -> bool) -> Result<(), VaultError> {
        self.deks
            .write()
            .map_err(|_| VaultError::Poisoned)?
            .destroyed(tenant, &drop);
        let mut active = self.active.write().map_err(|_| VaultError::Poisoned)?;
        if active.get(&tenant).is_some_and(|v| drop(*v)) {
            active.remove(&tenant);
        }
        Ok(())
    }

    /// The active data key version and key, creating version 1 on the tenant's first write.
    fn active_dek(&self, t: TenantRef<'_>, now: OffsetDateTime) -> Result<(u32, Arc<Aead>), VaultError> {
        // One process alone keeps the active version in memory; nodes sharing a database read
        // it (another node may have rotated or destroyed it).
        let known = if self.shared {
            self.live_versions(t)?.into_iter().max()
        } else {
            self.active
                .read()
                .map_err(|_| VaultError::Poisoned)?
                .get(&t.id)
                .copied()
        };
        if let Some(v) = known
            && let Some(a) = self.dek(t, v)?
        {
            return Ok((v, a));
        }
        let _g = self.key_lock.lock().map_err(|_| VaultError::Poisoned)?;
        let current = self.live_versions(t)?.into_iter().max();
        let version = match current {
            Some(v) => v,
            None => self.create_dek(t, now)?,
        };
        let aead = self
            .dek(t, version)?
            .ok_or_else(|| VaultError::KeyStore("data key vanished".into()))?;
        self.active
            .write()
            .map_err(|_| VaultError::Poisoned)?
            .insert(t.id, version);
        Ok((version, aead))
    }

    /// Creates the next data key version (never reusing a destroyed one). Caller holds `key_lock`.
    fn create_dek(&self, t: TenantRef<'_>, now: OffsetDateTime) -> Result<u32, VaultError> {
        let rs = self.region(t.region)?;
        let dek = SecretKey::generate()?;
        let observer = self.observer.read().map_err(|_| VaultError::Poisoned)?.clone();
        let mut make = |version: u32| {
            if let Some(o) = &observer {
                o.creating(t.id, t.region, version).map_err(VaultError::Refused)?;
            }
            self.provider
                .wrap(t.region, &dek_context(t.id, version, t.region), &dek)
        };
        let version = rs
            .create_key(&t.id.to_string(), micros(now), &mut make)?
            .ok_or(VaultError::Closed(t.id))?;
        tracing::info!(tenant = %t.id, region = t.region, version, "created a tenant data key");
        Ok(version)
    }

    fn check_content(&self, field: &str, c: &Content, content_type: Option<&str>) -> Result<(), VaultError> {
        let size = c.as_bytes().len();
        if size > self.max_content_bytes {
            return Err(VaultError::TooLarge {
                field: field.to_string(),
                size,
                limit: self.max_content_bytes,
            });
        }
        if let Some(ct) = content_type {
            if ct.is_empty() || ct.len() > 128 || !ct.contains('/') || ct.chars().any(|ch| ch.is_control() || ch == ' ')
            {
                return Err(VaultError::Invalid {
                    field: "content_type".into(),
                    message: format!("`{ct}` is not a media type"),
                });
            }
            if ct.starts_with("application/json")
                && let Content::Text(t) = c
                && serde_json::from_str::<serde::de::IgnoredAny>(t).is_err()
            {
                return Err(VaultError::Invalid {
                    field: field.to_string(),
                    message: "content_type is application/json but the content is not valid JSON".into(),
                });
            }
        }
        Ok(())
    }

    fn check_labels(
        prefix: &str,
        categories: &[String],
        metadata: Option<&serde_json::Value>,
    ) -> Result<(), VaultError> {
        if categories.len() > MAX_CATEGORIES {
            return Err(VaultError::Invalid {
                field: format!("{prefix}categories"),
                message: format!("at most {MAX_CATEGORIES} categories"),
            });
        }
        for (i, c) in categories.iter().enumerate() {
            if !datapact_governance::catalog::valid_category(c) {
                return Err(VaultError::Invalid {
                    field: format!("{prefix}categories[{i}]"),
                    message: format!("`{c}` is not a dotted category label like `user.contact.email`"),
                });
            }
        }
        if let Some(m) = metadata {
            if !m.is_object() {
                return Err(VaultError::Invalid {
                    field: format!("{prefix}metadata"),
                    message: "metadata must be a JSON object".into(),
                });
            }
            if m.to_string().len() > MAX_METADATA_BYTES {
                return Err(VaultError::Invalid {
                    field: format!("{prefix}metadata"),
                    message: format!(
                        "metadata is limited to {MAX_METADATA_BYTES} bytes; it describes records and holds no content"
                    ),
                });
            }
        }
        Ok(())
    }

    /// Writes records for one tenant, all or nothing, in the tenant's region.
    pub fn put(
        &self,
        t: TenantRef<'_>,
        records: Vec<NewRecord>,
        now: OffsetDateTime,
    ) -> Result<Vec<RecordMeta>, VaultError> {
        let ids = records.iter().map(|_| RecordId::generate()).collect();
        self.put_with_ids(t, records, ids, now)
    }

    /// Writes records under ids the caller chose (so it can log them before they exist).
    pub fn put_with_ids(
        &self,
        t: TenantRef<'_>,
        records: Vec<NewRecord>,
        ids: Vec<RecordId>,
        now: OffsetDateTime,
    ) -> Result<Vec<RecordMeta>, VaultError> {
        if ids.len() != records.len() {
            return Err(VaultError::Invalid {
                field: "records".into(),
                message: format!("{} ids for {} records", ids.len(), records.len()),
            });
        }
        let tenant = t.id.to_string();
        self.put_sealed(t, records, ids, now, |rs, version, rows| {
            rs.insert(&tenant, version, rows)
        })
    }

    /// Seals `records` under the tenant's active key and hands the rows to `insert` (false:
    /// the key was destroyed meanwhile, and they are sealed again under a new one).
    pub(crate) fn put_sealed(
        &self,
        t: TenantRef<'_>,
        records: Vec<NewRecord>,
        ids: Vec<RecordId>,
        now: OffsetDateTime,
        insert: impl Fn(&dyn RegionStorage, u32, &[RawRecord]) -> Result<bool, VaultError>,
    ) -> Result<Vec<RecordMeta>, VaultError> {
        let batch = records.len() > 1;
        for (i, r) in records.iter().enumerate() {
            let prefix = if batch { format!("records[{i}].") } else { String::new() };
            let field = if matches!(r.content, Content::Bytes(_)) {
                "content_base64"
            } else {
                "content"
            };
            self.check_content(&format!("{prefix}{field}"), &r.content, r.content_type.as_deref())?;
            Self::check_labels(&prefix, &r.categories, r.metadata.as_ref())?;
        }
        let rs = self.region(t.region)?;
        let _fence = self.shred_fence.read().map_err(|_| VaultError::Poisoned)?;
        // On a shared database another node may destroy the key between taking it and
        // writing: the write is then refused by the database and sealed again under a new key.
        for _ in 0..4 {
            let (key_version, aead) = self.active_dek(t, now)?;
            let mut metas = Vec::with_capacity(records.len());
            let mut rows = Vec::with_capacity(records.len());
            for (r, id) in records.iter().zip(&ids) {
                let sealed = aead.seal(&record_aad(t.id, *id, 1, key_version), r.content.as_bytes())?;
                let content_type = r.content_type.clone().unwrap_or_else(|| match r.content {
                    Content::Text(_) => "text/plain".into(),
                    Content::Bytes(_) => "application/octet-stream".into(),
                });
                let meta = RecordMeta {
                    id: *id,
                    tenant: t.id,
                    product: r.product.clone(),
                    data_kind: r.data_kind,
                    categories: r.categories.clone(),
                    metadata: r.metadata.clone(),
                    content_type,
                    encoding: r.content.encoding().into(),
                    size: r.content.as_bytes().len(),
                    key_version,
                    version: 1,
                    region: t.region.to_string(),
                    created_at: now,
                    updated_at: now,
                };
                let sealed_meta = seal_meta(&aead, t, &meta)?;
                rows.push(raw_record(&meta, sealed, sealed_meta));
                metas.push(meta);
            }
            if insert(rs, key_version, &rows)? {
                return Ok(metas);
            }
            self.forget(t.id, |v| v == key_version)?;
        }
        Err(VaultError::KeyStore(
            "the tenant's data keys keep changing; retry".into(),
        ))
    }

    fn decrypt(&self, t: TenantRef<'_>, meta: &RecordMeta, sealed: &[u8]) -> Result<Content, VaultError> {
        let Some(aead) = self.dek(t, meta.key_version)? else {
            // The key was destroyed (purge under way): the data no longer exists.
            return Err(VaultError::NotFound(meta.id.to_string()));
        };
        let plain = aead
            .open(&record_aad(t.id, meta.id, meta.version, meta.key_version), sealed)
            .map_err(|e| VaultError::Corrupt {
                record: meta.id.to_string(),
                detail: e.to_string(),
            })?;
        match meta.encoding.as_str() {
            "text" => String::from_utf8(plain)
                .map(Content::Text)
                .map_err(|_| VaultError::Corrupt {
                    record: meta.id.to_string(),
                    detail: "text content is not UTF-8".into(),
                }),
            _ => Ok(Content::Bytes(plain)),
        }
    }

    /// A record's metadata.
    pub fn meta(&self, t: TenantRef<'_>, id: RecordId) -> Result<RecordMeta, VaultError> {
        let row = self
            .region(t.region)?
            .fetch(&t.id.to_string(), &id.to_string(), false)?
            .ok_or_else(|| VaultError::NotFound(id.to_string()))?;
        let (stored, _) = stored_meta(row, t.region)?;
        self.opened(t, stored)
    }

    /// The record's metadata, unsealed; a record whose key was destroyed (a purge whose rows
    /// are not removed yet) no longer exists for anyone.
    fn opened(&self, t: TenantRef<'_>, s: StoredMeta) -> Result<RecordMeta, VaultError> {
        let StoredMeta { mut meta, sealed } = s;
        let Some(aead) = self.dek(t, meta.key_version)? else {
            return Err(VaultError::NotFound(meta.id.to_string()));
        };
        if let Some(column) = sealed {
            let corrupt = |detail: String| VaultError::Corrupt {
                record: meta.id.to_string(),
                detail,
            };
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&column[SEALED_META.len()..])
                .map_err(|e| corrupt(format!("sealed metadata: {e}")))?;
            let plain = aead
                .open(&meta_aad(t.id, meta.id, meta.version, meta.key_version), &bytes)
                .map_err(|e| corrupt(format!("sealed metadata: {e}")))?;
            let m: SealedMeta = serde_json::from_slice(&plain).map_err(|e| corrupt(format!("sealed metadata: {e}")))?;
            meta.metadata = m.metadata;
            meta.content_type = m.content_type;
        }
        Ok(meta)
    }

    /// Several records with their decrypted content, in one read of the storage; ids that do
    /// not exist (or whose key was destroyed) are left out.
    pub fn get_many(&self, t: TenantRef<'_>, ids: &[RecordId]) -> Result<Vec<Record>, VaultError> {
        let wanted: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let rows = self.region(t.region)?.fetch_many(&t.id.to_string(), &wanted)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let (stored, sealed) = stored_meta(row, t.region)?;
            let meta = match self.opened(t, stored) {
                Ok(m) => m,
                Err(VaultError::NotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            let content = match self.decrypt(t, &meta, &sealed) {
                Ok(c) => c,
                Err(VaultError::NotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            out.push(Record { meta, content });
        }
        Ok(out)
    }

    /// A record with its decrypted content.
    pub fn get(&self, t: TenantRef<'_>, id: RecordId) -> Result<Record, VaultError> {
        let row = self
            .region(t.region)?
            .fetch(&t.id.to_string(), &id.to_string(), true)?
            .ok_or_else(|| VaultError::NotFound(id.to_string()))?;
        let (stored, sealed) = stored_meta(row, t.region)?;
        let meta = self.opened(t, stored)?;
        let content = self.decrypt(t, &meta, &sealed)?;
        Ok(Record { meta, content })
    }

    /// Metadata of a tenant's records, filtered and paginated by id.
    pub fn list(&self, t: TenantRef<'_>, f: &ListFilter) -> Result<Vec<RecordMeta>, VaultError> {
        let live = self.live_versions(t)?;
        let filter = RecordFilter {
            product: f.product.as_deref(),
            data_kind: f.data_kind.map(|k| k.as_str()),
            category: f.category.as_deref(),
            created_after: f.created_after.map(micros),
            created_before: f.created_before.map(micros),
            after: f.after.map(|a| a.to_string()),
            limit: f.limit,
        };
        self.region(t.region)?
            .list(&t.id.to_string(), &live, &filter)?
            .into_iter()
            .map(|r| self.opened(t, stored_meta(r, t.region)?.0))
            .collect()
    }

    /// Number of a tenant's live records, optionally for one product.
    pub fn count(&self, t: TenantRef<'_>, product: Option<&str>) -> Result<u64, VaultError> {
        let live = self.live_versions(t)?;
        self.region(t.region)?.count(&t.id.to_string(), product, &live)
    }

    /// Replaces a record's content and/or labels. New content gets a new ciphertext under the
    /// active key; the old ciphertext is overwritten in place.
    pub fn update(
        &self,
        t: TenantRef<'_>,
        id: RecordId,
        patch: RecordPatch,
        now: OffsetDateTime,
    ) -> Result<RecordMeta, VaultError> {
        if let Some(c) = &patch.content {
            let field = if matches!(c, Content::Bytes(_)) {
                "content_base64"
            } else {
                "content"
            };
            self.check_content(field, c, patch.content_type.as_deref())?;
        }
        Self::check_labels("", patch.categories.as_deref().unwrap_or(&[]), patch.metadata.as_ref())?;
        let rs = self.region(t.region)?;
        let _fence = self.shred_fence.read().map_err(|_| VaultError::Poisoned)?;
        // A shredded record is gone: it must not be sealed again under a new key.
        self.meta(t, id)?;
        for _ in 0..4 {
            let (active_version, active) = self.active_dek(t, now)?;
            let mut patch = Some(patch.clone());
            let mut change = |row: RawRecord| -> Result<RawRecord, VaultError> {
                let patch = patch.take().unwrap_or_default();
                let (stored, sealed) = stored_meta(row, t.region)?;
                let mut meta = self.opened(t, stored)?;
                let content = match patch.content {
                    Some(c) => c,
                    None => {
                        let current = self.decrypt(t, &meta, &sealed)?;
                        if let Some(ct) = &patch.content_type {
                            self.check_content("content", &current, Some(ct))?;
                        }
                        current
                    }
                };
                meta.version += 1;
                meta.key_version = active_version;
                meta.size = content.as_bytes().len();
                meta.encoding = content.encoding().into();
                if let Some(ct) = patch.content_type {
                    meta.content_type = ct;
                }
                if let Some(cats) = patch.categories {
                    meta.categories = cats;
                }
                if patch.metadata.is_some() {
                    meta.metadata = patch.metadata;
                }
                meta.updated_at = now;
                let sealed = active.seal(&record_aad(t.id, id, meta.version, active_version), content.as_bytes())?;
                let sealed_meta = seal_meta(&active, t, &meta)?;
                Ok(raw_record(&meta, sealed, sealed_meta))
            };
            match rs.update(&t.id.to_string(), &id.to_string(), active_version, &mut change)? {
                UpdateOutcome::Done(Some(row), _) => return self.opened(t, stored_meta(*row, t.region)?.0),
                UpdateOutcome::Done(None, _) | UpdateOutcome::Missing => {
                    return Err(VaultError::NotFound(id.to_string()));
                }
                UpdateOutcome::KeyGone => self.forget(t.id, |v| v == active_version)?,
            }
        }
        Err(VaultError::KeyStore(
            "the tenant's data keys keep changing; retry".into(),
        ))
    }

    /// Deletes one record.
    pub fn delete(&self, t: TenantRef<'_>, id: RecordId) -> Result<(), VaultError> {
        self.meta(t, id)?;
        let n = self.region(t.region)?.delete(&t.id.to_string(), &id.to_string())?;
        if n == 0 {
            return Err(VaultError::NotFound(id.to_string()));
        }
        Ok(())
    }

    /// Calls `each` with every record of the tenant (optionally one product), in id order, page by
    /// page, so memory stays bounded however many records there are. Stops when `each` returns false.
    pub fn export(
        &self,
        t: TenantRef<'_>,
        product: Option<&str>,
        each: impl FnMut(Record) -> Result<bool, VaultError>,
    ) -> Result<u64, VaultError> {
        self.export_kind(t, product, None, 256, each)
    }

    /// [`Vault::export`] of one data kind only (records of other kinds are not decrypted), in
    /// pages of `page` records (1 to 10,000).
    pub fn export_kind(
        &self,
        t: TenantRef<'_>,
        product: Option<&str>,
        kind: Option<DataKind>,
        page: usize,
        mut each: impl FnMut(Record) -> Result<bool, VaultError>,
    ) -> Result<u64, VaultError> {
        let rs = self.region(t.region)?;
        let kind = kind.map(DataKind::as_str);
        let mut after = String::new();
        let mut n = 0u64;
        loop {
            let page: Vec<(StoredMeta, Vec<u8>)> = rs
                .page(&t.id.to_string(), &after, product, kind, page.clamp(1, 10_000))?
                .into_iter()
                .map(|r| stored_meta(r, t.region))
                .collect::<Result<_, _>>()?;
            let Some((last, _)) = page.last() else {
                return Ok(n);
            };
            after = last.meta.id.to_string();
            for (stored, sealed) in page {
                let meta = match self.opened(t, stored) {
                    Ok(m) => m,
                    // Shredded while the export ran: it no longer exists.
                    Err(VaultError::NotFound(_)) => continue,
                    Err(e) => return Err(e),
                };
                let content = match self.decrypt(t, &meta, &sealed) {
                    Ok(c) => c,
                    // Deleted or shredded while the export ran: it no longer exists.
                    Err(VaultError::NotFound(_)) => continue,
                    Err(e) => return Err(e),
                };
                n += 1;
                if !each(Record { meta, content })? {
                    return Ok(n);
                }
            }
        }
    }

    /// Destroys every data key of the tenant (crypto-shredding): from the moment this returns,
    /// nothing can decrypt the tenant's records, wherever copies of them are.
    pub fn destroy_keys(&self, t: TenantRef<'_>, now: OffsetDateTime) -> Result<DestroyedKeys, VaultError> {
        let destroyed = self.destroy(t, None, u32::MAX, false, now)?;
        let mut kek_ids: Vec<String> = destroyed.iter().map(|(_, k)| k.clone()).collect();
        kek_ids.sort();
        kek_ids.dedup();
        Ok(DestroyedKeys {
            versions: destroyed.into_iter().map(|(v, _)| v).collect(),
            kek_ids,
            at: now,
        })
    }

    /// The highest data key version the tenant has had (live or destroyed), 0 if none: a purge
    /// records it with its intent and destroys no version above it, so a key created for a
    /// write after the purge was asked for is never destroyed by it.
    pub fn max_key_version(&self, t: TenantRef<'_>) -> Result<u32, VaultError> {
        self.region(t.region)?.max_version(&t.id.to_string())
    }

    /// Step one of a purge, idempotent: destroys the tenant's live key versions up to `up_to`
    /// under the purge's id (versions it already destroyed stay listed under it), and with
    /// `close` (a contract termination) closes the tenant so no key is created for it again.
    /// Returns once the wrapped keys are gone from the WAL too.
    pub fn shred(
        &self,
        t: TenantRef<'_>,
        purge: &str,
        up_to: u32,
        close: bool,
        now: OffsetDateTime,
    ) -> Result<(), VaultError> {
        self.destroy(t, Some(purge), up_to, close, now).map(|_| ())
    }

    /// Destroys live versions ≤ `up_to`, noting `purge`; returns the versions destroyed now, with their KEKs.
    fn destroy(
        &self,
        t: TenantRef<'_>,
        purge: Option<&str>,
        up_to: u32,
        close: bool,
        now: OffsetDateTime,
    ) -> Result<Vec<(u32, String)>, VaultError> {
        let fence = self.shred_fence.write().map_err(|_| VaultError::Poisoned)?;
        let _g = self.key_lock.lock().map_err(|_| VaultError::Poisoned)?;
        let rs = self.region(t.region)?;
        let destroyed = rs.destroy_keys(&t.id.to_string(), KeySelection::UpTo(up_to), purge, close, micros(now));
        // Whatever the outcome, this node's copies of the keys go.
        self.forget(t.id, |v| v <= up_to)?;
        let destroyed = destroyed?;
        drop(fence);
        tracing::info!(tenant = %t.id, region = t.region, versions = destroyed.len(), "destroyed the tenant's data keys");
        Ok(destroyed)
    }

    /// Step two of a purge, idempotent: a signed certificate for what purge `purge` destroyed
    /// (every version it destroyed, over however many attempts), under the given id.
    #[allow(clippy::too_many_arguments)]
    pub fn certify_purge(
        &self,
        t: TenantRef<'_>,
        org: datapact_governance::OrgId,
        purge: &str,
        certificate_id: &str,
        reason: &str,
        record_count: u64,
        training: Vec<Downstream>,
        now: OffsetDateTime,
    ) -> Result<DeletionCertificate, VaultError> {
        let rows = self.region(t.region)?.destroyed_keys(&t.id.to_string(), Some(purge))?;
        let mut kek_ids: Vec<String> = rows.iter().map(|(_, k, _)| k.clone()).collect();
        kek_ids.sort();
        kek_ids.dedup();
        let statement = CertificateStatement {
            kind: certificate::KIND.into(),
            certificate_id: certificate_id.to_string(),
            tenant: t.id,
            org,
            region: t.region.to_string(),
            reason: reason.to_string(),
            key_versions_destroyed: rows.iter().map(|(v, _, _)| *v).collect(),
            kek_ids,
            record_count,
            keys_destroyed_at: rows.iter().map(|(_, _, at)| *at).max().map_or(now, from_micros),
            issued_at: now,
            training,
        };
        DeletionCertificate::sign(statement, &self.signer)
    }

    #[cfg(test)]
    fn forget_keys(&self, tenant: TenantId) -> Result<(), VaultError> {
        self.forget(tenant, |_| true)
    }

    /// Removes up to `batch` of the tenant's rows sealed under destroyed key versions; returns
    /// how many were removed (0 when none are left). Rows under live keys (written after a
    /// purge, under a new key) are never touched.
    pub fn remove_rows(&self, t: TenantRef<'_>, batch: usize) -> Result<usize, VaultError> {
        let rs = self.region(t.region)?;
        let tenant = t.id.to_string();
        let destroyed: Vec<u32> = rs
            .destroyed_keys(&tenant, None)?
            .into_iter()
            .map(|(v, _, _)| v)
            .collect();
        rs.remove_rows(&tenant, &destroyed, batch)
    }

    /// Makes a region's deletions final on disk (SQLite: flushes its WAL into the databases
    /// and truncates it).
    pub fn checkpoint(&self, region: &str) -> Result<(), VaultError> {
        self.region(region)?.checkpoint()
    }

    /// Destroys the tenant's keys and signs a deletion certificate in one call; rows are
    /// removed separately with [`Vault::remove_rows`]. The server runs the two steps
    /// ([`Vault::shred`], [`Vault::certify_purge`]) behind a durable intent instead, so that a
    /// crash between them resumes.
    pub fn purge(
        &self,
        t: TenantRef<'_>,
        org: datapact_governance::OrgId,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<DeletionCertificate, VaultError> {
        let record_count = self.count(t, None)?;
        let id = uuid::Uuid::now_v7().simple().to_string();
        self.shred(t, &id, self.max_key_version(t)?, false, now)?;
        self.certify_purge(
            t,
            org,
            &id,
            &format!("cert_{id}"),
            reason,
            record_count,
            Vec::new(),
            now,
        )
    }

    /// Starts a new data key version; new writes use it at once. Returns the new version.
    pub fn rotate(&self, t: TenantRef<'_>, now: OffsetDateTime) -> Result<u32, VaultError> {
        let _g = self.key_lock.lock().map_err(|_| VaultError::Poisoned)?;
        let v = self.create_dek(t, now)?;
        self.active.write().map_err(|_| VaultError::Poisoned)?.insert(t.id, v);
        Ok(v)
    }

    /// Re-encrypts up to `batch` records still under older key versions with the active one.
    /// Returns (moved now, still to move).
    pub fn reencrypt(&self, t: TenantRef<'_>, batch: usize, now: OffsetDateTime) -> Result<(usize, u64), VaultError> {
        let rs = self.region(t.region)?;
        let _fence = self.shred_fence.read().map_err(|_| VaultError::Poisoned)?;
        let tenant = t.id.to_string();
        for _ in 0..4 {
            let live = self.live_versions(t)?;
            if live.is_empty() {
                // Every key was destroyed (a purge): nothing is left to move, and no key is created.
                return Ok((0, 0));
            }
            let (active_version, active) = self.active_dek(t, now)?;
            let mut reseal = |row: RawRecord| -> Result<RawRecord, VaultError> {
                // The metadata moves to the new key too (rows written before it was sealed
                // are sealed now).
                let (stored, sealed) = stored_meta(row, t.region)?;
                let mut meta = self.opened(t, stored)?;
                let content = self.decrypt(t, &meta, &sealed)?;
                meta.key_version = active_version;
                let resealed = active.seal(
                    &record_aad(t.id, meta.id, meta.version, active_version),
                    content.as_bytes(),
                )?;
                let sealed_meta = seal_meta(&active, t, &meta)?;
                Ok(raw_record(&meta, resealed, sealed_meta))
            };
            match rs.reencrypt(&tenant, active_version, &live, batch, &mut reseal)? {
                UpdateOutcome::Done(_, moved) => {
                    // Training items (datasets' shards) move with the records, after them.
                    let items = if moved < batch {
                        match self.reencrypt_items(t, rs, active_version, &active, &live, batch - moved)? {
                            Some(n) => n,
                            None => {
                                self.forget(t.id, |v| v == active_version)?;
                                continue;
                            }
                        }
                    } else {
                        0
                    };
                    let remaining = rs.remaining(&tenant, active_version, &live)?;
                    return Ok((moved + items, remaining));
                }
                UpdateOutcome::Missing => return Ok((0, 0)),
                UpdateOutcome::KeyGone => self.forget(t.id, |v| v == active_version)?,
            }
        }
        Err(VaultError::KeyStore(
            "the tenant's data keys keep changing; retry".into(),
        ))
    }

    /// Destroys key versions older than the active one that no record uses any more.
    pub fn retire_unused_keys(&self, t: TenantRef<'_>, now: OffsetDateTime) -> Result<Vec<u32>, VaultError> {
        // Writes of this process are wholly before (and counted) or after (under the active
        // key); on PostgreSQL the region also recounts under its lock, for other nodes'.
        let _fence = self.shred_fence.write().map_err(|_| VaultError::Poisoned)?;
        let _g = self.key_lock.lock().map_err(|_| VaultError::Poisoned)?;
        let versions = self.key_versions(t)?;
        let rs = self.region(t.region)?;
        let retire: Vec<u32> = versions
            .iter()
            .filter(|k| !k.active && k.records == 0)
            .map(|k| k.version)
            .collect();
        if retire.is_empty() {
            return Ok(Vec::new());
        }
        let retired: Vec<u32> = rs
            .destroy_keys(
                &t.id.to_string(),
                KeySelection::Unused(&retire),
                None,
                false,
                micros(now),
            )?
            .into_iter()
            .map(|(v, _)| v)
            .collect();
        self.forget(t.id, |v| retired.contains(&v))?;
        Ok(retired)
    }

    /// The tenant's live key versions with how many records each encrypts.
    pub fn key_versions(&self, t: TenantRef<'_>) -> Result<Vec<KeyVersion>, VaultError> {
        let rs = self.region(t.region)?;
        let keys = rs.live_keys(&t.id.to_string())?;
        let counts = rs.counts_by_key(&t.id.to_string())?;
        let active = keys.iter().map(|k| k.0).max();
        Ok(keys
            .into_iter()
            .map(|(version, kek_id, created)| KeyVersion {
                version,
                kek_id,
                active: Some(version) == active,
                records: counts.get(&version).copied().unwrap_or(0),
                created_at: from_micros(created),
            })
            .collect())
    }

    /// Deletes the tenant's records older than its retention rules allow; returns how many.
    pub fn sweep(&self, t: TenantRef<'_>, rules: &[RetentionRule], now: OffsetDateTime) -> Result<usize, VaultError> {
        let rs = self.region(t.region)?;
        let mut total = 0;
        for rule in rules {
            let cutoff = micros(now - time::Duration::days(rule.max_age_days as i64));
            total += rs.sweep(
                &t.id.to_string(),
                cutoff,
                rule.product.as_deref(),
                rule.data_kind.map(|k| k.as_str()),
            )?;
        }
        Ok(total)
    }

    /// The training items (dataset, record) that [`Vault::sweep`] with the same rules and time
    /// would remove with the records, so their datasets' debt can be stored first.
    pub fn sweep_items(
        &self,
        t: TenantRef<'_>,
        rules: &[RetentionRule],
        now: OffsetDateTime,
    ) -> Result<Vec<(String, String)>, VaultError> {
        let rs = self.region(t.region)?;
        let mut out = Vec::new();
        for rule in rules {
            let cutoff = micros(now - time::Duration::days(rule.max_age_days as i64));
            out.extend(rs.swept_items(
                &t.id.to_string(),
                cutoff,
                rule.product.as_deref(),
                rule.data_kind.map(|k| k.as_str()),
            )?);
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The raw stored ciphertext of a record, for tests that prove where bytes live.
    #[doc(hidden)]
    pub fn raw_sealed(&self, t: TenantRef<'_>, id: RecordId) -> Result<Vec<u8>, VaultError> {
        self.region(t.region)?
            .raw_sealed(&id.to_string())?
            .ok_or_else(|| VaultError::NotFound(id.to_string()))
    }
}

/// Encodes bytes as standard base64 (the API's `content_base64`).
pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    /// A vault of one region (`eu`) in `dir`, with a key file.
    fn vault_in(dir: &std::path::Path) -> Vault {
        Vault::open(VaultOptions {
            data_dir: dir.to_path_buf(),
            regions: vec![("eu".into(), None)],
            master: MasterSecret::KeyFile(dir.join("master.key")),
            max_content_bytes: 1 << 20,
            storage: Default::default(),
        })
        .unwrap()
        .0
    }

    /// A small text record.
    fn secret() -> NewRecord {
        NewRecord {
            product: "ixp".into(),
            data_kind: DataKind::RunTime,
            content: Content::Text("secret".into()),
            content_type: None,
            categories: vec![],
            metadata: None,
        }
    }

    thread_local! {
        /// Runs once on this thread between reading a wrapped key and caching it.
        pub(super) static AFTER_LOAD: RefCell<Option<Box<dyn FnOnce()>>> = const { RefCell::new(None) };
    }

    /// A read that unwrapped a key just before the tenant's keys were destroyed does not put
    /// that key back in the cache (where a later read would still decrypt with it).
    #[test]
    fn a_key_destroyed_while_being_read_is_not_cached() {
        let dir = tempfile::tempdir().unwrap();
        let v = vault_in(dir.path());
        let v = Arc::new(v);
        let tid = TenantId::generate();
        let t = TenantRef { id: tid, region: "eu" };
        let id = v.put(t, vec![secret()], OffsetDateTime::now_utc()).unwrap()[0].id;
        v.forget_keys(tid).unwrap();
        let shredder = Arc::clone(&v);
        AFTER_LOAD.with(|h| {
            *h.borrow_mut() = Some(Box::new(move || {
                let t = TenantRef { id: tid, region: "eu" };
                shredder.destroy_keys(t, OffsetDateTime::now_utc()).unwrap();
            }))
        });
        assert!(matches!(v.get(t, id), Err(VaultError::NotFound(_))));
        let cached = v.deks.read().unwrap().keys.keys().filter(|(t, _)| *t == tid).count();
        assert_eq!(cached, 0, "a destroyed key is back in the cache");
    }

    /// Unwrapped keys leave memory once unused for the idle time, and come back on the next
    /// use from the key store; keys in use stay.
    #[test]
    fn idle_keys_leave_memory() {
        let dir = tempfile::tempdir().unwrap();
        let v = vault_in(dir.path());
        let (a, b) = (TenantId::generate(), TenantId::generate());
        let ta = TenantRef { id: a, region: "eu" };
        let tb = TenantRef { id: b, region: "eu" };
        let id = v.put(ta, vec![secret()], OffsetDateTime::now_utc()).unwrap()[0].id;
        v.put(tb, vec![secret()], OffsetDateTime::now_utc()).unwrap();
        assert_eq!(v.cached_keys(), 2);
        assert_eq!(
            v.evict_idle_keys(std::time::Duration::from_secs(3600)).unwrap(),
            0,
            "in use"
        );
        assert_eq!(v.evict_idle_keys(std::time::Duration::ZERO).unwrap(), 2);
        assert_eq!(v.cached_keys(), 0);
        // Unwrapped again when needed.
        assert!(matches!(v.get(ta, id).unwrap().content, Content::Text(ref c) if c == "secret"));
        assert_eq!(v.cached_keys(), 1);
    }
}
