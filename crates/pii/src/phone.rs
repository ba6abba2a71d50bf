//! Phone number validation against libphonenumber's metadata (the `phonenumber` crate ships it):
//! a number is valid when its national significant number matches one of its country's number
//! types (fixed line, mobile, toll free, ...) as libphonenumber defines them. The metadata's
//! patterns are compiled once into `regex-automata` automata: the crate's own parser takes about
//! 10 µs a number and locks a shared cache, far too slow for a scan that checks every candidate.
//! They are fully compiled DFAs over ASCII digits (1.2 MB for every region, built in well under a
//! second): a number is walked byte by byte, with none of a general regex search's set-up.

use std::collections::HashMap;

use foldhash::fast::FixedState;
use std::sync::LazyLock;

use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::util::{start, syntax};
use regex_automata::{Anchored, nfa::thompson};

/// One region's rules.
struct Region {
    id: String,
    /// The digit(s) dialled before a national number inside the country (`0`, `1` in NANPA).
    national_prefix: Option<String>,
    /// Any number type of the region, anchored at both ends, over ASCII digits (all a number
    /// checked here holds).
    valid: dense::DFA<Vec<u32>>,
    /// Lengths a national significant number can have (empty: any).
    lengths: Vec<u16>,
}

impl Region {
    fn accepts(&self, national: &str) -> bool {
        (self.lengths.is_empty() || self.lengths.contains(&(national.len() as u16)))
            && full_match(&self.valid, national.as_bytes())
    }

    /// Whether `digits`, dialled from abroad after the country code, is valid (`+44 (0)20 ...`
    /// writes the national prefix too).
    fn accepts_international(&self, digits: &str) -> bool {
        self.accepts(digits)
            || self
                .national_prefix
                .as_deref()
                .and_then(|p| digits.strip_prefix(p))
                .is_some_and(|rest| self.accepts(rest))
    }

    /// Whether `digits`, written the way people in this region dial it at home, is valid. Where
    /// the national prefix is `0`, people write it (`030 1234 5678`), so a number without it is
    /// not read as one of this region's: that keeps order and account numbers from passing as
    /// phone numbers of permissive plans. In North America the `1` is optional.
    fn accepts_national(&self, digits: &str) -> bool {
        match self.national_prefix.as_deref() {
            Some(p) if p.starts_with('0') => digits.strip_prefix(p).is_some_and(|rest| self.accepts(rest)),
            Some(p) => self.accepts(digits) || digits.strip_prefix(p).is_some_and(|rest| self.accepts(rest)),
            None => self.accepts(digits),
        }
    }
}

/// Every number type a region's metadata describes (fixed line, mobile, toll free, ...).
fn number_types(d: &phonenumber::metadata::Descriptors) -> impl Iterator<Item = &phonenumber::metadata::Descriptor> {
    [
        d.fixed_line(),
        d.mobile(),
        d.toll_free(),
        d.premium_rate(),
        d.shared_cost(),
        d.personal_number(),
        d.voip(),
        d.pager(),
        d.uan(),
        d.voicemail(),
    ]
    .into_iter()
    .flatten()
}

/// The compiled metadata, by calling code and by region.
struct Metadata {
    by_code: HashMap<u16, Vec<Region>, FixedState>,
    /// Region id to (calling code, position in `by_code[code]`).
    by_id: HashMap<String, (u16, usize), FixedState>,
}

