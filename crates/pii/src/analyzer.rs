//! The analyzer: pattern recognizers with validators, context words that raise a candidate's
//! score, words that lower it, and overlap resolution. Every pattern runs on `regex-automata`
//! (finite automata, linear time in the input): no input can make a scan slow. Recognizers of
//! numeric identifiers run only over the regions around digits, found in one pass, and the
//! e-mail recognizer only around `@`, so most of a text is scanned by a handful of automata
//! rather than by all of them.

use regex_automata::Input;
use regex_automata::meta::Regex;

use crate::entity::EntityType;
use crate::validate;

/// A detected entity: byte offsets into the text (end exclusive), its type and score.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// What it is.
    #[serde(rename = "type")]
    pub entity: EntityType,
    /// Confidence, 0 to 1.
    pub score: f32,
}

/// What a validator says of a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// A valid identifier of this kind: the recognizer's validated score.
    Valid,
    /// Not one: dropped.
    Invalid,
    /// Cannot tell: the base score stands.
    Unknown,
}

type Validator = fn(&str) -> Check;

/// One recognizer: a pattern, an optional validator, and context.
struct Recognizer {
    entity: EntityType,
    pattern: Regex,
    /// Score of a candidate no validator vouched for.
    base: f32,
    /// Score of a candidate its validator accepted.
    validated: f32,
    validator: Option<Validator>,
    /// Words near a candidate that make it likelier (lowercase).
    context: &'static [&'static str],
    /// How much a context word adds.
    boost: f32,
    /// Where its matches can be, and so what must be scanned.
    scope: Scope,
}

/// The part of a text a recognizer scans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// All of it.
    Whole,
    /// Regions around digits: every match holds one.
    Digits,
    /// Regions around `@`: an e-mail address holds one, with at most 64 bytes before it.
    AroundAt,
}

/// The regions around each `@` that an e-mail address through it could span, merged.
fn at_regions(text: &str) -> Vec<(usize, usize)> {
    let mut regions: Vec<(usize, usize)> = Vec::new();
    for (i, _) in text.match_indices('@') {
        let mut a = i.saturating_sub(64);
        while !text.is_char_boundary(a) {
            a -= 1;
        }
        let mut b = (i + 256).min(text.len());
        while !text.is_char_boundary(b) {
            b += 1;
        }
        match regions.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => regions.push((a, b)),
        }
    }
    regions
}

/// Words near a number that say it is not personal data (lowercase).
const NEGATIVE_CONTEXT: &[&str] = &[
    "order",
    "invoice",
    "tracking",
    "sku",
    "ticket",
    "ref",
    "reference",
    "version",
    "build",
    "case #",
    "item",
    "serial",
    "part no",
    "model",
];

/// How far before a candidate context is looked for, in bytes.
const CONTEXT_BEFORE: usize = 48;
/// How far after a candidate context is looked for, in bytes.
const CONTEXT_AFTER: usize = 16;

fn ok_if(b: bool) -> Check {
    if b { Check::Valid } else { Check::Invalid }
}

fn digit_count(s: &str) -> usize {
    s.bytes().filter(u8::is_ascii_digit).count()
}

fn phone(s: &str) -> Check {
    let n = digit_count(s);
    if !(7..=15).contains(&n) || is_date(s) {
        return Check::Invalid;
    }
    if s.starts_with('+') || s.contains('(') {
        Check::Valid
    } else {
        Check::Unknown
    }
}

fn is_date(s: &str) -> bool {
    date(s) == Check::Valid
}

/// A numeric date whose month and day are in range (either order), or an ISO date-time.
fn date(s: &str) -> Check {
    let parts: Vec<u32> = s
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .take(3)
        .filter_map(|p| p.parse().ok())
        .collect();
    let [a, b, c] = parts[..] else {
        return Check::Unknown;
    };
    let (y, m, d) = if a > 31 {
        (a, b, c)
    } else if b > 12 {
        (c, a, b)
    } else {
        (c, b, a)
    };
    let year_ok = y < 100 || (1900..=2100).contains(&y);
    ok_if(year_ok && (1..=12).contains(&m) && (1..=31).contains(&d))
}

/// DEA registration number checksum.
fn dea(s: &str) -> Check {
    let d: Vec<u32> = s
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| (b - b'0') as u32)
        .collect();
    if d.len() != 7 {
        return Check::Invalid;
    }
    ok_if((d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10 == d[6])
}

