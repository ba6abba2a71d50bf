//! Prints what the analyzer misses and what it reports wrongly on the generated corpus, for one
//! entity type: the tool for working on a recognizer.
//!
//! Run: `cargo run --release -p datapact-pii --example misses -- PHONE_NUMBER [COUNT]`

use datapact_pii::eval::corpus;
use datapact_pii::{Analyzer, EntityType, Options};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(Ok(entity)) = args.next().map(|a| a.parse::<EntityType>()) else {
        eprintln!("usage: misses ENTITY_TYPE [COUNT]");
        std::process::exit(2);
    };
    let count: usize = args.next().and_then(|c| c.parse().ok()).unwrap_or(20);
    let analyzer = Analyzer::new();
    let (mut missed, mut wrong) = (0, 0);
    for s in corpus(10_000, 2026) {
        let found = analyzer.analyze(&s.text, &Options::default());
        for &(a, b, e) in &s.spans {
            if e == entity && !found.iter().any(|f| f.start == a && f.end == b && f.entity == e) {
                missed += 1;
                if missed <= count {
                    let got: Vec<String> = found
                        .iter()
                        .filter(|f| f.start < b && a < f.end)
                        .map(|f| format!("{} {:?} {:.2}", f.entity, &s.text[f.start..f.end], f.score))
                        .collect();
                    println!("MISSED {:?} got {got:?}\n    in {:?}", &s.text[a..b], s.text);
                }
            }
        }
        for f in found.iter().filter(|f| f.entity == entity) {
            if !s
                .spans
                .iter()
                .any(|&(a, b, e)| f.start == a && f.end == b && e == entity)
            {
                wrong += 1;
                if wrong <= count {
                    println!(
                        "WRONG {:?} ({:.2})\n    in {:?}",
                        &s.text[f.start..f.end],
                        f.score,
                        s.text
                    );
                }
            }
        }
    }
    println!("{missed} missed, {wrong} wrong");
}
