//! The analyzer: pattern recognizers with validators, context words that raise a candidate's
//! score, words that lower it, name and place recognition from lexicons, custom recognizers,
//! and overlap resolution. Every pattern runs on `regex-automata` (finite automata, linear time
//! in the input): no input can make a scan slow. Most recognizers run only over small regions
//! of a text (around digits, around `@`, around colons), the digits found in one pass and the
//! rest by the context words' pass, so most of a text is read by a handful of automata rather
//! than by all of them.

use std::sync::LazyLock;

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, MatchKind};
use regex_automata::meta::Regex;

use crate::custom::{CustomRecognizer, DenyList};
use crate::entity::EntityType;
use crate::recognizer::{Check, Pattern, Recognizer, Scope, Starts, Validator, WordIds, date, dea, is_date, ok_if};
pub use crate::recognizer::{Options, Span};
use crate::{names, phone, validate};

/// Regions around each position `hits` yields, `back` bytes before and `fwd` after, on
/// character boundaries and merged.
fn windows(text: &str, hits: impl Iterator<Item = (usize, usize)>, back: usize, fwd: usize) -> Vec<(usize, usize)> {
    let mut regions: Vec<(usize, usize)> = Vec::new();
    for (start, end) in hits {
        widen(text, &mut regions, start, end, back, fwd);
    }
    regions
}

/// Adds to `regions` (merged, in order) the one around `start..end`, `back` bytes before and
/// `fwd` after, on character boundaries; `start` is at or after every start before it.
fn widen(text: &str, regions: &mut Vec<(usize, usize)>, start: usize, end: usize, back: usize, fwd: usize) {
    let mut a = start.saturating_sub(back);
    while !text.is_char_boundary(a) {
        a -= 1;
    }
    let mut b = (end + fwd).min(text.len());
    while !text.is_char_boundary(b) {
        b += 1;
    }
    match regions.last_mut() {
        Some(last) if a <= last.1 => last.1 = last.1.max(b),
        _ => regions.push((a, b)),
    }
}

/// How far around an `@` an e-mail address through it could span: before, after.
const AROUND_AT: (usize, usize) = (64, 256);

/// How far around a colon between hex digits an IPv6 address through it could span.
const AROUND_COLON: (usize, usize) = (40, 40);

/// The regions around each `@` that an e-mail address through it could span, by a search of
/// the bytes: what the context words' pass finds; this reading is the tests'.
#[cfg(test)]
fn at_regions(text: &str) -> Vec<(usize, usize)> {
    let hits = memchr::memchr_iter(b'@', text.as_bytes()).map(|i| (i, i + 1));
    windows(text, hits, AROUND_AT.0, AROUND_AT.1)
}

/// Where an IBAN can start: two letters at the start of a word, then two digits.
fn iban_regions(text: &str, runs: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let starts = runs.iter().filter_map(|&(s, _)| {
        let ok = s >= 2
            && b[s - 1].is_ascii_alphabetic()
            && b[s - 2].is_ascii_alphabetic()
            && (s == 2 || !b[s - 3].is_ascii_alphanumeric())
            && b.get(s + 1).is_some_and(u8::is_ascii_digit);
        // `then`, not `then_some`: the argument must not be computed when `s < 2`.
        ok.then(|| (s - 2, s - 2))
    });
    // The longest IBAN is 34 characters, 42 with a space every four.
    windows(text, starts, 0, 44)
}

/// Where a Bitcoin address can start: a word beginning `1`, `3` or `bc1` with 25 or more
/// letters and digits.
fn crypto_regions(text: &str, runs: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let word_start = |i: usize| i == 0 || !b[i - 1].is_ascii_alphanumeric();
    let long_enough = |i: usize| b[i..].iter().take(26).take_while(|c| c.is_ascii_alphanumeric()).count() >= 26;
    // A legacy address starts with its digit; a SegWit one's `1` follows `bc` or `BC`, so it
    // starts a run of digits too (a letter stands before it): both are read off the runs, in
    // order, without another pass over the text.
    let starts: Vec<usize> = runs
        .iter()
        .filter_map(|&(s, _)| match b[s] {
            b'1' if s >= 2 && matches!(&b[s - 2..s], b"bc" | b"BC") => Some(s - 2),
            b'1' | b'3' => Some(s),
            _ => None,
        })
        .filter(|&s| word_start(s) && long_enough(s))
        .collect();
    windows(text, starts.into_iter().map(|s| (s, s)), 0, 90)
}

/// Whether the three ASCII letters at `b[i..]` begin a month's name (and a word). What the
/// context words' pass finds as [`MONTH_PREFIXES`]; this reading is the tests'.
#[cfg(test)]
fn month_at(b: &[u8], i: usize) -> bool {
    let Some(w) = b.get(i..i + 3) else { return false };
    let w = [
        w[0].to_ascii_lowercase(),
        w[1].to_ascii_lowercase(),
        w[2].to_ascii_lowercase(),
    ];
    matches!(
        &w,
        b"jan" | b"feb" | b"mar" | b"apr" | b"may" | b"jun" | b"jul" | b"aug" | b"sep" | b"oct" | b"nov" | b"dec"
    ) && (i == 0 || !b[i - 1].is_ascii_alphabetic())
}

/// The regions around month names near digits (a date with a month name holds a day or a
/// year within a few words of it), wide enough for a day before and a year and time after.
/// `months` are where the month names start (a word starting with one of [`MONTH_PREFIXES`],
/// in any case), in order: the context words' pass finds them.
fn month_regions(text: &str, runs: &[(usize, usize)], months: &[usize]) -> Vec<(usize, usize)> {
    // Each run takes the first month's name starting a word within its reach. The reaches
    // start in order, so the months before one are before the next one's too.
    let mut hits: Vec<(usize, usize)> = Vec::new();
    let mut next = 0;
    for &(s, e) in runs {
        let from = s.saturating_sub(24);
        let to = (e + 12).min(text.len());
        while months.get(next).is_some_and(|&m| m < from) {
            next += 1;
        }
        if let Some(&m) = months.get(next).filter(|&&m| m < to) {
            hits.push((m.min(s), m.max(e)));
        }
    }
    hits.sort_unstable();
    windows(text, hits.into_iter(), 16, 28)
}

/// The first three letters of English months' names: the context words' automaton finds them
/// with its words.
const MONTH_PREFIXES: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// Whether the colon at `i` has a hexadecimal digit or another colon on both sides.
fn hex_colon(b: &[u8], i: usize) -> bool {
    let hexish = |i: usize| b.get(i).is_some_and(|c| c.is_ascii_hexdigit() || *c == b':');
    i > 0 && hexish(i - 1) && hexish(i + 1)
}

/// The regions around colons with a hexadecimal digit or another colon on both sides, by a
/// search of the bytes: what the context words' pass finds; this reading is the tests'.
#[cfg(test)]
fn colon_regions(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let hits = memchr::memchr_iter(b':', b).filter(|&i| hex_colon(b, i));
    windows(text, hits.map(|i| (i, i + 1)), AROUND_COLON.0, AROUND_COLON.1)
}

/// What the context words' pass finds besides words for the scopes: each `@`, each `:`, and
/// the two ways a link starts (`://`, `www.` in any case), by pattern id from its first.
const MARK_TEXTS: [&str; 4] = ["@", ":", "://", "www."];

/// Words near a number that say it is not personal data (lowercase).
const NEGATIVE_CONTEXT: &[&str] = &[
    "part",
    "p/n",
    "art.-nr",
    "art.-nr.",
    "artikel",
    "artikelnummer",
    "teilenummer",
    "ersatzteil",
    "ersatzteilnummer",
    "ricambio",
    "repuesto",
    "recambio",
    "nf-e",
    "nota fiscal",
    "bestellung",
    "bestellnummer",
    "rechnung",
    "rechnungsnummer",
    "auftrag",
    "auftragsnummer",
    "sendung",
    "sendungsnummer",
    "kundennummer",
    "commande",
    "facture",
    "référence",
    "réf",
    "pièce",
    "colis",
    "pedido",
    "factura",
    "referencia",
    "pieza",
    "envío",
    "ordine",
    "fattura",
    "riferimento",
    "articolo",
    "codice",
    "spedizione",
    "bestelling",
    "factuur",
    "referentie",
    "onderdeel",
    "zending",
    "encomenda",
    "fatura",
    "referência",
    "peça",
    "asset",
    "versão",
    "versione",
    "versión",
    "release",
    "listino",
    "inventar",
    "inventarnr",
    "inventarnummer",
    "inventory",
    "inventaire",
    "inventario",
    "assetnummer",
    "cespite",
    "patrimônio",
    "patrimonio",
    "order",
    "invoice",
    "tracking",
    "sku",
    "ticket",
    "ref",
    "reference",
    "version",
    "build",
    "case",
    "case #",
    // Serial and tracking numbers in the other languages.
    "serie",
    "série",
    "seguimiento",
    "suivi",
    "rastreio",
    "rastreamento",
    "tracciamento",
    "sendungsverfolgung",
    "item",
    "serial",
    "part no",
    "model",
];

/// How far before a candidate context is looked for, in bytes.
const CONTEXT_BEFORE: usize = 64;
/// How far after a candidate context is looked for, in bytes.
const CONTEXT_AFTER: usize = 16;
/// How far before a number a word that says it is no personal data counts, in bytes: such
/// words label the number right after them (`order #`, `invoice INV-`).
const NEGATIVE_BEFORE: usize = 20;

/// `Unknown` when `b` (the candidate may be one), else `Invalid`.
fn maybe_if(b: bool) -> Check {
    if b { Check::Unknown } else { Check::Invalid }
}

/// Whether `start..end` is the middle of a longer identifier: joined by a hyphen, slash or
/// underscore to letters or digits (`INV-0979-56079`, `A-123/456`).
fn glued(b: &[u8], start: usize, end: usize) -> bool {
    let joiner = |c: u8| matches!(c, b'-' | b'/' | b'_');
    (start >= 2 && joiner(b[start - 1]) && b[start - 2].is_ascii_alphanumeric())
        || (end + 1 < b.len() && joiner(b[end]) && b[end + 1].is_ascii_alphanumeric())
}

/// A URL that points at a person: a profile (`linkedin.com/in/…`, `/users/…`, `/@handle`), or
/// one whose query carries something personal (`?email=`, `&user=`, `name=`). A link to a page,
/// a document or an API is no personal data, and masking it breaks what the prompt asks.
fn personal_url(s: &str) -> Check {
    let lower = s.to_ascii_lowercase();
    const PROFILE: &[&str] = &[
        "/in/",
        "/profile",
        "/profiles/",
        "/user/",
        "/users/",
        "/u/",
        "/people/",
        "/person/",
        "/member/",
        "/members/",
        "/author/",
        "/~",
        "/@",
    ];
    // Sites where a path is a person: the host itself, or one of its subdomains.
    const PEOPLE_HOSTS: &[&str] = &[
        "facebook.com",
        "instagram.com",
        "twitter.com",
        "x.com",
        "tiktok.com",
        "xing.com",
        "wa.me",
        "t.me",
        "calendly.com",
    ];
    let host = lower
        .split_once("://")
        .map_or(lower.as_str(), |(_, rest)| rest)
        .split(['/', '?', '#', ':'])
        .next()
        .unwrap_or("");
    let people_host = PEOPLE_HOSTS
        .iter()
        .any(|h| host == *h || host.strip_suffix(h).is_some_and(|p| p.ends_with('.')));
    const QUERY: &[&str] = &[
        "email=",
        "e-mail=",
        "mail=",
        "user=",
        "username=",
        "userid=",
        "user_id=",
        "name=",
        "firstname=",
        "lastname=",
        "phone=",
        "tel=",
        "customer=",
        "patient=",
        "ssn=",
        "dob=",
        "address=",
    ];
    // On code hosts a user's page has one path segment (`github.com/anna-weber`); a repository
    // has two.
    let code_host = ["github.com", "gitlab.com", "bitbucket.org"].contains(&host) && {
        let path = lower.split_once(host).map_or("", |(_, p)| p);
        let path = path.split(['?', '#']).next().unwrap_or("").trim_matches('/');
        !path.is_empty() && !path.contains('/')
    };
    let personal = people_host
        || code_host
        || PROFILE.iter().any(|p| lower.contains(p))
        || lower
            .split(['?', '&', '#'])
            .skip(1)
            .any(|q| QUERY.iter().any(|k| q.starts_with(k)));
    if personal { Check::Valid } else { Check::Unknown }
}

