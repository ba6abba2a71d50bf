//! What each entity type costs on a 2 KB prompt (best of several batches), to see where a
//! scan's time goes. Not a target; `scan` measures the targets.
//!
//! Run: `cargo bench -p datapact-pii --bench cost` (`ONLY=names` repeats one row for a profiler;
//! `TEXT_FILE=path` scans that file's text instead of the generated prompt)

use std::hint::black_box;
use std::time::{Duration, Instant};

use datapact_pii::{Analyzer, EntityType, Options};

mod common;
use common::email;

fn main() {
    let mut prompt = String::new();
    let mut j = 0;
    while prompt.len() < 2048 {
        prompt.push_str(&email(j));
        j += 1;
    }
    prompt.truncate(2040);
    if let Ok(path) = std::env::var("TEXT_FILE") {
        prompt = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("TEXT_FILE {path}: {e}"));
    }
    let analyzer = Analyzer::new();
    use EntityType::*;
    let rows: Vec<(&str, Option<Vec<EntityType>>)> = vec![
        ("all", None),
        ("names", Some(vec![Person, Location, StreetAddress])),
        ("secrets", Some(EntityType::SECRETS.to_vec())),
        ("phone", Some(vec![PhoneNumber])),
        ("url", Some(vec![Url])),
        ("email", Some(vec![EmailAddress])),
        ("iban", Some(vec![IbanCode])),
        ("crypto", Some(vec![Crypto])),
        ("ip", Some(vec![IpAddress])),
        ("date", Some(vec![DateTime])),
        ("card", Some(vec![CreditCard])),
        ("ssn", Some(vec![UsSsn])),
        ("us ids", Some(vec![UsItin, UsPassport, UsDriverLicense, UsBankNumber])),
        ("nhs+dea", Some(vec![UkNhs, MedicalLicense])),
        ("none", Some(vec![])),
    ];
    let only = std::env::var("ONLY").ok();
    for (name, entities) in rows {
        let opts = Options {
            entities,
            ..Options::default()
        };
        for _ in 0..200 {
            analyzer.analyze(&prompt, &opts);
        }
        let batches = if only.as_deref() == Some(name) { 600 } else { 10 };
        let mut best = Duration::MAX;
        for _ in 0..batches {
            let t = Instant::now();
            for _ in 0..500 {
                black_box(analyzer.analyze(black_box(&prompt), &opts));
            }
            best = best.min(t.elapsed() / 500);
        }
        println!("{name:8} {best:?}");
    }
}