static METADATA: LazyLock<Metadata> = LazyLock::new(|| {
    let mut by_code: HashMap<u16, Vec<Region>, FixedState> = HashMap::default();
    for m in phonenumber::metadata::DATABASE.iter() {
        let d = m.descriptors();
        let Some(pattern) = region_pattern(d) else {
            continue;
        };
        let mut lengths: Vec<u16> = number_types(d)
            .flat_map(|t| t.possible_length().iter().copied())
            .collect();
        lengths.extend(d.general().possible_length());
        lengths.sort_unstable();
        lengths.dedup();
        // The metadata is libphonenumber's, written for the `regex` crate's syntax; a pattern
        // that does not compile leaves that region out rather than failing every scan.
        let Some(valid) = compile(&pattern) else {
            continue;
        };
        by_code.entry(m.country_code()).or_default().push(Region {
            id: m.id().to_string(),
            national_prefix: m.national_prefix().map(str::to_string),
            valid,
            lengths,
        });
    }
    let by_id = by_code
        .iter()
        .flat_map(|(&code, rs)| rs.iter().enumerate().map(move |(i, r)| (r.id.clone(), (code, i))))
        .collect();
    Metadata { by_code, by_id }
});

/// A region's number types as one pattern anchored at both ends; none without types. The
/// metadata writes its patterns across lines, for the `x` (whitespace-insensitive) mode the
/// crate compiles them in.
fn region_pattern(d: &phonenumber::metadata::Descriptors) -> Option<String> {
    let alternatives: Vec<String> = number_types(d)
        .map(|t| format!("(?:{})", t.national_number().as_str()))
        .collect();
    (!alternatives.is_empty()).then(|| format!("(?x)^(?:{})$", alternatives.join("|")))
}

/// The most memory one region's DFA may take while it is built and once built: the largest
/// region of the metadata takes 23 KB; a pattern that would blow up is left out, as one that
/// does not compile is, instead of stalling the first scan.
const DFA_LIMIT: usize = 4 << 20;

/// A region's pattern as a DFA that starts anchored and reads ASCII digits: `\d` is `[0-9]`
/// here, the same on the digits a number is reduced to.
fn compile(pattern: &str) -> Option<dense::DFA<Vec<u32>>> {
    dense::Builder::new()
        .configure(
            dense::Config::new()
                .start_kind(StartKind::Anchored)
                .dfa_size_limit(Some(DFA_LIMIT))
                .determinize_size_limit(Some(DFA_LIMIT)),
        )
        .syntax(syntax::Config::new().unicode(false).utf8(false))
        .thompson(thompson::Config::new().shrink(true))
        .build(pattern)
        .ok()
}

/// Whether `dfa` matches all of `digits`: walked byte by byte, dead at the first byte no
/// number of the region can have there.
fn full_match(dfa: &dense::DFA<Vec<u32>>, digits: &[u8]) -> bool {
    let Ok(mut sid) = dfa.start_state(&start::Config::new().anchored(Anchored::Yes)) else {
        return false;
    };
    for &b in digits {
        sid = dfa.next_state(sid, b);
        if dfa.is_dead_state(sid) {
            return false;
        }
    }
    dfa.is_match_state(dfa.next_eoi_state(sid))
}

/// Regions whose national formats are recognized when a number has no country code: Presidio's
/// default list (with the UK by its ISO code), and the countries whose languages the name and
/// address recognizers read (Spain, Italy, the Netherlands, Portugal, Austria, Switzerland,
/// Belgium, Ireland, Australia, Japan).
pub const DEFAULT_REGIONS: &[&str] = &[
    "US", "GB", "DE", "FR", "IL", "IN", "CA", "BR", "ES", "IT", "NL", "PT", "AT", "CH", "BE", "IE", "AU", "JP",
];

/// Whether `text` is written as an international number (`+`, `00`, `(+34)`) of a country code
/// the numbering plan knows, with a plausible number of digits, valid or not: what only a
/// word such as "phone" can make a phone number.
pub fn plausible_international(text: &str) -> bool {
    let t = text.trim_start().trim_start_matches('(');
    // No plausible number holds more than 17 digits (`00` and 15): a longer one is none.
    let mut buf = [0u8; 24];
    let Some(digits) = ascii_digits(t, &mut buf) else {
        return false;
    };
    let number = if t.starts_with('+') {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest
    } else {
        return false;
    };
    (9..=15).contains(&number.len())
        && (1..=3).any(|n| {
            number[..n]
                .parse::<u16>()
                .ok()
                .is_some_and(|code| METADATA.by_code.contains_key(&code))
        })
}

