//! A labeled evaluation corpus, generated from templates of e-mails, support tickets, chat
//! prompts, forms and shipping requests, with exact spans and look-alike decoys (no text from
//! any existing corpus), and a scorer: precision, recall and F1 per entity type (exact spans and
//! overlapping spans), and character-level masking recall (how much of each type would leak).
//!
//! The names and places the generator writes are its own short lists, not drawn from the
//! analyzer's lexicons: some are in them and some are not, as in real text.

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
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
    fn digits(&mut self, n: usize) -> String {
        (0..n).map(|_| char::from(b'0' + self.below(10) as u8)).collect()
    }
}

/// Given names from many languages (the generator's own list).
const FIRST: &[&str] = &[
    "Maria",
    "James",
    "Aiko",
    "Oluwaseun",
    "Chen",
    "Fatima",
    "Lars",
    "Priya",
    "Diego",
    "Noor",
    "Sophie",
    "Mohammed",
    "Ingrid",
    "Kwame",
    "Yuki",
    "Elena",
    "Rahul",
    "Siobhan",
    "Mateo",
    "Amara",
    "Thomas",
    "Ana",
    "Dmitri",
    "Leila",
    "Jonas",
    "Camille",
    "Tariq",
    "Hannah",
    "Wei",
    "Zanele",
    "Patrick",
    "Lucia",
    "Arjun",
    "Freya",
    "Kofi",
    "Isabel",
    "Hiroshi",
    "Olga",
    "Samuel",
    "Nadia",
    "Emeka",
    "Charlotte",
    "Vikram",
    "Astrid",
    "Javier",
    "Mei",
    "Robert",
    "Gabriela",
    "Xochitl",
    "Bartholomew",
];
/// Family names from many languages (the generator's own list).
const LAST: &[&str] = &[
    "Garcia",
    "Smith",
    "Tanaka",
    "Adeyemi",
    "Wei",
    "Haddad",
    "Nilsen",
    "Sharma",
    "Lopez",
    "Khan",
    "Müller",
    "Rossi",
    "Kowalski",
    "Okafor",
    "Nguyen",
    "Johansson",
    "O'Brien",
    "Petrov",
    "Silva",
    "Cohen",
    "Dubois",
    "Fernandez",
    "Yamamoto",
    "Mensah",
    "Schmidt",
    "Novak",
    "Kim",
    "Andersen",
    "Castillo",
    "Brennan",
    "Ivanova",
    "Chatterjee",
    "Moreau",
    "Becker",
    "Ramirez",
    "Takahashi",
    "Osei",
    "Lindqvist",
    "Costa",
    "Murphy",
    "Papadopoulos",
    "Horvath",
    "Nakamura",
    "Eriksson",
    "Banerjee",
    "Quispe",
    "Oyelaran",
    "Vasquez",
    "Whitfield",
    "Thornbury",
];
/// Cities and countries (the generator's own list).
const CITIES: &[&str] = &[
    "Lisbon",
    "Toronto",
    "Nairobi",
    "Osaka",
    "Chicago",
    "Munich",
    "Manchester",
    "São Paulo",
    "Mumbai",
    "Melbourne",
    "Rotterdam",
    "Seattle",
    "Lyon",
    "Krakow",
    "Dublin",
    "Austin",
    "Denver",
    "Bangalore",
    "Cape Town",
    "Vancouver",
    "New York",
    "San Francisco",
    "Buenos Aires",
    "Hamburg",
    "Gothenburg",
    "Porto",
    "Valencia",
    "Accra",
    "Hanoi",
    "Edinburgh",
];
const COUNTRIES: &[&str] = &[
    "Germany",
    "Portugal",
    "Canada",
    "Kenya",
    "Japan",
    "Brazil",
    "India",
    "Australia",
    "France",
    "Poland",
    "Ireland",
    "Mexico",
    "Netherlands",
    "Sweden",
    "Nigeria",
    "Vietnam",
    "United States",
    "United Kingdom",
    "South Africa",
    "New Zealand",
];
const STREETS: &[&str] = &[
    "Maple",
    "Oak",
    "Baker",
    "Elm",
    "Cedar",
    "Highland",
    "Lincoln",
    "Washington",
    "Park",
    "Willow",
    "Church",
    "Mill",
    "Sunset",
    "Lakeview",
    "Harbor",
    "Station",
    "King",
    "Queen",
    "Victoria",
    "Meadow",
];
const SUFFIXES: &[&str] = &[
    "Street",
    "St.",
    "Avenue",
    "Ave",
    "Road",
    "Rd.",
    "Lane",
    "Drive",
    "Boulevard",
    "Blvd",
    "Court",
    "Way",
    "Place",
    "Terrace",
];
const US_PLACES: &[(&str, &str)] = &[
    ("Springfield", "IL"),
    ("Portland", "OR"),
    ("Madison", "WI"),
    ("Albany", "NY"),
    ("Austin", "TX"),
    ("Columbus", "OH"),
    ("Raleigh", "NC"),
    ("Boulder", "CO"),
];
const DE_STREETS: &[&str] = &[
    "Hauptstraße",
    "Bahnhofstraße",
    "Gartenweg",
    "Lindenallee",
    "Marktplatz",
    "Schillerstraße",
];
const DE_CITIES: &[&str] = &["Berlin", "Hamburg", "München", "Köln", "Leipzig", "Dresden"];
const DOMAINS: &[&str] = &[
    "example.com",
    "mail.example.org",
    "acme-health.example",
    "corp.example.co.uk",
    "example.de",
];
const MONTHS: &[&str] = &[
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
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

/// A US number's area code, exchange and line, as the numbering plan allows them (no `N11`
/// or `555` exchanges).
fn us_number(r: &mut Rng) -> (String, String, String) {
    let area = r
        .pick(&["212", "415", "312", "617", "206", "303", "512", "646"])
        .to_string();
    let exchange = loop {
        let e = format!("{}{}", 2 + r.below(8), r.digits(2));
        if !e.ends_with("11") && e != "555" {
            break e;
        }
    };
    (area, exchange, r.digits(4))
}

/// A value of `entity`, as people write it.
fn value(r: &mut Rng, entity: EntityType) -> String {
    match entity {
        EntityType::EmailAddress => {
            let (f, l) = (
                r.pick(FIRST).to_lowercase(),
                r.pick(LAST).to_lowercase().replace(['\'', 'ü'], ""),
            );
            match r.below(3) {
                0 => format!("{f}.{l}@{}", r.pick(DOMAINS)),
                1 => format!("{}{l}{}@{}", &f[..1], r.below(100), r.pick(DOMAINS)),
                _ => format!("{f}_{l}+support@{}", r.pick(DOMAINS)),
            }
        }
        EntityType::PhoneNumber => {
            let (a, e, l) = us_number(r);
            match r.below(9) {
                0 => format!("({a}) {e}-{l}"),
                1 => format!("{a}-{e}-{l}"),
                2 => format!("+1 {a} {e} {l}"),
                3 => format!("{a}.{e}.{l}"),
                4 => format!("+44 20 7{} {}", r.digits(3), r.digits(4)),
                5 => format!("07{} {}", 700 + r.below(300), r.digits(6)),
                6 => format!("+49 30 {} {}", r.digits(4), r.digits(4)),
                7 => format!(
                    "+33 6 {}{} {} {} {}",
                    r.below(3),
                    r.digits(1),
                    r.digits(2),
                    r.digits(2),
                    r.digits(2)
                ),
                _ => format!("+91 9{} {}", r.digits(4), r.digits(5)),
            }
        }
        EntityType::CreditCard => {
            // JCB is 3528 to 3589.
            let jcb = format!("35{}", 28 + r.below(62));
            let (prefix, len) =
                [("4", 16), ("51", 16), ("37", 15), ("6011", 16), (jcb.as_str(), 16)][r.below(5) as usize];
            let body = format!("{prefix}{}", r.digits(len - prefix.len() - 1));
            let number = luhn_complete(&body);
            match r.below(3) {
                _ if len == 15 => number,
                0 => number,
                1 => group4(&number),
                _ => group4(&number).replace(' ', "-"),
            }
        }
        EntityType::IbanCode => {
            let iban = match r.below(5) {
                0 => iban_for("DE", &r.digits(18)),
                1 => iban_for("GB", &format!("WEST{}", r.digits(14))),
                2 => iban_for("NL", &format!("ABNA{}", r.digits(10))),
                3 => iban_for("FR", &r.digits(23)),
                _ => iban_for("ES", &r.digits(20)),
            };
            if r.chance(50) { iban } else { group4(&iban) }
        }
        EntityType::IpAddress => {
            if r.chance(30) {
                format!("2001:db8:{:x}::{:x}", r.below(65536), 1 + r.below(65535))
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
        EntityType::Url => match r.below(3) {
            0 => format!("https://portal.example.com/profile/{}", r.digits(6)),
            1 => format!("http://www.example.org/account?user={}&ref=mail", r.digits(5)),
            _ => format!("www.example.net/users/{}", r.pick(FIRST).to_lowercase()),
        },
        EntityType::DateTime => {
            let (y, m, d) = (1950 + r.below(70), 1 + r.below(12), 1 + r.below(28));
            match r.below(4) {
                0 => format!("{y}-{m:02}-{d:02}"),
                1 => format!("{m:02}/{d:02}/{y}"),
                2 => format!("{d} {} {y}", MONTHS[(m - 1) as usize]),
                _ => format!("{} {d}, {y}", MONTHS[(m - 1) as usize]),
            }
        }
        EntityType::Person => {
            let (f, l) = (r.pick(FIRST), r.pick(LAST));
            if r.chance(10) {
                format!("{f} {}. {l}", (b'A' + r.below(26) as u8) as char)
            } else {
                format!("{f} {l}")
            }
        }
        EntityType::Location => {
            if r.chance(60) {
                r.pick(CITIES).to_string()
            } else {
                r.pick(COUNTRIES).to_string()
            }
        }
        _ => String::new(),
    }
}

/// A street address, as one span.
fn address(r: &mut Rng) -> String {
    match r.below(3) {
        0 => {
            let (city, state) = US_PLACES[r.below(US_PLACES.len() as u64) as usize];
            let unit = if r.chance(30) {
                format!(", Apt {}{}", 1 + r.below(20), r.pick(&["A", "B", ""]))
            } else {
                String::new()
            };
            format!(
                "{} {} {}{unit}, {city}, {state} {}",
                1 + r.below(9899),
                r.pick(STREETS),
                r.pick(SUFFIXES),
                r.digits(5)
            )
        }
        1 => format!(
            "{} {} {}, London {}{} {}{}",
            1 + r.below(250),
            r.pick(STREETS),
            r.pick(&["Road", "Street", "Lane", "Gardens", "Close"]),
            r.pick(&["SW", "NW", "E", "N", "SE"]),
            1 + r.below(19),
            1 + r.below(9),
            r.pick(&["AB", "XE", "QT", "LN", "DU"])
        ),
        _ => format!(
            "{} {}, {} {}",
            r.pick(DE_STREETS),
            1 + r.below(120),
            r.digits(5),
            r.pick(DE_CITIES)
        ),
    }
}

/// Text that looks like personal data and is not.
fn decoy(r: &mut Rng) -> String {
    match r.below(12) {
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
        6 => format!("ticket {}-{}", r.digits(3), r.digits(4)),
        7 => r
            .pick(&[
                "the Billing Portal",
                "our Cloud Console",
                "the Mobile App",
                "Acme Analytics",
            ])
            .to_string(),
        8 => r
            .pick(&["next Monday", "tomorrow", "next week", "in two days"])
            .to_string(),
        9 => r
            .pick(&["Reading the logs", "Will do", "May I ask", "Grant access"])
            .to_string(),
        10 => format!("case {}", r.digits(7)),
        _ => format!("build {}", r.digits(6)),
    }
}

const TEMPLATES: &[&str] = &[
    "Hi team,\nplease update my contact e-mail to {EMAIL_ADDRESS} and my phone to {PHONE_NUMBER}. About {DECOY}: it never arrived.\nThanks,\n{PERSON}",
    "Support ticket: customer {PERSON} reports a failed payment with card {CREDIT_CARD}; {DECOY} is attached. Call back on {PHONE_NUMBER}.",
    "Refunds go to IBAN {IBAN_CODE}. For {DECOY} see {URL}.",
    "Our server {IP_ADDRESS} rejected the login from {EMAIL_ADDRESS} after {DECOY}.",
    "Summarize this: the applicant {PERSON}, SSN {US_SSN}, born {DATE_TIME}, phone {PHONE_NUMBER}, asked about {DECOY}.",
    "Can you draft a reply to {EMAIL_ADDRESS}? They paid with {CREDIT_CARD} and want the money on {IBAN_CODE}.",
    "Logs show requests from {IP_ADDRESS} and {IP_ADDRESS}; {DECOY} and {DECOY} are unrelated.",
    "Dear {PERSON},\n\nyour parcel ({DECOY}) will be delivered to {ADDRESS} on Monday.\n\nBest regards,\n{PERSON}",
    "Please ship the replacement to {ADDRESS}. {DECOY}. My number is {PHONE_NUMBER}.",
    "hi, my name is {LOWER_PERSON} and i live in {LOCATION}. {DECOY} - can you help?",
    "Name: {PERSON}\nDate of birth: {DATE_TIME}\nAddress: {ADDRESS}\nPhone: {PHONE_NUMBER}\nEmail: {EMAIL_ADDRESS}",
    "Meeting notes: {PERSON} (from {LOCATION}) and {PERSON} discussed {DECOY}. Follow up with Dr. {PERSON} next week.",
    "Write a polite message to {PERSON} telling them that {DECOY} moved to {LOCATION} and that the office in {LOCATION} is closed.",
    "Our customer {PERSON} moved from {LOCATION} to {LOCATION}; {DECOY}. New address: {ADDRESS}.",
    "Rewrite this complaint: \"{DECOY} again! I am {PERSON}, I called {PHONE_NUMBER} three times.\"",
];

/// How many templates the generated corpus cycles through: sample `i` is made from template `i
/// % TEMPLATE_COUNT`.
pub const TEMPLATE_COUNT: usize = TEMPLATES.len();

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
                let (v, entity) = match slot {
                    "DECOY" => (decoy(&mut r), None),
                    "ADDRESS" => (address(&mut r), Some(EntityType::StreetAddress)),
                    "LOWER_PERSON" => (
                        value(&mut r, EntityType::Person).to_lowercase(),
                        Some(EntityType::Person),
                    ),
                    other => match other.parse::<EntityType>() {
                        Ok(e) => (value(&mut r, e), Some(e)),
                        Err(_) => (String::new(), None),
                    },
                };
                if let Some(e) = entity {
                    spans.push((text.len(), text.len() + v.len(), e));
                }
                text.push_str(&v);
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
    /// Labeled spans overlapped by a reported span of the same type.
    pub overlapped: usize,
    /// Reported spans that overlap a labeled span of the same type.
    pub overlapping: usize,
    /// Reported spans.
    pub reported: usize,
    /// Characters of this type's labeled spans covered by some reported span (any type).
    pub masked_chars: usize,
    /// Characters of this type's labeled spans.
    pub total_chars: usize,
}

impl Scores {
    /// Precision (exact spans).
    pub fn precision(&self) -> f64 {
        ratio(self.true_positives, self.true_positives + self.false_positives)
    }
    /// Recall (exact spans).
    pub fn recall(&self) -> f64 {
        ratio(self.true_positives, self.true_positives + self.false_negatives)
    }
    /// F1 (exact spans).
    pub fn f1(&self) -> f64 {
        f1(self.precision(), self.recall())
    }
    /// F1 where a reported span counts when it overlaps a labeled one of its type.
    pub fn overlap_f1(&self) -> f64 {
        let p = ratio(self.overlapping, self.reported);
        let r = ratio(self.overlapped, self.true_positives + self.false_negatives);
        f1(p, r)
    }
    /// Character-level masking recall.
    pub fn masking_recall(&self) -> f64 {
        ratio(self.masked_chars, self.total_chars)
    }
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// A span in a scored text: start, end (any consistent unit) and type name.
pub type Labeled = (usize, usize, String);

/// Scores `predicted` spans against `gold` ones, text by text, per type name (types a detector
/// reports that the labels do not use appear with only false positives).
pub fn score(gold: &[Vec<Labeled>], predicted: &[Vec<Labeled>]) -> BTreeMap<String, Scores> {
    let mut out: BTreeMap<String, Scores> = BTreeMap::new();
    for (g, p) in gold.iter().zip(predicted) {
        for (a, b, e) in g {
            let sc = out.entry(e.clone()).or_default();
            if p.iter().any(|(x, y, t)| x == a && y == b && t == e) {
                sc.true_positives += 1;
            } else {
                sc.false_negatives += 1;
            }
            if p.iter().any(|(x, y, t)| x < b && a < y && t == e) {
                sc.overlapped += 1;
            }
            sc.total_chars += b - a;
            sc.masked_chars += (*a..*b)
                .filter(|&i| p.iter().any(|(x, y, _)| *x <= i && i < *y))
                .count();
        }
        for (x, y, t) in p {
            let sc = out.entry(t.clone()).or_default();
            sc.reported += 1;
            if !g.iter().any(|(a, b, e)| x == a && y == b && t == e) {
                sc.false_positives += 1;
            }
            if g.iter().any(|(a, b, e)| x < b && a < y && t == e) {
                sc.overlapping += 1;
            }
        }
    }
    out
}

impl std::ops::AddAssign for Scores {
    fn add_assign(&mut self, o: Scores) {
        self.true_positives += o.true_positives;
        self.false_positives += o.false_positives;
        self.false_negatives += o.false_negatives;
        self.overlapped += o.overlapped;
        self.overlapping += o.overlapping;
        self.reported += o.reported;
        self.masked_chars += o.masked_chars;
        self.total_chars += o.total_chars;
    }
}

/// A corpus's figures beyond each type's: all types pooled, personal data and secrets apart,
/// look-alikes flagged and texts without personal data flagged.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Every type pooled (micro-averaged).
    #[serde(skip)]
    pub all: Scores,
    /// Personal-data types pooled.
    #[serde(skip)]
    pub personal: Scores,
    /// Secret and credential types pooled.
    #[serde(skip)]
    pub secrets: Scores,
    /// Labeled look-alikes (order numbers, hashes, versions, ...).
    pub decoys: usize,
    /// Look-alikes any reported span overlaps.
    pub decoys_flagged: usize,
    /// Look-alikes that are hashes, digests or UUIDs.
    pub hash_decoys: usize,
    /// Those reported as a secret.
    pub hash_decoys_flagged_as_secret: usize,
    /// Texts without any labeled span.
    pub clean_texts: usize,
    /// Those with a reported span.
    pub clean_texts_flagged: usize,
}

/// Whether a type name is a secret's (a built-in secret type).
pub fn is_secret_type(name: &str) -> bool {
    name.parse::<EntityType>().is_ok_and(EntityType::is_secret)
}

/// Pools `scores` and counts look-alikes (`decoys`, text by text: start, end, kind) and texts
/// without labels that `predicted` flags.
pub fn summarize(
    scores: &BTreeMap<String, Scores>,
    gold: &[Vec<Labeled>],
    predicted: &[Vec<Labeled>],
    decoys: &[Vec<Labeled>],
) -> Summary {
    let mut s = Summary::default();
    for (t, sc) in scores {
        s.all += *sc;
        if is_secret_type(t) {
            s.secrets += *sc;
        } else {
            s.personal += *sc;
        }
    }
    for (i, g) in gold.iter().enumerate() {
        let p = predicted.get(i).map_or(&[][..], Vec::as_slice);
        if g.is_empty() {
            s.clean_texts += 1;
            if !p.is_empty() {
                s.clean_texts_flagged += 1;
            }
        }
        for (a, b, kind) in decoys.get(i).map_or(&[][..], Vec::as_slice) {
            s.decoys += 1;
            let over = |(x, y, _): &&Labeled| x < b && a < y;
            if p.iter().any(|l| over(&l)) {
                s.decoys_flagged += 1;
            }
            let k = kind.to_ascii_lowercase();
            if ["hash", "uuid", "digest", "sha", "md5", "commit"]
                .iter()
                .any(|h| k.contains(h))
            {
                s.hash_decoys += 1;
                if p.iter().any(|l| over(&l) && is_secret_type(&l.2)) {
                    s.hash_decoys_flagged_as_secret += 1;
                }
            }
        }
    }
    s
}

/// Runs the analyzer over `samples` and scores it per entity type (offsets in characters, so
/// masking recall counts characters).
pub fn evaluate(analyzer: &Analyzer, samples: &[Sample], opts: &Options) -> BTreeMap<EntityType, Scores> {
    let (gold, predicted): (Vec<Vec<Labeled>>, Vec<Vec<Labeled>>) = samples
        .iter()
        .map(|s| {
            let mut found = analyzer.analyze(&s.text, opts);
            crate::analyzer::to_char_offsets(&s.text, &mut found);
            let g = s.gold_chars();
            let p = found
                .into_iter()
                .map(|f| (f.start, f.end, f.entity.to_string()))
                .collect();
            (g, p)
        })
        .unzip();
    score(&gold, &predicted)
        .into_iter()
        .filter_map(|(k, v)| k.parse::<EntityType>().ok().map(|e| (e, v)))
        .collect()
}

impl Sample {
    /// The labels with Unicode code point offsets (as Python string indices).
    pub fn gold_chars(&self) -> Vec<Labeled> {
        let to_char = |byte: usize| self.text[..byte].chars().count();
        self.spans
            .iter()
            .map(|&(a, b, e)| (to_char(a), to_char(b), e.to_string()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_cover_their_values_and_the_scorer_counts() {
        for s in corpus(200, 3) {
            for &(a, b, _) in &s.spans {
                assert!(a < b && b <= s.text.len() && s.text.is_char_boundary(a) && s.text.is_char_boundary(b));
                assert_eq!(s.text[a..b].trim(), &s.text[a..b]);
            }
        }
        let gold = vec![vec![(0, 5, "PERSON".to_string()), (10, 14, "LOCATION".to_string())]];
        let pred = vec![vec![
            (0, 5, "PERSON".to_string()),
            (10, 12, "LOCATION".to_string()),
            (20, 22, "URL".to_string()),
        ]];
        let s = score(&gold, &pred);
        assert_eq!(s["PERSON"].f1(), 1.0);
        assert_eq!(s["LOCATION"].f1(), 0.0);
        assert_eq!(s["LOCATION"].overlap_f1(), 1.0);
        assert_eq!(s["LOCATION"].masking_recall(), 0.5);
        assert_eq!(s["URL"].false_positives, 1);
    }
}
