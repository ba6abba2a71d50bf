//! The lexicons' table of words and their flags. It is looked up for most words of every
//! scan, and a server scans between other work, its caches cold. Nine words in ten are at most
//! eleven bytes: such a word and its flags fill one slot of sixteen bytes in an open-addressed
//! table of its own, so a lookup reads one slot (four to a cache line, the table about half
//! the size a general hash map of these words takes) and compares two numbers. Longer words
//! are in a general map.

use std::collections::HashMap;

use foldhash::fast::FixedState;

use crate::wordset::ascii_lower;

/// The longest word a [`Key`] holds, in bytes.
const INLINE: usize = 23;

/// The longest word kept in a slot of the table, in bytes.
const SLOT_WORD: usize = 11;

/// A word of at most [`INLINE`] bytes, zero padded, its length in the last byte.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key([u8; INLINE + 1]);

impl Key {
    /// `word` in ASCII lowercase, if it is ASCII and at most [`INLINE`] bytes: the busiest
    /// lookup's key, lowercased eight bytes at a time.
    pub(crate) fn ascii_lowercase(word: &[u8]) -> Option<Key> {
        let mut k = Key::new(word)?;
        // Eight bytes at a time: any byte outside ASCII, then the capitals lowercased (the
        // padding, 0, and the length byte, at most 23, are neither).
        let mut high = 0;
        for chunk in k.0.chunks_exact_mut(8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            let x = u64::from_le_bytes(w);
            high |= x;
            chunk.copy_from_slice(&ascii_lower(x).to_le_bytes());
        }
        if high & 0x8080_8080_8080_8080 != 0 {
            return None;
        }
        Some(k)
    }

    /// The word's bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0[..self.0[INLINE] as usize]
    }

    fn new(word: &[u8]) -> Option<Key> {
        if word.len() > INLINE {
            return None;
        }
        let mut k = [0u8; INLINE + 1];
        k[..word.len()].copy_from_slice(word);
        k[INLINE] = word.len() as u8;
        Some(Key(k))
    }
}

/// A word of one to [`SLOT_WORD`] bytes as two numbers: its first eight bytes, and the next
/// three with its length in the top byte (never zero, so a slot whose second number is zero is
/// empty).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Packed {
    lo: u64,
    hi: u32,
}

impl Packed {
    /// `word`'s packed form, if it has one to [`SLOT_WORD`] bytes.
    fn of(word: &[u8]) -> Option<Packed> {
        if !(1..=SLOT_WORD).contains(&word.len()) {
            return None;
        }
        let mut b = [0u8; 12];
        b[..word.len()].copy_from_slice(word);
        Some(Packed::from_padded(&b, word.len()))
    }

    /// The packed form of the word in the first `len` (one to [`SLOT_WORD`]) of `b`'s bytes,
    /// the rest of its twelve zero.
    fn from_padded(b: &[u8; 12], len: usize) -> Packed {
        let [l0, l1, l2, l3, l4, l5, l6, l7, h0, h1, h2, _] = *b;
        Packed {
            lo: u64::from_le_bytes([l0, l1, l2, l3, l4, l5, l6, l7]),
            hi: u32::from_le_bytes([h0, h1, h2, len as u8]),
        }
    }
}

/// A slot of the table: a packed word and its flags; all zero when empty.
#[derive(Clone, Copy, Default)]
struct Slot {
    lo: u64,
    hi: u32,
    flags: u32,
}

/// An odd constant whose product spreads a packed word's bits into its top bits.
const MIX: u64 = 0x9E37_79B9_7F4A_7C15;
/// Another, to fold the second number into the first.
const FOLD: u64 = 0xC2B2_AE3D_27D4_EB4F;

/// Words (as bytes) and their flags.
pub(crate) struct WordMap {
    /// Words of one to [`SLOT_WORD`] bytes, open addressed (linear probing) in a power-of-two
    /// table at most [`MAX_LOAD`] full.
    slots: Box<[Slot]>,
    /// How far a packed word's hash is shifted to give its slot.
    shift: u32,
    /// How many slots hold a word.
    held: usize,
    /// Longer words (and the empty one): few.
    long: HashMap<Box<[u8]>, u32, FixedState>,
}

