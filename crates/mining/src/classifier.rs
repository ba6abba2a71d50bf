//! The default classifier: one linear model per label (one-vs-rest, so a message can carry
//! several labels) over the hashed features of `features`, trained by dual coordinate
//! descent on the squared hinge loss (the method of LIBLINEAR, which scikit-learn's
//! `LinearSVC` runs), its scores turned into probabilities by one Platt sigmoid fitted on
//! held-out scores. Labels are trained on two threads. A child label implies its parent,
//! so a parent's probability is never below its children's.
//!
//! A model is stored as bytes (`to_bytes`/`from_bytes`): a small JSON header, then the
//! feature buckets, IDF and weights as half-precision floats, deflated.

use std::collections::HashMap;
use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use crate::MiningError;
use crate::embed::{Embedder, embed_all};
use crate::features::{Sparse, Vocabulary, grams};

/// How hard training tries.
#[derive(Debug, Clone, Copy)]
pub struct TrainConfig {
    /// Inverse regularization strength.
    pub c: f32,
    /// Most passes over the examples, per label.
    pub max_passes: usize,
    /// Stop once the largest projected gradient is below this.
    pub tolerance: f32,
    /// Threads (labels are shared among them).
    pub threads: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            c: 1.0,
            max_passes: 50,
            tolerance: 0.1,
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()).min(8),
        }
    }
}

/// One training example: its text and the rows (indices into the labels trained) it has.
#[derive(Debug, Clone)]
pub struct Example<'a> {
    /// Text.
    pub text: &'a str,
    /// Label rows that apply (parents included).
    pub rows: Vec<usize>,
}

/// What a stored model's header holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Header {
    /// The caller's id of each label row.
    labels: Vec<u32>,
    /// Each row's parent row.
    parents: Vec<Option<usize>>,
    /// Features learned from text.
    features: usize,
    /// Dimensions an embedder adds after them (0: none).
    embedding_dim: usize,
    /// Which embedder, when one was used.
    embedder: Option<String>,
    /// Platt sigmoid: p = 1 / (1 + exp(a·s + b)).
    calibration: (f32, f32),
}

/// A trained model.
#[derive(Clone)]
pub struct Model {
    header: Header,
    vocab: Vocabulary,
    /// Feature-major: row `f` holds the weight of feature `f` for each label; the last row is
    /// the bias.
    weights: Vec<f32>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("labels", &self.header.labels.len())
            .field("features", &self.header.features)
            .finish()
    }
}

/// Deterministic shuffling (xorshift64*): training the same data gives the same model.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

/// A sentence-embedding model's vectors for the examples of a training, one per example in
/// order, and the model's name (stored with what is trained).
#[derive(Debug, Clone, Copy)]
pub struct Dense<'a> {
    /// The embedder's name.
    pub name: &'a str,
    /// One vector per example, all of one length.
    pub vectors: &'a [Vec<f32>],
}

/// Appends a dense vector to a sparse one, after `offset` (unit length again).
fn with_embedding(mut x: Sparse, dense: Option<&[f32]>, offset: usize) -> Sparse {
    if let Some(v) = dense {
        let norm = v.iter().map(|a| a * a).sum::<f32>().sqrt().max(1e-12);
        for (i, a) in v.iter().enumerate() {
            x.idx.push((offset + i) as u32);
            // Sparse and dense parts weigh the same.
            x.val.push(a / norm);
        }
        for a in &mut x.val {
            *a *= std::f32::consts::FRAC_1_SQRT_2;
        }
    }
    x
}

