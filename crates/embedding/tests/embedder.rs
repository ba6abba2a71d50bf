//! The in-process embedder on a tiny BERT the test writes itself (nothing is downloaded):
//! loading, pooling, bounds, errors that name the file, and a Communications Mining model
//! trained with it.

use std::collections::BTreeSet;

use datapact_embedding::{BertEmbedder, EmbeddingError, tiny};
use datapact_mining::classifier::{Model, TrainConfig};
use datapact_mining::embed::{Embedder, embed_all};
use datapact_mining::taxonomy::Taxonomy;
use datapact_mining::trainer::{Labeled, train};
use proptest::prelude::*;

const WORDS: &[&str] = &[
    "refund", "money", "back", "card", "declined", "login", "password", "reset", "cannot", "sign", "in", "my", "the",
    "please", "order", "help", "account", "locked", "charge", "twice",
];

fn model(dir: &std::path::Path) -> BertEmbedder {
    tiny::write(dir, WORDS, 16).unwrap();
    BertEmbedder::load(dir).unwrap()
}

fn close(a: &[f32], b: &[f32]) -> bool {
    a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-4)
}

#[test]
fn vectors_are_unit_length_stable_and_tell_texts_apart() {
    let tmp = tempfile::tempdir().unwrap();
    let e = model(tmp.path());
    assert_eq!(e.dim(), 16);
    assert!(e.name().starts_with("bert-mean-16:"), "{}", e.name());
    let v = e
        .embed(&["refund my money please", "my account is locked", ""])
        .unwrap();
    assert_eq!(v.len(), 3);
    for x in &v {
        assert_eq!(x.len(), 16);
        let n: f32 = x.iter().map(|a| a * a).sum::<f32>().sqrt();
        assert!((n - 1.0).abs() < 1e-4, "{n}");
    }
    assert!(!close(&v[0], &v[1]), "different texts, different vectors");
    let again = e.embed(&["refund my money please"]).unwrap();
    assert!(close(&v[0], &again[0]), "the same text, the same vector");
}

#[test]
fn padding_counts_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let e = model(tmp.path());
    let alone = e.embed(&["card declined"]).unwrap();
    let long = "please help my card was declined and the order was charged twice my account is locked";
    let batched = e.embed(&[long, "card declined"]).unwrap();
    assert!(close(&alone[0], &batched[1]), "{:?} vs {:?}", alone[0], batched[1]);
    // embed_all sorts by length and puts each vector back in place.
    let texts = [long, "card declined", "login", long];
    let all = embed_all(&e, &texts).unwrap();
    assert!(close(&all[1], &alone[0]));
    assert!(close(&all[0], &all[3]));
}

#[test]
fn texts_past_the_bounds_are_cut_not_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let e = model(tmp.path());
    // More tokens than the tiny model has positions (64), and far more characters.
    let huge = "refund ".repeat(20_000);
    let v = e.embed(&[&huge, "ok"]).unwrap();
    assert_eq!(v[0].len(), 16);
}

#[test]
fn other_weights_have_another_name() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    assert_ne!(model(a.path()).name(), model(b.path()).name());
}

