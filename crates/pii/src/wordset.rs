//! Small sets of short words (cue phrases' last words, unit words), looked up for many tokens
//! of which few are members: a look at the word's length and its first and last letters turns
//! most away before any hashing.

use std::collections::HashSet;

use foldhash::fast::FixedState;

/// The longest word the first look covers, in bytes; longer members are found by hash alone.
const MAX_LEN: usize = 31;

/// The bit for a word's first byte: its letter, any ASCII case, or one bit for every other
/// byte.
fn first_bit(b: u8) -> u32 {
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
}

impl WordSet {
    /// The set of `words` (each lowercase).
    pub(crate) fn new(words: impl IntoIterator<Item = &'static str>) -> Self {
        let mut s = WordSet {
            set: HashSet::default(),
            firsts: [0; MAX_LEN + 1],
            lasts: [0; MAX_LEN + 1],
            long: false,
        };
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
            s.set.insert(w.as_bytes());
        }
        s
    }

    /// Whether `word`, already lowercase, is a member.
    #[inline]
    pub(crate) fn contains(&self, word: &str) -> bool {
        self.contains_bytes(word.as_bytes())
    }

    /// Whether the word of these bytes, already lowercase, is a member.
    #[inline]
    pub(crate) fn contains_bytes(&self, word: &[u8]) -> bool {
        self.may_hold(word) && self.set.contains(word)
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

    proptest::proptest! {
        /// The first look never turns a member away.
        #[test]
        fn agrees_with_the_plain_set(words in proptest::collection::vec("[a-zé']{0,4}", 0..12), probe in "[a-zA-Zé']{0,4}") {
            let leaked: Vec<&'static str> = words.into_iter().map(|w| &*Box::leak(w.into_boxed_str())).collect();
            let s = WordSet::new(leaked.iter().copied());
            let plain: HashSet<&str> = leaked.iter().copied().collect();
            proptest::prop_assert_eq!(s.contains_ascii_ci(&probe), plain.contains(probe.to_ascii_lowercase().as_str()));
        }
    }
}
