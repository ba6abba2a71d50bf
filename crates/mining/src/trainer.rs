//! Training a dataset's model end to end: the labeled messages split by `validation::held_out`,
//! a model trained on the training side and measured on the held-out side (its scores also
//! fit the sigmoid that makes probabilities), then the model that serves trained on every
//! labeled message with that sigmoid.

use std::collections::{BTreeSet, HashMap};

use crate::MiningError;
use crate::classifier::{DEFAULT_CALIBRATION, Dense, Example, Model, TrainConfig, fit_platt};
use crate::embed::{Embedder, embed_all};
use crate::taxonomy::{SEP, Taxonomy};
use crate::validation::{Scored, Validation, evaluate, held_out};

/// Most labeled messages one training reads (the newest, when there are more).
pub const MAX_TRAIN_MESSAGES: usize = 50_000;

/// A labeled message as training sees it.
#[derive(Debug, Clone)]
pub struct Labeled {
    /// What the held-out split hashes (stable for the message's life).
    pub key: Vec<u8>,
    /// Its text.
    pub text: String,
    /// Its label ids, ancestors included (empty: reviewed, none apply).
    pub labels: BTreeSet<u32>,
}

/// A trained model and how good it is.
#[derive(Debug)]
pub struct Outcome {
    /// The model that serves, trained on every labeled message.
    pub model: Model,
    /// Measured on the held-out messages by a model trained without them.
    pub validation: Validation,
}

/// An embedder's vectors as training takes them.
fn dense_of<'a>(embedder: Option<&'a dyn Embedder>, vectors: &'a [Vec<f32>]) -> Option<Dense<'a>> {
    embedder.map(|e| Dense {
        name: e.name(),
        vectors,
    })
}

/// Labels in use (with at least one message), by id, with their message counts.
pub fn labels_in_use(msgs: &[Labeled]) -> HashMap<u32, usize> {
    let mut n = HashMap::new();
    for m in msgs {
        for l in &m.labels {
            *n.entry(*l).or_insert(0) += 1;
        }
    }
    n
}

/// The taxonomy's labels in use (with messages), parents before children, when they are
/// enough to train: at least two that are not one another's ancestors (a parent that only
/// comes with its one child tells a model nothing). Otherwise what is missing.
pub fn enough_labels<'a, N>(
    tax: &'a Taxonomy,
    in_use: &HashMap<u32, N>,
) -> Result<Vec<&'a crate::taxonomy::Label>, MiningError> {
    let rows: Vec<&crate::taxonomy::Label> = tax.labels().iter().filter(|l| in_use.contains_key(&l.id)).collect();
    let deepest: Vec<&str> = rows
        .iter()
        .filter(|l| !rows.iter().any(|o| o.name.starts_with(&format!("{}{SEP}", l.name))))
        .map(|l| l.name.as_str())
        .collect();
    if deepest.len() < 2 {
        return Err(MiningError::TooFewLabels(if deepest.is_empty() {
            "no label is in use: label messages with at least two different labels".to_string()
        } else {
            format!(
                "only {} is in use (with its parents): label messages with at least one more label",
                deepest.join(", ")
            )
        }));
    }
    Ok(rows)
}