/// The ASCII digits of `text`, in `buf`; none when they do not fit (no number has that many).
fn ascii_digits<'b>(text: &str, buf: &'b mut [u8; 24]) -> Option<&'b str> {
    let mut n = 0;
    for b in text.bytes().filter(u8::is_ascii_digit) {
        *buf.get_mut(n)? = b;
        n += 1;
    }
    // ASCII digits only, so always UTF-8.
    std::str::from_utf8(&buf[..n]).ok()
}

/// Whether `text` is a valid phone number: international (`+44 20 7946 0958`, `0044 ...`) in
/// any country, or national (`(212) 555-0123`, `030 1234 5678`) in one of `regions`.
pub fn is_valid<S: AsRef<str>>(text: &str, regions: &[S]) -> bool {
    let trimmed = text.trim_start();
    let mut buf = [0u8; 24];
    let Some(digits) = ascii_digits(trimmed, &mut buf) else {
        return false;
    };
    let international = if trimmed.starts_with('+') {
        Some(digits)
    } else {
        digits.strip_prefix("00").or_else(|| digits.strip_prefix("011"))
    };
    let meta = &*METADATA;
    if let Some(number) = international {
        // "+44 (0)20 ..." writes the national prefix too; `accepts_national` strips it.
        let valid = (1..=3).filter(|&n| n < number.len()).any(|n| {
            number[..n]
                .parse::<u16>()
                .ok()
                .and_then(|code| meta.by_code.get(&code))
                .is_some_and(|rs| rs.iter().any(|r| r.accepts_international(&number[n..])))
        });
        // `011` is also the start of national numbers (Turin's `011 490 0804`): read as one
        // of those when it is no international number.
        if valid || trimmed.starts_with('+') || !digits.starts_with("011") {
            return valid;
        }
    }
    let default =
        regions.len() == DEFAULT_REGIONS.len() && regions.iter().zip(DEFAULT_REGIONS).all(|(r, d)| r.as_ref() == *d);
    if default {
        let rules = &*DEFAULT_RULES;
        // Only the regions whose prefix and lengths allow a number of this first digit and
        // length are tried: most candidates fit two or three of the eighteen.
        let mut may = digits
            .as_bytes()
            .first()
            .and_then(|d| rules.may.get(usize::from(d.wrapping_sub(b'0'))))
            .and_then(|row| row.get(digits.len()))
            .copied()
            .unwrap_or(u32::MAX);
        while may != 0 {
            let r = may.trailing_zeros() as usize;
            may &= may - 1;
            if rules.regions.get(r).is_some_and(|r| r.accepts_national(digits)) {
                return true;
            }
        }
        false
    } else {
        regions
            .iter()
            .any(|id| region(id.as_ref()).is_some_and(|r| r.accepts_national(digits)))
    }
}

/// The rules of region `id` (an ISO 3166 code, in capitals).
fn region(id: &str) -> Option<&'static Region> {
    let meta = &*METADATA;
    meta.by_id
        .get(id)
        .and_then(|&(code, i)| meta.by_code.get(&code)?.get(i))
}

/// One more than the most digits [`DefaultRules::may`] is kept for.
const MAX_DIGITS: usize = 25;

/// [`DEFAULT_REGIONS`]' rules, found once: most scans use them, and every candidate number
/// is tried against them.
struct DefaultRules {
    regions: Vec<&'static Region>,
    /// By a national number's first digit and its length, the regions (bits by position in
    /// `regions`) whose national prefix and lengths could accept it: the checks
    /// [`Region::accepts_national`] makes first, made once.
    may: [[u32; MAX_DIGITS]; 10],
}

