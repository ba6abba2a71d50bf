//! RFC 6962 / RFC 9162 Merkle tree hashing, proofs and their verification.
//!
//! Leaves and nodes use the RFC's domain separation: a leaf hash is `SHA-256(0x00 ‖ leaf)`,
//! an interior node `SHA-256(0x01 ‖ left ‖ right)`, so any standard verifier applies.
//!
//! Every subtree the RFC's recursion visits on its left side is *perfect* (2^k leaves starting
//! at a multiple of 2^k), so a log only needs to store perfect subtree hashes to answer any
//! root or proof query with O(log n) lookups.

use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// `SHA-256(0x00 ‖ leaf)`.
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(leaf);
    h.finalize().into()
}

/// `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The hash of the empty tree, `SHA-256()`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Where perfect subtree hashes come from: `perfect(level, index)` is the root of the subtree
/// over leaves `[index·2^level, (index+1)·2^level)`.
pub trait NodeSource {
    /// The error a lookup can fail with.
    type Error;
    /// The hash of a perfect subtree that exists in the tree.
    fn perfect(&self, level: u32, index: u64) -> Result<Hash, Self::Error>;
}

/// Largest power of two strictly less than `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// MTH(D[start..end]) for a range reached by the RFC's recursion.
pub fn subtree<S: NodeSource>(src: &S, start: u64, end: u64) -> Result<Hash, S::Error> {
    let n = end - start;
    if n.is_power_of_two() && start.is_multiple_of(n) {
        return src.perfect(n.trailing_zeros(), start / n);
    }
    let k = split(n);
    let left = subtree(src, start, start + k)?;
    let right = subtree(src, start + k, end)?;
    Ok(node_hash(&left, &right))
}

/// The root of the first `size` leaves.
pub fn root<S: NodeSource>(src: &S, size: u64) -> Result<Hash, S::Error> {
    if size == 0 {
        Ok(empty_root())
    } else {
        subtree(src, 0, size)
    }
}

/// RFC 6962 PATH(m, D[start..end]): the audit path of leaf `m` (relative to `start`).
fn path<S: NodeSource>(src: &S, m: u64, start: u64, end: u64, out: &mut Vec<Hash>) -> Result<(), S::Error> {
    let n = end - start;
    if n <= 1 {
        return Ok(());
    }
    let k = split(n);
    if m < k {
        path(src, m, start, start + k, out)?;
        out.push(subtree(src, start + k, end)?);
    } else {
        path(src, m - k, start + k, end, out)?;
        out.push(subtree(src, start, start + k)?);
    }
    Ok(())
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves (leaf to root order).
pub fn inclusion_proof<S: NodeSource>(src: &S, index: u64, size: u64) -> Result<Vec<Hash>, S::Error> {
    let mut out = Vec::with_capacity(64);
    path(src, index, 0, size, &mut out)?;
    Ok(out)
}

/// RFC 6962 SUBPROOF(m, D[start..end], b).
fn subproof<S: NodeSource>(
    src: &S,
    m: u64,
    start: u64,
    end: u64,
    b: bool,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    let n = end - start;
    if m == n {
        if !b {
            out.push(subtree(src, start, end)?);
        }
        return Ok(());
    }
    let k = split(n);
    if m <= k {
        subproof(src, m, start, start + k, b, out)?;
        out.push(subtree(src, start + k, end)?);
    } else {
        subproof(src, m - k, start + k, end, false, out)?;
        out.push(subtree(src, start, start + k)?);
    }
    Ok(())
}

/// The consistency proof between the trees of `old_size` and `new_size` leaves.
pub fn consistency_proof<S: NodeSource>(src: &S, old_size: u64, new_size: u64) -> Result<Vec<Hash>, S::Error> {
    let mut out = Vec::with_capacity(64);
    if old_size > 0 && old_size < new_size {
        subproof(src, old_size, 0, new_size, true, &mut out)?;
    }
    Ok(out)
}

/// Verifies an inclusion proof (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f_n, mut s_n) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s_n == 0 {
            return false;
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    s_n == 0 && r == *root
}

/// Verifies a consistency proof (RFC 9162 §2.1.4.2).
pub fn verify_consistency(old_size: u64, new_size: u64, old_root: &Hash, new_root: &Hash, proof: &[Hash]) -> bool {
    if old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    if old_size == 0 {
        return proof.is_empty();
    }
    let mut path: Vec<Hash> = proof.to_vec();
    if old_size.is_power_of_two() {
        path.insert(0, *old_root);
    }
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let (mut f_n, mut s_n) = (old_size - 1, new_size - 1);
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if s_n == 0 {
            return false;
        }
        if f_n & 1 == 1 || f_n == s_n {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    s_n == 0 && fr == *old_root && sr == *new_root
}

/// The right edge of a growing tree: the perfect subtrees that cover its leaves, largest first.
/// Appending a leaf yields the perfect subtree hashes it completes, which a log stores.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// (level, hash) of each perfect subtree on the right edge, left to right.
    stack: Vec<(u32, Hash)>,
}

