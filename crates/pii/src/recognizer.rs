//! What every recognizer shares, at the bottom of the crate: the span a scan reports, the
//! options it takes, and the pieces a recognizer is made of (pattern, validator, scope). The
//! built-in analyzer and the custom recognizers both build on these; neither on the other's
//! internals.

use regex_automata::dfa::{self, Automaton, dense};
use regex_automata::meta::Regex;
use regex_automata::util::syntax;
use regex_automata::{Input, nfa::thompson};

use crate::entity::EntityType;

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
pub(crate) enum Check {
    /// A valid identifier of this kind: the recognizer's validated score.
    Valid,
    /// Not one: dropped.
    Invalid,
    /// Cannot tell: the base score stands.
    Unknown,
    /// Could be one, but written the way other numbers are too: less than the base score.
    Weak,
}

pub(crate) type Validator = fn(&str, &Options) -> Check;

/// Context words' ids (see the analyzer's vocabulary), as a bit per id: whether a word found
/// near a candidate is one of them is a shift and a mask. A set takes a bit for every id up to
/// its largest: at most the vocabulary's length over eight bytes (tens of bytes for the
/// built-in words, which come first; custom recognizers' words come after them).
#[derive(Debug, Clone, Default)]
pub(crate) struct WordIds {
    /// Empty when no id is in; otherwise as long as the largest id needs.
    bits: Vec<u64>,
}

impl WordIds {
    /// Whether no id is in.
    pub(crate) fn is_empty(&self) -> bool {
        self.bits.is_empty()
    }

    /// Whether `id` is in.
    #[inline]
    pub(crate) fn contains(&self, id: u32) -> bool {
        let id = id as usize;
        self.bits.get(id / 64).is_some_and(|&b| (b >> (id % 64)) & 1 != 0)
    }
}

impl FromIterator<u32> for WordIds {
    fn from_iter<I: IntoIterator<Item = u32>>(ids: I) -> Self {
        let mut bits = Vec::new();
        for id in ids {
            let id = id as usize;
            if bits.len() <= id / 64 {
                bits.resize(id / 64 + 1, 0);
            }
            bits[id / 64] |= 1 << (id % 64);
        }
        Self { bits }
    }
}

/// One pattern recognizer: a pattern, an optional validator, and context.
pub(crate) struct Recognizer {
    pub(crate) entity: EntityType,
    pub(crate) pattern: Pattern,
    /// Score of a candidate no validator vouched for.
    pub(crate) base: f32,
    /// Score of a candidate its validator accepted.
    pub(crate) validated: f32,
    pub(crate) validator: Option<Validator>,
    /// Context words (lowercase) that make a candidate likelier, as given; resolved to
    /// `context` ids when the analyzer is built.
    pub(crate) context_words: Vec<String>,
    pub(crate) context: WordIds,
    /// How much a context word adds.
    pub(crate) boost: f32,
    /// Where its matches can be, and so what must be scanned.
    pub(crate) scope: Scope,
    /// Whether order, invoice and version words lower its candidates (numeric look-alikes).
    pub(crate) numeric: bool,
    /// Fewest ASCII digits a match holds: regions with fewer are not searched.
    pub(crate) min_digits: u16,
    /// Fewest digits in a row a match holds (regions with no such run are skipped).
    pub(crate) min_run: u16,
    /// Bytes one of which every match holds (separators of dates, addresses): regions without
    /// any are not searched. Empty: no such byte.
    pub(crate) needs: &'static [u8],
    /// Whether its validator is the IBAN checksum (`ok_if(validate::iban)`), which the scan
    /// runs on an IBAN's match anyway (to drop words after it) and so need not run twice.
    pub(crate) iban_checksum: bool,
}

/// A recognizer's pattern: the general engine, and for a built-in pattern the same pattern
/// fully compiled (once, when the built-in recognizers are built) into DFAs over ASCII, which
/// most regions are. A recognizer searches a short region a few times a message: the general
/// engine pays some hundreds of instructions a search to fetch its cache and pick a strategy
/// before it reads a byte; the DFAs only find their start state. (Where a byte outside ASCII
/// could be part of a match or beside one, `n°123`, the region is read twice from its last
/// match on: by the DFAs up to that byte, then by the general engine.)
pub(crate) struct Pattern {
    general: Regex,
    ascii: Ascii,
}

