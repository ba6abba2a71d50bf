//! Independent verification of a stored log: recompute the tree from the entries, check every
//! checkpoint's signature and root, and name the first entry that does not fit.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rusqlite::{Connection, OpenFlags};

use crate::entry::{Entry, wire_name};
use crate::log::Checkpoint;
use crate::merkle::{self, Frontier};

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
        (None, None) => return Err(Failure::Unreadable("the log records no origin: name it".into())),
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
    let mut check = |frontier: &Frontier, checkpoints: &mut Vec<Checkpoint>| -> Result<(), Failure> {
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
            matched += 1;
            checkpoints.pop();
        }
        Ok(())
    };
    check(&frontier, &mut checkpoints)?;
    let mut stmt = conn
        .prepare("SELECT e.idx, e.org, e.tenant, e.product, e.action, e.purpose, e.outcome, e.leaf, n.hash FROM entries e LEFT JOIN nodes n ON n.id = e.idx ORDER BY e.idx")
        .map_err(unreadable)?;
    let mut rows = stmt.query([]).map_err(unreadable)?;
    while let Some(r) = rows.next().map_err(unreadable)? {
        let expected = frontier.size();
        let idx = r.get::<_, i64>(0).map_err(unreadable)? as u64;
        if idx != expected {
            return Err(Failure::Entry {
                index: expected,
                reason: format!("missing (the next stored entry is {idx})"),
            });
        }
        let fail = |reason: String| Failure::Entry { index: idx, reason };
        let leaf: Vec<u8> = r.get(7).map_err(unreadable)?;
        let entry: Entry =
            serde_json::from_slice(&leaf).map_err(|e| fail(format!("does not parse as an audit entry: {e}")))?;
        if entry.index != idx {
            return Err(fail(format!(
                "holds the entry of position {} (moved or inserted)",
                entry.index
            )));
        }
        if entry.leaf() != leaf {
            return Err(fail("its bytes are not in canonical form (altered)".into()));
        }
        let cols: [Option<String>; 6] = [
            r.get(1).map_err(unreadable)?,
            r.get(2).map_err(unreadable)?,
            r.get(3).map_err(unreadable)?,
            r.get(4).map_err(unreadable)?,
            r.get(5).map_err(unreadable)?,
            r.get(6).map_err(unreadable)?,
        ];
        let want = [
            entry.event.org.map(|o| o.to_string()),
            entry.event.tenant.map(|t| t.to_string()),
            entry.event.product.as_ref().map(|p| p.as_str().to_string()),
            Some(wire_name(&entry.event.action)),
            entry.event.purpose.map(|p| wire_name(&p)),
            Some(wire_name(&entry.event.outcome)),
        ];
        if cols != want {
            return Err(fail(
                "its index columns disagree with its hashed contents (altered)".into(),
            ));
        }
        let hash = merkle::leaf_hash(&leaf);
        let stored: Option<Vec<u8>> = r.get(8).map_err(unreadable)?;
        if stored.as_deref() != Some(hash.as_slice()) {
            return Err(fail(
                "its contents do not match the hash the tree holds for it (altered)".into(),
            ));
        }
        frontier.push(hash);
        check(&frontier, &mut checkpoints)?;
    }
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
    let newest = conn
        .query_row("SELECT COALESCE(MAX(tree_size), 0) FROM checkpoints", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(unreadable)? as u64;
    Ok(Report {
        entries: frontier.size(),
        checkpoints: matched,
        unsigned_tail: frontier.size().saturating_sub(newest),
        root: B64.encode(frontier.root()),
    })
}
