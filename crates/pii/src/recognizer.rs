//! What every recognizer shares, at the bottom of the crate: the span a scan reports, the
//! options it takes, and the pieces a recognizer is made of (pattern, validator, scope). The
//! built-in analyzer and the custom recognizers both build on these; neither on the other's
//! internals.

use regex_automata::dfa::{self, dense};
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
    pub(crate) context: Vec<u32>,
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
}

/// A recognizer's pattern: the general engine, and for a built-in pattern the same pattern
/// fully compiled (once, when the built-in recognizers are built) into a pair of DFAs over
/// ASCII, which most regions are. A recognizer searches a short region a few times a message:
/// the general engine pays some hundreds of instructions a search to fetch its cache and pick a
/// strategy before it reads a byte; the DFAs only find their start state. (A region with a byte
/// outside ASCII in it or beside it, `n°123`, is read twice from its last match on: by the DFAs
/// up to that byte, then by the general engine.)
pub(crate) struct Pattern {
    general: Regex,
    /// Stops (an error, not a wrong answer) at the first byte outside ASCII, where the general
    /// engine reads on: on ASCII text `\d`, `\s` and `(?i)` mean the same in both. `None` for
    /// custom patterns and for any that would not fit [`ASCII_DFA_LIMIT`].
    ascii: Option<Box<dfa::regex::Regex>>,
}

/// The most memory one pattern's compiled DFAs may take while they are built, each: the
/// largest built-in pattern compiled (German, French, Spanish, Italian, Dutch and Portuguese
/// dates) takes 220 KB forward, 130 KB in reverse.
const ASCII_DFA_LIMIT: usize = 512 << 10;

impl Pattern {
    /// A pattern searched by the general engine only (a custom one).
    pub(crate) fn general(general: Regex) -> Self {
        Self { general, ascii: None }
    }

    /// A built-in pattern: `general` is `source` compiled as it is, the DFAs are compiled here.
    pub(crate) fn built_in(general: Regex, source: &str) -> Self {
        let mut dense = dense::Config::new()
            .dfa_size_limit(Some(ASCII_DFA_LIMIT))
            .determinize_size_limit(Some(ASCII_DFA_LIMIT));
        for byte in 0x80..=0xFF {
            dense = dense.quit(byte, true);
        }
        let ascii = dfa::regex::Builder::new()
            .dense(dense)
            .syntax(syntax::Config::new().unicode(false).utf8(false))
            .thompson(thompson::Config::new().utf8(false))
            .build(source)
            .ok()
            .map(Box::new);
        Self { general, ascii }
    }

    /// Calls `each` with the start and end of every match inside `text[from..to]`, in order,
    /// as the general engine's iterator finds them (leftmost first, the next search where a
    /// match ends; `\b` sees the bytes around the range).
    pub(crate) fn each_match(&self, text: &str, from: usize, to: usize, mut each: impl FnMut(usize, usize)) {
        let mut at = from;
        if let Some(ascii) = &self.ascii {
            loop {
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

    /// Whether the pattern has its ASCII DFAs.
    #[cfg(test)]
    pub(crate) fn compiled(&self) -> bool {
        self.ascii.is_some()
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