/// A built-in pattern's DFAs over ASCII. Each stops (an error, not a wrong answer) at the first
/// byte outside ASCII, where the general engine reads on: on ASCII text `\d`, `\s` and `(?i)`
/// mean the same in both.
enum Ascii {
    /// None: a custom pattern, or a built-in one whose DFAs would not fit
    /// [`ASCII_DFA_LIMIT`] (none does; a test pins which way each is compiled).
    None,
    /// A forward and a reverse DFA that search for the pattern anywhere.
    Anywhere(Box<dfa::regex::Regex>),
    /// A forward DFA that matches from a given start only, tried at each of the
    /// [`Starts`] in order: for a pattern whose DFAs searching anywhere would not fit
    /// [`ASCII_DFA_LIMIT`] (counted repetitions, such as an address's parts or a card's digits
    /// with or without separators, multiply their states where a match may start at any byte).
    FromStarts(Box<dense::DFA<Vec<u32>>>, Starts),
}

/// Where every match of a pattern searched from its starts begins: the leftmost start a match
/// begins at is the leftmost match, with the end the anchored search gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Starts {
    /// An e-mail address's: at an ASCII letter or digit that starts a word (no letter, digit
    /// or `_` before it), in the run of at most 64 bytes of the address's local part
    /// (`[A-Za-z0-9._%+-]`) right before an `@`.
    BeforeAt,
    /// At an ASCII digit that starts a word.
    WordDigits,
}

/// The most memory one pattern's compiled DFAs may take while they are built, each: the
/// largest built-in pattern compiled (German, French, Spanish, Italian, Dutch and Portuguese
/// dates) takes 220 KB forward, 130 KB in reverse.
const ASCII_DFA_LIMIT: usize = 512 << 10;

/// Whether `b` is a word byte to `(?-u:\b)`, the built-in patterns' word boundary.
fn word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether `b` can be in an e-mail address's local part, as the built-in pattern spells it.
fn local_part_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

/// The next place [`next_start`] found where a match may start, or why there is none.
enum Next {
    /// A position to try.
    At(usize),
    /// No match can start before `to`.
    Done,
    /// A byte outside ASCII where a match may hold or start: the general engine reads on.
    NotAscii,
}

impl Pattern {
    /// A pattern searched by the general engine only (a custom one).
    pub(crate) fn general(general: Regex) -> Self {
        Self {
            general,
            ascii: Ascii::None,
        }
    }

    /// A built-in pattern: `general` is `source` compiled as it is, the DFAs are compiled here:
    /// to search anywhere, or where `starts` says every match begins (for a pattern whose DFAs
    /// searching anywhere would not fit), one anchored forward DFA. None where they would not
    /// fit [`ASCII_DFA_LIMIT`].
    pub(crate) fn built_in(general: Regex, source: &str, starts: Option<Starts>) -> Self {
        let mut dense = dense::Config::new()
            .dfa_size_limit(Some(ASCII_DFA_LIMIT))
            .determinize_size_limit(Some(ASCII_DFA_LIMIT));
        for byte in 0x80..=0xFF {
            dense = dense.quit(byte, true);
        }
        let syntax = syntax::Config::new().unicode(false).utf8(false);
        let thompson = thompson::Config::new().utf8(false);
        let ascii = match starts {
            None => dfa::regex::Builder::new()
                .dense(dense)
                .syntax(syntax)
                .thompson(thompson)
                .build(source)
                .map_or(Ascii::None, |re| Ascii::Anywhere(Box::new(re))),
            Some(starts) => dense::Builder::new()
                .configure(dense.start_kind(dfa::StartKind::Anchored))
                .syntax(syntax)
                .thompson(thompson)
                .build(source)
                .map_or(Ascii::None, |d| Ascii::FromStarts(Box::new(d), starts)),
        };
        Self { general, ascii }
    }