/// Compiles a pattern with ASCII word boundaries: Unicode `\b` keeps the fast automata from
/// running on non-ASCII text.
fn re(p: &str) -> Regex {
    let p = p.replace(r"\b", r"(?-u:\b)");
    // The patterns are fixed at compile time and covered by tests; a bad one is a bug here.
    #[allow(clippy::expect_used)]
    Regex::new(&p).expect("built-in PII pattern")
}

fn recognizers() -> Vec<Recognizer> {
    use EntityType::*;
    let r = |entity, pattern: &str, base, validated, validator: Option<Validator>, context, boost| Recognizer {
        entity,
        pattern: re(pattern),
        base,
        validated,
        validator,
        context,
        boost,
        scope: if entity == EmailAddress {
            Scope::AroundAt
        } else if matches!(entity, Url | IbanCode | Crypto)
            || pattern.contains("0-9a-f")
            || pattern.contains("jan(?:uary)")
        {
            Scope::Whole
        } else {
            Scope::Digits
        },
    };
    const PHONE_CTX: &[&str] = &[
        "phone", "call", "tel", "mobile", "cell", "fax", "reach me", "whatsapp", "text me", "number", "contact",
    ];
    const SSN_CTX: &[&str] = &["ssn", "social security", "social sec"];
    vec![
        r(
            EmailAddress,
            r"(?i)\b[a-z0-9][a-z0-9._%+-]{0,63}@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}\b",
            1.0,
            1.0,
            None,
            &[],
            0.0,
        ),
        r(Url, r#"(?i)\b(?:https?://|www\.)[^\s<>"'`]+"#, 0.6, 0.6, None, &[], 0.0),
        r(
            IpAddress,
            r"\b(?:\d{1,3}\.){3}\d{1,3}\b",
            0.4,
            0.95,
            Some(|s| ok_if(validate::ip(s))),
            &["ip", "address", "server", "host"],
            0.05,
        ),
        r(
            IpAddress,
            r"(?i)\b(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}\b|::(?:[0-9a-f]{0,4}:){0,6}[0-9a-f]{1,4}\b",
            0.4,
            0.95,
            Some(|s| ok_if(s.parse::<std::net::Ipv6Addr>().is_ok() && s.len() >= 3)),
            &["ip", "address", "server", "host"],
            0.05,
        ),
        r(
            CreditCard,
            r"\b(?:\d[ -]?){12,18}\d\b",
            0.0,
            1.0,
            Some(|s| ok_if(validate::credit_card(s))),
            &["card", "visa", "mastercard", "amex", "credit", "debit", "cc"],
            0.0,
        ),
        r(
            IbanCode,
            r"(?i)\b[a-z]{2}\d{2}(?:[ -]?[a-z0-9]{4}){2,7}(?:[ -]?[a-z0-9]{1,4})?\b",
            0.0,
            1.0,
            Some(|s| ok_if(validate::iban(s))),
            &[],
            0.0,
        ),
        r(
            Crypto,
            r"\b(?:[13][a-km-zA-HJ-NP-Z1-9]{25,34}|(?:bc1|BC1)[a-zA-Z0-9]{25,62})\b",
            0.0,
            1.0,
            Some(|s| ok_if(validate::bitcoin(s))),
            &[],
            0.0,
        ),
        r(
            UsSsn,
            r"\b\d{3}[- .]\d{2}[- .]\d{4}\b",
            0.5,
            0.5,
            Some(|s| {
                if validate::us_ssn(s) {
                    Check::Unknown
                } else {
                    Check::Invalid
                }
            }),
            SSN_CTX,
            0.35,
        ),
        r(
            UsSsn,
            r"\b\d{9}\b",
            0.1,
            0.1,
            Some(|s| {
                if validate::us_ssn(s) {
                    Check::Unknown
                } else {
                    Check::Invalid
                }
            }),
            SSN_CTX,
            0.5,
        ),
        r(
            UsItin,
            r"\b9\d{2}[- ]?\d{2}[- ]?\d{4}\b",
            0.3,
            0.3,
            Some(|s| {
                if validate::us_itin(s) {
                    Check::Unknown
                } else {
                    Check::Invalid
                }
            }),
            &["itin", "taxpayer", "tax id"],
            0.5,
        ),
        r(
            UkNhs,
            r"\b\d{3}[- ]?\d{3}[- ]?\d{4}\b",
            0.0,
            0.4,
            Some(|s| ok_if(validate::uk_nhs(s))),
            &["nhs", "health service", "national health"],
            0.45,
        ),
        r(
            PhoneNumber,
            r"(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\b\d{2,4}(?:[\s.-]\d{2,4}){1,4}\b",
            0.4,
            0.7,
            Some(phone),
            PHONE_CTX,
            0.35,
        ),
        r(
            DateTime,
            r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b|\b\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})\b",
            0.0,
            0.6,
            Some(date),
            &["born", "birth", "dob", "date"],
            0.2,
        ),
        r(
            DateTime,
            r"(?i)\b(?:\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?)?(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?(?:\s+\d{1,2}(?:st|nd|rd|th)?)?,?\s+\d{4}\b",
            0.6,
            0.6,
            None,
            &["born", "birth", "dob", "date"],
            0.2,
        ),
        r(UsPassport, r"\b[A-Z]?\d{8,9}\b", 0.05, 0.05, None, &["passport"], 0.6),
        r(
            UsDriverLicense,
            r"\b[A-Z]\d{3,14}\b|\b[A-Z]{1,2}\d{5,8}\b",
            0.05,
            0.05,
            None,
            &["driver", "license", "licence", "dl #", "dl:", "dmv"],
            0.6,
        ),
        r(
            UsBankNumber,
            r"\b\d{8,17}\b",
            0.05,
            0.05,
            None,
            &["account", "acct", "bank", "routing", "checking", "savings"],
            0.5,
        ),
        r(
            MedicalLicense,
            r"\b[ABFGMPRXabfgmprx][A-Za-z9]\d{7}\b",
            0.3,
            0.6,
            Some(dea),
            &["dea", "medical license", "license", "prescriber"],
            0.3,
        ),
    ]
}

