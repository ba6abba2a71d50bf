//! Quality on the generated corpus: precision, recall and F1 per entity type (exact spans and
//! overlapping spans), and character-level masking recall. Not a timing; a table for
//! docs/BENCHMARKS.md.
//!
//! Run: `cargo bench -p datapact-pii --bench quality`

use datapact_pii::eval::{corpus, evaluate};
use datapact_pii::{Analyzer, Options};

fn main() {
    let samples = corpus(10_000, 2026);
    let labeled: usize = samples.iter().map(|s| s.spans.len()).sum();
    let scores = evaluate(&Analyzer::new(), &samples, &Options::default());
    println!(
        "{} samples, {labeled} labeled spans, decoys in every sample",
        samples.len()
    );
    println!("| entity | labeled | TP | FP | FN | precision | recall | F1 | overlap F1 | masking recall |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (e, s) in &scores {
        println!(
            "| {e} | {} | {} | {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.4} |",
            s.true_positives + s.false_negatives,
            s.true_positives,
            s.false_positives,
            s.false_negatives,
            s.precision(),
            s.recall(),
            s.f1(),
            s.overlap_f1(),
            s.masking_recall()
        );
    }
}
