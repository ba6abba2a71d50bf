//! Scans a whole corpus, each message its own scan, for the instruction counts and the span
//! digest the speed work is measured and checked by (`bench/pii-instructions.sh` runs it under
//! valgrind's callgrind, counting inside `Analyzer::analyze` only).
//!
//! Run: `cargo run --profile profiling -p datapact-pii --example corpus_scan -- CORPUS [PASSES]`
//! where `CORPUS` is
//! - `mixed`: the generated corpus of the scan benchmark (40,000 messages, seed 7);
//! - `independent`: both parts of `crates/pii/data/eval-independent` (2,400 messages);
//! - `digest`: no timing; a hash of every span the engine reports over both corpora, with their
//!   count. A change meant to leave behaviour alone must leave it unchanged;
//! - `prompt`: the gateway benchmark's chat request (`bench/gateway/prompt-2k.json`, read from the
//!   directory the harness runs in, or the file `PROMPT` names), each message's text content
//!   scanned on its own as the gateway scans it, `PASSES` times (default 2,000, at most
//!   1,000,000) with warm caches, then as often with 32 MiB written before each (as a server's
//!   other work leaves them), then with 32 MiB written and another short message scanned before
//!   each (the rules' code and the tables every scan shares warm again, most of the prompt's
//!   words' entries not): the time per request, median and 99th percentile (nearest rank).
//!
//! Run from the repository root; `mixed`, `independent` and `digest` need nothing else (the
//! corpora are built into the binary).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use datapact_pii::{Analyzer, Options};

#[path = "../benches/common/mod.rs"]
mod common;
use common::{clear_caches, clutter, independent_corpus, mixed_corpus};

/// The in-process latency of the gateway benchmark's request: warm, then with caches cleared.
fn prompt(analyzer: &Analyzer, opts: &Options, times: usize) -> Result<(), String> {
    let path = std::env::var("PROMPT").unwrap_or_else(|_| "bench/gateway/prompt-2k.json".to_string());
    let file = std::fs::read_to_string(&path)
        .map_err(|e| format!("{path}: {e} (run from the repository root, or name the file with PROMPT)"))?;
    let request: serde_json::Value = serde_json::from_str(&file).map_err(|e| format!("{path}: {e}"))?;
    let mut messages: Vec<&str> = Vec::new();
    for (k, m) in request["messages"]
        .as_array()
        .ok_or(format!("{path}: no `messages` array"))?
        .iter()
        .enumerate()
    {
        // Content given as parts, names and tools are texts the gateway scans too: not read
        // here, so refused rather than left out of the figure.
        match m["content"].as_str() {
            Some(text) if m.as_object().is_some_and(|o| o.len() == 2 && o.contains_key("role")) => messages.push(text),
            _ => {
                return Err(format!(
                    "{path}: messages[{k}]: only a role and a text content are read here"
                ));
            }
        }
    }
    if messages.is_empty() {
        return Err(format!("{path}: no message to scan"));
    }
    let bytes: usize = messages.iter().map(|m| m.len()).sum();
    let mut buffer = clutter();
    // Another message through the same readers: a signature, a phone, an IBAN, a date, an
    // address, none of the prompt's names.
    let other = "From: Jo Bauer <jo.bauer@example.org>\nHi Anna, call +44 20 7946 0958 about \
                 INV-2025-1 on 4 Nov 2025; IBAN GB82 WEST 1234 5698 7654 32. 10 Downing Street, \
                 London.\nBest,\nJo";
    for (name, cold, warm_code) in [
        ("warm", false, false),
        ("caches cleared before each", true, false),
        ("caches cleared, then another text scanned, before each", true, true),
    ] {
        let mut micros = Vec::with_capacity(times);
        for round in 0..times {
            if cold {
                clear_caches(&mut buffer, round as u64);
            }
            if warm_code {
                black_box(analyzer.analyze(black_box(other), opts));
            }
            let started = Instant::now();
            for m in &messages {
                black_box(analyzer.analyze(black_box(m), opts));
            }
            micros.push(started.elapsed().as_secs_f64() * 1e6);
        }
        micros.sort_by(f64::total_cmp);
        // Nearest rank: the smallest value at least `q` of the values are at or below.
        let rank = |q: usize| micros[(times * q).div_ceil(100).max(1) - 1];
        say(format!(
            "prompt ({} messages, {bytes} bytes), {name}: p50 {:.1} µs, p99 {:.1} µs over {times} scans",
            messages.len(),
            rank(50),
            rank(99)
        ));
    }
    Ok(())
}

/// Prints a line; a closed pipe (`| head -1`) is no error.
fn say(line: String) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let corpus = args.next().unwrap_or_default();
    let passes: Option<usize> = match args.next() {
        None => None,
        Some(p) => match p.parse() {
            Ok(n) if (1..=1_000_000).contains(&n) => Some(n),
            _ => return Err(format!("PASSES: `{p}` is not a count from 1 to 1,000,000")),
        },
    };
    datapact_pii::warm_up();
    let analyzer = Analyzer::new();
    let opts = Options::default();
    let texts = match corpus.as_str() {
        "mixed" => mixed_corpus(),
        "independent" => independent_corpus()?,
        "digest" => {
            let mut all = mixed_corpus();
            all.extend(independent_corpus()?);
            let (mut h, mut count) = (DefaultHasher::new(), 0usize);
            for t in &all {
                for s in analyzer.analyze(t, &opts) {
                    (s.start, s.end, s.entity.to_string(), s.score.to_bits()).hash(&mut h);
                    count += 1;
                }
                0xffu8.hash(&mut h);
            }
            say(format!("digest {:016x} spans {count} texts {}", h.finish(), all.len()));
            return Ok(());
        }
        "prompt" => return prompt(&analyzer, &opts, passes.unwrap_or(2000)),
        other => {
            return Err(format!(
                "CORPUS: `{other}` is none of mixed, independent, digest, prompt"
            ));
        }
    };
    let passes = passes.unwrap_or(1);
    let bytes: usize = texts.iter().map(String::len).sum();
    let started = Instant::now();
    let mut spans = 0;
    for _ in 0..passes {
        for t in &texts {
            spans += analyzer.analyze(black_box(t), &opts).len();
        }
    }
    let secs = started.elapsed().as_secs_f64();
    say(format!(
        "{corpus}: {} messages, {bytes} bytes, {passes} passes, {spans} spans, {:.2} MB/s",
        texts.len(),
        (bytes * passes) as f64 / 1e6 / secs
    ));
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