/// Trains one label's weights (plus bias, last) by dual coordinate descent.
fn train_label(xs: &[Sparse], ys: &[f32], dim: usize, cfg: &TrainConfig, seed: u64) -> Vec<f32> {
    let diag = 1.0 / (2.0 * cfg.c);
    let mut w = vec![0f32; dim + 1];
    let mut alpha = vec![0f32; xs.len()];
    let qd: Vec<f32> = xs.iter().map(|x| x.norm2() + 1.0 + diag).collect();
    let mut order: Vec<usize> = (0..xs.len()).collect();
    let mut rng = Rng(seed | 1);
    // Shrinking (as LIBLINEAR does): an example whose alpha sits at zero with a gradient
    // well past the bound leaves the active set until the end.
    let mut active = xs.len();
    let mut bound_prev = f32::INFINITY;
    for _ in 0..cfg.max_passes {
        rng.shuffle(&mut order[..active]);
        let mut pg_max = f32::NEG_INFINITY;
        let mut pg_min = f32::INFINITY;
        let mut s = 0;
        while s < active {
            let i = order[s];
            let x = &xs[i];
            let y = ys[i];
            let mut score = w[dim];
            for (j, v) in x.idx.iter().zip(&x.val) {
                score += w[*j as usize] * v;
            }
            let g = y * score - 1.0 + diag * alpha[i];
            let pg = if alpha[i] == 0.0 {
                if g > bound_prev {
                    active -= 1;
                    order.swap(s, active);
                    continue;
                }
                g.min(0.0)
            } else {
                g
            };
            pg_max = pg_max.max(pg);
            pg_min = pg_min.min(pg);
            if pg.abs() > 1e-12 {
                let old = alpha[i];
                alpha[i] = (old - g / qd[i]).max(0.0);
                let d = (alpha[i] - old) * y;
                for (j, v) in x.idx.iter().zip(&x.val) {
                    w[*j as usize] += d * v;
                }
                w[dim] += d;
            }
            s += 1;
        }
        if pg_max - pg_min <= cfg.tolerance {
            if active == xs.len() {
                break;
            }
            // Check once more over every example before stopping.
            active = xs.len();
            bound_prev = f32::INFINITY;
            continue;
        }
        bound_prev = if pg_max <= 0.0 { f32::INFINITY } else { pg_max };
    }
    w
}

/// Fits Platt's sigmoid to (score, is positive) pairs (Platt 1999, with Lin et al.'s
/// Newton method and its target smoothing).
pub fn fit_platt(pairs: &[(f32, bool)]) -> (f32, f32) {
    let pos = pairs.iter().filter(|p| p.1).count() as f64;
    let neg = pairs.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return DEFAULT_CALIBRATION;
    }
    let hi = (pos + 1.0) / (pos + 2.0);
    let lo = 1.0 / (neg + 2.0);
    let t: Vec<f64> = pairs.iter().map(|p| if p.1 { hi } else { lo }).collect();
    let s: Vec<f64> = pairs.iter().map(|p| f64::from(p.0)).collect();
    let (mut a, mut b) = (0.0f64, ((neg + 1.0) / (pos + 1.0)).ln());
    let f = |a: f64, b: f64| -> f64 {
        s.iter()
            .zip(&t)
            .map(|(si, ti)| {
                let fa = si * a + b;
                if fa >= 0.0 {
                    ti * fa + (1.0 + (-fa).exp()).ln()
                } else {
                    (ti - 1.0) * fa + (1.0 + fa.exp()).ln()
                }
            })
            .sum()
    };
    let mut fval = f(a, b);
    for _ in 0..100 {
        let (mut h11, mut h22, mut h21, mut g1, mut g2) = (1e-12, 1e-12, 0.0, 0.0, 0.0);
        for (si, ti) in s.iter().zip(&t) {
            let fa = si * a + b;
            let (p, q) = if fa >= 0.0 {
                let e = (-fa).exp();
                (e / (1.0 + e), 1.0 / (1.0 + e))
            } else {
                let e = fa.exp();
                (1.0 / (1.0 + e), e / (1.0 + e))
            };
            let d2 = p * q;
            h11 += si * si * d2;
            h22 += d2;
            h21 += si * d2;
            let d1 = ti - p;
            g1 += si * d1;
            g2 += d1;
        }
        if g1.abs() < 1e-5 && g2.abs() < 1e-5 {
            break;
        }
        let det = h11 * h22 - h21 * h21;
        let da = -(h22 * g1 - h21 * g2) / det;
        let db = -(-h21 * g1 + h11 * g2) / det;
        let gd = g1 * da + g2 * db;
        let mut step = 1.0;
        let mut moved = false;
        while step >= 1e-10 {
            let (na, nb) = (a + step * da, b + step * db);
            let nf = f(na, nb);
            if nf < fval + 1e-4 * step * gd {
                a = na;
                b = nb;
                fval = nf;
                moved = true;
                break;
            }
            step /= 2.0;
        }
        if !moved {
            break;
        }
    }
    (a as f32, b as f32)
}