impl DefaultRules {
    fn new() -> Self {
        let regions: Vec<&'static Region> = DEFAULT_REGIONS.iter().filter_map(|id| region(id)).collect();
        let mut may = [[0u32; MAX_DIGITS]; 10];
        const { assert!(DEFAULT_REGIONS.len() <= 32, "one bit a region") };
        for (r, region) in regions.iter().enumerate() {
            let length_ok = |len: usize| region.lengths.is_empty() || region.lengths.contains(&(len as u16));
            for (d, row) in may.iter_mut().enumerate() {
                let first = b'0' + d as u8;
                for (len, cell) in row.iter_mut().enumerate() {
                    let prefixed =
                        |p: &str| p.as_bytes().first() == Some(&first) && len >= p.len() && length_ok(len - p.len());
                    let ok = match region.national_prefix.as_deref() {
                        Some(p) if p.starts_with('0') => prefixed(p),
                        Some(p) => length_ok(len) || prefixed(p),
                        None => length_ok(len),
                    };
                    if ok {
                        *cell |= 1 << r;
                    }
                }
            }
        }
        Self { regions, may }
    }
}

static DEFAULT_RULES: LazyLock<DefaultRules> = LazyLock::new(DefaultRules::new);

/// Whether `id` (an ISO 3166 code, in capitals) is a region of the numbering plan.
pub fn is_region(id: &str) -> bool {
    METADATA.by_id.contains_key(id)
}

