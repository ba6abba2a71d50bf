//! What each entity type costs on a 2 KB prompt (best of several batches), to see where a
//! scan's time goes. Not a target; `scan` measures the targets.
//!
//! Run: `cargo bench -p datapact-pii --bench cost` (`ONLY=names` repeats one row for a profiler)

use std::hint::black_box;
use std::time::{Duration, Instant};

use datapact_pii::{Analyzer, EntityType, Options};

fn main() {
    let mut prompt = String::new();
    let mut j = 0;
    while prompt.len() < 2048 {
        prompt.push_str(&format!(
            "Hi team,\n\nThis is Maria from Acme. Please update my contact details: my new e-mail is \
             maria.{j}@acme-health.example and my mobile is +1 415 555 {:04}. Our order #{} from last \
             week (tracking 9400 1000 0000 0000 {:04} 00) arrived damaged. I paid with card \
             4111 1111 1111 1111 on 2024-03-{:02}. Refunds go to IBAN DE89 3704 0044 0532 0130 00.\n\
             The app version 3.14.{} crashes when I open https://portal.acme-health.example/orders/{j}; \
             our server 10.0.{}.{} logs show nothing. My SSN is not needed, right?\n\nThanks,\nMaria\n\n",
            j % 10_000,
            100_000 + j,
            j % 10_000,
            1 + j % 28,
            j % 50,
            j % 256,
            (j * 7) % 256
        ));
        j += 1;
    }
    prompt.truncate(2040);
    let analyzer = Analyzer::new();
    use EntityType::*;
    let rows: Vec<(&str, Option<Vec<EntityType>>)> = vec![
        ("all", None),
        ("names", Some(vec![Person, Location])),
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
