//! A labeled evaluation corpus, generated from templates of e-mails, support tickets and chat
//! prompts with exact spans and look-alike decoys (no text from any existing corpus), and a
//! scorer: precision, recall and F1 per entity type (exact spans), and character-level masking
//! recall (how much of each type would leak).

use std::collections::BTreeMap;

use crate::analyzer::{Analyzer, Options};
use crate::entity::EntityType;

/// One labeled text.
#[derive(Debug, Clone)]
pub struct Sample {
    /// The text.
    pub text: String,
    /// The personal data in it: byte offsets and type.
    pub spans: Vec<(usize, usize, EntityType)>,
}

/// A small deterministic generator (xorshift), so the corpus is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
    fn digits(&mut self, n: usize) -> String {
        (0..n).map(|_| char::from(b'0' + self.below(10) as u8)).collect()
    }
}

const FIRST: &[&str] = &[
    "maria",
    "james",
    "aiko",
    "oluwaseun",
    "chen",
    "fatima",
    "lars",
    "priya",
    "diego",
    "noor",
];
const LAST: &[&str] = &[
    "garcia", "smith", "tanaka", "adeyemi", "wei", "haddad", "nilsen", "sharma", "lopez", "khan",
];
const DOMAINS: &[&str] = &[
    "example.com",
    "mail.example.org",
    "acme-health.example",
    "corp.example.co.uk",
];

/// Appends Luhn's check digit to `body`.
fn luhn_complete(body: &str) -> String {
    for d in 0..10 {
        let candidate = format!("{body}{d}");
        if crate::validate::luhn(&candidate) {
            return candidate;
        }
    }
    body.to_string()
}

/// An IBAN for `country` with `bban`, with its check digits computed (mod 97).
fn iban_for(country: &str, bban: &str) -> String {
    for check in 0..100 {
        let candidate = format!("{country}{check:02}{bban}");
        if crate::validate::iban(&candidate) {
            return candidate;
        }
    }
    String::new()
}