#[test]
fn broken_directories_are_named_never_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let e = BertEmbedder::load(tmp.path()).unwrap_err();
    assert!(
        matches!(&e, EmbeddingError::File { path, .. } if path.ends_with("config.json")),
        "{e}"
    );
    tiny::write(tmp.path(), WORDS, 16).unwrap();
    // Weights that are not what the configuration says.
    let other = tempfile::tempdir().unwrap();
    tiny::write(other.path(), WORDS, 8).unwrap();
    std::fs::copy(
        other.path().join("model.safetensors"),
        tmp.path().join("model.safetensors"),
    )
    .unwrap();
    let e = BertEmbedder::load(tmp.path()).unwrap_err();
    assert!(
        matches!(&e, EmbeddingError::Model { path, .. } if path.ends_with("model.safetensors")),
        "{e}"
    );
    std::fs::write(tmp.path().join("model.safetensors"), b"not safetensors").unwrap();
    let e = BertEmbedder::load(tmp.path()).unwrap_err();
    assert!(
        matches!(&e, EmbeddingError::Model { path, .. } if path.ends_with("model.safetensors")),
        "{e}"
    );
    std::fs::write(tmp.path().join("config.json"), b"{\"hidden_size\": 4}").unwrap();
    let e = BertEmbedder::load(tmp.path()).unwrap_err();
    assert!(
        matches!(&e, EmbeddingError::Model { path, .. } if path.ends_with("config.json")),
        "{e}"
    );
    // Another model's tokenizer, whose ids run past this model's table.
    let bigger = tempfile::tempdir().unwrap();
    let mut more: Vec<String> = WORDS.iter().map(|w| w.to_string()).collect();
    more.extend((0..100).map(|i| format!("word{i}")));
    let more: Vec<&str> = more.iter().map(String::as_str).collect();
    tiny::write(bigger.path(), &more, 16).unwrap();
    tiny::write(tmp.path(), WORDS, 16).unwrap();
    std::fs::copy(bigger.path().join("tokenizer.json"), tmp.path().join("tokenizer.json")).unwrap();
    let e = BertEmbedder::load(tmp.path()).unwrap_err();
    assert!(
        matches!(&e, EmbeddingError::Model { path, .. } if path.ends_with("tokenizer.json")),
        "{e}"
    );
    // Heads that do not divide the hidden size.
    tiny::write(tmp.path(), WORDS, 16).unwrap();
    let mut cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("config.json")).unwrap()).unwrap();
    cfg["num_attention_heads"] = serde_json::json!(3);
    std::fs::write(tmp.path().join("config.json"), cfg.to_string()).unwrap();
    let e = BertEmbedder::load(tmp.path()).unwrap_err();
    assert!(
        matches!(&e, EmbeddingError::Model { path, .. } if path.ends_with("config.json")),
        "{e}"
    );
    tiny::write(tmp.path(), WORDS, 16).unwrap();
    std::fs::write(tmp.path().join("tokenizer.json"), b"[]").unwrap();
    let e = BertEmbedder::load(tmp.path()).unwrap_err();
    assert!(
        matches!(&e, EmbeddingError::Model { path, .. } if path.ends_with("tokenizer.json")),
        "{e}"
    );
}

#[test]
fn a_communications_mining_model_trains_and_serves_with_it() {
    let tmp = tempfile::tempdir().unwrap();
    let e = model(tmp.path());
    let tax = Taxonomy::new(&["Refund".to_string(), "Login".to_string()]).unwrap();
    let refund = tax.resolve(&["Refund".to_string()]).unwrap();
    let login = tax.resolve(&["Login".to_string()]).unwrap();
    let msgs: Vec<Labeled> = (0..120)
        .map(|i| {
            let (text, labels): (String, BTreeSet<u32>) = if i % 2 == 0 {
                (format!("please refund my money back order {i}"), refund.clone())
            } else {
                (format!("cannot sign in password reset {i}"), login.clone())
            };
            Labeled {
                key: format!("m{i}").into_bytes(),
                text,
                labels,
            }
        })
        .collect();
    let out = train(&tax, &msgs, &["refund please"], Some(&e), &TrainConfig::default()).unwrap();
    assert_eq!(out.model.embedder(), Some(e.name()));
    assert!(out.validation.accuracy > 0.9, "{:?}", out.validation);
    let back = Model::from_bytes(&out.model.to_bytes().unwrap()).unwrap();
    let ranked = back
        // Messages it learned from: the tiny model's weights are random on every run, so
        // only what the training saw is certain.
        .ranked_many(
            &["please refund my money back order 2", "cannot sign in password reset 3"],
            Some(&e),
        )
        .unwrap();
    let refund_row = back.labels().iter().position(|l| refund.contains(l)).unwrap();
    assert_eq!(ranked[0][0].0, refund_row);
    assert_ne!(ranked[1][0].0, refund_row);
    // Another model's weights, or none: refused, not guessed.
    let other = tempfile::tempdir().unwrap();
    let o = model(other.path());
    assert!(back.ranked_many(&["refund"], Some(&o)).is_err());
    assert!(back.ranked_many(&["refund"], None).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn any_text_gets_a_vector(texts in proptest::collection::vec(".{0,300}", 1..6)) {
        let tmp = tempfile::tempdir().unwrap();
        let e = model(tmp.path());
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let v = e.embed(&refs).unwrap();
        prop_assert_eq!(v.len(), texts.len());
        for x in v {
            prop_assert_eq!(x.len(), 16);
            prop_assert!(x.iter().all(|a| a.is_finite()));
        }
    }
}