/// The most slots held, in eighths of the table: linear probing stays short (a miss reads
/// about four slots at this load, two at the lexicons' 46 %) and their words fit in 4 MiB.
const MAX_LOAD: usize = 5;

impl Default for WordMap {
    fn default() -> Self {
        WordMap {
            slots: vec![Slot::default(); 16].into_boxed_slice(),
            shift: 64 - 4,
            held: 0,
            long: HashMap::default(),
        }
    }
}

impl WordMap {
    /// Where the search for `p` starts.
    #[inline]
    fn slot_of(&self, p: Packed) -> usize {
        let x = p.lo ^ u64::from(p.hi).wrapping_mul(FOLD);
        (x.wrapping_mul(MIX) >> self.shift) as usize
    }

    /// The flags of the packed word `p`, if it is in the table.
    #[inline]
    fn find(&self, p: Packed) -> Option<u32> {
        let mask = self.slots.len() - 1;
        let mut at = self.slot_of(p);
        loop {
            let s = self.slots[at & mask];
            if s.lo == p.lo && s.hi == p.hi {
                return Some(s.flags);
            }
            if s.hi == 0 {
                return None;
            }
            at = (at + 1) & mask;
        }
    }

    /// The flags of `word`, if it is in the table.
    pub(crate) fn get(&self, word: &[u8]) -> Option<u32> {
        match Packed::of(word) {
            Some(p) => self.find(p),
            None => self.long.get(word).copied(),
        }
    }

    /// The flags of the word `key` holds, if it is in the table.
    #[inline]
    pub(crate) fn get_key(&self, key: &Key) -> Option<u32> {
        let len = usize::from(key.0[INLINE]);
        if (1..=SLOT_WORD).contains(&len) {
            // The key's bytes after the word are zero, as a packed word's padding is.
            let mut b = [0u8; 12];
            b.copy_from_slice(&key.0[..12]);
            self.find(Packed::from_padded(&b, len))
        } else {
            self.long.get(key.bytes()).copied()
        }
    }

