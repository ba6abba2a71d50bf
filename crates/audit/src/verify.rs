//! Independent verification of a stored log: recompute the tree from the entries, check every
//! checkpoint's signature and root, and name the first entry that does not fit.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rusqlite::{Connection, OpenFlags};

use std::borrow::Cow;

use datapact_governance::Purpose;

use crate::entry::{Action, Outcome};
use crate::log::Checkpoint;
use crate::merkle::{self, Frontier};

/// Matches the checkpoints due at the frontier's size (`checkpoints` oldest last, so the next
/// due is at the end): each one's root must be the frontier's; counts them in `matched`.
pub(crate) fn match_checkpoints(
    frontier: &Frontier,
    checkpoints: &mut Vec<Checkpoint>,
    matched: &mut usize,
) -> Result<(), Failure> {
    while let Some(cp) = checkpoints.last() {
        if cp.tree_size > frontier.size() {
            break;
        }
        if B64.encode(frontier.root()) != cp.root_hash {
            return Err(Failure::Checkpoint {
                tree_size: cp.tree_size,
                reason: "its root does not match the entries: entries before it were changed".into(),
            });
        }
        *matched += 1;
        checkpoints.pop();
    }
    Ok(())
}

/// What a successful verification covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Entries checked.
    pub entries: u64,
    /// Checkpoints whose signature and root matched.
    pub checkpoints: usize,
    /// Entries after the newest checkpoint (not yet covered by a signature).
    pub unsigned_tail: u64,
    /// Root of the whole log, base64.
    pub root: String,
    /// Entries archived out of the database (their leaf hashes taken from the tiles, and
    /// checked against their bundle files when those were given).
    pub archived: u64,
}

/// The first thing that does not match.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// An entry is missing, altered, moved or inserted.
    #[error("entry {index}: {reason}")]
    Entry {
        /// Its index.
        index: u64,
        /// What is wrong.
        reason: String,
    },
    /// A checkpoint does not verify against the entries.
    #[error("checkpoint at tree size {tree_size}: {reason}")]
    Checkpoint {
        /// Its tree size.
        tree_size: u64,
        /// What is wrong.
        reason: String,
    },
    /// The log cannot be read.
    #[error("cannot read the audit log: {0}")]
    Unreadable(String),
}