/// Builds the metadata now rather than on the first scan that needs it.
pub fn warm_up() {
    LazyLock::force(&DEFAULT_RULES);
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The default regions' table of first digits and lengths only skips regions that
        /// would not accept the number: the answer is that of trying every region.
        #[test]
        fn the_default_regions_table_skips_no_region_that_accepts(
            digits in "[0-9]{0,26}",
            picks in proptest::collection::vec((0usize..18, 0usize..8), 0..4),
        ) {
            // Random digits are rarely valid: also numbers that are, by the region's prefix
            // and a valid national number's digits.
            let mut texts = vec![digits.clone()];
            for ok in ["2025550123", "02079460958", "03012345678", "0612345678", "0312345678", "0901234567", "0412345678", "912345678"] {
                texts.push(ok.to_string());
            }
            for (r, cut) in picks {
                let Some(region) = DEFAULT_RULES.regions.get(r) else { continue };
                let mut t = region.national_prefix.clone().unwrap_or_default();
                t.push_str(&digits[..digits.len().saturating_sub(cut)]);
                texts.push(t);
            }
            // International numbers are read before the regions (not through the table).
            for t in texts.into_iter().filter(|t| !t.starts_with("00") && !t.starts_with("011")) {
                let tried_all = DEFAULT_RULES.regions.iter().any(|r| r.accepts_national(&t));
                proptest::prop_assert_eq!(is_valid(&t, DEFAULT_REGIONS), tried_all, "{}", t);
            }
        }
    }

    /// Every region's pattern ([`region_pattern`]) as the general regex engine reads it, Unicode
    /// `\d` and all.
    fn general_regexes() -> Vec<(String, regex_automata::meta::Regex)> {
        phonenumber::metadata::DATABASE
            .iter()
            .filter_map(|m| {
                let pattern = region_pattern(m.descriptors())?;
                let general = regex_automata::meta::Regex::new(&pattern).ok()?;
                Some((m.id().to_string(), general))
            })
            .collect()
    }

    static GENERAL: LazyLock<Vec<(String, regex_automata::meta::Regex)>> = LazyLock::new(general_regexes);

    proptest::proptest! {
        /// A region's DFA accepts the digits the general regex engine matches whole, for every
        /// region: random digits, and each region's own examples cut or lengthened.
        #[test]
        fn the_dfas_agree_with_the_general_regex_engine(digits in "[0-9]{0,18}", cut in 0usize..3) {
            for (id, general) in GENERAL.iter() {
                let region = region(id).expect("every compiled region");
                let m = phonenumber::metadata::DATABASE.by_id(id).expect("a region");
                let examples = number_types(m.descriptors()).filter_map(|t| t.example().map(str::to_string));
                for t in std::iter::once(digits.clone()).chain(examples.map(|e| {
                    let keep = e.len().saturating_sub(cut);
                    format!("{}{}", &e[..keep], &digits[..digits.len().min(cut)])
                })) {
                    let whole = general
                        .search(&regex_automata::Input::new(&t).anchored(Anchored::Yes))
                        .is_some_and(|m| m.end() == t.len());
                    proptest::prop_assert_eq!(full_match(&region.valid, t.as_bytes()), whole, "{}: {}", id, t);
                }
            }
        }
    }

    /// A pattern whose DFA would hold millions of states is refused at the limit, not built.
    #[test]
    fn a_pattern_that_blows_up_is_left_out() {
        // (Without the limit, this one would take 2^25 states and gigabytes.)
        assert!(compile(r"(?x)^(?:[0-9]*1[0-9]{24})$").is_none());
        assert!(compile(r"(?x)^(?:1[0-9]{9})$").is_some());
    }

    #[test]
    fn every_region_compiles() {
        assert_eq!(GENERAL.len(), METADATA.by_id.len());
        assert!(METADATA.by_id.len() > 240);
    }

    /// Valid numbers of every default region, from the metadata's own examples of each number
    /// type, written as at home (with the national prefix and without), a digit shorter and a
    /// digit longer: the table lets through every one that some region accepts.
    #[test]
    fn the_default_regions_table_lets_every_example_through() {
        let mut checked = 0;
        let mut valid = 0;
        for id in DEFAULT_REGIONS {
            let m = phonenumber::metadata::DATABASE.by_id(*id).expect("a default region");
            for example in number_types(m.descriptors()).filter_map(|t| t.example()) {
                for prefix in [m.national_prefix().unwrap_or(""), ""] {
                    let whole = format!("{prefix}{example}");
                    for t in [whole.clone(), whole[..whole.len() - 1].to_string(), format!("{whole}5")] {
                        if t.starts_with("00") || t.starts_with("011") {
                            continue;
                        }
                        let tried_all = DEFAULT_RULES.regions.iter().any(|r| r.accepts_national(&t));
                        assert_eq!(is_valid(&t, DEFAULT_REGIONS), tried_all, "{id}: {t}");
                        checked += 1;
                        valid += usize::from(tried_all);
                    }
                }
            }
        }
        // Every default region's examples were read, and most are valid.
        assert!(checked > 300 && valid > 100, "{checked} checked, {valid} valid");
    }

    #[test]
    fn international_and_national_formats() {
        for ok in [
            "+44 20 7946 0958",
            "+44 (0)20 7946 0958",
            "0044 20 7946 0958",
            "+1 415 555 2671",
            "+49 30 1234 5678",
            "+33 6 12 34 56 78",
            "+91 98765 43210",
            "+33 6 12 34 56 78",
            "07706 289541",
            "(212) 555-0123",
            "1-800-555-0199",
            "020 7946 0958",
            "030 1234 5678",
            "06 12 34 56 78",
            // Turin's area code begins as the North American exit code does.
            "011 490 0804",
            "011 1234567",
        ] {
            assert!(is_valid(ok, DEFAULT_REGIONS), "{ok}");
        }
        for bad in [
            "+1 123 456 7890",
            "+999 1234 5678",
            "12",
            "0000000000",
            "+44 1",
            "736-1896",
            "51282357",
            // A `+` makes it international whatever follows.
            "+011 490 0804",
        ] {
            assert!(!is_valid(bad, DEFAULT_REGIONS), "{bad}");
        }
        // A national format is read in the regions asked for only.
        assert!(!is_valid("06 12 34 56 78", &["US"]));
    }
}