/// Trains and validates. `coverage` holds texts of design-time messages (labeled or not,
/// a sample) whose confident share is the rating's coverage.
pub fn train(
    tax: &Taxonomy,
    msgs: &[Labeled],
    coverage: &[&str],
    embedder: Option<&dyn Embedder>,
    cfg: &TrainConfig,
) -> Result<Outcome, MiningError> {
    let in_use = labels_in_use(msgs);
    let rows = enough_labels(tax, &in_use)?;
    let pos: HashMap<u32, usize> = rows.iter().enumerate().map(|(i, l)| (l.id, i)).collect();
    let ids: Vec<u32> = rows.iter().map(|l| l.id).collect();
    let parents: Vec<Option<usize>> = rows
        .iter()
        .map(|l| tax.parent(l.id).and_then(|p| pos.get(&p).copied()))
        .collect();
    let depth: Vec<usize> = rows.iter().map(|l| l.name.matches(SEP).count()).collect();
    let names: Vec<String> = rows.iter().map(|l| l.name.clone()).collect();
    let to_rows = |m: &Labeled| -> Vec<usize> { m.labels.iter().filter_map(|l| pos.get(l).copied()).collect() };

    // The embedder's vectors, computed once for every use below.
    let texts: Vec<&str> = msgs.iter().map(|m| m.text.as_str()).collect();
    let vectors = match embedder {
        Some(e) => embed_all(e, &texts)?,
        None => Vec::new(),
    };
    let vector_of = |i: usize| vectors.get(i).map(Vec::as_slice);
    let (held, kept): (Vec<usize>, Vec<usize>) = (0..msgs.len()).partition(|i| held_out(&msgs[*i].key));
    let train_counts: Vec<usize> = {
        let mut c = vec![0usize; rows.len()];
        for i in &kept {
            for r in to_rows(&msgs[*i]) {
                c[r] += 1;
            }
        }
        c
    };
    // The validation model, when both sides have something.
    let kept_ex: Vec<Example<'_>> = kept
        .iter()
        .map(|i| Example {
            text: &msgs[*i].text,
            rows: to_rows(&msgs[*i]),
        })
        .collect();
    let kept_vectors: Vec<Vec<f32>> = kept.iter().filter_map(|i| vectors.get(*i).cloned()).collect();
    let mut calibration = DEFAULT_CALIBRATION;
    let mut scored = Vec::with_capacity(held.len());
    if !held.is_empty() && !kept_ex.is_empty() {
        let vm = Model::train(
            &ids,
            &parents,
            &kept_ex,
            DEFAULT_CALIBRATION,
            dense_of(embedder, &kept_vectors),
            cfg,
        )?;
        let mut pairs = Vec::with_capacity(held.len() * rows.len());
        let held_scores: Vec<(Vec<usize>, Vec<f32>)> = held
            .iter()
            .map(|i| (to_rows(&msgs[*i]), vm.scores_with(&msgs[*i].text, vector_of(*i))))
            .collect();
        for (truth, s) in &held_scores {
            for (r, v) in s.iter().enumerate() {
                pairs.push((*v, truth.contains(&r)));
            }
        }
        calibration = fit_platt(&pairs);
        let mut vm = vm;
        vm.set_calibration(calibration);
        for i in &held {
            let (probs, scores) = vm.probabilities_with(&msgs[*i].text, vector_of(*i));
            scored.push(Scored {
                truth: to_rows(&msgs[*i]),
                probs,
                scores,
            });
        }
    }
    let all_ex: Vec<Example<'_>> = msgs
        .iter()
        .map(|m| Example {
            text: &m.text,
            rows: to_rows(m),
        })
        .collect();
    let model = Model::train(&ids, &parents, &all_ex, calibration, dense_of(embedder, &vectors), cfg)?;
    let cov: Vec<f32> = model
        .ranked_many(coverage, embedder)?
        .into_iter()
        .map(|r| r.first().map_or(0.0, |(_, p)| *p))
        .collect();
    let validation = evaluate(&names, &depth, &train_counts, kept.len(), &scored, &cov);
    Ok(Outcome { model, validation })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msgs(tax: &Taxonomy) -> Vec<Labeled> {
        let data = [
            ("refund", "I want my money back for order"),
            ("refund", "please refund the payment on my card"),
            ("login", "I cannot sign in to the portal"),
            ("login", "password reset link does not work"),
        ];
        (0..200)
            .map(|i| {
                let (l, t) = data[i % data.len()];
                Labeled {
                    key: format!("m{i}").into_bytes(),
                    text: format!("{t} number {i}"),
                    labels: tax.resolve(&[l.to_string()]).unwrap_or_default(),
                }
            })
            .collect()
    }

    #[test]
    fn trains_validates_and_rates() {
        let tax = Taxonomy::new(&["refund".to_string(), "login".to_string(), "unused".to_string()]).unwrap();
        let m = msgs(&tax);
        let out = train(&tax, &m, &["refund my card", "hello"], None, &TrainConfig::default()).unwrap();
        assert_eq!(out.model.labels().len(), 2, "the unused label gets no row");
        assert!(out.validation.held_out_messages > 0);
        assert_eq!(out.validation.train_messages + out.validation.held_out_messages, 200);
        assert!(out.validation.accuracy > 0.95, "{:?}", out.validation);
        assert!(out.validation.rating.score > 50);
    }

    #[test]
    fn one_label_is_too_few() {
        let tax = Taxonomy::new(&["refund".to_string(), "login".to_string()]).unwrap();
        let m: Vec<Labeled> = msgs(&tax).into_iter().filter(|x| x.text.contains("money")).collect();
        let e = train(&tax, &m, &[], None, &TrainConfig::default()).unwrap_err();
        assert!(e.to_string().contains("only refund is in use"), "{e}");
    }
}

#[cfg(test)]
mod parent_tests {
    use super::*;

    #[test]
    fn a_child_and_its_parent_are_one_label() {
        let tax = Taxonomy::new(&["Billing > Refund".to_string(), "Login".to_string()]).unwrap();
        let m = vec![
            Labeled {
                key: b"a".to_vec(),
                text: "refund".into(),
                labels: tax.resolve(&["Billing > Refund".to_string()]).unwrap(),
            },
            Labeled {
                key: b"b".to_vec(),
                text: "hello".into(),
                labels: Default::default(),
            },
        ];
        let e = train(&tax, &m, &[], None, &TrainConfig::default()).unwrap_err();
        assert!(e.to_string().contains("only Billing > Refund is in use"), "{e}");
    }
}