/// Checks a checkpoint's Ed25519 signature (and, if given, that it is the pinned key's).
pub fn checkpoint_signature_ok(cp: &Checkpoint, origin: &str, pinned: Option<&[u8; 32]>) -> Result<(), String> {
    let pk: [u8; 32] = B64
        .decode(&cp.public_key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("public key is not 32 bytes of base64")?;
    if pinned.is_some_and(|p| *p != pk) {
        return Err("signed by another key than the pinned one".into());
    }
    let sig: [u8; 64] = B64
        .decode(&cp.signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("signature is not 64 bytes of base64")?;
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&pk).map_err(|_| "invalid public key")?;
    let body = Checkpoint::signed_bytes(origin, cp.tree_size, &cp.root_hash, &cp.timestamp);
    vk.verify_strict(&body, &ed25519_dalek::Signature::from_bytes(&sig))
        .map_err(|_| "the signature does not verify".to_string())
}

/// Entries read and checked together.
const CHUNK: usize = 16_384;

/// Separates the index columns of a row in the arena; a NULL column is [`NULL`].
const SEP: u8 = 0x1f;
const NULL: u8 = 0x00;

/// Entries read from storage, their bytes in one arena (no allocation per entry).
struct Chunk {
    arena: Vec<u8>,
    rows: Vec<Row>,
}

/// One stored entry: its position, its index columns and its leaf (ranges of the arena) and
/// the leaf hash the tree holds for it.
struct Row {
    idx: u64,
    cols: std::ops::Range<usize>,
    leaf: std::ops::Range<usize>,
    stored: Option<[u8; 32]>,
}

/// Reads every entry in index order, in chunks, on its own connection.
fn read_chunks(path: &Path, tx: std::sync::mpsc::SyncSender<Result<Chunk, Failure>>) {
    let unreadable = |e: rusqlite::Error| Failure::Unreadable(e.to_string());
    let run = || -> Result<(), Failure> {
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(unreadable)?;
        let mut stmt = conn
            .prepare("SELECT idx, org, tenant, product, action, purpose, outcome, leaf, hash FROM entries ORDER BY idx")
            .map_err(unreadable)?;
        let mut rows = stmt.query([]).map_err(unreadable)?;
        loop {
            let mut chunk = Chunk {
                arena: Vec::with_capacity(CHUNK * 700),
                rows: Vec::with_capacity(CHUNK),
            };
            while chunk.rows.len() < CHUNK {
                let Some(r) = rows.next().map_err(unreadable)? else {
                    break;
                };
                let start = chunk.arena.len();
                for i in 1..=6 {
                    match r.get_ref(i).map_err(unreadable)? {
                        rusqlite::types::ValueRef::Null => chunk.arena.push(NULL),
                        v => chunk
                            .arena
                            .extend_from_slice(v.as_bytes().map_err(|e| Failure::Unreadable(e.to_string()))?),
                    }
                    chunk.arena.push(SEP);
                }
                let cols = start..chunk.arena.len();
                let idx = r.get::<_, i64>(0).map_err(unreadable)? as u64;
                let leaf = r.get_ref(7).map_err(unreadable)?.as_bytes_or_null().unwrap_or(None);
                let leaf_start = chunk.arena.len();
                match crate::codec::unpack(leaf.unwrap_or_default()) {
                    Ok(leaf) => chunk.arena.extend_from_slice(&leaf),
                    Err(e) => {
                        return Err(Failure::Entry {
                            index: idx,
                            reason: e.to_string(),
                        });
                    }
                }
                let stored = r
                    .get_ref(8)
                    .map_err(unreadable)?
                    .as_bytes_or_null()
                    .ok()
                    .flatten()
                    .and_then(|b| b.try_into().ok());
                chunk.rows.push(Row {
                    idx,
                    cols,
                    leaf: leaf_start..chunk.arena.len(),
                    stored,
                });
            }
            if chunk.rows.is_empty() {
                return Ok(());
            }
            if tx.send(Ok(chunk)).is_err() {
                // The verifier stopped at a failure.
                return Ok(());
            }
        }
    };
    if let Err(e) = run() {
        let _ = tx.send(Err(e));
    }
}

/// The fields of a leaf that its storage row repeats; the rest is covered by its hash.
#[derive(serde::Deserialize)]
struct Head<'a> {
    index: u64,
    #[serde(borrow)]
    org: Option<Cow<'a, str>>,
    #[serde(borrow)]
    tenant: Option<Cow<'a, str>>,
    #[serde(borrow)]
    product: Option<Cow<'a, str>>,
    #[serde(borrow)]
    action: Cow<'a, str>,
    #[serde(borrow)]
    purpose: Option<Cow<'a, str>>,
    #[serde(borrow)]
    outcome: Cow<'a, str>,
}

fn known<'de, T: serde::Deserialize<'de>>(v: &'de str) -> bool {
    T::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(v)).is_ok()
}

