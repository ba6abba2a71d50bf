//! The lexicons' table of words and their flags. It is looked up for most words of every
//! scan, and a server scans between other work, its caches cold: words of up to 23 bytes are
//! kept in the table itself, so a lookup reads the table's slot and no key elsewhere, and
//! compares a fixed 24 bytes.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use foldhash::fast::FixedState;

use crate::wordset::ascii_lower;

/// The longest word kept in place, in bytes.
const INLINE: usize = 23;

/// A word of at most [`INLINE`] bytes, zero padded, its length in the last byte.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key([u8; INLINE + 1]);

impl Key {
    /// `word` in ASCII lowercase, if it is ASCII and short enough to be kept in place: the
    /// busiest lookup's key, lowercased eight bytes at a time.
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

impl Hash for Key {
    /// Three words of eight bytes: the hasher folds each in one step.
    fn hash<H: Hasher>(&self, state: &mut H) {
        for chunk in self.0.chunks_exact(8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            state.write_u64(u64::from_le_bytes(w));
        }
    }
}

/// Words (as bytes) and their flags.
#[derive(Default)]
pub(crate) struct WordMap {
    short: HashMap<Key, u32, FixedState>,
    /// Words longer than [`INLINE`] bytes, few.
    long: HashMap<Box<[u8]>, u32, FixedState>,
}

impl WordMap {
    /// The flags of `word`, if it is in the table.
    pub(crate) fn get(&self, word: &[u8]) -> Option<u32> {
        match Key::new(word) {
            Some(k) => self.short.get(&k).copied(),
            None => self.long.get(word).copied(),
        }
    }

    /// The flags of the word `key` holds, if it is in the table.
    pub(crate) fn get_key(&self, key: &Key) -> Option<u32> {
        self.short.get(key).copied()
    }

    /// The flags of `word`, inserted as none if it was not in the table.
    pub(crate) fn flags_mut(&mut self, word: &[u8]) -> &mut u32 {
        match Key::new(word) {
            Some(k) => self.short.entry(k).or_default(),
            None => self.long.entry(word.into()).or_default(),
        }
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
        /// A key made lowercase in place is the key of the word lowercased first, for ASCII
        /// words short enough to be kept in place, and none for others.
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