impl Frontier {
    /// A frontier rebuilt from stored perfect subtree hashes for a tree of `size` leaves.
    pub fn load<S: NodeSource>(src: &S, size: u64) -> Result<Self, S::Error> {
        let mut stack = Vec::new();
        let mut start = 0u64;
        for level in (0..64u32).rev() {
            if size & (1u64 << level) != 0 {
                stack.push((level, src.perfect(level, start >> level)?));
                start += 1u64 << level;
            }
        }
        Ok(Self { size, stack })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The frontier as bytes, to be stored beside the tree: the size (8 bytes, big-endian),
    /// then each perfect subtree on the right edge as its level (1 byte) and hash (32 bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.stack.len() * 33);
        out.extend_from_slice(&self.size.to_be_bytes());
        for (level, hash) in &self.stack {
            out.push(*level as u8);
            out.extend_from_slice(hash);
        }
        out
    }

    /// Reads [`Frontier::to_bytes`] back; `None` if the bytes are not a frontier (its levels
    /// must be exactly the bits of its size, largest first).
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (size, rest) = bytes.split_first_chunk::<8>()?;
        let size = u64::from_be_bytes(*size);
        if rest.len() % 33 != 0 {
            return None;
        }
        let stack: Vec<(u32, Hash)> = rest
            .chunks_exact(33)
            .map(|c| {
                let hash: Hash = c[1..].try_into().unwrap_or([0; 32]);
                (u32::from(c[0]), hash)
            })
            .collect();
        let levels: Vec<u32> = (0..64u32).rev().filter(|l| size & (1u64 << l) != 0).collect();
        (stack.iter().map(|(l, _)| *l).collect::<Vec<_>>() == levels).then_some(Self { size, stack })
    }

    /// Appends a leaf hash; returns every perfect subtree `(level, index, hash)` it completes,
    /// the leaf itself (level 0) included.
    pub fn push(&mut self, leaf: Hash) -> Vec<(u32, u64, Hash)> {
        let index = self.size;
        let mut created = vec![(0, index, leaf)];
        let mut cur = (0u32, leaf);
        while let Some(&(level, left)) = self.stack.last() {
            if level != cur.0 {
                break;
            }
            self.stack.pop();
            let h = node_hash(&left, &cur.1);
            cur = (level + 1, h);
            created.push((cur.0, index >> cur.0, h));
        }
        self.stack.push(cur);
        self.size += 1;
        created
    }

    /// The root of the tree so far.
    pub fn root(&self) -> Hash {
        let mut it = self.stack.iter().rev();
        match it.next() {
            None => empty_root(),
            Some(&(_, last)) => it.fold(last, |acc, (_, h)| node_hash(h, &acc)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// An in-memory tree for tests: every perfect subtree hash.
    #[derive(Default)]
    struct Mem {
        nodes: HashMap<(u32, u64), Hash>,
        frontier: Frontier,
    }

    impl Mem {
        fn with(leaves: &[Vec<u8>]) -> Self {
            let mut m = Mem::default();
            for l in leaves {
                for (level, idx, h) in m.frontier.push(leaf_hash(l)) {
                    m.nodes.insert((level, idx), h);
                }
            }
            m
        }
    }

    impl NodeSource for Mem {
        type Error = String;
        fn perfect(&self, level: u32, index: u64) -> Result<Hash, String> {
            self.nodes
                .get(&(level, index))
                .copied()
                .ok_or_else(|| format!("no node {level}/{index}"))
        }
    }

    fn hex(h: &Hash) -> String {
        h.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The leaves and roots of the RFC 6962 reference test vectors (as used by the Certificate
    /// Transparency implementations): roots of the trees of the first 1..8 leaves.
    fn vector_leaves() -> Vec<Vec<u8>> {
        vec![
            vec![],
            vec![0x00],
            vec![0x10],
            vec![0x20, 0x21],
            vec![0x30, 0x31],
            vec![0x40, 0x41, 0x42, 0x43],
            vec![0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
            (0x60..=0x6f).collect(),
        ]
    }

    #[test]
    fn rfc6962_reference_roots() {
        let roots = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let leaves = vector_leaves();
        let mem = Mem::with(&leaves);
        assert_eq!(
            hex(&empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        for (i, want) in roots.iter().enumerate() {
            assert_eq!(
                hex(&root(&mem, i as u64 + 1).unwrap()),
                *want,
                "root of {} leaves",
                i + 1
            );
            let partial = Mem::with(&leaves[..=i]);
            assert_eq!(
                hex(&partial.frontier.root()),
                *want,
                "frontier root of {} leaves",
                i + 1
            );
        }
    }

    #[test]
    fn rfc6962_reference_inclusion_proofs() {
        let mem = Mem::with(&vector_leaves());
        // (leaf index, tree size, path) from the reference vectors.
        let cases: [(u64, u64, &[&str]); 5] = [
            (0, 1, &[]),
            (
                0,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                &[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                3,
                &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
            ),
            (
                1,
                5,
                &[
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (index, size, want) in cases {
            let proof = inclusion_proof(&mem, index, size).unwrap();
            assert_eq!(proof.iter().map(hex).collect::<Vec<_>>(), want, "PATH({index}, {size})");
            let r = root(&mem, size).unwrap();
            let leaf = leaf_hash(&vector_leaves()[index as usize]);
            assert!(verify_inclusion(&leaf, index, size, &proof, &r));
            assert!(!verify_inclusion(&leaf, index + 1, size, &proof, &r));
        }
    }

    #[test]
    fn rfc6962_reference_consistency_proofs() {
        let mem = Mem::with(&vector_leaves());
        let cases: [(u64, u64, &[&str]); 4] = [
            (1, 1, &[]),
            (
                1,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (m, n, want) in cases {
            let proof = consistency_proof(&mem, m, n).unwrap();
            assert_eq!(proof.iter().map(hex).collect::<Vec<_>>(), want, "PROOF({m}, {n})");
            let (a, b) = (root(&mem, m).unwrap(), root(&mem, n).unwrap());
            assert!(verify_consistency(m, n, &a, &b, &proof));
            if n > m {
                assert!(!verify_consistency(m, n, &b, &a, &proof));
            }
        }
    }

    #[test]
    fn frontier_reload_continues_the_same_tree() {
        let leaves: Vec<Vec<u8>> = (0..100u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let mem = Mem::with(&leaves);
        for size in [0u64, 1, 2, 3, 7, 8, 9, 64, 99, 100] {
            let f = Frontier::load(&mem, size).unwrap();
            assert_eq!(f.root(), root(&mem, size).unwrap(), "size {size}");
            let mut back = Frontier::from_bytes(&f.to_bytes()).expect("its own bytes read back");
            assert_eq!(back, f);
            let mut grown = f.clone();
            back.push(leaf_hash(b"next"));
            grown.push(leaf_hash(b"next"));
            assert_eq!(back.root(), grown.root());
        }
        // Bytes whose levels are not the bits of the size are refused.
        let f = Frontier::load(&mem, 7).unwrap();
        let mut b = f.to_bytes();
        b[7] = 6;
        assert!(Frontier::from_bytes(&b).is_none());
        assert!(Frontier::from_bytes(&f.to_bytes()[..20]).is_none());
        assert!(Frontier::from_bytes(&[]).is_none());
    }
}

/// Cross-checks against an independent RFC 6962 implementation (the `ct-merkle` crate).
#[cfg(test)]
mod independent {
    use super::*;
    use ct_merkle::mem_backed_tree::MemoryBackedTree;
    use proptest::prelude::*;
    use std::collections::HashMap;

    struct Mem(HashMap<(u32, u64), Hash>);
    impl NodeSource for Mem {
        type Error = ();
        fn perfect(&self, level: u32, index: u64) -> Result<Hash, ()> {
            self.0.get(&(level, index)).copied().ok_or(())
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn roots_and_proofs_agree_with_ct_merkle(n in 1u64..300, pick in any::<u64>(), old in any::<u64>()) {
            let leaves: Vec<Vec<u8>> = (0..n).map(|i| format!("entry {i}").into_bytes()).collect();
            let mut theirs = MemoryBackedTree::<sha2::Sha256, Vec<u8>>::new();
            let mut frontier = Frontier::default();
            let mut nodes = HashMap::new();
            for l in &leaves {
                theirs.push(l.clone());
                for (level, idx, h) in frontier.push(leaf_hash(l)) {
                    nodes.insert((level, idx), h);
                }
            }
            let mem = Mem(nodes);
            let their_root = theirs.root();
            let their_bytes = their_root.as_bytes().to_vec();
            prop_assert_eq!(root(&mem, n).unwrap().to_vec(), their_bytes.clone());
            prop_assert_eq!(frontier.root().to_vec(), their_bytes);
            let idx = pick % n;
            let ours = inclusion_proof(&mem, idx, n).unwrap();
            let theirs_proof = theirs.prove_inclusion(idx as usize);
            prop_assert_eq!(ours.concat(), theirs_proof.as_bytes().to_vec());
            prop_assert!(their_root.verify_inclusion(&leaves[idx as usize], idx, &theirs_proof).is_ok());
            prop_assert!(verify_inclusion(&leaf_hash(&leaves[idx as usize]), idx, n, &ours, &root(&mem, n).unwrap()));
            let m = 1 + old % n;
            let ours = consistency_proof(&mem, m, n).unwrap();
            let theirs_c = theirs.prove_consistency((n - m) as usize);
            prop_assert_eq!(ours.concat(), theirs_c.as_bytes().to_vec());
            prop_assert!(verify_consistency(m, n, &root(&mem, m).unwrap(), &root(&mem, n).unwrap(), &ours));
        }
    }
}
