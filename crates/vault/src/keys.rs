//! The key hierarchy's upper levels: the master key (from a passphrase or a key file), one
//! key-encryption key (KEK) per region in a local keyring file, and the server's Ed25519
//! signing key. Tenant data keys sit below, in each region's key store.
//!
//! ```text
//! master key ── seals ──► region KEK (keyring.json, one per region) ── wraps ──► tenant DEKs (keys.db, per region)
//!            └─ seals ──► server signing key (signing-key.json)                      └─ encrypt ──► records (vault.db)
//! ```

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::VaultError;
use crate::crypto::{Aead, KEY_LEN, SecretKey};

/// Where the master key comes from.
#[derive(Clone)]
pub enum MasterSecret {
    /// Derived with Argon2id from a passphrase (`DATAPACT_MASTER_PASSPHRASE`).
    Passphrase(Zeroizing<String>),
    /// Read from a key file; generated (mode 0600) on first start when no sealed data exists.
    KeyFile(PathBuf),
}

impl std::fmt::Debug for MasterSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MasterSecret::Passphrase(_) => f.write_str("MasterSecret::Passphrase(<redacted>)"),
            MasterSecret::KeyFile(p) => write!(f, "MasterSecret::KeyFile({})", p.display()),
        }
    }
}

/// What opening the master key did, so the operator can be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MasterOutcome {
    /// An existing master key was opened.
    Opened,
    /// A new master key file was generated: it must be backed up, separately from the data.
    GeneratedKeyFile(PathBuf),
    /// A new passphrase-derived master key was set up.
    InitializedPassphrase,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MasterFile {
    format: String,
    mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kdf: Option<KdfParams>,
    check: String,
}

#[derive(Serialize, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct KdfParams {
    alg: String,
    salt: String,
    m_kib: u32,
    t: u32,
    p: u32,
}

const MASTER_FORMAT: &str = "datapact.master/v1";
const CHECK_AAD: &[u8] = b"datapact.master.check/v1";
const CHECK_PLAINTEXT: &[u8] = b"datapact master key check";

/// The opened master key.
pub struct MasterKey {
    aead: Aead,
}

