//! Trains the default classifier on BANKING77 (train + dev) and reports test accuracy and
//! times, in process. `cargo run --release -p datapact-mining --example banking77 -- DIR`.
//! `C=…` and `TOL=…` change the regularization and the stopping tolerance; `ROUNDTRIP=1`
//! also measures the model read back from its stored bytes (half-precision weights).
use std::time::Instant;

use datapact_mining::classifier::{DEFAULT_CALIBRATION, Example, Model, TrainConfig};

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

fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or("../shared/data/banking77".into()));
    let mut train = load(&dir.join("train.jsonl"));
    train.extend(load(&dir.join("dev.jsonl")));
    let test = load(&dir.join("test.jsonl"));
    let mut names: Vec<String> = train.iter().map(|t| t.1.clone()).collect();
    names.sort();
    names.dedup();
    let row = |n: &str| names.iter().position(|x| x == n).unwrap_or(0);
    let ex: Vec<Example<'_>> = train
        .iter()
        .map(|(t, l)| Example {
            text: t,
            rows: vec![row(l)],
        })
        .collect();
    let ids: Vec<u32> = (0..names.len() as u32).collect();
    let parents = vec![None; names.len()];
    let c: f32 = std::env::var("C").ok().and_then(|v| v.parse().ok()).unwrap_or(1.0);
    let tolerance: f32 = std::env::var("TOL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(TrainConfig::default().tolerance);
    let cfg = TrainConfig {
        c,
        tolerance,
        ..TrainConfig::default()
    };
    let t0 = Instant::now();
    let m = Model::train(&ids, &parents, &ex, DEFAULT_CALIBRATION, None, &cfg).expect("train");
    let train_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let mut right = 0;
    for (t, l) in &test {
        let s = m.scores_with(t, None);
        let best = s
            .iter()
            .enumerate()
            .fold((0, f32::MIN), |b, (i, v)| if *v > b.1 { (i, *v) } else { b })
            .0;
        if best == row(l) {
            right += 1;
        }
    }
    let pred_s = t1.elapsed().as_secs_f64();
    let bytes = m.to_bytes().expect("bytes");
    if std::env::var("ROUNDTRIP").is_ok() {
        let m2 = Model::from_bytes(&bytes).expect("read");
        let r2 = test
            .iter()
            .filter(|(t, l)| {
                let s = m2.scores_with(t, None);
                s.iter()
                    .enumerate()
                    .fold((0, f32::MIN), |b, (i, v)| if *v > b.1 { (i, *v) } else { b })
                    .0
                    == row(l)
            })
            .count();
        println!(
            "after a round trip through bytes: {:.2}%",
            100.0 * r2 as f64 / test.len() as f64
        );
    }
    println!(
        "examples {} features {} train {:.2}s accuracy {:.2}% predict {:.0}/s model {} bytes",
        ex.len(),
        m.features(),
        train_s,
        100.0 * right as f64 / test.len() as f64,
        test.len() as f64 / pred_s,
        bytes.len()
    );
}
