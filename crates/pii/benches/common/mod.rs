//! The text the speed benchmarks scan, and what they share around it (also the
//! `corpus_scan` example's, by path). Each uses a part.
#![allow(dead_code)]

use std::hint::black_box;

/// The generated corpus of mixed short messages the throughput target is read on (40,000
/// messages, seed 7).
pub fn mixed_corpus() -> Vec<String> {
    datapact_pii::eval::corpus(40_000, 7)
        .into_iter()
        .map(|s| s.text)
        .collect()
}

/// Both parts of the independent corpus, built into the binary (so one built from another tree
/// reads that tree's).
pub fn independent_corpus() -> Result<Vec<String>, String> {
    let parts = [
        ("dev.jsonl", include_str!("../../data/eval-independent/dev.jsonl")),
        ("blind.jsonl", include_str!("../../data/eval-independent/blind.jsonl")),
    ];
    let mut texts = Vec::new();
    for (name, file) in parts {
        for (n, line) in file.lines().enumerate() {
            let v: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("{name}:{}: {e}", n + 1))?;
            let text = v["text"].as_str().ok_or(format!("{name}:{}: no `text`", n + 1))?;
            texts.push(text.to_string());
        }
    }
    Ok(texts)
}

/// Writes over `clutter` (32 MiB when made by [`clutter`]), as a server's other work between
/// two scans does, evicting the engine's code and tables from the caches; `round` makes each
/// pass write new values.
pub fn clear_caches(clutter: &mut [u64], round: u64) {
    for (k, x) in clutter.iter_mut().enumerate() {
        *x = x.wrapping_add(k as u64 ^ round);
    }
    black_box(&clutter);
}

/// The buffer [`clear_caches`] writes: 32 MiB, beyond this machine's last-level cache.
pub fn clutter() -> Vec<u64> {
    vec![0u64; 4 << 20]
}

/// A support e-mail with a realistic density of identifiers and look-alikes (generated, not
/// taken from any corpus).
pub fn email(i: usize) -> String {
    format!(
        "Hi team,\n\nThis is Maria from Acme. Please update my contact details: my new e-mail is \
         maria.{i}@acme-health.example and my mobile is +1 415 555 {:04}. Our order #{} from last \
         week (tracking 9400 1000 0000 0000 {:04} 00) arrived damaged. I paid with card \
         4111 1111 1111 1111 on 2024-03-{:02}. Refunds go to IBAN DE89 3704 0044 0532 0130 00.\n\
         The app version 3.14.{} crashes when I open https://portal.acme-health.example/orders/{i}; \
         our server 10.0.{}.{} logs show nothing. My SSN is not needed, right?\n\nThanks,\nMaria\n\n",
        i % 10_000,
        100_000 + i,
        i % 10_000,
        1 + i % 28,
        i % 50,
        i % 256,
        (i * 7) % 256
    )
}
