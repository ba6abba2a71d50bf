//! Inputs built to make a scanner slow or wrong: long runs of digits, of `@`, of separators;
//! and arbitrary text, which must never panic or yield spans outside character boundaries.

use datapact_pii::{Analyzer, Operator, Options, Pseudonymizer, anonymize, to_char_offsets};
use proptest::prelude::*;

fn scan(text: &str) -> usize {
    Analyzer::new().analyze(text, &Options::default()).len()
}

/// The fastest of three runs of `f`, in seconds.
fn best_of_three(f: &dyn Fn()) -> f64 {
    (0..3)
        .map(|_| {
            let t = std::time::Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// Asserts that `work(n)` grows linearly: four times the input takes well under the sixteen
/// times a quadratic scan would (a ratio of two sizes on this machine, not a wall-clock limit).
fn assert_linear(what: &str, n: usize, work: impl Fn(usize)) {
    work(n); // warm up (lexicons, automata)
    let small = best_of_three(&|| work(n));
    let large = best_of_three(&|| work(4 * n));
    let ratio = large / small.max(1e-6);
    assert!(
        ratio < 9.0,
        "{what}: 4x the input took {ratio:.1}x the time ({small:.4}s, {large:.4}s)"
    );
}

#[test]
fn worst_case_inputs_scan_in_linear_time_and_find_nothing_absurd() {
    // Each shape once at 10 MiB: it finishes, and what it finds is what it should.
    assert_eq!(scan(&"7".repeat(10 * 1024 * 1024)), 0);
    assert_eq!(scan(&"@".repeat(10 * 1024 * 1024)), 0);
    // A link to a profile is personal data (a link to a page is not).
    let mut urls = String::from("https://example.com/in/");
    urls.push_str(&"x".repeat(5 * 1024 * 1024));
    assert_eq!(scan(&urls), 1);
    // Separator runs: the counts found at one size, checked to scale with the input.
    // Expected spans per repetition count: none, except "1.1.1.1" (an IP address every four
    // repetitions) and one run of `a:a:...` taken as a single (implausible) value.
    type Shape = (&'static str, &'static str, fn(usize) -> usize);
    let shapes: [Shape; 6] = [
        ("digits", "7", |_| 0),
        ("at signs", "@", |_| 0),
        ("digit-dash", "1-", |_| 0),
        ("digit-dot", "1.", |n| n / 4),
        ("colons", "a:", |_| 1),
        ("mail-like", "a@b.", |_| 0),
    ];
    for (what, unit, expected) in shapes {
        let reps = 256 * 1024 / unit.len();
        assert_eq!(scan(&unit.repeat(reps)), expected(reps), "{what}");
        assert_eq!(scan(&unit.repeat(4 * reps)), expected(4 * reps), "{what} at 4x");
        assert_linear(what, reps, |n| {
            scan(&unit.repeat(n));
        });
    }
}

#[test]
fn restoring_an_answer_full_of_angle_brackets_is_linear() {
    let mut p = Pseudonymizer::new();
    let text = "write to maria.garcia@customer.example";
    let spans = Analyzer::new().analyze(text, &Options::default());
    let masked = anonymize(text, &spans, &Operator::Pseudonymize, &mut p).unwrap();
    assert!(masked.contains("<EMAIL_ADDRESS_1>"), "{masked}");
    let answer = |n: usize| format!("{}{masked}", "<".repeat(n));
    let restored = p.restore(&answer(1000));
    assert_eq!(restored, format!("{}{text}", "<".repeat(1000)));
    assert_linear("restore", 200_000, |n| {
        let out = p.restore(&answer(n));
        assert!(out.ends_with(text));
    });
    // Streamed in chunks the same way.
    assert_linear("streamed restore", 200_000, |n| {
        let mut r = p.restorer();
        let whole = answer(n);
        let mut out = String::new();
        for chunk in whole.as_bytes().chunks(4096) {
            out.push_str(&r.push(std::str::from_utf8(chunk).unwrap()));
        }
        out.push_str(&r.finish());
        assert!(out.ends_with(text));
    });
}

/// Shapes built against the secret, table and address passes: each anchor reading ahead or
/// back must not read again what another read (found by review, before they were bounded).
#[test]
fn secret_anchors_tables_and_chat_lines_scan_in_linear_time() {
    let shapes: [(&str, String); 10] = [
        ("mysql -p on one line", " -p".into()),
        ("AWS key ids glued by slashes", "AKIAABCDEFGHIJKLMNOP/".into()),
        ("lowercase place cues", "in qzxv ".into()),
        ("apostrophes before capitals", "Qx''".into()),
        ("JWT starts in one run", "eyJ-".into()),
        ("PEM headers without END", "-----BEGIN PRIVATE KEY-----!".into()),
        ("database schemes", "mysql://".into()),
        ("password keys with values", "pw=x;".into()),
        ("Azure keys", "AccountKey=".into()),
        ("table rows", "+49 30 1234 5678;4006381333931;x\n".into()),
    ];
    for (what, unit) in shapes {
        let text = |n: usize| {
            let mut t = if what == "table rows" {
                "id;sku;ean\n".to_string()
            } else {
                String::new()
            };
            t.push_str(&unit.repeat(n));
            t
        };
        scan(&text(1000));
        assert_linear(what, 64 * 1024 / unit.len(), |n| {
            scan(&text(n));
        });
    }
    // Non-ASCII text after anchors that read a bounded window never splits a character.
    for t in [
        format!("x://{}", "€".repeat(1400)),
        format!("jdbc:{}", "€".repeat(1400)),
        format!("mysql -p{}", "€".repeat(100)),
        "Die Hauptstraße für Radfahrer".to_string(),
        "Rua Augusta não tem".to_string(),
        "Hauptstraße 😀".to_string(),
    ] {
        scan(&t);
    }
}

/// Shapes built against the patterns matched from where their matches can start (the e-mail's,
/// the card's): every word start of a local part before an `@` is tried, and each try reads on
/// through a domain that never ends well; every digit starting a word is tried as a card's.
#[test]
fn patterns_tried_at_each_start_scan_in_linear_time() {
    let local = format!("{}a@{} ", "a.".repeat(31), "b1.".repeat(60));
    let shapes: [(&str, &str); 3] = [
        ("local parts of many words before each @", &local),
        ("digits starting words", "1 "),
        ("digit groups a card's length apart", "4111 1111 1111 111 x "),
    ];
    for (what, unit) in shapes {
        let found = scan(&unit.repeat(1000));
        assert_eq!(scan(&unit.repeat(4000)), 4 * found, "{what}");
        assert_linear(what, 64 * 1024 / unit.len(), |n| {
            scan(&unit.repeat(n));
        });
    }
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
