//! How good a dataset's model is, measured on messages it did not learn from: a stable
//! held-out part of the labeled messages (chosen by a hash of the message id, so a message
//! stays on its side across retrains), per-label precision, recall and average precision,
//! overall accuracy and macro F1, and a model rating 0–100 with its factors and what to do
//! next.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A label's probability at or above which the model says it applies.
pub const THRESHOLD: f32 = 0.5;
/// One message in `HOLD_OUT` is held out.
pub const HOLD_OUT: u64 = 5;
/// Fewer training examples than this for a label earns a "label more" action.
pub const FEW_EXAMPLES: usize = 25;

/// Whether the message with this key is held out for validation (about one in five).
pub fn held_out(key: &[u8]) -> bool {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h ^ (h >> 31)).is_multiple_of(HOLD_OUT)
}

/// One label's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LabelMetrics {
    /// The label.
    pub name: String,
    /// Of the held-out messages the model gave it, the share that have it.
    pub precision: f64,
    /// Of the held-out messages that have it, the share the model gave it.
    pub recall: f64,
    /// Average precision over the held-out messages ranked by its probability.
    pub average_precision: f64,
    /// Held-out messages that have it.
    pub count: usize,
    /// Training messages that have it.
    pub train_count: usize,
}

/// The rating's factors, each 0–100.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Factors {
    /// How evenly the labels are represented in training (normalized entropy).
    pub balance: u32,
    /// Share of messages the model gives a label with confidence.
    pub coverage: u32,
    /// Mean average precision over labels, each weighed down while it has fewer than 25
    /// training examples.
    pub label_health: u32,
}

/// The model rating.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Rating {
    /// 0–100.
    pub score: u32,
    /// `poor` (< 50), `average` (< 70), `good` (< 85) or `excellent`.
    pub quality: String,
    /// The factors.
    pub factors: Factors,
    /// What to do next, most useful first (at most five).
    pub next: Vec<String>,
}

/// A validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Validation {
    /// Labeled messages trained on (the held-out ones excluded).
    pub train_messages: usize,
    /// Held-out messages measured.
    pub held_out_messages: usize,
    /// Share of held-out messages whose most probable label is one of theirs (a message
    /// without labels is right when the model gives it none).
    pub accuracy: f64,
    /// Mean F1 over the labels with held-out messages.
    pub macro_f1: f64,
    /// Per label, by name.
    pub labels: Vec<LabelMetrics>,
    /// The rating.
    pub rating: Rating,
}

/// What `evaluate` needs of one held-out message.
#[derive(Debug, Clone)]
pub struct Scored {
    /// Label rows it has (ancestors included).
    pub truth: Vec<usize>,
    /// The model's probability for each row.
    pub probs: Vec<f32>,
    /// Its raw score for each row (orders equal probabilities; may be empty).
    pub scores: Vec<f32>,
}

fn top(probs: &[f32], scores: &[f32], depth: &[usize]) -> Option<usize> {
    let score = |i: usize| scores.get(i).copied().unwrap_or(0.0);
    probs
        .iter()
        .enumerate()
        .max_by(|a, b| {
            a.1.partial_cmp(b.1)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(score(a.0).partial_cmp(&score(b.0)).unwrap_or(std::cmp::Ordering::Equal))
                .then(depth[a.0].cmp(&depth[b.0]))
        })
        .map(|(i, _)| i)
}

/// The most probable row, a deeper label winning a tie (a parent's probability is its
/// likeliest child's).
pub fn top_row(probs: &[f32], depth: &[usize]) -> Option<usize> {
    top(probs, &[], depth)
}

/// Average precision of one label from (probability, has it) pairs.
fn average_precision(mut ranked: Vec<(f32, bool)>) -> f64 {
    ranked.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
    let positives = ranked.iter().filter(|r| r.1).count();
    if positives == 0 {
        return 0.0;
    }
    let (mut hits, mut sum) = (0usize, 0.0f64);
    for (i, r) in ranked.iter().enumerate() {
        if r.1 {
            hits += 1;
            sum += hits as f64 / (i + 1) as f64;
        }
    }
    sum / positives as f64
}