/// Whether what reads as an e-mail address at `start` is the password and host of a URL's
/// credentials (`https://user:pw@host`): a colon before it, inside a word holding `://`.
fn credentials_in_url(text: &str, start: usize) -> bool {
    let b = text.as_bytes();
    let from = start.saturating_sub(256);
    let word_start = b[from..start]
        .iter()
        .rposition(|c| c.is_ascii_whitespace() || matches!(c, b'"' | b'\'' | b'<' | b'('))
        .map_or(from, |i| from + i + 1);
    // The address starts inside a URL's user information: a `:` between `://` and it
    // (`https://deploy:Tr0ub4dor&3@git.example.com`).
    memchr::memmem::rfind(&b[word_start..start], b"://").is_some_and(|sep| {
        b[word_start + sep + 3..start].contains(&b':') || b.get(start.wrapping_sub(1)) == Some(&b':')
    })
}

fn digit_count(s: &str) -> usize {
    s.bytes().filter(u8::is_ascii_digit).count()
}

/// Whether a group of `s`'s digits is one digit alone, but for the `1` of North America before
/// a three-digit area code (`1.800.555.0199`).
fn has_lone_digit(s: &str) -> bool {
    let mut parts = digit_groups(s);
    let first = parts.next().unwrap_or_default();
    let second = parts.next().unwrap_or_default();
    let north_american = first == "1" && second.len() == 3;
    (first.len() == 1 && !north_american) || second.len() == 1 || parts.any(|g| g.len() == 1)
}

/// The runs of ASCII digits in `s`, in order (`+49 (30) 1234-5678`: `49`, `30`, `1234`, `5678`).
fn digit_groups(s: &str) -> impl Iterator<Item = &str> {
    let b = s.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() && !b[i].is_ascii_digit() {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        // Digits are ASCII: the run starts and ends on character boundaries.
        (i > start).then(|| s.get(start..i).unwrap_or_default())
    })
}

/// A phone number valid by libphonenumber's metadata: international numbers score higher than
/// national ones, which could be other numbers of the same length.
fn phone_check(s: &str, opts: &Options) -> Check {
    let n = digit_count(s);
    let groups = digit_groups(s).count();
    // A date, or a date-time whose hour ran on after it (`2025-04-12 16`).
    let iso_date =
        s.len() >= 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-' && s.get(..10).is_some_and(is_date);
    if !(7..=15).contains(&n) || (groups == 3 && !s.starts_with('+') && is_date(s)) || iso_date {
        return Check::Invalid;
    }
    // A version written with dots (`3.28.33.6509`, `21.6.32.1521`): a group of one digit, which
    // no national number written with dots has (`06.12.34.56.78`, `91.435.12.34`,
    // `11.3456.7890`) but for the `1` of North America before its area code (`1.800.555.0199`).
    if s.contains('.') && !s.trim_start().starts_with(['+', '(']) && has_lone_digit(s) {
        return Check::Invalid;
    }
    let valid = match &opts.phone_regions {
        Some(rs) => phone::is_valid(s, rs),
        None => phone::is_valid(s, phone::DEFAULT_REGIONS),
    };
    if !valid {
        // Written as an international number but not valid by the plan's metadata (a range
        // the metadata does not list yet): a phone number only where the text says so.
        // A national number grouped as phone numbers are (`(85) 96728-0635`, `98 955 60 93`)
        // likewise.
        let grouped = groups >= 2 && (8..=12).contains(&n) && !s.contains('.');
        return if phone::plausible_international(s) || grouped {
            Check::Weak
        } else {
            Check::Invalid
        };
    }
    // `011` is North America's exit code or the start of a national number (Turin's `011 …`):
    // international only when valid as one.
    let international =
        s.starts_with('+') || s.starts_with("00") || (s.starts_with("011") && phone::is_valid(s, &[] as &[&str]));
    if international || s.contains('(') {
        Check::Valid
    } else if s.bytes().all(|b| b.is_ascii_digit()) {
        // A bare run of digits is as likely an account or order number.
        Check::Weak
    } else {
        Check::Unknown
    }
}

/// Compiles a built-in pattern with ASCII word boundaries (Unicode `\b` keeps the fast automata
/// from running on non-ASCII text), with its ASCII DFAs: searching anywhere, or, given `starts`,
/// matching from them. The patterns are fixed and covered by tests; a bad one is a bug.
#[allow(clippy::expect_used)]
fn built_in(p: &str, starts: Option<Starts>) -> Pattern {
    let source = p.replace(r"\b", r"(?-u:\b)");
    let general = Regex::new(&source).expect("built-in PII pattern");
    Pattern::built_in(general, &source, starts)
}

fn words(ws: &[&str]) -> Vec<String> {
    ws.iter().map(|w| w.to_string()).collect()
}

/// Bytes one of which every match of a built-in recognizer holds.
fn needs(entity: EntityType, pattern: &str) -> &'static [u8] {
    match entity {
        EntityType::DateTime if pattern.starts_with(r"\b\d{4}") => b"-/.",
        EntityType::IpAddress if !pattern.contains("0-9a-f") => b".",
        EntityType::UsSsn if pattern.contains("[- .]") => b"- .",
        _ => b"",
    }
}

/// Whether `b` holds `://` or `www.` in any case: every link the URL pattern matches does, and
/// most texts hold neither, so the pattern is not run over them. What the context words' pass
/// finds as [`MARK_TEXTS`]; this reading is the tests'.
#[cfg(test)]
fn holds_link(b: &[u8]) -> bool {
    memchr::memchr_iter(b':', b).any(|i| b[i + 1..].starts_with(b"//"))
        || memchr::memchr_iter(b'.', b).any(|i| i >= 3 && b[i - 3..i].eq_ignore_ascii_case(b"www"))
}

/// Whether `hay` holds one of `needles` (one to three bytes), by a vectorized search.
fn holds_any(hay: &[u8], needles: &[u8]) -> bool {
    match *needles {
        [a] => memchr::memchr(a, hay).is_some(),
        [a, b] => memchr::memchr2(a, b, hay).is_some(),
        [a, b, c] => memchr::memchr3(a, b, c, hay).is_some(),
        _ => hay.iter().any(|c| needles.contains(c)),
    }
}

/// Fewest digits in a row a built-in recognizer's match holds (`\d{7}`; a pattern of groups,
/// its longest group's least), so a region without as many in a row is not searched.
fn min_run(entity: EntityType, pattern: &str) -> u16 {
    use EntityType::*;
    match entity {
        UsSsn if pattern == r"\b\d{9}\b" => 9,
        // Three groups, the last of four digits.
        UsSsn | UsItin | UkNhs => 4,
        UsBankNumber | UsPassport => 8,
        MedicalLicense => 7,
        // Its shortest shape is a letter and three digits.
        UsDriverLicense => 3,
        _ => 0,
    }
}

/// Fewest digits a built-in recognizer's match holds.
fn min_digits(entity: EntityType, pattern: &str) -> u16 {
    use EntityType::*;
    match entity {
        CreditCard => 13,
        UkNhs => 10,
        UsSsn | UsItin => 9,
        UsPassport | UsBankNumber => 8,
        PhoneNumber | MedicalLicense => 7,
        IpAddress if !pattern.contains("0-9a-f") => 4,
        DateTime | UsDriverLicense => 3,
        _ => 0,
    }
}

