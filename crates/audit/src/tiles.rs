//! The Merkle tree stored as tiles, in the manner of C2SP tlog-tiles (the layout of Tessera and
//! the Certificate Transparency logs): a tile of level `L` holds up to 256 consecutive hashes of
//! tree level `8·L`, so the whole tree is the leaf hashes (level-0 tiles) plus one hash in 256
//! at each further level, about 32 bytes per entry in all instead of a row per subtree. Every
//! perfect subtree hash is recomputed from at most 128 hashes of one tile.
//!
//! Tiles only grow at the right edge, one appended hash at a time: a full tile (256 hashes)
//! never changes again, which is what lets old ranges be moved to cold storage and still
//! answer proofs.

use std::collections::HashMap;

use crate::log::AuditError;
use crate::merkle::{Hash, NodeSource, node_hash};

/// Tree levels per tile.
pub const TILE_HEIGHT: u32 = 8;
/// Hashes per full tile.
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;

/// The tile `(tile level, tile index)` that holds the hashes a perfect subtree of `level`
/// starting at `index · 2^level` is computed from.
pub fn tile_of(level: u32, index: u64) -> (u32, u64) {
    let tile_level = level / TILE_HEIGHT;
    let within = level % TILE_HEIGHT;
    (tile_level, (index << within) / TILE_WIDTH)
}

/// Where the hash a completed subtree `(level, index)` goes, if it is stored at all: only
/// hashes of levels that are multiples of the tile height are, at `(tile level, tile index,
/// position in the tile)`.
pub fn slot(level: u32, index: u64) -> Option<(u32, u64, u64)> {
    level
        .is_multiple_of(TILE_HEIGHT)
        .then_some((level / TILE_HEIGHT, index / TILE_WIDTH, index % TILE_WIDTH))
}

/// Tiles read for one computation, by `(tile level, tile index)`: each the concatenation of
/// its hashes.
#[derive(Debug, Default)]
pub struct Tiles(pub HashMap<(u32, u64), Vec<u8>>);

impl NodeSource for Tiles {
    type Error = AuditError;

    fn perfect(&self, level: u32, index: u64) -> Result<Hash, AuditError> {
        let missing = || AuditError::Corrupt(format!("missing tree node {level}/{index}"));
        let (tile_level, tile_index) = tile_of(level, index);
        let tile = self.0.get(&(tile_level, tile_index)).ok_or_else(missing)?;
        let within = level % TILE_HEIGHT;
        let first = usize::try_from((index << within) % TILE_WIDTH).map_err(|_| missing())?;
        let count = 1usize << within;
        let bytes = tile.get(first * 32..(first + count) * 32).ok_or_else(missing)?;
        let mut row: Vec<Hash> = bytes
            .chunks_exact(32)
            .map(|c| c.try_into().unwrap_or([0; 32]))
            .collect();
        while row.len() > 1 {
            row = row.chunks_exact(2).map(|p| node_hash(&p[0], &p[1])).collect();
        }
        row.pop().ok_or_else(missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{Frontier, leaf_hash};

    /// Every perfect subtree hash, from tiles built the way a log appends them, equals the one
    /// the frontier computed as it went, for trees crossing several tile boundaries.
    #[test]
    fn tiles_answer_every_perfect_subtree() {
        let mut frontier = Frontier::default();
        let mut all = HashMap::new();
        let mut tiles = Tiles::default();
        let n = 70_000u64;
        for i in 0..n {
            for (level, index, hash) in frontier.push(leaf_hash(&i.to_be_bytes())) {
                all.insert((level, index), hash);
                if let Some((tl, ti, pos)) = slot(level, index) {
                    let tile = tiles.0.entry((tl, ti)).or_default();
                    assert_eq!(tile.len() as u64, pos * 32, "hashes are appended in order");
                    tile.extend_from_slice(&hash);
                }
            }
        }
        assert!(tiles.0.len() < (n / 200) as usize + 10, "about one tile in 256 entries");
        for (&(level, index), hash) in &all {
            assert_eq!(tiles.perfect(level, index).unwrap(), *hash, "{level}/{index}");
        }
        assert!(tiles.perfect(0, n).is_err());
        assert!(tiles.perfect(20, 0).is_err());
    }
}