fn write_atomically(path: &Path, bytes: &[u8], private: bool) -> Result<(), VaultError> {
    let io = |e: std::io::Error| VaultError::Io {
        path: path.display().to_string(),
        source: e,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let tmp = path.with_extension("tmp");
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        let mut f = opts.open(&tmp).map_err(io)?;
        f.write_all(bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Where the sealed key files are kept: the data directory (one node), or a table in the
/// main database that every node of a deployment shares.
pub(crate) enum SealedFiles<'a> {
    /// Files in the data directory (or a region's directory).
    Dir,
    /// Rows of `datapact_secrets`, by name.
    Shared(&'a crate::pg::PgSecrets),
}

impl SealedFiles<'_> {
    /// What a message calls the file.
    fn label(&self, path: &Path, name: &str) -> String {
        match self {
            SealedFiles::Dir => path.display().to_string(),
            SealedFiles::Shared(_) => format!("the shared secret `{name}` (table datapact_secrets)"),
        }
    }

    /// The stored text, if any.
    fn read(&self, path: &Path, name: &str) -> Result<Option<String>, VaultError> {
        match self {
            SealedFiles::Dir => {
                if !path.exists() {
                    return Ok(None);
                }
                std::fs::read_to_string(path).map(Some).map_err(|e| VaultError::Io {
                    path: path.display().to_string(),
                    source: e,
                })
            }
            SealedFiles::Shared(db) => db.read(name),
        }
    }

    /// Stores `body` unless something is stored already; returns what is stored (on a shared
    /// table, a node that lost the race to create it gets the winner's).
    fn create(&self, path: &Path, name: &str, body: &[u8], private: bool) -> Result<String, VaultError> {
        match self {
            SealedFiles::Dir => {
                write_atomically(path, body, private)?;
                Ok(String::from_utf8_lossy(body).into_owned())
            }
            SealedFiles::Shared(db) => db.create(name, &String::from_utf8_lossy(body)),
        }
    }

    /// Whether something is stored.
    pub(crate) fn exists(&self, path: &Path, name: &str) -> Result<bool, VaultError> {
        Ok(self.read(path, name)?.is_some())
    }
}

fn derive(passphrase: &str, kdf: &KdfParams) -> Result<SecretKey, VaultError> {
    let salt = B64
        .decode(&kdf.salt)
        .map_err(|_| VaultError::KeyStore("master.json: salt is not base64".into()))?;
    let params = argon2::Params::new(kdf.m_kib, kdf.t, kdf.p, Some(KEY_LEN))
        .map_err(|e| VaultError::KeyStore(format!("master.json: bad KDF parameters: {e}")))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    argon
        .hash_password_into(passphrase.as_bytes(), &salt, out.as_mut())
        .map_err(|e| VaultError::KeyStore(format!("key derivation failed: {e}")))?;
    SecretKey::from_bytes(out.as_mut())
}

fn read_key_file(path: &Path) -> Result<SecretKey, VaultError> {
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| VaultError::Io {
        path: path.display().to_string(),
        source: e,
    })?);
    let mut bytes = Zeroizing::new(
        hex_decode(text.trim())
            .ok_or_else(|| VaultError::KeyStore(format!("{}: not 64 hex digits", path.display())))?,
    );
    SecretKey::from_bytes(bytes.as_mut())
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if s.len() != KEY_LEN * 2 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn hex_encode(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl MasterKey {
    /// Opens the master key of a data directory, or sets one up when nothing is sealed yet.
    ///
    /// `sealed_elsewhere` says whether anything sealed under a master key already exists
    /// (keyrings, a signing key): then a missing master is an error, never a fresh start.
    pub(crate) fn open(
        data_dir: &Path,
        secret: &MasterSecret,
        sealed_elsewhere: bool,
        files: &SealedFiles<'_>,
    ) -> Result<(Self, MasterOutcome), VaultError> {
        let meta_path = data_dir.join("master.json");
        let label = files.label(&meta_path, "master.json");
        let stored = files.read(&meta_path, "master.json")?;
        if let Some(text) = stored {
            Self::open_stored(&text, &label, secret, files)
        } else {
            if sealed_elsewhere {
                return Err(VaultError::MasterMissing(format!(
                    "{label} is missing but sealed keys exist; restore it from your backup (a fresh master key would make existing data unreadable)"
                )));
            }
            let (key, meta_kdf, mode, outcome) = match secret {
                MasterSecret::Passphrase(p) => {
                    if p.chars().count() < 12 {
                        return Err(VaultError::MasterWrong(
                            "DATAPACT_MASTER_PASSPHRASE must be at least 12 characters".into(),
                        ));
                    }
                    let mut salt = [0u8; 16];
                    crate::crypto::random(&mut salt)?;
                    let kdf = KdfParams {
                        alg: "argon2id".into(),
                        salt: B64.encode(salt),
                        m_kib: 64 * 1024,
                        t: 3,
                        p: 1,
                    };
                    (
                        derive(p, &kdf)?,
                        Some(kdf),
                        "passphrase",
                        MasterOutcome::InitializedPassphrase,
                    )
                }
                MasterSecret::KeyFile(path) => {
                    let key = if path.exists() {
                        read_key_file(path)?
                    } else {
                        let key = SecretKey::generate()?;
                        write_atomically(path, format!("{}\n", hex_encode(key.expose())).as_bytes(), true)?;
                        key
                    };
                    (key, None, "key_file", MasterOutcome::GeneratedKeyFile(path.clone()))
                }
            };
            let aead = Aead::new(&key)?;
            let meta = MasterFile {
                format: MASTER_FORMAT.into(),
                mode: mode.into(),
                kdf: meta_kdf,
                check: B64.encode(aead.seal(CHECK_AAD, CHECK_PLAINTEXT)?),
            };
            let json = serde_json::to_vec_pretty(&meta).map_err(|e| VaultError::KeyStore(e.to_string()))?;
            let stored = files.create(&meta_path, "master.json", &json, false)?;
            if stored.as_bytes() != json.as_slice() {
                // Another node set the deployment's master up first: open its.
                return Self::open_stored(&stored, &label, secret, files).map(|(m, _)| (m, MasterOutcome::Opened));
            }
            Ok((Self { aead }, outcome))
        }
    }

    /// Opens the master key described by a stored `master.json`.
    fn open_stored(
        text: &str,
        label: &str,
        secret: &MasterSecret,
        files: &SealedFiles<'_>,
    ) -> Result<(Self, MasterOutcome), VaultError> {
        let sealed_what = match files {
            SealedFiles::Dir => "this data directory",
            SealedFiles::Shared(_) => "this deployment's database",
        };
        {
            let meta: MasterFile =
                serde_json::from_str(text).map_err(|e| VaultError::KeyStore(format!("{label}: {e}")))?;
            if meta.format != MASTER_FORMAT {
                return Err(VaultError::KeyStore(format!(
                    "{label}: unknown format `{}`",
                    meta.format
                )));
            }
            let key = match (meta.mode.as_str(), secret) {
                ("passphrase", MasterSecret::Passphrase(p)) => {
                    let kdf = meta
                        .kdf
                        .as_ref()
                        .ok_or_else(|| VaultError::KeyStore("master.json: missing kdf".into()))?;
                    derive(p, kdf)?
                }
                ("key_file", MasterSecret::KeyFile(path)) => {
                    if !path.exists() {
                        return Err(VaultError::MasterMissing(format!(
                            "the master key file {} is missing, but {sealed_what} was sealed with it; restore it from your backup",
                            path.display()
                        )));
                    }
                    read_key_file(path)?
                }
                ("passphrase", MasterSecret::KeyFile(_)) => {
                    return Err(VaultError::MasterMissing(format!(
                        "{sealed_what} is sealed with a passphrase: set DATAPACT_MASTER_PASSPHRASE"
                    )));
                }
                ("key_file", MasterSecret::Passphrase(_)) => {
                    return Err(VaultError::MasterMissing(format!(
                        "{sealed_what} is sealed with a master key file, not a passphrase: unset DATAPACT_MASTER_PASSPHRASE \
                         (or set DATAPACT_MASTER_KEY_FILE to the key file)"
                    )));
                }
                (other, _) => {
                    return Err(VaultError::KeyStore(format!("master.json: unknown mode `{other}`")));
                }
            };
            let aead = Aead::new(&key)?;
            let check = B64
                .decode(&meta.check)
                .map_err(|_| VaultError::KeyStore("master.json: bad check value".into()))?;
            match aead.open(CHECK_AAD, &check) {
                Ok(p) if p == CHECK_PLAINTEXT => Ok((Self { aead }, MasterOutcome::Opened)),
                _ => Err(VaultError::MasterWrong(match secret {
                    MasterSecret::Passphrase(_) => format!("DATAPACT_MASTER_PASSPHRASE is wrong for {sealed_what}"),
                    MasterSecret::KeyFile(p) => {
                        format!("the master key file {} does not match {sealed_what}", p.display())
                    }
                })),
            }
        }
    }

    fn seal(&self, aad: &[u8], key: &SecretKey) -> Result<String, VaultError> {
        Ok(B64.encode(self.aead.seal(aad, key.expose())?))
    }

    fn unseal(&self, aad: &[u8], sealed: &str, what: &str) -> Result<SecretKey, VaultError> {
        let bytes = B64
            .decode(sealed)
            .map_err(|_| VaultError::KeyStore(format!("{what}: not base64")))?;
        let mut plain = Zeroizing::new(
            self.aead
                .open(aad, &bytes)
                .map_err(|_| VaultError::KeyStore(format!("{what}: cannot be unsealed (altered?)")))?,
        );
        SecretKey::from_bytes(plain.as_mut())
    }
}

pub use crate::region::WrappedKey;

/// Holds the region KEKs and wraps and unwraps tenant data keys with them.
///
/// The embedded implementation is [`LocalKeyring`]; an HSM or cloud KMS fits behind this trait.
pub trait KeyProvider: Send + Sync {
    /// Wraps `dek` under `region`'s KEK, bound to `context`.
    fn wrap(&self, region: &str, context: &[u8], dek: &SecretKey) -> Result<WrappedKey, VaultError>;
    /// Unwraps a key wrapped by [`KeyProvider::wrap`] with the same region and context.
    fn unwrap(&self, region: &str, context: &[u8], wrapped: &WrappedKey) -> Result<SecretKey, VaultError>;
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyringFile {
    format: String,
    region: String,
    active: String,
    keks: Vec<SealedKek>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SealedKek {
    id: String,
    created_at: String,
    sealed: String,
}

const KEYRING_FORMAT: &str = "datapact.keyring/v1";

fn kek_aad(region: &str, id: &str) -> Vec<u8> {
    format!("datapact.kek/v1|{region}|{id}").into_bytes()
}

/// One local keyring file per region, each KEK sealed with the master key.
pub struct LocalKeyring {
    keks: HashMap<String, (String, HashMap<String, Aead>)>,
}

impl LocalKeyring {
    /// Opens (or, for a region without data, creates) the keyring of each region.
    ///
    /// `regions` gives each region's directory and whether data already exists there; a
    /// region with data but no keyring is an error, never a fresh key.
    pub(crate) fn open(
        master: &MasterKey,
        regions: &[(String, PathBuf, bool)],
        files: &SealedFiles<'_>,
    ) -> Result<Self, VaultError> {
        let mut keks = HashMap::new();
        for (region, dir, has_data) in regions {
            let path = dir.join("keyring.json");
            let name = format!("regions/{region}/keyring.json");
            let label = files.label(&path, &name);
            let text = match files.read(&path, &name)? {
                Some(text) => text,
                None => {
                    if *has_data {
                        return Err(VaultError::MasterMissing(format!(
                            "{label} is missing but region `{region}` holds data; restore the keyring from your backup"
                        )));
                    }
                    let kek = SecretKey::generate()?;
                    let mut idb = [0u8; 6];
                    crate::crypto::random(&mut idb)?;
                    let id = format!("kek_{region}_{}", hex_encode(&idb));
                    let now = time::OffsetDateTime::now_utc()
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default();
                    let file = KeyringFile {
                        format: KEYRING_FORMAT.into(),
                        region: region.clone(),
                        active: id.clone(),
                        keks: vec![SealedKek {
                            id: id.clone(),
                            created_at: now,
                            sealed: master.seal(&kek_aad(region, &id), &kek)?,
                        }],
                    };
                    let json = serde_json::to_vec_pretty(&file).map_err(|e| VaultError::KeyStore(e.to_string()))?;
                    let stored = files.create(&path, &name, &json, true)?;
                    if stored.as_bytes() == json.as_slice() {
                        tracing::info!(region, kek = %id, "created the region's key-encryption key");
                    }
                    stored
                }
            };
            let file: KeyringFile =
                serde_json::from_str(&text).map_err(|e| VaultError::KeyStore(format!("{label}: {e}")))?;
            if file.format != KEYRING_FORMAT || file.region != *region {
                return Err(VaultError::KeyStore(format!(
                    "{label}: this is not the keyring of region `{region}` (format `{}`, region `{}`)",
                    file.format, file.region
                )));
            }
            let mut by_id = HashMap::new();
            for k in &file.keks {
                let kek = master.unseal(&kek_aad(region, &k.id), &k.sealed, &format!("{label} ({})", k.id))?;
                by_id.insert(k.id.clone(), Aead::new(&kek)?);
            }
            if !by_id.contains_key(&file.active) {
                return Err(VaultError::KeyStore(format!(
                    "{label}: active KEK `{}` is not in the file",
                    file.active
                )));
            }
            keks.insert(region.clone(), (file.active, by_id));
        }
        Ok(Self { keks })
    }

    fn region(&self, region: &str) -> Result<&(String, HashMap<String, Aead>), VaultError> {
        self.keks
            .get(region)
            .ok_or_else(|| VaultError::KeyStore(format!("no keyring for region `{region}`")))
    }
}

impl KeyProvider for LocalKeyring {
    fn wrap(&self, region: &str, context: &[u8], dek: &SecretKey) -> Result<WrappedKey, VaultError> {
        let (active, keks) = self.region(region)?;
        let aead = keks
            .get(active)
            .ok_or_else(|| VaultError::KeyStore("active KEK missing".into()))?;
        Ok(WrappedKey {
            kek_id: active.clone(),
            sealed: aead.seal(context, dek.expose())?,
        })
    }

    fn unwrap(&self, region: &str, context: &[u8], wrapped: &WrappedKey) -> Result<SecretKey, VaultError> {
        let (_, keks) = self.region(region)?;
        let aead = keks.get(&wrapped.kek_id).ok_or_else(|| {
            VaultError::KeyStore(format!(
                "KEK `{}` is not in region `{region}`'s keyring",
                wrapped.kek_id
            ))
        })?;
        let mut plain = Zeroizing::new(aead.open(context, &wrapped.sealed)?);
        SecretKey::from_bytes(plain.as_mut())
    }
}

/// The server's Ed25519 signing key, for deletion certificates (and later audit checkpoints).
pub struct Signer {
    key: ed25519_dalek::SigningKey,
    id: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignerFile {
    format: String,
    key_id: String,
    public_key: String,
    sealed: String,
}

const SIGNER_FORMAT: &str = "datapact.signing-key/v1";

impl Signer {
    /// Opens the signing key in `data_dir`, creating it on first start.
    pub(crate) fn open(master: &MasterKey, data_dir: &Path, files: &SealedFiles<'_>) -> Result<Self, VaultError> {
        let path = data_dir.join("signing-key.json");
        let name = "signing-key.json";
        let label = files.label(&path, name);
        let aad = |id: &str| format!("datapact.signing-key/v1|{id}").into_bytes();
        let text = match files.read(&path, name)? {
            Some(text) => text,
            None => {
                let seed = SecretKey::generate()?;
                let key = ed25519_dalek::SigningKey::from_bytes(seed.expose());
                let id = key_id(key.verifying_key().as_bytes());
                let f = SignerFile {
                    format: SIGNER_FORMAT.into(),
                    key_id: id.clone(),
                    public_key: B64.encode(key.verifying_key().as_bytes()),
                    sealed: master.seal(&aad(&id), &seed)?,
                };
                let json = serde_json::to_vec_pretty(&f).map_err(|e| VaultError::KeyStore(e.to_string()))?;
                files.create(&path, name, &json, true)?
            }
        };
        let f: SignerFile = serde_json::from_str(&text).map_err(|e| VaultError::KeyStore(format!("{label}: {e}")))?;
        let seed = master.unseal(&aad(&f.key_id), &f.sealed, &label)?;
        let key = ed25519_dalek::SigningKey::from_bytes(seed.expose());
        if B64.encode(key.verifying_key().as_bytes()) != f.public_key {
            return Err(VaultError::KeyStore(format!(
                "{label}: public key does not match the sealed key"
            )));
        }
        Ok(Self { key, id: f.key_id })
    }

    /// Signs `msg`.
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer as _;
        self.key.sign(msg).to_bytes()
    }

    /// The public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// A short identifier of the public key (first 8 bytes of its SHA-256, hex).
    pub fn key_id(&self) -> &str {
        &self.id
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretFile {
    format: String,
    purpose: String,
    sealed: String,
}

/// Opens a random 256-bit secret sealed with the master key at `path`, creating it on first
/// use. `purpose` is bound into the seal, so a file cannot stand in for another one.
pub(crate) fn open_sealed_secret(
    master: &MasterKey,
    path: &Path,
    name: &str,
    purpose: &str,
    files: &SealedFiles<'_>,
) -> Result<SecretKey, VaultError> {
    let aad = format!("datapact.secret/v1|{purpose}").into_bytes();
    let label = files.label(path, name);
    let text = match files.read(path, name)? {
        Some(text) => text,
        None => {
            let secret = SecretKey::generate()?;
            let f = SecretFile {
                format: "datapact.secret/v1".into(),
                purpose: purpose.into(),
                sealed: master.seal(&aad, &secret)?,
            };
            let json = serde_json::to_vec_pretty(&f).map_err(|e| VaultError::KeyStore(e.to_string()))?;
            files.create(path, name, &json, true)?
        }
    };
    let f: SecretFile = serde_json::from_str(&text).map_err(|e| VaultError::KeyStore(format!("{label}: {e}")))?;
    if f.purpose != purpose {
        return Err(VaultError::KeyStore(format!(
            "{label}: holds a `{}` secret, not `{purpose}`",
            f.purpose
        )));
    }
    master.unseal(&aad, &f.sealed, &label)
}

/// The identifier datapact gives an Ed25519 public key.
pub fn key_id(public_key: &[u8]) -> String {
    use sha2::Digest;
    let h = sha2::Sha256::digest(public_key);
    format!("ed25519:{}", hex_encode(&h[..8]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_master_round_trip_and_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let kf = dir.path().join("master.key");
        let (_, outcome) =
            MasterKey::open(dir.path(), &MasterSecret::KeyFile(kf.clone()), false, &SealedFiles::Dir).unwrap();
        assert_eq!(outcome, MasterOutcome::GeneratedKeyFile(kf.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&kf).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let (_, outcome) =
            MasterKey::open(dir.path(), &MasterSecret::KeyFile(kf.clone()), true, &SealedFiles::Dir).unwrap();
        assert_eq!(outcome, MasterOutcome::Opened);
        // Another key file is refused, and so is a missing one.
        std::fs::write(&kf, format!("{}\n", "ab".repeat(32))).unwrap();
        assert!(matches!(
            MasterKey::open(dir.path(), &MasterSecret::KeyFile(kf.clone()), true, &SealedFiles::Dir),
            Err(VaultError::MasterWrong(_))
        ));
        std::fs::remove_file(&kf).unwrap();
        assert!(matches!(
            MasterKey::open(dir.path(), &MasterSecret::KeyFile(kf), true, &SealedFiles::Dir),
            Err(VaultError::MasterMissing(_))
        ));
        let pass = MasterSecret::Passphrase(Zeroizing::new("correct horse battery".into()));
        assert!(matches!(
            MasterKey::open(dir.path(), &pass, true, &SealedFiles::Dir),
            Err(VaultError::MasterMissing(_))
        ));
    }

    #[test]
    fn passphrase_master_detects_a_wrong_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let good = MasterSecret::Passphrase(Zeroizing::new("correct horse battery".into()));
        let (m, outcome) = MasterKey::open(dir.path(), &good, false, &SealedFiles::Dir).unwrap();
        assert_eq!(outcome, MasterOutcome::InitializedPassphrase);
        let regions = vec![("eu".to_string(), dir.path().join("eu"), false)];
        let ring = LocalKeyring::open(&m, &regions, &SealedFiles::Dir).unwrap();
        let dek = SecretKey::generate().unwrap();
        let w = ring.wrap("eu", b"ctx", &dek).unwrap();
        let (m2, _) = MasterKey::open(dir.path(), &good, true, &SealedFiles::Dir).unwrap();
        let ring2 = LocalKeyring::open(&m2, &regions, &SealedFiles::Dir).unwrap();
        assert_eq!(ring2.unwrap("eu", b"ctx", &w).unwrap().expose(), dek.expose());
        assert!(ring2.unwrap("eu", b"other", &w).is_err());
        let bad = MasterSecret::Passphrase(Zeroizing::new("wrong horse battery".into()));
        assert!(matches!(
            MasterKey::open(dir.path(), &bad, true, &SealedFiles::Dir),
            Err(VaultError::MasterWrong(_))
        ));
    }

    #[test]
    fn a_missing_master_or_keyring_never_means_a_fresh_start() {
        let dir = tempfile::tempdir().unwrap();
        let kf = MasterSecret::KeyFile(dir.path().join("master.key"));
        assert!(matches!(
            MasterKey::open(dir.path(), &kf, true, &SealedFiles::Dir),
            Err(VaultError::MasterMissing(_))
        ));
        let (m, _) = MasterKey::open(dir.path(), &kf, false, &SealedFiles::Dir).unwrap();
        let regions = vec![("eu".to_string(), dir.path().join("eu"), true)];
        assert!(matches!(
            LocalKeyring::open(&m, &regions, &SealedFiles::Dir),
            Err(VaultError::MasterMissing(_))
        ));
    }

    #[test]
    fn signer_persists_and_signs() {
        let dir = tempfile::tempdir().unwrap();
        let (m, _) = MasterKey::open(
            dir.path(),
            &MasterSecret::KeyFile(dir.path().join("k")),
            false,
            &SealedFiles::Dir,
        )
        .unwrap();
        let s = Signer::open(&m, dir.path(), &SealedFiles::Dir).unwrap();
        let s2 = Signer::open(&m, dir.path(), &SealedFiles::Dir).unwrap();
        assert_eq!(s.public_key(), s2.public_key());
        assert_eq!(s.key_id(), s2.key_id());
        let sig = s.sign(b"msg");
        let vk = ed25519_dalek::VerifyingKey::from_bytes(&s.public_key()).unwrap();
        assert!(
            vk.verify_strict(b"msg", &ed25519_dalek::Signature::from_bytes(&sig))
                .is_ok()
        );
    }
}
