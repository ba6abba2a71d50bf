//! Archival of old ranges of the PostgreSQL log: entries leave the database for bundle files an
//! operator can move to object storage (or, under a retention rule, are dropped), while the
//! tree's tiles stay, so inclusion and consistency proofs over archived ranges still verify and
//! `audit verify` still recomputes the whole tree.
//!
//! A bundle is a whole number of level-0 tiles, covered by a signed checkpoint, archived only
//! after every entry in it was checked against the leaf hash its tile holds. Its file,
//! `audit-<start>-<end>.leaves.gz`, is gzip of each entry's exact leaf bytes, each preceded by
//! its length (4 bytes, big-endian); its SHA-256 is kept in `audit_archived` with the range.
//! Archived ranges are always a prefix of the log: archiving starts where the last one ended.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::entry::Entry;
use crate::log::AuditError;
use crate::merkle;
use crate::tiles::TILE_WIDTH;

/// Entries per bundle by default (256 level-0 tiles).
pub const DEFAULT_BUNDLE: u64 = 65_536;

/// A range of the log that left the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// First index.
    pub start: u64,
    /// One past the last index.
    pub end: u64,
    /// The bundle file's name, or `None` when the range was dropped under a retention rule.
    pub file: Option<String>,
    /// The file's SHA-256, hex.
    pub sha256: Option<String>,
}

/// The name of the bundle file of `[start, end)`.
pub fn file_name(start: u64, end: u64) -> String {
    format!("audit-{start:012}-{end:012}.leaves.gz")
}

/// Encodes leaves as a bundle file's bytes.
pub(crate) fn encode(leaves: &[Vec<u8>]) -> Result<Vec<u8>, AuditError> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for leaf in leaves {
        let len = u32::try_from(leaf.len()).map_err(|_| AuditError::Corrupt("a leaf over 4 GiB".into()))?;
        gz.write_all(&len.to_be_bytes())
            .and_then(|()| gz.write_all(leaf))
            .map_err(|e| AuditError::Corrupt(format!("compressing a bundle: {e}")))?;
    }
    gz.finish()
        .map_err(|e| AuditError::Corrupt(format!("compressing a bundle: {e}")))
}

/// Decodes a bundle file's bytes into leaves (at most `limit` of them).
pub fn decode(bytes: &[u8], limit: u64) -> Result<Vec<Vec<u8>>, String> {
    let mut gz = flate2::read::GzDecoder::new(bytes);
    let mut out = Vec::new();
    loop {
        let mut len = [0u8; 4];
        match gz.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(out),
            Err(e) => return Err(format!("does not decompress: {e}")),
        }
        if out.len() as u64 >= limit {
            return Err(format!("holds more than the {limit} entries of its range"));
        }
        let len = u32::from_be_bytes(len) as usize;
        if len > 16 * 1024 * 1024 {
            return Err(format!("a leaf of {len} bytes"));
        }
        let mut leaf = vec![0u8; len];
        gz.read_exact(&mut leaf).map_err(|e| format!("is cut short: {e}"))?;
        out.push(leaf);
    }
}

/// SHA-256 of `bytes`, hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `bytes` to `dir/name` durably (a temporary file, flushed, renamed, the directory
/// flushed), so an archived range is on disk before its entries leave the database.
pub(crate) fn write_durably(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, AuditError> {
    let io = |e: std::io::Error| AuditError::Config(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(io)?;
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}.partial"));
    {
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, &path).map_err(io)?;
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    Ok(path)
}

/// Checks a bundle's leaves against the leaf hashes of its range (`hashes`, 32 bytes each, from
/// the tiles): as many, each at its own index, each hashing to the tile's.
pub fn check_leaves(start: u64, leaves: &[Vec<u8>], hashes: &[u8]) -> Result<(), String> {
    if leaves.len() * 32 != hashes.len() {
        return Err(format!(
            "holds {} entries, its range {}",
            leaves.len(),
            hashes.len() / 32
        ));
    }
    for (i, leaf) in leaves.iter().enumerate() {
        let index = start + i as u64;
        let entry: Entry = serde_json::from_slice(leaf).map_err(|e| format!("entry {index} does not parse: {e}"))?;
        if entry.index != index {
            return Err(format!("entry {index} says it is at {}", entry.index));
        }
        if merkle::leaf_hash(leaf)[..] != hashes[i * 32..i * 32 + 32] {
            return Err(format!("entry {index} does not match the leaf hash its tile holds"));
        }
    }
    Ok(())
}

/// Whether `n` entries make whole level-0 tiles.
pub(crate) fn whole_tiles(n: u64) -> bool {
    n > 0 && n.is_multiple_of(TILE_WIDTH)
}
