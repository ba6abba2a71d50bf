//! Prints what the analyzer misses and what it reports wrongly on a labeled JSONL corpus
//! (`{"text", "spans": [{"start", "end", "type"}], "decoys"?: [...]}`, offsets in code points),
//! for one entity type or all: the tool for working on the development part of a corpus.
//!
//! Run: `cargo run --release -p datapact-pii --example errors -- FILE [TYPE|all] [COUNT]`

use datapact_pii::{Analyzer, Options};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: errors FILE [TYPE|all] [COUNT]");
        std::process::exit(2);
    };
    let only = args.next().unwrap_or_else(|| "all".into());
    let count: usize = args.next().and_then(|c| c.parse().ok()).unwrap_or(30);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let analyzer = Analyzer::new();
    let (mut missed, mut wrong) = (0, 0);
    let wanted = |t: &str| only == "all" || only == t;
    for (n, line) in text.lines().enumerate() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            eprintln!("{path}:{}: not JSON", n + 1);
            std::process::exit(1);
        };
        let Some(t) = v["text"].as_str() else { continue };
        let chars: Vec<char> = t.chars().collect();
        let slice = |a: usize, b: usize| chars[a.min(chars.len())..b.min(chars.len())].iter().collect::<String>();
        let spans = |key: &str, field: &str| -> Vec<(usize, usize, String)> {
            v[key]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|s| {
                            (
                                s["start"].as_u64().unwrap_or(0) as usize,
                                s["end"].as_u64().unwrap_or(0) as usize,
                                s[field].as_str().unwrap_or("").to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let gold = spans("spans", "type");
        let decoys = spans("decoys", "kind");
        let mut found = analyzer.analyze(t, &Options::default());
        datapact_pii::to_char_offsets(t, &mut found);
        let found: Vec<(usize, usize, String, f32)> = found
            .iter()
            .map(|s| (s.start, s.end, s.entity.to_string(), s.score))
            .collect();
        let id = v["id"]
            .as_str()
            .map_or_else(|| format!("line {}", n + 1), str::to_string);
        for (a, b, ty) in &gold {
            if wanted(ty) && !found.iter().any(|f| f.0 == *a && f.1 == *b && f.2 == *ty) {
                missed += 1;
                if missed <= count {
                    let got: Vec<String> = found
                        .iter()
                        .filter(|f| f.0 < *b && *a < f.1)
                        .map(|f| format!("{} {:?} {:.2}", f.2, slice(f.0, f.1), f.3))
                        .collect();
                    let ctx = slice(a.saturating_sub(60), b + 40);
                    println!("MISSED {ty} {:?} got {got:?} [{id}]\n    …{ctx:?}…", slice(*a, *b));
                }
            }
        }
        for (a, b, ty, score) in &found {
            if wanted(ty) && !gold.iter().any(|g| g.0 == *a && g.1 == *b && g.2 == *ty) {
                wrong += 1;
                if wrong <= count {
                    let over: Vec<String> = gold
                        .iter()
                        .filter(|g| g.0 < *b && *a < g.1)
                        .map(|g| format!("{} {:?}", g.2, slice(g.0, g.1)))
                        .chain(
                            decoys
                                .iter()
                                .filter(|d| d.0 < *b && *a < d.1)
                                .map(|d| format!("decoy {} {:?}", d.2, slice(d.0, d.1))),
                        )
                        .collect();
                    let ctx = slice(a.saturating_sub(60), b + 40);
                    println!(
                        "WRONG {ty} {:?} {score:.2} over {over:?} [{id}]\n    …{ctx:?}…",
                        slice(*a, *b)
                    );
                }
            }
        }
    }
    println!("{missed} missed, {wrong} wrong");
}