fn group4(s: &str) -> String {
    s.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A value of `entity`, as people write it.
fn value(r: &mut Rng, entity: EntityType) -> String {
    match entity {
        EntityType::EmailAddress => format!("{}.{}{}@{}", r.pick(FIRST), r.pick(LAST), r.below(100), r.pick(DOMAINS)),
        EntityType::PhoneNumber => match r.below(4) {
            0 => format!("+1 415 555 {}", r.digits(4)),
            1 => format!("+44 20 7946 {}", r.digits(4)),
            2 => format!("(212) 555-{}", r.digits(4)),
            _ => format!("+49 30 {} {}", r.digits(4), r.digits(4)),
        },
        EntityType::CreditCard => {
            let (prefix, len) = [("4", 16), ("51", 16), ("37", 15), ("6011", 16)][r.below(4) as usize];
            let body = format!("{prefix}{}", r.digits(len - prefix.len() - 1));
            let number = luhn_complete(&body);
            if len == 15 || r.below(2) == 0 {
                number
            } else {
                group4(&number)
            }
        }
        EntityType::IbanCode => {
            let iban = match r.below(3) {
                0 => iban_for("DE", &r.digits(18)),
                1 => iban_for("GB", &format!("WEST{}", r.digits(14))),
                _ => iban_for("NL", &format!("ABNA{}", r.digits(10))),
            };
            if r.below(2) == 0 { iban } else { group4(&iban) }
        }
        EntityType::IpAddress => {
            if r.below(3) == 0 {
                format!("2001:db8:{:x}::{:x}", r.below(65536), r.below(65536))
            } else {
                format!(
                    "{}.{}.{}.{}",
                    1 + r.below(223),
                    r.below(256),
                    r.below(256),
                    1 + r.below(254)
                )
            }
        }
        EntityType::UsSsn => loop {
            let s = format!(
                "{:03}-{:02}-{:04}",
                1 + r.below(665),
                1 + r.below(99),
                1 + r.below(9999)
            );
            if crate::validate::us_ssn(&s) {
                break s;
            }
        },
        EntityType::Url => format!("https://portal.example.com/tickets/{}", r.digits(6)),
        _ => String::new(),
    }
}

/// Text that looks like personal data and is not.
fn decoy(r: &mut Rng) -> String {
    match r.below(7) {
        0 => format!("order #{}", r.digits(8)),
        1 => format!("tracking 1Z{} {}", r.digits(6), r.digits(8)),
        2 => format!("invoice INV-{}-{}", r.digits(4), r.digits(5)),
        3 => format!("version {}.{}.{}", r.below(10), r.below(20), r.below(100)),
        4 => format!("SKU {}", r.digits(8)),
        5 => {
            // A card number that fails Luhn.
            let good = luhn_complete(&format!("4{}", r.digits(14)));
            let last = good.as_bytes()[15] - b'0';
            format!("ref {}{}", &good[..15], (last + 1) % 10)
        }
        _ => format!("ticket {}-{}", r.digits(3), r.digits(4)),
    }
}

const TEMPLATES: &[&str] = &[
    "Hi team,\nplease update my contact e-mail to {EMAIL_ADDRESS} and my phone to {PHONE_NUMBER}. About {DECOY}: it never arrived.\nThanks, {NAME}",
    "Support ticket: customer {NAME} reports a failed payment with card {CREDIT_CARD}; {DECOY} is attached. Call back on {PHONE_NUMBER}.",
    "Refunds go to IBAN {IBAN_CODE}. For {DECOY} see {URL}.",
    "Our server {IP_ADDRESS} rejected the login from {EMAIL_ADDRESS} after {DECOY}.",
    "Summarize this: the applicant {NAME}, SSN {US_SSN}, phone {PHONE_NUMBER}, asked about {DECOY}.",
    "Can you draft a reply to {EMAIL_ADDRESS}? They paid with {CREDIT_CARD} and want the money on {IBAN_CODE}.",
    "Logs show requests from {IP_ADDRESS} and {IP_ADDRESS}; {DECOY} and {DECOY} are unrelated.",
];

/// The generated corpus: `n` samples, the same for the same `seed`.
pub fn corpus(n: usize, seed: u64) -> Vec<Sample> {
    let mut r = Rng(seed | 1);
    (0..n)
        .map(|i| {
            let template = TEMPLATES[i % TEMPLATES.len()];
            let mut text = String::new();
            let mut spans = Vec::new();
            let mut rest = template;
            while let Some(open) = rest.find('{') {
                text.push_str(&rest[..open]);
                let close = open + rest[open..].find('}').unwrap_or(0);
                let slot = &rest[open + 1..close];
                match slot {
                    "DECOY" => text.push_str(&decoy(&mut r)),
                    "NAME" => {
                        let name = format!("{} {}", r.pick(FIRST), r.pick(LAST));
                        text.push_str(&name);
                    }
                    other => {
                        if let Ok(entity) = other.parse::<EntityType>() {
                            let v = value(&mut r, entity);
                            spans.push((text.len(), text.len() + v.len(), entity));
                            text.push_str(&v);
                        }
                    }
                }
                rest = &rest[close + 1..];
            }
            text.push_str(rest);
            Sample { text, spans }
        })
        .collect()
}

/// Scores of one entity type.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Scores {
    /// Spans found exactly.
    pub true_positives: usize,
    /// Spans reported that are not in the labels (or not exactly).
    pub false_positives: usize,
    /// Labeled spans not found exactly.
    pub false_negatives: usize,
    /// Characters of this type's labeled spans covered by some reported span.
    pub masked_chars: usize,
    /// Characters of this type's labeled spans.
    pub total_chars: usize,
}

impl Scores {
    /// Precision.
    pub fn precision(&self) -> f64 {
        ratio(self.true_positives, self.true_positives + self.false_positives)
    }
    /// Recall.
    pub fn recall(&self) -> f64 {
        ratio(self.true_positives, self.true_positives + self.false_negatives)
    }
    /// F1.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
    }
    /// Character-level masking recall.
    pub fn masking_recall(&self) -> f64 {
        ratio(self.masked_chars, self.total_chars)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// Runs the analyzer over `samples` and scores it per entity type.
pub fn evaluate(analyzer: &Analyzer, samples: &[Sample], opts: &Options) -> BTreeMap<EntityType, Scores> {
    let mut out: BTreeMap<EntityType, Scores> = BTreeMap::new();
    for s in samples {
        let found = analyzer.analyze(&s.text, opts);
        for &(a, b, e) in &s.spans {
            let sc = out.entry(e).or_default();
            if found.iter().any(|f| f.start == a && f.end == b && f.entity == e) {
                sc.true_positives += 1;
            } else {
                sc.false_negatives += 1;
            }
            sc.total_chars += s.text[a..b].chars().count();
            sc.masked_chars += s.text[a..b]
                .char_indices()
                .filter(|(i, _)| found.iter().any(|f| f.start <= a + i && a + i < f.end))
                .count();
        }
        for f in &found {
            if !s
                .spans
                .iter()
                .any(|&(a, b, e)| f.start == a && f.end == b && f.entity == e)
            {
                out.entry(f.entity).or_default().false_positives += 1;
            }
        }
    }
    out
}
