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