/// The sigmoid used before any held-out score was seen: a margin of 1 is about 0.9.
pub const DEFAULT_CALIBRATION: (f32, f32) = (-3.0, 0.8);

fn sigmoid(a: f32, b: f32, s: f32) -> f32 {
    1.0 / (1.0 + (a * s + b).exp())
}

impl Model {
    /// Trains a model for `labels` (the caller's ids; `parents[i]` the parent row of row `i`)
    /// on `examples`, with `calibration` for its probabilities and, optionally, an embedder's
    /// vectors of the examples joining the hashed features.
    pub fn train(
        labels: &[u32],
        parents: &[Option<usize>],
        examples: &[Example<'_>],
        calibration: (f32, f32),
        dense: Option<Dense<'_>>,
        cfg: &TrainConfig,
    ) -> Result<Model, MiningError> {
        if labels.is_empty() || parents.len() != labels.len() {
            return Err(MiningError::Invalid("a model needs at least one label".into()));
        }
        if examples.is_empty() {
            return Err(MiningError::Invalid("a model needs at least one example".into()));
        }
        if let Some(bad) = examples.iter().flat_map(|e| &e.rows).find(|r| **r >= labels.len()) {
            return Err(MiningError::Invalid(format!("label row {bad} is out of range")));
        }
        let docs: Vec<HashMap<u32, f32>> = examples.iter().map(|e| grams(e.text)).collect();
        let vocab = Vocabulary::learn(&docs);
        let features = vocab.len();
        let embedding_dim = dense.and_then(|d| d.vectors.first()).map_or(0, Vec::len);
        if let Some(d) = dense
            && (embedding_dim == 0
                || d.vectors.len() != examples.len()
                || d.vectors.iter().any(|v| v.len() != embedding_dim))
        {
            return Err(MiningError::Invalid("one embedding of one length per example".into()));
        }
        let dim = features + embedding_dim;
        let xs: Vec<Sparse> = docs
            .iter()
            .enumerate()
            .map(|(i, d)| with_embedding(vocab.vector(d), dense.map(|v| v.vectors[i].as_slice()), features))
            .collect();
        let threads = cfg.threads.clamp(1, labels.len());
        let mut per_label: Vec<Vec<f32>> = vec![Vec::new(); labels.len()];
        std::thread::scope(|scope| {
            let chunks: Vec<Vec<usize>> = (0..threads)
                .map(|t| (0..labels.len()).filter(|l| l % threads == t).collect())
                .collect();
            let handles: Vec<_> = chunks
                .into_iter()
                .map(|rows| {
                    let xs = &xs;
                    scope.spawn(move || {
                        rows.into_iter()
                            .map(|row| {
                                let ys: Vec<f32> = examples
                                    .iter()
                                    .map(|e| if e.rows.contains(&row) { 1.0 } else { -1.0 })
                                    .collect();
                                (row, train_label(xs, &ys, dim, cfg, 0x9e37_79b9 + row as u64))
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for h in handles {
                // A panic inside a training thread is a bug; surface it as one.
                if let Ok(done) = h.join() {
                    for (row, w) in done {
                        per_label[row] = w;
                    }
                }
            }
        });
        if per_label.iter().any(Vec::is_empty) {
            return Err(MiningError::Invalid("training failed".into()));
        }
        let l = labels.len();
        let mut weights = vec![0f32; (dim + 1) * l];
        for (row, w) in per_label.iter().enumerate() {
            for (f, v) in w.iter().enumerate() {
                weights[f * l + row] = *v;
            }
        }
        Ok(Model {
            header: Header {
                labels: labels.to_vec(),
                parents: parents.to_vec(),
                features,
                embedding_dim,
                embedder: dense.map(|d| d.name.to_string()),
                calibration,
            },
            vocab,
            weights,
        })
    }

    /// The caller's label ids, one per row.
    pub fn labels(&self) -> &[u32] {
        &self.header.labels
    }

    /// The embedder it needs, if any.
    pub fn embedder(&self) -> Option<&str> {
        self.header.embedder.as_deref()
    }

    /// Features it knows.
    pub fn features(&self) -> usize {
        self.header.features
    }

    /// Replaces the sigmoid that turns scores into probabilities.
    pub fn set_calibration(&mut self, c: (f32, f32)) {
        self.header.calibration = c;
    }

    /// The embedder's vectors of `texts` when this model needs them (`None` when it was
    /// trained without one); an error when the embedder given is not the one it was trained
    /// with.
    pub fn dense(&self, texts: &[&str], embedder: Option<&dyn Embedder>) -> Result<Option<Vec<Vec<f32>>>, MiningError> {
        let Some(needs) = self.header.embedder.as_deref() else {
            return Ok(None);
        };
        match embedder {
            Some(e) if e.name() == needs && e.dim() == self.header.embedding_dim => Ok(Some(embed_all(e, texts)?)),
            other => Err(MiningError::EmbedderMismatch(format!(
                "this model was trained with the embedder {needs}; {}",
                other.map_or("the deployment has none".to_string(), |e| format!(
                    "the deployment has {}",
                    e.name()
                ))
            ))),
        }
    }

    /// Raw scores (margins) of many texts, one per row each.
    pub fn scores_many(&self, texts: &[&str], embedder: Option<&dyn Embedder>) -> Result<Vec<Vec<f32>>, MiningError> {
        let dense = self.dense(texts, embedder)?;
        Ok(texts
            .iter()
            .enumerate()
            .map(|(i, t)| self.scores_with(t, dense.as_ref().map(|d| d[i].as_slice())))
            .collect())
    }

    /// Raw scores (margins) of one text, one per row.
    pub fn scores(&self, text: &str, embedder: Option<&dyn Embedder>) -> Result<Vec<f32>, MiningError> {
        Ok(self.scores_many(&[text], embedder)?.swap_remove(0))
    }

    /// Raw scores (margins), one per row, given the text's embedding when the model needs
    /// one (without it the embedding part counts nothing).
    pub fn scores_with(&self, text: &str, dense: Option<&[f32]>) -> Vec<f32> {
        let l = self.header.labels.len();
        let dim = self.header.features + self.header.embedding_dim;
        let dense = dense.filter(|d| self.header.embedding_dim > 0 && d.len() == self.header.embedding_dim);
        let x = with_embedding(self.vocab.vector(&grams(text)), dense, self.header.features);
        let mut out = self.weights[dim * l..(dim + 1) * l].to_vec();
        for (f, v) in x.idx.iter().zip(&x.val) {
            let f = *f as usize;
            if f >= dim {
                continue;
            }
            for (o, w) in out.iter_mut().zip(&self.weights[f * l..(f + 1) * l]) {
                *o += w * v;
            }
        }
        out
    }

    /// Probabilities, one per row: each label's calibrated score, a parent never below its
    /// children.
    pub fn probabilities(&self, text: &str, embedder: Option<&dyn Embedder>) -> Result<Vec<f32>, MiningError> {
        let dense = self.dense(&[text], embedder)?;
        Ok(self.probabilities_with(text, dense.as_ref().map(|d| d[0].as_slice())).0)
    }

    /// Probabilities (as `probabilities`) and the raw scores, which order labels whose
    /// probabilities are equal in single precision (both near 1), given the text's embedding
    /// when the model needs one.
    pub fn probabilities_with(&self, text: &str, dense: Option<&[f32]>) -> (Vec<f32>, Vec<f32>) {
        let (a, b) = self.header.calibration;
        let scores = self.scores_with(text, dense);
        let mut p: Vec<f32> = scores.iter().map(|s| sigmoid(a, b, *s)).collect();
        for row in 0..p.len() {
            let mut cur = row;
            let mut steps = 0;
            while let Some(up) = self.header.parents.get(cur).copied().flatten() {
                if up >= p.len() || steps > p.len() {
                    break;
                }
                if p[up] < p[row] {
                    p[up] = p[row];
                }
                cur = up;
                steps += 1;
            }
        }
        (p, scores)
    }

    /// Each text's rows, most probable first (equal probabilities by score).
    pub fn ranked_many(
        &self,
        texts: &[&str],
        embedder: Option<&dyn Embedder>,
    ) -> Result<Vec<Vec<(usize, f32)>>, MiningError> {
        let dense = self.dense(texts, embedder)?;
        Ok(texts
            .iter()
            .enumerate()
            .map(|(i, t)| self.ranked_with(t, dense.as_ref().map(|d| d[i].as_slice())))
            .collect())
    }

    /// Rows, most probable first (equal probabilities by score), given the text's embedding
    /// when the model needs one.
    pub fn ranked_with(&self, text: &str, dense: Option<&[f32]>) -> Vec<(usize, f32)> {
        let (p, s) = self.probabilities_with(text, dense);
        let mut rows: Vec<usize> = (0..p.len()).collect();
        rows.sort_by(|x, y| {
            p[*y]
                .partial_cmp(&p[*x])
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(s[*y].partial_cmp(&s[*x]).unwrap_or(std::cmp::Ordering::Equal))
        });
        rows.into_iter().map(|r| (r, p[r])).collect()
    }

    /// Serialized: `DPMM`, a format version, the header's length and JSON, then the deflated
    /// buckets (u32), IDF and weights (f16), all little-endian.
    pub fn to_bytes(&self) -> Result<Vec<u8>, MiningError> {
        let header = serde_json::to_vec(&self.header).map_err(|e| MiningError::Corrupt(e.to_string()))?;
        let mut out = Vec::with_capacity(self.weights.len());
        out.extend_from_slice(b"DPMM");
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(&header);
        let mut z = flate2::write::DeflateEncoder::new(out, flate2::Compression::fast());
        let mut put = |b: &[u8]| z.write_all(b).map_err(|e| MiningError::Corrupt(e.to_string()));
        for b in &self.vocab.buckets {
            put(&b.to_le_bytes())?;
        }
        for v in self.vocab.idf.iter().chain(&self.weights) {
            put(&half::f16::from_f32(*v).to_le_bytes())?;
        }
        z.finish().map_err(|e| MiningError::Corrupt(e.to_string()))
    }

    /// Reads what `to_bytes` wrote; anything else is `Corrupt`, never a panic.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, MiningError> {
        let bad = |m: &str| MiningError::Corrupt(m.to_string());
        if bytes.len() < 12 || &bytes[..4] != b"DPMM" {
            return Err(bad("not a model"));
        }
        let version = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        if version != 1 {
            return Err(bad("unknown model format version"));
        }
        let hlen = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
        let body_at = 12usize
            .checked_add(hlen)
            .filter(|e| *e <= bytes.len())
            .ok_or_else(|| bad("truncated header"))?;
        let header: Header =
            serde_json::from_slice(&bytes[12..body_at]).map_err(|e| MiningError::Corrupt(e.to_string()))?;
        let l = header.labels.len();
        let dim = header
            .features
            .checked_add(header.embedding_dim)
            .ok_or_else(|| bad("size"))?;
        let n_weights = dim
            .checked_add(1)
            .and_then(|d| d.checked_mul(l))
            .ok_or_else(|| bad("size"))?;
        let expect = header
            .features
            .checked_mul(6)
            .and_then(|b| b.checked_add(n_weights.checked_mul(2)?))
            .ok_or_else(|| bad("size"))?;
        if l == 0 || header.parents.len() != l || expect > 1 << 31 {
            return Err(bad("implausible header"));
        }
        let mut body = Vec::with_capacity(expect);
        flate2::read::DeflateDecoder::new(&bytes[body_at..])
            .take(expect as u64 + 1)
            .read_to_end(&mut body)
            .map_err(|e| MiningError::Corrupt(e.to_string()))?;
        if body.len() != expect {
            return Err(bad("body has the wrong length"));
        }
        let f = header.features;
        let buckets: Vec<u32> = body[..4 * f]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let halves: Vec<f32> = body[4 * f..]
            .chunks_exact(2)
            .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect();
        let idf = halves[..f].to_vec();
        let weights = halves[f..].to_vec();
        let index = buckets.iter().enumerate().map(|(i, b)| (*b, i as u32)).collect();
        Ok(Model {
            header,
            vocab: Vocabulary { index, buckets, idf },
            weights,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Vec<(&'static str, Vec<usize>)> {
        vec![
            ("I want a refund for this charge", vec![0, 1]),
            ("please refund my payment", vec![0, 1]),
            ("refund the double charge please", vec![0, 1]),
            ("my invoice total is wrong", vec![0]),
            ("the invoice shows the wrong amount", vec![0]),
            ("I cannot log in to my account", vec![2]),
            ("password reset does not work", vec![2]),
            ("login fails with an error", vec![2]),
            ("what are your opening hours", vec![]),
        ]
    }

    fn model() -> Model {
        let data = toy();
        let ex: Vec<Example<'_>> = data
            .iter()
            .map(|(t, r)| Example {
                text: t,
                rows: r.clone(),
            })
            .collect();
        Model::train(
            &[10, 11, 12],
            &[None, Some(0), None],
            &ex,
            DEFAULT_CALIBRATION,
            None,
            &TrainConfig::default(),
        )
        .unwrap()
    }

    #[test]
    fn learns_the_toy_labels_and_parents_follow_children() {
        let m = model();
        let p = m.probabilities("can I get a refund", None).unwrap();
        assert!(p[1] > p[2] + 0.1, "{p:?}");
        assert!(p[0] >= p[1]);
        let p = m.probabilities("I cannot log in", None).unwrap();
        assert!(p[2] > p[0] && p[2] > p[1], "{p:?}");
    }

    #[test]
    fn round_trips_through_bytes() {
        let m = model();
        let bytes = m.to_bytes().unwrap();
        let back = Model::from_bytes(&bytes).unwrap();
        let (a, b) = (
            m.probabilities("refund please", None).unwrap(),
            back.probabilities("refund please", None).unwrap(),
        );
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 0.01);
        }
        assert_eq!(back.labels(), &[10, 11, 12]);
    }

    #[test]
    fn corrupt_bytes_are_an_error_not_a_panic() {
        let bytes = model().to_bytes().unwrap();
        for cut in [0, 3, 11, 20, bytes.len() / 2, bytes.len() - 1] {
            assert!(Model::from_bytes(&bytes[..cut]).is_err());
        }
        let mut flipped = bytes.clone();
        flipped[14] ^= 0xff;
        let _ = Model::from_bytes(&flipped);
    }

    #[test]
    fn platt_fit_orders_probabilities_by_score() {
        let pairs: Vec<(f32, bool)> = (0..200).map(|i| ((i as f32 - 100.0) / 50.0, i > 110)).collect();
        let (a, b) = fit_platt(&pairs);
        assert!(sigmoid(a, b, 1.5) > 0.9);
        assert!(sigmoid(a, b, -1.5) < 0.1);
        assert_eq!(fit_platt(&[(1.0, true)]), DEFAULT_CALIBRATION);
    }

    #[test]
    fn training_refuses_bad_input() {
        let ex = vec![Example {
            text: "x",
            rows: vec![5],
        }];
        assert!(Model::train(&[1], &[None], &ex, DEFAULT_CALIBRATION, None, &TrainConfig::default()).is_err());
        assert!(Model::train(&[], &[], &[], DEFAULT_CALIBRATION, None, &TrainConfig::default()).is_err());
    }
}

#[cfg(test)]
mod embedder_tests {
    use super::*;

    /// A tiny "sentence-embedding model" built by the test: two dimensions, one per meaning,
    /// each word's vector from a table (synonyms share a meaning the hashed words cannot see).
    struct Tiny;

    impl Embedder for Tiny {
        fn name(&self) -> &str {
            "tiny-test"
        }
        fn dim(&self) -> usize {
            2
        }
        fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, MiningError> {
            Ok(texts
                .iter()
                .map(|text| {
                    let mut v = vec![0.0; 2];
                    for w in crate::features::words(text) {
                        match w.as_str() {
                            "refund" | "reimburse" | "reimbursement" | "repay" => v[0] += 1.0,
                            "login" | "signin" | "logon" | "authenticate" => v[1] += 1.0,
                            _ => {}
                        }
                    }
                    v
                })
                .collect())
        }
    }

    #[test]
    fn an_embedder_plugs_in_and_carries_meaning_the_hashed_words_lack() {
        let data = [
            ("please refund me", 0),
            ("I want a refund now", 0),
            ("refund the order", 0),
            ("login is broken", 1),
            ("cannot login today", 1),
            ("the login fails", 1),
        ];
        let ex: Vec<Example<'_>> = data
            .iter()
            .map(|(t, r)| Example {
                text: t,
                rows: vec![*r],
            })
            .collect();
        let cfg = TrainConfig::default();
        let texts: Vec<&str> = data.iter().map(|(t, _)| *t).collect();
        let vectors = embed_all(&Tiny, &texts).unwrap();
        let dense = Dense {
            name: Tiny.name(),
            vectors: &vectors,
        };
        let with = Model::train(&[0, 1], &[None, None], &ex, DEFAULT_CALIBRATION, Some(dense), &cfg).unwrap();
        assert_eq!(with.embedder(), Some("tiny-test"));
        // Words never seen in training: only the embedding knows what they mean.
        let s = with.scores("authenticate", Some(&Tiny)).unwrap();
        assert!(s[1] > s[0], "{s:?}");
        let s = with.scores("reimbursement", Some(&Tiny)).unwrap();
        assert!(s[0] > s[1], "{s:?}");
        // It survives its stored form.
        let back = Model::from_bytes(&with.to_bytes().unwrap()).unwrap();
        let s = back.scores("authenticate", Some(&Tiny)).unwrap();
        assert!(s[1] > s[0], "{s:?}");
        // Without it, the same unseen word tells the hashed model nothing.
        // Scored without its embedder, or with another, it refuses instead of guessing.
        let e = with.scores("authenticate", None).unwrap_err();
        assert!(e.to_string().contains("trained with the embedder tiny-test"), "{e}");
        struct Other;
        impl Embedder for Other {
            fn name(&self) -> &str {
                "other"
            }
            fn dim(&self) -> usize {
                2
            }
            fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, MiningError> {
                Ok(vec![vec![1.0, 0.0]; texts.len()])
            }
        }
        assert!(with.ranked_many(&["x"], Some(&Other)).is_err());
        // Vectors that do not match the examples are refused.
        assert!(
            Model::train(
                &[0, 1],
                &[None, None],
                &ex,
                DEFAULT_CALIBRATION,
                Some(Dense {
                    name: "tiny-test",
                    vectors: &vectors[..2],
                }),
                &cfg
            )
            .is_err()
        );
        let without = Model::train(&[0, 1], &[None, None], &ex, DEFAULT_CALIBRATION, None, &cfg).unwrap();
        let s = without.scores("authenticate", None).unwrap();
        assert!(
            (s[1] - s[0]).abs()
                < (with.scores("authenticate", Some(&Tiny)).unwrap()[1]
                    - with.scores("authenticate", Some(&Tiny)).unwrap()[0])
                    .abs()
        );
    }
}
