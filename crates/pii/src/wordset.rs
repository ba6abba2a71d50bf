//! Small sets of short words (cue phrases' last words, month names, unit, label and road
//! words, ...), looked up for many tokens of which few are members: a look at the word's length
//! and its first and last letters turns most away before any hashing, and a word of up to seven
//! bytes is then looked up as one 64-bit number, lowercased in place, in a table of its own.

use std::collections::HashSet;

use foldhash::fast::FixedState;

/// The longest word the first look covers, in bytes; longer members are found by hash alone.
const MAX_LEN: usize = 31;

/// The bit for a word's first byte: its letter, any ASCII case, or one bit for every other
/// byte.
pub(crate) const fn first_bit(b: u8) -> u32 {
    let l = b.to_ascii_lowercase();
    if l.is_ascii_lowercase() {
        1 << (l - b'a')
    } else {
        1 << 26
    }
}

/// A set of lowercase words (kept as bytes: lookups of lowercased bytes need no UTF-8 check).
pub(crate) struct WordSet {
    set: HashSet<&'static [u8], FixedState>,
    /// For each length up to [`MAX_LEN`], the first bytes some member of that length starts
    /// with ([`first_bit`]).
    firsts: [u32; MAX_LEN + 1],
    /// For each length, the last bytes some member of that length ends with (`my` shares its
    /// length and first letter with `mr`, not its last).
    lasts: [u32; MAX_LEN + 1],
    /// Whether a member is longer than [`MAX_LEN`].
    long: bool,
    /// The members of one to [`PACKED`] bytes, [`pack`]ed, open addressed (linear probing) in
    /// a power-of-two table at most half full; 0 is an empty slot (no packed word is 0).
    packed: Box<[u64]>,
    /// How far a packed word's product with [`MIX`] is shifted to give its slot.
    shift: u32,
}

/// The longest member kept in [`WordSet::packed`], in bytes: its length takes the eighth.
const PACKED: usize = 7;

/// An odd constant whose product spreads a packed word's bytes into its top bits.
const MIX: u64 = 0x9E37_79B9_7F4A_7C15;

/// `b` (one to [`PACKED`] bytes) as one number: its bytes in order from the lowest, its length
/// in the top byte. Read as two overlapping halves, so no copy of variable length is made.
fn pack(b: &[u8]) -> u64 {
    let n = b.len();
    let bytes = if n >= 4 {
        let lo = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let hi = u32::from_le_bytes([b[n - 4], b[n - 3], b[n - 2], b[n - 1]]);
        u64::from(lo) | (u64::from(hi) << ((n - 4) * 8))
    } else if n >= 2 {
        let lo = u16::from_le_bytes([b[0], b[1]]);
        let hi = u16::from_le_bytes([b[n - 2], b[n - 1]]);
        u64::from(lo) | (u64::from(hi) << ((n - 2) * 8))
    } else {
        u64::from(b[0])
    };
    bytes | ((n as u64) << 56)
}

/// The bytes of `x` that are ASCII capitals, lowercased (the others as they are): the
/// eight at once.
pub(crate) fn ascii_lower(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let low7 = x & (0x7F * ONES);
    // The high bit of each byte: set where its low seven bits are at least `A`, and where they
    // are more than `Z`. (No carry crosses a byte: each sum stays below 0x100.)
    let from_a = low7 + (0x80 - u64::from(b'A')) * ONES;
    let past_z = low7 + (0x7F - u64::from(b'Z')) * ONES;
    let capital = from_a & !past_z & !x & (0x80 * ONES);
    x | (capital >> 2)
}

impl WordSet {
    /// The set of `words` (each lowercase).
    pub(crate) fn new(words: impl IntoIterator<Item = &'static str>) -> Self {
        let mut s = WordSet {
            set: HashSet::default(),
            firsts: [0; MAX_LEN + 1],
            lasts: [0; MAX_LEN + 1],
            long: false,
            packed: Box::new([]),
            shift: 64,
        };
        let mut short = Vec::new();
        for w in words {
            let b = w.as_bytes();
            match (b.first(), b.last(), s.firsts.get_mut(w.len())) {
                (Some(&c), Some(&l), Some(f)) => {
                    *f |= first_bit(c);
                    s.lasts[w.len()] |= first_bit(l);
                }
                (Some(_), _, None) => s.long = true,
                _ => {}
            }
            if (1..=PACKED).contains(&b.len()) {
                short.push(pack(b));
            }
            s.set.insert(w.as_bytes());
        }
        short.sort_unstable();
        short.dedup();
        let size = (short.len() * 2).next_power_of_two().max(2);
        s.shift = 64 - size.trailing_zeros();
        s.packed = vec![0; size].into_boxed_slice();
        for key in short {
            let mut at = s.slot(key);
            while s.packed[at] != 0 {
                at = (at + 1) & (size - 1);
            }
            s.packed[at] = key;
        }
        s
    }

    /// Where a packed word's search starts.
    #[inline]
    fn slot(&self, key: u64) -> usize {
        (key.wrapping_mul(MIX) >> self.shift) as usize
    }

    /// Whether the packed word `key` is a member.
    #[inline]
    fn holds_packed(&self, key: u64) -> bool {
        let mask = self.packed.len() - 1;
        let mut at = self.slot(key);
        loop {
            match self.packed[at] {
                0 => return false,
                k if k == key => return true,
                _ => at = (at + 1) & mask,
            }
        }
    }

    /// Whether `word`, already lowercase, is a member.
    #[inline]
    pub(crate) fn contains(&self, word: &str) -> bool {
        self.contains_bytes(word.as_bytes())
    }