    /// Calls `each` with the start and end of every match inside `text[from..to]`, in order,
    /// as the general engine's iterator finds them (leftmost first, the next search where a
    /// match ends; `\b` sees the bytes around the range).
    pub(crate) fn each_match(&self, text: &str, from: usize, to: usize, mut each: impl FnMut(usize, usize)) {
        let mut at = from;
        match &self.ascii {
            Ascii::None => {}
            Ascii::Anywhere(ascii) => loop {
                if at >= to {
                    return;
                }
                match ascii.try_search(&Input::new(text).range(at..to)) {
                    Ok(None) => return,
                    Ok(Some(m)) if m.end() > m.start() => {
                        each(m.start(), m.end());
                        at = m.end();
                    }
                    // A byte outside ASCII (or an empty match, which no built-in pattern
                    // makes): the general engine reads on from here.
                    _ => break,
                }
            },
            Ascii::FromStarts(forward, starts) => {
                let mut next = at;
                loop {
                    let p = match next_start(text.as_bytes(), next, to, *starts) {
                        Next::At(p) => p,
                        Next::Done => return,
                        Next::NotAscii => break,
                    };
                    let input = Input::new(text).range(p..to).anchored(regex_automata::Anchored::Yes);
                    match forward.try_search_fwd(&input) {
                        Ok(None) => next = p + 1,
                        Ok(Some(m)) if m.offset() > p => {
                            each(p, m.offset());
                            at = m.offset();
                            next = at;
                        }
                        // A byte outside ASCII in the match or beside it (or an empty match):
                        // the general engine reads on from the last match.
                        _ => break,
                    }
                }
            }
        }
        for m in self.general.find_iter(Input::new(text).range(at..to)) {
            each(m.start(), m.end());
        }
    }

    /// The general engine, for what needs more than [`Pattern::each_match`].
    #[cfg(test)]
    pub(crate) fn regex(&self) -> &Regex {
        &self.general
    }

    /// How the pattern is compiled beside the general engine: `"anywhere"`, `"from starts"`
    /// or `"no"`.
    #[cfg(test)]
    pub(crate) fn compiled(&self) -> &'static str {
        match self.ascii {
            Ascii::None => "no",
            Ascii::Anywhere(_) => "anywhere",
            Ascii::FromStarts(..) => "from starts",
        }
    }
}

/// The first position at or after `p` (and before `to`) a match may start at by `starts` (`p`
/// is the last match's end or past it: no match starts before it).
fn next_start(b: &[u8], p: usize, to: usize, starts: Starts) -> Next {
    let word_start = |q: usize| q == 0 || !word_byte(b[q - 1]);
    match starts {
        Starts::WordDigits => {
            let mut q = p;
            while q < to {
                let c = b[q];
                if !c.is_ascii() {
                    return Next::NotAscii;
                }
                if c.is_ascii_digit() && word_start(q) {
                    return Next::At(q);
                }
                q += 1;
            }
            Next::Done
        }
        Starts::BeforeAt => {
            let mut q = p;
            while let Some(n) = b.get(q..to).and_then(|rest| memchr::memchr(b'@', rest)) {
                let sign = q + n;
                // The local part's run before the sign, within 64 bytes and not before `p`.
                let floor = sign.saturating_sub(64).max(p);
                let mut s = sign;
                while s > floor && local_part_byte(b[s - 1]) {
                    s -= 1;
                }
                if s > floor && !b[s - 1].is_ascii() {
                    return Next::NotAscii;
                }
                if let Some(first) = (s..sign).find(|&c| b[c].is_ascii_alphanumeric() && word_start(c)) {
                    return Next::At(first);
                }
                q = sign + 1;
            }
            Next::Done
        }
    }
}

/// The part of a text a recognizer scans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// All of it.
    Whole,
    /// Regions around digit runs: every match holds one and lies within a few letters of it.
    Digits,
    /// Regions around `@`: an e-mail address holds one, with at most 64 bytes before it.
    AroundAt,
    /// Where two letters start a word and digits follow (an IBAN's country and check digits).
    IbanStarts,
    /// Where a word starts with `1`, `3` or `bc1` and runs on for 25 characters or more (a
    /// Bitcoin address).
    CryptoStarts,
    /// Around month names.
    Months,
    /// Regions around colons between hexadecimal digits (IPv6 addresses).
    Colons,
    /// All of it when it holds `://` or `www.` (any case), which every link holds; else none.
    Links,
}