/// What to look for.
#[derive(Debug, Clone)]
pub struct Options {
    /// Only these entity types (all when `None`).
    pub entities: Option<Vec<EntityType>>,
    /// Spans scoring below this are dropped.
    pub min_score: f32,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            entities: None,
            min_score: 0.5,
        }
    }
}

/// Finds personal data in text. Build once, share freely (it is `Send + Sync`).
pub struct Analyzer {
    recognizers: Vec<Recognizer>,
    /// Runs of digits with the separators identifiers use between them.
    digits: Regex,
}

/// Letters or digits a numeric identifier may carry around its digits (`A1234567`, `+1`).
const REGION_PAD: usize = 16;

/// The regions around digit runs, extended over adjacent letters and digits and merged.
fn digit_regions(digits: &Regex, text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut regions: Vec<(usize, usize)> = Vec::new();
    for m in digits.find_iter(text) {
        let (mut a, mut b) = (m.start(), m.end());
        let floor = a.saturating_sub(REGION_PAD);
        while a > floor && (bytes[a - 1].is_ascii_alphanumeric() || matches!(bytes[a - 1], b'+' | b'(')) {
            a -= 1;
        }
        let ceil = (b + REGION_PAD).min(bytes.len());
        while b < ceil && bytes[b].is_ascii_alphanumeric() {
            b += 1;
        }
        match regions.last_mut() {
            Some(last) if a <= last.1 + 1 => last.1 = last.1.max(b),
            _ => regions.push((a, b)),
        }
    }
    regions
}