/// Measures held-out messages. `names[r]`, `depth[r]` and `train_counts[r]` describe label
/// row `r`; `train_messages` were trained on; `coverage_probs` are the top probabilities of the design-time messages sampled
/// for coverage (labeled or not).
pub fn evaluate(
    names: &[String],
    depth: &[usize],
    train_counts: &[usize],
    train_messages: usize,
    held: &[Scored],
    coverage_probs: &[f32],
) -> Validation {
    let l = names.len();
    let mut tp = vec![0usize; l];
    let mut fp = vec![0usize; l];
    let mut fn_ = vec![0usize; l];
    let mut ranked: Vec<Vec<(f32, bool)>> = vec![Vec::with_capacity(held.len()); l];
    let mut right = 0usize;
    let mut confused: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for m in held {
        for r in 0..l {
            let has = m.truth.contains(&r);
            let says = m.probs.get(r).copied().unwrap_or(0.0) >= THRESHOLD;
            match (has, says) {
                (true, true) => tp[r] += 1,
                (false, true) => fp[r] += 1,
                (true, false) => fn_[r] += 1,
                _ => {}
            }
            ranked[r].push((m.probs.get(r).copied().unwrap_or(0.0), has));
        }
        let best = top(&m.probs, &m.scores, depth);
        let ok = match best {
            _ if m.truth.is_empty() => m.probs.iter().all(|p| *p < THRESHOLD),
            Some(b) => m.truth.contains(&b),
            None => false,
        };
        if ok {
            right += 1;
        } else if let (Some(b), Some(t)) = (best, m.truth.iter().max_by_key(|t| depth[**t])) {
            let key = if *t < b { (*t, b) } else { (b, *t) };
            *confused.entry(key).or_insert(0) += 1;
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let mut labels = Vec::with_capacity(l);
    let mut f1s = Vec::new();
    let mut aps = Vec::new();
    for r in 0..l {
        let count = tp[r] + fn_[r];
        let precision = ratio(tp[r], tp[r] + fp[r]);
        let recall = ratio(tp[r], count);
        let ap = average_precision(std::mem::take(&mut ranked[r]));
        if count > 0 {
            f1s.push(if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            });
            // A label with few examples cannot be healthy, however well its few held-out
            // messages did: its health grows with its examples up to FEW_EXAMPLES.
            let seen = train_counts.get(r).copied().unwrap_or(0) as f64;
            aps.push(ap * (seen / FEW_EXAMPLES as f64).min(1.0));
        }
        labels.push(LabelMetrics {
            name: names[r].clone(),
            precision,
            recall,
            average_precision: ap,
            count,
            train_count: train_counts.get(r).copied().unwrap_or(0),
        });
    }
    let mean = |v: &[f64]| {
        if v.is_empty() {
            0.0
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        }
    };
    let label_health = mean(&aps);
    let total: usize = train_counts.iter().sum();
    let used: Vec<usize> = train_counts.iter().copied().filter(|c| *c > 0).collect();
    let balance = if used.len() < 2 {
        0.0
    } else {
        let h: f64 = used
            .iter()
            .map(|c| {
                let p = *c as f64 / total as f64;
                -p * p.ln()
            })
            .sum();
        h / (used.len() as f64).ln()
    };
    let coverage = if coverage_probs.is_empty() {
        0.0
    } else {
        coverage_probs.iter().filter(|p| **p >= THRESHOLD).count() as f64 / coverage_probs.len() as f64
    };
    let pct = |x: f64| (x * 100.0).round().clamp(0.0, 100.0) as u32;
    let score = pct(0.5 * label_health + 0.25 * balance + 0.25 * coverage);
    let quality = match score {
        0..50 => "poor",
        50..70 => "average",
        70..85 => "good",
        _ => "excellent",
    };
    let mut next = Vec::new();
    let mut few: Vec<(usize, usize)> = train_counts
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, c)| *c < FEW_EXAMPLES)
        .collect();
    few.sort_by_key(|(_, c)| *c);
    for (r, c) in few.iter().take(2) {
        next.push(format!(
            "label more of {} ({c} examples; aim for at least {FEW_EXAMPLES})",
            names[*r]
        ));
    }
    let mut pairs: Vec<((usize, usize), usize)> = confused.into_iter().filter(|(_, n)| *n >= 2).collect();
    pairs.sort_by_key(|p| std::cmp::Reverse(p.1));
    for ((a, b), n) in pairs.iter().take(2) {
        next.push(format!(
            "{} and {} are confused ({n} held-out messages): label more of each, or merge them",
            names[*a], names[*b]
        ));
    }
    let mut weak: Vec<&LabelMetrics> = labels
        .iter()
        .filter(|m| m.count > 0 && m.average_precision < 0.5)
        .collect();
    weak.sort_by(|a, b| {
        a.average_precision
            .partial_cmp(&b.average_precision)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    if let Some(w) = weak.first() {
        next.push(format!(
            "review {}: average precision {:.2}; check its examples in the check queue",
            w.name, w.average_precision
        ));
    }
    if !coverage_probs.is_empty() && coverage < 0.7 {
        next.push(format!(
            "label messages from the low_confidence queue (coverage {:.0} %)",
            coverage * 100.0
        ));
    }
    next.truncate(5);
    Validation {
        train_messages,
        held_out_messages: held.len(),
        accuracy: ratio(right, held.len()),
        macro_f1: mean(&f1s),
        labels,
        rating: Rating {
            score,
            quality: quality.to_string(),
            factors: Factors {
                balance: pct(balance),
                coverage: pct(coverage),
                label_health: pct(label_health),
            },
            next,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_stable_and_about_a_fifth() {
        let n = (0..10_000).filter(|i| held_out(format!("msg-{i}").as_bytes())).count();
        assert!((1_700..2_300).contains(&n), "{n}");
        assert_eq!(held_out(b"abc"), held_out(b"abc"));
    }

    #[test]
    fn perfect_and_wrong_models_score_as_they_should() {
        let names = vec!["A".to_string(), "B".to_string()];
        let depth = vec![0, 0];
        let held = vec![
            Scored {
                truth: vec![0],
                probs: vec![0.9, 0.1],
                scores: vec![],
            },
            Scored {
                truth: vec![1],
                probs: vec![0.2, 0.8],
                scores: vec![],
            },
            Scored {
                truth: vec![],
                probs: vec![0.1, 0.1],
                scores: vec![],
            },
        ];
        let v = evaluate(&names, &depth, &[40, 40], 80, &held, &[0.9, 0.8]);
        assert_eq!(v.accuracy, 1.0);
        assert_eq!(v.macro_f1, 1.0);
        assert_eq!(v.labels[0].average_precision, 1.0);
        assert!(v.rating.score >= 95, "{:?}", v.rating);
        let wrong = vec![
            Scored {
                truth: vec![0],
                probs: vec![0.1, 0.9],
                scores: vec![],
            },
            Scored {
                truth: vec![1],
                probs: vec![0.8, 0.2],
                scores: vec![],
            },
            Scored {
                truth: vec![0],
                probs: vec![0.2, 0.8],
                scores: vec![],
            },
        ];
        let v = evaluate(&names, &depth, &[3, 40], 43, &wrong, &[0.3]);
        assert_eq!(v.accuracy, 0.0);
        assert!(
            v.rating.next.iter().any(|n| n.contains("label more of A")),
            "{:?}",
            v.rating.next
        );
        assert!(
            v.rating.next.iter().any(|n| n.contains("A and B are confused")),
            "{:?}",
            v.rating.next
        );
        assert!(v.rating.score < 50);
    }

    #[test]
    fn ties_go_to_the_deeper_label() {
        assert_eq!(top_row(&[0.8, 0.8], &[0, 1]), Some(1));
    }
}
