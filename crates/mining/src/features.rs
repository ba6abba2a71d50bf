//! Text to a sparse feature vector: hashed word unigrams and bigrams and character n-grams
//! of each word (with its boundaries), sublinear term frequency, IDF learned at training,
//! L2-normalized. Nothing to download and no vocabulary to ship: a hash names a feature.

use std::collections::HashMap;

/// How many hash buckets features fall into (2^22: collisions are rare at the sizes a
/// dataset reaches, and only buckets seen in training take room in a model).
pub const BUCKETS: u32 = 1 << 22;

/// Longest text featurized, in bytes (the rest is ignored: a classifier's view of a message
/// is its beginning, and the work per message stays bounded).
pub const MAX_FEATURE_BYTES: usize = 16 * 1024;

/// Shortest and longest character n-gram.
const CHAR_MIN: usize = 2;
const CHAR_MAX: usize = 5;

/// FNV-1a, 64-bit, over a namespace byte and the gram's bytes.
fn hash(ns: u8, parts: &[&[u8]]) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    eat(ns);
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            eat(0x1f);
        }
        for &b in *p {
            eat(b);
        }
    }
    // Fold the high bits in: FNV's low bits alone mix poorly.
    ((h ^ (h >> 29) ^ (h >> 47)) as u32) & (BUCKETS - 1)
}

/// The lower-cased words of a text (runs of letters and digits; an apostrophe inside a word
/// stays in it).
pub fn words(text: &str) -> Vec<String> {
    let text = cut(text, MAX_FEATURE_BYTES);
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() {
            cur.extend(c.to_lowercase());
        } else if (c == '\'' || c == '\u{2019}') && !cur.is_empty() && chars.peek().is_some_and(|n| n.is_alphanumeric())
        {
            cur.push('\'');
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `s` cut to at most `max` bytes at a character boundary.
pub fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The hashed grams of a text with their counts.
pub fn grams(text: &str) -> HashMap<u32, f32> {
    let ws = words(text);
    let mut out: HashMap<u32, f32> = HashMap::with_capacity(ws.len() * 16);
    let mut add = |k: u32| *out.entry(k).or_insert(0.0) += 1.0;
    for (i, w) in ws.iter().enumerate() {
        add(hash(b'w', &[w.as_bytes()]));
        if let Some(next) = ws.get(i + 1) {
            add(hash(b'b', &[w.as_bytes(), next.as_bytes()]));
            if let Some(third) = ws.get(i + 2) {
                add(hash(b't', &[w.as_bytes(), next.as_bytes(), third.as_bytes()]));
            }
        }
        // Character n-grams of " word ", by characters, not bytes.
        let padded: Vec<char> = std::iter::once(' ')
            .chain(w.chars())
            .chain(std::iter::once(' '))
            .collect();
        let mut buf = [0u8; 4 * CHAR_MAX];
        for n in CHAR_MIN..=CHAR_MAX {
            if padded.len() < n {
                break;
            }
            for win in padded.windows(n) {
                let mut len = 0;
                for c in win {
                    len += c.encode_utf8(&mut buf[len..]).len();
                }
                add(hash(b'c', &[&buf[..len]]));
            }
        }
    }
    out
}

/// A sparse vector: feature indices (ascending) and their values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sparse {
    /// Indices into a model's feature space.
    pub idx: Vec<u32>,
    /// Their values.
    pub val: Vec<f32>,
}

impl Sparse {
    /// Squared L2 norm.
    pub fn norm2(&self) -> f32 {
        self.val.iter().map(|v| v * v).sum()
    }

    /// Scales to unit length (an empty vector stays empty).
    pub fn normalize(&mut self) {
        let n = self.norm2().sqrt();
        if n > 0.0 {
            for v in &mut self.val {
                *v /= n;
            }
        }
    }
}

/// The feature space a model was trained in: which buckets it knows (in training order of
/// first sight) and each one's inverse document frequency.
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    /// Bucket → index.
    pub index: HashMap<u32, u32>,
    /// Index → bucket.
    pub buckets: Vec<u32>,
    /// Index → IDF.
    pub idf: Vec<f32>,
}

impl Vocabulary {
    /// Learns the buckets and their IDF from the training texts' grams.
    pub fn learn(docs: &[HashMap<u32, f32>]) -> Vocabulary {
        let mut df: HashMap<u32, u32> = HashMap::new();
        for d in docs {
            for k in d.keys() {
                *df.entry(*k).or_insert(0) += 1;
            }
        }
        let mut buckets: Vec<u32> = df.keys().copied().collect();
        buckets.sort_unstable();
        let n = docs.len() as f32;
        let idf = buckets
            .iter()
            .map(|b| ((1.0 + n) / (1.0 + df[b] as f32)).ln() + 1.0)
            .collect();
        let index = buckets.iter().enumerate().map(|(i, b)| (*b, i as u32)).collect();
        Vocabulary { index, buckets, idf }
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Whether it knows no feature.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// A text's grams in this space: sublinear TF × IDF, unknown buckets dropped, unit length.
    pub fn vector(&self, grams: &HashMap<u32, f32>) -> Sparse {
        let mut pairs: Vec<(u32, f32)> = grams
            .iter()
            .filter_map(|(b, tf)| self.index.get(b).map(|&i| (i, (1.0 + tf.ln()) * self.idf[i as usize])))
            .collect();
        pairs.sort_unstable_by_key(|p| p.0);
        let mut s = Sparse {
            idx: pairs.iter().map(|p| p.0).collect(),
            val: pairs.iter().map(|p| p.1).collect(),
        };
        s.normalize();
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_lowercase_and_keep_inner_apostrophes() {
        assert_eq!(words("I don't SEE it—why?"), vec!["i", "don't", "see", "it", "why"]);
        assert_eq!(words("  "), Vec::<String>::new());
        assert_eq!(words("Überweisung 42€"), vec!["überweisung", "42"]);
    }

    #[test]
    fn grams_count_repeats_and_differ_by_kind() {
        let g = grams("card card");
        // "card" twice as a word; bigram "card card" once.
        assert_eq!(g[&hash(b'w', &[b"card"])], 2.0);
        assert_eq!(g[&hash(b'b', &[b"card", b"card"])], 1.0);
        assert_ne!(hash(b'w', &[b"ab"]), hash(b'c', &[b"ab"]));
    }

    #[test]
    fn vectors_are_unit_length_and_drop_unknown_buckets() {
        let docs = vec![grams("refund my card"), grams("card blocked")];
        let v = Vocabulary::learn(&docs);
        let x = v.vector(&grams("refund please"));
        assert!((x.norm2() - 1.0).abs() < 1e-4);
        assert!(x.idx.windows(2).all(|w| w[0] < w[1]));
        assert!(v.vector(&grams("zzzz qqqq")).idx.is_empty() || v.vector(&grams("zzzz qqqq")).norm2() > 0.99);
    }

    #[test]
    fn cut_respects_char_boundaries() {
        assert_eq!(cut("héllo", 2), "h");
        assert_eq!(cut("abc", 10), "abc");
    }
}