/// Checks one entry on its own: it parses, holds its own position, agrees with its columns
/// and with the leaf hash the tree was built from. Returns that hash.
fn check_row(arena: &[u8], row: &Row) -> Result<merkle::Hash, Failure> {
    let fail = |reason: String| Failure::Entry { index: row.idx, reason };
    let leaf = &arena[row.leaf.clone()];
    let head: Head<'_> =
        serde_json::from_slice(leaf).map_err(|e| fail(format!("does not parse as an audit entry: {e}")))?;
    if head.index != row.idx {
        return Err(fail(format!(
            "holds the entry of position {} (moved or inserted)",
            head.index
        )));
    }
    let typed = known::<Action>(&head.action)
        && known::<Outcome>(&head.outcome)
        && head.purpose.as_deref().is_none_or(known::<Purpose>);
    if !typed {
        return Err(fail(
            "names an action, outcome or purpose that does not exist (altered)".into(),
        ));
    }
    let want = [
        head.org.as_deref(),
        head.tenant.as_deref(),
        head.product.as_deref(),
        Some(&*head.action),
        head.purpose.as_deref(),
        Some(&*head.outcome),
    ];
    let cols = &arena[row.cols.clone()];
    // Six values, each followed by the separator (a value holding one was altered).
    let same = cols.iter().filter(|b| **b == SEP).count() == 6
        && cols.split(|b| *b == SEP).zip(want).all(|(col, w)| match w {
            None => col == [NULL],
            Some(w) => col == w.as_bytes(),
        });
    if !same {
        return Err(fail(
            "its index columns disagree with its hashed contents (altered)".into(),
        ));
    }
    let hash = merkle::leaf_hash(leaf);
    if row.stored != Some(hash) {
        return Err(fail(
            "its contents do not match the hash the tree holds for it (altered)".into(),
        ));
    }
    Ok(hash)
}

/// Checks one entry read from any storage: its six index columns (`None` for NULL), its leaf
/// and the leaf hash the stored tree holds for it. Returns that hash.
pub(crate) fn check_entry(
    idx: u64,
    cols: [Option<&[u8]>; 6],
    leaf: &[u8],
    stored: Option<merkle::Hash>,
) -> Result<merkle::Hash, Failure> {
    let leaf = crate::codec::unpack(leaf).map_err(|e| Failure::Entry {
        index: idx,
        reason: e.to_string(),
    })?;
    let mut arena = Vec::with_capacity(leaf.len() + 96);
    for c in cols {
        match c {
            None => arena.push(NULL),
            Some(b) => arena.extend_from_slice(b),
        }
        arena.push(SEP);
    }
    let cols = 0..arena.len();
    let start = arena.len();
    arena.extend_from_slice(&leaf);
    check_row(
        &arena,
        &Row {
            idx,
            cols,
            leaf: start..arena.len(),
            stored,
        },
    )
}