    /// Whether the word of these bytes, already lowercase, is a member.
    #[inline]
    pub(crate) fn contains_bytes(&self, word: &[u8]) -> bool {
        self.may_hold(word)
            && if (1..=PACKED).contains(&word.len()) {
                self.holds_packed(pack(word))
            } else {
                self.set.contains(word)
            }
    }

    /// Whether `word` in ASCII lowercase is a member (other letters as written).
    #[inline]
    pub(crate) fn contains_ascii_ci(&self, word: &str) -> bool {
        self.may_hold(word.as_bytes()) && self.holds_ascii_ci(word)
    }

    /// Whether `word` lowercased is a member: ASCII in place, other letters by Unicode's
    /// lowercase (which may change a word's length).
    #[inline]
    pub(crate) fn contains_lowercased(&self, word: &str) -> bool {
        if word.is_ascii() {
            self.contains_ascii_ci(word)
        } else {
            self.contains(&word.to_lowercase())
        }
    }

    /// [`Self::contains_ascii_ci`] past the first look.
    fn holds_ascii_ci(&self, word: &str) -> bool {
        let b = word.as_bytes();
        if (1..=PACKED).contains(&b.len()) {
            return self.holds_packed(ascii_lower(pack(b)));
        }
        let mut buf = [0u8; MAX_LEN];
        match buf.get_mut(..b.len()) {
            Some(lower) => {
                lower.copy_from_slice(b);
                lower.make_ascii_lowercase();
                self.set.contains(&*lower)
            }
            None => self.set.contains(word.to_ascii_lowercase().as_bytes()),
        }
    }

    /// Whether a word of these bytes may be a member, by its length and first and last bytes.
    #[inline]
    fn may_hold(&self, b: &[u8]) -> bool {
        match (b.first(), b.last(), self.firsts.get(b.len())) {
            (Some(&c), Some(&l), Some(f)) => f & first_bit(c) != 0 && self.lasts[b.len()] & first_bit(l) != 0,
            (Some(_), _, None) => self.long,
            _ => self.set.contains(&b""[..]),
        }
    }

    /// How many distinct members.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.set.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_members_in_any_ascii_case_and_nothing_else() {
        let long: &'static str = "a-word-longer-than-thirty-one-bytes";
        let s = WordSet::new(["im", "am", "chiamo", "é", long]);
        for w in ["im", "IM", "Am", "chiamo", "CHIAMO", "é", long] {
            assert!(s.contains_ascii_ci(w), "{w}");
        }
        assert!(s.contains("chiamo") && s.contains(long) && !s.contains("Chiamo"));
        for w in [
            "",
            "i",
            "ima",
            "bm",
            "chiama",
            "É",
            "e",
            "a-word-longer-than-thirty-one-bytez",
        ] {
            assert!(!s.contains_ascii_ci(w), "{w}");
        }
    }

    /// Every byte value, in every lane: the capitals lowercased, the rest as they were.
    #[test]
    fn lowercases_every_byte_in_every_lane() {
        for lane in 0..8 {
            for byte in 0..=255u8 {
                let others = 0x4142_5A5B_4060_7B7A_u64 & !(0xFF << (8 * lane));
                let x = (u64::from(byte) << (8 * lane)) | others;
                let want = u64::from_le_bytes(x.to_le_bytes().map(|b| b.to_ascii_lowercase()));
                assert_eq!(ascii_lower(x), want, "{byte:#x} in lane {lane}");
            }
        }
    }

    proptest::proptest! {
        /// The first look never turns a member away.
        #[test]
        fn agrees_with_the_plain_set(words in proptest::collection::vec("[a-zé']{0,4}", 0..12), probe in "[a-zA-Zé']{0,4}") {
            let leaked: Vec<&'static str> = words.into_iter().map(|w| &*Box::leak(w.into_boxed_str())).collect();
            let s = WordSet::new(leaked.iter().copied());
            let plain: HashSet<&str> = leaked.iter().copied().collect();
            proptest::prop_assert_eq!(s.contains_ascii_ci(&probe), plain.contains(probe.to_ascii_lowercase().as_str()));
        }

        /// Words around the packed table's longest (seven bytes), with capitals, letters outside
        /// ASCII and NUL bytes (`ab` and `ab\0` differ): found as the plain set finds them,
        /// exactly and in any ASCII case.
        #[test]
        fn packed_words_agree_with_the_plain_set(
            words in proptest::collection::vec("[abAZ@\\[`{é\u{0}]{0,9}", 0..24),
            probes in proptest::collection::vec("[abAZ@\\[`{é\u{0}]{0,9}", 0..24),
        ) {
            let leaked: Vec<&'static str> = words.into_iter().map(|w| &*Box::leak(w.into_boxed_str())).collect();
            let lower: Vec<&'static str> = leaked
                .iter()
                .map(|w| &*Box::leak(w.to_ascii_lowercase().into_boxed_str()))
                .collect();
            let exact = WordSet::new(leaked.iter().copied());
            let folded = WordSet::new(lower.iter().copied());
            for p in probes.iter().map(String::as_str).chain(leaked.iter().copied()) {
                proptest::prop_assert_eq!(exact.contains(p), leaked.contains(&p), "{:?}", p);
                proptest::prop_assert_eq!(
                    folded.contains_ascii_ci(p),
                    lower.contains(&p.to_ascii_lowercase().as_str()),
                    "{:?}",
                    p
                );
            }
        }

        /// Bytes outside `A`..`Z` stay as they are; capitals become small letters.
        #[test]
        fn lowercases_eight_bytes_as_one_at_a_time(x in proptest::num::u64::ANY) {
            let want = u64::from_le_bytes(x.to_le_bytes().map(|b| b.to_ascii_lowercase()));
            proptest::prop_assert_eq!(ascii_lower(x), want);
        }
    }
}
