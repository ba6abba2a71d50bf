//! Quality on the generated corpus: the structured identifiers are found exactly, look-alike
//! decoys are not reported, and almost nothing would leak through masking; names, places and
//! street addresses are found from lexicons, cues and the address grammar.

use datapact_pii::eval::{corpus, evaluate};
use datapact_pii::{Analyzer, EntityType, Options};

#[test]
fn structured_identifiers_on_the_generated_corpus() {
    let samples = corpus(1400, 7);
    let scores = evaluate(&Analyzer::new(), &samples, &Options::default());
    for e in [
        EntityType::EmailAddress,
        EntityType::PhoneNumber,
        EntityType::CreditCard,
        EntityType::IbanCode,
        EntityType::UsSsn,
        EntityType::IpAddress,
        EntityType::Url,
        EntityType::DateTime,
        EntityType::Person,
        EntityType::Location,
        EntityType::StreetAddress,
    ] {
        let s = scores.get(&e).copied().unwrap_or_default();
        assert!(s.true_positives > 20, "{e}: too few samples ({s:?})");
        assert!(
            s.masking_recall() >= 0.98,
            "{e}: masking recall {:.3} ({s:?})",
            s.masking_recall()
        );
        assert!(s.f1() >= 0.95, "{e}: F1 {:.3} ({s:?})", s.f1());
    }
    // Decoys (order, tracking, invoice, SKU, version, ticket numbers, a card failing Luhn)
    // sit in every sample: nothing outside the labels may be reported for these types.
    for (e, s) in &scores {
        assert!(
            s.false_positives * 50 <= s.true_positives + s.false_negatives + 1,
            "{e}: {} false positives ({s:?})",
            s.false_positives
        );
    }
}

type Labeled = datapact_pii::eval::Labeled;
/// One list of spans per text.
type PerText = Vec<Vec<Labeled>>;

/// Scans a labeled JSONL corpus (`{"text", "spans": [{start, end, type}], "decoys"?: [{start,
/// end, kind}]}`, offsets in code points): its labels, what the analyzer reports, its decoys.
fn scan_labeled(jsonl: &str) -> (PerText, PerText, PerText) {
    let analyzer = Analyzer::new();
    let (mut gold, mut predicted, mut decoys) = (Vec::new(), Vec::new(), Vec::new());
    let spans = |v: &serde_json::Value, key: &str, field: &str| -> Vec<Labeled> {
        v[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| {
                        (
                            s["start"].as_u64().unwrap() as usize,
                            s["end"].as_u64().unwrap() as usize,
                            s[field].as_str().unwrap().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    for line in jsonl.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let text = v["text"].as_str().unwrap();
        gold.push(spans(&v, "spans", "type"));
        decoys.push(spans(&v, "decoys", "kind"));
        let mut found = analyzer.analyze(text, &Options::default());
        datapact_pii::to_char_offsets(text, &mut found);
        predicted.push(found.iter().map(|s| (s.start, s.end, s.entity.to_string())).collect());
    }
    (gold, predicted, decoys)
}

/// Each type's F1 and masking recall are at least their floors.
fn assert_floors(scores: &std::collections::BTreeMap<String, datapact_pii::eval::Scores>, floors: &[(&str, f64, f64)]) {
    for &(t, min_f1, min_masking) in floors {
        let s = scores[t];
        assert!(s.f1() >= min_f1, "{t}: F1 {:.3} < {min_f1} ({s:?})", s.f1());
        assert!(
            s.masking_recall() >= min_masking,
            "{t}: masking recall {:.3} < {min_masking} ({s:?})",
            s.masking_recall()
        );
    }
}

/// The held-out corpus (`data/eval/heldout.jsonl`): 300 texts written apart from the
/// recognizers, in other shapes than the generator's. Floors sit a little under what the
/// engine scores today, so a change that loses recall or precision there fails.
#[test]
fn held_out_corpus() {
    let (gold, predicted, _) = scan_labeled(include_str!("../data/eval/heldout.jsonl"));
    let scores = datapact_pii::eval::score(&gold, &predicted);
    assert_floors(
        &scores,
        &[
            ("EMAIL_ADDRESS", 0.98, 0.98),
            ("PHONE_NUMBER", 0.95, 0.98),
            ("CREDIT_CARD", 0.98, 0.98),
            ("IBAN_CODE", 0.95, 0.98),
            ("US_SSN", 0.98, 0.98),
            ("IP_ADDRESS", 0.98, 0.98),
            ("PERSON", 0.92, 0.93),
            ("LOCATION", 0.85, 0.87),
            ("STREET_ADDRESS", 0.85, 0.90),
        ],
    );
}

/// The development part of the independent corpus (`data/eval-independent/dev.jsonl`, 1,600
/// messages in seven languages, a decoy in each, 28 % without personal data). Floors sit a
/// little under today's scores: a change that loses names, places or addresses, or that flags
/// more messages without personal data, fails here before it reaches the blind part.
#[test]
fn independent_corpus_development_part() {
    let (gold, predicted, decoys) = scan_labeled(include_str!("../data/eval-independent/dev.jsonl"));
    let scores = datapact_pii::eval::score(&gold, &predicted);
    assert_floors(
        &scores,
        &[
            ("PERSON", 0.975, 0.98),
            ("LOCATION", 0.965, 0.965),
            ("STREET_ADDRESS", 0.96, 0.975),
            ("PHONE_NUMBER", 0.97, 0.97),
            ("EMAIL_ADDRESS", 0.99, 0.99),
            // Birth dates: the dates near a birth word, in the seven languages.
            ("DATE_TIME", 0.98, 0.98),
        ],
    );
    let summary = datapact_pii::eval::summarize(&scores, &gold, &predicted, &decoys);
    let clean = summary.clean_texts_flagged as f64 / summary.clean_texts as f64;
    assert!(
        clean <= 0.015,
        "{} of {} messages without personal data flagged",
        summary.clean_texts_flagged,
        summary.clean_texts
    );
    assert!(
        summary.secrets.recall() >= 0.99,
        "secrets recall {:.3}",
        summary.secrets.recall()
    );
    assert_eq!(
        summary.hash_decoys_flagged_as_secret, 0,
        "a hash or UUID taken for a secret"
    );
    let decoys_flagged = summary.decoys_flagged as f64 / summary.decoys as f64;
    assert!(decoys_flagged <= 0.01, "look-alikes flagged: {decoys_flagged:.3}");
}
