//! Scan throughput with every entity type on: over the generated support e-mails (one e-mail
//! template with varying values, concatenated into one 8 MB text: a flattering, cache-warm
//! case), and over many short messages of the mixed evaluation corpus (15 templates: e-mails,
//! tickets, chat prompts, forms, notes), each scanned on its own as a product would (and the
//! same messages joined into 8 KB documents, to show what a scan of a short text costs beyond
//! its bytes); then latency for a 2 KB prompt, with warm caches and with caches flushed before
//! each scan (as inside a server).
//!
//! Run: `cargo bench -p datapact-pii --bench scan`

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput};
use datapact_pii::{Analyzer, Options};

mod common;
use common::{clear_caches, clutter, email, independent_corpus, mixed_corpus};

fn main() {
    let analyzer = Analyzer::new();
    let opts = Options::default();
    let mut corpus = String::new();
    let mut i = 0;
    while corpus.len() < 8 * 1024 * 1024 {
        corpus.push_str(&email(i));
        i += 1;
    }
    // Whole-corpus throughput, one core.
    let _ = analyzer.analyze(&corpus[..64 * 1024], &opts);
    let start = Instant::now();
    let spans = analyzer.analyze(black_box(&corpus), &opts);
    let secs = start.elapsed().as_secs_f64();
    println!(
        "scan (one e-mail template, 8 MB in one text): {:.1} MB in {:.3} s = {:.1} MB/s on one core, {} spans",
        corpus.len() as f64 / 1e6,
        secs,
        corpus.len() as f64 / 1e6 / secs,
        spans.len()
    );

    // Many short messages of mixed kinds, each its own scan.
    let messages = mixed_corpus();
    let bytes: usize = messages.iter().map(String::len).sum();
    let (secs, found) = scan_each(&analyzer, &opts, &messages);
    println!(
        "scan (mixed corpus, {} messages of {:.0} bytes on average, one scan each): {:.1} MB in {:.3} s = {:.1} MB/s on one core, {} spans",
        messages.len(),
        bytes as f64 / messages.len() as f64,
        bytes as f64 / 1e6,
        secs,
        bytes as f64 / 1e6 / secs,
        found
    );
    // The same messages, 64 to a document (about 8 KB, a blank line between two): the same
    // work in fewer, longer scans, each stage's code and branches warm over more text. What
    // short messages cost beyond it is the cost of switching between the stages per message.
    let documents: Vec<String> = messages.chunks(64).map(|c| c.join("\n\n")).collect();
    let doc_bytes: usize = documents.iter().map(String::len).sum();
    let (secs, found) = scan_each(&analyzer, &opts, &documents);
    println!(
        "scan (mixed corpus, the same messages 64 to a document of {:.0} bytes, one scan each): {:.1} MB/s on one core, {} spans",
        doc_bytes as f64 / documents.len() as f64,
        doc_bytes as f64 / 1e6 / secs,
        found
    );
    // The same messages one scan each, ordered by kind (each template's messages in a row):
    // the same code and work, the branch history and caches of the kind before warm for the
    // next. What the mixed order costs beyond it is switching between kinds of message.
    let by_kind: Vec<String> = (0..datapact_pii::eval::TEMPLATE_COUNT)
        .flat_map(|k| {
            messages
                .iter()
                .skip(k)
                .step_by(datapact_pii::eval::TEMPLATE_COUNT)
                .cloned()
        })
        .collect();
    let (secs, found) = scan_each(&analyzer, &opts, &by_kind);
    println!(
        "scan (mixed corpus, the same messages ordered by kind, one scan each): {:.1} MB/s on one core, {} spans",
        bytes as f64 / 1e6 / secs,
        found
    );

    // Real mixed text: the independent evaluation corpus (e-mails, tickets, chats, logs, CSV,
    // forms, developer messages with credentials, in seven languages), each message its own
    // scan, several passes.
    let independent = independent_corpus().unwrap_or_else(|e| panic!("the independent corpus: {e}"));
    let bytes: usize = independent.iter().map(String::len).sum::<usize>() * 3;
    let start = Instant::now();
    let mut found = 0;
    for _ in 0..3 {
        for m in &independent {
            found += analyzer.analyze(black_box(m), &opts).len();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "scan (independent corpus, {} messages of {:.0} bytes on average in 7 languages, one scan each, 3 passes): {:.1} MB in {:.3} s = {:.1} MB/s on one core, {} spans",
        independent.len(),
        bytes as f64 / 3.0 / independent.len() as f64,
        bytes as f64 / 1e6,
        secs,
        bytes as f64 / 1e6 / secs,
        found
    );
    // The same corpus once the regexes' lazy automata hold the states these texts need (a
    // server that has been running): 10 more passes.
    let start = Instant::now();
    for _ in 0..10 {
        for m in &independent {
            black_box(analyzer.analyze(black_box(m), &opts));
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "scan (independent corpus, warm: 10 more passes): {:.1} MB/s on one core",
        bytes as f64 / 3.0 * 10.0 / 1e6 / secs
    );

    // A 2 KB prompt.
    let mut prompt = String::new();
    let mut j = 0;
    while prompt.len() < 2048 {
        prompt.push_str(&email(j));
        j += 1;
    }
    prompt.truncate(
        prompt
            .char_indices()
            .take_while(|(k, _)| *k < 2048)
            .last()
            .map_or(0, |(k, _)| k),
    );
    let scan_us = || {
        let t = Instant::now();
        black_box(analyzer.analyze(black_box(&prompt), &opts));
        t.elapsed().as_secs_f64() * 1e6
    };
    print_latency("2 KB prompt", (0..20_000).map(|_| scan_us()).collect());
    // The same prompt with the caches flushed before each scan, as inside a server, where
    // parsing, the audit log and the network run between two scans: 32 MiB written over
    // (beyond this machine's 2 MiB of L2 per core) before each of 2,000 scans.
    let mut flush = clutter();
    let cold = (0..2_000u64)
        .map(|r| {
            clear_caches(&mut flush, r);
            scan_us()
        })
        .collect();
    print_latency("2 KB prompt, caches flushed before each scan", cold);

    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("pii");
    g.throughput(Throughput::Bytes(prompt.len() as u64));
    g.bench_function("analyze_2KB_prompt", |b| {
        b.iter(|| analyzer.analyze(black_box(&prompt), &opts))
    });
    g.finish();
    c.final_summary();
}

/// Prints the median, the 99th percentile and the maximum of `lat` (µs).
fn print_latency(what: &str, mut lat: Vec<f64>) {
    lat.sort_by(f64::total_cmp);
    println!(
        "{what}: p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
        lat[lat.len() / 2],
        lat[lat.len() * 99 / 100],
        lat[lat.len() - 1]
    );
}

/// Scans each text once, its own scan: the seconds taken and the spans found.
fn scan_each(analyzer: &Analyzer, opts: &Options, texts: &[String]) -> (f64, usize) {
    let start = Instant::now();
    let found = texts.iter().map(|t| analyzer.analyze(black_box(t), opts).len()).sum();
    (start.elapsed().as_secs_f64(), found)
}