fn recognizers() -> Vec<Recognizer> {
    use EntityType::*;
    let r = |entity, pattern: &str, base, validated, validator: Option<Validator>, context: &[&str], boost| {
        let scope = match entity {
            EmailAddress => Scope::AroundAt,
            Url => Scope::Links,
            IbanCode => Scope::IbanStarts,
            Crypto => Scope::CryptoStarts,
            _ if pattern.contains("0-9a-f") => Scope::Colons,
            _ if pattern.contains("jan(?:uary)") => Scope::Months,
            // Month names of six more languages: read only where a birth word is (below the
            // threshold without one, so a text without any skips it).
            _ if pattern.contains("janvier") => Scope::Whole,
            _ => Scope::Digits,
        };
        Recognizer {
            entity,
            // The e-mail's and the card's DFAs that search anywhere would not fit: theirs
            // match from the starts where their matches begin.
            pattern: built_in(
                pattern,
                match entity {
                    EmailAddress => Some(Starts::BeforeAt),
                    CreditCard => Some(Starts::WordDigits),
                    _ => None,
                },
            ),
            base,
            validated,
            validator,
            context_words: words(context),
            context: WordIds::default(),
            boost,
            numeric: scope == Scope::Digits,
            min_digits: min_digits(entity, pattern),
            min_run: min_run(entity, pattern),
            needs: needs(entity, pattern),
            iban_checksum: entity == IbanCode,
            scope,
        }
    };
    const PHONE_CTX: &[&str] = &[
        "phone",
        "call",
        "tel",
        "mobile",
        "cell",
        "fax",
        "reach me",
        "whatsapp",
        "text me",
        "number",
        "número",
        "numero",
        "numéro",
        "nummer",
        "contact",
        "telefon",
        "telefonnummer",
        "rufnummer",
        "handy",
        "mobil",
        "téléphone",
        "tél",
        "portable",
        "joindre",
        "teléfono",
        "telefono",
        "tfno",
        "móvil",
        "movil",
        "celular",
        "cellulare",
        "contatto",
        "telefoon",
        "mobiel",
        "bel",
        "telefone",
        "telemóvel",
        "contato",
        "contacto",
        "gsm",
        "ligue",
        "ligar",
        "llamar",
        "llamarnos",
        "llame",
        "chiamare",
        "chiamami",
        "bellen",
        "anrufen",
        "appeler",
        "appelez",
    ];
    // A number shaped like an SSN is one only where the text says so: part, model and
    // reference numbers take the same shape.
    const SSN_CTX: &[&str] = &[
        "ssn",
        "social security",
        "social sec",
        "soc sec",
        "ss#",
        "ss #",
        "ss no",
        "ssa",
        "ssns",
    ];
    const IP_CTX: &[&str] = &["ip", "address", "server", "host"];
    // A date is personal data when it is someone's birth date; meeting, delivery and log dates
    // are not, and masking them breaks what a prompt asks (scheduling, timelines).
    const BIRTH_CTX: &[&str] = &[
        "born",
        "birth",
        "birthday",
        "dob",
        "d.o.b",
        "geboren",
        "geburtsdatum",
        "geburtstag",
        "geb.",
        "né",
        "née",
        "naissance",
        "nacido",
        "nacida",
        "nací",
        "nació",
        "nacimiento",
        "f. nac",
        "nato",
        "nata",
        "nacque",
        "nacqui",
        "nascita",
        "geboortedatum",
        "nascido",
        "nascida",
        "nasci",
        "nasceu",
        "nascimento",
    ];
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
        r(
            Url,
            r#"(?i)\b(?:https?://|www\.)[^\s<>"'`]+"#,
            0.45,
            0.6,
            Some(|s, _| personal_url(s)),
            &[],
            0.0,
        ),
        r(
            IpAddress,
            r"\b(?:\d{1,3}\.){3}\d{1,3}\b",
            0.4,
            0.95,
            Some(|s, _| ok_if(validate::ip(s))),
            IP_CTX,
            0.05,
        ),
        r(
            IpAddress,
            r"(?i)\b(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}\b|::(?:[0-9a-f]{0,4}:){0,6}[0-9a-f]{1,4}\b",
            0.4,
            0.95,
            Some(|s, _| ok_if(s.parse::<std::net::Ipv6Addr>().is_ok() && s.len() >= 3)),
            IP_CTX,
            0.05,
        ),
        r(
            CreditCard,
            r"\b(?:\d[ -]?){12,18}\d\b",
            0.0,
            1.0,
            Some(|s, _| ok_if(validate::credit_card(s))),
            &["card", "visa", "mastercard", "amex", "credit", "debit", "cc"],
            0.0,
        ),
        r(
            IbanCode,
            r"(?i)\b[a-z]{2}\d{2}(?:[ -]?[a-z0-9]{4}){2,7}(?:[ -]?(?:\d[a-z0-9]{0,3}|[a-z]\d[a-z0-9]{0,2}|[a-z]{2}\d[a-z0-9]?|[a-z]{3}\d))?\b",
            0.0,
            1.0,
            Some(|s, _| ok_if(validate::iban(s))),
            &[],
            0.0,
        ),
        r(
            Crypto,
            r"\b(?:[13][a-km-zA-HJ-NP-Z1-9]{25,34}|(?:bc1|BC1)[a-zA-Z0-9]{25,62})\b",
            0.0,
            1.0,
            Some(|s, _| ok_if(validate::bitcoin(s))),
            &[],
            0.0,
        ),
        r(
            UsSsn,
            r"\b\d{3}[- .]\d{2}[- .]\d{4}\b",
            0.4,
            0.4,
            Some(|s, _| maybe_if(validate::us_ssn(s))),
            SSN_CTX,
            0.45,
        ),
        r(
            UsSsn,
            r"\b\d{9}\b",
            0.1,
            0.1,
            Some(|s, _| maybe_if(validate::us_ssn(s))),
            SSN_CTX,
            0.5,
        ),
        r(
            UsItin,
            r"\b9\d{2}[- ]?\d{2}[- ]?\d{4}\b",
            0.3,
            0.3,
            Some(|s, _| maybe_if(validate::us_itin(s))),
            &["itin", "taxpayer", "tax id"],
            0.5,
        ),
        r(
            UkNhs,
            r"\b\d{3}[- ]?\d{3}[- ]?\d{4}\b",
            0.0,
            0.4,
            Some(|s, _| ok_if(validate::uk_nhs(s))),
            &["nhs", "health service", "national health"],
            0.45,
        ),
        r(
            PhoneNumber,
            r"\+\d{8,15}\b|(?:\+\d{1,3}[ .-]?|\(\+\d{1,3}\)[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\b\d{1,12}(?:(?:[ .-]|[ ]?[/-][ ]?)\d{1,10}){0,5}\b",
            0.55,
            0.75,
            Some(phone_check),
            PHONE_CTX,
            0.25,
        ),
        r(
            DateTime,
            r"\b\d{4}[-/]\d{2}[-/]\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?: ?(?:Z|[+-]\d{2}:?\d{2}))?)?\b|\b\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})(?:,? (?:at )?\d{1,2}:\d{2}(?::\d{2})?(?: ?[AaPp][Mm])?)?\b",
            0.0,
            0.35,
            Some(|s, _| date(s)),
            BIRTH_CTX,
            0.5,
        ),
        r(
            DateTime,
            r"(?i)\b(?:\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?)?(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?(?:\s+\d{1,2}(?:st|nd|rd|th)?)?,?\s+\d{4}(?:,?\s+(?:at\s+)?\d{1,2}:\d{2}(?::\d{2})?(?:\s?[ap]m)?)?\b|(?i)\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\s+\d{1,2}\s+\d{2}:\d{2}:\d{2}\b|\b\d{1,2}/(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)/\d{4}:\d{2}:\d{2}:\d{2}(?:\s[+-]\d{4})?",
            0.35,
            0.35,
            None,
            BIRTH_CTX,
            0.5,
        ),
        r(
            DateTime,
            r"(?i)\b\d{1,2}\.?\s+(?:de\s+)?(?:januar|jänner|februar|märz|maerz|april|mai|juni|juli|august|september|oktober|november|dezember|janvier|février|fevrier|mars|avril|juin|juillet|août|aout|septembre|octobre|décembre|decembre|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre|gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|novembre|dicembre|januari|februari|maart|mei|augustus|janeiro|fevereiro|março|marco|maio|junho|julho|setembro|outubro|novembro|dezembro|(?:jan|janv|jän|feb|febr|févr|fév|fevr|fev|mar|mär|mrz|mrt|apr|avr|abr|jun|jul|juil|aug|ago|sep|sept|sett|set|okt|oct|ott|out|nov|dez|déc|dec|dic|ene|mag|giu|lug)\.)\s+(?:de\s+)?\d{4}\b",
            0.35,
            0.35,
            None,
            BIRTH_CTX,
            0.5,
        ),
        r(UsPassport, r"\b[A-Z]?\d{8,9}\b", 0.05, 0.05, None, &["passport"], 0.6),
        r(
            UsDriverLicense,
            r"\b[A-Z]\d{3,14}\b|\b[A-Z]{1,2}\d{5,8}\b|\b[A-Z]\d{3}-\d{3,4}-\d{2,4}(?:-\d{2,3}-\d)?\b|\b\d{7,9}\b",
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
            // A routing number names the bank, not a person's account.
            &["account", "acct", "bank", "checking", "savings"],
            0.5,
        ),
        r(
            MedicalLicense,
            r"\b[ABFGMPRXabfgmprx][A-Za-z9]\d{7}\b",
            0.3,
            0.6,
            Some(|s, _| dea(s)),
            &["dea", "medical license", "license", "prescriber"],
            0.3,
        ),
    ]
}

/// Context words: every recognizer's and the negative ones, found in one automaton.
struct ContextWords {
    /// The context words, then the secret recognizers' anchors, then [`MONTH_PREFIXES`], then
    /// [`MARK_TEXTS`]: one pass finds them all.
    automaton: DFA,
    /// How many context words (pattern ids below it are context words).
    words: usize,
    /// Pattern ids from here on are months' ([`MONTH_PREFIXES`]); from `words` to here,
    /// anchors.
    months: usize,
    /// Pattern ids from here on are [`MARK_TEXTS`]'.
    marks: usize,
    /// Ids of the words that mark numeric look-alikes.
    negative: WordIds,
    /// Ids of context words that name any number (`number`): they speak for no recognizer
    /// against a look-alike's label (`tracking number 7094639138`).
    generic: WordIds,
}

/// What one pass of [`ContextWords`] finds in a text.
#[derive(Default)]
struct Found {
    /// Context words standing as whole words: start, end, id, in order of start.
    words: Vec<(usize, usize, u32)>,
    /// Secret anchors: start, end, anchor index, in the order an overlapping search reports
    /// them.
    anchors: Vec<(usize, usize, usize)>,
    /// Where months' names start a word (one of [`MONTH_PREFIXES`], in any case, after no
    /// letter), in order.
    months: Vec<usize>,
    /// The regions around each `@` ([`AROUND_AT`]), merged, in order.
    at: Vec<(usize, usize)>,
    /// The regions around each colon between hex digits ([`AROUND_COLON`]), merged, in order.
    colons: Vec<(usize, usize)>,
    /// Whether a link's start (`://`, `www.`) is anywhere.
    link: bool,
}

impl Found {
    /// Notes the [`MARK_TEXTS`] entry `k` found at `a..b` in `text`. (Out of the pass's loop,
    /// which reads every byte: its code stays small.)
    #[inline(never)]
    fn mark(&mut self, text: &str, k: usize, a: usize, b: usize) {
        match k {
            0 => widen(text, &mut self.at, a, b, AROUND_AT.0, AROUND_AT.1),
            1 if hex_colon(text.as_bytes(), a) => {
                widen(text, &mut self.colons, a, b, AROUND_COLON.0, AROUND_COLON.1);
            }
            1 => {}
            _ => self.link = true,
        }
    }
}

impl ContextWords {
    /// Builds the automaton over `vocabulary` (lowercase words, ids by position), the secret
    /// anchors, [`MONTH_PREFIXES`] and [`MARK_TEXTS`].
    fn new(vocabulary: &[String], negative: WordIds, generic: WordIds) -> Result<Self, aho_corasick::BuildError> {
        // A full DFA: the context words and anchors are a few kilobytes, and one pass over
        // every text scanned runs through it. No prefilter: with this many words nearly every
        // byte could start one, and without it only match states are special.
        let automaton = DFA::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .build(
                vocabulary
                    .iter()
                    .map(|w| w.as_bytes().to_vec())
                    .chain(crate::secrets::anchor_texts().map(|a| a.as_bytes().to_vec()))
                    .chain(MONTH_PREFIXES.iter().map(|m| m.as_bytes().to_vec()))
                    .chain(MARK_TEXTS.iter().map(|m| m.as_bytes().to_vec())),
            )?;
        let months = vocabulary.len() + crate::secrets::anchor_texts().count();
        Ok(Self {
            automaton,
            words: vocabulary.len(),
            months,
            marks: months + MONTH_PREFIXES.len(),
            negative,
            generic,
        })
    }

    /// Every context word in `text` that stands as a whole word (a plural `s` allowed), every
    /// secret anchor, where months' names start and the [`MARK_TEXTS`], in one pass shared by
    /// every candidate of a scan, into `found`'s buffers (emptied first).
    fn index(&self, text: &str, mut found: Found) -> Found {
        let bytes = text.as_bytes();
        found.words.clear();
        // About one context word in 40 bytes of text: room for them at once.
        found.words.reserve(text.len() / 40 + 4);
        found.anchors.clear();
        found.months.clear();
        found.at.clear();
        found.colons.clear();
        found.link = false;
        // The automaton walked (by `to_special`) rather than through its overlapping
        // iterator: the same matches in the same order (every pattern a state holds, as each
        // state is reached), with the walk's state in registers instead of an iterator's.
        let dfa = &self.automaton;
        let Ok(mut sid) = dfa.start_state(Anchored::No) else {
            return found;
        };
        // Where the walk goes on from: one past the byte that led to the last special state,
        // which is where that state's matches end.
        let mut b = 0;
        while let Some((i, next)) = to_special(dfa, sid, bytes, b) {
            sid = next;
            b = i + 1;
            if dfa.is_dead(sid) {
                // An unanchored search of these patterns never gets there.
                break;
            }
            if !dfa.is_match(sid) {
                // A start state, special only where a prefilter is kept.
                continue;
            }
            for k in 0..dfa.match_len(sid) {
                let pid = dfa.match_pattern(sid, k);
                let id = pid.as_usize();
                let a = b.saturating_sub(dfa.pattern_len(pid));
                if id >= self.marks {
                    found.mark(text, id - self.marks, a, b);
                    continue;
                }
                if id >= self.months {
                    if a == 0 || !bytes[a - 1].is_ascii_alphabetic() {
                        found.months.push(a);
                    }
                    continue;
                }
                if id >= self.words {
                    found.anchors.push((a, b, id - self.words));
                    continue;
                }
                let after = if bytes.get(b) == Some(&b's') { b + 1 } else { b };
                if (a == 0 || !bytes[a - 1].is_ascii_alphanumeric())
                    && bytes.get(after).is_none_or(|c| !c.is_ascii_alphanumeric())
                {
                    found.words.push((a, b, id as u32));
                }
            }
        }
        found.words.sort_unstable();
        found
    }
}

/// Runs `dfa` from `sid` over `bytes[from..]` until it reaches a special state: the index of
/// the byte that led there and that state, or `None` at the end of `bytes`. Not inlined, so
/// the walk's state stays in registers.
#[inline(never)]
fn to_special(dfa: &DFA, mut sid: StateID, bytes: &[u8], from: usize) -> Option<(usize, StateID)> {
    let rest = bytes.get(from..).unwrap_or_default();
    for (k, &byte) in rest.iter().enumerate() {
        sid = dfa.next_state(Anchored::No, sid, byte);
        if dfa.is_special(sid) {
            return Some((from + k, sid));
        }
    }
    None
}

/// The context words of one text (start, end, id, in order of start).
struct Context {
    hits: Vec<(usize, usize, u32)>,
    /// The words near the candidate last asked about.
    near: Vec<(u32, usize)>,
}

impl Context {
    fn hits(&mut self) -> &[(usize, usize, u32)] {
        &self.hits
    }

    /// Whether a word of `ids` lies wholly within `from..to`.
    fn any_within(&mut self, from: usize, to: usize, ids: &WordIds) -> bool {
        let hits = self.hits();
        let first = hits.partition_point(|h| h.0 < from);
        hits[first..]
            .iter()
            .take_while(|h| h.0 < to)
            .any(|h| h.1 <= to && ids.contains(h.2))
    }