    /// The flags of `word`, inserted as none if it was not in the table.
    pub(crate) fn flags_mut(&mut self, word: &[u8]) -> &mut u32 {
        let Some(p) = Packed::of(word) else {
            return self.long.entry(word.into()).or_default();
        };
        if (self.held + 1) * 8 > self.slots.len() * MAX_LOAD {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut at = self.slot_of(p) & mask;
        while self.slots[at].hi != 0 && (self.slots[at].lo, self.slots[at].hi) != (p.lo, p.hi) {
            at = (at + 1) & mask;
        }
        if self.slots[at].hi == 0 {
            self.slots[at] = Slot {
                lo: p.lo,
                hi: p.hi,
                flags: 0,
            };
            self.held += 1;
        }
        &mut self.slots[at].flags
    }

    /// Doubles the table, its words placed again.
    fn grow(&mut self) {
        let doubled = vec![Slot::default(); self.slots.len() * 2].into_boxed_slice();
        let old = std::mem::replace(&mut self.slots, doubled);
        self.shift -= 1;
        let mask = self.slots.len() - 1;
        for s in old.iter().filter(|s| s.hi != 0) {
            let mut at = self.slot_of(Packed { lo: s.lo, hi: s.hi }) & mask;
            while self.slots[at].hi != 0 {
                at = (at + 1) & mask;
            }
            self.slots[at] = *s;
        }
    }

    /// How many words the table holds, and the most slots one lookup of a word it holds reads.
    #[cfg(test)]
    pub(crate) fn probes(&self) -> (usize, usize) {
        let mask = self.slots.len() - 1;
        let longest = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.hi != 0)
            .map(|(i, s)| ((i + self.slots.len() - (self.slot_of(Packed { lo: s.lo, hi: s.hi }) & mask)) & mask) + 1)
            .max()
            .unwrap_or(0);
        (self.held + self.long.len(), longest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The table answers as a plain map of its words would, short words and long.
        #[test]
        fn agrees_with_a_plain_map(
            entries in proptest::collection::vec((proptest::collection::vec(proptest::num::u8::ANY, 0..30), 0u32..8), 0..40),
            probes in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..30), 0..20),
        ) {
            let mut table = WordMap::default();
            let mut plain: std::collections::HashMap<Vec<u8>, u32> = Default::default();
            for (w, f) in &entries {
                *table.flags_mut(w) |= 1 << f;
                *plain.entry(w.clone()).or_default() |= 1 << f;
            }
            for w in entries.iter().map(|(w, _)| w).chain(&probes) {
                proptest::prop_assert_eq!(table.get(w), plain.get(w).copied());
            }
        }
    }

    proptest::proptest! {
        /// A lowercased key finds what its word lowercased finds, in the slots and in the
        /// general map (lowercase words of every length up to 26 bytes, looked up in any case).
        #[test]
        fn a_key_finds_what_its_lowercase_word_finds(
            entries in proptest::collection::vec(("[a-z0-9\\-]{0,26}", 0u32..8), 0..60),
            probes in proptest::collection::vec("[a-zA-Z0-9\\-]{0,26}", 0..20),
            upper in proptest::collection::vec(proptest::bool::ANY, 60),
        ) {
            let mut table = WordMap::default();
            for (w, f) in &entries {
                *table.flags_mut(w.as_bytes()) |= 1 << f;
            }
            let cased = entries.iter().zip(&upper).map(|((w, _), &u)| if u { w.to_ascii_uppercase() } else { w.clone() });
            for w in cased.chain(probes.iter().cloned()) {
                let by_key = Key::ascii_lowercase(w.as_bytes()).map(|k| table.get_key(&k));
                let expected = (w.len() <= INLINE).then(|| table.get(w.to_ascii_lowercase().as_bytes()));
                proptest::prop_assert_eq!(by_key, expected, "{:?}", w);
            }
        }
    }

    proptest::proptest! {
        /// A key made lowercase in place is the key of the word lowercased first, for ASCII
        /// words of at most [`INLINE`] bytes, and none for others.
        #[test]
        fn a_lowercased_key_is_the_lowercase_words(
            word in proptest::prop_oneof![
                // ASCII of every length (capitals and the bytes beside them likelier), or any bytes.
                proptest::collection::vec(
                    proptest::prop_oneof![0u8..0x80, proptest::sample::select(vec![b'@', b'A', b'Z', b'[', b'`', b'a', b'z', b'{'])],
                    0..30,
                ),
                proptest::collection::vec(proptest::num::u8::ANY, 0..30),
            ],
        ) {
            let expected = (word.is_ascii() && word.len() <= INLINE)
                .then(|| word.to_ascii_lowercase())
                .and_then(|w| Key::new(&w));
            proptest::prop_assert!(Key::ascii_lowercase(&word) == expected, "{:?}", word);
        }
    }

    #[test]
    fn a_lowercased_key_finds_the_lowercase_word() {
        let mut t = WordMap::default();
        *t.flags_mut(b"maria") = 1;
        let k = Key::ascii_lowercase(b"MaRiA").map(|k| (k.bytes().to_vec(), t.get_key(&k)));
        assert_eq!(k, Some((b"maria".to_vec(), Some(1))));
        assert!(Key::ascii_lowercase("José".as_bytes()).is_none());
        // A byte outside ASCII in the second or third eight is seen too.
        assert!(Key::ascii_lowercase("abcdefghé".as_bytes()).is_none());
        assert!(Key::ascii_lowercase("abcdefghijklmnopqrsté".as_bytes()).is_none());
        assert!(Key::ascii_lowercase(&[b'a'; 24]).is_none());
        assert_eq!(
            Key::ascii_lowercase(&[b'A'; 23]).map(|k| k.bytes().to_vec()),
            Some(vec![b'a'; 23])
        );
    }

    #[test]
    fn tells_apart_words_that_differ_in_length_or_padding() {
        let mut t = WordMap::default();
        *t.flags_mut(b"ab") = 1;
        *t.flags_mut(b"ab\0") = 2;
        *t.flags_mut(&[b'x'; 24]) = 3;
        *t.flags_mut(&[b'x'; 23]) = 4;
        assert_eq!(t.get(b"ab"), Some(1));
        assert_eq!(t.get(b"ab\0"), Some(2));
        assert_eq!(t.get(&[b'x'; 24]), Some(3));
        assert_eq!(t.get(&[b'x'; 23]), Some(4));
        assert_eq!(t.get(b"a"), None);
        assert_eq!(t.get(b""), None);
    }
}
