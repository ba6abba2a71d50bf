//! Scans a whole corpus, each message its own scan, for the instruction counts and the span
//! digest the speed work is measured and checked by (`bench/pii-instructions.sh` runs it under
//! valgrind's callgrind, counting inside `Analyzer::analyze` only).
//!
//! Run: `cargo run --profile profiling -p datapact-pii --example corpus_scan -- CORPUS [PASSES]`
//! where `CORPUS` is
//! - `mixed`: the generated corpus of the scan benchmark (40,000 messages, seed 7);
//! - `independent`: both parts of `crates/pii/data/eval-independent` (2,400 messages);
//! - `digest`: no timing; a hash of every span the engine reports over both corpora, with their
//!   count. A change meant to leave behaviour alone must leave it unchanged.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use datapact_pii::{Analyzer, Options};

fn mixed() -> Vec<String> {
    datapact_pii::eval::corpus(40_000, 7)
        .into_iter()
        .map(|s| s.text)
        .collect()
}

fn independent() -> Result<Vec<String>, String> {
    let mut texts = Vec::new();
    for part in ["dev", "blind"] {
        let path = format!("{}/data/eval-independent/{part}.jsonl", env!("CARGO_MANIFEST_DIR"));
        let file = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        for (n, line) in file.lines().enumerate() {
            let v: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("{path}:{}: {e}", n + 1))?;
            let text = v["text"].as_str().ok_or(format!("{path}:{}: no `text`", n + 1))?;
            texts.push(text.to_string());
        }
    }
    Ok(texts)
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let corpus = args.next().unwrap_or_default();
    let passes: usize = match args.next() {
        None => 1,
        Some(p) => p.parse().map_err(|_| format!("PASSES: `{p}` is not a count"))?,
    };
    datapact_pii::warm_up();
    let analyzer = Analyzer::new();
    let opts = Options::default();
    let texts = match corpus.as_str() {
        "mixed" => mixed(),
        "independent" => independent()?,
        "digest" => {
            let mut all = mixed();
            all.extend(independent()?);
            let (mut h, mut count) = (DefaultHasher::new(), 0usize);
            for t in &all {
                for s in analyzer.analyze(t, &opts) {
                    (s.start, s.end, s.entity.to_string(), s.score.to_bits()).hash(&mut h);
                    count += 1;
                }
                0xffu8.hash(&mut h);
            }
            println!("digest {:016x} spans {count} texts {}", h.finish(), all.len());
            return Ok(());
        }
        other => return Err(format!("CORPUS: `{other}` is none of mixed, independent, digest")),
    };
    let bytes: usize = texts.iter().map(String::len).sum();
    let started = Instant::now();
    let mut spans = 0;
    for _ in 0..passes {
        for t in &texts {
            spans += analyzer.analyze(black_box(t), &opts).len();
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{corpus}: {} messages, {bytes} bytes, {passes} passes, {spans} spans, {:.2} MB/s",
        texts.len(),
        (bytes * passes) as f64 / 1e6 / secs
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("corpus_scan: {e}");
            ExitCode::FAILURE
        }
    }
}