    /// The words before `start..end` (within `CONTEXT_BEFORE`, with how many bytes before
    /// `start` each ends) and after it (within `CONTEXT_AFTER`, gap 0).
    fn near(&mut self, start: usize, end: usize) -> &[(u32, usize)] {
        let mut out = std::mem::take(&mut self.near);
        out.clear();
        let hits = self.hits();
        let from = start.saturating_sub(CONTEXT_BEFORE);
        let first = hits.partition_point(|h| h.0 < from);
        for h in &hits[first..] {
            if h.0 >= end + CONTEXT_AFTER {
                break;
            }
            if h.1 <= start {
                out.push((h.2, start - h.1));
            } else if h.0 >= end && h.1 <= end + CONTEXT_AFTER {
                out.push((h.2, 0));
            }
        }
        self.near = out;
        &self.near
    }
}

/// Buffers a scan fills and empties, kept between scans on its thread so that a scan
/// allocates little more than the spans it returns.
#[derive(Default)]
struct Scratch {
    found: Vec<Span>,
    words: Vec<(usize, usize, u32)>,
    near: Vec<(u32, usize)>,
    runs: Vec<(usize, usize)>,
    digit_regions: DigitRegions,
    months: Vec<usize>,
    at: Vec<(usize, usize)>,
    colons: Vec<(usize, usize)>,
    covered: Vec<u64>,
    kept: Vec<Span>,
}

thread_local! {
    /// This thread's buffers, borrowed by the scan running on it.
    static SCRATCH: std::cell::RefCell<Scratch> = const {
        std::cell::RefCell::new(Scratch {
            found: Vec::new(),
            words: Vec::new(),
            near: Vec::new(),
            runs: Vec::new(),
            digit_regions: (Vec::new(), Vec::new()),
            months: Vec::new(),
            at: Vec::new(),
            colons: Vec::new(),
            covered: Vec::new(),
            kept: Vec::new(),
        })
    };
}

impl Scratch {
    /// Runs `scan` with this thread's buffers (empty ones while another scan on it holds
    /// them, or once the thread's own are gone as it ends), then keeps them for the next scan.
    fn with<R>(mut scan: impl FnMut(&mut Scratch) -> R) -> R {
        /// The thread's buffers while a scan holds them, trimmed when it lets them go (a scan
        /// that panicked too).
        struct Held<'a>(std::cell::RefMut<'a, Scratch>);
        impl Drop for Held<'_> {
            fn drop(&mut self) {
                self.0.trim();
            }
        }
        SCRATCH
            .try_with(|cell| {
                let mut held = Held(cell.try_borrow_mut().ok()?);
                Some(scan(&mut held.0))
            })
            .ok()
            .flatten()
            .unwrap_or_else(|| scan(&mut Scratch::default()))
    }

    /// Empties the buffers, but for any a long text made large: no buffer of more than 64 KiB
    /// stays between scans.
    fn trim(&mut self) {
        fn small<T>(v: &mut Vec<T>) {
            const KEEP: usize = 64 * 1024;
            v.clear();
            if v.capacity() * std::mem::size_of::<T>() > KEEP {
                *v = Vec::new();
            }
        }
        small(&mut self.found);
        small(&mut self.words);
        small(&mut self.near);
        small(&mut self.runs);
        small(&mut self.digit_regions.0);
        small(&mut self.digit_regions.1);
        small(&mut self.months);
        small(&mut self.at);
        small(&mut self.colons);
        small(&mut self.covered);
        small(&mut self.kept);
    }
}

/// Finds personal data in text. Build once, share freely (it is `Send + Sync`).
pub struct Analyzer {
    /// Custom pattern recognizers, after the built-in ones.
    custom: Vec<Recognizer>,
    deny_lists: Vec<DenyList>,
    context: ContextWords,
}

/// The built-in recognizers with their context words resolved, built once per process.
struct Builtin {
    recognizers: Vec<Recognizer>,
    vocabulary: Vec<String>,
    negative: WordIds,
    generic: WordIds,
    /// Ids of [`CUSTOMER_CONTEXT`].
    customer: WordIds,
}

/// Context words that name any number, whatever it is.
const GENERIC_CONTEXT: &[&str] = &["number", "nummer", "numero", "número", "numéro"];

/// Words of a customer's number in the seven languages (`Customer number: 05095931`, `Numéro
/// client`): they label a bare run of digits, which a customer's number is; a number grouped as
/// phones are stays one (`call the client number 0161 496 0000`).
const CUSTOMER_CONTEXT: &[&str] = &["customer", "client", "cliente", "kunde", "klant", "klantnummer"];

/// The id of `word` in `vocabulary`, added if new.
fn word_id(word: &str, vocabulary: &mut Vec<String>) -> u32 {
    let w = word.to_ascii_lowercase();
    match vocabulary.iter().position(|v| *v == w) {
        Some(i) => i as u32,
        None => {
            vocabulary.push(w);
            (vocabulary.len() - 1) as u32
        }
    }
}

static BUILTIN: LazyLock<Builtin> = LazyLock::new(|| {
    let mut vocabulary = Vec::new();
    let negative = NEGATIVE_CONTEXT.iter().map(|w| word_id(w, &mut vocabulary)).collect();
    let generic = GENERIC_CONTEXT.iter().map(|w| word_id(w, &mut vocabulary)).collect();
    let customer = CUSTOMER_CONTEXT.iter().map(|w| word_id(w, &mut vocabulary)).collect();
    let mut recognizers = recognizers();
    for r in &mut recognizers {
        r.context = r.context_words.iter().map(|w| word_id(w, &mut vocabulary)).collect();
    }
    Builtin {
        recognizers,
        vocabulary,
        negative,
        generic,
        customer,
    }
});

/// Letters or digits a numeric identifier may carry around its digits (`A1234567`, `+1`).
const REGION_PAD: usize = 16;

/// The first ASCII digit in `b` at or after `from`, read eight bytes at a time: most text
/// holds few digits, and every text is read for them.
fn first_digit(b: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = from;
    while i + 8 <= b.len() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[i..i + 8]);
        let x = u64::from_le_bytes(w);
        // Each byte's low seven bits plus a constant sets its top bit (no carry into the next
        // byte: at most 0x7F + 0x50) when it is at least `0` and keeps it clear when it is at
        // most `9`; bytes with the top bit set are no digit.
        let low = x & !HIGH;
        let at_least_0 = low + ONES * (0x80 - b'0' as u64);
        let at_most_9 = !(low + ONES * (0x80 - b'9' as u64 - 1));
        let digits = at_least_0 & at_most_9 & !x & HIGH;
        if digits != 0 {
            return Some(i + digits.trailing_zeros() as usize / 8);
        }
        i += 8;
    }
    b.get(i..)?.iter().position(u8::is_ascii_digit).map(|p| i + p)
}

/// Runs of digits with the separators identifiers use between them (up to three of
/// ` .-/():`), with a leading `+` or `(`: the cores of the regions numeric recognizers scan.
fn digit_runs(bytes: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let is_sep = |c: u8| matches!(c, b' ' | b'.' | b'-' | b'/' | b'(' | b')' | b':');
    let mut i = 0;
    std::iter::from_fn(move || {
        i = first_digit(bytes, i).unwrap_or(bytes.len());
        if i >= bytes.len() {
            return None;
        }
        let start = if i > 0 && matches!(bytes[i - 1], b'+' | b'(') {
            i - 1
        } else {
            i
        };
        let mut end = i + 1;
        loop {
            while end < bytes.len() && bytes[end].is_ascii_digit() {
                end += 1;
            }
            let mut k = end;
            while k < bytes.len() && k - end < 3 && is_sep(bytes[k]) {
                k += 1;
            }
            if k > end && k < bytes.len() && bytes[k].is_ascii_digit() {
                end = k;
            } else {
                break;
            }
        }
        if bytes.get(end) == Some(&b')') {
            end += 1;
        }
        i = end;
        Some((start, end))
    })
}

/// The regions around digit runs, extended over adjacent letters and digits and merged, with
/// the number of digits in each.
fn digit_regions(text: &str, runs: &[(usize, usize)], (mut regions, mut digits): DigitRegions) -> DigitRegions {
    let bytes = text.as_bytes();
    regions.clear();
    digits.clear();
    regions.reserve(runs.len());
    digits.reserve(runs.len());
    for &(mut a, mut b) in runs {
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
    digits.extend(regions.iter().map(|&(a, b)| RegionDigits::of(&bytes[a..b])));
    (regions, digits)
}

/// The digits of a region: how many, and the most in a row; and which of the separators
/// recognizers' `needs` name it holds.
#[derive(Clone, Copy)]
struct RegionDigits {
    count: u16,
    run: u16,
    /// [`separator_bit`]s of the bytes it holds, or-ed.
    separators: u8,
}

/// The bit a separator that built-in recognizers need (`Recognizer::needs`) sets in
/// [`RegionDigits::separators`]; 0 for every other byte.
const fn separator_bit(c: u8) -> u8 {
    match c {
        b'-' => 1,
        b'/' => 2,
        b'.' => 4,
        b' ' => 8,
        _ => 0,
    }
}

/// [`separator_bit`] of every byte.
static SEPARATOR_BITS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = separator_bit(c as u8);
        c += 1;
    }
    t
};

impl RegionDigits {
    fn of(region: &[u8]) -> Self {
        let (mut count, mut run, mut longest, mut separators) = (0u16, 0u16, 0u16, 0u8);
        for &c in region {
            if c.is_ascii_digit() {
                count = count.saturating_add(1);
                run = run.saturating_add(1);
                longest = longest.max(run);
            } else {
                run = 0;
                separators |= SEPARATOR_BITS[c as usize];
            }
        }
        RegionDigits {
            count,
            run: longest,
            separators,
        }
    }

    /// Whether the region holds one of `needles`: from its separators where they record every
    /// needle, else `None` (the bytes must be searched).
    fn holds_any(&self, needles: &[u8]) -> Option<bool> {
        let mut wanted = 0;
        for &c in needles {
            let m = separator_bit(c);
            if m == 0 {
                return None;
            }
            wanted |= m;
        }
        Some(self.separators & wanted != 0)
    }
}

/// Regions around digit runs, and their digits.
type DigitRegions = (Vec<(usize, usize)>, Vec<RegionDigits>);

/// The regions of one text that each scope scans, computed when first asked for.
struct Regions<'t> {
    text: &'t str,
    /// Buffers for the runs and the digit regions, from the thread's [`Scratch`].
    spare_runs: Vec<(usize, usize)>,
    spare_digits: DigitRegions,
    whole: [(usize, usize); 1],
    /// The digit runs, shared by every scope built from them.
    runs: Option<Vec<(usize, usize)>>,
    digits: Option<DigitRegions>,
    iban: Option<Vec<(usize, usize)>>,
    crypto: Option<Vec<(usize, usize)>>,
    months: Option<Vec<(usize, usize)>>,
    /// What the context words' pass found (its words and anchors taken out): where months'
    /// names start, the regions around `@`s and colons, whether a link starts.
    found: Found,
}

impl<'t> Regions<'t> {
    /// The regions of `text`, with the buffers of `scratch` and what the context words' pass
    /// `found` there.
    fn new(text: &'t str, scratch: &mut Scratch, found: Found) -> Self {
        Self {
            text,
            spare_runs: std::mem::take(&mut scratch.runs),
            spare_digits: std::mem::take(&mut scratch.digit_regions),
            whole: [(0, text.len())],
            runs: None,
            digits: None,
            iban: None,
            crypto: None,
            months: None,
            found,
        }
    }

    /// Gives the runs', digit regions', months' and `@` and colon regions' buffers back to
    /// `scratch`, for the next scan.
    fn into_buffers(self, scratch: &mut Scratch) {
        scratch.runs = self.runs.unwrap_or(self.spare_runs);
        scratch.digit_regions = self.digits.unwrap_or(self.spare_digits);
        scratch.months = self.found.months;
        scratch.at = self.found.at;
        scratch.colons = self.found.colons;
    }

