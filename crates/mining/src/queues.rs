//! The labeling queues: which messages a person should look at next.
//!
//! - `teach`: unlabeled design-time messages the model is least sure of, by the margin
//!   between its two most probable labels (labeling them teaches it most);
//! - `low_confidence`: unlabeled messages with no label at or above the threshold;
//! - `shuffle`: unlabeled messages in a stable random order, for coverage;
//! - `check`: labeled messages the model disagrees with.

use serde::{Deserialize, Serialize};

use crate::validation::THRESHOLD;

/// A queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Queue {
    /// Least sure first.
    Teach,
    /// No confident label.
    LowConfidence,
    /// Random, stable.
    Shuffle,
    /// Labels the model disagrees with.
    Check,
}

impl Queue {
    /// Every queue's name.
    pub const NAMES: [&'static str; 4] = ["teach", "low_confidence", "shuffle", "check"];

    /// The queue called `name`.
    pub fn parse(name: &str) -> Option<Queue> {
        match name {
            "teach" => Some(Queue::Teach),
            "low_confidence" => Some(Queue::LowConfidence),
            "shuffle" => Some(Queue::Shuffle),
            "check" => Some(Queue::Check),
            _ => None,
        }
    }

    /// Whether it holds labeled (`check`) or unlabeled messages.
    pub fn wants_labeled(self) -> bool {
        self == Queue::Check
    }

    /// Whether it needs the model's probabilities.
    pub fn needs_model(self) -> bool {
        self != Queue::Shuffle
    }
}

/// Margin between the two most probable labels (1 with one label).
pub fn margin(probs: &[f32]) -> f32 {
    let (mut a, mut b) = (0f32, 0f32);
    for p in probs {
        if *p > a {
            b = a;
            a = *p;
        } else if *p > b {
            b = *p;
        }
    }
    a - b
}

/// How much the model disagrees with a message's labels: the largest gap between what the
/// labels say (1 or 0) and the probability, counted only where it crosses the threshold
/// (0 when it agrees).
pub fn disagreement(probs: &[f32], truth: &[usize]) -> f32 {
    probs
        .iter()
        .enumerate()
        .map(|(r, p)| {
            let has = truth.contains(&r);
            if has && *p < THRESHOLD {
                1.0 - p
            } else if !has && *p >= THRESHOLD {
                *p
            } else {
                0.0
            }
        })
        .fold(0.0, f32::max)
}

/// A message's place in a queue (lower comes first), or `None` when it does not belong.
pub fn rank(q: Queue, probs: Option<&[f32]>, truth: Option<&[usize]>, shuffle_key: u64) -> Option<f32> {
    match (q, probs, truth) {
        (Queue::Shuffle, _, None) => Some((shuffle_key >> 40) as f32),
        (Queue::Teach, Some(p), None) => Some(margin(p)),
        (Queue::LowConfidence, Some(p), None) => {
            let top = p.iter().copied().fold(0.0, f32::max);
            (top < THRESHOLD).then_some(top)
        }
        (Queue::Check, Some(p), Some(t)) => {
            let d = disagreement(p, t);
            (d > 0.0).then_some(-d)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queues_pick_what_they_say() {
        assert_eq!(Queue::parse("teach"), Some(Queue::Teach));
        assert_eq!(Queue::parse("nope"), None);
        assert!((margin(&[0.6, 0.55, 0.1]) - 0.05).abs() < 1e-6);
        assert_eq!(margin(&[0.7]), 0.7);
        assert!(rank(Queue::LowConfidence, Some(&[0.9]), None, 0).is_none());
        assert!(rank(Queue::LowConfidence, Some(&[0.3]), None, 0).is_some());
        assert!(rank(Queue::Check, Some(&[0.9, 0.1]), Some(&[0]), 0).is_none());
        assert!(rank(Queue::Check, Some(&[0.1, 0.9]), Some(&[0]), 0).is_some());
        assert!(rank(Queue::Teach, Some(&[0.5]), Some(&[0]), 0).is_none());
        assert!(rank(Queue::Shuffle, None, None, 7).is_some());
    }
}