impl Default for Analyzer {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether `word` occurs in `hay` as a word (not inside another: "on" is not in "version").
/// A word may end in a plural `s` ("numbers" for "number").
/// `hay` is ASCII-lowercased already; `word` is lowercase.
fn has_word(hay: &[u8], word: &str) -> bool {
    let w = word.as_bytes();
    if w.is_empty() || hay.len() < w.len() {
        return false;
    }
    let last = hay.len() - w.len();
    let mut i = 0;
    while i <= last {
        let Some(p) = hay[i..=last].iter().position(|&c| c == w[0]) else {
            return false;
        };
        let a = i + p;
        if &hay[a..a + w.len()] == w {
            let mut b = a + w.len();
            if b < hay.len() && hay[b] == b's' {
                b += 1;
            }
            let before = a == 0 || !hay[a - 1].is_ascii_alphanumeric();
            let after = b >= hay.len() || !hay[b].is_ascii_alphanumeric();
            if before && after {
                return true;
            }
        }
        i = a + 1;
    }
    false
}

/// The text before and after a candidate where context words count, ASCII-lowercased into a
/// buffer on the stack (matching is ASCII, so byte slices need no character boundaries).
struct Window {
    buf: [u8; CONTEXT_BEFORE + CONTEXT_AFTER],
    before: usize,
    after: usize,
}

impl Window {
    fn new(text: &str, start: usize, end: usize) -> Self {
        let bytes = text.as_bytes();
        let before = &bytes[start.saturating_sub(CONTEXT_BEFORE)..start];
        let after = &bytes[end..(end + CONTEXT_AFTER).min(bytes.len())];
        let mut buf = [0u8; CONTEXT_BEFORE + CONTEXT_AFTER];
        buf[..before.len()].copy_from_slice(before);
        buf[before.len()..before.len() + after.len()].copy_from_slice(after);
        buf.make_ascii_lowercase();
        Self {
            buf,
            before: before.len(),
            after: after.len(),
        }
    }

    fn has(&self, word: &str) -> bool {
        has_word(&self.buf[..self.before], word) || has_word(&self.buf[self.before..self.before + self.after], word)
    }
}

impl Analyzer {
    /// The built-in recognizers.
    pub fn new() -> Self {
        Self {
            recognizers: recognizers(),
            digits: re(r"[+(]?[0-9](?:[ .\-/():]{0,3}[0-9])*\)?"),
        }
    }

    /// Every entity found in `text`, in order, without overlaps (the higher score, then the
    /// longer span, wins).
    pub fn analyze(&self, text: &str, opts: &Options) -> Vec<Span> {
        let mut found: Vec<Span> = Vec::new();
        let whole = [(0, text.len())];
        let mut regions: Option<Vec<(usize, usize)>> = None;
        let mut ats: Option<Vec<(usize, usize)>> = None;
        for rec in &self.recognizers {
            if opts.entities.as_ref().is_some_and(|es| !es.contains(&rec.entity)) {
                continue;
            }
            let ranges: &[(usize, usize)] = match rec.scope {
                Scope::Digits => regions.get_or_insert_with(|| digit_regions(&self.digits, text)),
                Scope::AroundAt => ats.get_or_insert_with(|| at_regions(text)),
                Scope::Whole => &whole,
            };
            // A range is searched inside the whole text, so `\b` sees the characters around it.
            let matches = ranges
                .iter()
                .flat_map(|&(a, b)| rec.pattern.find_iter(Input::new(text).range(a..b)));
            for m in matches {
                let (mut start, mut end) = (m.start(), m.end());
                let mut value = &text[start..end];
                if rec.entity == EntityType::Url {
                    // Sentence punctuation after a URL is not part of it.
                    let trimmed = value.trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '}']);
                    end = start + trimmed.len();
                    value = trimmed;
                }
                if value.len() != value.trim().len() {
                    let lead = value.len() - value.trim_start().len();
                    start += lead;
                    value = value.trim();
                    end = start + value.len();
                }
                let mut score = match rec.validator.map(|v| v(value)) {
                    Some(Check::Invalid) => continue,
                    Some(Check::Valid) => rec.validated,
                    _ => rec.base,
                };
                if score + rec.boost < opts.min_score {
                    // Not even context could lift it.
                    continue;
                }
                if rec.boost > 0.0 || score < 1.0 {
                    let ctx = Window::new(text, start, end);
                    let near = |w: &&str| ctx.has(w);
                    if rec.boost > 0.0 && rec.context.iter().any(near) {
                        score += rec.boost;
                    }
                    // Order, invoice and version numbers are what numeric look-alikes are.
                    if score < 1.0 && rec.scope == Scope::Digits && NEGATIVE_CONTEXT.iter().any(near) {
                        score -= 0.3;
                    }
                }
                let score = score.clamp(0.0, 1.0);
                if score >= opts.min_score && end > start {
                    found.push(Span {
                        start,
                        end,
                        entity: rec.entity,
                        score,
                    });
                }
            }
        }
        resolve(found)
    }
}