/// Verifies the log in the database at `path`. Checkpoints are checked against `origin`, or
/// against the origin the log records when `None`.
pub fn verify_file(path: &Path, origin: Option<&str>, pinned: Option<&[u8; 32]>) -> Result<Report, Failure> {
    let unreadable = |e: rusqlite::Error| Failure::Unreadable(e.to_string());
    if !path.exists() {
        return Err(Failure::Unreadable(format!("{} does not exist", path.display())));
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(unreadable)?;
    let stored = crate::log::stored_origin(&conn).map_err(unreadable)?;
    let origin = match (origin, stored.as_deref()) {
        (Some(o), _) => o,
        (None, Some(o)) => o,
        (None, None) => {
            return Err(Failure::Unreadable(format!(
                "{} is not a datapact audit log (it records no origin)",
                path.display()
            )));
        }
    };
    let mut checkpoints: Vec<Checkpoint> = {
        let mut stmt = conn
            .prepare("SELECT tree_size, checkpoint FROM checkpoints ORDER BY tree_size")
            .map_err(unreadable)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .map_err(unreadable)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(unreadable)?;
        let mut out = Vec::new();
        for (size, json) in rows {
            let cp: Checkpoint = serde_json::from_str(&json).map_err(|e| Failure::Checkpoint {
                tree_size: size as u64,
                reason: format!("does not parse: {e}"),
            })?;
            if cp.tree_size != size as u64 {
                return Err(Failure::Checkpoint {
                    tree_size: size as u64,
                    reason: "stored under another size".into(),
                });
            }
            checkpoint_signature_ok(&cp, origin, pinned).map_err(|reason| Failure::Checkpoint {
                tree_size: cp.tree_size,
                reason,
            })?;
            out.push(cp);
        }
        out
    };
    checkpoints.reverse();
    let mut frontier = Frontier::default();
    let mut matched = 0;
    let mut check = |frontier: &Frontier, checkpoints: &mut Vec<Checkpoint>| {
        crate::verify::match_checkpoints(frontier, checkpoints, &mut matched)
    };
    check(&frontier, &mut checkpoints)?;
    // A reader thread streams entries in chunks while both cores check the previous chunk;
    // the tree is then grown in order on this thread.
    // The stored tree nodes, read in the order they complete, which is the order the
    // recomputation yields them: each is compared with the recomputed one as it comes.
    let mut nstmt = conn
        .prepare("SELECT id, hash FROM nodes ORDER BY id")
        .map_err(unreadable)?;
    let mut nodes = nstmt.query([]).map_err(unreadable)?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Chunk, Failure>>(2);
    std::thread::scope(|sc| -> Result<(), Failure> {
        sc.spawn(move || read_chunks(path, tx));
        for chunk in rx {
            let chunk = chunk?;
            let half = chunk.rows.len().div_ceil(2);
            let (left, right) = chunk.rows.split_at(half);
            let (a, b) = std::thread::scope(|inner| {
                let other = inner.spawn(|| right.iter().map(|r| check_row(&chunk.arena, r)).collect::<Vec<_>>());
                let mine: Vec<_> = left.iter().map(|r| check_row(&chunk.arena, r)).collect();
                (mine, other.join())
            });
            let b = b.map_err(|_| Failure::Unreadable("a verification thread failed".into()))?;
            for (row, result) in chunk.rows.iter().zip(a.into_iter().chain(b)) {
                let expected = frontier.size();
                if row.idx != expected {
                    return Err(Failure::Entry {
                        index: expected,
                        reason: format!("missing (the next stored entry is {})", row.idx),
                    });
                }
                for (level, index, hash) in frontier.push(result?) {
                    if level == 0 {
                        continue;
                    }
                    let want = crate::log::node_id(level, index);
                    let fail = |reason: String| Failure::Entry { index: row.idx, reason };
                    let Some(n) = nodes.next().map_err(unreadable)? else {
                        return Err(fail(format!("the tree node it completes (level {level}) is missing")));
                    };
                    let id: i64 = n.get(0).map_err(unreadable)?;
                    let stored = n.get_ref(1).map_err(unreadable)?.as_bytes_or_null().ok().flatten();
                    if id != want {
                        return Err(fail(format!(
                            "the tree node it completes (level {level}) is missing, or another was inserted before it"
                        )));
                    }
                    if stored != Some(hash.as_slice()) {
                        return Err(fail(format!(
                            "the tree node it completes (level {level}) holds another hash (altered)"
                        )));
                    }
                }
                check(&frontier, &mut checkpoints)?;
            }
        }
        Ok(())
    })?;
    if let Some(cp) = checkpoints.last() {
        return Err(Failure::Checkpoint {
            tree_size: cp.tree_size,
            reason: format!(
                "covers {} entries but only {} are stored: entries were removed",
                cp.tree_size,
                frontier.size()
            ),
        });
    }
    if nodes.next().map_err(unreadable)?.is_some() {
        return Err(Failure::Entry {
            index: frontier.size(),
            reason: "tree nodes are stored beyond the last entry (entries were removed, or nodes inserted)".into(),
        });
    }
    drop(nodes);
    let newest = conn
        .query_row("SELECT COALESCE(MAX(tree_size), 0) FROM checkpoints", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(unreadable)? as u64;
    Ok(Report {
        archived: 0,
        entries: frontier.size(),
        checkpoints: matched,
        unsigned_tail: frontier.size().saturating_sub(newest),
        root: B64.encode(frontier.root()),
    })
}