/// `Valid` when `b`, else `Invalid`.
pub(crate) fn ok_if(b: bool) -> Check {
    if b { Check::Valid } else { Check::Invalid }
}

pub(crate) fn is_date(s: &str) -> bool {
    date(s) == Check::Valid
}

/// A numeric date whose month and day are in range (either order), or an ISO date-time.
pub(crate) fn date(s: &str) -> Check {
    let mut parts = [0u32; 3];
    let mut n = 0;
    for p in s.split(|c: char| !c.is_ascii_digit()).filter(|p| !p.is_empty()) {
        if n == 3 {
            break;
        }
        let Ok(v) = p.parse() else {
            return Check::Invalid;
        };
        parts[n] = v;
        n += 1;
    }
    if n < 3 {
        return Check::Unknown;
    }
    let [a, b, c] = parts;
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
pub(crate) fn dea(s: &str) -> Check {
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

/// What to look for.
#[derive(Debug, Clone)]
pub struct Options {
    /// Only these entity types (all when `None`).
    pub entities: Option<Vec<EntityType>>,
    /// Spans scoring below this are dropped.
    pub min_score: f32,
    /// Regions (ISO 3166 codes, as libphonenumber names them) whose national phone formats
    /// count; `None` for [`phone::DEFAULT_REGIONS`]. International numbers count everywhere.
    pub phone_regions: Option<Vec<String>>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            entities: None,
            min_score: 0.5,
            phone_regions: None,
        }
    }
}

impl Options {
    /// Whether `entity` is asked for.
    pub fn wants(&self, entity: EntityType) -> bool {
        self.entities.as_ref().is_none_or(|es| es.contains(&entity))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// In ASCII text the starts are found without the general engine: each word start of a
    /// local part within 64 bytes of its `@`, each digit starting a word.
    #[test]
    fn finds_the_starts_in_ascii_text() {
        let b = b"mail j.doe@x.io or 4111 1111";
        let at = |p: usize, starts: Starts| match next_start(b, p, b.len(), starts) {
            Next::At(q) => Some(q),
            Next::Done => None,
            Next::NotAscii => Some(usize::MAX),
        };
        assert_eq!(at(0, Starts::BeforeAt), Some(5));
        assert_eq!(at(6, Starts::BeforeAt), Some(7));
        assert_eq!(at(8, Starts::BeforeAt), None);
        assert_eq!(at(0, Starts::WordDigits), Some(19));
        assert_eq!(at(20, Starts::WordDigits), Some(24));
        assert_eq!(at(b.len(), Starts::BeforeAt), None);
        // 65 bytes of local part: `b` is too far from the sign, the word after the dot is not.
        let long = format!("b.{}@x.io", "a".repeat(63));
        assert!(matches!(
            next_start(long.as_bytes(), 0, long.len(), Starts::BeforeAt),
            Next::At(2)
        ));
        let unbroken = format!("{}@x.io", "a".repeat(65));
        assert!(matches!(
            next_start(unbroken.as_bytes(), 0, unbroken.len(), Starts::BeforeAt),
            Next::Done
        ));
        // A letter outside ASCII in the local part hands the search to the general engine.
        let folded = "xſa@x.io";
        assert!(matches!(
            next_start(folded.as_bytes(), 0, folded.len(), Starts::BeforeAt),
            Next::NotAscii
        ));
    }

    #[test]
    fn word_ids_hold_exactly_the_ids_given() {
        let ids: WordIds = [0u32, 5, 63, 64, 200].into_iter().collect();
        for id in 0..300u32 {
            assert_eq!(ids.contains(id), [0, 5, 63, 64, 200].contains(&id), "id {id}");
        }
        assert!(!ids.is_empty());
        assert!(WordIds::default().is_empty());
        assert!(!WordIds::default().contains(0));
        let none: WordIds = std::iter::empty().collect();
        assert!(none.is_empty() && !none.contains(u32::MAX));
    }
}