/// Keeps, among overlapping spans, the one with the higher score, then the longer one.
/// O(n log n): kept spans are disjoint, so only the neighbours by start can overlap a new one.
fn resolve(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then((b.end - b.start).cmp(&(a.end - a.start)))
            .then(a.start.cmp(&b.start))
    });
    let mut kept: std::collections::BTreeMap<usize, Span> = std::collections::BTreeMap::new();
    for s in spans {
        let before = kept.range(..=s.start).next_back().is_some_and(|(_, k)| k.end > s.start);
        let after = kept.range(s.start..).next().is_some_and(|(&start, _)| start < s.end);
        if !before && !after {
            kept.insert(s.start, s);
        }
    }
    kept.into_values().collect()
}

/// Converts byte offsets to Unicode code point offsets (as Python string indices), in place.
pub fn to_char_offsets(text: &str, spans: &mut [Span]) {
    let mut marks: Vec<(usize, usize, bool)> = Vec::with_capacity(spans.len() * 2);
    for (i, s) in spans.iter().enumerate() {
        marks.push((s.start, i, true));
        marks.push((s.end, i, false));
    }
    marks.sort_unstable();
    let (mut byte, mut chars) = (0usize, 0usize);
    for (offset, i, is_start) in marks {
        chars += text[byte..offset].chars().count();
        byte = offset;
        if is_start {
            spans[i].start = chars;
        } else {
            spans[i].end = chars;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(EntityType, &str)> {
        Analyzer::new()
            .analyze(text, &Options::default())
            .into_iter()
            .map(|s| (s.entity, &text[s.start..s.end]))
            .collect()
    }

    #[test]
    fn structured_identifiers_with_validators() {
        use EntityType::*;
        let t = "Mail jane.doe@example.co.uk or call +44 20 7946 0958. Card 4111 1111 1111 1111, \
                 IBAN DE89 3704 0044 0532 0130 00, server 192.168.10.20 and 2001:db8::8a2e:370:7334, \
                 see https://example.com/a?b=1. BTC 1BoatSLRHtKNngkdXEeobR76b53LETtpyT.";
        let f = found(t);
        for want in [
            (EmailAddress, "jane.doe@example.co.uk"),
            (PhoneNumber, "+44 20 7946 0958"),
            (CreditCard, "4111 1111 1111 1111"),
            (IbanCode, "DE89 3704 0044 0532 0130 00"),
            (IpAddress, "192.168.10.20"),
            (IpAddress, "2001:db8::8a2e:370:7334"),
            (Url, "https://example.com/a?b=1"),
            (Crypto, "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"),
        ] {
            assert!(f.contains(&want), "{want:?} not in {f:?}");
        }
    }

    #[test]
    fn context_lifts_weak_candidates() {
        use EntityType::*;
        assert!(found("My SSN is 536-22-1234.").contains(&(UsSsn, "536-22-1234")));
        assert!(found("passport number 912345678").contains(&(UsPassport, "912345678")));
        assert!(found("NHS number 943 476 5919").contains(&(UkNhs, "943 476 5919")));
        assert!(found("Born on 03/14/1985").contains(&(DateTime, "03/14/1985")));
        assert!(found("Meeting on 14 March 2024").contains(&(DateTime, "14 March 2024")));
    }

    #[test]
    fn look_alikes_stay_below_threshold() {
        for decoy in [
            "Order 123-456-7890 has shipped",
            "Invoice 20240315 is attached",
            "Card 4111 1111 1111 1112 was declined",
            "Version 1.2.3 fixes it",
            "Tracking number 9400 1000 0000 0000 0000 00",
            "SKU 55512345",
            "It happened 13/45/2020",
            "tomorrow or next week",
            "the account was closed",
        ] {
            let f = found(decoy);
            assert!(f.is_empty(), "{decoy}: {f:?}");
        }
    }

    #[test]
    fn char_offsets_count_code_points() {
        let text = "Grüße an joerg@example.de!";
        let mut spans = Analyzer::new().analyze(text, &Options::default());
        assert_eq!(spans.len(), 1);
        to_char_offsets(text, &mut spans);
        let chars: Vec<char> = text.chars().collect();
        let got: String = chars[spans[0].start..spans[0].end].iter().collect();
        assert_eq!(got, "joerg@example.de");
        assert_eq!((spans[0].start, spans[0].end), (9, 25));
    }
}