    /// The regions `scope` scans, with their digit counts where known.
    fn of(&mut self, scope: Scope) -> (&[(usize, usize)], &[RegionDigits]) {
        let text = self.text;
        if matches!(
            scope,
            Scope::Digits | Scope::IbanStarts | Scope::CryptoStarts | Scope::Months
        ) && self.runs.is_none()
        {
            let mut runs = std::mem::take(&mut self.spare_runs);
            runs.clear();
            // About one run in 24 bytes of text: room for them at once.
            runs.reserve(text.len() / 24 + 4);
            runs.extend(digit_runs(text.as_bytes()));
            self.runs = Some(runs);
        }
        let runs = self.runs.as_deref().unwrap_or(&[]);
        let regions: &[(usize, usize)] = match scope {
            Scope::Whole => &self.whole,
            Scope::Digits => {
                let spare = &mut self.spare_digits;
                let (r, d) = self
                    .digits
                    .get_or_insert_with(|| digit_regions(text, runs, std::mem::take(spare)));
                return (r, d);
            }
            Scope::AroundAt => &self.found.at,
            Scope::Colons => &self.found.colons,
            Scope::IbanStarts => self.iban.get_or_insert_with(|| iban_regions(text, runs)),
            Scope::CryptoStarts => self.crypto.get_or_insert_with(|| crypto_regions(text, runs)),
            Scope::Months => {
                let starts = &self.found.months;
                self.months.get_or_insert_with(|| month_regions(text, runs, starts))
            }
            Scope::Links => {
                if self.found.link {
                    &self.whole
                } else {
                    &[]
                }
            }
        };
        (regions, &[])
    }
}

impl Default for Analyzer {
    fn default() -> Self {
        Self::new()
    }
}

impl Analyzer {
    /// The built-in recognizers.
    pub fn new() -> Self {
        // The built-in vocabulary is fixed and small; building its automaton cannot fail.
        #[allow(clippy::expect_used)]
        Self::build(Vec::new(), Vec::new()).expect("built-in context words")
    }

    /// The built-in recognizers and `custom` ones (custom recognizers of a built-in type add
    /// to it; deny-lists find their terms anywhere).
    pub fn with_custom(custom: &[CustomRecognizer]) -> Result<Self, crate::custom::ConfigError> {
        let mut recs = Vec::new();
        let mut denies = Vec::new();
        for (i, c) in custom.iter().enumerate() {
            match c.compile(i)? {
                crate::custom::Compiled::Pattern(r) => recs.push(r),
                crate::custom::Compiled::DenyList(d) => denies.push(d),
            }
        }
        Self::build(recs, denies).map_err(|e| crate::custom::ConfigError::Context(e.to_string()))
    }

    fn build(mut custom: Vec<Recognizer>, deny_lists: Vec<DenyList>) -> Result<Self, aho_corasick::BuildError> {
        let builtin = &*BUILTIN;
        let mut vocabulary = builtin.vocabulary.clone();
        for r in &mut custom {
            r.context = r.context_words.iter().map(|w| word_id(w, &mut vocabulary)).collect();
        }
        let context = ContextWords::new(&vocabulary, builtin.negative.clone(), builtin.generic.clone())?;
        Ok(Self {
            custom,
            deny_lists,
            context,
        })
    }

    /// Every entity found in `text`, in order, without overlaps (the higher score, then the
    /// longer span, wins).
    pub fn analyze(&self, text: &str, opts: &Options) -> Vec<Span> {
        Scratch::with(|scratch| self.analyze_with(text, opts, scratch))
    }

    /// [`Analyzer::analyze`] with `scratch` for its buffers.
    fn analyze_with(&self, text: &str, opts: &Options, scratch: &mut Scratch) -> Vec<Span> {
        let mut found = std::mem::take(&mut scratch.found);
        found.clear();
        // About one candidate in 32 bytes of text: room for them at once.
        found.reserve(text.len() / 32 + 4);
        // Context words, secret anchors, months' names, `@`s, colons and links, in one pass over
        // the text.
        let mut found_words = self.context.index(
            text,
            Found {
                words: std::mem::take(&mut scratch.words),
                months: std::mem::take(&mut scratch.months),
                at: std::mem::take(&mut scratch.at),
                colons: std::mem::take(&mut scratch.colons),
                ..Found::default()
            },
        );
        let words = std::mem::take(&mut found_words.words);
        let anchors = std::mem::take(&mut found_words.anchors);
        let mut regions = Regions::new(text, scratch, found_words);
        let mut ctx = Context {
            hits: words,
            near: std::mem::take(&mut scratch.near),
        };
        // The built-in recognizers, then the custom ones (two loops: a chained iterator would
        // test which half it is in for every recognizer of every scan).
        for recs in [&BUILTIN.recognizers[..], &self.custom[..]] {
            for rec in recs {
                if !opts.wants(rec.entity) {
                    continue;
                }
                // A range is searched inside the whole text, so `\b` sees the characters around it.
                // A recognizer that only context can lift skips regions with none of its words near.
                // (Both its scores below the threshold: what `f32::max` of them says, as neither is
                // NaN, custom ones being checked to lie in 0..=1, in two comparisons.)
                let needs_context =
                    rec.base < opts.min_score && rec.validated < opts.min_score && !rec.context.is_empty();
                let (ranges, digits) = regions.of(rec.scope);
                for (k, &(a, b)) in ranges.iter().enumerate() {
                    if digits
                        .get(k)
                        .is_some_and(|d| d.count < rec.min_digits || d.run < rec.min_run)
                    {
                        continue;
                    }
                    if !rec.needs.is_empty()
                        && !digits
                            .get(k)
                            .and_then(|d| d.holds_any(rec.needs))
                            .unwrap_or_else(|| holds_any(&text.as_bytes()[a..b], rec.needs))
                    {
                        continue;
                    }
                    if needs_context
                        && !ctx.any_within(
                            a.saturating_sub(CONTEXT_BEFORE),
                            (b + CONTEXT_AFTER).min(text.len()),
                            &rec.context,
                        )
                    {
                        continue;
                    }
                    rec.pattern.each_match(text, a, b, |start, end| {
                        if let Some(span) = self.score(rec, text, start, end, opts, &mut ctx) {
                            found.push(span);
                        }
                    });
                }
            }
        }
        for d in &self.deny_lists {
            if opts.wants(d.entity) {
                d.find(text, opts.min_score, &mut found);
            }
        }
        if opts.wants(EntityType::Person) || opts.wants(EntityType::Location) || opts.wants(EntityType::StreetAddress) {
            names::find(text, opts, &mut found);
        }
        crate::secrets::find_anchored(text, opts, &mut found, &anchors);
        let mut quiet = Vec::new();
        crate::tables::find(text, opts, &mut found, &mut quiet);
        crate::tables::silence(&mut found, &quiet);
        let spans = resolve(&mut found, &mut scratch.covered, &mut scratch.kept);
        scratch.found = found;
        scratch.words = ctx.hits;
        scratch.near = ctx.near;
        regions.into_buffers(scratch);
        spans
    }

    /// The span a pattern match makes, if it survives its validator and scores high enough.
    fn score(
        &self,
        rec: &Recognizer,
        text: &str,
        start: usize,
        end: usize,
        opts: &Options,
        ctx: &mut Context,
    ) -> Option<Span> {
        let (mut start, mut end) = (start, end);
        let mut value = &text[start..end];
        if rec.entity == EntityType::Url {
            // Sentence punctuation after a URL is not part of it.
            let trimmed = value.trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '}']);
            end = start + trimmed.len();
            value = trimmed;
        }
        if value.len() != value.trim().len() {
            start += value.len() - value.trim_start().len();
            value = value.trim();
            end = start + value.len();
        }
        if rec.numeric && glued(text.as_bytes(), start, end) {
            return None;
        }
        if rec.entity == EntityType::EmailAddress && credentials_in_url(text, start) {
            return None;
        }
        // The IBAN checksum of the value, where it was asked for.
        let mut checksum = None;
        if rec.entity == EntityType::IbanCode {
            // A word after an IBAN can pass for a group of it ("... 0130 00 from"): drop
            // trailing groups of letters until the checksum holds, if it ever does.
            checksum = Some(loop {
                if validate::iban(value) {
                    break true;
                }
                let Some(cut) = value.rfind([' ', '-']) else {
                    break false;
                };
                if !value[cut + 1..].bytes().all(|b| b.is_ascii_alphabetic()) {
                    break false;
                }
                value = &value[..cut];
                end = start + value.len();
            });
        }
        let check = match checksum {
            // The built-in IBAN's validator is that checksum, just run on this value.
            Some(valid) if rec.iban_checksum => Some(ok_if(valid)),
            _ => rec.validator.map(|v| v(value, opts)),
        };
        let mut score = match check {
            Some(Check::Invalid) => return None,
            Some(Check::Valid) => rec.validated,
            Some(Check::Weak) => rec.base * 0.7,
            _ => rec.base,
        };
        if score + rec.boost < opts.min_score {
            // Not even context could lift it.
            return None;
        }
        if (rec.boost > 0.0 && !rec.context.is_empty()) || (score < 1.0 && rec.numeric) {
            let near = ctx.near(start, end);
            // Order, invoice and version numbers are what numeric look-alikes are; the label
            // right before a number outweighs a context word further away.
            // A word of the recognizer's own between that label and the number speaks for it
            // (`Repuesto: llame al 912 345 678`).
            let own_gap = near
                .iter()
                .filter(|(w, gap)| *gap > 0 && rec.context.contains(*w) && !self.context.generic.contains(*w))
                .map(|(_, gap)| *gap)
                .min();
            let labeled_other = rec.numeric
                && near.iter().any(|(w, gap)| {
                    *gap > 0
                        && *gap <= NEGATIVE_BEFORE
                        && ((self.context.negative.contains(*w) && own_gap.is_none_or(|own| own > *gap))
                            // A phone word anywhere near outweighs a customer's
                            // (`Téléphone du client : 0612345678`).
                            || (check == Some(Check::Weak) && BUILTIN.customer.contains(*w) && own_gap.is_none()))
                });
            if labeled_other && score < 1.0 {
                score -= 0.3;
            } else if rec.boost > 0.0 && near.iter().any(|(w, _)| rec.context.contains(*w)) {
                score += rec.boost;
            }
        }
        let score = score.clamp(0.0, 1.0);
        (score >= opts.min_score && end > start).then_some(Span {
            start,
            end,
            entity: rec.entity,
            score,
        })
    }
}

/// Keeps, among overlapping spans, a secret first (a credential is never cut by a name, an
/// e-mail address or a deny-listed term inside it), then the higher score, then the longer one.
/// Empty spans mask nothing and are dropped. The bytes kept spans cover are marked one bit
/// each, so a span's overlap costs a word of bits per 64 of its bytes.
fn resolve(spans: &mut Vec<Span>, covered: &mut Vec<u64>, kept: &mut Vec<Span>) -> Vec<Span> {
    spans.retain(|s| s.end > s.start);
    spans.sort_by(precedence);
    let len = spans.iter().map(|s| s.end).max().unwrap_or(0);
    covered.clear();
    covered.resize(len.div_ceil(64), 0);
    let mut taken = Covered(covered);
    kept.clear();
    kept.extend(spans.drain(..).filter(|s| taken.claim(s.start, s.end)));
    kept.sort_unstable_by_key(|s| s.start);
    // The caller's copy holds the kept spans only.
    kept.to_vec()
}

/// Which of two overlapping spans is kept: a secret, then the higher score, then the longer
/// span, then the earlier one.
fn precedence(a: &Span, b: &Span) -> std::cmp::Ordering {
    b.entity
        .is_secret()
        .cmp(&a.entity.is_secret())
        .then(b.score.total_cmp(&a.score))
        .then((b.end - b.start).cmp(&(a.end - a.start)))
        .then(a.start.cmp(&b.start))
}

/// Bytes covered by kept spans, one bit each.
struct Covered<'a>(&'a mut Vec<u64>);

