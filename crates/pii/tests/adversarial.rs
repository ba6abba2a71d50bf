//! Inputs built to make a scanner slow or wrong: long runs of digits, of `@`, of separators;
//! and arbitrary text, which must never panic or yield spans outside character boundaries.

use datapact_pii::{Analyzer, Operator, Options, Pseudonymizer, anonymize, to_char_offsets};
use proptest::prelude::*;

fn scan(text: &str) -> usize {
    Analyzer::new().analyze(text, &Options::default()).len()
}

#[test]
fn worst_case_inputs_finish_and_find_nothing_absurd() {
    // Linear-time automata: each of these is one pass per recognizer, whatever its shape.
    assert_eq!(scan(&"7".repeat(10 * 1024 * 1024)), 0);
    assert_eq!(scan(&"@".repeat(10 * 1024 * 1024)), 0);
    let separators = "1-".repeat(2 * 1024 * 1024);
    let _ = scan(&separators);
    let dots = "1.".repeat(2 * 1024 * 1024);
    let _ = scan(&dots);
    let colons = "a:".repeat(2 * 1024 * 1024);
    let _ = scan(&colons);
    let mails = "a@b.".repeat(1024 * 1024);
    let _ = scan(&mails);
    let mut urls = String::from("https://");
    urls.push_str(&"x".repeat(5 * 1024 * 1024));
    assert_eq!(scan(&urls), 1);
}

#[test]
fn empty_input_has_no_spans() {
    assert_eq!(scan(""), 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn spans_are_ordered_disjoint_and_on_char_boundaries(text in "[a-zA-Z0-9 @.:/+()\\-_#ü€\\n]{0,400}") {
        let analyzer = Analyzer::new();
        let spans = analyzer.analyze(&text, &Options { min_score: 0.0, ..Options::default() });
        let mut last = 0;
        for s in &spans {
            prop_assert!(s.start >= last && s.start < s.end && s.end <= text.len());
            prop_assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end));
            prop_assert!((0.0..=1.0).contains(&s.score));
            last = s.end;
        }
        let masked = anonymize(&text, &spans, &Operator::Replace, &mut Pseudonymizer::new()).unwrap();
        prop_assert!(masked.len() <= text.len() + spans.len() * 20);
        let mut p = Pseudonymizer::new();
        let pseudo = anonymize(&text, &spans, &Operator::Pseudonymize, &mut p).unwrap();
        // Restoring placeholders gives back the text, unless the text itself held placeholder-like words.
        if !text.contains('<') {
            prop_assert_eq!(p.restore(&pseudo), text.clone());
        }
        let mut chars = spans.clone();
        to_char_offsets(&text, &mut chars);
        let cps: Vec<char> = text.chars().collect();
        for (b, c) in spans.iter().zip(&chars) {
            let by_chars: String = cps[c.start..c.end].iter().collect();
            prop_assert_eq!(&text[b.start..b.end], by_chars.as_str());
        }
    }
}
