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
mod store;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use base64::Engine;
pub use datapact_governance::RetentionRule;
use datapact_governance::{DataKind, RecordId, TenantId};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use certificate::{CertificateStatement, DeletionCertificate, VerifyError, verify_certificate};
use crypto::{Aead, SecretKey};
pub use keys::{KeyProvider, LocalKeyring, MasterKey, MasterOutcome, MasterSecret, Signer};
use store::RegionStore;

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
    /// Records still encrypted under it.
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
}

/// Unwrapped data keys, with a generation per tenant that every key destruction advances: a
/// key read from `keys.db` before a destruction is not put back into the cache after it.
#[derive(Default)]
struct KeyCache {
    keys: HashMap<(TenantId, u32), Arc<Aead>>,
    generation: HashMap<TenantId, u64>,
}

impl KeyCache {
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
    regions: HashMap<String, RegionStore>,
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

/// `(1,2,3)`: integers for an SQL `IN` (never text from outside, so nothing to escape).
fn int_list(v: &[i64]) -> String {
    let items: Vec<String> = v.iter().map(i64::to_string).collect();
    format!("({})", items.join(","))
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

fn valid_category(c: &str) -> bool {
    c.len() <= 128
        && c.split('.').all(|part| {
            part.starts_with(|ch: char| ch.is_ascii_lowercase())
                && part
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
        })
}

const MAX_CATEGORIES: usize = 32;
const MAX_METADATA_BYTES: usize = 4096;

/// Columns every record query selects, in the order [`row_meta`] reads them.
const META_COLUMNS: &str = "id, tenant_id, product, data_kind, categories, metadata, content_type, encoding, size, key_version, version, created_at, updated_at";

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

fn row_meta(r: &rusqlite::Row<'_>, region: &str) -> Result<StoredMeta, VaultError> {
    let id: String = r.get(0)?;
    let corrupt = |detail: String| VaultError::Corrupt {
        record: id.clone(),
        detail,
    };
    let kind: String = r.get(3)?;
    let categories: String = r.get(4)?;
    let column: Option<String> = r.get(5)?;
    let (metadata, sealed) = match column {
        Some(c) if c.starts_with(SEALED_META) => (None, Some(c)),
        other => (other, None),
    };
    let meta = RecordMeta {
        id: id.parse().map_err(|e| corrupt(format!("{e}")))?,
        tenant: r.get::<_, String>(1)?.parse().map_err(|e| corrupt(format!("{e}")))?,
        product: r.get(2)?,
        data_kind: match kind.as_str() {
            "design_time" => DataKind::DesignTime,
            "run_time" => DataKind::RunTime,
            other => return Err(corrupt(format!("unknown data kind `{other}`"))),
        },
        categories: serde_json::from_str(&categories).map_err(|e| corrupt(format!("categories: {e}")))?,
        metadata: metadata
            .map(|m| serde_json::from_str(&m))
            .transpose()
            .map_err(|e| corrupt(format!("metadata: {e}")))?,
        content_type: r.get(6)?,
        encoding: r.get(7)?,
        size: r.get::<_, i64>(8)? as usize,
        key_version: r.get::<_, i64>(9)? as u32,
        version: r.get::<_, i64>(10)? as u64,
        region: region.to_string(),
        created_at: from_micros(r.get(11)?),
        updated_at: from_micros(r.get(12)?),
    };
    Ok(StoredMeta { meta, sealed })
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
        let sealed_elsewhere = opts.data_dir.join("signing-key.json").exists()
            || dirs
                .iter()
                .any(|(_, d)| d.join("keyring.json").exists() || RegionStore::has_data(d));
        let (master, outcome) = MasterKey::open(&opts.data_dir, &opts.master, sealed_elsewhere)?;
        let ring_regions: Vec<(String, PathBuf, bool)> = dirs
            .iter()
            .map(|(r, d)| (r.clone(), d.clone(), RegionStore::has_data(d)))
            .collect();
        let provider = Arc::new(LocalKeyring::open(&master, &ring_regions)?);
        let signer = Signer::open(&master, &opts.data_dir)?;
        let correlation =
            keys::open_sealed_secret(&master, &opts.data_dir.join("correlation-key.json"), "correlation")?;
        let key_hash_key = {
            use aws_lc_rs::hmac;
            let root = hmac::Key::new(hmac::HMAC_SHA256, correlation.expose());
            let derived = hmac::sign(&root, b"datapact.api-key-hash/v1");
            hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref())
        };
        let mut regions = HashMap::new();
        for (r, d) in dirs {
            regions.insert(r, RegionStore::open(&d)?);
        }
        Ok((
            Self {
                regions,
                provider,
                signer,
                deks: RwLock::new(KeyCache::default()),
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

    /// The directory a region's storage lives in.
    pub fn region_dir(&self, region: &str) -> Option<&std::path::Path> {
        self.regions.get(region).map(|r| r.dir.as_path())
    }

    fn region(&self, region: &str) -> Result<&RegionStore, VaultError> {
        self.regions
            .get(region)
            .ok_or_else(|| VaultError::UnknownRegion(region.to_string()))
    }

    /// The data key for `version`, unwrapped once and then cached; `None` if destroyed.
    fn dek(&self, t: TenantRef<'_>, version: u32) -> Result<Option<Arc<Aead>>, VaultError> {
        // A destruction between reading the wrapped key and caching it is seen by the
        // generation; the read is then done again, and finds the key gone.
        for _ in 0..4 {
            let generation = {
                let cache = self.deks.read().map_err(|_| VaultError::Poisoned)?;
                if let Some(a) = cache.keys.get(&(t.id, version)) {
                    return Ok(Some(Arc::clone(a)));
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
                cache.keys.insert((t.id, version), Arc::clone(&aead));
                return Ok(Some(aead));
            }
        }
        Err(VaultError::KeyStore(
            "the tenant's data keys keep changing; retry".into(),
        ))
    }

    /// Reads and unwraps data key `version` from `keys.db`.
    fn load_dek(&self, t: TenantRef<'_>, version: u32) -> Result<Option<Arc<Aead>>, VaultError> {
        let rs = self.region(t.region)?;
        let row: Option<(String, Vec<u8>)> = rs.keys.read(|c| {
            Ok(c.query_row(
                "SELECT kek_id, wrapped FROM tenant_keys WHERE tenant_id = ?1 AND version = ?2",
                params![t.id.to_string(), version],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
        })?;
        let Some((kek_id, sealed)) = row else {
            return Ok(None);
        };
        let key = self.provider.unwrap(
            t.region,
            &dek_context(t.id, version, t.region),
            &keys::WrappedKey { kek_id, sealed },
        )?;
        Ok(Some(Arc::new(Aead::new(&key)?)))
    }

    /// The tenant's live (not destroyed) data key versions, as an SQL list of integers.
    fn live_versions_sql(&self, t: TenantRef<'_>) -> Result<String, VaultError> {
        let rs = self.region(t.region)?;
        let versions: Vec<i64> = rs.keys.read(|c| {
            let mut stmt = c.prepare_cached("SELECT version FROM tenant_keys WHERE tenant_id = ?1")?;
            let rows = stmt.query_map([t.id.to_string()], |r| r.get::<_, i64>(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })?;
        Ok(int_list(&versions))
    }

    /// The active data key version and key, creating version 1 on the tenant's first write.
    fn active_dek(&self, t: TenantRef<'_>, now: OffsetDateTime) -> Result<(u32, Arc<Aead>), VaultError> {
        if let Some(v) = self
            .active
            .read()
            .map_err(|_| VaultError::Poisoned)?
            .get(&t.id)
            .copied()
            && let Some(a) = self.dek(t, v)?
        {
            return Ok((v, a));
        }
        let _g = self.key_lock.lock().map_err(|_| VaultError::Poisoned)?;
        let rs = self.region(t.region)?;
        let current: Option<u32> = rs.keys.read(|c| {
            Ok(c.query_row(
                "SELECT MAX(version) FROM tenant_keys WHERE tenant_id = ?1",
                [t.id.to_string()],
                |r| r.get::<_, Option<i64>>(0),
            )?
            .map(|v| v as u32))
        })?;
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
        rs.keys.write(|c| {
            let tx = c.transaction()?;
            let closed: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM closed_tenants WHERE tenant_id = ?1)",
                [t.id.to_string()],
                |r| r.get(0),
            )?;
            if closed {
                return Err(VaultError::Closed(t.id));
            }
            let max: i64 = tx.query_row(
                "SELECT MAX(v) FROM (SELECT MAX(version) AS v FROM tenant_keys WHERE tenant_id = ?1
                 UNION ALL SELECT MAX(version) FROM destroyed_keys WHERE tenant_id = ?1)",
                [t.id.to_string()],
                |r| Ok(r.get::<_, Option<i64>>(0)?.unwrap_or(0)),
            )?;
            let version = (max + 1) as u32;
            let observer = self.observer.read().map_err(|_| VaultError::Poisoned)?.clone();
            if let Some(o) = observer {
                o.creating(t.id, t.region, version).map_err(VaultError::Refused)?;
            }
            let wrapped = self
                .provider
                .wrap(t.region, &dek_context(t.id, version, t.region), &dek)?;
            tx.execute(
                "INSERT INTO tenant_keys (tenant_id, version, kek_id, wrapped, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![t.id.to_string(), version, wrapped.kek_id, wrapped.sealed, micros(now)],
            )?;
            tx.commit()?;
            tracing::info!(tenant = %t.id, region = t.region, version, "created a tenant data key");
            Ok(version)
        })
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
            if !valid_category(c) {
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
        let (key_version, aead) = self.active_dek(t, now)?;
        let mut rows = Vec::with_capacity(records.len());
        for (r, id) in records.into_iter().zip(ids) {
            let sealed = aead.seal(&record_aad(t.id, id, 1, key_version), r.content.as_bytes())?;
            let content_type = r.content_type.clone().unwrap_or_else(|| match r.content {
                Content::Text(_) => "text/plain".into(),
                Content::Bytes(_) => "application/octet-stream".into(),
            });
            let meta = RecordMeta {
                id,
                tenant: t.id,
                product: r.product,
                data_kind: r.data_kind,
                categories: r.categories,
                metadata: r.metadata,
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
            rows.push((meta, sealed, sealed_meta));
        }
        rs.data.write(|c| {
            let tx = c.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO records (id, tenant_id, product, data_kind, categories, metadata, content_type, encoding, size,
                     key_version, sealed, version, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                )?;
                for (m, sealed, sealed_meta) in &rows {
                    stmt.execute(params![
                        m.id.to_string(),
                        m.tenant.to_string(),
                        m.product,
                        m.data_kind.as_str(),
                        serde_json::to_string(&m.categories).unwrap_or_else(|_| "[]".into()),
                        sealed_meta,
                        "",
                        m.encoding,
                        m.size as i64,
                        m.key_version,
                        sealed,
                        m.version as i64,
                        micros(m.created_at),
                        micros(m.updated_at),
                    ])?;
                }
            }
            tx.commit()?;
            Ok(())
        })?;
        Ok(rows.into_iter().map(|(m, _, _)| m).collect())
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
        let rs = self.region(t.region)?;
        rs.data
            .read(|c| {
                let mut stmt = c.prepare_cached(&format!(
                    "SELECT {META_COLUMNS} FROM records WHERE id = ?1 AND tenant_id = ?2"
                ))?;
                let mut rows = stmt.query(params![id.to_string(), t.id.to_string()])?;
                match rows.next()? {
                    Some(r) => row_meta(r, t.region),
                    None => Err(VaultError::NotFound(id.to_string())),
                }
            })
            .and_then(|m| self.opened(t, m))
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

    /// A record with its decrypted content.
    pub fn get(&self, t: TenantRef<'_>, id: RecordId) -> Result<Record, VaultError> {
        let rs = self.region(t.region)?;
        let (meta, sealed) = rs.data.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {META_COLUMNS}, sealed FROM records WHERE id = ?1 AND tenant_id = ?2"
            ))?;
            let mut rows = stmt.query(params![id.to_string(), t.id.to_string()])?;
            match rows.next()? {
                Some(r) => Ok((row_meta(r, t.region)?, r.get::<_, Vec<u8>>(13)?)),
                None => Err(VaultError::NotFound(id.to_string())),
            }
        })?;
        let meta = self.opened(t, meta)?;
        let content = self.decrypt(t, &meta, &sealed)?;
        Ok(Record { meta, content })
    }

    /// Metadata of a tenant's records, filtered and paginated by id.
    pub fn list(&self, t: TenantRef<'_>, f: &ListFilter) -> Result<Vec<RecordMeta>, VaultError> {
        let rs = self.region(t.region)?;
        let mut sql = format!(
            "SELECT {META_COLUMNS} FROM records WHERE tenant_id = ?1 AND key_version IN {}",
            self.live_versions_sql(t)?
        );
        let mut args: Vec<rusqlite::types::Value> = vec![t.id.to_string().into()];
        let mut push = |cond: &str, v: rusqlite::types::Value| {
            args.push(v);
            sql.push_str(&cond.replace('?', &format!("?{}", args.len())));
        };
        if let Some(p) = &f.product {
            push(" AND product = ?", p.clone().into());
        }
        if let Some(k) = f.data_kind {
            push(" AND data_kind = ?", k.as_str().to_string().into());
        }
        if let Some(cat) = &f.category {
            push(
                " AND EXISTS (SELECT 1 FROM json_each(records.categories) j WHERE j.value = ? OR substr(j.value, 1, length(?) + 1) = ? || '.')",
                cat.clone().into(),
            );
        }
        if let Some(a) = f.created_after {
            push(" AND created_at >= ?", micros(a).into());
        }
        if let Some(b) = f.created_before {
            push(" AND created_at < ?", micros(b).into());
        }
        if let Some(after) = f.after {
            push(" AND id > ?", after.to_string().into());
        }
        sql.push_str(&format!(" ORDER BY id LIMIT {}", f.limit.clamp(1, 10_000)));
        rs.data
            .read(|c| {
                let mut stmt = c.prepare_cached(&sql)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    out.push(row_meta(r, t.region)?);
                }
                Ok(out)
            })?
            .into_iter()
            .map(|m| self.opened(t, m))
            .collect()
    }

    /// Number of a tenant's live records, optionally for one product.
    pub fn count(&self, t: TenantRef<'_>, product: Option<&str>) -> Result<u64, VaultError> {
        let rs = self.region(t.region)?;
        let live = self.live_versions_sql(t)?;
        rs.data.read(|c| {
            let n: i64 = c.query_row(
                &format!(
                    "SELECT COUNT(*) FROM records WHERE tenant_id = ?1 AND (?2 IS NULL OR product = ?2) AND key_version IN {live}"
                ),
                params![t.id.to_string(), product],
                |r| r.get(0),
            )?;
            Ok(n as u64)
        })
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
        let (active_version, active) = self.active_dek(t, now)?;
        rs.data.write(|c| {
            let tx = c.transaction()?;
            let (stored, sealed) = {
                let mut stmt =
                    tx.prepare_cached(&format!("SELECT {META_COLUMNS}, sealed FROM records WHERE id = ?1 AND tenant_id = ?2"))?;
                let mut rows = stmt.query(params![id.to_string(), t.id.to_string()])?;
                match rows.next()? {
                    Some(r) => (row_meta(r, t.region)?, r.get::<_, Vec<u8>>(13)?),
                    None => return Err(VaultError::NotFound(id.to_string())),
                }
            };
            let mut meta = self.opened(t, stored)?;
            let content = match patch.content {
                Some(c) => c,
                None => {
                    if let Some(ct) = &patch.content_type {
                        let current = self.decrypt(t, &meta, &sealed)?;
                        self.check_content("content", &current, Some(ct))?;
                        current
                    } else {
                        self.decrypt(t, &meta, &sealed)?
                    }
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
            tx.execute(
                "UPDATE records SET categories = ?3, metadata = ?4, content_type = ?5, encoding = ?6, size = ?7, key_version = ?8,
                 sealed = ?9, version = ?10, updated_at = ?11 WHERE id = ?1 AND tenant_id = ?2",
                params![
                    id.to_string(),
                    t.id.to_string(),
                    serde_json::to_string(&meta.categories).unwrap_or_else(|_| "[]".into()),
                    sealed_meta,
                    "",
                    meta.encoding,
                    meta.size as i64,
                    active_version,
                    sealed,
                    meta.version as i64,
                    micros(now),
                ],
            )?;
            tx.commit()?;
            Ok(meta)
        })
    }

    /// Deletes one record.
    pub fn delete(&self, t: TenantRef<'_>, id: RecordId) -> Result<(), VaultError> {
        self.meta(t, id)?;
        let rs = self.region(t.region)?;
        let n = rs.data.write(|c| {
            Ok(c.execute(
                "DELETE FROM records WHERE id = ?1 AND tenant_id = ?2",
                params![id.to_string(), t.id.to_string()],
            )?)
        })?;
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
        mut each: impl FnMut(Record) -> Result<bool, VaultError>,
    ) -> Result<u64, VaultError> {
        let rs = self.region(t.region)?;
        let mut after = String::new();
        let mut n = 0u64;
        loop {
            let page: Vec<(StoredMeta, Vec<u8>)> = rs.data.read(|c| {
                let sql = format!(
                    "SELECT {META_COLUMNS}, sealed FROM records WHERE tenant_id = ?1 AND id > ?2 AND (?3 IS NULL OR product = ?3)
                     ORDER BY id LIMIT 256"
                );
                let mut stmt = c.prepare_cached(&sql)?;
                let mut rows = stmt.query(params![t.id.to_string(), after, product])?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    out.push((row_meta(r, t.region)?, r.get::<_, Vec<u8>>(13)?));
                }
                Ok(out)
            })?;
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
        let rs = self.region(t.region)?;
        rs.keys.read(|c| {
            let max: Option<i64> = c.query_row(
                "SELECT MAX(v) FROM (SELECT MAX(version) AS v FROM tenant_keys WHERE tenant_id = ?1
                 UNION ALL SELECT MAX(version) FROM destroyed_keys WHERE tenant_id = ?1)",
                [t.id.to_string()],
                |r| r.get(0),
            )?;
            Ok(max.unwrap_or(0) as u32)
        })
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
        let destroyed = rs.keys.write(|c| {
            let tx = c.transaction()?;
            let rows: Vec<(u32, String)> = {
                let mut stmt = tx.prepare(
                    "SELECT version, kek_id FROM tenant_keys WHERE tenant_id = ?1 AND version <= ?2 ORDER BY version",
                )?;
                let rows = stmt.query_map(params![t.id.to_string(), up_to as i64], |r| {
                    Ok((r.get::<_, i64>(0)? as u32, r.get(1)?))
                })?;
                rows.collect::<Result<_, _>>()?
            };
            for (v, kek) in &rows {
                tx.execute(
                    "INSERT OR REPLACE INTO destroyed_keys (tenant_id, version, kek_id, destroyed_at, purge) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![t.id.to_string(), v, kek, micros(now), purge],
                )?;
            }
            tx.execute(
                "DELETE FROM tenant_keys WHERE tenant_id = ?1 AND version <= ?2",
                params![t.id.to_string(), up_to as i64],
            )?;
            if close {
                tx.execute(
                    "INSERT OR IGNORE INTO closed_tenants (tenant_id, closed_at) VALUES (?1, ?2)",
                    params![t.id.to_string(), micros(now)],
                )?;
            }
            tx.commit()?;
            Ok(rows)
        })?;
        self.deks
            .write()
            .map_err(|_| VaultError::Poisoned)?
            .destroyed(t.id, |v| v <= up_to);
        if let Ok(mut active) = self.active.write()
            && active.get(&t.id).is_some_and(|v| *v <= up_to)
        {
            active.remove(&t.id);
        }
        drop(fence);
        // The wrapped keys must not survive in the WAL either.
        rs.keys.checkpoint()?;
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
        now: OffsetDateTime,
    ) -> Result<DeletionCertificate, VaultError> {
        let rs = self.region(t.region)?;
        let rows: Vec<(u32, String, i64)> = rs.keys.read(|c| {
            let mut stmt = c.prepare(
                "SELECT version, kek_id, destroyed_at FROM destroyed_keys WHERE tenant_id = ?1 AND purge = ?2 ORDER BY version",
            )?;
            let rows = stmt.query_map(params![t.id.to_string(), purge], |r| {
                Ok((r.get::<_, i64>(0)? as u32, r.get(1)?, r.get(2)?))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })?;
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
        };
        DeletionCertificate::sign(statement, &self.signer)
    }

    #[cfg(test)]
    fn forget_keys(&self, tenant: TenantId) -> Result<(), VaultError> {
        self.deks
            .write()
            .map_err(|_| VaultError::Poisoned)?
            .destroyed(tenant, |_| true);
        self.active.write().map_err(|_| VaultError::Poisoned)?.remove(&tenant);
        Ok(())
    }

    /// Removes up to `batch` of the tenant's rows sealed under destroyed key versions; returns
    /// how many were removed (0 when none are left). Rows under live keys (written after a
    /// purge, under a new key) are never touched.
    pub fn remove_rows(&self, t: TenantRef<'_>, batch: usize) -> Result<usize, VaultError> {
        let rs = self.region(t.region)?;
        let destroyed: Vec<i64> = rs.keys.read(|c| {
            let mut stmt = c.prepare_cached("SELECT version FROM destroyed_keys WHERE tenant_id = ?1")?;
            let rows = stmt.query_map([t.id.to_string()], |r| r.get::<_, i64>(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })?;
        let n = rs.data.write(|c| {
            Ok(c.execute(
                &format!(
                    "DELETE FROM records WHERE rowid IN (SELECT rowid FROM records WHERE tenant_id = ?1 AND key_version IN {} LIMIT ?2)",
                    int_list(&destroyed)
                ),
                params![t.id.to_string(), batch as i64],
            )?)
        })?;
        if n == 0 {
            rs.data.checkpoint()?;
        }
        Ok(n)
    }

    /// Flushes a region's WAL into its databases and truncates it (after deletions).
    pub fn checkpoint(&self, region: &str) -> Result<(), VaultError> {
        let rs = self.region(region)?;
        rs.data.checkpoint()?;
        rs.keys.checkpoint()
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
        self.certify_purge(t, org, &id, &format!("cert_{id}"), reason, record_count, now)
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
        let live = self.live_versions_sql(t)?;
        if live == "()" {
            // Every key was destroyed (a purge): nothing is left to move, and no key is created.
            return Ok((0, 0));
        }
        let (active_version, active) = self.active_dek(t, now)?;
        let moved = rs.data.write(|c| {
            let tx = c.transaction()?;
            let rows: Vec<(StoredMeta, Vec<u8>)> = {
                let mut stmt = tx.prepare_cached(&format!(
                    "SELECT {META_COLUMNS}, sealed FROM records WHERE tenant_id = ?1 AND key_version != ?2 AND key_version IN {live} LIMIT ?3"
                ))?;
                let mut rows = stmt.query(params![t.id.to_string(), active_version, batch as i64])?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    out.push((row_meta(r, t.region)?, r.get::<_, Vec<u8>>(13)?));
                }
                out
            };
            let moved = rows.len();
            for (stored, sealed) in rows {
                // The metadata moves to the new key too (rows written before it was sealed
                // are sealed now).
                let mut meta = self.opened(t, stored)?;
                let content = self.decrypt(t, &meta, &sealed)?;
                meta.key_version = active_version;
                let resealed = active.seal(
                    &record_aad(t.id, meta.id, meta.version, active_version),
                    content.as_bytes(),
                )?;
                tx.execute(
                    "UPDATE records SET key_version = ?2, sealed = ?3, metadata = ?4, content_type = '' WHERE id = ?1",
                    params![meta.id.to_string(), active_version, resealed, seal_meta(&active, t, &meta)?],
                )?;
            }
            tx.commit()?;
            Ok(moved)
        })?;
        let remaining: i64 = rs.data.read(|c| {
            Ok(c.query_row(
                &format!(
                    "SELECT COUNT(*) FROM records WHERE tenant_id = ?1 AND key_version != ?2 AND key_version IN {live}"
                ),
                params![t.id.to_string(), active_version],
                |r| r.get(0),
            )?)
        })?;
        Ok((moved, remaining as u64))
    }

    /// Destroys key versions older than the active one that no record uses any more.
    pub fn retire_unused_keys(&self, t: TenantRef<'_>, now: OffsetDateTime) -> Result<Vec<u32>, VaultError> {
        let versions = self.key_versions(t)?;
        let _g = self.key_lock.lock().map_err(|_| VaultError::Poisoned)?;
        let rs = self.region(t.region)?;
        let retire: Vec<&KeyVersion> = versions.iter().filter(|k| !k.active && k.records == 0).collect();
        if retire.is_empty() {
            return Ok(Vec::new());
        }
        rs.keys.write(|c| {
            let tx = c.transaction()?;
            for k in &retire {
                tx.execute(
                    "INSERT OR REPLACE INTO destroyed_keys (tenant_id, version, kek_id, destroyed_at) VALUES (?1, ?2, ?3, ?4)",
                    params![t.id.to_string(), k.version, k.kek_id, micros(now)],
                )?;
                tx.execute("DELETE FROM tenant_keys WHERE tenant_id = ?1 AND version = ?2", params![t.id.to_string(), k.version])?;
            }
            tx.commit()?;
            Ok(())
        })?;
        let retired: Vec<u32> = retire.iter().map(|k| k.version).collect();
        self.deks
            .write()
            .map_err(|_| VaultError::Poisoned)?
            .destroyed(t.id, |v| retired.contains(&v));
        rs.keys.checkpoint()?;
        Ok(retired)
    }

    /// The tenant's live key versions with how many records each encrypts.
    pub fn key_versions(&self, t: TenantRef<'_>) -> Result<Vec<KeyVersion>, VaultError> {
        let rs = self.region(t.region)?;
        let keys: Vec<(u32, String, i64)> = rs.keys.read(|c| {
            let mut stmt =
                c.prepare("SELECT version, kek_id, created_at FROM tenant_keys WHERE tenant_id = ?1 ORDER BY version")?;
            let rows = stmt.query_map([t.id.to_string()], |r| {
                Ok((r.get::<_, i64>(0)? as u32, r.get(1)?, r.get(2)?))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })?;
        let counts: HashMap<u32, u64> = rs.data.read(|c| {
            let mut stmt =
                c.prepare("SELECT key_version, COUNT(*) FROM records WHERE tenant_id = ?1 GROUP BY key_version")?;
            let rows = stmt.query_map([t.id.to_string()], |r| {
                Ok((r.get::<_, i64>(0)? as u32, r.get::<_, i64>(1)? as u64))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })?;
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
            total += rs.data.write(|c| {
                Ok(c.execute(
                    "DELETE FROM records WHERE tenant_id = ?1 AND created_at < ?2 AND (?3 IS NULL OR product = ?3)
                     AND (?4 IS NULL OR data_kind = ?4)",
                    params![
                        t.id.to_string(),
                        cutoff,
                        rule.product,
                        rule.data_kind.map(|k| k.as_str())
                    ],
                )?)
            })?;
        }
        Ok(total)
    }

    /// The raw stored ciphertext of a record, for tests that prove where bytes live.
    #[doc(hidden)]
    pub fn raw_sealed(&self, t: TenantRef<'_>, id: RecordId) -> Result<Vec<u8>, VaultError> {
        let rs = self.region(t.region)?;
        rs.data.read(|c| {
            c.query_row("SELECT sealed FROM records WHERE id = ?1", [id.to_string()], |r| {
                r.get::<_, Vec<u8>>(0)
            })
            .optional()?
            .ok_or_else(|| VaultError::NotFound(id.to_string()))
        })
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

    thread_local! {
        /// Runs once on this thread between reading a wrapped key and caching it.
        pub(super) static AFTER_LOAD: RefCell<Option<Box<dyn FnOnce()>>> = const { RefCell::new(None) };
    }

    /// A read that unwrapped a key just before the tenant's keys were destroyed does not put
    /// that key back in the cache (where a later read would still decrypt with it).
    #[test]
    fn a_key_destroyed_while_being_read_is_not_cached() {
        let dir = tempfile::tempdir().unwrap();
        let (v, _) = Vault::open(VaultOptions {
            data_dir: dir.path().to_path_buf(),
            regions: vec![("eu".into(), None)],
            master: MasterSecret::KeyFile(dir.path().join("master.key")),
            max_content_bytes: 1 << 20,
        })
        .unwrap();
        let v = Arc::new(v);
        let tid = TenantId::generate();
        let t = TenantRef { id: tid, region: "eu" };
        let record = NewRecord {
            product: "ixp".into(),
            data_kind: DataKind::RunTime,
            content: Content::Text("secret".into()),
            content_type: None,
            categories: vec![],
            metadata: None,
        };
        let id = v.put(t, vec![record], OffsetDateTime::now_utc()).unwrap()[0].id;
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
}