impl Covered<'_> {
    /// Marks `start..end` (not empty, within the length) covered, if none of it was: whether
    /// it was free.
    fn claim(&mut self, start: usize, end: usize) -> bool {
        let (first, last) = (start / 64, (end - 1) / 64);
        // The bits of word `w` that `start..end` covers.
        let mask = |w: usize| {
            let lo = if w == first { start % 64 } else { 0 };
            let hi = if w == last { (end - 1) % 64 } else { 63 };
            (u64::MAX >> (63 - hi)) & (u64::MAX << lo)
        };
        if (first..=last).any(|w| self.0[w] & mask(w) != 0) {
            return false;
        }
        for w in first..=last {
            self.0[w] |= mask(w);
        }
        true
    }
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
    use regex_automata::Input;

    /// The month regions as first written: every month's name in the text, then each run's
    /// first one within its reach.
    fn month_regions_by_full_scan(text: &str, runs: &[(usize, usize)]) -> Vec<(usize, usize)> {
        let b = text.as_bytes();
        let months: Vec<usize> = (0..b.len())
            .filter(|&i| b[i].is_ascii_alphabetic() && month_at(b, i))
            .collect();
        let mut hits = Vec::new();
        for &(s, e) in runs {
            let (from, to) = (s.saturating_sub(24), (e + 12).min(b.len()));
            let k = months.partition_point(|&m| m < from);
            if let Some(&m) = months.get(k).filter(|&&m| m < to) {
                hits.push((m.min(s), m.max(e)));
            }
        }
        hits.sort_unstable();
        windows(text, hits.into_iter(), 16, 28)
    }

    /// Bitcoin addresses' starts as first written: legacy ones off the runs, SegWit ones by a
    /// search of the whole text for `bc1` and `BC1`.
    fn crypto_regions_by_search(text: &str, runs: &[(usize, usize)]) -> Vec<(usize, usize)> {
        let b = text.as_bytes();
        let word_start = |i: usize| i == 0 || !b[i - 1].is_ascii_alphanumeric();
        let long_enough = |i: usize| b[i..].iter().take(26).take_while(|c| c.is_ascii_alphanumeric()).count() >= 26;
        let legacy = runs.iter().map(|&(s, _)| s).filter(|&s| matches!(b[s], b'1' | b'3'));
        let segwit = memchr::memmem::find_iter(b, b"bc1").chain(memchr::memmem::find_iter(b, b"BC1"));
        let mut starts: Vec<usize> = legacy
            .chain(segwit)
            .filter(|&s| word_start(s) && long_enough(s))
            .collect();
        starts.sort_unstable();
        windows(text, starts.into_iter().map(|s| (s, s)), 0, 90)
    }

    /// Overlaps resolved as first written: kept spans in a map by start, a new one checked
    /// against its neighbours.
    fn resolve_by_map(mut spans: Vec<Span>) -> Vec<Span> {
        spans.retain(|s| s.end > s.start);
        spans.sort_by(precedence);
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

    /// The built-in context words' automaton, as an analyzer without custom words builds it.
    static CONTEXT: LazyLock<ContextWords> =
        LazyLock::new(|| ContextWords::new(&BUILTIN.vocabulary, WordIds::default(), WordIds::default()).unwrap());

    /// The context words and anchors as first found, the automaton's own overlapping iterator;
    /// the months' names by a look at every byte.
    #[allow(clippy::type_complexity)]
    fn index_by_iterator(text: &str) -> (Vec<(usize, usize, u32)>, Vec<(usize, usize, usize)>, Vec<usize>) {
        static AC: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| {
            aho_corasick::AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .build(
                    BUILTIN
                        .vocabulary
                        .iter()
                        .map(|w| w.as_bytes().to_vec())
                        .chain(crate::secrets::anchor_texts().map(|a| a.as_bytes().to_vec())),
                )
                .unwrap()
        });
        let words = BUILTIN.vocabulary.len();
        let bytes = text.as_bytes();
        let (mut found, mut anchors) = (Vec::new(), Vec::new());
        for m in AC.find_overlapping_iter(bytes) {
            let (a, b, id) = (m.start(), m.end(), m.pattern().as_usize());
            if id >= words {
                anchors.push((a, b, id - words));
                continue;
            }
            let after = if bytes.get(b) == Some(&b's') { b + 1 } else { b };
            if (a == 0 || !bytes[a - 1].is_ascii_alphanumeric())
                && bytes.get(after).is_none_or(|c| !c.is_ascii_alphanumeric())
            {
                found.push((a, b, id as u32));
            }
        }
        found.sort_unstable();
        // Months' names by a look at every byte.
        let months = (0..bytes.len()).filter(|&i| month_at(bytes, i)).collect();
        (found, anchors, months)
    }

    /// The range of `text` two random cuts make, each moved to a character boundary.
    fn cut_range(text: &str, cut: (usize, usize)) -> (usize, usize) {
        let ends: Vec<usize> = (0..=text.len()).filter(|&i| text.is_char_boundary(i)).collect();
        let (from, to) = (ends[cut.0 % ends.len()], ends[cut.1 % ends.len()]);
        (from.min(to), from.max(to))
    }

    /// Matches, start and end.
    type Matches = Vec<(usize, usize)>;

    /// The matches `pattern` finds in `text[from..to]`, and those its general engine's iterator
    /// finds there.
    fn both_engines(pattern: &Pattern, text: &str, from: usize, to: usize) -> (Matches, Matches) {
        let mut got = Vec::new();
        pattern.each_match(text, from, to, |a, b| got.push((a, b)));
        let want = pattern
            .regex()
            .find_iter(Input::new(text).range(from..to))
            .map(|m| (m.start(), m.end()))
            .collect();
        (got, want)
    }

    proptest::proptest! {
        /// A text the link scope skips holds no match of the URL pattern.
        #[test]
        fn links_are_only_where_the_link_scope_looks(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "http", "HTTPS", "hTtP", "s", ":", "//", "/", "://", "w", "W", "ww", "www", "WwW", ".",
                    " ", "example", "com", "\n", "é", "<", "\"", "a1",
                ]),
                0..16,
            )
        ) {
            let text = parts.concat();
            let url = BUILTIN.recognizers.iter().find(|r| r.entity == EntityType::Url).unwrap();
            let found = CONTEXT.index(&text, Found::default());
            // The pass's answer is the bytes' own.
            proptest::prop_assert_eq!(found.link, holds_link(text.as_bytes()), "{:?}", text);
            if url.pattern.regex().find(text.as_bytes()).is_some() {
                proptest::prop_assert!(found.link, "{:?}", text);
            }
        }

        /// The context words' pass finds the regions around every `@` and every colon between
        /// hex digits a search of the bytes finds, apart or merged, among context words,
        /// anchors and months' names that hold or end in them, and whether a link starts.
        #[test]
        fn the_context_pass_finds_the_at_and_colon_regions(
            parts in proptest::collection::vec(
                proptest::sample::select(
                    [
                        "@", ":", "::", "://", "a@b", "fe80::1", "12:30", "Name:", "Tel:", "mailto:", "www.", "WWW.",
                        "e-mail:", "jan", " ", "\n", "é", "password:", "sk-", "AKIA", "x", "f:",
                    ]
                    .into_iter()
                    .map(String::from)
                    // Gaps that keep regions apart, or end them inside a character.
                    .chain(["é".repeat(25), " ".repeat(70), "x".repeat(300)])
                    .collect::<Vec<_>>(),
                ),
                0..16,
            )
        ) {
            let text = parts.concat();
            let b = text.as_bytes();
            let found = CONTEXT.index(&text, Found::default());
            proptest::prop_assert_eq!(&found.at, &at_regions(&text), "{:?}", text);
            proptest::prop_assert_eq!(&found.colons, &colon_regions(&text), "{:?}", text);
            proptest::prop_assert_eq!(found.link, holds_link(b), "{:?}", text);
            // Buffers a scan before left full are emptied first.
            let used = Found {
                words: vec![(1, 2, 3)],
                anchors: vec![(1, 2, 3)],
                months: vec![7],
                at: vec![(0, 1)],
                colons: vec![(0, 1)],
                link: true,
            };
            let again = CONTEXT.index(&text, used);
            proptest::prop_assert_eq!(
                (&again.words, &again.anchors, &again.months, &again.at, &again.colons, again.link),
                (&found.words, &found.anchors, &found.months, &found.at, &found.colons, found.link)
            );
        }

        /// Digit groups read by bytes are the groups splitting at every other character gave,
        /// and a lone digit is found as the list of them found it.
        #[test]
        fn digit_groups_agree_with_splitting(s in "[0-9.+()1 é-]{0,24}") {
            let split: Vec<&str> = s.split(|c: char| !c.is_ascii_digit()).filter(|g| !g.is_empty()).collect();
            proptest::prop_assert_eq!(digit_groups(&s).collect::<Vec<_>>(), split.clone());
            let north_american = split.first() == Some(&"1") && split.get(1).is_some_and(|g| g.len() == 3);
            let lone = split.iter().enumerate().any(|(k, g)| g.len() == 1 && !(k == 0 && north_american));
            proptest::prop_assert_eq!(has_lone_digit(&s), lone);
        }

        /// Walking the context automaton finds the words and anchors, in the same order, that
        /// its overlapping iterator found.
        #[test]
        fn context_index_agrees_with_the_iterator(
            parts in proptest::collection::vec((0usize..4096, 0u8..10, proptest::bool::ANY), 0..30)
        ) {
            let anchors: Vec<&str> = crate::secrets::anchor_texts().collect();
            let vocabulary = &BUILTIN.vocabulary;
            let mut text = String::new();
            for (pick, sep, upper) in parts {
                let piece = if pick % 4 == 0 {
                    anchors[pick / 4 % anchors.len()].to_string()
                } else if pick % 4 == 1 && pick % 3 == 0 {
                    // Months' names and words that hold or end like one.
                    ["jan", "March", "MAY", "dec.", "Decimal", "ajan", "summary", "nov", "sept", "o"][pick / 12 % 10]
                        .to_string()
                } else {
                    vocabulary[pick % vocabulary.len()].clone()
                };
                text.push_str(&if upper { piece.to_ascii_uppercase() } else { piece });
                text.push_str(["", " ", "s ", "x", "-", "_", "\n", "é", "1", "s"][sep as usize]);
            }
            let Found { words, anchors, months, .. } = CONTEXT.index(&text, Found::default());
            proptest::prop_assert_eq!((words, anchors, months), index_by_iterator(&text));
        }

        /// Every built-in pattern finds, in any range of any text, the matches the general
        /// engine's iterator finds: its ASCII DFAs where the range is ASCII, the general engine
        /// on from the first byte that is not (`é`, `٣` a digit to Unicode, `ſ` an `s` and `K`
        /// a `k` to `(?i)`, a no-break space a space to `\s`).
        #[test]
        fn compiled_patterns_agree_with_the_general_engine(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "0", "1", "9", "12", "123", "1234", "98765", "123456789", "4111 1111 1111 1111",
                    "-", " ", ".", "/", "(", ")", "+", ":", "@", "A", "x", "de", "DE89", "ab",
                    "http://", "www.", "jan", "Mai", "märz", "\n", "é", "٣", "ſ", "\u{212a}",
                    "\u{a0}", "bc1", "T", "Z", "st", "of", "::", "f0", "j.doe", "_", "%", "+x",
                    "-", "example.com", "mail.co.uk", "a-b", "4111-1111-", "1111",
                ]),
                0..24,
            ),
            cut in (0usize..200, 0usize..200),
        ) {
            let text = parts.concat();
            let (from, to) = cut_range(&text, cut);
            for rec in &BUILTIN.recognizers {
                let (got, want) = both_engines(&rec.pattern, &text, from, to);
                proptest::prop_assert_eq!(got, want, "{:?} in {:?}[{}..{}]", rec.entity, text, from, to);
            }
        }

        /// The patterns matched from their starts (the e-mail's, the card's) find what the
        /// general engine finds, on texts made of their own parts: local parts, signs, domains,
        /// digit groups and separators, beside letters outside ASCII that `(?i)` or `\d` take
        /// (`ſ`, `K`, `٣`) and ones that end a word or a run (`é`).
        #[test]
        fn patterns_from_starts_agree_with_the_general_engine(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "j", "doe", "x1", "_", ".", "%", "+", "-", "@", "example", ".com", ".co.uk", "-mail",
                    " ", ",", "<", ":", "é", "ſ", "\u{212a}", "٣", "1", "12", "4111", "1111", " 1111",
                    "-1111", "4111111111111111", "1234567890123", "a", "Z", "\n",
                    // Local parts near their longest, 64 bytes.
                    "abcdefghijklmnopqrstuvwxyz0123456789", "firstname.lastname.team",
                ]),
                0..40,
            ),
            cut in (0usize..400, 0usize..400),
        ) {
            let text = parts.concat();
            let (from, to) = cut_range(&text, cut);
            for rec in BUILTIN.recognizers.iter().filter(|r| r.pattern.compiled() == "from starts") {
                for (a, b) in [(from, to), (0, text.len())] {
                    let (got, want) = both_engines(&rec.pattern, &text, a, b);
                    proptest::prop_assert_eq!(got, want, "{:?} in {:?}[{}..{}]", rec.entity, text, a, b);
                }
            }
        }

        /// Every match of a built-in recognizer holds the digits in a row its regions are
        /// required to hold before it is searched (what its pattern says, whatever its
        /// validator then accepts).
        #[test]
        fn matches_hold_the_digits_their_regions_need(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "0", "1", "9", "12", "123", "1234", "98765", "1234567", "12345678", "123456789",
                    "-", " ", ".", "/", "(", ")", "+", ":", "A", "M", "x", "AB", "no ", "\n",
                ]),
                0..24,
            )
        ) {
            let text = parts.concat();
            for rec in &BUILTIN.recognizers {
                for m in rec.pattern.regex().find_iter(text.as_bytes()) {
                    let d = RegionDigits::of(&text.as_bytes()[m.start()..m.end()]);
                    proptest::prop_assert!(
                        d.run >= rec.min_run,
                        "{:?} matched {:?}", rec.entity, &text[m.start()..m.end()]
                    );
                }
            }
        }

        /// A region's separators say whether it holds one as a search of its bytes does,
        /// for every built-in recognizer's `needs`; needles they do not record are left to the
        /// search.
        #[test]
        fn region_separators_hold_what_a_search_finds(
            region in proptest::collection::vec(
                proptest::sample::select(vec![b'0', b'7', b'-', b'/', b'.', b' ', b':', b'a', b'X', 0xC3, 0xA9, 0x2D ^ 0x80]),
                0..24,
            ),
            needles in proptest::sample::select(vec![
                &b"-/."[..], &b"."[..], &b"- ."[..], &b"-"[..], &b"/ "[..], &b":"[..], &b"-:"[..],
            ]),
        ) {
            let searched = holds_any(&region, needles);
            let marked = RegionDigits::of(&region).holds_any(needles);
            if needles.iter().all(|&c| separator_bit(c) != 0) {
                proptest::prop_assert_eq!(marked, Some(searched));
            } else {
                proptest::prop_assert_eq!(marked, None);
            }
        }

        /// Eight bytes at a time find the digit one byte at a time finds.
        #[test]
        fn first_digit_finds_the_first(
            bytes in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::num::u8::ANY,
                    // Digits and the bytes beside them, with the top bit set too.
                    proptest::sample::select(vec![b'/', b'0', b'9', b':', 0xAF, 0xB0, 0xB9, 0xBA]),
                ],
                0..40,
            ),
            from in 0usize..44,
        ) {
            let expected = bytes.get(from..).and_then(|r| r.iter().position(u8::is_ascii_digit)).map(|p| from + p);
            proptest::prop_assert_eq!(first_digit(&bytes, from), expected);
        }

        /// Marking covered bytes keeps the spans that checking neighbours kept.
        #[test]
        fn resolve_keeps_what_neighbours_allowed(
            raw in proptest::collection::vec((0usize..300, 0usize..140, 0u8..4, 0u8..3), 0..60)
        ) {
            let kinds = [EntityType::Person, EntityType::EmailAddress, EntityType::AwsAccessKeyId, EntityType::Location];
            let spans: Vec<Span> = raw
                .iter()
                .map(|&(start, len, kind, score)| Span {
                    start,
                    end: start + len,
                    entity: kinds[kind as usize],
                    score: 0.5 + f32::from(score) * 0.2,
                })
                .collect();
            proptest::prop_assert_eq!(
                resolve(&mut spans.clone(), &mut Vec::new(), &mut Vec::new()),
                resolve_by_map(spans)
            );
        }

        /// The months' names the context words' pass finds give the regions a scan of the whole
        /// text for them gave.
        #[test]
        fn month_regions_read_only_near_digits(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "Jan", "march ", "MAY", "dec.", "Decimal", "ajan", " ", "\n", "12", "2024", "3.", "-",
                    "x", "Sept", "é", "aug", "1", "novembre ", "ZZZZZZZZZZZZZZZZZZZZZZZZZZ",
                ]),
                0..80,
            )
        ) {
            let text = parts.concat();
            let runs: Vec<(usize, usize)> = digit_runs(text.as_bytes()).collect();
            let months = CONTEXT.index(&text, Found::default()).months;
            proptest::prop_assert_eq!(month_regions(&text, &runs, &months), month_regions_by_full_scan(&text, &runs));
        }

        /// Bitcoin addresses' starts read off the runs are those a search of the text finds.
        #[test]
        fn crypto_regions_read_off_the_runs(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "bc1", "BC1", "bC1", "abc1", "1", "3", "2", "q", "Z", "x9", " ", "-", "(", "+",
                    "qqqqqqqqqqqqqqqqqqqqqqqqqq", "A1b2C3d4E5f6G7h8J9k0L1m2N3p4", "é", "\n",
                ]),
                0..40,
            )
        ) {
            let text = parts.concat();
            let runs: Vec<(usize, usize)> = digit_runs(text.as_bytes()).collect();
            proptest::prop_assert_eq!(crypto_regions(&text, &runs), crypto_regions_by_search(&text, &runs));
        }
    }

    fn found(text: &str) -> Vec<(EntityType, &str)> {
        Analyzer::new()
            .analyze(text, &Options::default())
            .into_iter()
            .map(|s| (s.entity, &text[s.start..s.end]))
            .collect()
    }

    /// Local parts around their longest (64 bytes) after what may or may not start a word
    /// (a space, `_`, a dot, letters `(?i)` takes for `s` and `k`, `é`), before domains that do
    /// and do not end well; digits a card's length and more: matched from their starts as the
    /// general engine matches them.
    #[test]
    fn patterns_from_starts_agree_at_their_bounds() {
        let mut texts = Vec::new();
        for len in 60..=68 {
            for before in ["", " ", "_", ".", "ſ", "\u{212a}", "é", "x", "a.", "ſ."] {
                for after in ["@x.io", "@x.io.", "@x", "@1.1.1.1 ", "@x.iox", "@x.ioé"] {
                    texts.push(format!("{before}{}{after}", "a".repeat(len)));
                    texts.push(format!("{before}{}.b{after}", "a".repeat(len - 2)));
                }
            }
        }
        for digits in 12..=20 {
            for before in ["", " ", "x", "٣", "_", "-"] {
                texts.push(format!("{before}{}", "1".repeat(digits)));
                texts.push(format!("{before}{} 1", "1 ".repeat(digits)));
            }
        }
        for rec in BUILTIN
            .recognizers
            .iter()
            .filter(|r| r.pattern.compiled() == "from starts")
        {
            for text in &texts {
                let (got, want) = both_engines(&rec.pattern, text, 0, text.len());
                assert_eq!(got, want, "{:?} in {text:?}", rec.entity);
            }
        }
    }

    /// Windows reach `back` bytes before and `fwd` after each hit, widened to whole characters
    /// and clamped to the text, and merge where they touch or overlap.
    #[test]
    fn windows_widen_to_characters_and_merge() {
        // `é` is two bytes: 1 byte back from the `@` at 6 is inside the third one.
        assert_eq!(windows("ééé@x", [(6, 7)].into_iter(), 1, 1), vec![(4, 8)]);
        assert_eq!(windows("ééé@x", [(6, 7)].into_iter(), 1, 9), vec![(4, 8)]);
        assert_eq!(windows("@é", [(0, 1)].into_iter(), 5, 1), vec![(0, 3)]);
        // Apart, touching, overlapping.
        let text = "a".repeat(40);
        assert_eq!(
            windows(&text, [(5, 6), (20, 21)].into_iter(), 2, 2),
            vec![(3, 8), (18, 23)]
        );
        assert_eq!(windows(&text, [(5, 6), (10, 11)].into_iter(), 2, 2), vec![(3, 13)]);
        assert_eq!(windows(&text, [(5, 6), (7, 8)].into_iter(), 2, 2), vec![(3, 10)]);
        assert_eq!(
            windows(&text, [(5, 6), (6, 7), (39, 40)].into_iter(), 1, 1),
            vec![(4, 8), (38, 40)]
        );
        assert_eq!(windows(&text, std::iter::empty(), 1, 1), Vec::<(usize, usize)>::new());
    }

    /// The one recognizer whose IBAN checksum the scan reuses has that checksum for its
    /// validator; custom recognizers of IBANs run their own.
    #[test]
    fn the_reused_iban_checksum_is_the_validators() {
        let reusing: Vec<_> = BUILTIN.recognizers.iter().filter(|r| r.iban_checksum).collect();
        assert_eq!(reusing.len(), 1);
        assert_eq!(reusing[0].entity, EntityType::IbanCode);
        let Some(validator) = reusing[0].validator else {
            panic!("the IBAN recognizer has no validator");
        };
        let opts = Options::default();
        for s in [
            "DE89 3704 0044 0532 0130 00",
            "DE89 3704 0044 0532 0130 01",
            "GB29NWBK60161331926819",
            "gb29 nwbk 6016 1331 9268 19",
            "FR14 2004 1010 0505 0001 3M02 606",
            "XX00 0000 0000",
            "",
        ] {
            assert_eq!(validator(s, &opts), ok_if(validate::iban(s)), "{s}");
        }
        let custom = CustomRecognizer {
            entity: "IBAN_CODE".into(),
            pattern: Some(r"\bIBAN-\d+\b".into()),
            deny_list: None,
            validator: None,
            context: Vec::new(),
            score: None,
            context_boost: None,
            case_insensitive: false,
        };
        let analyzer = Analyzer::with_custom(&[custom]).unwrap_or_else(|e| panic!("{e}"));
        assert!(analyzer.custom.iter().all(|r| !r.iban_checksum));
        // Its match is no valid IBAN, and without a validator it stands on its score.
        let spans = analyzer.analyze("ref IBAN-12345", &opts);
        assert!(spans.iter().any(|s| s.entity == EntityType::IbanCode), "{spans:?}");
    }

    /// Every built-in recognizer that needs a separator scans digit regions, which record
    /// its separators: the regions are not searched for them.
    #[test]
    fn built_in_needs_are_read_from_region_separators() {
        let with_needs: Vec<_> = BUILTIN.recognizers.iter().filter(|r| !r.needs.is_empty()).collect();
        assert!(!with_needs.is_empty());
        for rec in with_needs {
            assert_eq!(rec.scope, Scope::Digits, "{:?}", rec.entity);
            assert!(RegionDigits::of(b"").holds_any(rec.needs).is_some(), "{:?}", rec.entity);
        }
    }

    /// Every built-in pattern's DFAs fit their limit (one that did not would be searched by the
    /// general engine only: right, and slower): the e-mail's and the card's match from their
    /// starts, whose DFAs searching anywhere would not fit.
    #[test]
    fn built_in_patterns_are_compiled_where_they_fit() {
        for rec in &BUILTIN.recognizers {
            let want = match rec.entity {
                EntityType::EmailAddress | EntityType::CreditCard => "from starts",
                _ => "anywhere",
            };
            assert_eq!(rec.pattern.compiled(), want, "{:?}", rec.entity);
        }
        // Their DFAs searching anywhere would not fit: without starts, the general engine only.
        for p in [
            r"(?i)\b[a-z0-9][a-z0-9._%+-]{0,63}@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}\b",
            r"\b(?:\d[ -]?){12,18}\d\b",
        ] {
            assert_eq!(built_in(p, None).compiled(), "no", "{p}");
        }
    }

    #[test]
    fn structured_identifiers_with_validators() {
        use EntityType::*;
        let t = "Mail jane.doe@example.co.uk or call +44 20 7946 0958. Card 4111 1111 1111 1111, \
                 IBAN DE89 3704 0044 0532 0130 00, server 192.168.10.20 and 2001:db8::8a2e:370:7334, \
                 see https://example.com/a?email=x. BTC 1BoatSLRHtKNngkdXEeobR76b53LETtpyT.";
        let f = found(t);
        for want in [
            (EmailAddress, "jane.doe@example.co.uk"),
            (PhoneNumber, "+44 20 7946 0958"),
            (CreditCard, "4111 1111 1111 1111"),
            (IbanCode, "DE89 3704 0044 0532 0130 00"),
            (IpAddress, "192.168.10.20"),
            (IpAddress, "2001:db8::8a2e:370:7334"),
            (Url, "https://example.com/a?email=x"),
            (Crypto, "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"),
        ] {
            assert!(f.contains(&want), "{want:?} not in {f:?}");
        }
    }

    #[test]
    fn links_are_personal_data_when_they_point_at_a_person() {
        use EntityType::*;
        assert!(
            found("see https://www.linkedin.com/in/anna-weber-1a2b3c")
                .contains(&(Url, "https://www.linkedin.com/in/anna-weber-1a2b3c"))
        );
        assert!(
            found("open https://crm.example.com/view?customer=48213&tab=2")
                .iter()
                .any(|(e, _)| *e == Url)
        );
        assert!(
            !found("docs: https://www.postgresql.org/docs/16/libpq-connect.html")
                .iter()
                .any(|(e, _)| *e == Url)
        );
        assert!(
            found("me: https://github.com/anna-weber")
                .iter()
                .any(|(e, _)| *e == Url)
        );
        let repo = "repo: https://github.com/rust-lang/rust and https://www.dropbox.com/s/abc";
        assert!(!found(repo).iter().any(|(e, _)| *e == Url), "{:?}", found(repo));
    }

    #[test]
    fn context_lifts_weak_candidates() {
        use EntityType::*;
        assert!(found("My SSN is 536-22-1234.").contains(&(UsSsn, "536-22-1234")));
        assert!(found("passport number 912345678").contains(&(UsPassport, "912345678")));
        assert!(found("NHS number 943 476 5919").contains(&(UkNhs, "943 476 5919")));
        assert!(found("Born on 03/14/1985").contains(&(DateTime, "03/14/1985")));
        // `number` in the other languages says what a national number is, as in English.
        assert!(found("meu número é (11) 98765-4321").contains(&(PhoneNumber, "(11) 98765-4321")));
        assert!(found("il mio numero è 347 229 8815").contains(&(PhoneNumber, "347 229 8815")));
        assert!(found("mi número: 612 345 678").contains(&(PhoneNumber, "612 345 678")));
        // A phone word outweighs a customer's (found in review).
        for text in [
            "Téléphone du client : 0612345678",
            "Teléfono del cliente: 612345678",
            "Telefon Kunde: 0301234567",
        ] {
            assert!(
                found(text).iter().any(|(e, _)| *e == PhoneNumber),
                "{text}: {:?}",
                found(text)
            );
        }
        // A customer's number is no phone number, in any of the languages.
        for text in [
            "Customer number: 05095931.",
            "Numéro client : 05095931.",
            "número de cliente 05095931",
            "numero cliente 05095931",
            "Kunde Nr. 05095931",
            "klantnummer: 05095931",
            // Found in review: serial and tracking numbers after `número`.
            "número de serie: 612345678",
            "número de seguimiento 612345678",
            "numéro de suivi 0612345678",
        ] {
            assert!(
                !found(text).iter().any(|(e, _)| *e == PhoneNumber),
                "{text}: {:?}",
                found(text)
            );
        }
        assert!(found("Date of birth: 14 March 1984").contains(&(DateTime, "14 March 1984")));
        assert!(found("geboren am 12.03.1985 in Köln").contains(&(DateTime, "12.03.1985")));
        assert!(found("date de naissance : 05/11/1990").contains(&(DateTime, "05/11/1990")));
        assert!(found("Data de nascimento: 13 de junho de 1962").contains(&(DateTime, "13 de junho de 1962")));
        assert!(found("Geburtsdatum: 18. Februar 1952").contains(&(DateTime, "18. Februar 1952")));
        assert!(found("nato il 3 marzo 1971 a Lecce").contains(&(DateTime, "3 marzo 1971")));
        // November in Italian and French (`novembre`), and the first person of being born in
        // Spanish and Portuguese, the past tense in Italian.
        assert!(found("Nata a: Treviso il 6 novembre 1981").contains(&(DateTime, "6 novembre 1981")));
        assert!(found("née le 14 novembre 1975 à Lyon").contains(&(DateTime, "14 novembre 1975")));
        assert!(found("Me llamo Jordi, nací el 02/03/1978 y vivo").contains(&(DateTime, "02/03/1978")));
        assert!(found("nací el 21 de abril de 1992").contains(&(DateTime, "21 de abril de 1992")));
        assert!(found("Chamo-me Lorena, nasci a 04/01/1971 e moro").contains(&(DateTime, "04/01/1971")));
        assert!(found("o meu pai nasceu em 17 de julho de 1975").contains(&(DateTime, "17 de julho de 1975")));
        assert!(found("mia nonna nacque il 12/05/1931 a Bari").contains(&(DateTime, "12/05/1931")));
        // Abbreviated and unaccented month names.
        assert!(found("Geb. 3. Okt. 1958 in Graz").contains(&(DateTime, "3. Okt. 1958")));
        assert!(found("né le 12 févr. 1985 à Metz").contains(&(DateTime, "12 févr. 1985")));
        assert!(found("nata il 5 ott. 1970").contains(&(DateTime, "5 ott. 1970")));
        assert!(found("date de naissance : 2 aout 1964").contains(&(DateTime, "2 aout 1964")));
        assert!(found("nacida el 12 mar. 1985").contains(&(DateTime, "12 mar. 1985")));
        // Dotted national numbers of Spain, Portugal and Brazil are phone numbers; a bare run
        // starting with 011 is a national number at most, no international one.
        for phone in [
            "Tel.: 91.435.12.34",
            "Tel. 21.346.78.90",
            // A phone word between a part's label and the number.
            "Repuesto: llame al 912 345 678",
            "Per il ricambio chiamami al 333 123 4567",
        ] {
            assert!(
                found(phone).iter().any(|(e, _)| *e == PhoneNumber),
                "{phone}: {:?}",
                found(phone)
            );
        }
        let tracking = Analyzer::new().analyze("tracking id 0114900804", &Options::default());
        assert!(tracking.iter().all(|s| s.score < 0.75), "{tracking:?}");
        assert!(
            !found("Lieferung am 18. Februar 2025")
                .iter()
                .any(|(e, _)| *e == DateTime)
        );
        // Other dates are no personal data by themselves.
        assert!(!found("Meeting on 14 March 2024").iter().any(|(e, _)| *e == DateTime));
        assert!(!found("Lieferung am 12.03.2025").iter().any(|(e, _)| *e == DateTime));
        // A number written as an international one that the plan does not list is a phone
        // number where the text says so, and nothing otherwise.
        assert!(found("Tel: +32 2 938 41 69").contains(&(PhoneNumber, "+32 2 938 41 69")));
        assert!(found("Tel.: (+34) 962 027 449").contains(&(PhoneNumber, "(+34) 962 027 449")));
        assert!(found("bel me op +31612345678").contains(&(PhoneNumber, "+31612345678")));
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
            // Versions of four parts, in the countries of the seven languages.
            "la stampante non stampa dopo l'aggiornamento 3.28.33.6509",
            "la VPN se desconecta tras actualizar a 9.12.35.7358",
            "image: registry.gitlab.com/acme/shop-api:21.6.32.1521",
            // Spare parts and Brazilian invoices (`NF-e`).
            "Status: Ersatzteil 3257-960-560 bestellt",
            "quote NF-e 913.267.529 as the reference",
            "Carrier: Siemens – tracking number 7094639138",
            // A German generation is no month.
            "Zum Geburtstag wünscht er sich ein iPad 9. Gen. 2021",
            // Inventory and asset numbers, a customer's number, a bank's routing number.
            "Details: Dyson V15, assetnummer 040.608.54.",
            "poste ThinkPad T14s Gen 4, n° d'inventaire 8197-755-907.",
            "PC Dyson V15, cespite 097.020.07.",
            "Galaxy Tab S9, patrimônio 6068-304-057.",
        ] {
            let f = found(decoy);
            assert!(f.is_empty(), "{decoy}: {f:?}");
        }
        // A country absent from a list is no person away.
        assert_eq!(
            found("France est absente de la liste des finalistes."),
            vec![(EntityType::Location, "France")]
        );
        // Phone numbers stay phone numbers near words of customers and routing.
        for text in [
            "Routing desk: +1 415 555 0134 after 6pm.",
            "Please call the client number 0161 496 0000 before noon.",
        ] {
            assert!(found(text).iter().any(|(e, _)| *e == EntityType::PhoneNumber), "{text}");
        }
        for decoy in [
            // French elisions and verbs at a sentence's start are no names.
            "Merci. J'ai 8 ans d'expérience en EHPAD.",
            "Está bom assim para produção?",
            "verliert seit einer Woche Wasser.",
        ] {
            let f = found(decoy);
            assert!(f.is_empty(), "{decoy}: {f:?}");
        }
    }

    #[test]
    fn a_scan_from_a_thread_local_destructor_works() {
        // A guard that masks what it holds when its thread ends, registered before the scan's
        // own thread-local buffers: those are gone by the time it runs.
        struct MaskOnExit;
        impl Drop for MaskOnExit {
            fn drop(&mut self) {
                let spans = Analyzer::new().analyze("Call Anna Schmidt on +49 30 901820 44", &Options::default());
                assert!(spans.iter().any(|s| s.entity == EntityType::PhoneNumber));
            }
        }
        thread_local! {
            static GUARD: MaskOnExit = const { MaskOnExit };
        }
        let t = std::thread::spawn(|| {
            GUARD.with(|_| {});
            Analyzer::new().analyze("Call Anna Schmidt on +49 30 901820 44", &Options::default());
        });
        assert!(t.join().is_ok());
    }

    /// A scan while this thread's buffers are held finds what one with them finds; a scan
    /// after other texts finds what one on a fresh thread does; a long text's large buffers
    /// are not kept.
    #[test]
    fn a_scan_works_with_the_threads_buffers_held_used_or_grown() {
        let analyzer = Analyzer::new();
        let opts = Options::default();
        let text = "Dear Anna Schmidt, call +49 30 901820 44 or mail anna@example.de; 10.0.0.1 at 12:30.";
        let fresh = std::thread::scope(|s| s.spawn(|| analyzer.analyze(text, &opts)).join()).unwrap_or_default();
        assert!(fresh.len() >= 4, "{fresh:?}");
        let held = SCRATCH.with(|cell| {
            let _held = cell.borrow_mut();
            analyzer.analyze(text, &opts)
        });
        assert_eq!(held, fresh);
        // Many candidates, context words, `@`s and colons: buffers beyond 64 KiB while it
        // is read.
        let long = "Maria Rossi, Via Roma 1, 00184 Roma, phone: m@x.it fe80::1; ".repeat(4_000);
        assert!(!analyzer.analyze(&long, &opts).is_empty());
        SCRATCH.with(|cell| {
            let s = cell.borrow();
            assert!(s.found.capacity() * std::mem::size_of::<Span>() <= 64 * 1024);
            assert!(s.words.capacity() * std::mem::size_of::<(usize, usize, u32)>() <= 64 * 1024);
            assert!(s.words.is_empty() && s.at.is_empty() && s.colons.is_empty() && s.found.is_empty());
        });
        assert_eq!(analyzer.analyze(text, &opts), fresh);
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
